//! Pages of neighbourhood work. A refused form is drawn again with what was
//! typed and each message by its field.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use veille_app::neighbourhood::contacts::{self, ContactInput};
use veille_app::neighbourhood::logbooks::{self, BookPage, EntryInput, EntryView, SearchQuery};
use veille_app::neighbourhood::mediations::{self, Lists, MediationInput, MediationView};
use veille_app::neighbourhood::services::{self, AnswerInput, LinkOnce, LinkVisit, Opened, RequestInput, RequestPage, ServiceInput};
use veille_app::neighbourhood::tension::{self, TensionPlace};
use veille_app::sites::Territory;
use veille_domain::neighbourhood::{
    BookKind, ContactRole, LogCategory, MediationOutcome, MediationSubject, PartyRole, RequestStatus, ServiceCategory, Urgency,
};
use veille_domain::{Action, ContactId, OrganisationId, SiteId};
use veille_storage::neighbourhood::Contact;
use veille_storage::services::{CityService, ServiceRequest};

use super::FileForm;
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

fn refused(t: &impl Template) -> Response {
    render_status(StatusCode::UNPROCESSABLE_ENTITY, t)
}

/// A version field of a form.
#[derive(Deserialize, Default)]
pub struct VersionForm {
    #[serde(default)]
    version: String,
}

// ---------------------------------------------------------------------------
// Mediations

#[derive(Template)]
#[template(path = "neighbourhood/mediations.html")]
struct MediationsPage {
    ctx: PageCtx,
    lists: Lists,
    can_record: bool,
}

impl MediationsPage {
    fn late(&self, d: &veille_domain::shelter::Night) -> bool {
        *d < self.lists.today
    }
}

/// GET /mediations
pub async fn mediations(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let lists = mediations::lists(&state, &who).await?;
    Ok(render(&MediationsPage { ctx, lists, can_record: mediations::can_record(&who) }))
}

#[derive(Template)]
#[template(path = "neighbourhood/mediation_form.html")]
struct MediationForm {
    ctx: PageCtx,
    form: MediationInput,
    errors: FieldErrors,
    sites: Vec<(SiteId, String)>,
    contacts: Vec<Contact>,
    reads_book: bool,
    subjects: &'static [MediationSubject],
    outcomes: &'static [MediationOutcome],
    roles: &'static [PartyRole],
}

impl MediationForm {
    fn has_contact(&self, id: &ContactId) -> bool {
        self.form.has_contact(id)
    }
}

async fn mediation_form(state: &AppState, ctx: PageCtx, who: &Authenticated, form: MediationInput, errors: FieldErrors) -> AppResult<MediationForm> {
    let (sites, contacts) = mediations::form_choices(state, who).await?;
    Ok(MediationForm {
        ctx,
        form,
        errors,
        sites,
        contacts,
        reads_book: contacts::may_read(who),
        subjects: MediationSubject::ALL,
        outcomes: MediationOutcome::ALL,
        roles: PartyRole::ALL,
    })
}

/// Where a new mediation is recorded from.
#[derive(Deserialize, Default)]
pub struct NewMediationQuery {
    #[serde(default)]
    round: String,
    #[serde(default)]
    stop: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    report: String,
}

/// GET /mediations/new
pub async fn new_mediation(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<NewMediationQuery>) -> AppResult<Response> {
    if !mediations::can_record(&who) {
        return Err(AppError::from(veille_app::Error::forbidden()));
    }
    let form = mediations::draft(&state, &who, &q.round, &q.stop, &q.site, &q.report).await?;
    Ok(render(&mediation_form(&state, ctx, &who, form, FieldErrors::new()).await?))
}

/// POST /mediations
pub async fn record_mediation(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<MediationInput>) -> AppResult<Response> {
    match mediations::record(&state, &who, ctx.lang, &form).await? {
        Ok(id) => {
            if form.round_id.trim().is_empty() {
                Ok(see_other(&format!("/mediations/{id}")))
            } else {
                Ok(see_other(&format!("/rounds/{}#mediations", form.round_id.trim())))
            }
        }
        Err(errors) => Ok(refused(&mediation_form(&state, ctx, &who, form, errors).await?)),
    }
}

