//! The `veille` command line on the engine under test (VEILLE_TEST_DATABASE).
#![allow(clippy::disallowed_methods, reason = "tests and benchmarks set up and inspect databases with SQL of their own")]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use veille_storage::Db;

fn pg_admin_url() -> String {
    std::env::var("VEILLE_TEST_PG_URL").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

/// A fresh database URL and a clean-up guard.
async fn fresh_database() -> (String, Box<dyn FnOnce()>) {
    if std::env::var("VEILLE_TEST_DATABASE").as_deref() == Ok("postgres") {
        let name = format!("veille_cli_{}", uuid::Uuid::now_v7().simple());
        let admin = Db::connect(&pg_admin_url()).await.unwrap();
        veille_storage::sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
        admin.close().await;
        let url = format!("{}/{name}", pg_admin_url().rsplit_once('/').unwrap().0);
        let cleanup = move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            std::thread::spawn(move || {
                rt.block_on(async {
                    let admin = Db::connect(&pg_admin_url()).await.unwrap();
                    let _ = veille_storage::sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
                })
            })
            .join()
            .unwrap();
        };
        (url, Box::new(cleanup))
    } else {
        let dir = std::env::temp_dir().join(format!("veille-cli-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/veille.db", dir.display());
        (
            url,
            Box::new(move || {
                let _ = std::fs::remove_dir_all(dir);
            }),
        )
    }
}

fn veille(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(args)
        .env("DATABASE_URL", url)
        // The audit chain's key, as an operator sets it (no key file written beside the tests).
        .env("VEILLE_AUDIT_KEY", "5e".repeat(32))
        // The field keys likewise (several tests start instances at once).
        .env("VEILLE_FIELD_KEYS", "test:Xl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl4=")
        .env("VEILLE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test]
async fn audit_verify_finds_a_tampered_row() {
    let (url, cleanup) = fresh_database().await;
    let o = veille(&url, &["admin", "create-admin", "--email", "chef@exemple.fr", "--name", "Chef", "--password-stdin"], Some("une phrase de passe solide"));
    assert!(o.status.success(), "{}", text(&o));
    let o = veille(&url, &["import", "territories", concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/geo/paris-arrondissements.geojson")], None);
    assert!(text(&o).contains("20 created"), "{}", text(&o));
    let o = veille(&url, &["audit", "verify"], None);
    assert!(o.status.success() && text(&o).contains("intact: 2 entries"), "{}", text(&o));
    let db = Db::connect(&url).await.unwrap();
    veille_storage::sqlx::query("UPDATE audit_log SET record_kind = 'organisation' WHERE seq = 1").execute(db.pool()).await.unwrap();
    db.close().await;
    let o = veille(&url, &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("BROKEN at entry 1"), "{}", text(&o));
    cleanup();
}

#[tokio::test]
async fn bad_input_on_the_command_line_gets_a_clear_error() {
    let (url, cleanup) = fresh_database().await;
    let o = veille(&url, &["admin", "create-admin", "--email", "chef@exemple.fr", "--name", "Chef", "--password-stdin"], Some("court"));
    assert!(!o.status.success());
    assert!(text(&o).contains("at least 12"), "{}", text(&o));
    let o = veille(&url, &["import", "territories", "/nonexistent/file.geojson"], None);
    assert!(!o.status.success() && text(&o).contains("reading /nonexistent/file.geojson"), "{}", text(&o));
    let o = veille("mysql://localhost/x", &["migrate"], None);
    assert!(!o.status.success() && text(&o).contains("database_url"), "{}", text(&o));
    cleanup();
}

#[tokio::test]
async fn backup_restores_into_an_empty_database() {
    let (url, cleanup) = fresh_database().await;
    let o = veille(&url, &["demo"], None);
    assert!(o.status.success(), "{}", text(&o));
    let file = std::env::temp_dir().join(format!("veille-backup-{}.jsonl", uuid::Uuid::now_v7()));
    let o = veille(&url, &["backup", file.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", text(&o));
    let (url2, cleanup2) = fresh_database().await;
    let o = veille(&url2, &["restore", file.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", text(&o));
    let (a, b) = (Db::connect(&url).await.unwrap(), Db::connect(&url2).await.unwrap());
    assert_eq!(veille_storage::backup::checksums(&a).await.unwrap(), veille_storage::backup::checksums(&b).await.unwrap());
    a.close().await;
    b.close().await;
    let o = veille(&url2, &["audit", "verify"], None);
    assert!(o.status.success(), "{}", text(&o));
    let _ = std::fs::remove_file(file);
    cleanup();
    cleanup2();
}

#[test]
fn linkage_dedupe_works_on_a_csv_and_explains_bad_input() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../linkage/examples");
    let out = std::env::temp_dir().join(format!("veille-pairs-{}.csv", uuid::Uuid::now_v7()));
    let o = veille(
        "sqlite://unused.db",
        &["linkage", "dedupe", "--config", &format!("{examples}/people.toml"), "--input", &format!("{examples}/people.csv"), "--output", out.to_str().unwrap()],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let pairs = std::fs::read_to_string(&out).unwrap();
    let header = pairs.lines().next().unwrap();
    assert!(header.starts_with("left_id,right_id,match_weight,match_probability"), "{header}");
    assert!(pairs.lines().count() > 10, "pairs found");
    // A CSV that does not hold the configured fields: a clear error, no output.
    let bad = std::env::temp_dir().join(format!("veille-bad-{}.csv", uuid::Uuid::now_v7()));
    std::fs::write(&bad, "id,given_name\n1,Mohamed\n").unwrap();
    let o = veille(
        "sqlite://unused.db",
        &["linkage", "dedupe", "--config", &format!("{examples}/people.toml"), "--input", bad.to_str().unwrap(), "--output", "/tmp/never-written.csv"],
        None,
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown field 'family_name'"), "{}", text(&o));
    assert!(!text(&o).contains("Stack backtrace"), "no backtrace for users");
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(bad);
}

#[tokio::test]
async fn data_inclusion_import_dry_run_then_import_then_nothing_to_change_and_a_malformed_file_refused() {
    let (url, cleanup) = fresh_database().await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/tests/fixtures/data-inclusion");
    let (s, v) = (format!("{fixtures}/structures.json"), format!("{fixtures}/services.json"));
    let o = veille(&url, &["import", "data-inclusion", &s, &v, "--dry-run"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("dry run, nothing written") && text(&o).contains("created: 3 structures, 4 services"), "{}", text(&o));
    let o = veille(&url, &["import", "data-inclusion", &s, &v], None);
    assert!(o.status.success() && text(&o).contains("imported") && text(&o).contains("created: 3 structures, 4 services"), "{}", text(&o));
    let o = veille(&url, &["import", "data-inclusion", &s, &v], None);
    assert!(text(&o).contains("nothing to change") && text(&o).contains("unchanged: 3 structures, 4 services"), "{}", text(&o));
    let o = veille(&url, &["import", "data-inclusion", &format!("{fixtures}/malformed.json")], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("refused: malformed.json, line 3 · structure “test--siret-court” · siret: a SIRET has 14 digits."), "{}", text(&o));
    assert!(text(&o).contains("REFUSED, nothing written"), "{}", text(&o));
    let db = Db::connect(&url).await.unwrap();
    let n: i64 = veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM directory_structures").fetch_one(db.pool()).await.unwrap();
    assert_eq!(n, 3);
    db.close().await;
    cleanup();
}

/// Synthetic people as a field team's spreadsheet has them: lines 4, 5 and 6 are wrong.
fn people_workbook() -> Vec<u8> {
    let rows: [[&str; 8]; 7] = [
        ["Pseudonyme", "Nom", "Prénom", "Année de naissance", "Âge", "Genre", "Téléphone", "Consentement"],
        ["Momo", "", "", "1980", "", "H", "", ""],
        ["Zora", "", "", "", "34", "Femme", "", ""],
        ["", "", "", "1990", "", "F", "", ""],
        ["Lulu", "", "", "1700", "", "", "", ""],
        ["Kiki", "", "", "", "", "F", "06 12 34 56 78", ""],
        ["Bibi", "Martin", "Paul", "", "50", "M", "0612345679", "oui"],
    ];
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell.parse::<i64>() {
                Ok(n) if !cell.starts_with('0') => ws.write(r as u32, c as u16, n as f64).unwrap(),
                _ => ws.write(r as u32, c as u16, *cell).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

async fn count_people(url: &str) -> i64 {
    let db = Db::connect(url).await.unwrap();
    let n: i64 = veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM people").fetch_one(db.pool()).await.unwrap();
    db.close().await;
    n
}

#[tokio::test]
async fn people_import_of_an_xlsx_names_refused_lines_exits_non_zero_writes_the_good_ones_when_skipped_and_changes_nothing_the_second_time() {
    let (url, cleanup) = fresh_database().await;
    let o = veille(&url, &["migrate"], None);
    assert!(o.status.success(), "{}", text(&o));
    // An organisation, its coordinator and a field worker, as the administration pages make them.
    let db = Db::connect(&url).await.unwrap();
    let now = veille_domain::Timestamp::from_micros(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64);
    let mut tx = db.begin().await.unwrap();
    let org = veille_storage::organisations::create(&mut tx, "Maraude A", "association", false, now).await.unwrap();
    for (email, role) in [("coord@a.exemple.fr", veille_domain::Role::Coordinator), ("terrain@a.exemple.fr", veille_domain::Role::FieldWorker)] {
        let account = veille_storage::accounts::NewAccount {
            organisation: org.id,
            email: veille_domain::EmailAddress::parse(email).unwrap(),
            display_name: "Test".into(),
            role,
            password_hash: None,
            territories: None,
            field_groups: vec![],
            demo_account: false,
        };
        veille_storage::accounts::create(&mut tx, &account, now).await.unwrap();
    }
    tx.commit().await.unwrap();
    db.close().await;
    let file = std::env::temp_dir().join(format!("veille-people-{}.xlsx", uuid::Uuid::now_v7()));
    std::fs::write(&file, people_workbook()).unwrap();
    let f = file.to_str().unwrap();
    let once = |out: &str| out.matches("Import of people:").count() == 1;

    let o = veille(&url, &["import", "people", f, "--as", "coord@a.exemple.fr", "--dry-run"], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("refused: line 4 · Pseudonyme:") && out.contains("refused: line 5 · Année de naissance:") && out.contains("refused: line 6 · Téléphone:"),
        "{out}"
    );
    assert!(out.contains("dry run, nothing written") && out.contains("3 lines to write or written") && out.contains("3 lines refused") && once(&out), "{out}");
    assert_eq!(count_people(&url).await, 0);

    let o = veille(&url, &["import", "people", f, "--as", "coord@a.exemple.fr"], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("REFUSED, nothing written") && once(&text(&o)), "{}", text(&o));
    assert_eq!(count_people(&url).await, 0);

    let o = veille(&url, &["import", "people", f, "--as", "coord@a.exemple.fr", "--skip-refused"], None);
    assert_eq!(o.status.code(), Some(2), "refused lines make a non-zero exit even when skipped: {}", text(&o));
    assert!(text(&o).contains("Import of people: imported") && once(&text(&o)), "{}", text(&o));
    assert_eq!(count_people(&url).await, 3);

    let o = veille(&url, &["import", "people", f, "--as", "coord@a.exemple.fr", "--skip-refused"], None);
    assert!(text(&o).contains("nothing to change") && text(&o).contains("3 lines already imported"), "{}", text(&o));
    assert_eq!(count_people(&url).await, 3);

    // The French messages, a mapping that names no field, an account that may not import.
    let o = veille(&url, &["import", "people", f, "--as", "coord@a.exemple.fr", "--dry-run", "--lang", "fr", "--map", "Nom=pointure"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("Il n'y a pas de champ « pointure »"), "{}", text(&o));
    let o = veille(&url, &["import", "people", f, "--as", "terrain@a.exemple.fr", "--dry-run"], None);
    assert!(!o.status.success() && text(&o).contains("may not import people"), "{}", text(&o));
    let o = veille(&url, &["audit", "verify"], None);
    assert!(o.status.success(), "{}", text(&o));
    let _ = std::fs::remove_file(file);
    cleanup();
}

#[tokio::test]
async fn demo_at_scale_generates_and_exports_for_duckdb() {
    let (url, cleanup) = fresh_database().await;
    let dir = std::env::temp_dir().join(format!("veille-scale-{}", uuid::Uuid::now_v7()));
    let o = veille(&url, &["demo", "--scale", "2000", "--export", dir.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("rows/s") && out.lines().any(|l| l.trim_start().starts_with("encounters ") && l.trim_end().ends_with(" 2000")), "{out}");
    let encounters = std::fs::read_to_string(dir.join("encounters.csv")).unwrap();
    assert!(encounters.lines().count() > 2000, "every encounter exported, the demo's with them");
    assert!(dir.join("person_links.csv").exists() && dir.join("reports.csv").exists());
    let _ = std::fs::remove_dir_all(&dir);
    cleanup();
}

/// The intake benchmark still runs end to end on the engine under test (a
/// short run: it measures nothing here, it must only keep working — it once
/// stopped at a missing field key and nobody noticed until a rerun).
#[test]
fn intake_benchmark_runs() {
    let engine = if std::env::var("VEILLE_TEST_DATABASE").as_deref() == Ok("postgres") { "postgres" } else { "sqlite" };
    let geo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/geo");
    let out = Command::new(env!("CARGO_BIN_EXE_bench-intake"))
        .args(["--engines", engine, "--clients", "2", "--closed-secs", "0.3", "--rate", "20", "--rate-secs", "0.5", "--lookup-secs", "0.1"])
        .arg("--geo-dir")
        .arg(&geo)
        .arg("--pg-admin-url")
        .arg(pg_admin_url())
        .env("VEILLE_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "bench-intake failed: {}", String::from_utf8_lossy(&out.stderr));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &results["engines"][0];
    assert_eq!(run["engine"], engine);
    for phase in ["raw_insert", "http", "open_loop"] {
        assert!(run[phase]["ok"].as_u64().unwrap() > 0, "{phase}: nothing succeeded: {}", run[phase]);
        assert_eq!(run[phase]["errors"].as_u64(), Some(0), "{phase}: {}", run[phase]);
    }
}
