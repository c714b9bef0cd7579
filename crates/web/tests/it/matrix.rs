//! The authorization matrix: every route of the registry × every identity ×
//! own/other organisation, compared with the hand-written table in
//! `authz/*.toml` (one file per domain). A route without an entry fails the suite.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, StatusCode};
use veille_domain::{Role, Timestamp};
use veille_storage::{teams, tokens};
use veille_web::routes::{registry, Access, RouteSpec};

use crate::helpers::*;

const IDENTITIES: &[&str] =
    &["anonymous", "pending", "instance_admin", "org_admin", "coordinator", "field_worker", "health_professional", "partner", "reader", "api_token"];

type Table = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The expectation table: every `tests/it/authz/*.toml`, merged. A route
/// written in two files is refused (one would silently win).
fn table() -> Table {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/authz");
    let mut paths: Vec<_> =
        std::fs::read_dir(dir).expect("tests/it/authz").map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
    paths.sort();
    let mut out = Table::new();
    for p in paths {
        let part: Table = toml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        for (k, v) in part {
            assert!(out.insert(k.clone(), v).is_none(), "{k} is written twice in tests/it/authz/");
        }
    }
    out
}

/// Routes of the registry with no expectation (the guard against a route
/// added without an access rule).
pub fn missing_expectations(specs: &[RouteSpec], table: &Table) -> Vec<String> {
    specs.iter().map(RouteSpec::key).filter(|k| !table.contains_key(k)).collect()
}

fn expand(names: &[String]) -> BTreeSet<&'static str> {
    let signed = ["instance_admin", "org_admin", "coordinator", "field_worker", "health_professional", "partner", "reader", "api_token"];
    let mut out = BTreeSet::new();
    for n in names {
        match n.as_str() {
            "public" => out.extend(IDENTITIES.iter().copied()),
            "signed" => out.extend(signed),
            "signed_write" => out.extend(signed.iter().copied().filter(|s| *s != "api_token")),
            other => {
                out.insert(IDENTITIES.iter().copied().find(|i| *i == other).unwrap_or_else(|| panic!("unknown identity {other}")));
            }
        }
    }
    out
}

fn expected(table: &Table, key: &str, target: &str) -> BTreeSet<&'static str> {
    let entry = &table[key];
    expand(entry.get(target).or_else(|| entry.get("all")).unwrap_or_else(|| panic!("{key}: no '{target}' nor 'all'")))
}

#[test]
fn every_route_has_an_expectation_and_every_expectation_a_route() {
    let specs = registry().specs();
    let t = table();
    assert_eq!(missing_expectations(&specs, &t), Vec::<String>::new());
    let keys: BTreeSet<String> = specs.iter().map(RouteSpec::key).collect();
    let stale: Vec<_> = t.keys().filter(|k| !keys.contains(*k)).collect();
    assert!(stale.is_empty(), "expectations for routes that do not exist: {stale:?}");
}

