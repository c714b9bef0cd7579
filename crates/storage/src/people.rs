//! People (pseudonym first), their health section, consent records, the
//! organisations a file is shared with, links between records of the same
//! person, notes and households.
//!
//! Health information is in `person_health`, read only through [`health`]:
//! a [`Person`] never carries it, so a page or an export cannot show it by
//! forgetting a check.
//!
//! Every function that returns or counts files, households, notes, consents
//! or shares takes the caller's [`Scope`] and applies it in SQL with the
//! columns of [`ACCESS_COLUMNS`] (the ones `veille_app::people::person_resource`
//! describes a file with): a record outside the scope is not found. The
//! functions of the link graph ([`group_of`], [`linked_to`], [`distinct_from`],
//! [`link_history`], [`active_links`]) answer ids only — a group spans
//! organisations and territories — and the records behind them are read with a scope.

use std::collections::{BTreeSet, VecDeque};

use sqlx::Row;
use veille_domain::people::{AgeBand, ConsentTerms, ExitReason, Gender, HealthFlag, HouseholdKind, Language, Nationality, Need, Situation, Vulnerability};
use veille_domain::{FieldGroup, HouseholdId, OrganisationId, PersonId, ReferralId, TerritoryId, Timestamp, UserId};

use crate::db::{b, claim, Db, Tx, Versioned};
use crate::error::{Result, ResultExt, StorageError};
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns, Shared, Window};

// ---------------------------------------------------------------------------
// Row helpers shared by people, encounters and referrals.

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

/// `$1, $2, …` for `n` values bound one after the other.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The placeholders of an `IN (…)` list of ids, added to the query's values.
pub(crate) fn push_ids<T: std::fmt::Display>(p: &mut Params, ids: &[T]) -> String {
    ids.iter().map(|id| p.push_id(id)).collect::<Vec<_>>().join(", ")
}

/// Whether `sql` (a count over a pair, `$1` and `$2`) finds the pair.
async fn pair_known(tx: &mut Tx, sql: &str, x: PersonId, y: PersonId) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(sql).bind(x).bind(y).fetch_one(&mut **tx).await?;
    Ok(n > 0)
}

fn pair(a: PersonId, b: PersonId) -> (PersonId, PersonId) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

// ---------------------------------------------------------------------------
// People

/// The condition admitting the files a scope reads: an account reads active
/// files only (archived and anonymised ones are out of lists, searches and
/// pages; the archive is read through an instance scope named for it, after
/// the application checked the reader and the reason); the instance's own
/// work sees every file.
fn readable_files(scope: &Scope, p: &mut Params) -> String {
    let r = scope.records(&ACCESS_COLUMNS, p);
    if scope.instance_purpose().is_some() {
        r
    } else {
        format!("({r} AND p.retention_stage = 'active')")
    }
}

/// Where person files keep what the read rules look at: the owning
/// organisation, the usual territory, and the organisations the file is
/// shared with by a consent in force (`person_shares`, basis `consent`). Rows
/// are read as `people p`.
pub const ACCESS_COLUMNS: RecordColumns<'static> = RecordColumns {
    organisation: "p.organisation_id",
    territory: Some("p.territory_id"),
    case: None,
    shared_with: Some(Shared::Exists(
        "EXISTS (SELECT 1 FROM person_shares s WHERE s.person_id = p.id AND s.basis = 'consent' AND s.revoked_at IS NULL AND s.organisation_id = {org})",
    )),
};

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
    /// Where the file stands in its retention (active, archived, anonymised).
    pub stage: crate::retention::Stage,
    /// Who created the file.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Version.
    pub version: i64,
}

const PERSON_COLUMNS: &str = "p.id, p.organisation_id, p.territory_id, p.pseudonym, p.aliases, p.birth_year, p.age_band, p.gender, p.languages, \
    p.nationality, p.situation, p.needs, p.vulnerabilities, p.household_id, p.phone, p.civil_given_name, p.civil_family_name, p.active, \
    p.exit_reason, p.exit_at, p.last_contact_at, p.retention_stage, p.created_by, p.created_at, p.updated_at, p.version";

/// The aliases as stored (`|` between them).
fn split_aliases(stored: &str) -> Vec<String> {
    stored.split('|').filter(|a| !a.is_empty()).map(str::to_owned).collect()
}

/// The fields that identify a file as stored: the columns of
/// [`IDENTIFYING_COLUMNS`], read from a row ([`identifying_from_row`]) or
/// from the JSON of [`all_identifying`] ([`IdentifyingFiles::decode`]).
struct StoredIdentifying {
    pseudonym: String,
    aliases: String,
    birth_year: Option<i64>,
    age_band: Option<AgeBand>,
    gender: Gender,
    phone: Option<String>,
    civil_given_name: Option<String>,
    civil_family_name: Option<String>,
}

impl StoredIdentifying {
    /// The fields that identify a file (names, birth year or age band,
    /// gender, phone), the others empty.
    fn fields(self) -> PersonFields {
        PersonFields {
            pseudonym: self.pseudonym,
            aliases: split_aliases(&self.aliases),
            birth_year: self.birth_year.map(|y| y as i32),
            age_band: self.age_band,
            gender: Some(self.gender).filter(|g| *g != Gender::Unknown),
            phone: self.phone,
            civil_given_name: self.civil_given_name,
            civil_family_name: self.civil_family_name,
            ..PersonFields::default()
        }
    }
}

