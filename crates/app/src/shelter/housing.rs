//! Housing First (Logement d'abord): landlords and their agreements,
//! dwellings, tenancies with their support intensity, scheduled dwelling
//! checks with a checklist — a point rated "problem" becomes a follow-up
//! action with a deadline, and the next check is scheduled —, overdue checks
//! and actions listed, and the programme's journal (the dwelling's timeline).

use veille_domain::records::RecordKind;
use veille_domain::shelter::{ActionStatus, CheckPoint, CheckRating, LandlordKind, Night, SupportIntensity};
use veille_domain::{Action, ActionId, DwellingCheckId, DwellingId, LandlordId, PersonId, Resource, ResourceKind, TerritoryId};
use veille_storage::actions::{self, NewFollowUp};
use veille_storage::audit;
use veille_storage::shelter::{self as store, NewDwelling};
use veille_storage::timeline::{self, NewEvent};

use super::input::*;
use super::{tonight, Dwelling, DwellingCheck, FollowUp, Landlord, Tenancy};
use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

/// Days given to act on a problem found at a check.
pub const ACTION_DAYS: i64 = 14;

/// The access-control description of a dwelling (and its tenancies and checks).
pub fn resource(d: &Dwelling) -> Resource {
    Resource::new(ResourceKind::Record).owned_by(d.organisation).in_territory(d.territory)
}

fn own(who: &Caller, territory: Option<TerritoryId>) -> Resource {
    Resource::new(ResourceKind::Record).owned_by(who.account.organisation).in_territory(territory)
}

/// Whether the account works with the organisation's records (reads the programme).
pub fn gate(who: &Caller) -> Result<()> {
    who.require(Action::Read, &own(who, None))
}

/// Landlords of the caller's organisation.
pub async fn landlords(app: &App, who: &Caller) -> Result<Vec<Landlord>> {
    gate(who)?;
    Ok(store::landlords(&app.db, &who.scope()).await?)
}

/// Dwellings the caller reads.
pub async fn dwellings(app: &App, who: &Caller) -> Result<Vec<Dwelling>> {
    gate(who)?;
    Ok(store::list_dwellings(&app.db, &who.scope()).await?)
}

/// Checks overdue today of dwellings the caller reads.
pub async fn overdue_checks(app: &App, who: &Caller) -> Result<Vec<DwellingCheck>> {
    gate(who)?;
    Ok(store::overdue_checks(&app.db, &who.scope(), tonight(app)).await?)
}

/// Open actions overdue today that the caller reads.
pub async fn overdue_actions(app: &App, who: &Caller) -> Result<Vec<FollowUp>> {
    Ok(actions::overdue_actions(&app.db, &who.scope(), tonight(app)).await?)
}

