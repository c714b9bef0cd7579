//! Directory pages: search, structure and service pages, forms for an
//! organisation's own entries and for veille's own fields of any service
//! (languages, capacity), and the data·inclusion import page.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{Action, Resource, ResourceKind, ServiceId, StructureId, Timestamp};
use veille_storage::directory::{self as store, LocalFields, NewService, NewStructure, Service, ServiceEntry, ServiceFields, Structure, StructureFields, CAPACITIES, OWN_SOURCE};
use veille_storage::territories::{self, Territory};
use veille_storage::audit;

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{csrf_ok, same_origin, FieldErrors, Form};
use crate::i18n::Lang;
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

use super::datainclusion::{self, email_ok, url_ok, vocabulary, Problem};
use super::hours::{Hours, State as Now};
use super::import::{self, Counts, Options};
use super::{resource, Found, SearchQuery, LANGUAGES};

/// Labels of the directory's templates (shared partials call `self.t` and
/// `self.label`).
pub trait Labels {
    /// The language of the page.
    fn lang(&self) -> Lang;
    /// A message.
    fn t(&self, key: &str) -> String {
        self.lang().t(key)
    }
    /// The label of a code of a vocabulary (`theme`, `public`, `language`…).
    fn label(&self, family: &str, code: &str) -> String {
        self.lang().t(&format!("directory.{family}.{code}"))
    }
    /// A `date_maj` (YYYY-MM-DD) as people read it: 01/09/2026.
    fn day(&self, iso: &str) -> String {
        chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d").map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_else(|_| iso.to_owned())
    }
}

macro_rules! labels_from_ctx {
    ($($t:ty),+) => {$(
        impl Labels for $t {
            fn lang(&self) -> Lang {
                self.ctx.lang
            }
        }
    )+};
}
labels_from_ctx!(SearchPage, StructurePage, ServicePage, ServiceForm, StructureForm, ImportPage);

/// Every account reads the directory; this names the rule in one place.
pub fn gate(who: &Authenticated) -> AppResult<()> {
    Ok(who.require(Action::Read, &Resource::new(ResourceKind::Directory))?)
}

