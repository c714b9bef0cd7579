//! Meeting and escalation pages. A refused form is drawn again with what was typed.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use veille_app::cases::ActionLink;
use veille_app::escalations::{self as esc, EscalationInput};
use veille_app::meetings::{self as app, AttendeeInput, ItemInput, MeetingInput, MeetingPage, MeetingPanel};
use veille_app::sites::Territory;
use veille_documents::{Block, Document};
use veille_domain::cases::{EscalationKind, MeetingKind, SessionPublic};
use veille_domain::{Action, OrganisationId};
use veille_storage::meetings::{Escalation, Meeting};

use crate::access_panel::PanelEntry;
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

fn refused(t: &impl Template) -> Response {
    render_status(StatusCode::UNPROCESSABLE_ENTITY, t)
}

#[derive(Template)]
#[template(path = "meetings/list.html")]
struct ListPage {
    ctx: PageCtx,
    meetings: Vec<Meeting>,
    past: bool,
    form: MeetingInput,
    errors: FieldErrors,
    kinds: &'static [MeetingKind],
    territories: Vec<Territory>,
    can_plan: bool,
}

/// Which meetings the list shows.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    past: String,
    #[serde(default)]
    kind: String,
}

async fn list_page(state: &AppState, ctx: PageCtx, who: &Authenticated, past: bool, form: MeetingInput, errors: FieldErrors) -> AppResult<ListPage> {
    Ok(ListPage {
        ctx,
        meetings: app::list(state, who, past).await?,
        past,
        form,
        errors,
        kinds: MeetingKind::ALL,
        territories: veille_app::sites::territories(state).await?,
        can_plan: veille_app::cases::can_open(who),
    })
}

/// GET /meetings
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let form = MeetingInput { kind: if q.kind.is_empty() { "cellule".into() } else { q.kind }, minutes: "90".into(), ..Default::default() };
    Ok(render(&list_page(&state, ctx, &who, !q.past.is_empty(), form, FieldErrors::new()).await?))
}

/// POST /meetings
pub async fn plan(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<MeetingInput>) -> AppResult<Response> {
    match app::plan(&state, &who, ctx.lang, &form).await? {
        Ok(id) => Ok(see_other(&format!("/meetings/{id}"))),
        Err(errors) => Ok(refused(&list_page(&state, ctx, &who, false, form, errors).await?)),
    }
}

/// GET /meetings.ics
pub async fn ics(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    Ok(([(CONTENT_TYPE, "text/calendar; charset=utf-8")], app::ics(&state, &who).await?).into_response())
}

#[derive(Template)]
#[template(path = "meetings/show.html")]
struct ShowPage {
    ctx: PageCtx,
    page: MeetingPage,
    publics: &'static [SessionPublic],
    owners: Vec<(OrganisationId, String)>,
    link: Option<ActionLink>,
    attendee: AttendeeInput,
    item: ItemInput,
    errors: FieldErrors,
    panel: Vec<PanelEntry>,
    case_panels: Vec<(String, Vec<PanelEntry>)>,
}

#[allow(clippy::too_many_arguments)]
async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    page: MeetingPage,
    attendee: AttendeeInput,
    item: ItemInput,
    link: Option<ActionLink>,
    errors: FieldErrors,
) -> AppResult<ShowPage> {
    let MeetingPanel { meeting: panel, cases: case_panels } = app::panel(state, who, &page).await?;
    Ok(ShowPage { ctx, page, publics: SessionPublic::ALL, owners: veille_app::cases::owners(state).await?, link, attendee, item, errors, panel, case_panels })
}

/// GET /meetings/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let page = app::read(&state, &who, &id).await?;
    Ok(render(&show_page(&state, ctx, &who, page, AttendeeInput::default(), ItemInput::default(), None, FieldErrors::new()).await?))
}

async fn redraw(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    id: &str,
    attendee: AttendeeInput,
    item: ItemInput,
    errors: FieldErrors,
) -> AppResult<Response> {
    let (m, attendees) = app::load(state, who, id, Action::Read).await?;
    let page = app::page(state, who, m, attendees).await?;
    Ok(refused(&show_page(state, ctx, who, page, attendee, item, None, errors).await?))
}

/// POST /meetings/{id}/attendees
pub async fn add_attendee(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<AttendeeInput>,
) -> AppResult<Response> {
    let (m, _) = app::load(&state, &who, &id, Action::Update).await?;
    match app::add_attendee(&state, &who, ctx.lang, &m, &form).await? {
        Ok(()) => Ok(see_other(&format!("/meetings/{}#attendees", m.id))),
        Err(errors) => redraw(&state, ctx, &who, &id, form, ItemInput::default(), errors).await,
    }
}

/// An agenda item to add.
#[derive(Deserialize, Default)]
pub struct AgendaForm {
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    topic: String,
}

/// POST /meetings/{id}/items
pub async fn add_item(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<AgendaForm>,
) -> AppResult<Response> {
    let (m, _) = app::load(&state, &who, &id, Action::Update).await?;
    match app::add_item(&state, &who, ctx.lang, &m, &form.case_id, &form.topic).await? {
        Ok(()) => Ok(see_other(&format!("/meetings/{}#agenda", m.id))),
        Err(errors) => redraw(&state, ctx, &who, &id, AttendeeInput::default(), ItemInput::default(), errors).await,
    }
}

