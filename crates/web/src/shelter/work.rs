//! Pages of operations on sites (plan, prior social diagnosis, outcomes on
//! the day, report) and of Housing First (dwellings, landlords, tenancies,
//! checks with their checklist, follow-up actions, journal). The use cases
//! are `veille_app::shelter::{operations, housing}`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_app::shelter::housing::{self, DwellingPage};
use veille_app::shelter::operations::{self as ops, Counts};
use veille_app::shelter::{
    self as app, ActionInput, CheckInput, DiagnosisInput, DiagnosisLine, Dwelling, DwellingCheck, DwellingInput, Facility, FollowUp, Landlord, LandlordInput,
    Operation, OperationInput, OutcomeInput, TenancyInput,
};
use veille_app::sites::{Site, Territory};
use veille_domain::shelter::{
    ActionStatus, CheckPoint, CheckRating, DiagnosisVulnerability, LandlordKind, LegalFrame, Night, OperationKind, OperationOutcome, SupportIntensity,
};
use veille_domain::Action;

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

fn refused(t: &impl Template) -> Response {
    render_status(StatusCode::UNPROCESSABLE_ENTITY, t)
}

// ---------------------------------------------------------------- operations

#[derive(Template)]
#[template(path = "shelter/operations.html")]
struct OperationsPage {
    ctx: PageCtx,
    operations: Vec<Operation>,
    undiagnosed: Vec<Operation>,
    sites: Vec<Site>,
    form: OperationInput,
    errors: FieldErrors,
    kinds: &'static [OperationKind],
    frames: &'static [LegalFrame],
    justice: bool,
}

async fn operations_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: OperationInput, errors: FieldErrors) -> AppResult<OperationsPage> {
    housing::gate(who)?;
    let justice = who.actor.holds(veille_domain::FieldGroup::Justice);
    Ok(OperationsPage {
        ctx,
        operations: ops::list(state, who, None).await?,
        undiagnosed: ops::undiagnosed(state, who).await?,
        sites: veille_app::sites::readable_sites(state, who).await?.into_iter().filter(|s| s.status == "active").collect(),
        form,
        errors,
        kinds: OperationKind::ALL,
        frames: LegalFrame::ALL,
        justice,
    })
}

/// What the operations page may be opened with.
#[derive(Deserialize, Default)]
pub struct OperationsQuery {
    #[serde(default)]
    site: String,
}

/// GET /operations
pub async fn operations(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<OperationsQuery>) -> AppResult<Response> {
    let form = OperationInput { site_id: q.site, kind: "sheltering".into(), legal_frame: "none".into(), ..Default::default() };
    Ok(render(&operations_page(&state, ctx, &who, form, FieldErrors::new()).await?))
}

/// POST /operations
pub async fn plan(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<OperationInput>) -> AppResult<Response> {
    match ops::plan(&state, &who, ctx.lang, &form).await? {
        Ok(o) => Ok(see_other(&format!("/operations/{}", o.id))),
        Err(errors) => Ok(refused(&operations_page(&state, ctx, &who, form, errors).await?)),
    }
}

#[derive(Template)]
#[template(path = "shelter/operation.html")]
struct OperationPage {
    ctx: PageCtx,
    operation: Operation,
    lines: Vec<DiagnosisLine>,
    counts: Counts,
    legal: bool,
    missing: bool,
    facilities: Vec<Facility>,
    vulnerabilities: &'static [DiagnosisVulnerability],
    outcomes: &'static [OperationOutcome],
    diagnosis: DiagnosisInput,
    outcome: OutcomeInput,
    report: String,
    errors: FieldErrors,
    can_update: bool,
}

impl OperationPage {
    fn has_vulnerability(&self, v: &DiagnosisVulnerability) -> bool {
        self.diagnosis.vulnerabilities.split(',').any(|c| c.trim() == v.code())
    }
    fn facility_name(&self, line: &DiagnosisLine) -> String {
        line.facility.and_then(|f| self.facilities.iter().find(|x| x.id == f)).map(|f| f.name.clone()).unwrap_or_default()
    }
    fn people_with(&self, outcome: &str) -> i64 {
        self.counts.people.get(outcome).copied().unwrap_or(0)
    }
}

