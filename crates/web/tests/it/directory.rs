//! The partner directory: data·inclusion import (dry run, idempotent
//! re-import, changed file, malformed file refused with line-level messages
//! and nothing written, the Python reference models agreeing with what veille
//! accepts), search by need, territory, public, language and "open now" on the
//! manual clock, the service picker, the JSON API, own entries and who may
//! write what.

use axum::http::StatusCode;
use chrono::TimeZone;
use veille_app::directory::import::{self, Options, Pair};
use veille_domain::{OrganisationId, Role, Timestamp, UserId};
use veille_storage::directory::{self as store};

use crate::helpers::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/tests/fixtures/data-inclusion");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn files(names: &[&str]) -> Vec<(String, Vec<u8>)> {
    names.iter().map(|n| ((*n).to_owned(), fixture(n))).collect()
}

struct World {
    app: TestApp,
    a: OrganisationId,
    b: OrganisationId,
    admin: UserId,
    coordinator: UserId,
    field_worker: UserId,
    other_coordinator: UserId,
    t1: veille_domain::TerritoryId,
    t2: veille_domain::TerritoryId,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let a = app.org("Maraude A", true).await;
    let b = app.org("Association B", false).await;
    let t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let t2 = veille_storage::territories::id_by_code(app.db(), "T2").await.unwrap().unwrap();
    let admin = app.user(a, Role::InstanceAdmin, "admin@a.exemple.fr", None, None).await;
    let coordinator = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    let field_worker = app.user(a, Role::FieldWorker, "terrain@a.exemple.fr", None, None).await;
    let other_coordinator = app.user(b, Role::Coordinator, "coord@b.exemple.fr", None, None).await;
    World { app, a, b, admin, coordinator, field_worker, other_coordinator, t1, t2 }
}

/// An import by the instance itself (the command line).
async fn run(w: &World, names: &[&str], options: Options) -> import::Outcome {
    import::run_as_instance(w.app.db(), &files(names), options, w.app.state.clock.now()).await.unwrap()
}

async fn audit_len(w: &World) -> i64 {
    veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(w.app.db().pool()).await.unwrap()
}

async fn versions(w: &World) -> Vec<(String, i64)> {
    let rows: Vec<(String, i64)> =
        veille_storage::sqlx::query_as("SELECT source_id, version FROM directory_services ORDER BY source_id").fetch_all(w.app.db().pool()).await.unwrap();
    rows
}

fn pair(structures: usize, services: usize) -> Pair {
    Pair { structures, services }
}

/// The manual clock set to a Paris wall time.
fn set_paris(app: &TestApp, y: i32, m: u32, d: u32, h: u32, min: u32) {
    let target = Timestamp::from_datetime(chrono_tz::Europe::Paris.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&chrono::Utc));
    let now = app.state.clock.now();
    app.state.clock.advance_seconds(now.seconds_until(target));
}

async fn service_id(w: &World, source_id: &str) -> String {
    let known = store::known_services(w.app.db(), &["test-export".to_owned()]).await.unwrap();
    known[&("test-export".to_owned(), source_id.to_owned())].id.to_string()
}

