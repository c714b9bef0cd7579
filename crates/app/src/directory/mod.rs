//! The partner directory: structures and services (address and map point,
//! opening hours, publics, conditions of access, languages, phone, capacity,
//! territory computed from the point), searched by need, territory, public,
//! language, words and "open now" (Europe/Paris, app clock), sorted by
//! distance from a point; an organisation's own entries and veille's own
//! fields of any service ([`entries`]); the data·inclusion reader
//! ([`datainclusion`]) and import ([`import`]); opening hours ([`hours`]);
//! the demo entries ([`demo`]).
//!
//! Access: `ResourceKind::Directory` — read by every account; imported entries
//! (no owner) written by the instance administrator; an organisation's own
//! entries by its administrators and coordinators. Entries are public
//! information and hold no personal data about the people followed, so
//! queries take no [`Scope`](veille_storage::Scope) and reads are not
//! audited; every write asks the permission function through a [`Caller`]
//! and is audited.

pub mod datainclusion;
pub mod demo;
pub mod entries;
pub mod hours;
pub mod import;

use std::collections::HashMap;

use serde::Deserialize;
use veille_domain::{Action, Resource, ResourceKind, ServiceId, StructureId, TerritoryId, Timestamp};
use veille_storage::directory as store;
use veille_storage::territories::{self, Territory};

use crate::error::{Error, Result};
use crate::{App, Caller};

pub use hours::{Hours, State};
pub use veille_domain::directory::Capacity;
pub use veille_storage::directory::{LocalFields, Service, ServiceEntry, ServiceFields, Structure, StructureFields, OWN_SOURCE};

/// Languages a service can be marked as speaking (ISO 639 codes; `fsl`: French
/// sign language).
pub const LANGUAGES: &[&str] = &[
    "fr", "en", "ar", "es", "pt", "it", "de", "ro", "bg", "pl", "ru", "uk", "ka", "tr", "ku", "fa", "ps", "ur", "bn", "ta", "zh", "ti", "am", "so", "wo", "ln",
    "sw", "fsl",
];

/// The access-control description of a structure (its services share it).
pub fn resource(s: &Structure) -> Resource {
    let r = Resource::new(ResourceKind::Directory);
    match s.organisation {
        Some(org) => r.owned_by(org),
        None => r,
    }
}

/// The directory as a whole: what reading it and importing into it (the
/// instance's entries, no owner) are asked about.
fn instance_directory() -> Resource {
    Resource::new(ResourceKind::Directory)
}

/// Every account reads the directory; this names the rule in one place.
pub fn gate(who: &Caller) -> Result<()> {
    who.require(Action::Read, &instance_directory())
}

/// Whether the account may keep entries of its own organisation.
pub fn can_create(who: &Caller) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Directory).owned_by(who.account.organisation)).allowed
}

/// Whether the account may import (imported entries are the instance's) and
/// set veille's own fields of imported services.
pub fn can_import(who: &Caller) -> bool {
    who.can(Action::Update, &instance_directory()).allowed
}

/// What a search asks, as typed in a page, the picker or the API. The picker
/// embedded in another form names its fields `dir_*` (so they never collide
/// with the host form's own); both spellings are read.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct SearchQuery {
    /// A thématique or a category.
    #[serde(default, alias = "dir_need")]
    pub need: String,
    /// A territory id.
    #[serde(default, alias = "dir_territory")]
    pub territory: String,
    /// A public.
    #[serde(default, alias = "dir_public")]
    pub public: String,
    /// A language code.
    #[serde(default, alias = "dir_language")]
    pub language: String,
    /// `1`, `true` or `on`: only services open now.
    #[serde(default, alias = "dir_open_now")]
    pub open_now: String,
    /// Words.
    #[serde(default, alias = "dir_q")]
    pub q: String,
    /// Latitude to sort by distance from.
    #[serde(default, alias = "dir_lat")]
    pub lat: String,
    /// Longitude to sort by distance from.
    #[serde(default, alias = "dir_lon")]
    pub lon: String,
    /// At most this many results (default 50, at most 500).
    #[serde(default)]
    pub limit: String,
    /// The service already chosen (the picker keeps it checked).
    #[serde(default, alias = "service_id")]
    pub selected: String,
}

