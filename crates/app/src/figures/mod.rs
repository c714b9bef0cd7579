//! The figures dashboard (issue 16; decisions 83 to 85): aggregated figures
//! of an organisation for a period and a filter (team, territory), each with
//! the period before it, by group — reports, encounters and unique people,
//! distributions, referrals, cases, shelter, mediations and sessions — and
//! trends over twelve months. Counted by the database through
//! `veille_storage::figures`, within `Scope::figures_of` the organisation
//! (what it owns and what is shared with it as coordinator); no record is
//! listed, no free text, no place.
//!
//! Small counts are suppressed ([`suppress`]) in every aggregate that leaves
//! the organisation: for a reader, for another organisation's figures (an
//! instance administrator), and always in the API, the exports and the
//! activity report ([`Audience::Outside`]).

pub mod export;
pub mod kept;
pub mod period;
pub mod suppress;

use std::collections::BTreeSet;

use chrono::Datelike;
use futures_util::{StreamExt, TryStreamExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use veille_domain::people::{AgeBand, Gender, Need, ReferralStatus};
use veille_domain::reports::{Channel, Source, Status, SITUATIONS};
use veille_domain::shelter::Night;
use veille_domain::{Action, OrganisationId, Resource, ResourceKind, Role, TeamId, TerritoryId};
use veille_storage::figures::{self as store, Counts, ReferralDim, ReportDim, SiteDim, Slice, Trend};
use veille_storage::Scope;

use crate::error::Result;
use crate::{App, Caller, FieldErrors, Lang};

pub use period::{Kind, Period};

/// The dashboard's choices, as typed (query string of the page, the API and
/// the exports). Every field may be empty: last month, the caller's
/// organisation, every team and territory.
#[derive(Deserialize, Serialize, Default, Clone, Debug, JsonSchema)]
pub struct FiguresQuery {
    /// `month` (default), `quarter`, `year` or `custom`.
    #[serde(default)]
    pub period: String,
    /// The month (`2026-11`), quarter (`2026-T4`) or year (`2026`); empty: the last one ended.
    #[serde(default)]
    pub at: String,
    /// First day of chosen days (`2026-11-03`), with `period=custom`.
    #[serde(default)]
    pub from: String,
    /// Last day of chosen days (included), with `period=custom`.
    #[serde(default)]
    pub to: String,
    /// The organisation (instance administrators; others: their own).
    #[serde(default)]
    pub organisation: String,
    /// Only this team (where records name a team).
    #[serde(default)]
    pub team: String,
    /// Only this territory.
    #[serde(default)]
    pub territory: String,
}

impl FiguresQuery {
    /// The choices as a query string (for the export links).
    pub fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// Who the figures are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The dashboard page: exact counts for the organisation's own staff,
    /// suppressed for readers and other organisations' figures.
    Page,
    /// The API, exports and the activity report: always suppressed.
    Outside,
}

/// The choices, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The period.
    pub period: Period,
    /// The organisation.
    pub organisation: OrganisationId,
    /// The team, if one.
    pub team: Option<TeamId>,
    /// The territory, if one.
    pub territory: Option<TerritoryId>,
}

/// Checks the choices (each error named by its field).
pub fn validate(app: &App, who: &Caller, lang: Lang, q: &FiguresQuery) -> std::result::Result<Choice, FieldErrors> {
    let mut errors = FieldErrors::new();
    let today = app.clock.now().paris_date();
    let kind = match q.period.trim() {
        "" => Kind::Month,
        code => Kind::from_code(code).unwrap_or_else(|| {
            errors.add("period", lang.t("figures.error.period"));
            Kind::Month
        }),
    };
    let period = match kind {
        Kind::Custom => {
            let day = |field: &str, v: &str, errors: &mut FieldErrors| {
                let d = chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
                if d.is_none() {
                    errors.add(field, lang.t("figures.error.date"));
                }
                d
            };
            match (day("from", &q.from, &mut errors), day("to", &q.to, &mut errors)) {
                (Some(a), Some(b)) if a > b => {
                    errors.add("to", lang.t("figures.error.order"));
                    None
                }
                (Some(a), Some(b)) if (b - a).num_days() > 3 * 366 => {
                    errors.add("to", lang.t("figures.error.too_long"));
                    None
                }
                (Some(a), Some(b)) => Some(Period::custom(a, b)),
                _ => None,
            }
        }
        _ if q.at.trim().is_empty() => Some(Period::last_of(kind, today)),
        _ => {
            let p = Period::parse(kind, &q.at);
            if p.is_none() {
                errors.add("at", lang.t("figures.error.at"));
            }
            p
        }
    };
    let organisation = match q.organisation.trim() {
        "" => Some(who.account.organisation),
        v => {
            let o = v.parse().ok();
            if o.is_none() {
                errors.add("organisation", lang.t("figures.error.organisation"));
            }
            o
        }
    };
    let team = match q.team.trim() {
        "" => None,
        v => {
            let t = v.parse().ok();
            if t.is_none() {
                errors.add("team", lang.t("figures.error.team"));
            }
            t
        }
    };
    let territory = match q.territory.trim() {
        "" => None,
        v => {
            let t = v.parse().ok();
            if t.is_none() {
                errors.add("territory", lang.t("figures.error.territory"));
            }
            t
        }
    };
    match (period, organisation) {
        (Some(period), Some(organisation)) if errors.is_empty() => Ok(Choice { period, organisation, team, territory }),
        _ => Err(errors),
    }
}

