//! The routing table, edited by the instance administrator: territory (or
//! any) × situation type (or any) × level (or any) → team. A report no rule
//! matches goes to the coordinating organisation's triage queue. A change
//! moves the intake lookups' version in the database: this instance reloads
//! at once, the others within a second (`reports::Cache::CHECK`).

use serde::Deserialize;
use veille_domain::reports::{RoutingRule, SITUATIONS};
use veille_domain::{Action, Resource, ResourceKind, RoutingRuleId, TeamId, TerritoryId};
use veille_storage::teams::{self, Team};
use veille_storage::territories::{self, Territory};
use veille_storage::{audit, organisations, reports};

use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

/// A rule as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct RuleInput {
    /// Territory id, or empty for any.
    #[serde(default)]
    pub territory: String,
    /// Situation type, or empty for any.
    #[serde(default)]
    pub situation: String,
    /// Level (1, 2), or empty for any.
    #[serde(default)]
    pub level: String,
    /// Team id.
    #[serde(default)]
    pub team: String,
}

/// A rule with what the page shows of it.
#[derive(Clone, Debug)]
pub struct Line {
    /// The rule.
    pub rule: RoutingRule,
    /// "75118 · Paris 18e", or empty for any.
    pub territory: String,
    /// "Maraude du soir · Ville".
    pub team: String,
}

/// The routing table and what its form offers.
#[derive(Clone, Debug)]
pub struct Table {
    /// The rules.
    pub lines: Vec<Line>,
    /// Every territory.
    pub territories: Vec<Territory>,
    /// Every team, with its organisation's name.
    pub teams: Vec<(Team, String)>,
    /// Situation types.
    pub situations: Vec<&'static str>,
}

fn instance() -> Resource {
    Resource::new(ResourceKind::Instance)
}

/// The routing table (instance administrators).
pub async fn table(app: &App, who: &Caller) -> Result<Table> {
    who.require(Action::Update, &instance())?;
    let territories = territories::list(&app.db).await?;
    let orgs = organisations::list(&app.db).await?;
    let teams: Vec<(Team, String)> = teams::list(&app.db, None)
        .await?
        .into_iter()
        .map(|t| {
            let org = orgs.iter().find(|o| o.id == t.organisation).map(|o| o.name.clone()).unwrap_or_default();
            (t, org)
        })
        .collect();
    let lines = reports::routing_rules(&app.db)
        .await?
        .into_iter()
        .map(|rule| Line {
            territory: rule.territory.and_then(|id| territories.iter().find(|t| t.id == id)).map(|t| format!("{} · {}", t.code, t.name)).unwrap_or_default(),
            team: teams.iter().find(|(t, _)| t.id == rule.team).map(|(t, o)| format!("{} · {o}", t.name)).unwrap_or_default(),
            rule,
        })
        .collect();
    Ok(Table { lines, territories, teams, situations: SITUATIONS.to_vec() })
}

/// Adds a rule.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add(app: &App, who: &Caller, lang: Lang, input: &RuleInput) -> Result<std::result::Result<RoutingRuleId, FieldErrors>> {
    who.require(Action::Update, &instance())?;
    let mut errors = FieldErrors::new();
    let territory = match input.territory.trim() {
        "" => None,
        t => match t.parse::<TerritoryId>() {
            Ok(id) if territories::get(&app.db, id).await.is_ok() => Some(id),
            _ => {
                errors.add("territory", lang.t("form.choose_one"));
                None
            }
        },
    };
    let situation = match input.situation.trim() {
        "" => None,
        s if SITUATIONS.contains(&s) => Some(s),
        _ => {
            errors.add("situation", lang.t("form.choose_one"));
            None
        }
    };
    let level = match input.level.trim() {
        "" => None,
        "1" => Some(1),
        "2" => Some(2),
        _ => {
            errors.add("level", lang.t("form.choose_one"));
            None
        }
    };
    let team = match input.team.trim().parse::<TeamId>() {
        Ok(id) if teams::get(&app.db, id).await.is_ok() => Some(id),
        _ => {
            errors.add("team", lang.t("form.choose_one"));
            None
        }
    };
    let Some(team) = team.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = reports::add_routing_rule(&mut tx, territory, situation, level, team, now).await?;
    let detail = serde_json::json!({"territory": territory.map(|t| t.to_string()), "situation": situation, "level": level, "team": team.to_string()});
    audit::append(&mut tx, audit::NewEntry::about(now, Some(who.author()), "create", "routing_rule", Some(id.to_string()), None).with_detail(detail)).await?;
    tx.commit().await?;
    crate::reports::lookups_changed(app).await?;
    Ok(Ok(id))
}

/// Removes a rule.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn delete(app: &App, who: &Caller, id: &str) -> Result<()> {
    who.require(Action::Update, &instance())?;
    let id: RoutingRuleId = id.parse().map_err(|_| Error::not_found())?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    reports::delete_routing_rule(&mut tx, id).await?;
    audit::append(&mut tx, audit::NewEntry::about(now, Some(who.author()), "delete", "routing_rule", Some(id.to_string()), None)).await?;
    tx.commit().await?;
    crate::reports::lookups_changed(app).await?;
    Ok(())
}
