//! The public side: the report form `/signaler` (no account, phone first) and
//! the follow-up page `/suivi/{token}` (status and public answer only).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::Timestamp;
use veille_storage::reports::{self, Report};

use crate::auth::ClientIp;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, PageCtx};
use crate::AppState;

use super::intake::{self, Choices, FormView, IntakeForm, IntakeInput, Mode};
use super::{Intake, Placement, Received};

#[derive(Template)]
#[template(path = "reports/form.html")]
struct FormPage {
    ctx: PageCtx,
    form: IntakeInput,
    errors: FieldErrors,
    photo_token: Option<String>,
    c: Choices,
}

impl FormPage {
    fn photo_hint(&self) -> String {
        self.ctx.tf("report.photo.hint", &[("max", super::photos::MAX_MEGABYTES)])
    }
}

#[derive(Template)]
#[template(path = "reports/received.html")]
struct ReceivedPage {
    ctx: PageCtx,
    reference: String,
    link: String,
    placement: Placement,
}

impl ReceivedPage {
    fn reference_line(&self) -> String {
        self.ctx.tf("report.received.reference", &[("reference", &self.reference)])
    }
    fn territory_line(&self, name: &str) -> String {
        self.ctx.tf("report.received.in_territory", &[("territory", name)])
    }
}

/// GET /signaler
pub async fn form(ctx: PageCtx) -> AppResult<Response> {
    let form = IntakeInput { source: "public".into(), ..Default::default() };
    Ok(render(&FormPage { ctx, form, errors: FieldErrors::new(), photo_token: None, c: Choices::of(Mode::Public) }))
}

/// Checks the public form; French (or English) messages by field.
pub fn validate(ctx: &PageCtx, input: &IntakeInput) -> Result<Intake, FieldErrors> {
    intake::validate(ctx.lang, input, Mode::Public)
}

/// POST /signaler
pub async fn submit(State(state): State<AppState>, ctx: PageCtx, ClientIp(ip): ClientIp, form: IntakeForm) -> AppResult<Response> {
    if !form.input.website.is_empty() {
        return Err(AppError::bad_request());
    }
    let intake = match intake::check(&state, ctx.lang, form, Mode::Public, FieldErrors::new()).await? {
        Ok(i) => i,
        Err(FormView { form, errors, photo_token }) => {
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &FormPage { ctx, form, errors, photo_token, c: Choices::of(Mode::Public) }))
        }
    };
    let client = crate::security::token_hash(&format!("report-submission:{ip}"));
    let Some(Received { reference, token, placement, .. }) = super::receive(&state, &intake, None, Some(&client)).await? else {
        return Err(AppError::new(ErrorKind::Throttled));
    };
    let link = super::follow_url(&state, &token);
    Ok(render_status(StatusCode::CREATED, &ReceivedPage { ctx, reference, link, placement }))
}

/// What the reporter sees of a report (and staff see as the preview).
#[derive(Clone, Debug)]
pub struct PublicView {
    /// Reference.
    pub reference: String,
    /// Received at.
    pub created_at: Timestamp,
    /// Status code.
    pub status: String,
    /// The public answer (may be empty).
    pub answer: String,
    /// When answered.
    pub answer_at: Option<Timestamp>,
}

impl PublicView {
    /// From a stored report, with the answer as published.
    pub fn of(r: &Report) -> Self {
        Self { reference: r.reference.clone(), created_at: r.created_at, status: r.status.clone(), answer: r.public_answer.clone(), answer_at: r.public_answer_at }
    }
}

#[derive(Template)]
#[template(path = "reports/follow.html")]
struct FollowPage {
    ctx: PageCtx,
    view: PublicView,
    /// The reporter left an e-mail and has not typed the mailed code back yet.
    confirm_needed: bool,
    /// Just confirmed.
    confirmed: bool,
    code: String,
    errors: FieldErrors,
}

async fn by_token(state: &AppState, token: &str) -> AppResult<Report> {
    if token.len() < 20 || token.len() > 100 {
        return Err(AppError::not_found());
    }
    reports::by_token_hash(&state.db, &crate::security::token_hash(token)).await?.ok_or_else(AppError::not_found)
}

/// What the reporter sees: their report, or, once it is attached to a main
/// report as a duplicate, the main report's status and public answer under
/// their own reference.
async fn public_view(state: &AppState, report: &Report) -> AppResult<PublicView> {
    let Some(main) = report.duplicate_of else { return Ok(PublicView::of(report)) };
    let main = reports::get(&state.db, main).await?;
    Ok(PublicView { reference: report.reference.clone(), created_at: report.created_at, ..PublicView::of(&main) })
}

fn follow_page(ctx: PageCtx, report: &Report, view: PublicView, confirmed: bool, code: String, errors: FieldErrors) -> FollowPage {
    let confirm_needed = report.contact_email.is_some() && report.contact_consent && !report.email_confirmed && !confirmed;
    FollowPage { ctx, view, confirm_needed, confirmed, code, errors }
}

/// GET /suivi/{token}
pub async fn follow(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    let report = by_token(&state, &token).await?;
    let view = public_view(&state, &report).await?;
    Ok(render(&follow_page(ctx, &report, view, false, String::new(), FieldErrors::new())))
}

/// The e-mail confirmation form.
#[derive(Deserialize, Default)]
pub struct ConfirmInput {
    #[serde(default)]
    code: String,
}

/// POST /suivi/{token}: the reporter types back the code mailed to them.
pub async fn confirm(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>, Form(input): Form<ConfirmInput>) -> AppResult<Response> {
    let report = by_token(&state, &token).await?;
    let typed: String = input.code.trim().to_ascii_uppercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let matches = report.email_confirm_hash.as_deref().is_some_and(|h| crate::security::same(h, &crate::security::token_hash(&typed)));
    if !matches {
        let mut errors = FieldErrors::new();
        errors.add("code", ctx.t("report.follow.code_invalid"));
        let view = public_view(&state, &report).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &follow_page(ctx, &report, view, false, input.code, errors)));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    reports::confirm_email(&mut tx, report.id, now).await?;
    veille_storage::audit::append(
        &mut tx,
        veille_storage::audit::NewEntry {
            at: now,
            actor_user: None,
            actor_organisation: None,
            action: "update",
            record_kind: "report",
            record_id: Some(report.id.to_string()),
            record_organisation: report.organisation,
            detail: serde_json::json!({"field": "email_confirmed"}),
        },
    )
    .await?;
    tx.commit().await?;
    let view = public_view(&state, &report).await?;
    Ok(render(&follow_page(ctx, &report, view, true, String::new(), FieldErrors::new())))
}
