//! The round itself: check-in as a pair, visits of its stops,
//! distributions, safety incidents, check-out or cancellation, and the daily
//! report's own fields. Each change is checked, then written with its audit
//! entry in one transaction.

use std::collections::BTreeMap;

use veille_domain::reports::Status;
use veille_domain::{Action, ItemId, Timestamp, UserId};
use veille_storage::rounds::{self, Round, INCIDENT_KINDS};
use veille_storage::{audit, reports, teams};

use super::{round_entry, round_resource};
use crate::error::Result;
use crate::sites::{count, field, MAX_COUNT};
use crate::{App, Caller, FieldErrors, Lang};

fn refuse(field: &str, message: String) -> Result<Result<(), FieldErrors>> {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    Ok(Err(errors))
}

/// Check-in: who goes out (at least two members of the team) and when the
/// team expects to be back.
#[derive(Clone, Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct CheckInInput {
    /// Accounts of the team going out (at least two).
    pub members: Vec<String>,
    /// Expected return: RFC 3339 or Paris wall-clock `2026-11-23T23:30`.
    pub expected_return: String,
}

impl CheckInInput {
    /// Reads the check-in form (`members` repeated, `expected_return`).
    pub fn from_form(pairs: &[(String, String)]) -> Self {
        CheckInInput {
            members: pairs.iter().filter(|(k, _)| k == "members").map(|(_, v)| v.clone()).collect(),
            expected_return: field(pairs, "expected_return"),
        }
    }
}