/// The fields that identify a file, from the columns of [`IDENTIFYING_COLUMNS`].
fn identifying_from_row(r: &sqlx::any::AnyRow) -> Result<PersonFields> {
    let stored = StoredIdentifying {
        pseudonym: r.try_get("pseudonym")?,
        aliases: r.try_get("aliases")?,
        birth_year: r.try_get("birth_year")?,
        age_band: r.try_get("age_band")?,
        gender: r.try_get("gender")?,
        phone: r.try_get("phone")?,
        civil_given_name: r.try_get("civil_given_name")?,
        civil_family_name: r.try_get("civil_family_name")?,
    };
    Ok(stored.fields())
}

/// The columns [`identifying_from_row`] reads.
const IDENTIFYING_COLUMNS: &str = "p.pseudonym, p.aliases, p.birth_year, p.age_band, p.gender, p.phone, p.civil_given_name, p.civil_family_name";

fn stage_from_row(r: &sqlx::any::AnyRow) -> Result<crate::retention::Stage> {
    crate::retention::Stage::from_code(&r.try_get::<String, _>("retention_stage")?).ok_or(StorageError::Corrupt("people.retention_stage"))
}

fn person_from_row(r: &sqlx::any::AnyRow) -> Result<Person> {
    Ok(Person {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        fields: PersonFields {
            territory: r.try_get("territory_id")?,
            languages: codes(&r.try_get::<String, _>("languages")?, Language::from_code, "people.languages")?,
            nationality: Some(r.try_get::<Nationality, _>("nationality")?).filter(|n| *n != Nationality::Unknown),
            situation: Some(r.try_get::<Situation, _>("situation")?).filter(|s| *s != Situation::Unknown),
            needs: codes(&r.try_get::<String, _>("needs")?, Need::from_code, "people.needs")?,
            vulnerabilities: codes(&r.try_get::<String, _>("vulnerabilities")?, Vulnerability::from_code, "people.vulnerabilities")?,
            ..identifying_from_row(r)?
        },
        household: r.try_get("household_id")?,
        active: r.try_get::<i64, _>("active")? != 0,
        exit_reason: r.try_get("exit_reason")?,
        exit_at: ts(r.try_get("exit_at")?),
        last_contact_at: ts(r.try_get("last_contact_at")?),
        stage: stage_from_row(r)?,
        created_by: r.try_get("created_by")?,
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
    q.bind(f.territory)
        .bind(f.pseudonym.clone())
        .bind(aliases_text(f))
        .bind(f.birth_year.map(i64::from))
        .bind(f.age_band)
        .bind(f.gender.unwrap_or(Gender::Unknown))
        .bind(join_codes(&f.languages))
        .bind(f.nationality.unwrap_or(Nationality::Unknown))
        .bind(f.situation.unwrap_or(Situation::Unknown))
        .bind(join_codes(&f.needs))
        .bind(join_codes(&f.vulnerabilities))
        .bind(f.phone.clone())
        .bind(f.civil_given_name.clone())
        .bind(f.civil_family_name.clone())
}

/// The columns of what a file says, bound by [`bind_fields`].
const FIELD_COLUMNS: [&str; 14] = [
    "territory_id",
    "pseudonym",
    "aliases",
    "birth_year",
    "age_band",
    "gender",
    "languages",
    "nationality",
    "situation",
    "needs",
    "vulnerabilities",
    "phone",
    "civil_given_name",
    "civil_family_name",
];

/// Creates a person file.
pub async fn create(tx: &mut Tx, organisation: OrganisationId, f: &PersonFields, by: UserId, now: Timestamp) -> Result<PersonId> {
    let id = PersonId::new();
    let n = FIELD_COLUMNS.len();
    let sql = format!(
        "INSERT INTO people ({}, id, organisation_id, created_by, created_at, updated_at) VALUES ({}, ${}, ${}, ${}, ${}, ${})",
        FIELD_COLUMNS.join(", "),
        placeholders(n),
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 4
    );
    bind_fields(sqlx::query(&sql), f).bind(id).bind(organisation).bind(by).bind(now.as_micros()).execute(&mut **tx).await.classify()?;
    Ok(id)
}

/// Replaces what a file says, if nobody changed it since `version`.
pub async fn update(tx: &mut Tx, id: PersonId, f: &PersonFields, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::People, id, version, now).await?;
    let sets: Vec<String> = FIELD_COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
    let sql = format!("UPDATE people SET {} WHERE id = ${}", sets.join(", "), FIELD_COLUMNS.len() + 1);
    bind_fields(sqlx::query(&sql), f).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Erases the identifying data of a file (after its consent was withdrawn).
pub async fn clear_identifying(tx: &mut Tx, id: PersonId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE people SET phone = NULL, civil_given_name = NULL, civil_family_name = NULL, version = version + 1, updated_at = $1 WHERE id = $2")
        .bind(now.as_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One person, if in the scope ([`StorageError::NotFound`] otherwise).
pub async fn get(db: &Db, scope: &Scope, id: PersonId) -> Result<Person> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = readable_files(scope, &mut p);
    let sql = format!("SELECT {PERSON_COLUMNS} FROM people p WHERE p.id = {id} AND {readable}");
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    person_from_row(&row)
}

/// These people (those that exist and are in the scope), in the order of their ids.
pub async fn get_many(db: &Db, scope: &Scope, ids: &[PersonId]) -> Result<Vec<Person>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(200) {
        let mut p = Params::new();
        let list = push_ids(&mut p, chunk);
        let readable = readable_files(scope, &mut p);
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people p WHERE p.id IN ({list}) AND {readable}");
        for row in p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await? {
            out.push(person_from_row(&row)?);
        }
    }
    out.sort_by_key(|p| p.id);
    out.dedup_by_key(|p| p.id);
    Ok(out)
}

/// Filters of the list of people.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only people in the active list (true) or only those who left it (false).
    pub active: Option<bool>,
    /// Only the files of this organisation.
    pub organisation: Option<OrganisationId>,
    /// Only people in no household.
    pub without_household: bool,
    /// One window of the list (a page, a short pick list); `None`: every one.
    pub window: Option<Window>,
}

/// The condition of a list of people.
fn filter_sql(scope: &Scope, f: &Filter, p: &mut Params) -> String {
    let mut conditions = vec![readable_files(scope, p)];
    if let Some(active) = f.active {
        conditions.push(if active { "p.active = 1".to_owned() } else { "p.active = 0".to_owned() });
    }
    if let Some(o) = f.organisation {
        conditions.push(format!("p.organisation_id = {}", p.push_id(o)));
    }
    if f.without_household {
        conditions.push("p.household_id IS NULL".to_owned());
    }
    conditions.join(" AND ")
}

/// The order of every list of people: most recently met (else created) first.
const RECENT_FIRST: &str = "COALESCE(p.last_contact_at, p.created_at) DESC, p.id";

/// The people in the scope matching the filter, most recently met first
/// (the filter's window of them).
pub async fn list(db: &Db, scope: &Scope, f: &Filter) -> Result<Vec<Person>> {
    let mut p = Params::new();
    let cond = filter_sql(scope, f, &mut p);
    let window = f.window.map(|w| w.sql(&mut p)).unwrap_or_default();
    let sql = format!("SELECT {PERSON_COLUMNS} FROM people p WHERE {cond} ORDER BY {RECENT_FIRST}{window}");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(person_from_row).collect()
}

/// How many people in the scope match the filter (its window left out).
pub async fn count(db: &Db, scope: &Scope, f: &Filter) -> Result<i64> {
    let mut p = Params::new();
    let cond = filter_sql(scope, f, &mut p);
    Ok(p.bind_scalar(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM people p WHERE {cond}"))).fetch_one(db.pool()).await?)
}

/// The names of the people in the scope matching the filter (its window
/// left out), most recently met first: the id, the pseudonym and the
/// aliases, for a search by name done by the caller.
pub async fn names(db: &Db, scope: &Scope, f: &Filter) -> Result<Vec<(PersonId, String, Vec<String>)>> {
    let mut p = Params::new();
    let cond = filter_sql(scope, f, &mut p);
    let sql = format!("SELECT p.id, p.pseudonym, p.aliases FROM people p WHERE {cond} ORDER BY {RECENT_FIRST}");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("pseudonym")?, split_aliases(&r.try_get::<String, _>("aliases")?)))).collect()
}

