//! The rights of the people recorded, in the database: retention stages of
//! person files (active → archived → anonymised) and legal holds, the other
//! retention periods (reporters' contact details of closed reports, sent
//! mails, login attempts, photos), the purge of one person (anonymisation or
//! erasure) that first moves what the person counted in past figures into
//! anonymous tallies, the erasure journal, the history of changes to a file,
//! and the rows an access request exports.
//!
//! Which tables hold rows about a person comes from [`crate::personal`]
//! (`person` columns): a test fails when a declared table is not handled here.

use std::collections::BTreeMap;

use sqlx::{Column, Row};
use veille_domain::{OrganisationId, PersonId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::{Result, StorageError};
use crate::scope::Scope;
use crate::sql::Params;

/// Where a person file stands in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// In use: lists, searches, duplicate suggestions.
    #[default]
    Active,
    /// The restricted archive: out of lists, searches and duplicate
    /// suggestions; read only by the holding organisation's coordinators and
    /// administrators, with a reason, audited.
    Archived,
    /// Every personal column emptied: the row keeps ids and dates only.
    Anonymised,
}

impl Stage {
    /// Its code in the database.
    pub fn code(self) -> &'static str {
        match self {
            Stage::Active => "active",
            Stage::Archived => "archived",
            Stage::Anonymised => "anonymised",
        }
    }
    /// From its code.
    pub fn from_code(s: &str) -> Option<Stage> {
        match s {
            "active" => Some(Stage::Active),
            "archived" => Some(Stage::Archived),
            "anonymised" => Some(Stage::Anonymised),
            _ => None,
        }
    }
}

/// The tables holding rows about one person (declared with a `person`
/// column in [`crate::personal::PERSONAL`]) and what the purge does to them.
pub const PERSON_TABLES: &[(&str, Purge)] = &[
    ("people", Purge::Person),
    ("person_health", Purge::Delete),
    ("person_notes", Purge::Delete),
    ("consents", Purge::Delete),
    ("person_links", Purge::Delete),
    ("person_distinct_pairs", Purge::Delete),
    ("person_shares", Purge::Delete),
    ("person_changes", Purge::Delete),
    ("legal_holds", Purge::Delete),
    ("encounter_people", Purge::Tallied),
    // Derived from `encounter_people` by triggers, which already emptied
    // them when the person's encounters went: deleted again, to be plain.
    ("person_first_encounters", Purge::Delete),
    ("people_met", Purge::Delete),
    ("referrals", Purge::Tallied),
    ("case_people", Purge::Delete),
    ("mediation_parties", Purge::Unlink),
    ("stays", Purge::Unlink),
    ("shelter_requests", Purge::Unlink),
    ("operation_people", Purge::Unlink),
    ("tenancies", Purge::Unlink),
    ("sync_field_versions", Purge::Delete),
    ("sync_conflicts", Purge::Delete),
];

/// What the purge of a person does to a table's rows about them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purge {
    /// The person's own row: emptied (anonymisation) or deleted (erasure).
    Person,
    /// Deleted.
    Delete,
    /// Counted in the anonymous tallies of their period, then deleted.
    Tallied,
    /// Kept for the figures of the service (nights, parties, tenancies),
    /// without the person: the link is cut and the personal columns emptied.
    Unlink,
}

// ---------------------------------------------------------------------------
// Retention stages and legal holds

/// A person file the retention job looks at.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The person.
    pub id: PersonId,
    /// The holding organisation.
    pub organisation: OrganisationId,
    /// Its stage.
    pub stage: Stage,
    /// The last contact: the latest of the file's creation, its last
    /// encounter, and the last change of a referral, stay, shelter request
    /// or tenancy of the person.
    pub last_contact: Timestamp,
    /// When it entered its stage (archived files).
    pub stage_at: Option<Timestamp>,
    /// Its legal holds (placed, lifted).
    pub holds: Vec<(Timestamp, Option<Timestamp>)>,
}

impl Candidate {
    /// Whether a legal hold is in force.
    pub fn held(&self) -> bool {
        self.holds.iter().any(|(_, lifted)| lifted.is_none())
    }