/// A structure the account may do `action` on (404 when there is none).
pub async fn load_structure(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<Structure> {
    gate(who)?;
    let id: StructureId = id.parse().map_err(|_| AppError::not_found())?;
    let s = store::structure(&state.db, id).await?.ok_or_else(AppError::not_found)?;
    who.require(action, &resource(&s))?;
    Ok(s)
}

/// A service the account may do `action` on (404 when there is none).
pub async fn load_service(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<ServiceEntry> {
    gate(who)?;
    let id: ServiceId = id.parse().map_err(|_| AppError::not_found())?;
    let e = store::service(&state.db, id).await?.ok_or_else(AppError::not_found)?;
    who.require(action, &resource(&e.structure))?;
    Ok(e)
}

/// A time of day, `09:30`.
fn hm(t: Timestamp) -> String {
    t.to_datetime().with_timezone(&chrono_tz::Europe::Paris).format("%H:%M").to_string()
}

/// "Open until 12:30", "Closed · opens Monday 19/01 at 09:00", "Hours unknown".
pub fn state_text(lang: Lang, now: Timestamp, state: Option<Now>) -> String {
    let day = |t: Timestamp| t.to_datetime().with_timezone(&chrono_tz::Europe::Paris);
    let when = |t: Timestamp| {
        if day(t).date_naive() == day(now).date_naive() {
            lang.tf("directory.hours.today_at", &[("time", &hm(t))])
        } else {
            use chrono::Datelike;
            let d = day(t);
            let weekday = lang.t(&format!("directory.weekday.{}", d.weekday().num_days_from_monday()));
            lang.tf("directory.hours.day_at", &[("day", &weekday), ("date", &d.format("%d/%m").to_string()), ("time", &hm(t))])
        }
    };
    match state {
        Some(Now::Open(Some(t))) => lang.tf("directory.hours.open_until", &[("when", &when(t))]),
        Some(Now::Open(None)) => lang.t("directory.hours.open"),
        Some(Now::Closed(Some(t))) => lang.tf("directory.hours.closed_opens", &[("when", &when(t))]),
        Some(Now::Closed(None)) => lang.t("directory.hours.closed"),
        Some(Now::Unknown) | None => lang.t("directory.hours.unknown"),
    }
}

/// A service as a line of results (search page and picker).
pub struct Line {
    /// Service id.
    pub id: String,
    /// Service name.
    pub name: String,
    /// Structure id.
    pub structure_id: String,
    /// Structure name.
    pub structure: String,
    /// Address.
    pub address: String,
    /// Phone.
    pub phone: String,
    /// Open now.
    pub open: bool,
    /// Open / closed / next opening, in words.
    pub state: String,
    /// Languages, in words.
    pub languages: String,
    /// Publics, in words.
    pub publics: String,
    /// Thématiques, in words.
    pub themes: String,
    /// Capacity code.
    pub capacity: String,
    /// Capacity in words (empty when unknown).
    pub capacity_text: String,
    /// Distance in words.
    pub distance: String,
    /// Territory name.
    pub territory: String,
}

fn labels(lang: Lang, family: &str, codes: &[String]) -> String {
    codes.iter().map(|c| lang.t(&format!("directory.{family}.{c}"))).collect::<Vec<_>>().join(", ")
}

impl Line {
    /// Builds the line in a language at `now`.
    pub fn of(f: &Found, lang: Lang, now: Timestamp, territories: &[Territory]) -> Self {
        let e = &f.entry;
        let s = &e.service;
        let capacity_text = if s.local.capacity == "unknown" {
            String::new()
        } else {
            let mut t = lang.t(&format!("directory.capacity.{}", s.local.capacity));
            if !s.local.capacity_note.is_empty() {
                t.push_str(&format!(" · {}", s.local.capacity_note));
            }
            if let Some(at) = s.capacity_updated_at {
                t.push_str(&format!(" ({})", lang.tf("directory.capacity.as_of", &[("when", &at.to_paris_display())])));
            }
            t
        };
        Self {
            id: s.id.to_string(),
            name: s.fields.name.clone(),
            structure_id: e.structure.id.to_string(),
            structure: e.structure.fields.name.clone(),
            address: e.address(),
            phone: e.phone().to_owned(),
            open: f.is_open(),
            state: state_text(lang, now, f.now),
            languages: labels(lang, "language", &s.local.languages),
            publics: labels(lang, "public", &s.fields.publics),
            themes: labels(lang, "theme", &s.fields.themes),
            capacity: s.local.capacity.clone(),
            capacity_text,
            distance: f.distance_m.map(|d| if d < 1000.0 { format!("{} m", d.round()) } else { format!("{:.1} km", d / 1000.0) }).unwrap_or_default(),
            territory: e.territory().and_then(|t| territories.iter().find(|x| x.id == t)).map(|t| t.name.clone()).unwrap_or_default(),
        }
    }
}

/// The choices of the search filters.
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

impl Filters {
    /// Every choice.
    pub async fn load(state: &AppState) -> AppResult<Self> {
        let v = vocabulary();
        let needs = v
            .categories
            .iter()
            .map(|c| (c.clone(), v.themes.iter().filter(|t| t.starts_with(&format!("{c}--"))).cloned().collect()))
            .collect();
        Ok(Self { needs, publics: v.publics.clone(), languages: LANGUAGES.to_vec(), territories: territories::list(&state.db).await? })
    }
}

#[derive(Template)]
#[template(path = "directory/search.html")]
struct SearchPage {
    ctx: PageCtx,
    q: SearchQuery,
    filters: Filters,
    lines: Vec<Line>,
    searched: bool,
    can_import: bool,
    can_create: bool,
    counts: (i64, i64),
}

/// Whether the account may keep entries of its own organisation.
fn can_create(who: &Authenticated) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Directory).owned_by(who.account.organisation)).allowed
}

/// Whether the account may import (imported entries are the instance's).
fn can_import(who: &Authenticated) -> bool {
    who.can(Action::Update, &Resource::new(ResourceKind::Directory)).allowed
}

