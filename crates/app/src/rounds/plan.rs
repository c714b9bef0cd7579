//! Planning a round: from a slot of the schedule on a date, or a team with
//! times; it starts with its circuit's stops and the open reports assigned
//! to its team.

use veille_domain::{Action, CircuitId, Resource, ResourceKind, ScheduleSlotId, TeamId};
use veille_storage::rounds::{self, NewRound, NewStop, Round, Slot};
use veille_storage::{audit, Tx};

use super::{minutes_of, occurrence, own_team, rounds_gate};
use crate::error::Result;
use crate::{App, Caller, FieldErrors, Lang};

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
/// reports assigned to its team that the caller reads.
async fn first_stops(app: &App, who: &Caller, circuit: Option<CircuitId>, team: TeamId) -> Result<Vec<NewStop>> {
    let mut out = Vec::new();
    if let Some(c) = circuit {
        for s in rounds::circuit_stops(&app.db, c).await? {
            out.push(NewStop { site: s.site, report: None, label: s.label, point: s.lon.zip(s.lat) });
        }
    }
    out.extend(rounds::report_stops(&app.db, &who.scope(), team, None).await?);
    Ok(out)
}

/// Adds to a round still ahead the open reports assigned to its team since
/// it was planned (those the caller reads), in the caller's transaction;
/// returns how many.
pub async fn add_new_report_stops(app: &App, who: &Caller, tx: &mut Tx, round: &Round) -> Result<usize> {
    let new = rounds::report_stops(&app.db, &who.scope(), round.team, Some(round.id)).await?;
    for s in &new {
        rounds::add_stop(tx, round.id, s).await?;
    }
    Ok(new.len())
}

/// Checks and plans a round, audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn plan_round(app: &App, who: &Caller, lang: Lang, input: &PlanInput) -> Result<Result<Round, FieldErrors>> {
    rounds_gate(who)?;
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))?;
    let mut errors = FieldErrors::new();
    let date = chrono::NaiveDate::parse_from_str(input.date.trim(), "%Y-%m-%d").ok();
    if date.is_none() {
        errors.add("date", lang.t("round.error.date"));
    }
    let mut plan: Option<NewRound> = None;
    if !input.slot_id.is_empty() {
        let slot = match input.slot_id.parse() {
            Ok(id) => rounds::get_slot(&app.db, id).await.ok().filter(|s| s.organisation == who.account.organisation),
            Err(_) => None,
        };
        match (slot, date) {
            (Some(s), Some(d)) if i64::from(chrono::Datelike::weekday(&d).number_from_monday()) != s.weekday => {
                errors.add("date", lang.t("round.error.slot_day"))
            }
            (Some(s), Some(d)) => match occurrence(&s, d) {
                Some((start, end)) => {
                    plan = Some(NewRound {
                        organisation: s.organisation,
                        team: s.team,
                        circuit: s.circuit,
                        slot: Some(s.id),
                        territory: s.territory,
                        planned_start: start,
                        planned_end: end,
                    })
                }
                None => errors.add("date", lang.t("round.error.date")),
            },
            (None, _) => errors.add("slot_id", lang.t("form.choose_one")),
            _ => {}
        }
    } else {
        let team = own_team(app, who, &input.team_id).await?;
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
            Ok(id) => match rounds::get_circuit(&app.db, id).await {
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
            let slot = Slot {
                id: ScheduleSlotId::new(),
                organisation: t.organisation,
                team: t.id,
                weekday: 0,
                start_minute: s,
                end_minute: e,
                territory: None,
                circuit,
                note: String::new(),
                version: 0,
            };
            match occurrence(&slot, d) {
                Some((start, end)) => {
                    plan = Some(NewRound {
                        organisation: t.organisation,
                        team: t.id,
                        circuit,
                        slot: None,
                        territory: None,
                        planned_start: start,
                        planned_end: end,
                    })
                }
                None => errors.add("start", lang.t("round.error.time")),
            }
        }
    }
    let Some(plan) = plan.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(plan.organisation).in_territory(plan.territory))?;
    let stops = first_stops(app, who, plan.circuit, plan.team).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = rounds::create_round(&mut tx, &plan, &stops, who.account.id, now).await?;
    let detail = serde_json::json!({"team": plan.team.to_string(), "slot": plan.slot.map(|s| s.to_string()), "stops": stops.len()});
    audit::append(&mut tx, who.audit_entry(now, "create", "round", id, plan.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(rounds::get_round(&app.db, &who.scope(), id).await?))
}
