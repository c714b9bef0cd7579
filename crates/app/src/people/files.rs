//! Person files: the active list and its pseudonymised export, the file (an
//! audited read) with its merged view of linked records, creation with the
//! probable duplicates asked about first, editing, consent, notes, the
//! health section, households, sharing by consent, links between records,
//! leaving and coming back to the active list.

use veille_domain::people::ExitReason;
use veille_domain::{Action, FieldGroup, OrganisationId, PersonId, Resource};
use veille_storage::people::{self, Filter};
use veille_storage::sql::Window;
pub use veille_storage::territories::Territory;
use veille_storage::{audit, encounters, organisations, referrals, StorageError, Tx};

use super::duplicates::{self, Suggestion};
use super::input::{
    validate_consent, validate_exit, validate_health, validate_household, validate_note, validate_person, ConsentForm, ExitBody, HealthInput, HouseholdInput,
    NoteInput, OtherBody, PersonContext, PersonForm, ShareInput, ValidPerson,
};
use super::{
    entry, gate, gate_records, health_of, load_person, may_create, person_resource, writable_territories, Consent, Encounter, Health, Household, NewConsent,
    Note, Person, PersonFields, Referral, Share, ShareBasis,
};
use crate::error::{Error, Result};
use crate::paging::{Paged, PER_PAGE};
use crate::{App, Caller, FieldErrors, Lang};

/// Why a new file was not written.
#[derive(Debug)]
pub enum Rejected {
    /// Probable duplicates to look at first (then send it again, reviewed).
    Duplicates(Vec<Suggestion>),
    /// Fields to correct.
    Invalid(FieldErrors),
}

/// Files offered when adding someone to a household: the most recently met.
const HOUSEHOLD_PICK: i64 = 500;

// ---------------------------------------------------------------------------
// Lists

/// The people in the active list (`true`) or who left it (`false`) the
/// account may read, most recently met first: every one (the API).
pub async fn list(state: &App, who: &Caller, active: Option<bool>) -> Result<Vec<Person>> {
    gate(who)?;
    Ok(people::list(&state.db, &who.scope(), &Filter { active, ..Default::default() }).await?)
}

/// Page `page` of the active list (`true`) or of those who left it
/// (`false`), most recently met first, with how many there are.
pub async fn page(state: &App, who: &Caller, active: bool, page: i64) -> Result<Paged<Person>> {
    gate(who)?;
    let scope = who.scope();
    let filter = Filter { active: Some(active), ..Default::default() };
    let total = people::count(&state.db, &scope, &filter).await?;
    Paged::read(page, PER_PAGE, total, |w| {
        let (scope, filter) = (scope.clone(), Filter { window: Some(w), ..filter.clone() });
        async move { Ok(people::list(&state.db, &scope, &filter).await?) }
    })
    .await
}

/// What a search by name found: the first [`PER_PAGE`] people of the list
/// whose pseudonym or an alias holds what was typed (case, accents,
/// punctuation and spaces ignored), most recently met first, and how many
/// match in all.
#[derive(Clone, Debug)]
pub struct Found {
    /// The people shown.
    pub people: Vec<Person>,
    /// How many match.
    pub total: usize,
}

/// The names' form for a search: folded (case, accents, punctuation as
/// spaces), and the same without spaces ("N'Diaye" is found by "ndiaye").
fn searchable(name: &str) -> (String, String) {
    let folded = veille_linkage::normalize::normalize(name);
    let compact = folded.replace(' ', "");
    (folded, compact)
}

/// The people of the active list (`true`) or of those who left it whose
/// pseudonym or an alias holds `text`. Only the names are read for the
/// search; the files shown are read whole. What was typed is not kept.
pub async fn search(state: &App, who: &Caller, active: bool, text: &str) -> Result<Found> {
    gate(who)?;
    let (wanted, wanted_compact) = searchable(text);
    if wanted_compact.is_empty() {
        return Ok(Found { people: Vec::new(), total: 0 });
    }
    let scope = who.scope();
    let filter = Filter { active: Some(active), ..Default::default() };
    let matching: Vec<PersonId> = people::names(&state.db, &scope, &filter)
        .await?
        .into_iter()
        .filter(|(_, pseudonym, aliases)| {
            std::iter::once(pseudonym).chain(aliases).any(|name| {
                let (folded, compact) = searchable(name);
                folded.contains(&wanted) || compact.contains(&wanted_compact)
            })
        })
        .map(|(id, _, _)| id)
        .collect();
    let shown = &matching[..matching.len().min(PER_PAGE as usize)];
    let mut read = people::get_many(&state.db, &scope, shown).await?;
    read.sort_by_key(|p| shown.iter().position(|id| *id == p.id));
    Ok(Found { people: read, total: matching.len() })
}

