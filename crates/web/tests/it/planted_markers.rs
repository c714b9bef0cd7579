//! The planted-marker test (decision 79): a unique marker typed into every
//! personal field the application accepts, through its real forms and API,
//! must never come out where it does not belong — the logs, the e-mails, a
//! URL (redirects, links and form actions of the pages visited), error pages,
//! the metrics, the pseudonymised export, the audit details (at all; and the
//! health markers not even on the audit page of an organisation
//! administrator). Which fields are covered is read from the database after
//! the planting, against the declaration of personal data
//! (`storage::personal::PERSONAL`): a declared column no planting path fills
//! fails the test unless it is exempted below with its reason.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::StatusCode;
use veille_domain::shelter::Night;
use veille_domain::Role;
use veille_storage::field_keys;
use veille_storage::personal::{GROUPED_BY_ROW, PERSONAL};
use veille_storage::sqlx::{self, Row};

use crate::helpers::*;

/// What every log line of the test binary is written to (from the first
/// planted-marker test on), at the debug level for veille's own crates.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Buffer(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,veille_web=debug,veille_app=debug,veille_storage=debug,sqlx=warn"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber in the test binary");
        buffer
    })
    .clone()
}

#[derive(Clone)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The markers planted, each with where it was typed.
struct Markers {
    seed: String,
    all: Vec<(String, String)>,
}

impl Markers {
    fn new() -> Self {
        Self { seed: format!("{:08x}", rand::random::<u32>()), all: Vec::new() }
    }
    /// A new marker for a text field.
    fn text(&mut self, field: &str) -> String {
        let m = format!("plant{}x{}", self.all.len(), self.seed);
        self.all.push((m.clone(), field.to_owned()));
        m
    }
    /// An e-mail address holding a new marker.
    fn email(&mut self, field: &str) -> String {
        format!("{}@exemple.fr", self.text(field))
    }
    /// A French mobile number of its own (the marker is its digits).
    fn phone(&mut self, field: &str) -> String {
        let m = format!("07{:08}", rand::random::<u32>() % 100_000_000);
        self.all.push((m.clone(), field.to_owned()));
        m
    }
    /// The markers found in `text` (case-insensitive), with their field.
    fn found_in(&self, text: &str) -> Vec<String> {
        let lower = text.to_lowercase();
        self.all.iter().filter(|(m, _)| lower.contains(m.as_str())).map(|(m, f)| format!("{m} ({f})")).collect()
    }
}

/// What the test saw of every answer: redirects, and the links, form actions
/// and sources of every page.
#[derive(Default)]
struct Seen {
    urls: Vec<String>,
    pages: usize,
}

impl Seen {
    fn saw(&mut self, r: Resp) -> Resp {
        if let Some(l) = r.location() {
            self.urls.push(l.to_owned());
        }
        for attr in ["href=\"", "action=\"", "src=\"", "hx-get=\"", "hx-post=\"", "formaction=\""] {
            for part in r.body.split(attr).skip(1) {
                self.urls.push(part.split('"').next().unwrap_or("").to_owned());
            }
        }
        self.pages += 1;
        r
    }
}

/// The error messages of a refused form, or the body of another answer.
fn why(r: &Resp) -> String {
    let errors: Vec<&str> = r.body.lines().filter(|l| l.contains("-error") || l.contains("\"error\"")).collect();
    if errors.is_empty() {
        r.body.chars().take(600).collect()
    } else {
        errors.join("\n")
    }
}

fn id_in(r: &Resp) -> String {
    let loc = r.location().unwrap_or_else(|| panic!("no redirect: {} {}", r.status, why(r)));
    loc.split(['?', '#']).next().unwrap().rsplit('/').next().unwrap().to_owned()
}

fn created(r: &Resp) -> String {
    assert!(r.status == StatusCode::CREATED || r.status == StatusCode::OK, "{} {}", r.status, why(r));
    let json = r.json();
    let nested = json.as_object().and_then(|o| o.values().find_map(|v| v["id"].as_str().map(str::to_owned)));
    json["id"].as_str().map(str::to_owned).or(nested).unwrap_or_else(|| panic!("no id: {}", r.body))
}

/// A sync device registered for the client's account.
async fn device(c: &mut Client) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let r = c.post_json("/api/v1/sync/devices", &serde_json::json!({"device_id": id})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    id
}

fn redirected(r: &Resp) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", why(r));
}

