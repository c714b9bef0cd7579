//! Shelter pages: the capacity board, a facility with its nights and the
//! operator's "places tonight" form, a new facility, the booking form, stays
//! (list, page, entry, exit with destination, extension, cancellation) and
//! the waiting list. Every use case is `veille_app::shelter`; a refused form
//! is drawn again with what was typed and each message next to its field.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_app::shelter::{self as app, BookingInput, ExtendInput, Facility, FacilityInput, LeaveInput, NightInput, RequestInput, ShelterRequest, Stay};
use veille_app::sites::Territory;
use veille_domain::shelter::{FacilityKind, Night, NightPlaces, Public, StayDestination, Unit};
use veille_domain::Action;
use veille_storage::timeline::Event;

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

/// Nights the board shows.
const BOARD_NIGHTS: i64 = 7;

fn refused(t: &impl Template) -> Response {
    render_status(StatusCode::UNPROCESSABLE_ENTITY, t)
}

/// Board filters.
#[derive(Deserialize, Default, Clone)]
pub struct BoardQuery {
    #[serde(default)]
    territory: String,
    #[serde(default)]
    from: String,
}

#[derive(Template)]
#[template(path = "shelter/board.html")]
struct BoardPage {
    ctx: PageCtx,
    lines: Vec<app::BoardLine>,
    nights: Vec<Night>,
    territories: Vec<Territory>,
    q: BoardQuery,
    tonight: Night,
    can_book: bool,
    can_open: bool,
    operated: Vec<Facility>,
    waiting: usize,
    long_stays: usize,
}

/// GET /shelter: the capacity board.
pub async fn board(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<BoardQuery>) -> AppResult<Response> {
    let tonight = app::tonight(&state);
    let from = Night::parse(&q.from).filter(|n| *n >= tonight.plus(-30) && *n <= tonight.plus(app::HORIZON)).unwrap_or(tonight);
    let lines = app::board(&state, &who, q.territory.parse().ok(), from, BOARD_NIGHTS).await?;
    let can_book = app::can_book(&who);
    let (waiting, long_stays) = if can_book { (app::waiting_list(&state, &who).await?.len(), app::long_stays(&state, &who).await?.len()) } else { (0, 0) };
    Ok(render(&BoardPage {
        ctx,
        nights: (0..BOARD_NIGHTS).map(|i| from.plus(i)).collect(),
        lines,
        territories: veille_app::sites::territories(&state).await?,
        q,
        tonight,
        can_book,
        can_open: app::can_open_facility(&who),
        operated: app::operated(&state, &who).await?,
        waiting,
        long_stays,
    }))
}

#[derive(Template)]
#[template(path = "shelter/facility_new.html")]
struct NewFacilityPage {
    ctx: PageCtx,
    form: FacilityInput,
    errors: FieldErrors,
    kinds: &'static [FacilityKind],
    units: &'static [Unit],
    publics: &'static [Public],
    territories: Vec<Territory>,
}

impl NewFacilityPage {
    fn has_public(&self, p: &Public) -> bool {
        self.form.publics.split(',').any(|c| c.trim() == p.code())
    }
}

/// GET /shelter/facilities/new
pub async fn new_facility(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    if !app::can_open_facility(&who) {
        return Err(veille_app::Error::forbidden().into());
    }
    let form = FacilityInput { unit: "place".into(), ..Default::default() };
    Ok(render(&NewFacilityPage {
        ctx,
        form,
        errors: FieldErrors::new(),
        kinds: FacilityKind::ALL,
        units: Unit::ALL,
        publics: Public::ALL,
        territories: veille_app::sites::territories(&state).await?,
    }))
}

/// POST /shelter/facilities
pub async fn create_facility(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let input = facility_input(&form);
    match app::create_facility(&state, &who, ctx.lang, &input).await? {
        Ok(f) => Ok(see_other(&format!("/shelter/facilities/{}", f.id))),
        Err(errors) => Ok(refused(&NewFacilityPage {
            ctx,
            form: input,
            errors,
            kinds: FacilityKind::ALL,
            units: Unit::ALL,
            publics: Public::ALL,
            territories: veille_app::sites::territories(&state).await?,
        })),
    }
}

