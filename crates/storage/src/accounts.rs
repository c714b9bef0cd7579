//! Staff accounts, their grants, second factors, invitations, password resets
//! and login attempts.

use std::collections::BTreeSet;

use sqlx::Row;
use veille_domain::{Actor, CaseId, EmailAddress, FieldGroup, InvitationId, OrganisationId, Role, TerritoryId, TerritoryScope, Timestamp, UserId};

use crate::db::{b, Db, Tx};
use crate::error::{Result, ResultExt, StorageError};

/// A staff account as stored.
#[derive(Clone, Debug)]
pub struct Account {
    /// Id.
    pub id: UserId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Login e-mail (staff personal data).
    pub email: String,
    /// Name shown to colleagues (staff personal data).
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string, none until a password is set.
    pub password_hash: Option<String>,
    /// TOTP secret (base32), set at enrolment.
    pub totp_secret: Option<String>,
    /// Whether enrolment was confirmed with a valid code.
    pub totp_enabled: bool,
    /// Last accepted TOTP time step (a code works once).
    pub totp_last_step: i64,
    /// Whether all territories are in scope.
    pub all_territories: bool,
    /// Disabled accounts cannot log in; their sessions and tokens are dead.
    pub disabled: bool,
    /// A demo account (may skip the second factor in demo mode only).
    pub demo_account: bool,
    /// Preferred language (`fr` or `en`).
    pub lang: String,
    /// Last login or use of an API token (recorded at most once a day).
    pub last_active_at: Option<Timestamp>,
    /// Version.
    pub version: i64,
}

pub(crate) const COLUMNS: &str = "id, organisation_id, email, display_name, role, password_hash, totp_secret, totp_enabled, \
                       totp_last_step, all_territories, disabled, demo_account, lang, last_active_at, version";

fn parse_id<T: std::str::FromStr>(s: String, what: &'static str) -> Result<T> {
    s.parse().map_err(|_| StorageError::Corrupt(what))
}

pub(crate) fn from_row(row: &sqlx::any::AnyRow) -> Result<Account> {
    let role: String = row.try_get("role")?;
    Ok(Account {
        id: parse_id(row.try_get("id")?, "users.id")?,
        organisation: parse_id(row.try_get("organisation_id")?, "users.organisation_id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: Role::from_code(&role).ok_or(StorageError::Corrupt("users.role"))?,
        password_hash: row.try_get("password_hash")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_enabled: row.try_get::<i64, _>("totp_enabled")? != 0,
        totp_last_step: row.try_get("totp_last_step")?,
        all_territories: row.try_get::<i64, _>("all_territories")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        demo_account: row.try_get::<i64, _>("demo_account")? != 0,
        lang: row.try_get("lang")?,
        last_active_at: row.try_get::<Option<i64>, _>("last_active_at")?.map(Timestamp::from_micros),
        version: row.try_get("version")?,
    })
}

/// A new account.
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// Organisation.
    pub organisation: OrganisationId,
    /// Login e-mail.
    pub email: EmailAddress,
    /// Name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Password hash, if set now.
    pub password_hash: Option<String>,
    /// Territories (None: all).
    pub territories: Option<Vec<TerritoryId>>,
    /// Field groups.
    pub field_groups: Vec<FieldGroup>,
    /// Demo account.
    pub demo_account: bool,
}

