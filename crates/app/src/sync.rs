//! Offline sync, the server side (decision 90): a phone records operations
//! with no network and sends them later; [`apply`] answers each once.
//!
//! The rules are the pure ones of `veille_domain::sync` (admission by the
//! device's sequence, held gaps, per-field versions, the union of set-valued
//! fields); this module composes them over the database as
//! `veille_domain::sync::Server` does in memory, and replays the commands the
//! pages call — their checks (validation, the one permission function) and
//! their writes (record, timeline, audit) — in one transaction per operation
//! with the operation's record and reply: a batch cut by a crash leaves
//! every operation either done with its reply stored or not begun.

use serde::Deserialize;
use veille_domain::sync::{self as rules, Admission, FieldState, FieldValue, Reply, Seq, SetDecision, SetField};
use veille_domain::{Action, DeviceId, OpId, Resource, ResourceKind, SyncConflictId, Timestamp};
use veille_storage::sync::{self as store, Conflict, Device, NewConflict, NewOp};
use veille_storage::{audit, Tx};

use crate::error::{Error, ErrorKind, Result};
use crate::people::input::{EncounterBody, EncounterInput, PersonForm};
use crate::people::{files, Person};
use crate::sites::{ObservationInput, Site};
use crate::{App, Caller, Lang};

/// The most operations one request may carry.
pub const MAX_OPS: usize = 200;

/// How many times an operation is tried again when its record changed
/// between its check and its write (a page saved it meanwhile).
const RETRIES: usize = 3;

/// An operation as the phone sends it.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
pub struct OpInput {
    /// Made on the device (UUID v7): sending it again is answered the same.
    pub op_id: String,
    /// The device's sequence number, from 1, without gaps.
    pub seq: Seq,
    /// What it does.
    #[serde(flatten)]
    pub body: OpBody,
}

/// What an operation does.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpBody {
    /// Records an encounter (as `POST /api/v1/encounters`).
    Encounter {
        /// The encounter.
        encounter: Box<EncounterBody>,
    },
    /// Records an observation of a site (as `POST /api/v1/sites/{id}/observations`).
    Observation {
        /// The site.
        site_id: String,
        /// The observation.
        observation: Box<ObservationInput>,
    },
    /// Writes an entry in a logbook (as `POST /logbooks/{kind}/{id}`), with
    /// an attachment uploaded before by its hash.
    LogEntry {
        /// The book's kind (`site`, `team`, `territory`, `case`, `facility`).
        book_kind: String,
        /// The book's record.
        book_id: String,
        /// The entry.
        entry: Box<crate::neighbourhood::logbooks::EntryInput>,
        /// The attachment, if any.
        #[serde(default)]
        attachment: Option<AttachmentRef>,
    },
    /// Changes one field from the version the phone saw: `site` `name`,
    /// `address` (text), `heatwave` (`on`/`off`); `person` `pseudonym`
    /// (text), `needs` (a set of need codes, added to those there).
    Set {
        /// The change.
        set: SetField,
    },
}

impl OpBody {
    fn kind(&self) -> &'static str {
        match self {
            OpBody::Encounter { .. } => "encounter",
            OpBody::Observation { .. } => "observation",
            OpBody::Set { .. } => "set",
            OpBody::LogEntry { .. } => "log_entry",
        }
    }
}

/// An attachment an operation names: uploaded before by its hash.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
pub struct AttachmentRef {
    /// The SHA-256 of the bytes uploaded (64 lowercase hex digits).
    pub sha256: String,
    /// The file's name as shown.
    #[serde(default)]
    pub name: String,
}

/// The answer to one operation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct OpReply {
    /// The operation (as sent).
    pub op_id: String,
    /// Its sequence number (as sent).
    pub seq: Seq,
    /// Its state.
    #[serde(flatten)]
    pub reply: Reply,
}

/// A device registered for the caller.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct DeviceView {
    /// Its id.
    pub device_id: String,
    /// The highest sequence number applied (the phone numbers on from here
    /// when it lost its outbox; it never reuses one).
    pub highest_seq: Seq,
    /// Revoked (lost, stolen, or the account left): the phone wipes what it
    /// holds; no operation is taken from it any more.
    pub revoked: bool,
}

