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
//!
//! The links are keyed: each hash is an HMAC-SHA256 under a key kept outside
//! the database ([`AuditKey`]), and the head carries its own MAC, so a writer
//! of the database who does not hold the key cannot rewrite, remove or forge
//! an entry and recompute the hashes after it. An unsealed entry dated more
//! than the sealing window before the last chained one is refused, not
//! chained (a back-dated insertion), and reported (docs/security.md says what
//! the chain proves and what it does not).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::Row;
use veille_domain::{OrganisationId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::{Result, StorageError};
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

/// The parts of an entry its hash covers, in order.
fn parts<'e>(seq: &'e str, at: &'e str, e: &'e Entry) -> [&'e str; 9] {
    [
        seq,
        at,
        e.actor_user.as_deref().unwrap_or(""),
        e.actor_organisation.as_deref().unwrap_or(""),
        &e.action,
        &e.record_kind,
        e.record_id.as_deref().unwrap_or(""),
        e.record_organisation.as_deref().unwrap_or(""),
        &e.detail,
    ]
}

/// The plain SHA-256 link of the entries sealed before the chain was keyed.
fn digest(prev: &str, seq: i64, e: &Entry) -> String {
    let mut h = Sha256::new();
    let (seq, at) = (seq.to_string(), e.at.as_micros().to_string());
    for part in std::iter::once(prev).chain(parts(&seq, &at, e)) {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

type HmacSha256 = Hmac<Sha256>;

/// The key of the audit chain's MACs (HMAC-SHA256), kept outside the
/// database: whoever writes the database without it cannot make an entry
/// or a head that verifies. Never printed.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

impl AuditKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from 64 hexadecimal digits (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The key as 64 hexadecimal digits (to write it to its file).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn mac(&self, parts: impl IntoIterator<Item = impl AsRef<[u8]>>) -> String {
        let mut m = <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            m.update(part.as_ref());
            m.update(&[0x1f]);
        }
        hex::encode(m.finalize().into_bytes())
    }

    /// The keyed link of an entry: HMAC over the previous hash and the row.
    fn entry_mac(&self, prev: &str, seq: i64, e: &Entry) -> String {
        let (seq, at) = (seq.to_string(), e.at.as_micros().to_string());
        self.mac(std::iter::once("entry").chain(std::iter::once(prev)).chain(parts(&seq, &at, e)))
    }

    /// The MAC of the head: its position, its hash and where keying began,
    /// so that the head cannot be moved back or rewritten without the key.
    fn head_mac(&self, head: &Head) -> String {
        self.mac(["head".to_owned(), head.seq.to_string(), head.hash.clone(), head.keyed_from.to_string()])
    }
}

/// How the sealer chains: the key, and how far before the last chained
/// entry an unsealed entry may be dated (older ones are back-dated: refused,
/// marked and reported by [`verify`], never chained).
#[derive(Clone, Debug)]
pub struct Sealer {
    /// The MAC key.
    pub key: AuditKey,
    /// The sealing window, in microseconds.
    pub window_micros: i64,
}

impl Sealer {
    /// A sealer with `key` and a window of `window_secs` seconds.
    pub fn new(key: AuditKey, window_secs: i64) -> Self {
        Self { key, window_micros: window_secs.saturating_mul(1_000_000) }
    }
}

/// The mark of an entry refused by the sealer (in `hash`, `seq` left empty).
const BACKDATED: &str = "backdated";

/// The single head row: the last sealed entry, from which entry the chain is
/// keyed, and the head's MAC (none before the first keyed sealing).
#[derive(Clone, Debug)]
struct Head {
    seq: i64,
    hash: String,
    keyed_from: i64,
    mac: Option<String>,
}

fn head_of(row: &sqlx::any::AnyRow) -> Result<Head> {
    let keyed_from: Option<i64> = row.try_get("keyed_from")?;
    Ok(Head {
        seq: row.try_get("seq")?,
        hash: row.try_get("hash")?,
        keyed_from: keyed_from.ok_or(StorageError::Corrupt("audit_head.keyed_from"))?,
        mac: row.try_get("mac")?,
    })
}

/// What is wrong with the head, if anything: a MAC that does not verify, or
/// none although keyed entries were sealed (it was removed).
fn head_problem(key: &AuditKey, head: &Head) -> Option<String> {
    match &head.mac {
        Some(mac) if *mac == key.head_mac(head) => None,
        Some(_) => Some("the head of the chain does not match its MAC (tampered head, or another key)".into()),
        None if head.seq < head.keyed_from && head.keyed_from == head.seq + 1 => None,
        None => Some("the head of the chain has no MAC although keyed entries were sealed".into()),
    }
}

/// Appends an entry inside the caller's transaction: one INSERT, no lock on
/// anything another writer needs. The sealer chains it after commit.
pub async fn append(tx: &mut Tx, new: NewEntry<'_>) -> Result<()> {
    append_all(tx, std::slice::from_ref(&new)).await
}

/// Appends entries in one statement (its text depends only on how many).
pub async fn append_all(tx: &mut Tx, entries: &[NewEntry<'_>]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    const BINDS: usize = 9;
    let sql = format!(
        "INSERT INTO audit_log (id, at, actor_user_id, actor_organisation_id, action, record_kind, record_id, \
         record_organisation_id, detail) VALUES {}",
        crate::sql::values_rows(entries.len(), BINDS, |_| {})
    );
    let mut q = sqlx::query(&sql);
    for new in entries {
        q = q
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(new.at.as_micros())
            .bind(new.actor_user.map(|u| u.to_string()))
            .bind(new.actor_organisation.map(|o| o.to_string()))
            .bind(new.action)
            .bind(new.record_kind)
            .bind(new.record_id.clone())
            .bind(new.record_organisation.map(|o| o.to_string()))
            .bind(new.detail.to_string());
    }
    q.execute(&mut **tx).await?;
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
/// hash and its own keyed hash, and moves the head (with its MAC) — in one
/// transaction per batch. An entry dated more than the sealing window before
/// the last chained one is back-dated: it is marked, never chained, and
/// [`verify`] reports it. A head whose MAC does not verify is not extended
/// (the error says so). Returns how many entries were sealed.
pub async fn seal(db: &Db, sealer: &Sealer) -> Result<usize> {
    let mut sealed = 0;
    loop {
        let mut tx = db.begin().await?;
        // Taking the head first serialises sealers (and only them).
        let row = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash, keyed_from, mac").fetch_one(&mut *tx).await?;
        let mut head = head_of(&row)?;
        if let Some(problem) = head_problem(&sealer.key, &head) {
            return Err(StorageError::AuditTampered(problem));
        }
        // The time of the last chained entry: an entry dated well before it was back-dated.
        let mut latest: i64 = if head.seq > 0 {
            sqlx::query_scalar("SELECT at FROM audit_log WHERE seq = $1").bind(head.seq).fetch_optional(&mut *tx).await?.unwrap_or(i64::MIN)
        } else {
            i64::MIN
        };
        let rows = sqlx::query(&format!("SELECT id, {CONTENT} FROM audit_log WHERE seq IS NULL AND hash IS NULL ORDER BY id LIMIT $1"))
            .bind(SEAL_BATCH)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(sealed);
        }
        // The whole batch chained in one statement (one round trip, however
        // many entries: the sealer keeps up with the intake's load).
        let mut p = Params::new();
        let mut values = Vec::with_capacity(rows.len());
        let mut chained = 0;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let mut e = content_of(row, head.seq + 1)?;
            let at = e.at.as_micros();
            if at < latest.saturating_sub(sealer.window_micros) {
                values.push(format!("(CAST({} AS TEXT), CAST(NULL AS BIGINT), CAST(NULL AS TEXT), CAST({} AS TEXT))", p.push(id), p.push(BACKDATED)));
                continue;
            }
            latest = latest.max(at);
            head.seq += 1;
            e.hash = if head.seq >= head.keyed_from { sealer.key.entry_mac(&head.hash, head.seq, &e) } else { digest(&head.hash, head.seq, &e) };
            values.push(format!(
                "(CAST({} AS TEXT), CAST({} AS BIGINT), CAST({} AS TEXT), CAST({} AS TEXT))",
                p.push(id),
                p.push(head.seq),
                p.push(head.hash.as_str()),
                p.push(e.hash.as_str())
            ));
            head.hash = e.hash;
            chained += 1;
        }
        let written = p
            .bind(sqlx::query(&format!(
                "WITH v (id, seq, prev_hash, hash) AS (VALUES {}) \
                 UPDATE audit_log SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash FROM v WHERE audit_log.id = v.id AND audit_log.seq IS NULL",
                values.join(", ")
            )))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // The head is taken first, so no other sealer chained these rows meanwhile.
        debug_assert_eq!(written, rows.len() as u64);
        if chained < rows.len() {
            tracing::warn!(refused = rows.len() - chained, "audit sealer: entries dated before the sealing window were refused (back-dated)");
        }
        let mac = sealer.key.head_mac(&head);
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1").bind(head.seq).bind(&head.hash).bind(mac).execute(&mut *tx).await?;
        tx.commit().await?;
        sealed += chained;
        if (rows.len() as i64) < SEAL_BATCH {
            return Ok(sealed);
        }
    }
}

/// How many committed entries wait for the sealer.
pub async fn unsealed(db: &Db) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE seq IS NULL AND hash IS NULL").fetch_one(db.pool()).await?)
}

