//! The routing table, edited by the instance administrator: territory (or
//! any) × situation type (or any) × level (or any) → team. A report no rule matches goes to the
//! coordinating organisation's triage queue.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;
use veille_domain::{Action, Resource, ResourceKind, TeamId, TerritoryId};
use veille_storage::reports::{self, RoutingRule};
use veille_storage::teams::{self, Team};
use veille_storage::territories::{self, Territory};
use veille_storage::{audit, organisations};

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

/// A rule as shown.
pub struct Line {
    rule: RoutingRule,
    territory: String,
    team: String,
}

#[derive(Template)]
#[template(path = "reports/routing.html")]
struct RoutingPage {
    ctx: PageCtx,
    lines: Vec<Line>,
    territories: Vec<Territory>,
    teams: Vec<(Team, String)>,
    situations: Vec<&'static str>,
    form: RuleInput,
    errors: FieldErrors,
}

/// New rule form.
#[derive(Deserialize, Default, Clone)]
pub struct RuleInput {
    #[serde(default)]
    territory: String,
    #[serde(default)]
    situation: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    team: String,
}

fn instance() -> Resource {
    Resource::new(ResourceKind::Instance)
}

async fn page(state: &AppState, ctx: PageCtx, form: RuleInput, errors: FieldErrors) -> AppResult<RoutingPage> {
    let territories = territories::list(&state.db).await?;
    let orgs = organisations::list(&state.db).await?;
    let teams: Vec<(Team, String)> = teams::list(&state.db, None)
        .await?
        .into_iter()
        .map(|t| {
            let org = orgs.iter().find(|o| o.id == t.organisation).map(|o| o.name.clone()).unwrap_or_default();
            (t, org)
        })
        .collect();
    let lines = reports::routing_rules(&state.db)
        .await?
        .into_iter()
        .map(|rule| Line {
            territory: rule
                .territory
                .and_then(|id| territories.iter().find(|t| t.id == id))
                .map(|t| format!("{} · {}", t.code, t.name))
                .unwrap_or_default(),
            team: teams.iter().find(|(t, _)| t.id == rule.team).map(|(t, o)| format!("{} · {o}", t.name)).unwrap_or_default(),
            rule,
        })
        .collect();
    Ok(RoutingPage { ctx, lines, territories, teams, situations: reports::SITUATIONS.to_vec(), form, errors })
}

/// GET /reports/routing
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    who.require(Action::Update, &instance())?;
    Ok(render(&page(&state, ctx, RuleInput::default(), FieldErrors::new()).await?))
}

/// POST /reports/routing
pub async fn add(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<RuleInput>) -> AppResult<Response> {
    who.require(Action::Update, &instance())?;
    let mut errors = FieldErrors::new();
    let territory = match input.territory.as_str() {
        "" => None,
        t => match t.parse::<TerritoryId>() {
            Ok(id) if territories::get(&state.db, id).await.is_ok() => Some(id),
            _ => {
                errors.add("territory", ctx.t("form.choose_one"));
                None
            }
        },
    };
    let situation = match input.situation.as_str() {
        "" => None,
        s if reports::SITUATIONS.contains(&s) => Some(s),
        _ => {
            errors.add("situation", ctx.t("form.choose_one"));
            None
        }
    };
    let level = match input.level.as_str() {
        "" => None,
        "1" => Some(1),
        "2" => Some(2),
        _ => {
            errors.add("level", ctx.t("form.choose_one"));
            None
        }
    };
    let team = match input.team.parse::<TeamId>() {
        Ok(id) if teams::get(&state.db, id).await.is_ok() => Some(id),
        _ => {
            errors.add("team", ctx.t("form.choose_one"));
            None
        }
    };
    let Some(team) = team.filter(|_| errors.is_empty()) else {
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(&state, ctx, input, errors).await?));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = reports::add_routing_rule(&mut tx, territory, situation, level, team, now).await?;
    audit::append(
        &mut tx,
        audit::NewEntry {
            at: now,
            actor_user: Some(who.account.id),
            actor_organisation: Some(who.account.organisation),
            action: "create",
            record_kind: "routing_rule",
            record_id: Some(id.to_string()),
            record_organisation: None,
            detail: serde_json::json!({"territory": territory.map(|t| t.to_string()), "situation": situation, "level": level, "team": team.to_string()}),
        },
    )
    .await?;
    tx.commit().await?;
    state.reports_cache.invalidate();
    Ok(see_other("/reports/routing"))
}

/// Empty form of the delete button.
#[derive(Deserialize, Default)]
pub struct DeleteInput {}

/// POST /reports/routing/{id}/delete
pub async fn delete(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<DeleteInput>) -> AppResult<Response> {
    who.require(Action::Update, &instance())?;
    let id: Uuid = id.parse().map_err(|_| AppError::not_found())?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    reports::delete_routing_rule(&mut tx, id).await?;
    audit::append(
        &mut tx,
        audit::NewEntry {
            at: now,
            actor_user: Some(who.account.id),
            actor_organisation: Some(who.account.organisation),
            action: "delete",
            record_kind: "routing_rule",
            record_id: Some(id.to_string()),
            record_organisation: None,
            detail: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    state.reports_cache.invalidate();
    Ok(see_other("/reports/routing"))
}
