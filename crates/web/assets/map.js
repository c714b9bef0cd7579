// Territory maps with Leaflet. Without a tile server the outlines alone are shown.
document.addEventListener("DOMContentLoaded", async () => {
  const el = document.getElementById("map");
  if (!el || typeof L === "undefined") return;
  const map = L.map(el, { zoomControl: true });
  const tiles = el.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  try {
    const resp = await fetch(el.dataset.geojson, { credentials: "same-origin" });
    const data = await resp.json();
    const focus = el.dataset.focus;
    const layer = L.geoJSON(data, {
      style: (f) => ({ color: f.properties.code === focus ? "#ffd24d" : "#7cc4ff", weight: f.properties.code === focus ? 3 : 1, fillOpacity: 0.08 }),
      onEachFeature: (f, l) => l.bindTooltip(`${f.properties.code} · ${f.properties.name}`),
    }).addTo(map);
    const target = focus ? layer.getLayers().find((l) => l.feature.properties.code === focus) : null;
    const bounds = (target || layer).getBounds();
    if (bounds.isValid()) map.fitBounds(bounds); else map.setView([48.8566, 2.3522], 11);
  } catch (e) {
    map.setView([48.8566, 2.3522], 11);
  }
});
