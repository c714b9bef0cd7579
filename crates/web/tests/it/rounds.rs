//! Maraudes: planning from the schedule and circuit, the pair check-in,
//! stops (with the reports assigned to the team), distributions, check-out,
//! the daily report, the overdue alert with the manual clock, the shared
//! schedule across organisations, and the JSON API.

use axum::http::StatusCode;
use veille_domain::{Role, TeamId, UserId};
use veille_storage::{reports, rounds, sites as store_sites, teams};
use veille_web::reports::Intake;

use crate::helpers::*;
use crate::sites::{site_at, two, Two};

/// A team of organisation A with the two given members, its catalogue, and a
/// circuit of one site.
pub async fn team_of(w: &Two, members: &[UserId]) -> (TeamId, veille_domain::SiteId) {
    let now = w.app.state.clock.now();
    let site = site_at(&w.app, w.a, w.coord_a, "Campement du quai", 2.05, 48.05).await;
    let mut tx = w.app.db().begin().await.unwrap();
    let team = teams::create(&mut tx, w.a, "Maraude du soir", "social", now).await.unwrap();
    for m in members {
        teams::add_member(&mut tx, team, *m).await.unwrap();
    }
    let circuit = rounds::create_circuit(&mut tx, w.a, team, "Nord", now).await.unwrap();
    rounds::add_circuit_stop(&mut tx, circuit, Some(site), "", None, now).await.unwrap();
    rounds::add_circuit_stop(&mut tx, circuit, None, "Sortie du métro", Some((2.06, 48.06)), now).await.unwrap();
    rounds::create_slot(
        &mut tx,
        &rounds::NewSlot {
            organisation: w.a,
            team,
            weekday: i64::from(chrono::Datelike::weekday(&now.paris_date()).number_from_monday()),
            start_minute: 20 * 60,
            end_minute: 60,
            territory: None,
            circuit: Some(circuit),
            note: "RDV place".into(),
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (team, site)
}

pub fn today(app: &TestApp) -> String {
    app.state.clock.now().paris_date().to_string()
}

#[tokio::test]
async fn a_pair_checks_in_visits_records_and_checks_out_and_the_daily_report_shows_exactly_that() {
    let w = two().await;
    let second = w.app.user(w.a, Role::FieldWorker, "binome@a.exemple.fr", None, None).await;
    let (team, site) = team_of(&w, &[w.field_a, second]).await;
    let mut c = w.app.session_for(w.field_a, false).await;
    assert_eq!(c.post("/rounds/items", &[("action", "defaults")]).await.status, StatusCode::FORBIDDEN, "field workers do not edit the catalogue");
    let mut coord = w.app.session_for(w.coord_a, false).await;
    assert_eq!(coord.post("/rounds/items", &[("action", "defaults")]).await.status, StatusCode::SEE_OTHER);
    let slot = rounds::slots(w.app.db()).await.unwrap()[0].id;
    let r = c.post("/rounds", &[("slot_id", &slot.to_string()), ("date", &today(&w.app))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let round_path = r.location().unwrap().to_owned();
    let round_id: veille_domain::RoundId = round_path.trim_start_matches("/rounds/").parse().unwrap();
    let round = rounds::get_round(w.app.db(), &everything(), round_id).await.unwrap();
    assert_eq!(round.team, team);
    assert_eq!(round.planned_end.seconds_until(round.planned_start.plus_seconds(5 * 3600)), 0, "20:00 to 01:00 the next day");
    assert_eq!(rounds::stops(w.app.db(), &everything(), round_id).await.unwrap().len(), 2, "the circuit's stops");
    // The pair rule: alone, refused.
    let expected = w.app.state.clock.now().plus_seconds(3 * 3600).to_paris_input();
    let r = c.post(&format!("{round_path}/check-in"), &[("members", &w.field_a.to_string()), ("expected_return", &expected), ("version", "1")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"members-error\"") && r.body.contains("binôme"));
    // Someone not in the team does not count.
    let r = c
        .post(
            &format!("{round_path}/check-in"),
            &[("members", &w.field_a.to_string()), ("members", &w.coord_a.to_string()), ("expected_return", &expected), ("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .post(
            &format!("{round_path}/check-in"),
            &[("members", &w.field_a.to_string()), ("members", &second.to_string()), ("expected_return", &expected), ("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(rounds::members(w.app.db(), &everything(), round_id).await.unwrap().len(), 2);
    // Visit the site, record an observation on it from the round, distribute.
    let stops = rounds::stops(w.app.db(), &everything(), round_id).await.unwrap();
    w.app.state.clock.advance_seconds(600);
    assert_eq!(c.post(&format!("{round_path}/visit"), &[("stop_id", &stops[0].id), ("note", "calme")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(c.post(&format!("{round_path}/visit"), &[("stop_id", &stops[0].id)]).await.status, StatusCode::UNPROCESSABLE_ENTITY, "visited once");
    // "Nothing changed" from the round dates the site's last check and comes back to the stop.
    let r = c.post(&format!("/sites/{site}/confirm"), &[("version", "1"), ("back", &format!("{round_path}#stop-{}", stops[0].id))]).await;
    assert_eq!(r.location(), Some(format!("{round_path}#stop-{}", stops[0].id).as_str()));
    assert!(store_sites::get(w.app.db(), &everything(), site).await.unwrap().last_checked_at.is_some());
    let r = c.post(&format!("/sites/{site}/confirm"), &[("version", "2"), ("back", "//ailleurs.exemple/")]).await;
    assert_eq!(r.location(), Some(format!("/sites/{site}").as_str()), "never sent elsewhere");
    let form = c.get(&format!("/sites/{site}/observations/new?round={round_id}")).await;
    assert!(form.body.contains(&format!("name=\"round_id\" value=\"{round_id}\"")));
    let r = c.post(&format!("/sites/{site}/observations"), &[("round_id", &round_id.to_string()), ("people", "7"), ("women", "2"), ("tents", "4")]).await;
    assert_eq!(r.location(), Some(round_path.as_str()));
    let items = rounds::items(w.app.db(), w.a).await.unwrap();
    let meals = items.iter().find(|i| i.name == "Repas").unwrap();
    let naloxone = items.iter().find(|i| i.name == "Naloxone").unwrap();
    let r = c.post(&format!("{round_path}/distributions"), &[(&*format!("qty_{}", meals.id), "12"), (&*format!("qty_{}", naloxone.id), "2")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.post(&format!("{round_path}/distributions"), &[(&*format!("qty_{}", meals.id), "beaucoup")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        c.post(&format!("{round_path}/incidents"), &[("kind", "threat"), ("description", "Tension à la sortie du métro")]).await.status,
        StatusCode::SEE_OTHER
    );
    let r = c.post(&format!("{round_path}/check-out"), &[("version", "2")]).await;
    assert_eq!(r.location(), Some(format!("{round_path}/report").as_str()));
    let r = c
        .post(
            &format!("{round_path}/report"),
            &[
                ("people_total", "9"),
                ("people_new", "2"),
                ("people_known", "7"),
                ("mediations", "1"),
                ("mediation_notes", "Gardien d'immeuble"),
                ("handover", "Repasser au quai demain"),
                ("version", "3"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let report = c.get(&format!("{round_path}/report")).await.body;
    let section = |id: &str| report.split(&format!("id=\"{id}\"")).nth(1).unwrap().split("</section>").next().unwrap().to_owned();
    assert!(section("report-stops").contains("Campement du quai") && section("report-stops").contains("calme"));
    assert!(!section("report-stops").contains("Sortie du métro"), "only visited stops");
    assert!(section("report-observations").contains("Personnes 7"));
    assert!(section("report-people").contains("Total 9") && section("report-people").contains("Déjà connues 7"));
    assert!(section("report-distributions").contains("<td>Repas</td><td>Alimentation</td><td>12</td>"));
    assert!(section("report-distributions").contains("<td>Naloxone</td><td>Réduction des risques</td><td>2</td>"));
    assert!(section("report-incidents").contains("Menace"));
    assert!(section("report-handover").contains("Repasser au quai demain"));
    assert!(section("report-members").contains("Test field_worker"));
    // The day's counters of the rounds page: the people met and the 14 items given.
    let list = c.get("/rounds").await.body;
    let counters = list.split("id=\"counters-title\"").nth(1).unwrap();
    assert!(counters.contains("<td>9</td><td>14</td>"), "{counters}");
    // Counts that do not add up are refused.
    let r = c.post(&format!("{round_path}/report"), &[("people_total", "1"), ("people_new", "2"), ("version", "4")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_round_not_checked_out_by_its_expected_time_raises_the_overdue_alert_once() {
    let w = two().await;
    let second = w.app.user(w.a, Role::FieldWorker, "binome@a.exemple.fr", None, None).await;
    w.app.user(w.a, Role::OrgAdmin, "admin@a.exemple.fr", None, None).await;
    let (team, _) = team_of(&w, &[w.field_a, second]).await;
    let mut c = w.app.session_for(w.field_a, false).await;
    let r = c.post_json("/api/v1/rounds", &serde_json::json!({"team_id": team.to_string(), "date": today(&w.app), "start": "20:00", "end": "23:00"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["round"]["id"].as_str().unwrap().to_owned();
    let expected = w.app.state.clock.now().plus_seconds(2 * 3600).to_rfc3339();
    let r = c
        .post_json(
            &format!("/api/v1/rounds/{id}/check-in"),
            &serde_json::json!({"members": [w.field_a.to_string(), second.to_string()], "expected_return": expected}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mails = || async {
        veille_storage::sqlx::query_as::<_, (String, String, String)>("SELECT to_address, subject, body_text FROM outbox ORDER BY created_at")
            .fetch_all(w.app.db().pool())
            .await
            .unwrap()
    };
    // An hour later: not late yet. (Sessions are opened after each move of
    // the clock: an idle session ends after 30 minutes.)
    w.app.state.clock.advance_seconds(3600);
    assert_eq!(veille_app::rounds::alerts::raise_overdue(&w.app.state).await.unwrap(), 0);
    let mut coord = w.app.session_for(w.coord_a, false).await;
    assert!(!coord.get("/").await.body.contains("overdue-banner"));
    // Past the expected return: one alert, to the coordinators and administrators of A only.
    w.app.state.clock.advance_seconds(3600 + 60);
    assert_eq!(veille_app::rounds::alerts::raise_overdue(&w.app.state).await.unwrap(), 1);
    let sent = mails().await;
    let to: Vec<&str> = sent.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(to.len(), 2, "{to:?}");
    assert!(to.contains(&"coord@a.exemple.fr") && to.contains(&"admin@a.exemple.fr"));
    assert!(sent[0].1.contains("Maraude du soir"));
    assert!(sent[0].2.contains(&format!("/rounds/{id}")));
    for m in &sent {
        assert!(!m.2.contains("Test field_worker") && !m.2.contains("terrain@"), "no personal data in the mail");
    }
    // The banner on the coordinator's pages, not on the field worker's nor on B's.
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let mut c = w.app.session_for(w.field_a, false).await;
    let home = coord.get("/sites").await.body;
    assert!(home.contains("id=\"overdue-banner\""), "banner for the coordinator");
    assert!(!c.get("/sites").await.body.contains("overdue-banner"));
    assert!(!w.app.session_for(w.coord_b, false).await.get("/sites").await.body.contains("overdue-banner"));
    assert!(coord.get("/rounds").await.body.contains("id=\"overdue\""));
    // Raised once.
    w.app.state.clock.advance_seconds(600);
    assert_eq!(veille_app::rounds::alerts::raise_overdue(&w.app.state).await.unwrap(), 0);
    assert_eq!(mails().await.len(), 2);
    // Back: the banner goes.
    assert_eq!(c.post_json(&format!("/api/v1/rounds/{id}/check-out"), &serde_json::json!({})).await.status, StatusCode::OK);
    assert!(!coord.get("/sites").await.body.contains("overdue-banner"));
    let alerts: i64 = veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'alert' AND record_id = $1")
        .bind(&id)
        .fetch_one(w.app.db().pool())
        .await
        .unwrap();
    assert_eq!(alerts, 1);
}

#[tokio::test]
async fn two_organisations_slots_appear_in_the_shared_schedule_and_its_icalendar_export() {
    let w = two().await;
    let now = w.app.state.clock.now();
    let mut tx = w.app.db().begin().await.unwrap();
    let team_a = teams::create(&mut tx, w.a, "Maraude municipale", "mediation", now).await.unwrap();
    let team_b = teams::create(&mut tx, w.b, "Maraude RdR", "health", now).await.unwrap();
    tx.commit().await.unwrap();
    let t1 = veille_storage::territories::id_by_code(w.app.db(), "T1").await.unwrap().unwrap();
    let mut ca = w.app.session_for(w.coord_a, false).await;
    let r = ca
        .post(
            "/schedule",
            &[
                ("team_id", &team_a.to_string()),
                ("weekday", "2"),
                ("start", "19:30"),
                ("end", "22:00"),
                ("territory_id", &t1.to_string()),
                ("note", "Départ place de la Chapelle"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut cb = w.app.session_for(w.coord_b, false).await;
    let r = cb
        .post_json(
            "/api/v1/schedule",
            &serde_json::json!({"team_id": team_b.to_string(), "weekday": 2, "start": "21:00", "end": "01:30", "territory_id": t1.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // B may not add a slot for A's team, nor remove A's slot.
    let r = cb.post_json("/api/v1/schedule", &serde_json::json!({"team_id": team_a.to_string(), "weekday": 3, "start": "10:00", "end": "11:00"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let slot_a = rounds::slots(w.app.db()).await.unwrap().into_iter().find(|s| s.organisation == w.a).unwrap();
    assert_eq!(cb.post(&format!("/schedule/{}/delete", slot_a.id), &[]).await.status, StatusCode::FORBIDDEN);
    // A field worker of a third organisation sees both, on Tuesday, in T1.
    let c = w.app.org("CAARUD Est", false).await;
    let field_c = w.app.user(c, Role::FieldWorker, "terrain@c.exemple.fr", None, None).await;
    let mut fc = w.app.session_for(field_c, false).await;
    let page = fc.get("/schedule").await.body;
    let tuesday = page.split("id=\"weekday-2\"").nth(1).unwrap().split("</section>").next().unwrap().to_owned();
    assert!(tuesday.contains("Maraude municipale") && tuesday.contains("Maraude RdR"), "{tuesday}");
    assert!(tuesday.contains("19:30–22:00") && tuesday.contains("21:00–01:30"));
    assert!(tuesday.contains("Mission coordination") && tuesday.contains("Association Nord"));
    let api = fc.get("/api/v1/schedule").await.json();
    assert_eq!(api.as_array().unwrap().len(), 2);
    // The iCalendar export: what clients need, checked here; the outside parsers run in the browser suite.
    let r = fc.get("/schedule.ics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/calendar"));
    let ics = r.body;
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.trim_end().ends_with("END:VCALENDAR"));
    for needle in ["VERSION:2.0", "PRODID:", "BEGIN:VTIMEZONE", "TZID:Europe/Paris", "RRULE:FREQ=WEEKLY;BYDAY=TU", "DTSTART;TZID=Europe/Paris:"] {
        assert!(ics.contains(needle), "{needle} in\n{ics}");
    }
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2);
    for event in ics.split("BEGIN:VEVENT").skip(1) {
        for p in ["UID:", "DTSTAMP:", "DTSTART", "DTEND"] {
            assert!(event.contains(p), "{p} in {event}");
        }
    }
    // Partners and readers do not see the schedule.
    let partner = w.app.user(c, Role::Partner, "partenaire@c.exemple.fr", None, None).await;
    assert_eq!(w.app.session_for(partner, false).await.get("/schedule.ics").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_report_assigned_to_a_team_appears_on_its_next_round_and_moves_forward_when_the_stop_is_visited() {
    let w = two().await;
    let second = w.app.user(w.a, Role::FieldWorker, "binome@a.exemple.fr", None, None).await;
    let (team, _) = team_of(&w, &[w.field_a, second]).await;
    let t1 = veille_storage::territories::id_by_code(w.app.db(), "T1").await.unwrap().unwrap();
    let mut tx = w.app.db().begin().await.unwrap();
    reports::add_routing_rule(&mut tx, Some(t1), None, None, team, w.app.state.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    let intake = Intake {
        source: veille_domain::reports::Source::Riverain,
        channel: veille_domain::reports::Channel::Web,
        point: Some(veille_geo::LonLat::new(2.055, 48.055).unwrap()),
        address: "Devant le 12 rue du Quai".into(),
        adults: 2,
        description: "Deux personnes sous une tente".into(),
        ..Default::default()
    };
    let received = veille_app::reports::receive(&w.app.state, &intake, None).await.unwrap();
    assert_eq!(received.team, Some(team));
    let mut c = w.app.session_for(w.field_a, false).await;
    let r = c.post("/rounds", &[("team_id", &team.to_string()), ("date", &today(&w.app)), ("start", "20:00"), ("end", "23:00")]).await;
    let round_path = r.location().unwrap().to_owned();
    let round_id: veille_domain::RoundId = round_path.trim_start_matches("/rounds/").parse().unwrap();
    let stops = rounds::stops(w.app.db(), &everything(), round_id).await.unwrap();
    let stop = stops.iter().find(|s| s.report == Some(received.id)).expect("the report is among the stops");
    let page = c.get(&round_path).await.body;
    assert!(page.contains(&received.reference));
    // A report assigned after planning joins at check-in.
    let later = veille_app::reports::receive(&w.app.state, &Intake { description: "Un matelas".into(), ..intake.clone() }, None).await.unwrap();
    let expected = w.app.state.clock.now().plus_seconds(3 * 3600).to_paris_input();
    let r = c
        .post(
            &format!("{round_path}/check-in"),
            &[("members", &w.field_a.to_string()), ("members", &second.to_string()), ("expected_return", &expected), ("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(rounds::stops(w.app.db(), &everything(), round_id).await.unwrap().iter().any(|s| s.report == Some(later.id)));
    // Visiting the stop moves the report forward, with its timeline.
    assert_eq!(reports::get(w.app.db(), &everything(), received.id).await.unwrap().status, "assigned");
    assert_eq!(c.post(&format!("{round_path}/visit"), &[("stop_id", &stop.id)]).await.status, StatusCode::SEE_OTHER);
    let moved = reports::get(w.app.db(), &everything(), received.id).await.unwrap();
    assert_eq!(moved.status, "in_progress");
    let events = report_events(w.app.db(), received.id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "status" && e.from.as_deref() == Some("assigned") && e.to.as_deref() == Some("in_progress")));
    assert_eq!(reports::get(w.app.db(), &everything(), later.id).await.unwrap().status, "assigned", "only the visited stop's report");
    // The coordinator is offered the answer form of the report from the round.
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let page = coord.get(&round_path).await.body;
    assert!(page.contains(&format!("href=\"/reports/{}#answer\"", received.id)));
    let r = coord
        .post(
            &format!("/reports/{}/answer", received.id),
            &[("answer", "Une équipe est passée ce soir."), ("action", "publish"), ("version", &moved.version.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // A later round of the team still carries the open reports, not the closed ones.
    let mut tx = w.app.db().begin().await.unwrap();
    let later_report = reports::get(w.app.db(), &everything(), later.id).await.unwrap();
    reports::set_status(
        &mut tx,
        later_report.id,
        veille_domain::reports::Status::Closed,
        Some(veille_domain::reports::Outcome::NobodyFound),
        later_report.version,
        w.app.state.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let r = c.post_json("/api/v1/rounds", &serde_json::json!({"team_id": team.to_string(), "date": today(&w.app), "start": "23:00", "end": "23:30"})).await;
    let stops: Vec<Option<String>> = r.json()["stops"].as_array().unwrap().iter().map(|s| s["report_id"].as_str().map(str::to_owned)).collect();
    assert!(stops.contains(&Some(received.id.to_string())));
    assert!(!stops.contains(&Some(later.id.to_string())));
}

#[tokio::test]
async fn rounds_belong_to_the_team_organisation_and_the_api_follows_the_same_rules() {
    let w = two().await;
    let second = w.app.user(w.a, Role::FieldWorker, "binome@a.exemple.fr", None, None).await;
    let (team, site) = team_of(&w, &[w.field_a, second]).await;
    let mut c = w.app.session_for(w.field_a, false).await;
    let r = c.post_json("/api/v1/rounds", &serde_json::json!({"team_id": team.to_string(), "date": "demain", "start": "25:00"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &r.json()["error"]["fields"];
    assert!(fields["date"].is_string() && fields["start"].is_string() && fields["end"].is_string());
    let slot = rounds::slots(w.app.db()).await.unwrap()[0].id;
    let r = c.post_json("/api/v1/rounds", &serde_json::json!({"slot_id": slot.to_string(), "date": today(&w.app)})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["round"]["id"].as_str().unwrap().to_owned();
    // Another organisation does not find it, on pages nor the API.
    let mut cb = w.app.session_for(w.coord_b, false).await;
    assert_eq!(cb.get(&format!("/rounds/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(cb.get(&format!("/api/v1/rounds/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(cb.post_json(&format!("/api/v1/rounds/{id}/check-out"), &serde_json::json!({})).await.status, StatusCode::NOT_FOUND);
    assert!(cb.get("/api/v1/rounds").await.json().as_array().unwrap().is_empty());
    // A round that has not left can be called off; it then leaves the coverage.
    let r = c.post_json("/api/v1/rounds", &serde_json::json!({"slot_id": slot.to_string(), "date": today(&w.app)})).await;
    let extra = r.json()["round"]["id"].as_str().unwrap().to_owned();
    assert_eq!(c.post(&format!("/rounds/{extra}/cancel"), &[("version", "1")]).await.location(), Some("/rounds"));
    assert_eq!(rounds::get_round(w.app.db(), &everything(), extra.parse().unwrap()).await.unwrap().status, "cancelled");
    assert_eq!(c.post(&format!("/rounds/{extra}/cancel"), &[("version", "2")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The API check-in follows the pair rule too.
    let expected = w.app.state.clock.now().plus_seconds(3600).to_rfc3339();
    let r = c.post_json(&format!("/api/v1/rounds/{id}/check-in"), &serde_json::json!({"members": [w.field_a.to_string()], "expected_return": expected})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["members"].as_str().unwrap().contains("binôme"));
    let r = c
        .post_json(
            &format!("/api/v1/rounds/{id}/check-in"),
            &serde_json::json!({"members": [w.field_a.to_string(), second.to_string()], "expected_return": expected}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let stop = r.json()["stops"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["stops"][0]["site_id"], site.to_string());
    let r = c.post_json(&format!("/api/v1/rounds/{id}/visits"), &serde_json::json!({"stop_id": stop, "note": "RAS"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["stops"][0]["visited_at"].is_string());
    // A visited stop counts as the site being seen (coverage).
    assert!(store_sites::last_seen(w.app.db(), &everything(), &[site]).await.unwrap().contains_key(&site));
    // Distributions only from the organisation's catalogue.
    let r = c.post_json(&format!("/api/v1/rounds/{id}/distributions"), &serde_json::json!({"quantities": {"not-an-item": 3}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let d = c.get(&format!("/api/v1/rounds/{id}")).await.json();
    assert_eq!(d["round"]["status"], "started");
    assert_eq!(d["members"].as_array().unwrap().len(), 2);
    let teams = c.get("/api/v1/teams").await.json();
    let t = teams.as_array().unwrap().iter().find(|t| t["id"] == team.to_string()).unwrap().clone();
    assert_eq!(t["kind"], "social");
    assert_eq!(t["members"].as_array().unwrap().len(), 2);
}

/// The scope rules of rounds, asked of the application layer directly: the
/// round lists, the API's period list, a single round, what was recorded on
/// it and the overdue banner give each account exactly the rounds
/// `authorize` lets it read (its organisation's, within its territories),
/// and the report stops of a new round are the open reports of the team the
/// planner reads — filtered in SQL, T2's reports never reaching a field
/// worker limited to T1.
#[tokio::test]
async fn every_round_query_and_the_report_stops_keep_to_what_authorize_lets_the_caller_read() {
    use veille_app::rounds as app;
    use veille_domain::{authorize, Action, RoundId};
    let w = two().await;
    let second = w.app.user(w.a, Role::FieldWorker, "binome@a.exemple.fr", None, None).await;
    let (team, _) = team_of(&w, &[w.field_a, second]).await;
    let t1 = veille_storage::territories::id_by_code(w.app.db(), "T1").await.unwrap().unwrap();
    let t2 = veille_storage::territories::id_by_code(w.app.db(), "T2").await.unwrap().unwrap();
    let coord_a_t1 = w.app.user(w.a, Role::Coordinator, "coord-t1@a.exemple.fr", None, Some(vec![t1])).await;
    let now = w.app.state.clock.now();
    let mut tx = w.app.db().begin().await.unwrap();
    let team_b = teams::create(&mut tx, w.b, "Maraude B", "social", now).await.unwrap();
    let mut all_rounds: Vec<(RoundId, bool)> = Vec::new();
    for (org, team, territory) in [(w.a, team, Some(t1)), (w.a, team, Some(t2)), (w.a, team, None), (w.b, team_b, Some(t1))] {
        let plan =
            rounds::NewRound { organisation: org, team, circuit: None, slot: None, territory, planned_start: now, planned_end: now.plus_seconds(3 * 3600) };
        let id = rounds::create_round(
            &mut tx,
            &plan,
            &[rounds::NewStop { label: "Point".into(), point: Some((2.05, 48.05)), ..Default::default() }],
            w.coord_a,
            now,
        )
        .await
        .unwrap();
        all_rounds.push((id, false));
    }
    tx.commit().await.unwrap();
    // Two of them out, and late by the time the banner is read.
    let mut tx = w.app.db().begin().await.unwrap();
    for (id, out) in all_rounds.iter_mut().take(2) {
        let round = rounds::get_round(w.app.db(), &everything(), *id).await.unwrap();
        *out = true;
        rounds::check_in(&mut tx, &round, &[w.field_a, second], now.plus_seconds(3600), w.field_a, round.version, now).await.unwrap();
    }
    tx.commit().await.unwrap();
    w.app.state.clock.advance_seconds(2 * 3600);
    let later = w.app.state.clock.now();
    for user in [w.field_a, w.coord_a, coord_a_t1, w.field_b, w.coord_b] {
        let who = crate::sites::caller(&w.app, user).await;
        let mut expected = Vec::new();
        let mut overdue = 0;
        for (id, out) in &all_rounds {
            let round = rounds::get_round(w.app.db(), &everything(), *id).await.unwrap();
            let readable = authorize(&who.actor, Action::Read, &app::round_resource(&round)).allowed;
            assert_eq!(app::load_round(&w.app.state, &who, &id.to_string(), Action::Read).await.is_ok(), readable, "{user}: round {id}");
            if readable {
                expected.push(*id);
                let record = app::record(&w.app.state, &who, round.clone()).await.unwrap();
                assert_eq!(record.stops.len(), 1, "the stops of a round it reads");
                assert_eq!(record.members.len(), if *out { 2 } else { 0 });
                if *out && round.organisation == who.account.organisation {
                    overdue += 1;
                }
            } else {
                // What was recorded on a round it may not read is not given either.
                let record = app::record(&w.app.state, &who, round).await.unwrap();
                assert!(record.stops.is_empty() && record.members.is_empty(), "{user}: parts of round {id}");
            }
        }
        expected.sort();
        let board = app::board(&w.app.state, &who).await.unwrap();
        let mut listed: Vec<RoundId> = [&board.overdue, &board.out, &board.ahead, &board.recent].into_iter().flatten().map(|l| l.round.id).collect();
        listed.sort();
        assert_eq!(listed, expected, "{user}: the round list");
        assert_eq!(board.overdue.len(), all_rounds.iter().filter(|(id, out)| *out && expected.contains(id)).count(), "{user}: overdue");
        let mut between: Vec<RoundId> =
            app::rounds_between(&w.app.state, &who, now.plus_seconds(-60), later).await.unwrap().into_iter().map(|r| r.id).collect();
        between.sort();
        assert_eq!(between, expected, "{user}: rounds of a period");
        let banner = app::alerts::overdue_banner(&w.app.state, &who).await.unwrap();
        assert_eq!(banner, if app::alerts::alerted_role(who.account.role) { overdue } else { 0 }, "{user}: the banner");
    }
    // The field worker limited to T1 reads A's rounds of T1 and those placed nowhere.
    let fa = crate::sites::caller(&w.app, w.field_a).await;
    assert_eq!(app::board(&w.app.state, &fa).await.unwrap().overdue.len(), 1);

    // Reports assigned to the team in T1 and in T2.
    let mut tx = w.app.db().begin().await.unwrap();
    for t in [t1, t2] {
        reports::add_routing_rule(&mut tx, Some(t), None, None, team, later).await.unwrap();
    }
    tx.commit().await.unwrap();
    let intake = |lon: f64| Intake {
        source: veille_domain::reports::Source::Riverain,
        channel: veille_domain::reports::Channel::Web,
        point: Some(veille_geo::LonLat::new(lon, 48.05).unwrap()),
        address: format!("Rue {lon}"),
        adults: 1,
        ..Default::default()
    };
    let in_t1 = veille_app::reports::receive(&w.app.state, &intake(2.05), None).await.unwrap();
    let in_t2 = veille_app::reports::receive(&w.app.state, &intake(2.25), None).await.unwrap();
    assert_eq!((in_t1.team, in_t2.team), (Some(team), Some(team)));
    let stops_of = |scope: veille_storage::Scope| {
        let db = w.app.db().clone();
        async move { rounds::report_stops(&db, &scope, team, None).await.unwrap().into_iter().filter_map(|s| s.report).collect::<Vec<_>>() }
    };
    assert_eq!(stops_of(everything()).await, vec![in_t1.id, in_t2.id], "every open report of the team, oldest first");
    assert_eq!(stops_of(fa.scope()).await, vec![in_t1.id], "the field worker of T1 never gets T2's report");
    assert!(stops_of(crate::sites::caller(&w.app, w.coord_b).await.scope()).await.is_empty(), "another organisation gets none");
    let plan =
        app::PlanInput { team_id: team.to_string(), date: later.paris_date().to_string(), start: "20:00".into(), end: "23:00".into(), ..Default::default() };
    for (user, reports) in [(w.field_a, vec![in_t1.id]), (w.coord_a, vec![in_t1.id, in_t2.id])] {
        let who = crate::sites::caller(&w.app, user).await;
        let round = app::plan_round(&w.app.state, &who, veille_app::Lang::Fr, &plan).await.unwrap().unwrap();
        let stops: Vec<_> = rounds::stops(w.app.db(), &everything(), round.id).await.unwrap().into_iter().filter_map(|s| s.report).collect();
        assert_eq!(stops, reports, "{user}: the report stops of the round it plans");
    }
}

/// Two instances against one database, both ticking their overdue-round
/// worker at the same moment, several times: each overdue round is alerted
/// once (one set of mails), whichever instance wins.
#[tokio::test]
async fn two_instances_raise_each_overdue_alert_once() {
    let w = two().await;
    let second = w.app.user(w.a, Role::FieldWorker, "binome@a.exemple.fr", None, None).await;
    w.app.user(w.a, Role::OrgAdmin, "admin@a.exemple.fr", None, None).await;
    let (team, _) = team_of(&w, &[w.field_a, second]).await;
    let mut c = w.app.session_for(w.field_a, false).await;
    let mut ids = Vec::new();
    for (start, end) in [("18:00", "20:00"), ("20:00", "23:00")] {
        let r = c.post_json("/api/v1/rounds", &serde_json::json!({"team_id": team.to_string(), "date": today(&w.app), "start": start, "end": end})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.json()["round"]["id"].as_str().unwrap().to_owned();
        let expected = w.app.state.clock.now().plus_seconds(3600).to_rfc3339();
        let r = c
            .post_json(
                &format!("/api/v1/rounds/{id}/check-in"),
                &serde_json::json!({"members": [w.field_a.to_string(), second.to_string()], "expected_return": expected}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        ids.push(id);
    }
    let other = w.app.second_instance().await;
    w.app.state.clock.advance_seconds(2 * 3600);
    let mut raised = 0;
    for _ in 0..3 {
        let (a, b) = tokio::join!(veille_app::rounds::alerts::raise_overdue(&w.app.state), veille_app::rounds::alerts::raise_overdue(&other));
        raised += a.unwrap() + b.unwrap();
    }
    assert_eq!(raised, 2, "each of the two overdue rounds alerted once");
    let mails: i64 = veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(w.app.db().pool()).await.unwrap();
    assert_eq!(mails, 4, "two rounds, each to its coordinator and administrator, once");
}

/// The rounds board is exported as its page shows it (decision 91): a
/// planned round under "planned", without free text.
#[tokio::test]
async fn the_rounds_board_is_exported_by_section() {
    let w = two().await;
    let second = w.app.user(w.a, Role::FieldWorker, "binome@a.exemple.fr", None, None).await;
    let (team, _) = team_of(&w, &[w.field_a, second]).await;
    let mut c = w.app.session_for(w.field_a, false).await;
    let r = c.post("/rounds", &[("team_id", &team.to_string()), ("date", &today(&w.app)), ("start", "20:00"), ("end", "23:00")]).await;
    let id = r.location().unwrap().trim_start_matches("/rounds/").to_owned();
    assert!(c.get("/rounds").await.body.contains("action=\"/rounds/export\""));
    let csv = c.get("/rounds/export?col=id&col=section&col=status&col=people_total").await;
    assert_eq!(csv.status, StatusCode::OK);
    let s = veille_app::imports::sheet::read("x.csv", csv.body.as_bytes()).unwrap().remove(0);
    assert_eq!(s.headers, ["id", "section", "status", "people_total"]);
    assert_eq!(s.rows.into_iter().map(|(_, r)| r).collect::<Vec<_>>(), vec![vec![id, "planned".to_owned(), "planned".to_owned(), "0".to_owned()]]);
    let xlsx = c.get("/rounds/export?format=xlsx").await;
    assert_eq!(xlsx.headers["x-export-rows"], "1");
    assert_eq!(veille_app::imports::sheet::read("x.xlsx", &xlsx.bytes).unwrap()[0].rows.len(), 1);
}
