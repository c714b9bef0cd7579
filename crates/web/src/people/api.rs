//! The JSON API of people, encounters and referrals. Every answer goes
//! through the same checks and writes as the pages (the same validation
//! functions, the same audited writes); health fields appear only for those
//! who may read them, and a partner sees of a referral only what it needs.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use veille_domain::people::{AgeBand, EncounterAction, ExitReason, Gender, HealthFlag, Language, Nationality, Need, ReferralParty, ReferralStatus, Situation, Vulnerability};
use veille_domain::{Action, FieldGroup, Resource, ResourceKind};
use veille_storage::encounters::Encounter;
use veille_storage::people::{self, Person};
use veille_storage::referrals::Referral;
use veille_storage::audit;

use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::FieldErrors;
use crate::AppState;

use super::duplicates::{self, Suggestion};
use super::input::{validate_answer, validate_consent, AnswerBody, ConsentBody, ConsentForm, EncounterBody, EncounterInput, PersonBody, PersonForm, ReferralBody, ReferralForm};
use super::referrals::{LinkOnce, PartnerPerson};
use super::{entry, gate, gate_records, health_of, load_person, person_resource};

fn lang_of(who: &Authenticated) -> crate::i18n::Lang {
    crate::i18n::Lang::from_code(&who.account.lang)
}

fn created<T: Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

// ---------------------------------------------------------------------------
// Views

/// The consent in force, as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ConsentView {
    /// Told why the file exists.
    pub told_purpose: bool,
    /// Told who sees it.
    pub told_access: bool,
    /// Told their rights.
    pub told_rights: bool,
    /// Agreed to identifying data.
    pub agrees_identifying: bool,
    /// Agreed to sharing.
    pub agrees_sharing: bool,
    /// Language.
    pub language: Language,
    /// With an interpreter.
    pub interpreter: bool,
    /// When the person was told.
    pub given_at: String,
    /// Who recorded it (account id).
    pub recorded_by: String,
}

/// The health section (present only for health professionals).
#[derive(Serialize, schemars::JsonSchema)]
pub struct HealthView {
    /// Flags.
    pub flags: Vec<HealthFlag>,
    /// Notes.
    pub notes: String,
}

/// A person file as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct PersonView {
    /// Id.
    pub id: String,
    /// Owning organisation.
    pub organisation_id: String,
    /// Pseudonym.
    pub pseudonym: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// Birth year (exact or approximate).
    pub birth_year: Option<i32>,
    /// Age band.
    pub age_band: Option<AgeBand>,
    /// Gender.
    pub gender: Option<Gender>,
    /// Languages.
    pub languages: Vec<Language>,
    /// Nationality (France, EU, outside the EU; absent: unknown).
    pub nationality: Option<Nationality>,
    /// Situation.
    pub situation: Option<Situation>,
    /// Needs.
    pub needs: Vec<Need>,
    /// Vulnerabilities.
    pub vulnerabilities: Vec<Vulnerability>,
    /// Usual territory.
    pub territory_id: Option<String>,
    /// Phone (identifying).
    pub phone: Option<String>,
    /// Civil given name (identifying).
    pub civil_given_name: Option<String>,
    /// Civil family name (identifying).
    pub civil_family_name: Option<String>,
    /// Household.
    pub household_id: Option<String>,
    /// In the active list.
    pub active: bool,
    /// Why the person left it.
    pub exit_reason: Option<ExitReason>,
    /// Last contact (RFC 3339).
    pub last_contact_at: Option<String>,
    /// Version (send it back with an update).
    pub version: i64,
    /// The consent in force.
    pub consent: Option<ConsentView>,
    /// Records linked to this one (the same person), that the caller may read.
    pub linked: Vec<String>,
    /// The health section: only for those who may read it (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthView>,
}

