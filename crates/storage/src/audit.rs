//! The append-only, hash-chained audit log.
//!
//! An entry is written in the same transaction as the change it records (no
//! change without its entry), but without its place in the chain: writers only
//! insert a row, so they never wait for one another. The sealer ([`seal`]),
//! run by the server a few times a second and before every read of the log,
//! takes the committed entries not yet chained, in the order it finds them,
//! and gives each its sequence number, the previous entry's hash and its own
//! hash (SHA-256 over the previous hash and the row), moving the single
//! `audit_head` row forward in the same transaction. Sealers serialise on that
//! row (row lock on PostgreSQL, write lock on SQLite), so the chain never
//! forks; business transactions no longer do. [`verify`] walks the chain and
//! compares its end with the head: it finds an edited or removed entry once it
//! is sealed. The trade-off: an entry is not protected by the chain in the
//! moment between its commit and its sealing (docs/decisions.md).

use sha2::{Digest, Sha256};
use sqlx::Row;
use veille_domain::{OrganisationId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::Result;
use crate::sql::Params;

/// One audit entry to append. `detail` is a small JSON object that never holds
/// personal data (identifiers and field names only).
#[derive(Clone, Debug)]
pub struct NewEntry<'a> {
    /// When.
    pub at: Timestamp,
    /// Who (none for the system or an anonymous visitor).
    pub actor_user: Option<UserId>,
    /// From which organisation.
    pub actor_organisation: Option<OrganisationId>,
    /// What: `read`, `create`, `update`, `delete`, `login`, `login_failed`…
    pub action: &'a str,
    /// The kind of record: `account`, `organisation`, `team`, `territory`…
    pub record_kind: &'a str,
    /// The record's identifier.
    pub record_id: Option<String>,
    /// The organisation owning the record.
    pub record_organisation: Option<OrganisationId>,
    /// Field names changed and similar non-personal detail.
    pub detail: serde_json::Value,
}

impl<'a> NewEntry<'a> {
    /// An entry by `actor` (account, organisation) about a record, with empty detail.
    pub fn about(
        at: Timestamp,
        actor: Option<(UserId, OrganisationId)>,
        action: &'a str,
        record_kind: &'a str,
        record_id: Option<String>,
        record_organisation: Option<OrganisationId>,
    ) -> Self {
        Self {
            at,
            actor_user: actor.map(|a| a.0),
            actor_organisation: actor.map(|a| a.1),
            action,
            record_kind,
            record_id,
            record_organisation,
            detail: serde_json::json!({}),
        }
    }

    /// The same entry with non-personal detail (field names, counts, codes).
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// A stored entry.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor_user: Option<String>,
    /// From which organisation.
    pub actor_organisation: Option<String>,
    /// What.
    pub action: String,
    /// Kind of record.
    pub record_kind: String,
    /// Record id.
    pub record_id: Option<String>,
    /// Owning organisation of the record.
    pub record_organisation: Option<String>,
    /// Detail (JSON text).
    pub detail: String,
    /// Previous hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

fn digest(prev: &str, seq: i64, e: &Entry) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        &e.at.as_micros().to_string(),
        e.actor_user.as_deref().unwrap_or(""),
        e.actor_organisation.as_deref().unwrap_or(""),
        &e.action,
        &e.record_kind,
        e.record_id.as_deref().unwrap_or(""),
        e.record_organisation.as_deref().unwrap_or(""),
        &e.detail,
    ] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

/// Appends an entry inside the caller's transaction: one INSERT, no lock on
/// anything another writer needs. The sealer chains it after commit.
pub async fn append(tx: &mut Tx, new: NewEntry<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_user_id, actor_organisation_id, action, record_kind, record_id, \
         record_organisation_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(new.at.as_micros())
    .bind(new.actor_user.map(|u| u.to_string()))
    .bind(new.actor_organisation.map(|o| o.to_string()))
    .bind(new.action)
    .bind(new.record_kind)
    .bind(new.record_id)
    .bind(new.record_organisation.map(|o| o.to_string()))
    .bind(new.detail.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends an entry in a transaction of its own (for reads).
pub async fn append_now(db: &Db, new: NewEntry<'_>) -> Result<()> {
    let mut tx = db.begin().await?;
    append(&mut tx, new).await?;
    tx.commit().await?;
    Ok(())
}

/// Entries sealed per transaction of [`seal`].
const SEAL_BATCH: i64 = 2000;

/// Chains every committed entry not yet sealed: gives each, in the order of
/// their ids (their writing time), the next sequence number, the previous
/// hash and its own hash, and moves the head — in one transaction per batch.
/// Returns how many entries were sealed.
pub async fn seal(db: &Db) -> Result<usize> {
    let mut sealed = 0;
    loop {
        let mut tx = db.begin().await?;
        // Taking the head first serialises sealers (and only them).
        let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash").fetch_one(&mut *tx).await?;
        let mut seq: i64 = head.try_get("seq")?;
        let mut prev: String = head.try_get("hash")?;
        let rows =
            sqlx::query(&format!("SELECT id, {CONTENT} FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT $1")).bind(SEAL_BATCH).fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(sealed);
        }
        // The whole batch chained in one statement (one round trip, however
        // many entries: the sealer keeps up with the intake's load).
        let mut p = Params::new();
        let mut values = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            seq += 1;
            let mut e = content_of(row, seq)?;
            e.prev_hash = prev.clone();
            e.hash = digest(&prev, seq, &e);
            values.push(format!(
                "(CAST({} AS TEXT), CAST({} AS BIGINT), CAST({} AS TEXT), CAST({} AS TEXT))",
                p.push(id),
                p.push(seq),
                p.push(prev.as_str()),
                p.push(e.hash.as_str())
            ));
            prev = e.hash;
        }
        let sealed_now = p
            .bind(sqlx::query(&format!(
                "WITH v (id, seq, prev_hash, hash) AS (VALUES {}) \
                 UPDATE audit_log SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash FROM v WHERE audit_log.id = v.id AND audit_log.seq IS NULL",
                values.join(", ")
            )))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // The head is taken first, so no other sealer chained these rows meanwhile.
        debug_assert_eq!(sealed_now, rows.len() as u64);
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1").bind(seq).bind(&prev).execute(&mut *tx).await?;
        tx.commit().await?;
        sealed += rows.len();
        if (rows.len() as i64) < SEAL_BATCH {
            return Ok(sealed);
        }
    }
}