    /// Seconds of `[from, now]` not covered by a legal hold: the clock stops
    /// while a hold is in force.
    pub fn running_seconds(&self, from: Timestamp, now: Timestamp) -> i64 {
        let mut spans: Vec<(i64, i64)> = self
            .holds
            .iter()
            .map(|(p, l)| (p.as_micros().max(from.as_micros()), l.unwrap_or(now).as_micros().min(now.as_micros())))
            .filter(|(a, b)| b > a)
            .collect();
        spans.sort();
        let mut held = 0i64;
        let mut end = i64::MIN;
        for (a, b) in spans {
            let a = a.max(end);
            if b > a {
                held += b - a;
            }
            end = end.max(b);
        }
        ((now.as_micros() - from.as_micros()).max(0) - held) / 1_000_000
    }
}

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_micros)
}

/// The files not anonymised yet, with what decides their stage.
pub async fn candidates(db: &Db, scope: &Scope) -> Result<Vec<Candidate>> {
    let mut p = Params::new();
    let readable = scope.records(&crate::people::ACCESS_COLUMNS, &mut p);
    let latest = |table: &str, column: &str| format!("(SELECT MAX(x.{column}) FROM {table} x WHERE x.person_id = p.id)");
    let sql = format!(
        "SELECT p.id, p.organisation_id, p.retention_stage, p.retention_stage_at, p.created_at, p.last_contact_at, {} AS r, {} AS s, {} AS q, {} AS t \
         FROM people p WHERE p.retention_stage <> 'anonymised' AND {readable} ORDER BY p.id",
        latest("referrals", "updated_at"),
        latest("stays", "updated_at"),
        latest("shelter_requests", "updated_at"),
        latest("tenancies", "updated_at"),
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    let holds = sqlx::query("SELECT person_id, placed_at, lifted_at FROM legal_holds").fetch_all(db.pool()).await?;
    let mut by_person: BTreeMap<String, Vec<(Timestamp, Option<Timestamp>)>> = BTreeMap::new();
    for h in &holds {
        by_person.entry(h.try_get("person_id")?).or_default().push((Timestamp::from_micros(h.try_get("placed_at")?), ts(h.try_get("lifted_at")?)));
    }
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let mut last: i64 = r.try_get("created_at")?;
            for c in ["last_contact_at", "r", "s", "q", "t"] {
                if let Some(v) = r.try_get::<Option<i64>, _>(c)? {
                    last = last.max(v);
                }
            }
            let stage: String = r.try_get("retention_stage")?;
            Ok(Candidate {
                id: id.parse().map_err(|_| StorageError::Corrupt("people.id"))?,
                organisation: r.try_get("organisation_id")?,
                stage: Stage::from_code(&stage).ok_or(StorageError::Corrupt("people.retention_stage"))?,
                last_contact: Timestamp::from_micros(last),
                stage_at: ts(r.try_get("retention_stage_at")?),
                holds: by_person.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

/// Moves a file to a stage (the job's archive step; a coordinator's restore
/// from the archive moves it back to active).
pub async fn set_stage(tx: &mut Tx, id: PersonId, stage: Stage, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE people SET retention_stage = $1, retention_stage_at = $2, updated_at = $2 WHERE id = $3")
        .bind(stage.code())
        .bind(now.as_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The stage of a file (any file: the caller decided it may know).
pub async fn stage_of(db: &Db, id: PersonId) -> Result<Option<Stage>> {
    let s: Option<String> = sqlx::query_scalar("SELECT retention_stage FROM people WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    s.map(|s| Stage::from_code(&s).ok_or(StorageError::Corrupt("people.retention_stage"))).transpose()
}

/// A legal hold.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Hold {
    /// Id.
    pub id: String,
    /// The person file.
    pub person: PersonId,
    /// The file's holding organisation.
    pub organisation: OrganisationId,
    /// Why (free text).
    pub reason: String,
    /// Who placed it.
    pub placed_by: Option<UserId>,
    /// When.
    pub placed_at: Timestamp,
    /// When it was lifted.
    pub lifted_at: Option<Timestamp>,
    /// Why it was lifted.
    pub lift_reason: Option<String>,
}

fn hold_from_row(r: &sqlx::any::AnyRow) -> Result<Hold> {
    Ok(Hold {
        id: r.try_get("id")?,
        person: r.try_get("person_id")?,
        organisation: r.try_get("organisation_id")?,
        reason: r.try_get("reason")?,
        placed_by: r.try_get("placed_by")?,
        placed_at: Timestamp::from_micros(r.try_get("placed_at")?),
        lifted_at: ts(r.try_get("lifted_at")?),
        lift_reason: r.try_get("lift_reason")?,
    })
}

/// Places a legal hold on a file.
pub async fn place_hold(tx: &mut Tx, person: PersonId, reason: &str, by: UserId, now: Timestamp) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO legal_holds (id, person_id, reason, placed_by, placed_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.clone())
        .bind(person)
        .bind(reason.to_owned())
        .bind(by)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Lifts a hold in force; false if there is none with this id.
pub async fn lift_hold(tx: &mut Tx, id: &str, reason: &str, by: UserId, now: Timestamp) -> Result<bool> {
    let n = sqlx::query("UPDATE legal_holds SET lifted_at = $1, lifted_by = $2, lift_reason = $3 WHERE id = $4 AND lifted_at IS NULL")
        .bind(now.as_micros())
        .bind(by)
        .bind(reason.to_owned())
        .bind(id.to_owned())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// The holds of the files in the scope (in force first, then the latest).
pub async fn holds(db: &Db, scope: &Scope, person: Option<PersonId>) -> Result<Vec<Hold>> {
    let mut p = Params::new();
    let mut conditions = vec![scope.records(&crate::people::ACCESS_COLUMNS, &mut p)];
    if let Some(id) = person {
        conditions.push(format!("h.person_id = {}", p.push_id(id)));
    }
    let sql = format!(
        "SELECT h.id, h.person_id, p.organisation_id, h.reason, h.placed_by, h.placed_at, h.lifted_at, h.lift_reason \
         FROM legal_holds h JOIN people p ON p.id = h.person_id WHERE {} \
         ORDER BY CASE WHEN h.lifted_at IS NULL THEN 0 ELSE 1 END, h.placed_at DESC, h.id",
        conditions.join(" AND ")
    );
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(hold_from_row).collect()
}

/// One hold in the scope.
pub async fn hold(db: &Db, scope: &Scope, id: &str) -> Result<Hold> {
    let mut p = Params::new();
    let hid = p.push(id.to_owned());
    let readable = scope.records(&crate::people::ACCESS_COLUMNS, &mut p);
    let sql = format!(
        "SELECT h.id, h.person_id, p.organisation_id, h.reason, h.placed_by, h.placed_at, h.lifted_at, h.lift_reason \
         FROM legal_holds h JOIN people p ON p.id = h.person_id WHERE h.id = {hid} AND {readable}"
    );
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    hold_from_row(&row)
}

// ---------------------------------------------------------------------------
// The other retention periods

/// Records of other kinds whose retention period ended before a date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Expired {
    /// Closed reports still holding the reporter's name, e-mail or phone.
    pub report_contacts: i64,
    /// Photos of closed reports.
    pub report_photos: i64,
    /// Sent mails.
    pub sent_mails: i64,
    /// Login attempts.
    pub login_attempts: i64,
    /// Attachments phones uploaded that no operation used.
    pub unused_attachments: i64,
}

/// When each kind of record expires (microsecond cut-offs: older expires).
#[derive(Clone, Copy, Debug)]
pub struct Cutoffs {
    /// Reports closed (last changed) before this lose the reporter's contact details.
    pub report_contacts: Timestamp,
    /// Reports closed before this lose their photo.
    pub report_photos: Timestamp,
    /// Mails sent before this are deleted.
    pub sent_mails: Timestamp,
    /// Login attempts before this are deleted.
    pub login_attempts: Timestamp,
    /// Attachments uploaded before this and never used are deleted.
    pub unused_attachments: Timestamp,
}

const CLOSED_WITH_CONTACT: &str =
    "status = 'closed' AND updated_at < $1 AND (reporter_name IS NOT NULL OR contact_email IS NOT NULL OR contact_phone IS NOT NULL)";

/// How many records of each kind are past their period.
pub async fn expired(db: &Db, c: &Cutoffs) -> Result<Expired> {
    let count = |sql: String, at: Timestamp| async move { sqlx::query_scalar::<_, i64>(&sql).bind(at.as_micros()).fetch_one(db.pool()).await };
    Ok(Expired {
        report_contacts: count(format!("SELECT COUNT(*) FROM reports WHERE {CLOSED_WITH_CONTACT}"), c.report_contacts).await?,
        report_photos: count(
            "SELECT COUNT(*) FROM report_photos f JOIN reports r ON r.id = f.report_id WHERE r.status = 'closed' AND r.updated_at < $1".into(),
            c.report_photos,
        )
        .await?,
        sent_mails: count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1".into(), c.sent_mails).await?,
        login_attempts: count("SELECT COUNT(*) FROM login_attempts WHERE at < $1".into(), c.login_attempts).await?,
        unused_attachments: count("SELECT COUNT(*) FROM sync_blobs WHERE created_at < $1".into(), c.unused_attachments).await?,
    })
}

/// Applies those periods; returns how many records of each kind changed.
pub async fn expire(tx: &mut Tx, c: &Cutoffs) -> Result<Expired> {
    let report_contacts = sqlx::query(&format!(
        "UPDATE reports SET reporter_name = NULL, contact_email = NULL, contact_phone = NULL, email_confirm_hash = NULL WHERE {CLOSED_WITH_CONTACT}"
    ))
    .bind(c.report_contacts.as_micros())
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    let report_photos = sqlx::query("DELETE FROM report_photos WHERE report_id IN (SELECT id FROM reports WHERE status = 'closed' AND updated_at < $1)")
        .bind(c.report_photos.as_micros())
        .execute(&mut **tx)
        .await?
        .rows_affected() as i64;
    let sent_mails =
        sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1").bind(c.sent_mails.as_micros()).execute(&mut **tx).await?.rows_affected()
            as i64;
    let login_attempts =
        sqlx::query("DELETE FROM login_attempts WHERE at < $1").bind(c.login_attempts.as_micros()).execute(&mut **tx).await?.rows_affected() as i64;
    let unused_attachments = crate::sync::drop_blobs_before(tx, c.unused_attachments).await? as i64;
    Ok(Expired { report_contacts, report_photos, sent_mails, login_attempts, unused_attachments })
}

// ---------------------------------------------------------------------------
// Purge: anonymisation and erasure

/// Whether the purge keeps an emptied row (anonymisation) or removes it (erasure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PurgeKind {
    /// Retention's last stage: the row stays, emptied, stage `anonymised`.
    Anonymise,
    /// The right to erasure: the row goes too.
    Erase,
}

/// What the purge removed (counts, no personal data).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Purged {
    /// Rows deleted or emptied per table.
    pub rows: BTreeMap<&'static str, u64>,
}

async fn exec(tx: &mut Tx, sql: &str, binds: &[String]) -> Result<u64> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.clone());
    }
    Ok(q.execute(&mut **tx).await?.rows_affected())
}

/// Strings a mail naming the person would hold (ids and identifying values;
/// pseudonyms shorter than 4 characters are too common to look for).
async fn traces(tx: &mut Tx, person: PersonId, referrals: &[String]) -> Result<Vec<String>> {
    let mut out = vec![person.to_string()];
    out.extend(referrals.iter().cloned());
    if let Some(r) =
        sqlx::query("SELECT pseudonym, phone, civil_given_name, civil_family_name FROM people WHERE id = $1").bind(person).fetch_optional(&mut **tx).await?
    {
        let pseudonym: String = r.try_get("pseudonym")?;
        if pseudonym.chars().count() >= 4 {
            out.push(pseudonym);
        }
        for c in ["phone", "civil_given_name", "civil_family_name"] {
            if let Some(v) = r.try_get::<Option<String>, _>(c)?.filter(|v| v.chars().count() >= 4) {
                out.push(v);
            }
        }
    }
    // The values the identifying fields held before (rectifications, phones' changes).
    let earlier: Vec<(String, String)> = sqlx::query_as(
        "SELECT old_value, new_value FROM person_changes WHERE person_id = $1 \
         AND field IN ('pseudonym', 'aliases', 'phone', 'civil_given_name', 'civil_family_name')",
    )
    .bind(person)
    .fetch_all(&mut **tx)
    .await?;
    for v in earlier.into_iter().flat_map(|(old, new)| [old, new]) {
        if v.chars().count() >= 4 && !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Purges a person: tallies what they counted, then removes every row about
/// them (see [`PERSON_TABLES`]), their timeline, the unsent and sent mails that
/// name them, and their household when nobody else is in it; the person row
/// is emptied (anonymisation) or deleted (erasure). The audit log is not
/// touched (see docs/decisions.md, decision 81).
pub async fn purge(tx: &mut Tx, person: PersonId, kind: PurgeKind, now: Timestamp) -> Result<Purged> {
    let mut out = Purged::default();
    let id = person.to_string();
    let referrals: Vec<String> = sqlx::query_scalar("SELECT id FROM referrals WHERE person_id = $1").bind(person).fetch_all(&mut **tx).await?;
    let traces = traces(tx, person, &referrals).await?;
    let household: Option<String> = sqlx::query_scalar("SELECT household_id FROM people WHERE id = $1").bind(person).fetch_optional(&mut **tx).await?.flatten();
    // What they counted stays in the figures of past periods, as anonymous tallies.
    crate::figures::tally_out(tx, &[person]).await?;
    // The encounters they were the only person identified in are about them:
    // their free text and care notes go (the encounter stays, counted).
    let alone: Vec<String> = sqlx::query_scalar(
        "SELECT ep.encounter_id FROM encounter_people ep WHERE ep.person_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM encounter_people o WHERE o.encounter_id = ep.encounter_id AND o.person_id <> $1)",
    )
    .bind(person)
    .fetch_all(&mut **tx)
    .await?;
    let mut emptied = 0;
    for e in &alone {
        exec(tx, "DELETE FROM encounter_care WHERE encounter_id = $1", std::slice::from_ref(e)).await?;
        emptied += exec(tx, "UPDATE encounters SET notes = '', follow_up_note = '', place = '', lon = NULL, lat = NULL WHERE id = $1", std::slice::from_ref(e))
            .await?;
    }
    out.rows.insert("encounters", emptied);
    // Mails naming the person (by id, a referral id, the pseudonym or a civil name).
    let mut mails = 0;
    for t in &traces {
        let like = format!("%{}%", t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        mails +=
            exec(tx, "DELETE FROM outbox WHERE subject LIKE $1 ESCAPE '\\' OR body_text LIKE $1 ESCAPE '\\' OR to_address = $2", &[like, t.clone()]).await?;
    }
    out.rows.insert("outbox", mails);
    // Offline operations held behind a gap that name them: their body goes;
    // the operation keeps its place in its device's sequence and is refused
    // (the record is gone) when its turn comes.
    let held: Vec<(String, String)> =
        sqlx::query_as("SELECT op_id, payload FROM sync_ops WHERE state = 'held' AND payload IS NOT NULL").fetch_all(&mut **tx).await?;
    let mut bodies = 0;
    for (op, sealed) in &held {
        let body = tx.ring()?.open("sync_ops", "payload", sealed)?;
        if traces.iter().any(|t| body.contains(t.as_str())) {
            bodies += exec(tx, "UPDATE sync_ops SET payload = NULL WHERE op_id = $1", std::slice::from_ref(op)).await?;
        }
    }
    out.rows.insert("sync_ops", bodies);
    // The timeline of the person and of their referrals, and events naming them.
    let like = format!("%{id}%");
    let mut events = exec(tx, "DELETE FROM timeline WHERE record_id = $1 OR from_value = $1 OR to_value = $1 OR detail LIKE $2", &[id.clone(), like]).await?;
    for r in &referrals {
        events += exec(tx, "DELETE FROM timeline WHERE record_id = $1", std::slice::from_ref(r)).await?;
    }
    out.rows.insert("timeline", events);
    for (table, what) in PERSON_TABLES {
        let n =
            match (table, what) {
                (_, Purge::Person) => continue,
                (&"person_links" | &"person_distinct_pairs", _) => {
                    exec(tx, &format!("DELETE FROM {table} WHERE person_a = $1 OR person_b = $1"), std::slice::from_ref(&id)).await?
                }
                (&"person_shares", _) => {
                    // Shares of other files made by a referral of this person lose that referral.
                    exec(tx, "DELETE FROM person_shares WHERE person_id = $1", std::slice::from_ref(&id)).await?
                        + exec(
                            tx,
                            "UPDATE person_shares SET referral_id = NULL WHERE referral_id IN (SELECT id FROM referrals WHERE person_id = $1)",
                            std::slice::from_ref(&id),
                        )
                        .await?
                }
                (&"consents", _) => {
                    exec(tx, "DELETE FROM person_shares WHERE consent_id IN (SELECT id FROM consents WHERE person_id = $1)", std::slice::from_ref(&id)).await?;
                    exec(tx, "DELETE FROM consents WHERE person_id = $1", std::slice::from_ref(&id)).await?
                }
                (&"stays", _) => exec(
                    tx,
                    "UPDATE stays SET person_id = NULL, household_id = NULL, label = '', note = '', destination = NULL, booking_ref = '' WHERE person_id = $1",
                    std::slice::from_ref(&id),
                )
                .await?,
                (&"shelter_requests", _) => {
                    exec(
                        tx,
                        "UPDATE shelter_requests SET person_id = NULL, household_id = NULL, label = '', note = '' WHERE person_id = $1",
                        std::slice::from_ref(&id),
                    )
                    .await?
                }
                (&"operation_people", _) => {
                    exec(
                        tx,
                        "UPDATE operation_people SET person_id = NULL, label = '', vulnerabilities = '', needs = '', proposal = '' WHERE person_id = $1",
                        std::slice::from_ref(&id),
                    )
                    .await?
                }
                (&"tenancies", _) => {
                    exec(
                        tx,
                        "UPDATE tenancies SET person_id = NULL, household_id = NULL, label = '', exit_reason = NULL WHERE person_id = $1",
                        std::slice::from_ref(&id),
                    )
                    .await?
                }
                (&"sync_field_versions" | &"sync_conflicts", _) => {
                    exec(tx, &format!("DELETE FROM {table} WHERE entity = 'person' AND record_id = $1"), std::slice::from_ref(&id)).await?
                }
                (&"mediation_parties", _) => exec(tx, "UPDATE mediation_parties SET person_id = NULL WHERE person_id = $1", std::slice::from_ref(&id)).await?,
                (_, Purge::Unlink) => return Err(StorageError::Corrupt("retention: a table to unlink is not handled")),
                (_, Purge::Delete | Purge::Tallied) => exec(tx, &format!("DELETE FROM {table} WHERE person_id = $1"), std::slice::from_ref(&id)).await?,
            };
        *out.rows.entry(table).or_default() += n;
    }
    let n = match kind {
        PurgeKind::Erase => exec(tx, "DELETE FROM people WHERE id = $1", std::slice::from_ref(&id)).await?,
        PurgeKind::Anonymise => sqlx::query(
            "UPDATE people SET territory_id = NULL, pseudonym = '', aliases = '', birth_year = NULL, age_band = NULL, gender = 'unknown', \
                 languages = '', nationality = 'unknown', situation = 'unknown', needs = '', vulnerabilities = '', household_id = NULL, phone = NULL, \
                 civil_given_name = NULL, civil_family_name = NULL, active = 0, exit_reason = NULL, retention_stage = 'anonymised', \
                 retention_stage_at = $1, updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(now.as_micros())
        .bind(person)
        .execute(&mut **tx)
        .await?
        .rows_affected(),
    };
    out.rows.insert("people", n);
    // The key of the spreadsheet line the file came from stays, so importing
    // the same file again does not bring the person back (decision 86), but
    // it no longer names the file.
    out.rows
        .insert("import_keys", exec(tx, "UPDATE import_keys SET record_id = '' WHERE kind = 'person' AND record_id = $1", std::slice::from_ref(&id)).await?);
    if let Some(h) = household {
        let others: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM people WHERE household_id = $1) + (SELECT COUNT(*) FROM stays WHERE household_id = $1) \
             + (SELECT COUNT(*) FROM shelter_requests WHERE household_id = $1) + (SELECT COUNT(*) FROM tenancies WHERE household_id = $1)",
        )
        .bind(h.clone())
        .fetch_one(&mut **tx)
        .await?;
        if others == 0 {
            out.rows.insert("households", exec(tx, "DELETE FROM households WHERE id = $1", &[h]).await?);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// The erasure journal

/// An erasure done (ids only).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Erasure {
    /// The person erased.
    pub person_id: String,
    /// The organisation that held the file.
    pub organisation_id: String,
    /// When (microseconds).
    pub erased_at: i64,
    /// Who (account id), if an account did it.
    pub erased_by: Option<String>,
}

/// Notes an erasure in the journal.
pub async fn record_erasure(tx: &mut Tx, e: &Erasure) -> Result<()> {
    sqlx::query("INSERT INTO erasures (person_id, organisation_id, erased_at, erased_by) VALUES ($1, $2, $3, $4) ON CONFLICT (person_id) DO NOTHING")
        .bind(e.person_id.clone())
        .bind(e.organisation_id.clone())
        .bind(e.erased_at)
        .bind(e.erased_by.clone())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Every erasure of the journal.
pub async fn erasures(db: &Db) -> Result<Vec<Erasure>> {
    let rows = sqlx::query("SELECT person_id, organisation_id, erased_at, erased_by FROM erasures ORDER BY erased_at, person_id").fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Erasure {
                person_id: r.try_get("person_id")?,
                organisation_id: r.try_get("organisation_id")?,
                erased_at: r.try_get("erased_at")?,
                erased_by: r.try_get("erased_by")?,
            })
        })
        .collect()
}

/// Whether a person file exists (any stage).
pub async fn exists(tx: &mut Tx, person: PersonId) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE id = $1").bind(person).fetch_one(&mut **tx).await?;
    Ok(n > 0)
}

/// The holding organisation of a file (any stage).
pub async fn organisation_of(db: &Db, person: PersonId) -> Result<Option<OrganisationId>> {
    Ok(sqlx::query_scalar("SELECT organisation_id FROM people WHERE id = $1").bind(person).fetch_optional(db.pool()).await?)
}

// ---------------------------------------------------------------------------
// Rectification history

/// A change to a field of a person file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: Option<UserId>,
    /// Which field.
    pub field: String,
    /// Its value before.
    pub old_value: String,
    /// Its value after.
    pub new_value: String,
}

/// Notes a change of one field.
pub async fn record_change(tx: &mut Tx, person: PersonId, by: UserId, field: &str, old: &str, new: &str, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO person_changes (id, person_id, at, by_user, field, old_value, new_value) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(person)
        .bind(now.as_micros())
        .bind(by)
        .bind(field.to_owned())
        .bind(old.to_owned())
        .bind(new.to_owned())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The history of a file in the scope, latest first.
pub async fn changes(db: &Db, scope: &Scope, person: PersonId) -> Result<Vec<Change>> {
    let mut p = Params::new();
    let id = p.push_id(person);
    let readable = scope.records(&crate::people::ACCESS_COLUMNS, &mut p);
    let sql = format!(
        "SELECT c.at, c.by_user, c.field, c.old_value, c.new_value FROM person_changes c JOIN people p ON p.id = c.person_id \
         WHERE c.person_id = {id} AND {readable} ORDER BY c.at DESC, c.id DESC"
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let field: String = r.try_get("field")?;
        let old: String = r.try_get("old_value")?;
        let new: String = r.try_get("new_value")?;
        out.push(Change {
            at: Timestamp::from_micros(r.try_get("at")?),
            by: r.try_get("by_user")?,
            old_value: crate::personal::reveal(db, "person_changes", "old_value", old).await?,
            new_value: crate::personal::reveal(db, "person_changes", "new_value", new).await?,
            field,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Access request

/// The rows of one table about a person, column → value (personal columns
/// revealed).
#[derive(Clone, Debug, serde::Serialize)]
pub struct TableRows {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

async fn rows_of(db: &Db, table: &'static str, sql: &str, binds: &[String]) -> Result<TableRows> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.clone());
    }
    let rows = q.fetch_all(db.pool()).await?;
    let declared = crate::personal::table(table);
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut obj = serde_json::Map::new();
        for (i, col) in row.columns().iter().enumerate() {
            let mut v = crate::backup::value_of(row, i).map_err(|_| StorageError::Corrupt("access request: a value"))?;
            if let (Some(t), serde_json::Value::String(s)) = (declared, &v) {
                if t.columns.iter().any(|c| c.name == col.name()) {
                    v = serde_json::Value::String(crate::personal::reveal(db, table, col.name(), s.clone()).await?);
                }
            }
            obj.insert(col.name().to_owned(), v);
        }
        out.push(obj);
    }
    Ok(TableRows { table, rows: out })
}

/// Every row about a person, across every organisation, from the tables
/// declared with a `person` column, plus the encounters they took part in
/// (and their care notes) and the timeline of the file and its referrals.
/// The caller checked the right and audits the request (instance scope).
pub async fn person_rows(db: &Db, person: PersonId) -> Result<Vec<TableRows>> {
    let id = person.to_string();
    let mut out = Vec::new();
    for t in crate::personal::PERSONAL {
        let Some(col) = t.person else { continue };
        let sql = match t.name {
            "person_links" | "person_distinct_pairs" => format!("SELECT * FROM {} WHERE person_a = $1 OR person_b = $1 ORDER BY id", t.name),
            "people" => "SELECT * FROM people WHERE id = $1".to_owned(),
            "encounter_people" | "case_people" | "person_health" => format!("SELECT * FROM {} WHERE {col} = $1", t.name),
            "person_first_encounters" => "SELECT * FROM person_first_encounters WHERE person_id = $1 ORDER BY first_at, organisation_id".to_owned(),
            "people_met" => "SELECT * FROM people_met WHERE person_id = $1 ORDER BY at, encounter_id".to_owned(),
            "sync_field_versions" => "SELECT * FROM sync_field_versions WHERE entity = 'person' AND record_id = $1 ORDER BY field".to_owned(),
            "sync_conflicts" => "SELECT * FROM sync_conflicts WHERE entity = 'person' AND record_id = $1 ORDER BY id".to_owned(),
            _ => format!("SELECT * FROM {} WHERE {col} = $1 ORDER BY id", t.name),
        };
        out.push(rows_of(db, t.name, &sql, std::slice::from_ref(&id)).await?);
    }
    out.push(
        rows_of(
            db,
            "encounters",
            "SELECT e.* FROM encounters e JOIN encounter_people ep ON ep.encounter_id = e.id WHERE ep.person_id = $1 ORDER BY e.at, e.id",
            std::slice::from_ref(&id),
        )
        .await?,
    );
    out.push(
        rows_of(
            db,
            "encounter_care",
            "SELECT c.* FROM encounter_care c JOIN encounter_people ep ON ep.encounter_id = c.encounter_id WHERE ep.person_id = $1 ORDER BY c.encounter_id",
            std::slice::from_ref(&id),
        )
        .await?,
    );
    out.push(
        rows_of(
            db,
            "timeline",
            "SELECT * FROM timeline WHERE record_id = $1 OR record_id IN (SELECT id FROM referrals WHERE person_id = $1) ORDER BY at, id",
            std::slice::from_ref(&id),
        )
        .await?,
    );
    Ok(out)
}

/// The audit entries naming a person (as the record, or in their detail):
/// who read or changed the file, when.
pub async fn audit_of(db: &Db, person: PersonId) -> Result<Vec<crate::audit::Entry>> {
    crate::audit::naming(db, &person.to_string()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_about_a_person_is_purged() {
        let declared: std::collections::BTreeSet<&str> = crate::personal::PERSONAL.iter().filter(|t| t.person.is_some()).map(|t| t.name).collect();
        let handled: std::collections::BTreeSet<&str> = PERSON_TABLES.iter().map(|(t, _)| *t).collect();
        assert_eq!(declared, handled);
    }

    #[test]
    fn a_hold_stops_the_clock() {
        let t = |d: i64| Timestamp::from_micros(d * 86_400_000_000);
        let c = Candidate {
            id: PersonId::new(),
            organisation: OrganisationId::new(),
            stage: Stage::Active,
            last_contact: t(0),
            stage_at: None,
            holds: vec![(t(10), Some(t(20))), (t(15), Some(t(30))), (t(50), None)],
        };
        // 100 days, of which 20 (10..30) and 50 (50..100) held.
        assert_eq!(c.running_seconds(t(0), t(100)), 30 * 86_400);
        assert!(c.held());
    }
}