/// Starts a round: the pair rule, the expected return, and the open reports
/// assigned to the team since it was planned join its stops.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn check_in(app: &App, who: &Caller, lang: Lang, round: &Round, input: &CheckInInput, version: i64) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Update, &round_resource(round))?;
    let now = app.clock.now();
    if round.status != "planned" {
        return refuse("members", lang.t("round.error.not_planned"));
    }
    let mut errors = FieldErrors::new();
    let team_members = teams::members(&app.db, round.team).await?;
    let mut chosen: Vec<UserId> = Vec::new();
    for m in &input.members {
        match m.parse::<UserId>() {
            Ok(id) if team_members.contains(&id) => {
                if !chosen.contains(&id) {
                    chosen.push(id);
                }
            }
            _ => errors.add("members", lang.t("round.error.not_member")),
        }
    }
    if chosen.len() < 2 {
        errors.add("members", lang.t("round.error.pair"));
    }
    let expected = Timestamp::parse_paris(&input.expected_return).filter(|t| *t > now && *t <= now.plus_seconds(24 * 3600));
    if expected.is_none() {
        errors.add("expected_return", lang.t("round.error.expected_return"));
    }
    let Some(expected) = expected.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    let mut tx = app.db.begin().await?;
    rounds::check_in(&mut tx, round, &chosen, expected, who.account.id, version, now).await?;
    let added = super::add_new_report_stops(app, who, &mut tx, round).await?;
    let detail = serde_json::json!({"field": "status", "to": "started", "members": chosen.iter().map(|u| u.to_string()).collect::<Vec<_>>(), "expected_return": expected.to_rfc3339(), "report_stops_added": added});
    audit::append(&mut tx, round_entry(who, now, "update", round, detail)).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Ends a round: the team is back.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn check_out(app: &App, who: &Caller, lang: Lang, round: &Round, version: i64) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Update, &round_resource(round))?;
    if round.status != "started" {
        return refuse("check_out", lang.t("round.error.not_started"));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    rounds::check_out(&mut tx, round, who.account.id, version, now).await?;
    let late = round.expected_return_at.is_some_and(|t| t < now);
    audit::append(&mut tx, round_entry(who, now, "update", round, serde_json::json!({"field": "status", "to": "ended", "late": late}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Calls off a round that has not left.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn cancel(app: &App, who: &Caller, lang: Lang, round: &Round, version: i64) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Update, &round_resource(round))?;
    if round.status != "planned" {
        return refuse("cancel", lang.t("round.error.not_planned"));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    rounds::cancel(&mut tx, round, version, now).await?;
    audit::append(&mut tx, round_entry(who, now, "update", round, serde_json::json!({"field": "status", "to": "cancelled"}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A visit of a stop.
#[derive(Clone, Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct VisitInput {
    /// The stop.
    pub stop_id: String,
    /// Short note (no names).
    pub note: String,
}

/// Report statuses a visit moves forward, to `in_progress`.
const BEFORE_VISIT: [Status; 3] = [Status::Received, Status::Qualified, Status::Assigned];

/// Marks a stop visited; a stop carrying a report the caller may change
/// moves the report to `in_progress` — the one status change of reports
/// (`veille_app::reports::change_status_in`: timeline, audit, and the mails
/// to every reporter who asked to hear back).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn visit(app: &App, who: &Caller, lang: Lang, round: &Round, input: &VisitInput) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Update, &round_resource(round))?;
    if round.status != "started" {
        return refuse("stop_id", lang.t("round.error.not_started"));
    }
    if input.note.chars().count() > 1000 {
        return refuse("note", lang.t("site.error.too_long"));
    }
    let stops = rounds::stops(&app.db, &who.scope(), round.id).await?;
    let Some(stop) = stops.iter().find(|s| s.id == input.stop_id && s.visited_at.is_none()) else {
        return refuse("stop_id", lang.t("round.error.stop"));
    };
    let report = match stop.report {
        // The report as the caller reads it: one it may not read is not moved.
        Some(id) => match reports::get(&app.db, &who.scope(), id).await {
            Ok(r) => Some(r),
            Err(veille_storage::StorageError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    rounds::visit_stop(&mut tx, round.id, &stop.id, who.account.id, input.note.trim(), now).await?;
    let mut moved = None;
    if let Some(r) = report {
        let res = crate::reports::resource(&r);
        if BEFORE_VISIT.contains(&r.status) && who.can(Action::Update, &res).allowed {
            crate::reports::change_status_in(&mut tx, app, who, &r, Status::InProgress, None, r.version, crate::reports::StatusFrom::RoundStop(round.id))
                .await?;
            moved = Some(r.id.to_string());
        }
    }
    let detail = serde_json::json!({"field": "stop_visited", "stop": stop.id, "site": stop.site.map(|s| s.to_string()), "report": stop.report.map(|r| r.to_string()), "report_moved": moved});
    audit::append(&mut tx, round_entry(who, now, "update", round, detail)).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// What a round gave out: quantity per catalogue item (0 removes the line).
#[derive(Clone, Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct DistributionsInput {
    /// Item id → quantity.
    pub quantities: BTreeMap<String, i64>,
    /// Quantity fields of a form whose text was not a count.
    #[serde(skip)]
    pub unreadable: Vec<String>,
}

impl DistributionsInput {
    /// Reads the distributions form (`qty_<item id>` per item).
    pub fn from_form(pairs: &[(String, String)]) -> Self {
        let mut input = DistributionsInput::default();
        for (k, v) in pairs {
            let Some(item) = k.strip_prefix("qty_") else { continue };
            let v = v.trim();
            let n = if v.is_empty() { Some(0) } else { v.parse::<i64>().ok().filter(|n| (0..=MAX_COUNT).contains(n)) };
            match n {
                Some(n) => {
                    input.quantities.insert(item.to_owned(), n);
                }
                None => input.unreadable.push(k.clone()),
            }
        }
        input
    }
}

/// Checks and records what a round gave out (from its organisation's catalogue).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn set_distributions(app: &App, who: &Caller, lang: Lang, round: &Round, input: &DistributionsInput) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Update, &round_resource(round))?;
    let mut errors = FieldErrors::new();
    for k in &input.unreadable {
        errors.add(k, lang.t("site.error.count"));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    if round.status == "planned" || round.status == "cancelled" {
        return refuse("quantities", lang.t("round.error.not_started"));
    }
    let catalogue = rounds::items(&app.db, round.organisation).await?;
    let mut lines: Vec<(ItemId, i64)> = Vec::new();
    for (item, qty) in &input.quantities {
        let known = item.parse::<ItemId>().ok().filter(|id| catalogue.iter().any(|i| i.id == *id));
        match known {
            Some(id) if (0..=MAX_COUNT).contains(qty) => lines.push((id, *qty)),
            Some(id) => errors.add(&format!("qty_{id}"), lang.t("site.error.count")),
            None => errors.add("quantities", lang.t("round.error.item")),
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    rounds::set_distributions(&mut tx, round.id, &lines, now).await?;
    audit::append(&mut tx, round_entry(who, now, "update", round, serde_json::json!({"field": "distributions", "lines": lines.len()}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A safety incident, as the form sends it.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct IncidentInput {
    /// Kind code.
    pub kind: String,
    /// What happened (no names).
    pub description: String,
}

/// Checks and records a safety incident on a round that has left.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_incident(app: &App, who: &Caller, lang: Lang, round: &Round, input: &IncidentInput) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Update, &round_resource(round))?;
    let mut errors = FieldErrors::new();
    if !INCIDENT_KINDS.contains(&input.kind.as_str()) {
        errors.add("incident_kind", lang.t("form.choose_one"));
    }
    if input.description.chars().count() > 2000 {
        errors.add("incident_description", lang.t("site.error.too_long"));
    }
    if round.status == "planned" || round.status == "cancelled" {
        errors.add("incident_kind", lang.t("round.error.not_started"));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    rounds::add_incident(&mut tx, round.id, &input.kind, input.description.trim(), who.account.id, now).await?;
    audit::append(&mut tx, round_entry(who, now, "update", round, serde_json::json!({"field": "incident", "kind": input.kind}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The daily report's own fields, as typed in the form.
#[derive(Clone, Debug, Default)]
pub struct DailyReportInput {
    /// People met, as typed.
    pub people_total: String,
    /// Of whom new, as typed.
    pub people_new: String,
    /// Of whom already known, as typed.
    pub people_known: String,
    /// Mediations, as typed.
    pub mediations: String,
    /// What the mediations were about (no names).
    pub mediation_notes: String,
    /// Handover for the next team.
    pub handover: String,
}

impl DailyReportInput {
    /// Reads the daily report form.
    pub fn from_form(pairs: &[(String, String)]) -> Self {
        let f = |k: &str| field(pairs, k);
        DailyReportInput {
            people_total: f("people_total"),
            people_new: f("people_new"),
            people_known: f("people_known"),
            mediations: f("mediations"),
            mediation_notes: f("mediation_notes"),
            handover: f("handover"),
        }
    }
}

/// Checks and writes the daily report's counts, mediations and handover.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn save_daily_report(app: &App, who: &Caller, lang: Lang, round: &Round, input: &DailyReportInput, version: i64) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Update, &round_resource(round))?;
    let mut errors = FieldErrors::new();
    let mut num = |text: &str, k: &str| count(text, k, lang, &mut errors);
    let (total, new, known, mediations) = (
        num(&input.people_total, "people_total"),
        num(&input.people_new, "people_new"),
        num(&input.people_known, "people_known"),
        num(&input.mediations, "mediations"),
    );
    if new + known > total {
        errors.add("people_total", lang.t("round.error.people_sum"));
    }
    if input.mediation_notes.chars().count() > 4000 {
        errors.add("mediation_notes", lang.t("site.error.too_long"));
    }
    if input.handover.chars().count() > 4000 {
        errors.add("handover", lang.t("site.error.too_long"));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    rounds::set_report(&mut tx, round, (total, new, known), mediations, &input.mediation_notes, &input.handover, version, now).await?;
    audit::append(&mut tx, round_entry(who, now, "update", round, serde_json::json!({"field": "daily_report"}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}
