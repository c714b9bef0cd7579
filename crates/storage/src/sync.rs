//! Offline sync (migration 0020, decision 90): devices, the operations they
//! sent with their one reply, the versions of fields phones changed, and the
//! conflicts waiting for a coordinator. The rules are in
//! `veille_domain::sync`; the application layer composes them over these
//! functions in one transaction per batch.

use sqlx::Row;
use veille_domain::sync::{FieldState, FieldValue, Seq, Version};
use veille_domain::{DeviceId, OpId, OrganisationId, SyncConflictId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::{Result, StorageError};
use crate::scope::Scope;
use crate::sql::Params;

/// A registered device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Its id (made on the device).
    pub id: DeviceId,
    /// The account it works for.
    pub user: UserId,
    /// That account's organisation.
    pub organisation: OrganisationId,
    /// Registered.
    pub created_at: Timestamp,
    /// The highest sequence number applied.
    pub highest_seq: Seq,
    /// Revoked (no operation is taken from it any more).
    pub revoked_at: Option<Timestamp>,
}

fn device_of(r: &sqlx::any::AnyRow) -> Result<Device> {
    Ok(Device {
        id: r.try_get("id")?,
        user: r.try_get("user_id")?,
        organisation: r.try_get("organisation_id")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        highest_seq: r.try_get("highest_seq")?,
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp::from_micros),
    })
}

const DEVICE_COLUMNS: &str = "id, user_id, organisation_id, created_at, highest_seq, revoked_at";

/// Registers a device for an account (nothing when it is already registered).
/// Returns the device as stored: a device id already taken by another
/// account is the caller's to refuse.
pub async fn register(tx: &mut Tx, id: DeviceId, user: UserId, organisation: OrganisationId, now: Timestamp) -> Result<Device> {
    sqlx::query("INSERT INTO sync_devices (id, user_id, organisation_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING")
        .bind(id)
        .bind(user)
        .bind(organisation)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM sync_devices WHERE id = $1")).bind(id).fetch_one(&mut **tx).await?;
    device_of(&row)
}

/// A device, taken for the transaction (on PostgreSQL its row is locked, so
/// two batches of one device are decided one after the other; SQLite has one
/// writer at a time).
pub async fn take_device(tx: &mut Tx, id: DeviceId, now: Timestamp) -> Result<Option<Device>> {
    let row = sqlx::query(&format!("UPDATE sync_devices SET last_seen_at = $1 WHERE id = $2 RETURNING {DEVICE_COLUMNS}"))
        .bind(now.as_micros())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(device_of).transpose()
}

/// A device as the devices page shows it: its account, when it was last
/// seen, the sequence numbers of its held operations and how many of its
/// operations were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceLine {
    /// The device.
    pub device: Device,
    /// Its account's display name.
    pub account_name: String,
    /// When it last sent operations.
    pub last_seen_at: Option<Timestamp>,
    /// The sequence numbers of its operations held behind a gap.
    pub held: Vec<Seq>,
    /// How many of its operations were refused.
    pub rejected: i64,
}

