//! Person pages: the active list, the file (an audited read) with its merged
//! view of linked records, creation with probable duplicates shown while
//! typing, editing, consent, notes, the health section, households, sharing,
//! links, leaving the active list, and the pseudonymised CSV export. Each
//! handler calls its use case in `veille_app::people::files`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_app::people::duplicates::Suggestion;
use veille_app::people::files::{self, FileView, FormContext, Rejected, Territory};
use veille_app::people::input::{ConsentForm, ExitBody, HealthInput, HouseholdInput, NoteInput, OtherBody, PersonForm, ShareInput};
use veille_app::people::{Consent, Encounter, Health, Household, Note, Person, PersonFields, Referral, Share};
use veille_domain::{OrganisationId, PersonId, Timestamp};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::pager::Pager;
use crate::AppState;
use veille_app::access_panel::{who_can_read, PanelEntry};

use super::view::{age_label, basis_code, shown_at, since, Codes};
use super::WithConsent;

// ---------------------------------------------------------------------------
// The list

/// List filters.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// `1`: those who left the active list.
    #[serde(default)]
    left: String,
    /// The page (1 for the first).
    #[serde(default)]
    page: String,
}

/// A search by name, posted so that the name stays out of the address.
#[derive(Deserialize, Default)]
pub struct SearchForm {
    /// What was typed.
    #[serde(default)]
    q: String,
    /// `1`: among those who left the active list.
    #[serde(default)]
    left: String,
}

struct Line {
    person: Person,
    age: String,
    since: String,
}

#[derive(Template)]
#[template(path = "people/list.html")]
struct ListPage {
    ctx: PageCtx,
    lines: Vec<Line>,
    left: bool,
    /// "83 987 personnes dans cette liste…" or "12 personnes trouvées."
    summary: String,
    /// A search: what was typed (kept in the form), and the note when more
    /// matched than are shown.
    searched: Option<String>,
    more_found: String,
    /// The pages of the list (none for a search).
    pager: Option<Pager>,
    /// "The duplicate suggestions learned from N decisions".
    learned: String,
    /// The account may import spreadsheets (`/imports`).
    can_import: bool,
    /// The "Exporter" form.
    export: crate::exports::ExportForm,
}

/// How the list was reached: a page of it, or a search.
struct Found {
    searched: Option<String>,
    more_found: String,
    pager: Option<Pager>,
}

impl ListPage {
    async fn of(state: &AppState, ctx: PageCtx, who: &Authenticated, left: bool, people: Vec<Person>, summary: String, found: Found) -> AppResult<ListPage> {
        let now = state.clock.now();
        let lines = people.into_iter().map(|p| Line { age: age_label(&ctx, now, &p.fields), since: since(&ctx, now, p.last_contact_at), person: p }).collect();
        let model = files::duplicate_model_decisions(state, who).await?;
        let mut learned = ctx.lang.tn("people.duplicates.learned", model.decisions as i64, &[]);
        if model.learning {
            learned = format!("{learned} {}", ctx.lang.t("people.duplicates.learning"));
        }
        let can_import = veille_app::imports::can_import(who);
        let hidden = if left { vec![("left".to_owned(), "1".to_owned())] } else { Vec::new() };
        let export = crate::exports::ExportForm::new(who, &ctx, veille_app::exports::List::People, hidden);
        let Found { searched, more_found, pager } = found;
        Ok(ListPage { ctx, lines, left, summary, searched, more_found, pager, learned, can_import, export })
    }
}

/// GET /people: one page of the active list (or of those who left it).
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let left = q.left == "1";
    let paged = files::page(&state, &who, !left, veille_app::paging::page_number(&q.page)).await?;
    let summary = ctx.tn("people.list.total", paged.total);
    let keep = [("left".to_owned(), if left { "1".to_owned() } else { String::new() })];
    let pager = Pager::new(&ctx, &paged, "/people", "page", &keep, "");
    let how = Found { searched: None, more_found: String::new(), pager: Some(pager) };
    Ok(render(&ListPage::of(&state, ctx, &who, left, paged.items, summary, how).await?))
}

/// POST /people/search: the people of the list whose pseudonym or an alias
/// holds what was typed (nothing typed: the list).
pub async fn search(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<SearchForm>) -> AppResult<Response> {
    let left = form.left == "1";
    let found = files::search(&state, &who, !left, &form.q).await?;
    if form.q.trim().is_empty() {
        return Ok(see_other(if left { "/people?left=1" } else { "/people" }));
    }
    let summary = ctx.tn("people.list.found", found.total as i64);
    let shown = found.people.len();
    let more_found = if found.total > shown { ctx.tf("people.list.found_first", &[("shown", &shown.to_string())]) } else { String::new() };
    let how = Found { searched: Some(form.q), more_found, pager: None };
    Ok(render(&ListPage::of(&state, ctx, &who, left, found.people, summary, how).await?))
}

