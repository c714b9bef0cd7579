//! The on-call list (astreinte): kept by the organisation's coordinators on
//! its page; an overdue round's alert reaches the person on call at that
//! moment, by a real SMTP server (manual clock); an escalation raised without
//! a name goes to the person on call, then up to the coordinators; with
//! nobody on call, the coordinators and administrators receive the alerts.

use axum::http::StatusCode;
use veille_domain::Role;

use crate::helpers::*;
use crate::mail::{decode, SmtpSink};
use crate::rounds::{team_of, today};
use crate::sites::two_with;

async fn mails(app: &TestApp) -> Vec<(String, String)> {
    veille_storage::sqlx::query_as::<_, (String, String)>("SELECT to_address, subject FROM outbox ORDER BY created_at")
        .fetch_all(app.db().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_overdue_rounds_alert_reaches_the_person_on_call_at_that_moment() {
    let sink = SmtpSink::start();
    let config = veille_web::Config { smtp_host: "127.0.0.1".into(), smtp_port: sink.port, ..veille_web::Config::default() };
    let w = two_with(config).await;
    let second = w.app.user(w.a, Role::FieldWorker, "binome@a.exemple.fr", None, None).await;
    let day = w.app.user(w.a, Role::FieldWorker, "jour@a.exemple.fr", None, None).await;
    let night = w.app.user(w.a, Role::HealthProfessional, "nuit@a.exemple.fr", None, None).await;
    w.app.user(w.a, Role::OrgAdmin, "admin@a.exemple.fr", None, None).await;
    // The clock starts on a Wednesday (weekday 2) at 12:06, Paris time.
    assert_eq!(w.app.state.clock.now().paris_weekday_minute(), (2, 12 * 60 + 6));
    let mut coord = w.app.session_for(w.coord_a, false).await;
    let on_call = format!("/organisations/{}/on-call", w.a);
    // A time that is not one is refused next to its field, what was typed kept.
    let r = coord.post(&on_call, &[("user_id", &day.to_string()), ("weekday", "2"), ("starts", "25:00"), ("ends", "19:00")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"starts-error\"") && r.body.contains("value=\"25:00\""), "{}", r.body);
    // Someone of another organisation cannot be put on call.
    let r = coord.post(&on_call, &[("user_id", &w.field_b.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"user_id-error\""));
    // Wednesday daytime: the day person; every night: the night person.
    for (who, weekday, starts, ends) in [(day, "2", "08:00", "19:00"), (night, "", "19:00", "08:00")] {
        let r = coord.post(&on_call, &[("user_id", &who.to_string()), ("weekday", weekday), ("starts", starts), ("ends", ends)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let page = coord.get(&format!("/organisations/{}", w.a)).await.body;
    assert!(
        page.contains("id=\"on-call-list\"") && page.contains("Mercredi, 08:00–19:00") && page.contains("Tous les jours, 19:00–08:00 (lendemain)"),
        "{page}"
    );
    // A field worker reads the list, and does not keep it.
    let mut field = w.app.session_for(w.field_a, false).await;
    assert!(field.get(&format!("/organisations/{}", w.a)).await.body.contains("id=\"on-call-list\""));
    let r = field.post(&on_call, &[("user_id", &w.field_a.to_string())]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A round out past its expected return (14:06): the alert at 14:07 goes to the day person only.
    let (team, _) = team_of(&w, &[w.field_a, second]).await;
    let r = field.post_json("/api/v1/rounds", &serde_json::json!({"team_id": team.to_string(), "date": today(&w.app), "start": "20:00", "end": "23:00"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let round = r.json()["round"]["id"].as_str().unwrap().to_owned();
    let expected = w.app.state.clock.now().plus_seconds(2 * 3600).to_rfc3339();
    let r = field
        .post_json(
            &format!("/api/v1/rounds/{round}/check-in"),
            &serde_json::json!({"members": [w.field_a.to_string(), second.to_string()], "expected_return": expected}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    w.app.state.clock.advance_seconds(2 * 3600 + 60);
    assert_eq!(veille_app::rounds::alerts::raise_overdue(&w.app.state).await.unwrap(), 1);
    assert_eq!(veille_web::mail::send_due(&w.app.state).await.unwrap(), 1);
    let received: Vec<String> = sink.messages().iter().map(|m| decode(m)).collect();
    assert_eq!(received.len(), 1);
    assert!(received[0].contains("To: jour@a.exemple.fr") || received[0].contains("jour@a.exemple.fr"), "{}", received[0]);
    assert!(received[0].contains(&format!("/rounds/{round}")) && received[0].contains("Maraude du soir"), "{}", received[0]);
    // The person on call sees the banner, as the coordinators do.
    let mut on_duty = w.app.session_for(day, false).await;
    assert!(on_duty.get("/sites").await.body.contains("id=\"overdue-banner\""));
    let mut off_duty = w.app.session_for(night, false).await;
    assert!(!off_duty.get("/sites").await.body.contains("overdue-banner"));
}

#[tokio::test]
async fn an_escalation_without_a_name_goes_to_the_person_on_call_then_up_to_the_coordinators() {
    let app = TestApp::new().await;
    let a = app.org("Maraude Nord", false).await;
    let worker = app.user(a, Role::FieldWorker, "terrain@a.exemple.fr", None, None).await;
    let duty = app.user(a, Role::FieldWorker, "astreinte@a.exemple.fr", None, None).await;
    let coord = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    // Nobody on call yet: the coordinators receive it; the page says so.
    let mut c = app.session_for(coord, false).await;
    let page = c.get(&format!("/organisations/{a}")).await.body;
    assert!(page.contains("id=\"on-call-now\"") && page.contains("astreinte en ce moment : coordination"), "{page}");
    let mut w = app.session_for(worker, false).await;
    let r = w.post_json("/api/v1/escalations", &serde_json::json!({"kind": "team_threat", "summary": "Menaces au campement"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(mails(&app).await.last().unwrap().0, "coord@a.exemple.fr");
    // Someone on call every day, all day: the next alert is theirs.
    let r = c.post(&format!("/organisations/{a}/on-call"), &[("user_id", &duty.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = w.post_json("/api/v1/escalations", &serde_json::json!({"kind": "person_in_danger", "summary": "Homme inconscient", "ack_minutes": "10"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(mails(&app).await.last().unwrap().0, "astreinte@a.exemple.fr");
    // Not acknowledged in time: up a level, to the coordinators.
    app.state.clock.advance_seconds(11 * 60);
    assert_eq!(veille_app::escalations::escalate_overdue(&app.state).await.unwrap(), 1);
    assert_eq!(mails(&app).await.last().unwrap().0, "coord@a.exemple.fr");
    // The API tells who was alerted, at which level; the person on call acknowledges, then resolves.
    let mut d = app.session_for(duty, false).await;
    let detail = d.get(&format!("/api/v1/escalations/{id}")).await.json();
    assert_eq!(detail["escalation"]["level"], 2);
    let levels: Vec<(String, i64)> =
        detail["recipients"].as_array().unwrap().iter().map(|r| (r["name"].as_str().unwrap().to_owned(), r["level"].as_i64().unwrap())).collect();
    assert_eq!(levels.len(), 2, "{levels:?}");
    assert!(levels.iter().any(|(_, l)| *l == 1) && levels.iter().any(|(_, l)| *l == 2));
    let r = d.post_json(&format!("/api/v1/escalations/{id}/acknowledge"), &serde_json::json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["escalation"]["acknowledged_at"].is_string());
    let r = d.post_json(&format!("/api/v1/escalations/{id}/resolve"), &serde_json::json!({"resolution": ""})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = d.post_json(&format!("/api/v1/escalations/{id}/resolve"), &serde_json::json!({"resolution": "Pompiers sur place, pris en charge."})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["escalation"]["resolved_at"].is_string());
    // The entry comes off the list: the coordinators again.
    let entry = veille_storage::on_call::of(app.db(), a).await.unwrap()[0].id.to_string();
    let mut c = app.session_for(coord, false).await;
    let r = c.post(&format!("/organisations/{a}/on-call/remove"), &[("entry_id", &entry)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(veille_storage::on_call::of(app.db(), a).await.unwrap().is_empty());
    let mut w = app.session_for(worker, false).await;
    let r = w.post_json("/api/v1/escalations", &serde_json::json!({"kind": "other", "summary": "Bagarre"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(mails(&app).await.last().unwrap().0, "coord@a.exemple.fr");
}
