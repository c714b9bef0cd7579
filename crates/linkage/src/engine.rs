//! Compiled configuration, prepared records, blocking and pair scoring.
//!
//! Memory is proportional to the input: records are prepared once, blocking
//! keys are kept in sorted arrays, candidate pairs are generated block by
//! block (in parallel) and only pairs above the threshold are kept.

use crate::config::{Config, Level, Transform};
use crate::model::Model;
use crate::normalize::{core_tokens, glued_tokens, normalize};
use crate::phonetic::key_of_letters;
use crate::similarity::{damerau_levenshtein, jaro_winkler, token_set};
use crate::Error;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// Level code meaning "one side has no value".
pub const NULL_LEVEL: u8 = 15;

/// One prepared value: normalised forms packed in one allocation, years
/// and date packed small (a million records hold millions of values).
#[derive(Debug, Clone)]
pub struct Value {
    buf: Box<str>,
    ends: [u16; 4],
    /// Birth-year interval (a stated year is a one-year interval);
    /// `NO_YEAR` in both when there is none.
    years: (i16, i16),
    /// Date as year, month, day; year `NO_YEAR` when there is none.
    date: (i16, u8, u8),
    /// Whether `years` comes from an estimated age.
    estimate: bool,
}

/// Longest normalised value compared, in bytes.
pub const MAX_VALUE_BYTES: usize = 500;

/// A normalised value cut to [`MAX_VALUE_BYTES`] (blocking keys of a
/// 100,000-letter "name" would take minutes: every one-letter deletion).
fn cut(mut norm: String) -> String {
    norm.truncate(cut_at(&norm));
    norm
}

/// Where [`cut`] cuts: the last character boundary within [`MAX_VALUE_BYTES`].
fn cut_at(s: &str) -> usize {
    if s.len() <= MAX_VALUE_BYTES {
        return s.len();
    }
    (0..=MAX_VALUE_BYTES).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0)
}

/// "No year" in a packed [`Value`].
const NO_YEAR: i16 = i16::MIN;

/// Years are kept as `i16`: parsing keeps them within 1000..=2999 and an
/// age's interval within a few hundred years of that.
fn pack_years(y: Option<(i32, i32)>) -> (i16, i16) {
    match y {
        Some((lo, hi)) => (lo.clamp(-32_000, 32_000) as i16, hi.clamp(-32_000, 32_000) as i16),
        None => (NO_YEAR, NO_YEAR),
    }
}

fn letters(s: &str) -> Vec<u8> {
    s.bytes().filter(|b| b.is_ascii_lowercase()).collect()
}

impl Value {
    /// Prepare a raw value; `None` when nothing is left after normalisation.
    pub fn new(raw: &str) -> Option<Value> {
        Value::from_norm(raw, &normalize(raw))
    }

    /// Prepare from a raw value and its [`normalize`]d form.
    pub fn from_norm(raw: &str, norm: &str) -> Option<Value> {
        if norm.is_empty() {
            return None;
        }
        // A value longer than this is not a name, a date or a phone (a
        // paragraph pasted in a name box): it is cut, on a character
        // boundary, so that comparisons stay fast and offsets fit a u16.
        let norm = &norm[..cut_at(norm)];
        let compact: String = norm.chars().filter(|c| *c != ' ').collect();
        let core: String = core_tokens(norm).concat();
        let phon = key_of_letters(&letters(&compact));
        let phon_core = key_of_letters(&letters(&core));
        let tokens = glued_tokens(norm).join(" ");
        let mut buf = String::with_capacity(compact.len() + core.len() + phon.len() + phon_core.len() + tokens.len());
        let mut ends = [0u16; 4];
        buf.push_str(&compact);
        ends[0] = buf.len() as u16;
        buf.push_str(&core);
        ends[1] = buf.len() as u16;
        buf.push_str(&phon);
        ends[2] = buf.len() as u16;
        buf.push_str(&phon_core);
        ends[3] = buf.len() as u16;
        buf.push_str(&tokens);
        let date = parse_date(raw);
        let year = date.map(|d| d.0).or_else(|| parse_year(raw));
        let packed_date = date.map_or((NO_YEAR, 0, 0), |(y, m, d)| (y as i16, m as u8, d as u8));
        Some(Value { buf: buf.into_boxed_str(), ends, years: pack_years(year.map(|y| (y, y))), date: packed_date, estimate: false })
    }
    pub fn compact(&self) -> &str {
        &self.buf[..self.ends[0] as usize]
    }
    pub fn core(&self) -> &str {
        &self.buf[self.ends[0] as usize..self.ends[1] as usize]
    }
    pub fn phonetic(&self) -> &str {
        &self.buf[self.ends[1] as usize..self.ends[2] as usize]
    }
    pub fn phonetic_core(&self) -> &str {
        &self.buf[self.ends[2] as usize..self.ends[3] as usize]
    }
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.buf[self.ends[3] as usize..].split(' ').filter(|t| !t.is_empty())
    }
    /// The stated year, or the middle of an estimate's interval.
    pub fn year(&self) -> Option<i32> {
        self.years().map(|(lo, hi)| (lo + hi + 1).div_euclid(2))
    }
    /// Birth-year interval.
    pub fn years(&self) -> Option<(i32, i32)> {
        (self.years.0 != NO_YEAR).then_some((i32::from(self.years.0), i32::from(self.years.1)))
    }
    /// Whether the years come from an estimated age.
    pub fn is_estimate(&self) -> bool {
        self.estimate
    }
    pub fn date(&self) -> Option<(i32, u32, u32)> {
        let (y, m, d) = self.date;
        (y != NO_YEAR).then_some((i32::from(y), u32::from(m), u32::from(d)))
    }
}

/// Digits runs of a string.
fn digit_runs(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_ascii_digit()).filter(|t| !t.is_empty()).collect()
}

/// Dates as YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD, DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY.
/// Day and month are only checked to be within 1..=31 so that transposed
/// dates stay comparable.
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let runs = digit_runs(s.trim());
    let ok = |y: i32, m: u32, d: u32| {
        if (1000..=2999).contains(&y) && (1..=31).contains(&m) && (1..=31).contains(&d) {
            Some((y, m, d))
        } else {
            None
        }
    };
    match runs.as_slice() {
        [one] if one.len() == 8 => {
            let y = one[..4].parse().ok()?;
            let m = one[4..6].parse().ok()?;
            let d = one[6..8].parse().ok()?;
            ok(y, m, d)
        }
        [a, b, c] if a.len() == 4 => ok(a.parse().ok()?, b.parse().ok()?, c.parse().ok()?),
        [a, b, c] if c.len() == 4 => ok(c.parse().ok()?, b.parse().ok()?, a.parse().ok()?),
        _ => None,
    }
}

/// A plausible year (a 4-digit run between 1000 and 2999), e.g. "1978", "vers 1978".
pub fn parse_year(s: &str) -> Option<i32> {
    digit_runs(s).into_iter().filter(|r| r.len() == 4).filter_map(|r| r.parse::<i32>().ok()).find(|y| (1000..=2999).contains(y))
}

/// Birth-year interval of an age ("35", "35 ans", "environ 35", or a band
/// "25-34") given in `at_year`, widened by `uncertainty` on each side.
pub fn age_interval(raw: &str, at_year: i32, uncertainty: i32) -> Option<(i32, i32)> {
    let runs: Vec<i32> = digit_runs(raw).into_iter().filter(|r| r.len() <= 3).filter_map(|r| r.parse().ok()).filter(|a| (0..130).contains(a)).collect();
    let (young, old) = match runs.as_slice() {
        [a] => (*a, *a),
        [a, b, ..] => (*a.min(b), *a.max(b)),
        [] => return None,
    };
    Some((at_year - old - 1 - uncertainty, at_year - young + uncertainty))
}

/// Years between two intervals (0 when they overlap).
fn gap(a: (i32, i32), b: (i32, i32)) -> i32 {
    (b.0 - a.1).max(a.0 - b.1).max(0)
}

/// The current year (UTC), for ages given without a date.
fn current_year() -> i32 {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    1970 + (secs / 31_556_952) as i32
}

/// Where a comparison takes its values from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Source {
    pub(crate) fields: Vec<usize>,
    concat: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum CLevel {
    Exact,
    Jw(f64),
    Dl(usize),
    TokenSet(f64),
    Phonetic,
    Swap { with: usize, threshold: f64 },
    Year(i32),
    Age(i32),
    Cross { with: usize, threshold: f64 },
    Date,
    DateTransposed,
    Initial,
}

