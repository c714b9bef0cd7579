//! Meetings and collective sessions (their attendees, agenda items, notes
//! and decisions), and escalations of critical situations to named people.
//!
//! A meeting belongs to its organisation and is shared with the
//! organisations of its account attendees ([`MEETING_COLUMNS`]); an agenda
//! item naming a case shows that case only to who may read it (the
//! application checks each). An escalation belongs to its organisation; its
//! recipients are named accounts.

use sqlx::Row;
use veille_domain::cases::{EscalationKind, MeetingKind, SessionPublic};
use veille_domain::{ActionId, CaseId, EscalationId, MeetingId, MeetingItemId, OrganisationId, TerritoryId, Timestamp, UserId};

use crate::db::{claim, Db, Tx, Versioned};
use crate::error::{Result, StorageError};
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns, Shared};

/// Where meetings keep what the read rules look at: shared with the organisations of their account attendees.
pub const MEETING_COLUMNS: RecordColumns<'static> = RecordColumns {
    organisation: "m.organisation_id",
    territory: Some("m.territory_id"),
    case: None,
    shared_with: Some(Shared::Exists(
        "EXISTS (SELECT 1 FROM meeting_attendees ma JOIN users mu ON mu.id = ma.user_id WHERE ma.meeting_id = m.id AND mu.organisation_id = {org})",
    )),
};

/// A meeting.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Meeting {
    /// Id.
    pub id: MeetingId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Kind.
    pub kind: MeetingKind,
    /// Title.
    pub title: String,
    /// Place.
    pub place: String,
    /// Starts.
    pub starts_at: Timestamp,
    /// Ends.
    pub ends_at: Timestamp,
    /// Theme.
    pub theme: String,
    /// Evaluation (collective sessions).
    pub evaluation: String,
    /// `planned` or `held`.
    pub status: String,
    /// When the minutes were sent.
    pub minutes_sent_at: Option<Timestamp>,
    /// Version.
    pub version: i64,
}

/// A meeting to plan.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMeeting {
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Kind.
    pub kind: MeetingKind,
    /// Title.
    pub title: String,
    /// Place.
    pub place: String,
    /// Starts.
    pub starts_at: Timestamp,
    /// Ends.
    pub ends_at: Timestamp,
    /// Theme.
    pub theme: String,
}

const SELECT: &str = "SELECT m.id, m.organisation_id, m.territory_id, m.kind, m.title, m.place, m.starts_at, m.ends_at, m.theme, m.evaluation, m.status, \
    m.minutes_sent_at, m.version FROM meetings m";

fn row(r: &sqlx::any::AnyRow) -> Result<Meeting> {
    Ok(Meeting {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        kind: r.try_get("kind")?,
        title: r.try_get("title")?,
        place: r.try_get("place")?,
        starts_at: Timestamp::from_micros(r.try_get("starts_at")?),
        ends_at: Timestamp::from_micros(r.try_get("ends_at")?),
        theme: r.try_get("theme")?,
        evaluation: r.try_get("evaluation")?,
        status: r.try_get("status")?,
        minutes_sent_at: r.try_get::<Option<i64>, _>("minutes_sent_at")?.map(Timestamp::from_micros),
        version: r.try_get("version")?,
    })
}

