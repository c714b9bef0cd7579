//! Complex cases: the case, the people it concerns, its team (accounts of
//! several organisations: `case_members`, read into every account's grants),
//! its dated evaluations by domain. Its action plan is `crate::actions` with
//! `case_id` set; its timeline is `crate::timeline` (record kind `case`).
//!
//! Every function that returns cases takes the caller's [`Scope`] with
//! [`CASE_COLUMNS`]: a case belongs to its lead organisation, lies in its
//! territory, and is its own case (its team reads it, whatever their
//! organisation).

use sqlx::Row;
use veille_domain::cases::{CaseOrigin, CaseOutcome, EvaluationDomain};
use veille_domain::shelter::Night;
use veille_domain::{CaseId, FieldGroup, OrganisationId, PersonId, TerritoryId, Timestamp, UserId};

use crate::db::{claim, Db, Tx, Versioned};
use crate::error::{Result, StorageError};
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns};

/// Where cases keep what the read rules look at.
pub const CASE_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "c.organisation_id", territory: Some("c.territory_id"), case: Some("c.id"), shared_with: None };

/// A case.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Case {
    /// Id.
    pub id: CaseId,
    /// Lead organisation.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Title (no civil name: "Famille R., campement du canal").
    pub title: String,
    /// Where it was opened from.
    pub origin: CaseOrigin,
    /// The report, site or person it was opened from.
    pub origin_id: Option<String>,
    /// `open` or `closed`.
    pub status: String,
    /// How it ended.
    pub outcome: Option<CaseOutcome>,
    /// When it closed.
    pub closed_at: Option<Timestamp>,
    /// Next review.
    pub review_on: Option<Night>,
    /// The case lead.
    pub lead: Option<UserId>,
    /// Opened at.
    pub created_at: Timestamp,
    /// Version.
    pub version: i64,
}

/// A case to open.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCase {
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Title.
    pub title: String,
    /// Origin.
    pub origin: CaseOrigin,
    /// Origin id.
    pub origin_id: Option<String>,
    /// Next review.
    pub review_on: Option<Night>,
}

const SELECT: &str = "SELECT c.id, c.organisation_id, c.territory_id, c.title, c.origin_kind, c.origin_id, c.status, c.outcome, c.closed_at, c.review_on, \
    c.lead_user_id, c.created_at, c.version FROM cases c";

fn row(r: &sqlx::any::AnyRow) -> Result<Case> {
    Ok(Case {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        title: r.try_get("title")?,
        origin: r.try_get("origin_kind")?,
        origin_id: r.try_get("origin_id")?,
        status: r.try_get("status")?,
        outcome: r.try_get("outcome")?,
        closed_at: r.try_get::<Option<i64>, _>("closed_at")?.map(Timestamp::from_micros),
        review_on: r.try_get::<Option<i64>, _>("review_on")?.map(Night::from_days),
        lead: r.try_get("lead_user_id")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        version: r.try_get("version")?,
    })
}

