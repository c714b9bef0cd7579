//! Who is asking: sessions (cookie), API tokens (bearer), and the extractors
//! handlers use. Grants are read fresh on every request, so disabling an
//! account or changing a role applies at once.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::Method;
use veille_app::Caller;
use veille_storage::accounts::Account;
use veille_storage::sessions::Session;
use veille_storage::tokens::ApiToken;

use crate::error::{AppError, ErrorKind};
use crate::AppState;

/// Name of the session cookie.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-veille_session"
    } else {
        "veille_session"
    }
}

/// Name of the anti-forgery cookie.
pub fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-veille_csrf"
    } else {
        "veille_csrf"
    }
}

/// Name of the language cookie.
pub const LANG_COOKIE: &str = "veille_lang";

/// A cookie of the request by name.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>, http_only: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; SameSite=Lax");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

pub use veille_app::login::SessionState;

/// Reads the session of the request, ending it if idle or past its lifetime.
pub async fn load_session(parts: &Parts, state: &AppState) -> Result<SessionState, AppError> {
    let Some(token) = cookie(parts, session_cookie_name(state.config.cookies_secure())) else {
        return Ok(SessionState::None);
    };
    Ok(veille_app::login::session(state, token).await?)
}

/// A fully authenticated request: by a session with its second factor, or by
/// a live API token. It is the application layer's [`Caller`] (its account
/// and grants) with how it came in.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// The account and its grants.
    pub caller: Caller,
    /// The session, if by cookie.
    pub session: Option<Session>,
    /// The token, if by bearer token.
    pub token: Option<ApiToken>,
}

impl std::ops::Deref for Authenticated {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// Resolves the identity of a request, if any.
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Authenticated>, AppError> {
    if let Some(value) = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let Some(secret) = value.strip_prefix("Bearer ") else {
            return Err(AppError::new(ErrorKind::Unauthenticated));
        };
        let write = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        return match veille_app::identity::by_api_token(state, secret, write, state.clock.now()).await? {
            Ok((caller, token)) => Ok(Some(Authenticated { caller, session: None, token: Some(token) })),
            Err(veille_app::identity::TokenRefusal::ReadOnly) => Err(AppError::forbidden()),
            Err(veille_app::identity::TokenRefusal::Unknown) => Err(AppError::new(ErrorKind::Unauthenticated)),
        };
    }
    match load_session(parts, state).await? {
        SessionState::Full(account, session) => {
            let caller = veille_app::identity::caller_of(state, account).await?;
            Ok(Some(Authenticated { caller, session: Some(session), token: None }))
        }
        _ => Ok(None),
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(a) = parts.extensions.get::<Authenticated>() {
            return Ok(a.clone());
        }
        let state = AppState::from_ref(state);
        let found = authenticate(parts, &state).await?.ok_or(AppError::new(ErrorKind::Unauthenticated))?;
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}

/// A request whose password was checked but whose second factor is still due.
pub struct PendingSecondFactor {
    /// The account.
    pub account: Account,
    /// The pending session.
    pub session: Session,
}

impl<S> FromRequestParts<S> for PendingSecondFactor
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        match load_session(parts, &state).await? {
            SessionState::Pending(account, session) => Ok(PendingSecondFactor { account, session }),
            _ => Err(AppError::new(ErrorKind::Unauthenticated)),
        }
    }
}

/// The client's address: the TCP peer, or behind a trusted reverse proxy
/// (`trusted_proxies`) the address it forwards (`veille_app::proxy`).
pub struct ClientIp(pub String);

impl<S> FromRequestParts<S> for ClientIp
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip()) else {
            return Ok(ClientIp("unknown".into()));
        };
        let proxies = &AppState::from_ref(state).config.trusted_proxies;
        if proxies.is_empty() {
            return Ok(ClientIp(peer.to_string()));
        }
        let values = |name: &str| parts.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        Ok(ClientIp(proxies.client(peer, &values("forwarded"), &values("x-forwarded-for")).to_string()))
    }
}

/// The identity of a request if it has one (public pages that adapt).
pub struct MaybeAuthenticated(pub Option<Authenticated>);

impl<S> FromRequestParts<S> for MaybeAuthenticated
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(MaybeAuthenticated(authenticate(parts, &state).await.ok().flatten()))
    }
}
