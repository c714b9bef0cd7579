//! The staff side's pages: the queue (with its CSV and map), the report page
//! with its timeline, and the forms that act on a report — each a command of
//! `veille_app::reports::staff`; a refused form shows the page again with
//! what was typed and the errors next to their fields.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use veille_app::reports::public::PublicView;
use veille_app::reports::staff::{self as app, Detail, Handler, Line, Queue};
use veille_app::reports::{Report, Source};
use veille_domain::reports::{Outcome, Status, SITUATIONS};
use veille_domain::Action;
use veille_storage::territories::Territory;
use veille_storage::timeline::Event;

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

pub use veille_app::reports::staff::{gate, QueueQuery, Reporter};

#[derive(Template)]
#[template(path = "reports/queue.html")]
struct QueuePage {
    ctx: PageCtx,
    lines: Vec<Line>,
    q: QueueQuery,
    statuses: Vec<&'static str>,
    situations: Vec<&'static str>,
    sources: Vec<&'static str>,
    territories: Vec<Territory>,
    overdue_count: i64,
    can_take_in: bool,
    /// More reports match than are listed.
    truncated: bool,
    /// How many reports match.
    total: i64,
    /// The account works with sites: the map shows them beside the reports.
    with_sites: bool,
    /// The "Exporter" form.
    export: crate::exports::ExportForm,
}

impl QueuePage {
    /// The map's layers: the filtered reports, then the sites.
    fn map_layers(&self) -> String {
        let mut layers = vec![serde_json::json!({"name": "reports", "url": format!("/reports.geojson?{}", self.q.query_string())})];
        if self.with_sites {
            layers.push(serde_json::json!({"name": "sites", "url": "/sites.geojson"}));
        }
        serde_json::Value::from(layers).to_string()
    }
    fn shown_first(&self) -> String {
        self.ctx.tf("report.queue.shown_first", &[("shown", &self.lines.len().to_string())])
    }
    fn overdue_link(&self) -> String {
        self.ctx.tf("report.queue.overdue_link", &[("count", &self.overdue_count.to_string())])
    }
}

/// GET /reports
pub async fn queue(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    let Queue { lines, truncated, total, overdue_count, territories, can_take_in, with_sites } = app::queue(&state, &who, &q).await?;
    let export = crate::exports::ExportForm::new(&who, &ctx, veille_app::exports::List::Reports, crate::exports::hidden_of(&q.query_string()));
    Ok(render(&QueuePage {
        export,
        ctx,
        lines,
        q,
        statuses: Status::codes(),
        situations: SITUATIONS.to_vec(),
        sources: Source::codes(),
        territories,
        overdue_count,
        can_take_in,
        truncated,
        total,
        with_sites,
    }))
}

/// GET /reports.geojson: the open reports of the filtered queue that have a
/// point, as GeoJSON points (reference, level, status, link) for the queue's map.
pub async fn map_geojson(State(state): State<AppState>, who: Authenticated, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    let features: Vec<serde_json::Value> = app::map(&state, &who, &q)
        .await?
        .into_iter()
        .filter_map(|(r, overdue)| {
            let (lon, lat) = (r.lon?, r.lat?);
            Some(serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "reference": r.reference, "level": r.effective_level(), "status": r.status,
                    "overdue": overdue, "url": format!("/reports/{}", r.id),
                },
            }))
        })
        .collect();
    let body = serde_json::json!({"type": "FeatureCollection", "features": features});
    Ok(([(axum::http::header::CONTENT_TYPE, "application/geo+json")], body.to_string()).into_response())
}

/// GET /reports.csv: the queue with its filters, without free text nor
/// contact details. Audited.
pub async fn export_csv(State(state): State<AppState>, who: Authenticated, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    let out = app::export_csv(&state, &who, &q).await?;
    Ok(crate::page::download("text/csv; charset=utf-8", "signalements.csv", out.into()))
}

/// Drafts typed on the report page (kept when re-rendering).
#[derive(Default, Clone)]
pub struct Drafts {
    note: String,
    answer: String,
    level_reason: String,
    preview: Option<PublicView>,
}

#[derive(Template)]
#[template(path = "reports/show.html")]
struct ShowPage {
    ctx: PageCtx,
    report: Report,
    territory: String,
    organisation: String,
    team: String,
    events: Vec<Event>,
    notes: Vec<veille_app::reports::Note>,
    panel: Vec<crate::access_panel::PanelEntry>,
    can_update: bool,
    can_reassign: bool,
    handlers: Vec<Handler>,
    statuses: Vec<&'static str>,
    outcomes: Vec<&'static str>,
    errors: FieldErrors,
    drafts: Drafts,
    view: PublicView,
    nearby: Vec<Report>,
    duplicates: Vec<Report>,
    main: Option<Report>,
    reporter: Option<Reporter>,
    has_photo: bool,
    acknowledge_due: veille_domain::Timestamp,
    answer_due: veille_domain::Timestamp,
    overdue: bool,
    site: Option<veille_storage::sites::Site>,
    near_sites: Vec<veille_storage::sites::Site>,
    site_names: std::collections::HashMap<String, String>,
    /// Requests to city services made from it (the caller reads).
    requests: Vec<(veille_storage::services::ServiceRequest, String)>,
    /// Whether the caller sends requests to services.
    can_request: bool,
}

