//! A minor met alone prompts the organisation's child-protection guidance:
//! the default text until its administrator writes its own; not when an
//! adult was met with them; on a minor's file too.

use axum::http::StatusCode;
use veille_domain::people::EncounterAction;
use veille_domain::Role;
use veille_storage::encounters::{self, EncounterFields};
use veille_storage::people::{self, PersonFields};

use crate::helpers::TestApp;

const DEFAULT: &str = "Allô enfance en danger";

#[tokio::test]
async fn a_minor_met_alone_prompts_the_child_protection_guidance_of_the_organisation() {
    let app = TestApp::new().await;
    let org = app.org("Maraude test", false).await;
    let worker = app.user(org, Role::FieldWorker, "terrain@test.exemple.fr", None, None).await;
    let admin = app.user(org, Role::OrgAdmin, "admin@test.exemple.fr", None, None).await;
    let now = app.state.clock.now();
    let year = chrono::Datelike::year(&now.to_datetime());
    let mut tx = app.db().begin().await.unwrap();
    let person = |pseudonym: &str, age: i32| PersonFields { pseudonym: pseudonym.into(), birth_year: Some(year - age), ..Default::default() };
    let teen = people::create(&mut tx, org, &person("Ado test", 15), worker, now).await.unwrap();
    let adult = people::create(&mut tx, org, &person("Adulte test", 40), worker, now).await.unwrap();
    let fields = EncounterFields {
        at: now,
        lon: None,
        lat: None,
        territory: None,
        place: "Gare fictive".into(),
        site_id: None,
        round_id: None,
        unidentified_count: 0,
        actions: vec![EncounterAction::Listening],
        follow_up: false,
        follow_up_note: String::new(),
        notes: String::new(),
    };
    let alone = encounters::create(&mut tx, org, &fields, &[teen], None, worker, now).await.unwrap();
    let with_adult = encounters::create(&mut tx, org, &fields, &[teen, adult], None, worker, now).await.unwrap();
    let adult_alone = encounters::create(&mut tx, org, &fields, &[adult], None, worker, now).await.unwrap();
    tx.commit().await.unwrap();

    let mut c = app.session_for(worker, false).await;
    let page = c.get(&format!("/encounters/{alone}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"child-protection\"") && page.body.contains(DEFAULT), "the default guidance: {}", page.body);
    for id in [with_adult, adult_alone] {
        let page = c.get(&format!("/encounters/{id}")).await.body;
        assert!(!page.contains("id=\"child-protection\""), "no guidance when an adult was met or nobody is a minor");
    }
    assert!(c.get(&format!("/people/{teen}")).await.body.contains("id=\"child-protection\""), "on the minor's file");
    assert!(!c.get(&format!("/people/{adult}")).await.body.contains("id=\"child-protection\""));

    // The administrator writes the organisation's own guidance; the field worker may not.
    let own = "Appeler la référente protection de l'enfance de l'équipe au 01 00 00 00 00 (exemple).";
    let r = c.post(&format!("/organisations/{org}/child-protection"), &[("child_protection", own)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut a = app.session_for(admin, false).await;
    let r = a.post(&format!("/organisations/{org}/child-protection"), &[("child_protection", own)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = a.post(&format!("/organisations/{org}/child-protection"), &[("child_protection", &"x".repeat(4001))]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("child_protection-error"));
    let page = c.get(&format!("/encounters/{alone}")).await.body.replace("&#39;", "'");
    assert!(page.contains(own) && !page.contains(DEFAULT), "the organisation's own guidance");
    // Emptied: the default again.
    a.post(&format!("/organisations/{org}/child-protection"), &[("child_protection", "")]).await;
    assert!(c.get(&format!("/encounters/{alone}")).await.body.contains(DEFAULT));
}
