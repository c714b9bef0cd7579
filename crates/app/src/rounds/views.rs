//! What the round pages, the daily report and the JSON API read: the rounds
//! of the caller's scope (overdue, out, ahead, recent), and everything
//! recorded on one round.

use std::collections::HashMap;

use veille_domain::{Action, Timestamp, UserId};
pub use veille_storage::encounters::RoundCounts;
use veille_storage::reports::Report;
use veille_storage::rounds::{self, Distribution, Incident, Round, Stop};
use veille_storage::sites::Observation;
use veille_storage::{accounts, organisations, reports, teams, territories};

use super::{round_resource, rounds_gate, Team};
use crate::error::Result;
use crate::{App, Caller};

/// A round as lists show it.
#[derive(Clone, Debug)]
pub struct Line {
    /// The round.
    pub round: Round,
    /// Its team's name.
    pub team: String,
}

/// The rounds of the list page.
#[derive(Clone, Debug, Default)]
pub struct Board {
    /// Out past their expected return.
    pub overdue: Vec<Line>,
    /// Out, not late.
    pub out: Vec<Line>,
    /// Planned in the next two weeks.
    pub ahead: Vec<Line>,
    /// Ended in the last week, newest first.
    pub recent: Vec<Line>,
    /// Per reporting day (noon to noon) and team: people met and items given.
    pub counters: Vec<(String, String, i64, i64)>,
}

/// The rounds the account reads: overdue and out now, planned in the next two
/// weeks, ended in the last one, with the day counters.
pub async fn board(app: &App, who: &Caller) -> Result<Board> {
    rounds_gate(who)?;
    let scope = who.scope();
    let now = app.clock.now();
    let names: HashMap<_, _> = teams::list(&app.db, None).await?.into_iter().map(|t| (t.id, t.name)).collect();
    let line = |r: Round| Line { team: names.get(&r.team).cloned().unwrap_or_default(), round: r };
    let mut b = Board::default();
    for r in rounds::rounds_out(&app.db, &scope).await? {
        if r.expected_return_at.is_some_and(|t| t < now) {
            b.overdue.push(line(r));
        } else {
            b.out.push(line(r));
        }
    }
    let (from, to) = (now.plus_seconds(-7 * 86_400), now.plus_seconds(14 * 86_400));
    let given = rounds::given_between(&app.db, &scope, from, to).await?;
    for r in rounds::rounds_between(&app.db, &scope, from, to).await? {
        match r.status.as_str() {
            "planned" => b.ahead.push(line(r)),
            "ended" => {
                let day = r.started_at.unwrap_or(r.planned_start).reporting_day().format("%d/%m/%Y").to_string();
                let given = given.get(&r.id).copied().unwrap_or(0);
                let l = line(r);
                match b.counters.iter_mut().find(|c| c.0 == day && c.1 == l.team) {
                    Some(c) => {
                        c.2 += l.round.people_total;
                        c.3 += given;
                    }
                    None => b.counters.push((day, l.team.clone(), l.round.people_total, given)),
                }
                b.recent.push(l);
            }
            _ => {}
        }
    }
    b.recent.reverse();
    Ok(b)
}

/// The rounds the account reads planned to start in [`from`, `to`).
pub async fn rounds_between(app: &App, who: &Caller, from: Timestamp, to: Timestamp) -> Result<Vec<Round>> {
    rounds_gate(who)?;
    Ok(rounds::rounds_between(&app.db, &who.scope(), from, to).await?)
}

/// A stop with what the account may know of its site and report.
#[derive(Clone, Debug)]
pub struct StopView {
    /// The stop.
    pub stop: Stop,
    /// The site's name, the report's reference, or the stop's label.
    pub name: String,
    /// The site, when the account reads it.
    pub site: Option<veille_domain::SiteId>,
    /// The site's version (for "confirmed unchanged" from the round).
    pub site_version: i64,
    /// The report it carries, when the account reads it.
    pub report: Option<Report>,
    /// Whether the account may answer that report.
    pub can_answer: bool,
    /// Latitude (of the site, or the stop).
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

/// Everything recorded on a round, for its page and its daily report.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The team.
    pub team: Team,
    /// The circuit's name.
    pub circuit: String,
    /// The territory's name.
    pub territory: String,
    /// Who checked in, when.
    pub members: Vec<(String, Timestamp)>,
    /// The stops, in order.
    pub stops: Vec<StopView>,
    /// What it gave out.
    pub distributions: Vec<Distribution>,
    /// Safety incidents.
    pub incidents: Vec<Incident>,
    /// Observations made on it, with their site's name.
    pub observations: Vec<(Observation, String)>,
}