impl SearchQuery {
    /// Whether "open now" is asked.
    pub fn open_now(&self) -> bool {
        matches!(self.open_now.as_str(), "1" | "true" | "on")
    }
    /// Whether the "open now" value is one the search understands.
    fn open_now_known(&self) -> bool {
        matches!(self.open_now.as_str(), "" | "0" | "1" | "true" | "false" | "on")
    }
    /// Whether any filter is set.
    pub fn is_empty(&self) -> bool {
        self.need.is_empty() && self.territory.is_empty() && self.public.is_empty() && self.language.is_empty() && !self.open_now() && self.q.trim().is_empty()
    }
}

/// A service found, with its state at the instant of the search.
#[derive(Clone, Debug)]
pub struct Found {
    /// The service and its structure.
    pub entry: ServiceEntry,
    /// Open or closed now (none: no hours, or not understood).
    pub now: Option<State>,
    /// Distance from the point asked, metres.
    pub distance_m: Option<f64>,
}

impl Found {
    /// A service as found at `at`, with no distance.
    pub fn at(entry: ServiceEntry, at: Timestamp) -> Self {
        Found { now: state_of(&entry, at), entry, distance_m: None }
    }
    /// Whether it is open at the instant of the search.
    pub fn is_open(&self) -> bool {
        matches!(self.now, Some(State::Open(_)))
    }
}

fn valid_need(need: &str) -> bool {
    let v = datainclusion::vocabulary();
    v.themes.iter().any(|t| t == need) || v.categories.iter().any(|c| c == need)
}

/// A search as the storage runs it, with what is done after: the point to
/// sort by distance from and the number of results.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The filters the database applies.
    pub search: store::Search,
    /// (lon, lat) to sort by distance from.
    pub point: Option<(f64, f64)>,
    /// At most this many results.
    pub limit: usize,
}

/// Turns what was typed into the storage search; a bad request when a filter
/// names something that does not exist (the API's published vocabularies).
pub fn parse_search(q: &SearchQuery) -> Result<Parsed> {
    let need = Some(q.need.trim()).filter(|n| !n.is_empty());
    if need.is_some_and(|n| !valid_need(n)) {
        return Err(Error::bad_request());
    }
    let territory = match q.territory.trim() {
        "" => None,
        t => Some(t.parse::<TerritoryId>().map_err(|_| Error::bad_request())?),
    };
    let public = Some(q.public.trim()).filter(|p| !p.is_empty());
    if public.is_some_and(|p| !datainclusion::vocabulary().publics.iter().any(|x| x == p)) {
        return Err(Error::bad_request());
    }
    let language = Some(q.language.trim()).filter(|l| !l.is_empty());
    if language.is_some_and(|l| !LANGUAGES.contains(&l)) {
        return Err(Error::bad_request());
    }
    if !q.open_now_known() {
        return Err(Error::bad_request());
    }
    // Each coordinate given must be a number in range; a distance needs both.
    let coordinate = |text: &str, bound: f64| -> Result<Option<f64>> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.replace(',', ".").parse::<f64>().ok().filter(|x| x.abs() <= bound).map(Some).ok_or_else(Error::bad_request)
    };
    let point = match (coordinate(&q.lat, 90.0)?, coordinate(&q.lon, 180.0)?) {
        (Some(lat), Some(lon)) => Some((lon, lat)),
        _ => None,
    };
    let limit = match q.limit.trim() {
        "" => 50,
        l => l.parse::<usize>().ok().filter(|n| (1..=500).contains(n)).ok_or_else(Error::bad_request)?,
    };
    if q.q.chars().count() > 200 {
        return Err(Error::bad_request());
    }
    let search = store::Search {
        need: need.map(str::to_owned),
        territory,
        public: public.map(str::to_owned),
        language: language.map(str::to_owned),
        // Words are matched here, accents and case folded (SQLite's LOWER only knows ASCII).
        text: None,
        structure: None,
        limit: if q.open_now() || point.is_some() || !q.q.trim().is_empty() { 5000 } else { limit as i64 },
    };
    Ok(Parsed { search, point, limit })
}

/// The state of a service's hours at `at`.
pub fn state_of(entry: &ServiceEntry, at: Timestamp) -> Option<State> {
    Hours::parse(entry.opening_hours()).map(|h| h.state(at))
}

