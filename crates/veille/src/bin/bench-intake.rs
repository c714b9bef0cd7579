//! Benchmark of signalement intake (issue 5: "measured, not claimed").
//!
//! For each engine (SQLite in a temporary file, PostgreSQL in a fresh database
//! dropped afterwards) it serves the real application on a loopback port with
//! the demo data set, then measures side by side:
//!
//! 1. closed-loop throughput of `POST /open311/v2/requests.json` (N keep-alive
//!    clients, each sending its next request when the previous one answers)
//!    against a raw `INSERT` of an equivalent row into the same `reports` table
//!    of the same database (N concurrent tasks on the same pool);
//! 2. open-loop latency at a fixed rate through HTTP (each request is sent at
//!    its scheduled instant whatever the previous ones did; latency is counted
//!    from the scheduled instant, so queueing is not hidden);
//!
//! and once, in memory, point → territory lookups per second with
//! `veille_geo::TerritoryIndex` over the real territories.
//!
//! Output: a JSON document on stdout (`bench/intake/run.sh` turns it into the
//! markdown section of `docs/benchmarks.md`). Loopback only; every loop is
//! bounded in count and in time.
#![allow(clippy::disallowed_methods, reason = "tests and benchmarks set up and inspect databases with SQL of their own")]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use veille_domain::EmailAddress;
use veille_geo::{LonLat, TerritoryIndex};
use veille_storage::{accounts, sqlx, tokens, Db};
use veille_web::{AppState, Clock, Config};

#[derive(Parser)]
#[command(name = "bench-intake", about = "Signalement intake benchmark (HTTP vs raw INSERT, latency at a fixed rate, territory lookups)")]
struct Args {
    /// Engines to run, comma-separated: sqlite, postgres.
    #[arg(long, default_value = "sqlite,postgres")]
    engines: String,
    /// PostgreSQL URL of an existing database used to CREATE / DROP the benchmark database.
    #[arg(long, env = "VEILLE_BENCH_PG_URL", default_value = "postgres://root@127.0.0.1:5432/postgres")]
    pg_admin_url: String,
    /// Concurrent clients of the closed-loop runs.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds of each closed-loop run.
    #[arg(long, default_value_t = 10.0)]
    closed_secs: f64,
    /// Upper bound on the requests (or inserts) of each closed-loop run.
    #[arg(long, default_value_t = 200_000)]
    closed_max: u64,
    /// Rate of the open-loop run (requests per second).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Seconds of the open-loop run.
    #[arg(long, default_value_t = 20.0)]
    rate_secs: f64,
    /// Directory of the territory GeoJSON files (for the lookup benchmark).
    #[arg(long, default_value = "../shared/data/geo")]
    geo_dir: PathBuf,
    /// Seconds of the territory lookup run.
    #[arg(long, default_value_t = 3.0)]
    lookup_secs: f64,
}