/// The `n` most recently met people of the active list the account may read
/// (a pick list, as in the encounter form).
pub async fn most_recent(state: &App, who: &Caller, n: i64) -> Result<Vec<Person>> {
    gate(who)?;
    Ok(people::list(&state.db, &who.scope(), &Filter { active: Some(true), window: Some(Window::first(n)), ..Default::default() }).await?)
}

/// The people the account may read as CSV, pseudonymised (no pseudonym,
/// alias, phone or civil name: the record id stands for the person); the
/// health column only for those the permission function lets read the health
/// field group, filled file by file where they may read it: the export
/// mechanism with its default columns (`crate::exports`). Audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn export_csv(state: &App, who: &Caller, active: bool) -> Result<String> {
    let filters = crate::exports::Filters::People { active };
    Ok(crate::exports::export(state, who, Lang::Fr, &filters, &[], crate::exports::Format::Csv).await?.to_csv())
}

// ---------------------------------------------------------------------------
// Creating and editing

/// What the person form needs beside what was typed.
#[derive(Clone, Debug)]
pub struct FormContext {
    /// The territories the account may place a person in.
    pub territories: Vec<Territory>,
    /// A consent in force already allows identifying data (editing).
    pub consent_in_force: bool,
}

/// The form's context for a new file, or for `editing` one.
pub async fn form_context(state: &App, who: &Caller, editing: Option<&Person>) -> Result<FormContext> {
    let consent_in_force = match editing {
        Some(p) => allows_identifying(state, who, p).await?,
        None => false,
    };
    Ok(FormContext { territories: writable_territories(state, who).await?, consent_in_force })
}

async fn allows_identifying(state: &App, who: &Caller, p: &Person) -> Result<bool> {
    Ok(people::current_consent(&state.db, &who.scope(), p.id).await?.is_some_and(|c| c.terms.allows_identifying()))
}

/// An empty person form (placed in the account's one territory, if it has
/// one), for an account that may create files.
pub async fn new_form(state: &App, who: &Caller) -> Result<(PersonForm, FormContext)> {
    gate(who)?;
    may_create(who)?;
    let mut form = PersonForm::default();
    if let veille_domain::TerritoryScope::Only(set) = &who.actor.territories {
        if set.len() == 1 {
            form.territory = set.iter().next().map(|t| t.to_string()).unwrap_or_default();
        }
    }
    form.consent.consent_language = "fr".into();
    Ok((form, form_context(state, who, None).await?))
}

/// A new file, validated and (unless the suggested duplicates were seen)
/// checked for probable duplicates among the people the account may read.
pub(crate) async fn check_new(state: &App, lang: Lang, who: &Caller, form: &PersonForm) -> Result<Result<ValidPerson, Rejected>> {
    let ids: Vec<_> = writable_territories(state, who).await?.into_iter().map(|t| t.id).collect();
    let cx = PersonContext { now: state.clock.now(), territories: &ids, consent_allows_identifying: false };
    let valid = match validate_person(lang, form, &cx) {
        Ok(v) => v,
        Err(e) => return Ok(Err(Rejected::Invalid(e))),
    };
    if !form.reviewed() {
        let found = duplicates::suggest(state, who, &duplicates::record_of("new", &[&valid.fields]), &Default::default()).await?;
        if !found.is_empty() {
            return Ok(Err(Rejected::Duplicates(found)));
        }
    }
    Ok(Ok(valid))
}