/// The archived files of an organisation whose pseudonym, an alias or a
/// civil name holds `text` (case-insensitive), at most `limit`, most recently
/// archived first. For the restricted archive only: the application checked
/// the reader and the reason and passes a scope it named for it; the scope
/// still applies.
pub async fn archived_matching(db: &Db, scope: &Scope, organisation: OrganisationId, text: &str, limit: i64) -> Result<Vec<Person>> {
    let mut p = Params::new();
    let readable = readable_files(scope, &mut p);
    let org = p.push_id(organisation);
    let like = p.push(format!("%{}%", text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    let limit = p.push(limit);
    let matches = ["p.pseudonym", "p.aliases", "p.civil_given_name", "p.civil_family_name"]
        .iter()
        .map(|c| format!("LOWER(COALESCE({c}, '')) LIKE {like} ESCAPE '\\'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM people p WHERE {readable} AND p.organisation_id = {org} AND p.retention_stage = 'archived' AND ({matches}) \
         ORDER BY p.retention_stage_at DESC, p.id LIMIT {limit}"
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(person_from_row).collect()
}

/// Every person in the scope, in id order, every field (the duplicate
/// index reads only what identifies a file: [`all_identifying`]).
pub async fn all(db: &Db, scope: &Scope) -> Result<Vec<Person>> {
    let mut p = Params::new();
    let readable = readable_files(scope, &mut p);
    let rows = p.bind(sqlx::query(&format!("SELECT {PERSON_COLUMNS} FROM people p WHERE {readable} ORDER BY p.id"))).fetch_all(db.pool()).await?;
    rows.iter().map(person_from_row).collect()
}

/// What identifies a file, for duplicate detection: its id, its stage and,
/// of its fields, only the names (pseudonym, aliases, civil names), the
/// birth year or age band, the gender and the phone — the others are left
/// empty. Every file in the scope (the duplicate index is built from every
/// file, with an instance scope), in no order: ten columns of the
/// twenty-six a file reads (decision 112), as [`IdentifyingFiles`] to be
/// decoded where the caller chooses.
///
/// The files come as JSON, one row per chunk of [`IDENTIFYING_CHUNK`] in
/// the order of their ids (decision 117): one row per file cost more than
/// the reading itself (100,000 rows each handed from SQLite's thread to the
/// async threads and decoded there at the pages' priority: 1.2 s against
/// the database's 0.13 s for the same files as JSON), and the duplicate
/// index decodes them on its own thread, at a lower priority.
pub async fn all_identifying(db: &Db, scope: &Scope) -> Result<IdentifyingFiles> {
    all_identifying_by(db, scope, IDENTIFYING_CHUNK).await
}

/// [`all_identifying`] in chunks of `chunk` files (tests read small chunks).
pub async fn all_identifying_by(db: &Db, scope: &Scope, chunk: i64) -> Result<IdentifyingFiles> {
    let (group, array) = match db.backend() {
        crate::Backend::Sqlite => ("json_group_array", "json_array"),
        crate::Backend::Postgres => ("json_agg", "json_build_array"),
    };
    let mut chunks = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut p = Params::new();
        let readable = readable_files(scope, &mut p);
        let after_id = match &after {
            Some(id) => format!("p.id > {}", p.push(id.clone())),
            None => "1 = 1".to_owned(),
        };
        let limit = p.push(chunk);
        let sql = format!(
            "SELECT CAST({group}({array}(f.id, f.retention_stage, f.pseudonym, f.aliases, f.birth_year, f.age_band, f.gender, f.phone, \
             f.civil_given_name, f.civil_family_name)) AS TEXT) AS files, COUNT(*) AS n, MAX(f.id) AS last \
             FROM (SELECT p.id, p.retention_stage, {IDENTIFYING_COLUMNS} FROM people p WHERE {readable} AND {after_id} ORDER BY p.id LIMIT {limit}) f"
        );
        let row = p.bind(sqlx::query(&sql)).fetch_one(db.pool()).await?;
        let n: i64 = row.try_get("n")?;
        if n > 0 {
            chunks.push(row.try_get::<String, _>("files")?);
        }
        if n < chunk {
            return Ok(IdentifyingFiles(chunks));
        }
        after = row.try_get("last")?;
    }
}

/// Files per row of [`all_identifying`] (about 2 MB of JSON).
const IDENTIFYING_CHUNK: i64 = 20_000;

/// What identifies each file of a scope, as read by [`all_identifying`].
pub struct IdentifyingFiles(Vec<String>);

/// A file as [`all_identifying`] reads it: id, stage, pseudonym, aliases,
/// birth year, age band, gender, phone, civil given and family names (the
/// coded values by their codes).
type IdentifyingJson = (PersonId, String, String, String, Option<i64>, Option<AgeBand>, Gender, Option<String>, Option<String>, Option<String>);

impl IdentifyingFiles {
    /// Each file's id, stage and identifying fields (as [`identifying_from_row`]
    /// decodes them).
    pub fn decode(&self) -> Result<Vec<(PersonId, crate::retention::Stage, PersonFields)>> {
        let mut out = Vec::new();
        for chunk in &self.0 {
            let files: Vec<IdentifyingJson> = serde_json::from_str(chunk).map_err(|_| StorageError::Corrupt("people (identifying fields)"))?;
            out.reserve(files.len());
            for (id, stage, pseudonym, aliases, birth_year, age_band, gender, phone, civil_given_name, civil_family_name) in files {
                let stored = StoredIdentifying { pseudonym, aliases, birth_year, age_band, gender, phone, civil_given_name, civil_family_name };
                let stage = crate::retention::Stage::from_code(&stage).ok_or(StorageError::Corrupt("people.retention_stage"))?;
                out.push((id, stage, stored.fields()));
            }
        }
        Ok(out)
    }
}

/// People in the scope changed at or after `since`, in id order (the
/// duplicate index catches up with writes of other instances, at each
/// lookup).
pub async fn changed_since(db: &Db, scope: &Scope, since: Timestamp) -> Result<Vec<Person>> {
    let mut p = Params::new();
    let since = p.push(since.as_micros());
    let readable = readable_files(scope, &mut p);
    // Sorted here, not in SQL: asked for the id order, SQLite walked every
    // file in the order of the primary key rather than the few changed
    // ones from the index of changes (55-86 ms at 100,000 files, each time
    // the people list was shown).
    let sql = format!("SELECT {PERSON_COLUMNS} FROM people p WHERE p.updated_at >= {since} AND {readable}");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    let mut people = rows.iter().map(person_from_row).collect::<Result<Vec<_>>>()?;
    people.sort_by_key(|p| p.id);
    Ok(people)
}

/// Marks a person changed (a link made or undone changes their merged view).
pub async fn touch(tx: &mut Tx, id: PersonId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE people SET updated_at = $1 WHERE id = $2").bind(now.as_micros()).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Takes a person out of the active list with a reason.
pub async fn leave_active_list(tx: &mut Tx, id: PersonId, reason: ExitReason, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::People, id, version, now).await?;
    sqlx::query("UPDATE people SET active = 0, exit_reason = $1, exit_at = $2 WHERE id = $3")
        .bind(reason)
        .bind(now.as_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Puts a person back in the active list.
pub async fn return_to_active_list(tx: &mut Tx, id: PersonId, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::People, id, version, now).await?;
    sqlx::query("UPDATE people SET active = 1, exit_reason = NULL, exit_at = NULL WHERE id = $1").bind(id).execute(&mut **tx).await?;
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
    .bind(id)
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

/// The health section of a person in the scope (empty if never written).
/// Call only once the health field group was allowed: the scope says which
/// files, not which sections of them.
pub async fn health(db: &Db, scope: &Scope, id: PersonId) -> Result<Health> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = readable_files(scope, &mut p);
    let sql = format!("SELECT h.flags, h.notes, h.version FROM people p LEFT JOIN person_health h ON h.person_id = p.id WHERE p.id = {id} AND {readable}");
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    match row.try_get::<Option<String>, _>("flags")? {
        None => Ok(Health::default()),
        Some(flags) => Ok(Health {
            flags: codes(&db.ring()?.open("person_health", "flags", &flags)?, HealthFlag::from_code, "person_health.flags")?,
            notes: db.ring()?.open("person_health", "notes", &row.try_get::<Option<String>, _>("notes")?.unwrap_or_default())?,
            version: row.try_get::<Option<i64>, _>("version")?.unwrap_or_default(),
        }),
    }
}

/// Writes the health section, if nobody changed it since `version` (0: new).
pub async fn set_health(tx: &mut Tx, id: PersonId, flags: &[HealthFlag], notes: &str, by: UserId, version: i64, now: Timestamp) -> Result<()> {
    let ring = tx.ring()?;
    let (flags, notes) = (ring.seal("person_health", "flags", &join_codes(flags))?, ring.seal("person_health", "notes", notes)?);
    let done = if version == 0 {
        sqlx::query(
            "INSERT INTO person_health (person_id, flags, notes, updated_by, updated_at, version) SELECT $1, $2, $3, $4, $5, 1 \
             WHERE NOT EXISTS (SELECT 1 FROM person_health WHERE person_id = $1)",
        )
        .bind(id)
        .bind(&flags)
        .bind(&notes)
        .bind(by)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?
    } else {
        sqlx::query(
            "UPDATE person_health SET flags = $1, notes = $2, updated_by = $3, updated_at = $4, version = version + 1 \
             WHERE person_id = $5 AND version = $6",
        )
        .bind(&flags)
        .bind(&notes)
        .bind(by)
        .bind(now.as_micros())
        .bind(id)
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
    .bind(person)
    .bind(organisation)
    .bind(b(c.terms.told_purpose))
    .bind(b(c.terms.told_access))
    .bind(b(c.terms.told_rights))
    .bind(b(c.terms.agrees_identifying))
    .bind(b(c.terms.agrees_sharing))
    .bind(c.language)
    .bind(b(c.interpreter))
    .bind(c.given_at.as_micros())
    .bind(by)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    touch(tx, person, now).await?;
    Ok(id)
}

/// Every consent record of a person in the scope, newest first (withdrawn
/// ones included); none for a person outside it.
pub async fn consents(db: &Db, scope: &Scope, person: PersonId) -> Result<Vec<Consent>> {
    let mut p = Params::new();
    let person = p.push_id(person);
    let readable = readable_files(scope, &mut p);
    let sql = format!(
        "SELECT c.id, c.person_id, c.organisation_id, c.told_purpose, c.told_access, c.told_rights, c.agrees_identifying, c.agrees_sharing, \
         c.language, c.interpreter, c.given_at, c.recorded_by, u.display_name, c.recorded_at, c.withdrawn_at FROM consents c \
         JOIN users u ON u.id = c.recorded_by JOIN people p ON p.id = c.person_id WHERE c.person_id = {person} AND {readable} \
         ORDER BY c.recorded_at DESC, c.id DESC"
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let flag = |c: &str| -> Result<bool> { Ok(r.try_get::<i64, _>(c)? != 0) };
            Ok(Consent {
                id: r.try_get("id")?,
                person: r.try_get("person_id")?,
                organisation: r.try_get("organisation_id")?,
                terms: ConsentTerms {
                    told_purpose: flag("told_purpose")?,
                    told_access: flag("told_access")?,
                    told_rights: flag("told_rights")?,
                    agrees_identifying: flag("agrees_identifying")?,
                    agrees_sharing: flag("agrees_sharing")?,
                },
                language: r.try_get("language")?,
                interpreter: flag("interpreter")?,
                given_at: Timestamp::from_micros(r.try_get("given_at")?),
                recorded_by: r.try_get("recorded_by")?,
                recorded_by_name: r.try_get("display_name")?,
                recorded_at: Timestamp::from_micros(r.try_get("recorded_at")?),
                withdrawn_at: ts(r.try_get("withdrawn_at")?),
            })
        })
        .collect()
}

/// The consent in force: the newest one not withdrawn.
pub async fn current_consent(db: &Db, scope: &Scope, person: PersonId) -> Result<Option<Consent>> {
    Ok(consents(db, scope, person).await?.into_iter().find(|c| c.withdrawn_at.is_none()))
}

/// Withdraws every consent in force of a person; returns how many.
pub async fn withdraw_consents(tx: &mut Tx, person: PersonId, by: UserId, now: Timestamp) -> Result<u64> {
    let done = sqlx::query("UPDATE consents SET withdrawn_at = $1, withdrawn_by = $2 WHERE person_id = $3 AND withdrawn_at IS NULL")
        .bind(now.as_micros())
        .bind(by)
        .bind(person)
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
    /// The stored code.
    pub fn code(self) -> &'static str {
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
    .bind(person)
    .bind(organisation)
    .bind(basis.code())
    .bind(consent.map(str::to_owned))
    .bind(referral)
    .bind(by)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    touch(tx, person, now).await?;
    Ok(id)
}

/// Whether a referral share of this referral exists already (in the
/// transaction that may add it).
pub async fn referral_shared(tx: &mut Tx, person: PersonId, referral: ReferralId) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM person_shares WHERE person_id = $1 AND basis = 'referral' AND referral_id = $2 AND revoked_at IS NULL")
            .bind(person)
            .bind(referral)
            .fetch_one(&mut **tx)
            .await?;
    Ok(n > 0)
}

/// The shares in force of a person in the scope, of every basis (none for a
/// person outside it).
pub async fn shares(db: &Db, scope: &Scope, person: PersonId) -> Result<Vec<Share>> {
    let mut p = Params::new();
    let person = p.push_id(person);
    let readable = readable_files(scope, &mut p);
    let sql = format!(
        "SELECT sh.id, sh.person_id, sh.organisation_id, o.name, sh.basis, sh.referral_id, sh.created_at FROM person_shares sh \
         JOIN organisations o ON o.id = sh.organisation_id JOIN people p ON p.id = sh.person_id \
         WHERE sh.person_id = {person} AND sh.revoked_at IS NULL AND {readable} ORDER BY sh.created_at, sh.id"
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Share {
                id: r.try_get("id")?,
                person: r.try_get("person_id")?,
                organisation: r.try_get("organisation_id")?,
                organisation_name: r.try_get("name")?,
                basis: match r.try_get::<String, _>("basis")?.as_str() {
                    "consent" => ShareBasis::Consent,
                    "referral" => ShareBasis::Referral,
                    _ => return Err(StorageError::Corrupt("person_shares.basis")),
                },
                referral: r.try_get("referral_id")?,
                created_at: Timestamp::from_micros(r.try_get("created_at")?),
            })
        })
        .collect()
}

/// The organisations a file in the scope is shared with by consent (they read the file).
pub async fn consent_shares(db: &Db, scope: &Scope, person: PersonId) -> Result<BTreeSet<OrganisationId>> {
    Ok(shares(db, scope, person).await?.into_iter().filter(|s| s.basis == ShareBasis::Consent).map(|s| s.organisation).collect())
}

/// Ends the consent shares of a person with `organisation` (all of them when
/// `None`, as when consent is withdrawn); returns how many.
pub async fn revoke_consent_shares(tx: &mut Tx, person: PersonId, organisation: Option<OrganisationId>, by: UserId, now: Timestamp) -> Result<u64> {
    let mut sql = String::from("UPDATE person_shares SET revoked_at = $1, revoked_by = $2 WHERE person_id = $3 AND basis = 'consent' AND revoked_at IS NULL");
    if organisation.is_some() {
        sql.push_str(" AND organisation_id = $4");
    }
    let mut q = sqlx::query(&sql).bind(now.as_micros()).bind(by).bind(person);
    if let Some(o) = organisation {
        q = q.bind(o);
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
        a: r.try_get("person_a")?,
        b: r.try_get("person_b")?,
        agreements: serde_json::from_str(&agreements).map_err(|_| StorageError::Corrupt("person_links.agreements"))?,
        linked_by: r.try_get("linked_by")?,
        linked_at: Timestamp::from_micros(r.try_get("linked_at")?),
        unlinked_at: ts(r.try_get("unlinked_at")?),
    })
}

