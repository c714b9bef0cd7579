//! People, encounters and referrals end to end, on the engine under test:
//! pseudonym-first files and the consent identifying data needs, the health
//! field group in the page, the API and the export, probable duplicates
//! linked and unlinked by a person, encounters with a new person, referrals
//! answered by a partner user and through the partner link, expiry back to
//! the sender on the manual clock, sharing, households, the schema's
//! minimisation.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use veille_domain::people::ConsentTerms;
use veille_domain::{OrganisationId, PersonId, ReferralId, Role, TerritoryId, Timestamp, UserId};
use veille_storage::encounters::{self, EncounterFields};
use veille_storage::people::{self, NewConsent, PersonFields};
use veille_storage::referrals::NewReferral;
use veille_storage::sqlx::{self, Row};
use veille_storage::{Backend, Tx};

use crate::helpers::*;

/// The tests read back what they wrote, whoever wrote it.
fn all() -> veille_storage::Scope {
    veille_storage::Scope::instance("test")
}

/// Planted in the health sections of the matrix's people: no answer to
/// another role than health professionals may contain it.
pub const HEALTH_MARKER: &str = "SANTE-PLANTEE-4417";

/// One person (with a health section, a health note and care given), one
/// encounter and one referral of `org`, for the authorization matrix (the
/// `{id}` of the people, encounters and referrals routes).
pub async fn matrix_objects(tx: &mut Tx, org: OrganisationId, by: UserId, now: Timestamp) -> BTreeMap<&'static str, String> {
    let person = people::create(tx, org, &PersonFields { pseudonym: "Matrice".into(), ..Default::default() }, by, now).await.unwrap();
    people::set_health(tx, person, &[veille_domain::people::HealthFlag::Injury], HEALTH_MARKER, by, 0, now).await.unwrap();
    people::add_note(tx, person, by, Some(veille_domain::FieldGroup::Health), HEALTH_MARKER, now).await.unwrap();
    let encounter = encounters::create(tx, org, &fields_at(now), &[person], Some(HEALTH_MARKER), by, now).await.unwrap();
    let referral = referrals::create(
        tx,
        org,
        &NewReferral { person, partner_name: "Partenaire".into(), reason: "Motif de test".into(), consent_confirmed: true, ..Default::default() },
        by,
        now,
    )
    .await
    .unwrap();
    BTreeMap::from([("person", person.to_string()), ("encounter", encounter.to_string()), ("referral", referral.to_string())])
}

pub(crate) fn fields_at(at: Timestamp) -> EncounterFields {
    EncounterFields {
        at,
        lon: None,
        lat: None,
        territory: None,
        place: String::new(),
        site_id: None,
        round_id: None,
        unidentified_count: 0,
        actions: vec![],
        follow_up: false,
        follow_up_note: String::new(),
        notes: String::new(),
    }
}

struct World {
    app: TestApp,
    street: OrganisationId,
    other: OrganisationId,
    day_centre: OrganisationId,
    t1: TerritoryId,
    coordinator: UserId,
    worker: UserId,
    nurse: UserId,
    admin: UserId,
    other_worker: UserId,
    partner: UserId,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let street = app.org("Maraude de test", true).await;
    let other = app.org("Autre association", false).await;
    let day_centre = app.org("Accueil de jour de test", false).await;
    let coordinator = app.user(street, Role::Coordinator, "coord@maraude.exemple.fr", None, None).await;
    let worker = app.user(street, Role::FieldWorker, "terrain@maraude.exemple.fr", None, Some(vec![t1])).await;
    let nurse = app.user(street, Role::HealthProfessional, "sante@maraude.exemple.fr", None, None).await;
    let admin = app.user(street, Role::OrgAdmin, "admin@maraude.exemple.fr", None, None).await;
    let other_worker = app.user(other, Role::FieldWorker, "terrain@autre.exemple.fr", None, None).await;
    let partner = app.user(day_centre, Role::Partner, "accueil@jour.exemple.fr", None, None).await;
    World { app, street, other, day_centre, t1, coordinator, worker, nurse, admin, other_worker, partner }
}

async fn person_count(w: &World) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM people").fetch_one(w.app.db().pool()).await.unwrap()
}

/// The id in a redirect to `/people/{id}` (or another `/{kind}/{id}`).
fn id_in(r: &Resp) -> String {
    let loc = r.location().unwrap_or_else(|| panic!("no redirect: {} {}", r.status, r.body));
    loc.rsplit('/').next().unwrap().to_owned()
}

async fn audit_of(w: &World, record: &str) -> Vec<(String, String)> {
    sqlx::query("SELECT action, detail FROM audit_log WHERE record_id = $1 ORDER BY seq")
        .bind(record)
        .fetch_all(w.app.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("action"), r.get::<String, _>("detail")))
        .collect()
}

async fn mails(w: &World) -> Vec<(String, String, String)> {
    sqlx::query("SELECT to_address, subject, body_text FROM outbox ORDER BY created_at, id")
        .fetch_all(w.app.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("to_address"), r.get("subject"), r.get("body_text")))
        .collect()
}

const INFORMED: &[(&str, &str)] =
    &[("consent_purpose", "1"), ("consent_access", "1"), ("consent_rights", "1"), ("consent_language", "ar"), ("consent_interpreter", "1")];

#[tokio::test]
async fn the_schema_holds_no_ethnicity_religion_politics_nor_precise_nationality() {
    let tdb = TestDb::new().await;
    let tables = ["people", "person_health", "consents", "households", "household_children", "encounters", "referrals", "person_notes"];
    let forbidden = ["ethni", "race", "relig", "faith", "politic", "opinion", "origin", "country", "birthplace", "birth_place", "citizenship", "passport"];
    for table in tables {
        let columns: Vec<String> = match tdb.db.backend() {
            Backend::Sqlite => {
                sqlx::query(&format!("PRAGMA table_info({table})")).fetch_all(tdb.db.pool()).await.unwrap().iter().map(|r| r.get::<String, _>("name")).collect()
            }
            Backend::Postgres => {
                sqlx::query_scalar("SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1")
                    .bind(table)
                    .fetch_all(tdb.db.pool())
                    .await
                    .unwrap()
            }
        };
        assert!(!columns.is_empty(), "{table} exists");
        for c in &columns {
            assert!(!forbidden.iter().any(|f| c.contains(f)), "{table}.{c} looks like a field veille must not have");
        }
    }
    assert_eq!(veille_domain::people::Nationality::codes(), vec!["france", "eu", "outside_eu", "unknown"]);
}