/// The role for aggregated figures never reaches a person (issue 16): no
/// route under a personal record's path admits a reader — only the figures
/// (aggregated, small counts suppressed) and the public pages everyone has.
#[test]
fn the_reader_reaches_no_person() {
    const PERSONAL: &[&str] = &[
        "/people",
        "/encounters",
        "/referrals",
        "/cases",
        "/households",
        "/contacts",
        "/mediations",
        "/stays",
        "/shelter",
        "/housing",
        "/reports",
        "/rounds",
        "/logbooks",
        "/meetings",
        "/escalations",
        "/service-requests",
        "/actions",
        "/sites",
        "/audit",
        "/users",
    ];
    const AGGREGATED: &[&str] = &["/reports/stats", "/api/v1/reports/stats"];
    // Routes open to every signed account whose objects a reader never gets:
    // escalations go to named recipients, never readers (app/src/escalations.rs,
    // app/src/on_call.rs); the shelter board and facilities hold places, no person.
    const OBJECT_FILTERED: &[&str] = &[
        "/escalations",
        "/escalations/{id}",
        "/escalations/{id}/acknowledge",
        "/escalations/{id}/resolve",
        "/shelter",
        "/shelter/board",
        "/shelter/facilities/{id}",
    ];
    let t = table();
    let mut reached = Vec::new();
    for key in t.keys() {
        let path = key.split_once(' ').map(|(_, p)| p).unwrap_or(key);
        let bare = path.trim_start_matches("/api/v1");
        let personal = PERSONAL.iter().any(|p| bare == *p || bare.starts_with(&format!("{p}/")) || bare.starts_with(&format!("{p}.")));
        if !personal || AGGREGATED.contains(&path) || OBJECT_FILTERED.contains(&bare) {
            continue;
        }
        for target in ["own", "other"] {
            let who = expected(&t, key, target);
            // Public pages (the report form, its follow-up by token) are everyone's, not a reader's grant.
            if who.contains("reader") && !who.contains("anonymous") {
                reached.push(format!("{key} ({target})"));
            }
        }
    }
    assert!(reached.is_empty(), "a reader reaches: {reached:?}");
}

#[test]
fn a_route_added_without_a_rule_fails_the_matrix() {
    let spec = RouteSpec { method: Method::GET, path: "/people/{id}/secret", access: Access::Signed, summary: "new", doc: Default::default() };
    let reg = registry().with_route(spec, axum::routing::get(|| async { "leak" }));
    assert_eq!(missing_expectations(&reg.specs(), &table()), vec!["GET /people/{id}/secret".to_string()]);
}

#[test]
fn every_api_operation_declares_its_security() {
    let doc = veille_web::openapi::build();
    let mut n = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            n += 1;
            assert!(op.get("security").is_some(), "{method} {path} declares no security");
            let public = op["x-veille-access"] == "public";
            assert_eq!(op["security"].as_array().unwrap().is_empty(), public, "{method} {path}");
        }
    }
    assert!(n >= 10);
}

