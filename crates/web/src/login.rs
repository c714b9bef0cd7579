//! Logging in (password, then TOTP or a recovery code), enrolling the second
//! factor, logging out, password reset by e-mail, accepting an invitation,
//! switching language.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{EmailAddress, Role, Timestamp, UserId};
use veille_storage::accounts::{self, NewAccount};
use veille_storage::{audit, organisations, outbox, sessions};

use crate::auth::{self, Authenticated, ClientIp, PendingSecondFactor};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{FieldErrors, Form};
use crate::i18n::Lang;
use crate::page::{render, render_status, see_other, PageCtx};
use crate::security::{self, totp};
use crate::AppState;

/// Minutes a password-only (pending) session lives.
const PENDING_MINUTES: i64 = 10;
/// Throttling window.
const WINDOW_SECONDS: i64 = 15 * 60;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageCtx,
    email: String,
    errors: FieldErrors,
}

/// GET /login
pub async fn login_form(ctx: PageCtx) -> Response {
    render(&LoginPage { ctx, email: String::new(), errors: FieldErrors::new() })
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginInput {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn account_key(email: &str) -> String {
    security::token_hash(&format!("login:{}", email.trim().to_lowercase()))
}

async fn throttled(state: &AppState, key: &str, ip: &str) -> AppResult<bool> {
    let since = state.clock.now().plus_seconds(-WINDOW_SECONDS);
    let (by_account, by_ip) = accounts::recent_failures(&state.db, key, ip, since).await?;
    let limit = state.config.login_failures_allowed;
    Ok(by_account >= limit || by_ip >= limit * 5)
}

async fn record_attempt(state: &AppState, key: &str, ip: &str, ok: bool, user: Option<&accounts::Account>) -> AppResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    accounts::record_attempt(&mut tx, key, ip, ok, now).await?;
    audit::append(
        &mut tx,
        audit::NewEntry {
            at: now,
            actor_user: user.map(|u| u.id),
            actor_organisation: user.map(|u| u.organisation),
            action: if ok { "login_password" } else { "login_failed" },
            record_kind: "account",
            record_id: user.map(|u| u.id.to_string()),
            record_organisation: user.map(|u| u.organisation),
            detail: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a session and returns its `Set-Cookie` value.
async fn open_session(state: &AppState, user: UserId, second_factor_done: bool) -> AppResult<String> {
    let now = state.clock.now();
    let token = security::random_token();
    let lifetime = if second_factor_done {
        state.config.session_absolute_hours * 3600
    } else {
        PENDING_MINUTES * 60
    };
    let mut tx = state.db.begin().await?;
    sessions::create(&mut tx, &security::token_hash(&token), user, second_factor_done, &security::random_token(), now, now.plus_seconds(lifetime))
        .await?;
    tx.commit().await?;
    let secure = state.config.cookies_secure();
    Ok(auth::set_cookie(auth::session_cookie_name(secure), &token, secure, None, true))
}

fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

/// POST /login
pub async fn login(State(state): State<AppState>, ctx: PageCtx, ClientIp(ip): ClientIp, Form(input): Form<LoginInput>) -> AppResult<Response> {
    let key = account_key(&input.email);
    let again = |ctx: PageCtx, status: StatusCode, field: &str, key: &str| {
        let mut errors = FieldErrors::new();
        errors.add(field, ctx.t(key));
        render_status(status, &LoginPage { ctx, email: input.email.clone(), errors })
    };
    if throttled(&state, &key, &ip).await? {
        return Ok(again(ctx, StatusCode::TOO_MANY_REQUESTS, "email", "login.throttled"));
    }
    let account = match EmailAddress::parse(&input.email) {
        Ok(email) => accounts::by_email(&state.db, &email).await?,
        Err(_) => None,
    };
    let password_ok = match account.as_ref().and_then(|a| a.password_hash.as_deref()) {
        Some(hash) => security::verify_password(&input.password, hash),
        None => {
            security::verify_password(&input.password, security::dummy_hash());
            false
        }
    };
    let account = match account {
        Some(a) if password_ok && !a.disabled => a,
        other => {
            record_attempt(&state, &key, &ip, false, other.as_ref()).await?;
            return Ok(again(ctx, StatusCode::UNAUTHORIZED, "password", "login.invalid"));
        }
    };
    record_attempt(&state, &key, &ip, true, Some(&account)).await?;
    let demo = organisations::settings(&state.db).await?.is_some_and(|s| s.demo);
    let skip_second_factor = demo && account.demo_account;
    let cookie = open_session(&state, account.id, skip_second_factor).await?;
    let next = if skip_second_factor {
        "/"
    } else if account.totp_enabled {
        "/login/second-factor"
    } else {
        "/enrol"
    };
    Ok(with_cookie(see_other(next), &cookie))
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorPage {
    ctx: PageCtx,
    errors: FieldErrors,
}

/// GET /login/second-factor
pub async fn second_factor_form(ctx: PageCtx, pending: PendingSecondFactor) -> Response {
    if !pending.account.totp_enabled {
        return see_other("/enrol");
    }
    render(&SecondFactorPage { ctx, errors: FieldErrors::new() })
}

/// The second-factor form.
#[derive(Deserialize)]
pub struct CodeInput {
    #[serde(default)]
    code: String,
}

/// Replaces the pending session by a full one (a new token at login).
async fn complete_login(state: &AppState, pending: &PendingSecondFactor, how: &str) -> AppResult<String> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sessions::delete(&mut tx, pending.session.id).await?;
    audit::append(
        &mut tx,
        audit::NewEntry {
            at: now,
            actor_user: Some(pending.account.id),
            actor_organisation: Some(pending.account.organisation),
            action: "login",
            record_kind: "account",
            record_id: Some(pending.account.id.to_string()),
            record_organisation: Some(pending.account.organisation),
            detail: serde_json::json!({ "second_factor": how }),
        },
    )
    .await?;
    tx.commit().await?;
    open_session(state, pending.account.id, true).await
}

/// POST /login/second-factor
pub async fn second_factor(
    State(state): State<AppState>,
    ctx: PageCtx,
    ClientIp(ip): ClientIp,
    pending: PendingSecondFactor,
    Form(input): Form<CodeInput>,
) -> AppResult<Response> {
    let key = account_key(&pending.account.email);
    let retry = |ctx: PageCtx, status: StatusCode, msg: &str| {
        let mut errors = FieldErrors::new();
        errors.add("code", ctx.t(msg));
        render_status(status, &SecondFactorPage { ctx, errors })
    };
    if throttled(&state, &key, &ip).await? {
        return Ok(retry(ctx, StatusCode::TOO_MANY_REQUESTS, "login.throttled"));
    }
    let Some(secret) = pending.account.totp_secret.as_deref().filter(|_| pending.account.totp_enabled) else {
        return Ok(see_other("/enrol"));
    };
    let now = state.clock.now();
    let unix = now.as_micros() / 1_000_000;
    let mut how = None;
    let mut tx = state.db.begin().await?;
    if let Some(step) = totp::matching_step(secret, &input.code, unix) {
        if accounts::consume_totp_step(&mut tx, pending.account.id, step).await? {
            how = Some("totp");
        }
    } else {
        let hash = security::token_hash(&security::normalise_recovery_code(&input.code));
        if accounts::consume_recovery_code(&mut tx, pending.account.id, &hash, now).await? {
            how = Some("recovery_code");
        }
    }
    tx.commit().await?;
    let Some(how) = how else {
        record_attempt(&state, &key, &ip, false, Some(&pending.account)).await?;
        return Ok(retry(ctx, StatusCode::UNAUTHORIZED, "login.bad_code"));
    };
    let cookie = complete_login(&state, &pending, how).await?;
    Ok(with_cookie(see_other("/"), &cookie))
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    ctx: PageCtx,
    secret: String,
    qr_svg: String,
    errors: FieldErrors,
}

fn qr_svg(uri: &str) -> String {
    qrcode::QrCode::new(uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .dark_color(qrcode::render::svg::Color("#000000"))
                .light_color(qrcode::render::svg::Color("#ffffff"))
                .build()
        })
        .unwrap_or_default()
}

/// GET /enrol: the QR code and secret of a new second factor.
pub async fn enrol_form(State(state): State<AppState>, ctx: PageCtx, pending: PendingSecondFactor) -> AppResult<Response> {
    if pending.account.totp_enabled {
        return Ok(see_other("/login/second-factor"));
    }
    let secret = match pending.account.totp_secret.clone() {
        Some(s) => s,
        None => {
            let s = totp::new_secret();
            let mut tx = state.db.begin().await?;
            accounts::set_pending_totp(&mut tx, pending.account.id, &s).await?;
            tx.commit().await?;
            s
        }
    };
    let uri = totp::uri(&secret, &pending.account.email);
    Ok(render(&EnrolPage { ctx, qr_svg: qr_svg(&uri), secret, errors: FieldErrors::new() }))
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    ctx: PageCtx,
    codes: Vec<String>,
}

/// POST /enrol: confirms the second factor with a first code, shows the recovery codes once.
pub async fn enrol(
    State(state): State<AppState>,
    ctx: PageCtx,
    pending: PendingSecondFactor,
    Form(input): Form<CodeInput>,
) -> AppResult<Response> {
    let Some(secret) = pending.account.totp_secret.clone().filter(|_| !pending.account.totp_enabled) else {
        return Ok(see_other("/login"));
    };
    let unix = state.clock.now().as_micros() / 1_000_000;
    let Some(step) = totp::matching_step(&secret, &input.code, unix) else {
        let mut errors = FieldErrors::new();
        errors.add("code", ctx.t("login.bad_code"));
        let uri = totp::uri(&secret, &pending.account.email);
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &EnrolPage { ctx, qr_svg: qr_svg(&uri), secret, errors }));
    };
    let codes = security::recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| security::token_hash(c)).collect();
    let mut tx = state.db.begin().await?;
    accounts::enable_totp(&mut tx, pending.account.id, step, &hashes).await?;
    audit::append(
        &mut tx,
        audit::NewEntry {
            at: state.clock.now(),
            actor_user: Some(pending.account.id),
            actor_organisation: Some(pending.account.organisation),
            action: "second_factor_enrolled",
            record_kind: "account",
            record_id: Some(pending.account.id.to_string()),
            record_organisation: Some(pending.account.organisation),
            detail: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    let cookie = complete_login(&state, &pending, "totp_enrolment").await?;
    Ok(with_cookie(render(&RecoveryCodesPage { ctx, codes }), &cookie))
}

fn clear_session_cookie(state: &AppState) -> String {
    let secure = state.config.cookies_secure();
    auth::set_cookie(auth::session_cookie_name(secure), "", secure, Some(0), true)
}

/// POST /logout
pub async fn logout(State(state): State<AppState>, who: Authenticated, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    if let Some(s) = &who.session {
        let mut tx = state.db.begin().await?;
        sessions::delete(&mut tx, s.id).await?;
        tx.commit().await?;
    }
    Ok(with_cookie(see_other("/login"), &clear_session_cookie(&state)))
}

/// POST /logout/everywhere: ends every session of the account.
pub async fn logout_everywhere(State(state): State<AppState>, who: Authenticated, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let n = sessions::delete_all_for(&mut tx, who.account.id).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "logout_everywhere", "account", who.account.id, who.account.organisation).with_detail(serde_json::json!({ "sessions_ended": n })),
    )
    .await?;
    tx.commit().await?;
    Ok(with_cookie(see_other("/login"), &clear_session_cookie(&state)))
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    ctx: PageCtx,
    email: String,
    errors: FieldErrors,
    sent: bool,
}

