//! Round pages: the list (overdue, today, planned, recent) with the planning
//! form, the round itself on a phone (check-in, stops, distributions,
//! incidents, check-out), the printable daily report, and the catalogue.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{Action, ItemId, Role, SiteId, Timestamp, UserId};
use veille_storage::rounds::{self, Distribution, Incident, Item, Round, Slot, INCIDENT_KINDS, ITEM_CATEGORIES};
use veille_storage::sites::Observation;
use veille_storage::{accounts, audit, reports, teams};

use super::{catalogue_resource, hhmm, load_round, round_entry, round_resource, rounds_gate, CheckInInput, DistributionsInput, PlanInput, VisitInput};
use crate::auth::Authenticated;
use crate::sites::{count, field, form_version};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

/// A round as lists show it.
pub struct Line {
    round: Round,
    team: String,
}

#[derive(Template)]
#[template(path = "rounds/list.html")]
struct ListPage {
    ctx: PageCtx,
    overdue: Vec<Line>,
    out: Vec<Line>,
    ahead: Vec<Line>,
    recent: Vec<Line>,
    slots: Vec<(Slot, String)>,
    teams: Vec<teams::Team>,
    circuits: Vec<rounds::Circuit>,
    can_plan: bool,
    form: PlanInput,
    errors: FieldErrors,
    /// Per reporting day (noon to noon) and team: people met and items given.
    counters: Vec<(String, String, i64, i64)>,
}

impl ListPage {
    fn time(&self, m: &i64) -> String {
        hhmm(*m)
    }
    fn day(&self, d: &i64) -> String {
        self.ctx.label("round.weekday", &d.to_string())
    }
}

async fn list_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: PlanInput, errors: FieldErrors) -> AppResult<ListPage> {
    let now = state.clock.now();
    let org_teams = teams::list(&state.db, None).await?;
    let name = |r: &Round| org_teams.iter().find(|t| t.id == r.team).map(|t| t.name.clone()).unwrap_or_default();
    let line = |r: Round| Line { team: name(&r), round: r };
    let readable = |r: &Round| who.can(Action::Read, &round_resource(r)).allowed;
    let mut overdue = Vec::new();
    let mut out = Vec::new();
    for r in rounds::rounds_out(&state.db).await?.into_iter().filter(|r| readable(r)) {
        if r.expected_return_at.is_some_and(|t| t < now) {
            overdue.push(line(r));
        } else {
            out.push(line(r));
        }
    }
    let window = rounds::rounds_between(&state.db, now.plus_seconds(-7 * 86_400), now.plus_seconds(14 * 86_400)).await?;
    let mut ahead = Vec::new();
    let mut recent = Vec::new();
    let mut counters: Vec<(String, String, i64, i64)> = Vec::new();
    for r in window.into_iter().filter(|r| readable(r)) {
        match r.status.as_str() {
            "planned" => ahead.push(line(r)),
            "ended" => {
                let day = r.started_at.unwrap_or(r.planned_start).reporting_day().format("%d/%m/%Y").to_string();
                let given: i64 = rounds::distributions(&state.db, r.id).await?.iter().map(|d| d.quantity).sum();
                let team = name(&r);
                match counters.iter_mut().find(|c| c.0 == day && c.1 == team) {
                    Some(c) => {
                        c.2 += r.people_total;
                        c.3 += given;
                    }
                    None => counters.push((day, team, r.people_total, given)),
                }
                recent.push(line(r));
            }
            _ => {}
        }
    }
    recent.reverse();
    let own_teams = teams::list(&state.db, Some(who.account.organisation)).await?;
    let slots = rounds::slots(&state.db)
        .await?
        .into_iter()
        .filter(|s| s.organisation == who.account.organisation)
        .map(|s| {
            let t = own_teams.iter().find(|t| t.id == s.team).map(|t| t.name.clone()).unwrap_or_default();
            (s, t)
        })
        .collect();
    let circuits = rounds::circuits(&state.db).await?.into_iter().filter(|c| c.organisation == who.account.organisation).collect();
    let can_plan = who.can(Action::Create, &veille_domain::Resource::new(veille_domain::ResourceKind::Record).owned_by(who.account.organisation)).allowed && !own_teams.is_empty();
    Ok(ListPage { ctx, overdue, out, ahead, recent, slots, teams: own_teams, circuits, can_plan, form, errors, counters })
}

