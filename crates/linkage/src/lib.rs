//! Record linkage for veille: finding the same person recorded several
//! times, under nicknames, spelling variants of names from many languages,
//! swapped first and last names, approximate birth years.
//!
//! * Configured in TOML like splink: fields, comparisons with ordered
//!   agreement levels, blocking rules (unioned). See `examples/people.toml`.
//! * Fellegi–Sunter scoring; m and u estimated without labels (u from random
//!   pairs, m and λ by EM), or fixed from a model file.
//! * Every scored pair carries its per-comparison agreement level: the
//!   explanation a person reads before deciding.
//! * Batch ([`dedupe`], [`link`]) and incremental ([`Index::candidates`]).
//!
//! ```
//! use veille_linkage::{Config, Index, Record};
//! let config = Config::from_toml_str(include_str!("../examples/people.toml")).unwrap();
//! let people = vec![
//!     Record::new("p1").with("given_name", "Mohamed").with("family_name", "Benali").with("birth_year", "1979"),
//!     Record::new("p2").with("given_name", "Ionuț").with("family_name", "Popescu").with("birth_year", "1990"),
//! ];
//! let index = Index::build(&config, people).unwrap();
//! let new = Record::new("new").with("given_name", "Mohammed").with("family_name", "Ben Ali").with("birth_year", "1980");
//! let found = index.candidates(&new, 5);
//! assert_eq!(found[0].right_id, "p1");
//! ```

pub mod cli;
pub mod cluster;
pub mod config;
pub mod engine;
pub mod io;
pub mod model;
pub mod normalize;
pub mod phonetic;
pub mod similarity;
pub mod synth;

pub use cluster::clusters;
pub use config::Config;
pub use engine::RawPair;
pub use model::Model;

use engine::{Compiled, Engine, Prepared, PreparedSet, TermFreq, NULL_LEVEL};
use serde::Serialize;
use std::collections::HashMap;

/// Errors with a message fit for the person who wrote the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config error: {0}")]
    Config(String),
    #[error("data error: {0}")]
    Data(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A generic record: an id and named optional string values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub fields: HashMap<String, Option<String>>,
}

impl Record {
    pub fn new(id: impl Into<String>) -> Record {
        Record { id: id.into(), fields: HashMap::new() }
    }
    /// Builder: set a field.
    pub fn with(mut self, field: impl Into<String>, value: impl Into<String>) -> Record {
        self.fields.insert(field.into(), Some(value.into()));
        self
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(|v| v.as_deref())
    }
}

/// How one comparison agreed for a pair: the explanation shown to users.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldAgreement {
    /// Comparison name from the config ("given_name", "birth_year"…).
    pub comparison: String,
    /// Level label ("exact", "phonetic", "swapped_with_family_name",
    /// "year_within_1", "else", "null" when a side is empty).
    pub level: String,
    /// Contribution to the match weight, log2(m/u) (0 for null).
    pub weight: f64,
}

/// A scored pair with its explanation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScoredPair {
    pub left_id: String,
    pub right_id: String,
    /// Sum of the level weights plus the prior, in bits.
    pub match_weight: f64,
    pub match_probability: f64,
    pub agreements: Vec<FieldAgreement>,
}

/// The explanation of a scored pair (per-field weights include the
/// term-frequency adjustments).
fn explain(compiled: &Compiled, scorer: &engine::Scorer, (a, b): (&Prepared, &Prepared), (left, right): (&str, &str), weight: f64, pattern: u64) -> ScoredPair {
    let agreements = compiled
        .comparisons
        .iter()
        .enumerate()
        .map(|(c, cmp)| {
            let l = engine::level_at(pattern, c);
            if l == NULL_LEVEL {
                FieldAgreement { comparison: cmp.name.clone(), level: "null".into(), weight: 0.0 }
            } else {
                FieldAgreement { comparison: cmp.name.clone(), level: cmp.labels[l as usize].clone(), weight: compiled.level_weight(c, l, a, b, scorer) }
            }
        })
        .collect();
    ScoredPair {
        left_id: left.to_string(),
        right_id: right.to_string(),
        match_weight: weight,
        match_probability: model::weight_to_probability(weight),
        agreements,
    }
}

