//! The rights of the people recorded (issue 17): retention of person files
//! through three stages (active, restricted archive, anonymised) and of the
//! other kinds of records, legal holds, the access request (everything about
//! a person across organisations, with the log of who read or changed it, as
//! PDF and JSON), erasure with its journal, and the archive's audited read.
//!
//! Who may act on a person's rights: the instance administrator, or the
//! administrator of the organisation holding the file (its DPO's account) —
//! those who may read that organisation's audit log (`Read` on
//! `ResourceKind::AuditLog` owned by the holding organisation). The retention
//! report and run are the instance's (`ResourceKind::Instance`).

use std::io::Write;

use veille_domain::{Action, FieldGroup, OrganisationId, PersonId, Resource, ResourceKind, Role, Timestamp};
use veille_storage::audit::{self, NewEntry};
use veille_storage::retention::{self as store, Candidate, Cutoffs, Erasure, Expired, Hold, PurgeKind, Stage};
use veille_storage::{Db, Scope};

use crate::error::{Error, Result};
use crate::{App, Caller, Config, FieldErrors, Lang};

/// Days a closed report keeps its reporter's name, e-mail and phone (the
/// follow-up of a closed report: a year, then the figures need none of it).
pub const REPORT_CONTACT_DAYS: i64 = 365;
/// Days a closed report keeps its photo.
pub const REPORT_PHOTO_DAYS: i64 = 365;
/// Days a sent mail stays in the outbox (delivery questions).
pub const SENT_MAIL_DAYS: i64 = 90;
/// Days login attempts are kept (security traces: six months).
pub const LOGIN_ATTEMPT_DAYS: i64 = 180;
/// Days an attachment a phone uploaded waits for the operation that names it.
pub const UNUSED_ATTACHMENT_DAYS: i64 = 7;

const DAY: i64 = 86_400;

fn instance_scope() -> Scope {
    Scope::instance("retention of person files")
}

/// What the retention job would do, or did: counts only (no personal data).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RetentionReport {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Active files whose last contact is older than the active period: to the archive.
    pub to_archive: i64,
    /// Archived files past the archive period: to anonymise.
    pub to_anonymise: i64,
    /// Files whose clock a legal hold stops.
    pub held: i64,
    /// Active files now (before the run).
    pub active: i64,
    /// Archived files now (before the run).
    pub archived: i64,
    /// Closed reports whose reporter's contact details go.
    pub report_contacts: i64,
    /// Photos of closed reports that go.
    pub report_photos: i64,
    /// Sent mails that go.
    pub sent_mails: i64,
    /// Login attempts that go.
    pub login_attempts: i64,
    /// Attachments phones uploaded that no operation used, that go.
    pub unused_attachments: i64,
}

fn cutoffs(now: Timestamp) -> Cutoffs {
    Cutoffs {
        report_contacts: now.plus_seconds(-REPORT_CONTACT_DAYS * DAY),
        report_photos: now.plus_seconds(-REPORT_PHOTO_DAYS * DAY),
        sent_mails: now.plus_seconds(-SENT_MAIL_DAYS * DAY),
        login_attempts: now.plus_seconds(-LOGIN_ATTEMPT_DAYS * DAY),
        unused_attachments: now.plus_seconds(-UNUSED_ATTACHMENT_DAYS * DAY),
    }
}

/// Which files move: (to archive, to anonymise, held, active, archived).
fn decide(config: &Config, files: &[Candidate], now: Timestamp) -> (Vec<Candidate>, Vec<Candidate>, i64, i64, i64) {
    let (mut archive, mut anonymise, mut held, mut active, mut archived) = (Vec::new(), Vec::new(), 0, 0, 0);
    for f in files {
        if f.held() {
            held += 1;
        }
        match f.stage {
            Stage::Active => {
                active += 1;
                if f.running_seconds(f.last_contact, now) >= config.retention_active_days * DAY {
                    archive.push(f.clone());
                }
            }
            Stage::Archived => {
                archived += 1;
                let since = f.stage_at.unwrap_or(f.last_contact);
                if f.running_seconds(since, now) >= config.retention_archive_days * DAY {
                    anonymise.push(f.clone());
                }
            }
            Stage::Anonymised => {}
        }
    }
    (archive, anonymise, held, active, archived)
}