/// A count as shown: its value, or nothing when suppressed.
#[derive(Serialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    /// The count (null: suppressed, fewer than the threshold or its complement).
    pub value: Option<i64>,
}

impl Cell {
    /// The cell as text: the count, or `< 11` when suppressed.
    pub fn text(&self, min: i64) -> String {
        match self.value {
            Some(v) => v.to_string(),
            None => format!("< {min}"),
        }
    }
}

/// A row: one category in the period and in the period before.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Row {
    /// Code (or the name, for items and services).
    pub code: String,
    /// Label in the caller's language.
    pub label: String,
    /// The period.
    pub current: Cell,
    /// The period before.
    pub previous: Cell,
}

/// A table of counts.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Table {
    /// Stable id (`reports-source`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Rows.
    pub rows: Vec<Row>,
    /// The total the rows add up to (a partition), if they do.
    pub total: Option<Row>,
}

/// A measure (not a count): hours, a share.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Measure {
    /// Code.
    pub code: String,
    /// Label.
    pub label: String,
    /// The period (null: no value, or too few records to show it).
    pub current: Option<f64>,
    /// The period before.
    pub previous: Option<f64>,
}

/// A group of figures.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Group {
    /// Id (`reports`, `encounters`, `distributions`, `referrals`, `cases`, `shelter`, `mediations`).
    pub id: String,
    /// Title.
    pub title: String,
    /// What the team filter does here, when it does not apply.
    pub note: Option<String>,
    /// Measures.
    pub measures: Vec<Measure>,
    /// Tables.
    pub tables: Vec<Table>,
}

/// A series over twelve months.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Series {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Months (`2026-11`) and their counts.
    pub points: Vec<(String, Cell)>,
}

/// The dashboard.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct Dashboard {
    /// The organisation.
    #[schemars(with = "String")]
    pub organisation: OrganisationId,
    /// Its name.
    pub organisation_name: String,
    /// The period.
    pub period: Period,
    /// The period before.
    pub previous: Period,
    /// Team filter.
    #[schemars(with = "Option<String>")]
    pub team: Option<TeamId>,
    /// Territory filter.
    #[schemars(with = "Option<String>")]
    pub territory: Option<TerritoryId>,
    /// Whether small counts are suppressed.
    pub suppressed: bool,
    /// The threshold (counts from 1 to this minus 1 are not shown when suppressed).
    pub min_cell: i64,
    /// The groups.
    pub groups: Vec<Group>,
    /// Trends.
    pub trends: Vec<Series>,
}

impl Dashboard {
    /// One group.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }
}

/// How many groups of a dashboard are read at once: each reads its two
/// periods at once, so with the trends beside them five of a SQLite
/// instance's eight pooled connections at most, leaving the others to the
/// pages asked meanwhile (decision 100).
const GROUPS_AT_ONCE: usize = 2;

/// The reading of one group, as [`compute`] queues it.
type GroupRead<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Group>> + Send + 'a>>;

/// The ids of the groups, in order.
pub const GROUPS: [&str; 9] = ["reports", "encounters", "territories", "sites", "distributions", "referrals", "cases", "shelter", "mediations"];

/// The group a trend belongs to (a chosen section brings its trend).
fn trend_group(kind: &str) -> &str {
    match kind {
        "sites_population" => "sites",
        other => other,
    }
}

struct Ctx<'a> {
    app: &'a App,
    scope: Scope,
    lang: Lang,
    now: Slice,
    before: Slice,
    /// Territory names by id.
    territories: std::collections::HashMap<TerritoryId, String>,
    /// The reports of both periods, read once for the groups that count them.
    reports: tokio::sync::OnceCell<(store::ReportFacts, store::ReportFacts)>,
    /// The encounters of both periods by territory (with the unidentified
    /// people counted), read once for the groups that count them.
    places: tokio::sync::OnceCell<(Places, Places)>,
}

/// Encounters by territory: (territory, encounters, unidentified).
type Places = Vec<(String, i64, i64)>;

/// Counts of both periods, as raw numbers.
struct Both {
    now: Counts,
    before: Counts,
}

fn get(c: &Counts, code: &str) -> i64 {
    c.iter().filter(|(k, _)| k == code).map(|(_, n)| *n).sum()
}

/// Rows for a closed vocabulary (every code, in order; codes found outside it after).
fn coded(lang: Lang, family: &str, codes: &[&str], b: &Both) -> Vec<Row> {
    let mut all: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    for (k, _) in b.now.iter().chain(&b.before) {
        if !all.contains(k) {
            all.push(k.clone());
        }
    }
    all.into_iter()
        .map(|code| {
            let key = format!("{family}.{}", if code.is_empty() { "unknown" } else { &code });
            let label = lang.t(&key);
            let label = match () {
                _ if label != key => label,
                _ if code.is_empty() || code == "unknown" => lang.t("figures.unknown"),
                _ => code.clone(),
            };
            Row { current: Cell { value: Some(get(&b.now, &code)) }, previous: Cell { value: Some(get(&b.before, &code)) }, label, code }
        })
        .collect()
}

/// Rows for free names (items, services), largest first.
fn named(b: &Both, empty: &str) -> Vec<Row> {
    let names: BTreeSet<&String> = b.now.iter().chain(&b.before).map(|(k, _)| k).collect();
    let mut rows: Vec<Row> = names
        .into_iter()
        .map(|k| Row {
            code: k.clone(),
            label: if k.is_empty() { empty.to_owned() } else { k.clone() },
            current: Cell { value: Some(get(&b.now, k)) },
            previous: Cell { value: Some(get(&b.before, k)) },
        })
        .collect();
    rows.sort_by(|a, b| b.current.value.cmp(&a.current.value).then_with(|| a.label.cmp(&b.label)));
    rows
}