/// GET /rounds
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    rounds_gate(&who)?;
    let form = PlanInput { date: state.clock.now().paris_date().to_string(), start: "20:00".into(), end: "23:00".into(), ..Default::default() };
    Ok(render(&list_page(&state, ctx, &who, form, FieldErrors::new()).await?))
}

/// POST /rounds
pub async fn plan(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<PlanInput>) -> AppResult<Response> {
    rounds_gate(&who)?;
    match super::plan_round(&state, &who, ctx.lang, &input).await? {
        Ok(r) => Ok(see_other(&format!("/rounds/{}", r.id))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&state, ctx, &who, input, errors).await?)),
    }
}

/// A stop as the round page shows it.
pub struct StopView {
    stop: rounds::Stop,
    name: String,
    site: Option<SiteId>,
    site_version: i64,
    report: Option<reports::Report>,
    can_answer: bool,
    lat: Option<f64>,
    lon: Option<f64>,
}

/// Everything recorded on a round, for its page and its daily report.
pub struct Recorded {
    team: teams::Team,
    circuit: String,
    territory: String,
    members: Vec<(String, Timestamp)>,
    stops: Vec<StopView>,
    distributions: Vec<Distribution>,
    incidents: Vec<Incident>,
    observations: Vec<(Observation, String)>,
}

async fn recorded(state: &AppState, who: &Authenticated, round: &Round) -> AppResult<Recorded> {
    let team = teams::get(&state.db, round.team).await?;
    let circuit = match round.circuit {
        Some(c) => rounds::get_circuit(&state.db, c).await.map(|c| c.name).unwrap_or_default(),
        None => String::new(),
    };
    let territory = match round.territory {
        Some(t) => veille_storage::territories::get(&state.db, t).await.map(|t| t.name).unwrap_or_default(),
        None => String::new(),
    };
    let accounts: HashMap<UserId, String> = accounts::list(&state.db, Some(round.organisation)).await?.into_iter().map(|a| (a.id, a.display_name)).collect();
    let members = rounds::members(&state.db, round.id).await?.into_iter().map(|(u, t)| (accounts.get(&u).cloned().unwrap_or_default(), t)).collect();
    let sites = crate::sites::readable_sites(state, who).await?;
    let mut stops = Vec::new();
    for s in rounds::stops(&state.db, round.id).await? {
        let site = s.site.and_then(|id| sites.iter().find(|x| x.id == id));
        let report = match s.report {
            Some(id) => reports::get(&state.db, &who.scope(), veille_domain::ReportId::from_uuid(id)).await.ok(),
            None => None,
        };
        let can_answer = report.as_ref().is_some_and(|r| who.can(Action::Update, &crate::reports::resource(r)).allowed);
        stops.push(StopView {
            name: site.map(|x| x.name.clone()).or_else(|| report.as_ref().map(|r| r.reference.clone())).unwrap_or_else(|| s.label.clone()),
            site: site.map(|x| x.id),
            site_version: site.map(|x| x.version).unwrap_or(0),
            lat: site.map(|x| x.lat).or(s.lat),
            lon: site.map(|x| x.lon).or(s.lon),
            report,
            can_answer,
            stop: s,
        });
    }
    let observations = veille_storage::sites::observations_of_round(&state.db, round.id)
        .await?
        .into_iter()
        .map(|o| {
            let n = sites.iter().find(|s| s.id == o.site).map(|s| s.name.clone()).unwrap_or_default();
            (o, n)
        })
        .collect();
    Ok(Recorded {
        team,
        circuit,
        territory,
        members,
        stops,
        distributions: rounds::distributions(&state.db, round.id).await?,
        incidents: rounds::incidents(&state.db, round.id).await?,
        observations,
    })
}

#[derive(Template)]
#[template(path = "rounds/show.html")]
struct ShowPage {
    ctx: PageCtx,
    round: Round,
    rec: Recorded,
    overdue: bool,
    can_update: bool,
    team_members: Vec<(UserId, String, bool)>,
    expected_default: String,
    items: Vec<(Item, i64)>,
    incident_kinds: Vec<&'static str>,
    errors: FieldErrors,
}

