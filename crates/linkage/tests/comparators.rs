//! Property and unit tests of the comparators, the normalisation, the
//! phonetic key and the agreement levels. All names are invented or common
//! first names; no real person.

use proptest::prelude::*;
use veille_linkage::engine::{parse_date, parse_year, Compiled};
use veille_linkage::normalize::normalize;
use veille_linkage::phonetic::phonetic_key;
use veille_linkage::similarity::{damerau_levenshtein, jaro, jaro_winkler, token_set};
use veille_linkage::{dedupe, Config, Record};

fn name() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Zéèëïîôçțșăâ' -]{0,14}").expect("regex")
}

fn ascii() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-e]{0,10}").expect("regex")
}

proptest! {
    #[test]
    fn jaro_winkler_bounds_symmetry_identity(a in ascii(), b in ascii()) {
        let s = jaro_winkler(a.as_bytes(), b.as_bytes());
        prop_assert!((0.0..=1.0 + 1e-12).contains(&s));
        prop_assert!((s - jaro_winkler(b.as_bytes(), a.as_bytes())).abs() < 1e-12);
        prop_assert!(jaro_winkler(a.as_bytes(), a.as_bytes()) == 1.0);
        prop_assert!(s + 1e-12 >= jaro(a.as_bytes(), b.as_bytes()));
    }

    #[test]
    fn damerau_levenshtein_is_a_bounded_symmetric_distance(a in ascii(), b in ascii(), c in ascii()) {
        let d = damerau_levenshtein(a.as_bytes(), b.as_bytes());
        prop_assert_eq!(d, damerau_levenshtein(b.as_bytes(), a.as_bytes()));
        prop_assert_eq!(damerau_levenshtein(a.as_bytes(), a.as_bytes()), 0);
        prop_assert!(d <= a.len().max(b.len()));
        prop_assert!(d >= a.len().abs_diff(b.len()));
        prop_assert_eq!(d == 0, a == b);
        // OSA obeys the triangle inequality up to transpositions; Levenshtein
        // bound: d(a,c) <= d(a,b) + d(b,c) + min transpositions slack of 1.
        let ac = damerau_levenshtein(a.as_bytes(), c.as_bytes());
        let bc = damerau_levenshtein(b.as_bytes(), c.as_bytes());
        prop_assert!(ac <= d + bc + 1);
    }

    #[test]
    fn damerau_levenshtein_counts_one_transposition(a in "[a-z]{2,12}", i in 0usize..11) {
        let mut v = a.clone().into_bytes();
        let i = i % (v.len() - 1);
        prop_assume!(v[i] != v[i + 1]);
        v.swap(i, i + 1);
        prop_assert_eq!(damerau_levenshtein(a.as_bytes(), &v), 1);
    }

    #[test]
    fn token_set_ignores_token_order(toks in proptest::collection::vec("[a-z]{1,8}", 1..5)) {
        let a: Vec<&str> = toks.iter().map(String::as_str).collect();
        let mut b = a.clone();
        b.reverse();
        prop_assert!((token_set(&a, &b) - 1.0).abs() < 1e-9);
        let s = token_set(&a, &["zzzzzzzzz"]);
        prop_assert!((0.0..=1.0).contains(&s));
    }

    #[test]
    fn normalize_is_idempotent_and_ascii_for_latin(s in name()) {
        let n = normalize(&s);
        prop_assert_eq!(normalize(&n), n.clone());
        prop_assert!(n.is_ascii());
        prop_assert!(!n.starts_with(' ') && !n.ends_with(' ') && !n.contains("  "));
        prop_assert_eq!(normalize(&s.to_uppercase()), n);
    }

    #[test]
    fn phonetic_key_ignores_case_accents_and_punctuation(s in name()) {
        let k = phonetic_key(&s);
        prop_assert_eq!(phonetic_key(&s.to_uppercase()), k.clone());
        prop_assert_eq!(phonetic_key(&normalize(&s)), k.clone());
        prop_assert_eq!(phonetic_key(&s.replace([' ', '-', '\''], "")), k.clone());
        prop_assert!(k.chars().all(|c| c.is_ascii_uppercase()));
    }

    #[test]
    fn dates_parse_in_both_orders(y in 1900i32..2020, m in 1u32..=12, d in 1u32..=28) {
        let iso = format!("{y:04}-{m:02}-{d:02}");
        let fr = format!("{d:02}/{m:02}/{y:04}");
        let compact = format!("{y:04}{m:02}{d:02}");
        prop_assert_eq!(parse_date(&iso), Some((y, m, d)));
        prop_assert_eq!(parse_date(&fr), Some((y, m, d)));
        prop_assert_eq!(parse_date(&compact), Some((y, m, d)));
        prop_assert_eq!(parse_year(&format!("vers {y}")), Some(y));
    }
}

const PEOPLE: &str = include_str!("../examples/people.toml");

/// Level label of comparison `name` for two records.
fn level(a: &Record, b: &Record, name: &str) -> String {
    let cfg = Config::from_toml_str(PEOPLE).expect("config");
    let idx = Index::build(&cfg, vec![b.clone()]).expect("index");
    let found = idx.candidates_above(a, 5, 0.0);
    let pair = found.first().unwrap_or_else(|| panic!("no candidate for {a:?} / {b:?}"));
    pair.agreements.iter().find(|x| x.comparison == name).expect("comparison").level.clone()
}

use veille_linkage::Index;

fn person(id: &str, given: &str, family: &str, year: &str) -> Record {
    let mut r = Record::new(id);
    if !given.is_empty() {
        r = r.with("given_name", given);
    }
    if !family.is_empty() {
        r = r.with("family_name", family);
    }
    if !year.is_empty() {
        r = r.with("birth_year", year);
    }
    r
}

