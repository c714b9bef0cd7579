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
//! Prints one JSON object.

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
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
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
        let d = figures::dashboard(&app, &who, lang, &choice, Audience::Outside).await?;
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
        "figures": ours.len(),
        "not_compared": not_compared,
        "differences": differences.as_ref().map(Vec::len),
        "first_differences": differences.map(|d| d.into_iter().take(10).collect::<Vec<_>>()),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    db.close().await;
    Ok(())
}
