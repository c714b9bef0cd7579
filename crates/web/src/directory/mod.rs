//! The partner directory: structures and services (address and map point,
//! opening hours, publics, conditions of access, languages, phone, capacity,
//! territory computed from the point), searched by need, territory and "open
//! now" (Europe/Paris, app clock); pages to browse, search and edit; the
//! service picker other forms embed; the JSON API; the data·inclusion import.
//!
//! Access: `ResourceKind::Directory` — read by every account; imported entries
//! (no owner) written by the instance administrator; an organisation's own
//! entries by its administrators and coordinators. Entries hold no personal
//! data about the people followed, so reads are not audited; writes are.

pub mod api;
pub mod datainclusion;
pub mod hours;
pub mod import;
pub mod pages;
pub mod picker;

use axum::routing::{get, post};
use serde::Deserialize;
use veille_domain::{Resource, ResourceKind, TerritoryId, Timestamp};
use veille_storage::directory::{self as store, ServiceEntry, Structure};

use crate::error::{AppError, AppResult};
use crate::routes::{Access, ApiDoc, QueryParam, Registry};
use crate::AppState;

use hours::{Hours, State};

/// The routes of the directory: pages, picker, import page, JSON API.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/directory", Signed, "Partner directory: search services by need, territory, opening", get(pages::search))
        .get("/directory/picker", Signed, "Service picker fragment (radio inputs named service_id) for other forms", get(picker::fragment))
        .get("/directory/import", Signed, "Import the directory from data·inclusion files (dry run first)", get(pages::import_form))
        .post("/directory/import", Signed, "Run or preview a data·inclusion import", post(pages::import_upload))
        .get("/directory/structures/new", Signed, "New structure of the own organisation", get(pages::new_structure))
        .post("/directory/structures", Signed, "Create a structure of the own organisation", post(pages::create_structure))
        .get("/directory/structures/{id}", Signed, "A structure and its services", get(pages::structure))
        .get("/directory/structures/{id}/edit", Signed, "Edit an own structure", get(pages::edit_structure))
        .post("/directory/structures/{id}", Signed, "Save an own structure", post(pages::update_structure))
        .get("/directory/structures/{id}/services/new", Signed, "New service of an own structure", get(pages::new_service))
        .post("/directory/structures/{id}/services", Signed, "Create a service of an own structure", post(pages::create_service))
        .get("/directory/services/{id}", Signed, "A service: hours, publics, conditions, languages, capacity", get(pages::service))
        .get("/directory/services/{id}/edit", Signed, "Edit an own service", get(pages::edit_service))
        .post("/directory/services/{id}", Signed, "Save an own service", post(pages::update_service))
        .post("/directory/services/{id}/local", Signed, "Set a service's languages and capacity", post(pages::update_local))
        .get("/api/v1/services", Signed, "Services of the partner directory, with the search filters", get(api::services))
        .doc(ApiDoc::default().response(crate::routes::schema::<Vec<api::ServiceView>>).query(&SEARCH_PARAMS))
        .get("/api/v1/services/{id}", Signed, "A service of the partner directory", get(api::service))
        .doc(ApiDoc::default().response(crate::routes::schema::<api::ServiceView>))
        .get("/api/v1/structures", Signed, "Structures of the partner directory", get(api::structures))
        .doc(ApiDoc::default().response(crate::routes::schema::<Vec<api::StructureView>>).query(&[
            QueryParam { name: "q", schema: r#"{"type": "string", "maxLength": 200}"#, required: false },
            QueryParam { name: "limit", schema: r#"{"type": "integer", "minimum": 1, "maximum": 1000}"#, required: false },
        ]))
        .get("/api/v1/structures/{id}", Signed, "A structure of the partner directory and its services", get(api::structure))
        .doc(ApiDoc::default().response(crate::routes::schema::<api::StructureView>))
}

/// The search filters as the API publishes them: the vocabularies are the
/// ones `parse_search` checks (data·inclusion's thématiques and publics,
/// veille's languages), so a value outside them is refused, not ignored.
static SEARCH_PARAMS: std::sync::LazyLock<Vec<QueryParam>> = std::sync::LazyLock::new(|| {
    let v = datainclusion::vocabulary();
    let needs: Vec<&String> = v.themes.iter().chain(v.categories.iter()).collect();
    let leak = |value: serde_json::Value| -> &'static str { Box::leak(value.to_string().into_boxed_str()) };
    vec![
        QueryParam { name: "need", schema: leak(serde_json::json!({"type": "string", "enum": needs})), required: false },
        QueryParam { name: "territory", schema: r#"{"type": "string", "format": "uuid"}"#, required: false },
        QueryParam { name: "public", schema: leak(serde_json::json!({"type": "string", "enum": v.publics})), required: false },
        QueryParam { name: "language", schema: leak(serde_json::json!({"type": "string", "enum": LANGUAGES})), required: false },
        QueryParam { name: "open_now", schema: r#"{"type": "boolean"}"#, required: false },
        QueryParam { name: "q", schema: r#"{"type": "string", "maxLength": 200}"#, required: false },
        QueryParam { name: "lat", schema: r#"{"type": "number", "minimum": -90, "maximum": 90, "description": "with lon: sorted by distance from this point"}"#, required: false },
        QueryParam { name: "lon", schema: r#"{"type": "number", "minimum": -180, "maximum": 180, "description": "with lat"}"#, required: false },
        QueryParam { name: "limit", schema: r#"{"type": "integer", "minimum": 1, "maximum": 500}"#, required: false },
    ]
});

/// Languages a service can be marked as speaking (ISO 639 codes; `fsl`: French
/// sign language).
pub const LANGUAGES: &[&str] = &[
    "fr", "en", "ar", "es", "pt", "it", "de", "ro", "bg", "pl", "ru", "uk", "ka", "tr", "ku", "fa", "ps", "ur", "bn", "ta", "zh", "ti", "am", "so",
    "wo", "ln", "sw", "fsl",
];

/// The access-control description of a structure (its services share it).
pub fn resource(s: &Structure) -> Resource {
    let r = Resource::new(ResourceKind::Directory);
    match s.organisation {
        Some(org) => r.owned_by(org),
        None => r,
    }
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
    /// Whether it is open at the instant of the search.
    pub fn is_open(&self) -> bool {
        matches!(self.now, Some(State::Open(_)))
    }
}

fn valid_need(need: &str) -> bool {
    let v = datainclusion::vocabulary();
    v.themes.iter().any(|t| t == need) || v.categories.iter().any(|c| c == need)
}

/// Turns what was typed into the storage search; `Err` when a filter names
/// something that does not exist (400).
pub fn parse_search(q: &SearchQuery) -> AppResult<(store::Search, Option<(f64, f64)>, usize)> {
    let need = Some(q.need.trim()).filter(|n| !n.is_empty());
    if need.is_some_and(|n| !valid_need(n)) {
        return Err(AppError::bad_request());
    }
    let territory = match q.territory.trim() {
        "" => None,
        t => Some(t.parse::<TerritoryId>().map_err(|_| AppError::bad_request())?),
    };
    let public = Some(q.public.trim()).filter(|p| !p.is_empty());
    if public.is_some_and(|p| !datainclusion::vocabulary().publics.iter().any(|x| x == p)) {
        return Err(AppError::bad_request());
    }
    let language = Some(q.language.trim()).filter(|l| !l.is_empty());
    if language.is_some_and(|l| !LANGUAGES.contains(&l)) {
        return Err(AppError::bad_request());
    }
    if !q.open_now_known() {
        return Err(AppError::bad_request());
    }
    // Each coordinate given must be a number in range; a distance needs both.
    let coordinate = |text: &str, bound: f64| -> AppResult<Option<f64>> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.replace(',', ".").parse::<f64>().ok().filter(|x| x.abs() <= bound).map(Some).ok_or_else(AppError::bad_request)
    };
    let point = match (coordinate(&q.lat, 90.0)?, coordinate(&q.lon, 180.0)?) {
        (Some(lat), Some(lon)) => Some((lon, lat)),
        _ => None,
    };
    let limit = match q.limit.trim() {
        "" => 50,
        l => l.parse::<usize>().ok().filter(|n| (1..=500).contains(n)).ok_or_else(AppError::bad_request)?,
    };
    if q.q.chars().count() > 200 {
        return Err(AppError::bad_request());
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
    Ok((search, point, limit))
}

/// The state of a service's hours at `at`.
pub fn state_of(entry: &ServiceEntry, at: Timestamp) -> Option<State> {
    Hours::parse(entry.opening_hours()).map(|h| h.state(at))
}

/// Whether every word of `words` (folded) is in the service's or its
/// structure's name or the service's description.
fn has_words(entry: &ServiceEntry, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let s = &entry.service.fields;
    let hay = veille_linkage::normalize::normalize(&format!("{} {} {}", s.name, entry.structure.fields.name, s.description));
    words.iter().all(|w| hay.contains(w.as_str()))
}

/// The words of a query, accents and case folded.
pub fn words(q: &str) -> Vec<String> {
    veille_linkage::normalize::normalize(q).split_whitespace().take(8).map(str::to_owned).collect()
}

/// Runs a search at the app clock's instant: filters in the database, then
/// words, "open now" and distance from the opening hours and the point.
pub async fn search(state: &AppState, q: &SearchQuery) -> AppResult<Vec<Found>> {
    let (search, point, limit) = parse_search(q)?;
    let words = words(&q.q);
    let now = state.clock.now();
    // Services often share their hours (their structure's): evaluate each text once.
    let mut states: std::collections::HashMap<String, Option<State>> = std::collections::HashMap::new();
    let mut found: Vec<Found> = store::search(&state.db, &search)
        .await?
        .into_iter()
        .filter(|entry| has_words(entry, &words))
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

/// Loads the synthetic demo directory (invented structures in Paris: CAARUD,
/// CSAPA, PASS, day centres, shelters, legal aid…) through the data·inclusion
/// importer, from the fixture shipped with veille.
pub async fn load_demo(db: &veille_storage::Db, now: Timestamp) -> anyhow::Result<import::Counts> {
    let index = crate::territories::index_of(db).await?;
    let files = [("demo-annuaire.json".to_owned(), DEMO_DIRECTORY.as_bytes().to_vec())];
    let outcome = import::run(db, &index, &files, import::Options::default(), None, now).await?;
    anyhow::ensure!(outcome.written && outcome.problems.is_empty(), "the demo directory did not import: {:?}", outcome.problems);
    // veille's own fields, which data·inclusion does not carry.
    let local: &[(&str, &[&str], &str, &str)] = &[
        ("demo--caarud-canal--accueil", &["fr", "ar", "ru", "ka"], "unknown", ""),
        ("demo--csapa-lumiere--consultation", &["fr", "en"], "unknown", ""),
        ("demo--pass-hopital-nord--soins", &["fr", "en", "ar", "ps", "fa"], "unknown", ""),
        ("demo--chu-etoile--mise-abri", &["fr", "en"], "limited", "2 places ce soir (démo)"),
        ("demo--halte-femmes--nuit", &["fr", "en", "ti", "ar"], "available", ""),
        ("demo--acces-droit--permanence", &["fr", "en", "ar", "ro", "fsl"], "unknown", ""),
    ];
    let known = store::known_services(db, &["demo-veille".to_owned()]).await?;
    let mut tx = db.begin().await?;
    for (id, languages, capacity, note) in local {
        let Some(k) = known.get(&("demo-veille".to_owned(), (*id).to_owned())) else { continue };
        let Some(entry) = store::service(db, k.id).await? else { continue };
        let fields = store::LocalFields { languages: languages.iter().map(|l| (*l).to_owned()).collect(), capacity: (*capacity).to_owned(), capacity_note: (*note).to_owned() };
        store::update_local(&mut tx, &entry.service, &fields, entry.service.version, now).await?;
    }
    tx.commit().await?;
    Ok(outcome.counts)
}

/// The demo directory, in data·inclusion v1 (synthetic, visibly invented).
pub const DEMO_DIRECTORY: &str = include_str!("../../demo/annuaire-demo.json");