async fn person_view(state: &AppState, who: &Authenticated, p: &Person) -> AppResult<PersonView> {
    let f = &p.fields;
    let consent = people::current_consent(&state.db, p.id).await?.map(|c| ConsentView {
        told_purpose: c.terms.told_purpose,
        told_access: c.terms.told_access,
        told_rights: c.terms.told_rights,
        agrees_identifying: c.terms.agrees_identifying,
        agrees_sharing: c.terms.agrees_sharing,
        language: c.language,
        interpreter: c.interpreter,
        given_at: c.given_at.to_rfc3339(),
        recorded_by: c.recorded_by.to_string(),
    });
    let mut linked = Vec::new();
    for other in people::get_many(&state.db, &people::group_of(&state.db, p.id).await?).await? {
        if other.id != p.id && who.can(Action::Read, &person_resource(&state.db, &other).await?).allowed {
            linked.push(other.id.to_string());
        }
    }
    let health = if who.can(Action::Read, &health_of(&person_resource(&state.db, p).await?)).allowed {
        let h = people::health(&state.db, p.id).await?;
        Some(HealthView { flags: h.flags, notes: h.notes })
    } else {
        None
    };
    Ok(PersonView {
        id: p.id.to_string(),
        organisation_id: p.organisation.to_string(),
        pseudonym: f.pseudonym.clone(),
        aliases: f.aliases.clone(),
        birth_year: f.birth_year,
        age_band: f.age_band,
        gender: f.gender,
        languages: f.languages.clone(),
        nationality: f.nationality,
        situation: f.situation,
        needs: f.needs.clone(),
        vulnerabilities: f.vulnerabilities.clone(),
        territory_id: f.territory.map(|t| t.to_string()),
        phone: f.phone.clone(),
        civil_given_name: f.civil_given_name.clone(),
        civil_family_name: f.civil_family_name.clone(),
        household_id: p.household.map(|h| h.to_string()),
        active: p.active,
        exit_reason: p.exit_reason,
        last_contact_at: p.last_contact_at.map(|t| t.to_rfc3339()),
        version: p.version,
        consent,
        linked,
        health,
    })
}

/// A person in a list: no identifying data, no consent, no health (read the
/// file itself, an audited read, for those).
#[derive(Serialize, schemars::JsonSchema)]
pub struct PersonSummary {
    /// Id.
    pub id: String,
    /// Owning organisation.
    pub organisation_id: String,
    /// Pseudonym.
    pub pseudonym: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// Birth year (exact or approximate).
    pub birth_year: Option<i32>,
    /// Age band.
    pub age_band: Option<AgeBand>,
    /// Gender.
    pub gender: Option<Gender>,
    /// Situation.
    pub situation: Option<Situation>,
    /// Usual territory.
    pub territory_id: Option<String>,
    /// In the active list.
    pub active: bool,
    /// Why the person left it.
    pub exit_reason: Option<ExitReason>,
    /// Last contact (RFC 3339).
    pub last_contact_at: Option<String>,
    /// Version.
    pub version: i64,
}

impl From<&Person> for PersonSummary {
    fn from(p: &Person) -> Self {
        let f = &p.fields;
        PersonSummary {
            id: p.id.to_string(),
            organisation_id: p.organisation.to_string(),
            pseudonym: f.pseudonym.clone(),
            aliases: f.aliases.clone(),
            birth_year: f.birth_year,
            age_band: f.age_band,
            gender: f.gender,
            situation: f.situation,
            territory_id: f.territory.map(|t| t.to_string()),
            active: p.active,
            exit_reason: p.exit_reason,
            last_contact_at: p.last_contact_at.map(|t| t.to_rfc3339()),
            version: p.version,
        }
    }
}

/// Query of the people list.
#[derive(Deserialize, Default)]
pub struct PeopleQuery {
    #[serde(default)]
    active: Option<bool>,
}

/// GET /api/v1/people
pub async fn list_people(State(state): State<AppState>, who: Authenticated, Query(q): Query<PeopleQuery>) -> AppResult<Response> {
    gate(&who)?;
    let list: Vec<PersonSummary> = super::pages::readable(&state, &who, q.active, 1000).await?.iter().map(PersonSummary::from).collect();
    Ok(Json(list).into_response())
}

