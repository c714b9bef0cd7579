//! Text as it comes in: a NUL character (never typed by a person, refused by
//! PostgreSQL in text columns) is dropped wherever text enters — a form, a
//! JSON body, a query string — instead of failing the request. Found by
//! schemathesis on PostgreSQL.

use axum::http::StatusCode;
use veille_domain::Role;
use veille_storage::sites;

use crate::helpers::*;

#[tokio::test]
async fn a_nul_character_is_dropped_from_forms_json_bodies_and_query_strings() {
    let app = TestApp::new().await;
    app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let org = app.org("Maraude de test", true).await;
    let coordinator = app.user(org, Role::Coordinator, "coord@test.exemple.fr", None, None).await;
    let mut c = app.session_for(coordinator, false).await;

    let r = c.post("/sites", &[("name", "Camp\u{0} du pont"), ("kind", "camp"), ("lat", "48.05"), ("lon", "2.05"), ("land_owner", "unknown")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c
        .post_json(
            "/api/v1/sites",
            &serde_json::json!({"name": "Square\u{0} des Lilas", "kind": "gathering_place", "lat": 48.05, "lon": 2.06, "land_owner": "municipal"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mut names: Vec<String> =
        sites::list(app.db(), &veille_storage::Scope::instance("tests"), &Default::default()).await.unwrap().into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, vec!["Camp du pont".to_string(), "Square des Lilas".to_string()]);

    let r = c.get("/api/v1/structures?q=soupe%00populaire").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = c.get("/sites?q=camp%00").await;
    assert_eq!(r.status, StatusCode::OK);
}