/// Links two records (both histories are kept; nothing is merged). `false`:
/// they were already linked.
pub async fn link(tx: &mut Tx, a: PersonId, b: PersonId, agreements: &[String], by: UserId, now: Timestamp) -> Result<bool> {
    let (x, y) = pair(a, b);
    if pair_known(tx, "SELECT COUNT(*) FROM person_links WHERE person_a = $1 AND person_b = $2 AND unlinked_at IS NULL", x, y).await? {
        return Ok(false);
    }
    sqlx::query("INSERT INTO person_links (id, person_a, person_b, agreements, linked_by, linked_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(x)
        .bind(y)
        .bind(serde_json::to_string(agreements).unwrap_or_else(|_| "[]".into()))
        .bind(by)
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
    let done = sqlx::query("UPDATE person_links SET unlinked_at = $1, unlinked_by = $2 WHERE person_a = $3 AND person_b = $4 AND unlinked_at IS NULL")
        .bind(now.as_micros())
        .bind(by)
        .bind(x)
        .bind(y)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    touch(tx, a, now).await?;
    touch(tx, b, now).await?;
    Ok(true)
}

/// Every link of a person, made or undone, oldest first (ids only).
pub async fn link_history(db: &Db, person: PersonId) -> Result<Vec<Link>> {
    let rows = sqlx::query(
        "SELECT person_a, person_b, agreements, linked_by, linked_at, unlinked_at FROM person_links \
         WHERE person_a = $1 OR person_b = $1 ORDER BY linked_at, id",
    )
    .bind(person)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(link_from_row).collect()
}

/// The records directly linked to a person now (ids only).
pub async fn linked_to(db: &Db, person: PersonId) -> Result<Vec<PersonId>> {
    Ok(link_history(db, person).await?.into_iter().filter(|l| l.unlinked_at.is_none()).map(|l| if l.a == person { l.b } else { l.a }).collect())
}

/// The person's group: every record reachable through links in force,
/// itself included, in id order (the first is the oldest record). Ids only:
/// a group spans organisations and territories; read its records with a scope.
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

/// Every link in force (to build the duplicate index at start; ids only).
pub async fn active_links(db: &Db) -> Result<Vec<(PersonId, PersonId)>> {
    let rows = sqlx::query("SELECT person_a, person_b FROM person_links WHERE unlinked_at IS NULL").fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("person_a")?, r.try_get("person_b")?))).collect()
}

