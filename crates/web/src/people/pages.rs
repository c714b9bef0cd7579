//! Person pages: the active list, the file (an audited read) with its merged
//! view of linked records, creation with probable duplicates shown while
//! typing, editing, consent, notes, the health section, households, sharing,
//! links, leaving the active list, and the pseudonymised CSV export.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use veille_domain::people::{ExitReason, HealthFlag, HouseholdKind, Language};
use veille_domain::{Action, FieldGroup, OrganisationId, PersonId, Resource, ResourceKind, Timestamp};
use veille_storage::encounters::{self, Encounter};
use veille_storage::organisations;
use veille_storage::people::{self, Consent, Health, Household, Note, Person, PersonFields, Share, ShareBasis};
use veille_storage::referrals::{self, Referral};
use veille_storage::territories::{self, Territory};
use veille_storage::audit;

use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

use super::duplicates::{self, Suggestion};
use super::input::{validate_consent, validate_person, ConsentForm, PersonContext, PersonForm, ValidPerson, WithConsent};
use super::{encounter_resource, entry, gate, gate_records, health_of, load_person, person_resource, referral_resource, writable_territories};

/// Labels and lists every person template needs.
pub struct Codes;

impl Codes {
    /// Gender codes.
    pub fn genders(&self) -> Vec<&'static str> {
        veille_domain::people::Gender::codes()
    }
    /// Age band codes.
    pub fn age_bands(&self) -> Vec<&'static str> {
        veille_domain::people::AgeBand::codes()
    }
    /// Nationality codes.
    pub fn nationalities(&self) -> Vec<&'static str> {
        veille_domain::people::Nationality::codes()
    }
    /// Situation codes.
    pub fn situations(&self) -> Vec<&'static str> {
        veille_domain::people::Situation::codes()
    }
    /// Need codes.
    pub fn needs(&self) -> Vec<&'static str> {
        veille_domain::people::Need::codes()
    }
    /// Vulnerability codes.
    pub fn vulnerabilities(&self) -> Vec<&'static str> {
        veille_domain::people::Vulnerability::codes()
    }
    /// Language codes.
    pub fn languages(&self) -> Vec<&'static str> {
        Language::codes()
    }
    /// Health flag codes.
    pub fn health_flags(&self) -> Vec<&'static str> {
        HealthFlag::codes()
    }
    /// Exit reason codes.
    pub fn exit_reasons(&self) -> Vec<&'static str> {
        ExitReason::codes()
    }
    /// Household kind codes.
    pub fn household_kinds(&self) -> Vec<&'static str> {
        HouseholdKind::codes()
    }
}

/// "Today", "3 days ago": how long since the last contact.
pub fn since(ctx: &PageCtx, now: Timestamp, then: Option<Timestamp>) -> String {
    match then {
        None => ctx.t("people.list.never_met"),
        Some(t) => match t.seconds_until(now) / 86_400 {
            d if d <= 0 => ctx.t("people.list.today"),
            1 => ctx.t("people.list.yesterday"),
            d => ctx.tf("people.list.days_ago", &[("days", &d.to_string())]),
        },
    }
}

/// The age shown for a file: "≈ 45" from a birth year, or the age band.
pub fn age_label(ctx: &PageCtx, now: Timestamp, f: &PersonFields) -> String {
    use chrono::Datelike;
    match (f.birth_year, f.age_band) {
        (Some(y), _) => ctx.tf("people.age.years", &[("age", &(now.to_datetime().year() - y).to_string()), ("year", &y.to_string())]),
        (None, Some(b)) => ctx.label("people.age_band", b.code()),
        (None, None) => ctx.t("people.unknown"),
    }
}

// ---------------------------------------------------------------------------
// The list

/// List filters.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// `1`: those who left the active list.
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
}

/// The people an account may read, of its organisation or shared with it.
pub async fn readable(state: &AppState, who: &Authenticated, active: Option<bool>, limit: i64) -> AppResult<Vec<Person>> {
    let mut out = Vec::new();
    for p in people::list_for(&state.db, who.account.organisation, &people::Filter { active }, limit).await? {
        if who.can(Action::Read, &person_resource(&state.db, &p).await?).allowed {
            out.push(p);
        }
    }
    Ok(out)
}

/// GET /people
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<ListQuery>) -> AppResult<Response> {
    gate(&who)?;
    let left = q.left == "1";
    let now = state.clock.now();
    let lines = readable(&state, &who, Some(!left), 1000)
        .await?
        .into_iter()
        .map(|p| Line { age: age_label(&ctx, now, &p.fields), since: since(&ctx, now, p.last_contact_at), person: p })
        .collect();
    Ok(render(&ListPage { ctx, lines, left }))
}

fn csv_field(text: &str) -> String {
    let safe = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    format!("\"{}\"", safe.replace('"', "\"\""))
}

