//! Referrals (orientations): to a service of the partner directory
//! (`service_id`, a seam: the directory is built elsewhere) or to a partner
//! named in words, optionally a partner organisation of the instance whose
//! users answer from their queue; otherwise the partner answers through an
//! unguessable, expiring link (stored hashed, with a code given orally).
//! Every change is a timeline event.

use sqlx::Row;
use veille_domain::people::ReferralStatus;
use veille_domain::{OrganisationId, PersonId, ReferralId, Timestamp, UserId};

use crate::db::{b, claim, Db, Tx, Versioned};
use crate::error::{Result, StorageError};
use crate::people::{code, parse_as, parse_opt};

/// A stored referral.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Referral {
    /// Id.
    pub id: ReferralId,
    /// The sending organisation (owner).
    pub organisation: OrganisationId,
    /// The person oriented.
    pub person: PersonId,
    /// The service of the partner directory, if chosen there.
    pub service_id: Option<String>,
    /// The partner in words.
    pub partner_name: String,
    /// The partner organisation of the instance, if it has accounts.
    pub partner_organisation: Option<OrganisationId>,
    /// Where the partner link is mailed (a service's address, never the person's).
    pub partner_email: Option<String>,
    /// Why.
    pub reason: String,
    /// The person's consent to this referral was confirmed.
    pub consent_confirmed: bool,
    /// Without consent: why it was urgent (audited).
    pub urgent_override_reason: Option<String>,
    /// Status.
    pub status: ReferralStatus,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
    /// Until when the partner may answer before it expires back to the sender.
    pub answer_due_at: Option<Timestamp>,
    /// When the partner answered.
    pub answered_at: Option<Timestamp>,
    /// The partner's answer.
    pub answer: String,
    /// The partner user who answered (none through the link).
    pub answered_by: Option<UserId>,
    /// `queue` (a partner user) or `link` (the partner link).
    pub answered_via: Option<String>,
    /// When the outcome (done, not honoured) was recorded.
    pub outcome_at: Option<Timestamp>,
    /// SHA-256 of the partner code given orally.
    #[serde(skip)]
    pub link_code_hash: Option<String>,
    /// Whether a partner link exists.
    pub has_link: bool,
    /// Until when the partner link works.
    pub link_expires_at: Option<Timestamp>,
    /// When the partner link was revoked.
    pub link_revoked_at: Option<Timestamp>,
    /// Wrong codes typed on the partner link.
    pub link_failures: i64,
    /// Who wrote it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Version.
    pub version: i64,
}

impl Referral {
    /// A referral not written yet (to decide access before writing it).
    pub fn draft(organisation: OrganisationId, new: &NewReferral) -> Referral {
        Referral {
            id: ReferralId::new(),
            organisation,
            person: new.person,
            service_id: new.service_id.clone(),
            partner_name: new.partner_name.clone(),
            partner_organisation: new.partner_organisation,
            partner_email: new.partner_email.clone(),
            reason: new.reason.clone(),
            consent_confirmed: new.consent_confirmed,
            urgent_override_reason: new.urgent_override_reason.clone(),
            status: ReferralStatus::Proposed,
            sent_at: None,
            answer_due_at: None,
            answered_at: None,
            answer: String::new(),
            answered_by: None,
            answered_via: None,
            outcome_at: None,
            link_code_hash: None,
            has_link: false,
            link_expires_at: None,
            link_revoked_at: None,
            link_failures: 0,
            created_by: None,
            created_at: Timestamp::from_micros(0),
            updated_at: Timestamp::from_micros(0),
            version: 0,
        }
    }

    /// Whether the partner link works at `now`.
    pub fn link_live(&self, now: Timestamp) -> bool {
        self.has_link && self.link_revoked_at.is_none() && self.link_expires_at.is_some_and(|e| now < e)
    }
}

