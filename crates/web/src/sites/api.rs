//! The JSON API of sites: `/api/v1/sites`, a site with its observations, new
//! sites and observations. Same validation, access and audit as the pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use veille_domain::{Action, Resource, ResourceKind};
use veille_storage::sites::{self, Figures, Observation, Site};
use veille_storage::audit;

use super::{age_class, entry, gate, load, readable, validate_observation, validate_site, ObservationInput, SiteInput};
use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::i18n::Lang;
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
    gate(&who)?;
    let now = state.clock.now();
    let (list, seen) = readable(&state, &who).await?;
    let mut out = Vec::new();
    for s in &list {
        let latest = sites::last_observation(&state.db, s.id).await?.map(|o| o.figures);
        out.push(SiteView::of(s, seen.get(&s.id).copied(), now, latest));
    }
    Ok(Json(out).into_response())
}

/// Validates and records a new site, audited; the form and the API share it.
pub async fn create_site(state: &AppState, who: &Authenticated, lang: Lang, input: &SiteInput) -> AppResult<Result<Site, FieldErrors>> {
    let new = match validate_site(state, lang, input, who.account.organisation).await? {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    // The new site is placed where it will lie: the account must be allowed
    // to create a site there (its territories).
    who.require(Action::Create, &Resource::new(ResourceKind::Site).owned_by(who.account.organisation).in_territory(new.territory))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = sites::create(&mut tx, &new, who.account.id, now).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "create", "site", id, who.account.organisation).with_detail(serde_json::json!({"kind": new.kind, "territory": new.territory.map(|t| t.to_string())})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(sites::get(&state.db, id).await?))
}

/// POST /api/v1/sites
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<SiteInput>) -> AppResult<Response> {
    let lang = ctx.lang;
    gate(&who)?;
    match create_site(&state, &who, lang, &input).await? {
        Ok(site) => Ok((StatusCode::CREATED, Json(SiteView::of(&site, None, state.clock.now(), None))).into_response()),
        Err(errors) => Ok(invalid(lang, &errors)),
    }
}

/// GET /api/v1/sites/{id} (an audited read)
pub async fn show(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (site, _) = load(&state, &who, &id, Action::Read).await?;
    audit::append_now(&state.db, entry(&who, state.clock.now(), "read", &site, serde_json::json!({"via": "api"}))).await?;
    let obs = sites::observations(&state.db, site.id).await?;
    let seen = sites::last_seen(&state.db).await?;
    let detail = SiteDetail {
        site: SiteView::of(&site, seen.get(&site.id).copied(), state.clock.now(), obs.last().map(|o| o.figures.clone())),
        observations: obs.iter().map(ObservationView::from).collect(),
        history: sites::events(&state.db, site.id)
            .await?
            .into_iter()
            .map(|e| EventView { at: e.at.to_rfc3339(), kind: e.kind, from: e.from, to: e.to, body: e.detail })
            .collect(),
    };
    Ok(Json(detail).into_response())
}

/// POST /api/v1/sites/{id}/observations
pub async fn observe(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, JsonBody(input): JsonBody<ObservationInput>) -> AppResult<Response> {
    let lang = ctx.lang;
    let (site, _) = load(&state, &who, &id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    let Some(o) = validate_observation(&state, &who, lang, &site, &input, &mut errors).await?.filter(|_| errors.is_empty()) else {
        return Ok(invalid(lang, &errors));
    };
    let oid = super::record_observation(&state, &who, &site, &o).await?;
    let saved = sites::observations(&state.db, site.id).await?.into_iter().find(|x| x.id == oid);
    Ok((StatusCode::CREATED, Json(saved.as_ref().map(ObservationView::from))).into_response())
}
