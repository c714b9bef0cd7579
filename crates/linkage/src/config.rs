//! The TOML configuration: fields, comparisons with their agreement levels,
//! blocking rules, EM settings. See `examples/people.toml`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Column holding the record id.
    #[serde(default = "default_id_field")]
    pub id_field: String,
    /// Keep pairs whose match probability is at least this (also the
    /// clustering threshold).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Multi-valued fields: field name → separator ("aliases" = "|").
    #[serde(default)]
    pub separators: BTreeMap<String, String>,
    /// Blocks larger than this are skipped (with a warning), to bound work.
    #[serde(default = "default_max_block")]
    pub max_block_size: usize,
    /// Smallest value frequency a term-frequency adjustment uses (values
    /// rarer than this weigh as if this frequent); 0: 1 / number of values.
    #[serde(default)]
    pub term_frequency_minimum: f64,
    /// Fixed m/u weights (JSON written by `--save-model`); when absent, m and
    /// u are estimated without labels.
    #[serde(default)]
    pub model_file: Option<PathBuf>,
    #[serde(default)]
    pub estimation: Estimation,
    /// Fields holding an estimated age rather than a birth year: field name →
    /// how to read it. An age (or an age band "25-34") given on a date
    /// becomes a birth-year interval, compared by `age` levels.
    #[serde(default)]
    pub ages: BTreeMap<String, AgeField>,
    #[serde(rename = "comparison", default)]
    pub comparisons: Vec<ComparisonConfig>,
    #[serde(rename = "blocking", default)]
    pub blocking: Vec<BlockingRule>,
}

fn default_id_field() -> String {
    "id".into()
}
fn default_threshold() -> f64 {
    0.5
}
fn default_max_block() -> usize {
    5000
}

/// An age field: the age (or band) a person gave or was given on a date.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgeField {
    /// Field holding the date (or year) the age was given on; when absent
    /// or empty, the current year.
    #[serde(default)]
    pub at: Option<String>,
    /// Extra ± years added to the birth-year interval of an age (how rough
    /// the estimates are); 0 keeps the interval of an exact age.
    #[serde(default)]
    pub uncertainty: i32,
}

/// Unsupervised estimation settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimation {
    /// Random record pairs drawn to estimate u (at least; see `u_pairs_per_record`).
    #[serde(default = "default_u_pairs")]
    pub u_random_pairs: usize,
    /// At least this many random pairs per record are drawn for u. In a
    /// file of n records a level agreeing by chance about once in n pairs
    /// (swapped names, a rare name) must be seen a few times, or its u is
    /// a guess and its weight off by bits: a fixed number of pairs that
    /// suits 10,000 records leaves those levels unseen at a million.
    #[serde(default = "default_u_per_record")]
    pub u_pairs_per_record: f64,
    /// Candidate pairs (sampled from the blocks) fed to EM.
    #[serde(default = "default_em_pairs")]
    pub em_max_pairs: usize,
    #[serde(default = "default_iters")]
    pub max_iterations: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Refuse implausible m estimates (an agreeing level less likely among
    /// matches than among non-matches, "else" likelier among matches than
    /// among non-matches, m not decreasing along a comparison's levels):
    /// such an estimate falls back to the comparison's prior m.
    #[serde(default = "default_true")]
    pub plausibility_check: bool,
    /// Weight of the prior m (pseudo-matches) in EM and in learning from
    /// labelled pairs.
    #[serde(default = "default_prior_weight")]
    pub prior_weight: f64,
}

fn default_true() -> bool {
    true
}
fn default_prior_weight() -> f64 {
    5.0
}

fn default_u_pairs() -> usize {
    1_000_000
}
fn default_u_per_record() -> f64 {
    3.0
}
fn default_em_pairs() -> usize {
    2_000_000
}
fn default_iters() -> usize {
    100
}
fn default_seed() -> u64 {
    42
}

impl Default for Estimation {
    fn default() -> Self {
        Estimation {
            u_random_pairs: default_u_pairs(),
            u_pairs_per_record: default_u_per_record(),
            em_max_pairs: default_em_pairs(),
            max_iterations: default_iters(),
            seed: default_seed(),
            plausibility_check: true,
            prior_weight: default_prior_weight(),
        }
    }
}