#[test]
fn levels_explain_name_variants() {
    let a = person("a", "Mohamed", "Benali", "1980");
    // Exact after accents/case/punctuation.
    assert_eq!(level(&a, &person("b", "MOHAMED", "Ben-Ali", "1980"), "given_name"), "exact");
    assert_eq!(level(&a, &person("b", "MOHAMED", "Ben-Ali", "1980"), "family_name"), "exact");
    // Transliteration variant.
    let l = level(&a, &person("b", "Muhammad", "Benali", "1980"), "given_name");
    assert!(l == "phonetic" || l.starts_with("jaro_winkler"), "{l}");
    // Swapped first and last names.
    assert_eq!(level(&a, &person("b", "Benali", "Mohamed", "1980"), "given_name"), "swapped_with_family_name");
    // Approximate year.
    assert_eq!(level(&a, &person("b", "Mohamed", "Benali", "1981"), "birth"), "year_within_1");
    assert_eq!(level(&a, &person("b", "Mohamed", "Benali", "1983"), "birth"), "year_within_3");
    // Missing value.
    assert_eq!(level(&a, &person("b", "Mohamed", "Benali", ""), "birth"), "null");
    // Accents.
    let i = person("i", "Ionuț", "Popescu", "1990");
    assert_eq!(level(&i, &person("j", "Ionut", "Popescu", "1990"), "given_name"), "exact");
    // Compound names written apart.
    let k = person("k", "Abdelkader", "Haddad", "1970");
    assert_eq!(level(&k, &person("l", "Abd el Kader", "Haddad", "1970"), "given_name"), "exact");
}

#[test]
fn dates_with_transposed_day_and_month() {
    let a = Record::new("a").with("given_name", "Aïcha").with("family_name", "Diallo").with("birth_date", "1985-03-07");
    let b = Record::new("b").with("given_name", "Aicha").with("family_name", "Diallo").with("birth_date", "03/07/1985");
    assert_eq!(level(&a, &b, "birth_date"), "day_month_transposed");
    let c = Record::new("c").with("given_name", "Aicha").with("family_name", "Diallo").with("birth_date", "07/03/1985");
    assert_eq!(level(&a, &c, "birth_date"), "same_date");
}

#[test]
fn aliases_are_multi_valued() {
    let a = Record::new("a").with("aliases", "Momo|Le Grand").with("birth_year", "1975");
    let b = Record::new("b").with("aliases", "le grand").with("birth_year", "1975");
    assert_eq!(level(&a, &b, "aliases"), "exact");
}

#[test]
fn unknown_field_in_config_is_reported_with_its_use() {
    let cfg = Config::from_toml_str(PEOPLE).expect("config");
    let fields: Vec<String> = ["id", "given_name", "family_name"].iter().map(|s| s.to_string()).collect();
    let err = Compiled::new(&cfg, Some(&fields)).expect_err("must fail").to_string();
    assert!(err.contains("unknown field 'aliases'"), "{err}");
    assert!(err.contains("comparison 'aliases'"), "{err}");
}

#[test]
fn dedupe_finds_variants_and_clusters_them() {
    let cfg = Config::from_toml_str(PEOPLE).expect("config");
    let mut recs = vec![
        person("a1", "Mohamed", "Benali", "1980"),
        person("a2", "Mohammed", "Ben Ali", "1981"),
        person("a3", "Benali", "Mouhamed", "1980"),
        person("b1", "Ionuț", "Popescu", "1991"),
        person("b2", "IONUT", "POPESCU", "1991"),
    ];
    // Background of unrelated invented people, so that u is meaningful.
    let given = ["Karim", "Nadia", "Stefan", "Oksana", "Mamadou", "Hawa", "Thierry", "Leila", "Dmytro", "Zineb"];
    let family = ["Kaddour", "Traore", "Ionescu", "Kovalenko", "Diallo", "Martin", "Haddad", "Nguyen", "Yilmaz", "Rahimi"];
    for i in 0..200 {
        recs.push(person(&format!("x{i}"), given[i % given.len()], family[(i * 7 + i / 10) % family.len()], &(1950 + (i * 13) % 50).to_string()));
    }
    let res = dedupe(&cfg, &recs).expect("dedupe");
    let clusters = res.clusters(0.5);
    assert_eq!(clusters[0], clusters[1]);
    assert_eq!(clusters[0], clusters[2]);
    assert_eq!(clusters[3], clusters[4]);
    assert_ne!(clusters[0], clusters[3]);
    let p = res.pairs.iter().find(|p| (p.a, p.b) == (0, 1)).expect("pair a1-a2");
    let e = res.explain(p);
    assert_eq!(e.left_id, "a1");
    assert_eq!(e.agreements.len(), 7);
    assert!(e.match_probability >= 0.5);
}

#[test]
fn a_value_of_tens_of_thousands_of_characters_is_cut_not_a_crash() {
    let long = "Ab".repeat(40_000);
    let v = veille_linkage::engine::Value::new(&long).expect("value");
    assert!(v.compact().len() <= veille_linkage::engine::MAX_VALUE_BYTES && v.compact().starts_with("abab"), "{}", v.compact().len());
    // Two records with that name are still compared, and agree.
    let (a, b) = (person("a", &long, "Benali", "1980"), person("b", &long, "Benali", "1980"));
    assert_eq!(level(&a, &b, "given_name"), "exact");
    assert_eq!(level(&a, &b, "birth"), "year_within_0");
}
