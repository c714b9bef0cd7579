//! Benchmark of the standard activity report (issue 16; decision 87), run by
//! `bench/figures/run.sh` on an instance made by `veille demo --scale N`:
//! times what the activity report costs veille (the dashboard of the
//! organisation for a period computed for the outside audience — every
//! group, the period before, the twelve months of trends, suppression — and
//! the report document built from it; the PDF drawing is left out), the
//! fastest and the median of `--repeat` runs after one warm-up, and each
//! group alone (to find the slowest); then compares the exact figures (the
//! coordinator's dashboard) with DuckDB's (`--duckdb`, the JSON of
//! `bench/figures/duckdb_figures.py` on the same export) figure by figure.
//! With `--pages N`, also serves the real application on a loopback port and
//! asks each dashboard and list page N times as the coordinator (a session
//! cookie, one request at a time, after one warm-up): p50, p95 and the
//! slowest, through HTTP. Prints one JSON object.

use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use veille_app::figures::{self, Audience, FiguresQuery};
use veille_domain::Role;
use veille_storage::{accounts, Db};
use veille_web::{AppState, Clock, Config};

#[derive(Parser)]
#[command(name = "bench-figures", about = "The activity report's time on veille, and its figures against DuckDB's")]
struct Args {
    /// The organisation (the one `veille demo --scale` printed).
    #[arg(long)]
    org: String,
    /// Period kind: month, quarter or year.
    #[arg(long, default_value = "month")]
    period: String,
    /// The period (`2026-11`, `2026-T4`, `2026`).
    #[arg(long)]
    at: String,
    /// Timed runs after the warm-up.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// DuckDB's figures (JSON of duckdb_figures.py) to compare with.
    #[arg(long)]
    duckdb: Option<std::path::PathBuf>,
    /// Requests per page for the pages' latency (0: not measured).
    #[arg(long, default_value_t = 0)]
    pages: usize,
    /// With --pages, only these pages (comma-separated paths as the
    /// benchmark lists them, e.g. /people,/reports/stats); every one by
    /// default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// The dashboards and list pages a coordinator opens, timed with `--pages`
/// (`{at}`: the period asked for).
const PAGES: &[&str] = &[
    "/",
    "/figures?period=month&at={at}",
    "/reports",
    "/reports/stats",
    "/sites",
    "/people",
    "/encounters",
    "/referrals",
    "/rounds",
    "/cases",
    "/shelter/stays",
    "/mediations",
];

/// One GET over a new connection (HTTP/1.1, `Connection: close`): the status
/// and the body's length.
async fn get(addr: std::net::SocketAddr, path: &str, cookie: &str) -> anyhow::Result<(u16, usize)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let head = String::from_utf8_lossy(&buf[..buf.len().min(64)]).into_owned();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).context("no HTTP status")?;
    Ok((status, buf.len()))
}

