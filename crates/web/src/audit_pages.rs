//! Browsing the audit log by account and by record.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use veille_domain::{Action, Resource, ResourceKind, Role};
use veille_storage::audit::{self, Entry};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::page::{render, PageCtx};
use crate::AppState;

/// Filters.
#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    record: String,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    ctx: PageCtx,
    entries: Vec<Entry>,
    user: String,
    record: String,
    next_before: Option<i64>,
}

async fn entries(state: &AppState, who: &Authenticated, q: &AuditQuery) -> AppResult<Vec<Entry>> {
    who.require(Action::Read, &Resource::new(ResourceKind::AuditLog).owned_by(who.account.organisation))?;
    let organisation = (who.account.role != Role::InstanceAdmin).then_some(who.account.organisation);
    let filter = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.parse::<uuid::Uuid>().is_ok()).then(|| s.to_owned())
    };
    Ok(audit::list(
        &state.db,
        &audit::Query { organisation, actor_user: filter(&q.user), record_id: filter(&q.record), before_seq: q.before, limit: 100 },
    )
    .await?)
}

/// GET /audit
pub async fn page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<AuditQuery>) -> AppResult<Response> {
    let entries = entries(&state, &who, &q).await?;
    let next_before = if entries.len() == 100 { entries.last().map(|e| e.seq) } else { None };
    Ok(render(&AuditPage { ctx, entries, user: q.user, record: q.record, next_before }))
}

/// GET /api/v1/audit
pub async fn api(State(state): State<AppState>, who: Authenticated, Query(q): Query<AuditQuery>) -> AppResult<Response> {
    Ok(axum::Json(entries(&state, &who, &q).await?).into_response())
}
