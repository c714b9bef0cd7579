//! Spreadsheet imports (decision 86): people, encounters, and sites with their
//! observations, from the XLSX or CSV files field teams keep today. A file is
//! read ([`sheet`]), its columns mapped to fields ([`mapping`]), each line
//! turned into what the form would send and checked by **the** validation of
//! that form (`people::input`, `sites::input`) with the same permission checks;
//! then — unless it is a dry run, or a line was refused and refused lines are
//! not to be skipped — every good line is written in one transaction, each
//! record audited as the form audits it, with one `import` entry naming the
//! counts. Each written line's key (a salted hash of its external id, or of the
//! whole line) is kept, so importing the same file again changes nothing.

pub mod mapping;
pub mod sheet;

mod encounters;
mod people;
mod sites;

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};
use veille_domain::{Action, OrganisationId, Resource, ResourceKind, Role};
use veille_storage::{audit, imports, Tx};

use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

use mapping::Field;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Person files.
    People,
    /// Encounters with people already recorded.
    Encounters,
    /// Sites and what was observed there.
    Sites,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::People, Kind::Encounters, Kind::Sites];
    /// The code (`people`, `encounters`, `sites`).
    pub fn code(self) -> &'static str {
        match self {
            Kind::People => "people",
            Kind::Encounters => "encounters",
            Kind::Sites => "sites",
        }
    }
    /// The kind of a code.
    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }
    /// The fields a file of this kind may fill.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Kind::People => mapping::PEOPLE,
            Kind::Encounters => mapping::ENCOUNTERS,
            Kind::Sites => mapping::SITES,
        }
    }
    /// The kind of record whose keys are kept.
    fn record(self) -> &'static str {
        match self {
            Kind::People => "person",
            Kind::Encounters => "encounter",
            Kind::Sites => "site_line",
        }
    }
}

/// How to run an import.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Say what would be written and what is refused; write nothing.
    pub dry_run: bool,
    /// Write the good lines even if others are refused.
    pub skip_refused: bool,
    /// Columns mapped by the user (`column`, `field`; field `-` leaves the column out).
    pub mapping: Vec<(String, String)>,
}

/// A refused line: where (the line number the spreadsheet shows, the column),
/// and why, in the importing account's language.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The line.
    pub line: usize,
    /// The column's header (or the field's name when no column fills it).
    pub column: String,
    /// What is wrong.
    pub message: String,
}

impl Refusal {
    /// One line of text, in a language.
    pub fn text(&self, lang: Lang) -> String {
        lang.tf("imports.refusal", &[("line", &self.line.to_string()), ("column", &self.column), ("message", &self.message)])
    }
}

/// Lines counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Lines written (or, in a dry run, to write).
    pub created: usize,
    /// Lines an earlier import already wrote (left as they are).
    pub already: usize,
    /// Lines refused.
    pub refused: usize,
}

