//! Exports of lists (decision 91): chosen columns in the order asked, the
//! rows of the list's filter on screen, personal columns only for those the
//! permission function lets read their field group (also when asked for by
//! URL), the XLSX holding the same rows as the CSV, the audit entry, and the
//! streamed CSV that announces its lines for the progress bar.

use axum::http::StatusCode;
use http_body_util::BodyExt;
use veille_app::exports::{Column, Export, Format, List, Value, PAGE_ROWS};
use veille_app::imports::sheet;
use veille_domain::Role;
use veille_storage::audit;
use veille_storage::reports::{self, Report};

use crate::helpers::*;
use crate::reports::{submit, world, IN_18TH};

/// The CSV as rows of cells (header first), read by the importer's reader.
fn csv_rows(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let s = sheet::read("export.csv", body.as_bytes()).unwrap().remove(0);
    (s.headers, s.rows.into_iter().map(|(_, cells)| cells).collect())
}

/// The XLSX's one sheet, read with calamine (the importer's reader).
fn xlsx_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let sheets = sheet::read("export.xlsx", bytes).unwrap();
    assert_eq!(sheets.len(), 1);
    let s = sheets.into_iter().next().unwrap();
    (s.headers, s.rows.into_iter().map(|(_, cells)| cells).collect())
}

async fn newest(app: &TestApp) -> Report {
    reports::list(app.db(), &everything(), &Default::default(), 1).await.unwrap().remove(0)
}

async fn export_audits(app: &TestApp) -> Vec<serde_json::Value> {
    export_entries(app).await.iter().map(|e| serde_json::from_str(&e.detail).unwrap()).collect()
}

/// The export entries of the audit log, oldest first.
async fn export_entries(app: &TestApp) -> Vec<audit::Entry> {
    let mut all = audit::list(app.db(), &app.state.audit, &audit::Query { limit: 1000, ..Default::default() }).await.unwrap();
    all.retain(|e| e.action == "export");
    all.reverse();
    all
}

#[tokio::test]
async fn a_report_export_has_the_chosen_columns_in_order_and_the_rows_of_the_filter_in_csv_and_xlsx() {
    let w = world().await;
    let mut public = w.app.client();
    assert_eq!(submit(&mut public, &[("source", "commercant")]).await.status, StatusCode::CREATED);
    let shop = newest(&w.app).await;
    w.app.state.clock.advance_seconds(60);
    let mut public = w.app.client();
    let r = public
        .post("/signaler", &[("lat", IN_18TH.0), ("lon", IN_18TH.1), ("situation", "squat"), ("description", "Des personnes installées là depuis hier.")])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let squat = newest(&w.app).await;
    let mut staff = w.app.session_for(w.coordinator, false).await;

    // The queue page offers the form with every column, the filters kept as hidden fields.
    let page = staff.get("/reports?situation=squat").await.body;
    assert!(page.contains("<summary>Exporter</summary>") && page.contains("action=\"/reports/export\""), "{page}");
    assert!(page.contains("name=\"situation\" value=\"squat\"") && page.contains("value=\"reference\" checked"));

    // Chosen columns, in the order asked; the rows of the filter on screen.
    let r = staff.get("/reports/export?situation=squat&col=status&col=reference&col=adults&col=free_text&col=status").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(r.headers["x-export-rows"], "1");
    let (headers, rows) = csv_rows(&r.body);
    assert_eq!(headers, ["status", "reference", "adults"]);
    assert_eq!(rows, vec![vec![squat.status.code().to_owned(), squat.reference.clone(), squat.adults.to_string()]]);
    assert!(!r.body.contains(&shop.reference));
    // Without a filter: both, as the queue shows them (newest first).
    let all = staff.get("/reports/export?col=reference").await;
    assert_eq!(csv_rows(&all.body).1, vec![vec![squat.reference.clone()], vec![shop.reference.clone()]]);

    // The XLSX opens (calamine) and holds the same rows as the CSV, labels as its header.
    let query = "source=commercant&col=reference&col=level&col=situations&col=received_at";
    let csv = staff.get(&format!("/reports/export?{query}")).await;
    let xlsx = staff.get(&format!("/reports/export?{query}&format=xlsx")).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.headers["content-type"].to_str().unwrap().contains("spreadsheetml"));
    assert!(xlsx.headers["content-disposition"].to_str().unwrap().contains("signalements.xlsx"));
    assert_eq!(xlsx.headers["x-export-rows"], "1");
    let (csv_header, csv_lines) = csv_rows(&csv.body);
    let (xlsx_header, xlsx_lines) = xlsx_rows(&xlsx.bytes);
    assert_eq!(csv_header, ["reference", "level", "situations", "received_at"]);
    assert_eq!(xlsx_header, ["Référence", "Niveau", "Situations", "Reçu le"]);
    assert_eq!(xlsx_lines, csv_lines);
    assert_eq!(csv_lines[0][0], shop.reference);

    // The old CSV URL is the same mechanism with every column.
    let old = staff.get("/reports.csv?situation=squat").await;
    assert!(old.body.starts_with("reference,received_at,level,computed_level") && old.body.contains(&squat.reference));

    // Audited: which list, which columns, how many rows — never the values.
    let audits = export_audits(&w.app).await;
    let first = &audits[0];
    assert_eq!(first["list"], "reports");
    assert_eq!(first["columns"], serde_json::json!(["status", "reference", "adults"]));
    assert_eq!(first["rows"], 1);
    assert_eq!(first["format"], "csv");
    assert!(audits.iter().any(|a| a["format"] == "xlsx" && a["rows"] == 1));
    let entries = export_entries(&w.app).await;
    assert!(entries.iter().all(|e| !e.detail.contains(&squat.reference) && !e.detail.contains(&shop.reference)));
    assert!(entries.iter().all(|e| e.actor_user.as_deref() == Some(w.coordinator.to_string().as_str()) && e.record_kind == "report"));
}