/// Whether the account works in the field at all (people or sites): the
/// others have nothing to record offline.
pub fn gate(who: &Caller) -> Result<()> {
    if crate::people::gate(who).is_ok() || crate::sites::gate(who).is_ok() {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

fn rejected(reason: &str) -> Reply {
    Reply::Rejected { reason: reason.to_owned() }
}

/// Registers a device (made on the phone at login) for the caller; the same
/// device again is answered the same. A device of another account is refused.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn register(app: &App, who: &Caller, lang: Lang, device_id: &str) -> Result<std::result::Result<DeviceView, crate::FieldErrors>> {
    gate(who)?;
    let id = match device_of_input(lang, device_id) {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let d = store::register(&mut tx, id, who.account.id, who.account.organisation, now).await?;
    if d.user != who.account.id {
        return Err(Error::forbidden());
    }
    if d.created_at == now {
        audit::append(&mut tx, who.audit_entry(now, "create", "sync_device", id, who.account.organisation)).await?;
    }
    tx.commit().await?;
    Ok(Ok(DeviceView { device_id: id.to_string(), highest_seq: d.highest_seq, revoked: d.revoked_at.is_some() }))
}

/// A device id as sent: a UUID made on the device.
fn device_of_input(lang: Lang, device_id: &str) -> std::result::Result<DeviceId, crate::FieldErrors> {
    device_id.trim().parse().map_err(|_| {
        let mut e = crate::FieldErrors::new();
        e.add("device_id", lang.t("sync.error.device"));
        e
    })
}

/// Applies a batch of operations from one of the caller's devices (at most
/// [`MAX_OPS`]), one reply per operation, in the order sent: `applied`,
/// `duplicate`, `conflict`, `rejected{reason}` (kept: the account may no
/// longer do it, the record is gone, the input is invalid) or
/// `held{missing}`. An operation sent again is answered as the first time.
#[tracing::instrument(skip_all, fields(user = %who.account.id, ops = ops.len()))]
pub async fn apply(
    app: &App,
    who: &Caller,
    lang: Lang,
    device_id: &str,
    ops: &[serde_json::Value],
) -> Result<std::result::Result<Vec<OpReply>, crate::FieldErrors>> {
    gate(who)?;
    let device = match device_of_input(lang, device_id) {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    if ops.len() > MAX_OPS {
        let mut e = crate::FieldErrors::new();
        e.add("ops", lang.tf("sync.error.too_many", &[("max", &MAX_OPS.to_string())]));
        return Ok(Err(e));
    }
    let mut out = Vec::with_capacity(ops.len());
    for raw in ops {
        let op_id = raw.get("op_id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let seq = raw.get("seq").and_then(|v| v.as_i64()).unwrap_or(0);
        let reply = match op_id.parse::<OpId>() {
            Err(_) => rejected("invalid"),
            Ok(id) => one(app, who, lang, device, id, seq, raw).await?,
        };
        out.push(OpReply { op_id, seq, reply });
    }
    Ok(Ok(out))
}

/// An operation to record, with its reply.
struct Record<'a> {
    op_id: OpId,
    device: DeviceId,
    seq: Seq,
    who: &'a Caller,
    kind: &'static str,
    state: &'static str,
    reply: String,
    payload: Option<String>,
}

impl Record<'_> {
    async fn insert(&self, tx: &mut Tx, now: Timestamp) -> Result<()> {
        let op = NewOp {
            op_id: self.op_id,
            device: self.device,
            seq: self.seq,
            user: self.who.account.id,
            kind: self.kind,
            state: self.state,
            reply: &self.reply,
            payload: self.payload.as_deref(),
        };
        store::insert_op(tx, &op, now).await?;
        Ok(())
    }
}

/// The device, the caller's (else the request is refused).
async fn device_of(tx: &mut Tx, who: &Caller, device: DeviceId, now: Timestamp) -> Result<Device> {
    match store::take_device(tx, device, now).await? {
        Some(d) if d.user == who.account.id => Ok(d),
        _ => Err(Error::forbidden()),
    }
}

/// What a held operation still waits for.
async fn held_reply(tx: &mut Tx, d: &Device, seq: Seq) -> Result<Reply> {
    let held: std::collections::BTreeSet<Seq> = store::held(tx, d.id).await?.into_iter().map(|(s, _)| s).collect();
    Ok(Reply::Held { missing: rules::missing(d.highest_seq, &held, seq) })
}

/// What a held operation next in line still waits for: the attachments it
/// names that have not arrived (or, if none, what `held_reply` says).
async fn waiting_reply(tx: &mut Tx, d: &Device, known: &store::StoredOp) -> Result<Reply> {
    let op: Option<OpInput> = known.payload.as_deref().and_then(|p| serde_json::from_str(p).ok());
    if let Some(OpInput { body: OpBody::LogEntry { attachment: Some(a), .. }, .. }) = op {
        if store::blob(tx, &a.sha256, d.organisation).await?.is_none() {
            return Ok(Reply::MissingAttachment { blobs: vec![a.sha256] });
        }
    }
    held_reply(tx, d, known.seq).await
}

fn reply_of_stored(text: &str) -> Result<Reply> {
    serde_json::from_str(text).map_err(|e| Error::from(anyhow::Error::from(e)))
}

fn to_json(r: &Reply) -> Result<String> {
    serde_json::to_string(r).map_err(|e| Error::from(anyhow::Error::from(e)))
}

/// One operation: answered from its record when it was received before;
/// else admitted by its sequence number, and applied (then the held ones
/// that follow), held, or refused.
async fn one(app: &App, who: &Caller, lang: Lang, device: DeviceId, op_id: OpId, seq: Seq, raw: &serde_json::Value) -> Result<Reply> {
    for _ in 0..RETRIES {
        let now = app.clock.now();
        let mut tx = app.db.begin().await?;
        let d = device_of(&mut tx, who, device, now).await?;
        if let Some(known) = store::op(&mut tx, op_id).await? {
            if known.state == "held" && known.seq == d.highest_seq + 1 {
                // Next in line but left waiting (its attachment had not
                // arrived): tried again now.
                tx.commit().await?;
                drain(app, who, lang, device).await?;
                let mut tx = app.db.begin().await?;
                let d = device_of(&mut tx, who, device, now).await?;
                let known = store::op(&mut tx, op_id).await?.ok_or_else(Error::conflict)?;
                let r = if known.state == "held" { waiting_reply(&mut tx, &d, &known).await? } else { reply_of_stored(&known.reply)? };
                tx.commit().await?;
                return Ok(r);
            }
            let r = if known.state == "held" { held_reply(&mut tx, &d, known.seq).await? } else { reply_of_stored(&known.reply)? };
            tx.commit().await?;
            return Ok(r);
        }
        let parsed: std::result::Result<OpInput, _> = serde_json::from_value(raw.clone());
        let kind = parsed.as_ref().map(|o| o.body.kind()).unwrap_or("invalid");
        let record = |state: &'static str, reply: String, payload: Option<String>| Record { op_id, device, seq, who, kind, state, reply, payload };
        if d.revoked_at.is_some() {
            let r = rejected("device_revoked");
            record("rejected", to_json(&r)?, None).insert(&mut tx, now).await?;
            tx.commit().await?;
            return Ok(r);
        }
        let held: std::collections::BTreeSet<Seq> = store::held(&mut tx, device).await?.into_iter().map(|(s, _)| s).collect();
        match rules::admit(d.highest_seq, &held, seq) {
            Admission::Refused(reason) => {
                let r = rejected(reason);
                record("rejected", to_json(&r)?, None).insert(&mut tx, now).await?;
                tx.commit().await?;
                return Ok(r);
            }
            Admission::Held(missing) => {
                let r = Reply::Held { missing };
                let payload = raw.to_string();
                record("held", to_json(&r)?, Some(payload)).insert(&mut tx, now).await?;
                tx.commit().await?;
                return Ok(r);
            }
            Admission::Next => {}
        }
        let r = match parsed {
            Err(_) => rejected("invalid"),
            Ok(op) => match decide(app, who, lang, &mut tx, op_id, device, &op).await {
                Ok(r) => r,
                Err(e) if e.kind == ErrorKind::Conflict => continue,
                Err(e) => return Err(e),
            },
        };
        if matches!(r, Reply::MissingAttachment { .. }) {
            // Nothing recorded: sent again once the attachment is uploaded.
            return Ok(r);
        }
        record(r.code(), to_json(&r)?, None).insert(&mut tx, now).await?;
        store::set_highest(&mut tx, device, seq).await?;
        tx.commit().await?;
        drain(app, who, lang, device).await?;
        return Ok(r);
    }
    Err(Error::conflict())
}

/// Applies the held operations of a device that now follow, in order, each
/// in its transaction.
async fn drain(app: &App, who: &Caller, lang: Lang, device: DeviceId) -> Result<()> {
    let mut tries = 0;
    loop {
        let now = app.clock.now();
        let mut tx = app.db.begin().await?;
        let d = device_of(&mut tx, who, device, now).await?;
        let next = d.highest_seq + 1;
        let Some((_, id)) = store::held(&mut tx, device).await?.into_iter().find(|(s, _)| *s == next) else {
            return Ok(());
        };
        let Some(stored) = store::op(&mut tx, id).await? else { return Ok(()) };
        // A held body cleared by an erasure named a person who is gone.
        let parsed = match stored.payload.as_deref() {
            None => Err("not_found"),
            Some(p) => serde_json::from_str::<OpInput>(p).map_err(|_| "invalid"),
        };
        let r = match parsed {
            Err(reason) => rejected(reason),
            Ok(op) => match decide(app, who, lang, &mut tx, id, device, &op).await {
                Ok(r) => r,
                Err(e) if e.kind == ErrorKind::Conflict && tries < RETRIES => {
                    tries += 1;
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        if matches!(r, Reply::MissingAttachment { .. }) {
            // Stays held (nothing written) until its attachment arrives.
            return Ok(());
        }
        store::decide(&mut tx, id, r.code(), &to_json(&r)?, now).await?;
        store::set_highest(&mut tx, device, next).await?;
        tx.commit().await?;
        tries = 0;
    }
}

/// A refusal of the commands, as the reason kept with the operation; any
/// other error stops the request (the phone sends again).
fn refusal(e: Error) -> Result<Reply> {
    match e.kind {
        ErrorKind::Forbidden => Ok(rejected("forbidden")),
        ErrorKind::NotFound => Ok(rejected("not_found")),
        ErrorKind::BadRequest => Ok(rejected("invalid")),
        _ => Err(e),
    }
}

/// Decides and writes one admitted operation in the transaction, through the
/// commands the pages call.
async fn decide(app: &App, who: &Caller, lang: Lang, tx: &mut Tx, op_id: OpId, device: DeviceId, op: &OpInput) -> Result<Reply> {
    match &op.body {
        OpBody::Encounter { encounter } => {
            let input = EncounterInput::from((**encounter).clone());
            match crate::people::encounters::check_record(app, who, lang, &input).await {
                Err(e) => refusal(e),
                Ok(Err(files::Rejected::Duplicates(_))) => Ok(rejected("probable_duplicates")),
                Ok(Err(files::Rejected::Invalid(_))) => Ok(rejected("invalid")),
                Ok(Ok(checked)) => {
                    crate::people::encounters::write(tx, app, who, &checked, "sync").await?;
                    Ok(Reply::Applied)
                }
            }
        }
        OpBody::Observation { site_id, observation } => {
            let site = match crate::sites::load_site(app, who, site_id, Action::Read).await {
                Ok((s, _)) => s,
                Err(e) => return refusal(e),
            };
            match crate::sites::check_observation(app, who, lang, &site, observation).await {
                Err(e) => refusal(e),
                Ok(Err(_)) => Ok(rejected("invalid")),
                Ok(Ok(o)) => {
                    crate::sites::write_observation(tx, app, who, &site, &o).await?;
                    Ok(Reply::Applied)
                }
            }
        }
        OpBody::Set { set } => set_field(app, who, lang, tx, op_id, device, set).await,
        OpBody::LogEntry { book_kind, book_id, entry, attachment } => {
            let book = match crate::neighbourhood::logbooks::open(app, who, book_kind, book_id).await {
                Ok(b) => b,
                Err(e) => return refusal(e),
            };
            let file = match attachment {
                None => None,
                Some(a) => match store::blob(tx, &a.sha256, who.account.organisation).await? {
                    Some(b) => Some((a.name.clone(), b.bytes)),
                    None => return Ok(Reply::MissingAttachment { blobs: vec![a.sha256.clone()] }),
                },
            };
            match crate::neighbourhood::logbooks::check(app, who, lang, &book, entry, file).await {
                Err(e) => refusal(e),
                Ok(Err(_)) => Ok(rejected("invalid")),
                Ok(Ok(checked)) => {
                    crate::neighbourhood::logbooks::write_checked(tx, app, who, &book, &checked).await?;
                    if let Some(a) = attachment {
                        store::drop_blob(tx, &a.sha256, who.account.organisation).await?;
                    }
                    Ok(Reply::Applied)
                }
            }
        }
    }
}

/// The record a change is about, loaded with the right the page's command asks.
enum Target {
    Place(Site),
    Heatwave(Site),
    Person(Box<Person>),
}

/// The record of a change, and the field's value in it now.
async fn target(app: &App, who: &Caller, set: &SetField) -> Result<std::result::Result<(Target, FieldValue), &'static str>> {
    Ok(Ok(match (set.entity.as_str(), set.field.as_str(), &set.value) {
        ("site", "name" | "address", FieldValue::Text(_)) => {
            let (site, res) = crate::sites::load_site(app, who, &set.id, Action::Read).await?;
            who.require(Action::Delete, &res)?;
            let v = if set.field == "name" { site.name.clone() } else { site.address.clone() };
            (Target::Place(site), FieldValue::Text(Some(v)))
        }
        ("site", "heatwave", FieldValue::Text(Some(v))) if v == "on" || v == "off" => {
            let (site, _) = crate::sites::load_site(app, who, &set.id, Action::Update).await?;
            let v = if site.heatwave { "on" } else { "off" };
            (Target::Heatwave(site), FieldValue::text(v))
        }
        ("person", "pseudonym", FieldValue::Text(_)) => {
            crate::people::gate_records(who)?;
            let (p, _) = crate::people::load_person(app, who, &set.id, Action::Update).await?;
            let v = p.fields.pseudonym.clone();
            (Target::Person(Box::new(p)), FieldValue::Text(Some(v)))
        }
        ("person", "needs", FieldValue::Set(_)) => {
            crate::people::gate_records(who)?;
            let (p, _) = crate::people::load_person(app, who, &set.id, Action::Update).await?;
            let v = p.fields.needs.iter().map(|n| n.code().to_owned()).collect();
            (Target::Person(Box::new(p)), FieldValue::Set(v))
        }
        _ => return Ok(Err("unknown_field")),
    }))
}

fn text(v: &FieldValue) -> String {
    match v {
        FieldValue::Text(t) => t.clone().unwrap_or_default(),
        FieldValue::Set(s) => s.iter().cloned().collect::<Vec<_>>().join(","),
    }
}

/// Writes the value through the page's command; a value the command refuses is `invalid`.
async fn write_value(app: &App, who: &Caller, lang: Lang, tx: &mut Tx, target: &Target, field: &str, value: &FieldValue) -> Result<Option<&'static str>> {
    match target {
        Target::Place(site) => {
            let mut input = crate::sites::place_input(site);
            match field {
                "name" => input.name = text(value),
                _ => input.address = text(value),
            }
            match crate::sites::check_place(app, who, lang, site, &input).await? {
                Err(_) => Ok(Some("invalid")),
                Ok(place) => {
                    crate::sites::write_place(tx, app, who, site, &place, site.version).await?;
                    Ok(None)
                }
            }
        }
        Target::Heatwave(site) => {
            crate::sites::write_heatwave(tx, app, who, site, text(value) == "on", site.version).await?;
            Ok(None)
        }
        Target::Person(p) => {
            let mut form = PersonForm::of(&p.fields, p.version);
            match value {
                FieldValue::Set(codes) => form.needs = codes.iter().cloned().collect(),
                FieldValue::Text(_) => form.pseudonym = text(value),
            }
            match files::check_update(app, who, lang, p, &form).await? {
                Err(_) => Ok(Some("invalid")),
                Ok(valid) => {
                    files::write_update(tx, app, who, p, &valid, p.version, "sync").await?;
                    Ok(None)
                }
            }
        }
    }
}

fn organisation_of(t: &Target) -> veille_domain::OrganisationId {
    match t {
        Target::Place(s) | Target::Heatwave(s) => s.organisation,
        Target::Person(p) => p.organisation,
    }
}

/// When the operation was written on the device (its UUID v7's time).
fn written_at(op: OpId, received: Timestamp) -> Timestamp {
    match op.as_uuid().get_timestamp() {
        Some(t) => {
            let (secs, nanos) = t.to_unix();
            Timestamp::from_micros(i64::try_from(secs).unwrap_or(0) * 1_000_000 + i64::from(nanos / 1000))
        }
        None => received,
    }
}

/// A change of one field: the per-field rules, then the page's command.
async fn set_field(app: &App, who: &Caller, lang: Lang, tx: &mut Tx, op_id: OpId, device: DeviceId, set: &SetField) -> Result<Reply> {
    let (target, actual) = match target(app, who, set).await {
        Err(e) => return refusal(e),
        Ok(Err(reason)) => return Ok(rejected(reason)),
        Ok(Ok(t)) => t,
    };
    let now = app.clock.now();
    let stored = store::field(tx, &set.entity, &set.id, &set.field).await?;
    let current = rules::reconcile(stored.as_ref(), &actual);
    // A record archived meanwhile (a site closed, a person out of the active
    // list): a change the rules would apply waits for a person instead —
    // edit against archive is an ordinary conflict, the current value stays.
    let archived = match &target {
        Target::Place(s) | Target::Heatwave(s) => s.closed_at.is_some(),
        Target::Person(p) => !p.active,
    };
    let decision = match rules::decide_set(&current, &set.base, &set.value, op_id) {
        SetDecision::Apply { .. } if archived => SetDecision::Conflict,
        d => d,
    };
    match &decision {
        SetDecision::Apply { value, version } => {
            if let Some(reason) = write_value(app, who, lang, tx, &target, &set.field, value).await? {
                return Ok(rejected(reason));
            }
            store::put_field(tx, &set.entity, &set.id, &set.field, &FieldState { version: version.clone(), value: value.clone() }, now).await?;
        }
        SetDecision::Unchanged => {
            if stored.as_ref() != Some(&current) {
                store::put_field(tx, &set.entity, &set.id, &set.field, &current, now).await?;
            }
        }
        SetDecision::Conflict => {
            if stored.as_ref() != Some(&current) {
                store::put_field(tx, &set.entity, &set.id, &set.field, &current, now).await?;
            }
            let org = organisation_of(&target);
            let c = NewConflict {
                entity: &set.entity,
                record: &set.id,
                field: &set.field,
                op: op_id,
                organisation: org,
                current: &current,
                proposed: &set.value,
                base: &set.base,
                author: who.account.id,
                device,
                written_at: written_at(op_id, now),
            };
            let id = store::add_conflict(tx, &c, now).await?;
            let entry = who
                .audit_entry(now, "conflict", &set.entity, &set.id, org)
                .with_detail(serde_json::json!({"field": set.field, "conflict": id.to_string(), "op": op_id.to_string()}));
            audit::append(tx, entry).await?;
        }
    }
    Ok(rules::reply_of(&decision))
}

// ---------------------------------------------------------------- attachments

/// An attachment kept for the operation that will name it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct BlobView {
    /// The hash it is kept under (of the bytes sent).
    pub sha256: String,
    /// Its type once checked (`image/jpeg` for a photo, re-encoded without its metadata; `application/pdf`).
    pub content_type: String,
    /// Its size once checked, in bytes.
    pub size: usize,
    /// It was already there (sent before).
    pub already: bool,
}

/// Keeps an attachment a phone took offline, under the SHA-256 of the bytes
/// sent (checked): a photo (JPEG, PNG, WebP; re-encoded without its
/// metadata) or a PDF, at most 8 MB. Sending it again changes nothing.
#[tracing::instrument(skip_all, fields(user = %who.account.id, size = bytes.len()))]
pub async fn put_blob(app: &App, who: &Caller, lang: Lang, sha256: &str, bytes: Vec<u8>) -> Result<std::result::Result<BlobView, crate::FieldErrors>> {
    gate(who)?;
    let sha256 = sha256.trim();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Error::not_found());
    }
    let mut errors = crate::FieldErrors::new();
    if bytes.len() > crate::neighbourhood::logbooks::MAX_ATTACHMENT {
        errors.add("file", lang.tf("report.photo.too_large", &[("max", crate::reports::photos::MAX_MEGABYTES)]));
        return Ok(Err(errors));
    }
    use sha2::Digest;
    if hex::encode(sha2::Sha256::digest(&bytes)) != sha256 {
        errors.add("file", lang.t("sync.blob.error.hash"));
        return Ok(Err(errors));
    }
    let Some((content_type, bytes)) = crate::neighbourhood::logbooks::accept_file(bytes).await? else {
        errors.add("file", lang.t("neighbourhood.error.attachment"));
        return Ok(Err(errors));
    };
    let blob = store::Blob { content_type, bytes };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let new = store::put_blob(&mut tx, sha256, who.account.organisation, who.account.id, &blob, now).await?;
    if new {
        let entry = who
            .audit_entry(now, "create", "sync_blob", sha256, who.account.organisation)
            .with_detail(serde_json::json!({"type": blob.content_type, "size": blob.bytes.len()}));
        audit::append(&mut tx, entry).await?;
    }
    tx.commit().await?;
    Ok(Ok(BlobView { sha256: sha256.to_owned(), content_type: blob.content_type, size: blob.bytes.len(), already: !new }))
}

