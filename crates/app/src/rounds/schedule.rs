//! The shared weekly schedule: which team goes where, when, across every
//! organisation that goes out, by day and territory; its iCalendar export.

use std::collections::HashMap;

use veille_domain::{Action, CircuitId, OrganisationId, ScheduleSlotId, TeamId, TerritoryId, Timestamp};
use veille_storage::rounds::{self, NewSlot, Slot};
use veille_storage::{audit, organisations, teams, territories};

use super::{minutes_of, own_team, schedule_gate, schedule_resource};
use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

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

/// Checks and adds a slot to the shared schedule, audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_slot(app: &App, who: &Caller, lang: Lang, input: &SlotInput) -> Result<Result<ScheduleSlotId, FieldErrors>> {
    schedule_gate(who)?;
    who.require(Action::Create, &schedule_resource(who.account.organisation))?;
    let mut errors = FieldErrors::new();
    let team = own_team(app, who, &input.team_id).await?;
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
        match input.territory_id.parse::<TerritoryId>() {
            Ok(id) => match territories::get(&app.db, id).await {
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
            Ok(id) => match rounds::get_circuit(&app.db, id).await {
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
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let slot = NewSlot {
        organisation: team.organisation,
        team: team.id,
        weekday,
        start_minute: start,
        end_minute: end,
        territory,
        circuit,
        note: input.note.trim().to_owned(),
    };
    let id = rounds::create_slot(&mut tx, &slot, now).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "create", "schedule_slot", id, team.organisation)
            .with_detail(serde_json::json!({"team": team.id.to_string(), "weekday": weekday})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Removes a slot of the caller's organisation from the schedule, audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn delete_slot(app: &App, who: &Caller, id: &str) -> Result<()> {
    schedule_gate(who)?;
    who.require(Action::Delete, &schedule_resource(who.account.organisation))?;
    let slot = rounds::get_slot(&app.db, id.parse().map_err(|_| Error::not_found())?).await?;
    who.require(Action::Delete, &schedule_resource(slot.organisation))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    rounds::delete_slot(&mut tx, slot.id).await?;
    audit::append(&mut tx, who.audit_entry(now, "delete", "schedule_slot", slot.id, slot.organisation)).await?;
    tx.commit().await?;
    Ok(())
}

/// A slot as the schedule shows it.
#[derive(Clone, Debug)]
pub struct Line {
    /// The slot.
    pub slot: Slot,
    /// Team name.
    pub team: String,
    /// Team kind code.
    pub kind: String,
    /// Organisation name.
    pub organisation: String,
    /// Territory name.
    pub territory: String,
    /// Circuit name.
    pub circuit: String,
    /// Whether the viewer may remove it.
    pub can_delete: bool,
    /// Whether it is the viewer's organisation's.
    pub own: bool,
}

/// Names of what slots point to.
struct Names {
    teams: HashMap<TeamId, (String, String)>,
    orgs: HashMap<OrganisationId, String>,
    territories: HashMap<TerritoryId, String>,
    circuits: HashMap<CircuitId, String>,
}

impl Names {
    async fn load(app: &App) -> Result<Self> {
        Ok(Self {
            teams: teams::list(&app.db, None).await?.into_iter().map(|t| (t.id, (t.name, t.kind))).collect(),
            orgs: organisations::list(&app.db).await?.into_iter().map(|o| (o.id, o.name)).collect(),
            territories: crate::territories::names(&app.db).await?,
            circuits: rounds::circuits(&app.db).await?.into_iter().map(|c| (c.id, c.name)).collect(),
        })
    }
    fn line(&self, who: &Caller, slot: Slot) -> Line {
        let (team, kind) = self.teams.get(&slot.team).cloned().unwrap_or_default();
        Line {
            team,
            kind,
            organisation: self.orgs.get(&slot.organisation).cloned().unwrap_or_default(),
            territory: slot.territory.and_then(|t| self.territories.get(&t).cloned()).unwrap_or_default(),
            circuit: slot.circuit.and_then(|c| self.circuits.get(&c).cloned()).unwrap_or_default(),
            can_delete: who.can(Action::Delete, &schedule_resource(slot.organisation)).allowed,
            own: slot.organisation == who.account.organisation,
            slot,
        }
    }
}

/// The shared schedule as the account sees it, by day and hour.
pub async fn schedule(app: &App, who: &Caller) -> Result<Vec<Line>> {
    schedule_gate(who)?;
    let names = Names::load(app).await?;
    Ok(rounds::slots(&app.db)
        .await?
        .into_iter()
        .filter(|s| who.can(Action::Read, &schedule_resource(s.organisation)).allowed)
        .map(|s| names.line(who, s))
        .collect())
}

/// One slot of the schedule the account reads.
pub async fn slot(app: &App, who: &Caller, id: ScheduleSlotId) -> Result<Line> {
    schedule_gate(who)?;
    let s = rounds::get_slot(&app.db, id).await?;
    who.require(Action::Read, &schedule_resource(s.organisation))?;
    Ok(Names::load(app).await?.line(who, s))
}

/// The slots of the caller's organisation, with their team's name (the planning form).
pub async fn own_slots(app: &App, who: &Caller) -> Result<Vec<(Slot, String)>> {
    let own_teams = super::own_teams(app, who).await?;
    Ok(rounds::slots(&app.db)
        .await?
        .into_iter()
        .filter(|s| s.organisation == who.account.organisation)
        .map(|s| {
            let t = own_teams.iter().find(|t| t.id == s.team).map(|t| t.name.clone()).unwrap_or_default();
            (s, t)
        })
        .collect())
}

const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// The schedule as an iCalendar text: one weekly recurring event per slot,
/// in Europe/Paris, starting on the slot's day of the current week.
pub fn calendar(lines: &[Line], now: Timestamp, base_url: &str) -> String {
    use icalendar::{Calendar, CalendarDateTime, Component, EventLike};
    let monday = now.paris_monday();
    let mut cal = Calendar::new();
    cal.name("veille — planning partagé des maraudes").timezone(chrono_tz::Europe::Paris);
    for l in lines {
        let date = monday + chrono::Duration::days(l.slot.weekday.clamp(1, 7) - 1);
        let Some(start) = date.and_hms_opt(0, 0, 0).map(|d| d + chrono::Duration::minutes(l.slot.start_minute)) else { continue };
        let end_day = if l.slot.end_minute <= l.slot.start_minute { date + chrono::Duration::days(1) } else { date };
        let Some(end) = end_day.and_hms_opt(0, 0, 0).map(|d| d + chrono::Duration::minutes(l.slot.end_minute)) else { continue };
        let mut summary = format!("{} ({})", l.team, l.organisation);
        if !l.territory.is_empty() {
            summary.push_str(&format!(" · {}", l.territory));
        }
        let mut description = String::new();
        if !l.circuit.is_empty() {
            description.push_str(&format!("Circuit : {}\n", l.circuit));
        }
        description.push_str(&l.slot.note);
        let mut event = icalendar::Event::new();
        event
            .uid(&format!("slot-{}@veille", l.slot.id))
            .timestamp(now.to_datetime())
            .summary(&summary)
            .starts(CalendarDateTime::WithTimezone { date_time: start, tzid: "Europe/Paris".into() })
            .ends(CalendarDateTime::WithTimezone { date_time: end, tzid: "Europe/Paris".into() })
            .url(&format!("{}/schedule", base_url.trim_end_matches('/')))
            .add_property("RRULE", format!("FREQ=WEEKLY;BYDAY={}", WEEKDAYS[(l.slot.weekday.clamp(1, 7) - 1) as usize]));
        if !l.territory.is_empty() {
            event.location(&l.territory);
        }
        if !description.is_empty() {
            event.description(description.trim_end());
        }
        cal.push(event.done());
    }
    with_paris_timezone(&cal.done().to_string())
}

/// The VTIMEZONE of Europe/Paris (EU rules since 1996) that every TZID of the
/// calendar refers to, as RFC 5545 asks; the crate writes no VTIMEZONE.
const PARIS_VTIMEZONE: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n\
DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
TZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

fn with_paris_timezone(text: &str) -> String {
    let at = text.find("BEGIN:VEVENT").or_else(|| text.find("END:VCALENDAR")).unwrap_or(text.len());
    format!("{}{}{}", &text[..at], PARIS_VTIMEZONE, &text[at..])
}

/// The shared schedule the account sees, as iCalendar text.
pub async fn ics(app: &App, who: &Caller) -> Result<String> {
    let lines = schedule(app, who).await?;
    Ok(calendar(&lines, app.clock.now(), &app.config.base_url))
}
