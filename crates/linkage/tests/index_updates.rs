//! The incremental index follows the records it holds: an edited record is
//! found by its new values only, a withdrawn one is never suggested again,
//! and a record put back after withdrawal is found again.

use veille_linkage::engine::Compiled;
use veille_linkage::model::{ComparisonParams, LevelParams};
use veille_linkage::{Config, Index, Model, Record};

fn config() -> Config {
    Config::from_toml_str(include_str!("../examples/people.toml")).expect("config")
}

/// A fixed model: each agreement level is strong evidence, decreasing with
/// its rank; "else" is evidence against. Independent of the records held, so
/// the answers below do not depend on an estimation over a handful of them.
fn model(cfg: &Config) -> Model {
    let compiled = Compiled::new(cfg, None).expect("compiled");
    let comparisons = compiled
        .comparison_names()
        .into_iter()
        .zip(compiled.labels())
        .map(|(name, labels)| {
            let agree = labels.len() - 1;
            let levels = labels
                .into_iter()
                .enumerate()
                .map(|(i, label)| {
                    if i < agree {
                        LevelParams { label, m: 0.8 / (i as f64 + 1.0) / agree as f64, u: 0.002 * (i as f64 + 1.0) }
                    } else {
                        LevelParams { label, m: 0.05, u: 0.95 }
                    }
                })
                .collect();
            ComparisonParams { name, levels }
        })
        .collect();
    Model { lambda: 0.001, comparisons, iterations: 0, records: None }
}

fn person(id: &str, given: &str, family: &str, year: &str) -> Record {
    Record::new(id).with("given_name", given).with("family_name", family).with("birth_year", year).with("gender", "M")
}

fn index(records: Vec<Record>) -> Index {
    let cfg = config();
    let m = model(&cfg);
    Index::build_with_model(&cfg, records, Some(m)).expect("index")
}

fn found(index: &Index, probe: &Record) -> Vec<String> {
    index.candidates(probe, 10).into_iter().map(|p| p.right_id).collect()
}

#[test]
fn a_withdrawn_record_is_no_longer_suggested() {
    let mut idx = index(vec![person("p1", "Mohamed", "Benali", "1979"), person("p2", "Ionut", "Popescu", "1990")]);
    let probe = person("new", "Mohammed", "Ben Ali", "1980");
    assert_eq!(found(&idx, &probe), vec!["p1"]);
    assert_eq!(idx.len(), 2);
    assert!(idx.remove("p1"));
    assert!(!idx.contains("p1"));
    assert_eq!(idx.len(), 1);
    assert!(found(&idx, &probe).is_empty());
    // Withdrawing twice, or an unknown id, changes nothing.
    assert!(!idx.remove("p1"));
    assert!(!idx.remove("nobody"));
    assert_eq!(idx.len(), 1);
}

#[test]
fn an_edited_record_is_found_by_its_new_values_only() {
    let mut idx = index(vec![person("p1", "Mohamed", "Benali", "1979"), person("p2", "Ionut", "Popescu", "1990")]);
    let old_probe = person("a", "Mohammed", "Ben Ali", "1980");
    let new_probe = person("b", "Ionuț", "Popesco", "1990");
    assert_eq!(found(&idx, &old_probe), vec!["p1"]);
    // p1 was recorded under a wrong name: corrected to another person's look.
    assert!(idx.update(&person("p1", "Ionut", "Popescu", "1991")));
    assert!(found(&idx, &old_probe).is_empty(), "the old values are forgotten");
    let mut now = found(&idx, &new_probe);
    now.sort();
    assert_eq!(now, vec!["p1", "p2"]);
    assert_eq!(idx.len(), 2, "an update does not add a record");
    // Updating an id the index does not hold adds it.
    assert!(!idx.update(&person("p3", "Abdelkader", "Haddad", "1970")));
    assert_eq!(idx.len(), 3);
    assert_eq!(found(&idx, &person("c", "Abd el Kader", "Hadad", "1970")), vec!["p3"]);
}

#[test]
fn inserting_an_existing_id_replaces_it_and_a_record_can_come_back() {
    let mut idx = index(vec![person("p1", "Mohamed", "Benali", "1979")]);
    idx.insert(&person("p9", "Ionut", "Popescu", "1990"));
    idx.insert(&person("p9", "Ionut", "Popescu", "1990"));
    assert_eq!(idx.len(), 2);
    let probe = person("x", "Ionuț", "Popescu", "1990");
    assert_eq!(found(&idx, &probe), vec!["p9"], "one suggestion, not one per insert");
    // Records added after the build are withdrawn like the others.
    assert!(idx.remove("p9"));
    assert!(found(&idx, &probe).is_empty());
    // Put back (a link undone, say): found again.
    idx.insert(&person("p9", "Ionut", "Popescu", "1990"));
    assert_eq!(found(&idx, &probe), vec!["p9"]);
    // A record built into the index can come back too.
    assert!(idx.remove("p1"));
    idx.insert(&person("p1", "Mohamed", "Benali", "1979"));
    assert_eq!(found(&idx, &person("y", "Mohammed", "Benali", "1979")), vec!["p1"]);
}

#[test]
fn an_id_given_twice_at_build_counts_once() {
    let idx = index(vec![person("p1", "Mohamed", "Benali", "1979"), person("p1", "Ionut", "Popescu", "1990")]);
    assert_eq!(idx.len(), 1);
    assert!(found(&idx, &person("a", "Mohammed", "Benali", "1979")).is_empty(), "the first record was replaced");
    assert_eq!(found(&idx, &person("b", "Ionut", "Popescu", "1990")), vec!["p1"]);
}
