//! Referral pages: the list and the queue, the form (with the partner
//! directory's service picker), the referral (an audited read) with its
//! timeline, sending, answers and outcomes, and the partner link a partner
//! without accounts answers through. The use cases are in
//! `veille_app::people::referrals`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_app::people::input::{AnswerBody, CancelInput, ReferralForm};
use veille_app::people::referrals::{self, LinkOnce, PartnerOpened, PartnerPerson, PartnerVisit, ReferralPage, ANSWERS, OUTCOMES};
use veille_app::people::{gate, load_person, Event, Person, Referral};
use veille_domain::people::{ReferralParty, ReferralStatus};
use veille_domain::{Action, OrganisationId};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::pager::Pager;
use crate::AppState;
use veille_app::access_panel::{who_can_read, PanelEntry};
use veille_app::paging::{page_number, Paged, PER_PAGE};

use super::view::age_label;

// ---------------------------------------------------------------------------
// The list and the queue

#[derive(Template)]
#[template(path = "people/referrals.html")]
struct ListPage {
    ctx: PageCtx,
    queue: Vec<(Referral, String)>,
    queue_total: String,
    queue_pager: Pager,
    sent: Vec<(Referral, String)>,
    sent_total: String,
    sent_pager: Pager,
    shows_sent: bool,
    /// The "Exporter" form.
    export: crate::exports::ExportForm,
}

/// The pages of the two lists.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    queue_page: String,
    #[serde(default)]
    sent_page: String,
}

/// GET /referrals: one page of the organisation's queue of referrals
/// received, and one of those it sent.
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let (queue_page, sent_page) = (page_number(&q.queue_page), page_number(&q.sent_page));
    let pages = referrals::pages(&state, &who, queue_page, sent_page).await?;
    // The other list's page rides along (not when it is the first).
    let beyond_first = |page: i64| if page > 1 { page.to_string() } else { String::new() };
    let (queue_at, sent_at) = (beyond_first(pages.queue.page), pages.sent.as_ref().map(|s| beyond_first(s.page)).unwrap_or_default());
    let queue_pager = Pager::new(&ctx, &pages.queue, "/referrals", "queue_page", &[("sent_page".to_owned(), sent_at)], "queue");
    let queue_total = ctx.tn("people.referral.total", pages.queue.total);
    let shows_sent = pages.sent.is_some();
    let sent = pages.sent.unwrap_or(Paged { items: Vec::new(), page: 1, per_page: PER_PAGE, total: 0 });
    let sent_pager = Pager::new(&ctx, &sent, "/referrals", "sent_page", &[("queue_page".to_owned(), queue_at)], "sent");
    let sent_total = ctx.tn("people.referral.total", sent.total);
    let export = crate::exports::ExportForm::new(&who, &ctx, veille_app::exports::List::Referrals, Vec::new());
    Ok(render(&ListPage { ctx, queue: pages.queue.items, queue_total, queue_pager, sent: sent.items, sent_total, sent_pager, shows_sent, export }))
}

// ---------------------------------------------------------------------------
// Writing and sending

/// Query of the new-referral form.
#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    person: String,
}

/// The referral form as posted: the referral, and the filters of the
/// directory's service picker embedded in it (`dir_*`: a search, not a
/// save, when its button sent it).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct ReferralPageForm {
    /// The picker's filters.
    #[serde(flatten)]
    pub picker: crate::directory::picker::PickerForm,
    /// The referral.
    #[serde(flatten)]
    pub referral: ReferralForm,
}

impl std::ops::Deref for ReferralPageForm {
    type Target = ReferralForm;
    fn deref(&self) -> &ReferralForm {
        &self.referral
    }
}

#[derive(Template)]
#[template(path = "people/referral_form.html")]
struct FormPage {
    ctx: PageCtx,
    form: ReferralPageForm,
    errors: FieldErrors,
    person: Person,
    partners: Vec<(OrganisationId, String)>,
    /// The directory's service picker (its filters and results), rendered.
    picker: String,
}