fn facility_input(pairs: &[(String, String)]) -> FacilityInput {
    let f = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let publics: Vec<&str> = pairs.iter().filter(|(n, _)| n == "public").map(|(_, v)| v.as_str()).collect();
    FacilityInput {
        name: f("name"),
        kind: f("kind"),
        address: f("address"),
        territory_id: f("territory_id"),
        lat: f("lat"),
        lon: f("lon"),
        publics: if publics.is_empty() { f("publics") } else { publics.join(",") },
        unit: f("unit"),
        places: f("places"),
        accessible: f("accessible"),
        night_cost: f("night_cost"),
        service_id: f("service_id"),
    }
}

#[derive(Template)]
#[template(path = "shelter/facility.html")]
struct FacilityPage {
    ctx: PageCtx,
    facility: Facility,
    operator: String,
    nights: Vec<NightPlaces>,
    notes: Vec<(Night, i64, String)>,
    stays: Vec<Stay>,
    can_update: bool,
    can_book: bool,
    tonight: Night,
    night_form: NightInput,
    errors: FieldErrors,
    saved: bool,
}

impl FacilityPage {
    fn note_of(&self, n: &Night) -> String {
        self.notes.iter().find(|(x, _, _)| x == n).map(|(_, _, t)| t.clone()).unwrap_or_default()
    }
}

/// Whether a page comes back after a change was saved.
#[derive(Deserialize, Default)]
pub struct Saved {
    #[serde(default)]
    saved: String,
}

async fn facility_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    f: Facility,
    night_form: NightInput,
    errors: FieldErrors,
    saved: bool,
) -> AppResult<FacilityPage> {
    let (nights, notes, stays) = app::facility_page(state, who, &f, 14).await?;
    let operator = veille_storage::organisations::get(&state.db, f.organisation).await.map(|o| o.name).unwrap_or_default();
    let tonight = app::tonight(state);
    Ok(FacilityPage {
        ctx,
        operator,
        nights,
        notes,
        stays,
        can_update: who.can(Action::Update, &app::facility_resource(&f)).allowed,
        can_book: app::can_book(who),
        tonight,
        night_form,
        errors,
        saved,
        facility: f,
    })
}

/// GET /shelter/facilities/{id}
pub async fn facility(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Query(s): Query<Saved>) -> AppResult<Response> {
    let f = app::load_facility(&state, &who, &id, Action::Read).await?;
    let mut page = facility_page(&state, ctx, &who, f, NightInput::default(), FieldErrors::new(), !s.saved.is_empty()).await?;
    // The form starts from tonight's places, read with the page's nights.
    let places = page.nights.first().map_or(page.facility.places, |n| n.open);
    page.night_form = NightInput { night: page.tonight.iso(), places: places.to_string(), note: String::new() };
    Ok(render(&page))
}

/// POST /shelter/facilities/{id}/nights: the operator sets a night's places.
pub async fn set_night(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<NightInput>,
) -> AppResult<Response> {
    let f = app::load_facility(&state, &who, &id, Action::Update).await?;
    match app::set_night(&state, &who, ctx.lang, &f, &form).await? {
        Ok(_) => Ok(see_other(&format!("/shelter/facilities/{}?saved=1", f.id))),
        Err(errors) => Ok(refused(&facility_page(&state, ctx, &who, f, form, errors, false).await?)),
    }
}

#[derive(Template)]
#[template(path = "shelter/booking.html")]
struct BookingPage {
    ctx: PageCtx,
    form: BookingInput,
    errors: FieldErrors,
    facilities: Vec<Facility>,
    request: Option<ShelterRequest>,
    /// The pseudonym of the person on file the booking is for.
    person: Option<String>,
}

async fn person_named(state: &AppState, who: &Authenticated, id: &str) -> AppResult<Option<String>> {
    if id.trim().is_empty() {
        return Ok(None);
    }
    Ok(veille_app::found(veille_app::people::load_person(state, who, id.trim(), Action::Read).await)?.map(|(p, _)| p.fields.pseudonym))
}