// ---------------------------------------------------------------- devices

/// A device as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceLine {
    /// Its id.
    pub id: DeviceId,
    /// Its account.
    pub account_name: String,
    /// The caller's own device.
    pub mine: bool,
    /// Registered.
    pub registered_at: Timestamp,
    /// Last sent operations.
    pub last_seen_at: Option<Timestamp>,
    /// The highest sequence number applied.
    pub highest_seq: Seq,
    /// How many operations are held behind a gap.
    pub held: usize,
    /// The sequence numbers still missing before the held ones (inclusive ranges).
    pub missing: Vec<[Seq; 2]>,
    /// How many operations were refused.
    pub rejected: i64,
    /// Revoked.
    pub revoked_at: Option<Timestamp>,
    /// The caller may revoke it.
    pub may_revoke: bool,
}

/// The devices the caller sees: every device of the organisation for its
/// coordinators and administrators (held gaps shown, so that a person asks
/// the phone's owner to open it on a network); their own for the others.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn devices(app: &App, who: &Caller) -> Result<Vec<DeviceLine>> {
    let all = may_resolve(who).is_ok();
    if !all {
        gate(who)?;
    }
    let lines = store::device_lines(&app.db, who.account.organisation, (!all).then_some(who.account.id)).await?;
    Ok(lines
        .into_iter()
        .map(|l| {
            let held: std::collections::BTreeSet<Seq> = l.held.iter().copied().collect();
            let last = held.iter().next_back().copied().unwrap_or(l.device.highest_seq);
            let mine = l.device.user == who.account.id;
            DeviceLine {
                id: l.device.id,
                account_name: l.account_name,
                mine,
                registered_at: l.device.created_at,
                last_seen_at: l.last_seen_at,
                highest_seq: l.device.highest_seq,
                held: held.len(),
                missing: rules::missing(l.device.highest_seq, &held, last),
                rejected: l.rejected,
                revoked_at: l.device.revoked_at,
                may_revoke: l.device.revoked_at.is_none(),
            }
        })
        .collect())
}

