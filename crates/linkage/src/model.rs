//! Fellegi–Sunter model: m and u per agreement level, prior λ, EM.

use crate::engine::{level_at, Compiled, NULL_LEVEL};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// m and u of one agreement level.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LevelParams {
    pub label: String,
    /// P(level | match)
    pub m: f64,
    /// P(level | non-match)
    pub u: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComparisonParams {
    pub name: String,
    /// The configured levels, then "else".
    pub levels: Vec<LevelParams>,
}

/// A trained (or fixed) model. Serialised as JSON by `--save-model` and read
/// back through `model_file` in the config for fixed weights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    /// Prior: share of matches among all record pairs.
    pub lambda: f64,
    pub comparisons: Vec<ComparisonParams>,
    /// EM iterations run (0 for a fixed model).
    #[serde(default)]
    pub iterations: usize,
    /// Number of records λ was estimated on: an index of another size
    /// rescales λ (the matches per record stay, the pairs grow as n²).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
}

const FLOOR: f64 = 1e-6;

pub fn probability_to_weight(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).log2()
}

pub fn weight_to_probability(w: f64) -> f64 {
    let b = w.exp2();
    b / (1.0 + b)
}

impl Model {
    /// log2(m/u) per comparison and level.
    pub fn weight_table(&self) -> Vec<Vec<f64>> {
        self.comparisons.iter().map(|c| c.levels.iter().map(|l| (l.m.max(FLOOR) / l.u.max(FLOOR)).log2()).collect()).collect()
    }

    /// The model for a file or index of `n` records: λ rescaled from the
    /// size it was estimated on (unchanged when that size is unknown).
    pub fn for_size(&self, n: usize) -> Model {
        let mut m = self.clone();
        if let Some(r) = self.records.filter(|r| *r >= 2) {
            let n = (n as f64).max(2.0);
            m.lambda = (self.lambda * (r as f64 - 1.0) / (n - 1.0)).clamp(1e-12, 0.5);
            m.records = Some(n as u64);
        }
        m
    }

    /// log2(λ / (1-λ)).
    pub fn prior_weight(&self) -> f64 {
        probability_to_weight(self.lambda)
    }

    /// Check that a fixed model fits the configuration.
    pub fn check_against(&self, compiled: &Compiled) -> Result<(), crate::Error> {
        let names = compiled.comparison_names();
        let counts = compiled.level_counts();
        if self.comparisons.len() != names.len() {
            return Err(crate::Error::Config(format!("model has {} comparisons, config has {}", self.comparisons.len(), names.len())));
        }
        for ((c, n), k) in self.comparisons.iter().zip(&names).zip(&counts) {
            if &c.name != n || c.levels.len() != *k {
                return Err(crate::Error::Config(format!(
                    "model comparison '{}' ({} levels) does not match config comparison '{}' ({} levels)",
                    c.name,
                    c.levels.len(),
                    n,
                    k
                )));
            }
        }
        Ok(())
    }