/// What the booking form may be opened with.
#[derive(Deserialize, Default)]
pub struct BookingQuery {
    #[serde(default)]
    facility: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    from: String,
}

/// GET /shelter/bookings/new
pub async fn booking_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<BookingQuery>) -> AppResult<Response> {
    if !app::can_book(&who) {
        return Err(veille_app::Error::forbidden().into());
    }
    let request = if q.request.is_empty() { None } else { veille_app::found(app::load_request(&state, &who, &q.request).await)? };
    let mut form = BookingInput {
        facility_id: q.facility,
        person_id: q.person,
        from: Night::parse(&q.from).unwrap_or(app::tonight(&state)).iso(),
        nights: "1".into(),
        places: "1".into(),
        ..Default::default()
    };
    if let Some(r) = &request {
        form.request_id = r.id.to_string();
        form.person_id = r.person.map(|p| p.to_string()).unwrap_or_default();
        form.label = r.label.clone();
        form.places = r.places.to_string();
        form.from = r.wanted_from.max(app::tonight(&state)).iso();
    }
    let person = person_named(&state, &who, &form.person_id).await?;
    Ok(render(&BookingPage { ctx, form, errors: FieldErrors::new(), facilities: app::facilities(&state).await?, request, person }))
}

/// POST /shelter/bookings
pub async fn book(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<BookingInput>) -> AppResult<Response> {
    match app::book(&state, &who, ctx.lang, &form).await? {
        Ok(stay) => Ok(see_other(&format!("/shelter/stays/{}", stay.id))),
        Err(errors) => {
            let request = if form.request_id.is_empty() { None } else { veille_app::found(app::load_request(&state, &who, &form.request_id).await)? };
            let person = person_named(&state, &who, &form.person_id).await?;
            Ok(refused(&BookingPage { ctx, form, errors, facilities: app::facilities(&state).await?, request, person }))
        }
    }
}

#[derive(Template)]
#[template(path = "shelter/stays.html")]
struct StaysPage {
    ctx: PageCtx,
    stays: Vec<Stay>,
    all: bool,
    waiting: Vec<ShelterRequest>,
    long_stays: Vec<Stay>,
    form: RequestInput,
    errors: FieldErrors,
    publics: &'static [Public],
    can_book: bool,
    /// The "Exporter" form.
    export: crate::exports::ExportForm,
}

/// Which stays the list shows.
#[derive(Deserialize, Default)]
pub struct StaysQuery {
    #[serde(default)]
    all: String,
}

async fn stays_page(state: &AppState, ctx: PageCtx, who: &Authenticated, all: bool, form: RequestInput, errors: FieldErrors) -> AppResult<StaysPage> {
    let can_book = app::can_book(who);
    let hidden = if all { vec![("all".to_owned(), "1".to_owned())] } else { Vec::new() };
    let export = crate::exports::ExportForm::new(who, &ctx, veille_app::exports::List::Stays, hidden);
    Ok(StaysPage {
        export,
        ctx,
        stays: app::stays(state, who, all).await?,
        all,
        waiting: if can_book { app::waiting_list(state, who).await? } else { Vec::new() },
        long_stays: app::long_stays(state, who).await?,
        form,
        errors,
        publics: Public::ALL,
        can_book,
    })
}

/// GET /shelter/stays: current stays (own and in operated facilities), the waiting list.
pub async fn stays(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<StaysQuery>) -> AppResult<Response> {
    app::gate_stays(&who)?;
    let form = RequestInput { priority: "3".into(), places: "1".into(), ..Default::default() };
    Ok(render(&stays_page(&state, ctx, &who, !q.all.is_empty(), form, FieldErrors::new()).await?))
}

/// POST /shelter/requests: a request on the waiting list.
pub async fn add_request(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<RequestInput>) -> AppResult<Response> {
    match app::add_request(&state, &who, ctx.lang, &form).await? {
        Ok(_) => Ok(see_other("/shelter/stays#waiting")),
        Err(errors) => Ok(refused(&stays_page(&state, ctx, &who, false, form, errors).await?)),
    }
}

