//! Figures of signalements for later reporting: counts by source, situation
//! type, level, status and channel, and response times (to acknowledgement,
//! to answer), over the queue's filters. Aggregated figures of the caller's
//! organisation (reports it owns or triaged), readable by every role of the
//! organisation but partners (`ResourceKind::Statistics`); no free text, no
//! place, no contact. For a reader (a manager or funder: figures that leave
//! the teams) small counts are suppressed as on the dashboard (decision 84).

use schemars::JsonSchema;
use serde::Serialize;
use veille_domain::reports::SITUATIONS;
use veille_domain::{Action, Resource, ResourceKind, Role};
use veille_storage::reports::{self, Margins, Tallies};
use veille_storage::Scope;

use crate::error::Result;
use crate::{App, Caller, Lang};

use super::staff::QueueQuery;

/// A count of one category.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Count {
    /// Code.
    pub code: String,
    /// Label in the caller's language.
    pub label: String,
    /// Reports (null: suppressed for a reader, fewer than `figures_min_cell`
    /// or the cell that would give one back).
    pub count: Option<i64>,
}

/// Times from receipt to a step, in hours.
#[derive(Serialize, JsonSchema, Clone, Debug, Default)]
pub struct Delays {
    /// Reports that reached the step (null: suppressed for a reader, and
    /// then no median or percentile either).
    pub count: Option<i64>,
    /// Median, hours.
    pub median_hours: Option<f64>,
    /// 90th percentile, hours.
    pub p90_hours: Option<f64>,
}

/// The figures.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Figures {
    /// Reports counted (null: suppressed for a reader).
    pub total: Option<i64>,
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
    /// The threshold when small counts are suppressed (null: exact counts).
    pub suppressed_below: Option<i64>,
}

/// The quantiles of the response times shown, in thousandths: the median
/// and the 90th percentile.
const MEDIAN: i64 = 500;
const P90: i64 = 900;

/// The time at a quantile of [`reports::tallies`], in hours to a tenth.
fn hours(at: &[(i64, i64)], per_mille: i64) -> Option<f64> {
    at.iter().find(|(q, _)| *q == per_mille).map(|(_, secs)| (*secs as f64 / 3600.0 * 10.0).round() / 10.0)
}

fn counts(lang: Lang, family: &str, codes: &[&str], count: impl Fn(&str) -> i64) -> Vec<Count> {
    codes.iter().map(|c| Count { code: (*c).to_owned(), label: lang.t(&format!("report.{family}.{c}")), count: Some(count(c)) }).collect()
}

/// The counts of a breakdown of [`Margins`], labelled (a value's code is what it displays).
fn along<T: std::fmt::Display>(lang: Lang, family: &str, counted: &[(T, i64)]) -> Vec<Count> {
    counted.iter().map(|(v, n)| Count { code: v.to_string(), label: lang.t(&format!("report.{family}.{v}")), count: Some(*n) }).collect()
}

/// The figures of a set of reports counted together (see
/// [`reports::tallies`]), with the times to each step.
pub fn figures(lang: Lang, m: &Margins, situations: &[(Vec<String>, i64)], acknowledged: Delays, answered: Delays) -> Figures {
    Figures {
        total: Some(m.total),
        by_source: along(lang, "source", &m.by_source),
        by_situation: counts(lang, "situation", &SITUATIONS, |c| situations.iter().filter(|(set, _)| set.iter().any(|s| s == c)).map(|(_, n)| n).sum()),
        by_level: vec![
            Count { code: "1".into(), label: lang.t("report.level_1"), count: Some(m.total - m.level_2) },
            Count { code: "2".into(), label: lang.t("report.level_2"), count: Some(m.level_2) },
        ],
        by_status: along(lang, "status", &m.by_status),
        by_channel: along(lang, "channel", &m.by_channel),
        acknowledged,
        answered,
        suppressed_below: None,
    }
}

/// Suppresses the small counts of the figures (decision 84): each partition
/// of the total (source, level, status, channel) with its complement, the
/// situation types cell by cell (a report may have several), and the delays
/// of a step reached by too few reports.
pub fn suppress(f: &mut Figures, min: i64) {
    use crate::figures::suppress;
    let mut shown_total = f.total;
    suppress::cells(std::slice::from_mut(&mut shown_total), min);
    for rows in [&mut f.by_source, &mut f.by_level, &mut f.by_status, &mut f.by_channel] {
        let mut cells: Vec<_> = rows.iter().map(|c| c.count).collect();
        let mut total = shown_total;
        suppress::partition(&mut cells, &mut total, min);
        for (c, v) in rows.iter_mut().zip(cells) {
            c.count = v;
        }
    }
    let mut cells: Vec<_> = f.by_situation.iter().map(|c| c.count).collect();
    suppress::cells(&mut cells, min);
    for (c, v) in f.by_situation.iter_mut().zip(cells) {
        c.count = v;
    }
    for d in [&mut f.acknowledged, &mut f.answered] {
        if !suppress::holds(&[d.count], min) {
            *d = Delays { count: None, median_hours: None, p90_hours: None };
        }
    }
    f.total = shown_total;
    f.suppressed_below = Some(min);
}

/// How many reports the organisation's figures count (every report, no
/// filter), as `compute` shows it: `(count, None)`, or `(None, Some(min))`
/// when it is suppressed for a reader. A count, not the figures: the home
/// page shows only this.
pub async fn total(app: &App, who: &Caller) -> Result<(Option<i64>, Option<i64>)> {
    who.require(Action::Read, &Resource::new(ResourceKind::Statistics).owned_by(who.account.organisation))?;
    let n = reports::count(&app.db, &Scope::figures_of(who.account.organisation), &QueueQuery::default().filter(app)).await?;
    let mut shown = [Some(n)];
    if who.account.role == Role::Reader {
        crate::figures::suppress::cells(&mut shown, app.config.figures_min_cell);
    }
    Ok(match shown[0] {
        Some(n) => (Some(n), None),
        None => (None, Some(app.config.figures_min_cell)),
    })
}

pub async fn compute(app: &App, who: &Caller, q: &QueueQuery, lang: Lang) -> Result<Figures> {
    who.require(Action::Read, &Resource::new(ResourceKind::Statistics).owned_by(who.account.organisation))?;
    let (scope, filter) = (Scope::figures_of(who.account.organisation), q.filter(app));
    let Tallies { margins, situations, acknowledged, answered } = reports::tallies(&app.db, &scope, &filter, &[MEDIAN, P90]).await?;
    let reached = |n: i64, at: &[(i64, i64)]| Delays { count: Some(n), median_hours: hours(at, MEDIAN), p90_hours: hours(at, P90) };
    let acknowledged = reached(margins.acknowledged, &acknowledged);
    let answered = reached(margins.answered, &answered);
    let mut f = figures(lang, &margins, &situations, acknowledged, answered);
    if who.account.role == Role::Reader {
        suppress(&mut f, app.config.figures_min_cell);
    }
    Ok(f)
}
