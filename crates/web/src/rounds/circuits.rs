//! Circuit pages: the list with the creation form, and a circuit's ordered
//! stops on a map.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_app::rounds::circuits::{self as app, CircuitInput, StopInput, StopLine};
use veille_app::rounds::{load_circuit, own_teams, schedule_gate, Circuit, Team};
use veille_app::sites::Site;
use veille_domain::Action;

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
    teams: Vec<Team>,
    can_create: bool,
    form: CircuitInput,
    errors: FieldErrors,
}

async fn list_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: CircuitInput, errors: FieldErrors) -> AppResult<ListPage> {
    let circuits = app::list(state, who).await?.into_iter().map(|l| (l.circuit, l.team, l.organisation, l.stops)).collect();
    Ok(ListPage { can_create: app::can_create(state, who).await?, teams: own_teams(state, who).await?, circuits, form, errors, ctx })
}

/// GET /circuits
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    schedule_gate(&who)?;
    Ok(render(&list_page(&state, ctx, &who, CircuitInput::default(), FieldErrors::new()).await?))
}

/// POST /circuits
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<CircuitInput>) -> AppResult<Response> {
    match app::create_circuit(&state, &who, ctx.lang, &input).await? {
        Ok(id) => Ok(see_other(&format!("/circuits/{id}"))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&state, ctx, &who, input, errors).await?)),
    }
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

async fn show_page(state: &AppState, ctx: PageCtx, who: &Authenticated, circuit: Circuit, form: StopInput, errors: FieldErrors) -> AppResult<ShowPage> {
    let d = app::detail(state, who, &circuit).await?;
    Ok(ShowPage { can_edit: d.can_edit, sites: d.sites, team: d.team, stops: d.stops, circuit, form, errors, ctx })
}

/// GET /circuits/{id}
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let c = load_circuit(&state, &who, &id, Action::Read).await?;
    Ok(render(&show_page(&state, ctx, &who, c, StopInput::default(), FieldErrors::new()).await?))
}

/// POST /circuits/{id}/stops
pub async fn add_stop(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<StopInput>,
) -> AppResult<Response> {
    let c = load_circuit(&state, &who, &id, Action::Update).await?;
    match app::add_stop(&state, &who, ctx.lang, &c, &input).await? {
        Ok(()) => Ok(see_other(&format!("/circuits/{}", c.id))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &show_page(&state, ctx, &who, c, input, errors).await?)),
    }
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
    app::remove_stop(&state, &who, &c, &input.stop_id).await?;
    Ok(see_other(&format!("/circuits/{}", c.id)))
}
