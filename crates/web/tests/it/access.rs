//! The "who can see this" panel and enforcement agree, on a generated world.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use veille_domain::Role;
use veille_storage::teams;

use crate::helpers::*;

#[tokio::test]
async fn panel_and_enforcement_agree_on_a_generated_world() {
    let app = TestApp::new().await;
    let t1 = app.two_square_territories().await;
    // Three organisations, every role in each, some with a territory scope.
    let mut users = Vec::new();
    let mut orgs = Vec::new();
    for (i, name) in ["Ville", "Association", "Partenaire"].iter().enumerate() {
        let org = app.org(name, i == 0).await;
        orgs.push(org);
        for (j, role) in Role::ALL.iter().enumerate() {
            let scope = (j % 2 == 1).then(|| vec![t1]);
            let id = app.user(org, *role, &format!("u{i}{j}@exemple.fr"), None, scope).await;
            users.push(id);
        }
    }
    let mut tx = app.db().begin().await.unwrap();
    let mut team_ids = Vec::new();
    for org in &orgs {
        team_ids.push(teams::create(&mut tx, *org, "Équipe", "social", app.state.clock.now()).await.unwrap());
    }
    tx.commit().await.unwrap();
    let mut records: Vec<(String, String)> = Vec::new();
    for u in users.iter().step_by(3) {
        records.push(("users".into(), u.to_string()));
    }
    for t in &team_ids {
        records.push(("teams".into(), t.to_string()));
    }
    for o in &orgs {
        records.push(("organisations".into(), o.to_string()));
    }
    let admin = users[0];
    let mut admin_client = app.session_for(admin, false).await;
    let mut checked = 0;
    for (kind, id) in &records {
        let panel = admin_client.get(&format!("/api/v1/access/{kind}/{id}")).await;
        assert_eq!(panel.status, StatusCode::OK);
        let in_panel: BTreeSet<String> = panel.json().as_array().unwrap().iter().map(|e| e["user_id"].as_str().unwrap().to_owned()).collect();
        for u in &users {
            let mut c = app.session_for(*u, false).await;
            let status = c.get(&format!("/api/v1/{kind}/{id}")).await.status;
            let allowed = status == StatusCode::OK;
            assert!(allowed == in_panel.contains(&u.to_string()), "{kind} {id}: user {u} got {status} but panel says {}", in_panel.contains(&u.to_string()));
            assert!(allowed || status == StatusCode::FORBIDDEN, "unexpected {status}");
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} cells checked");
}

/// The panel tells who can see a record without telling what the viewer may
/// not read otherwise: a field worker sees the names of its organisation's
/// accounts, and another organisation's accounts by organisation and role
/// only (as `/api/v1/users/{id}` refuses them).
#[tokio::test]
async fn the_panel_names_only_the_accounts_the_viewer_may_read() {
    let w = crate::sites::two().await;
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let r = coord.post_json("/api/v1/sites", &serde_json::json!({"name": "Sous le pont", "kind": "camp", "lon": 2.05, "lat": 48.05})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let site = r.json()["id"].as_str().unwrap().to_owned();
    let mut field = w.app.session_for(w.field_a, false).await;
    let panel = field.get(&format!("/api/v1/access/sites/{site}")).await;
    assert_eq!(panel.status, StatusCode::OK);
    let entries = panel.json().as_array().unwrap().clone();
    let mut seen_other = false;
    for e in &entries {
        let user: veille_domain::UserId = e["user_id"].as_str().unwrap().parse().unwrap();
        let readable = field.get(&format!("/api/v1/users/{user}")).await.status == StatusCode::OK;
        assert_eq!(e["name"].is_string(), readable, "{e}: a name only where the account is readable");
        seen_other |= !readable;
    }
    assert!(seen_other, "the panel lists another organisation's accounts (B's field worker reads the site): {entries:?}");
    assert!(!panel.body.contains("terrain@b.exemple.fr"));
}