/// A worker's decision on a pair of records: the same person (a link in
/// force) or two people (a link undone, or a suggestion marked distinct).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub a: PersonId,
    pub b: PersonId,
    pub same: bool,
    /// When it was decided.
    pub at: Timestamp,
}

/// A mark of the pair decisions that changes whenever one is made, undone
/// or erased: how many links, how many of them undone, how many pairs marked
/// distinct, and the latest instant of each. Cheap to read (counts), it is
/// compared before [`decisions`], which reads every pair, is read again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecisionsMark([i64; 6]);

/// The pair decisions' mark now.
pub async fn decisions_mark(db: &Db) -> Result<DecisionsMark> {
    let row = sqlx::query(
        "SELECT l.n, l.undone, l.linked, l.unlinked, d.n AS distinct_n, d.decided FROM \
         (SELECT COUNT(*) AS n, COUNT(unlinked_at) AS undone, COALESCE(MAX(linked_at), 0) AS linked, COALESCE(MAX(unlinked_at), 0) AS unlinked FROM person_links) l, \
         (SELECT COUNT(*) AS n, COALESCE(MAX(decided_at), 0) AS decided FROM person_distinct_pairs) d",
    )
    .fetch_one(db.pool())
    .await?;
    let mut mark = [0; 6];
    for (i, column) in ["n", "undone", "linked", "unlinked", "distinct_n", "decided"].into_iter().enumerate() {
        mark[i] = row.try_get(column)?;
    }
    Ok(DecisionsMark(mark))
}