/// Writes a new file and its consent, audited, in the caller's transaction.
pub(crate) async fn write_new(tx: &mut Tx, state: &App, who: &Caller, valid: &ValidPerson, via: &str) -> Result<PersonId> {
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

/// Creates a file (with the consent captured with it), audited; probable
/// duplicates are answered first unless the form says they were reviewed.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create(state: &App, who: &Caller, lang: Lang, form: &PersonForm, via: &str) -> Result<Result<PersonId, Rejected>> {
    gate(who)?;
    may_create(who)?;
    let valid = match check_new(state, lang, who, form).await? {
        Ok(v) => v,
        Err(rejected) => return Ok(Err(rejected)),
    };
    let mut tx = state.db.begin().await?;
    let id = write_new(&mut tx, state, who, &valid, via).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// How many decisions of the workers (links, links undone, pairs marked
/// distinct) the instance's duplicate model learned from, and whether it is
/// learning those made since (the people list says it).
pub async fn duplicate_model_decisions(state: &App, who: &Caller) -> Result<duplicates::Learned> {
    gate(who)?;
    duplicates::learned(state).await
}

/// The probable duplicates of what is being typed (the form, even if not
/// valid yet), among the people the account may read.
pub async fn suggestions(state: &App, who: &Caller, lang: Lang, form: &PersonForm) -> Result<Vec<Suggestion>> {
    gate(who)?;
    let ids: Vec<_> = writable_territories(state, who).await?.into_iter().map(|t| t.id).collect();
    let cx = PersonContext { now: state.clock.now(), territories: &ids, consent_allows_identifying: true };
    // What can be read of the form, even if it is not valid yet.
    let lenient = PersonForm { territory: String::new(), ..form.clone() };
    let fields = match validate_person(lang, &lenient, &cx) {
        Ok(v) => v.fields,
        Err(_) => PersonFields { pseudonym: form.pseudonym.trim().to_owned(), ..Default::default() },
    };
    if fields.pseudonym.is_empty() {
        return Ok(Vec::new());
    }
    duplicates::suggest(state, who, &duplicates::record_of("new", &[&fields]), &Default::default()).await
}

/// A file to edit, as its form (the form shows the whole file: an audited read).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn edit(state: &App, who: &Caller, id: &str) -> Result<(Person, PersonForm, FormContext)> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    audit::append_now(&state.db, entry(who, state, "read", "person", person.id, person.organisation, serde_json::json!({"via": "edit_form"}))).await?;
    let mut form = PersonForm::of(&person.fields, person.version);
    form.consent.consent_language = "fr".into();
    let context = form_context(state, who, Some(&person)).await?;
    Ok((person, form, context))
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

/// Each field of a file as text, for the history of changes (rectification):
/// codes as stored, lists joined with ", ", nothing as "".
pub fn field_texts(f: &PersonFields) -> Vec<(&'static str, String)> {
    fn opt<T: ToString>(v: &Option<T>) -> String {
        v.as_ref().map(|x| x.to_string()).unwrap_or_default()
    }
    fn list<T: ToString>(v: &[T]) -> String {
        v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
    }
    vec![
        ("territory", opt(&f.territory)),
        ("pseudonym", f.pseudonym.clone()),
        ("aliases", f.aliases.join(", ")),
        ("birth_year", opt(&f.birth_year)),
        ("age_band", opt(&f.age_band)),
        ("gender", opt(&f.gender)),
        ("languages", list(&f.languages)),
        ("nationality", opt(&f.nationality)),
        ("situation", opt(&f.situation)),
        ("needs", list(&f.needs)),
        ("vulnerabilities", list(&f.vulnerabilities)),
        ("phone", opt(&f.phone)),
        ("civil_given_name", opt(&f.civil_given_name)),
        ("civil_family_name", opt(&f.civil_family_name)),
    ]
}

/// Saves an edit of a file (the whole file, with the version read), with any
/// consent captured with it, audited with the names of the changed fields;
/// each changed field's old and new values go to the file's history.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn update(state: &App, who: &Caller, lang: Lang, id: &str, form: &PersonForm, via: &str) -> Result<Result<PersonId, FieldErrors>> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    let valid = match check_update(state, who, lang, &person, form).await? {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let version = form.version.parse().unwrap_or(-1);
    let mut tx = state.db.begin().await?;
    write_update(&mut tx, state, who, &person, &valid, version, via).await?;
    tx.commit().await?;
    Ok(Ok(person.id))
}

/// Checks an edit of a file the caller may update (loaded with
/// [`load_person`] and `Action::Update`).
pub(crate) async fn check_update(state: &App, who: &Caller, lang: Lang, person: &Person, form: &PersonForm) -> Result<Result<ValidPerson, FieldErrors>> {
    let mut ids: Vec<_> = writable_territories(state, who).await?.into_iter().map(|t| t.id).collect();
    // A file stays where it is even if the editor works elsewhere (a shared file).
    ids.extend(person.fields.territory);
    let cx = PersonContext { now: state.clock.now(), territories: &ids, consent_allows_identifying: allows_identifying(state, who, person).await? };
    Ok(validate_person(lang, form, &cx))
}

