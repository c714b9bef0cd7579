//! Sites (lieux de vie): camps, squats, slums, open drug-use scenes and
//! gathering places, with their dated anonymous observations, history,
//! logbook, closure (where people went) and a map coloured by the age of the
//! last observation.
//!
//! Access: [`veille_domain::ResourceKind::Site`] — every organisation that
//! goes out reads and observes the sites of its accounts' territories,
//! whoever recorded them; the creating and the coordinating organisation
//! close them. Every query reads through the caller's scope, compiled to SQL
//! on the site's territory (`veille_storage::sites`): a site outside it is
//! not found, never fetched then dropped.

mod commands;
mod input;

use std::collections::HashMap;

use veille_domain::records::RecordKind;
use veille_domain::{Action, ObservationId, OrganisationId, Resource, ResourceKind, RoundId, SiteId, TeamId, TerritoryId, Timestamp};
use veille_storage::sql::Window;
use veille_storage::{audit, organisations, teams, territories, timeline};

pub use commands::*;
pub use input::*;
pub use veille_storage::sites::{
    overall_state, Destination, Figures, NewObservation, NewSite, Observation, Site, ATMOSPHERES, CLOSURE_REASONS, CONDITIONS, CONDITION_RATINGS, DESTINATIONS,
    KINDS, LAND_OWNERS,
};
pub use veille_storage::teams::Team;
pub use veille_storage::territories::Territory;
pub use veille_storage::timeline::Event;

use crate::error::{Error, Result};
use crate::paging::{Paged, PER_PAGE};
use crate::{App, Caller};

/// The access-control description of a site: owned by the organisation that
/// recorded it, in its territory, shared with the coordinating organisation.
pub fn resource(site: &Site, coordinating: Option<OrganisationId>) -> Resource {
    let mut r = Resource::new(ResourceKind::Site).owned_by(site.organisation).in_territory(site.territory);
    if let Some(c) = coordinating.filter(|c| *c != site.organisation) {
        r = r.shared_with(c);
    }
    r
}

/// Whether the account works with sites at all (reading one in its own organisation).
pub fn gate(who: &Caller) -> Result<()> {
    who.require(Action::Read, &Resource::new(ResourceKind::Site).owned_by(who.account.organisation))
}

/// Whether the account may record new sites (somewhere).
pub fn can_create(who: &Caller) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Site).owned_by(who.account.organisation)).allowed
}

/// The access-control description of a site as stored.
pub async fn resource_of(app: &App, site: &Site) -> Result<Resource> {
    Ok(resource(site, crate::reports::coordinating_organisation(app).await?))
}

/// A site the account may read (404 otherwise: its existence is not told),
/// and may do `action` on (403 otherwise), with its resource.
pub async fn load_site(app: &App, who: &Caller, id: &str, action: Action) -> Result<(Site, Resource)> {
    gate(who)?;
    let id: SiteId = id.parse().map_err(|_| Error::not_found())?;
    let site = veille_storage::sites::get(&app.db, &who.scope(), id).await?;
    let res = resource_of(app, &site).await?;
    if !who.can(Action::Read, &res).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &res)?;
    Ok((site, res))
}

/// Reads a site, audited (`via` names the channel, when not the pages).
pub async fn read_site(app: &App, who: &Caller, id: &str, via: Option<&str>) -> Result<(Site, Resource)> {
    let (site, res) = load_site(app, who, id, Action::Read).await?;
    let detail = match via {
        Some(v) => serde_json::json!({"via": v}),
        None => serde_json::json!({}),
    };
    audit::append_now(&app.db, entry(who, app.clock.now(), "read", &site, detail)).await?;
    Ok((site, res))
}

/// The audit entry of an action on a site.
pub fn entry<'a>(who: &Caller, at: Timestamp, action: &'a str, site: &Site, detail: serde_json::Value) -> audit::NewEntry<'a> {
    who.audit_entry(at, action, "site", site.id, site.organisation).with_detail(detail)
}

/// Every site the account may read, by name (none for the accounts that do
/// not work with sites).
pub async fn readable_sites(app: &App, who: &Caller) -> Result<Vec<Site>> {
    Ok(veille_storage::sites::list(&app.db, &who.scope(), &veille_storage::sites::Filter::default()).await?)
}