/// Rows by territory: each territory counted in either period, by name, then
/// the records placed in none (`none`).
fn by_territory(lang: Lang, names: &std::collections::HashMap<TerritoryId, String>, b: &Both) -> Vec<Row> {
    let ids: BTreeSet<&String> = b.now.iter().chain(&b.before).map(|(k, _)| k).filter(|k| !k.is_empty()).collect();
    let mut rows: Vec<Row> = ids
        .into_iter()
        .map(|k| Row {
            code: k.clone(),
            label: k.parse::<TerritoryId>().ok().and_then(|id| names.get(&id).cloned()).unwrap_or_else(|| k.clone()),
            current: Cell { value: Some(get(&b.now, k)) },
            previous: Cell { value: Some(get(&b.before, k)) },
        })
        .collect();
    rows.sort_by(|a, b| a.label.cmp(&b.label));
    rows.push(Row {
        code: "none".into(),
        label: lang.t("figures.no_territory"),
        current: Cell { value: Some(get(&b.now, "")) },
        previous: Cell { value: Some(get(&b.before, "")) },
    });
    rows
}

fn table(lang: Lang, id: &str, title: &str, rows: Vec<Row>, partition: bool) -> Table {
    let total = partition.then(|| Row {
        code: "total".into(),
        label: lang.t("figures.total"),
        current: Cell { value: Some(rows.iter().filter_map(|r| r.current.value).sum()) },
        previous: Cell { value: Some(rows.iter().filter_map(|r| r.previous.value).sum()) },
    });
    Table { id: id.into(), title: lang.t(title), rows, total }
}

fn counts_row(lang: Lang, code: &str, key: &str, now: i64, before: i64) -> Row {
    Row { code: code.into(), label: lang.t(key), current: Cell { value: Some(now) }, previous: Cell { value: Some(before) } }
}

