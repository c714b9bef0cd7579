//! Exports of lists (decision 91): one mechanism every list uses. A list
//! declares its columns — a code, a catalogue key for its label, and the
//! field group a personal column needs — and the rows of what it shows on
//! screen, read through the same scoped storage queries with the same
//! filters. The caller chooses columns and a format (CSV or XLSX); a column
//! of a field group the permission function does not grant is neither offered
//! nor written, even when asked for by URL. Every export is audited: which
//! list, which columns, how many rows, never the values.
//!
//! Identifying data (pseudonyms, names, phones, contact details) and free
//! text are never columns: an export leaves the application and its audited
//! reads, so it carries codes, dates, counts and record ids only.

use veille_domain::{Action, FieldGroup, Resource, ResourceKind, Timestamp};
use veille_storage::audit;

use crate::error::{Error, Result};
use crate::reports::staff::{QueueQuery, CSV_MAX};
use crate::sites::ListFilter;
use crate::{App, Caller, Lang};

/// Rows written per chunk of a streamed CSV (the page's counter moves by
/// this many lines).
pub const PAGE_ROWS: usize = 200;

/// A list that can be exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    /// The report queue.
    Reports,
    /// People (pseudonymised).
    People,
    /// Encounters.
    Encounters,
    /// Referrals sent and received.
    Referrals,
    /// Sites.
    Sites,
    /// Complex cases.
    Cases,
    /// Shelter stays.
    Stays,
    /// Rounds (maraudes).
    Rounds,
}

impl List {
    /// Every list.
    pub const ALL: [List; 8] = [List::Reports, List::People, List::Encounters, List::Referrals, List::Sites, List::Cases, List::Stays, List::Rounds];

    /// Its code (in the export's URL and the audit entry).
    pub fn code(self) -> &'static str {
        match self {
            List::Reports => "reports",
            List::People => "people",
            List::Encounters => "encounters",
            List::Referrals => "referrals",
            List::Sites => "sites",
            List::Cases => "cases",
            List::Stays => "stays",
            List::Rounds => "rounds",
        }
    }

    /// The list of a code.
    pub fn from_code(code: &str) -> Option<List> {
        List::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The record kind its audit entry names.
    fn record_kind(self) -> &'static str {
        match self {
            List::Reports => "report",
            List::People => "person",
            List::Encounters => "encounter",
            List::Referrals => "referral",
            List::Sites => "site",
            List::Cases => "case",
            List::Stays => "stay",
            List::Rounds => "round",
        }
    }

    /// The downloaded file's name, without extension (French: the instance's language).
    pub fn file_stem(self) -> &'static str {
        match self {
            List::Reports => "signalements",
            List::People => "personnes",
            List::Encounters => "rencontres",
            List::Referrals => "orientations",
            List::Sites => "sites",
            List::Cases => "situations-complexes",
            List::Stays => "sejours",
            List::Rounds => "maraudes",
        }
    }

    /// Its columns, in the order they are written.
    pub fn columns(self) -> &'static [Column] {
        match self {
            List::Reports => REPORT_COLUMNS,
            List::People => PEOPLE_COLUMNS,
            List::Encounters => ENCOUNTER_COLUMNS,
            List::Referrals => REFERRAL_COLUMNS,
            List::Sites => SITE_COLUMNS,
            List::Cases => CASE_COLUMNS,
            List::Stays => STAY_COLUMNS,
            List::Rounds => ROUND_COLUMNS,
        }
    }
}

/// A column a list declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its code (CSV header, URL value).
    pub code: &'static str,
    /// Its label's catalogue key.
    pub label: &'static str,
    /// The field group a reader needs (a personal column), if any.
    pub group: Option<FieldGroup>,
}

const fn col(code: &'static str, label: &'static str) -> Column {
    Column { code, label, group: None }
}

const fn personal(code: &'static str, label: &'static str, group: FieldGroup) -> Column {
    Column { code, label, group: Some(group) }
}

