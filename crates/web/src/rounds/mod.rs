//! Maraudes: teams go out on rounds (tournées) at the hours of the shared
//! weekly schedule, following circuits of ordered stops. A round starts with
//! the check-in of at least two members (the pair rule) and an expected
//! return time, and ends with the check-out; a round still out past that time
//! raises an alert to its organisation's coordinators. The open reports
//! assigned to the team appear among its stops; visiting such a stop moves the
//! report forward. The daily report (compte rendu) is built from what was
//! recorded on the round.
//!
//! Access: the schedule and circuits are [`ResourceKind::Schedule`] (read by
//! every organisation that goes out, written by the coordinators of the
//! team's organisation); rounds are [`ResourceKind::Record`] of the team's
//! organisation; the distribution catalogue is configuration of the
//! organisation, under [`ResourceKind::Team`] rules.

pub mod alerts;
pub mod api;
pub mod circuits;
pub mod coverage;
pub mod demo;
pub mod pages;
pub mod schedule;

use axum::routing::{get, post};
use veille_domain::{Action, CircuitId, ItemId, OrganisationId, Resource, ResourceKind, ScheduleSlotId, TeamId, Timestamp, UserId};
use veille_storage::rounds::{self, Circuit, NewRound, NewSlot, NewStop, Round, Slot};
use veille_storage::{audit, reports, teams, Tx};

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::i18n::Lang;
use crate::routes::{schema, Access, ApiDoc, QueryParam, Registry};
use crate::AppState;

