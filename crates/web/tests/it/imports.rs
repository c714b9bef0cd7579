//! Spreadsheet imports (decision 86): people with refused lines named by line
//! and column, nothing written unless refused lines are skipped, a second
//! import that changes nothing, a dry run that writes nothing; encounters
//! naming people already recorded; sites and their observations; the
//! data·inclusion producers' workbook; another organisation's account cannot
//! reach your files; the page.

use axum::http::StatusCode;
use veille_app::imports::{self, Kind, Options, Outcome};
use veille_app::Lang;
use veille_domain::{OrganisationId, Role, UserId};

use crate::helpers::*;

struct World {
    app: TestApp,
    a: OrganisationId,
    b: OrganisationId,
    coordinator: UserId,
    field_worker: UserId,
    other_coordinator: UserId,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let a = app.org("Maraude A", true).await;
    let b = app.org("Association B", false).await;
    app.two_square_territories().await;
    veille_web::territories::reload_index(&app.state).await.unwrap();
    let coordinator = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    let field_worker = app.user(a, Role::FieldWorker, "terrain@a.exemple.fr", None, None).await;
    let other_coordinator = app.user(b, Role::Coordinator, "coord@b.exemple.fr", None, None).await;
    World { app, a, b, coordinator, field_worker, other_coordinator }
}