/// The version a small form sends.
#[derive(Deserialize, Default)]
pub struct VersionForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    no_show: String,
}

/// POST /shelter/requests/{id}/withdraw
pub async fn withdraw_request(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(form): Form<VersionForm>) -> AppResult<Response> {
    let r = app::load_request(&state, &who, &id).await?;
    app::withdraw_request(&state, &who, &r, app::version(&form.version)).await?;
    Ok(see_other("/shelter/stays#waiting"))
}

#[derive(Template)]
#[template(path = "shelter/stay.html")]
struct StayPage {
    ctx: PageCtx,
    stay: Stay,
    events: Vec<Event>,
    can_update: bool,
    destinations: &'static [StayDestination],
    leave: LeaveInput,
    extend: ExtendInput,
    errors: FieldErrors,
}

async fn stay_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    id: &str,
    leave: LeaveInput,
    extend: ExtendInput,
    errors: FieldErrors,
) -> AppResult<StayPage> {
    let (stay, events) = app::read_stay(state, who, id, "page").await?;
    let can_update = who.can(Action::Update, &app::stay_resource(stay.organisation, stay.operator, stay.territory)).allowed;
    let extend = if extend.to.is_empty() { ExtendInput { to: stay.to.plus(7).iso(), version: String::new() } } else { extend };
    Ok(StayPage { ctx, stay, events, can_update, destinations: StayDestination::ALL, leave, extend, errors })
}

/// GET /shelter/stays/{id} (an audited read)
pub async fn stay(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    Ok(render(&stay_page(&state, ctx, &who, &id, LeaveInput::default(), ExtendInput::default(), FieldErrors::new()).await?))
}

fn back_to(stay: &Stay) -> Response {
    see_other(&format!("/shelter/stays/{}", stay.id))
}

/// POST /shelter/stays/{id}/enter
pub async fn enter(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<VersionForm>,
) -> AppResult<Response> {
    let s = app::load_stay(&state, &who, &id, Action::Update).await?;
    match app::enter(&state, &who, ctx.lang, &s, app::version(&form.version)).await? {
        Ok(()) => Ok(back_to(&s)),
        Err(errors) => Ok(refused(&stay_page(&state, ctx, &who, &id, LeaveInput::default(), ExtendInput::default(), errors).await?)),
    }
}

/// POST /shelter/stays/{id}/leave
pub async fn leave(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<LeaveInput>,
) -> AppResult<Response> {
    let s = app::load_stay(&state, &who, &id, Action::Update).await?;
    match app::leave(&state, &who, ctx.lang, &s, &form).await? {
        Ok(()) => Ok(back_to(&s)),
        Err(errors) => Ok(refused(&stay_page(&state, ctx, &who, &id, form, ExtendInput::default(), errors).await?)),
    }
}

/// POST /shelter/stays/{id}/extend
pub async fn extend(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ExtendInput>,
) -> AppResult<Response> {
    let s = app::load_stay(&state, &who, &id, Action::Update).await?;
    match app::extend(&state, &who, ctx.lang, &s, &form).await? {
        Ok(()) => Ok(back_to(&s)),
        Err(errors) => Ok(refused(&stay_page(&state, ctx, &who, &id, LeaveInput::default(), form, errors).await?)),
    }
}

/// POST /shelter/stays/{id}/cancel (`no_show` set: the person did not come)
pub async fn cancel(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<VersionForm>,
) -> AppResult<Response> {
    let s = app::load_stay(&state, &who, &id, Action::Update).await?;
    match app::cancel(&state, &who, ctx.lang, &s, !form.no_show.is_empty(), app::version(&form.version)).await? {
        Ok(()) => Ok(back_to(&s)),
        Err(errors) => Ok(refused(&stay_page(&state, ctx, &who, &id, LeaveInput::default(), ExtendInput::default(), errors).await?)),
    }
}

/// Cost in euros, as people read it.
pub fn euros(cents: &i64) -> String {
    format!("{},{:02} €", cents / 100, cents % 100)
}