async fn show_page(state: &AppState, ctx: PageCtx, who: &Authenticated, round: Round, errors: FieldErrors, chosen: Vec<String>) -> AppResult<ShowPage> {
    let rec = recorded(state, who, &round).await?;
    let member_ids = teams::members(&state.db, round.team).await?;
    let team_members = accounts::list(&state.db, Some(round.organisation))
        .await?
        .into_iter()
        .filter(|a| member_ids.contains(&a.id) && !a.disabled)
        .map(|a| {
            let checked = if chosen.is_empty() { a.id == who.account.id } else { chosen.contains(&a.id.to_string()) };
            (a.id, a.display_name, checked)
        })
        .collect();
    let given: HashMap<ItemId, i64> = rec.distributions.iter().map(|d| (d.item, d.quantity)).collect();
    let items = rounds::items(&state.db, round.organisation).await?.into_iter().filter(|i| i.active || given.contains_key(&i.id)).map(|i| (given.get(&i.id).copied().unwrap_or(0), i)).map(|(q, i)| (i, q)).collect();
    let now = state.clock.now();
    Ok(ShowPage {
        overdue: round.status == "started" && round.expected_return_at.is_some_and(|t| t < now),
        can_update: who.can(Action::Update, &round_resource(&round)).allowed,
        expected_default: round.planned_end.max(now.plus_seconds(3600)).to_paris_input(),
        team_members,
        items,
        incident_kinds: INCIDENT_KINDS.to_vec(),
        rec,
        round,
        errors,
        ctx,
    })
}

/// GET /rounds/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Read).await?;
    audit::append_now(&state.db, round_entry(&who, state.clock.now(), "read", &round, serde_json::json!({}))).await?;
    Ok(render(&show_page(&state, ctx, &who, round, FieldErrors::new(), Vec::new()).await?))
}

async fn refused(state: &AppState, ctx: PageCtx, who: &Authenticated, round: Round, errors: FieldErrors, chosen: Vec<String>) -> AppResult<Response> {
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &show_page(state, ctx, who, round, errors, chosen).await?))
}

/// POST /rounds/{id}/check-in (form: `members` repeated, `expected_return`, `version`)
pub async fn check_in(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let input = CheckInInput {
        members: pairs.iter().filter(|(k, _)| k == "members").map(|(_, v)| v.clone()).collect(),
        expected_return: field(&pairs, "expected_return"),
    };
    match super::check_in(&state, &who, ctx.lang, &round, &input, form_version(&pairs)).await? {
        Ok(()) => Ok(see_other(&format!("/rounds/{}", round.id))),
        Err(errors) => refused(&state, ctx, &who, round, errors, input.members).await,
    }
}

/// POST /rounds/{id}/visit
pub async fn visit(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<VisitInput>) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    match super::visit(&state, &who, ctx.lang, &round, &input).await? {
        Ok(()) => Ok(see_other(&format!("/rounds/{}#stop-{}", round.id, input.stop_id))),
        Err(errors) => refused(&state, ctx, &who, round, errors, Vec::new()).await,
    }
}

/// POST /rounds/{id}/distributions (form: `qty_<item id>` per item)
pub async fn distributions(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    let mut input = DistributionsInput::default();
    for (k, v) in &pairs {
        let Some(item) = k.strip_prefix("qty_") else { continue };
        let n = count(v.trim(), k, ctx.lang, &mut errors);
        input.quantities.insert(item.to_owned(), n);
    }
    if !errors.is_empty() {
        return refused(&state, ctx, &who, round, errors, Vec::new()).await;
    }
    match super::set_distributions(&state, &who, ctx.lang, &round, &input).await? {
        Ok(()) => Ok(see_other(&format!("/rounds/{}#distributions", round.id))),
        Err(errors) => refused(&state, ctx, &who, round, errors, Vec::new()).await,
    }
}

/// A safety incident.
#[derive(Deserialize, Default)]
pub struct IncidentInput {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    description: String,
}