/// Writes a checked edit of a file (from `version`), its history and audit
/// entry, in the caller's transaction.
pub(crate) async fn write_update(
    tx: &mut veille_storage::Tx,
    state: &App,
    who: &Caller,
    person: &Person,
    valid: &ValidPerson,
    version: i64,
    via: &str,
) -> Result<()> {
    let now = state.clock.now();
    people::update(tx, person.id, &valid.fields, version, now).await?;
    for ((field, old), (_, new)) in field_texts(&person.fields).into_iter().zip(field_texts(&valid.fields)) {
        if old != new {
            veille_storage::retention::record_change(tx, person.id, who.account.id, field, &old, &new, now).await?;
        }
    }
    let mut detail = serde_json::json!({"via": via, "fields": changed(&person.fields, &valid.fields)});
    if let Some(c) = &valid.consent {
        detail["consent"] = people::add_consent(tx, person.id, who.account.organisation, c, who.account.id, now).await?.into();
    }
    audit::append(tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading a file

/// What the account may see of a file and around it.
#[derive(Clone, Debug)]
pub struct FileView {
    /// The file.
    pub person: Person,
    /// Its access-control description (for the "who can see this" panel).
    pub resource: Resource,
    /// Its health section's.
    pub health_resource: Resource,
    /// Its territory, `code · name`.
    pub territory: String,
    /// The owning organisation's name.
    pub organisation: String,
    /// The file belongs to the account's organisation.
    pub own_file: bool,
    /// The account may change it.
    pub can_update: bool,
    /// The health section, when the account may read it.
    pub health: Option<Health>,
    /// The account may write the health section.
    pub can_write_health: bool,
    /// Every consent record, newest first.
    pub consents: Vec<Consent>,
    /// The consent in force.
    pub consent_in_force: Option<Consent>,
    /// The notes of the file and of its linked records the account reads.
    pub notes: Vec<Note>,
    /// The history of changes to the file's fields (who, when, old → new),
    /// latest first: every field of a file is read by whoever reads the file.
    pub changes: Vec<veille_storage::retention::Change>,
    /// The linked records the account may read, with their organisation's name.
    pub linked: Vec<(Person, String)>,
    /// Probable duplicates (when the account may change the file).
    pub suggestions: Vec<Suggestion>,
    /// The encounters of the merged view the account may read.
    pub encounters: Vec<Encounter>,
    /// The referrals of the merged view the account may read.
    pub referrals: Vec<Referral>,
    /// The household and its other members the account may read.
    pub household: Option<(Household, Vec<Person>)>,
    /// People of the same organisation in no household, who could join it.
    pub household_candidates: Vec<Person>,
    /// The shares in force.
    pub shares: Vec<Share>,
    /// The organisations the file could be shared with.
    pub share_targets: Vec<(OrganisationId, String)>,
    /// The child-protection guidance of the account's organisation, when the
    /// file is a minor's (empty: the default text applies).
    pub child_protection: Option<String>,
}

/// A file the account may read, with everything the file page shows — an
/// audited read (the health section too, when shown).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn read_file(state: &App, who: &Caller, id: &str) -> Result<FileView> {
    gate_records(who)?;
    let (person, res) = load_person(state, who, id, Action::Read).await?;
    let health = who.can(Action::Read, &health_of(&res)).allowed;
    audit::append_now(&state.db, entry(who, state, "read", "person", person.id, person.organisation, serde_json::json!({"health": {"shown": health}}))).await?;
    view_of(state, who, person, res).await
}

/// The file page again after a refused change (what was read is not read again).
pub async fn file_again(state: &App, who: &Caller, id: &str) -> Result<FileView> {
    gate_records(who)?;
    let (person, res) = load_person(state, who, id, Action::Read).await?;
    view_of(state, who, person, res).await
}

async fn view_of(state: &App, who: &Caller, person: Person, res: Resource) -> Result<FileView> {
    let db = &state.db;
    let scope = who.scope();
    let health_res = health_of(&res);
    let can_read_health = who.can(Action::Read, &health_res).allowed;
    let orgs = organisations::list(db).await?;
    let org_name = |id: OrganisationId| orgs.iter().find(|o| o.id == id).map(|o| o.name.clone()).unwrap_or_default();
    // The merged view: the linked records the account may read.
    let group = people::group_of(db, person.id).await?;
    let mut visible_group = vec![person.id];
    let mut linked = Vec::new();
    for p in people::get_many(db, &scope, &group).await? {
        if p.id != person.id {
            visible_group.push(p.id);
            linked.push((p.clone(), org_name(p.organisation)));
        }
    }
    let household = match person.household {
        Some(h) => match people::household(db, &scope, h).await {
            Ok(hh) => {
                let members = people::household_members(db, &scope, h).await?.into_iter().filter(|m| m.id != person.id).collect();
                Some((hh, members))
            }
            Err(StorageError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let can_update = who.can(Action::Update, &res).allowed;
    let own_file = person.organisation == who.account.organisation;
    let household_candidates = if can_update && own_file {
        // The most recently met files only: a pick list, not the whole active list.
        let filter =
            Filter { active: Some(true), organisation: Some(person.organisation), without_household: true, window: Some(Window::first(HOUSEHOLD_PICK)) };
        people::list(db, &scope, &filter).await?.into_iter().filter(|p| p.id != person.id).collect()
    } else {
        Vec::new()
    };
    let shares = people::shares(db, &scope, person.id).await?;
    let share_targets = orgs
        .iter()
        .filter(|o| o.id != person.organisation && !shares.iter().any(|s| s.organisation == o.id && s.basis == ShareBasis::Consent))
        .map(|o| (o.id, o.name.clone()))
        .collect();
    let consents = people::consents(db, &scope, person.id).await?;
    let consent_in_force = consents.iter().find(|c| c.withdrawn_at.is_none()).cloned();
    let suggestions = if can_update { duplicates::of_person(state, who, &person).await? } else { Vec::new() };
    let territory = match person.fields.territory {
        Some(t) => veille_storage::territories::get(db, t).await.map(|t| format!("{} · {}", t.code, t.name)).unwrap_or_default(),
        None => String::new(),
    };
    let child_protection = if super::protection::is_minor(&person, state.clock.now()) {
        Some(super::protection::guidance_of(state, who.account.organisation).await?)
    } else {
        None
    };
    Ok(FileView {
        child_protection,
        territory,
        organisation: org_name(person.organisation),
        own_file,
        can_update,
        health: if can_read_health { Some(people::health(db, &scope, person.id).await?) } else { None },
        can_write_health: who.can(Action::Update, &health_res).allowed,
        consents,
        consent_in_force,
        notes: people::notes(db, &scope, &visible_group, can_read_health).await?,
        changes: veille_storage::retention::changes(db, &scope, person.id).await?,
        linked,
        suggestions,
        encounters: encounters::of_people(db, &scope, &visible_group).await?.into_iter().map(|e| super::encounters::shown_to(who, e)).collect(),
        referrals: referrals::of_people(db, &scope, &visible_group).await?,
        household,
        household_candidates,
        shares,
        share_targets,
        resource: res,
        health_resource: health_res,
        person,
    })
}

/// A file the account may read, for the API — an audited read.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn read_person(state: &App, who: &Caller, id: &str, via: &str) -> Result<Person> {
    gate_records(who)?;
    let (p, res) = load_person(state, who, id, Action::Read).await?;
    let health = who.can(Action::Read, &health_of(&res)).allowed;
    audit::append_now(&state.db, entry(who, state, "read", "person", p.id, p.organisation, serde_json::json!({"via": via, "health": {"shown": health}})))
        .await?;
    Ok(p)
}

/// What the API shows with a file: the consent in force, the linked records
/// the account may read, the health section when it may read it.
#[derive(Clone, Debug)]
pub struct Details {
    /// The consent in force.
    pub consent: Option<Consent>,
    /// The records linked to it that the account may read.
    pub linked: Vec<PersonId>,
    /// The health section.
    pub health: Option<Health>,
}

/// The [`Details`] of a file the account reads.
pub async fn details(state: &App, who: &Caller, p: &Person) -> Result<Details> {
    let scope = who.scope();
    let consent = people::current_consent(&state.db, &scope, p.id).await?;
    let group = people::group_of(&state.db, p.id).await?;
    let linked = people::get_many(&state.db, &scope, &group).await?.into_iter().map(|o| o.id).filter(|o| *o != p.id).collect();
    let health = if who.can(Action::Read, &health_of(&person_resource(&state.db, &scope, p).await?)).allowed {
        Some(people::health(&state.db, &scope, p.id).await?)
    } else {
        None
    };
    Ok(Details { consent, linked, health })
}

/// The probable duplicates of a file the account may change.
pub async fn duplicates_of(state: &App, who: &Caller, id: &str) -> Result<Vec<Suggestion>> {
    gate_records(who)?;
    let (p, _) = load_person(state, who, id, Action::Update).await?;
    duplicates::of_person(state, who, &p).await
}

// ---------------------------------------------------------------------------
// Consent

/// Records a consent (in the caller's transaction), audited.
pub(crate) async fn record_consent(tx: &mut Tx, state: &App, who: &Caller, person: &Person, c: &NewConsent, via: &str) -> Result<String> {
    let id = people::add_consent(tx, person.id, who.account.organisation, c, who.account.id, state.clock.now()).await?;
    let detail = serde_json::json!({"field": "consent", "consent": id, "via": via, "identifying": c.terms.agrees_identifying, "sharing": c.terms.agrees_sharing, "interpreter": c.interpreter, "language": c.language.code()});
    audit::append(tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    Ok(id)
}

/// Records what the person was told and agreed to; answers the file as it was read.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_consent(state: &App, who: &Caller, lang: Lang, id: &str, form: &ConsentForm, via: &str) -> Result<Result<Person, FieldErrors>> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    let Some(c) = validate_consent(lang, form, state.clock.now(), &mut errors) else { return Ok(Err(errors)) };
    let mut tx = state.db.begin().await?;
    record_consent(&mut tx, state, who, &person, &c, via).await?;
    tx.commit().await?;
    Ok(Ok(person))
}

/// Withdraws consent: the identifying data is erased and the file is no
/// longer shared by consent.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn withdraw_consent(state: &App, who: &Caller, id: &str) -> Result<PersonId> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let withdrawn = people::withdraw_consents(&mut tx, person.id, who.account.id, now).await?;
    people::clear_identifying(&mut tx, person.id, now).await?;
    let ended = people::revoke_consent_shares(&mut tx, person.id, None, who.account.id, now).await?;
    let detail =
        serde_json::json!({"field": "consent_withdrawn", "consents": withdrawn, "shares_ended": ended, "identifying_erased": person.fields.has_identifying()});
    audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(person.id)
}

// ---------------------------------------------------------------------------
// Notes and the health section

/// Adds a note (a health note: those who may write the health section).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_note(state: &App, who: &Caller, lang: Lang, id: &str, input: &NoteInput) -> Result<Result<PersonId, FieldErrors>> {
    gate_records(who)?;
    let (person, res) = load_person(state, who, id, Action::Update).await?;
    let group = input.is_health().then_some(FieldGroup::Health);
    if group.is_some() {
        who.require(Action::Update, &health_of(&res))?;
    }
    let body = match validate_note(lang, input) {
        Ok(b) => b,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = state.db.begin().await?;
    people::add_note(&mut tx, person.id, who.account.id, group, &body, state.clock.now()).await?;
    // A health note reads as a note to those who do not read health (its group under "health").
    let detail = if group.is_some() { serde_json::json!({"field": "note", "health": {"field": "health_note"}}) } else { serde_json::json!({"field": "note"}) };
    audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(Ok(person.id))
}

/// Saves the health section (those who may write it), with the version read.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn set_health(state: &App, who: &Caller, lang: Lang, id: &str, input: &HealthInput) -> Result<Result<PersonId, FieldErrors>> {
    gate_records(who)?;
    let (person, res) = load_person(state, who, id, Action::Update).await?;
    who.require(Action::Update, &health_of(&res))?;
    let (flags, notes) = match validate_health(lang, input) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let version = input.version.parse().unwrap_or(-1);
    let mut tx = state.db.begin().await?;
    people::set_health(&mut tx, person.id, &flags, &notes, who.account.id, version, state.clock.now()).await?;
    audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, serde_json::json!({"health": {"field": "health"}}))).await?;
    tx.commit().await?;
    Ok(Ok(person.id))
}

