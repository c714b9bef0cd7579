//! Logging in (password, then TOTP or a recovery code), enrolling the second
//! factor, logging out, password reset by e-mail, accepting an invitation,
//! switching language: the pages and cookies of `veille_app::login`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use veille_app::login::{self as app, CodeLogin, Enrolment, Next, PasswordLogin};

use crate::auth::{self, Authenticated, ClientIp, PendingSecondFactor};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::i18n::Lang;
use crate::page::{render, render_status, see_other, PageCtx};
use crate::security::totp;
use crate::AppState;

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

/// The `Set-Cookie` value of a session token.
fn session_cookie(state: &AppState, token: &str) -> String {
    let secure = state.config.cookies_secure();
    auth::set_cookie(auth::session_cookie_name(secure), token, secure, None, true)
}

fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

/// POST /login
pub async fn login(State(state): State<AppState>, ctx: PageCtx, ClientIp(ip): ClientIp, Form(input): Form<LoginInput>) -> AppResult<Response> {
    let again = |ctx: PageCtx, status: StatusCode, field: &str, key: &str| {
        let mut errors = FieldErrors::new();
        errors.add(field, ctx.t(key));
        render_status(status, &LoginPage { ctx, email: input.email.clone(), errors })
    };
    match app::with_password(&state, &ip, &input.email, &input.password).await? {
        PasswordLogin::Throttled => Ok(again(ctx, StatusCode::TOO_MANY_REQUESTS, "email", "login.throttled")),
        PasswordLogin::Invalid => Ok(again(ctx, StatusCode::UNAUTHORIZED, "password", "login.invalid")),
        PasswordLogin::Opened { token, next } => {
            let to = match next {
                Next::Home => "/",
                Next::SecondFactor => "/login/second-factor",
                Next::Enrol => "/enrol",
            };
            Ok(with_cookie(see_other(to), &session_cookie(&state, &token)))
        }
    }
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

/// POST /login/second-factor
pub async fn second_factor(
    State(state): State<AppState>,
    ctx: PageCtx,
    ClientIp(ip): ClientIp,
    pending: PendingSecondFactor,
    Form(input): Form<CodeInput>,
) -> AppResult<Response> {
    let retry = |ctx: PageCtx, status: StatusCode, msg: &str| {
        let mut errors = FieldErrors::new();
        errors.add("code", ctx.t(msg));
        render_status(status, &SecondFactorPage { ctx, errors })
    };
    match app::with_code(&state, &ip, &pending.account, &pending.session, &input.code).await? {
        CodeLogin::Throttled => Ok(retry(ctx, StatusCode::TOO_MANY_REQUESTS, "login.throttled")),
        CodeLogin::Invalid => Ok(retry(ctx, StatusCode::UNAUTHORIZED, "login.bad_code")),
        CodeLogin::NotEnrolled => Ok(see_other("/enrol")),
        CodeLogin::Opened(token) => Ok(with_cookie(see_other("/"), &session_cookie(&state, &token))),
    }
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
    let secret = app::enrolment_secret(&state, &pending.account).await?;
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
pub async fn enrol(State(state): State<AppState>, ctx: PageCtx, pending: PendingSecondFactor, Form(input): Form<CodeInput>) -> AppResult<Response> {
    match app::enrol(&state, &pending.account, &pending.session, &input.code).await? {
        Enrolment::NotPending => Ok(see_other("/login")),
        Enrolment::Invalid => {
            let mut errors = FieldErrors::new();
            errors.add("code", ctx.t("login.bad_code"));
            let secret = pending.account.totp_secret.clone().unwrap_or_default();
            let uri = totp::uri(&secret, &pending.account.email);
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &EnrolPage { ctx, qr_svg: qr_svg(&uri), secret, errors }))
        }
        Enrolment::Done { codes, token } => Ok(with_cookie(render(&RecoveryCodesPage { ctx, codes }), &session_cookie(&state, &token))),
    }
}

fn clear_session_cookie(state: &AppState) -> String {
    let secure = state.config.cookies_secure();
    auth::set_cookie(auth::session_cookie_name(secure), "", secure, Some(0), true)
}

/// POST /logout
pub async fn logout(State(state): State<AppState>, who: Authenticated, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    if let Some(s) = &who.session {
        app::logout(&state, s).await?;
    }
    Ok(wiped(with_cookie(see_other("/login"), &clear_session_cookie(&state))))
}