/// The devices of an organisation (or only one account's), the working
/// ones first, the most recently seen first.
pub async fn device_lines(db: &Db, organisation: OrganisationId, only: Option<UserId>) -> Result<Vec<DeviceLine>> {
    let mut p = Params::new();
    let org = p.push_id(organisation);
    let mut sql = format!(
        "SELECT d.id, d.user_id, d.organisation_id, d.created_at, d.highest_seq, d.revoked_at, d.last_seen_at, u.display_name \
         FROM sync_devices d JOIN users u ON u.id = d.user_id WHERE d.organisation_id = {org}"
    );
    if let Some(user) = only {
        sql.push_str(&format!(" AND d.user_id = {}", p.push_id(user)));
    }
    sql.push_str(" ORDER BY CASE WHEN d.revoked_at IS NULL THEN 0 ELSE 1 END, COALESCE(d.last_seen_at, d.created_at) DESC, d.id");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(DeviceLine {
                device: device_of(r)?,
                account_name: r.try_get("display_name")?,
                last_seen_at: r.try_get::<Option<i64>, _>("last_seen_at")?.map(Timestamp::from_micros),
                held: Vec::new(),
                rejected: 0,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let ops = sqlx::query(
        "SELECT o.device_id, o.state, o.seq FROM sync_ops o JOIN sync_devices d ON d.id = o.device_id \
         WHERE d.organisation_id = $1 AND o.state IN ('held', 'rejected') ORDER BY o.seq",
    )
    .bind(organisation)
    .fetch_all(db.pool())
    .await?;
    for r in &ops {
        let device: DeviceId = r.try_get("device_id")?;
        let Some(line) = out.iter_mut().find(|l| l.device.id == device) else { continue };
        if r.try_get::<String, _>("state")? == "held" {
            line.held.push(r.try_get("seq")?);
        } else {
            line.rejected += 1;
        }
    }
    Ok(out)
}

/// A device, by id.
pub async fn device(tx: &mut Tx, id: DeviceId) -> Result<Option<Device>> {
    let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM sync_devices WHERE id = $1")).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(device_of).transpose()
}

/// Revokes a device.
pub async fn revoke(tx: &mut Tx, id: DeviceId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE sync_devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now.as_micros()).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Records the highest sequence applied for a device.
pub async fn set_highest(tx: &mut Tx, id: DeviceId, seq: Seq) -> Result<()> {
    sqlx::query("UPDATE sync_devices SET highest_seq = $1 WHERE id = $2").bind(seq).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// An operation as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOp {
    /// Its id.
    pub op_id: OpId,
    /// Its device.
    pub device: DeviceId,
    /// Its sequence number.
    pub seq: Seq,
    /// `applied`, `duplicate`, `conflict`, `rejected` or `held`.
    pub state: String,
    /// The reply sent (JSON).
    pub reply: String,
    /// The operation as sent, while it is held (opened).
    pub payload: Option<String>,
}

/// An operation received, by id (its body opened when it is held).
pub async fn op(tx: &mut Tx, id: OpId) -> Result<Option<StoredOp>> {
    let row = sqlx::query("SELECT op_id, device_id, seq, state, reply, payload FROM sync_ops WHERE op_id = $1").bind(id).fetch_optional(&mut **tx).await?;
    let Some(r) = row else { return Ok(None) };
    let payload = match r.try_get::<Option<String>, _>("payload")? {
        Some(p) => Some(tx.ring()?.open("sync_ops", "payload", &p)?),
        None => None,
    };
    Ok(Some(StoredOp {
        op_id: r.try_get("op_id")?,
        device: r.try_get("device_id")?,
        seq: r.try_get("seq")?,
        state: r.try_get("state")?,
        reply: r.try_get("reply")?,
        payload,
    }))
}

/// The sequence numbers of a device's held operations, with their ids.
pub async fn held(tx: &mut Tx, device: DeviceId) -> Result<Vec<(Seq, OpId)>> {
    let rows = sqlx::query("SELECT seq, op_id FROM sync_ops WHERE device_id = $1 AND state = 'held' ORDER BY seq").bind(device).fetch_all(&mut **tx).await?;
    rows.iter().map(|r| Ok((r.try_get("seq")?, r.try_get("op_id")?))).collect()
}

/// An operation to record.
#[derive(Clone, Debug)]
pub struct NewOp<'a> {
    /// Its id.
    pub op_id: OpId,
    /// Its device.
    pub device: DeviceId,
    /// Its sequence number.
    pub seq: Seq,
    /// The account that sent it.
    pub user: UserId,
    /// Its kind (`encounter`, `observation`, `set`).
    pub kind: &'a str,
    /// Its state.
    pub state: &'a str,
    /// The reply (JSON).
    pub reply: &'a str,
    /// The operation as sent, kept (sealed) only when it is held.
    pub payload: Option<&'a str>,
}

/// Records an operation received; an id already recorded changes nothing
/// (`ON CONFLICT (op_id) DO NOTHING`). Returns whether it was new.
pub async fn insert_op(tx: &mut Tx, op: &NewOp<'_>, now: Timestamp) -> Result<bool> {
    let payload = match op.payload {
        Some(p) => Some(tx.ring()?.seal("sync_ops", "payload", p)?),
        None => None,
    };
    let decided = (op.state != "held").then_some(now.as_micros());
    let n = sqlx::query(
        "INSERT INTO sync_ops (op_id, device_id, seq, user_id, kind, received_at, decided_at, state, reply, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (op_id) DO NOTHING",
    )
    .bind(op.op_id)
    .bind(op.device)
    .bind(op.seq)
    .bind(op.user)
    .bind(op.kind)
    .bind(now.as_micros())
    .bind(decided)
    .bind(op.state)
    .bind(op.reply)
    .bind(payload)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Decides a held operation: its state and reply; its body is cleared.
pub async fn decide(tx: &mut Tx, id: OpId, state: &str, reply: &str, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE sync_ops SET state = $1, reply = $2, payload = NULL, decided_at = $3 WHERE op_id = $4")
        .bind(state)
        .bind(reply)
        .bind(now.as_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The number of a device's operations in each state.
pub async fn counts(db: &Db, device: DeviceId) -> Result<Vec<(String, i64)>> {
    let rows =
        sqlx::query("SELECT state, COUNT(*) AS n FROM sync_ops WHERE device_id = $1 GROUP BY state ORDER BY state").bind(device).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("state")?, r.try_get("n")?))).collect()
}

fn value_json(v: &FieldValue) -> Result<String> {
    serde_json::to_string(v).map_err(|_| StorageError::Corrupt("sync: a field value does not serialise"))
}

fn value_of(text: &str) -> Result<FieldValue> {
    serde_json::from_str(text).map_err(|_| StorageError::Corrupt("sync: a stored field value does not read"))
}

/// What the sync stored last of a field (read in the batch's transaction,
/// for a record the caller was authorised on).
pub async fn field(tx: &mut Tx, entity: &str, record: &str, field: &str) -> Result<Option<FieldState>> {
    let row = sqlx::query("SELECT version, written_by_op, value FROM sync_field_versions WHERE entity = $1 AND record_id = $2 AND field = $3")
        .bind(entity)
        .bind(record)
        .bind(field)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(FieldState {
        version: Version { number: r.try_get("version")?, by: r.try_get("written_by_op")? },
        value: value_of(&r.try_get::<String, _>("value")?)?,
    }))
}

