//! Bulk rows for synthetic instances (`veille demo --scale N`, the figures
//! benchmark): multi-row `INSERT`s inside the caller's transaction, and the
//! export of the tables the figures count as CSV files for another engine
//! (DuckDB) to count the same data.
//!
//! Values of the sealed field groups are sealed here as every storage
//! function seals them ([`crate::field_keys`]): a synthetic instance holds
//! what a real one holds, in the same form. The export leaves sealed columns
//! out (no figure counts them).

use std::io::Write;

use sqlx::Row;

use crate::db::{Backend, Db, Tx};
use crate::error::{Result, StorageError};
use crate::field_keys;
use crate::scope::Scope;
use crate::sql::{Params, Value};

/// One value of a row: `None` is SQL `NULL`.
pub type Cell = Option<Value>;

/// Placeholders per statement: under SQLite's limit (32,766) and
/// PostgreSQL's (65,535).
const MAX_PARAMS: usize = 30_000;

/// Inserts `rows` (each one value per column of `columns`) into `table`, in
/// statements of as many rows as the placeholder limit allows; seals the
/// values of sealed columns first. `table` must be one of the backup's
/// tables (names are never taken from input).
pub async fn insert(tx: &mut Tx, table: &str, columns: &[&str], rows: &[Vec<Cell>]) -> Result<u64> {
    if !crate::backup::TABLES.contains(&table) || columns.iter().any(|c| !c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_' || ch.is_ascii_digit())) {
        return Err(StorageError::Corrupt("bulk insert into an unknown table or column"));
    }
    if rows.is_empty() || columns.is_empty() {
        return Ok(0);
    }
    let sealed: Vec<bool> = columns.iter().map(|c| field_keys::column_sealed(table, c)).collect();
    let ring = if sealed.contains(&true) { Some(tx.ring()?) } else { None };
    let per = (MAX_PARAMS / columns.len()).max(1);
    // SQLite finds a numbered placeholder's number by a scan of the
    // statement's placeholders (`sqlite3_bind_parameter_name`), which makes a
    // statement of n `$N` quadratic to bind; `?` placeholders are bound in
    // order without it (the values are pushed in the order they appear).
    let anonymous = Backend::of(tx) == Backend::Sqlite;
    let mark = |p: &mut Params, v: Value| {
        let m = p.push(v);
        if anonymous {
            "?".to_owned()
        } else {
            m
        }
    };
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut written = 0;
    for chunk in rows.chunks(per) {
        let mut p = Params::new();
        let mut sql = String::with_capacity(head.len() + chunk.len() * columns.len() * 7);
        sql.push_str(&head);
        for (i, row) in chunk.iter().enumerate() {
            if row.len() != columns.len() {
                return Err(StorageError::Corrupt("bulk row of the wrong width"));
            }
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for (j, cell) in row.iter().enumerate() {
                if j > 0 {
                    sql.push_str(", ");
                }
                match (cell, &ring) {
                    (None, _) => sql.push_str("NULL"),
                    (Some(Value::Text(plain)), Some(ring)) if sealed[j] => sql.push_str(&mark(&mut p, Value::Text(ring.seal(table, columns[j], plain)?))),
                    (Some(v), _) => sql.push_str(&mark(&mut p, v.clone())),
                }
            }
            sql.push(')');
        }
        written += p.bind(sqlx::query(&sql)).execute(&mut **tx).await?.rows_affected();
    }
    Ok(written)
}

/// Refreshes the query planner's statistics after a bulk load, in full (on
/// PostgreSQL with a vacuum: [`Db::gather_statistics`]).
/// PostgreSQL plans from them: a server whose autovacuum is off, or has not
/// come round yet, plans tables of a million rows as nearly empty (one
/// figures query, a semi-join over the month's files, then ran as a nested
/// loop for minutes instead of a second). SQLite too (`sqlite_stat1`, and
/// `sqlite_stat4`'s samples of each index, for the tables of at least
/// [`crate::db::STATISTICS_MIN_ROWS`] rows: decision 99); the running
/// instance keeps them fresh afterwards ([`Db::refresh_statistics`]).
pub async fn analyze(db: &Db) -> Result<()> {
    db.gather_statistics().await
}

/// A table as exported for another engine: its columns (sealed ones left
/// out) and the text key the export pages by (`None`: one read, small tables).
pub struct Export {
    /// The table.
    pub table: &'static str,
    /// The columns written, in order.
    pub columns: &'static [&'static str],
    /// The unique text key the rows are paged by.
    pub key: Option<&'static [&'static str]>,
}

