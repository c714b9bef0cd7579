//! Territories: polygons stored as GeoJSON with their bounding box.

use sqlx::Row;
use veille_domain::{TerritoryId, Timestamp};

use crate::db::{Db, Tx};
use crate::error::{Result, StorageError};

/// A stored territory.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Territory {
    /// Id.
    pub id: TerritoryId,
    /// Code (INSEE code for communes and arrondissements).
    pub code: String,
    /// Name.
    pub name: String,
    /// Geometry as GeoJSON MultiPolygon text.
    pub geometry: String,
    /// Bounding box [min_lon, min_lat, max_lon, max_lat].
    pub bbox: [f64; 4],
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Territory> {
    let id: String = row.try_get("id")?;
    Ok(Territory {
        id: id.parse().map_err(|_| StorageError::Corrupt("territories.id"))?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        geometry: row.try_get("geometry")?,
        bbox: [row.try_get("min_lon")?, row.try_get("min_lat")?, row.try_get("max_lon")?, row.try_get("max_lat")?],
    })
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// New territories.
    pub created: usize,
    /// Existing codes whose name or geometry was replaced.
    pub updated: usize,
}

/// Inserts or replaces territories by code, in one transaction.
pub async fn upsert(tx: &mut Tx, items: &[(String, String, String, [f64; 4])], now: Timestamp) -> Result<ImportCounts> {
    let mut counts = ImportCounts::default();
    for (code, name, geometry, bb) in items {
        let existing: Option<String> = sqlx::query_scalar("SELECT id FROM territories WHERE code = $1").bind(code).fetch_optional(&mut **tx).await?;
        if let Some(id) = existing {
            sqlx::query(
                "UPDATE territories SET name = $1, geometry = $2, min_lon = $3, min_lat = $4, max_lon = $5, \
                 max_lat = $6, updated_at = $7 WHERE id = $8",
            )
            .bind(name)
            .bind(geometry)
            .bind(bb[0])
            .bind(bb[1])
            .bind(bb[2])
            .bind(bb[3])
            .bind(now.as_micros())
            .bind(id)
            .execute(&mut **tx)
            .await?;
            counts.updated += 1;
        } else {
            sqlx::query(
                "INSERT INTO territories (id, code, name, geometry, min_lon, min_lat, max_lon, max_lat, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(TerritoryId::new().to_string())
            .bind(code)
            .bind(name)
            .bind(geometry)
            .bind(bb[0])
            .bind(bb[1])
            .bind(bb[2])
            .bind(bb[3])
            .bind(now.as_micros())
            .execute(&mut **tx)
            .await?;
            counts.created += 1;
        }
    }
    Ok(counts)
}

const COLUMNS: &str = "id, code, name, geometry, min_lon, min_lat, max_lon, max_lat";

/// All territories by code.
pub async fn list(db: &Db) -> Result<Vec<Territory>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM territories ORDER BY code")).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// One territory.
pub async fn get(db: &Db, id: TerritoryId) -> Result<Territory> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM territories WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// Territory ids by code.
pub async fn id_by_code(db: &Db, code: &str) -> Result<Option<TerritoryId>> {
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM territories WHERE code = $1").bind(code).fetch_optional(db.pool()).await?;
    id.map(|s| s.parse().map_err(|_| StorageError::Corrupt("territories.id"))).transpose()
}

/// The name of every territory, by id (no geometry).
pub async fn names(db: &Db) -> Result<std::collections::HashMap<TerritoryId, String>> {
    let rows: Vec<(TerritoryId, String)> = sqlx::query_as("SELECT id, name FROM territories").fetch_all(db.pool()).await?;
    Ok(rows.into_iter().collect())
}
