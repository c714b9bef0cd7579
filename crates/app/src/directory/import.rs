//! The data·inclusion import: read the files, compare each valid record with
//! the stored directory (keyed by source and id; an unchanged record is
//! recognised by the hash of what it says), then — unless it is a dry run or a
//! record was refused — write every creation and update in one transaction
//! with its audit entry. Run by an account on the administration page
//! ([`import`], the instance administrator only), or by the instance itself
//! ([`run_as_instance`]: `veille import data-inclusion`, the demo loader).

use std::collections::{HashMap, HashSet};

use anyhow::Context;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use veille_domain::{Action, OrganisationId, Resource, ResourceKind, ServiceId, StructureId, TerritoryId, Timestamp, UserId};
use veille_geo::{LonLat, TerritoryIndex};
use veille_storage::directory::{self as store, Known, LocalFields, NewService, NewStructure, OWN_SOURCE};
use veille_storage::{audit, Db};

use crate::error::Result;
use crate::{App, Caller, Lang};

use super::datainclusion::{self, Content, Kind, Problem};

/// How to run an import.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Say what would change, write nothing.
    pub dry_run: bool,
    /// Write the valid records even if others were refused.
    pub skip_refused: bool,
}

/// Structures and services counted together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Pair {
    /// Structures.
    pub structures: usize,
    /// Services.
    pub services: usize,
}

impl Pair {
    fn add(&mut self, kind: Kind) {
        match kind {
            Kind::Structure => self.structures += 1,
            Kind::Service => self.services += 1,
        }
    }
}

/// What an import did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Counts {
    /// New entries.
    pub created: Pair,
    /// Entries whose record changed.
    pub updated: Pair,
    /// Entries whose record is the same as stored.
    pub unchanged: Pair,
    /// Records refused.
    pub refused: Pair,
}

/// The result of an import.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The counts.
    pub counts: Counts,
    /// Why records were refused, by file and line.
    pub problems: Vec<Problem>,
    /// What was accepted with a reservation.
    pub warnings: Vec<Problem>,
    /// Whether anything was written.
    pub written: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

fn hash(value: &impl serde::Serialize) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(value).unwrap_or_default()))
}

enum Change<Id> {
    Create,
    Update(Id, i64),
    Unchanged(Id),
}

/// What a record changes, counted.
fn change<Id: Copy>(known: Option<&Known<Id>>, hash: &str, kind: Kind, counts: &mut Counts) -> Change<Id> {
    let (c, count) = match known {
        None => (Change::Create, &mut counts.created),
        Some(k) if k.import_hash == hash => (Change::Unchanged(k.id), &mut counts.unchanged),
        Some(k) => (Change::Update(k.id, k.version), &mut counts.updated),
    };
    count.add(kind);
    c
}

fn refuse(file: &str, line: usize, kind: Kind, id: &str, field: &str, code: &'static str) -> Problem {
    Problem { file: file.to_owned(), line, kind: Some(kind), record: Some(id.to_owned()), field: Some(field.to_owned()), code, args: vec![] }
}

/// The territory of a point.
fn territory(index: &TerritoryIndex<TerritoryId>, lon: Option<f64>, lat: Option<f64>) -> Option<TerritoryId> {
    let p = LonLat::new(lon?, lat?).ok()?;
    index.locate(p).copied()
}

/// Whether `who` may import (imported entries are the instance's: its
/// administrator).
pub fn require(who: &Caller) -> Result<()> {
    who.require(Action::Update, &Resource::new(ResourceKind::Directory))
}

/// Imports data·inclusion files (name, bytes) into the directory for an
/// account (the administration page), at the app clock's instant; audited
/// under its name.
#[tracing::instrument(skip_all, fields(user = %who.account.id, files = files.len(), dry_run = options.dry_run))]
pub async fn import(app: &App, who: &Caller, files: &[(String, Vec<u8>)], options: Options) -> Result<Outcome> {
    require(who)?;
    let index = app.territories.read().await;
    Ok(run(&app.db, &index, files, options, Some(who.author()), app.clock.now()).await?)
}

/// Imports data·inclusion files for the instance itself — the command line
/// run by whoever operates it, the demo loader — with the territories stored
/// in `db`; audited with no account.
#[tracing::instrument(skip_all, fields(files = files.len(), dry_run = options.dry_run))]
pub async fn run_as_instance(db: &Db, files: &[(String, Vec<u8>)], options: Options, now: Timestamp) -> anyhow::Result<Outcome> {
    let index = crate::territories::index_of(db).await?;
    run(db, &index, files, options, None, now).await
}

