//! Server-side sessions. Only the SHA-256 of the cookie token is stored.

use sqlx::Row;
use veille_domain::{SessionId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::{Result, StorageError};

/// A stored session.
#[derive(Clone, Debug)]
pub struct Session {
    /// Id.
    pub id: SessionId,
    /// Account.
    pub user: UserId,
    /// Whether the second factor was given (or skipped in demo mode).
    pub second_factor_done: bool,
    /// Secret the CSRF tokens of this session derive from.
    pub csrf_secret: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last request.
    pub last_seen_at: Timestamp,
    /// Absolute end.
    pub expires_at: Timestamp,
}

/// Creates a session.
pub async fn create(
    tx: &mut Tx,
    token_hash: &str,
    user: UserId,
    second_factor_done: bool,
    csrf_secret: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<SessionId> {
    let id = SessionId::new();
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, second_factor_done, csrf_secret, created_at, last_seen_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
    )
    .bind(id.to_string())
    .bind(token_hash)
    .bind(user.to_string())
    .bind(i64::from(second_factor_done))
    .bind(csrf_secret)
    .bind(now.as_micros())
    .bind(expires_at.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The session behind a token hash.
pub async fn by_token(db: &Db, token_hash: &str) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT id, user_id, second_factor_done, csrf_secret, created_at, last_seen_at, expires_at FROM sessions \
         WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        let id: String = r.try_get("id")?;
        let user: String = r.try_get("user_id")?;
        Ok(Session {
            id: id.parse().map_err(|_| StorageError::Corrupt("sessions.id"))?,
            user: user.parse().map_err(|_| StorageError::Corrupt("sessions.user_id"))?,
            second_factor_done: r.try_get::<i64, _>("second_factor_done")? != 0,
            csrf_secret: r.try_get("csrf_secret")?,
            created_at: Timestamp::from_micros(r.try_get("created_at")?),
            last_seen_at: Timestamp::from_micros(r.try_get("last_seen_at")?),
            expires_at: Timestamp::from_micros(r.try_get("expires_at")?),
        })
    })
    .transpose()
}

/// Records activity (for the idle timeout).
pub async fn touch(db: &Db, id: SessionId, now: Timestamp) -> Result<()> {
    db.execute_alone(sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2").bind(now.as_micros()).bind(id.to_string())).await?;
    Ok(())
}

/// Ends one session.
pub async fn delete(tx: &mut Tx, id: SessionId) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Ends every session of an account ("log out everywhere"); returns how many.
pub async fn delete_all_for(tx: &mut Tx, user: UserId) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.to_string()).execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

/// Open sessions of an account.
pub async fn count_for(db: &Db, user: UserId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1").bind(user.to_string()).fetch_one(db.pool()).await?)
}

/// Removes expired sessions.
pub async fn purge_expired(db: &Db, now: Timestamp, idle_before: Timestamp) -> Result<u64> {
    db.execute_alone(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2").bind(now.as_micros()).bind(idle_before.as_micros())).await
}
