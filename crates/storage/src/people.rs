//! People (pseudonym first), their health section, consent records, the
//! organisations a file is shared with, links between records of the same
//! person, notes and households.
//!
//! Health information is in `person_health`, read only through [`health`]:
//! a [`Person`] never carries it, so a page or an export cannot show it by
//! forgetting a check.

use std::collections::{BTreeSet, VecDeque};

use sqlx::Row;
use veille_domain::people::{AgeBand, ConsentTerms, ExitReason, Gender, HealthFlag, HouseholdKind, Language, Nationality, Need, Situation, Vulnerability};
use veille_domain::{FieldGroup, HouseholdId, OrganisationId, PersonId, ReferralId, TerritoryId, Timestamp, UserId};

use crate::db::{b, claim, Db, Tx, Versioned};
use crate::error::{Result, ResultExt, StorageError};

// ---------------------------------------------------------------------------
// Row helpers shared by people, encounters and referrals.

/// Parses a stored identifier or code.
pub(crate) fn parse_as<T: std::str::FromStr>(s: String, what: &'static str) -> Result<T> {
    s.parse().map_err(|_| StorageError::Corrupt(what))
}

/// Parses an optional stored identifier.
pub(crate) fn parse_opt<T: std::str::FromStr>(s: Option<String>, what: &'static str) -> Result<Option<T>> {
    s.map(|s| parse_as(s, what)).transpose()
}

/// A coded value read back with its `from_code`.
pub(crate) fn code<T>(s: &str, from: fn(&str) -> Option<T>, what: &'static str) -> Result<T> {
    from(s).ok_or(StorageError::Corrupt(what))
}

/// A list of codes stored as `a,b,c`.
pub(crate) fn codes<T>(s: &str, from: fn(&str) -> Option<T>, what: &'static str) -> Result<Vec<T>> {
    s.split(',').filter(|c| !c.is_empty()).map(|c| code(c, from, what)).collect()
}

/// Stores a list of codes as `a,b,c`.
pub(crate) fn join_codes<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_micros)
}


/// Whether `sql` (a count over a pair, `$1` and `$2`) finds the pair.
async fn pair_known(tx: &mut Tx, sql: &str, x: &str, y: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(sql).bind(x).bind(y).fetch_one(&mut **tx).await?;
    Ok(n > 0)
}

fn pair(a: PersonId, b: PersonId) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

// ---------------------------------------------------------------------------
// People

/// What a person file says (everything a worker types; no health here).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct PersonFields {
    /// Usual territory (where the person is met), if known.
    pub territory: Option<TerritoryId>,
    /// Pseudonym or nickname.
    pub pseudonym: String,
    /// Other names the person is known by.
    pub aliases: Vec<String>,
    /// Birth year, exact or approximate.
    pub birth_year: Option<i32>,
    /// Age band, when the birth year is not known.
    pub age_band: Option<AgeBand>,
    /// Gender (`None`: unknown).
    pub gender: Option<Gender>,
    /// Languages spoken.
    pub languages: Vec<Language>,
    /// Nationality: France, EU, outside the EU (`None`: unknown).
    pub nationality: Option<Nationality>,
    /// Where the person lives now (`None`: unknown).
    pub situation: Option<Situation>,
    /// Needs identified.
    pub needs: Vec<Need>,
    /// Vulnerabilities.
    pub vulnerabilities: Vec<Vulnerability>,
    /// Phone (identifying: only with a consent record).
    pub phone: Option<String>,
    /// Civil given name (identifying: only with a consent record).
    pub civil_given_name: Option<String>,
    /// Civil family name (identifying: only with a consent record).
    pub civil_family_name: Option<String>,
}

impl PersonFields {
    /// Whether it holds identifying data beyond the pseudonym.
    pub fn has_identifying(&self) -> bool {
        self.phone.is_some() || self.civil_given_name.is_some() || self.civil_family_name.is_some()
    }
}

/// A stored person.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Person {
    /// Id.
    pub id: PersonId,
    /// Owning organisation (the one that created the file).
    pub organisation: OrganisationId,
    /// What the file says.
    pub fields: PersonFields,
    /// Household.
    pub household: Option<HouseholdId>,
    /// In the active list.
    pub active: bool,
    /// Why the person left the active list.
    pub exit_reason: Option<ExitReason>,
    /// When.
    pub exit_at: Option<Timestamp>,
    /// Last encounter (drives retention).
    pub last_contact_at: Option<Timestamp>,
    /// Who created the file.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Version.
    pub version: i64,
}