/// Stores a field's version and value.
pub async fn put_field(tx: &mut Tx, entity: &str, record: &str, field: &str, state: &FieldState, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_field_versions (entity, record_id, field, version, written_by_op, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (entity, record_id, field) DO UPDATE SET version = excluded.version, written_by_op = excluded.written_by_op, \
         value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(entity)
    .bind(record)
    .bind(field)
    .bind(state.version.number)
    .bind(state.version.by)
    .bind(value_json(&state.value)?)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A conflict to record.
#[derive(Clone, Debug)]
pub struct NewConflict<'a> {
    /// The kind of record.
    pub entity: &'a str,
    /// The record.
    pub record: &'a str,
    /// The field.
    pub field: &'a str,
    /// The operation that proposed the competing value.
    pub op: OpId,
    /// The organisation whose coordinators see it (the record's).
    pub organisation: OrganisationId,
    /// The current value and version (they stay).
    pub current: &'a FieldState,
    /// The competing value.
    pub proposed: &'a FieldValue,
    /// The base the phone wrote it from.
    pub base: &'a Version,
    /// Its author.
    pub author: UserId,
    /// Its device.
    pub device: DeviceId,
    /// When it was written on the device.
    pub written_at: Timestamp,
}

/// Records a conflict.
pub async fn add_conflict(tx: &mut Tx, c: &NewConflict<'_>, now: Timestamp) -> Result<SyncConflictId> {
    let id = SyncConflictId::new();
    sqlx::query(
        "INSERT INTO sync_conflicts (id, entity, record_id, field, op_id, organisation_id, current_value, current_version, current_op, \
         proposed_value, base_version, base_op, author_id, device_id, written_at, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(id)
    .bind(c.entity)
    .bind(c.record)
    .bind(c.field)
    .bind(c.op)
    .bind(c.organisation)
    .bind(value_json(&c.current.value)?)
    .bind(c.current.version.number)
    .bind(c.current.version.by)
    .bind(value_json(c.proposed)?)
    .bind(c.base.number)
    .bind(c.base.by)
    .bind(c.author)
    .bind(c.device)
    .bind(c.written_at.as_micros())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A conflict as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// Id.
    pub id: SyncConflictId,
    /// The kind of record.
    pub entity: String,
    /// The record.
    pub record: String,
    /// The field.
    pub field: String,
    /// The operation that proposed the competing value.
    pub op: OpId,
    /// The value that stayed, at the time.
    pub current: FieldValue,
    /// The competing value.
    pub proposed: FieldValue,
    /// Its author.
    pub author: UserId,
    /// The author's name.
    pub author_name: String,
    /// Its device.
    pub device: DeviceId,
    /// Written on the device.
    pub written_at: Timestamp,
    /// Received.
    pub received_at: Timestamp,
    /// How it was resolved, if it was.
    pub resolution: Option<String>,
}

/// The conflicts of an organisation's records (open ones only, or all), oldest
/// first, of the records the scope may read (compiled to SQL: people through
/// the records' filter, sites through the sites' filter).
pub async fn conflicts(db: &Db, scope: &Scope, organisation: OrganisationId, open_only: bool, only: Option<SyncConflictId>) -> Result<Vec<Conflict>> {
    let mut p = Params::new();
    let org = p.push(organisation.to_string());
    let people = scope.records(&crate::people::ACCESS_COLUMNS, &mut p);
    let sites = scope.sites("s.territory_id", &mut p);
    let filter = if open_only { " AND c.resolved_at IS NULL" } else { "" };
    let filter = match only {
        Some(id) => format!("{filter} AND c.id = {}", p.push(id.to_string())),
        None => filter.to_owned(),
    };
    let sql = format!(
        "SELECT c.id, c.entity, c.record_id, c.field, c.op_id, c.current_value, c.proposed_value, c.author_id, u.display_name, c.device_id, \
         c.written_at, c.received_at, c.resolution FROM sync_conflicts c JOIN users u ON u.id = c.author_id \
         WHERE c.organisation_id = {org}{filter} AND ( \
         (c.entity = 'person' AND EXISTS (SELECT 1 FROM people p WHERE p.id = c.record_id AND {people})) \
         OR (c.entity = 'site' AND EXISTS (SELECT 1 FROM sites s WHERE s.id = c.record_id AND {sites}))) ORDER BY c.received_at, c.id"
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Conflict {
                id: r.try_get("id")?,
                entity: r.try_get("entity")?,
                record: r.try_get("record_id")?,
                field: r.try_get("field")?,
                op: r.try_get("op_id")?,
                current: value_of(&r.try_get::<String, _>("current_value")?)?,
                proposed: value_of(&r.try_get::<String, _>("proposed_value")?)?,
                author: r.try_get("author_id")?,
                author_name: r.try_get("display_name")?,
                device: r.try_get("device_id")?,
                written_at: Timestamp::from_micros(r.try_get("written_at")?),
                received_at: Timestamp::from_micros(r.try_get("received_at")?),
                resolution: r.try_get("resolution")?,
            })
        })
        .collect()
}

