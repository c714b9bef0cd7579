//! What workers type about people, encounters and referrals, and the one
//! validation of each: the HTML forms and the JSON API both come here (the
//! API's bodies convert to the forms), so the same rules give the same
//! messages next to the same field names.

use chrono::{Datelike, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Paris;
use serde::Deserialize;
use veille_domain::people::{
    AgeBand, ConsentTerms, EncounterAction, Gender, Language, Nationality, Need, Phone, Pseudonym, PseudonymError, ReferralStatus, Situation, Vulnerability,
};
use veille_domain::people::{ExitReason, HealthFlag, HouseholdKind};
use veille_domain::{OrganisationId, PersonId, TerritoryId, Timestamp};
use veille_storage::encounters::EncounterFields;
use veille_storage::people::{NewConsent, PersonFields};
use veille_storage::referrals::NewReferral;

use crate::{FieldErrors, Lang};

/// A checkbox of a form (present when ticked), or a JSON boolean.
fn ticked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty() && s != "0" && s != "false")
}

fn flag(b: bool) -> Option<String> {
    b.then(|| "1".to_owned())
}

fn text(v: Option<String>) -> String {
    v.unwrap_or_default()
}

fn number(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

/// Optional text: trimmed, `None` when empty.
fn optional(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// An instant typed as `YYYY-MM-DDTHH:MM` in Paris time (a `datetime-local`
/// field) or given as RFC 3339 (the API).
pub fn parse_instant(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(Timestamp::from_datetime(dt.with_timezone(&chrono::Utc)));
    }
    let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M").or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")).ok()?;
    let local = Paris.from_local_datetime(&naive).earliest()?;
    Some(Timestamp::from_datetime(local.with_timezone(&chrono::Utc)))
}

/// An instant as a `datetime-local` field shows it (Paris time).
pub fn local_input(t: Timestamp) -> String {
    t.to_datetime().with_timezone(&Paris).format("%Y-%m-%dT%H:%M").to_string()
}

fn year_of(t: Timestamp) -> i32 {
    t.to_datetime().with_timezone(&Paris).year()
}

fn codes_of<T: Copy>(items: &[String], parse: fn(&str) -> Option<T>, field: &str, lang: Lang, errors: &mut FieldErrors) -> Vec<T> {
    let mut out = Vec::new();
    for i in items.iter().filter(|i| !i.is_empty()) {
        match parse(i) {
            Some(v) => out.push(v),
            None => errors.add(field, lang.t("form.choose_one")),
        }
    }
    out
}

fn code_of<T>(item: &str, parse: fn(&str) -> Option<T>, field: &str, lang: Lang, errors: &mut FieldErrors) -> Option<T> {
    if item.is_empty() {
        return None;
    }
    let found = parse(item);
    if found.is_none() {
        errors.add(field, lang.t("form.choose_one"));
    }
    found
}

fn bounded(text: &str, max: usize, field: &str, lang: Lang, errors: &mut FieldErrors) -> String {
    let t = text.trim().to_owned();
    if t.chars().count() > max {
        errors.add(field, lang.tn("people.form.too_long", max as i64, &[("max", &max.to_string())]));
    }
    t
}

// ---------------------------------------------------------------------------
// Consent

/// What was told and agreed, as typed (the `consent_*` fields of a form).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct ConsentForm {
    /// Told the purpose.
    #[serde(default)]
    pub consent_purpose: Option<String>,
    /// Told who sees the file.
    #[serde(default)]
    pub consent_access: Option<String>,
    /// Told their rights.
    #[serde(default)]
    pub consent_rights: Option<String>,
    /// Agrees to identifying data.
    #[serde(default)]
    pub consent_identifying: Option<String>,
    /// Agrees to sharing with partners.
    #[serde(default)]
    pub consent_sharing: Option<String>,
    /// Language the person was told in.
    #[serde(default)]
    pub consent_language: String,
    /// With an interpreter.
    #[serde(default)]
    pub consent_interpreter: Option<String>,
    /// When (empty: now).
    #[serde(default)]
    pub consent_given_at: String,
    /// Sent as a consent object by the API: checked whatever it holds (a
    /// form's consent counts only once a box is ticked).
    #[serde(skip)]
    pub sent: bool,
}

impl ConsentForm {
    /// Whether anything of a consent was filled in.
    pub fn filled(&self) -> bool {
        self.sent
            || [&self.consent_purpose, &self.consent_access, &self.consent_rights, &self.consent_identifying, &self.consent_sharing].iter().any(|c| ticked(c))
    }
    /// Whether a box was ticked (re-rendering).
    pub fn has(&self, which: &str) -> bool {
        ticked(match which {
            "purpose" => &self.consent_purpose,
            "access" => &self.consent_access,
            "rights" => &self.consent_rights,
            "identifying" => &self.consent_identifying,
            "sharing" => &self.consent_sharing,
            _ => &self.consent_interpreter,
        })
    }
}

/// A consent in the JSON API.
#[derive(Deserialize, Default, Clone, Debug, schemars::JsonSchema)]
#[serde(default)]
pub struct ConsentBody {
    /// Told why the file exists.
    pub told_purpose: bool,
    /// Told who sees the file.
    pub told_access: bool,
    /// Told their rights.
    pub told_rights: bool,
    /// Agrees that identifying data (phone, civil name) is recorded.
    pub agrees_identifying: bool,
    /// Agrees that the file is shared with partner organisations.
    pub agrees_sharing: bool,
    /// Language the information was given in (ISO 639-1 code).
    #[schemars(with = "Language")]
    pub language: String,
    /// With an interpreter.
    pub interpreter: bool,
    /// When the person was told (RFC 3339; absent: now).
    pub given_at: Option<String>,
}

