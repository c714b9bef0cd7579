//! Shelter and housing: no double booking of the last place under a hundred
//! concurrent bookings, the capacity board against the stays, an operation
//! with its diagnosis and outcomes, a dwelling check through overdue to done,
//! access across organisations, and forms that keep what was typed. Every
//! test on a fresh database (SQLite or PostgreSQL) with the manual clock.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use rand::{Rng, SeedableRng};
use veille_domain::shelter::{FacilityKind, Night, Public};
use veille_domain::{OrganisationId, Role, SiteId, TerritoryId, UserId};
use veille_storage::actions::NewFollowUp;
use veille_storage::shelter::{self as store, FacilityFields, NewDwelling, NewOperation, NewRequest, NewStay, StayFilter};

use crate::helpers::*;

/// The shelter objects one organisation holds in the matrix world.
pub async fn matrix_objects(app: &TestApp, org: OrganisationId, by: UserId, site: &str, territory: TerritoryId) -> BTreeMap<&'static str, String> {
    let now = app.state.clock.now();
    let tonight = Night::at(now);
    let mut tx = app.db().begin().await.unwrap();
    let fields = FacilityFields {
        name: "Centre matrice".into(),
        kind: Some(FacilityKind::ShelterSite),
        territory: Some(territory),
        places: 5,
        publics: vec![Public::Everyone],
        ..Default::default()
    };
    let facility = store::create_facility(&mut tx, org, &fields, now).await.unwrap();
    let stay = NewStay {
        facility,
        organisation: org,
        operator: org,
        territory: Some(territory),
        person: None,
        household: None,
        label: "Matrice".into(),
        places: 1,
        from: tonight,
        to: tonight.plus(2),
        booking_ref: String::new(),
        night_cost_cents: None,
        operation: None,
        present_at: None,
        note: String::new(),
    };
    let stay = store::create_stay(&mut tx, &stay, by, now).await.unwrap();
    let request = NewRequest {
        territory: Some(territory),
        person: None,
        label: "Attente".into(),
        places: 1,
        public: Public::SingleMen,
        priority: 3,
        wanted_from: tonight,
        note: String::new(),
    };
    let request = store::create_request(&mut tx, org, &request, by, now).await.unwrap();
    let op = NewOperation {
        site: site.parse().unwrap(),
        territory: Some(territory),
        kind: veille_domain::shelter::OperationKind::Sheltering,
        planned_on: tonight.plus(5),
        partners: String::new(),
        city_services: String::new(),
        legal_frame: "none".into(),
        legal_reference: String::new(),
    };
    let operation = store::create_operation(&mut tx, org, &op, by, now).await.unwrap();
    let dwelling = NewDwelling {
        territory: Some(territory),
        landlord: None,
        address: "1 rue de la Matrice".into(),
        rooms: 2,
        state: "good".into(),
        rent_cents: None,
        check_every_days: 30,
    };
    let dwelling = store::create_dwelling(&mut tx, org, &dwelling, now).await.unwrap();
    let check = store::schedule_check(&mut tx, dwelling, tonight.plus(10), now).await.unwrap();
    let action = NewFollowUp {
        territory: Some(territory),
        record_kind: "dwelling".into(),
        record_id: dwelling.to_string(),
        owner: Some(org),
        owner_name: String::new(),
        case: None,
        title: "Réparer".into(),
        due_on: Some(tonight.plus(3)),
    };
    let action = veille_storage::actions::create_action(&mut tx, org, &action, by, now).await.unwrap();
    tx.commit().await.unwrap();
    BTreeMap::from([
        ("facility", facility.to_string()),
        ("stay", stay.to_string()),
        ("request", request.to_string()),
        ("operation", operation.to_string()),
        ("dwelling", dwelling.to_string()),
        ("check", check.to_string()),
        ("action", action.to_string()),
    ])
}

