//! The shared weekly schedule: which team goes where, when, across every
//! organisation that goes out, by day and territory; its iCalendar export.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use veille_domain::{Action, OrganisationId, TeamId, TerritoryId};
use veille_storage::rounds::{self, Slot};
use veille_storage::territories::Territory;
use veille_storage::{audit, organisations, teams, territories};

use super::{add_slot, hhmm, schedule_gate, schedule_resource, SlotInput};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

/// A slot as the schedule shows it.
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
pub struct Names {
    teams: HashMap<TeamId, (String, String)>,
    orgs: HashMap<OrganisationId, String>,
    territories: HashMap<TerritoryId, String>,
    circuits: HashMap<veille_domain::CircuitId, String>,
}

impl Names {
    /// Loads every name once.
    pub async fn load(state: &AppState) -> AppResult<Self> {
        Ok(Self {
            teams: teams::list(&state.db, None).await?.into_iter().map(|t| (t.id, (t.name, t.kind))).collect(),
            orgs: organisations::list(&state.db).await?.into_iter().map(|o| (o.id, o.name)).collect(),
            territories: territories::list(&state.db).await?.into_iter().map(|t| (t.id, t.name)).collect(),
            circuits: rounds::circuits(&state.db).await?.into_iter().map(|c| (c.id, c.name)).collect(),
        })
    }
    /// The line of a slot.
    pub fn line(&self, who: &Authenticated, slot: Slot) -> Line {
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

/// One day of the week with its slots, grouped by territory.
pub struct Day {
    weekday: i64,
    groups: Vec<(String, Vec<Line>)>,
}

#[derive(Template)]
#[template(path = "rounds/schedule.html")]
struct SchedulePage {
    ctx: PageCtx,
    days: Vec<Day>,
    can_add: bool,
    teams: Vec<teams::Team>,
    territories: Vec<Territory>,
    circuits: Vec<rounds::Circuit>,
    form: SlotInput,
    errors: FieldErrors,
}

impl SchedulePage {
    fn time(&self, m: &i64) -> String {
        hhmm(*m)
    }
    fn day(&self, d: &i64) -> String {
        self.ctx.label("round.weekday", &d.to_string())
    }
}

async fn schedule_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: SlotInput, errors: FieldErrors) -> AppResult<SchedulePage> {
    let names = Names::load(state).await?;
    let mut days: Vec<Day> = (1..=7).map(|weekday| Day { weekday, groups: Vec::new() }).collect();
    for slot in rounds::slots(&state.db).await? {
        if !who.can(Action::Read, &schedule_resource(slot.organisation)).allowed {
            continue;
        }
        let line = names.line(who, slot);
        let day = &mut days[(line.slot.weekday.clamp(1, 7) - 1) as usize];
        match day.groups.iter_mut().find(|(t, _)| *t == line.territory) {
            Some((_, lines)) => lines.push(line),
            None => day.groups.push((line.territory.clone(), vec![line])),
        }
    }
    for d in &mut days {
        d.groups.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let own = schedule_resource(who.account.organisation);
    let org_teams = teams::list(&state.db, Some(who.account.organisation)).await?;
    let circuits = rounds::circuits(&state.db).await?.into_iter().filter(|c| c.organisation == who.account.organisation).collect();
    Ok(SchedulePage {
        can_add: who.can(Action::Create, &own).allowed && !org_teams.is_empty(),
        teams: org_teams,
        territories: territories::list(&state.db).await?,
        circuits,
        days,
        form,
        errors,
        ctx,
    })
}

/// GET /schedule
pub async fn page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    schedule_gate(&who)?;
    let form = SlotInput { weekday: Some(1), start: "20:00".into(), end: "23:00".into(), ..Default::default() };
    Ok(render(&schedule_page(&state, ctx, &who, form, FieldErrors::new()).await?))
}

/// POST /schedule
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<SlotInput>) -> AppResult<Response> {
    schedule_gate(&who)?;
    who.require(Action::Create, &schedule_resource(who.account.organisation))?;
    match add_slot(&state, &who, ctx.lang, &input).await? {
        Ok(_) => Ok(see_other("/schedule")),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &schedule_page(&state, ctx, &who, input, errors).await?)),
    }
}

/// POST /schedule/{id}/delete
pub async fn delete(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    schedule_gate(&who)?;
    who.require(Action::Delete, &schedule_resource(who.account.organisation))?;
    let slot = rounds::get_slot(&state.db, id.parse().map_err(|_| AppError::not_found())?).await?;
    who.require(Action::Delete, &schedule_resource(slot.organisation))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    rounds::delete_slot(&mut tx, slot.id).await?;
    audit::append(&mut tx, who.audit_entry(now, "delete", "schedule_slot", slot.id, slot.organisation)).await?;
    tx.commit().await?;
    Ok(see_other("/schedule"))
}

const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// The schedule as an iCalendar text: one weekly recurring event per slot,
/// in Europe/Paris, starting on the slot's day of the current week.
pub fn calendar(lines: &[Line], now: veille_domain::Timestamp, base_url: &str) -> String {
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

/// GET /schedule.ics
pub async fn ics(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    schedule_gate(&who)?;
    let names = Names::load(&state).await?;
    let lines: Vec<Line> = rounds::slots(&state.db)
        .await?
        .into_iter()
        .filter(|s| who.can(Action::Read, &schedule_resource(s.organisation)).allowed)
        .map(|s| names.line(&who, s))
        .collect();
    let body = calendar(&lines, state.clock.now(), &state.config.base_url);
    Ok(([(CONTENT_TYPE, "text/calendar; charset=utf-8"), (CONTENT_DISPOSITION, "attachment; filename=\"maraudes.ics\"")], body).into_response())
}
