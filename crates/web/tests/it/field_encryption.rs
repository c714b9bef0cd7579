//! Encryption at rest of the health and justice field groups (decision 78):
//! written through the application, the values are absent from the SQLite
//! file, from the rows as PostgreSQL gives them and from a backup, and read
//! back through the application; a key rotation keeps them readable; a
//! missing or wrong key stops the start with the key's id; values written
//! before encryption at rest are sealed at the next start.

use axum::http::StatusCode;
use veille_domain::shelter::Night;
use veille_domain::Role;
use veille_storage::field_keys::{self, KeyRing};
use veille_storage::sqlx::{self, Row};
use veille_storage::{Backend, Db};

use crate::helpers::*;

/// Every sealed column's stored values, as the database holds them.
async fn stored(db: &Db) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in field_keys::places() {
        for v in field_keys::stored_values(db, p.table, p.column).await.unwrap() {
            out.push((format!("{}.{}", p.table, p.column), v));
        }
    }
    out
}

/// Every text the database holds in the tables with sealed columns, read
/// with plain SQL (no key).
async fn raw_rows(db: &Db) -> String {
    let mut all = String::new();
    for p in field_keys::places() {
        let sql = format!("SELECT {} AS v FROM {}", p.column, p.table);
        for r in sqlx::query(&sql).fetch_all(db.pool()).await.unwrap() {
            all.push_str(&r.get::<String, _>("v"));
            all.push('\n');
        }
    }
    all
}

