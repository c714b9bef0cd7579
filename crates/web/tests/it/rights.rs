//! The rights of the people recorded (issue 17), on the engine under test:
//! retention moves a file through its three stages on the manual clock with
//! the figures of past periods unchanged, a legal hold stops the clock and
//! forbids erasure, the access-request export holds every record of the
//! person from two organisations with its read log (JSON and PDF), an
//! erasure leaves no trace in any text column of any table nor in the outbox,
//! and a backup taken before it is erased again on restore.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use veille_domain::people::{ConsentTerms, Gender, HealthFlag, Language};
use veille_domain::{OrganisationId, PersonId, Role, Timestamp, UserId};
use veille_storage::encounters::{self, EncounterFields};
use veille_storage::figures;
use veille_storage::people::{self, NewConsent, PersonFields};
use veille_storage::referrals::{self, NewReferral};
use veille_storage::retention::{self, Stage};
use veille_storage::sqlx::{self, Column, Row};

use crate::helpers::*;

const DAY: i64 = 86_400;

fn all() -> veille_storage::Scope {
    veille_storage::Scope::instance("test")
}

struct World {
    app: TestApp,
    _journal: tempdir::Dir,
    street: OrganisationId,
    other: OrganisationId,
    instance_admin: UserId,
    admin: UserId,
    coordinator: UserId,
    worker: UserId,
    other_worker: UserId,
}

async fn world() -> World {
    let journal = tempdir::Dir::new();
    let config = veille_web::Config { erasure_journal_file: journal.0.join("erasures.jsonl").display().to_string(), ..Default::default() };
    let app = TestApp::with_config(config).await;
    let street = app.org("Maraude des droits", true).await;
    let other = app.org("Accueil des droits", false).await;
    let instance_admin = app.user(street, Role::InstanceAdmin, "instance@droits.exemple.fr", None, None).await;
    let admin = app.user(street, Role::OrgAdmin, "admin@droits.exemple.fr", None, None).await;
    let coordinator = app.user(street, Role::Coordinator, "coord@droits.exemple.fr", None, None).await;
    let worker = app.user(street, Role::FieldWorker, "terrain@droits.exemple.fr", None, None).await;
    let other_worker = app.user(other, Role::FieldWorker, "terrain@accueil.exemple.fr", None, None).await;
    World { app, _journal: journal, street, other, instance_admin, admin, coordinator, worker, other_worker }
}

fn encounter_at(at: Timestamp, unidentified: i64) -> EncounterFields {
    EncounterFields {
        at,
        lon: None,
        lat: None,
        territory: None,
        place: String::new(),
        site_id: None,
        round_id: None,
        unidentified_count: unidentified,
        actions: vec![],
        follow_up: false,
        follow_up_note: String::new(),
        notes: String::new(),
    }
}

async fn caller(app: &TestApp, user: UserId) -> veille_app::Caller {
    crate::sites::caller(app, user).await
}