/// GET /people.csv: pseudonymised (no pseudonym, alias, phone or civil name:
/// the record id stands for the person); the health column only for those
/// who hold the health field group, file by file. Audited.
pub async fn export_csv(State(state): State<AppState>, who: Authenticated, Query(q): Query<ListQuery>) -> AppResult<Response> {
    gate(&who)?;
    let territories = territories::list(&state.db).await?;
    let list = readable(&state, &who, Some(q.left != "1"), 10_000).await?;
    let health_column = who.actor.holds(FieldGroup::Health);
    let mut out = String::from("id,birth_year,age_band,gender,nationality,situation,languages,needs,vulnerabilities,territory,active,exit_reason,last_contact_at");
    if health_column {
        out.push_str(",health_flags");
    }
    out.push_str("\r\n");
    let join = |v: Vec<&str>| v.join(" ");
    for p in &list {
        let f = &p.fields;
        let mut fields = vec![
            p.id.to_string(),
            f.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            f.age_band.map(|b| b.code().to_owned()).unwrap_or_default(),
            f.gender.map(|g| g.code().to_owned()).unwrap_or_default(),
            f.nationality.map(|n| n.code().to_owned()).unwrap_or_default(),
            f.situation.map(|s| s.code().to_owned()).unwrap_or_default(),
            join(f.languages.iter().map(|l| l.code()).collect()),
            join(f.needs.iter().map(|n| n.code()).collect()),
            join(f.vulnerabilities.iter().map(|v| v.code()).collect()),
            f.territory.and_then(|t| territories.iter().find(|x| x.id == t)).map(|t| t.code.clone()).unwrap_or_default(),
            if p.active { "1".into() } else { "0".into() },
            p.exit_reason.map(|r| r.code().to_owned()).unwrap_or_default(),
            p.last_contact_at.map(|t| t.to_paris_rfc3339()).unwrap_or_default(),
        ];
        if health_column {
            let res = health_of(&person_resource(&state.db, p).await?);
            let flags = if who.can(Action::Read, &res).allowed { people::health(&state.db, p.id).await?.flags } else { Vec::new() };
            fields.push(join(flags.iter().map(|f| f.code()).collect()));
        }
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    audit::append_now(
        &state.db,
        who.audit_entry(state.clock.now(), "export", "person", "", who.account.organisation)
            .with_detail(serde_json::json!({"rows": list.len(), "format": "csv", "health": health_column})),
    )
    .await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"personnes.csv\""),
        ],
        out,
    )
        .into_response())
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

#[derive(Template)]
#[template(path = "people/suggestions.html")]
struct SuggestionsFragment {
    ctx: PageCtx,
    suggestions: Vec<Suggestion>,
    /// Inside the encounter form: a suggestion can be chosen as the person met.
    in_encounter: bool,
}

/// Whether the account may write files of its organisation.
fn may_create(who: &Authenticated) -> AppResult<()> {
    Ok(who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))?)
}

async fn form_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: PersonForm, errors: FieldErrors, suggestions: Vec<Suggestion>, editing: Option<Person>) -> AppResult<FormPage> {
    let consent_in_force = match &editing {
        Some(p) => people::current_consent(&state.db, p.id).await?.is_some_and(|c| c.terms.allows_identifying()),
        None => false,
    };
    Ok(FormPage { ctx, form, errors, suggestions, territories: writable_territories(state, who).await?, editing, consent_in_force, codes: Codes })
}

/// GET /people/new
pub async fn new_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    gate(&who)?;
    may_create(&who)?;
    let mut form = PersonForm::default();
    if let veille_domain::TerritoryScope::Only(set) = &who.actor.territories {
        if set.len() == 1 {
            form.territory = set.iter().next().map(|t| t.to_string()).unwrap_or_default();
        }
    }
    form.consent.consent_language = "fr".into();
    Ok(render(&form_page(&state, ctx, &who, form, FieldErrors::new(), Vec::new(), None).await?))
}

/// The rules' context for a new or edited file.
async fn context<'a>(state: &AppState, territories: &'a [veille_domain::TerritoryId], editing: Option<&Person>) -> AppResult<PersonContext<'a>> {
    let consent_allows_identifying = match editing {
        Some(p) => people::current_consent(&state.db, p.id).await?.is_some_and(|c| c.terms.allows_identifying()),
        None => false,
    };
    Ok(PersonContext { now: state.clock.now(), territories, consent_allows_identifying })
}