struct OperationDrafts {
    diagnosis: DiagnosisInput,
    outcome: OutcomeInput,
    report: String,
}

async fn operation_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    id: &str,
    drafts: OperationDrafts,
    errors: FieldErrors,
) -> AppResult<OperationPage> {
    let (operation, lines) = ops::read(state, who, id, "page").await?;
    let counts = ops::counts(&lines);
    Ok(OperationPage {
        ctx,
        legal: ops::reads_legal_frame(who, &operation),
        missing: ops::missing_diagnosis(&operation, &lines, app::tonight(state)),
        can_update: who.can(Action::Update, &ops::resource(&operation)).allowed && operation.status == "planned",
        operation,
        counts,
        lines,
        facilities: app::facilities(state).await?,
        vulnerabilities: DiagnosisVulnerability::ALL,
        outcomes: OperationOutcome::ALL,
        diagnosis: drafts.diagnosis,
        outcome: drafts.outcome,
        report: drafts.report,
        errors,
    })
}

fn no_drafts() -> OperationDrafts {
    OperationDrafts {
        diagnosis: DiagnosisInput { people: "1".into(), ..Default::default() },
        outcome: OutcomeInput { nights: "7".into(), ..Default::default() },
        report: String::new(),
    }
}

/// GET /operations/{id} (an audited read)
pub async fn operation(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    Ok(render(&operation_page(&state, ctx, &who, &id, no_drafts(), FieldErrors::new()).await?))
}

/// The diagnosis form: vulnerabilities come as several checkboxes.
fn diagnosis_input(pairs: &[(String, String)]) -> DiagnosisInput {
    let f = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let v: Vec<&str> = pairs.iter().filter(|(n, _)| n == "vulnerability").map(|(_, v)| v.as_str()).collect();
    DiagnosisInput {
        person_id: f("person_id"),
        label: f("label"),
        people: f("people"),
        vulnerabilities: if v.is_empty() { f("vulnerabilities") } else { v.join(",") },
        needs: f("needs"),
        proposal: f("proposal"),
    }
}

/// POST /operations/{id}/diagnosis
pub async fn add_diagnosis(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let o = ops::load(&state, &who, &id, Action::Update).await?;
    let input = diagnosis_input(&pairs);
    match ops::add_diagnosis(&state, &who, ctx.lang, &o, &input).await? {
        Ok(_) => Ok(see_other(&format!("/operations/{}#diagnosis", o.id))),
        Err(errors) => Ok(refused(&operation_page(&state, ctx, &who, &id, OperationDrafts { diagnosis: input, ..no_drafts() }, errors).await?)),
    }
}

/// POST /operations/{id}/outcomes
pub async fn outcome(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<OutcomeInput>,
) -> AppResult<Response> {
    let o = ops::load(&state, &who, &id, Action::Update).await?;
    match ops::record_outcome(&state, &who, ctx.lang, &o, &form).await? {
        Ok(()) => Ok(see_other(&format!("/operations/{}#day", o.id))),
        Err(errors) => Ok(refused(&operation_page(&state, ctx, &who, &id, OperationDrafts { outcome: form, ..no_drafts() }, errors).await?)),
    }
}

/// The report form.
#[derive(Deserialize, Default)]
pub struct FinishForm {
    #[serde(default)]
    report: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    cancelled: String,
}

/// POST /operations/{id}/finish
pub async fn finish(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<FinishForm>,
) -> AppResult<Response> {
    let o = ops::load(&state, &who, &id, Action::Update).await?;
    match ops::finish(&state, &who, ctx.lang, &o, &form.report, !form.cancelled.is_empty(), app::version(&form.version)).await? {
        Ok(()) => Ok(see_other(&format!("/operations/{}", o.id))),
        Err(errors) => Ok(refused(&operation_page(&state, ctx, &who, &id, OperationDrafts { report: form.report, ..no_drafts() }, errors).await?)),
    }
}

// ---------------------------------------------------------------- Housing First

