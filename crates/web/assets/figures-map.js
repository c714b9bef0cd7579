// The map of figures (decision 88): each territory shaded by the reports
// received over the period, from the same suppressed counts as the table
// below it. A territory whose count is hidden (below the threshold) or zero
// is not shaded; no record is ever drawn as a point.
document.addEventListener("DOMContentLoaded", async () => {
  const el = document.getElementById("figures-map");
  if (!el || typeof L === "undefined") return;
  const map = L.map(el, { zoomControl: true });
  const tiles = el.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  try {
    const data = await (await fetch(el.dataset.geojson, { credentials: "same-origin" })).json();
    const counts = data.features.map((f) => f.properties.reports).filter((v) => typeof v === "number" && v > 0);
    const max = Math.max(1, ...counts);
    const shown = (v) => typeof v === "number" && v > 0;
    const layer = L.geoJSON(data, {
      style: (f) => {
        const v = f.properties.reports;
        return shown(v)
          ? { color: "#1f4e79", weight: 1, fillColor: "#1f4e79", fillOpacity: 0.15 + 0.6 * (v / max) }
          : { color: "#5b8fc7", weight: 1, fillOpacity: 0 };
      },
      onEachFeature: (f, l) => {
        const v = f.properties.reports;
        l.bindTooltip(shown(v) ? `${f.properties.name} · ${el.dataset.labelReports} ${v}` : `${f.properties.name}`);
      },
    }).addTo(map);
    el.dataset.count = String(counts.length);
    const bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds); else map.setView([48.8566, 2.3522], 11);
  } catch (e) {
    map.setView([48.8566, 2.3522], 11);
  }
});