/// A referral to write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewReferral {
    /// The person.
    pub person: PersonId,
    /// Directory service.
    pub service_id: Option<String>,
    /// Partner in words.
    pub partner_name: String,
    /// Partner organisation of the instance.
    pub partner_organisation: Option<OrganisationId>,
    /// Partner's e-mail for the link.
    pub partner_email: Option<String>,
    /// Why.
    pub reason: String,
    /// Consent confirmed.
    pub consent_confirmed: bool,
    /// Urgent override reason.
    pub urgent_override_reason: Option<String>,
}

const COLUMNS: &str = "id, organisation_id, person_id, service_id, partner_name, partner_organisation_id, partner_email, reason, \
    consent_confirmed, urgent_override_reason, status, sent_at, answer_due_at, answered_at, answer, answered_by, answered_via, outcome_at, \
    link_token_hash, link_code_hash, link_expires_at, link_revoked_at, link_failures, created_by, created_at, updated_at, version";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Referral> {
    let ts = |c: &str| -> Result<Option<Timestamp>> { Ok(r.try_get::<Option<i64>, _>(c)?.map(Timestamp::from_micros)) };
    Ok(Referral {
        id: parse_as(r.try_get("id")?, "referrals.id")?,
        organisation: parse_as(r.try_get("organisation_id")?, "referrals.organisation_id")?,
        person: parse_as(r.try_get("person_id")?, "referrals.person_id")?,
        service_id: r.try_get("service_id")?,
        partner_name: r.try_get("partner_name")?,
        partner_organisation: parse_opt(r.try_get("partner_organisation_id")?, "referrals.partner_organisation_id")?,
        partner_email: r.try_get("partner_email")?,
        reason: r.try_get("reason")?,
        consent_confirmed: r.try_get::<i64, _>("consent_confirmed")? != 0,
        urgent_override_reason: r.try_get("urgent_override_reason")?,
        status: code(&r.try_get::<String, _>("status")?, ReferralStatus::from_code, "referrals.status")?,
        sent_at: ts("sent_at")?,
        answer_due_at: ts("answer_due_at")?,
        answered_at: ts("answered_at")?,
        answer: r.try_get("answer")?,
        answered_by: parse_opt(r.try_get("answered_by")?, "referrals.answered_by")?,
        answered_via: r.try_get("answered_via")?,
        outcome_at: ts("outcome_at")?,
        has_link: r.try_get::<Option<String>, _>("link_token_hash")?.is_some(),
        link_code_hash: r.try_get("link_code_hash")?,
        link_expires_at: ts("link_expires_at")?,
        link_revoked_at: ts("link_revoked_at")?,
        link_failures: r.try_get("link_failures")?,
        created_by: parse_opt(r.try_get("created_by")?, "referrals.created_by")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        updated_at: Timestamp::from_micros(r.try_get("updated_at")?),
        version: r.try_get("version")?,
    })
}