fn hours(secs: Option<i64>) -> Option<f64> {
    secs.map(|s| (s as f64 / 360.0).round() / 10.0)
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

impl Ctx<'_> {
    async fn both<F, Fut>(&self, f: F) -> Result<Both>
    where
        F: Fn(Slice) -> Fut,
        Fut: std::future::Future<Output = veille_storage::error::Result<Counts>>,
    {
        let (now, before) = self.read_both(f).await?;
        Ok(Both { now, before })
    }

    /// One read for each period, this one and the one before, at once (on
    /// two connections: decision 100).
    async fn read_both<T, F, Fut>(&self, read: F) -> veille_storage::error::Result<(T, T)>
    where
        F: Fn(Slice) -> Fut,
        Fut: std::future::Future<Output = veille_storage::error::Result<T>>,
    {
        tokio::try_join!(read(self.now.clone()), read(self.before.clone()))
    }

    /// [`Ctx::read_both`] done once and kept in `cell` for the groups that share it.
    async fn kept<'c, T, F, Fut>(&self, cell: &'c tokio::sync::OnceCell<(T, T)>, read: F) -> Result<&'c (T, T)>
    where
        F: Fn(Slice) -> Fut,
        Fut: std::future::Future<Output = veille_storage::error::Result<T>>,
    {
        Ok(cell.get_or_try_init(|| self.read_both(read)).await?)
    }

    /// The reports received in each period (see `store::ReportFacts`).
    async fn report_facts(&self) -> Result<&(store::ReportFacts, store::ReportFacts)> {
        let (db, sc) = (&self.app.db, &self.scope);
        let deadlines = self.app.config.report_deadlines().answer_secs;
        self.kept(&self.reports, |s| async move { store::report_facts(db, sc, &s, deadlines).await }).await
    }

    /// The encounters of each period by territory.
    async fn places(&self) -> Result<&(Places, Places)> {
        let (db, sc) = (&self.app.db, &self.scope);
        self.kept(&self.places, |s| async move { store::encounters_by_territory(db, sc, &s).await }).await
    }

    /// Reports of both periods by a dimension.
    async fn reports_by(&self, dim: ReportDim) -> Result<Both> {
        let (now, before) = self.report_facts().await?;
        Ok(Both { now: now.by(dim), before: before.by(dim) })
    }

    async fn reports(&self) -> Result<Group> {
        let l = self.lang;
        let source = self.reports_by(ReportDim::Source).await?;
        let level = self.reports_by(ReportDim::Level).await?;
        let channel = self.reports_by(ReportDim::Channel).await?;
        let status = self.reports_by(ReportDim::Status).await?;
        let (facts, facts0) = self.report_facts().await?;
        let situation = Both { now: facts.by_situation(&SITUATIONS), before: facts0.by_situation(&SITUATIONS) };
        let (rt, rt0) = (facts.response_times(), facts0.response_times());
        let level_rows = vec![
            Row {
                code: "1".into(),
                label: l.t("report.level_1"),
                current: Cell { value: Some(get(&level.now, "1")) },
                previous: Cell { value: Some(get(&level.before, "1")) },
            },
            Row {
                code: "2".into(),
                label: l.t("report.level_2"),
                current: Cell { value: Some(get(&level.now, "2")) },
                previous: Cell { value: Some(get(&level.before, "2")) },
            },
        ];
        Ok(Group {
            id: "reports".into(),
            title: l.t("figures.group.reports"),
            note: None,
            measures: vec![
                Measure {
                    code: "median_hours".into(),
                    label: l.t("figures.measure.median_hours"),
                    current: hours(rt.median_secs),
                    previous: hours(rt0.median_secs),
                },
                Measure { code: "p90_hours".into(), label: l.t("figures.measure.p90_hours"), current: hours(rt.p90_secs), previous: hours(rt0.p90_secs) },
                Measure {
                    code: "within_deadline_percent".into(),
                    label: l.t("figures.measure.within_deadline"),
                    current: share(rt.within_deadline, rt.received),
                    previous: share(rt0.within_deadline, rt0.received),
                },
            ],
            tables: vec![
                table(
                    l,
                    "reports-answers",
                    "figures.table.answers",
                    vec![
                        counts_row(l, "received", "figures.row.received", rt.received, rt0.received),
                        counts_row(l, "answered", "figures.row.answered", rt.answered, rt0.answered),
                        counts_row(l, "within_deadline", "figures.row.within_deadline", rt.within_deadline, rt0.within_deadline),
                    ],
                    false,
                ),
                table(l, "reports-source", "figures.table.by_source", coded(l, "report.source", &Source::codes(), &source), true),
                table(l, "reports-situation", "figures.table.by_situation", coded(l, "report.situation", &SITUATIONS, &situation), false),
                table(l, "reports-level", "figures.table.by_level", level_rows, true),
                table(l, "reports-channel", "figures.table.by_channel", coded(l, "report.channel", &Channel::codes(), &channel), true),
                table(l, "reports-status", "figures.table.by_status", coded(l, "report.status", &Status::codes(), &status), true),
            ],
        })
    }

    async fn encounters(&self) -> Result<Group> {
        let (db, sc, l) = (&self.app.db, &self.scope, self.lang);
        let (t, t0) = {
            let (now, before) = self.places().await?;
            (store::place_totals(now), store::place_totals(before))
        };
        let (y, y0) = (self.now.from.paris_date().year(), self.before.from.paris_date().year());
        // One pass per period gives the three dimensions; the links between
        // files are read once for both.
        let [p, p0] = store::people_counts_in(db, sc, [(&self.now, y), (&self.before, y0)]).await?;
        let (files, files0) = (p.files, p0.files);
        let gender = Both { now: p.gender, before: p0.gender };
        let age = Both { now: p.age, before: p0.age };
        let novelty = Both { now: p.novelty, before: p0.novelty };
        let unique: i64 = gender.now.iter().map(|(_, n)| n).sum();
        let unique0: i64 = gender.before.iter().map(|(_, n)| n).sum();
        let mut age_codes = AgeBand::codes();
        age_codes.push("unknown");
        Ok(Group {
            id: "encounters".into(),
            title: l.t("figures.group.encounters"),
            note: None,
            measures: Vec::new(),
            tables: vec![
                table(
                    l,
                    "encounters-totals",
                    "figures.table.encounters",
                    vec![
                        counts_row(l, "encounters", "figures.row.encounters", t.0, t0.0),
                        counts_row(l, "unique_people", "figures.row.unique_people", unique, unique0),
                        counts_row(l, "files", "figures.row.files", files, files0),
                        counts_row(l, "unidentified", "figures.row.unidentified", t.1, t0.1),
                    ],
                    false,
                ),
                table(l, "people-novelty", "figures.table.novelty", coded(l, "figures.novelty", &["new", "known"], &novelty), true),
                table(l, "people-gender", "figures.table.gender", coded(l, "people.gender", &Gender::codes(), &gender), true),
                table(l, "people-age", "figures.table.age_band", coded(l, "people.age_band", &age_codes, &age), true),
            ],
        })
    }

    /// The group `id` of [`GROUPS`].
    async fn group(&self, id: &str, organisation: OrganisationId, period: &Period, previous: &Period) -> Result<Group> {
        match id {
            "reports" => self.reports().await,
            "encounters" => self.encounters().await,
            "territories" => self.territories().await,
            "sites" => self.sites().await,
            "distributions" => self.distributions().await,
            "referrals" => self.referrals().await,
            "cases" => self.cases().await,
            "shelter" => self.shelter(organisation, period, previous).await,
            _ => self.mediations().await,
        }
    }

    async fn territories(&self) -> Result<Group> {
        let (db, sc, l) = (&self.app.db, &self.scope, self.lang);
        let reports = self.reports_by(ReportDim::Territory).await?;
        let encounters = {
            let (now, before) = self.places().await?;
            let counts = |places: &Places| places.iter().map(|(k, n, _)| (k.clone(), *n)).collect();
            Both { now: counts(now), before: counts(before) }
        };
        let sites = self.both(|s| async move { store::sites_active_by(db, sc, &s, SiteDim::Territory).await }).await?;
        Ok(Group {
            id: "territories".into(),
            title: l.t("figures.group.territories"),
            note: None,
            measures: Vec::new(),
            tables: vec![
                table(l, "territories-reports", "figures.table.reports_by_territory", by_territory(l, &self.territories, &reports), true),
                table(l, "territories-encounters", "figures.table.encounters_by_territory", by_territory(l, &self.territories, &encounters), true),
                table(l, "territories-sites", "figures.table.sites_by_territory", by_territory(l, &self.territories, &sites), true),
            ],
        })
    }

    async fn sites(&self) -> Result<Group> {
        let (db, sc, l) = (&self.app.db, &self.scope, self.lang);
        let kinds = self.both(|s| async move { store::sites_active_by(db, sc, &s, SiteDim::Kind).await }).await?;
        let population = self
            .both(|s| async move {
                let bounds = [s.from, s.to];
                veille_storage::error::Result::<Counts>::Ok(store::site_population(db, sc, &s, &bounds).await?.into_iter().map(|(_, k, n)| (k, n)).collect())
            })
            .await?;
        let codes = veille_storage::sites::KINDS;
        Ok(Group {
            id: "sites".into(),
            title: l.t("figures.group.sites"),
            note: self.now.team.map(|_| l.t("figures.no_team")),
            measures: Vec::new(),
            tables: vec![
                table(l, "sites-kind", "figures.table.sites_by_kind", coded(l, "site.kind", &codes, &kinds), true),
                table(l, "sites-population", "figures.table.population_by_kind", coded(l, "site.kind", &codes, &population), true),
            ],
        })
    }

    async fn distributions(&self) -> Result<Group> {
        let (db, sc, l) = (&self.app.db, &self.scope, self.lang);
        let items = self.both(|s| async move { store::distributions_by_item(db, sc, &s).await }).await?;
        Ok(Group {
            id: "distributions".into(),
            title: l.t("figures.group.distributions"),
            note: None,
            measures: Vec::new(),
            tables: vec![table(l, "distributions-item", "figures.table.by_item", named(&items, ""), false)],
        })
    }

    async fn referrals(&self) -> Result<Group> {
        let (db, sc, l) = (&self.app.db, &self.scope, self.lang);
        let service = self.both(|s| async move { store::referrals_by(db, sc, &s, ReferralDim::Service).await }).await?;
        let outcome = self.both(|s| async move { store::referrals_by(db, sc, &s, ReferralDim::Outcome).await }).await?;
        let need_codes = Need::codes();
        let need = self
            .both(|s| {
                let codes = need_codes.clone();
                async move { store::referrals_by_need(db, sc, &s, &codes).await }
            })
            .await?;
        Ok(Group {
            id: "referrals".into(),
            title: l.t("figures.group.referrals"),
            note: self.now.team.map(|_| l.t("figures.no_team")),
            measures: Vec::new(),
            tables: vec![
                table(l, "referrals-service", "figures.table.by_service", named(&service, &l.t("figures.outside_directory")), true),
                table(l, "referrals-need", "figures.table.by_need", coded(l, "people.need", &need_codes, &need), false),
                table(l, "referrals-outcome", "figures.table.by_outcome", coded(l, "people.referral_status", &ReferralStatus::codes(), &outcome), true),
            ],
        })
    }

    async fn cases(&self) -> Result<Group> {
        let (db, sc, l) = (&self.app.db, &self.scope, self.lang);
        let (o, o0) = tokio::try_join!(store::cases_opened(db, sc, &self.now), store::cases_opened(db, sc, &self.before))?;
        let closed = self.both(|s| async move { store::cases_closed_by_outcome(db, sc, &s).await }).await?;
        Ok(Group {
            id: "cases".into(),
            title: l.t("figures.group.cases"),
            note: self.now.team.map(|_| l.t("figures.no_team")),
            measures: Vec::new(),
            tables: vec![
                table(l, "cases-opened", "figures.table.cases", vec![counts_row(l, "opened", "figures.row.cases_opened", o, o0)], false),
                table(
                    l,
                    "cases-outcome",
                    "figures.table.closed_by_outcome",
                    coded(l, "case.outcome", &veille_domain::cases::CaseOutcome::codes(), &closed),
                    true,
                ),
            ],
        })
    }

    async fn shelter(&self, organisation: OrganisationId, period: &Period, previous: &Period) -> Result<Group> {
        let (db, sc, l) = (&self.app.db, &self.scope, self.lang);
        let nights = |p: &Period| (Night::of_date(p.first).days(), Night::of_date(p.last).days() + 1);
        let (a, b) = nights(period);
        let (a0, b0) = nights(previous);
        let (o, o0) = tokio::try_join!(store::occupancy(db, sc, organisation, &self.now, a, b), store::occupancy(db, sc, organisation, &self.before, a0, b0))?;
        Ok(Group {
            id: "shelter".into(),
            title: l.t("figures.group.shelter"),
            note: self.now.team.map(|_| l.t("figures.no_team")),
            measures: vec![Measure {
                code: "occupancy_percent".into(),
                label: l.t("figures.measure.occupancy"),
                current: share(o.taken, o.offered),
                previous: share(o0.taken, o0.offered),
            }],
            tables: vec![table(
                l,
                "shelter-nights",
                "figures.table.shelter",
                vec![
                    counts_row(l, "stays", "figures.row.stays", o.stays, o0.stays),
                    counts_row(l, "taken", "figures.row.place_nights_taken", o.taken, o0.taken),
                    counts_row(l, "offered", "figures.row.place_nights_offered", o.offered, o0.offered),
                ],
                false,
            )],
        })
    }

    async fn mediations(&self) -> Result<Group> {
        let (db, sc, l) = (&self.app.db, &self.scope, self.lang);
        let outcome = self.both(|s| async move { store::mediations_by_outcome(db, sc, &s).await }).await?;
        let (s, s0) = tokio::try_join!(store::sessions_by_kind(db, sc, &self.now), store::sessions_by_kind(db, sc, &self.before))?;
        let pick = |v: &[(String, i64, i64)], att: bool| -> Counts { v.iter().map(|(k, n, a)| (k.clone(), if att { *a } else { *n })).collect() };
        let sessions = Both { now: pick(&s, false), before: pick(&s0, false) };
        let attendance = Both { now: pick(&s, true), before: pick(&s0, true) };
        let kinds = veille_domain::cases::MeetingKind::codes();
        Ok(Group {
            id: "mediations".into(),
            title: l.t("figures.group.mediations"),
            note: None,
            measures: Vec::new(),
            tables: vec![
                table(
                    l,
                    "mediations-outcome",
                    "figures.table.mediations",
                    coded(l, "neighbourhood.outcome", &veille_domain::neighbourhood::MediationOutcome::codes(), &outcome),
                    true,
                ),
                table(l, "sessions-kind", "figures.table.sessions", coded(l, "meeting.kind", &kinds, &sessions), true),
                table(l, "attendance-kind", "figures.table.attendance", coded(l, "meeting.kind", &kinds, &attendance), true),
            ],
        })
    }

    async fn trends(&self, period: &Period, wanted: &(dyn Fn(&str) -> bool + Sync)) -> Result<Vec<Series>> {
        let months = period.trend_months();
        let bounds: Vec<veille_domain::Timestamp> = months.iter().filter_map(|d| veille_domain::Timestamp::at_paris(*d, 0)).collect();
        let mut out = Vec::new();
        for (id, kind) in [
            ("reports", Some(Trend::Reports)),
            ("encounters", Some(Trend::Encounters)),
            ("sites_population", None),
            ("referrals", Some(Trend::Referrals)),
            ("mediations", Some(Trend::Mediations)),
        ] {
            if !wanted(trend_group(id)) {
                continue;
            }
            let counts = match kind {
                Some(kind) => store::trend(&self.app.db, &self.scope, &self.now, kind, &bounds).await?,
                None => {
                    // The population on sites, all kinds together, month by month.
                    let mut v = vec![0; bounds.len().saturating_sub(1)];
                    for (i, _, n) in store::site_population(&self.app.db, &self.scope, &self.now, &bounds).await? {
                        if let Some(slot) = v.get_mut(i) {
                            *slot += n;
                        }
                    }
                    v
                }
            };
            out.push(Series {
                id: format!("trend-{id}"),
                title: self.lang.t(&format!("figures.trend.{id}")),
                points: months.iter().zip(counts).map(|(m, n)| (m.format("%Y-%m").to_string(), Cell { value: Some(n) })).collect(),
            });
        }
        Ok(out)
    }
}