/// Revokes a device (its account's own, or any of the organisation's for its
/// coordinators and administrators): no operation is taken from it any more
/// and the phone wipes what it holds when it next connects. Audited; a device
/// already revoked stays as it is.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn revoke(app: &App, who: &Caller, id: &str) -> Result<()> {
    if may_resolve(who).is_err() {
        gate(who)?;
    }
    let id: DeviceId = id.trim().parse().map_err(|_| Error::not_found())?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let Some(d) = store::device(&mut tx, id).await?.filter(|d| d.organisation == who.account.organisation) else {
        return Err(Error::not_found());
    };
    // Another account's device is not shown to a field worker: not found.
    if d.user != who.account.id && may_resolve(who).is_err() {
        return Err(Error::not_found());
    }
    if d.revoked_at.is_none() {
        store::revoke(&mut tx, id, now).await?;
        audit::append(&mut tx, who.audit_entry(now, "revoke", "sync_device", id, d.organisation)).await?;
    }
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- the queue

/// Whether the account resolves its organisation's conflicts: its
/// coordinators and administrators (who may close its files).
pub fn may_resolve(who: &Caller) -> Result<()> {
    who.require(Action::Delete, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))
}

/// The conflicts of the organisation's records waiting for a person, that the
/// caller may read, oldest first (audited: they hold values of the records).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn queue(app: &App, who: &Caller) -> Result<Vec<Conflict>> {
    may_resolve(who)?;
    let list = store::conflicts(&app.db, &who.scope(), who.account.organisation, true, None).await?;
    if !list.is_empty() {
        let ids: Vec<String> = list.iter().map(|c| c.id.to_string()).collect();
        let entry =
            who.audit_entry(app.clock.now(), "read", "sync_conflicts", "queue", who.account.organisation).with_detail(serde_json::json!({"conflicts": ids}));
        audit::append_now(&app.db, entry).await?;
    }
    Ok(list)
}

