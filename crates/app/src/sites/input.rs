//! What the forms and the JSON API of sites send, and the one validation of
//! each: the pages and the API show the same messages, in the caller's
//! language.

use std::collections::BTreeMap;

use veille_domain::{Action, OrganisationId, SiteId, TeamId, Timestamp};
use veille_storage::sites::{
    Figures, NewObservation, NewSite, Site, ATMOSPHERES, CLOSURE_REASONS, CONDITIONS, CONDITION_RATINGS, DESTINATIONS, KINDS, LAND_OWNERS,
};

use crate::error::{found, Result};
use crate::{App, Caller, FieldErrors, Lang};

/// The value of a field of a form read as pairs, trimmed (empty when absent).
pub fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
}

/// The version of the record a form was filled from (-1 when absent: the
/// storage refuses it as stale rather than overwrite).
pub fn form_version(pairs: &[(String, String)]) -> i64 {
    version_of(&field(pairs, "version"))
}

/// A version typed in a form (-1 when unreadable: refused as stale).
pub fn version_of(text: &str) -> i64 {
    text.trim().parse().unwrap_or(-1)
}

/// The largest count a form or the API may give.
pub const MAX_COUNT: i64 = 100_000;

/// A count typed in a form: empty is 0; anything but a whole number from 0 to
/// [`MAX_COUNT`] is an error next to that field.
pub fn count(text: &str, name: &str, lang: Lang, errors: &mut FieldErrors) -> i64 {
    if text.is_empty() {
        return 0;
    }
    match text.parse::<i64>() {
        Ok(n) if (0..=MAX_COUNT).contains(&n) => n,
        _ => {
            errors.add(name, lang.t("site.error.count"));
            0
        }
    }
}

/// A coordinate typed in a form (a decimal comma is read as a point).
pub fn coordinate(text: &str) -> Option<f64> {
    text.trim().replace(',', ".").parse().ok()
}

// ---------------------------------------------------------------- the place

/// A new site (or the corrected place), as the form and the API send it.
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

impl SiteInput {
    /// Reads the place from a form (`name`, `kind`, `lat`, `lon`, `address`, `land_owner`).
    pub fn from_form(pairs: &[(String, String)]) -> Self {
        let f = |k: &str| field(pairs, k);
        SiteInput {
            name: f("name"),
            kind: f("kind"),
            lon: coordinate(&f("lon")),
            lat: coordinate(&f("lat")),
            outline: None,
            address: f("address"),
            land_owner: f("land_owner"),
        }
    }
}