/// GET /people.csv: pseudonymised, audited (see `files::export_csv`).
pub async fn export_csv(State(state): State<AppState>, who: Authenticated, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let out = files::export_csv(&state, &who, q.left != "1").await?;
    Ok(crate::page::download("text/csv; charset=utf-8", "personnes.csv", out.into()))
}

// ---------------------------------------------------------------------------
// Creating and editing

#[derive(Template)]
#[template(path = "people/form.html")]
struct FormPage {
    ctx: PageCtx,
    form: PersonForm,
    errors: FieldErrors,
    suggestions: Vec<Suggestion>,
    territories: Vec<Territory>,
    editing: Option<Person>,
    consent_in_force: bool,
    codes: Codes,
}

impl FormPage {
    fn of(ctx: PageCtx, form: PersonForm, errors: FieldErrors, suggestions: Vec<Suggestion>, editing: Option<Person>, cx: FormContext) -> Self {
        FormPage { ctx, form, errors, suggestions, territories: cx.territories, editing, consent_in_force: cx.consent_in_force, codes: Codes }
    }
}

#[derive(Template)]
#[template(path = "people/suggestions.html")]
struct SuggestionsFragment {
    ctx: PageCtx,
    suggestions: Vec<Suggestion>,
    /// Inside the encounter form: a suggestion can be chosen as the person met.
    in_encounter: bool,
}

/// GET /people/new
pub async fn new_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let (form, cx) = files::new_form(&state, &who).await?;
    Ok(render(&FormPage::of(ctx, form, FieldErrors::new(), Vec::new(), None, cx)))
}

/// POST /people
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    WithConsent(form, consent): WithConsent<PersonForm>,
) -> AppResult<Response> {
    let form = PersonForm { consent, ..form };
    match files::create(&state, &who, ctx.lang, &form, "form").await? {
        Ok(id) => Ok(see_other(&format!("/people/{id}"))),
        Err(Rejected::Duplicates(suggestions)) => {
            let cx = files::form_context(&state, &who, None).await?;
            Ok(render(&FormPage::of(ctx, form, FieldErrors::new(), suggestions, None, cx)))
        }
        Err(Rejected::Invalid(errors)) => {
            let cx = files::form_context(&state, &who, None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &FormPage::of(ctx, form, errors, Vec::new(), None, cx)))
        }
    }
}

/// POST /people/suggestions: the probable duplicates of what is being typed
/// (the form posts itself here as the worker types; htmx swaps the answer in).
pub async fn suggestions(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    WithConsent(form, consent): WithConsent<PersonForm>,
) -> AppResult<Response> {
    let form = PersonForm { consent, ..form };
    let found = files::suggestions(&state, &who, ctx.lang, &form).await?;
    let in_encounter = form.context == "encounter";
    Ok(render(&SuggestionsFragment { ctx, suggestions: found, in_encounter }))
}

/// GET /people/{id}/edit (the form shows the whole file: an audited read)
pub async fn edit_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (person, form, cx) = files::edit(&state, &who, &id).await?;
    Ok(render(&FormPage::of(ctx, form, FieldErrors::new(), Vec::new(), Some(person), cx)))
}

/// POST /people/{id}
pub async fn update(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    WithConsent(form, consent): WithConsent<PersonForm>,
) -> AppResult<Response> {
    let form = PersonForm { consent, ..form };
    match files::update(&state, &who, ctx.lang, &id, &form, "form").await? {
        Ok(person) => Ok(see_other(&format!("/people/{person}"))),
        Err(errors) => {
            let (person, _) = super::load_person(&state, &who, &id, veille_domain::Action::Update).await?;
            let cx = files::form_context(&state, &who, Some(&person)).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &FormPage::of(ctx, form, errors, Vec::new(), Some(person), cx)))
        }
    }
}

// ---------------------------------------------------------------------------
// The file

/// A linked record in the merged view.
struct Linked {
    person: Person,
    organisation: String,
}

