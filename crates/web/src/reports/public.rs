//! The public side: the report form `/signaler` (no account, phone first) and
//! the follow-up page `/suivi/{token}` (status and public answer only).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::auth::ClientIp;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, PageCtx};
use crate::AppState;

use super::intake::{Choices, IntakeForm, IntakeInput, Mode, Refused};
use veille_app::reports::public::{Follow, PublicView};
use veille_app::reports::{photos, Placement, Received};

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
        self.ctx.tf("report.photo.hint", &[("max", photos::MAX_MEGABYTES)])
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

/// POST /signaler
pub async fn submit(State(state): State<AppState>, ctx: PageCtx, ClientIp(ip): ClientIp, form: IntakeForm) -> AppResult<Response> {
    match veille_app::reports::intake::submit_public(&state, ctx.lang, &ip, form.input, form.file).await? {
        Ok(Received { reference, follow_url, placement, .. }) => {
            Ok(render_status(StatusCode::CREATED, &ReceivedPage { ctx, reference, link: follow_url, placement }))
        }
        Err(Refused { form, errors, photo_token }) => {
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &FormPage { ctx, form, errors, photo_token, c: Choices::of(Mode::Public) }))
        }
    }
}

#[derive(Template)]
#[template(path = "reports/follow.html")]
struct FollowPage {
    ctx: PageCtx,
    view: PublicView,
    confirm_needed: bool,
    confirmed: bool,
    code: String,
    errors: FieldErrors,
}

/// GET /suivi/{token}
pub async fn follow(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    let Follow { view, confirm_needed } = veille_app::reports::public::follow(&state, &token).await?;
    Ok(render(&FollowPage { ctx, view, confirm_needed, confirmed: false, code: String::new(), errors: FieldErrors::new() }))
}

/// The code form.
#[derive(Deserialize, Default)]
pub struct ConfirmInput {
    #[serde(default)]
    code: String,
}

/// POST /suivi/{token}: confirms the reporter's e-mail with the mailed code.
pub async fn confirm(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>, Form(input): Form<ConfirmInput>) -> AppResult<Response> {
    match veille_app::reports::public::confirm(&state, ctx.lang, &token, &input.code).await? {
        Ok(Follow { view, .. }) => {
            Ok(render(&FollowPage { ctx, view, confirm_needed: false, confirmed: true, code: String::new(), errors: FieldErrors::new() }))
        }
        Err((Follow { view, confirm_needed }, errors)) => {
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &FollowPage { ctx, view, confirm_needed, confirmed: false, code: input.code, errors }))
        }
    }
}