/// The routes of maraudes: schedule, circuits, rounds, catalogue, coverage, and their API.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/schedule", Signed, "The shared weekly schedule of maraudes, by day and territory", get(schedule::page))
        .post("/schedule", Signed, "Add a slot to the shared schedule", post(schedule::create))
        .post("/schedule/{id}/delete", Signed, "Remove a slot of the shared schedule", post(schedule::delete))
        .get("/schedule.ics", Signed, "The shared schedule as iCalendar", get(schedule::ics))
        .get("/circuits", Signed, "Circuits of the teams", get(circuits::list))
        .post("/circuits", Signed, "Create a circuit", post(circuits::create))
        .get("/circuits/{id}", Signed, "A circuit: its ordered stops on a map", get(circuits::show))
        .post("/circuits/{id}/stops", Signed, "Add a stop to a circuit", post(circuits::add_stop))
        .post("/circuits/{id}/stops/remove", Signed, "Remove a stop from a circuit", post(circuits::remove_stop))
        .get("/rounds", Signed, "Rounds: overdue, today, planned, recent; plan a round", get(pages::list))
        .post("/rounds", Signed, "Plan a round", post(pages::plan))
        .get("/rounds/items", Signed, "The organisation's distribution catalogue", get(pages::items))
        .post("/rounds/items", Signed, "Add to or change the distribution catalogue", post(pages::change_items))
        .get("/rounds/{id}", Signed, "A round: check-in, stops, distributions, incidents, check-out (audited read)", get(pages::show))
        .post("/rounds/{id}/check-in", Signed, "Start a round: check-in of at least two members", post(pages::check_in))
        .post("/rounds/{id}/visit", Signed, "Mark a stop visited (moves its report forward)", post(pages::visit))
        .post("/rounds/{id}/distributions", Signed, "Record what the round gave out", post(pages::distributions))
        .post("/rounds/{id}/incidents", Signed, "Record a safety incident", post(pages::incident))
        .post("/rounds/{id}/check-out", Signed, "End a round: the team is back", post(pages::check_out))
        .post("/rounds/{id}/cancel", Signed, "Cancel a round that has not left", post(pages::cancel))
        .get("/rounds/{id}/report", Signed, "The daily team report of a round, printable (audited read)", get(pages::report))
        .post("/rounds/{id}/report", Signed, "Write the daily report's counts, mediations and handover", post(pages::save_report))
        .get("/coverage", Signed, "Coverage: sites nobody visited for N days, territories with no round this week", get(coverage::page))
        .get("/api/v1/teams", Signed, "Teams the caller may read, with members and kind", get(api::teams))
        .doc(ApiDoc::default().response(schema::<Vec<api::TeamView>>))
        .get("/api/v1/schedule", Signed, "The shared weekly schedule", get(api::schedule))
        .doc(ApiDoc::default().response(schema::<Vec<api::SlotView>>))
        .post("/api/v1/schedule", Signed, "Add a slot to the shared schedule", post(api::create_slot))
        .doc(ApiDoc::default().request(schema::<SlotInput>).response(schema::<api::SlotView>).status(201))
        .get("/api/v1/circuits", Signed, "Circuits with their ordered stops", get(api::circuits))
        .doc(ApiDoc::default().response(schema::<Vec<api::CircuitView>>))
        .get("/api/v1/rounds", Signed, "Rounds of the caller's organisation planned this week (or from/to)", get(api::rounds))
        .doc(ApiDoc::default().response(schema::<Vec<api::RoundView>>).query(&[
            QueryParam { name: "from", schema: r#"{"type": "string", "description": "Paris wall-clock time (2026-11-23T14:05) or RFC 3339 instant; this week's Monday when absent"}"#, required: false },
            QueryParam { name: "to", schema: r#"{"type": "string", "description": "Paris wall-clock time or RFC 3339 instant; a week after from when absent"}"#, required: false },
        ]))
        .post("/api/v1/rounds", Signed, "Plan a round", post(api::plan))
        .doc(ApiDoc::default().request(schema::<PlanInput>).response(schema::<api::RoundDetail>).status(201))
        .get("/api/v1/rounds/{id}", Signed, "A round with its members, stops, distributions and incidents (audited read)", get(api::round))
        .doc(ApiDoc::default().response(schema::<api::RoundDetail>))
        .post("/api/v1/rounds/{id}/check-in", Signed, "Start a round: check-in of at least two members", post(api::check_in))
        .doc(ApiDoc::default().request(schema::<CheckInInput>).response(schema::<api::RoundDetail>))
        .post("/api/v1/rounds/{id}/visits", Signed, "Mark a stop visited (moves its report forward)", post(api::visit))
        .doc(ApiDoc::default().request(schema::<VisitInput>).response(schema::<api::RoundDetail>))
        .post("/api/v1/rounds/{id}/distributions", Signed, "Set what the round gave out", post(api::distributions))
        .doc(ApiDoc::default().request(schema::<DistributionsInput>).response(schema::<api::RoundDetail>))
        .post("/api/v1/rounds/{id}/check-out", Signed, "End a round: the team is back", post(api::check_out))
        .doc(ApiDoc::default().response(schema::<api::RoundDetail>))
        .get("/api/v1/coverage", Signed, "Sites not visited for N days and territories with no round this week", get(api::coverage))
        .doc(ApiDoc::default().response(schema::<coverage::Coverage>).query(&[QueryParam { name: "days", schema: r#"{"type": "integer", "minimum": 1, "maximum": 365}"#, required: false }]))
}

/// A slot or circuit of the shared schedule: seen by every organisation that
/// goes out, written by the coordinators of the team's organisation.
pub fn schedule_resource(org: OrganisationId) -> Resource {
    Resource::new(ResourceKind::Schedule).owned_by(org)
}

/// A round: operational data of the team's organisation, placed in the territory of its slot.
pub fn round_resource(r: &Round) -> Resource {
    Resource::new(ResourceKind::Record).owned_by(r.organisation).in_territory(r.territory)
}

/// The distribution catalogue of an organisation (team rules: coordinators
/// and administrators write it, field workers read it).
pub fn catalogue_resource(org: OrganisationId) -> Resource {
    Resource::new(ResourceKind::Team).owned_by(org)
}

/// Whether the account works with the schedule at all.
pub fn schedule_gate(who: &Authenticated) -> AppResult<()> {
    Ok(who.require(Action::Read, &schedule_resource(who.account.organisation))?)
}

/// Whether the account works with rounds at all (its organisation's records).
pub fn rounds_gate(who: &Authenticated) -> AppResult<()> {
    Ok(who.require(Action::Read, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))?)
}

/// Loads a round: 404 when the account may not read it, 403 when it reads it
/// but may not do `action`.
pub async fn load_round(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<Round> {
    rounds_gate(who)?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    let round = rounds::get_round(&state.db, id).await?;
    if !who.can(Action::Read, &round_resource(&round)).allowed {
        return Err(AppError::not_found());
    }
    who.require(action, &round_resource(&round))?;
    Ok(round)
}

/// Loads a circuit the account may do `action` on.
pub async fn load_circuit(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<Circuit> {
    schedule_gate(who)?;
    let id: CircuitId = id.parse().map_err(|_| AppError::not_found())?;
    let c = rounds::get_circuit(&state.db, id).await?;
    who.require(action, &schedule_resource(c.organisation))?;
    Ok(c)
}

/// The audit entry of an action on a round.
pub fn round_entry<'a>(who: &Authenticated, at: Timestamp, action: &'a str, r: &Round, detail: serde_json::Value) -> audit::NewEntry<'a> {
    who.audit_entry(at, action, "round", r.id, r.organisation).with_detail(detail)
}

fn minutes_of(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// `20:30` for 1230 minutes.
pub fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes.rem_euclid(1440) / 60, minutes.rem_euclid(60))
}

/// A team of the caller's organisation, by id text.
async fn own_team(state: &AppState, who: &Authenticated, id: &str) -> AppResult<Option<teams::Team>> {
    let Ok(id) = id.parse::<TeamId>() else { return Ok(None) };
    match teams::get(&state.db, id).await {
        Ok(t) if t.organisation == who.account.organisation => Ok(Some(t)),
        Ok(_) | Err(veille_storage::StorageError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- schedule

/// A slot of the shared schedule, as the form and the API send it.
#[derive(Clone, Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct SlotInput {
    /// Team (of the caller's organisation).
    pub team_id: String,
    /// 1 (Monday) to 7 (Sunday).
    pub weekday: Option<i64>,
    /// Start, `HH:MM` in Europe/Paris.
    pub start: String,
    /// End, `HH:MM`; before the start when the round runs past midnight.
    pub end: String,
    /// Territory covered.
    pub territory_id: String,
    /// Circuit followed (of the same team).
    pub circuit_id: String,
    /// Meeting point, what the team offers (no names).
    pub note: String,
}

/// Checks and adds a slot; the form and the API share it.
pub async fn add_slot(state: &AppState, who: &Authenticated, lang: Lang, input: &SlotInput) -> AppResult<Result<ScheduleSlotId, FieldErrors>> {
    let mut errors = FieldErrors::new();
    let team = own_team(state, who, &input.team_id).await?;
    if team.is_none() {
        errors.add("team_id", lang.t("form.choose_one"));
    }
    let weekday = input.weekday.filter(|d| (1..=7).contains(d));
    if weekday.is_none() {
        errors.add("weekday", lang.t("form.choose_one"));
    }
    let start = minutes_of(&input.start);
    if start.is_none() {
        errors.add("start", lang.t("round.error.time"));
    }
    let end = minutes_of(&input.end);
    if end.is_none() || end == start {
        errors.add("end", lang.t("round.error.time"));
    }
    let territory = if input.territory_id.is_empty() {
        None
    } else {
        match input.territory_id.parse() {
            Ok(id) => match veille_storage::territories::get(&state.db, id).await {
                Ok(t) => Some(t.id),
                Err(_) => {
                    errors.add("territory_id", lang.t("form.choose_one"));
                    None
                }
            },
            Err(_) => {
                errors.add("territory_id", lang.t("form.choose_one"));
                None
            }
        }
    };
    let circuit = if input.circuit_id.is_empty() {
        None
    } else {
        match input.circuit_id.parse::<CircuitId>() {
            Ok(id) => match rounds::get_circuit(&state.db, id).await {
                Ok(c) if team.as_ref().is_some_and(|t| t.id == c.team) => Some(c.id),
                _ => {
                    errors.add("circuit_id", lang.t("round.error.circuit"));
                    None
                }
            },
            Err(_) => {
                errors.add("circuit_id", lang.t("round.error.circuit"));
                None
            }
        }
    };
    if input.note.chars().count() > 500 {
        errors.add("note", lang.t("site.error.too_long"));
    }
    let (Some(team), Some(weekday), Some(start), Some(end)) = (team, weekday, start, end) else { return Ok(Err(errors)) };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    who.require(Action::Create, &schedule_resource(team.organisation))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let slot = NewSlot { organisation: team.organisation, team: team.id, weekday, start_minute: start, end_minute: end, territory, circuit, note: input.note.trim().to_owned() };
    let id = rounds::create_slot(&mut tx, &slot, now).await?;
    audit::append(&mut tx, who.audit_entry(now, "create", "schedule_slot", id, team.organisation).with_detail(serde_json::json!({"team": team.id.to_string(), "weekday": weekday}))).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// The next occurrence of a slot starting at or after the Paris day `from`: (start, end).
pub fn occurrence(slot: &Slot, date: chrono::NaiveDate) -> Option<(Timestamp, Timestamp)> {
    let start = Timestamp::at_paris(date, slot.start_minute)?;
    let end_day = if slot.end_minute <= slot.start_minute { date.succ_opt()? } else { date };
    let end = Timestamp::at_paris(end_day, slot.end_minute)?;
    Some((start, end))
}

// ---------------------------------------------------------------- planning

/// A round to plan, as the form and the API send it: from a slot of the
/// schedule on a date, or a team with times.
#[derive(Clone, Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct PlanInput {
    /// A slot of the caller's organisation: team, times, territory and circuit come from it.
    pub slot_id: String,
    /// The day, `YYYY-MM-DD` (Europe/Paris).
    pub date: String,
    /// Team, when no slot is given.
    pub team_id: String,
    /// Start `HH:MM`, when no slot is given.
    pub start: String,
    /// End `HH:MM`, when no slot is given (before the start: the next day).
    pub end: String,
    /// Circuit, when no slot is given.
    pub circuit_id: String,
}

/// The stops a new round starts with: its circuit's stops, then the open
/// reports assigned to its team.
async fn first_stops(state: &AppState, circuit: Option<CircuitId>, team: TeamId) -> AppResult<Vec<NewStop>> {
    let mut out = Vec::new();
    if let Some(c) = circuit {
        for s in rounds::circuit_stops(&state.db, c).await? {
            out.push(NewStop { site: s.site, report: None, label: s.label, point: s.lon.zip(s.lat) });
        }
    }
    out.extend(report_stops(state, team, &[]).await?);
    Ok(out)
}

/// Stops for the open reports assigned to `team` not already among `have`.
async fn report_stops(state: &AppState, team: TeamId, have: &[uuid::Uuid]) -> AppResult<Vec<NewStop>> {
    // Every open report assigned to the team, filtered in SQL, with no row limit.
    let scope = veille_storage::Scope::instance("stops of a round: the open reports assigned to its team");
    let open = reports::list(&state.db, &scope, &reports::Filter { open: Some(true), team: Some(team), ..Default::default() }, i64::MAX).await?;
    Ok(open
        .into_iter()
        .rev()
        .filter(|r| r.duplicate_of.is_none() && !have.contains(&r.id.as_uuid()))
        .map(|r| NewStop { site: None, report: Some(r.id.as_uuid()), label: r.address.clone(), point: r.lon.zip(r.lat) })
        .collect())
}

/// Adds to a round still ahead the reports assigned to its team since it was planned.
pub async fn add_new_report_stops(state: &AppState, tx: &mut Tx, round: &Round) -> AppResult<usize> {
    let have: Vec<uuid::Uuid> = rounds::stops(&state.db, round.id).await?.into_iter().filter_map(|s| s.report).collect();
    let new = report_stops(state, round.team, &have).await?;
    for s in &new {
        rounds::add_stop(tx, round.id, s).await?;
    }
    Ok(new.len())
}

/// Checks and plans a round; the form and the API share it.
pub async fn plan_round(state: &AppState, who: &Authenticated, lang: Lang, input: &PlanInput) -> AppResult<Result<Round, FieldErrors>> {
    let mut errors = FieldErrors::new();
    let date = chrono::NaiveDate::parse_from_str(input.date.trim(), "%Y-%m-%d").ok();
    if date.is_none() {
        errors.add("date", lang.t("round.error.date"));
    }
    let mut plan: Option<NewRound> = None;
    if !input.slot_id.is_empty() {
        let slot = match input.slot_id.parse() {
            Ok(id) => rounds::get_slot(&state.db, id).await.ok().filter(|s| s.organisation == who.account.organisation),
            Err(_) => None,
        };
        match (slot, date) {
            (Some(s), Some(d)) if i64::from(chrono::Datelike::weekday(&d).number_from_monday()) != s.weekday => errors.add("date", lang.t("round.error.slot_day")),
            (Some(s), Some(d)) => match occurrence(&s, d) {
                Some((start, end)) => {
                    plan = Some(NewRound { organisation: s.organisation, team: s.team, circuit: s.circuit, slot: Some(s.id), territory: s.territory, planned_start: start, planned_end: end })
                }
                None => errors.add("date", lang.t("round.error.date")),
            },
            (None, _) => errors.add("slot_id", lang.t("form.choose_one")),
            _ => {}
        }
    } else {
        let team = own_team(state, who, &input.team_id).await?;
        if team.is_none() {
            errors.add("team_id", lang.t("form.choose_one"));
        }
        let (start, end) = (minutes_of(&input.start), minutes_of(&input.end));
        if start.is_none() {
            errors.add("start", lang.t("round.error.time"));
        }
        if end.is_none() || end == start {
            errors.add("end", lang.t("round.error.time"));
        }
        let circuit = match input.circuit_id.parse::<CircuitId>() {
            Ok(id) => match rounds::get_circuit(&state.db, id).await {
                Ok(c) if team.as_ref().is_some_and(|t| t.id == c.team) => Some(c.id),
                _ => {
                    errors.add("circuit_id", lang.t("round.error.circuit"));
                    None
                }
            },
            Err(_) if input.circuit_id.is_empty() => None,
            Err(_) => {
                errors.add("circuit_id", lang.t("round.error.circuit"));
                None
            }
        };
        if let (Some(t), Some(s), Some(e), Some(d)) = (team, start, end, date) {
            let slot = Slot { id: ScheduleSlotId::new(), organisation: t.organisation, team: t.id, weekday: 0, start_minute: s, end_minute: e, territory: None, circuit, note: String::new(), version: 0 };
            match occurrence(&slot, d) {
                Some((start, end)) => plan = Some(NewRound { organisation: t.organisation, team: t.id, circuit, slot: None, territory: None, planned_start: start, planned_end: end }),
                None => errors.add("start", lang.t("round.error.time")),
            }
        }
    }
    let Some(plan) = plan.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(plan.organisation).in_territory(plan.territory))?;
    let stops = first_stops(state, plan.circuit, plan.team).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = rounds::create_round(&mut tx, &plan, &stops, who.account.id, now).await?;
    let detail = serde_json::json!({"team": plan.team.to_string(), "slot": plan.slot.map(|s| s.to_string()), "stops": stops.len()});
    audit::append(&mut tx, who.audit_entry(now, "create", "round", id, plan.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(rounds::get_round(&state.db, id).await?))
}

// ---------------------------------------------------------------- the round itself

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

/// Checks and records a check-in; the form and the API share it.
pub async fn check_in(state: &AppState, who: &Authenticated, lang: Lang, round: &Round, input: &CheckInInput, version: i64) -> AppResult<Result<(), FieldErrors>> {
    let mut errors = FieldErrors::new();
    let now = state.clock.now();
    if round.status != "planned" {
        errors.add("members", lang.t("round.error.not_planned"));
        return Ok(Err(errors));
    }
    let team_members = teams::members(&state.db, round.team).await?;
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
    let mut tx = state.db.begin().await?;
    rounds::check_in(&mut tx, round, &chosen, expected, who.account.id, version, now).await?;
    let added = add_new_report_stops(state, &mut tx, round).await?;
    let detail = serde_json::json!({"field": "status", "to": "started", "members": chosen.iter().map(|u| u.to_string()).collect::<Vec<_>>(), "expected_return": expected.to_rfc3339(), "report_stops_added": added});
    audit::append(&mut tx, round_entry(who, now, "update", round, detail)).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Checks out a round: the team is back.
pub async fn check_out(state: &AppState, who: &Authenticated, lang: Lang, round: &Round, version: i64) -> AppResult<Result<(), FieldErrors>> {
    if round.status != "started" {
        let mut errors = FieldErrors::new();
        errors.add("check_out", lang.t("round.error.not_started"));
        return Ok(Err(errors));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    rounds::check_out(&mut tx, round, who.account.id, version, now).await?;
    let late = round.expected_return_at.is_some_and(|t| t < now);
    audit::append(&mut tx, round_entry(who, now, "update", round, serde_json::json!({"field": "status", "to": "ended", "late": late}))).await?;
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
const BEFORE_VISIT: [veille_domain::reports::Status; 3] =
    [veille_domain::reports::Status::Received, veille_domain::reports::Status::Qualified, veille_domain::reports::Status::Assigned];

/// Marks a stop visited; a stop carrying a report moves the report to
/// `in_progress` (its timeline and reporter follow). Form and API share it.
pub async fn visit(state: &AppState, who: &Authenticated, lang: Lang, round: &Round, input: &VisitInput) -> AppResult<Result<(), FieldErrors>> {
    let mut errors = FieldErrors::new();
    if round.status != "started" {
        errors.add("stop_id", lang.t("round.error.not_started"));
        return Ok(Err(errors));
    }
    if input.note.chars().count() > 1000 {
        errors.add("note", lang.t("site.error.too_long"));
        return Ok(Err(errors));
    }
    let stops = rounds::stops(&state.db, round.id).await?;
    let Some(stop) = stops.iter().find(|s| s.id == input.stop_id && s.visited_at.is_none()) else {
        errors.add("stop_id", lang.t("round.error.stop"));
        return Ok(Err(errors));
    };
    let report = match stop.report {
        Some(id) => match reports::get(&state.db, &veille_storage::Scope::instance("the report of a stop of a round being visited"), veille_domain::ReportId::from_uuid(id)).await {
            Ok(r) => Some(r),
            Err(veille_storage::StorageError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    rounds::visit_stop(&mut tx, round.id, &stop.id, who.account.id, input.note.trim(), now).await?;
    let mut moved = None;
    if let Some(r) = report {
        let res = crate::reports::resource(&r);
        if BEFORE_VISIT.contains(&r.status) && who.can(Action::Update, &res).allowed {
            veille_app::reports::change_status_in(&mut tx, state, who, &r, veille_domain::reports::Status::InProgress, None, r.version, veille_app::reports::StatusFrom::RoundStop(round.id)).await?;
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
    pub quantities: std::collections::BTreeMap<String, i64>,
}

/// Checks and records distributions; the form and the API share it.
pub async fn set_distributions(state: &AppState, who: &Authenticated, lang: Lang, round: &Round, input: &DistributionsInput) -> AppResult<Result<(), FieldErrors>> {
    let mut errors = FieldErrors::new();
    if round.status == "planned" || round.status == "cancelled" {
        errors.add("quantities", lang.t("round.error.not_started"));
        return Ok(Err(errors));
    }
    let catalogue = rounds::items(&state.db, round.organisation).await?;
    let mut lines: Vec<(ItemId, i64)> = Vec::new();
    for (item, qty) in &input.quantities {
        let known = item.parse::<ItemId>().ok().filter(|id| catalogue.iter().any(|i| i.id == *id));
        match known {
            Some(id) if (0..=100_000).contains(qty) => lines.push((id, *qty)),
            Some(id) => errors.add(&format!("qty_{id}"), lang.t("site.error.count")),
            None => errors.add("quantities", lang.t("round.error.item")),
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    rounds::set_distributions(&mut tx, round.id, &lines, now).await?;
    audit::append(&mut tx, round_entry(who, now, "update", round, serde_json::json!({"field": "distributions", "lines": lines.len()}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}
