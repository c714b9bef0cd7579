//! Meetings and escalations: a cellule's agenda lists a case due for review,
//! a decision becomes an action for a partner without accounts, minutes are
//! mailed to each attendee as they may read them (no case detail to who may
//! not read the case); a collective session counts its public; an
//! unacknowledged escalation goes up a level after its deadline. Fresh
//! database per test, both engines, manual clock.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use veille_domain::cases::{EscalationKind, MeetingKind};
use veille_domain::{OrganisationId, Role, TerritoryId, UserId};
use veille_storage::meetings::{self as store, Attendee, NewMeeting};

use crate::helpers::*;

/// A meeting and an escalation of one organisation in the matrix world.
pub async fn matrix_objects(app: &TestApp, org: OrganisationId, by: UserId, territory: TerritoryId) -> BTreeMap<&'static str, String> {
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    let m = NewMeeting {
        territory: Some(territory),
        kind: MeetingKind::Cellule,
        title: "Cellule matrice".into(),
        place: String::new(),
        starts_at: now.plus_seconds(86_400),
        ends_at: now.plus_seconds(90_000),
        theme: String::new(),
    };
    let meeting = store::create(&mut tx, org, &m, by, now).await.unwrap();
    store::add_attendee(&mut tx, meeting, &Attendee { user: Some(by), organisation: Some(org), name: String::new(), email: None, public: None, count: 1 })
        .await
        .unwrap();
    let esc = store::raise(&mut tx, org, Some(territory), EscalationKind::Other, "Matrice", by, now.plus_seconds(1800), &[by], now).await.unwrap();
    tx.commit().await.unwrap();
    BTreeMap::from([("meeting", meeting.to_string()), ("escalation", esc.to_string())])
}