#[derive(Debug, Clone)]
pub(crate) struct CComparison {
    pub name: String,
    pub(crate) source: usize,
    levels: Vec<CLevel>,
    /// Largest Damerau-Levenshtein threshold of the levels.
    dl_cap: usize,
    pub labels: Vec<String>,
    /// Term-frequency adjustment of `exact` and `phonetic` levels.
    pub(crate) tf: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct CPart {
    pub(crate) fields: Vec<usize>,
    transform: Transform,
    n: usize,
    bucket: i32,
}

/// How an age field is read: the field holding the date it was given on, and the extra ± years.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CAge {
    at: Option<usize>,
    uncertainty: i32,
}

/// Configuration resolved against a list of field names.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub config: Config,
    /// Field names, in the order accessors are asked for them.
    pub fields: Vec<String>,
    separators: Vec<Option<String>>,
    pub(crate) sources: Vec<Source>,
    pub(crate) comparisons: Vec<CComparison>,
    pub(crate) rules: Vec<Vec<CPart>>,
    /// Per rule: blocks larger than this are skipped.
    pub(crate) rule_max_block: Vec<usize>,
    /// Per field: how to read it when it is an age field.
    ages: Vec<Option<CAge>>,
    this_year: i32,
}

impl Compiled {
    /// Resolve the configuration. `available`, when given, lists the fields
    /// the data has; an unknown field is then an error naming it.
    pub fn new(config: &Config, available: Option<&[String]>) -> Result<Compiled, Error> {
        config.check()?;
        let fields = config.referenced_fields();
        if let Some(av) = available {
            for f in &fields {
                if !av.contains(f) {
                    let mut where_used = Vec::new();
                    for c in &config.comparisons {
                        if c.field_list().contains(f) || c.levels.iter().any(|l| matches!(l, Level::Swap { with, .. } if with == f)) {
                            where_used.push(format!("comparison '{}'", c.name));
                        }
                    }
                    for (i, r) in config.blocking.iter().enumerate() {
                        if r.keys.iter().any(|k| k.field_list().contains(f)) {
                            where_used.push(format!("blocking rule {}", i + 1));
                        }
                    }
                    return Err(Error::Config(format!("unknown field '{f}' (used by {}); the data has: {}", where_used.join(", "), av.join(", "))));
                }
            }
        }
        for f in config.separators.keys() {
            if !fields.contains(f) {
                return Err(Error::Config(format!("separator given for field '{f}', which no comparison or blocking rule uses")));
            }
        }
        for f in config.ages.keys() {
            if !fields.contains(f) {
                return Err(Error::Config(format!("[ages] names field '{f}', which no comparison or blocking rule uses")));
            }
        }
        let idx = |f: &str| fields.iter().position(|x| x == f).expect("referenced field");
        let separators = fields.iter().map(|f| config.separators.get(f).cloned()).collect();
        let mut sources: Vec<Source> = Vec::new();
        let mut source_of = |s: Source| -> usize {
            if let Some(p) = sources.iter().position(|x| *x == s) {
                p
            } else {
                sources.push(s);
                sources.len() - 1
            }
        };
        let mut comparisons = Vec::new();
        for c in &config.comparisons {
            let src = source_of(Source { fields: c.field_list().iter().map(|f| idx(f)).collect(), concat: c.concat });
            let mut levels = Vec::new();
            for l in &c.levels {
                levels.push(match l {
                    Level::Exact => CLevel::Exact,
                    Level::JaroWinkler { threshold } => CLevel::Jw(*threshold),
                    Level::DamerauLevenshtein { max } => CLevel::Dl(*max),
                    Level::TokenSet { threshold } => CLevel::TokenSet(*threshold),
                    Level::Phonetic => CLevel::Phonetic,
                    Level::Swap { with, threshold } => {
                        CLevel::Swap { with: source_of(Source { fields: vec![idx(with)], concat: false }), threshold: *threshold }
                    }
                    Level::Year { tolerance } => CLevel::Year(*tolerance),
                    Level::Age { tolerance } => CLevel::Age(*tolerance),
                    Level::Cross { with, threshold } => {
                        CLevel::Cross { with: source_of(Source { fields: vec![idx(with)], concat: false }), threshold: *threshold }
                    }
                    Level::Date => CLevel::Date,
                    Level::DateTransposed => CLevel::DateTransposed,
                    Level::Initial => CLevel::Initial,
                });
            }
            let mut labels: Vec<String> = c.levels.iter().map(|l| l.label()).collect();
            labels.push("else".into());
            let dl_cap = levels.iter().map(|l| if let CLevel::Dl(m) = l { *m } else { 0 }).max().unwrap_or(0);
            comparisons.push(CComparison { name: c.name.clone(), source: src, levels, labels, dl_cap, tf: c.term_frequency });
        }
        let rules = config
            .blocking
            .iter()
            .map(|r| {
                r.keys
                    .iter()
                    .map(|k| CPart {
                        fields: k.field_list().iter().map(|f| idx(f)).collect(),
                        transform: k.transform,
                        n: k.n.unwrap_or(match k.transform {
                            Transform::Prefix | Transform::SortedPrefix => 3,
                            Transform::TokenDeletions => 4,
                            _ => 0,
                        }),
                        bucket: k.bucket.unwrap_or(1).max(1) as i32,
                    })
                    .collect()
            })
            .collect();
        let rule_max_block = config.blocking.iter().map(|r| r.max_block_size.unwrap_or(config.max_block_size).max(2)).collect();
        let ages = fields.iter().map(|f| config.ages.get(f).map(|a| CAge { at: a.at.as_ref().map(|x| idx(x)), uncertainty: a.uncertainty })).collect();
        Ok(Compiled { config: config.clone(), fields, separators, sources, comparisons, rules, rule_max_block, ages, this_year: current_year() })
    }

    pub fn n_rules(&self) -> usize {
        self.rules.len()
    }

