// A circuit's (or a round's) stops on a map: numbered markers joined in
// order, over the territory outlines. The stops come from the ordered list
// on the page itself (data-lat / data-lon on each item), so the map and the
// list cannot disagree.
document.addEventListener("DOMContentLoaded", async () => {
  const el = document.getElementById("stops-map");
  if (!el || typeof L === "undefined") return;
  const map = L.map(el, { zoomControl: true });
  const tiles = el.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  const points = [];
  document.querySelectorAll("ol.stops > li[data-lat][data-lon]").forEach((li, i) => {
    const lat = parseFloat(li.dataset.lat);
    const lon = parseFloat(li.dataset.lon);
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) return;
    points.push([lat, lon]);
    L.marker([lat, lon], {
      title: li.dataset.label || "",
      icon: L.divIcon({ className: "stop-marker", html: String(i + 1), iconSize: [26, 26] }),
    }).addTo(map);
  });
  if (points.length > 1) L.polyline(points, { color: "#7cc4ff", weight: 3 }).addTo(map);
  try {
    const outlines = await (await fetch(el.dataset.outlines, { credentials: "same-origin" })).json();
    const layer = L.geoJSON(outlines, { interactive: false, style: { color: "#5b8fc7", weight: 1, fillOpacity: 0.04 } }).addTo(map);
    if (!points.length && layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
  } catch (e) { /* background only */ }
  if (points.length) map.fitBounds(L.latLngBounds(points), { maxZoom: 16, padding: [20, 20] });
  else if (!map._loaded) map.setView([48.8566, 2.3522], 12);
});
