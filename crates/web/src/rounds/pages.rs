//! Round pages: the list (overdue, today, planned, recent) with the planning
//! form, the round itself on a phone (check-in, stops, distributions,
//! incidents, check-out), the printable daily report, and the catalogue.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use veille_app::rounds::catalogue::{self, ItemInput};
use veille_app::rounds::{
    self as app, hhmm, load_round, own_circuits, own_teams, rounds_gate, schedule::own_slots, CheckInInput, Circuit, DailyReportInput, DistributionsInput,
    IncidentInput, Item, Line, PlanInput, Recorded, Round, RoundCounts, Slot, StopView, Team, VisitInput, INCIDENT_KINDS, ITEM_CATEGORIES,
};
use veille_app::sites::form_version;
use veille_domain::{Action, UserId};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

#[derive(Template)]
#[template(path = "rounds/list.html")]
struct ListPage {
    ctx: PageCtx,
    overdue: Vec<Line>,
    out: Vec<Line>,
    ahead: Vec<Line>,
    recent: Vec<Line>,
    slots: Vec<(Slot, String)>,
    teams: Vec<Team>,
    circuits: Vec<Circuit>,
    can_plan: bool,
    form: PlanInput,
    errors: FieldErrors,
    /// The "Exporter" form.
    export: crate::exports::ExportForm,
    /// Per reporting day (noon to noon) and team: people met and items given.
    counters: Vec<(String, String, i64, i64)>,
}

impl ListPage {
    fn time(&self, m: &i64) -> String {
        hhmm(*m)
    }
    fn day(&self, d: &i64) -> String {
        self.ctx.label("round.weekday", d)
    }
}

async fn list_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: PlanInput, errors: FieldErrors) -> AppResult<ListPage> {
    let b = app::board(state, who).await?;
    let teams = own_teams(state, who).await?;
    let export = crate::exports::ExportForm::new(who, &ctx, veille_app::exports::List::Rounds, Vec::new());
    Ok(ListPage {
        export,
        ctx,
        overdue: b.overdue,
        out: b.out,
        ahead: b.ahead,
        recent: b.recent,
        slots: own_slots(state, who).await?,
        can_plan: app::can_plan(who) && !teams.is_empty(),
        teams,
        circuits: own_circuits(state, who).await?,
        form,
        errors,
        counters: b.counters,
    })
}

/// GET /rounds
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    rounds_gate(&who)?;
    let form = PlanInput { date: state.clock.now().paris_date().to_string(), start: "20:00".into(), end: "23:00".into(), ..Default::default() };
    Ok(render(&list_page(&state, ctx, &who, form, FieldErrors::new()).await?))
}

/// POST /rounds
pub async fn plan(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<PlanInput>) -> AppResult<Response> {
    match app::plan_round(&state, &who, ctx.lang, &input).await? {
        Ok(r) => Ok(see_other(&format!("/rounds/{}", r.id))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&state, ctx, &who, input, errors).await?)),
    }
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
    /// The organisation's team safety rules (empty: the default text).
    safety_rules: String,
    /// Handover entries for this team since its last check-in, shown first.
    handovers: Vec<veille_app::neighbourhood::logbooks::EntryView>,
    /// Mediations recorded on this round.
    mediations: Vec<veille_app::neighbourhood::mediations::Line>,
    /// Whether the caller records mediations.
    can_mediate: bool,
}

async fn show_page(state: &AppState, ctx: PageCtx, who: &Authenticated, round: Round, errors: FieldErrors, chosen: Vec<String>) -> AppResult<ShowPage> {
    let rec = app::recorded(state, who, &round).await?;
    let items = catalogue::offered(state, round.organisation, &rec.distributions).await?;
    let now = state.clock.now();
    let safety_rules = veille_app::people::protection::text_of(state, round.organisation, veille_app::people::protection::Guidance::SafetyRules).await?;
    let sites: Vec<String> = rec.stops.iter().filter_map(|s| s.site.map(|x| x.to_string())).collect();
    let handovers = veille_app::neighbourhood::logbooks::handovers_at_check_in(state, who, &round, &sites).await?;
    let mediations = veille_app::neighbourhood::mediations::of_round(state, who, round.id).await?;
    Ok(ShowPage {
        safety_rules,
        handovers,
        mediations,
        can_mediate: veille_app::neighbourhood::mediations::can_record(who),
        overdue: round.status == "started" && round.expected_return_at.is_some_and(|t| t < now),
        can_update: app::can_update(who, &round),
        expected_default: round.planned_end.max(now.plus_seconds(3600)).to_paris_input(),
        team_members: app::check_in_members(state, who, &round, &chosen).await?,
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
    let round = app::read_round(&state, &who, &id, serde_json::json!({})).await?;
    Ok(render(&show_page(&state, ctx, &who, round, FieldErrors::new(), Vec::new()).await?))
}

async fn answer(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    round: Round,
    result: Result<(), FieldErrors>,
    then: String,
    chosen: Vec<String>,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(see_other(&then)),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &show_page(state, ctx, who, round, errors, chosen).await?)),
    }
}

