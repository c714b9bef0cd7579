//! Probable duplicates on synthetic street records (`veille_linkage::synth`:
//! namesakes, given-name-only records with estimated ages, swapped and
//! misspelled names, nicknames), on the engine under test: what a worker
//! creating a person is shown, and the instance's model learning from the
//! links and "distinct" decisions workers make.

use std::collections::{BTreeMap, BTreeSet};

use veille_domain::{OrganisationId, PersonId, Role};
use veille_linkage::synth::{generate, Options, SynthRecord};
use veille_linkage::{Index, Model};
use veille_storage::people::{self, PersonFields};

use super::{caller, now, organisation, TestDb};
use crate::people::duplicates::{self, record_of, synthetic::fields_of};
use crate::people::files;
use crate::people::input::OtherBody;
use crate::{App, Caller, Clock, Config, Lang};

struct Instance {
    app: App,
    _tdb: TestDb,
    who: Caller,
    org: OrganisationId,
}

async fn instance() -> Instance {
    let tdb = TestDb::new().await;
    let app = App::new(
        tdb.db.clone(),
        Config {
            audit_key: hex::encode(rand::random::<[u8; 32]>()),
            field_keys: veille_storage::field_keys::KeyRing::new_key_line(None, 1),
            ..Config::default()
        },
        Clock::manual(now()),
    )
    .await
    .unwrap();
    let org = organisation(&tdb.db, "Maraude").await;
    let who = caller(&tdb.db, org, Role::Coordinator, "coord@maraude.exemple.fr", None).await;
    Instance { app, _tdb: tdb, who, org }
}

