//! Operations on sites (mise à l'abri, évacuation, nettoyage): planned with
//! their date, partners, requested city services and legal frame (the
//! justice field group); a prior social diagnosis of the people and
//! households present, most vulnerable first, flagged when missing before
//! the date; on the day an outcome per line — sheltered lines become stays
//! in a facility, through the same booking rule as any other —; a report
//! with counts by outcome; the site's timeline follows.

use std::collections::BTreeMap;

use veille_domain::records::RecordKind;
use veille_domain::shelter::{DiagnosisVulnerability, LegalFrame, Night, OperationKind, OperationOutcome};
use veille_domain::{Action, DiagnosisId, FacilityId, FieldGroup, OperationId, PersonId, Resource, ResourceKind};
use veille_storage::audit;
use veille_storage::shelter::{self as store, NewDiagnosis, NewOperation, NewStay};
use veille_storage::timeline::{self, NewEvent};

use super::input::*;
use super::{check_places, stay_resource, tonight, write_stay, DiagnosisLine, Operation};
use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

/// How many days before its date a planned operation without a diagnosis is flagged.
pub const DIAGNOSIS_WARNING_DAYS: i64 = 7;

/// The access-control description of an operation (the legal frame is the justice field group).
pub fn resource(o: &Operation) -> Resource {
    Resource::new(ResourceKind::Record).owned_by(o.organisation).in_territory(o.territory)
}

/// Whether the caller reads the legal frame of operations.
pub fn reads_legal_frame(who: &Caller, o: &Operation) -> bool {
    who.can(Action::Read, &resource(o).field(FieldGroup::Justice)).allowed
}

/// An operation the caller may read (404 otherwise) and do `action` on (403).
pub async fn load(app: &App, who: &Caller, id: &str, action: Action) -> Result<Operation> {
    super::housing::gate(who)?;
    let id: OperationId = id.parse().map_err(|_| Error::not_found())?;
    let o = store::get_operation(&app.db, &who.scope(), id).await?;
    if !who.can(Action::Read, &resource(&o)).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &resource(&o))?;
    Ok(o)
}

/// The operations the caller reads (of one site when given).
pub async fn list(app: &App, who: &Caller, site: Option<veille_domain::SiteId>) -> Result<Vec<Operation>> {
    super::housing::gate(who)?;
    Ok(store::list_operations(&app.db, &who.scope(), site).await?)
}

/// Planned operations due within [`DIAGNOSIS_WARNING_DAYS`] with no diagnosis yet.
pub async fn undiagnosed(app: &App, who: &Caller) -> Result<Vec<Operation>> {
    Ok(store::undiagnosed(&app.db, &who.scope(), tonight(app).plus(DIAGNOSIS_WARNING_DAYS)).await?)
}