impl ShowPage {
    fn reason_label(&self, code: &str) -> String {
        match veille_app::reports::rules().reason_key(code) {
            Some(key) => self.ctx.t(key),
            None => code.to_owned(),
        }
    }
    fn event_value(&self, e: &Event, value: &Option<String>) -> String {
        let Some(v) = value else { return String::new() };
        match e.kind.as_str() {
            "status" | "created" => self.ctx.t(&format!("report.status.{v}")),
            "assigned" | "reassigned" => {
                self.handlers.iter().find(|h| h.team.is_some_and(|t| t.to_string() == *v)).map(|h| h.label.clone()).unwrap_or_else(|| v.clone())
            }
            "site" => self.site_names.get(v).cloned().unwrap_or_else(|| self.ctx.t("report.staff.site_unknown")),
            _ => v.clone(),
        }
    }
    fn phone(&self, typed: &str) -> String {
        veille_domain::people::Phone::parse(typed).map(|p| p.readable()).unwrap_or_else(|_| typed.to_owned())
    }
    fn status_is(&self, code: &str) -> bool {
        self.report.status.code() == code
    }
    fn outcome_is(&self, code: &str) -> bool {
        self.report.outcome.is_some_and(|o| o.code() == code)
    }
    fn handler_is_current(&self, h: &Handler) -> bool {
        Some(h.organisation) == self.report.organisation && h.team == self.report.team
    }
    fn handler_value(&self, h: &Handler) -> String {
        match h.team {
            Some(t) => format!("team:{t}"),
            None => format!("organisation:{}", h.organisation),
        }
    }
}

async fn page(state: &AppState, ctx: PageCtx, who: &Authenticated, report: Report, errors: FieldErrors, drafts: Drafts) -> AppResult<ShowPage> {
    let d: Detail = app::detail(state, who, report).await?;
    let handlers = if d.can_reassign || d.report.team.is_some() { app::handlers(state).await? } else { Vec::new() };
    let requests = veille_app::neighbourhood::services::of_origin(state, who, "report", &d.report.id.to_string()).await?;
    Ok(ShowPage {
        requests,
        can_request: d.can_update && veille_app::neighbourhood::services::can_send(who),
        view: drafts.preview.clone().unwrap_or_else(|| PublicView::of(&d.report)),
        ctx,
        territory: d.territory,
        organisation: d.organisation,
        team: d.team,
        events: d.events,
        notes: d.notes,
        panel: d.panel,
        can_update: d.can_update,
        can_reassign: d.can_reassign,
        handlers,
        statuses: Status::codes(),
        outcomes: Outcome::codes(),
        errors,
        drafts,
        nearby: d.nearby,
        duplicates: d.duplicates,
        main: d.main,
        reporter: d.reporter,
        has_photo: d.has_photo,
        acknowledge_due: d.acknowledge_due,
        answer_due: d.answer_due,
        overdue: d.overdue,
        site: d.site,
        near_sites: d.near_sites,
        site_names: d.site_names,
        report: d.report,
    })
}

/// The page again, with the errors of a refused form and what was typed.
async fn refused(state: &AppState, ctx: PageCtx, who: &Authenticated, report: Report, errors: FieldErrors, drafts: Drafts) -> AppResult<Response> {
    let p = page(state, ctx, who, report, errors, drafts).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
}

fn back(report: &Report) -> Response {
    see_other(&format!("/reports/{}", report.id))
}

/// GET /reports/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let report = app::read(&state, &who, &id, "page").await?;
    let p = page(&state, ctx, &who, report, FieldErrors::new(), Drafts::default()).await?;
    Ok(render(&p))
}

/// A form that only carries the report's version.
#[derive(Deserialize, Default)]
pub struct VersionInput {
    #[serde(default)]
    version: String,
}

fn version(text: &str) -> i64 {
    text.trim().parse().unwrap_or(-1)
}

/// Note form.
#[derive(Deserialize, Default)]
pub struct NoteInput {
    #[serde(default)]
    body: String,
}

/// POST /reports/{id}/notes
pub async fn add_note(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<NoteInput>,
) -> AppResult<Response> {
    let report = app::load_str(&state, &who, &id, Action::Update).await?;
    match app::add_note(&state, &who, ctx.lang, &report, &input.body).await? {
        Ok(()) => Ok(back(&report)),
        Err(errors) => refused(&state, ctx, &who, report, errors, Drafts { note: input.body, ..Default::default() }).await,
    }
}

/// Status form.
#[derive(Deserialize, Default)]
pub struct StatusInput {
    #[serde(default)]
    status: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    version: String,
}

/// POST /reports/{id}/status
pub async fn set_status(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<StatusInput>,
) -> AppResult<Response> {
    let report = app::load_str(&state, &who, &id, Action::Update).await?;
    match app::set_status(&state, &who, ctx.lang, &report, &input.status, &input.outcome, version(&input.version)).await? {
        Ok(()) => Ok(back(&report)),
        Err(errors) => refused(&state, ctx, &who, report, errors, Drafts::default()).await,
    }
}