#[tokio::test]
async fn a_sample_imports_reimports_without_duplicates_and_a_changed_file_updates_only_what_changed() {
    let w = world().await;
    let before = audit_len(&w).await;
    // Dry run: says what would be created, writes nothing at all.
    let dry = run(&w, &["structures.json", "services.json"], Options { dry_run: true, ..Default::default() }).await;
    assert_eq!(dry.counts.created, pair(3, 4));
    assert!(dry.problems.is_empty() && !dry.written, "{:?}", dry.problems);
    assert_eq!(store::counts(w.app.db()).await.unwrap(), (0, 0));
    assert_eq!(audit_len(&w).await, before, "a dry run writes nothing, not even an audit entry");

    let first = run(&w, &["structures.json", "services.json", "services-extra.csv"], Options::default()).await;
    assert_eq!((first.counts.created, first.counts.refused), (pair(3, 5), pair(0, 0)), "{:?}", first.problems);
    assert!(first.written);
    assert_eq!(store::counts(w.app.db()).await.unwrap(), (3, 5));
    assert_eq!(audit_len(&w).await, before + 1);
    // Territories come from the points: a service without one takes its structure's.
    let e = store::service(w.app.db(), service_id(&w, "test--abri-canal--repas").await.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(e.territory(), Some(w.t1));
    assert_eq!(e.phone(), "01 00 00 10 01");
    assert_eq!(e.opening_hours(), "Mo-Fr 09:00-17:00; PH off");
    let csv = store::service(w.app.db(), service_id(&w, "test--bains-est--cafe").await.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((csv.territory(), csv.service.fields.themes.len()), (Some(w.t2), 2));
    let own_point = store::service(w.app.db(), service_id(&w, "test--permanence--droits").await.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((own_point.structure.territory, own_point.territory()), (None, Some(w.t1)));
    let v0 = versions(&w).await;

    // The same files again: nothing changes, nothing is written.
    let again = run(&w, &["structures.json", "services.json", "services-extra.csv"], Options::default()).await;
    assert_eq!((again.counts.created, again.counts.updated, again.counts.unchanged), (pair(0, 0), pair(0, 0), pair(3, 5)));
    assert!(!again.written);
    assert_eq!(store::counts(w.app.db()).await.unwrap(), (3, 5));
    assert_eq!(versions(&w).await, v0);
    assert_eq!(audit_len(&w).await, before + 1);

    // veille's own fields survive a re-import.
    let id = service_id(&w, "test--abri-canal--nuit").await;
    let mut admin = w.app.session_for(w.admin, false).await;
    let version = store::service(w.app.db(), id.parse().unwrap()).await.unwrap().unwrap().service.version.to_string();
    let r = admin
        .post(
            &format!("/directory/services/{id}/local"),
            &[("languages", "fr"), ("languages", "ar"), ("capacity", "limited"), ("capacity_note", "2 places"), ("version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // One phone number changed: one structure updated, everything else unchanged.
    let dry = run(&w, &["structures-changed.json", "services.json"], Options { dry_run: true, ..Default::default() }).await;
    assert_eq!((dry.counts.updated, dry.counts.unchanged), (pair(1, 0), pair(2, 4)));
    let changed = run(&w, &["structures-changed.json", "services.json"], Options::default()).await;
    assert_eq!((changed.counts.created, changed.counts.updated, changed.counts.unchanged), (pair(0, 0), pair(1, 0), pair(2, 4)));
    let e = store::service(w.app.db(), id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(e.phone(), "01 00 00 10 99", "the service shows its structure's new phone");
    assert_eq!((e.service.local.languages.clone(), e.service.local.capacity.code()), (vec!["fr".to_string(), "ar".to_string()], "limited"));
    assert_eq!(store::counts(w.app.db()).await.unwrap(), (3, 5));
}

#[tokio::test]
async fn a_malformed_file_is_refused_with_line_level_messages_and_nothing_written() {
    let w = world().await;
    let before = audit_len(&w).await;
    let mut admin = w.app.session_for(w.admin, false).await;
    let body = fixture("malformed.json");
    let r = admin.multipart("/directory/import", &[], &[("files", "malformed.json", &body)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    for expected in [
        "malformed.json, ligne 2 · structure « test--sans-date » · date_maj : ce champ est obligatoire.",
        "malformed.json, ligne 3 · structure « test--siret-court » · siret : le SIRET compte 14 chiffres.",
        "malformed.json, ligne 8 · service « test--valide--inconnu » · thematiques : « sante--soins-imaginaires » ne fait pas partie du référentiel data·inclusion.",
        "malformed.json, ligne 11 · service « test--orphelin » · structure_id : la structure de ce service n&#39;est ni dans l&#39;import ni dans l&#39;annuaire.",
    ] {
        assert!(r.body.contains(expected), "missing «{expected}» in\n{}", &r.body[r.body.find("import-problems").unwrap_or(0)..]);
    }
    assert!(r.body.contains("rien n&#39;a été écrit"));
    assert_eq!(store::counts(w.app.db()).await.unwrap(), (0, 0), "one transaction: nothing written");
    assert_eq!(audit_len(&w).await, before);

    // The command-line form of the same refusal, and the choice to import the valid lines.
    let o = run(&w, &["malformed.json"], Options::default()).await;
    assert_eq!((o.counts.refused, o.counts.created, o.written), (pair(2, 2), pair(1, 1), false));
    let o = run(&w, &["malformed.json"], Options { skip_refused: true, ..Default::default() }).await;
    assert!(o.written);
    assert_eq!(store::counts(w.app.db()).await.unwrap(), (1, 1));
    // A second record with the same key, and veille's own source, are refused.
    let dup = r#"[{"source": "test-export", "id": "x", "nom": "Doublon fictif", "date_maj": "2026-05-02"},
{"source": "test-export", "id": "x", "nom": "Doublon fictif", "date_maj": "2026-05-02"},
{"source": "veille", "id": "y", "nom": "Source réservée", "date_maj": "2026-05-02"}]"#;
    let o = import::run_as_instance(w.app.db(), &[("dup.json".into(), dup.as_bytes().to_vec())], Options::default(), w.app.state.clock.now()).await.unwrap();
    let codes: Vec<(usize, &str)> = o.problems.iter().map(|p| (p.line, p.code)).collect();
    assert_eq!(codes, vec![(2, "duplicate_record"), (3, "reserved_source")]);
}

#[tokio::test]
async fn the_import_page_runs_a_dry_run_then_the_import_for_the_instance_administrator_only() {
    let w = world().await;
    let (s, v) = (fixture("structures.json"), fixture("services.json"));
    let mut coordinator = w.app.session_for(w.coordinator, false).await;
    assert_eq!(coordinator.get("/directory/import").await.status, StatusCode::FORBIDDEN);
    let r = coordinator.multipart("/directory/import", &[], &[("files", "structures.json", &s)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut admin = w.app.session_for(w.admin, false).await;
    assert_eq!(admin.get("/directory/import").await.status, StatusCode::OK);
    let r = admin.multipart("/directory/import", &[("dry_run", "1")], &[("files", "structures.json", &s), ("files", "services.json", &v)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Simulation"));
    assert_eq!(store::counts(w.app.db()).await.unwrap(), (0, 0));
    let r = admin.multipart("/directory/import", &[], &[("files", "structures.json", &s), ("files", "services.json", &v)]).await;
    assert!(r.body.contains("Import effectué"), "{}", r.body);
    assert_eq!(store::counts(w.app.db()).await.unwrap(), (3, 4));
    // Audited under the administrator's name (the command line's imports name no account).
    let actors: Vec<Option<String>> =
        veille_storage::sqlx::query_scalar("SELECT actor_user_id FROM audit_log WHERE action = 'import' AND record_kind = 'directory'")
            .fetch_all(w.app.db().pool())
            .await
            .unwrap();
    assert_eq!(actors, vec![Some(w.admin.to_string())]);
    run(&w, &["structures-changed.json"], Options::default()).await;
    let mut actors: Vec<Option<String>> =
        veille_storage::sqlx::query_scalar("SELECT actor_user_id FROM audit_log WHERE action = 'import' AND record_kind = 'directory'")
            .fetch_all(w.app.db().pool())
            .await
            .unwrap();
    actors.sort();
    assert_eq!(actors, vec![None, Some(w.admin.to_string())]);
    let r = admin.multipart("/directory/import", &[], &[("files", "structures.json", &s), ("files", "services.json", &v)]).await;
    assert!(r.body.contains("Import effectué"), "back to the first phone number: {}", r.body);
    let r = admin.multipart("/directory/import", &[], &[("files", "structures.json", &s), ("files", "services.json", &v)]).await;
    assert!(r.body.contains("Rien à changer"), "{}", r.body);
    let r = admin.multipart("/directory/import", &[], &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Runs the data·inclusion reference models (PyPI `data-inclusion-schema`) on
/// records; true where a record is valid.
fn python_verdicts(records: &[(String, serde_json::Value)]) -> Vec<bool> {
    let python = format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    assert!(std::path::Path::new(&python).exists(), "{python} is missing: run `bash scripts/install-deps.sh`");
    let dir = tempdir::Dir::new();
    let file = dir.0.join("records.json");
    let cases: Vec<serde_json::Value> = records.iter().map(|(k, r)| serde_json::json!({"kind": k, "record": r})).collect();
    std::fs::write(&file, serde_json::to_string(&cases).unwrap()).unwrap();
    let script = "import json, sys\n\
        from data_inclusion.schema.v1 import Structure, Service\n\
        out = []\n\
        for c in json.load(open(sys.argv[1])):\n\
        \x20   model = Service if c['kind'] == 'service' else Structure\n\
        \x20   try:\n\
        \x20       model.model_validate(c['record'])\n\
        \x20       out.append(True)\n\
        \x20   except Exception:\n\
        \x20       out.append(False)\n\
        print(json.dumps(out))\n";
    let out = std::process::Command::new(python).arg("-c").arg(script).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Whether veille accepts a single record.
fn veille_accepts(record: &serde_json::Value, today: chrono::NaiveDate) -> bool {
    let mut c = veille_app::directory::datainclusion::Content::default();
    veille_app::directory::datainclusion::read("case.json", serde_json::json!([record]).to_string().as_bytes(), today, &mut c);
    c.problems.is_empty() && c.structures.len() + c.services.len() == 1
}

#[test]
fn what_veille_accepts_is_what_the_national_reference_models_accept() {
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).date_naive();
    let cases: Vec<serde_json::Value> = serde_json::from_slice(&fixture("agreement.json")).unwrap();
    let mut records: Vec<(String, serde_json::Value)> = cases.iter().map(|c| (c["kind"].as_str().unwrap().to_owned(), c["record"].clone())).collect();
    // Every record of the valid sample files too.
    for name in ["structures.json", "services.json"] {
        let list: Vec<serde_json::Value> = serde_json::from_slice(&fixture(name)).unwrap();
        let kind = if name.starts_with("services") { "service" } else { "structure" };
        records.extend(list.into_iter().map(|r| (kind.to_owned(), r)));
    }
    let python = python_verdicts(&records);
    let mut disagree = Vec::new();
    for ((_, record), py) in records.iter().zip(&python) {
        if veille_accepts(record, today) != *py {
            disagree.push(format!("python {}: {record}", if *py { "accepts" } else { "refuses" }));
        }
    }
    assert!(disagree.is_empty(), "{} of {} records judged differently:\n{}", disagree.len(), records.len(), disagree.join("\n"));
    // The cases are not all of one kind: the check can fail both ways.
    let accepted = python.iter().filter(|v| **v).count();
    assert!(accepted > 20 && python.len() - accepted > 20, "{accepted} of {}", python.len());
    assert!(python[python.len() - 7..].iter().all(|v| *v), "the sample files are valid per the reference models");
}

#[tokio::test]
async fn open_now_follows_the_app_clock_in_paris() {
    let w = world().await;
    run(&w, &["structures.json", "services.json"], Options::default()).await;
    let open_ids = |body: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = body.as_array().unwrap().iter().map(|s| s["source_id"].as_str().unwrap().to_owned()).collect();
        v.sort();
        v
    };
    // Wednesday 14 October 2026, 10:00 in Paris (08:00 UTC, summer time).
    set_paris(&w.app, 2026, 10, 14, 10, 0);
    let mut c = w.app.session_for(w.field_worker, false).await;
    let r = c.get("/api/v1/services?open_now=true").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(open_ids(&r.json()), vec!["test--abri-canal--repas".to_string()]);
    let all = c.get("/api/v1/services").await.json();
    let repas = all.as_array().unwrap().iter().find(|s| s["source_id"] == "test--abri-canal--repas").unwrap().clone();
    assert_eq!((repas["open_now"].as_bool(), repas["next_change"].as_str()), (Some(true), Some("2026-10-14T17:00:00+02:00")));
    // 21:00: the night shelter is open, the midday meal closed until tomorrow 09:00.
    set_paris(&w.app, 2026, 10, 14, 21, 0);
    let mut c = w.app.session_for(w.field_worker, false).await;
    assert_eq!(open_ids(&c.get("/api/v1/services?open_now=true").await.json()), vec!["test--abri-canal--nuit".to_string()]);
    let all = c.get("/api/v1/services").await.json();
    let repas = all.as_array().unwrap().iter().find(|s| s["source_id"] == "test--abri-canal--repas").unwrap().clone();
    assert_eq!((repas["open_now"].as_bool(), repas["next_change"].as_str()), (Some(false), Some("2026-10-15T09:00:00+02:00")));
    // Saturday 10:00 in winter time: the baths (Sa 08:00-12:00, inherited from their structure).
    set_paris(&w.app, 2026, 11, 14, 10, 0);
    let mut c = w.app.session_for(w.field_worker, false).await;
    assert_eq!(open_ids(&c.get("/api/v1/services?open_now=true").await.json()), vec!["test--bains-est--douches".to_string()]);
    // The page says it in words.
    let page = c.get("/directory?open_now=1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Douches et vestiaire") && page.body.contains("Ouvert maintenant, jusqu&#39;à 12:00"), "{}", page.body);
    assert!(!page.body.contains("Repas du midi"));
    // 11 November (a French public holiday, a Wednesday): the structure closed on public holidays is closed.
    set_paris(&w.app, 2026, 11, 11, 10, 0);
    let mut c = w.app.session_for(w.field_worker, false).await;
    let ids = open_ids(&c.get("/api/v1/services?open_now=true").await.json());
    assert!(!ids.contains(&"test--abri-canal--repas".to_string()), "{ids:?}");
}

#[tokio::test]
async fn search_by_need_territory_public_language_and_words_in_the_page_and_the_api() {
    let w = world().await;
    run(&w, &["structures.json", "services.json", "services-extra.csv"], Options::default()).await;
    let mut c = w.app.session_for(w.field_worker, false).await;
    async fn q(c: &mut Client, path: &str) -> Resp {
        c.get(path).await
    }
    fn ids(v: serde_json::Value) -> Vec<String> {
        let mut out: Vec<String> = v.as_array().unwrap().iter().map(|s| s["source_id"].as_str().unwrap().to_owned()).collect();
        out.sort();
        out
    }
    // A thématique, and its whole category.
    assert_eq!(
        ids(q(&mut c, "/api/v1/services?need=equipement-et-alimentation--alimentation").await.json()),
        vec!["test--abri-canal--repas", "test--bains-est--cafe"]
    );
    assert_eq!(
        ids(q(&mut c, "/api/v1/services?need=equipement-et-alimentation").await.json()),
        vec!["test--abri-canal--repas", "test--bains-est--cafe", "test--bains-est--douches"]
    );
    // A territory: the service's own point, else its structure's.
    assert_eq!(ids(q(&mut c, &format!("/api/v1/services?territory={}", w.t2)).await.json()), vec!["test--bains-est--cafe", "test--bains-est--douches"]);
    assert_eq!(
        ids(q(&mut c, &format!("/api/v1/services?territory={}", w.t1)).await.json()),
        vec!["test--abri-canal--nuit", "test--abri-canal--repas", "test--permanence--droits"]
    );
    // A public: services for everyone match too.
    assert_eq!(
        ids(q(&mut c, "/api/v1/services?public=femmes").await.json()),
        vec!["test--abri-canal--repas", "test--bains-est--cafe", "test--bains-est--douches"]
    );
    // Words in the name of the service or its structure.
    assert_eq!(ids(q(&mut c, "/api/v1/services?q=permanence").await.json()), vec!["test--permanence--droits"]);
    // Accents and case do not matter, on either engine.
    assert_eq!(ids(q(&mut c, "/api/v1/services?q=VETEMENTS").await.json()), vec!["test--bains-est--douches"]);
    assert_eq!(ids(q(&mut c, "/api/v1/services?q=d%C3%A9marches%20exil%C3%A9es").await.json()), vec!["test--permanence--droits"]);
    assert_eq!(c.get("/api/v1/structures?q=EST").await.json().as_array().unwrap().len(), 1);
    // Nearest first from a point.
    let near = q(&mut c, "/api/v1/services?lat=48.05&lon=2.26").await.json();
    assert_eq!(near[0]["structure_nom"], "Bains-douches fictifs de l'Est");
    assert!(near[0]["distance_m"].as_f64().unwrap() < 1000.0);
    // A language (veille's own field).
    assert!(ids(q(&mut c, "/api/v1/services?language=ar").await.json()).is_empty());
    let id = service_id(&w, "test--permanence--droits").await;
    let mut admin = w.app.session_for(w.admin, false).await;
    let version = store::service(w.app.db(), id.parse().unwrap()).await.unwrap().unwrap().service.version.to_string();
    admin.post(&format!("/directory/services/{id}/local"), &[("languages", "ar"), ("languages", "ps"), ("capacity", "unknown"), ("version", &version)]).await;
    assert_eq!(ids(q(&mut c, "/api/v1/services?language=ar").await.json()), vec!["test--permanence--droits"]);
    // Unknown filter values are refused.
    for bad in ["need=sante--inconnue", "territory=T1", "public=tout", "language=xx", "lat=95&lon=2", "limit=0"] {
        assert_eq!(q(&mut c, &format!("/api/v1/services?{bad}")).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // The page lists the same with the filters kept.
    let page = c.get(&format!("/directory?need=equipement-et-alimentation&territory={}", w.t2)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Café et écoute") && page.body.contains("Douches et vestiaire") && !page.body.contains("Repas du midi"), "{}", page.body);
    assert!(page.body.contains("2 services trouvés"));
    // A service page, its structure page, the API objects.
    let douches = service_id(&w, "test--bains-est--douches").await;
    let p = c.get(&format!("/directory/services/{douches}")).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Réservé aux femmes.") && p.body.contains("Bains-douches fictifs de l&#39;Est") && p.body.contains("T2 · Deux"));
    let v = c.get(&format!("/api/v1/services/{douches}")).await.json();
    assert_eq!(
        (v["nom"].as_str(), v["telephone"].as_str(), v["territory_id"].as_str()),
        (Some("Douches et vestiaire"), Some("01 00 00 10 02"), Some(w.t2.to_string().as_str()))
    );
    let st = c.get(&format!("/api/v1/structures/{}", v["structure_id"].as_str().unwrap())).await.json();
    assert_eq!(st["services"].as_array().unwrap().len(), 2);
    assert_eq!(c.get("/api/v1/structures?q=bains").await.json().as_array().unwrap().len(), 1);
    assert_eq!(c.get(&format!("/api/v1/services/{}", veille_domain::ServiceId::new())).await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.get(&format!("/directory/structures/{}", v["structure_id"].as_str().unwrap())).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_picker_offers_services_as_radio_inputs_named_service_id() {
    let w = world().await;
    run(&w, &["structures.json", "services.json"], Options::default()).await;
    set_paris(&w.app, 2026, 10, 14, 10, 0);
    let mut c = w.app.session_for(w.field_worker, false).await;
    let repas = service_id(&w, "test--abri-canal--repas").await;
    // htmx asks with the embedded fieldset's names: a fragment.
    let r = c.get_with("/directory/picker?dir_need=equipement-et-alimentation&dir_open_now=1", &[("hx-request", "true")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("<html"), "a fragment, not a page");
    assert!(r.body.contains(&format!("<input type=\"radio\" name=\"service_id\" value=\"{repas}\"")), "{}", r.body);
    assert!(r.body.contains("Abri fictif du Canal") && r.body.contains("Ouvert maintenant"));
    assert!(!r.body.contains("Douches et vestiaire"), "closed now: filtered out");
    // The chosen one stays offered and checked, whatever the filters.
    let r = c.get_with(&format!("/directory/picker?need=sante&service_id={repas}"), &[("hx-request", "true")]).await;
    assert!(r.body.contains(&format!("value=\"{repas}\" id=\"service_id\" checked")), "{}", r.body);
    // Opened directly (no JavaScript): a page of its own.
    let r = c.get("/directory/picker?need=difficultes-administratives-ou-juridiques").await;
    assert!(r.body.contains("<html") && r.body.contains("Accès aux droits"));
    // No filter yet: nothing offered, a hint.
    let r = c.get_with("/directory/picker", &[("hx-request", "true")]).await;
    assert!(!r.body.contains("type=\"radio\""));
    // What a host form embeds: the filters under dir_* names, a search button that
    // works with htmx and without JavaScript, the results.
    let who = veille_web::auth::authenticate(
        &axum::http::Request::get("/")
            .header("cookie", format!("__Host-veille_session={}", c.cookies["__Host-veille_session"]))
            .body(())
            .unwrap()
            .into_parts()
            .0,
        &w.app.state,
    )
    .await
    .unwrap()
    .unwrap();
    let q = veille_web::directory::SearchQuery { need: "equipement-et-alimentation".into(), selected: repas.clone(), ..Default::default() };
    let html = veille_web::directory::picker::fieldset(&w.app.state, &who, veille_web::i18n::Lang::Fr, &q, "Choisissez un service.").await.unwrap();
    for part in [
        "name=\"dir_need\"",
        "name=\"dir_open_now\"",
        "name=\"dir_search\"",
        "hx-get=\"/directory/picker\"",
        "id=\"service_id-error\"",
        "aria-describedby=\"service_id-error\"",
    ] {
        assert!(html.contains(part), "{part} missing in {html}");
    }
    assert!(!html.contains("formmethod"), "without JavaScript the host form is posted as usual: nothing in the URL");
    assert!(html.contains(&format!("value=\"{repas}\" id=\"service_id\" checked")));
    // A host form receives the picker's fields beside its own (flattened), and
    // knows it was sent to search, not to be saved.
    #[derive(serde::Deserialize)]
    struct Host {
        #[serde(default)]
        reason: String,
        #[serde(default)]
        service_id: String,
        #[serde(flatten)]
        picker: veille_web::directory::picker::PickerForm,
    }
    let body = format!("reason=Besoin+d%27un+repas&service_id={repas}&dir_need=sante&dir_open_now=1&dir_search=1");
    let host: Host = serde_html_form::from_bytes(body.as_bytes()).unwrap();
    assert!(host.picker.searching());
    assert_eq!(host.reason, "Besoin d'un repas");
    let q = host.picker.query(&host.service_id);
    assert_eq!((q.need.as_str(), q.open_now(), q.selected.as_str()), ("sante", true, repas.as_str()));
    let saving: Host = serde_html_form::from_bytes(format!("reason=x&service_id={repas}&dir_need=").as_bytes()).unwrap();
    assert!(!saving.picker.searching());
}

#[tokio::test]
async fn organisations_keep_their_own_entries_and_imported_ones_belong_to_the_instance() {
    let w = world().await;
    run(&w, &["structures.json", "services.json"], Options::default()).await;
    let before = audit_len(&w).await;
    let mut coord = w.app.session_for(w.coordinator, false).await;
    assert_eq!(coord.get("/directory/structures/new").await.status, StatusCode::OK);
    // Validation: messages next to the fields, what was typed kept.
    let r = coord
        .post(
            "/directory/structures",
            &[("name", "AB"), ("siret", "123"), ("opening_hours", "le matin"), ("lat", "48.05"), ("lon", ""), ("email", "pas-un-courriel")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for id in ["name-error", "siret-error", "opening_hours-error", "lat-error", "email-error"] {
        assert!(r.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(r.body.contains("value=\"le matin\""));
    let r = coord
        .post(
            "/directory/structures",
            &[("name", "Local fictif de la maraude A"), ("lat", "48.05"), ("lon", "2.07"), ("opening_hours", "Mo-Fr 18:00-22:00"), ("phone", "01 00 00 20 01")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let path = r.location().unwrap().to_owned();
    let sid = path.rsplit('/').next().unwrap().to_owned();
    let s = store::structure(w.app.db(), sid.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((s.organisation, s.territory, s.source.as_str()), (Some(w.a), Some(w.t1), "veille"));
    let r = coord
        .post(
            &format!("{path}/services"),
            &[
                ("name", "Soupe du soir"),
                ("description", "Une soupe chaude, service inventé."),
                ("themes", "equipement-et-alimentation--alimentation"),
                ("publics", "tous-publics"),
                ("languages", "fr"),
                ("languages", "uk"),
                ("capacity", "available"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let vid = r.location().unwrap().rsplit('/').next().unwrap().to_owned();
    let e = store::service(w.app.db(), vid.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((e.territory(), e.phone(), e.service.local.languages.len()), (Some(w.t1), "01 00 00 20 01", 2));
    assert_eq!(coord.get(&format!("/directory/services/{vid}/edit")).await.status, StatusCode::OK);
    let r = coord
        .post(
            &format!("/directory/services/{vid}"),
            &[
                ("name", "Soupe du soir"),
                ("description", "Une soupe chaude et du pain."),
                ("publics", "tous-publics"),
                ("capacity", "full"),
                ("version", &e.service.version.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let e2 = store::service(w.app.db(), vid.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((e2.service.fields.description.as_str(), e2.service.local.capacity.code()), ("Une soupe chaude et du pain.", "full"));
    // A stale version is refused, not silently overwritten.
    let r = coord
        .post(&format!("/directory/services/{vid}"), &[("name", "Soupe"), ("description", "Autre texte."), ("version", &e.service.version.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(audit_len(&w).await, before + 3, "create structure, create service, update service");

    // Another organisation's coordinator, a field worker: read, not write.
    let mut other = w.app.session_for(w.other_coordinator, false).await;
    assert_eq!(other.get(&path).await.status, StatusCode::OK);
    assert_eq!(other.get(&format!("{path}/edit")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(other.post(&format!("/directory/services/{vid}/local"), &[("capacity", "available"), ("version", "9")]).await.status, StatusCode::FORBIDDEN);
    let mut field = w.app.session_for(w.field_worker, false).await;
    assert_eq!(field.get("/directory/structures/new").await.status, StatusCode::FORBIDDEN);
    assert_eq!(field.post("/directory/structures", &[("name", "Essai")]).await.status, StatusCode::FORBIDDEN);

    // Imported entries: only the instance administrator sets their languages
    // and capacity; their data·inclusion fields change only by re-import.
    let imported = service_id(&w, "test--abri-canal--nuit").await;
    let e = store::service(w.app.db(), imported.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(
        coord.post(&format!("/directory/services/{imported}/local"), &[("capacity", "full"), ("version", &e.service.version.to_string())]).await.status,
        StatusCode::FORBIDDEN
    );
    let mut admin = w.app.session_for(w.admin, false).await;
    assert_eq!(admin.get(&format!("/directory/services/{imported}/edit")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get(&format!("/directory/structures/{}/edit", e.structure.id)).await.status, StatusCode::NOT_FOUND);
    let r = admin.post(&format!("/directory/services/{imported}/local"), &[("capacity", "nope"), ("version", &e.service.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = admin
        .post(
            &format!("/directory/services/{imported}/local"),
            &[("capacity", "full"), ("capacity_note", "complet ce soir"), ("version", &e.service.version.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = field.get(&format!("/directory/services/{imported}")).await.body;
    assert!(page.contains("Complet · complet ce soir"), "{page}");
    assert!(!page.contains("action=\"/directory/services/"), "a field worker sees no form");
    let _ = w.b;
}

#[tokio::test]
async fn the_openapi_document_describes_the_directory() {
    let w = world().await;
    let doc = w.app.client().get("/api/v1/openapi.json").await.json();
    let params: Vec<&str> = doc["paths"]["/services"]["get"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for p in ["need", "territory", "public", "language", "open_now", "q", "lat", "lon", "limit"] {
        assert!(params.contains(&p), "{p}");
    }
    for path in ["/services/{id}", "/structures", "/structures/{id}"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}");
    }
    assert!(doc["components"]["schemas"]["ServiceView"]["properties"]["open_now"].is_object());
}