/// The instant each of these sites (those the account reads) was last seen by a team.
pub async fn last_seen(app: &App, who: &Caller, sites: &[SiteId]) -> Result<HashMap<SiteId, Timestamp>> {
    Ok(veille_storage::sites::last_seen(&app.db, &who.scope(), sites).await?)
}

/// The age class of a site's last sighting, for the map and list: under a
/// week, under a month, older, never.
pub fn age_class(last: Option<Timestamp>, now: Timestamp) -> &'static str {
    match last.map(|t| t.seconds_until(now) / 86_400) {
        None => "never",
        Some(d) if d < 7 => "week",
        Some(d) if d < 30 => "month",
        Some(_) => "older",
    }
}

// ---------------------------------------------------------------- lists and the map

/// What the list of sites keeps.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this territory.
    pub territory: Option<TerritoryId>,
    /// Only sites not seen for this many days (or never).
    pub stale_days: Option<i64>,
}

/// A site as lists show it.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The site.
    pub site: Site,
    /// Its territory's name.
    pub territory: String,
    /// Last seen by a team.
    pub last_seen: Option<Timestamp>,
    /// Age class of that sighting.
    pub age: &'static str,
    /// Figures of its latest observation.
    pub latest: Option<Figures>,
}

/// The sites the account reads that pass `filter`, by name, with when each
/// was last seen and its latest figures: every one (the API, exports).
pub async fn list_sites(app: &App, who: &Caller, filter: &ListFilter) -> Result<Vec<Listed>> {
    gate(who)?;
    listed(app, who, filter, None).await
}

/// Page `page` of the sites the account reads that pass `filter`, by name,
/// with how many there are.
pub async fn page_of_sites(app: &App, who: &Caller, filter: &ListFilter, page: i64) -> Result<Paged<Listed>> {
    gate(who)?;
    let total = veille_storage::sites::count(&app.db, &who.scope(), &stored_filter(app, filter, None)).await?;
    Paged::read(page, PER_PAGE, total, |w| listed(app, who, filter, Some(w))).await
}

/// The list's filter as storage reads it.
fn stored_filter(app: &App, filter: &ListFilter, window: Option<Window>) -> veille_storage::sites::Filter {
    veille_storage::sites::Filter {
        kind: filter.kind.clone(),
        status: filter.status.clone(),
        territory: filter.territory,
        not_seen_since: filter.stale_days.map(|days| app.clock.now().plus_seconds(-days * 86_400)),
        window,
    }
}

/// The sites of the list (a window of it), each with its last sighting and
/// latest figures.
async fn listed(app: &App, who: &Caller, filter: &ListFilter, window: Option<Window>) -> Result<Vec<Listed>> {
    let scope = who.scope();
    let now = app.clock.now();
    let sites = veille_storage::sites::list(&app.db, &scope, &stored_filter(app, filter, window)).await?;
    let ids: Vec<SiteId> = sites.iter().map(|s| s.id).collect();
    let seen = veille_storage::sites::last_seen(&app.db, &scope, &ids).await?;
    let mut latest = veille_storage::sites::latest_observations(&app.db, &scope, &ids).await?;
    let names = crate::territories::names(&app.db).await?;
    Ok(sites
        .into_iter()
        .map(|site| {
            let last = seen.get(&site.id).copied();
            Listed {
                territory: site.territory.and_then(|t| names.get(&t).cloned()).unwrap_or_default(),
                last_seen: last,
                age: age_class(last, now),
                latest: latest.remove(&site.id).map(|o| o.figures),
                site,
            }
        })
        .collect())
}

/// The territories a list of sites may be filtered by.
pub async fn territories(app: &App) -> Result<Vec<Territory>> {
    Ok(territories::list(&app.db).await?)
}

/// The active sites the account reads, as GeoJSON points with the age class
/// of their last sighting (no counts, no comments).
pub async fn map(app: &App, who: &Caller) -> Result<serde_json::Value> {
    gate(who)?;
    let scope = who.scope();
    let now = app.clock.now();
    let active = veille_storage::sites::Filter { status: Some("active".into()), ..Default::default() };
    let sites = veille_storage::sites::list(&app.db, &scope, &active).await?;
    let ids: Vec<SiteId> = sites.iter().map(|s| s.id).collect();
    let seen = veille_storage::sites::last_seen(&app.db, &scope, &ids).await?;
    let features: Vec<serde_json::Value> = sites
        .iter()
        .map(|s| {
            let last = seen.get(&s.id).copied();
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
                "properties": {
                    "id": s.id.to_string(), "name": s.name, "kind": s.kind, "age": age_class(last, now),
                    "last_seen": last.map(|t| t.to_rfc3339()), "url": format!("/sites/{}", s.id),
                },
            })
        })
        .collect();
    Ok(serde_json::json!({"type": "FeatureCollection", "features": features}))
}

