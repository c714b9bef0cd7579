//! Circuits: the ordered stops (sites or named points) of a team's maraude,
//! on a map. Part of the shared schedule: read by every organisation that
//! goes out, changed by the coordinators of the team's organisation.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{Action, SiteId};
use veille_storage::rounds::{self, Circuit, CircuitStop};
use veille_storage::sites::Site;
use veille_storage::{audit, teams};

use super::{load_circuit, schedule_gate, schedule_resource};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

#[derive(Template)]
#[template(path = "rounds/circuits.html")]
struct ListPage {
    ctx: PageCtx,
    circuits: Vec<(Circuit, String, String, usize)>,
    teams: Vec<teams::Team>,
    can_create: bool,
    form: CircuitInput,
    errors: FieldErrors,
}

/// A new circuit.
#[derive(Deserialize, Default, Clone)]
pub struct CircuitInput {
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    name: String,
}

async fn list_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: CircuitInput, errors: FieldErrors) -> AppResult<ListPage> {
    let all_teams = teams::list(&state.db, None).await?;
    let orgs = veille_storage::organisations::list(&state.db).await?;
    let mut circuits = Vec::new();
    for c in rounds::circuits(&state.db).await? {
        if !who.can(Action::Read, &schedule_resource(c.organisation)).allowed {
            continue;
        }
        let team = all_teams.iter().find(|t| t.id == c.team).map(|t| t.name.clone()).unwrap_or_default();
        let org = orgs.iter().find(|o| o.id == c.organisation).map(|o| o.name.clone()).unwrap_or_default();
        let n = rounds::circuit_stops(&state.db, c.id).await?.len();
        circuits.push((c, team, org, n));
    }
    let own = teams::list(&state.db, Some(who.account.organisation)).await?;
    Ok(ListPage { can_create: who.can(Action::Create, &schedule_resource(who.account.organisation)).allowed && !own.is_empty(), teams: own, circuits, form, errors, ctx })
}

/// GET /circuits
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    schedule_gate(&who)?;
    Ok(render(&list_page(&state, ctx, &who, CircuitInput::default(), FieldErrors::new()).await?))
}

