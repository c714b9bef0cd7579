//! What a command or query can fail with, as the user should hear it. Each
//! kind has one message in the catalogue (`error.*`); the internal cause is
//! kept for the log and never shown. Field-level problems are not errors:
//! commands answer them as [`crate::FieldErrors`] so the form is shown again
//! with what was typed.

use veille_storage::StorageError;

/// What went wrong, as the user should hear it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request makes no sense (forms re-render instead).
    BadRequest,
    /// Log in first.
    Unauthenticated,
    /// Not allowed.
    Forbidden,
    /// The form's anti-forgery token is missing or stale.
    CsrfRejected,
    /// No such thing (also for things the user may not know exist).
    NotFound,
    /// The route does not take this method.
    MethodNotAllowed,
    /// Changed by someone else meanwhile.
    Conflict,
    /// Upload too large.
    TooLarge,
    /// Too many attempts.
    Throttled,
    /// Our fault.
    Internal,
    /// Not ready.
    Unavailable,
}

impl ErrorKind {
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

/// A failed command or query.
#[derive(Debug)]
pub struct Error {
    /// The kind the user sees.
    pub kind: ErrorKind,
    /// The internal cause, logged.
    pub cause: Option<anyhow::Error>,
}

impl Error {
    /// An error of a kind with no internal cause.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, cause: None }
    }
    /// Not found.
    pub fn not_found() -> Self {
        Self::new(ErrorKind::NotFound)
    }
    /// Not allowed.
    pub fn forbidden() -> Self {
        Self::new(ErrorKind::Forbidden)
    }
    /// Makes no sense.
    pub fn bad_request() -> Self {
        Self::new(ErrorKind::BadRequest)
    }
    /// Changed by someone else meanwhile.
    pub fn conflict() -> Self {
        Self::new(ErrorKind::Conflict)
    }
    /// Whether a write made on the strength of a kept API token found it no
    /// longer holds ([`StorageError::TokenWithdrawn`]).
    pub fn is_token_withdrawn(&self) -> bool {
        self.cause.as_ref().and_then(|c| c.downcast_ref::<StorageError>()).is_some_and(|e| matches!(e, StorageError::TokenWithdrawn))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            Some(c) => write!(f, "{}: {c:#}", self.kind.code()),
            None => f.write_str(self.kind.code()),
        }
    }
}

impl std::error::Error for Error {}

/// A record named by a form or body (a linked site, round, service…) as its
/// loader gives it: `None` when it does not exist or the account may not use
/// it — for the caller to word as a field error — any other failure as is.
pub fn found<T>(loaded: Result<T>) -> Result<Option<T>> {
    match loaded {
        Ok(v) => Ok(Some(v)),
        Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => Error::not_found(),
            StorageError::StaleVersion | StorageError::Conflict(_) => Error::conflict(),
            StorageError::TokenWithdrawn => Error { kind: ErrorKind::Forbidden, cause: Some(StorageError::TokenWithdrawn.into()) },
            other => Error { kind: ErrorKind::Internal, cause: Some(other.into()) },
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error { kind: ErrorKind::Internal, cause: Some(e) }
    }
}

impl From<veille_storage::sqlx::Error> for Error {
    fn from(e: veille_storage::sqlx::Error) -> Self {
        StorageError::from(e).into()
    }
}

/// Result of a command or query.
pub type Result<T, E = Error> = std::result::Result<T, E>;
