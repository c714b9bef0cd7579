//! Liveness, readiness and Prometheus metrics.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// The process-wide metrics recorder.
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Only the first call in a process installs it (tests build many apps).
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// GET /healthz: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// GET /readyz: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if veille_app::instance::ready(&state).await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

/// GET /metrics: Prometheus text format (route templates and counts only),
/// for the monitoring only: with `Authorization: Bearer <metrics_token>`, or
/// from this machine when no token is set. Anyone else is refused.
pub async fn metrics(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let token = state.config.metrics_token.as_str();
    let allowed = if token.is_empty() {
        request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().is_some_and(|p| p.0.ip().is_loopback())
    } else {
        let sent = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
        veille_app::security::same(sent, token)
    };
    if !allowed {
        return crate::error::AppError::new(veille_app::ErrorKind::Forbidden).into_response();
    }
    let pending = veille_app::instance::outbox_pending(&state).await.unwrap_or(-1);
    metrics::gauge!("veille_outbox_pending").set(pending as f64);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics_handle().render()).into_response()
}
