//! Organisations: the list, creating one (instance administrators), an
//! organisation's page with its members and teams, inviting someone, creating
//! a team.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use veille_app::accounts::{self as app, InviteInput, OrganisationInput as CreateInput, OrganisationView, TeamInput};
use veille_app::on_call::{OnCallInput, OnCallView};
use veille_app::people::protection::Guidance;
use veille_domain::{Action, Role};
use veille_storage::accounts::Account;
use veille_storage::organisations::{self, Organisation};
use veille_storage::teams::{self, Team};

use crate::access_panel::PanelEntry;
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

pub use veille_app::accounts::organisation_resource as resource;

#[derive(Template)]
#[template(path = "organisations.html")]
struct ListPage {
    ctx: PageCtx,
    organisations: Vec<Organisation>,
    can_create: bool,
    kinds: Vec<&'static str>,
    form: CreateInput,
    errors: FieldErrors,
}

/// GET /organisations
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let organisations = app::organisations(&state, &who).await?;
    let can_create = app::may_create_organisation(&who);
    Ok(render(&ListPage { ctx, organisations, can_create, kinds: organisations::KINDS.to_vec(), form: CreateInput::default(), errors: FieldErrors::new() }))
}

/// POST /organisations
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<CreateInput>) -> AppResult<Response> {
    match app::create_organisation(&state, &who, ctx.lang, &input).await? {
        Ok(id) => Ok(see_other(&format!("/organisations/{id}"))),
        Err(errors) => {
            let organisations = app::organisations(&state, &who).await?;
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ListPage { ctx, organisations, can_create: true, kinds: organisations::KINDS.to_vec(), form: input, errors },
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct ShowPage {
    ctx: PageCtx,
    org: Organisation,
    members: Vec<Account>,
    teams: Vec<Team>,
    can_invite: bool,
    can_create_team: bool,
    roles: Vec<Role>,
    team_kinds: Vec<&'static str>,
    invite: InviteInput,
    team: TeamInput,
    errors: FieldErrors,
    invited: bool,
    panel: Vec<PanelEntry>,
    child_protection: String,
    can_set_child_protection: bool,
    safety_rules: String,
    on_call: Option<OnCallView>,
    on_call_form: OnCallInput,
}

impl ShowPage {
    fn when(&self, slot: &veille_domain::on_call::OnCallSlot) -> String {
        veille_app::on_call::when_label(self.ctx.lang, slot)
    }
    fn day(&self, d: &str) -> String {
        self.ctx.label("on_call.day", format!("d{d}"))
    }
}

#[allow(clippy::too_many_arguments)]
async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    org: Organisation,
    invite: InviteInput,
    team: TeamInput,
    errors: FieldErrors,
    invited: bool,
) -> AppResult<ShowPage> {
    let org_id = org.id;
    let OrganisationView { org, members, teams, can_invite, can_create_team, roles, panel, child_protection, safety_rules, can_set_child_protection } =
        app::organisation_view(state, who, org).await?;
    Ok(ShowPage {
        ctx,
        org,
        members,
        teams,
        can_invite,
        can_create_team,
        roles,
        team_kinds: teams::KINDS.to_vec(),
        invite,
        team,
        errors,
        invited,
        panel,
        child_protection,
        safety_rules,
        can_set_child_protection,
        on_call: veille_app::on_call::view(state, who, org_id).await?,
        on_call_form: OnCallInput::default(),
    })
}

/// GET /organisations/{id}
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let org = app::organisation(&state, &who, &id, Action::Read).await?;
    let page = show_page(&state, ctx, &who, org, InviteInput::default(), TeamInput::default(), FieldErrors::new(), false).await?;
    Ok(render(&page))
}

/// POST /organisations/{id}/invitations
pub async fn invite(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<InviteInput>,
) -> AppResult<Response> {
    let org = app::organisation(&state, &who, &id, Action::Read).await?;
    match app::invite(&state, &who, ctx.lang, &org, &input).await? {
        Ok(()) => {
            let page = show_page(&state, ctx, &who, org, InviteInput::default(), TeamInput::default(), FieldErrors::new(), true).await?;
            Ok(render(&page))
        }
        Err(errors) => {
            let page = show_page(&state, ctx, &who, org, input, TeamInput::default(), errors, false).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// POST /organisations/{id}/teams
pub async fn create_team(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<TeamInput>,
) -> AppResult<Response> {
    let org = app::organisation(&state, &who, &id, Action::Read).await?;
    match app::create_team(&state, &who, ctx.lang, &org, &input).await? {
        Ok(team) => Ok(see_other(&format!("/teams/{team}"))),
        Err(errors) => {
            let page = show_page(&state, ctx, &who, org, InviteInput::default(), input, errors, false).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// A guidance as typed: the child-protection guidance or the team safety rules (empty: the default).
#[derive(serde::Deserialize, Default)]
pub struct ChildProtectionInput {
    /// The child-protection guidance.
    #[serde(default)]
    pub child_protection: Option<String>,
    /// The team safety rules.
    #[serde(default)]
    pub safety_rules: Option<String>,
}

/// POST /organisations/{id}/child-protection
pub async fn set_child_protection(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<ChildProtectionInput>,
) -> AppResult<Response> {
    set_guidance(&state, ctx, &who, &id, Guidance::ChildProtection, input.child_protection.as_deref().unwrap_or_default()).await
}

/// POST /organisations/{id}/safety-rules
pub async fn set_safety_rules(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<ChildProtectionInput>,
) -> AppResult<Response> {
    set_guidance(&state, ctx, &who, &id, Guidance::SafetyRules, input.safety_rules.as_deref().unwrap_or_default()).await
}

async fn set_guidance(state: &AppState, ctx: PageCtx, who: &Authenticated, id: &str, kind: Guidance, text: &str) -> AppResult<Response> {
    let org = app::organisation(state, who, id, Action::Read).await?;
    let anchor = if kind == Guidance::SafetyRules { "safety-rules" } else { "child-protection" };
    match veille_app::people::protection::set_guidance(state, who, ctx.lang, &org, kind, text).await? {
        Ok(()) => Ok(see_other(&format!("/organisations/{}#{anchor}", org.id))),
        Err(errors) => {
            let page = show_page(state, ctx, who, org, InviteInput::default(), TeamInput::default(), errors, false).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// POST /organisations/{id}/on-call
pub async fn add_on_call(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<OnCallInput>,
) -> AppResult<Response> {
    let org = app::organisation(&state, &who, &id, Action::Read).await?;
    match veille_app::on_call::add(&state, &who, ctx.lang, &org, &input).await? {
        Ok(_) => Ok(see_other(&format!("/organisations/{}#on-call", org.id))),
        Err(errors) => {
            let mut page = show_page(&state, ctx, &who, org, InviteInput::default(), TeamInput::default(), errors, false).await?;
            page.on_call_form = input;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// The entry to take off the on-call list.
#[derive(serde::Deserialize, Default)]
pub struct RemoveOnCall {
    #[serde(default)]
    entry_id: String,
}

/// POST /organisations/{id}/on-call/remove
pub async fn remove_on_call(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(input): Form<RemoveOnCall>) -> AppResult<Response> {
    let org = app::organisation(&state, &who, &id, Action::Read).await?;
    veille_app::on_call::remove(&state, &who, &org, &input.entry_id).await?;
    Ok(see_other(&format!("/organisations/{}#on-call", org.id)))
}
