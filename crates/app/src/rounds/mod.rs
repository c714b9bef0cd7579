//! Maraudes: teams go out on rounds (tournées) at the hours of the shared
//! weekly schedule, following circuits of ordered stops. A round starts with
//! the check-in of at least two members (the pair rule) and an expected
//! return time, and ends with the check-out; a round still out past that time
//! raises an alert to its organisation's coordinators ([`alerts`]). The open
//! reports assigned to the team appear among its stops; visiting such a stop
//! moves the report forward. The daily report (compte rendu) is built from
//! what was recorded on the round.
//!
//! Access: the schedule and circuits are [`ResourceKind::Schedule`] (read by
//! every organisation that goes out, written by the coordinators of the
//! team's organisation); rounds are [`ResourceKind::Record`] of the team's
//! organisation, placed in the territory of their slot, and every query that
//! returns or counts them (or their members, stops, distributions,
//! incidents) reads through the caller's scope, compiled to SQL
//! (`veille_storage::rounds::ACCESS_COLUMNS`); the distribution catalogue is
//! configuration of the organisation, under [`ResourceKind::Team`] rules.

pub mod alerts;
pub mod catalogue;
pub mod circuits;
pub mod coverage;
pub mod demo;
mod plan;
pub mod schedule;
mod views;
mod work;

use veille_domain::{Action, CircuitId, OrganisationId, Resource, ResourceKind, Timestamp};
use veille_storage::rounds;
use veille_storage::{audit, teams};

pub use plan::*;
pub use veille_storage::rounds::{
    Circuit, CircuitStop, Distribution, Incident, Item, NewRound, NewSlot, NewStop, Round, Slot, Stop, DEFAULT_ITEMS, INCIDENT_KINDS, ITEM_CATEGORIES,
    ROUND_STATUSES,
};
pub use veille_storage::teams::Team;
pub use views::*;
pub use work::*;

use crate::error::{Error, Result};
use crate::{App, Caller};

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

/// A team.
pub fn team_resource(t: &Team) -> Resource {
    Resource::new(ResourceKind::Team).owned_by(t.organisation)
}

/// Whether the account works with the schedule at all.
pub fn schedule_gate(who: &Caller) -> Result<()> {
    who.require(Action::Read, &schedule_resource(who.account.organisation))
}

/// Whether the account works with rounds at all (its organisation's records).
pub fn rounds_gate(who: &Caller) -> Result<()> {
    who.require(Action::Read, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))
}

/// Whether the account may plan rounds (in its organisation, somewhere).
pub fn can_plan(who: &Caller) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation)).allowed
}

/// A round the account may read (404 otherwise: its existence is not told),
/// and may do `action` on (403 otherwise).
pub async fn load_round(app: &App, who: &Caller, id: &str, action: Action) -> Result<Round> {
    rounds_gate(who)?;
    let id = id.parse().map_err(|_| Error::not_found())?;
    let round = rounds::get_round(&app.db, &who.scope(), id).await?;
    if !who.can(Action::Read, &round_resource(&round)).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &round_resource(&round))?;
    Ok(round)
}

/// Reads a round, audited (`detail` says how: the page, the daily report, the API).
pub async fn read_round(app: &App, who: &Caller, id: &str, detail: serde_json::Value) -> Result<Round> {
    let round = load_round(app, who, id, Action::Read).await?;
    audit::append_now(&app.db, round_entry(who, app.clock.now(), "read", &round, detail)).await?;
    Ok(round)
}

/// A round of the account's own organisation that it reads, by id text
/// (`None` for anything else: a form names it, the caller words the error).
pub async fn own_round(app: &App, who: &Caller, id: &str) -> Result<Option<Round>> {
    let Ok(id) = id.parse() else { return Ok(None) };
    match rounds::get_round(&app.db, &who.scope(), id).await {
        Ok(r) if r.organisation == who.account.organisation => Ok(Some(r)),
        Ok(_) | Err(veille_storage::StorageError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A circuit the account may do `action` on.
pub async fn load_circuit(app: &App, who: &Caller, id: &str, action: Action) -> Result<Circuit> {
    schedule_gate(who)?;
    let id: CircuitId = id.parse().map_err(|_| Error::not_found())?;
    let c = rounds::get_circuit(&app.db, id).await?;
    who.require(action, &schedule_resource(c.organisation))?;
    Ok(c)
}

/// The audit entry of an action on a round.
pub fn round_entry<'a>(who: &Caller, at: Timestamp, action: &'a str, r: &Round, detail: serde_json::Value) -> audit::NewEntry<'a> {
    who.audit_entry(at, action, "round", r.id, r.organisation).with_detail(detail)
}

/// Minutes after midnight of an `HH:MM` time.
pub fn minutes_of(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// `20:30` for 1230 minutes.
pub fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes.rem_euclid(1440) / 60, minutes.rem_euclid(60))
}

/// A team of the caller's organisation, by id text.
pub async fn own_team(app: &App, who: &Caller, id: &str) -> Result<Option<Team>> {
    let Ok(id) = id.parse() else { return Ok(None) };
    match teams::get(&app.db, id).await {
        Ok(t) if t.organisation == who.account.organisation => Ok(Some(t)),
        Ok(_) | Err(veille_storage::StorageError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The teams of the caller's organisation.
pub async fn own_teams(app: &App, who: &Caller) -> Result<Vec<Team>> {
    Ok(teams::list(&app.db, Some(who.account.organisation)).await?)
}

/// The circuits of the caller's organisation, by name.
pub async fn own_circuits(app: &App, who: &Caller) -> Result<Vec<Circuit>> {
    Ok(rounds::circuits(&app.db).await?.into_iter().filter(|c| c.organisation == who.account.organisation).collect())
}

/// The occurrence of a slot on the Paris day `date`: (start, end).
pub fn occurrence(slot: &Slot, date: chrono::NaiveDate) -> Option<(Timestamp, Timestamp)> {
    let start = Timestamp::at_paris(date, slot.start_minute)?;
    let end_day = if slot.end_minute <= slot.start_minute { date.succ_opt()? } else { date };
    let end = Timestamp::at_paris(end_day, slot.end_minute)?;
    Some((start, end))
}

/// The teams the account reads, with their members (the JSON API).
pub async fn teams_with_members(app: &App, who: &Caller) -> Result<Vec<(Team, Vec<veille_domain::UserId>)>> {
    let mut out = Vec::new();
    for t in teams::list(&app.db, None).await? {
        if !who.can(Action::Read, &team_resource(&t)).allowed {
            continue;
        }
        let members = teams::members(&app.db, t.id).await?;
        out.push((t, members));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!(minutes_of("20:30"), Some(1230));
        assert_eq!(minutes_of(" 0:05 "), Some(5));
        assert_eq!(minutes_of("24:00"), None);
        assert_eq!(minutes_of("12:60"), None);
        assert_eq!(minutes_of("midi"), None);
        assert_eq!(hhmm(1230), "20:30");
        assert_eq!(hhmm(1440 + 90), "01:30");
    }
}
