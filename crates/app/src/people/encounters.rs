//! Encounters: recorded fast during a round — when, where (a map point, a
//! place, a site, a round), the known people met, how many unidentified
//! people, what was done, a follow-up, care given (health field group) and
//! optionally a new person with the consent captured there, whose probable
//! duplicates are asked about before the file is created.

use veille_domain::people::EncounterAction;
use veille_domain::{Action, EncounterId, FieldGroup, PersonId, Resource, ResourceKind};
use veille_storage::audit;
use veille_storage::encounters;
use veille_storage::people;
pub use veille_storage::territories::Territory;

use super::files::{check_new, write_new, Rejected};
use super::input::{local_input, validate_encounter, EncounterForm, EncounterInput, PersonForm, ValidEncounter, ValidPerson};
use super::{encounter_resource, entry, gate, gate_records, health_of, may_create, person_resource, readable_people, Encounter, Person};
use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

/// How many encounters the list of recent encounters shows (the page; the
/// API answers [`RECENT_API`]). Older ones are reached from the files.
pub const RECENT_PAGE: i64 = 200;
/// How many encounters the API's list of recent encounters answers.
pub const RECENT_API: i64 = 500;
/// How many recently met people the encounter form offers to tick.
pub const RECENT_PEOPLE: i64 = 30;

/// The `limit` most recent encounters the account may read, newest first.
pub async fn recent(state: &App, who: &Caller, limit: i64) -> Result<Vec<Encounter>> {
    gate(who)?;
    Ok(encounters::recent(&state.db, &who.scope(), limit).await?.into_iter().map(|e| shown_to(who, e)).collect())
}

/// An encounter as `who` may see it: the care given (a health marker) only
/// for those who read the health field group.
pub(crate) fn shown_to(who: &Caller, mut e: Encounter) -> Encounter {
    if !who.actor.holds(FieldGroup::Health) {
        e.fields.actions.retain(|a| *a != EncounterAction::Care);
        e.has_care = false;
    }
    e
}

/// What the encounter form offers beside what was typed.
#[derive(Clone, Debug)]
pub struct FormData {
    /// The people to tick: the most recently met, and any named in the form.
    pub known: Vec<Person>,
    /// The account may write care notes.
    pub may_write_care: bool,
}

/// The people the encounter form offers, for what was typed.
pub async fn form_data(state: &App, who: &Caller, form: &EncounterForm) -> Result<FormData> {
    let mut known = super::files::most_recent(state, who, RECENT_PEOPLE).await?;
    // A person named in the form (the link from a file) is offered even if not among the most recent.
    let named: Vec<PersonId> = form.people.iter().filter_map(|p| p.parse::<PersonId>().ok()).filter(|id| !known.iter().any(|k| k.id == *id)).collect();
    known.extend(readable_people(state, who, &named).await?);
    Ok(FormData { known, may_write_care: who.actor.holds(FieldGroup::Health) })
}

/// An empty encounter form (now, with the person met, the site and the
/// round given), for an account that may record encounters.
pub async fn new_form(state: &App, who: &Caller, person: &str, site: &str, round: &str) -> Result<(EncounterForm, FormData)> {
    gate(who)?;
    may_create(who)?;
    let mut form = EncounterForm {
        at: local_input(state.clock.now()),
        people: person.parse::<PersonId>().ok().map(|p| vec![p.to_string()]).unwrap_or_default(),
        site_id: site.to_owned(),
        round_id: round.to_owned(),
        ..Default::default()
    };
    form.consent.consent_language = "fr".into();
    let data = form_data(state, who, &form).await?;
    Ok((form, data))
}

/// The point of a site the account may read, if it is one (the sites' loader).
async fn readable_site(state: &App, who: &Caller, id: &str) -> Result<Option<(f64, f64)>> {
    Ok(crate::found(crate::sites::load_site(state, who, id, Action::Read).await)?.map(|(s, _)| (s.lon, s.lat)))
}

/// Whether a round exists that the account may read (the rounds' loader).
async fn readable_round(state: &App, who: &Caller, id: &str) -> Result<bool> {
    Ok(crate::found(crate::rounds::load_round(state, who, id, Action::Read).await)?.is_some())
}

