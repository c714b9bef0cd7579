//! Encounters: one short form for a phone during a round — when (now by
//! default), where (a tap on the map, "my position", or words), the known
//! people met (the most recently met first), how many unidentified people,
//! what was done, a follow-up, and optionally a new person with the consent
//! captured there, whose probable duplicates are shown before the file is
//! created. The `site` and `round` query parameters fill the seams the sites
//! and maraudes work connects.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{Action, EncounterId, FieldGroup, PersonId, Resource, ResourceKind};
use veille_storage::encounters::{self, Encounter};
use veille_storage::people::{self, Person};
use veille_storage::audit;

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

use super::duplicates::Suggestion;
use super::input::{local_input, validate_encounter, EncounterForm, EncounterInput, PersonForm, ValidEncounter, ValidPerson, WithConsent};
use super::pages::{check_new, readable, since, write_new, Codes};
use super::{encounter_resource, entry, gate, gate_records, health_of, person_resource};

#[derive(Template)]
#[template(path = "people/encounters.html")]
struct ListPage {
    ctx: PageCtx,
    lines: Vec<(Encounter, Vec<Person>)>,
}

/// GET /encounters
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    gate(&who)?;
    let mut lines = Vec::new();
    for e in encounters::list(&state.db, who.account.organisation, 200).await? {
        if who.can(Action::Read, &encounter_resource(&e)).allowed {
            let met = readable_people(&state, &who, &e.people).await?;
            lines.push((e, met));
        }
    }
    Ok(render(&ListPage { ctx, lines }))
}

async fn readable_people(state: &AppState, who: &Authenticated, ids: &[PersonId]) -> AppResult<Vec<Person>> {
    let mut out = Vec::new();
    for p in people::get_many(&state.db, ids).await? {
        if who.can(Action::Read, &person_resource(&state.db, &p).await?).allowed {
            out.push(p);
        }
    }
    Ok(out)
}

/// Query of the new-encounter form: a person met, the site and round.
#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    round: String,
}

#[derive(Template)]
#[template(path = "people/encounter_form.html")]
struct FormPage {
    ctx: PageCtx,
    form: EncounterForm,
    errors: FieldErrors,
    known: Vec<(Person, String)>,
    suggestions: Vec<Suggestion>,
    may_write_care: bool,
    codes: Codes,
    actions: Vec<&'static str>,
}

async fn form_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: EncounterForm, errors: FieldErrors, suggestions: Vec<Suggestion>) -> AppResult<FormPage> {
    let now = state.clock.now();
    let mut known: Vec<Person> = readable(state, who, Some(true), 30).await?;
    // A person named in the form (the link from a file) is offered even if not among the most recent.
    for id in form.people.iter().filter_map(|p| p.parse::<PersonId>().ok()) {
        if !known.iter().any(|k| k.id == id) {
            known.extend(readable_people(state, who, &[id]).await?);
        }
    }
    let known = known.into_iter().map(|p| {
        let s = since(&ctx, now, p.last_contact_at);
        (p, s)
    }).collect();
    Ok(FormPage {
        may_write_care: who.actor.holds(FieldGroup::Health),
        ctx,
        form,
        errors,
        known,
        suggestions,
        codes: Codes,
        actions: veille_domain::people::EncounterAction::codes(),
    })
}

fn may_create(who: &Authenticated) -> AppResult<()> {
    Ok(who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))?)
}

/// GET /encounters/new
pub async fn new_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<NewQuery>) -> AppResult<Response> {
    gate(&who)?;
    may_create(&who)?;
    let mut form = EncounterForm {
        at: local_input(state.clock.now()),
        people: q.person.parse::<PersonId>().ok().map(|p| vec![p.to_string()]).unwrap_or_default(),
        site_id: q.site,
        round_id: q.round,
        ..Default::default()
    };
    form.consent.consent_language = "fr".into();
    Ok(render(&form_page(&state, ctx, &who, form, FieldErrors::new(), Vec::new()).await?))
}

/// What a valid encounter needs written.
pub struct Checked {
    /// The encounter.
    pub encounter: ValidEncounter,
    /// A new person to create with it.
    pub new_person: Option<ValidPerson>,
}