impl From<ConsentBody> for ConsentForm {
    fn from(b: ConsentBody) -> Self {
        ConsentForm {
            consent_purpose: flag(b.told_purpose),
            consent_access: flag(b.told_access),
            consent_rights: flag(b.told_rights),
            consent_identifying: flag(b.agrees_identifying),
            consent_sharing: flag(b.agrees_sharing),
            consent_language: b.language,
            consent_interpreter: flag(b.interpreter),
            consent_given_at: text(b.given_at),
            sent: true,
        }
    }
}

/// Checks a consent: the person must have been told the purpose, who sees
/// the file and their rights, in a language, not in the future.
pub fn validate_consent(lang: Lang, c: &ConsentForm, now: Timestamp, errors: &mut FieldErrors) -> Option<NewConsent> {
    let terms = ConsentTerms {
        told_purpose: ticked(&c.consent_purpose),
        told_access: ticked(&c.consent_access),
        told_rights: ticked(&c.consent_rights),
        agrees_identifying: ticked(&c.consent_identifying),
        agrees_sharing: ticked(&c.consent_sharing),
    };
    let before = errors.len();
    if !terms.informed() {
        errors.add("consent_purpose", lang.t("people.consent.error.informed"));
    }
    let language = match Language::from_code(&c.consent_language) {
        Some(l) => Some(l),
        None => {
            errors.add("consent_language", lang.t("people.consent.error.language"));
            None
        }
    };
    let given_at = if c.consent_given_at.trim().is_empty() {
        Some(now)
    } else {
        match parse_instant(&c.consent_given_at) {
            Some(t) if t <= now.plus_seconds(300) => Some(t),
            _ => {
                errors.add("consent_given_at", lang.t("people.form.error.instant"));
                None
            }
        }
    };
    if errors.len() > before {
        return None;
    }
    Some(NewConsent { terms, language: language?, interpreter: ticked(&c.consent_interpreter), given_at: given_at? })
}

// ---------------------------------------------------------------------------
// People

/// A person file as typed in the form (and the API, converted to it).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct PersonForm {
    /// Pseudonym or nickname (`new_pseudonym` in the encounter form).
    #[serde(default, alias = "new_pseudonym")]
    pub pseudonym: String,
    /// Other names, comma-separated.
    #[serde(default)]
    pub aliases: String,
    /// Birth year.
    #[serde(default)]
    pub birth_year: String,
    /// Approximate age in years (gives an approximate birth year).
    #[serde(default, alias = "new_age")]
    pub age: String,
    /// Age band when neither is known.
    #[serde(default)]
    pub age_band: String,
    /// Gender code.
    #[serde(default, alias = "new_gender")]
    pub gender: String,
    /// Language codes.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Nationality code.
    #[serde(default)]
    pub nationality: String,
    /// Situation code.
    #[serde(default)]
    pub situation: String,
    /// Need codes.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Vulnerability codes.
    #[serde(default)]
    pub vulnerabilities: Vec<String>,
    /// Territory id.
    #[serde(default)]
    pub territory: String,
    /// Phone (identifying).
    #[serde(default)]
    pub phone: String,
    /// Civil given name (identifying).
    #[serde(default)]
    pub civil_given_name: String,
    /// Civil family name (identifying).
    #[serde(default)]
    pub civil_family_name: String,
    /// The consent captured with it (the `consent_*` fields of the same
    /// form, read apart by the web adapter, or the API body's `consent`).
    #[serde(skip)]
    pub consent: ConsentForm,
    /// The suggested duplicates were seen, create anyway.
    #[serde(default)]
    pub duplicates_reviewed: Option<String>,
    /// Version of the file being edited.
    #[serde(default)]
    pub version: String,
    /// Where probable duplicates are asked from (`encounter`: the new person
    /// of an encounter, who may turn out to be someone known).
    #[serde(default)]
    pub context: String,
}

impl PersonForm {
    /// The form of an existing file (to edit it).
    pub fn of(f: &PersonFields, version: i64) -> Self {
        PersonForm {
            pseudonym: f.pseudonym.clone(),
            aliases: f.aliases.join(", "),
            birth_year: f.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            age_band: f.age_band.map(|b| b.code().to_owned()).unwrap_or_default(),
            gender: f.gender.map(|g| g.code().to_owned()).unwrap_or_default(),
            languages: f.languages.iter().map(|l| l.code().to_owned()).collect(),
            nationality: f.nationality.map(|n| n.code().to_owned()).unwrap_or_default(),
            situation: f.situation.map(|s| s.code().to_owned()).unwrap_or_default(),
            needs: f.needs.iter().map(|n| n.code().to_owned()).collect(),
            vulnerabilities: f.vulnerabilities.iter().map(|v| v.code().to_owned()).collect(),
            territory: f.territory.map(|t| t.to_string()).unwrap_or_default(),
            phone: f.phone.clone().unwrap_or_default(),
            civil_given_name: f.civil_given_name.clone().unwrap_or_default(),
            civil_family_name: f.civil_family_name.clone().unwrap_or_default(),
            version: version.to_string(),
            ..Default::default()
        }
    }
    /// Whether a code of a list field was chosen (re-rendering).
    pub fn has(&self, field: &str, code: &str) -> bool {
        let list = match field {
            "languages" => &self.languages,
            "needs" => &self.needs,
            _ => &self.vulnerabilities,
        };
        list.iter().any(|c| c == code)
    }
    /// Whether the worker already saw the suggested duplicates.
    pub fn reviewed(&self) -> bool {
        ticked(&self.duplicates_reviewed)
    }
}