async fn plan(app: &App, now: Timestamp) -> Result<(RetentionReport, Vec<Candidate>, Vec<Candidate>)> {
    let files = store::candidates(&app.db, &instance_scope()).await?;
    let (archive, anonymise, held, active, archived) = decide(&app.config, &files, now);
    let e = store::expired(&app.db, &cutoffs(now)).await?;
    let report = RetentionReport {
        dry_run: true,
        to_archive: archive.len() as i64,
        to_anonymise: anonymise.len() as i64,
        held,
        active,
        archived,
        report_contacts: e.report_contacts,
        report_photos: e.report_photos,
        sent_mails: e.sent_mails,
        login_attempts: e.login_attempts,
        unused_attachments: e.unused_attachments,
    };
    Ok((report, archive, anonymise))
}

/// The dry-run report, for the instance's own work (the CLI).
pub async fn dry_run_as_instance(app: &App) -> Result<RetentionReport> {
    Ok(plan(app, app.clock.now()).await?.0)
}

/// The dry-run report for the instance administrator.
pub async fn dry_run(app: &App, who: &Caller) -> Result<RetentionReport> {
    who.require(Action::Read, &Resource::new(ResourceKind::Instance))?;
    dry_run_as_instance(app).await
}

/// Runs retention now, as the instance administrator (audited under their name).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn run(app: &App, who: &Caller) -> Result<RetentionReport> {
    who.require(Action::Update, &Resource::new(ResourceKind::Instance))?;
    run_by(app, Some(who.author())).await
}

/// Runs retention as the instance's own daily job (and `veille retention run`).
pub async fn run_as_instance(app: &App) -> Result<RetentionReport> {
    run_by(app, None).await
}

async fn run_by(app: &App, actor: Option<(veille_domain::UserId, OrganisationId)>) -> Result<RetentionReport> {
    let now = app.clock.now();
    let (mut report, archive, anonymise) = plan(app, now).await?;
    report.dry_run = false;
    // In short transactions: a first run on an instance that imported years
    // of records archives tens of thousands of files, and one transaction
    // for all of them held SQLite's writer long enough for the pages that
    // write (an audit entry for each read of a person) to give up.
    for batch in archive.chunks(RETENTION_BATCH) {
        let mut tx = app.db.begin().await?;
        for f in batch {
            store::set_stage(&mut tx, f.id, Stage::Archived, now).await?;
            audit::append(
                &mut tx,
                NewEntry::about(now, actor, "retention", "person", Some(f.id.to_string()), Some(f.organisation))
                    .with_detail(serde_json::json!({"stage": "archived"})),
            )
            .await?;
        }
        tx.commit().await?;
    }
    for f in &anonymise {
        let mut tx = app.db.begin().await?;
        let purged = store::purge(&mut tx, f.id, PurgeKind::Anonymise, now).await?;
        audit::append(
            &mut tx,
            NewEntry::about(now, actor, "retention", "person", Some(f.id.to_string()), Some(f.organisation))
                .with_detail(serde_json::json!({"stage": "anonymised", "rows": purged.rows})),
        )
        .await?;
        tx.commit().await?;
    }
    let mut tx = app.db.begin().await?;
    let done: Expired = store::expire(&mut tx, &cutoffs(now)).await?;
    audit::append(
        &mut tx,
        NewEntry::about(now, actor, "retention", "instance", None, None).with_detail(serde_json::json!({
            "archived": report.to_archive, "anonymised": report.to_anonymise, "held": report.held,
            "report_contacts": done.report_contacts, "report_photos": done.report_photos,
            "sent_mails": done.sent_mails, "login_attempts": done.login_attempts, "unused_attachments": done.unused_attachments,
        })),
    )
    .await?;
    tx.commit().await?;
    if report.to_archive + report.to_anonymise > 0 {
        crate::people::duplicates::forget(app).await;
    }
    Ok(report)
}

