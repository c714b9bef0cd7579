//! Neighbourhood work: a mediation recorded from a round's stop between a
//! relay of the contact book and a person met, its follow-up in the
//! coordinators' list; the contact book's restricted field group (who reads
//! it, every read audited, removal on request, never in exports to
//! services); a public report of a broken street light routed to the
//! lighting service's queue, answered through the service's link, the answer
//! read on the reporter's follow-up page; a service answering from its
//! own accounts told of each request of reports arriving together; logbooks, where the evening team's
//! handover is shown first to the next team at its check-in; the site
//! logbook moved into the logbooks by the migration; the JSON API.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use veille_domain::neighbourhood::{ContactRole, ServiceCategory};
use veille_domain::{FieldGroup, OrganisationId, Role, TeamId, TerritoryId, Timestamp, UserId};
use veille_storage::rounds::{self, NewRound, NewStop};
use veille_storage::sqlx;
use veille_storage::{neighbourhood as store, services, teams};

use crate::helpers::*;

/// A marker planted as the name of organisation A's contact in the
/// authorization matrix: only A's coordinator (and its API token) may see it.
pub const CONTACT_MARKER: &str = "Relais-Témoin-Matrice";

/// The objects of the authorization matrix for an organisation: a contact
/// (named `CONTACT_MARKER` with a suffix per organisation), a mediation
/// naming it, a city service it keeps, a request to it, a logbook entry.
pub async fn matrix_objects(app: &TestApp, org: OrganisationId, by: UserId, territory: TerritoryId, suffix: &str) -> BTreeMap<&'static str, String> {
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    let c = store::NewContact {
        territory: Some(territory),
        role: Some(ContactRole::Shopkeeper),
        name: format!("{CONTACT_MARKER}{suffix}"),
        structure: "Tabac".into(),
        place: "Rue".into(),
        point: None,
        phone: "0600000000".into(),
        email: String::new(),
        reach: String::new(),
    };
    let contact = store::create_contact(&mut tx, org, &c, now, by, now).await.unwrap();
    let m = store::NewMediation {
        territory: Some(territory),
        team: None,
        round: None,
        site: None,
        report: None,
        at: now,
        place: "Rue".into(),
        point: Some((2.05, 48.05)),
        subject: veille_domain::neighbourhood::MediationSubject::Noise,
        actions: "Échange".into(),
        outcome: veille_domain::neighbourhood::MediationOutcome::ToFollow,
        outcome_note: String::new(),
        follow_up_on: None,
        parties: vec![store::Party { role: veille_domain::neighbourhood::PartyRole::Shopkeeper, contact: Some(contact), person: None, count: 1 }],
    };
    let mediation = store::create_mediation(&mut tx, org, &m, by, now).await.unwrap();
    let s = services::NewCityService {
        name: format!("Éclairage {suffix}"),
        category: ServiceCategory::Lighting,
        territory: None,
        email: String::new(),
        member_organisation: None,
    };
    let service = services::create_service(&mut tx, org, &s, now).await.unwrap();
    let r = services::NewRequest {
        territory: Some(territory),
        service,
        category: ServiceCategory::Lighting,
        place: "Rue".into(),
        point: None,
        description: "Lampadaire".into(),
        urgency: veille_domain::neighbourhood::Urgency::Normal,
        origin_kind: "mediation",
        origin_id: Some(mediation.to_string()),
    };
    let request = services::create_request(&mut tx, org, &r, Some(by), now).await.unwrap();
    let team = teams::list(app.db(), Some(org)).await.unwrap().first().map(|t| t.id.to_string()).unwrap_or_default();
    let e = veille_storage::logbooks::NewEntry {
        organisation: org,
        territory: None,
        case: None,
        book_kind: veille_domain::neighbourhood::BookKind::Team,
        book_id: team,
        at: now,
        category: veille_domain::neighbourhood::LogCategory::Handover,
        body: "Transmission".into(),
        for_team: None,
        author: by,
        attachment: Some(veille_storage::logbooks::Attachment { name: "note.pdf".into(), content_type: "application/pdf".into(), bytes: b"%PDF-1.4".to_vec() }),
        mentions: Vec::new(),
    };
    let entry = veille_storage::logbooks::create(&mut tx, &e, now).await.unwrap();
    tx.commit().await.unwrap();
    BTreeMap::from([
        ("contact", contact.to_string()),
        ("mediation", mediation.to_string()),
        ("city_service", service.to_string()),
        ("service_request", request.to_string()),
        ("log_entry", entry.to_string()),
    ])
}

async fn grant_relays(app: &TestApp, user: UserId) {
    sqlx::query("INSERT INTO user_field_groups (user_id, field_group) VALUES ($1, $2)")
        .bind(user.to_string())
        .bind(FieldGroup::Relays.code())
        .execute(app.db().pool())
        .await
        .unwrap();
}

async fn audit_count(app: &TestApp, action: &str, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND record_kind = $2")
        .bind(action)
        .bind(kind)
        .fetch_one(app.db().pool())
        .await
        .unwrap()
}

/// An organisation with a mediation team of a coordinator and a mediator
/// (granted the relays field group), a round of that team started at a stop.
struct Mediation {
    app: TestApp,
    org: OrganisationId,
    other: OrganisationId,
    t1: TerritoryId,
    coordinator: UserId,
    mediator: UserId,
    field_worker: UserId,
    team: TeamId,
}

