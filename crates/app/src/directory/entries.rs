//! The directory's writes by people: an organisation's own structures and
//! services (created and changed by its administrators and coordinators,
//! with a version check), and veille's own fields of any service — languages
//! spoken, capacity and a word on it — which data·inclusion does not carry and
//! a re-import keeps. Imported entries change only by import. Each command
//! validates (one function, shared by every entry point), asks the permission
//! function, writes in one transaction and appends its audit entry (field
//! names only).

use serde::Deserialize;
use veille_domain::{Action, Resource, ResourceKind, ServiceId, StructureId, TerritoryId, Timestamp};
use veille_storage::audit;
use veille_storage::directory::{self as store, NewService, NewStructure};

use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

use super::datainclusion::{digits, email_ok, url_ok, vocabulary};
use super::{
    load_service, load_structure, resource, Capacity, LocalFields, Service, ServiceEntry, ServiceFields, Structure, StructureFields, LANGUAGES, OWN_SOURCE,
};

/// Every capacity code, in the order the forms offer them.
pub fn capacities() -> Vec<&'static str> {
    Capacity::codes()
}

/// The Paris date of the app clock, as data·inclusion's `date_maj` carries it.
fn today(app: &App) -> String {
    app.clock.now().to_datetime().with_timezone(&chrono_tz::Europe::Paris).format("%Y-%m-%d").to_string()
}

/// The version typed in a form (-1, never a version, when unreadable: the
/// write is then refused as stale).
fn version(text: &str) -> i64 {
    text.trim().parse().unwrap_or(-1)
}

/// An audit entry by `who` about an entry of structure `s`.
fn entry_audit<'a>(
    who: &Caller,
    now: Timestamp,
    action: &'a str,
    kind: &'a str,
    id: impl ToString,
    s: &Structure,
    detail: serde_json::Value,
) -> audit::NewEntry<'a> {
    audit::NewEntry::about(now, Some(who.author()), action, kind, Some(id.to_string()), s.organisation).with_detail(detail)
}

/// Names of the fields that differ (for the audit entry: names only).
fn changed_fields<T: serde::Serialize>(before: &T, after: &T) -> Vec<String> {
    let (a, b) = (serde_json::to_value(before).unwrap_or_default(), serde_json::to_value(after).unwrap_or_default());
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => a.iter().filter(|(k, v)| b.get(*k) != Some(v)).map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    }
}

/// The territory of a point.
async fn locate(app: &App, lon: Option<f64>, lat: Option<f64>) -> Option<TerritoryId> {
    let p = veille_geo::LonLat::new(lon?, lat?).ok()?;
    app.territories.read().await.locate(p).copied()
}

// ---------------------------------------------------------------------------
// veille's own fields of any service

/// veille's own fields of a service, as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct LocalInput {
    /// Languages spoken (codes of [`LANGUAGES`]).
    #[serde(default)]
    pub languages: Vec<String>,
    /// A capacity code (empty: unknown).
    #[serde(default)]
    pub capacity: String,
    /// A word on capacity.
    #[serde(default)]
    pub capacity_note: String,
    /// The version read.
    #[serde(default)]
    pub version: String,
}

impl LocalInput {
    /// The form filled with what a service holds.
    pub fn of(s: &Service) -> Self {
        Self {
            languages: s.local.languages.clone(),
            capacity: s.local.capacity.code().to_owned(),
            capacity_note: s.local.capacity_note.clone(),
            version: s.version.to_string(),
        }
    }
    /// Whether a language is ticked.
    pub fn speaks(&self, code: &str) -> bool {
        self.languages.iter().any(|l| l == code)
    }
}

/// Checks veille's own fields, adding to `errors`.
pub fn validate_local(lang: Lang, input: &LocalInput, errors: &mut FieldErrors) -> LocalFields {
    let languages: Vec<String> = input.languages.iter().filter(|l| LANGUAGES.contains(&l.as_str())).cloned().collect();
    if languages.len() != input.languages.len() {
        errors.add("languages", lang.t("form.choose_one"));
    }
    let capacity = match input.capacity.as_str() {
        "" => Some(Capacity::Unknown),
        c => Capacity::from_code(c),
    };
    if capacity.is_none() {
        errors.add("capacity", lang.t("form.choose_one"));
    }
    let note = input.capacity_note.trim().to_owned();
    if note.chars().count() > 200 {
        errors.add("capacity_note", lang.tn("directory.form.too_long", 200, &[("max", "200")]));
    }
    LocalFields { languages, capacity: capacity.unwrap_or(Capacity::Unknown), capacity_note: note }
}