const PERSON_COLUMNS: &str = "id, organisation_id, territory_id, pseudonym, aliases, birth_year, age_band, gender, languages, \
    nationality, situation, needs, vulnerabilities, household_id, phone, civil_given_name, civil_family_name, active, exit_reason, \
    exit_at, last_contact_at, created_by, created_at, updated_at, version";

fn person_from_row(r: &sqlx::any::AnyRow) -> Result<Person> {
    let aliases: String = r.try_get("aliases")?;
    let opt_code = |col: &'static str| -> Result<Option<String>> { Ok(r.try_get::<Option<String>, _>(col)?) };
    Ok(Person {
        id: parse_as(r.try_get("id")?, "people.id")?,
        organisation: parse_as(r.try_get("organisation_id")?, "people.organisation_id")?,
        fields: PersonFields {
            territory: parse_opt(r.try_get("territory_id")?, "people.territory_id")?,
            pseudonym: r.try_get("pseudonym")?,
            aliases: aliases.split('|').filter(|a| !a.is_empty()).map(str::to_owned).collect(),
            birth_year: r.try_get::<Option<i64>, _>("birth_year")?.map(|y| y as i32),
            age_band: opt_code("age_band")?.map(|c| code(&c, AgeBand::from_code, "people.age_band")).transpose()?,
            gender: Some(code(&r.try_get::<String, _>("gender")?, Gender::from_code, "people.gender")?).filter(|g| *g != Gender::Unknown),
            languages: codes(&r.try_get::<String, _>("languages")?, Language::from_code, "people.languages")?,
            nationality: Some(code(&r.try_get::<String, _>("nationality")?, Nationality::from_code, "people.nationality")?)
                .filter(|n| *n != Nationality::Unknown),
            situation: Some(code(&r.try_get::<String, _>("situation")?, Situation::from_code, "people.situation")?).filter(|s| *s != Situation::Unknown),
            needs: codes(&r.try_get::<String, _>("needs")?, Need::from_code, "people.needs")?,
            vulnerabilities: codes(&r.try_get::<String, _>("vulnerabilities")?, Vulnerability::from_code, "people.vulnerabilities")?,
            phone: r.try_get("phone")?,
            civil_given_name: r.try_get("civil_given_name")?,
            civil_family_name: r.try_get("civil_family_name")?,
        },
        household: parse_opt(r.try_get("household_id")?, "people.household_id")?,
        active: r.try_get::<i64, _>("active")? != 0,
        exit_reason: opt_code("exit_reason")?.map(|c| code(&c, ExitReason::from_code, "people.exit_reason")).transpose()?,
        exit_at: ts(r.try_get("exit_at")?),
        last_contact_at: ts(r.try_get("last_contact_at")?),
        created_by: parse_opt(r.try_get("created_by")?, "people.created_by")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        updated_at: Timestamp::from_micros(r.try_get("updated_at")?),
        version: r.try_get("version")?,
    })
}

fn aliases_text(f: &PersonFields) -> String {
    f.aliases.iter().map(|a| a.replace('|', " ")).collect::<Vec<_>>().join("|")
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds what a file says, in the order of [`FIELD_COLUMNS`].
fn bind_fields<'q>(q: AnyQuery<'q>, f: &PersonFields) -> AnyQuery<'q> {
    q.bind(f.territory.map(|t| t.to_string()))
        .bind(f.pseudonym.clone())
        .bind(aliases_text(f))
        .bind(f.birth_year.map(i64::from))
        .bind(f.age_band.map(|a| a.code().to_owned()))
        .bind(f.gender.unwrap_or(Gender::Unknown).code())
        .bind(join_codes(&f.languages))
        .bind(f.nationality.unwrap_or(Nationality::Unknown).code())
        .bind(f.situation.unwrap_or(Situation::Unknown).code())
        .bind(join_codes(&f.needs))
        .bind(join_codes(&f.vulnerabilities))
        .bind(f.phone.clone())
        .bind(f.civil_given_name.clone())
        .bind(f.civil_family_name.clone())
}

/// The columns of what a file says, bound by [`bind_fields`].
const FIELD_COLUMNS: [&str; 14] = [
    "territory_id", "pseudonym", "aliases", "birth_year", "age_band", "gender", "languages", "nationality", "situation", "needs",
    "vulnerabilities", "phone", "civil_given_name", "civil_family_name",
];

