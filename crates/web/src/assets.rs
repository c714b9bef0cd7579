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

/// GET /favicon.ico: the icon (an SVG; pages name it in their head too).
pub async fn favicon() -> Response {
    ([(CONTENT_TYPE, "image/svg+xml"), (CACHE_CONTROL, "public, max-age=86400")], include_bytes!("../assets/icon.svg").as_slice()).into_response()
}