/// Adds a landlord.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_landlord(app: &App, who: &Caller, lang: Lang, input: &LandlordInput) -> Result<std::result::Result<LandlordId, FieldErrors>> {
    gate(who)?;
    let mut e = FieldErrors::new();
    let name = words(&input.name, "name", 200, true, lang, &mut e);
    let kind = code::<LandlordKind>(&input.kind, "kind", lang, &mut e);
    let contact = words(&input.contact, "contact", 300, false, lang, &mut e);
    let agreement = words(&input.agreement, "agreement", 2000, false, lang, &mut e);
    let Some(kind) = kind.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create_landlord(&mut tx, who.account.organisation, &name, kind, &contact, &agreement, now).await?;
    audit::append(&mut tx, who.audit_entry(now, "create", "landlord", id, who.account.organisation).with_detail(serde_json::json!({"kind": kind.code()})))
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Adds a dwelling, and schedules its first check.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_dwelling(app: &App, who: &Caller, lang: Lang, input: &DwellingInput) -> Result<std::result::Result<DwellingId, FieldErrors>> {
    gate(who)?;
    let mut e = FieldErrors::new();
    let address = words(&input.address, "address", 300, true, lang, &mut e);
    let territory = id::<TerritoryId>(&input.territory_id, "territory_id", lang, &mut e);
    let landlord = id::<LandlordId>(&input.landlord_id, "landlord_id", lang, &mut e);
    let rooms = number(&input.rooms, "rooms", 1, 20, Some(1), lang, &mut e);
    let rent_cents = euros(&input.rent, "rent", lang, &mut e);
    let check_every_days = number(&input.check_every_days, "check_every_days", 7, 365, Some(30), lang, &mut e);
    if let Some(l) = landlord {
        if !store::landlords(&app.db, &who.scope()).await?.iter().any(|x| x.id == l) {
            e.add("landlord_id", lang.t("shelter.error.choose"));
        }
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    who.require(Action::Create, &own(who, territory))?;
    let new = NewDwelling { territory, landlord, address, rooms, state: "good".into(), rent_cents, check_every_days };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create_dwelling(&mut tx, who.account.organisation, &new, now).await?;
    store::schedule_check(&mut tx, id, tonight(app).plus(check_every_days), now).await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Dwelling, id, now, Some(who.author()), "created")).await?;
    audit::append(&mut tx, who.audit_entry(now, "create", "dwelling", id, who.account.organisation).with_detail(serde_json::json!({"rooms": rooms}))).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// A dwelling the caller may read (404 otherwise) and do `action` on (403).
pub async fn load(app: &App, who: &Caller, id: &str, action: Action) -> Result<Dwelling> {
    gate(who)?;
    let id: DwellingId = id.parse().map_err(|_| Error::not_found())?;
    let d = store::get_dwelling(&app.db, &who.scope(), id).await?;
    if !who.can(Action::Read, &resource(&d)).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &resource(&d))?;
    Ok(d)
}

/// Everything a dwelling's page shows.
#[derive(Clone, Debug)]
pub struct DwellingPage {
    /// The dwelling.
    pub dwelling: Dwelling,
    /// Its tenancies, newest first.
    pub tenancies: Vec<Tenancy>,
    /// Its checks, latest due first.
    pub checks: Vec<DwellingCheck>,
    /// Its follow-up actions.
    pub actions: Vec<FollowUp>,
    /// Its journal and history.
    pub events: Vec<timeline::Event>,
}

/// Reads a dwelling with its tenancies, checks, actions and journal, audited.
pub async fn read(app: &App, who: &Caller, id: &str, via: &str) -> Result<DwellingPage> {
    let dwelling = load(app, who, id, Action::Read).await?;
    audit::append_now(
        &app.db,
        who.audit_entry(app.clock.now(), "read", "dwelling", dwelling.id, dwelling.organisation).with_detail(serde_json::json!({"via": via})),
    )
    .await?;
    page(app, who, dwelling).await
}

/// The page of a dwelling already read.
pub async fn page(app: &App, who: &Caller, dwelling: Dwelling) -> Result<DwellingPage> {
    let tenancies = store::tenancies(&app.db, dwelling.id).await?;
    let checks = store::checks(&app.db, dwelling.id).await?;
    let actions = actions::actions_of(&app.db, &who.scope(), "dwelling", &dwelling.id.to_string()).await?;
    let events = timeline::of(&app.db, RecordKind::Dwelling, dwelling.id).await?;
    Ok(DwellingPage { dwelling, tenancies, checks, actions, events })
}

