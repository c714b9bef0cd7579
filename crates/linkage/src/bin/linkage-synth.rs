//! Synthetic veille-shaped person records with known truth (column `entity`);
//! see `veille_linkage::synth` for what they are like.
//!
//! `linkage-synth --records 100000 --seed 1 [--profile street|classic] [--namesake-share 0.5] --output synth.csv`

use veille_linkage::synth::{generate, write_csv, Options};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut opts = Options::default();
    let mut out: Option<String> = None;
    let mut i = 1;
    let value = |i: usize, name: &str| args.get(i + 1).cloned().ok_or_else(|| anyhow::anyhow!("{name} needs a value"));
    while i < args.len() {
        match args[i].as_str() {
            "--records" => opts.records = value(i, "--records")?.parse()?,
            "--seed" => opts.seed = value(i, "--seed")?.parse()?,
            "--profile" => opts.profile = value(i, "--profile")?.parse().map_err(anyhow::Error::msg)?,
            "--namesake-share" => opts.namesake_share = value(i, "--namesake-share")?.parse()?,
            "--output" => out = Some(value(i, "--output")?),
            "-h" | "--help" => {
                println!(
                    "linkage-synth [--records N] [--seed S] [--profile street|classic] [--namesake-share 0.5] [--output FILE.csv]\n\
                     Synthetic person records; column `entity` is the truth."
                );
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
        i += if args[i].starts_with("--") && !matches!(args[i].as_str(), "-h" | "--help") { 2 } else { 1 };
    }
    let rows = generate(&opts);
    match &out {
        Some(p) => write_csv(&rows, std::io::BufWriter::new(std::fs::File::create(p)?))?,
        None => write_csv(&rows, std::io::BufWriter::new(std::io::stdout().lock()))?,
    }
    let (same, diff) = veille_linkage::synth::exact_name_pairs(&rows);
    eprintln!(
        "{} records; pairs agreeing exactly on given and family name: {same} same person, {diff} namesakes; common names given to {:.1} % of people",
        rows.len(),
        veille_linkage::synth::last_common_share() * 100.0
    );
    Ok(())
}