/// A person file in the JSON API.
#[derive(Deserialize, Default, Clone, Debug, schemars::JsonSchema)]
#[serde(default)]
pub struct PersonBody {
    /// Pseudonym or nickname (required).
    pub pseudonym: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// Birth year.
    pub birth_year: Option<i64>,
    /// Approximate age in years.
    pub age: Option<i64>,
    /// Age band when neither is known.
    #[schemars(with = "Option<AgeBand>")]
    pub age_band: Option<String>,
    /// Gender.
    #[schemars(with = "Option<Gender>")]
    pub gender: Option<String>,
    /// Languages spoken.
    #[schemars(with = "Vec<Language>")]
    pub languages: Vec<String>,
    /// Nationality: France, EU, outside the EU, unknown — never more.
    #[schemars(with = "Option<Nationality>")]
    pub nationality: Option<String>,
    /// Where the person lives now.
    #[schemars(with = "Option<Situation>")]
    pub situation: Option<String>,
    /// Needs.
    #[schemars(with = "Vec<Need>")]
    pub needs: Vec<String>,
    /// Vulnerabilities.
    #[schemars(with = "Vec<Vulnerability>")]
    pub vulnerabilities: Vec<String>,
    /// Usual territory.
    pub territory_id: Option<String>,
    /// Phone: identifying, refused without a consent that agrees to it.
    pub phone: Option<String>,
    /// Civil given name: identifying, idem.
    pub civil_given_name: Option<String>,
    /// Civil family name: identifying, idem.
    pub civil_family_name: Option<String>,
    /// A consent captured now.
    pub consent: Option<ConsentBody>,
    /// Create even if probable duplicates are found (creation only).
    pub duplicates_reviewed: bool,
    /// The version read (updates only).
    pub version: Option<i64>,
}

impl From<PersonBody> for PersonForm {
    fn from(b: PersonBody) -> Self {
        PersonForm {
            pseudonym: b.pseudonym,
            aliases: b.aliases.join(", "),
            birth_year: number(b.birth_year),
            age: number(b.age),
            age_band: text(b.age_band),
            gender: text(b.gender),
            languages: b.languages,
            nationality: text(b.nationality),
            situation: text(b.situation),
            needs: b.needs,
            vulnerabilities: b.vulnerabilities,
            territory: text(b.territory_id),
            phone: text(b.phone),
            civil_given_name: text(b.civil_given_name),
            civil_family_name: text(b.civil_family_name),
            consent: b.consent.map(ConsentForm::from).unwrap_or_default(),
            duplicates_reviewed: flag(b.duplicates_reviewed),
            version: number(b.version),
            context: String::new(),
        }
    }
}

/// A valid person file, with the consent captured with it.
#[derive(Clone, Debug)]
pub struct ValidPerson {
    /// The file.
    pub fields: PersonFields,
    /// The consent to record with it.
    pub consent: Option<NewConsent>,
}

/// What the rules need to know beyond the form.
pub struct PersonContext<'a> {
    /// Now.
    pub now: Timestamp,
    /// Territories the worker may place a person in.
    pub territories: &'a [TerritoryId],
    /// Whether a consent in force already allows identifying data.
    pub consent_allows_identifying: bool,
}

