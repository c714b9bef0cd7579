//! The notice for the people recorded (`/vie-privee`): reachable without an
//! account, in the languages met in the street, with the instance's
//! organisations and retention periods.

use axum::http::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_notice_for_the_people_recorded_names_the_organisations_in_five_languages() {
    let app = TestApp::new().await;
    app.org("Maraude du Canal (fictive)", false).await;
    app.org("Centre de santé Belleville (fictif)", false).await;
    let mut c = app.client();

    let fr = c.get("/vie-privee").await;
    assert_eq!(fr.status, StatusCode::OK, "no account needed");
    assert!(fr.body.contains(r#"<html lang="fr" dir="ltr">"#));
    assert!(fr.body.contains("Vos informations et vos droits"));
    for org in ["Maraude du Canal (fictive)", "Centre de santé Belleville (fictif)"] {
        assert!(fr.body.contains(org), "every organisation holding data is named: {org}");
    }
    assert!(fr.body.contains("2 ans après le dernier contact") && fr.body.contains("Après 3 ans de plus"), "the retention periods");
    assert!(!fr.body.contains("{active}") && !fr.body.contains("{instance}"), "every placeholder filled");

    for (code, lang, dir, words) in [
        ("en", "en", "ltr", "Your information and your rights"),
        ("ar", "ar", "rtl", "معلوماتك وحقوقك"),
        ("ro", "ro", "ltr", "drepturile dumneavoastră"),
        ("prs", "fa-AF", "rtl", "معلومات شما و حقوق شما"),
    ] {
        let page = c.get(&format!("/vie-privee/{code}")).await;
        assert_eq!(page.status, StatusCode::OK, "{code}");
        assert!(page.body.contains(&format!(r#"<html lang="{lang}" dir="{dir}">"#)), "{code}: language and direction");
        assert!(page.body.contains(words), "{code}: its own text");
        assert!(page.body.contains("Maraude du Canal (fictive)"), "{code}: the organisations");
        assert!(page.body.contains(r#"href="/vie-privee/fr""#), "{code}: a way back to the others");
    }
    assert_eq!(c.get("/vie-privee/xx").await.status, StatusCode::NOT_FOUND);

    // Every staff page links to it (the footer).
    assert!(c.get("/login").await.body.contains(r#"href="/vie-privee""#));
}