fn duplicates_found(lang: crate::i18n::Lang, found: &[Suggestion]) -> Response {
    let body = serde_json::json!({"error": {"code": "possible_duplicates", "message": lang.t("people.duplicates.api"), "duplicates": found}});
    (StatusCode::CONFLICT, [("x-veille-error", "possible_duplicates")], Json(body)).into_response()
}

/// POST /api/v1/people: probable duplicates answer 409 with them, unless
/// `duplicates_reviewed` says they were seen.
pub async fn create_person(State(state): State<AppState>, who: Authenticated, JsonBody(body): JsonBody<PersonBody>) -> AppResult<Response> {
    gate(&who)?;
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))?;
    let lang = lang_of(&who);
    let form = PersonForm::from(body);
    let valid = match super::pages::check_new(&state, lang, &who, &form).await? {
        Ok(v) => v,
        Err(Ok(found)) => return Ok(duplicates_found(lang, &found)),
        Err(Err(errors)) => return Ok(invalid(lang, &errors)),
    };
    let mut tx = state.db.begin().await?;
    let id = super::pages::write_new(&mut tx, &state, &who, &valid, "api").await?;
    tx.commit().await?;
    let p = people::get(&state.db, id).await?;
    Ok(created(person_view(&state, &who, &p).await?))
}

/// GET /api/v1/people/{id} (an audited read)
pub async fn person(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    gate_records(&who)?;
    let (p, res) = load_person(&state, &who, &id, Action::Read).await?;
    let health = who.can(Action::Read, &health_of(&res)).allowed;
    audit::append_now(&state.db, entry(&who, &state, "read", "person", p.id, p.organisation, serde_json::json!({"via": "api", "health": health}))).await?;
    Ok(Json(person_view(&state, &who, &p).await?).into_response())
}

/// POST /api/v1/people/{id}: the whole file, with the version read.
pub async fn update_person(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<PersonBody>) -> AppResult<Response> {
    gate_records(&who)?;
    let (p, _) = load_person(&state, &who, &id, Action::Update).await?;
    if let Err(errors) = super::pages::save_edit(&state, lang_of(&who), &who, &p, &PersonForm::from(body), "api").await? {
        return Ok(invalid(lang_of(&who), &errors));
    }
    let p = people::get(&state.db, p.id).await?;
    Ok(Json(person_view(&state, &who, &p).await?).into_response())
}

/// GET /api/v1/people/{id}/duplicates
pub async fn duplicates(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    gate_records(&who)?;
    let (p, _) = load_person(&state, &who, &id, Action::Update).await?;
    Ok(Json(duplicates::of_person(&state, &who, &p).await?).into_response())
}

/// POST /api/v1/people/{id}/consents
pub async fn add_consent(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<ConsentBody>) -> AppResult<Response> {
    gate_records(&who)?;
    let (p, _) = load_person(&state, &who, &id, Action::Update).await?;
    let mut errors = FieldErrors::new();
    let Some(c) = validate_consent(lang_of(&who), &ConsentForm::from(body), state.clock.now(), &mut errors) else {
        return Ok(invalid(lang_of(&who), &errors));
    };
    let mut tx = state.db.begin().await?;
    super::pages::record_consent(&mut tx, &state, &who, &p, &c, "api").await?;
    tx.commit().await?;
    Ok(created(person_view(&state, &who, &p).await?))
}

/// The other record of a link.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct OtherBody {
    /// The other record's id.
    pub other: String,
}

async fn pair(state: &AppState, who: &Authenticated, id: &str, other: &str) -> AppResult<Result<(Person, Person), Response>> {
    gate_records(who)?;
    let (p, _) = load_person(state, who, id, Action::Update).await?;
    match super::pages::other_person(state, who, &p, other).await? {
        Some(o) => Ok(Ok((p, o))),
        None => {
            let mut errors = FieldErrors::new();
            errors.add("other", lang_of(who).t("people.duplicates.invalid"));
            Ok(Err(invalid(lang_of(who), &errors)))
        }
    }
}