/// Plans a meeting of `organisation`.
pub async fn create(tx: &mut Tx, organisation: OrganisationId, m: &NewMeeting, by: UserId, now: Timestamp) -> Result<MeetingId> {
    let id = MeetingId::new();
    sqlx::query(
        "INSERT INTO meetings (id, organisation_id, territory_id, kind, title, place, starts_at, ends_at, theme, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(m.territory.map(|t| t.to_string()))
    .bind(m.kind.code())
    .bind(m.title.as_str())
    .bind(m.place.as_str())
    .bind(m.starts_at.as_micros())
    .bind(m.ends_at.as_micros())
    .bind(m.theme.as_str())
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// One meeting in the scope.
pub async fn get(db: &Db, scope: &Scope, id: MeetingId) -> Result<Meeting> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&MEETING_COLUMNS, &mut p);
    let sql = format!("{SELECT} WHERE m.id = {id} AND {readable}");
    row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// Meetings in the scope starting from `from` (all when none), soonest first.
pub async fn list(db: &Db, scope: &Scope, from: Option<Timestamp>) -> Result<Vec<Meeting>> {
    let mut p = Params::new();
    let readable = scope.records(&MEETING_COLUMNS, &mut p);
    let after = from.map(|f| format!(" AND m.ends_at >= {}", p.push(f.as_micros()))).unwrap_or_default();
    let sql = format!("{SELECT} WHERE {readable}{after} ORDER BY m.starts_at, m.id LIMIT 500");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(row).collect()
}

/// Marks a meeting held with its evaluation, if still at `version`.
pub async fn set_held(tx: &mut Tx, id: MeetingId, evaluation: &str, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Meetings, id, version, now).await?;
    sqlx::query("UPDATE meetings SET status = 'held', evaluation = $1 WHERE id = $2").bind(evaluation).bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Records that the minutes were sent.
pub async fn minutes_sent(tx: &mut Tx, id: MeetingId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE meetings SET minutes_sent_at = $1 WHERE id = $2").bind(now.as_micros()).bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// An attendee: an account, a person named with an address (a partner
/// without accounts), or a count of a public (collective sessions).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Attendee {
    /// The account.
    pub user: Option<UserId>,
    /// Its organisation.
    pub organisation: Option<OrganisationId>,
    /// The name shown.
    pub name: String,
    /// Where the minutes go.
    pub email: Option<String>,
    /// The public counted.
    pub public: Option<SessionPublic>,
    /// How many.
    pub count: i64,
}

/// Adds an attendee.
pub async fn add_attendee(tx: &mut Tx, meeting: MeetingId, a: &Attendee) -> Result<()> {
    sqlx::query("INSERT INTO meeting_attendees (id, meeting_id, user_id, name, email, public, count) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(meeting.to_string())
        .bind(a.user.map(|u| u.to_string()))
        .bind(a.name.as_str())
        .bind(a.email.clone())
        .bind(a.public.map(|p| p.code()))
        .bind(a.count)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The attendees of a meeting the caller read.
pub async fn attendees(db: &Db, meeting: MeetingId) -> Result<Vec<Attendee>> {
    let rows = sqlx::query(
        "SELECT a.user_id, u.organisation_id, COALESCE(u.display_name, a.name) AS name, COALESCE(u.email, a.email) AS email, a.public, a.count \
         FROM meeting_attendees a LEFT JOIN users u ON u.id = a.user_id WHERE a.meeting_id = $1 ORDER BY a.public, name",
    )
    .bind(meeting.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attendee {
                user: r.try_get("user_id")?,
                organisation: r.try_get("organisation_id")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                public: r.try_get("public")?,
                count: r.try_get("count")?,
            })
        })
        .collect()
}

/// An agenda item.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Item {
    /// Id.
    pub id: MeetingItemId,
    /// The case reviewed.
    pub case: Option<CaseId>,
    /// Or the topic.
    pub topic: String,
    /// Position.
    pub position: i64,
    /// Notes.
    pub notes: String,
    /// Decision.
    pub decision: String,
    /// The action the decision became.
    pub action: Option<ActionId>,
}

/// Adds an item at the end of the agenda.
pub async fn add_item(tx: &mut Tx, meeting: MeetingId, case: Option<CaseId>, topic: &str) -> Result<MeetingItemId> {
    let id = MeetingItemId::new();
    sqlx::query(
        "INSERT INTO meeting_items (id, meeting_id, case_id, topic, position) \
         VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(position), 0) + 1 FROM meeting_items WHERE meeting_id = $2))",
    )
    .bind(id.to_string())
    .bind(meeting.to_string())
    .bind(case.map(|c| c.to_string()))
    .bind(topic)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The agenda of a meeting the caller read, in order.
pub async fn items(db: &Db, meeting: MeetingId) -> Result<Vec<Item>> {
    let rows = sqlx::query("SELECT id, case_id, topic, position, notes, decision, action_id FROM meeting_items WHERE meeting_id = $1 ORDER BY position, id")
        .bind(meeting.to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Item {
                id: r.try_get("id")?,
                case: r.try_get("case_id")?,
                topic: r.try_get("topic")?,
                position: r.try_get("position")?,
                notes: r.try_get("notes")?,
                decision: r.try_get("decision")?,
                action: r.try_get("action_id")?,
            })
        })
        .collect()
}

