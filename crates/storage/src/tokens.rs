//! Personal API tokens: scoped, expiring, revocable; stored hashed.

use sqlx::Row;
use veille_domain::{Actor, ApiTokenId, OrganisationId, Role, Timestamp, UserId};

use crate::accounts::Account;
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
    from_row_as(r, "")
}

/// A token from a row whose token columns carry `prefix` (a join).
fn from_row_as(r: &sqlx::any::AnyRow, prefix: &str) -> Result<ApiToken> {
    let col = |c: &str| format!("{prefix}{c}");
    let id: String = r.try_get(col("id").as_str())?;
    let user: String = r.try_get(col("user_id").as_str())?;
    let scopes: String = r.try_get(col("scopes").as_str())?;
    Ok(ApiToken {
        id: id.parse().map_err(|_| StorageError::Corrupt("api_tokens.id"))?,
        user: user.parse().map_err(|_| StorageError::Corrupt("api_tokens.user_id"))?,
        name: r.try_get(col("name").as_str())?,
        scopes: scopes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        created_at: Timestamp::from_micros(r.try_get(col("created_at").as_str())?),
        expires_at: Timestamp::from_micros(r.try_get(col("expires_at").as_str())?),
        revoked_at: r.try_get::<Option<i64>, _>(col("revoked_at").as_str())?.map(Timestamp::from_micros),
        last_used_at: r.try_get::<Option<i64>, _>(col("last_used_at").as_str())?.map(Timestamp::from_micros),
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

/// The live token with this hash, its account and the account's grants, in
/// one read (every API request and every Open311 write pays it): one row for
/// the token and its account, then one per grant, each branch found through
/// the token's unique hash. Marks the token used.
pub async fn live_with_actor(db: &Db, token_hash: &str, now: Timestamp) -> Result<Option<(ApiToken, Account, Actor)>> {
    let head: Vec<String> =
        COLUMNS.split(", ").map(|c| format!("t.{c} AS token_{c}")).chain(crate::accounts::COLUMNS.split(',').map(|c| format!("u.{}", c.trim()))).collect();
    // The grant rows leave the token's and the account's columns empty.
    let empty = vec!["NULL"; head.len()].join(", ");
    let live = "t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2";
    let sql = format!(
        "SELECT {}, CAST(NULL AS TEXT) AS grant_kind, CAST(NULL AS TEXT) AS grant_value FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE {live} \
         UNION ALL SELECT {empty}, 't', g.territory_id FROM api_tokens t JOIN user_territories g ON g.user_id = t.user_id WHERE {live} \
         UNION ALL SELECT {empty}, 'g', g.field_group FROM api_tokens t JOIN user_field_groups g ON g.user_id = t.user_id WHERE {live} \
         UNION ALL SELECT {empty}, 'c', g.case_id FROM api_tokens t JOIN case_members g ON g.user_id = t.user_id WHERE {live}",
        head.join(", ")
    );
    let rows = sqlx::query(&sql).bind(token_hash).bind(now.as_micros()).fetch_all(db.pool()).await?;
    // The token's row is the one without a grant kind.
    let Some(row) = rows.iter().find(|r| matches!(r.try_get::<Option<String>, _>("grant_kind"), Ok(None))) else { return Ok(None) };
    let (token, account) = (from_row_as(row, "token_")?, crate::accounts::from_row(row)?);
    let actor = crate::accounts::actor_from(&account, &rows)?;
    // "Last used" to the minute: a write per request would double the commits of every API call.
    if token.last_used_at.is_none_or(|at| at.seconds_until(now) >= 60) {
        db.execute_alone(sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now.as_micros()).bind(token.id.to_string())).await?;
    }
    Ok(Some((token, account, actor)))
}

/// What a token stands for as long as it holds: its account, the account's
/// role and organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holding {
    /// The token.
    pub token: ApiTokenId,
    /// Its account.
    pub user: UserId,
    /// The account's role.
    pub role: Role,
    /// The account's organisation.
    pub organisation: OrganisationId,
}

/// Of `tokens`, those live at `now` whose accounts are enabled, with their
/// accounts' role and organisation as this transaction sees them: a write
/// made on the strength of a token an instance kept checks it again here,
/// in the write's own transaction (decision 118).
pub async fn still_holding(tx: &mut Tx, tokens: &[ApiTokenId], now: Timestamp) -> Result<Vec<Holding>> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = crate::sql::Params::new();
    let ids: Vec<String> = tokens.iter().map(|t| p.push_id(t)).collect();
    let now = p.push(now.as_micros());
    let sql = format!(
        "SELECT t.id, t.user_id, u.role, u.organisation_id FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.id IN ({}) AND t.revoked_at IS NULL AND t.expires_at > {now} AND u.disabled = 0",
        ids.join(", ")
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|r| {
            let (id, user, role, organisation): (String, String, String, String) =
                (r.try_get("id")?, r.try_get("user_id")?, r.try_get("role")?, r.try_get("organisation_id")?);
            Ok(Holding {
                token: id.parse().map_err(|_| StorageError::Corrupt("api_tokens.id"))?,
                user: user.parse().map_err(|_| StorageError::Corrupt("api_tokens.user_id"))?,
                role: Role::from_code(&role).ok_or(StorageError::Corrupt("users.role"))?,
                organisation: organisation.parse().map_err(|_| StorageError::Corrupt("users.organisation_id"))?,
            })
        })
        .collect()
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
