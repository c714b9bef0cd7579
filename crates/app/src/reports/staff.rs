//! The staff's side of signalements: the queue and its exports (CSV, map,
//! API), one report (an audited read) with everything its page shows, and
//! the commands on it — internal notes, status, level override, public answer,
//! the known site it is about, duplicates, and handing it to another team or
//! organisation. Each command checks the permission function, writes in one
//! transaction with its timeline event and audit entry, and mails the
//! reporters who asked to hear back when a public change is made.

use std::collections::HashMap;

use serde::Deserialize;
use veille_domain::reports::{Outcome, Source, Status, SITUATIONS};
use veille_domain::{Action, OrganisationId, ReportId, Resource, ResourceKind, Role, SiteId, TeamId, TerritoryId, Timestamp};
use veille_storage::reports::{self, Filter, Note, Report};
use veille_storage::sites::Site;
use veille_storage::territories::{self, Territory};
use veille_storage::timeline::{self, Event};
use veille_storage::{audit, organisations, teams, Scope};

use crate::access_panel::{who_can_read, PanelEntry};
use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

use super::{attached, entry, event, notify_reporter, resource, rules};

/// Whether the account reads reports at all (its organisation's personal records).
pub fn gate(who: &Caller) -> Result<()> {
    who.require(Action::Read, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))
}

/// Queue filters as typed in the page's form or the API's query (also of the
/// CSV export, the map and the figures). Unknown values filter nothing (the
/// API's contract refuses them before they come here).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct QueueQuery {
    /// Status code.
    #[serde(default)]
    pub status: String,
    /// Level (1 or 2).
    #[serde(default)]
    pub level: String,
    /// Territory id.
    #[serde(default)]
    pub territory: String,
    /// Situation type.
    #[serde(default)]
    pub situation: String,
    /// Source code.
    #[serde(default)]
    pub source: String,
    /// Received on or after this day (`YYYY-MM-DD`, Paris).
    #[serde(default)]
    pub from: String,
    /// Received on or before this day (`YYYY-MM-DD`, Paris).
    #[serde(default)]
    pub to: String,
    /// `1`: only open reports past a deadline.
    #[serde(default)]
    pub overdue: String,
}

/// Midnight of a Paris day, as an instant.
pub fn paris_day_start(text: &str) -> Option<Timestamp> {
    use chrono::TimeZone;
    let day = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    let local = chrono_tz::Europe::Paris.from_local_datetime(&day.and_hms_opt(0, 0, 0)?).earliest()?;
    Some(Timestamp::from_datetime(local.with_timezone(&chrono::Utc)))
}

impl QueueQuery {
    /// The storage filter of what was asked (the caller's scope is applied
    /// by the query itself).
    pub fn filter(&self, app: &App) -> Filter {
        Filter {
            status: Status::from_code(&self.status),
            level: self.level.parse::<i64>().ok().filter(|l| (1..=2).contains(l)),
            territory: self.territory.parse::<TerritoryId>().ok(),
            situation: SITUATIONS.contains(&self.situation.as_str()).then(|| self.situation.clone()),
            source: Source::from_code(&self.source),
            since: paris_day_start(&self.from),
            until: paris_day_start(&self.to).map(|t| t.plus_seconds(86_400)),
            overdue: (self.overdue == "1").then(|| (app.config.report_deadlines(), app.clock.now())),
            ..Default::default()
        }
    }

    /// The same filters as a query string (for the CSV, map and figures links).
    pub fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("status", &self.status),
            ("level", &self.level),
            ("territory", &self.territory),
            ("situation", &self.situation),
            ("source", &self.source),
            ("from", &self.from),
            ("to", &self.to),
            ("overdue", &self.overdue),
        ])
        .unwrap_or_default()
    }
}

/// Most lines the queue page lists (the count, CSV, map and API say how many match).
pub const QUEUE_PAGE: i64 = 500;
/// Most rows of a list through the API or a CSV export.
pub const CSV_MAX: i64 = 50_000;
/// Most points on the queue's map.
pub const MAP_MAX: i64 = 5_000;

/// A line of the queue.
#[derive(Clone, Debug)]
pub struct Line {
    /// The report.
    pub report: Report,
    /// Its territory's name.
    pub territory: String,
    /// When it must be acknowledged by.
    pub acknowledge_due: Timestamp,
    /// When it must be answered by.
    pub answer_due: Timestamp,
    /// Past a deadline it has not met.
    pub overdue: bool,
}

