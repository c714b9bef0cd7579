//! What every page needs: language, anti-forgery token, who is logged in,
//! whether this is a demo instance.

use askama::Template;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use veille_domain::{Role, Timestamp};

use crate::auth::{self, Authenticated};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;

/// The anti-forgery token of the request (from its cookie, or new).
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// The logged-in account as the layout shows it.
#[derive(Clone, Debug)]
pub struct NavUser {
    /// Name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The account's id: names the phone's outbox of this account (decision 90),
    /// so that accounts sharing a phone never send each other's work.
    pub account: String,
}

/// A count as templates hold it (by value or by reference).
pub trait AsCount {
    /// The count.
    fn as_count(&self) -> i64;
}
impl AsCount for i64 {
    fn as_count(&self) -> i64 {
        *self
    }
}
impl AsCount for usize {
    fn as_count(&self) -> i64 {
        i64::try_from(*self).unwrap_or(i64::MAX)
    }
}
impl AsCount for u32 {
    fn as_count(&self) -> i64 {
        i64::from(*self)
    }
}
impl<T: AsCount + ?Sized> AsCount for &T {
    fn as_count(&self) -> i64 {
        (**self).as_count()
    }
}

/// Per-request page context.
#[derive(Clone, Debug)]
pub struct PageCtx {
    /// Interface language.
    pub lang: Lang,
    /// Anti-forgery token for forms.
    pub csrf: String,
    /// Logged-in account, if any.
    pub user: Option<NavUser>,
    /// Demo instance: a banner on every page.
    pub demo: bool,
    /// Map tile URL template (empty: outlines only).
    pub tile_url: String,
    /// Current path (for the language switch to come back).
    pub path: String,
    /// Rounds of the account's organisation out past their expected return
    /// (shown as a banner to its coordinators and administrators).
    pub overdue_rounds: usize,
    /// Critical situations raised to the account (or its organisation) not acknowledged yet.
    pub open_alerts: usize,
    /// The header's links: only those the account may follow.
    pub nav: Vec<veille_app::navigation::Link>,
}

impl PageCtx {
    /// Whether the signed-in account may search its organisation's restricted
    /// archive (the link is drawn for them only).
    pub fn reads_archive(&self) -> bool {
        self.user.as_ref().is_some_and(|u| veille_app::rights::reads_archive(u.role))
    }

    /// Translates a key.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }
    /// Translates a key with arguments.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.lang.tf(key, args)
    }
    /// Translates a counted message (`key.one` / `key.other` by the
    /// language's plural rule, `%{count}` replaced).
    pub fn tn(&self, key: &str, count: impl AsCount) -> String {
        self.lang.tn(key, count.as_count(), &[])
    }
    /// Translates a counted message with arguments.
    pub fn tnf(&self, key: &str, count: impl AsCount, args: &[(&str, &str)]) -> String {
        self.lang.tn(key, count.as_count(), args)
    }
    /// The label of a role.
    pub fn role_label(&self, role: &Role) -> String {
        self.lang.t(&format!("role.{}", role.code()))
    }
    /// The label of an access reason.
    pub fn reason_label(&self, reason: &veille_domain::Reason) -> String {
        self.lang.t(&format!("access.reason.{}", reason.code()))
    }
    /// The label of a field group.
    pub fn group_label(&self, group: &veille_domain::FieldGroup) -> String {
        self.lang.t(&format!("field_group.{}", group.code()))
    }
    /// The label of a coded value in a family (`organisation_kind`, `team_kind`…).
    pub fn label(&self, family: &str, code: impl std::fmt::Display) -> String {
        self.lang.t(&format!("{family}.{code}"))
    }
    /// A date and time in Europe/Paris.
    pub fn when(&self, t: &Timestamp) -> String {
        t.to_paris_display()
    }
    /// Whether the user is an instance administrator.
    pub fn is_instance_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::InstanceAdmin)
    }
    /// Whether the user administers an organisation (or the instance).
    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| matches!(u.role, Role::InstanceAdmin | Role::OrgAdmin))
    }
}

/// The language of a request: cookie, then the account's preference, then Accept-Language.
pub fn request_lang(parts: &Parts, account_lang: Option<&str>) -> Lang {
    if let Some(c) = auth::cookie(parts, auth::LANG_COOKIE) {
        return Lang::from_code(c);
    }
    if let Some(l) = account_lang {
        return Lang::from_code(l);
    }
    parts.headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(Lang::from_code).unwrap_or_default()
}

impl<S> FromRequestParts<S> for PageCtx
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let who = match parts.extensions.get::<Authenticated>() {
            Some(a) => Some(a.clone()),
            None => auth::authenticate(parts, &app).await.ok().flatten(),
        };
        let csrf = parts.extensions.get::<CsrfToken>().map(|c| c.0.clone()).unwrap_or_default();
        let demo = veille_app::instance::is_demo(&app).await?;
        let overdue_rounds = match &who {
            Some(w) => veille_app::rounds::alerts::overdue_banner(&app, w).await?,
            None => 0,
        };
        let open_alerts = match &who {
            Some(w) => veille_app::escalations::banner(&app, w).await?,
            None => 0,
        };
        let nav = who.as_ref().map(|w| veille_app::navigation::links(&w.actor)).unwrap_or_default();
        Ok(PageCtx {
            nav,
            lang: request_lang(parts, who.as_ref().map(|w| w.account.lang.as_str())),
            csrf,
            user: who.map(|w| NavUser { account: w.caller.account.id.to_string(), display_name: w.caller.account.display_name, role: w.caller.account.role }),
            demo,
            tile_url: app.config.tile_url.clone(),
            path: parts.uri.path().to_owned(),
            overdue_rounds,
            open_alerts,
        })
    }
}

/// Renders a template into an HTML response.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::from(anyhow::Error::from(e)).into_response(),
    }
}

/// Renders a template with a status (e.g. 422 for a form with errors).
pub fn render_status(status: axum::http::StatusCode, t: &impl Template) -> Response {
    let mut r = render(t);
    if r.status().is_success() {
        *r.status_mut() = status;
    }
    r
}

/// A 303 redirect after a successful form.
/// A file to download: its type, its name (characters other than ASCII letters,
/// digits, `.`, `-`, `_` and spaces left out, so the header stays well
/// formed) and its bytes. Never cached: `security_headers` adds `no-store`.
pub fn download(content_type: &str, name: &str, body: Vec<u8>) -> Response {
    download_body(content_type, name, axum::body::Body::from(body))
}

/// [`download`] of a body written as it is sent (a streamed export).
pub fn download_body(content_type: &str, name: &str, body: axum::body::Body) -> Response {
    use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
    let name: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || ".-_ ".contains(*c)).collect();
    let name = if name.trim().is_empty() { "fichier".to_owned() } else { name };
    ([(CONTENT_TYPE, content_type.to_owned()), (CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))], body).into_response()
}

pub fn see_other(to: &str) -> Response {
    axum::response::Redirect::to(to).into_response()
}
