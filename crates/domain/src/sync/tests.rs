//! The sync rules, alone and through random delivery schedules.

use std::collections::{BTreeSet, HashMap, HashSet};

use proptest::prelude::*;

use super::*;

fn op(n: u128) -> OpId {
    OpId::from_uuid(uuid::Uuid::from_u128(n))
}

fn set(codes: &[&str]) -> FieldValue {
    FieldValue::Set(codes.iter().map(|c| (*c).to_owned()).collect())
}

#[test]
fn a_change_from_the_current_version_applies_and_bumps_it() {
    let current = FieldState { version: Version::default(), value: FieldValue::text("Pont") };
    let d = decide_set(&current, &Version::default(), &FieldValue::text("Quai"), op(1));
    assert_eq!(d, SetDecision::Apply { value: FieldValue::text("Quai"), version: Version { number: 1, by: Some(op(1)) } });
}

#[test]
fn the_value_already_there_changes_nothing_whatever_the_base() {
    let current = FieldState { version: Version { number: 4, by: None }, value: FieldValue::text("Quai") };
    assert_eq!(decide_set(&current, &Version::default(), &FieldValue::text("Quai"), op(1)), SetDecision::Unchanged);
}

#[test]
fn another_base_is_a_conflict_and_the_current_value_stays() {
    let current = FieldState { version: Version { number: 1, by: Some(op(1)) }, value: FieldValue::text("Quai") };
    // Same number, another writer: a phone that wrote version 1 itself did not see this one.
    let theirs = Version { number: 1, by: Some(op(2)) };
    assert_eq!(decide_set(&current, &theirs, &FieldValue::text("Rive"), op(3)), SetDecision::Conflict);
    assert_eq!(decide_set(&current, &Version::default(), &FieldValue::text("Rive"), op(3)), SetDecision::Conflict);
}

#[test]
fn set_valued_fields_merge_as_a_union_without_conflict() {
    let current = FieldState { version: Version { number: 3, by: None }, value: set(&["food", "health"]) };
    let d = decide_set(&current, &Version::default(), &set(&["health", "housing"]), op(9));
    assert_eq!(d, SetDecision::Apply { value: set(&["food", "health", "housing"]), version: Version { number: 4, by: Some(op(9)) } });
    assert_eq!(decide_set(&current, &Version::default(), &set(&["food"]), op(9)), SetDecision::Unchanged);
}

#[test]
fn a_page_edit_since_the_last_sync_is_a_version_no_phone_saw() {
    let stored = FieldState { version: Version { number: 2, by: Some(op(1)) }, value: FieldValue::text("A") };
    assert_eq!(reconcile(Some(&stored), &FieldValue::text("A")), stored);
    let now = reconcile(Some(&stored), &FieldValue::text("B"));
    assert_eq!(now.version, Version { number: 3, by: None });
    assert_eq!(decide_set(&now, &stored.version, &FieldValue::text("C"), op(5)), SetDecision::Conflict);
    assert_eq!(reconcile(None, &FieldValue::text("B")).version, Version::default());
}

#[test]
fn admission_holds_gaps_and_refuses_reused_sequences() {
    let none = BTreeSet::new();
    assert_eq!(admit(0, &none, 1), Admission::Next);
    assert_eq!(admit(3, &none, 4), Admission::Next);
    assert_eq!(admit(3, &none, 3), Admission::Refused("sequence_reused"));
    assert_eq!(admit(0, &none, 0), Admission::Refused("sequence_invalid"));
    assert_eq!(admit(0, &none, MAX_AHEAD + 1), Admission::Refused("sequence_too_far"));
    assert_eq!(admit(0, &none, 4), Admission::Held(vec![[1, 3]]));
    let held: BTreeSet<Seq> = [3, 6].into_iter().collect();
    assert_eq!(admit(1, &held, 8), Admission::Held(vec![[2, 2], [4, 5], [7, 7]]));
    assert_eq!(admit(1, &held, 6), Admission::Refused("sequence_reused"));
}