impl FormPage {
    /// The form again, what was typed kept, with the picker showing the
    /// search it was sent with and the service chosen.
    async fn of(state: &AppState, ctx: PageCtx, who: &Authenticated, person: Person, form: ReferralPageForm, errors: FieldErrors) -> AppResult<Self> {
        let query = form.picker.query(&form.service_id);
        let picker = crate::directory::picker::fieldset(state, who, ctx.lang, &query, &errors.get("service_id")).await?;
        Ok(FormPage { partners: referrals::partners(state, who).await?, ctx, form, errors, person, picker })
    }
}

/// GET /referrals/new?person={id}
pub async fn new_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<NewQuery>) -> AppResult<Response> {
    gate(&who)?;
    let (person, _) = load_person(&state, &who, &q.person, Action::Update).await?;
    let form = ReferralPageForm { referral: ReferralForm { person: person.id.to_string(), ..Default::default() }, ..Default::default() };
    Ok(render(&FormPage::of(&state, ctx, &who, person, form, FieldErrors::new()).await?))
}

/// POST /referrals
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<ReferralPageForm>) -> AppResult<Response> {
    if form.picker.searching() {
        // The picker's search button without JavaScript: nothing is saved.
        gate(&who)?;
        let (person, _) = load_person(&state, &who, &form.person, Action::Update).await?;
        return Ok(render(&FormPage::of(&state, ctx, &who, person, form, FieldErrors::new()).await?));
    }
    match referrals::create(&state, &who, ctx.lang, &form.referral, "form").await? {
        Ok((id, Some(link))) => show_page(&state, ctx, &who, &id.to_string(), FieldErrors::new(), Some(link)).await,
        Ok((id, None)) => Ok(see_other(&format!("/referrals/{id}"))),
        Err(errors) => {
            let (person, _) = load_person(&state, &who, &form.person, Action::Update).await?;
            let p = FormPage::of(&state, ctx, &who, person, form, errors).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
        }
    }
}

/// The version field of a form, and a reason (cancellation).
#[derive(Deserialize, Default)]
pub struct VersionForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    reason: String,
}

impl VersionForm {
    /// The version sent (a form without one is stale).
    fn version(&self) -> Option<i64> {
        Some(self.version.parse().unwrap_or(-1))
    }
}

/// POST /referrals/{id}/send
pub async fn send(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<VersionForm>,
) -> AppResult<Response> {
    match referrals::send(&state, &who, &id, form.version(), "form").await? {
        Some(link) => show_page(&state, ctx, &who, &id, FieldErrors::new(), Some(link)).await,
        None => Ok(see_other(&format!("/referrals/{id}"))),
    }
}

/// An answer or outcome form (the fields of [`AnswerBody`]).
#[derive(Deserialize, Default)]
pub struct AnswerForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    version: String,
}

impl From<AnswerForm> for AnswerBody {
    fn from(f: AnswerForm) -> Self {
        // A form without a version is stale.
        AnswerBody { status: f.status, message: f.message, version: Some(f.version.parse().unwrap_or(-1)) }
    }
}

async fn act(state: AppState, ctx: PageCtx, who: Authenticated, id: String, form: AnswerBody, allowed: &[ReferralStatus]) -> AppResult<Response> {
    match referrals::act(&state, &who, ctx.lang, &id, &form, allowed, "staff").await? {
        Ok(_) => Ok(see_other(&format!("/referrals/{id}"))),
        Err(errors) => show_page(&state, ctx, &who, &id, errors, None).await,
    }
}