/// POST /api/v1/people/{id}/links
pub async fn link(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<OtherBody>) -> AppResult<Response> {
    let (p, o) = match pair(&state, &who, &id, &body.other).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    super::pages::link_records(&state, &who, &p, &o, "api").await?;
    Ok(Json(person_view(&state, &who, &p).await?).into_response())
}

/// POST /api/v1/people/{id}/unlink
pub async fn unlink(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<OtherBody>) -> AppResult<Response> {
    let (p, o) = match pair(&state, &who, &id, &body.other).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    super::pages::unlink_records(&state, &who, &p, &o, "api").await?;
    Ok(Json(person_view(&state, &who, &p).await?).into_response())
}

/// Leaving the active list.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct ExitBody {
    /// Why.
    #[schemars(with = "ExitReason")]
    pub reason: String,
    /// The version read.
    pub version: Option<i64>,
}

/// POST /api/v1/people/{id}/exit
pub async fn exit(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<ExitBody>) -> AppResult<Response> {
    gate_records(&who)?;
    let (p, _) = load_person(&state, &who, &id, Action::Update).await?;
    let Some(reason) = ExitReason::from_code(&body.reason) else {
        let mut errors = FieldErrors::new();
        errors.add("reason", lang_of(&who).t("form.choose_one"));
        return Ok(invalid(lang_of(&who), &errors));
    };
    super::pages::leave(&state, &who, &p, reason, body.version.unwrap_or(-1), "api").await?;
    let p = people::get(&state.db, p.id).await?;
    Ok(Json(person_view(&state, &who, &p).await?).into_response())
}

// ---------------------------------------------------------------------------
// Encounters

/// An encounter as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct EncounterView {
    /// Id.
    pub id: String,
    /// Organisation that met the people.
    pub organisation_id: String,
    /// When (RFC 3339).
    pub at: String,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Territory of the point.
    pub territory_id: Option<String>,
    /// The place in words.
    pub place: String,
    /// Site (sites work).
    pub site_id: Option<String>,
    /// Round (maraudes work).
    pub round_id: Option<String>,
    /// Known people met, that the caller may read.
    pub people: Vec<String>,
    /// Unidentified people met.
    pub unidentified_count: i64,
    /// What was done.
    pub actions: Vec<EncounterAction>,
    /// Follow-up needed.
    pub follow_up: bool,
    /// What follow-up.
    pub follow_up_note: String,
    /// Notes.
    pub notes: String,
    /// Care given: only for those who may read health (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub care_notes: Option<String>,
}

async fn encounter_view(state: &AppState, who: &Authenticated, e: &Encounter, care: Option<String>) -> AppResult<EncounterView> {
    let mut met = Vec::new();
    for p in people::get_many(&state.db, &e.people).await? {
        if who.can(Action::Read, &person_resource(&state.db, &p).await?).allowed {
            met.push(p.id.to_string());
        }
    }
    let f = &e.fields;
    Ok(EncounterView {
        id: e.id.to_string(),
        organisation_id: e.organisation.to_string(),
        at: f.at.to_rfc3339(),
        lat: f.lat,
        lon: f.lon,
        territory_id: f.territory.map(|t| t.to_string()),
        place: f.place.clone(),
        site_id: f.site_id.clone(),
        round_id: f.round_id.clone(),
        people: met,
        unidentified_count: f.unidentified_count,
        actions: f.actions.clone(),
        follow_up: f.follow_up,
        follow_up_note: f.follow_up_note.clone(),
        notes: f.notes.clone(),
        care_notes: care,
    })
}

