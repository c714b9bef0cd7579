//! The JSON API of cases. Same validation, access and audit as the pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use veille_app::cases::{self as app, ActionLink, ActionPlanInput, CaseInput, CloseInput};
use veille_app::shelter::input::ActionInput;
use veille_app::shelter::FollowUp;
use veille_domain::shelter::Night;
use veille_storage::cases::Case;

use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::page::PageCtx;
use crate::AppState;

/// A case as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct CaseView {
    id: String,
    organisation_id: String,
    territory_id: Option<String>,
    title: String,
    origin: String,
    origin_id: Option<String>,
    status: String,
    outcome: Option<String>,
    review_on: Option<Night>,
    created_at: String,
    version: i64,
}

impl From<&Case> for CaseView {
    fn from(c: &Case) -> Self {
        Self {
            id: c.id.to_string(),
            organisation_id: c.organisation.to_string(),
            territory_id: c.territory.map(|t| t.to_string()),
            title: c.title.clone(),
            origin: c.origin.code().into(),
            origin_id: c.origin_id.clone(),
            status: c.status.clone(),
            outcome: c.outcome.map(|o| o.code().to_owned()),
            review_on: c.review_on,
            created_at: c.created_at.to_rfc3339(),
            version: c.version,
        }
    }
}

/// A member of a case's team.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MemberView {
    user_id: String,
    name: String,
    organisation_id: String,
    organisation: String,
}

/// A follow-up action (of a case's plan or a dwelling check).
#[derive(Serialize, schemars::JsonSchema)]
pub struct ActionView {
    id: String,
    /// The case whose plan it belongs to.
    case_id: Option<String>,
    /// Whether its deadline is past and it is still open.
    overdue: bool,
    title: String,
    owner_organisation_id: Option<String>,
    owner_name: String,
    due_on: Option<Night>,
    status: String,
    result: String,
    has_link: bool,
    version: i64,
}

impl ActionView {
    fn of(a: &FollowUp, today: Night) -> Self {
        ActionView {
            id: a.id.to_string(),
            case_id: a.case.map(|c| c.to_string()),
            overdue: a.status.open() && a.due_on.is_some_and(|d| d < today),
            title: a.title.clone(),
            owner_organisation_id: a.owner.map(|o| o.to_string()),
            owner_name: a.owner_name.clone(),
            due_on: a.due_on,
            status: a.status.code().into(),
            result: a.result.clone(),
            has_link: a.has_link,
            version: a.version,
        }
    }
}

/// An evaluation.
#[derive(Serialize, schemars::JsonSchema)]
pub struct EvaluationView {
    domain: String,
    body: String,
    author: String,
    at: String,
}

/// A case with its team, evaluations (those the caller may read) and plan.
#[derive(Serialize, schemars::JsonSchema)]
pub struct CaseDetail {
    case: CaseView,
    team: Vec<MemberView>,
    evaluations: Vec<EvaluationView>,
    actions: Vec<ActionView>,
}

/// An action added, with its partner link shown once.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ActionAdded {
    id: String,
    link: Option<ActionLink>,
}

/// GET /api/v1/cases
pub async fn list(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<CaseView> = app::list(&state, &who, false).await?.iter().map(CaseView::from).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/cases
pub async fn open(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<CaseInput>) -> AppResult<Response> {
    match app::open(&state, &who, ctx.lang, &input).await? {
        Ok(c) => Ok((StatusCode::CREATED, Json(CaseView::from(&c))).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/cases/{id} (an audited read)
pub async fn show(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let p = app::read(&state, &who, &id, "api").await?;
    let body = CaseDetail {
        case: CaseView::from(&p.case),
        team: p
            .members
            .iter()
            .map(|(u, n, o, on)| MemberView { user_id: u.to_string(), name: n.clone(), organisation_id: o.to_string(), organisation: on.clone() })
            .collect(),
        evaluations: p
            .evaluations
            .iter()
            .map(|e| EvaluationView { domain: e.domain.code().into(), body: e.body.clone(), author: e.author.clone(), at: e.at.to_rfc3339() })
            .collect(),
        actions: p.actions.iter().map(|a| ActionView::of(a, veille_app::shelter::tonight(&state))).collect(),
    };
    Ok(Json(body).into_response())
}

/// POST /api/v1/cases/{id}/actions
pub async fn add_action(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ActionPlanInput>,
) -> AppResult<Response> {
    let c = app::load(&state, &who, &id, veille_domain::Action::Update).await?;
    match app::add_action(&state, &who, ctx.lang, &c, &input).await? {
        Ok((id, link)) => Ok((StatusCode::CREATED, Json(ActionAdded { id: id.to_string(), link })).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// POST /api/v1/cases/{id}/close
pub async fn close(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<CloseInput>,
) -> AppResult<Response> {
    let c = app::load(&state, &who, &id, veille_domain::Action::Read).await?;
    match app::close(&state, &who, ctx.lang, &c, &input.outcome, &input.version).await? {
        Ok(()) => {
            let c = app::load(&state, &who, &id, veille_domain::Action::Read).await?;
            Ok(Json(CaseView::from(&c)).into_response())
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/actions
pub async fn actions(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let today = veille_app::shelter::tonight(&state);
    let out: Vec<ActionView> = app::open_actions(&state, &who).await?.iter().map(|a| ActionView::of(a, today)).collect();
    Ok(Json(out).into_response())
}

/// GET /api/v1/actions/{id}
pub async fn action(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let a = app::read_action(&state, &who, &id).await?;
    Ok(Json(ActionView::of(&a, veille_app::shelter::tonight(&state))).into_response())
}

/// POST /api/v1/actions/{id}/status
pub async fn set_action_status(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ActionInput>,
) -> AppResult<Response> {
    let a = veille_app::shelter::housing::load_action(&state, &who, &id).await?;
    match veille_app::shelter::housing::set_action(&state, &who, ctx.lang, &a, &input).await? {
        Ok(a) => Ok(Json(ActionView::of(&a, veille_app::shelter::tonight(&state))).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}
