//! Signalements end to end: intake (public form, Open311), triage by rules,
//! routing to a team, the staff queue and report page, the reporter's
//! follow-up page, and e-mails to reporters who asked for them.

pub mod api;
pub mod intake;
pub mod open311;
pub mod photos;
pub mod public;
pub mod routing;
pub mod staff;
pub mod stats;

use axum::routing::{get, post};

use crate::routes::{Access, Registry};

pub use veille_app::reports::*;

/// The routes of signalements: the public form and follow-up, Open311, staff pages.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg
        // Signalements: public form and follow-up
        .get("/signaler/territoires.geojson", Public, "Territory outlines for the public map", get(crate::territories::public_geojson))
        .get("/signaler", Public, "Report a situation (no account)", get(public::form))
        .post("/signaler", Public, "Send a report", post(public::submit))
        .get("/suivi/{token}", Public, "Follow a report with its private link", get(public::follow))
        .post("/suivi/{token}", Public, "Confirm the reporter's e-mail with the mailed code", post(public::confirm))
        // Signalements: Open311 GeoReport v2 (POST authenticates with api_key)
        .get("/open311/v2/services.json", Public, "Open311 service list", get(open311::services))
        .get("/open311/v2/services.xml", Public, "Open311 service list (XML)", get(open311::services_xml))
        .get("/open311/v2/services/{id}", Public, "Open311 service definition ({code}.json or .xml)", get(open311::service_definition))
        .get("/open311/v2/requests.json", Public, "Open311 requests (public fields only)", get(open311::requests))
        .post("/open311/v2/requests.json", Public, "Open311: create a request with an api_key", post(open311::create))
        .get("/open311/v2/requests.xml", Public, "Open311 requests (XML)", get(open311::requests_xml))
        .post("/open311/v2/requests.xml", Public, "Open311: create a request with an api_key (XML)", post(open311::create_xml))
        .get("/open311/v2/requests/{id}", Public, "Open311 request ({id}.json or .xml)", get(open311::request))
        // Signalements: staff
        .get("/reports", Signed, "Report queue", get(staff::queue))
        .get("/reports.csv", Signed, "Report queue as CSV (no free text, no contact details)", get(staff::export_csv))
        .get("/reports.geojson", Signed, "Open reports of the filtered queue, for its map", get(staff::map_geojson))
        .get("/reports/new", Signed, "Partner intake form (report taken by phone, e-mail, letter, meeting)", get(intake::new_form))
        .post("/reports/new", Signed, "Take a partner's report in", post(intake::create))
        .get("/reports/stats", Signed, "Figures: reports by source, type, level and response time", get(stats::page))
        .get("/reports/routing", Signed, "Routing table of reports", get(routing::show))
        .post("/reports/routing", Signed, "Add a routing rule", post(routing::add))
        .post("/reports/routing/{id}/delete", Signed, "Remove a routing rule", post(routing::delete))
        .get("/reports/{id}", Signed, "A report (audited read)", get(staff::show))
        .get("/reports/{id}/photo", Signed, "The photo of a report (audited read)", get(photos::show))
        .post("/reports/{id}/notes", Signed, "Add an internal note", post(staff::add_note))
        .post("/reports/{id}/status", Signed, "Change the status", post(staff::set_status))
        .post("/reports/{id}/level", Signed, "Override the level with a reason", post(staff::set_level))
        .post("/reports/{id}/site", Signed, "Link the report to a known site, or unlink it", post(staff::set_site))
        .post("/reports/{id}/answer", Signed, "Preview or publish the public answer", post(staff::set_answer))
        .post("/reports/{id}/duplicate", Signed, "Attach this report to an open report as its duplicate", post(staff::attach_duplicate))
        .post("/reports/{id}/keep-separate", Signed, "Dismiss a suggested duplicate: the reports are distinct", post(staff::keep_separate))
        .post("/reports/{id}/detach", Signed, "Detach a duplicate from its main report", post(staff::detach_duplicate))
        .post("/reports/{id}/handler", Signed, "Hand the report to another team or organisation (coordinators)", post(staff::reassign))
        .with(api::routes)
}