#[derive(Template)]
#[template(path = "neighbourhood/mediation.html")]
struct MediationPage {
    ctx: PageCtx,
    view: MediationView,
    requests: Vec<(ServiceRequest, String)>,
}

/// GET /mediations/{id} (an audited read)
pub async fn mediation(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let view = mediations::read(&state, &who, &id, "page").await?;
    let requests = services::of_origin(&state, &who, "mediation", &view.mediation.id.to_string()).await?;
    Ok(render(&MediationPage { ctx, view, requests }))
}

/// POST /mediations/{id}/follow-up-done
pub async fn follow_up_done(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(form): Form<VersionForm>) -> AppResult<Response> {
    let m = mediations::load(&state, &who, &id, Action::Update).await?;
    mediations::follow_up_done(&state, &who, &m, &form.version).await?;
    Ok(see_other("/mediations#follow-ups"))
}

#[derive(Template)]
#[template(path = "neighbourhood/tension.html")]
struct TensionPage {
    ctx: PageCtx,
    places: Vec<TensionPlace>,
    days: i64,
}

impl TensionPage {
    fn day(&self, at: &str) -> String {
        at.chars().take(10).collect()
    }
}

/// How far back the tension map looks.
#[derive(Deserialize, Default)]
pub struct DaysQuery {
    #[serde(default)]
    days: Option<i64>,
}

/// GET /tension
pub async fn tension(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<DaysQuery>) -> AppResult<Response> {
    let days = q.days.unwrap_or(tension::DEFAULT_DAYS).clamp(7, 730);
    let places = tension::places(&state, &who, days).await?;
    Ok(render(&TensionPage { ctx, places, days }))
}

/// GET /tension.geojson
pub async fn tension_geojson(State(state): State<AppState>, who: Authenticated, Query(q): Query<DaysQuery>) -> AppResult<Response> {
    let places = tension::places(&state, &who, q.days.unwrap_or(tension::DEFAULT_DAYS)).await?;
    Ok(([(CONTENT_TYPE, "application/geo+json")], tension::geojson(&places).to_string()).into_response())
}

// ---------------------------------------------------------------------------
// Contact book

#[derive(Template)]
#[template(path = "neighbourhood/contacts.html")]
struct ContactsPage {
    ctx: PageCtx,
    contacts: Vec<Contact>,
    q: ContactQuery,
    form: ContactInput,
    errors: FieldErrors,
    roles: &'static [ContactRole],
    territories: Vec<Territory>,
}

/// A search of the contact book.
#[derive(Deserialize, Default, Clone)]
pub struct ContactQuery {
    #[serde(default)]
    role: String,
    #[serde(default)]
    q: String,
}

async fn contacts_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    q: ContactQuery,
    form: ContactInput,
    errors: FieldErrors,
) -> AppResult<ContactsPage> {
    let contacts = contacts::list(state, who, &q.role, &q.q, "page").await?;
    Ok(ContactsPage { ctx, contacts, q, form, errors, roles: ContactRole::ALL, territories: veille_app::sites::territories(state).await? })
}

/// GET /contacts (an audited read)
pub async fn contacts(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<ContactQuery>) -> AppResult<Response> {
    Ok(render(&contacts_page(&state, ctx, &who, q, ContactInput::default(), FieldErrors::new()).await?))
}

/// POST /contacts
pub async fn create_contact(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<ContactInput>) -> AppResult<Response> {
    match contacts::create(&state, &who, ctx.lang, &form).await? {
        Ok(id) => Ok(see_other(&format!("/contacts/{id}"))),
        Err(errors) => Ok(refused(&contacts_page(&state, ctx, &who, ContactQuery::default(), form, errors).await?)),
    }
}

