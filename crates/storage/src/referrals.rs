//! Referrals (orientations): to a service of the partner directory
//! (`service_id`, a seam: the directory is built elsewhere) or to a partner
//! named in words, optionally a partner organisation of the instance whose
//! users answer from their queue; otherwise the partner answers through an
//! unguessable, expiring link (stored hashed, with a code given orally).
//! Every change is a timeline event, appended by the application's command
//! that makes it (`veille_app::people::referrals`).
//!
//! Every function that returns referrals takes the caller's [`Scope`] and
//! applies it in SQL with [`ACCESS_COLUMNS`] (the columns
//! `veille_app::people::referral_resource` describes one with): a referral
//! belongs to its sender, lies in its person's territory and is shared with
//! its partner organisation.

use sqlx::Row;
use veille_domain::people::ReferralStatus;
use veille_domain::{OrganisationId, PersonId, ReferralId, Timestamp, UserId};

use crate::db::{b, claim, Db, Tx, Versioned};
use crate::error::{Result, StorageError};
use crate::people::push_ids;
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns, Shared, Window};

/// Where referrals keep what the read rules look at: the sending
/// organisation, the territory of the person's file (joined as `rp`), and
/// the partner organisation it is shared with. Rows are read as
/// `referrals r JOIN people rp ON rp.id = r.person_id`.
pub const ACCESS_COLUMNS: RecordColumns<'static> = RecordColumns {
    organisation: "r.organisation_id",
    territory: Some("rp.territory_id"),
    case: None,
    shared_with: Some(Shared::Column("r.partner_organisation_id")),
};

const FROM: &str = "FROM referrals r JOIN people rp ON rp.id = r.person_id";

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

