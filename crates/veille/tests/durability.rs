//! An acknowledged write survives a crash: the real `veille serve` takes
//! signalements from concurrent clients, is killed with SIGKILL at a random
//! moment, restarted on the same database, killed again…; at the end every
//! report whose creation was acknowledged (a 201 arrived) is in the database,
//! and the audit chain is intact. Runs on the engine under test
//! (VEILLE_TEST_DATABASE).
//!
//! The same for offline sync: phones send their batches while the server is
//! killed mid-batch and restarted; each phone sends again whatever had no
//! final reply, as the outbox does; at the end every operation is in exactly
//! one state, none lost and none applied twice.
//!
//! SIGKILL finds acknowledgement bugs (answering before the commit, writing
//! behind); it cannot simulate a power loss — the durability settings that
//! cover that are read back at start by `Db::check_durability`.
#![allow(clippy::disallowed_methods, reason = "tests and benchmarks set up and inspect databases with SQL of their own")]

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use veille_domain::{EmailAddress, Role, Timestamp};
use veille_storage::accounts::{self, NewAccount};
use veille_storage::{organisations, tokens, Db};

fn pg_admin_url() -> String {
    std::env::var("VEILLE_TEST_PG_URL").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

/// A fresh database URL, and the name of the PostgreSQL database to drop.
async fn fresh_database() -> (String, Option<String>, Option<std::path::PathBuf>) {
    if std::env::var("VEILLE_TEST_DATABASE").as_deref() == Ok("postgres") {
        let name = format!("veille_kill_{}", uuid::Uuid::now_v7().simple());
        let admin = Db::connect(&pg_admin_url()).await.unwrap();
        veille_storage::sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
        admin.close().await;
        (format!("{}/{name}", pg_admin_url().rsplit_once('/').unwrap().0), Some(name), None)
    } else {
        let dir = std::env::temp_dir().join(format!("veille-kill-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        (format!("sqlite://{}/veille.db", dir.display()), None, Some(dir))
    }
}

/// Creates an account of a coordinating organisation and a write-scope API
/// token for it; returns the token (the Open311 `api_key`).
async fn api_key(url: &str) -> String {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    let now = Timestamp::from_micros(chrono_now_micros());
    let mut tx = db.begin().await.unwrap();
    let org = organisations::create(&mut tx, "Coordination (test)", "city_service", true, now).await.unwrap();
    let user = accounts::create(
        &mut tx,
        &NewAccount {
            organisation: org.id,
            email: EmailAddress::parse("intake@exemple.fr").unwrap(),
            display_name: "Intake".into(),
            role: Role::Coordinator,
            password_hash: None,
            territories: None,
            field_groups: vec![],
            demo_account: false,
        },
        now,
    )
    .await
    .unwrap();
    let token = veille_web::security::random_token();
    tokens::create(&mut tx, user, "kill test", &veille_web::security::token_hash(&token), &["read", "write"], now, now.plus_seconds(86_400)).await.unwrap();
    tx.commit().await.unwrap();
    db.close().await;
    token
}

/// The audit chain's key, as an operator sets it (the same for every start and for the verification).
const AUDIT_KEY: &str = "a1a2a3a4a5a6a7a8a9b0b1b2b3b4b5b6b7b8b9c0c1c2c3c4c5c6c7c8c9d0d1d2";

fn chrono_now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64
}

/// Starts `veille serve` on a free port; returns the child and its address
/// once it prints that it is serving.
async fn start(url: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", url)
        .env("VEILLE_AUDIT_KEY", AUDIT_KEY)
        .env("VEILLE_FIELD_KEYS", "test:Xl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl4=")
        .env("VEILLE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = tokio::process::ChildStderr::from_std(child.stderr.take().unwrap()).unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(a) = line.strip_prefix("veille: http://") {
                return a.trim().to_owned();
            }
        }
        panic!("veille serve stopped before serving");
    })
    .await
    .expect("veille serve did not start within 60 s");
    // Keep draining its error output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// A POST over a fresh connection (`headers`: extra header lines, each
/// ending with CRLF): the status and the body as text, `None` when the
/// connection failed or was cut.
async fn post(addr: &str, path: &str, headers: &str, content_type: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.split(' ').nth(1)?.parse().ok()?, body.to_owned()))
}