/// Checks a person file. Identifying data beyond the pseudonym (phone, civil
/// name) is refused unless a consent in force, or the one captured with the
/// form, agrees to it.
pub fn validate_person(lang: Lang, form: &PersonForm, cx: &PersonContext<'_>) -> Result<ValidPerson, FieldErrors> {
    let mut errors = FieldErrors::new();
    let pseudonym = match Pseudonym::parse(&form.pseudonym) {
        Ok(p) => Some(p),
        Err(PseudonymError::Empty) => {
            errors.add("pseudonym", lang.t("people.form.error.pseudonym"));
            None
        }
        Err(PseudonymError::TooLong) => {
            errors.add("pseudonym", lang.tn("people.form.too_long", 80, &[("max", "80")]));
            None
        }
    };
    let aliases: Vec<String> = form.aliases.split([',', '\n']).map(|a| a.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|a| !a.is_empty()).collect();
    if aliases.len() > 10 || aliases.iter().any(|a| a.chars().count() > 80) {
        errors.add("aliases", lang.t("people.form.error.aliases"));
    }
    let this_year = year_of(cx.now);
    let birth_year = if !form.birth_year.trim().is_empty() {
        match form.birth_year.trim().parse::<i32>() {
            Ok(y) if (this_year - 110..=this_year).contains(&y) => Some(y),
            _ => {
                errors.add("birth_year", lang.t("people.form.error.birth_year"));
                None
            }
        }
    } else if !form.age.trim().is_empty() {
        match form.age.trim().parse::<i32>() {
            Ok(a) if (0..=110).contains(&a) => Some(this_year - a),
            _ => {
                errors.add("age", lang.t("people.form.error.age"));
                None
            }
        }
    } else {
        None
    };
    let age_band = code_of(&form.age_band, AgeBand::from_code, "age_band", lang, &mut errors).filter(|_| birth_year.is_none());
    let gender = code_of(&form.gender, Gender::from_code, "gender", lang, &mut errors).filter(|g| *g != Gender::Unknown);
    let languages = codes_of(&form.languages, Language::from_code, "languages", lang, &mut errors);
    let nationality = code_of(&form.nationality, Nationality::from_code, "nationality", lang, &mut errors).filter(|n| *n != Nationality::Unknown);
    let situation = code_of(&form.situation, Situation::from_code, "situation", lang, &mut errors).filter(|s| *s != Situation::Unknown);
    let needs = codes_of(&form.needs, Need::from_code, "needs", lang, &mut errors);
    let vulnerabilities = codes_of(&form.vulnerabilities, Vulnerability::from_code, "vulnerabilities", lang, &mut errors);
    let territory = match form.territory.trim() {
        "" => None,
        t => match t.parse::<TerritoryId>().ok().filter(|t| cx.territories.contains(t)) {
            Some(t) => Some(t),
            None => {
                errors.add("territory", lang.t("form.choose_one"));
                None
            }
        },
    };
    let phone = match optional(&form.phone) {
        None => None,
        Some(p) => match Phone::parse(&p) {
            Ok(p) => Some(p.as_str().to_owned()),
            Err(_) => {
                errors.add("phone", lang.t("people.form.error.phone"));
                None
            }
        },
    };
    let civil_given_name = optional(&bounded(&form.civil_given_name, 80, "civil_given_name", lang, &mut errors));
    let civil_family_name = optional(&bounded(&form.civil_family_name, 80, "civil_family_name", lang, &mut errors));
    let typed_consent = &form.consent;
    let consent = if typed_consent.filled() { validate_consent(lang, typed_consent, cx.now, &mut errors) } else { None };
    let identifying = !form.phone.trim().is_empty() || civil_given_name.is_some() || civil_family_name.is_some();
    let allowed =
        cx.consent_allows_identifying || consent.is_some_and(|c| c.terms.allows_identifying()) || (typed_consent.filled() && typed_consent.has("identifying"));
    if identifying && !allowed {
        let field = if !form.phone.trim().is_empty() {
            "phone"
        } else if civil_given_name.is_some() {
            "civil_given_name"
        } else {
            "civil_family_name"
        };
        errors.add(field, lang.t("people.form.error.identifying_needs_consent"));
    }
    let Some(pseudonym) = pseudonym.filter(|_| errors.is_empty()) else { return Err(errors) };
    Ok(ValidPerson {
        fields: PersonFields {
            territory,
            pseudonym: pseudonym.as_str().to_owned(),
            aliases,
            birth_year,
            age_band,
            gender,
            languages,
            nationality,
            situation,
            needs,
            vulnerabilities,
            phone,
            civil_given_name,
            civil_family_name,
        },
        consent,
    })
}

// ---------------------------------------------------------------------------
// Changes to a file

/// A note on a file.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct NoteInput {
    /// Text.
    #[serde(default)]
    pub body: String,
    /// A health note (health professionals only).
    #[serde(default)]
    pub health: Option<String>,
}

impl NoteInput {
    /// Whether it is a health note.
    pub fn is_health(&self) -> bool {
        self.health.is_some()
    }
}

/// Checks a note: some text, not too long.
pub fn validate_note(lang: Lang, n: &NoteInput) -> Result<String, FieldErrors> {
    let body = n.body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        let mut errors = FieldErrors::new();
        errors.add("note", lang.t("people.note.invalid"));
        return Err(errors);
    }
    Ok(body.to_owned())
}

/// The health section as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct HealthInput {
    /// Health flag codes.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub notes: String,
    /// The version read.
    #[serde(default)]
    pub version: String,
}

/// Checks the health section: known flags, notes not too long.
pub fn validate_health(lang: Lang, h: &HealthInput) -> Result<(Vec<HealthFlag>, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    let flags: Vec<HealthFlag> = h.flags.iter().filter_map(|f| HealthFlag::from_code(f)).collect();
    if flags.len() != h.flags.len() {
        errors.add("health_flags", lang.t("form.choose_one"));
    }
    if h.notes.chars().count() > 4000 {
        errors.add("health_notes", lang.tn("people.form.too_long", 4000, &[("max", "4000")]));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((flags, h.notes.trim().to_owned()))
}

/// Leaving the active list (the form and the API).
#[derive(Deserialize, Default, Clone, Debug, schemars::JsonSchema)]
#[serde(default)]
pub struct ExitBody {
    /// Why.
    #[schemars(with = "ExitReason")]
    pub reason: String,
    /// The version read.
    pub version: Option<i64>,
}

/// Checks a reason to leave the active list (errors on `reason`).
pub fn validate_exit(lang: Lang, b: &ExitBody) -> Result<ExitReason, FieldErrors> {
    ExitReason::from_code(&b.reason).ok_or_else(|| {
        let mut errors = FieldErrors::new();
        errors.add("reason", lang.t("form.choose_one"));
        errors
    })
}

/// The other record of a link decision (link, unlink, distinct).
#[derive(Deserialize, Default, Clone, Debug, schemars::JsonSchema)]
#[serde(default)]
pub struct OtherBody {
    /// The other record's id.
    pub other: String,
}

/// An organisation to share a file with, or to stop sharing it with.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct ShareInput {
    /// The organisation (id).
    #[serde(default)]
    pub organisation: String,
}

