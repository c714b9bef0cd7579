// People pages: "my position" fills the encounter's coordinates; the list of
// people filters as one types. The filter runs in the browser only: what is
// typed (a name) is never sent to the server nor put in a URL.
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
  const filter = document.getElementById("people-filter");
  const table = document.getElementById("people-table");
  if (filter && table) {
    const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    filter.addEventListener("input", () => {
      const q = fold(filter.value.trim());
      for (const row of table.tBodies[0].rows) {
        row.hidden = q !== "" && !fold(row.dataset.names || "").includes(q);
      }
    });
  }
});