/// How many files one transaction of the retention run archives.
const RETENTION_BATCH: usize = 100;

/// How often the retention job runs.
pub const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Runs retention once a day (the first pass a minute after start).
pub fn spawn_worker(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        let mut tick = tokio::time::interval(RETENTION_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_as_instance(&app).await {
                Ok(r) => tracing::info!(archived = r.to_archive, anonymised = r.to_anonymise, held = r.held, "retention"),
                Err(e) => tracing::warn!("retention: {e:#}"),
            }
        }
    })
}

// ---------------------------------------------------------------------------
// Who acts on a person's rights

/// The holding organisation of a file (any stage) the caller may act on the
/// rights of: not found when there is no such file, forbidden when the
/// caller is neither the instance administrator nor the holding
/// organisation's administrator.
async fn rights_over(app: &App, who: &Caller, id: &str) -> Result<(PersonId, OrganisationId)> {
    if !may_handle_requests(who) {
        return Err(Error::forbidden());
    }
    let person: PersonId = id.parse().map_err(|_| Error::not_found())?;
    let org = store::organisation_of(&app.db, person).await?.ok_or_else(Error::not_found)?;
    who.require(Action::Read, &Resource::new(ResourceKind::AuditLog).owned_by(org))?;
    Ok((person, org))
}

/// Whether the caller may use the rights pages at all (instance or organisation administrator).
pub fn may_handle_requests(who: &Caller) -> bool {
    matches!(who.actor.role, Role::InstanceAdmin | Role::OrgAdmin)
}

