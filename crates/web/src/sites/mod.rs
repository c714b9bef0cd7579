//! Sites (lieux de vie): camps, squats, slums, open drug-use scenes and
//! gathering places, with their dated anonymous observations, history,
//! logbook, closure (where people went) and a map coloured by the age of the
//! last observation. Access: [`veille_domain::ResourceKind::Site`] (every
//! organisation that goes out reads and observes the sites of its accounts'
//! territories; the creating and the coordinating organisation close them).

pub mod api;
pub mod chart;
pub mod pages;

use std::collections::HashMap;

use axum::routing::{get, post};
use veille_domain::{Action, OrganisationId, Resource, ResourceKind, SiteId, TeamId, Timestamp};
use veille_storage::sites::{self, Figures, Site, ATMOSPHERES, CLOSURE_REASONS, CONDITIONS, CONDITION_RATINGS, DESTINATIONS, KINDS, LAND_OWNERS};

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::i18n::Lang;
use crate::routes::{schema, Access, ApiDoc, Registry};
use crate::AppState;

/// The routes of sites: pages and JSON API.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/sites", Signed, "Sites with filters", get(pages::list))
        .get("/sites/new", Signed, "Form for a new site", get(pages::new_form))
        .post("/sites", Signed, "Record a new site", post(pages::create))
        .get("/sites/map", Signed, "Map of sites by age of their last observation", get(pages::map))
        .get("/sites.geojson", Signed, "Sites the caller may read, as GeoJSON", get(pages::geojson))
        .get("/sites/{id}", Signed, "A site with its observations and history (audited read)", get(pages::show))
        .get("/sites/{id}/observations/new", Signed, "Form for an observation of a site", get(pages::observation_form))
        .post("/sites/{id}/observations", Signed, "Record an observation of a site", post(pages::observe))
        .post("/sites/{id}/confirm", Signed, "Confirm a site unchanged today", post(pages::confirm))
        .post("/sites/{id}/log", Signed, "Add a logbook entry to a site", post(pages::log))
        .post("/sites/{id}/heatwave", Signed, "Raise or lower the heatwave watch of a site", post(pages::heatwave))
        .post("/sites/{id}/close", Signed, "Close a site with its reason and where people went", post(pages::close))
        .post("/sites/{id}/reopen", Signed, "Reopen a closed site", post(pages::reopen))
        .post("/sites/{id}/edit", Signed, "Correct the place: name, kind, point, address, land owner", post(pages::edit))
        .get("/api/v1/sites", Signed, "Sites the caller may read, with their latest figures", get(api::list))
        .doc(ApiDoc::default().response(schema::<Vec<api::SiteView>>))
        .post("/api/v1/sites", Signed, "Record a new site", post(api::create))
        .doc(ApiDoc::default().request(schema::<SiteInput>).response(schema::<api::SiteView>).status(201))
        .get("/api/v1/sites/{id}", Signed, "A site with its observations and history (audited read)", get(api::show))
        .doc(ApiDoc::default().response(schema::<api::SiteDetail>))
        .post("/api/v1/sites/{id}/observations", Signed, "Record an observation of a site", post(api::observe))
        .doc(ApiDoc::default().request(schema::<ObservationInput>).response(schema::<api::ObservationView>).status(201))
}

/// The access-control description of a site: owned by the organisation that
/// recorded it, in its territory, shared with the coordinating organisation.
pub fn resource(site: &Site, coordinating: Option<OrganisationId>) -> Resource {
    let mut r = Resource::new(ResourceKind::Site).owned_by(site.organisation).in_territory(site.territory);
    if let Some(c) = coordinating.filter(|c| *c != site.organisation) {
        r = r.shared_with(c);
    }
    r
}

/// Whether the account works with sites at all (creating one in its own organisation).
pub fn gate(who: &Authenticated) -> AppResult<()> {
    Ok(who.require(Action::Read, &Resource::new(ResourceKind::Site).owned_by(who.account.organisation))?)
}