/// A household change: `action` is `create`, `update`, `add` (a person
/// already recorded joins) or `leave`.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct HouseholdInput {
    /// What to do.
    #[serde(default)]
    pub action: String,
    /// Household kind code.
    #[serde(default)]
    pub kind: String,
    /// Children's ages, comma-separated.
    #[serde(default)]
    pub children: String,
    /// The person joining (`add`).
    #[serde(default)]
    pub member: String,
    /// The household's version read (`update`).
    #[serde(default)]
    pub version: String,
}

/// Children's ages typed as `3, 7` become birth years (at most 15 children, all under 18).
pub fn children_years(text: &str, now: Timestamp) -> Option<Vec<i32>> {
    let year = now.to_datetime().year();
    text.split([',', ' ', ';'])
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<i32>().ok().filter(|a| (0..=17).contains(a)).map(|a| year - a))
        .collect::<Option<Vec<_>>>()
        .filter(|v| v.len() <= 15)
}

/// A household to create or change: its kind and children's birth years.
/// Checked only for `create` and `update`.
pub fn validate_household(lang: Lang, h: &HouseholdInput, now: Timestamp) -> Result<(Option<HouseholdKind>, Option<Vec<i32>>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let kind = HouseholdKind::from_code(&h.kind);
    let children = children_years(&h.children, now);
    if matches!(h.action.as_str(), "create" | "update") {
        if kind.is_none() {
            errors.add("household_kind", lang.t("form.choose_one"));
        }
        if children.is_none() {
            errors.add("household_children", lang.t("people.household.children_invalid"));
        }
    }
    if errors.is_empty() {
        Ok((kind, children))
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------------------
// Encounters

/// An encounter as typed: fast to fill in on a phone during a round, with an
/// optional new person (`new_*` and the `consent_*` fields).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct EncounterForm {
    /// When (`datetime-local`, Paris time).
    #[serde(default)]
    pub at: String,
    /// Latitude.
    #[serde(default)]
    pub lat: String,
    /// Longitude.
    #[serde(default)]
    pub lon: String,
    /// The place in words.
    #[serde(default)]
    pub place: String,
    /// Site (a seam for the sites work).
    #[serde(default)]
    pub site_id: String,
    /// Round (a seam for the maraudes work).
    #[serde(default)]
    pub round_id: String,
    /// Known people met (ids).
    #[serde(default)]
    pub people: Vec<String>,
    /// How many unidentified people.
    #[serde(default)]
    pub unidentified: String,
    /// What was done.
    #[serde(default)]
    pub actions: Vec<String>,
    /// A follow-up is needed.
    #[serde(default)]
    pub follow_up: Option<String>,
    /// What follow-up.
    #[serde(default)]
    pub follow_up_note: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Care given (health field group).
    #[serde(default)]
    pub care: String,
    /// A new person met: pseudonym.
    #[serde(default)]
    pub new_pseudonym: String,
    /// Their approximate age.
    #[serde(default)]
    pub new_age: String,
    /// Their gender.
    #[serde(default)]
    pub new_gender: String,
    /// The consent captured with it (the `consent_*` fields of the same
    /// form, read apart by the web adapter, or the API body's `consent`).
    #[serde(skip)]
    pub consent: ConsentForm,
    /// The suggested duplicates of the new person were seen, create anyway.
    #[serde(default)]
    pub duplicates_reviewed: Option<String>,
    /// The new person is this known person after all.
    #[serde(default)]
    pub use_person: String,
}

impl EncounterForm {
    /// Whether a known person is ticked.
    pub fn has_person(&self, id: &str) -> bool {
        self.people.iter().any(|p| p == id)
    }
    /// Whether an action is ticked.
    pub fn has_action(&self, code: &str) -> bool {
        self.actions.iter().any(|a| a == code)
    }
    /// Whether a follow-up is ticked.
    pub fn follow_up_ticked(&self) -> bool {
        ticked(&self.follow_up)
    }

    /// The new person met, as a person form (none if no pseudonym typed).
    pub fn new_person(&self) -> Option<PersonForm> {
        if self.new_pseudonym.trim().is_empty() && !self.consent.filled() {
            return None;
        }
        Some(PersonForm {
            pseudonym: self.new_pseudonym.clone(),
            age: self.new_age.clone(),
            gender: self.new_gender.clone(),
            duplicates_reviewed: self.duplicates_reviewed.clone(),
            consent: self.consent.clone(),
            ..Default::default()
        })
    }
}

/// An encounter in the JSON API.
#[derive(Deserialize, Default, Clone, Debug, schemars::JsonSchema)]
#[serde(default)]
pub struct EncounterBody {
    /// When (RFC 3339; absent: now).
    pub at: Option<String>,
    /// Latitude of the map point.
    pub lat: Option<f64>,
    /// Longitude of the map point.
    pub lon: Option<f64>,
    /// The place in words.
    pub place: String,
    /// The site (sites work).
    pub site_id: Option<String>,
    /// The round (maraudes work).
    pub round_id: Option<String>,
    /// Known people met (ids).
    pub people: Vec<String>,
    /// How many people were met without being identified.
    pub unidentified_count: Option<i64>,
    /// What was done.
    #[schemars(with = "Vec<EncounterAction>")]
    pub actions: Vec<String>,
    /// A follow-up is needed.
    pub follow_up: bool,
    /// What follow-up.
    pub follow_up_note: String,
    /// Notes (the people may one day read them).
    pub notes: String,
    /// Care given: health field group, refused to other roles.
    pub care_notes: Option<String>,
    /// A new person met, created with the encounter.
    pub new_person: Option<PersonBody>,
}

/// An encounter from either entry, ready for [`validate_encounter`].
#[derive(Clone, Debug, Default)]
pub struct EncounterInput {
    /// The fields as typed.
    pub form: EncounterForm,
    /// The new person as typed.
    pub new_person: Option<PersonForm>,
}

impl From<EncounterForm> for EncounterInput {
    fn from(form: EncounterForm) -> Self {
        let new_person = form.new_person();
        EncounterInput { form, new_person }
    }
}

impl From<EncounterBody> for EncounterInput {
    fn from(b: EncounterBody) -> Self {
        let coordinate = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        EncounterInput {
            form: EncounterForm {
                at: text(b.at),
                lat: coordinate(b.lat),
                lon: coordinate(b.lon),
                place: b.place,
                site_id: text(b.site_id),
                round_id: text(b.round_id),
                people: b.people,
                unidentified: number(b.unidentified_count),
                actions: b.actions,
                follow_up: flag(b.follow_up),
                follow_up_note: b.follow_up_note,
                notes: b.notes,
                care: text(b.care_notes),
                ..Default::default()
            },
            new_person: b.new_person.map(PersonForm::from),
        }
    }
}

/// A valid encounter.
#[derive(Clone, Debug)]
pub struct ValidEncounter {
    /// What it says (territory filled in later from the point).
    pub fields: EncounterFields,
    /// Known people met.
    pub people: Vec<PersonId>,
    /// Care notes.
    pub care: Option<String>,
}

/// Checks an encounter (the new person is checked apart, by [`validate_person`]).
pub fn validate_encounter(lang: Lang, f: &EncounterForm, now: Timestamp, may_write_care: bool) -> Result<ValidEncounter, FieldErrors> {
    let mut errors = FieldErrors::new();
    let at = if f.at.trim().is_empty() {
        Some(now)
    } else {
        match parse_instant(&f.at) {
            Some(t) if t <= now.plus_seconds(300) && t >= now.plus_seconds(-366 * 86_400) => Some(t),
            _ => {
                errors.add("at", lang.t("people.form.error.instant"));
                None
            }
        }
    };
    let coordinate = |t: &str| t.trim().replace(',', ".").parse::<f64>().ok();
    let point = match (f.lat.trim(), f.lon.trim()) {
        ("", "") => None,
        (la, lo) => match (coordinate(la), coordinate(lo)) {
            (Some(la), Some(lo)) if veille_geo::LonLat::new(lo, la).is_ok() => Some((lo, la)),
            _ => {
                errors.add("lat", lang.t("report.form.coordinates_invalid"));
                None
            }
        },
    };
    let place = bounded(&f.place, 300, "place", lang, &mut errors);
    let seam = |v: &str| optional(v).filter(|s| s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let site_id = seam(&f.site_id);
    let round_id = seam(&f.round_id);
    let mut people = Vec::new();
    for p in f.people.iter().filter(|p| !p.is_empty()) {
        match p.parse::<PersonId>() {
            Ok(id) if !people.contains(&id) => people.push(id),
            Ok(_) => {}
            Err(_) => errors.add("people", lang.t("form.choose_one")),
        }
    }
    let unidentified = match f.unidentified.trim() {
        "" => 0,
        t => match t.parse::<i64>() {
            Ok(n) if (0..=999).contains(&n) => n,
            _ => {
                errors.add("unidentified", lang.t("report.form.count_invalid"));
                0
            }
        },
    };
    let actions = codes_of(&f.actions, EncounterAction::from_code, "actions", lang, &mut errors);
    let follow_up_note = bounded(&f.follow_up_note, 1000, "follow_up_note", lang, &mut errors);
    let notes = bounded(&f.notes, 4000, "notes", lang, &mut errors);
    let care = optional(&bounded(&f.care, 4000, "care", lang, &mut errors));
    if care.is_some() && !may_write_care {
        errors.add("care", lang.t("people.form.error.health_only"));
    }
    // Care given is a health marker, like the care notes: ticked by those who
    // write the health field group only (and shown to its readers only).
    if actions.contains(&EncounterAction::Care) && !may_write_care {
        errors.add("actions", lang.t("people.form.error.health_only"));
    }
    let Some(at) = at.filter(|_| errors.is_empty()) else { return Err(errors) };
    Ok(ValidEncounter {
        fields: EncounterFields {
            at,
            lon: point.map(|p| p.0),
            lat: point.map(|p| p.1),
            territory: None,
            place,
            site_id,
            round_id,
            unidentified_count: unidentified,
            actions,
            follow_up: ticked(&f.follow_up),
            follow_up_note,
            notes,
        },
        people,
        care,
    })
}

// ---------------------------------------------------------------------------
// Referrals

/// A referral as typed. `service_id` is chosen in the partner directory's
/// picker (search by need, territory, "open now"), whose filters the web
/// form carries beside these fields.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct ReferralForm {
    /// The person (id).
    #[serde(default)]
    pub person: String,
    /// A service of the partner directory.
    #[serde(default)]
    pub service_id: String,
    /// A partner organisation of the instance (id).
    #[serde(default)]
    pub partner_organisation: String,
    /// The partner in words.
    #[serde(default)]
    pub partner_name: String,
    /// The partner's e-mail, for the link.
    #[serde(default)]
    pub partner_email: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// The person agreed to this referral.
    #[serde(default)]
    pub consent_confirmed: Option<String>,
    /// Urgent without consent: why.
    #[serde(default)]
    pub urgent_reason: String,
    /// Send now (else kept as proposed).
    #[serde(default)]
    pub send: Option<String>,
}

impl ReferralForm {
    /// Whether consent was ticked.
    pub fn consented(&self) -> bool {
        ticked(&self.consent_confirmed)
    }
    /// Whether "send now" was asked.
    pub fn send_now(&self) -> bool {
        ticked(&self.send)
    }
}

/// A referral in the JSON API.
#[derive(Deserialize, Default, Clone, Debug, schemars::JsonSchema)]
#[serde(default)]
pub struct ReferralBody {
    /// The person oriented.
    pub person_id: String,
    /// A service of the partner directory.
    pub service_id: Option<String>,
    /// A partner organisation of the instance (its users answer from their queue).
    pub partner_organisation_id: Option<String>,
    /// The partner in words.
    pub partner_name: String,
    /// The partner's e-mail: the partner link is sent there (a partner without accounts).
    pub partner_email: Option<String>,
    /// Why.
    pub reason: String,
    /// The person agreed to this referral.
    pub consent_confirmed: bool,
    /// Without the person's consent: why it is urgent (required then, audited).
    pub urgent_override_reason: Option<String>,
    /// Send it now (else it stays proposed).
    pub send: bool,
}

impl From<ReferralBody> for ReferralForm {
    fn from(b: ReferralBody) -> Self {
        ReferralForm {
            person: b.person_id,
            service_id: text(b.service_id),
            partner_organisation: text(b.partner_organisation_id),
            partner_name: b.partner_name,
            partner_email: text(b.partner_email),
            reason: b.reason,
            consent_confirmed: flag(b.consent_confirmed),
            urgent_reason: text(b.urgent_override_reason),
            send: flag(b.send),
        }
    }
}

/// Checks a referral: a partner (directory service, organisation or name),
/// a reason, and the person's consent or an urgent reason.
pub fn validate_referral(lang: Lang, f: &ReferralForm, partners: &[(OrganisationId, String)]) -> Result<NewReferral, FieldErrors> {
    let mut errors = FieldErrors::new();
    let person = f.person.trim().parse::<PersonId>().ok();
    if person.is_none() {
        errors.add("person", lang.t("form.choose_one"));
    }
    let service_id = match optional(&f.service_id) {
        None => None,
        Some(s) => match s.parse::<veille_domain::ServiceId>() {
            Ok(id) => Some(id.to_string()),
            Err(_) => {
                errors.add("service_id", lang.t("people.referral.error.service"));
                None
            }
        },
    };
    let partner_organisation = match f.partner_organisation.trim() {
        "" => None,
        t => match partners.iter().find(|(id, _)| id.to_string() == t) {
            Some(p) => Some(p.clone()),
            None => {
                errors.add("partner_organisation", lang.t("form.choose_one"));
                None
            }
        },
    };
    let mut partner_name = bounded(&f.partner_name, 200, "partner_name", lang, &mut errors);
    if partner_name.is_empty() {
        if let Some((_, name)) = &partner_organisation {
            partner_name = name.clone();
        }
    }
    if service_id.is_none() && partner_organisation.is_none() && partner_name.is_empty() {
        errors.add("partner_name", lang.t("people.referral.error.partner"));
    }
    let partner_email = match optional(&f.partner_email) {
        None => None,
        Some(e) => match veille_domain::EmailAddress::parse(&e) {
            Ok(e) => Some(e.as_str().to_owned()),
            Err(_) => {
                errors.add("partner_email", lang.t("form.email_invalid"));
                None
            }
        },
    };
    let reason = bounded(&f.reason, 2000, "reason", lang, &mut errors);
    if reason.chars().count() < 5 {
        errors.add("reason", lang.t("people.referral.error.reason"));
    }
    let consent_confirmed = f.consented();
    let urgent = optional(&bounded(&f.urgent_reason, 500, "urgent_reason", lang, &mut errors));
    if !consent_confirmed && urgent.as_ref().is_none_or(|u| u.chars().count() < 10) {
        errors.add("consent_confirmed", lang.t("people.referral.error.consent"));
    }
    let Some(person) = person.filter(|_| errors.is_empty()) else { return Err(errors) };
    Ok(NewReferral {
        person,
        service_id,
        partner_name,
        partner_organisation: partner_organisation.map(|p| p.0),
        partner_email,
        reason,
        consent_confirmed,
        urgent_override_reason: if consent_confirmed { None } else { urgent },
    })
}

/// The partner's answer, or an outcome, as typed.
#[derive(Deserialize, Default, Clone, Debug, schemars::JsonSchema)]
#[serde(default)]
pub struct AnswerBody {
    /// `accepted` or `declined` (an answer); `done` or `not_honoured` (an outcome).
    #[schemars(with = "ReferralStatus")]
    pub status: String,
    /// The message to the sender (an answer), or a note (an outcome).
    pub message: String,
    /// The version read.
    pub version: Option<i64>,
}

/// Checks an answer or an outcome: the status must be one of `allowed`.
pub fn validate_answer(lang: Lang, b: &AnswerBody, allowed: &[ReferralStatus]) -> Result<(ReferralStatus, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    let status = ReferralStatus::from_code(&b.status).filter(|s| allowed.contains(s));
    if status.is_none() {
        errors.add("status", lang.t("form.choose_one"));
    }
    let message = bounded(&b.message, 2000, "message", lang, &mut errors);
    match status.filter(|_| errors.is_empty()) {
        Some(s) => Ok((s, message)),
        None => Err(errors),
    }
}

/// The version read (sending a referral again).
#[derive(Deserialize, Default, Clone, Debug, schemars::JsonSchema)]
#[serde(default)]
pub struct VersionBody {
    /// The version read.
    pub version: Option<i64>,
}

/// Withdrawing a referral.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct CancelInput {
    /// Why (kept, at most 500 characters).
    pub reason: String,
    /// The version read.
    pub version: Option<i64>,
}

