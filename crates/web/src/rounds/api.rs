//! The JSON API of maraudes: teams, the shared schedule, circuits, rounds
//! (plan, check-in, visits, distributions, check-out) and coverage. Same
//! validation, access and audit as the pages.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use veille_app::rounds::schedule::{self, Line, SlotInput};
use veille_app::rounds::{self as app, load_round, CheckInInput, DistributionsInput, PlanInput, Round, RoundRecord, VisitInput};
use veille_domain::{Action, Timestamp};

use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::page::PageCtx;
use crate::AppState;

/// A team as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct TeamView {
    id: String,
    organisation_id: String,
    name: String,
    /// `social`, `health`, `mediation`, `psychiatric`, `other`.
    kind: String,
    /// Account ids of its members.
    members: Vec<String>,
}

/// GET /api/v1/teams
pub async fn teams(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<TeamView> = app::teams_with_members(&state, &who)
        .await?
        .into_iter()
        .map(|(t, members)| TeamView {
            id: t.id.to_string(),
            organisation_id: t.organisation.to_string(),
            name: t.name,
            kind: t.kind,
            members: members.into_iter().map(|u| u.to_string()).collect(),
        })
        .collect();
    Ok(Json(out).into_response())
}

/// A slot of the shared schedule as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct SlotView {
    id: String,
    organisation_id: String,
    organisation: String,
    team_id: String,
    team: String,
    team_kind: String,
    /// 1 (Monday) to 7 (Sunday).
    weekday: i64,
    /// `HH:MM`, Europe/Paris.
    start: String,
    /// `HH:MM`; before `start` when the slot runs past midnight.
    end: String,
    territory_id: Option<String>,
    territory: String,
    circuit_id: Option<String>,
    note: String,
}

fn slot_view(l: Line) -> SlotView {
    SlotView {
        id: l.slot.id.to_string(),
        organisation_id: l.slot.organisation.to_string(),
        organisation: l.organisation,
        team_id: l.slot.team.to_string(),
        team: l.team,
        team_kind: l.kind,
        weekday: l.slot.weekday,
        start: app::hhmm(l.slot.start_minute),
        end: app::hhmm(l.slot.end_minute),
        territory_id: l.slot.territory.map(|t| t.to_string()),
        territory: l.territory,
        circuit_id: l.slot.circuit.map(|c| c.to_string()),
        note: l.slot.note,
    }
}

/// GET /api/v1/schedule
pub async fn schedule(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<SlotView> = schedule::schedule(&state, &who).await?.into_iter().map(slot_view).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/schedule
pub async fn create_slot(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<SlotInput>) -> AppResult<Response> {
    match schedule::add_slot(&state, &who, ctx.lang, &input).await? {
        Ok(id) => Ok((StatusCode::CREATED, Json(slot_view(schedule::slot(&state, &who, id).await?))).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// A stop of a circuit as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct CircuitStopView {
    position: i64,
    site_id: Option<String>,
    label: String,
    lon: Option<f64>,
    lat: Option<f64>,
}

/// A circuit as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct CircuitView {
    id: String,
    organisation_id: String,
    team_id: String,
    name: String,
    stops: Vec<CircuitStopView>,
}

/// GET /api/v1/circuits
pub async fn circuits(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<CircuitView> = app::circuits::with_stops(&state, &who)
        .await?
        .into_iter()
        .map(|(c, stops)| {
            let stops = stops
                .into_iter()
                .map(|s| CircuitStopView { position: s.position, site_id: s.site.map(|x| x.to_string()), label: s.label, lon: s.lon, lat: s.lat })
                .collect();
            CircuitView { id: c.id.to_string(), organisation_id: c.organisation.to_string(), team_id: c.team.to_string(), name: c.name, stops }
        })
        .collect();
    Ok(Json(out).into_response())
}

/// A round as the API lists it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct RoundView {
    id: String,
    organisation_id: String,
    team_id: String,
    circuit_id: Option<String>,
    slot_id: Option<String>,
    territory_id: Option<String>,
    planned_start: String,
    planned_end: String,
    /// `planned`, `started`, `ended`, `cancelled`.
    status: String,
    started_at: Option<String>,
    expected_return_at: Option<String>,
    ended_at: Option<String>,
    /// Out past the expected return.
    overdue: bool,
    /// Reporting day (noon to noon, Europe/Paris), `YYYY-MM-DD`.
    reporting_day: String,
    people_total: i64,
    people_new: i64,
    people_known: i64,
    mediations: i64,
    mediation_notes: String,
    handover: String,
    version: i64,
}

fn rfc(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

impl RoundView {
    fn of(r: &Round, now: Timestamp) -> Self {
        Self {
            id: r.id.to_string(),
            organisation_id: r.organisation.to_string(),
            team_id: r.team.to_string(),
            circuit_id: r.circuit.map(|c| c.to_string()),
            slot_id: r.slot.map(|s| s.to_string()),
            territory_id: r.territory.map(|t| t.to_string()),
            planned_start: r.planned_start.to_rfc3339(),
            planned_end: r.planned_end.to_rfc3339(),
            status: r.status.clone(),
            started_at: rfc(r.started_at),
            expected_return_at: rfc(r.expected_return_at),
            ended_at: rfc(r.ended_at),
            overdue: r.status == "started" && r.expected_return_at.is_some_and(|t| t < now),
            reporting_day: r.started_at.unwrap_or(r.planned_start).reporting_day().to_string(),
            people_total: r.people_total,
            people_new: r.people_new,
            people_known: r.people_known,
            mediations: r.mediations,
            mediation_notes: r.mediation_notes.clone(),
            handover: r.handover.clone(),
            version: r.version,
        }
    }
}

/// A stop of a round as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct StopView {
    id: String,
    position: i64,
    site_id: Option<String>,
    /// The report (signalement) the stop carries.
    report_id: Option<String>,
    label: String,
    lon: Option<f64>,
    lat: Option<f64>,
    visited_at: Option<String>,
    note: String,
}

/// A distribution line as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct DistributionView {
    item_id: String,
    name: String,
    category: String,
    unit: String,
    quantity: i64,
}

