//! Complex cases: pages, the partner's action link and the JSON API. The use
//! cases are `veille_app::cases`; these handlers translate the request, call
//! it, and render its answer.

pub mod api;
pub mod pages;

use axum::routing::{get, post};
use veille_app::cases::{ActionPlanInput, CaseInput, CloseInput};
use veille_app::shelter::input::ActionInput;

use crate::routes::{schema, Access, ApiDoc, Registry};

/// The routes of cases.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/cases", Signed, "Open cases the caller reads, and a form to open one", get(pages::list))
        .post("/cases", Signed, "Open a case (from a report, a site, a person, or directly)", post(pages::open))
        .get("/cases/{id}", Signed, "A case: team, people, evaluations, action plan, timeline (audited read)", get(pages::show))
        .post("/cases/{id}/members", Signed, "Add an account of any organisation to the case's team", post(pages::add_member))
        .post("/cases/{id}/members/remove", Signed, "Take an account off the case's team", post(pages::remove_member))
        .post("/cases/{id}/evaluations", Signed, "Add a dated evaluation in a domain", post(pages::add_evaluation))
        .post("/cases/{id}/actions", Signed, "Add an action to the plan (a partner without accounts gets a link and a code)", post(pages::add_action))
        .post("/cases/{id}/review", Signed, "Set the case's next review", post(pages::review))
        .post("/cases/{id}/close", Signed, "Close the case with its outcome", post(pages::close))
        .post("/cases/{id}/reopen", Signed, "Reopen a closed case", post(pages::reopen))
        .post("/actions/{id}", Signed, "Move an action of a case's plan on (status and result)", post(pages::set_action))
        .get("/action-link/{token}", Public, "A partner's action link: asks for the code given orally", get(pages::link_form))
        .post("/action-link/{token}", Public, "A partner's action link: the action with the right code, and its answer", post(pages::link_visit))
        .get("/api/v1/cases", Signed, "Open cases the caller reads", get(api::list))
        .doc(ApiDoc::default().response(schema::<Vec<api::CaseView>>))
        .post("/api/v1/cases", Signed, "Open a case", post(api::open))
        .doc(ApiDoc::default().request(schema::<CaseInput>).response(schema::<api::CaseView>).status(201))
        .get("/api/v1/cases/{id}", Signed, "A case with its team, evaluations and action plan (audited read)", get(api::show))
        .doc(ApiDoc::default().response(schema::<api::CaseDetail>))
        .post("/api/v1/cases/{id}/actions", Signed, "Add an action to the case's plan", post(api::add_action))
        .doc(ApiDoc::default().request(schema::<ActionPlanInput>).response(schema::<api::ActionAdded>).status(201))
        .post("/api/v1/cases/{id}/close", Signed, "Close a case with its outcome", post(api::close))
        .doc(ApiDoc::default().request(schema::<CloseInput>).response(schema::<api::CaseView>))
        .get("/api/v1/actions", Signed, "Open follow-up actions the caller reads (case plans and dwelling checks), by deadline", get(api::actions))
        .doc(ApiDoc::default().response(schema::<Vec<api::ActionView>>))
        .get("/api/v1/actions/{id}", Signed, "A follow-up action the caller reads", get(api::action))
        .doc(ApiDoc::default().response(schema::<api::ActionView>))
        .post("/api/v1/actions/{id}/status", Signed, "Move a follow-up action on: its status and result", post(api::set_action_status))
        .doc(ApiDoc::default().request(schema::<ActionInput>).response(schema::<api::ActionView>))
}