/// The queue page.
#[derive(Clone, Debug)]
pub struct Queue {
    /// The lines, newest first.
    pub lines: Vec<Line>,
    /// More reports match than are listed.
    pub truncated: bool,
    /// How many reports match.
    pub total: i64,
    /// Open reports past a deadline, within the caller's scope.
    pub overdue_count: i64,
    /// Every territory (for the filter).
    pub territories: Vec<Territory>,
    /// The caller takes reports in.
    pub can_take_in: bool,
    /// The caller works with sites (the map shows them beside the reports).
    pub with_sites: bool,
}

/// The queue: the reports the caller may read matching the filters.
pub async fn queue(app: &App, who: &Caller, q: &QueueQuery) -> Result<Queue> {
    gate(who)?;
    let territories = territories::list(&app.db).await?;
    let head = head_of(app, who, q, QUEUE_PAGE, &territories).await?;
    let with_sites = who.can(Action::Read, &Resource::new(ResourceKind::Site).owned_by(who.account.organisation)).allowed;
    let truncated = head.total > head.lines.len() as i64;
    Ok(Queue {
        lines: head.lines,
        truncated,
        total: head.total,
        overdue_count: head.overdue_count,
        territories,
        can_take_in: super::intake::gate(who).is_ok(),
        with_sites,
    })
}

/// The first lines of the queue, with how many match and how many open
/// reports are past a deadline.
#[derive(Clone, Debug)]
pub struct QueueHead {
    /// The first lines, newest first.
    pub lines: Vec<Line>,
    /// How many reports match.
    pub total: i64,
    /// Open reports past a deadline, within the caller's scope.
    pub overdue_count: i64,
}

/// The first `n` lines of the queue with the filters (the home page shows five).
pub async fn queue_head(app: &App, who: &Caller, q: &QueueQuery, n: i64) -> Result<QueueHead> {
    gate(who)?;
    let territories = territories::list(&app.db).await?;
    head_of(app, who, q, n, &territories).await
}

async fn head_of(app: &App, who: &Caller, q: &QueueQuery, n: i64, territories: &[Territory]) -> Result<QueueHead> {
    let scope = who.scope();
    let d = app.config.report_deadlines();
    let now = app.clock.now();
    let name = |id: Option<TerritoryId>| id.and_then(|id| territories.iter().find(|t| t.id == id)).map(|t| t.name.clone()).unwrap_or_default();
    let filter = q.filter(app);
    let found = reports::list(&app.db, &scope, &filter, n + 1).await?;
    let total = if found.len() as i64 > n { reports::count(&app.db, &scope, &filter).await? } else { found.len() as i64 };
    let lines = found
        .into_iter()
        .take(n as usize)
        .map(|r| Line {
            territory: name(r.territory),
            acknowledge_due: r.acknowledge_due(&d),
            answer_due: r.answer_due(&d),
            overdue: r.is_overdue(&d, now),
            report: r,
        })
        .collect();
    let overdue_count = reports::count(&app.db, &scope, &Filter { overdue: Some((d, now)), ..Default::default() }).await?;
    Ok(QueueHead { lines, total, overdue_count })
}

/// The reports the caller may read matching the filters, newest first (the API).
pub async fn list(app: &App, who: &Caller, q: &QueueQuery) -> Result<Vec<Report>> {
    gate(who)?;
    Ok(reports::list(&app.db, &who.scope(), &q.filter(app), CSV_MAX).await?)
}

/// The open reports of the filtered queue that have a point (closed ones
/// when the filter asks for them), with whether each is overdue: the
/// queue's map.
pub async fn map(app: &App, who: &Caller, q: &QueueQuery) -> Result<Vec<(Report, bool)>> {
    gate(who)?;
    let mut filter = q.filter(app);
    if filter.status != Some(Status::Closed) {
        filter.open = Some(true);
    }
    filter.placed = true;
    let d = app.config.report_deadlines();
    let now = app.clock.now();
    Ok(reports::list(&app.db, &who.scope(), &filter, MAP_MAX)
        .await?
        .into_iter()
        .map(|r| {
            let overdue = r.is_overdue(&d, now);
            (r, overdue)
        })
        .collect())
}

