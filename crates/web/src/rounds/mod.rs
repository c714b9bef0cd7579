//! Maraudes: the pages and the JSON API of the shared schedule, circuits,
//! rounds, the distribution catalogue and coverage. The use cases — their
//! validation, access rules, transactions and audit — are
//! `veille_app::rounds`; these handlers translate the request, call it, and
//! render its answer.

pub mod api;
pub mod circuits;
pub mod coverage;
pub mod pages;
pub mod schedule;

use axum::routing::{get, post};
use veille_app::rounds::schedule::SlotInput;
use veille_app::rounds::{CheckInInput, DistributionsInput, PlanInput, VisitInput};

use crate::routes::{schema, Access, ApiDoc, QueryParam, Registry};

/// The routes of maraudes: schedule, circuits, rounds, catalogue, coverage, and their API.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/schedule", Signed, "The shared weekly schedule of maraudes, by day and territory", get(schedule::page))
        .post("/schedule", Signed, "Add a slot to the shared schedule", post(schedule::create))
        .post("/schedule/{id}/delete", Signed, "Remove a slot of the shared schedule", post(schedule::delete))
        .get("/schedule.ics", Signed, "The shared schedule as iCalendar", get(schedule::ics))
        .get("/circuits", Signed, "Circuits of the teams", get(circuits::list))
        .post("/circuits", Signed, "Create a circuit", post(circuits::create))
        .get("/circuits/{id}", Signed, "A circuit: its ordered stops on a map", get(circuits::show))
        .post("/circuits/{id}/stops", Signed, "Add a stop to a circuit", post(circuits::add_stop))
        .post("/circuits/{id}/stops/remove", Signed, "Remove a stop from a circuit", post(circuits::remove_stop))
        .get("/rounds", Signed, "Rounds: overdue, today, planned, recent; plan a round", get(pages::list))
        .post("/rounds", Signed, "Plan a round", post(pages::plan))
        .get("/rounds/items", Signed, "The organisation's distribution catalogue", get(pages::items))
        .post("/rounds/items", Signed, "Add to or change the distribution catalogue", post(pages::change_items))
        .get("/rounds/{id}", Signed, "A round: check-in, stops, distributions, incidents, check-out (audited read)", get(pages::show))
        .post("/rounds/{id}/check-in", Signed, "Start a round: check-in of at least two members", post(pages::check_in))
        .post("/rounds/{id}/visit", Signed, "Mark a stop visited (moves its report forward)", post(pages::visit))
        .post("/rounds/{id}/distributions", Signed, "Record what the round gave out", post(pages::distributions))
        .post("/rounds/{id}/incidents", Signed, "Record a safety incident", post(pages::incident))
        .post("/rounds/{id}/check-out", Signed, "End a round: the team is back", post(pages::check_out))
        .post("/rounds/{id}/cancel", Signed, "Cancel a round that has not left", post(pages::cancel))
        .get("/rounds/{id}/report", Signed, "The daily team report of a round, printable (audited read)", get(pages::report))
        .post("/rounds/{id}/report", Signed, "Write the daily report's counts, mediations and handover", post(pages::save_report))
        .get("/coverage", Signed, "Coverage: sites nobody visited for N days, territories with no round this week", get(coverage::page))
        .get("/api/v1/teams", Signed, "Teams the caller may read, with members and kind", get(api::teams))
        .doc(ApiDoc::default().response(schema::<Vec<api::TeamView>>))
        .get("/api/v1/schedule", Signed, "The shared weekly schedule", get(api::schedule))
        .doc(ApiDoc::default().response(schema::<Vec<api::SlotView>>))
        .post("/api/v1/schedule", Signed, "Add a slot to the shared schedule", post(api::create_slot))
        .doc(ApiDoc::default().request(schema::<SlotInput>).response(schema::<api::SlotView>).status(201))
        .get("/api/v1/circuits", Signed, "Circuits with their ordered stops", get(api::circuits))
        .doc(ApiDoc::default().response(schema::<Vec<api::CircuitView>>))
        .get("/api/v1/rounds", Signed, "Rounds of the caller's organisation planned this week (or from/to)", get(api::rounds))
        .doc(ApiDoc::default().response(schema::<Vec<api::RoundView>>).query(&[
            QueryParam {
                name: "from",
                schema: r#"{"type": "string", "description": "Paris wall-clock time (2026-11-23T14:05) or RFC 3339 instant; this week's Monday when absent"}"#,
                required: false,
            },
            QueryParam {
                name: "to",
                schema: r#"{"type": "string", "description": "Paris wall-clock time or RFC 3339 instant; a week after from when absent"}"#,
                required: false,
            },
        ]))
        .post("/api/v1/rounds", Signed, "Plan a round", post(api::plan))
        .doc(ApiDoc::default().request(schema::<PlanInput>).response(schema::<api::RoundDetail>).status(201))
        .get("/api/v1/rounds/{id}", Signed, "A round with its members, stops, distributions and incidents (audited read)", get(api::round))
        .doc(ApiDoc::default().response(schema::<api::RoundDetail>))
        .post("/api/v1/rounds/{id}/check-in", Signed, "Start a round: check-in of at least two members", post(api::check_in))
        .doc(ApiDoc::default().request(schema::<CheckInInput>).response(schema::<api::RoundDetail>))
        .post("/api/v1/rounds/{id}/visits", Signed, "Mark a stop visited (moves its report forward)", post(api::visit))
        .doc(ApiDoc::default().request(schema::<VisitInput>).response(schema::<api::RoundDetail>))
        .post("/api/v1/rounds/{id}/distributions", Signed, "Set what the round gave out", post(api::distributions))
        .doc(ApiDoc::default().request(schema::<DistributionsInput>).response(schema::<api::RoundDetail>))
        .post("/api/v1/rounds/{id}/check-out", Signed, "End a round: the team is back", post(api::check_out))
        .doc(ApiDoc::default().response(schema::<api::RoundDetail>))
        .get("/api/v1/coverage", Signed, "Sites not visited for N days and territories with no round this week", get(api::coverage))
        .doc(ApiDoc::default().response(schema::<veille_app::rounds::coverage::Coverage>).query(&[QueryParam {
            name: "days",
            schema: r#"{"type": "integer", "minimum": 1, "maximum": 365}"#,
            required: false,
        }]))
}