/// Creates a person file.
pub async fn create(tx: &mut Tx, organisation: OrganisationId, f: &PersonFields, by: UserId, now: Timestamp) -> Result<PersonId> {
    let id = PersonId::new();
    let placeholders: Vec<String> = (1..=FIELD_COLUMNS.len()).map(|i| format!("${i}")).collect();
    let n = FIELD_COLUMNS.len();
    let sql = format!(
        "INSERT INTO people ({}, id, organisation_id, created_by, created_at, updated_at) VALUES ({}, ${}, ${}, ${}, ${}, ${})",
        FIELD_COLUMNS.join(", "),
        placeholders.join(", "),
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 4
    );
    bind_fields(sqlx::query(&sql), f)
        .bind(id.to_string())
        .bind(organisation.to_string())
        .bind(by.to_string())
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    Ok(id)
}

/// Replaces what a file says, if nobody changed it since `version`.
pub async fn update(tx: &mut Tx, id: PersonId, f: &PersonFields, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::People, id, version, now).await?;
    let sets: Vec<String> = FIELD_COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
    let sql = format!("UPDATE people SET {} WHERE id = ${}", sets.join(", "), FIELD_COLUMNS.len() + 1);
    bind_fields(sqlx::query(&sql), f).bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Erases the identifying data of a file (after its consent was withdrawn).
pub async fn clear_identifying(tx: &mut Tx, id: PersonId, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE people SET phone = NULL, civil_given_name = NULL, civil_family_name = NULL, version = version + 1, updated_at = $1 WHERE id = $2",
    )
    .bind(now.as_micros())
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One person.
pub async fn get(db: &Db, id: PersonId) -> Result<Person> {
    let row = sqlx::query(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    person_from_row(&row)
}

/// These people (those that exist), in the order of their ids.
pub async fn get_many(db: &Db, ids: &[PersonId]) -> Result<Vec<Person>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(200) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id IN ({}) ORDER BY id", placeholders.join(", "));
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(db.pool()).await? {
            out.push(person_from_row(&row)?);
        }
    }
    out.sort_by_key(|p| p.id);
    Ok(out)
}

/// Filters of the list of people.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only people in the active list (true) or only those who left it (false).
    pub active: Option<bool>,
}

/// People owned by `organisation` or shared with it by consent, most
/// recently met first, at most `limit`. Callers keep only those the
/// permission function lets the actor read.
pub async fn list_for(db: &Db, organisation: OrganisationId, f: &Filter, limit: i64) -> Result<Vec<Person>> {
    let mut sql = format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE (organisation_id = $1 OR id IN (SELECT person_id FROM person_shares \
         WHERE organisation_id = $1 AND basis = 'consent' AND revoked_at IS NULL))"
    );
    if let Some(active) = f.active {
        sql.push_str(if active { " AND active = 1" } else { " AND active = 0" });
    }
    sql.push_str(" ORDER BY COALESCE(last_contact_at, created_at) DESC, id LIMIT $2");
    let rows = sqlx::query(&sql).bind(organisation.to_string()).bind(limit).fetch_all(db.pool()).await?;
    rows.iter().map(person_from_row).collect()
}

/// Every person (for building the duplicate index at start).
pub async fn all(db: &Db) -> Result<Vec<Person>> {
    let rows = sqlx::query(&format!("SELECT {PERSON_COLUMNS} FROM people ORDER BY id")).fetch_all(db.pool()).await?;
    rows.iter().map(person_from_row).collect()
}

