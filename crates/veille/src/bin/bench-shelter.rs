//! Benchmark of the capacity board (issue 14: "measured, not claimed").
//!
//! For each engine (SQLite in a temporary file, PostgreSQL in a fresh
//! database dropped afterwards) it loads 200 facilities, a year of nights
//! with some closures, and 20,000 stays spread over 365 nights, then times,
//! side by side on the same database, (1) the capacity board of every
//! facility over 7 and over 14 nights from a random night of the year
//! (`veille_storage::shelter::board`, what `/shelter` and
//! `/api/v1/shelter/board` call), and (2) the reference: the one SELECT of
//! the stays rows the board must read for that window, fetched whole. It
//! prints a markdown section (p50 / p95 / max, and the ratio of the board's
//! p95 to the reference's) for `docs/benchmarks.md`.
#![allow(clippy::disallowed_methods, reason = "tests and benchmarks set up and inspect databases with SQL of their own")]

use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use rand::{Rng, SeedableRng};
use veille_domain::shelter::{FacilityKind, Night, Public, Unit};
use veille_storage::shelter::{self as store, FacilityFields, FacilityFilter};
use veille_storage::{organisations, sqlx, Db};

#[derive(Parser)]
#[command(name = "bench-shelter", about = "Capacity board benchmark (board vs the raw SELECT of its stays)")]
struct Args {
    /// Engines to run, comma-separated: sqlite, postgres.
    #[arg(long, default_value = "sqlite,postgres")]
    engines: String,
    /// Facilities.
    #[arg(long, default_value_t = 200)]
    facilities: usize,
    /// Stays.
    #[arg(long, default_value_t = 20_000)]
    stays: usize,
    /// Board queries timed per window.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// PostgreSQL admin URL (a database is created and dropped).
    #[arg(long, env = "VEILLE_BENCH_PG_URL", default_value = "postgres://root@127.0.0.1:5432/postgres")]
    pg_admin_url: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut out = String::new();
    out.push_str(&format!(
        "{} facilities, 365 nights (one closure night in ten per facility), {} stays (1–60 nights, 1–4 places); {} board queries per window from random nights of the year. Load average at the start: {}.\n\n",
        args.facilities,
        args.stays,
        args.queries,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    ));
    out.push_str("| engine | window | board p50 | board p95 | board max | reference p95 (raw SELECT of the stays) | board p95 / reference p95 | target p95 ≤ 50 ms |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    for engine in args.engines.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        eprintln!("bench-shelter: {engine}…");
        let (url, cleanup) = create(&args, engine).await?;
        let result = run(&args, &url, engine).await;
        cleanup.await;
        out.push_str(&result.with_context(|| format!("engine {engine}"))?);
    }
    println!("{out}");
    Ok(())
}

