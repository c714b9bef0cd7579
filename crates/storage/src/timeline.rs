//! One timeline for every kind of record (reports, referrals, sites, and the
//! cases, stays and logbooks to come): an event is appended in the
//! transaction of the change it tells, and read back oldest first with the
//! names of who did it.

use sqlx::Row;
use veille_domain::records::{RecordKind, Via};
use veille_domain::{OrganisationId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::Result;
use crate::sql::Params;

/// An event to append.
#[derive(Clone, Debug)]
pub struct NewEvent<'a> {
    /// The kind of record.
    pub record_kind: RecordKind,
    /// The record's id.
    pub record_id: String,
    /// When.
    pub at: Timestamp,
    /// Who (none: a partner's link, the reporter or the instance).
    pub actor: Option<(UserId, OrganisationId)>,
    /// How it came in.
    pub via: Via,
    /// What happened: `created`, `status`, `level`, `assigned`, `answer`, `log`…
    pub kind: &'a str,
    /// The value before, if a value changed.
    pub from: Option<&'a str>,
    /// The value after.
    pub to: Option<&'a str>,
    /// A reason or a text that goes with it (never personal data of the
    /// people recorded beyond what the record itself holds).
    pub detail: &'a str,
}

impl<'a> NewEvent<'a> {
    /// An event of `kind` on a record, by `actor` (staff when given, the
    /// instance otherwise), with no values.
    pub fn new(record_kind: RecordKind, record_id: impl ToString, at: Timestamp, actor: Option<(UserId, OrganisationId)>, kind: &'a str) -> Self {
        let via = if actor.is_some() { Via::Staff } else { Via::System };
        Self { record_kind, record_id: record_id.to_string(), at, actor, via, kind, from: None, to: None, detail: "" }
    }
    /// From one value to another.
    pub fn change(mut self, from: Option<&'a str>, to: Option<&'a str>) -> Self {
        self.from = from;
        self.to = to;
        self
    }
    /// With a reason or text.
    pub fn detail(mut self, detail: &'a str) -> Self {
        self.detail = detail;
        self
    }
    /// Came in this way.
    pub fn via(mut self, via: Via) -> Self {
        self.via = via;
        self
    }
}

/// Appends an event.
pub async fn append(tx: &mut Tx, e: &NewEvent<'_>) -> Result<()> {
    append_all(tx, std::slice::from_ref(e)).await
}

/// Appends events in one statement (one round trip however many there are;
/// the order of `events` is their order on the timeline).
pub async fn append_all(tx: &mut Tx, events: &[NewEvent<'_>]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut p = Params::new();
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        let text = |v: Option<&str>, p: &mut Params| v.map_or_else(|| "NULL".to_owned(), |v| p.push(v));
        let id = p.push(uuid::Uuid::now_v7().to_string());
        let kind = p.push_id(e.record_kind);
        let record = p.push(e.record_id.as_str());
        let at = p.push(e.at.as_micros());
        let user = text(e.actor.map(|a| a.0.to_string()).as_deref(), &mut p);
        let org = text(e.actor.map(|a| a.1.to_string()).as_deref(), &mut p);
        let via = p.push_id(e.via);
        let what = p.push(e.kind);
        let from = text(e.from, &mut p);
        let to = text(e.to, &mut p);
        let detail = p.push(e.detail);
        rows.push(format!("({id}, {kind}, {record}, {at}, {user}, {org}, {via}, {what}, {from}, {to}, {detail})"));
    }
    p.bind(sqlx::query(&format!(
        "INSERT INTO timeline (id, record_kind, record_id, at, actor_user_id, actor_organisation_id, via, kind, from_value, to_value, detail) VALUES {}",
        rows.join(", ")
    )))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An event as read back.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Event {
    /// When.
    pub at: Timestamp,
    /// Who (an account), if a person of staff.
    pub actor: Option<UserId>,
    /// Their display name.
    pub actor_name: Option<String>,
    /// Their organisation's name.
    pub organisation: Option<String>,
    /// How it came in.
    pub via: Via,
    /// What happened.
    pub kind: String,
    /// The value before.
    pub from: Option<String>,
    /// The value after.
    pub to: Option<String>,
    /// The reason or text that goes with it.
    pub detail: String,
}

/// The timeline of a record, oldest first.
pub async fn of(db: &Db, record_kind: RecordKind, record_id: impl ToString) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT e.at, e.actor_user_id, u.display_name, o.name AS org_name, e.via, e.kind, e.from_value, e.to_value, e.detail \
         FROM timeline e LEFT JOIN users u ON u.id = e.actor_user_id LEFT JOIN organisations o ON o.id = e.actor_organisation_id \
         WHERE e.record_kind = $1 AND e.record_id = $2 ORDER BY e.at, e.id",
    )
    .bind(record_kind)
    .bind(record_id.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                at: Timestamp::from_micros(r.try_get("at")?),
                actor: r.try_get("actor_user_id")?,
                actor_name: r.try_get("display_name")?,
                organisation: r.try_get("org_name")?,
                via: r.try_get("via")?,
                kind: r.try_get("kind")?,
                from: r.try_get("from_value")?,
                to: r.try_get("to_value")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}
