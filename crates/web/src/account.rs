//! The home page and one's own account: its sessions, recovery codes left,
//! and personal API tokens (created, shown once, revoked).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use veille_app::accounts::{self as app, OwnAccount, TokenInput};
use veille_app::home::Today;
use veille_storage::tokens::ApiToken;

use crate::auth::{Authenticated, ClientIp};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    today: Today,
}

impl HomePage {
    fn hours(&self, r: &veille_storage::rounds::Round) -> String {
        format!(
            "{}–{}",
            r.planned_start.to_paris_display().rsplit(' ').next().unwrap_or_default(),
            r.planned_end.to_paris_display().rsplit(' ').next().unwrap_or_default()
        )
    }
}

/// GET /: the work of the day of the account's role.
pub async fn home(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let today = veille_app::home::today(&state, &who).await?;
    Ok(render(&HomePage { ctx, today }))
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
    /// The new e-mail typed (passwords are never drawn again).
    new_email: String,
}

async fn page(state: &AppState, ctx: PageCtx, who: &Authenticated, new_token: String, form: TokenInput, errors: FieldErrors) -> AppResult<AccountPage> {
    let OwnAccount { email, sessions, recovery_left, tokens } = app::own_account(state, who).await?;
    Ok(AccountPage { ctx, email, sessions, recovery_left, tokens, new_token, form, errors, new_email: String::new() })
}

/// Changing one's password, e-mail or second factor: the current password first.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SecurityInput {
    password_current: String,
    new_password: String,
    email_current: String,
    new_email: String,
    factor_current: String,
}

async fn refused(state: &AppState, ctx: PageCtx, who: &Authenticated, errors: FieldErrors, new_email: String) -> AppResult<Response> {
    let mut page = page(state, ctx, who, String::new(), fresh_form(), errors).await?;
    page.new_email = new_email;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// POST /account/password: with the current password; every session ends, so one logs in again.
pub async fn change_password(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    ClientIp(ip): ClientIp,
    Form(input): Form<SecurityInput>,
) -> AppResult<Response> {
    match veille_app::login::change_password(&state, &who, &ip, ctx.lang, &input.password_current, &input.new_password).await? {
        Ok(()) => Ok(see_other("/login")),
        Err(errors) => refused(&state, ctx, &who, errors, String::new()).await,
    }
}

/// POST /account/email: with the current password.
pub async fn change_email(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    ClientIp(ip): ClientIp,
    Form(input): Form<SecurityInput>,
) -> AppResult<Response> {
    match veille_app::login::change_email(&state, &who, &ip, ctx.lang, &input.email_current, &input.new_email).await? {
        Ok(()) => Ok(see_other("/account")),
        Err(errors) => refused(&state, ctx, &who, errors, input.new_email).await,
    }
}

/// POST /account/second-factor: with the current password; every session ends and the next login enrols a new one.
pub async fn renew_second_factor(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    ClientIp(ip): ClientIp,
    Form(input): Form<SecurityInput>,
) -> AppResult<Response> {
    match veille_app::login::renew_second_factor(&state, &who, &ip, ctx.lang, &input.factor_current).await? {
        Ok(()) => Ok(see_other("/login")),
        Err(errors) => refused(&state, ctx, &who, errors, String::new()).await,
    }
}

fn fresh_form() -> TokenInput {
    TokenInput { days: "90".into(), ..Default::default() }
}

/// GET /account
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    Ok(render(&page(&state, ctx, &who, String::new(), fresh_form(), FieldErrors::new()).await?))
}

/// POST /account/tokens: the new token's secret is shown once.
pub async fn create_token(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<TokenInput>) -> AppResult<Response> {
    match app::create_token(&state, &who, ctx.lang, &input).await? {
        Ok(secret) => Ok(render(&page(&state, ctx, &who, secret, fresh_form(), FieldErrors::new()).await?)),
        Err(errors) => {
            let page = page(&state, ctx, &who, String::new(), input, errors).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// POST /account/tokens/{id}/revoke
pub async fn revoke_token(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    app::revoke_token(&state, &who, &id).await?;
    Ok(see_other("/account"))
}
