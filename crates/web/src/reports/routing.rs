//! The routing table's page (instance administrators): territory (or any) ×
//! situation type (or any) × level (or any) → team; the rules are the
//! application layer's (`veille_app::reports::routing`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use veille_app::reports::routing::{self as app, Line, RuleInput, Table};
use veille_storage::teams::Team;
use veille_storage::territories::Territory;

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

#[derive(Template)]
#[template(path = "reports/routing.html")]
struct RoutingPage {
    ctx: PageCtx,
    lines: Vec<Line>,
    territories: Vec<Territory>,
    teams: Vec<(Team, String)>,
    situations: Vec<&'static str>,
    form: RuleInput,
    errors: FieldErrors,
}

async fn page(state: &AppState, who: &Authenticated, ctx: PageCtx, form: RuleInput, errors: FieldErrors) -> AppResult<RoutingPage> {
    let Table { lines, territories, teams, situations } = app::table(state, who).await?;
    Ok(RoutingPage { ctx, lines, territories, teams, situations, form, errors })
}

/// GET /reports/routing
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    Ok(render(&page(&state, &who, ctx, RuleInput::default(), FieldErrors::new()).await?))
}

/// POST /reports/routing
pub async fn add(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<RuleInput>) -> AppResult<Response> {
    match app::add(&state, &who, ctx.lang, &input).await? {
        Ok(_) => Ok(see_other("/reports/routing")),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(&state, &who, ctx, input, errors).await?)),
    }
}

/// An empty form (only its anti-forgery token).
#[derive(serde::Deserialize, Default)]
pub struct DeleteInput {}

/// POST /reports/routing/{id}/delete
pub async fn delete(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<DeleteInput>) -> AppResult<Response> {
    app::delete(&state, &who, &id).await?;
    Ok(see_other("/reports/routing"))
}