/// A new file, validated and (unless the suggested duplicates were seen)
/// checked for probable duplicates: `Err(Ok(suggestions))` asks the worker
/// to look at them first; `Err(Err(errors))` is a form to correct.
pub async fn check_new(state: &AppState, ctx_lang: crate::i18n::Lang, who: &Authenticated, form: &PersonForm) -> AppResult<Result<ValidPerson, Result<Vec<Suggestion>, FieldErrors>>> {
    let ids: Vec<_> = writable_territories(state, who).await?.into_iter().map(|t| t.id).collect();
    let cx = context(state, &ids, None).await?;
    let valid = match validate_person(ctx_lang, form, &cx) {
        Ok(v) => v,
        Err(e) => return Ok(Err(Err(e))),
    };
    if !form.reviewed() {
        let found = duplicates::suggest(state, who, &duplicates::record_of("new", &[&valid.fields]), &BTreeSet::new()).await?;
        if !found.is_empty() {
            return Ok(Err(Ok(found)));
        }
    }
    Ok(Ok(valid))
}

/// Writes a new file and its consent, audited, in the caller's transaction.
pub async fn write_new(tx: &mut veille_storage::Tx, state: &AppState, who: &Authenticated, valid: &ValidPerson, via: &str) -> AppResult<PersonId> {
    let now = state.clock.now();
    let org = who.account.organisation;
    let id = people::create(tx, org, &valid.fields, who.account.id, now).await?;
    let mut detail = serde_json::json!({"via": via, "identifying": valid.fields.has_identifying()});
    if let Some(c) = &valid.consent {
        let consent = people::add_consent(tx, id, org, c, who.account.id, now).await?;
        detail["consent"] = consent.into();
    }
    audit::append(tx, entry(who, state, "create", "person", id, org, detail)).await?;
    Ok(id)
}

/// POST /people
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, WithConsent(form, consent): WithConsent<PersonForm>) -> AppResult<Response> {
    let form = PersonForm { consent, ..form };
    gate(&who)?;
    may_create(&who)?;
    let valid = match check_new(&state, ctx.lang, &who, &form).await? {
        Ok(v) => v,
        Err(Ok(suggestions)) => return Ok(render(&form_page(&state, ctx, &who, form, FieldErrors::new(), suggestions, None).await?)),
        Err(Err(errors)) => {
            let p = form_page(&state, ctx, &who, form, errors, Vec::new(), None).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
        }
    };
    let mut tx = state.db.begin().await?;
    let id = write_new(&mut tx, &state, &who, &valid, "form").await?;
    tx.commit().await?;
    Ok(see_other(&format!("/people/{id}")))
}

/// POST /people/suggestions: the probable duplicates of what is being typed
/// (the form posts itself here as the worker types; htmx swaps the answer in).
pub async fn suggestions(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, WithConsent(form, consent): WithConsent<PersonForm>) -> AppResult<Response> {
    let form = PersonForm { consent, ..form };
    gate(&who)?;
    let ids: Vec<_> = writable_territories(&state, &who).await?.into_iter().map(|t| t.id).collect();
    let cx = PersonContext { now: state.clock.now(), territories: &ids, consent_allows_identifying: true };
    // What can be read of the form, even if it is not valid yet.
    let lenient = PersonForm { territory: String::new(), ..form.clone() };
    let fields = match validate_person(ctx.lang, &lenient, &cx) {
        Ok(v) => v.fields,
        Err(_) => PersonFields { pseudonym: form.pseudonym.trim().to_owned(), ..Default::default() },
    };
    let found = if fields.pseudonym.is_empty() { Vec::new() } else { duplicates::suggest(&state, &who, &duplicates::record_of("new", &[&fields]), &BTreeSet::new()).await? };
    let in_encounter = form.context == "encounter";
    Ok(render(&SuggestionsFragment { ctx, suggestions: found, in_encounter }))
}

/// GET /people/{id}/edit
pub async fn edit_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, _) = load_person(&state, &who, &id, Action::Update).await?;
    // The form shows the whole file: a read, audited.
    audit::append_now(&state.db, entry(&who, &state, "read", "person", person.id, person.organisation, serde_json::json!({"via": "edit_form"}))).await?;
    let mut form = PersonForm::of(&person.fields, person.version);
    form.consent.consent_language = "fr".into();
    Ok(render(&form_page(&state, ctx, &who, form, FieldErrors::new(), Vec::new(), Some(person)).await?))
}

/// Names of the fields that differ (audit detail: never their values).
fn changed(a: &PersonFields, b: &PersonFields) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            out.push(name);
        }
    };
    check("territory", a.territory == b.territory);
    check("pseudonym", a.pseudonym == b.pseudonym);
    check("aliases", a.aliases == b.aliases);
    check("birth_year", a.birth_year == b.birth_year && a.age_band == b.age_band);
    check("gender", a.gender == b.gender);
    check("languages", a.languages == b.languages);
    check("nationality", a.nationality == b.nationality);
    check("situation", a.situation == b.situation);
    check("needs", a.needs == b.needs);
    check("vulnerabilities", a.vulnerabilities == b.vulnerabilities);
    check("phone", a.phone == b.phone);
    check("civil_name", a.civil_given_name == b.civil_given_name && a.civil_family_name == b.civil_family_name);
    out
}