/// POST /referrals/{id}/answer (the partner)
pub async fn answer(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> AppResult<Response> {
    act(state, ctx, who, id, form.into(), &ANSWERS).await
}

/// POST /referrals/{id}/outcome (the sender or the partner)
pub async fn outcome(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> AppResult<Response> {
    act(state, ctx, who, id, form.into(), &OUTCOMES).await
}

/// POST /referrals/{id}/cancel (the sender)
pub async fn cancel(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<VersionForm>,
) -> AppResult<Response> {
    let input = CancelInput { version: form.version(), reason: form.reason };
    match referrals::cancel(&state, &who, ctx.lang, &id, &input).await? {
        Ok(_) => Ok(see_other(&format!("/referrals/{id}"))),
        Err(errors) => show_page(&state, ctx, &who, &id, errors, None).await,
    }
}

// ---------------------------------------------------------------------------
// The referral page

#[derive(Template)]
#[template(path = "people/referral.html")]
struct ShowPage {
    ctx: PageCtx,
    referral: Referral,
    person: Person,
    partner_person: PartnerPerson,
    age: String,
    party: ReferralParty,
    sender: String,
    sender_name: String,
    partner_org: String,
    /// The directory service named, when it still exists and may be read.
    service: Option<referrals::ServiceEntry>,
    events: Vec<Event>,
    panel: Vec<PanelEntry>,
    can_update: bool,
    errors: FieldErrors,
    link: Option<LinkOnce>,
}

impl ShowPage {
    /// Opening hours in words when their form is a common one (else as written).
    fn hours_text(&self, osm: &str) -> (String, bool) {
        match veille_app::directory::hours::describe(osm, self.ctx.lang) {
            Some(words) => (words, true),
            None => (osm.to_owned(), false),
        }
    }
    fn is_sender(&self) -> bool {
        self.party == ReferralParty::Sender
    }
    fn may(&self, to: &str) -> bool {
        ReferralStatus::from_code(to).is_some_and(|t| self.can_update && self.referral.status.can_become(t, self.party))
    }
}

async fn show_page(state: &AppState, ctx: PageCtx, who: &Authenticated, id: &str, errors: FieldErrors, link: Option<LinkOnce>) -> AppResult<Response> {
    let p: ReferralPage = referrals::page(state, who, id).await?;
    let page = ShowPage {
        age: age_label(&ctx, state.clock.now(), &p.person.fields),
        panel: who_can_read(&state.db, &who.actor, &p.resource).await?,
        partner_person: p.partner_person,
        service: p.service,
        events: p.events,
        can_update: p.can_update,
        ctx,
        referral: p.referral,
        person: p.person,
        party: p.party,
        sender: p.sender,
        sender_name: p.sender_name,
        partner_org: p.partner_org,
        errors,
        link,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(status, &page))
}

/// GET /referrals/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    referrals::read(&state, &who, &id, "page").await?;
    show_page(&state, ctx, &who, &id, FieldErrors::new(), None).await
}

// ---------------------------------------------------------------------------
// The partner link (no account)

#[derive(Template)]
#[template(path = "people/partner.html")]
struct PartnerPage {
    ctx: PageCtx,
    token: String,
    /// The code, once checked (kept in the answer form, never in the URL).
    code: String,
    opened: Option<PartnerOpened>,
    errors: FieldErrors,
    done: bool,
}

impl PartnerPage {
    fn may(&self, to: &str) -> bool {
        match (&self.opened, ReferralStatus::from_code(to)) {
            (Some(o), Some(t)) => o.referral.status.can_become(t, ReferralParty::Partner),
            _ => false,
        }
    }
}

fn gone(ctx: PageCtx) -> Response {
    let mut errors = FieldErrors::new();
    errors.add("code", ctx.t("people.partner.gone"));
    render_status(StatusCode::NOT_FOUND, &PartnerPage { ctx, token: String::new(), code: String::new(), opened: None, errors, done: false })
}

/// GET /orientation/{token}: asks for the code given orally.
pub async fn partner_form(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    if !referrals::partner_link_live(&state, &token).await? {
        return Ok(gone(ctx));
    }
    Ok(render(&PartnerPage { ctx, token, code: String::new(), opened: None, errors: FieldErrors::new(), done: false }))
}

/// The partner link form: the code, and once opened, the answer.
#[derive(Deserialize, Default)]
pub struct PartnerForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
}

/// POST /orientation/{token}: with the right code, shows what the referral
/// needs and takes the answer (accepted or declined) or the outcome.
pub async fn partner_answer(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>, Form(form): Form<PartnerForm>) -> AppResult<Response> {
    match referrals::partner_visit(&state, ctx.lang, &token, &form.code, &form.status, &form.message).await? {
        PartnerVisit::Gone => Ok(gone(ctx)),
        PartnerVisit::WrongCode => {
            let mut errors = FieldErrors::new();
            errors.add("code", ctx.t("people.partner.wrong_code"));
            let page = PartnerPage { ctx, token, code: String::new(), opened: None, errors, done: false };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        PartnerVisit::Opened { opened, done, errors } => {
            let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            Ok(render_status(status, &PartnerPage { ctx, token, code: form.code.trim().to_owned(), opened: Some(*opened), errors, done }))
        }
    }
}