/// Whether the figures of `organisation` shown to `who` for `audience` are suppressed.
pub fn suppressed_for(who: &Caller, organisation: OrganisationId, audience: Audience) -> bool {
    audience == Audience::Outside || who.actor.role == Role::Reader || organisation != who.account.organisation
}

/// Computes the dashboard.
pub async fn dashboard(app: &App, who: &Caller, lang: Lang, choice: &Choice, audience: Audience) -> Result<Dashboard> {
    compute(app, who, lang, choice, audience, None).await
}

/// The groups (`GROUPS`) among `chosen`, in their order; none chosen (or
/// none known): every group.
pub fn chosen_sections(chosen: &[String]) -> Vec<&'static str> {
    let known: Vec<&'static str> = GROUPS.iter().copied().filter(|g| chosen.iter().any(|c| c == g)).collect();
    if known.is_empty() {
        GROUPS.to_vec()
    } else {
        known
    }
}

/// The dashboard with the chosen sections only (a funder's view, decision
/// 89): their groups and their trends.
pub async fn dashboard_of(app: &App, who: &Caller, lang: Lang, choice: &Choice, audience: Audience, chosen: &[String]) -> Result<Dashboard> {
    let sections = chosen_sections(chosen);
    compute(app, who, lang, choice, audience, Some(sections.as_slice())).await
}