/// Every pair decision of the instance, the latest per pair only, oldest
/// first (ids only: read the records with a scope). The labels the duplicate
/// model learns from.
pub async fn decisions(db: &Db) -> Result<Vec<Decision>> {
    let mut all: Vec<Decision> = Vec::new();
    let rows = sqlx::query("SELECT person_a, person_b, linked_at, unlinked_at FROM person_links").fetch_all(db.pool()).await?;
    for r in &rows {
        let unlinked: Option<i64> = r.try_get("unlinked_at")?;
        let linked: i64 = r.try_get("linked_at")?;
        all.push(Decision {
            a: r.try_get("person_a")?,
            b: r.try_get("person_b")?,
            same: unlinked.is_none(),
            at: Timestamp::from_micros(unlinked.unwrap_or(linked)),
        });
    }
    let rows = sqlx::query("SELECT person_a, person_b, decided_at FROM person_distinct_pairs").fetch_all(db.pool()).await?;
    for r in &rows {
        all.push(Decision { a: r.try_get("person_a")?, b: r.try_get("person_b")?, same: false, at: Timestamp::from_micros(r.try_get("decided_at")?) });
    }
    all.sort_by_key(|d| (d.a, d.b, d.at));
    let mut latest: Vec<Decision> = Vec::with_capacity(all.len());
    for d in all {
        match latest.last_mut() {
            Some(l) if l.a == d.a && l.b == d.b => *l = d,
            _ => latest.push(d),
        }
    }
    latest.sort_by_key(|d| d.at);
    Ok(latest)
}

