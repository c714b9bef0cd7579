//! The JSON API of shelter and housing: the capacity board, facilities and
//! their nights, bookings and stays, operations with their diagnosis,
//! dwellings and checks. Same validation, access and audit as the pages.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use veille_app::shelter::housing::{self, CheckDone};
use veille_app::shelter::operations::{self as ops, Counts};
use veille_app::shelter::{
    self as app, BookingInput, CheckInput, DiagnosisInput, DiagnosisLine, Dwelling, DwellingInput, Facility, FacilityInput, LeaveInput, NightInput, Operation,
    OperationInput, OutcomeInput, Stay,
};
use veille_domain::shelter::{Night, NightPlaces};
use veille_domain::Action;

use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::page::PageCtx;
use crate::routes::QueryParam;
use crate::AppState;

/// A facility as the API shows it (no personal data).
#[derive(Serialize, schemars::JsonSchema)]
pub struct FacilityView {
    id: String,
    organisation_id: String,
    name: String,
    kind: String,
    address: String,
    territory_id: Option<String>,
    lon: Option<f64>,
    lat: Option<f64>,
    publics: Vec<String>,
    unit: String,
    /// Usual places each night.
    places: i64,
    accessible: bool,
    service_id: Option<String>,
    night_cost_cents: Option<i64>,
    active: bool,
    version: i64,
}

impl From<&Facility> for FacilityView {
    fn from(f: &Facility) -> Self {
        Self {
            id: f.id.to_string(),
            organisation_id: f.organisation.to_string(),
            name: f.name.clone(),
            kind: f.kind.code().into(),
            address: f.address.clone(),
            territory_id: f.territory.map(|t| t.to_string()),
            lon: f.lon,
            lat: f.lat,
            publics: f.publics.iter().map(|p| p.code().to_owned()).collect(),
            unit: f.unit.code().into(),
            places: f.places,
            accessible: f.accessible,
            service_id: f.service.map(|s| s.to_string()),
            night_cost_cents: f.night_cost_cents,
            active: f.active,
            version: f.version,
        }
    }
}

/// A facility with its places night by night.
#[derive(Serialize, schemars::JsonSchema)]
pub struct BoardView {
    facility: FacilityView,
    nights: Vec<NightPlaces>,
}

/// The board's query.
#[derive(Deserialize, Default)]
pub struct BoardQuery {
    #[serde(default)]
    territory: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    nights: Option<i64>,
}

