//! Offline sync, the server side (decision 90): devices, batches sent twice,
//! held gaps, conflicts between two devices, refusals kept. Both engines.

use axum::http::StatusCode;
use serde_json::{json, Value};
use veille_domain::{OrganisationId, Role, UserId};

use crate::helpers::*;

struct World {
    app: TestApp,
    coordinator: UserId,
    field: UserId,
    field_t1: UserId,
    person: String,
    site: String,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let a: OrganisationId = app.org("Organisation A", true).await;
    let t1 = app.two_square_territories().await;
    let coordinator = app.user(a, Role::Coordinator, "coord@a.exemple.fr", None, None).await;
    let field = app.user(a, Role::FieldWorker, "terrain@a.exemple.fr", None, None).await;
    let field_t1 = app.user(a, Role::FieldWorker, "t1@a.exemple.fr", None, Some(vec![t1])).await;
    let mut c = app.session_for(coordinator, false).await;
    let r = c.post_json("/api/v1/people", &json!({"pseudonym": "Hibou", "needs": ["food"], "duplicates_reviewed": true})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let person = r.json()["id"].as_str().unwrap().to_owned();
    let r = c.post_json("/api/v1/sites", &json!({"name": "Sous le pont", "kind": "camp", "lon": 2.05, "lat": 48.05})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let site = r.json()["id"].as_str().unwrap().to_owned();
    World { app, coordinator, field, field_t1, person, site }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A device registered for the client's account.
async fn device(c: &mut Client) -> String {
    let id = new_id();
    let r = c.post_json("/api/v1/sync/devices", &json!({"device_id": id})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["highest_seq"], 0);
    id
}

async fn send(c: &mut Client, device: &str, ops: &[Value]) -> Vec<Value> {
    let r = c.post_json("/api/v1/sync/ops", &json!({"device_id": device, "ops": ops})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["replies"].as_array().unwrap().clone()
}

fn states(replies: &[Value]) -> Vec<String> {
    replies.iter().map(|r| r["state"].as_str().unwrap().to_owned()).collect()
}

fn encounter(seq: i64, notes: &str) -> Value {
    json!({"op_id": new_id(), "seq": seq, "kind": "encounter", "encounter": {"actions": ["listening"], "unidentified_count": 2, "lat": 48.05, "lon": 2.05, "notes": notes}})
}

fn set(seq: i64, entity: &str, id: &str, field: &str, value: Value, base: Value) -> Value {
    json!({"op_id": new_id(), "seq": seq, "kind": "set", "set": {"entity": entity, "id": id, "field": field, "value": value, "base": base}})
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    veille_storage::sqlx::query_scalar::<_, i64>(sql).fetch_one(app.db().pool()).await.unwrap()
}

fn v0() -> Value {
    json!({"number": 0, "by": null})
}

#[tokio::test]
async fn a_batch_sent_twice_gets_the_same_replies_and_nothing_is_applied_twice() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let dev = device(&mut c).await;
    let first = encounter(1, "Rencontre hors ligne");
    let change = set(3, "person", &w.person, "pseudonym", json!("Chouette"), v0());
    let op_after = |n: i64| json!({"number": n, "by": change["op_id"]});
    let ops = vec![
        first.clone(),
        json!({"op_id": new_id(), "seq": 2, "kind": "observation", "site_id": w.site, "observation": {"people": 12, "atmosphere": "calm"}}),
        change.clone(),
        // Its own change is the base of its next one.
        set(4, "person", &w.person, "pseudonym", json!("Chouette hulotte"), op_after(1)),
        set(5, "person", &w.person, "needs", json!(["health_care"]), v0()),
        set(6, "site", &w.site, "name", json!("Sous le pont neuf"), v0()),
        set(7, "site", &w.site, "heatwave", json!("on"), v0()),
        // The value already there: nothing written.
        set(8, "site", &w.site, "heatwave", json!("on"), v0()),
        // A record that does not exist: refused and kept.
        set(9, "person", &uuid::Uuid::now_v7().to_string(), "pseudonym", json!("X"), v0()),
        set(10, "person", &w.person, "civil_family_name", json!("Dupont"), v0()),
    ];
    let replies = send(&mut c, &dev, &ops).await;
    assert_eq!(
        states(&replies),
        ["applied", "applied", "applied", "applied", "applied", "applied", "applied", "duplicate", "rejected", "rejected"],
        "{replies:?}"
    );
    assert_eq!(replies[8]["reason"], "not_found");
    assert_eq!(replies[9]["reason"], "unknown_field");
    // A lost acknowledgement: the phone sends the whole batch again.
    let again = send(&mut c, &dev, &ops).await;
    assert_eq!(again, replies);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM encounters").await, 1);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM site_observations").await, 1);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_ops").await, 10);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_ops WHERE payload IS NOT NULL").await, 0);
    let p = c.get(&format!("/api/v1/people/{}", w.person)).await.json();
    assert_eq!(p["pseudonym"], "Chouette hulotte", "{p}");
    let needs: Vec<&str> = p["needs"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(needs.len(), 2, "the union of food and health: {needs:?}");
    let s = c.get(&format!("/api/v1/sites/{}", w.site)).await.json();
    assert_eq!(s["site"]["name"], "Sous le pont neuf");
    assert_eq!(s["site"]["heatwave"], true);
    // The writes went through the pages' commands: audited, with their timeline.
    assert!(count(&w.app, "SELECT COUNT(*) FROM audit_log WHERE action = 'update' AND record_kind = 'person'").await >= 3);
    // A sequence number used again by another operation is refused.
    let reused = send(&mut c, &dev, &[encounter(2, "autre")]).await;
    assert_eq!(reused[0]["state"], "rejected");
    assert_eq!(reused[0]["reason"], "sequence_reused");
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM encounters").await, 1);
    // The OpenAPI document describes both routes.
    let doc = c.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"]["/sync/ops"].is_object() && doc["paths"]["/sync/devices"].is_object());
}

