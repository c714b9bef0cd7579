//! Figures of signalements for later reporting: counts by source, situation
//! type, level, status and channel, and response times (to acknowledgement,
//! to answer), over the queue's filters. Aggregated figures of the caller's
//! organisation (reports it owns or triaged), readable by every role of the
//! organisation but partners (`ResourceKind::Statistics`); no free text, no
//! place, no contact.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;
use veille_domain::{Action, Resource, ResourceKind};
use veille_storage::reports::{self, Facts, CHANNELS, SITUATIONS, SOURCES, STATUSES};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::page::{render, PageCtx};
use crate::AppState;

use super::staff::QueueQuery;

/// Most reports the figures are computed over.
pub const MAX_REPORTS: i64 = 200_000;

/// A count of one category.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Count {
    /// Code.
    pub code: String,
    /// Label in the caller's language.
    pub label: String,
    /// Reports.
    pub count: i64,
}

/// Times from receipt to a step, in hours.
#[derive(Serialize, JsonSchema, Clone, Debug, Default)]
pub struct Delays {
    /// Reports that reached the step.
    pub count: i64,
    /// Median, hours.
    pub median_hours: Option<f64>,
    /// 90th percentile, hours.
    pub p90_hours: Option<f64>,
}

/// The figures.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Figures {
    /// Reports counted.
    pub total: i64,
    /// By source.
    pub by_source: Vec<Count>,
    /// By situation type (a report with several types counts in each).
    pub by_situation: Vec<Count>,
    /// By level in force.
    pub by_level: Vec<Count>,
    /// By status.
    pub by_status: Vec<Count>,
    /// By channel.
    pub by_channel: Vec<Count>,
    /// Receipt to acknowledgement.
    pub acknowledged: Delays,
    /// Receipt to answer (duplicates attached to another report left out).
    pub answered: Delays,
    /// The figures stopped at this many reports (narrow the period).
    pub truncated: bool,
}

fn delays(mut hours: Vec<f64>) -> Delays {
    hours.sort_by(f64::total_cmp);
    let at = |q: f64| -> Option<f64> {
        if hours.is_empty() {
            return None;
        }
        let i = ((hours.len() as f64 * q).ceil() as usize).clamp(1, hours.len()) - 1;
        Some((hours[i] * 10.0).round() / 10.0)
    };
    Delays { count: hours.len() as i64, median_hours: at(0.5), p90_hours: at(0.9) }
}

fn counts(lang: Lang, family: &str, codes: &[&str], count: impl Fn(&str) -> i64) -> Vec<Count> {
    codes.iter().map(|c| Count { code: (*c).to_owned(), label: lang.t(&format!("report.{family}.{c}")), count: count(c) }).collect()
}

/// Computes the figures of a set of reports.
pub fn figures(lang: Lang, facts: &[Facts], truncated: bool) -> Figures {
    let n = |pred: &dyn Fn(&Facts) -> bool| facts.iter().filter(|f| pred(f)).count() as i64;
    let hours = |f: &Facts, t: Option<veille_domain::Timestamp>| t.map(|t| f.created_at.seconds_until(t) as f64 / 3600.0);
    Figures {
        total: facts.len() as i64,
        by_source: counts(lang, "source", &SOURCES, |c| n(&|f| f.source == c)),
        by_situation: counts(lang, "situation", &SITUATIONS, |c| n(&|f| f.situations.iter().any(|s| s == c))),
        by_level: vec![
            Count { code: "1".into(), label: lang.t("report.level_1"), count: n(&|f| f.level != 2) },
            Count { code: "2".into(), label: lang.t("report.level_2"), count: n(&|f| f.level == 2) },
        ],
        by_status: counts(lang, "status", &STATUSES, |c| n(&|f| f.status == c)),
        by_channel: counts(lang, "channel", &CHANNELS, |c| n(&|f| f.channel == c)),
        acknowledged: delays(facts.iter().filter_map(|f| hours(f, f.acknowledged_at)).collect()),
        answered: delays(facts.iter().filter(|f| !f.duplicate).filter_map(|f| hours(f, f.answered_at)).collect()),
        truncated,
    }
}

async fn compute(state: &AppState, who: &Authenticated, q: &QueueQuery, lang: Lang) -> AppResult<Figures> {
    who.require(Action::Read, &Resource::new(ResourceKind::Statistics).owned_by(who.account.organisation))?;
    let mut filter = q.filter_unscoped(state);
    filter.organisation = Some(who.account.organisation);
    let facts = reports::facts(&state.db, &filter, MAX_REPORTS + 1).await?;
    let truncated = facts.len() as i64 > MAX_REPORTS;
    Ok(figures(lang, &facts[..facts.len().min(MAX_REPORTS as usize)], truncated))
}

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
