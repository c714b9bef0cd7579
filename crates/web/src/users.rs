//! An account's page: its role, territories and field groups, changed by
//! the organisation's administrators; disable, enable, reset the second
//! factor. Every read of an account is audited.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use veille_app::accounts::{self as app, AccountView, GrantsInput};
use veille_domain::{Action, FieldGroup, Role, TerritoryId};
use veille_storage::accounts::Account;
use veille_storage::territories::Territory;

use crate::access_panel::PanelEntry;
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

pub use veille_app::accounts::account_resource as resource;

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    ctx: PageCtx,
    user: Account,
    organisation: String,
    territories: Vec<Territory>,
    user_territories: Vec<TerritoryId>,
    field_groups: Vec<FieldGroup>,
    all_groups: Vec<FieldGroup>,
    roles: Vec<Role>,
    can_manage: bool,
    panel: Vec<PanelEntry>,
    errors: FieldErrors,
}

impl UserPage {
    fn has_territory(&self, id: &TerritoryId) -> bool {
        self.user_territories.contains(id)
    }
}

async fn page(state: &AppState, ctx: PageCtx, who: &Authenticated, user: Account, errors: FieldErrors) -> AppResult<UserPage> {
    let AccountView { user, organisation, territories, user_territories, field_groups, roles, can_manage, panel } = app::account_view(state, who, user).await?;
    Ok(UserPage {
        ctx,
        user,
        organisation,
        territories,
        user_territories,
        field_groups,
        all_groups: FieldGroup::ALL.to_vec(),
        roles,
        can_manage,
        panel,
        errors,
    })
}

/// GET /users/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let user = app::read_account(&state, &who, &id).await?;
    Ok(render(&page(&state, ctx, &who, user, FieldErrors::new()).await?))
}

/// POST /users/{id}/disable
pub async fn disable(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    let user = app::set_disabled(&state, &who, &id, true).await?;
    Ok(see_other(&format!("/users/{user}")))
}

/// POST /users/{id}/enable
pub async fn enable(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    let user = app::set_disabled(&state, &who, &id, false).await?;
    Ok(see_other(&format!("/users/{user}")))
}

/// POST /users/{id}/reset-second-factor
pub async fn reset_second_factor(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    Form(_): Form<serde_json::Value>,
) -> AppResult<Response> {
    let user = app::reset_second_factor(&state, &who, &id).await?;
    Ok(see_other(&format!("/users/{user}")))
}

/// POST /users/{id}/grants
pub async fn grants(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<GrantsInput>,
) -> AppResult<Response> {
    let user = app::account(&state, &who, &id, Action::Update).await?;
    match app::set_grants(&state, &who, ctx.lang, &user, &input).await? {
        Ok(()) => Ok(see_other(&format!("/users/{}", user.id))),
        Err(errors) => {
            let page = page(&state, ctx, &who, user, errors).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