/// GET /directory
pub async fn search(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    gate(&who)?;
    let filters = Filters::load(&state).await?;
    let now = state.clock.now();
    let found = super::search(&state, &q).await?;
    let lines = found.iter().filter(|f| who.can(Action::Read, &resource(&f.entry.structure)).allowed).map(|f| Line::of(f, ctx.lang, now, &filters.territories)).collect();
    let page = SearchPage {
        searched: !q.is_empty(),
        counts: store::counts(&state.db).await?,
        can_import: can_import(&who),
        can_create: can_create(&who),
        ctx,
        q,
        filters,
        lines,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "directory/structure.html")]
struct StructurePage {
    ctx: PageCtx,
    s: Structure,
    territory: String,
    organisation: String,
    lines: Vec<Line>,
    can_update: bool,
    hours: String,
    week: Vec<(String, String)>,
}

/// The coming week as (day, slots) lines.
fn week(lang: Lang, text: &str, now: Timestamp) -> Vec<(String, String)> {
    let Some(h) = Hours::parse(text) else { return Vec::new() };
    h.days(now, 7)
        .into_iter()
        .map(|(date, slots)| {
            use chrono::Datelike;
            let day = format!("{} {}", lang.t(&format!("directory.weekday.{}", date.weekday().num_days_from_monday())), date.format("%d/%m"));
            let text = if slots.is_empty() {
                lang.t("directory.hours.closed_day")
            } else {
                slots
                    .iter()
                    .map(|(a, b)| format!("{}–{}", a.format("%H:%M"), if *b == chrono::NaiveTime::MIN { "24:00".to_owned() } else { b.format("%H:%M").to_string() }))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (day, text)
        })
        .collect()
}

async fn territory_name(state: &AppState, t: Option<veille_domain::TerritoryId>) -> AppResult<String> {
    Ok(match t {
        Some(t) => territories::get(&state.db, t).await.map(|t| format!("{} · {}", t.code, t.name)).unwrap_or_default(),
        None => String::new(),
    })
}

async fn organisation_name(state: &AppState, s: &Structure) -> AppResult<String> {
    Ok(match s.organisation {
        Some(o) => veille_storage::organisations::get(&state.db, o).await?.name,
        None => String::new(),
    })
}

/// GET /directory/structures/{id}
pub async fn structure(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let s = load_structure(&state, &who, &id, Action::Read).await?;
    let now = state.clock.now();
    let all = territories::list(&state.db).await?;
    let lines = store::services_of(&state.db, s.id)
        .await?
        .into_iter()
        .map(|service| {
            let entry = ServiceEntry { service, structure: s.clone() };
            Line::of(&Found { now: super::state_of(&entry, now), entry, distance_m: None }, ctx.lang, now, &all)
        })
        .collect();
    let hours = state_text(ctx.lang, now, Hours::parse(&s.fields.opening_hours).map(|h| h.state(now)));
    let page = StructurePage {
        territory: territory_name(&state, s.territory).await?,
        organisation: organisation_name(&state, &s).await?,
        can_update: !s.imported() && who.can(Action::Update, &resource(&s)).allowed,
        week: week(ctx.lang, &s.fields.opening_hours, now),
        hours,
        lines,
        ctx,
        s,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "directory/service.html")]
struct ServicePage {
    ctx: PageCtx,
    e: ServiceEntry,
    line: Line,
    territory: String,
    week: Vec<(String, String)>,
    can_edit: bool,
    can_update_local: bool,
    local: LocalInput,
    errors: FieldErrors,
    capacities: Vec<&'static str>,
    languages: Vec<&'static str>,
}


async fn service_page(state: &AppState, ctx: PageCtx, who: &Authenticated, e: ServiceEntry, local: Option<LocalInput>, errors: FieldErrors) -> AppResult<ServicePage> {
    let now = state.clock.now();
    let all = territories::list(&state.db).await?;
    let found = Found { now: super::state_of(&e, now), entry: e.clone(), distance_m: None };
    let res = resource(&e.structure);
    Ok(ServicePage {
        line: Line::of(&found, ctx.lang, now, &all),
        territory: territory_name(state, e.territory()).await?,
        week: week(ctx.lang, e.opening_hours(), now),
        can_edit: !e.structure.imported() && who.can(Action::Update, &res).allowed,
        can_update_local: who.can(Action::Update, &res).allowed,
        local: local.unwrap_or_else(|| LocalInput::of(&e.service)),
        errors,
        capacities: CAPACITIES.to_vec(),
        languages: LANGUAGES.to_vec(),
        ctx,
        e,
    })
}

/// GET /directory/services/{id}
pub async fn service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let e = load_service(&state, &who, &id, Action::Read).await?;
    let page = service_page(&state, ctx, &who, e, None, FieldErrors::new()).await?;
    Ok(render(&page))
}