/// GET /password/forgot
pub async fn forgot_form(ctx: PageCtx) -> Response {
    render(&ForgotPage { ctx, email: String::new(), errors: FieldErrors::new(), sent: false })
}

/// The forgotten-password form.
#[derive(Deserialize)]
pub struct ForgotInput {
    #[serde(default)]
    email: String,
}

/// POST /password/forgot: the same answer whether or not the account exists.
pub async fn forgot(State(state): State<AppState>, ctx: PageCtx, Form(input): Form<ForgotInput>) -> AppResult<Response> {
    let Ok(email) = EmailAddress::parse(&input.email) else {
        let mut errors = FieldErrors::new();
        errors.add("email", ctx.t("form.email_invalid"));
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &ForgotPage { ctx, email: input.email, errors, sent: false }));
    };
    if let Some(account) = accounts::by_email(&state.db, &email).await?.filter(|a| !a.disabled) {
        let now = state.clock.now();
        let token = security::random_token();
        let lang = Lang::from_code(&account.lang);
        let link = format!("{}/password/reset/{token}", state.config.base_url.trim_end_matches('/'));
        let mut tx = state.db.begin().await?;
        accounts::create_reset(&mut tx, account.id, &security::token_hash(&token), now, now.plus_seconds(3600)).await?;
        outbox::enqueue(&mut tx, email.as_str(), &lang.t("mail.reset.subject"), &lang.tf("mail.reset.body", &[("link", &link)]), now)
            .await?;
        audit::append(
            &mut tx,
            audit::NewEntry {
                at: now,
                actor_user: None,
                actor_organisation: None,
                action: "password_reset_requested",
                record_kind: "account",
                record_id: Some(account.id.to_string()),
                record_organisation: Some(account.organisation),
                detail: serde_json::json!({}),
            },
        )
        .await?;
        tx.commit().await?;
    }
    Ok(render(&ForgotPage { ctx, email: String::new(), errors: FieldErrors::new(), sent: true }))
}