// ---------------------------------------------------------------------------
// The active list

/// Takes a person out of the active list with a reason, audited (errors on `reason`).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn leave(state: &App, who: &Caller, lang: Lang, id: &str, body: &ExitBody, via: &str) -> Result<Result<PersonId, FieldErrors>> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    let reason: ExitReason = match validate_exit(lang, body) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = state.db.begin().await?;
    people::leave_active_list(&mut tx, person.id, reason, body.version.unwrap_or(-1), state.clock.now()).await?;
    let detail = serde_json::json!({"field": "active", "to": false, "reason": reason.code(), "via": via});
    audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(Ok(person.id))
}

/// Puts a person back in the active list, audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn come_back(state: &App, who: &Caller, id: &str, version: Option<i64>) -> Result<PersonId> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    let mut tx = state.db.begin().await?;
    people::return_to_active_list(&mut tx, person.id, version.unwrap_or(-1), state.clock.now()).await?;
    audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, serde_json::json!({"field": "active", "to": true}))).await?;
    tx.commit().await?;
    Ok(person.id)
}

// ---------------------------------------------------------------------------
// Links between records of the same person

/// The other record of a pair: one the account may update, not this one.
async fn other_person(state: &App, who: &Caller, person: &Person, other: &str) -> Result<Option<Person>> {
    let Ok(id) = other.trim().parse::<PersonId>() else { return Ok(None) };
    if id == person.id {
        return Ok(None);
    }
    let scope = who.scope();
    let other = match people::get(&state.db, &scope, id).await {
        Ok(p) => p,
        Err(StorageError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let res = person_resource(&state.db, &scope, &other).await?;
    Ok(Some(other).filter(|_| who.can(Action::Update, &res).allowed))
}

/// A file the account may change and the other record named (errors on `other`).
async fn pair(state: &App, who: &Caller, lang: Lang, id: &str, other: &OtherBody) -> Result<Result<(Person, Person), FieldErrors>> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    match other_person(state, who, &person, &other.other).await? {
        Some(o) => Ok(Ok((person, o))),
        None => {
            let mut errors = FieldErrors::new();
            errors.add("other", lang.t("people.duplicates.invalid"));
            Ok(Err(errors))
        }
    }
}

/// Links two records a worker judged to be the same person (both histories
/// kept, nothing merged), audited on both; nothing when already in one group.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn link(state: &App, who: &Caller, lang: Lang, id: &str, other: &OtherBody, via: &str) -> Result<Result<PersonId, FieldErrors>> {
    let (a, b) = match pair(state, who, lang, id, other).await? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    if people::group_of(&state.db, a.id).await?.contains(&b.id) {
        return Ok(Ok(a.id));
    }
    let agreements: Vec<String> = duplicates::compare(&a.fields, &b.fields).into_iter().map(|g| g.field).collect();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    people::link(&mut tx, a.id, b.id, &agreements, who.account.id, now).await?;
    for (x, y) in [(&a, &b), (&b, &a)] {
        let detail = serde_json::json!({"field": "link", "other": y.id.to_string(), "agreements": agreements, "via": via});
        audit::append(&mut tx, entry(who, state, "update", "person", x.id, x.organisation, detail)).await?;
    }
    tx.commit().await?;
    Ok(Ok(a.id))
}