/// veille's own fields of a service, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct LocalInput {
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    capacity_note: String,
    #[serde(default)]
    version: String,
}

impl LocalInput {
    fn of(s: &Service) -> Self {
        Self { languages: s.local.languages.clone(), capacity: s.local.capacity.clone(), capacity_note: s.local.capacity_note.clone(), version: s.version.to_string() }
    }
    fn speaks(&self, code: &str) -> bool {
        self.languages.iter().any(|l| l == code)
    }
}

/// Checks veille's own fields.
fn validate_local(lang: Lang, input: &LocalInput, errors: &mut FieldErrors) -> LocalFields {
    let languages: Vec<String> = input.languages.iter().filter(|l| LANGUAGES.contains(&l.as_str())).cloned().collect();
    if languages.len() != input.languages.len() {
        errors.add("languages", lang.t("form.choose_one"));
    }
    let capacity = if input.capacity.is_empty() { "unknown".to_owned() } else { input.capacity.clone() };
    if !CAPACITIES.contains(&capacity.as_str()) {
        errors.add("capacity", lang.t("form.choose_one"));
    }
    let note = input.capacity_note.trim().to_owned();
    if note.chars().count() > 200 {
        errors.add("capacity_note", lang.tf("directory.form.too_long", &[("max", "200")]));
    }
    LocalFields { languages, capacity, capacity_note: note }
}

fn entry_audit<'a>(who: &Authenticated, now: Timestamp, action: &'a str, kind: &'a str, id: String, s: &Structure, detail: serde_json::Value) -> audit::NewEntry<'a> {
    audit::NewEntry::about(now, Some((who.account.id, who.account.organisation)), action, kind, Some(id), s.organisation).with_detail(detail)
}

