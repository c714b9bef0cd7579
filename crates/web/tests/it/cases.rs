//! Complex cases: a partner on one case reads that case and its plan only,
//! in pages, API and exports (the minutes of a meeting reviewing both); an
//! action owned by a partner without accounts is done through its link with
//! the code given orally (attempts limited even when concurrent); health
//! evaluations stay with health professionals; the case
//! closes with an outcome and reopens. Fresh database per test, both engines.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use veille_domain::cases::CaseOrigin;
use veille_domain::{OrganisationId, Role, TerritoryId, UserId};
use veille_storage::cases::{self as store, NewCase};

use crate::helpers::*;

/// The case of one organisation in the matrix world (its coordinator leads it).
pub async fn matrix_objects(app: &TestApp, org: OrganisationId, lead: UserId, territory: TerritoryId) -> BTreeMap<&'static str, String> {
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    let new = NewCase { territory: Some(territory), title: "Situation matrice".into(), origin: CaseOrigin::Direct, origin_id: None, review_on: None };
    let id = store::create(&mut tx, org, &new, lead, now).await.unwrap();
    tx.commit().await.unwrap();
    BTreeMap::from([("case", id.to_string())])
}

struct World {
    app: TestApp,
    coord_a: UserId,
    field_a: UserId,
    nurse_a: UserId,
    partner_p: UserId,
    coord_b: UserId,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let a = app.org("Mission coordination", true).await;
    let p = app.org("CSAPA partenaire", false).await;
    let b = app.org("Association Nord", false).await;
    let coord_a = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    let field_a = app.user(a, Role::FieldWorker, "terrain@a.exemple.fr", None, Some(vec![t1])).await;
    let nurse_a = app.user(a, Role::HealthProfessional, "infirmier@a.exemple.fr", None, None).await;
    let partner_p = app.user(p, Role::Partner, "accueil@p.exemple.fr", None, None).await;
    let coord_b = app.user(b, Role::Coordinator, "coord@b.exemple.fr", None, None).await;
    World { app, coord_a, field_a, nurse_a, partner_p, coord_b }
}