const REPORT_COLUMNS: &[Column] = &[
    col("reference", "exports.col.reference"),
    col("received_at", "exports.col.received_at"),
    col("level", "exports.col.level"),
    col("computed_level", "exports.col.computed_level"),
    col("reasons", "exports.col.reasons"),
    col("situations", "exports.col.situations"),
    col("flags", "exports.col.flags"),
    col("status", "exports.col.status"),
    col("outcome", "exports.col.outcome"),
    col("territory", "exports.col.territory"),
    col("source", "exports.col.source"),
    col("channel", "exports.col.channel"),
    col("adults", "exports.col.adults"),
    col("children", "exports.col.children"),
    col("tents", "exports.col.tents"),
    col("acknowledged_at", "exports.col.acknowledged_at"),
    col("acknowledge_due", "exports.col.acknowledge_due"),
    col("answered_at", "exports.col.answered_at"),
    col("answer_due", "exports.col.answer_due"),
    col("overdue", "exports.col.overdue"),
];

const PEOPLE_COLUMNS: &[Column] = &[
    col("id", "exports.col.id"),
    col("birth_year", "exports.col.birth_year"),
    col("age_band", "exports.col.age_band"),
    col("gender", "exports.col.gender"),
    col("nationality", "exports.col.nationality"),
    col("situation", "exports.col.situation"),
    col("languages", "exports.col.languages"),
    col("needs", "exports.col.needs"),
    col("vulnerabilities", "exports.col.vulnerabilities"),
    col("territory", "exports.col.territory"),
    col("active", "exports.col.active"),
    col("exit_reason", "exports.col.exit_reason"),
    col("last_contact_at", "exports.col.last_contact_at"),
    personal("health_flags", "exports.col.health_flags", FieldGroup::Health),
];

const ENCOUNTER_COLUMNS: &[Column] = &[
    col("id", "exports.col.id"),
    col("at", "exports.col.at"),
    col("territory", "exports.col.territory"),
    col("people", "exports.col.people"),
    col("unidentified", "exports.col.unidentified"),
    col("actions", "exports.col.actions"),
    col("follow_up", "exports.col.follow_up"),
    col("site", "exports.col.site"),
    col("round", "exports.col.round"),
    personal("care", "exports.col.care", FieldGroup::Health),
];

const REFERRAL_COLUMNS: &[Column] = &[
    col("id", "exports.col.id"),
    col("direction", "exports.col.direction"),
    col("person", "exports.col.person"),
    col("status", "exports.col.status"),
    col("partner", "exports.col.partner"),
    col("consent_confirmed", "exports.col.consent_confirmed"),
    col("urgent", "exports.col.urgent"),
    col("created_at", "exports.col.created_at"),
    col("sent_at", "exports.col.sent_at"),
    col("answer_due", "exports.col.answer_due"),
    col("answered_at", "exports.col.answered_at"),
    col("outcome_at", "exports.col.outcome_at"),
];

const SITE_COLUMNS: &[Column] = &[
    col("id", "exports.col.id"),
    col("name", "exports.col.name"),
    col("kind", "exports.col.kind"),
    col("status", "exports.col.status"),
    col("territory", "exports.col.territory"),
    col("lat", "exports.col.lat"),
    col("lon", "exports.col.lon"),
    col("land_owner", "exports.col.land_owner"),
    col("heatwave", "exports.col.heatwave"),
    col("people", "exports.col.people_estimated"),
    col("last_seen", "exports.col.last_seen"),
    col("created_at", "exports.col.created_at"),
    col("closed_at", "exports.col.closed_at"),
];

// A case's title is free text: not a column.
const CASE_COLUMNS: &[Column] = &[
    col("id", "exports.col.id"),
    col("origin", "exports.col.origin"),
    col("status", "exports.col.status"),
    col("outcome", "exports.col.outcome"),
    col("territory", "exports.col.territory"),
    col("review_on", "exports.col.review_on"),
    col("created_at", "exports.col.created_at"),
    col("closed_at", "exports.col.closed_at"),
];

// Who a stay is for in words, the booking reference and the note are not columns.
const STAY_COLUMNS: &[Column] = &[
    col("id", "exports.col.id"),
    col("facility", "exports.col.facility"),
    col("territory", "exports.col.territory"),
    col("person", "exports.col.person"),
    col("household", "exports.col.household"),
    col("places", "exports.col.places"),
    col("status", "exports.col.status"),
    col("from", "exports.col.from"),
    col("to", "exports.col.to"),
    col("nights", "exports.col.nights"),
    col("entered_at", "exports.col.entered_at"),
    col("left_at", "exports.col.left_at"),
    col("destination", "exports.col.destination"),
    col("night_cost", "exports.col.night_cost"),
    col("created_at", "exports.col.created_at"),
];