#[tokio::test]
async fn a_gap_is_held_then_applied_when_it_is_filled() {
    let w = world().await;
    let mut c = w.app.session_for(w.field, false).await;
    let dev = device(&mut c).await;
    let (one, mut two, three) = (encounter(1, "un"), encounter(2, "deux"), encounter(3, "trois"));
    // A new person met, created with the encounter once it is applied.
    two["encounter"]["new_person"] = json!({"pseudonym": "Rouge-gorge", "duplicates_reviewed": true});
    let held = send(&mut c, &dev, &[three.clone(), two.clone()]).await;
    assert_eq!(held[0], json!({"op_id": three["op_id"], "seq": 3, "state": "held", "missing": [[1, 2]]}));
    assert_eq!(held[1]["missing"], json!([[1, 1]]));
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM encounters").await, 0);
    // The held bodies are sealed at rest.
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_ops WHERE payload LIKE 'enc1:%'").await, 2);
    let again = send(&mut c, &dev, std::slice::from_ref(&three)).await;
    assert_eq!(again[0]["missing"], json!([[1, 1]]));
    let filled = send(&mut c, &dev, &[one]).await;
    assert_eq!(filled[0]["state"], "applied");
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM encounters").await, 3);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM people WHERE pseudonym = 'Rouge-gorge'").await, 1);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_ops WHERE payload IS NOT NULL").await, 0);
    let acks = send(&mut c, &dev, &[two, three]).await;
    assert_eq!(states(&acks), ["applied", "applied"]);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM encounters").await, 3);
    let r = c.post_json("/api/v1/sync/devices", &json!({"device_id": dev})).await;
    assert_eq!(r.json()["highest_seq"], 3);
}