#[derive(Template)]
#[template(path = "people/show.html")]
struct ShowPage {
    ctx: PageCtx,
    now: Timestamp,
    person: Person,
    territory: String,
    organisation: String,
    own_file: bool,
    can_update: bool,
    health: Option<Health>,
    can_write_health: bool,
    consents: Vec<Consent>,
    consent_in_force: Option<Consent>,
    notes: Vec<Note>,
    changes: Vec<veille_storage::retention::Change>,
    linked: Vec<Linked>,
    suggestions: Vec<Suggestion>,
    encounters: Vec<Encounter>,
    referrals: Vec<(Referral, String)>,
    stays: Vec<veille_app::shelter::Stay>,
    can_book: bool,
    household: Option<(Household, Vec<Person>)>,
    household_candidates: Vec<Person>,
    shares: Vec<Share>,
    share_targets: Vec<(OrganisationId, String)>,
    panel: Vec<PanelEntry>,
    health_panel: Vec<PanelEntry>,
    errors: FieldErrors,
    consent_form: ConsentForm,
    codes: Codes,
    /// Conflicts of offline changes of the file waiting for a coordinator (its badge).
    sync_conflicts: i64,
    /// The pseudonym's version, the base of a change made offline (decision 90).
    pseudonym_base: veille_domain::sync::Version,
    child_protection: Option<String>,
}

impl ShowPage {
    fn pseudonym_of(&self, id: &PersonId) -> String {
        if *id == self.person.id {
            return self.person.fields.pseudonym.clone();
        }
        self.linked.iter().find(|l| l.person.id == *id).map(|l| l.person.fields.pseudonym.clone()).unwrap_or_default()
    }
    /// The pseudonym's base version: its number and the operation that made it (empty: a page or none).
    fn pseudonym_base_by(&self) -> String {
        self.pseudonym_base.by.map(|o| o.to_string()).unwrap_or_default()
    }
    /// The needs not yet on the file, which a worker can add from the phone
    /// (offline too: a set merged as a union, so two phones adding needs never conflict).
    fn needs_to_add(&self) -> Vec<&'static str> {
        let have: Vec<&str> = self.person.fields.needs.iter().map(|n| n.code()).collect();
        self.codes.needs().into_iter().filter(|n| !have.contains(n)).collect()
    }
    fn is_other_record(&self, id: &PersonId) -> bool {
        *id != self.person.id
    }
    fn age(&self, f: &PersonFields) -> String {
        age_label(&self.ctx, self.now, f)
    }
    fn last_contact(&self) -> String {
        since(&self.ctx, self.now, self.person.last_contact_at)
    }
    /// The children's ages, youngest first.
    fn children_text(&self) -> String {
        use chrono::Datelike;
        let year = self.now.to_datetime().year();
        let mut ages: Vec<i32> = self.household.as_ref().map(|(h, _)| h.children.iter().map(|y| year - y).collect()).unwrap_or_default();
        ages.sort_unstable();
        ages.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
    }
    fn basis(&self, s: &Share) -> &'static str {
        basis_code(s)
    }
    fn has_flag(&self, code: &str) -> bool {
        self.health.as_ref().is_some_and(|h| h.flags.iter().any(|f| f.code() == code))
    }
}

/// The file page of what the account may see.
async fn show_page(state: &AppState, ctx: PageCtx, who: &Authenticated, v: FileView, errors: FieldErrors, consent_form: ConsentForm) -> AppResult<ShowPage> {
    Ok(ShowPage {
        stays: veille_app::shelter::stays_of_person(state, who, v.person.id).await?,
        can_book: veille_app::shelter::can_book(who) && v.person.active,
        now: state.clock.now(),
        panel: who_can_read(&state.db, &who.actor, &v.resource).await?,
        health_panel: who_can_read(&state.db, &who.actor, &v.health_resource).await?,
        child_protection: v.child_protection,
        territory: v.territory,
        organisation: v.organisation,
        own_file: v.own_file,
        can_update: v.can_update,
        health: v.health,
        can_write_health: v.can_write_health,
        consents: v.consents,
        consent_in_force: v.consent_in_force,
        notes: v.notes,
        changes: v.changes,
        linked: v.linked.into_iter().map(|(person, organisation)| Linked { person, organisation }).collect(),
        suggestions: v.suggestions,
        encounters: v.encounters,
        referrals: v
            .referrals
            .into_iter()
            .map(|r| {
                let partner = r.partner_name.clone();
                (r, partner)
            })
            .collect(),
        household: v.household,
        household_candidates: v.household_candidates,
        shares: v.shares,
        share_targets: v.share_targets,
        errors,
        consent_form,
        codes: Codes,
        sync_conflicts: veille_app::sync::open_on(state, "person", &v.person.id.to_string()).await?,
        pseudonym_base: veille_app::sync::base_of(
            state,
            "person",
            &v.person.id.to_string(),
            "pseudonym",
            &veille_domain::sync::FieldValue::text(&v.person.fields.pseudonym),
        )
        .await?,
        ctx,
        person: v.person,
    })
}

fn empty_consent() -> ConsentForm {
    ConsentForm { consent_language: "fr".into(), ..Default::default() }
}

/// GET /people/{id} (an audited read; the health section too, when shown)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let v = files::read_file(&state, &who, &id).await?;
    Ok(render(&show_page(&state, ctx, &who, v, FieldErrors::new(), empty_consent()).await?))
}