#[derive(Template)]
#[template(path = "new_password.html")]
struct NewPasswordPage {
    ctx: PageCtx,
    action: String,
    heading: String,
    email: String,
    errors: FieldErrors,
}

/// GET /password/reset/{token}
pub async fn reset_form(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    accounts::reset_user(&state.db, &security::token_hash(&token), state.clock.now()).await?.ok_or_else(AppError::not_found)?;
    let heading = ctx.t("password.reset_heading");
    Ok(render(&NewPasswordPage { ctx, action: format!("/password/reset/{token}"), heading, email: String::new(), errors: FieldErrors::new() }))
}

/// The new-password form.
#[derive(Deserialize)]
pub struct NewPasswordInput {
    #[serde(default)]
    password: String,
}

fn password_errors(ctx: &PageCtx, password: &str, context: &[&str]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if let Err(p) = security::check_new_password(password, context) {
        errors.add("password", ctx.tf(p.key(), &[("min", &security::MIN_PASSWORD_CHARS.to_string())]));
    }
    errors
}

/// POST /password/reset/{token}: sets the password, ends every session; the
/// second factor is still asked at the next login.
pub async fn reset(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
    Form(input): Form<NewPasswordInput>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let hash = security::token_hash(&token);
    let user = accounts::reset_user(&state.db, &hash, now).await?.ok_or_else(AppError::not_found)?;
    let account = accounts::get(&state.db, user).await?;
    let errors = password_errors(&ctx, &input.password, &[&account.email, &account.display_name]);
    if !errors.is_empty() {
        let heading = ctx.t("password.reset_heading");
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewPasswordPage { ctx, action: format!("/password/reset/{token}"), heading, email: String::new(), errors },
        ));
    }
    let phc = security::hash_password(&input.password)?;
    let mut tx = state.db.begin().await?;
    if !accounts::use_reset(&mut tx, &hash, now).await? {
        return Err(AppError::not_found());
    }
    accounts::set_password(&mut tx, user, &phc, now).await?;
    sessions::delete_all_for(&mut tx, user).await?;
    audit::append(
        &mut tx,
        audit::NewEntry {
            at: now,
            actor_user: Some(user),
            actor_organisation: Some(account.organisation),
            action: "password_reset",
            record_kind: "account",
            record_id: Some(user.to_string()),
            record_organisation: Some(account.organisation),
            detail: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/login"))
}

/// GET /invitation/{token}
pub async fn invitation_form(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    let inv = live_invitation(&state, &token).await?;
    let heading = ctx.t("invitation.heading");
    Ok(render(&NewPasswordPage { ctx, action: format!("/invitation/{token}"), heading, email: inv.email, errors: FieldErrors::new() }))
}

async fn live_invitation(state: &AppState, token: &str) -> AppResult<accounts::Invitation> {
    let inv = accounts::invitation_by_token(&state.db, &security::token_hash(token)).await?.ok_or_else(AppError::not_found)?;
    if inv.accepted_at.is_some() || inv.expires_at <= state.clock.now() {
        return Err(AppError::not_found());
    }
    Ok(inv)
}

/// POST /invitation/{token}: creates the account, then the second factor is enrolled.
pub async fn accept_invitation(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
    Form(input): Form<NewPasswordInput>,
) -> AppResult<Response> {
    let inv = live_invitation(&state, &token).await?;
    let errors = password_errors(&ctx, &input.password, &[&inv.email, &inv.display_name]);
    if !errors.is_empty() {
        let heading = ctx.t("invitation.heading");
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewPasswordPage { ctx, action: format!("/invitation/{token}"), heading, email: inv.email, errors },
        ));
    }
    let now = state.clock.now();
    let email = EmailAddress::parse(&inv.email).map_err(|_| AppError::bad_request())?;
    let phc = security::hash_password(&input.password)?;
    let mut tx = state.db.begin().await?;
    if !accounts::accept_invitation(&mut tx, inv.id, now).await? {
        return Err(AppError::not_found());
    }
    let id = accounts::create(
        &mut tx,
        &NewAccount {
            organisation: inv.organisation,
            email,
            display_name: inv.display_name.clone(),
            role: inv.role,
            password_hash: Some(phc),
            territories: None,
            field_groups: inv.role.default_field_groups().to_vec(),
            demo_account: false,
        },
        now,
    )
    .await
    .map_err(|e| if e.is_conflict_on("email") { AppError::new(ErrorKind::Conflict) } else { e.into() })?;
    audit::append(
        &mut tx,
        audit::NewEntry {
            at: now,
            actor_user: Some(id),
            actor_organisation: Some(inv.organisation),
            action: "invitation_accepted",
            record_kind: "account",
            record_id: Some(id.to_string()),
            record_organisation: Some(inv.organisation),
            detail: serde_json::json!({ "role": inv.role.code() }),
        },
    )
    .await?;
    tx.commit().await?;
    let cookie = open_session(&state, id, false).await?;
    Ok(with_cookie(see_other("/enrol"), &cookie))
}

