// People pages: "my position" fills the encounter's coordinates. (The list's
// search by name is a posted form: the name stays out of the address.)
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("use-position");
  const lat = document.getElementById("lat");
  const lon = document.getElementById("lon");
  if (button && lat && lon && "geolocation" in navigator) {
    button.hidden = false;
    button.addEventListener("click", () => {
      navigator.geolocation.getCurrentPosition((p) => {
        lat.value = p.coords.latitude.toFixed(6);
        lon.value = p.coords.longitude.toFixed(6);
        lat.dispatchEvent(new Event("change"));
      }, () => {}, { enableHighAccuracy: true, timeout: 10000 });
    });
  }
});