/// One Open311 creation over a fresh connection; the reference when the
/// server acknowledged it (201), `None` for anything else (refused
/// connection, reset by the kill, other status).
async fn create_report(addr: &str, key: &str, n: u64) -> Option<String> {
    let body = serde_urlencoded::to_string([
        ("api_key", key),
        ("service_code", "veille_sociale"),
        ("lat", &format!("{:.5}", 48.85 + (n % 100) as f64 * 0.0003)),
        ("long", &format!("{:.5}", 2.35 + (n % 37) as f64 * 0.0004)),
        ("description", &format!("Situation de test numéro {n}, personne seule sous un porche.")),
        ("attribute[situation]", "person_in_distress"),
        ("attribute[adults]", "1"),
    ])
    .unwrap();
    let (status, body) = post(addr, "/open311/v2/requests.json", "", "application/x-www-form-urlencoded", &body).await?;
    if status != 201 {
        return None;
    }
    // The body may be chunked: take the JSON array wherever it starts.
    let json = &body[body.find('[')?..=body.rfind(']')?];
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value[0]["service_request_id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_report_survives_sigkill_of_the_server() {
    const CYCLES: usize = 5;
    const CLIENTS: u64 = 12;
    let (url, pg_name, dir) = fresh_database().await;
    let key = api_key(&url).await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut rng = rand::thread_rng();
    for cycle in 0..CYCLES {
        let (mut child, addr) = start(&url).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let (addr, key, ack, stop) = (addr.clone(), key.clone(), acknowledged.clone(), stop.clone());
            clients.push(tokio::spawn(async move {
                let mut n = (cycle as u64 * 1_000_000) + c * 10_000;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    if let Some(reference) = create_report(&addr, &key, n).await {
                        ack.lock().unwrap().push(reference);
                    }
                }
            }));
        }
        // Let the clients write for a while, then kill the server mid-stream.
        tokio::time::sleep(Duration::from_millis(rng.gen_range(400..1500))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for c in clients {
            c.await.unwrap();
        }
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 50, "too few acknowledged writes to mean anything: {}", acknowledged.len());

    // Restart once more (recovery runs), stop cleanly, then check.
    let (mut child, _) = start(&url).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let db = Db::connect(&url).await.unwrap();
    let mut lost = Vec::new();
    for reference in &acknowledged {
        if veille_storage::reports::public_by_reference(&db, reference).await.unwrap().is_none() {
            lost.push(reference.clone());
        }
    }
    db.close().await;
    assert!(lost.is_empty(), "{} of {} acknowledged reports lost after {CYCLES} kills: {lost:?}", lost.len(), acknowledged.len());

    let verify = Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &url)
        .env("VEILLE_AUDIT_KEY", AUDIT_KEY)
        .env("VEILLE_FIELD_KEYS", "test:Xl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl4=")
        .env("VEILLE_LOG", "warn")
        .output()
        .unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
    assert!(verify.status.success() && out.contains("intact"), "audit chain after the kills: {out}");
    eprintln!("{} acknowledged reports, none lost, audit chain intact, over {CYCLES} kills", acknowledged.len());

    if let Some(name) = pg_name {
        let admin = Db::connect(&pg_admin_url()).await.unwrap();
        let _ = veille_storage::sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
        admin.close().await;
    }
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A JSON POST with a bearer token over a fresh connection: the status and
/// the JSON answer, `None` when the connection failed or was cut.
async fn post_json(addr: &str, token: &str, path: &str, body: &serde_json::Value) -> Option<(u16, serde_json::Value)> {
    let (status, body) = post(addr, path, &format!("Authorization: Bearer {token}\r\n"), "application/json", &body.to_string()).await?;
    let json = serde_json::from_str(&body[body.find('{')?..=body.rfind('}')?]).ok()?;
    Some((status, json))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offline_operations_sent_across_sigkills_are_each_applied_once() {
    const PHONES: usize = 3;
    const OPS: usize = 150;
    const BATCH: usize = 50;
    let (url, pg_name, dir) = fresh_database().await;
    let token = api_key(&url).await;
    // Each phone's operations: encounters with one unidentified person, numbered.
    let phones: Vec<(String, Vec<serde_json::Value>)> = (0..PHONES)
        .map(|p| {
            let device = uuid::Uuid::now_v7().to_string();
            let ops = (1..=OPS)
                .map(|seq| {
                    serde_json::json!({"op_id": uuid::Uuid::now_v7().to_string(), "seq": seq, "kind": "encounter",
                        "encounter": {"actions": ["listening"], "unidentified_count": 1, "notes": format!("téléphone {p} envoi {seq}")}})
                })
                .collect();
            (device, ops)
        })
        .collect();
    // The final reply each operation got (the phone drops it then).
    let finals = Arc::new(Mutex::new(std::collections::HashMap::<String, serde_json::Value>::new()));
    let mut rng = rand::thread_rng();
    let mut cycles = 0;
    loop {
        let (mut child, addr) = start(&url).await;
        let mut senders = Vec::new();
        for (device, ops) in phones.clone() {
            let (addr, token, finals) = (addr.clone(), token.clone(), finals.clone());
            senders.push(tokio::spawn(async move {
                if post_json(&addr, &token, "/api/v1/sync/devices", &serde_json::json!({"device_id": device})).await.is_none() {
                    return;
                }
                // The outbox: what has no final reply yet, in sequence order, a batch at a time.
                loop {
                    let pending: Vec<serde_json::Value> =
                        ops.iter().filter(|o| !finals.lock().unwrap().contains_key(o["op_id"].as_str().unwrap())).take(BATCH).cloned().collect();
                    if pending.is_empty() {
                        return;
                    }
                    let Some((200, answer)) = post_json(&addr, &token, "/api/v1/sync/ops", &serde_json::json!({"device_id": device, "ops": pending})).await
                    else {
                        return; // the server is gone: the outbox keeps everything
                    };
                    let replies = answer["replies"].as_array().cloned().unwrap_or_default();
                    assert_eq!(replies.len(), pending.len(), "one reply per operation: {answer}");
                    for r in replies {
                        if r["state"] != "held" {
                            finals.lock().unwrap().insert(r["op_id"].as_str().unwrap().to_owned(), r);
                        }
                    }
                }
            }));
        }
        cycles += 1;
        let done = finals.lock().unwrap().len() == PHONES * OPS;
        if cycles <= 4 && !done {
            // Kill it while the phones are sending.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(150..900))).await;
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            for s in senders {
                s.await.unwrap();
            }
            continue;
        }
        for s in senders {
            s.await.unwrap();
        }
        // Every operation answered; the phones send everything once more (lost
        // acknowledgements): the same replies, nothing applied again.
        for (device, ops) in &phones {
            for chunk in ops.chunks(BATCH) {
                let (status, answer) = post_json(&addr, &token, "/api/v1/sync/ops", &serde_json::json!({"device_id": device, "ops": chunk})).await.unwrap();
                assert_eq!(status, 200, "{answer}");
                for r in answer["replies"].as_array().unwrap() {
                    assert_eq!(Some(r), finals.lock().unwrap().get(r["op_id"].as_str().unwrap()), "an operation answered differently on resend");
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        break;
    }
    let finals = finals.lock().unwrap().clone();
    assert_eq!(finals.len(), PHONES * OPS, "every operation has its final reply");
    assert!(finals.values().all(|r| r["state"] == "applied"), "{:?}", finals.values().find(|r| r["state"] != "applied"));
    let db = Db::connect(&url).await.unwrap();
    let count = |sql: &'static str| {
        let db = db.clone();
        async move { veille_storage::sqlx::query_scalar::<_, i64>(sql).fetch_one(db.pool()).await.unwrap() }
    };
    assert_eq!(count("SELECT COUNT(*) FROM encounters").await, (PHONES * OPS) as i64, "each operation applied once");
    assert_eq!(count("SELECT COUNT(*) FROM sync_ops WHERE state = 'applied'").await, (PHONES * OPS) as i64);
    assert_eq!(count("SELECT COUNT(*) FROM sync_ops WHERE payload IS NOT NULL").await, 0, "no body left held");
    db.close().await;
    eprintln!("{} operations from {PHONES} phones over {} kills: each applied once", PHONES * OPS, cycles - 1);
    if let Some(name) = pg_name {
        let admin = Db::connect(&pg_admin_url()).await.unwrap();
        let _ = veille_storage::sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
        admin.close().await;
    }
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
}