/// Each page of [`PAGES`] (those of `only`, if any) `n` times after a first request (timed apart): p50, p95 and the slowest (ms).
async fn page_latencies(app: &AppState, account: veille_domain::UserId, at: &str, n: usize, only: &[String]) -> anyhow::Result<serde_json::Value> {
    let token = veille_web::security::random_token();
    let now = Clock::System.now();
    let mut tx = app.db.begin().await?;
    veille_storage::sessions::create(
        &mut tx,
        &veille_web::security::token_hash(&token),
        account,
        true,
        &veille_web::security::random_token(),
        now,
        now.plus_seconds(86_400),
    )
    .await?;
    tx.commit().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let cookie = format!("{}={token}", veille_web::auth::session_cookie_name(app.config.cookies_secure()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(veille_web::serve(listener, app.clone(), async move {
        let _ = stop_rx.await;
    }));
    let mut out = serde_json::Map::new();
    for page in PAGES.iter().filter(|p| only.is_empty() || only.iter().any(|o| o == *p)) {
        let path = page.replace("{at}", at);
        // The first request, timed apart: the one that computes a dashboard
        // the instance then keeps (decision 103).
        let t = Instant::now();
        let (status, _) = get(addr, &path, &cookie).await?;
        let first = t.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(status == 200, "{path} answered {status}");
        let mut ms = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let (status, _) = get(addr, &path, &cookie).await?;
            anyhow::ensure!(status == 200, "{path} answered {status}");
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        let rank = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
        out.insert(path, serde_json::json!({"first": first, "p50": rank(0.5), "p95": rank(0.95), "max": ms[ms.len() - 1], "n": n}));
    }
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    Ok(serde_json::Value::Object(out))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Checked before the minutes the report takes, not when the pages come.
    if let Some(unknown) = args.only.iter().find(|o| !PAGES.contains(&o.as_str())) {
        anyhow::bail!("--only: {unknown} is not one of the pages ({})", PAGES.join(", "));
    }
    // What the served pages log (VEILLE_LOG, errors by default), on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("VEILLE_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")))
        .with_writer(std::io::stderr)
        .init();
    let config = Config::load(None, std::env::vars())?;
    let db = Db::connect(&config.database_url).await.context("connecting to the database")?;
    veille_app::instance::field_keys(&db, &config).await.context("field keys")?;
    let app = AppState::new(db.clone(), config, Clock::System).await?;
    let org = args.org.parse().map_err(|_| anyhow::anyhow!("--org: not an organisation id"))?;
    let account = accounts::list(&db, Some(org))
        .await?
        .into_iter()
        .find(|a| matches!(a.role, Role::Coordinator | Role::OrgAdmin))
        .context("the organisation has no coordinator")?;
    let actor = accounts::actor_of(&db, &account).await?;
    let who = veille_app::Caller { account, actor };
    let lang = veille_app::Lang::Fr;
    let q = FiguresQuery { period: args.period.clone(), at: args.at.clone(), ..Default::default() };
    let choice = figures::validate(&app, &who, lang, &q).map_err(|e| anyhow::anyhow!("{e:?}"))?;

    let report = || async {
        let d = figures::computed(&app, &who, lang, &choice, Audience::Outside).await?;
        let doc = figures::export::activity_report(lang, &d);
        Ok::<_, veille_app::Error>(doc.to_text().len())
    };
    report().await?;
    let mut times = Vec::new();
    for _ in 0..args.repeat.max(1) {
        let t = Instant::now();
        report().await?;
        times.push(t.elapsed().as_secs_f64());
    }
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    let med = median(&mut times.clone());
    let mut groups = serde_json::Map::new();
    for id in figures::GROUPS {
        let t = Instant::now();
        figures::group(&app, &who, lang, &choice, id).await?;
        groups.insert(id.to_owned(), serde_json::json!(t.elapsed().as_secs_f64()));
    }

    let pages = match args.pages {
        0 => serde_json::Value::Null,
        n => page_latencies(&app, who.account.id, &args.at, n, &args.only).await?,
    };

    let page = figures::dashboard(&app, &who, lang, &choice, Audience::Page).await?;
    let mut ours = veille_app::scale::cells(&page);
    let mut not_compared = Vec::new();
    let differences = match &args.duckdb {
        Some(path) => {
            let theirs: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)?;
            let cells = theirs["cells"].as_object().context("no cells in DuckDB's JSON")?;
            let tables: Vec<String> = serde_json::from_value(theirs["tables"].clone()).context("no tables in DuckDB's JSON")?;
            let (kept, left) = veille_app::scale::computed_by(&ours, &tables);
            ours = kept;
            not_compared = left.into_iter().collect();
            Some(veille_app::scale::differences(&ours, cells))
        }
        None => None,
    };
    let out = serde_json::json!({
        "period": choice.period.label(),
        "seconds": {"best": best, "median": med, "runs": times},
        "groups": groups,
        "pages": pages,
        "figures": ours.len(),
        "not_compared": not_compared,
        "differences": differences.as_ref().map(Vec::len),
        "first_differences": differences.map(|d| d.into_iter().take(10).collect::<Vec<_>>()),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    db.close().await;
    Ok(())
}