/// Loads a site: 404 when the account may not read it, 403 when it reads it
/// but may not do `action`.
pub async fn load(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<(Site, Resource)> {
    gate(who)?;
    let id: SiteId = id.parse().map_err(|_| AppError::not_found())?;
    let site = sites::get(&state.db, id).await?;
    let res = resource(&site, crate::reports::coordinating_organisation(state).await?);
    if !who.can(Action::Read, &res).allowed {
        return Err(AppError::not_found());
    }
    who.require(action, &res)?;
    Ok((site, res))
}

/// Every site the account may read, by name.
pub async fn readable_sites(state: &AppState, who: &Authenticated) -> AppResult<Vec<Site>> {
    let coordinating = crate::reports::coordinating_organisation(state).await?;
    Ok(sites::list(&state.db).await?.into_iter().filter(|s| who.can(Action::Read, &resource(s, coordinating)).allowed).collect())
}

/// Every site the account may read, with the instant each was last seen
/// (a query over all observations: only for the pages that show it).
pub async fn readable(state: &AppState, who: &Authenticated) -> AppResult<(Vec<Site>, HashMap<SiteId, Timestamp>)> {
    Ok((readable_sites(state, who).await?, sites::last_seen(&state.db).await?))
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

/// The audit entry of an action on a site.
pub fn entry<'a>(who: &Authenticated, at: Timestamp, action: &'a str, site: &Site, detail: serde_json::Value) -> veille_storage::audit::NewEntry<'a> {
    who.audit_entry(at, action, "site", site.id, site.organisation).with_detail(detail)
}

// ---------------------------------------------------------------- validation

/// The value of a field of a form read as pairs, trimmed (empty when absent).
pub fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
}

/// The version of the record a form was filled from (-1 when absent: the
/// storage refuses it as stale rather than overwrite).
pub fn form_version(pairs: &[(String, String)]) -> i64 {
    field(pairs, "version").parse().unwrap_or(-1)
}

/// A count typed in a form: empty is 0; anything but a whole number from 0 to
/// 100 000 is an error next to that field.
pub fn count(text: &str, name: &str, lang: Lang, errors: &mut FieldErrors) -> i64 {
    if text.is_empty() {
        return 0;
    }
    match text.parse::<i64>() {
        Ok(n) if (0..=100_000).contains(&n) => n,
        _ => {
            errors.add(name, lang.t("site.error.count"));
            0
        }
    }
}

/// A new site, as the form and the API send it.
#[derive(Clone, Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct SiteInput {
    /// Name of the place (never a person's name).
    pub name: String,
    /// `camp`, `squat`, `slum`, `drug_scene`, `gathering_place`, `other`.
    pub kind: String,
    /// Longitude (WGS 84).
    pub lon: Option<f64>,
    /// Latitude (WGS 84).
    pub lat: Option<f64>,
    /// Optional outline: a GeoJSON Polygon or MultiPolygon geometry.
    pub outline: Option<String>,
    /// Address or how to find the place.
    pub address: String,
    /// `municipal`, `state`, `private`, `unknown`.
    pub land_owner: String,
}

/// Checks a new site; the form and the API show the same messages.
pub async fn validate_site(state: &AppState, lang: Lang, input: &SiteInput, org: OrganisationId) -> AppResult<Result<sites::NewSite, FieldErrors>> {
    let mut errors = FieldErrors::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        errors.add("name", lang.t("site.error.name"));
    }
    if !KINDS.contains(&input.kind.as_str()) {
        errors.add("kind", lang.t("form.choose_one"));
    }
    let land_owner = if input.land_owner.is_empty() { "unknown" } else { input.land_owner.as_str() };
    if !LAND_OWNERS.contains(&land_owner) {
        errors.add("land_owner", lang.t("form.choose_one"));
    }
    let point = match (input.lon, input.lat) {
        (Some(lon), Some(lat)) => veille_geo::LonLat::new(lon, lat).ok(),
        _ => None,
    };
    if point.is_none() {
        errors.add("lat", lang.t("site.error.point"));
    }
    let outline = input.outline.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(text) = &outline {
        let ok = text.len() <= 200_000 && veille_geo::geometry_from_geojson(text).is_ok();
        if !ok {
            errors.add("outline", lang.t("site.error.outline"));
        }
    }
    if input.address.chars().count() > 300 {
        errors.add("address", lang.t("site.error.too_long"));
    }
    let Some(p) = point.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    let territory = crate::territories::locate(state, p).await?.map(|t| t.id);
    Ok(Ok(sites::NewSite {
        organisation: org,
        name: name.to_owned(),
        kind: input.kind.clone(),
        lon: p.lon,
        lat: p.lat,
        outline,
        address: input.address.trim().to_owned(),
        territory,
        land_owner: land_owner.to_owned(),
    }))
}

