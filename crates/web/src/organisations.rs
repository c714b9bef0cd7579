//! Organisations: list, creation by the instance administrator, the
//! organisation page with its accounts, teams and invitations.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{Action, EmailAddress, OrganisationId, Resource, ResourceKind, Role};
use veille_storage::accounts::Account;
use veille_storage::organisations::{self, Organisation};
use veille_storage::teams::{self, Team};
use veille_storage::{accounts, audit};

use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

/// The access-control description of an organisation.
pub fn resource(org: &Organisation) -> Resource {
    Resource::new(ResourceKind::Organisation).owned_by(org.id)
}

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

/// Organisation creation form.
#[derive(Deserialize, Default, Clone)]
pub struct CreateInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    coordinating: Option<String>,
}

async fn visible(state: &AppState, who: &Authenticated) -> AppResult<Vec<Organisation>> {
    Ok(organisations::list(&state.db)
        .await?
        .into_iter()
        .filter(|o| who.can(Action::Read, &resource(o)).allowed)
        .collect())
}

/// GET /organisations
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let organisations = visible(&state, &who).await?;
    let can_create = who.can(Action::Create, &Resource::new(ResourceKind::Organisation)).allowed;
    Ok(render(&ListPage { ctx, organisations, can_create, kinds: organisations::KINDS.to_vec(), form: CreateInput::default(), errors: FieldErrors::new() }))
}

/// POST /organisations
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<CreateInput>) -> AppResult<Response> {
    who.require(Action::Create, &Resource::new(ResourceKind::Organisation))?;
    let mut errors = FieldErrors::new();
    let name = input.name.trim();
    if name.chars().count() < 2 || name.chars().count() > 120 {
        errors.add("name", ctx.t("organisation.name_invalid"));
    }
    if !organisations::KINDS.contains(&input.kind.as_str()) {
        errors.add("kind", ctx.t("form.choose_one"));
    }
    if errors.is_empty() {
        let now = state.clock.now();
        let mut tx = state.db.begin().await?;
        match organisations::create(&mut tx, name, &input.kind, input.coordinating.is_some(), now).await {
            Ok(org) => {
                audit::append(&mut tx, entry(&who, "create", &org, now)).await?;
                tx.commit().await?;
                state.reports_cache.invalidate();
                return Ok(see_other(&format!("/organisations/{}", org.id)));
            }
            Err(e) if e.is_conflict_on("name") => errors.add("name", ctx.t("organisation.name_taken")),
            Err(e) => return Err(e.into()),
        }
    }
    let organisations = visible(&state, &who).await?;
    Ok(render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ListPage { ctx, organisations, can_create: true, kinds: organisations::KINDS.to_vec(), form: input, errors },
    ))
}

fn entry<'a>(who: &Authenticated, action: &'a str, org: &Organisation, now: veille_domain::Timestamp) -> audit::NewEntry<'a> {
    audit::NewEntry {
        at: now,
        actor_user: Some(who.account.id),
        actor_organisation: Some(who.account.organisation),
        action,
        record_kind: "organisation",
        record_id: Some(org.id.to_string()),
        record_organisation: Some(org.id),
        detail: serde_json::json!({}),
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
}

/// Invitation form.
#[derive(Deserialize, Default, Clone)]
pub struct InviteInput {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
}

/// Team creation form.
#[derive(Deserialize, Default, Clone)]
pub struct TeamInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
}

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
    let account_resource = Resource::new(ResourceKind::Account).owned_by(org.id);
    let members = if who.can(Action::Read, &account_resource).allowed {
        accounts::list(&state.db, Some(org.id)).await?
    } else {
        Vec::new()
    };
    let team_resource = Resource::new(ResourceKind::Team).owned_by(org.id);
    let teams = if who.can(Action::Read, &team_resource).allowed { teams::list(&state.db, Some(org.id)).await? } else { Vec::new() };
    let roles = Role::ALL.into_iter().filter(|r| who.account.role == Role::InstanceAdmin || r.assignable_by_org_admin()).collect();
    let panel = who_can_read(&state.db, &resource(&org)).await?;
    Ok(ShowPage {
        ctx,
        can_invite: who.can(Action::Create, &account_resource).allowed,
        can_create_team: who.can(Action::Create, &team_resource).allowed,
        org,
        members,
        teams,
        roles,
        team_kinds: teams::KINDS.to_vec(),
        invite,
        team,
        errors,
        invited,
        panel,
    })
}

async fn load(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<Organisation> {
    let id: OrganisationId = id.parse().map_err(|_| AppError::not_found())?;
    let org = organisations::get(&state.db, id).await?;
    who.require(action, &resource(&org))?;
    Ok(org)
}

/// GET /organisations/{id}
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let org = load(&state, &who, &id, Action::Read).await?;
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
    let org = load(&state, &who, &id, Action::Read).await?;
    who.require(Action::Create, &Resource::new(ResourceKind::Account).owned_by(org.id))?;
    let mut errors = FieldErrors::new();
    let email = EmailAddress::parse(&input.email);
    if email.is_err() {
        errors.add("email", ctx.t("form.email_invalid"));
    }
    let name = input.display_name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        errors.add("display_name", ctx.t("form.required"));
    }
    let role = Role::from_code(&input.role).filter(|r| who.account.role == Role::InstanceAdmin || r.assignable_by_org_admin());
    if role.is_none() {
        errors.add("role", ctx.t("form.choose_one"));
    }
    if let Ok(e) = &email {
        if accounts::by_email(&state.db, e).await?.is_some() {
            errors.add("email", ctx.t("invitation.email_taken"));
        }
    }
    if let (true, Ok(email), Some(role)) = (errors.is_empty(), &email, role) {
        crate::login::send_invitation(&state, &who, org.id, &org.name, email, &name, role, ctx.lang).await?;
        let page = show_page(&state, ctx, &who, org, InviteInput::default(), TeamInput::default(), FieldErrors::new(), true).await?;
        return Ok(render(&page));
    }
    let page = show_page(&state, ctx, &who, org, input, TeamInput::default(), errors, false).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// POST /organisations/{id}/teams
pub async fn create_team(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<TeamInput>,
) -> AppResult<Response> {
    let org = load(&state, &who, &id, Action::Read).await?;
    who.require(Action::Create, &Resource::new(ResourceKind::Team).owned_by(org.id))?;
    let mut errors = FieldErrors::new();
    let name = input.name.trim().to_owned();
    if name.chars().count() < 2 || name.chars().count() > 80 {
        errors.add("team_name", ctx.t("team.name_invalid"));
    }
    if !teams::KINDS.contains(&input.kind.as_str()) {
        errors.add("team_kind", ctx.t("form.choose_one"));
    }
    if errors.is_empty() {
        let now = state.clock.now();
        let mut tx = state.db.begin().await?;
        match teams::create(&mut tx, org.id, &name, &input.kind, now).await {
            Ok(team) => {
                audit::append(
                    &mut tx,
                    who.audit_entry(now, "create", "team", team, org.id),
                )
                .await?;
                tx.commit().await?;
                return Ok(see_other(&format!("/teams/{team}")));
            }
            Err(e) if e.is_conflict_on("name") => errors.add("team_name", ctx.t("team.name_taken")),
            Err(e) => return Err(e.into()),
        }
    }
    let page = show_page(&state, ctx, &who, org, InviteInput::default(), input, errors, false).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