const COLUMNS: &str = "r.id, r.organisation_id, r.person_id, r.service_id, r.partner_name, r.partner_organisation_id, r.partner_email, r.reason, \
    r.consent_confirmed, r.urgent_override_reason, r.status, r.sent_at, r.answer_due_at, r.answered_at, r.answer, r.answered_by, r.answered_via, \
    r.outcome_at, r.link_token_hash, r.link_code_hash, r.link_expires_at, r.link_revoked_at, r.link_failures, r.created_by, r.created_at, \
    r.updated_at, r.version";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Referral> {
    let ts = |c: &str| -> Result<Option<Timestamp>> { Ok(r.try_get::<Option<i64>, _>(c)?.map(Timestamp::from_micros)) };
    Ok(Referral {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        person: r.try_get("person_id")?,
        service_id: r.try_get("service_id")?,
        partner_name: r.try_get("partner_name")?,
        partner_organisation: r.try_get("partner_organisation_id")?,
        partner_email: r.try_get("partner_email")?,
        reason: r.try_get("reason")?,
        consent_confirmed: r.try_get::<i64, _>("consent_confirmed")? != 0,
        urgent_override_reason: r.try_get("urgent_override_reason")?,
        status: r.try_get("status")?,
        sent_at: ts("sent_at")?,
        answer_due_at: ts("answer_due_at")?,
        answered_at: ts("answered_at")?,
        answer: r.try_get("answer")?,
        answered_by: r.try_get("answered_by")?,
        answered_via: r.try_get("answered_via")?,
        outcome_at: ts("outcome_at")?,
        has_link: r.try_get::<Option<String>, _>("link_token_hash")?.is_some(),
        link_code_hash: r.try_get("link_code_hash")?,
        link_expires_at: ts("link_expires_at")?,
        link_revoked_at: ts("link_revoked_at")?,
        link_failures: r.try_get("link_failures")?,
        created_by: r.try_get("created_by")?,
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
    .bind(id)
    .bind(organisation)
    .bind(new.person)
    .bind(new.service_id.clone())
    .bind(&new.partner_name)
    .bind(new.partner_organisation)
    .bind(new.partner_email.clone())
    .bind(&new.reason)
    .bind(b(new.consent_confirmed))
    .bind(new.urgent_override_reason.clone())
    .bind(ReferralStatus::Proposed)
    .bind(by)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// One referral, if in the scope ([`StorageError::NotFound`] otherwise).
pub async fn get(db: &Db, scope: &Scope, id: ReferralId) -> Result<Referral> {
    let mut p = Params::new();
    let sql = by_id(scope, id, &mut p);
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// One referral in the scope, read inside a transaction (sees what it wrote).
pub async fn get_in(tx: &mut Tx, scope: &Scope, id: ReferralId) -> Result<Referral> {
    let mut p = Params::new();
    let sql = by_id(scope, id, &mut p);
    let row = p.bind(sqlx::query(&sql)).fetch_optional(&mut **tx).await?.ok_or(StorageError::NotFound)?;
    from_row(&row)
}

fn by_id(scope: &Scope, id: ReferralId, p: &mut Params) -> String {
    let id = p.push_id(id);
    let readable = scope.records(&ACCESS_COLUMNS, p);
    format!("SELECT {COLUMNS} {FROM} WHERE r.id = {id} AND {readable}")
}

/// The referral of a partner link, by the hash of its token, if in the
/// scope (the link's holder has no account: the caller names why it reads).
pub async fn by_link(db: &Db, scope: &Scope, token_hash: &str) -> Result<Option<Referral>> {
    let mut p = Params::new();
    let hash = p.push(token_hash);
    let readable = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE r.link_token_hash = {hash} AND {readable}");
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?;
    row.as_ref().map(from_row).transpose()
}

/// Which referrals a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Those an organisation wrote, newest first.
    SentBy(OrganisationId),
    /// Those addressed to a partner organisation by another one and sent at
    /// least once (its queue), most recently sent first.
    AddressedTo(OrganisationId),
}

/// The condition and the order of a list of referrals.
fn side_sql(scope: &Scope, side: Side, statuses: &[ReferralStatus], p: &mut Params) -> (String, &'static str) {
    let (mut cond, order) = match side {
        Side::SentBy(org) => (format!("r.organisation_id = {}", p.push_id(org)), "r.created_at DESC, r.id DESC"),
        Side::AddressedTo(org) => {
            let org = p.push_id(org);
            (format!("r.partner_organisation_id = {org} AND r.organisation_id <> {org} AND r.sent_at IS NOT NULL"), "r.sent_at DESC, r.id DESC")
        }
    };
    if !statuses.is_empty() {
        let list: Vec<String> = statuses.iter().map(|s| p.push(s.code())).collect();
        cond.push_str(&format!(" AND r.status IN ({})", list.join(", ")));
    }
    let readable = scope.records(&ACCESS_COLUMNS, p);
    (format!("{cond} AND {readable}"), order)
}

/// The referrals of a list within the scope, of these statuses (every
/// status when empty), in the list's order: every one, or one window.
pub async fn listed(db: &Db, scope: &Scope, side: Side, statuses: &[ReferralStatus], window: Option<Window>) -> Result<Vec<Referral>> {
    let mut p = Params::new();
    let (cond, order) = side_sql(scope, side, statuses, &mut p);
    let page = window.map(|w| w.sql(&mut p)).unwrap_or_default();
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE {cond} ORDER BY {order}{page}");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// How many referrals of a list within the scope have these statuses
/// (every status when empty).
pub async fn count_listed(db: &Db, scope: &Scope, side: Side, statuses: &[ReferralStatus]) -> Result<i64> {
    let mut p = Params::new();
    let (cond, _) = side_sql(scope, side, statuses, &mut p);
    Ok(p.bind_scalar(sqlx::query_scalar(&format!("SELECT COUNT(*) {FROM} WHERE {cond}"))).fetch_one(db.pool()).await?)
}

/// The referrals in the scope of these people (a merged view), newest first.
pub async fn of_people(db: &Db, scope: &Scope, people: &[PersonId]) -> Result<Vec<Referral>> {
    let mut out = Vec::new();
    for chunk in people.chunks(200) {
        let mut p = Params::new();
        let list = push_ids(&mut p, chunk);
        let readable = scope.records(&ACCESS_COLUMNS, &mut p);
        let sql = format!("SELECT {COLUMNS} {FROM} WHERE r.person_id IN ({list}) AND {readable}");
        for r in &p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await? {
            out.push(from_row(r)?);
        }
    }
    out.sort_by(|a: &Referral, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(out)
}

/// Sent referrals in the scope whose answer is due at or before `now` (the
/// expiry task, with an instance scope).
pub async fn due_for_expiry(db: &Db, scope: &Scope, now: Timestamp) -> Result<Vec<Referral>> {
    let mut p = Params::new();
    let sent = p.push_id(ReferralStatus::Sent);
    let now = p.push(now.as_micros());
    let readable = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE r.status = {sent} AND r.answer_due_at <= {now} AND {readable} ORDER BY r.answer_due_at, r.id");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// Changes the status if the referral is still at `version` and in the status
/// it was read in (the command appends the timeline event).
async fn move_to(tx: &mut Tx, r: &Referral, to: ReferralStatus, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Referrals, r.id, version, now).await?;
    let done = sqlx::query("UPDATE referrals SET status = $1 WHERE id = $2 AND status = $3").bind(to).bind(r.id).bind(r.status).execute(&mut **tx).await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    Ok(())
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
pub async fn send(tx: &mut Tx, r: &Referral, due: Timestamp, link: Option<&NewLink>, version: i64, now: Timestamp) -> Result<()> {
    move_to(tx, r, ReferralStatus::Sent, version, now).await?;
    sqlx::query(
        "UPDATE referrals SET sent_at = $1, answer_due_at = $2, link_token_hash = $3, link_code_hash = $4, link_expires_at = $5, \
         link_revoked_at = NULL, link_failures = 0 WHERE id = $6",
    )
    .bind(now.as_micros())
    .bind(due.as_micros())
    .bind(link.map(|l| l.token_hash.clone()))
    .bind(link.map(|l| l.code_hash.clone()))
    .bind(link.map(|l| l.expires_at.as_micros()))
    .bind(r.id)
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

/// The partner's answer: accepted or declined, with its message.
pub async fn answer(tx: &mut Tx, r: &Referral, to: ReferralStatus, text: &str, via: Via, version: i64, now: Timestamp) -> Result<()> {
    move_to(tx, r, to, version, now).await?;
    let (user, channel) = match via {
        Via::Staff(u) => (Some(u), "queue"),
        Via::Link => (None, "link"),
    };
    sqlx::query("UPDATE referrals SET answer = $1, answered_at = $2, answered_by = $3, answered_via = $4 WHERE id = $5")
        .bind(text)
        .bind(now.as_micros())
        .bind(user)
        .bind(channel)
        .bind(r.id)
        .execute(&mut **tx)
        .await?;
    if to.is_final() {
        revoke_link(tx, r.id, now).await?;
    }
    Ok(())
}

/// The outcome: done or not honoured (the partner link ends with it).
pub async fn outcome(tx: &mut Tx, r: &Referral, to: ReferralStatus, version: i64, now: Timestamp) -> Result<()> {
    move_to(tx, r, to, version, now).await?;
    sqlx::query("UPDATE referrals SET outcome_at = $1 WHERE id = $2").bind(now.as_micros()).bind(r.id).execute(&mut **tx).await?;
    revoke_link(tx, r.id, now).await
}

/// Withdrawn by the sender (the partner link ends with it).
pub async fn cancel(tx: &mut Tx, r: &Referral, version: i64, now: Timestamp) -> Result<()> {
    move_to(tx, r, ReferralStatus::Cancelled, version, now).await?;
    revoke_link(tx, r.id, now).await
}

/// Unanswered in time: back to the sender (the partner link ends with it).
pub async fn expire(tx: &mut Tx, r: &Referral, now: Timestamp) -> Result<()> {
    move_to(tx, r, ReferralStatus::Expired, r.version, now).await?;
    revoke_link(tx, r.id, now).await
}

/// Ends the partner link.
pub async fn revoke_link(tx: &mut Tx, id: ReferralId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE referrals SET link_revoked_at = $1 WHERE id = $2 AND link_token_hash IS NOT NULL AND link_revoked_at IS NULL")
        .bind(now.as_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Takes a turn to check a code typed on the partner link, counted as a
/// failure until [`return_link_turn`] gives it back (a right code): one
/// statement, so however many codes arrive at once at most `limit` are
/// checked. Returns the failures counted with this one, or `None` when the
/// link has no turn left (or is revoked).
pub async fn take_link_turn(db: &Db, id: ReferralId, limit: i64) -> Result<Option<i64>> {
    let mut tx = db.begin().await?;
    let row: Option<i64> = sqlx::query_scalar(
        "UPDATE referrals SET link_failures = link_failures + 1 WHERE id = $1 AND link_failures < $2 AND link_revoked_at IS NULL RETURNING link_failures",
    )
    .bind(id)
    .bind(limit)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Gives back a turn taken by [`take_link_turn`] (the code was right).
pub async fn return_link_turn(db: &Db, id: ReferralId) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE referrals SET link_failures = link_failures - 1 WHERE id = $1 AND link_failures > 0").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