/// One group of figures, as the API answers it.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct GroupFigures {
    /// The organisation.
    #[schemars(with = "String")]
    pub organisation: OrganisationId,
    /// The period.
    pub period: Period,
    /// The period before.
    pub previous: Period,
    /// Team filter.
    #[schemars(with = "Option<String>")]
    pub team: Option<TeamId>,
    /// Territory filter.
    #[schemars(with = "Option<String>")]
    pub territory: Option<TerritoryId>,
    /// Whether small counts are suppressed (always, in the API).
    pub suppressed: bool,
    /// The threshold.
    pub min_cell: i64,
    /// The figures.
    pub group: Group,
}

/// One group (`GROUPS`), for the API: always suppressed.
pub async fn group(app: &App, who: &Caller, lang: Lang, choice: &Choice, id: &str) -> Result<GroupFigures> {
    let mut d = compute(app, who, lang, choice, Audience::Outside, Some(&[id][..])).await?;
    d.trends.clear();
    let group = d.groups.into_iter().next().ok_or_else(crate::Error::not_found)?;
    Ok(GroupFigures {
        organisation: d.organisation,
        period: d.period,
        previous: d.previous,
        team: d.team,
        territory: d.territory,
        suppressed: d.suppressed,
        min_cell: d.min_cell,
        group,
    })
}

async fn compute(app: &App, who: &Caller, lang: Lang, choice: &Choice, audience: Audience, only: Option<&[&str]>) -> Result<Dashboard> {
    shown(app, who, lang, choice, audience, only, true).await
}

/// The dashboard computed from the records each time, without the kept
/// ones: what the benchmark compares with DuckDB's computation.
pub async fn computed(app: &App, who: &Caller, lang: Lang, choice: &Choice, audience: Audience) -> Result<Dashboard> {
    shown(app, who, lang, choice, audience, None, false).await
}