/// An observation, as the form and the API send it. Counts are estimates;
/// unset counts are 0, unset ratings `unknown`.
#[derive(Clone, Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ObservationInput {
    /// When it was observed: RFC 3339, or a Paris wall-clock time `2026-11-23T21:30`; now when absent.
    pub observed_at: Option<String>,
    /// The observing team (of the caller's organisation).
    pub team_id: Option<String>,
    /// The round it was made on (of the caller's organisation).
    pub round_id: Option<String>,
    /// Counts.
    #[serde(flatten)]
    pub figures: Figures,
    /// Water: `good`, `poor`, `bad`, `unknown`.
    pub water: String,
    /// Toilets.
    pub toilets: String,
    /// Electricity.
    pub electricity: String,
    /// Waste collection.
    pub waste: String,
    /// Fire risk (`bad`: high risk).
    pub fire_risk: String,
    /// Rodents (`bad`: many).
    pub rodents: String,
    /// `calm`, `tense`, `very_tense`, `unknown`.
    pub atmosphere: String,
    /// Police present during the visit.
    pub police_presence: bool,
    /// Comment (no names, nothing that identifies a person).
    pub comment: String,
}

impl ObservationInput {
    fn rating(&self, condition: &str) -> &str {
        let v = match condition {
            "water" => &self.water,
            "toilets" => &self.toilets,
            "electricity" => &self.electricity,
            "waste" => &self.waste,
            "fire_risk" => &self.fire_risk,
            _ => &self.rodents,
        };
        if v.is_empty() {
            "unknown"
        } else {
            v
        }
    }

    /// Reads the observation form: counts typed as text are checked here.
    pub fn from_form(pairs: &[(String, String)], lang: Lang, errors: &mut FieldErrors) -> Self {
        let text = |k: &str| field(pairs, k);
        let mut num = |k: &str| count(&text(k), k, lang, errors);
        let figures = Figures {
            people: num("people"),
            men: num("men"),
            women: num("women"),
            minors_0_3: num("minors_0_3"),
            minors_3_6: num("minors_3_6"),
            minors_6_12: num("minors_6_12"),
            minors_12_16: num("minors_12_16"),
            minors_16_18: num("minors_16_18"),
            tents: num("tents"),
            huts: num("huts"),
            vehicles: num("vehicles"),
            material_collected: num("material_collected"),
            material_found: num("material_found"),
        };
        let opt = |k: &str| Some(text(k)).filter(|s| !s.is_empty());
        ObservationInput {
            observed_at: opt("observed_at"),
            team_id: opt("team_id"),
            round_id: opt("round_id"),
            figures,
            water: text("water"),
            toilets: text("toilets"),
            electricity: text("electricity"),
            waste: text("waste"),
            fire_risk: text("fire_risk"),
            rodents: text("rodents"),
            atmosphere: text("atmosphere"),
            police_presence: !text("police_presence").is_empty(),
            comment: text("comment"),
        }
    }
}

/// The names of the count fields, in form order.
pub const COUNT_FIELDS: [&str; 13] = [
    "people", "men", "women", "minors_0_3", "minors_3_6", "minors_6_12", "minors_12_16", "minors_16_18", "tents", "huts", "vehicles", "material_collected", "material_found",
];

fn counts(f: &Figures) -> [i64; 13] {
    [f.people, f.men, f.women, f.minors_0_3, f.minors_3_6, f.minors_6_12, f.minors_12_16, f.minors_16_18, f.tents, f.huts, f.vehicles, f.material_collected, f.material_found]
}