/// Writes a proposed referral.
pub async fn create(tx: &mut Tx, organisation: OrganisationId, new: &NewReferral, by: UserId, now: Timestamp) -> Result<ReferralId> {
    let id = ReferralId::new();
    sqlx::query(
        "INSERT INTO referrals (id, organisation_id, person_id, service_id, partner_name, partner_organisation_id, partner_email, reason, \
         consent_confirmed, urgent_override_reason, status, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(new.person.to_string())
    .bind(new.service_id.clone())
    .bind(&new.partner_name)
    .bind(new.partner_organisation.map(|o| o.to_string()))
    .bind(new.partner_email.clone())
    .bind(&new.reason)
    .bind(b(new.consent_confirmed))
    .bind(new.urgent_override_reason.clone())
    .bind(ReferralStatus::Proposed.code())
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    add_event(tx, id, now, Some(by), "staff", "created", None, Some(ReferralStatus::Proposed.code()), "").await?;
    Ok(id)
}

/// One referral.
pub async fn get(db: &Db, id: ReferralId) -> Result<Referral> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM referrals WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// One referral, read inside a transaction (sees what it wrote).
pub async fn get_in(tx: &mut Tx, id: ReferralId) -> Result<Referral> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM referrals WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// The referral of a partner link, by the hash of its token.
pub async fn by_link(db: &Db, token_hash: &str) -> Result<Option<Referral>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM referrals WHERE link_token_hash = $1"))
        .bind(token_hash)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Referrals sent by an organisation, newest first.
pub async fn sent_by(db: &Db, organisation: OrganisationId, limit: i64) -> Result<Vec<Referral>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM referrals WHERE organisation_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"))
        .bind(organisation.to_string())
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Referrals addressed to a partner organisation (its queue), that were sent
/// at least once, newest first.
pub async fn addressed_to(db: &Db, partner: OrganisationId, limit: i64) -> Result<Vec<Referral>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM referrals WHERE partner_organisation_id = $1 AND sent_at IS NOT NULL ORDER BY sent_at DESC, id DESC LIMIT $2"
    ))
    .bind(partner.to_string())
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The referrals of these people (a merged view), newest first.
pub async fn of_people(db: &Db, people: &[PersonId]) -> Result<Vec<Referral>> {
    let mut out = Vec::new();
    for p in people {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM referrals WHERE person_id = $1"))
            .bind(p.to_string())
            .fetch_all(db.pool())
            .await?;
        for r in &rows {
            out.push(from_row(r)?);
        }
    }
    out.sort_by(|a: &Referral, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(out)
}

/// Sent referrals whose answer is due at or before `now` (the expiry task).
pub async fn due_for_expiry(db: &Db, now: Timestamp) -> Result<Vec<Referral>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM referrals WHERE status = 'sent' AND answer_due_at <= $1 ORDER BY answer_due_at, id"))
        .bind(now.as_micros())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Changes the status if the referral is still at `version` and in the status
/// it was read in, with its timeline event.
#[allow(clippy::too_many_arguments)]
async fn move_to(tx: &mut Tx, r: &Referral, to: ReferralStatus, actor: Option<UserId>, via: &str, detail: &str, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Referrals, r.id, version, now).await?;
    let done = sqlx::query("UPDATE referrals SET status = $1 WHERE id = $2 AND status = $3")
        .bind(to.code())
        .bind(r.id.to_string())
        .bind(r.status.code())
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    add_event(tx, r.id, now, actor, via, "status", Some(r.status.code()), Some(to.code()), detail).await
}

/// A partner link to store with a sending: hashes of the token and of the
/// code, and its expiry.
#[derive(Clone, Debug)]
pub struct NewLink {
    /// SHA-256 of the token in the URL.
    pub token_hash: String,
    /// SHA-256 of the code given orally.
    pub code_hash: String,
    /// Until when it works.
    pub expires_at: Timestamp,
}