/// What an import did (or, in a dry run, would do).
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The counts.
    pub counts: Counts,
    /// The refused lines, each field that is wrong.
    pub refusals: Vec<Refusal>,
    /// Why the whole file was refused, if it was.
    pub file_error: Option<String>,
    /// Each column of the file and the field it filled (none: left out).
    pub columns: Vec<(String, Option<&'static str>)>,
    /// Whether anything was written.
    pub written: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl Outcome {
    /// Whether a line (or the file) was refused.
    pub fn refused_any(&self) -> bool {
        self.file_error.is_some() || self.counts.refused > 0
    }

    /// The summary in a language: what happened, then the counts (printed
    /// once by the command line, shown by the page).
    pub fn summary(&self, kind: Kind, lang: Lang) -> Vec<String> {
        let head = if self.file_error.is_some() {
            "imports.head.file_refused"
        } else if self.dry_run {
            "imports.head.dry_run"
        } else if self.written {
            "imports.head.written"
        } else if self.counts.refused > 0 && self.counts.created > 0 {
            "imports.head.refused"
        } else {
            "imports.head.nothing"
        };
        let c = &self.counts;
        vec![
            lang.tf(head, &[("kind", &lang.t(&format!("imports.kind.{}", kind.code())))]),
            lang.tn("imports.count.created", c.created as i64, &[]),
            lang.tn("imports.count.already", c.already as i64, &[]),
            lang.tn("imports.count.refused", c.refused as i64, &[]),
        ]
    }
}

/// Whether `who` may import files of `kind` into its organisation: its
/// coordinators and administrators, who may create such records.
pub fn require(who: &Caller, kind: Kind) -> Result<()> {
    if !matches!(who.actor.role, Role::OrgAdmin | Role::Coordinator) {
        return Err(Error::forbidden());
    }
    let resource = match kind {
        Kind::People | Kind::Encounters => Resource::new(ResourceKind::Record).owned_by(who.account.organisation),
        Kind::Sites => Resource::new(ResourceKind::Site).owned_by(who.account.organisation),
    };
    who.require(Action::Read, &resource)?;
    if kind != Kind::Sites {
        who.require(Action::Create, &resource)?;
    }
    Ok(())
}

/// Whether `who` may import anything (the page's link).
pub fn can_import(who: &Caller) -> bool {
    Kind::ALL.iter().any(|k| require(who, *k).is_ok())
}

/// The key of a line: its external id when it has one, else every cell of
/// the line by column, normalised — salted with the organisation and kind,
/// hashed.
fn key_of(org: OrganisationId, kind: Kind, external_id: Option<&str>, headers: &[String], cells: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(org.to_string());
    h.update([0x1f]);
    h.update(kind.code());
    h.update([0x1f]);
    let tag = match external_id {
        Some(id) => {
            h.update(mapping::normalise(id));
            "ext"
        }
        None => {
            let mut pairs: Vec<(String, String)> = headers
                .iter()
                .zip(cells.iter().chain(std::iter::repeat(&String::new())))
                .map(|(head, cell)| (mapping::normalise(head), cell.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()))
                .filter(|(_, c)| !c.is_empty())
                .collect();
            pairs.sort();
            for (head, cell) in pairs {
                h.update(head);
                h.update([0x1e]);
                h.update(cell);
                h.update([0x1f]);
            }
            "row"
        }
    };
    format!("{tag}:{}", hex::encode(h.finalize()))
}

/// One line of a file, as the kinds read it.
pub(crate) struct Line<'a> {
    /// The line number the spreadsheet shows.
    pub number: usize,
    /// Field → (cell, header of its column).
    pub values: BTreeMap<&'static str, (String, &'a str)>,
}

impl Line<'_> {
    /// The cell filling a field ("" when none).
    pub fn get(&self, field: &str) -> &str {
        self.values.get(field).map(|(v, _)| v.as_str()).unwrap_or("")
    }
}

/// The refusals of a line from the errors of a form, each named by the
/// column that fills its field (`aliases`: form field → import fields).
fn refusals_of(line: &Line<'_>, errors: &FieldErrors, columns: &[(String, Option<&'static str>)], aliases: &[(&str, &[&str])]) -> Vec<Refusal> {
    errors
        .all()
        .into_iter()
        .map(|(field, message)| {
            let candidates: Vec<&str> = aliases.iter().find(|(f, _)| *f == field).map(|(_, a)| a.to_vec()).unwrap_or_else(|| vec![field.as_str()]);
            let column = candidates
                .iter()
                .find_map(|c| line.values.get(c).map(|(_, h)| h.to_string()))
                .or_else(|| candidates.iter().find_map(|c| columns.iter().find(|(_, f)| f == &Some(*c)).map(|(h, _)| h.clone())))
                .unwrap_or_else(|| field.clone());
            Refusal { line: line.number, column, message }
        })
        .collect()
}

/// What a kind checked of a line, ready to write.
pub(crate) enum Plan {
    /// A person file.
    Person(Box<crate::people::input::ValidPerson>),
    /// An encounter.
    Encounter(Box<crate::people::encounters::Checked>),
    /// A site (found or new) and what was observed there.
    Site(Box<sites::SitePlan>),
}