/// Sets the languages and capacity of a service (own or imported): those
/// who may update its structure's entries (the instance administrator for
/// imported ones). Audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn update_local(app: &App, who: &Caller, lang: Lang, e: &ServiceEntry, input: &LocalInput) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(&e.structure))?;
    let mut errors = FieldErrors::new();
    let local = validate_local(lang, input, &mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::update_local(&mut tx, &e.service, &local, version(&input.version), now).await?;
    let detail = serde_json::json!({"fields": ["languages", "capacity", "capacity_note"], "capacity": local.capacity});
    audit::append(&mut tx, entry_audit(who, now, "update", "directory_service", e.service.id, &e.structure, detail)).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

// ---------------------------------------------------------------------------
// An organisation's own structures

/// The structure form, as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct StructureInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub siret: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub address_extra: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub lat: String,
    #[serde(default)]
    pub lon: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub opening_hours: String,
    /// The version read (none for a new structure).
    #[serde(default)]
    pub version: String,
}

impl StructureInput {
    /// The form filled with what a structure holds.
    pub fn of(s: &Structure) -> Self {
        let f = &s.fields;
        let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        Self {
            name: f.name.clone(),
            siret: f.siret.clone(),
            description: f.description.clone(),
            address: f.address.clone(),
            address_extra: f.address_extra.clone(),
            postal_code: f.postal_code.clone(),
            city: f.city.clone(),
            lat: num(f.lat),
            lon: num(f.lon),
            phone: f.phone.clone(),
            email: f.email.clone(),
            website: f.website.clone(),
            opening_hours: f.opening_hours.clone(),
            version: s.version.to_string(),
        }
    }
}

fn check_len(lang: Lang, errors: &mut FieldErrors, field: &str, value: &str, min: usize, max: usize) {
    let n = value.chars().count();
    if n < min {
        errors.add(field, lang.tn("directory.form.too_short", min as i64, &[("min", &min.to_string())]));
    } else if n > max {
        errors.add(field, lang.tn("directory.form.too_long", max as i64, &[("max", &max.to_string())]));
    }
}

fn check_hours(lang: Lang, errors: &mut FieldErrors, field: &str, value: &str) {
    if !super::hours::understood(value) {
        errors.add(field, lang.t("directory.form.hours_invalid"));
    }
}

fn check_contact(lang: Lang, errors: &mut FieldErrors, email: &str, phone: &str) {
    if !email.is_empty() && !email_ok(email) {
        errors.add("email", lang.t("form.email_invalid"));
    }
    if phone.chars().count() > 30 || phone.chars().any(|c| !(c.is_ascii_digit() || " +.()-".contains(c))) {
        errors.add("phone", lang.t("directory.form.phone_invalid"));
    }
}

/// Checks the structure form (the rules of data·inclusion, and hours veille
/// understands); `today` becomes its `date_maj`.
pub fn validate_structure(lang: Lang, input: &StructureInput, today: String) -> std::result::Result<StructureFields, FieldErrors> {
    let mut errors = FieldErrors::new();
    let t = |s: &str| s.trim().to_owned();
    let mut f = StructureFields {
        name: t(&input.name),
        siret: t(&input.siret).replace(' ', ""),
        description: t(&input.description),
        address: t(&input.address),
        address_extra: t(&input.address_extra),
        postal_code: t(&input.postal_code),
        city: t(&input.city),
        insee_code: String::new(),
        lon: None,
        lat: None,
        phone: t(&input.phone),
        email: t(&input.email),
        website: t(&input.website),
        source_link: String::new(),
        accessibility_link: String::new(),
        opening_hours: t(&input.opening_hours),
        networks: Vec::new(),
        source_updated: today,
    };
    check_len(lang, &mut errors, "name", &f.name, 3, 150);
    if !f.description.is_empty() {
        check_len(lang, &mut errors, "description", &f.description, 5, 10_000);
    }
    if !f.siret.is_empty() && !digits(&f.siret, 14) {
        errors.add("siret", lang.t("directory.problem.siret"));
    }
    if !f.postal_code.is_empty() && !digits(&f.postal_code, 5) {
        errors.add("postal_code", lang.t("directory.problem.postal_code"));
    }
    for (field, v) in [("address", &f.address), ("address_extra", &f.address_extra), ("city", &f.city)] {
        check_len(lang, &mut errors, field, v, 0, 300);
    }
    check_contact(lang, &mut errors, &f.email, &f.phone);
    if !f.website.is_empty() && !url_ok(&f.website) {
        errors.add("website", lang.t("directory.problem.url"));
    }
    check_hours(lang, &mut errors, "opening_hours", &f.opening_hours);
    let point = match (input.lat.trim(), input.lon.trim()) {
        ("", "") => Ok(None),
        (lat, lon) => match (lat.replace(',', ".").parse::<f64>(), lon.replace(',', ".").parse::<f64>()) {
            (Ok(lat), Ok(lon)) if veille_geo::LonLat::new(lon, lat).is_ok() => Ok(Some((lon, lat))),
            _ => Err(()),
        },
    };
    match point {
        Ok(p) => {
            f.lon = p.map(|p| p.0);
            f.lat = p.map(|p| p.1);
        }
        Err(()) => errors.add("lat", lang.t("directory.form.point_invalid")),
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(errors)
    }
}