/// POST /meetings/{id}/record: the partner's link and code are shown once, on the page that answers.
pub async fn record_item(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ItemInput>,
) -> AppResult<Response> {
    let (m, _) = app::load(&state, &who, &id, Action::Update).await?;
    match app::record_item(&state, &who, ctx.lang, &m, &form).await? {
        Ok(None) => Ok(see_other(&format!("/meetings/{}#agenda", m.id))),
        Ok(Some(link)) => {
            let (m, attendees) = app::load(&state, &who, &id, Action::Read).await?;
            let page = app::page(&state, &who, m, attendees).await?;
            Ok(render(&show_page(&state, ctx, &who, page, AttendeeInput::default(), ItemInput::default(), Some(link), FieldErrors::new()).await?))
        }
        Err(errors) => redraw(&state, ctx, &who, &id, AttendeeInput::default(), form, errors).await,
    }
}

/// The evaluation of a session.
#[derive(Deserialize, Default)]
pub struct HoldForm {
    #[serde(default)]
    evaluation: String,
    #[serde(default)]
    version: String,
}

/// POST /meetings/{id}/held
pub async fn hold(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<HoldForm>) -> AppResult<Response> {
    let (m, _) = app::load(&state, &who, &id, Action::Update).await?;
    match app::hold(&state, &who, ctx.lang, &m, &form.evaluation, &form.version).await? {
        Ok(()) => Ok(see_other(&format!("/meetings/{}#minutes", m.id))),
        Err(errors) => redraw(&state, ctx, &who, &id, AttendeeInput::default(), ItemInput::default(), errors).await,
    }
}

#[derive(Template)]
#[template(path = "meetings/minutes.html")]
struct MinutesPage {
    ctx: PageCtx,
    meeting: Meeting,
    doc: Document,
}

/// GET /meetings/{id}/minutes
pub async fn minutes(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (meeting, attendees) = app::load(&state, &who, &id, Action::Read).await?;
    let doc = app::minutes(&state, ctx.lang, &meeting, &attendees, Some(&who.actor)).await?;
    Ok(render(&MinutesPage { ctx, meeting, doc }))
}

/// GET /meetings/{id}/minutes.pdf: the minutes as the caller may read them (an audited read).
pub async fn minutes_pdf(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (meeting, attendees) = app::load(&state, &who, &id, Action::Read).await?;
    let pdf = app::minutes_pdf(&state, &who, ctx.lang, &meeting, &attendees).await?;
    let name = format!("compte-rendu-{}.pdf", meeting.starts_at.paris_date());
    Ok(crate::page::download("application/pdf", &name, pdf))
}

/// POST /meetings/{id}/minutes
pub async fn send_minutes(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<HoldForm>) -> AppResult<Response> {
    let (m, attendees) = app::load(&state, &who, &id, Action::Update).await?;
    app::send_minutes(&state, &who, &m, &attendees).await?;
    Ok(see_other(&format!("/meetings/{}?sent=1#minutes", m.id)))
}

#[derive(Template)]
#[template(path = "meetings/escalations.html")]
struct EscalationsPage {
    ctx: PageCtx,
    open: Vec<Escalation>,
    form: EscalationInput,
    errors: FieldErrors,
    kinds: &'static [EscalationKind],
    can_raise: bool,
}

async fn escalations_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: EscalationInput, errors: FieldErrors) -> AppResult<EscalationsPage> {
    Ok(EscalationsPage { ctx, open: esc::open(state, who).await?, form, errors, kinds: EscalationKind::ALL, can_raise: veille_app::cases::can_open(who) })
}

/// GET /escalations
pub async fn escalations(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let form = EscalationInput { ack_minutes: esc::ACK_MINUTES.to_string(), ..Default::default() };
    Ok(render(&escalations_page(&state, ctx, &who, form, FieldErrors::new()).await?))
}

/// POST /escalations
pub async fn raise(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<EscalationInput>) -> AppResult<Response> {
    match esc::raise(&state, &who, ctx.lang, &form).await? {
        Ok(id) => Ok(see_other(&format!("/escalations/{id}"))),
        Err(errors) => Ok(refused(&escalations_page(&state, ctx, &who, form, errors).await?)),
    }
}

#[derive(Template)]
#[template(path = "meetings/escalation.html")]
struct EscalationPage {
    ctx: PageCtx,
    e: Escalation,
    recipients: Vec<(String, i64)>,
    errors: FieldErrors,
}

async fn escalation_page(state: &AppState, ctx: PageCtx, who: &Authenticated, id: &str, errors: FieldErrors) -> AppResult<EscalationPage> {
    let e = esc::load(state, who, id).await?;
    Ok(EscalationPage { ctx, recipients: esc::recipients(state, &e).await?, e, errors })
}

/// GET /escalations/{id}
pub async fn escalation(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    Ok(render(&escalation_page(&state, ctx, &who, &id, FieldErrors::new()).await?))
}

/// POST /escalations/{id}/acknowledge
pub async fn acknowledge(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<HoldForm>) -> AppResult<Response> {
    let e = esc::load(&state, &who, &id).await?;
    esc::acknowledge(&state, &who, &e).await?;
    Ok(see_other(&format!("/escalations/{}", e.id)))
}

/// The resolution.
#[derive(Deserialize, Default)]
pub struct ResolveForm {
    #[serde(default)]
    resolution: String,
}

/// POST /escalations/{id}/resolve
pub async fn resolve(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> AppResult<Response> {
    let e = esc::load(&state, &who, &id).await?;
    match esc::resolve(&state, &who, ctx.lang, &e, &form.resolution).await? {
        Ok(()) => Ok(see_other(&format!("/escalations/{}", e.id))),
        Err(errors) => Ok(refused(&escalation_page(&state, ctx, &who, &id, errors).await?)),
    }
}