#[derive(Template)]
#[template(path = "shelter/housing.html")]
struct HousingPage {
    ctx: PageCtx,
    dwellings: Vec<Dwelling>,
    landlords: Vec<Landlord>,
    overdue_checks: Vec<DwellingCheck>,
    overdue_actions: Vec<FollowUp>,
    territories: Vec<Territory>,
    dwelling: DwellingInput,
    landlord: LandlordInput,
    kinds: &'static [LandlordKind],
    errors: FieldErrors,
}

async fn housing_page(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    dwelling: DwellingInput,
    landlord: LandlordInput,
    errors: FieldErrors,
) -> AppResult<HousingPage> {
    Ok(HousingPage {
        ctx,
        dwellings: housing::dwellings(state, who).await?,
        landlords: housing::landlords(state, who).await?,
        overdue_checks: housing::overdue_checks(state, who).await?,
        overdue_actions: housing::overdue_actions(state, who).await?,
        territories: veille_app::sites::territories(state).await?,
        dwelling,
        landlord,
        kinds: LandlordKind::ALL,
        errors,
    })
}

/// GET /housing
pub async fn housing_home(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let d = DwellingInput { rooms: "1".into(), check_every_days: "30".into(), ..Default::default() };
    Ok(render(&housing_page(&state, ctx, &who, d, LandlordInput::default(), FieldErrors::new()).await?))
}

/// POST /housing/dwellings
pub async fn add_dwelling(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<DwellingInput>) -> AppResult<Response> {
    match housing::add_dwelling(&state, &who, ctx.lang, &form).await? {
        Ok(id) => Ok(see_other(&format!("/housing/dwellings/{id}"))),
        Err(errors) => Ok(refused(&housing_page(&state, ctx, &who, form, LandlordInput::default(), errors).await?)),
    }
}

/// POST /housing/landlords
pub async fn add_landlord(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<LandlordInput>) -> AppResult<Response> {
    match housing::add_landlord(&state, &who, ctx.lang, &form).await? {
        Ok(_) => Ok(see_other("/housing#landlords")),
        Err(errors) => {
            let d = DwellingInput { rooms: "1".into(), check_every_days: "30".into(), ..Default::default() };
            Ok(refused(&housing_page(&state, ctx, &who, d, form, errors).await?))
        }
    }
}

#[derive(Template)]
#[template(path = "shelter/dwelling.html")]
struct DwellingView {
    ctx: PageCtx,
    page: DwellingPage,
    today: Night,
    points: &'static [CheckPoint],
    ratings: &'static [CheckRating],
    supports: &'static [SupportIntensity],
    statuses: &'static [ActionStatus],
    tenancy: TenancyInput,
    check: CheckInput,
    journal: String,
    errors: FieldErrors,
    can_update: bool,
}

impl DwellingView {
    fn rating_of(&self, point: &CheckPoint) -> String {
        let c = &self.check;
        match point {
            CheckPoint::State => c.state.clone(),
            CheckPoint::Safety => c.safety.clone(),
            CheckPoint::Hygiene => c.hygiene.clone(),
            CheckPoint::Neighbourhood => c.neighbourhood.clone(),
            CheckPoint::Rent => c.rent.clone(),
            CheckPoint::Wishes => c.wishes.clone(),
        }
    }
    fn late(&self, a: &FollowUp) -> bool {
        a.status.open() && a.due_on.is_some_and(|d| d < self.today)
    }
    fn overdue(&self, c: &DwellingCheck) -> bool {
        housing::overdue(c, self.today)
    }
}

struct DwellingDrafts {
    tenancy: TenancyInput,
    check: CheckInput,
    journal: String,
}

fn dwelling_drafts() -> DwellingDrafts {
    DwellingDrafts { tenancy: TenancyInput { support: "regular".into(), ..Default::default() }, check: CheckInput::default(), journal: String::new() }
}

async fn dwelling_view(
    state: &AppState,
    ctx: PageCtx,
    who: &Authenticated,
    page: DwellingPage,
    d: DwellingDrafts,
    errors: FieldErrors,
) -> AppResult<DwellingView> {
    let can_update = who.can(Action::Update, &housing::resource(&page.dwelling)).allowed;
    Ok(DwellingView {
        ctx,
        page,
        today: app::tonight(state),
        points: CheckPoint::ALL,
        ratings: CheckRating::ALL,
        supports: SupportIntensity::ALL,
        statuses: ActionStatus::ALL,
        tenancy: d.tenancy,
        check: d.check,
        journal: d.journal,
        errors,
        can_update,
    })
}

