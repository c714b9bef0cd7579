//! Figures agree with DuckDB on generated data (issue 16, decision 87): a
//! synthetic instance of 5,000 encounters (`veille_app::scale::generate`,
//! what `veille demo --scale` runs) on the engine under test, exported as CSV
//! (`veille_app::scale::export`), and the dashboard as the organisation's
//! coordinator sees it (exact counts) compared figure by figure with the
//! aggregates `bench/figures/duckdb_figures.py` computes with DuckDB from
//! the same definitions, for a month, a quarter and a year with the period
//! before each and the twelve months of trends.

use veille_app::figures::{self, Audience, FiguresQuery};
use veille_domain::Role;
use veille_storage::organisations::{self, InstanceSettings};

use crate::helpers::*;

/// The tables of the dashboard DuckDB's side does not compute (yet).
/// Veille's tables the DuckDB script does not compute yet (not compared).
const NOT_IN_DUCKDB: [&str; 3] = ["territories-", "sites-", "trend-sites_population"];

#[tokio::test]
async fn figures_agree_with_duckdb_on_a_generated_instance() {
    let app = TestApp::new().await;
    let org = app.org("Ville (synthétique)", true).await;
    let other = app.org("Association (synthétique)", false).await;
    app.two_square_territories().await;
    let coordinator = app.user(org, Role::Coordinator, "coord@ville.exemple.fr", None, None).await;
    app.user(other, Role::Coordinator, "coord@asso.exemple.fr", None, None).await;
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    organisations::set_settings(&mut tx, &InstanceSettings { name: "démo".into(), demo: true }, now).await.unwrap();
    tx.commit().await.unwrap();

    let out = veille_app::scale::generate(app.db(), &veille_app::scale::Options { encounters: 5_000, seed: 7 }, now).await.unwrap();
    assert_eq!((out.organisation, out.other), (org, Some(other)));
    assert_eq!(out.rows.iter().find(|(t, _)| *t == "encounters").map(|(_, n)| *n), Some(5_000));
    if app.db().backend() == veille_storage::db::Backend::Postgres {
        // Statistics gathered after the load (autovacuum may be off, as on
        // the test machines): without them PostgreSQL planned the figures'
        // semi-join over a million encounters as a nested loop. And vacuumed:
        // without the visibility map no scan reads an index alone.
        let (analyzed,): (i64,) = veille_storage::sqlx::query_as(
            "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname IN ('encounters', 'encounter_people', 'people', 'reports') \
             AND last_analyze IS NOT NULL AND last_vacuum IS NOT NULL",
        )
        .fetch_one(app.db().pool())
        .await
        .unwrap();
        assert_eq!(analyzed, 4, "the generated tables are vacuumed and analyzed");
    }
    let dir = tempdir::Dir::new();
    veille_app::scale::export(app.db(), &dir.0).await.unwrap();

    let who = crate::sites::caller(&app, coordinator).await;
    reports_figures_agree_with_every_report_counted_in_rust(&app, &who, org).await;
    let today = now.paris_date();
    let last_month = figures::Period::last_month(today);
    let year = figures::Period::last_of(figures::Kind::Year, today);
    let quarter = figures::Period::last_of(figures::Kind::Quarter, today);
    let deadlines = app.state.config.report_deadlines().answer_secs;
    for p in [last_month, quarter, year] {
        let q = FiguresQuery { period: p.kind.code().into(), at: p.at(), ..Default::default() };
        let choice = figures::validate(&app.state, &who, veille_i18n::Lang::Fr, &q).unwrap();
        let d = figures::dashboard(&app.state, &who, veille_i18n::Lang::Fr, &choice, Audience::Page).await.unwrap();
        assert!(!d.suppressed, "the coordinator sees exact counts");
        let ours = veille_app::scale::cells(&d);
        // The DuckDB script does not compute the territories and sites groups
        // yet (decision 88: sites and observations are not in the export);
        // their figures are checked against the hand-computed fixture of
        // figures.rs instead.
        let received = ours.get("reports-answers/received").cloned().unwrap_or_default();
        assert!(received[0].as_i64().unwrap_or(0) > 0 && received[1].as_i64().unwrap_or(0) > 0, "{p:?}: reports in both periods");
        let unique = ours.get("encounters-totals/unique_people").cloned().unwrap_or_default();
        let files = ours.get("encounters-totals/files").cloned().unwrap_or_default();
        assert!(unique[0].as_i64() < files[0].as_i64(), "{p:?}: linked files make fewer people than files ({unique} < {files})");
        // New or known, told the other way — for an account's scope, which
        // may stop at some territories: a walk through each file's
        // encounters instead of the organisation's first encounters — gives
        // the same people on the coordinator's scope, which covers them all.
        let s = veille_storage::figures::Slice { from: p.start(), to: p.end(), team: None, territory: None };
        let year = chrono::Datelike::year(&p.first);
        let by_first = veille_storage::figures::people_counts(app.db(), &veille_storage::Scope::figures_of(org), &s, year).await.unwrap();
        let by_walk = veille_storage::figures::people_counts(app.db(), &who.scope(), &s, year).await.unwrap();
        assert!(by_first.novelty.iter().any(|(k, n)| k == "known" && *n > 0), "{p:?}: {by_first:?}");
        assert_eq!(by_walk, by_first, "{p:?}");

        let python = format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
        let script = format!("{}/../../bench/figures/duckdb_figures.py", env!("CARGO_MANIFEST_DIR"));
        let run = std::process::Command::new(&python)
            .arg(&script)
            .args(["--dir", &dir.0.display().to_string(), "--org", &org.to_string(), "--period", p.kind.code(), "--at", &p.at()])
            .args(["--answer-secs", &format!("{},{}", deadlines[0], deadlines[1])])
            .output()
            .expect("the DuckDB script runs (.venv from scripts/install-deps.sh)");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let theirs: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        // The tables the script computes; veille's others are not compared,
        // and are only those known to be missing from the script.
        let tables: Vec<String> = serde_json::from_value(theirs["tables"].clone()).unwrap();
        let (ours, left) = veille_app::scale::computed_by(&ours, &tables);
        assert!(left.iter().all(|t| NOT_IN_DUCKDB.iter().any(|p| t.starts_with(p))), "tables DuckDB does not compute: {left:?}");
        let theirs = theirs["cells"].as_object().unwrap();
        let diff = veille_app::scale::differences(&ours, theirs);
        assert!(diff.is_empty(), "{} ({}): veille and DuckDB differ on {} figures:\n{}", p.label(), engine(), diff.len(), diff.join("\n"));
        assert!(theirs.len() > 100, "DuckDB named {} figures", theirs.len());
    }
    // Every value the generator wrote is one the application reads back: the
    // coordinator's dashboards and lists open on the generated instance (the
    // pages the benchmark times at a million encounters).
    let mut c = app.session_for(coordinator, false).await;
    for path in [
        "/",
        "/figures",
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
        "/meetings",
        "/operations",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, axum::http::StatusCode::OK, "{path} on the generated instance: {}", r.body.chars().take(300).collect::<String>());
    }
}