    /// Unsupervised estimation.
    ///
    /// * `u_counts[c][l]`: level counts among random pairs → u (fixed).
    /// * `per_rule`: for each blocking rule, pattern counts of its pairs and
    ///   which comparisons it blocks on (left out of that rule's EM).
    ///   m of each comparison = average of its EM estimates over the rules
    ///   that do not block on it.
    /// * `candidates`: pattern counts over all candidate pairs (scaled to the
    ///   full candidate set) and `total_pairs`: λ, the share of matches among
    ///   all pairs, by EM with m and u fixed (pairs outside the blocks count
    ///   as non-matches).
    pub fn estimate(
        compiled: &Compiled,
        u_counts: &[Vec<f64>],
        per_rule: &[(HashMap<u64, f64>, Vec<bool>)],
        candidates: &HashMap<u64, f64>,
        total_pairs: f64,
        max_iterations: usize,
    ) -> Model {
        let counts = compiled.level_counts();
        let labels = compiled.labels();
        let names = compiled.comparison_names();
        let u: Vec<Vec<f64>> = u_counts
            .iter()
            .map(|c| {
                let tot: f64 = c.iter().sum();
                c.iter().map(|x| (x + 0.5) / (tot + 0.5 * c.len() as f64)).collect()
            })
            .collect();
        let est = &compiled.config.estimation;
        let m_init: Vec<Vec<f64>> = compiled
            .config
            .comparisons
            .iter()
            .zip(&counts)
            .map(|(c, &k)| match &c.m_prior {
                Some(p) => normalized(p),
                None => initial_m(k),
            })
            .collect();
        let mut m_sum: Vec<Vec<f64>> = counts.iter().map(|&k| vec![0.0; k]).collect();
        let mut m_n = vec![0usize; counts.len()];
        let mut iterations = 0;
        for (pats, held) in per_rule {
            let active: Vec<bool> = held.iter().map(|h| !h).collect();
            if !active.iter().any(|a| *a) || pats.is_empty() {
                continue;
            }
            let (m, it) = em_m(pats, &active, &u, m_init.clone(), max_iterations, est.prior_weight);
            iterations += it;
            for c in 0..counts.len() {
                // An implausible estimate (namesakes taken for matches: the
                // matches would differ more often than random pairs) is not
                // averaged in.
                if active[c] && (!est.plausibility_check || plausible(&m[c], &u[c])) {
                    for l in 0..counts[c] {
                        m_sum[c][l] += m[c][l];
                    }
                    m_n[c] += 1;
                }
            }
        }
        let mut m: Vec<Vec<f64>> =
            (0..counts.len()).map(|c| if m_n[c] == 0 { m_init[c].clone() } else { m_sum[c].iter().map(|x| x / m_n[c] as f64).collect() }).collect();
        let mut u = u;
        // A swap seen from both name comparisons is one piece of evidence:
        // the second one weighs nothing (m = u).
        for (c, l) in compiled.redundant_swaps() {
            let mid = (m[c][l] * u[c][l]).sqrt();
            m[c][l] = mid;
            u[c][l] = mid;
        }
        if verbose() {
            for (c, n) in names.iter().enumerate() {
                eprintln!("[linkage] m of {n}: {} plausible estimate(s) averaged", m_n[c]);
            }
        }
        let lambda = em_lambda(candidates, &m, &u, total_pairs, max_iterations);
        Model {
            lambda,
            iterations,
            records: None,
            comparisons: names
                .iter()
                .enumerate()
                .map(|(c, name)| ComparisonParams {
                    name: name.clone(),
                    levels: (0..counts[c]).map(|l| LevelParams { label: labels[c][l].clone(), m: m[c][l], u: u[c][l] }).collect(),
                })
                .collect(),
        }
    }
}

fn verbose() -> bool {
    std::env::var_os("VEILLE_LINKAGE_VERBOSE").is_some()
}

fn normalized(p: &[f64]) -> Vec<f64> {
    let s: f64 = p.iter().sum();
    p.iter().map(|x| x / s).collect()
}

/// Whether m of one comparison is plausible given its u: every agreeing
/// level at least as likely among matches as among non-matches, "else" at
/// least twice likelier among non-matches than among matches, and at most
/// half of the matches disagreeing. (EM misled by namesakes learns that
/// true matches differ by many years: refused.)
pub fn plausible(m: &[f64], u: &[f64]) -> bool {
    plausible_except(m, u, &[])
}

/// [`plausible`], not checking the agreeing levels in `skip` (levels made neutral).
fn plausible_except(m: &[f64], u: &[f64], skip: &[usize]) -> bool {
    let k = m.len();
    if k < 2 {
        return true;
    }
    let agreeing_ok = (0..k - 1).filter(|l| !skip.contains(l)).all(|l| m[l] >= u[l] * 0.999);
    agreeing_ok && m[k - 1] <= 0.5 * u[k - 1] && m[k - 1] <= 0.5
}