/// The words of a query, accents and case folded.
pub fn words(q: &str) -> Vec<String> {
    veille_linkage::normalize::normalize(q).split_whitespace().take(8).map(str::to_owned).collect()
}

/// Whether every word (folded) is in `text` once folded.
fn has_all(text: &str, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let hay = veille_linkage::normalize::normalize(text);
    words.iter().all(|w| hay.contains(w.as_str()))
}

/// Whether every word of `words` (folded) is in the service's or its
/// structure's name or the service's description.
fn has_words(entry: &ServiceEntry, words: &[String]) -> bool {
    let s = &entry.service.fields;
    words.is_empty() || has_all(&format!("{} {} {}", s.name, entry.structure.fields.name, s.description), words)
}

fn readable(who: &Caller, s: &Structure) -> bool {
    who.can(Action::Read, &resource(s)).allowed
}

/// Runs a search at the app clock's instant: filters in the database, then
/// words, "open now" and distance from the opening hours and the point; only
/// what the caller may read.
pub async fn search(app: &App, who: &Caller, q: &SearchQuery) -> Result<Vec<Found>> {
    gate(who)?;
    let Parsed { search, point, limit } = parse_search(q)?;
    let words = words(&q.q);
    let now = app.clock.now();
    // Services often share their hours (their structure's): evaluate each text once.
    let mut states: HashMap<String, Option<State>> = HashMap::new();
    let mut found: Vec<Found> = store::search(&app.db, &search)
        .await?
        .into_iter()
        .filter(|entry| has_words(entry, &words) && readable(who, &entry.structure))
        .map(|entry| {
            let now_state = *states.entry(entry.opening_hours().to_owned()).or_insert_with(|| state_of(&entry, now));
            let distance_m = match (point, entry.point()) {
                (Some((lon, lat)), Some((x, y))) => match (veille_geo::LonLat::new(lon, lat), veille_geo::LonLat::new(x, y)) {
                    (Ok(a), Ok(b)) => Some(veille_geo::distance_m(a, b)),
                    _ => None,
                },
                _ => None,
            };
            Found { now: now_state, entry, distance_m }
        })
        .filter(|f| !q.open_now() || f.is_open())
        .collect();
    if point.is_some() {
        found.sort_by(|a, b| a.distance_m.unwrap_or(f64::MAX).total_cmp(&b.distance_m.unwrap_or(f64::MAX)));
    }
    found.truncate(limit);
    Ok(found)
}

/// At most this many services a picker offers at once (unless the query says).
pub const PICKER_LIMIT: usize = 30;

/// The services a picker offers (a referral's `service_id`): those matching
/// the filters (none before a filter is set), the chosen one (`q.selected`)
/// first whatever the filters, when the caller may read it.
pub async fn offer(app: &App, who: &Caller, q: &SearchQuery) -> Result<Vec<Found>> {
    gate(who)?;
    let mut q = q.clone();
    if q.limit.is_empty() {
        q.limit = PICKER_LIMIT.to_string();
    }
    let mut found: Vec<Found> = if q.is_empty() { Vec::new() } else { search(app, who, &q).await? };
    if let Ok(id) = q.selected.parse::<ServiceId>() {
        match found.iter().position(|f| f.entry.service.id == id) {
            Some(i) => {
                let chosen = found.remove(i);
                found.insert(0, chosen);
            }
            None => {
                if let Some(entry) = store::service(&app.db, id).await?.filter(|e| readable(who, &e.structure)) {
                    found.insert(0, Found::at(entry, app.clock.now()));
                }
            }
        }
    }
    Ok(found)
}

/// A structure the account may do `action` on (404 when there is none or the
/// id is not one; 403 when readable but the action is refused).
pub async fn load_structure(app: &App, who: &Caller, id: &str, action: Action) -> Result<Structure> {
    gate(who)?;
    let id: StructureId = id.parse().map_err(|_| Error::not_found())?;
    let s = store::structure(&app.db, id).await?.ok_or_else(Error::not_found)?;
    who.require(action, &resource(&s))?;
    Ok(s)
}

