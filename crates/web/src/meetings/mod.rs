//! Meetings and collective sessions, and escalations: pages, the iCalendar
//! feed and the JSON API. The use cases are `veille_app::{meetings,
//! escalations}`.

pub mod api;
pub mod pages;

use axum::routing::{get, post};
use veille_app::escalations::{EscalationInput, ResolveInput};
use veille_app::meetings::{AgendaInput, AttendeeInput, HoldInput, ItemInput, MeetingInput};

use crate::routes::{schema, Access, ApiDoc, Registry};

/// The routes of meetings and escalations.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/meetings", Signed, "Meetings and collective sessions the caller reads, and a form to plan one", get(pages::list))
        .post("/meetings", Signed, "Plan a meeting or a collective session", post(pages::plan))
        .get("/meetings.ics", Signed, "The meetings the caller reads, as iCalendar", get(pages::ics))
        .get("/meetings/{id}", Signed, "A meeting: attendees, agenda, notes and decisions (audited read)", get(pages::show))
        .post("/meetings/{id}/attendees", Signed, "Add an attendee (an account, a partner by name, or a count by public)", post(pages::add_attendee))
        .post("/meetings/{id}/items", Signed, "Add a case to review or a topic to the agenda", post(pages::add_item))
        .post("/meetings/{id}/record", Signed, "Record an item's notes and decision (a decision may become an action)", post(pages::record_item))
        .post("/meetings/{id}/held", Signed, "Mark the meeting held, with its evaluation", post(pages::hold))
        .get("/meetings/{id}/minutes", Signed, "The minutes as the caller may read them (printable)", get(pages::minutes))
        .get("/meetings/{id}/minutes.pdf", Signed, "The minutes as the caller may read them, as PDF (audited read)", get(pages::minutes_pdf))
        .post("/meetings/{id}/minutes", Signed, "Mail the minutes to every attendee, each as they may read them", post(pages::send_minutes))
        .get("/escalations", Signed, "Critical situations raised to the caller or its organisation, and a form to raise one", get(pages::escalations))
        .post("/escalations", Signed, "Raise a critical situation to named people", post(pages::raise))
        .get("/escalations/{id}", Signed, "A critical situation: its recipients, acknowledgement and resolution", get(pages::escalation))
        .post("/escalations/{id}/acknowledge", Signed, "Acknowledge a critical situation", post(pages::acknowledge))
        .post("/escalations/{id}/resolve", Signed, "Resolve a critical situation", post(pages::resolve))
        .get("/api/v1/meetings", Signed, "Meetings the caller reads from today", get(api::list))
        .doc(ApiDoc::default().response(schema::<Vec<api::MeetingView>>))
        .post("/api/v1/meetings", Signed, "Plan a meeting", post(api::plan))
        .doc(ApiDoc::default().request(schema::<MeetingInput>).response(schema::<api::MeetingView>).status(201))
        .get("/api/v1/meetings/{id}", Signed, "A meeting with its attendees and agenda as the caller may read it (audited read)", get(api::show))
        .doc(ApiDoc::default().response(schema::<api::MeetingDetail>))
        .post("/api/v1/meetings/{id}/attendees", Signed, "Add an attendee", post(api::add_attendee))
        .doc(ApiDoc::default().request(schema::<AttendeeInput>).response(schema::<api::MeetingDetail>))
        .post("/api/v1/meetings/{id}/record", Signed, "Record an item's notes and decision", post(api::record_item))
        .doc(ApiDoc::default().request(schema::<ItemInput>).response(schema::<api::Recorded>))
        .post("/api/v1/meetings/{id}/items", Signed, "Add a case the caller reads, or a topic, to the agenda", post(api::add_item))
        .doc(ApiDoc::default().request(schema::<AgendaInput>).response(schema::<api::MeetingDetail>))
        .post("/api/v1/meetings/{id}/held", Signed, "Mark the meeting held, with its evaluation", post(api::hold))
        .doc(ApiDoc::default().request(schema::<HoldInput>).response(schema::<api::MeetingDetail>))
        .post("/api/v1/meetings/{id}/minutes", Signed, "Mail the minutes to every attendee, each as they may read them", post(api::send_minutes))
        .doc(ApiDoc::default().response(schema::<api::MinutesSent>))
        .get("/api/v1/escalations", Signed, "Open critical situations raised to the caller or its organisation", get(api::escalations))
        .doc(ApiDoc::default().response(schema::<Vec<api::EscalationView>>))
        .post("/api/v1/escalations", Signed, "Raise a critical situation", post(api::raise))
        .doc(ApiDoc::default().request(schema::<EscalationInput>).response(schema::<api::EscalationView>).status(201))
        .get("/api/v1/escalations/{id}", Signed, "A critical situation with who was alerted, at which level", get(api::escalation))
        .doc(ApiDoc::default().response(schema::<api::EscalationDetail>))
        .post("/api/v1/escalations/{id}/acknowledge", Signed, "Acknowledge a critical situation", post(api::acknowledge))
        .doc(ApiDoc::default().response(schema::<api::EscalationDetail>))
        .post("/api/v1/escalations/{id}/resolve", Signed, "Resolve a critical situation with what was done", post(api::resolve))
        .doc(ApiDoc::default().request(schema::<ResolveInput>).response(schema::<api::EscalationDetail>))
}