/// How many conflicts of a record wait for a person (its badge).
pub async fn open_on(app: &App, entity: &str, record: &str) -> Result<i64> {
    Ok(store::open_count(&app.db, entity, record).await?)
}

/// The version of a field as the page that shows `actual` should give it to
/// a phone, as the base of a change made offline: what the server will
/// compare it with ([`rules::reconcile`]: a page's change since the last
/// sync is a version no phone saw). The caller has read the record.
pub async fn base_of(app: &App, entity: &str, record: &str, field: &str, actual: &FieldValue) -> Result<rules::Version> {
    let mut tx = app.db.begin().await?;
    let stored = store::field(&mut tx, entity, record, field).await?;
    tx.rollback().await?;
    Ok(rules::reconcile(stored.as_ref(), actual).version)
}

/// A coordinator's choice for a conflict.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Resolution {
    /// `keep_current`, `keep_proposed` or `new_value`.
    #[serde(default)]
    pub choice: String,
    /// The value typed, for `new_value`.
    #[serde(default)]
    pub value: String,
}

/// Resolves a conflict: keeps the current value, writes the proposed one or
/// a new one through the page's command, audited. A conflict resolved
/// meanwhile is left as it is.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn resolve(app: &App, who: &Caller, lang: Lang, id: &str, r: &Resolution) -> Result<std::result::Result<(), crate::FieldErrors>> {
    may_resolve(who)?;
    let id: SyncConflictId = id.parse().map_err(|_| Error::not_found())?;
    let Some(c) = store::conflicts(&app.db, &who.scope(), who.account.organisation, true, Some(id)).await?.pop() else {
        return Err(Error::not_found());
    };
    let mut errors = crate::FieldErrors::new();
    let value = match r.choice.as_str() {
        "keep_current" => None,
        "keep_proposed" => Some(c.proposed.clone()),
        "new_value" if !c.proposed.is_set() && !r.value.trim().is_empty() => Some(FieldValue::text(r.value.trim())),
        "new_value" => {
            errors.add("value", lang.t("sync.conflict.error.value"));
            return Ok(Err(errors));
        }
        _ => {
            errors.add("choice", lang.t("form.choose_one"));
            return Ok(Err(errors));
        }
    };
    let set = SetField { entity: c.entity.clone(), id: c.record.clone(), field: c.field.clone(), value: c.proposed.clone(), base: Default::default() };
    let (target, actual) = match target(app, who, &set).await? {
        Ok(t) => t,
        Err(_) => return Err(Error::not_found()),
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if let Some(v) = &value {
        if write_value(app, who, lang, &mut tx, &target, &c.field, v).await?.is_some() {
            errors.add("value", lang.t("sync.conflict.error.value"));
            return Ok(Err(errors));
        }
    }
    let kept = value.clone().unwrap_or(actual);
    if !store::resolve(&mut tx, c.id, &r.choice, &kept, who.account.id, now).await? {
        return Ok(Ok(()));
    }
    // A person's decision is a version no phone saw.
    let stored = store::field(&mut tx, &c.entity, &c.record, &c.field).await?;
    let number = stored.map(|s| s.version.number).unwrap_or(0) + 1;
    store::put_field(&mut tx, &c.entity, &c.record, &c.field, &FieldState { version: rules::Version { number, by: None }, value: kept }, now).await?;
    let entry = who
        .audit_entry(now, "resolve", &c.entity, &c.record, organisation_of(&target))
        .with_detail(serde_json::json!({"field": c.field, "conflict": c.id.to_string(), "resolution": r.choice}));
    audit::append(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}
