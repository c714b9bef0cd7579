// The map of places of recurring tension: one numbered marker per place,
// its number the same as in the list below the map (which holds the
// history), over the territory outlines, so the map works without a tile
// server.
document.addEventListener("DOMContentLoaded", async () => {
  const el = document.getElementById("tension-map");
  if (!el || typeof L === "undefined") return;
  const map = L.map(el, { zoomControl: true });
  const tiles = el.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  let bounds = null;
  try {
    const outlines = await (await fetch(el.dataset.outlines, { credentials: "same-origin" })).json();
    const layer = L.geoJSON(outlines, { interactive: false, style: { color: "#5b8fc7", weight: 1, fillOpacity: 0.04 } }).addTo(map);
    bounds = layer.getBounds();
  } catch (e) { /* outlines are a background only */ }
  try {
    const places = await (await fetch(el.dataset.geojson, { credentials: "same-origin" })).json();
    const layer = L.geoJSON(places, {
      pointToLayer: (f, latlng) => L.marker(latlng, {
        title: `${f.properties.place}`,
        icon: L.divIcon({ className: "site-marker age-older", html: String(f.properties.place), iconSize: [26, 26] }),
      }),
      onEachFeature: (f, l) => {
        const a = document.createElement("a");
        a.href = `#place-${f.properties.place}`;
        a.textContent = `${f.properties.place} · ${f.properties.events}`;
        l.bindPopup(a);
      },
    }).addTo(map);
    const b = layer.getBounds();
    if (b.isValid()) bounds = b;
    el.dataset.count = String(places.features.length);
  } catch (e) { /* the list below has the same places */ }
  if (bounds && bounds.isValid()) map.fitBounds(bounds, { maxZoom: 16 }); else map.setView([48.8566, 2.3522], 12);
});