/// Undoes a link, audited on both; nothing when they were not linked.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn unlink(state: &App, who: &Caller, lang: Lang, id: &str, other: &OtherBody, via: &str) -> Result<Result<PersonId, FieldErrors>> {
    let (a, b) = match pair(state, who, lang, id, other).await? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = state.db.begin().await?;
    if people::unlink(&mut tx, a.id, b.id, who.account.id, state.clock.now()).await? {
        for (x, y) in [(&a, &b), (&b, &a)] {
            let detail = serde_json::json!({"field": "unlink", "other": y.id.to_string(), "via": via});
            audit::append(&mut tx, entry(who, state, "update", "person", x.id, x.organisation, detail)).await?;
        }
        tx.commit().await?;
    }
    Ok(Ok(a.id))
}

/// A suggested duplicate is another person: no longer suggested, audited on both.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn mark_distinct(state: &App, who: &Caller, lang: Lang, id: &str, other: &OtherBody) -> Result<Result<PersonId, FieldErrors>> {
    let (a, b) = match pair(state, who, lang, id, other).await? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = state.db.begin().await?;
    if people::mark_distinct(&mut tx, a.id, b.id, who.account.id, state.clock.now()).await? {
        for (x, y) in [(&a, &b), (&b, &a)] {
            let detail = serde_json::json!({"field": "distinct", "other": y.id.to_string()});
            audit::append(&mut tx, entry(who, state, "update", "person", x.id, x.organisation, detail)).await?;
        }
    }
    tx.commit().await?;
    Ok(Ok(a.id))
}