struct World {
    app: TestApp,
    ids: BTreeMap<&'static str, veille_domain::UserId>,
    token: String,
    own: BTreeMap<&'static str, String>,
    other: BTreeMap<&'static str, String>,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let a = app.org("Organisation A", true).await;
    let b = app.org("Organisation B", false).await;
    let now = app.state.clock.now();
    let t1 = app.two_square_territories().await;
    let mut ids = BTreeMap::new();
    for (name, role) in [
        ("instance_admin", Role::InstanceAdmin),
        ("org_admin", Role::OrgAdmin),
        ("coordinator", Role::Coordinator),
        ("field_worker", Role::FieldWorker),
        ("health_professional", Role::HealthProfessional),
        ("partner", Role::Partner),
        ("reader", Role::Reader),
        ("pending", Role::Coordinator),
    ] {
        let scope = (name == "field_worker").then(|| vec![t1]);
        ids.insert(name, app.user(a, role, &format!("{name}@a.exemple.fr"), None, scope).await);
    }
    let victim_a = app.user(a, Role::FieldWorker, "victim@a.exemple.fr", None, None).await;
    let victim_b = app.user(b, Role::FieldWorker, "victim@b.exemple.fr", None, None).await;
    let mut tx = app.db().begin().await.unwrap();
    let team_a = teams::create(&mut tx, a, "Équipe A", "social", now).await.unwrap();
    let team_b = teams::create(&mut tx, b, "Équipe B", "social", now).await.unwrap();
    let token = veille_web::security::random_token();
    tokens::create(&mut tx, ids["coordinator"], "matrix", &veille_web::security::token_hash(&token), &["read"], now, now.plus_seconds(86400)).await.unwrap();
    let far = Timestamp::from_micros(now.as_micros() + 86_400_000_000);
    let tok_a = tokens::create(&mut tx, victim_a, "victim a", "hash-a", &["read"], now, far).await.unwrap();
    let tok_b = tokens::create(&mut tx, victim_b, "victim b", "hash-b", &["read"], now, far).await.unwrap();
    let report = |reference: &str, org| veille_storage::reports::NewReport {
        reference: reference.into(),
        token_hash: veille_web::security::token_hash(reference),
        source: veille_domain::reports::Source::Riverain,
        channel: veille_domain::reports::Channel::Phone,
        lon: Some(2.05),
        lat: Some(48.05),
        address: String::new(),
        territory: Some(t1),
        situations: vec!["camp".into()],
        seen: vec![],
        adults: 2,
        children: 0,
        tents: 1,
        description: "Deux tentes sur le trottoir.".into(),
        reporter_name: Some("Gardien".into()),
        contact_email: None,
        contact_phone: Some("0612345678".into()),
        contact_consent: false,
        email_confirm_hash: None,
        email_confirmed: false,
        acknowledged: false,
        site_id: None,
        level: 1,
        reasons: vec![],
        status: veille_domain::reports::Status::Received,
        organisation: Some(org),
        triage_organisation: Some(a),
        team: None,
    };
    let report_a = veille_storage::reports::create(&mut tx, &report("S-MATR-IXAA", a), now).await.unwrap();
    let report_b = veille_storage::reports::create(&mut tx, &report("S-MATR-IXBB", b), now).await.unwrap();
    // Partner directory: one structure with one service kept by each organisation.
    let mut directory = Vec::new();
    for (org, name) in [(a, "Structure A"), (b, "Structure B")] {
        use veille_storage::directory as dir;
        let (sid, vid) = (veille_domain::StructureId::new(), veille_domain::ServiceId::new());
        let fields = dir::StructureFields { name: name.into(), ..Default::default() };
        let new = dir::NewStructure {
            source: dir::OWN_SOURCE,
            source_id: &sid.to_string(),
            organisation: Some(org),
            fields: &fields,
            territory: None,
            import_hash: "",
        };
        dir::create_structure(&mut tx, sid, &new, now).await.unwrap();
        let sfields = dir::ServiceFields { name: format!("Service {name}"), description: "Un service.".into(), ..Default::default() };
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
        directory.push((sid.to_string(), vid.to_string()));
    }
    let people_a = crate::people::matrix_objects(&mut tx, a, ids["coordinator"], now).await;
    let people_b = crate::people::matrix_objects(&mut tx, b, victim_b, now).await;
    tx.commit().await.unwrap();
    let sr = crate::sites::matrix_objects(&app, a, b, team_a, team_b, ids["coordinator"]).await;
    let mut own = BTreeMap::from([
        ("org", a.to_string()),
        ("user", victim_a.to_string()),
        ("team", team_a.to_string()),
        ("token", tok_a.to_string()),
        ("territory", t1.to_string()),
        ("site", sr.own.site.clone()),
        ("slot", sr.own.slot.clone()),
        ("circuit", sr.own.circuit.clone()),
        ("round", sr.own.round.clone()),
        ("report", report_a.to_string()),
        ("dir_structure", directory[0].0.clone()),
        ("dir_service", directory[0].1.clone()),
    ]);
    let mut other = BTreeMap::from([
        ("org", b.to_string()),
        ("user", victim_b.to_string()),
        ("team", team_b.to_string()),
        ("token", tok_b.to_string()),
        ("territory", t1.to_string()),
        ("site", sr.other.site.clone()),
        ("slot", sr.other.slot.clone()),
        ("circuit", sr.other.circuit.clone()),
        ("round", sr.other.round.clone()),
        ("report", report_b.to_string()),
        ("dir_structure", directory[1].0.clone()),
        ("dir_service", directory[1].1.clone()),
    ]);
    own.extend(people_a);
    other.extend(people_b);
    let shelter_a = crate::shelter::matrix_objects(&app, a, ids["coordinator"], &sr.own.site, t1).await;
    let shelter_b = crate::shelter::matrix_objects(&app, b, victim_b, &sr.other.site, t1).await;
    own.extend(shelter_a);
    other.extend(shelter_b);
    own.extend(crate::cases::matrix_objects(&app, a, ids["coordinator"], t1).await);
    other.extend(crate::cases::matrix_objects(&app, b, victim_b, t1).await);
    own.extend(crate::meetings::matrix_objects(&app, a, ids["coordinator"], t1).await);
    other.extend(crate::meetings::matrix_objects(&app, b, victim_b, t1).await);
    own.extend(crate::neighbourhood::matrix_objects(&app, a, ids["coordinator"], t1, "-A").await);
    other.extend(crate::neighbourhood::matrix_objects(&app, b, victim_b, t1, "-B").await);
    World { app, ids, token, own, other }
}

