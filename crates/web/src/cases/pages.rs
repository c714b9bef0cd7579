//! Case pages: the list with the form to open one, a case's page (team,
//! people, evaluations, action plan, timeline, closure), and the partner's
//! action link. A refused form is drawn again with what was typed.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_app::cases::{self as app, ActionLink, ActionPlanInput, CaseInput, CasePage, LinkVisit};
use veille_app::shelter::input::ActionInput;
use veille_app::shelter::FollowUp;
use veille_app::sites::Territory;
use veille_domain::cases::{CaseOutcome, EvaluationDomain};
use veille_domain::shelter::ActionStatus;
use veille_domain::{Action, OrganisationId};
use veille_storage::cases::Case;

use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

fn refused(t: &impl Template) -> Response {
    render_status(StatusCode::UNPROCESSABLE_ENTITY, t)
}

#[derive(Template)]
#[template(path = "cases/list.html")]
struct ListPage {
    ctx: PageCtx,
    cases: Vec<Case>,
    all: bool,
    form: CaseInput,
    errors: FieldErrors,
    can_open: bool,
    territories: Vec<Territory>,
    /// The "Exporter" form.
    export: crate::exports::ExportForm,
}

/// What the list may be opened with (a report's or site's "open a case" link).
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    all: String,
    #[serde(default)]
    origin: String,
    #[serde(default)]
    origin_id: String,
}

async fn list_page(state: &AppState, ctx: PageCtx, who: &Authenticated, all: bool, form: CaseInput, errors: FieldErrors) -> AppResult<ListPage> {
    let hidden = if all { vec![("all".to_owned(), "1".to_owned())] } else { Vec::new() };
    let export = crate::exports::ExportForm::new(who, &ctx, veille_app::exports::List::Cases, hidden);
    Ok(ListPage {
        export,
        ctx,
        cases: app::list(state, who, all).await?,
        all,
        form,
        errors,
        can_open: app::can_open(who),
        territories: veille_app::sites::territories(state).await?,
    })
}

/// GET /cases
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let form = CaseInput { origin: if q.origin.is_empty() { "direct".into() } else { q.origin }, origin_id: q.origin_id, ..Default::default() };
    Ok(render(&list_page(&state, ctx, &who, !q.all.is_empty(), form, FieldErrors::new()).await?))
}

/// POST /cases
pub async fn open(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<CaseInput>) -> AppResult<Response> {
    match app::open(&state, &who, ctx.lang, &form).await? {
        Ok(c) => Ok(see_other(&format!("/cases/{}", c.id))),
        Err(errors) => Ok(refused(&list_page(&state, ctx, &who, false, form, errors).await?)),
    }
}

#[derive(Template)]
#[template(path = "cases/show.html")]
struct ShowPage {
    ctx: PageCtx,
    page: CasePage,
    panel: Vec<PanelEntry>,
    owners: Vec<(OrganisationId, String)>,
    domains: &'static [EvaluationDomain],
    outcomes: &'static [CaseOutcome],
    statuses: &'static [ActionStatus],
    drafts: Drafts,
    link: Option<ActionLink>,
    errors: FieldErrors,
    today: veille_domain::shelter::Night,
}

impl ShowPage {
    fn owner_of(&self, a: &FollowUp) -> String {
        match a.owner {
            Some(o) => self.owners.iter().find(|(id, _)| *id == o).map(|(_, n)| n.clone()).unwrap_or_default(),
            None => a.owner_name.clone(),
        }
    }
    fn late(&self, a: &FollowUp) -> bool {
        a.status.open() && a.due_on.is_some_and(|d| d < self.today)
    }
}

/// What was typed in the forms of a case's page.
#[derive(Default)]
struct Drafts {
    member: String,
    domain: String,
    body: String,
    action: ActionPlanInput,
}

async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    page: CasePage,
    drafts: Drafts,
    link: Option<ActionLink>,
    errors: FieldErrors,
) -> AppResult<ShowPage> {
    Ok(ShowPage {
        panel: who_can_read(&state.db, &who.actor, &page.resource).await?,
        owners: app::owners(state).await?,
        domains: EvaluationDomain::ALL,
        outcomes: CaseOutcome::ALL,
        statuses: ActionStatus::ALL,
        today: veille_app::shelter::tonight(state),
        ctx,
        page,
        drafts,
        link,
        errors,
    })
}

/// GET /cases/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let page = app::read(&state, &who, &id, "page").await?;
    Ok(render(&show_page(&state, ctx, &who, page, Drafts::default(), None, FieldErrors::new()).await?))
}

async fn redraw(state: &AppState, ctx: PageCtx, who: &Authenticated, c: Case, drafts: Drafts, errors: FieldErrors) -> AppResult<Response> {
    let page = app::page(state, who, c).await?;
    Ok(refused(&show_page(state, ctx, who, page, drafts, None, errors).await?))
}

fn back(c: &Case, anchor: &str) -> Response {
    see_other(&format!("/cases/{}#{anchor}", c.id))
}

/// A member to add or remove.
#[derive(Deserialize, Default)]
pub struct MemberForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    user_id: String,
}