/// Prepare records in parallel, a chunk at a time (each record's keys are
/// flattened into the set as soon as its chunk is done).
fn prepare_records(compiled: &Compiled, records: &[Record]) -> PreparedSet {
    use rayon::prelude::*;
    let mut set = PreparedSet::new(compiled);
    for chunk in records.chunks(20_000) {
        let part: Vec<_> = chunk
            .par_iter()
            .map(|r| {
                let get = |i: usize| r.get(&compiled.fields[i]);
                compiled.prepare(&get)
            })
            .collect();
        set.extend(part);
    }
    set
}

/// Load the fixed model named by the config, if any.
pub fn fixed_model(compiled: &Compiled) -> Result<Option<Model>, Error> {
    match &compiled.config.model_file {
        None => Ok(None),
        Some(p) => {
            let s = std::fs::read_to_string(p).map_err(|e| Error::Config(format!("cannot read model_file {}: {e}", p.display())))?;
            let m: Model = serde_json::from_str(&s).map_err(|e| Error::Config(format!("model_file {}: {e}", p.display())))?;
            m.check_against(compiled)?;
            Ok(Some(m))
        }
    }
}

/// Result of a batch run.
pub struct BatchResult {
    engine: Engine,
    pub ids: Vec<String>,
    /// Kept pairs (probability ≥ threshold), as record indexes into `ids`.
    pub pairs: Vec<RawPair>,
    pub model: Model,
}

impl BatchResult {
    /// Explanation of one kept pair.
    pub fn explain(&self, p: &RawPair) -> ScoredPair {
        let e = &self.engine;
        let scorer = engine::Scorer::new(&e.compiled, &self.model, 0.0, &e.tf);
        let records = (&e.records[p.a as usize], &e.records[p.b as usize]);
        explain(&e.compiled, &scorer, records, (&self.ids[p.a as usize], &self.ids[p.b as usize]), p.weight as f64, p.pattern)
    }
    /// Cluster label (index of a representative record) per record.
    pub fn clusters(&self, threshold: f64) -> Vec<u32> {
        let w = model::probability_to_weight(threshold) as f32;
        clusters(self.ids.len(), self.pairs.iter().filter(|p| p.weight >= w).map(|p| (p.a, p.b)))
    }
    pub fn compiled(&self) -> &Compiled {
        &self.engine.compiled
    }
    /// Share of the true pairs (records with the same label in `entity`)
    /// that the blocking rules made candidates.
    pub fn blocking_recall(&self, entity: &[u32]) -> f64 {
        let (all, found) = self.engine.blocking_recall(entity);
        if all == 0 {
            1.0
        } else {
            found as f64 / all as f64
        }
    }
    /// Blocks skipped because larger than `max_block_size`.
    pub fn skipped_blocks(&self) -> usize {
        self.engine.skipped_blocks
    }
}

/// Resident memory of this process and its peak so far, in MiB (Linux;
/// `?` elsewhere), for the verbose progress lines that say where memory goes.
pub fn resident_mib() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or_else(|| "?".to_string(), |kb| (kb / 1024).to_string())
    };
    format!("{}/{} peak", mib("VmRSS:"), mib("VmHWM:"))
}

/// Run a batch over prepared records (shared by the API and the CLI).
pub fn run_batch(
    compiled: Compiled,
    prepared: PreparedSet,
    ids: Vec<String>,
    n_left: Option<u32>,
    progress: &indicatif::ProgressBar,
) -> Result<BatchResult, Error> {
    let verbose = std::env::var_os("VEILLE_LINKAGE_VERBOSE").is_some();
    let t0 = std::time::Instant::now();
    let fixed = fixed_model(&compiled)?;
    let threshold = compiled.config.threshold;
    let engine = Engine::new(compiled, prepared, n_left, engine::Use::Batch);
    if verbose {
        eprintln!(
            "[linkage] index built in {:.2}s ({} MiB resident), candidate pairs <= {} (per rule {:?})",
            t0.elapsed().as_secs_f64(),
            resident_mib(),
            engine.candidate_upper_bound(),
            engine.rule_pair_counts()
        );
    }
    let model = match fixed {
        Some(m) => m,
        None => engine.estimate(),
    };
    if verbose {
        eprintln!("[linkage] model ready at {:.2}s (lambda {:.3e}, {} MiB resident)", t0.elapsed().as_secs_f64(), model.lambda, resident_mib());
    }
    let pairs = engine.score_all(&model, threshold, progress);
    if verbose {
        eprintln!("[linkage] scored at {:.2}s, {} pairs kept ({} MiB resident)", t0.elapsed().as_secs_f64(), pairs.len(), resident_mib());
    }
    Ok(BatchResult { engine, ids, pairs, model })
}