impl CancelInput {
    /// The reason as kept.
    pub fn reason(&self) -> String {
        self.reason.trim().chars().take(500).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(now: Timestamp) -> PersonContext<'static> {
        PersonContext { now, territories: &[], consent_allows_identifying: false }
    }

    fn now() -> Timestamp {
        parse_instant("2026-12-01T22:30:00+01:00").unwrap()
    }

    #[test]
    fn paris_local_times_and_rfc3339_parse_to_the_same_instant() {
        assert_eq!(parse_instant("2026-12-01T22:30"), Some(now()));
        assert_eq!(parse_instant("2026-12-01T21:30:00Z"), Some(now()));
        assert_eq!(local_input(now()), "2026-12-01T22:30");
        assert_eq!(parse_instant("hier soir"), None);
    }

    #[test]
    fn a_pseudonym_alone_is_enough() {
        let v = validate_person(Lang::Fr, &PersonForm { pseudonym: " Momo ".into(), age: "45".into(), ..Default::default() }, &cx(now())).unwrap();
        assert_eq!(v.fields.pseudonym, "Momo");
        assert_eq!(v.fields.birth_year, Some(1981));
        assert!(v.consent.is_none());
    }

    #[test]
    fn identifying_data_is_refused_without_a_consent_that_agrees() {
        let form = PersonForm { pseudonym: "Momo".into(), phone: "06 12 34 56 78".into(), ..Default::default() };
        let e = validate_person(Lang::Fr, &form, &cx(now())).unwrap_err();
        assert!(e.has("phone"), "{:?}", e.all());
        // Told everything but did not agree to identifying data: still refused.
        let told = ConsentForm {
            consent_purpose: Some("1".into()),
            consent_access: Some("1".into()),
            consent_rights: Some("1".into()),
            consent_language: "ar".into(),
            ..Default::default()
        };
        let e = validate_person(Lang::Fr, &PersonForm { consent: told.clone(), ..form.clone() }, &cx(now())).unwrap_err();
        assert!(e.has("phone"));
        // Agreed: saved with its consent.
        let agreed = ConsentForm { consent_identifying: Some("1".into()), ..told };
        let v = validate_person(Lang::Fr, &PersonForm { consent: agreed, ..form.clone() }, &cx(now())).unwrap();
        assert_eq!(v.fields.phone.as_deref(), Some("0612345678"));
        assert!(v.consent.unwrap().terms.allows_identifying());
        // A consent in force that agrees is enough too.
        let cx2 = PersonContext { consent_allows_identifying: true, ..cx(now()) };
        assert!(validate_person(Lang::Fr, &form, &cx2).is_ok());
    }