/// People changed at or after `since` (the duplicate index catches up with
/// writes of other instances).
pub async fn changed_since(db: &Db, since: Timestamp) -> Result<Vec<Person>> {
    let rows = sqlx::query(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE updated_at >= $1 ORDER BY id"))
        .bind(since.as_micros())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(person_from_row).collect()
}

/// Marks a person changed (a link made or undone changes their merged view).
pub async fn touch(tx: &mut Tx, id: PersonId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE people SET updated_at = $1 WHERE id = $2").bind(now.as_micros()).bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Takes a person out of the active list with a reason.
pub async fn leave_active_list(tx: &mut Tx, id: PersonId, reason: ExitReason, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::People, id, version, now).await?;
    sqlx::query("UPDATE people SET active = 0, exit_reason = $1, exit_at = $2 WHERE id = $3")
        .bind(reason.code())
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Puts a person back in the active list.
pub async fn return_to_active_list(tx: &mut Tx, id: PersonId, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::People, id, version, now).await?;
    sqlx::query("UPDATE people SET active = 1, exit_reason = NULL, exit_at = NULL WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a contact: the last contact date only moves forward.
pub async fn record_contact(tx: &mut Tx, id: PersonId, at: Timestamp, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE people SET last_contact_at = CASE WHEN last_contact_at IS NULL OR last_contact_at < $1 THEN $1 ELSE last_contact_at END, \
         updated_at = $2 WHERE id = $3",
    )
    .bind(at.as_micros())
    .bind(now.as_micros())
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Health (field group `health`)

/// The health section of a file.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Health {
    /// Flags.
    pub flags: Vec<HealthFlag>,
    /// Free text.
    pub notes: String,
    /// Version (0: never written).
    pub version: i64,
}

/// The health section of a person (empty if never written). Call only once
/// the health field group was allowed.
pub async fn health(db: &Db, id: PersonId) -> Result<Health> {
    let row = sqlx::query("SELECT flags, notes, version FROM person_health WHERE person_id = $1")
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?;
    match row {
        None => Ok(Health::default()),
        Some(r) => Ok(Health {
            flags: codes(&r.try_get::<String, _>("flags")?, HealthFlag::from_code, "person_health.flags")?,
            notes: r.try_get("notes")?,
            version: r.try_get("version")?,
        }),
    }
}

/// Writes the health section, if nobody changed it since `version` (0: new).
pub async fn set_health(tx: &mut Tx, id: PersonId, flags: &[HealthFlag], notes: &str, by: UserId, version: i64, now: Timestamp) -> Result<()> {
    let done = if version == 0 {
        sqlx::query(
            "INSERT INTO person_health (person_id, flags, notes, updated_by, updated_at, version) SELECT $1, $2, $3, $4, $5, 1 \
             WHERE NOT EXISTS (SELECT 1 FROM person_health WHERE person_id = $1)",
        )
        .bind(id.to_string())
        .bind(join_codes(flags))
        .bind(notes)
        .bind(by.to_string())
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?
    } else {
        sqlx::query(
            "UPDATE person_health SET flags = $1, notes = $2, updated_by = $3, updated_at = $4, version = version + 1 \
             WHERE person_id = $5 AND version = $6",
        )
        .bind(join_codes(flags))
        .bind(notes)
        .bind(by.to_string())
        .bind(now.as_micros())
        .bind(id.to_string())
        .bind(version)
        .execute(&mut **tx)
        .await?
    };
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Consent

/// A consent record: what the person was told, what they agreed to, when,
/// by whom, in which language, with an interpreter or not.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Consent {
    /// Id.
    pub id: String,
    /// The person.
    pub person: PersonId,
    /// The organisation that recorded it.
    pub organisation: OrganisationId,
    /// What was told and agreed.
    pub terms: ConsentTerms,
    /// Language the information was given in.
    pub language: Language,
    /// With an interpreter.
    pub interpreter: bool,
    /// When the person was told.
    pub given_at: Timestamp,
    /// Who told them and recorded it.
    pub recorded_by: UserId,
    /// Name of who recorded it.
    pub recorded_by_name: String,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// When it was withdrawn.
    pub withdrawn_at: Option<Timestamp>,
}

/// A consent to record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewConsent {
    /// What was told and agreed.
    pub terms: ConsentTerms,
    /// Language.
    pub language: Language,
    /// With an interpreter.
    pub interpreter: bool,
    /// When the person was told.
    pub given_at: Timestamp,
}

/// Records a consent.
pub async fn add_consent(tx: &mut Tx, person: PersonId, organisation: OrganisationId, c: &NewConsent, by: UserId, now: Timestamp) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO consents (id, person_id, organisation_id, told_purpose, told_access, told_rights, agrees_identifying, agrees_sharing, \
         language, interpreter, given_at, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&id)
    .bind(person.to_string())
    .bind(organisation.to_string())
    .bind(b(c.terms.told_purpose))
    .bind(b(c.terms.told_access))
    .bind(b(c.terms.told_rights))
    .bind(b(c.terms.agrees_identifying))
    .bind(b(c.terms.agrees_sharing))
    .bind(c.language.code())
    .bind(b(c.interpreter))
    .bind(c.given_at.as_micros())
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    touch(tx, person, now).await?;
    Ok(id)
}

