// The map of sites: each active site is a marker whose shape AND colour say
// how long ago a team last saw it (the legend repeats both, with words), over
// the territory outlines, so the map works without a tile server.
document.addEventListener("DOMContentLoaded", async () => {
  const el = document.getElementById("sites-map");
  if (!el || typeof L === "undefined") return;
  const map = L.map(el, { zoomControl: true });
  const tiles = el.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  const shapes = { week: "●", month: "▲", older: "■", never: "✕" };
  let bounds = null;
  try {
    const outlines = await (await fetch(el.dataset.outlines, { credentials: "same-origin" })).json();
    const layer = L.geoJSON(outlines, { interactive: false, style: { color: "#5b8fc7", weight: 1, fillOpacity: 0.04 } }).addTo(map);
    bounds = layer.getBounds();
  } catch (e) { /* outlines are a background only */ }
  try {
    const sites = await (await fetch(el.dataset.geojson, { credentials: "same-origin" })).json();
    const layer = L.geoJSON(sites, {
      pointToLayer: (f, latlng) => L.marker(latlng, {
        title: f.properties.name,
        icon: L.divIcon({ className: `site-marker age-${f.properties.age}`, html: shapes[f.properties.age] || "●", iconSize: [26, 26] }),
      }),
      onEachFeature: (f, l) => {
        const a = document.createElement("a");
        a.href = f.properties.url;
        a.textContent = f.properties.name;
        l.bindPopup(a);
      },
    }).addTo(map);
    const b = layer.getBounds();
    if (b.isValid()) bounds = b;
    el.dataset.count = String(sites.features.length);
  } catch (e) { /* the list page has the same sites */ }
  if (bounds && bounds.isValid()) map.fitBounds(bounds, { maxZoom: 16 }); else map.setView([48.8566, 2.3522], 12);
});
