//! The partner directory in the web: pages to browse, search and edit, the
//! service picker other forms embed, the JSON API and the data·inclusion
//! import page — thin adapters over `veille_app::directory`, which holds the
//! search, the reads, the writes (validated, authorized, audited), the
//! data·inclusion reader and import, opening hours and the demo entries.

pub mod api;
pub mod pages;
pub mod picker;

use axum::routing::{get, post};

use veille_app::directory::{datainclusion, LANGUAGES};

use crate::routes::{Access, ApiDoc, QueryParam, Registry};

/// What a search asks (pages, picker, API): the host forms of the picker build one.
pub use veille_app::directory::SearchQuery;

/// The routes of the directory: pages, picker, import page, JSON API.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/directory", Signed, "Partner directory: search services by need, territory, opening", get(pages::search))
        .get("/directory/picker", Signed, "Service picker fragment (radio inputs named service_id) for other forms", get(picker::fragment))
        .get("/directory/import", Signed, "Import the directory from data·inclusion files (dry run first)", get(pages::import_form))
        .post("/directory/import", Signed, "Run or preview a data·inclusion import", post(pages::import_upload))
        .get("/directory/structures/new", Signed, "New structure of the own organisation", get(pages::new_structure))
        .post("/directory/structures", Signed, "Create a structure of the own organisation", post(pages::create_structure))
        .get("/directory/structures/{id}", Signed, "A structure and its services", get(pages::structure))
        .get("/directory/structures/{id}/edit", Signed, "Edit an own structure", get(pages::edit_structure))
        .post("/directory/structures/{id}", Signed, "Save an own structure", post(pages::update_structure))
        .get("/directory/structures/{id}/services/new", Signed, "New service of an own structure", get(pages::new_service))
        .post("/directory/structures/{id}/services", Signed, "Create a service of an own structure", post(pages::create_service))
        .get("/directory/services/{id}", Signed, "A service: hours, publics, conditions, languages, capacity", get(pages::service))
        .get("/directory/services/{id}/edit", Signed, "Edit an own service", get(pages::edit_service))
        .post("/directory/services/{id}", Signed, "Save an own service", post(pages::update_service))
        .post("/directory/services/{id}/local", Signed, "Set a service's languages and capacity", post(pages::update_local))
        .get("/api/v1/services", Signed, "Services of the partner directory, with the search filters", get(api::services))
        .doc(ApiDoc::default().response(crate::routes::schema::<Vec<api::ServiceView>>).query(&SEARCH_PARAMS))
        .get("/api/v1/services/{id}", Signed, "A service of the partner directory", get(api::service))
        .doc(ApiDoc::default().response(crate::routes::schema::<api::ServiceView>))
        .get("/api/v1/structures", Signed, "Structures of the partner directory", get(api::structures))
        .doc(ApiDoc::default().response(crate::routes::schema::<Vec<api::StructureView>>).query(&[
            QueryParam { name: "q", schema: r#"{"type": "string", "maxLength": 200}"#, required: false },
            QueryParam { name: "limit", schema: r#"{"type": "integer", "minimum": 1, "maximum": 1000}"#, required: false },
        ]))
        .get("/api/v1/structures/{id}", Signed, "A structure of the partner directory and its services", get(api::structure))
        .doc(ApiDoc::default().response(crate::routes::schema::<api::StructureView>))
}

/// The search filters as the API publishes them: the vocabularies are the
/// ones `veille_app::directory::parse_search` checks (data·inclusion's
/// thématiques and publics, veille's languages), so a value outside them is
/// refused, not ignored.
static SEARCH_PARAMS: std::sync::LazyLock<Vec<QueryParam>> = std::sync::LazyLock::new(|| {
    let v = datainclusion::vocabulary();
    let needs: Vec<&String> = v.themes.iter().chain(v.categories.iter()).collect();
    let leak = |value: serde_json::Value| -> &'static str { Box::leak(value.to_string().into_boxed_str()) };
    vec![
        QueryParam { name: "need", schema: leak(serde_json::json!({"type": "string", "enum": needs})), required: false },
        QueryParam { name: "territory", schema: r#"{"type": "string", "format": "uuid"}"#, required: false },
        QueryParam { name: "public", schema: leak(serde_json::json!({"type": "string", "enum": v.publics})), required: false },
        QueryParam { name: "language", schema: leak(serde_json::json!({"type": "string", "enum": LANGUAGES})), required: false },
        QueryParam { name: "open_now", schema: r#"{"type": "boolean"}"#, required: false },
        QueryParam { name: "q", schema: r#"{"type": "string", "maxLength": 200}"#, required: false },
        QueryParam {
            name: "lat",
            schema: r#"{"type": "number", "minimum": -90, "maximum": 90, "description": "with lon: sorted by distance from this point"}"#,
            required: false,
        },
        QueryParam { name: "lon", schema: r#"{"type": "number", "minimum": -180, "maximum": 180, "description": "with lat"}"#, required: false },
        QueryParam { name: "limit", schema: r#"{"type": "integer", "minimum": 1, "maximum": 500}"#, required: false },
    ]
});
