//! The JSON API under `/api/v1` (session cookie or `Authorization: Bearer`).
//! Every answer goes through the same permission function as the pages.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;
use veille_domain::{Action, Resource, ResourceKind};
use veille_storage::{accounts, organisations, teams, territories};

use crate::access_panel::who_can_read;
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// An account as the API shows it.
#[derive(Serialize)]
pub struct AccountView {
    id: String,
    organisation_id: String,
    display_name: String,
    email: String,
    role: veille_domain::Role,
    disabled: bool,
    second_factor_enrolled: bool,
}

impl From<&accounts::Account> for AccountView {
    fn from(a: &accounts::Account) -> Self {
        Self {
            id: a.id.to_string(),
            organisation_id: a.organisation.to_string(),
            display_name: a.display_name.clone(),
            email: a.email.clone(),
            role: a.role,
            disabled: a.disabled,
            second_factor_enrolled: a.totp_enabled,
        }
    }
}

/// GET /api/v1/me
pub async fn me(who: Authenticated) -> Response {
    Json(json!({
        "account": AccountView::from(&who.account),
        "field_groups": who.actor.field_groups,
        "territories": match &who.actor.territories {
            veille_domain::TerritoryScope::All => json!("all"),
            veille_domain::TerritoryScope::Only(s) => json!(s),
        },
    }))
    .into_response()
}

/// GET /api/v1/organisations
pub async fn organisations(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let list: Vec<_> = organisations::list(&state.db)
        .await?
        .into_iter()
        .filter(|o| who.can(Action::Read, &crate::organisations::resource(o)).allowed)
        .collect();
    Ok(Json(list).into_response())
}

/// GET /api/v1/organisations/{id}
pub async fn organisation(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let id = id.parse().map_err(|_| AppError::not_found())?;
    let org = organisations::get(&state.db, id).await?;
    who.require(Action::Read, &crate::organisations::resource(&org))?;
    Ok(Json(org).into_response())
}

/// GET /api/v1/users/{id} (audited read)
pub async fn user(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let account = crate::users::load(&state, &who, &id, Action::Read).await?;
    crate::users::audit_account(&state, &who, "read", &account, json!({ "via": "api" })).await?;
    Ok(Json(AccountView::from(&account)).into_response())
}

/// GET /api/v1/teams/{id}
pub async fn team(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let team = crate::teams::load(&state, &who, &id, Action::Read).await?;
    let members = teams::members(&state.db, team.id).await?;
    Ok(Json(json!({ "team": team, "members": members })).into_response())
}

/// GET /api/v1/territories (without geometries; GeoJSON at /territories.geojson)
pub async fn territories(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    who.require(Action::Read, &Resource::new(ResourceKind::Territory))?;
    let list: Vec<_> = territories::list(&state.db)
        .await?
        .into_iter()
        .map(|t| json!({ "id": t.id, "code": t.code, "name": t.name, "bbox": t.bbox }))
        .collect();
    Ok(Json(list).into_response())
}

/// GET /api/v1/access/{kind}/{id}: the "who can see this" panel as JSON.
pub async fn access(State(state): State<AppState>, who: Authenticated, Path((kind, id)): Path<(String, String)>) -> AppResult<Response> {
    let resource = match kind.as_str() {
        "users" => crate::users::resource(&crate::users::load(&state, &who, &id, Action::Read).await?),
        "teams" => crate::teams::resource(&crate::teams::load(&state, &who, &id, Action::Read).await?),
        "organisations" => {
            let org = organisations::get(&state.db, id.parse().map_err(|_| AppError::not_found())?).await?;
            let r = crate::organisations::resource(&org);
            who.require(Action::Read, &r)?;
            r
        }
        "territories" => {
            territories::get(&state.db, id.parse().map_err(|_| AppError::not_found())?).await?;
            let r = Resource::new(ResourceKind::Territory);
            who.require(Action::Read, &r)?;
            r
        }
        _ => return Err(AppError::not_found()),
    };
    Ok(Json(who_can_read(&state.db, &resource).await?).into_response())
}
