//! The staff side: the queue, the report page with its timeline, internal
//! notes, status changes, level override and the public answer with a preview
//! of exactly what the reporter sees.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;
use veille_domain::{Action, Resource, ResourceKind, TerritoryId};
use veille_storage::timeline::Event;
use veille_storage::reports::{self, Filter, Note, Report, OUTCOMES, SITUATIONS, SOURCES, STATUSES};
use veille_storage::territories::{self, Territory};
use veille_storage::{audit, organisations, teams};

use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

use super::public::PublicView;
use super::resource;

/// Whether the account reads reports at all (its organisation's personal records).
pub fn gate(who: &Authenticated) -> AppResult<()> {
    Ok(who.require(Action::Read, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))?)
}

/// Queue filters (also of the CSV export, the map, the API and the figures).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct QueueQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub territory: String,
    /// Situation type.
    #[serde(default)]
    pub situation: String,
    #[serde(default)]
    pub source: String,
    /// Received on or after this day (`YYYY-MM-DD`, Paris).
    #[serde(default)]
    pub from: String,
    /// Received on or before this day (`YYYY-MM-DD`, Paris).
    #[serde(default)]
    pub to: String,
    /// `1`: only open reports past a deadline.
    #[serde(default)]
    pub overdue: String,
}

/// Midnight of a Paris day, as an instant.
pub fn paris_day_start(text: &str) -> Option<veille_domain::Timestamp> {
    use chrono::TimeZone;
    let day = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    let local = chrono_tz::Europe::Paris.from_local_datetime(&day.and_hms_opt(0, 0, 0)?).earliest()?;
    Some(veille_domain::Timestamp::from_datetime(local.with_timezone(&chrono::Utc)))
}

impl QueueQuery {
    /// The storage filter: what was asked, limited to what the actor may read
    /// (the permission function compiled to SQL).
    pub fn filter(&self, state: &AppState, who: &Authenticated) -> Filter {
        let mut f = self.filter_unscoped(state);
        f.readable_by = Some(veille_domain::access::read_filter(&who.actor));
        f
    }

    /// The filter of what was asked, without the access scope (figures scope it by organisation).
    pub fn filter_unscoped(&self, state: &AppState) -> Filter {
        Filter {
            status: STATUSES.contains(&self.status.as_str()).then(|| self.status.clone()),
            level: self.level.parse::<i64>().ok().filter(|l| (1..=2).contains(l)),
            territory: self.territory.parse::<TerritoryId>().ok(),
            situation: SITUATIONS.contains(&self.situation.as_str()).then(|| self.situation.clone()),
            source: SOURCES.contains(&self.source.as_str()).then(|| self.source.clone()),
            since: paris_day_start(&self.from),
            until: paris_day_start(&self.to).map(|t| t.plus_seconds(86_400)),
            overdue: (self.overdue == "1").then(|| (state.config.report_deadlines(), state.clock.now())),
            ..Default::default()
        }
    }

    /// The same filters as a query string (for the CSV, map and figures links).
    pub fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("status", &self.status),
            ("level", &self.level),
            ("territory", &self.territory),
            ("situation", &self.situation),
            ("source", &self.source),
            ("from", &self.from),
            ("to", &self.to),
            ("overdue", &self.overdue),
        ])
        .unwrap_or_default()
    }
}

/// A line of the queue.
pub struct Line {
    report: Report,
    territory: String,
    acknowledge_due: veille_domain::Timestamp,
    answer_due: veille_domain::Timestamp,
    overdue: bool,
}

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
    /// The account works with sites: the map shows them beside the reports.
    with_sites: bool,
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
}

impl QueuePage {
    fn overdue_link(&self) -> String {
        self.ctx.tf("report.queue.overdue_link", &[("count", &self.overdue_count.to_string())])
    }
}

/// Most lines the queue page lists (the count, CSV, map and API say how many match).
pub const QUEUE_PAGE: i64 = 500;