/// Validates and saves an edit of a file, with any consent captured with it.
pub async fn save_edit(state: &AppState, lang: crate::i18n::Lang, who: &Authenticated, person: &Person, form: &PersonForm, via: &str) -> AppResult<Result<(), FieldErrors>> {
    let mut ids: Vec<_> = writable_territories(state, who).await?.into_iter().map(|t| t.id).collect();
    // A file stays where it is even if the editor works elsewhere (a shared file).
    ids.extend(person.fields.territory);
    let cx = context(state, &ids, Some(person)).await?;
    let valid = match validate_person(lang, form, &cx) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let version = form.version.parse().unwrap_or(-1);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    people::update(&mut tx, person.id, &valid.fields, version, now).await?;
    let mut detail = serde_json::json!({"via": via, "fields": changed(&person.fields, &valid.fields)});
    if let Some(c) = &valid.consent {
        detail["consent"] = people::add_consent(&mut tx, person.id, who.account.organisation, c, who.account.id, now).await?.into();
    }
    audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// POST /people/{id}
pub async fn update(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, WithConsent(form, consent): WithConsent<PersonForm>) -> AppResult<Response> {
    let form = PersonForm { consent, ..form };
    gate_records(&who)?;
    let (person, _) = load_person(&state, &who, &id, Action::Update).await?;
    match save_edit(&state, ctx.lang, &who, &person, &form, "form").await? {
        Ok(()) => Ok(see_other(&format!("/people/{}", person.id))),
        Err(errors) => {
            let p = form_page(&state, ctx, &who, form, errors, Vec::new(), Some(person)).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
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
    linked: Vec<Linked>,
    suggestions: Vec<Suggestion>,
    encounters: Vec<Encounter>,
    referrals: Vec<(Referral, String)>,
    household: Option<(Household, Vec<Person>)>,
    household_candidates: Vec<Person>,
    shares: Vec<Share>,
    share_targets: Vec<(OrganisationId, String)>,
    panel: Vec<PanelEntry>,
    health_panel: Vec<PanelEntry>,
    errors: FieldErrors,
    consent_form: ConsentForm,
    codes: Codes,
}

impl ShowPage {
    fn pseudonym_of(&self, id: &PersonId) -> String {
        if *id == self.person.id {
            return self.person.fields.pseudonym.clone();
        }
        self.linked.iter().find(|l| l.person.id == *id).map(|l| l.person.fields.pseudonym.clone()).unwrap_or_default()
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

/// Everything the file page shows, filtered by what the account may read.
async fn show_page(state: &AppState, ctx: PageCtx, who: &Authenticated, person: Person, res: Resource, errors: FieldErrors, consent_form: ConsentForm) -> AppResult<ShowPage> {
    let db = &state.db;
    let health_res = health_of(&res);
    let can_read_health = who.can(Action::Read, &health_res).allowed;
    let group = people::group_of(db, person.id).await?;
    let mut linked = Vec::new();
    let mut visible_group = vec![person.id];
    let orgs = organisations::list(db).await?;
    let org_name = |id: OrganisationId| orgs.iter().find(|o| o.id == id).map(|o| o.name.clone()).unwrap_or_default();
    for p in people::get_many(db, &group).await? {
        if p.id != person.id && who.can(Action::Read, &person_resource(db, &p).await?).allowed {
            visible_group.push(p.id);
            linked.push(Linked { organisation: org_name(p.organisation), person: p });
        }
    }
    let mut encounters = Vec::new();
    for e in encounters::of_people(db, &visible_group).await? {
        if who.can(Action::Read, &encounter_resource(&e)).allowed {
            encounters.push(e);
        }
    }
    let mut referrals_seen = Vec::new();
    for r in referrals::of_people(db, &visible_group).await? {
        if who.can(Action::Read, &referral_resource(&r, person.fields.territory)).allowed {
            let partner = r.partner_name.clone();
            referrals_seen.push((r, partner));
        }
    }
    let household = match person.household {
        Some(h) => {
            let hh = people::household(db, h).await?;
            let mut members = Vec::new();
            for m in people::household_members(db, h).await? {
                if m.id != person.id && who.can(Action::Read, &person_resource(db, &m).await?).allowed {
                    members.push(m);
                }
            }
            Some((hh, members))
        }
        None => None,
    };
    let can_update = who.can(Action::Update, &res).allowed;
    let own_file = person.organisation == who.account.organisation;
    let household_candidates = if can_update && own_file {
        readable(state, who, Some(true), 200).await?.into_iter().filter(|p| p.id != person.id && p.organisation == person.organisation && p.household.is_none()).collect()
    } else {
        Vec::new()
    };
    let shares = people::shares(db, person.id).await?;
    let share_targets = orgs
        .iter()
        .filter(|o| o.id != person.organisation && !shares.iter().any(|s| s.organisation == o.id && s.basis == ShareBasis::Consent))
        .map(|o| (o.id, o.name.clone()))
        .collect();
    let consents = people::consents(db, person.id).await?;
    let consent_in_force = consents.iter().find(|c| c.withdrawn_at.is_none()).cloned();
    let suggestions = if can_update { duplicates::of_person(state, who, &person).await? } else { Vec::new() };
    let territory = match person.fields.territory {
        Some(t) => territories::get(db, t).await.map(|t| format!("{} · {}", t.code, t.name)).unwrap_or_default(),
        None => String::new(),
    };
    Ok(ShowPage {
        now: state.clock.now(),
        territory,
        organisation: org_name(person.organisation),
        own_file,
        can_update,
        health: if can_read_health { Some(people::health(db, person.id).await?) } else { None },
        can_write_health: who.can(Action::Update, &health_res).allowed,
        consents,
        consent_in_force,
        notes: people::notes(db, &visible_group, can_read_health).await?,
        linked,
        suggestions,
        encounters,
        referrals: referrals_seen,
        household,
        household_candidates,
        shares,
        share_targets,
        panel: who_can_read(db, &res).await?,
        health_panel: who_can_read(db, &health_res).await?,
        errors,
        consent_form,
        codes: Codes,
        ctx,
        person,
    })
}

/// GET /people/{id} (an audited read; the health section too, when shown)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, res) = load_person(&state, &who, &id, Action::Read).await?;
    let health = who.can(Action::Read, &health_of(&res)).allowed;
    audit::append_now(&state.db, entry(&who, &state, "read", "person", person.id, person.organisation, serde_json::json!({"health": health}))).await?;
    let mut consent_form = ConsentForm::default();
    consent_form.consent_language = "fr".into();
    Ok(render(&show_page(&state, ctx, &who, person, res, FieldErrors::new(), consent_form).await?))
}

async fn refuse(state: &AppState, ctx: PageCtx, who: &Authenticated, person: Person, res: Resource, errors: FieldErrors) -> AppResult<Response> {
    let mut consent_form = ConsentForm::default();
    consent_form.consent_language = "fr".into();
    let p = show_page(state, ctx, who, person, res, errors, consent_form).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
}

fn back(person: &Person) -> Response {
    see_other(&format!("/people/{}", person.id))
}

/// Records a consent (in the caller's transaction), audited.
pub async fn record_consent(tx: &mut veille_storage::Tx, state: &AppState, who: &Authenticated, person: &Person, c: &people::NewConsent, via: &str) -> AppResult<String> {
    let id = people::add_consent(tx, person.id, who.account.organisation, c, who.account.id, state.clock.now()).await?;
    let detail = serde_json::json!({"field": "consent", "consent": id, "via": via, "identifying": c.terms.agrees_identifying, "sharing": c.terms.agrees_sharing, "interpreter": c.interpreter, "language": c.language.code()});
    audit::append(tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    Ok(id)
}

/// POST /people/{id}/consent
pub async fn add_consent(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<ConsentForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, res) = load_person(&state, &who, &id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    let Some(c) = validate_consent(ctx.lang, &form, state.clock.now(), &mut errors) else {
        let p = show_page(&state, ctx, &who, person, res, errors, form).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    };
    let mut tx = state.db.begin().await?;
    record_consent(&mut tx, &state, &who, &person, &c, "form").await?;
    tx.commit().await?;
    Ok(back(&person))
}

/// POST /people/{id}/consent/withdraw: the identifying data is erased and
/// the file is no longer shared by consent.
pub async fn withdraw_consent(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(_): Form<serde_json::Value>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, _) = load_person(&state, &who, &id, Action::Update).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let withdrawn = people::withdraw_consents(&mut tx, person.id, who.account.id, now).await?;
    people::clear_identifying(&mut tx, person.id, now).await?;
    let ended = people::revoke_consent_shares(&mut tx, person.id, None, who.account.id, now).await?;
    let detail = serde_json::json!({"field": "consent_withdrawn", "consents": withdrawn, "shares_ended": ended, "identifying_erased": person.fields.has_identifying()});
    audit::append(&mut tx, entry(&who, &state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(back(&person))
}

/// Note form.
#[derive(Deserialize, Default)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
    /// A health note (health professionals only).
    #[serde(default)]
    health: Option<String>,
}

/// POST /people/{id}/notes
pub async fn add_note(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<NoteForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, res) = load_person(&state, &who, &id, Action::Update).await?;
    let group = form.health.as_ref().map(|_| FieldGroup::Health);
    if group.is_some() {
        who.require(Action::Update, &health_of(&res))?;
    }
    let body = form.body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        let mut errors = FieldErrors::new();
        errors.add("note", ctx.t("people.note.invalid"));
        return refuse(&state, ctx, &who, person, res, errors).await;
    }
    let mut tx = state.db.begin().await?;
    people::add_note(&mut tx, person.id, who.account.id, group, body, state.clock.now()).await?;
    let detail = serde_json::json!({"field": if group.is_some() { "health_note" } else { "note" }});
    audit::append(&mut tx, entry(&who, &state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(back(&person))
}

/// Health section form.
#[derive(Deserialize, Default)]
pub struct HealthForm {
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    version: String,
}

/// POST /people/{id}/health (health professionals only)
pub async fn set_health(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<HealthForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, res) = load_person(&state, &who, &id, Action::Update).await?;
    who.require(Action::Update, &health_of(&res))?;
    let mut errors = FieldErrors::new();
    let flags: Vec<HealthFlag> = form.flags.iter().filter_map(|f| HealthFlag::from_code(f)).collect();
    if flags.len() != form.flags.len() {
        errors.add("health_flags", ctx.t("form.choose_one"));
    }
    if form.notes.chars().count() > 4000 {
        errors.add("health_notes", ctx.tf("people.form.too_long", &[("max", "4000")]));
    }
    if !errors.is_empty() {
        return refuse(&state, ctx, &who, person, res, errors).await;
    }
    let version = form.version.parse().unwrap_or(-1);
    let mut tx = state.db.begin().await?;
    people::set_health(&mut tx, person.id, &flags, form.notes.trim(), who.account.id, version, state.clock.now()).await?;
    audit::append(&mut tx, entry(&who, &state, "update", "person", person.id, person.organisation, serde_json::json!({"field": "health"}))).await?;
    tx.commit().await?;
    Ok(back(&person))
}

/// Exit form.
#[derive(Deserialize, Default)]
pub struct ExitForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    version: String,
}

/// Takes a person out of the active list (in the caller's transaction), audited.
pub async fn leave(state: &AppState, who: &Authenticated, person: &Person, reason: ExitReason, version: i64, via: &str) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    people::leave_active_list(&mut tx, person.id, reason, version, state.clock.now()).await?;
    let detail = serde_json::json!({"field": "active", "to": false, "reason": reason.code(), "via": via});
    audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(())
}

/// POST /people/{id}/exit
pub async fn exit(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<ExitForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, res) = load_person(&state, &who, &id, Action::Update).await?;
    let Some(reason) = ExitReason::from_code(&form.reason) else {
        let mut errors = FieldErrors::new();
        errors.add("exit_reason", ctx.t("form.choose_one"));
        return refuse(&state, ctx, &who, person, res, errors).await;
    };
    leave(&state, &who, &person, reason, form.version.parse().unwrap_or(-1), "form").await?;
    Ok(back(&person))
}

/// POST /people/{id}/return
pub async fn return_active(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(form): Form<ExitForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, _) = load_person(&state, &who, &id, Action::Update).await?;
    let mut tx = state.db.begin().await?;
    people::return_to_active_list(&mut tx, person.id, form.version.parse().unwrap_or(-1), state.clock.now()).await?;
    audit::append(&mut tx, entry(&who, &state, "update", "person", person.id, person.organisation, serde_json::json!({"field": "active", "to": true}))).await?;
    tx.commit().await?;
    Ok(back(&person))
}

