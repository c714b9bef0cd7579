//! The JSON API of meetings and escalations. Same validation, access and audit as the pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use veille_app::cases::ActionLink;
use veille_app::escalations::{self as esc, EscalationInput, ResolveInput};
use veille_app::meetings::{self as app, AgendaInput, AttendeeInput, HoldInput, ItemInput, MeetingInput};
use veille_domain::Action;
use veille_storage::meetings::{Escalation, Meeting};

use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::page::PageCtx;
use crate::AppState;

/// A meeting as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MeetingView {
    id: String,
    organisation_id: String,
    kind: String,
    title: String,
    place: String,
    starts_at: String,
    ends_at: String,
    theme: String,
    status: String,
    evaluation: String,
    version: i64,
}

impl From<&Meeting> for MeetingView {
    fn from(m: &Meeting) -> Self {
        Self {
            id: m.id.to_string(),
            organisation_id: m.organisation.to_string(),
            kind: m.kind.code().into(),
            title: m.title.clone(),
            place: m.place.clone(),
            starts_at: m.starts_at.to_rfc3339(),
            ends_at: m.ends_at.to_rfc3339(),
            theme: m.theme.clone(),
            status: m.status.clone(),
            evaluation: m.evaluation.clone(),
            version: m.version,
        }
    }
}

/// An attendee as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct AttendeeView {
    name: String,
    user_id: Option<String>,
    public: Option<String>,
    count: i64,
}

/// An agenda item as the caller may read it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ItemView {
    id: String,
    case_id: Option<String>,
    /// The case's title, or the topic; null for a case the caller may not read.
    title: Option<String>,
    notes: Option<String>,
    decision: Option<String>,
    action_id: Option<String>,
}

/// A meeting with its attendees and agenda.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MeetingDetail {
    meeting: MeetingView,
    attendees: Vec<AttendeeView>,
    agenda: Vec<ItemView>,
}

/// What recording an item gave: the partner's link, shown once, when its decision became an action for a partner without accounts.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Recorded {
    link: Option<ActionLink>,
}