/// Columns a marker cannot be typed into, or that are not typed at all.
const EXEMPT: &[(&str, &str, &str)] = &[
    ("reports", "lon", "a coordinate"),
    ("reports", "lat", "a coordinate"),
    ("encounters", "lon", "a coordinate"),
    ("encounters", "lat", "a coordinate"),
    ("contacts", "lon", "a coordinate"),
    ("contacts", "lat", "a coordinate"),
    ("people", "birth_year", "a year"),
    ("people", "age_band", "a code of a closed list"),
    ("people", "gender", "a code of a closed list"),
    ("people", "languages", "codes of a closed list"),
    ("people", "nationality", "a code of a closed list"),
    ("people", "situation", "a code of a closed list"),
    ("people", "needs", "codes of a closed list"),
    ("people", "vulnerabilities", "codes of a closed list"),
    ("people", "exit_reason", "a code of a closed list"),
    ("person_health", "flags", "codes of a closed list"),
    ("consents", "language", "a code of a closed list"),
    ("households", "kind", "a code of a closed list"),
    ("household_children", "birth_year", "a year"),
    ("case_people", "person_id", "an id"),
    ("operations", "legal_frame", "a code of a closed list"),
    ("operation_people", "vulnerabilities", "codes of a closed list"),
    ("tenancies", "exit_reason", "a code of a closed list"),
    ("dwelling_checks", "checklist", "codes of a closed list"),
    ("stays", "destination", "a code of a closed list"),
    ("report_photos", "data", "an image, re-encoded"),
    ("photo_uploads", "data", "an image, re-encoded"),
    ("service_request_photos", "data", "an image, re-encoded"),
    ("log_entries", "attachment_data", "an image or PDF"),
    ("sync_blobs", "data", "an image or PDF, copied into its record when used"),
    ("login_attempts", "ip", "an address, written by the instance"),
    ("report_submissions", "client_key", "a hash, written by the instance"),
    ("outbox", "to_address", "the recipient, written by the instance"),
    ("outbox", "subject", "written by the instance (checked: no marker)"),
    ("outbox", "body_text", "written by the instance (checked: no marker)"),
    ("timeline", "detail", "written by the instance"),
    ("audit_log", "detail", "written by the instance (checked: no marker)"),
    ("sites", "land_owner", "a code of a closed list"),
    ("person_links", "agreements", "the names of the fields that agree, written by the instance"),
    ("users", "email", "accounts are made by the test's helpers; invitations plant theirs"),
    ("users", "display_name", "accounts are made by the test's helpers; invitations plant theirs"),
];

/// Whether a column holds a code, a number or binary (not checked for markers).
fn exempt(table: &str, column: &str) -> bool {
    EXEMPT.iter().any(|(t, c, _)| *t == table && *c == column)
}

/// The declared personal columns no marker reached.
async fn uncovered(app: &TestApp, markers: &Markers) -> Vec<String> {
    let db = app.db();
    let ring = db.field_keys().unwrap();
    let mut missing = Vec::new();
    let grouped: BTreeSet<(&str, &str)> = GROUPED_BY_ROW.iter().map(|g| (g.table, g.column)).collect();
    for table in PERSONAL {
        for column in table.columns {
            if exempt(table.name, column.name) {
                continue;
            }
            let sql = format!("SELECT CAST({c} AS TEXT) AS v FROM {t} WHERE {c} IS NOT NULL", c = column.name, t = table.name);
            let rows = sqlx::query(&sql).fetch_all(db.pool()).await.unwrap_or_else(|e| panic!("{}.{}: {e}", table.name, column.name));
            let sealed = field_keys::column_sealed(table.name, column.name) || grouped.contains(&(table.name, column.name));
            let hit = rows.iter().any(|r| {
                let v: String = r.get("v");
                let v = if sealed { ring.open(table.name, column.name, &v).unwrap() } else { v };
                !markers.found_in(&v).is_empty()
            });
            if !hit {
                missing.push(format!("{}.{}", table.name, column.name));
            }
        }
    }
    missing
}

