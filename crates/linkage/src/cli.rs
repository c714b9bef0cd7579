//! Command line, as a clap subcommand so that the `veille` binary can embed
//! it (`veille linkage dedupe …`); also the standalone `veille-linkage` binary.

use crate::{io, Config, Error, Index};
use anyhow::Context;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, clap::Subcommand)]
pub enum LinkageCommand {
    /// Find records of the same person within one CSV file.
    Dedupe {
        /// TOML configuration (fields, comparisons, blocking rules).
        #[arg(long)]
        config: PathBuf,
        /// CSV file with a header line.
        #[arg(long)]
        input: PathBuf,
        /// Output CSV of scored pairs with per-comparison agreement levels.
        #[arg(long)]
        output: PathBuf,
        /// Also write `id,cluster_id` (clusters at the threshold).
        #[arg(long)]
        clusters: Option<PathBuf>,
        /// Override the config's threshold (match probability).
        #[arg(long)]
        threshold: Option<f64>,
        /// Save the estimated model (JSON, usable as `model_file`).
        #[arg(long)]
        save_model: Option<PathBuf>,
    },
    /// Link two CSV files (pairs across the files only).
    Link {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        left: PathBuf,
        #[arg(long)]
        right: PathBuf,
        #[arg(long)]
        output: PathBuf,
        #[arg(long)]
        threshold: Option<f64>,
        #[arg(long)]
        save_model: Option<PathBuf>,
    },
    /// Blocking recall: the share of the true pairs (records with the same
    /// value in `--truth-column`) that the blocking rules make candidates,
    /// and the number of candidate pairs. Prints JSON. (Benchmark helper, hidden.)
    #[command(hide = true)]
    BlockingRecall {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value = "entity")]
        truth_column: String,
        /// Also write the true pairs that are not candidates (CSV left_id,right_id).
        #[arg(long)]
        missed: Option<PathBuf>,
    },
    /// Learn a model from the truth (benchmark helper, hidden): the
    /// unsupervised model, then [`crate::learn`] from `--labels` candidate
    /// pairs labelled by `--truth-column` (only pairs the unsupervised model
    /// scores at least `--shown-above`, as a person deciding on suggestions
    /// would see). Writes the model as JSON.
    #[command(hide = true)]
    Train {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value = "entity")]
        truth_column: String,
        #[arg(long, default_value_t = 200)]
        labels: usize,
        #[arg(long, default_value_t = 0.0)]
        shown_above: f64,
        #[arg(long)]
        save_model: PathBuf,
    },
    /// Measure incremental lookups: build an index of the input, then look up
    /// `--queries` records (taken from the input with their own id excluded)
    /// and print latency percentiles as JSON. (Benchmark helper, hidden.)
    #[command(hide = true)]
    BenchIndex {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 2000)]
        queries: usize,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

fn progress_bar(len: u64, msg: &str) -> indicatif::ProgressBar {
    if std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}") {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(msg.to_string());
        pb
    } else {
        indicatif::ProgressBar::hidden()
    }
}

fn load_config(path: &Path, threshold: Option<f64>) -> Result<Config, Error> {
    let mut cfg = Config::from_path(path)?;
    if let Some(t) = threshold {
        if !(0.0..=1.0).contains(&t) {
            return Err(Error::Config(format!("--threshold must be within 0..1, got {t}")));
        }
        cfg.threshold = t;
    }
    // A relative model_file is relative to the config file.
    if let Some(m) = &cfg.model_file {
        if m.is_relative() {
            if let Some(dir) = path.parent() {
                cfg.model_file = Some(dir.join(m));
            }
        }
    }
    Ok(cfg)
}

/// Line count for the progress bar (only read when the bar is shown).
fn count_lines(path: &Path) -> u64 {
    if !std::io::stderr().is_terminal() {
        return 0;
    }
    std::fs::read(path).map(|b| b.iter().filter(|c| **c == b'\n').count() as u64).unwrap_or(0)
}