/// POST /cases/{id}/members
pub async fn add_member(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> AppResult<Response> {
    let c = app::load(&state, &who, &id, Action::Delete).await?;
    match app::add_member(&state, &who, ctx.lang, &c, &form.email).await? {
        Ok(()) => Ok(back(&c, "team")),
        Err(errors) => redraw(&state, ctx, &who, c, Drafts { member: form.email, ..Default::default() }, errors).await,
    }
}

/// POST /cases/{id}/members/remove
pub async fn remove_member(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(form): Form<MemberForm>) -> AppResult<Response> {
    let c = app::load(&state, &who, &id, Action::Delete).await?;
    app::remove_member(&state, &who, &c, &form.user_id).await?;
    Ok(back(&c, "team"))
}

/// An evaluation.
#[derive(Deserialize, Default)]
pub struct EvaluationForm {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    body: String,
}

/// POST /cases/{id}/evaluations
pub async fn add_evaluation(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<EvaluationForm>,
) -> AppResult<Response> {
    let c = app::load(&state, &who, &id, Action::Update).await?;
    match app::add_evaluation(&state, &who, ctx.lang, &c, &form.domain, &form.body).await? {
        Ok(()) => Ok(back(&c, "evaluations")),
        Err(errors) => redraw(&state, ctx, &who, c, Drafts { domain: form.domain, body: form.body, ..Default::default() }, errors).await,
    }
}

/// POST /cases/{id}/actions: the partner's link and code are shown once, on the page that answers.
pub async fn add_action(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ActionPlanInput>,
) -> AppResult<Response> {
    let c = app::load(&state, &who, &id, Action::Update).await?;
    match app::add_action(&state, &who, ctx.lang, &c, &form).await? {
        Ok((_, None)) => Ok(back(&c, "plan")),
        Ok((_, Some(link))) => {
            let page = app::page(&state, &who, c).await?;
            Ok(render(&show_page(&state, ctx, &who, page, Drafts::default(), Some(link), FieldErrors::new()).await?))
        }
        Err(errors) => redraw(&state, ctx, &who, c, Drafts { action: form, ..Default::default() }, errors).await,
    }
}

/// A date, an outcome, a version.
#[derive(Deserialize, Default)]
pub struct StateForm {
    #[serde(default)]
    review_on: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    version: String,
}

/// POST /cases/{id}/review
pub async fn review(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<StateForm>,
) -> AppResult<Response> {
    let c = app::load(&state, &who, &id, Action::Update).await?;
    match app::set_review(&state, &who, ctx.lang, &c, &form.review_on, &form.version).await? {
        Ok(()) => Ok(back(&c, "state")),
        Err(errors) => redraw(&state, ctx, &who, c, Drafts::default(), errors).await,
    }
}

/// POST /cases/{id}/close
pub async fn close(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<StateForm>,
) -> AppResult<Response> {
    let c = app::load(&state, &who, &id, Action::Delete).await?;
    match app::close(&state, &who, ctx.lang, &c, &form.outcome, &form.version).await? {
        Ok(()) => Ok(back(&c, "state")),
        Err(errors) => redraw(&state, ctx, &who, c, Drafts::default(), errors).await,
    }
}

/// POST /cases/{id}/reopen
pub async fn reopen(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(form): Form<StateForm>) -> AppResult<Response> {
    let c = app::load(&state, &who, &id, Action::Delete).await?;
    app::reopen(&state, &who, &c, &form.version).await?;
    Ok(back(&c, "state"))
}

/// POST /actions/{id}: an action of a case's plan moves on; back to the case's plan.
pub async fn set_action(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ActionInput>,
) -> AppResult<Response> {
    let a = veille_app::shelter::housing::load_action(&state, &who, &id).await?;
    let Some(case) = a.case else { return Err(veille_app::Error::not_found().into()) };
    let result = veille_app::shelter::housing::set_action(&state, &who, ctx.lang, &a, &form).await?;
    let c = app::load(&state, &who, &case.to_string(), Action::Read).await?;
    match result {
        Ok(_) => Ok(back(&c, "plan")),
        Err(errors) => redraw(&state, ctx, &who, c, Drafts::default(), errors).await,
    }
}

#[derive(Template)]
#[template(path = "cases/link.html")]
struct LinkPage {
    ctx: PageCtx,
    token: String,
    code: String,
    action: Option<FollowUp>,
    organisation: String,
    done: bool,
    errors: FieldErrors,
    statuses: &'static [ActionStatus],
}

fn gone(ctx: PageCtx) -> Response {
    let mut errors = FieldErrors::new();
    errors.add("code", ctx.t("case.link.gone"));
    let page = LinkPage {
        ctx,
        token: String::new(),
        code: String::new(),
        action: None,
        organisation: String::new(),
        done: false,
        errors,
        statuses: ActionStatus::ALL,
    };
    render_status(StatusCode::NOT_FOUND, &page)
}

/// GET /action-link/{token}
pub async fn link_form(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    if !app::link_live(&state, &token).await? {
        return Ok(gone(ctx));
    }
    Ok(render(&LinkPage {
        ctx,
        token,
        code: String::new(),
        action: None,
        organisation: String::new(),
        done: false,
        errors: FieldErrors::new(),
        statuses: ActionStatus::ALL,
    }))
}

/// The link form: the code, then the answer.
#[derive(Deserialize, Default)]
pub struct LinkForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    result: String,
}

/// POST /action-link/{token}
pub async fn link_visit(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>, Form(form): Form<LinkForm>) -> AppResult<Response> {
    match app::link_visit(&state, ctx.lang, &token, &form.code, &form.status, &form.result).await? {
        LinkVisit::Gone => Ok(gone(ctx)),
        LinkVisit::WrongCode => {
            let mut errors = FieldErrors::new();
            errors.add("code", ctx.t("case.link.wrong_code"));
            let page =
                LinkPage { ctx, token, code: String::new(), action: None, organisation: String::new(), done: false, errors, statuses: ActionStatus::ALL };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        LinkVisit::Opened { action, organisation, done, errors } => {
            let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            let page =
                LinkPage { ctx, token, code: form.code.trim().to_owned(), action: Some(*action), organisation, done, errors, statuses: ActionStatus::ALL };
            Ok(render_status(status, &page))
        }
    }
}