/// POST /logout/everywhere: ends every session of the account.
pub async fn logout_everywhere(State(state): State<AppState>, who: Authenticated, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    app::logout_everywhere(&state, &who).await?;
    Ok(wiped(with_cookie(see_other("/login"), &clear_session_cookie(&state))))
}

/// Asks the browser to drop its HTTP cache of this site. The page's script
/// has already deleted this account's outbox (after asking about operations
/// not yet sent) and the pages the service worker kept, and the worker drops
/// those pages again when the login page opens (decision 90). Not
/// `"storage"`: it would also erase the outboxes of the phone's other
/// accounts, whose unsent work waits for their next login.
fn wiped(mut resp: Response) -> Response {
    resp.headers_mut().insert("clear-site-data", axum::http::HeaderValue::from_static("\"cache\""));
    resp
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
pub async fn forgot(State(state): State<AppState>, ctx: PageCtx, ClientIp(ip): ClientIp, Form(input): Form<ForgotInput>) -> AppResult<Response> {
    match app::forgot(&state, ctx.lang, &ip, &input.email).await? {
        Ok(()) => Ok(render(&ForgotPage { ctx, email: String::new(), errors: FieldErrors::new(), sent: true })),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &ForgotPage { ctx, email: input.email, errors, sent: false })),
    }
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
    app::reset_target(&state, &token).await?;
    let heading = ctx.t("password.reset_heading");
    Ok(render(&NewPasswordPage { ctx, action: format!("/password/reset/{token}"), heading, email: String::new(), errors: FieldErrors::new() }))
}

/// The new-password form.
#[derive(Deserialize)]
pub struct NewPasswordInput {
    #[serde(default)]
    password: String,
}

/// POST /password/reset/{token}: sets the password, ends every session and
/// API token; the second factor is still asked at the next login.
pub async fn reset(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>, Form(input): Form<NewPasswordInput>) -> AppResult<Response> {
    match app::reset(&state, ctx.lang, &token, &input.password).await? {
        Ok(()) => Ok(see_other("/login")),
        Err(errors) => {
            let heading = ctx.t("password.reset_heading");
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &NewPasswordPage { ctx, action: format!("/password/reset/{token}"), heading, email: String::new(), errors },
            ))
        }
    }
}

/// GET /invitation/{token}
pub async fn invitation_form(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    let inv = app::invitation(&state, &token).await?;
    let heading = ctx.t("invitation.heading");
    Ok(render(&NewPasswordPage { ctx, action: format!("/invitation/{token}"), heading, email: inv.email, errors: FieldErrors::new() }))
}

/// POST /invitation/{token}: creates the account, then the second factor is enrolled.
pub async fn accept_invitation(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
    Form(input): Form<NewPasswordInput>,
) -> AppResult<Response> {
    match app::accept_invitation(&state, ctx.lang, &token, &input.password).await? {
        Ok(session) => Ok(with_cookie(see_other("/enrol"), &session_cookie(&state, &session))),
        Err((inv, errors)) => {
            let heading = ctx.t("invitation.heading");
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &NewPasswordPage { ctx, action: format!("/invitation/{token}"), heading, email: inv.email, errors },
            ))
        }
    }
}

/// The language switch form.
#[derive(Deserialize)]
pub struct LangInput {
    lang: String,
    #[serde(default)]
    back: String,
}

/// POST /lang: remembers the language (cookie, and the account's preference).
pub async fn switch_lang(
    State(state): State<AppState>,
    auth::MaybeAuthenticated(who): auth::MaybeAuthenticated,
    Form(input): Form<LangInput>,
) -> AppResult<Response> {
    let lang = Lang::from_code(&input.lang);
    if let Some(who) = who {
        app::set_language(&state, &who, lang).await?;
    }
    Ok(with_cookie(see_other(safe_back(&input.back)), &crate::middleware::lang_cookie(lang)))
}

/// Where to go back after switching language: a path of this site only —
/// never `//host` or `/\host`, which browsers follow to another site.
fn safe_back(back: &str) -> &str {
    let local = back.starts_with('/') && !back.starts_with("//") && !back.starts_with("/\\") && !back.contains(['\\', '\r', '\n']);
    if local {
        back
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_only_goes_back_to_this_site() {
        assert_eq!(safe_back("/reports?status=received"), "/reports?status=received");
        for evil in ["//evil.example", "/\\evil.example", "https://evil.example", "/\\\\evil.example", "", "/a\\b"] {
            assert_eq!(safe_back(evil), "/", "{evil}");
        }
    }
}