// ---------------------------------------------------------------- one site

/// A closure line shown on a site: where people went, or came from, and the
/// other site when the account reads it.
#[derive(Clone, Debug)]
pub struct Move {
    /// The closure line.
    pub destination: Destination,
    /// The other site (id, name), when the account reads it.
    pub other: Option<(SiteId, String)>,
}

/// An observation with the names of who made it.
#[derive(Clone, Debug)]
pub struct Observed {
    /// The observation.
    pub observation: Observation,
    /// The observing organisation's name.
    pub organisation: String,
    /// The observing team's name.
    pub team: String,
}

/// Everything a site page shows about a site the account reads.
#[derive(Clone, Debug)]
pub struct Detail {
    /// Its territory's name.
    pub territory: String,
    /// The recording organisation's name.
    pub organisation: String,
    /// Last seen by a team.
    pub last_seen: Option<Timestamp>,
    /// Age class of that sighting.
    pub age: &'static str,
    /// Observations, oldest first.
    pub observations: Vec<Observed>,
    /// History, oldest first.
    pub history: Vec<Event>,
    /// The site's logbook: handovers first, then the latest entries.
    pub logbook: Vec<crate::neighbourhood::logbooks::EntryView>,
    /// Where its people went.
    pub left: Vec<Move>,
    /// The closed sites whose people came here.
    pub arrived: Vec<Move>,
    /// The other active sites the account reads (to name where people went).
    pub others: Vec<Site>,
}

/// What the page of `site` (loaded for the account) shows.
pub async fn detail(app: &App, who: &Caller, site: &Site) -> Result<Detail> {
    let scope = who.scope();
    let now = app.clock.now();
    let orgs: HashMap<OrganisationId, String> = organisations::list(&app.db).await?.into_iter().map(|o| (o.id, o.name)).collect();
    let team_names: HashMap<TeamId, String> = teams::list(&app.db, None).await?.into_iter().map(|t| (t.id, t.name)).collect();
    let observations = veille_storage::sites::observations(&app.db, &scope, site.id)
        .await?
        .into_iter()
        .map(|o| Observed {
            organisation: orgs.get(&o.organisation).cloned().unwrap_or_default(),
            team: o.team.and_then(|t| team_names.get(&t).cloned()).unwrap_or_default(),
            observation: o,
        })
        .collect();
    let (left, arrived) = veille_storage::sites::moves(&app.db, &scope, site.id).await?;
    let readable = veille_storage::sites::list(&app.db, &scope, &Default::default()).await?;
    let name_of = |id: Option<SiteId>| id.and_then(|id| readable.iter().find(|s| s.id == id)).map(|s| (s.id, s.name.clone()));
    let left = left.into_iter().map(|d| Move { other: name_of(d.to_site), destination: d }).collect();
    let arrived = arrived.into_iter().map(|d| Move { other: name_of(Some(d.site)), destination: d }).collect();
    let last = veille_storage::sites::last_seen(&app.db, &scope, &[site.id]).await?.get(&site.id).copied();
    let territory = match site.territory {
        Some(t) => crate::territories::names(&app.db).await?.remove(&t).unwrap_or_default(),
        None => String::new(),
    };
    Ok(Detail {
        territory,
        organisation: orgs.get(&site.organisation).cloned().unwrap_or_default(),
        last_seen: last,
        age: age_class(last, now),
        observations,
        history: timeline::of(&app.db, RecordKind::Site, site.id).await?,
        logbook: crate::neighbourhood::logbooks::of_book(app, &scope, veille_domain::neighbourhood::BookKind::Site, &site.id.to_string(), 50).await?,
        left,
        arrived,
        others: readable.into_iter().filter(|s| s.id != site.id && s.status == "active").collect(),
    })
}