#[tokio::test]
async fn two_devices_setting_one_field_from_the_same_base_give_one_applied_and_one_conflict() {
    let w = world().await;
    let mut a = w.app.session_for(w.coordinator, false).await;
    let mut b = w.app.session_for(w.field, false).await;
    let (da, db) = (device(&mut a).await, device(&mut b).await);
    let ra =
        send(&mut a, &da, &[set(1, "person", &w.person, "pseudonym", json!("Merle"), v0()), set(2, "person", &w.person, "needs", json!(["housing"]), v0())])
            .await;
    let rb = send(
        &mut b,
        &db,
        &[set(1, "person", &w.person, "pseudonym", json!("Moineau"), v0()), set(2, "person", &w.person, "needs", json!(["administrative"]), v0())],
    )
    .await;
    assert_eq!(states(&ra), ["applied", "applied"]);
    assert_eq!(states(&rb), ["conflict", "applied"], "a set-valued field merges: {rb:?}");
    let p = a.get(&format!("/api/v1/people/{}", w.person)).await.json();
    assert_eq!(p["pseudonym"], "Merle", "the current value stays");
    assert_eq!(p["needs"].as_array().unwrap().len(), 3);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_conflicts WHERE field = 'pseudonym' AND resolved_at IS NULL").await, 1);
    let proposed: String = veille_storage::sqlx::query_scalar("SELECT proposed_value FROM sync_conflicts").fetch_one(w.app.db().pool()).await.unwrap();
    assert_eq!(proposed, "\"Moineau\"");
    // The same base again from a third phone that saw nothing: a conflict too, never an overwrite.
    let mut c = w.app.session_for(w.coordinator, false).await;
    let dc = device(&mut c).await;
    let rc = send(&mut c, &dc, &[set(1, "person", &w.person, "pseudonym", json!("Pie"), v0())]).await;
    assert_eq!(states(&rc), ["conflict"]);
    // A page edit since the phone's base is a version no phone saw.
    let p = a.get(&format!("/api/v1/people/{}", w.person)).await.json();
    assert_eq!(p["pseudonym"], "Merle");
}