async fn run(
    db: &Db,
    index: &TerritoryIndex<TerritoryId>,
    files: &[(String, Vec<u8>)],
    options: Options,
    actor: Option<(UserId, OrganisationId)>,
    now: Timestamp,
) -> anyhow::Result<Outcome> {
    let today: NaiveDate = now.to_datetime().with_timezone(&chrono_tz::Europe::Paris).date_naive();
    let mut content = Content::default();
    for (name, bytes) in files {
        datainclusion::read(name, bytes, today, &mut content);
    }
    let Content { structures, services, mut problems, warnings, refused } = content;
    let mut counts = Counts { refused: Pair { structures: refused.0, services: refused.1 }, ..Default::default() };

    // Records of veille's own source, and a second record with the same key, are refused.
    let mut seen: HashSet<(Kind, String, String)> = HashSet::new();
    let mut keep = |kind: Kind, file: &str, line: usize, source: &str, id: &str, problems: &mut Vec<Problem>, counts: &mut Counts| {
        let field = if source == OWN_SOURCE {
            Some(("source", "reserved_source"))
        } else if !seen.insert((kind, source.to_owned(), id.to_owned())) {
            Some(("id", "duplicate_record"))
        } else {
            None
        };
        if let Some((field, code)) = field {
            problems.push(refuse(file, line, kind, id, field, code));
            counts.refused.add(kind);
            return false;
        }
        true
    };
    let structures: Vec<_> = structures.into_iter().filter(|s| keep(Kind::Structure, &s.file, s.line, &s.source, &s.id, &mut problems, &mut counts)).collect();
    let services: Vec<_> = services.into_iter().filter(|s| keep(Kind::Service, &s.file, s.line, &s.source, &s.id, &mut problems, &mut counts)).collect();

    let mut sources: Vec<String> = structures.iter().map(|s| s.source.clone()).chain(services.iter().map(|s| s.source.clone())).collect();
    sources.sort();
    sources.dedup();
    let known_structures = store::known_structures(db, &sources).await?;
    let known_services = store::known_services(db, &sources).await?;

    // Structures referred to by services: in these files, or already stored.
    let in_files: HashSet<(String, String)> = structures.iter().map(|s| (s.source.clone(), s.id.clone())).collect();
    let refused_here: HashSet<(String, String)> = problems
        .iter()
        .filter(|p| p.kind == Some(Kind::Structure))
        .filter_map(|p| p.record.clone())
        .flat_map(|id| sources.iter().map(move |s| (s.clone(), id.clone())))
        .collect();

    let mut structure_plan = Vec::new();
    for s in structures {
        let h = hash(&s.fields);
        let c = change(known_structures.get(&(s.source.clone(), s.id.clone())), &h, Kind::Structure, &mut counts);
        structure_plan.push((s, h, c));
    }
    let mut service_plan = Vec::new();
    for s in services {
        let key = (s.source.clone(), s.structure_id.clone());
        if !in_files.contains(&key) && !known_structures.contains_key(&key) {
            let code = if refused_here.contains(&key) { "structure_refused" } else { "unknown_structure" };
            problems.push(refuse(&s.file, s.line, Kind::Service, &s.id, "structure_id", code));
            counts.refused.services += 1;
            continue;
        }
        let h = hash(&(&s.structure_id, &s.fields));
        let c = change(known_services.get(&(s.source.clone(), s.id.clone())), &h, Kind::Service, &mut counts);
        service_plan.push((s, h, c));
    }
    problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));

    let refused_any = counts.refused != Pair::default();
    let write = !options.dry_run && (!refused_any || options.skip_refused);
    let mut outcome = Outcome { counts, problems, warnings, written: false, dry_run: options.dry_run };
    if !write {
        return Ok(outcome);
    }
    let nothing_to_do = outcome.counts.created == Pair::default() && outcome.counts.updated == Pair::default();
    let mut tx = db.begin().await?;
    let mut ids: HashMap<(String, String), StructureId> = known_structures.iter().map(|(k, v)| (k.clone(), v.id)).collect();
    for (s, h, c) in &structure_plan {
        let t = territory(index, s.fields.lon, s.fields.lat);
        match c {
            Change::Create => {
                let id = StructureId::new();
                let new = NewStructure { source: &s.source, source_id: &s.id, organisation: None, fields: &s.fields, territory: t, import_hash: h };
                store::create_structure(&mut tx, id, &new, now).await.with_context(|| format!("creating structure {}", s.id))?;
                ids.insert((s.source.clone(), s.id.clone()), id);
            }
            Change::Update(id, version) => {
                store::update_structure(&mut tx, *id, &s.fields, t, h, *version, now).await.with_context(|| format!("updating structure {}", s.id))?
            }
            Change::Unchanged(_) => {}
        }
    }
    for (s, h, c) in &service_plan {
        let Some(structure) = ids.get(&(s.source.clone(), s.structure_id.clone())).copied() else { continue };
        let t = territory(index, s.fields.lon, s.fields.lat);
        match c {
            Change::Create => {
                let local = LocalFields::default();
                let new = NewService { structure, source: &s.source, source_id: &s.id, fields: &s.fields, local: &local, territory: t, import_hash: h };
                store::create_service(&mut tx, ServiceId::new(), &new, now).await.with_context(|| format!("creating service {}", s.id))?;
            }
            Change::Update(id, version) => {
                store::update_service(&mut tx, *id, structure, &s.fields, t, h, *version, now).await.with_context(|| format!("updating service {}", s.id))?
            }
            Change::Unchanged(_) => {}
        }
    }
    if !nothing_to_do {
        let detail = serde_json::json!({
            "sources": sources,
            "files": files.len(),
            "created": outcome.counts.created,
            "updated": outcome.counts.updated,
            "unchanged": outcome.counts.unchanged,
            "refused": outcome.counts.refused,
            "format": "data-inclusion-v1",
        });
        audit::append(&mut tx, audit::NewEntry::about(now, actor, "import", "directory", None, None).with_detail(detail)).await?;
    }
    tx.commit().await?;
    outcome.written = !nothing_to_do;
    Ok(outcome)
}

/// The summary lines of an outcome in a language (command line and page).
pub fn summary(o: &Outcome, lang: Lang) -> Vec<String> {
    let line = |key: &str, p: &Pair| {
        let structures = lang.tn("directory.import.n_structures", p.structures as i64, &[]);
        let services = lang.tn("directory.import.n_services", p.services as i64, &[]);
        lang.tf(key, &[("structures", &structures), ("services", &services)])
    };
    let c = &o.counts;
    vec![
        line("directory.import.created", &c.created),
        line("directory.import.updated", &c.updated),
        line("directory.import.unchanged", &c.unchanged),
        line("directory.import.refused", &c.refused),
    ]
}
