//! A small mutational fuzzer for the stable toolchain (cargo-fuzz needs a
//! nightly compiler this project does not use): each target starts from seed
//! inputs (valid examples), mutates them at random — bit flips, interesting
//! bytes, insertions, deletions, repeats, splices, tokens of a dictionary —
//! and calls the parser under `catch_unwind` for a time budget. A panic is a
//! crash: the input is written to `target/fuzz-crashes/` and the run fails
//! with the seed that reproduces it. No coverage guidance: the seeds and
//! dictionaries carry the structure.
//!
//! `VEILLE_FUZZ_SECONDS` sets the budget per target (2 by default, so that
//! `cargo test --workspace` stays quick; `make test` runs 10 per target),
//! `VEILLE_FUZZ_SEED` the random seed (printed by every run).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a run did.
#[derive(Debug)]
pub struct Report {
    /// Inputs tried.
    pub runs: u64,
    /// The slowest single input.
    pub slowest: Duration,
    /// The random seed of the run.
    pub seed: u64,
}

/// The budget per target, from `VEILLE_FUZZ_SECONDS` (default 2 s).
pub fn budget() -> Duration {
    let secs = std::env::var("VEILLE_FUZZ_SECONDS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(2.0);
    Duration::from_secs_f64(secs.clamp(0.1, 60.0))
}

const INTERESTING: &[u8] = b"\x00\x01\x7f\x80\xff\"'\\{}[]<>%&=+;:,.-0123456789 \n\r\t\xc3\xa9";

/// Fuzzes `target` from `seeds` (and `dictionary` tokens) for [`budget`]:
/// panics, naming the saved input, when `target` panics.
pub fn fuzz(name: &str, seeds: &[Vec<u8>], dictionary: &[&[u8]], mut target: impl FnMut(&[u8])) -> Report {
    let seed: u64 = std::env::var("VEILLE_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let budget = budget();
    let started = Instant::now();
    let mut report = Report { runs: 0, slowest: Duration::ZERO, seed };
    let mut pool: Vec<Vec<u8>> = seeds.to_vec();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    // The seeds themselves first, then mutants.
    let mut queue: Vec<Vec<u8>> = seeds.to_vec();
    queue.push(Vec::new());
    while started.elapsed() < budget || !queue.is_empty() {
        let input = match queue.pop() {
            Some(i) => i,
            None => {
                let base = pool[rng.gen_range(0..pool.len())].clone();
                let other = &pool[rng.gen_range(0..pool.len())];
                mutate(&mut rng, base, other, dictionary)
            }
        };
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| target(&input)));
        report.slowest = report.slowest.max(t.elapsed());
        report.runs += 1;
        if outcome.is_err() {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-crashes");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{name}-{seed}-{}.bin", report.runs));
            let _ = std::fs::write(&file, &input);
            panic!("fuzz target {name} crashed after {} inputs (VEILLE_FUZZ_SEED={seed}); input saved to {}", report.runs, file.display());
        }
        // Keep some mutants as bases: the pool drifts away from the seeds.
        if rng.gen_ratio(1, 16) && input.len() < 1 << 16 {
            if pool.len() < 256 {
                pool.push(input);
            } else {
                let i = rng.gen_range(seeds.len().min(pool.len() - 1)..pool.len());
                pool[i] = input;
            }
        }
    }
    eprintln!("fuzz {name}: {} inputs in {:?}, slowest {:?}, 0 crashes (VEILLE_FUZZ_SEED={seed})", report.runs, started.elapsed(), report.slowest);
    report
}

fn mutate(rng: &mut StdRng, mut data: Vec<u8>, other: &[u8], dictionary: &[&[u8]]) -> Vec<u8> {
    for _ in 0..rng.gen_range(1..=8) {
        let len = data.len();
        match rng.gen_range(0..9) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len);
                data[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                data[i] = INTERESTING[rng.gen_range(0..INTERESTING.len())];
            }
            2 => {
                let i = rng.gen_range(0..=len);
                let n = rng.gen_range(1..=8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
                data.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.gen_range(0..len);
                let j = (i + rng.gen_range(1..=len.min(64))).min(len);
                data.drain(i..j);
            }
            4 if len > 0 => {
                // Repeat a chunk (deep nesting, long runs).
                let i = rng.gen_range(0..len);
                let j = (i + rng.gen_range(1..=len.min(32))).min(len);
                let chunk = data[i..j].to_vec();
                let times = rng.gen_range(1..=16);
                for _ in 0..times {
                    data.splice(j..j, chunk.iter().copied());
                }
            }
            5 if !other.is_empty() => {
                // Splice a piece of another input.
                let i = rng.gen_range(0..other.len());
                let j = (i + rng.gen_range(1..=other.len().min(128))).min(other.len());
                let at = rng.gen_range(0..=len);
                data.splice(at..at, other[i..j].iter().copied());
            }
            6 | 7 if !dictionary.is_empty() => {
                let token = dictionary[rng.gen_range(0..dictionary.len())];
                let at = rng.gen_range(0..=len);
                data.splice(at..at, token.iter().copied());
            }
            8 if len > 1 => {
                data.truncate(rng.gen_range(0..len));
            }
            _ => {}
        }
    }
    data.truncate(1 << 20);
    data
}

#[cfg(test)]
mod tests {
    /// The harness finds a crash hidden behind a dictionary token and says so.
    #[test]
    #[should_panic(expected = "fuzz target planted crashed")]
    fn a_planted_crash_is_found() {
        super::fuzz("planted", &[b"a=1&b=2".to_vec()], &[b"boom"], |bytes| {
            if bytes.windows(4).any(|w| w == b"boom") {
                panic!("planted");
            }
        });
    }
}
