//! Street records (issue 18): estimated ages, term-frequency adjustment,
//! names typed in the other box, typo-robust blocking, estimation robust to
//! namesakes and learning from labelled pairs.

use veille_linkage::model::plausible;
use veille_linkage::synth::{exact_name_pairs, generate, Options};
use veille_linkage::{dedupe, learn, Config, Index, Labelled, LearnWeights, Model, Record};

const PEOPLE: &str = include_str!("../examples/people.toml");

fn config() -> Config {
    Config::from_toml_str(PEOPLE).expect("config")
}

/// The model estimated without labels on 4,000 street records (once).
fn model() -> Model {
    static MODEL: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| {
            let rows = generate(&Options { records: 4000, seed: 11, ..Default::default() });
            dedupe(&config(), &rows.iter().map(|r| r.to_record()).collect::<Vec<_>>()).expect("dedupe").model
        })
        .clone()
}

fn index(records: Vec<Record>) -> Index {
    Index::build_with_model(&config(), records, Some(model())).expect("index")
}

/// The explanation of the best pair of `a` against an index of `others`.
fn best(a: &Record, others: Vec<Record>) -> veille_linkage::ScoredPair {
    let idx = index(others);
    idx.candidates_above(a, 5, 0.0).into_iter().next().unwrap_or_else(|| panic!("no candidate for {a:?}"))
}

fn level(p: &veille_linkage::ScoredPair, name: &str) -> String {
    p.agreements.iter().find(|x| x.comparison == name).expect("comparison").level.clone()
}

fn weight(p: &veille_linkage::ScoredPair, name: &str) -> f64 {
    p.agreements.iter().find(|x| x.comparison == name).expect("comparison").weight
}

#[test]
fn an_age_given_on_a_date_is_a_birth_year_interval_compared_as_an_estimate() {
    let typed =
        |id: &str, age: &str, on: &str| Record::new(id).with("given_name", "Yacine").with("family_name", "Yahiaoui").with("age", age).with("recorded_on", on);
    let stated = |id: &str, year: &str| Record::new(id).with("given_name", "Yacine").with("family_name", "Yahiaoui").with("birth_year", year);
    // 35 in 2020: born in 1984 or 1985.
    assert_eq!(level(&best(&typed("a", "35", "2020-05-01"), vec![stated("b", "1985")]), "birth"), "age_within_2");
    assert_eq!(level(&best(&typed("a", "35 ans", "2020-05-01"), vec![stated("b", "1980")]), "birth"), "age_within_6");
    assert_eq!(level(&best(&typed("a", "35", "2020-05-01"), vec![stated("b", "1970")]), "birth"), "else");
    // The same age given ten years apart is the same birth year.
    assert_eq!(level(&best(&typed("a", "30", "2014-01-10"), vec![typed("b", "40", "2024-06-01")]), "birth"), "age_within_2");
    // Two stated years keep the year levels.
    assert_eq!(level(&best(&stated("a", "1985"), vec![stated("b", "1986")]), "birth"), "year_within_1");
}

#[test]
fn agreeing_on_a_rare_name_weighs_more_than_on_a_common_one() {
    let mut records = Vec::new();
    // Under the blocks' size limit (common names make blocks too large to
    // be candidates on a name alone).
    for i in 0..30 {
        records.push(Record::new(format!("m{i}")).with("given_name", "Mohamed").with("family_name", format!("Nom{}", (b'a' + (i % 26) as u8) as char)));
    }
    records.push(Record::new("rare").with("given_name", "Zerouali").with("family_name", "Kiki"));
    let idx = index(records);
    let common = idx.candidates_above(&Record::new("q1").with("given_name", "Mohamed").with("family_name", "Xyz"), 1, 0.0);
    let rare = idx.candidates_above(&Record::new("q2").with("given_name", "Zerouali").with("family_name", "Xyz"), 1, 0.0);
    let (c, r) = (weight(&common[0], "given_name"), weight(&rare[0], "given_name"));
    assert_eq!((level(&common[0], "given_name").as_str(), level(&rare[0], "given_name").as_str()), ("exact", "exact"));
    assert!(r > c + 4.0, "rare {r:.1} bits, common {c:.1} bits");
}

#[test]
fn a_given_name_typed_as_a_family_name_is_crossed() {
    let given_only = Record::new("a").with("given_name", "Yassine").with("age", "30").with("recorded_on", "2022-01-01");
    let swapped = Record::new("b").with("given_name", "Yahyaoui").with("family_name", "Yasine").with("birth_year", "1992");
    let p = best(&given_only, vec![swapped]);
    assert_eq!(level(&p, "given_name"), "crossed_with_family_name");
    assert_eq!(level(&p, "family_name"), "null");
    assert!(weight(&p, "given_name") > 0.0);
}

#[test]
fn the_street_generator_has_as_many_namesakes_as_duplicates_agreeing_on_names() {
    let rows = generate(&Options { records: 6000, seed: 3, ..Default::default() });
    let (same, namesakes) = exact_name_pairs(&rows);
    let share = namesakes as f64 / (same + namesakes) as f64;
    assert!((0.4..=0.6).contains(&share), "{namesakes} namesakes, {same} same person");
    let given_only = rows.iter().filter(|r| !r.given_name.is_empty() && r.family_name.is_empty() && !r.age.is_empty()).count();
    let phones = rows.iter().filter(|r| !r.phone.is_empty()).count();
    assert!(given_only * 100 > rows.len() * 8, "given-name-only records with an age: {given_only}");
    assert!((rows.len() / 12..rows.len() / 6).contains(&phones), "phones: {phones}");
}