/// POST /rounds/{id}/incidents
pub async fn incident(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<IncidentInput>) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    if !INCIDENT_KINDS.contains(&input.kind.as_str()) {
        errors.add("incident_kind", ctx.t("form.choose_one"));
    }
    if input.description.chars().count() > 2000 {
        errors.add("incident_description", ctx.t("site.error.too_long"));
    }
    if round.status == "planned" || round.status == "cancelled" {
        errors.add("incident_kind", ctx.t("round.error.not_started"));
    }
    if !errors.is_empty() {
        return refused(&state, ctx, &who, round, errors, Vec::new()).await;
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    rounds::add_incident(&mut tx, round.id, &input.kind, input.description.trim(), who.account.id, now).await?;
    audit::append(&mut tx, round_entry(&who, now, "update", &round, serde_json::json!({"field": "incident", "kind": input.kind}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/rounds/{}#incidents", round.id)))
}

/// POST /rounds/{id}/check-out
pub async fn check_out(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    match super::check_out(&state, &who, ctx.lang, &round, form_version(&pairs)).await? {
        Ok(()) => Ok(see_other(&format!("/rounds/{}/report", round.id))),
        Err(errors) => refused(&state, ctx, &who, round, errors, Vec::new()).await,
    }
}

/// POST /rounds/{id}/cancel: a round that has not left is called off.
pub async fn cancel(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    if round.status != "planned" {
        let mut errors = FieldErrors::new();
        errors.add("cancel", ctx.t("round.error.not_planned"));
        return refused(&state, ctx, &who, round, errors, Vec::new()).await;
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    rounds::cancel(&mut tx, &round, form_version(&pairs), now).await?;
    audit::append(&mut tx, round_entry(&who, now, "update", &round, serde_json::json!({"field": "status", "to": "cancelled"}))).await?;
    tx.commit().await?;
    Ok(see_other("/rounds"))
}

#[derive(Template)]
#[template(path = "rounds/report.html")]
struct ReportPage {
    ctx: PageCtx,
    round: Round,
    rec: Recorded,
    organisation: String,
    day: String,
    can_update: bool,
    values: Vec<(String, String)>,
    errors: FieldErrors,
    /// What the encounters recorded with this round count (anonymous).
    met: veille_storage::encounters::RoundCounts,
}

impl ReportPage {
    fn met_line(&self) -> String {
        let m = &self.met;
        self.ctx.tf(
            "round.report.from_encounters",
            &[
                ("encounters", &m.encounters.to_string()),
                ("total", &(m.files + m.unidentified).to_string()),
                ("new", &(m.files - m.known_files).to_string()),
                ("known", &m.known_files.to_string()),
                ("unidentified", &m.unidentified.to_string()),
            ],
        )
    }
    fn value(&self, name: &str) -> String {
        self.values.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
    fn visited(&self) -> Vec<&StopView> {
        self.rec.stops.iter().filter(|s| s.stop.visited_at.is_some()).collect()
    }
}

async fn report_page(state: &AppState, ctx: PageCtx, who: &Authenticated, round: Round, values: Option<Vec<(String, String)>>, errors: FieldErrors) -> AppResult<ReportPage> {
    let rec = recorded(state, who, &round).await?;
    let organisation = veille_storage::organisations::get(&state.db, round.organisation).await?.name;
    let since = round.started_at.unwrap_or(round.planned_start);
    let met = veille_storage::encounters::round_counts(&state.db, round.organisation, &round.id.to_string(), since).await?;
    // Nothing typed yet: the counts start from the encounters recorded.
    let (total, new, known) = if (round.people_total, round.people_new, round.people_known) == (0, 0, 0) {
        (met.files + met.unidentified, met.files - met.known_files, met.known_files)
    } else {
        (round.people_total, round.people_new, round.people_known)
    };
    let values = values.unwrap_or_else(|| {
        vec![
            ("people_total".into(), total.to_string()),
            ("people_new".into(), new.to_string()),
            ("people_known".into(), known.to_string()),
            ("mediations".into(), round.mediations.to_string()),
            ("mediation_notes".into(), round.mediation_notes.clone()),
            ("handover".into(), round.handover.clone()),
        ]
    });
    Ok(ReportPage {
        day: round.started_at.unwrap_or(round.planned_start).reporting_day().format("%d/%m/%Y").to_string(),
        can_update: who.can(Action::Update, &round_resource(&round)).allowed,
        organisation,
        rec,
        round,
        values,
        errors,
        met,
        ctx,
    })
}

/// GET /rounds/{id}/report (an audited read)
pub async fn report(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Read).await?;
    audit::append_now(&state.db, round_entry(&who, state.clock.now(), "read", &round, serde_json::json!({"view": "daily_report"}))).await?;
    Ok(render(&report_page(&state, ctx, &who, round, None, FieldErrors::new()).await?))
}

/// POST /rounds/{id}/report
pub async fn save_report(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let text = |k: &str| field(&pairs, k);
    let mut errors = FieldErrors::new();
    let mut num = |k: &str| count(&text(k), k, ctx.lang, &mut errors);
    let (total, new, known, mediations) = (num("people_total"), num("people_new"), num("people_known"), num("mediations"));
    if new + known > total {
        errors.add("people_total", ctx.t("round.error.people_sum"));
    }
    let (notes, handover) = (text("mediation_notes"), text("handover"));
    if notes.chars().count() > 4000 {
        errors.add("mediation_notes", ctx.t("site.error.too_long"));
    }
    if handover.chars().count() > 4000 {
        errors.add("handover", ctx.t("site.error.too_long"));
    }
    if !errors.is_empty() {
        let p = report_page(&state, ctx, &who, round, Some(pairs), errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    rounds::set_report(&mut tx, &round, (total, new, known), mediations, &notes, &handover, form_version(&pairs), now).await?;
    audit::append(&mut tx, round_entry(&who, now, "update", &round, serde_json::json!({"field": "daily_report"}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/rounds/{}/report", round.id)))
}

#[derive(Template)]
#[template(path = "rounds/items.html")]
struct ItemsPage {
    ctx: PageCtx,
    items: Vec<Item>,
    can_edit: bool,
    categories: Vec<&'static str>,
    form: ItemInput,
    errors: FieldErrors,
}

/// A catalogue change: `action` is `add` (name, category, unit), `defaults`,
/// or `toggle` (item).
#[derive(Deserialize, Default, Clone)]
pub struct ItemInput {
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    item: String,
}

async fn items_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: ItemInput, errors: FieldErrors) -> AppResult<ItemsPage> {
    let res = catalogue_resource(who.account.organisation);
    Ok(ItemsPage {
        items: rounds::items(&state.db, who.account.organisation).await?,
        can_edit: who.can(Action::Update, &res).allowed,
        categories: ITEM_CATEGORIES.to_vec(),
        form,
        errors,
        ctx,
    })
}

/// GET /rounds/items
pub async fn items(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    who.require(Action::Read, &catalogue_resource(who.account.organisation))?;
    Ok(render(&items_page(&state, ctx, &who, ItemInput::default(), FieldErrors::new()).await?))
}

/// POST /rounds/items
pub async fn change_items(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<ItemInput>) -> AppResult<Response> {
    let org = who.account.organisation;
    who.require(Action::Update, &catalogue_resource(org))?;
    let now = state.clock.now();
    let mut errors = FieldErrors::new();
    let mut tx = state.db.begin().await?;
    let detail = match input.action.as_str() {
        "defaults" => {
            let have: Vec<String> = rounds::items(&state.db, org).await?.into_iter().map(|i| i.name).collect();
            let mut added = 0;
            for (name, category, unit) in rounds::DEFAULT_ITEMS {
                if !have.iter().any(|h| h == name) {
                    rounds::create_item(&mut tx, org, name, category, unit, now).await?;
                    added += 1;
                }
            }
            serde_json::json!({"field": "catalogue", "defaults_added": added})
        }
        "toggle" => {
            let item = rounds::items(&state.db, org).await?.into_iter().find(|i| i.id.to_string() == input.item);
            match item {
                Some(i) => {
                    rounds::set_item_active(&mut tx, org, i.id, !i.active).await?;
                    serde_json::json!({"field": "catalogue", "item": i.id.to_string(), "active": !i.active})
                }
                None => {
                    errors.add("item", ctx.t("round.error.item"));
                    serde_json::Value::Null
                }
            }
        }
        _ => {
            let name = input.name.trim();
            if name.is_empty() || name.chars().count() > 80 {
                errors.add("name", ctx.t("round.error.item_name"));
            }
            if !ITEM_CATEGORIES.contains(&input.category.as_str()) {
                errors.add("category", ctx.t("form.choose_one"));
            }
            if input.unit.chars().count() > 40 {
                errors.add("unit", ctx.t("site.error.too_long"));
            }
            if errors.is_empty() {
                match rounds::create_item(&mut tx, org, name, &input.category, input.unit.trim(), now).await {
                    Ok(id) => serde_json::json!({"field": "catalogue", "item_added": id.to_string()}),
                    Err(e) if e.is_conflict_on("name") || e.is_conflict_on("distribution_items") => {
                        errors.add("name", ctx.t("round.error.item_taken"));
                        serde_json::Value::Null
                    }
                    Err(e) => return Err(e.into()),
                }
            } else {
                serde_json::Value::Null
            }
        }
    };
    if !errors.is_empty() {
        drop(tx);
        let p = items_page(&state, ctx, &who, input, errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    }
    audit::append(&mut tx, who.audit_entry(now, "update", "distribution_catalogue", org, org).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(see_other("/rounds/items"))
}

/// Whether an account receives the overdue alerts of its organisation.
pub fn alerted_role(role: Role) -> bool {
    matches!(role, Role::Coordinator | Role::OrgAdmin)
}
