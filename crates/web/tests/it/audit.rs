//! The audit log: reads of personal records are recorded; tampering is found.

use axum::http::StatusCode;
use veille_domain::Role;
use veille_storage::audit::{self, Verification};

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
    let entries = audit::list(app.db(), &audit::Query { record_id: Some(worker.to_string()), limit: 10, ..Default::default() }).await.unwrap();
    let reads: Vec<_> = entries.iter().filter(|e| e.action == "read").collect();
    assert_eq!(reads.len(), 2, "{entries:?}");
    assert!(reads.iter().all(|e| e.actor_user.as_deref() == Some(admin.to_string().as_str())));
    assert!(reads.iter().all(|e| e.record_organisation.as_deref() == Some(org.to_string().as_str())));
    // A refused read leaves no personal data behind and no read entry.
    let other = app.org("Org B", false).await;
    let outsider = app.user(other, Role::OrgAdmin, "outsider@exemple.fr", None, None).await;
    let mut o = app.session_for(outsider, false).await;
    assert_eq!(o.get(&format!("/users/{worker}")).await.status, StatusCode::FORBIDDEN);
    let entries = audit::list(app.db(), &audit::Query { actor_user: Some(outsider.to_string()), limit: 10, ..Default::default() }).await.unwrap();
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
    assert_eq!(audit::verify(app.db()).await.unwrap(), Verification::Intact { entries: 5 });
    // Someone edits entry 3 directly in the database.
    veille_storage::sqlx::query("UPDATE audit_log SET action = 'update' WHERE seq = 3").execute(app.db().pool()).await.unwrap();
    match audit::verify(app.db()).await.unwrap() {
        Verification::Broken { seq, .. } => assert_eq!(seq, 3),
        other => panic!("tampering not found: {other:?}"),
    }
    veille_storage::sqlx::query("UPDATE audit_log SET action = 'read' WHERE seq = 3").execute(app.db().pool()).await.unwrap();
    assert!(matches!(audit::verify(app.db()).await.unwrap(), Verification::Intact { .. }));
    // Someone deletes the last entry.
    veille_storage::sqlx::query("DELETE FROM audit_log WHERE seq = 5").execute(app.db().pool()).await.unwrap();
    match audit::verify(app.db()).await.unwrap() {
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
                audit::seal(&db).await.unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(audit::verify(app.db()).await.unwrap(), Verification::Intact { entries: 40 });
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
    assert_eq!(audit::seal(app.db()).await.unwrap(), 1);
    assert_eq!(audit::seal(app.db()).await.unwrap(), 0);
    audit::append_now(app.db(), entry()).await.unwrap();
    // Reading the log seals first: the list is the chain as it stands.
    let listed = audit::list(app.db(), &audit::Query { record_id: Some("x".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(listed[0].prev_hash, listed[1].hash);
}
