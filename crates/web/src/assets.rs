//! Static files embedded in the binary: our CSS and scripts, and the npm
//! front-end libraries (htmx, Leaflet) pinned by package-lock.json.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

macro_rules! node_module {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../node_modules/", $path))
    };
}

const FILES: &[(&str, &str, &[u8])] = &[
    ("veille.css", "text/css", include_bytes!("../assets/veille.css")),
    ("icon.svg", "image/svg+xml", include_bytes!("../assets/icon.svg")),
    ("veille.js", "text/javascript", include_bytes!("../assets/veille.js")),
    ("outbox.js", "text/javascript", include_bytes!("../assets/outbox.js")),
    ("map.js", "text/javascript", include_bytes!("../assets/map.js")),
    ("report-map.js", "text/javascript", include_bytes!("../assets/report-map.js")),
    ("sites-map.js", "text/javascript", include_bytes!("../assets/sites-map.js")),
    ("circuit-map.js", "text/javascript", include_bytes!("../assets/circuit-map.js")),
    ("reports-map.js", "text/javascript", include_bytes!("../assets/reports-map.js")),
    ("people.js", "text/javascript", include_bytes!("../assets/people.js")),
    ("tension-map.js", "text/javascript", include_bytes!("../assets/tension-map.js")),
    ("figures-map.js", "text/javascript", include_bytes!("../assets/figures-map.js")),
    ("htmx.min.js", "text/javascript", node_module!("htmx.org/dist/htmx.min.js")),
    ("leaflet.js", "text/javascript", node_module!("leaflet/dist/leaflet.js")),
    ("leaflet.css", "text/css", node_module!("leaflet/dist/leaflet.css")),
];

/// GET /static/{file}
pub async fn file(Path(name): Path<String>) -> Result<Response, AppError> {
    let (_, mime, bytes) = FILES.iter().find(|(n, _, _)| *n == name).ok_or_else(AppError::not_found)?;
    Ok(([(CONTENT_TYPE, *mime), (CACHE_CONTROL, "public, max-age=3600")], *bytes).into_response())
}

/// GET /manifest.webmanifest: what a phone needs to install veille on its
/// home screen (decision 90: installed, Safari on iOS does not erase what the
/// site keeps after 7 days without a visit, and Chrome grants persistent storage).
pub async fn manifest() -> Response {
    let body = serde_json::json!({
        "name": "veille",
        "short_name": "veille",
        "description": "Veille sociale : signalements, maraudes, personnes rencontrées, orientations",
        "lang": "fr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f4e79",
        "icons": [{ "src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any" }],
    });
    ([(CONTENT_TYPE, "application/manifest+json"), (CACHE_CONTROL, "public, max-age=86400")], body.to_string()).into_response()
}

/// GET /favicon.ico: the icon (an SVG; pages name it in their head too).
pub async fn favicon() -> Response {
    ([(CONTENT_TYPE, "image/svg+xml"), (CACHE_CONTROL, "public, max-age=86400")], include_bytes!("../assets/icon.svg").as_slice()).into_response()
}

/// The service worker's source; `__VERSION__` becomes [`version`].
const SERVICE_WORKER: &str = include_str!("../assets/sw.js");

/// The version of the embedded files (and of the worker): a hash of their
/// bytes, so that a build that changes any of them is a new service worker
/// with a new static cache, and one that changes none keeps the phones' caches.
pub fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        // FNV-1a, 64 bits: a fingerprint, not a security measure.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let parts = FILES.iter().flat_map(|(n, _, b)| [n.as_bytes(), *b]).chain([SERVICE_WORKER.as_bytes()]);
        for part in parts {
            for byte in part {
                h ^= u64::from(*byte);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{h:016x}")
    })
}

/// GET /sw.js: the service worker (decision 90), at the root so that its
/// scope is every page. Revalidated on each check (`no-cache`): a new build
/// reaches the phones on their next page.
pub async fn service_worker() -> Response {
    let body = SERVICE_WORKER.replace("__VERSION__", version());
    ([(CONTENT_TYPE, "text/javascript"), (CACHE_CONTROL, "no-cache")], body).into_response()
}
