//! Sites: recording, observations and their charts, access across
//! organisations and territories, closure with where people went, coverage,
//! the JSON API. Every test on a fresh database with the manual clock.

use axum::http::StatusCode;
use veille_domain::{OrganisationId, Role, SiteId, TeamId, UserId};
use veille_storage::{rounds, sites};

use crate::helpers::*;

/// Ids of the objects one organisation holds in the matrix world.
pub struct Objects {
    pub site: String,
    pub slot: String,
    pub circuit: String,
    pub round: String,
}

/// The matrix world's sites and maraudes objects: own (organisation A) and other (B).
pub struct MatrixObjects {
    pub own: Objects,
    pub other: Objects,
}

/// A site of `org` at a point of T1, recorded by `by`.
pub async fn site_at(app: &TestApp, org: OrganisationId, by: UserId, name: &str, lon: f64, lat: f64) -> SiteId {
    let territory = veille_storage::territories::id_by_code(app.db(), if lon < 2.15 { "T1" } else { "T2" }).await.unwrap();
    let mut tx = app.db().begin().await.unwrap();
    let id = sites::create(
        &mut tx,
        &sites::NewSite {
            organisation: org,
            name: name.into(),
            kind: "camp".into(),
            lon,
            lat,
            outline: None,
            address: String::new(),
            territory,
            land_owner: "unknown".into(),
        },
        by,
        app.state.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn objects_of(app: &TestApp, org: OrganisationId, team: TeamId, by: UserId, name: &str) -> Objects {
    let site = site_at(app, org, by, &format!("Campement {name}"), 2.05, 48.05).await;
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    let circuit = rounds::create_circuit(&mut tx, org, team, &format!("Circuit {name}"), now).await.unwrap();
    rounds::add_circuit_stop(&mut tx, circuit, Some(site), "", None, now).await.unwrap();
    let slot = rounds::create_slot(
        &mut tx,
        &rounds::NewSlot {
            organisation: org,
            team,
            weekday: 1,
            start_minute: 20 * 60,
            end_minute: 23 * 60,
            territory: None,
            circuit: Some(circuit),
            note: String::new(),
        },
        now,
    )
    .await
    .unwrap();
    let round = rounds::create_round(
        &mut tx,
        &rounds::NewRound {
            organisation: org,
            team,
            circuit: Some(circuit),
            slot: Some(slot),
            territory: None,
            planned_start: now,
            planned_end: now.plus_seconds(3 * 3600),
        },
        &[],
        by,
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Objects { site: site.to_string(), slot: slot.to_string(), circuit: circuit.to_string(), round: round.to_string() }
}

/// Adds the objects of this domain to the matrix world.
pub async fn matrix_objects(app: &TestApp, a: OrganisationId, b: OrganisationId, team_a: TeamId, team_b: TeamId, by: UserId) -> MatrixObjects {
    let by_b = app.user(b, Role::Coordinator, "matrix-coord@b.exemple.fr", None, None).await;
    MatrixObjects { own: objects_of(app, a, team_a, by, "A").await, other: objects_of(app, b, team_b, by_b, "B").await }
}

/// Two organisations (A coordinating), the two square territories, and a
/// coordinator and a field worker (T1 only) in each.
pub struct Two {
    pub app: TestApp,
    pub a: OrganisationId,
    pub b: OrganisationId,
    pub coord_a: UserId,
    pub field_a: UserId,
    pub coord_b: UserId,
    pub field_b: UserId,
}

pub async fn two() -> Two {
    two_with(veille_web::Config::default()).await
}

/// [`two`] with a configuration (an SMTP sink's port…).
pub async fn two_with(config: veille_web::Config) -> Two {
    let app = TestApp::with_config(config).await;
    let t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let a = app.org("Mission coordination", true).await;
    let b = app.org("Association Nord", false).await;
    let coord_a = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    let field_a = app.user(a, Role::FieldWorker, "terrain@a.exemple.fr", None, Some(vec![t1])).await;
    let coord_b = app.user(b, Role::Coordinator, "coord@b.exemple.fr", None, None).await;
    let field_b = app.user(b, Role::FieldWorker, "terrain@b.exemple.fr", None, Some(vec![t1])).await;
    Two { app, a, b, coord_a, field_a, coord_b, field_b }
}

fn site_id_from(resp: &Resp) -> String {
    resp.location().and_then(|l| l.strip_prefix("/sites/")).unwrap_or_else(|| panic!("no redirect to the site: {} {}", resp.status, resp.body)).to_owned()
}

#[tokio::test]
async fn a_site_is_recorded_in_its_territory_observed_and_charted() {
    let w = two().await;
    let mut c = w.app.session_for(w.field_b, false).await;
    let r = c.post("/sites", &[("name", "Sous le pont de l'Ourcq"), ("kind", "camp"), ("lat", "48,05"), ("lon", "2.05"), ("land_owner", "municipal")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = site_id_from(&r);
    let site = sites::get(w.app.db(), &everything(), id.parse().unwrap()).await.unwrap();
    assert_eq!(site.territory, veille_storage::territories::id_by_code(w.app.db(), "T1").await.unwrap());
    assert_eq!(site.organisation, w.b);
    // Two observations a week apart: the chart has two points and the table the values.
    let obs = |people: &'static str, women: &'static str, tents: &'static str| {
        vec![
            ("people", people),
            ("women", women),
            ("men", "3"),
            ("minors_6_12", "1"),
            ("tents", tents),
            ("water", "bad"),
            ("toilets", "poor"),
            ("atmosphere", "tense"),
            ("police_presence", "1"),
            ("material_collected", "12"),
        ]
    };
    let r = c.post(&format!("/sites/{id}/observations"), &obs("9", "4", "5")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    w.app.state.clock.advance_seconds(7 * 86_400);
    // (a week later, a new session: the first one ended when idle)
    let mut c = w.app.session_for(w.field_b, false).await;
    let r = c.post(&format!("/sites/{id}/observations"), &obs("14", "6", "8")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let saved = sites::observations(w.app.db(), &everything(), site.id).await.unwrap();
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[1].figures.people, 14);
    assert_eq!(saved[1].figures.minors(), 1);
    assert_eq!(saved[1].overall, "bad", "the worst known condition");
    assert!(saved[1].police_presence);
    let page = c.get(&format!("/sites/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<svg viewBox=\"0 0 320 120\" role=\"img\""), "a chart");
    assert!(page.body.contains("<td>14</td>") && page.body.contains("<td>9</td>"), "the data table of the people chart");
    assert!(page.body.contains("Présence policière"));
    assert!(page.body.contains("id=\"who-can-see\""));
    // The read was audited.
    let reads: i64 = veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'read' AND record_kind = 'site' AND record_id = $1")
        .bind(&id)
        .fetch_one(w.app.db().pool())
        .await
        .unwrap();
    assert_eq!(reads, 1);
}

#[tokio::test]
async fn wrong_input_is_explained_next_to_each_field_in_the_form_and_the_api() {
    let w = two().await;
    let mut c = w.app.session_for(w.coord_a, false).await;
    let r = c.post("/sites", &[("name", ""), ("kind", "palace"), ("lat", "abc"), ("lon", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["name-error", "kind-error", "lat-error"] {
        assert!(r.body.contains(&format!("id=\"{f}\"")), "{f}");
    }
    let site = site_at(&w.app, w.a, w.coord_a, "Square", 2.05, 48.05).await;
    let r = c.post(&format!("/sites/{site}/observations"), &[("people", "2"), ("women", "3"), ("tents", "-1"), ("water", "perhaps")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"people-error\"") && r.body.contains("id=\"tents-error\"") && r.body.contains("id=\"water-error\""));
    assert!(r.body.contains("value=\"3\""), "what was typed is kept");
    let r = c.post_json(&format!("/api/v1/sites/{site}/observations"), &serde_json::json!({"people": 2, "women": 3})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["people"].as_str().unwrap().contains("somme"));
    // Counts near the integer limit are refused, not added up into an overflow (found by schemathesis).
    let r = c.post_json(&format!("/api/v1/sites/{site}/observations"), &serde_json::json!({"people": 1, "men": i64::MAX, "minors_3_6": i64::MAX})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["error"]["fields"]["men"].is_string());
    // A whole number written with a decimal point is the same number.
    let r = c.post_json(&format!("/api/v1/sites/{site}/observations"), &serde_json::json!({"people": 2.0, "women": 3.0})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["error"]["fields"]["people"].as_str().unwrap().contains("somme"));
    let r = c.post_json("/api/v1/sites", &serde_json::json!({"name": "X", "kind": "camp", "lon": 200.0, "lat": 48.0})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["lat"].is_string());
    assert!(sites::observations(w.app.db(), &everything(), site).await.unwrap().is_empty());
}

#[tokio::test]
async fn sites_are_read_across_organisations_within_territories_and_never_by_partners() {
    let w = two().await;
    let site = site_at(&w.app, w.a, w.coord_a, "Jardin", 2.05, 48.05).await;
    let far = site_at(&w.app, w.a, w.coord_a, "Talus", 2.25, 48.05).await;
    // Organisation B's field worker (T1 only) reads and observes A's site in T1.
    let mut fb = w.app.session_for(w.field_b, false).await;
    assert_eq!(fb.get(&format!("/sites/{site}")).await.status, StatusCode::OK);
    let r = fb.post(&format!("/sites/{site}/observations"), &[("people", "4")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // …but not the site in T2, which is not even listed.
    assert_eq!(fb.get(&format!("/sites/{far}")).await.status, StatusCode::NOT_FOUND);
    let list = fb.get("/api/v1/sites").await.json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Jardin"]);
    // Partners, readers and instance administrators do not see sites.
    for role in [Role::Partner, Role::Reader, Role::InstanceAdmin] {
        let u = w.app.user(w.b, role, &format!("{}@b.exemple.fr", role.code()), None, None).await;
        let mut c = w.app.session_for(u, false).await;
        assert_eq!(c.get(&format!("/sites/{site}")).await.status, StatusCode::FORBIDDEN, "{role:?}");
        assert_eq!(c.get("/api/v1/sites").await.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    // The panel says who sees it and why: B's field worker through the shared register.
    let panel = fb.get(&format!("/api/v1/sites/{site}")).await;
    assert_eq!(panel.status, StatusCode::OK);
    let mut ca = w.app.session_for(w.coord_a, false).await;
    let page = ca.get(&format!("/sites/{site}")).await.body;
    let row = page.split("<tr data-user-id=").find(|r| r.contains(&w.field_b.to_string())).expect("B's field worker in the panel");
    assert!(row.contains("Lieux partagés"));
    // Closing is for the coordinators of the creator or of the coordinating organisation.
    let mut cb = w.app.session_for(w.coord_b, false).await;
    assert_eq!(cb.post(&format!("/sites/{site}/close"), &[("reason", "evacuation")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(fb.post(&format!("/sites/{site}/close"), &[("reason", "evacuation")]).await.status, StatusCode::FORBIDDEN);
    let b_site = site_at(&w.app, w.b, w.coord_b, "Squat rue B", 2.06, 48.06).await;
    let r = ca.post(&format!("/sites/{b_site}/close"), &[("reason", "evacuation"), ("version", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the coordinating organisation closes a site of another organisation: {}", r.body);
}

#[tokio::test]
async fn closing_a_site_records_where_people_went_and_links_both_sites() {
    let w = two().await;
    let from = site_at(&w.app, w.a, w.coord_a, "Campement du canal", 2.05, 48.05).await;
    let to = site_at(&w.app, w.a, w.coord_a, "Terrain vague", 2.07, 48.07).await;
    let mut c = w.app.session_for(w.coord_a, false).await;
    // Moving people to another site requires naming it.
    let r = c.post(&format!("/sites/{from}/close"), &[("reason", "evacuation"), ("dest_other_site", "5"), ("version", "1")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"to_site-error\""));
    let r = c
        .post(
            &format!("/sites/{from}/close"),
            &[("reason", "evacuation"), ("dest_other_site", "5"), ("dest_shelter", "3"), ("to_site", &to.to_string()), ("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let closed = sites::get(w.app.db(), &everything(), from).await.unwrap();
    assert_eq!((closed.status.as_str(), closed.closure_reason.as_deref()), ("ended", Some("evacuation")));
    let a_page = c.get(&format!("/sites/{from}")).await.body;
    assert!(a_page.contains(&format!("→ <a href=\"/sites/{to}\">Terrain vague</a>")), "A links to B");
    assert!(a_page.contains("hébergement) : 3"), "three people sheltered");
    let b_page = c.get(&format!("/sites/{to}")).await.body;
    assert!(b_page.contains(&format!("<a href=\"/sites/{from}\">Campement du canal</a> : 5")), "B shows where its people came from");
    let history = veille_storage::timeline::of(w.app.db(), veille_domain::records::RecordKind::Site, from).await.unwrap();
    assert!(history.iter().any(|e| e.kind == "status" && e.to.as_deref() == Some("ended")));
    // The place is corrected by its coordinators, never silently over a newer version.
    let r = c
        .post(
            &format!("/sites/{to}/edit"),
            &[("name", "Terrain vague nord"), ("kind", "slum"), ("lat", "48.07"), ("lon", "2.07"), ("land_owner", "state"), ("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let edited = sites::get(w.app.db(), &everything(), to).await.unwrap();
    assert_eq!((edited.name.as_str(), edited.kind.as_str(), edited.land_owner.as_str()), ("Terrain vague nord", "slum", "state"));
    let r = c.post(&format!("/sites/{to}/edit"), &[("name", "Autre nom"), ("kind", "slum"), ("lat", "48.07"), ("lon", "2.07"), ("version", "1")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = c.post(&format!("/sites/{to}/edit"), &[("name", ""), ("kind", "slum"), ("lat", "48.07"), ("lon", "2.07"), ("version", "2")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"name-error\""));
    let mut fa = w.app.session_for(w.field_a, false).await;
    assert_eq!(
        fa.post(&format!("/sites/{to}/edit"), &[("name", "X"), ("kind", "slum"), ("lat", "48.07"), ("lon", "2.07"), ("version", "2")]).await.status,
        StatusCode::FORBIDDEN
    );
    // Closing twice is refused; reopening brings it back.
    let r = c.post(&format!("/sites/{from}/close"), &[("reason", "fire"), ("version", "2")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(c.post(&format!("/sites/{from}/reopen"), &[("version", "2")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(sites::get(w.app.db(), &everything(), from).await.unwrap().status, "active");
}

#[tokio::test]
async fn two_coordinators_editing_one_site_never_overwrite_each_other() {
    let w = two().await;
    let site = site_at(&w.app, w.a, w.coord_a, "Parvis", 2.05, 48.05).await;
    let mut c = w.app.session_for(w.coord_a, false).await;
    assert_eq!(c.post(&format!("/sites/{site}/heatwave"), &[("on", "1"), ("version", "1")]).await.status, StatusCode::SEE_OTHER);
    // The second one read version 1 too: refused with 409, the first change stays.
    assert_eq!(c.post(&format!("/sites/{site}/heatwave"), &[("on", "0"), ("version", "1")]).await.status, StatusCode::CONFLICT);
    assert!(sites::get(w.app.db(), &everything(), site).await.unwrap().heatwave);
}

#[tokio::test]
async fn the_coverage_list_names_the_sites_not_visited_for_n_days() {
    let w = two().await;
    let mut c = w.app.session_for(w.field_a, false).await;
    let old = site_at(&w.app, w.a, w.coord_a, "Vu il y a dix jours", 2.05, 48.05).await;
    let recent = site_at(&w.app, w.b, w.coord_b, "Vu hier", 2.06, 48.06).await;
    site_at(&w.app, w.a, w.coord_a, "Jamais vu", 2.07, 48.07).await;
    let confirmed = site_at(&w.app, w.a, w.coord_a, "Confirmé sans changement", 2.08, 48.08).await;
    assert_eq!(c.post(&format!("/sites/{old}/observations"), &[("people", "3")]).await.status, StatusCode::SEE_OTHER);
    w.app.state.clock.advance_seconds(9 * 86_400);
    let mut c = w.app.session_for(w.field_a, false).await;
    assert_eq!(c.post(&format!("/sites/{recent}/observations"), &[("people", "2")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(c.post(&format!("/sites/{confirmed}/confirm"), &[("version", "1")]).await.status, StatusCode::SEE_OTHER);
    w.app.state.clock.advance_seconds(86_400);
    let mut c = w.app.session_for(w.field_a, false).await;
    let page = c.get("/coverage?days=7").await;
    assert_eq!(page.status, StatusCode::OK);
    let stale = page.body.split("id=\"stale-sites\"").nth(1).unwrap().split("</ul>").next().unwrap().to_owned();
    assert!(stale.contains("Vu il y a dix jours") && stale.contains("Jamais vu"), "{stale}");
    assert!(!stale.contains("Vu hier") && !stale.contains("Confirmé"), "{stale}");
    assert!(stale.find("Jamais vu").unwrap() < stale.find("Vu il y a dix jours").unwrap(), "never seen first");
    let api = c.get("/api/v1/coverage?days=11").await.json();
    let names: Vec<&str> = api["sites"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Jamais vu"]);
    assert_eq!(api["days"], 11);
    // The list of sites filters the same way, in SQL: not seen for 7 days.
    let list = c.get("/sites?stale=7").await.body;
    assert!(list.contains("Vu il y a dix jours") && list.contains("Jamais vu"), "{list}");
    assert!(!list.contains("Vu hier") && !list.contains("Confirmé sans changement") && list.contains("2 lieux de vie, par nom"), "{list}");
}

#[tokio::test]
async fn the_list_of_sites_comes_a_page_at_a_time_keeping_its_filters() {
    let w = two().await;
    for i in 0..105 {
        site_at(&w.app, w.a, w.coord_a, &format!("Campement {i:03}"), 2.05, 48.05).await;
    }
    let mut c = w.app.session_for(w.coord_a, false).await;
    let first = c.get("/sites?kind=camp").await.body;
    assert!(first.contains("105 lieux de vie, par nom") && first.contains("Page 1 sur 2"), "{first}");
    assert!(first.contains("Campement 000") && first.contains("Campement 099") && !first.contains("Campement 100"));
    assert!(first.contains("href=\"/sites?kind=camp&#38;page=2\""), "the next page keeps the filter: {first}");
    let second = c.get("/sites?kind=camp&page=2").await.body;
    assert!(second.contains("Campement 104") && !second.contains("Campement 099") && second.contains("Page 2 sur 2"));
    assert!(c.get("/sites?kind=squat").await.body.contains("0 lieu de vie"));
}

#[tokio::test]
async fn the_api_records_a_site_and_its_observations_and_reads_them_back() {
    let w = two().await;
    let mut c = w.app.session_for(w.field_a, false).await;
    let r = c
        .post_json("/api/v1/sites", &serde_json::json!({"name": "Scène Rotonde", "kind": "drug_scene", "lon": 2.05, "lat": 48.05, "land_owner": "municipal"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["age"], "never");
    let r = c
        .post_json(&format!("/api/v1/sites/{id}/observations"), &serde_json::json!({"people": 30, "men": 25, "women": 5, "material_collected": 40, "material_found": 7, "fire_risk": "poor", "atmosphere": "very_tense"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["overall"], "poor");
    let d = c.get(&format!("/api/v1/sites/{id}")).await.json();
    assert_eq!(d["site"]["latest"]["people"], 30);
    assert_eq!(d["site"]["age"], "week");
    assert_eq!(d["observations"][0]["figures"]["material_found"], 7);
    assert_eq!(d["observations"][0]["conditions"]["fire_risk"], "poor");
    // Outside the field worker's territories: refused.
    let r = c.post_json("/api/v1/sites", &serde_json::json!({"name": "Ailleurs", "kind": "camp", "lon": 2.25, "lat": 48.05})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let doc = c.get("/api/v1/openapi.json").await.json();
    for p in ["/sites", "/sites/{id}", "/sites/{id}/observations", "/teams", "/schedule", "/rounds", "/rounds/{id}/check-in", "/coverage"] {
        assert!(doc["paths"][p].is_object(), "{p} in the OpenAPI document");
    }
    let geo = c.get("/sites.geojson").await.json();
    assert_eq!(geo["features"][0]["properties"]["age"], "week");
    assert!(geo["features"][0]["properties"].get("people").is_none(), "no counts on the map layer");
}

#[tokio::test]
async fn the_who_can_see_panel_of_a_site_lists_exactly_the_accounts_the_api_lets_read_it() {
    let app = TestApp::new().await;
    let t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let t2 = veille_storage::territories::id_by_code(app.db(), "T2").await.unwrap().unwrap();
    let mut users = Vec::new();
    let mut orgs = Vec::new();
    for (i, name) in ["Ville", "Association", "CAARUD"].iter().enumerate() {
        let org = app.org(name, i == 0).await;
        orgs.push(org);
        for (j, role) in Role::ALL.iter().enumerate() {
            let scope = match j % 3 {
                1 => Some(vec![t1]),
                2 => Some(vec![t2]),
                _ => None,
            };
            users.push(app.user(org, *role, &format!("u{i}{j}@exemple.fr"), None, scope).await);
        }
    }
    let coordinator = app.user(orgs[1], Role::Coordinator, "coord@exemple.fr", None, None).await;
    users.push(coordinator);
    let in_t1 = site_at(&app, orgs[1], coordinator, "Dans T1", 2.05, 48.05).await;
    let in_t2 = site_at(&app, orgs[2], coordinator, "Dans T2", 2.25, 48.05).await;
    let mut reader_of_panels = app.session_for(coordinator, false).await;
    let mut checked = 0;
    for site in [in_t1, in_t2] {
        let panel = reader_of_panels.get(&format!("/api/v1/access/sites/{site}")).await;
        assert_eq!(panel.status, StatusCode::OK, "{}", panel.body);
        let listed: Vec<String> = panel.json().as_array().unwrap().iter().map(|e| e["user_id"].as_str().unwrap().to_owned()).collect();
        for u in &users {
            let status = app.session_for(*u, false).await.get(&format!("/api/v1/sites/{site}")).await.status;
            assert_eq!(status == StatusCode::OK, listed.contains(&u.to_string()), "site {site}, user {u}: {status}");
            assert!(matches!(status, StatusCode::OK | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{status}");
            checked += 1;
        }
        // Several organisations see it: sites are shared across organisations.
        let orgs_listed: std::collections::BTreeSet<String> =
            panel.json().as_array().unwrap().iter().map(|e| e["organisation"].as_str().unwrap().to_owned()).collect();
        assert_eq!(orgs_listed.len(), 3, "{orgs_listed:?}");
    }
    assert_eq!(checked, 2 * users.len());
}

/// The application layer's caller for an account (what a request carries).
pub async fn caller(app: &TestApp, user: UserId) -> veille_app::Caller {
    let account = veille_storage::accounts::get(app.db(), user).await.unwrap();
    let actor = veille_storage::accounts::actor_of(app.db(), &account).await.unwrap();
    veille_app::Caller { account, actor }
}

/// The scope rules of sites, asked of the application layer directly: every
/// list, count, the map, the page's other sites, a single site and coverage
/// give a field worker limited to T1 exactly the sites `authorize` lets it
/// read — T1's and those placed nowhere, of every organisation, never T2's —
/// and nothing to the roles that do not work with sites.
#[tokio::test]
async fn every_site_query_keeps_to_what_authorize_lets_the_caller_read() {
    use veille_app::sites as app;
    use veille_domain::{authorize, Action};
    let w = two().await;
    let mut all_sites = Vec::new();
    for (org, by) in [(w.a, w.coord_a), (w.b, w.coord_b)] {
        for (name, lon) in [("T1", 2.05), ("T2", 2.25)] {
            all_sites.push(site_at(&w.app, org, by, &format!("{name} {org}"), lon, 48.05).await);
        }
        // A site placed in no territory of the instance: in every scope.
        let mut tx = w.app.db().begin().await.unwrap();
        let new = sites::NewSite {
            organisation: org,
            name: format!("Nulle part {org}"),
            kind: "camp".into(),
            lon: 2.5,
            lat: 48.05,
            outline: None,
            address: String::new(),
            territory: None,
            land_owner: "unknown".into(),
        };
        all_sites.push(sites::create(&mut tx, &new, by, w.app.state.clock.now()).await.unwrap());
        tx.commit().await.unwrap();
    }
    // Every site observed once (the latest figures and the last sighting are per site too).
    let ca = caller(&w.app, w.coord_a).await;
    for id in &all_sites {
        let site = sites::get(w.app.db(), &everything(), *id).await.unwrap();
        let input = app::ObservationInput { figures: sites::Figures { people: 3, ..Default::default() }, ..Default::default() };
        app::record_observation(&w.app.state, &ca, veille_app::Lang::Fr, &site, &input).await.unwrap().unwrap();
    }
    let partner = w.app.user(w.b, Role::Partner, "partenaire@b.exemple.fr", None, None).await;
    let admin = w.app.user(w.a, Role::InstanceAdmin, "admin@a.exemple.fr", None, None).await;
    for user in [w.field_a, w.field_b, w.coord_a, w.coord_b, partner, admin] {
        let who = caller(&w.app, user).await;
        let mut expected: Vec<SiteId> = Vec::new();
        for id in &all_sites {
            let site = sites::get(w.app.db(), &everything(), *id).await.unwrap();
            let res = app::resource_of(&w.app.state, &site).await.unwrap();
            let readable = authorize(&who.actor, Action::Read, &res).allowed;
            if readable {
                expected.push(*id);
            }
            let loaded = app::load_site(&w.app.state, &who, &id.to_string(), Action::Read).await;
            assert_eq!(loaded.is_ok(), readable, "{:?} loads {}", who.account.role, site.name);
        }
        expected.sort();
        let sorted = |mut v: Vec<SiteId>| {
            v.sort();
            v
        };
        let readable = app::readable_sites(&w.app.state, &who).await.unwrap();
        assert_eq!(sorted(readable.iter().map(|s| s.id).collect()), expected, "{:?}: readable sites", who.account.role);
        let every_site: Vec<SiteId> = sites::list(w.app.db(), &everything(), &Default::default()).await.unwrap().iter().map(|s| s.id).collect();
        let seen = app::last_seen(&w.app.state, &who, &every_site).await.unwrap();
        assert_eq!(sorted(seen.keys().copied().collect()), expected, "{:?}: last seen", who.account.role);
        if app::gate(&who).is_err() {
            assert!(expected.is_empty(), "{:?}", who.account.role);
            assert!(app::list_sites(&w.app.state, &who, &Default::default()).await.is_err());
            assert!(app::map(&w.app.state, &who).await.is_err());
            continue;
        }
        let listed = app::list_sites(&w.app.state, &who, &Default::default()).await.unwrap();
        assert_eq!(sorted(listed.iter().map(|l| l.site.id).collect()), expected, "{:?}: list", who.account.role);
        assert!(listed.iter().all(|l| l.latest.as_ref().is_some_and(|f| f.people == 3)), "the latest figures of each listed site");
        let stale = app::list_sites(&w.app.state, &who, &app::ListFilter { stale_days: Some(1), ..Default::default() }).await.unwrap();
        assert!(stale.is_empty(), "every site was seen today");
        let map = app::map(&w.app.state, &who).await.unwrap();
        let mut on_map: Vec<SiteId> = map["features"].as_array().unwrap().iter().map(|f| f["properties"]["id"].as_str().unwrap().parse().unwrap()).collect();
        on_map.sort();
        assert_eq!(on_map, expected, "{:?}: map", who.account.role);
        let first = sites::get(w.app.db(), &everything(), expected[0]).await.unwrap();
        let detail = app::detail(&w.app.state, &who, &first).await.unwrap();
        assert_eq!(sorted(detail.others.iter().map(|s| s.id).chain([first.id]).collect()), expected, "{:?}: the other sites of a page", who.account.role);
        let c = veille_app::rounds::coverage::coverage(&w.app.state, &who, 1).await.unwrap();
        assert!(c.sites.is_empty(), "seen today");
        let in_territories: usize = c.territories.iter().map(|t| t.active_sites).sum();
        let placed = expected.iter().filter(|id| !all_sites[2..3].contains(id) && !all_sites[5..6].contains(id)).count();
        assert_eq!(in_territories, placed, "{:?}: coverage counts the placed sites it reads", who.account.role);
    }
    // The field worker of T1 in particular: T1's sites of both organisations and those placed nowhere.
    let fa = caller(&w.app, w.field_a).await;
    let names: Vec<String> = app::readable_sites(&w.app.state, &fa).await.unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with("T2")), "{names:?}");
    let c = veille_app::rounds::coverage::coverage(&w.app.state, &fa, 7).await.unwrap();
    assert_eq!(c.territories.iter().map(|t| t.code.as_str()).collect::<Vec<_>>(), vec!["T1"], "only its own territories");
}