#[test]
fn blocking_keeps_nine_true_pairs_in_ten_and_linkage_finds_most() {
    let rows = generate(&Options { records: 8000, seed: 5, ..Default::default() });
    let records: Vec<Record> = rows.iter().map(|r| r.to_record()).collect();
    let result = dedupe(&config(), &records).expect("dedupe");
    let entity: Vec<usize> = rows.iter().map(|r| r.entity).collect();
    let truth: usize = {
        let mut per = std::collections::HashMap::new();
        for e in &entity {
            *per.entry(*e).or_insert(0usize) += 1;
        }
        per.values().map(|k| k * (k - 1) / 2).sum()
    };
    let tp = result.pairs.iter().filter(|p| p.weight >= 0.0 && entity[p.a as usize] == entity[p.b as usize]).count();
    let kept = result.pairs.iter().filter(|p| p.weight >= 0.0).count();
    let (precision, recall) = (tp as f64 / kept as f64, tp as f64 / truth as f64);
    let f1 = 2.0 * precision * recall / (precision + recall);
    // 0.725 while a rare name's frequency counted the person's own other
    // records (a name one person carries looked as common as their records
    // are many); 0.731 counting strangers only.
    assert!(f1 >= 0.728, "precision {precision:.3}, recall {recall:.3}, F1 {f1:.3}");
    assert!(result.blocking_recall(&entity.iter().map(|e| *e as u32).collect::<Vec<_>>()) >= 0.88);
}

#[test]
fn implausible_m_is_refused() {
    // Matches that differ more often than random pairs: namesakes taken for matches.
    assert!(!plausible(&[0.05, 0.05, 0.9], &[0.01, 0.05, 0.94]));
    assert!(!plausible(&[0.3, 0.2, 0.5], &[0.01, 0.05, 0.94]), "half the matches disagreeing");
    assert!(plausible(&[0.6, 0.3, 0.1], &[0.01, 0.05, 0.94]));
}

#[test]
fn learning_from_labelled_pairs_moves_m_and_calibrates_lambda() {
    let rows = generate(&Options { records: 3000, seed: 9, ..Default::default() });
    let records: Vec<Record> = rows.iter().map(|r| r.to_record()).collect();
    let cfg = config();
    let result = dedupe(&cfg, &records).expect("dedupe");
    let prior = result.model.clone();
    // Pairs agreeing exactly on both names, labelled distinct: the names weigh as before (u stays), λ falls.
    let pair = |a: &str, b: &str, same| Labelled {
        left: Record::new("x").with("given_name", "Mohamed").with("family_name", a),
        right: Record::new("y").with("given_name", "Mohamed").with("family_name", b),
        same,
    };
    let labelled: Vec<Labelled> = (0..100).map(|i| pair(&format!("Traore{i}"), &format!("Traore{i}"), i % 10 == 0)).collect();
    let learned = learn(&cfg, &prior, &labelled, LearnWeights::default()).expect("learn");
    assert!(learned.lambda < prior.lambda, "λ {} from {}", learned.lambda, prior.lambda);
    let exact = |m: &veille_linkage::Model| m.comparisons[1].levels[0].m;
    assert!(exact(&learned) > exact(&prior), "m of an exact family name rises with the matches agreeing on it");
    assert_eq!(learned.comparisons[1].levels[0].u, prior.comparisons[1].levels[0].u);
}

#[test]
fn a_batch_drops_the_keys_it_never_compares_and_finds_the_same_candidates() {
    use veille_linkage::engine::{Compiled, Engine, PreparedSet, Use};
    let rows = generate(&Options { records: 3000, seed: 7, ..Default::default() });
    let records: Vec<Record> = rows.iter().map(|r| r.to_record()).collect();
    let build = |usage: Use| {
        let compiled = Compiled::new(&config(), None).expect("compiled");
        let mut set = PreparedSet::new(&compiled);
        for r in &records {
            let get = |i: usize| r.get(&compiled.fields[i]);
            set.push(compiled.prepare(&get));
        }
        Engine::new(compiled, set, None, usage)
    };
    // A batch keeps only blocks of two records or more and not oversized;
    // an index for lookups keeps every key. Their candidates are the same.
    let (batch, lookups) = (build(Use::Batch), build(Use::Lookups));
    let pairs = |e: &Engine| {
        let mut v: Vec<(u32, u32, u64)> = e.sample_candidates(usize::MAX, 1);
        v.sort_unstable();
        v
    };
    let found = pairs(&batch);
    assert!(found.len() > records.len(), "{} candidate pairs", found.len());
    assert_eq!(found, pairs(&lookups));
    // Counted record by record from a batch's blocks, block by block in an
    // index for lookups: each pair once either way.
    assert_eq!(batch.candidate_pairs(), found.len() as u64);
    assert_eq!(lookups.candidate_pairs(), found.len() as u64);
    assert_eq!(batch.skipped_blocks, lookups.skipped_blocks);
    assert!(batch.skipped_blocks > 0, "some blocks are oversized in the street profile");
    let entity: Vec<u32> = rows.iter().map(|r| r.entity as u32).collect();
    assert_eq!(batch.blocking_recall(&entity), lookups.blocking_recall(&entity));
}

#[test]
fn random_pairs_for_u_grow_with_the_file() {
    let mut cfg = config();
    cfg.estimation.u_pairs_per_record = -1.0;
    assert!(cfg.check().expect_err("negative").to_string().contains("u_pairs_per_record"));
    cfg.estimation.u_pairs_per_record = f64::NAN;
    assert!(cfg.check().is_err());
    cfg.estimation.u_pairs_per_record = 3.0;
    cfg.check().expect("3 per record");
}