#[tokio::test]
async fn a_marker_typed_into_every_personal_field_never_leaks() {
    let logs = captured_logs();
    let app = TestApp::new().await;
    let t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let org = app.org("Maraude plantée", true).await;
    let partner_org = app.org("Accueil de jour planté", false).await;
    let coord = app.user(org, Role::Coordinator, "coord@plante.exemple.fr", None, None).await;
    let nurse = app.user(org, Role::HealthProfessional, "sante@plante.exemple.fr", None, None).await;
    let admin = app.user(org, Role::OrgAdmin, "admin@plante.exemple.fr", None, None).await;
    let field = app.user(org, Role::FieldWorker, "terrain@plante.exemple.fr", None, Some(vec![t1])).await;
    let partner = app.user(partner_org, Role::Partner, "accueil@plante.exemple.fr", None, None).await;
    let mut m = Markers::new();
    let mut seen = Seen::default();
    let mut c = app.session_for(coord, false).await;
    let mut n = app.session_for(nurse, false).await;
    let mut f = app.session_for(field, false).await;

    // --- Signalements: the public form, the staff API, notes, level, answer.
    let mut public = app.client();
    let (description, address, email, phone) =
        (m.text("reports.description"), m.text("reports.address"), m.email("reports.contact_email"), m.phone("reports.contact_phone"));
    let r = seen.saw(
        public
            .post(
                "/signaler",
                &[
                    ("lat", "48.05"),
                    ("lon", "2.05"),
                    ("situation", "person_in_distress"),
                    ("description", &description),
                    ("address", &address),
                    ("email", &email),
                    ("phone", &phone),
                    ("consent", "1"),
                ],
            )
            .await,
    );
    assert_eq!(r.status, StatusCode::CREATED, "{}", why(&r));
    let follow = r.body[r.body.find("/suivi/").unwrap()..].split('"').next().unwrap().to_owned();
    seen.saw(public.get(&follow).await);
    let body = serde_json::json!({
        "source": "association", "channel": "phone", "lat": 48.05, "lon": 2.05, "situations": ["camp"],
        "description": m.text("reports.description (API)"), "address": m.text("reports.address (API)"),
        "reporter_name": m.text("reports.reporter_name"), "reporter_email": m.email("reports.contact_email (API)"),
        "reporter_phone": m.phone("reports.contact_phone (API)"), "consent": true,
    });
    let report = created(&seen.saw(c.post_json("/api/v1/reports", &body).await));
    redirected(&seen.saw(c.post(&format!("/reports/{report}/notes"), &[("body", &m.text("report_notes.body"))]).await));
    let r = seen.saw(c.post(&format!("/reports/{report}/level"), &[("level", "2"), ("reason", &m.text("reports.override_reason")), ("version", "1")]).await);
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    let version = c.get(&format!("/api/v1/reports/{report}")).await.json()["version"].as_i64().unwrap();
    let r = seen.saw(
        c.post_json(&format!("/api/v1/reports/{report}/answer"), &serde_json::json!({"answer": m.text("reports.public_answer"), "version": version})).await,
    );
    assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    seen.saw(c.get(&format!("/reports/{report}")).await);
    seen.saw(c.get("/reports").await);

    // --- People: every free-text field, with the consent identifying data needs.
    let mut person_fields: Vec<(&str, String)> = vec![
        ("pseudonym", m.text("people.pseudonym")),
        ("aliases", m.text("people.aliases")),
        ("phone", m.phone("people.phone")),
        ("civil_given_name", m.text("people.civil_given_name")),
        ("civil_family_name", m.text("people.civil_family_name")),
    ];
    for (k, v) in [
        ("age", "40"),
        ("consent_identifying", "1"),
        ("consent_purpose", "1"),
        ("consent_access", "1"),
        ("consent_rights", "1"),
        ("consent_language", "fr"),
        ("duplicates_reviewed", "1"),
    ] {
        person_fields.push((k, v.to_owned()));
    }
    let pairs: Vec<(&str, &str)> = person_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = seen.saw(c.post("/people", &pairs).await);
    let person = id_in(&r);
    let other = id_in(&seen.saw(c.post("/people", &[("pseudonym", &m.text("people.pseudonym (second)")), ("duplicates_reviewed", "1")]).await));
    redirected(
        &seen.saw(
            n.post(&format!("/people/{person}/health"), &[("flags", "chronic_illness"), ("notes", &m.text("person_health.notes")), ("version", "0")]).await,
        ),
    );
    redirected(&seen.saw(n.post(&format!("/people/{person}/notes"), &[("body", &m.text("person_notes.body (health)")), ("health", "1")]).await));
    redirected(&seen.saw(c.post(&format!("/people/{person}/notes"), &[("body", &m.text("person_notes.body"))]).await));
    let r = seen.saw(c.post(&format!("/people/{person}/link"), &[("other", &other), ("agreements", &m.text("person_links.agreements"))]).await);
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    seen.saw(c.get(&format!("/people/{person}")).await);
    seen.saw(n.get(&format!("/people/{person}")).await);

    // --- Encounters: place, notes, follow-up, care (health).
    let r = seen.saw(
        n.post(
            "/encounters",
            &[
                ("people", &person),
                ("place", &m.text("encounters.place")),
                ("notes", &m.text("encounters.notes")),
                ("follow_up", "1"),
                ("follow_up_note", &m.text("encounters.follow_up_note")),
                ("actions", "care"),
                ("care", &m.text("encounter_care.notes")),
            ],
        )
        .await,
    );
    let encounter = id_in(&r);
    seen.saw(n.get(&format!("/encounters/{encounter}")).await);
    seen.saw(c.get(&format!("/encounters/{encounter}")).await);

    // --- Referrals: to a partner organisation (answered), to a partner by e-mail, without consent.
    let r = seen.saw(
        c.post(
            "/referrals",
            &[
                ("person", &person),
                ("partner_organisation", &partner_org.to_string()),
                ("reason", &m.text("referrals.reason")),
                ("consent_confirmed", "1"),
                ("send", "1"),
            ],
        )
        .await,
    );
    let referral = id_in(&r);
    let mut p = app.session_for(partner, false).await;
    let r =
        seen.saw(p.post(&format!("/referrals/{referral}/answer"), &[("status", "accepted"), ("message", &m.text("referrals.answer")), ("version", "2")]).await);
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    let r = seen.saw(
        c.post(
            "/referrals",
            &[
                ("person", &person),
                ("partner_name", "Bagagerie"),
                ("partner_email", &m.email("referrals.partner_email")),
                ("reason", "Consigne"),
                ("urgent_reason", &m.text("referrals.urgent_override_reason")),
                ("send", "1"),
            ],
        )
        .await,
    );
    assert!(r.status.is_success() || r.status.is_redirection(), "{} {}", r.status, why(&r));

    // --- Sites: address, land owner, an observation's comment.
    let site = created(
        &seen.saw(
            c.post_json(
                "/api/v1/sites",
                &serde_json::json!({"name": "Campement planté", "kind": "camp", "lon": 2.05, "lat": 48.05, "address": m.text("sites.address"), "land_owner": "municipal"}),
            )
            .await,
        ),
    );
    let r = seen.saw(
        c.post_json(&format!("/api/v1/sites/{site}/observations"), &serde_json::json!({"people": 3, "comment": m.text("site_observations.comment")})).await,
    );
    assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    seen.saw(c.get(&format!("/sites/{site}")).await);

    // --- Maraudes: a stop's note, an incident, the daily report (team, circuit and slot set up as the rounds tests do).
    let second = app.user(org, Role::FieldWorker, "binome@plante.exemple.fr", None, Some(vec![t1])).await;
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    let team = veille_storage::teams::create(&mut tx, org, "Maraude plantée du soir", "social", now).await.unwrap();
    for u in [field, second] {
        veille_storage::teams::add_member(&mut tx, team, u).await.unwrap();
    }
    let circuit = veille_storage::rounds::create_circuit(&mut tx, org, team, "Circuit planté", now).await.unwrap();
    veille_storage::rounds::add_circuit_stop(&mut tx, circuit, Some(site.parse().unwrap()), "", None, now).await.unwrap();
    veille_storage::rounds::create_slot(
        &mut tx,
        &veille_storage::rounds::NewSlot {
            organisation: org,
            team,
            weekday: i64::from(chrono::Datelike::weekday(&now.paris_date()).number_from_monday()),
            start_minute: 20 * 60,
            end_minute: 60,
            territory: None,
            circuit: Some(circuit),
            note: String::new(),
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let slot = veille_storage::rounds::slots(app.db()).await.unwrap()[0].id;
    let r = seen.saw(f.post("/rounds", &[("slot_id", &slot.to_string()), ("date", &now.paris_date().to_string())]).await);
    let round = id_in(&r);
    let expected = now.plus_seconds(3 * 3600).to_paris_input();
    let r = seen.saw(
        f.post(
            &format!("/rounds/{round}/check-in"),
            &[("members", &field.to_string()), ("members", &second.to_string()), ("expected_return", &expected), ("version", "1")],
        )
        .await,
    );
    redirected(&r);
    let stops = veille_storage::rounds::stops(app.db(), &everything(), round.parse().unwrap()).await.unwrap();
    redirected(&seen.saw(f.post(&format!("/rounds/{round}/visit"), &[("stop_id", &stops[0].id.to_string()), ("note", &m.text("round_stops.note"))]).await));
    redirected(&seen.saw(f.post(&format!("/rounds/{round}/incidents"), &[("kind", "threat"), ("description", &m.text("round_incidents.description"))]).await));
    let r = seen.saw(f.post(&format!("/rounds/{round}/check-out"), &[("version", "2")]).await);
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    let r = seen.saw(
        f.post(
            &format!("/rounds/{round}/report"),
            &[
                ("people_total", "1"),
                ("people_new", "0"),
                ("people_known", "1"),
                ("mediations", "1"),
                ("mediation_notes", &m.text("rounds.mediation_notes")),
                ("handover", &m.text("rounds.handover")),
                ("version", "3"),
            ],
        )
        .await,
    );
    redirected(&r);
    seen.saw(f.get(&format!("/rounds/{round}/report")).await);

    // --- Shelter: a facility's night, stays, the waiting list, an operation and its diagnosis.
    let facility =
        created(&seen.saw(
            c.post_json("/api/v1/facilities", &serde_json::json!({"name": "Hôtel planté", "kind": "hotel", "places": 10, "lon": 2.05, "lat": 48.05})).await,
        ));
    let night = Night::at(app.state.clock.now());
    let r = seen.saw(
        c.post_json(
            &format!("/api/v1/facilities/{facility}/nights"),
            &serde_json::json!({"night": night.iso(), "places": 8, "note": m.text("facility_nights.note")}),
        )
        .await,
    );
    assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    let stay = created(
        &seen.saw(
            c.post_json(
                "/api/v1/stays",
                &serde_json::json!({"facility_id": facility, "label": m.text("stays.label"), "note": m.text("stays.note"), "places": 1, "nights": 2}),
            )
            .await,
        ),
    );
    seen.saw(c.get(&format!("/api/v1/stays/{stay}")).await);
    let r = seen.saw(
        c.post("/shelter/requests", &[("label", &m.text("shelter_requests.label")), ("note", &m.text("shelter_requests.note")), ("public", "families")]).await,
    );
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    let date = night.plus(3);
    let operation = created(
        &seen.saw(
            c.post_json(
                "/api/v1/operations",
                &serde_json::json!({"site_id": site, "kind": "sheltering", "planned_on": date.iso(), "legal_frame": "prefectoral_order", "legal_reference": m.text("operations.legal_reference")}),
            )
            .await,
        ),
    );
    let r = seen.saw(
        c.post_json(
            &format!("/api/v1/operations/{operation}/diagnosis"),
            &serde_json::json!({"label": m.text("operation_people.label"), "people": 2, "needs": m.text("operation_people.needs"), "proposal": m.text("operation_people.proposal")}),
        )
        .await,
    );
    assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    let line = c.get(&format!("/api/v1/operations/{operation}")).await.json()["diagnosis"][0]["id"].clone();
    let r = seen.saw(
        c.post_json(
            &format!("/api/v1/operations/{operation}/outcomes"),
            &serde_json::json!({"line_id": line, "outcome": "refused", "facility_id": "", "nights": 7}),
        )
        .await,
    );
    assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    redirected(&seen.saw(c.post(&format!("/operations/{operation}/finish"), &[("report", &m.text("operations.report")), ("version", "1")]).await));
    seen.saw(c.get(&format!("/operations/{operation}")).await);

    // --- Housing First: a landlord, a dwelling, a tenancy, a check.
    let r = seen.saw(
        c.post(
            "/housing/landlords",
            &[
                ("name", &m.text("landlords.name")),
                ("kind", "social"),
                ("contact", &m.text("landlords.contact")),
                ("agreement", &m.text("landlords.agreement")),
            ],
        )
        .await,
    );
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    let dwelling = created(
        &seen.saw(
            c.post_json(
                "/api/v1/dwellings",
                &serde_json::json!({"address": m.text("dwellings.address"), "territory_id": t1.to_string(), "check_every_days": 30}),
            )
            .await,
        ),
    );
    let r =
        seen.saw(c.post(&format!("/housing/dwellings/{dwelling}/tenancies"), &[("label", &m.text("tenancies.label")), ("lease_start", &night.iso())]).await);
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    let checks = veille_storage::shelter::checks(app.db(), dwelling.parse().unwrap()).await.unwrap();
    let r = seen.saw(
        c.post_json(
            &format!("/api/v1/dwelling-checks/{}", checks[0].id),
            &serde_json::json!({"state": "ok", "safety": "ok", "hygiene": "ok", "neighbourhood": "ok", "rent": "ok", "wishes": "ok", "notes": m.text("dwelling_checks.notes")}),
        )
        .await,
    );
    assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    seen.saw(c.get(&format!("/housing/dwellings/{dwelling}")).await);

    // --- Cases: title, an evaluation, an action with its result and owner.
    let case = created(&seen.saw(c.post_json("/api/v1/cases", &serde_json::json!({"title": m.text("cases.title")})).await));
    redirected(&seen.saw(c.post(&format!("/cases/{case}/evaluations"), &[("domain", "rights"), ("body", &m.text("case_evaluations.body"))]).await));
    let r = seen.saw(
        c.post_json(
            &format!("/api/v1/cases/{case}/actions"),
            &serde_json::json!({"title": m.text("actions.title"), "owner_name": m.text("actions.owner_name")}),
        )
        .await,
    );
    assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    let action = r.json()["id"].as_str().map(str::to_owned).unwrap_or_default();
    if !action.is_empty() {
        let r = seen.saw(
            c.post_json(
                &format!("/api/v1/actions/{action}/status"),
                &serde_json::json!({"status": "in_progress", "result": m.text("actions.result"), "version": "1"}),
            )
            .await,
        );
        assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    }
    seen.saw(c.get(&format!("/cases/{case}")).await);

    // --- Meetings: title, theme, attendees, items, a decision, the evaluation.
    let r = seen.saw(
        c.post(
            "/meetings",
            &[
                ("kind", "cellule"),
                ("title", &m.text("meetings.title")),
                ("theme", &m.text("meetings.theme")),
                ("starts_at", "2026-12-10T14:00"),
                ("minutes", "120"),
            ],
        )
        .await,
    );
    let meeting = id_in(&r);
    redirected(&seen.saw(c.post(&format!("/meetings/{meeting}/items"), &[("topic", &m.text("meeting_items.topic"))]).await));
    let r = seen.saw(
        c.post(&format!("/meetings/{meeting}/attendees"), &[("email", &m.email("meeting_attendees.email")), ("name", &m.text("meeting_attendees.name"))]).await,
    );
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    let items = c.get(&format!("/api/v1/meetings/{meeting}")).await.json()["agenda"].clone();
    let item = items[0]["id"].as_str().unwrap().to_owned();
    let r = seen.saw(
        c.post_json(
            &format!("/api/v1/meetings/{meeting}/record"),
            &serde_json::json!({"item_id": item, "notes": m.text("meeting_items.notes"), "decision": m.text("meeting_items.decision")}),
        )
        .await,
    );
    assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    let r = seen.saw(c.post(&format!("/meetings/{meeting}/held"), &[("evaluation", &m.text("meetings.evaluation")), ("version", "1")]).await);
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    seen.saw(c.get(&format!("/meetings/{meeting}")).await);
    seen.saw(c.get(&format!("/meetings/{meeting}/minutes")).await);

    // --- Escalations: summary, resolution.
    let r = seen.saw(
        f.post(
            "/escalations",
            &[("kind", "person_in_danger"), ("summary", &m.text("escalations.summary")), ("recipients", "coord@plante.exemple.fr"), ("ack_minutes", "15")],
        )
        .await,
    );
    let escalation = id_in(&r);
    redirected(&seen.saw(c.post(&format!("/escalations/{escalation}/resolve"), &[("resolution", &m.text("escalations.resolution"))]).await));

    // --- Neighbourhood: a contact of the relays group, a mediation, a service request, a logbook entry.
    let contact = created(
        &seen.saw(
            c.post_json(
                "/api/v1/contacts",
                &serde_json::json!({"role": "caretaker", "name": m.text("contacts.name"), "structure": m.text("contacts.structure"), "place": m.text("contacts.place"),
                    "phone": m.phone("contacts.phone"), "email": m.email("contacts.email"), "reach": m.text("contacts.reach"), "consent": "on", "lat": "48.05", "lon": "2.05"}),
            )
            .await,
        ),
    );
    let mediation = created(
        &seen.saw(
            c.post_json(
                "/api/v1/mediations",
                &serde_json::json!({"subject": "noise", "outcome": "to_follow", "contact": [contact], "party_role": ["resident"], "lat": "48.05", "lon": "2.05",
                    "place": m.text("mediations.place"), "actions": m.text("mediations.actions"), "outcome_note": m.text("mediations.outcome_note")}),
            )
            .await,
        ),
    );
    let r = seen.saw(c.post("/city-services", &[("name", "Propreté Nord"), ("category", "cleaning"), ("email", "proprete@ville.exemple.fr")]).await);
    assert!(r.status.is_redirection(), "{} {}", r.status, why(&r));
    let request = created(
        &seen.saw(
            c.post_json(
                "/api/v1/service-requests",
                &serde_json::json!({"category": "cleaning", "origin_kind": "mediation", "origin_id": mediation, "place": m.text("service_requests.place"),
                    "description": m.text("service_requests.description"), "urgency": "urgent"}),
            )
            .await,
        ),
    );
    let r = seen.saw(
        c.post_json(
            &format!("/api/v1/service-requests/{request}/answer"),
            &serde_json::json!({"status": "acknowledged", "answer": m.text("service_requests.answer"), "version": 1}),
        )
        .await,
    );
    assert!(r.status.is_success(), "{} {}", r.status, why(&r));
    let r = seen.saw(
        c.post_multipart(
            &format!("/logbooks/site/{site}"),
            &[("category", "information"), ("body", &m.text("log_entries.body"))],
            Some(("attachment", &format!("{}.pdf", m.text("log_entries.attachment_name")), b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")),
        )
        .await,
    );
    assert!(r.status.is_redirection() || r.status.is_success(), "{} {}", r.status, why(&r));

    // --- Accounts: an invitation names a person and an address.
    let r = seen.saw(
        app.session_for(admin, false)
            .await
            .post(
                &format!("/organisations/{org}/invitations"),
                &[("email", &m.email("invitations.email")), ("display_name", &m.text("invitations.display_name")), ("role", "field_worker")],
            )
            .await,
    );
    assert!(r.status.is_redirection() || r.status.is_success(), "{} {}", r.status, why(&r));

    // --- Rights: a file's history (rectification) and a legal hold placed and lifted.
    let version = c.get(&format!("/api/v1/people/{other}")).await.json()["version"].as_i64().unwrap().to_string();
    let renamed = m.text("person_changes.new_value");
    redirected(&seen.saw(c.post(&format!("/people/{other}"), &[("pseudonym", renamed.as_str()), ("duplicates_reviewed", "1"), ("version", &version)]).await));
    let mut a = app.session_for(admin, false).await;
    let r = seen.saw(a.post(&format!("/rights/people/{person}/holds"), &[("reason", &m.text("legal_holds.reason"))]).await);
    assert!(r.status.is_redirection() || r.status.is_success(), "{} {}", r.status, why(&r));
    let hold: String = sqlx::query("SELECT id FROM legal_holds").fetch_one(app.db().pool()).await.unwrap().get("id");
    let r = seen.saw(a.post(&format!("/rights/holds/{hold}/lift"), &[("lift_reason", &m.text("legal_holds.lift_reason"))]).await);
    assert!(r.status.is_redirection() || r.status.is_success(), "{} {}", r.status, why(&r));
    seen.saw(a.get(&format!("/rights/people/{person}")).await);
    seen.saw(c.get(&format!("/people/{other}")).await);

    // --- Offline sync: a phone's change (the field's version), a second phone's
    // competing value (a conflict), the coordinator's new value, a held body.
    let set_pseudonym = |seq: i64, value: String| {
        serde_json::json!({"op_id": uuid::Uuid::now_v7().to_string(), "seq": seq, "kind": "set",
            "set": {"entity": "person", "id": person, "field": "pseudonym", "value": value, "base": {"number": 0, "by": null}}})
    };
    let first = device(&mut c).await;
    let r = seen
        .saw(c.post_json("/api/v1/sync/ops", &serde_json::json!({"device_id": first, "ops": [set_pseudonym(1, m.text("sync_field_versions.value"))]})).await);
    assert_eq!(r.json()["replies"][0]["state"], "applied", "{}", r.body);
    let second = device(&mut c).await;
    let held = serde_json::json!({"op_id": uuid::Uuid::now_v7().to_string(), "seq": 3, "kind": "encounter",
        "encounter": {"actions": ["listening"], "unidentified_count": 1, "notes": m.text("sync_ops.payload")}});
    let r = seen.saw(
        c.post_json("/api/v1/sync/ops", &serde_json::json!({"device_id": second, "ops": [set_pseudonym(1, m.text("sync_conflicts.proposed_value")), held]}))
            .await,
    );
    let replies = r.json()["replies"].clone();
    assert_eq!((replies[0]["state"].as_str(), replies[1]["state"].as_str()), (Some("conflict"), Some("held")), "{}", r.body);
    seen.saw(c.get("/sync/conflicts").await);
    let conflict: String = sqlx::query("SELECT id FROM sync_conflicts").fetch_one(app.db().pool()).await.unwrap().get("id");
    let csrf = c.csrf().await;
    let r = seen.saw(
        c.post(&format!("/sync/conflicts/{conflict}"), &[("csrf", &csrf), ("choice", "new_value"), ("value", &m.text("sync_conflicts.resolved_value"))]).await,
    );
    redirected(&r);
    seen.saw(c.get(&format!("/people/{person}")).await);

    // --- Error pages: markers in paths, queries and refused values are not echoed.
    let probe = m.text("error probe");
    for path in
        [format!("/people/{probe}"), format!("/reports/{probe}"), format!("/api/v1/people/{probe}"), format!("/nowhere/{probe}"), format!("/reports?q={probe}")]
    {
        let r = c.get(&path).await;
        assert!(m.found_in(&r.body).is_empty(), "{path}: {} {:?}", r.status, m.found_in(&r.body));
        assert!(!r.headers.get("location").is_some_and(|l| l.to_str().unwrap_or("").contains(&probe)), "{path}");
    }
    let refused = m.text("refused value");
    let r = c.post_json("/api/v1/people", &serde_json::json!({"pseudonym": "x", "gender": refused, "nationality": refused})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(!r.body.contains(&refused), "a refused value is not echoed in the API's error: {}", r.body);
    let r = seen.saw(c.post("/people", &[("pseudonym", "y"), ("nationality", &refused), ("gender", &refused)]).await);
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for part in r.body.split("class=\"error\"").skip(1) {
        assert!(!part.split("</").next().unwrap_or("").contains(&refused), "an error message repeats the refused value");
    }
    let r = f.get(&format!("/people/{person}/edit?x={probe}")).await;
    assert!(m.found_in(&r.body).iter().all(|x| !x.contains("error probe")), "{}", r.body);

    // --- Where markers must not appear.
    // Every URL of every answer and page visited.
    for url in &seen.urls {
        assert!(m.found_in(url).is_empty(), "a marker in a URL: {url} ({:?})", m.found_in(url));
    }
    assert!(seen.pages > 40, "{} answers seen", seen.pages);
    // E-mails: subjects and bodies.
    app.state.clock.advance_seconds(1);
    for row in sqlx::query("SELECT subject, body_text FROM outbox").fetch_all(app.db().pool()).await.unwrap() {
        let (subject, body): (String, Option<String>) = (row.get("subject"), row.get("body_text"));
        let text = format!("{subject}\n{}", body.unwrap_or_default());
        // The public answer is written for the reporter, to be published
        // and mailed to them: the one planted text a mail is meant to carry.
        let leaks: Vec<String> = m.found_in(&text).into_iter().filter(|x| !x.contains("(reports.public_answer)")).collect();
        assert!(leaks.is_empty(), "a marker in a mail: {leaks:?}\n{text}");
    }
    // The audit log's details hold no personal data at all.
    veille_storage::audit::seal(app.db(), &app.state.audit).await.unwrap();
    for row in sqlx::query("SELECT detail FROM audit_log").fetch_all(app.db().pool()).await.unwrap() {
        let detail: String = row.get("detail");
        assert!(m.found_in(&detail).is_empty(), "a marker in the audit log: {detail}");
    }
    // …nor the organisation's audit page read by its administrator (who reads no health field).
    let mut a = app.session_for(admin, false).await;
    let page = seen.saw(a.get("/audit").await);
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(m.found_in(&page.body).is_empty(), "{:?}", m.found_in(&page.body));
    let page = a.get(&format!("/audit?record={person}")).await;
    assert!(m.found_in(&page.body).is_empty(), "{:?}", m.found_in(&page.body));
    // The pseudonymised people export.
    let csv = c.get("/people.csv").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(m.found_in(&csv.body).is_empty(), "a marker in the pseudonymised export: {:?}", m.found_in(&csv.body));
    // The signalements' CSV (no free text, no contact details).
    let csv = c.get("/reports.csv").await;
    assert!(m.found_in(&csv.body).is_empty(), "a marker in the reports' CSV: {:?}", m.found_in(&csv.body));
    // The metrics.
    let mut local = app.client();
    local.ip = "127.0.0.1:4000".parse().unwrap();
    let metrics = local.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(m.found_in(&metrics.body).is_empty(), "a marker in the metrics: {:?}", m.found_in(&metrics.body));
    // The logs.
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(m.found_in(&text).is_empty(), "a marker in the logs: {:?}", m.found_in(&text));

    // --- Every declared personal column was planted (or is exempted with its reason).
    let missing = uncovered(&app, &m).await;
    assert!(missing.is_empty(), "declared personal columns no planting path reaches: {missing:?}");
}
