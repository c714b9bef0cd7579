//! Layers around every request: security headers, the anti-forgery cookie,
//! error pages in the user's language, metrics and logs without personal data.

use std::time::Instant;

use askama::Template;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth;
use crate::error::ErrorKind;
use crate::error::HttpStatus;
use crate::i18n::Lang;
use crate::page::{request_lang, CsrfToken, PageCtx};
use crate::AppState;

/// Content-Security-Policy: no inline script, nothing from elsewhere but map tiles.
pub fn content_security_policy(tile_url: &str) -> String {
    let tiles = tile_origin(tile_url).map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

fn tile_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (!host.is_empty() && !host.contains('{')).then(|| format!("{scheme}://{host}"))
}

/// Adds the security headers.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let csp = content_security_policy(&state.config.tile_url);
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(self)"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if state.config.cookies_secure() {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Makes sure the browser holds an anti-forgery cookie, and hands its value to pages.
pub async fn csrf_cookie(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let secure = state.config.cookies_secure();
    let (parts, body) = req.into_parts();
    let existing = auth::cookie(&parts, auth::csrf_cookie_name(secure)).map(str::to_owned);
    req = Request::from_parts(parts, body);
    let (token, fresh) = match existing {
        Some(t) if t.len() >= 32 => (t, false),
        _ => (crate::security::random_token(), true),
    };
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut resp = next.run(req).await;
    // A fresh token goes out with pages only (the forms that carry it). An
    // API answer, a script or an image fetched at the same moment as a page
    // (the outbox trying its device while the login page loads, once the
    // cookies were cleared) would otherwise set another token after the
    // page's, and the page's form would be refused.
    let is_page = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if fresh && is_page {
        let c = auth::set_cookie(auth::csrf_cookie_name(secure), &token, secure, None, true);
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageCtx,
    status: u16,
    message: String,
}

fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/open311/") || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Turns an [`ErrorKind`] response into a page (or JSON for the API) in the user's language.
pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let (parts, body) = req.into_parts();
    let lang = request_lang(&parts, None);
    let csrf = parts.extensions.get::<CsrfToken>().map(|c| c.0.clone()).unwrap_or_default();
    let asked = parts.clone();
    let resp = next.run(Request::from_parts(parts, body)).await;
    let (kind, detail, resp) = match resp.extensions().get::<ErrorKind>().copied() {
        Some(kind) => (kind, None, resp),
        None => match framework_rejection(resp).await {
            Ok(found) => found,
            Err(resp) => return resp,
        },
    };
    let marker = [("x-veille-error", kind.code())];
    if is_machine_path(&path) {
        let mut error = serde_json::json!({"code": kind.code(), "message": lang.t(kind.message_key())});
        if let Some(d) = detail {
            error["detail"] = d.into();
        }
        let mut out = (kind.status(), marker, axum::Json(serde_json::json!({ "error": error }))).into_response();
        // A 405 keeps the methods it names.
        if let Some(allow) = resp.headers().get(header::ALLOW) {
            out.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return out;
    }
    if kind == ErrorKind::Unauthenticated {
        return (marker, crate::page::see_other("/login")).into_response();
    }
    let demo = veille_app::instance::is_demo(&state).await.unwrap_or(false);
    // A refusal is drawn for who is logged in (its header, its links), not as
    // if the session had ended.
    let who = auth::authenticate(&asked, &state).await.ok().flatten();
    let user =
        who.as_ref().map(|w| crate::page::NavUser { account: w.account.id.to_string(), display_name: w.account.display_name.clone(), role: w.account.role });
    let nav = who.as_ref().map(|w| veille_app::navigation::links(&w.actor)).unwrap_or_default();
    // The page's own path (the language switch's way back) is not the path
    // asked for: whatever was typed into an unknown URL is not echoed.
    let page = ErrorPage {
        ctx: PageCtx { lang, csrf, user, demo, tile_url: String::new(), path: "/".into(), overdue_rounds: 0, open_alerts: 0, nav },
        status: kind.status().as_u16(),
        message: lang.t(kind.message_key()),
    };
    let mut r = crate::page::render(&page);
    *r.status_mut() = kind.status();
    if let Ok(v) = HeaderValue::from_str(kind.code()) {
        r.headers_mut().insert("x-veille-error", v);
    }
    r
}

/// The plain-text refusals of the framework itself (a query string, path or
/// body that does not decode; a method the route does not take) become errors
/// of ours, so every answer — page or API — has the same shape and language.
/// The framework's text (what failed to decode, and where) is kept as the
/// detail of an API answer: it goes back to the caller only, never to the logs.
async fn framework_rejection(resp: Response) -> Result<(ErrorKind, Option<String>, Response), Response> {
    let plain = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/plain"));
    let kind = match resp.status().as_u16() {
        400 | 415 | 422 if plain => ErrorKind::BadRequest,
        413 if plain => ErrorKind::TooLarge,
        405 => ErrorKind::MethodNotAllowed,
        _ => return Err(resp),
    };
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let detail = (!text.trim().is_empty()).then(|| text.trim().to_owned());
    Ok((kind, detail, Response::from_parts(parts, Body::empty())))
}

/// Reads a query string without NUL characters (`%00`), like every text that
/// comes in (see [`crate::forms::without_nul`]): a search for "a%00b" is a
/// search for "ab", not a database error.
pub async fn query_without_nul(mut req: Request, next: Next) -> Response {
    let cleaned = req.uri().query().filter(|q| q.contains("%00")).map(|q| q.replace("%00", ""));
    if let Some(query) = cleaned {
        let path = req.uri().path().to_owned();
        let rebuilt = if query.is_empty() { path } else { format!("{path}?{query}") };
        if let Ok(pq) = rebuilt.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    next.run(req).await
}

/// Runs every request to its end even when its client goes away. Without
/// it, a phone losing the network mid-sending had its request dropped
/// halfway, and with it a database transaction whose `BEGIN` or `COMMIT`
/// was on its way: sqlx does not always undo that, and the pooled
/// connection was left inside a transaction holding SQLite's write lock —
/// every write then waited until it gave up ("the database stayed busy",
/// seen in the 5 × 100 offline browser test). A write the client stopped
/// waiting for is finished and its answer thrown away; the client's retry
/// finds it done (sync operations are idempotent).
pub async fn run_to_completion(req: Request, next: Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => crate::error::AppError::new(crate::error::ErrorKind::Internal).into_response(),
    }
}

/// Counts requests and their latency by route template and status, and logs
/// one line per request with the template only — never the URL, which may
/// hold tokens or identifiers.
pub async fn observe(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let start = Instant::now();
    let resp = next.run(req).await;
    let elapsed = start.elapsed();
    let status = resp.status().as_u16();
    metrics::counter!("veille_http_requests_total", "method" => method.to_string(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("veille_http_request_duration_seconds", "method" => method.to_string(), "route" => route.clone()).record(elapsed.as_secs_f64());
    tracing::info!(method = %method, route = %route, status, latency_ms = elapsed.as_millis() as u64, "request");
    resp
}

/// Sets the language cookie from `?lang=` links is not used: the switch is a form (see routes).
pub fn lang_cookie(lang: Lang) -> String {
    format!("{}={}; Path=/; SameSite=Lax; Max-Age=31536000", auth::LANG_COOKIE, lang.code())
}

/// An empty body response with a status.
pub fn empty(status: axum::http::StatusCode) -> Response {
    Response::builder().status(status).body(Body::empty()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_request_whose_client_went_away_still_runs_to_its_end() {
        let (started, release, done) = (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()), Arc::new(AtomicBool::new(false)));
        let (s, r, d) = (started.clone(), release.clone(), done.clone());
        let handler = move || {
            let (s, r, d) = (s.clone(), r.clone(), d.clone());
            async move {
                s.notify_one();
                r.notified().await;
                d.store(true, Ordering::SeqCst);
                "ok"
            }
        };
        let app = axum::Router::new().route("/", axum::routing::post(handler)).layer(axum::middleware::from_fn(run_to_completion));
        let call = tokio::spawn(app.oneshot(Request::post("/").body(Body::empty()).expect("request")));
        started.notified().await;
        // The client goes away while the handler is halfway (its future is dropped).
        call.abort();
        assert!(call.await.is_err_and(|e| e.is_cancelled()));
        release.notify_one();
        let finished = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !done.load(Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(finished.is_ok(), "the handler ran to its end although its client went away");
    }
}