/// The language switch form.
#[derive(Deserialize)]
pub struct LangInput {
    lang: String,
    #[serde(default)]
    back: String,
}

/// POST /lang: remembers the language (cookie, and the account's preference).
pub async fn switch_lang(State(state): State<AppState>, auth::MaybeAuthenticated(who): auth::MaybeAuthenticated, Form(input): Form<LangInput>) -> AppResult<Response> {
    let lang = Lang::from_code(&input.lang);
    if let Some(who) = who {
        let mut tx = state.db.begin().await?;
        accounts::set_lang(&mut tx, who.account.id, lang.code()).await?;
        tx.commit().await?;
    }
    let back = if input.back.starts_with('/') && !input.back.starts_with("//") { input.back.as_str() } else { "/" };
    Ok(with_cookie(see_other(back), &crate::middleware::lang_cookie(lang)))
}

/// Sends an invitation (used by the organisation page).
pub async fn send_invitation(
    state: &AppState,
    who: &Authenticated,
    organisation: veille_domain::OrganisationId,
    organisation_name: &str,
    email: &EmailAddress,
    display_name: &str,
    role: Role,
    lang: Lang,
) -> AppResult<()> {
    let now: Timestamp = state.clock.now();
    let token = security::random_token();
    let link = format!("{}/invitation/{token}", state.config.base_url.trim_end_matches('/'));
    let mut tx = state.db.begin().await?;
    let id = accounts::create_invitation(
        &mut tx,
        organisation,
        email,
        display_name,
        role,
        &security::token_hash(&token),
        who.account.id,
        now,
        now.plus_seconds(7 * 24 * 3600),
    )
    .await?;
    outbox::enqueue(
        &mut tx,
        email.as_str(),
        &lang.t("mail.invitation.subject"),
        &lang.tf("mail.invitation.body", &[("organisation", organisation_name), ("link", &link)]),
        now,
    )
    .await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "invitation_sent", "invitation", id, organisation).with_detail(serde_json::json!({ "role": role.code() })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