/// Everything recorded on a round the account has loaded.
pub async fn recorded(app: &App, who: &Caller, round: &Round) -> Result<Recorded> {
    let scope = who.scope();
    let team = teams::get(&app.db, round.team).await?;
    let circuit = match round.circuit {
        Some(c) => rounds::get_circuit(&app.db, c).await.map(|c| c.name).unwrap_or_default(),
        None => String::new(),
    };
    let territory = match round.territory {
        Some(t) => territories::get(&app.db, t).await.map(|t| t.name).unwrap_or_default(),
        None => String::new(),
    };
    let accounts: HashMap<UserId, String> = accounts::list(&app.db, Some(round.organisation)).await?.into_iter().map(|a| (a.id, a.display_name)).collect();
    let members = rounds::members(&app.db, &scope, round.id).await?.into_iter().map(|(u, t)| (accounts.get(&u).cloned().unwrap_or_default(), t)).collect();
    let sites = crate::sites::readable_sites(app, who).await?;
    let mut stops = Vec::new();
    for s in rounds::stops(&app.db, &scope, round.id).await? {
        let site = s.site.and_then(|id| sites.iter().find(|x| x.id == id));
        let report = match s.report {
            Some(id) => match reports::get(&app.db, &scope, id).await {
                Ok(r) => Some(r),
                Err(veille_storage::StorageError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let can_answer = report.as_ref().is_some_and(|r| who.can(Action::Update, &crate::reports::resource(r)).allowed);
        stops.push(StopView {
            name: site.map(|x| x.name.clone()).or_else(|| report.as_ref().map(|r| r.reference.clone())).unwrap_or_else(|| s.label.clone()),
            site: site.map(|x| x.id),
            site_version: site.map(|x| x.version).unwrap_or(0),
            lat: site.map(|x| x.lat).or(s.lat),
            lon: site.map(|x| x.lon).or(s.lon),
            report,
            can_answer,
            stop: s,
        });
    }
    let observations = veille_storage::sites::observations_of_round(&app.db, &scope, round.id)
        .await?
        .into_iter()
        .map(|o| {
            let n = sites.iter().find(|s| s.id == o.site).map(|s| s.name.clone()).unwrap_or_default();
            (o, n)
        })
        .collect();
    Ok(Recorded {
        team,
        circuit,
        territory,
        members,
        stops,
        distributions: rounds::distributions(&app.db, &scope, round.id).await?,
        incidents: rounds::incidents(&app.db, &scope, round.id).await?,
        observations,
    })
}

/// A round with what was recorded on it, as the JSON API gives it (ids, no names).
#[derive(Clone, Debug)]
pub struct RoundRecord {
    /// The round.
    pub round: Round,
    /// Who checked in, when.
    pub members: Vec<(UserId, Timestamp)>,
    /// The stops, in order.
    pub stops: Vec<Stop>,
    /// What it gave out.
    pub distributions: Vec<Distribution>,
    /// Safety incidents.
    pub incidents: Vec<Incident>,
    /// The observations made on it (of the sites the account reads).
    pub observations: Vec<Observation>,
}

/// A round the account has loaded, with what was recorded on it.
pub async fn record(app: &App, who: &Caller, round: Round) -> Result<RoundRecord> {
    let scope = who.scope();
    Ok(RoundRecord {
        members: rounds::members(&app.db, &scope, round.id).await?,
        stops: rounds::stops(&app.db, &scope, round.id).await?,
        distributions: rounds::distributions(&app.db, &scope, round.id).await?,
        incidents: rounds::incidents(&app.db, &scope, round.id).await?,
        observations: veille_storage::sites::observations_of_round(&app.db, &scope, round.id).await?,
        round,
    })
}

/// A round by id, reloaded after a change, with what was recorded on it.
pub async fn record_of(app: &App, who: &Caller, id: veille_domain::RoundId) -> Result<RoundRecord> {
    let round = rounds::get_round(&app.db, &who.scope(), id).await?;
    record(app, who, round).await
}

/// The members of a round's team who may check in (active accounts), with
/// whether each is ticked: those `chosen` (as typed), or the account itself.
pub async fn check_in_members(app: &App, who: &Caller, round: &Round, chosen: &[String]) -> Result<Vec<(UserId, String, bool)>> {
    let member_ids = teams::members(&app.db, round.team).await?;
    Ok(accounts::list(&app.db, Some(round.organisation))
        .await?
        .into_iter()
        .filter(|a| member_ids.contains(&a.id) && !a.disabled)
        .map(|a| {
            let checked = if chosen.is_empty() { a.id == who.account.id } else { chosen.contains(&a.id.to_string()) };
            (a.id, a.display_name, checked)
        })
        .collect())
}

/// Whether the account may change a round.
pub fn can_update(who: &Caller, round: &Round) -> bool {
    who.can(Action::Update, &round_resource(round)).allowed
}

/// What the daily report of a round adds to what was recorded on it.
#[derive(Clone, Debug)]
pub struct DailyReport {
    /// The organisation's name.
    pub organisation: String,
    /// The reporting day (noon to noon), `dd/mm/yyyy`.
    pub day: String,
    /// What the encounters recorded with this round count (anonymous).
    pub met: RoundCounts,
    /// The people counts to start the form with: typed ones, or else those
    /// of the encounters: (total, new, known).
    pub people: (i64, i64, i64),
}

/// The daily report of a round the account has loaded.
pub async fn daily_report(app: &App, round: &Round) -> Result<DailyReport> {
    let organisation = organisations::get(&app.db, round.organisation).await?.name;
    let since = round.started_at.unwrap_or(round.planned_start);
    let met = veille_storage::encounters::round_counts(&app.db, &veille_storage::Scope::figures_of(round.organisation), &round.id.to_string(), since).await?;
    // Nothing typed yet: the counts start from the encounters recorded.
    let people = if (round.people_total, round.people_new, round.people_known) == (0, 0, 0) {
        (met.files + met.unidentified, met.files - met.known_files, met.known_files)
    } else {
        (round.people_total, round.people_new, round.people_known)
    };
    Ok(DailyReport { organisation, day: since.reporting_day().format("%d/%m/%Y").to_string(), met, people })
}