/// An incident as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct IncidentView {
    at: String,
    kind: String,
    description: String,
}

/// A member checked in.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MemberView {
    user_id: String,
    checked_in_at: String,
}

/// A round with everything recorded on it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct RoundDetail {
    round: RoundView,
    members: Vec<MemberView>,
    stops: Vec<StopView>,
    distributions: Vec<DistributionView>,
    incidents: Vec<IncidentView>,
    /// Ids of the site observations made on the round.
    observations: Vec<String>,
}

fn detail(now: Timestamp, r: RoundRecord) -> RoundDetail {
    RoundDetail {
        round: RoundView::of(&r.round, now),
        members: r.members.into_iter().map(|(u, t)| MemberView { user_id: u.to_string(), checked_in_at: t.to_rfc3339() }).collect(),
        stops: r
            .stops
            .into_iter()
            .map(|s| StopView {
                id: s.id,
                position: s.position,
                site_id: s.site.map(|x| x.to_string()),
                report_id: s.report.map(|x| x.to_string()),
                label: s.label,
                lon: s.lon,
                lat: s.lat,
                visited_at: rfc(s.visited_at),
                note: s.note,
            })
            .collect(),
        distributions: r
            .distributions
            .into_iter()
            .map(|d| DistributionView { item_id: d.item.to_string(), name: d.name, category: d.category, unit: d.unit, quantity: d.quantity })
            .collect(),
        incidents: r.incidents.into_iter().map(|i| IncidentView { at: i.at.to_rfc3339(), kind: i.kind, description: i.description }).collect(),
        observations: r.observations.into_iter().map(|o| o.id.to_string()).collect(),
    }
}

/// The period of the round list.
#[derive(Deserialize, Default)]
pub struct RoundsQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// GET /api/v1/rounds
pub async fn rounds(State(state): State<AppState>, who: Authenticated, Query(q): Query<RoundsQuery>) -> AppResult<Response> {
    app::rounds_gate(&who)?;
    let now = state.clock.now();
    let monday = now.paris_monday();
    let from = Timestamp::parse_paris(&q.from).or_else(|| Timestamp::at_paris(monday, 0)).unwrap_or(now);
    let to = Timestamp::parse_paris(&q.to).or_else(|| Timestamp::at_paris(monday + chrono::Duration::days(7), 0)).unwrap_or(now);
    let out: Vec<RoundView> = app::rounds_between(&state, &who, from, to).await?.iter().map(|r| RoundView::of(r, now)).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/rounds
pub async fn plan(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<PlanInput>) -> AppResult<Response> {
    match app::plan_round(&state, &who, ctx.lang, &input).await? {
        Ok(r) => Ok((StatusCode::CREATED, Json(detail(state.clock.now(), app::record(&state, &who, r).await?))).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/rounds/{id} (an audited read)
pub async fn round(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let r = app::read_round(&state, &who, &id, serde_json::json!({"via": "api"})).await?;
    Ok(Json(detail(state.clock.now(), app::record(&state, &who, r).await?)).into_response())
}

async fn answer(state: &AppState, who: &Authenticated, ctx: &PageCtx, round: &Round, result: Result<(), FieldErrors>) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(Json(detail(state.clock.now(), app::record_of(state, who, round.id).await?)).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// POST /api/v1/rounds/{id}/check-in
pub async fn check_in(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<CheckInInput>,
) -> AppResult<Response> {
    let r = load_round(&state, &who, &id, Action::Update).await?;
    let result = app::check_in(&state, &who, ctx.lang, &r, &input, r.version).await?;
    answer(&state, &who, &ctx, &r, result).await
}

/// POST /api/v1/rounds/{id}/visits
pub async fn visit(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<VisitInput>,
) -> AppResult<Response> {
    let r = load_round(&state, &who, &id, Action::Update).await?;
    let result = app::visit(&state, &who, ctx.lang, &r, &input).await?;
    answer(&state, &who, &ctx, &r, result).await
}

/// POST /api/v1/rounds/{id}/distributions
pub async fn distributions(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<DistributionsInput>,
) -> AppResult<Response> {
    let r = load_round(&state, &who, &id, Action::Update).await?;
    let result = app::set_distributions(&state, &who, ctx.lang, &r, &input).await?;
    answer(&state, &who, &ctx, &r, result).await
}

/// POST /api/v1/rounds/{id}/check-out
pub async fn check_out(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let r = load_round(&state, &who, &id, Action::Update).await?;
    let result = app::check_out(&state, &who, ctx.lang, &r, r.version).await?;
    answer(&state, &who, &ctx, &r, result).await
}

/// GET /api/v1/coverage
pub async fn coverage(State(state): State<AppState>, who: Authenticated, Query(q): Query<super::coverage::CoverageQuery>) -> AppResult<Response> {
    app::coverage::gate(&who)?;
    let days = q.days_given().ok_or_else(AppError::bad_request)?;
    Ok(Json(app::coverage::coverage(&state, &who, days).await?).into_response())
}