/// The other record of a link decision.
#[derive(Deserialize, Default)]
pub struct OtherForm {
    #[serde(default)]
    other: String,
}

/// The other record of a pair: one the account may update, not this one.
pub async fn other_person(state: &AppState, who: &Authenticated, person: &Person, other: &str) -> AppResult<Option<Person>> {
    let Ok(id) = other.parse::<PersonId>() else { return Ok(None) };
    if id == person.id {
        return Ok(None);
    }
    let other = match people::get(&state.db, id).await {
        Ok(p) => p,
        Err(veille_storage::StorageError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let res = person_resource(&state.db, &other).await?;
    Ok(Some(other).filter(|_| who.can(Action::Update, &res).allowed))
}

/// Links two records a worker judged to be the same person (both histories
/// kept, nothing merged), audited on both. `false`: already in one group.
pub async fn link_records(state: &AppState, who: &Authenticated, a: &Person, b: &Person, via: &str) -> AppResult<bool> {
    if people::group_of(&state.db, a.id).await?.contains(&b.id) {
        return Ok(false);
    }
    let agreements: Vec<String> = duplicates::compare(&a.fields, &b.fields).into_iter().map(|g| g.field).collect();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    people::link(&mut tx, a.id, b.id, &agreements, who.account.id, now).await?;
    for (x, y) in [(a, b), (b, a)] {
        let detail = serde_json::json!({"field": "link", "other": y.id.to_string(), "agreements": agreements, "via": via});
        audit::append(&mut tx, entry(who, state, "update", "person", x.id, x.organisation, detail)).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Undoes a link, audited on both. `false`: they were not linked.
pub async fn unlink_records(state: &AppState, who: &Authenticated, a: &Person, b: &Person, via: &str) -> AppResult<bool> {
    let mut tx = state.db.begin().await?;
    if !people::unlink(&mut tx, a.id, b.id, who.account.id, state.clock.now()).await? {
        return Ok(false);
    }
    for (x, y) in [(a, b), (b, a)] {
        let detail = serde_json::json!({"field": "unlink", "other": y.id.to_string(), "via": via});
        audit::append(&mut tx, entry(who, state, "update", "person", x.id, x.organisation, detail)).await?;
    }
    tx.commit().await?;
    Ok(true)
}

async fn pair_action(state: &AppState, ctx: PageCtx, who: &Authenticated, id: &str, other: &str) -> AppResult<Result<(Person, Person), Response>> {
    let (person, res) = load_person(state, who, id, Action::Update).await?;
    match other_person(state, who, &person, other).await? {
        Some(o) => Ok(Ok((person, o))),
        None => {
            let mut errors = FieldErrors::new();
            errors.add("duplicates", ctx.t("people.duplicates.invalid"));
            Ok(Err(refuse(state, ctx, who, person, res, errors).await?))
        }
    }
}

/// POST /people/{id}/link
pub async fn link(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<OtherForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, other) = match pair_action(&state, ctx, &who, &id, &form.other).await? {
        Ok(pair) => pair,
        Err(page) => return Ok(page),
    };
    link_records(&state, &who, &person, &other, "form").await?;
    Ok(back(&person))
}

/// POST /people/{id}/unlink
pub async fn unlink(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<OtherForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, other) = match pair_action(&state, ctx, &who, &id, &form.other).await? {
        Ok(pair) => pair,
        Err(page) => return Ok(page),
    };
    unlink_records(&state, &who, &person, &other, "form").await?;
    Ok(back(&person))
}

/// POST /people/{id}/distinct
pub async fn distinct(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<OtherForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, other) = match pair_action(&state, ctx, &who, &id, &form.other).await? {
        Ok(pair) => pair,
        Err(page) => return Ok(page),
    };
    let mut tx = state.db.begin().await?;
    if people::mark_distinct(&mut tx, person.id, other.id, who.account.id, state.clock.now()).await? {
        for (x, y) in [(&person, &other), (&other, &person)] {
            let detail = serde_json::json!({"field": "distinct", "other": y.id.to_string()});
            audit::append(&mut tx, entry(&who, &state, "update", "person", x.id, x.organisation, detail)).await?;
        }
    }
    tx.commit().await?;
    Ok(back(&person))
}

/// Sharing form.
#[derive(Deserialize, Default)]
pub struct ShareForm {
    #[serde(default)]
    organisation: String,
}

/// POST /people/{id}/share: only the owning organisation shares, and only
/// under a consent in force that agrees to sharing.
pub async fn share(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<ShareForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, res) = load_person(&state, &who, &id, Action::Update).await?;
    if person.organisation != who.account.organisation {
        return Err(AppError::forbidden());
    }
    let consent = people::current_consent(&state.db, person.id).await?.filter(|c| c.terms.allows_sharing());
    let target = form.organisation.parse::<OrganisationId>().ok().filter(|o| *o != person.organisation);
    let target = match target {
        Some(o) => organisations::get(&state.db, o).await.ok(),
        None => None,
    };
    let mut errors = FieldErrors::new();
    if consent.is_none() {
        errors.add("share", ctx.t("people.share.needs_consent"));
    } else if target.is_none() {
        errors.add("share", ctx.t("form.choose_one"));
    }
    let (Some(consent), Some(target)) = (consent, target.filter(|_| errors.is_empty())) else {
        return refuse(&state, ctx, &who, person, res, errors).await;
    };
    let mut tx = state.db.begin().await?;
    people::share(&mut tx, person.id, target.id, ShareBasis::Consent, Some(&consent.id), None, who.account.id, state.clock.now()).await?;
    let detail = serde_json::json!({"field": "shared_with", "organisation": target.id.to_string(), "basis": "consent", "consent": consent.id});
    audit::append(&mut tx, entry(&who, &state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(back(&person))
}

/// POST /people/{id}/unshare
pub async fn unshare(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, Form(form): Form<ShareForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, _) = load_person(&state, &who, &id, Action::Update).await?;
    if person.organisation != who.account.organisation {
        return Err(AppError::forbidden());
    }
    let org = form.organisation.parse::<OrganisationId>().map_err(|_| AppError::bad_request())?;
    let mut tx = state.db.begin().await?;
    let ended = people::revoke_consent_shares(&mut tx, person.id, Some(org), who.account.id, state.clock.now()).await?;
    if ended > 0 {
        let detail = serde_json::json!({"field": "unshared", "organisation": org.to_string()});
        audit::append(&mut tx, entry(&who, &state, "update", "person", person.id, person.organisation, detail)).await?;
    }
    tx.commit().await?;
    Ok(back(&person))
}

/// Household form: `action` is `create`, `update`, `add` (a person already
/// recorded joins) or `leave`.
#[derive(Deserialize, Default)]
pub struct HouseholdForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    kind: String,
    /// Children's ages, comma-separated.
    #[serde(default)]
    children: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    version: String,
}