// ---------------------------------------------------------------------------
// Sharing by consent

/// Shares a file with an organisation: only the owning organisation shares,
/// and only under a consent in force that agrees to sharing (errors on `share`).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn share(state: &App, who: &Caller, lang: Lang, id: &str, input: &ShareInput) -> Result<Result<PersonId, FieldErrors>> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    if person.organisation != who.account.organisation {
        return Err(Error::forbidden());
    }
    let consent = people::current_consent(&state.db, &who.scope(), person.id).await?.filter(|c| c.terms.allows_sharing());
    let target = input.organisation.parse::<OrganisationId>().ok().filter(|o| *o != person.organisation);
    let target = match target {
        Some(o) => organisations::get(&state.db, o).await.ok(),
        None => None,
    };
    let mut errors = FieldErrors::new();
    if consent.is_none() {
        errors.add("share", lang.t("people.share.needs_consent"));
    } else if target.is_none() {
        errors.add("share", lang.t("form.choose_one"));
    }
    let (Some(consent), Some(target)) = (consent, target.filter(|_| errors.is_empty())) else { return Ok(Err(errors)) };
    let mut tx = state.db.begin().await?;
    people::share(&mut tx, person.id, target.id, ShareBasis::Consent, Some(&consent.id), None, who.account.id, state.clock.now()).await?;
    let detail = serde_json::json!({"field": "shared_with", "organisation": target.id.to_string(), "basis": "consent", "consent": consent.id});
    audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(Ok(person.id))
}