/// What creating an entry of the caller's own organisation is asked about.
fn own_resource(who: &Caller) -> Resource {
    Resource::new(ResourceKind::Directory).owned_by(who.account.organisation)
}

/// Refuses unless the caller may keep entries of its own organisation (the
/// new-structure form asks before showing).
pub fn require_create(who: &Caller) -> Result<()> {
    who.require(Action::Create, &own_resource(who))
}

/// Creates a structure of the caller's organisation. Audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create_structure(app: &App, who: &Caller, lang: Lang, input: &StructureInput) -> Result<std::result::Result<StructureId, FieldErrors>> {
    require_create(who)?;
    let org = who.account.organisation;
    let fields = match validate_structure(lang, input, today(app)) {
        Ok(f) => f,
        Err(errors) => return Ok(Err(errors)),
    };
    let id = StructureId::new();
    let now = app.clock.now();
    let territory = locate(app, fields.lon, fields.lat).await;
    let source_id = id.to_string();
    let mut tx = app.db.begin().await?;
    let new = NewStructure { source: OWN_SOURCE, source_id: &source_id, organisation: Some(org), fields: &fields, territory, import_hash: "" };
    store::create_structure(&mut tx, id, &new, now).await?;
    audit::append(&mut tx, who.audit_entry(now, "create", "directory_structure", id, org)).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// An own structure the caller may change (imported ones change only by
/// import: 404).
pub async fn own_structure(app: &App, who: &Caller, id: &str) -> Result<Structure> {
    let s = load_structure(app, who, id, Action::Update).await?;
    if s.imported() {
        return Err(Error::not_found());
    }
    Ok(s)
}