/// Every consent record of a person, newest first (withdrawn ones included).
pub async fn consents(db: &Db, person: PersonId) -> Result<Vec<Consent>> {
    let rows = sqlx::query(
        "SELECT c.id, c.person_id, c.organisation_id, c.told_purpose, c.told_access, c.told_rights, c.agrees_identifying, c.agrees_sharing, \
         c.language, c.interpreter, c.given_at, c.recorded_by, u.display_name, c.recorded_at, c.withdrawn_at FROM consents c \
         JOIN users u ON u.id = c.recorded_by WHERE c.person_id = $1 ORDER BY c.recorded_at DESC, c.id DESC",
    )
    .bind(person.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let flag = |c: &str| -> Result<bool> { Ok(r.try_get::<i64, _>(c)? != 0) };
            Ok(Consent {
                id: r.try_get("id")?,
                person: parse_as(r.try_get("person_id")?, "consents.person_id")?,
                organisation: parse_as(r.try_get("organisation_id")?, "consents.organisation_id")?,
                terms: ConsentTerms {
                    told_purpose: flag("told_purpose")?,
                    told_access: flag("told_access")?,
                    told_rights: flag("told_rights")?,
                    agrees_identifying: flag("agrees_identifying")?,
                    agrees_sharing: flag("agrees_sharing")?,
                },
                language: code(&r.try_get::<String, _>("language")?, Language::from_code, "consents.language")?,
                interpreter: flag("interpreter")?,
                given_at: Timestamp::from_micros(r.try_get("given_at")?),
                recorded_by: parse_as(r.try_get("recorded_by")?, "consents.recorded_by")?,
                recorded_by_name: r.try_get("display_name")?,
                recorded_at: Timestamp::from_micros(r.try_get("recorded_at")?),
                withdrawn_at: ts(r.try_get("withdrawn_at")?),
            })
        })
        .collect()
}

/// The consent in force: the newest one not withdrawn.
pub async fn current_consent(db: &Db, person: PersonId) -> Result<Option<Consent>> {
    Ok(consents(db, person).await?.into_iter().find(|c| c.withdrawn_at.is_none()))
}

/// Withdraws every consent in force of a person; returns how many.
pub async fn withdraw_consents(tx: &mut Tx, person: PersonId, by: UserId, now: Timestamp) -> Result<u64> {
    let done = sqlx::query("UPDATE consents SET withdrawn_at = $1, withdrawn_by = $2 WHERE person_id = $3 AND withdrawn_at IS NULL")
        .bind(now.as_micros())
        .bind(by.to_string())
        .bind(person.to_string())
        .execute(&mut **tx)
        .await?;
    touch(tx, person, now).await?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------------------
// Sharing

/// On what ground a file is shared with another organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareBasis {
    /// The person agreed (the whole file, health only for health roles).
    Consent,
    /// A referral was sent to the organisation (it sees that referral only).
    Referral,
}

impl ShareBasis {
    fn code(self) -> &'static str {
        match self {
            ShareBasis::Consent => "consent",
            ShareBasis::Referral => "referral",
        }
    }
}

/// A share in force.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Share {
    /// Id.
    pub id: String,
    /// The person.
    pub person: PersonId,
    /// The organisation it is shared with.
    pub organisation: OrganisationId,
    /// Its name.
    pub organisation_name: String,
    /// Ground.
    pub basis: ShareBasis,
    /// The referral, for a referral share.
    pub referral: Option<ReferralId>,
    /// Since when.
    pub created_at: Timestamp,
}