/// The reports' figures (`/reports/stats`: counts along each breakdown,
/// situation types, times to acknowledgement and answer at the median and
/// the 90th percentile by nearest rank) agree with the same counted in Rust
/// from every report row of the generated instance in the organisation's
/// scope (handled or triaged by it), unfiltered and filtered.
async fn reports_figures_agree_with_every_report_counted_in_rust(app: &TestApp, who: &veille_app::Caller, org: veille_domain::OrganisationId) {
    use veille_app::reports::{staff::QueueQuery, stats};
    type Row = (String, String, String, i64, Option<i64>, String, i64, Option<i64>, Option<i64>, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = veille_storage::sqlx::query_as(
        "SELECT source, channel, status, level, level_override, situations, created_at, acknowledged_at, answered_at, duplicate_of, \
         organisation_id, triage_organisation_id FROM reports",
    )
    .fetch_all(app.db().pool())
    .await
    .unwrap();
    let org = org.to_string();
    let mine: Vec<&Row> = rows.iter().filter(|r| r.10.as_deref() == Some(&org) || r.11.as_deref() == Some(&org)).collect();
    assert!(mine.len() > 500 && mine.len() < rows.len(), "{} of {} reports in the organisation's scope", mine.len(), rows.len());
    let hours = |mut secs: Vec<i64>, per_mille: usize| {
        secs.sort();
        let rank = (secs.len() * per_mille).div_ceil(1000);
        (rank >= 1).then(|| (secs[rank - 1] as f64 / 3600.0 * 10.0).round() / 10.0)
    };
    for (query, keep) in [
        (QueueQuery::default(), (|_: &Row| true) as fn(&Row) -> bool),
        (QueueQuery { level: "2".into(), ..Default::default() }, |r: &Row| r.4.unwrap_or(r.3) == 2),
        (QueueQuery { status: "closed".into(), ..Default::default() }, |r: &Row| r.2 == "closed"),
    ] {
        let kept: Vec<&Row> = mine.iter().copied().filter(|r| keep(r)).collect();
        let f = stats::compute(&app.state, who, &query, veille_i18n::Lang::Fr).await.unwrap();
        let what = format!("{:?}", query.query_string());
        assert_eq!(f.total, Some(kept.len() as i64), "{what}");
        for (rows, column) in [(&f.by_source, 0), (&f.by_channel, 1), (&f.by_status, 2)] {
            for c in rows.iter() {
                let value = |r: &Row| [&r.0, &r.1, &r.2][column].clone();
                assert_eq!(c.count, Some(kept.iter().filter(|r| value(r) == c.code).count() as i64), "{what}: {}", c.code);
            }
        }
        let level_2 = kept.iter().filter(|r| r.4.unwrap_or(r.3) == 2).count() as i64;
        assert_eq!(f.by_level.iter().map(|c| c.count).collect::<Vec<_>>(), [Some(kept.len() as i64 - level_2), Some(level_2)], "{what}");
        for c in &f.by_situation {
            assert_eq!(c.count, Some(kept.iter().filter(|r| r.5.split(',').any(|s| s == c.code)).count() as i64), "{what}: {}", c.code);
        }
        assert!(f.by_situation.iter().any(|c| c.count > Some(0)), "{what}");
        let acknowledged: Vec<i64> = kept.iter().filter_map(|r| r.7.map(|at| (at - r.6) / 1_000_000)).collect();
        let answered: Vec<i64> = kept.iter().filter(|r| r.9.is_none()).filter_map(|r| r.8.map(|at| (at - r.6) / 1_000_000)).collect();
        for (d, secs, step) in [(&f.acknowledged, acknowledged, "acknowledged"), (&f.answered, answered, "answered")] {
            assert_eq!(d.count, Some(secs.len() as i64), "{what}: {step}");
            assert_eq!((d.median_hours, d.p90_hours), (hours(secs.clone(), 500), hours(secs, 900)), "{what}: {step}");
        }
        assert!(f.answered.count > Some(1), "{what}: answered reports in the generated data");
    }
}