#[tokio::test]
async fn a_personal_column_is_neither_offered_nor_written_to_whom_may_not_read_its_field_group() {
    let app = TestApp::new().await;
    let t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let org = app.org("Maraude d'export", true).await;
    let coordinator = app.user(org, Role::Coordinator, "coord@export.exemple.fr", None, None).await;
    let nurse = app.user(org, Role::HealthProfessional, "sante@export.exemple.fr", None, None).await;
    let _ = t1;
    let mut coord = app.session_for(coordinator, false).await;
    let mut care = app.session_for(nurse, false).await;
    let r = coord.post("/people", &[("pseudonym", "Fantine")]).await;
    let id = r.location().unwrap().rsplit('/').next().unwrap().to_owned();
    let r = care.post(&format!("/people/{id}/health"), &[("flags", "chronic_illness"), ("notes", "x"), ("version", "0")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = care.post("/encounters", &[("people", &id), ("actions", "care"), ("care", "Pansement")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The nurse is offered the health columns and gets them.
    let page = care.get("/people").await.body;
    assert!(page.contains("value=\"health_flags\""), "{page}");
    let r = care.get("/people/export?col=id&col=health_flags").await;
    assert_eq!(csv_rows(&r.body), (vec!["id".to_owned(), "health_flags".to_owned()], vec![vec![id.clone(), "chronic_illness".to_owned()]]));
    assert!(care.get("/encounters").await.body.contains("value=\"care\""));
    let r = care.get("/encounters/export?col=people&col=care&col=actions").await;
    assert_eq!(csv_rows(&r.body).1, vec![vec!["1".to_owned(), "1".to_owned(), "care".to_owned()]]);

    // The coordinator is not offered them, and asking by URL leaves them out.
    let page = coord.get("/people").await.body;
    assert!(page.contains("value=\"gender\"") && !page.contains("value=\"health_flags\""));
    for (path, format) in [("/people/export?col=id&col=health_flags", "csv"), ("/people/export?col=health_flags", "csv")] {
        let r = coord.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{format}");
        assert!(!r.body.contains("health") && !r.body.contains("chronic_illness"), "{}", r.body);
    }
    let (headers, rows) = csv_rows(&coord.get("/people/export?col=id&col=health_flags").await.body);
    assert_eq!((headers, rows), (vec!["id".to_owned()], vec![vec![id.clone()]]));
    let xlsx = coord.get("/people/export?col=id&col=health_flags&format=xlsx").await;
    assert_eq!(xlsx_rows(&xlsx.bytes).0, ["Identifiant"]);
    assert!(!coord.get("/encounters").await.body.contains("value=\"care\""));
    let r = coord.get("/encounters/export?col=people&col=care&col=actions").await;
    let (headers, rows) = csv_rows(&r.body);
    assert_eq!(headers, ["people", "actions"]);
    assert_eq!(rows, vec![vec!["1".to_owned(), String::new()]], "the care given is not told");
    // The old URL: the health column only for the nurse.
    assert!(!coord.get("/people.csv").await.body.contains("health_flags"));
    assert!(care.get("/people.csv").await.body.lines().next().unwrap().ends_with("health_flags"));

    // The audit entry names the columns written, not those refused; health
    // columns under the `health` key (left out of the log for who does not read health).
    let audits = export_audits(&app).await;
    assert!(audits.iter().any(|a| a["list"] == "people" && a["columns"] == serde_json::json!(["id"]) && a.get("health").is_none()));
    assert!(audits
        .iter()
        .any(|a| a["list"] == "people" && a["columns"] == serde_json::json!(["id"]) && a["health"]["columns"] == serde_json::json!(["health_flags"])));
    assert!(audits.iter().any(|a| a["list"] == "encounters"
        && a["columns"] == serde_json::json!(["people", "actions"])
        && a["health"]["columns"] == serde_json::json!(["care"])));
}

#[tokio::test]
async fn the_other_lists_export_the_rows_their_page_shows() {
    let app = TestApp::new().await;
    let _t1 = app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let org = app.org("Maraude des listes", true).await;
    let coordinator = app.user(org, Role::Coordinator, "coord@listes.exemple.fr", None, None).await;
    let mut c = app.session_for(coordinator, false).await;
    let r = c.post("/people", &[("pseudonym", "Cosette")]).await;
    let id = r.location().unwrap().rsplit('/').next().unwrap().to_owned();
    // People who left the list are exported with `left=1`, as the page shows them.
    let active = csv_rows(&c.get("/people/export?col=id&col=active").await.body).1;
    assert_eq!(active, vec![vec![id.clone(), "1".to_owned()]]);
    assert!(csv_rows(&c.get("/people/export?left=1&col=id").await.body).1.is_empty());
    // A case: exported without its title (free text); open ones, or all with `all=1`.
    let r = c.post("/cases", &[("origin", "direct"), ("title", "Famille R., campement du canal"), ("territory_id", &_t1.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let case_id = r.location().unwrap().rsplit('/').next().unwrap().to_owned();
    let cases = c.get("/cases/export?col=id&col=origin&col=status").await;
    assert_eq!(csv_rows(&cases.body).1, vec![vec![case_id.clone(), "direct".to_owned(), "open".to_owned()]]);
    assert!(!cases.body.contains("campement") && !c.get("/cases/export").await.body.contains("campement"));
    assert!(c.get("/cases?all=1").await.body.contains("name=\"all\" value=\"1\""));
    // Encounters, referrals and sites: their forms and exports answer.
    for (page, export) in [("/encounters", "/encounters/export"), ("/referrals", "/referrals/export"), ("/sites", "/sites/export")] {
        let p = c.get(page).await;
        assert!(p.body.contains(&format!("action=\"{export}\"")), "{page}");
        let r = c.get(&format!("{export}?format=xlsx")).await;
        assert_eq!(r.status, StatusCode::OK, "{export}");
        assert_eq!(r.headers["x-export-rows"], "0");
        assert!(!xlsx_rows(&r.bytes).0.is_empty(), "{export}");
    }
    let audits = export_audits(&app).await;
    for list in ["people", "encounters", "referrals", "sites", "cases"] {
        assert!(audits.iter().any(|a| a["list"] == list), "{list}");
    }
}

/// The CSV is sent in chunks of `PAGE_ROWS` lines after its header, and
/// announces its lines: what the page's progress bar counts.
#[tokio::test]
async fn a_long_csv_is_streamed_by_pages_announcing_its_lines() {
    let rows = 2 * PAGE_ROWS + 3;
    let export = Export {
        list: List::Reports,
        format: Format::Csv,
        columns: vec![Column { code: "reference", label: "exports.col.reference", group: None }],
        labels: vec!["Référence".into()],
        rows: (0..rows).map(|i| vec![Value::Text(format!("S-{i:05}"))]).collect(),
    };
    let response = veille_web::exports::respond(export).await.unwrap();
    assert_eq!(response.headers()["x-export-rows"], rows.to_string().as_str());
    let mut body = response.into_body();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            frames.push(String::from_utf8(data.to_vec()).unwrap());
        }
    }
    assert_eq!(frames.len(), 1 + 3, "the header, then three pages");
    assert_eq!(frames[0], "reference\r\n");
    assert_eq!(frames[1].lines().count(), PAGE_ROWS);
    assert_eq!(frames[3].lines().count(), 3);
    assert!(frames[3].ends_with("\"S-00402\"\r\n"));
}