#[tokio::test]
async fn a_pseudonym_is_enough_and_identifying_data_needs_a_consent_that_agrees() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    assert_eq!(c.get("/people/new").await.status, StatusCode::OK);
    // Pseudonym only: a file, no consent record (the page asks to inform the person).
    let r = c.post("/people", &[("pseudonym", "Zora"), ("age", "40"), ("nationality", "outside_eu")]).await;
    let zora = id_in(&r);
    let page = c.get(&format!("/people/{zora}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Zora") && page.body.contains("id=\"no-consent\"") && page.body.contains("Hors Union européenne"));
    // A phone without consent: refused next to the field, nothing written.
    let before = person_count(&w).await;
    let r = c.post("/people", &[("pseudonym", "Yanis"), ("phone", "06 11 22 33 44"), ("duplicates_reviewed", "1")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("phone-error") && r.body.contains("value=\"06 11 22 33 44\""), "the form keeps what was typed");
    // Told everything, but no agreement to identifying data: still refused.
    let mut told: Vec<(&str, &str)> = vec![("pseudonym", "Yanis"), ("phone", "06 11 22 33 44"), ("duplicates_reviewed", "1")];
    told.extend_from_slice(INFORMED);
    assert_eq!(c.post("/people", &told).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A nationality more precise than the four values is refused.
    let r = c.post("/people", &[("pseudonym", "Yanis"), ("nationality", "algerienne")]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("nationality-error"));
    assert_eq!(person_count(&w).await, before);
    // With the agreement: saved, with its consent record.
    told.push(("consent_identifying", "1"));
    let yanis = id_in(&c.post("/people", &told).await);
    let p = people::get(w.app.db(), &all(), yanis.parse().unwrap()).await.unwrap();
    assert_eq!(p.fields.phone.as_deref(), Some("0611223344"));
    let consent = people::current_consent(w.app.db(), &all(), p.id).await.unwrap().unwrap();
    assert!(consent.terms.allows_identifying() && consent.interpreter);
    assert_eq!((consent.language.code(), consent.recorded_by), ("ar", w.coordinator));
    // Every read of a file is audited (page, edit form and API), never with its content.
    c.get(&format!("/people/{yanis}")).await;
    c.get(&format!("/people/{yanis}/edit")).await;
    let mut api = w.app.session_for(w.coordinator, false).await;
    let r = api.get(&format!("/api/v1/people/{yanis}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["phone"], "0611223344");
    let audit = audit_of(&w, &yanis).await;
    assert_eq!(audit.iter().filter(|(a, _)| a == "read").count(), 3, "{audit:?}");
    assert!(audit.iter().any(|(a, d)| a == "create" && d.contains("\"identifying\":true") && d.contains("consent")));
    assert!(!audit.iter().any(|(_, d)| d.contains("Yanis") || d.contains("0611223344")), "no personal data in the audit log");
    // Withdrawing consent erases the identifying data.
    let r = c.post(&format!("/people/{yanis}/consent/withdraw"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = people::get(w.app.db(), &all(), p.id).await.unwrap();
    assert!(!p.fields.has_identifying());
    assert!(people::current_consent(w.app.db(), &all(), p.id).await.unwrap().is_none());
    // Then a phone is refused again on edit.
    let r = c.post(&format!("/people/{yanis}"), &[("pseudonym", "Yanis"), ("phone", "0611223344"), ("version", &p.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A stale edit is refused, not applied.
    let r = c.post(&format!("/people/{yanis}"), &[("pseudonym", "Yanis B."), ("version", "1")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn health_fields_are_seen_by_health_professionals_only_in_page_api_and_export() {
    let w = world().await;
    let marker = "MARQUEUR-SANTE-7731";
    let mut coord = w.app.session_for(w.coordinator, false).await;
    let id = id_in(&coord.post("/people", &[("pseudonym", "Fantine")]).await);
    let mut nurse = w.app.session_for(w.nurse, false).await;
    // The nurse writes the health section and a health note.
    let r = nurse.post(&format!("/people/{id}/health"), &[("flags", "chronic_illness"), ("notes", marker), ("version", "0")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = nurse.post(&format!("/people/{id}/notes"), &[("body", &format!("{marker} note")), ("health", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    coord.post(&format!("/people/{id}/notes"), &[("body", "Note sociale ordinaire")]).await;
    // Others may not write it.
    for user in [w.coordinator, w.worker, w.admin] {
        let mut c = w.app.session_for(user, false).await;
        let r = c.post(&format!("/people/{id}/health"), &[("flags", "addiction"), ("notes", "x"), ("version", "1")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}");
        let r = c.post(&format!("/people/{id}/notes"), &[("body", "x"), ("health", "1")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    // Page, API, export: the marker for the nurse only.
    let page = nurse.get(&format!("/people/{id}")).await.body;
    assert!(page.contains(marker) && page.contains("id=\"health\"") && page.contains("Maladie chronique"));
    let api = nurse.get(&format!("/api/v1/people/{id}")).await.json();
    assert_eq!(api["health"]["notes"], marker);
    let csv = nurse.get("/people.csv").await.body;
    assert!(csv.lines().next().unwrap().ends_with("health_flags") && csv.contains("chronic_illness"));
    for user in [w.coordinator, w.worker, w.admin] {
        let mut c = w.app.session_for(user, false).await;
        let page = c.get(&format!("/people/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains(marker) && !page.body.contains("id=\"health\"") && !page.body.contains("Maladie chronique"), "{user}");
        assert!(page.body.contains("Note sociale ordinaire"));
        let api = c.get(&format!("/api/v1/people/{id}")).await;
        assert!(api.json().get("health").is_none() && !api.body.contains(marker));
        let csv = c.get("/people.csv").await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(!csv.body.contains("health") && !csv.body.contains("chronic_illness") && !csv.body.contains("Fantine"), "{}", csv.body);
    }
    // The "who can see the health section" panel lists the nurse only.
    let page = coord.get(&format!("/people/{id}")).await.body;
    let health_panel = &page[page.find("who-can-see-health").unwrap()..];
    assert!(health_panel.contains(&w.nurse.to_string()) && !health_panel.contains(&w.coordinator.to_string()));
    // Care given during an encounter: written by health professionals only.
    let r = coord.post("/encounters", &[("people", &id), ("care", "Pansement")]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("Seuls les professionnels de santé"), "{}", r.body);
    let r = nurse.post("/encounters", &[("people", &id), ("actions", "care"), ("care", &format!("{marker} soin"))]).await;
    let enc = id_in(&r);
    assert!(nurse.get(&format!("/encounters/{enc}")).await.body.contains(marker));
    assert_eq!(nurse.get(&format!("/api/v1/encounters/{enc}")).await.json()["care_notes"], format!("{marker} soin"));
    let page = coord.get(&format!("/encounters/{enc}")).await;
    assert!(page.status == StatusCode::OK && !page.body.contains(marker));
    assert!(coord.get(&format!("/api/v1/encounters/{enc}")).await.json().get("care_notes").is_none());
}

#[tokio::test]
async fn probable_duplicates_are_shown_while_creating_then_linked_and_unlinked_by_a_person() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let first = id_in(&c.post("/people", &[("pseudonym", "Gavroche"), ("aliases", "Le Gamin"), ("birth_year", "1990"), ("gender", "man")]).await);
    assert!(c.get("/people").await.body.contains("suggestions apprises de 0 décision "), "no decision yet");
    c.post("/encounters", &[("people", &first), ("place", "Sous le pont")]).await;
    // Another organisation's look-alike is never suggested here.
    let mut other = w.app.session_for(w.other_worker, false).await;
    id_in(&other.post("/people", &[("pseudonym", "Gavroche"), ("birth_year", "1990"), ("gender", "man")]).await);
    // While typing (htmx), and on sending: the existing file with what agrees.
    let typed = [("pseudonym", "Gavroch"), ("age", ""), ("birth_year", "1991"), ("gender", "man")];
    let r = c.post("/people/suggestions", &typed).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&format!("/people/{first}")) && r.body.contains("Année de naissance : à 1 an près"), "{}", r.body);
    assert_eq!(r.body.matches("/people/").count(), 1, "only the file this worker may read: {}", r.body);
    let before = person_count(&w).await;
    let r = c.post("/people", &typed).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"suggestions-title\"") && r.body.contains("duplicates_reviewed"));
    assert_eq!(person_count(&w).await, before, "nothing is created before the suggestions were seen");
    let mut reviewed = typed.to_vec();
    reviewed.push(("duplicates_reviewed", "1"));
    let second = id_in(&c.post("/people", &reviewed).await);
    // The new file suggests the first one; the link is a person's decision.
    let page = c.get(&format!("/people/{second}")).await.body;
    assert!(page.contains("id=\"duplicates\"") && page.contains(&format!("name=\"other\" value=\"{first}\"")));
    assert!(people::group_of(w.app.db(), second.parse().unwrap()).await.unwrap().len() == 1, "nothing merged automatically");
    let r = c.post(&format!("/people/{second}/link"), &[("other", &first)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The people page says how many decisions the suggestions learned from:
    // the one before while the new decision is learned (in the background),
    // then this one.
    let page = c.get("/people").await.body;
    assert!(page.contains("suggestions apprises de 0 décision ") && page.contains("en cours d&#39;apprentissage"), "{page}");
    veille_app::people::duplicates::settled(&w.app.state).await.unwrap();
    let page = c.get("/people").await.body;
    assert!(page.contains("suggestions apprises de 1 décision ") && !page.contains("en cours d&#39;apprentissage"), "{page}");
    let page = c.get(&format!("/people/{second}")).await.body;
    let linked = &page[page.find("id=\"linked\"").expect("linked files")..];
    assert!(linked.contains(&first));
    assert!(page.contains("Sous le pont"), "the merged view shows the other file's encounter");
    assert!(!page.contains("id=\"duplicates\""), "a linked file is no longer suggested");
    // Both files and their histories are kept.
    let (a, b) =
        (people::get(w.app.db(), &all(), first.parse().unwrap()).await.unwrap(), people::get(w.app.db(), &all(), second.parse().unwrap()).await.unwrap());
    assert_eq!((a.fields.pseudonym.as_str(), b.fields.pseudonym.as_str()), ("Gavroche", "Gavroch"));
    // A third look-alike sees the linked pair once.
    let r = c.post("/people/suggestions", &[("pseudonym", "Gavroche"), ("birth_year", "1990"), ("gender", "man")]).await;
    assert_eq!(r.body.matches("class=\"suggestion\"").count(), 1, "{}", r.body);
    assert!(r.body.contains(&first) && r.body.contains(&second));
    // Unlink: back to two files, suggested again; the link history stays.
    let r = c.post(&format!("/people/{second}/unlink"), &[("other", &first)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/people/{second}")).await.body;
    assert!(!page.contains("id=\"linked\"") && page.contains("id=\"duplicates\""));
    let history = people::link_history(w.app.db(), second.parse().unwrap()).await.unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].unlinked_at.is_some() && history[0].agreements.contains(&"names".to_string()), "{history:?}");
    for id in [&first, &second] {
        let audit = audit_of(&w, id).await;
        assert!(audit.iter().any(|(_, d)| d.contains("\"field\":\"link\"")), "{id}: {audit:?}");
        assert!(audit.iter().any(|(_, d)| d.contains("\"field\":\"unlink\"")));
    }
    // The link undone is a decision too (the latest one on a pair counts).
    veille_app::people::duplicates::settled(&w.app.state).await.unwrap();
    assert!(c.get("/people").await.body.contains("suggestions apprises de 1 décision "));
    // "Another person": not suggested again.
    c.post(&format!("/people/{second}/distinct"), &[("other", &first)]).await;
    assert!(!c.get(&format!("/people/{second}")).await.body.contains("id=\"duplicates\""));
    // Linking with a file the worker may not change is refused.
    let theirs = people::list(w.app.db(), &all(), &people::Filter { organisation: Some(w.other), ..Default::default() }).await.unwrap()[0].id.to_string();
    let r = c.post(&format!("/people/{second}/link"), &[("other", &theirs)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_edited_file_is_suggested_by_its_new_values_and_territories_limit_suggestions() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let t2 = veille_storage::territories::id_by_code(w.app.db(), "T2").await.unwrap().unwrap();
    let id = id_in(&c.post("/people", &[("pseudonym", "Cosette"), ("birth_year", "1996"), ("gender", "woman"), ("territory", &t2.to_string())]).await);
    let probe = [("pseudonym", "Cosette"), ("birth_year", "1996"), ("gender", "woman")];
    assert!(c.post("/people/suggestions", &probe).await.body.contains(&id));
    // The field worker works on T1 only: a file of T2 is not suggested to them.
    let mut worker = w.app.session_for(w.worker, false).await;
    assert!(!worker.post("/people/suggestions", &probe).await.body.contains(&id));
    // Renamed: found by the new name only.
    let p = people::get(w.app.db(), &all(), id.parse().unwrap()).await.unwrap();
    let r = c
        .post(
            &format!("/people/{id}"),
            &[("pseudonym", "Éponine"), ("birth_year", "2000"), ("gender", "woman"), ("territory", &t2.to_string()), ("version", &p.version.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(!c.post("/people/suggestions", &probe).await.body.contains(&id));
    assert!(c.post("/people/suggestions", &[("pseudonym", "Eponine"), ("birth_year", "2000"), ("gender", "woman")]).await.body.contains(&id));
    let audit = audit_of(&w, &id).await;
    assert!(audit.iter().any(|(a, d)| a == "update" && d.contains("pseudonym") && !d.contains("Éponine")), "{audit:?}");
}

#[tokio::test]
async fn an_encounter_with_a_new_person_records_the_consent_and_the_seams() {
    let w = world().await;
    let mut c = w.app.session_for(w.worker, false).await;
    // A round of the worker's team, with a stop at a site (the round's page links here).
    let r = c.post("/sites", &[("name", "Sous le pont (test)"), ("kind", "camp"), ("lat", "48.05"), ("lon", "2.05"), ("land_owner", "unknown")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let site = id_in(&r);
    let now = w.app.state.clock.now();
    let mut tx = w.app.db().begin().await.unwrap();
    let team = veille_storage::teams::create(&mut tx, w.street, "Maraude du soir", "social", now).await.unwrap();
    veille_storage::teams::add_member(&mut tx, team, w.worker).await.unwrap();
    veille_storage::teams::add_member(&mut tx, team, w.nurse).await.unwrap();
    let new_round = veille_storage::rounds::NewRound {
        organisation: w.street,
        team,
        circuit: None,
        slot: None,
        territory: Some(w.t1),
        planned_start: now,
        planned_end: now.plus_seconds(3 * 3600),
    };
    let stop = veille_storage::rounds::NewStop { site: Some(site.parse().unwrap()), report: None, label: "Sous le pont (test)".into(), point: None };
    let round = veille_storage::rounds::create_round(&mut tx, &new_round, &[stop], w.coordinator, now).await.unwrap().to_string();
    tx.commit().await.unwrap();
    let expected = now.plus_seconds(3 * 3600).to_paris_input();
    let r = c
        .post(
            &format!("/rounds/{round}/check-in"),
            &[("members", &w.worker.to_string()), ("members", &w.nurse.to_string()), ("expected_return", &expected), ("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get(&format!("/rounds/{round}")).await.body;
    assert!(page.contains(&format!("/encounters/new?round={round}&amp;site={site}")), "each stop of a started round links to an encounter there");
    let form = c.get(&format!("/encounters/new?site={site}&round={round}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(&format!("value=\"{site}\"")) && form.body.contains(&format!("value=\"{round}\"")));
    // A site or round that does not exist (or is not readable) is refused.
    let r = c.post("/encounters", &[("lat", "48.05"), ("lon", "2.05"), ("unidentified", "1"), ("site_id", "site-42"), ("round_id", "round-7")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("site_id-error") && r.body.contains("round_id-error"), "{}", r.body);
    let at = veille_web::people::input::local_input(w.app.state.clock.now().plus_seconds(-3600));
    let mut fields: Vec<(&str, &str)> = vec![
        ("at", &at),
        ("lat", "48.05"),
        ("lon", "2.05"),
        ("place", "Sous le pont"),
        ("site_id", &site),
        ("round_id", &round),
        ("unidentified", "2"),
        ("actions", "listening"),
        ("actions", "distribution"),
        ("follow_up", "1"),
        ("follow_up_note", "Revenir avec un duvet"),
        ("new_pseudonym", "Marius"),
        ("new_age", "38"),
        ("new_gender", "man"),
    ];
    fields.extend_from_slice(INFORMED);
    let r = c.post("/encounters", &fields).await;
    let enc: veille_domain::EncounterId = id_in(&r).parse().unwrap();
    let e = encounters::get(w.app.db(), &all(), enc).await.unwrap();
    assert_eq!((e.fields.site_id.as_deref(), e.fields.round_id.as_deref()), (Some(site.as_str()), Some(round.as_str())));
    assert_eq!((e.fields.territory, e.fields.unidentified_count, e.people.len()), (Some(w.t1), 2, 1));
    assert!(e.fields.follow_up && e.fields.actions.len() == 2);
    let marius = people::get(w.app.db(), &all(), e.people[0]).await.unwrap();
    assert_eq!((marius.fields.pseudonym.as_str(), marius.fields.territory), ("Marius", Some(w.t1)));
    assert_eq!(marius.last_contact_at, Some(e.fields.at));
    assert!(people::current_consent(w.app.db(), &all(), marius.id).await.unwrap().unwrap().terms.informed());
    let page = c.get(&format!("/encounters/{enc}")).await.body;
    assert!(page.contains(&format!("/people/{}", marius.id)) && page.contains("Revenir avec un duvet"));
    assert!(page.contains(&format!("href=\"/sites/{site}\"")) && page.contains(&format!("href=\"/rounds/{round}\"")));
    // The same new person again: suggested first; "it is this person" uses the file.
    let again = [("new_pseudonym", "Marius"), ("new_age", "38"), ("new_gender", "man"), ("lat", "48.05"), ("lon", "2.05")];
    let r = c.post("/encounters", &again).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&format!("name=\"use_person\" value=\"{}\"", marius.id)));
    let mut chosen = again.to_vec();
    let id = marius.id.to_string();
    chosen.push(("use_person", &id));
    let enc2: veille_domain::EncounterId = id_in(&c.post("/encounters", &chosen).await).parse().unwrap();
    assert_eq!(encounters::get(w.app.db(), &all(), enc2).await.unwrap().people, vec![marius.id]);
    assert_eq!(person_count(&w).await, 1);
    // The round's daily report starts from its encounters: Marius (a new file)
    // and two unidentified people; the later encounter outside the round is not counted.
    let report = c.get(&format!("/rounds/{round}/report")).await.body;
    let met = report.replace("&#39;", "'");
    assert!(
        met.contains(
            "D'après 1 rencontre notée pendant la tournée : 3 personnes, dont 1 rencontrée pour la première fois, 0 déjà rencontrée et 2 non identifiées."
        ),
        "{report}"
    );
    for (field, value) in [("people_total", "3"), ("people_new", "1"), ("people_known", "0")] {
        assert!(report.contains(&format!("name=\"{field}\" inputmode=\"numeric\" value=\"{value}\"")), "{field} = {value}");
    }
    // Outside the worker's territories, a person of another organisation: refused.
    let r = c.post("/encounters", &[("lat", "48.05"), ("lon", "2.25")]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("lat-error"));
    let mut other = w.app.session_for(w.other_worker, false).await;
    let theirs = id_in(&other.post("/people", &[("pseudonym", "Bahorel")]).await);
    let r = c.post("/encounters", &[("people", &theirs)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Another organisation's encounter is not found.
    assert_eq!(other.get(&format!("/encounters/{enc}")).await.status, StatusCode::NOT_FOUND);
}

async fn send_to_day_centre(w: &World) -> (PersonId, ReferralId) {
    let mut c = w.app.session_for(w.coordinator, false).await;
    let person = id_in(
        &c.post(
            "/people",
            &[
                ("pseudonym", "Jean V."),
                ("age", "57"),
                ("languages", "fr"),
                ("languages", "ro"),
                ("phone", "0612000000"),
                ("consent_identifying", "1"),
                ("consent_purpose", "1"),
                ("consent_access", "1"),
                ("consent_rights", "1"),
                ("consent_language", "fr"),
            ],
        )
        .await,
    );
    assert_eq!(c.get(&format!("/referrals/new?person={person}")).await.status, StatusCode::OK);
    let r = c
        .post(
            "/referrals",
            &[("person", &person), ("partner_organisation", &w.day_centre.to_string()), ("reason", "Douche et laverie"), ("consent_confirmed", "1")],
        )
        .await;
    let referral: ReferralId = id_in(&r).parse().unwrap();
    assert_eq!(referrals::get(w.app.db(), &all(), referral).await.unwrap().status.code(), "proposed");
    (person.parse().unwrap(), referral)
}

#[tokio::test]
async fn a_referral_goes_from_proposed_to_done_answered_by_a_partner_user() {
    let w = world().await;
    let (person, referral) = send_to_day_centre(&w).await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let mut partner = w.app.session_for(w.partner, false).await;
    // Proposed: not in the partner's queue yet.
    assert!(!partner.get("/referrals").await.body.contains(&referral.to_string()));
    let v = referrals::get(w.app.db(), &all(), referral).await.unwrap().version.to_string();
    let r = c.post(&format!("/referrals/{referral}/send"), &[("version", &v)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let sent = referrals::get(w.app.db(), &all(), referral).await.unwrap();
    assert_eq!(sent.status.code(), "sent");
    assert!(!sent.has_link, "a partner with accounts answers from its queue, no link");
    // The partner user is told "a referral awaits you", never who.
    let m = mails(&w).await;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].0, "accueil@jour.exemple.fr");
    assert!(m[0].2.contains(&format!("/referrals/{referral}")) && !m[0].2.contains("Jean") && !m[0].2.contains("Douche"), "{}", m[0].2);
    // The queue and the referral: only what the referral needs.
    assert!(partner.get("/referrals").await.body.contains(&format!("/referrals/{referral}")));
    let page = partner.get(&format!("/referrals/{referral}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Jean V.") && page.body.contains("Douche et laverie") && page.body.contains("Roumain"));
    assert!(!page.body.contains("0612000000") && !page.body.contains(&format!("/people/{person}")), "no identifying data, no file");
    assert_eq!(partner.get(&format!("/people/{person}")).await.status, StatusCode::NOT_FOUND, "the partner does not read the file");
    let api = partner.get(&format!("/api/v1/referrals/{referral}")).await.json();
    assert!(api.get("person_id").is_none() && api["person"]["pseudonym"] == "Jean V.");
    // The sender cannot answer for the partner; the partner answers.
    let r = c.post(&format!("/referrals/{referral}/answer"), &[("status", "accepted"), ("version", &sent.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = partner
        .post(&format!("/referrals/{referral}/answer"), &[("status", "accepted"), ("message", "Demain 9 h"), ("version", &sent.version.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let accepted = referrals::get(w.app.db(), &all(), referral).await.unwrap();
    assert_eq!((accepted.status.code(), accepted.answer.as_str(), accepted.answered_via.as_deref()), ("accepted", "Demain 9 h", Some("queue")));
    let m = mails(&w).await;
    assert_eq!(m.len(), 2);
    assert_eq!(m[1].0, "coord@maraude.exemple.fr");
    assert!(!m[1].2.contains("Jean") && !m[1].2.contains("Demain"));
    // Done, recorded by the sender; the timeline holds every step.
    let r = c.post(&format!("/referrals/{referral}/outcome"), &[("status", "done"), ("version", &accepted.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(referrals::get(w.app.db(), &all(), referral).await.unwrap().status.code(), "done");
    let steps: Vec<Option<String>> =
        veille_storage::timeline::of(w.app.db(), veille_domain::records::RecordKind::Referral, referral).await.unwrap().into_iter().map(|e| e.to).collect();
    assert_eq!(steps, vec![Some("proposed".into()), Some("sent".into()), Some("accepted".into()), Some("done".into())]);
    let audit = audit_of(&w, &referral.to_string()).await;
    for step in ["\"to\":\"sent\"", "\"to\":\"accepted\"", "\"to\":\"done\""] {
        assert!(audit.iter().any(|(_, d)| d.contains(step)), "{step}: {audit:?}");
    }
    assert!(audit.iter().any(|(a, d)| a == "read" && d.contains("partner")));
    // Another organisation sees nothing of it.
    let mut other = w.app.session_for(w.other_worker, false).await;
    assert_eq!(other.get(&format!("/referrals/{referral}")).await.status, StatusCode::NOT_FOUND);
    // The file's "who can see" panel names the partner through the referral share only.
    assert!(people::shares(w.app.db(), &all(), person).await.unwrap().iter().any(|s| s.organisation == w.day_centre));
    assert!(!people::consent_shares(w.app.db(), &all(), person).await.unwrap().contains(&w.day_centre));
}

fn link_and_code(body: &str) -> (String, String) {
    let url_at = body.find("id=\"partner-url\"").expect("the partner link is shown once");
    let value = &body[url_at..];
    let value = &value[value.find("value=\"").unwrap() + 7..];
    let url = &value[..value.find('"').unwrap()];
    let path = url[url.find("/orientation/").unwrap()..].to_owned();
    let code_at = body.find("id=\"partner-code\">").unwrap() + "id=\"partner-code\">".len();
    (path, body[code_at..code_at + 6].to_owned())
}

#[tokio::test]
async fn a_partner_without_accounts_answers_through_the_expiring_link_with_the_code_given_orally() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let person = id_in(&c.post("/people", &[("pseudonym", "Fantine"), ("age", "50")]).await);
    let r = c
        .post(
            "/referrals",
            &[
                ("person", &person),
                ("partner_name", "PASS de l'hôpital"),
                ("partner_email", "pass@hopital.exemple.fr"),
                ("reason", "Consultation"),
                ("consent_confirmed", "1"),
                ("send", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "the link and code are shown once, not redirected to");
    let (path, code) = link_and_code(&r.body);
    assert!(path.len() > "/orientation/".len() + 40);
    let referral = referrals::list_all(&w).await;
    // The partner's mail: the link, never the code nor the person.
    let m = mails(&w).await;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].0, "pass@hopital.exemple.fr");
    assert!(m[0].2.contains(&path) && !m[0].2.contains(&code) && !m[0].2.contains("Fantine"));
    // Shown once: the referral page does not show them again.
    let page = c.get(&format!("/referrals/{referral}")).await.body;
    assert!(!page.contains(&path) && !page.contains(&format!(">{code}<")));
    // The link asks for the code; a wrong code shows nothing.
    let mut partner = w.app.client();
    let form = partner.get(&path).await;
    assert!(form.status == StatusCode::OK && !form.body.contains("Fantine") && form.body.contains("id=\"code\""));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = partner.post(&path, &[("code", wrong)]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && !r.body.contains("Fantine") && r.body.contains("code-error"));
    // The right code: only what the referral needs, then the answer.
    let r = partner.post(&path, &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Fantine") && r.body.contains("Consultation") && r.body.contains("value=\"accepted\""));
    let r = partner.post(&path, &[("code", &code), ("status", "accepted"), ("message", "Lundi 14 h")]).await;
    assert!(r.status == StatusCode::OK && r.body.contains("id=\"thanks\""));
    let answered = referrals::get(w.app.db(), &all(), referral).await.unwrap();
    assert_eq!((answered.status.code(), answered.answered_via.as_deref(), answered.answered_by), ("accepted", Some("link"), None));
    // The outcome through the link too; then the link ends.
    let r = partner.post(&path, &[("code", &code), ("status", "done")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(referrals::get(w.app.db(), &all(), referral).await.unwrap().status.code(), "done");
    assert_eq!(partner.get(&path).await.status, StatusCode::NOT_FOUND);
    let audit = audit_of(&w, &referral.to_string()).await;
    assert!(audit.iter().any(|(a, d)| a == "read" && d.contains("partner_link")));
    assert!(audit.iter().filter(|(_, d)| d.contains("partner_link")).count() >= 3, "{audit:?}");
}

#[tokio::test]
async fn a_partner_link_expires_and_wrong_codes_revoke_it() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let person = id_in(&c.post("/people", &[("pseudonym", "Éponine")]).await);
    let r =
        c.post("/referrals", &[("person", &person), ("partner_name", "Bagagerie"), ("reason", "Consigne"), ("consent_confirmed", "1"), ("send", "1")]).await;
    let (path, code) = link_and_code(&r.body);
    let mut partner = w.app.client();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(partner.post(&path, &[("code", wrong)]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = partner.post(&path, &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "revoked after five wrong codes, even with the right one");
    // A fresh link (sent again after it expired) works until its own expiry.
    let referral = referrals::list_all(&w).await;
    w.app.state.clock.advance_seconds(8 * 86_400);
    assert_eq!(veille_app::people::referrals::expire_due(&w.app.state).await.unwrap(), 1);
    let v = referrals::get(w.app.db(), &all(), referral).await.unwrap().version.to_string();
    // (Sessions end after 30 idle minutes: a new one after the days passed.)
    let mut c = w.app.session_for(w.coordinator, false).await;
    let r = c.post(&format!("/referrals/{referral}/send"), &[("version", &v)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (path, code) = link_and_code(&r.body);
    assert_eq!(partner.post(&path, &[("code", &code)]).await.status, StatusCode::OK);
    w.app.state.clock.advance_seconds(31 * 86_400);
    assert_eq!(partner.get(&path).await.status, StatusCode::NOT_FOUND, "the link expired");
}

#[tokio::test]
async fn an_unanswered_referral_expires_back_to_its_sender() {
    let w = world().await;
    let (_, referral) = send_to_day_centre(&w).await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let v = referrals::get(w.app.db(), &all(), referral).await.unwrap().version.to_string();
    c.post(&format!("/referrals/{referral}/send"), &[("version", &v)]).await;
    // Not yet due.
    w.app.state.clock.advance_seconds(6 * 86_400);
    assert_eq!(veille_app::people::referrals::expire_due(&w.app.state).await.unwrap(), 0);
    // Due: back to the sender, who is told; the partner can no longer accept it.
    w.app.state.clock.advance_seconds(86_400 + 60);
    assert_eq!(veille_app::people::referrals::expire_due(&w.app.state).await.unwrap(), 1);
    assert_eq!(veille_app::people::referrals::expire_due(&w.app.state).await.unwrap(), 0, "once");
    let r = referrals::get(w.app.db(), &all(), referral).await.unwrap();
    assert_eq!(r.status.code(), "expired");
    // (Sessions end after 30 idle minutes: new ones after the days passed.)
    let mut c = w.app.session_for(w.coordinator, false).await;
    let m = mails(&w).await;
    let last = m.last().unwrap();
    assert_eq!(last.0, "coord@maraude.exemple.fr");
    assert!(last.1.contains("revenue") && last.2.contains(&format!("/referrals/{referral}")) && !last.2.contains("Jean"));
    let page = c.get(&format!("/referrals/{referral}")).await.body;
    assert!(page.contains("id=\"expired\"") && page.contains("Renvoyer"), "{page}");
    let mut partner = w.app.session_for(w.partner, false).await;
    let a = partner.post(&format!("/referrals/{referral}/answer"), &[("status", "accepted"), ("version", &r.version.to_string())]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let audit = audit_of(&w, &referral.to_string()).await;
    assert!(audit.iter().any(|(_, d)| d.contains("\"to\":\"expired\"") && d.contains("expiry")));
    // Sent again: a new deadline.
    let r2 = c.post(&format!("/referrals/{referral}/send"), &[("version", &r.version.to_string())]).await;
    assert_eq!(r2.status, StatusCode::SEE_OTHER);
    let again = referrals::get(w.app.db(), &all(), referral).await.unwrap();
    assert_eq!(again.status.code(), "sent");
    assert!(again.answer_due_at.unwrap() > w.app.state.clock.now());
}

#[tokio::test]
async fn a_referral_without_consent_needs_an_urgent_reason_which_is_audited() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let person = id_in(&c.post("/people", &[("pseudonym", "Combeferre")]).await);
    let r = c.post("/referrals", &[("person", &person), ("partner_name", "Urgences"), ("reason", "Malaise grave")]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("consent_confirmed-error"));
    let r = c
        .post(
            "/referrals",
            &[("person", &person), ("partner_name", "Urgences"), ("reason", "Malaise grave"), ("urgent_reason", "Personne inconsciente, SAMU appelé")],
        )
        .await;
    let id = id_in(&r);
    let stored = referrals::get(w.app.db(), &all(), id.parse().unwrap()).await.unwrap();
    assert!(!stored.consent_confirmed && stored.urgent_override_reason.as_deref() == Some("Personne inconsciente, SAMU appelé"));
    let audit = audit_of(&w, &id).await;
    assert!(audit.iter().any(|(a, d)| a == "create" && d.contains("\"urgent_override\":true") && !d.contains("SAMU")), "{audit:?}");
}

#[tokio::test]
async fn a_file_shared_by_consent_is_read_by_the_other_organisation_until_the_consent_is_withdrawn() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let id = id_in(&c.post("/people", &[("pseudonym", "Enjolras")]).await);
    let mut other = w.app.session_for(w.other_worker, false).await;
    assert_eq!(other.get(&format!("/people/{id}")).await.status, StatusCode::NOT_FOUND);
    // No consent to sharing yet: refused.
    let r = c.post(&format!("/people/{id}/share"), &[("organisation", &w.other.to_string())]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("share-error"));
    let mut consent: Vec<(&str, &str)> = INFORMED.to_vec();
    consent.push(("consent_sharing", "1"));
    assert_eq!(c.post(&format!("/people/{id}/consent"), &consent).await.status, StatusCode::SEE_OTHER);
    assert_eq!(c.post(&format!("/people/{id}/share"), &[("organisation", &w.other.to_string())]).await.status, StatusCode::SEE_OTHER);
    let page = other.get(&format!("/people/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(other.get("/people").await.body.contains(&id), "listed for the organisation it is shared with");
    // The panel says so, and agrees with the API.
    let panel = c.get(&format!("/api/v1/access/people/{id}")).await.json();
    assert!(panel.as_array().unwrap().iter().any(|e| e["user_id"] == w.other_worker.to_string() && e["reason"] == "shared_with_organisation"));
    // The shared organisation may not share it further.
    let r = other.post(&format!("/people/{id}/share"), &[("organisation", &w.day_centre.to_string())]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Consent withdrawn: no longer shared.
    c.post(&format!("/people/{id}/consent/withdraw"), &[]).await;
    assert_eq!(other.get(&format!("/people/{id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn leaving_the_active_list_with_a_reason_and_households() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let mother = id_in(&c.post("/people", &[("pseudonym", "Cosette")]).await);
    let partner = id_in(&c.post("/people", &[("pseudonym", "Marius P.")]).await);
    let r = c.post(&format!("/people/{mother}/household"), &[("action", "create"), ("kind", "family"), ("children", "3, 7")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = c.post(&format!("/people/{mother}/household"), &[("action", "add"), ("member", &partner)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/people/{partner}")).await.body;
    assert!(page.contains("Famille avec enfants") && page.contains(&format!("/people/{mother}")) && page.contains("3, 7"));
    let r = c.post(&format!("/people/{mother}/household"), &[("action", "create"), ("kind", "family"), ("children", "trois")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Leaving the active list: a reason from the list.
    let p = people::get(w.app.db(), &all(), mother.parse().unwrap()).await.unwrap();
    let r = c.post(&format!("/people/{mother}/exit"), &[("reason", "moved"), ("version", &p.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.post(&format!("/people/{mother}/exit"), &[("reason", "housed"), ("version", &p.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = people::get(w.app.db(), &all(), p.id).await.unwrap();
    assert!(!p.active && p.exit_reason.map(|r| r.code()) == Some("housed") && p.exit_at.is_some());
    assert!(!c.get("/people").await.body.contains(&mother));
    assert!(c.get("/people?left=1").await.body.contains(&mother));
    c.post(&format!("/people/{mother}/return"), &[("version", &p.version.to_string())]).await;
    assert!(people::get(w.app.db(), &all(), p.id).await.unwrap().active);
}

#[tokio::test]
async fn the_api_writes_and_reads_with_the_same_rules_as_the_pages() {
    let w = world().await;
    let now = w.app.state.clock.now();
    let token = veille_web::security::random_token();
    let mut tx = w.app.db().begin().await.unwrap();
    veille_storage::tokens::create(&mut tx, w.coordinator, "api", &veille_web::security::token_hash(&token), &["read", "write"], now, now.plus_seconds(86_400))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut api = w.app.client();
    api.bearer = Some(token);
    // Validation: one message per field, in the caller's language.
    let r = api.post_json("/api/v1/people", &serde_json::json!({"pseudonym": "", "phone": "06 12 34 56 78", "nationality": "algerian"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &r.json()["error"]["fields"];
    for f in ["pseudonym", "phone", "nationality"] {
        assert!(fields[f].is_string(), "{f}: {}", r.body);
    }
    // A consent sent is checked even when nothing identifying comes with it
    // (found by schemathesis: it was dropped silently).
    let r = api
        .post_json(
            "/api/v1/people",
            &serde_json::json!({"pseudonym": "Joly", "consent": {"told_purpose": false, "language": "4", "given_at": "hier", "interpreter": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let fields = &r.json()["error"]["fields"];
    for f in ["consent_purpose", "consent_language", "consent_given_at"] {
        assert!(fields[f].is_string(), "{f}: {}", r.body);
    }
    assert_eq!(person_count(&w).await, 0);
    // Created with its consent.
    let body = serde_json::json!({
        "pseudonym": "Courfeyrac", "birth_year": 1985, "gender": "man", "languages": ["fr", "ar"], "nationality": "eu",
        "phone": "+33 6 00 00 00 01",
        "consent": {"told_purpose": true, "told_access": true, "told_rights": true, "agrees_identifying": true, "language": "fr"}
    });
    let r = api.post_json("/api/v1/people", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let created = r.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!((created["phone"].as_str(), created["nationality"].as_str()), (Some("+33600000001"), Some("eu")));
    assert!(created["consent"]["agrees_identifying"].as_bool().unwrap());
    // The list gives summaries: no identifying data (the file itself is the audited read).
    let list = api.get("/api/v1/people").await;
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    assert!(list.json()[0]["pseudonym"] == "Courfeyrac" && !list.body.contains("600000001") && list.json()[0].get("phone").is_none());
    // Again: probable duplicate, 409 with what agrees; reviewed, created.
    let r = api.post_json("/api/v1/people", &serde_json::json!({"pseudonym": "Courfeyrac", "birth_year": 1985, "gender": "man"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"]["duplicates"][0]["people"][0]["id"], id.as_str());
    assert!(r.json()["error"]["duplicates"][0]["agreements"].as_array().unwrap().iter().any(|a| a["field"] == "names" && a["level"] == "exact"));
    let r = api
        .post_json("/api/v1/people", &serde_json::json!({"pseudonym": "Courfeyrac", "birth_year": 1985, "gender": "man", "duplicates_reviewed": true}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let twin = r.json()["id"].as_str().unwrap().to_owned();
    let dups = api.get(&format!("/api/v1/people/{twin}/duplicates")).await.json();
    assert_eq!(dups[0]["people"][0]["id"], id.as_str());
    let r = api.post_json(&format!("/api/v1/people/{twin}/links"), &serde_json::json!({"other": id})).await;
    assert_eq!(r.json()["linked"][0], id.as_str());
    let r = api.post_json(&format!("/api/v1/people/{twin}/unlink"), &serde_json::json!({"other": id})).await;
    assert!(r.json()["linked"].as_array().unwrap().is_empty());
    // Update with the version read; a stale version is a conflict.
    let version = created["version"].as_i64().unwrap();
    let r = api.post_json(&format!("/api/v1/people/{id}"), &serde_json::json!({"pseudonym": "Courf", "phone": "+33600000001", "version": version})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = api.post_json(&format!("/api/v1/people/{id}"), &serde_json::json!({"pseudonym": "Courf 2", "version": version})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // An encounter with a known person, and one with a new person.
    let r = api.post_json("/api/v1/encounters", &serde_json::json!({"people": [id], "actions": ["listening", "flying"], "lat": 48.05, "lon": 2.05})).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.json()["error"]["fields"]["actions"].is_string());
    let r = api
        .post_json("/api/v1/encounters", &serde_json::json!({"people": [id], "actions": ["listening"], "lat": 48.05, "lon": 2.05, "site_id": "site-1"}))
        .await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.json()["error"]["fields"]["site_id"].is_string(), "no such site");
    let r = api
        .post_json(
            "/api/v1/sites",
            &serde_json::json!({"name": "Square (test)", "kind": "gathering_place", "lat": 48.05, "lon": 2.05, "land_owner": "municipal"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let site = r.json()["id"].as_str().unwrap().to_owned();
    let r = api.post_json("/api/v1/encounters", &serde_json::json!({"people": [id], "actions": ["listening"], "site_id": site})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!((r.json()["territory_id"].as_str(), r.json()["site_id"].as_str()), (Some(w.t1.to_string().as_str()), Some(site.as_str())), "placed at the site");
    let r = api.post_json("/api/v1/encounters", &serde_json::json!({"unidentified_count": 3, "new_person": {"pseudonym": "Feuilly", "age": 30}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["people"].as_array().unwrap().len(), 1);
    assert_eq!(api.get("/api/v1/encounters").await.json().as_array().unwrap().len(), 2);
    // A referral, sent, answered by the partner user through the API.
    let r = api.post_json("/api/v1/referrals", &serde_json::json!({"person_id": id, "partner_organisation_id": w.day_centre.to_string(), "reason": "Laverie", "consent_confirmed": true, "send": true})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let referral = r.json();
    assert_eq!(referral["status"], "sent");
    let rid = referral["id"].as_str().unwrap().to_owned();
    let ptoken = veille_web::security::random_token();
    let mut tx = w.app.db().begin().await.unwrap();
    veille_storage::tokens::create(&mut tx, w.partner, "api", &veille_web::security::token_hash(&ptoken), &["read", "write"], now, now.plus_seconds(86_400))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut papi = w.app.client();
    papi.bearer = Some(ptoken);
    let queue = papi.get("/api/v1/referrals").await.json();
    assert_eq!(queue[0]["id"], rid.as_str());
    assert!(queue[0].get("person_id").is_none());
    let r = papi.post_json(&format!("/api/v1/referrals/{rid}/answer"), &serde_json::json!({"status": "declined", "message": "Complet"})).await;
    assert_eq!(r.json()["status"], "declined", "{}", r.body);
    let r = api.post_json(&format!("/api/v1/referrals/{rid}/outcome"), &serde_json::json!({"status": "done"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a declined referral is over");
    // Leaving the active list through the API.
    let r = api.post_json(&format!("/api/v1/people/{twin}/exit"), &serde_json::json!({"reason": "no_news"})).await;
    assert!(r.status == StatusCode::CONFLICT || r.status == StatusCode::OK);
    let p = people::get(w.app.db(), &all(), twin.parse().unwrap()).await.unwrap();
    let r = api.post_json(&format!("/api/v1/people/{twin}/exit"), &serde_json::json!({"reason": "no_news", "version": p.version})).await;
    assert_eq!(r.json()["active"], false);
    // The OpenAPI document describes them.
    let doc = veille_web::openapi::build();
    for path in ["/people", "/people/{id}", "/encounters", "/referrals", "/referrals/{id}/answer"] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    assert!(doc["components"]["schemas"].get("PersonBody").is_some() && doc["components"]["schemas"].get("Nationality").is_some());
}

#[tokio::test]
async fn a_backup_of_people_restores_identically() {
    let w = world().await;
    let now = w.app.state.clock.now();
    let mut tx = w.app.db().begin().await.unwrap();
    let objects = matrix_objects(&mut tx, w.street, w.coordinator, now).await;
    let person: PersonId = objects["person"].parse().unwrap();
    let consent = people::add_consent(
        &mut tx,
        person,
        w.street,
        &NewConsent {
            terms: ConsentTerms { told_purpose: true, told_access: true, told_rights: true, agrees_identifying: false, agrees_sharing: true },
            language: veille_domain::people::Language::Fr,
            interpreter: false,
            given_at: now,
        },
        w.coordinator,
        now,
    )
    .await
    .unwrap();
    people::share(&mut tx, person, w.other, people::ShareBasis::Consent, Some(&consent), None, w.coordinator, now).await.unwrap();
    let h = people::create_household(&mut tx, w.street, veille_domain::people::HouseholdKind::Couple, &[2020], now).await.unwrap();
    people::set_household(&mut tx, person, Some(h), now).await.unwrap();
    tx.commit().await.unwrap();
    let mut dump = Vec::new();
    veille_storage::backup::dump(w.app.db(), &w.app.state.audit, &mut dump).await.unwrap();
    let target = TestDb::new().await;
    veille_storage::backup::restore(&target.db, std::io::Cursor::new(&dump)).await.unwrap();
    assert_eq!(veille_storage::backup::checksums(w.app.db()).await.unwrap(), veille_storage::backup::checksums(&target.db).await.unwrap());
    assert_eq!(people::get(&target.db, &all(), person).await.unwrap().household, Some(h));
    if target.db.backend() == veille_storage::Backend::Postgres {
        // Statistics gathered after the load, autovacuum or not.
        let (analyzed,): (i64,) =
            veille_storage::sqlx::query_as("SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'people' AND last_analyze IS NOT NULL")
                .fetch_one(target.db.pool())
                .await
                .unwrap();
        assert_eq!(analyzed, 1, "the restored tables are analyzed");
    }
}

mod referrals {
    pub use veille_storage::referrals::*;

    /// The one referral of the world.
    pub async fn list_all(w: &super::World) -> veille_domain::ReferralId {
        let ids: Vec<String> = veille_storage::sqlx::query_scalar("SELECT id FROM referrals").fetch_all(w.app.db().pool()).await.unwrap();
        assert_eq!(ids.len(), 1);
        ids[0].parse().unwrap()
    }
}

#[tokio::test]
async fn the_who_can_see_panel_of_a_file_and_its_health_section_agree_with_the_api() {
    let app = TestApp::new().await;
    let t1 = app.two_square_territories().await;
    let t2 = veille_storage::territories::id_by_code(app.db(), "T2").await.unwrap().unwrap();
    let now = app.state.clock.now();
    let mut users = Vec::new();
    let mut orgs = Vec::new();
    for (i, name) in ["Ville", "Association", "Partenaire"].iter().enumerate() {
        let org = app.org(name, i == 0).await;
        orgs.push(org);
        for (j, role) in Role::ALL.iter().enumerate() {
            let scope = (j % 2 == 1).then(|| vec![t1]);
            users.push(app.user(org, *role, &format!("p{i}{j}@exemple.fr"), None, scope).await);
        }
    }
    let author = users[2];
    // Files of the first organisation: no territory, in T1, in T2; one shared
    // by consent with the third organisation; each with a health section.
    let mut files = Vec::new();
    let mut tx = app.db().begin().await.unwrap();
    for (k, territory) in [None, Some(t1), Some(t2), Some(t2)].into_iter().enumerate() {
        let p =
            people::create(&mut tx, orgs[0], &PersonFields { pseudonym: format!("Fiche {k}"), territory, ..Default::default() }, author, now).await.unwrap();
        people::set_health(&mut tx, p, &[], "soin", author, 0, now).await.unwrap();
        if k == 3 {
            let terms = ConsentTerms { told_purpose: true, told_access: true, told_rights: true, agrees_identifying: false, agrees_sharing: true };
            let c = people::add_consent(
                &mut tx,
                p,
                orgs[0],
                &NewConsent { terms, language: veille_domain::people::Language::Fr, interpreter: false, given_at: now },
                author,
                now,
            )
            .await
            .unwrap();
            people::share(&mut tx, p, orgs[2], people::ShareBasis::Consent, Some(&c), None, author, now).await.unwrap();
        }
        files.push(p);
    }
    tx.commit().await.unwrap();
    let mut checked = 0;
    for file in &files {
        let coordinator = users.iter().position(|u| *u == author).unwrap();
        let mut c = app.session_for(users[coordinator], false).await;
        let panel = c.get(&format!("/api/v1/access/people/{file}")).await;
        assert_eq!(panel.status, StatusCode::OK);
        let in_panel: Vec<String> = panel.json().as_array().unwrap().iter().map(|e| e["user_id"].as_str().unwrap().to_owned()).collect();
        let page = c.get(&format!("/people/{file}")).await.body;
        let health_panel = &page[page.find("who-can-see-health").unwrap()..];
        for u in &users {
            let mut client = app.session_for(*u, false).await;
            let r = client.get(&format!("/api/v1/people/{file}")).await;
            let allowed = r.status == StatusCode::OK;
            assert_eq!(allowed, in_panel.contains(&u.to_string()), "file {file}, user {u}: {}", r.status);
            assert!(allowed || r.status == StatusCode::NOT_FOUND || r.status == StatusCode::FORBIDDEN, "{}", r.status);
            let sees_health = allowed && r.json().get("health").is_some();
            assert_eq!(sees_health, health_panel.contains(&u.to_string()), "health of {file}, user {u}");
            checked += 1;
        }
    }
    assert_eq!(checked, files.len() * users.len());
}

#[tokio::test]
async fn a_referral_to_a_directory_service_is_chosen_in_the_picker_and_names_the_partner() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let person = id_in(&c.post("/people", &[("pseudonym", "Gavroche"), ("age", "15")]).await);
    // A structure and its service, in the directory.
    let r = c
        .post(
            "/directory/structures",
            &[
                ("name", "Cantine de test"),
                ("lat", "48.05"),
                ("lon", "2.07"),
                ("opening_hours", "Mo-Su 08:00-20:00"),
                ("phone", "01 00 00 30 01"),
                ("email", "accueil@cantine.exemple.fr"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let structure = r.location().unwrap().to_owned();
    let r = c
        .post(
            &format!("{structure}/services"),
            &[
                ("name", "Repas chaud"),
                ("description", "Un repas chaud, service inventé."),
                ("themes", "equipement-et-alimentation--alimentation"),
                ("publics", "tous-publics"),
                ("languages", "fr"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let service: String = sqlx::query_scalar("SELECT id FROM directory_services WHERE name = 'Repas chaud'").fetch_one(w.app.db().pool()).await.unwrap();

    // The form embeds the picker; its search button (without JavaScript)
    // shows the services found and saves nothing, what was typed kept.
    let form = c.get(&format!("/referrals/new?person={person}")).await;
    assert!(form.body.contains("name=\"dir_search\"") && form.body.contains("id=\"service-picker-results\""));
    let r = c.post("/referrals", &[("person", &person), ("reason", "Un repas"), ("dir_q", "repas"), ("dir_search", "1")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&format!("value=\"{service}\"")) && r.body.contains("Un repas"), "{}", r.body);
    assert_eq!(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM referrals").fetch_one(w.app.db().pool()).await.unwrap(), 0);

    // A service that does not exist is refused next to the picker.
    let r = c
        .post("/referrals", &[("person", &person), ("service_id", "01a23141-339f-73ec-9778-f6cbf7b65941"), ("reason", "Un repas"), ("consent_confirmed", "1")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"service_id-error\"") && r.body.contains("Un repas"));

    // The chosen service names the partner; its e-mail receives the link.
    let r = c.post("/referrals", &[("person", &person), ("service_id", &service), ("reason", "Un repas"), ("consent_confirmed", "1"), ("send", "1")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"service\"") && r.body.contains("Repas chaud") && r.body.contains("01 00 00 30 01"));
    let referral = referrals::list_all(&w).await;
    let saved = referrals::get(w.app.db(), &all(), referral).await.unwrap();
    assert_eq!(saved.service_id.as_deref(), Some(service.as_str()));
    assert_eq!(saved.partner_name, "Cantine de test — Repas chaud");
    assert_eq!(saved.partner_email.as_deref(), Some("accueil@cantine.exemple.fr"));
    assert_eq!(mails(&w).await.iter().filter(|m| m.0 == "accueil@cantine.exemple.fr").count(), 1);
}

/// 100 wrong codes on one partner link at the same moment: exactly five are
/// checked (the others find the link used up), and the right code afterwards
/// finds it revoked.
#[tokio::test]
async fn concurrent_wrong_partner_codes_are_evaluated_exactly_up_to_the_limit() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let person = id_in(&c.post("/people", &[("pseudonym", "Cosette")]).await);
    let r =
        c.post("/referrals", &[("person", &person), ("partner_name", "Bagagerie"), ("reason", "Consigne"), ("consent_confirmed", "1"), ("send", "1")]).await;
    let (path, code) = link_and_code(&r.body);
    let token = path.trim_start_matches("/orientation/").to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (state, token) = (w.app.state.clone(), token.clone());
        tasks.push(tokio::spawn(
            async move { veille_app::people::referrals::partner_visit(&state, veille_app::Lang::Fr, &token, wrong, "", "").await.unwrap() },
        ));
    }
    let mut evaluated = 0;
    for t in tasks {
        match t.await.unwrap() {
            veille_app::people::referrals::PartnerVisit::WrongCode => evaluated += 1,
            veille_app::people::referrals::PartnerVisit::Gone => {}
            veille_app::people::referrals::PartnerVisit::Opened { .. } => panic!("a wrong code opened the link"),
        }
    }
    assert_eq!(evaluated, veille_app::people::referrals::LINK_FAILURES_ALLOWED);
    let mut partner = w.app.client();
    assert_eq!(partner.post(&path, &[("code", &code)]).await.status, StatusCode::NOT_FOUND, "revoked");
}

/// Health markers reach no one without the health field group: not the
/// organisation administrator browsing the audit log (page and API), not a
/// coordinator or a field worker reading the encounter where care was given
/// (page, API, the person's file, the recent list); only health
/// professionals tick "care"; the nurse still sees all of it.
#[tokio::test]
async fn health_markers_reach_no_role_without_health_access() {
    let w = world().await;
    let mut coord = w.app.session_for(w.coordinator, false).await;
    let id = id_in(&coord.post("/people", &[("pseudonym", "Fantine")]).await);
    let mut nurse = w.app.session_for(w.nurse, false).await;
    assert_eq!(
        nurse.post(&format!("/people/{id}/health"), &[("flags", "chronic_illness"), ("notes", "x"), ("version", "0")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(nurse.post(&format!("/people/{id}/notes"), &[("body", "Pansement refait"), ("health", "1")]).await.status, StatusCode::SEE_OTHER);
    let r = nurse.post("/encounters", &[("people", &id), ("actions", "care"), ("actions", "listening"), ("care", "Pansement")]).await;
    let enc = id_in(&r);
    // Reads by the nurse and by others, each audited.
    nurse.get(&format!("/people/{id}")).await;
    nurse.get(&format!("/encounters/{enc}")).await;
    coord.get(&format!("/people/{id}")).await;
    // The care action: not offered to, and refused from, those without health.
    let form = coord.get(&format!("/encounters/new?person={id}")).await.body;
    assert!(!form.contains("value=\"care\"") && form.contains("value=\"listening\""));
    assert!(nurse.get(&format!("/encounters/new?person={id}")).await.body.contains("value=\"care\""));
    let r = coord.post("/encounters", &[("people", &id), ("actions", "care")]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("actions-error"), "{}", r.body);
    // Nor shown to them once given.
    // The action's label ("Soin") as the encounter page and the file's list of encounters show it.
    let shows_care = |body: &str| body.contains(">Soin<") || body.contains("Soin, ") || body.contains(" Soin<");
    assert!(shows_care(&nurse.get(&format!("/encounters/{enc}")).await.body));
    assert!(shows_care(&nurse.get(&format!("/people/{id}")).await.body));
    for user in [w.coordinator, w.worker] {
        let mut c = w.app.session_for(user, false).await;
        let page = c.get(&format!("/encounters/{enc}")).await;
        assert_eq!(page.status, StatusCode::OK, "{user}");
        assert!(!shows_care(&page.body) && page.body.contains("Écoute"), "{user}: {}", page.body);
        let api = c.get(&format!("/api/v1/encounters/{enc}")).await.json();
        assert_eq!(api["actions"], serde_json::json!(["listening"]), "{user}");
        let file = c.get(&format!("/people/{id}")).await.body;
        assert!(!shows_care(&file) && file.contains("Écoute"), "{user}");
        let recent = c.get("/api/v1/encounters").await.body;
        assert!(recent.contains(&enc) && !recent.contains("\"care\""), "{user}: {recent}");
    }
    let api = nurse.get(&format!("/api/v1/encounters/{enc}")).await.json();
    assert!(api["actions"].as_array().unwrap().contains(&serde_json::json!("care")));
    // The audit log: the administrator (no health access) sees the entries, not the markers.
    let mut admin = w.app.session_for(w.admin, false).await;
    for record in [id.as_str(), enc.as_str()] {
        let api = admin.get(&format!("/api/v1/audit?record={record}")).await;
        assert_eq!(api.status, StatusCode::OK);
        let entries = api.json();
        let entries = entries.as_array().unwrap();
        assert!(entries.len() >= 2, "{entries:?}");
        for e in entries {
            let d = e["detail"].as_str().unwrap();
            assert!(!d.contains("health") && !d.contains("care"), "{d}");
        }
        let page = admin.get(&format!("/audit?record={record}")).await.body;
        assert!(!page.contains("health") && !page.contains("care"), "{page}");
    }
    // What is written keeps them, under "health": the chain holds them for whoever reads health.
    let written: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_log WHERE record_id = $1 OR record_id = $2")
        .bind(&id)
        .bind(&enc)
        .fetch_all(w.app.db().pool())
        .await
        .unwrap();
    assert!(written.iter().any(|d| d.contains("\"health\":{\"field\":\"health\"}")), "{written:?}");
    assert!(written.iter().any(|d| d.contains("\"health\":{\"care\":true}")), "{written:?}");
    assert_eq!(veille_app::accounts::without_health(r#"{"field":"health"}"#), "{}");
    assert_eq!(veille_app::accounts::without_health(r#"{"care":true,"via":"form"}"#), r#"{"via":"form"}"#);
    assert_eq!(veille_app::accounts::without_health(r#"{"field":"health_note"}"#), r#"{"field":"note"}"#);
}

/// Creates `n` files of `org` straight in storage, the i-th created `i`
/// minutes after t0 and never met (so the last one comes first in the
/// list), named by `name(i)`.
async fn many_people(w: &World, org: OrganisationId, n: usize, name: impl Fn(usize) -> String) -> Vec<PersonId> {
    let mut tx = w.app.db().begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let fields = PersonFields { pseudonym: name(i), ..Default::default() };
        ids.push(people::create(&mut tx, org, &fields, w.coordinator, t0().plus_seconds(60 * i as i64)).await.unwrap());
    }
    tx.commit().await.unwrap();
    ids
}

#[tokio::test]
async fn the_list_of_people_comes_a_page_at_a_time_and_the_search_by_name_reads_all_of_it() {
    let w = world().await;
    // 230 files: three pages of 100; the most recently met first.
    let ids = many_people(&w, w.street, 230, |i| if i == 3 { "Zoé Ndiaye-Bâ".to_owned() } else { format!("Personne {i:03}") }).await;
    // Another organisation's namesake is never found here.
    many_people(&w, w.other, 1, |_| "Zoé Ndiaye-Bâ".to_owned()).await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let first = c.get("/people").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.contains("230 personnes dans cette liste"), "{}", first.body);
    assert_eq!(first.body.matches("href=\"/people/").count() - first.body.matches("href=\"/people/new").count(), 100);
    assert!(first.body.contains(&format!("/people/{}", ids[229])) && !first.body.contains(&format!("/people/{}", ids[129])));
    assert!(first.body.contains("Page 1 sur 3") && first.body.contains("href=\"/people?page=2\"") && !first.body.contains("rel=\"prev\""));
    let last = c.get("/people?page=3").await;
    assert!(last.body.contains(&format!("/people/{}", ids[0])) && last.body.contains("Page 3 sur 3") && !last.body.contains("rel=\"next\""));
    assert!(last.body.contains("href=\"/people?page=2\""), "back to the page before");
    // A page past the last shows the last; an unreadable one the first.
    assert!(c.get("/people?page=99").await.body.contains("Page 3 sur 3"));
    assert!(c.get("/people?page=abc").await.body.contains("Page 1 sur 3"));
    // The search reads the whole list (this file is on the last page), folds
    // case, accents, punctuation and spaces, and keeps what was typed.
    for typed in ["zoe", "NDIAYE BA", "ndiayeba", "Bâ"] {
        let found = c.post("/people/search", &[("q", typed)]).await;
        assert_eq!(found.status, StatusCode::OK, "{typed}");
        assert!(found.body.contains("1 personne trouvée"), "{typed}: {}", found.body);
        assert!(found.body.contains(&format!("/people/{}", ids[3])), "{typed}");
        assert!(found.body.contains(&format!("value=\"{typed}\"")), "{typed}: the search box keeps what was typed");
    }
    let many = c.post("/people/search", &[("q", "personne")]).await;
    assert!(many.body.contains("229 personnes trouvées") && many.body.contains("Les 100 plus récemment rencontrées sont affichées"), "{}", many.body);
    assert!(c.post("/people/search", &[("q", "personne 2")]).await.body.contains("30 personnes trouvées"), "200 to 229");
    // Nothing typed: back to the list.
    assert_eq!(c.post("/people/search", &[("q", "  ")]).await.location(), Some("/people"));
    // Those who left the active list are a list of their own.
    assert!(c.post("/people/search", &[("q", "zoe"), ("left", "1")]).await.body.contains("0 personne trouvée"));
}

#[tokio::test]
async fn the_referrals_page_shows_one_page_of_each_list_with_its_total_and_the_home_page_counts_those_waiting() {
    let w = world().await;
    let person = many_people(&w, w.street, 1, |_| "Orientée".to_owned()).await[0];
    let mut sent = Vec::new();
    for i in 0..120 {
        let mut tx = w.app.db().begin().await.unwrap();
        let r = NewReferral {
            person,
            partner_name: "Accueil de jour".into(),
            partner_organisation: Some(w.day_centre),
            reason: "Motif de test".into(),
            consent_confirmed: true,
            ..Default::default()
        };
        let id = referrals::create(&mut tx, w.street, &r, w.coordinator, t0().plus_seconds(i)).await.unwrap();
        tx.commit().await.unwrap();
        let created = referrals::get(w.app.db(), &all(), id).await.unwrap();
        let mut tx = w.app.db().begin().await.unwrap();
        referrals::send(&mut tx, &created, t0().plus_seconds(86_400 * 3), None, created.version, t0().plus_seconds(i)).await.unwrap();
        tx.commit().await.unwrap();
        sent.push(id);
    }
    let mut c = w.app.session_for(w.coordinator, false).await;
    let page = c.get("/referrals").await;
    assert!(page.body.contains("120 orientations, les plus récentes"), "{}", page.body);
    assert!(page.body.contains(&format!("/referrals/{}", sent[119])) && !page.body.contains(&format!("/referrals/{}", sent[0])));
    assert!(page.body.contains("href=\"/referrals?sent_page=2#sent\""), "{}", page.body);
    let second = c.get("/referrals?sent_page=2").await;
    assert!(second.body.contains(&format!("/referrals/{}", sent[0])) && second.body.contains("Page 2 sur 2"));
    // Turning the queue's page keeps the sent list's (both lists of the page keep their place).
    assert!(c.get("/referrals?sent_page=2&queue_page=1").await.body.contains("Page 2 sur 2"));
    // The partner's queue and its home page: the five most recently sent, and how many wait.
    let mut partner = w.app.session_for(w.partner, false).await;
    let queue = partner.get("/referrals").await;
    assert!(queue.body.contains("120 orientations") && queue.body.contains("href=\"/referrals?queue_page=2#queue\""), "{}", queue.body);
    let home = partner.get("/").await;
    assert!(home.body.contains("120 orientations attendent votre réponse"), "{}", home.body);
    assert_eq!(home.body.matches("href=\"/referrals/").count(), 5);
}