async fn shown(app: &App, who: &Caller, lang: Lang, choice: &Choice, audience: Audience, only: Option<&[&str]>, keep: bool) -> Result<Dashboard> {
    who.require(Action::Read, &Resource::new(ResourceKind::Statistics).owned_by(choice.organisation))?;
    let org = veille_storage::organisations::get(&app.db, choice.organisation).await.map_err(|_| crate::Error::not_found())?;
    // A past period's figures are shown again as computed while nothing
    // they count changed (decision 103); the epoch is read first, so a write
    // committed during the computation is in the figures and changes it.
    let key = format!("{choice:?}|{lang:?}|{only:?}");
    let epoch = if keep { store::epoch(&app.db, choice.period.end()).await? } else { None };
    let exact = match epoch.and_then(|e| app.figures.get(&key, e)) {
        Some(kept) => kept,
        None => {
            let computed = std::sync::Arc::new(exact(app, lang, choice, only).await?);
            if let Some(e) = epoch {
                app.figures.put(key, e, computed.clone());
            }
            computed
        }
    };
    let mut d = Dashboard::clone(&exact);
    d.organisation_name = org.name;
    d.suppressed = suppressed_for(who, choice.organisation, audience);
    if d.suppressed {
        apply_suppression(&mut d);
    }
    Ok(d)
}