/// POST /directory/services/{id}/local
pub async fn update_local(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<LocalInput>) -> AppResult<Response> {
    let e = load_service(&state, &who, &id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    let local = validate_local(ctx.lang, &input, &mut errors);
    if !errors.is_empty() {
        let page = service_page(&state, ctx, &who, e, Some(input), errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    store::update_local(&mut tx, &e.service, &local, input.version.parse().unwrap_or(-1), now).await?;
    let detail = serde_json::json!({"fields": ["languages", "capacity", "capacity_note"], "capacity": local.capacity});
    audit::append(&mut tx, entry_audit(&who, now, "update", "directory_service", e.service.id.to_string(), &e.structure, detail)).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/directory/services/{}", e.service.id)))
}

// ---------------------------------------------------------------------------
// An organisation's own structures

/// The structure form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct StructureInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    siret: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    address_extra: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    opening_hours: String,
    #[serde(default)]
    version: String,
}

impl StructureInput {
    fn of(s: &Structure) -> Self {
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
        errors.add(field, lang.tf("directory.form.too_short", &[("min", &min.to_string())]));
    } else if n > max {
        errors.add(field, lang.tf("directory.form.too_long", &[("max", &max.to_string())]));
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

/// Checks the structure form (the rules of data·inclusion, and hours veille understands).
fn validate_structure(lang: Lang, input: &StructureInput, today: String) -> Result<StructureFields, FieldErrors> {
    let mut errors = FieldErrors::new();
    let t = |s: &str| s.trim().to_owned();
    let f = StructureFields {
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
    if !f.siret.is_empty() && !(f.siret.len() == 14 && f.siret.chars().all(|c| c.is_ascii_digit())) {
        errors.add("siret", lang.t("directory.problem.siret"));
    }
    if !f.postal_code.is_empty() && !(f.postal_code.len() == 5 && f.postal_code.chars().all(|c| c.is_ascii_digit())) {
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
    let mut f = f;
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

fn today(state: &AppState) -> String {
    state.clock.now().to_datetime().with_timezone(&chrono_tz::Europe::Paris).format("%Y-%m-%d").to_string()
}

#[derive(Template)]
#[template(path = "directory/structure_form.html")]
struct StructureForm {
    ctx: PageCtx,
    form: StructureInput,
    errors: FieldErrors,
    /// None: a new structure.
    id: Option<StructureId>,
}

/// GET /directory/structures/new
pub async fn new_structure(ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    who.require(Action::Create, &Resource::new(ResourceKind::Directory).owned_by(who.account.organisation))?;
    Ok(render(&StructureForm { ctx, form: StructureInput::default(), errors: FieldErrors::new(), id: None }))
}

async fn locate(state: &AppState, lon: Option<f64>, lat: Option<f64>) -> AppResult<Option<veille_domain::TerritoryId>> {
    match (lon, lat) {
        (Some(lon), Some(lat)) => match veille_geo::LonLat::new(lon, lat) {
            Ok(p) => Ok(crate::territories::locate(state, p).await?.map(|t| t.id)),
            Err(_) => Ok(None),
        },
        _ => Ok(None),
    }
}

/// POST /directory/structures
pub async fn create_structure(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<StructureInput>) -> AppResult<Response> {
    let org = who.account.organisation;
    who.require(Action::Create, &Resource::new(ResourceKind::Directory).owned_by(org))?;
    let fields = match validate_structure(ctx.lang, &input, today(&state)) {
        Ok(f) => f,
        Err(errors) => return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &StructureForm { ctx, form: input, errors, id: None })),
    };
    let id = StructureId::new();
    let now = state.clock.now();
    let territory = locate(&state, fields.lon, fields.lat).await?;
    let source_id = id.to_string();
    let mut tx = state.db.begin().await?;
    let new = NewStructure { source: OWN_SOURCE, source_id: &source_id, organisation: Some(org), fields: &fields, territory, import_hash: "" };
    store::create_structure(&mut tx, id, &new, now).await?;
    audit::append(&mut tx, audit::NewEntry::about(now, Some((who.account.id, org)), "create", "directory_structure", Some(id.to_string()), Some(org))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/directory/structures/{id}")))
}

/// An own structure the account may change (imported ones change only by import: 404).
async fn own_structure(state: &AppState, who: &Authenticated, id: &str) -> AppResult<Structure> {
    let s = load_structure(state, who, id, Action::Update).await?;
    if s.imported() {
        return Err(AppError::not_found());
    }
    Ok(s)
}

/// GET /directory/structures/{id}/edit
pub async fn edit_structure(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let s = own_structure(&state, &who, &id).await?;
    Ok(render(&StructureForm { ctx, form: StructureInput::of(&s), errors: FieldErrors::new(), id: Some(s.id) }))
}

/// POST /directory/structures/{id}
pub async fn update_structure(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<StructureInput>) -> AppResult<Response> {
    let s = own_structure(&state, &who, &id).await?;
    let fields = match validate_structure(ctx.lang, &input, today(&state)) {
        Ok(f) => f,
        Err(errors) => return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &StructureForm { ctx, form: input, errors, id: Some(s.id) })),
    };
    let now = state.clock.now();
    let territory = locate(&state, fields.lon, fields.lat).await?;
    let mut tx = state.db.begin().await?;
    store::update_structure(&mut tx, s.id, &fields, territory, "", input.version.parse().unwrap_or(-1), now).await?;
    let changed = changed_fields(&s.fields, &fields);
    audit::append(&mut tx, entry_audit(&who, now, "update", "directory_structure", s.id.to_string(), &s, serde_json::json!({"fields": changed}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/directory/structures/{}", s.id)))
}

/// Names of the fields that differ (for the audit entry: names only).
fn changed_fields<T: serde::Serialize>(before: &T, after: &T) -> Vec<String> {
    let (a, b) = (serde_json::to_value(before).unwrap_or_default(), serde_json::to_value(after).unwrap_or_default());
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => a.iter().filter(|(k, v)| b.get(*k) != Some(v)).map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// An organisation's own services

/// The service form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct ServiceInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    themes: Vec<String>,
    #[serde(default)]
    publics: Vec<String>,
    #[serde(default)]
    publics_details: String,
    #[serde(default)]
    access_conditions: String,
    #[serde(default)]
    fees: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    opening_hours: String,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    capacity_note: String,
    #[serde(default)]
    version: String,
}

impl ServiceInput {
    fn of(s: &Service) -> Self {
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
            capacity: s.local.capacity.clone(),
            capacity_note: s.local.capacity_note.clone(),
            version: s.version.to_string(),
        }
    }
    fn has(list: &[String], code: &str) -> bool {
        list.iter().any(|x| x == code)
    }
    fn has_theme(&self, code: &str) -> bool {
        Self::has(&self.themes, code)
    }
    fn has_public(&self, code: &str) -> bool {
        Self::has(&self.publics, code)
    }
    fn speaks(&self, code: &str) -> bool {
        Self::has(&self.languages, code)
    }
}

/// Checks the service form.
fn validate_service(lang: Lang, input: &ServiceInput, today: String) -> Result<(ServiceFields, LocalFields), FieldErrors> {
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
    let local = validate_local(lang, &LocalInput { languages: input.languages.clone(), capacity: input.capacity.clone(), capacity_note: input.capacity_note.clone(), version: String::new() }, &mut errors);
    if errors.is_empty() {
        Ok((f, local))
    } else {
        Err(errors)
    }
}

#[derive(Template)]
#[template(path = "directory/service_form.html")]
struct ServiceForm {
    ctx: PageCtx,
    structure: Structure,
    form: ServiceInput,
    errors: FieldErrors,
    /// None: a new service.
    id: Option<ServiceId>,
    filters: Filters,
    kinds: Vec<String>,
    fees: Vec<String>,
    capacities: Vec<&'static str>,
}

async fn service_form(state: &AppState, ctx: PageCtx, structure: Structure, form: ServiceInput, errors: FieldErrors, id: Option<ServiceId>) -> AppResult<ServiceForm> {
    let v = vocabulary();
    Ok(ServiceForm { ctx, structure, form, errors, id, filters: Filters::load(state).await?, kinds: v.kinds.clone(), fees: v.fees.clone(), capacities: CAPACITIES.to_vec() })
}

/// GET /directory/structures/{id}/services/new
pub async fn new_service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let s = own_structure(&state, &who, &id).await?;
    let form = ServiceInput { phone: String::new(), ..Default::default() };
    Ok(render(&service_form(&state, ctx, s, form, FieldErrors::new(), None).await?))
}

/// POST /directory/structures/{id}/services
pub async fn create_service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<ServiceInput>) -> AppResult<Response> {
    let s = own_structure(&state, &who, &id).await?;
    let (fields, local) = match validate_service(ctx.lang, &input, today(&state)) {
        Ok(v) => v,
        Err(errors) => return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &service_form(&state, ctx, s, input, errors, None).await?)),
    };
    let id = ServiceId::new();
    let now = state.clock.now();
    let source_id = id.to_string();
    let mut tx = state.db.begin().await?;
    let new = NewService { structure: s.id, source: OWN_SOURCE, source_id: &source_id, fields: &fields, local: &local, territory: None, import_hash: "" };
    store::create_service(&mut tx, id, &new, now).await?;
    audit::append(&mut tx, entry_audit(&who, now, "create", "directory_service", id.to_string(), &s, serde_json::json!({"structure": s.id.to_string()}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/directory/services/{id}")))
}

/// An own service the account may change (imported ones: 404 here; their
/// languages and capacity go through `/local`).
async fn own_service(state: &AppState, who: &Authenticated, id: &str) -> AppResult<ServiceEntry> {
    let e = load_service(state, who, id, Action::Update).await?;
    if e.structure.imported() {
        return Err(AppError::not_found());
    }
    Ok(e)
}

/// GET /directory/services/{id}/edit
pub async fn edit_service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let e = own_service(&state, &who, &id).await?;
    let form = ServiceInput::of(&e.service);
    Ok(render(&service_form(&state, ctx, e.structure, form, FieldErrors::new(), Some(e.service.id)).await?))
}

/// POST /directory/services/{id}
pub async fn update_service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<ServiceInput>) -> AppResult<Response> {
    let e = own_service(&state, &who, &id).await?;
    let (fields, local) = match validate_service(ctx.lang, &input, today(&state)) {
        Ok(v) => v,
        Err(errors) => return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &service_form(&state, ctx, e.structure, input, errors, Some(e.service.id)).await?)),
    };
    let now = state.clock.now();
    let version = input.version.parse().unwrap_or(-1);
    let mut tx = state.db.begin().await?;
    store::update_service(&mut tx, e.service.id, e.structure.id, &fields, None, "", version, now).await?;
    store::update_local(&mut tx, &e.service, &local, version + 1, now).await?;
    let mut changed = changed_fields(&e.service.fields, &fields);
    changed.extend(changed_fields(&e.service.local, &local));
    audit::append(&mut tx, entry_audit(&who, now, "update", "directory_service", e.service.id.to_string(), &e.structure, serde_json::json!({"fields": changed}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/directory/services/{}", e.service.id)))
}

// ---------------------------------------------------------------------------
// The import page

#[derive(Template)]
#[template(path = "directory/import.html")]
struct ImportPage {
    ctx: PageCtx,
    errors: FieldErrors,
    outcome: Option<ImportView>,
}

/// What the page shows of an outcome.
struct ImportView {
    dry_run: bool,
    written: bool,
    counts: Counts,
    problems: Vec<String>,
    more_problems: usize,
    warnings: Vec<String>,
    more_warnings: usize,
}

/// How many problems and warnings the page lists.
const SHOWN: usize = 200;

fn messages(lang: Lang, list: &[Problem]) -> (Vec<String>, usize) {
    (list.iter().take(SHOWN).map(|p| p.message(lang)).collect(), list.len().saturating_sub(SHOWN))
}

fn require_import(who: &Authenticated) -> AppResult<()> {
    Ok(who.require(Action::Update, &Resource::new(ResourceKind::Directory))?)
}

/// GET /directory/import
pub async fn import_form(ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    require_import(&who)?;
    Ok(render(&ImportPage { ctx, errors: FieldErrors::new(), outcome: None }))
}

/// POST /directory/import (multipart: csrf, files, dry_run, skip_refused)
pub async fn import_upload(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, req: axum::extract::Request) -> AppResult<Response> {
    require_import(&who)?;
    let (parts, body) = req.into_parts();
    if !same_origin(&parts) {
        return Err(AppError::new(ErrorKind::CsrfRejected));
    }
    let req = axum::extract::Request::from_parts(parts.clone(), body);
    let mut multipart = <Multipart as axum::extract::FromRequest<()>>::from_request(req, &()).await.map_err(|_| AppError::bad_request())?;
    let (mut csrf, mut files, mut options) = (None, Vec::new(), Options::default());
    while let Some(field) = multipart.next_field().await.map_err(|_| AppError::new(ErrorKind::TooLarge))? {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().unwrap_or("fichier").chars().take(120).collect::<String>();
        let bytes = field.bytes().await.map_err(|_| AppError::new(ErrorKind::TooLarge))?;
        match name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "files" if !bytes.is_empty() => files.push((file_name, bytes.to_vec())),
            "dry_run" => options.dry_run = true,
            "skip_refused" => options.skip_refused = true,
            _ => {}
        }
    }
    if !csrf_ok(&parts, csrf.as_deref(), state.config.cookies_secure()) {
        return Err(AppError::new(ErrorKind::CsrfRejected));
    }
    if files.is_empty() {
        let mut errors = FieldErrors::new();
        errors.add("files", ctx.t("directory.import.no_file"));
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &ImportPage { ctx, errors, outcome: None }));
    }
    let actor = Some((who.account.id, who.account.organisation));
    let o = {
        let index = state.territories.read().await;
        import::run(&state.db, &index, &files, options, actor, state.clock.now()).await?
    };
    let (problems, more_problems) = messages(ctx.lang, &o.problems);
    let (warnings, more_warnings) = messages(ctx.lang, &o.warnings);
    let status = if o.problems.is_empty() || o.written { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let view = ImportView { dry_run: o.dry_run, written: o.written, counts: o.counts, problems, more_problems, warnings, more_warnings };
    Ok(render_status(status, &ImportPage { ctx, errors: FieldErrors::new(), outcome: Some(view) }))
}

/// The summary of datainclusion problems for the command line.
pub fn problem_lines(lang: Lang, problems: &[datainclusion::Problem]) -> Vec<String> {
    problems.iter().map(|p| p.message(lang)).collect()
}