/// Records how a conflict was resolved (once: `false` when it already was).
pub async fn resolve(tx: &mut Tx, id: SyncConflictId, resolution: &str, value: &FieldValue, by: UserId, now: Timestamp) -> Result<bool> {
    let n =
        sqlx::query("UPDATE sync_conflicts SET resolution = $1, resolved_value = $2, resolved_by = $3, resolved_at = $4 WHERE id = $5 AND resolved_at IS NULL")
            .bind(resolution)
            .bind(value_json(value)?)
            .bind(by)
            .bind(now.as_micros())
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(n == 1)
}

/// How many conflicts of a record wait for a person (the badge on the record).
pub async fn open_count(db: &Db, entity: &str, record: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sync_conflicts WHERE entity = $1 AND record_id = $2 AND resolved_at IS NULL")
        .bind(entity)
        .bind(record)
        .fetch_one(db.pool())
        .await?)
}

/// An attachment uploaded by a phone (a photo re-encoded, or a PDF).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// Its MIME type.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Keeps an attachment under the hash the phone sent, for the organisation;
/// one already there is left as it is. Returns whether it was new.
pub async fn put_blob(tx: &mut Tx, sha256: &str, organisation: OrganisationId, user: UserId, blob: &Blob, now: Timestamp) -> Result<bool> {
    use base64::Engine;
    let n = sqlx::query(
        "INSERT INTO sync_blobs (sha256, organisation_id, user_id, content_type, size, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (sha256, organisation_id) DO NOTHING",
    )
    .bind(sha256)
    .bind(organisation)
    .bind(user)
    .bind(&blob.content_type)
    .bind(i64::try_from(blob.bytes.len()).unwrap_or(i64::MAX))
    .bind(base64::engine::general_purpose::STANDARD.encode(&blob.bytes))
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// An attachment of the organisation, by hash.
pub async fn blob(tx: &mut Tx, sha256: &str, organisation: OrganisationId) -> Result<Option<Blob>> {
    use base64::Engine;
    let row = sqlx::query("SELECT content_type, data FROM sync_blobs WHERE sha256 = $1 AND organisation_id = $2")
        .bind(sha256)
        .bind(organisation)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let data: String = r.try_get("data")?;
    Ok(Some(Blob {
        content_type: r.try_get("content_type")?,
        bytes: base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| StorageError::Corrupt("attachment data"))?,
    }))
}

/// Removes an attachment (copied into the record that used it).
pub async fn drop_blob(tx: &mut Tx, sha256: &str, organisation: OrganisationId) -> Result<()> {
    sqlx::query("DELETE FROM sync_blobs WHERE sha256 = $1 AND organisation_id = $2").bind(sha256).bind(organisation).execute(&mut **tx).await?;
    Ok(())
}

/// Removes the attachments no operation used, uploaded before `before`.
pub async fn drop_blobs_before(tx: &mut Tx, before: Timestamp) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sync_blobs WHERE created_at < $1").bind(before.as_micros()).execute(&mut **tx).await?.rows_affected())
}