/// GET /api/v1/encounters
pub async fn list_encounters(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    gate(&who)?;
    let mut out = Vec::new();
    for e in veille_storage::encounters::list(&state.db, who.account.organisation, 500).await? {
        if who.can(Action::Read, &super::encounter_resource(&e)).allowed {
            out.push(encounter_view(&state, &who, &e, None).await?);
        }
    }
    Ok(Json(out).into_response())
}

/// POST /api/v1/encounters: probable duplicates of a new person answer 409.
pub async fn create_encounter(State(state): State<AppState>, who: Authenticated, JsonBody(body): JsonBody<EncounterBody>) -> AppResult<Response> {
    gate(&who)?;
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))?;
    let lang = lang_of(&who);
    let input = EncounterInput::from(body);
    let checked = match super::encounters::check(&state, lang, &who, &input).await? {
        Ok(c) => c,
        Err(Ok(found)) => return Ok(duplicates_found(lang, &found)),
        Err(Err(errors)) => return Ok(invalid(lang, &errors)),
    };
    let (id, _) = super::encounters::write(&state, &who, &checked, "api").await?;
    let e = veille_storage::encounters::get(&state.db, id).await?;
    let care = if who.actor.holds(FieldGroup::Health) { checked.encounter.care.clone() } else { None };
    Ok(created(encounter_view(&state, &who, &e, care).await?))
}

/// GET /api/v1/encounters/{id} (an audited read)
pub async fn encounter(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    gate_records(&who)?;
    let (e, care) = super::encounters::load(&state, &who, &id, "api").await?;
    Ok(Json(encounter_view(&state, &who, &e, care).await?).into_response())
}

// ---------------------------------------------------------------------------
// Referrals

/// A referral as the API shows it. A partner sees only what the referral
/// needs: `person` (pseudonym, age, gender, languages), not the file.
#[derive(Serialize, schemars::JsonSchema)]
pub struct ReferralView {
    /// Id.
    pub id: String,
    /// Sending organisation.
    pub organisation_id: String,
    /// The person's file (the sender only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<String>,
    /// What the partner needs of the person.
    pub person: PartnerPerson,
    /// Directory service.
    pub service_id: Option<String>,
    /// Partner in words.
    pub partner_name: String,
    /// Partner organisation of the instance.
    pub partner_organisation_id: Option<String>,
    /// Why.
    pub reason: String,
    /// The person's consent was confirmed.
    pub consent_confirmed: bool,
    /// Urgent override reason (the sender only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgent_override_reason: Option<String>,
    /// Status.
    pub status: ReferralStatus,
    /// Answer due (RFC 3339).
    pub answer_due_at: Option<String>,
    /// The partner's answer.
    pub answer: String,
    /// Version.
    pub version: i64,
    /// The partner link and its code, shown once when just sent (the sender only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_link: Option<LinkOnce>,
}

async fn referral_view(state: &AppState, who: &Authenticated, r: &Referral, link: Option<LinkOnce>) -> AppResult<ReferralView> {
    let person = people::get(&state.db, r.person).await?;
    let sender = r.organisation == who.account.organisation;
    Ok(ReferralView {
        id: r.id.to_string(),
        organisation_id: r.organisation.to_string(),
        person_id: sender.then(|| r.person.to_string()),
        person: PartnerPerson::of(&person.fields, state.clock.now()),
        service_id: r.service_id.clone(),
        partner_name: r.partner_name.clone(),
        partner_organisation_id: r.partner_organisation.map(|o| o.to_string()),
        reason: r.reason.clone(),
        consent_confirmed: r.consent_confirmed,
        urgent_override_reason: if sender { r.urgent_override_reason.clone() } else { None },
        status: r.status,
        answer_due_at: r.answer_due_at.map(|t| t.to_rfc3339()),
        answer: r.answer.clone(),
        version: r.version,
        partner_link: link.filter(|_| sender),
    })
}

