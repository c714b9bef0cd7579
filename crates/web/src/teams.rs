//! A team's page: its members, added and removed by the organisation's
//! coordinators and administrators.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use veille_app::accounts::{self as app, TeamView};
use veille_domain::Action;
use veille_storage::accounts::Account;
use veille_storage::teams::Team;

use crate::access_panel::PanelEntry;
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::Form;
use crate::page::{render, see_other, PageCtx};
use crate::AppState;

pub use veille_app::accounts::team_resource as resource;

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    ctx: PageCtx,
    team: Team,
    members: Vec<Account>,
    candidates: Vec<Account>,
    can_manage: bool,
    panel: Vec<PanelEntry>,
}

/// GET /teams/{id}
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let team = app::team(&state, &who, &id, Action::Read).await?;
    let TeamView { team, members, candidates, can_manage, panel } = app::team_view(&state, &who, team).await?;
    Ok(render(&TeamPage { ctx, team, members, candidates, can_manage, panel }))
}

/// The member form.
#[derive(Deserialize)]
pub struct MemberInput {
    #[serde(default)]
    user_id: String,
}

/// POST /teams/{id}/members
pub async fn add_member(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<MemberInput>) -> AppResult<Response> {
    let team = app::change_member(&state, &who, &id, &input.user_id, true).await?;
    Ok(see_other(&format!("/teams/{team}")))
}

/// POST /teams/{id}/members/remove
pub async fn remove_member(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<MemberInput>) -> AppResult<Response> {
    let team = app::change_member(&state, &who, &id, &input.user_id, false).await?;
    Ok(see_other(&format!("/teams/{team}")))
}
