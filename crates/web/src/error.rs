//! One error type for every handler. The user sees one message per kind in
//! their language (rendered by [`crate::middleware::render_errors`]); internal
//! causes are logged without personal data and never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use veille_storage::StorageError;

/// What went wrong, as the user should hear it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request makes no sense (forms re-render instead).
    BadRequest,
    /// 401: log in first.
    Unauthenticated,
    /// 403: not allowed.
    Forbidden,
    /// 403: the form's anti-forgery token is missing or stale.
    CsrfRejected,
    /// 404: no such thing (also for things the user may not know exist).
    NotFound,
    /// 405: the route does not take this method.
    MethodNotAllowed,
    /// 409: changed by someone else meanwhile.
    Conflict,
    /// 413: upload too large.
    TooLarge,
    /// 429: too many attempts.
    Throttled,
    /// 500: our fault.
    Internal,
    /// 503: not ready.
    Unavailable,
}

impl ErrorKind {
    /// HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden | ErrorKind::CsrfRejected => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Throttled => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
    /// Message key in the catalogue.
    pub fn message_key(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "error.bad_request",
            ErrorKind::Unauthenticated => "error.unauthenticated",
            ErrorKind::Forbidden => "error.forbidden",
            ErrorKind::CsrfRejected => "error.csrf",
            ErrorKind::NotFound => "error.not_found",
            ErrorKind::MethodNotAllowed => "error.method_not_allowed",
            ErrorKind::Conflict => "error.conflict",
            ErrorKind::TooLarge => "error.too_large",
            ErrorKind::Throttled => "error.throttled",
            ErrorKind::Internal => "error.internal",
            ErrorKind::Unavailable => "error.unavailable",
        }
    }
    /// Stable code for JSON errors.
    pub fn code(self) -> &'static str {
        self.message_key().trim_start_matches("error.")
    }
}

/// A handler error.
#[derive(Debug)]
pub struct AppError {
    /// The kind the user sees.
    pub kind: ErrorKind,
    /// The internal cause, logged.
    pub cause: Option<anyhow::Error>,
}

impl AppError {
    /// An error of a kind with no internal cause.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, cause: None }
    }
    /// 404.
    pub fn not_found() -> Self {
        Self::new(ErrorKind::NotFound)
    }
    /// 403.
    pub fn forbidden() -> Self {
        Self::new(ErrorKind::Forbidden)
    }
    /// 400.
    pub fn bad_request() -> Self {
        Self::new(ErrorKind::BadRequest)
    }
}

/// A record named by a form or body (a linked site, round, service…) as its
/// loader gives it: `None` when it does not exist or the account may not use
/// it — for the caller to word as a field error — any other failure as is.
pub fn found<T>(loaded: AppResult<T>) -> AppResult<Option<T>> {
    match loaded {
        Ok(v) => Ok(Some(v)),
        Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => AppError::not_found(),
            StorageError::StaleVersion | StorageError::Conflict(_) => AppError::new(ErrorKind::Conflict),
            other => AppError { kind: ErrorKind::Internal, cause: Some(other.into()) },
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError { kind: ErrorKind::Internal, cause: Some(e) }
    }
}

impl From<veille_storage::sqlx::Error> for AppError {
    fn from(e: veille_storage::sqlx::Error) -> Self {
        StorageError::from(e).into()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            // Causes are database or library errors about our own code paths;
            // they carry identifiers at most, never form contents.
            tracing::error!(kind = ?self.kind, error = format!("{cause:#}"), "request failed");
        }
        let mut resp = self.kind.status().into_response();
        resp.extensions_mut().insert(self.kind);
        resp
    }
}

/// Result alias for handlers.
pub type AppResult<T> = Result<T, AppError>;