/// Sends (or sends again) a referral: the answer is due by `due`; a partner
/// link replaces any earlier one.
#[allow(clippy::too_many_arguments)]
pub async fn send(tx: &mut Tx, r: &Referral, due: Timestamp, link: Option<&NewLink>, by: UserId, version: i64, now: Timestamp) -> Result<()> {
    move_to(tx, r, ReferralStatus::Sent, Some(by), "staff", "", version, now).await?;
    sqlx::query(
        "UPDATE referrals SET sent_at = $1, answer_due_at = $2, link_token_hash = $3, link_code_hash = $4, link_expires_at = $5, \
         link_revoked_at = NULL, link_failures = 0 WHERE id = $6",
    )
    .bind(now.as_micros())
    .bind(due.as_micros())
    .bind(link.map(|l| l.token_hash.clone()))
    .bind(link.map(|l| l.code_hash.clone()))
    .bind(link.map(|l| l.expires_at.as_micros()))
    .bind(r.id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Who answers a referral, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A partner user from the queue (or a sender's staff, for outcomes).
    Staff(UserId),
    /// The partner link.
    Link,
}

impl Via {
    fn parts(self) -> (Option<UserId>, &'static str) {
        match self {
            Via::Staff(u) => (Some(u), "staff"),
            Via::Link => (None, "link"),
        }
    }
}

/// The partner's answer: accepted or declined, with its message.
pub async fn answer(tx: &mut Tx, r: &Referral, to: ReferralStatus, text: &str, via: Via, version: i64, now: Timestamp) -> Result<()> {
    let (user, channel) = via.parts();
    move_to(tx, r, to, user, channel, "", version, now).await?;
    sqlx::query("UPDATE referrals SET answer = $1, answered_at = $2, answered_by = $3, answered_via = $4 WHERE id = $5")
        .bind(text)
        .bind(now.as_micros())
        .bind(user.map(|u| u.to_string()))
        .bind(if channel == "link" { "link" } else { "queue" })
        .bind(r.id.to_string())
        .execute(&mut **tx)
        .await?;
    if to.is_final() {
        revoke_link(tx, r.id, now).await?;
    }
    Ok(())
}

/// The outcome: done or not honoured (the partner link ends with it).
pub async fn outcome(tx: &mut Tx, r: &Referral, to: ReferralStatus, note: &str, via: Via, version: i64, now: Timestamp) -> Result<()> {
    let (user, channel) = via.parts();
    move_to(tx, r, to, user, channel, note, version, now).await?;
    sqlx::query("UPDATE referrals SET outcome_at = $1 WHERE id = $2").bind(now.as_micros()).bind(r.id.to_string()).execute(&mut **tx).await?;
    revoke_link(tx, r.id, now).await
}

/// Withdrawn by the sender (the partner link ends with it).
pub async fn cancel(tx: &mut Tx, r: &Referral, reason: &str, by: UserId, version: i64, now: Timestamp) -> Result<()> {
    move_to(tx, r, ReferralStatus::Cancelled, Some(by), "staff", reason, version, now).await?;
    revoke_link(tx, r.id, now).await
}

/// Unanswered in time: back to the sender (the partner link ends with it).
pub async fn expire(tx: &mut Tx, r: &Referral, now: Timestamp) -> Result<()> {
    move_to(tx, r, ReferralStatus::Expired, None, "system", "", r.version, now).await?;
    revoke_link(tx, r.id, now).await
}

/// Ends the partner link.
pub async fn revoke_link(tx: &mut Tx, id: ReferralId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE referrals SET link_revoked_at = $1 WHERE id = $2 AND link_token_hash IS NOT NULL AND link_revoked_at IS NULL")
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Counts a wrong code typed on the partner link; returns how many so far.
pub async fn record_link_failure(tx: &mut Tx, id: ReferralId) -> Result<i64> {
    sqlx::query("UPDATE referrals SET link_failures = link_failures + 1 WHERE id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    Ok(sqlx::query_scalar("SELECT link_failures FROM referrals WHERE id = $1").bind(id.to_string()).fetch_one(&mut **tx).await?)
}

/// Adds a timeline event. `via`: `staff`, `link` or `system`.
#[allow(clippy::too_many_arguments)]
pub async fn add_event(
    tx: &mut Tx,
    referral: ReferralId,
    at: Timestamp,
    actor: Option<UserId>,
    via: &str,
    kind: &str,
    from: Option<&str>,
    to: Option<&str>,
    detail: &str,
) -> Result<()> {
    let actor = match actor {
        Some(u) => Some((u, crate::accounts::organisation_of(tx, u).await?)),
        None => None,
    };
    let via: veille_domain::records::Via = via.parse().map_err(|_| crate::StorageError::Corrupt("timeline.via"))?;
    crate::timeline::append(tx, &crate::timeline::NewEvent::new(veille_domain::records::RecordKind::Referral, referral, at, actor, kind).change(from, to).detail(detail).via(via)).await
}

/// The timeline, oldest first.
pub async fn events(db: &Db, id: ReferralId) -> Result<Vec<crate::timeline::Event>> {
    crate::timeline::of(db, veille_domain::records::RecordKind::Referral, id).await
}