#[derive(Template)]
#[template(path = "neighbourhood/contact.html")]
struct ContactPage {
    ctx: PageCtx,
    contact: Contact,
    form: ContactInput,
    errors: FieldErrors,
    roles: &'static [ContactRole],
    territories: Vec<Territory>,
}

/// GET /contacts/{id} (an audited read)
pub async fn contact(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let c = contacts::read(&state, &who, &id, "page").await?;
    let form = ContactInput::of(&c);
    Ok(render(&ContactPage {
        ctx,
        contact: c,
        form,
        errors: FieldErrors::new(),
        roles: ContactRole::ALL,
        territories: veille_app::sites::territories(&state).await?,
    }))
}

/// POST /contacts/{id}
pub async fn update_contact(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ContactInput>,
) -> AppResult<Response> {
    let c = contacts::load(&state, &who, &id, Action::Update).await?;
    match contacts::update(&state, &who, ctx.lang, &c, &form).await? {
        Ok(()) => Ok(see_other(&format!("/contacts/{}", c.id))),
        Err(errors) => {
            let territories = veille_app::sites::territories(&state).await?;
            Ok(refused(&ContactPage { ctx, contact: c, form, errors, roles: ContactRole::ALL, territories }))
        }
    }
}

/// POST /contacts/{id}/remove
pub async fn remove_contact(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let c = contacts::load(&state, &who, &id, Action::Update).await?;
    contacts::remove(&state, &who, &c).await?;
    Ok(see_other("/contacts?removed=1"))
}

// ---------------------------------------------------------------------------
// Requests to services

#[derive(Template)]
#[template(path = "neighbourhood/requests.html")]
struct RequestsPage {
    ctx: PageCtx,
    requests: Vec<(ServiceRequest, String)>,
    services: Vec<CityService>,
    can_send: bool,
    form: RequestInput,
    errors: FieldErrors,
    categories: &'static [ServiceCategory],
    urgencies: &'static [Urgency],
}

/// A request's form prefilled from where it comes from.
#[derive(Deserialize, Default)]
pub struct RequestsQuery {
    #[serde(default)]
    origin_kind: String,
    #[serde(default)]
    origin_id: String,
    #[serde(default)]
    category: String,
}

async fn requests_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: RequestInput, errors: FieldErrors) -> AppResult<RequestsPage> {
    Ok(RequestsPage {
        ctx,
        requests: services::queue(state, who, None, false).await?,
        services: services::services(state, who).await?.into_iter().filter(|s| s.active).collect(),
        can_send: services::can_send(who),
        form,
        errors,
        categories: ServiceCategory::ALL,
        urgencies: Urgency::ALL,
    })
}

/// GET /service-requests
pub async fn requests(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<RequestsQuery>) -> AppResult<Response> {
    let form = RequestInput { origin_kind: q.origin_kind, origin_id: q.origin_id, category: q.category, urgency: "normal".into(), ..Default::default() };
    Ok(render(&requests_page(&state, ctx, &who, form, FieldErrors::new()).await?))
}

#[derive(Template)]
#[template(path = "neighbourhood/request.html")]
struct RequestShow {
    ctx: PageCtx,
    page: RequestPage,
    link: Option<LinkOnce>,
    answer: AnswerInput,
    errors: FieldErrors,
}

impl RequestShow {
    fn photo_src(&self, i: &usize) -> String {
        self.page.photos.get(*i).map(photo_data).unwrap_or_default()
    }
}

fn photo_data(p: &veille_storage::reports::Photo) -> String {
    use base64::Engine;
    format!("data:{};base64,{}", p.content_type, base64::engine::general_purpose::STANDARD.encode(&p.bytes))
}

/// POST /service-requests (multipart: the fields and up to three photos)
pub async fn send_request(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, form: FileForm<RequestInput>) -> AppResult<Response> {
    let files: Vec<Vec<u8>> = form.files.into_iter().filter(|(n, _, _)| n == "photo").map(|(_, _, b)| b).collect();
    match services::send(&state, &who, ctx.lang, &form.input, files).await? {
        Ok((id, link)) => {
            let page = services::read(&state, &who, &id.to_string(), "page").await?;
            Ok(render_status(StatusCode::CREATED, &RequestShow { ctx, page, link, answer: AnswerInput::default(), errors: FieldErrors::new() }))
        }
        Err(errors) => Ok(refused(&requests_page(&state, ctx, &who, form.input, errors).await?)),
    }
}