/// GET /reports
pub async fn queue(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    gate(&who)?;
    let all_territories = territories::list(&state.db).await?;
    let filter = q.filter(&state, &who);
    let d = state.config.report_deadlines();
    let now = state.clock.now();
    let name = |id: Option<TerritoryId>| id.and_then(|id| all_territories.iter().find(|t| t.id == id)).map(|t| t.name.clone()).unwrap_or_default();
    let found = reports::list(&state.db, &filter, QUEUE_PAGE + 1).await?;
    let truncated = found.len() as i64 > QUEUE_PAGE;
    let lines = found
        .into_iter()
        .take(QUEUE_PAGE as usize)
        .map(|r| Line {
            territory: name(r.territory),
            acknowledge_due: r.acknowledge_due(&d),
            answer_due: r.answer_due(&d),
            overdue: r.is_overdue(&d, now),
            report: r,
        })
        .collect();
    let overdue_filter = Filter { overdue: Some((d, now)), readable_by: filter.readable_by.clone(), ..Default::default() };
    let overdue_count = reports::count(&state.db, &overdue_filter).await?;
    let can_take_in = super::intake::gate(&who).is_ok();
    Ok(render(&QueuePage {
        ctx,
        lines,
        q,
        statuses: STATUSES.to_vec(),
        situations: SITUATIONS.to_vec(),
        sources: SOURCES.to_vec(),
        territories: all_territories,
        overdue_count,
        can_take_in,
        truncated,
        with_sites: crate::sites::gate(&who).is_ok(),
    }))
}

/// GET /reports.geojson: the open reports of the filtered queue that have a
/// point, as GeoJSON points (reference, level, status, link) for the queue's
/// map. Sites will be a second layer of the same map.
pub async fn map_geojson(State(state): State<AppState>, who: Authenticated, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    gate(&who)?;
    let mut filter = q.filter(&state, &who);
    if filter.status.as_deref() != Some("closed") {
        filter.open = Some(true);
    }
    let d = state.config.report_deadlines();
    let now = state.clock.now();
    let features: Vec<serde_json::Value> = reports::list(&state.db, &filter, 5000)
        .await?
        .into_iter()
        .filter_map(|r| {
            let (lon, lat) = (r.lon?, r.lat?);
            Some(serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "reference": r.reference, "level": r.effective_level(), "status": r.status,
                    "overdue": r.is_overdue(&d, now), "url": format!("/reports/{}", r.id),
                },
            }))
        })
        .collect();
    let body = serde_json::json!({"type": "FeatureCollection", "features": features});
    Ok(([(axum::http::header::CONTENT_TYPE, "application/geo+json")], body.to_string()).into_response())
}

fn csv_field(text: &str) -> String {
    // Quoted, quotes doubled; a leading formula character is neutralised for spreadsheets.
    let safe = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    format!("\"{}\"", safe.replace('"', "\"\""))
}

/// Most rows of a CSV export.
pub const CSV_MAX: i64 = 50_000;