/// A service (with its structure) the account may do `action` on (404 when
/// there is none; 403 when readable but the action is refused): what a page
/// shows, and what a referral names and loads.
pub async fn load_service(app: &App, who: &Caller, id: &str, action: Action) -> Result<ServiceEntry> {
    gate(who)?;
    let id: ServiceId = id.parse().map_err(|_| Error::not_found())?;
    load_service_id(app, who, id, action).await
}

/// [`load_service`] with a typed id.
pub async fn load_service_id(app: &App, who: &Caller, id: ServiceId, action: Action) -> Result<ServiceEntry> {
    gate(who)?;
    let e = store::service(&app.db, id).await?.ok_or_else(Error::not_found)?;
    who.require(action, &resource(&e.structure))?;
    Ok(e)
}

/// The services of a structure the caller read, by name, as found now.
pub async fn services_of(app: &App, s: &Structure) -> Result<Vec<Found>> {
    let now = app.clock.now();
    Ok(store::services_of(&app.db, s.id).await?.into_iter().map(|service| Found::at(ServiceEntry { service, structure: s.clone() }, now)).collect())
}

/// What the structure list of the API asks.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct StructuresQuery {
    /// Words in the name.
    #[serde(default)]
    pub q: String,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: String,
}

/// Structures by name, with words in their name (accents and case folded).
pub async fn structures(app: &App, who: &Caller, q: &StructuresQuery) -> Result<Vec<Structure>> {
    gate(who)?;
    let limit = match q.limit.trim() {
        "" => 100,
        l => l.parse::<i64>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(Error::bad_request)?,
    };
    if q.q.chars().count() > 200 {
        return Err(Error::bad_request());
    }
    let words = words(&q.q);
    let fetch = if words.is_empty() { limit } else { 5000 };
    Ok(store::structures(&app.db, fetch).await?.into_iter().filter(|s| has_all(&s.fields.name, &words) && readable(who, s)).take(limit as usize).collect())
}

/// How many structures and services the directory holds.
pub async fn counts(app: &App) -> Result<(i64, i64)> {
    Ok(store::counts(&app.db).await?)
}

/// The choices of the search filters (and of the service form).
#[derive(Clone, Debug)]
pub struct Filters {
    /// (category, its thématiques).
    pub needs: Vec<(String, Vec<String>)>,
    /// Publics.
    pub publics: Vec<String>,
    /// Languages.
    pub languages: Vec<&'static str>,
    /// Territories.
    pub territories: Vec<Territory>,
}

/// Every choice of the search filters.
pub async fn filters(app: &App) -> Result<Filters> {
    let v = datainclusion::vocabulary();
    let needs = v.categories.iter().map(|c| (c.clone(), v.themes.iter().filter(|t| t.starts_with(&format!("{c}--"))).cloned().collect())).collect();
    Ok(Filters { needs, publics: v.publics.clone(), languages: LANGUAGES.to_vec(), territories: territories::list(&app.db).await? })
}

/// The name of every territory, by id.
pub type TerritoryNames = HashMap<TerritoryId, String>;

/// The name of every territory (no geometry), for the lines of services.
pub async fn territory_names(app: &App) -> Result<TerritoryNames> {
    crate::territories::names(&app.db).await
}

impl Filters {
    /// The name of every territory offered.
    pub fn territory_names(&self) -> TerritoryNames {
        self.territories.iter().map(|t| (t.id, t.name.clone())).collect()
    }
}

/// "75118 · Paris 18e", or empty (no territory, or one since removed).
pub async fn territory_name(app: &App, t: Option<TerritoryId>) -> Result<String> {
    Ok(match t {
        Some(t) => territories::get(&app.db, t).await.map(|t| format!("{} · {}", t.code, t.name)).unwrap_or_default(),
        None => String::new(),
    })
}

/// A structure and what its page shows beside it.
#[derive(Clone, Debug)]
pub struct StructureDetail {
    /// The structure.
    pub structure: Structure,
    /// Its services, as found now.
    pub services: Vec<Found>,
    /// Its territory in words.
    pub territory: String,
    /// The organisation keeping it (empty: imported).
    pub organisation: String,
    /// The name of every territory (for the services' lines).
    pub territory_names: TerritoryNames,
    /// The caller may change it (an own entry it may update).
    pub can_update: bool,
}