/// Which object of the world a route's `{id}` names: the first row whose
/// fragment the path contains (each domain adds its rows); a staff account
/// otherwise.
const OBJECT_OF_PATH: &[(&str, &str)] = &[
    ("/logbooks/entries/", "log_entry"),
    ("/logbooks/team/", "team"),
    ("/logbooks/site/", "site"),
    ("/logbooks/case/", "case"),
    ("/logbooks/facility/", "facility"),
    ("/mediations/", "mediation"),
    ("/contacts/", "contact"),
    ("/service-requests/", "service_request"),
    ("/city-services/", "city_service"),
    ("/organisations/", "org"),
    ("/teams/", "team"),
    ("/tokens/", "token"),
    ("/territories/", "territory"),
    ("/sites/", "site"),
    ("/schedule/", "slot"),
    ("/circuits/", "circuit"),
    ("/rounds/", "round"),
    ("/reports/routing/", "user"),
    ("/reports/", "report"),
    ("/directory/structures/", "dir_structure"),
    ("/directory/services/", "dir_service"),
    ("/api/v1/structures/", "dir_structure"),
    ("/api/v1/services/", "dir_service"),
    ("/people/", "person"),
    ("/encounters/", "encounter"),
    ("/referrals/", "referral"),
    ("/facilities/", "facility"),
    ("/stays/", "stay"),
    ("/shelter/requests/", "request"),
    ("/operations/", "operation"),
    ("/dwellings/", "dwelling"),
    ("/housing/checks/", "check"),
    ("/dwelling-checks/", "check"),
    ("/housing/actions/", "action"),
    ("/cases/", "case"),
    ("/meetings/", "meeting"),
    ("/escalations/", "escalation"),
    ("/actions/", "action"),
];

fn concrete_path(spec: &RouteSpec, objects: &BTreeMap<&'static str, String>) -> String {
    let object = OBJECT_OF_PATH.iter().find(|(fragment, _)| spec.path.contains(fragment)).map_or("user", |(_, o)| *o);
    spec.path.replace("{kind}", "users").replace("{id}", &objects[object]).replace("{token}", "not-a-real-token").replace("{file}", "veille.css")
        + if spec.path.ends_with("/lookup") { "?lon=2.05&lat=48.05" } else { "" }
}

