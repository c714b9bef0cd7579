//! Site pages: list with filters, new site, the site page (figures over time,
//! observations, history and logbook, closure), the observation form, the map.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use veille_app::sites::{
    self as app, coordinate, field, form_version, version_of, ClosureInput, Event, Move, Observation, ObservationInput, Site, SiteInput, Team, Territory,
    ATMOSPHERES, CLOSURE_REASONS, CONDITIONS, CONDITION_RATINGS, COUNT_FIELDS, DESTINATIONS, KINDS, LAND_OWNERS,
};
use veille_domain::{Action, Timestamp};

use super::chart::{chart, Chart};
use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::pager::Pager;
use crate::AppState;

/// List filters.
#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    territory: String,
    /// Only sites not seen for this many days.
    #[serde(default)]
    stale: String,
    /// The page (1 for the first).
    #[serde(default)]
    page: String,
}

/// The application's filter of the list's query (the list and its export).
pub(crate) fn list_filter(q: &ListQuery) -> app::ListFilter {
    let nonempty = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    app::ListFilter {
        kind: nonempty(&q.kind),
        status: nonempty(&q.status),
        territory: q.territory.parse().ok(),
        stale_days: q.stale.parse::<i64>().ok().filter(|d| *d > 0),
    }
}

/// The list's filters as hidden fields of its export form.
pub(crate) fn list_hidden(q: &ListQuery) -> Vec<(String, String)> {
    [("kind", &q.kind), ("status", &q.status), ("territory", &q.territory), ("stale", &q.stale)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect()
}

/// A line of the list.
pub struct Line {
    site: Site,
    territory: String,
    last: Option<Timestamp>,
    age: &'static str,
    people: Option<i64>,
}

#[derive(Template)]
#[template(path = "sites/list.html")]
struct ListPage {
    ctx: PageCtx,
    lines: Vec<Line>,
    /// "N lieux de vie, par nom."
    total: String,
    pager: Pager,
    q: ListQuery,
    kinds: Vec<&'static str>,
    territories: Vec<Territory>,
    can_create: bool,
    /// The "Exporter" form.
    export: crate::exports::ExportForm,
}

/// GET /sites
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let filter = list_filter(&q);
    let paged = app::page_of_sites(&state, &who, &filter, veille_app::paging::page_number(&q.page)).await?;
    let pager = Pager::new(&ctx, &paged, "/sites", "page", &list_hidden(&q), "");
    let total = ctx.tn("site.list.total", paged.total);
    let lines = paged
        .items
        .into_iter()
        .map(|l| Line { people: l.latest.map(|f| f.people), site: l.site, territory: l.territory, last: l.last_seen, age: l.age })
        .collect();
    let export = crate::exports::ExportForm::new(&who, &ctx, veille_app::exports::List::Sites, list_hidden(&q));
    let (territories, can_create) = (app::territories(&state).await?, app::can_create(&who));
    Ok(render(&ListPage { ctx, lines, total, pager, q, kinds: KINDS.to_vec(), territories, can_create, export }))
}

/// The new-site form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct SiteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    land_owner: String,
}

#[derive(Template)]
#[template(path = "sites/new.html")]
struct NewPage {
    ctx: PageCtx,
    form: SiteForm,
    errors: FieldErrors,
    kinds: Vec<&'static str>,
    land_owners: Vec<&'static str>,
}

/// GET /sites/new
pub async fn new_form(ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    app::gate(&who)?;
    Ok(render(&NewPage {
        ctx,
        form: SiteForm { land_owner: "unknown".into(), ..Default::default() },
        errors: FieldErrors::new(),
        kinds: KINDS.to_vec(),
        land_owners: LAND_OWNERS.to_vec(),
    }))
}