/// POST /circuits
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<CircuitInput>) -> AppResult<Response> {
    schedule_gate(&who)?;
    who.require(Action::Create, &schedule_resource(who.account.organisation))?;
    let mut errors = FieldErrors::new();
    let team = match input.team_id.parse() {
        Ok(id) => teams::get(&state.db, id).await.ok().filter(|t| t.organisation == who.account.organisation),
        Err(_) => None,
    };
    if team.is_none() {
        errors.add("team_id", ctx.t("form.choose_one"));
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        errors.add("name", ctx.t("round.error.circuit_name"));
    }
    let Some(team) = team.filter(|_| errors.is_empty()) else {
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&state, ctx, &who, input, errors).await?));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = match rounds::create_circuit(&mut tx, team.organisation, team.id, name, now).await {
        Ok(id) => id,
        Err(e) if e.is_conflict_on("circuits") || e.is_conflict_on("name") => {
            errors.add("name", ctx.t("round.error.circuit_taken"));
            drop(tx);
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&state, ctx, &who, input, errors).await?));
        }
        Err(e) => return Err(e.into()),
    };
    audit::append(&mut tx, who.audit_entry(now, "create", "circuit", id, team.organisation).with_detail(serde_json::json!({"team": team.id.to_string()}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/circuits/{id}")))
}

/// A stop as the circuit page shows it.
pub struct StopLine {
    stop: CircuitStop,
    name: String,
    site: Option<SiteId>,
    lat: Option<f64>,
    lon: Option<f64>,
}

#[derive(Template)]
#[template(path = "rounds/circuit.html")]
struct ShowPage {
    ctx: PageCtx,
    circuit: Circuit,
    team: String,
    stops: Vec<StopLine>,
    sites: Vec<Site>,
    can_edit: bool,
    form: StopInput,
    errors: FieldErrors,
}

/// The stops of a circuit with the names and places of their sites (sites
/// the account may not read show as a point without a name).
pub fn stop_lines(stops: Vec<CircuitStop>, readable: &[Site]) -> Vec<StopLine> {
    stops
        .into_iter()
        .map(|s| {
            let site = s.site.and_then(|id| readable.iter().find(|x| x.id == id));
            StopLine {
                name: site.map(|x| x.name.clone()).unwrap_or_else(|| s.label.clone()),
                site: site.map(|x| x.id),
                lat: site.map(|x| x.lat).or(s.lat),
                lon: site.map(|x| x.lon).or(s.lon),
                stop: s,
            }
        })
        .collect()
}

async fn show_page(state: &AppState, ctx: PageCtx, who: &Authenticated, circuit: Circuit, form: StopInput, errors: FieldErrors) -> AppResult<ShowPage> {
    let readable = crate::sites::readable_sites(state, who).await?;
    let stops = stop_lines(rounds::circuit_stops(&state.db, circuit.id).await?, &readable);
    let team = teams::get(&state.db, circuit.team).await?.name;
    Ok(ShowPage {
        can_edit: who.can(Action::Update, &schedule_resource(circuit.organisation)).allowed,
        sites: readable.into_iter().filter(|s| s.status == "active").collect(),
        team,
        stops,
        circuit,
        form,
        errors,
        ctx,
    })
}

/// GET /circuits/{id}
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let c = load_circuit(&state, &who, &id, Action::Read).await?;
    Ok(render(&show_page(&state, ctx, &who, c, StopInput::default(), FieldErrors::new()).await?))
}

/// A stop to add: a site, or a named point.
#[derive(Deserialize, Default, Clone)]
pub struct StopInput {
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
}

/// POST /circuits/{id}/stops
pub async fn add_stop(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<StopInput>) -> AppResult<Response> {
    let c = load_circuit(&state, &who, &id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    let (site, label, point) = if !input.site_id.is_empty() {
        match crate::sites::load(&state, &who, &input.site_id, Action::Read).await {
            Ok((s, _)) => (Some(s.id), String::new(), None),
            Err(_) => {
                errors.add("site_id", ctx.t("form.choose_one"));
                (None, String::new(), None)
            }
        }
    } else {
        let label = input.label.trim().to_owned();
        if label.is_empty() || label.chars().count() > 120 {
            errors.add("label", ctx.t("round.error.stop_label"));
        }
        let p = match (input.lon.trim().replace(',', ".").parse::<f64>(), input.lat.trim().replace(',', ".").parse::<f64>()) {
            (Ok(lon), Ok(lat)) => veille_geo::LonLat::new(lon, lat).ok().map(|p| (p.lon, p.lat)),
            _ => None,
        };
        if p.is_none() {
            errors.add("lat", ctx.t("site.error.point"));
        }
        (None, label, p)
    };
    if !errors.is_empty() {
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &show_page(&state, ctx, &who, c, input, errors).await?));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    rounds::add_circuit_stop(&mut tx, c.id, site, &label, point, now).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "circuit", c.id, c.organisation).with_detail(serde_json::json!({"field": "stop_added", "site": site.map(|s| s.to_string())}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/circuits/{}", c.id)))
}

/// The stop to remove.
#[derive(Deserialize, Default)]
pub struct RemoveInput {
    #[serde(default)]
    stop_id: String,
}

/// POST /circuits/{id}/stops/remove
pub async fn remove_stop(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<RemoveInput>) -> AppResult<Response> {
    let c = load_circuit(&state, &who, &id, Action::Update).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if rounds::remove_circuit_stop(&mut tx, c.id, &input.stop_id, now).await? {
        audit::append(&mut tx, who.audit_entry(now, "update", "circuit", c.id, c.organisation).with_detail(serde_json::json!({"field": "stop_removed"}))).await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/circuits/{}", c.id)))
}