fn form_for(spec: &RouteSpec) -> Vec<(&'static str, String)> {
    let f = |pairs: &[(&'static str, &str)]| pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
    match spec.path {
        "/login" => f(&[("email", "nobody@exemple.fr"), ("password", "wrong password!!")]),
        "/lang" => f(&[("lang", "en"), ("back", "/")]),
        "/organisations" => f(&[("name", ""), ("kind", "")]),
        "/account/tokens" => f(&[("name", "t"), ("scope", "read"), ("days", "1")]),
        p if p.ends_with("/grants") => f(&[("role", "field_worker"), ("version", "0")]),
        p if p.ends_with("/invitations") => f(&[("email", "bad"), ("display_name", ""), ("role", "")]),
        p if p.ends_with("/teams") => f(&[("name", ""), ("kind", "")]),
        p if p.contains("/members") => f(&[("user_id", "not-a-user")]),
        _ => f(&[("code", "000000"), ("password", "short"), ("email", "x@exemple.fr")]),
    }
}

/// Whether an answer means "you may not": the error renderer marks refusals
/// (not logged in, or not allowed) with `x-veille-error`.
fn denied(r: &Resp) -> bool {
    let marker = r.headers.get("x-veille-error").and_then(|v| v.to_str().ok());
    assert_ne!(marker, Some("csrf"), "the matrix client must pass the anti-forgery check");
    matches!(marker, Some("unauthenticated" | "forbidden"))
}

#[tokio::test]
async fn every_route_for_every_identity_and_target_matches_the_table() {
    let w = world().await;
    let t = table();
    let specs = registry().specs();
    let mut failures = Vec::new();
    let mut cells = 0;
    let mut health_shown = 0;
    for spec in &specs {
        for (target, objects) in [("own", &w.own), ("other", &w.other)] {
            let allow = expected(&t, &spec.key(), target);
            for identity in IDENTITIES {
                let mut client = match *identity {
                    "anonymous" => w.app.client(),
                    "pending" => w.app.session_for(w.ids["pending"], true).await,
                    "api_token" => {
                        let mut c = w.app.client();
                        c.bearer = Some(w.token.clone());
                        c
                    }
                    name => w.app.session_for(w.ids[name], false).await,
                };
                let path = concrete_path(spec, objects);
                let resp = if spec.method == Method::GET {
                    client.get(&path).await
                } else if spec.method == Method::PUT {
                    // An upload of raw bytes.
                    let req = axum::http::Request::put(&path).header("content-type", "application/octet-stream").body(axum::body::Body::from("x")).unwrap();
                    client.send(req).await
                } else if spec.is_api() {
                    // API writes take JSON; an empty object decodes (every field has a default).
                    client.post_json(&path, &serde_json::json!({})).await
                } else if spec.path == "/territories/import" {
                    let csrf = client.csrf().await;
                    client.post(&path, &[("csrf", &csrf)]).await
                } else {
                    let form = form_for(spec);
                    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    client.post(&path, &pairs).await
                };
                assert!(resp.status != StatusCode::INTERNAL_SERVER_ERROR, "{} {path} as {identity}: 500 {}", spec.method, resp.body);
                // The contact book's relays: organisation B's never reach organisation A's
                // accounts; A's only its coordinator (and its API token) — not its field
                // worker, health professional or administrator (without the field group).
                assert!(
                    !resp.body.contains(&format!("{}-B", crate::neighbourhood::CONTACT_MARKER)),
                    "{} {path} as {identity} shows another organisation's relay",
                    spec.method
                );
                if !matches!(*identity, "coordinator" | "api_token") {
                    assert!(
                        !resp.body.contains(crate::neighbourhood::CONTACT_MARKER),
                        "{} {path} as {identity} shows a relay of the contact book",
                        spec.method
                    );
                }
                // The reader reaches no person: the pseudonym of the world's people never shows.
                if *identity == "reader" {
                    assert!(!resp.body.contains("Matrice"), "{} {path} as a reader shows a person", spec.method);
                }
                // Planted health markers (the people's health sections) never reach another role.
                if *identity != "health_professional" {
                    assert!(!resp.body.contains(crate::people::HEALTH_MARKER), "{} {path} as {identity} shows health data", spec.method);
                } else if resp.body.contains(crate::people::HEALTH_MARKER) {
                    health_shown += 1;
                }
                let should = allow.contains(identity);
                if denied(&resp) == should {
                    failures.push(format!(
                        "{} ({target}) as {identity}: expected {}, got {} {:?}",
                        spec.key(),
                        if should { "allowed" } else { "denied" },
                        resp.status,
                        resp.location()
                    ));
                }
                cells += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cells} cells disagree with tests/it/authz/:\n{}", failures.len(), failures.join("\n"));
    assert!(cells >= specs.len() * 20);
    assert!(health_shown > 0, "the planted health data is shown to health professionals (so its absence elsewhere means something)");
}
