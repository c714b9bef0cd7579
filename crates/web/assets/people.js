// People pages: "my position" fills the encounter's coordinates; typing a
// name in the list's search box filters the lines of the page shown at once,
// in the browser (offline too: the page kept on the phone); the "Rechercher"
// button posts the search to the server, which reads the whole list. The
// name is never put in an address.
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
  const search = document.getElementById("people-q");
  const table = document.getElementById("people-table");
  if (search && table) {
    const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    search.addEventListener("input", () => {
      const q = fold(search.value.trim());
      for (const row of table.tBodies[0].rows) {
        row.hidden = q !== "" && !fold(row.dataset.names || "").includes(q);
      }
    });
  }
});