// What the mediations were about and the handover are free text: not columns.
const ROUND_COLUMNS: &[Column] = &[
    col("id", "exports.col.id"),
    col("section", "exports.col.section"),
    col("team", "exports.col.team"),
    col("territory", "exports.col.territory"),
    col("status", "exports.col.status"),
    col("planned_start", "exports.col.planned_start"),
    col("planned_end", "exports.col.planned_end"),
    col("started_at", "exports.col.started_at"),
    col("expected_return_at", "exports.col.expected_return_at"),
    col("ended_at", "exports.col.ended_at"),
    col("people_total", "exports.col.people_total"),
    col("people_new", "exports.col.people_new"),
    col("people_known", "exports.col.people_known"),
    col("mediations", "exports.col.mediations"),
];

/// The format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// CSV (UTF-8, comma, every field quoted).
    #[default]
    Csv,
    /// An XLSX workbook of one sheet.
    Xlsx,
}

impl Format {
    /// The format of a code (`csv`, `xlsx`); CSV otherwise.
    pub fn from_code(code: &str) -> Format {
        if code == "xlsx" {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }

    /// Its code.
    pub fn code(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    /// Its media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// The filters of the list on screen.
#[derive(Clone, Debug)]
pub enum Filters {
    /// The queue's filters.
    Reports(QueueQuery),
    /// The active list (`true`) or those who left it.
    People {
        /// Active list.
        active: bool,
    },
    /// Encounters (the list has no filter: the most recent first).
    Encounters,
    /// Referrals sent and received (no filter).
    Referrals,
    /// The sites list's filters.
    Sites(ListFilter),
    /// Open cases, or every case (`all`).
    Cases {
        /// Closed ones too.
        all: bool,
    },
    /// Current stays, or the latest ones (`all`) as the stays page lists them.
    Stays {
        /// Past ones too.
        all: bool,
    },
    /// The rounds board: overdue, out, planned in the next two weeks, ended in the last one.
    Rounds,
}

impl Filters {
    /// The list they filter.
    pub fn list(&self) -> List {
        match self {
            Filters::Reports(_) => List::Reports,
            Filters::People { .. } => List::People,
            Filters::Encounters => List::Encounters,
            Filters::Referrals => List::Referrals,
            Filters::Sites(_) => List::Sites,
            Filters::Cases { .. } => List::Cases,
            Filters::Stays { .. } => List::Stays,
            Filters::Rounds => List::Rounds,
        }
    }
}

/// Whether the caller may read a column (the permission function on a
/// record of its organisation with the column's field group).
pub fn may_read(who: &Caller, column: &Column) -> bool {
    match column.group {
        None => true,
        Some(g) => who.can(Action::Read, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation).field(g)).allowed,
    }
}

/// The columns of a list the caller is offered, in order.
pub fn offered(who: &Caller, list: List) -> Vec<Column> {
    list.columns().iter().filter(|c| may_read(who, c)).copied().collect()
}

/// A column as the export form shows it.
#[derive(Clone, Debug)]
pub struct Offer {
    /// Its code.
    pub code: &'static str,
    /// Its label in the reader's language.
    pub label: String,
    /// A personal column (of a field group).
    pub personal: bool,
}

/// The "Exporter" form of a list: the columns offered to the caller, every
/// one ticked.
pub fn form(who: &Caller, lang: Lang, list: List) -> Vec<Offer> {
    offered(who, list).into_iter().map(|c| Offer { code: c.code, label: lang.t(c.label), personal: c.group.is_some() }).collect()
}

/// A cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text (codes, dates, ids).
    Text(String),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Num(f64),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            Value::Num(x) => x.to_string(),
        }
    }
}