/// Shares a file (or, for a referral, what the referral needs) with an organisation.
#[allow(clippy::too_many_arguments)]
pub async fn share(
    tx: &mut Tx,
    person: PersonId,
    organisation: OrganisationId,
    basis: ShareBasis,
    consent: Option<&str>,
    referral: Option<ReferralId>,
    by: UserId,
    now: Timestamp,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO person_shares (id, person_id, organisation_id, basis, consent_id, referral_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(person.to_string())
    .bind(organisation.to_string())
    .bind(basis.code())
    .bind(consent.map(str::to_owned))
    .bind(referral.map(|r| r.to_string()))
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    touch(tx, person, now).await?;
    Ok(id)
}

/// The shares in force of a person, of every basis.
pub async fn shares(db: &Db, person: PersonId) -> Result<Vec<Share>> {
    let rows = sqlx::query(
        "SELECT s.id, s.person_id, s.organisation_id, o.name, s.basis, s.referral_id, s.created_at FROM person_shares s \
         JOIN organisations o ON o.id = s.organisation_id WHERE s.person_id = $1 AND s.revoked_at IS NULL ORDER BY s.created_at, s.id",
    )
    .bind(person.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Share {
                id: r.try_get("id")?,
                person: parse_as(r.try_get("person_id")?, "person_shares.person_id")?,
                organisation: parse_as(r.try_get("organisation_id")?, "person_shares.organisation_id")?,
                organisation_name: r.try_get("name")?,
                basis: match r.try_get::<String, _>("basis")?.as_str() {
                    "consent" => ShareBasis::Consent,
                    "referral" => ShareBasis::Referral,
                    _ => return Err(StorageError::Corrupt("person_shares.basis")),
                },
                referral: parse_opt(r.try_get("referral_id")?, "person_shares.referral_id")?,
                created_at: Timestamp::from_micros(r.try_get("created_at")?),
            })
        })
        .collect()
}

/// The organisations a file is shared with by consent (they read the file).
pub async fn consent_shares(db: &Db, person: PersonId) -> Result<BTreeSet<OrganisationId>> {
    Ok(shares(db, person).await?.into_iter().filter(|s| s.basis == ShareBasis::Consent).map(|s| s.organisation).collect())
}

/// Ends the consent shares of a person with `organisation` (all of them when
/// `None`, as when consent is withdrawn); returns how many.
pub async fn revoke_consent_shares(tx: &mut Tx, person: PersonId, organisation: Option<OrganisationId>, by: UserId, now: Timestamp) -> Result<u64> {
    let mut sql = String::from(
        "UPDATE person_shares SET revoked_at = $1, revoked_by = $2 WHERE person_id = $3 AND basis = 'consent' AND revoked_at IS NULL",
    );
    if organisation.is_some() {
        sql.push_str(" AND organisation_id = $4");
    }
    let mut q = sqlx::query(&sql).bind(now.as_micros()).bind(by.to_string()).bind(person.to_string());
    if let Some(o) = organisation {
        q = q.bind(o.to_string());
    }
    let done = q.execute(&mut **tx).await?;
    touch(tx, person, now).await?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------------------
// Links between records of the same person, and pairs judged distinct

/// A link between two records a worker judged to be the same person.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Link {
    /// One record.
    pub a: PersonId,
    /// The other.
    pub b: PersonId,
    /// The fields that agreed when they were linked (comparison codes).
    pub agreements: Vec<String>,
    /// Who linked them.
    pub linked_by: UserId,
    /// When.
    pub linked_at: Timestamp,
    /// When the link was undone.
    pub unlinked_at: Option<Timestamp>,
}

fn link_from_row(r: &sqlx::any::AnyRow) -> Result<Link> {
    let agreements: String = r.try_get("agreements")?;
    Ok(Link {
        a: parse_as(r.try_get("person_a")?, "person_links.person_a")?,
        b: parse_as(r.try_get("person_b")?, "person_links.person_b")?,
        agreements: serde_json::from_str(&agreements).map_err(|_| StorageError::Corrupt("person_links.agreements"))?,
        linked_by: parse_as(r.try_get("linked_by")?, "person_links.linked_by")?,
        linked_at: Timestamp::from_micros(r.try_get("linked_at")?),
        unlinked_at: ts(r.try_get("unlinked_at")?),
    })
}

