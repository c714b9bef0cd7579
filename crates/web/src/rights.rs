//! The rights of the people recorded: the retention page (dry-run report and
//! run, for the instance administrator; legal holds), a file's rights page
//! (holds, erasure, access request as a page, PDF and JSON), and their API.
//! Every rule is in `veille_app::rights`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use veille_app::rights::{self as app, AccessExport, PersonRights, RetentionReport};
use veille_documents::{Block, Document};
use veille_storage::retention::Hold;

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::routes::{schema, Access, ApiDoc, Registry};
use crate::AppState;

/// The routes of the rights of the people recorded.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.get("/rights", Signed, "Retention report and legal holds (instance and organisation administrators)", get(page))
        .post("/rights/retention", Signed, "Run retention now (instance administrator)", post(run))
        .get("/rights/archive", Signed, "Search the restricted archive (coordinators and administrators, with a reason)", get(archive_page))
        .post("/rights/archive", Signed, "The archived files found, read with a reason (audited)", post(archive_search))
        .get("/rights/people/{id}", Signed, "A person file's rights: legal holds, erasure, access request", get(person))
        .post("/rights/people/{id}/holds", Signed, "Place a legal hold on a person file", post(place_hold))
        .post("/rights/holds/{id}/lift", Signed, "Lift a legal hold", post(lift_hold))
        .post("/rights/people/{id}/erase", Signed, "Erase a person file (not under a legal hold)", post(erase))
        .get("/rights/people/{id}/access", Signed, "A person's access request, as a page (audited)", get(access_page))
        .get("/rights/people/{id}/access.pdf", Signed, "A person's access request, as PDF (audited)", get(access_pdf))
        .get("/rights/people/{id}/access.json", Signed, "A person's access request, as JSON (audited)", get(access_json))
        .get("/api/v1/retention", Signed, "What retention would move now (counts only; instance administrator)", get(api_retention))
        .doc(ApiDoc::default().response(schema::<RetentionReport>))
        .get("/api/v1/people/{id}/access-request", Signed, "Everything about a person across organisations, with its read log (audited)", get(api_access))
        .doc(ApiDoc::default().response(schema::<AccessExport>))
}

#[derive(Template)]
#[template(path = "rights/index.html")]
struct RightsPage {
    ctx: PageCtx,
    report: Option<RetentionReport>,
    ran: bool,
    holds: Vec<Hold>,
    periods: String,
    /// The file id typed in the lookup form, and its error.
    person: String,
    errors: FieldErrors,
}

/// The query of the rights page: a file to open, or the outcome of a run.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RightsQuery {
    /// A person file's id (the form "open a file's rights").
    pub person: String,
    /// Set after a run or an erasure.
    pub done: String,
}

async fn rights_page(state: &AppState, ctx: PageCtx, who: &Authenticated, ran: bool, person: String, errors: FieldErrors) -> AppResult<RightsPage> {
    let holds = app::holds(state, who).await?;
    let report = match app::dry_run(state, who).await {
        Ok(r) => Some(r),
        Err(e) if e.kind == veille_app::ErrorKind::Forbidden => None,
        Err(e) => return Err(e.into()),
    };
    let (active_years, archive_years) = veille_app::instance::retention_years(&state.config);
    let days = |n: i64| ctx.tn("rights.days", n);
    let years = |n: u32| ctx.tn("rights.years", n);
    let periods = ctx.tf(
        "rights.periods",
        &[
            ("active", &days(state.config.retention_active_days)),
            ("archive", &days(state.config.retention_archive_days)),
            ("active_about", &years(active_years)),
            ("archive_about", &years(archive_years)),
        ],
    );
    Ok(RightsPage { ctx, report, ran, holds, periods, person, errors })
}

/// GET /rights
pub async fn page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<RightsQuery>) -> AppResult<Response> {
    let person = q.person.trim();
    if !person.is_empty() {
        if let Ok(id) = person.parse::<veille_domain::PersonId>() {
            return Ok(see_other(&format!("/rights/people/{id}")));
        }
        let mut errors = FieldErrors::new();
        errors.add("person", ctx.t("rights.person_id_invalid"));
        let page = rights_page(&state, ctx, &who, false, person.to_owned(), errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    Ok(render(&rights_page(&state, ctx, &who, !q.done.is_empty(), String::new(), FieldErrors::new()).await?))
}

/// POST /rights/retention
pub async fn run(State(state): State<AppState>, who: Authenticated, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    app::run(&state, &who).await?;
    Ok(see_other("/rights?done=retention"))
}

#[derive(Template)]
#[template(path = "rights/person.html")]
struct PersonPage {
    ctx: PageCtx,
    rights: PersonRights,
    errors: FieldErrors,
    reason: String,
    /// The hold whose lifting was refused, and the reason typed for it.
    lifting: (String, String),
    grounds: &'static [&'static str],
}

impl PersonPage {
    fn stage_label(&self) -> String {
        self.ctx.t(&format!("rights.stage.{}", self.rights.stage.code()))
    }
    /// The reason typed for lifting this hold, when its lifting was refused.
    fn lift_typed(&self, hold: &str) -> &str {
        if self.lifting.0 == hold {
            &self.lifting.1
        } else {
            ""
        }
    }
    fn ground_label(&self, ground: &str) -> String {
        self.ctx.t(&format!("rights.ground.{ground}"))
    }
}

/// The forms of a file's rights page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReasonForm {
    /// Why a hold is placed.
    pub reason: String,
    /// Why a hold is lifted.
    pub lift_reason: String,
    /// The ground of an erasure.
    pub erase_reason: String,
}

