//! Territories from the real polygons: import and point lookup.

use axum::http::StatusCode;
use veille_domain::Role;

use crate::helpers::*;

const PARIS: &str = include_str!("../../../../../shared/data/geo/paris-arrondissements.geojson");
const SSD: &str = include_str!("../../../../../shared/data/geo/communes-93-seine-saint-denis.geojson");

#[tokio::test]
async fn a_point_in_the_18th_is_located_in_75118() {
    let app = TestApp::new().await;
    let org = app.org("Ville", true).await;
    let admin = app.user(org, Role::InstanceAdmin, "admin@exemple.fr", None, None).await;
    let now = app.state.clock.now();
    veille_web::territories::import(app.db(), PARIS, "code", "nom", None, now).await.unwrap();
    let counts = veille_web::territories::import(app.db(), SSD, "code", "nom", None, now).await.unwrap();
    assert_eq!(counts.created, 40);
    // Re-import updates, never duplicates.
    let again = veille_web::territories::import(app.db(), PARIS, "code", "nom", None, now).await.unwrap();
    assert_eq!((again.created, again.updated), (0, 20));
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let mut c = app.session_for(admin, false).await;
    let r = c.get("/api/v1/territories/lookup?lon=2.3600&lat=48.8880").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["territory"]["code"], "75118");
    let r = c.get("/api/v1/territories/lookup?lon=2.3580&lat=48.9362").await;
    assert_eq!(r.json()["territory"]["code"], "93066");
    let r = c.get("/api/v1/territories/lookup?lon=-30&lat=45").await;
    assert!(r.json()["territory"].is_null());
    let r = c.get("/api/v1/territories/lookup?lon=500&lat=45").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap().len() > 5);
    let r = c.get("/api/v1/territories").await;
    assert_eq!(r.json().as_array().unwrap().len(), 60);
}

#[tokio::test]
async fn a_malformed_geojson_upload_is_refused_with_the_reason_and_nothing_written() {
    let app = TestApp::new().await;
    let org = app.org("Ville", true).await;
    let admin = app.user(org, Role::InstanceAdmin, "admin@exemple.fr", None, None).await;
    let bad = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"nom":"X"},"geometry":{"type":"Point","coordinates":[2.3,48.8]}}]}"#;
    let err = veille_web::territories::import(app.db(), bad, "code", "nom", None, app.state.clock.now()).await.unwrap_err();
    assert!(err.to_string().contains("feature 0"), "{err}");
    assert!(veille_storage::territories::list(app.db()).await.unwrap().is_empty());
    let mut c = app.session_for(admin, false).await;
    assert_eq!(c.get("/territories").await.status, StatusCode::OK);
}

/// What the framework itself refuses (a query string that does not decode, a
/// method the route does not take) answers like every other error: JSON with
/// a message in the caller's language on the API, with the decoder's detail.
#[tokio::test]
async fn undecodable_queries_and_wrong_methods_answer_in_the_api_error_format() {
    let app = TestApp::new().await;
    let org = app.org("Ville", true).await;
    let user = app.user(org, Role::Coordinator, "coord@exemple.fr", None, None).await;
    let mut c = app.session_for(user, false).await;
    let r = c.get("/api/v1/territories/lookup?lon=0&lat=null").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.json()["error"]["code"], "bad_request");
    assert_eq!(r.json()["error"]["message"], "La demande est incomplète ou mal formée.");
    assert!(r.json()["error"]["detail"].as_str().unwrap().contains("lat"), "{}", r.body);
    let r = c.post("/api/v1/territories", &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
    assert!(r.headers.get("allow").is_some_and(|v| v.to_str().unwrap().contains("GET")), "{:?}", r.headers);
    // A page answers with the error page in French, not the framework's plain text.
    let r = c.post("/territories", &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/html"), "{:?}", r.headers);
    assert!(r.body.contains("<h1>Cette adresse n&#39;accepte pas ce type de requête.</h1>"), "{}", r.body);
}
