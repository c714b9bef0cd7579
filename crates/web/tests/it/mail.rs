//! E-mail through a real SMTP server (aiosmtpd, started by the test).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use veille_domain::Role;
use veille_web::{Clock, Config};

use crate::helpers::*;

pub struct SmtpSink {
    /// The port it listens on.
    pub port: u16,
    child: Child,
    dir: tempdir::Dir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let python = format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
        assert!(std::path::Path::new(&python).exists(), "{python} is missing: run `bash scripts/install-deps.sh` (make test does) to install the SMTP sink");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempdir::Dir::new();
        let maildir = dir.0.join("maildir");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return SmtpSink { child, port, dir };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        panic!("SMTP sink did not start");
    }

    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.0.join("maildir").join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn decode(raw: &str) -> String {
    // Bodies may be quoted-printable or base64: undo both simply for assertions.
    let qp = raw.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::new();
    let bytes = qp.as_bytes();
    let mut i = 0;
    let mut buf = Vec::new();
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&qp[i + 1..i + 3], 16) {
                buf.push(b);
                i += 3;
                continue;
            }
        }
        buf.push(bytes[i]);
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&buf));
    out
}

#[tokio::test]
async fn password_reset_mail_reaches_the_smtp_server_and_the_link_works_once() {
    let sink = SmtpSink::start();
    let config = Config { smtp_host: "127.0.0.1".into(), smtp_port: sink.port, base_url: "https://veille.exemple.fr".into(), ..Config::default() };
    let app = TestApp::with_config(config).await;
    let org = app.org("Ville", true).await;
    let user = app.user(org, Role::Coordinator, "agent@exemple.fr", Some("ancienne phrase de passe"), None).await;
    let secret = app.enrol(user).await;
    let mut c = app.client();
    let r = c.post("/password/forgot", &[("email", "agent@exemple.fr")]).await;
    assert_eq!(r.status, StatusCode::OK);
    // Unknown addresses get the same answer and no mail.
    let r2 = c.post("/password/forgot", &[("email", "nobody@exemple.fr")]).await;
    assert_eq!(r2.status, StatusCode::OK);
    assert_eq!(veille_web::mail::send_due(&app.state).await.unwrap(), 1);
    let mails = sink.messages();
    assert_eq!(mails.len(), 1);
    let mail = decode(&mails[0]);
    assert!(mail.contains("agent@exemple.fr"));
    let link = mail.split("https://veille.exemple.fr").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert!(link.starts_with("/password/reset/"), "{link}");
    // A weak password is refused with the reason; a good one is saved.
    let r = c.post(&link, &[("password", "motdepasse")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("password-error"));
    let r = c.post(&link, &[("password", "une toute nouvelle phrase de passe")]).await;
    assert_eq!(r.location(), Some("/login"));
    assert_eq!(c.get(&link).await.status, StatusCode::NOT_FOUND, "the link works once");
    // The reset never bypasses the second factor.
    let r = c.post("/login", &[("email", "agent@exemple.fr"), ("password", "une toute nouvelle phrase de passe")]).await;
    assert_eq!(r.location(), Some("/login/second-factor"));
    assert_eq!(c.post("/login/second-factor", &[("code", &app.code(&secret))]).await.location(), Some("/"));
}

#[tokio::test]
async fn an_invitation_creates_an_account_that_must_enrol_a_second_factor() {
    let sink = SmtpSink::start();
    let config = Config { smtp_host: "127.0.0.1".into(), smtp_port: sink.port, ..Config::default() };
    let app = TestApp::with_config(config).await;
    let org = app.org("Maraude Nord", true).await;
    let admin = app.user(org, Role::OrgAdmin, "admin@exemple.fr", None, None).await;
    let mut c = app.session_for(admin, false).await;
    // Bad input keeps what was typed and says what to fix.
    let r = c.post(&format!("/organisations/{org}/invitations"), &[("email", "pas-une-adresse"), ("display_name", "Nina"), ("role", "field_worker")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("value=\"pas-une-adresse\"") && r.body.contains("value=\"Nina\""));
    // An organisation administrator cannot hand out instance administration.
    let r = c.post(&format!("/organisations/{org}/invitations"), &[("email", "nina@exemple.fr"), ("display_name", "Nina"), ("role", "instance_admin")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.post(&format!("/organisations/{org}/invitations"), &[("email", "nina@exemple.fr"), ("display_name", "Nina"), ("role", "field_worker")]).await;
    assert_eq!(r.status, StatusCode::OK);
    veille_web::mail::send_due(&app.state).await.unwrap();
    let mail = decode(&sink.messages()[0]);
    assert!(mail.contains("Maraude Nord"));
    let link = mail.split("http://127.0.0.1:8080").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let mut nina = app.client();
    assert_eq!(nina.get(&link).await.status, StatusCode::OK);
    let r = nina.post(&link, &[("password", "le canal saint-martin la nuit")]).await;
    assert_eq!(r.location(), Some("/enrol"));
    assert_eq!(nina.get("/").await.location(), Some("/login"), "no access before the second factor");
    assert_eq!(nina.get("/enrol").await.status, StatusCode::OK);
    assert_eq!(app.client().get(&link).await.status, StatusCode::NOT_FOUND, "an invitation works once");
}

/// The city deployment runs several instances of veille against one
/// database: their outbox workers, running at the same moment, send each
/// queued mail once.
#[tokio::test]
async fn two_instances_sharing_a_database_send_each_mail_once() {
    let sink = SmtpSink::start();
    let config = Config { smtp_host: "127.0.0.1".into(), smtp_port: sink.port, ..Config::default() };
    let app = TestApp::with_config(config.clone()).await;
    let other_db = veille_storage::Db::connect(&app.tdb.url).await.unwrap();
    let other = veille_web::AppState::new(
        other_db,
        Config { database_url: app.tdb.url.clone(), audit_key: app.state.config.audit_key.clone(), field_keys: app.state.config.field_keys.clone(), ..config },
        Clock::manual(t0()),
    )
    .await
    .unwrap();
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    for i in 0..40 {
        veille_storage::outbox::enqueue(&mut tx, &format!("destinataire{i}@exemple.fr"), &format!("Message {i}"), "Corps", now).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut sent = 0;
    for _ in 0..5 {
        let (a, b) = tokio::join!(veille_web::mail::send_due(&app.state), veille_web::mail::send_due(&other));
        sent += a.unwrap() + b.unwrap();
    }
    assert_eq!(sent, 40, "each mail claimed by one instance");
    let mut to: Vec<String> =
        sink.messages().iter().map(|m| decode(m).lines().find_map(|l| l.strip_prefix("To: ").map(str::to_owned)).unwrap_or_default()).collect();
    to.sort();
    to.dedup();
    assert_eq!(sink.messages().len(), 40, "no mail sent twice");
    assert_eq!(to.len(), 40, "every recipient reached");
    assert_eq!(veille_storage::outbox::pending_count(app.db()).await.unwrap(), 0);
    // A sent mail's body (one-time links) is not kept in the database.
    let kept: i64 = veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE body_text <> ''").fetch_one(app.db().pool()).await.unwrap();
    assert_eq!(kept, 0, "bodies forgotten once sent");
}

/// A reset ends the account's API tokens, and asking again and again for a
/// reset queues at most `RESETS_ALLOWED` mails (the same answer every time).
#[tokio::test]
async fn a_reset_revokes_api_tokens_and_reset_mails_are_throttled() {
    let app = TestApp::new().await;
    let org = app.org("Ville", true).await;
    let user = app.user(org, Role::Coordinator, "agent@exemple.fr", Some("ancienne phrase de passe"), None).await;
    let now = app.state.clock.now();
    let token = veille_web::security::random_token();
    let mut tx = app.db().begin().await.unwrap();
    veille_storage::tokens::create(&mut tx, user, "script", &veille_web::security::token_hash(&token), &["read"], now, now.plus_seconds(86_400)).await.unwrap();
    tx.commit().await.unwrap();
    let mut api = app.client();
    api.bearer = Some(token);
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::OK);
    let mut c = app.client();
    for _ in 0..16 {
        let r = c.post("/password/forgot", &[("email", "agent@exemple.fr")]).await;
        assert_eq!(r.status, StatusCode::OK, "the same answer every time");
    }
    let queued: i64 =
        veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE to_address = 'agent@exemple.fr'").fetch_one(app.db().pool()).await.unwrap();
    assert_eq!(queued, veille_app::login::RESETS_ALLOWED, "16 requests, {queued} mails");
    // Use one reset link: the API token stops working.
    let body: String = veille_storage::sqlx::query_scalar("SELECT body_text FROM outbox WHERE to_address = 'agent@exemple.fr' LIMIT 1")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    let link = body.split("/password/reset/").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let r = c.post(&format!("/password/reset/{link}"), &[("password", "une toute nouvelle phrase de passe")]).await;
    assert_eq!(r.location(), Some("/login"), "{}", r.body);
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "the token died with the old password");
    // An unknown address costs the same kind of committed write (an audit entry without the address), no mail.
    let audited = || async {
        veille_storage::sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE action = 'password_reset_requested'")
            .fetch_one(app.db().pool())
            .await
            .unwrap()
    };
    let before = audited().await;
    let mut other = app.client();
    other.ip = "10.9.9.9:5000".parse().unwrap();
    assert_eq!(other.post("/password/forgot", &[("email", "personne@exemple.fr")]).await.status, StatusCode::OK);
    assert_eq!(audited().await, before + 1);
    let mails: i64 =
        veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE to_address = 'personne@exemple.fr'").fetch_one(app.db().pool()).await.unwrap();
    assert_eq!(mails, 0);
}