#[test]
fn replies_read_as_the_api_sends_them() {
    let held = Reply::Held { missing: vec![[2, 4]] };
    assert_eq!(serde_json::to_value(&held).unwrap(), serde_json::json!({"state": "held", "missing": [[2, 4]]}));
    let refused = Reply::Rejected { reason: "forbidden".into() };
    assert_eq!(serde_json::to_value(&refused).unwrap(), serde_json::json!({"state": "rejected", "reason": "forbidden"}));
    assert_eq!(serde_json::to_value(Reply::Applied).unwrap(), serde_json::json!({"state": "applied"}));
    assert_eq!(serde_json::from_value::<FieldValue>(serde_json::json!(["a"])).unwrap(), set(&["a"]));
    assert_eq!(serde_json::from_value::<FieldValue>(serde_json::json!(null)).unwrap(), FieldValue::Text(None));
}

#[test]
fn a_held_operation_is_applied_when_the_gap_is_filled() {
    let mut s: Server<u32> = Server::default();
    let dev = DeviceId::from_uuid(uuid::Uuid::from_u128(7));
    let mk = |n: u128, seq| Op { op_id: op(n), device: dev, seq, kind: OpKind::Fact(n as u32) };
    let ok = |_: &Op<u32>| Ok(());
    assert_eq!(s.receive(&mk(3, 3), &ok), Reply::Held { missing: vec![[1, 2]] });
    assert_eq!(s.receive(&mk(2, 2), &ok), Reply::Held { missing: vec![[1, 1]] });
    assert_eq!(s.receive(&mk(3, 3), &ok), Reply::Held { missing: vec![[1, 1]] });
    assert_eq!(s.receive(&mk(1, 1), &ok), Reply::Applied);
    assert_eq!(s.receive(&mk(3, 3), &ok), Reply::Applied);
    assert_eq!(s.facts.iter().map(|(_, f)| *f).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(s.highest[&dev], 3);
}

// ------------------------------------------------------------ schedules

/// A small seeded generator (SplitMix64): the schedule is a function of the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const ENTITIES: [&str; 3] = ["s0", "s1", "s2"];
const TEXT_FIELDS: [&str; 2] = ["name", "status"];
const VALUES: [&str; 3] = ["a", "b", "c"];
const CODES: [&str; 4] = ["food", "health", "housing", "papers"];
const FORBIDDEN: &str = "gone";

type Key = (String, String, String);

/// A fact: which record it is about.
type Fact = String;

struct Workload {
    devices: Vec<Vec<Op<Fact>>>,
    /// Text fields several devices write.
    contested: HashSet<Key>,
}

fn text_keys() -> Vec<Key> {
    ENTITIES.iter().flat_map(|e| TEXT_FIELDS.iter().map(move |f| ((*e).to_owned(), "x".to_owned(), (*f).to_owned()))).collect()
}

/// Up to `n_dev` devices with up to `max_ops` operations each, each device
/// basing its changes on what it saw (the snapshot, then its own changes).
fn workload(rng: &mut Rng, n_dev: usize, max_ops: usize) -> Workload {
    let keys = text_keys();
    let contested: HashSet<Key> = keys.iter().filter(|_| rng.chance(50)).cloned().collect();
    let mut counter: u128 = 1;
    let mut devices = Vec::new();
    for d in 0..n_dev {
        let device = DeviceId::from_uuid(uuid::Uuid::from_u128(1_000_000 + d as u128));
        // The keys this device writes: the contested ones and the ones it owns.
        let mine: Vec<&Key> = keys.iter().enumerate().filter(|(i, k)| contested.contains(*k) || i % n_dev == d).map(|(_, k)| k).collect();
        let mut seen: HashMap<Key, (Version, FieldValue)> = HashMap::new();
        let mut ops = Vec::new();
        let n = 1 + rng.below(max_ops);
        for seq in 1..=n as Seq {
            let op_id = op(counter);
            counter += 1;
            let roll = rng.below(100);
            let kind = if roll < 5 {
                OpKind::Fact(FORBIDDEN.to_owned())
            } else if roll < 8 {
                let base = Version::default();
                OpKind::Set(SetField { entity: FORBIDDEN.into(), id: "x".into(), field: "name".into(), value: FieldValue::text("z"), base })
            } else if roll < 40 {
                OpKind::Fact(ENTITIES[rng.below(ENTITIES.len())].to_owned())
            } else if roll < 60 {
                let mut add = BTreeSet::new();
                for _ in 0..=rng.below(2) {
                    add.insert(CODES[rng.below(CODES.len())].to_owned());
                }
                let e = ENTITIES[rng.below(ENTITIES.len())];
                OpKind::Set(SetField { entity: e.into(), id: "x".into(), field: "needs".into(), value: FieldValue::Set(add), base: Version::default() })
            } else if mine.is_empty() {
                OpKind::Fact(ENTITIES[0].to_owned())
            } else {
                let key = mine[rng.below(mine.len())].clone();
                let value = FieldValue::text(VALUES[rng.below(VALUES.len())]);
                let (base, was) = seen.get(&key).cloned().unwrap_or((Version::default(), FieldValue::Text(None)));
                if was != value {
                    seen.insert(key.clone(), (base.after(op_id), value.clone()));
                }
                OpKind::Set(SetField { entity: key.0, id: key.1, field: key.2, value, base })
            };
            ops.push(Op { op_id, device, seq, kind });
        }
        devices.push(ops);
    }
    Workload { devices, contested }
}

fn permit(o: &Op<Fact>) -> Result<(), String> {
    let about = match &o.kind {
        OpKind::Fact(f) => f.as_str(),
        OpKind::Set(s) => s.entity.as_str(),
    };
    if about == FORBIDDEN {
        Err("forbidden".into())
    } else {
        Ok(())
    }
}

/// Delivers the workload through a random schedule: batches of a device's
/// unacknowledged operations, reordered, some sent twice, some replies lost
/// (a lost acknowledgement, or a crash between commit and reply: the
/// phone sends again); then the phones send what is left in order, on a
/// network that works. Returns the server and every reply each operation got.
fn deliver(w: &Workload, rng: &mut Rng) -> (Server<Fact>, HashMap<OpId, Vec<Reply>>) {
    let mut server = Server::default();
    let mut got: HashMap<OpId, Vec<Reply>> = HashMap::new();
    let mut outboxes: Vec<Vec<Op<Fact>>> = w.devices.clone();
    let steps = rng.below(60);
    for _ in 0..steps {
        let d = rng.below(outboxes.len());
        if outboxes[d].is_empty() {
            continue;
        }
        let mut batch: Vec<Op<Fact>> = outboxes[d].iter().filter(|_| rng.chance(40)).cloned().collect();
        for i in (1..batch.len()).rev() {
            batch.swap(i, rng.below(i + 1));
        }
        if !batch.is_empty() && rng.chance(20) {
            let again = batch[rng.below(batch.len())].clone();
            batch.push(again);
        }
        let crash = rng.chance(10);
        let mut acked = HashSet::new();
        for o in &batch {
            let r = server.receive(o, &permit);
            got.entry(o.op_id).or_default().push(r.clone());
            if !crash && !rng.chance(20) && r.is_final() {
                acked.insert(o.op_id);
            }
        }
        outboxes[d].retain(|o| !acked.contains(&o.op_id));
    }
    for outbox in &mut outboxes {
        while !outbox.is_empty() {
            let before = outbox.len();
            let mut acked = HashSet::new();
            for o in outbox.iter() {
                let r = server.receive(o, &permit);
                got.entry(o.op_id).or_default().push(r.clone());
                if r.is_final() {
                    acked.insert(o.op_id);
                }
            }
            outbox.retain(|o| !acked.contains(&o.op_id));
            assert!(outbox.len() < before, "in-order delivery on a working network makes progress");
        }
    }
    (server, got)
}

fn key_of(s: &SetField) -> Key {
    (s.entity.clone(), s.id.clone(), s.field.clone())
}

fn check(w: &Workload, rng: &mut Rng) {
    let (server, got) = deliver(w, rng);
    // The reference: every device's operations in order, one device after the other.
    let mut reference: Server<Fact> = Server::default();
    for ops in &w.devices {
        for o in ops {
            reference.receive(o, &permit);
        }
    }
    let all: Vec<&Op<Fact>> = w.devices.iter().flatten().collect();
    // Every operation ends in exactly one final state; the phone heard that one.
    for o in &all {
        let Some(Kept::Done(r)) = server.ops.get(&o.op_id) else { panic!("operation {} not decided", o.op_id) };
        let finals: HashSet<_> = got[&o.op_id].iter().filter(|r| r.is_final()).collect();
        assert_eq!(finals.len(), 1, "one final reply per operation");
        assert!(finals.contains(r));
    }
    assert_eq!(server.ops.len(), all.len());
    assert!(server.held.values().all(BTreeMap::is_empty), "nothing left held");
    // 0 applied twice.
    let mut written = HashSet::new();
    for id in &server.writes {
        assert!(written.insert(*id), "operation {id} applied twice");
    }
    // 0 lost: the facts the accounts may record are all there, once.
    let facts: HashSet<OpId> = server.facts.iter().map(|(id, _)| *id).collect();
    assert_eq!(facts.len(), server.facts.len());
    let expected: HashSet<OpId> = all.iter().filter(|o| matches!(&o.kind, OpKind::Fact(f) if f != FORBIDDEN)).map(|o| o.op_id).collect();
    assert_eq!(facts, expected);
    // Conflicts: exactly the operations answered `conflict`, once each.
    let conflicts: Vec<OpId> = server.conflicts.iter().map(|c| c.op).collect();
    let conflicting: HashSet<OpId> = conflicts.iter().copied().collect();
    assert_eq!(conflicts.len(), conflicting.len());
    for o in &all {
        let Some(Kept::Done(r)) = server.ops.get(&o.op_id) else { unreachable!() };
        assert_eq!(*r == Reply::Conflict, conflicting.contains(&o.op_id));
        // Every proposed value is in the record's history or in the conflicts, none dropped.
        if let OpKind::Set(_) = &o.kind {
            assert!(matches!(r, Reply::Applied | Reply::Duplicate | Reply::Conflict | Reply::Rejected { .. }));
        }
    }
    // The final state does not depend on the delivery order: the facts,
    // the set-valued fields, every field only one device writes, and each
    // reply but those to changes of contested fields (whose first arrival
    // wins, the others waiting as conflicts).
    let fact_set = |s: &Server<Fact>| s.facts.iter().cloned().collect::<HashSet<_>>();
    assert_eq!(fact_set(&server), fact_set(&reference));
    for (key, state) in &reference.fields {
        if !w.contested.contains(key) {
            assert_eq!(server.fields.get(key).map(|f| &f.value), Some(&state.value), "{key:?}");
            if !state.value.is_set() {
                assert_eq!(server.fields.get(key), Some(state), "{key:?}");
            }
        }
    }
    assert_eq!(server.fields.len(), reference.fields.len());
    for o in &all {
        let contested = matches!(&o.kind, OpKind::Set(s) if w.contested.contains(&key_of(s)));
        let (Some(Kept::Done(a)), Some(Kept::Done(b))) = (server.ops.get(&o.op_id), reference.ops.get(&o.op_id)) else { unreachable!() };
        if !contested && !matches!(&o.kind, OpKind::Set(s) if s.value.is_set()) {
            assert_eq!(a, b, "reply to {}", o.op_id);
        }
    }
    // A contested field holds one of the values proposed, and every value
    // proposed but not held is in its history or its conflicts.
    for key in &w.contested {
        let proposed: HashSet<&FieldValue> = all
            .iter()
            .filter_map(|o| match &o.kind {
                OpKind::Set(s) if &key_of(s) == key => Some(&s.value),
                _ => None,
            })
            .collect();
        if let Some(state) = server.fields.get(key) {
            assert!(proposed.contains(&state.value));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// 10,000 random delivery schedules of up to 6 devices × 50 operations:
    /// duplicates, reordering, lost acknowledgements, crashes between commit
    /// and reply.
    #[test]
    fn every_schedule_ends_with_each_operation_decided_once_and_the_same_state(seed in any::<u64>(), n_dev in 1usize..=6, max_ops in 1usize..=50) {
        let mut rng = Rng(seed);
        let w = workload(&mut rng, n_dev, max_ops);
        check(&w, &mut rng);
    }
}
