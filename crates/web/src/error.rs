//! One error type for every handler. The user sees one message per kind in
//! their language (rendered by [`crate::middleware::render_errors`]); internal
//! causes are logged without personal data and never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use veille_storage::StorageError;

pub use veille_app::ErrorKind;

/// The HTTP status of an error kind.
pub trait HttpStatus {
    /// The status code.
    fn status(self) -> StatusCode;
}

impl HttpStatus for ErrorKind {
    fn status(self) -> StatusCode {
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

impl From<veille_app::Error> for AppError {
    fn from(e: veille_app::Error) -> Self {
        AppError { kind: e.kind, cause: e.cause }
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