/// Creates the file of a synthetic record (typed later than the previous one).
async fn create(i: &Instance, r: &SynthRecord) -> PersonId {
    let mut tx = i.app.db.begin().await.unwrap();
    let id = people::create(&mut tx, i.org, &fields_of(r), i.who.account.id, i.app.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    i.app.clock.advance_seconds(600);
    id
}

/// The files of these records, created in their order.
async fn create_all(i: &Instance, rows: &[SynthRecord]) -> Vec<PersonId> {
    let mut ids = Vec::with_capacity(rows.len());
    for r in rows {
        ids.push(create(i, r).await);
    }
    ids
}

#[tokio::test]
async fn creating_a_person_shows_the_same_person_among_the_first_five_suggestions() {
    let i = instance().await;
    let rows = generate(&Options { records: 400, seed: 18, ..Default::default() });
    let mut created: BTreeMap<usize, Vec<PersonId>> = BTreeMap::new();
    let (mut duplicates_typed, mut found) = (0usize, 0usize);
    for r in &rows {
        if let Some(ids) = created.get(&r.entity) {
            duplicates_typed += 1;
            // What the form shows while the new file is typed.
            let shown = duplicates::suggest(&i.app, &i.who, &record_of("new", &[&fields_of(r)]), &Default::default()).await.unwrap();
            let first_five: BTreeSet<PersonId> = shown.iter().take(5).flat_map(|s| s.people.iter().filter_map(|p| p.id.parse().ok())).collect();
            found += usize::from(ids.iter().any(|id| first_five.contains(id)));
        }
        let id = create(&i, r).await;
        created.entry(r.entity).or_default().push(id);
    }
    assert!(duplicates_typed >= 100, "the generator typed {duplicates_typed} duplicates");
    assert!(found * 10 >= duplicates_typed * 9, "the same person among the first five for {found} of {duplicates_typed} duplicates");
}

/// Pairwise F1 of a model over records it never saw (matches at the
/// configuration's threshold).
fn f1(model: &Model, rows: &[SynthRecord]) -> f64 {
    let config = veille_linkage::Config::from_toml_str(include_str!("../../../../web/linkage/people.toml")).unwrap();
    let records = rows.iter().map(|r| record_of(&r.id, &[&fields_of(r)])).collect();
    let index = Index::build_with_model(&config, records, Some(model.clone())).unwrap();
    let entity: BTreeMap<&str, usize> = rows.iter().map(|r| (r.id.as_str(), r.entity)).collect();
    let mut found: BTreeSet<(String, String)> = BTreeSet::new();
    for r in rows {
        for p in index.candidates(&record_of(&r.id, &[&fields_of(r)]), 10) {
            let (a, b) = if p.left_id < p.right_id { (p.left_id, p.right_id) } else { (p.right_id, p.left_id) };
            found.insert((a, b));
        }
    }
    let tp = found.iter().filter(|(a, b)| entity[a.as_str()] == entity[b.as_str()]).count() as f64;
    let mut per_entity: BTreeMap<usize, usize> = BTreeMap::new();
    for r in rows {
        *per_entity.entry(r.entity).or_default() += 1;
    }
    let truth: usize = per_entity.values().map(|k| k * (k - 1) / 2).sum();
    let (precision, recall) = (tp / found.len().max(1) as f64, tp / truth.max(1) as f64);
    if tp == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

#[tokio::test]
async fn the_model_learns_from_the_decisions_workers_make_and_finds_duplicates_better() {
    let i = instance().await;
    let rows = generate(&Options { records: 500, seed: 19, ..Default::default() });
    let ids = create_all(&i, &rows).await;
    let entity: BTreeMap<PersonId, usize> = ids.iter().zip(&rows).map(|(id, r)| (*id, r.entity)).collect();
    assert_eq!(duplicates::settled(&i.app).await.unwrap().1, 0, "no decision yet: the shipped model");
    let before = duplicates::settled(&i.app).await.unwrap().0;

    // Workers go through the files and decide on what is suggested: link
    // the same person, mark the others distinct.
    let mut decisions = 0;
    'files: for id in &ids {
        for s in files::duplicates_of(&i.app, &i.who, &id.to_string()).await.unwrap() {
            let Some(other) = s.people.first().and_then(|p| p.id.parse::<PersonId>().ok()) else { continue };
            let body = OtherBody { other: other.to_string() };
            if entity[id] == entity[&other] {
                files::link(&i.app, &i.who, Lang::Fr, &id.to_string(), &body, "test").await.unwrap().unwrap();
            } else {
                files::mark_distinct(&i.app, &i.who, Lang::Fr, &id.to_string(), &body).await.unwrap().unwrap();
            }
            decisions += 1;
            if decisions == 200 {
                break 'files;
            }
        }
    }
    assert_eq!(decisions, 200);
    assert_eq!(duplicates::settled(&i.app).await.unwrap().1, 200, "every decision is a label");
    let after = duplicates::settled(&i.app).await.unwrap().0;

    // On street records the instance never saw.
    let unseen = generate(&Options { records: 1500, seed: 20, ..Default::default() });
    let (f_before, f_after) = (f1(&before, &unseen), f1(&after, &unseen));
    assert!(f_after > f_before + 0.01, "F1 {f_before:.3} with the shipped model, {f_after:.3} after 200 decisions");
}

/// A decision made on another instance of the same database — a link, then
/// the link undone — is learned here at the next lookup: what this instance
/// checks before it reads the decisions again changes with each.
#[tokio::test]
async fn decisions_made_on_another_instance_are_learned_at_the_next_lookup() {
    let i = instance().await;
    let ids = create_all(&i, &generate(&Options { records: 40, seed: 21, ..Default::default() })).await;
    let shipped = duplicates::settled(&i.app).await.unwrap().0;
    let other = App::new(i.app.db.clone(), (*i.app.config).clone(), Clock::manual(i.app.clock.now())).await.unwrap();
    let body = OtherBody { other: ids[1].to_string() };

    files::link(&other, &i.who, Lang::Fr, &ids[0].to_string(), &body, "test").await.unwrap().unwrap();
    assert_eq!(duplicates::settled(&i.app).await.unwrap().1, 1, "the link made on the other instance");
    let linked = duplicates::settled(&i.app).await.unwrap().0;
    assert_ne!(linked, shipped, "re-estimated from the link");

    files::unlink(&other, &i.who, Lang::Fr, &ids[0].to_string(), &body, "test").await.unwrap().unwrap();
    assert_eq!(duplicates::settled(&i.app).await.unwrap().1, 1, "the same pair, now two people");
    assert_ne!(duplicates::settled(&i.app).await.unwrap().0, linked, "re-estimated from the link undone");
}

/// The pairs the model learns from say what their files say now: a file
/// named by a decision and edited since is learned with its new fields,
/// and the files of a new decision are read — the model is the one an
/// instance starting now would learn from the database.
#[tokio::test]
async fn the_model_learns_from_what_the_decided_files_say_now() {
    let i = instance().await;
    let ids = create_all(&i, &generate(&Options { records: 40, seed: 22, ..Default::default() })).await;
    let first = OtherBody { other: ids[1].to_string() };
    files::link(&i.app, &i.who, Lang::Fr, &ids[0].to_string(), &first, "test").await.unwrap().unwrap();
    assert_eq!(duplicates::settled(&i.app).await.unwrap().1, 1);

    // The linked file renamed and aged (its civil names, typed with the
    // person's consent, removed), then a second decision on two
    // other files.
    let (_, mut form, _) = files::edit(&i.app, &i.who, &ids[1].to_string()).await.unwrap();
    form.pseudonym = "Zébulon Quartz".into();
    form.aliases = String::new();
    form.birth_year = "1931".into();
    form.age = String::new();
    form.civil_given_name.clear();
    form.civil_family_name.clear();
    files::update(&i.app, &i.who, Lang::Fr, &ids[1].to_string(), &form, "test").await.unwrap().unwrap();
    let second = OtherBody { other: ids[3].to_string() };
    files::mark_distinct(&i.app, &i.who, Lang::Fr, &ids[2].to_string(), &second).await.unwrap().unwrap();
    assert_eq!(duplicates::settled(&i.app).await.unwrap().1, 2, "the new decision's files read");
    let here = duplicates::settled(&i.app).await.unwrap().0;

    let fresh = App::new(i.app.db.clone(), (*i.app.config).clone(), Clock::manual(i.app.clock.now())).await.unwrap();
    assert_eq!(duplicates::settled(&fresh).await.unwrap().0, here, "learned from the renamed file as it is now");
}

/// The lookup that finds a new decision is served at once with the model
/// before, while the new one is learned in the background (an estimation
/// of ~300 ms at 12,500 decisions, decision 116); the lookups after the
/// learning use the new model.
#[tokio::test]
async fn a_decision_is_learned_in_the_background_while_lookups_are_served() {
    let i = instance().await;
    let rows = generate(&Options { records: 40, seed: 23, ..Default::default() });
    let ids = create_all(&i, &rows).await;
    let (shipped, none) = duplicates::settled(&i.app).await.unwrap();
    assert_eq!(none, 0);

    files::link(&i.app, &i.who, Lang::Fr, &ids[0].to_string(), &OtherBody { other: ids[1].to_string() }, "test").await.unwrap().unwrap();
    let during = duplicates::learned(&i.app).await.unwrap();
    assert_eq!(during, duplicates::Learned { decisions: 0, learning: true }, "answered with the model before");
    let typed = record_of("new", &[&fields_of(&rows[2])]);
    assert!(!duplicates::suggest(&i.app, &i.who, &typed, &Default::default()).await.unwrap().is_empty(), "suggestions meanwhile");

    let (learned, one) = duplicates::settled(&i.app).await.unwrap();
    assert_eq!(one, 1);
    assert_ne!(learned, shipped, "re-estimated from the link");
    assert_eq!(duplicates::learned(&i.app).await.unwrap(), duplicates::Learned { decisions: 1, learning: false });
}

/// The duplicate index reads what identifies each file as JSON, in chunks
/// (decision 117): what it decodes is what the file says, field by field,
/// whatever the chunks (a last chunk full, then an empty read), with the
/// characters JSON escapes.
#[tokio::test]
async fn the_index_reads_what_identifies_each_file_as_the_file_says_it() {
    let i = instance().await;
    create_all(&i, &generate(&Options { records: 44, seed: 24, ..Default::default() })).await;
    let quoted = PersonFields {
        pseudonym: "Zoé \"la Belle\" \\ 🌙".into(),
        aliases: vec!["l'Ancienne".into(), "Tab\there".into()],
        age_band: Some(veille_domain::people::AgeBand::From65),
        phone: Some("+33 6 12 34 56 78".into()),
        civil_family_name: Some("N'Diaye".into()),
        ..Default::default()
    };
    let mut tx = i.app.db.begin().await.unwrap();
    people::create(&mut tx, i.org, &quoted, i.who.account.id, i.app.clock.now()).await.unwrap();
    tx.commit().await.unwrap();

    let scope = veille_storage::Scope::instance("test");
    let whole: BTreeMap<PersonId, PersonFields> = people::all(&i.app.db, &scope)
        .await
        .unwrap()
        .into_iter()
        .map(|p| {
            let f = p.fields;
            let identifying = PersonFields {
                pseudonym: f.pseudonym,
                aliases: f.aliases,
                birth_year: f.birth_year,
                age_band: f.age_band,
                gender: f.gender,
                phone: f.phone,
                civil_given_name: f.civil_given_name,
                civil_family_name: f.civil_family_name,
                ..Default::default()
            };
            (p.id, identifying)
        })
        .collect();
    assert_eq!(whole.len(), 45);
    assert!(whole.values().any(|f| f == &quoted));
    for chunk in [7, 15, 45, 1000] {
        let read = people::all_identifying_by(&i.app.db, &scope, chunk).await.unwrap().decode().unwrap();
        assert!(read.iter().all(|(_, stage, _)| *stage == veille_storage::retention::Stage::Active));
        let read: BTreeMap<PersonId, PersonFields> = read.into_iter().map(|(id, _, f)| (id, f)).collect();
        assert_eq!(read, whole, "in chunks of {chunk}");
    }
}
