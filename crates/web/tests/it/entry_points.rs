//! One use case, several entry points, one behaviour. The same report sent
//! through the public form, the staff's intake form, the JSON API and
//! Open311 is triaged, routed, stored, put on its timeline and audited
//! alike; a status change made from the report page, the API or a round stop
//! tells the same reporters.

use axum::http::StatusCode;
use veille_domain::Role;
use veille_storage::reports::Report;
use veille_storage::sqlx;

use crate::helpers::*;
use crate::reports::{audit_details, mails_to, world, World};

/// Four points of the 18th arrondissement more than the repeat radius apart
/// (the repeat rule would otherwise see the earlier ones).
const POINTS: [(&str, &str); 4] = [("48.8880", "2.3600"), ("48.8900", "2.3450"), ("48.8950", "2.3400"), ("48.8930", "2.3550")];
const DESCRIPTION: &str = "Quatre tentes sous le pont, trois adultes.";

async fn api_token(w: &World) -> String {
    let secret = veille_web::security::random_token();
    let now = w.app.state.clock.now();
    let mut tx = w.app.db().begin().await.unwrap();
    veille_storage::tokens::create(
        &mut tx,
        w.field_coordinator,
        "partner system",
        &veille_web::security::token_hash(&secret),
        &["read", "write"],
        now,
        now.plus_seconds(86_400),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    secret
}

async fn by_point(w: &World, lat: &str) -> Report {
    let lat: f64 = lat.parse().unwrap();
    let all = veille_storage::reports::list(w.app.db(), &everything(), &Default::default(), 100).await.unwrap();
    all.into_iter().find(|r| r.lat.is_some_and(|l| (l - lat).abs() < 1e-9)).expect("the report sent at this point")
}

/// What must not depend on the channel: everything but who sent it and how.
fn essence(r: &Report) -> serde_json::Value {
    serde_json::json!({
        "territory": r.territory, "level": r.level, "reasons": r.reasons, "situations": r.situations, "seen": r.seen,
        "adults": r.adults, "children": r.children, "tents": r.tents, "description": r.description,
        "status": r.status, "team": r.team, "organisation": r.organisation, "triage": r.triage_organisation,
        "contact": [r.contact_email.is_some(), r.contact_phone.is_some(), r.contact_consent],
    })
}

/// The audit entry of a report's creation, without who sent it and how.
async fn creation_detail(w: &World, r: &Report) -> serde_json::Value {
    let entries = audit_details(w, &r.id.to_string()).await;
    let (_, d) = entries.into_iter().find(|(a, _)| a == "create").expect("a create entry");
    let mut v: serde_json::Value = serde_json::from_str(&d).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.remove("channel");
    obj.remove("source");
    v
}

#[tokio::test]
async fn one_report_through_every_channel_is_triaged_routed_stored_timelined_and_audited_alike() {
    let w = world().await;
    let mut admin = w.app.session_for(w.admin, false).await;
    admin.post("/reports/routing", &[("territory", &w.t18.to_string()), ("level", "2"), ("team", &w.complex_team.to_string())]).await;
    let situation = [("situation", "camp"), ("adults", "3"), ("tents", "4"), ("description", DESCRIPTION)];

    // The public form (no contact given).
    let mut public = w.app.client();
    let mut fields = vec![("lat", POINTS[0].0), ("lon", POINTS[0].1)];
    fields.extend(situation);
    assert_eq!(public.post("/signaler", &fields).await.status, StatusCode::CREATED);

    // The staff's intake form.
    let mut staff = w.app.session_for(w.field_coordinator, false).await;
    let mut fields = vec![("lat", POINTS[1].0), ("lon", POINTS[1].1), ("source", "riverain"), ("channel", "phone")];
    fields.extend(situation);
    let r = staff.post("/reports/new", &fields).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // The JSON API.
    let body = serde_json::json!({
        "source": "riverain", "channel": "phone", "lat": POINTS[2].0.parse::<f64>().unwrap(), "lon": POINTS[2].1.parse::<f64>().unwrap(),
        "situations": ["camp"], "adults": 3, "tents": 4, "description": DESCRIPTION,
    });
    let r = staff.post_json("/api/v1/reports", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Open311, with the API token of the same account.
    let key = api_token(&w).await;
    let form = serde_urlencoded::to_string([
        ("api_key", key.as_str()),
        ("service_code", "veille_sociale"),
        ("lat", POINTS[3].0),
        ("long", POINTS[3].1),
        ("description", DESCRIPTION),
        ("attribute[situation][]", "camp"),
        ("attribute[adults]", "3"),
        ("attribute[tents]", "4"),
        ("attribute[source]", "riverain"),
    ])
    .unwrap();
    let r = w.app.client().post_raw("/open311/v2/requests.json", &form).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let reports = [by_point(&w, POINTS[0].0).await, by_point(&w, POINTS[1].0).await, by_point(&w, POINTS[2].0).await, by_point(&w, POINTS[3].0).await];
    let channels: Vec<&str> = reports.iter().map(|r| r.channel.code()).collect();
    assert_eq!(channels, ["web", "phone", "phone", "open311"]);
    let first = essence(&reports[0]);
    assert_eq!(first["level"], 2, "more than three tents: level 2");
    assert_eq!(first["team"], serde_json::json!(w.complex_team), "routed by the table");
    for (r, channel) in reports.iter().zip(&channels).skip(1) {
        assert_eq!(essence(r), first, "{channel}: the same report");
    }

    // The same timeline: received, then assigned to the team the table names.
    for r in &reports {
        let events: Vec<(String, Option<String>)> = report_events(w.app.db(), r.id).await.unwrap().into_iter().map(|e| (e.kind, e.to)).collect();
        assert_eq!(
            events,
            vec![("created".to_owned(), Some("assigned".to_owned())), ("assigned".to_owned(), Some(w.complex_team.to_string()))],
            "{}",
            r.channel
        );
    }

    // The same audit entry of the creation, but for who sent it and how.
    let reference = creation_detail(&w, &reports[0]).await;
    assert_eq!(reference["level"], 2);
    for r in &reports[1..] {
        assert_eq!(creation_detail(&w, r).await, reference, "{}", r.channel);
    }
    // Who sent it is named, except for the public (no account).
    let actors: Vec<Option<String>> = {
        let mut out = Vec::new();
        for r in &reports {
            let actor: Option<String> = sqlx::query_scalar("SELECT actor_user_id FROM audit_log WHERE record_id = $1 AND action = 'create'")
                .bind(r.id.to_string())
                .fetch_one(w.app.db().pool())
                .await
                .unwrap();
            out.push(actor);
        }
        out
    };
    let staff_id = Some(w.field_coordinator.to_string());
    assert_eq!(actors, vec![None, staff_id.clone(), staff_id.clone(), staff_id]);

    // No contact, no mail, whatever the channel.
    let mails: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(w.app.db().pool()).await.unwrap();
    assert_eq!(mails, 0);
}

#[tokio::test]
async fn only_accounts_that_take_reports_in_may_send_them_whatever_the_entry_point() {
    let w = world().await;
    for role in [Role::Reader, Role::Partner, Role::InstanceAdmin] {
        let user = w.app.user(w.coord_org, role, &format!("{}@ville.exemple.fr", role.code()), None, None).await;
        let secret = veille_web::security::random_token();
        let now = w.app.state.clock.now();
        let mut tx = w.app.db().begin().await.unwrap();
        veille_storage::tokens::create(&mut tx, user, "t", &veille_web::security::token_hash(&secret), &["read", "write"], now, now.plus_seconds(86_400))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let form = serde_urlencoded::to_string([
            ("api_key", secret.as_str()),
            ("service_code", "veille_sociale"),
            ("lat", POINTS[0].0),
            ("long", POINTS[0].1),
            ("description", DESCRIPTION),
            ("attribute[situation][]", "camp"),
        ])
        .unwrap();
        let r = w.app.client().post_raw("/open311/v2/requests.json", &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "Open311 as {role:?}");
        let mut api = w.app.client();
        api.bearer = Some(secret.clone());
        let r = api
            .post_json(
                "/api/v1/reports",
                &serde_json::json!({"source": "riverain", "channel": "phone", "situations": ["camp"], "description": DESCRIPTION, "lat": 48.888, "lon": 2.36}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "the API as {role:?}");
    }
    assert!(veille_storage::reports::list(w.app.db(), &everything(), &Default::default(), 10).await.unwrap().is_empty());
}

/// A reporter who confirmed their address, and another whose report was
/// attached to the first as a duplicate: a status change tells both, from
/// whichever screen it is made.
#[tokio::test]
async fn a_status_change_tells_the_same_reporters_from_the_page_the_api_and_a_round_stop() {
    let w = world().await;
    let mut admin = w.app.session_for(w.admin, false).await;
    admin.post("/reports/routing", &[("territory", &w.t18.to_string()), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    let mut field = w.app.session_for(w.field_coordinator, false).await;
    // The channels to compare; each gets its own pair of reports and reporters.
    for (n, via) in ["page", "api", "round"].into_iter().enumerate() {
        let (a, b) = (format!("premier-{via}@exemple.fr"), format!("second-{via}@exemple.fr"));
        let mut ids = Vec::new();
        for (i, email) in [&a, &b].into_iter().enumerate() {
            let lat = format!("48.88{}{}", 5 + n, i);
            let r = field
                .post(
                    "/reports/new",
                    &[
                        ("lat", &lat),
                        ("lon", "2.3600"),
                        ("source", "riverain"),
                        ("channel", "phone"),
                        ("email", email),
                        ("consent", "1"),
                        ("situation", "camp"),
                        ("description", DESCRIPTION),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            ids.push(by_point(&w, &lat).await);
        }
        let (main, dup) = (&ids[0], &ids[1]);
        let r = field.post(&format!("/reports/{}/duplicate", dup.id), &[("other", &main.id.to_string()), ("version", &dup.version.to_string())]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let main = veille_storage::reports::get(w.app.db(), &everything(), main.id).await.unwrap();
        match via {
            "page" => {
                let r = field
                    .post(&format!("/reports/{}/status", main.id), &[("status", "in_progress"), ("outcome", ""), ("version", &main.version.to_string())])
                    .await;
                assert_eq!(r.status, StatusCode::SEE_OTHER);
            }
            "api" => {
                let r = field
                    .post_json(&format!("/api/v1/reports/{}/status", main.id), &serde_json::json!({"status": "in_progress", "version": main.version}))
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            }
            _ => {
                // A round of the team whose stops include the report; visiting the stop moves it on.
                let second = w.app.user(w.field_org, Role::FieldWorker, "binome@nord.exemple.fr", None, None).await;
                let mut tx = w.app.db().begin().await.unwrap();
                for u in [w.field_coordinator, second] {
                    veille_storage::teams::add_member(&mut tx, w.normal_team, u).await.unwrap();
                }
                tx.commit().await.unwrap();
                let today = w.app.state.clock.now().to_paris_input()[..10].to_owned();
                let r = field.post("/rounds", &[("team_id", &w.normal_team.to_string()), ("date", &today), ("start", "00:00"), ("end", "23:59")]).await;
                let round = r.location().expect("a round is planned").to_owned();
                let expected = w.app.state.clock.now().plus_seconds(3600).to_paris_input();
                let r = field
                    .post(
                        &format!("{round}/check-in"),
                        &[("members", &w.field_coordinator.to_string()), ("members", &second.to_string()), ("expected_return", &expected), ("version", "1")],
                    )
                    .await;
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
                let round_id: veille_domain::RoundId = round.trim_start_matches("/rounds/").parse().unwrap();
                let stops = veille_storage::rounds::stops(w.app.db(), &everything(), round_id).await.unwrap();
                let stop = stops.iter().find(|s| s.report == Some(main.id)).expect("the report is a stop");
                assert_eq!(field.post(&format!("{round}/visit"), &[("stop_id", &stop.id)]).await.status, StatusCode::SEE_OTHER);
            }
        }
        assert_eq!(veille_storage::reports::get(w.app.db(), &everything(), main.id).await.unwrap().status, "in_progress", "{via}");
        for who in [&a, &b] {
            let mails = mails_to(&w.app, who).await;
            assert!(
                mails.iter().any(|m| m.contains("En cours") || m.contains("in progress") || m.contains("en cours")),
                "{via}: {who} hears of the change: {mails:?}"
            );
        }
    }
}

/// A coordinator who overrides the level can also change who handles it.
#[tokio::test]
async fn a_coordinator_hands_a_report_to_another_team_on_the_timeline_and_audited() {
    let w = world().await;
    let mut admin = w.app.session_for(w.admin, false).await;
    admin.post("/reports/routing", &[("territory", &w.t18.to_string()), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    let mut public = w.app.client();
    let r = public.post("/signaler", &[("lat", POINTS[0].0), ("lon", POINTS[0].1), ("situation", "camp"), ("description", DESCRIPTION)]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let report = by_point(&w, POINTS[0].0).await;
    assert_eq!(report.team, Some(w.normal_team));
    let path = format!("/reports/{}", report.id);

    // A field worker of the team in charge may change the report but not hand it over.
    let worker = w.app.user(w.field_org, Role::FieldWorker, "terrain@nord.exemple.fr", None, None).await;
    let mut worker = w.app.session_for(worker, false).await;
    assert!(!worker.get(&path).await.body.contains("id=\"handler\""), "no hand-over form for a field worker");
    let r = worker.post(&format!("{path}/handler"), &[("handler", &format!("team:{}", w.complex_team)), ("version", &report.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The coordinating organisation's coordinator does; a wrong choice says what to fix.
    let mut coord = w.app.session_for(w.coordinator, false).await;
    let page = coord.get(&path).await.body;
    assert!(page.contains("id=\"handler\""), "the hand-over form");
    let r = coord.post(&format!("{path}/handler"), &[("handler", "team:not-a-team"), ("version", &report.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("handler-error"));
    let r = coord.post(&format!("{path}/handler"), &[("handler", &format!("team:{}", w.normal_team)), ("version", &report.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "already with this team");
    let r = coord.post(&format!("{path}/handler"), &[("handler", &format!("team:{}", w.complex_team)), ("version", &report.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = veille_storage::reports::get(w.app.db(), &everything(), report.id).await.unwrap();
    assert_eq!((after.team, after.organisation, after.status.code()), (Some(w.complex_team), Some(w.field_org), "assigned"));
    let events = report_events(w.app.db(), report.id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "reassigned" && e.from == Some(w.normal_team.to_string()) && e.to == Some(w.complex_team.to_string())));
    assert!(audit_details(&w, &report.id.to_string()).await.iter().any(|(a, d)| a == "update" && d.contains("\"field\":\"handler\"")));
    // A stale form is refused, not applied.
    let r = coord.post(&format!("{path}/handler"), &[("handler", &format!("organisation:{}", w.coord_org)), ("version", &report.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Back to the coordinating organisation's triage queue: received again, no team.
    let r = coord.post(&format!("{path}/handler"), &[("handler", &format!("organisation:{}", w.coord_org)), ("version", &after.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let back = veille_storage::reports::get(w.app.db(), &everything(), report.id).await.unwrap();
    assert_eq!((back.team, back.organisation, back.status.code()), (None, Some(w.coord_org), "received"));
}