/// Records an item's notes, decision and the action it became.
pub async fn record_item(tx: &mut Tx, item: MeetingItemId, notes: &str, decision: &str, action: Option<ActionId>) -> Result<()> {
    sqlx::query("UPDATE meeting_items SET notes = $1, decision = $2, action_id = COALESCE($3, action_id) WHERE id = $4")
        .bind(notes)
        .bind(decision)
        .bind(action.map(|a| a.to_string()))
        .bind(item.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- escalations

/// A critical situation raised to named people.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Escalation {
    /// Id.
    pub id: EscalationId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Kind.
    pub kind: EscalationKind,
    /// What is happening (no civil name).
    pub summary: String,
    /// Raised by.
    pub raised_by: Option<UserId>,
    /// When.
    pub raised_at: Timestamp,
    /// Level (1: the people named; 2 and more: up the hierarchy).
    pub level: i64,
    /// Acknowledgement expected by.
    pub ack_due_at: Timestamp,
    /// Acknowledged by.
    pub acknowledged_by: Option<UserId>,
    /// When.
    pub acknowledged_at: Option<Timestamp>,
    /// Resolved when.
    pub resolved_at: Option<Timestamp>,
    /// How.
    pub resolution: String,
    /// Version.
    pub version: i64,
}

/// Where escalations keep what the read rules look at.
pub const ESCALATION_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "e.organisation_id", territory: Some("e.territory_id"), case: None, shared_with: None };

const ESC_SELECT: &str = "SELECT e.id, e.organisation_id, e.territory_id, e.kind, e.summary, e.raised_by, e.raised_at, e.level, e.ack_due_at, \
    e.acknowledged_by, e.acknowledged_at, e.resolved_at, e.resolution, e.version FROM escalations e";

fn esc_row(r: &sqlx::any::AnyRow) -> Result<Escalation> {
    let ts = |c: &str| -> Result<Option<Timestamp>> { Ok(r.try_get::<Option<i64>, _>(c)?.map(Timestamp::from_micros)) };
    Ok(Escalation {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        kind: r.try_get("kind")?,
        summary: r.try_get("summary")?,
        raised_by: r.try_get("raised_by")?,
        raised_at: Timestamp::from_micros(r.try_get("raised_at")?),
        level: r.try_get("level")?,
        ack_due_at: Timestamp::from_micros(r.try_get("ack_due_at")?),
        acknowledged_by: r.try_get("acknowledged_by")?,
        acknowledged_at: ts("acknowledged_at")?,
        resolved_at: ts("resolved_at")?,
        resolution: r.try_get("resolution")?,
        version: r.try_get("version")?,
    })
}