/// Checks a place; the territory is the one containing the point.
pub async fn validate_site(app: &App, lang: Lang, input: &SiteInput, org: OrganisationId) -> Result<std::result::Result<NewSite, FieldErrors>> {
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
    let territory = crate::territories::locate(app, p).await?.map(|t| t.id);
    Ok(Ok(NewSite {
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

// ---------------------------------------------------------------- observations

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
    /// Count fields of a form whose text was not a count (counted as 0, and
    /// refused with the other errors of the form).
    #[serde(skip)]
    pub unreadable: Vec<String>,
}

/// The names of the count fields, in form order.
pub const COUNT_FIELDS: [&str; 13] = [
    "people",
    "men",
    "women",
    "minors_0_3",
    "minors_3_6",
    "minors_6_12",
    "minors_12_16",
    "minors_16_18",
    "tents",
    "huts",
    "vehicles",
    "material_collected",
    "material_found",
];

fn counts(f: &Figures) -> [i64; 13] {
    [
        f.people,
        f.men,
        f.women,
        f.minors_0_3,
        f.minors_3_6,
        f.minors_6_12,
        f.minors_12_16,
        f.minors_16_18,
        f.tents,
        f.huts,
        f.vehicles,
        f.material_collected,
        f.material_found,
    ]
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

    /// Reads the observation form (counts typed as text).
    pub fn from_form(pairs: &[(String, String)]) -> Self {
        let text = |k: &str| field(pairs, k);
        let mut unreadable = Vec::new();
        let mut num = |k: &str| {
            let t = text(k);
            if t.is_empty() {
                return 0;
            }
            match t.parse::<i64>() {
                Ok(n) if (0..=MAX_COUNT).contains(&n) => n,
                _ => {
                    unreadable.push(k.to_owned());
                    0
                }
            }
        };
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
            unreadable,
        }
    }
}

/// Checks an observation of `site` by the caller.
pub async fn validate_observation(
    app: &App,
    who: &Caller,
    lang: Lang,
    site: &Site,
    input: &ObservationInput,
) -> Result<std::result::Result<NewObservation, FieldErrors>> {
    let now = app.clock.now();
    let mut errors = FieldErrors::new();
    for name in &input.unreadable {
        errors.add(name, lang.t("site.error.count"));
    }
    for (name, value) in COUNT_FIELDS.iter().zip(counts(&input.figures)) {
        if !(0..=MAX_COUNT).contains(&value) {
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
            Ok(id) => match veille_storage::teams::get(&app.db, id).await {
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
        Some(r) => match crate::rounds::own_round(app, who, r).await? {
            Some(round) => Some(round),
            None => {
                errors.add("round_id", lang.t("form.choose_one"));
                None
            }
        },
    };
    let Some(observed_at) = observed_at.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    Ok(Ok(NewObservation {
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

// ---------------------------------------------------------------- closure

/// A closure as typed in the form: reason, people per destination (as typed)
/// and the site people moved to.
#[derive(Clone, Debug, Default)]
pub struct ClosureInput {
    /// Reason code.
    pub reason: String,
    /// Destination code → people, as typed.
    pub people: BTreeMap<String, String>,
    /// The site people moved to (`other_site`).
    pub to_site: String,
}

impl ClosureInput {
    /// Reads the closure form (`reason`, `dest_<destination>`, `to_site`).
    pub fn from_form(pairs: &[(String, String)]) -> Self {
        ClosureInput {
            reason: field(pairs, "reason"),
            people: DESTINATIONS.iter().map(|d| (d.to_string(), field(pairs, &format!("dest_{d}")))).collect(),
            to_site: field(pairs, "to_site"),
        }
    }
}

/// A checked closure: reason, and (destination, people, site moved to).
#[derive(Clone, Debug)]
pub struct Closure {
    /// Reason code.
    pub reason: String,
    /// (destination, people, site moved to).
    pub destinations: Vec<(String, i64, Option<SiteId>)>,
}

/// Checks a closure of `site`: the site moved to must be one the caller reads.
pub async fn validate_closure(app: &App, who: &Caller, lang: Lang, site: &Site, input: &ClosureInput) -> Result<std::result::Result<Closure, FieldErrors>> {
    let mut errors = FieldErrors::new();
    if !CLOSURE_REASONS.contains(&input.reason.as_str()) {
        errors.add("reason", lang.t("form.choose_one"));
    }
    if site.status == "ended" {
        errors.add("reason", lang.t("site.error.already_closed"));
    }
    let mut destinations = Vec::new();
    for d in DESTINATIONS {
        let key = format!("dest_{d}");
        let typed = input.people.get(d).map(String::as_str).unwrap_or_default();
        let n = count(typed.trim(), &key, lang, &mut errors);
        if n > 0 {
            destinations.push((d.to_owned(), n, None));
        }
    }
    let to_site = input.to_site.trim();
    let moved = destinations.iter().any(|(d, _, _)| d == "other_site");
    if moved || !to_site.is_empty() {
        let target = match to_site.parse::<SiteId>() {
            Ok(id) if id != site.id => found(super::load_site(app, who, to_site, Action::Read).await)?.map(|(s, _)| s.id),
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
    if errors.is_empty() {
        Ok(Ok(Closure { reason: input.reason.clone(), destinations }))
    } else {
        Ok(Err(errors))
    }
}

/// The longest logbook entry.
pub const MAX_LOG: usize = 4000;

/// Checks a logbook entry: not empty, at most [`MAX_LOG`] characters.
pub fn validate_log(lang: Lang, body: &str) -> std::result::Result<String, FieldErrors> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_LOG {
        let mut errors = FieldErrors::new();
        errors.add("log", lang.t("site.error.log"));
        return Err(errors);
    }
    Ok(body.to_owned())
}