/// A workbook of one sheet; cells that are whole numbers (not starting with 0) are written as numbers.
pub fn xlsx(sheet: &str, rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell.parse::<i64>() {
                Ok(n) if !cell.starts_with('0') => ws.write(r as u32, c as u16, n as f64).unwrap(),
                _ => ws.write(r as u32, c as u16, *cell).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

/// Synthetic people as a field team's spreadsheet has them: lines 4, 5 and 6 are wrong.
fn people_workbook() -> Vec<u8> {
    xlsx(
        "Personnes",
        &[
            &["Pseudonyme", "Nom", "Prénom", "Année de naissance", "Âge", "Genre", "Téléphone", "Consentement", "Territoire", "Équipe"],
            &["Momo", "", "", "1980", "", "H", "", "", "T1", "Nord"],
            &["Zora", "", "", "", "34 ans", "Femme", "", "", "", "Nord"],
            &["", "", "", "1990", "", "F", "", "", "", "Sud"],
            &["Lulu", "", "", "1700", "", "", "", "", "", "Sud"],
            &["Kiki", "", "", "", "", "F", "06 12 34 56 78", "", "", "Sud"],
            &["Bibi", "Martin", "Paul", "", "50", "M", "0612345679", "oui", "T2", "Nord"],
        ],
    )
}

async fn run(w: &World, user: UserId, kind: Kind, name: &str, bytes: &[u8], options: Options) -> Outcome {
    let who = crate::sites::caller(&w.app, user).await;
    imports::import(&w.app.state, &who, Lang::Fr, kind, name, bytes, &options).await.unwrap()
}

async fn count(w: &World, sql: &str) -> i64 {
    veille_storage::sqlx::query_scalar(sql).fetch_one(w.app.db().pool()).await.unwrap()
}

async fn people_of(w: &World, org: OrganisationId) -> i64 {
    veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE organisation_id = $1")
        .bind(org.to_string())
        .fetch_one(w.app.db().pool())
        .await
        .unwrap()
}

fn skip() -> Options {
    Options { skip_refused: true, ..Default::default() }
}

#[tokio::test]
async fn an_xlsx_of_people_with_three_bad_lines_imports_the_good_ones_only_when_skipped_names_them_and_a_second_import_changes_nothing() {
    let w = world().await;
    let book = people_workbook();
    let audit_before = count(&w, "SELECT COUNT(*) FROM audit_log").await;

    // Refused lines and nothing else asked: nothing written, each line and field named.
    let o = run(&w, w.coordinator, Kind::People, "file-active.xlsx", &book, Options::default()).await;
    assert!(!o.written && o.refused_any());
    assert_eq!((o.counts.created, o.counts.refused, o.counts.already), (3, 3, 0));
    let named: Vec<(usize, &str)> = o.refusals.iter().map(|r| (r.line, r.column.as_str())).collect();
    assert!(named.contains(&(4, "Pseudonyme")), "{named:?}");
    assert!(named.contains(&(5, "Année de naissance")), "{named:?}");
    assert!(named.contains(&(6, "Téléphone")), "{named:?}");
    assert!(named.iter().all(|(l, _)| [4, 5, 6].contains(l)), "{named:?}");
    let year = o.refusals.iter().find(|r| r.line == 5).unwrap();
    assert_eq!(year.message, Lang::Fr.t("people.form.error.birth_year"));
    assert_eq!(year.text(Lang::Fr), format!("ligne 5 · Année de naissance : {}", year.message));
    assert_eq!(people_of(&w, w.a).await, 0);
    // The column the page and the summary show: "Équipe" is left out, the others are mapped.
    assert!(o.columns.contains(&("Équipe".to_owned(), None)) && o.columns.contains(&("Âge".to_owned(), Some("age"))));

    // A dry run, even skipping refused lines, writes nothing.
    let o = run(&w, w.coordinator, Kind::People, "file-active.xlsx", &book, Options { dry_run: true, skip_refused: true, ..Default::default() }).await;
    assert!(!o.written && o.dry_run && o.counts.created == 3);
    assert_eq!(people_of(&w, w.a).await, 0);
    assert_eq!(count(&w, "SELECT COUNT(*) FROM audit_log").await, audit_before);

    // Skipping refused lines: the three good ones, audited as the form does, and one import entry.
    let o = run(&w, w.coordinator, Kind::People, "file-active.xlsx", &book, skip()).await;
    assert!(o.written && o.refused_any());
    assert_eq!((o.counts.created, o.counts.refused), (3, 3));
    assert_eq!(people_of(&w, w.a).await, 3);
    let everyone = veille_storage::people::all(w.app.db(), &everything()).await.unwrap();
    let bibi = everyone.iter().find(|p| p.fields.pseudonym == "Bibi").unwrap();
    assert_eq!(bibi.fields.phone.as_deref(), Some("0612345679"), "identifying data with the consent the line gives");
    assert_eq!(bibi.fields.gender, Some(veille_domain::people::Gender::Man));
    let momo = everyone.iter().find(|p| p.fields.pseudonym == "Momo").unwrap();
    assert_eq!(momo.fields.birth_year, Some(1980));
    assert!(momo.fields.territory.is_some());
    let zora = everyone.iter().find(|p| p.fields.pseudonym == "Zora").unwrap();
    assert!(zora.fields.birth_year.is_some() && zora.fields.gender == Some(veille_domain::people::Gender::Woman));
    assert_eq!(count(&w, "SELECT COUNT(*) FROM audit_log WHERE action = 'create' AND record_kind = 'person'").await, 3);
    assert_eq!(count(&w, "SELECT COUNT(*) FROM audit_log WHERE action = 'import' AND record_kind = 'person'").await, 1);

    // The same file again: nothing changes.
    let o = run(&w, w.coordinator, Kind::People, "file-active.xlsx", &book, skip()).await;
    assert!(!o.written);
    assert_eq!((o.counts.created, o.counts.already, o.counts.refused), (0, 3, 3));
    assert_eq!(people_of(&w, w.a).await, 3);
    assert_eq!(count(&w, "SELECT COUNT(*) FROM audit_log WHERE action = 'create' AND record_kind = 'person'").await, 3);

    // A second organisation importing the same file creates its own files, never touches A's.
    let o = run(&w, w.other_coordinator, Kind::People, "file-active.xlsx", &book, skip()).await;
    assert!(o.written && o.counts.created == 3);
    assert_eq!((people_of(&w, w.a).await, people_of(&w, w.b).await), (3, 3));

    // A field worker does not import.
    let who = crate::sites::caller(&w.app, w.field_worker).await;
    let e = imports::import(&w.app.state, &who, Lang::Fr, Kind::People, "x.xlsx", &book, &skip()).await.unwrap_err();
    assert_eq!(e.kind, veille_app::ErrorKind::Forbidden);
}

#[tokio::test]
async fn a_chosen_mapping_comes_before_the_headers_and_a_wrong_one_refuses_the_file() {
    let w = world().await;
    let csv = "Surnom;Pseudonyme\nLe grand;Momo\n";
    let o = run(&w, w.coordinator, Kind::People, "p.csv", csv.as_bytes(), Options { mapping: vec![("surnom".into(), "aliases".into())], ..skip() }).await;
    assert!(o.written);
    let p = veille_storage::people::all(w.app.db(), &everything()).await.unwrap();
    assert_eq!(p[0].fields.aliases, vec!["Le grand".to_owned()]);
    let o = run(&w, w.coordinator, Kind::People, "p.csv", csv.as_bytes(), Options { mapping: vec![("Surnom".into(), "pointure".into())], ..skip() }).await;
    assert!(!o.written && o.file_error.as_deref().is_some_and(|e| e.contains("pointure")), "{o:?}");
}

fn days_ago(w: &World, days: i64) -> String {
    w.app.state.clock.now().plus_seconds(-days * 86_400).paris_date().format("%d/%m/%Y").to_string()
}

#[tokio::test]
async fn encounters_name_people_already_recorded_and_an_account_of_another_organisation_cannot_reach_them() {
    let w = world().await;
    let o = run(&w, w.coordinator, Kind::People, "p.xlsx", &people_workbook(), skip()).await;
    assert!(o.written);
    let (d1, d2) = (days_ago(&w, 2), days_ago(&w, 3));
    let csv = format!(
        "Date de rencontre;Heure;Pseudonyme;Lieu;Équipe;Actions;Notes\n{d1};21h30;Momo;Gare du Nord;Nord;Écoute, distribution;RAS\n{d2};22:00;Personne inconnue;Gare;Nord;;\n;;Zora;Gare;Nord;;\n"
    );
    let o = run(&w, w.coordinator, Kind::Encounters, "rencontres.csv", csv.as_bytes(), skip()).await;
    assert!(o.written, "{o:?}");
    assert_eq!((o.counts.created, o.counts.refused), (1, 2));
    let named: Vec<(usize, &str)> = o.refusals.iter().map(|r| (r.line, r.column.as_str())).collect();
    assert_eq!(named, vec![(3, "Pseudonyme"), (4, "Date de rencontre")]);
    assert_eq!(count(&w, "SELECT COUNT(*) FROM encounters").await, 1);
    assert_eq!(count(&w, "SELECT COUNT(*) FROM encounter_people").await, 1);
    let again = run(&w, w.coordinator, Kind::Encounters, "rencontres.csv", csv.as_bytes(), skip()).await;
    assert_eq!((again.counts.created, again.counts.already, again.written), (0, 1, false));

    // Another organisation's coordinator: A's people are not there for it,
    // by pseudonym or by id; nothing is written into A.
    let momo = veille_storage::people::all(w.app.db(), &everything()).await.unwrap().into_iter().find(|p| p.fields.pseudonym == "Momo").unwrap();
    let csv = format!("Date;Pseudonyme;Id personne\n{d1};Momo;\n{d1};;{}\n", momo.id);
    let o = run(&w, w.other_coordinator, Kind::Encounters, "rencontres.csv", csv.as_bytes(), skip()).await;
    assert_eq!((o.counts.created, o.counts.refused, o.written), (0, 2, false), "{o:?}");
    assert_eq!(o.refusals.iter().map(|r| (r.line, r.column.as_str())).collect::<Vec<_>>(), vec![(2, "Pseudonyme"), (3, "Id personne")]);
    assert_eq!(count(&w, "SELECT COUNT(*) FROM encounters").await, 1);
}

#[tokio::test]
async fn sites_and_their_observations_are_imported_once() {
    let w = world().await;
    let (d1, d2) = (days_ago(&w, 9), days_ago(&w, 2));
    let csv = format!(
        "Nom du site;Type;Latitude;Longitude;Date de passage;Personnes;Hommes;Femmes;Tentes;Ambiance\n\
         Camp du canal;Campement;48,05;2,05;{d1};12;5;4;6;Calme\n\
         Camp du canal;campement;48,05;2,05;{d2};15;6;5;7;tendue\n\
         Squat des Lilas;Squat;48,05;2,25;{d2};3;5;0;0;\n"
    );
    let o = run(&w, w.coordinator, Kind::Sites, "lieux.csv", csv.as_bytes(), skip()).await;
    assert!(o.written, "{o:?}");
    assert_eq!((o.counts.created, o.counts.refused), (2, 1));
    assert_eq!(o.refusals[0].line, 4);
    assert_eq!(o.refusals[0].column, "Personnes", "more men than people");
    assert_eq!(count(&w, "SELECT COUNT(*) FROM sites").await, 1);
    assert_eq!(count(&w, "SELECT COUNT(*) FROM site_observations").await, 2);
    let o = run(&w, w.coordinator, Kind::Sites, "lieux.csv", csv.as_bytes(), skip()).await;
    assert_eq!((o.counts.created, o.counts.already, o.written), (0, 2, false));
    assert_eq!(count(&w, "SELECT COUNT(*) FROM site_observations").await, 2);
}

#[tokio::test]
async fn the_data_inclusion_producers_workbook_imports_like_its_json() {
    let w = world().await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/tests/fixtures/data-inclusion");
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().set_name("Lisez-moi").unwrap().write(0, 0, "Classeur de test").unwrap();
    for name in ["structures", "services"] {
        let records: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/{name}.json")).unwrap()).unwrap();
        let mut headers: Vec<String> = Vec::new();
        for r in &records {
            for k in r.keys() {
                if !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
        }
        let ws = book.add_worksheet();
        ws.set_name(name).unwrap();
        for (c, h) in headers.iter().enumerate() {
            ws.write(0, c as u16, h.as_str()).unwrap();
        }
        for (r, rec) in records.iter().enumerate() {
            for (c, h) in headers.iter().enumerate() {
                let (row, col) = (r as u32 + 1, c as u16);
                match rec.get(h) {
                    Some(serde_json::Value::String(s)) => ws.write(row, col, s.as_str()).map(|_| ()),
                    Some(serde_json::Value::Number(n)) => ws.write(row, col, n.as_f64().unwrap()).map(|_| ()),
                    Some(serde_json::Value::Bool(b)) => ws.write(row, col, *b).map(|_| ()),
                    Some(v @ serde_json::Value::Array(_)) => ws.write(row, col, v.to_string()).map(|_| ()),
                    _ => Ok(()),
                }
                .unwrap();
            }
        }
    }
    let bytes = book.save_to_buffer().unwrap();
    let files = vec![("producteur.xlsx".to_owned(), bytes)];
    let options = veille_app::directory::import::Options::default();
    let o = veille_app::directory::import::run_as_instance(w.app.db(), &files, options, w.app.state.clock.now()).await.unwrap();
    assert!(o.problems.is_empty(), "{:?}", o.problems);
    assert!(o.written);
    assert_eq!((o.counts.created.structures, o.counts.created.services), (3, 4));
    let again = veille_app::directory::import::run_as_instance(w.app.db(), &files, options, w.app.state.clock.now()).await.unwrap();
    assert_eq!((again.counts.unchanged.structures, again.counts.unchanged.services, again.written), (3, 4, false));
    // A workbook that is not one: refused as a whole, by name.
    let bad = vec![("producteur.xlsx".to_owned(), b"PK\x03\x04 broken".to_vec())];
    let o = veille_app::directory::import::run_as_instance(w.app.db(), &bad, options, w.app.state.clock.now()).await.unwrap();
    assert!(o.problems[0].message(Lang::En).starts_with("producteur.xlsx"), "{:?}", o.problems);
}

#[tokio::test]
async fn the_import_page_tries_then_imports_and_keeps_the_choices() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let page = c.get("/imports").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Importer un tableur"));
    let book = people_workbook();
    let r = c.multipart("/imports", &[("kind", "people"), ("dry_run", "1")], &[("file", "personnes.xlsx", &book)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Année de naissance") && r.body.contains("essai"), "{}", r.body);
    assert_eq!(people_of(&w, w.a).await, 0);
    let r = c.multipart("/imports", &[("kind", "people"), ("skip_refused", "1")], &[("file", "personnes.xlsx", &book)]).await;
    assert!(r.body.contains("enregistré"), "{}", r.body);
    assert_eq!(people_of(&w, w.a).await, 3);
    // No file: the error is shown next to the field, the kind chosen is kept.
    let r = c.multipart("/imports", &[("kind", "sites")], &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Choisissez un fichier") && r.body.contains(r#"value="sites" selected"#), "{}", r.body);
    // A field worker does not reach the page.
    let mut fw = w.app.session_for(w.field_worker, false).await;
    assert_eq!(fw.get("/imports").await.status, StatusCode::FORBIDDEN);
}
