//! Offline sync: the pure rules the server applies to operations recorded on
//! a phone with no network and sent later (decision 90).
//!
//! The phone sends *operations*, not documents: an operation is an
//! append-only fact (an encounter, an observation of a site) or a
//! [`SetField`] of one mutable field from the version the phone saw. Each
//! operation carries an id made on the device ([`OpId`], its idempotency
//! key), the device's id and the device's sequence number (from 1).
//!
//! Three rules, each a pure function:
//! - [`admit`]: the server keeps the highest sequence applied per device; an
//!   operation leaving a gap is *held* until the gap is filled;
//! - [`decide_set`]: per-field versions: the same base applies and bumps the
//!   version, the value already there changes nothing, anything else is a
//!   conflict and the current value stays; a set-valued field merges as a union;
//! - [`reconcile`]: a field changed by a page since the last sync counts as
//!   a new version nobody's phone saw.
//!
//! [`Server`] composes them in memory exactly as the application layer
//! composes them over the database (`veille_app::sync::apply`); the property
//! test below drives it through random delivery schedules.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::{DeviceId, OpId};

/// A device's sequence number (1, 2, 3… in the order the device recorded).
pub type Seq = i64;

/// How far ahead of the highest applied sequence an operation may be held
/// (further ahead: refused, so one request cannot hold unbounded work).
pub const MAX_AHEAD: Seq = 100_000;

/// The value of a mutable field: a text (absent = `null`) or a set of codes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FieldValue {
    /// A set of codes (needs, flags): merged as a union.
    Set(BTreeSet<String>),
    /// A text or a code; `null` when empty.
    Text(Option<String>),
}

impl FieldValue {
    /// A text value.
    pub fn text(s: &str) -> Self {
        FieldValue::Text(Some(s.to_owned()))
    }
    /// Whether it is set-valued.
    pub fn is_set(&self) -> bool {
        matches!(self, FieldValue::Set(_))
    }
}

/// The version of one field: how many times it changed, and the operation
/// that wrote it (none when written by a page). Two writes from the same
/// base name the same version; a phone that changed a field offline uses
/// the version its own operation made as the base of its next change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Version {
    /// Changes so far (0: never changed since the record was made).
    pub number: i64,
    /// The operation that made this version (absent: a page, or never changed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub by: Option<OpId>,
}

impl Version {
    /// The version an operation makes on top of this one.
    pub fn after(&self, op: OpId) -> Version {
        Version { number: self.number + 1, by: Some(op) }
    }
}

/// A field's current value and version.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldState {
    /// Its version.
    pub version: Version,
    /// Its value.
    pub value: FieldValue,
}

/// The field's state, given what the sync stored last and the value the
/// record holds now: a value changed since (by a page) is a new version that
/// no operation made, so a phone's base can only match it if it saw it.
pub fn reconcile(stored: Option<&FieldState>, actual: &FieldValue) -> FieldState {
    match stored {
        Some(s) if &s.value == actual => s.clone(),
        Some(s) => FieldState { version: Version { number: s.version.number + 1, by: None }, value: actual.clone() },
        None => FieldState { version: Version::default(), value: actual.clone() },
    }
}

/// What to do with a change of one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetDecision {
    /// Write this value, now at this version.
    Apply {
        /// The value to write (for a set: the union).
        value: FieldValue,
        /// The new version.
        version: Version,
    },
    /// The field already holds that value: nothing to do.
    Unchanged,
    /// Another value was written since the base: keep the current value and
    /// record the competing one for a person to choose.
    Conflict,
}

/// Decides a change of one field (pure): see the module's rules.
pub fn decide_set(current: &FieldState, base: &Version, proposed: &FieldValue, op: OpId) -> SetDecision {
    match (&current.value, proposed) {
        (FieldValue::Set(have), FieldValue::Set(add)) => {
            if add.is_subset(have) {
                SetDecision::Unchanged
            } else {
                let union = have.union(add).cloned().collect();
                SetDecision::Apply { value: FieldValue::Set(union), version: current.version.after(op) }
            }
        }
        _ if &current.value == proposed => SetDecision::Unchanged,
        _ if &current.version == base => SetDecision::Apply { value: proposed.clone(), version: current.version.after(op) },
        _ => SetDecision::Conflict,
    }
}

/// Where an operation's sequence number stands for its device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The next one: apply it now (then any held ones that follow).
    Next,
    /// Earlier ones are missing: hold it; the missing ranges (inclusive).
    Held(Vec<[Seq; 2]>),
    /// A sequence number already used by another operation, or not a
    /// sequence number (refused, kept).
    Refused(&'static str),
}