fn reason_checked(lang: Lang, field: &str, reason: &str) -> std::result::Result<String, FieldErrors> {
    let r = reason.trim();
    let mut errors = FieldErrors::new();
    if r.is_empty() {
        errors.add(field, lang.t("rights.reason_required"));
    } else if r.chars().count() > 500 {
        errors.add(field, lang.t("rights.reason_too_long"));
    }
    if errors.is_empty() {
        Ok(r.to_owned())
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------------------
// Legal holds

/// Places a legal hold on a file (reason required): its retention clock
/// stops and it cannot be erased until the hold is lifted.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn place_hold(app: &App, who: &Caller, lang: Lang, person: &str, reason: &str) -> Result<std::result::Result<String, FieldErrors>> {
    let (person, org) = rights_over(app, who, person).await?;
    let reason = match reason_checked(lang, "reason", reason) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::place_hold(&mut tx, person, &reason, who.account.id, now).await?;
    audit::append(&mut tx, who.audit_entry(now, "hold", "person", person, org).with_detail(serde_json::json!({"hold": id}))).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Lifts a legal hold (reason required).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn lift_hold(app: &App, who: &Caller, lang: Lang, hold: &str, reason: &str) -> Result<std::result::Result<PersonId, FieldErrors>> {
    if !may_handle_requests(who) {
        return Err(Error::forbidden());
    }
    let h = found_or_missing(store::hold(&app.db, &Scope::instance("legal holds"), hold).await)?;
    who.require(Action::Read, &Resource::new(ResourceKind::AuditLog).owned_by(h.organisation))?;
    let reason = match reason_checked(lang, "lift_reason", reason) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if !store::lift_hold(&mut tx, &h.id, &reason, who.account.id, now).await? {
        return Err(Error::conflict());
    }
    audit::append(&mut tx, who.audit_entry(now, "lift_hold", "person", h.person, h.organisation).with_detail(serde_json::json!({"hold": h.id}))).await?;
    tx.commit().await?;
    Ok(Ok(h.person))
}

fn found_or_missing<T>(r: std::result::Result<T, veille_storage::StorageError>) -> Result<T> {
    match r {
        Ok(v) => Ok(v),
        Err(veille_storage::StorageError::NotFound) => Err(Error::not_found()),
        Err(e) => Err(e.into()),
    }
}

/// What the rights page of a file shows: its stage and its holds.
#[derive(Clone, Debug)]
pub struct PersonRights {
    /// The file.
    pub person: PersonId,
    /// The organisation holding it.
    pub organisation: OrganisationId,
    /// Its retention stage.
    pub stage: Stage,
    /// Its holds, in force first.
    pub holds: Vec<Hold>,
}

impl PersonRights {
    /// Whether a hold is in force.
    pub fn held(&self) -> bool {
        self.holds.iter().any(|h| h.lifted_at.is_none())
    }
}

/// The rights page of a file (instance administrator, or the holding organisation's administrator).
pub async fn person_rights(app: &App, who: &Caller, id: &str) -> Result<PersonRights> {
    let (person, organisation) = rights_over(app, who, id).await?;
    let stage = store::stage_of(&app.db, person).await?.ok_or_else(Error::not_found)?;
    let holds = store::holds(&app.db, &Scope::instance("legal holds"), Some(person)).await?;
    Ok(PersonRights { person, organisation, stage, holds })
}

/// The holds the caller may see: every one for the instance administrator,
/// those of the organisation's files for its administrator.
pub async fn holds(app: &App, who: &Caller) -> Result<Vec<Hold>> {
    if !may_handle_requests(who) {
        return Err(Error::forbidden());
    }
    let all = store::holds(&app.db, &Scope::instance("legal holds"), None).await?;
    Ok(all.into_iter().filter(|h| who.can(Action::Read, &Resource::new(ResourceKind::AuditLog).owned_by(h.organisation)).allowed).collect())
}

// ---------------------------------------------------------------------------
// Access request

/// Everything about a person: the files of the person across organisations
/// (the file asked about and those linked to it as the same person), every
/// row about them, and the audit entries naming them.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct AccessExport {
    /// The format of this file.
    pub format: String,
    /// The file asked about.
    pub person: String,
    /// When the export was made (RFC 3339).
    pub made_at: String,
    /// Field groups (health, justice…) whose values are withheld because the
    /// account that made the export does not hold them: an account holding
    /// them makes the complete export.
    pub withheld_groups: Vec<String>,
    /// The person's files (this one and those linked to it), each with the
    /// organisation holding it and every row about it.
    pub files: Vec<ExportedFile>,
}

/// One file of the person.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ExportedFile {
    /// Its id.
    pub person: String,
    /// The organisation holding it.
    pub organisation: String,
    /// Its name.
    pub organisation_name: String,
    /// The rows about the person, table by table (column → value).
    pub tables: Vec<ExportedTable>,
    /// Who read or changed the file, when (the audit entries naming it).
    pub log: Vec<LogEntry>,
}

/// The rows of one table.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ExportedTable {
    /// The table.
    pub table: String,
    /// Its rows.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// An audit entry naming the person.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct LogEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Which account (id), if any.
    pub account: Option<String>,
    /// Its name, if known.
    pub account_name: Option<String>,
    /// Its organisation's name, if known.
    pub organisation: Option<String>,
    /// What: read, update, create…
    pub action: String,
    /// The kind of record.
    pub record_kind: String,
    /// Non-personal detail (JSON).
    pub detail: String,
}

