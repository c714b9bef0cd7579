//! Shelter and housing: the capacity board, facilities, bookings and stays,
//! the waiting list, operations on sites, Housing First — pages and JSON
//! API. The use cases are `veille_app::shelter`; these handlers translate
//! the request, call it, and render its answer.

pub mod api;
pub mod pages;
pub mod work;

use axum::routing::{get, post};
use veille_app::shelter::housing::CheckDone;
use veille_app::shelter::{BookingInput, CheckInput, DiagnosisInput, DwellingInput, FacilityInput, LeaveInput, NightInput, OperationInput, OutcomeInput};

use crate::routes::{schema, Access, ApiDoc, Registry};

/// The routes of shelter and housing.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/shelter", Signed, "Capacity board: free places by facility and night", get(pages::board))
        .get("/shelter/facilities/new", Signed, "Form for a new facility", get(pages::new_facility))
        .post("/shelter/facilities", Signed, "Open a facility operated by the caller's organisation", post(pages::create_facility))
        .get("/shelter/facilities/{id}", Signed, "A facility with its places over two weeks and its current stays", get(pages::facility))
        .post("/shelter/facilities/{id}/nights", Signed, "The operator sets the places open on a night", post(pages::set_night))
        .get("/shelter/bookings/new", Signed, "Form for a booking", get(pages::booking_form))
        .post("/shelter/bookings", Signed, "Book places for nights in a row (never more than are free)", post(pages::book))
        .get("/shelter/stays", Signed, "Current stays, long stays and the waiting list", get(pages::stays))
        .get("/shelter/stays/{id}", Signed, "A stay with its history (audited read)", get(pages::stay))
        .post("/shelter/stays/{id}/enter", Signed, "Record an arrival", post(pages::enter))
        .post("/shelter/stays/{id}/leave", Signed, "Record an exit with its destination", post(pages::leave))
        .post("/shelter/stays/{id}/extend", Signed, "Move the planned exit", post(pages::extend))
        .post("/shelter/stays/{id}/cancel", Signed, "Cancel a booking, or record that the person did not come", post(pages::cancel))
        .post("/shelter/requests", Signed, "Put a request on the waiting list", post(pages::add_request))
        .post("/shelter/requests/{id}/withdraw", Signed, "Take a request off the waiting list", post(pages::withdraw_request))
        .get("/operations", Signed, "Operations on sites, and a form to plan one", get(work::operations))
        .post("/operations", Signed, "Plan an operation on a site", post(work::plan))
        .get("/operations/{id}", Signed, "An operation with its prior social diagnosis and outcomes (audited read)", get(work::operation))
        .post("/operations/{id}/diagnosis", Signed, "Add a person or household to the prior social diagnosis", post(work::add_diagnosis))
        .post("/operations/{id}/outcomes", Signed, "Record the outcome of a line on the day", post(work::outcome))
        .post("/operations/{id}/finish", Signed, "Close the operation with its report", post(work::finish))
        .get("/housing", Signed, "Housing First: dwellings, landlords, overdue checks and actions", get(work::housing_home))
        .post("/housing/dwellings", Signed, "Add a dwelling", post(work::add_dwelling))
        .post("/housing/landlords", Signed, "Add a landlord", post(work::add_landlord))
        .get("/housing/dwellings/{id}", Signed, "A dwelling with its tenancies, checks, actions and journal (audited read)", get(work::dwelling))
        .post("/housing/dwellings/{id}/tenancies", Signed, "Start a tenancy", post(work::add_tenancy))
        .post("/housing/dwellings/{id}/checks", Signed, "Schedule a dwelling check", post(work::schedule_check))
        .post("/housing/dwellings/{id}/journal", Signed, "Write in the programme's journal", post(work::journal))
        .post("/housing/checks/{id}", Signed, "Record a check done with its checklist", post(work::complete_check))
        .post("/housing/actions/{id}", Signed, "Move a follow-up action on", post(work::set_action))
        .get("/api/v1/shelter/board", Signed, "Capacity board: free places by facility and night", get(api::board))
        .doc(ApiDoc::default().query(api::BOARD_QUERY).response(schema::<Vec<api::BoardView>>))
        .get("/api/v1/facilities", Signed, "Open facilities", get(api::facilities))
        .doc(ApiDoc::default().response(schema::<Vec<api::FacilityView>>))
        .post("/api/v1/facilities", Signed, "Open a facility", post(api::create_facility))
        .doc(ApiDoc::default().request(schema::<FacilityInput>).response(schema::<api::FacilityView>).status(201))
        .post("/api/v1/facilities/{id}/nights", Signed, "Set the places open on a night", post(api::set_night))
        .doc(ApiDoc::default().request(schema::<NightInput>).response(schema::<api::NightSet>))
        .get("/api/v1/stays", Signed, "Current stays the caller reads", get(api::stays))
        .doc(ApiDoc::default().response(schema::<Vec<api::StayView>>))
        .post("/api/v1/stays", Signed, "Book places (never more than are free; 422 names the next free night)", post(api::book))
        .doc(ApiDoc::default().request(schema::<BookingInput>).response(schema::<api::StayView>).status(201))
        .get("/api/v1/stays/{id}", Signed, "A stay (audited read)", get(api::stay))
        .doc(ApiDoc::default().response(schema::<api::StayView>))
        .post("/api/v1/stays/{id}/enter", Signed, "Record an arrival", post(api::enter))
        .doc(ApiDoc::default().request(schema::<api::EnterBody>).response(schema::<api::StayView>))
        .post("/api/v1/stays/{id}/leave", Signed, "Record an exit with its destination", post(api::leave))
        .doc(ApiDoc::default().request(schema::<LeaveInput>).response(schema::<api::StayView>))
        .get("/api/v1/operations", Signed, "Operations on sites the caller reads", get(api::operations))
        .doc(ApiDoc::default().response(schema::<Vec<api::OperationView>>))
        .post("/api/v1/operations", Signed, "Plan an operation on a site", post(api::plan))
        .doc(ApiDoc::default().request(schema::<OperationInput>).response(schema::<api::OperationView>).status(201))
        .get("/api/v1/operations/{id}", Signed, "An operation with its diagnosis and counts (audited read)", get(api::operation))
        .doc(ApiDoc::default().response(schema::<api::OperationDetail>))
        .post("/api/v1/operations/{id}/diagnosis", Signed, "Add a line to the prior social diagnosis", post(api::add_diagnosis))
        .doc(ApiDoc::default().request(schema::<DiagnosisInput>).response(schema::<api::OperationDetail>))
        .post("/api/v1/operations/{id}/outcomes", Signed, "Record the outcome of a line on the day", post(api::outcome))
        .doc(ApiDoc::default().request(schema::<OutcomeInput>).response(schema::<api::OperationDetail>))
        .get("/api/v1/dwellings", Signed, "Housing First dwellings the caller reads", get(api::dwellings))
        .doc(ApiDoc::default().response(schema::<Vec<api::DwellingView>>))
        .post("/api/v1/dwellings", Signed, "Add a dwelling (its first check is scheduled)", post(api::add_dwelling))
        .doc(ApiDoc::default().request(schema::<DwellingInput>).response(schema::<api::DwellingView>).status(201))
        .post("/api/v1/dwelling-checks/{id}", Signed, "Record a check done with its checklist", post(api::complete_check))
        .doc(ApiDoc::default().request(schema::<CheckInput>).response(schema::<CheckDone>))
}