/// GET /service-requests/{id} (an audited read)
pub async fn request(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let page = services::read(&state, &who, &id, "page").await?;
    let answer = AnswerInput { version: page.request.version.to_string(), ..Default::default() };
    Ok(render(&RequestShow { ctx, page, link: None, answer, errors: FieldErrors::new() }))
}

/// POST /service-requests/{id}/answer
pub async fn answer_request(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<AnswerInput>,
) -> AppResult<Response> {
    let (r, s) = services::load(&state, &who, &id, Action::Update).await?;
    match services::answer(&state, &who, ctx.lang, &r, &s, &form).await? {
        Ok(()) => Ok(see_other(&format!("/service-requests/{}", r.id))),
        Err(errors) => {
            let page = services::page(&state, &who, r, s).await?;
            Ok(refused(&RequestShow { ctx, page, link: None, answer: form, errors }))
        }
    }
}

/// POST /service-requests/{id}/link
pub async fn request_link(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (r, s) = services::load(&state, &who, &id, Action::Update).await?;
    let link = services::issue_link(&state, &who, &r, &s).await?;
    let page = services::read(&state, &who, &id, "page").await?;
    let answer = AnswerInput { version: page.request.version.to_string(), ..Default::default() };
    Ok(render(&RequestShow { ctx, page, link: Some(link), answer, errors: FieldErrors::new() }))
}

#[derive(Template)]
#[template(path = "neighbourhood/city_services.html")]
struct ServicesPage {
    ctx: PageCtx,
    services: Vec<CityService>,
    can_add: bool,
    form: ServiceInput,
    errors: FieldErrors,
    categories: &'static [ServiceCategory],
    territories: Vec<Territory>,
    organisations: Vec<(OrganisationId, String)>,
}

async fn services_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: ServiceInput, errors: FieldErrors) -> AppResult<ServicesPage> {
    let can_add = who.can(Action::Create, &veille_domain::Resource::new(veille_domain::ResourceKind::Directory).owned_by(who.account.organisation)).allowed;
    Ok(ServicesPage {
        ctx,
        services: services::services(state, who).await?,
        can_add,
        form,
        errors,
        categories: ServiceCategory::ALL,
        territories: veille_app::sites::territories(state).await?,
        organisations: veille_app::cases::owners(state).await?,
    })
}

/// GET /city-services
pub async fn city_services(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    Ok(render(&services_page(&state, ctx, &who, ServiceInput::default(), FieldErrors::new()).await?))
}

/// POST /city-services
pub async fn create_city_service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<ServiceInput>) -> AppResult<Response> {
    match services::create_service(&state, &who, ctx.lang, &form).await? {
        Ok(id) => Ok(see_other(&format!("/city-services/{id}"))),
        Err(errors) => Ok(refused(&services_page(&state, ctx, &who, form, errors).await?)),
    }
}

#[derive(Template)]
#[template(path = "neighbourhood/city_service.html")]
struct ServicePage {
    ctx: PageCtx,
    service: CityService,
    requests: Vec<(ServiceRequest, String)>,
    can_update: bool,
    month: String,
}

/// GET /city-services/{id}
pub async fn city_service(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let service = services::load_service(&state, &who, &id, Action::Read).await?;
    let requests = services::queue(&state, &who, Some(&service), false).await?;
    let can_update = who.can(Action::Update, &services::service_resource(&service)).allowed;
    let month = state.clock.now().paris_date().format("%Y-%m").to_string();
    Ok(render(&ServicePage { ctx, service, requests, can_update, month }))
}

/// On or off.
#[derive(Deserialize, Default)]
pub struct ActiveForm {
    #[serde(default)]
    active: String,
}

