//! Test harness: the real application in process, on a fresh database per test
//! (SQLite file or a new PostgreSQL database, chosen by VEILLE_TEST_DATABASE),
//! with a manual clock.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use veille_domain::{EmailAddress, OrganisationId, Role, TerritoryId, Timestamp, UserId};
use veille_storage::accounts::{self, NewAccount};
use veille_storage::{organisations, sessions, Db};
use veille_web::{security, AppState, Clock, Config};

/// Which engine the suite runs on.
pub fn engine() -> String {
    std::env::var("VEILLE_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

/// A fresh, migrated database; dropped (PostgreSQL) or deleted (SQLite) at the end.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempdir::Dir>,
}

pub mod tempdir {
    /// A temporary directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("veille-test-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn pg_admin_url() -> String {
    std::env::var("VEILLE_TEST_PG_URL").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

impl TestDb {
    pub async fn new() -> Self {
        let t = Self::unmigrated().await;
        t.db.migrate().await.unwrap();
        t
    }

    /// A fresh database with no migration applied (tests of data migrations).
    pub async fn unmigrated() -> Self {
        match engine().as_str() {
            "postgres" => {
                let name = format!("veille_t_{}", uuid::Uuid::now_v7().simple());
                let admin = Db::connect(&pg_admin_url()).await.expect("PostgreSQL on 127.0.0.1:5432");
                veille_storage::sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
                admin.close().await;
                let base = pg_admin_url();
                let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
                let db = Db::connect(&url).await.unwrap();
                TestDb { db, url, pg_name: Some(name), _dir: None }
            }
            _ => {
                let dir = tempdir::Dir::new();
                let url = format!("sqlite://{}/veille.db", dir.0.display());
                let db = Db::connect(&url).await.unwrap();
                TestDb { db, url, pg_name: None, _dir: Some(dir) }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs inside the test's runtime: do the async clean-up on a
            // thread of its own, with its own connection; FORCE ends the test's
            // connections (waiting for them here would block the runtime they need).
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    if let Ok(admin) = Db::connect(&pg_admin_url()).await {
                        let _ = veille_storage::sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
                        admin.close().await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// The application in process.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub tdb: TestDb,
}

/// A start instant for the manual clock.
pub fn t0() -> Timestamp {
    Timestamp::from_micros(1_795_000_000_000_000)
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(mut config: Config) -> Self {
        let tdb = TestDb::new().await;
        config.secure_cookies = Some(true);
        config.database_url = tdb.url.clone();
        // The audit chain's key, as an operator sets it (no key file written by the tests).
        if config.audit_key.is_empty() {
            config.audit_key = hex::encode(rand::random::<[u8; 32]>());
        }
        // The field keys likewise (no key file written by the tests).
        if config.field_keys.is_empty() {
            config.field_keys = veille_storage::field_keys::KeyRing::new_key_line(None, 1);
        }
        let state = AppState::new(tdb.db.clone(), config, Clock::manual(t0())).await.unwrap();
        let router = veille_web::app(state.clone());
        TestApp { state, router, tdb }
    }

    pub fn db(&self) -> &Db {
        &self.tdb.db
    }

    /// A second instance against the same database (its own pool and caches,
    /// the same configuration, audit key and clock), as the city deployment runs.
    pub async fn second_instance(&self) -> AppState {
        let db = Db::connect(&self.tdb.url).await.unwrap();
        AppState::new(db, (*self.state.config).clone(), self.state.clock.clone()).await.unwrap()
    }

    /// A client of another instance's router (see [`TestApp::second_instance`]).
    pub fn client_of(&self, state: &AppState) -> Client {
        Client { router: veille_web::app(state.clone()), ..self.client() }
    }

    pub fn client(&self) -> Client {
        Client { router: self.router.clone(), cookies: HashMap::new(), ip: "10.1.1.1:5000".parse().unwrap(), bearer: None, forwarded_for: None }
    }

    pub async fn org(&self, name: &str, coordinating: bool) -> OrganisationId {
        let mut tx = self.db().begin().await.unwrap();
        let o = organisations::create(&mut tx, name, "association", coordinating, self.state.clock.now()).await.unwrap();
        tx.commit().await.unwrap();
        o.id
    }

    /// Two small square territories, T1 and T2, side by side near Paris; returns T1.
    pub async fn two_square_territories(&self) -> TerritoryId {
        let square = |x: f64| {
            veille_geo::geometry_to_geojson(&veille_geo::geo::MultiPolygon::new(vec![veille_geo::geo::Polygon::new(
                vec![(x, 48.0), (x + 0.1, 48.0), (x + 0.1, 48.1), (x, 48.1), (x, 48.0)].into(),
                vec![],
            )]))
        };
        let mut tx = self.db().begin().await.unwrap();
        veille_storage::territories::upsert(
            &mut tx,
            &[("T1".into(), "Un".into(), square(2.0), [2.0, 48.0, 2.1, 48.1]), ("T2".into(), "Deux".into(), square(2.2), [2.2, 48.0, 2.3, 48.1])],
            self.state.clock.now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        veille_storage::territories::id_by_code(self.db(), "T1").await.unwrap().unwrap()
    }

    /// An account; `password` set means a real argon2 hash (slow), otherwise none.
    pub async fn user(&self, org: OrganisationId, role: Role, email: &str, password: Option<&str>, territories: Option<Vec<TerritoryId>>) -> UserId {
        let mut tx = self.db().begin().await.unwrap();
        let id = accounts::create(
            &mut tx,
            &NewAccount {
                organisation: org,
                email: EmailAddress::parse(email).unwrap(),
                display_name: format!("Test {}", role.code()),
                role,
                password_hash: password.map(|p| security::hash_password(p).unwrap()),
                territories,
                field_groups: role.default_field_groups().to_vec(),
                demo_account: false,
            },
            self.state.clock.now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// A client holding a session for `user` (second factor done unless `pending`).
    pub async fn session_for(&self, user: UserId, pending: bool) -> Client {
        let token = security::random_token();
        let now = self.state.clock.now();
        let mut tx = self.db().begin().await.unwrap();
        sessions::create(&mut tx, &security::token_hash(&token), user, !pending, &security::random_token(), now, now.plus_seconds(3600 * 12)).await.unwrap();
        tx.commit().await.unwrap();
        let mut c = self.client();
        c.cookies.insert("__Host-veille_session".into(), token);
        c
    }

    /// Enables TOTP for an account with a known secret.
    pub async fn enrol(&self, user: UserId) -> String {
        let secret = security::totp::new_secret();
        let mut tx = self.db().begin().await.unwrap();
        accounts::set_pending_totp(&mut tx, user, &secret).await.unwrap();
        accounts::enable_totp(&mut tx, user, 0, &[]).await.unwrap();
        tx.commit().await.unwrap();
        secret
    }

    /// The current TOTP code of a secret at the manual clock.
    pub fn code(&self, secret: &str) -> String {
        let step = security::totp::step_of(self.state.clock.now().as_micros() / 1_000_000);
        security::totp::code_at(secret, step)
    }
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    /// The body as received (a PDF…).
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A browser-like client that keeps cookies and fills the anti-forgery field.
#[derive(Clone)]
pub struct Client {
    router: Router,
    pub cookies: HashMap<String, String>,
    pub ip: SocketAddr,
    pub bearer: Option<String>,
    /// An `X-Forwarded-For` header sent with every request (a client behind a reverse proxy).
    pub forwarded_for: Option<String>,
}

impl Client {
    pub async fn send(&mut self, mut req: Request<Body>) -> Resp {
        req.extensions_mut().insert(ConnectInfo(self.ip));
        if !self.cookies.is_empty() {
            let c: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req.headers_mut().insert("cookie", c.join("; ").parse().unwrap());
        }
        if let Some(b) = &self.bearer {
            req.headers_mut().insert("authorization", format!("Bearer {b}").parse().unwrap());
        }
        if let Some(f) = &self.forwarded_for {
            req.headers_mut().insert("x-forwarded-for", f.parse().unwrap());
        }
        let resp = self.router.clone().oneshot(req).await.unwrap();
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes: bytes.to_vec() }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    pub async fn csrf(&mut self) -> String {
        if !self.cookies.contains_key("__Host-veille_csrf") {
            // The token comes with a page (the forms that carry it).
            self.get("/login").await;
        }
        self.cookies["__Host-veille_csrf"].clone()
    }

    /// Posts a form with the anti-forgery field filled in.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let body = serde_urlencoded::to_string(&all).unwrap();
        self.send(Request::post(path).header("content-type", "application/x-www-form-urlencoded").body(Body::from(body)).unwrap()).await
    }

    /// Posts a JSON body (the API: no anti-forgery field, the content type protects it).
    pub async fn post_json(&mut self, path: &str, body: &serde_json::Value) -> Resp {
        self.send(Request::post(path).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap()).await
    }

    /// Posts a multipart form (the anti-forgery field first, then `fields`,
    /// then `files` as (field, file name, content)).
    pub async fn multipart(&mut self, path: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Resp {
        let csrf = self.csrf().await;
        let boundary = "veille-test-boundary-7d1f";
        let mut body: Vec<u8> = Vec::new();
        for (name, value) in std::iter::once(&("csrf", csrf.as_str())).chain(fields.iter()) {
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
        }
        for (name, file, content) in files {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(content);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").as_bytes());
        self.send(Request::post(path).header("content-type", format!("multipart/form-data; boundary={boundary}")).body(Body::from(body)).unwrap()).await
    }

    /// Sends a GET with extra headers.
    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    /// Posts a form without the anti-forgery field.
    pub async fn post_raw(&mut self, path: &str, body: &str) -> Resp {
        self.send(Request::post(path).header("content-type", "application/x-www-form-urlencoded").body(Body::from(body.to_owned())).unwrap()).await
    }

    /// Posts a `multipart/form-data` form (the anti-forgery field filled in),
    /// with an optional file part (`name`, file name, bytes).
    pub async fn post_multipart(&mut self, path: &str, fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> Resp {
        let csrf = self.csrf().await;
        let boundary = "----veille-test-boundary-7Hq2";
        let mut body: Vec<u8> = Vec::new();
        let mut part = |name: &str, filename: Option<&str>, bytes: &[u8]| {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
            if let Some(f) = filename {
                body.extend_from_slice(format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes());
            }
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        };
        part("csrf", None, csrf.as_bytes());
        for (k, v) in fields {
            part(k, None, v.as_bytes());
        }
        if let Some((name, filename, bytes)) = file {
            part(name, Some(filename), bytes);
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(Request::post(path).header("content-type", format!("multipart/form-data; boundary={boundary}")).body(Body::from(body)).unwrap()).await
    }
}

/// Every record, for assertions about what was stored (tests read the
/// database as the instance does).
pub fn everything() -> veille_storage::Scope {
    veille_storage::Scope::instance("test assertions")
}

/// The timeline of a report.
pub async fn report_events(db: &Db, id: veille_domain::ReportId) -> Result<Vec<veille_storage::timeline::Event>, veille_storage::StorageError> {
    veille_storage::timeline::of(db, veille_domain::records::RecordKind::Report, id).await
}

/// A report by its reference.
pub async fn report_by_reference(db: &Db, reference: &str) -> Result<Option<veille_storage::reports::Report>, veille_storage::StorageError> {
    Ok(veille_storage::reports::list(db, &everything(), &Default::default(), i64::MAX).await?.into_iter().find(|r| r.reference == reference))
}

/// The text of a PDF, as pypdf (in .venv) extracts it: what a reader copies or searches.
pub fn pdf_text(pdf: &[u8]) -> String {
    let python = format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    assert!(std::path::Path::new(&python).exists(), "{python} is missing: run `bash scripts/install-deps.sh`");
    let dir = tempdir::Dir::new();
    let file = dir.0.join("document.pdf");
    std::fs::write(&file, pdf).unwrap();
    let script = "import sys, pypdf\nr = pypdf.PdfReader(sys.argv[1])\nprint('\\n'.join(p.extract_text() for p in r.pages))";
    let out = std::process::Command::new(python).arg("-c").arg(script).arg(&file).output().unwrap();
    assert!(out.status.success(), "pypdf: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
