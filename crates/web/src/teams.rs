//! Team pages: members.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{Action, Resource, ResourceKind, TeamId, UserId};
use veille_storage::accounts::{self, Account};
use veille_storage::teams::{self, Team};
use veille_storage::audit;

use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::Form;
use crate::page::{render, see_other, PageCtx};
use crate::AppState;

/// The access-control description of a team.
pub fn resource(t: &Team) -> Resource {
    Resource::new(ResourceKind::Team).owned_by(t.organisation)
}

/// Loads a team the requester may act on.
pub async fn load(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<Team> {
    let id: TeamId = id.parse().map_err(|_| AppError::not_found())?;
    let team = teams::get(&state.db, id).await?;
    who.require(action, &resource(&team))?;
    Ok(team)
}

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
    let team = load(&state, &who, &id, Action::Read).await?;
    let member_ids = teams::members(&state.db, team.id).await?;
    let all = accounts::list(&state.db, Some(team.organisation)).await?;
    let (members, candidates): (Vec<_>, Vec<_>) = all.into_iter().filter(|a| !a.disabled).partition(|a| member_ids.contains(&a.id));
    Ok(render(&TeamPage {
        ctx,
        can_manage: who.can(Action::Update, &resource(&team)).allowed,
        panel: who_can_read(&state.db, &resource(&team)).await?,
        team,
        members,
        candidates,
    }))
}

/// The add-member form.
#[derive(Deserialize)]
pub struct MemberInput {
    #[serde(default)]
    user_id: String,
}

async fn change(state: AppState, who: Authenticated, id: String, user: String, add: bool) -> AppResult<Response> {
    let team = load(&state, &who, &id, Action::Update).await?;
    let user: UserId = user.parse().map_err(|_| AppError::bad_request())?;
    let account = accounts::get(&state.db, user).await.map_err(|_| AppError::bad_request())?;
    if account.organisation != team.organisation {
        return Err(AppError::bad_request());
    }
    let mut tx = state.db.begin().await?;
    if add {
        teams::add_member(&mut tx, team.id, user).await?;
    } else {
        teams::remove_member(&mut tx, team.id, user).await?;
    }
    audit::append(
        &mut tx,
        who.audit_entry(state.clock.now(), if add { "add_member" } else { "remove_member" }, "team", team.id, team.organisation).with_detail(serde_json::json!({ "user": user })),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/teams/{}", team.id)))
}

/// POST /teams/{id}/members
pub async fn add_member(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<MemberInput>) -> AppResult<Response> {
    change(state, who, id, input.user_id, true).await
}

/// POST /teams/{id}/members/remove
pub async fn remove_member(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<MemberInput>) -> AppResult<Response> {
    change(state, who, id, input.user_id, false).await
}