/// A structure with its services, for its page.
pub async fn structure_detail(app: &App, who: &Caller, id: &str) -> Result<StructureDetail> {
    let s = load_structure(app, who, id, Action::Read).await?;
    let organisation = match s.organisation {
        Some(o) => veille_storage::organisations::get(&app.db, o).await?.name,
        None => String::new(),
    };
    Ok(StructureDetail {
        services: services_of(app, &s).await?,
        territory: territory_name(app, s.territory).await?,
        territory_names: territory_names(app).await?,
        can_update: !s.imported() && who.can(Action::Update, &resource(&s)).allowed,
        organisation,
        structure: s,
    })
}

/// A service and what its page shows beside it.
#[derive(Clone, Debug)]
pub struct ServiceDetail {
    /// The service as found now.
    pub found: Found,
    /// Its territory in words.
    pub territory: String,
    /// The name of every territory (for its line).
    pub territory_names: TerritoryNames,
    /// The caller may edit its description (an own entry it may update).
    pub can_edit: bool,
    /// The caller may set its languages and capacity.
    pub can_update_local: bool,
}

/// The page of a service the caller read.
pub async fn service_detail(app: &App, who: &Caller, e: ServiceEntry) -> Result<ServiceDetail> {
    let res = resource(&e.structure);
    Ok(ServiceDetail {
        territory: territory_name(app, e.territory()).await?,
        territory_names: territory_names(app).await?,
        can_edit: !e.structure.imported() && who.can(Action::Update, &res).allowed,
        can_update_local: who.can(Action::Update, &res).allowed,
        found: Found::at(e, app.clock.now()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> SearchQuery {
        let text = serde_urlencoded::to_string(pairs).unwrap_or_default();
        serde_urlencoded::from_str(&text).unwrap_or_default()
    }

    #[test]
    fn a_search_names_only_known_values() {
        for bad in [
            &[("need", "sante--inconnue")][..],
            &[("territory", "T1")],
            &[("public", "tout")],
            &[("language", "xx")],
            &[("open_now", "maybe")],
            &[("lat", "95"), ("lon", "2")],
            &[("lon", "181")],
            &[("limit", "0")],
            &[("limit", "501")],
        ] {
            assert!(matches!(parse_search(&q(bad)), Err(e) if e.kind == crate::ErrorKind::BadRequest), "{bad:?}");
        }
        let p = parse_search(&q(&[("need", "sante"), ("public", "femmes"), ("language", "fsl"), ("limit", "7")])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.search.need.as_deref(), p.search.public.as_deref(), p.search.language.as_deref()), (Some("sante"), Some("femmes"), Some("fsl")));
        assert_eq!((p.limit, p.search.limit, p.point), (7, 7, None));
    }

    #[test]
    fn words_open_now_and_a_point_are_judged_after_the_database_on_every_candidate() {
        // The database cannot fold accents on SQLite nor evaluate hours or
        // distances: it hands over enough candidates, the limit applies after.
        for extra in [("q", "douches"), ("open_now", "1"), ("lat", "48,85")] {
            let mut pairs = vec![("limit", "7"), extra];
            if extra.0 == "lat" {
                pairs.push(("lon", "2.35"));
            }
            let p = parse_search(&q(&pairs)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((p.limit, p.search.limit, p.search.text), (7, 5000, None), "{extra:?}");
        }
        let p = parse_search(&q(&[("lat", "48,85"), ("lon", "2.35")])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.point, Some((2.35, 48.85)));
        assert_eq!(parse_search(&q(&[("lat", "48.85")])).map(|p| p.point).ok(), Some(None), "a distance needs both coordinates");
    }

    #[test]
    fn words_fold_accents_and_case() {
        assert_eq!(words("  Démarches  EXILÉES "), vec!["demarches", "exilees"]);
        assert!(has_all("Permanence d'accès aux droits des personnes exilées", &words("EXILEES acces")));
        assert!(!has_all("Bains-douches", &words("douches repas")));
        assert!(has_all("anything", &[]));
    }

    #[test]
    fn the_picker_fields_are_read_under_both_names() {
        let a = q(&[("dir_need", "sante"), ("dir_open_now", "on"), ("service_id", "x")]);
        assert_eq!((a.need.as_str(), a.open_now(), a.selected.as_str()), ("sante", true, "x"));
        assert!(q(&[]).is_empty() && !a.is_empty());
    }
}
