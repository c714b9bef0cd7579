//! Portable backup and restore: every table as JSON lines, readable by either
//! engine (a SQLite backup restores into PostgreSQL and back).

use std::io::{BufRead, Write};

use sqlx::{Column, Row, TypeInfo};

use crate::db::{Backend, Db};
use crate::error::{Result, StorageError};

/// Tables in foreign-key order. Sessions and login attempts are not backed up:
/// restoring live credentials would be a security hole.
pub const TABLES: &[&str] = &[
    "instance_settings",
    "organisations",
    "territories",
    "users",
    "user_territories",
    "user_field_groups",
    "recovery_codes",
    "teams",
    "team_members",
    "case_members",
    "api_tokens",
    "invitations",
    "password_resets",
    "outbox",
    "reports",
    "report_notes",
    "routing_rules",
    "report_distinct_pairs",
    "distribution_items",
    "sites",
    "circuits",
    "circuit_stops",
    "schedule_slots",
    "rounds",
    "round_members",
    "round_stops",
    "round_distributions",
    "round_incidents",
    "site_observations",
    "site_destinations",
    "report_photos",
    "directory_structures",
    "directory_services",
    "households",
    "household_children",
    "people",
    "person_health",
    "consents",
    "person_links",
    "person_distinct_pairs",
    "person_notes",
    "encounters",
    "encounter_people",
    "encounter_care",
    "referrals",
    "person_shares",
    "facilities",
    "facility_nights",
    "stays",
    "shelter_requests",
    "operations",
    "operation_people",
    "landlords",
    "dwellings",
    "tenancies",
    "dwelling_checks",
    "cases",
    "case_people",
    "case_evaluations",
    "actions",
    "meetings",
    "meeting_attendees",
    "meeting_items",
    "escalations",
    "escalation_recipients",
    "contacts",
    "mediations",
    "mediation_parties",
    "city_services",
    "service_requests",
    "service_request_photos",
    "log_entries",
    "log_mentions",
    "on_call",
    "timeline",
    "legal_holds",
    "person_changes",
    "figure_tallies",
    "erasures",
    "import_keys",
    "sync_devices",
    "sync_ops",
    "sync_field_versions",
    "sync_conflicts",
    "sync_blobs",
    "audit_head",
    "audit_log",
];

/// Tables deliberately left out of backups.
/// Photos kept for a form shown again are transient (an hour at most). Each
/// file's first encounters, the files met and the encounters counted by
/// hour are derived: a restore rebuilds them (the triggers of migrations
/// 0026, 0029 and 0030 fire as it inserts the encounters and their people);
/// so are the figures' epochs (migration 0028: a restore starts them again).
pub const NOT_BACKED_UP: &[&str] = &[
    "sessions",
    "login_attempts",
    "report_submissions",
    "photo_uploads",
    "lookup_versions",
    "person_first_encounters",
    "people_met",
    "encounter_hours",
    "figure_epochs",
];

pub(crate) fn value_of(row: &sqlx::any::AnyRow, i: usize) -> Result<serde_json::Value> {
    let type_name = row.columns()[i].type_info().name().to_ascii_uppercase();
    let as_int = || row.try_get::<Option<i64>, _>(i).map(|v| v.map(serde_json::Value::from));
    let as_real = || row.try_get::<Option<f64>, _>(i).map(|v| v.map(serde_json::Value::from));
    let as_text = || row.try_get::<Option<String>, _>(i).map(|v| v.map(serde_json::Value::from));
    let v = if type_name.contains("INT") {
        as_int()
    } else if type_name.contains("REAL") || type_name.contains("DOUBLE") || type_name.contains("FLOAT") {
        as_real()
    } else if type_name.contains("TEXT") || type_name.contains("CHAR") {
        as_text()
    } else {
        as_int().or_else(|_| as_real()).or_else(|_| as_text())
    }?;
    Ok(v.unwrap_or(serde_json::Value::Null))
}