/// Starting m: agreeing levels likely, "else" unlikely.
fn initial_m(k: usize) -> Vec<f64> {
    let mut v: Vec<f64> = (0..k).map(|l| if l + 1 == k { 0.05 } else { 0.5f64.powi(l as i32 + 1) }).collect();
    let s: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= s);
    v
}

/// log-likelihood ratio terms of a pattern over the active comparisons.
fn log_terms(p: u64, active: &[bool], m: &[Vec<f64>], u: &[Vec<f64>]) -> (f64, f64) {
    let mut lm = 0.0;
    let mut lu = 0.0;
    for c in 0..active.len() {
        if !active[c] {
            continue;
        }
        let l = level_at(p, c);
        if l != NULL_LEVEL {
            lm += m[c][l as usize].max(FLOOR).ln();
            lu += u[c][l as usize].max(FLOOR).ln();
        }
    }
    (lm, lu)
}

/// EM for m (u fixed) and the within-sample λ on pattern counts; returns m
/// and the number of iterations.
pub(crate) fn em_m(
    pats: &HashMap<u64, f64>,
    active: &[bool],
    u: &[Vec<f64>],
    mut m: Vec<Vec<f64>>,
    max_iterations: usize,
    pseudo: f64,
) -> (Vec<Vec<f64>>, usize) {
    // Dirichlet prior: a few pseudo-matches spread as the starting m, so that
    // a level never seen among the matches of a small sample keeps a
    // sensible m instead of collapsing to zero.
    let pseudo = pseudo.max(0.0);
    let prior = m.clone();
    let mut lambda: f64 = 0.3;
    let mut iterations = 0;
    for _ in 0..max_iterations {
        iterations += 1;
        let mut wm: Vec<Vec<f64>> = m.iter().map(|v| vec![0.0; v.len()]).collect();
        let mut sp = 0.0;
        let mut tot = 0.0;
        for (&p, &n) in pats {
            let (lm, lu) = log_terms(p, active, &m, u);
            let post = 1.0 / (1.0 + ((1.0 - lambda).ln() + lu - lambda.ln() - lm).exp());
            sp += n * post;
            tot += n;
            for c in 0..active.len() {
                let l = level_at(p, c);
                if active[c] && l != NULL_LEVEL {
                    wm[c][l as usize] += n * post;
                }
            }
        }
        if tot == 0.0 {
            break;
        }
        let mut delta: f64 = 0.0;
        for c in 0..active.len() {
            let sm: f64 = wm[c].iter().sum();
            if active[c] && sm > 0.0 {
                for l in 0..m[c].len() {
                    let nv = ((wm[c][l] + pseudo * prior[c][l]) / (sm + pseudo)).max(FLOOR);
                    delta = delta.max((nv - m[c][l]).abs());
                    m[c][l] = nv;
                }
            }
        }
        let nl = (sp / tot).clamp(1e-9, 1.0 - 1e-9);
        delta = delta.max((nl - lambda).abs());
        lambda = nl;
        if delta < 1e-6 {
            break;
        }
    }
    (m, iterations)
}

/// λ over all pairs with m and u fixed: the expected number of matches among
/// the candidates divided by the number of pairs.
pub(crate) fn em_lambda(candidates: &HashMap<u64, f64>, m: &[Vec<f64>], u: &[Vec<f64>], total_pairs: f64, max_iterations: usize) -> f64 {
    let active = vec![true; m.len()];
    let terms: Vec<(f64, f64)> = candidates
        .iter()
        .map(|(&p, &n)| {
            let (lm, lu) = log_terms(p, &active, m, u);
            (lm - lu, n)
        })
        .collect();
    let n_cand: f64 = terms.iter().map(|t| t.1).sum();
    if total_pairs <= 0.0 || n_cand == 0.0 {
        return 1e-6;
    }
    let mut lambda = (0.1 * n_cand / total_pairs).clamp(1e-12, 0.5);
    for _ in 0..max_iterations.max(50) {
        let prior = (lambda / (1.0 - lambda)).ln();
        let expected: f64 = terms.iter().map(|(llr, n)| n / (1.0 + (-(prior + llr)).exp())).sum();
        let nl = (expected / total_pairs).clamp(1e-12, 0.999);
        if (nl - lambda).abs() <= 1e-9 * lambda.max(1e-12) {
            lambda = nl;
            break;
        }
        lambda = nl;
    }
    lambda
}