async fn mails(app: &TestApp) -> Vec<(String, String, String)> {
    veille_storage::sqlx::query_as::<_, (String, String, String)>("SELECT to_address, subject, body_text FROM outbox ORDER BY created_at")
        .fetch_all(app.db().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cellule_reviews_a_case_its_decision_becomes_a_partners_action_and_minutes_tell_each_attendee_only_what_they_may_read() {
    let app = TestApp::new().await;
    let a = app.org("Mission coordination", true).await;
    let b = app.org("Association Nord", false).await;
    let coord_a = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    app.user(b, Role::Coordinator, "coord@b.exemple.fr", None, None).await;
    let mut c = app.session_for(coord_a, false).await;
    let r = c.post_json("/api/v1/cases", &serde_json::json!({"title": "Famille R., campement du canal"})).await;
    let case = r.json()["id"].as_str().unwrap().to_owned();
    let r = c.post("/meetings", &[("kind", "cellule"), ("title", "Cellule de veille du 18e"), ("starts_at", "2026-12-10T14:00"), ("minutes", "120")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let meeting = r.location().unwrap().trim_start_matches("/meetings/").to_owned();
    // The agenda suggests the case (no plan yet); it goes on the agenda.
    let page = c.get(&format!("/meetings/{meeting}")).await;
    assert!(page.body.contains("id=\"candidates\"") && page.body.contains("Famille R., campement du canal"), "{}", page.body);
    let r = c.post(&format!("/meetings/{meeting}/items"), &[("case_id", &case)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = c.post(&format!("/meetings/{meeting}/items"), &[("topic", "Point sur le plan grand froid")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    for (email, name) in [("coord@b.exemple.fr", ""), ("pass@hopital.exemple.fr", "PASS Lariboisière")] {
        let r = c.post(&format!("/meetings/{meeting}/attendees"), &[("email", email), ("name", name)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let detail = c.get(&format!("/api/v1/meetings/{meeting}")).await.json();
    let items = detail["agenda"].as_array().unwrap().clone();
    let case_item = items.iter().find(|i| i["case_id"] == case.as_str()).unwrap()["id"].as_str().unwrap().to_owned();
    let topic_item = items.iter().find(|i| i["case_id"].is_null()).unwrap()["id"].as_str().unwrap().to_owned();
    // The decision becomes an action owned by the PASS, which has no account: a link and a code.
    let r = c
        .post_json(
            &format!("/api/v1/meetings/{meeting}/record"),
            &serde_json::json!({"item_id": case_item, "notes": "Deux enfants, pas de droits ouverts.", "decision": "Ouvrir l'AME des enfants", "owner_name": "PASS Lariboisière", "due_on": "2026-12-20"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["link"]["code"].as_str().is_some_and(|c| c.len() == 6));
    let r = c
        .post_json(&format!("/api/v1/meetings/{meeting}/record"), &serde_json::json!({"item_id": topic_item, "decision": "Renfort des maraudes du soir"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let plan = c.get(&format!("/api/v1/cases/{case}")).await.json();
    let action = &plan["actions"][0];
    assert_eq!(action["title"], "Ouvrir l'AME des enfants");
    assert_eq!(action["owner_name"], "PASS Lariboisière");
    assert_eq!(action["has_link"], true);
    // Minutes: each attendee as they may read them.
    let r = c.post(&format!("/meetings/{meeting}/minutes"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let sent: Vec<_> = mails(&app).await.into_iter().filter(|m| m.1.starts_with("Compte rendu")).collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    let body_for = |to: &str| sent.iter().find(|m| m.0 == to).map(|m| m.2.clone()).unwrap();
    // No mail carries a case's detail, whoever receives it (no personal data in e-mails).
    for to in ["coord@a.exemple.fr", "coord@b.exemple.fr", "pass@hopital.exemple.fr"] {
        let body = body_for(to);
        assert!(!body.contains("Famille R.") && !body.contains("Deux enfants") && !body.contains("AME"), "{to}: {body}");
        assert!(body.contains("Situation examinée") && body.contains("Renfort des maraudes"), "{to}: {body}");
    }
    // Accounts get the link to the minutes page, where the case team reads the case.
    assert!(body_for("coord@a.exemple.fr").contains(&format!("/meetings/{meeting}/minutes")));
    assert!(!body_for("pass@hopital.exemple.fr").contains("/minutes"));
    let page = c.get(&format!("/meetings/{meeting}/minutes")).await.body;
    assert!(page.contains("Famille R., campement du canal") && page.contains("AME des enfants"), "{page}");
    // The other organisation's attendee reads the meeting, not the case.
    let b_coord = veille_storage::accounts::by_email(app.db(), &veille_domain::EmailAddress::parse("coord@b.exemple.fr").unwrap()).await.unwrap().unwrap();
    let mut cb = app.session_for(b_coord.id, false).await;
    let seen = cb.get(&format!("/api/v1/meetings/{meeting}")).await.json();
    assert!(seen["agenda"].as_array().unwrap().iter().any(|i| i["title"].is_null() && i["decision"].is_null()), "{seen}");
    assert_eq!(cb.get(&format!("/cases/{case}")).await.status, StatusCode::NOT_FOUND);
    // The calendar feed lists it.
    let ics = c.get("/meetings.ics").await;
    assert!(ics.body.contains("BEGIN:VEVENT") && ics.body.contains("Cellule de veille du 18e"));
}

#[tokio::test]
async fn a_health_session_counts_its_public_and_keeps_its_evaluation() {
    let app = TestApp::new().await;
    let a = app.org("Santé dans la rue", false).await;
    let fac = app.user(a, Role::HealthProfessional, "animatrice@a.exemple.fr", None, None).await;
    let mut c = app.session_for(fac, false).await;
    let r = c
        .post(
            "/meetings",
            &[("kind", "health_session"), ("title", "Réduction des risques : injection"), ("starts_at", "2026-12-11T10:00"), ("place", "Local CAARUD")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let meeting = r.location().unwrap().trim_start_matches("/meetings/").to_owned();
    let r = c.post(&format!("/meetings/{meeting}/attendees"), &[("public", "drug_users"), ("count", "abc")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"count-error\""));
    for (p, n) in [("drug_users", "12"), ("volunteers", "2")] {
        let r = c.post(&format!("/meetings/{meeting}/attendees"), &[("public", p), ("count", n)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    let r = c.post(&format!("/meetings/{meeting}/held"), &[("evaluation", "Bonne participation, demande d'une séance sur le crack."), ("version", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let minutes = c.get(&format!("/meetings/{meeting}/minutes")).await.body;
    assert!(minutes.contains("12 usagers de drogues") && minutes.contains("2 bénévoles") && minutes.contains("séance sur le crack"), "{minutes}");
}

#[tokio::test]
async fn an_unacknowledged_escalation_goes_up_a_level_after_its_deadline_and_never_to_nobody() {
    let app = TestApp::new().await;
    let a = app.org("Maraude Nord", false).await;
    let worker = app.user(a, Role::FieldWorker, "terrain@a.exemple.fr", None, None).await;
    let chief = app.user(a, Role::FieldWorker, "chef@a.exemple.fr", None, None).await;
    let coord = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    let mut c = app.session_for(worker, false).await;
    let r = c
        .post(
            "/escalations",
            &[
                ("kind", "person_in_danger"),
                ("summary", "Homme inconscient sous le pont, pompiers appelés"),
                ("recipients", "chef@a.exemple.fr"),
                ("ack_minutes", "15"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = r.location().unwrap().trim_start_matches("/escalations/").to_owned();
    let first: Vec<_> = mails(&app).await;
    assert_eq!(first.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(), vec!["chef@a.exemple.fr"]);
    assert!(!first[0].2.contains("inconscient"), "the mail tells the kind and the link, not what was typed");
    // Nothing moves before the deadline.
    app.state.clock.advance_seconds(10 * 60);
    assert_eq!(veille_app::escalations::escalate_overdue(&app.state).await.unwrap(), 0);
    // Past it, unacknowledged: the coordinators are alerted too, once.
    app.state.clock.advance_seconds(6 * 60);
    assert_eq!(veille_app::escalations::escalate_overdue(&app.state).await.unwrap(), 1);
    assert_eq!(veille_app::escalations::escalate_overdue(&app.state).await.unwrap(), 0, "a new deadline");
    let to: Vec<String> = mails(&app).await.into_iter().map(|m| m.0).collect();
    assert_eq!(to, vec!["chef@a.exemple.fr", "coord@a.exemple.fr"]);
    let mut boss = app.session_for(coord, false).await;
    let page = boss.get(&format!("/escalations/{id}")).await;
    assert!(page.body.contains("id=\"escalation-level\">2<"), "{}", page.body);
    let r = boss.post(&format!("/escalations/{id}/acknowledge"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.state.clock.advance_seconds(3600);
    assert_eq!(veille_app::escalations::escalate_overdue(&app.state).await.unwrap(), 0, "acknowledged: it stays");
    // Sessions end when idle: log in again.
    let mut boss = app.session_for(coord, false).await;
    let mut c = app.session_for(worker, false).await;
    let r = boss.post(&format!("/escalations/{id}/resolve"), &[("resolution", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = boss.post(&format!("/escalations/{id}/resolve"), &[("resolution", "Pris en charge par les pompiers.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Raised without a name: the organisation's coordinators; with nobody to alert at all: refused.
    let lone = app.org("Équipe seule", false).await;
    let alone = app.user(lone, Role::FieldWorker, "seul@l.exemple.fr", None, None).await;
    let mut s = app.session_for(alone, false).await;
    let r = s.post("/escalations", &[("kind", "team_threat"), ("summary", "Menaces")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Personne ne peut recevoir cette alerte"));
    let r = c.post("/escalations", &[("kind", "team_threat"), ("summary", "Menaces")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().unwrap().starts_with("/escalations/"));
    assert_eq!(mails(&app).await.last().unwrap().0, "coord@a.exemple.fr");
    let _ = chief;
}

/// The team safety rules an organisation writes are shown at round check-in
/// (its default text until it writes its own); the organisation page shows
/// both guidances in its body.
#[tokio::test]
async fn team_safety_rules_are_shown_at_round_check_in() {
    let app = TestApp::new().await;
    veille_web::demo::load_at(app.db(), app.state.clock.now()).await.unwrap();
    let email = |e: &str| veille_domain::EmailAddress::parse(e).unwrap();
    let worker = veille_storage::accounts::by_email(app.db(), &email("terrain@demo.veille.invalid")).await.unwrap().unwrap();
    let now = app.state.clock.now();
    let rounds =
        veille_storage::rounds::rounds_between(app.db(), &veille_storage::Scope::instance("test"), now.plus_seconds(-12 * 3600), now.plus_seconds(24 * 3600))
            .await
            .unwrap();
    let round = rounds.iter().find(|r| r.organisation == worker.organisation && r.status == "planned").expect("a planned round today");
    let mut w = app.session_for(worker.id, false).await;
    let page = w.get(&format!("/rounds/{}", round.id)).await;
    assert!(page.body.contains("id=\"safety-rules\"") && page.body.contains("Toujours à deux"), "the default rules");
    // The organisation writes its own (its administrator); the organisation page shows both sections in its body.
    let admin = app.user(worker.organisation, Role::OrgAdmin, "admin-nord@exemple.fr", None, None).await;
    let mut a = app.session_for(admin, false).await;
    let org_page = a.get(&format!("/organisations/{}", worker.organisation)).await;
    let title = org_page.body.split("</title>").next().unwrap().to_owned();
    assert!(!title.contains("<section"), "nothing but the name in the title");
    assert!(org_page.body.contains("id=\"child-protection\"") && org_page.body.contains("id=\"safety-rules\""), "{} {}", org_page.status, org_page.body);
    let r =
        a.post(&format!("/organisations/{}/safety-rules", worker.organisation), &[("safety_rules", "Pas de maraude sous le périphérique après 23 h.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = w.get(&format!("/rounds/{}", round.id)).await;
    assert!(page.body.contains("Pas de maraude sous le périphérique après 23 h.") && !page.body.contains("Toujours à deux"));
}

/// The minutes as PDF: each reader gets what it may read — the case team the
/// case (its pseudonym, notes, decision), an attendee of another
/// organisation without case access only that a situation was reviewed, by
/// PDF as by mail (read from a real SMTP server). The text is extractable
/// with its accents. The meeting's "who can see this" panel names who reads
/// the meeting and who reads each case on its agenda; the agenda, the meeting
/// held and the minutes sent through the API.
#[tokio::test]
async fn minutes_as_pdf_tell_each_reader_only_what_it_may_read_and_the_panel_says_who_reads_what() {
    let sink = crate::mail::SmtpSink::start();
    let app = TestApp::with_config(veille_web::Config { smtp_host: "127.0.0.1".into(), smtp_port: sink.port, ..veille_web::Config::default() }).await;
    let a = app.org("Mission coordination", true).await;
    let b = app.org("Association Nord", false).await;
    let coord_a = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    let coord_b = app.user(b, Role::Coordinator, "coord@b.exemple.fr", None, None).await;
    let mut c = app.session_for(coord_a, false).await;
    let r = c.post_json("/api/v1/people", &serde_json::json!({"pseudonym": "Éléonore Ștefănescu"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let person = r.json()["id"].as_str().unwrap().to_owned();
    let r = c.post_json("/api/v1/cases", &serde_json::json!({"origin": "person", "origin_id": person})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["title"], "Éléonore Ștefănescu", "a case opened from a person is titled with its pseudonym");
    let r = c.post_json("/api/v1/meetings", &serde_json::json!({"kind": "commission", "title": "Commission cas complexes de décembre", "starts_at": "2026-12-15T09:30", "place": "Hôtel de ville"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let meeting = r.json()["id"].as_str().unwrap().to_owned();
    for item in [serde_json::json!({"case_id": case}), serde_json::json!({"topic": "Bilan du plan grand froid"})] {
        let r = c.post_json(&format!("/api/v1/meetings/{meeting}/items"), &item).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = c.post_json(&format!("/api/v1/meetings/{meeting}/items"), &serde_json::json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a case or a topic");
    let r = c.post_json(&format!("/api/v1/meetings/{meeting}/attendees"), &serde_json::json!({"email": "coord@b.exemple.fr"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let detail = r.json();
    let items = detail["agenda"].as_array().unwrap().clone();
    let case_item = items.iter().find(|i| i["case_id"] == case.as_str()).unwrap()["id"].as_str().unwrap().to_owned();
    let r = c
        .post_json(
            &format!("/api/v1/meetings/{meeting}/record"),
            &serde_json::json!({"item_id": case_item, "notes": "Hébergement à l'hôtel refusé ; suivi psychiatrique à reprendre.", "decision": "Orientation vers l'équipe mobile psychiatrie-précarité"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = detail["meeting"]["version"].as_i64().unwrap().to_string();
    let r = c.post_json(&format!("/api/v1/meetings/{meeting}/held"), &serde_json::json!({"evaluation": "Quatre situations examinées.", "version": v})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["meeting"]["status"], "held");

    // The case team's PDF: the case, its notes and decision, accents and all.
    let r = c.get(&format!("/meetings/{meeting}/minutes.pdf")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/pdf");
    assert!(r.headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"compte-rendu-2026-12-15.pdf\""));
    // Lines wrap where the page is full: compare words.
    let flat = |t: String| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = flat(pdf_text(&r.bytes));
    for expected in [
        "Compte rendu : Commission cas complexes de décembre",
        "Hôtel de ville",
        "Éléonore Ștefănescu",
        "équipe mobile psychiatrie-précarité",
        "Bilan du plan grand froid",
        "Quatre situations examinées.",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    // The other organisation's attendee: the meeting, not the case.
    let mut cb = app.session_for(coord_b, false).await;
    let r = cb.get(&format!("/meetings/{meeting}/minutes.pdf")).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = flat(pdf_text(&r.bytes));
    assert!(text.contains("Situation examinée") && text.contains("Bilan du plan grand froid"), "{text}");
    for secret in ["Éléonore", "Ștefănescu", "psychiatri", "Hébergement à l'hôtel"] {
        assert!(!text.contains(secret), "{secret:?} in the PDF of who may not read the case:\n{text}");
    }
    // Reading the PDF is an audited read.
    let reads: i64 =
        veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'read' AND record_id = $1 AND detail LIKE '%minutes_pdf%'")
            .bind(&meeting)
            .fetch_one(app.db().pool())
            .await
            .unwrap();
    assert_eq!(reads, 2);
    // Nor does anyone outside the meeting get it.
    let outsider = app.user(b, Role::FieldWorker, "terrain@b.exemple.fr", None, None).await;
    let c_out = app.org("Troisième organisation", false).await;
    let third = app.user(c_out, Role::Coordinator, "coord@c.exemple.fr", None, None).await;
    assert_eq!(app.session_for(third, false).await.get(&format!("/meetings/{meeting}/minutes.pdf")).await.status, StatusCode::NOT_FOUND);
    let _ = outsider;

    // The mails: sent through the API, received by the SMTP server; none names the person.
    let r = c.post_json(&format!("/api/v1/meetings/{meeting}/minutes"), &serde_json::json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["sent"], 2);
    assert_eq!(veille_web::mail::send_due(&app.state).await.unwrap(), 2);
    let received: Vec<String> = sink.messages().iter().map(|m| crate::mail::decode(m)).collect();
    assert_eq!(received.len(), 2);
    for mail in &received {
        assert!(mail.contains("Situation examin") && mail.contains("Bilan du plan grand froid"), "{mail}");
        assert!(!mail.contains("Éléonore") && !mail.contains("Ștefănescu") && !mail.contains("psychiatri"), "{mail}");
    }
    assert!(received.iter().any(|m| m.contains("coord@b.exemple.fr")), "the attendee without case access is among them");

    // The panel: who reads the meeting (both organisations' coordinators), and who reads the case (A's only).
    let page = c.get(&format!("/meetings/{meeting}")).await.body;
    assert!(page.contains("id=\"who-can-see\"") && page.contains("id=\"case-panels\""), "{page}");
    let meeting_panel = page.split("id=\"who-can-see\"").nth(1).unwrap().split("id=\"case-panels\"").next().unwrap();
    assert!(meeting_panel.contains(&format!("data-user-id=\"{coord_a}\"")) && meeting_panel.contains(&format!("data-user-id=\"{coord_b}\"")));
    let case_panel = page.split("id=\"case-panels\"").nth(1).unwrap();
    assert!(case_panel.contains("Éléonore Ștefănescu") && case_panel.contains(&format!("data-user-id=\"{coord_a}\"")));
    assert!(!case_panel.contains(&format!("data-user-id=\"{coord_b}\"")), "B does not read the case");
    assert!(!case_panel.contains(&format!("data-user-id=\"{third}\"")));
    // B's page of the meeting has no case panel for a case it does not read.
    let page = cb.get(&format!("/meetings/{meeting}")).await.body;
    assert!(page.contains("id=\"who-can-see\"") && !page.contains("id=\"case-panels\"") && !page.contains("Ștefănescu"));
}
