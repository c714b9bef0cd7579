//! The e-mail outbox: mails are written in the transaction of the change that
//! causes them and sent later by the outbox worker, with retries.

use sqlx::Row;
use veille_domain::{OutboxId, Timestamp};

use crate::db::{Db, Tx};
use crate::error::{Result, StorageError};

/// A mail waiting to be sent.
#[derive(Clone, Debug)]
pub struct Mail {
    /// Id.
    pub id: OutboxId,
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it was due as read (the claim compares it).
    pub next_attempt_at: i64,
}

/// Queues a mail.
pub async fn enqueue(tx: &mut Tx, to: &str, subject: &str, body: &str, now: Timestamp) -> Result<OutboxId> {
    let id = OutboxId::new();
    sqlx::query("INSERT INTO outbox (id, to_address, subject, body_text, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5)")
        .bind(id.to_string())
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Mails due now, oldest first.
pub async fn due(db: &Db, now: Timestamp, limit: i64) -> Result<Vec<Mail>> {
    let rows = sqlx::query(
        "SELECT id, to_address, subject, body_text, attempts, next_attempt_at FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
         AND attempts < 10 ORDER BY created_at LIMIT $2",
    )
    .bind(now.as_micros())
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Ok(Mail {
                id: id.parse().map_err(|_| StorageError::Corrupt("outbox.id"))?,
                to: r.try_get("to_address")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body_text")?,
                attempts: r.try_get("attempts")?,
                next_attempt_at: r.try_get("next_attempt_at")?,
            })
        })
        .collect()
}

/// Marks a mail sent and forgets its body.
pub async fn mark_sent(db: &Db, id: OutboxId, now: Timestamp) -> Result<()> {
    // Once sent, the body is not kept: it holds one-time links (reset,
    // invitation, follow-up, partner) that must not outlive their mail in the
    // database or its backups.
    db.execute_alone(
        sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL, body_text = '' WHERE id = $2")
            .bind(now.as_micros())
            .bind(id.to_string()),
    )
    .await?;
    Ok(())
}

/// Claims a due mail for one sender until `lease_until`: several instances
/// of veille share one database, and only the one whose claim moves the
/// mail's next attempt from what it read sends it (the others see it moved).
/// A sender that dies holding a claim leaves the mail due again when the
/// lease ends.
pub async fn claim(db: &Db, mail: &Mail, lease_until: Timestamp) -> Result<bool> {
    let done = db
        .execute_alone(
            sqlx::query("UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND sent_at IS NULL AND next_attempt_at = $3")
                .bind(lease_until.as_micros())
                .bind(mail.id)
                .bind(mail.next_attempt_at),
        )
        .await?;
    Ok(done == 1)
}

/// Records a failed attempt and when to try again (exponential back-off).
pub async fn mark_failed(db: &Db, id: OutboxId, attempts: i64, error: &str, now: Timestamp) -> Result<()> {
    let delay = 30_i64.saturating_mul(1 << attempts.clamp(0, 10));
    db.execute_alone(
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3")
            .bind(error)
            .bind(now.plus_seconds(delay).as_micros())
            .bind(id.to_string()),
    )
    .await?;
    Ok(())
}

/// Mails not yet sent.
pub async fn pending_count(db: &Db) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetch_one(db.pool()).await?)
}