impl Model {
    /// Re-estimate m from labelled pairs (`(pattern, same person)`, patterns
    /// as [`Compiled`] packs them), with `self` as the prior: the levels seen
    /// among the pairs labelled the same person, plus `prior_weight`
    /// pseudo-pairs spread as the prior m (few labels move m a little, many
    /// labels take over). u stays (it comes from random pairs; the pairs a
    /// person labelled distinct were shown because they agree, they are no
    /// random pairs): they calibrate λ instead, see [`Model::calibrate`].
    /// A comparison whose re-estimated m fails the plausibility check keeps
    /// the prior's m.
    pub fn learn(&self, compiled: &Compiled, labelled: &[(u64, bool)], prior_weight: f64) -> Model {
        let mut out = self.clone();
        let neutral = compiled.redundant_swaps();
        for (c, cmp) in out.comparisons.iter_mut().enumerate() {
            let k = cmp.levels.len();
            let skip: Vec<usize> = neutral.iter().filter(|(nc, _)| *nc == c).map(|(_, l)| *l).collect();
            let mut seen = vec![0.0; k];
            for (p, same) in labelled {
                let l = level_at(*p, c);
                if *same && l != NULL_LEVEL && (l as usize) < k {
                    seen[l as usize] += 1.0;
                }
            }
            let n: f64 = seen.iter().sum();
            if n == 0.0 {
                continue;
            }
            let m: Vec<f64> = (0..k).map(|l| ((seen[l] + prior_weight * cmp.levels[l].m) / (n + prior_weight)).max(FLOOR)).collect();
            let u: Vec<f64> = cmp.levels.iter().map(|l| l.u).collect();
            if plausible_except(&m, &u, &skip) {
                for (level, m) in cmp.levels.iter_mut().zip(m) {
                    level.m = m;
                }
            }
        }
        // A swap or cross seen from both name comparisons stays one piece of evidence.
        for (c, l) in compiled.redundant_swaps() {
            if let Some(level) = out.comparisons.get_mut(c).and_then(|x| x.levels.get_mut(l)) {
                let mid = (level.m * level.u).sqrt();
                level.m = mid;
                level.u = mid;
            }
        }
        out.iterations = 0;
        out
    }

    /// Calibrate λ on labelled pairs: `scored` holds each pair's match
    /// weight without the prior (bits) and whether it is the same person.
    /// The prior log-odds move by the offset that best explains the labels
    /// (logistic fit of an intercept, with a normal prior of `sigma_bits` on
    /// the offset so that a few labels move it a little).
    pub fn calibrate(&self, scored: &[(f64, bool)], sigma_bits: f64) -> Model {
        let mut out = self.clone();
        if scored.is_empty() {
            return out;
        }
        let base = self.prior_weight();
        let ln2 = std::f64::consts::LN_2;
        let mut delta = 0.0f64;
        for _ in 0..50 {
            // Newton step on the penalised log-likelihood, in bits.
            let (mut g, mut h) = (-delta / (sigma_bits * sigma_bits), -1.0 / (sigma_bits * sigma_bits));
            for (w, same) in scored {
                let z = (base + delta + w) * ln2;
                let p = 1.0 / (1.0 + (-z).exp());
                g += ln2 * (f64::from(u8::from(*same)) - p);
                h -= ln2 * ln2 * p * (1.0 - p);
            }
            let step = -g / h;
            delta += step.clamp(-4.0, 4.0);
            if step.abs() < 1e-6 {
                break;
            }
        }
        out.lambda = weight_to_probability(base + delta).clamp(1e-12, 0.5);
        out
    }
}
