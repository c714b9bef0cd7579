//! The audit log's page and API (an organisation's administrators; every
//! entry for instance administrators).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use veille_app::accounts::{audit_log, AuditQuery};
use veille_storage::audit::Entry;

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::page::{render, PageCtx};
use crate::AppState;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    ctx: PageCtx,
    entries: Vec<Entry>,
    user: String,
    record: String,
    next_before: Option<i64>,
}

/// GET /audit
pub async fn page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<AuditQuery>) -> AppResult<Response> {
    let entries = audit_log(&state, &who, &q).await?;
    let next_before = if entries.len() == 100 { entries.last().map(|e| e.seq) } else { None };
    Ok(render(&AuditPage { ctx, entries, user: q.user, record: q.record, next_before }))
}

/// GET /api/v1/audit
pub async fn api(State(state): State<AppState>, who: Authenticated, Query(q): Query<AuditQuery>) -> AppResult<Response> {
    Ok(axum::Json(audit_log(&state, &who, &q).await?).into_response())
}