/// An export ready to be written: its columns and rows, already audited.
#[derive(Clone, Debug)]
pub struct Export {
    /// The list.
    pub list: List,
    /// The format asked for.
    pub format: Format,
    /// The columns written, in order.
    pub columns: Vec<Column>,
    /// The header labels in the reader's language (XLSX).
    pub labels: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

fn csv_field(text: &str) -> String {
    // Quoted, quotes doubled; a leading formula character is neutralised for spreadsheets.
    let safe = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    format!("\"{}\"", safe.replace('"', "\"\""))
}

fn csv_value(v: &Value) -> String {
    match v {
        Value::Text(s) => csv_field(s),
        other => format!("\"{}\"", other.text()),
    }
}

impl Export {
    /// The file's name.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.list.file_stem(), self.format.code())
    }

    /// The CSV header line (column codes).
    pub fn csv_header(&self) -> String {
        let mut out = self.columns.iter().map(|c| c.code).collect::<Vec<_>>().join(",");
        out.push_str("\r\n");
        out
    }

    /// The CSV lines of the rows `from..to`.
    pub fn csv_rows(&self, from: usize, to: usize) -> String {
        let mut out = String::new();
        for row in &self.rows[from.min(self.rows.len())..to.min(self.rows.len())] {
            out.push_str(&row.iter().map(csv_value).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// The whole CSV.
    pub fn to_csv(&self) -> String {
        self.csv_header() + &self.csv_rows(0, self.rows.len())
    }

    /// An XLSX workbook of one sheet: the labels, then the rows (numbers as numbers).
    pub fn to_xlsx(&self) -> Result<Vec<u8>> {
        use rust_xlsxwriter::{Format as Style, Workbook};
        let wrap = |e: rust_xlsxwriter::XlsxError| Error::from(anyhow::anyhow!("xlsx: {e}"));
        let bold = Style::new().set_bold();
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(self.list.file_stem()).map_err(wrap)?;
        for (c, label) in self.labels.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, label, &bold).map_err(wrap)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                match v {
                    Value::Text(s) => sheet.write_string(r, c, s).map(|_| ()),
                    Value::Int(n) => sheet.write_number(r, c, *n as f64).map(|_| ()),
                    Value::Num(x) => sheet.write_number(r, c, *x).map(|_| ()),
                }
                .map_err(wrap)?;
            }
        }
        book.save_to_buffer().map_err(wrap)
    }
}

/// The columns written for what was asked: the asked codes the list has and
/// the caller may read, in the order asked (each once); every readable column,
/// in the list's order, when none (or none valid) was asked for.
pub fn chosen(who: &Caller, list: List, asked: &[String]) -> Vec<Column> {
    let readable = offered(who, list);
    let mut picked: Vec<Column> = Vec::new();
    for a in asked {
        if let Some(c) = readable.iter().find(|c| c.code == a) {
            if !picked.contains(c) {
                picked.push(*c);
            }
        }
    }
    if picked.is_empty() {
        readable
    } else {
        picked
    }
}

fn when(t: Option<Timestamp>) -> Value {
    Value::Text(t.map(|t| t.to_paris_rfc3339()).unwrap_or_default())
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn flag(b: bool) -> Value {
    Value::Int(i64::from(b))
}

/// The export of a list with the filters on screen and the columns asked
/// for (see [`chosen`]), audited. Refused as the list itself is.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn export(app: &App, who: &Caller, lang: Lang, filters: &Filters, asked: &[String], format: Format) -> Result<Export> {
    let list = filters.list();
    let columns = chosen(who, list, asked);
    let codes: Vec<&str> = columns.iter().map(|c| c.code).collect();
    let rows = match filters {
        Filters::Reports(q) => report_rows(app, who, q, &codes).await?,
        Filters::People { active } => people_rows(app, who, *active, &codes).await?,
        Filters::Encounters => encounter_rows(app, who, &codes).await?,
        Filters::Referrals => referral_rows(app, who, &codes).await?,
        Filters::Sites(f) => site_rows(app, who, f, &codes).await?,
        Filters::Cases { all } => case_rows(app, who, *all, &codes).await?,
        Filters::Stays { all } => stay_rows(app, who, *all, &codes).await?,
        Filters::Rounds => round_rows(app, who, &codes).await?,
    };
    // Health columns are named under the `health` key, which the audit log
    // leaves out for viewers who do not read that field group.
    let (health, other): (Vec<&Column>, Vec<&Column>) = columns.iter().partition(|c| c.group == Some(FieldGroup::Health));
    let mut detail = serde_json::json!({
        "list": list.code(),
        "columns": other.iter().map(|c| c.code).collect::<Vec<_>>(),
        "rows": rows.len(),
        "format": format.code(),
    });
    if !health.is_empty() {
        detail["health"] = serde_json::json!({"columns": health.iter().map(|c| c.code).collect::<Vec<_>>()});
    }
    let entry =
        audit::NewEntry::about(app.clock.now(), Some(who.author()), "export", list.record_kind(), None, Some(who.account.organisation)).with_detail(detail);
    audit::append_now(&app.db, entry).await?;
    let labels = columns.iter().map(|c| lang.t(c.label)).collect();
    Ok(Export { list, format, columns, labels, rows })
}

