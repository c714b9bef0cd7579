//! Follow-up actions: of a case's action plan or of a dwelling check, with
//! an owner organisation of the instance or a partner named in words who
//! answers through an expiring link with a code given orally (stored hashed,
//! as referrals do), a deadline, a status and a result.
//!
//! Every function that returns actions takes the caller's [`Scope`] with
//! [`ACTION_COLUMNS`]: an action belongs to the organisation that wrote it,
//! lies in its record's territory, belongs to its case (the case team reads
//! it) and is shared with its owner organisation.

use sqlx::Row;
use veille_domain::shelter::{ActionStatus, Night};
use veille_domain::{ActionId, CaseId, OrganisationId, TerritoryId, Timestamp, UserId};

use crate::db::{claim, Db, Tx, Versioned};
use crate::error::{Result, StorageError};
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns, Shared};

fn night(v: Option<i64>) -> Option<Night> {
    v.map(Night::from_days)
}

/// Where actions keep what the read rules look at: the organisation that
/// wrote them and their record's territory, shared with the owner organisation.
pub const ACTION_COLUMNS: RecordColumns<'static> = RecordColumns {
    organisation: "a.organisation_id",
    territory: Some("a.territory_id"),
    case: Some("a.case_id"),
    shared_with: Some(Shared::Column("a.owner_organisation_id")),
};

/// A follow-up action.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FollowUp {
    /// Id.
    pub id: ActionId,
    /// Organisation that wrote it.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// The kind of record it follows.
    pub record_kind: String,
    /// That record's id.
    pub record_id: String,
    /// The case whose plan it belongs to.
    pub case: Option<CaseId>,
    /// Owner organisation of the instance.
    pub owner: Option<OrganisationId>,
    /// Owner in words.
    pub owner_name: String,
    /// What to do.
    pub title: String,
    /// By when.
    pub due_on: Option<Night>,
    /// Status.
    pub status: ActionStatus,
    /// Result.
    pub result: String,
    /// Whether a partner link exists.
    pub has_link: bool,
    /// Until when the partner link works.
    pub link_expires_at: Option<Timestamp>,
    /// SHA-256 of the code given orally.
    #[serde(skip)]
    pub link_code_hash: Option<String>,
    /// Version.
    pub version: i64,
}

/// An action to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewFollowUp {
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Record kind.
    pub record_kind: String,
    /// Record id.
    pub record_id: String,
    /// The case whose plan it belongs to.
    pub case: Option<CaseId>,
    /// Owner organisation.
    pub owner: Option<OrganisationId>,
    /// Owner in words.
    pub owner_name: String,
    /// Title.
    pub title: String,
    /// Due on.
    pub due_on: Option<Night>,
}

/// The columns an action is read from.
macro_rules! action_fields {
    () => {
        "a.id, a.organisation_id, a.territory_id, a.record_kind, a.record_id, a.owner_organisation_id, a.owner_name, a.title, \
         a.due_on, a.status, a.result, a.case_id, a.link_token_hash, a.link_expires_at, a.link_code_hash, a.version"
    };
}
const ACTION_SELECT: &str = concat!("SELECT ", action_fields!(), " FROM actions a");
const ACTION_SELECT_LEAD: &str = concat!("SELECT ", action_fields!(), ", c.lead_user_id FROM actions a JOIN cases c ON c.id = a.case_id");

fn action_row(r: &sqlx::any::AnyRow) -> Result<FollowUp> {
    Ok(FollowUp {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        record_kind: r.try_get("record_kind")?,
        record_id: r.try_get("record_id")?,
        owner: r.try_get("owner_organisation_id")?,
        owner_name: r.try_get("owner_name")?,
        title: r.try_get("title")?,
        due_on: night(r.try_get("due_on")?),
        status: r.try_get("status")?,
        result: r.try_get("result")?,
        case: r.try_get("case_id")?,
        has_link: r.try_get::<Option<String>, _>("link_token_hash")?.is_some(),
        link_expires_at: r.try_get::<Option<i64>, _>("link_expires_at")?.map(Timestamp::from_micros),
        link_code_hash: r.try_get("link_code_hash")?,
        version: r.try_get("version")?,
    })
}