/// Plans an operation on a site the caller reads.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn plan(app: &App, who: &Caller, lang: Lang, input: &OperationInput) -> Result<std::result::Result<Operation, FieldErrors>> {
    super::housing::gate(who)?;
    let mut e = FieldErrors::new();
    let kind = code::<OperationKind>(&input.kind, "kind", lang, &mut e);
    let planned_on = night(&input.planned_on, "planned_on", None, lang, &mut e);
    let partners = words(&input.partners, "partners", 500, false, lang, &mut e);
    let city_services = words(&input.city_services, "city_services", 500, false, lang, &mut e);
    let legal_frame =
        if input.legal_frame.trim().is_empty() { Some(LegalFrame::None) } else { code::<LegalFrame>(&input.legal_frame, "legal_frame", lang, &mut e) };
    let legal_reference = words(&input.legal_reference, "legal_reference", 200, false, lang, &mut e);
    let site = match crate::found(crate::sites::load_site(app, who, input.site_id.trim(), Action::Read).await)? {
        Some((s, _)) => Some(s),
        None => {
            e.add("site_id", lang.t("shelter.error.site"));
            None
        }
    };
    let own = Resource::new(ResourceKind::Record).owned_by(who.account.organisation).in_territory(site.as_ref().and_then(|s| s.territory));
    let justice = who.can(Action::Create, &own.clone().field(FieldGroup::Justice)).allowed;
    if !justice && (legal_frame.is_some_and(|f| f != LegalFrame::None) || !legal_reference.is_empty()) {
        e.add("legal_frame", lang.t("shelter.error.justice"));
    }
    let (Some(kind), Some(site), Some(legal_frame)) = (kind, site, legal_frame) else { return Ok(Err(e)) };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    who.require(Action::Create, &own)?;
    let new = NewOperation {
        site: site.id,
        territory: site.territory,
        kind,
        planned_on,
        partners,
        city_services,
        legal_frame: legal_frame.code().to_owned(),
        legal_reference,
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create_operation(&mut tx, who.account.organisation, &new, who.account.id, now).await?;
    let iso = planned_on.iso();
    timeline::append_all(
        &mut tx,
        &[
            NewEvent::new(RecordKind::Operation, id, now, Some(who.author()), "created").change(None, Some("planned")),
            NewEvent::new(RecordKind::Site, site.id, now, Some(who.author()), "operation").change(None, Some(kind.code())).detail(&iso),
        ],
    )
    .await?;
    let detail = serde_json::json!({"kind": kind.code(), "site": site.id.to_string(), "planned_on": iso});
    audit::append(&mut tx, who.audit_entry(now, "create", "operation", id, who.account.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(store::get_operation(&app.db, &who.scope(), id).await?))
}

/// Reads an operation with its diagnosis (most vulnerable first), audited.
pub async fn read(app: &App, who: &Caller, id: &str, via: &str) -> Result<(Operation, Vec<DiagnosisLine>)> {
    let o = load(app, who, id, Action::Read).await?;
    let lines = store::diagnosis(&app.db, o.id).await?;
    let detail = serde_json::json!({"via": via, "legal_frame": reads_legal_frame(who, &o)});
    audit::append_now(&app.db, who.audit_entry(app.clock.now(), "read", "operation", o.id, o.organisation).with_detail(detail)).await?;
    Ok((o, lines))
}

/// Adds a person or household present to the prior social diagnosis.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_diagnosis(
    app: &App,
    who: &Caller,
    lang: Lang,
    o: &Operation,
    input: &DiagnosisInput,
) -> Result<std::result::Result<DiagnosisId, FieldErrors>> {
    who.require(Action::Update, &resource(o))?;
    let mut e = FieldErrors::new();
    let person_id = id::<PersonId>(&input.person_id, "person_id", lang, &mut e);
    let label = words(&input.label, "label", 120, false, lang, &mut e);
    let people = number(&input.people, "people", 1, 200, Some(1), lang, &mut e);
    let vulnerabilities = code_list::<DiagnosisVulnerability>(&input.vulnerabilities, "vulnerabilities", lang, &mut e);
    let needs = words(&input.needs, "needs", 1000, false, lang, &mut e);
    let proposal = words(&input.proposal, "proposal", 1000, false, lang, &mut e);
    if o.status != "planned" {
        e.add("label", lang.t("shelter.error.operation_done"));
    }
    let person = super::person_or_label(app, who, lang, person_id, &label, &mut e).await?;
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let label = if label.is_empty() { person.as_ref().map(|p| p.fields.pseudonym.clone()).unwrap_or_default() } else { label };
    let new = NewDiagnosis { person: person.map(|p| p.id), label, people, vulnerabilities, needs, proposal };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::add_diagnosis(&mut tx, o.id, &new, now).await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Operation, o.id, now, Some(who.author()), "diagnosis")).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "operation", o.id, o.organisation).with_detail(serde_json::json!({"diagnosis": id.to_string()})))
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Records the outcome of a line on the day; a sheltered line becomes a
/// present stay in the facility chosen, if it has the places.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn record_outcome(app: &App, who: &Caller, lang: Lang, o: &Operation, input: &OutcomeInput) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(o))?;
    let mut e = FieldErrors::new();
    let outcome = code::<OperationOutcome>(&input.outcome, "outcome", lang, &mut e);
    let line_id = id::<DiagnosisId>(&input.line_id, "line_id", lang, &mut e);
    let lines = store::diagnosis(&app.db, o.id).await?;
    let line = line_id.and_then(|l| lines.into_iter().find(|x| x.id == l));
    if line.is_none() && !e.has("line_id") {
        e.add("line_id", lang.t("shelter.error.choose"));
    }
    if line.as_ref().is_some_and(|l| l.stay.is_some()) {
        e.add("outcome", lang.t("shelter.error.outcome_done"));
    }
    let sheltered = outcome == Some(OperationOutcome::Sheltered);
    let facility_id = if sheltered { id::<FacilityId>(&input.facility_id, "facility_id", lang, &mut e) } else { None };
    let nights = number(&input.nights, "nights", 1, super::MAX_NIGHTS, Some(7), lang, &mut e);
    let facility = match facility_id {
        Some(f) => crate::found(store::get_facility(&app.db, f).await.map_err(Error::from))?.filter(|f| f.active),
        None => None,
    };
    if sheltered && facility.is_none() && !e.has("facility_id") {
        e.add("facility_id", lang.t("shelter.error.facility"));
    }
    let (Some(outcome), Some(line)) = (outcome, line) else { return Ok(Err(e)) };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let mut stay = None;
    if let Some(f) = &facility {
        let new = NewStay {
            facility: f.id,
            organisation: o.organisation,
            operator: f.organisation,
            territory: f.territory,
            person: line.person,
            household: None,
            label: line.label.clone(),
            places: line.people,
            from: tonight(app),
            to: tonight(app).plus(nights),
            booking_ref: String::new(),
            night_cost_cents: f.night_cost_cents,
            operation: Some(o.id),
            present_at: Some(now),
            note: String::new(),
        };
        who.require(Action::Create, &stay_resource(new.organisation, new.operator, new.territory))?;
        if let Err(message) = check_places(&mut tx, lang, f, new.places, new.from, new.to, None).await? {
            tx.rollback().await?;
            e.add("facility_id", message);
            return Ok(Err(e));
        }
        stay = Some(write_stay(&mut tx, who, &new, now).await?);
        super::sync_directory(&mut tx, app, lang, f).await?;
    }
    store::set_outcome(&mut tx, line.id, outcome, facility.as_ref().map(|f| f.id), stay, now).await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Operation, o.id, now, Some(who.author()), "outcome").change(None, Some(outcome.code()))).await?;
    let detail = serde_json::json!({"line": line.id.to_string(), "outcome": outcome.code(), "stay": stay.map(|s| s.to_string())});
    audit::append(&mut tx, who.audit_entry(now, "update", "operation", o.id, o.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The counts of an operation's report: lines and people by outcome (`none`: not recorded).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Counts {
    /// Lines (people or households) by outcome code.
    pub lines: BTreeMap<String, i64>,
    /// People by outcome code.
    pub people: BTreeMap<String, i64>,
    /// Lines in all.
    pub total_lines: i64,
    /// People in all.
    pub total_people: i64,
    /// Stays made.
    pub stays: i64,
}

/// Counts a diagnosis by outcome.
pub fn counts(lines: &[DiagnosisLine]) -> Counts {
    let mut c = Counts::default();
    for l in lines {
        let k = l.outcome.map_or("none", |o| o.code()).to_owned();
        *c.lines.entry(k.clone()).or_default() += 1;
        *c.people.entry(k).or_default() += l.people;
        c.total_lines += 1;
        c.total_people += l.people;
        c.stays += i64::from(l.stay.is_some());
    }
    c
}

/// Closes the day: the operation is done, with its report; the site's timeline says so.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn finish(
    app: &App,
    who: &Caller,
    lang: Lang,
    o: &Operation,
    report: &str,
    cancelled: bool,
    version: i64,
) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(o))?;
    let mut e = FieldErrors::new();
    let report = words(report, "report", 10_000, false, lang, &mut e);
    if o.status != "planned" {
        e.add("report", lang.t("shelter.error.operation_done"));
    }
    let lines = store::diagnosis(&app.db, o.id).await?;
    if !cancelled && lines.iter().any(|l| l.outcome.is_none()) {
        e.add("report", lang.t("shelter.error.outcome_missing"));
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let status = if cancelled { "cancelled" } else { "done" };
    let c = counts(&lines);
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::finish_operation(&mut tx, o.id, status, &report, version, now).await?;
    let summary = format!("{} / {}", c.people.get("sheltered").copied().unwrap_or(0), c.total_people);
    timeline::append_all(
        &mut tx,
        &[
            NewEvent::new(RecordKind::Operation, o.id, now, Some(who.author()), "status").change(Some("planned"), Some(status)),
            NewEvent::new(RecordKind::Site, o.site, now, Some(who.author()), "operation").change(Some(o.kind.code()), Some(status)).detail(&summary),
        ],
    )
    .await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "operation", o.id, o.organisation).with_detail(serde_json::json!({"status": status}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Whether the operation's date is near and its diagnosis empty.
pub fn missing_diagnosis(o: &Operation, lines: &[DiagnosisLine], today: Night) -> bool {
    o.status == "planned" && lines.is_empty() && today.until(o.planned_on) <= DIAGNOSIS_WARNING_DAYS
}