/// Picks the cells of `codes` from a row builder.
fn pick(codes: &[&str], cell: impl Fn(&str) -> Value) -> Vec<Value> {
    codes.iter().map(|c| cell(c)).collect()
}

async fn territory_codes(app: &App) -> Result<std::collections::HashMap<veille_domain::TerritoryId, String>> {
    Ok(veille_storage::territories::list(&app.db).await?.into_iter().map(|t| (t.id, t.code)).collect())
}

async fn report_rows(app: &App, who: &Caller, q: &QueueQuery, codes: &[&str]) -> Result<Vec<Vec<Value>>> {
    let reports = crate::reports::staff::list(app, who, q).await?;
    let territories = territory_codes(app).await?;
    let d = app.config.report_deadlines();
    let now = app.clock.now();
    Ok(reports
        .iter()
        .map(|r| {
            pick(codes, |c| match c {
                "reference" => text(r.reference.clone()),
                "received_at" => when(Some(r.created_at)),
                "level" => Value::Int(r.effective_level()),
                "computed_level" => Value::Int(r.level),
                "reasons" => text(r.reasons.join(" ")),
                "situations" => text(r.situations.join(" ")),
                "flags" => text(r.seen.join(" ")),
                "status" => text(r.status.code()),
                "outcome" => text(r.outcome.map(|o| o.code()).unwrap_or_default()),
                "territory" => text(r.territory.and_then(|t| territories.get(&t).cloned()).unwrap_or_default()),
                "source" => text(r.source.code()),
                "channel" => text(r.channel.code()),
                "adults" => Value::Int(r.adults),
                "children" => Value::Int(r.children),
                "tents" => Value::Int(r.tents),
                "acknowledged_at" => when(r.acknowledged_at),
                "acknowledge_due" => when(Some(r.acknowledge_due(&d))),
                "answered_at" => when(r.answered_at),
                "answer_due" => when(Some(r.answer_due(&d))),
                "overdue" => flag(r.is_overdue(&d, now)),
                _ => text(""),
            })
        })
        .collect())
}

async fn people_rows(app: &App, who: &Caller, active: bool, codes: &[&str]) -> Result<Vec<Vec<Value>>> {
    use veille_storage::people;
    let list = crate::people::files::list(app, who, Some(active)).await?;
    let territories = territory_codes(app).await?;
    let scope = who.scope();
    let join = |v: Vec<&str>| v.join(" ");
    let mut out = Vec::with_capacity(list.len());
    for p in &list {
        // The health flags of a file only where the caller may read its health section.
        let health = if codes.contains(&"health_flags") {
            let res = crate::people::health_of(&crate::people::person_resource(&app.db, &scope, p).await?);
            if who.can(Action::Read, &res).allowed {
                join(people::health(&app.db, &scope, p.id).await?.flags.iter().map(|f| f.code()).collect())
            } else {
                String::new()
            }
        } else {
            String::new()
        };
        let f = &p.fields;
        out.push(pick(codes, |c| match c {
            "id" => text(p.id.to_string()),
            "birth_year" => f.birth_year.map(|y| Value::Int(i64::from(y))).unwrap_or_else(|| text("")),
            "age_band" => text(f.age_band.map(|b| b.code()).unwrap_or_default()),
            "gender" => text(f.gender.map(|g| g.code()).unwrap_or_default()),
            "nationality" => text(f.nationality.map(|n| n.code()).unwrap_or_default()),
            "situation" => text(f.situation.map(|s| s.code()).unwrap_or_default()),
            "languages" => text(join(f.languages.iter().map(|l| l.code()).collect())),
            "needs" => text(join(f.needs.iter().map(|n| n.code()).collect())),
            "vulnerabilities" => text(join(f.vulnerabilities.iter().map(|v| v.code()).collect())),
            "territory" => text(f.territory.and_then(|t| territories.get(&t).cloned()).unwrap_or_default()),
            "active" => flag(p.active),
            "exit_reason" => text(p.exit_reason.map(|r| r.code()).unwrap_or_default()),
            "last_contact_at" => when(p.last_contact_at),
            "health_flags" => text(health.clone()),
            _ => text(""),
        }));
    }
    Ok(out)
}