/// Starts a tenancy of a dwelling.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_tenancy(app: &App, who: &Caller, lang: Lang, d: &Dwelling, input: &TenancyInput) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(d))?;
    let mut e = FieldErrors::new();
    let person_id = id::<PersonId>(&input.person_id, "person_id", lang, &mut e);
    let label = words(&input.label, "label", 120, false, lang, &mut e);
    let start = night(&input.lease_start, "lease_start", Some(tonight(app)), lang, &mut e);
    let support = if input.support.trim().is_empty() { Some(SupportIntensity::Regular) } else { code(&input.support, "support", lang, &mut e) };
    let person = super::person_or_label(app, who, lang, person_id, &label, &mut e).await?;
    let Some(support) = support.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let label = if label.is_empty() { person.as_ref().map(|p| p.fields.pseudonym.clone()).unwrap_or_default() } else { label };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create_tenancy(&mut tx, d.id, person.map(|p| p.id), &label, start, support, now).await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Dwelling, d.id, now, Some(who.author()), "tenancy").change(None, Some(support.code()))).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "dwelling", d.id, d.organisation).with_detail(serde_json::json!({"tenancy": id.to_string()})))
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Schedules a check of a dwelling.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn schedule_check(app: &App, who: &Caller, lang: Lang, d: &Dwelling, due: &str) -> Result<std::result::Result<DwellingCheckId, FieldErrors>> {
    who.require(Action::Update, &resource(d))?;
    let mut e = FieldErrors::new();
    let due = night(due, "due_on", None, lang, &mut e);
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::schedule_check(&mut tx, d.id, due, now).await?;
    let iso = due.iso();
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Dwelling, d.id, now, Some(who.author()), "check_scheduled").change(None, Some(&iso))).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "dwelling", d.id, d.organisation).with_detail(serde_json::json!({"check": id.to_string()}))).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// What a check done produced.
#[derive(Clone, Debug, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct CheckDone {
    /// Actions created for the points rated "problem".
    pub actions: Vec<String>,
    /// The next check's date.
    pub next_check: String,
}

/// Records a check done with its checklist: each point rated "problem"
/// becomes a follow-up action due in [`ACTION_DAYS`]; the next check is
/// scheduled after the dwelling's interval.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn complete_check(app: &App, who: &Caller, lang: Lang, check_id: &str, input: &CheckInput) -> Result<std::result::Result<CheckDone, FieldErrors>> {
    gate(who)?;
    let cid: DwellingCheckId = check_id.parse().map_err(|_| Error::not_found())?;
    let check = store::get_check(&app.db, &who.scope(), cid).await?;
    let d = load(app, who, &check.dwelling.to_string(), Action::Update).await?;
    let mut e = FieldErrors::new();
    let today = tonight(app);
    let done = night(&input.done_on, "done_on", Some(today), lang, &mut e);
    let notes = words(&input.notes, "notes", 5000, false, lang, &mut e);
    let answers = [
        (CheckPoint::State, &input.state),
        (CheckPoint::Safety, &input.safety),
        (CheckPoint::Hygiene, &input.hygiene),
        (CheckPoint::Neighbourhood, &input.neighbourhood),
        (CheckPoint::Rent, &input.rent),
        (CheckPoint::Wishes, &input.wishes),
    ];
    let mut checklist = Vec::new();
    for (point, text) in answers {
        if let Some(r) = code::<CheckRating>(text, point.code(), lang, &mut e) {
            checklist.push((point.code().to_owned(), r));
        }
    }
    if check.done_on.is_some() {
        e.add("done_on", lang.t("shelter.error.check_done"));
    }
    if e.is_empty() && done > today {
        e.add("done_on", lang.t("shelter.error.night_range"));
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let next = done.plus(d.check_every_days);
    let mut tx = app.db.begin().await?;
    store::complete_check(&mut tx, check.id, done, who.account.id, &checklist, &notes).await?;
    let mut actions = Vec::new();
    for (point, _) in checklist.iter().filter(|(_, r)| *r == CheckRating::Problem) {
        let title = lang.tf("shelter.check.action_title", &[("point", &lang.t(&format!("shelter.check.point.{point}")))]);
        let new = NewFollowUp {
            territory: d.territory,
            record_kind: "dwelling".into(),
            record_id: d.id.to_string(),
            owner: Some(d.organisation),
            owner_name: String::new(),
            case: None,
            title,
            due_on: Some(done.plus(ACTION_DAYS)),
        };
        actions.push(actions::create_action(&mut tx, d.organisation, &new, who.account.id, now).await?.to_string());
    }
    store::schedule_check(&mut tx, d.id, next, now).await?;
    let iso = done.iso();
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Dwelling, d.id, now, Some(who.author()), "check_done").change(None, Some(&iso))).await?;
    let detail = serde_json::json!({"check": check.id.to_string(), "actions": actions.len()});
    audit::append(&mut tx, who.audit_entry(now, "update", "dwelling", d.id, d.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(CheckDone { actions, next_check: next.iso() }))
}