/// Opens a case led by `organisation` and `lead` (who joins its team).
pub async fn create(tx: &mut Tx, organisation: OrganisationId, c: &NewCase, lead: UserId, now: Timestamp) -> Result<CaseId> {
    let id = CaseId::new();
    sqlx::query(
        "INSERT INTO cases (id, organisation_id, territory_id, title, origin_kind, origin_id, review_on, lead_user_id, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(c.territory.map(|t| t.to_string()))
    .bind(c.title.as_str())
    .bind(c.origin.code())
    .bind(c.origin_id.clone())
    .bind(c.review_on.map(Night::days))
    .bind(lead.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    add_member(tx, id, lead).await?;
    Ok(id)
}

/// One case in the scope.
pub async fn get(db: &Db, scope: &Scope, id: CaseId) -> Result<Case> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&CASE_COLUMNS, &mut p);
    let sql = format!("{SELECT} WHERE c.id = {id} AND {readable}");
    row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// Cases in the scope (open ones unless `all`), next review first.
pub async fn list(db: &Db, scope: &Scope, all: bool) -> Result<Vec<Case>> {
    let mut p = Params::new();
    let readable = scope.records(&CASE_COLUMNS, &mut p);
    let open = if all { "" } else { " AND c.status = 'open'" };
    let sql = format!("{SELECT} WHERE {readable}{open} ORDER BY c.status DESC, c.review_on, c.created_at DESC, c.id");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(row).collect()
}

/// Adds an account to a case's team (nothing if already there).
pub async fn add_member(tx: &mut Tx, case: CaseId, user: UserId) -> Result<()> {
    sqlx::query("INSERT INTO case_members (case_id, user_id) VALUES ($1, $2) ON CONFLICT (case_id, user_id) DO NOTHING")
        .bind(case.to_string())
        .bind(user.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Takes an account off a case's team.
pub async fn remove_member(tx: &mut Tx, case: CaseId, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM case_members WHERE case_id = $1 AND user_id = $2").bind(case.to_string()).bind(user.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// The team of a case the caller read: (account, name, organisation, organisation name).
pub async fn members(db: &Db, case: CaseId) -> Result<Vec<(UserId, String, OrganisationId, String)>> {
    let rows = sqlx::query(
        "SELECT u.id, u.display_name, u.organisation_id, o.name FROM case_members m JOIN users u ON u.id = m.user_id \
         JOIN organisations o ON o.id = u.organisation_id WHERE m.case_id = $1 ORDER BY o.name, u.display_name",
    )
    .bind(case.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("display_name")?, r.try_get("organisation_id")?, r.try_get("name")?))).collect()
}

/// Adds a person to a case (nothing if already there).
pub async fn add_person(tx: &mut Tx, case: CaseId, person: PersonId) -> Result<()> {
    sqlx::query("INSERT INTO case_people (case_id, person_id) VALUES ($1, $2) ON CONFLICT (case_id, person_id) DO NOTHING")
        .bind(case.to_string())
        .bind(person.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The people of a case the caller read.
pub async fn people(db: &Db, case: CaseId) -> Result<Vec<PersonId>> {
    let rows = sqlx::query("SELECT person_id FROM case_people WHERE case_id = $1").bind(case.to_string()).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok(r.try_get("person_id")?)).collect()
}

/// An evaluation of a case.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Domain.
    pub domain: EvaluationDomain,
    /// What was found.
    pub body: String,
    /// Its author's name.
    pub author: String,
    /// When.
    pub at: Timestamp,
}

/// Adds a dated evaluation by `author`.
pub async fn add_evaluation(tx: &mut Tx, case: CaseId, domain: EvaluationDomain, body: &str, author: UserId, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO case_evaluations (id, case_id, domain, body, field_group, author_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(case.to_string())
        .bind(domain.code())
        .bind(body)
        .bind(domain.field_group().map(FieldGroup::code))
        .bind(author.to_string())
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The evaluations of a case the caller read, newest first; those of a field
/// group only when `groups` holds it.
pub async fn evaluations(db: &Db, case: CaseId, groups: &[FieldGroup]) -> Result<Vec<Evaluation>> {
    let rows = sqlx::query(
        "SELECT e.domain, e.body, e.field_group, e.at, COALESCE(u.display_name, '') AS author FROM case_evaluations e LEFT JOIN users u ON u.id = e.author_id \
         WHERE e.case_id = $1 ORDER BY e.at DESC",
    )
    .bind(case.to_string())
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let group: Option<String> = r.try_get("field_group")?;
        if group.as_deref().and_then(FieldGroup::from_code).is_some_and(|g| !groups.contains(&g)) {
            continue;
        }
        out.push(Evaluation {
            domain: r.try_get("domain")?,
            body: r.try_get("body")?,
            author: r.try_get("author")?,
            at: Timestamp::from_micros(r.try_get("at")?),
        });
    }
    Ok(out)
}

/// Closes a case with its outcome, or reopens it (`outcome` none), if still at `version`.
pub async fn set_closed(tx: &mut Tx, case: CaseId, outcome: Option<CaseOutcome>, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Cases, case, version, now).await?;
    let (status, at) = match outcome {
        Some(_) => ("closed", Some(now.as_micros())),
        None => ("open", None),
    };
    sqlx::query("UPDATE cases SET status = $1, outcome = $2, closed_at = $3 WHERE id = $4")
        .bind(status)
        .bind(outcome.map(|o| o.code()))
        .bind(at)
        .bind(case.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets a case's next review, if still at `version`.
pub async fn set_review(tx: &mut Tx, case: CaseId, review: Option<Night>, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Cases, case, version, now).await?;
    sqlx::query("UPDATE cases SET review_on = $1 WHERE id = $2").bind(review.map(Night::days)).bind(case.to_string()).execute(&mut **tx).await?;
    Ok(())
}