async fn create(args: &Args, engine: &str) -> anyhow::Result<(String, std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>)> {
    let tag = format!("{}_{}", std::process::id(), rand::thread_rng().gen::<u32>());
    match engine {
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("veille-bench-shelter-{tag}"));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}/veille.db", dir.display());
            Ok((
                url,
                Box::pin(async move {
                    let _ = std::fs::remove_dir_all(&dir);
                }),
            ))
        }
        "postgres" => {
            let name = format!("veille_bench_shelter_{tag}");
            let admin = Db::connect(&args.pg_admin_url).await.context("PostgreSQL admin connection")?;
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await?;
            admin.close().await;
            let base = args.pg_admin_url.rsplit_once('/').context("PostgreSQL URL without a database")?.0.to_owned();
            let admin_url = args.pg_admin_url.clone();
            Ok((
                format!("{base}/{name}"),
                Box::pin(async move {
                    if let Ok(admin) = Db::connect(&admin_url).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
                        admin.close().await;
                    }
                }),
            ))
        }
        other => bail!("unknown engine {other} (sqlite or postgres)"),
    }
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run(args: &Args, url: &str, engine: &str) -> anyhow::Result<String> {
    let db = Db::connect(url).await?;
    db.migrate().await?;
    let now = veille_app::Clock::System.now();
    let start = Night::at(now);
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    let mut tx = db.begin().await?;
    let org = organisations::create(&mut tx, "Opérateur (bench)", "association", false, now).await?.id;
    let mut facilities = Vec::new();
    for i in 0..args.facilities {
        let f = FacilityFields {
            name: format!("Hébergement {i:03}"),
            kind: Some(FacilityKind::ALL[i % FacilityKind::ALL.len()]),
            publics: vec![Public::ALL[i % Public::ALL.len()]],
            unit: Some(Unit::Place),
            places: rng.gen_range(10..80),
            ..Default::default()
        };
        let id = store::create_facility(&mut tx, org, &f, now).await?;
        facilities.push(id);
    }
    tx.commit().await?;
    // Closures: one night in ten per facility.
    let mut tx = db.begin().await?;
    for f in &facilities {
        for n in (0..365).step_by(10) {
            sqlx::query("INSERT INTO facility_nights (facility_id, night, places, note, updated_at) VALUES ($1, $2, $3, '', $4)")
                .bind(f.to_string())
                .bind(start.plus(n + rng.gen_range(0..10)).days())
                .bind(rng.gen_range(0..10_i64))
                .bind(now.as_micros())
                .execute(&mut *tx)
                .await
                .ok();
        }
    }
    tx.commit().await?;
    // Stays, in batches of rows.
    let statuses = ["booked", "present", "present", "left", "cancelled"];
    let mut left = args.stays;
    while left > 0 {
        let n = left.min(200);
        left -= n;
        let mut sql = String::from(
            "INSERT INTO stays (id, facility_id, organisation_id, operator_organisation_id, label, places, status, from_night, to_night, created_at, updated_at) VALUES ",
        );
        let mut rows = Vec::new();
        for _ in 0..n {
            let f = facilities[rng.gen_range(0..facilities.len())];
            let from = start.plus(rng.gen_range(0..365));
            let to = from.plus(rng.gen_range(1..61));
            rows.push(format!(
                "('{}', '{}', '{org}', '{org}', 'bench', {}, '{}', {}, {}, {}, {})",
                veille_domain::StayId::new(),
                f,
                rng.gen_range(1..5),
                statuses[rng.gen_range(0..statuses.len())],
                from.days(),
                to.days(),
                now.as_micros(),
                now.as_micros()
            ));
        }
        sql.push_str(&rows.join(", "));
        sqlx::query(&sql).execute(db.pool()).await?;
    }
    if engine == "postgres" {
        sqlx::query("ANALYZE").execute(db.pool()).await?;
    }
    let filter = FacilityFilter::default();
    let mut out = String::new();
    for window in [7_i64, 14] {
        // Warm up.
        for _ in 0..5 {
            store::board(&db, &filter, start, window).await?;
        }
        let mut board = Vec::new();
        let mut reference = Vec::new();
        for _ in 0..args.queries {
            let from = start.plus(rng.gen_range(0..365));
            let t = Instant::now();
            let lines = store::board(&db, &filter, from, window).await?;
            board.push(t.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(lines.len() == facilities.len(), "every facility on the board");
            let t = Instant::now();
            let rows = sqlx::query("SELECT s.facility_id, s.from_night, s.to_night, s.places FROM stays s WHERE s.status IN ('booked', 'present') AND s.to_night > $1 AND s.from_night < $2")
                .bind(from.days())
                .bind(from.plus(window).days())
                .fetch_all(db.pool())
                .await?;
            reference.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(rows);
        }
        board.sort_by(f64::total_cmp);
        reference.sort_by(f64::total_cmp);
        let (p95, r95) = (pct(&board, 0.95), pct(&reference, 0.95));
        out.push_str(&format!(
            "| {engine} | {window} nights | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} | {} |\n",
            pct(&board, 0.5),
            p95,
            board[board.len() - 1],
            r95,
            p95 / r95,
            if p95 <= 50.0 { "met" } else { "missed" }
        ));
    }
    db.close().await;
    Ok(out)
}