async fn open_case(c: &mut Client, title: &str) -> String {
    let r = c.post_json("/api/v1/cases", &serde_json::json!({"title": title})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_partner_on_one_case_reads_that_case_only_in_pages_and_api() {
    let w = world().await;
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let one = open_case(&mut coord, "Famille R., campement du canal").await;
    let two = open_case(&mut coord, "Monsieur T., square").await;
    let r = coord.post(&format!("/cases/{one}/members"), &[("email", "accueil@p.exemple.fr")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = coord.post_json(&format!("/api/v1/cases/{one}/actions"), &serde_json::json!({"title": "Rendez-vous CSAPA", "owner_organisation_id": ""})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an action needs an owner: {}", r.body);
    let mut partner = w.app.session_for(w.partner_p, false).await;
    // Its case: page and API.
    let page = partner.get(&format!("/cases/{one}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Famille R., campement du canal"));
    assert_eq!(partner.get(&format!("/api/v1/cases/{one}")).await.status, StatusCode::OK);
    // Not the other one, nor in the list.
    assert_eq!(partner.get(&format!("/cases/{two}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(partner.get(&format!("/api/v1/cases/{two}")).await.status, StatusCode::NOT_FOUND);
    let listed = partner.get("/api/v1/cases").await.json();
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![one.as_str()]);
    assert!(!partner.get("/cases").await.body.contains("Monsieur T."));
    // A field worker of the lead organisation who is not on the team does not read it; once added, does.
    let mut field = w.app.session_for(w.field_a, false).await;
    assert_eq!(field.get(&format!("/cases/{one}")).await.status, StatusCode::NOT_FOUND);
    let r = coord.post(&format!("/cases/{one}/members"), &[("email", "terrain@a.exemple.fr")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut field = w.app.session_for(w.field_a, false).await;
    assert_eq!(field.get(&format!("/cases/{one}")).await.status, StatusCode::OK);
    // Another organisation's coordinator reads neither; the "who can see" panel names the partner.
    let mut other = w.app.session_for(w.coord_b, false).await;
    assert_eq!(other.get(&format!("/api/v1/cases/{one}")).await.status, StatusCode::NOT_FOUND);
    let page = coord.get(&format!("/cases/{one}")).await;
    assert!(page.body.contains("CSAPA partenaire"), "the team and the panel name the partner");
    // Health evaluations: written and read by health professionals only.
    let r = coord.post(&format!("/cases/{one}/evaluations"), &[("domain", "health"), ("body", "Suivi VHC à reprendre")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = coord.post(&format!("/cases/{one}/members"), &[("email", "infirmier@a.exemple.fr")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut nurse = w.app.session_for(w.nurse_a, false).await;
    let r = nurse.post(&format!("/cases/{one}/evaluations"), &[("domain", "health"), ("body", "Suivi VHC à reprendre")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = coord.post(&format!("/cases/{one}/evaluations"), &[("domain", "rights"), ("body", "Domiciliation à faire")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(nurse.get(&format!("/cases/{one}")).await.body.contains("Suivi VHC"));
    for c in [&mut coord, &mut partner] {
        let body = c.get(&format!("/cases/{one}")).await.body;
        assert!(!body.contains("Suivi VHC") && body.contains("Domiciliation"), "health evaluation hidden from non-health roles");
    }
    // Exports: a cellule reviewing both cases, the partner attending; its minutes (page and PDF) hold its case only.
    let r = coord.post_json("/api/v1/meetings", &serde_json::json!({"kind": "cellule", "title": "Cellule du jeudi", "starts_at": "2026-12-10T14:00"})).await;
    let meeting = r.json()["id"].as_str().unwrap().to_owned();
    for item in [serde_json::json!({"case_id": one}), serde_json::json!({"case_id": two}), serde_json::json!({"topic": "Point divers"})] {
        assert_eq!(coord.post_json(&format!("/api/v1/meetings/{meeting}/items"), &item).await.status, StatusCode::OK);
    }
    assert_eq!(
        coord.post_json(&format!("/api/v1/meetings/{meeting}/attendees"), &serde_json::json!({"email": "accueil@p.exemple.fr"})).await.status,
        StatusCode::OK
    );
    let pdf = partner.get(&format!("/meetings/{meeting}/minutes.pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    let text = pdf_text(&pdf.bytes).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Famille R., campement du canal") && text.contains("Situation examinée") && !text.contains("Monsieur T."), "{text}");
    let page = partner.get(&format!("/meetings/{meeting}/minutes")).await.body;
    assert!(page.contains("Famille R., campement du canal") && !page.contains("Monsieur T."));
    let api = partner.get(&format!("/api/v1/meetings/{meeting}")).await.body;
    assert!(!api.contains("Monsieur T.") && !api.contains(&two), "{api}");
}

#[tokio::test]
async fn an_action_owned_by_a_partner_without_accounts_is_done_through_its_link_and_the_case_closes() {
    let w = world().await;
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let case = open_case(&mut coord, "Famille R., campement du canal").await;
    let r = coord
        .post_json(
            &format!("/api/v1/cases/{case}/actions"),
            &serde_json::json!({"title": "Ouvrir les droits AME", "owner_name": "PASS de l'hôpital Lariboisière", "owner_email": "pass@hopital.exemple.fr", "due_on": "2030-01-10"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let added = r.json();
    let (url, code) = (added["link"]["url"].as_str().unwrap().to_owned(), added["link"]["code"].as_str().unwrap().to_owned());
    let token = url.rsplit('/').next().unwrap().to_owned();
    // The partner's mail holds the link, nothing about the case or the people.
    let mails = veille_storage::sqlx::query_as::<_, (String, String)>("SELECT to_address, body_text FROM outbox").fetch_all(w.app.db().pool()).await.unwrap();
    let (_, body) = mails.iter().find(|(to, _)| to == "pass@hopital.exemple.fr").expect("the partner is mailed its link");
    assert!(body.contains(&token) && !body.contains("Famille R.") && !body.contains(&code), "{body}");
    // Twenty wrong codes at once: five are evaluated, then even the right code is refused.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut c = w.app.client();
        let path = format!("/action-link/{token}");
        tasks.push(tokio::spawn(async move { c.post(&path, &[("code", &format!("{:06}", 100 + i))]).await.status }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let aid: veille_domain::ActionId = added["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(veille_storage::actions::link_failures(w.app.db(), aid).await.unwrap(), 5, "exactly five attempts were let through");
    let mut partner = w.app.client();
    let r = partner.post(&format!("/action-link/{token}"), &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the link is locked after five wrong codes");
    // A new action gets a fresh link; the right code opens it and the partner marks it done.
    let r = coord.post_json(&format!("/api/v1/cases/{case}/actions"), &serde_json::json!({"title": "Rendez-vous PASS", "owner_name": "PASS"})).await;
    let added = r.json();
    let (url, code) = (added["link"]["url"].as_str().unwrap().to_owned(), added["link"]["code"].as_str().unwrap().to_owned());
    let path = format!("/action-link/{}", url.rsplit('/').next().unwrap());
    assert_eq!(partner.get(&path).await.status, StatusCode::OK);
    let r = partner.post(&path, &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Rendez-vous PASS") && !r.body.contains("Famille R."), "the link shows the action, not the case");
    let r = partner.post(&path, &[("code", &code), ("status", "done"), ("result", "Vu le 12, droits ouverts.")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"thanks\""));
    let detail = coord.get(&format!("/api/v1/cases/{case}")).await.json();
    let done = detail["actions"].as_array().unwrap().iter().find(|a| a["title"] == "Rendez-vous PASS").unwrap().clone();
    assert_eq!(done["status"], "done");
    assert_eq!(done["result"], "Vu le 12, droits ouverts.");
    // A done action's link no longer opens.
    assert_eq!(partner.get(&path).await.status, StatusCode::NOT_FOUND);
    // The case closes with an outcome, then reopens.
    let v = detail["case"]["version"].as_i64().unwrap().to_string();
    let r = coord.post(&format!("/cases/{case}/close"), &[("outcome", ""), ("version", &v)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = coord.post(&format!("/cases/{case}/close"), &[("outcome", "sheltered"), ("version", &v)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let c = coord.get(&format!("/api/v1/cases/{case}")).await.json();
    assert_eq!(c["case"]["status"], "closed");
    assert_eq!(c["case"]["outcome"], "sheltered");
    let page = coord.get(&format!("/cases/{case}")).await.body;
    assert!(page.contains("Clôture") && page.contains("Action : changement d"), "the timeline tells it");
    let v = c["case"]["version"].as_i64().unwrap().to_string();
    let r = coord.post(&format!("/cases/{case}/reopen"), &[("version", &v)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(coord.get(&format!("/api/v1/cases/{case}")).await.json()["case"]["status"], "open");
}

#[tokio::test]
async fn a_case_opens_from_a_level_two_report_and_the_report_says_so() {
    let w = world().await;
    let intake = veille_app::reports::Intake {
        source: veille_domain::reports::Source::Riverain,
        channel: veille_domain::reports::Channel::Web,
        point: Some(veille_geo::LonLat::new(2.05, 48.05).unwrap()),
        address: "Rue des Essais".into(),
        adults: 2,
        children: 2,
        ..Default::default()
    };
    let report = veille_app::reports::receive(&w.app.state, &intake, None).await.unwrap();
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let r = coord.post("/cases", &[("origin", "report"), ("origin_id", &report.id.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let case = r.location().unwrap().trim_start_matches("/cases/").to_owned();
    let c = coord.get(&format!("/api/v1/cases/{case}")).await.json();
    assert_eq!(c["case"]["origin"], "report");
    assert!(c["case"]["title"].as_str().unwrap().contains(&report.reference));
    let events = veille_storage::timeline::of(w.app.db(), veille_domain::records::RecordKind::Report, report.id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "case" && e.to.as_deref() == Some(case.as_str())));
    // An unknown origin is refused next to its field, what was typed kept.
    let r = coord.post("/cases", &[("origin", "report"), ("origin_id", "not-a-report"), ("title", "Essai")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"origin_id-error\"") && r.body.contains("value=\"Essai\""));
}

#[tokio::test]
async fn an_overdue_action_of_a_plan_alerts_the_case_lead_once() {
    let w = world().await;
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let case = open_case(&mut coord, "Monsieur T., square").await;
    let tomorrow = veille_domain::shelter::Night::at(w.app.state.clock.now()).plus(1).iso();
    let r = coord
        .post_json(&format!("/api/v1/cases/{case}/actions"), &serde_json::json!({"title": "Rendez-vous CMP", "owner_name": "CMP", "due_on": tomorrow}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let lead_mails = || async {
        veille_storage::sqlx::query_scalar::<_, String>("SELECT body_text FROM outbox WHERE to_address = 'coord@a.exemple.fr'")
            .fetch_all(w.app.db().pool())
            .await
            .unwrap()
    };
    assert_eq!(veille_app::escalations::alert_overdue_actions(&w.app.state).await.unwrap(), 0, "not due yet");
    w.app.state.clock.advance_seconds(2 * 86_400);
    assert_eq!(veille_app::escalations::alert_overdue_actions(&w.app.state).await.unwrap(), 1);
    assert_eq!(veille_app::escalations::alert_overdue_actions(&w.app.state).await.unwrap(), 0, "once");
    let mails = lead_mails().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains(&case) && !mails[0].contains("Monsieur T."), "a link, no name: {}", mails[0]);
}

/// The action plan through the API and the case page: the open actions the
/// caller reads (a partner on one case sees that case's only), one action,
/// its status moved on (a stale version is refused), back to the case's plan
/// from the page; a case closed through the API.
#[tokio::test]
async fn actions_move_on_through_the_api_and_the_case_page_and_a_partner_reads_its_cases_actions_only() {
    let w = world().await;
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let one = open_case(&mut coord, "Famille R., campement du canal").await;
    let two = open_case(&mut coord, "Monsieur T., square").await;
    let r = coord.post(&format!("/cases/{one}/members"), &[("email", "accueil@p.exemple.fr")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let yesterday = veille_domain::shelter::Night::at(w.app.state.clock.now()).plus(-1).iso();
    let mut ids = Vec::new();
    for (case, title) in [(&one, "Domiciliation CCAS"), (&two, "Rendez-vous CMP")] {
        let r =
            coord.post_json(&format!("/api/v1/cases/{case}/actions"), &serde_json::json!({"title": title, "owner_name": "CCAS", "due_on": yesterday})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let listed = coord.get("/api/v1/actions").await.json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(listed.as_array().unwrap().iter().all(|a| a["overdue"] == true));
    // The partner on case one: its action, not case two's.
    let mut partner = w.app.session_for(w.partner_p, false).await;
    let listed = partner.get("/api/v1/actions").await.json();
    let seen: Vec<&str> = listed.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(seen, vec![ids[0].as_str()]);
    assert_eq!(partner.get(&format!("/api/v1/actions/{}", ids[0])).await.json()["case_id"], one.as_str());
    assert_eq!(partner.get(&format!("/api/v1/actions/{}", ids[1])).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        partner.post_json(&format!("/api/v1/actions/{}/status", ids[1]), &serde_json::json!({"status": "done", "version": "1"})).await.status,
        StatusCode::NOT_FOUND
    );
    // Moved on through the API; an unknown status is told; a stale version is refused.
    let r = coord.post_json(&format!("/api/v1/actions/{}/status", ids[0]), &serde_json::json!({"status": "finished", "version": "1"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = coord
        .post_json(&format!("/api/v1/actions/{}/status", ids[0]), &serde_json::json!({"status": "in_progress", "result": "Dossier déposé", "version": "1"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "in_progress");
    assert_eq!(r.json()["result"], "Dossier déposé");
    let r = coord.post_json(&format!("/api/v1/actions/{}/status", ids[0]), &serde_json::json!({"status": "done", "version": "1"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // From the case page: back to the plan; the timeline tells it.
    let v = coord.get(&format!("/api/v1/actions/{}", ids[0])).await.json()["version"].as_i64().unwrap().to_string();
    let r = coord.post(&format!("/actions/{}", ids[0]), &[("status", "done"), ("result", "Domiciliation obtenue"), ("version", &v)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(format!("/cases/{one}#plan").as_str()));
    let page = coord.get(&format!("/cases/{one}")).await.body;
    assert!(page.contains("data-status=\"done\"") && page.contains("Domiciliation obtenue"));
    assert_eq!(coord.get("/api/v1/actions").await.json().as_array().unwrap().len(), 1, "a done action is no longer open");
    // Closed through the API, with the version read.
    let c = coord.get(&format!("/api/v1/cases/{two}")).await.json();
    let v = c["case"]["version"].as_i64().unwrap().to_string();
    let r = coord.post_json(&format!("/api/v1/cases/{two}/close"), &serde_json::json!({"outcome": "left", "version": v})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = coord.post_json(&format!("/api/v1/cases/{two}/close"), &serde_json::json!({"outcome": "left_territory", "version": v})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "closed");
    assert_eq!(r.json()["outcome"], "left_territory");
}
