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

/// GET /metrics: Prometheus text format (route templates and counts only).
pub async fn metrics(State(state): State<AppState>) -> Response {
    let pending = veille_app::instance::outbox_pending(&state).await.unwrap_or(-1);
    metrics::gauge!("veille_outbox_pending").set(pending as f64);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics_handle().render()).into_response()
}