#[tokio::test]
async fn an_operation_the_account_may_no_longer_do_is_rejected_and_kept() {
    let w = world().await;
    let mut c = w.app.session_for(w.field_t1, false).await;
    let dev = device(&mut c).await;
    // A site gone (or never readable), and a correction of a place (coordinators only).
    let ops = [
        json!({"op_id": new_id(), "seq": 1, "kind": "observation", "site_id": uuid::Uuid::now_v7().to_string(), "observation": {"people": 3}}),
        set(2, "site", &w.site, "name", json!("Autre nom"), v0()),
        json!({"op_id": new_id(), "seq": 3, "kind": "encounter", "encounter": {"actions": ["not-an-action"]}}),
        json!({"op_id": new_id(), "seq": 4, "kind": "teleport"}),
    ];
    let replies = send(&mut c, &dev, &ops).await;
    assert_eq!(states(&replies), ["rejected", "rejected", "rejected", "rejected"], "{replies:?}");
    assert_eq!(replies[0]["reason"], "not_found");
    assert_eq!(replies[1]["reason"], "forbidden");
    assert_eq!(replies[2]["reason"], "invalid");
    assert_eq!(replies[3]["reason"], "invalid");
    assert_eq!(send(&mut c, &dev, &ops).await, replies);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_ops WHERE state = 'rejected'").await, 4);
    // Another account's device is not this one's.
    let mut other = w.app.session_for(w.coordinator, false).await;
    let r = other.post_json("/api/v1/sync/ops", &json!({"device_id": dev, "ops": [encounter(5, "x")]})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = other.post_json("/api/v1/sync/devices", &json!({"device_id": dev})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // More than 200 operations in one request: refused whole.
    let many: Vec<Value> = (1..=201).map(|i| encounter(100 + i, "x")).collect();
    let r = c.post_json("/api/v1/sync/ops", &json!({"device_id": dev, "ops": many})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["ops"].as_str().unwrap().contains("200 au plus"), "{}", r.body);
    // A device id that is not one: the field and what to fix.
    let r = c.post_json("/api/v1/sync/devices", &json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["error"]["fields"]["device_id"].as_str().unwrap().contains("UUID"), "{}", r.body);
}

#[tokio::test]
async fn a_coordinator_resolves_conflicts_from_the_queue_audited() {
    let w = world().await;
    let mut a = w.app.session_for(w.coordinator, false).await;
    let mut b = w.app.session_for(w.field, false).await;
    let (da, db, da2) = (device(&mut a).await, device(&mut b).await, device(&mut a).await);
    send(&mut a, &da, &[set(1, "person", &w.person, "pseudonym", json!("Merle"), v0()), set(2, "site", &w.site, "name", json!("Pont A"), v0())]).await;
    let rb = send(&mut b, &db, &[set(1, "person", &w.person, "pseudonym", json!("Moineau"), v0())]).await;
    let ra2 = send(&mut a, &da2, &[set(1, "site", &w.site, "name", json!("Pont B"), v0())]).await;
    assert_eq!(states(&rb), ["conflict"]);
    assert_eq!(states(&ra2), ["conflict"]);
    // A badge on each record.
    let file = a.get(&format!("/people/{}", w.person)).await;
    assert!(file.body.contains("1 conflit à résoudre"), "{}", file.body);
    assert!(a.get(&format!("/sites/{}", w.site)).await.body.contains("1 conflit à résoudre"));
    // The field worker does not reach the queue.
    assert_eq!(b.get("/sync/conflicts").await.status, StatusCode::FORBIDDEN);
    let page = a.get("/sync/conflicts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("2 conflits en attente"), "{}", page.body);
    assert!(page.body.contains("Moineau") && page.body.contains("Merle") && page.body.contains("Pont B"));
    let ids: Vec<String> = veille_storage::sqlx::query_scalar("SELECT id FROM sync_conflicts ORDER BY field").fetch_all(w.app.db().pool()).await.unwrap();
    // name (site) first, then pseudonym (person).
    let csrf = a.csrf().await;
    let r = a.post(&format!("/sync/conflicts/{}", ids[1]), &[("csrf", &csrf), ("choice", "keep_proposed")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = a.post(&format!("/sync/conflicts/{}", ids[0]), &[("csrf", &csrf), ("choice", "new_value"), ("value", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Saisissez une valeur valable"));
    let r = a.post(&format!("/sync/conflicts/{}", ids[0]), &[("csrf", &csrf), ("choice", "new_value"), ("value", "Pont du canal")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = a.get(&format!("/api/v1/people/{}", w.person)).await.json();
    assert_eq!(p["pseudonym"], "Moineau");
    let s = a.get(&format!("/api/v1/sites/{}", w.site)).await.json();
    assert_eq!(s["site"]["name"], "Pont du canal");
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_conflicts WHERE resolved_at IS NULL").await, 0);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM audit_log WHERE action = 'resolve'").await, 2);
    assert!(a.get("/sync/conflicts").await.body.contains("Aucun conflit en attente."));
    assert!(!a.get(&format!("/people/{}", w.person)).await.body.contains("sync-conflicts-badge"));
    // A phone that saw neither value now conflicts with the coordinator's choice.
    let rc = send(&mut b, &db, &[set(2, "person", &w.person, "pseudonym", json!("Geai"), json!({"number": 1, "by": rb[0]["op_id"]}))]).await;
    assert_eq!(states(&rc), ["conflict"]);
}

#[tokio::test]
async fn coordinators_see_held_gaps_and_revoke_a_lost_phone() {
    let w = world().await;
    let mut coord = w.app.session_for(w.coordinator, false).await;
    let mut field = w.app.session_for(w.field, false).await;
    let (mine, lost) = (device(&mut coord).await, device(&mut field).await);
    // The field worker's phone sent its third operation; the first two are still on it.
    let held = send(&mut field, &lost, &[encounter(3, "trois")]).await;
    assert_eq!(states(&held), ["held"]);
    let short = |id: &str| id[id.len() - 6..].to_owned();
    // The coordinator sees both devices, and the gap to ask about.
    let page = coord.get("/sync/devices").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("2 appareils"), "{}", page.body);
    let row = page.body.split(&format!("id=\"device-{lost}\"")).nth(1).unwrap().split("</tr>").next().unwrap().to_owned();
    assert!(row.contains("1 envoi en attente") && row.contains("manquent les n° 1–2"), "{row}");
    // The field worker sees their own only, and cannot revoke another's.
    let own = field.get("/sync/devices").await;
    assert!(own.body.contains(&short(&lost)) && !own.body.contains(&short(&mine)), "{}", own.body);
    let csrf = field.csrf().await;
    assert_eq!(field.post(&format!("/sync/devices/{mine}/revoke"), &[("csrf", &csrf)]).await.status, StatusCode::NOT_FOUND);
    // The phone is lost: the coordinator revokes it, audited.
    let csrf = coord.csrf().await;
    let r = coord.post(&format!("/sync/devices/{lost}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM audit_log WHERE action = 'revoke' AND record_kind = 'sync_device'").await, 1);
    assert!(coord.get("/sync/devices").await.body.contains("Révoqué le"));
    // Nothing more is taken from it; told so when it registers again (it wipes what it holds).
    let after = send(&mut field, &lost, &[encounter(1, "un")]).await;
    assert_eq!(after[0]["reason"], "device_revoked", "{after:?}");
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM encounters").await, 0);
    let r = field.post_json("/api/v1/sync/devices", &json!({"device_id": lost})).await;
    assert_eq!(r.json()["revoked"], true, "{}", r.body);
    // Revoking it again changes nothing.
    assert_eq!(coord.post(&format!("/sync/devices/{lost}/revoke"), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM audit_log WHERE action = 'revoke' AND record_kind = 'sync_device'").await, 1);
}

#[tokio::test]
async fn a_change_to_a_site_closed_while_the_phone_was_offline_waits_for_a_coordinator() {
    let w = world().await;
    let mut field = w.app.session_for(w.field, false).await;
    let dev = device(&mut field).await;
    // While the phone is offline, the coordinator closes the site.
    let mut c = w.app.session_for(w.coordinator, false).await;
    let r = c.post(&format!("/sites/{}/close", w.site), &[("reason", "evacuation"), ("version", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Back online: what was seen there is a fact and is kept; the heatwave watch waits for a person.
    let replies = send(
        &mut field,
        &dev,
        &[
            json!({"op_id": new_id(), "seq": 1, "kind": "observation", "site_id": w.site, "observation": {"people": 4, "atmosphere": "calm"}}),
            set(2, "site", &w.site, "heatwave", json!("on"), v0()),
        ],
    )
    .await;
    assert_eq!(states(&replies), ["applied", "conflict"], "{replies:?}");
    let s = c.get(&format!("/api/v1/sites/{}", w.site)).await.json();
    assert_eq!(s["site"]["heatwave"], false, "the closed site is left as it is until a person decides");
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM site_observations").await, 1);
    let page = c.get("/sync/conflicts").await;
    assert!(page.body.contains("1 conflit en attente") && page.body.contains("veille canicule"), "{}", page.body);
}

#[tokio::test]
async fn an_attachment_is_uploaded_by_its_hash_and_an_operation_waits_for_it() {
    use sha2::Digest;
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let dev = device(&mut c).await;
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let sha = hex::encode(sha2::Sha256::digest(&pdf));
    let entry = |seq: i64, body: &str, sha: &str| {
        json!({"op_id": new_id(), "seq": seq, "kind": "log_entry", "book_kind": "site", "book_id": w.site,
            "entry": {"category": "information", "body": body}, "attachment": {"sha256": sha, "name": "arrete.pdf"}})
    };
    let put = |bytes: Vec<u8>, sha: String| {
        axum::http::Request::put(format!("/api/v1/blobs/{sha}")).header("content-type", "application/octet-stream").body(axum::body::Body::from(bytes)).unwrap()
    };
    // The entry arrives before its attachment: nothing recorded, the number not used; the next one waits behind it.
    let first = entry(1, "Arrêté affiché sur le site", &sha);
    let replies = send(&mut c, &dev, &[first.clone(), encounter(2, "deux")]).await;
    assert_eq!(replies[0], json!({"op_id": first["op_id"], "seq": 1, "state": "missing_attachment", "blobs": [sha]}));
    assert_eq!(replies[1]["state"], "held");
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_ops WHERE seq = 1").await, 0);
    // Bytes that do not match their hash are refused with the reason.
    let r = c.send(put(b"%PDF-1.4 autre".to_vec(), sha.clone())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("empreinte"), "{}", r.body);
    assert_eq!(c.send(put(pdf.clone(), "pas-une-empreinte".into())).await.status, StatusCode::NOT_FOUND);
    // Uploaded; sent again, nothing changes.
    let r = c.send(put(pdf.clone(), sha.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["content_type"], "application/pdf");
    assert_eq!(c.send(put(pdf.clone(), sha.clone())).await.status, StatusCode::OK);
    // The phone sends the entry again: written with its attachment, and the held encounter after it.
    let again = send(&mut c, &dev, &[first]).await;
    assert_eq!(states(&again), ["applied"], "{again:?}");
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM log_entries WHERE attachment_data IS NOT NULL").await, 1);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM encounters").await, 1);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_blobs").await, 0, "the attachment is copied into its entry");
    // Held behind a gap, then next in line without its attachment: it waits, then goes once it arrives.
    let other = b"%PDF-1.4\n% deuxieme\n%%EOF\n".to_vec();
    let other_sha = hex::encode(sha2::Sha256::digest(&other));
    let late = entry(4, "Deuxième pièce", &other_sha);
    assert_eq!(states(&send(&mut c, &dev, std::slice::from_ref(&late)).await), ["held"]);
    assert_eq!(states(&send(&mut c, &dev, &[encounter(3, "trois")]).await), ["applied"]);
    let waiting = send(&mut c, &dev, std::slice::from_ref(&late)).await;
    assert_eq!(waiting[0]["state"], "missing_attachment", "{waiting:?}");
    assert_eq!(c.send(put(other, other_sha)).await.status, StatusCode::CREATED);
    assert_eq!(states(&send(&mut c, &dev, &[late]).await), ["applied"]);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM log_entries").await, 2);
    // An attachment no operation names is deleted by the retention run after seven days.
    let unused = b"%PDF-1.4\n% jamais utilise\n%%EOF\n".to_vec();
    let unused_sha = hex::encode(sha2::Sha256::digest(&unused));
    assert_eq!(c.send(put(unused, unused_sha)).await.status, StatusCode::CREATED);
    w.app.state.clock.advance_seconds(6 * 86_400);
    assert_eq!(veille_app::rights::run_as_instance(&w.app.state).await.unwrap().unused_attachments, 0);
    w.app.state.clock.advance_seconds(2 * 86_400);
    assert_eq!(veille_app::rights::run_as_instance(&w.app.state).await.unwrap().unused_attachments, 1);
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_blobs").await, 0);
}

/// A small seeded generator (xorshift64*): schedules that can be replayed from their seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Random delivery schedules through the endpoint and the database, on the
/// engine under test (the pure rules take 10,000 schedules in
/// `veille_domain::sync::tests`; here each operation is a real transaction):
/// 2–5 devices of up to 14 operations — encounters, a pseudonym every device
/// changes from the same base, needs added — sent in random batches, out of
/// order (a later number first: held), with lost acknowledgements (the batch
/// sent again) and operations already answered sent again. At the end every
/// operation has one final answer, given again identically on a resend; each
/// encounter is recorded once; the pseudonym holds one device's value and the
/// others wait as conflicts; the needs are the union of what was added.
#[tokio::test]
async fn random_delivery_schedules_through_the_database_lose_nothing_and_apply_nothing_twice() {
    let w = world().await;
    let mut c = w.app.session_for(w.coordinator, false).await;
    let schedules: u64 = std::env::var("VEILLE_SYNC_SCHEDULES").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let needs = ["food", "health_care", "hygiene", "clothing", "shelter", "administrative"];
    // What the schedules went through, so that the test is known to cover it.
    let (mut held, mut lost, mut resent, mut conflicts_seen) = (0, 0, 0, 0);
    for seed in 1..=schedules {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let r = c.post_json("/api/v1/people", &json!({"pseudonym": format!("Calendrier {seed}"), "needs": ["food"], "duplicates_reviewed": true})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let person = r.json()["id"].as_str().unwrap().to_owned();
        // Each device's operations, in its own order.
        let n_dev = 2 + rng.below(4);
        let mut devices: Vec<(String, Vec<Value>)> = Vec::new();
        let mut added = std::collections::BTreeSet::from(["food".to_owned()]);
        let (mut facts, mut pseudonyms) = (Vec::new(), Vec::new());
        for d in 0..n_dev {
            let dev = device(&mut c).await;
            let n_ops = 1 + rng.below(14);
            let mut ops = Vec::new();
            for i in 1..=n_ops as i64 {
                let op = match rng.below(6) {
                    0 if pseudonyms.iter().all(|(dd, _)| *dd != d) => {
                        let value = format!("Calendrier {seed} appareil {d}");
                        pseudonyms.push((d, value.clone()));
                        set(i, "person", &person, "pseudonym", json!(value), v0())
                    }
                    1 => {
                        let code = needs[rng.below(needs.len())];
                        added.insert(code.to_owned());
                        set(i, "person", &person, "needs", json!([code]), v0())
                    }
                    _ => {
                        let marker = format!("calendrier {seed} appareil {d} n° {i}");
                        facts.push(marker.clone());
                        encounter(i, &marker)
                    }
                };
                ops.push(op);
            }
            devices.push((dev, ops));
        }
        // Deliveries: random batches of what has no final answer yet (and,
        // now and then, of what had one), shuffled; some answers lost.
        let mut answered: Vec<std::collections::HashMap<String, Value>> = vec![Default::default(); n_dev];
        let mut rounds = 0;
        while answered.iter().zip(&devices).any(|(a, (_, ops))| a.len() < ops.len()) {
            rounds += 1;
            assert!(rounds < 400, "seed {seed}: the schedule ends");
            let d = rng.below(n_dev);
            let (dev, ops) = &devices[d];
            let mut batch: Vec<Value> = Vec::new();
            for o in ops {
                let open = !answered[d].contains_key(o["op_id"].as_str().unwrap());
                if rounds > 200 || ((open || rng.chance(10)) && rng.chance(60)) {
                    batch.push(o.clone());
                }
            }
            if batch.is_empty() {
                continue;
            }
            for i in (1..batch.len()).rev() {
                batch.swap(i, rng.below(i + 1));
            }
            let replies = send(&mut c, dev, &batch).await;
            assert_eq!(replies.len(), batch.len());
            resent += batch.iter().filter(|o| answered[d].contains_key(o["op_id"].as_str().unwrap())).count();
            held += replies.iter().filter(|r| r["state"] == "held").count();
            if rng.chance(20) {
                lost += 1;
                continue; // the answer never reached the phone
            }
            for (op, reply) in batch.iter().zip(replies) {
                let id = op["op_id"].as_str().unwrap().to_owned();
                match reply["state"].as_str().unwrap() {
                    "held" => assert!(!answered[d].contains_key(&id), "seed {seed}: a final answer is never taken back"),
                    _ => {
                        if let Some(before) = answered[d].get(&id) {
                            assert_eq!(before, &reply, "seed {seed}: an operation sent again is answered the same");
                        }
                        answered[d].insert(id, reply);
                    }
                }
            }
        }
        // Everything once more, in order: the same answers.
        for (d, (dev, ops)) in devices.iter().enumerate() {
            let again = send(&mut c, dev, ops).await;
            for (op, reply) in ops.iter().zip(again) {
                assert_eq!(answered[d][op["op_id"].as_str().unwrap()], reply, "seed {seed}");
            }
        }
        let all: Vec<&Value> = answered.iter().flat_map(|a| a.values()).collect();
        assert!(all.iter().all(|r| r["state"] != "rejected"), "seed {seed}: nothing refused: {all:?}");
        // Each encounter once.
        for marker in &facts {
            let n = count(&w.app, &format!("SELECT COUNT(*) FROM encounters WHERE notes = '{marker}'")).await;
            assert_eq!(n, 1, "seed {seed}: {marker} recorded once");
        }
        // The pseudonym: one device's value; the others wait as conflicts.
        let p = c.get(&format!("/api/v1/people/{person}")).await.json();
        if pseudonyms.is_empty() {
            assert_eq!(p["pseudonym"], format!("Calendrier {seed}"));
        } else {
            assert!(pseudonyms.iter().any(|(_, v)| p["pseudonym"] == *v), "seed {seed}: {p}");
            let conflicts = all.iter().filter(|r| r["state"] == "conflict").count();
            assert_eq!(conflicts, pseudonyms.len() - 1, "seed {seed}: every other value waits as a conflict");
            conflicts_seen += conflicts;
        }
        let have: std::collections::BTreeSet<String> = p["needs"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_owned()).collect();
        assert_eq!(have, added, "seed {seed}: the needs are the union of what was added");
    }
    assert_eq!(count(&w.app, "SELECT COUNT(*) FROM sync_ops WHERE payload IS NOT NULL").await, 0, "no held body left");
    eprintln!("{schedules} schedules: {held} held answers, {lost} answers lost, {resent} operations sent again, {conflicts_seen} conflicts");
    assert!(held > 0 && lost > 0 && resent > 0 && conflicts_seen > 0, "the schedules cover gaps, lost answers, resends and conflicts");
}