/// What was typed in a refused form of the page, to draw it again.
#[derive(Default)]
struct Typed {
    reason: String,
    lifting: (String, String),
}

async fn person_page(state: &AppState, ctx: PageCtx, who: &Authenticated, id: &str, errors: FieldErrors, typed: Typed) -> AppResult<PersonPage> {
    let rights = app::person_rights(state, who, id).await?;
    Ok(PersonPage { ctx, rights, errors, reason: typed.reason, lifting: typed.lifting, grounds: app::ERASURE_GROUNDS })
}

/// GET /rights/people/{id}
pub async fn person(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    Ok(render(&person_page(&state, ctx, &who, &id, FieldErrors::new(), Typed::default()).await?))
}

/// POST /rights/people/{id}/holds
pub async fn place_hold(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> AppResult<Response> {
    match app::place_hold(&state, &who, ctx.lang, &id, &f.reason).await? {
        Ok(_) => Ok(see_other(&format!("/rights/people/{id}"))),
        Err(errors) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &person_page(&state, ctx, &who, &id, errors, Typed { reason: f.reason, ..Typed::default() }).await?,
        )),
    }
}

/// POST /rights/holds/{id}/lift
pub async fn lift_hold(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> AppResult<Response> {
    match app::lift_hold(&state, &who, ctx.lang, &id, &f.lift_reason).await? {
        Ok(person) => Ok(see_other(&format!("/rights/people/{person}"))),
        Err(errors) => {
            let h = app::holds(&state, &who).await?.into_iter().find(|h| h.id == id).ok_or_else(veille_app::Error::not_found)?;
            let typed = Typed { lifting: (id, f.lift_reason), ..Typed::default() };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &person_page(&state, ctx, &who, &h.person.to_string(), errors, typed).await?))
        }
    }
}

/// POST /rights/people/{id}/erase
pub async fn erase(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(f): Form<ReasonForm>) -> AppResult<Response> {
    match app::erase(&state, &who, ctx.lang, &id, &f.erase_reason).await? {
        Ok(_) => Ok(see_other("/rights?done=erased")),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &person_page(&state, ctx, &who, &id, errors, Typed::default()).await?)),
    }
}

#[derive(Template)]
#[template(path = "rights/access.html")]
struct AccessPage {
    ctx: PageCtx,
    person: String,
    doc: Document,
}

/// GET /rights/people/{id}/access
pub async fn access_page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let export = app::access_request(&state, &who, &id).await?;
    let doc = app::access_document(ctx.lang, &export);
    Ok(render(&AccessPage { ctx, person: export.person, doc }))
}

/// GET /rights/people/{id}/access.pdf
pub async fn access_pdf(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let export = app::access_request(&state, &who, &id).await?;
    let pdf = app::access_pdf(ctx.lang, &export).await?;
    Ok(crate::page::download("application/pdf", &format!("droit-d-acces-{}.pdf", export.person), pdf))
}

/// GET /rights/people/{id}/access.json
pub async fn access_json(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let export = app::access_request(&state, &who, &id).await?;
    let body = serde_json::to_vec_pretty(&export).map_err(|e| veille_app::Error::from(anyhow::anyhow!("access request json: {e}")))?;
    Ok(crate::page::download("application/json", &format!("droit-d-acces-{}.json", export.person), body))
}

/// GET /api/v1/retention
pub async fn api_retention(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    Ok(axum::Json(app::dry_run(&state, &who).await?).into_response())
}

/// GET /api/v1/people/{id}/access-request
pub async fn api_access(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    Ok(axum::Json(app::access_request(&state, &who, &id).await?).into_response())
}

#[derive(Template)]
#[template(path = "rights/archive.html")]
struct ArchivePage {
    ctx: PageCtx,
    form: app::ArchiveSearch,
    errors: FieldErrors,
    reasons: &'static [&'static str],
    /// The files found, once a search ran.
    found: Option<Vec<veille_storage::people::Person>>,
}

impl ArchivePage {
    fn reason_label(&self, reason: &str) -> String {
        self.ctx.t(&format!("rights.archive.reason.{reason}"))
    }
    fn gender_label(&self, p: &veille_storage::people::Person) -> String {
        p.fields.gender.map(|g| self.ctx.t(&format!("people.gender.{}", g.code()))).unwrap_or_default()
    }
}

/// GET /rights/archive
pub async fn archive_page(ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    if !app::reads_archive(who.actor.role) {
        return Err(veille_app::Error::forbidden().into());
    }
    Ok(render(&ArchivePage { ctx, form: app::ArchiveSearch::default(), errors: FieldErrors::new(), reasons: app::ARCHIVE_REASONS, found: None }))
}

/// POST /rights/archive (the name searched stays out of the URL)
pub async fn archive_search(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<app::ArchiveSearch>) -> AppResult<Response> {
    match app::search_archive(&state, &who, ctx.lang, &form).await? {
        Ok(found) => Ok(render(&ArchivePage { ctx, form, errors: FieldErrors::new(), reasons: app::ARCHIVE_REASONS, found: Some(found) })),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &ArchivePage { ctx, form, errors, reasons: app::ARCHIVE_REASONS, found: None })),
    }
}