/// Creates an account. A taken e-mail is `Conflict("users_email_unique"/"users.email")`.
pub async fn create(tx: &mut Tx, new: &NewAccount, now: Timestamp) -> Result<UserId> {
    let id = UserId::new();
    sqlx::query(
        "INSERT INTO users (id, organisation_id, email, display_name, role, password_hash, all_territories, \
         demo_account, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id.to_string())
    .bind(new.organisation.to_string())
    .bind(new.email.as_str())
    .bind(&new.display_name)
    .bind(new.role.code())
    .bind(new.password_hash.clone())
    .bind(b(new.territories.is_none()))
    .bind(b(new.demo_account))
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await
    .classify()?;
    for t in new.territories.iter().flatten() {
        sqlx::query("INSERT INTO user_territories (user_id, territory_id) VALUES ($1, $2)").bind(id.to_string()).bind(t.to_string()).execute(&mut **tx).await?;
    }
    for g in &new.field_groups {
        if new.role.grantable_field_groups().contains(g) {
            sqlx::query("INSERT INTO user_field_groups (user_id, field_group) VALUES ($1, $2)").bind(id.to_string()).bind(g.code()).execute(&mut **tx).await?;
        }
    }
    Ok(id)
}

/// One account by id.
pub async fn get(db: &Db, id: UserId) -> Result<Account> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// One account by login e-mail.
pub async fn by_email(db: &Db, email: &EmailAddress) -> Result<Option<Account>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE email = $1")).bind(email.as_str()).fetch_optional(db.pool()).await?;
    row.as_ref().map(from_row).transpose()
}

/// Accounts of an organisation (or every organisation), by name.
pub async fn list(db: &Db, organisation: Option<OrganisationId>) -> Result<Vec<Account>> {
    let rows = match organisation {
        Some(org) => {
            sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE organisation_id = $1 ORDER BY display_name"))
                .bind(org.to_string())
                .fetch_all(db.pool())
                .await?
        }
        None => sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY display_name")).fetch_all(db.pool()).await?,
    };
    rows.iter().map(from_row).collect()
}

/// Number of accounts (to know whether the instance is new).
pub async fn count(db: &Db) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(db.pool()).await?)
}