/// Admits an operation of sequence `seq` from a device whose highest
/// applied sequence is `highest` and which has `held` operations waiting.
/// (An operation already received is answered from its record before this.)
pub fn admit(highest: Seq, held: &BTreeSet<Seq>, seq: Seq) -> Admission {
    if seq < 1 {
        return Admission::Refused("sequence_invalid");
    }
    if seq <= highest || held.contains(&seq) {
        return Admission::Refused("sequence_reused");
    }
    if seq - highest > MAX_AHEAD {
        return Admission::Refused("sequence_too_far");
    }
    if seq == highest + 1 {
        return Admission::Next;
    }
    Admission::Held(missing(highest, held, seq))
}

/// The sequence numbers missing below `seq` (inclusive ranges), given the
/// highest applied and the ones held.
pub fn missing(highest: Seq, held: &BTreeSet<Seq>, seq: Seq) -> Vec<[Seq; 2]> {
    let mut out = Vec::new();
    let mut from = highest + 1;
    for &h in held.range(highest + 1..seq) {
        if h > from {
            out.push([from, h - 1]);
        }
        from = h + 1;
    }
    if from < seq {
        out.push([from, seq - 1]);
    }
    out
}

/// The one answer per operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Reply {
    /// Recorded (a fact) or written (a field).
    Applied,
    /// The field already held that value: nothing written.
    Duplicate,
    /// Another value was written since the base: the current value stays and
    /// the competing value waits for a coordinator.
    Conflict,
    /// Refused and kept (the account may no longer do it, the record is gone,
    /// the input is invalid…); shown until a person acknowledges it.
    Rejected {
        /// Why (a code; the phone shows its message).
        reason: String,
    },
    /// An attachment it names has not been uploaded (`PUT /api/v1/blobs/{sha256}`):
    /// nothing recorded, its sequence number not used; the phone uploads it
    /// and sends the operation again.
    MissingAttachment {
        /// The hashes to upload.
        blobs: Vec<String>,
    },
    /// Earlier operations of this device have not arrived: kept, applied when they do.
    Held {
        /// The missing sequence numbers, as inclusive ranges.
        missing: Vec<[Seq; 2]>,
    },
}

impl Reply {
    /// Whether the phone may drop the operation (every answer but `held`).
    pub fn is_final(&self) -> bool {
        !matches!(self, Reply::Held { .. } | Reply::MissingAttachment { .. })
    }
    /// The state's code, as stored.
    pub fn code(&self) -> &'static str {
        match self {
            Reply::Applied => "applied",
            Reply::Duplicate => "duplicate",
            Reply::Conflict => "conflict",
            Reply::Rejected { .. } => "rejected",
            Reply::Held { .. } => "held",
            Reply::MissingAttachment { .. } => "missing_attachment",
        }
    }
}

/// The reply to a change of a field, from the decision.
pub fn reply_of(d: &SetDecision) -> Reply {
    match d {
        SetDecision::Apply { .. } => Reply::Applied,
        SetDecision::Unchanged => Reply::Duplicate,
        SetDecision::Conflict => Reply::Conflict,
    }
}

/// A change of one mutable field of a record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SetField {
    /// The kind of record (`site`, `person`).
    pub entity: String,
    /// The record's id.
    pub id: String,
    /// The field.
    pub field: String,
    /// The new value (for a set-valued field: the codes to add).
    pub value: FieldValue,
    /// The version of the field the phone saw.
    pub base: Version,
}

/// What an operation does: a fact of kind `F`, or a change of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpKind<F> {
    /// An append-only fact.
    Fact(F),
    /// A change of a mutable field.
    Set(SetField),
}

/// An operation as the device made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op<F> {
    /// Made on the device (UUID v7): the idempotency key.
    pub op_id: OpId,
    /// The device.
    pub device: DeviceId,
    /// The device's sequence number, from 1.
    pub seq: Seq,
    /// What it does.
    pub kind: OpKind<F>,
}

/// What the server keeps of an operation received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kept<F> {
    /// Waiting for earlier operations of its device.
    Held(Op<F>),
    /// Decided, with its reply.
    Done(Reply),
}

/// A conflict recorded (the competing value; the current one stays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The operation that proposed the competing value.
    pub op: OpId,
    /// Its field.
    pub key: (String, String, String),
    /// The competing value.
    pub value: FieldValue,
    /// The base it was proposed from.
    pub base: Version,
}