/// Builds the access-request export of a person (audited: an `access_request`
/// entry on every file exported).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn access_request(app: &App, who: &Caller, id: &str) -> Result<AccessExport> {
    let (person, org) = rights_over(app, who, id).await?;
    let now = app.clock.now();
    // The entries written so far are in the log exported.
    audit::seal(&app.db, &app.audit).await?;
    let mut group = veille_storage::people::group_of(&app.db, person).await?;
    if !group.contains(&person) {
        group.insert(0, person);
    }
    let orgs: std::collections::BTreeMap<String, String> =
        veille_storage::organisations::list(&app.db).await?.into_iter().map(|o| (o.id.to_string(), o.name)).collect();
    let mut names: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut files = Vec::new();
    let mut withheld = std::collections::BTreeSet::new();
    for p in &group {
        let Some(holder) = store::organisation_of(&app.db, *p).await? else { continue };
        let tables = store::person_rows(&app.db, *p)
            .await?
            .into_iter()
            .filter(|t| !t.rows.is_empty())
            .map(|t| ExportedTable { table: t.table.to_owned(), rows: t.rows.into_iter().map(|r| withhold(who, t.table, r, &mut withheld)).collect() })
            .collect();
        let mut log = Vec::new();
        for e in store::audit_of(&app.db, *p).await? {
            let account_name = match &e.actor_user {
                Some(u) if !names.contains_key(u) => {
                    let name = match u.parse() {
                        Ok(uid) => veille_storage::accounts::get(&app.db, uid).await.ok().map(|a| a.display_name),
                        Err(_) => None,
                    };
                    names.insert(u.clone(), name.clone().unwrap_or_default());
                    name
                }
                Some(u) => names.get(u).cloned().filter(|n| !n.is_empty()),
                None => None,
            };
            log.push(LogEntry {
                at: e.at.to_paris_rfc3339(),
                account: e.actor_user.clone(),
                account_name,
                organisation: e.actor_organisation.as_ref().and_then(|o| orgs.get(o).cloned()),
                action: e.action,
                record_kind: e.record_kind,
                detail: e.detail,
            });
        }
        files.push(ExportedFile {
            person: p.to_string(),
            organisation: holder.to_string(),
            organisation_name: orgs.get(&holder.to_string()).cloned().unwrap_or_default(),
            tables,
            log,
        });
    }
    let mut tx = app.db.begin().await?;
    for f in &files {
        let holder: OrganisationId = f.organisation.parse().map_err(|_| Error::from(anyhow::anyhow!("organisation id")))?;
        audit::append(
            &mut tx,
            who.audit_entry(now, "access_request", "person", &f.person, holder)
                .with_detail(serde_json::json!({"asked_for": person.to_string(), "asked_of": org.to_string()})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(AccessExport {
        format: "veille-access-request/1".into(),
        person: person.to_string(),
        made_at: now.to_paris_rfc3339(),
        withheld_groups: withheld.into_iter().map(|g: FieldGroup| g.code().to_owned()).collect(),
        files,
    })
}

/// The value put in place of a column of a field group the caller does not hold.
pub const WITHHELD: &str = "[withheld]";

/// Replaces the values of the field groups the caller does not hold (the
/// declared group of a column, or a note's own group) by [`WITHHELD`]: those
/// are exported by an account holding the group (decision 82).
fn withhold(
    who: &Caller,
    table: &str,
    mut row: serde_json::Map<String, serde_json::Value>,
    withheld: &mut std::collections::BTreeSet<FieldGroup>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut groups: Vec<(&str, FieldGroup)> = Vec::new();
    if let Some(t) = veille_storage::personal::table(table) {
        groups.extend(t.columns.iter().filter_map(|c| c.group.map(|g| (c.name, g))));
    }
    if table == "person_notes" {
        if let Some(g) = row.get("field_group").and_then(|v| v.as_str()).and_then(FieldGroup::from_code) {
            groups.push(("body", g));
        }
    }
    for (column, g) in groups {
        if !who.actor.holds(g) {
            if let Some(v) = row.get_mut(column).filter(|v| !v.is_null()) {
                *v = serde_json::Value::String(WITHHELD.to_owned());
                withheld.insert(g);
            }
        }
    }
    row
}

/// The export as a readable document (the PDF and the page).
pub fn access_document(lang: Lang, export: &AccessExport) -> veille_documents::Document {
    let mut doc = veille_documents::Document::new(lang.t("rights.access.title"), lang.code());
    doc.paragraph(lang.t("rights.access.intro"));
    doc.facts([(lang.t("rights.access.person"), export.person.clone()), (lang.t("rights.access.made_at"), export.made_at.clone())]);
    if !export.withheld_groups.is_empty() {
        doc.paragraph(format!("{} {}", lang.t("rights.access.withheld"), export.withheld_groups.join(", ")));
    }
    for f in &export.files {
        doc.heading(format!("{} — {}", f.organisation_name, f.person));
        for t in &f.tables {
            doc.heading(format!("{} ({})", lang.t(&format!("rights.table.{}", t.table)), t.rows.len()));
            for row in &t.rows {
                doc.facts(row.iter().map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => "—".to_owned(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                }));
            }
        }
        doc.heading(format!("{} ({})", lang.t("rights.access.log"), f.log.len()));
        let rows = f
            .log
            .iter()
            .map(|e| {
                vec![
                    e.at.clone(),
                    e.account_name.clone().unwrap_or_else(|| "—".into()),
                    e.organisation.clone().unwrap_or_default(),
                    e.action.clone(),
                    e.record_kind.clone(),
                ]
            })
            .collect();
        doc.table(
            vec![
                lang.t("rights.access.log_at"),
                lang.t("rights.access.log_who"),
                lang.t("rights.access.log_org"),
                lang.t("rights.access.log_action"),
                lang.t("rights.access.log_kind"),
            ],
            rows,
        );
    }
    doc
}

/// The export as a PDF (drawn off the async threads).
pub async fn access_pdf(lang: Lang, export: &AccessExport) -> Result<Vec<u8>> {
    let doc = access_document(lang, export);
    let pdf = tokio::task::spawn_blocking(move || doc.to_pdf()).await.map_err(|e| anyhow::anyhow!("access request pdf: {e}"))?;
    Ok(pdf.map_err(|e| anyhow::anyhow!("access request pdf: {e}"))?)
}

// ---------------------------------------------------------------------------
// Erasure

/// What an erasure removed (counts per table).
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Erased {
    /// The file erased.
    pub person: String,
    /// Rows removed or emptied, per table.
    pub rows: std::collections::BTreeMap<String, u64>,
}

/// The grounds of an erasure (GDPR article 17.1 a–e), audited with it.
pub const ERASURE_GROUNDS: &[&str] = &["no_longer_needed", "consent_withdrawn", "objection", "unlawful", "legal_obligation"];

/// Erases a person file where the law allows (not under a legal hold):
/// every row about the person goes (their past participations become
/// anonymous tallies), the erasure is journalled (ids only) in the database
/// and in the journal file, and the duplicate index forgets them.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn erase(app: &App, who: &Caller, lang: Lang, id: &str, reason: &str) -> Result<std::result::Result<Erased, FieldErrors>> {
    let (person, org) = rights_over(app, who, id).await?;
    if !ERASURE_GROUNDS.contains(&reason) {
        let mut e = FieldErrors::new();
        e.add("erase_reason", lang.t("rights.reason_required"));
        return Ok(Err(e));
    }
    let held = store::holds(&app.db, &Scope::instance("legal holds"), Some(person)).await?.iter().any(|h| h.lifted_at.is_none());
    if held {
        let mut e = FieldErrors::new();
        e.add("erase_reason", lang.t("rights.erase.held"));
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let journal =
        Erasure { person_id: person.to_string(), organisation_id: org.to_string(), erased_at: now.as_micros(), erased_by: Some(who.account.id.to_string()) };
    let mut tx = app.db.begin().await?;
    let purged = store::purge(&mut tx, person, PurgeKind::Erase, now).await?;
    store::record_erasure(&mut tx, &journal).await?;
    audit::append(&mut tx, who.audit_entry(now, "erase", "person", person, org).with_detail(serde_json::json!({"ground": reason, "rows": purged.rows})))
        .await?;
    tx.commit().await?;
    append_journal_file(&app.config, &journal)?;
    crate::people::duplicates::forget(app).await;
    Ok(Ok(Erased { person: person.to_string(), rows: purged.rows.into_iter().map(|(k, v)| (k.to_owned(), v)).collect() }))
}

/// Appends an erasure to the journal file kept outside the database (and
/// its backups), so a backup taken before it is erased again on restore.
fn append_journal_file(config: &Config, e: &Erasure) -> Result<()> {
    let path = std::path::Path::new(&config.erasure_journal_file);
    if config.erasure_journal_file.trim().is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| anyhow::anyhow!("erasure journal {}: {err}", path.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|err| anyhow::anyhow!("erasure journal {}: {err}", path.display()))?;
    writeln!(file, "{}", serde_json::to_string(e).map_err(anyhow::Error::from)?).map_err(|err| anyhow::anyhow!("erasure journal {}: {err}", path.display()))?;
    file.sync_all().map_err(|err| anyhow::anyhow!("erasure journal {}: {err}", path.display()))?;
    Ok(())
}

/// The erasures of the journal file (none if it does not exist).
pub fn journal_file(config: &Config) -> anyhow::Result<Vec<Erasure>> {
    if config.erasure_journal_file.trim().is_empty() {
        return Ok(Vec::new());
    }
    let path = std::path::Path::new(&config.erasure_journal_file);
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::anyhow!("erasure journal {}: {e}", path.display())),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| anyhow::anyhow!("erasure journal {} line {}: {e}", path.display(), i + 1)))
        .collect()
}