/// POST /sites
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<SiteForm>) -> AppResult<Response> {
    let input = SiteInput {
        name: form.name.clone(),
        kind: form.kind.clone(),
        lon: coordinate(&form.lon),
        lat: coordinate(&form.lat),
        outline: None,
        address: form.address.clone(),
        land_owner: form.land_owner.clone(),
    };
    match app::create_site(&state, &who, ctx.lang, &input).await? {
        Ok(site) => Ok(see_other(&format!("/sites/{}", site.id))),
        Err(errors) => {
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &NewPage { ctx, form, errors, kinds: KINDS.to_vec(), land_owners: LAND_OWNERS.to_vec() }))
        }
    }
}

#[derive(Template)]
#[template(path = "sites/map.html")]
struct MapPage {
    ctx: PageCtx,
}

/// GET /sites/map
pub async fn map(ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    app::gate(&who)?;
    Ok(render(&MapPage { ctx }))
}

/// GET /sites.geojson: readable active sites as points, with the age class
/// of their last sighting (no counts, no comments).
pub async fn geojson(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let body = app::map(&state, &who).await?;
    Ok(([(CONTENT_TYPE, "application/geo+json")], body.to_string()).into_response())
}

/// Drafts typed on the site page.
#[derive(Default, Clone)]
pub struct Drafts {
    log: String,
    close: Vec<(String, String)>,
    edit: Vec<(String, String)>,
}

impl Drafts {
    fn close_value(&self, name: &str) -> String {
        field(&self.close, name)
    }
}

#[derive(Template)]
#[template(path = "sites/show.html")]
struct ShowPage {
    ctx: PageCtx,
    site: Site,
    territory: String,
    organisation: String,
    last: Option<Timestamp>,
    age: &'static str,
    observations: Vec<(Observation, String, String)>,
    charts: Vec<Chart>,
    events: Vec<Event>,
    logbook: Vec<veille_app::neighbourhood::logbooks::EntryView>,
    left: Vec<Move>,
    arrived: Vec<Move>,
    others: Vec<Site>,
    panel: Vec<PanelEntry>,
    can_observe: bool,
    can_close: bool,
    errors: FieldErrors,
    drafts: Drafts,
    reasons: Vec<&'static str>,
    destinations: Vec<&'static str>,
    kinds: Vec<&'static str>,
    land_owners: Vec<&'static str>,
    /// Conflicts of offline changes of the site waiting for a coordinator (its badge).
    sync_conflicts: i64,
    /// The heatwave flag's version, the base of a change sent through the outbox (decision 90).
    heatwave_base: veille_domain::sync::Version,
}

impl ShowPage {
    /// The heatwave flag's base version: the operation that made it (empty: a page or none).
    fn heatwave_base_by(&self) -> String {
        self.heatwave_base.by.map(|o| o.to_string()).unwrap_or_default()
    }
    /// The place as typed in the edit form, or as stored.
    fn place(&self, name: &str) -> String {
        if !self.drafts.edit.is_empty() {
            return field(&self.drafts.edit, name);
        }
        match name {
            "name" => self.site.name.clone(),
            "kind" => self.site.kind.clone(),
            "lat" => self.site.lat.to_string(),
            "lon" => self.site.lon.to_string(),
            "address" => self.site.address.clone(),
            _ => self.site.land_owner.clone(),
        }
    }
    fn event_value(&self, e: &Event, v: &Option<String>) -> String {
        match (e.kind.as_str(), v) {
            ("status" | "created", Some(v)) => self.ctx.label("site.status", v),
            ("heatwave", Some(v)) => self.ctx.label("site.heatwave_state", v),
            (_, Some(v)) => v.clone(),
            _ => String::new(),
        }
    }
}