async fn encounter_rows(app: &App, who: &Caller, codes: &[&str]) -> Result<Vec<Vec<Value>>> {
    // `recent` drops the care given for those who do not read the health field group.
    let list = crate::people::encounters::recent(app, who, CSV_MAX).await?;
    let territories = territory_codes(app).await?;
    Ok(list
        .iter()
        .map(|e| {
            let f = &e.fields;
            pick(codes, |c| match c {
                "id" => text(e.id.to_string()),
                "at" => when(Some(f.at)),
                "territory" => text(f.territory.and_then(|t| territories.get(&t).cloned()).unwrap_or_default()),
                "people" => Value::Int(e.people.len() as i64),
                "unidentified" => Value::Int(f.unidentified_count),
                "actions" => text(f.actions.iter().map(|a| a.code()).collect::<Vec<_>>().join(" ")),
                "follow_up" => flag(f.follow_up),
                "site" => text(f.site_id.clone().unwrap_or_default()),
                "round" => text(f.round_id.clone().unwrap_or_default()),
                "care" => flag(e.has_care),
                _ => text(""),
            })
        })
        .collect())
}

async fn referral_rows(app: &App, who: &Caller, codes: &[&str]) -> Result<Vec<Vec<Value>>> {
    let (sent, received, _) = crate::people::referrals::lists(app, who).await?;
    let lines = sent.iter().map(|(r, _)| ("sent", r)).chain(received.iter().map(|(r, _)| ("received", r)));
    Ok(lines
        .map(|(direction, r)| {
            pick(codes, |c| match c {
                "id" => text(r.id.to_string()),
                "direction" => text(direction),
                "person" => text(r.person.to_string()),
                "status" => text(r.status.code()),
                "partner" => text(r.partner_name.clone()),
                "consent_confirmed" => flag(r.consent_confirmed),
                "urgent" => flag(r.urgent_override_reason.is_some()),
                "created_at" => when(Some(r.created_at)),
                "sent_at" => when(r.sent_at),
                "answer_due" => when(r.answer_due_at),
                "answered_at" => when(r.answered_at),
                "outcome_at" => when(r.outcome_at),
                _ => text(""),
            })
        })
        .collect())
}

async fn site_rows(app: &App, who: &Caller, filter: &ListFilter, codes: &[&str]) -> Result<Vec<Vec<Value>>> {
    let list = crate::sites::list_sites(app, who, filter).await?;
    let territories = territory_codes(app).await?;
    Ok(list
        .iter()
        .map(|l| {
            let s = &l.site;
            pick(codes, |c| match c {
                "id" => text(s.id.to_string()),
                "name" => text(s.name.clone()),
                "kind" => text(s.kind.clone()),
                "status" => text(s.status.clone()),
                "territory" => text(s.territory.and_then(|t| territories.get(&t).cloned()).unwrap_or_default()),
                "lat" => Value::Num(s.lat),
                "lon" => Value::Num(s.lon),
                "land_owner" => text(s.land_owner.clone()),
                "heatwave" => flag(s.heatwave),
                "people" => l.latest.as_ref().map(|f| Value::Int(f.people)).unwrap_or_else(|| text("")),
                "last_seen" => when(l.last_seen),
                "created_at" => when(Some(s.created_at)),
                "closed_at" => when(s.closed_at),
                _ => text(""),
            })
        })
        .collect())
}