/// Imports one file of `kind` for `who`, into its organisation.
#[tracing::instrument(skip_all, fields(user = %who.account.id, kind = kind.code(), dry_run = options.dry_run))]
pub async fn import(app: &App, who: &Caller, lang: Lang, kind: Kind, file_name: &str, bytes: &[u8], options: &Options) -> Result<Outcome> {
    require(who, kind)?;
    let mut outcome = Outcome { dry_run: options.dry_run, ..Default::default() };
    let sheets = match sheet::read(file_name, bytes) {
        Ok(s) => s,
        Err(sheet::SheetError::Empty) => {
            outcome.file_error = Some(lang.t("imports.error.empty"));
            return Ok(outcome);
        }
        Err(sheet::SheetError::Unreadable(detail)) => {
            outcome.file_error = Some(lang.tf("imports.error.unreadable", &[("detail", &detail)]));
            return Ok(outcome);
        }
    };
    // The first sheet whose headers name a field of this kind.
    let fields = kind.fields();
    let sheet = sheets.iter().find(|s| mapping::columns(&s.headers, fields, &[]).is_ok_and(|c| c.iter().any(Option::is_some))).unwrap_or(&sheets[0]);
    let columns = match mapping::columns(&sheet.headers, fields, &options.mapping) {
        Ok(c) => c,
        Err(e) => {
            outcome.file_error = Some(e.message(lang, fields));
            return Ok(outcome);
        }
    };
    outcome.columns = sheet.headers.iter().cloned().zip(columns.iter().map(|c| c.map(|f| f.name))).collect();
    let org = who.account.organisation;
    let known = imports::known(&app.db, org, kind.record()).await?;
    let mut context = Context::load(app, who, kind).await?;
    let mut in_file: HashMap<String, usize> = HashMap::new();
    let mut plans: Vec<(String, Plan)> = Vec::new();
    for (number, cells) in &sheet.rows {
        let line = Line { number: *number, values: mapping::values(&columns, &sheet.headers, cells) };
        let key = key_of(org, kind, line.values.get("external_id").map(|(v, _)| v.as_str()), &sheet.headers, cells);
        if known.contains_key(&key) {
            outcome.counts.already += 1;
            continue;
        }
        if let Some(first) = in_file.get(&key) {
            let column = line.values.get("external_id").map(|(_, h)| h.to_string()).unwrap_or_default();
            outcome.refusals.push(Refusal { line: line.number, column, message: lang.tf("imports.error.same_line", &[("line", &first.to_string())]) });
            outcome.counts.refused += 1;
            continue;
        }
        in_file.insert(key.clone(), line.number);
        let checked = match kind {
            Kind::People => people::check(app, who, lang, &line, &context).await?,
            Kind::Encounters => encounters::check(app, who, lang, &line, &context).await?,
            Kind::Sites => sites::check(app, who, lang, &line, &mut context).await?,
        };
        match checked {
            Ok(plan) => {
                outcome.counts.created += 1;
                plans.push((key, plan));
            }
            Err(errors) => {
                outcome.counts.refused += 1;
                outcome.refusals.extend(refusals_of(&line, &errors, &outcome.columns, kind_aliases(kind)));
            }
        }
    }
    let write = !options.dry_run && (outcome.counts.refused == 0 || options.skip_refused) && !plans.is_empty();
    if !write {
        return Ok(outcome);
    }
    let now = app.clock.now();
    let via = "import";
    let mut tx = app.db.begin().await?;
    let mut new_sites = HashMap::new();
    for (key, plan) in &plans {
        let id = write_plan(&mut tx, app, who, plan, via, &mut new_sites).await?;
        imports::remember(&mut tx, org, kind.record(), key, &id, who.account.id, now).await?;
    }
    let detail = serde_json::json!({
        "kind": kind.code(), "format": if sheet::is_workbook(file_name, bytes) { "xlsx" } else { "csv" },
        "created": outcome.counts.created, "already": outcome.counts.already, "refused": outcome.counts.refused,
    });
    audit::append(&mut tx, who.audit_entry(now, "import", kind.record(), "", org).with_detail(detail)).await?;
    tx.commit().await?;
    outcome.written = true;
    Ok(outcome)
}