async fn mediation_world() -> Mediation {
    let app = TestApp::new().await;
    let org = app.org("Équipe de médiation", true).await;
    let other = app.org("Autre association", false).await;
    let t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let coordinator = app.user(org, Role::Coordinator, "coord@med.exemple.fr", None, None).await;
    let mediator = app.user(org, Role::FieldWorker, "mediateur@med.exemple.fr", None, None).await;
    grant_relays(&app, mediator).await;
    let field_worker = app.user(org, Role::FieldWorker, "terrain@med.exemple.fr", None, None).await;
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    let team = teams::create(&mut tx, org, "Médiation", "mediation", now).await.unwrap();
    for u in [coordinator, mediator, field_worker] {
        teams::add_member(&mut tx, team, u).await.unwrap();
    }
    tx.commit().await.unwrap();
    Mediation { app, org, other, t1, coordinator, mediator, field_worker, team }
}

async fn round_of(app: &TestApp, org: OrganisationId, team: TeamId, by: UserId, start: Timestamp, stops: &[NewStop]) -> veille_domain::RoundId {
    let mut tx = app.db().begin().await.unwrap();
    let r = NewRound { organisation: org, team, circuit: None, slot: None, territory: None, planned_start: start, planned_end: start.plus_seconds(3 * 3600) };
    let id = rounds::create_round(&mut tx, &r, stops, by, app.state.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn check_in(c: &mut Client, app: &TestApp, round: veille_domain::RoundId, members: &[UserId]) {
    let r = rounds::get_round(app.db(), &everything(), round).await.unwrap();
    let expected = app.state.clock.now().plus_seconds(3 * 3600).to_paris_input();
    let mut fields: Vec<(&str, String)> = members.iter().map(|m| ("members", m.to_string())).collect();
    fields.push(("expected_return", expected));
    fields.push(("version", r.version.to_string()));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = c.post(&format!("/rounds/{round}/check-in"), &pairs).await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
}

#[tokio::test]
async fn during_a_round_a_mediator_records_a_mediation_with_a_shopkeeper_of_the_contact_book_and_its_follow_up_reaches_the_coordinators_list() {
    let w = mediation_world().await;
    let mut coord = w.app.session_for(w.coordinator, false).await;
    // The coordinator keeps the contact book: a shopkeeper who agreed to be kept.
    let r =
        coord.post("/contacts", &[("role", "shopkeeper"), ("name", "Karim Témoin"), ("structure", "Tabac du carrefour"), ("phone", "06 12 34 56 78")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "consent is required");
    assert!(r.body.contains("consent-error") && r.body.contains("Tabac du carrefour"), "what was typed is kept");
    let r = coord
        .post(
            "/contacts",
            &[("role", "shopkeeper"), ("name", "Karim Témoin"), ("structure", "Tabac du carrefour"), ("phone", "06 12 34 56 78"), ("consent", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let contact = r.location().unwrap().trim_start_matches("/contacts/").to_owned();

    // A round of the team, out, with a stop.
    let now = w.app.state.clock.now();
    let stop = NewStop { site: None, report: None, label: "Carrefour des commerces".into(), point: Some((2.05, 48.05)) };
    let round = round_of(&w.app, w.org, w.team, w.coordinator, now, &[stop]).await;
    let mut med = w.app.session_for(w.mediator, false).await;
    check_in(&mut med, &w.app, round, &[w.mediator, w.coordinator]).await;
    let page = med.get(&format!("/rounds/{round}")).await.body;
    let stops = rounds::stops(w.app.db(), &everything(), round).await.unwrap();
    let action = format!("/mediations/new?round={round}&amp;stop={}", stops[0].id);
    assert!(page.contains(&action), "the stop offers a mediation: {page}");

    // The form, filled from the stop: its place, the contact book offered.
    let form = med.get(&format!("/mediations/new?round={round}&stop={}", stops[0].id)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Carrefour des commerces") && form.body.contains("Karim Témoin"), "{}", form.body);
    let follow = now.plus_seconds(3 * 86_400).paris_date().to_string();
    let fields = [
        ("round_id", round.to_string()),
        ("subject", "gatherings".into()),
        ("contact", contact.clone()),
        ("party_role", "person_met".into()),
        ("place", "Carrefour des commerces".into()),
        ("lon", "2.05".into()),
        ("lat", "48.05".into()),
        ("actions", "Échange devant le rideau, la personne accepte de s'éloigner aux heures d'ouverture.".into()),
        ("outcome", "partial".into()),
        ("follow_up_on", follow.clone()),
    ];
    // Without any party: refused, what was typed kept.
    let bare: Vec<(&str, &str)> = fields.iter().filter(|(k, _)| *k != "contact" && *k != "party_role").map(|(k, v)| (*k, v.as_str())).collect();
    let r = med.post("/mediations", &bare).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("party_role-error") && r.body.contains("Carrefour des commerces"), "what was typed is kept: {}", r.body);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = med.post("/mediations", &pairs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(format!("/rounds/{round}#mediations").as_str()));
    let page = med.get(&format!("/rounds/{round}")).await.body;
    assert!(page.contains("Regroupements"), "the round lists its mediation");
    let report = med.get(&format!("/rounds/{round}/report")).await.body;
    assert!(
        report.contains("report-mediation-records") && report.contains("Regroupements") && !report.contains("Karim Témoin"),
        "the daily report lists it by role"
    );

    // The coordinator's list: the follow-up date, the parties by role.
    let list = coord.get("/mediations").await;
    assert_eq!(list.status, StatusCode::OK);
    let follow_ups = crate::reports::section(&list.body, "follow-ups");
    let shown = veille_domain::shelter::Night::parse(&follow).unwrap().display();
    assert!(follow_ups.contains(&shown) && follow_ups.contains("Commerçant·e") && follow_ups.contains("Personne rencontrée"), "{follow_ups}");
    assert!(!follow_ups.contains("Karim Témoin"), "lists carry roles, not identities");
    // The API says the same.
    let api = coord.get("/api/v1/mediations").await.json();
    let f = &api["follow_ups"][0];
    assert_eq!(f["follow_up_on"], follow);
    assert_eq!(f["round_id"], round.to_string());
    assert_eq!(f["parties"][0]["role"], "shopkeeper");
    assert_eq!(f["parties"][0]["from_contact_book"], true);
    // The mediation page names the shopkeeper to who reads the contact book (audited).
    let id = f["id"].as_str().unwrap().to_owned();
    let before = audit_count(&w.app, "read", "contact").await;
    let page = coord.get(&format!("/mediations/{id}")).await.body;
    assert!(page.contains("Karim Témoin"));
    assert_eq!(audit_count(&w.app, "read", "contact").await, before + 1, "the identity shown is an audited read");
    // Follow-up done: it leaves the list.
    let version = f["version"].as_i64().unwrap().to_string();
    assert_eq!(coord.post(&format!("/mediations/{id}/follow-up-done"), &[("version", &version)]).await.status, StatusCode::SEE_OTHER);
    assert!(coord.get("/api/v1/mediations").await.json()["follow_ups"].as_array().unwrap().is_empty());
    // The JSON API records one too (a person met, no contact), 422 on bad input.
    let r = med
        .post_json(
            "/api/v1/mediations",
            &serde_json::json!({"subject": "noise", "outcome": "calmed", "parties": [{"role": "resident", "count": 3}], "lat": "48.05", "lon": "2.05"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["mediation"]["parties"][0]["count"], 3);
    let r = med.post_json("/api/v1/mediations", &serde_json::json!({"subject": "fireworks", "outcome": "calmed", "party_role": ["resident"]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["subject"].is_string());
}

#[tokio::test]
async fn contacts_identities_are_read_only_by_mediation_roles_and_coordinators_of_their_organisation_and_never_reach_exports_to_services() {
    let w = mediation_world().await;
    let org_admin = w.app.user(w.org, Role::OrgAdmin, "admin@med.exemple.fr", None, None).await;
    let health = w.app.user(w.org, Role::HealthProfessional, "sante@med.exemple.fr", None, None).await;
    let other_coord = w.app.user(w.other, Role::Coordinator, "coord@autre.exemple.fr", None, None).await;
    let mut med = w.app.session_for(w.mediator, false).await;
    let r = med
        .post_json("/api/v1/contacts", &serde_json::json!({"role": "caretaker", "name": "Mme Gardienne-Témoin", "structure": "Résidence des Lilas", "consent": "on", "lat": "48.05", "lon": "2.05"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let contact = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["territory_id"], w.t1.to_string(), "placed by its point");
    // Who reads it.
    for (who, expected) in [(w.mediator, StatusCode::OK), (w.coordinator, StatusCode::OK)] {
        let mut c = w.app.session_for(who, false).await;
        let r = c.get(&format!("/contacts/{contact}")).await;
        assert_eq!(r.status, expected);
        assert!(r.body.contains("Mme Gardienne-Témoin"));
        assert!(c.get("/contacts").await.body.contains("Mme Gardienne-Témoin"));
    }
    for who in [w.field_worker, org_admin, health] {
        let mut c = w.app.session_for(who, false).await;
        assert_eq!(c.get(&format!("/contacts/{contact}")).await.status, StatusCode::FORBIDDEN);
        assert_eq!(c.get("/contacts").await.status, StatusCode::FORBIDDEN);
        assert_eq!(c.get("/api/v1/contacts").await.status, StatusCode::FORBIDDEN);
    }
    let mut other = w.app.session_for(other_coord, false).await;
    assert_eq!(other.get(&format!("/contacts/{contact}")).await.status, StatusCode::NOT_FOUND, "another organisation's relay is not told");
    assert!(!other.get("/contacts").await.body.contains("Gardienne-Témoin"));
    // Every read is audited, lists naming the relays shown.
    let reads: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'read' AND record_kind = 'contact'").fetch_all(w.app.db().pool()).await.unwrap();
    assert!(reads.len() >= 4, "{reads:?}");
    assert!(reads.iter().all(|d| d.contains("relays")), "{reads:?}");

    // A mediation naming the relay: a field worker without the field group reads the role, never the name.
    let r = med
        .post_json("/api/v1/mediations", &serde_json::json!({"subject": "building_access", "outcome": "to_follow", "contact": [contact], "party_role": ["person_met"], "lat": "48.05", "lon": "2.05", "place": "Hall de la résidence"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mediation = r.json()["mediation"]["id"].as_str().unwrap().to_owned();
    let mut field = w.app.session_for(w.field_worker, false).await;
    let page = field.get(&format!("/mediations/{mediation}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Gardien·ne") && !page.body.contains("Gardienne-Témoin"), "{}", page.body);
    let api = field.get(&format!("/api/v1/mediations/{mediation}")).await.json();
    assert_eq!(api["mediation"]["parties"][0]["contact_name"], serde_json::Value::Null);
    // A field worker without the field group may not name a relay either.
    let r = field.post_json("/api/v1/mediations", &serde_json::json!({"subject": "noise", "outcome": "calmed", "contact": [contact]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A request to the cleaning service from that mediation, exported at the end of the month: no relay in it.
    let mut tx = w.app.db().begin().await.unwrap();
    let s = services::NewCityService {
        name: "Propreté".into(),
        category: ServiceCategory::Cleaning,
        territory: None,
        email: "proprete@ville.exemple.fr".into(),
        member_organisation: None,
    };
    let service = services::create_service(&mut tx, w.org, &s, w.app.state.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    let r = med
        .post_json("/api/v1/service-requests", &serde_json::json!({"category": "cleaning", "origin_kind": "mediation", "origin_id": mediation, "description": "Déchets dans le hall, à enlever.", "urgency": "urgent"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let sent = r.json();
    assert_eq!(sent["request"]["service_id"], service.to_string(), "the competent service");
    assert_eq!(sent["request"]["place"], "Hall de la résidence", "the mediation's place");
    assert!(sent["link"]["code"].as_str().unwrap().len() == 6, "a service without accounts: a link and a code, shown once");
    let mails = crate::reports::mails_to(&w.app, "proprete@ville.exemple.fr").await;
    assert!(
        mails.len() == 1 && mails[0].contains("/service-link/") && !mails[0].contains(sent["link"]["code"].as_str().unwrap()),
        "the link is mailed, never the code: {mails:?}"
    );
    let month = w.app.state.clock.now().paris_date().format("%Y-%m").to_string();
    let mut coord = w.app.session_for(w.coordinator, false).await;
    let csv = coord.get(&format!("/city-services/{service}/export.csv?month={month}")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("Déchets dans le hall") && csv.body.contains("Hall de la résidence"), "{}", csv.body);
    assert!(!csv.body.contains("Gardienne-Témoin") && !csv.body.contains("Lilas"), "no relay in an export to a service");
    let xlsx = coord.get_with(&format!("/city-services/{service}/export.xlsx?month={month}"), &[]).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert_eq!(xlsx.headers.get("content-type").unwrap(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let json = coord.get(&format!("/api/v1/city-services/{service}/export?month={month}")).await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.json().as_array().unwrap().len(), 1);
    assert!(!json.body.contains("Gardienne-Témoin"));
    assert_eq!(coord.get(&format!("/api/v1/city-services/{service}/export?month=2026-13")).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Removed on request: the identity goes, the mediation keeps the role.
    let before = audit_count(&w.app, "delete", "contact").await;
    assert_eq!(med.post(&format!("/contacts/{contact}/remove"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&w.app, "delete", "contact").await, before + 1);
    assert_eq!(med.get(&format!("/contacts/{contact}")).await.status, StatusCode::NOT_FOUND);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE name LIKE '%Gardienne-Témoin%'").fetch_one(w.app.db().pool()).await.unwrap();
    assert_eq!(left, 0);
    let api = med.get(&format!("/api/v1/mediations/{mediation}")).await.json();
    assert_eq!(api["mediation"]["parties"][0]["role"], "caretaker");
    assert_eq!(api["mediation"]["parties"][0]["from_contact_book"], false);
}

#[tokio::test]
async fn a_public_report_of_a_broken_street_light_reaches_the_lighting_service_which_answers_through_its_link_and_the_reporter_reads_the_answer() {
    let w = crate::reports::world().await;
    // A social team takes every report of the 18th: the street light must not go there.
    crate::reports_intake::route(&w, &[("territory", &w.t18.to_string()), ("situation", ""), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    // The city keeps its lighting service (no accounts: it answers through a link).
    let mut coord = w.app.session_for(w.coordinator, false).await;
    let r = coord.post("/city-services", &[("name", "Éclairage public Nord"), ("category", "lighting"), ("email", "eclairage@ville.exemple.fr")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let service = r.location().unwrap().trim_start_matches("/city-services/").to_owned();

    // The public reports a broken street light.
    let mut public = w.app.client();
    let form = public.get("/signaler").await.body;
    assert!(form.contains("Un éclairage public en panne"), "a situation type of the public form");
    let r = public
        .post(
            "/signaler",
            &[
                ("lat", crate::reports::IN_18TH.0),
                ("lon", crate::reports::IN_18TH.1),
                ("situation", "street_lighting"),
                ("description", "Le lampadaire au coin de la rue est éteint depuis trois jours."),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let follow = crate::reports::follow_link(&r.body);
    let report = crate::reports::only_report(&w).await;
    assert_eq!(report.team, None, "not sent to a social maraude");
    assert_eq!(report.organisation, Some(w.coord_org), "the organisation keeping the service");
    assert_eq!(report.status.code(), "assigned");
    // It is in the lighting service's queue.
    let queue = coord.get(&format!("/city-services/{service}")).await.body;
    let requests = services::requests(w.app.db(), &everything(), &services::RequestFilter::default(), 10).await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!((request.service.to_string(), request.origin_kind.as_str()), (service.clone(), "report"));
    assert!(crate::reports::section(&queue, "queue").contains(&format!("/service-requests/{}", request.id)), "{queue}");
    let api: Vec<serde_json::Value> = coord.get("/api/v1/service-requests").await.json().as_array().unwrap().clone();
    assert_eq!(api[0]["description"], "Le lampadaire au coin de la rue est éteint depuis trois jours.");

    // The coordinator sends the service its link; the code is given by phone.
    let r = coord.post(&format!("/service-requests/{}/link", request.id), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let grab = |id: &str| {
        let start = r.body.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
        r.body[start..].split('<').next().unwrap().to_owned()
    };
    let (url, code) = (grab("link-url"), grab("link-code"));
    let path = url.split_once("/service-link/").map(|(_, t)| format!("/service-link/{t}")).unwrap();
    let mails = crate::reports::mails_to(&w.app, "eclairage@ville.exemple.fr").await;
    assert!(mails.iter().any(|m| m.contains(&path)) && mails.iter().all(|m| !m.contains(&code)), "{mails:?}");

    // The service opens its link: a wrong code is counted, the right one opens it.
    let mut svc = w.app.client();
    svc.ip = "10.9.9.9:1".parse().unwrap();
    assert_eq!(svc.get(&path).await.status, StatusCode::OK);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = svc.post(&path, &[("code", wrong)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = svc.post(&path, &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("éteint depuis trois jours") && r.body.contains("Éclairage public Nord"), "{}", r.body);
    // Done without a word: refused, the reporter must read something.
    let r = svc.post(&path, &[("code", &code), ("status", "done"), ("answer", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("answer-error"));
    let r = svc.post(&path, &[("code", &code), ("status", "done"), ("answer", "Lampe remplacée le jour même, éclairage rétabli.")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"thanks\""));
    // Answered: the link is dead.
    assert_eq!(svc.get(&path).await.status, StatusCode::NOT_FOUND);

    // The request, the report and the reporter's follow-up page.
    let req = services::get_request(w.app.db(), &everything(), request.id).await.unwrap();
    assert_eq!((req.status.code(), req.answer.as_str()), ("done", "Lampe remplacée le jour même, éclairage rétabli."));
    let report = crate::reports::only_report(&w).await;
    assert_eq!(report.status.code(), "answered");
    let page = public.get(&follow).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Lampe remplacée le jour même") && page.body.contains("Éclairage public Nord"), "{}", page.body);
    let events = report_events(w.app.db(), report.id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "answer" && e.via.code() == "link"), "{events:?}");
    let details: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_log WHERE record_kind = 'service_request' AND action = 'update'")
        .fetch_all(w.app.db().pool())
        .await
        .unwrap();
    assert!(details.iter().any(|d| d.contains("service_link")), "{details:?}");
}

/// A service that answers from its own accounts (a landlord's technical
/// team with an account here) is told of each request a report makes at
/// intake, at once, by a mail linking to the request — also when several
/// reports arrive together and are written in one transaction with a report
/// for a social team (the intake's group commit, decision 97).
#[tokio::test]
async fn reports_arriving_together_tell_the_services_own_accounts_of_each_request() {
    let w = crate::reports::world().await;
    crate::reports_intake::route(&w, &[("territory", &w.t18.to_string()), ("situation", ""), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    let landlord = w.app.org("Bailleur Nord (exemple)", false).await;
    let keeper = w.app.user(landlord, Role::Coordinator, "technique@bailleur.exemple.fr", None, None).await;
    let mut coord = w.app.session_for(w.coordinator, false).await;
    let form = [
        ("name", "Éclairage des résidences"),
        ("category", "lighting"),
        ("email", "standard@bailleur.exemple.fr"),
        ("member_organisation_id", &landlord.to_string()),
    ];
    let r = coord.post("/city-services", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Two street lights and a person in distress, sent at the same moment from three addresses.
    let send = |ip: &'static str, situation: &'static str, description: &'static str| {
        let mut c = w.app.client();
        c.ip = ip.parse().unwrap();
        async move {
            let fields = [("lat", crate::reports::IN_18TH.0), ("lon", crate::reports::IN_18TH.1), ("situation", situation), ("description", description)];
            c.post("/signaler", &fields).await
        }
    };
    let (a, b, c) = tokio::join!(
        send("10.1.1.1:1", "street_lighting", "Le lampadaire du hall B est éteint."),
        send("10.1.1.2:1", "street_lighting", "Plus de lumière dans l'allée des garages."),
        send("10.1.1.3:1", "person_in_distress", "Un homme allongé devant le hall, il ne répond pas."),
    );
    for r in [&a, &b, &c] {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let requests = services::requests(w.app.db(), &everything(), &services::RequestFilter::default(), 10).await.unwrap();
    assert_eq!(requests.len(), 2, "one request per street light");
    let mails = crate::reports::mails_to(&w.app, "technique@bailleur.exemple.fr").await;
    for request in &requests {
        assert_eq!(request.origin_kind, "report");
        assert!(mails.iter().any(|m| m.contains(&format!("/service-requests/{}", request.id))), "the keeper is told of {}: {mails:?}", request.id);
    }
    assert!(crate::reports::mails_to(&w.app, "standard@bailleur.exemple.fr").await.is_empty(), "no link: the service answers from its accounts");
    assert_eq!(audit_count(&w.app, "create", "service_request").await, 2);
    // The keeper finds both in their queue; the social report went to the team, with no request.
    let mut k = w.app.session_for(keeper, false).await;
    let queue = k.get("/api/v1/service-requests").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert_eq!(queue.json().as_array().map(Vec::len), Some(2), "{}", queue.body);
    let all = veille_storage::reports::list(w.app.db(), &everything(), &Default::default(), 10).await.unwrap();
    let social = all.iter().find(|r| r.situations.iter().any(|s| s == "person_in_distress")).unwrap();
    assert_eq!(social.team, Some(w.normal_team));
    // Each request comes from its own street light's report (written with the
    // others of its group, whatever the group), with what that report said,
    // on both timelines.
    let mut origins = Vec::new();
    for request in &requests {
        let report = all.iter().find(|r| Some(r.id.to_string()) == request.origin_id).expect("the request names its report");
        assert!(report.situations.iter().any(|s| s == "street_lighting"), "{:?}", report.situations);
        assert_eq!(request.description, report.description);
        let on_report = crate::helpers::report_events(w.app.db(), report.id).await.unwrap();
        assert!(
            on_report.iter().any(|e| e.kind == "service_request" && e.to.as_deref() == Some("Éclairage des résidences")),
            "the report's timeline tells of its request: {on_report:?}"
        );
        let on_request = veille_storage::timeline::of(w.app.db(), veille_domain::records::RecordKind::ServiceRequest, request.id).await.unwrap();
        assert_eq!(on_request.first().map(|e| (e.kind.as_str(), e.to.as_deref())), Some(("created", Some("sent"))), "{on_request:?}");
        origins.push(report.id);
    }
    origins.sort();
    origins.dedup();
    assert_eq!(origins.len(), 2, "one request for each street light's report");
    assert!(crate::helpers::report_events(w.app.db(), social.id).await.unwrap().iter().all(|e| e.kind != "service_request"));
}

#[tokio::test]
async fn a_services_link_is_revoked_after_five_wrong_codes() {
    let w = mediation_world().await;
    let mut tx = w.app.db().begin().await.unwrap();
    let s = services::NewCityService {
        name: "Encombrants".into(),
        category: ServiceCategory::Waste,
        territory: None,
        email: String::new(),
        member_organisation: None,
    };
    services::create_service(&mut tx, w.org, &s, w.app.state.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    let mut med = w.app.session_for(w.mediator, false).await;
    let r = med
        .post_json("/api/v1/service-requests", &serde_json::json!({"category": "waste", "place": "Rue fictive", "description": "Un matelas sur le trottoir."}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let link = r.json()["link"].clone();
    let path = format!("/service-link/{}", link["url"].as_str().unwrap().rsplit('/').next().unwrap());
    let code = link["code"].as_str().unwrap().to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut svc = w.app.client();
    for _ in 0..5 {
        assert_eq!(svc.post(&path, &[("code", wrong)]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(svc.post(&path, &[("code", &code)]).await.status, StatusCode::NOT_FOUND, "revoked");
    // The mediator records the answer heard by phone instead; the refusal needs its reason.
    let id = r.json()["request"]["id"].as_str().unwrap().to_owned();
    let r = med.post_json(&format!("/api/v1/service-requests/{id}/answer"), &serde_json::json!({"status": "refused", "version": 1})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = med.post_json(&format!("/api/v1/service-requests/{id}/answer"), &serde_json::json!({"status": "acknowledged", "version": 1})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "acknowledged");
}

#[tokio::test]
async fn a_handover_written_by_the_evening_team_appears_first_for_the_next_team_at_its_check_in() {
    let w = mediation_world().await;
    let now = w.app.state.clock.now();
    let evening_a = w.mediator;
    let evening_b = w.app.user(w.org, Role::FieldWorker, "soir@med.exemple.fr", None, None).await;
    let morning_a = w.field_worker;
    let morning_b = w.app.user(w.org, Role::FieldWorker, "matin@med.exemple.fr", None, None).await;
    let mut tx = w.app.db().begin().await.unwrap();
    let evening = teams::create(&mut tx, w.org, "Maraude du soir", "social", now).await.unwrap();
    let morning = teams::create(&mut tx, w.org, "Maraude du matin", "social", now).await.unwrap();
    for u in [evening_a, evening_b] {
        teams::add_member(&mut tx, evening, u).await.unwrap();
    }
    for u in [morning_a, morning_b] {
        teams::add_member(&mut tx, morning, u).await.unwrap();
    }
    tx.commit().await.unwrap();
    // The morning team went out yesterday.
    let yesterday = round_of(&w.app, w.org, morning, w.coordinator, now.plus_seconds(-86_400), &[]).await;
    let r = rounds::get_round(w.app.db(), &everything(), yesterday).await.unwrap();
    let mut tx = w.app.db().begin().await.unwrap();
    rounds::check_in(&mut tx, &r, &[morning_a, morning_b], now.plus_seconds(-80_000), morning_a, r.version, now.plus_seconds(-86_400)).await.unwrap();
    tx.commit().await.unwrap();
    // The evening team's round tonight, and its handover for the next team.
    let evening_round = round_of(&w.app, w.org, evening, w.coordinator, now, &[]).await;
    let mut e = w.app.session_for(evening_a, false).await;
    check_in(&mut e, &w.app, evening_round, &[evening_a, evening_b]).await;
    let book = format!("/logbooks/team/{evening}");
    let r = e.post_multipart(&book, &[("category", "information"), ("body", "Information : le local ferme à 23 h.")], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = e
        .post_multipart(
            &book,
            &[
                ("category", "handover"),
                ("body", "Transmission : deux personnes au quai attendent un rendez-vous à l'accueil de jour."),
                ("mention", &morning_a.to_string()),
            ],
            Some(("attachment", "plan.pdf", b"%PDF-1.4 plan du quai")),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = e.post_multipart(&book, &[("category", "handover"), ("body", "")], None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an empty entry is refused");
    assert!(r.body.contains("body-error"));
    // The colleague mentioned is told by e-mail (a link, not the text).
    let mails = crate::reports::mails_to(&w.app, "terrain@med.exemple.fr").await;
    assert!(mails.len() == 1 && mails[0].contains(&book) && !mails[0].contains("accueil de jour"), "{mails:?}");

    // The morning team's next round: the handover comes first, before the check-in.
    w.app.state.clock.advance_seconds(8 * 3600);
    let next = round_of(&w.app, w.org, morning, w.coordinator, w.app.state.clock.now(), &[]).await;
    let mut m = w.app.session_for(morning_a, false).await;
    let page = m.get(&format!("/rounds/{next}")).await.body;
    let handovers = page.find("id=\"handovers\"").expect("a handover section");
    let check_in_form = page.find("/check-in").expect("the check-in form");
    assert!(handovers < check_in_form, "the handover is shown first");
    let section = crate::reports::section(&page, "handovers");
    assert!(section.contains("deux personnes au quai") && !section.contains("le local ferme"), "{section}");
    // Its logbook shows handovers first too, with the attachment (an audited read).
    let book_page = m.get(&book).await.body;
    assert!(book_page.find("deux personnes au quai").unwrap() < book_page.find("le local ferme").unwrap());
    let entry = veille_storage::logbooks::entries(w.app.db(), &everything(), &Default::default(), 10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.attachment.is_some())
        .unwrap();
    let a = m.get(&format!("/logbooks/entries/{}/attachment", entry.id)).await;
    assert_eq!((a.status, a.headers.get("content-type").unwrap().to_str().unwrap()), (StatusCode::OK, "application/pdf"));
    // Search and filter across books.
    let found = m.get("/logbooks?category=handover&q=quai").await.body;
    assert!(found.contains("deux personnes au quai") && !found.contains("le local ferme"));
    let mentioned = m.get("/logbooks?mentions=me").await.body;
    assert!(mentioned.contains("deux personnes au quai"));
    // The JSON API: the same book, handovers first.
    let api = m.get(&format!("/api/v1/logbooks/team/{evening}")).await.json();
    assert_eq!(api["handovers"].as_array().unwrap().len(), 1);
    assert_eq!(api["entries"].as_array().unwrap().len(), 1);
    // Once the morning team checked in, the next round of it does not show it again.
    check_in(&mut m, &w.app, next, &[morning_a, morning_b]).await;
    w.app.state.clock.advance_seconds(86_400);
    let after = round_of(&w.app, w.org, morning, w.coordinator, w.app.state.clock.now(), &[]).await;
    let mut m = w.app.session_for(morning_a, false).await;
    let page = m.get(&format!("/rounds/{after}")).await.body;
    assert!(!page.contains("deux personnes au quai"), "already handed over");
    // Another organisation's account does not read the team's book.
    let other = w.app.user(w.other, Role::Coordinator, "coord@autre.exemple.fr", None, None).await;
    let mut o = w.app.session_for(other, false).await;
    assert_eq!(o.get(&book).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_site_logbook_moves_into_the_logbooks_and_a_site_entry_is_read_by_every_organisation_that_reads_the_site() {
    // The migration: a database at 0014 with a site logbook entry on the timeline.
    let raw = TestDb::unmigrated().await;
    raw.db.migrate_until(14).await.unwrap();
    let now = Timestamp::from_micros(1_795_000_000_000_000);
    let org = veille_domain::OrganisationId::new();
    let user = UserId::new();
    let site = veille_domain::SiteId::new();
    let p = raw.db.pool();
    sqlx::query("INSERT INTO organisations (id, name, kind, coordinating, created_at, updated_at) VALUES ($1, 'Org', 'association', 0, $2, $2)")
        .bind(org.to_string())
        .bind(now.as_micros())
        .execute(p)
        .await
        .unwrap();
    sqlx::query("INSERT INTO users (id, organisation_id, email, display_name, role, created_at, updated_at) VALUES ($1, $2, 'u@exemple.fr', 'Une Autrice', 'field_worker', $3, $3)")
        .bind(user.to_string())
        .bind(org.to_string())
        .bind(now.as_micros())
        .execute(p)
        .await
        .unwrap();
    sqlx::query("INSERT INTO sites (id, organisation_id, name, kind, lon, lat, created_at, updated_at) VALUES ($1, $2, 'Quai', 'camp', 2.05, 48.05, $3, $3)")
        .bind(site.to_string())
        .bind(org.to_string())
        .bind(now.as_micros())
        .execute(p)
        .await
        .unwrap();
    for (kind, detail) in [("log", "Le point d'eau est fermé."), ("observed", "")] {
        sqlx::query(
            "INSERT INTO timeline (id, record_kind, record_id, at, actor_user_id, actor_organisation_id, via, kind, detail) VALUES ($1, 'site', $2, $3, $4, $5, 'staff', $6, $7)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(site.to_string())
        .bind(now.as_micros())
        .bind(user.to_string())
        .bind(org.to_string())
        .bind(kind)
        .bind(detail)
        .execute(p)
        .await
        .unwrap();
    }
    raw.db.migrate().await.unwrap();
    let entries = veille_storage::logbooks::entries(&raw.db, &everything(), &Default::default(), 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(
        (e.book_kind.code(), e.book_id.as_str(), e.body.as_str(), e.author, e.author_name.as_str()),
        ("site", site.to_string().as_str(), "Le point d'eau est fermé.", Some(user), "Une Autrice")
    );
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM timeline WHERE record_id = $1").bind(site.to_string()).fetch_all(p).await.unwrap();
    assert_eq!(kinds, vec!["observed".to_string()], "the logbook left the history");

    // On a running instance: the site page's logbook form writes into the site's book,
    // which every organisation going out on the site's territory reads.
    let w = mediation_world().await;
    let site = crate::sites::site_at(&w.app, w.org, w.coordinator, "Campement du quai", 2.05, 48.05).await;
    let mut c = w.app.session_for(w.field_worker, false).await;
    let r = c.post(&format!("/sites/{site}/log"), &[("body", "Deux tentes de plus ce soir.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.post(&format!("/sites/{site}/log"), &[("body", "  ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("log-error"));
    let other_field = w.app.user(w.other, Role::FieldWorker, "terrain@autre.exemple.fr", None, None).await;
    let mut o = w.app.session_for(other_field, false).await;
    assert!(o.get(&format!("/sites/{site}")).await.body.contains("Deux tentes de plus ce soir."));
    let r = o.post_multipart(&format!("/logbooks/site/{site}"), &[("category", "visit"), ("body", "Passage de notre équipe, calme.")], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let book = c.get(&format!("/logbooks/site/{site}")).await.body;
    assert!(book.contains("Passage de notre équipe") && book.contains("Deux tentes de plus"));
}

#[tokio::test]
async fn places_of_recurring_tension_come_from_mediations_and_reports_with_their_history() {
    let w = mediation_world().await;
    for subject in ["noise", "gatherings", "used_material"] {
        let mut med = w.app.session_for(w.mediator, false).await;
        let r = med
            .post_json(
                "/api/v1/mediations",
                &serde_json::json!({"subject": subject, "outcome": "calmed", "party_role": ["resident"], "lat": "48.0500", "lon": "2.0500"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        w.app.state.clock.advance_seconds(86_400);
    }
    // One far away: not a place of recurring tension.
    let mut med = w.app.session_for(w.mediator, false).await;
    let r = med
        .post_json(
            "/api/v1/mediations",
            &serde_json::json!({"subject": "noise", "outcome": "calmed", "party_role": ["resident"], "lat": "48.0900", "lon": "2.0900"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut med = w.app.session_for(w.mediator, false).await;
    let places = med.get("/api/v1/tension-places").await.json();
    assert_eq!(places.as_array().unwrap().len(), 1, "{places}");
    assert_eq!(places[0]["mediations"], 3);
    assert_eq!(places[0]["events"][0]["codes"][0], "used_material", "newest first");
    let page = med.get("/tension").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("3 médiations") && page.body.contains("Matériel usagé"), "{}", page.body);
    let geo = med.get("/tension.geojson").await.json();
    assert_eq!(geo["features"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_request_sent_from_its_page_carries_photos_without_their_metadata_to_the_services_link() {
    let w = mediation_world().await;
    let mut tx = w.app.db().begin().await.unwrap();
    let s = services::NewCityService {
        name: "Mobilier urbain".into(),
        category: ServiceCategory::Equipment,
        territory: None,
        email: String::new(),
        member_organisation: None,
    };
    services::create_service(&mut tx, w.org, &s, w.app.state.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    let mut med = w.app.session_for(w.mediator, false).await;
    let fields = [("category", "equipment"), ("place", "Banc de la placette"), ("description", "Banc arraché, ferraille coupante."), ("urgency", "immediate")];
    // Not an image: refused, what was typed kept.
    let r = med.post_multipart("/service-requests", &fields, Some(("photo", "note.pdf", b"%PDF-1.7 not an image"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("photo-error") && r.body.contains("Banc arraché"), "{}", r.body);
    let photo = crate::reports_intake::jpeg_with_exif();
    let r = med.post_multipart("/service-requests", &fields, Some(("photo", "banc.jpg", &photo))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body.contains("id=\"link-code\""), "the code is shown once to the sender");
    let request = services::requests(w.app.db(), &everything(), &services::RequestFilter::default(), 10).await.unwrap().remove(0);
    assert_eq!(request.urgency.code(), "immediate");
    let stored = services::photos(w.app.db(), request.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!String::from_utf8_lossy(&stored[0].bytes).contains("GPS-SECRET"), "the metadata is gone");
    let grab = |id: &str| {
        let start = r.body.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
        r.body[start..].split('<').next().unwrap().to_owned()
    };
    let (url, code) = (grab("link-url"), grab("link-code"));
    let path = format!("/service-link/{}", url.rsplit('/').next().unwrap());
    let mut svc = w.app.client();
    let page = svc.post(&path, &[("code", &code)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data:image/jpeg;base64,") && page.body.contains("Banc arraché"), "{}", page.body);
    assert!(!page.body.contains("GPS-SECRET"));
}