/// GET /reports.csv: the queue with its filters, without free text nor contact
/// details (reference, dates, level, reasons, situations, flags, status,
/// outcome, territory, source, channel, counts, deadlines). Audited.
pub async fn export_csv(State(state): State<AppState>, who: Authenticated, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    gate(&who)?;
    let all_territories = territories::list(&state.db).await?;
    let filter = q.filter(&state, &who);
    let d = state.config.report_deadlines();
    let now = state.clock.now();
    let rows: Vec<Report> = reports::list(&state.db, &filter, CSV_MAX).await?;
    let mut out = String::from(
        "reference,received_at,level,computed_level,reasons,situations,flags,status,outcome,territory,source,channel,adults,children,tents,\
         acknowledged_at,acknowledge_due,answered_at,answer_due,overdue\r\n",
    );
    let when = |t: Option<veille_domain::Timestamp>| t.map(|t| t.to_paris_rfc3339()).unwrap_or_default();
    for r in &rows {
        let territory = r.territory.and_then(|id| all_territories.iter().find(|t| t.id == id)).map(|t| t.code.clone()).unwrap_or_default();
        let fields = [
            r.reference.clone(),
            r.created_at.to_paris_rfc3339(),
            r.effective_level().to_string(),
            r.level.to_string(),
            r.reasons.join(" "),
            r.situations.join(" "),
            r.seen.join(" "),
            r.status.clone(),
            r.outcome.clone().unwrap_or_default(),
            territory,
            r.source.clone(),
            r.channel.clone(),
            r.adults.to_string(),
            r.children.to_string(),
            r.tents.to_string(),
            when(r.acknowledged_at),
            r.acknowledge_due(&d).to_paris_rfc3339(),
            when(r.answered_at),
            r.answer_due(&d).to_paris_rfc3339(),
            if r.is_overdue(&d, now) { "1".into() } else { "0".into() },
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    audit::append_now(
        &state.db,
        audit::NewEntry {
            at: state.clock.now(),
            actor_user: Some(who.account.id),
            actor_organisation: Some(who.account.organisation),
            action: "export",
            record_kind: "report",
            record_id: None,
            record_organisation: Some(who.account.organisation),
            detail: serde_json::json!({"rows": rows.len(), "format": "csv"}),
        },
    )
    .await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"signalements.csv\""),
        ],
        out,
    )
        .into_response())
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
    notes: Vec<Note>,
    panel: Vec<PanelEntry>,
    can_update: bool,
    statuses: Vec<&'static str>,
    outcomes: Vec<&'static str>,
    errors: FieldErrors,
    drafts: Drafts,
    view: PublicView,
    nearby: Vec<Report>,
    /// Reports attached to this one as duplicates.
    duplicates: Vec<Report>,
    /// The main report, when this one is an attached duplicate.
    main: Option<Report>,
    /// The reporter's identity and contact, for those who may update the report.
    reporter: Option<Reporter>,
    /// It has a photo (shown to staff only).
    has_photo: bool,
    acknowledge_due: veille_domain::Timestamp,
    answer_due: veille_domain::Timestamp,
    overdue: bool,
    /// The known site the report is linked to (when the actor may read it).
    site: Option<veille_storage::sites::Site>,
    /// Active sites near the report's point, not linked: probably the same place.
    near_sites: Vec<veille_storage::sites::Site>,
    /// Names of the sites the actor may read, for the timeline.
    site_names: std::collections::HashMap<String, String>,
}

/// The restricted reporter fields: identity and contact.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Reporter {
    /// Name, function, structure (partner intake).
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Agreed to be contacted and sent the follow-up by e-mail.
    pub consent: bool,
    /// The e-mail was confirmed (or typed by staff).
    pub email_confirmed: bool,
}

/// The reporter's identity and contact, if `who` may read them: those who may
/// update the report (its organisation's staff within their territories, the
/// coordinating organisation's staff who handle it), by the permission function.
pub fn reporter_for(who: &Authenticated, r: &Report) -> Option<Reporter> {
    let has_any = r.reporter_name.is_some() || r.contact_email.is_some() || r.contact_phone.is_some();
    (has_any && who.can(Action::Update, &resource(r)).allowed).then(|| Reporter {
        name: r.reporter_name.clone(),
        email: r.contact_email.clone(),
        phone: r.contact_phone.clone(),
        consent: r.contact_consent,
        email_confirmed: r.email_confirmed,
    })
}

impl ShowPage {
    fn reason_label(&self, code: &str) -> String {
        match super::rules().reason_key(code) {
            Some(key) => self.ctx.t(key),
            None => code.to_owned(),
        }
    }
    fn event_value(&self, e: &Event, value: &Option<String>) -> String {
        let Some(v) = value else { return String::new() };
        match e.kind.as_str() {
            "status" | "created" => self.ctx.t(&format!("report.status.{v}")),
            "assigned" => if v == &self.report.team.map(|t| t.to_string()).unwrap_or_default() { self.team.clone() } else { v.clone() },
            "site" => self.site_names.get(v).cloned().unwrap_or_else(|| self.ctx.t("report.staff.site_unknown")),
            _ => v.clone(),
        }
    }
}

/// A report the actor may read, then do `action` on (404 when it may not read it).
pub async fn load(state: &AppState, who: &Authenticated, id: &str, action: Action) -> AppResult<Report> {
    gate(who)?;
    let id: Uuid = id.parse().map_err(|_| AppError::not_found())?;
    let report = reports::get(&state.db, id).await?;
    if !who.can(Action::Read, &resource(&report)).allowed {
        return Err(AppError::not_found());
    }
    who.require(action, &resource(&report))?;
    Ok(report)
}

