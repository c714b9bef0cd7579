//! Organisations and instance settings.

use sqlx::Row;
use veille_domain::{OrganisationId, Timestamp};

use crate::db::{b, Db, Tx};
use crate::error::{Result, ResultExt, StorageError};

/// An organisation of the instance.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Organisation {
    /// Id.
    pub id: OrganisationId,
    /// Name.
    pub name: String,
    /// Kind code (`city_service`, `association`, `health_ngo`, `caarud`, `mediation`, `partner_service`).
    pub kind: String,
    /// Whether it runs the instance's triage queue.
    pub coordinating: bool,
    /// Version for optimistic concurrency.
    pub version: i64,
}

/// Organisation kinds known to the interface.
pub const KINDS: [&str; 6] = ["city_service", "mediation", "association", "health_ngo", "caarud", "partner_service"];

fn from_row(row: &sqlx::any::AnyRow) -> Result<Organisation> {
    let id: String = row.try_get("id")?;
    Ok(Organisation {
        id: id.parse().map_err(|_| StorageError::Corrupt("organisations.id"))?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        coordinating: row.try_get::<i64, _>("coordinating")? != 0,
        version: row.try_get("version")?,
    })
}

/// Creates an organisation.
pub async fn create(tx: &mut Tx, name: &str, kind: &str, coordinating: bool, now: Timestamp) -> Result<Organisation> {
    let id = OrganisationId::new();
    sqlx::query("INSERT INTO organisations (id, name, kind, coordinating, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
        .bind(id.to_string())
        .bind(name)
        .bind(kind)
        .bind(b(coordinating))
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    Ok(Organisation { id, name: name.into(), kind: kind.into(), coordinating, version: 1 })
}

/// Renames or re-types an organisation, if nobody changed it since `version`.
pub async fn update(tx: &mut Tx, id: OrganisationId, name: &str, kind: &str, version: i64, now: Timestamp) -> Result<()> {
    let done = sqlx::query("UPDATE organisations SET name = $1, kind = $2, version = version + 1, updated_at = $3 WHERE id = $4 AND version = $5")
        .bind(name)
        .bind(kind)
        .bind(now.as_micros())
        .bind(id.to_string())
        .bind(version)
        .execute(&mut **tx)
        .await
        .classify()?;
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    Ok(())
}

/// One organisation.
pub async fn get(db: &Db, id: OrganisationId) -> Result<Organisation> {
    let row = sqlx::query("SELECT id, name, kind, coordinating, version FROM organisations WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// All organisations by name.
pub async fn list(db: &Db) -> Result<Vec<Organisation>> {
    let rows = sqlx::query("SELECT id, name, kind, coordinating, version FROM organisations ORDER BY name").fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// Instance settings.
#[derive(Clone, Debug)]
pub struct InstanceSettings {
    /// Instance name.
    pub name: String,
    /// Whether the demo data set was loaded (demo banner, demo accounts).
    pub demo: bool,
}

/// Reads the settings (none before the first set-up).
pub async fn settings(db: &Db) -> Result<Option<InstanceSettings>> {
    let row = sqlx::query("SELECT name, demo FROM instance_settings WHERE id = 1").fetch_optional(db.pool()).await?;
    row.map(|r| Ok(InstanceSettings { name: r.try_get("name")?, demo: r.try_get::<i64, _>("demo")? != 0 })).transpose()
}

/// Writes the settings.
pub async fn set_settings(tx: &mut Tx, s: &InstanceSettings, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO instance_settings (id, name, demo, created_at) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, demo = excluded.demo",
    )
    .bind(&s.name)
    .bind(b(s.demo))
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A text an organisation writes for its workers (empty: the default text of the catalogues).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guidance {
    /// What to do when meeting a minor alone (people files).
    ChildProtection,
    /// The team safety rules, shown at round check-in.
    SafetyRules,
}

impl Guidance {
    fn column(self) -> &'static str {
        match self {
            Guidance::ChildProtection => "child_protection",
            Guidance::SafetyRules => "safety_rules",
        }
    }
}

/// An organisation's guidance of a kind.
pub async fn guidance(db: &Db, id: OrganisationId, kind: Guidance) -> Result<String> {
    let sql = format!("SELECT {} FROM organisations WHERE id = $1", kind.column());
    let text: Option<String> = sqlx::query_scalar(&sql).bind(id.to_string()).fetch_optional(db.pool()).await?;
    text.ok_or(StorageError::NotFound)
}

/// Writes an organisation's guidance of a kind (empty: back to the default).
pub async fn set_guidance(tx: &mut Tx, id: OrganisationId, kind: Guidance, text: &str, now: Timestamp) -> Result<()> {
    let sql = format!("UPDATE organisations SET {} = $1, updated_at = $2 WHERE id = $3", kind.column());
    let done = sqlx::query(&sql).bind(text).bind(now.as_micros()).bind(id.to_string()).execute(&mut **tx).await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}
