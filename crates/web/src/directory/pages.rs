//! Directory pages: search, structure and service pages, forms for an
//! organisation's own entries and for veille's own fields of any service
//! (languages, capacity), and the data·inclusion import page. Each handler
//! calls a query or command of `veille_app::directory` and renders; a refused
//! form is shown again with what was typed and the errors by their fields.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use veille_app::directory::entries::{self, LocalInput, ServiceInput, StructureInput};
use veille_app::directory::import::{self, Counts, Options};
use veille_app::directory::{self as app, datainclusion::Problem, Filters, Found, Hours, SearchQuery, ServiceEntry, State as Now, Structure, TerritoryNames};
use veille_domain::{Action, ServiceId, StructureId, Timestamp};

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{csrf_ok, same_origin, FieldErrors, Form};
use crate::i18n::Lang;
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

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

/// A time of day, `09:30`.
fn hm(t: Timestamp) -> String {
    t.to_datetime().with_timezone(&chrono_tz::Europe::Paris).format("%H:%M").to_string()
}

/// "Open until 12:30", "Closed · opens Monday 19/01 at 09:00", "Hours unknown".
pub fn state_text(lang: Lang, now: Timestamp, state: Option<Now>) -> String {
    let day = |t: Timestamp| t.to_datetime().with_timezone(&chrono_tz::Europe::Paris);
    // "à 12:30" / "lundi 19/01 à 09:00", or "jusqu'à 12:30" / "jusqu'au lundi 19/01 à 09:00".
    let at = |t: Timestamp, today: &str, other: &str| {
        if day(t).date_naive() == day(now).date_naive() {
            lang.tf(today, &[("time", &hm(t))])
        } else {
            use chrono::Datelike;
            let d = day(t);
            let weekday = lang.t(&format!("directory.weekday.{}", d.weekday().num_days_from_monday()));
            lang.tf(other, &[("day", &weekday), ("date", &d.format("%d/%m").to_string()), ("time", &hm(t))])
        }
    };
    let when = |t: Timestamp| at(t, "directory.hours.today_at", "directory.hours.day_at");
    let until = |t: Timestamp| at(t, "directory.hours.until_today", "directory.hours.until_day");
    match state {
        Some(Now::Open(Some(t))) => lang.tf("directory.hours.open_until", &[("when", &until(t))]),
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
    pub fn of(f: &Found, lang: Lang, now: Timestamp, territories: &TerritoryNames) -> Self {
        let e = &f.entry;
        let s = &e.service;
        let capacity_text = if s.local.capacity == app::Capacity::Unknown {
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
            capacity: s.local.capacity.code().to_owned(),
            capacity_text,
            distance: f.distance_m.map(|d| if d < 1000.0 { format!("{} m", d.round()) } else { format!("{:.1} km", d / 1000.0) }).unwrap_or_default(),
            territory: e.territory().and_then(|t| territories.get(&t)).cloned().unwrap_or_default(),
        }
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

/// GET /directory
pub async fn search(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    app::gate(&who)?;
    let filters = app::filters(&state).await?;
    let now = state.clock.now();
    let names = filters.territory_names();
    let lines = app::search(&state, &who, &q).await?.iter().map(|f| Line::of(f, ctx.lang, now, &names)).collect();
    let page = SearchPage {
        searched: !q.is_empty(),
        counts: app::counts(&state).await?,
        can_import: app::can_import(&who),
        can_create: app::can_create(&who),
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
                    .map(|(a, b)| {
                        format!("{}–{}", a.format("%H:%M"), if *b == chrono::NaiveTime::MIN { "24:00".to_owned() } else { b.format("%H:%M").to_string() })
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (day, text)
        })
        .collect()
}

/// A service the account may do `action` on (404 when there is none): what a
/// host form of the picker loads for the `service_id` it was sent (the same
/// as `veille_app::directory::load_service`, in the web's error type).
pub async fn load_service(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<ServiceEntry> {
    Ok(app::load_service(state, who, id, action).await?)
}

/// GET /directory/structures/{id}
pub async fn structure(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let d = app::structure_detail(&state, &who, &id).await?;
    let now = state.clock.now();
    let s = d.structure;
    let page = StructurePage {
        lines: d.services.iter().map(|f| Line::of(f, ctx.lang, now, &d.territory_names)).collect(),
        hours: state_text(ctx.lang, now, Hours::parse(&s.fields.opening_hours).map(|h| h.state(now))),
        week: week(ctx.lang, &s.fields.opening_hours, now),
        territory: d.territory,
        organisation: d.organisation,
        can_update: d.can_update,
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

async fn service_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    e: ServiceEntry,
    local: Option<LocalInput>,
    errors: FieldErrors,
) -> AppResult<ServicePage> {
    let now = state.clock.now();
    let d = app::service_detail(state, who, e).await?;
    let e = d.found.entry.clone();
    Ok(ServicePage {
        line: Line::of(&d.found, ctx.lang, now, &d.territory_names),
        territory: d.territory,
        week: week(ctx.lang, e.opening_hours(), now),
        can_edit: d.can_edit,
        can_update_local: d.can_update_local,
        local: local.unwrap_or_else(|| LocalInput::of(&e.service)),
        errors,
        capacities: entries::capacities(),
        languages: app::LANGUAGES.to_vec(),
        ctx,
        e,
    })
}

/// GET /directory/services/{id}
pub async fn service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let e = app::load_service(&state, &who, &id, Action::Read).await?;
    let page = service_page(&state, ctx, &who, e, None, FieldErrors::new()).await?;
    Ok(render(&page))
}

/// POST /directory/services/{id}/local
pub async fn update_local(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<LocalInput>,
) -> AppResult<Response> {
    let e = app::load_service(&state, &who, &id, Action::Update).await?;
    match entries::update_local(&state, &who, ctx.lang, &e, &input).await? {
        Ok(()) => Ok(see_other(&format!("/directory/services/{}", e.service.id))),
        Err(errors) => {
            let page = service_page(&state, ctx, &who, e, Some(input), errors).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

// ---------------------------------------------------------------------------
// An organisation's own structures

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
    entries::require_create(&who)?;
    Ok(render(&StructureForm { ctx, form: StructureInput::default(), errors: FieldErrors::new(), id: None }))
}

/// POST /directory/structures
pub async fn create_structure(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<StructureInput>) -> AppResult<Response> {
    match entries::create_structure(&state, &who, ctx.lang, &input).await? {
        Ok(id) => Ok(see_other(&format!("/directory/structures/{id}"))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &StructureForm { ctx, form: input, errors, id: None })),
    }
}

/// GET /directory/structures/{id}/edit
pub async fn edit_structure(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let s = entries::own_structure(&state, &who, &id).await?;
    Ok(render(&StructureForm { ctx, form: StructureInput::of(&s), errors: FieldErrors::new(), id: Some(s.id) }))
}

/// POST /directory/structures/{id}
pub async fn update_structure(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<StructureInput>,
) -> AppResult<Response> {
    let s = entries::own_structure(&state, &who, &id).await?;
    match entries::update_structure(&state, &who, ctx.lang, &s, &input).await? {
        Ok(()) => Ok(see_other(&format!("/directory/structures/{}", s.id))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &StructureForm { ctx, form: input, errors, id: Some(s.id) })),
    }
}

// ---------------------------------------------------------------------------
// An organisation's own services

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

async fn service_form(
    state: &AppState,
    ctx: PageCtx,
    structure: Structure,
    form: ServiceInput,
    errors: FieldErrors,
    id: Option<ServiceId>,
) -> AppResult<ServiceForm> {
    let v = app::datainclusion::vocabulary();
    Ok(ServiceForm {
        ctx,
        structure,
        form,
        errors,
        id,
        filters: app::filters(state).await?,
        kinds: v.kinds.clone(),
        fees: v.fees.clone(),
        capacities: entries::capacities(),
    })
}

/// GET /directory/structures/{id}/services/new
pub async fn new_service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let s = entries::own_structure(&state, &who, &id).await?;
    Ok(render(&service_form(&state, ctx, s, ServiceInput::default(), FieldErrors::new(), None).await?))
}

/// POST /directory/structures/{id}/services
pub async fn create_service(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<ServiceInput>,
) -> AppResult<Response> {
    let s = entries::own_structure(&state, &who, &id).await?;
    match entries::create_service(&state, &who, ctx.lang, &s, &input).await? {
        Ok(id) => Ok(see_other(&format!("/directory/services/{id}"))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &service_form(&state, ctx, s, input, errors, None).await?)),
    }
}

/// GET /directory/services/{id}/edit
pub async fn edit_service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let e = entries::own_service(&state, &who, &id).await?;
    let form = ServiceInput::of(&e.service);
    Ok(render(&service_form(&state, ctx, e.structure, form, FieldErrors::new(), Some(e.service.id)).await?))
}

/// POST /directory/services/{id}
pub async fn update_service(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<ServiceInput>,
) -> AppResult<Response> {
    let e = entries::own_service(&state, &who, &id).await?;
    match entries::update_service(&state, &who, ctx.lang, &e, &input).await? {
        Ok(()) => Ok(see_other(&format!("/directory/services/{}", e.service.id))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &service_form(&state, ctx, e.structure, input, errors, Some(e.service.id)).await?)),
    }
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

/// GET /directory/import
pub async fn import_form(ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    import::require(&who)?;
    Ok(render(&ImportPage { ctx, errors: FieldErrors::new(), outcome: None }))
}

/// POST /directory/import (multipart: csrf, files, dry_run, skip_refused)
pub async fn import_upload(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, req: axum::extract::Request) -> AppResult<Response> {
    import::require(&who)?;
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
    let o = import::import(&state, &who, &files, options).await?;
    let (problems, more_problems) = messages(ctx.lang, &o.problems);
    let (warnings, more_warnings) = messages(ctx.lang, &o.warnings);
    let status = if o.problems.is_empty() || o.written { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let view = ImportView { dry_run: o.dry_run, written: o.written, counts: o.counts, problems, more_problems, warnings, more_warnings };
    Ok(render_status(status, &ImportPage { ctx, errors: FieldErrors::new(), outcome: Some(view) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_until_reads_as_french_today_and_another_day() {
        let now = Timestamp::parse_paris("2026-12-02T10:00").unwrap();
        let noon = Timestamp::parse_paris("2026-12-02T12:30").unwrap();
        let thursday = Timestamp::parse_paris("2026-12-03T09:00").unwrap();
        assert_eq!(state_text(Lang::Fr, now, Some(Now::Open(Some(noon)))), "Ouvert maintenant, jusqu'à 12:30");
        assert_eq!(state_text(Lang::Fr, now, Some(Now::Open(Some(thursday)))), "Ouvert maintenant, jusqu'au jeudi 03/12 à 09:00");
        assert_eq!(state_text(Lang::En, now, Some(Now::Open(Some(noon)))), "Open now, until 12:30");
        assert_eq!(state_text(Lang::Fr, now, Some(Now::Closed(Some(thursday)))), "Fermé maintenant · ouvre jeudi 03/12 à 09:00");
    }
}
