//! Forms: the anti-forgery check, decoding, and errors shown next to fields.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header::{HOST, ORIGIN};
use serde::de::DeserializeOwned;

use crate::auth;
use crate::error::{AppError, ErrorKind};
use crate::AppState;

/// A form body whose anti-forgery token matched its cookie and whose origin is ours.
pub struct Form<T>(pub T);

/// Checks the `Origin` header against `Host` (when the browser sends one).
pub fn same_origin(parts: &axum::http::request::Parts) -> bool {
    let Some(origin) = parts.headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let Some(host) = parts.headers.get(HOST).and_then(|v| v.to_str().ok()) else { return false };
    origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/')) == Some(host)
}

/// Whether a submitted token matches the request's anti-forgery cookie.
pub fn csrf_ok(parts: &axum::http::request::Parts, submitted: Option<&str>, secure: bool) -> bool {
    let cookie = auth::cookie(parts, auth::csrf_cookie_name(secure));
    matches!((cookie, submitted), (Some(c), Some(s)) if !c.is_empty() && crate::security::same(c, s))
}

impl<S, T> FromRequest<S> for Form<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(|_| AppError::new(ErrorKind::TooLarge))?;
        let pairs: Vec<(String, String)> = serde_html_form::from_bytes(&bytes).map_err(|_| AppError::bad_request())?;
        let submitted = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
        if !same_origin(&parts) || !csrf_ok(&parts, submitted, app.config.cookies_secure()) {
            return Err(AppError::new(ErrorKind::CsrfRejected));
        }
        Ok(Form(decode_pairs(&bytes, pairs)?))
    }
}

/// Decodes a form body (`application/x-www-form-urlencoded`) into `T` as the
/// [`Form`] extractor does, NUL characters dropped — without its
/// anti-forgery check (the fuzz tests drive it with arbitrary bytes).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let pairs: Vec<(String, String)> = serde_html_form::from_bytes(bytes).map_err(|_| AppError::bad_request())?;
    decode_pairs(bytes, pairs)
}

fn decode_pairs<T: DeserializeOwned>(bytes: &[u8], pairs: Vec<(String, String)>) -> Result<T, AppError> {
    let decoding = |e: serde_html_form::de::Error| AppError { kind: ErrorKind::BadRequest, cause: Some(anyhow::anyhow!("form decoding: {e}")) };
    if pairs.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        let encoded = serde_urlencoded::to_string(pairs_without_nul(pairs)).map_err(|_| AppError::bad_request())?;
        serde_html_form::from_str(&encoded).map_err(decoding)
    } else {
        serde_html_form::from_bytes(bytes).map_err(decoding)
    }
}

/// A text as veille keeps it: without NUL characters, which carry no meaning
/// in anything a person types and which PostgreSQL refuses in text columns.
/// Every way text comes in (forms, JSON bodies, Open311) reads it so.
pub fn without_nul(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "")
    } else {
        s
    }
}

/// [`without_nul`] for the names and values of a decoded form.
pub fn pairs_without_nul(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.into_iter().map(|(k, v)| (without_nul(k), without_nul(v))).collect()
}

/// [`without_nul`] for every string (and key) of a JSON value.
pub fn json_without_nul(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => *s = s.replace('\0', ""),
        serde_json::Value::Array(items) => items.iter_mut().for_each(json_without_nul),
        serde_json::Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let entries: Vec<(String, serde_json::Value)> = std::mem::take(map).into_iter().collect();
                map.extend(entries.into_iter().map(|(k, v)| (without_nul(k), v)));
            }
            map.values_mut().for_each(json_without_nul);
        }
        _ => {}
    }
}

pub use veille_app::FieldErrors;