async fn case_rows(app: &App, who: &Caller, all: bool, codes: &[&str]) -> Result<Vec<Vec<Value>>> {
    let list = crate::cases::list(app, who, all).await?;
    let territories = territory_codes(app).await?;
    Ok(list
        .iter()
        .map(|k| {
            pick(codes, |c| match c {
                "id" => text(k.id.to_string()),
                "origin" => text(k.origin.code()),
                "status" => text(k.status.clone()),
                "outcome" => text(k.outcome.map(|o| o.code()).unwrap_or_default()),
                "territory" => text(k.territory.and_then(|t| territories.get(&t).cloned()).unwrap_or_default()),
                "review_on" => text(k.review_on.map(|n| n.iso()).unwrap_or_default()),
                "created_at" => when(Some(k.created_at)),
                "closed_at" => when(k.closed_at),
                _ => text(""),
            })
        })
        .collect())
}

async fn stay_rows(app: &App, who: &Caller, all: bool, codes: &[&str]) -> Result<Vec<Vec<Value>>> {
    let list = crate::shelter::stays(app, who, all).await?;
    let territories = territory_codes(app).await?;
    Ok(list
        .iter()
        .map(|s| {
            pick(codes, |c| match c {
                "id" => text(s.id.to_string()),
                "facility" => text(s.facility_name.clone()),
                "territory" => text(s.territory.and_then(|t| territories.get(&t).cloned()).unwrap_or_default()),
                "person" => text(s.person.map(|p| p.to_string()).unwrap_or_default()),
                "household" => text(s.household.map(|h| h.to_string()).unwrap_or_default()),
                "places" => Value::Int(s.places),
                "status" => text(s.status.code()),
                "from" => text(s.from.iso()),
                "to" => text(s.to.iso()),
                "nights" => Value::Int(s.nights()),
                "entered_at" => when(s.entered_at),
                "left_at" => when(s.left_at),
                "destination" => text(s.destination.map(|d| d.code()).unwrap_or_default()),
                "night_cost" => s.night_cost_cents.map(|c| Value::Num(c as f64 / 100.0)).unwrap_or_else(|| text("")),
                "created_at" => when(Some(s.created_at)),
                _ => text(""),
            })
        })
        .collect())
}

async fn round_rows(app: &App, who: &Caller, codes: &[&str]) -> Result<Vec<Vec<Value>>> {
    let board = crate::rounds::board(app, who).await?;
    let territories = territory_codes(app).await?;
    let sections = [("overdue", &board.overdue), ("out", &board.out), ("planned", &board.ahead), ("recent", &board.recent)];
    let mut out = Vec::new();
    for (section, lines) in sections {
        for l in lines {
            let r = &l.round;
            out.push(pick(codes, |c| match c {
                "id" => text(r.id.to_string()),
                "section" => text(section),
                "team" => text(l.team.clone()),
                "territory" => text(r.territory.and_then(|t| territories.get(&t).cloned()).unwrap_or_default()),
                "status" => text(r.status.clone()),
                "planned_start" => when(Some(r.planned_start)),
                "planned_end" => when(Some(r.planned_end)),
                "started_at" => when(r.started_at),
                "expected_return_at" => when(r.expected_return_at),
                "ended_at" => when(r.ended_at),
                "people_total" => Value::Int(r.people_total),
                "people_new" => Value::Int(r.people_new),
                "people_known" => Value::Int(r.people_known),
                "mediations" => Value::Int(r.mediations),
                _ => text(""),
            }));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_declares_distinct_columns_with_labels() {
        for list in List::ALL {
            let codes: Vec<&str> = list.columns().iter().map(|c| c.code).collect();
            let mut unique = codes.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), codes.len(), "{list:?}");
            for c in list.columns() {
                assert!(c.label.starts_with("exports.col."), "{}", c.code);
            }
            assert_eq!(List::from_code(list.code()), Some(list));
        }
    }

    #[test]
    fn csv_neutralises_formulas() {
        assert_eq!(csv_field("=1+1"), "\"'=1+1\"");
        assert_eq!(csv_value(&Value::Int(-3)), "\"-3\"");
    }
}