/// Ends the sharing of a file with an organisation (the owning organisation only).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn unshare(state: &App, who: &Caller, id: &str, input: &ShareInput) -> Result<PersonId> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    if person.organisation != who.account.organisation {
        return Err(Error::forbidden());
    }
    let org = input.organisation.parse::<OrganisationId>().map_err(|_| Error::bad_request())?;
    let mut tx = state.db.begin().await?;
    let ended = people::revoke_consent_shares(&mut tx, person.id, Some(org), who.account.id, state.clock.now()).await?;
    if ended > 0 {
        let detail = serde_json::json!({"field": "unshared", "organisation": org.to_string()});
        audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    }
    tx.commit().await?;
    Ok(person.id)
}

// ---------------------------------------------------------------------------
// Households

/// Creates, changes, joins or leaves a household, audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn household(state: &App, who: &Caller, lang: Lang, id: &str, input: &HouseholdInput) -> Result<Result<PersonId, FieldErrors>> {
    gate_records(who)?;
    let (person, _) = load_person(state, who, id, Action::Update).await?;
    let now = state.clock.now();
    let (kind, children) = match validate_household(lang, input, now) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = state.db.begin().await?;
    let detail = match (input.action.as_str(), kind, children) {
        ("create", Some(kind), Some(children)) if person.household.is_none() => {
            let h = people::create_household(&mut tx, person.organisation, kind, &children, now).await?;
            people::set_household(&mut tx, person.id, Some(h), now).await?;
            Some(serde_json::json!({"field": "household", "household": h.to_string(), "action": "create"}))
        }
        ("update", Some(kind), Some(children)) => match person.household {
            Some(h) => {
                people::update_household(&mut tx, h, kind, &children, input.version.parse().unwrap_or(-1), now).await?;
                Some(serde_json::json!({"field": "household", "household": h.to_string(), "action": "update"}))
            }
            None => None,
        },
        ("add", _, _) => match (person.household, other_person(state, who, &person, &input.member).await?) {
            (Some(h), Some(member)) if member.organisation == person.organisation => {
                people::set_household(&mut tx, member.id, Some(h), now).await?;
                let d = serde_json::json!({"field": "household", "household": h.to_string(), "action": "joined"});
                audit::append(&mut tx, entry(who, state, "update", "person", member.id, member.organisation, d)).await?;
                Some(serde_json::json!({"field": "household", "household": h.to_string(), "action": "added", "member": member.id.to_string()}))
            }
            _ => None,
        },
        ("leave", _, _) => person.household.map(|h| serde_json::json!({"field": "household", "household": h.to_string(), "action": "leave"})),
        _ => None,
    };
    let Some(detail) = detail else {
        drop(tx);
        let mut errors = FieldErrors::new();
        errors.add("household_kind", lang.t("people.household.invalid"));
        return Ok(Err(errors));
    };
    if input.action == "leave" {
        people::set_household(&mut tx, person.id, None, now).await?;
    }
    audit::append(&mut tx, entry(who, state, "update", "person", person.id, person.organisation, detail)).await?;
    tx.commit().await?;
    Ok(Ok(person.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_names_of_changed_fields_are_audited() {
        let a = PersonFields { pseudonym: "Momo".into(), phone: Some("0612345678".into()), ..Default::default() };
        let b = PersonFields { pseudonym: "Momo".into(), phone: Some("0700000000".into()), birth_year: Some(1980), ..Default::default() };
        assert_eq!(changed(&a, &b), vec!["birth_year", "phone"]);
    }
}