/// Deduplicate one set of records.
pub fn dedupe(config: &Config, records: &[Record]) -> Result<BatchResult, Error> {
    let compiled = Compiled::new(config, None)?;
    let prepared = prepare_records(&compiled, records);
    let ids = records.iter().map(|r| r.id.clone()).collect();
    run_batch(compiled, prepared, ids, None, &indicatif::ProgressBar::hidden())
}

/// Link two sets of records (pairs across the sets only).
pub fn link(config: &Config, left: &[Record], right: &[Record]) -> Result<BatchResult, Error> {
    let compiled = Compiled::new(config, None)?;
    let mut prepared = prepare_records(&compiled, left);
    prepared.append(prepare_records(&compiled, right));
    let ids = left.iter().chain(right).map(|r| r.id.clone()).collect();
    run_batch(compiled, prepared, ids, Some(left.len() as u32), &indicatif::ProgressBar::hidden())
}

/// A pair of records a person judged: the same person (`same`) or two
/// people (a link made, undone, or a suggestion marked distinct).
#[derive(Debug, Clone)]
pub struct Labelled {
    pub left: Record,
    pub right: Record,
    pub same: bool,
}

/// How much labelled pairs weigh against the prior when a model learns
/// from them ([`learn`], [`Learner::learn`]).
#[derive(Debug, Clone, Copy)]
pub struct LearnWeights {
    /// Pseudo-pairs of the prior m (m moves little with fewer labels than this).
    pub prior_m: f64,
    /// Standard deviation (bits) of the prior on the calibration of λ.
    pub lambda_sigma_bits: f64,
}

impl Default for LearnWeights {
    fn default() -> Self {
        LearnWeights { prior_m: 30.0, lambda_sigma_bits: 2.0 }
    }
}

fn labelled_pairs(compiled: &Compiled, labelled: &[Labelled]) -> Vec<(Prepared, Prepared, bool)> {
    labelled
        .iter()
        .map(|l| (compiled.prepare(&|i| l.left.get(&compiled.fields[i])).0, compiled.prepare(&|i| l.right.get(&compiled.fields[i])).0, l.same))
        .collect()
}

/// Re-estimate a model from pairs people labelled, with `prior` (e.g. the
/// unsupervised model) as the prior: m from the pairs of the same person
/// ([`Model::learn`]), then λ calibrated on all labels ([`Model::calibrate`],
/// weights without term frequencies; [`Learner::learn`] uses the index's).
pub fn learn(config: &Config, prior: &Model, labelled: &[Labelled], weights: LearnWeights) -> Result<Model, Error> {
    let compiled = Compiled::new(config, None)?;
    prior.check_against(&compiled)?;
    let pairs = labelled_pairs(&compiled, labelled);
    let patterns: Vec<(u64, bool)> = pairs.iter().map(|(a, b, same)| (compiled.pattern(a, b), *same)).collect();
    let model = prior.learn(&compiled, &patterns, weights.prior_m);
    let table = model.weight_table();
    let scored: Vec<(f64, bool)> = patterns
        .iter()
        .map(|(p, same)| {
            let w = (0..table.len())
                .map(|c| {
                    let l = engine::level_at(*p, c);
                    if l == NULL_LEVEL {
                        0.0
                    } else {
                        table[c][l as usize]
                    }
                })
                .sum();
            (w, *same)
        })
        .collect();
    Ok(model.calibrate(&scored, weights.lambda_sigma_bits))
}