async fn show_page(state: &AppState, ctx: PageCtx, who: &Authenticated, site: Site, errors: FieldErrors, drafts: Drafts) -> AppResult<ShowPage> {
    let res = app::resource_of(state, &site).await?;
    let d = app::detail(state, who, &site).await?;
    let obs: Vec<Observation> = d.observations.iter().map(|o| o.observation.clone()).collect();
    let charts = app::series(&obs).iter().map(|s| chart(s.key, &format!("site.figure.{}", s.key), &s.values)).collect();
    let observations = d.observations.into_iter().rev().map(|o| (o.observation, o.organisation, o.team)).collect();
    Ok(ShowPage {
        territory: d.territory,
        organisation: d.organisation,
        age: d.age,
        last: d.last_seen,
        observations,
        charts,
        events: d.history,
        logbook: d.logbook,
        left: d.left,
        arrived: d.arrived,
        others: d.others,
        panel: who_can_read(&state.db, &who.actor, &res).await?,
        can_observe: who.can(Action::Update, &res).allowed,
        can_close: who.can(Action::Delete, &res).allowed,
        errors,
        drafts,
        reasons: CLOSURE_REASONS.to_vec(),
        destinations: DESTINATIONS.to_vec(),
        kinds: KINDS.to_vec(),
        land_owners: LAND_OWNERS.to_vec(),
        sync_conflicts: veille_app::sync::open_on(state, "site", &site.id.to_string()).await?,
        heatwave_base: veille_app::sync::base_of(
            state,
            "site",
            &site.id.to_string(),
            "heatwave",
            &veille_domain::sync::FieldValue::text(if site.heatwave { "on" } else { "off" }),
        )
        .await?,
        ctx,
        site,
    })
}

async fn refused(state: &AppState, ctx: PageCtx, who: &Authenticated, site: Site, errors: FieldErrors, drafts: Drafts) -> AppResult<Response> {
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &show_page(state, ctx, who, site, errors, drafts).await?))
}

/// GET /sites/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (site, _) = app::read_site(&state, &who, &id, None).await?;
    Ok(render(&show_page(&state, ctx, &who, site, FieldErrors::new(), Drafts::default()).await?))
}

#[derive(Template)]
#[template(path = "sites/observation.html")]
struct ObservationPage {
    ctx: PageCtx,
    site: Site,
    values: Vec<(String, String)>,
    errors: FieldErrors,
    teams: Vec<Team>,
    counts: Vec<&'static str>,
    conditions: Vec<&'static str>,
    ratings: Vec<&'static str>,
    atmospheres: Vec<&'static str>,
}

impl ObservationPage {
    fn value(&self, name: &str) -> String {
        self.values.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
    fn selected(&self, name: &str, option: &str) -> bool {
        let v = self.value(name);
        v == option || (v.is_empty() && option == "unknown")
    }
}

/// Query of the observation form: the round it is made on.
#[derive(Deserialize, Default)]
pub struct ObservationQuery {
    #[serde(default)]
    round: String,
}

fn observation_page(ctx: PageCtx, site: Site, values: Vec<(String, String)>, errors: FieldErrors, teams: Vec<Team>) -> ObservationPage {
    ObservationPage {
        ctx,
        site,
        values,
        errors,
        teams,
        counts: COUNT_FIELDS.to_vec(),
        conditions: CONDITIONS.to_vec(),
        ratings: CONDITION_RATINGS.to_vec(),
        atmospheres: ATMOSPHERES.to_vec(),
    }
}

/// GET /sites/{id}/observations/new
pub async fn observation_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<ObservationQuery>,
) -> AppResult<Response> {
    let (site, _) = app::load_site(&state, &who, &id, Action::Update).await?;
    let mut values = vec![("observed_at".to_owned(), state.clock.now().to_paris_input())];
    if let Some((round, team)) = app::observation_round(&state, &who, &q.round).await? {
        values.push(("round_id".into(), round.to_string()));
        values.push(("team_id".into(), team.to_string()));
    }
    let teams = app::observation_teams(&state, &who).await?;
    Ok(render(&observation_page(ctx, site, values, FieldErrors::new(), teams)))
}

