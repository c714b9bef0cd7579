//! EM estimation on a small labelled synthetic set, the incremental index,
//! and the command line on malformed input.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use veille_linkage::cli::{run, LinkageCommand};
use veille_linkage::{dedupe, Config, Index, Record};

const CONFIG: &str = r#"
id_field = "id"
threshold = 0.5

[estimation]
u_random_pairs = 50000
em_max_pairs = 50000

[[comparison]]
name = "given_name"
field = "given_name"
levels = [{ type = "exact" }, { type = "jaro_winkler", threshold = 0.88 }]

[[comparison]]
name = "family_name"
field = "family_name"
levels = [{ type = "exact" }, { type = "jaro_winkler", threshold = 0.88 }]

[[comparison]]
name = "birth_year"
field = "birth_year"
levels = [{ type = "year", tolerance = 0 }, { type = "year", tolerance = 2 }]

[[comparison]]
name = "city"
field = "city"
levels = [{ type = "exact" }]

[[blocking]]
keys = [{ field = "given_name", transform = "phonetic" }]

[[blocking]]
keys = [{ field = "family_name", transform = "phonetic" }]

[[blocking]]
keys = [{ field = "birth_year", transform = "year" }, { field = "city" }]
"#;

fn random_name(rng: &mut StdRng) -> String {
    const ON: &[&str] = &["b", "d", "k", "l", "m", "n", "r", "s", "t", "v", "ch", "dj"];
    const NU: &[&str] = &["a", "e", "i", "o", "ou"];
    let mut s = String::new();
    for _ in 0..rng.gen_range(2..=3) {
        s.push_str(ON[rng.gen_range(0..ON.len())]);
        s.push_str(NU[rng.gen_range(0..NU.len())]);
    }
    s
}

fn typo(s: &str, rng: &mut StdRng) -> String {
    let mut c: Vec<char> = s.chars().collect();
    let i = rng.gen_range(1..c.len());
    c[i] = 'x';
    c.into_iter().collect()
}

/// Invented entities, each recorded once or twice with noise; returns the
/// records and the entity of each.
fn labelled(n_entities: usize, seed: u64) -> (Vec<Record>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let cities = ["Lyon", "Paris", "Lille", "Nantes", "Marseille", "Rennes"];
    let mut recs = Vec::new();
    let mut truth = Vec::new();
    for e in 0..n_entities {
        let g = random_name(&mut rng);
        let f = random_name(&mut rng);
        let y: i32 = rng.gen_range(1950..2000);
        let c = cities[rng.gen_range(0..cities.len())];
        let copies = if rng.gen_bool(0.5) { 2 } else { 1 };
        for k in 0..copies {
            let mut r = Record::new(format!("e{e}-{k}"));
            let gg = if k > 0 && rng.gen_bool(0.2) { typo(&g, &mut rng) } else { g.clone() };
            let ff = if k > 0 && rng.gen_bool(0.2) { typo(&f, &mut rng) } else { f.clone() };
            let yy = if k > 0 && rng.gen_bool(0.3) { y + rng.gen_range(-2..=2) } else { y };
            let cc = if k > 0 && rng.gen_bool(0.2) { cities[rng.gen_range(0..cities.len())] } else { c };
            r = r.with("given_name", gg).with("family_name", ff).with("birth_year", yy.to_string()).with("city", cc);
            recs.push(r);
            truth.push(e);
        }
    }
    (recs, truth)
}

