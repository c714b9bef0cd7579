//! The keys of imported spreadsheet lines (migration 0018): a salted hash of
//! each line an import wrote, by organisation and kind of record, with the id
//! of the record it became, so that importing the same file again changes
//! nothing. No value of a file is kept, only its hash.

use std::collections::HashMap;

use sqlx::Row;
use veille_domain::{OrganisationId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::Result;

/// The keys an organisation's imports of `kind` already wrote, with the id of
/// the record each became.
pub async fn known(db: &Db, organisation: OrganisationId, kind: &str) -> Result<HashMap<String, String>> {
    let rows = sqlx::query("SELECT import_key, record_id FROM import_keys WHERE organisation_id = $1 AND kind = $2")
        .bind(organisation.to_string())
        .bind(kind)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok((r.try_get("import_key")?, r.try_get("record_id")?))).collect()
}

/// Remembers that the line of `key` became the record `record_id`.
pub async fn remember(tx: &mut Tx, organisation: OrganisationId, kind: &str, key: &str, record_id: &str, by: UserId, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO import_keys (organisation_id, kind, import_key, record_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(organisation.to_string())
        .bind(kind)
        .bind(key)
        .bind(record_id)
        .bind(by.to_string())
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
