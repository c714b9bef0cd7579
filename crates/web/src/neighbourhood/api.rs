//! The JSON API of neighbourhood work. Same validation, access and audit as the pages.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use veille_app::neighbourhood::contacts::{self, ContactInput};
use veille_app::neighbourhood::logbooks::{self, EntryInput, SearchQuery};
use veille_app::neighbourhood::mediations::{self, Line, MediationInput, PartyView};
use veille_app::neighbourhood::services::{self, AnswerInput, LinkOnce, RequestInput};
use veille_app::neighbourhood::tension;
use veille_domain::Action;
use veille_storage::neighbourhood::{Contact, Mediation};
use veille_storage::services::{CityService, ServiceRequest};

use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::page::PageCtx;
use crate::AppState;

/// A mediation as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MediationView {
    id: String,
    organisation_id: String,
    team_id: Option<String>,
    round_id: Option<String>,
    site_id: Option<String>,
    report_id: Option<String>,
    at: String,
    place: String,
    lon: Option<f64>,
    lat: Option<f64>,
    subject: String,
    actions: String,
    outcome: String,
    outcome_note: String,
    /// The follow-up date (`2026-12-20`).
    follow_up_on: Option<String>,
    follow_up_done_at: Option<String>,
    version: i64,
    /// Parties by role; a contact's identity only to who reads the contact book.
    parties: Vec<PartyView>,
}

fn mediation_view(m: &Mediation, parties: Vec<PartyView>) -> MediationView {
    MediationView {
        id: m.id.to_string(),
        organisation_id: m.organisation.to_string(),
        team_id: m.team.map(|t| t.to_string()),
        round_id: m.round.map(|r| r.to_string()),
        site_id: m.site.map(|s| s.to_string()),
        report_id: m.report.map(|r| r.to_string()),
        at: m.at.to_rfc3339(),
        place: m.place.clone(),
        lon: m.lon,
        lat: m.lat,
        subject: m.subject.code().into(),
        actions: m.actions.clone(),
        outcome: m.outcome.code().into(),
        outcome_note: m.outcome_note.clone(),
        follow_up_on: m.follow_up_on.map(|n| n.iso()),
        follow_up_done_at: m.follow_up_done_at.map(|t| t.to_rfc3339()),
        version: m.version,
        parties,
    }
}

fn line_view(l: Line) -> MediationView {
    mediation_view(&l.mediation, l.parties)
}

/// The follow-ups to do and the recent mediations.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MediationLists {
    follow_ups: Vec<MediationView>,
    recent: Vec<MediationView>,
}

/// A mediation with its parties.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MediationDetail {
    mediation: MediationView,
}

/// GET /api/v1/mediations
pub async fn mediations(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let l = mediations::lists(&state, &who).await?;
    Ok(Json(MediationLists { follow_ups: l.follow_ups.into_iter().map(line_view).collect(), recent: l.recent.into_iter().map(line_view).collect() })
        .into_response())
}

