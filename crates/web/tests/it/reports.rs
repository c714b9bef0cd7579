//! Signalements end to end: public form, triage, routing on the real Paris
//! polygons, staff page (notes, status, level override, public answer), the
//! follow-up page and the reporter's e-mails.

use axum::http::StatusCode;
use veille_domain::{Role, TeamId, TerritoryId};
use veille_storage::reports::{self, Report};
use veille_storage::sqlx::{self, Row};
use veille_storage::teams;

use crate::helpers::*;

const PARIS: &str = include_str!("../../../../../shared/data/geo/paris-arrondissements.geojson");

/// In the 18th arrondissement (75118).
pub(crate) const IN_18TH: (&str, &str) = ("48.8880", "2.3600");

pub(crate) struct World {
    pub app: TestApp,
    pub coord_org: veille_domain::OrganisationId,
    pub field_org: veille_domain::OrganisationId,
    pub complex_team: TeamId,
    pub normal_team: TeamId,
    pub t18: TerritoryId,
    pub admin: veille_domain::UserId,
    pub coordinator: veille_domain::UserId,
    pub field_coordinator: veille_domain::UserId,
}

pub(crate) async fn world() -> World {
    let app = TestApp::new().await;
    let coord_org = app.org("Ville de Paris", true).await;
    let field_org = app.org("Maraude Nord", false).await;
    let now = app.state.clock.now();
    veille_web::territories::import(app.db(), PARIS, "code", "nom", None, now).await.unwrap();
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let t18 = veille_storage::territories::id_by_code(app.db(), "75118").await.unwrap().unwrap();
    let mut tx = app.db().begin().await.unwrap();
    let complex_team = teams::create(&mut tx, field_org, "Nord situations complexes", "social", now).await.unwrap();
    let normal_team = teams::create(&mut tx, field_org, "Nord jour", "social", now).await.unwrap();
    tx.commit().await.unwrap();
    let admin = app.user(coord_org, Role::InstanceAdmin, "admin@ville.exemple.fr", None, None).await;
    let coordinator = app.user(coord_org, Role::Coordinator, "coord@ville.exemple.fr", None, None).await;
    let field_coordinator = app.user(field_org, Role::Coordinator, "coord@nord.exemple.fr", None, None).await;
    World { app, coord_org, field_org, complex_team, normal_team, t18, admin, coordinator, field_coordinator }
}

/// The confirmation code in the acknowledgement mail (from the outbox).
async fn mailed_code(app: &TestApp) -> String {
    let body: String = sqlx::query_scalar("SELECT body_text FROM outbox ORDER BY created_at, id LIMIT 1").fetch_one(app.db().pool()).await.unwrap();
    let after = body.split("page de suivi : ").nth(1).expect("a confirmation code");
    after.split_whitespace().next().unwrap().to_owned()
}

pub(crate) fn follow_link(body: &str) -> String {
    let start = body.find("/suivi/").expect("a follow-up link");
    body[start..].split('"').next().unwrap().to_owned()
}

pub(crate) async fn only_report(w: &World) -> Report {
    let all = reports::list(w.app.db(), &everything(), &Default::default(), 10).await.unwrap();
    assert_eq!(all.len(), 1);
    all.into_iter().next().unwrap()
}

pub(crate) async fn submit(c: &mut Client, extra: &[(&str, &str)]) -> Resp {
    let mut fields =
        vec![("lat", IN_18TH.0), ("lon", IN_18TH.1), ("situation", "person_in_distress"), ("description", "Trois personnes sous le pont, il fait très froid.")];
    fields.extend_from_slice(extra);
    c.post("/signaler", &fields).await
}