/// Form fields whose errors belong to other import fields.
fn kind_aliases(kind: Kind) -> &'static [(&'static str, &'static [&'static str])] {
    match kind {
        Kind::People => &[
            ("consent_purpose", &["consent"]),
            ("consent_language", &["consent"]),
            ("consent_given_at", &["consent"]),
            ("age", &["age", "birth_year"]),
            ("birth_year", &["birth_year", "age"]),
        ],
        Kind::Encounters => &[("people", &["person", "person_id"]), ("lat", &["lat", "lon", "place"]), ("at", &["at", "time"])],
        Kind::Sites => &[("lat", &["lat", "lon"]), ("team_id", &["team"])],
    }
}

async fn write_plan(
    tx: &mut Tx,
    app: &App,
    who: &Caller,
    plan: &Plan,
    via: &str,
    new_sites: &mut HashMap<String, veille_storage::sites::Site>,
) -> Result<String> {
    Ok(match plan {
        Plan::Person(valid) => crate::people::files::write_new(tx, app, who, valid, via).await?.to_string(),
        Plan::Encounter(checked) => crate::people::encounters::write(tx, app, who, checked, via).await?.0.to_string(),
        Plan::Site(site) => sites::write(tx, app, who, site, new_sites).await?,
    })
}

/// What the kinds look up once per file: territories, the teams of the
/// organisation, the people and sites the account reads.
pub(crate) struct Context {
    /// The territories of the instance.
    pub territories: Vec<veille_storage::territories::Territory>,
    /// The territories the account may place a person in.
    pub writable: Vec<veille_domain::TerritoryId>,
    /// The people the account reads (encounters).
    pub people: Vec<crate::people::Person>,
    /// Ids of people imported before, by key of their external id.
    pub people_keys: HashMap<String, String>,
    /// The sites the account reads (sites).
    pub sites: Vec<veille_storage::sites::Site>,
    /// Site keys already kept, and those planned in this file.
    pub site_keys: HashMap<String, String>,
    /// The teams of the organisation (sites).
    pub teams: Vec<veille_storage::teams::Team>,
}

impl Context {
    async fn load(app: &App, who: &Caller, kind: Kind) -> Result<Context> {
        let org = who.account.organisation;
        let territories = veille_storage::territories::list(&app.db).await?;
        let writable = territories.iter().filter(|t| who.actor.territories.covers(Some(t.id))).map(|t| t.id).collect();
        let (people, people_keys) = if kind == Kind::Encounters {
            (crate::people::files::list(app, who, None).await?, imports::known(&app.db, org, "person").await?)
        } else {
            Default::default()
        };
        let (sites, site_keys, teams) = if kind == Kind::Sites {
            (crate::sites::readable_sites(app, who).await?, imports::known(&app.db, org, "site").await?, veille_storage::teams::list(&app.db, Some(org)).await?)
        } else {
            Default::default()
        };
        Ok(Context { territories, writable, people, people_keys, sites, site_keys, teams })
    }

    /// The key a person's external id was kept under.
    pub fn person_key(org: OrganisationId, external_id: &str) -> String {
        key_of(org, Kind::People, Some(external_id), &[], &[])
    }

    /// The key of a site: its external id, else its name.
    pub fn site_key(org: OrganisationId, line: &Line<'_>) -> String {
        let id = match line.get("external_id") {
            "" => format!("name:{}", mapping::normalise(line.get("name"))),
            id => id.to_owned(),
        };
        key_of(org, Kind::Sites, Some(&id), &[], &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_spacing_case_and_column_order_but_not_the_organisation() {
        let org = OrganisationId::new();
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = key_of(org, Kind::People, None, &h(&["Pseudonyme", "Âge"]), &h(&["Momo ", "45"]));
        let b = key_of(org, Kind::People, None, &h(&["age", "pseudonyme"]), &h(&["45", "momo"]));
        assert_eq!(a, b);
        assert_ne!(a, key_of(OrganisationId::new(), Kind::People, None, &h(&["Pseudonyme", "Âge"]), &h(&["Momo", "45"])));
        assert_ne!(a, key_of(org, Kind::People, None, &h(&["Pseudonyme", "Âge"]), &h(&["Momo", "46"])));
        assert!(key_of(org, Kind::People, Some("A-12"), &[], &[]).starts_with("ext:"));
    }
}