/// One comparison: a source (one or several fields) and ordered agreement
/// levels; the first level met wins, then "else"; "null" when a side is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonConfig {
    pub name: String,
    /// Shorthand for `fields = [field]`.
    #[serde(default)]
    pub field: Option<String>,
    /// Several fields: their values are pooled (any value may match any value),
    /// or joined with a space when `concat = true` (e.g. a full name).
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub concat: bool,
    /// Term-frequency adjustment (as splink does): an `exact` (or
    /// `phonetic`) agreement weighs log2(m / f) where f is the frequency of
    /// the agreeing value (or phonetic key) among the records, so agreeing
    /// on a rare name counts more than on a common one.
    #[serde(default)]
    pub term_frequency: bool,
    /// Prior m of the levels (then "else"), used as the EM starting point,
    /// Dirichlet prior and plausibility fallback; when absent, a decreasing
    /// default.
    #[serde(default)]
    pub m_prior: Option<Vec<f64>>,
    pub levels: Vec<Level>,
}

impl ComparisonConfig {
    pub fn field_list(&self) -> Vec<String> {
        let mut v = self.fields.clone();
        if let Some(f) = &self.field {
            v.insert(0, f.clone());
        }
        v
    }
}

/// Agreement levels (comparators).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Level {
    /// Equal after normalisation (accents, case, punctuation).
    Exact,
    /// Jaro-Winkler similarity ≥ threshold (best of full and particle-less forms).
    JaroWinkler { threshold: f64 },
    /// Damerau-Levenshtein distance ≤ max.
    DamerauLevenshtein { max: usize },
    /// Soft token-set similarity ≥ threshold (compound and reordered names).
    TokenSet { threshold: f64 },
    /// Same French/transliteration phonetic key.
    Phonetic,
    /// This field matches the other record's `with` field and vice versa
    /// (first and last names swapped), Jaro-Winkler ≥ threshold.
    Swap {
        with: String,
        #[serde(default = "default_swap")]
        threshold: f64,
    },
    /// Stated years (or years of dates) within tolerance; never met when a
    /// side is an estimated age (see `age`).
    Year { tolerance: i32 },
    /// Birth years when at least one side comes from an estimated age
    /// (`[ages]`): intervals within tolerance. A separate level so that a
    /// rough estimate weighs less than a stated year.
    Age { tolerance: i32 },
    /// This field agrees with the other record's `with` field in one
    /// direction (a given name typed in the family-name box while the other
    /// record has only a given name), Jaro-Winkler ≥ threshold.
    Cross {
        with: String,
        #[serde(default = "default_swap")]
        threshold: f64,
    },
    /// Same calendar date.
    Date,
    /// Same date with day and month transposed.
    DateTransposed,
    /// Same first letter.
    Initial,
}

fn default_swap() -> f64 {
    0.9
}

impl Level {
    /// Human-readable label, shown as the explanation of a pair.
    pub fn label(&self) -> String {
        match self {
            Level::Exact => "exact".into(),
            Level::JaroWinkler { threshold } => format!("jaro_winkler>={threshold}"),
            Level::DamerauLevenshtein { max } => format!("damerau_levenshtein<={max}"),
            Level::TokenSet { threshold } => format!("token_set>={threshold}"),
            Level::Phonetic => "phonetic".into(),
            Level::Swap { with, .. } => format!("swapped_with_{with}"),
            Level::Year { tolerance } => format!("year_within_{tolerance}"),
            Level::Age { tolerance } => format!("age_within_{tolerance}"),
            Level::Cross { with, .. } => format!("crossed_with_{with}"),
            Level::Date => "same_date".into(),
            Level::DateTransposed => "day_month_transposed".into(),
            Level::Initial => "initial".into(),
        }
    }
}

/// A blocking rule: records sharing every part of the key become candidate
/// pairs. Rules are unioned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingRule {
    #[serde(default)]
    pub name: Option<String>,
    /// Blocks of this rule larger than this are skipped (default: the
    /// config's `max_block_size`): a loose rule (a given name and an age)
    /// is kept for rare values only.
    #[serde(default)]
    pub max_block_size: Option<usize>,
    pub keys: Vec<KeyPart>,
}

/// One part of a blocking key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPart {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub transform: Transform,
    /// For `prefix`: number of letters; for `year`: window (± years).
    #[serde(default)]
    pub n: Option<usize>,
    /// For `year`: group years by this many (1980-1984, 1985-1989…): a
    /// record goes in the groups its years ± window touch. Fewer, larger
    /// blocks than one per year.
    #[serde(default)]
    pub bucket: Option<usize>,
}

impl KeyPart {
    pub fn field_list(&self) -> Vec<String> {
        let mut v = self.fields.clone();
        if let Some(f) = &self.field {
            v.insert(0, f.clone());
        }
        v
    }
}