/// How many committed entries wait for the sealer.
pub async fn unsealed(db: &Db) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE seq IS NULL").fetch_one(db.pool()).await?)
}

/// The columns the hash covers (with `seq`).
const CONTENT: &str = "at, actor_user_id, actor_organisation_id, action, record_kind, record_id, record_organisation_id, detail";

const COLUMNS: &str = "seq, at, actor_user_id, actor_organisation_id, action, record_kind, record_id, \
                       record_organisation_id, detail, prev_hash, hash";

fn content_of(row: &sqlx::any::AnyRow, seq: i64) -> Result<Entry> {
    Ok(Entry {
        seq,
        at: Timestamp::from_micros(row.try_get("at")?),
        actor_user: row.try_get("actor_user_id")?,
        actor_organisation: row.try_get("actor_organisation_id")?,
        action: row.try_get("action")?,
        record_kind: row.try_get("record_kind")?,
        record_id: row.try_get("record_id")?,
        record_organisation: row.try_get("record_organisation_id")?,
        detail: row.try_get("detail")?,
        prev_hash: String::new(),
        hash: String::new(),
    })
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Entry> {
    Ok(Entry {
        seq: row.try_get("seq")?,
        at: Timestamp::from_micros(row.try_get("at")?),
        actor_user: row.try_get("actor_user_id")?,
        actor_organisation: row.try_get("actor_organisation_id")?,
        action: row.try_get("action")?,
        record_kind: row.try_get("record_kind")?,
        record_id: row.try_get("record_id")?,
        record_organisation: row.try_get("record_organisation_id")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Every link holds.
    Intact {
        /// Number of entries checked.
        entries: i64,
    },
    /// The first entry whose hash or link does not hold.
    Broken {
        /// Its position.
        seq: i64,
        /// What is wrong.
        problem: String,
    },
}

/// Seals what is pending (as the running server would), then walks the whole
/// chain in order and reports the first broken link.
pub async fn verify(db: &Db) -> Result<Verification> {
    seal(db).await?;
    let mut prev = "0".repeat(64);
    let mut expected_seq = 1;
    let mut last = 0;
    loop {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000")).bind(last).fetch_all(db.pool()).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let e = from_row(row)?;
            if e.seq != expected_seq {
                return Ok(Verification::Broken { seq: expected_seq, problem: format!("entry {expected_seq} is missing") });
            }
            if e.prev_hash != prev {
                return Ok(Verification::Broken { seq: e.seq, problem: "link to the previous entry does not match".into() });
            }
            if digest(&prev, e.seq, &e) != e.hash {
                return Ok(Verification::Broken { seq: e.seq, problem: "content does not match its hash".into() });
            }
            prev = e.hash.clone();
            expected_seq += 1;
            last = e.seq;
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(db.pool()).await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    if head_seq != last || head_hash != prev {
        return Ok(Verification::Broken {
            seq: last + 1,
            problem: format!("the chain ends at entry {last} but the head says {head_seq}: entries were removed"),
        });
    }
    Ok(Verification::Intact { entries: last })
}

/// Filters for browsing the log.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Only records of this organisation or actions by its members (None: all, for instance admins).
    pub organisation: Option<OrganisationId>,
    /// Only this actor.
    pub actor_user: Option<String>,
    /// Only this record.
    pub record_id: Option<String>,
    /// Entries before this sequence number (paging backwards).
    pub before_seq: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Newest entries first, filtered (pending entries are sealed first, so the
/// list is the chain as it stands).
pub async fn list(db: &Db, q: &Query) -> Result<Vec<Entry>> {
    seal(db).await?;
    let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq IS NOT NULL");
    let mut args: Vec<String> = Vec::new();
    if let Some(org) = q.organisation {
        args.push(org.to_string());
        let n = args.len();
        sql.push_str(&format!(" AND (record_organisation_id = ${n} OR actor_organisation_id = ${n})"));
    }
    if let Some(u) = &q.actor_user {
        args.push(u.clone());
        sql.push_str(&format!(" AND actor_user_id = ${}", args.len()));
    }
    if let Some(r) = &q.record_id {
        args.push(r.clone());
        sql.push_str(&format!(" AND record_id = ${}", args.len()));
    }
    let before = q.before_seq.unwrap_or(i64::MAX);
    sql.push_str(&format!(" AND seq < ${} ORDER BY seq DESC LIMIT ${}", args.len() + 1, args.len() + 2));
    let mut query = sqlx::query(&sql);
    for a in args {
        query = query.bind(a);
    }
    let rows = query.bind(before).bind(q.limit.clamp(1, 500)).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}