/// Raises a critical situation of `organisation` to `recipients` (level 1).
#[allow(clippy::too_many_arguments, reason = "one row of facts, each a column")]
pub async fn raise(
    tx: &mut Tx,
    organisation: OrganisationId,
    territory: Option<TerritoryId>,
    kind: EscalationKind,
    summary: &str,
    by: UserId,
    ack_due: Timestamp,
    recipients: &[UserId],
    now: Timestamp,
) -> Result<EscalationId> {
    let id = EscalationId::new();
    sqlx::query(
        "INSERT INTO escalations (id, organisation_id, territory_id, kind, summary, raised_by, raised_at, ack_due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(territory.map(|t| t.to_string()))
    .bind(kind.code())
    .bind(summary)
    .bind(by.to_string())
    .bind(now.as_micros())
    .bind(ack_due.as_micros())
    .execute(&mut **tx)
    .await?;
    add_recipients(tx, id, recipients, 1).await?;
    Ok(id)
}

/// Adds recipients at a level (those already named stay at theirs).
pub async fn add_recipients(tx: &mut Tx, id: EscalationId, users: &[UserId], level: i64) -> Result<()> {
    for u in users {
        sqlx::query("INSERT INTO escalation_recipients (escalation_id, user_id, level) VALUES ($1, $2, $3) ON CONFLICT (escalation_id, user_id) DO NOTHING")
            .bind(id.to_string())
            .bind(u.to_string())
            .bind(level)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The recipients of an escalation.
pub async fn recipients(db: &Db, id: EscalationId) -> Result<Vec<(UserId, i64)>> {
    let rows = sqlx::query("SELECT user_id, level FROM escalation_recipients WHERE escalation_id = $1 ORDER BY level")
        .bind(id.to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok((r.try_get("user_id")?, r.try_get("level")?))).collect()
}

/// One escalation in the scope.
pub async fn escalation(db: &Db, scope: &Scope, id: EscalationId) -> Result<Escalation> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&ESCALATION_COLUMNS, &mut p);
    let sql = format!("{ESC_SELECT} WHERE e.id = {id} AND {readable}");
    esc_row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// Unresolved escalations in the scope, or of which `recipient` is a recipient, newest first.
pub async fn open_escalations(db: &Db, scope: &Scope, recipient: UserId) -> Result<Vec<Escalation>> {
    let mut p = Params::new();
    let readable = scope.records(&ESCALATION_COLUMNS, &mut p);
    let me = p.push_id(recipient);
    let sql = format!(
        "{ESC_SELECT} WHERE e.resolved_at IS NULL AND ({readable} OR EXISTS (SELECT 1 FROM escalation_recipients x WHERE x.escalation_id = e.id AND x.user_id = {me})) \
         ORDER BY e.raised_at DESC"
    );
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(esc_row).collect()
}

/// Whether `user` is a recipient of the escalation.
pub async fn is_recipient(db: &Db, id: EscalationId, user: UserId) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM escalation_recipients WHERE escalation_id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// Acknowledges (once: false when it already was).
pub async fn acknowledge(tx: &mut Tx, id: EscalationId, by: UserId, now: Timestamp) -> Result<bool> {
    let n = sqlx::query("UPDATE escalations SET acknowledged_by = $1, acknowledged_at = $2, version = version + 1 WHERE id = $3 AND acknowledged_at IS NULL")
        .bind(by.to_string())
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Resolves (once).
pub async fn resolve(tx: &mut Tx, id: EscalationId, resolution: &str, by: UserId, now: Timestamp) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE escalations SET resolved_at = $1, resolution = $2, acknowledged_by = COALESCE(acknowledged_by, $3), acknowledged_at = COALESCE(acknowledged_at, $1), \
         version = version + 1 WHERE id = $4 AND resolved_at IS NULL",
    )
    .bind(now.as_micros())
    .bind(resolution)
    .bind(by.to_string())
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Unacknowledged escalations past their deadline (the instance's escalation task).
pub async fn overdue(db: &Db, scope: &Scope, now: Timestamp) -> Result<Vec<Escalation>> {
    let mut p = Params::new();
    let readable = scope.records(&ESCALATION_COLUMNS, &mut p);
    let now = p.push(now.as_micros());
    let sql = format!("{ESC_SELECT} WHERE {readable} AND e.acknowledged_at IS NULL AND e.resolved_at IS NULL AND e.ack_due_at <= {now} ORDER BY e.ack_due_at");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(esc_row).collect()
}

/// Moves an unacknowledged escalation up a level with a new deadline; false
/// when another instance did it first, or it was acknowledged meanwhile.
pub async fn level_up(tx: &mut Tx, e: &Escalation, due: Timestamp) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE escalations SET level = level + 1, ack_due_at = $1, version = version + 1 WHERE id = $2 AND version = $3 AND acknowledged_at IS NULL",
    )
    .bind(due.as_micros())
    .bind(e.id.to_string())
    .bind(e.version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}