/// POST /sites/{id}/observations
pub async fn observe(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (site, _) = app::load_site(&state, &who, &id, Action::Update).await?;
    let input = ObservationInput::from_form(&pairs);
    match app::record_observation(&state, &who, ctx.lang, &site, &input).await? {
        Ok((_, o)) => Ok(see_other(&match o.round {
            Some(r) => format!("/rounds/{r}"),
            None => format!("/sites/{}", site.id),
        })),
        Err(errors) => {
            let teams = app::observation_teams(&state, &who).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &observation_page(ctx, site, pairs, errors, teams)))
        }
    }
}

/// A form that only carries the version read.
#[derive(Deserialize, Default)]
pub struct VersionInput {
    #[serde(default)]
    version: String,
    #[serde(default)]
    back: String,
}

/// POST /sites/{id}/confirm: "confirmed unchanged" dates the last check.
pub async fn confirm(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<VersionInput>) -> AppResult<Response> {
    let (site, _) = app::load_site(&state, &who, &id, Action::Update).await?;
    app::confirm_unchanged(&state, &who, &site, version_of(&input.version)).await?;
    // Back to the round the check was made on, if it came from one of ours.
    let back = if input.back.starts_with("/rounds/") && !input.back.contains("//") { input.back.clone() } else { format!("/sites/{}", site.id) };
    Ok(see_other(&back))
}

/// A logbook entry.
#[derive(Deserialize, Default)]
pub struct LogInput {
    #[serde(default)]
    body: String,
}

/// POST /sites/{id}/log
pub async fn log(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<LogInput>) -> AppResult<Response> {
    let (site, _) = app::load_site(&state, &who, &id, Action::Update).await?;
    match app::add_log_entry(&state, &who, ctx.lang, &site, &input.body).await? {
        Ok(()) => Ok(see_other(&format!("/sites/{}#logbook", site.id))),
        Err(errors) => refused(&state, ctx, &who, site, errors, Drafts { log: input.body, ..Default::default() }).await,
    }
}

/// The heatwave switch.
#[derive(Deserialize, Default)]
pub struct HeatwaveInput {
    #[serde(default)]
    on: String,
    #[serde(default)]
    version: String,
}

/// POST /sites/{id}/heatwave: raises or lowers the heatwave / great-cold watch.
pub async fn heatwave(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<HeatwaveInput>) -> AppResult<Response> {
    let (site, _) = app::load_site(&state, &who, &id, Action::Update).await?;
    app::set_heatwave(&state, &who, &site, input.on == "1", version_of(&input.version)).await?;
    Ok(see_other(&format!("/sites/{}", site.id)))
}

/// POST /sites/{id}/close
pub async fn close(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (site, _) = app::load_site(&state, &who, &id, Action::Delete).await?;
    match app::close_site(&state, &who, ctx.lang, &site, &ClosureInput::from_form(&pairs), form_version(&pairs)).await? {
        Ok(()) => Ok(see_other(&format!("/sites/{}", site.id))),
        Err(errors) => refused(&state, ctx, &who, site, errors, Drafts { close: pairs, ..Default::default() }).await,
    }
}

/// POST /sites/{id}/edit: the place itself, corrected by the coordinators who may close it.
pub async fn edit(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (site, _) = app::load_site(&state, &who, &id, Action::Delete).await?;
    match app::edit_place(&state, &who, ctx.lang, &site, &SiteInput::from_form(&pairs), form_version(&pairs)).await? {
        Ok(()) => Ok(see_other(&format!("/sites/{}", site.id))),
        Err(errors) => refused(&state, ctx, &who, site, errors, Drafts { edit: pairs, ..Default::default() }).await,
    }
}

/// POST /sites/{id}/reopen
pub async fn reopen(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<VersionInput>) -> AppResult<Response> {
    let (site, _) = app::load_site(&state, &who, &id, Action::Delete).await?;
    app::reopen_site(&state, &who, &site, version_of(&input.version)).await?;
    Ok(see_other(&format!("/sites/{}", site.id)))
}