/// Level override form.
#[derive(Deserialize, Default)]
pub struct LevelInput {
    #[serde(default)]
    level: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    version: String,
}

/// POST /reports/{id}/level
pub async fn set_level(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<LevelInput>,
) -> AppResult<Response> {
    let report = app::load_str(&state, &who, &id, Action::Update).await?;
    match app::override_level(&state, &who, ctx.lang, &report, &input.level, &input.reason, version(&input.version)).await? {
        Ok(()) => Ok(back(&report)),
        Err(errors) => refused(&state, ctx, &who, report, errors, Drafts { level_reason: input.reason, ..Default::default() }).await,
    }
}

/// Public answer form: `action` is `preview` or `publish`.
#[derive(Deserialize, Default)]
pub struct AnswerInput {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    version: String,
}

/// POST /reports/{id}/answer: previews exactly what the reporter will see, or publishes it.
pub async fn set_answer(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<AnswerInput>,
) -> AppResult<Response> {
    let report = app::load_str(&state, &who, &id, Action::Update).await?;
    if input.action == "preview" {
        let (status, errors, preview) = match app::check_answer(ctx.lang, &input.answer) {
            Ok(answer) => (StatusCode::OK, FieldErrors::new(), Some(PublicView { answer, answer_at: Some(state.clock.now()), ..PublicView::of(&report) })),
            Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e, None),
        };
        let drafts = Drafts { answer: input.answer.clone(), preview, ..Default::default() };
        let p = page(&state, ctx, &who, report, errors, drafts).await?;
        return Ok(render_status(status, &p));
    }
    match app::publish_answer(&state, &who, ctx.lang, &report, &input.answer, version(&input.version)).await? {
        Ok(()) => Ok(back(&report)),
        Err(errors) => refused(&state, ctx, &who, report, errors, Drafts { answer: input.answer, ..Default::default() }).await,
    }
}

/// The site form: a site id, or empty to unlink.
#[derive(Deserialize, Default)]
pub struct SiteInput {
    #[serde(default)]
    site: String,
    #[serde(default)]
    version: String,
}

/// POST /reports/{id}/site: links the report to a known site the caller may
/// read (or unlinks it), audited and on the timeline.
pub async fn set_site(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<SiteInput>,
) -> AppResult<Response> {
    let report = app::load_str(&state, &who, &id, Action::Update).await?;
    match app::link_site(&state, &who, ctx.lang, &report, &input.site, version(&input.version)).await? {
        Ok(()) => Ok(back(&report)),
        Err(errors) => refused(&state, ctx, &who, report, errors, Drafts::default()).await,
    }
}

/// Duplicate forms: the other report of the pair, and this one's version.
#[derive(Deserialize, Default)]
pub struct DuplicateInput {
    #[serde(default)]
    other: String,
    #[serde(default)]
    version: String,
}

/// POST /reports/{id}/duplicate
pub async fn attach_duplicate(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<DuplicateInput>,
) -> AppResult<Response> {
    let report = app::load_str(&state, &who, &id, Action::Update).await?;
    match app::attach_duplicate(&state, &who, ctx.lang, &report, &input.other, version(&input.version)).await? {
        Ok(()) => Ok(back(&report)),
        Err(errors) => refused(&state, ctx, &who, report, errors, Drafts::default()).await,
    }
}

/// POST /reports/{id}/keep-separate
pub async fn keep_separate(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<DuplicateInput>,
) -> AppResult<Response> {
    let report = app::load_str(&state, &who, &id, Action::Update).await?;
    match app::keep_separate(&state, &who, ctx.lang, &report, &input.other).await? {
        Ok(()) => Ok(back(&report)),
        Err(errors) => refused(&state, ctx, &who, report, errors, Drafts::default()).await,
    }
}

/// POST /reports/{id}/detach
pub async fn detach_duplicate(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<VersionInput>,
) -> AppResult<Response> {
    let report = app::load_str(&state, &who, &id, Action::Update).await?;
    match app::detach_duplicate(&state, &who, ctx.lang, &report, version(&input.version)).await? {
        Ok(next) => Ok(see_other(&format!("/reports/{next}"))),
        Err(errors) => refused(&state, ctx, &who, report, errors, Drafts::default()).await,
    }
}

/// Reassignment form: `handler` is `team:<id>` or `organisation:<id>`.
#[derive(Deserialize, Default)]
pub struct ReassignInput {
    #[serde(default)]
    handler: String,
    #[serde(default)]
    version: String,
}

/// POST /reports/{id}/handler: a coordinator hands the report to another
/// team or organisation.
pub async fn reassign(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<ReassignInput>,
) -> AppResult<Response> {
    let report = app::load_str(&state, &who, &id, Action::Update).await?;
    match app::reassign(&state, &who, ctx.lang, &report, &input.handler, version(&input.version)).await? {
        Ok(()) => Ok(back(&report)),
        Err(errors) => refused(&state, ctx, &who, report, errors, Drafts::default()).await,
    }
}
