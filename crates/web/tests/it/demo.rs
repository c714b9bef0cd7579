//! The demo a new team tries first: every demo account is printed, every team
//! has a round today it can go out on as a pair, and every alert the demo can
//! raise (a round out past its expected return, for any team) reaches a
//! coordinator or an administrator of the team's organisation.

use axum::http::StatusCode;
use veille_domain::Role;
use veille_storage::{accounts, rounds, teams, Scope};

use crate::helpers::TestApp;

#[tokio::test]
async fn every_demo_team_goes_out_as_a_pair_and_every_alert_the_demo_can_raise_has_a_recipient() {
    let app = TestApp::new().await;
    let printed = veille_web::demo::load_at(app.db(), app.state.clock.now()).await.unwrap();
    let everyone = accounts::list(app.db(), None).await.unwrap();
    assert!(everyone.len() >= 15, "{} demo accounts", everyone.len());
    for a in &everyone {
        assert!(printed.contains(&a.email), "`veille demo` prints {}", a.email);
    }
    let all_teams = teams::list(app.db(), None).await.unwrap();
    assert!(all_teams.len() >= 5);
    // Any team may be late coming back: its organisation has someone the alert reaches.
    for t in &all_teams {
        let alerted = everyone.iter().filter(|a| a.organisation == t.organisation && !a.disabled && veille_app::rounds::alerts::alerted_role(a.role)).count();
        assert!(alerted >= 1, "the overdue alert of {} reaches nobody", t.name);
    }
    // Every team on the shared schedule has a round today and two members who can go out on it.
    let now = app.state.clock.now();
    let slots = rounds::slots(app.db()).await.unwrap();
    let going_out: Vec<_> = all_teams.iter().filter(|t| slots.iter().any(|s| s.team == t.id)).collect();
    assert!(going_out.len() >= 4, "{} teams on the schedule", going_out.len());
    let today = rounds::rounds_between(app.db(), &Scope::instance("test"), now.plus_seconds(-12 * 3600), now.plus_seconds(24 * 3600)).await.unwrap();
    let mut checked_in = Vec::new();
    for t in going_out {
        let round = today.iter().find(|r| r.team == t.id && r.status == "planned").unwrap_or_else(|| panic!("{}: no round today", t.name));
        let members = teams::members(app.db(), t.id).await.unwrap();
        assert!(members.len() >= 2, "{}: {} member(s), the pair rule refuses every check-in", t.name, members.len());
        let goer = everyone
            .iter()
            .find(|a| members.contains(&a.id) && matches!(a.role, Role::FieldWorker | Role::HealthProfessional))
            .unwrap_or_else(|| panic!("{}: no field worker", t.name));
        let second = members.iter().find(|m| **m != goer.id).unwrap();
        let mut c = app.session_for(goer.id, false).await;
        let expected = now.plus_seconds(3600).to_rfc3339();
        let r = c
            .post_json(
                &format!("/api/v1/rounds/{}/check-in", round.id),
                &serde_json::json!({"members": [goer.id.to_string(), second.to_string()], "expected_return": expected}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{} checks in for {}: {}", goer.email, t.name, r.body);
        checked_in.push((round.id, t.name.clone(), t.organisation));
    }
    // Nobody comes back: one alert per round, each to someone of its organisation.
    app.state.clock.advance_seconds(2 * 3600);
    assert_eq!(veille_app::rounds::alerts::raise_overdue(&app.state).await.unwrap(), checked_in.len());
    let mails = veille_storage::sqlx::query_as::<_, (String, String)>("SELECT to_address, subject FROM outbox").fetch_all(app.db().pool()).await.unwrap();
    for (_, team, org) in &checked_in {
        let to: Vec<&str> = mails.iter().filter(|m| m.1.contains(team.as_str())).map(|m| m.0.as_str()).collect();
        assert!(!to.is_empty(), "the alert of {team} reached nobody");
        for address in to {
            let a = everyone.iter().find(|a| a.email == address).unwrap();
            assert!(a.organisation == *org && veille_app::rounds::alerts::alerted_role(a.role), "{address} is not who the alert of {team} is for");
        }
    }
}

/// Each demo account lands on the work of the day of its role, and every
/// link of its header answers.
#[tokio::test]
async fn each_demo_account_lands_on_its_work_of_the_day_and_follows_every_link_it_is_offered() {
    let app = TestApp::new().await;
    veille_web::demo::load_at(app.db(), app.state.clock.now()).await.unwrap();
    let everyone = accounts::list(app.db(), None).await.unwrap();
    let expect: &[(&str, &str, &[&str])] = &[
        ("terrain@demo.veille.invalid", "field", &["Noter une rencontre", "Maraudes du jour", "Maraude du soir 18e-19e", "Transmissions"]),
        ("mediateur@demo.veille.invalid", "field", &["Noter une rencontre", "Médiation Chapelle – Éole"]),
        ("sante@demo.veille.invalid", "field", &["Noter une rencontre", "Équipe mobile santé"]),
        ("coordination@demo.veille.invalid", "coordination", &["Signalements à traiter", "nouveaux signalements à accuser réception", "S-DEMO-0004"]),
        ("coordination-nord@demo.veille.invalid", "coordination", &["Maraude du soir 18e-19e", "Signalements à traiter"]),
        ("partenaire@demo.veille.invalid", "partner", &["Orientations en attente de réponse", "Gavroche"]),
        ("lecture@demo.veille.invalid", "figures", &["Voir les chiffres", "signalements comptés dans les chiffres"]),
        ("admin@demo.veille.invalid", "administration", &["Territoires"]),
    ];
    for (email, focus, texts) in expect {
        let a = everyone.iter().find(|a| a.email == *email).unwrap();
        let mut c = app.session_for(a.id, false).await;
        let home = c.get("/").await;
        assert_eq!(home.status, StatusCode::OK, "{email}");
        assert!(home.body.contains(&format!("data-focus=\"{focus}\"")), "{email}: {focus}");
        for t in *texts {
            assert!(home.body.contains(t), "{email}: {t:?} on the home page: {}", home.body.split("<main").nth(1).unwrap_or_default());
        }
        assert!(!home.body.contains("Mon organisation</a></li>"), "{email}: the old home page");
    }
    // Every header link of every demo account answers 200.
    for a in &everyone {
        let mut c = app.session_for(a.id, false).await;
        let home = c.get("/").await.body;
        let nav = home.split("<nav").nth(1).unwrap().split("</nav>").next().unwrap();
        let links: Vec<&str> = nav.split("href=\"").skip(1).map(|s| s.split('"').next().unwrap()).collect();
        assert!(links.len() >= 3, "{}: {links:?}", a.email);
        for href in links {
            assert_eq!(c.get(href).await.status, StatusCode::OK, "{} follows {href}", a.email);
        }
    }
}