/// What the figures count, table by table (decision 83): the export that
/// lets another engine compute the same aggregates.
pub const FIGURES_TABLES: &[Export] = &[
    Export {
        table: "reports",
        columns: &[
            "id",
            "created_at",
            "source",
            "channel",
            "level",
            "level_override",
            "status",
            "situations",
            "answered_at",
            "duplicate_of",
            "organisation_id",
            "triage_organisation_id",
            "team_id",
            "territory_id",
        ],
        key: Some(&["id"]),
    },
    Export { table: "encounters", columns: &["id", "organisation_id", "territory_id", "at", "round_id", "unidentified_count"], key: Some(&["id"]) },
    Export { table: "encounter_people", columns: &["encounter_id", "person_id"], key: Some(&["encounter_id", "person_id"]) },
    Export { table: "people", columns: &["id", "organisation_id", "territory_id", "birth_year", "age_band", "gender", "needs"], key: Some(&["id"]) },
    Export { table: "person_links", columns: &["id", "person_a", "person_b", "unlinked_at"], key: Some(&["id"]) },
    Export { table: "rounds", columns: &["id", "organisation_id", "territory_id", "team_id", "planned_start", "started_at"], key: Some(&["id"]) },
    Export { table: "round_distributions", columns: &["round_id", "item_id", "quantity"], key: Some(&["round_id", "item_id"]) },
    Export { table: "distribution_items", columns: &["id", "organisation_id", "name"], key: None },
    Export {
        table: "referrals",
        columns: &["id", "organisation_id", "person_id", "service_id", "partner_organisation_id", "status", "created_at"],
        key: Some(&["id"]),
    },
    Export { table: "directory_services", columns: &["id", "name"], key: Some(&["id"]) },
    Export { table: "cases", columns: &["id", "organisation_id", "territory_id", "created_at", "closed_at", "outcome"], key: Some(&["id"]) },
    Export { table: "facilities", columns: &["id", "organisation_id", "territory_id", "places", "active"], key: None },
    Export { table: "facility_nights", columns: &["facility_id", "night", "places"], key: None },
    Export {
        table: "stays",
        columns: &["id", "organisation_id", "operator_organisation_id", "territory_id", "places", "status", "from_night", "to_night"],
        key: Some(&["id"]),
    },
    Export { table: "mediations", columns: &["id", "organisation_id", "territory_id", "team_id", "at", "outcome"], key: Some(&["id"]) },
    Export { table: "meetings", columns: &["id", "organisation_id", "territory_id", "kind", "status", "starts_at"], key: Some(&["id"]) },
    Export { table: "meeting_attendees", columns: &["id", "meeting_id", "user_id", "count"], key: Some(&["id"]) },
    Export { table: "users", columns: &["id", "organisation_id"], key: None },
];

/// Rows read per page of a paged export.
const PAGE: i64 = 50_000;

fn csv_field(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => {}
        Some(s) if s.contains([',', '"', '\n', '\r']) || s.is_empty() => {
            out.push(b'"');
            out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        }
        Some(s) => out.extend_from_slice(s.as_bytes()),
    }
}

/// Writes one table of [`FIGURES_TABLES`] as CSV (a header line, then one
/// line per row; `NULL` is an empty field, an empty text is `""`). Every row
/// of the table, so only for the instance's own work: `scope` must be
/// `Scope::instance`. Returns the rows written.
pub async fn export_csv(db: &Db, scope: &Scope, spec: &Export, out: &mut impl Write) -> Result<u64> {
    if scope.instance_purpose().is_none() {
        return Err(StorageError::Corrupt("a bulk export reads every row: it takes the instance's scope"));
    }
    let select: Vec<String> = spec.columns.iter().map(|c| format!("CAST({c} AS TEXT) AS {c}")).collect();
    let select = select.join(", ");
    let mut buf = Vec::with_capacity(1 << 20);
    buf.extend_from_slice(spec.columns.join(",").as_bytes());
    buf.push(b'\n');
    let mut written = 0u64;
    let mut after: Option<Vec<String>> = None;
    loop {
        let mut p = Params::new();
        let sql = match (spec.key, &after) {
            (None, _) => format!("SELECT {select} FROM {}", spec.table),
            (Some(key), None) => format!("SELECT {select} FROM {} ORDER BY {} LIMIT {PAGE}", spec.table, key.join(", ")),
            (Some(key), Some(last)) => {
                let marks: Vec<String> = last.iter().map(|v| p.push(v.clone())).collect();
                format!("SELECT {select} FROM {} WHERE ({}) > ({}) ORDER BY {} LIMIT {PAGE}", spec.table, key.join(", "), marks.join(", "), key.join(", "))
            }
        };
        let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
        for r in &rows {
            for (i, c) in spec.columns.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                csv_field(&mut buf, r.try_get::<Option<String>, _>(*c)?.as_deref());
            }
            buf.push(b'\n');
            if buf.len() > (1 << 20) {
                out.write_all(&buf).map_err(|_| StorageError::Corrupt("writing the export"))?;
                buf.clear();
            }
        }
        written += rows.len() as u64;
        match (spec.key, rows.last()) {
            (Some(key), Some(last)) if rows.len() as i64 == PAGE => {
                after = Some(key.iter().map(|k| last.try_get::<Option<String>, _>(*k).map(Option::unwrap_or_default)).collect::<std::result::Result<_, _>>()?);
            }
            _ => break,
        }
    }
    out.write_all(&buf).map_err(|_| StorageError::Corrupt("writing the export"))?;
    Ok(written)
}
