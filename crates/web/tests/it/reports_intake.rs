//! Signalements, second part: situation types and routing by type, partner
//! intake by staff (restricted reporter fields), photos, deadlines and the
//! overdue list, the queue's filters as SQL, the map, figures, the JSON API
//! and Open311's jurisdiction and real client.

use axum::http::StatusCode;
use veille_domain::{authorize, Action, Role};
use veille_storage::reports::{self, Report};

use crate::helpers::*;
use crate::reports::{audit_details, check_schema, follow_link, mails_to, section, submit, world, World, IN_18TH};

async fn newest(w: &World) -> Report {
    reports::list(w.app.db(), &everything(), &Default::default(), 1).await.unwrap().remove(0)
}

/// A public report at a point with one situation (and more fields).
async fn report_at(c: &mut Client, lat: &str, lon: &str, situation: &str, extra: &[(&str, &str)]) -> Resp {
    let mut fields = vec![("lat", lat), ("lon", lon), ("situation", situation), ("description", "Des personnes installées là depuis hier.")];
    fields.extend_from_slice(extra);
    let r = c.post("/signaler", &fields).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r
}

pub(crate) async fn route(w: &World, fields: &[(&str, &str)]) {
    let mut admin = w.app.session_for(w.admin, false).await;
    let r = admin.post("/reports/routing", fields).await;
    assert_eq!(r.location(), Some("/reports/routing"), "{}", r.body);
}

