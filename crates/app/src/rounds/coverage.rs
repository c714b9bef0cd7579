//! Coverage: the sites no team has seen for N days (across organisations,
//! as far as the account reads sites) and the territories of the account
//! where no round is planned or made this week.

use serde::Serialize;
use veille_domain::{Action, TerritoryId, Timestamp};
use veille_storage::{rounds, sites, territories};

use crate::error::Result;
use crate::{App, Caller};

/// The default number of days after which a site counts as not covered.
pub const DEFAULT_DAYS: i64 = 7;

/// A site not seen for the chosen number of days.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct StaleSite {
    /// Site id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind code.
    pub kind: String,
    /// Territory name.
    pub territory: String,
    /// Last seen (RFC 3339), none when never observed.
    pub last_seen: Option<String>,
    /// Days since, none when never observed.
    pub days: Option<i64>,
}

/// A territory with no round this week.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct BareTerritory {
    /// Territory id.
    pub id: String,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Active sites the account reads there.
    pub active_sites: usize,
}

/// The coverage answer.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Coverage {
    /// The threshold in days.
    pub days: i64,
    /// Active sites not seen for `days` days, never-seen first, then oldest first.
    pub sites: Vec<StaleSite>,
    /// First day (Monday, Europe/Paris) of the week considered.
    pub week_of: String,
    /// Territories of the account with no round this week, those with active sites first.
    pub territories: Vec<BareTerritory>,
}

/// Whether the account reads coverage: it works with sites and reads the schedule.
pub fn gate(who: &Caller) -> Result<()> {
    crate::sites::gate(who)?;
    who.require(Action::Read, &super::schedule_resource(who.account.organisation))
}

/// The coverage the account sees, with `days` as the threshold. Sites are
/// those it reads; whether a territory had a round this week is asked of
/// every organisation's rounds (like the shared schedule), for the
/// territories it reads only — no round is read.
pub async fn coverage(app: &App, who: &Caller, days: i64) -> Result<Coverage> {
    gate(who)?;
    let scope = who.scope();
    let now = app.clock.now();
    let active = sites::Filter { status: Some("active".into()), ..Default::default() };
    let sites = sites::list(&app.db, &scope, &active).await?;
    let ids: Vec<veille_domain::SiteId> = sites.iter().map(|s| s.id).collect();
    let seen = sites::last_seen(&app.db, &scope, &ids).await?;
    let all = territories::list(&app.db).await?;
    let name_of = |id: Option<TerritoryId>| id.and_then(|id| all.iter().find(|t| t.id == id)).map(|t| t.name.clone()).unwrap_or_default();
    let mut stale: Vec<StaleSite> = sites
        .iter()
        .filter_map(|s| {
            let last = seen.get(&s.id).copied();
            let d = last.map(|t| t.seconds_until(now) / 86_400);
            (d.is_none_or(|d| d >= days)).then(|| StaleSite {
                id: s.id.to_string(),
                name: s.name.clone(),
                kind: s.kind.clone(),
                territory: name_of(s.territory),
                last_seen: last.map(|t| t.to_rfc3339()),
                days: d,
            })
        })
        .collect();
    stale.sort_by_key(|s| (s.days.is_some(), std::cmp::Reverse(s.days.unwrap_or(0)), s.name.clone()));
    // This week: Monday 00:00 to the next Monday, Paris time.
    let monday = now.paris_monday();
    let from = Timestamp::at_paris(monday, 0).unwrap_or(now);
    let to = Timestamp::at_paris(monday + chrono::Duration::days(7), 0).unwrap_or(now);
    let covered = rounds::covered_territories(&app.db, &scope, from, to).await?;
    let mut bare: Vec<BareTerritory> = all
        .iter()
        .filter(|t| who.actor.territories.covers(Some(t.id)) && !covered.contains(&t.id))
        .map(|t| BareTerritory {
            id: t.id.to_string(),
            code: t.code.clone(),
            name: t.name.clone(),
            active_sites: sites.iter().filter(|s| s.territory == Some(t.id)).count(),
        })
        .collect();
    bare.sort_by_key(|t| (std::cmp::Reverse(t.active_sites), t.code.clone()));
    Ok(Coverage { days, sites: stale, week_of: monday.to_string(), territories: bare })
}
