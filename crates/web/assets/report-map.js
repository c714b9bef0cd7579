// The map of a form with a point (the report form's #report-map, a directory
// structure's #point-map): a tap (or click) places the point and fills the
// latitude and longitude fields; typing coordinates moves the marker.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("report-map") || document.getElementById("point-map");
  const lat = document.getElementById("lat");
  const lon = document.getElementById("lon");
  if (!el || !lat || !lon || typeof L === "undefined") return;
  const map = L.map(el, { zoomControl: true });
  const tiles = el.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  // Territory outlines: the map stays usable without a tile server.
  fetch("/signaler/territoires.geojson")
    .then((r) => (r.ok ? r.json() : null))
    .then((data) => {
      if (data) L.geoJSON(data, { interactive: false, style: { color: "#5b8fc7", weight: 1, fillOpacity: 0.05 } }).addTo(map);
    })
    .catch(() => {});
  let marker = null;
  const place = (la, lo) => {
    if (marker) marker.setLatLng([la, lo]); else marker = L.circleMarker([la, lo], { radius: 10, color: "#ffd24d", weight: 3 }).addTo(map);
  };
  const typed = () => {
    const la = parseFloat(lat.value.replace(",", "."));
    const lo = parseFloat(lon.value.replace(",", "."));
    if (Number.isFinite(la) && Number.isFinite(lo)) { place(la, lo); return [la, lo]; }
    return null;
  };
  const start = typed();
  map.setView(start || [48.8566, 2.3522], start ? 16 : 12);
  map.on("click", (e) => {
    lat.value = e.latlng.lat.toFixed(6);
    lon.value = e.latlng.lng.toFixed(6);
    place(e.latlng.lat, e.latlng.lng);
  });
  lat.addEventListener("change", typed);
  lon.addEventListener("change", typed);
});
