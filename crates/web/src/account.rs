//! The logged-in account's own pages: home, sessions, API tokens.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{Action, ApiTokenId, Resource, ResourceKind};
use veille_storage::organisations::{self, Organisation};
use veille_storage::tokens::{self, ApiToken};
use veille_storage::{audit, sessions};

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    organisation: Organisation,
    can_audit: bool,
}

/// GET /
pub async fn home(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let organisation = organisations::get(&state.db, who.account.organisation).await?;
    let can_audit = who.can(Action::Read, &Resource::new(ResourceKind::AuditLog).owned_by(organisation.id)).allowed;
    Ok(render(&HomePage { ctx, organisation, can_audit }))
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: PageCtx,
    email: String,
    sessions: i64,
    recovery_left: i64,
    tokens: Vec<ApiToken>,
    new_token: String,
    form: TokenInput,
    errors: FieldErrors,
}

/// Token creation form.
#[derive(Deserialize, Default, Clone)]
pub struct TokenInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    days: String,
}

async fn page(state: &AppState, ctx: PageCtx, who: &Authenticated, new_token: String, form: TokenInput, errors: FieldErrors) -> AppResult<AccountPage> {
    Ok(AccountPage {
        ctx,
        email: who.account.email.clone(),
        sessions: sessions::count_for(&state.db, who.account.id).await?,
        recovery_left: veille_storage::accounts::recovery_codes_left(&state.db, who.account.id).await?,
        tokens: tokens::list_for(&state.db, who.account.id).await?,
        new_token,
        form,
        errors,
    })
}

/// GET /account
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    Ok(render(&page(&state, ctx, &who, String::new(), TokenInput { days: "90".into(), ..Default::default() }, FieldErrors::new()).await?))
}

/// POST /account/tokens: the secret is shown once, only its hash is kept.
pub async fn create_token(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<TokenInput>) -> AppResult<Response> {
    who.require(Action::Create, &Resource::new(ResourceKind::ApiToken).owned_by(who.account.organisation).about_user(who.account.id))?;
    let mut errors = FieldErrors::new();
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        errors.add("name", ctx.t("form.required"));
    }
    let scopes: &[&str] = match input.scope.as_str() {
        "read" => &["read"],
        "write" => &["read", "write"],
        _ => {
            errors.add("scope", ctx.t("form.choose_one"));
            &[]
        }
    };
    let days = input.days.trim().parse::<i64>().ok().filter(|d| (1..=365).contains(d));
    if days.is_none() {
        errors.add("days", ctx.tf("account.token_days_invalid", &[("max", "365")]));
    }
    let Some(days) = days.filter(|_| errors.is_empty()) else {
        let page = page(&state, ctx, &who, String::new(), input, errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let secret = format!("vt_{}", crate::security::random_token());
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = tokens::create(&mut tx, who.account.id, &name, &crate::security::token_hash(&secret), scopes, now, now.plus_seconds(days * 86400)).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "create", "api_token", id, who.account.organisation).with_detail(serde_json::json!({ "scopes": scopes, "days": days })),
    )
    .await?;
    tx.commit().await?;
    let page = page(&state, ctx, &who, secret, TokenInput { days: "90".into(), ..Default::default() }, FieldErrors::new()).await?;
    Ok(render(&page))
}

/// POST /account/tokens/{id}/revoke
pub async fn revoke_token(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    let id: ApiTokenId = id.parse().map_err(|_| AppError::not_found())?;
    let token = tokens::get(&state.db, id).await?;
    let owner = veille_storage::accounts::get(&state.db, token.user).await?;
    who.require(Action::Delete, &Resource::new(ResourceKind::ApiToken).owned_by(owner.organisation).about_user(owner.id))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tokens::revoke(&mut tx, id, now).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "revoke", "api_token", id, owner.organisation),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/account"))
}
