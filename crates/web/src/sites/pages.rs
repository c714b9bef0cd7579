//! Site pages: list with filters, new site, the site page (figures over time,
//! observations, history and logbook, closure), the observation form, the map.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use veille_domain::{Action, SiteId, TerritoryId, Timestamp};
use veille_storage::timeline::Event;
use veille_storage::sites::{self, Destination, Observation, Site, ATMOSPHERES, CLOSURE_REASONS, CONDITIONS, CONDITION_RATINGS, DESTINATIONS, KINDS, LAND_OWNERS};
use veille_storage::territories::{self, Territory};
use veille_storage::{audit, organisations, teams};

use super::chart::{chart, Chart};
use super::{age_class, entry, gate, load, readable, resource, validate_closure, validate_observation, validate_site, ObservationInput, SiteInput, COUNT_FIELDS};
use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
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
    q: ListQuery,
    kinds: Vec<&'static str>,
    territories: Vec<Territory>,
    can_create: bool,
}

fn territory_name(all: &[Territory], id: Option<TerritoryId>) -> String {
    id.and_then(|id| all.iter().find(|t| t.id == id)).map(|t| t.name.clone()).unwrap_or_default()
}

/// GET /sites
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<ListQuery>) -> AppResult<Response> {
    gate(&who)?;
    let now = state.clock.now();
    let all_territories = territories::list(&state.db).await?;
    let (list, seen) = readable(&state, &who).await?;
    let stale = q.stale.parse::<i64>().ok().filter(|d| *d > 0);
    let territory = q.territory.parse::<TerritoryId>().ok();
    let mut lines = Vec::new();
    for s in list {
        if (!q.kind.is_empty() && s.kind != q.kind) || (!q.status.is_empty() && s.status != q.status) || (territory.is_some() && s.territory != territory) {
            continue;
        }
        let last = seen.get(&s.id).copied();
        if let Some(days) = stale {
            if last.is_some_and(|t| t.seconds_until(now) < days * 86_400) {
                continue;
            }
        }
        let people = sites::last_observation(&state.db, s.id).await?.map(|o| o.figures.people);
        lines.push(Line { territory: territory_name(&all_territories, s.territory), age: age_class(last, now), last, people, site: s });
    }
    let can_create = who.can(Action::Create, &veille_domain::Resource::new(veille_domain::ResourceKind::Site).owned_by(who.account.organisation)).allowed;
    Ok(render(&ListPage { ctx, lines, q, kinds: KINDS.to_vec(), territories: all_territories, can_create }))
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

fn coordinate(text: &str) -> Option<f64> {
    text.trim().replace(',', ".").parse().ok()
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
    gate(&who)?;
    Ok(render(&NewPage { ctx, form: SiteForm { land_owner: "unknown".into(), ..Default::default() }, errors: FieldErrors::new(), kinds: KINDS.to_vec(), land_owners: LAND_OWNERS.to_vec() }))
}

/// POST /sites
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<SiteForm>) -> AppResult<Response> {
    gate(&who)?;
    let input = SiteInput {
        name: form.name.clone(),
        kind: form.kind.clone(),
        lon: coordinate(&form.lon),
        lat: coordinate(&form.lat),
        outline: None,
        address: form.address.clone(),
        land_owner: form.land_owner.clone(),
    };
    match super::api::create_site(&state, &who, ctx.lang, &input).await? {
        Ok(site) => Ok(see_other(&format!("/sites/{}", site.id))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &NewPage { ctx, form, errors, kinds: KINDS.to_vec(), land_owners: LAND_OWNERS.to_vec() })),
    }
}

#[derive(Template)]
#[template(path = "sites/map.html")]
struct MapPage {
    ctx: PageCtx,
}

/// GET /sites/map
pub async fn map(ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    gate(&who)?;
    Ok(render(&MapPage { ctx }))
}

/// GET /sites.geojson: readable sites as points, with the age class of their
/// last sighting (no counts, no comments).
pub async fn geojson(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    gate(&who)?;
    let now = state.clock.now();
    let (list, seen) = readable(&state, &who).await?;
    let features: Vec<serde_json::Value> = list
        .iter()
        .filter(|s| s.status == "active")
        .map(|s| {
            let last = seen.get(&s.id).copied();
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                "properties": {
                    "id": s.id.to_string(), "name": s.name, "kind": s.kind, "age": age_class(last, now),
                    "last_seen": last.map(|t| t.to_rfc3339()), "url": format!("/sites/{}", s.id),
                },
            })
        })
        .collect();
    let body = serde_json::json!({"type": "FeatureCollection", "features": features});
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
        super::field(&self.close, name)
    }
}

/// A site link shown on the page ("people moved from A to B").
pub struct Move {
    destination: Destination,
    other: Option<(SiteId, String)>,
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
}

