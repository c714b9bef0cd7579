// The staff map of the report queue: territory outlines (no tile server
// needed), then one layer per entry of data-layers ([{name, url}]), each a
// GeoJSON FeatureCollection of points with properties reference, level,
// status, overdue and url (sites: name and url). Reports are the first
// layer; the known sites the second, when the account works with sites.
document.addEventListener("DOMContentLoaded", async () => {
  const el = document.getElementById("reports-map");
  if (!el || typeof L === "undefined") return;
  const map = L.map(el, { zoomControl: true });
  if (el.dataset.tiles) L.tileLayer(el.dataset.tiles, { maxZoom: 19 }).addTo(map);
  map.setView([48.8566, 2.3522], 12);
  const styles = {
    reports: (p) => ({ radius: 8, color: p.overdue ? "#ff9b8f" : p.level === 2 ? "#ffd24d" : "#7cc4ff", weight: 3, fillOpacity: 0.5 }),
    sites: () => ({ radius: 7, color: "#9be39b", weight: 2, fillOpacity: 0.4 }),
  };
  const get = async (url) => {
    const r = await fetch(url, { credentials: "same-origin" });
    return r.ok ? r.json() : null;
  };
  try {
    const outlines = el.dataset.outlines ? await get(el.dataset.outlines) : null;
    if (outlines) L.geoJSON(outlines, { interactive: false, style: { color: "#5b8fc7", weight: 1, fillOpacity: 0.04 } }).addTo(map);
  } catch (e) { /* the points still show */ }
  let layers = [];
  try { layers = JSON.parse(el.dataset.layers || "[]"); } catch (e) { layers = []; }
  const bounds = L.latLngBounds([]);
  for (const spec of layers) {
    let data = null;
    try { data = await get(spec.url); } catch (e) { data = null; }
    if (!data) continue;
    const style = styles[spec.name] || styles.reports;
    const layer = L.geoJSON(data, {
      pointToLayer: (f, latlng) => L.circleMarker(latlng, style(f.properties || {})),
      onEachFeature: (f, l) => {
        const p = f.properties || {};
        const a = document.createElement("a");
        a.href = p.url;
        a.textContent = p.reference || p.name || "";
        l.bindPopup(a);
      },
    }).addTo(map);
    layer.eachLayer((l) => l.getLatLng && bounds.extend(l.getLatLng()));
  }
  el.dataset.points = String(bounds.isValid() ? 1 : 0);
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.2), { maxZoom: 16 });
});