/// GET /api/v1/meetings
pub async fn list(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<MeetingView> = app::list(&state, &who, false).await?.iter().map(MeetingView::from).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/meetings
pub async fn plan(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<MeetingInput>) -> AppResult<Response> {
    match app::plan(&state, &who, ctx.lang, &input).await? {
        Ok(id) => {
            let (m, _) = app::load(&state, &who, &id.to_string(), Action::Read).await?;
            Ok((StatusCode::CREATED, Json(MeetingView::from(&m))).into_response())
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

async fn detail(state: &AppState, who: &Authenticated, id: &str) -> AppResult<Response> {
    let p = app::read(state, who, id).await?;
    let body = MeetingDetail {
        meeting: MeetingView::from(&p.meeting),
        attendees: p
            .attendees
            .iter()
            .map(|a| AttendeeView {
                name: a.name.clone(),
                user_id: a.user.map(|u| u.to_string()),
                public: a.public.map(|x| x.code().to_owned()),
                count: a.count,
            })
            .collect(),
        agenda: p
            .agenda
            .iter()
            .map(|v| ItemView {
                id: v.item.id.to_string(),
                case_id: if v.withheld { None } else { v.item.case.map(|c| c.to_string()) },
                title: if v.withheld { None } else { Some(v.case_title.clone().unwrap_or_else(|| v.item.topic.clone())) },
                notes: (!v.withheld).then(|| v.item.notes.clone()),
                decision: (!v.withheld).then(|| v.item.decision.clone()),
                action_id: if v.withheld { None } else { v.item.action.map(|a| a.to_string()) },
            })
            .collect(),
    };
    Ok(Json(body).into_response())
}

/// GET /api/v1/meetings/{id} (an audited read)
pub async fn show(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    detail(&state, &who, &id).await
}

/// POST /api/v1/meetings/{id}/attendees
pub async fn add_attendee(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<AttendeeInput>,
) -> AppResult<Response> {
    let (m, _) = app::load(&state, &who, &id, Action::Update).await?;
    match app::add_attendee(&state, &who, ctx.lang, &m, &input).await? {
        Ok(()) => detail(&state, &who, &id).await,
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// POST /api/v1/meetings/{id}/record
pub async fn record_item(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ItemInput>,
) -> AppResult<Response> {
    let (m, _) = app::load(&state, &who, &id, Action::Update).await?;
    match app::record_item(&state, &who, ctx.lang, &m, &input).await? {
        Ok(link) => Ok(Json(Recorded { link }).into_response()),
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// POST /api/v1/meetings/{id}/items
pub async fn add_item(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<AgendaInput>,
) -> AppResult<Response> {
    let (m, _) = app::load(&state, &who, &id, Action::Update).await?;
    match app::add_item(&state, &who, ctx.lang, &m, &input.case_id, &input.topic).await? {
        Ok(()) => detail(&state, &who, &id).await,
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// POST /api/v1/meetings/{id}/held
pub async fn hold(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<HoldInput>,
) -> AppResult<Response> {
    let (m, _) = app::load(&state, &who, &id, Action::Update).await?;
    match app::hold(&state, &who, ctx.lang, &m, &input.evaluation, &input.version).await? {
        Ok(()) => detail(&state, &who, &id).await,
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// How many attendees the minutes were mailed to.
#[derive(Serialize, schemars::JsonSchema)]
pub struct MinutesSent {
    sent: usize,
}

/// POST /api/v1/meetings/{id}/minutes
pub async fn send_minutes(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (m, attendees) = app::load(&state, &who, &id, Action::Update).await?;
    let sent = app::send_minutes(&state, &who, &m, &attendees).await?;
    Ok(Json(MinutesSent { sent }).into_response())
}

/// A critical situation as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct EscalationView {
    id: String,
    kind: String,
    summary: String,
    level: i64,
    raised_at: String,
    ack_due_at: String,
    acknowledged_at: Option<String>,
    resolved_at: Option<String>,
}

impl From<&Escalation> for EscalationView {
    fn from(e: &Escalation) -> Self {
        Self {
            id: e.id.to_string(),
            kind: e.kind.code().into(),
            summary: e.summary.clone(),
            level: e.level,
            raised_at: e.raised_at.to_rfc3339(),
            ack_due_at: e.ack_due_at.to_rfc3339(),
            acknowledged_at: e.acknowledged_at.map(|t| t.to_rfc3339()),
            resolved_at: e.resolved_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// A critical situation with who was alerted, at which level.
#[derive(Serialize, schemars::JsonSchema)]
pub struct EscalationDetail {
    escalation: EscalationView,
    recipients: Vec<RecipientView>,
    resolution: String,
}

/// A person alerted.
#[derive(Serialize, schemars::JsonSchema)]
pub struct RecipientView {
    name: String,
    level: i64,
}

async fn escalation_detail(state: &AppState, e: &Escalation) -> AppResult<Response> {
    let recipients = esc::recipients(state, e).await?.into_iter().map(|(name, level)| RecipientView { name, level }).collect();
    Ok(Json(EscalationDetail { escalation: EscalationView::from(e), recipients, resolution: e.resolution.clone() }).into_response())
}

/// GET /api/v1/escalations/{id}
pub async fn escalation(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let e = esc::load(&state, &who, &id).await?;
    escalation_detail(&state, &e).await
}

/// POST /api/v1/escalations/{id}/acknowledge
pub async fn acknowledge(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let e = esc::load(&state, &who, &id).await?;
    esc::acknowledge(&state, &who, &e).await?;
    let e = esc::load(&state, &who, &id).await?;
    escalation_detail(&state, &e).await
}

/// POST /api/v1/escalations/{id}/resolve
pub async fn resolve(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ResolveInput>,
) -> AppResult<Response> {
    let e = esc::load(&state, &who, &id).await?;
    match esc::resolve(&state, &who, ctx.lang, &e, &input.resolution).await? {
        Ok(()) => {
            let e = esc::load(&state, &who, &id).await?;
            escalation_detail(&state, &e).await
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}

/// GET /api/v1/escalations
pub async fn escalations(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let out: Vec<EscalationView> = esc::open(&state, &who).await?.iter().map(EscalationView::from).collect();
    Ok(Json(out).into_response())
}

/// POST /api/v1/escalations
pub async fn raise(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(input): JsonBody<EscalationInput>) -> AppResult<Response> {
    match esc::raise(&state, &who, ctx.lang, &input).await? {
        Ok(id) => {
            let e = esc::load(&state, &who, &id.to_string()).await?;
            Ok((StatusCode::CREATED, Json(EscalationView::from(&e))).into_response())
        }
        Err(errors) => Ok(invalid(ctx.lang, &errors)),
    }
}