impl ShowPage {
    /// The place as typed in the edit form, or as stored.
    fn place(&self, name: &str) -> String {
        if !self.drafts.edit.is_empty() {
            return super::field(&self.drafts.edit, name);
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
    let now = state.clock.now();
    let coordinating = crate::reports::coordinating_organisation(state).await?;
    let res = resource(&site, coordinating);
    let all_territories = territories::list(&state.db).await?;
    let orgs = organisations::list(&state.db).await?;
    let org_name = |id| orgs.iter().find(|o| o.id == id).map(|o| o.name.clone()).unwrap_or_default();
    let all_teams = teams::list(&state.db, None).await?;
    let obs = sites::observations(&state.db, site.id).await?;
    let series = |key: &str, f: &dyn Fn(&Observation) -> i64| chart(key, &format!("site.figure.{key}"), &obs.iter().map(|o| (o.observed_at, f(o))).collect::<Vec<_>>());
    let charts = if obs.is_empty() {
        Vec::new()
    } else {
        vec![
            series("people", &|o| o.figures.people),
            series("women", &|o| o.figures.women),
            series("minors", &|o| o.figures.minors()),
            series("tents", &|o| o.figures.tents),
            series("huts", &|o| o.figures.huts),
            series("vehicles", &|o| o.figures.vehicles),
            series("material_collected", &|o| o.figures.material_collected),
        ]
    };
    let observations = obs
        .into_iter()
        .rev()
        .map(|o| {
            let team = o.team.and_then(|t| all_teams.iter().find(|x| x.id == t)).map(|t| t.name.clone()).unwrap_or_default();
            let org = org_name(o.organisation);
            (o, org, team)
        })
        .collect();
    let (left, arrived) = sites::moves(&state.db, site.id).await?;
    let (readable_sites, seen) = super::readable(state, who).await?;
    let name_of = |id: Option<SiteId>| id.and_then(|id| readable_sites.iter().find(|s| s.id == id)).map(|s| (s.id, s.name.clone()));
    let left = left.into_iter().map(|d| Move { other: name_of(d.to_site), destination: d }).collect();
    let arrived = arrived.into_iter().map(|d| Move { other: name_of(Some(d.site)), destination: d }).collect();
    let last = seen.get(&site.id).copied();
    let others = readable_sites.iter().filter(|s| s.id != site.id && s.status == "active").cloned().collect();
    Ok(ShowPage {
        territory: territory_name(&all_territories, site.territory),
        organisation: org_name(site.organisation),
        age: age_class(last, now),
        last,
        observations,
        charts,
        events: sites::events(&state.db, site.id).await?,
        left,
        arrived,
        others,
        panel: who_can_read(&state.db, &res).await?,
        can_observe: who.can(Action::Update, &res).allowed,
        can_close: who.can(Action::Delete, &res).allowed,
        errors,
        drafts,
        reasons: CLOSURE_REASONS.to_vec(),
        destinations: DESTINATIONS.to_vec(),
        kinds: KINDS.to_vec(),
        land_owners: LAND_OWNERS.to_vec(),
        ctx,
        site,
    })
}

/// GET /sites/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (site, _) = load(&state, &who, &id, Action::Read).await?;
    audit::append_now(&state.db, entry(&who, state.clock.now(), "read", &site, serde_json::json!({}))).await?;
    Ok(render(&show_page(&state, ctx, &who, site, FieldErrors::new(), Drafts::default()).await?))
}

#[derive(Template)]
#[template(path = "sites/observation.html")]
struct ObservationPage {
    ctx: PageCtx,
    site: Site,
    values: Vec<(String, String)>,
    errors: FieldErrors,
    teams: Vec<veille_storage::teams::Team>,
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

/// The teams of the account's organisation it belongs to first, then the others.
async fn own_teams(state: &AppState, who: &Authenticated) -> AppResult<Vec<veille_storage::teams::Team>> {
    let mut mine = Vec::new();
    let mut rest = Vec::new();
    for t in teams::list(&state.db, Some(who.account.organisation)).await? {
        if teams::members(&state.db, t.id).await?.contains(&who.account.id) {
            mine.push(t);
        } else {
            rest.push(t);
        }
    }
    mine.extend(rest);
    Ok(mine)
}

/// Query of the observation form: the round it is made on.
#[derive(Deserialize, Default)]
pub struct ObservationQuery {
    #[serde(default)]
    round: String,
}

fn observation_page(ctx: PageCtx, site: Site, values: Vec<(String, String)>, errors: FieldErrors, teams: Vec<veille_storage::teams::Team>) -> ObservationPage {
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
pub async fn observation_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Query(q): Query<ObservationQuery>) -> AppResult<Response> {
    let (site, _) = load(&state, &who, &id, Action::Update).await?;
    let mut values = vec![("observed_at".to_owned(), state.clock.now().to_paris_input())];
    if let Ok(round) = q.round.parse() {
        if let Ok(r) = veille_storage::rounds::get_round(&state.db, round).await {
            if r.organisation == who.account.organisation {
                values.push(("round_id".into(), r.id.to_string()));
                values.push(("team_id".into(), r.team.to_string()));
            }
        }
    }
    let teams = own_teams(&state, &who).await?;
    Ok(render(&observation_page(ctx, site, values, FieldErrors::new(), teams)))
}

/// POST /sites/{id}/observations
pub async fn observe(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let (site, _) = load(&state, &who, &id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    let input = ObservationInput::from_form(&pairs, ctx.lang, &mut errors);
    let valid = validate_observation(&state, &who, ctx.lang, &site, &input, &mut errors).await?;
    let Some(o) = valid.filter(|_| errors.is_empty()) else {
        let teams = own_teams(&state, &who).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &observation_page(ctx, site, pairs, errors, teams)));
    };
    super::record_observation(&state, &who, &site, &o).await?;
    Ok(see_other(&match o.round {
        Some(r) => format!("/rounds/{r}"),
        None => format!("/sites/{}", site.id),
    }))
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
    let (site, _) = load(&state, &who, &id, Action::Update).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sites::confirm_unchanged(&mut tx, &site, who.account.id, who.account.organisation, input.version.parse().unwrap_or(-1), now).await?;
    audit::append(&mut tx, entry(&who, now, "update", &site, serde_json::json!({"field": "confirmed_unchanged"}))).await?;
    tx.commit().await?;
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
    let (site, _) = load(&state, &who, &id, Action::Update).await?;
    let body = input.body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        let mut errors = FieldErrors::new();
        errors.add("log", ctx.t("site.error.log"));
        let p = show_page(&state, ctx, &who, site, errors, Drafts { log: input.body.clone(), ..Default::default() }).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sites::add_event(&mut tx, site.id, now, Some(who.account.id), Some(who.account.organisation), "log", None, None, body).await?;
    audit::append(&mut tx, entry(&who, now, "update", &site, serde_json::json!({"field": "logbook"}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/sites/{}#logbook", site.id)))
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
    let (site, _) = load(&state, &who, &id, Action::Update).await?;
    let on = input.on == "1";
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sites::set_heatwave(&mut tx, &site, on, who.account.id, who.account.organisation, input.version.parse().unwrap_or(-1), now).await?;
    audit::append(&mut tx, entry(&who, now, "update", &site, serde_json::json!({"field": "heatwave", "to": on}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/sites/{}", site.id)))
}

/// POST /sites/{id}/close
pub async fn close(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let (site, _) = load(&state, &who, &id, Action::Delete).await?;
    let mut errors = FieldErrors::new();
    let closure = validate_closure(&state, &who, ctx.lang, &site, &pairs, &mut errors).await?;
    let Some(c) = closure else {
        let p = show_page(&state, ctx, &who, site, errors, Drafts { close: pairs, ..Default::default() }).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    };
    let version = super::form_version(&pairs);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sites::close(&mut tx, &site, &c.reason, &c.destinations, who.account.id, who.account.organisation, version, now).await?;
    let moved: Vec<_> = c.destinations.iter().map(|(d, n, to)| serde_json::json!({"destination": d, "people": n, "to_site": to.map(|s| s.to_string())})).collect();
    audit::append(&mut tx, entry(&who, now, "update", &site, serde_json::json!({"field": "status", "to": "ended", "reason": c.reason, "destinations": moved}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/sites/{}", site.id)))
}

/// POST /sites/{id}/edit: the place itself, corrected by the coordinators who may close it.
pub async fn edit(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let (site, _) = load(&state, &who, &id, Action::Delete).await?;
    let f = |k: &str| super::field(&pairs, k);
    let input = SiteInput { name: f("name"), kind: f("kind"), lon: coordinate(&f("lon")), lat: coordinate(&f("lat")), outline: site.outline.clone(), address: f("address"), land_owner: f("land_owner") };
    let place = match validate_site(&state, ctx.lang, &input, site.organisation).await? {
        Ok(p) => p,
        Err(errors) => {
            let p = show_page(&state, ctx, &who, site, errors, Drafts { edit: pairs, ..Default::default() }).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
        }
    };
    // Moved elsewhere, it must still be a place this account may edit.
    let moved = super::resource(&Site { territory: place.territory, ..site.clone() }, crate::reports::coordinating_organisation(&state).await?);
    who.require(Action::Delete, &moved)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sites::update_place(&mut tx, &site, &place, who.account.id, who.account.organisation, super::form_version(&pairs), now).await?;
    audit::append(&mut tx, entry(&who, now, "update", &site, serde_json::json!({"field": "place", "territory": place.territory.map(|t| t.to_string())}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/sites/{}", site.id)))
}

/// POST /sites/{id}/reopen
pub async fn reopen(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<VersionInput>) -> AppResult<Response> {
    let (site, _) = load(&state, &who, &id, Action::Delete).await?;
    if site.status != "ended" {
        return Ok(see_other(&format!("/sites/{}", site.id)));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sites::reopen(&mut tx, &site, who.account.id, who.account.organisation, input.version.parse().unwrap_or(-1), now).await?;
    audit::append(&mut tx, entry(&who, now, "update", &site, serde_json::json!({"field": "status", "to": "active"}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/sites/{}", site.id)))
}
