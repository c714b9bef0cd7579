//! Sites (lieux de vie): the pages and the JSON API. The use cases — their
//! validation, access rules, transactions, timeline and audit — are
//! `veille_app::sites`; these handlers translate the request, call it, and
//! render its answer.

pub mod api;
pub mod chart;
pub mod pages;

use axum::routing::{get, post};
use veille_app::sites::{ObservationInput, SiteInput};

use crate::routes::{schema, Access, ApiDoc, Registry};

pub use veille_app::sites::Site;

/// The routes of sites: pages and JSON API.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/sites", Signed, "Sites with filters", get(pages::list))
        .get("/sites/new", Signed, "Form for a new site", get(pages::new_form))
        .post("/sites", Signed, "Record a new site", post(pages::create))
        .get("/sites/map", Signed, "Map of sites by age of their last observation", get(pages::map))
        .get("/sites.geojson", Signed, "Sites the caller may read, as GeoJSON", get(pages::geojson))
        .get("/sites/{id}", Signed, "A site with its observations and history (audited read)", get(pages::show))
        .get("/sites/{id}/observations/new", Signed, "Form for an observation of a site", get(pages::observation_form))
        .post("/sites/{id}/observations", Signed, "Record an observation of a site", post(pages::observe))
        .post("/sites/{id}/confirm", Signed, "Confirm a site unchanged today", post(pages::confirm))
        .post("/sites/{id}/log", Signed, "Add a logbook entry to a site", post(pages::log))
        .post("/sites/{id}/heatwave", Signed, "Raise or lower the heatwave watch of a site", post(pages::heatwave))
        .post("/sites/{id}/close", Signed, "Close a site with its reason and where people went", post(pages::close))
        .post("/sites/{id}/reopen", Signed, "Reopen a closed site", post(pages::reopen))
        .post("/sites/{id}/edit", Signed, "Correct the place: name, kind, point, address, land owner", post(pages::edit))
        .get("/api/v1/sites", Signed, "Sites the caller may read, with their latest figures", get(api::list))
        .doc(ApiDoc::default().response(schema::<Vec<api::SiteView>>))
        .post("/api/v1/sites", Signed, "Record a new site", post(api::create))
        .doc(ApiDoc::default().request(schema::<SiteInput>).response(schema::<api::SiteView>).status(201))
        .get("/api/v1/sites/{id}", Signed, "A site with its observations and history (audited read)", get(api::show))
        .doc(ApiDoc::default().response(schema::<api::SiteDetail>))
        .post("/api/v1/sites/{id}/observations", Signed, "Record an observation of a site", post(api::observe))
        .doc(ApiDoc::default().request(schema::<ObservationInput>).response(schema::<api::ObservationView>).status(201))
}