/// The board's query parameters.
pub const BOARD_QUERY: &[QueryParam] = &[
    QueryParam { name: "territory", schema: r#"{"type": "string", "format": "uuid"}"#, required: false },
    QueryParam { name: "from", schema: r#"{"type": "string", "format": "date"}"#, required: false },
    QueryParam { name: "nights", schema: r#"{"type": "integer", "minimum": 1, "maximum": 62}"#, required: false },
];

/// GET /api/v1/shelter/board
pub async fn board(State(state): State<AppState>, who: Authenticated, Query(q): Query<BoardQuery>) -> AppResult<Response> {
    let tonight = app::tonight(&state);
    let from = q.from.as_deref().and_then(Night::parse).unwrap_or(tonight);
    let territory = q.territory.as_deref().and_then(|t| t.parse().ok());
    let lines = app::board(&state, &who, territory, from, q.nights.unwrap_or(7)).await?;
    let out: Vec<BoardView> = lines.iter().map(|l| BoardView { facility: (&l.facility).into(), nights: l.nights.clone() }).collect();
    Ok(Json(out).into_response())
}

/// GET /api/v1/facilities
pub async fn facilities(State(state): State<AppState>, _who: Authenticated) -> AppResult<Response> {
    let out: Vec<FacilityView> = app::facilities(&state).await?.iter().map(FacilityView::from).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/facilities
pub async fn create_facility(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<FacilityInput>) -> AppResult<Response> {
    match app::create_facility(&state, &who, ctx.lang, &input).await? {
        Ok(f) => Ok((StatusCode::CREATED, Json(FacilityView::from(&f))).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// A night's places as set.
#[derive(Serialize, schemars::JsonSchema)]
pub struct NightSet {
    night: Night,
    places: i64,
}

/// POST /api/v1/facilities/{id}/nights
pub async fn set_night(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<NightInput>,
) -> AppResult<Response> {
    let f = app::load_facility(&state, &who, &id, Action::Update).await?;
    match app::set_night(&state, &who, ctx.lang, &f, &input).await? {
        Ok((night, places)) => Ok(Json(NightSet { night, places }).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// A stay as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct StayView {
    id: String,
    facility_id: String,
    facility_name: String,
    organisation_id: String,
    operator_organisation_id: String,
    person_id: Option<String>,
    household_id: Option<String>,
    label: String,
    places: i64,
    status: String,
    /// First night (the evening's date).
    from: Night,
    /// The morning of the planned exit (the night after the last one).
    to: Night,
    nights: i64,
    entered_at: Option<String>,
    left_at: Option<String>,
    destination: Option<String>,
    booking_ref: String,
    night_cost_cents: Option<i64>,
    cost_cents: Option<i64>,
    operation_id: Option<String>,
    version: i64,
}

impl From<&Stay> for StayView {
    fn from(s: &Stay) -> Self {
        Self {
            id: s.id.to_string(),
            facility_id: s.facility.to_string(),
            facility_name: s.facility_name.clone(),
            organisation_id: s.organisation.to_string(),
            operator_organisation_id: s.operator.to_string(),
            person_id: s.person.map(|p| p.to_string()),
            household_id: s.household.map(|p| p.to_string()),
            label: s.label.clone(),
            places: s.places,
            status: s.status.code().into(),
            from: s.from,
            to: s.to,
            nights: s.nights(),
            entered_at: s.entered_at.map(|t| t.to_rfc3339()),
            left_at: s.left_at.map(|t| t.to_rfc3339()),
            destination: s.destination.map(|d| d.code().to_owned()),
            booking_ref: s.booking_ref.clone(),
            night_cost_cents: s.night_cost_cents,
            cost_cents: s.cost_cents(),
            operation_id: s.operation.map(|o| o.to_string()),
            version: s.version,
        }
    }
}

/// GET /api/v1/stays: current stays the caller reads.
pub async fn stays(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    app::gate_stays(&who)?;
    let out: Vec<StayView> = app::stays(&state, &who, false).await?.iter().map(StayView::from).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/stays: a booking.
pub async fn book(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<BookingInput>) -> AppResult<Response> {
    match app::book(&state, &who, ctx.lang, &input).await? {
        Ok(s) => Ok((StatusCode::CREATED, Json(StayView::from(&s))).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/stays/{id} (an audited read)
pub async fn stay(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (s, _) = app::read_stay(&state, &who, &id, "api").await?;
    Ok(Json(StayView::from(&s)).into_response())
}

/// The version an arrival is recorded on.
#[derive(Deserialize, Default, schemars::JsonSchema)]
pub struct EnterBody {
    /// The stay's version.
    #[serde(default)]
    version: i64,
}

/// POST /api/v1/stays/{id}/enter
pub async fn enter(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EnterBody>,
) -> AppResult<Response> {
    let s = app::load_stay(&state, &who, &id, Action::Update).await?;
    match app::enter(&state, &who, ctx.lang, &s, body.version).await? {
        Ok(()) => Ok(Json(StayView::from(&app::load_stay(&state, &who, &id, Action::Read).await?)).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// POST /api/v1/stays/{id}/leave
pub async fn leave(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<LeaveInput>,
) -> AppResult<Response> {
    let s = app::load_stay(&state, &who, &id, Action::Update).await?;
    match app::leave(&state, &who, ctx.lang, &s, &body).await? {
        Ok(()) => Ok(Json(StayView::from(&app::load_stay(&state, &who, &id, Action::Read).await?)).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// An operation as the API shows it (the legal frame only to who holds the justice group).
#[derive(Serialize, schemars::JsonSchema)]
pub struct OperationView {
    id: String,
    organisation_id: String,
    site_id: String,
    site_name: String,
    kind: String,
    planned_on: Night,
    status: String,
    partners: String,
    city_services: String,
    legal_frame: Option<String>,
    legal_reference: Option<String>,
    report: String,
    version: i64,
}

impl OperationView {
    fn of(o: &Operation, legal: bool) -> Self {
        Self {
            id: o.id.to_string(),
            organisation_id: o.organisation.to_string(),
            site_id: o.site.to_string(),
            site_name: o.site_name.clone(),
            kind: o.kind.code().into(),
            planned_on: o.planned_on,
            status: o.status.clone(),
            partners: o.partners.clone(),
            city_services: o.city_services.clone(),
            legal_frame: legal.then(|| o.legal_frame.clone()),
            legal_reference: legal.then(|| o.legal_reference.clone()),
            report: o.report.clone(),
            version: o.version,
        }
    }
}

/// A line of a diagnosis as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct DiagnosisView {
    id: String,
    person_id: Option<String>,
    label: String,
    people: i64,
    vulnerabilities: Vec<String>,
    /// The vulnerability score (the list is ordered by it).
    score: i64,
    needs: String,
    proposal: String,
    outcome: Option<String>,
    facility_id: Option<String>,
    stay_id: Option<String>,
}

impl From<&DiagnosisLine> for DiagnosisView {
    fn from(l: &DiagnosisLine) -> Self {
        Self {
            id: l.id.to_string(),
            person_id: l.person.map(|p| p.to_string()),
            label: l.label.clone(),
            people: l.people,
            vulnerabilities: l.vulnerabilities.iter().map(|v| v.code().to_owned()).collect(),
            score: l.score(),
            needs: l.needs.clone(),
            proposal: l.proposal.clone(),
            outcome: l.outcome.map(|o| o.code().to_owned()),
            facility_id: l.facility.map(|f| f.to_string()),
            stay_id: l.stay.map(|s| s.to_string()),
        }
    }
}

/// An operation with its diagnosis and its counts by outcome.
#[derive(Serialize, schemars::JsonSchema)]
pub struct OperationDetail {
    operation: OperationView,
    diagnosis: Vec<DiagnosisView>,
    counts: Counts,
}

/// GET /api/v1/operations
pub async fn operations(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    housing::gate(&who)?;
    let out: Vec<OperationView> = ops::list(&state, &who, None).await?.iter().map(|o| OperationView::of(o, ops::reads_legal_frame(&who, o))).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/operations
pub async fn plan(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<OperationInput>) -> AppResult<Response> {
    housing::gate(&who)?;
    match ops::plan(&state, &who, ctx.lang, &input).await? {
        Ok(o) => Ok((StatusCode::CREATED, Json(OperationView::of(&o, ops::reads_legal_frame(&who, &o)))).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

async fn detail(state: &AppState, who: &Authenticated, id: &str) -> AppResult<Response> {
    let (o, lines) = ops::read(state, who, id, "api").await?;
    let body = OperationDetail {
        operation: OperationView::of(&o, ops::reads_legal_frame(who, &o)),
        counts: ops::counts(&lines),
        diagnosis: lines.iter().map(DiagnosisView::from).collect(),
    };
    Ok(Json(body).into_response())
}

/// GET /api/v1/operations/{id} (an audited read)
pub async fn operation(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    detail(&state, &who, &id).await
}

/// POST /api/v1/operations/{id}/diagnosis
pub async fn add_diagnosis(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<DiagnosisInput>,
) -> AppResult<Response> {
    let o = ops::load(&state, &who, &id, Action::Update).await?;
    match ops::add_diagnosis(&state, &who, ctx.lang, &o, &input).await? {
        Ok(_) => detail(&state, &who, &id).await,
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// POST /api/v1/operations/{id}/outcomes
pub async fn outcome(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<OutcomeInput>,
) -> AppResult<Response> {
    let o = ops::load(&state, &who, &id, Action::Update).await?;
    match ops::record_outcome(&state, &who, ctx.lang, &o, &input).await? {
        Ok(()) => detail(&state, &who, &id).await,
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// A dwelling as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct DwellingView {
    id: String,
    organisation_id: String,
    territory_id: Option<String>,
    landlord_id: Option<String>,
    landlord_name: Option<String>,
    address: String,
    rooms: i64,
    state: String,
    rent_cents: Option<i64>,
    check_every_days: i64,
}

impl From<&Dwelling> for DwellingView {
    fn from(d: &Dwelling) -> Self {
        Self {
            id: d.id.to_string(),
            organisation_id: d.organisation.to_string(),
            territory_id: d.territory.map(|t| t.to_string()),
            landlord_id: d.landlord.map(|t| t.to_string()),
            landlord_name: d.landlord_name.clone(),
            address: d.address.clone(),
            rooms: d.rooms,
            state: d.state.clone(),
            rent_cents: d.rent_cents,
            check_every_days: d.check_every_days,
        }
    }
}

/// GET /api/v1/dwellings
pub async fn dwellings(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<DwellingView> = housing::dwellings(&state, &who).await?.iter().map(DwellingView::from).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/dwellings
pub async fn add_dwelling(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<DwellingInput>) -> AppResult<Response> {
    match housing::add_dwelling(&state, &who, ctx.lang, &input).await? {
        Ok(id) => {
            let d = housing::load(&state, &who, &id.to_string(), Action::Read).await?;
            Ok((StatusCode::CREATED, Json(DwellingView::from(&d))).into_response())
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// POST /api/v1/dwelling-checks/{id}: a check done with its checklist.
pub async fn complete_check(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<CheckInput>,
) -> AppResult<Response> {
    match housing::complete_check(&state, &who, ctx.lang, &id, &input).await? {
        Ok(done) => Ok(Json::<CheckDone>(done).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}