fn finish(
    result: &crate::BatchResult,
    output: &Path,
    clusters: Option<&PathBuf>,
    save_model: Option<&PathBuf>,
    threshold: f64,
    started: Instant,
) -> anyhow::Result<()> {
    io::write_pairs(result, output)?;
    if let Some(c) = clusters {
        io::write_clusters(result, threshold, c)?;
    }
    if let Some(m) = save_model {
        std::fs::write(m, serde_json::to_string_pretty(&result.model)?).with_context(|| format!("writing {}", m.display()))?;
    }
    if result.skipped_blocks() > 0 {
        eprintln!("warning: {} blocks larger than max_block_size were skipped; add a more selective blocking rule if recall matters", result.skipped_blocks());
    }
    eprintln!(
        "{} records, {} pairs with probability >= {} written to {} in {:.1}s",
        result.ids.len(),
        result.pairs.len(),
        threshold,
        output.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Run a linkage command.
pub fn run(cmd: LinkageCommand) -> anyhow::Result<()> {
    let started = Instant::now();
    match cmd {
        LinkageCommand::Dedupe { config, input, output, clusters, threshold, save_model } => {
            let cfg = load_config(&config, threshold)?;
            let compiled = io::compile_for(&cfg, &[&input])?;
            let pb = progress_bar(count_lines(&input).saturating_sub(1), "reading");
            let data = io::read_csv(&compiled, &input, &pb)?;
            pb.finish_and_clear();
            if std::env::var_os("VEILLE_LINKAGE_VERBOSE").is_some() {
                eprintln!("[linkage] read and prepared in {:.2}s ({} MiB resident)", started.elapsed().as_secs_f64(), crate::resident_mib());
            }
            let pb = progress_bar(0, "scoring");
            let result = crate::run_batch(compiled, data.prepared, data.ids, None, &pb)?;
            pb.finish_and_clear();
            finish(&result, &output, clusters.as_ref(), save_model.as_ref(), cfg.threshold, started)
        }
        LinkageCommand::Link { config, left, right, output, threshold, save_model } => {
            let cfg = load_config(&config, threshold)?;
            let compiled = io::compile_for(&cfg, &[&left, &right])?;
            let pb = progress_bar(count_lines(&left) + count_lines(&right), "reading");
            let l = io::read_csv(&compiled, &left, &pb)?;
            let r = io::read_csv(&compiled, &right, &pb)?;
            pb.finish_and_clear();
            let n_left = l.ids.len() as u32;
            let mut ids = l.ids;
            ids.extend(r.ids);
            let mut prepared = l.prepared;
            prepared.append(r.prepared);
            let pb = progress_bar(0, "scoring");
            let result = crate::run_batch(compiled, prepared, ids, Some(n_left), &pb)?;
            pb.finish_and_clear();
            finish(&result, &output, None, save_model.as_ref(), cfg.threshold, started)
        }
        LinkageCommand::BlockingRecall { config, input, truth_column, missed } => {
            let cfg = load_config(&config, None)?;
            let compiled = io::compile_for(&cfg, &[&input])?;
            let data = io::read_csv(&compiled, &input, &indicatif::ProgressBar::hidden())?;
            let mut rdr = csv::Reader::from_path(&input)?;
            let col = rdr.headers()?.iter().position(|h| h == truth_column).with_context(|| format!("no column '{truth_column}'"))?;
            let mut labels: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
            let mut entity = Vec::with_capacity(data.ids.len());
            for row in rdr.records() {
                let row = row?;
                let next = labels.len() as u32;
                entity.push(*labels.entry(row.get(col).unwrap_or("").to_string()).or_insert(next));
            }
            let n = data.ids.len();
            let ids = data.ids;
            let engine = crate::engine::Engine::new(compiled, data.prepared, None, crate::engine::Use::Batch);
            if let Some(path) = missed {
                let mut w = csv::Writer::from_path(&path)?;
                w.write_record(["left_id", "right_id"])?;
                let mut by: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
                for (i, e) in entity.iter().enumerate() {
                    by.entry(*e).or_default().push(i as u32);
                }
                for g in by.values() {
                    for i in 0..g.len() {
                        for j in (i + 1)..g.len() {
                            if !engine.is_candidate(g[i], g[j]) {
                                w.write_record([&ids[g[i] as usize], &ids[g[j] as usize]])?;
                            }
                        }
                    }
                }
                w.flush()?;
            }
            let (all, found) = engine.blocking_recall(&entity);
            let candidates = engine.candidate_pairs();
            println!(
                "{}",
                serde_json::json!({
                    "records": n,
                    "true_pairs": all,
                    "true_pairs_blocked": found,
                    "blocking_recall": if all == 0 { 1.0 } else { found as f64 / all as f64 },
                    "candidate_pairs": candidates,
                    "candidates_per_record": candidates as f64 / n.max(1) as f64,
                    "skipped_blocks": engine.skipped_blocks,
                    "seconds": started.elapsed().as_secs_f64(),
                })
            );
            Ok(())
        }
        LinkageCommand::Train { config, input, truth_column, labels, shown_above, save_model } => {
            let cfg = load_config(&config, None)?;
            let compiled = io::compile_for(&cfg, &[&input])?;
            let data = io::read_csv(&compiled, &input, &indicatif::ProgressBar::hidden())?;
            let mut rdr = csv::Reader::from_path(&input)?;
            let col = rdr.headers()?.iter().position(|h| h == truth_column).with_context(|| format!("no column '{truth_column}'"))?;
            let truth: Vec<String> = rdr.records().map(|r| r.map(|r| r.get(col).unwrap_or("").to_string())).collect::<Result<_, _>>()?;
            let engine = crate::engine::Engine::new(compiled, data.prepared, None, crate::engine::Use::Batch);
            let prior = engine.estimate();
            let table = prior.weight_table();
            let wcut = crate::model::probability_to_weight(shown_above);
            let shown: Vec<(u32, u32, u64)> = engine
                .sample_candidates(usize::MAX, 7)
                .into_iter()
                .filter(|(_, _, p)| {
                    let w: f64 = prior.prior_weight()
                        + (0..table.len())
                            .map(|c| {
                                let l = crate::engine::level_at(*p, c);
                                if l == crate::engine::NULL_LEVEL {
                                    0.0
                                } else {
                                    table[c][l as usize]
                                }
                            })
                            .sum::<f64>();
                    shown_above <= 0.0 || w >= wcut
                })
                .collect();
            let step = (shown.len() / labels.max(1)).max(1);
            let labelled: Vec<(u64, bool)> = shown.iter().step_by(step).take(labels).map(|(a, b, p)| (*p, truth[*a as usize] == truth[*b as usize])).collect();
            let w = crate::LearnWeights::default();
            let model = prior.learn(&engine.compiled, &labelled, w.prior_m);
            std::fs::write(&save_model, serde_json::to_string_pretty(&model)?)?;
            eprintln!(
                "learned from {} labelled pairs ({} the same person) among {} shown",
                labelled.len(),
                labelled.iter().filter(|l| l.1).count(),
                shown.len()
            );
            Ok(())
        }
        LinkageCommand::BenchIndex { config, input, queries, limit } => {
            let cfg = load_config(&config, None)?;
            let compiled = io::compile_for(&cfg, &[&input])?;
            // Queries: every k-th row, read back as generic records.
            let mut rdr = csv::Reader::from_path(&input)?;
            let headers: Vec<String> = rdr.headers()?.iter().map(String::from).collect();
            let pb = indicatif::ProgressBar::hidden();
            let data = io::read_csv(&compiled, &input, &pb)?;
            let n = data.ids.len();
            let step = (n / queries.max(1)).max(1);
            let mut qs = Vec::new();
            for (i, row) in rdr.records().enumerate() {
                if i % step == 0 && qs.len() < queries {
                    let row = row?;
                    let mut rec = crate::Record::new(String::new());
                    for (h, v) in headers.iter().zip(row.iter()) {
                        if h == &cfg.id_field {
                            rec.id = v.to_string();
                        } else if !v.is_empty() {
                            rec = rec.with(h.clone(), v);
                        }
                    }
                    qs.push(rec);
                }
            }
            let t0 = Instant::now();
            let index = Index::from_prepared(compiled, data.prepared, data.ids, None)?;
            let build = t0.elapsed().as_secs_f64();
            let mut lat = Vec::with_capacity(qs.len());
            let mut found = 0usize;
            for q in &qs {
                let t = Instant::now();
                let c = index.candidates(q, limit);
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                found += usize::from(!c.is_empty());
            }
            lat.sort_by(|a, b| a.total_cmp(b));
            let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
            println!(
                "{}",
                serde_json::json!({
                    "records": index.len(),
                    "build_seconds": build,
                    "queries": lat.len(),
                    "with_candidates": found,
                    "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "max_ms": pct(1.0),
                })
            );
            Ok(())
        }
    }
}