/// Two organisations over the two square territories: A (coordinating) with
/// a coordinator, a field worker limited to T1 and a partner account; B
/// operating a shelter, with a coordinator and a partner account (its night staff).
struct World {
    app: TestApp,
    t1: TerritoryId,
    a: OrganisationId,
    b: OrganisationId,
    coord_a: UserId,
    field_a: UserId,
    coord_b: UserId,
    staff_b: UserId,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let a = app.org("Mission coordination", true).await;
    let b = app.org("Association Abri", false).await;
    let coord_a = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    let field_a = app.user(a, Role::FieldWorker, "terrain@a.exemple.fr", None, Some(vec![t1])).await;
    let coord_b = app.user(b, Role::Coordinator, "coord@b.exemple.fr", None, None).await;
    let staff_b = app.user(b, Role::Partner, "veilleur@b.exemple.fr", None, None).await;
    World { app, t1, a, b, coord_a, field_a, coord_b, staff_b }
}

/// Opens a facility of `places` places through the API as `who`; its id.
async fn facility(app: &TestApp, who: UserId, name: &str, places: i64, cost: Option<&str>) -> String {
    let mut c = app.session_for(who, false).await;
    let body = serde_json::json!({"name": name, "kind": "hotel", "places": places, "publics": "families", "lon": 2.05, "lat": 48.05, "night_cost": cost.unwrap_or("")});
    let r = c.post_json("/api/v1/facilities", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_bookings_of_the_last_place_give_exactly_one_stay() {
    let w = world().await;
    let client = w.app.session_for(w.coord_a, false).await;
    let tonight = Night::at(w.app.state.clock.now());
    let f = facility(&w.app, w.coord_b, "Hôtel du Dernier Lit", 3, None).await;
    // Two of the three places are taken tonight and tomorrow; the third is the last.
    let mut c = client.clone();
    let r = c.post_json("/api/v1/stays", &serde_json::json!({"facility_id": f, "label": "famille D.", "places": 2, "nights": 2})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for round in 0..20 {
        let from = tonight.plus(round % 2);
        let mut tasks = Vec::new();
        for i in 0..100 {
            let mut c = client.clone();
            let body = serde_json::json!({"facility_id": f, "label": format!("R{round}-{i}"), "places": 1, "from": from.iso(), "nights": 1});
            tasks.push(tokio::spawn(async move { c.post_json("/api/v1/stays", &body).await }));
        }
        let mut created = 0;
        let mut refused = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            assert!(!r.status.is_server_error(), "round {round}: {} {}", r.status, r.body);
            match r.status {
                StatusCode::CREATED => created += 1,
                StatusCode::UNPROCESSABLE_ENTITY => refused.push(r.body),
                other => panic!("round {round}: {other} {}", r.body),
            }
        }
        if round < 2 {
            assert_eq!(created, 1, "round {round}: the last place went to {created} bookings");
            // The loser is told the next night the booking fits (after the 2-night stay, if the last place of that night is taken).
            let next = if round == 0 { tonight.plus(1) } else { tonight.plus(2) };
            assert!(refused.iter().all(|b| b.contains(&next.display())), "round {round}: {:?}", &refused[..1]);
        } else {
            assert_eq!(created, 0, "round {round}: both nights are full, nothing more fits");
        }
    }
    // Then every further night: the board agrees, three places taken on both nights.
    let mut c = client.clone();
    let board = c.get(&format!("/api/v1/shelter/board?from={}&nights=3", tonight.iso())).await.json();
    let line = board.as_array().unwrap().iter().find(|l| l["facility"]["id"] == f.as_str()).unwrap();
    let occupied: Vec<i64> = line["nights"].as_array().unwrap().iter().map(|n| n["occupied"].as_i64().unwrap()).collect();
    assert_eq!(occupied, vec![3, 3, 0]);
}

/// The capacity board's free places, facility by facility and night by
/// night, equal what the stays and the declared places say, after random
/// bookings, closures, exits, cancellations and extensions.
#[tokio::test]
async fn the_board_agrees_with_the_stays() {
    let w = world().await;
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let mut staff = w.app.session_for(w.staff_b, false).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut facilities = Vec::new();
    for i in 0..4 {
        facilities.push(facility(&w.app, w.coord_b, &format!("Centre {i}"), rng.gen_range(1..6), None).await);
    }
    let mut stays: Vec<String> = Vec::new();
    for _ in 0..80 {
        let tonight = Night::at(w.app.state.clock.now());
        let f = &facilities[rng.gen_range(0..facilities.len())];
        match rng.gen_range(0..10) {
            0 => {
                let night = tonight.plus(rng.gen_range(0..10));
                let r =
                    staff.post_json(&format!("/api/v1/facilities/{f}/nights"), &serde_json::json!({"night": night.iso(), "places": rng.gen_range(0..4)})).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            }
            1 | 2 if !stays.is_empty() => {
                let id = &stays[rng.gen_range(0..stays.len())];
                let s = coord.get(&format!("/api/v1/stays/{id}")).await.json();
                let v = s["version"].as_i64().unwrap();
                match s["status"].as_str().unwrap() {
                    "booked" => {
                        let r = staff.post_json(&format!("/api/v1/stays/{id}/enter"), &serde_json::json!({"version": v})).await;
                        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
                    }
                    "present" => {
                        let r = staff.post_json(&format!("/api/v1/stays/{id}/leave"), &serde_json::json!({"destination": "housing", "version": v})).await;
                        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
                    }
                    _ => {}
                }
            }
            _ => {
                let body = serde_json::json!({"facility_id": f, "label": "x", "places": rng.gen_range(1..3), "from": tonight.plus(rng.gen_range(0..8)).iso(), "nights": rng.gen_range(1..5)});
                let r = coord.post_json("/api/v1/stays", &body).await;
                assert!(matches!(r.status, StatusCode::CREATED | StatusCode::UNPROCESSABLE_ENTITY), "{} {}", r.status, r.body);
                if r.status == StatusCode::CREATED {
                    stays.push(r.json()["id"].as_str().unwrap().to_owned());
                }
            }
        }
        if rng.gen_range(0..6) == 0 {
            w.app.state.clock.advance_seconds(86_400);
            // Sessions end after a day idle: log in again.
            coord = w.app.session_for(w.coord_a, false).await;
            staff = w.app.session_for(w.staff_b, false).await;
        }
    }
    let from = Night::at(w.app.state.clock.now());
    let board = coord.get(&format!("/api/v1/shelter/board?from={}&nights=14", from.iso())).await.json();
    let all = store::list_stays(w.app.db(), &everything(), &StayFilter::default()).await.unwrap();
    assert!(all.len() >= 10, "{} stays made", all.len());
    let mut checked = 0;
    for line in board.as_array().unwrap() {
        let fid = line["facility"]["id"].as_str().unwrap();
        let usual = line["facility"]["places"].as_i64().unwrap();
        let notes = store::night_notes(w.app.db(), fid.parse().unwrap(), from, from.plus(14)).await.unwrap();
        for n in line["nights"].as_array().unwrap() {
            let night = Night::parse(n["night"].as_str().unwrap()).unwrap();
            let occupied: i64 =
                all.iter().filter(|s| s.facility.to_string() == fid && s.status.holds_places() && s.from <= night && night < s.to).map(|s| s.places).sum();
            let open = notes.iter().find(|(x, _, _)| *x == night).map_or(usual, |(_, p, _)| *p);
            assert_eq!(n["occupied"].as_i64().unwrap(), occupied, "{fid} {night}");
            assert_eq!(n["open"].as_i64().unwrap(), open, "{fid} {night}");
            assert_eq!(n["free"].as_i64().unwrap(), (open - occupied).max(0), "{fid} {night}");
            // Bookings never took more than was open when they were made; a later closure is the only way over.
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * 14);
}

#[tokio::test]
async fn an_operation_with_a_diagnosis_of_ten_records_each_outcome_makes_the_stays_and_counts_them() {
    let w = world().await;
    let site: SiteId = crate::sites::site_at(&w.app, w.a, w.coord_a, "Campement du canal", 2.05, 48.05).await;
    let f = facility(&w.app, w.coord_b, "Gymnase Nord", 40, None).await;
    let mut c = w.app.session_for(w.coord_a, false).await;
    let date = Night::at(w.app.state.clock.now()).plus(3);
    let r = c
        .post_json(
            "/api/v1/operations",
            &serde_json::json!({"site_id": site.to_string(), "kind": "sheltering", "planned_on": date.iso(), "legal_frame": "prefectoral_order", "legal_reference": "Arrêté 2026-118"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let op = r.json()["id"].as_str().unwrap().to_owned();
    // Planned, no diagnosis, three days ahead: flagged.
    let page = c.get("/operations").await;
    assert!(page.body.contains("id=\"undiagnosed\""), "the missing diagnosis is flagged");
    let people = [1, 4, 1, 2, 1, 1, 3, 1, 1, 5];
    for (i, n) in people.iter().enumerate() {
        let v = match i {
            3 => "infant_or_pregnancy,children",
            6 => "unaccompanied_minor",
            _ => "",
        };
        let r = c
            .post_json(&format!("/api/v1/operations/{op}/diagnosis"), &serde_json::json!({"label": format!("Ménage {i}"), "people": n, "vulnerabilities": v}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let detail = c.get(&format!("/api/v1/operations/{op}")).await.json();
    let lines = detail["diagnosis"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 10);
    // The most vulnerable first.
    assert_eq!(lines[0]["label"], "Ménage 3");
    assert_eq!(lines[1]["label"], "Ménage 6");
    assert_eq!(detail["operation"]["legal_frame"], "prefectoral_order", "the coordinator holds the justice group");
    let outcomes = ["sheltered", "sheltered", "sheltered", "sheltered", "sheltered", "sheltered", "refused", "refused", "absent", "left"];
    let mut expected_people: BTreeMap<&str, i64> = BTreeMap::new();
    for (line, outcome) in lines.iter().zip(outcomes) {
        let body =
            serde_json::json!({"line_id": line["id"], "outcome": outcome, "facility_id": if outcome == "sheltered" { f.as_str() } else { "" }, "nights": 7});
        let r = c.post_json(&format!("/api/v1/operations/{op}/outcomes"), &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        *expected_people.entry(outcome).or_default() += line["people"].as_i64().unwrap();
    }
    let r = c.post(&format!("/operations/{op}/finish"), &[("report", "Mise à l'abri faite, sans incident."), ("version", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let detail = c.get(&format!("/api/v1/operations/{op}")).await.json();
    assert_eq!(detail["operation"]["status"], "done");
    assert_eq!(detail["counts"]["stays"], 6);
    assert_eq!(detail["counts"]["total_lines"], 10);
    assert_eq!(detail["counts"]["total_people"], people.iter().sum::<i64>());
    for (outcome, n) in &expected_people {
        assert_eq!(detail["counts"]["people"][outcome], *n, "{outcome}");
    }
    let stays = store::list_stays(w.app.db(), &everything(), &StayFilter { operation: Some(op.parse().unwrap()), ..Default::default() }).await.unwrap();
    assert_eq!(stays.len(), 6);
    assert!(stays.iter().all(|s| s.status.code() == "present" && s.organisation == w.a && s.operator == w.b));
    assert_eq!(stays.iter().map(|s| s.places).sum::<i64>(), expected_people["sheltered"]);
    // The site's timeline tells the operation; the page shows the counts.
    let events = veille_storage::timeline::of(w.app.db(), veille_domain::records::RecordKind::Site, site).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "operation").count(), 2);
    let page = c.get(&format!("/operations/{op}")).await;
    assert!(page.body.contains(&format!("data-outcome=\"sheltered\">{}<", expected_people["sheltered"])), "{}", page.body);
    // A field worker of the same organisation reads the operation but not its legal frame.
    let mut field = w.app.session_for(w.field_a, false).await;
    let seen = field.get(&format!("/api/v1/operations/{op}")).await.json();
    assert!(seen["operation"]["legal_frame"].is_null(), "{seen}");
    assert!(!field.get(&format!("/operations/{op}")).await.body.contains("Arrêté 2026-118"));
}

#[tokio::test]
async fn a_dwelling_check_becomes_overdue_is_done_with_its_checklist_and_creates_an_action() {
    let w = world().await;
    let mut c = w.app.session_for(w.coord_a, false).await;
    let r = c.post("/housing/landlords", &[("name", "Office HLM Est"), ("kind", "social"), ("contact", "gestion@hlm.exemple.fr")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let landlord = store::landlords(w.app.db(), &everything()).await.unwrap()[0].id;
    let r = c
        .post_json(
            "/api/v1/dwellings",
            &serde_json::json!({"address": "12 rue des Lilas", "territory_id": w.t1.to_string(), "landlord_id": landlord.to_string(), "rooms": 2, "rent": "420", "check_every_days": 30}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let dwelling = r.json()["id"].as_str().unwrap().to_owned();
    assert!(!c.get("/housing").await.body.contains("id=\"overdue-checks\""));
    // A month and a day later, the first check (due after 30 days) is overdue.
    w.app.state.clock.advance_seconds(31 * 86_400);
    let mut c = w.app.session_for(w.coord_a, false).await;
    let home = c.get("/housing").await;
    assert!(home.body.contains("id=\"overdue-checks\"") && home.body.contains("12 rue des Lilas"), "{}", home.body);
    let checks = store::checks(w.app.db(), dwelling.parse().unwrap()).await.unwrap();
    let check = checks[0].id.to_string();
    // A checklist with a missing answer is refused, what was typed kept.
    let r = c.post(&format!("/housing/checks/{check}"), &[("state", "ok"), ("notes", "Fuite sous l'évier")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(">Fuite sous l") && r.body.contains("évier</textarea>"), "the notes typed are kept");
    let r = c
        .post_json(
            &format!("/api/v1/dwelling-checks/{check}"),
            &serde_json::json!({"state": "ok", "safety": "problem", "hygiene": "ok", "neighbourhood": "watch", "rent": "ok", "wishes": "ok", "notes": "Détecteur de fumée absent."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let done = r.json();
    assert_eq!(done["actions"].as_array().unwrap().len(), 1, "one action for the one problem");
    let today = Night::at(w.app.state.clock.now());
    assert_eq!(done["next_check"], today.plus(30).iso());
    let home = c.get("/housing").await;
    assert!(!home.body.contains("id=\"overdue-checks\""), "no check overdue any more");
    let page = c.get(&format!("/housing/dwellings/{dwelling}")).await;
    assert!(page.body.contains("Sécurité (détecteur, électricité, gaz)") && page.body.contains("Suite à la visite"), "{}", page.body);
    // The action, due in 14 days, becomes overdue, then is done.
    w.app.state.clock.advance_seconds(15 * 86_400);
    let mut c = w.app.session_for(w.coord_a, false).await;
    let home = c.get("/housing").await;
    assert!(home.body.contains("id=\"overdue-actions\""), "{}", home.body);
    let action = done["actions"][0].as_str().unwrap();
    let r = c.post(&format!("/housing/actions/{action}"), &[("status", "done"), ("result", "Détecteur posé."), ("version", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(!c.get("/housing").await.body.contains("id=\"overdue-actions\""));
    // Another organisation does not see the dwelling at all.
    let mut other = w.app.session_for(w.coord_b, false).await;
    assert_eq!(other.get(&format!("/housing/dwellings/{dwelling}")).await.status, StatusCode::NOT_FOUND);
    assert!(other.get("/api/v1/dwellings").await.json().as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_stay_is_read_by_its_booker_and_the_operator_only_and_the_operator_records_the_exit() {
    let w = world().await;
    let f = facility(&w.app, w.coord_b, "Hôtel Bellevue", 10, Some("45,50")).await;
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let r = coord
        .post_json("/api/v1/stays", &serde_json::json!({"facility_id": f, "label": "famille K.", "places": 4, "nights": 10, "booking_ref": "SAMU-4471"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let stay = r.json();
    assert_eq!(stay["cost_cents"], 4550 * 10);
    let id = stay["id"].as_str().unwrap().to_owned();
    // The operator's night staff (a partner account of B) sees it and records the arrival and the exit.
    let mut staff = w.app.session_for(w.staff_b, false).await;
    assert!(staff.get("/shelter/stays").await.body.contains("famille K."));
    let r = staff.post(&format!("/shelter/stays/{id}/enter"), &[("version", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    w.app.state.clock.advance_seconds(3 * 86_400);
    let mut staff = w.app.session_for(w.staff_b, false).await;
    let mut coord = w.app.session_for(w.coord_a, false).await;
    // A missing destination is refused with its message next to the field.
    let r = staff.post(&format!("/shelter/stays/{id}/leave"), &[("destination", ""), ("version", "2")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"destination-error\""));
    let r = staff.post(&format!("/shelter/stays/{id}/leave"), &[("destination", "housing"), ("version", "2")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let s = coord.get(&format!("/api/v1/stays/{id}")).await.json();
    assert_eq!(s["status"], "left");
    assert_eq!(s["destination"], "housing");
    assert_eq!(s["nights"], 4, "the nights after the exit are freed");
    // A third organisation, and a field worker outside the facility's territory, do not see it.
    let c = w.app.org("Autre association", false).await;
    let coord_c = w.app.user(c, Role::Coordinator, "coord@c.exemple.fr", None, None).await;
    let mut third = w.app.session_for(coord_c, false).await;
    assert_eq!(third.get(&format!("/api/v1/stays/{id}")).await.status, StatusCode::NOT_FOUND);
    assert!(!third.get("/shelter/stays").await.body.contains("famille K."));
    let t2 = veille_storage::territories::id_by_code(w.app.db(), "T2").await.unwrap().unwrap();
    let field_t2 = w.app.user(w.a, Role::FieldWorker, "t2@a.exemple.fr", None, Some(vec![t2])).await;
    let mut far = w.app.session_for(field_t2, false).await;
    assert_eq!(far.get(&format!("/api/v1/stays/{id}")).await.status, StatusCode::NOT_FOUND);
    // The field worker of T1 (where the hotel is) reads it.
    let mut near = w.app.session_for(w.field_a, false).await;
    assert_eq!(near.get(&format!("/api/v1/stays/{id}")).await.status, StatusCode::OK);
    // The staff cannot book (partners do not hold records of their own).
    let r = staff.post_json("/api/v1/stays", &serde_json::json!({"facility_id": f, "label": "x"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_refused_booking_keeps_what_was_typed_and_names_each_problem() {
    let w = world().await;
    let f = facility(&w.app, w.coord_b, "Sas Est", 2, None).await;
    let mut c = w.app.session_for(w.coord_a, false).await;
    let r =
        c.post("/shelter/bookings", &[("facility_id", &f), ("label", "Monsieur Sans-Fiche"), ("places", "0"), ("nights", "abc"), ("from", "31/02/2026")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["places", "nights", "from"] {
        assert!(r.body.contains(&format!("id=\"{field}-error\"")), "{field}: {}", r.body);
    }
    assert!(r.body.contains("value=\"Monsieur Sans-Fiche\"") && r.body.contains("value=\"abc\""));
    // In English too.
    let r = c.post("/lang", &[("lang", "en"), ("back", "/")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = c.post("/shelter/bookings", &[("facility_id", &f), ("label", ""), ("places", "99")]).await;
    assert!(r.body.contains("Say who is sheltered") && r.body.contains("Give a whole number between 1 and 30"), "{}", r.body);
    // The operator updates tonight's places from the facility page; a closure shows on the board.
    let mut op = w.app.session_for(w.coord_b, false).await;
    let r = op.post(&format!("/shelter/facilities/{f}/nights"), &[("places", "0"), ("note", "Désinfection")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let board = c.get("/shelter").await;
    assert!(board.body.contains("Sas Est"));
    let r = c.post_json("/api/v1/stays", &serde_json::json!({"facility_id": f, "label": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(&Night::at(w.app.state.clock.now()).plus(1).display()), "{}", r.body);
}

/// Every query that returns stays, requests, operations or dwellings returns
/// exactly what `authorize` lets the caller read, record by record, for
/// accounts of three organisations, several roles and territories.
#[tokio::test]
async fn every_shelter_query_keeps_to_what_authorize_lets_the_caller_read() {
    use veille_app::shelter as app;
    use veille_domain::{authorize, Action};
    let w = world().await;
    let t2 = veille_storage::territories::id_by_code(w.app.db(), "T2").await.unwrap().unwrap();
    let c = w.app.org("Troisième association", false).await;
    let coord_c = w.app.user(c, Role::Coordinator, "coord@c.exemple.fr", None, None).await;
    let field_t2 = w.app.user(w.a, Role::FieldWorker, "t2@a.exemple.fr", None, Some(vec![t2])).await;
    let reader_a = w.app.user(w.a, Role::Reader, "lecture@a.exemple.fr", None, None).await;
    let admin = w.app.user(w.a, Role::InstanceAdmin, "admin@exemple.fr", None, None).await;
    let site = crate::sites::site_at(&w.app, w.a, w.coord_a, "Lieu", 2.05, 48.05).await.to_string();
    // Facilities: B's in T1, A's in T2; stays booked by A, B and C in both.
    let f_b = facility(&w.app, w.coord_b, "Centre B", 30, None).await;
    let mut c_a = w.app.session_for(w.coord_a, false).await;
    let r = c_a.post_json("/api/v1/facilities", &serde_json::json!({"name": "Centre A", "kind": "sas", "places": 30, "lon": 2.25, "lat": 48.05})).await;
    let f_a = r.json()["id"].as_str().unwrap().to_owned();
    for (user, org) in [(w.coord_a, w.a), (w.coord_b, w.b), (coord_c, c)] {
        let mut s = w.app.session_for(user, false).await;
        for f in [&f_a, &f_b] {
            let r = s.post_json("/api/v1/stays", &serde_json::json!({"facility_id": f, "label": format!("séjour de {org}"), "nights": 2})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        let r = s.post("/shelter/requests", &[("label", "attente"), ("public", "families")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = s.post("/housing/dwellings", &[("address", "1 rue Test"), ("territory_id", &w.t1.to_string())]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    let r = c_a.post_json("/api/v1/operations", &serde_json::json!({"site_id": site, "kind": "cleaning", "planned_on": "2030-01-01"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let everything = everything();
    let all = store::list_stays(w.app.db(), &everything, &StayFilter::default()).await.unwrap();
    assert_eq!(all.len(), 6);
    let dwellings = store::list_dwellings(w.app.db(), &everything).await.unwrap();
    let operations = store::list_operations(w.app.db(), &everything, None).await.unwrap();
    let mut seen = 0;
    for user in [w.coord_a, w.field_a, field_t2, reader_a, admin, w.coord_b, w.staff_b, coord_c] {
        let who = crate::sites::caller(&w.app, user).await;
        let scope = who.scope();
        let listed: Vec<_> = store::list_stays(w.app.db(), &scope, &StayFilter::default()).await.unwrap().into_iter().map(|s| s.id).collect();
        for s in &all {
            let readable = authorize(&who.actor, Action::Read, &app::stay_resource(s.organisation, s.operator, s.territory)).allowed;
            assert_eq!(listed.contains(&s.id), readable, "{} listing stay of {} in {:?}", who.account.email, s.organisation, s.territory);
            assert_eq!(store::get_stay(w.app.db(), &scope, s.id).await.is_ok(), readable);
            seen += usize::from(readable);
        }
        let listed: Vec<_> = store::list_dwellings(w.app.db(), &scope).await.unwrap().into_iter().map(|d| d.id).collect();
        for d in &dwellings {
            assert_eq!(listed.contains(&d.id), authorize(&who.actor, Action::Read, &app::housing::resource(d)).allowed, "{}", who.account.email);
        }
        let listed: Vec<_> = store::list_operations(w.app.db(), &scope, None).await.unwrap().into_iter().map(|o| o.id).collect();
        for o in &operations {
            assert_eq!(listed.contains(&o.id), authorize(&who.actor, Action::Read, &app::operations::resource(o)).allowed, "{}", who.account.email);
        }
        for q in store::waiting_list(w.app.db(), &scope).await.unwrap() {
            assert!(
                authorize(
                    &who.actor,
                    Action::Read,
                    &veille_domain::Resource::new(veille_domain::ResourceKind::Record).owned_by(q.organisation).in_territory(q.territory)
                )
                .allowed
            );
        }
    }
    assert!(seen >= 10, "the world lets accounts read stays ({seen})");
}

/// A facility linked to its directory service keeps the service's capacity
/// equal to tonight's free places: what partners read in the directory
/// follows every booking, exit and night set.
#[tokio::test]
async fn the_directory_shows_the_capacity_the_board_computes() {
    use veille_domain::directory::Capacity;
    use veille_storage::directory as dir;
    let w = world().await;
    let now = w.app.state.clock.now();
    let (sid, vid) = (veille_domain::StructureId::new(), veille_domain::ServiceId::new());
    let mut tx = w.app.db().begin().await.unwrap();
    let fields = dir::StructureFields { name: "Association Abri".into(), ..Default::default() };
    let new =
        dir::NewStructure { source: dir::OWN_SOURCE, source_id: &sid.to_string(), organisation: Some(w.b), fields: &fields, territory: None, import_hash: "" };
    dir::create_structure(&mut tx, sid, &new, now).await.unwrap();
    let sfields = dir::ServiceFields { name: "Mise à l'abri de nuit".into(), description: "Hébergement d'urgence.".into(), ..Default::default() };
    let local = dir::LocalFields::default();
    let new = dir::NewService {
        structure: sid,
        source: dir::OWN_SOURCE,
        source_id: &vid.to_string(),
        fields: &sfields,
        local: &local,
        territory: None,
        import_hash: "",
    };
    dir::create_service(&mut tx, vid, &new, now).await.unwrap();
    tx.commit().await.unwrap();
    let mut op = w.app.session_for(w.coord_b, false).await;
    let r = op
        .post_json("/api/v1/facilities", &serde_json::json!({"name": "Abri de nuit", "kind": "shelter_site", "places": 3, "service_id": vid.to_string()}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let f = r.json()["id"].as_str().unwrap().to_owned();
    let capacity = || async { dir::service(w.app.db(), vid).await.unwrap().unwrap().service.local };
    let mut c = w.app.session_for(w.coord_a, false).await;
    let r = c.post_json("/api/v1/stays", &serde_json::json!({"facility_id": f, "label": "famille P.", "places": 2})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let local = capacity().await;
    assert_eq!(local.capacity, Capacity::Limited);
    assert!(local.capacity_note.starts_with("1 place libre"), "{}", local.capacity_note);
    let r = c.post_json("/api/v1/stays", &serde_json::json!({"facility_id": f, "label": "M. J.", "places": 1})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(capacity().await.capacity, Capacity::Full);
    let r = op.post_json(&format!("/api/v1/facilities/{f}/nights"), &serde_json::json!({"places": 10})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(capacity().await.capacity, Capacity::Available);
}

/// Stays are exported by their booker and the operator (decision 91),
/// without who they are for in words nor the booking reference.
#[tokio::test]
async fn stays_are_exported_without_who_in_words_nor_the_booking_reference() {
    let w = world().await;
    let f = facility(&w.app, w.coord_b, "Hôtel Bellevue", 10, Some("45,50")).await;
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let r = coord
        .post_json("/api/v1/stays", &serde_json::json!({"facility_id": f, "label": "famille K.", "places": 4, "nights": 10, "booking_ref": "SAMU-4471"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert!(coord.get("/shelter/stays").await.body.contains("action=\"/shelter/stays/export\""));
    let query = "col=id&col=facility&col=places&col=nights&col=night_cost&col=status";
    let expected = vec![vec![id.clone(), "Hôtel Bellevue".to_owned(), "4".to_owned(), "10".to_owned(), "45.5".to_owned(), "booked".to_owned()]];
    for who in [w.coord_a, w.staff_b] {
        let mut c = w.app.session_for(who, false).await;
        let csv = c.get(&format!("/shelter/stays/export?{query}")).await;
        assert_eq!(csv.status, StatusCode::OK);
        let s = veille_app::imports::sheet::read("x.csv", csv.body.as_bytes()).unwrap().remove(0);
        assert_eq!(s.headers, ["id", "facility", "places", "nights", "night_cost", "status"]);
        assert_eq!(s.rows.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(), expected);
        let xlsx = c.get(&format!("/shelter/stays/export?{query}&format=xlsx")).await;
        let s = veille_app::imports::sheet::read("x.xlsx", &xlsx.bytes).unwrap().remove(0);
        assert_eq!(s.rows.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(), expected);
        let all = c.get("/shelter/stays/export").await.body;
        assert!(!all.contains("famille K.") && !all.contains("SAMU-4471"), "{all}");
    }
}