/// Applies again every erasure of the journal (the restored database's table
/// and the journal file) to files that a restored backup brought back;
/// returns how many were erased again. `veille restore` calls it.
pub async fn reapply_erasures(db: &Db, config: &Config, now: Timestamp) -> anyhow::Result<usize> {
    let mut all = store::erasures(db).await?;
    all.extend(journal_file(config)?);
    let mut n = 0;
    let mut tx = db.begin().await?;
    for e in &all {
        let Ok(person) = e.person_id.parse::<PersonId>() else { continue };
        if store::exists(&mut tx, person).await? {
            store::purge(&mut tx, person, PurgeKind::Erase, now).await?;
            n += 1;
        }
        store::record_erasure(&mut tx, e).await?;
    }
    tx.commit().await?;
    Ok(n)
}

// ---------------------------------------------------------------------------
// The restricted archive

/// Why an archived file is read (a closed list: the reason is audited, and
/// free text there could name people).
pub const ARCHIVE_REASONS: &[&str] = &["request_of_person", "legal_obligation", "litigation", "continuity_of_care"];

/// What the search of the restricted archive was given.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ArchiveSearch {
    /// A pseudonym, alias or civil name, or part of one.
    pub text: String,
    /// Why the archive is read (one of [`ARCHIVE_REASONS`]).
    pub reason: String,
}