/// GET /api/v1/referrals
pub async fn list_referrals(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    gate_records(&who)?;
    let (sent, queue) = super::referrals::visible(&state, &who, gate(&who).is_ok()).await?;
    let mut out = Vec::new();
    for r in sent.iter().chain(&queue) {
        out.push(referral_view(&state, &who, r, None).await?);
    }
    Ok(Json(out).into_response())
}

/// POST /api/v1/referrals
pub async fn create_referral(State(state): State<AppState>, who: Authenticated, JsonBody(body): JsonBody<ReferralBody>) -> AppResult<Response> {
    gate(&who)?;
    let lang = lang_of(&who);
    let form = ReferralForm::from(body);
    let (new, person) = match super::referrals::check(&state, lang, &who, &form).await {
        Ok(Ok(x)) => x,
        Ok(Err(errors)) => return Ok(invalid(lang, &errors)),
        // A person the caller cannot reach is a field error here, not a 404 of this route.
        Err(AppError { kind: ErrorKind::NotFound, .. }) => {
            let mut errors = FieldErrors::new();
            errors.add("person_id", lang.t("form.choose_one"));
            return Ok(invalid(lang, &errors));
        }
        Err(e) => return Err(e),
    };
    let (id, once) = super::referrals::write(&state, &who, &new, &person, form.send_now(), "api").await?;
    let r = veille_storage::referrals::get(&state.db, id).await?;
    Ok(created(referral_view(&state, &who, &r, once).await?))
}

/// GET /api/v1/referrals/{id} (an audited read)
pub async fn referral(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (r, _, _, party) = super::referrals::load(&state, &who, &id).await?;
    let detail = serde_json::json!({"via": "api", "as": if party == ReferralParty::Sender { "sender" } else { "partner" }});
    audit::append_now(&state.db, entry(&who, &state, "read", "referral", r.id, r.organisation, detail)).await?;
    Ok(Json(referral_view(&state, &who, &r, None).await?).into_response())
}

/// The version read.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct VersionBody {
    /// The version read.
    pub version: Option<i64>,
}

/// POST /api/v1/referrals/{id}/send
pub async fn send_referral(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<VersionBody>) -> AppResult<Response> {
    let (r, person, res, party) = super::referrals::load(&state, &who, &id).await?;
    who.require(Action::Update, &res)?;
    if party != ReferralParty::Sender {
        return Err(AppError::forbidden());
    }
    let once = super::referrals::send_existing(&state, &who, &r, &person, body.version.unwrap_or(r.version), "api").await?;
    let r = veille_storage::referrals::get(&state.db, r.id).await?;
    Ok(Json(referral_view(&state, &who, &r, once).await?).into_response())
}

async fn act(state: AppState, who: Authenticated, id: String, body: AnswerBody, allowed: &[ReferralStatus]) -> AppResult<Response> {
    let (r, _, res, party) = super::referrals::load(&state, &who, &id).await?;
    who.require(Action::Update, &res)?;
    let lang = lang_of(&who);
    let (to, message) = match validate_answer(lang, &body, allowed) {
        Ok(v) => v,
        Err(errors) => return Ok(invalid(lang, &errors)),
    };
    if !super::referrals::apply(&state, Some(&who), &r, party, to, &message, body.version.unwrap_or(r.version), "api").await? {
        let mut errors = FieldErrors::new();
        errors.add("status", lang.t("people.referral.not_now"));
        return Ok(invalid(lang, &errors));
    }
    let r = veille_storage::referrals::get(&state.db, r.id).await?;
    Ok(Json(referral_view(&state, &who, &r, None).await?).into_response())
}

/// POST /api/v1/referrals/{id}/answer
pub async fn answer_referral(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<AnswerBody>) -> AppResult<Response> {
    act(state, who, id, body, &[ReferralStatus::Accepted, ReferralStatus::Declined]).await
}

/// POST /api/v1/referrals/{id}/outcome
pub async fn referral_outcome(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<AnswerBody>) -> AppResult<Response> {
    act(state, who, id, body, &[ReferralStatus::Done, ReferralStatus::NotHonoured]).await
}