/// How a key part is derived from the field values.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Normalised value.
    #[default]
    Exact,
    /// Phonetic key of the value.
    Phonetic,
    /// One key per name token (phonetic): any shared token joins the block.
    TokenPhonetic,
    /// Phonetic keys of all tokens of all listed fields, sorted: robust to
    /// swapped first/last names. No key when fewer than two distinct tokens
    /// (one name alone would make huge blocks).
    SortedPhonetic,
    /// First n letters of the normalised value.
    Prefix,
    /// One key per normalised name token (particles glued: "ben ali" is
    /// one token): any shared token joins the block.
    Token,
    /// Every name token (at least n letters, default 4) and each of its
    /// one-letter deletions ("yacine": "acine", "ycine"…): two spellings one
    /// typo or one transliterated letter apart share a key.
    TokenDeletions,
    /// First n letters of every token of all listed fields, sorted: robust
    /// to swapped names and to misspellings past the first letters. No key
    /// when fewer than two distinct tokens.
    SortedPrefix,
    /// Year (of a year or a date), with an optional ± window.
    Year,
    /// Full date, also under its day/month transposition.
    Date,
}

impl Config {
    pub fn from_toml_str(s: &str) -> Result<Config, crate::Error> {
        let cfg: Config = toml::from_str(s).map_err(|e| crate::Error::Config(e.to_string()))?;
        cfg.check()?;
        Ok(cfg)
    }

    pub fn from_path(path: &std::path::Path) -> Result<Config, crate::Error> {
        let s = std::fs::read_to_string(path).map_err(|e| crate::Error::Config(format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml_str(&s).map_err(|e| match e {
            crate::Error::Config(m) => crate::Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Static checks (the field names are checked against the data later).
    pub fn check(&self) -> Result<(), crate::Error> {
        use crate::Error::Config as E;
        if self.comparisons.is_empty() {
            return Err(E("at least one [[comparison]] is needed".into()));
        }
        if self.comparisons.len() > 15 {
            return Err(E("at most 15 comparisons are supported".into()));
        }
        if self.blocking.is_empty() {
            return Err(E("at least one [[blocking]] rule is needed".into()));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(E(format!("threshold must be within 0..1, got {}", self.threshold)));
        }
        let per_record = self.estimation.u_pairs_per_record;
        if !per_record.is_finite() || !(0.0..=1000.0).contains(&per_record) {
            return Err(E(format!("[estimation] u_pairs_per_record must be within 0..1000, got {per_record}")));
        }
        for c in &self.comparisons {
            if c.field_list().is_empty() {
                return Err(E(format!("comparison '{}' names no field", c.name)));
            }
            if c.levels.is_empty() || c.levels.len() > 13 {
                return Err(E(format!("comparison '{}' needs 1 to 13 levels", c.name)));
            }
            for l in &c.levels {
                match l {
                    Level::JaroWinkler { threshold } | Level::TokenSet { threshold } if !(0.0..=1.0).contains(threshold) => {
                        return Err(E(format!("comparison '{}': threshold {threshold} is not within 0..1", c.name)));
                    }
                    Level::Year { tolerance } | Level::Age { tolerance } if *tolerance < 0 => {
                        return Err(E(format!("comparison '{}': negative tolerance", c.name)));
                    }
                    _ => {}
                }
            }
        }
        for (c, p) in self.comparisons.iter().filter_map(|c| c.m_prior.as_ref().map(|p| (c, p))) {
            if p.len() != c.levels.len() + 1 || p.iter().any(|x| !x.is_finite() || *x <= 0.0) {
                return Err(E(format!("comparison '{}': m_prior needs {} positive numbers (the levels, then else)", c.name, c.levels.len() + 1)));
            }
        }
        for (i, r) in self.blocking.iter().enumerate() {
            if r.keys.is_empty() {
                return Err(E(format!("blocking rule {} has no key", i + 1)));
            }
            for k in &r.keys {
                if k.field_list().is_empty() {
                    return Err(E(format!("blocking rule {}: a key part names no field", i + 1)));
                }
                if matches!(k.transform, Transform::Prefix | Transform::SortedPrefix) && k.n.unwrap_or(0) == 0 {
                    return Err(E(format!("blocking rule {}: prefix needs n >= 1", i + 1)));
                }
            }
        }
        Ok(())
    }

    /// Every field name the configuration refers to, in first-use order.
    pub fn referenced_fields(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |f: &String| {
            if !out.contains(f) {
                out.push(f.clone());
            }
        };
        for c in &self.comparisons {
            for f in c.field_list() {
                add(&f);
            }
            for l in &c.levels {
                if let Level::Swap { with, .. } | Level::Cross { with, .. } = l {
                    add(with);
                }
            }
        }
        for a in self.ages.values() {
            if let Some(at) = &a.at {
                add(at);
            }
        }
        for r in &self.blocking {
            for k in &r.keys {
                for f in k.field_list() {
                    add(&f);
                }
            }
        }
        out
    }
}