/// The file page again, with the errors of a refused change.
async fn refuse(state: &AppState, ctx: PageCtx, who: &Authenticated, id: &str, errors: FieldErrors, consent_form: ConsentForm) -> AppResult<Response> {
    let v = files::file_again(state, who, id).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &show_page(state, ctx, who, v, errors, consent_form).await?))
}

/// Back to the file after a change, or the file with the change's errors.
async fn back_or_refuse(state: &AppState, ctx: PageCtx, who: &Authenticated, id: &str, done: Result<PersonId, FieldErrors>) -> AppResult<Response> {
    match done {
        Ok(person) => Ok(back(person)),
        Err(errors) => refuse(state, ctx, who, id, errors, empty_consent()).await,
    }
}

fn back(person: PersonId) -> Response {
    see_other(&format!("/people/{person}"))
}

/// POST /people/{id}/consent
pub async fn add_consent(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ConsentForm>,
) -> AppResult<Response> {
    match files::add_consent(&state, &who, ctx.lang, &id, &form, "form").await? {
        Ok(person) => Ok(back(person.id)),
        Err(errors) => refuse(&state, ctx, &who, &id, errors, form).await,
    }
}

/// POST /people/{id}/consent/withdraw: the identifying data is erased and
/// the file is no longer shared by consent.
pub async fn withdraw_consent(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    Form(_): Form<serde_json::Value>,
) -> AppResult<Response> {
    Ok(back(files::withdraw_consent(&state, &who, &id).await?))
}

/// POST /people/{id}/notes
pub async fn add_note(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<NoteInput>,
) -> AppResult<Response> {
    let done = files::add_note(&state, &who, ctx.lang, &id, &form).await?;
    back_or_refuse(&state, ctx, &who, &id, done).await
}

/// POST /people/{id}/health (health professionals only)
pub async fn set_health(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<HealthInput>,
) -> AppResult<Response> {
    let done = files::set_health(&state, &who, ctx.lang, &id, &form).await?;
    back_or_refuse(&state, ctx, &who, &id, done).await
}

/// The exit and return forms.
#[derive(Deserialize, Default)]
pub struct ExitForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    version: String,
}

/// POST /people/{id}/exit
pub async fn exit(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<ExitForm>) -> AppResult<Response> {
    let body = ExitBody { reason: form.reason, version: form.version.parse().ok() };
    let done = files::leave(&state, &who, ctx.lang, &id, &body, "form").await?.map_err(|e| shown_at(e, "reason", "exit_reason"));
    back_or_refuse(&state, ctx, &who, &id, done).await
}

/// POST /people/{id}/return
pub async fn return_active(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(form): Form<ExitForm>) -> AppResult<Response> {
    Ok(back(files::come_back(&state, &who, &id, form.version.parse().ok()).await?))
}

/// POST /people/{id}/link
pub async fn link(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<OtherBody>) -> AppResult<Response> {
    let done = files::link(&state, &who, ctx.lang, &id, &form, "form").await?.map_err(|e| shown_at(e, "other", "duplicates"));
    back_or_refuse(&state, ctx, &who, &id, done).await
}

/// POST /people/{id}/unlink
pub async fn unlink(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<OtherBody>,
) -> AppResult<Response> {
    let done = files::unlink(&state, &who, ctx.lang, &id, &form, "form").await?.map_err(|e| shown_at(e, "other", "duplicates"));
    back_or_refuse(&state, ctx, &who, &id, done).await
}

/// POST /people/{id}/distinct
pub async fn distinct(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<OtherBody>,
) -> AppResult<Response> {
    let done = files::mark_distinct(&state, &who, ctx.lang, &id, &form).await?.map_err(|e| shown_at(e, "other", "duplicates"));
    back_or_refuse(&state, ctx, &who, &id, done).await
}

/// POST /people/{id}/share: only the owning organisation shares, and only
/// under a consent in force that agrees to sharing.
pub async fn share(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<ShareInput>,
) -> AppResult<Response> {
    let done = files::share(&state, &who, ctx.lang, &id, &form).await?;
    back_or_refuse(&state, ctx, &who, &id, done).await
}

/// POST /people/{id}/unshare
pub async fn unshare(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(form): Form<ShareInput>) -> AppResult<Response> {
    Ok(back(files::unshare(&state, &who, &id, &form).await?))
}

/// POST /people/{id}/household
pub async fn household(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(form): Form<HouseholdInput>,
) -> AppResult<Response> {
    let done = files::household(&state, &who, ctx.lang, &id, &form).await?;
    back_or_refuse(&state, ctx, &who, &id, done).await
}