/// The queue with its filters as CSV, every column of the list's export
/// (no free text nor contact details): the export mechanism with its default
/// columns (`crate::exports`). Audited.
pub async fn export_csv(app: &App, who: &Caller, q: &QueueQuery) -> Result<String> {
    let filters = crate::exports::Filters::Reports(q.clone());
    Ok(crate::exports::export(app, who, Lang::Fr, &filters, &[], crate::exports::Format::Csv).await?.to_csv())
}

/// A report the caller may read, then do `action` on: not found when it may
/// not read it (its existence is not told), forbidden when it reads it but
/// may not do `action`.
pub async fn load(app: &App, who: &Caller, id: ReportId, action: Action) -> Result<Report> {
    gate(who)?;
    let report = reports::get(&app.db, &who.scope(), id).await?;
    who.require(action, &resource(&report))?;
    Ok(report)
}

/// [`load`] from an id as given in a path (not found when it does not parse).
pub async fn load_str(app: &App, who: &Caller, id: &str, action: Action) -> Result<Report> {
    load(app, who, id.parse().map_err(|_| Error::not_found())?, action).await
}

/// Reads a report: loaded as [`load`] does, and the read audited with the
/// restricted fields shown (`via`: `page`, `api`).
pub async fn read(app: &App, who: &Caller, id: &str, via: &str) -> Result<Report> {
    let report = load_str(app, who, id, Action::Read).await?;
    let fields: Vec<&str> = if reporter_for(who, &report).is_some() { vec!["reporter"] } else { vec![] };
    audit::append_now(&app.db, entry(who, app.clock.now(), "read", &report, serde_json::json!({"via": via, "restricted_fields": fields}))).await?;
    Ok(report)
}

/// The restricted reporter fields: identity and contact.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Reporter {
    /// Name, function, structure (partner intake).
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Agreed to be contacted and sent the follow-up by e-mail.
    pub consent: bool,
    /// The e-mail was confirmed (or typed by staff).
    pub email_confirmed: bool,
}

/// The reporter's identity and contact, if `who` may read them: those who may
/// update the report (its organisation's staff within their territories, the
/// coordinating organisation's staff who handle it), by the permission function.
pub fn reporter_for(who: &Caller, r: &Report) -> Option<Reporter> {
    let has_any = r.reporter_name.is_some() || r.contact_email.is_some() || r.contact_phone.is_some();
    (has_any && who.can(Action::Update, &resource(r)).allowed).then(|| Reporter {
        name: r.reporter_name.clone(),
        email: r.contact_email.clone(),
        phone: r.contact_phone.clone(),
        consent: r.contact_consent,
        email_confirmed: r.email_confirmed,
    })
}

/// Every site the caller may read (the query of `crate::sites`, scoped in SQL).
pub(crate) async fn readable_sites(app: &App, who: &Caller) -> Result<Vec<Site>> {
    crate::sites::readable_sites(app, who).await
}

/// A site the caller may read, if it exists.
pub(crate) async fn readable_site(app: &App, who: &Caller, id: SiteId) -> Result<Option<Site>> {
    Ok(crate::found(crate::sites::load_site(app, who, &id.to_string(), Action::Read).await)?.map(|(s, _)| s))
}

/// Everything the report page shows besides the report.
#[derive(Clone, Debug)]
pub struct Detail {
    /// The report.
    pub report: Report,
    /// "75118 · Paris 18e".
    pub territory: String,
    /// The organisation in charge.
    pub organisation: String,
    /// The team in charge.
    pub team: String,
    /// The timeline.
    pub events: Vec<Event>,
    /// Internal notes.
    pub notes: Vec<Note>,
    /// Who can see it.
    pub panel: Vec<PanelEntry>,
    /// The caller may change it.
    pub can_update: bool,
    /// The caller may hand it to another team or organisation.
    pub can_reassign: bool,
    /// Open reports near it in place and time, not judged distinct: possible duplicates.
    pub nearby: Vec<Report>,
    /// Reports attached to it as duplicates (those the caller may read).
    pub duplicates: Vec<Report>,
    /// The main report, when it is an attached duplicate (if readable).
    pub main: Option<Report>,
    /// The reporter's identity and contact, for those who may update the report.
    pub reporter: Option<Reporter>,
    /// It has a photo (shown to staff only).
    pub has_photo: bool,
    /// When it must be acknowledged by.
    pub acknowledge_due: Timestamp,
    /// When it must be answered by.
    pub answer_due: Timestamp,
    /// Past a deadline it has not met.
    pub overdue: bool,
    /// The known site it is linked to (when the caller may read it).
    pub site: Option<Site>,
    /// Active sites near its point, not linked: probably the same place.
    pub near_sites: Vec<Site>,
    /// Names of the sites the caller may read, for the timeline.
    pub site_names: HashMap<String, String>,
}