/// Whether a keyed sealing has happened (the head carries a MAC): from then
/// on the key is needed to extend or verify the chain.
pub async fn is_keyed(db: &Db) -> Result<bool> {
    let mac: Option<String> = sqlx::query_scalar("SELECT mac FROM audit_head WHERE id = 1").fetch_one(db.pool()).await?;
    Ok(mac.is_some())
}

/// Where the keyed part of the chain begins (entries before it were sealed
/// with plain SHA-256, before the chain had a key).
pub async fn keyed_from(db: &Db) -> Result<i64> {
    let k: Option<i64> = sqlx::query_scalar("SELECT keyed_from FROM audit_head WHERE id = 1").fetch_one(db.pool()).await?;
    k.ok_or(StorageError::Corrupt("audit_head.keyed_from"))
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
    /// The chain holds, but entries dated before the sealing window were
    /// found unsealed and refused (inserted after the fact, back-dated).
    Backdated {
        /// Number of chained entries checked.
        entries: i64,
        /// Number of refused entries.
        refused: i64,
    },
}

/// Seals what is pending (as the running server would), then walks the whole
/// chain in order and reports the first broken link: plain SHA-256 links
/// before `keyed_from`, HMAC links under `sealer`'s key from it on, and the
/// head's MAC at the end. Then reports entries the sealer refused.
pub async fn verify(db: &Db, sealer: &Sealer) -> Result<Verification> {
    match seal(db, sealer).await {
        Ok(_) | Err(StorageError::AuditTampered(_)) => {}
        Err(e) => return Err(e),
    }
    let head = head_of(&sqlx::query("SELECT seq, hash, keyed_from, mac FROM audit_head WHERE id = 1").fetch_one(db.pool()).await?)?;
    let key = &sealer.key;
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
            let expected = if e.seq >= head.keyed_from { key.entry_mac(&prev, e.seq, &e) } else { digest(&prev, e.seq, &e) };
            if expected != e.hash {
                return Ok(Verification::Broken { seq: e.seq, problem: "content does not match its hash".into() });
            }
            prev = e.hash.clone();
            expected_seq += 1;
            last = e.seq;
        }
    }
    if head.seq != last || head.hash != prev {
        return Ok(Verification::Broken {
            seq: last + 1,
            problem: format!("the chain ends at entry {last} but the head says {}: entries were removed", head.seq),
        });
    }
    if let Some(problem) = head_problem(key, &head) {
        return Ok(Verification::Broken { seq: last + 1, problem });
    }
    let refused: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE seq IS NULL AND hash = $1").bind(BACKDATED).fetch_one(db.pool()).await?;
    if refused > 0 {
        return Ok(Verification::Backdated { entries: last, refused });
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
pub async fn list(db: &Db, sealer: &Sealer, q: &Query) -> Result<Vec<Entry>> {
    seal(db, sealer).await?;
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

/// The sealed entries naming a record, as the record or in their detail
/// (an access request's log of who read or changed a person file), oldest first.
/// Seal first ([`seal`]) to include the latest entries.
pub async fn naming(db: &Db, record_id: &str) -> Result<Vec<Entry>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq IS NOT NULL AND (record_id = $1 OR detail LIKE $2) ORDER BY seq");
    let rows = sqlx::query(&sql).bind(record_id.to_owned()).bind(format!("%{record_id}%")).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}