/// The server's sync state in memory: the reference the database
/// implementation follows step by step, and what the property test drives.
#[derive(Clone, Debug)]
pub struct Server<F> {
    /// Per device: the highest sequence applied.
    pub highest: HashMap<DeviceId, Seq>,
    /// Per device: the sequences held, and their operations.
    pub held: HashMap<DeviceId, BTreeMap<Seq, OpId>>,
    /// Every operation received, by id.
    pub ops: HashMap<OpId, Kept<F>>,
    /// Fields' states.
    pub fields: HashMap<(String, String, String), FieldState>,
    /// Facts recorded, in the order applied.
    pub facts: Vec<(OpId, F)>,
    /// Conflicts recorded.
    pub conflicts: Vec<Conflict>,
    /// Every write made (operation, field), in order: a field written twice
    /// by one operation would show here.
    pub writes: Vec<OpId>,
}

impl<F: Clone> Default for Server<F> {
    fn default() -> Self {
        Server {
            highest: HashMap::new(),
            held: HashMap::new(),
            ops: HashMap::new(),
            fields: HashMap::new(),
            facts: Vec::new(),
            conflicts: Vec::new(),
            writes: Vec::new(),
        }
    }
}

impl<F: Clone> Server<F> {
    /// Receives one operation; `permit` says whether the account may still
    /// do it (`Err(reason)`: rejected and kept). Returns the one reply.
    pub fn receive(&mut self, op: &Op<F>, permit: &dyn Fn(&Op<F>) -> Result<(), String>) -> Reply {
        match self.ops.get(&op.op_id) {
            Some(Kept::Done(r)) => return r.clone(),
            Some(Kept::Held(o)) => {
                let highest = self.highest.get(&o.device).copied().unwrap_or(0);
                let held: BTreeSet<Seq> = self.held.get(&o.device).map(|h| h.keys().copied().collect()).unwrap_or_default();
                return Reply::Held { missing: missing(highest, &held, o.seq) };
            }
            None => {}
        }
        let highest = self.highest.get(&op.device).copied().unwrap_or(0);
        let held: BTreeSet<Seq> = self.held.get(&op.device).map(|h| h.keys().copied().collect()).unwrap_or_default();
        match admit(highest, &held, op.seq) {
            Admission::Refused(reason) => {
                let r = Reply::Rejected { reason: reason.into() };
                self.ops.insert(op.op_id, Kept::Done(r.clone()));
                r
            }
            Admission::Held(missing) => {
                self.held.entry(op.device).or_default().insert(op.seq, op.op_id);
                self.ops.insert(op.op_id, Kept::Held(op.clone()));
                Reply::Held { missing }
            }
            Admission::Next => {
                let r = self.apply(op, permit);
                // Then the held operations that now follow, in sequence order.
                loop {
                    let next = self.highest[&op.device] + 1;
                    let Some(id) = self.held.get_mut(&op.device).and_then(|h| h.remove(&next)) else { break };
                    let Some(Kept::Held(o)) = self.ops.get(&id).cloned() else { break };
                    self.apply(&o, permit);
                }
                r
            }
        }
    }

    fn apply(&mut self, op: &Op<F>, permit: &dyn Fn(&Op<F>) -> Result<(), String>) -> Reply {
        let r = match permit(op) {
            Err(reason) => Reply::Rejected { reason },
            Ok(()) => match &op.kind {
                OpKind::Fact(f) => {
                    self.facts.push((op.op_id, f.clone()));
                    self.writes.push(op.op_id);
                    Reply::Applied
                }
                OpKind::Set(s) => {
                    let key = (s.entity.clone(), s.id.clone(), s.field.clone());
                    let empty = if s.value.is_set() { FieldValue::Set(BTreeSet::new()) } else { FieldValue::Text(None) };
                    let current = reconcile(self.fields.get(&key), &self.fields.get(&key).map(|f| f.value.clone()).unwrap_or(empty));
                    let d = decide_set(&current, &s.base, &s.value, op.op_id);
                    match &d {
                        SetDecision::Apply { value, version } => {
                            self.fields.insert(key, FieldState { version: version.clone(), value: value.clone() });
                            self.writes.push(op.op_id);
                        }
                        SetDecision::Conflict => self.conflicts.push(Conflict { op: op.op_id, key, value: s.value.clone(), base: s.base.clone() }),
                        SetDecision::Unchanged => {}
                    }
                    reply_of(&d)
                }
            },
        };
        self.highest.insert(op.device, op.seq);
        self.ops.insert(op.op_id, Kept::Done(r.clone()));
        r
    }
}

#[cfg(test)]
mod tests;