    /// Raw values of one field, split on its separator.
    fn raw_values<'a>(&'a self, field: usize, get: &'a dyn Fn(usize) -> Option<&'a str>) -> Vec<&'a str> {
        match get(field) {
            None => vec![],
            Some(v) => match &self.separators[field] {
                Some(sep) => v.split(sep.as_str()).map(str::trim).filter(|s| !s.is_empty()).collect(),
                None => {
                    let t = v.trim();
                    if t.is_empty() {
                        vec![]
                    } else {
                        vec![t]
                    }
                }
            },
        }
    }

    /// Prepare a record from an accessor giving the raw value of field `i`
    /// (index into `self.fields`). Returns the prepared values and the
    /// blocking keys of every rule.
    pub fn prepare<'a>(&'a self, get: &'a dyn Fn(usize) -> Option<&'a str>) -> (Prepared, Vec<Vec<u64>>) {
        // Every field value normalised once, shared by comparisons and keys.
        let fv: Vec<Vec<(&str, String)>> = (0..self.fields.len())
            .map(|f| self.raw_values(f, get).into_iter().map(|raw| (raw, cut(normalize(raw)))).filter(|(_, n)| !n.is_empty()).collect())
            .collect();
        let mut vals = Vec::with_capacity(self.sources.len());
        for s in &self.sources {
            let mut v = Vec::new();
            if s.concat {
                let raws: Vec<&str> = s.fields.iter().flat_map(|&f| fv[f].iter().map(|x| x.0)).collect();
                let norms: Vec<&str> = s.fields.iter().flat_map(|&f| fv[f].iter().map(|x| x.1.as_str())).collect();
                if let Some(x) = Value::from_norm(&raws.join(" "), &norms.join(" ")) {
                    v.push(x);
                }
            } else {
                for &f in &s.fields {
                    for (raw, norm) in &fv[f] {
                        if let Some(mut x) = Value::from_norm(raw, norm) {
                            if self.ages[f].is_some() {
                                x.years = pack_years(self.years_of(f, raw, &fv));
                                x.estimate = true;
                            }
                            v.push(x);
                        }
                    }
                }
            }
            vals.push(v);
        }
        let keys = self.rules.iter().enumerate().map(|(ri, r)| self.rule_keys(ri, r, &fv)).collect();
        (Prepared::new(vals), keys)
    }

    /// Birth-year interval of a raw value of field `f` (an age field or a year/date).
    fn years_of(&self, f: usize, raw: &str, fv: &[Vec<(&str, String)>]) -> Option<(i32, i32)> {
        match self.ages[f] {
            Some(age) => {
                let at = age.at.and_then(|a| fv[a].first()).and_then(|(r, _)| parse_date(r).map(|d| d.0).or_else(|| parse_year(r))).unwrap_or(self.this_year);
                age_interval(raw, at, age.uncertainty)
            }
            None => parse_date(raw).map(|d| d.0).or_else(|| parse_year(raw)).map(|y| (y, y)),
        }
    }

    fn rule_keys(&self, ri: usize, parts: &[CPart], fv: &[Vec<(&str, String)>]) -> Vec<u64> {
        let mut combos: Vec<u64> = vec![fnv(FNV_OFFSET, &(ri as u64).to_le_bytes())];
        for p in parts {
            let pk = self.part_keys(p, fv);
            if pk.is_empty() {
                return vec![];
            }
            let mut next = Vec::with_capacity(combos.len() * pk.len());
            for h in &combos {
                for k in &pk {
                    next.push(fnv(fnv(*h, k.as_bytes()), b"\x1f"));
                    if next.len() >= 64 {
                        break;
                    }
                }
            }
            combos = next;
        }
        combos.sort_unstable();
        combos.dedup();
        combos
    }

    fn part_keys(&self, p: &CPart, fv: &[Vec<(&str, String)>]) -> Vec<String> {
        let vals: Vec<&(&str, String)> = p.fields.iter().flat_map(|&f| fv[f].iter()).collect();
        if p.transform == Transform::Year {
            let mut out: Vec<String> = Vec::new();
            let w = p.n as i32;
            for &f in &p.fields {
                for (r, _) in &fv[f] {
                    if let Some((lo, hi)) = self.years_of(f, r, fv) {
                        for yy in ((lo - w).div_euclid(p.bucket))..=((hi + w).div_euclid(p.bucket)) {
                            out.push(yy.to_string());
                        }
                    }
                }
            }
            out.sort();
            out.dedup();
            return out;
        }
        let mut out: Vec<String> = Vec::new();
        match p.transform {
            Transform::SortedPhonetic => {
                let mut toks: Vec<String> = Vec::new();
                for (_, n) in &vals {
                    for t in glued_tokens(n) {
                        let k = key_of_letters(&letters(&t));
                        if !k.is_empty() {
                            toks.push(k);
                        }
                    }
                }
                toks.sort();
                toks.dedup();
                // A single name says too little to block on (huge blocks).
                if toks.len() >= 2 {
                    out.push(toks.join(" "));
                }
            }
            Transform::SortedPrefix => {
                let mut toks: Vec<String> = Vec::new();
                for (_, n) in &vals {
                    for t in glued_tokens(n) {
                        let k: String = t.chars().filter(|c| c.is_ascii_lowercase()).take(p.n).collect();
                        if !k.is_empty() {
                            toks.push(k);
                        }
                    }
                }
                toks.sort();
                toks.dedup();
                if toks.len() >= 2 {
                    out.push(toks.join(" "));
                }
            }
            _ => {
                for (r, n) in &vals {
                    match p.transform {
                        Transform::Exact => {
                            out.push(n.chars().filter(|c| *c != ' ').collect());
                        }
                        Transform::Phonetic => {
                            let k = key_of_letters(&letters(n));
                            if !k.is_empty() {
                                out.push(k);
                            }
                        }
                        Transform::TokenPhonetic => {
                            for t in glued_tokens(n) {
                                let k = key_of_letters(&letters(&t));
                                if k.len() >= 2 {
                                    out.push(k);
                                }
                            }
                        }
                        Transform::Prefix => {
                            out.push(n.chars().filter(|c| *c != ' ').take(p.n).collect());
                        }
                        Transform::Token => {
                            for t in glued_tokens(n) {
                                if t.len() >= 2 {
                                    out.push(t);
                                }
                            }
                        }
                        Transform::TokenDeletions => {
                            for t in glued_tokens(n) {
                                let l = letters(&t);
                                if l.len() < p.n {
                                    continue;
                                }
                                out.push(String::from_utf8_lossy(&l).into_owned());
                                for i in 0..l.len() {
                                    let mut d = l.clone();
                                    d.remove(i);
                                    out.push(String::from_utf8_lossy(&d).into_owned());
                                }
                            }
                        }
                        Transform::Year => {}
                        Transform::Date => {
                            if let Some((y, m, d)) = parse_date(r) {
                                out.push(format!("{y}-{m}-{d}"));
                                if m != d {
                                    out.push(format!("{y}-{d}-{m}"));
                                }
                            }
                        }
                        Transform::SortedPhonetic | Transform::SortedPrefix => {}
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Agreement level of one comparison for a pair.
    pub(crate) fn level(&self, c: &CComparison, a: &Prepared, b: &Prepared) -> u8 {
        self.level_with(c, a, b, &mut PairMemo::default())
    }

    /// [`Compiled::level`], with the similarities already computed for this pair.
    fn level_with(&self, c: &CComparison, a: &Prepared, b: &Prepared, memo: &mut PairMemo) -> u8 {
        let va = a.of(c.source);
        let vb = b.of(c.source);
        if va.is_empty() || vb.is_empty() {
            return NULL_LEVEL;
        }
        let mut dl: Option<usize> = None;
        let mut ts: Option<f64> = None;
        for (li, l) in c.levels.iter().enumerate() {
            let ok = match l {
                CLevel::Exact => any(va, vb, |x, y| x.compact() == y.compact()),
                CLevel::Jw(t) => memo.jw(c.source, c.source, va, vb) >= *t,
                CLevel::Dl(m) => {
                    let cap = c.dl_cap;
                    *dl.get_or_insert_with(|| min_dl(va, vb, cap)) <= *m
                }
                CLevel::TokenSet(t) => *ts.get_or_insert_with(|| max_ts(va, vb)) >= *t,
                CLevel::Phonetic => any(va, vb, |x, y| {
                    (!x.phonetic().is_empty() && x.phonetic() == y.phonetic()) || (!x.phonetic_core().is_empty() && x.phonetic_core() == y.phonetic_core())
                }),
                CLevel::Swap { with, threshold } => {
                    let wa = a.of(*with);
                    let wb = b.of(*with);
                    !wa.is_empty() && !wb.is_empty() && memo.jw(c.source, *with, va, wb) >= *threshold && memo.jw(*with, c.source, wa, vb) >= *threshold
                }
                CLevel::Year(tol) => any(va, vb, |x, y| match (x.years(), y.years()) {
                    (Some(p), Some(q)) => !x.estimate && !y.estimate && gap(p, q) <= *tol,
                    _ => false,
                }),
                CLevel::Age(tol) => any(va, vb, |x, y| match (x.years(), y.years()) {
                    (Some(p), Some(q)) => (x.estimate || y.estimate) && gap(p, q) <= *tol,
                    _ => false,
                }),
                CLevel::Cross { with, threshold } => {
                    let wa = a.of(*with);
                    let wb = b.of(*with);
                    (!wb.is_empty() && memo.jw(c.source, *with, va, wb) >= *threshold) || (!wa.is_empty() && memo.jw(*with, c.source, wa, vb) >= *threshold)
                }
                CLevel::Date => any(va, vb, |x, y| match (x.date(), y.date()) {
                    (Some(p), Some(q)) => p == q,
                    _ => x.compact() == y.compact(),
                }),
                CLevel::DateTransposed => any(va, vb, |x, y| match (x.date(), y.date()) {
                    (Some((y1, m1, d1)), Some((y2, m2, d2))) => y1 == y2 && m1 == d2 && d1 == m2 && m1 != d1,
                    _ => false,
                }),
                CLevel::Initial => any(va, vb, |x, y| x.compact().as_bytes().first() == y.compact().as_bytes().first()),
            };
            if ok {
                return li as u8;
            }
        }
        c.levels.len() as u8
    }

    /// Packed levels of all comparisons (4 bits each).
    pub(crate) fn pattern(&self, a: &Prepared, b: &Prepared) -> u64 {
        let mut p = 0u64;
        let mut memo = PairMemo::default();
        for (i, c) in self.comparisons.iter().enumerate() {
            p |= (self.level_with(c, a, b, &mut memo) as u64) << (4 * i);
        }
        p
    }

    /// Swap levels that repeat an earlier comparison's swap level (given_name
    /// swapped with family_name *and* family_name swapped with given_name
    /// are one event): (comparison, level) whose weight must be neutral so
    /// the evidence is not counted twice.
    pub(crate) fn redundant_swaps(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (ci, c) in self.comparisons.iter().enumerate() {
            for (li, l) in c.levels.iter().enumerate() {
                match l {
                    CLevel::Swap { with, .. } => {
                        let earlier = self.comparisons[..ci]
                            .iter()
                            .any(|o| o.source == *with && o.levels.iter().any(|ol| matches!(ol, CLevel::Swap { with: w2, .. } if *w2 == c.source)));
                        if earlier {
                            out.push((ci, li));
                        }
                    }
                    CLevel::Cross { with, .. } => {
                        let earlier = self.comparisons[..ci]
                            .iter()
                            .any(|o| o.source == *with && o.levels.iter().any(|ol| matches!(ol, CLevel::Cross { with: w2, .. } if *w2 == c.source)));
                        if earlier {
                            out.push((ci, li));
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Comparison indexes, cheapest first (for early rejection while scoring).
    pub(crate) fn cheap_order(&self) -> Vec<usize> {
        let cost = |c: &CComparison| -> u32 {
            c.levels
                .iter()
                .map(|l| match l {
                    CLevel::Exact | CLevel::Year(_) | CLevel::Age(_) | CLevel::Date | CLevel::DateTransposed | CLevel::Initial => 1,
                    CLevel::Phonetic => 2,
                    CLevel::Jw(_) => 5,
                    CLevel::Dl(_) => 8,
                    CLevel::Swap { .. } | CLevel::Cross { .. } => 10,
                    CLevel::TokenSet(_) => 15,
                })
                .sum()
        };
        let mut order: Vec<usize> = (0..self.comparisons.len()).collect();
        order.sort_by_key(|&i| cost(&self.comparisons[i]));
        order
    }

    /// Weight and pattern of a pair, or `None` as soon as the pair cannot
    /// reach `wcut` any more (`bound[k]`: best possible weight of the
    /// comparisons `order[k..]`).
    pub(crate) fn score_bounded(&self, a: &Prepared, b: &Prepared, scorer: &Scorer) -> Option<(f64, u64)> {
        let mut w = scorer.prior;
        let mut p = 0u64;
        let mut memo = PairMemo::default();
        for (k, &ci) in scorer.order.iter().enumerate() {
            if w + scorer.bound[k] < scorer.wcut {
                return None;
            }
            let l = self.level_with(&self.comparisons[ci], a, b, &mut memo);
            p |= (l as u64) << (4 * ci);
            if l != NULL_LEVEL {
                w += self.level_weight(ci, l, a, b, scorer);
            }
        }
        (w >= scorer.wcut).then_some((w, p))
    }

    /// Weight of level `l` of comparison `ci` for this pair: the model's,
    /// or, for a term-frequency adjusted level, log2(m / frequency of the
    /// agreeing value).
    pub(crate) fn level_weight(&self, ci: usize, l: u8, a: &Prepared, b: &Prepared, scorer: &Scorer) -> f64 {
        let base = scorer.table[ci][l as usize];
        let Some((kind, log2m, own)) = scorer.tf_levels[ci].get(l as usize).copied().flatten() else { return base };
        let src = self.comparisons[ci].source;
        match scorer.tf.frequency(src, kind, a.of(src), b.of(src), own) {
            Some(f) => log2m - f.max(scorer.tf_minimum).log2(),
            None => base,
        }
    }

    /// Number of levels (else included) of each comparison.
    pub fn level_counts(&self) -> Vec<usize> {
        self.comparisons.iter().map(|c| c.levels.len() + 1).collect()
    }

    pub fn comparison_names(&self) -> Vec<String> {
        self.comparisons.iter().map(|c| c.name.clone()).collect()
    }

    pub fn labels(&self) -> Vec<Vec<String>> {
        self.comparisons.iter().map(|c| c.labels.clone()).collect()
    }
}

pub fn level_at(pattern: u64, c: usize) -> u8 {
    ((pattern >> (4 * c)) & 15) as u8
}

fn any(va: &[Value], vb: &[Value], f: impl Fn(&Value, &Value) -> bool) -> bool {
    va.iter().any(|x| vb.iter().any(|y| f(x, y)))
}

/// The Jaro-Winkler similarities computed for one pair, by (source of the
/// first record's values, source of the second's): the swap and cross levels
/// of the two name comparisons ask for the same ones up to four times.
#[derive(Default)]
struct PairMemo {
    n: usize,
    keys: [(usize, usize); 8],
    values: [f64; 8],
}

impl PairMemo {
    fn jw(&mut self, sa: usize, sb: usize, va: &[Value], vb: &[Value]) -> f64 {
        if let Some(i) = self.keys[..self.n].iter().position(|k| *k == (sa, sb)) {
            return self.values[i];
        }
        let v = max_jw(va, vb);
        if self.n < self.keys.len() {
            self.keys[self.n] = (sa, sb);
            self.values[self.n] = v;
            self.n += 1;
        }
        v
    }
}

fn max_jw(va: &[Value], vb: &[Value]) -> f64 {
    let mut best: f64 = 0.0;
    for x in va {
        for y in vb {
            let mut s = jaro_winkler(x.compact().as_bytes(), y.compact().as_bytes());
            if s < 1.0 && (x.core() != x.compact() || y.core() != y.compact()) {
                s = s.max(jaro_winkler(x.core().as_bytes(), y.core().as_bytes()));
            }
            if s > best {
                best = s;
                if best >= 1.0 {
                    return best;
                }
            }
        }
    }
    best
}

/// Smallest Damerau-Levenshtein distance over the value pairs; distances
/// above `cap` are not computed exactly (length difference is a lower bound).
fn min_dl(va: &[Value], vb: &[Value], cap: usize) -> usize {
    let mut best = usize::MAX;
    for x in va {
        for y in vb {
            let lower = x.compact().len().abs_diff(y.compact().len()).min(x.core().len().abs_diff(y.core().len()));
            if lower > cap {
                best = best.min(cap + 1);
                continue;
            }
            let mut d = damerau_levenshtein(x.compact().as_bytes(), y.compact().as_bytes());
            if d > 0 && (x.core() != x.compact() || y.core() != y.compact()) {
                d = d.min(damerau_levenshtein(x.core().as_bytes(), y.core().as_bytes()));
            }
            best = best.min(d);
            if best == 0 {
                return 0;
            }
        }
    }
    best
}

fn fill_tokens<'a>(v: &'a Value, buf: &mut [&'a str; 8]) -> usize {
    let mut n = 0;
    for t in v.tokens() {
        if n == buf.len() {
            break;
        }
        buf[n] = t;
        n += 1;
    }
    n
}

fn max_ts(va: &[Value], vb: &[Value]) -> f64 {
    let mut best: f64 = 0.0;
    let mut bx = [""; 8];
    let mut by = [""; 8];
    for x in va {
        let nx = fill_tokens(x, &mut bx);
        for y in vb {
            if x.compact() == y.compact() {
                return 1.0;
            }
            let ny = fill_tokens(y, &mut by);
            best = best.max(token_set(&bx[..nx], &by[..ny]));
        }
    }
    best
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// A mixing hash of a pair, used to sample pairs deterministically.
pub(crate) fn pair_hash(a: u32, b: u32, seed: u64) -> u64 {
    let mut x = (a as u64) << 32 | b as u64;
    x ^= seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A record ready for comparison: the values of every source in one
/// allocation (`ends[s]`: where source `s`'s values end).
#[derive(Debug, Clone)]
pub struct Prepared {
    vals: Box<[Value]>,
    ends: Box<[u16]>,
}

impl Prepared {
    fn new(by_source: Vec<Vec<Value>>) -> Prepared {
        let mut ends = Vec::with_capacity(by_source.len());
        let mut vals = Vec::with_capacity(by_source.iter().map(Vec::len).sum());
        for v in by_source {
            vals.extend(v);
            ends.push(vals.len().min(usize::from(u16::MAX)) as u16);
        }
        vals.truncate(usize::from(u16::MAX));
        Prepared { vals: vals.into_boxed_slice(), ends: ends.into_boxed_slice() }
    }
    /// The values of one source.
    pub(crate) fn of(&self, source: usize) -> &[Value] {
        let start = if source == 0 { 0 } else { usize::from(self.ends[source - 1]) };
        &self.vals[start..usize::from(self.ends[source])]
    }
}

/// Prepared records and their blocking keys, flattened per rule (one
/// allocation per rule, not one per record and rule).
#[derive(Debug)]
pub struct PreparedSet {
    pub(crate) records: Vec<Prepared>,
    /// Per rule: per record offsets into the keys (starting with 0), and the keys.
    pub(crate) keys: Vec<(Vec<u32>, Vec<u64>)>,
}

impl PreparedSet {
    pub fn new(compiled: &Compiled) -> PreparedSet {
        PreparedSet { records: Vec::new(), keys: (0..compiled.n_rules()).map(|_| (vec![0], Vec::new())).collect() }
    }
    /// Add a record and its keys (as [`Compiled::prepare`] gives them).
    pub fn push(&mut self, (p, keys): (Prepared, Vec<Vec<u64>>)) {
        self.records.push(p);
        for ((off, flat), k) in self.keys.iter_mut().zip(keys) {
            flat.extend_from_slice(&k);
            off.push(flat.len() as u32);
        }
    }
    /// Add every record of another set after this one's.
    pub fn append(&mut self, other: PreparedSet) {
        self.records.extend(other.records);
        for ((off, flat), (o_off, o_flat)) in self.keys.iter_mut().zip(other.keys) {
            let base = flat.len() as u32;
            off.extend(o_off.iter().skip(1).map(|x| base + x));
            flat.extend(o_flat);
        }
    }
}

impl Extend<(Prepared, Vec<Vec<u64>>)> for PreparedSet {
    fn extend<I: IntoIterator<Item = (Prepared, Vec<Vec<u64>>)>>(&mut self, records: I) {
        for record in records {
            self.push(record);
        }
    }
}

/// What an [`Engine`] is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Comparing the records it holds, once (dedupe, link, blocking recall):
    /// keys no other record shares and blocks too large to compare are
    /// dropped (at a million records, close to half of the keys).
    Batch,
    /// Looking up records given later ([`crate::Index`]): every key is kept,
    /// since a later record may share any of them.
    Lookups,
}

/// Blocking keys of all records for one rule, as sorted (key, record) arrays.
#[derive(Debug, Default)]
pub(crate) struct RuleIndex {
    keys: Vec<u64>,
    recs: Vec<u32>,
    /// Per record: offsets into `rec_keys`.
    rec_off: Vec<u32>,
    rec_keys: Vec<u64>,
    /// Keys whose block is larger than `max_block_size` (skipped).
    oversized: HashSet<u64>,
    /// Keys added after the build (incremental inserts).
    overlay: HashMap<u64, Vec<u32>>,
    /// Built for a batch: `keys` and `rec_keys` are dropped; block `i` is
    /// `recs[block_start[i]..block_start[i + 1]]` (blocks in key order) and
    /// `rec_blocks` holds each record's blocks (at `rec_off`), in order.
    packed: bool,
    block_start: Vec<u32>,
    rec_blocks: Vec<u32>,
}

/// Whether a block of `recs` (sorted record numbers) is too large to compare:
/// in link mode, either side larger than `max_block`.
fn too_big(recs: impl Iterator<Item = u32> + Clone, n_left: Option<u32>, max_block: usize) -> bool {
    match n_left {
        None => recs.count() > max_block,
        Some(nl) => {
            let left = recs.clone().filter(|r| *r < nl).count();
            left.max(recs.count() - left) > max_block
        }
    }
}

impl RuleIndex {
    /// Sort the records' keys into blocks, keeping them all and noting the
    /// oversized ones (an index for lookups). Returns the oversized blocks.
    fn build_for_lookups(&mut self, n: usize, n_left: Option<u32>, max_block: usize) -> usize {
        let mut entries: Vec<(u64, u32)> = Vec::with_capacity(self.rec_keys.len());
        for r in 0..n {
            for k in self.keys_of(r as u32) {
                entries.push((*k, r as u32));
            }
        }
        entries.par_sort_unstable();
        let mut skipped = 0;
        for block in entries.chunk_by(|x, y| x.0 == y.0) {
            if too_big(block.iter().map(|e| e.1), n_left, max_block) {
                self.oversized.insert(block[0].0);
                skipped += 1;
            }
        }
        self.keys = entries.iter().map(|e| e.0).collect();
        self.recs = entries.iter().map(|e| e.1).collect();
        skipped
    }

    /// Sort the records' keys into blocks for a batch over these records
    /// only: blocks of one record and oversized blocks are dropped, and each
    /// record keeps only the keys of blocks kept. Keys are shortened by the
    /// bits a record number needs so that a (key, record) entry sorts as one
    /// `u64` (half the memory of a pair; two keys that become equal merge
    /// their blocks, which only adds candidates). Returns the oversized blocks.
    fn build_for_batch(&mut self, n: usize, n_left: Option<u32>, max_block: usize) -> usize {
        let rec_bits = (u64::BITS - (n.max(2) as u64 - 1).leading_zeros()).clamp(1, 32);
        let mask = (1u64 << rec_bits) - 1;
        // The records' keys become the (key, record) entries in place.
        let mut entries = std::mem::take(&mut self.rec_keys);
        for r in 0..n {
            for k in &mut entries[self.rec_off[r] as usize..self.rec_off[r + 1] as usize] {
                *k = ((*k >> rec_bits) << rec_bits) | r as u64;
            }
        }
        entries.par_sort_unstable();
        entries.dedup();
        let mut skipped = 0;
        let mut kept = 0;
        let mut block_start: Vec<u32> = Vec::new();
        let mut s = 0;
        while s < entries.len() {
            let key = entries[s] >> rec_bits;
            let e = s + entries[s..].partition_point(|x| x >> rec_bits == key);
            if too_big(entries[s..e].iter().map(|x| (x & mask) as u32), n_left, max_block) {
                skipped += 1;
            } else if e - s >= 2 {
                block_start.push(kept as u32);
                entries.copy_within(s..e, kept);
                kept += e - s;
            }
            s = e;
        }
        block_start.push(kept as u32);
        entries.truncate(kept);
        self.recs = entries.iter().map(|x| (x & mask) as u32).collect();
        drop(entries);
        // Each record's blocks, in order (as `intersects_below` needs).
        let mut off = vec![0u32; n + 1];
        for r in &self.recs {
            off[*r as usize + 1] += 1;
        }
        for r in 0..n {
            off[r + 1] += off[r];
        }
        let mut fill = off.clone();
        let mut rec_blocks = vec![0u32; self.recs.len()];
        for (b, w) in block_start.windows(2).enumerate() {
            for r in &self.recs[w[0] as usize..w[1] as usize] {
                let at = &mut fill[*r as usize];
                rec_blocks[*at as usize] = b as u32;
                *at += 1;
            }
        }
        self.rec_off = off;
        self.rec_blocks = rec_blocks;
        self.block_start = block_start;
        self.packed = true;
        skipped
    }

    /// The blocks to compare, as ranges of `recs` (oversized blocks and
    /// blocks of one record left out).
    fn blocks(&self) -> Vec<(usize, usize)> {
        if self.packed {
            return self.block_start.windows(2).map(|w| (w[0] as usize, w[1] as usize)).collect();
        }
        let mut out = Vec::new();
        let mut s = 0;
        while s < self.keys.len() {
            let k = self.keys[s];
            let e = s + self.keys[s..].partition_point(|x| *x == k);
            if e - s >= 2 && !self.oversized.contains(&k) {
                out.push((s, e));
            }
            s = e;
        }
        out
    }

    /// What a record's entries hold for the block starting at `start` (its
    /// key, or in a batch its number): entries below it are the rule's
    /// earlier blocks.
    fn mark(&self, start: usize) -> u64 {
        if self.packed {
            self.block_start.partition_point(|x| (*x as usize) < start) as u64
        } else {
            self.keys[start]
        }
    }

    /// Whether records `a` and `b` share a compared block before `below`
    /// (a [`RuleIndex::mark`]; `u64::MAX`: any).
    fn shares_below(&self, a: u32, b: u32, below: u64) -> bool {
        if self.packed {
            let below = u32::try_from(below).unwrap_or(u32::MAX);
            intersects_below(self.blocks_of(a), self.blocks_of(b), below, |_| false)
        } else {
            intersects_below(self.keys_of(a), self.keys_of(b), below, |k| self.oversized.contains(&k))
        }
    }

    fn blocks_of(&self, r: u32) -> &[u32] {
        let r = r as usize;
        &self.rec_blocks[self.rec_off[r] as usize..self.rec_off[r + 1] as usize]
    }

    fn keys_of(&self, r: u32) -> &[u64] {
        let r = r as usize;
        &self.rec_keys[self.rec_off[r] as usize..self.rec_off[r + 1] as usize]
    }
    pub(crate) fn lookup(&self, key: u64) -> impl Iterator<Item = u32> + '_ {
        let lo = self.keys.partition_point(|k| *k < key);
        let hi = self.keys.partition_point(|k| *k <= key);
        let extra = self.overlay.get(&key).map(|v| v.as_slice()).unwrap_or(&[]);
        self.recs[lo..hi].iter().copied().chain(extra.iter().copied())
    }
    pub(crate) fn push_record_keys(&mut self, rec: u32, keys: &[u64]) {
        self.rec_keys.extend_from_slice(keys);
        self.rec_off.push(self.rec_keys.len() as u32);
        for k in keys {
            self.overlay.entry(*k).or_default().push(rec);
        }
    }
    pub(crate) fn block_len(&self, key: u64) -> usize {
        let lo = self.keys.partition_point(|k| *k < key);
        let hi = self.keys.partition_point(|k| *k <= key);
        hi - lo + self.overlay.get(&key).map_or(0, |v| v.len())
    }
}

/// One unit of parallel work: part of a block.
#[derive(Debug, Clone, Copy)]
struct WorkItem {
    rule: u32,
    start: u32,
    mid: u32, // link mode: first right-side position; dedupe: = start
    end: u32,
    outer_lo: u32,
    outer_hi: u32,
}

/// What a term-frequency adjusted level counts: whole values or phonetic keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TfKind {
    Exact,
    Phonetic,
}

/// Frequencies of the values of the sources that term-frequency adjusted
/// comparisons read, over the records of a file or an index.
#[derive(Debug, Default, Clone)]
pub struct TermFreq {
    sources: Vec<Option<SourceFreq>>,
    /// Whether both records of a scored pair are counted (a batch over a
    /// file): the frequency of a value among the *other* records is then
    /// (count − 1) / total.
    pub(crate) counts_both: bool,
}

#[derive(Debug, Default, Clone)]
struct SourceFreq {
    exact: HashMap<u64, u32>,
    phonetic: HashMap<u64, u32>,
    total: u64,
}

fn tf_hash(kind: TfKind, s: &str) -> u64 {
    fnv(if kind == TfKind::Exact { FNV_OFFSET } else { FNV_OFFSET ^ 0x7f }, s.as_bytes())
}

impl TermFreq {
    pub(crate) fn new(compiled: &Compiled) -> TermFreq {
        let mut sources: Vec<Option<SourceFreq>> = vec![None; compiled.sources.len()];
        for c in compiled.comparisons.iter().filter(|c| c.tf) {
            sources[c.source] = Some(SourceFreq::default());
        }
        TermFreq { sources, counts_both: false }
    }
    /// Count the values of one record.
    pub(crate) fn add(&mut self, p: &Prepared) {
        for (src, f) in self.sources.iter_mut().enumerate() {
            if let Some(f) = f {
                for v in p.of(src) {
                    f.total += 1;
                    *f.exact.entry(tf_hash(TfKind::Exact, v.compact())).or_insert(0) += 1;
                    if !v.phonetic().is_empty() {
                        *f.phonetic.entry(tf_hash(TfKind::Phonetic, v.phonetic())).or_insert(0) += 1;
                    }
                }
            }
        }
    }
    /// Is any source counted?
    pub(crate) fn is_active(&self) -> bool {
        self.sources.iter().any(Option::is_some)
    }
    /// Number of values counted for a source.
    fn total(&self, src: usize) -> u64 {
        self.sources.get(src).and_then(|f| f.as_ref()).map_or(0, |f| f.total)
    }
    /// Frequency of the rarest agreeing value (or key) of two value lists
    /// among the records of *other* people: `own` is the expected number of
    /// the person's own other records that share it (a person recorded
    /// four times under a rare name makes that name look four times as
    /// common as it is among strangers).
    fn frequency(&self, src: usize, kind: TfKind, va: &[Value], vb: &[Value], own: f64) -> Option<f64> {
        let f = self.sources.get(src)?.as_ref()?;
        if f.total == 0 {
            return None;
        }
        let mut best: Option<f64> = None;
        for x in va {
            for y in vb {
                let (key, map) = match kind {
                    TfKind::Exact if x.compact() == y.compact() => (x.compact(), &f.exact),
                    TfKind::Phonetic if !x.phonetic().is_empty() && x.phonetic() == y.phonetic() => (x.phonetic(), &f.phonetic),
                    _ => continue,
                };
                let counted = map.get(&tf_hash(kind, key)).copied().unwrap_or(0).saturating_sub(u32::from(self.counts_both));
                let n = (f64::from(counted) - own).max(1.0);
                best = Some(best.map_or(n, |b| b.min(n)));
            }
        }
        best.map(|n| n / f.total as f64)
    }
}

/// Precomputed weights for scoring with early rejection.
pub(crate) struct Scorer<'a> {
    pub(crate) table: Vec<Vec<f64>>,
    pub(crate) prior: f64,
    pub(crate) wcut: f64,
    order: Vec<usize>,
    bound: Vec<f64>,
    /// Per comparison and level: term-frequency adjusted levels, log2(m)
    /// and the expected number of a person's own other records agreeing so.
    tf_levels: Vec<Vec<Option<(TfKind, f64, f64)>>>,
    tf: &'a TermFreq,
    tf_minimum: f64,
}

impl<'a> Scorer<'a> {
    pub(crate) fn new(compiled: &Compiled, model: &Model, threshold: f64, tf: &'a TermFreq) -> Scorer<'a> {
        let table = model.weight_table();
        let order = compiled.cheap_order();
        let tf_levels: Vec<Vec<Option<(TfKind, f64, f64)>>> = compiled
            .comparisons
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                c.levels
                    .iter()
                    .enumerate()
                    .map(|(li, l)| {
                        let kind = match l {
                            CLevel::Exact => TfKind::Exact,
                            CLevel::Phonetic => TfKind::Phonetic,
                            _ => return None,
                        };
                        let m = &model.comparisons[ci].levels;
                        // Other records of the same person: λ (n − 1) of
                        // them; agreeing at this level or a stronger one
                        // (an exact value also shares its phonetic key).
                        let agreeing: f64 = m[..=li].iter().map(|x| x.m).sum();
                        let own = model.lambda * (tf.total(c.source).saturating_sub(1)) as f64 * agreeing;
                        (c.tf && tf.total(c.source) > 0).then(|| (kind, m[li].m.max(1e-6).log2(), own))
                    })
                    .collect()
            })
            .collect();
        let tf_minimum = compiled.config.term_frequency_minimum;
        let best: Vec<f64> = order
            .iter()
            .map(|&c| {
                let floor = tf_minimum.max(1.0 / tf.total(compiled.comparisons[c].source).max(1) as f64);
                table[c]
                    .iter()
                    .enumerate()
                    .map(|(l, w)| match tf_levels[c].get(l).copied().flatten() {
                        Some((_, log2m, _)) => w.max(log2m - floor.log2()),
                        None => *w,
                    })
                    .fold(0.0f64, f64::max) // null gives 0
            })
            .collect();
        let mut bound = vec![0.0; order.len() + 1];
        for k in (0..order.len()).rev() {
            bound[k] = bound[k + 1] + best[k];
        }
        Scorer { prior: model.prior_weight(), wcut: crate::model::probability_to_weight(threshold), table, order, bound, tf_levels, tf, tf_minimum }
    }
}

/// A kept pair: record indexes, weight, packed levels.
#[derive(Debug, Clone, Copy)]
pub struct RawPair {
    pub a: u32,
    pub b: u32,
    pub weight: f32,
    pub pattern: u64,
}

/// Prepared records plus blocking indexes: the core of batch and incremental linkage.
pub struct Engine {
    pub compiled: Compiled,
    pub records: Vec<Prepared>,
    pub(crate) rules: Vec<RuleIndex>,
    /// Link mode: records `0..n_left` are the left file. `None`: dedupe.
    pub n_left: Option<u32>,
    pub skipped_blocks: usize,
    /// Value frequencies for term-frequency adjustments.
    pub tf: TermFreq,
    /// Rules in the order a pair several rules find is attributed to one
    /// (the rule with most pairs first: its pairs, the most numerous, need
    /// no look at the other rules' keys).
    owner_order: Vec<usize>,
}

fn intersects_below<T: Copy + Ord>(a: &[T], b: &[T], below: T, skip: impl Fn(T) -> bool) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        if x >= below || y >= below {
            return false;
        }
        match x.cmp(&y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if !skip(x) {
                    return true;
                }
                i += 1;
                j += 1;
            }
        }
    }
    false
}

impl Engine {
    /// Build from prepared records and their keys, for a batch or for lookups (see [`Use`]).
    pub fn new(compiled: Compiled, set: PreparedSet, n_left: Option<u32>, usage: Use) -> Engine {
        let PreparedSet { records, keys } = set;
        let mut tf = TermFreq::new(&compiled);
        if tf.is_active() {
            for p in &records {
                tf.add(p);
            }
        }
        tf.counts_both = true;
        let mut skipped = 0;
        let mut rules = Vec::with_capacity(keys.len());
        for ((rec_off, rec_keys), &max_block) in keys.into_iter().zip(&compiled.rule_max_block) {
            let mut rule = RuleIndex { rec_off, rec_keys, ..RuleIndex::default() };
            skipped += match usage {
                Use::Batch => rule.build_for_batch(records.len(), n_left, max_block),
                Use::Lookups => rule.build_for_lookups(records.len(), n_left, max_block),
            };
            rules.push(rule);
        }
        let mut engine = Engine { compiled, records, rules, n_left, skipped_blocks: skipped, tf, owner_order: Vec::new() };
        let counts = engine.rule_pair_counts();
        engine.owner_order = (0..counts.len()).collect();
        engine.owner_order.sort_by_key(|&r| std::cmp::Reverse(counts[r]));
        engine
    }

    fn work_items(&self) -> (Vec<WorkItem>, u64) {
        const TARGET: u64 = 20_000;
        let mut items = Vec::new();
        let mut total = 0u64;
        for (ri, rule) in self.rules.iter().enumerate() {
            for (s, e) in rule.blocks() {
                let (mid, outer_n, inner_n) = match self.n_left {
                    None => (s, e - s, e - s),
                    Some(nl) => {
                        let mid = s + rule.recs[s..e].partition_point(|r| *r < nl);
                        (mid, mid - s, e - mid)
                    }
                };
                let pairs = match self.n_left {
                    None => (outer_n * (outer_n - 1) / 2) as u64,
                    Some(_) => (outer_n * inner_n) as u64,
                };
                if pairs > 0 {
                    total += pairs;
                    let chunks = pairs.div_ceil(TARGET).max(1) as usize;
                    let step = outer_n.div_ceil(chunks).max(1);
                    let mut lo = 0;
                    while lo < outer_n {
                        let hi = (lo + step).min(outer_n);
                        items.push(WorkItem { rule: ri as u32, start: s as u32, mid: mid as u32, end: e as u32, outer_lo: lo as u32, outer_hi: hi as u32 });
                        lo = hi;
                    }
                }
            }
        }
        (items, total)
    }

    /// Is (a, b) produced by a rule before this one in `owner_order` or an
    /// earlier key of this rule?
    fn seen_before(&self, rule: usize, key: u64, a: u32, b: u32) -> bool {
        for &o in self.owner_order.iter().take_while(|&&o| o != rule) {
            if self.rules[o].shares_below(a, b, u64::MAX) {
                return true;
            }
        }
        self.rules[rule].shares_below(a, b, key)
    }

    fn for_each_pair(&self, it: &WorkItem, f: impl FnMut(u32, u32)) {
        self.for_each_pair_rows(it, &|_| true, f)
    }

    fn for_each_pair_rows(&self, it: &WorkItem, keep_row: &dyn Fn(usize) -> bool, mut f: impl FnMut(u32, u32)) {
        let rule = &self.rules[it.rule as usize];
        let key = rule.mark(it.start as usize);
        let recs = &rule.recs;
        let (s, e) = (it.start as usize, it.end as usize);
        for i in (s + it.outer_lo as usize)..(s + it.outer_hi as usize) {
            if !keep_row(i) {
                continue;
            }
            let inner = match self.n_left {
                None => (i + 1)..e,
                Some(_) => (it.mid as usize)..e,
            };
            for j in inner {
                let (a, b) = (recs[i], recs[j]);
                if !self.seen_before(it.rule as usize, key, a, b) {
                    f(a, b);
                }
            }
        }
    }

    /// About `max_pairs` candidate pairs drawn evenly (each pair once), with
    /// their patterns.
    pub fn sample_candidates(&self, max_pairs: usize, seed: u64) -> Vec<(u32, u32, u64)> {
        let (items, total) = self.work_items();
        let p = if total == 0 { 1.0 } else { (max_pairs as f64 / total as f64).min(1.0) };
        let cut = if p >= 1.0 { u64::MAX } else { (p * u64::MAX as f64) as u64 };
        items
            .par_iter()
            .fold(Vec::new, |mut acc, it| {
                let rows = &self.rules[it.rule as usize].recs;
                let keep_row = |i: usize| cut == u64::MAX || pair_hash(rows[i], it.rule, seed) <= cut;
                self.for_each_pair_rows(it, &keep_row, |a, b| {
                    acc.push((a, b, self.compiled.pattern(&self.records[a as usize], &self.records[b as usize])));
                });
                acc
            })
            .reduce(Vec::new, |mut a, mut b| {
                a.append(&mut b);
                a
            })
    }

    /// Whether a pair of records shares a block of some rule (is a candidate).
    pub fn is_candidate(&self, a: u32, b: u32) -> bool {
        self.rules.iter().any(|r| r.shares_below(a, b, u64::MAX))
    }

    /// The candidates record `a` is paired with as the pair's first record
    /// (dedupe: later records; link: right-side records, when `a` is on the
    /// left), each once, in order — gathered from its blocks of every rule,
    /// which a batch index locates without a search.
    fn candidates_of(&self, a: u32, out: &mut Vec<u32>) {
        out.clear();
        if self.n_left.is_some_and(|nl| a >= nl) {
            return;
        }
        for rule in &self.rules {
            for &k in rule.blocks_of(a) {
                let block = &rule.recs[rule.block_start[k as usize] as usize..rule.block_start[k as usize + 1] as usize];
                let from = match self.n_left {
                    None => block.partition_point(|r| *r <= a),
                    Some(nl) => block.partition_point(|r| *r < nl),
                };
                out.extend_from_slice(&block[from..]);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Whether every rule's index was built for a batch (see [`Use`]).
    fn is_batch(&self) -> bool {
        self.rules.iter().all(|r| r.packed)
    }

    /// Number of distinct candidate pairs (each pair once, whatever the rules that find it).
    pub fn candidate_pairs(&self) -> u64 {
        if self.is_batch() {
            return (0..self.records.len() as u32)
                .into_par_iter()
                .fold(
                    || (0u64, Vec::new()),
                    |(n, mut buf), a| {
                        self.candidates_of(a, &mut buf);
                        (n + buf.len() as u64, buf)
                    },
                )
                .map(|(n, _)| n)
                .sum();
        }
        let (items, _) = self.work_items();
        items
            .par_iter()
            .map(|it| {
                let mut n = 0u64;
                self.for_each_pair(it, |_, _| n += 1);
                n
            })
            .sum()
    }

    /// Blocking recall against a known truth (one entity label per
    /// record): (true pairs, true pairs that are candidates).
    pub fn blocking_recall(&self, entity: &[u32]) -> (u64, u64) {
        let mut by: HashMap<u32, Vec<u32>> = HashMap::new();
        for (i, e) in entity.iter().enumerate() {
            by.entry(*e).or_default().push(i as u32);
        }
        let (mut all, mut found) = (0u64, 0u64);
        for g in by.values() {
            for i in 0..g.len() {
                for j in (i + 1)..g.len() {
                    let (a, b) = (g[i], g[j]);
                    if let Some(nl) = self.n_left {
                        if (a < nl) == (b < nl) {
                            continue;
                        }
                    }
                    all += 1;
                    found += u64::from(self.is_candidate(a, b));
                }
            }
        }
        (all, found)
    }

    /// Pairs per blocking rule (before removing pairs found by several rules).
    pub fn rule_pair_counts(&self) -> Vec<u64> {
        let mut v = vec![0u64; self.rules.len()];
        let (items, _) = self.work_items();
        for it in items {
            let outer = (it.outer_hi - it.outer_lo) as u64;
            let n = (it.end - it.start) as u64;
            v[it.rule as usize] += match self.n_left {
                None => (it.outer_lo as u64..it.outer_hi as u64).map(|i| n - 1 - i).sum::<u64>(),
                Some(_) => outer * (it.end - it.mid) as u64,
            };
        }
        v
    }

    /// Upper bound of the number of candidate pairs (before removing pairs
    /// found by several rules).
    pub fn candidate_upper_bound(&self) -> u64 {
        self.work_items().1
    }

    /// One pass over a sample of the candidate pairs (each pair once):
    /// pattern counts over all candidates and, for each rule, over the pairs
    /// that rule blocks together (for per-rule EM). Counts are scaled up by
    /// the sampling rate.
    pub fn sample_patterns_by_rule(&self, max_pairs: usize, seed: u64) -> (HashMap<u64, f64>, Vec<HashMap<u64, f64>>) {
        let (items, total) = self.work_items();
        let p = if total == 0 { 1.0 } else { (max_pairs as f64 / total as f64).min(1.0) };
        let cut = if p >= 1.0 { u64::MAX } else { (p * u64::MAX as f64) as u64 };
        let scale = 1.0 / p;
        let n_rules = self.rules.len();
        let empty = || (HashMap::new(), vec![HashMap::new(); n_rules]);
        items
            .par_iter()
            .fold(empty, |mut acc: (HashMap<u64, f64>, Vec<HashMap<u64, f64>>), it| {
                let rows = &self.rules[it.rule as usize].recs;
                let keep_row = |i: usize| cut == u64::MAX || pair_hash(rows[i], it.rule, seed) <= cut;
                self.for_each_pair_rows(it, &keep_row, |a, b| {
                    let pat = self.compiled.pattern(&self.records[a as usize], &self.records[b as usize]);
                    *acc.0.entry(pat).or_insert(0.0) += scale;
                    for (r, rule) in self.rules.iter().enumerate() {
                        if r == it.rule as usize || rule.shares_below(a, b, u64::MAX) {
                            *acc.1[r].entry(pat).or_insert(0.0) += scale;
                        }
                    }
                });
                acc
            })
            .reduce(empty, |mut a, b| {
                for (k, v) in b.0 {
                    *a.0.entry(k).or_insert(0.0) += v;
                }
                for (x, y) in a.1.iter_mut().zip(b.1) {
                    for (k, v) in y {
                        *x.entry(k).or_insert(0.0) += v;
                    }
                }
                a
            })
    }

    /// Total number of record pairs (n(n-1)/2, or left × right).
    pub fn total_pairs(&self) -> f64 {
        let n = self.records.len() as f64;
        match self.n_left {
            None => n * (n - 1.0) / 2.0,
            Some(nl) => nl as f64 * (n - nl as f64),
        }
    }

    /// Comparisons that use a field of the given rule's keys.
    pub fn held_by_rule(&self, rule: usize) -> Vec<bool> {
        let fields: Vec<usize> = self.compiled.rules[rule].iter().flat_map(|p| p.fields.iter().copied()).collect();
        self.compiled.comparisons.iter().map(|c| self.compiled.sources[c.source].fields.iter().any(|f| fields.contains(f))).collect()
    }

    /// Level counts of random pairs, per comparison (for u).
    pub fn random_level_counts(&self, n_pairs: usize, seed: u64) -> Vec<Vec<f64>> {
        let n = self.records.len() as u64;
        let lc = self.compiled.level_counts();
        let zero = || lc.iter().map(|k| vec![0.0; *k]).collect::<Vec<Vec<f64>>>();
        if n < 2 {
            return zero();
        }
        let chunks = 64u64;
        let per = (n_pairs as u64).div_ceil(chunks);
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                let mut acc = zero();
                for t in 0..per {
                    let h = pair_hash(c as u32, t as u32, seed ^ 0x5555);
                    let (a, b) = match self.n_left {
                        None => {
                            let a = (h % n) as u32;
                            let mut b = ((h >> 32).wrapping_mul(0x2545F491) % n) as u32;
                            if a == b {
                                b = ((b as u64 + 1) % n) as u32;
                            }
                            (a, b)
                        }
                        Some(nl) => {
                            let nl = nl as u64;
                            let nr = n - nl;
                            if nl == 0 || nr == 0 {
                                continue;
                            }
                            ((h % nl) as u32, (nl + (h >> 32).wrapping_mul(0x2545F491) % nr) as u32)
                        }
                    };
                    let pa = &self.records[a as usize];
                    let pb = &self.records[b as usize];
                    for (ci, cmp) in self.compiled.comparisons.iter().enumerate() {
                        let l = self.compiled.level(cmp, pa, pb);
                        if l != NULL_LEVEL {
                            acc[ci][l as usize] += 1.0;
                        }
                    }
                }
                acc
            })
            .reduce(zero, |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    for (p, q) in x.iter_mut().zip(y) {
                        *p += q;
                    }
                }
                a
            })
    }

    /// Estimate the model without labels, as splink does: u from random
    /// pairs; m by EM on the pairs of each blocking rule in turn, leaving
    /// out the comparisons that rule blocks on, averaged over rules; then the
    /// prior λ (share of matches among all pairs) by EM over the candidate
    /// pairs with m and u fixed.
    pub fn estimate(&self) -> Model {
        let est = &self.compiled.config.estimation;
        let verbose = std::env::var_os("VEILLE_LINKAGE_VERBOSE").is_some();
        let t0 = std::time::Instant::now();
        let u_pairs = est.u_random_pairs.max((est.u_pairs_per_record.max(0.0) * self.records.len() as f64) as usize);
        let u_counts = self.random_level_counts(u_pairs, est.seed);
        let t1 = t0.elapsed().as_secs_f64();
        let (all, by_rule) = self.sample_patterns_by_rule(est.em_max_pairs, est.seed);
        if verbose {
            eprintln!("[linkage] u from {u_pairs} random pairs {t1:.2}s, candidate sample {:.2}s ({} patterns)", t0.elapsed().as_secs_f64() - t1, all.len());
        }
        let per_rule: Vec<(HashMap<u64, f64>, Vec<bool>)> = by_rule.into_iter().enumerate().map(|(r, pats)| (pats, self.held_by_rule(r))).collect();
        let mut model = Model::estimate(&self.compiled, &u_counts, &per_rule, &all, self.total_pairs(), est.max_iterations);
        if self.n_left.is_none() {
            model.records = Some(self.records.len() as u64);
        }
        if self.tf.is_active() {
            // λ again, with the weights pairs really get (term-frequency
            // adjusted): agreeing on rare names is likelier among matches
            // than the pattern alone says.
            // Bounded: within a factor 2 of the pattern-based λ (term
            // frequencies sharpen λ, they do not overturn it).
            let base = model.lambda;
            model.lambda = self.lambda_with_tf(&model, est.em_max_pairs, est.seed, est.max_iterations).clamp(base / 2.0, base * 2.0);
            if verbose {
                eprintln!("[linkage] lambda with term frequencies {:.3e}", model.lambda);
            }
        }
        model
    }

    /// λ by EM over a sample of candidate pairs scored with term-frequency adjustments.
    fn lambda_with_tf(&self, model: &Model, max_pairs: usize, seed: u64, max_iterations: usize) -> f64 {
        let (_, total) = self.work_items();
        let sample = self.sample_candidates(max_pairs, seed ^ 0x7f);
        if sample.is_empty() || total == 0 {
            return model.lambda;
        }
        let scale = total as f64 / sample.len() as f64;
        let scorer = Scorer::new(&self.compiled, model, 0.0, &self.tf);
        let llr: Vec<f64> = sample
            .par_iter()
            .map(|(a, b, _)| {
                let (ra, rb) = (&self.records[*a as usize], &self.records[*b as usize]);
                (0..self.compiled.comparisons.len())
                    .map(|c| {
                        let l = self.compiled.level(&self.compiled.comparisons[c], ra, rb);
                        if l == NULL_LEVEL {
                            0.0
                        } else {
                            self.compiled.level_weight(c, l, ra, rb, &scorer)
                        }
                    })
                    .sum::<f64>()
            })
            .collect();
        let total_pairs = self.total_pairs();
        let mut lambda = model.lambda.clamp(1e-12, 0.5);
        for _ in 0..max_iterations.max(50) {
            let prior = crate::model::probability_to_weight(lambda);
            let expected: f64 = llr.iter().map(|w| scale / (1.0 + (-(prior + w)).exp2())).sum();
            let nl = (expected / total_pairs).clamp(1e-12, 0.999);
            if (nl - lambda).abs() <= 1e-9 * lambda.max(1e-12) {
                return nl;
            }
            lambda = nl;
        }
        lambda
    }

    /// Score every candidate pair, keeping those with probability ≥ threshold.
    pub fn score_all(&self, model: &Model, threshold: f64, progress: &indicatif::ProgressBar) -> Vec<RawPair> {
        let scorer = Scorer::new(&self.compiled, model, threshold, &self.tf);
        let (items, _) = self.work_items();
        progress.set_length(items.len() as u64);
        let mut out: Vec<RawPair> = items
            .par_iter()
            .fold(Vec::new, |mut acc, it| {
                self.for_each_pair(it, |a, b| {
                    if let Some((w, pat)) = self.compiled.score_bounded(&self.records[a as usize], &self.records[b as usize], &scorer) {
                        acc.push(RawPair { a, b, weight: w as f32, pattern: pat });
                    }
                });
                progress.inc(1);
                acc
            })
            .reduce(Vec::new, |mut a, mut b| {
                a.append(&mut b);
                a
            });
        out.par_sort_unstable_by(|x, y| (x.a, x.b).cmp(&(y.a, y.b)));
        out
    }
}