#[test]
fn em_recovers_m_close_to_the_labelled_truth_and_links_well() {
    let (recs, truth) = labelled(1500, 7);
    let cfg = Config::from_toml_str(CONFIG).expect("config");
    let res = dedupe(&cfg, &recs).expect("dedupe");
    let model = &res.model;

    // Empirical m of the exact levels over the true pairs.
    let mut true_pairs = Vec::new();
    for i in 0..recs.len() {
        for j in (i + 1)..recs.len().min(i + 3) {
            if truth[i] == truth[j] {
                true_pairs.push((i, j));
            }
        }
    }
    let frac = |field: &str| true_pairs.iter().filter(|(i, j)| recs[*i].get(field) == recs[*j].get(field)).count() as f64 / true_pairs.len() as f64;
    for (c, field) in [(0, "given_name"), (1, "family_name"), (3, "city")] {
        let m_exact = model.comparisons[c].levels[0].m;
        let emp = frac(field);
        assert!((m_exact - emp).abs() < 0.12, "{field}: EM m={m_exact:.3}, labelled {emp:.3}");
        assert!(model.comparisons[c].levels[0].u < 0.2, "{field}: u of exact should be small");
    }
    // λ: true share of matching pairs.
    let n = recs.len() as f64;
    let lambda_true = true_pairs.len() as f64 / (n * (n - 1.0) / 2.0);
    assert!(model.lambda > lambda_true / 3.0 && model.lambda < lambda_true * 3.0, "λ {} vs {}", model.lambda, lambda_true);

    // Pairwise quality.
    let mut tp = 0;
    for p in &res.pairs {
        if truth[p.a as usize] == truth[p.b as usize] {
            tp += 1;
        }
    }
    let precision = tp as f64 / res.pairs.len() as f64;
    let recall = tp as f64 / true_pairs.len() as f64;
    assert!(precision > 0.9 && recall > 0.9, "precision {precision:.3} recall {recall:.3}");
}

#[test]
fn index_suggests_duplicates_and_learns_inserts() {
    let (recs, _) = labelled(800, 11);
    let cfg = Config::from_toml_str(CONFIG).expect("config");
    let probe = recs[0].clone();
    let mut index = Index::build(&cfg, recs[1..].to_vec()).expect("index");
    let fresh = Record::new("new-1").with("given_name", "Zorbalak").with("family_name", "Quintopher").with("birth_year", "1966").with("city", "Lyon");
    assert!(index.candidates(&fresh, 5).is_empty());
    index.insert(&fresh);
    let again = Record::new("new-2").with("given_name", "Zorbalac").with("family_name", "Quintopher").with("birth_year", "1967").with("city", "Lyon");
    let found = index.candidates(&again, 5);
    assert_eq!(found[0].right_id, "new-1");
    assert_eq!(found[0].agreements[1].level, "exact");
    assert!(found[0].match_probability >= 0.5);
    // The probe's twin, if it has one, is found; the probe itself never is.
    let c = index.candidates(&probe, 10);
    assert!(c.iter().all(|p| p.right_id != probe.id));
    if recs[1].id.starts_with("e0-") {
        assert_eq!(c[0].right_id, recs[1].id);
    }
}

fn tmp(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("veille-linkage-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write");
    p
}

fn dedupe_cmd(config: PathBuf, input: PathBuf, output: PathBuf) -> LinkageCommand {
    LinkageCommand::Dedupe { config, input, output, clusters: None, threshold: None, save_model: None }
}

const GOOD_CSV: &str = "id,given_name,family_name,birth_year,city\n1,Karim,Haddad,1970,Lyon\n2,Karim,Hadad,1970,Lyon\n3,Nadia,Traore,1985,Paris\n";

