//! The JSON API of people, encounters and referrals: the same use cases as
//! the pages (`veille_app::people`), the same validation and audited
//! writes; health fields appear only for those who may read them, and a
//! partner sees of a referral only what it needs.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use veille_app::people::duplicates::Suggestion;
use veille_app::people::encounters::{self, RECENT_API};
use veille_app::people::files::{self, Rejected};
use veille_app::people::input::{
    AnswerBody, ConsentBody, ConsentForm, EncounterBody, EncounterInput, ExitBody, OtherBody, PersonBody, PersonForm, ReferralBody, ReferralForm, VersionBody,
};
use veille_app::people::referrals::{self, LinkOnce, PartnerPerson, ANSWERS, OUTCOMES};
use veille_app::people::{load_person, readable_people, Encounter, Person, Referral};
use veille_domain::people::{AgeBand, EncounterAction, ExitReason, Gender, HealthFlag, Language, Nationality, Need, ReferralStatus, Situation, Vulnerability};
use veille_domain::Action;

use crate::api::{invalid, JsonBody};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::FieldErrors;
use crate::AppState;

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
    let d = files::details(state, who, p).await?;
    let consent = d.consent.map(|c| ConsentView {
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
        linked: d.linked.iter().map(ToString::to_string).collect(),
        health: d.health.map(|h| HealthView { flags: h.flags, notes: h.notes }),
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
    let list: Vec<PersonSummary> = files::list(&state, &who, q.active).await?.iter().map(PersonSummary::from).collect();
    Ok(Json(list).into_response())
}

fn duplicates_found(lang: crate::i18n::Lang, found: &[Suggestion]) -> Response {
    let body = serde_json::json!({"error": {"code": "possible_duplicates", "message": lang.t("people.duplicates.api"), "duplicates": found}});
    (StatusCode::CONFLICT, [("x-veille-error", "possible_duplicates")], Json(body)).into_response()
}

/// The file as the API shows it now (after a change).
async fn current(state: &AppState, who: &Authenticated, id: &str) -> AppResult<Response> {
    let (p, _) = load_person(state, who, id, Action::Read).await?;
    Ok(Json(person_view(state, who, &p).await?).into_response())
}

/// POST /api/v1/people: probable duplicates answer 409 with them, unless
/// `duplicates_reviewed` says they were seen.
pub async fn create_person(State(state): State<AppState>, who: Authenticated, JsonBody(body): JsonBody<PersonBody>) -> AppResult<Response> {
    let lang = lang_of(&who);
    match files::create(&state, &who, lang, &PersonForm::from(body), "api").await? {
        Ok(id) => {
            let (p, _) = load_person(&state, &who, &id.to_string(), Action::Read).await?;
            Ok(created(person_view(&state, &who, &p).await?))
        }
        Err(Rejected::Duplicates(found)) => Ok(duplicates_found(lang, &found)),
        Err(Rejected::Invalid(errors)) => Ok(invalid(lang, &errors)),
    }
}

/// GET /api/v1/people/{id} (an audited read)
pub async fn person(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let p = files::read_person(&state, &who, &id, "api").await?;
    Ok(Json(person_view(&state, &who, &p).await?).into_response())
}

/// POST /api/v1/people/{id}: the whole file, with the version read.
pub async fn update_person(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PersonBody>,
) -> AppResult<Response> {
    if let Err(errors) = files::update(&state, &who, lang_of(&who), &id, &PersonForm::from(body), "api").await? {
        return Ok(invalid(lang_of(&who), &errors));
    }
    current(&state, &who, &id).await
}

/// GET /api/v1/people/{id}/duplicates
pub async fn duplicates(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    Ok(Json(files::duplicates_of(&state, &who, &id).await?).into_response())
}

/// POST /api/v1/people/{id}/consents
pub async fn add_consent(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConsentBody>,
) -> AppResult<Response> {
    match files::add_consent(&state, &who, lang_of(&who), &id, &ConsentForm::from(body), "api").await? {
        Ok(p) => Ok(created(person_view(&state, &who, &p).await?)),
        Err(errors) => Ok(invalid(lang_of(&who), &errors)),
    }
}

/// POST /api/v1/people/{id}/links
pub async fn link(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<OtherBody>) -> AppResult<Response> {
    match files::link(&state, &who, lang_of(&who), &id, &body, "api").await? {
        Ok(_) => current(&state, &who, &id).await,
        Err(errors) => Ok(invalid(lang_of(&who), &errors)),
    }
}

/// POST /api/v1/people/{id}/unlink
pub async fn unlink(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<OtherBody>) -> AppResult<Response> {
    match files::unlink(&state, &who, lang_of(&who), &id, &body, "api").await? {
        Ok(_) => current(&state, &who, &id).await,
        Err(errors) => Ok(invalid(lang_of(&who), &errors)),
    }
}

/// POST /api/v1/people/{id}/exit
pub async fn exit(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>, JsonBody(body): JsonBody<ExitBody>) -> AppResult<Response> {
    match files::leave(&state, &who, lang_of(&who), &id, &body, "api").await? {
        Ok(_) => current(&state, &who, &id).await,
        Err(errors) => Ok(invalid(lang_of(&who), &errors)),
    }
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
    let met = readable_people(state, who, &e.people).await?.into_iter().map(|p| p.id.to_string()).collect();
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
    let mut out = Vec::new();
    for e in encounters::recent(&state, &who, RECENT_API).await? {
        out.push(encounter_view(&state, &who, &e, None).await?);
    }
    Ok(Json(out).into_response())
}

/// POST /api/v1/encounters: probable duplicates of a new person answer 409.
pub async fn create_encounter(State(state): State<AppState>, who: Authenticated, JsonBody(body): JsonBody<EncounterBody>) -> AppResult<Response> {
    let lang = lang_of(&who);
    match encounters::record(&state, &who, lang, &EncounterInput::from(body), "api").await? {
        Ok(done) => Ok(created(encounter_view(&state, &who, &done.encounter, done.care).await?)),
        Err(Rejected::Duplicates(found)) => Ok(duplicates_found(lang, &found)),
        Err(Rejected::Invalid(errors)) => Ok(invalid(lang, &errors)),
    }
}

/// GET /api/v1/encounters/{id} (an audited read)
pub async fn encounter(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let read = encounters::read(&state, &who, &id, "api").await?;
    Ok(Json(encounter_view(&state, &who, &read.encounter, read.care).await?).into_response())
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

async fn referral_view(state: &AppState, who: &Authenticated, r: &Referral, person: &Person, link: Option<LinkOnce>) -> AppResult<ReferralView> {
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

/// The referral as the API shows it now (after a change).
async fn current_referral(state: &AppState, who: &Authenticated, id: &str, link: Option<LinkOnce>) -> AppResult<ReferralView> {
    let (r, person, _, _) = referrals::load(state, who, id).await?;
    referral_view(state, who, &r, &person, link).await
}

/// GET /api/v1/referrals
pub async fn list_referrals(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let (sent, queue, _) = referrals::lists(&state, &who).await?;
    let mut out = Vec::new();
    for (r, _) in sent.iter().chain(&queue) {
        out.push(current_referral(&state, &who, &r.id.to_string(), None).await?);
    }
    Ok(Json(out).into_response())
}

/// POST /api/v1/referrals
pub async fn create_referral(State(state): State<AppState>, who: Authenticated, JsonBody(body): JsonBody<ReferralBody>) -> AppResult<Response> {
    let lang = lang_of(&who);
    let (id, once) = match referrals::create(&state, &who, lang, &ReferralForm::from(body), "api").await {
        Ok(Ok(x)) => x,
        Ok(Err(errors)) => return Ok(invalid(lang, &errors)),
        // A person the caller cannot reach is a field error here, not a 404 of this route.
        Err(e) if e.kind == ErrorKind::NotFound => {
            let mut errors = FieldErrors::new();
            errors.add("person_id", lang.t("form.choose_one"));
            return Ok(invalid(lang, &errors));
        }
        Err(e) => return Err(AppError::from(e)),
    };
    Ok(created(current_referral(&state, &who, &id.to_string(), once).await?))
}

/// GET /api/v1/referrals/{id} (an audited read)
pub async fn referral(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (r, person, _, _) = referrals::read(&state, &who, &id, "api").await?;
    Ok(Json(referral_view(&state, &who, &r, &person, None).await?).into_response())
}

/// POST /api/v1/referrals/{id}/send
pub async fn send_referral(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<VersionBody>,
) -> AppResult<Response> {
    let once = referrals::send(&state, &who, &id, body.version, "api").await?;
    Ok(Json(current_referral(&state, &who, &id, once).await?).into_response())
}

async fn act(state: AppState, who: Authenticated, id: String, body: AnswerBody, allowed: &[ReferralStatus]) -> AppResult<Response> {
    let lang = lang_of(&who);
    match referrals::act(&state, &who, lang, &id, &body, allowed, "api").await? {
        Ok(_) => Ok(Json(current_referral(&state, &who, &id, None).await?).into_response()),
        Err(errors) => Ok(invalid(lang, &errors)),
    }
}

/// POST /api/v1/referrals/{id}/answer
pub async fn answer_referral(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AnswerBody>,
) -> AppResult<Response> {
    act(state, who, id, body, &ANSWERS).await
}

/// POST /api/v1/referrals/{id}/outcome
pub async fn referral_outcome(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AnswerBody>,
) -> AppResult<Response> {
    act(state, who, id, body, &OUTCOMES).await
}