/// POST /rounds/{id}/check-in (form: `members` repeated, `expected_return`, `version`)
pub async fn check_in(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let input = CheckInInput::from_form(&pairs);
    let result = app::check_in(&state, &who, ctx.lang, &round, &input, form_version(&pairs)).await?;
    let then = format!("/rounds/{}", round.id);
    answer(&state, ctx, &who, round, result, then, input.members).await
}

/// POST /rounds/{id}/visit
pub async fn visit(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<VisitInput>,
) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let result = app::visit(&state, &who, ctx.lang, &round, &input).await?;
    let then = format!("/rounds/{}#stop-{}", round.id, input.stop_id);
    answer(&state, ctx, &who, round, result, then, Vec::new()).await
}

/// POST /rounds/{id}/distributions (form: `qty_<item id>` per item)
pub async fn distributions(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let result = app::set_distributions(&state, &who, ctx.lang, &round, &DistributionsInput::from_form(&pairs)).await?;
    let then = format!("/rounds/{}#distributions", round.id);
    answer(&state, ctx, &who, round, result, then, Vec::new()).await
}

/// POST /rounds/{id}/incidents
pub async fn incident(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<IncidentInput>,
) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let result = app::add_incident(&state, &who, ctx.lang, &round, &input).await?;
    let then = format!("/rounds/{}#incidents", round.id);
    answer(&state, ctx, &who, round, result, then, Vec::new()).await
}

/// POST /rounds/{id}/check-out
pub async fn check_out(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let result = app::check_out(&state, &who, ctx.lang, &round, form_version(&pairs)).await?;
    let then = format!("/rounds/{}/report", round.id);
    answer(&state, ctx, &who, round, result, then, Vec::new()).await
}

/// POST /rounds/{id}/cancel: a round that has not left is called off.
pub async fn cancel(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    let result = app::cancel(&state, &who, ctx.lang, &round, form_version(&pairs)).await?;
    answer(&state, ctx, &who, round, result, "/rounds".into(), Vec::new()).await
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
    met: RoundCounts,
    /// The mediations recorded on this round (parties by role only).
    mediations: Vec<veille_app::neighbourhood::mediations::Line>,
}

impl ReportPage {
    fn met_line(&self) -> String {
        let m = &self.met;
        let n = |key: &str, count: i64| self.ctx.tn(&format!("round.report.counts.{key}"), count);
        self.ctx.tf(
            "round.report.from_encounters",
            &[
                ("encounters", &n("encounters", m.encounters)),
                ("total", &n("people", m.files + m.unidentified)),
                ("new", &n("new", m.files - m.known_files)),
                ("known", &n("known", m.known_files)),
                ("unidentified", &n("unidentified", m.unidentified)),
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

async fn report_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    round: Round,
    values: Option<Vec<(String, String)>>,
    errors: FieldErrors,
) -> AppResult<ReportPage> {
    let rec = app::recorded(state, who, &round).await?;
    let d = app::daily_report(state, &round).await?;
    let (total, new, known) = d.people;
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
    let mediations = veille_app::neighbourhood::mediations::of_round(state, who, round.id).await?;
    Ok(ReportPage {
        day: d.day,
        can_update: app::can_update(who, &round),
        organisation: d.organisation,
        rec,
        round,
        values,
        errors,
        met: d.met,
        mediations,
        ctx,
    })
}

/// GET /rounds/{id}/report (an audited read)
pub async fn report(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let round = app::read_round(&state, &who, &id, serde_json::json!({"view": "daily_report"})).await?;
    Ok(render(&report_page(&state, ctx, &who, round, None, FieldErrors::new()).await?))
}

/// POST /rounds/{id}/report
pub async fn save_report(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let round = load_round(&state, &who, &id, Action::Update).await?;
    match app::save_daily_report(&state, &who, ctx.lang, &round, &DailyReportInput::from_form(&pairs), form_version(&pairs)).await? {
        Ok(()) => Ok(see_other(&format!("/rounds/{}/report", round.id))),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &report_page(&state, ctx, &who, round, Some(pairs), errors).await?)),
    }
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

async fn items_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: ItemInput, errors: FieldErrors) -> AppResult<ItemsPage> {
    Ok(ItemsPage { items: catalogue::items(state, who).await?, can_edit: catalogue::can_edit(who), categories: ITEM_CATEGORIES.to_vec(), form, errors, ctx })
}

/// GET /rounds/items
pub async fn items(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    Ok(render(&items_page(&state, ctx, &who, ItemInput::default(), FieldErrors::new()).await?))
}

/// POST /rounds/items
pub async fn change_items(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<ItemInput>) -> AppResult<Response> {
    match catalogue::change(&state, &who, ctx.lang, &input).await? {
        Ok(()) => Ok(see_other("/rounds/items")),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &items_page(&state, ctx, &who, input, errors).await?)),
    }
}