/// Everything the report page shows about a report the caller read.
pub async fn detail(app: &App, who: &Caller, report: Report) -> Result<Detail> {
    let territory = match report.territory {
        Some(t) => territories::get(&app.db, t).await.map(|t| format!("{} · {}", t.code, t.name)).unwrap_or_default(),
        None => String::new(),
    };
    let organisation = match report.organisation {
        Some(o) => organisations::get(&app.db, o).await?.name,
        None => String::new(),
    };
    let team = match report.team {
        Some(t) => teams::get(&app.db, t).await?.name,
        None => String::new(),
    };
    let res = resource(&report);
    let scope = who.scope();
    let nearby = possible_duplicates(app, who, &report).await?;
    let duplicates = reports::duplicates_of(&app.db, &scope, report.id).await?;
    let main = match report.duplicate_of {
        Some(m) => crate::found(reports::get(&app.db, &scope, m).await.map_err(Error::from))?,
        None => None,
    };
    let sites = readable_sites(app, who).await?;
    let site = report.site_id.and_then(|id| sites.iter().find(|s| s.id == id).cloned());
    let near_sites = sites_near(&sites, &report);
    let site_names = sites.iter().map(|s| (s.id.to_string(), s.name.clone())).collect();
    let d = app.config.report_deadlines();
    Ok(Detail {
        territory,
        organisation,
        team,
        events: timeline::of(&app.db, veille_domain::records::RecordKind::Report, report.id).await?,
        notes: reports::notes(&app.db, &report).await?,
        panel: who_can_read(&app.db, &who.actor, &res).await?,
        can_update: who.can(Action::Update, &res).allowed,
        can_reassign: may_reassign(who, &report),
        nearby,
        duplicates,
        main,
        reporter: reporter_for(who, &report),
        has_photo: reports::has_photo(&app.db, report.id).await?,
        acknowledge_due: report.acknowledge_due(&d),
        answer_due: report.answer_due(&d),
        overdue: report.is_overdue(&d, app.clock.now()),
        site,
        near_sites,
        site_names,
        report,
    })
}

/// Active sites within the duplicate radius of the triage rules of a report's
/// point and not linked to it: probably the place it is about.
fn sites_near(sites: &[Site], report: &Report) -> Vec<Site> {
    let Some(here) = report.lon.zip(report.lat).and_then(|(x, y)| veille_geo::LonLat::new(x, y).ok()) else { return Vec::new() };
    let radius = rules().repeat.radius_m;
    sites
        .iter()
        .filter(|s| s.status == "active" && report.site_id != Some(s.id))
        .filter(|s| veille_geo::LonLat::new(s.lon, s.lat).is_ok_and(|p| veille_geo::distance_m(p, here) <= radius))
        .cloned()
        .collect()
}

/// Open reports the caller may read, near this one in place and time (the
/// repeat window of the triage rules): possible duplicates, for the coordinator to judge.
async fn possible_duplicates(app: &App, who: &Caller, report: &Report) -> Result<Vec<Report>> {
    if report.duplicate_of.is_some() {
        return Ok(Vec::new());
    }
    let (Some(lon), Some(lat)) = (report.lon, report.lat) else { return Ok(Vec::new()) };
    let distinct = reports::kept_separate_from(&app.db, report.id).await?;
    let Ok(here) = veille_geo::LonLat::new(lon, lat) else { return Ok(Vec::new()) };
    let w = &rules().repeat;
    let window = w.days * 86_400;
    let found = reports::near(&app.db, &who.scope(), super::repeat_box(here), report.created_at.plus_seconds(-window)).await?;
    Ok(found
        .into_iter()
        .filter(|r| r.id != report.id && r.status.is_open() && r.duplicate_of.is_none() && !distinct.contains(&r.id))
        .filter(|r| r.created_at <= report.created_at.plus_seconds(window))
        .filter(|r| r.lon.zip(r.lat).and_then(|(x, y)| veille_geo::LonLat::new(x, y).ok()).is_some_and(|p| veille_geo::distance_m(p, here) <= w.radius_m))
        .collect())
}

fn one_error(field: &str, message: String) -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    errors
}