/// Checks an observation; the form and the API show the same messages.
pub async fn validate_observation(state: &AppState, who: &Authenticated, lang: Lang, site: &Site, input: &ObservationInput, errors: &mut FieldErrors) -> AppResult<Option<sites::NewObservation>> {
    let now = state.clock.now();
    for (name, value) in COUNT_FIELDS.iter().zip(counts(&input.figures)) {
        if !(0..=100_000).contains(&value) {
            errors.add(name, lang.t("site.error.count"));
        }
    }
    let f = &input.figures;
    if f.men.saturating_add(f.women).saturating_add(f.minors()) > f.people {
        errors.add("people", lang.t("site.error.people_sum"));
    }
    let observed_at = match input.observed_at.as_deref() {
        None => Some(now),
        Some(text) => Timestamp::parse_paris(text).filter(|t| *t <= now.plus_seconds(300) && *t >= site.created_at.plus_seconds(-366 * 86_400)),
    };
    if observed_at.is_none() {
        errors.add("observed_at", lang.t("site.error.observed_at"));
    }
    let mut ratings: [String; 6] = Default::default();
    for (i, c) in CONDITIONS.iter().enumerate() {
        let r = input.rating(c);
        if !CONDITION_RATINGS.contains(&r) {
            errors.add(c, lang.t("form.choose_one"));
        }
        ratings[i] = r.to_owned();
    }
    let atmosphere = if input.atmosphere.is_empty() { "unknown" } else { input.atmosphere.as_str() };
    if !ATMOSPHERES.contains(&atmosphere) {
        errors.add("atmosphere", lang.t("form.choose_one"));
    }
    if input.comment.chars().count() > 2000 {
        errors.add("comment", lang.t("site.error.too_long"));
    }
    let team = match input.team_id.as_deref() {
        None => None,
        Some(t) => match t.parse::<TeamId>() {
            Ok(id) => match veille_storage::teams::get(&state.db, id).await {
                Ok(team) if team.organisation == who.account.organisation => Some(team.id),
                _ => {
                    errors.add("team_id", lang.t("form.choose_one"));
                    None
                }
            },
            Err(_) => {
                errors.add("team_id", lang.t("form.choose_one"));
                None
            }
        },
    };
    let round = match input.round_id.as_deref() {
        None => None,
        Some(r) => match r.parse() {
            Ok(id) => match veille_storage::rounds::get_round(&state.db, id).await {
                Ok(round) if round.organisation == who.account.organisation => Some(round),
                _ => {
                    errors.add("round_id", lang.t("form.choose_one"));
                    None
                }
            },
            Err(_) => {
                errors.add("round_id", lang.t("form.choose_one"));
                None
            }
        },
    };
    let Some(observed_at) = observed_at.filter(|_| errors.is_empty()) else { return Ok(None) };
    Ok(Some(sites::NewObservation {
        site: site.id,
        observed_at,
        organisation: who.account.organisation,
        team: team.or(round.as_ref().map(|r| r.team)),
        round: round.map(|r| r.id),
        author: who.account.id,
        figures: input.figures.clone(),
        conditions: ratings,
        atmosphere: atmosphere.to_owned(),
        police_presence: input.police_presence,
        comment: input.comment.trim().to_owned(),
    }))
}

/// Records a validated observation, audited, in one transaction.
pub async fn record_observation(state: &AppState, who: &Authenticated, site: &Site, o: &sites::NewObservation) -> AppResult<veille_domain::ObservationId> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = sites::add_observation(&mut tx, o, now).await?;
    let detail = serde_json::json!({"observation": id.to_string(), "round": o.round.map(|r| r.to_string()), "team": o.team.map(|t| t.to_string())});
    veille_storage::audit::append(&mut tx, entry(who, now, "observe", site, detail)).await?;
    tx.commit().await?;
    Ok(id)
}

/// A closure as typed: reason, and people per destination.
pub struct Closure {
    /// Reason code.
    pub reason: String,
    /// (destination, people, site moved to).
    pub destinations: Vec<(String, i64, Option<SiteId>)>,
}

/// Checks a closure form.
pub async fn validate_closure(state: &AppState, who: &Authenticated, lang: Lang, site: &Site, pairs: &[(String, String)], errors: &mut FieldErrors) -> AppResult<Option<Closure>> {
    let text = |k: &str| field(pairs, k);
    let reason = text("reason");
    if !CLOSURE_REASONS.contains(&reason.as_str()) {
        errors.add("reason", lang.t("form.choose_one"));
    }
    if site.status == "ended" {
        errors.add("reason", lang.t("site.error.already_closed"));
    }
    let mut destinations = Vec::new();
    for d in DESTINATIONS {
        let key = format!("dest_{d}");
        let n = count(&text(&key), &key, lang, errors);
        if n > 0 {
            destinations.push((d.to_owned(), n, None));
        }
    }
    let to_site = text("to_site");
    let moved = destinations.iter().any(|(d, _, _)| d == "other_site");
    if moved || !to_site.is_empty() {
        let target = match to_site.parse::<SiteId>() {
            Ok(id) if id != site.id => match load(state, who, &id.to_string(), Action::Read).await {
                Ok((s, _)) => Some(s.id),
                Err(_) => None,
            },
            _ => None,
        };
        match (target, moved) {
            (Some(t), true) => {
                for d in destinations.iter_mut().filter(|d| d.0 == "other_site") {
                    d.2 = Some(t);
                }
            }
            (Some(_), false) => errors.add("dest_other_site", lang.t("site.error.moved_count")),
            (None, _) => errors.add("to_site", lang.t("site.error.to_site")),
        }
    }
    Ok(errors.is_empty().then_some(Closure { reason, destinations }))
}