/// A valid encounter, ready to be written.
pub(crate) struct Checked {
    encounter: ValidEncounter,
    new_person: Option<ValidPerson>,
}

/// Checks an encounter from the form or the API: the people met must be
/// files the account may update; a site and a round ones it may read; the
/// point within its territories; a new person is validated like any file
/// and its probable duplicates asked about first.
pub(crate) async fn check(state: &App, lang: Lang, who: &Caller, input: &EncounterInput) -> Result<Result<Checked, Rejected>> {
    let now = state.clock.now();
    let mut form = input.form.clone();
    let mut new_person_form: Option<PersonForm> = input.new_person.clone();
    // "It is this person after all": the suggested file is met, no new file.
    if let Ok(id) = form.use_person.parse::<PersonId>() {
        form.people.push(id.to_string());
        new_person_form = None;
    }
    let mut e = match validate_encounter(lang, &form, now, who.actor.holds(FieldGroup::Health)) {
        Ok(e) => e,
        Err(errors) => return Ok(Err(Rejected::Invalid(errors))),
    };
    let mut errors = FieldErrors::new();
    let scope = who.scope();
    let found = people::get_many(&state.db, &scope, &e.people).await?;
    if found.len() != e.people.len() {
        errors.add("people", lang.t("form.choose_one"));
    }
    for p in &found {
        if !who.can(Action::Update, &person_resource(&state.db, &scope, p).await?).allowed {
            errors.add("people", lang.t("form.choose_one"));
        }
    }
    // Met at a site or during a round (a round's stop links here): ones the
    // account may read; with no point of its own, the site's.
    if let Some(id) = e.fields.site_id.clone() {
        match readable_site(state, who, &id).await? {
            Some((lon, lat)) if e.fields.lon.is_none() || e.fields.lat.is_none() => (e.fields.lon, e.fields.lat) = (Some(lon), Some(lat)),
            Some(_) => {}
            None => errors.add("site_id", lang.t("people.encounter.error.site")),
        }
    }
    if let Some(id) = e.fields.round_id.clone() {
        if !readable_round(state, who, &id).await? {
            errors.add("round_id", lang.t("people.encounter.error.round"));
        }
    }
    if let (Some(lon), Some(lat)) = (e.fields.lon, e.fields.lat) {
        if let Ok(p) = veille_geo::LonLat::new(lon, lat) {
            e.fields.territory = crate::territories::locate(state, p).await?.map(|t| t.id);
        }
    }
    let res = Resource::new(ResourceKind::Record).owned_by(who.account.organisation).in_territory(e.fields.territory);
    if !who.can(Action::Create, &res).allowed {
        errors.add("lat", lang.t("people.encounter.outside_territories"));
    }
    // The new person is placed where they were met.
    if let (Some(f), Some(t)) = (new_person_form.as_mut(), e.fields.territory) {
        if f.territory.is_empty() {
            f.territory = t.to_string();
        }
    }
    let new_person = match &new_person_form {
        None => None,
        Some(f) => match check_new(state, lang, who, f).await? {
            Ok(v) => Some(v),
            Err(Rejected::Duplicates(suggestions)) if errors.is_empty() => return Ok(Err(Rejected::Duplicates(suggestions))),
            Err(Rejected::Duplicates(_)) => None,
            Err(Rejected::Invalid(person_errors)) => {
                for (field, message) in person_errors.all() {
                    let field = match field.as_str() {
                        "pseudonym" | "age" | "gender" => format!("new_{field}"),
                        other => other.to_owned(),
                    };
                    errors.add(&field, message);
                }
                None
            }
        },
    };
    if !errors.is_empty() {
        return Ok(Err(Rejected::Invalid(errors)));
    }
    Ok(Ok(Checked { encounter: e, new_person }))
}

/// An encounter written.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The encounter, as the account reads it.
    pub encounter: Encounter,
    /// The new person's file, if one was created with it.
    pub new_person: Option<PersonId>,
    /// The care notes written, for an account that may read them.
    pub care: Option<String>,
}