    #[test]
    fn a_consent_needs_all_three_things_told_and_a_language() {
        let mut e = FieldErrors::new();
        let c = ConsentForm { consent_purpose: Some("1".into()), consent_identifying: Some("1".into()), ..Default::default() };
        assert!(validate_consent(Lang::Fr, &c, now(), &mut e).is_none());
        assert!(e.has("consent_purpose") && e.has("consent_language"));
    }

    #[test]
    fn codes_outside_the_lists_are_refused_field_by_field() {
        let form =
            PersonForm { pseudonym: "Zora".into(), nationality: "algerian".into(), languages: vec!["fr".into(), "klingon".into()], ..Default::default() };
        let e = validate_person(Lang::Fr, &form, &cx(now())).unwrap_err();
        assert!(e.has("nationality") && e.has("languages") && !e.has("pseudonym"));
    }

    #[test]
    fn children_ages_become_birth_years() {
        let now = parse_instant("2026-06-01T12:00").unwrap();
        assert_eq!(children_years("3, 7", now), Some(vec![2023, 2019]));
        assert_eq!(children_years("", now), Some(vec![]));
        assert_eq!(children_years("3, douze", now), None);
        assert_eq!(children_years("19", now), None, "an adult is not a child of the household");
    }

    #[test]
    fn a_referral_needs_consent_or_an_urgent_reason() {
        let f = ReferralForm {
            person: PersonId::new().to_string(),
            partner_name: "PASS Lariboisière".into(),
            reason: "Plaie au pied".into(),
            ..Default::default()
        };
        assert!(validate_referral(Lang::Fr, &f, &[]).unwrap_err().has("consent_confirmed"));
        let urgent = ReferralForm { urgent_reason: "Personne inconsciente, SAMU appelé".into(), ..f.clone() };
        let r = validate_referral(Lang::Fr, &urgent, &[]).unwrap();
        assert!(!r.consent_confirmed && r.urgent_override_reason.is_some());
        let ok = ReferralForm { consent_confirmed: Some("1".into()), urgent_reason: "ignored".into(), ..f };
        assert_eq!(validate_referral(Lang::Fr, &ok, &[]).unwrap().urgent_override_reason, None);
        let nobody = ReferralForm { partner_name: String::new(), consent_confirmed: Some("1".into()), ..ok_form() };
        assert!(validate_referral(Lang::Fr, &nobody, &[]).unwrap_err().has("partner_name"));
    }

    fn ok_form() -> ReferralForm {
        ReferralForm { person: PersonId::new().to_string(), reason: "Besoin de soins".into(), ..Default::default() }
    }
}