/// What an [`Index`] learns with — its configuration, its values'
/// frequencies, its size — copied ([`Index::learner`]): the model can be
/// re-estimated while the index keeps serving lookups and taking changes,
/// and put to use with [`Index::set_model`] once estimated.
#[derive(Debug, Clone)]
pub struct Learner {
    compiled: Compiled,
    tf: TermFreq,
    size: usize,
}

impl Learner {
    /// Re-estimate `prior` (e.g. the unsupervised or shipped model) from
    /// pairs people labelled: m from the pairs of the same person, then λ
    /// calibrated on all labels with the weights the index gives
    /// (term-frequency adjusted, λ for the index's size), as the index was
    /// when the copy was taken.
    pub fn learn(&self, prior: &Model, labelled: &[Labelled], weights: LearnWeights) -> Result<Model, Error> {
        let Learner { compiled, tf, size } = self;
        prior.check_against(compiled)?;
        let pairs = labelled_pairs(compiled, labelled);
        let patterns: Vec<(u64, bool)> = pairs.iter().map(|(a, b, same)| (compiled.pattern(a, b), *same)).collect();
        let model = prior.learn(compiled, &patterns, weights.prior_m).for_size((*size).max(2));
        let scorer = engine::Scorer::new(compiled, &model, 0.0, tf);
        let scored: Vec<(f64, bool)> = pairs
            .iter()
            .map(|(a, b, same)| {
                let w = (0..compiled.comparisons.len())
                    .map(|c| {
                        let l = compiled.level(&compiled.comparisons[c], a, b);
                        if l == NULL_LEVEL {
                            0.0
                        } else {
                            compiled.level_weight(c, l, a, b, &scorer)
                        }
                    })
                    .sum();
                (w, *same)
            })
            .collect();
        Ok(model.calibrate(&scored, weights.lambda_sigma_bits))
    }
}

/// In-memory index of existing records for incremental lookups ("possible
/// duplicates" while a person is being created).
///
/// Records can be added ([`Index::insert`]), replaced when they are edited
/// ([`Index::update`]) and withdrawn ([`Index::remove`]). A replaced or
/// withdrawn record keeps its slot in the blocking arrays but is never
/// returned again; the slots are reclaimed when the index is built anew.
pub struct Index {
    engine: Engine,
    ids: Vec<String>,
    model: Model,
    /// Slots withdrawn or replaced (skipped by lookups).
    removed: Vec<bool>,
    /// The live slot of each id.
    slots: HashMap<String, u32>,
}

impl Index {
    /// Build the index; the model is the config's fixed model if it names
    /// one, else estimated on the records (u from random pairs, m by EM).
    pub fn build(config: &Config, records: Vec<Record>) -> Result<Index, Error> {
        Index::build_with_model(config, records, None)
    }

    /// Build with a given model (e.g. trained once in batch and saved).
    pub fn build_with_model(config: &Config, records: Vec<Record>, model: Option<Model>) -> Result<Index, Error> {
        let compiled = Compiled::new(config, None)?;
        let prepared = prepare_records(&compiled, &records);
        let ids = records.into_iter().map(|r| r.id).collect();
        Index::from_prepared(compiled, prepared, ids, model)
    }

    /// Build from already prepared records (used by the CLI and benchmark).
    pub fn from_prepared(compiled: Compiled, prepared: PreparedSet, ids: Vec<String>, model: Option<Model>) -> Result<Index, Error> {
        let model = match model {
            Some(m) => {
                m.check_against(&compiled)?;
                Some(m)
            }
            None => fixed_model(&compiled)?,
        };
        let mut engine = Engine::new(compiled, prepared, None, engine::Use::Lookups);
        // A probe is not among the counted records.
        engine.tf.counts_both = false;
        let n = engine.records.len();
        let model = match model {
            Some(m) => m.for_size(n),
            None => engine.estimate(),
        };
        // An id given twice: the last record stands for it.
        let mut removed = vec![false; ids.len()];
        let mut slots = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            if let Some(old) = slots.insert(id.clone(), i as u32) {
                removed[old as usize] = true;
            }
        }
        Ok(Index { engine, ids, model, removed, slots })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// What the model is re-estimated with, copied (see [`Learner`]).
    pub fn learner(&self) -> Learner {
        Learner { compiled: self.engine.compiled.clone(), tf: self.engine.tf.clone(), size: self.len() }
    }