/// The observations of a site the account reads, oldest first.
pub async fn observations(app: &App, who: &Caller, site: SiteId) -> Result<Vec<Observation>> {
    Ok(veille_storage::sites::observations(&app.db, &who.scope(), site).await?)
}

/// One observation of a site the account reads.
pub async fn observation(app: &App, who: &Caller, site: SiteId, id: ObservationId) -> Result<Option<Observation>> {
    Ok(observations(app, who, site).await?.into_iter().find(|o| o.id == id))
}

/// The history of a site the account has loaded, oldest first.
pub async fn history(app: &App, site: &Site) -> Result<Vec<Event>> {
    Ok(timeline::of(&app.db, RecordKind::Site, site.id).await?)
}

/// One figure over time, for a chart: its key (`people`, `women`…) and the
/// (instant, value) of each observation, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// The figure's key (its name is the message `site.figure.<key>`).
    pub key: &'static str,
    /// (observed at, value), oldest first.
    pub values: Vec<(Timestamp, i64)>,
}

/// The figures charted on a site page, from its observations (oldest first);
/// none without observations.
pub fn series(observations: &[Observation]) -> Vec<Series> {
    if observations.is_empty() {
        return Vec::new();
    }
    let one = |key: &'static str, f: &dyn Fn(&Observation) -> i64| Series { key, values: observations.iter().map(|o| (o.observed_at, f(o))).collect() };
    vec![
        one("people", &|o| o.figures.people),
        one("women", &|o| o.figures.women),
        one("minors", &|o| o.figures.minors()),
        one("tents", &|o| o.figures.tents),
        one("huts", &|o| o.figures.huts),
        one("vehicles", &|o| o.figures.vehicles),
        one("material_collected", &|o| o.figures.material_collected),
    ]
}

// ---------------------------------------------------------------- the observation form

/// The teams of the account's organisation, those it belongs to first.
pub async fn observation_teams(app: &App, who: &Caller) -> Result<Vec<Team>> {
    let mut mine = Vec::new();
    let mut rest = Vec::new();
    for t in teams::list(&app.db, Some(who.account.organisation)).await? {
        if teams::members(&app.db, t.id).await?.contains(&who.account.id) {
            mine.push(t);
        } else {
            rest.push(t);
        }
    }
    mine.extend(rest);
    Ok(mine)
}

/// The round (and its team) an observation form is opened from, when it is
/// one of the account's organisation it reads.
pub async fn observation_round(app: &App, who: &Caller, round: &str) -> Result<Option<(RoundId, TeamId)>> {
    Ok(crate::rounds::own_round(app, who, round).await?.map(|r| (r.id, r.team)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: i64) -> Timestamp {
        Timestamp::from_micros(1_795_000_000_000_000).plus_seconds(days * 86_400)
    }

    #[test]
    fn the_age_class_of_a_sighting() {
        let now = at(100);
        assert_eq!(age_class(None, now), "never");
        assert_eq!(age_class(Some(at(94)), now), "week");
        assert_eq!(age_class(Some(at(93)), now), "month");
        assert_eq!(age_class(Some(at(71)), now), "month");
        assert_eq!(age_class(Some(at(70)), now), "older");
    }

    #[test]
    fn counts_typed_in_a_form_that_are_not_counts_are_named_and_counted_as_zero() {
        let pairs: Vec<(String, String)> = [("people", "12"), ("women", "deux"), ("tents", "-1"), ("huts", ""), ("comment", " RAS ")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let input = ObservationInput::from_form(&pairs);
        assert_eq!((input.figures.people, input.figures.women, input.figures.tents, input.figures.huts), (12, 0, 0, 0));
        assert_eq!(input.unreadable, vec!["women".to_string(), "tents".to_string()]);
        assert_eq!(input.comment, "RAS");
        assert_eq!(input.observed_at, None);
    }

    #[test]
    fn a_logbook_entry_is_neither_empty_nor_too_long() {
        assert!(validate_log(crate::Lang::Fr, "  ").unwrap_err().has("log"));
        assert!(validate_log(crate::Lang::Fr, &"x".repeat(MAX_LOG + 1)).is_err());
        assert_eq!(validate_log(crate::Lang::Fr, " Passage calme ").unwrap(), "Passage calme");
    }
}