/// POST /api/v1/mediations
pub async fn record_mediation(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    JsonBody(input): JsonBody<MediationInput>,
) -> AppResult<Response> {
    match mediations::record(&state, &who, ctx.lang, &input).await? {
        Ok(id) => {
            let v = mediations::read(&state, &who, &id.to_string(), "api").await?;
            Ok((StatusCode::CREATED, Json(MediationDetail { mediation: mediation_view(&v.mediation, v.parties) })).into_response())
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/mediations/{id}
pub async fn mediation(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let v = mediations::read(&state, &who, &id, "api").await?;
    Ok(Json(MediationDetail { mediation: mediation_view(&v.mediation, v.parties) }).into_response())
}

/// How far back the tension places look.
#[derive(Deserialize, Default)]
pub struct DaysQuery {
    #[serde(default)]
    days: Option<i64>,
}

/// GET /api/v1/tension-places
pub async fn tension(State(state): State<AppState>, who: Authenticated, Query(q): Query<DaysQuery>) -> AppResult<Response> {
    Ok(Json(tension::places(&state, &who, q.days.unwrap_or(tension::DEFAULT_DAYS)).await?).into_response())
}

/// A local relay as the API shows it (restricted field group).
#[derive(Serialize, schemars::JsonSchema)]
pub struct ContactView {
    id: String,
    organisation_id: String,
    territory_id: Option<String>,
    role: String,
    name: String,
    structure: String,
    place: String,
    lon: Option<f64>,
    lat: Option<f64>,
    phone: String,
    email: String,
    reach: String,
    consent_at: String,
    version: i64,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id.to_string(),
            organisation_id: c.organisation.to_string(),
            territory_id: c.territory.map(|t| t.to_string()),
            role: c.role.code().into(),
            name: c.name.clone(),
            structure: c.structure.clone(),
            place: c.place.clone(),
            lon: c.lon,
            lat: c.lat,
            phone: c.phone.clone(),
            email: c.email.clone(),
            reach: c.reach.clone(),
            consent_at: c.consent_at.to_rfc3339(),
            version: c.version,
        }
    }
}

/// GET /api/v1/contacts
pub async fn contacts(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<ContactView> = contacts::list(&state, &who, "", "", "api").await?.iter().map(ContactView::from).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/contacts
pub async fn create_contact(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<ContactInput>) -> AppResult<Response> {
    match contacts::create(&state, &who, ctx.lang, &input).await? {
        Ok(id) => {
            let c = contacts::read(&state, &who, &id.to_string(), "api").await?;
            Ok((StatusCode::CREATED, Json(ContactView::from(&c))).into_response())
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/contacts/{id}
pub async fn contact(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    Ok(Json(ContactView::from(&contacts::read(&state, &who, &id, "api").await?)).into_response())
}

/// A city or technical service.
#[derive(Serialize, schemars::JsonSchema)]
pub struct CityServiceView {
    id: String,
    organisation_id: String,
    name: String,
    category: String,
    territory_id: Option<String>,
    /// Whether it answers from accounts of its own (otherwise through a link).
    has_accounts: bool,
    active: bool,
}

impl From<&CityService> for CityServiceView {
    fn from(s: &CityService) -> Self {
        Self {
            id: s.id.to_string(),
            organisation_id: s.organisation.to_string(),
            name: s.name.clone(),
            category: s.category.code().into(),
            territory_id: s.territory.map(|t| t.to_string()),
            has_accounts: s.member_organisation.is_some(),
            active: s.active,
        }
    }
}

/// GET /api/v1/city-services
pub async fn city_services(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<CityServiceView> = services::services(&state, &who).await?.iter().map(CityServiceView::from).collect();
    Ok(Json(out).into_response())
}

/// The month of an export.
#[derive(Deserialize, Default)]
pub struct MonthQuery {
    #[serde(default)]
    month: String,
}

/// GET /api/v1/city-services/{id}/export?month=2026-11
pub async fn export(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<MonthQuery>,
) -> AppResult<Response> {
    let s = services::load_service(&state, &who, &id, Action::Read).await?;
    if services::month_bounds(&q.month).is_none() {
        let mut errors = crate::forms::FieldErrors::new();
        errors.add("month", ctx.t("neighbourhood.error.month"));
        return Ok(invalid(ctx.lang, &errors));
    }
    Ok(Json(services::export_lines(&state, &who, &s, &q.month).await?).into_response())
}

/// A request to a service.
#[derive(Serialize, schemars::JsonSchema)]
pub struct RequestView {
    id: String,
    organisation_id: String,
    service_id: String,
    service: String,
    category: String,
    place: String,
    lon: Option<f64>,
    lat: Option<f64>,
    description: String,
    urgency: String,
    origin_kind: String,
    origin_id: Option<String>,
    status: String,
    answer: String,
    sent_at: String,
    acknowledged_at: Option<String>,
    answered_at: Option<String>,
    version: i64,
}

fn request_view(r: &ServiceRequest, service: &str) -> RequestView {
    RequestView {
        id: r.id.to_string(),
        organisation_id: r.organisation.to_string(),
        service_id: r.service.to_string(),
        service: service.to_owned(),
        category: r.category.code().into(),
        place: r.place.clone(),
        lon: r.lon,
        lat: r.lat,
        description: r.description.clone(),
        urgency: r.urgency.code().into(),
        origin_kind: r.origin_kind.clone(),
        origin_id: r.origin_id.clone(),
        status: r.status.code().into(),
        answer: r.answer.clone(),
        sent_at: r.created_at.to_rfc3339(),
        acknowledged_at: r.acknowledged_at.map(|t| t.to_rfc3339()),
        answered_at: r.answered_at.map(|t| t.to_rfc3339()),
        version: r.version,
    }
}

/// A request sent, with its link (shown once) when the service has no accounts.
#[derive(Serialize, schemars::JsonSchema)]
pub struct RequestSent {
    request: RequestView,
    link: Option<LinkOnce>,
}

/// GET /api/v1/service-requests
pub async fn requests(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<RequestView> = services::queue(&state, &who, None, false).await?.iter().map(|(r, s)| request_view(r, s)).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/service-requests
pub async fn send_request(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<RequestInput>) -> AppResult<Response> {
    match services::send(&state, &who, ctx.lang, &input, Vec::new()).await? {
        Ok((id, link)) => {
            let p = services::read(&state, &who, &id.to_string(), "api").await?;
            Ok((StatusCode::CREATED, Json(RequestSent { request: request_view(&p.request, &p.service.name), link })).into_response())
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/service-requests/{id}
pub async fn request(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let p = services::read(&state, &who, &id, "api").await?;
    Ok(Json(request_view(&p.request, &p.service.name)).into_response())
}

/// POST /api/v1/service-requests/{id}/answer
pub async fn answer_request(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<AnswerInput>,
) -> AppResult<Response> {
    let (r, s) = services::load(&state, &who, &id, Action::Update).await?;
    match services::answer(&state, &who, ctx.lang, &r, &s, &input).await? {
        Ok(()) => {
            let (r, s) = services::load(&state, &who, &id, Action::Read).await?;
            Ok(Json(request_view(&r, &s.name)).into_response())
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// A logbook entry as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct EntryView {
    id: String,
    organisation_id: String,
    book: String,
    book_id: String,
    at: String,
    category: String,
    body: String,
    for_team_id: Option<String>,
    author_id: Option<String>,
    author: String,
    attachment: Option<String>,
    mentions: Vec<String>,
}

fn entry_view(v: &logbooks::EntryView) -> EntryView {
    let e = &v.entry;
    EntryView {
        id: e.id.to_string(),
        organisation_id: e.organisation.to_string(),
        book: e.book_kind.code().into(),
        book_id: e.book_id.clone(),
        at: e.at.to_rfc3339(),
        category: e.category.code().into(),
        body: e.body.clone(),
        for_team_id: e.for_team.map(|t| t.to_string()),
        author_id: e.author.map(|a| a.to_string()),
        author: e.author_name.clone(),
        attachment: e.attachment.clone(),
        mentions: v.mentions.iter().map(|(u, _)| u.to_string()).collect(),
    }
}

/// A logbook: its handovers first, then its other entries.
#[derive(Serialize, schemars::JsonSchema)]
pub struct BookView {
    book: String,
    id: String,
    name: String,
    handovers: Vec<EntryView>,
    entries: Vec<EntryView>,
}

async fn book(state: &AppState, who: &Authenticated, kind: &str, id: &str) -> AppResult<Response> {
    let b = logbooks::open(state, who, kind, id).await?;
    let p = logbooks::read(state, who, b, &SearchQuery::default()).await?;
    Ok(Json(BookView {
        book: p.book.kind.code().into(),
        id: p.book.id.clone(),
        name: p.book.name.clone(),
        handovers: p.handovers.iter().map(entry_view).collect(),
        entries: p.entries.iter().map(entry_view).collect(),
    })
    .into_response())
}

async fn write(state: &AppState, ctx: PageCtx, who: &Authenticated, kind: &str, id: &str, input: EntryInput) -> AppResult<Response> {
    let b = logbooks::open(state, who, kind, id).await?;
    match logbooks::write(state, who, ctx.lang, &b, &input, None).await? {
        Ok(entry) => {
            let p = logbooks::read(state, who, b, &SearchQuery::default()).await?;
            let found = p.handovers.iter().chain(p.entries.iter()).find(|e| e.entry.id == entry).map(entry_view);
            match found {
                Some(v) => Ok((StatusCode::CREATED, Json(v)).into_response()),
                None => Err(veille_app::Error::not_found().into()),
            }
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/logbooks/team/{id}
pub async fn team_book(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    book(&state, &who, "team", &id).await
}
/// POST /api/v1/logbooks/team/{id}
pub async fn write_team_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<EntryInput>,
) -> AppResult<Response> {
    write(&state, ctx, &who, "team", &id, input).await
}
/// GET /api/v1/logbooks/site/{id}
pub async fn site_book(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    book(&state, &who, "site", &id).await
}
/// POST /api/v1/logbooks/site/{id}
pub async fn write_site_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<EntryInput>,
) -> AppResult<Response> {
    write(&state, ctx, &who, "site", &id, input).await
}
/// GET /api/v1/logbooks/case/{id}
pub async fn case_book(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    book(&state, &who, "case", &id).await
}
/// POST /api/v1/logbooks/case/{id}
pub async fn write_case_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<EntryInput>,
) -> AppResult<Response> {
    write(&state, ctx, &who, "case", &id, input).await
}
/// GET /api/v1/logbooks/facility/{id}
pub async fn facility_book(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    book(&state, &who, "facility", &id).await
}
/// POST /api/v1/logbooks/facility/{id}
pub async fn write_facility_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<EntryInput>,
) -> AppResult<Response> {
    write(&state, ctx, &who, "facility", &id, input).await
}