/// POST /city-services/{id}/active
pub async fn city_service_active(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> AppResult<Response> {
    let s = services::load_service(&state, &who, &id, Action::Update).await?;
    services::set_active(&state, &who, &s, form.active == "on").await?;
    Ok(see_other(&format!("/city-services/{}", s.id)))
}

/// The month of an export.
#[derive(Deserialize, Default)]
pub struct MonthQuery {
    #[serde(default)]
    month: String,
}

fn file_name(service: &CityService, month: &str, ext: &str) -> String {
    let slug: String = service.name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let slug: String = slug.split('-').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("-");
    format!("demandes-{}-{}.{ext}", slug.chars().take(40).collect::<String>(), month.trim())
}

/// GET /city-services/{id}/export.csv?month=2026-11
pub async fn export_csv(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<MonthQuery>,
) -> AppResult<Response> {
    let s = services::load_service(&state, &who, &id, Action::Read).await?;
    let lines = services::export_lines(&state, &who, &s, &q.month).await?;
    Ok(crate::page::download("text/csv; charset=utf-8", &file_name(&s, &q.month, "csv"), services::to_csv(ctx.lang, &lines).into()))
}

/// GET /city-services/{id}/export.xlsx?month=2026-11
pub async fn export_xlsx(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<MonthQuery>,
) -> AppResult<Response> {
    let s = services::load_service(&state, &who, &id, Action::Read).await?;
    let lines = services::export_lines(&state, &who, &s, &q.month).await?;
    let bytes = services::to_xlsx(ctx.lang, &s.name, q.month.trim(), &lines)?;
    Ok(crate::page::download("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &file_name(&s, &q.month, "xlsx"), bytes))
}

#[derive(Template)]
#[template(path = "neighbourhood/service_link.html")]
struct LinkPage {
    ctx: PageCtx,
    token: String,
    code: String,
    opened: Option<Opened>,
    errors: FieldErrors,
    done: bool,
}

impl LinkPage {
    fn photo_src(&self, p: &veille_storage::reports::Photo) -> String {
        photo_data(p)
    }
    fn may(&self, to: &str) -> bool {
        let Some(o) = &self.opened else { return false };
        to.parse::<RequestStatus>().is_ok_and(|t| o.request.status.may_become(t))
    }
}

fn gone(ctx: PageCtx) -> Response {
    let mut errors = FieldErrors::new();
    errors.add("code", ctx.t("neighbourhood.link.gone"));
    render_status(StatusCode::NOT_FOUND, &LinkPage { ctx, token: String::new(), code: String::new(), opened: None, errors, done: false })
}

/// GET /service-link/{token}: asks for the code given orally.
pub async fn link_form(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    if !services::link_live(&state, &token).await? {
        return Ok(gone(ctx));
    }
    Ok(render(&LinkPage { ctx, token, code: String::new(), opened: None, errors: FieldErrors::new(), done: false }))
}

/// The service's link form: the code, and once opened, the answer.
#[derive(Deserialize, Default)]
pub struct LinkForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    answer: String,
}

/// POST /service-link/{token}
pub async fn link_answer(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>, Form(form): Form<LinkForm>) -> AppResult<Response> {
    let input = AnswerInput { status: form.status.clone(), answer: form.answer.clone(), version: String::new() };
    match services::link_visit(&state, ctx.lang, &token, &form.code, &input).await? {
        LinkVisit::Gone => Ok(gone(ctx)),
        LinkVisit::WrongCode => {
            let mut errors = FieldErrors::new();
            errors.add("code", ctx.t("neighbourhood.link.wrong_code"));
            Ok(refused(&LinkPage { ctx, token, code: String::new(), opened: None, errors, done: false }))
        }
        LinkVisit::Opened { opened, done, errors } => {
            let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            Ok(render_status(status, &LinkPage { ctx, token, code: form.code.trim().to_owned(), opened: Some(*opened), errors, done }))
        }
    }
}

// ---------------------------------------------------------------------------
// Logbooks

#[derive(Template)]
#[template(path = "neighbourhood/logbooks.html")]
struct SearchPage {
    ctx: PageCtx,
    q: SearchQuery,
    entries: Vec<EntryView>,
    categories: &'static [LogCategory],
    kinds: &'static [BookKind],
    teams: Vec<veille_app::rounds::Team>,
}

/// GET /logbooks (an audited read)
pub async fn logbooks(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    let entries = logbooks::search(&state, &who, &q).await?;
    let teams = veille_app::rounds::own_teams(&state, &who).await?;
    Ok(render(&SearchPage { ctx, q, entries, categories: LogCategory::ALL, kinds: BookKind::ALL, teams }))
}

#[derive(Template)]
#[template(path = "neighbourhood/book.html")]
struct BookShow {
    ctx: PageCtx,
    page: BookPage,
    q: SearchQuery,
    form: EntryInput,
    errors: FieldErrors,
    categories: &'static [LogCategory],
}

impl BookShow {
    fn mentioned(&self, id: &veille_domain::UserId) -> bool {
        let id = id.to_string();
        self.form.mention.contains(&id)
    }
}

async fn show_book(state: &AppState, ctx: PageCtx, who: &Authenticated, kind: &str, id: &str, q: SearchQuery) -> AppResult<Response> {
    let book = logbooks::open(state, who, kind, id).await?;
    let page = logbooks::read(state, who, book, &q).await?;
    Ok(render(&BookShow { ctx, page, q, form: EntryInput::default(), errors: FieldErrors::new(), categories: LogCategory::ALL }))
}

async fn write_book(state: &AppState, ctx: PageCtx, who: &Authenticated, kind: &str, id: &str, form: FileForm<EntryInput>) -> AppResult<Response> {
    let book = logbooks::open(state, who, kind, id).await?;
    let file = form.files.into_iter().find(|(n, _, _)| n == "attachment").map(|(_, f, b)| (f, b));
    match logbooks::write(state, who, ctx.lang, &book, &form.input, file).await? {
        Ok(entry) => Ok(see_other(&format!("{}#entry-{entry}", book.path()))),
        Err(errors) => {
            let page = logbooks::read(state, who, book, &SearchQuery::default()).await?;
            Ok(refused(&BookShow { ctx, page, q: SearchQuery::default(), form: form.input, errors, categories: LogCategory::ALL }))
        }
    }
}

/// GET /logbooks/team/{id}
pub async fn team_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    show_book(&state, ctx, &who, "team", &id, q).await
}
/// POST /logbooks/team/{id}
pub async fn write_team_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    form: FileForm<EntryInput>,
) -> AppResult<Response> {
    write_book(&state, ctx, &who, "team", &id, form).await
}
/// GET /logbooks/site/{id}
pub async fn site_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    show_book(&state, ctx, &who, "site", &id, q).await
}
/// POST /logbooks/site/{id}
pub async fn write_site_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    form: FileForm<EntryInput>,
) -> AppResult<Response> {
    write_book(&state, ctx, &who, "site", &id, form).await
}
/// GET /logbooks/case/{id}
pub async fn case_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    show_book(&state, ctx, &who, "case", &id, q).await
}
/// POST /logbooks/case/{id}
pub async fn write_case_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    form: FileForm<EntryInput>,
) -> AppResult<Response> {
    write_book(&state, ctx, &who, "case", &id, form).await
}
/// GET /logbooks/facility/{id}
pub async fn facility_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    show_book(&state, ctx, &who, "facility", &id, q).await
}
/// POST /logbooks/facility/{id}
pub async fn write_facility_book(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    form: FileForm<EntryInput>,
) -> AppResult<Response> {
    write_book(&state, ctx, &who, "facility", &id, form).await
}

/// GET /logbooks/entries/{id}/attachment (an audited read)
pub async fn attachment(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let a = logbooks::attachment(&state, &who, &id).await?;
    Ok(crate::page::download(&a.content_type, &a.name, a.bytes))
}
