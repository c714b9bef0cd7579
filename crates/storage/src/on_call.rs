//! The on-call list (astreinte) of an organisation: ordered entries naming an
//! account and when it is on call (a day of the week or every day, a time
//! range or the whole day, Paris time). Staff data of the organisation, not
//! personal records of the people followed.

use sqlx::Row;
use veille_domain::on_call::OnCallSlot;
use veille_domain::{OnCallId, OrganisationId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::Result;

/// An entry of the list, with its account's name.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OnCall {
    /// Id.
    pub id: OnCallId,
    /// The organisation.
    pub organisation: OrganisationId,
    /// The account on call.
    pub user: UserId,
    /// Its name.
    pub name: String,
    /// When.
    pub slot: OnCallSlot,
    /// Its place in the list.
    pub position: i64,
}

fn small(v: Option<i64>) -> Option<u16> {
    v.and_then(|x| u16::try_from(x).ok())
}

/// The list of an organisation, in order.
pub async fn of(db: &Db, organisation: OrganisationId) -> Result<Vec<OnCall>> {
    let rows = sqlx::query(
        "SELECT o.id, o.organisation_id, o.user_id, u.display_name, o.weekday, o.starts_minute, o.ends_minute, o.position \
         FROM on_call o JOIN users u ON u.id = o.user_id WHERE o.organisation_id = $1 ORDER BY o.position, o.id",
    )
    .bind(organisation.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let range = match (small(r.try_get("starts_minute")?), small(r.try_get("ends_minute")?)) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            };
            Ok(OnCall {
                id: r.try_get("id")?,
                organisation: r.try_get("organisation_id")?,
                user: r.try_get("user_id")?,
                name: r.try_get("display_name")?,
                slot: OnCallSlot { weekday: r.try_get::<Option<i64>, _>("weekday")?.and_then(|d| u8::try_from(d).ok()), range },
                position: r.try_get("position")?,
            })
        })
        .collect()
}

/// Adds an entry at the end of an organisation's list.
pub async fn add(tx: &mut Tx, organisation: OrganisationId, user: UserId, slot: OnCallSlot, by: UserId, now: Timestamp) -> Result<OnCallId> {
    let id = OnCallId::new();
    let position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM on_call WHERE organisation_id = $1")
        .bind(organisation.to_string())
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO on_call (id, organisation_id, user_id, weekday, starts_minute, ends_minute, position, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(user.to_string())
    .bind(slot.weekday.map(i64::from))
    .bind(slot.range.map(|r| i64::from(r.0)))
    .bind(slot.range.map(|r| i64::from(r.1)))
    .bind(position)
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Takes an entry off an organisation's list; false when it was not there.
pub async fn remove(tx: &mut Tx, organisation: OrganisationId, id: OnCallId) -> Result<bool> {
    let n = sqlx::query("DELETE FROM on_call WHERE id = $1 AND organisation_id = $2")
        .bind(id.to_string())
        .bind(organisation.to_string())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}