/// Saves an own structure if it is still at the version read (a conflict
/// otherwise). Audited with the names of the fields changed.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn update_structure(app: &App, who: &Caller, lang: Lang, s: &Structure, input: &StructureInput) -> Result<std::result::Result<(), FieldErrors>> {
    if s.imported() {
        return Err(Error::not_found());
    }
    who.require(Action::Update, &resource(s))?;
    let fields = match validate_structure(lang, input, today(app)) {
        Ok(f) => f,
        Err(errors) => return Ok(Err(errors)),
    };
    let now = app.clock.now();
    let territory = locate(app, fields.lon, fields.lat).await;
    let mut tx = app.db.begin().await?;
    store::update_structure(&mut tx, s.id, &fields, territory, "", version(&input.version), now).await?;
    let changed = changed_fields(&s.fields, &fields);
    audit::append(&mut tx, entry_audit(who, now, "update", "directory_structure", s.id, s, serde_json::json!({"fields": changed}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

// ---------------------------------------------------------------------------
// An organisation's own services

/// The service form, as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct ServiceInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub publics: Vec<String>,
    #[serde(default)]
    pub publics_details: String,
    #[serde(default)]
    pub access_conditions: String,
    #[serde(default)]
    pub fees: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub opening_hours: String,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub capacity: String,
    #[serde(default)]
    pub capacity_note: String,
    /// The version read (none for a new service).
    #[serde(default)]
    pub version: String,
}

impl ServiceInput {
    /// The form filled with what a service holds.
    pub fn of(s: &Service) -> Self {
        let f = &s.fields;
        Self {
            name: f.name.clone(),
            description: f.description.clone(),
            kind: f.kind.clone(),
            themes: f.themes.clone(),
            publics: f.publics.clone(),
            publics_details: f.publics_details.clone(),
            access_conditions: f.access_conditions.clone(),
            fees: f.fees.clone(),
            phone: f.phone.clone(),
            email: f.email.clone(),
            opening_hours: f.opening_hours.clone(),
            languages: s.local.languages.clone(),
            capacity: s.local.capacity.code().to_owned(),
            capacity_note: s.local.capacity_note.clone(),
            version: s.version.to_string(),
        }
    }
    fn has(list: &[String], code: &str) -> bool {
        list.iter().any(|x| x == code)
    }
    /// Whether a thématique is ticked.
    pub fn has_theme(&self, code: &str) -> bool {
        Self::has(&self.themes, code)
    }
    /// Whether a public is ticked.
    pub fn has_public(&self, code: &str) -> bool {
        Self::has(&self.publics, code)
    }
    /// Whether a language is ticked.
    pub fn speaks(&self, code: &str) -> bool {
        Self::has(&self.languages, code)
    }
}

/// Checks the service form: data·inclusion's fields and veille's own.
pub fn validate_service(lang: Lang, input: &ServiceInput, today: String) -> std::result::Result<(ServiceFields, LocalFields), FieldErrors> {
    let v = vocabulary();
    let mut errors = FieldErrors::new();
    let t = |s: &str| s.trim().to_owned();
    let f = ServiceFields {
        name: t(&input.name),
        description: t(&input.description),
        kind: t(&input.kind),
        themes: input.themes.clone(),
        publics: input.publics.clone(),
        publics_details: t(&input.publics_details),
        access_conditions: t(&input.access_conditions),
        fees: t(&input.fees),
        phone: t(&input.phone),
        email: t(&input.email),
        opening_hours: t(&input.opening_hours),
        source_updated: today,
        ..Default::default()
    };
    check_len(lang, &mut errors, "name", &f.name, 3, 150);
    check_len(lang, &mut errors, "description", &f.description, 5, 10_000);
    if !f.kind.is_empty() && !v.kinds.contains(&f.kind) {
        errors.add("kind", lang.t("form.choose_one"));
    }
    if !f.fees.is_empty() && !v.fees.contains(&f.fees) {
        errors.add("fees", lang.t("form.choose_one"));
    }
    if f.themes.iter().any(|x| !v.themes.contains(x)) {
        errors.add("themes", lang.t("form.choose_one"));
    }
    if f.publics.iter().any(|x| !v.publics.contains(x)) {
        errors.add("publics", lang.t("form.choose_one"));
    } else if f.publics.len() > 1 && f.publics.iter().any(|p| p == "tous-publics") {
        errors.add("publics", lang.t("directory.problem.all_publics_alone"));
    }
    for (field, value) in [("publics_details", &f.publics_details), ("access_conditions", &f.access_conditions)] {
        check_len(lang, &mut errors, field, value, 0, 2000);
    }
    check_contact(lang, &mut errors, &f.email, &f.phone);
    check_hours(lang, &mut errors, "opening_hours", &f.opening_hours);
    let typed =
        LocalInput { languages: input.languages.clone(), capacity: input.capacity.clone(), capacity_note: input.capacity_note.clone(), version: String::new() };
    let local = validate_local(lang, &typed, &mut errors);
    if errors.is_empty() {
        Ok((f, local))
    } else {
        Err(errors)
    }
}

/// Creates a service of an own structure. Audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create_service(app: &App, who: &Caller, lang: Lang, s: &Structure, input: &ServiceInput) -> Result<std::result::Result<ServiceId, FieldErrors>> {
    if s.imported() {
        return Err(Error::not_found());
    }
    who.require(Action::Update, &resource(s))?;
    let (fields, local) = match validate_service(lang, input, today(app)) {
        Ok(v) => v,
        Err(errors) => return Ok(Err(errors)),
    };
    let id = ServiceId::new();
    let now = app.clock.now();
    let source_id = id.to_string();
    let mut tx = app.db.begin().await?;
    let new = NewService { structure: s.id, source: OWN_SOURCE, source_id: &source_id, fields: &fields, local: &local, territory: None, import_hash: "" };
    store::create_service(&mut tx, id, &new, now).await?;
    audit::append(&mut tx, entry_audit(who, now, "create", "directory_service", id, s, serde_json::json!({"structure": s.id.to_string()}))).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// An own service the caller may change (imported ones: 404 here; their
/// languages and capacity go through [`update_local`]).
pub async fn own_service(app: &App, who: &Caller, id: &str) -> Result<ServiceEntry> {
    let e = load_service(app, who, id, Action::Update).await?;
    if e.structure.imported() {
        return Err(Error::not_found());
    }
    Ok(e)
}

/// Saves an own service (its description and veille's own fields) if it is
/// still at the version read (a conflict otherwise). Audited with the names
/// of the fields changed.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn update_service(app: &App, who: &Caller, lang: Lang, e: &ServiceEntry, input: &ServiceInput) -> Result<std::result::Result<(), FieldErrors>> {
    if e.structure.imported() {
        return Err(Error::not_found());
    }
    who.require(Action::Update, &resource(&e.structure))?;
    let (fields, local) = match validate_service(lang, input, today(app)) {
        Ok(v) => v,
        Err(errors) => return Ok(Err(errors)),
    };
    let now = app.clock.now();
    let version = version(&input.version);
    let mut tx = app.db.begin().await?;
    store::update_service(&mut tx, e.service.id, e.structure.id, &fields, None, "", version, now).await?;
    store::update_local(&mut tx, &e.service, &local, version + 1, now).await?;
    let mut changed = changed_fields(&e.service.fields, &fields);
    changed.extend(changed_fields(&e.service.local, &local));
    audit::append(&mut tx, entry_audit(who, now, "update", "directory_service", e.service.id, &e.structure, serde_json::json!({"fields": changed}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of<T>(r: std::result::Result<T, FieldErrors>) -> Vec<String> {
        match r {
            Ok(_) => Vec::new(),
            Err(e) => e.all().into_iter().map(|(k, _)| k).collect(),
        }
    }

    #[test]
    fn a_structure_is_checked_as_data_inclusion_would_and_its_point_needs_both_coordinates() {
        let bad = StructureInput {
            name: "AB".into(),
            siret: "123".into(),
            postal_code: "7501".into(),
            email: "pas-un-courriel".into(),
            website: "asso.fr".into(),
            opening_hours: "le matin".into(),
            lat: "48.05".into(),
            phone: "01 23 abc".into(),
            ..Default::default()
        };
        assert_eq!(
            errors_of(validate_structure(Lang::Fr, &bad, "2026-01-02".into())),
            ["email", "lat", "name", "opening_hours", "phone", "postal_code", "siret", "website"]
        );
        let good = StructureInput {
            name: "Local fictif".into(),
            siret: "123 456 789 01234".into(),
            lat: "48,05".into(),
            lon: "2.07".into(),
            opening_hours: "Mo-Fr 09:00-12:00".into(),
            ..Default::default()
        };
        let f = validate_structure(Lang::Fr, &good, "2026-01-02".into()).unwrap_or_else(|e| panic!("{:?}", e.all()));
        assert_eq!((f.siret.as_str(), f.lon, f.lat, f.source_updated.as_str()), ("12345678901234", Some(2.07), Some(48.05), "2026-01-02"));
    }

    #[test]
    fn a_service_takes_only_the_vocabularies_and_tous_publics_stands_alone() {
        let bad = ServiceInput {
            name: "Soupe".into(),
            description: "Une soupe.".into(),
            kind: "inconnu".into(),
            themes: vec!["sante--inconnue".into()],
            publics: vec!["tous-publics".into(), "femmes".into()],
            languages: vec!["xx".into()],
            capacity: "beaucoup".into(),
            ..Default::default()
        };
        assert_eq!(errors_of(validate_service(Lang::Fr, &bad, "2026-01-02".into())), ["capacity", "kind", "languages", "publics", "themes"]);
        let good = ServiceInput {
            name: "Soupe du soir".into(),
            description: "Une soupe chaude.".into(),
            publics: vec!["tous-publics".into()],
            languages: vec!["fr".into(), "uk".into()],
            ..Default::default()
        };
        let (_, local) = validate_service(Lang::Fr, &good, "2026-01-02".into()).unwrap_or_else(|e| panic!("{:?}", e.all()));
        assert_eq!((local.capacity, local.languages.len()), (Capacity::Unknown, 2), "no capacity said: unknown");
    }

    #[test]
    fn veille_s_own_fields_keep_a_short_note() {
        let mut errors = FieldErrors::new();
        let local = validate_local(
            Lang::En,
            &LocalInput { capacity: "limited".into(), capacity_note: format!(" {} ", "x".repeat(200)), ..Default::default() },
            &mut errors,
        );
        assert!(errors.is_empty() && local.capacity == Capacity::Limited && local.capacity_note.len() == 200);
        validate_local(Lang::En, &LocalInput { capacity_note: "x".repeat(201), ..Default::default() }, &mut errors);
        assert!(errors.has("capacity_note"));
    }
}