fn children_years(text: &str, now: Timestamp) -> Option<Vec<i32>> {
    use chrono::Datelike;
    let year = now.to_datetime().year();
    text.split([',', ' ', ';'])
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<i32>().ok().filter(|a| (0..=17).contains(a)).map(|a| year - a))
        .collect::<Option<Vec<_>>>()
        .filter(|v| v.len() <= 15)
}

/// POST /people/{id}/household
pub async fn household(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<HouseholdForm>) -> AppResult<Response> {
    gate_records(&who)?;
    let (person, res) = load_person(&state, &who, &id, Action::Update).await?;
    let now = state.clock.now();
    let mut errors = FieldErrors::new();
    let kind = HouseholdKind::from_code(&form.kind);
    let children = children_years(&form.children, now);
    if matches!(form.action.as_str(), "create" | "update") {
        if kind.is_none() {
            errors.add("household_kind", ctx.t("form.choose_one"));
        }
        if children.is_none() {
            errors.add("household_children", ctx.t("people.household.children_invalid"));
        }
    }
    let mut tx = state.db.begin().await?;
    let detail = match (form.action.as_str(), kind, children) {
        (_, _, _) if !errors.is_empty() => None,
        ("create", Some(kind), Some(children)) if person.household.is_none() => {
            let h = people::create_household(&mut tx, person.organisation, kind, &children, now).await?;
            people::set_household(&mut tx, person.id, Some(h), now).await?;
            Some(serde_json::json!({"field": "household", "household": h.to_string(), "action": "create"}))
        }
        ("update", Some(kind), Some(children)) => match person.household {
            Some(h) => {
                people::update_household(&mut tx, h, kind, &children, form.version.parse().unwrap_or(-1), now).await?;
                Some(serde_json::json!({"field": "household", "household": h.to_string(), "action": "update"}))
            }
            None => None,
        },
        ("add", _, _) => match (person.household, other_person(&state, &who, &person, &form.member).await?) {
            (Some(h), Some(member)) if member.organisation == person.organisation => {
                people::set_household(&mut tx, member.id, Some(h), now).await?;
                let d = serde_json::json!({"field": "household", "household": h.to_string(), "action": "joined"});
                audit::append(&mut tx, entry(&who, &state, "update", "person", member.id, member.organisation, d)).await?;
                Some(serde_json::json!({"field": "household", "household": h.to_string(), "action": "added", "member": member.id.to_string()}))
            }
            _ => None,
        },
        ("leave", _, _) => person.household.map(|h| serde_json::json!({"field": "household", "household": h.to_string(), "action": "leave"})),
        _ => None,
    };
    let Some(detail) = detail else {
        drop(tx);
        if errors.is_empty() {
            errors.add("household_kind", ctx.t("people.household.invalid"));
        }
        return refuse(&state, ctx, &who, person, res, errors).await;
    };
    if form.action == "leave" {
        people::set_household(&mut tx, person.id, None, now).await?;
    }
    audit::append(&mut tx, entry(&who, &state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(back(&person))
}

/// The name of a share basis, for the template.
pub fn basis_code(s: &Share) -> &'static str {
    match s.basis {
        ShareBasis::Consent => "consent",
        ShareBasis::Referral => "referral",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_ages_become_birth_years() {
        let now = super::super::input::parse_instant("2026-06-01T12:00").unwrap();
        assert_eq!(children_years("3, 7", now), Some(vec![2023, 2019]));
        assert_eq!(children_years("", now), Some(vec![]));
        assert_eq!(children_years("3, douze", now), None);
        assert_eq!(children_years("19", now), None, "an adult is not a child of the household");
    }

    #[test]
    fn only_the_names_of_changed_fields_are_audited() {
        let a = PersonFields { pseudonym: "Momo".into(), phone: Some("0612345678".into()), ..Default::default() };
        let b = PersonFields { pseudonym: "Momo".into(), phone: Some("0700000000".into()), birth_year: Some(1980), ..Default::default() };
        assert_eq!(changed(&a, &b), vec!["birth_year", "phone"]);
    }
}