/// Records that two people are not the same (no longer suggested). `false`:
/// already recorded.
pub async fn mark_distinct(tx: &mut Tx, a: PersonId, b: PersonId, by: UserId, now: Timestamp) -> Result<bool> {
    let (x, y) = pair(a, b);
    if pair_known(tx, "SELECT COUNT(*) FROM person_distinct_pairs WHERE person_a = $1 AND person_b = $2", x, y).await? {
        return Ok(false);
    }
    sqlx::query("INSERT INTO person_distinct_pairs (id, person_a, person_b, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(x)
        .bind(y)
        .bind(by)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    Ok(true)
}

/// The people judged distinct from `person` (ids only).
pub async fn distinct_from(db: &Db, person: PersonId) -> Result<BTreeSet<PersonId>> {
    let rows =
        sqlx::query("SELECT person_a, person_b FROM person_distinct_pairs WHERE person_a = $1 OR person_b = $1").bind(person).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let a: PersonId = r.try_get("person_a")?;
            let b: PersonId = r.try_get("person_b")?;
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
    let body = if crate::field_keys::group_sealed(group) { tx.ring()?.seal("person_notes", "body", body)? } else { body.to_owned() };
    sqlx::query("INSERT INTO person_notes (id, person_id, author_id, at, field_group, body) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(person)
        .bind(author)
        .bind(now.as_micros())
        .bind(group.map(|g| g.code()))
        .bind(&body)
        .execute(&mut **tx)
        .await?;
    touch(tx, person, now).await
}

/// The notes of these files (a merged view) that are in the scope, oldest
/// first; health notes only when `with_health`.
pub async fn notes(db: &Db, scope: &Scope, people: &[PersonId], with_health: bool) -> Result<Vec<Note>> {
    let mut out = Vec::new();
    for chunk in people.chunks(200) {
        let mut p = Params::new();
        let list = push_ids(&mut p, chunk);
        let readable = readable_files(scope, &mut p);
        let health = if with_health { "" } else { " AND n.field_group IS NULL" };
        let sql = format!(
            "SELECT n.person_id, n.at, u.display_name, n.field_group, n.body FROM person_notes n JOIN users u ON u.id = n.author_id \
             JOIN people p ON p.id = n.person_id WHERE n.person_id IN ({list}){health} AND {readable} ORDER BY n.at, n.id"
        );
        for r in &p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await? {
            let group = r.try_get::<Option<String>, _>("field_group")?.map(|g| code(&g, FieldGroup::from_code, "person_notes.field_group")).transpose()?;
            out.push(Note {
                person: r.try_get("person_id")?,
                at: Timestamp::from_micros(r.try_get("at")?),
                author: r.try_get("display_name")?,
                body: if crate::field_keys::group_sealed(group) {
                    db.ring()?.open("person_notes", "body", &r.try_get::<String, _>("body")?)?
                } else {
                    r.try_get("body")?
                },
                field_group: group,
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

/// Where households keep what the read rules look at (see
/// `veille_app::people::household_resource`): the owning organisation, no
/// territory (its members' files have theirs), shared with the organisations
/// a member's file is shared with by consent. Rows are read as `households h`.
pub const HOUSEHOLD_COLUMNS: RecordColumns<'static> = RecordColumns {
    organisation: "h.organisation_id",
    territory: None,
    case: None,
    shared_with: Some(Shared::Exists(
        "EXISTS (SELECT 1 FROM people m JOIN person_shares s ON s.person_id = m.id WHERE m.household_id = h.id AND s.basis = 'consent' \
         AND s.revoked_at IS NULL AND s.organisation_id = {org})",
    )),
};

/// Creates a household.
pub async fn create_household(tx: &mut Tx, organisation: OrganisationId, kind: HouseholdKind, children: &[i32], now: Timestamp) -> Result<HouseholdId> {
    let id = HouseholdId::new();
    sqlx::query("INSERT INTO households (id, organisation_id, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
        .bind(id)
        .bind(organisation)
        .bind(kind)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    set_children(tx, id, children, now).await?;
    Ok(id)
}

async fn set_children(tx: &mut Tx, id: HouseholdId, children: &[i32], now: Timestamp) -> Result<()> {
    sqlx::query("DELETE FROM household_children WHERE household_id = $1").bind(id).execute(&mut **tx).await?;
    for year in children {
        sqlx::query("INSERT INTO household_children (id, household_id, birth_year, created_at) VALUES ($1, $2, $3, $4)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(id)
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
    sqlx::query("UPDATE households SET kind = $1 WHERE id = $2").bind(kind).bind(id).execute(&mut **tx).await?;
    set_children(tx, id, children, now).await
}

/// One household, if in the scope ([`StorageError::NotFound`] otherwise).
pub async fn household(db: &Db, scope: &Scope, id: HouseholdId) -> Result<Household> {
    let mut p = Params::new();
    let placeholder = p.push_id(id);
    let readable = scope.records(&HOUSEHOLD_COLUMNS, &mut p);
    let sql = format!("SELECT h.id, h.organisation_id, h.kind, h.version FROM households h WHERE h.id = {placeholder} AND {readable}");
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    let years: Vec<i64> =
        sqlx::query_scalar("SELECT birth_year FROM household_children WHERE household_id = $1 ORDER BY birth_year, id").bind(id).fetch_all(db.pool()).await?;
    Ok(Household {
        id,
        organisation: row.try_get("organisation_id")?,
        kind: row.try_get("kind")?,
        children: years.into_iter().map(|y| y as i32).collect(),
        version: row.try_get("version")?,
    })
}

/// The people of a household that are in the scope.
pub async fn household_members(db: &Db, scope: &Scope, id: HouseholdId) -> Result<Vec<Person>> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = readable_files(scope, &mut p);
    let sql = format!("SELECT {PERSON_COLUMNS} FROM people p WHERE p.household_id = {id} AND {readable} ORDER BY p.id");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(person_from_row).collect()
}

/// Puts a person in a household (or out of any, with `None`).
pub async fn set_household(tx: &mut Tx, person: PersonId, household: Option<HouseholdId>, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE people SET household_id = $1, version = version + 1, updated_at = $2 WHERE id = $3")
        .bind(household)
        .bind(now.as_micros())
        .bind(person)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_values_pushed() {
        assert_eq!(placeholders(3), "$1, $2, $3");
        let mut p = Params::new();
        p.push(1_i64);
        assert_eq!(push_ids(&mut p, &[PersonId::new(), PersonId::new()]), "$2, $3");
    }
}