/// Links two records (both histories are kept; nothing is merged). `false`:
/// they were already linked.
pub async fn link(tx: &mut Tx, a: PersonId, b: PersonId, agreements: &[String], by: UserId, now: Timestamp) -> Result<bool> {
    let (x, y) = pair(a, b);
    if pair_known(tx, "SELECT COUNT(*) FROM person_links WHERE person_a = $1 AND person_b = $2 AND unlinked_at IS NULL", &x, &y).await? {
        return Ok(false);
    }
    sqlx::query("INSERT INTO person_links (id, person_a, person_b, agreements, linked_by, linked_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&x)
        .bind(&y)
        .bind(serde_json::to_string(agreements).unwrap_or_else(|_| "[]".into()))
        .bind(by.to_string())
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    touch(tx, a, now).await?;
    touch(tx, b, now).await?;
    Ok(true)
}

/// Undoes the link between two records. `false`: they were not linked.
pub async fn unlink(tx: &mut Tx, a: PersonId, b: PersonId, by: UserId, now: Timestamp) -> Result<bool> {
    let (x, y) = pair(a, b);
    let done = sqlx::query(
        "UPDATE person_links SET unlinked_at = $1, unlinked_by = $2 WHERE person_a = $3 AND person_b = $4 AND unlinked_at IS NULL",
    )
    .bind(now.as_micros())
    .bind(by.to_string())
    .bind(&x)
    .bind(&y)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    touch(tx, a, now).await?;
    touch(tx, b, now).await?;
    Ok(true)
}

/// Every link of a person, made or undone, oldest first.
pub async fn link_history(db: &Db, person: PersonId) -> Result<Vec<Link>> {
    let rows = sqlx::query(
        "SELECT person_a, person_b, agreements, linked_by, linked_at, unlinked_at FROM person_links \
         WHERE person_a = $1 OR person_b = $1 ORDER BY linked_at, id",
    )
    .bind(person.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(link_from_row).collect()
}

/// The records directly linked to a person now.
pub async fn linked_to(db: &Db, person: PersonId) -> Result<Vec<PersonId>> {
    Ok(link_history(db, person)
        .await?
        .into_iter()
        .filter(|l| l.unlinked_at.is_none())
        .map(|l| if l.a == person { l.b } else { l.a })
        .collect())
}

/// The person's group: every record reachable through links in force,
/// itself included, in id order (the first is the oldest record).
pub async fn group_of(db: &Db, person: PersonId) -> Result<Vec<PersonId>> {
    let mut seen = BTreeSet::from([person]);
    let mut todo = VecDeque::from([person]);
    while let Some(p) = todo.pop_front() {
        for q in linked_to(db, p).await? {
            if seen.insert(q) {
                todo.push_back(q);
            }
        }
    }
    Ok(seen.into_iter().collect())
}

/// Every link in force (to build the duplicate index at start).
pub async fn active_links(db: &Db) -> Result<Vec<(PersonId, PersonId)>> {
    let rows = sqlx::query("SELECT person_a, person_b FROM person_links WHERE unlinked_at IS NULL").fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| Ok((parse_as(r.try_get("person_a")?, "person_links.person_a")?, parse_as(r.try_get("person_b")?, "person_links.person_b")?)))
        .collect()
}

/// Records that two people are not the same (no longer suggested). `false`:
/// already recorded.
pub async fn mark_distinct(tx: &mut Tx, a: PersonId, b: PersonId, by: UserId, now: Timestamp) -> Result<bool> {
    let (x, y) = pair(a, b);
    if pair_known(tx, "SELECT COUNT(*) FROM person_distinct_pairs WHERE person_a = $1 AND person_b = $2", &x, &y).await? {
        return Ok(false);
    }
    sqlx::query("INSERT INTO person_distinct_pairs (id, person_a, person_b, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&x)
        .bind(&y)
        .bind(by.to_string())
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    Ok(true)
}

/// The people judged distinct from `person`.
pub async fn distinct_from(db: &Db, person: PersonId) -> Result<BTreeSet<PersonId>> {
    let rows = sqlx::query("SELECT person_a, person_b FROM person_distinct_pairs WHERE person_a = $1 OR person_b = $1")
        .bind(person.to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let a: PersonId = parse_as(r.try_get("person_a")?, "person_distinct_pairs.person_a")?;
            let b: PersonId = parse_as(r.try_get("person_b")?, "person_distinct_pairs.person_b")?;
            Ok(if a == person { b } else { a })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Notes

/// A note on a person file.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Note {
    /// The file it is on.
    pub person: PersonId,
    /// When.
    pub at: Timestamp,
    /// Author's name.
    pub author: String,
    /// `Some(Health)`: a health note, for health professionals only.
    pub field_group: Option<FieldGroup>,
    /// Text.
    pub body: String,
}

/// Adds a note.
pub async fn add_note(tx: &mut Tx, person: PersonId, author: UserId, group: Option<FieldGroup>, body: &str, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO person_notes (id, person_id, author_id, at, field_group, body) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(person.to_string())
        .bind(author.to_string())
        .bind(now.as_micros())
        .bind(group.map(|g| g.code().to_owned()))
        .bind(body)
        .execute(&mut **tx)
        .await?;
    touch(tx, person, now).await
}

/// The notes of these files (a merged view), oldest first; health notes
/// only when `with_health`.
pub async fn notes(db: &Db, people: &[PersonId], with_health: bool) -> Result<Vec<Note>> {
    let mut out = Vec::new();
    for p in people {
        let rows = sqlx::query(
            "SELECT n.person_id, n.at, u.display_name, n.field_group, n.body FROM person_notes n JOIN users u ON u.id = n.author_id \
             WHERE n.person_id = $1 ORDER BY n.at, n.id",
        )
        .bind(p.to_string())
        .fetch_all(db.pool())
        .await?;
        for r in &rows {
            let group = r.try_get::<Option<String>, _>("field_group")?.map(|g| code(&g, FieldGroup::from_code, "person_notes.field_group")).transpose()?;
            if group.is_some() && !with_health {
                continue;
            }
            out.push(Note {
                person: parse_as(r.try_get("person_id")?, "person_notes.person_id")?,
                at: Timestamp::from_micros(r.try_get("at")?),
                author: r.try_get("display_name")?,
                field_group: group,
                body: r.try_get("body")?,
            });
        }
    }
    out.sort_by_key(|n| n.at);
    Ok(out)
}

// ---------------------------------------------------------------------------
// Households

/// A household: a couple, a family, a group; children by birth year.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Household {
    /// Id.
    pub id: HouseholdId,
    /// Owning organisation.
    pub organisation: OrganisationId,
    /// Kind.
    pub kind: HouseholdKind,
    /// Children's birth years (approximate: from the ages given).
    pub children: Vec<i32>,
    /// Version.
    pub version: i64,
}

/// Creates a household.
pub async fn create_household(tx: &mut Tx, organisation: OrganisationId, kind: HouseholdKind, children: &[i32], now: Timestamp) -> Result<HouseholdId> {
    let id = HouseholdId::new();
    sqlx::query("INSERT INTO households (id, organisation_id, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
        .bind(id.to_string())
        .bind(organisation.to_string())
        .bind(kind.code())
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    set_children(tx, id, children, now).await?;
    Ok(id)
}

async fn set_children(tx: &mut Tx, id: HouseholdId, children: &[i32], now: Timestamp) -> Result<()> {
    sqlx::query("DELETE FROM household_children WHERE household_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    for year in children {
        sqlx::query("INSERT INTO household_children (id, household_id, birth_year, created_at) VALUES ($1, $2, $3, $4)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(id.to_string())
            .bind(i64::from(*year))
            .bind(now.as_micros())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Changes a household's kind and children, if nobody changed it since `version`.
pub async fn update_household(tx: &mut Tx, id: HouseholdId, kind: HouseholdKind, children: &[i32], version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Households, id, version, now).await?;
    sqlx::query("UPDATE households SET kind = $1 WHERE id = $2").bind(kind.code()).bind(id.to_string()).execute(&mut **tx).await?;
    set_children(tx, id, children, now).await
}

/// One household.
pub async fn household(db: &Db, id: HouseholdId) -> Result<Household> {
    let row = sqlx::query("SELECT id, organisation_id, kind, version FROM households WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    let years: Vec<i64> = sqlx::query_scalar("SELECT birth_year FROM household_children WHERE household_id = $1 ORDER BY birth_year, id")
        .bind(id.to_string())
        .fetch_all(db.pool())
        .await?;
    Ok(Household {
        id,
        organisation: parse_as(row.try_get("organisation_id")?, "households.organisation_id")?,
        kind: code(&row.try_get::<String, _>("kind")?, HouseholdKind::from_code, "households.kind")?,
        children: years.into_iter().map(|y| y as i32).collect(),
        version: row.try_get("version")?,
    })
}

/// The people of a household.
pub async fn household_members(db: &Db, id: HouseholdId) -> Result<Vec<Person>> {
    let rows = sqlx::query(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE household_id = $1 ORDER BY id"))
        .bind(id.to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(person_from_row).collect()
}

/// Puts a person in a household (or out of any, with `None`).
pub async fn set_household(tx: &mut Tx, person: PersonId, household: Option<HouseholdId>, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE people SET household_id = $1, version = version + 1, updated_at = $2 WHERE id = $3")
        .bind(household.map(|h| h.to_string()))
        .bind(now.as_micros())
        .bind(person.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