async fn page(state: &AppState, ctx: PageCtx, who: &Authenticated, report: Report, errors: FieldErrors, drafts: Drafts) -> AppResult<ShowPage> {
    let territory = match report.territory {
        Some(t) => territories::get(&state.db, t).await.map(|t| format!("{} · {}", t.code, t.name)).unwrap_or_default(),
        None => String::new(),
    };
    let organisation = match report.organisation {
        Some(o) => organisations::get(&state.db, o).await?.name,
        None => String::new(),
    };
    let team = match report.team {
        Some(t) => teams::get(&state.db, t).await?.name,
        None => String::new(),
    };
    let res = resource(&report);
    let nearby = possible_duplicates(state, who, &report).await?;
    let duplicates = reports::duplicates_of(&state.db, report.id).await?.into_iter().filter(|r| who.can(Action::Read, &resource(r)).allowed).collect();
    let main = match report.duplicate_of {
        Some(m) => Some(reports::get(&state.db, m).await?).filter(|m| who.can(Action::Read, &resource(m)).allowed),
        None => None,
    };
    let readable_sites = crate::sites::readable_sites(state, who).await?;
    let site = report.site_id.as_ref().and_then(|id| readable_sites.iter().find(|s| s.id.to_string() == *id).cloned());
    let near_sites = sites_near(&readable_sites, &report);
    let site_names = readable_sites.iter().map(|s| (s.id.to_string(), s.name.clone())).collect();
    let d = state.config.report_deadlines();
    Ok(ShowPage {
        site,
        near_sites,
        site_names,
        reporter: reporter_for(who, &report),
        has_photo: reports::has_photo(&state.db, report.id).await?,
        acknowledge_due: report.acknowledge_due(&d),
        answer_due: report.answer_due(&d),
        overdue: report.is_overdue(&d, state.clock.now()),
        nearby,
        duplicates,
        main,
        events: reports::events(&state.db, report.id).await?,
        notes: reports::notes(&state.db, report.id).await?,
        panel: who_can_read(&state.db, &res).await?,
        can_update: who.can(Action::Update, &res).allowed,
        statuses: STATUSES.to_vec(),
        outcomes: OUTCOMES.to_vec(),
        view: drafts.preview.clone().unwrap_or_else(|| PublicView::of(&report)),
        ctx,
        report,
        territory,
        organisation,
        team,
        errors,
        drafts,
    })
}

/// Active sites within the duplicate radius of the triage rules of a report's
/// point and not linked to it: probably the place it is about.
fn sites_near(sites: &[veille_storage::sites::Site], report: &Report) -> Vec<veille_storage::sites::Site> {
    let Some(here) = report.lon.zip(report.lat).and_then(|(x, y)| veille_geo::LonLat::new(x, y).ok()) else { return Vec::new() };
    let radius = super::rules().repeat.radius_m;
    sites
        .iter()
        .filter(|s| s.status == "active" && report.site_id.as_deref() != Some(s.id.to_string().as_str()))
        .filter(|s| veille_geo::LonLat::new(s.lon, s.lat).is_ok_and(|p| veille_geo::distance_m(p, here) <= radius))
        .cloned()
        .collect()
}

/// The site form: a site id, or empty to unlink.
#[derive(Deserialize, Default)]
pub struct SiteInput {
    #[serde(default)]
    site: String,
    #[serde(default)]
    version: String,
}

