//! Personal API tokens: scoped, expiring, revocable; stored hashed.

use sqlx::Row;
use veille_domain::{ApiTokenId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::{Result, StorageError};

/// A stored token (never the secret itself).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ApiToken {
    /// Id.
    pub id: ApiTokenId,
    /// Owner.
    pub user: UserId,
    /// Label given by the owner.
    pub name: String,
    /// Scopes: `read`, `write`.
    pub scopes: Vec<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Expires.
    pub expires_at: Timestamp,
    /// Revoked.
    pub revoked_at: Option<Timestamp>,
    /// Last use.
    pub last_used_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, user_id, name, scopes, created_at, expires_at, revoked_at, last_used_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<ApiToken> {
    let id: String = r.try_get("id")?;
    let user: String = r.try_get("user_id")?;
    let scopes: String = r.try_get("scopes")?;
    Ok(ApiToken {
        id: id.parse().map_err(|_| StorageError::Corrupt("api_tokens.id"))?,
        user: user.parse().map_err(|_| StorageError::Corrupt("api_tokens.user_id"))?,
        name: r.try_get("name")?,
        scopes: scopes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        expires_at: Timestamp::from_micros(r.try_get("expires_at")?),
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp::from_micros),
        last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(Timestamp::from_micros),
    })
}

/// Creates a token.
pub async fn create(tx: &mut Tx, user: UserId, name: &str, token_hash: &str, scopes: &[&str], now: Timestamp, expires_at: Timestamp) -> Result<ApiTokenId> {
    let id = ApiTokenId::new();
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(user.to_string())
    .bind(name)
    .bind(token_hash)
    .bind(scopes.join(","))
    .bind(now.as_micros())
    .bind(expires_at.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A live token by hash (not revoked, not expired), marking its use.
pub async fn live_by_hash(db: &Db, token_hash: &str, now: Timestamp) -> Result<Option<ApiToken>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2"))
        .bind(token_hash)
        .bind(now.as_micros())
        .fetch_optional(db.pool())
        .await?;
    let token = row.as_ref().map(from_row).transpose()?;
    // "Last used" to the minute: a write per request would double the commits of every API call.
    let stale = |t: &ApiToken| t.last_used_at.is_none_or(|at| at.seconds_until(now) >= 60);
    if let Some(t) = token.as_ref().filter(|t| stale(t)) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now.as_micros()).bind(t.id.to_string()).execute(db.pool()).await?;
    }
    Ok(token)
}

/// Tokens of an account, newest first.
pub async fn list_for(db: &Db, user: UserId) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC"))
        .bind(user.to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// One token.
pub async fn get(db: &Db, id: ApiTokenId) -> Result<ApiToken> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// Revokes a token.
pub async fn revoke(tx: &mut Tx, id: ApiTokenId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Revokes every token of an account.
pub async fn revoke_all_for(tx: &mut Tx, user: UserId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now.as_micros())
        .bind(user.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