/// At most this many archived files answer one search: a search is for one
/// person, not for browsing the archive.
const ARCHIVE_MATCHES: i64 = 20;

/// Whether an account of this role may read its organisation's restricted
/// archive: its coordinators and administrators.
pub fn reads_archive(role: Role) -> bool {
    matches!(role, Role::Coordinator | Role::OrgAdmin)
}

/// Searches the caller's organisation's restricted archive for a person who
/// comes back, a request of theirs or a legal claim: the coordinators and
/// administrators only, with a reason from [`ARCHIVE_REASONS`] and at least
/// two characters of a name; every file shown is audited (`read_archive`,
/// with the reason). The search text stays out of URLs and of the audit log.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn search_archive(
    app: &App,
    who: &Caller,
    lang: Lang,
    q: &ArchiveSearch,
) -> Result<std::result::Result<Vec<veille_storage::people::Person>, FieldErrors>> {
    if !reads_archive(who.actor.role) {
        return Err(Error::forbidden());
    }
    let text = q.text.trim();
    let mut e = FieldErrors::new();
    if text.chars().count() < 2 {
        e.add("text", lang.t("rights.archive.text_required"));
    } else if text.chars().count() > 100 {
        e.add("text", lang.t("rights.archive.text_too_long"));
    }
    if !ARCHIVE_REASONS.contains(&q.reason.as_str()) {
        e.add("reason", lang.t("rights.reason_required"));
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let org = who.actor.organisation;
    let found = veille_storage::people::archived_matching(&app.db, &Scope::instance("restricted archive"), org, text, ARCHIVE_MATCHES).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    for p in &found {
        audit::append(&mut tx, who.audit_entry(now, "read_archive", "person", p.id, org).with_detail(serde_json::json!({"reason": q.reason}))).await?;
    }
    tx.commit().await?;
    Ok(Ok(found))
}