/// Adds an internal note.
pub async fn add_note(app: &App, who: &Caller, lang: Lang, report: &Report, body: &str) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(report))?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return Ok(Err(one_error("note", lang.t("report.staff.note_invalid"))));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    reports::add_note(&mut tx, report.id, who.account.id, body, now).await?;
    audit::append(&mut tx, entry(who, now, "update", report, serde_json::json!({"field": "internal_note"}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Checks a status change; the outcome is required to close.
pub fn check_status(lang: Lang, status: &str, outcome: &str) -> std::result::Result<(Status, Option<Outcome>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let status = Status::from_code(status);
    if status.is_none() {
        errors.add("status", lang.t("form.choose_one"));
    }
    let outcome = match (status, Outcome::from_code(outcome)) {
        (Some(Status::Closed), Some(o)) => Some(o),
        (Some(Status::Closed), None) => {
            errors.add("outcome", lang.t("report.staff.outcome_required"));
            None
        }
        _ => None,
    };
    match status {
        Some(s) if errors.is_empty() => Ok((s, outcome)),
        _ => Err(errors),
    }
}

/// Changes the status from the report page or the API (see [`super::change_status_in`]).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn set_status(
    app: &App,
    who: &Caller,
    lang: Lang,
    report: &Report,
    status: &str,
    outcome: &str,
    version: i64,
) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(report))?;
    let (status, outcome) = match check_status(lang, status, outcome) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = app.db.begin().await?;
    super::change_status_in(&mut tx, app, who, report, status, outcome, version, super::StatusFrom::Report).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Overrides the computed level, with a reason.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn override_level(
    app: &App,
    who: &Caller,
    lang: Lang,
    report: &Report,
    level: &str,
    reason: &str,
    version: i64,
) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(report))?;
    let mut errors = FieldErrors::new();
    let level = level.trim().parse::<i64>().ok().filter(|l| (1..=2).contains(l));
    if level.is_none() {
        errors.add("level", lang.t("form.choose_one"));
    }
    let reason = reason.trim();
    if reason.chars().count() < 5 || reason.chars().count() > 500 {
        errors.add("level_reason", lang.t("report.staff.override_reason_required"));
    }
    let Some(level) = level.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    reports::set_level(&mut tx, report, level, reason, version, now).await?;
    let from = report.effective_level().to_string();
    timeline::append(&mut tx, &event(who, now, report, "level").change(Some(&from), Some(&level.to_string())).detail(reason)).await?;
    let detail = serde_json::json!({"field": "level_override", "from": report.effective_level(), "to": level, "computed": report.level});
    audit::append(&mut tx, entry(who, now, "update", report, detail)).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Checks a public answer.
pub fn check_answer(lang: Lang, answer: &str) -> std::result::Result<String, FieldErrors> {
    let answer = answer.trim();
    if answer.is_empty() || answer.chars().count() > 2000 {
        return Err(one_error("answer", lang.t("report.staff.answer_invalid")));
    }
    Ok(answer.to_owned())
}