/// Writes an action of `organisation`.
pub async fn create_action(tx: &mut Tx, organisation: OrganisationId, a: &NewFollowUp, by: UserId, now: Timestamp) -> Result<ActionId> {
    let id = ActionId::new();
    sqlx::query(
        "INSERT INTO actions (id, organisation_id, territory_id, record_kind, record_id, owner_organisation_id, owner_name, title, due_on, created_by, \
         created_at, updated_at, case_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(a.territory.map(|t| t.to_string()))
    .bind(a.record_kind.as_str())
    .bind(a.record_id.as_str())
    .bind(a.owner.map(|o| o.to_string()))
    .bind(a.owner_name.as_str())
    .bind(a.title.as_str())
    .bind(a.due_on.map(Night::days))
    .bind(by.to_string())
    .bind(now.as_micros())
    .bind(a.case.map(|c| c.to_string()))
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Gives an action a partner link (token and oral code stored hashed).
pub async fn set_link(tx: &mut Tx, id: ActionId, token_hash: &str, code_hash: &str, expires: Timestamp) -> Result<()> {
    sqlx::query("UPDATE actions SET link_token_hash = $1, link_code_hash = $2, link_expires_at = $3, link_failures = 0 WHERE id = $4")
        .bind(token_hash)
        .bind(code_hash)
        .bind(expires.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The action of a partner link, by the hash of its token, if in the scope.
pub async fn by_link(db: &Db, scope: &Scope, token_hash: &str) -> Result<Option<FollowUp>> {
    let mut p = Params::new();
    let hash = p.push(token_hash);
    let readable = scope.records(&ACTION_COLUMNS, &mut p);
    let sql = format!("{ACTION_SELECT} WHERE a.link_token_hash = {hash} AND {readable}");
    p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.as_ref().map(action_row).transpose()
}

/// Reserves one code attempt on a partner link before the code is checked:
/// false once `allowed` attempts were made (concurrent attempts cannot
/// overtake the limit). A right code gives its turn back ([`link_success`]).
pub async fn reserve_link_attempt(tx: &mut Tx, id: ActionId, allowed: i64) -> Result<bool> {
    let n = sqlx::query("UPDATE actions SET link_failures = link_failures + 1 WHERE id = $1 AND link_failures < $2")
        .bind(id.to_string())
        .bind(allowed)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// A right code: the attempt reserved is given back.
pub async fn link_success(tx: &mut Tx, id: ActionId) -> Result<()> {
    sqlx::query("UPDATE actions SET link_failures = CASE WHEN link_failures > 0 THEN link_failures - 1 ELSE 0 END WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The wrong codes typed on an action's link so far.
pub async fn link_failures(db: &Db, id: ActionId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT link_failures FROM actions WHERE id = $1").bind(id.to_string()).fetch_one(db.pool()).await?)
}

/// The actions in the scope of a case, by deadline.
pub async fn of_case(db: &Db, scope: &Scope, case: CaseId) -> Result<Vec<FollowUp>> {
    let mut p = Params::new();
    let readable = scope.records(&ACTION_COLUMNS, &mut p);
    let c = p.push_id(case);
    let sql = format!("{ACTION_SELECT} WHERE {readable} AND a.case_id = {c} ORDER BY a.created_at, a.id");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(action_row).collect()
}

/// The actions in the scope following one record, oldest first.
pub async fn actions_of(db: &Db, scope: &Scope, record_kind: &str, record_id: &str) -> Result<Vec<FollowUp>> {
    let mut p = Params::new();
    let readable = scope.records(&ACTION_COLUMNS, &mut p);
    let (k, i) = (p.push(record_kind), p.push(record_id));
    let sql = format!("{ACTION_SELECT} WHERE {readable} AND a.record_kind = {k} AND a.record_id = {i} ORDER BY a.created_at, a.id");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(action_row).collect()
}

/// One action in the scope.
pub async fn get_action(db: &Db, scope: &Scope, id: ActionId) -> Result<FollowUp> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&ACTION_COLUMNS, &mut p);
    let sql = format!("{ACTION_SELECT} WHERE a.id = {id} AND {readable}");
    action_row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// Open actions in the scope due before `today`, oldest deadline first.
pub async fn overdue_actions(db: &Db, scope: &Scope, today: Night) -> Result<Vec<FollowUp>> {
    let mut p = Params::new();
    let readable = scope.records(&ACTION_COLUMNS, &mut p);
    let today = p.push(today.days());
    let sql = format!("{ACTION_SELECT} WHERE {readable} AND a.status IN ('todo', 'in_progress', 'blocked') AND a.due_on < {today} ORDER BY a.due_on, a.id");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(action_row).collect()
}

/// Open actions in the scope (of case plans and dwelling checks), by deadline (none last).
pub async fn open_actions(db: &Db, scope: &Scope) -> Result<Vec<FollowUp>> {
    let mut p = Params::new();
    let readable = scope.records(&ACTION_COLUMNS, &mut p);
    let sql = format!(
        "{ACTION_SELECT} WHERE {readable} AND a.status IN ('todo', 'in_progress', 'blocked') \
         ORDER BY CASE WHEN a.due_on IS NULL THEN 1 ELSE 0 END, a.due_on, a.created_at, a.id"
    );
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(action_row).collect()
}

/// Moves an action to a status with its result, if still at `version`.
pub async fn set_action_status(tx: &mut Tx, id: ActionId, status: ActionStatus, result: &str, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Actions, id, version, now).await?;
    sqlx::query("UPDATE actions SET status = $1, result = $2 WHERE id = $3").bind(status.code()).bind(result).bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Open actions of case plans past their deadline whose alert was not sent
/// yet (the instance's alert task), with the case's lead account.
pub async fn overdue_unalerted(db: &Db, scope: &Scope, today: Night) -> Result<Vec<(FollowUp, Option<UserId>)>> {
    let mut p = Params::new();
    let readable = scope.records(&ACTION_COLUMNS, &mut p);
    let today = p.push(today.days());
    let sql = format!(
        "{ACTION_SELECT_LEAD} WHERE {readable} AND a.case_id IS NOT NULL AND a.alerted_at IS NULL AND a.status IN ('todo', 'in_progress', 'blocked') \
         AND a.due_on < {today} ORDER BY a.due_on, a.id"
    );
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(|r| Ok((action_row(r)?, r.try_get("lead_user_id")?))).collect()
}

/// Marks an action's overdue alert sent; false when another instance did.
pub async fn mark_alerted(tx: &mut Tx, id: ActionId, now: Timestamp) -> Result<bool> {
    let n = sqlx::query("UPDATE actions SET alerted_at = $1 WHERE id = $2 AND alerted_at IS NULL")
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}