#[test]
fn cli_reports_malformed_csv_with_line_number() {
    let cfg = tmp("a.toml", CONFIG);
    let csv = tmp("bad.csv", "id,given_name,family_name,birth_year,city\n1,Karim,Haddad,1970,Lyon\n2,Karim,Hadad\n");
    let err = run(dedupe_cmd(cfg, csv, tmp("out.csv", ""))).expect_err("must fail");
    let msg = format!("{err:#}");
    assert!(msg.contains("bad.csv"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
    assert!(msg.contains("expected 5 fields"), "{msg}");
}

#[test]
fn cli_reports_duplicate_ids_and_missing_columns() {
    let cfg = tmp("b.toml", CONFIG);
    let dup = tmp("dup.csv", "id,given_name,family_name,birth_year,city\n1,A,B,1970,Lyon\n1,C,D,1971,Lyon\n");
    let msg = format!("{:#}", run(dedupe_cmd(cfg.clone(), dup, tmp("o1.csv", ""))).expect_err("dup"));
    assert!(msg.contains("line 3") && msg.contains("duplicate id '1'"), "{msg}");
    let nocity = tmp("nocity.csv", "id,given_name,family_name,birth_year\n1,A,B,1970\n");
    let msg = format!("{:#}", run(dedupe_cmd(cfg, nocity, tmp("o2.csv", ""))).expect_err("no city"));
    assert!(msg.contains("unknown field 'city'"), "{msg}");
}

#[test]
fn cli_reports_bad_config() {
    let csv = tmp("good.csv", GOOD_CSV);
    let bad_cmp = CONFIG.replace(
        "type = \"exact\" }, { type = \"jaro_winkler\", threshold = 0.88 }]\n\n[[comparison]]\nname = \"family_name\"",
        "type = \"soundex\" }]\n\n[[comparison]]\nname = \"family_name\"",
    );
    assert_ne!(bad_cmp, CONFIG);
    let msg = format!("{:#}", run(dedupe_cmd(tmp("c.toml", &bad_cmp), csv.clone(), tmp("o3.csv", ""))).expect_err("bad comparator"));
    assert!(msg.contains("c.toml") && msg.contains("soundex") && msg.contains("line"), "{msg}");
    let bad_key = CONFIG.replace("id_field", "idfield");
    let msg = format!("{:#}", run(dedupe_cmd(tmp("d.toml", &bad_key), csv.clone(), tmp("o4.csv", ""))).expect_err("bad key"));
    assert!(msg.contains("idfield"), "{msg}");
    let no_rule = CONFIG.split("[[blocking]]").next().unwrap_or_default().to_string();
    let msg = format!("{:#}", run(dedupe_cmd(tmp("e.toml", &no_rule), csv, tmp("o5.csv", ""))).expect_err("no blocking"));
    assert!(msg.contains("blocking"), "{msg}");
}

#[test]
fn cli_writes_explained_pairs_and_clusters() {
    let cfg = tmp("f.toml", CONFIG);
    // Background of invented people so that u and λ can be estimated.
    let mut text = GOOD_CSV.to_string();
    let mut rng = StdRng::seed_from_u64(3);
    for i in 0..300 {
        let year = rng.gen_range(1940..2005);
        text.push_str(&format!("x{i},{},{},{year},Rennes\n", random_name(&mut rng), random_name(&mut rng)));
    }
    let csv = tmp("good2.csv", &text);
    let out = tmp("pairs.csv", "");
    let clusters = tmp("clusters.csv", "");
    let model = tmp("model.json", "");
    run(LinkageCommand::Dedupe {
        config: cfg,
        input: csv,
        output: out.clone(),
        clusters: Some(clusters.clone()),
        threshold: Some(0.5),
        save_model: Some(model.clone()),
    })
    .expect("run");
    let pairs = std::fs::read_to_string(out).expect("pairs");
    assert!(pairs.starts_with("left_id,right_id,match_weight,match_probability,given_name,family_name,birth_year,city"));
    assert!(pairs.lines().any(|l| l.starts_with("1,2,") && l.ends_with("exact,jaro_winkler>=0.88,year_within_0,exact")), "{pairs}");
    let cl = std::fs::read_to_string(clusters).expect("clusters");
    assert!(cl.contains("2,1"), "{cl}");
    let m: veille_linkage::Model = serde_json::from_str(&std::fs::read_to_string(model).expect("model")).expect("json");
    assert_eq!(m.comparisons.len(), 4);
}

#[test]
fn index_can_be_shared_between_request_handlers() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Index>();
    assert_send_sync::<veille_linkage::ScoredPair>();
}