#[tokio::test]
async fn a_point_in_the_18th_goes_to_the_team_the_routing_table_names() {
    let w = world().await;
    let mut admin = w.app.session_for(w.admin, false).await;
    assert_eq!(admin.get("/reports/routing").await.status, StatusCode::OK);
    let t18 = w.t18.to_string();
    let r = admin.post("/reports/routing", &[("territory", &t18), ("level", "2"), ("team", &w.complex_team.to_string())]).await;
    assert_eq!(r.location(), Some("/reports/routing"));
    let r = admin.post("/reports/routing", &[("territory", &t18), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    assert_eq!(r.location(), Some("/reports/routing"));
    let r = admin.post("/reports/routing", &[("territory", "not-a-territory"), ("level", "3"), ("team", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reports::routing_rules(w.app.db()).await.unwrap().len(), 2);

    // A level 1 report in the 18th (nothing of level 2 seen): the territory rule.
    let mut public = w.app.client();
    assert_eq!(public.get("/signaler").await.status, StatusCode::OK);
    let r = submit(&mut public, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let name = veille_storage::territories::get(w.app.db(), w.t18).await.unwrap().name;
    assert!(r.body.contains("/suivi/") && r.body.contains(&name), "{}", r.body);
    let first = only_report(&w).await;
    assert_eq!((first.territory, first.team, first.level, first.status.code()), (Some(w.t18), Some(w.normal_team), 1, "assigned"));
    assert_eq!(first.organisation, Some(w.field_org));
    assert_eq!(first.triage_organisation, Some(w.coord_org));
    assert_eq!(first.channel, "web");

    // A level 2 report (minors) at the same place: the territory × level rule.
    let r = submit(&mut public, &[("situation", "minors"), ("flag", "municipal_land")]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let all = reports::list(w.app.db(), &everything(), &Default::default(), 10).await.unwrap();
    let urgent = all.iter().find(|r| r.id != first.id).unwrap();
    assert_eq!((urgent.level, urgent.team), (2, Some(w.complex_team)));
    assert_eq!(urgent.reasons, vec!["minors".to_string(), "municipal_land".to_string()]);

    // Third report at the same place within the window: repeated → level 2.
    let r = submit(&mut public, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let third = reports::list(w.app.db(), &everything(), &Default::default(), 1).await.unwrap().remove(0);
    assert_eq!((third.level, third.reasons.clone()), (2, vec!["repeated".to_string()]));
    // The earlier two are suggested as possible duplicates on its page.
    let mut field = w.app.session_for(w.field_coordinator, false).await;
    let page = field.get(&format!("/reports/{}", third.id)).await.body;
    let nearby = &page[page.find("id=\"nearby\"").expect("possible duplicates")..page.find("report-timeline").unwrap_or(page.len())];
    assert!(nearby.contains(&first.reference) && nearby.contains(&urgent.reference));

    // Outside every territory: a clear message; recorded for the coordinating organisation.
    let r = public.post("/signaler", &[("lat", "45.0"), ("lon", "-30.0"), ("situation", "camp"), ("description", "Une tente au bord de la route.")]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body.contains("en dehors des territoires"), "{}", r.body);
    let outside = reports::list(w.app.db(), &everything(), &Default::default(), 1).await.unwrap().remove(0);
    assert_eq!((outside.territory, outside.team, outside.organisation, outside.status.code()), (None, None, Some(w.coord_org), "received"));

    // The queue: the field organisation sees its three, the coordinating
    // organisation sees all four (shared with it), filters apply.
    let q = field.get("/reports").await;
    assert!(q.body.contains("Nombre de signalements : 3"), "{}", q.body);
    let csv = field.get("/reports.csv?level=2").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 3, "header and the two level 2 reports: {}", csv.body);
    assert!(lines[0].starts_with("reference,received_at,level"));
    assert!(csv.body.contains(&urgent.reference) && csv.body.contains("\"75118\"") && !csv.body.contains("Trois personnes"));
    assert_eq!(q.status, StatusCode::OK);
    for r in [&first, urgent, &third] {
        assert!(q.body.contains(&r.reference));
    }
    let mut coord = w.app.session_for(w.coordinator, false).await;
    let q = coord.get("/reports").await;
    assert!(q.body.contains(&outside.reference) && q.body.contains(&first.reference));
    let q = coord.get("/reports?level=2").await;
    assert!(q.body.contains(&urgent.reference) && !q.body.contains(&first.reference));
    let q = field.get("/reports").await;
    assert!(!q.body.contains(&outside.reference), "another organisation's report is not listed");
    assert_eq!(field.get(&format!("/reports/{}", outside.id)).await.status, StatusCode::NOT_FOUND);
    // Instance administrators do not read reports.
    assert_eq!(admin.get("/reports").await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.get(&format!("/reports/{}", first.id)).await.status, StatusCode::FORBIDDEN);
}

/// The repeat rule and the possible duplicates look reports up by the grid
/// cells (1/200°) their 150 m box touches: reports on either side of a
/// cell's edges count like reports in the middle of one — at the corner of
/// four cells in the 18th, and at an edge of negative longitude (in the
/// west, outside the territories loaded).
#[tokio::test]
async fn reports_across_the_edges_of_the_grid_cells_are_found_nearby() {
    let w = world().await;
    let mut staff = w.app.session_for(w.coordinator, false).await;
    for (lon, lat) in [(2.345, 48.89), (-1.5, 47.2)] {
        let mut sent = Vec::new();
        // Two reports some 15 m apart on either side of the corner, then one on it.
        for (dx, dy) in [(-0.0001, -0.00005), (0.0001, 0.00005), (0.0, 0.0)] {
            let body = serde_json::json!({
                "source": "gardien_bailleur", "channel": "email", "lat": lat + dy, "lon": lon + dx,
                "situations": ["person_in_distress"], "description": "Un homme seul sous le porche, il ne répond pas."
            });
            let r = staff.post_json("/api/v1/reports", &body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            sent.push(r.json());
        }
        assert_eq!(sent[1]["level"].as_i64(), Some(1), "one earlier report is not a repeat: {}", sent[1]);
        assert_eq!(sent[2]["level"].as_i64(), Some(2), "two earlier reports across the edges make a repeat at ({lon}, {lat}): {}", sent[2]);
        let page = staff.get(&format!("/reports/{}", sent[2]["id"].as_str().unwrap())).await.body;
        let nearby = section(&page, "nearby");
        for earlier in &sent[..2] {
            assert!(nearby.contains(earlier["reference"].as_str().unwrap()), "{nearby}");
        }
    }
}

#[tokio::test]
async fn the_form_keeps_what_was_typed_and_says_what_to_fix() {
    let w = world().await;
    let mut public = w.app.client();
    let r = public.post("/signaler", &[("lat", "abc"), ("lon", "2.36"), ("description", "court"), ("email", "moi@exemple.fr"), ("adults", "beaucoup")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("value=\"abc\"") && r.body.contains("value=\"moi@exemple.fr\"") && r.body.contains(">court</textarea>"));
    for id in ["lat-error", "description-error", "consent-error", "adults-error", "situation-error"] {
        assert!(r.body.contains(id), "{id}");
    }
    assert!(r.body.contains("Saisissez une latitude"));
    assert!(reports::list(w.app.db(), &everything(), &Default::default(), 10).await.unwrap().is_empty());
    // The honeypot.
    let r = submit(&mut public, &[("website", "http://spam.example")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The emergency numbers come before the form.
    let page = public.get("/signaler").await.body;
    let (n15, form) = (page.find("tel:15").unwrap(), page.find("action=\"/signaler\"").unwrap());
    assert!(n15 < form && page.contains("tel:112") && page.contains("tel:115"));
}

#[tokio::test]
async fn the_public_form_is_rate_limited_per_address() {
    let w = world().await;
    let mut public = w.app.client();
    for _ in 0..5 {
        assert_eq!(submit(&mut public, &[]).await.status, StatusCode::CREATED);
    }
    assert_eq!(submit(&mut public, &[]).await.status, StatusCode::TOO_MANY_REQUESTS);
    let mut other = w.app.client();
    other.ip = "10.9.9.9:5000".parse().unwrap();
    assert_eq!(submit(&mut other, &[]).await.status, StatusCode::CREATED);
    // Later, the address may report again.
    w.app.state.clock.advance_seconds(601);
    assert_eq!(submit(&mut public, &[]).await.status, StatusCode::CREATED);
    assert_eq!(reports::list(w.app.db(), &everything(), &Default::default(), 100).await.unwrap().len(), 7);
}

pub(crate) async fn audit_details(w: &World, record: &str) -> Vec<(String, String)> {
    sqlx::query("SELECT action, detail FROM audit_log WHERE record_kind = 'report' AND record_id = $1 ORDER BY seq")
        .bind(record)
        .fetch_all(w.app.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("action"), r.get::<String, _>("detail")))
        .collect()
}

#[tokio::test]
async fn a_level_override_needs_a_reason_is_audited_and_shown() {
    let w = world().await;
    let mut public = w.app.client();
    submit(&mut public, &[]).await;
    let report = only_report(&w).await;
    let mut staff = w.app.session_for(w.coordinator, false).await;
    let path = format!("/reports/{}", report.id);
    let r = staff.post(&format!("{path}/level"), &[("level", "2"), ("reason", ""), ("version", &report.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("level_reason-error"));
    let r = staff.post(&format!("{path}/level"), &[("level", "2"), ("reason", "Appel du 115 : grand froid"), ("version", &report.version.to_string())]).await;
    assert_eq!(r.location(), Some(path.as_str()));
    let after = reports::get(w.app.db(), &everything(), report.id).await.unwrap();
    assert_eq!((after.level, after.effective_level(), after.override_reason.as_deref()), (1, 2, Some("Appel du 115 : grand froid")));
    let audit = audit_details(&w, &report.id.to_string()).await;
    assert!(audit.iter().any(|(a, d)| a == "update" && d.contains("level_override") && d.contains("\"to\":2")), "{audit:?}");
    assert!(!audit.iter().any(|(_, d)| d.contains("grand froid")), "no free text in the audit log");
    let page = staff.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Appel du 115 : grand froid"));
    // A stale version is refused.
    let r = staff.post(&format!("{path}/level"), &[("level", "1"), ("reason", "Autre motif valable"), ("version", &report.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Every status transition is audited and in the timeline.
    let v = reports::get(w.app.db(), &everything(), report.id).await.unwrap().version.to_string();
    let r = staff.post(&format!("{path}/status"), &[("status", "closed"), ("outcome", ""), ("version", &v)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = staff.post(&format!("{path}/status"), &[("status", "in_progress"), ("outcome", ""), ("version", &v)]).await;
    assert_eq!(r.location(), Some(path.as_str()));
    let audit = audit_details(&w, &report.id.to_string()).await;
    assert!(audit.iter().any(|(_, d)| d.contains("\"field\":\"status\"") && d.contains("in_progress")), "{audit:?}");
    let events = report_events(w.app.db(), report.id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["created", "level", "status"]);
}

#[tokio::test]
async fn the_reporter_sees_the_public_answer_and_never_the_internal_note() {
    let w = world().await;
    let mut public = w.app.client();
    let r = submit(&mut public, &[("email", "riverain@exemple.fr"), ("phone", "06 12 34 56 78"), ("consent", "1")]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let link = follow_link(&r.body);
    let report = only_report(&w).await;
    assert_eq!(report.contact_email.as_deref(), Some("riverain@exemple.fr"));
    let follow = public.get(&link).await;
    assert_eq!(follow.status, StatusCode::OK);
    assert!(follow.body.contains(&report.reference) && follow.body.contains("Pas encore de réponse"));
    assert_eq!(public.get("/suivi/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await.status, StatusCode::NOT_FOUND);

    let mut staff = w.app.session_for(w.coordinator, false).await;
    let path = format!("/reports/{}", report.id);
    let r = staff.post(&format!("{path}/notes"), &[("body", "NOTE-INTERNE-42 : monsieur connu du service")]).await;
    assert_eq!(r.location(), Some(path.as_str()));
    // Before the address is confirmed, a public change mails nothing.
    let r = staff.post(&format!("{path}/status"), &[("status", "qualified"), ("outcome", ""), ("version", &report.version.to_string())]).await;
    assert_eq!(r.location(), Some(path.as_str()));
    assert_eq!(veille_storage::outbox::pending_count(w.app.db()).await.unwrap(), 1, "the acknowledgement only");
    // The reporter types back the mailed code on the follow-up page.
    assert!(follow.body.contains("id=\"code\""));
    let r = public.post(&link, &[("code", "ZZZZ-ZZZZ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("code-error") && r.body.contains("value=\"ZZZZ-ZZZZ\""));
    let code = mailed_code(&w.app).await;
    let r = public.post(&link, &[("code", &code.to_lowercase().replace('-', " "))]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("adresse e-mail est confirmée") && !r.body.contains("id=\"code\""));
    assert!(reports::get(w.app.db(), &everything(), report.id).await.unwrap().email_confirmed);
    // Preview: exactly what the reporter will see, nothing saved.
    let v = reports::get(w.app.db(), &everything(), report.id).await.unwrap().version.to_string();
    let answer = "Une équipe est passée ce matin et reviendra demain.";
    let r = staff.post(&format!("{path}/answer"), &[("answer", answer), ("action", "preview"), ("version", &v)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let preview = &r.body[r.body.find("id=\"preview\"").unwrap()..];
    assert!(preview.contains(answer) && !preview.contains("NOTE-INTERNE-42"));
    assert!(!public.get(&link).await.body.contains(answer), "a preview publishes nothing");
    let r = staff.post(&format!("{path}/answer"), &[("answer", answer), ("action", "publish"), ("version", &v)]).await;
    assert_eq!(r.location(), Some(path.as_str()));
    let v = reports::get(w.app.db(), &everything(), report.id).await.unwrap().version.to_string();
    let r = staff.post(&format!("{path}/status"), &[("status", "answered"), ("outcome", ""), ("version", &v)]).await;
    assert_eq!(r.location(), Some(path.as_str()));

    let follow = public.get(&link).await;
    assert!(follow.body.contains(answer) && follow.body.contains("Réponse apportée"));
    assert!(!follow.body.contains("NOTE-INTERNE-42") && !follow.body.contains("connu du service"));
    assert!(!follow.body.contains("Trois personnes"), "the follow-up page shows no social information");
    let page = staff.get(&path).await;
    assert!(page.body.contains("NOTE-INTERNE-42"), "staff see the note");
    assert!(!page.body.contains(&code), "the confirmation code is not shown to staff");
    // The coordinator handles it (may update): the restricted reporter section, its read audited.
    let reporter = section(&page.body, "reporter");
    assert!(reporter.contains("riverain@exemple.fr") && reporter.contains("06 12 34 56 78"), "{reporter}");
    assert!(audit_details(&w, &report.id.to_string()).await.iter().any(|(a, d)| a == "read" && d.contains("\"restricted_fields\":[\"reporter\"]")));

    // E-mails: acknowledgement with the link, then one per public change;
    // status and answer only.
    let mails = sqlx::query("SELECT to_address, body_text FROM outbox ORDER BY created_at, id").fetch_all(w.app.db().pool()).await.unwrap();
    let bodies: Vec<(String, String)> = mails.iter().map(|m| (m.get("to_address"), m.get("body_text"))).collect();
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert!(bodies.iter().all(|(to, _)| to == "riverain@exemple.fr"));
    assert!(bodies[0].1.contains(&link) && bodies[0].1.contains(&report.reference));
    assert!(bodies[1].1.contains(answer));
    assert!(bodies[2].1.contains("Réponse apportée"));
    for (_, body) in &bodies {
        assert!(!body.contains("NOTE-INTERNE-42") && !body.contains("connu du service") && !body.contains("Trois personnes"), "{body}");
    }
}

#[tokio::test]
async fn no_mail_without_consent_and_no_contact_kept() {
    let w = world().await;
    let mut public = w.app.client();
    assert_eq!(submit(&mut public, &[]).await.status, StatusCode::CREATED);
    let report = only_report(&w).await;
    assert_eq!((report.contact_email, report.contact_phone, report.contact_consent), (None, None, false));
    // No routing rule: the coordinating organisation's queue, not the field organisation's.
    let mut field = w.app.session_for(w.field_coordinator, false).await;
    assert_eq!(field.get(&format!("/reports/{}", report.id)).await.status, StatusCode::NOT_FOUND);
    let mut staff = w.app.session_for(w.coordinator, false).await;
    let r = staff
        .post(&format!("/reports/{}/answer", report.id), &[("answer", "Passage prévu."), ("action", "publish"), ("version", &report.version.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(veille_storage::outbox::pending_count(w.app.db()).await.unwrap(), 0);
}

/// Validates a JSON answer with check-jsonschema against an Open311 schema.
pub(crate) fn check_schema(schema: &str, value: &serde_json::Value) {
    let root = env!("CARGO_MANIFEST_DIR");
    let tool = format!("{root}/../../.venv/bin/check-jsonschema");
    assert!(std::path::Path::new(&tool).exists(), "{tool} is missing: run `bash scripts/install-deps.sh`");
    let dir = tempdir::Dir::new();
    let file = dir.0.join("answer.json");
    std::fs::write(&file, value.to_string()).unwrap();
    let schema = format!("{root}/../../../shared/schemas/open311-georeport-v2/{schema}");
    let out = std::process::Command::new(tool).arg("--schemafile").arg(&schema).arg(&file).output().unwrap();
    assert!(out.status.success(), "{schema}: {}{}\n{value}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn open311_services_and_requests_follow_georeport_v2() {
    let w = world().await;
    let mut admin = w.app.session_for(w.admin, false).await;
    admin.post("/reports/routing", &[("territory", &w.t18.to_string()), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    let mut c = w.app.client();
    let r = c.get("/open311/v2/services.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let services = r.json();
    check_schema("services.json", &services);
    let code = services[0]["service_code"].as_str().unwrap().to_owned();
    let r = c.get(&format!("/open311/v2/services/{code}.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    check_schema("service-definition.json", &r.json());
    let r = c.get("/open311/v2/services/nope.json").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()[0]["code"], 404);

    // POST: api_key must be a live token with write scope.
    let (write, read) = (veille_web::security::random_token(), veille_web::security::random_token());
    let now = w.app.state.clock.now();
    let mut tx = w.app.db().begin().await.unwrap();
    for (secret, scopes) in [(&write, &["read", "write"][..]), (&read, &["read"][..])] {
        veille_storage::tokens::create(
            &mut tx,
            w.field_coordinator,
            "open311",
            &veille_web::security::token_hash(secret),
            scopes,
            now,
            now.plus_seconds(86_400),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let form = |key: &str| {
        serde_urlencoded::to_string([
            ("api_key", key),
            ("service_code", code.as_str()),
            ("lat", IN_18TH.0),
            ("long", IN_18TH.1),
            ("description", "Deux tentes sur le trottoir, une famille."),
            ("attribute[seen][]", "family_with_children"),
            ("attribute[tents]", "2"),
        ])
        .unwrap()
    };
    for key in ["", "not-a-token", read.as_str()] {
        let r = c.post_raw("/open311/v2/requests.json", &form(key)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{key}");
        assert_eq!(r.json()[0]["code"], 403);
        assert!(r.json()[0]["description"].as_str().unwrap().contains("api_key"));
    }
    let r = c.post_raw("/open311/v2/requests.json", &format!("api_key={write}&service_code={code}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()[0]["code"], 400);
    let r = c.post_raw("/open311/v2/requests.json", &form(&write)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let created = r.json();
    let id = created[0]["service_request_id"].as_str().unwrap().to_owned();
    assert!(created[0]["service_notice"].is_string());
    let stored = report_by_reference(w.app.db(), &id).await.unwrap().unwrap();
    assert_eq!((stored.channel.code(), stored.level, stored.team), ("open311", 2, Some(w.normal_team)));

    // GET: the public fields only, valid against the schemas.
    let r = c.get("/open311/v2/requests.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let all = r.json();
    check_schema("requests.json", &all);
    assert_eq!(all[0]["service_request_id"], id.as_str());
    assert_eq!(all[0]["status"], "open");
    assert!(!r.body.contains("famille") && all[0].get("lat").is_none(), "no description nor place is published");
    let r = c.get(&format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    check_schema("requests.json", &r.json());
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(c.get("/open311/v2/requests.json?status=closed").await.json().as_array().unwrap().len(), 0);
    assert_eq!(c.get("/open311/v2/requests.json?status=maybe").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(c.get("/open311/v2/requests.json?start_date=hier").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(c.get("/open311/v2/requests/S-XXXX-XXXX.json").await.status, StatusCode::NOT_FOUND);
    // Closing it shows as closed, with the public answer as status notes.
    let mut staff = w.app.session_for(w.field_coordinator, false).await;
    let path = format!("/reports/{}", stored.id);
    staff.post(&format!("{path}/answer"), &[("answer", "Famille mise à l'abri."), ("action", "publish"), ("version", &stored.version.to_string())]).await;
    let v = reports::get(w.app.db(), &everything(), stored.id).await.unwrap().version.to_string();
    let r = staff.post(&format!("{path}/status"), &[("status", "closed"), ("outcome", "oriented"), ("version", &v)]).await;
    assert_eq!(r.location(), Some(path.as_str()));
    let r = c.get(&format!("/open311/v2/requests.json?service_request_id={id}")).await;
    assert_eq!((r.json()[0]["status"].as_str(), r.json()[0]["status_notes"].as_str()), (Some("closed"), Some("Famille mise à l'abri.")));
    check_schema("requests.json", &r.json());
}

/// The reporter's e-mails through a real SMTP server (aiosmtpd): the link in
/// the acknowledgement, then each public answer and status change, never the note.
#[tokio::test]
async fn reporter_mails_reach_the_smtp_server_without_internal_notes() {
    struct Sink(std::process::Child, tempdir::Dir);
    impl Drop for Sink {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let python = format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    assert!(std::path::Path::new(&python).exists(), "{python} is missing: run `bash scripts/install-deps.sh`");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempdir::Dir::new();
    let child = std::process::Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir.0.join("maildir"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sink = Sink(child, dir);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let config = veille_web::Config { smtp_host: "127.0.0.1".into(), smtp_port: port, base_url: "https://veille.exemple.fr".into(), ..Default::default() };
    let app = TestApp::with_config(config).await;
    let org = app.org("Ville", true).await;
    let coordinator = app.user(org, Role::Coordinator, "coord@ville.exemple.fr", None, None).await;
    let mut public = app.client();
    let r = public
        .post(
            "/signaler",
            &[
                ("address", "Sous le métro aérien, boulevard de la Chapelle"),
                ("situation", "person_in_distress"),
                ("description", "Deux personnes allongées, une semble malade."),
                ("email", "voisine@exemple.fr"),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body.contains("coordination"), "not placed: the coordination team looks at it");
    let link = follow_link(&r.body);
    let code = mailed_code(&app).await;
    assert_eq!(public.post(&link, &[("code", &code)]).await.status, StatusCode::OK);
    let report = reports::list(app.db(), &everything(), &Default::default(), 1).await.unwrap().remove(0);
    assert!(report.email_confirmed);
    let mut staff = app.session_for(coordinator, false).await;
    let path = format!("/reports/{}", report.id);
    staff.post(&format!("{path}/notes"), &[("body", "NOTE-CONFIDENTIELLE : suivi psychiatrique")]).await;
    let r = staff
        .post(&format!("{path}/answer"), &[("answer", "La maraude de nuit est passée."), ("action", "publish"), ("version", &report.version.to_string())])
        .await;
    assert_eq!(r.location(), Some(path.as_str()));
    // A status change: told by e-mail too (status, never the note).
    let version = reports::get(app.db(), &everything(), report.id).await.unwrap().version.to_string();
    let r = staff.post(&format!("{path}/status"), &[("status", "in_progress"), ("outcome", ""), ("version", &version)]).await;
    assert_eq!(r.location(), Some(path.as_str()), "{}", r.body);
    assert_eq!(veille_web::mail::send_due(&app.state).await.unwrap(), 3);
    let mut mails = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(sink.1 .0.join("maildir").join(sub)) {
            for e in entries.flatten() {
                // Undo quoted-printable soft breaks and the few escapes the texts need.
                let raw = std::fs::read_to_string(e.path()).unwrap().replace("=\r\n", "").replace("=\n", "");
                mails.push(raw.replace("=C3=A9", "é").replace("=C3=A8", "è").replace("=3D", "="));
            }
        }
    }
    assert_eq!(mails.len(), 3);
    assert!(mails.iter().all(|m| m.contains("voisine@exemple.fr")));
    assert!(mails.iter().any(|m| m.contains("Statut : En cours")), "the status change reached the SMTP server: {mails:?}");
    assert!(mails.iter().any(|m| m.contains(&format!("https://veille.exemple.fr{link}"))), "{mails:?}");
    assert!(mails.iter().any(|m| m.contains("La maraude de nuit est pass")), "{mails:?}");
    for m in &mails {
        assert!(!m.contains("NOTE-CONFIDENTIELLE") && !m.contains("psychiatrique") && !m.contains("malade"), "{m}");
    }
}

/// The confirmation code mailed to one address.
pub(crate) async fn mailed_code_to(app: &TestApp, to: &str) -> String {
    let body: String = sqlx::query_scalar("SELECT body_text FROM outbox WHERE to_address = $1 ORDER BY created_at, id LIMIT 1")
        .bind(to)
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    let after = body.split("page de suivi : ").nth(1).expect("a confirmation code");
    after.split_whitespace().next().unwrap().to_owned()
}

pub(crate) async fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT body_text FROM outbox WHERE to_address = $1 ORDER BY created_at, id").bind(to).fetch_all(app.db().pool()).await.unwrap()
}

pub(crate) fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let Some(start) = page.find(&format!("id=\"{id}\"")) else { return "" };
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn a_duplicate_is_attached_kept_separate_or_detached_and_its_reporter_follows_the_main_report() {
    let w = world().await;
    let mut admin = w.app.session_for(w.admin, false).await;
    let r = admin.post("/reports/routing", &[("territory", &w.t18.to_string()), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    assert_eq!(r.location(), Some("/reports/routing"));

    // Two reporters at the same place, both consenting and confirming their address; a third without contact.
    let mut first_reporter = w.app.client();
    let r = submit(&mut first_reporter, &[("email", "premier@exemple.fr"), ("consent", "1")]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let first_link = follow_link(&r.body);
    let first = only_report(&w).await;
    let mut second_reporter = w.app.client();
    second_reporter.ip = "10.9.9.8:5000".parse().unwrap();
    let r = submit(&mut second_reporter, &[("email", "second@exemple.fr"), ("consent", "1")]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let second_link = follow_link(&r.body);
    let second = reports::list(w.app.db(), &everything(), &Default::default(), 1).await.unwrap().remove(0);
    assert_ne!(second.id, first.id);
    let r = submit(&mut first_reporter, &[]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let third = reports::list(w.app.db(), &everything(), &Default::default(), 1).await.unwrap().remove(0);
    for (client, link, to) in [(&mut first_reporter, &first_link, "premier@exemple.fr"), (&mut second_reporter, &second_link, "second@exemple.fr")] {
        let code = mailed_code_to(&w.app, to).await;
        assert_eq!(client.post(link, &[("code", &code)]).await.status, StatusCode::OK);
    }

    // The second report's page suggests the first and the third.
    let mut staff = w.app.session_for(w.field_coordinator, false).await;
    let second_path = format!("/reports/{}", second.id);
    let page = staff.get(&second_path).await.body;
    let nearby = section(&page, "nearby");
    assert!(nearby.contains(&first.reference) && nearby.contains(&third.reference), "{nearby}");
    assert!(nearby.contains("C&#39;est le même signalement") || nearby.contains("C'est le même signalement"), "{nearby}");
    assert!(nearby.contains("Signalements distincts") && nearby.contains("name=\"csrf\""));

    // Someone of another organisation may not: the coordinating organisation's
    // administrator reads the report (shared) but may not change it; an
    // unrelated organisation does not even see it.
    let coord_admin = w.app.user(w.coord_org, Role::OrgAdmin, "admin-org@ville.exemple.fr", None, None).await;
    let other_org = w.app.org("Autre association", false).await;
    let stranger = w.app.user(other_org, Role::Coordinator, "coord@autre.exemple.fr", None, None).await;
    let mut coord_admin = w.app.session_for(coord_admin, false).await;
    let mut stranger = w.app.session_for(stranger, false).await;
    let v = second.version.to_string();
    for action in ["duplicate", "keep-separate", "detach"] {
        let form = [("other", first.id.to_string()), ("version", v.clone())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = coord_admin.post(&format!("{second_path}/{action}"), &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}");
        let r = stranger.post(&format!("{second_path}/{action}"), &form).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(reports::get(w.app.db(), &everything(), second.id).await.unwrap().version, second.version, "nothing changed");

    // Kept separate: the third is no longer suggested, on either page; both timelines say so.
    let r = staff.post(&format!("{second_path}/keep-separate"), &[("other", &third.id.to_string())]).await;
    assert_eq!(r.location(), Some(second_path.as_str()));
    let page = staff.get(&second_path).await.body;
    let nearby = section(&page, "nearby");
    assert!(nearby.contains(&first.reference) && !nearby.contains(&third.reference), "{nearby}");
    let page = staff.get(&format!("/reports/{}", third.id)).await.body;
    assert!(!section(&page, "nearby").contains(&second.reference));
    for id in [second.id, third.id] {
        assert!(report_events(w.app.db(), id).await.unwrap().iter().any(|e| e.kind == "kept_separate"));
    }
    assert!(audit_details(&w, &third.id.to_string()).await.iter().any(|(_, d)| d.contains("kept_separate")));

    // Attaching to a report that is not open is refused.
    let v = reports::get(w.app.db(), &everything(), second.id).await.unwrap().version.to_string();
    let r = staff.post(&format!("{second_path}/duplicate"), &[("other", &second.id.to_string()), ("version", &v)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The second is the same as the first: attached, closed as a duplicate.
    let r = staff.post(&format!("{second_path}/duplicate"), &[("other", &first.id.to_string()), ("version", &v)]).await;
    assert_eq!(r.location(), Some(second_path.as_str()));
    let attached = reports::get(w.app.db(), &everything(), second.id).await.unwrap();
    assert_eq!((attached.duplicate_of, attached.status.code(), attached.outcome.map(|o| o.code())), (Some(first.id), "closed", Some("duplicate")));
    let page = staff.get(&second_path).await.body;
    assert!(page.contains("id=\"duplicate-of\"") && page.contains(&format!("href=\"/reports/{}\"", first.id)));
    let first_path = format!("/reports/{}", first.id);
    let page = staff.get(&first_path).await.body;
    let dups = section(&page, "duplicates");
    assert!(dups.contains(&second.reference) && dups.contains(&format!("/reports/{}/detach", second.id)) && dups.contains("Détacher"), "{page}");
    assert!(!section(&page, "nearby").contains(&second.reference), "an attached duplicate is no longer suggested");
    assert!(report_events(w.app.db(), second.id).await.unwrap().iter().any(|e| e.kind == "duplicate_of" && e.to.as_deref() == Some(first.reference.as_str())));
    assert!(report_events(w.app.db(), first.id).await.unwrap().iter().any(|e| e.kind == "duplicate_attached"));
    assert!(audit_details(&w, &second.id.to_string()).await.iter().any(|(_, d)| d.contains("\"field\":\"duplicate_of\"")));
    assert!(audit_details(&w, &first.id.to_string()).await.iter().any(|(_, d)| d.contains("duplicate_attached")));

    // A public answer and a status change on the main report reach both reporters.
    let before = (mails_to(&w.app, "premier@exemple.fr").await.len(), mails_to(&w.app, "second@exemple.fr").await.len());
    let answer = "Une équipe est passée et reviendra demain matin.";
    let v = reports::get(w.app.db(), &everything(), first.id).await.unwrap().version.to_string();
    let r = staff.post(&format!("{first_path}/answer"), &[("answer", answer), ("action", "publish"), ("version", &v)]).await;
    assert_eq!(r.location(), Some(first_path.as_str()));
    let v = reports::get(w.app.db(), &everything(), first.id).await.unwrap().version.to_string();
    let r = staff.post(&format!("{first_path}/status"), &[("status", "answered"), ("outcome", ""), ("version", &v)]).await;
    assert_eq!(r.location(), Some(first_path.as_str()));
    for (to, n) in [("premier@exemple.fr", before.0), ("second@exemple.fr", before.1)] {
        let mails = mails_to(&w.app, to).await;
        assert_eq!(mails.len(), n + 2, "{to}: {mails:?}");
        assert!(mails[n].contains(answer) && mails[n + 1].contains("Réponse apportée"), "{to}: {mails:?}");
    }
    assert!(mails_to(&w.app, "second@exemple.fr").await[before.1].contains(&second.reference), "under the reporter's own reference");
    let follow = second_reporter.get(&second_link).await.body;
    assert!(follow.contains(answer) && follow.contains("Réponse apportée") && follow.contains(&second.reference), "{follow}");

    // Detach: the second comes back as it was, with its own follow-up.
    let v = reports::get(w.app.db(), &everything(), second.id).await.unwrap().version.to_string();
    let r = staff.post(&format!("{second_path}/detach"), &[("version", &v)]).await;
    assert_eq!(r.location(), Some(first_path.as_str()));
    let back = reports::get(w.app.db(), &everything(), second.id).await.unwrap();
    assert_eq!((back.duplicate_of, back.status.code(), back.outcome.map(|o| o.code())), (None, second.status.code(), None));
    assert!(report_events(w.app.db(), second.id).await.unwrap().iter().any(|e| e.kind == "duplicate_detached"));
    assert!(report_events(w.app.db(), first.id).await.unwrap().iter().any(|e| e.kind == "duplicate_removed"));
    assert!(audit_details(&w, &second.id.to_string()).await.iter().any(|(_, d)| d.contains("duplicate_detached")));
    assert!(!staff.get(&first_path).await.body.contains("id=\"duplicates\""));
    let follow = second_reporter.get(&second_link).await.body;
    assert!(!follow.contains(answer), "{follow}");
    let r = staff.post(&format!("{second_path}/detach"), &[("version", &back.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "not attached any more");
    let n = mails_to(&w.app, "second@exemple.fr").await.len();
    let v = reports::get(w.app.db(), &everything(), first.id).await.unwrap().version.to_string();
    let r = staff.post(&format!("{first_path}/status"), &[("status", "in_progress"), ("outcome", ""), ("version", &v)]).await;
    assert_eq!(r.location(), Some(first_path.as_str()));
    assert_eq!(mails_to(&w.app, "second@exemple.fr").await.len(), n, "a detached reporter follows their own report again");
}

/// The scope rules of signalements, asked of the application layer: the
/// queue, the API list, the map, the overdue count and a
/// single report give each account exactly the reports `authorize` lets it
/// read — the coordinating organisation those it triaged (handled by it or
/// handed to a partner's team), the partner those handed to it, a field
/// worker limited to one territory only that territory's and those placed
/// nowhere — and a report it may not read is not found. The figures count
/// the organisation's reports, never listing one.
#[tokio::test]
async fn every_report_query_keeps_to_what_authorize_lets_the_caller_read() {
    use veille_app::reports::{self as app, staff, stats};
    use veille_domain::{authorize, Action};
    let w = crate::sites::two().await;
    let t1 = veille_storage::territories::id_by_code(w.app.db(), "T1").await.unwrap().unwrap();
    let t2 = veille_storage::territories::id_by_code(w.app.db(), "T2").await.unwrap().unwrap();
    let coord_a_t1 = w.app.user(w.a, Role::Coordinator, "coord-t1@a.exemple.fr", None, Some(vec![t1])).await;
    let reader_a = w.app.user(w.a, Role::Reader, "lecture@a.exemple.fr", None, None).await;
    let now = w.app.state.clock.now();
    // B's team handles what comes from T2; A's triage queue keeps the rest.
    let mut tx = w.app.db().begin().await.unwrap();
    let team_b = teams::create(&mut tx, w.b, "Maraude B", "social", now).await.unwrap();
    reports::add_routing_rule(&mut tx, Some(t2), None, None, team_b, now).await.unwrap();
    tx.commit().await.unwrap();
    let intake = |lon: Option<f64>| veille_app::reports::Intake {
        source: veille_domain::reports::Source::Riverain,
        channel: veille_domain::reports::Channel::Web,
        point: lon.map(|lon| veille_geo::LonLat::new(lon, 48.05).unwrap()),
        address: "Rue des Essais".into(),
        adults: 1,
        ..Default::default()
    };
    let mut all = Vec::new();
    for lon in [Some(2.05), Some(2.06), Some(2.25), Some(2.26), None] {
        all.push(veille_app::reports::receive(&w.app.state, &intake(lon), None).await.unwrap().id);
    }
    w.app.state.clock.advance_seconds(30 * 86_400);
    for user in [w.coord_a, w.field_a, coord_a_t1, reader_a, w.coord_b, w.field_b] {
        let who = crate::sites::caller(&w.app, user).await;
        let mut expected = Vec::new();
        // Figures are the organisation's (counts, never rows): what it handles
        // or triaged, whatever the territories of the account reading them.
        let mut of_org = 0;
        for id in &all {
            let r = reports::get(w.app.db(), &everything(), *id).await.unwrap();
            of_org += i64::from(r.organisation == Some(who.account.organisation) || r.triage_organisation == Some(who.account.organisation));
            let readable = authorize(&who.actor, Action::Read, &app::resource(&r)).allowed;
            assert_eq!(staff::load(&w.app.state, &who, *id, Action::Read).await.is_ok(), readable, "{user}: report {id}");
            if readable {
                expected.push(*id);
            }
        }
        expected.sort();
        let Ok(listed) = staff::list(&w.app.state, &who, &staff::QueueQuery::default()).await else {
            assert!(expected.is_empty(), "{user}: refused the list but reads {expected:?}");
            continue;
        };
        let mut listed: Vec<_> = listed.into_iter().map(|r| r.id).collect();
        listed.sort();
        assert_eq!(listed, expected, "{user}: the API list");
        let queue = staff::queue(&w.app.state, &who, &staff::QueueQuery::default()).await.unwrap();
        let mut lines: Vec<_> = queue.lines.iter().map(|l| l.report.id).collect();
        lines.sort();
        assert_eq!(lines, expected, "{user}: the queue");
        assert_eq!(queue.overdue_count, expected.len() as i64, "{user}: every open report is past its deadline a month later");
        let mut mapped: Vec<_> = staff::map(&w.app.state, &who, &staff::QueueQuery::default()).await.unwrap().into_iter().map(|(r, _)| r.id).collect();
        mapped.sort();
        let placed: Vec<_> = expected.iter().copied().filter(|id| *id != all[4]).collect();
        assert_eq!(mapped, placed, "{user}: the map (placed reports only)");
        let figures = stats::compute(&w.app.state, &who, &staff::QueueQuery::default(), veille_i18n::Lang::Fr).await.unwrap();
        // A reader's small counts are suppressed (decision 84).
        let small = of_org > 0 && of_org < w.app.state.config.figures_min_cell;
        let total = if who.account.role == veille_domain::Role::Reader && small { None } else { Some(of_org) };
        assert_eq!(figures.total, total, "{user}: the figures");
    }
    // What each saw, spelled out: the coordinating organisation reads all
    // five, the partner the two of T2, the worker limited to T1 T1's two and
    // the one placed nowhere.
    let seen = |user| {
        let app = &w.app;
        async move {
            let who = crate::sites::caller(app, user).await;
            staff::list(&app.state, &who, &staff::QueueQuery::default()).await.map(|l| l.len()).unwrap_or(0)
        }
    };
    assert_eq!(seen(w.coord_a).await, 5);
    assert_eq!(seen(w.coord_b).await, 2);
    assert_eq!(seen(coord_a_t1).await, 3);
}

/// Two instances against one database: a routing rule added through one is
/// applied by the other's intake within a second (its cached routing table
/// refreshes from the database's version), not after the cache's life.
#[tokio::test]
async fn a_routing_change_made_through_one_instance_is_applied_by_the_other() {
    let w = world().await;
    let other = w.app.second_instance().await;
    let mut public = w.app.client_of(&other);
    public.ip = "10.7.7.1:5000".parse().unwrap();
    // The other instance routes a report while no rule exists: its cache holds the empty table.
    assert_eq!(submit(&mut public, &[]).await.status, StatusCode::CREATED);
    assert_eq!(only_report(&w).await.team, None);
    let mut admin = w.app.session_for(w.admin, false).await;
    let r = admin.post("/reports/routing", &[("territory", &w.t18.to_string()), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    assert_eq!(r.location(), Some("/reports/routing"));
    tokio::time::sleep(veille_app::reports::Cache::CHECK + std::time::Duration::from_millis(100)).await;
    public.ip = "10.7.7.2:5000".parse().unwrap();
    assert_eq!(submit(&mut public, &[("situation", "camp")]).await.status, StatusCode::CREATED);
    let all = reports::list(w.app.db(), &everything(), &Default::default(), 10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all.iter().map(|r| r.team).filter(Option::is_some).collect::<Vec<_>>(), vec![Some(w.normal_team)], "routed by the new rule");
    // Territories imported through this instance reach the other's index too.
    let (_, before) = veille_storage::reports::lookup_versions(w.app.db()).await.unwrap();
    veille_web::territories::import(w.app.db(), PARIS, "code", "nom", None, w.app.state.clock.now()).await.unwrap();
    assert_eq!(veille_storage::reports::lookup_versions(w.app.db()).await.unwrap().1, before + 1);
}

/// An Open311 XML document read by a real XML parser into the shape of its
/// JSON twin: a list element's children become an array, other elements with
/// children an object, leaves their text (empty for an empty element).
fn xml_as_json(xml: &str) -> serde_json::Value {
    use quick_xml::events::Event;
    use serde_json::{Map, Value};
    const LISTS: [&str; 5] = ["services", "service_requests", "errors", "attributes", "values"];
    let mut reader = quick_xml::Reader::from_str(xml);
    // (element name, its children as (name, value), its text)
    type Open = (String, Vec<(String, Value)>, String);
    let mut stack: Vec<Open> = vec![("#document".into(), Vec::new(), String::new())];
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push((String::from_utf8(e.name().as_ref().to_vec()).unwrap(), Vec::new(), String::new())),
            Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let value = if LISTS.contains(&name.as_str()) { Value::Array(Vec::new()) } else { Value::String(String::new()) };
                stack.last_mut().unwrap().1.push((name, value));
            }
            Event::Text(t) => stack.last_mut().unwrap().2.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => {
                let name = String::from_utf8(AsRef::<[u8]>::as_ref(&*r).to_vec()).unwrap();
                let c = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity {other}"),
                };
                stack.last_mut().unwrap().2.push_str(c);
            }
            Event::End(_) => {
                let (name, children, text) = stack.pop().unwrap();
                let value = if LISTS.contains(&name.as_str()) {
                    Value::Array(children.into_iter().map(|(_, v)| v).collect())
                } else if children.is_empty() {
                    Value::String(text)
                } else {
                    Value::Object(children.into_iter().collect::<Map<_, _>>())
                };
                stack.last_mut().unwrap().1.push((name, value));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().unwrap().1;
    assert_eq!(document.len(), 1, "one root element");
    document.pop().unwrap().1
}

/// A JSON answer with its leaves as XML carries them: numbers and booleans as
/// text, null as an empty element.
fn as_xml_text(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Null => Value::String(String::new()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(_) => v.clone(),
        Value::Array(items) => Value::Array(items.iter().map(as_xml_text).collect()),
        Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), as_xml_text(v))).collect()),
    }
}

#[tokio::test]
async fn open311_answers_in_xml_as_in_json_field_by_field() {
    let w = world().await;
    let mut c = w.app.client();
    let secret = veille_web::security::random_token();
    let now = w.app.state.clock.now();
    let mut tx = w.app.db().begin().await.unwrap();
    veille_storage::tokens::create(
        &mut tx,
        w.field_coordinator,
        "open311",
        &veille_web::security::token_hash(&secret),
        &["read", "write"],
        now,
        now.plus_seconds(86_400),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let code = c.get("/open311/v2/services.json").await.json()[0]["service_code"].as_str().unwrap().to_owned();
    // A description with characters XML must escape: never published, but the notices and names are.
    let body = |key: &str| {
        serde_urlencoded::to_string([
            ("api_key", key),
            ("service_code", code.as_str()),
            ("lat", IN_18TH.0),
            ("long", IN_18TH.1),
            ("description", "Sous le pont <quai> & « passage »"),
            ("attribute[situation][]", "camp"),
            ("attribute[tents]", "3"),
        ])
        .unwrap()
    };
    let created = c.post_raw("/open311/v2/requests.xml", &body(&secret)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/xml"));
    let created = xml_as_json(&created.body);
    let id = created[0]["service_request_id"].as_str().unwrap().to_owned();
    assert!(report_by_reference(w.app.db(), &id).await.unwrap().is_some(), "the XML POST went through the same intake");
    assert_eq!(created[0]["account_id"], "", "the spec's empty account_id");

    // Every read answers the same fields and values in both formats.
    for (json_path, xml_path) in [
        ("/open311/v2/services.json".to_owned(), "/open311/v2/services.xml".to_owned()),
        (format!("/open311/v2/services/{code}.json"), format!("/open311/v2/services/{code}.xml")),
        ("/open311/v2/requests.json".to_owned(), "/open311/v2/requests.xml".to_owned()),
        (format!("/open311/v2/requests/{id}.json"), format!("/open311/v2/requests/{id}.xml")),
        ("/open311/v2/requests.json?status=bogus".to_owned(), "/open311/v2/requests.xml?status=bogus".to_owned()),
        ("/open311/v2/services/nope.json".to_owned(), "/open311/v2/services/nope.xml".to_owned()),
        ("/open311/v2/requests/S-NONE-NONE.json".to_owned(), "/open311/v2/requests/S-NONE-NONE.xml".to_owned()),
    ] {
        let (j, x) = (c.get(&json_path).await, c.get(&xml_path).await);
        assert_eq!(j.status, x.status, "{xml_path}");
        assert_eq!(xml_as_json(&x.body), as_xml_text(&j.json()), "{xml_path}:\n{}", x.body);
    }

    // The element names of the specification's examples.
    let services = c.get("/open311/v2/services.xml").await.body;
    for element in ["<services><service>", "<service_code>", "<service_name>", "<metadata>true</metadata>", "<type>batch</type>", "<keywords>", "<group>"] {
        assert!(services.contains(element), "{element} in {services}");
    }
    let definition = c.get(&format!("/open311/v2/services/{code}.xml")).await.body;
    for element in ["<service_definition>", "<attributes><attribute>", "<datatype>multivaluelist</datatype>", "<values><value><key>", "<name>"] {
        assert!(definition.contains(element), "{element} in {definition}");
    }
    let requests = c.get(&format!("/open311/v2/requests/{id}.xml")).await.body;
    for element in ["<service_requests><request>", "<service_request_id>", "<status>open</status>", "<requested_datetime>", "<updated_datetime>"] {
        assert!(requests.contains(element), "{element} in {requests}");
    }
    assert!(!requests.contains("quai"), "no description is published");
    let refused = c.post_raw("/open311/v2/requests.xml", &body("not-a-token")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("<errors><error><code>403</code><description>"), "{}", refused.body);
}

/// The response times of the figures are order statistics of every report
/// that reached the step (read from the database, not from the reports
/// loaded): median and 90th percentile as the nearest rank, to a tenth of an
/// hour; a duplicate attached to another report has no answer time of its own.
#[tokio::test]
async fn figures_give_the_median_and_90th_percentile_of_the_response_times() {
    use veille_app::reports::{staff, stats};
    let w = crate::sites::two().await;
    let intake = || veille_app::reports::Intake {
        source: veille_domain::reports::Source::Riverain,
        channel: veille_domain::reports::Channel::Web,
        point: None,
        address: "Rue des Essais".into(),
        adults: 1,
        ..Default::default()
    };
    // Hours to acknowledgement, shuffled; answers for the first five.
    let ack_hours = [3.0, 1.0, 10.0, 2.5, 7.0, 5.0, 4.0];
    let answer_hours = [30.0, 12.0, 48.0, 20.0, 100.0];
    let mut ids = Vec::new();
    for _ in &ack_hours {
        ids.push(veille_app::reports::receive(&w.app.state, &intake(), None).await.unwrap().id);
    }
    let micros = |h: f64| (h * 3600.0 * 1e6) as i64;
    for (i, id) in ids.iter().enumerate() {
        sqlx::query("UPDATE reports SET acknowledged_at = created_at + $1 WHERE id = $2")
            .bind(micros(ack_hours[i]))
            .bind(*id)
            .execute(w.app.db().pool())
            .await
            .unwrap();
        if let Some(h) = answer_hours.get(i) {
            sqlx::query("UPDATE reports SET answered_at = created_at + $1 WHERE id = $2").bind(micros(*h)).bind(*id).execute(w.app.db().pool()).await.unwrap();
        }
    }
    // The fifth (100 hours to its answer) joined the first as its duplicate.
    sqlx::query("UPDATE reports SET duplicate_of = $1 WHERE id = $2").bind(ids[0]).bind(ids[4]).execute(w.app.db().pool()).await.unwrap();
    let who = crate::sites::caller(&w.app, w.coord_a).await;
    let f = stats::compute(&w.app.state, &who, &staff::QueueQuery::default(), veille_i18n::Lang::Fr).await.unwrap();
    // Nearest rank: the ceil(n·q)-th shortest.
    let nearest = |mut v: Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
    };
    assert_eq!(f.total, Some(7));
    assert_eq!(f.acknowledged.count, Some(7));
    assert_eq!((f.acknowledged.median_hours, f.acknowledged.p90_hours), (Some(4.0), Some(10.0)));
    assert_eq!(f.acknowledged.median_hours, Some(nearest(ack_hours.to_vec(), 0.5)));
    assert_eq!(f.answered.count, Some(4), "the duplicate's answer is its original's");
    assert_eq!((f.answered.median_hours, f.answered.p90_hours), (Some(20.0), Some(48.0)));
    assert_eq!(f.answered.p90_hours, Some(nearest(vec![30.0, 12.0, 48.0, 20.0], 0.9)));
}

/// The repeat rule counts the earlier reports within its radius of the
/// place (a great-circle distance): the read finds them by a flat distance
/// with a margin, so reports just past the radius are read and not counted,
/// and the count stops where the rules stop telling counts apart (a place
/// with hundreds of reports is read no further than one with three).
#[tokio::test]
async fn the_repeat_rule_counts_the_reports_within_its_radius_however_many_the_place_has() {
    let w = &world().await;
    let rules = veille_app::reports::rules();
    assert_eq!((rules.repeat.radius_m, rules.earlier_reports_that_matter()), (150.0, 2), "the shipped rules this test is written for");
    let (lon, lat): (f64, f64) = (2.3600, 48.8880);
    // Metres per degree of a great circle on the mean sphere.
    let per_degree = 6_371_008.8 * std::f64::consts::PI / 180.0;
    let east = |m: f64| (lon + m / (per_degree * lat.to_radians().cos()), lat);
    let north = |m: f64| (lon, lat + m / per_degree);
    let at = |(lon, lat): (f64, f64)| veille_app::reports::Intake {
        source: veille_domain::reports::Source::Riverain,
        channel: veille_domain::reports::Channel::Web,
        point: Some(veille_geo::LonLat::new(lon, lat).unwrap()),
        address: "Rue des Essais".into(),
        situations: vec!["camp".into()],
        adults: 1,
        ..Default::default()
    };
    let centre = veille_geo::LonLat::new(lon, lat).unwrap();
    for (p, metres) in [(east(150.05), 150.05), (east(-150.05), 150.05), (north(151.0), 151.0), (north(-149.0), 149.0)] {
        let d = veille_geo::distance_m(centre, veille_geo::LonLat::new(p.0, p.1).unwrap());
        assert!((d - metres).abs() < 0.01, "{metres} m placed at {d} m");
    }
    let receive = |p| async move {
        let r = veille_app::reports::receive(&w.app.state, &at(p), None).await.unwrap();
        let stored = reports::get(w.app.db(), &everything(), r.id).await.unwrap();
        (stored.level, stored.reasons.iter().any(|r| r == "repeated"))
    };
    // Two just past the radius (within the read's margin) and one past the margin.
    for p in [east(150.05), east(-150.05), north(151.0)] {
        assert_eq!(receive(p).await, (1, false));
    }
    // At the centre: none of them counts (the margin's two were read, then left out).
    assert_eq!(receive((lon, lat)).await, (1, false), "the reports past the radius are not counted");
    // 149 m south: the centre's report counts, the others are too far → one earlier.
    assert_eq!(receive(north(-149.0)).await, (1, false));
    // At the centre again: the first centre report and the one 149 m away → two earlier, this one the third.
    assert_eq!(receive((lon, lat)).await, (2, true));
    // A busy place: every further report there is a repeat, however many came before.
    for _ in 0..12 {
        assert_eq!(receive((lon, lat)).await, (2, true));
    }
    // Just past the radius of a place with many reports: still not a repeat of them.
    assert_eq!(receive(north(151.0 + 151.0)).await, (1, false), "151 m north of the one 151 m north, 302 m from the centre");
}