/// Checks an encounter from the form or the API: the people met must be
/// files the account may update; a new person is validated like any file
/// and its probable duplicates asked about first (`Err(Ok(..))`).
pub async fn check(state: &AppState, lang: crate::i18n::Lang, who: &Authenticated, input: &EncounterInput) -> AppResult<Result<Checked, Result<Vec<Suggestion>, FieldErrors>>> {
    let now = state.clock.now();
    let mut form = input.form.clone();
    let mut new_person_form: Option<PersonForm> = input.new_person.clone();
    // "It is this person after all": the suggested file is met, no new file.
    if let Ok(id) = form.use_person.parse::<PersonId>() {
        form.people.push(id.to_string());
        new_person_form = None;
    }
    let mut encounter = match validate_encounter(lang, &form, now, who.actor.holds(FieldGroup::Health)) {
        Ok(e) => Some(e),
        Err(e) => return Ok(Err(Err(e))),
    };
    let mut errors = FieldErrors::new();
    if let Some(e) = encounter.as_mut() {
        let found = people::get_many(&state.db, &e.people).await?;
        if found.len() != e.people.len() {
            errors.add("people", lang.t("form.choose_one"));
        }
        for p in &found {
            if !who.can(Action::Update, &person_resource(&state.db, p).await?).allowed {
                errors.add("people", lang.t("form.choose_one"));
            }
        }
        // Met at a site or during a round (a round's stop links here): ones
        // the account may read; with no point of its own, the site's.
        if let Some(id) = e.fields.site_id.clone() {
            match crate::error::found(crate::sites::load(state, who, &id, Action::Read).await)? {
                Some((site, _)) if e.fields.lon.is_none() || e.fields.lat.is_none() => (e.fields.lon, e.fields.lat) = (Some(site.lon), Some(site.lat)),
                Some(_) => {}
                None => errors.add("site_id", lang.t("people.encounter.error.site")),
            }
        }
        if let Some(id) = e.fields.round_id.clone() {
            if crate::error::found(crate::rounds::load_round(state, who, &id, Action::Read).await)?.is_none() {
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
    }
    let new_person = match &new_person_form {
        None => None,
        Some(f) => match check_new(state, lang, who, f).await? {
            Ok(v) => Some(v),
            Err(Ok(suggestions)) if errors.is_empty() => return Ok(Err(Ok(suggestions))),
            Err(Ok(_)) => None,
            Err(Err(person_errors)) => {
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
        return Ok(Err(Err(errors)));
    }
    let encounter = encounter.ok_or_else(|| AppError::from(anyhow::anyhow!("validated encounter missing")))?;
    Ok(Ok(Checked { encounter, new_person }))
}

/// Writes a checked encounter (and its new person), audited, in one transaction.
pub async fn write(state: &AppState, who: &Authenticated, checked: &Checked, via: &str) -> AppResult<(EncounterId, Option<PersonId>)> {
    let now = state.clock.now();
    let org = who.account.organisation;
    let mut tx = state.db.begin().await?;
    let mut met = checked.encounter.people.clone();
    let new_id = match &checked.new_person {
        Some(v) => {
            let id = write_new(&mut tx, state, who, v, via).await?;
            met.push(id);
            Some(id)
        }
        None => None,
    };
    let e = &checked.encounter;
    let id = encounters::create(&mut tx, org, &e.fields, &met, e.care.as_deref(), who.account.id, now).await?;
    let detail = serde_json::json!({
        "via": via, "people": met.len(), "unidentified": e.fields.unidentified_count, "care": e.care.is_some(),
        "site_id": e.fields.site_id, "round_id": e.fields.round_id, "new_person": new_id.map(|p| p.to_string()),
    });
    audit::append(&mut tx, entry(who, state, "create", "encounter", id, org, detail)).await?;
    tx.commit().await?;
    Ok((id, new_id))
}

/// POST /encounters
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, WithConsent(form, consent): WithConsent<EncounterForm>) -> AppResult<Response> {
    let form = EncounterForm { consent, ..form };
    gate(&who)?;
    may_create(&who)?;
    let input = EncounterInput::from(form.clone());
    match check(&state, ctx.lang, &who, &input).await? {
        Ok(checked) => {
            let (id, _) = write(&state, &who, &checked, "form").await?;
            Ok(see_other(&format!("/encounters/{id}")))
        }
        Err(Ok(suggestions)) => Ok(render(&form_page(&state, ctx, &who, form, FieldErrors::new(), suggestions).await?)),
        Err(Err(errors)) => {
            let p = form_page(&state, ctx, &who, form, errors, Vec::new()).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
        }
    }
}

#[derive(Template)]
#[template(path = "people/encounter.html")]
struct ShowPage {
    ctx: PageCtx,
    encounter: Encounter,
    people: Vec<Person>,
    care: Option<String>,
    territory: String,
}

/// An encounter the account may read (404 otherwise), the care notes when it
/// may read the health field group. The read is audited.
pub async fn load(state: &AppState, who: &Authenticated, id: &str, via: &str) -> AppResult<(Encounter, Option<String>)> {
    let id: EncounterId = id.parse().map_err(|_| AppError::not_found())?;
    let e = encounters::get(&state.db, id).await?;
    let res = encounter_resource(&e);
    if !who.can(Action::Read, &res).allowed {
        return Err(AppError::not_found());
    }
    let care = if e.has_care && who.can(Action::Read, &health_of(&res)).allowed { encounters::care(&state.db, e.id).await? } else { None };
    let detail = serde_json::json!({"via": via, "health": care.is_some()});
    audit::append_now(&state.db, entry(who, state, "read", "encounter", e.id, e.organisation, detail)).await?;
    Ok((e, care))
}

/// GET /encounters/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    gate_records(&who)?;
    let (encounter, care) = load(&state, &who, &id, "page").await?;
    let people = readable_people(&state, &who, &encounter.people).await?;
    let territory = match encounter.fields.territory {
        Some(t) => veille_storage::territories::get(&state.db, t).await.map(|t| format!("{} · {}", t.code, t.name)).unwrap_or_default(),
        None => String::new(),
    };
    Ok(render(&ShowPage { ctx, encounter, people, care, territory }))
}