/// Writes every backed-up table; returns the number of rows per table.
pub async fn dump(db: &Db, sealer: &crate::audit::Sealer, out: &mut impl Write) -> anyhow::Result<Vec<(String, usize)>> {
    // The backup carries the audit chain as it stands: pending entries sealed first.
    crate::audit::seal(db, sealer).await?;
    let mut counts = Vec::new();
    // The manifest says where personal data lies in the file (which tables and
    // columns, whose, which field group), for whoever keeps the backup and for
    // the erasure and retention policies that must reach it.
    let personal: Vec<&crate::personal::Table> = TABLES.iter().filter_map(|t| crate::personal::table(t)).collect();
    writeln!(out, "{}", serde_json::json!({"veille_backup": 1, "backend": db.backend().name(), "personal_data": personal}))?;
    for table in TABLES {
        let rows = sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(db.pool()).await?;
        for row in &rows {
            let mut obj = serde_json::Map::new();
            for (i, col) in row.columns().iter().enumerate() {
                obj.insert(col.name().to_owned(), value_of(row, i)?);
            }
            writeln!(out, "{}", serde_json::json!({"table": table, "row": obj}))?;
        }
        counts.push(((*table).to_owned(), rows.len()));
    }
    Ok(counts)
}

/// Restores a backup into a freshly migrated, empty database, in one transaction.
pub async fn restore(db: &Db, input: impl BufRead) -> anyhow::Result<usize> {
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(db.pool()).await?;
    let orgs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organisations").fetch_one(db.pool()).await?;
    anyhow::ensure!(users == 0 && orgs == 0, "the target database is not empty: restore only into a new database");
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM audit_head").execute(&mut *tx).await?;
    let mut n = 0;
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if i == 0 {
            let head: serde_json::Value = serde_json::from_str(&line)?;
            anyhow::ensure!(head.get("veille_backup").is_some(), "not a veille backup file");
            continue;
        }
        let item: serde_json::Value = serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("line {}: {e}", i + 1))?;
        let table = item["table"].as_str().ok_or_else(|| anyhow::anyhow!("line {}: no table", i + 1))?;
        anyhow::ensure!(TABLES.contains(&table), "line {}: unknown table {table}", i + 1);
        let row = item["row"].as_object().ok_or_else(|| anyhow::anyhow!("line {}: no row", i + 1))?;
        let cols: Vec<&String> = row.keys().collect();
        // A null is written as a literal NULL: bound, sqlx's `Any` driver would
        // type it as text, which PostgreSQL refuses for a number column.
        let mut k = 0;
        let values: Vec<String> = cols
            .iter()
            .map(|c| {
                if row[c.as_str()].is_null() {
                    "NULL".to_owned()
                } else {
                    k += 1;
                    format!("${k}")
                }
            })
            .collect();
        let sql = format!("INSERT INTO {table} ({}) VALUES ({})", cols.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "), values.join(", "));
        let mut q = sqlx::query(&sql);
        for c in &cols {
            q = match &row[c.as_str()] {
                serde_json::Value::Null => q,
                serde_json::Value::Number(num) if num.is_i64() => q.bind(num.as_i64()),
                serde_json::Value::Number(num) => q.bind(num.as_f64()),
                serde_json::Value::String(s) => q.bind(s.clone()),
                other => q.bind(other.to_string()),
            };
        }
        q.execute(&mut *tx).await.map_err(|e| anyhow::anyhow!("line {}: {e}", i + 1))?;
        n += 1;
    }
    tx.commit().await?;
    // A restore is a bulk load: the planner's statistics follow it, not the
    // server's autovacuum (which may be off or late).
    crate::bulk::analyze(db).await?;
    Ok(n)
}

/// Names of the application's tables in the database (to check the backup list is complete).
pub async fn table_names(db: &Db) -> Result<Vec<String>> {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name NOT LIKE '_sqlx%' ORDER BY table_name"
        }
    };
    sqlx::query_scalar(sql).fetch_all(db.pool()).await.map_err(StorageError::from)
}

/// A checksum per table (row count and SHA-256 of the rows in key order), to compare two databases.
pub async fn checksums(db: &Db) -> anyhow::Result<Vec<(String, usize, String)>> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::new();
    for table in TABLES {
        let rows = sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(db.pool()).await?;
        let mut lines: Vec<String> = Vec::new();
        for row in &rows {
            let mut obj = serde_json::Map::new();
            for (i, col) in row.columns().iter().enumerate() {
                obj.insert(col.name().to_owned(), value_of(row, i)?);
            }
            lines.push(serde_json::Value::Object(obj).to_string());
        }
        lines.sort();
        let mut h = Sha256::new();
        for l in &lines {
            h.update(l.as_bytes());
            h.update(b"\n");
        }
        out.push(((*table).to_owned(), lines.len(), hex::encode(h.finalize())));
    }
    Ok(out)
}
