//! The figures page and API of signalements (computed by
//! `veille_app::reports::stats`: aggregated figures of the caller's
//! organisation, no free text, no place, no contact).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use veille_app::reports::staff::QueueQuery;

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::page::{render, PageCtx};
use crate::AppState;

pub use veille_app::reports::stats::{compute, Count, Delays, Figures};

#[derive(Template)]
#[template(path = "reports/stats.html")]
struct StatsPage {
    ctx: PageCtx,
    q: QueueQuery,
    f: Figures,
}

impl StatsPage {
    fn sections(&self) -> Vec<(String, &'static str, Vec<Count>)> {
        let f = &self.f;
        vec![
            (self.ctx.t("report.stats.by_level"), "stats-level", f.by_level.clone()),
            (self.ctx.t("report.stats.by_situation"), "stats-situation", f.by_situation.clone()),
            (self.ctx.t("report.stats.by_source"), "stats-source", f.by_source.clone()),
            (self.ctx.t("report.stats.by_status"), "stats-status", f.by_status.clone()),
            (self.ctx.t("report.stats.by_channel"), "stats-channel", f.by_channel.clone()),
        ]
    }
    /// A count, or `< 11` where it is suppressed.
    fn shown(&self, v: &Option<i64>) -> String {
        match (v, self.f.suppressed_below) {
            (Some(n), _) => n.to_string(),
            (None, Some(min)) => format!("< {min}"),
            (None, None) => "—".into(),
        }
    }
    /// What suppression does, when it applies.
    fn rule(&self) -> Option<String> {
        self.f.suppressed_below.map(|min| self.ctx.tf("figures.rule_text", &[("min", &min.to_string())]))
    }
    fn hours(&self, v: &Option<f64>) -> String {
        v.map(|h| format!("{h:.1}")).unwrap_or_else(|| "—".into())
    }
}

/// GET /reports/stats
pub async fn page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    let f = compute(&state, &who, &q, ctx.lang).await?;
    Ok(render(&StatsPage { ctx, q, f }))
}

/// GET /api/v1/reports/stats
pub async fn api(State(state): State<AppState>, who: Authenticated, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    let lang = Lang::from_code(&who.account.lang);
    Ok(Json(compute(&state, &who, &q, lang).await?).into_response())
}