/// Records an encounter (and its new person, with the consent captured),
/// audited, in one transaction: the people met must be files the account
/// may update; probable duplicates of a new person are answered first.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn record(state: &App, who: &Caller, lang: Lang, input: &EncounterInput, via: &str) -> Result<Result<Recorded, Rejected>> {
    let checked = match check_record(state, who, lang, input).await? {
        Ok(c) => c,
        Err(rejected) => return Ok(Err(rejected)),
    };
    let mut tx = state.db.begin().await?;
    let (id, new_id) = write(&mut tx, state, who, &checked, via).await?;
    tx.commit().await?;
    let e = &checked.encounter;
    let encounter = shown_to(who, encounters::get(&state.db, &who.scope(), id).await?);
    let care = if who.actor.holds(FieldGroup::Health) { e.care.clone() } else { None };
    Ok(Ok(Recorded { encounter, new_person: new_id, care }))
}

/// Checks an encounter and the caller's right to record it (what
/// [`record`] does before its transaction).
pub(crate) async fn check_record(state: &App, who: &Caller, lang: Lang, input: &EncounterInput) -> Result<Result<Checked, Rejected>> {
    gate(who)?;
    may_create(who)?;
    check(state, lang, who, input).await
}

/// Writes a checked encounter (and its new person), audited, in the
/// caller's transaction.
pub(crate) async fn write(tx: &mut veille_storage::Tx, state: &App, who: &Caller, checked: &Checked, via: &str) -> Result<(EncounterId, Option<PersonId>)> {
    let now = state.clock.now();
    let org = who.account.organisation;
    let mut met = checked.encounter.people.clone();
    let new_id = match &checked.new_person {
        Some(v) => {
            let id = write_new(tx, state, who, v, via).await?;
            met.push(id);
            Some(id)
        }
        None => None,
    };
    let e = &checked.encounter;
    let id = encounters::create(tx, org, &e.fields, &met, e.care.as_deref(), who.account.id, now).await?;
    // Health markers in audit details live under "health" only (shown to the health field group's readers).
    let detail = serde_json::json!({
        "via": via, "people": met.len(), "unidentified": e.fields.unidentified_count,
        "site_id": e.fields.site_id, "round_id": e.fields.round_id, "new_person": new_id.map(|p| p.to_string()),
        "health": {"care": e.care.is_some() || e.fields.actions.contains(&EncounterAction::Care)},
    });
    audit::append(tx, entry(who, state, "create", "encounter", id, org, detail)).await?;
    Ok((id, new_id))
}

/// An encounter as read: the care notes when the account may read the
/// health field group, the people met it may read, the territory.
#[derive(Clone, Debug)]
pub struct EncounterRead {
    /// The encounter.
    pub encounter: Encounter,
    /// Its care notes.
    pub care: Option<String>,
    /// The known people met that the account may read.
    pub people: Vec<Person>,
    /// The territory of the point.
    pub territory: Option<Territory>,
    /// The child-protection guidance of the account's organisation, when a
    /// minor was met with no adult (empty: the default text applies).
    pub child_protection: Option<String>,
}

/// An encounter the account may read (404 otherwise) — an audited read.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn read(state: &App, who: &Caller, id: &str, via: &str) -> Result<EncounterRead> {
    gate_records(who)?;
    let id: EncounterId = id.parse().map_err(|_| Error::not_found())?;
    let scope = who.scope();
    let e = encounters::get(&state.db, &scope, id).await?;
    let res = encounter_resource(&e);
    if !who.can(Action::Read, &res).allowed {
        return Err(Error::not_found());
    }
    let care = if e.has_care && who.can(Action::Read, &health_of(&res)).allowed { encounters::care(&state.db, &scope, e.id).await? } else { None };
    let detail = serde_json::json!({"via": via, "health": {"shown": care.is_some()}});
    audit::append_now(&state.db, entry(who, state, "read", "encounter", e.id, e.organisation, detail)).await?;
    let e = shown_to(who, e);
    let people = readable_people(state, who, &e.people).await?;
    let territory = match e.fields.territory {
        Some(t) => veille_storage::territories::get(&state.db, t).await.ok(),
        None => None,
    };
    let child_protection = if super::protection::minor_met_alone(people.iter().map(|p| &p.fields), e.fields.at) {
        Some(super::protection::guidance_of(state, who.account.organisation).await?)
    } else {
        None
    };
    Ok(EncounterRead { encounter: e, care, people, territory, child_protection })
}
