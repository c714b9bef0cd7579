//! The JSON API of sites: `/api/v1/sites`, a site with its observations, new
//! sites and observations. Same validation, access and audit as the pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use veille_app::sites::{self as app, age_class, Figures, Observation, ObservationInput, Site, SiteInput};
use veille_domain::Action;

use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::page::PageCtx;
use crate::AppState;

/// A site as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct SiteView {
    id: String,
    organisation_id: String,
    name: String,
    kind: String,
    lon: f64,
    lat: f64,
    address: String,
    territory_id: Option<String>,
    land_owner: String,
    status: String,
    heatwave: bool,
    closure_reason: Option<String>,
    /// Last observation, "confirmed unchanged" or visited stop (RFC 3339).
    last_seen: Option<String>,
    /// `week`, `month`, `older`, `never`.
    age: String,
    /// Figures of the latest observation.
    latest: Option<Figures>,
    version: i64,
}

impl SiteView {
    fn of(s: &Site, last: Option<veille_domain::Timestamp>, now: veille_domain::Timestamp, latest: Option<Figures>) -> Self {
        Self {
            id: s.id.to_string(),
            organisation_id: s.organisation.to_string(),
            name: s.name.clone(),
            kind: s.kind.clone(),
            lon: s.lon,
            lat: s.lat,
            address: s.address.clone(),
            territory_id: s.territory.map(|t| t.to_string()),
            land_owner: s.land_owner.clone(),
            status: s.status.clone(),
            heatwave: s.heatwave,
            closure_reason: s.closure_reason.clone(),
            last_seen: last.map(|t| t.to_rfc3339()),
            age: age_class(last, now).to_owned(),
            latest,
            version: s.version,
        }
    }
}

/// An observation as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ObservationView {
    id: String,
    site_id: String,
    observed_at: String,
    organisation_id: String,
    team_id: Option<String>,
    round_id: Option<String>,
    figures: Figures,
    /// Condition code → rating code.
    conditions: std::collections::BTreeMap<String, String>,
    /// The worst known rating.
    overall: String,
    atmosphere: String,
    police_presence: bool,
    comment: String,
}

impl From<&Observation> for ObservationView {
    fn from(o: &Observation) -> Self {
        Self {
            id: o.id.to_string(),
            site_id: o.site.to_string(),
            observed_at: o.observed_at.to_rfc3339(),
            organisation_id: o.organisation.to_string(),
            team_id: o.team.map(|t| t.to_string()),
            round_id: o.round.map(|r| r.to_string()),
            figures: o.figures.clone(),
            conditions: o.conditions.iter().cloned().collect(),
            overall: o.overall.clone(),
            atmosphere: o.atmosphere.clone(),
            police_presence: o.police_presence,
            comment: o.comment.clone(),
        }
    }
}

/// A history entry as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct EventView {
    at: String,
    kind: String,
    from: Option<String>,
    to: Option<String>,
    body: String,
}

/// A site with its observations and history.
#[derive(Serialize, schemars::JsonSchema)]
pub struct SiteDetail {
    site: SiteView,
    observations: Vec<ObservationView>,
    history: Vec<EventView>,
}

/// GET /api/v1/sites
pub async fn list(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let now = state.clock.now();
    let out: Vec<SiteView> =
        app::list_sites(&state, &who, &app::ListFilter::default()).await?.into_iter().map(|l| SiteView::of(&l.site, l.last_seen, now, l.latest)).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/sites
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<SiteInput>) -> AppResult<Response> {
    match app::create_site(&state, &who, ctx.lang, &input).await? {
        Ok(site) => Ok((StatusCode::CREATED, Json(SiteView::of(&site, None, state.clock.now(), None))).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/sites/{id} (an audited read)
pub async fn show(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (site, _) = app::read_site(&state, &who, &id, Some("api")).await?;
    let obs = app::observations(&state, &who, site.id).await?;
    let last = app::last_seen(&state, &who, &[site.id]).await?.get(&site.id).copied();
    let detail = SiteDetail {
        site: SiteView::of(&site, last, state.clock.now(), obs.last().map(|o| o.figures.clone())),
        observations: obs.iter().map(ObservationView::from).collect(),
        history: app::history(&state, &site)
            .await?
            .into_iter()
            .map(|e| EventView { at: e.at.to_rfc3339(), kind: e.kind, from: e.from, to: e.to, body: e.detail })
            .collect(),
    };
    Ok(Json(detail).into_response())
}

/// POST /api/v1/sites/{id}/observations
pub async fn observe(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ObservationInput>,
) -> AppResult<Response> {
    let (site, _) = app::load_site(&state, &who, &id, Action::Update).await?;
    match app::record_observation(&state, &who, ctx.lang, &site, &input).await? {
        Ok((oid, _)) => {
            let saved = app::observation(&state, &who, site.id, oid).await?;
            Ok((StatusCode::CREATED, Json(saved.as_ref().map(ObservationView::from))).into_response())
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}