/// The dashboard computed from the records, exact (no suppression, no
/// organisation name: [`shown`] adds them).
async fn exact(app: &App, lang: Lang, choice: &Choice, only: Option<&[&str]>) -> Result<Dashboard> {
    let previous = choice.period.previous();
    let slice = |p: &Period| Slice { from: p.start(), to: p.end(), team: choice.team, territory: choice.territory };
    let territories = crate::territories::names(&app.db).await?;
    let ctx = Ctx {
        app,
        scope: Scope::figures_of(choice.organisation),
        lang,
        now: slice(&choice.period),
        before: slice(&previous),
        territories,
        reports: Default::default(),
        places: Default::default(),
    };
    let wanted = |id: &str| only.is_none_or(|o| o.contains(&id));
    // The groups are read a few at a time, in their order, beside the
    // trends: the database works on several reads at once (each period of a
    // group on its own connection), as the reference engine of the benchmark
    // works on several cores (decision 100).
    // (Boxed: a stream of the futures themselves, no closure in its type,
    // which the compiler could not prove `Send` for every lifetime.)
    let reads: Vec<GroupRead<'_>> =
        GROUPS.into_iter().filter(|id| wanted(id)).map(|id| Box::pin(ctx.group(id, choice.organisation, &choice.period, &previous)) as GroupRead<'_>).collect();
    let groups = futures_util::stream::iter(reads).buffered(GROUPS_AT_ONCE).try_collect::<Vec<Group>>();
    let (groups, trends) = tokio::try_join!(groups, ctx.trends(&choice.period, &wanted))?;
    Ok(Dashboard {
        organisation: choice.organisation,
        organisation_name: String::new(),
        period: choice.period,
        previous,
        team: choice.team,
        territory: choice.territory,
        suppressed: false,
        min_cell: app.config.figures_min_cell,
        groups,
        trends,
    })
}

/// Suppresses the small counts of a dashboard (decision 84): each table
/// column (a partition with its total, or independent cells), the measures
/// computed from too few records, and each trend (the months of the period
/// and of the period before add up to its totals, so each set is completed).
pub fn apply_suppression(d: &mut Dashboard) {
    let min = d.min_cell;
    for g in &mut d.groups {
        // Measures drawn from fewer records than the threshold are not shown.
        let base = |t: &str, code: &str, now: bool| {
            g.tables.iter().find(|x| x.id == t).and_then(|x| x.rows.iter().find(|r| r.code == code)).and_then(|r| {
                if now {
                    r.current.value
                } else {
                    r.previous.value
                }
            })
        };
        let bases: Vec<(Option<i64>, Option<i64>)> = g
            .measures
            .iter()
            .map(|m| match m.code.as_str() {
                "median_hours" | "p90_hours" => (base("reports-answers", "answered", true), base("reports-answers", "answered", false)),
                "within_deadline_percent" => (base("reports-answers", "within_deadline", true), base("reports-answers", "within_deadline", false)),
                _ => (base("shelter-nights", "stays", true), base("shelter-nights", "stays", false)),
            })
            .collect();
        for (m, (now, before)) in g.measures.iter_mut().zip(bases) {
            if now.is_none_or(|v| v < min) {
                m.current = None;
            }
            if before.is_none_or(|v| v < min) {
                m.previous = None;
            }
        }
        for t in &mut g.tables {
            for now in [true, false] {
                let col = |r: &Row| if now { r.current.value } else { r.previous.value };
                let mut rows: Vec<suppress::Shown> = t.rows.iter().map(col).collect();
                let mut total = t.total.as_ref().and_then(col);
                if t.total.is_some() {
                    suppress::partition(&mut rows, &mut total, min);
                } else {
                    suppress::cells(&mut rows, min);
                }
                for (r, v) in t.rows.iter_mut().zip(rows) {
                    *(if now { &mut r.current } else { &mut r.previous }) = Cell { value: v };
                }
                if let Some(tot) = t.total.as_mut() {
                    *(if now { &mut tot.current } else { &mut tot.previous }) = Cell { value: total };
                }
            }
        }
    }
    let (p, q) = (d.period, d.previous);
    for s in &mut d.trends {
        let mut v: Vec<suppress::Shown> = s.points.iter().map(|(_, c)| c.value).collect();
        suppress::cells(&mut v, min);
        // The months inside a period add up to a total shown elsewhere.
        for period in [p, q] {
            let inside: Vec<usize> = s
                .points
                .iter()
                .enumerate()
                .filter(|(_, (m, _))| chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_ok_and(|d| d >= period.first && d <= period.last))
                .map(|(i, _)| i)
                .collect();
            if inside.len() > 1 {
                let mut part: Vec<suppress::Shown> = inside.iter().map(|i| v[*i]).collect();
                suppress::complement(&mut part, true);
                for (i, x) in inside.iter().zip(part) {
                    v[*i] = x;
                }
            }
        }
        for ((_, c), x) in s.points.iter_mut().zip(v) {
            *c = Cell { value: x };
        }
    }
}

/// Every count a dashboard shows (for the suppression test).
pub fn shown_counts(d: &Dashboard) -> Vec<Option<i64>> {
    let mut out = Vec::new();
    for g in &d.groups {
        for t in &g.tables {
            for r in t.rows.iter().chain(t.total.iter()) {
                out.push(r.current.value);
                out.push(r.previous.value);
            }
        }
    }
    for s in &d.trends {
        out.extend(s.points.iter().map(|(_, c)| c.value));
    }
    out
}

/// A territory on the map of figures (decision 88): its counts in the
/// period, suppressed as every figure that leaves the organisation.
#[derive(Serialize, JsonSchema, Clone, Debug)]
pub struct MapArea {
    /// The territory's id.
    pub id: String,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Reports received in the period.
    pub reports: Cell,
    /// Encounters placed in it.
    pub encounters: Cell,
    /// Sites active in the period.
    pub sites: Cell,
}

/// The map of figures: each territory of the instance with its counts in
/// the period (always suppressed: a cell below the threshold is not shown,
/// and no record is ever placed as a point), and the GeoJSON of their
/// outlines carrying the counts.
pub async fn map(app: &App, who: &Caller, lang: Lang, choice: &Choice) -> Result<Vec<MapArea>> {
    let d = compute(app, who, lang, choice, Audience::Outside, Some(&["territories"][..])).await?;
    map_of(app, &d).await
}

/// The map of a dashboard already computed (the figures page shows both: the
/// territories are not read twice), suppressed as [`map`] is whatever the
/// dashboard's audience.
pub async fn map_of(app: &App, d: &Dashboard) -> Result<Vec<MapArea>> {
    let mut d = Dashboard {
        organisation_name: d.organisation_name.clone(),
        groups: d.groups.iter().filter(|g| g.id == "territories").cloned().collect(),
        trends: Vec::new(),
        ..*d
    };
    if !d.suppressed {
        d.suppressed = true;
        apply_suppression(&mut d);
    }
    let cell = |table: &str, id: &str| -> Cell {
        d.groups
            .iter()
            .flat_map(|g| &g.tables)
            .find(|t| t.id == table)
            .and_then(|t| t.rows.iter().find(|r| r.code == id))
            .map(|r| r.current)
            .unwrap_or(Cell { value: Some(0) })
    };
    Ok(crate::territories::list(app)
        .await?
        .into_iter()
        .map(|t| {
            let id = t.id.to_string();
            MapArea {
                reports: cell("territories-reports", &id),
                encounters: cell("territories-encounters", &id),
                sites: cell("territories-sites", &id),
                code: t.code,
                name: t.name,
                id,
            }
        })
        .collect())
}

/// The areas as a GeoJSON FeatureCollection: each territory's outline with
/// its counts (`null` when suppressed).
pub async fn map_geojson(app: &App, areas: &[MapArea]) -> Result<serde_json::Value> {
    let mut outlines: serde_json::Value = serde_json::from_str(&crate::territories::outlines(app).await?).map_err(|e| anyhow::anyhow!("outlines: {e}"))?;
    if let Some(features) = outlines.get_mut("features").and_then(|f| f.as_array_mut()) {
        for f in features.iter_mut() {
            let code = f["properties"]["code"].as_str().unwrap_or_default().to_owned();
            if let Some(a) = areas.iter().find(|a| a.code == code) {
                f["properties"]["reports"] = serde_json::json!(a.reports.value);
                f["properties"]["encounters"] = serde_json::json!(a.encounters.value);
                f["properties"]["sites"] = serde_json::json!(a.sites.value);
            }
        }
    }
    Ok(outlines)
}

/// What the dashboard's form offers: the organisations the caller may see
/// figures of, the teams of the organisation, the territories.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Organisations (id, name).
    pub organisations: Vec<(String, String)>,
    /// Teams (id, name).
    pub teams: Vec<(String, String)>,
    /// Territories (id, name).
    pub territories: Vec<(String, String)>,
}

/// The choices the form offers.
pub async fn options(app: &App, who: &Caller, organisation: OrganisationId) -> Result<Options> {
    let organisations = crate::accounts::organisations(app, who)
        .await?
        .into_iter()
        .filter(|o| who.can(Action::Read, &Resource::new(ResourceKind::Statistics).owned_by(o.id)).allowed)
        .map(|o| (o.id.to_string(), o.name))
        .collect();
    let teams = crate::accounts::teams_of(app, Some(organisation)).await?.into_iter().map(|t| (t.id.to_string(), t.name)).collect();
    let territories = crate::territories::list(app).await?.into_iter().map(|t| (t.id.to_string(), t.name)).collect();
    Ok(Options { organisations, teams, territories })
}