/// A person of `org` met once now (with one unidentified companion), with a referral.
async fn met_person(w: &World, org: OrganisationId, by: UserId, pseudonym: &str, birth_year: i32, gender: Gender) -> PersonId {
    let now = w.app.state.clock.now();
    let mut tx = w.app.db().begin().await.unwrap();
    let f = PersonFields { pseudonym: pseudonym.into(), birth_year: Some(birth_year), gender: Some(gender), ..Default::default() };
    let p = people::create(&mut tx, org, &f, by, now).await.unwrap();
    encounters::create(&mut tx, org, &encounter_at(now, 1), &[p], None, by, now).await.unwrap();
    people::record_contact(&mut tx, p, now, now).await.unwrap();
    referrals::create(
        &mut tx,
        org,
        &NewReferral { person: p, partner_name: "Accueil".into(), reason: "Orientation".into(), consent_confirmed: true, ..Default::default() },
        by,
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    p
}

async fn stage(w: &World, p: PersonId) -> Option<Stage> {
    retention::stage_of(w.app.db(), p).await.unwrap()
}

/// What an organisation's figures say of the month, quarter and year
/// holding `at` (and of the twelve months' referral trend), through the
/// storage queries the dashboard uses: every figure that counts people's
/// files. Exact counts, as the organisation's staff see them.
#[derive(Debug, PartialEq)]
struct Counted {
    period: &'static str,
    encounters: figures::EncounterTotals,
    people: Vec<figures::Counts>,
    referrals: Vec<figures::Counts>,
    trend: Vec<i64>,
}

async fn counted(db: &veille_storage::Db, org: OrganisationId, at: Timestamp) -> Vec<Counted> {
    use veille_app::figures::period::Period;
    use veille_storage::figures::{PersonDim, ReferralDim, Slice, Trend};
    let scope = veille_storage::Scope::figures_of(org);
    let d = at.paris_date();
    let mut out = Vec::new();
    use chrono::Datelike;
    for (name, period) in [("month", Period::month_of(d)), ("quarter", Period::quarter_of(d)), ("year", Period::year_of(d))] {
        let s = Slice { from: period.start(), to: period.end(), team: None, territory: None };
        let sorted = |mut c: figures::Counts| {
            c.retain(|(_, n)| *n != 0);
            c.sort();
            c
        };
        let mut people = Vec::new();
        for dim in [PersonDim::Gender, PersonDim::AgeBand { year: period.first.year() }, PersonDim::Novelty] {
            people.push(sorted(figures::people_by(db, &scope, &s, dim).await.unwrap()));
        }
        let mut referrals = Vec::new();
        for dim in [ReferralDim::Service, ReferralDim::Outcome] {
            referrals.push(sorted(figures::referrals_by(db, &scope, &s, dim).await.unwrap()));
        }
        referrals.push(sorted(figures::referrals_by_need(db, &scope, &s, &veille_domain::people::Need::codes()).await.unwrap()));
        let bounds: Vec<Timestamp> = period.trend_months().iter().filter_map(|m| Timestamp::at_paris(*m, 0)).collect();
        let trend = figures::trend(db, &scope, &s, Trend::Referrals, &bounds).await.unwrap();
        out.push(Counted { period: name, encounters: figures::encounter_totals(db, &scope, &s).await.unwrap(), people, referrals, trend });
    }
    out
}

/// The organisation's dashboard of the month holding `at`, as its coordinator sees it.
async fn dashboard(w: &World, at: Timestamp) -> serde_json::Value {
    use veille_app::figures::{period::Period, Audience, Choice};
    let who = caller(&w.app, w.coordinator).await;
    let choice = Choice { period: Period::month_of(at.paris_date()), organisation: w.street, team: None, territory: None };
    let d = veille_app::figures::dashboard(&w.app.state, &who, veille_i18n::Lang::Fr, &choice, Audience::Page).await.unwrap();
    serde_json::to_value(d).unwrap()
}

fn total(c: &figures::Counts) -> i64 {
    c.iter().map(|(_, n)| n).sum()
}

async fn run(w: &World) -> veille_app::rights::RetentionReport {
    veille_app::rights::run_as_instance(&w.app.state).await.unwrap()
}

#[tokio::test]
async fn retention_moves_a_file_through_its_three_stages_and_keeps_the_figures() {
    let w = world().await;
    let then = w.app.state.clock.now();
    let p = met_person(&w, w.street, w.coordinator, "Retenu", 1980, Gender::Man).await;
    let other = met_person(&w, w.street, w.coordinator, "Témoin", 2001, Gender::Woman).await;
    let before = counted(w.app.db(), w.street, then).await;
    let month = &before[0];
    assert_eq!((month.encounters.encounters, month.encounters.unidentified, month.encounters.files), (2, 2, 2), "{month:?}");
    assert_eq!((total(&month.people[0]), total(&month.referrals[1])), (2, 2), "{month:?}");
    let page = dashboard(&w, then).await;
    // The other person is met again later: only the first one's clock runs out.
    w.app.state.clock.advance_seconds(700 * DAY);
    let mut tx = w.app.db().begin().await.unwrap();
    let now = w.app.state.clock.now();
    encounters::create(&mut tx, w.street, &encounter_at(now, 0), &[other], None, w.coordinator, now).await.unwrap();
    people::record_contact(&mut tx, other, now, now).await.unwrap();
    tx.commit().await.unwrap();

    // One day before the active period ends: nothing moves; the dry run says so.
    w.app.state.clock.advance_seconds(29 * DAY);
    let dry = veille_app::rights::dry_run_as_instance(&w.app.state).await.unwrap();
    assert_eq!((dry.to_archive, dry.to_anonymise, dry.active), (0, 0, 2));
    run(&w).await;
    assert_eq!(stage(&w, p).await, Some(Stage::Active));

    // 730 days after the last contact: the restricted archive.
    w.app.state.clock.advance_seconds(DAY);
    let dry = veille_app::rights::dry_run_as_instance(&w.app.state).await.unwrap();
    assert_eq!((dry.to_archive, dry.to_anonymise), (1, 0));
    let r = run(&w).await;
    assert!(!r.dry_run && r.to_archive == 1);
    assert_eq!(stage(&w, p).await, Some(Stage::Archived));
    assert_eq!(stage(&w, other).await, Some(Stage::Active));
    // Out of lists and pages for the organisation's accounts…
    let coordinator = caller(&w.app, w.coordinator).await;
    let listed = people::list(w.app.db(), &coordinator.scope(), &Default::default()).await.unwrap();
    assert!(listed.iter().all(|x| x.id != p) && listed.iter().any(|x| x.id == other));
    assert!(matches!(people::get(w.app.db(), &coordinator.scope(), p).await, Err(veille_storage::StorageError::NotFound)));
    let mut c = w.app.session_for(w.coordinator, false).await;
    assert_eq!(c.get(&format!("/people/{p}")).await.status, StatusCode::NOT_FOUND);
    // …readable by its coordinator with a reason (audited), not by a field worker.
    let lang = veille_app::Lang::Fr;
    let search = |reason: &str| veille_app::rights::ArchiveSearch { text: "Retenu".into(), reason: reason.into() };
    assert!(veille_app::rights::search_archive(&w.app.state, &coordinator, lang, &search("nothing")).await.unwrap().is_err());
    let read = veille_app::rights::search_archive(&w.app.state, &coordinator, lang, &search("request_of_person")).await.unwrap().unwrap();
    assert_eq!(read.iter().map(|x| (x.id, x.fields.pseudonym.as_str())).collect::<Vec<_>>(), [(p, "Retenu")]);
    let worker = caller(&w.app, w.worker).await;
    assert!(veille_app::rights::search_archive(&w.app.state, &worker, lang, &search("request_of_person")).await.is_err());
    veille_app::instance::seal_audit(&w.app.state).await.unwrap();
    let log = veille_storage::audit::naming(w.app.db(), &p.to_string()).await.unwrap();
    assert!(log.iter().any(|e| e.action == "read_archive" && e.detail.contains("request_of_person")));
    assert!(log.iter().any(|e| e.action == "retention" && e.detail.contains("archived")));
    assert_eq!(counted(w.app.db(), w.street, then).await, before, "archiving changes no figure");

    // 1095 days in the archive: anonymised, the figures unchanged.
    w.app.state.clock.advance_seconds(1094 * DAY);
    run(&w).await;
    assert_eq!(stage(&w, p).await, Some(Stage::Archived));
    w.app.state.clock.advance_seconds(DAY);
    let r = run(&w).await;
    assert_eq!(r.to_anonymise, 1);
    assert_eq!(stage(&w, p).await, Some(Stage::Anonymised));
    let row = sqlx::query("SELECT pseudonym, birth_year, gender FROM people WHERE id = $1").bind(p.to_string()).fetch_one(w.app.db().pool()).await.unwrap();
    assert_eq!(row.try_get::<String, _>("pseudonym").unwrap(), "");
    assert_eq!(row.try_get::<Option<i64>, _>("birth_year").unwrap(), None);
    assert_eq!(row.try_get::<String, _>("gender").unwrap(), "unknown");
    for table in ["encounter_people", "referrals"] {
        let n: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE person_id = $1")).bind(p.to_string()).fetch_one(w.app.db().pool()).await.unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(counted(w.app.db(), w.street, then).await, before, "anonymising changes no figure of a past period");
    assert_eq!(dashboard(&w, then).await, page, "nor the dashboard of that month");
    // The other person (met later) is archived by now, not anonymised.
    assert_eq!(stage(&w, other).await, Some(Stage::Archived));
}

#[tokio::test]
async fn a_legal_hold_stops_the_clock_and_forbids_erasure() {
    let w = world().await;
    let p = met_person(&w, w.street, w.coordinator, "Gelé", 1970, Gender::Woman).await;
    let mut admin = w.app.session_for(w.admin, false).await;
    // A reason is required.
    let r = admin.post(&format!("/rights/people/{p}/holds"), &[("reason", "  ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = admin.post(&format!("/rights/people/{p}/holds"), &[("reason", "Réquisition judiciaire n° 12")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // A field worker may not.
    let mut worker = w.app.session_for(w.worker, false).await;
    assert_eq!(worker.post(&format!("/rights/people/{p}/holds"), &[("reason", "x")]).await.status, StatusCode::FORBIDDEN);
    // Held: no erasure.
    let r = admin.post(&format!("/rights/people/{p}/erase"), &[("erase_reason", "consent_withdrawn")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stage(&w, p).await, Some(Stage::Active));
    // 800 days later, still active: the clock stopped.
    w.app.state.clock.advance_seconds(800 * DAY);
    let r = run(&w).await;
    assert_eq!((r.held, r.to_archive), (1, 0));
    assert_eq!(stage(&w, p).await, Some(Stage::Active));
    // (A new session: the first one ended while the clock moved.)
    let mut admin = w.app.session_for(w.admin, false).await;
    let page = admin.get("/rights").await;
    assert!(page.body.contains("Réquisition judiciaire n° 12"), "the holds are listed");
    // Lifted (reason required): the clock runs again from where it stopped.
    let hold = retention::holds(w.app.db(), &all(), Some(p)).await.unwrap().remove(0);
    assert_eq!(admin.post(&format!("/rights/holds/{}/lift", hold.id), &[("lift_reason", "")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A refused reason comes back as typed, next to its hold.
    let long = format!("Levée-typée-{}", "x".repeat(500));
    let r = admin.post(&format!("/rights/holds/{}/lift", hold.id), &[("lift_reason", &long)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(&long) && r.body.contains("500 caractères"), "{}", r.body);
    let r = admin.post(&format!("/rights/holds/{}/lift", hold.id), &[("lift_reason", "Affaire classée")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    w.app.state.clock.advance_seconds(729 * DAY);
    run(&w).await;
    assert_eq!(stage(&w, p).await, Some(Stage::Active));
    w.app.state.clock.advance_seconds(DAY);
    run(&w).await;
    assert_eq!(stage(&w, p).await, Some(Stage::Archived));
}

#[tokio::test]
async fn the_instance_admin_sees_the_dry_run_and_runs_retention() {
    let w = world().await;
    met_person(&w, w.street, w.coordinator, "Compté", 1990, Gender::Man).await;
    w.app.state.clock.advance_seconds(731 * DAY);
    let mut c = w.app.session_for(w.instance_admin, false).await;
    let r = c.get("/api/v1/retention").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["to_archive"], 1);
    let page = c.get("/rights").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("retention-counts") && !page.body.contains("Compté"), "counts only");
    let mut en = w.app.session_for(w.instance_admin, false).await;
    en.post("/lang", &[("lang", "en"), ("back", "/")]).await;
    assert!(en.get("/rights").await.body.contains("Files to move to the restricted archive"));
    assert_eq!(c.post("/rights/retention", &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(c.get("/api/v1/retention").await.json()["archived"], 1);
    // An organisation's administrator sees the holds, not the instance's report.
    let mut admin = w.app.session_for(w.admin, false).await;
    assert_eq!(admin.get("/api/v1/retention").await.status, StatusCode::FORBIDDEN);
    assert!(!admin.get("/rights").await.body.contains("retention-counts"));
    // The notice's years follow the configuration.
    let config = veille_web::Config { retention_active_days: 365, retention_archive_days: 1800, ..Default::default() };
    assert_eq!(veille_app::instance::retention_years(&config), (1, 5));
    assert_eq!(veille_app::instance::retention_years(&veille_web::Config::default()), (2, 3));
}

/// Two files of the same person in two organisations, linked; health, notes,
/// consent, referral, encounter; read by a coordinator.
#[tokio::test]
async fn an_access_request_holds_every_record_of_the_person_and_its_read_log() {
    let w = world().await;
    let now = w.app.state.clock.now();
    let a = met_person(&w, w.street, w.coordinator, "Accès-ALPHA-5501", 1985, Gender::Man).await;
    let b = met_person(&w, w.other, w.other_worker, "Accès-BETA-5502", 1985, Gender::Man).await;
    let mut tx = w.app.db().begin().await.unwrap();
    people::link(&mut tx, a, b, &[], w.coordinator, now).await.unwrap();
    people::add_note(&mut tx, a, w.coordinator, None, "NOTE-ACCES-5503", now).await.unwrap();
    people::set_health(&mut tx, a, &[HealthFlag::Injury], "SANTE-ACCES-5504", w.coordinator, 0, now).await.unwrap();
    tx.commit().await.unwrap();
    // A coordinator reads the file: the read is in the log exported.
    let mut coord = w.app.session_for(w.coordinator, false).await;
    assert_eq!(coord.get(&format!("/people/{a}")).await.status, StatusCode::OK);

    let mut admin = w.app.session_for(w.admin, false).await;
    let r = admin.get(&format!("/rights/people/{a}/access.json")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let export: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let files = export["files"].as_array().unwrap();
    let ids: Vec<&str> = files.iter().map(|f| f["person"].as_str().unwrap()).collect();
    assert!(ids.contains(&a.to_string().as_str()) && ids.contains(&b.to_string().as_str()), "both organisations' files");
    let orgs: Vec<&str> = files.iter().map(|f| f["organisation_name"].as_str().unwrap()).collect();
    assert!(orgs.contains(&"Maraude des droits") && orgs.contains(&"Accueil des droits"));
    let text = r.body.clone();
    for planted in ["Accès-ALPHA-5501", "Accès-BETA-5502", "NOTE-ACCES-5503", "Orientation"] {
        assert!(text.contains(planted), "{planted} in the export");
    }
    // Health: the administrator holds no health group: withheld, and said so.
    assert!(!text.contains("SANTE-ACCES-5504"));
    assert_eq!(export["withheld_groups"], serde_json::json!(["health"]));
    let file_a = files.iter().find(|f| f["person"] == a.to_string()).unwrap();
    let tables: BTreeMap<&str, &serde_json::Value> = file_a["tables"].as_array().unwrap().iter().map(|t| (t["table"].as_str().unwrap(), &t["rows"])).collect();
    for t in ["people", "person_notes", "person_health", "person_links", "referrals", "encounter_people", "encounters"] {
        assert!(tables.contains_key(t), "{t} in the export: {:?}", tables.keys());
    }
    let log = file_a["log"].as_array().unwrap();
    assert!(
        log.iter().any(|e| e["action"] == "read" && e["account"] == w.coordinator.to_string() && e["organisation"] == "Maraude des droits"),
        "the coordinator's read in the log: {log:?}"
    );
    // The PDF says the same, readably.
    let pdf = admin.get(&format!("/rights/people/{a}/access.pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.bytes.starts_with(b"%PDF"));
    let pdf_text = pdf_text(&pdf.bytes);
    for planted in ["ALPHA-5501", "BETA-5502", "NOTE-ACCES-5503", "Maraude des droits", "Accueil des droits"] {
        assert!(pdf_text.contains(planted), "{planted} in the PDF:\n{pdf_text}");
    }
    assert!(!pdf_text.contains("SANTE-ACCES-5504"));
    // The API gives the same export; the requests are audited.
    let api = admin.get(&format!("/api/v1/people/{a}/access-request")).await;
    assert_eq!(api.status, StatusCode::OK);
    assert_eq!(api.json()["files"].as_array().unwrap().len(), 2);
    veille_app::instance::seal_audit(&w.app.state).await.unwrap();
    let entries = veille_storage::audit::naming(w.app.db(), &a.to_string()).await.unwrap();
    assert!(entries.iter().filter(|e| e.action == "access_request").count() >= 3);
    // Organisation B's administrator may not ask for organisation A's file; a worker may not at all.
    let other_admin = w.app.user(w.other, Role::OrgAdmin, "admin@accueil.exemple.fr", None, None).await;
    let mut c = w.app.session_for(other_admin, false).await;
    assert_eq!(c.get(&format!("/rights/people/{a}/access.json")).await.status, StatusCode::FORBIDDEN);
    let mut c = w.app.session_for(w.worker, false).await;
    assert_eq!(c.get(&format!("/rights/people/{a}/access.json")).await.status, StatusCode::FORBIDDEN);
}

/// Every text value of every table of the database, with its table and column.
async fn every_text(db: &veille_storage::Db) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for table in veille_storage::backup::table_names(db).await.unwrap() {
        let rows = sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(db.pool()).await.unwrap();
        for row in &rows {
            for (i, col) in row.columns().iter().enumerate() {
                if let Ok(Some(v)) = row.try_get::<Option<String>, _>(i) {
                    // Sealed values (health, justice) opened, as the key's holder reads them.
                    let v = veille_storage::personal::reveal(db, &table, col.name(), v).await.unwrap();
                    out.push((table.clone(), col.name().to_owned(), v));
                }
            }
        }
    }
    out
}

/// Where a person's traces may stay by design: the audit log (tamper-evident,
/// its entries name the record by id and hold no personal data) and the
/// erasure journal (ids only) — decision 81.
fn allowed_to_keep_the_id(table: &str) -> bool {
    matches!(table, "audit_log" | "erasures")
}

const MARKERS: &[&str] = &[
    "EFFACE-PSEUDO-7731",
    "EFFACE-ALIAS-7731",
    "0611227731",
    "EFFACE-PRENOM-7731",
    "EFFACE-NOM-7731",
    "EFFACE-SANTE-7731",
    "EFFACE-NOTE-7731",
    "EFFACE-MOTIF-7731",
    "EFFACE-HIST-7731",
    "EFFACE-SYNC-7731",
    "EFFACE-CONFLIT-7731",
    "EFFACE-ATTENTE-7731",
];

/// A phone's change of one of the person's fields, from the version no phone changed.
fn sync_set(seq: i64, person: PersonId, field: &str, value: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"op_id": uuid::Uuid::now_v7().to_string(), "seq": seq, "kind": "set",
        "set": {"entity": "person", "id": person.to_string(), "field": field, "value": value, "base": {"number": 0, "by": null}}})
}

/// A new device of the client's account.
async fn new_device(c: &mut Client) -> String {
    let device = uuid::Uuid::now_v7().to_string();
    assert_eq!(c.post_json("/api/v1/sync/devices", &serde_json::json!({"device_id": device})).await.status, StatusCode::OK);
    device
}

/// Operations sent from a device: the state and reason of each reply.
async fn synced(c: &mut Client, device: &str, ops: &[serde_json::Value]) -> Vec<String> {
    let r = c.post_json("/api/v1/sync/ops", &serde_json::json!({"device_id": device, "ops": ops})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| format!("{}{}", o["state"].as_str().unwrap(), o["reason"].as_str().map(|r| format!(" {r}")).unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn an_erasure_leaves_no_trace_keeps_the_figures_and_survives_a_restore() {
    let w = world().await;
    let now = w.app.state.clock.now();
    let witness = met_person(&w, w.street, w.coordinator, "Témoin", 1960, Gender::Woman).await;
    let elsewhere = met_person(&w, w.other, w.other_worker, "Ailleurs", 1960, Gender::Woman).await;
    let mut tx = w.app.db().begin().await.unwrap();
    let f = PersonFields {
        pseudonym: "EFFACE-PSEUDO-7731".into(),
        aliases: vec!["EFFACE-ALIAS-7731".into()],
        birth_year: Some(1975),
        gender: Some(Gender::Man),
        languages: vec![Language::Fr],
        phone: Some("0611227731".into()),
        civil_given_name: Some("EFFACE-PRENOM-7731".into()),
        civil_family_name: Some("EFFACE-NOM-7731".into()),
        ..Default::default()
    };
    let e = people::create(&mut tx, w.street, &f, w.coordinator, now).await.unwrap();
    people::set_health(&mut tx, e, &[HealthFlag::Injury], "EFFACE-SANTE-7731", w.coordinator, 0, now).await.unwrap();
    people::add_note(&mut tx, e, w.coordinator, None, "EFFACE-NOTE-7731", now).await.unwrap();
    let consent = people::add_consent(
        &mut tx,
        e,
        w.street,
        &NewConsent {
            terms: ConsentTerms { told_purpose: true, told_access: true, told_rights: true, agrees_identifying: true, agrees_sharing: true },
            language: Language::Fr,
            interpreter: false,
            given_at: now,
        },
        w.coordinator,
        now,
    )
    .await
    .unwrap();
    people::share(&mut tx, e, w.other, people::ShareBasis::Consent, Some(&consent), None, w.coordinator, now).await.unwrap();
    // Met with the witness (and one unidentified person); referred; linked to
    // a file of the other organisation; marked distinct from the witness.
    encounters::create(&mut tx, w.street, &encounter_at(now, 1), &[e, witness], None, w.coordinator, now).await.unwrap();
    // Met alone, with care given: that encounter's notes and care are about them only.
    let mut alone = encounter_at(now, 0);
    alone.notes = "EFFACE-NOTE-7731 au square".into();
    encounters::create(&mut tx, w.street, &alone, &[e], Some("EFFACE-SANTE-7731"), w.coordinator, now).await.unwrap();
    referrals::create(
        &mut tx,
        w.street,
        &NewReferral { person: e, partner_name: "Accueil".into(), reason: "EFFACE-MOTIF-7731".into(), consent_confirmed: true, ..Default::default() },
        w.coordinator,
        now,
    )
    .await
    .unwrap();
    people::link(&mut tx, e, elsewhere, &[], w.coordinator, now).await.unwrap();
    people::mark_distinct(&mut tx, e, witness, w.coordinator, now).await.unwrap();
    retention::record_change(&mut tx, e, w.coordinator, "pseudonym", "EFFACE-HIST-7731", "EFFACE-PSEUDO-7731", now).await.unwrap();
    // The file came from a spreadsheet line.
    veille_storage::imports::remember(&mut tx, w.street, "person", "cle-de-ligne-7731", &e.to_string(), w.coordinator, now).await.unwrap();
    veille_storage::outbox::enqueue(&mut tx, "partenaire@exemple.fr", "Orientation", "Au sujet de EFFACE-PSEUDO-7731", now).await.unwrap();
    veille_storage::outbox::enqueue(&mut tx, "autre@exemple.fr", "Autre", "Sans rapport", now).await.unwrap();
    tx.commit().await.unwrap();
    let mut coord = w.app.session_for(w.coordinator, false).await;
    // Offline sync: a phone's change of the pseudonym, a second phone's
    // competing value (a conflict), and a third's change held behind a gap.
    let phones = [new_device(&mut coord).await, new_device(&mut coord).await, new_device(&mut coord).await];
    assert_eq!(synced(&mut coord, &phones[0], &[sync_set(1, e, "pseudonym", "EFFACE-SYNC-7731".into())]).await, ["applied"]);
    assert_eq!(synced(&mut coord, &phones[1], &[sync_set(1, e, "pseudonym", "EFFACE-CONFLIT-7731".into())]).await, ["conflict"]);
    assert_eq!(synced(&mut coord, &phones[2], &[sync_set(2, e, "pseudonym", "EFFACE-ATTENTE-7731".into())]).await, ["held"]);
    // A read, so the audit log names the file.
    assert_eq!(coord.get(&format!("/people/{e}")).await.status, StatusCode::OK);
    let before = counted(w.app.db(), w.street, now).await;
    let month = &before[0];
    // Three encounters; the erased file, the witness and two unidentified;
    // the erased file is linked to a file of the other organisation.
    assert_eq!((month.encounters.encounters, month.encounters.unidentified, month.encounters.files), (3, 2, 2), "{month:?}");
    assert_eq!((total(&month.people[0]), total(&month.referrals[1])), (2, 2), "{month:?}");
    let page = dashboard(&w, now).await;
    let texts = every_text(w.app.db()).await;
    for m in MARKERS {
        assert!(texts.iter().any(|(_, _, v)| v.contains(m)), "{m} is planted");
    }
    // A backup before the erasure.
    let mut dump = Vec::new();
    veille_storage::backup::dump(w.app.db(), &w.app.state.audit, &mut dump).await.unwrap();

    // Erased by the organisation's administrator, with a ground.
    let mut admin = w.app.session_for(w.admin, false).await;
    assert_eq!(admin.post(&format!("/rights/people/{e}/erase"), &[("erase_reason", "")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = admin.post(&format!("/rights/people/{e}/erase"), &[("erase_reason", "consent_withdrawn")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let id = e.to_string();
    for (table, column, v) in every_text(w.app.db()).await {
        for m in MARKERS {
            assert!(!v.contains(m), "{m} left in {table}.{column}");
        }
        if !allowed_to_keep_the_id(&table) {
            assert!(!v.contains(&id), "the person's id left in {table}.{column}");
        }
    }
    let mails: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(w.app.db().pool()).await.unwrap();
    assert_eq!(mails, 1, "the mail naming them is gone, the other stays");
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT record_id FROM import_keys WHERE import_key = 'cle-de-ligne-7731'").fetch_all(w.app.db().pool()).await.unwrap();
    assert_eq!(keys, vec![String::new()], "the line's key stays (no re-import brings them back), naming no file");
    assert_eq!(counted(w.app.db(), w.street, now).await, before, "the figures of the past periods are unchanged");
    assert_eq!(dashboard(&w, now).await, page, "and so is the dashboard");
    let tallies: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM figure_tallies").fetch_one(w.app.db().pool()).await.unwrap();
    assert!(tallies > 0, "what the erased file counted is kept as tallies");
    // The others are still there; the other organisation's file is not erased.
    assert!(people::get(w.app.db(), &all(), witness).await.is_ok() && people::get(w.app.db(), &all(), elsewhere).await.is_ok());
    assert_eq!(people::group_of(w.app.db(), elsewhere).await.unwrap(), vec![elsewhere]);
    assert!(people::distinct_from(w.app.db(), witness).await.unwrap().is_empty());
    let erased = retention::erasures(w.app.db()).await.unwrap();
    assert_eq!(erased.len(), 1);
    assert_eq!(erased[0].person_id, id);

    // The backup taken before restores into a new database: the journal erases the person again.
    let target = TestDb::new().await;
    // The restoring instance holds the field keys of the one that wrote the backup.
    target.db.set_field_keys((*w.app.db().field_keys().unwrap()).clone());
    veille_storage::backup::restore(&target.db, std::io::Cursor::new(&dump)).await.unwrap();
    assert!(every_text(&target.db).await.iter().any(|(_, _, v)| v.contains("EFFACE-PSEUDO-7731")), "the backup holds the person");
    let again = veille_app::rights::reapply_erasures(&target.db, &w.app.state.config, w.app.state.clock.now()).await.unwrap();
    assert_eq!(again, 1);
    for (table, column, v) in every_text(&target.db).await {
        for m in MARKERS {
            assert!(!v.contains(m), "{m} back in {table}.{column} after the restore");
        }
        if !allowed_to_keep_the_id(&table) {
            assert!(!v.contains(&id), "the person's id back in {table}.{column} after the restore");
        }
    }
    assert_eq!(counted(&target.db, w.street, now).await, before, "the figures survive the restore and the erasure again");
    assert_eq!(veille_app::rights::reapply_erasures(&target.db, &w.app.state.config, w.app.state.clock.now()).await.unwrap(), 0, "once is enough");
    // The phone whose change was held sends what it lacked: the change is refused (the file is gone), shown on the phone.
    let filled = synced(
        &mut coord,
        &phones[2],
        &[serde_json::json!({"op_id": uuid::Uuid::now_v7().to_string(), "seq": 1, "kind": "encounter",
        "encounter": {"actions": ["listening"], "unidentified_count": 1}})],
    )
    .await;
    assert_eq!(filled, ["applied"]);
    let held: String = sqlx::query_scalar("SELECT reply FROM sync_ops WHERE seq = 2").fetch_one(w.app.db().pool()).await.unwrap();
    assert!(held.contains("not_found"), "{held}");
}

#[tokio::test]
async fn a_rectification_keeps_the_history_of_the_field() {
    let w = world().await;
    let mut coord = w.app.session_for(w.coordinator, false).await;
    let r = coord.post("/people", &[("pseudonym", "Avant-8801"), ("duplicates_reviewed", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = r.location().unwrap().trim_start_matches("/people/").to_owned();
    let p: PersonId = id.parse().unwrap();
    let person = people::get(w.app.db(), &all(), p).await.unwrap();
    let r = coord.post(&format!("/people/{id}"), &[("pseudonym", "Apres-8802"), ("version", &person.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let history = retention::changes(w.app.db(), &all(), p).await.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!((history[0].field.as_str(), history[0].old_value.as_str(), history[0].new_value.as_str()), ("pseudonym", "Avant-8801", "Apres-8802"));
    assert_eq!(history[0].by, Some(w.coordinator));
    let page = coord.get(&format!("/people/{id}")).await;
    assert!(page.body.contains("Avant-8801") && page.body.contains("Apres-8802"), "the history is on the file");
    // Another organisation's worker does not read the file, nor its history.
    let mut other = w.app.session_for(w.other_worker, false).await;
    assert_eq!(other.get(&format!("/people/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_coordinator_finds_an_archived_file_with_a_reason_and_the_read_is_logged() {
    let w = world().await;
    let p = met_person(&w, w.street, w.coordinator, "Archivé-Zeta", 1977, Gender::Man).await;
    let kept = met_person(&w, w.street, w.coordinator, "Zeta-Actif", 1990, Gender::Man).await;
    w.app.state.clock.advance_seconds(731 * DAY);
    let mut tx = w.app.db().begin().await.unwrap();
    let now = w.app.state.clock.now();
    encounters::create(&mut tx, w.street, &encounter_at(now, 0), &[kept], None, w.coordinator, now).await.unwrap();
    people::record_contact(&mut tx, kept, now, now).await.unwrap();
    tx.commit().await.unwrap();
    run(&w).await;
    assert_eq!(stage(&w, p).await, Some(Stage::Archived));

    let mut coord = w.app.session_for(w.coordinator, false).await;
    // Out of the list, which links to the archive.
    let list = coord.get("/people").await;
    assert!(!list.body.contains("Archivé-Zeta") && list.body.contains("/rights/archive"), "{}", list.body);
    assert_eq!(coord.get("/rights/archive").await.status, StatusCode::OK);
    // A reason and two characters are required; what was typed comes back.
    let r = coord.post("/rights/archive", &[("text", "z"), ("reason", "continuity_of_care")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("au moins 2 caractères") && r.body.contains(r#"value="continuity_of_care" selected"#), "{}", r.body);
    let r = coord.post("/rights/archive", &[("text", "zeta"), ("reason", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(r#"value="zeta""#) && !r.body.contains("Archivé-Zeta"));
    // Found (the active namesake is not in the archive), and logged with the reason.
    let r = coord.post("/rights/archive", &[("text", "ZETA"), ("reason", "continuity_of_care")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Archivé-Zeta") && r.body.contains("1 dossier archivé trouvé") && !r.body.contains("Zeta-Actif"), "{}", r.body);
    let logged: Vec<(String, String)> = sqlx::query("SELECT record_id, detail FROM audit_log WHERE action = 'read_archive'")
        .fetch_all(w.app.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("record_id"), r.get::<String, _>("detail")))
        .collect();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].0, p.to_string());
    assert!(logged[0].1.contains("continuity_of_care") && !logged[0].1.contains("ZETA"), "the reason, not the search: {}", logged[0].1);
    // A field worker may not; another organisation's coordinator finds nothing of ours.
    let mut worker = w.app.session_for(w.worker, false).await;
    assert_eq!(worker.get("/rights/archive").await.status, StatusCode::FORBIDDEN);
    let elsewhere = w.app.user(w.other, Role::Coordinator, "coord@accueil.exemple.fr", None, None).await;
    let mut other = w.app.session_for(elsewhere, false).await;
    let r = other.post("/rights/archive", &[("text", "zeta"), ("reason", "continuity_of_care")]).await;
    assert!(r.status == StatusCode::OK && !r.body.contains("Archivé-Zeta"));
}

#[tokio::test]
async fn a_malformed_file_id_is_a_form_error_that_keeps_what_was_typed() {
    let w = world().await;
    let mut admin = w.app.session_for(w.admin, false).await;
    let r = admin.get("/rights?person=pas-un-identifiant").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(r#"value="pas-un-identifiant""#) && r.body.contains("copiez-le depuis la page du dossier"), "{}", r.body);
}