    /// Score with another model from now on (e.g. re-estimated from
    /// labelled pairs with [`learn`] or [`Learner::learn`]); λ is rescaled to the index's size
    /// when the model says what size it was estimated on.
    pub fn set_model(&mut self, model: Model) -> Result<(), Error> {
        model.check_against(&self.engine.compiled)?;
        self.model = model.for_size(self.len().max(2));
        Ok(())
    }
    /// Number of live records (withdrawn and replaced ones not counted).
    pub fn len(&self) -> usize {
        self.slots.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
    /// Whether a live record has this id.
    pub fn contains(&self, id: &str) -> bool {
        self.slots.contains_key(id)
    }

    /// Add a record (it becomes a candidate for later lookups). A live
    /// record with the same id is replaced (see [`Index::update`]).
    pub fn insert(&mut self, record: &Record) {
        self.remove(&record.id);
        let compiled = &self.engine.compiled;
        let get = |i: usize| record.get(&compiled.fields[i]);
        let (p, keys) = compiled.prepare(&get);
        if self.engine.tf.is_active() {
            self.engine.tf.add(&p);
        }
        let idx = self.engine.records.len() as u32;
        self.engine.records.push(p);
        self.ids.push(record.id.clone());
        self.removed.push(false);
        self.slots.insert(record.id.clone(), idx);
        for (rule, k) in self.engine.rules.iter_mut().zip(keys) {
            rule.push_record_keys(idx, &k);
        }
    }

    /// Replace the record of the same id by this one (after an edit: it is
    /// then found by its new values only). Returns whether a record with
    /// this id was there; if not, the record is simply added.
    pub fn update(&mut self, record: &Record) -> bool {
        let was = self.contains(&record.id);
        self.insert(record);
        was
    }

    /// Withdraw the record with this id: it is no longer returned by
    /// lookups. Returns whether there was one.
    pub fn remove(&mut self, id: &str) -> bool {
        match self.slots.remove(id) {
            Some(slot) => {
                self.removed[slot as usize] = true;
                true
            }
            None => false,
        }
    }

    /// Existing records that may be the same person as `record`, best
    /// first, at most `limit`, with probability ≥ the config threshold.
    pub fn candidates(&self, record: &Record, limit: usize) -> Vec<ScoredPair> {
        self.candidates_above(record, limit, self.engine.compiled.config.threshold)
    }

    /// Same as [`Index::candidates`] with an explicit probability floor.
    pub fn candidates_above(&self, record: &Record, limit: usize, min_probability: f64) -> Vec<ScoredPair> {
        let compiled = &self.engine.compiled;
        let get = |i: usize| record.get(&compiled.fields[i]);
        let (p, keys) = compiled.prepare(&get);
        let mut cands: Vec<u32> = Vec::new();
        for ((rule, ks), &max_block) in self.engine.rules.iter().zip(&keys).zip(&compiled.rule_max_block) {
            for k in ks {
                if rule.block_len(*k) > max_block {
                    continue;
                }
                cands.extend(rule.lookup(*k));
            }
        }
        cands.sort_unstable();
        cands.dedup();
        let scorer = engine::Scorer::new(compiled, &self.model, min_probability, &self.engine.tf);
        let mut scored: Vec<(f64, u64, u32)> = cands
            .into_iter()
            .filter(|&c| !self.removed[c as usize] && self.ids[c as usize] != record.id)
            .filter_map(|c| compiled.score_bounded(&p, &self.engine.records[c as usize], &scorer).map(|(w, pat)| (w, pat, c)))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(limit);
        scored
            .into_iter()
            .map(|(w, pat, c)| explain(compiled, &scorer, (&p, &self.engine.records[c as usize]), (&record.id, &self.ids[c as usize]), w, pat))
            .collect()
    }
}