/// POST /reports/{id}/site: links the report to a known site the actor may
/// read (or unlinks it), audited and on the timeline.
pub async fn set_site(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<SiteInput>) -> AppResult<Response> {
    let report = load(&state, &who, &id, Action::Update).await?;
    let site = match input.site.trim() {
        "" => None,
        s => {
            match crate::error::found(crate::sites::load(&state, &who, s, Action::Read).await)? {
                Some((x, _)) => Some(x.id.to_string()),
                None => {
                    let mut errors = FieldErrors::new();
                    errors.add("site", ctx.t("report.intake.site_invalid"));
                    let p = page(&state, ctx, &who, report, errors, Drafts::default()).await?;
                    return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
                }
            }
        }
    };
    let version = input.version.parse().unwrap_or(-1);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    reports::set_site(&mut tx, &report, site.as_deref(), who.account.id, version, now).await?;
    audit::append(&mut tx, entry(&who, now, "update", &report, serde_json::json!({"field": "site_id", "from": report.site_id, "to": site}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/reports/{}", report.id)))
}

/// Open reports the actor may read, near this one in place and time (the
/// repeat window of the triage rules): possible duplicates, for the coordinator to judge.
async fn possible_duplicates(state: &AppState, who: &Authenticated, report: &Report) -> AppResult<Vec<Report>> {
    if report.duplicate_of.is_some() {
        return Ok(Vec::new());
    }
    let (Some(lon), Some(lat)) = (report.lon, report.lat) else { return Ok(Vec::new()) };
    let distinct = reports::kept_separate_from(&state.db, report.id).await?;
    let Ok(here) = veille_geo::LonLat::new(lon, lat) else { return Ok(Vec::new()) };
    let w = &super::rules().repeat;
    let dlat = w.radius_m / 111_000.0 * 1.1;
    let dlon = dlat / lat.to_radians().cos().max(0.01);
    let window = w.days * 86_400;
    let found = reports::near(&state.db, lon, lat, dlon, dlat, report.created_at.plus_seconds(-window)).await?;
    Ok(found
        .into_iter()
        .filter(|r| r.id != report.id && r.status != "closed" && r.duplicate_of.is_none() && !distinct.contains(&r.id))
        .filter(|r| r.created_at <= report.created_at.plus_seconds(window))
        .filter(|r| r.lon.zip(r.lat).and_then(|(x, y)| veille_geo::LonLat::new(x, y).ok()).is_some_and(|p| veille_geo::distance_m(p, here) <= w.radius_m))
        .filter(|r| who.can(Action::Read, &resource(r)).allowed)
        .collect())
}

/// An audit entry by `who` about a report.
pub fn entry<'a>(who: &Authenticated, at: veille_domain::Timestamp, action: &'a str, r: &Report, detail: serde_json::Value) -> audit::NewEntry<'a> {
    audit::NewEntry::about(at, Some((who.account.id, who.account.organisation)), action, "report", Some(r.id.to_string()), r.organisation)
        .with_detail(detail)
}

/// The audit entry of a read of a report, naming the restricted fields shown.
pub fn read_entry<'a>(who: &Authenticated, at: veille_domain::Timestamp, r: &Report, via: &str) -> audit::NewEntry<'a> {
    let fields: Vec<&str> = if reporter_for(who, r).is_some() { vec!["reporter"] } else { vec![] };
    entry(who, at, "read", r, serde_json::json!({"via": via, "restricted_fields": fields}))
}

/// GET /reports/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let report = load(&state, &who, &id, Action::Read).await?;
    audit::append_now(&state.db, read_entry(&who, state.clock.now(), &report, "page")).await?;
    let p = page(&state, ctx, &who, report, FieldErrors::new(), Drafts::default()).await?;
    Ok(render(&p))
}

/// Note form.
#[derive(Deserialize, Default)]
pub struct NoteInput {
    #[serde(default)]
    body: String,
}

