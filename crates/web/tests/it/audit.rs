//! The audit log: reads of personal records are recorded; tampering is found.

use axum::http::StatusCode;
use veille_domain::Role;
use veille_storage::audit::{self, Verification};

use veille_web::Config;

use crate::helpers::*;

#[tokio::test]
async fn reading_an_account_is_audited_with_who_and_what() {
    let app = TestApp::new().await;
    let org = app.org("Org A", true).await;
    let admin = app.user(org, Role::OrgAdmin, "admin@exemple.fr", None, None).await;
    let worker = app.user(org, Role::FieldWorker, "worker@exemple.fr", None, None).await;
    let mut c = app.session_for(admin, false).await;
    assert_eq!(c.get(&format!("/users/{worker}")).await.status, StatusCode::OK);
    assert_eq!(c.get(&format!("/api/v1/users/{worker}")).await.status, StatusCode::OK);
    let entries =
        audit::list(app.db(), &app.state.audit, &audit::Query { record_id: Some(worker.to_string()), limit: 10, ..Default::default() }).await.unwrap();
    let reads: Vec<_> = entries.iter().filter(|e| e.action == "read").collect();
    assert_eq!(reads.len(), 2, "{entries:?}");
    assert!(reads.iter().all(|e| e.actor_user.as_deref() == Some(admin.to_string().as_str())));
    assert!(reads.iter().all(|e| e.record_organisation.as_deref() == Some(org.to_string().as_str())));
    // A refused read leaves no personal data behind and no read entry.
    let other = app.org("Org B", false).await;
    let outsider = app.user(other, Role::OrgAdmin, "outsider@exemple.fr", None, None).await;
    let mut o = app.session_for(outsider, false).await;
    assert_eq!(o.get(&format!("/users/{worker}")).await.status, StatusCode::FORBIDDEN);
    let entries =
        audit::list(app.db(), &app.state.audit, &audit::Query { actor_user: Some(outsider.to_string()), limit: 10, ..Default::default() }).await.unwrap();
    assert!(entries.iter().all(|e| e.action != "read"));
    // The organisation administrator browses the log by record.
    let page = c.get(&format!("/audit?record={worker}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("read"));
}

#[tokio::test]
async fn verify_finds_a_tampered_row_and_a_removed_row() {
    let app = TestApp::new().await;
    let org = app.org("Org A", true).await;
    let admin = app.user(org, Role::OrgAdmin, "admin@exemple.fr", None, None).await;
    let worker = app.user(org, Role::FieldWorker, "worker@exemple.fr", None, None).await;
    let mut c = app.session_for(admin, false).await;
    for _ in 0..5 {
        c.get(&format!("/users/{worker}")).await;
    }
    assert_eq!(audit::verify(app.db(), &app.state.audit).await.unwrap(), Verification::Intact { entries: 5 });
    // Someone edits entry 3 directly in the database.
    veille_storage::sqlx::query("UPDATE audit_log SET action = 'update' WHERE seq = 3").execute(app.db().pool()).await.unwrap();
    match audit::verify(app.db(), &app.state.audit).await.unwrap() {
        Verification::Broken { seq, .. } => assert_eq!(seq, 3),
        other => panic!("tampering not found: {other:?}"),
    }
    veille_storage::sqlx::query("UPDATE audit_log SET action = 'read' WHERE seq = 3").execute(app.db().pool()).await.unwrap();
    assert!(matches!(audit::verify(app.db(), &app.state.audit).await.unwrap(), Verification::Intact { .. }));
    // Someone deletes the last entry.
    veille_storage::sqlx::query("DELETE FROM audit_log WHERE seq = 5").execute(app.db().pool()).await.unwrap();
    match audit::verify(app.db(), &app.state.audit).await.unwrap() {
        Verification::Broken { seq, .. } => assert_eq!(seq, 5),
        other => panic!("removal not found: {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_appends_and_sealers_keep_one_chain() {
    let app = TestApp::new().await;
    let mut handles = Vec::new();
    for i in 0..40 {
        let db = app.db().clone();
        let sealer = app.state.audit.clone();
        let now = app.state.clock.now();
        handles.push(tokio::spawn(async move {
            audit::append_now(
                &db,
                audit::NewEntry {
                    at: now,
                    actor_user: None,
                    actor_organisation: None,
                    action: "read",
                    record_kind: "test",
                    record_id: Some(i.to_string()),
                    record_organisation: None,
                    detail: serde_json::json!({}),
                },
            )
            .await
            .unwrap();
            // Sealers run while others still write: each entry is chained once.
            if i % 8 == 0 {
                audit::seal(&db, &sealer).await.unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(audit::verify(app.db(), &app.state.audit).await.unwrap(), Verification::Intact { entries: 40 });
    assert_eq!(audit::unsealed(app.db()).await.unwrap(), 0);
    let seqs: Vec<i64> = veille_storage::sqlx::query_scalar("SELECT seq FROM audit_log ORDER BY seq").fetch_all(app.db().pool()).await.unwrap();
    assert_eq!(seqs, (1..=40).collect::<Vec<i64>>());
}

/// An entry is written with its change and visible at once (by record); the
/// sealer gives it its place in the chain afterwards.
#[tokio::test]
async fn an_entry_is_visible_at_commit_and_chained_by_the_sealer() {
    let app = TestApp::new().await;
    let entry = || audit::NewEntry::about(app.state.clock.now(), None, "read", "test", Some("x".into()), None);
    audit::append_now(app.db(), entry()).await.unwrap();
    let n: i64 = veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE record_id = 'x'").fetch_one(app.db().pool()).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(audit::unsealed(app.db()).await.unwrap(), 1);
    assert_eq!(audit::seal(app.db(), &app.state.audit).await.unwrap(), 1);
    assert_eq!(audit::seal(app.db(), &app.state.audit).await.unwrap(), 0);
    audit::append_now(app.db(), entry()).await.unwrap();
    // Reading the log seals first: the list is the chain as it stands.
    let listed = audit::list(app.db(), &app.state.audit, &audit::Query { record_id: Some("x".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(listed[0].prev_hash, listed[1].hash);
}

/// What an attacker with write access to the database (and no key) computes:
/// the plain SHA-256 link over the previous hash and the row, as the chain
/// used to be.
fn plain_link(prev: &str, seq: i64, e: &audit::Entry) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        &e.at.as_micros().to_string(),
        e.actor_user.as_deref().unwrap_or(""),
        e.actor_organisation.as_deref().unwrap_or(""),
        &e.action,
        &e.record_kind,
        e.record_id.as_deref().unwrap_or(""),
        e.record_organisation.as_deref().unwrap_or(""),
        &e.detail,
    ] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

/// The sealed rows as the attacker reads them from the database.
async fn rows(db: &veille_storage::Db) -> Vec<audit::Entry> {
    use veille_storage::sqlx::Row;
    let rows = veille_storage::sqlx::query(
        "SELECT seq, at, actor_user_id, actor_organisation_id, action, record_kind, record_id, record_organisation_id, detail, prev_hash, hash \
         FROM audit_log WHERE seq IS NOT NULL ORDER BY seq",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| audit::Entry {
            seq: r.get("seq"),
            at: veille_domain::Timestamp::from_micros(r.get("at")),
            actor_user: r.get("actor_user_id"),
            actor_organisation: r.get("actor_organisation_id"),
            action: r.get("action"),
            record_kind: r.get("record_kind"),
            record_id: r.get("record_id"),
            record_organisation: r.get("record_organisation_id"),
            detail: r.get("detail"),
            prev_hash: r.get("prev_hash"),
            hash: r.get("hash"),
        })
        .collect()
}

/// Recomputes every link with plain SHA-256 (renumbering from 1 in order)
/// and moves the head to the new end: the chain is consistent again for a
/// verifier without a key — the attack the keyed chain must defeat.
async fn recompute_plain(db: &veille_storage::Db) {
    let mut prev = "0".repeat(64);
    let entries = rows(db).await;
    for (i, e) in entries.iter().enumerate() {
        let seq = i as i64 + 1;
        let hash = plain_link(&prev, seq, e);
        veille_storage::sqlx::query("UPDATE audit_log SET seq = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(seq)
            .bind(&prev)
            .bind(&hash)
            .bind(e.seq)
            .execute(db.pool())
            .await
            .unwrap();
        prev = hash;
    }
    veille_storage::sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(entries.len() as i64)
        .bind(&prev)
        .execute(db.pool())
        .await
        .unwrap();
}

/// Six sealed entries about records "r1".."r6".
async fn six_entries(app: &TestApp) {
    for i in 1..=6 {
        audit::append_now(app.db(), audit::NewEntry::about(app.state.clock.now(), None, "read", "test", Some(format!("r{i}")), None)).await.unwrap();
        app.state.clock.advance_seconds(1);
    }
    assert_eq!(audit::verify(app.db(), &app.state.audit).await.unwrap(), Verification::Intact { entries: 6 });
}

fn broken_at(v: Verification) -> i64 {
    match v {
        Verification::Broken { seq, .. } => seq,
        other => panic!("tampering not found: {other:?}"),
    }
}

/// Someone with write access to the database rewrites an entry and
/// recomputes every later hash (and the head) with SHA-256: the keyed chain
/// reports the rewritten entry.
#[tokio::test]
async fn a_rewritten_entry_with_every_later_hash_recomputed_is_reported() {
    let app = TestApp::new().await;
    six_entries(&app).await;
    veille_storage::sqlx::query("UPDATE audit_log SET action = 'update', detail = '{\"field\":\"status\"}' WHERE seq = 3")
        .execute(app.db().pool())
        .await
        .unwrap();
    recompute_plain(app.db()).await;
    assert_eq!(broken_at(audit::verify(app.db(), &app.state.audit).await.unwrap()), 1, "the first recomputed link is not keyed");
    // Recomputing only from the rewritten entry on (the earlier links left as sealed) is reported at the rewritten entry.
    let app = TestApp::new().await;
    six_entries(&app).await;
    let before: Vec<audit::Entry> = rows(app.db()).await;
    veille_storage::sqlx::query("UPDATE audit_log SET action = 'update' WHERE seq = 3").execute(app.db().pool()).await.unwrap();
    let mut prev = before[1].hash.clone();
    for e in rows(app.db()).await.iter().skip(2) {
        let hash = plain_link(&prev, e.seq, e);
        veille_storage::sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(e.seq)
            .execute(app.db().pool())
            .await
            .unwrap();
        prev = hash;
    }
    veille_storage::sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&prev).execute(app.db().pool()).await.unwrap();
    assert_eq!(broken_at(audit::verify(app.db(), &app.state.audit).await.unwrap()), 3);
}

/// An entry removed and the chain renumbered and recomputed; the last entries
/// cut off and the head moved back: both reported.
#[tokio::test]
async fn a_removed_entry_with_the_chain_recomputed_is_reported() {
    let app = TestApp::new().await;
    six_entries(&app).await;
    veille_storage::sqlx::query("DELETE FROM audit_log WHERE record_id = 'r4'").execute(app.db().pool()).await.unwrap();
    recompute_plain(app.db()).await;
    broken_at(audit::verify(app.db(), &app.state.audit).await.unwrap());
    // Truncation: the last two entries removed, the head set to the (genuine) hash of entry 4.
    let app = TestApp::new().await;
    six_entries(&app).await;
    let genuine = rows(app.db()).await;
    veille_storage::sqlx::query("DELETE FROM audit_log WHERE seq > 4").execute(app.db().pool()).await.unwrap();
    veille_storage::sqlx::query("UPDATE audit_head SET seq = 4, hash = $1 WHERE id = 1").bind(&genuine[3].hash).execute(app.db().pool()).await.unwrap();
    assert_eq!(broken_at(audit::verify(app.db(), &app.state.audit).await.unwrap()), 5, "the head's MAC no longer matches");
    // The head's MAC removed as well: still reported.
    veille_storage::sqlx::query("UPDATE audit_head SET mac = NULL WHERE id = 1").execute(app.db().pool()).await.unwrap();
    assert_eq!(broken_at(audit::verify(app.db(), &app.state.audit).await.unwrap()), 5);
}

/// A forged entry appended after the last one, linked with SHA-256 and the
/// head moved to it: reported.
#[tokio::test]
async fn a_forged_entry_is_reported() {
    let app = TestApp::new().await;
    six_entries(&app).await;
    let last = rows(app.db()).await.pop().unwrap();
    let forged = audit::Entry { seq: 7, action: "delete".into(), record_id: Some("r7".into()), prev_hash: last.hash.clone(), ..last.clone() };
    let hash = plain_link(&last.hash, 7, &forged);
    veille_storage::sqlx::query(
        "INSERT INTO audit_log (id, seq, at, action, record_kind, record_id, detail, prev_hash, hash) VALUES ('forged', 7, $1, 'delete', 'test', 'r7', '{}', $2, $3)",
    )
    .bind(forged.at.as_micros())
    .bind(&last.hash)
    .bind(&hash)
    .execute(app.db().pool())
    .await
    .unwrap();
    veille_storage::sqlx::query("UPDATE audit_head SET seq = 7, hash = $1 WHERE id = 1").bind(&hash).execute(app.db().pool()).await.unwrap();
    assert_eq!(broken_at(audit::verify(app.db(), &app.state.audit).await.unwrap()), 7);
    // And the sealer does not extend a head it cannot verify.
    audit::append_now(app.db(), audit::NewEntry::about(app.state.clock.now(), None, "read", "test", None, None)).await.unwrap();
    assert!(audit::seal(app.db(), &app.state.audit).await.is_err());
}

/// An unsealed entry dated well before the last chained one (inserted after
/// the fact) is refused by the sealer, not chained, and reported; the entries
/// written after it are chained as usual.
#[tokio::test]
async fn a_back_dated_entry_is_reported_not_chained() {
    let app = TestApp::new().await;
    six_entries(&app).await;
    let two_hours_ago = veille_domain::Timestamp::from_micros(app.state.clock.now().as_micros() - 2 * 3600 * 1_000_000);
    audit::append_now(app.db(), audit::NewEntry::about(two_hours_ago, None, "delete", "test", Some("old".into()), None)).await.unwrap();
    audit::append_now(app.db(), audit::NewEntry::about(app.state.clock.now(), None, "read", "test", Some("r7".into()), None)).await.unwrap();
    assert_eq!(audit::seal(app.db(), &app.state.audit).await.unwrap(), 1);
    assert_eq!(audit::verify(app.db(), &app.state.audit).await.unwrap(), Verification::Backdated { entries: 7, refused: 1 });
    let seq: Option<i64> = veille_storage::sqlx::query_scalar("SELECT seq FROM audit_log WHERE record_id = 'old'").fetch_one(app.db().pool()).await.unwrap();
    assert_eq!(seq, None, "never chained");
    assert_eq!(audit::unsealed(app.db()).await.unwrap(), 0, "not waiting for the sealer either");
    // Within the window (an entry whose transaction was slow to commit) it is chained.
    let ten_minutes_ago = veille_domain::Timestamp::from_micros(app.state.clock.now().as_micros() - 600 * 1_000_000);
    audit::append_now(app.db(), audit::NewEntry::about(ten_minutes_ago, None, "read", "test", Some("slow".into()), None)).await.unwrap();
    assert_eq!(audit::seal(app.db(), &app.state.audit).await.unwrap(), 1);
}

/// Without the key, nothing verifies: another key reports the first keyed entry.
#[tokio::test]
async fn another_key_does_not_verify_the_chain() {
    let app = TestApp::new().await;
    six_entries(&app).await;
    let other = audit::Sealer::new(audit::AuditKey::from_bytes([7; 32]), 3600);
    assert_eq!(broken_at(audit::verify(app.db(), &other).await.unwrap()), 1);
}

/// The key file: created for a new instance, refused to be created anew once
/// the chain is keyed (a new key would silently stop verifying the chain).
#[tokio::test]
async fn the_key_file_is_created_once_and_required_afterwards() {
    let tdb = TestDb::new().await;
    let dir = tempdir::Dir::new();
    let file = dir.0.join("keys").join("audit.key");
    let config = Config { database_url: tdb.url.clone(), audit_key_file: file.display().to_string(), ..Config::default() };
    let sealer = veille_app::instance::audit_sealer(&tdb.db, &config).await.unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.trim(), sealer.key.to_hex());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The same file is read again.
    assert_eq!(veille_app::instance::audit_sealer(&tdb.db, &config).await.unwrap().key.to_hex(), sealer.key.to_hex());
    audit::append_now(&tdb.db, audit::NewEntry::about(t0(), None, "read", "test", None, None)).await.unwrap();
    audit::seal(&tdb.db, &sealer).await.unwrap();
    std::fs::remove_file(&file).unwrap();
    let Err(err) = veille_app::instance::audit_sealer(&tdb.db, &config).await else { panic!("a missing key once the chain is keyed") };
    assert!(err.to_string().contains("missing"), "{err}");
    assert!(!file.exists());
}

/// Two instances on one database take signalements at once while both run
/// their sealer: every entry is chained once, the chain verifies intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_taking_signalements_and_sealing_keep_one_intact_chain() {
    let app = TestApp::new().await;
    app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let other = app.second_instance().await;
    let before: i64 = veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(app.db().pool()).await.unwrap();
    let mut handles = Vec::new();
    for (n, state) in [app.state.clone(), other.clone()].into_iter().enumerate() {
        for i in 0..30 {
            let state = state.clone();
            handles.push(tokio::spawn(async move {
                let intake = veille_app::reports::Intake {
                    source: veille_domain::reports::Source::Riverain,
                    channel: veille_domain::reports::Channel::Web,
                    point: Some(veille_geo::LonLat::new(2.05 + 0.001 * f64::from(i), 48.05).unwrap()),
                    address: format!("Rue {n}-{i}"),
                    adults: 1,
                    ..Default::default()
                };
                veille_app::reports::receive(&state, &intake, None).await.unwrap();
                if i % 5 == 0 {
                    audit::seal(&state.db, &state.audit).await.unwrap();
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    audit::seal(&other.db, &other.audit).await.unwrap();
    audit::seal(app.db(), &app.state.audit).await.unwrap();
    let after: i64 = veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(app.db().pool()).await.unwrap();
    assert!(after - before >= 60, "{} entries written", after - before);
    assert_eq!(audit::unsealed(app.db()).await.unwrap(), 0);
    assert_eq!(audit::verify(app.db(), &app.state.audit).await.unwrap(), Verification::Intact { entries: after });
    assert_eq!(audit::verify(&other.db, &other.audit).await.unwrap(), Verification::Intact { entries: after });
}
