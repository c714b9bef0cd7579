//! Account pages: details, grants, disabling, second-factor reset. Staff
//! accounts hold personal data: every read is audited.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{Action, FieldGroup, Resource, ResourceKind, Role, TerritoryId, UserId};
use veille_storage::accounts::{self, Account};
use veille_storage::territories::{self, Territory};
use veille_storage::{audit, organisations};

use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

/// The access-control description of an account.
pub fn resource(a: &Account) -> Resource {
    Resource::new(ResourceKind::Account).owned_by(a.organisation).about_user(a.id)
}

/// Loads an account the requester may act on, or 404/403.
pub async fn load(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<Account> {
    let id: UserId = id.parse().map_err(|_| AppError::not_found())?;
    let account = accounts::get(&state.db, id).await?;
    who.require(action, &resource(&account))?;
    Ok(account)
}

/// Writes an audit entry about an account.
pub async fn audit_account(state: &AppState, who: &Authenticated, action: &str, a: &Account, detail: serde_json::Value) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    audit::append(&mut tx, entry(state, who, action, a, detail)).await?;
    tx.commit().await?;
    Ok(())
}

fn entry<'a>(state: &AppState, who: &Authenticated, action: &'a str, a: &Account, detail: serde_json::Value) -> audit::NewEntry<'a> {
    audit::NewEntry {
        at: state.clock.now(),
        actor_user: Some(who.account.id),
        actor_organisation: Some(who.account.organisation),
        action,
        record_kind: "account",
        record_id: Some(a.id.to_string()),
        record_organisation: Some(a.organisation),
        detail,
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    ctx: PageCtx,
    user: Account,
    organisation: String,
    territories: Vec<Territory>,
    user_territories: Vec<String>,
    field_groups: Vec<FieldGroup>,
    all_groups: Vec<FieldGroup>,
    roles: Vec<Role>,
    can_manage: bool,
    panel: Vec<PanelEntry>,
    errors: FieldErrors,
}

impl UserPage {
    fn has_territory(&self, id: &TerritoryId) -> bool {
        self.user_territories.contains(&id.to_string())
    }
}

async fn page(state: &AppState, ctx: PageCtx, who: &Authenticated, user: Account, errors: FieldErrors) -> AppResult<UserPage> {
    let actor = accounts::actor_of(&state.db, &user).await?;
    let territories = territories::list(&state.db).await?;
    let user_territories = match &actor.territories {
        veille_domain::TerritoryScope::All => Vec::new(),
        veille_domain::TerritoryScope::Only(set) => set.iter().map(|t| t.to_string()).collect(),
    };
    let organisation = organisations::get(&state.db, user.organisation).await?.name;
    let can_manage = user.id != who.account.id
        && who.can(Action::Update, &resource(&user)).allowed
        && (user.role != Role::InstanceAdmin || who.account.role == Role::InstanceAdmin);
    let roles = Role::ALL.into_iter().filter(|r| who.account.role == Role::InstanceAdmin || r.assignable_by_org_admin()).collect();
    Ok(UserPage {
        ctx,
        panel: who_can_read(&state.db, &resource(&user)).await?,
        field_groups: actor.field_groups.into_iter().collect(),
        all_groups: FieldGroup::ALL.to_vec(),
        user,
        organisation,
        territories,
        user_territories,
        roles,
        can_manage,
        errors,
    })
}

/// GET /users/{id} (audited read).
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let user = load(&state, &who, &id, Action::Read).await?;
    audit_account(&state, &who, "read", &user, serde_json::json!({})).await?;
    Ok(render(&page(&state, ctx, &who, user, FieldErrors::new()).await?))
}

async fn set_disabled(state: AppState, who: Authenticated, id: String, disabled: bool) -> AppResult<Response> {
    let user = load(&state, &who, &id, Action::Delete).await?;
    if user.id == who.account.id || (user.role == Role::InstanceAdmin && who.account.role != Role::InstanceAdmin) {
        return Err(AppError::forbidden());
    }
    let mut tx = state.db.begin().await?;
    accounts::set_disabled(&mut tx, user.id, disabled, state.clock.now()).await?;
    audit::append(&mut tx, entry(&state, &who, if disabled { "disable" } else { "enable" }, &user, serde_json::json!({}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/users/{}", user.id)))
}

/// POST /users/{id}/disable: ends its sessions and tokens at once.
pub async fn disable(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    set_disabled(state, who, id, true).await
}

/// POST /users/{id}/enable
pub async fn enable(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    set_disabled(state, who, id, false).await
}

/// POST /users/{id}/reset-second-factor: the account enrols again at its next login.
pub async fn reset_second_factor(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    Form(_): Form<serde_json::Value>,
) -> AppResult<Response> {
    let user = load(&state, &who, &id, Action::Update).await?;
    if user.id == who.account.id || (user.role == Role::InstanceAdmin && who.account.role != Role::InstanceAdmin) {
        return Err(AppError::forbidden());
    }
    let mut tx = state.db.begin().await?;
    accounts::reset_totp(&mut tx, user.id).await?;
    veille_storage::sessions::delete_all_for(&mut tx, user.id).await?;
    audit::append(&mut tx, entry(&state, &who, "reset_second_factor", &user, serde_json::json!({}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/users/{}", user.id)))
}

/// The grants form.
#[derive(Deserialize)]
pub struct GrantsInput {
    #[serde(default)]
    role: String,
    #[serde(default)]
    territories: Vec<String>,
    #[serde(default)]
    field_groups: Vec<String>,
    #[serde(default)]
    version: i64,
}

/// POST /users/{id}/grants: role, territories, field groups.
pub async fn grants(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<GrantsInput>,
) -> AppResult<Response> {
    let user = load(&state, &who, &id, Action::Update).await?;
    if user.id == who.account.id || (user.role == Role::InstanceAdmin && who.account.role != Role::InstanceAdmin) {
        return Err(AppError::forbidden());
    }
    let mut errors = FieldErrors::new();
    let role = Role::from_code(&input.role).filter(|r| who.account.role == Role::InstanceAdmin || r.assignable_by_org_admin());
    if role.is_none() {
        errors.add("role", ctx.t("form.choose_one"));
    }
    let mut territory_ids = Vec::new();
    for t in &input.territories {
        match t.parse::<TerritoryId>() {
            Ok(id) => territory_ids.push(id),
            Err(_) => errors.add("territories", ctx.t("form.choose_one")),
        }
    }
    let groups: Vec<FieldGroup> = input.field_groups.iter().filter_map(|g| FieldGroup::from_code(g)).collect();
    if let Some(role) = role {
        if groups.iter().any(|g| !role.grantable_field_groups().contains(g)) {
            errors.add("field_groups", ctx.t("user.field_group_not_for_role"));
        }
    }
    if let (true, Some(role)) = (errors.is_empty(), role) {
        let scope = if territory_ids.is_empty() { None } else { Some(territory_ids.as_slice()) };
        let mut tx = state.db.begin().await?;
        match accounts::set_grants(&mut tx, user.id, role, scope, &groups, input.version, state.clock.now()).await {
            Ok(()) => {
                let detail = serde_json::json!({ "role": role.code(), "territories": territory_ids.len(), "field_groups": groups });
                audit::append(&mut tx, entry(&state, &who, "update_grants", &user, detail)).await?;
                tx.commit().await?;
                return Ok(see_other(&format!("/users/{}", user.id)));
            }
            Err(veille_storage::StorageError::StaleVersion) => errors.add("role", ctx.t("error.conflict")),
            Err(e) => return Err(e.into()),
        }
    }
    let page = page(&state, ctx, &who, user, errors).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