/// The bytes of the SQLite database file and its write-ahead log.
fn sqlite_bytes(url: &str) -> Vec<u8> {
    let path = url.strip_prefix("sqlite://").unwrap().split('?').next().unwrap().to_owned();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

struct Written {
    app: TestApp,
    person: String,
    encounter: String,
    operation: String,
    nurse: UserId,
    coord: UserId,
}

use veille_domain::UserId;

const HEALTH: &str = "SCELLE-SANTE-5521";
const NOTE: &str = "SCELLE-NOTE-5522";
const CARE: &str = "SCELLE-SOIN-5523";
const JUSTICE: &str = "SCELLE-ARRETE-5524";

/// A health section, a health note, care given and an operation's legal
/// reference, written through the forms and the API.
async fn written() -> Written {
    let app = TestApp::new().await;
    app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let org = app.org("Maraude scellée", true).await;
    let nurse = app.user(org, Role::HealthProfessional, "sante@scelle.exemple.fr", None, None).await;
    let coord = app.user(org, Role::Coordinator, "coord@scelle.exemple.fr", None, None).await;
    let mut n = app.session_for(nurse, false).await;
    let mut c = app.session_for(coord, false).await;
    let r = c.post("/people", &[("pseudonym", "Scellé")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let person = r.location().unwrap().rsplit('/').next().unwrap().to_owned();
    let r = n.post(&format!("/people/{person}/health"), &[("flags", "chronic_illness"), ("notes", HEALTH), ("version", "0")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = n.post(&format!("/people/{person}/notes"), &[("body", NOTE), ("health", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    c.post(&format!("/people/{person}/notes"), &[("body", "Note sociale ordinaire")]).await;
    let r = n.post("/encounters", &[("people", &person), ("actions", "care"), ("care", CARE)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let encounter = r.location().unwrap().rsplit('/').next().unwrap().to_owned();
    let site = crate::sites::site_at(&app, org, coord, "Campement scellé", 2.05, 48.05).await;
    let date = Night::at(app.state.clock.now()).plus(3);
    let r = c
        .post_json(
            "/api/v1/operations",
            &serde_json::json!({"site_id": site.to_string(), "kind": "sheltering", "planned_on": date.iso(), "legal_frame": "prefectoral_order", "legal_reference": JUSTICE}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let operation = r.json()["id"].as_str().unwrap().to_owned();
    Written { app, person, encounter, operation, nurse, coord }
}

/// What the application shows of them to those who may read them.
async fn read_back(w: &Written, app: &veille_web::AppState) {
    let mut n = w.app.client_of(app);
    n.cookies = w.app.session_for(w.nurse, false).await.cookies;
    let api = n.get(&format!("/api/v1/people/{}", w.person)).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    assert_eq!(api.json()["health"]["notes"], HEALTH);
    assert!(api.body.contains("chronic_illness"), "{}", api.body);
    let page = n.get(&format!("/people/{}", w.person)).await;
    assert!(page.body.contains(HEALTH) && page.body.contains(NOTE) && page.body.contains("Note sociale ordinaire"), "{}", page.body);
    assert_eq!(n.get(&format!("/api/v1/encounters/{}", w.encounter)).await.json()["care_notes"], CARE);
    let mut c = w.app.client_of(app);
    c.cookies = w.app.session_for(w.coord, false).await.cookies;
    let op = c.get(&format!("/api/v1/operations/{}", w.operation)).await.json();
    assert_eq!(op["operation"]["legal_reference"], JUSTICE, "{op}");
    assert_eq!(op["operation"]["legal_frame"], "prefectoral_order", "{op}");
}

#[tokio::test]
async fn health_and_justice_fields_are_sealed_in_the_database_and_its_backup_and_read_back_through_the_application() {
    let w = written().await;
    let db = w.app.db();
    read_back(&w, &w.app.state).await;
    // Every sealed column holds sealed values only, each under the ring's key.
    let newest = db.field_keys().unwrap().newest().to_owned();
    let values = stored(db).await;
    for want in
        ["person_health.notes", "person_health.flags", "person_notes.body", "encounter_care.notes", "operations.legal_reference", "operations.legal_frame"]
    {
        assert!(values.iter().any(|(place, _)| place == want), "{want} written");
    }
    for (place, v) in &values {
        assert!(v.starts_with(&format!("enc1:{newest}:")), "{place} holds {v}");
    }
    // The ordinary note stays as typed (not in a sealed group).
    let ordinary: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM person_notes WHERE body = 'Note sociale ordinaire' AND field_group IS NULL")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(ordinary, 1);
    // Read without the key: the rows as the engine gives them…
    let raw = raw_rows(db).await;
    // …the SQLite file itself…
    let file = if db.backend() == Backend::Sqlite { sqlite_bytes(&w.app.tdb.url) } else { Vec::new() };
    // …and a backup.
    let mut backup = Vec::new();
    veille_storage::backup::dump(db, &w.app.state.audit, &mut backup).await.unwrap();
    for marker in [HEALTH, NOTE, CARE, JUSTICE, "chronic_illness", "prefectoral_order"] {
        assert!(!raw.contains(marker), "{marker} in the rows");
        assert!(!contains(&file, marker), "{marker} in the SQLite file");
        assert!(!contains(&backup, marker), "{marker} in the backup");
    }
    assert!(contains(&backup, &format!("enc1:{newest}:")), "the backup carries the sealed values");
}

#[tokio::test]
async fn a_rotation_seals_every_value_with_the_new_key_and_the_old_ring_no_longer_starts() {
    let w = written().await;
    let db = w.app.db();
    let dir = tempdir::Dir::new();
    let file = dir.0.join("fields.key");
    let first = w.app.state.config.field_keys.clone();
    std::fs::write(&file, format!("{first}\n")).unwrap();
    let config = veille_web::Config { field_keys: String::new(), field_keys_file: file.display().to_string(), ..(*w.app.state.config).clone() };
    let mut seen = Vec::new();
    let n = veille_app::instance::rotate_field_keys(db, &config, false, |place, done| seen.push((place.to_owned(), done))).await.unwrap();
    assert_eq!(n, 6, "{seen:?}");
    assert!(seen.iter().any(|(p, d)| p == "person_health.notes" && *d == 1), "{seen:?}");
    let ring = KeyRing::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(ring.ids().len(), 2);
    let newest = ring.newest().to_owned();
    assert_ne!(Some(newest.as_str()), first.split(':').next());
    for (place, v) in stored(db).await {
        assert!(v.starts_with(&format!("enc1:{newest}:")), "{place} still under the old key");
    }
    // Read back through the application (the running one, and a fresh start on the file).
    read_back(&w, &w.app.state).await;
    let second = veille_web::AppState::new(Db::connect(&w.app.tdb.url).await.unwrap(), config.clone(), w.app.state.clock.clone()).await.unwrap();
    read_back(&w, &second).await;
    // Resuming a finished rotation has nothing left to do.
    assert_eq!(veille_app::instance::rotate_field_keys(db, &config, true, |_, _| {}).await.unwrap(), 0);
    // The old key alone no longer opens the database: the start stops, naming the missing key.
    let old_only = veille_web::Config { field_keys: first.clone(), ..config.clone() };
    let err = veille_web::AppState::new(Db::connect(&w.app.tdb.url).await.unwrap(), old_only, w.app.state.clock.clone()).await.err().expect("refused");
    let message = format!("{err:#}");
    assert!(message.contains(&newest) && message.contains("not among the field keys"), "{message}");
    for marker in [HEALTH, NOTE, CARE, JUSTICE] {
        assert!(!message.contains(marker));
    }
    // A wrong key under the right id: told as a wrong key, not read as garbage.
    let wrong = KeyRing::new_key_line(None, 1).replacen("k1:", &format!("{newest}:"), 1);
    let wrong_ring = veille_web::Config { field_keys: format!("{first}\n{wrong}"), ..config.clone() };
    let err = veille_web::AppState::new(Db::connect(&w.app.tdb.url).await.unwrap(), wrong_ring, w.app.state.clock.clone()).await.err().expect("refused");
    let message = format!("{err:#}");
    assert!(message.contains(&newest) && message.contains("does not open"), "{message}");
    // Without the key file and its keys, nothing starts either (no new key over sealed values).
    let none = veille_web::Config { field_keys: String::new(), field_keys_file: dir.0.join("absent.key").display().to_string(), ..config };
    let err = veille_web::AppState::new(Db::connect(&w.app.tdb.url).await.unwrap(), none, w.app.state.clock.clone()).await.err().expect("refused");
    assert!(format!("{err:#}").contains("is missing"), "{err:#}");
    assert!(!dir.0.join("absent.key").exists());
}

#[tokio::test]
async fn values_written_before_encryption_at_rest_are_sealed_at_the_next_start() {
    let w = written().await;
    let db = w.app.db();
    // As a database of the previous version holds them: in clear.
    sqlx::query("UPDATE person_health SET notes = $1").bind(format!("{HEALTH} avant")).execute(db.pool()).await.unwrap();
    sqlx::query("UPDATE operations SET legal_reference = $1").bind(format!("{JUSTICE} avant")).execute(db.pool()).await.unwrap();
    assert!(raw_rows(db).await.contains(HEALTH));
    // The application reads them as they are until then.
    let mut n = w.app.session_for(w.nurse, false).await;
    assert_eq!(n.get(&format!("/api/v1/people/{}", w.person)).await.json()["health"]["notes"], format!("{HEALTH} avant"));
    // The next start seals them.
    let next = veille_web::AppState::new(Db::connect(&w.app.tdb.url).await.unwrap(), (*w.app.state.config).clone(), w.app.state.clock.clone()).await.unwrap();
    let raw = raw_rows(db).await;
    assert!(!raw.contains(HEALTH) && !raw.contains(JUSTICE), "sealed at start");
    for (place, v) in stored(db).await {
        assert!(v.starts_with("enc1:"), "{place}: {v}");
    }
    let mut n = w.app.client_of(&next);
    n.cookies = w.app.session_for(w.nurse, false).await.cookies;
    assert_eq!(n.get(&format!("/api/v1/people/{}", w.person)).await.json()["health"]["notes"], format!("{HEALTH} avant"));
    let mut c = w.app.client_of(&next);
    c.cookies = w.app.session_for(w.coord, false).await.cookies;
    assert_eq!(c.get(&format!("/api/v1/operations/{}", w.operation)).await.json()["operation"]["legal_reference"], format!("{JUSTICE} avant"));
}