/// Writes an entry in the programme's journal of a dwelling (visits, goals,
/// incidents with the landlord…).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_journal(app: &App, who: &Caller, lang: Lang, d: &Dwelling, body: &str) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(d))?;
    let mut e = FieldErrors::new();
    let body = words(body, "body", 5000, true, lang, &mut e);
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Dwelling, d.id, now, Some(who.author()), "log").detail(&body)).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "dwelling", d.id, d.organisation).with_detail(serde_json::json!({"field": "journal"}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The access-control description of an action: its writer's, shared with its owner.
pub fn action_resource(a: &FollowUp) -> Resource {
    let res = Resource::new(ResourceKind::Record).owned_by(a.organisation).in_territory(a.territory).in_case(a.case);
    match a.owner.filter(|o| *o != a.organisation) {
        Some(o) => res.shared_with(o),
        None => res,
    }
}

/// An action the caller may read (404 otherwise) and change (403 otherwise).
pub async fn load_action(app: &App, who: &Caller, id: &str) -> Result<FollowUp> {
    super::gate_stays(who)?;
    let aid: ActionId = id.parse().map_err(|_| Error::not_found())?;
    let a = actions::get_action(&app.db, &who.scope(), aid).await?;
    if !who.can(Action::Read, &action_resource(&a)).allowed {
        return Err(Error::not_found());
    }
    who.require(Action::Update, &action_resource(&a))?;
    Ok(a)
}

/// The dwelling of a check the caller may change.
pub async fn check_dwelling(app: &App, who: &Caller, check_id: &str) -> Result<Dwelling> {
    gate(who)?;
    let cid: DwellingCheckId = check_id.parse().map_err(|_| Error::not_found())?;
    let check = store::get_check(&app.db, &who.scope(), cid).await?;
    load(app, who, &check.dwelling.to_string(), Action::Update).await
}

/// Moves a follow-up action on (its writer's organisation or its owner's).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn set_action(app: &App, who: &Caller, lang: Lang, a: &FollowUp, input: &ActionInput) -> Result<std::result::Result<FollowUp, FieldErrors>> {
    who.require(Action::Update, &action_resource(a))?;
    let mut e = FieldErrors::new();
    let status = code::<ActionStatus>(&input.status, "status", lang, &mut e);
    let result = words(&input.result, "result", 2000, false, lang, &mut e);
    let Some(status) = status.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    actions::set_action_status(&mut tx, a.id, status, &result, version(&input.version), now).await?;
    let record = if a.case.is_some() { Some(RecordKind::Case) } else { (a.record_kind == "dwelling").then_some(RecordKind::Dwelling) };
    if let Some(kind) = record {
        let ev =
            NewEvent::new(kind, &a.record_id, now, Some(who.author()), "action_status").change(Some(a.status.code()), Some(status.code())).detail(&a.title);
        timeline::append(&mut tx, &ev).await?;
    }
    audit::append(&mut tx, who.audit_entry(now, "update", "action", a.id, a.organisation).with_detail(serde_json::json!({"status": status.code()}))).await?;
    tx.commit().await?;
    Ok(Ok(actions::get_action(&app.db, &who.scope(), a.id).await?))
}

/// Whether a check is overdue today.
pub fn overdue(c: &DwellingCheck, today: Night) -> bool {
    c.done_on.is_none() && c.due_on < today
}
