//! Coverage: the sites no team has seen for N days (across organisations,
//! as far as the account reads sites) and the territories of the account
//! where no round is planned or made this week.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use veille_domain::Action;
use veille_storage::{rounds, territories};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::page::{render, PageCtx};
use crate::AppState;

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

/// Computes the coverage for the account.
pub async fn compute(state: &AppState, who: &Authenticated, days: i64) -> AppResult<Coverage> {
    let now = state.clock.now();
    let (sites, seen) = crate::sites::readable(state, who).await?;
    let all = territories::list(&state.db).await?;
    let name_of = |id: Option<veille_domain::TerritoryId>| id.and_then(|id| all.iter().find(|t| t.id == id)).map(|t| t.name.clone()).unwrap_or_default();
    let mut stale: Vec<StaleSite> = sites
        .iter()
        .filter(|s| s.status == "active")
        .filter_map(|s| {
            let last = seen.get(&s.id).copied();
            let d = last.map(|t| t.seconds_until(now) / 86_400);
            (d.is_none_or(|d| d >= days)).then(|| StaleSite { id: s.id.to_string(), name: s.name.clone(), kind: s.kind.clone(), territory: name_of(s.territory), last_seen: last.map(|t| t.to_rfc3339()), days: d })
        })
        .collect();
    stale.sort_by_key(|s| (s.days.is_some(), std::cmp::Reverse(s.days.unwrap_or(0)), s.name.clone()));
    // This week: Monday 00:00 to the next Monday, Paris time.
    let monday = now.paris_monday();
    let from = veille_domain::Timestamp::at_paris(monday, 0).unwrap_or(now);
    let to = veille_domain::Timestamp::at_paris(monday + chrono::Duration::days(7), 0).unwrap_or(now);
    let mut covered: HashSet<veille_domain::TerritoryId> = HashSet::new();
    let site_territory: std::collections::HashMap<_, _> = veille_storage::sites::list(&state.db).await?.into_iter().map(|s| (s.id, s.territory)).collect();
    for r in rounds::rounds_between(&state.db, from, to).await?.into_iter().filter(|r| r.status != "cancelled") {
        if let Some(t) = r.territory {
            covered.insert(t);
        }
        for s in rounds::stops(&state.db, r.id).await? {
            if let Some(Some(t)) = s.site.and_then(|id| site_territory.get(&id).copied()) {
                covered.insert(t);
            }
        }
    }
    let mut bare: Vec<BareTerritory> = all
        .iter()
        .filter(|t| who.actor.territories.covers(Some(t.id)) && !covered.contains(&t.id))
        .map(|t| BareTerritory {
            id: t.id.to_string(),
            code: t.code.clone(),
            name: t.name.clone(),
            active_sites: sites.iter().filter(|s| s.status == "active" && s.territory == Some(t.id)).count(),
        })
        .collect();
    bare.sort_by_key(|t| (std::cmp::Reverse(t.active_sites), t.code.clone()));
    Ok(Coverage { days, sites: stale, week_of: monday.to_string(), territories: bare })
}

/// Coverage query.
#[derive(Deserialize, Default)]
pub struct CoverageQuery {
    #[serde(default)]
    days: Option<String>,
}

impl CoverageQuery {
    /// For the API: the threshold asked (1 to 365 days), the default when
    /// absent, `None` for anything else (an empty value included) — a client
    /// is told, not guessed for.
    pub fn days_given(&self) -> Option<i64> {
        match &self.days {
            None => Some(DEFAULT_DAYS),
            Some(d) => d.trim().parse::<i64>().ok().filter(|d| (1..=365).contains(d)),
        }
    }
    /// For the page: the threshold asked, or the default.
    pub fn days(&self) -> i64 {
        self.days_given().unwrap_or(DEFAULT_DAYS)
    }
}

#[derive(Template)]
#[template(path = "rounds/coverage.html")]
struct CoveragePage {
    ctx: PageCtx,
    c: Coverage,
}

/// GET /coverage
pub async fn page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<CoverageQuery>) -> AppResult<Response> {
    crate::sites::gate(&who)?;
    who.require(Action::Read, &super::schedule_resource(who.account.organisation))?;
    Ok(render(&CoveragePage { ctx, c: compute(&state, &who, q.days()).await? }))
}