/// Paris, where the HTTP and raw-insert points are drawn (lon, lat).
const PARIS: [f64; 4] = [2.255, 48.818, 2.415, 48.900];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut engines = Vec::new();
    for engine in args.engines.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        eprintln!("bench-intake: {engine}…");
        let result = run_engine(&args, engine).await;
        if let Err(e) = &result {
            // The root cause's own Debug: some errors display as nothing.
            eprintln!("bench-intake: {engine} failed: {:?}", e.root_cause());
        }
        engines.push(result.with_context(|| format!("engine {engine}"))?);
    }
    eprintln!("bench-intake: territory lookups…");
    let lookups = lookups(&args)?;
    let out = json!({
        "clients": args.clients,
        "closed_secs": args.closed_secs,
        "rate": args.rate,
        "rate_secs": args.rate_secs,
        "engines": engines,
        "lookups": lookups,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// A database made for one run, removed when the run ends.
struct BenchDb {
    url: String,
    pg: Option<(String, String)>,
    dir: Option<PathBuf>,
}

impl BenchDb {
    async fn create(args: &Args, engine: &str) -> anyhow::Result<Self> {
        let tag = format!("{}_{}", std::process::id(), now_micros());
        match engine {
            "sqlite" => {
                let dir = std::env::temp_dir().join(format!("veille-bench-intake-{tag}"));
                std::fs::create_dir_all(&dir)?;
                Ok(Self { url: format!("sqlite://{}/veille.db", dir.display()), pg: None, dir: Some(dir) })
            }
            "postgres" => {
                let name = format!("veille_bench_intake_{tag}");
                let admin = Db::connect(&args.pg_admin_url).await.context("PostgreSQL admin connection")?;
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await?;
                admin.close().await;
                let base = args.pg_admin_url.rsplit_once('/').context("PostgreSQL URL without a database")?.0;
                Ok(Self { url: format!("{base}/{name}"), pg: Some((args.pg_admin_url.clone(), name)), dir: None })
            }
            other => bail!("unknown engine {other} (sqlite or postgres)"),
        }
    }

    async fn drop_it(self) {
        if let Some((admin_url, name)) = &self.pg {
            if let Ok(admin) = Db::connect(admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
                admin.close().await;
            }
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn now_micros() -> i64 {
    Clock::System.now().as_micros()
}

async fn run_engine(args: &Args, engine: &str) -> anyhow::Result<Value> {
    let bdb = BenchDb::create(args, engine).await?;
    let result = run_on(args, engine, &bdb.url).await;
    bdb.drop_it().await;
    result
}

async fn run_on(args: &Args, engine: &str, url: &str) -> anyhow::Result<Value> {
    let db = Db::connect(url).await?;
    db.migrate().await?;
    // A fresh field key for this throw-away database (the demo seals contacts).
    let key_line = veille_storage::field_keys::KeyRing::new_key_line(None, Clock::System.now().as_micros() / 1_000_000);
    db.set_field_keys(veille_storage::field_keys::KeyRing::parse(&key_line).map_err(|e| anyhow::anyhow!("field key: {e}"))?);
    let durability = match db.check_durability().await {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("{e}"),
    };
    veille_web::demo::load(&db).await.context("loading the demo data")?;
    let territory_count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM territories").fetch_one(db.pool()).await?;

    // A write-scope API token of the demo coordinator.
    let email = EmailAddress::parse("coordination@demo.veille.invalid").map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let account = accounts::by_email(&db, &email).await?.context("demo coordinator missing")?;
    let api_key = veille_web::security::random_token();
    let now = Clock::System.now();
    let mut tx = db.begin().await?;
    tokens::create(&mut tx, account.id, "bench-intake", &veille_web::security::token_hash(&api_key), &["read", "write"], now, now.plus_seconds(86_400)).await?;
    tx.commit().await?;

    // Values for the raw INSERT: a real territory and the coordinating organisation.
    let territory_id: String = sqlx::query_scalar("SELECT id FROM territories ORDER BY code LIMIT 1").fetch_one(db.pool()).await?;
    let organisation_id = account.organisation.to_string();

    // The real application on a loopback port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The benchmark is one client sending as fast as it can: no Open311 rate limit.
    let config = Config { database_url: url.to_owned(), bind: addr, base_url: format!("http://{addr}"), open311_posts_allowed: 0, ..Config::default() };
    let state = AppState::new(db.clone(), config, Clock::System).await?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(veille_web::serve(listener, state, async move {
        let _ = stop_rx.await;
    }));

    let service_code = service_code(addr).await?;
    let form = Arc::new(FormMaker { api_key, service_code });

    // Warm-up: connections, caches, the first pages of the tables.
    let warm = closed_http(addr, form.clone(), 4, Duration::from_secs(2), 400).await?;
    if warm.ok == 0 {
        bail!("no request succeeded during the warm-up: {:?}", warm.first_error);
    }
    let closed_secs = Duration::from_secs_f64(args.closed_secs);
    eprintln!("bench-intake: {engine}: raw INSERT, {} clients", args.clients);
    let raw = closed_raw(&db, args.clients, closed_secs, args.closed_max, &territory_id, &organisation_id).await?;
    // The raw INSERT left some 30,000 reports that the intake's reads meet.
    // PostgreSQL's statistics are autovacuum's work, and the servers this
    // benchmark runs on have it off: without them, the plans each connection
    // made in the warm-up, when the table held the demo's handful of
    // reports, stay in use (a sequential scan of every report for the
    // reports nearby, ~8 ms). What autovacuum does after such a load, done
    // here; SQLite's instance refreshes its own (`Db::refresh_statistics`).
    if engine == "postgres" {
        db.gather_statistics().await?;
    }
    eprintln!("bench-intake: {engine}: HTTP intake, {} clients", args.clients);
    let http = closed_http(addr, form.clone(), args.clients, closed_secs, args.closed_max).await?;
    eprintln!("bench-intake: {engine}: HTTP intake at {} requests/s", args.rate);
    let open = open_http(addr, form.clone(), args.rate, Duration::from_secs_f64(args.rate_secs)).await?;

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    let reports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports").fetch_one(db.pool()).await?;
    db.close().await;

    Ok(json!({
        "engine": engine,
        "durability": durability,
        "territories": territory_count,
        "reports_at_end": reports,
        "warmup": warm.to_json(),
        "http": http.to_json(),
        "raw_insert": raw.to_json(),
        "open_loop": open,
    }))
}

// --- Requests ------------------------------------------------------------

struct FormMaker {
    api_key: String,
    service_code: String,
}

const DESCRIPTIONS: [&str; 6] = [
    "Deux tentes sur le trottoir, une famille avec un enfant.",
    "Un homme seul allongé sous le porche depuis ce matin.",
    "Trois personnes installées sous le pont, matelas et couvertures.",
    "Une femme avec une valise assise à l'arrêt de bus depuis hier soir.",
    "Campement de cinq tentes le long du canal, plusieurs adultes.",
    "Personne âgée qui semble désorientée près de l'entrée du métro.",
];

impl FormMaker {
    fn body(&self, rng: &mut impl Rng) -> String {
        let lon = rng.gen_range(PARIS[0]..PARIS[2]);
        let lat = rng.gen_range(PARIS[1]..PARIS[3]);
        let description = DESCRIPTIONS[rng.gen_range(0..DESCRIPTIONS.len())];
        let adults = rng.gen_range(0..6).to_string();
        let tents = rng.gen_range(0..4).to_string();
        let mut pairs: Vec<(&str, String)> = vec![
            ("api_key", self.api_key.clone()),
            ("service_code", self.service_code.clone()),
            ("lat", format!("{lat:.6}")),
            ("long", format!("{lon:.6}")),
            ("description", description.to_owned()),
            ("attribute[adults]", adults),
            ("attribute[tents]", tents),
        ];
        let situations = veille_domain::triage::SITUATIONS;
        pairs.push(("attribute[situation][]", situations[rng.gen_range(0..situations.len())].to_owned()));
        if rng.gen_bool(0.2) {
            pairs.push(("attribute[flag][]", "great_vulnerability".to_owned()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// One keep-alive HTTP/1.1 connection (the app answers with Content-Length).
struct Conn {
    stream: BufReader<TcpStream>,
    addr: std::net::SocketAddr,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Self { stream: BufReader::new(s), addr })
    }

    async fn request(&mut self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let mut msg = head.into_bytes();
        msg.extend_from_slice(body.as_bytes());
        self.stream.get_mut().write_all(&msg).await?;
        let mut line = String::new();
        if self.stream.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed in headers"));
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                return Err(std::io::Error::other("chunked responses are not supported by this client"));
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

async fn service_code(addr: std::net::SocketAddr) -> anyhow::Result<String> {
    let mut c = Conn::open(addr).await?;
    let (status, body) = c.request("GET", "/open311/v2/services.json", "").await?;
    anyhow::ensure!(status == 200, "GET services.json: {status}");
    let v: Value = serde_json::from_slice(&body)?;
    v[0]["service_code"].as_str().map(str::to_owned).context("no service_code in services.json")
}

// --- Closed loop ---------------------------------------------------------

#[derive(Default)]
struct Closed {
    ok: u64,
    errors: u64,
    secs: f64,
    latencies_us: Vec<u64>,
    first_error: Option<String>,
}

impl Closed {
    fn to_json(&self) -> Value {
        let mut l = self.latencies_us.clone();
        l.sort_unstable();
        json!({
            "ok": self.ok,
            "errors": self.errors,
            "secs": self.secs,
            "per_sec": self.ok as f64 / self.secs.max(1e-9),
            "p50_ms": pct(&l, 0.50),
            "p99_ms": pct(&l, 0.99),
            "max_ms": l.last().map(|&v| v as f64 / 1000.0),
            "first_error": self.first_error,
        })
    }
}

fn pct(sorted_us: &[u64], q: f64) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let i = ((sorted_us.len() as f64 * q).ceil() as usize).clamp(1, sorted_us.len()) - 1;
    Some(sorted_us[i] as f64 / 1000.0)
}

async fn closed_http(addr: std::net::SocketAddr, form: Arc<FormMaker>, clients: usize, secs: Duration, max: u64) -> anyhow::Result<Closed> {
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + secs;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (form, issued) = (form.clone(), issued.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1000 + c as u64);
            let mut out = Closed::default();
            let mut conn: Option<Conn> = None;
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
                let body = form.body(&mut rng);
                let t = Instant::now();
                if conn.is_none() {
                    conn = Conn::open(addr).await.ok();
                }
                let result = match conn.as_mut() {
                    Some(k) => tokio::time::timeout(Duration::from_secs(10), k.request("POST", "/open311/v2/requests.json", &body)).await,
                    None => Ok(Err(std::io::Error::other("connect failed"))),
                };
                match result {
                    Ok(Ok((201, _))) => {
                        out.ok += 1;
                        out.latencies_us.push(t.elapsed().as_micros() as u64);
                    }
                    Ok(Ok((status, body))) => {
                        out.errors += 1;
                        out.first_error.get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
                    }
                    Ok(Err(e)) => {
                        out.errors += 1;
                        out.first_error.get_or_insert_with(|| e.to_string());
                        conn = None;
                    }
                    Err(_) => {
                        out.errors += 1;
                        out.first_error.get_or_insert_with(|| "timeout (10 s)".into());
                        conn = None;
                    }
                }
            }
            out
        }));
    }
    let mut all = Closed::default();
    for t in tasks {
        let part = t.await?;
        all.ok += part.ok;
        all.errors += part.errors;
        all.latencies_us.extend(part.latencies_us);
        if all.first_error.is_none() {
            all.first_error = part.first_error;
        }
    }
    all.secs = start.elapsed().as_secs_f64();
    Ok(all)
}

/// The same row `reports::create` writes (same columns, same kinds of values),
/// as one INSERT on the pool: no HTTP, no token check, no triage, no routing,
/// no duplicate check, no timeline event, no audit entry.
async fn closed_raw(db: &Db, clients: usize, secs: Duration, max: u64, territory_id: &str, organisation_id: &str) -> anyhow::Result<Closed> {
    let issued = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let deadline = start + secs;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (db, issued, stop) = (db.clone(), issued.clone(), stop.clone());
        let (territory_id, organisation_id) = (territory_id.to_owned(), organisation_id.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(5000 + c as u64);
            let mut out = Closed::default();
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
                let t = Instant::now();
                let now = now_micros();
                let reference = format!("B-{}", veille_web::security::random_token().get(..12).unwrap_or("x"));
                let token_hash = veille_web::security::token_hash(&veille_web::security::random_token());
                let r = sqlx::query(
                    "INSERT INTO reports (id, reference, token_hash, created_at, updated_at, source, channel, lon, lat, address, \
                     territory_id, seen, adults, children, tents, description, contact_email, contact_phone, contact_consent, \
                     level, reasons, status, organisation_id, triage_organisation_id, team_id, email_confirm_hash, \
                     situations, reporter_name, email_confirmed, site_id, acknowledged_at) \
                     VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, \
                     $26, $27, $28, $29, $30)",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(reference)
                .bind(token_hash)
                .bind(now)
                .bind("association")
                .bind("open311")
                .bind(Some(rng.gen_range(PARIS[0]..PARIS[2])))
                .bind(Some(rng.gen_range(PARIS[1]..PARIS[3])))
                .bind("")
                .bind(Some(territory_id.clone()))
                .bind("")
                .bind(rng.gen_range(0i64..6))
                .bind(0i64)
                .bind(rng.gen_range(0i64..4))
                .bind(DESCRIPTIONS[rng.gen_range(0..DESCRIPTIONS.len())])
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(0i64)
                .bind(2i64)
                .bind("[]")
                .bind("received")
                .bind(Some(organisation_id.clone()))
                .bind(Some(organisation_id.clone()))
                .bind(None::<String>)
                .bind(None::<String>)
                .bind("camp")
                .bind(None::<String>)
                .bind(0i64)
                .bind(None::<String>)
                .bind(None::<i64>)
                .execute(db.pool())
                .await;
                match r {
                    Ok(_) => {
                        out.ok += 1;
                        out.latencies_us.push(t.elapsed().as_micros() as u64);
                    }
                    Err(e) => {
                        out.errors += 1;
                        out.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            out
        }));
    }
    let mut all = Closed::default();
    for t in tasks {
        let part = t.await?;
        all.ok += part.ok;
        all.errors += part.errors;
        all.latencies_us.extend(part.latencies_us);
        if all.first_error.is_none() {
            all.first_error = part.first_error;
        }
    }
    all.secs = start.elapsed().as_secs_f64();
    Ok(all)
}

// --- Open loop -----------------------------------------------------------

async fn open_http(addr: std::net::SocketAddr, form: Arc<FormMaker>, rate: f64, secs: Duration) -> anyhow::Result<Value> {
    let total = (rate * secs.as_secs_f64()).round() as u64;
    let pool: Arc<std::sync::Mutex<Vec<Conn>>> = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut rng = rand::rngs::StdRng::seed_from_u64(9000);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    let mut late_sends = 0u64;
    for i in 0..total {
        let scheduled = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(scheduled).await;
        if tokio::time::Instant::now() > scheduled + Duration::from_millis(5) {
            late_sends += 1;
        }
        let body = form.body(&mut rng);
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let taken = pool.lock().ok().and_then(|mut p| p.pop());
            let conn = match taken {
                Some(c) => Some(c),
                None => Conn::open(addr).await.ok(),
            };
            let Some(mut conn) = conn else { return Err("connect failed".to_owned()) };
            let r = tokio::time::timeout(Duration::from_secs(10), conn.request("POST", "/open311/v2/requests.json", &body)).await;
            // Latency from the scheduled instant: a late send counts against the server.
            let latency = scheduled.elapsed().as_micros() as u64;
            match r {
                Ok(Ok((201, _))) => {
                    if let Ok(mut p) = pool.lock() {
                        p.push(conn);
                    }
                    Ok(latency)
                }
                Ok(Ok((status, body))) => {
                    if let Ok(mut p) = pool.lock() {
                        p.push(conn);
                    }
                    Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timeout (10 s)".into()),
            }
        }));
    }
    let sent_in = start.elapsed().as_secs_f64();
    let mut lat = Vec::with_capacity(tasks.len());
    let mut errors = 0u64;
    let mut first_error = None;
    for t in tasks {
        match t.await? {
            Ok(us) => lat.push(us),
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    let done_in = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let connections = pool.lock().map(|p| p.len()).unwrap_or(0);
    Ok(json!({
        "target_rate": rate,
        "requests": total,
        "ok": lat.len(),
        "errors": errors,
        "first_error": first_error,
        "sent_in_secs": sent_in,
        "done_in_secs": done_in,
        "achieved_rate": lat.len() as f64 / done_in.max(1e-9),
        "late_sends": late_sends,
        "connections": connections,
        "p50_ms": pct(&lat, 0.50),
        "p90_ms": pct(&lat, 0.90),
        "p99_ms": pct(&lat, 0.99),
        "max_ms": lat.last().map(|&v| v as f64 / 1000.0),
    }))
}

// --- Territory lookups ---------------------------------------------------

fn lookups(args: &Args) -> anyhow::Result<Value> {
    let mut items = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.geo_dir)
        .with_context(|| format!("reading {}", args.geo_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "geojson"))
        .collect();
    files.sort();
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for f in &files {
        let text = std::fs::read_to_string(f)?;
        for t in veille_geo::parse_territories(&text, "code", "nom").with_context(|| format!("{}", f.display()))? {
            if let Some(b) = veille_geo::bbox(&t.geometry) {
                bbox = [bbox[0].min(b[0]), bbox[1].min(b[1]), bbox[2].max(b[2]), bbox[3].max(b[3])];
            }
            items.push((t.code.as_str().to_owned(), t.geometry));
        }
    }
    let count = items.len();
    let build = Instant::now();
    let index = TerritoryIndex::new(items);
    let build_ms = build.elapsed().as_secs_f64() * 1000.0;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    // Points drawn beforehand, so the loop times the lookups only.
    let points: Vec<LonLat> = (0..100_000)
        .map(|_| LonLat::new(rng.gen_range(bbox[0]..bbox[2]), rng.gen_range(bbox[1]..bbox[3])))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let max_secs = Duration::from_secs_f64(args.lookup_secs);
    let start = Instant::now();
    let (mut n, mut hits) = (0u64, 0u64);
    // Bounded: at most 200 passes over the points, at most `lookup_secs`.
    for _ in 0..200 {
        for p in &points {
            if std::hint::black_box(index.locate(*p)).is_some() {
                hits += 1;
            }
        }
        n += points.len() as u64;
        if start.elapsed() >= max_secs {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(json!({
        "territories": count,
        "files": files.iter().map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned())).collect::<Vec<_>>(),
        "bbox": bbox,
        "build_ms": build_ms,
        "lookups": n,
        "hit_fraction": hits as f64 / n.max(1) as f64,
        "secs": secs,
        "per_sec": n as f64 / secs.max(1e-9),
        "mean_us": secs * 1e6 / n.max(1) as f64,
    }))
}