#[tokio::test]
async fn reports_are_routed_by_territory_type_and_level() {
    let w = world().await;
    let t18 = w.t18.to_string();
    route(&w, &[("territory", &t18), ("situation", ""), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    route(&w, &[("territory", &t18), ("situation", "drug_use"), ("level", ""), ("team", &w.complex_team.to_string())]).await;
    let mut admin = w.app.session_for(w.admin, false).await;
    let r = admin.post("/reports/routing", &[("territory", &t18), ("situation", "fireworks"), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("situation-error"));
    let page = admin.get("/reports/routing").await.body;
    assert!(page.contains("Consommation de drogue"), "the table shows the type");

    let mut public = w.app.client();
    assert_eq!(submit(&mut public, &[]).await.status, StatusCode::CREATED);
    let plain = newest(&w).await;
    assert_eq!((plain.team, plain.situations.clone(), plain.level), (Some(w.normal_team), vec!["person_in_distress".to_string()], 1));
    let mut other = w.app.client();
    other.ip = "10.7.7.7:1".parse().unwrap();
    let r = other
        .post(
            "/signaler",
            &[
                ("lat", "48.8900"),
                ("lon", "2.3620"),
                ("situation", "drug_use"),
                ("situation", "nuisance"),
                ("description", "Matériel d'injection usagé au pied de l'immeuble."),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let drugs = newest(&w).await;
    assert_eq!((drugs.team, drugs.level), (Some(w.complex_team), 1), "the type rule is more specific than the territory rule");
    assert_eq!(drugs.situations, vec!["drug_use".to_string(), "nuisance".to_string()]);
    // Camps of more than 3 tents are level 2, 3 tents are not.
    let mut third = w.app.client();
    third.ip = "10.7.7.8:1".parse().unwrap();
    for (tents, level) in [("3", 1), ("4", 2)] {
        let r = third
            .post(
                "/signaler",
                &[("lat", "48.8401"), ("lon", "2.3900"), ("situation", "camp"), ("tents", tents), ("description", "Des tentes le long du quai.")],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(newest(&w).await.level, level, "{tents} tents");
    }
}

#[tokio::test]
async fn partner_intake_by_staff_keeps_the_reporter_in_a_restricted_field() {
    let w = world().await;
    route(&w, &[("territory", &w.t18.to_string()), ("situation", ""), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    let mut staff = w.app.session_for(w.coordinator, false).await;
    let page = staff.get("/reports/new").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"channel\"") && page.body.contains("Mairie d&#39;arrondissement") || page.body.contains("Mairie d'arrondissement"));
    // Staff take a report in: the form does not speak to them as to the public.
    assert!(!page.body.contains("Ce que vous avez vu") && !page.body.contains("Vous êtes") && page.body.contains("Situation constatée ou rapportée"));

    // Bad input: every message next to its field, what was typed kept.
    let r = staff
        .post(
            "/reports/new",
            &[
                ("source", "public"),
                ("channel", "pigeon"),
                ("reporter_name", "Mme Exemple, mairie du 18e"),
                ("email", "pas-une-adresse"),
                ("description", "court"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for id in ["source-error", "channel-error", "situation-error", "email-error", "description-error", "lat-error"] {
        assert!(r.body.contains(id), "{id}");
    }
    assert!(r.body.contains("value=\"Mme Exemple, mairie du 18e\"") && r.body.contains("value=\"pas-une-adresse\""));
    let r = staff
        .post(
            "/reports/new",
            &[
                ("source", "elu"),
                ("channel", "phone"),
                ("consent", "1"),
                ("situation", "camp"),
                ("address", "Quai de la Loire"),
                ("description", "Des tentes au bord du canal."),
            ],
        )
        .await;
    assert!(r.body.contains("consent-error"), "consent without an address to write to");

    let r = staff
        .post(
            "/reports/new",
            &[
                ("source", "mairie_arrondissement"),
                ("channel", "phone"),
                ("reporter_name", "Mme Exemple, cabinet du maire du 18e"),
                ("email", "cabinet18@mairie.exemple.fr"),
                ("phone", "01 23 45 67 89"),
                ("consent", "1"),
                ("lat", IN_18TH.0),
                ("lon", IN_18TH.1),
                ("situation", "minors"),
                ("adults", "0"),
                ("children", "2"),
                ("description", "Deux enfants seuls signalés par la mairie, devant le gymnase."),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body.contains("/suivi/") && r.body.contains("id=\"report-link\""));
    assert!(!r.body.contains("Merci") && !r.body.contains("Votre signalement"), "staff are not thanked for their own intake");
    let stored = newest(&w).await;
    assert!(r.body.contains(&format!("Signalement enregistré sous la référence {}.", stored.reference)));
    assert_eq!((stored.source.code(), stored.channel.code(), stored.level), ("mairie_arrondissement", "phone", 2));
    assert_eq!(stored.reporter_name.as_deref(), Some("Mme Exemple, cabinet du maire du 18e"));
    assert!(stored.email_confirmed && stored.contact_consent, "typed by staff: no code to type back");
    assert_eq!(stored.acknowledged_at, Some(stored.created_at), "taken in by a person: acknowledged");
    assert_eq!((stored.team, stored.organisation), (Some(w.normal_team), Some(w.field_org)), "the same routing as the public form");
    let mails = mails_to(&w.app, "cabinet18@mairie.exemple.fr").await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains(&stored.reference) && mails[0].contains("/suivi/") && !mails[0].contains("enfants"), "{mails:?}");
    assert!(audit_details(&w, &stored.id.to_string()).await.iter().any(|(a, d)| a == "create" && d.contains("\"channel\":\"phone\"")));

    // Who reads the reporter: those who may update the report.
    let path = format!("/reports/{}", stored.id);
    let mut field = w.app.session_for(w.field_coordinator, false).await;
    let page = field.get(&path).await.body;
    assert!(section(&page, "reporter").contains("cabinet18@mairie.exemple.fr"), "the team in charge may update: it sees the reporter");
    assert!(
        !page.contains("Vous êtes") && !page.contains("Ce que vous avez vu") && page.contains("Signalé par"),
        "the staff report page speaks of the reporter"
    );
    let coord_admin = w.app.user(w.coord_org, Role::OrgAdmin, "orgadmin@ville.exemple.fr", None, None).await;
    let mut coord_admin = w.app.session_for(coord_admin, false).await;
    let page = coord_admin.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "the coordinating organisation's administrator reads it (shared)");
    assert!(!page.body.contains("cabinet18@mairie.exemple.fr") && !page.body.contains("Mme Exemple") && !page.body.contains("01 23 45 67 89"));
    let reads = audit_details(&w, &stored.id.to_string()).await;
    assert!(reads.iter().any(|(a, d)| a == "read" && d.contains("\"restricted_fields\":[\"reporter\"]")), "{reads:?}");
    assert!(reads.iter().any(|(a, d)| a == "read" && d.contains("\"restricted_fields\":[]")), "{reads:?}");
    // The same rule in the API.
    let json = field.get(&format!("/api/v1/reports/{}", stored.id)).await.json();
    assert_eq!(json["reporter"]["email"], "cabinet18@mairie.exemple.fr");
    let json = coord_admin.get(&format!("/api/v1/reports/{}", stored.id)).await.json();
    assert!(json["reporter"].is_null() && !json.to_string().contains("cabinet18"));
    // Readers and partners may not take reports in.
    let reader = w.app.user(w.coord_org, Role::Reader, "lecture@ville.exemple.fr", None, None).await;
    let mut reader = w.app.session_for(reader, false).await;
    assert_eq!(reader.get("/reports/new").await.status, StatusCode::FORBIDDEN);
}

/// A small JPEG carrying an EXIF block with a marker.
pub(crate) fn jpeg_with_exif() -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 3, y as u8 * 5, 120])));
    let mut plain = std::io::Cursor::new(Vec::new());
    img.write_to(&mut plain, image::ImageFormat::Jpeg).unwrap();
    let plain = plain.into_inner();
    let payload = b"Exif\0\0GPS-SECRET-48.8880-2.3600";
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&plain[2..]);
    out
}

fn form_fields() -> Vec<(&'static str, &'static str)> {
    vec![("lat", IN_18TH.0), ("lon", IN_18TH.1), ("situation", "camp"), ("tents", "2"), ("description", "Deux tentes sous le pont, matelas au sol.")]
}

#[tokio::test]
async fn a_photo_is_stripped_kept_across_errors_and_shown_to_staff_only() {
    let w = world().await;
    let mut public = w.app.client();
    let photo = jpeg_with_exif();
    // Wrong type and oversized: refused with the limit stated, what was typed kept.
    let r = public.post_multipart("/signaler", &form_fields(), Some(("photo", "note.pdf", b"%PDF-1.7 not an image"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("photo-error") && r.body.contains("JPEG, PNG ou WebP") && r.body.contains("8 Mo"), "{}", r.body);
    assert!(r.body.contains("matelas au sol"));
    let big = vec![0xFFu8; 8 * 1024 * 1024 + 10];
    let r = public.post_multipart("/signaler", &form_fields(), Some(("photo", "big.jpg", &big))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("trop lourde") && r.body.contains("8 Mo"));
    // Accepted photo, other error: the photo is kept under a token.
    let mut fields = form_fields();
    fields.retain(|(k, _)| *k != "description");
    let r = public.post_multipart("/signaler", &fields, Some(("photo", "camp.jpg", &photo))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"photo-kept\"") && r.body.contains("description-error"));
    let token = r.body.split("name=\"photo_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(token.len() >= 40);
    assert!(reports::list(w.app.db(), &everything(), &Default::default(), 10).await.unwrap().is_empty());
    // Sent again without choosing the file: the kept photo is attached.
    let mut fields = form_fields();
    fields.push(("photo_token", token.as_str()));
    let r = public.post_multipart("/signaler", &fields, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let link = follow_link(&r.body);
    let report = newest(&w).await;
    let stored = reports::photo(w.app.db(), report.id).await.unwrap().expect("the photo is stored");
    assert_eq!(stored.content_type, "image/jpeg");
    assert!(!stored.bytes.windows(10).any(|b| b == b"GPS-SECRET"), "metadata stripped");
    assert!(reports::kept_upload(w.app.db(), &veille_web::security::token_hash(&token), w.app.state.clock.now()).await.unwrap().is_none(), "used once");

    // Staff see it (audited); the reporter's page, Open311 and e-mails never.
    let mut staff = w.app.session_for(w.coordinator, false).await;
    let page = staff.get(&format!("/reports/{}", report.id)).await.body;
    assert!(page.contains(&format!("/reports/{}/photo", report.id)));
    let img = staff.get(&format!("/reports/{}/photo", report.id)).await;
    assert_eq!(img.status, StatusCode::OK);
    assert_eq!(img.headers["content-type"], "image/jpeg");
    assert!(audit_details(&w, &report.id.to_string()).await.iter().any(|(a, d)| a == "read" && d.contains("\"field\":\"photo\"")));
    let follow = public.get(&link).await.body;
    assert!(!follow.contains("/photo") && !follow.contains("<img"));
    let o = public.get(&format!("/open311/v2/requests/{}.json", report.reference)).await.body;
    assert!(!o.contains("photo") && !o.contains("media_url"));
    let mut stranger_org = w.app.client();
    assert_eq!(stranger_org.get(&format!("/reports/{}/photo", report.id)).await.status, StatusCode::SEE_OTHER, "anonymous: to the login page");
    let other = w.app.org("Autre", false).await;
    let outsider = w.app.user(other, Role::Coordinator, "c@autre.exemple.fr", None, None).await;
    let mut outsider = w.app.session_for(outsider, false).await;
    assert_eq!(outsider.get(&format!("/reports/{}/photo", report.id)).await.status, StatusCode::NOT_FOUND);

    // A kept photo expires after an hour: the form says to choose it again.
    let mut fields = form_fields();
    fields.retain(|(k, _)| *k != "description");
    let mut second = w.app.client();
    second.ip = "10.3.3.3:1".parse().unwrap();
    let r = second.post_multipart("/signaler", &fields, Some(("photo", "camp.jpg", &photo))).await;
    let token = r.body.split("name=\"photo_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    w.app.state.clock.advance_seconds(3601);
    let mut fields = form_fields();
    fields.push(("photo_token", token.as_str()));
    let r = second.post_multipart("/signaler", &fields, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("choisissez-la à nouveau"));
    // Backups carry photos.
    let mut dump = Vec::new();
    veille_storage::backup::dump(w.app.db(), &w.app.state.audit, &mut dump).await.unwrap();
    let target = TestDb::new().await;
    veille_storage::backup::restore(&target.db, std::io::Cursor::new(&dump)).await.unwrap();
    assert_eq!(reports::photo(&target.db, report.id).await.unwrap().unwrap().bytes, stored.bytes);
}

#[tokio::test]
async fn deadlines_per_level_and_the_overdue_list_follow_the_clock() {
    let w = world().await;
    let mut public = w.app.client();
    submit(&mut public, &[]).await;
    let ordinary = newest(&w).await;
    report_at(&mut public, "48.8950", "2.3450", "person_in_distress", &[("flag", "great_vulnerability")]).await;
    let complex = newest(&w).await;
    assert_eq!((ordinary.level, complex.level), (1, 2));
    let mut staff = w.app.session_for(w.coordinator, false).await;
    let q = staff.get("/reports").await.body;
    assert!(q.contains("Aucun signalement en retard") && q.contains("Prise en charge avant le"));
    // 25 hours later: the level 2 report was not acknowledged within 24 h.
    w.app.state.clock.advance_seconds(25 * 3600);
    // (Sessions end after 30 idle minutes: a new one after each jump of the clock.)
    let mut staff = w.app.session_for(w.coordinator, false).await;
    let q = staff.get("/reports?overdue=1").await.body;
    assert!(q.contains(&complex.reference) && !q.contains(&ordinary.reference), "{q}");
    assert!(staff.get("/reports").await.body.contains("En retard : 1"));
    let csv = staff.get("/reports.csv?overdue=1").await.body;
    assert_eq!(csv.lines().count(), 2);
    // A note acknowledges it: no longer overdue until its answer is due (5 days).
    let path = format!("/reports/{}", complex.id);
    staff.post(&format!("{path}/notes"), &[("body", "Appel passé à la maraude.")]).await;
    assert!(reports::get(w.app.db(), &everything(), complex.id).await.unwrap().acknowledged_at.is_some());
    assert!(!staff.get("/reports?overdue=1").await.body.contains(&complex.reference));
    // 73 hours: the level 1 report is late too.
    w.app.state.clock.advance_seconds(48 * 3600);
    let mut staff = w.app.session_for(w.coordinator, false).await;
    let q = staff.get("/reports?overdue=1").await.body;
    assert!(q.contains(&ordinary.reference) && !q.contains(&complex.reference));
    // 6 days: the level 2 report has no answer, late again; a public answer clears it.
    w.app.state.clock.advance_seconds(3 * 86_400);
    let mut staff = w.app.session_for(w.coordinator, false).await;
    assert!(staff.get("/reports?overdue=1").await.body.contains(&complex.reference));
    let v = reports::get(w.app.db(), &everything(), complex.id).await.unwrap().version.to_string();
    staff.post(&format!("{path}/answer"), &[("answer", "Une équipe est passée."), ("action", "publish"), ("version", &v)]).await;
    let after = reports::get(w.app.db(), &everything(), complex.id).await.unwrap();
    assert!(after.answered_at.is_some());
    assert!(!staff.get("/reports?overdue=1").await.body.contains(&complex.reference));
    let page = staff.get(&path).await.body;
    assert!(page.contains("Répondu le") && page.contains("Pris en charge le"));
    // The figures count the delays.
    let f = staff.get("/api/v1/reports/stats").await.json();
    assert_eq!(f["total"], 2);
    assert_eq!(f["acknowledged"]["count"], 1);
    assert_eq!(f["answered"]["count"], 1);
    assert_eq!(f["answered"]["median_hours"], 145.0, "25 + 48 + 72 hours");
    // Configurable.
    let config = veille_web::Config { report_acknowledge_hours_level_2: 48, ..Default::default() };
    assert_eq!(config.report_deadlines().acknowledge(2), 48 * 3600);
}

#[tokio::test]
async fn queue_filters_map_and_figures() {
    let w = world().await;
    let mut public = w.app.client();
    submit(&mut public, &[("source", "commercant")]).await;
    let shop = newest(&w).await;
    w.app.state.clock.advance_seconds(2 * 86_400);
    public = w.app.client();
    report_at(&mut public, "48.8950", "2.3450", "squat", &[]).await;
    let squat = newest(&w).await;
    let mut staff = w.app.session_for(w.coordinator, false).await;
    let only = |body: &str, yes: &Report, no: &Report| body.contains(&yes.reference) && !body.contains(&no.reference);
    assert!(only(&staff.get("/reports?situation=squat").await.body, &squat, &shop));
    assert!(only(&staff.get("/reports?source=commercant").await.body, &shop, &squat));
    let day = |t: veille_domain::Timestamp| t.to_paris_rfc3339()[..10].to_owned();
    assert!(only(&staff.get(&format!("/reports?to={}", day(shop.created_at))).await.body, &shop, &squat));
    assert!(only(&staff.get(&format!("/reports?from={}", day(squat.created_at))).await.body, &squat, &shop));
    let csv = staff.get("/reports.csv?situation=squat").await.body;
    assert!(csv.contains(&squat.reference) && !csv.contains(&shop.reference) && csv.lines().next().unwrap().contains("situations"));
    // The map: open reports of the filtered list, as GeoJSON points.
    let map = staff.get("/reports.geojson?situation=squat").await;
    assert!(map.headers["content-type"].to_str().unwrap().starts_with("application/geo+json"));
    let fc = map.json();
    assert_eq!(fc["features"].as_array().unwrap().len(), 1);
    assert_eq!(fc["features"][0]["properties"]["reference"], squat.reference.as_str());
    assert!(!map.body.contains("Trois personnes"), "no free text on the map");
    let page = staff.get("/reports?situation=squat").await.body;
    assert!(page.contains("id=\"reports-map\"") && page.contains("/reports.geojson?") && page.contains("reports-map.js"));
    // Figures by source, type and level.
    let f = staff.get("/api/v1/reports/stats").await.json();
    let count = |family: &str, code: &str| f[family].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()["count"].as_i64().unwrap();
    assert_eq!(
        (count("by_source", "commercant"), count("by_situation", "squat"), count("by_situation", "person_in_distress"), count("by_level", "1")),
        (1, 1, 1, 2)
    );
    let page = staff.get("/reports/stats").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Par situation") && page.body.contains("id=\"stats-source\""));
    // A reader sees figures, never the reports.
    let reader = w.app.user(w.coord_org, Role::Reader, "lecture@ville.exemple.fr", None, None).await;
    let mut reader = w.app.session_for(reader, false).await;
    let page = reader.get("/reports/stats").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("id=\"stats-suppression\"") && page.body.contains("&#60; 11"),
        "a reader is told small counts are hidden: {}",
        page.body.split("stats-total").nth(1).unwrap_or_default().chars().take(600).collect::<String>()
    );
    // …with no count from 1 to 10 anywhere (decision 84), and exact counts for staff.
    let f = reader.get("/api/v1/reports/stats").await.json();
    assert_eq!(f["suppressed_below"], 11);
    assert!(f["total"].is_null(), "two reports: {}", f["total"]);
    let mut counts = vec![f["acknowledged"]["count"].clone(), f["answered"]["count"].clone()];
    for family in ["by_source", "by_situation", "by_level", "by_status", "by_channel"] {
        counts.extend(f[family].as_array().unwrap().iter().map(|c| c["count"].clone()));
    }
    for c in &counts {
        assert!(c.is_null() || c.as_i64().is_some_and(|n| n == 0 || n >= 11), "a small count shown to a reader: {c}");
    }
    assert!(counts.iter().any(|c| c.is_null()) && counts.iter().any(|c| c == 0));
    assert!(staff.get("/api/v1/reports/stats").await.json()["suppressed_below"].is_null());
    assert_eq!(reader.get("/reports").await.status, StatusCode::FORBIDDEN);
}

/// The queue's SQL filter admits exactly what the permission function allows,
/// on a world of several organisations, territories and roles.
#[tokio::test]
async fn the_queue_filter_in_sql_agrees_with_the_permission_function() {
    let app = TestApp::new().await;
    let t1 = app.two_square_territories().await;
    let t2 = veille_storage::territories::id_by_code(app.db(), "T2").await.unwrap().unwrap();
    let orgs = [app.org("A", true).await, app.org("B", false).await, app.org("C", false).await];
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    let mut n = 0;
    for &owner in &orgs {
        for &triage in &orgs {
            for territory in [None, Some(t1), Some(t2)] {
                for owned in [true, false] {
                    n += 1;
                    let new = reports::NewReport {
                        reference: format!("S-SQL{n:03}"),
                        token_hash: format!("hash-{n}"),
                        source: veille_domain::reports::Source::Riverain,
                        channel: veille_domain::reports::Channel::Phone,
                        lon: None,
                        lat: None,
                        address: "Rue d'exemple".into(),
                        territory,
                        situations: vec!["camp".into()],
                        seen: vec![],
                        adults: 1,
                        children: 0,
                        tents: 1,
                        description: "Une tente.".into(),
                        reporter_name: None,
                        contact_email: None,
                        contact_phone: None,
                        contact_consent: false,
                        email_confirm_hash: None,
                        email_confirmed: false,
                        acknowledged: false,
                        site_id: None,
                        level: 1,
                        reasons: vec![],
                        status: veille_domain::reports::Status::Received,
                        organisation: owned.then_some(owner),
                        triage_organisation: Some(triage),
                        team: None,
                    };
                    reports::create(&mut tx, &new, now).await.unwrap();
                }
            }
        }
    }
    tx.commit().await.unwrap();
    let all = reports::list(app.db(), &everything(), &Default::default(), 1000).await.unwrap();
    assert_eq!(all.len(), n);
    let mut checked = 0;
    for (i, role) in Role::ALL.into_iter().enumerate() {
        for (j, &org) in orgs.iter().enumerate() {
            for scope in [None, Some(vec![t1]), Some(vec![])] {
                let user = app.user(org, role, &format!("u{i}-{j}-{}@exemple.fr", scope.as_ref().map_or(9, Vec::len)), None, scope.clone()).await;
                let account = veille_storage::accounts::get(app.db(), user).await.unwrap();
                let actor = veille_storage::accounts::actor_of(app.db(), &account).await.unwrap();
                let scope = veille_storage::Scope::of(&actor);
                let mut by_sql: Vec<_> = reports::list(app.db(), &scope, &Default::default(), 1000).await.unwrap().into_iter().map(|r| r.id).collect();
                let mut by_rule: Vec<_> =
                    all.iter().filter(|r| authorize(&actor, Action::Read, &veille_web::reports::resource(r)).allowed).map(|r| r.id).collect();
                by_sql.sort();
                by_rule.sort();
                assert_eq!(by_sql, by_rule, "{role:?} of org {j}, scope {scope:?}");
                assert_eq!(reports::count(app.db(), &scope, &Default::default()).await.unwrap() as usize, by_rule.len());
                checked += 1;
            }
        }
    }
    assert_eq!(checked, Role::ALL.len() * 9);
}

#[tokio::test]
async fn the_json_api_lists_reads_creates_and_changes_reports() {
    let w = world().await;
    route(&w, &[("territory", &w.t18.to_string()), ("situation", ""), ("level", ""), ("team", &w.normal_team.to_string())]).await;
    let mut field = w.app.session_for(w.field_coordinator, false).await;
    let body = serde_json::json!({
        "source": "gardien_bailleur", "channel": "email", "lat": 48.888, "lon": 2.36,
        "situations": ["family_with_children"], "flags": ["pregnant_woman"], "adults": 2, "children": 1,
        "description": "Une famille dort dans le hall depuis deux nuits.", "reporter_name": "Gardien (exemple)",
        "reporter_phone": "06 00 00 00 00"
    });
    let r = field.post_json("/api/v1/reports", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let created = r.json();
    assert_eq!((created["level"].as_i64(), created["placement"].as_str(), created["status"].as_str()), (Some(2), Some("territory"), Some("assigned")));
    assert!(created["follow_url"].as_str().unwrap().contains("/suivi/"));
    let id = created["id"].as_str().unwrap().to_owned();
    // 422: one message per field, in the caller's language; 400 for a body that is not the schema.
    let r = field.post_json("/api/v1/reports", &serde_json::json!({"source": "public", "channel": "fax", "situations": [], "description": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &r.json()["error"]["fields"];
    for f in ["source", "channel", "situation", "description", "lat"] {
        assert!(fields[f].is_string(), "{f}: {}", r.body);
    }
    let r = field.post_json("/api/v1/reports", &serde_json::json!({"source": "elu", "nonsense": true})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = field.post_raw("/api/v1/reports", "source=elu").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // List with filters, one report (audited), status and answer.
    let list = field.get("/api/v1/reports?situation=family_with_children").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(field.get("/api/v1/reports?situation=squat").await.json().as_array().unwrap().len(), 0);
    // A filter outside its list or format is refused, naming it (the pages read it as "all").
    for (query, name) in [("status=pending", "status"), ("level=3", "level"), ("territory=", "territory"), ("from=hier", "from"), ("overdue=yes", "overdue")] {
        for path in ["/api/v1/reports", "/api/v1/reports/stats"] {
            let r = field.get(&format!("{path}?{query}")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}?{query}");
            assert!(r.json()["error"]["detail"].as_str().unwrap().contains(&format!("`{name}`")), "{}", r.body);
        }
    }
    assert_eq!(field.get("/reports?status=pending&territory=").await.status, StatusCode::OK);
    let one = field.get(&format!("/api/v1/reports/{id}")).await.json();
    assert_eq!(one["situations"][0], "family_with_children");
    assert_eq!(one["reporter"]["name"], "Gardien (exemple)");
    let version = one["version"].as_i64().unwrap();
    let r = field.post_json(&format!("/api/v1/reports/{id}/status"), &serde_json::json!({"status": "closed", "version": version})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["outcome"].is_string());
    let r = field.post_json(&format!("/api/v1/reports/{id}/status"), &serde_json::json!({"status": "in_progress", "version": version})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "in_progress");
    let r = field.post_json(&format!("/api/v1/reports/{id}/answer"), &serde_json::json!({"answer": "Mise à l'abri proposée.", "version": version})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a stale version is refused");
    let v = r.headers.get("x-veille-error").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(v.as_deref(), Some("conflict"));
    let version = reports::get(w.app.db(), &everything(), id.parse().unwrap()).await.unwrap().version;
    let r = field.post_json(&format!("/api/v1/reports/{id}/answer"), &serde_json::json!({"answer": "Mise à l'abri proposée.", "version": version})).await;
    assert_eq!(r.json()["public_answer"], "Mise à l'abri proposée.");
    assert!(audit_details(&w, &id).await.iter().any(|(a, d)| a == "read" && d.contains("\"via\":\"api\"")));
    // Another organisation's report does not exist for the caller.
    let other = w.app.org("Autre", false).await;
    let outsider = w.app.user(other, Role::Coordinator, "c@autre.exemple.fr", None, None).await;
    let mut outsider = w.app.session_for(outsider, false).await;
    assert_eq!(outsider.get(&format!("/api/v1/reports/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(outsider.get("/api/v1/reports").await.json().as_array().unwrap().len(), 0);
    // The OpenAPI document describes the bodies.
    let doc = veille_web::openapi::build();
    assert!(doc["paths"]["/reports"]["post"]["requestBody"].is_object());
    assert!(doc["paths"]["/reports/{id}/status"]["post"]["requestBody"].is_object());
    assert!(doc["paths"]["/reports/stats"]["get"].is_object());
}

#[tokio::test]
async fn open311_checks_the_jurisdiction_and_needs_a_situation() {
    let w = world().await;
    let mut c = w.app.client();
    assert_eq!(c.get("/open311/v2/services.json?jurisdiction_id=veille").await.status, StatusCode::OK);
    for path in ["/open311/v2/services.json", "/open311/v2/services/veille_sociale.json", "/open311/v2/requests.json", "/open311/v2/requests/S-XXXX-XXXX.json"]
    {
        let r = c.get(&format!("{path}?jurisdiction_id=ailleurs.example")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.json()[0]["code"], 404);
    }
    let def = c.get("/open311/v2/services/veille_sociale.json").await.json();
    check_schema("service-definition.json", &def);
    assert!(def["attributes"].as_array().unwrap().iter().any(|a| a["code"] == "situation" && a["required"] == true));
    let key = veille_web::security::random_token();
    let now = w.app.state.clock.now();
    let mut tx = w.app.db().begin().await.unwrap();
    veille_storage::tokens::create(
        &mut tx,
        w.field_coordinator,
        "o311",
        &veille_web::security::token_hash(&key),
        &["read", "write"],
        now,
        now.plus_seconds(86_400),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let post = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("api_key", key.as_str()),
            ("service_code", "veille_sociale"),
            ("lat", IN_18TH.0),
            ("long", IN_18TH.1),
            ("description", "Une tente et deux personnes."),
        ];
        pairs.extend_from_slice(extra);
        serde_urlencoded::to_string(pairs).unwrap()
    };
    let r = c.post_raw("/open311/v2/requests.json", &post(&[])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()[0]["description"].as_str().unwrap().contains("situation"));
    let r = c.post_raw("/open311/v2/requests.json", &post(&[("attribute[situation][]", "camp"), ("jurisdiction_id", "ailleurs.example")])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .post_raw(
            "/open311/v2/requests.json",
            &post(&[("attribute[situation][]", "camp"), ("attribute[flag][]", "municipal_land"), ("jurisdiction_id", "veille")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let stored = newest(&w).await;
    assert_eq!((stored.situations.clone(), stored.seen.clone(), stored.level), (vec!["camp".to_string()], vec!["municipal_land".to_string()], 2));
    let r = c.get("/open311/v2/requests.json?jurisdiction_id=veille").await;
    check_schema("requests.json", &r.json());
}

/// The real read client from PyPI (georeport 0.3.1) against a running server.
#[tokio::test]
async fn the_georeport_client_reads_services_and_requests() {
    let w = world().await;
    let mut public = w.app.client();
    submit(&mut public, &[]).await;
    let python = format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    assert!(std::path::Path::new(&python).exists(), "{python} is missing: run `bash scripts/install-deps.sh`");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(veille_web::serve(listener, w.app.state.clone(), async move {
        let _ = stopped.await;
    }));
    let script = r#"
import json, sys
from georeport import GeoReport
api = GeoReport(sys.argv[1] + "/open311/v2")
services = api.get_service_list()
code = services[0]["service_code"]
definition = api.get_service_definition(code)
requests = api.get_service_requests(status="open")
print(json.dumps({"services": services, "definition": definition, "requests": requests}, default=str))
"#;
    let base = format!("http://{addr}");
    let out = tokio::process::Command::new(&python).arg("-c").arg(script).arg(&base).output().await.unwrap();
    let _ = stop.send(());
    let _ = server.await;
    assert!(out.status.success(), "georeport failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["services"][0]["service_code"], "veille_sociale");
    assert!(v["definition"]["attributes"].as_array().is_some_and(|a| !a.is_empty()));
    let reference = newest(&w).await.reference;
    assert!(v["requests"].to_string().contains(&reference), "{v}");
}

#[tokio::test]
async fn a_report_is_linked_to_a_known_site_at_intake_or_from_the_sites_near_its_point() {
    let w = world().await;
    let mut staff = w.app.session_for(w.coordinator, false).await;
    let r = staff
        .post("/sites", &[("name", "Campement du quai (test)"), ("kind", "camp"), ("lat", IN_18TH.0), ("lon", IN_18TH.1), ("land_owner", "municipal")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let site = r.location().unwrap().rsplit('/').next().unwrap().to_owned();

    // Staff intake offers the active sites; an unknown one is refused next
    // to the field, what was typed kept.
    let page = staff.get("/reports/new").await.body;
    assert!(page.contains(&format!("<option value=\"{site}\"")) && page.contains("Campement du quai (test)"));
    let fields = |site: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("source", "gardien_bailleur"),
            ("channel", "phone"),
            ("lat", IN_18TH.0),
            ("lon", IN_18TH.1),
            ("situation", "camp"),
            ("tents", "2"),
            ("description", "Deux tentes de plus près du quai."),
            ("site_id", site),
        ]
    };
    let r = staff.post("/reports/new", &fields("01a23141-339f-73ec-9778-f6cbf7b65941")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("site_id-error") && r.body.contains("Deux tentes de plus près du quai."));
    let mut with_site = fields("");
    with_site.retain(|(k, _)| *k != "site_id");
    with_site.push(("site_id", &site));
    let r = staff.post("/reports/new", &with_site).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let linked = newest(&w).await;
    assert_eq!(linked.site_id.map(|s| s.to_string()), Some(site.clone()));
    let page = staff.get(&format!("/reports/{}", linked.id)).await.body;
    assert!(section(&page, "site").contains(&format!("/sites/{site}")));

    // A public report next to the site: the site is suggested; linking it is
    // audited and on the timeline; it can be undone.
    let mut public = w.app.client();
    report_at(&mut public, IN_18TH.0, IN_18TH.1, "camp", &[]).await;
    let report = newest(&w).await;
    assert_eq!(report.site_id, None, "the public form does not link sites");
    let path = format!("/reports/{}", report.id);
    let page = staff.get(&path).await.body;
    assert!(section(&page, "near-sites").contains("Campement du quai (test)"), "{page}");
    let version = report.version.to_string();
    let r = staff.post(&format!("{path}/site"), &[("site", &site), ("version", &version)]).await;
    assert_eq!(r.location(), Some(path.as_str()), "{}", r.body);
    let report = newest(&w).await;
    assert_eq!(report.site_id.map(|s| s.to_string()), Some(site.clone()));
    assert!(audit_details(&w, &report.id.to_string()).await.iter().any(|(a, d)| a == "update" && d.contains("\"field\":\"site_id\"") && d.contains(&site)));
    let page = staff.get(&path).await.body;
    let timeline = &page[page.find("id=\"report-timeline\"").unwrap()..];
    assert!(timeline.contains("Lieu de vie") && timeline.contains("Campement du quai (test)"), "{timeline}");
    let r = staff.post(&format!("{path}/site"), &[("site", "01a23141-339f-73ec-9778-f6cbf7b65941"), ("version", &report.version.to_string())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = staff.post(&format!("{path}/site"), &[("site", ""), ("version", &report.version.to_string())]).await;
    assert_eq!(r.location(), Some(path.as_str()));
    assert_eq!(newest(&w).await.site_id, None);

    // The API takes the same link and refuses an unknown site.
    let r = staff.post_json("/api/v1/reports", &serde_json::json!({"source": "commercant", "channel": "phone", "lat": 48.888, "lon": 2.36, "situations": ["camp"], "description": "Une tente devant le magasin.", "site_id": "01a23141-339f-73ec-9778-f6cbf7b65941"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["error"]["fields"]["site_id"].is_string());
    let r = staff.post_json("/api/v1/reports", &serde_json::json!({"source": "commercant", "channel": "phone", "lat": 48.888, "lon": 2.36, "situations": ["camp"], "description": "Une tente devant le magasin.", "site_id": site})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(newest(&w).await.site_id.map(|s| s.to_string()), Some(site.clone()));
}

/// A write token of `user` (read and write).
async fn write_token(app: &TestApp, user: veille_domain::UserId) -> String {
    let key = veille_web::security::random_token();
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    veille_storage::tokens::create(&mut tx, user, "o311", &veille_web::security::token_hash(&key), &["read", "write"], now, now.plus_seconds(86_400))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    key
}

/// Open311 POST is rate-limited like the public form: per client address
/// (every attempt, a bad api_key too) and per account of the api_key, in the
/// 10-minute window; another client and another account are not affected.
#[tokio::test]
async fn open311_posts_are_rate_limited_per_address_and_per_account() {
    let app = TestApp::with_config(veille_web::Config { open311_posts_allowed: 3, ..Default::default() }).await;
    let org = app.org("Ville", true).await;
    let first = app.user(org, Role::Coordinator, "un@ville.exemple.fr", None, None).await;
    let second = app.user(org, Role::Coordinator, "deux@ville.exemple.fr", None, None).await;
    let (key1, key2) = (write_token(&app, first).await, write_token(&app, second).await);
    let body = |key: &str| {
        serde_urlencoded::to_string([
            ("api_key", key),
            ("service_code", "veille_sociale"),
            ("attribute[situation][]", "camp"),
            ("address_string", "Quai de Jemmapes"),
            ("description", "Deux tentes."),
        ])
        .unwrap()
    };
    let mut a = app.client();
    assert_eq!(a.post_raw("/open311/v2/requests.json", &body("pas-un-jeton")).await.status, StatusCode::FORBIDDEN);
    for _ in 0..2 {
        let r = a.post_raw("/open311/v2/requests.json", &body(&key1)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = a.post_raw("/open311/v2/requests.json", &body(&key1)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the bad api_key counted: {}", r.body);
    assert_eq!(r.json()[0]["code"], 429);
    // Another address with the same account: one more for the account, then refused.
    let mut b = app.client();
    b.ip = "10.2.2.2:5000".parse().unwrap();
    assert_eq!(b.post_raw("/open311/v2/requests.json", &body(&key1)).await.status, StatusCode::CREATED);
    assert_eq!(b.post_raw("/open311/v2/requests.json", &body(&key1)).await.status, StatusCode::TOO_MANY_REQUESTS);
    // Another account from a third address is not affected; the window passes.
    let mut c = app.client();
    c.ip = "10.3.3.3:5000".parse().unwrap();
    assert_eq!(c.post_raw("/open311/v2/requests.json", &body(&key2)).await.status, StatusCode::CREATED);
    app.state.clock.advance_seconds(601);
    assert_eq!(a.post_raw("/open311/v2/requests.json", &body(&key1)).await.status, StatusCode::CREATED);
}

/// An instance keeps the API token an Open311 client writes with (decision
/// 118), and the write checks it again in its transaction: a token revoked on
/// another instance, an account disabled or given a role that takes no report
/// in stops the very next report, with nothing written; a change that still
/// lets the account take reports in goes on; reports sent at the same moment
/// with a live token and a withdrawn one are written or refused each by its own.
#[tokio::test]
async fn a_kept_open311_token_stops_at_once_when_revoked_or_its_account_changes() {
    let w = world().await;
    let other = w.app.second_instance().await;
    let app = &w.app;
    let token = |user: veille_domain::UserId| async move {
        let key = veille_web::security::random_token();
        let now = app.state.clock.now();
        let mut tx = app.db().begin().await.unwrap();
        let hash = veille_web::security::token_hash(&key);
        let id = veille_storage::tokens::create(&mut tx, user, "o311", &hash, &["read", "write"], now, now.plus_seconds(86_400)).await.unwrap();
        tx.commit().await.unwrap();
        (id, key)
    };
    let body = |key: &str, n: usize| {
        let description = format!("Tente n° {n} sous le pont.");
        serde_urlencoded::to_string([
            ("api_key", key),
            ("service_code", "veille_sociale"),
            ("lat", IN_18TH.0),
            ("long", IN_18TH.1),
            ("description", description.as_str()),
            ("attribute[situation][]", "camp"),
        ])
        .unwrap()
    };
    let count = || async move { veille_storage::sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM reports").fetch_one(app.db().pool()).await.unwrap() };
    let set = |sql: &'static str, user: veille_domain::UserId| async move {
        veille_storage::sqlx::query(sql).bind(user.to_string()).execute(app.db().pool()).await.unwrap();
    };
    let path = "/open311/v2/requests.json";
    let mut c = w.app.client();

    // Revoked by its owner on the other instance.
    let (id, key) = token(w.field_coordinator).await;
    let r = c.post_raw(path, &body(&key, 1)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let owner = veille_storage::accounts::get(&other.db, w.field_coordinator).await.unwrap();
    let owner = veille_app::identity::caller_of(&other, owner).await.unwrap();
    veille_app::accounts::revoke_token(&other, &owner, &id.to_string()).await.unwrap();
    let before = count().await;
    for n in 2..4 {
        let r = c.post_raw(path, &body(&key, n)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains("api_key is not a live API token"), "{}", r.body);
    }
    assert_eq!(count().await, before, "nothing written for a revoked token");

    // Its account given another role that takes reports in, then one that does not, then disabled.
    let worker = w.app.user(w.field_org, Role::FieldWorker, "terrain.o311@nord.exemple.fr", None, None).await;
    let (_, key) = token(worker).await;
    assert_eq!(c.post_raw(path, &body(&key, 4)).await.status, StatusCode::CREATED);
    set("UPDATE users SET role = 'coordinator' WHERE id = $1", worker).await;
    let r = c.post_raw(path, &body(&key, 5)).await;
    assert_eq!(r.status, StatusCode::CREATED, "a coordinator takes reports in too: {}", r.body);
    set("UPDATE users SET role = 'reader' WHERE id = $1", worker).await;
    let before = count().await;
    let r = c.post_raw(path, &body(&key, 6)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a reader takes no report in: {}", r.body);
    set("UPDATE users SET role = 'field_worker' WHERE id = $1", worker).await;
    let r = c.post_raw(path, &body(&key, 7)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    set("UPDATE users SET disabled = 1 WHERE id = $1", worker).await;
    assert_eq!(c.post_raw(path, &body(&key, 8)).await.status, StatusCode::FORBIDDEN, "a disabled account");
    assert_eq!(count().await, before + 1, "only the report sent while the account could take reports in");

    // A live token and a withdrawn one at the same moment.
    let (_, live) = token(w.field_coordinator).await;
    let (gone_id, gone) = token(w.field_coordinator).await;
    assert_eq!(c.post_raw(path, &body(&live, 9)).await.status, StatusCode::CREATED);
    assert_eq!(c.post_raw(path, &body(&gone, 10)).await.status, StatusCode::CREATED);
    veille_app::accounts::revoke_token(&other, &owner, &gone_id.to_string()).await.unwrap();
    let before = count().await;
    let (mut c1, mut c2, mut c3, mut c4) = (w.app.client(), w.app.client(), w.app.client(), w.app.client());
    let (b1, b2, b3, b4) = (body(&live, 11), body(&gone, 12), body(&live, 13), body(&gone, 14));
    let (r1, r2, r3, r4) = tokio::join!(c1.post_raw(path, &b1), c2.post_raw(path, &b2), c3.post_raw(path, &b3), c4.post_raw(path, &b4));
    assert_eq!([r1.status, r2.status, r3.status, r4.status], [StatusCode::CREATED, StatusCode::FORBIDDEN, StatusCode::CREATED, StatusCode::FORBIDDEN]);
    assert_eq!(count().await, before + 2);
}
