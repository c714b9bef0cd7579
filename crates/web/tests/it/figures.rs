//! The figures dashboard (issue 16) on the engine under test: a fixture
//! recorded through the API on the manual clock over two months, the
//! figures computed by hand beside it; small counts suppressed for a
//! reader, in the API and in every export (no shown cell from 1 to the
//! threshold minus one, no lone suppressed cell beside a shown total); the
//! XLSX read by openpyxl and the activity report's PDF by pypdf.

use axum::http::StatusCode;
use serde_json::{json, Value};
use veille_app::figures::{self, Audience, FiguresQuery};
use veille_domain::{OrganisationId, Role, UserId};

use crate::helpers::*;

struct World {
    app: TestApp,
    org: OrganisationId,
    coordinator: UserId,
    reader: UserId,
    api: Client,
}

async fn world(config: veille_app::Config) -> World {
    let app = TestApp::with_config(config).await;
    let org = app.org("Association A", true).await;
    let partner_org = app.org("Accueil de jour", false).await;
    app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let coordinator = app.user(org, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    let reader = app.user(org, Role::Reader, "lecture@a.exemple.fr", None, None).await;
    app.user(partner_org, Role::Partner, "partenaire@b.exemple.fr", None, None).await;
    let token = veille_web::security::random_token();
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    veille_storage::tokens::create(
        &mut tx,
        coordinator,
        "api",
        &veille_web::security::token_hash(&token),
        &["read", "write"],
        now,
        now.plus_seconds(90 * 86_400),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut api = app.client();
    api.bearer = Some(token);
    let mut w = World { app, org, coordinator, reader, api };
    fixture(&mut w, partner_org).await;
    w
}

async fn person(api: &mut Client, pseudonym: &str, birth_year: i64, gender: &str, needs: &[&str]) -> String {
    let r = api
        .post_json("/api/v1/people", &json!({"pseudonym": pseudonym, "birth_year": birth_year, "gender": gender, "needs": needs, "duplicates_reviewed": true}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_owned()
}

async fn encounter(api: &mut Client, people: &[&str], unidentified: i64) {
    let r = api
        .post_json("/api/v1/encounters", &json!({"people": people, "actions": ["listening"], "unidentified_count": unidentified, "lat": 48.05, "lon": 2.05}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn report(api: &mut Client, source: &str) -> (String, i64) {
    let body = json!({"source": source, "channel": "phone", "lat": 48.05, "lon": 2.05, "situations": ["camp"], "adults": 1, "children": 0,
                      "description": "Une tente sur le trottoir (test)."});
    let r = api.post_json("/api/v1/reports", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (r.json()["id"].as_str().unwrap().to_owned(), r.json()["version"].as_i64().unwrap_or(1))
}

async fn site(api: &mut Client, name: &str, kind: &str, lon: f64) -> String {
    let r = api.post_json("/api/v1/sites", &json!({"name": name, "kind": kind, "lon": lon, "lat": 48.05})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_owned()
}

async fn observe(api: &mut Client, site: &str, people: i64) {
    let r = api.post_json(&format!("/api/v1/sites/{site}/observations"), &json!({"people": people})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// t0 is 2026-11-19 (Paris). November: P1 (woman, 1990) and P2 (man, 2000)
/// met together with 2 unidentified people; two reports from residents.
/// December (t0 + 20 days): P3 (man, 1960, new) and P4 (man, 2000) who is
/// P2's other file (linked): one encounter with P1, P2, P3 and one with P3
/// and P4 plus 1 unidentified; three reports (two from residents, one from
/// an association), two answered after 2 and 10 hours; one referral of P1
/// (needs food and hygiene) to the partner organisation. Every report and
/// encounter is placed in territory T1. Sites: in November a camp in T1
/// (12 people) and a squat in T2 (5 people); in December the camp is seen
/// twice (15, then 14 people), the squat not at all.
async fn fixture(w: &mut World, partner_org: OrganisationId) {
    let api = &mut w.api;
    let p1 = person(api, "Fantine", 1990, "woman", &["food", "hygiene"]).await;
    let p2 = person(api, "Gavroche", 2000, "man", &[]).await;
    encounter(api, &[&p1, &p2], 2).await;
    report(api, "riverain").await;
    report(api, "riverain").await;
    let camp = site(api, "Campement du canal", "camp", 2.05).await;
    let squat = site(api, "Squat de la gare", "squat", 2.25).await;
    observe(api, &camp, 12).await;
    observe(api, &squat, 5).await;
    w.app.state.clock.advance_seconds(20 * DAY);
    observe(api, &camp, 15).await;
    w.app.state.clock.advance_seconds(HOUR);
    observe(api, &camp, 14).await;
    let p3 = person(api, "Bahorel", 1960, "man", &[]).await;
    let p4 = person(api, "Gavroche bis", 2000, "man", &[]).await;
    let r = api.post_json(&format!("/api/v1/people/{p4}/links"), &json!({"other": p2})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    encounter(api, &[&p1, &p2, &p3], 0).await;
    encounter(api, &[&p3, &p4], 1).await;
    let (a, va) = report(api, "riverain").await;
    let (b, vb) = report(api, "riverain").await;
    report(api, "association").await;
    w.app.state.clock.advance_seconds(2 * HOUR);
    let r = api.post_json(&format!("/api/v1/reports/{a}/answer"), &json!({"answer": "Une équipe est passée.", "version": va})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    w.app.state.clock.advance_seconds(8 * HOUR);
    let r = api.post_json(&format!("/api/v1/reports/{b}/answer"), &json!({"answer": "Une équipe est passée.", "version": vb})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = api
        .post_json(
            "/api/v1/referrals",
            &json!({"person_id": p1, "partner_organisation_id": partner_org.to_string(), "reason": "Laverie", "consent_confirmed": true, "send": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

fn december() -> FiguresQuery {
    FiguresQuery { period: "month".into(), at: "2026-12".into(), ..Default::default() }
}

fn row<'a>(d: &'a figures::Dashboard, table: &str, code: &str) -> &'a figures::Row {
    d.groups
        .iter()
        .flat_map(|g| &g.tables)
        .find(|t| t.id == table)
        .and_then(|t| t.rows.iter().chain(t.total.iter()).find(|r| r.code == code))
        .unwrap_or_else(|| panic!("{table}/{code}"))
}

fn both(d: &figures::Dashboard, table: &str, code: &str) -> (Option<i64>, Option<i64>) {
    let r = row(d, table, code);
    (r.current.value, r.previous.value)
}

async fn caller(w: &World, user: UserId) -> veille_app::Caller {
    crate::sites::caller(&w.app, user).await
}

#[tokio::test]
async fn figures_agree_with_the_hand_computed_fixture() {
    let w = world(veille_app::Config::default()).await;
    let who = caller(&w, w.coordinator).await;
    let choice = figures::validate(&w.app.state, &who, veille_i18n::Lang::Fr, &december()).unwrap();
    assert_eq!(choice.organisation, w.org);
    let d = figures::dashboard(&w.app.state, &who, veille_i18n::Lang::Fr, &choice, Audience::Page).await.unwrap();
    assert!(!d.suppressed, "the organisation's own staff see exact counts on the page");
    assert_eq!((d.period.label(), d.previous.label()), ("2026-12".to_owned(), "2026-11".to_owned()));
    // Reports: 3 in December (2 residents, 1 association), 2 in November.
    assert_eq!(both(&d, "reports-source", "riverain"), (Some(2), Some(2)));
    assert_eq!(both(&d, "reports-source", "association"), (Some(1), Some(0)));
    assert_eq!(both(&d, "reports-source", "total"), (Some(3), Some(2)));
    assert_eq!(both(&d, "reports-situation", "camp"), (Some(3), Some(2)));
    assert_eq!(both(&d, "reports-level", "total"), (Some(3), Some(2)));
    assert_eq!(both(&d, "reports-answers", "received"), (Some(3), Some(2)));
    assert_eq!(both(&d, "reports-answers", "answered"), (Some(2), Some(0)));
    assert_eq!(both(&d, "reports-answers", "within_deadline"), (Some(2), Some(0)));
    let m = |code: &str| d.group("reports").unwrap().measures.iter().find(|m| m.code == code).unwrap().clone();
    // Nearest rank over [2 h, 10 h]: the median is the 1st value, the 90th percentile the 2nd.
    assert_eq!((m("median_hours").current, m("p90_hours").current), (Some(2.0), Some(10.0)));
    assert_eq!((m("median_hours").previous, m("within_deadline_percent").current), (None, Some(66.7)));
    // Encounters: 2 in December, 1 in November; files met 4 and 2; unique
    // people 3 (P2 and P4 are one person) and 2; unidentified 1 and 2.
    assert_eq!(both(&d, "encounters-totals", "encounters"), (Some(2), Some(1)));
    assert_eq!(both(&d, "encounters-totals", "files"), (Some(4), Some(2)));
    assert_eq!(both(&d, "encounters-totals", "unique_people"), (Some(3), Some(2)));
    assert_eq!(both(&d, "encounters-totals", "unidentified"), (Some(1), Some(2)));
    // New in December: P3 only (P1 and P2/P4 were met in November).
    assert_eq!(both(&d, "people-novelty", "new"), (Some(1), Some(2)));
    assert_eq!(both(&d, "people-novelty", "known"), (Some(2), Some(0)));
    assert_eq!(both(&d, "people-gender", "woman"), (Some(1), Some(1)));
    assert_eq!(both(&d, "people-gender", "man"), (Some(2), Some(1)));
    // Ages in 2026: P1 36, P2/P4 26, P3 66.
    assert_eq!(both(&d, "people-age", "35_49"), (Some(1), Some(1)));
    assert_eq!(both(&d, "people-age", "25_34"), (Some(1), Some(1)));
    assert_eq!(both(&d, "people-age", "65_plus"), (Some(1), Some(0)));
    assert_eq!(both(&d, "people-age", "total"), (Some(3), Some(2)));
    // One referral of P1 (food, hygiene), sent, outside the directory.
    assert_eq!(both(&d, "referrals-outcome", "sent"), (Some(1), Some(0)));
    assert_eq!(both(&d, "referrals-need", "food"), (Some(1), Some(0)));
    assert_eq!(both(&d, "referrals-need", "hygiene"), (Some(1), Some(0)));
    assert_eq!(both(&d, "referrals-need", "shelter"), (Some(0), Some(0)));
    assert_eq!(both(&d, "referrals-service", "total"), (Some(1), Some(0)));
    // Nothing recorded elsewhere.
    assert_eq!(both(&d, "cases-opened", "opened"), (Some(0), Some(0)));
    assert_eq!(both(&d, "mediations-outcome", "total"), (Some(0), Some(0)));
    assert_eq!(both(&d, "shelter-nights", "stays"), (Some(0), Some(0)));
    // By territory: every report and encounter in T1 ("Un"), none outside;
    // the camp in T1 and the squat in T2, both active in both months.
    let t1 = veille_storage::territories::id_by_code(w.app.db(), "T1").await.unwrap().unwrap().to_string();
    let t2 = veille_storage::territories::id_by_code(w.app.db(), "T2").await.unwrap().unwrap().to_string();
    assert_eq!(both(&d, "territories-reports", &t1), (Some(3), Some(2)));
    assert_eq!(row(&d, "territories-reports", &t1).label, "Un");
    assert_eq!(both(&d, "territories-reports", "none"), (Some(0), Some(0)));
    assert_eq!(both(&d, "territories-reports", "total"), (Some(3), Some(2)));
    assert_eq!(both(&d, "territories-encounters", &t1), (Some(2), Some(1)));
    assert_eq!(both(&d, "territories-sites", &t1), (Some(1), Some(1)));
    assert_eq!(both(&d, "territories-sites", &t2), (Some(1), Some(1)));
    // Sites: active by kind; population from each site's latest observation
    // in the period (December: the camp's 14; November: 12 + 5).
    assert_eq!(both(&d, "sites-kind", "camp"), (Some(1), Some(1)));
    assert_eq!(both(&d, "sites-kind", "squat"), (Some(1), Some(1)));
    assert_eq!(both(&d, "sites-kind", "total"), (Some(2), Some(2)));
    assert_eq!(both(&d, "sites-population", "camp"), (Some(14), Some(12)));
    assert_eq!(both(&d, "sites-population", "squat"), (Some(0), Some(5)));
    assert_eq!(both(&d, "sites-population", "total"), (Some(14), Some(17)));
    let t = d.trends.iter().find(|s| s.id == "trend-sites_population").unwrap();
    assert_eq!((t.points[10].1.value, t.points[11].1.value), (Some(17), Some(14)));
    // The map: T1 and T2 with their counts, suppressed as everything that
    // leaves the organisation (threshold 11 here: every count hidden).
    let areas = figures::map(&w.app.state, &who, veille_i18n::Lang::Fr, &choice).await.unwrap();
    let a1 = areas.iter().find(|a| a.code == "T1").unwrap();
    assert_eq!((a1.reports.value, a1.encounters.value, a1.sites.value), (None, None, None));
    // Trends: twelve months ending in December.
    let t = d.trends.iter().find(|s| s.id == "trend-encounters").unwrap();
    assert_eq!(t.points.len(), 12);
    assert_eq!(t.points[11], ("2026-12".to_owned(), figures::Cell { value: Some(2) }));
    assert_eq!(t.points[10], ("2026-11".to_owned(), figures::Cell { value: Some(1) }));
    assert!(t.points[..10].iter().all(|(_, c)| c.value == Some(0)));
    // A quarter: both months together; the period before is empty.
    let q = FiguresQuery { period: "quarter".into(), at: "2026-T4".into(), ..Default::default() };
    let choice = figures::validate(&w.app.state, &who, veille_i18n::Lang::Fr, &q).unwrap();
    let d = figures::dashboard(&w.app.state, &who, veille_i18n::Lang::Fr, &choice, Audience::Page).await.unwrap();
    assert_eq!(both(&d, "encounters-totals", "unique_people"), (Some(4 - 1), Some(0)));
    assert_eq!(both(&d, "people-novelty", "new"), (Some(3), Some(0)));
    assert_eq!(both(&d, "reports-source", "total"), (Some(5), Some(0)));
    // The team filter: no report names the team, none is counted.
    let team = veille_app::accounts::teams_of(&w.app.state, Some(w.org)).await.unwrap();
    if let Some(t) = team.first() {
        let q = FiguresQuery { team: t.id.to_string(), ..december() };
        let choice = figures::validate(&w.app.state, &who, veille_i18n::Lang::Fr, &q).unwrap();
        let d = figures::dashboard(&w.app.state, &who, veille_i18n::Lang::Fr, &choice, Audience::Page).await.unwrap();
        assert_eq!(both(&d, "encounters-totals", "encounters"), (Some(0), Some(0)));
    }
    // The page draws it, with each error next to its field when the choice is wrong.
    let mut c = w.app.session_for(w.coordinator, false).await;
    let page = c.get("/figures?period=month&at=2026-12").await;
    assert_eq!(page.status, StatusCode::OK);
    for id in [
        "reports-source",
        "people-novelty",
        "referrals-outcome",
        "chart-trend-reports",
        "export-xlsx",
        "territories-reports",
        "sites-population",
        "figures-map",
        "map-table",
        "map-row-T1",
    ] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    let page = c.get("/figures?period=month&at=2026-13&team=nope").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"at-error\"") && page.body.contains("id=\"team-error\""), "{}", page.body);
    // Another organisation's figures: refused to a coordinator.
    let other = w.app.org("Autre", false).await;
    let r = c.get(&format!("/figures?organisation={other}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// Every count of a JSON group: (table, column, values of the rows, total).
fn columns(group: &Value) -> Vec<(String, Vec<Value>, Value)> {
    let mut out = Vec::new();
    for t in group["tables"].as_array().unwrap() {
        for col in ["current", "previous"] {
            let rows: Vec<Value> = t["rows"].as_array().unwrap().iter().map(|r| r[col]["value"].clone()).collect();
            let total = if t["total"].is_null() { Value::Null } else { t["total"][col]["value"].clone() };
            out.push((format!("{}/{col}", t["id"].as_str().unwrap()), rows, total));
        }
    }
    out
}

fn assert_suppressed(label: &str, v: &Value, min: i64) {
    if let Some(n) = v.as_i64() {
        assert!(n == 0 || n >= min, "{label}: {n} shown below {min}");
    }
}

/// A person met this month under a new file linked to an older one met only
/// before it is known, not new: the older file is the person's first (its
/// id is the smaller, so it stands for the person) and is not met in the
/// month itself — the lookup of "met before?" must reach it through the link.
#[tokio::test]
async fn a_person_met_under_a_new_file_linked_to_one_met_before_is_known() {
    let mut w = world(veille_app::Config::default()).await;
    let who = caller(&w, w.coordinator).await;
    let january = FiguresQuery { period: "month".into(), at: "2027-01".into(), ..Default::default() };
    // December (the fixture's month): Eponine's first file, met once.
    let first = person(&mut w.api, "Éponine", 1995, "woman", &[]).await;
    encounter(&mut w.api, &[&first], 0).await;
    // January (the fixture ends on 9 December): a second file, linked to
    // the first, met; and someone new.
    w.app.state.clock.advance_seconds(25 * DAY);
    let second = person(&mut w.api, "Éponine T.", 1995, "woman", &[]).await;
    let r = w.api.post_json(&format!("/api/v1/people/{second}/links"), &json!({"other": first})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let newcomer = person(&mut w.api, "Courfeyrac", 1985, "man", &[]).await;
    encounter(&mut w.api, &[&second, &newcomer], 0).await;
    let choice = figures::validate(&w.app.state, &who, veille_i18n::Lang::Fr, &january).unwrap();
    let d = figures::dashboard(&w.app.state, &who, veille_i18n::Lang::Fr, &choice, Audience::Page).await.unwrap();
    // January: two files met, two people; Éponine known, Courfeyrac new.
    // December: the fixture's three people (P3 new) and Éponine's first file (new).
    assert_eq!(both(&d, "encounters-totals", "files"), (Some(2), Some(5)));
    assert_eq!(both(&d, "encounters-totals", "unique_people"), (Some(2), Some(4)));
    assert_eq!(both(&d, "people-novelty", "known"), (Some(1), Some(2)));
    assert_eq!(both(&d, "people-novelty", "new"), (Some(1), Some(2)));
    assert_eq!(both(&d, "people-gender", "woman"), (Some(1), Some(2)));
}

#[tokio::test]
async fn small_counts_are_suppressed_outside_the_organisation() {
    let w = world(veille_app::Config::default()).await;
    // The reader's home page counts the reports, suppressed as every figure it sees.
    let home = w.app.session_for(w.reader, false).await.get("/").await.body;
    assert!(home.contains("Moins de 11 signalements comptés dans les chiffres"), "{home}");
    // The reader: every count of the fixture is below 11, so every non-zero cell is hidden.
    let who = caller(&w, w.reader).await;
    let choice = figures::validate(&w.app.state, &who, veille_i18n::Lang::Fr, &december()).unwrap();
    let d = figures::dashboard(&w.app.state, &who, veille_i18n::Lang::Fr, &choice, Audience::Page).await.unwrap();
    assert!(d.suppressed);
    assert!(figures::shown_counts(&d).iter().all(|v| v.is_none_or(|n| n == 0 || n >= 11)));
    assert_eq!(both(&d, "encounters-totals", "encounters"), (None, None));
    assert_eq!(both(&d, "referrals-need", "shelter"), (Some(0), Some(0)), "a zero tells of nobody");
    let m = d.group("reports").unwrap().measures.iter().find(|m| m.code == "median_hours").unwrap();
    assert_eq!(m.current, None, "a median of 2 answers is not shown");
    let mut reader = w.app.session_for(w.reader, false).await;
    let page = reader.get("/figures?period=month&at=2026-12").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!((page.body.contains("&lt; 11") || page.body.contains("&#60; 11")) && page.body.contains("id=\"suppression-note\""), "{}", page.body);
    // The API, even for the coordinator: every group, no shown cell below
    // 11 and never a lone hidden cell beside a shown total.
    let mut checked = 0;
    for g in veille_app::figures::GROUPS {
        let r = w.api.clone().get(&format!("/api/v1/figures/{g}?period=month&at=2026-12")).await;
        assert_eq!(r.status, StatusCode::OK, "{g}: {}", r.body);
        let body = r.json();
        assert_eq!(body["suppressed"], true);
        for (label, rows, total) in columns(&body["group"]) {
            rows.iter().for_each(|v| assert_suppressed(&label, v, 11));
            assert_suppressed(&label, &total, 11);
            let hidden = rows.iter().filter(|v| v.is_null()).count();
            assert!(hidden != 1 || !total.is_i64(), "{label}: one hidden cell and the total shown");
            checked += 1;
        }
    }
    assert!(checked > 30);
    // The reader reaches no person (the matrix proves it route by route; here, the obvious ones).
    for path in ["/people", "/encounters", "/referrals", "/api/v1/people", "/reports"] {
        assert_eq!(reader.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn the_suppression_rule_holds_with_a_lower_threshold_and_complements() {
    // With a threshold of 2: December's encounters (2) are shown, the lone
    // unidentified person (1) is not.
    let w = world(veille_app::Config { figures_min_cell: 2, ..Default::default() }).await;
    // Above the threshold, the reader's home page shows the count of the organisation's reports.
    let home = w.app.session_for(w.reader, false).await.get("/").await.body;
    assert!(home.contains("5 signalements comptés dans les chiffres"), "{home}");
    let r = w.api.clone().get("/api/v1/figures/encounters?period=month&at=2026-12").await;
    let body = r.json();
    let table = |id: &str| body["group"]["tables"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
    let value = |t: &Value, code: &str, col: &str| t["rows"].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap()[col]["value"].clone();
    let totals = table("encounters-totals");
    assert_eq!(value(&totals, "encounters", "current"), json!(2));
    assert_eq!(value(&totals, "unidentified", "current"), Value::Null);
    // New 1, known 2, total 3: the lone 1 takes the smallest other count with it.
    let novelty = table("people-novelty");
    assert_eq!((value(&novelty, "new", "current"), value(&novelty, "known", "current")), (Value::Null, Value::Null));
    assert_eq!(novelty["total"]["current"]["value"], json!(3));
    // Gender in December: woman 1, man 2 → both hidden, total 3 shown.
    let gender = table("people-gender");
    assert_eq!((value(&gender, "woman", "current"), value(&gender, "man", "current")), (Value::Null, Value::Null));
    // The figures page draws its map from the dashboard it shows, exact for
    // the coordinator: the map is suppressed all the same, cell for cell as
    // the map read on its own.
    let who = caller(&w, w.coordinator).await;
    let choice = figures::validate(&w.app.state, &who, veille_i18n::Lang::Fr, &december()).unwrap();
    let d = figures::dashboard(&w.app.state, &who, veille_i18n::Lang::Fr, &choice, Audience::Page).await.unwrap();
    assert!(!d.suppressed);
    type Counts = (String, Option<i64>, Option<i64>, Option<i64>);
    let cells =
        |areas: Vec<figures::MapArea>| -> Vec<Counts> { areas.into_iter().map(|a| (a.code, a.reports.value, a.encounters.value, a.sites.value)).collect() };
    let from_page = cells(figures::map_of(&w.app.state, &d).await.unwrap());
    assert_eq!(from_page, cells(figures::map(&w.app.state, &who, veille_i18n::Lang::Fr, &choice).await.unwrap()));
    let shown: Vec<Option<i64>> = from_page.iter().flat_map(|a| [a.1, a.2, a.3]).collect();
    assert!(shown.iter().any(|v| v.is_some_and(|n| n >= 2)) && shown.iter().any(Option::is_none), "{from_page:?}");
    assert!(!shown.contains(&Some(1)), "{from_page:?}");
}

#[tokio::test]
async fn the_exports_open_in_real_parsers_and_hold_the_tables() {
    let w = world(veille_app::Config { figures_min_cell: 2, ..Default::default() }).await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    // CSV: one line per cell, suppressed cells written "< 2".
    let r = c.get("/figures/export.csv?period=month&at=2026-12").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-disposition"].to_str().unwrap().contains("chiffres-2026-12.csv"));
    let mut csv = csv::Reader::from_reader(r.bytes.as_slice());
    let lines: Vec<Vec<String>> = csv.records().map(|l| l.unwrap().iter().map(str::to_owned).collect()).collect();
    let find = |code: &str, period: &str| lines.iter().find(|l| l[3] == code && l[4] == period).map(|l| l[5].clone());
    assert_eq!(find("encounters", "2026-12").as_deref(), Some("2"));
    assert_eq!(find("unidentified", "2026-12").as_deref(), Some("< 2"));
    assert!(lines.iter().all(|l| l[5] != "1"), "no 1 in the CSV");
    // XLSX: opened by openpyxl, one sheet per group, the same cells.
    let r = c.get("/figures/export.xlsx?period=month&at=2026-12").await;
    assert_eq!(r.status, StatusCode::OK);
    let sheets = xlsx_cells(&r.bytes);
    let names: Vec<&str> = sheets.as_object().unwrap().keys().map(String::as_str).collect();
    for s in [
        "À propos",
        "Signalements",
        "Rencontres et personnes",
        "Territoires",
        "Lieux de vie",
        "Distributions",
        "Orientations",
        "Situations complexes",
        "Hébergement",
        "Médiations et séances",
        "Évolution sur douze mois",
    ] {
        assert!(names.contains(&s), "sheet {s} in {names:?}");
    }
    let people = sheets["Rencontres et personnes"].as_array().unwrap();
    let row_of = |label: &str| people.iter().rev().find(|r| r[0] == label).unwrap_or_else(|| panic!("{label} in {people:?}")).clone();
    assert_eq!(row_of("Rencontres")[1].as_f64(), Some(2.0));
    assert_eq!(row_of("Personnes distinctes (fiches liées comptées une fois)")[1].as_f64(), Some(3.0));
    assert_eq!(row_of("Personnes non identifiées comptées")[1], json!("< 2"));
    for sheet in sheets.as_object().unwrap().values() {
        for r in sheet.as_array().unwrap() {
            for v in r.as_array().unwrap() {
                assert!(v.as_f64() != Some(1.0), "no 1 in the workbook: {r:?}");
            }
        }
    }
    // The activity report: a printable page and a PDF whose text holds the tables.
    let page = c.get("/figures/activity-report?period=month&at=2026-12").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("activité — Association A — 2026-12") && page.body.contains("<svg class=\"chart-bars\""));
    let r = c.get("/figures/activity-report.pdf?period=month&at=2026-12").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.bytes.starts_with(b"%PDF"));
    let text = pdf_text(&r.bytes);
    for t in
        ["Rapport d'activité", "Association A", "Rencontres et personnes", "Personnes par genre", "Orientations par suite donnée", "Évolution sur douze mois"]
    {
        assert!(text.contains(t), "{t} in the PDF: {text}");
    }
    // A funder's view: the chosen sections only, kept in the links to the PDF and the workbook.
    let page = c.get("/figures/activity-report?period=month&at=2026-12&section=sites&section=territories").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Population estimée sur les lieux de vie") && page.body.contains("Signalements reçus par territoire"), "{}", page.body);
    assert!(!page.body.contains("Orientations par suite donnée") && !page.body.contains("Personnes par genre"));
    assert!(page.body.contains("id=\"section-sites\" name=\"section\" value=\"sites\" checked"));
    assert!(!page.body.contains("value=\"reports\" checked"));
    assert!(page.body.contains("section=territories&amp;section=sites") || page.body.contains("section=territories&#38;section=sites"), "{}", page.body);
    let r = c.get("/figures/export.xlsx?period=month&at=2026-12&section=sites&section=territories").await;
    assert_eq!(r.status, StatusCode::OK);
    let sheets = xlsx_cells(&r.bytes);
    let names: Vec<&str> = sheets.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(names, vec!["Lieux de vie", "Territoires", "À propos", "Évolution sur douze mois"], "the chosen groups only (names sorted)");
    let trends = sheets["Évolution sur douze mois"].as_array().unwrap();
    assert_eq!(trends[0], json!(["Mois", "Population estimée sur les lieux de vie"]));
    assert_eq!((trends[12][0].clone(), trends[12][1].as_f64()), (json!("2026-12"), Some(14.0)));
    let r = c.get("/figures/activity-report.pdf?period=month&at=2026-12&section=sites").await;
    let text = pdf_text(&r.bytes);
    assert!(text.contains("Lieux de vie") && !text.contains("Orientations par suite donnée"), "{text}");
    // The map: territories with their suppressed counts (threshold 2: the
    // lone site in T1 is hidden with its complement, the total of 2 shown).
    let r = c.get("/figures/map.geojson?period=month&at=2026-12").await;
    assert_eq!(r.status, StatusCode::OK);
    let map = r.json();
    let t1 = map["features"].as_array().unwrap().iter().find(|f| f["properties"]["code"] == "T1").unwrap().clone();
    assert_eq!((t1["properties"]["reports"].clone(), t1["properties"]["encounters"].clone()), (json!(3), json!(2)));
    assert_eq!(t1["properties"]["sites"], Value::Null);
    assert!(t1["geometry"]["type"].is_string() && !r.body.contains("\"Point\""), "never a point");
    // A wrong choice is named.
    let r = c.get("/figures/export.xlsx?period=week").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["period"].is_string());
}

/// Every sheet of a workbook as rows of values, read by openpyxl (in .venv).
fn xlsx_cells(bytes: &[u8]) -> Value {
    let python = format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("veille-xlsx-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("figures.xlsx");
    std::fs::write(&file, bytes).unwrap();
    let script = "import sys, json, openpyxl\nwb = openpyxl.load_workbook(sys.argv[1], read_only=True)\n\
                  print(json.dumps({ws.title: [[c for c in row] for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}, default=str))";
    let out = std::process::Command::new(python).arg("-c").arg(script).arg(&file).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "openpyxl: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A past month's dashboard is computed once and shown again while nothing
/// it counts changes (decision 103): a late encounter recorded for that
/// month, or a person's gender corrected, shows at the next request on this
/// instance and on another one, exactly as a fresh computation gives it;
/// a change about a later month leaves it kept.
#[tokio::test]
async fn a_past_months_figures_are_kept_until_what_they_count_changes() {
    let mut w = world(veille_app::Config::default()).await;
    let who = caller(&w, w.coordinator).await;
    let lang = veille_i18n::Lang::Fr;
    // November 2026 ended more than two hours ago (the fixture's clock is
    // the test's own; the epochs follow the database's).
    let november = FiguresQuery { period: "month".into(), at: "2026-11".into(), ..Default::default() };
    let choice = figures::validate(&w.app.state, &who, lang, &november).unwrap();
    let kept = &w.app.state.figures;
    let shown = |d: &figures::Dashboard| serde_json::to_value(d).unwrap();
    // A period that has not ended two hours ago by the database's clock has
    // no epoch: it is computed at each request, never kept.
    let now = veille_app::Clock::System.now();
    for (end, keepable) in [(now.plus_seconds(3_600), false), (now.plus_seconds(-3_600), false), (now.plus_seconds(-3 * 3_600), true)] {
        assert_eq!(veille_storage::figures::epoch(w.app.db(), end).await.unwrap().is_some(), keepable, "{end:?}");
    }
    let first = figures::dashboard(&w.app.state, &who, lang, &choice, Audience::Page).await.unwrap();
    assert_eq!(kept.len(), 1, "a past month's dashboard is kept");
    assert_eq!(both(&first, "encounters-totals", "unique_people").0, Some(2));
    let again = figures::dashboard(&w.app.state, &who, lang, &choice, Audience::Page).await.unwrap();
    assert_eq!(kept.hits(), 1, "asked again, it is shown as kept");
    assert_eq!(shown(&again), shown(&first));
    // A reader (suppressed) is shown the same kept figures, suppressed.
    let reader = caller(&w, w.reader).await;
    let suppressed = figures::dashboard(&w.app.state, &reader, lang, &choice, Audience::Page).await.unwrap();
    assert_eq!(kept.hits(), 2);
    assert!(suppressed.suppressed);
    assert_eq!(both(&suppressed, "encounters-totals", "unique_people").0, None, "2 is below the threshold");

    // A change about December (the fixture's month): November is still kept.
    let newcomer = person(&mut w.api, "Joly", 1980, "man", &[]).await;
    encounter(&mut w.api, &[&newcomer], 0).await;
    let after_december = figures::dashboard(&w.app.state, &who, lang, &choice, Audience::Page).await.unwrap();
    assert_eq!(kept.hits(), 3, "a change about a later month leaves November as it was");
    assert_eq!(shown(&after_december), shown(&first));

    // An encounter of November recorded late (the clock is in December).
    let r = w
        .api
        .post_json("/api/v1/encounters", &json!({"people": [newcomer], "actions": ["listening"], "unidentified_count": 0, "at": "2026-11-25T21:00"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let late = figures::dashboard(&w.app.state, &who, lang, &choice, Audience::Page).await.unwrap();
    assert_eq!(kept.hits(), 3, "recomputed");
    assert_eq!(both(&late, "encounters-totals", "unique_people").0, Some(3));
    let fresh = figures::computed(&w.app.state, &who, lang, &choice, Audience::Page).await.unwrap();
    assert_eq!(shown(&late), shown(&fresh));

    // Another instance on the same database keeps its own dashboards, and
    // sees a change made through this one.
    let other = w.app.second_instance().await;
    let there = figures::dashboard(&other, &who, lang, &choice, Audience::Page).await.unwrap();
    assert_eq!(shown(&there), shown(&late));
    assert_eq!(other.figures.len(), 1);

    // A person's gender corrected: it may move any period's figures.
    let id: String = veille_storage::sqlx::query_scalar("SELECT id FROM people WHERE pseudonym = 'Fantine'").fetch_one(w.app.db().pool()).await.unwrap();
    let current = w.api.get(&format!("/api/v1/people/{id}")).await.json();
    let r = w
        .api
        .post_json(
            &format!("/api/v1/people/{id}"),
            &json!({"pseudonym": "Fantine", "birth_year": 1990, "gender": "man", "needs": ["food", "hygiene"], "version": current["version"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for app in [&w.app.state, &other] {
        let d = figures::dashboard(app, &who, lang, &choice, Audience::Page).await.unwrap();
        assert_eq!(both(&d, "people-gender", "woman").0, Some(0), "the correction shows at once");
        assert_eq!(shown(&d), shown(&figures::computed(app, &who, lang, &choice, Audience::Page).await.unwrap()));
    }
}