/// GET /housing/dwellings/{id} (an audited read)
pub async fn dwelling(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let page = housing::read(&state, &who, &id, "page").await?;
    Ok(render(&dwelling_view(&state, ctx, &who, page, dwelling_drafts(), FieldErrors::new()).await?))
}

async fn redraw(state: &AppState, ctx: PageCtx, who: &Authenticated, d: Dwelling, drafts: DwellingDrafts, errors: FieldErrors) -> AppResult<Response> {
    let page = housing::page(state, who, d).await?;
    Ok(refused(&dwelling_view(state, ctx, who, page, drafts, errors).await?))
}

/// POST /housing/dwellings/{id}/tenancies
pub async fn add_tenancy(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<TenancyInput>,
) -> AppResult<Response> {
    let d = housing::load(&state, &who, &id, Action::Update).await?;
    match housing::add_tenancy(&state, &who, ctx.lang, &d, &form).await? {
        Ok(()) => Ok(see_other(&format!("/housing/dwellings/{}", d.id))),
        Err(errors) => redraw(&state, ctx, &who, d, DwellingDrafts { tenancy: form, ..dwelling_drafts() }, errors).await,
    }
}

/// The date of a check to schedule.
#[derive(Deserialize, Default)]
pub struct DueForm {
    #[serde(default)]
    due_on: String,
}

/// POST /housing/dwellings/{id}/checks
pub async fn schedule_check(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<DueForm>,
) -> AppResult<Response> {
    let d = housing::load(&state, &who, &id, Action::Update).await?;
    match housing::schedule_check(&state, &who, ctx.lang, &d, &form.due_on).await? {
        Ok(_) => Ok(see_other(&format!("/housing/dwellings/{}#checks", d.id))),
        Err(errors) => redraw(&state, ctx, &who, d, dwelling_drafts(), errors).await,
    }
}

/// A journal entry.
#[derive(Deserialize, Default)]
pub struct JournalForm {
    #[serde(default)]
    body: String,
}

/// POST /housing/dwellings/{id}/journal
pub async fn journal(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<JournalForm>,
) -> AppResult<Response> {
    let d = housing::load(&state, &who, &id, Action::Update).await?;
    match housing::add_journal(&state, &who, ctx.lang, &d, &form.body).await? {
        Ok(()) => Ok(see_other(&format!("/housing/dwellings/{}#journal", d.id))),
        Err(errors) => redraw(&state, ctx, &who, d, DwellingDrafts { journal: form.body, ..dwelling_drafts() }, errors).await,
    }
}

/// POST /housing/checks/{id}: a check done with its checklist.
pub async fn complete_check(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<CheckInput>,
) -> AppResult<Response> {
    let check_dwelling = housing::check_dwelling(&state, &who, &id).await?;
    match housing::complete_check(&state, &who, ctx.lang, &id, &form).await? {
        Ok(_) => Ok(see_other(&format!("/housing/dwellings/{}#checks", check_dwelling.id))),
        Err(errors) => redraw(&state, ctx, &who, check_dwelling, DwellingDrafts { check: form, ..dwelling_drafts() }, errors).await,
    }
}

/// POST /housing/actions/{id}: an action moves on.
pub async fn set_action(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ActionInput>,
) -> AppResult<Response> {
    let a = housing::load_action(&state, &who, &id).await?;
    let result = housing::set_action(&state, &who, ctx.lang, &a, &form).await?;
    let dwelling = if a.record_kind == "dwelling" { veille_app::found(housing::load(&state, &who, &a.record_id, Action::Read).await)? } else { None };
    match (result, dwelling) {
        (Ok(_), Some(d)) => Ok(see_other(&format!("/housing/dwellings/{}#actions", d.id))),
        (Ok(_), None) => Ok(see_other("/housing")),
        (Err(errors), Some(d)) => redraw(&state, ctx, &who, d, dwelling_drafts(), errors).await,
        (Err(_), None) => Err(veille_app::Error::bad_request().into()),
    }
}