/// Publishes the public answer and tells the reporters who asked (the
/// report's and its attached duplicates').
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn publish_answer(app: &App, who: &Caller, lang: Lang, report: &Report, answer: &str, version: i64) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(report))?;
    let answer = match check_answer(lang, answer) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    let dups = attached(app, report).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    reports::set_answer(&mut tx, report, &answer, version, now).await?;
    timeline::append(&mut tx, &event(who, now, report, "answer")).await?;
    audit::append(&mut tx, entry(who, now, "update", report, serde_json::json!({"field": "public_answer"}))).await?;
    notify_reporter(&mut tx, app, report, report.status, &answer).await?;
    for d in &dups {
        notify_reporter(&mut tx, app, d, report.status, &answer).await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Links the report to a known site the caller may read (or unlinks it when
/// `site` is empty).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn link_site(app: &App, who: &Caller, lang: Lang, report: &Report, site: &str, version: i64) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(report))?;
    let site = match site.trim() {
        "" => None,
        s => match s.parse::<SiteId>().ok() {
            Some(id) if readable_site(app, who, id).await?.is_some() => Some(id),
            _ => return Ok(Err(one_error("site", lang.t("report.intake.site_invalid")))),
        },
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    reports::set_site(&mut tx, report, site, version, now).await?;
    let (from, to) = (report.site_id.map(|s| s.to_string()), site.map(|s| s.to_string()));
    timeline::append(&mut tx, &event(who, now, report, "site").change(from.as_deref(), to.as_deref())).await?;
    audit::append(&mut tx, entry(who, now, "update", report, serde_json::json!({"field": "site_id", "from": from, "to": to}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The other report of a duplicate decision: one the caller may update, not this one.
async fn other_report(app: &App, who: &Caller, report: &Report, other: &str) -> Result<Option<Report>> {
    let Ok(id) = other.trim().parse::<ReportId>() else { return Ok(None) };
    if id == report.id {
        return Ok(None);
    }
    let other = crate::found(reports::get(&app.db, &who.scope(), id).await.map_err(Error::from))?;
    Ok(other.filter(|o| who.can(Action::Update, &resource(o)).allowed))
}

fn not_a_pair(lang: Lang, key: &str) -> FieldErrors {
    one_error("nearby", lang.t(key))
}

/// This report is the same as the open report `other`: it is attached to it
/// (closed as a duplicate) and its reporter follows the main report from then on.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn attach_duplicate(app: &App, who: &Caller, lang: Lang, report: &Report, other: &str, version: i64) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(report))?;
    let Some(main) = other_report(app, who, report, other).await? else { return Ok(Err(not_a_pair(lang, "report.staff.duplicate_invalid"))) };
    if report.duplicate_of.is_some() || main.duplicate_of.is_some() || !main.status.is_open() || reports::duplicate_count(&app.db, report.id).await? > 0 {
        return Ok(Err(not_a_pair(lang, "report.staff.duplicate_invalid")));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    reports::attach_duplicate(&mut tx, report, &main, version, now).await?;
    timeline::append(&mut tx, &event(who, now, report, "duplicate_of").change(None, Some(&main.reference))).await?;
    timeline::append(&mut tx, &event(who, now, &main, "duplicate_attached").change(None, Some(&report.reference))).await?;
    let detail = serde_json::json!({"field": "duplicate_of", "main": main.id.to_string(), "from_status": report.status, "to": "closed"});
    audit::append(&mut tx, entry(who, now, "update", report, detail)).await?;
    audit::append(&mut tx, entry(who, now, "update", &main, serde_json::json!({"field": "duplicate_attached", "duplicate": report.id.to_string()}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The suggested report `other` is a different situation; it is not suggested again.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn keep_separate(app: &App, who: &Caller, lang: Lang, report: &Report, other: &str) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(report))?;
    let Some(other) = other_report(app, who, report, other).await? else { return Ok(Err(not_a_pair(lang, "report.staff.duplicate_invalid"))) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if reports::keep_separate(&mut tx, report, &other, who.account.id, now).await? {
        timeline::append(&mut tx, &event(who, now, report, "kept_separate").change(None, Some(&other.reference))).await?;
        timeline::append(&mut tx, &event(who, now, &other, "kept_separate").change(None, Some(&report.reference))).await?;
        audit::append(&mut tx, entry(who, now, "update", report, serde_json::json!({"field": "kept_separate", "other": other.id.to_string()}))).await?;
        audit::append(&mut tx, entry(who, now, "update", &other, serde_json::json!({"field": "kept_separate", "other": report.id.to_string()}))).await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Undoes an attachment: the report gets back the status it had and its own
/// follow-up. Gives the report to show next (the main one when readable).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn detach_duplicate(app: &App, who: &Caller, lang: Lang, report: &Report, version: i64) -> Result<std::result::Result<ReportId, FieldErrors>> {
    who.require(Action::Update, &resource(report))?;
    let Some(main_id) = report.duplicate_of else { return Ok(Err(not_a_pair(lang, "report.staff.not_a_duplicate"))) };
    let main = reports::get(&app.db, &Scope::instance("the main report a duplicate is detached from"), main_id).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    reports::detach_duplicate(&mut tx, report, &main, version, now).await?;
    timeline::append(&mut tx, &event(who, now, report, "duplicate_detached").change(None, Some(&main.reference))).await?;
    timeline::append(&mut tx, &event(who, now, &main, "duplicate_removed").change(None, Some(&report.reference))).await?;
    audit::append(&mut tx, entry(who, now, "update", report, serde_json::json!({"field": "duplicate_detached", "main": main.id.to_string()}))).await?;
    audit::append(&mut tx, entry(who, now, "update", &main, serde_json::json!({"field": "duplicate_removed", "duplicate": report.id.to_string()}))).await?;
    tx.commit().await?;
    Ok(Ok(if who.can(Action::Read, &resource(&main)).allowed { main.id } else { report.id }))
}

/// Whether `who` may hand the report to another team or organisation: a
/// coordinator or administrator who may change it (of the organisation in
/// charge, or of the coordinating organisation it is shared with).
pub fn may_reassign(who: &Caller, report: &Report) -> bool {
    matches!(who.account.role, Role::Coordinator | Role::OrgAdmin) && who.can(Action::Update, &resource(report)).allowed
}

/// A team or organisation a report can be handed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// The organisation.
    pub organisation: OrganisationId,
    /// The team, or none for the organisation's own triage queue.
    pub team: Option<TeamId>,
    /// "Maraude du soir · Ville de Paris", "Ville de Paris".
    pub label: String,
}

/// Every team of every organisation, and every organisation's triage queue,
/// a report can be handed to.
pub async fn handlers(app: &App) -> Result<Vec<Handler>> {
    let orgs = organisations::list(&app.db).await?;
    let mut out = Vec::new();
    for o in &orgs {
        out.push(Handler { organisation: o.id, team: None, label: o.name.clone() });
        for t in teams::list(&app.db, Some(o.id)).await? {
            out.push(Handler { organisation: o.id, team: Some(t.id), label: format!("{} · {}", t.name, o.name) });
        }
    }
    Ok(out)
}

/// Hands the report to another team (and its organisation), or to an
/// organisation's triage queue: `to` is `team:<id>` or `organisation:<id>`.
/// A coordinator's decision, on the timeline and audited; the report becomes
/// `assigned` (a team) or `received` (a triage queue) and its reporters hear
/// of the new status if it changed.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn reassign(app: &App, who: &Caller, lang: Lang, report: &Report, to: &str, version: i64) -> Result<std::result::Result<(), FieldErrors>> {
    if !may_reassign(who, report) {
        return Err(Error::forbidden());
    }
    let target = match to.trim().split_once(':') {
        Some(("team", id)) => match id.parse::<TeamId>().ok() {
            Some(t) => crate::found(teams::get(&app.db, t).await.map_err(Error::from))?.map(|t| (t.organisation, Some(t.id))),
            None => None,
        },
        Some(("organisation", id)) => match id.parse::<OrganisationId>().ok() {
            Some(o) => crate::found(organisations::get(&app.db, o).await.map_err(Error::from))?.map(|o| (o.id, None)),
            None => None,
        },
        _ => None,
    };
    let Some((organisation, team)) = target else { return Ok(Err(one_error("handler", lang.t("report.staff.handler_invalid")))) };
    if Some(organisation) == report.organisation && team == report.team {
        return Ok(Err(one_error("handler", lang.t("report.staff.handler_same"))));
    }
    let status = if team.is_some() { Status::Assigned } else { Status::Received };
    let status = if report.status.is_open() { status } else { report.status };
    let dups = attached(app, report).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    reports::set_handler(&mut tx, report, organisation, team, status, version, now).await?;
    let (from, to) = (report.team.map(|t| t.to_string()), team.map(|t| t.to_string()));
    let (org_from, org_to) = (report.organisation.map(|o| o.to_string()), organisation.to_string());
    timeline::append(&mut tx, &event(who, now, report, "reassigned").change(from.as_deref(), to.as_deref()).detail(&org_to)).await?;
    if status != report.status {
        timeline::append(&mut tx, &event(who, now, report, "status").change(Some(report.status.code()), Some(status.code()))).await?;
    }
    let detail =
        serde_json::json!({"field": "handler", "team_from": from, "team_to": to, "organisation_from": org_from, "organisation_to": org_to, "status": status});
    audit::append(&mut tx, entry(who, now, "update", report, detail)).await?;
    if status != report.status {
        notify_reporter(&mut tx, app, report, status, &report.public_answer).await?;
        for d in &dups {
            notify_reporter(&mut tx, app, d, status, &report.public_answer).await?;
        }
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// The internal notes of a report the caller read.
pub async fn notes(app: &App, report: &Report) -> Result<Vec<Note>> {
    Ok(reports::notes(&app.db, report).await?)
}

/// Whether a report the caller read has a photo.
pub async fn has_photo(app: &App, report: &Report) -> Result<bool> {
    Ok(reports::has_photo(&app.db, report.id).await?)
}