/// POST /reports/{id}/notes
pub async fn add_note(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<NoteInput>) -> AppResult<Response> {
    let report = load(&state, &who, &id, Action::Update).await?;
    let body = input.body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        let mut errors = FieldErrors::new();
        errors.add("note", ctx.t("report.staff.note_invalid"));
        let drafts = Drafts { note: input.body.clone(), ..Default::default() };
        let p = page(&state, ctx, &who, report, errors, drafts).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    reports::add_note(&mut tx, report.id, who.account.id, body, now).await?;
    audit::append(&mut tx, entry(&who, now, "update", &report, serde_json::json!({"field": "internal_note"}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/reports/{}", report.id)))
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

/// Checks a status change; the outcome is required to close.
pub fn check_status(lang: crate::i18n::Lang, status: &str, outcome: &str) -> Result<Option<String>, FieldErrors> {
    let mut errors = FieldErrors::new();
    if !STATUSES.contains(&status) {
        errors.add("status", lang.t("form.choose_one"));
    }
    let outcome = match (status, outcome) {
        ("closed", o) if OUTCOMES.contains(&o) => Some(o.to_owned()),
        ("closed", _) => {
            errors.add("outcome", lang.t("report.staff.outcome_required"));
            None
        }
        _ => None,
    };
    if errors.is_empty() {
        Ok(outcome)
    } else {
        Err(errors)
    }
}

/// POST /reports/{id}/status
pub async fn set_status(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<StatusInput>) -> AppResult<Response> {
    let report = load(&state, &who, &id, Action::Update).await?;
    let outcome = match check_status(ctx.lang, &input.status, &input.outcome) {
        Ok(o) => o,
        Err(errors) => {
            let p = page(&state, ctx, &who, report, errors, Drafts::default()).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
        }
    };
    veille_app::reports::change_status(&state, &who, &report, &input.status, outcome.as_deref(), input.version.parse().unwrap_or(-1)).await?;
    Ok(see_other(&format!("/reports/{}", report.id)))
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
pub async fn set_level(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<LevelInput>) -> AppResult<Response> {
    let report = load(&state, &who, &id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    let level = input.level.parse::<i64>().ok().filter(|l| (1..=2).contains(l));
    if level.is_none() {
        errors.add("level", ctx.t("form.choose_one"));
    }
    let reason = input.reason.trim();
    if reason.chars().count() < 5 || reason.chars().count() > 500 {
        errors.add("level_reason", ctx.t("report.staff.override_reason_required"));
    }
    let Some(level) = level.filter(|_| errors.is_empty()) else {
        let drafts = Drafts { level_reason: input.reason.clone(), ..Default::default() };
        let p = page(&state, ctx, &who, report, errors, drafts).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    };
    let version = input.version.parse().unwrap_or(-1);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    reports::set_level(&mut tx, &report, level, reason, who.account.id, version, now).await?;
    audit::append(
        &mut tx,
        entry(&who, now, "update", &report, serde_json::json!({"field": "level_override", "from": report.effective_level(), "to": level, "computed": report.level})),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/reports/{}", report.id)))
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

/// Checks a public answer.
pub fn check_answer(lang: crate::i18n::Lang, answer: &str) -> Result<String, FieldErrors> {
    let answer = answer.trim();
    if answer.is_empty() || answer.chars().count() > 2000 {
        let mut errors = FieldErrors::new();
        errors.add("answer", lang.t("report.staff.answer_invalid"));
        return Err(errors);
    }
    Ok(answer.to_owned())
}

/// Publishes the public answer, audited, and tells the reporters who asked.
pub async fn apply_answer(state: &AppState, who: &Authenticated, report: &Report, answer: &str, version: i64) -> AppResult<()> {
    let dups = reports::duplicates_of(&state.db, report.id).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    reports::set_answer(&mut tx, report, answer, who.account.id, version, now).await?;
    audit::append(&mut tx, entry(who, now, "update", report, serde_json::json!({"field": "public_answer"}))).await?;
    super::notify_reporter(&mut tx, state, report, &report.status, answer).await?;
    for d in &dups {
        super::notify_reporter(&mut tx, state, d, &report.status, answer).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// POST /reports/{id}/answer
pub async fn set_answer(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<AnswerInput>) -> AppResult<Response> {
    let report = load(&state, &who, &id, Action::Update).await?;
    let checked = check_answer(ctx.lang, &input.answer);
    if checked.is_err() || input.action == "preview" {
        let (status, errors, preview) = match &checked {
            Ok(answer) => (StatusCode::OK, FieldErrors::new(), Some(PublicView { answer: answer.clone(), answer_at: Some(state.clock.now()), ..PublicView::of(&report) })),
            Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.clone(), None),
        };
        let drafts = Drafts { answer: input.answer.clone(), preview, ..Default::default() };
        let p = page(&state, ctx, &who, report, errors, drafts).await?;
        return Ok(render_status(status, &p));
    }
    let answer = checked.unwrap_or_default();
    apply_answer(&state, &who, &report, &answer, input.version.parse().unwrap_or(-1)).await?;
    Ok(see_other(&format!("/reports/{}", report.id)))
}

/// Duplicate forms: the other report of the pair, and this one's version.
#[derive(Deserialize, Default)]
pub struct DuplicateInput {
    #[serde(default)]
    other: String,
    #[serde(default)]
    version: String,
}

/// The other report of a duplicate decision: one the actor may update, not this one.
async fn other_report(state: &AppState, who: &Authenticated, report: &Report, other: &str) -> AppResult<Option<Report>> {
    let Ok(id) = other.parse::<Uuid>() else { return Ok(None) };
    if id == report.id {
        return Ok(None);
    }
    let other = match reports::get(&state.db, id).await {
        Ok(r) => r,
        Err(veille_storage::StorageError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(other).filter(|o| who.can(Action::Update, &resource(o)).allowed))
}

async fn refuse(state: &AppState, ctx: PageCtx, who: &Authenticated, report: Report, key: &str) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    errors.add("nearby", ctx.t(key));
    let p = page(state, ctx, who, report, errors, Drafts::default()).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
}

/// POST /reports/{id}/duplicate: this report is the same as the open report
/// `other`; it is attached to it (closed as a duplicate) and its reporter
/// follows the main report from then on.
pub async fn attach_duplicate(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<DuplicateInput>) -> AppResult<Response> {
    let report = load(&state, &who, &id, Action::Update).await?;
    let Some(main) = other_report(&state, &who, &report, &input.other).await? else {
        return refuse(&state, ctx, &who, report, "report.staff.duplicate_invalid").await;
    };
    if report.duplicate_of.is_some() || main.duplicate_of.is_some() || main.status == "closed" || !reports::duplicates_of(&state.db, report.id).await?.is_empty() {
        return refuse(&state, ctx, &who, report, "report.staff.duplicate_invalid").await;
    }
    let version = input.version.parse().unwrap_or(-1);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    reports::attach_duplicate(&mut tx, &report, &main, who.account.id, version, now).await?;
    let detail = serde_json::json!({"field": "duplicate_of", "main": main.id.to_string(), "from_status": report.status, "to": "closed"});
    audit::append(&mut tx, entry(&who, now, "update", &report, detail)).await?;
    audit::append(&mut tx, entry(&who, now, "update", &main, serde_json::json!({"field": "duplicate_attached", "duplicate": report.id.to_string()}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/reports/{}", report.id)))
}

/// POST /reports/{id}/keep-separate: the suggested report `other` is a
/// different situation; it is not suggested again.
pub async fn keep_separate(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<DuplicateInput>) -> AppResult<Response> {
    let report = load(&state, &who, &id, Action::Update).await?;
    let Some(other) = other_report(&state, &who, &report, &input.other).await? else {
        return refuse(&state, ctx, &who, report, "report.staff.duplicate_invalid").await;
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if reports::keep_separate(&mut tx, &report, &other, who.account.id, now).await? {
        audit::append(&mut tx, entry(&who, now, "update", &report, serde_json::json!({"field": "kept_separate", "other": other.id.to_string()}))).await?;
        audit::append(&mut tx, entry(&who, now, "update", &other, serde_json::json!({"field": "kept_separate", "other": report.id.to_string()}))).await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/reports/{}", report.id)))
}

/// POST /reports/{id}/detach: undoes an attachment; the report gets back the
/// status it had and its own follow-up.
pub async fn detach_duplicate(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(input): Form<DuplicateInput>) -> AppResult<Response> {
    let report = load(&state, &who, &id, Action::Update).await?;
    let Some(main_id) = report.duplicate_of else {
        return refuse(&state, ctx, &who, report, "report.staff.not_a_duplicate").await;
    };
    let main = reports::get(&state.db, main_id).await?;
    let version = input.version.parse().unwrap_or(-1);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    reports::detach_duplicate(&mut tx, &report, &main, who.account.id, version, now).await?;
    audit::append(&mut tx, entry(&who, now, "update", &report, serde_json::json!({"field": "duplicate_detached", "main": main.id.to_string()}))).await?;
    audit::append(&mut tx, entry(&who, now, "update", &main, serde_json::json!({"field": "duplicate_removed", "duplicate": report.id.to_string()}))).await?;
    tx.commit().await?;
    let back = if who.can(Action::Read, &resource(&main)).allowed { main.id } else { report.id };
    Ok(see_other(&format!("/reports/{back}")))
}
