//! Figures of signalements for later reporting: counts by source, situation
//! type, level, status and channel, and response times (to acknowledgement,
//! to answer), over the queue's filters. Aggregated figures of the caller's
//! organisation (reports it owns or triaged), readable by every role of the
//! organisation but partners (`ResourceKind::Statistics`); no free text, no
//! place, no contact.

use schemars::JsonSchema;
use serde::Serialize;
use veille_domain::reports::{Channel, Source, Status, SITUATIONS};
use veille_domain::{Action, Resource, ResourceKind};
use veille_storage::reports::{self, Facts};
use veille_storage::Scope;

use crate::error::Result;
use crate::{App, Caller, Lang};

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
        by_source: counts(lang, "source", &Source::codes(), |c| n(&|f| f.source.code() == c)),
        by_situation: counts(lang, "situation", &SITUATIONS, |c| n(&|f| f.situations.iter().any(|s| s == c))),
        by_level: vec![
            Count { code: "1".into(), label: lang.t("report.level_1"), count: n(&|f| f.level != 2) },
            Count { code: "2".into(), label: lang.t("report.level_2"), count: n(&|f| f.level == 2) },
        ],
        by_status: counts(lang, "status", &Status::codes(), |c| n(&|f| f.status.code() == c)),
        by_channel: counts(lang, "channel", &Channel::codes(), |c| n(&|f| f.channel.code() == c)),
        acknowledged: delays(facts.iter().filter_map(|f| hours(f, f.acknowledged_at)).collect()),
        answered: delays(facts.iter().filter(|f| !f.duplicate).filter_map(|f| hours(f, f.answered_at)).collect()),
        truncated,
    }
}

pub async fn compute(app: &App, who: &Caller, q: &QueueQuery, lang: Lang) -> Result<Figures> {
    who.require(Action::Read, &Resource::new(ResourceKind::Statistics).owned_by(who.account.organisation))?;
    let facts = reports::facts(&app.db, &Scope::figures_of(who.account.organisation), &q.filter(app), MAX_REPORTS + 1).await?;
    let truncated = facts.len() as i64 > MAX_REPORTS;
    Ok(figures(lang, &facts[..facts.len().min(MAX_REPORTS as usize)], truncated))
}