/// The grants of an active account, read fresh (None if disabled or unknown).
pub async fn actor(db: &Db, id: UserId) -> Result<Option<Actor>> {
    let account = match get(db, id).await {
        Ok(a) if !a.disabled => a,
        Ok(_) | Err(StorageError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(actor_of(db, &account).await?))
}

/// The grants of an account.
pub async fn actor_of(db: &Db, account: &Account) -> Result<Actor> {
    // One round trip for the three lists (every authenticated request pays it).
    let rows = sqlx::query(
        "SELECT 't' AS grant_kind, territory_id AS grant_value FROM user_territories WHERE user_id = $1 \
         UNION ALL SELECT 'g', field_group FROM user_field_groups WHERE user_id = $1 \
         UNION ALL SELECT 'c', case_id FROM case_members WHERE user_id = $1",
    )
    .bind(account.id)
    .fetch_all(db.pool())
    .await?;
    actor_from(account, &rows)
}

/// The actor of an account from rows of grants (`grant_kind`: `t` territory,
/// `g` field group, `c` case; `grant_value`), rows without a kind skipped.
pub(crate) fn actor_from(account: &Account, rows: &[sqlx::any::AnyRow]) -> Result<Actor> {
    let (mut territories, mut field_groups, mut cases) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for row in rows {
        let (Some(kind), Some(value)): (Option<String>, Option<String>) = (row.try_get("grant_kind")?, row.try_get("grant_value")?) else { continue };
        match kind.as_str() {
            "t" => {
                territories.insert(parse_id::<TerritoryId>(value, "user_territories")?);
            }
            "g" => field_groups.extend(FieldGroup::from_code(&value)),
            _ => {
                cases.insert(parse_id::<CaseId>(value, "case_members")?);
            }
        }
    }
    Ok(Actor {
        user: account.id,
        organisation: account.organisation,
        role: account.role,
        territories: if account.all_territories { TerritoryScope::All } else { TerritoryScope::Only(territories.into_iter().collect()) },
        field_groups: field_groups.into_iter().collect(),
        cases,
    })
}

/// Sets the password hash.
pub async fn set_password(tx: &mut Tx, id: UserId, hash: &str, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2, version = version + 1 WHERE id = $3")
        .bind(hash)
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Changes an account's login e-mail ([`StorageError::Conflict`] on `email` when taken).
pub async fn set_email(tx: &mut Tx, id: UserId, email: &EmailAddress, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE users SET email = $1, updated_at = $2, version = version + 1 WHERE id = $3")
        .bind(email.as_str())
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await
        .map_err(StorageError::classify)?;
    Ok(())
}

/// Stores a new, not yet confirmed TOTP secret.
pub async fn set_pending_totp(tx: &mut Tx, id: UserId, secret: &str) -> Result<()> {
    sqlx::query("UPDATE users SET totp_secret = $1, totp_enabled = 0, totp_last_step = 0 WHERE id = $2")
        .bind(secret)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Confirms enrolment and replaces the recovery codes (given hashed).
pub async fn enable_totp(tx: &mut Tx, id: UserId, step: i64, recovery_hashes: &[String]) -> Result<()> {
    sqlx::query("UPDATE users SET totp_enabled = 1, totp_last_step = $1, version = version + 1 WHERE id = $2")
        .bind(step)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    for h in recovery_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)").bind(id.to_string()).bind(h).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Records that TOTP step `step` was used, only if it is newer than the last
/// one (so a code works once). Returns false if it was already used.
pub async fn consume_totp_step(tx: &mut Tx, id: UserId, step: i64) -> Result<bool> {
    let done =
        sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1").bind(step).bind(id.to_string()).execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

/// Uses a recovery code (given hashed) once. Returns whether it was valid.
pub async fn consume_recovery_code(tx: &mut Tx, id: UserId, hash: &str, now: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
        .bind(now.as_micros())
        .bind(id.to_string())
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Unused recovery codes left.
pub async fn recovery_codes_left(db: &Db, id: UserId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL").bind(id.to_string()).fetch_one(db.pool()).await?)
}

/// Removes the second factor (administrator reset): the account enrols again at next login.
pub async fn reset_totp(tx: &mut Tx, id: UserId) -> Result<()> {
    sqlx::query("UPDATE users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = 0, version = version + 1 WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Disables or re-enables an account. Disabling ends its sessions and
/// tokens; re-enabling counts as activity (so that the inactivity rule does
/// not disable it again at once).
pub async fn set_disabled(tx: &mut Tx, id: UserId, disabled: bool, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE users SET disabled = $1, updated_at = $2, version = version + 1, \
         last_active_at = CASE WHEN $1 = 0 THEN $2 ELSE last_active_at END WHERE id = $3",
    )
    .bind(b(disabled))
    .bind(now.as_micros())
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?;
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now.as_micros())
            .bind(id.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Records that an account was active at `now` (a login, a use of its API
/// token) — written at most once a day per account, not at every request:
/// with `last` (as the caller read it) less than a day old, nothing is
/// written, not even a write transaction begun.
pub async fn mark_active(db: &Db, id: UserId, last: Option<Timestamp>, now: Timestamp) -> Result<()> {
    if last.is_some_and(|l| l >= now.plus_seconds(-86_400)) {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET last_active_at = $1 WHERE id = $2 AND (last_active_at IS NULL OR last_active_at < $3)")
        .bind(now.as_micros())
        .bind(id.to_string())
        .bind(now.plus_seconds(-86_400).as_micros())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Enabled accounts (instance administrators aside: disabling the last one
/// would lock the instance) not active since `before`.
pub async fn inactive_since(db: &Db, before: Timestamp) -> Result<Vec<(UserId, OrganisationId)>> {
    let rows = sqlx::query(
        "SELECT id, organisation_id FROM users WHERE disabled = 0 AND role <> 'instance_admin' AND COALESCE(last_active_at, created_at) < $1 ORDER BY id",
    )
    .bind(before.as_micros())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("organisation_id")?))).collect()
}

/// Disables an account if it is still enabled and still inactive since
/// `before` (a compare-and-set: of several instances running the same pass,
/// one disables it); ends its sessions and revokes its tokens. Returns
/// whether this call disabled it.
pub async fn disable_if_inactive(tx: &mut Tx, id: UserId, before: Timestamp, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET disabled = 1, updated_at = $1, version = version + 1 \
         WHERE id = $2 AND disabled = 0 AND COALESCE(last_active_at, created_at) < $3",
    )
    .bind(now.as_micros())
    .bind(id.to_string())
    .bind(before.as_micros())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// Changes role, territories and field groups, if the account is still at `version`.
pub async fn set_grants(
    tx: &mut Tx,
    id: UserId,
    role: Role,
    territories: Option<&[TerritoryId]>,
    groups: &[FieldGroup],
    version: i64,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE users SET role = $1, all_territories = $2, updated_at = $3, version = version + 1 \
         WHERE id = $4 AND version = $5",
    )
    .bind(role.code())
    .bind(b(territories.is_none()))
    .bind(now.as_micros())
    .bind(id.to_string())
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    sqlx::query("DELETE FROM user_territories WHERE user_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    for t in territories.into_iter().flatten() {
        sqlx::query("INSERT INTO user_territories (user_id, territory_id) VALUES ($1, $2)").bind(id.to_string()).bind(t.to_string()).execute(&mut **tx).await?;
    }
    sqlx::query("DELETE FROM user_field_groups WHERE user_id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    for g in groups.iter().filter(|g| role.grantable_field_groups().contains(g)) {
        sqlx::query("INSERT INTO user_field_groups (user_id, field_group) VALUES ($1, $2)").bind(id.to_string()).bind(g.code()).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Sets the preferred language.
pub async fn set_lang(tx: &mut Tx, id: UserId, lang: &str) -> Result<()> {
    sqlx::query("UPDATE users SET lang = $1 WHERE id = $2").bind(lang).bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Adds the account to a case team (used by case work).
pub async fn add_case_member(tx: &mut Tx, case: CaseId, user: UserId) -> Result<()> {
    sqlx::query("INSERT INTO case_members (case_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(case.to_string())
        .bind(user.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- login attempts

/// Records a login attempt. `account_key` is a hash of the typed e-mail, never the e-mail itself.
pub async fn record_attempt(tx: &mut Tx, account_key: &str, ip: &str, ok: bool, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO login_attempts (id, account_key, ip, at, succeeded) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(account_key)
        .bind(ip)
        .bind(now.as_micros())
        .bind(b(ok))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Takes a turn to check a secret (a password, a second-factor code): when
/// fewer than `limit` failures for `account_key` and fewer than `ip_limit`
/// for `ip` were recorded since `since`, records this attempt as a failure
/// and gives its id (the caller settles it with [`settle_attempt`] once the
/// secret is checked); otherwise `None`. The count and the record are one
/// serialised step — an advisory lock per key on PostgreSQL, the write lock
/// on SQLite — so concurrent attempts cannot all pass the count before any
/// is recorded: at most `limit` secrets are ever checked in a window.
pub async fn reserve_attempt(db: &Db, account_key: &str, ip: &str, since: Timestamp, limit: i64, ip_limit: i64, now: Timestamp) -> Result<Option<String>> {
    let mut tx = db.begin().await?;
    if db.backend() == crate::Backend::Postgres {
        for key in [account_key, ip] {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))").bind(format!("login-attempt:{key}")).execute(&mut *tx).await?;
        }
    }
    let by_account: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE account_key = $1 AND at >= $2 AND succeeded = 0")
        .bind(account_key)
        .bind(since.as_micros())
        .fetch_one(&mut *tx)
        .await?;
    let by_ip: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND at >= $2 AND succeeded = 0")
        .bind(ip)
        .bind(since.as_micros())
        .fetch_one(&mut *tx)
        .await?;
    if by_account >= limit || by_ip >= ip_limit {
        tx.rollback().await?;
        return Ok(None);
    }
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO login_attempts (id, account_key, ip, at, succeeded) VALUES ($1, $2, $3, $4, 0)")
        .bind(&id)
        .bind(account_key)
        .bind(ip)
        .bind(now.as_micros())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Settles a reserved attempt: a success no longer counts as a failure.
pub async fn settle_attempt(tx: &mut Tx, id: &str, ok: bool) -> Result<()> {
    sqlx::query("UPDATE login_attempts SET succeeded = $1 WHERE id = $2").bind(b(ok)).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Failed attempts since `since` for an account key and for an IP address.
pub async fn recent_failures(db: &Db, account_key: &str, ip: &str, since: Timestamp) -> Result<(i64, i64)> {
    let by_account: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE account_key = $1 AND at >= $2 AND succeeded = 0")
        .bind(account_key)
        .bind(since.as_micros())
        .fetch_one(db.pool())
        .await?;
    let by_ip: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND at >= $2 AND succeeded = 0")
        .bind(ip)
        .bind(since.as_micros())
        .fetch_one(db.pool())
        .await?;
    Ok((by_account, by_ip))
}

// ---------------------------------------------------------------- invitations

/// A pending invitation.
#[derive(Clone, Debug)]
pub struct Invitation {
    /// Id.
    pub id: InvitationId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// E-mail invited.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// Role offered.
    pub role: Role,
    /// Expiry.
    pub expires_at: Timestamp,
    /// When accepted.
    pub accepted_at: Option<Timestamp>,
}

/// Stores an invitation (token given hashed).
#[allow(clippy::too_many_arguments)]
pub async fn create_invitation(
    tx: &mut Tx,
    organisation: OrganisationId,
    email: &EmailAddress,
    display_name: &str,
    role: Role,
    token_hash: &str,
    invited_by: UserId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<InvitationId> {
    let id = InvitationId::new();
    sqlx::query(
        "INSERT INTO invitations (id, organisation_id, email, display_name, role, token_hash, invited_by, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(email.as_str())
    .bind(display_name)
    .bind(role.code())
    .bind(token_hash)
    .bind(invited_by.to_string())
    .bind(now.as_micros())
    .bind(expires_at.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The invitation behind a token hash, if any.
pub async fn invitation_by_token(db: &Db, token_hash: &str) -> Result<Option<Invitation>> {
    let row = sqlx::query("SELECT id, organisation_id, email, display_name, role, expires_at, accepted_at FROM invitations WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| {
        let role: String = r.try_get("role")?;
        Ok(Invitation {
            id: parse_id(r.try_get("id")?, "invitations.id")?,
            organisation: parse_id(r.try_get("organisation_id")?, "invitations.organisation_id")?,
            email: r.try_get("email")?,
            display_name: r.try_get("display_name")?,
            role: Role::from_code(&role).ok_or(StorageError::Corrupt("invitations.role"))?,
            expires_at: Timestamp::from_micros(r.try_get("expires_at")?),
            accepted_at: r.try_get::<Option<i64>, _>("accepted_at")?.map(Timestamp::from_micros),
        })
    })
    .transpose()
}

/// Marks an invitation used; false if it was already.
pub async fn accept_invitation(tx: &mut Tx, id: InvitationId, now: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL")
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- password resets

/// Stores a reset token (hashed).
pub async fn create_reset(tx: &mut Tx, user: UserId, token_hash: &str, now: Timestamp, expires_at: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user.to_string())
        .bind(now.as_micros())
        .bind(expires_at.as_micros())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The account of a valid, unused reset token.
pub async fn reset_user(db: &Db, token_hash: &str, now: Timestamp) -> Result<Option<UserId>> {
    let id: Option<String> = sqlx::query_scalar("SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
        .bind(token_hash)
        .bind(now.as_micros())
        .fetch_optional(db.pool())
        .await?;
    id.map(|s| parse_id(s, "password_resets.user_id")).transpose()
}

/// Uses a reset token once.
pub async fn use_reset(tx: &mut Tx, token_hash: &str, now: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
        .bind(now.as_micros())
        .bind(token_hash)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every reset link of an account that is still open (after a
/// successful reset: the other links mailed before it no longer work).
pub async fn end_resets(tx: &mut Tx, user: UserId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL").bind(now.as_micros()).bind(user).execute(&mut **tx).await?;
    Ok(())
}

/// The organisation of an account, inside a transaction.
pub async fn organisation_of(tx: &mut Tx, user: UserId) -> Result<OrganisationId> {
    let org: Option<OrganisationId> = sqlx::query_scalar("SELECT organisation_id FROM users WHERE id = $1").bind(user).fetch_optional(&mut **tx).await?;
    org.ok_or(StorageError::NotFound)
}
