//! Reading files in the national data·inclusion format, schema v1
//! (gip-inclusion/data-inclusion-schema): structures and services, as JSON (an
//! array, or an object with `structures` / `services` / `items` arrays) or CSV
//! (`,` or `;` separated, one record a line, list cells as a JSON array or
//! comma-separated codes). Each record is checked against the rules of the
//! published schema — required fields, lengths, codes, vocabularies read from
//! the schema files themselves — and every problem names the line the record
//! starts on. Pure: nothing here touches the database.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::NaiveDate;
use serde_json::{Map, Value};
use veille_storage::directory::{ServiceFields, StructureFields};

use crate::Lang;

const STRUCTURE_SCHEMA: &str = include_str!("../../../../../shared/schemas/data-inclusion-v1/structure.json");
const SERVICE_SCHEMA: &str = include_str!("../../../../../shared/schemas/data-inclusion-v1/service.json");

/// The vocabularies of the schema (its `$defs` enums).
#[derive(Debug)]
pub struct Vocabulary {
    /// `Thematique`.
    pub themes: Vec<String>,
    /// Categories of thématiques (the part before `--`), in order.
    pub categories: Vec<String>,
    /// `Public`.
    pub publics: Vec<String>,
    /// `TypeService`.
    pub kinds: Vec<String>,
    /// `Frais`.
    pub fees: Vec<String>,
    /// `ModeAccueil`.
    pub reception_modes: Vec<String>,
    /// `ModeMobilisation`.
    pub mobilisation_modes: Vec<String>,
    /// `PersonneMobilisatrice`.
    pub mobilisable_by: Vec<String>,
    /// `ReseauPorteur`.
    pub networks: Vec<String>,
}

fn enum_of(schema: &Value, def: &str) -> Vec<String> {
    schema["$defs"][def]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("the data·inclusion schema has no {def} enum"))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(|| {
    let structure: Value = serde_json::from_str(STRUCTURE_SCHEMA).unwrap_or_else(|e| panic!("structure.json: {e}"));
    let service: Value = serde_json::from_str(SERVICE_SCHEMA).unwrap_or_else(|e| panic!("service.json: {e}"));
    let themes = enum_of(&service, "Thematique");
    let mut categories: Vec<String> = Vec::new();
    for t in &themes {
        let c = t.split("--").next().unwrap_or(t).to_owned();
        if !categories.contains(&c) {
            categories.push(c);
        }
    }
    Vocabulary {
        categories,
        themes,
        publics: enum_of(&service, "Public"),
        kinds: enum_of(&service, "TypeService"),
        fees: enum_of(&service, "Frais"),
        reception_modes: enum_of(&service, "ModeAccueil"),
        mobilisation_modes: enum_of(&service, "ModeMobilisation"),
        mobilisable_by: enum_of(&service, "PersonneMobilisatrice"),
        networks: enum_of(&structure, "ReseauPorteur"),
    }
});

/// The vocabularies of data·inclusion schema v1.
pub fn vocabulary() -> &'static Vocabulary {
    &VOCABULARY
}

/// What a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A structure.
    Structure,
    /// A service.
    Service,
}

/// Something wrong (or worth knowing) in a file, at a line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file's name.
    pub file: String,
    /// The line the record starts on (0: the whole file).
    pub line: usize,
    /// Structure or service, when it is about a record.
    pub kind: Option<Kind>,
    /// The record's `id`, if it has one.
    pub record: Option<String>,
    /// The field concerned.
    pub field: Option<String>,
    /// The message code (`directory.problem.<code>` in the catalogues).
    pub code: &'static str,
    /// Arguments of the message (`min`, `max`, `value`…).
    pub args: Vec<(String, String)>,
}

impl Problem {
    /// The message in a language: where, which record, which field, what.
    pub fn message(&self, lang: Lang) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let key = format!("directory.problem.{}", self.code);
        // A message about a number of characters or values agrees with it.
        let count = self.args.iter().find(|(k, _)| k == "min" || k == "max").and_then(|(_, v)| v.parse::<i64>().ok());
        let what = match count {
            Some(n) if ["too_short", "too_long", "too_few"].contains(&self.code) => lang.tn(&key, n, &args),
            _ => lang.tf(&key, &args),
        };
        let mut out = if self.line > 0 {
            lang.tf("directory.problem.at_line", &[("file", &self.file), ("line", &self.line.to_string())])
        } else {
            lang.tf("directory.problem.in_file", &[("file", &self.file)])
        };
        if let Some(id) = &self.record {
            let kind = match self.kind {
                Some(Kind::Service) => lang.t("directory.problem.service"),
                _ => lang.t("directory.problem.structure"),
            };
            out.push_str(" · ");
            out.push_str(&lang.tf("directory.problem.record", &[("kind", &kind), ("id", id)]));
        }
        if let Some(f) = &self.field {
            out.push_str(&format!(" · {f}"));
        }
        lang.tf("directory.problem.line", &[("where", &out), ("what", &what)])
    }
}

/// A valid structure record.
#[derive(Clone, Debug)]
pub struct StructureRecord {
    /// File it came from.
    pub file: String,
    /// Line it starts on.
    pub line: usize,
    /// `source`.
    pub source: String,
    /// `id`.
    pub id: String,
    /// Its fields.
    pub fields: StructureFields,
}

/// A valid service record.
#[derive(Clone, Debug)]
pub struct ServiceRecord {
    /// File it came from.
    pub file: String,
    /// Line it starts on.
    pub line: usize,
    /// `source`.
    pub source: String,
    /// `id`.
    pub id: String,
    /// `structure_id` (an `id` of a structure of the same source).
    pub structure_id: String,
    /// Its fields.
    pub fields: ServiceFields,
}

/// What files held: valid records, refused records (problems) and warnings
/// (accepted, but something was left out).
#[derive(Clone, Debug, Default)]
pub struct Content {
    /// Valid structures.
    pub structures: Vec<StructureRecord>,
    /// Valid services.
    pub services: Vec<ServiceRecord>,
    /// Why records (or whole files) were refused.
    pub problems: Vec<Problem>,
    /// What was accepted with a reservation.
    pub warnings: Vec<Problem>,
    /// Records refused, by kind.
    pub refused: (usize, usize),
}

/// Largest file accepted (bytes).
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

/// A problem of a whole file (or of a line that is no record).
fn whole_file(file: &str, code: &'static str, line: usize, args: Vec<(String, String)>) -> Problem {
    Problem { file: file.to_owned(), line, kind: None, record: None, field: None, code, args }
}

/// Reads one file into `into`. `today` is the Paris date of the app clock
/// (`date_maj` may not be later).
pub fn read(file: &str, bytes: &[u8], today: NaiveDate, into: &mut Content) {
    let whole = |code: &'static str, line: usize, args: Vec<(String, String)>| whole_file(file, code, line, args);
    if bytes.len() > MAX_FILE_BYTES {
        into.problems.push(whole("file_too_large", 0, vec![("max".into(), (MAX_FILE_BYTES / 1024 / 1024).to_string())]));
        return;
    }
    if crate::imports::sheet::is_workbook(file, bytes) {
        // The producers' workbook: a sheet of structures, a sheet of services
        // (any sheet whose header names `source` and `id`; others are notes).
        match crate::imports::sheet::read(file, bytes) {
            Ok(sheets) => {
                let mut any = false;
                for s in sheets.iter().filter(|s| s.headers.iter().any(|h| h == "id") && s.headers.iter().any(|h| h == "source")) {
                    any = true;
                    judge(&format!("{file} · {}", s.name), sheet_records(s), today, into);
                }
                if !any {
                    into.problems.push(whole("csv_header", 0, vec![]));
                }
            }
            Err(crate::imports::sheet::SheetError::Empty) => into.problems.push(whole("empty_file", 0, vec![])),
            Err(crate::imports::sheet::SheetError::Unreadable(detail)) => into.problems.push(whole("workbook", 0, vec![("detail".into(), detail)])),
        }
        return;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        into.problems.push(whole("not_utf8", 0, vec![]));
        return;
    };
    let text = text.trim_start_matches('\u{feff}');
    let records = match text.trim_start().chars().next() {
        Some('[') | Some('{') => json_records(text),
        Some(_) => csv_records(text),
        None => Err((0, "empty_file", vec![])),
    };
    let records = match records {
        Ok(r) => r,
        Err((line, code, args)) => {
            into.problems.push(whole(code, line, args));
            return;
        }
    };
    if records.is_empty() {
        into.problems.push(whole("empty_file", 0, vec![]));
        return;
    }
    judge(file, records, today, into);
}

/// The records of a sheet of the producers' workbook, with their line numbers.
fn sheet_records(sheet: &crate::imports::sheet::Sheet) -> Vec<(usize, Value)> {
    sheet
        .rows
        .iter()
        .map(|(line, cells)| {
            let mut obj = Map::new();
            for (h, cell) in sheet.headers.iter().zip(cells) {
                if let Some(v) = cell_value(h.trim(), cell) {
                    obj.insert(h.trim().to_owned(), v);
                }
            }
            (*line, Value::Object(obj))
        })
        .collect()
}

/// Checks the records of one file (or sheet) into `into`.
fn judge(file: &str, records: Vec<(usize, Value)>, today: NaiveDate, into: &mut Content) {
    let whole = |code: &'static str, line: usize, args: Vec<(String, String)>| whole_file(file, code, line, args);
    for (line, value) in records {
        let Value::Object(obj) = value else {
            into.problems.push(whole("not_an_object", line, vec![]));
            continue;
        };
        let kind = if obj.contains_key("structure_id") { Kind::Service } else { Kind::Structure };
        let mut c = Check::new(&obj, today);
        let source = c.required_str("source", 1, 1000);
        let id = c.required_str("id", 1, 1000);
        let outcome = match kind {
            Kind::Structure => {
                let fields = c.structure_fields();
                (c.problems.is_empty()).then(|| Record::Structure(StructureRecord { file: file.to_owned(), line, source, id: id.clone(), fields }))
            }
            Kind::Service => {
                let structure_id = c.required_str("structure_id", 1, 1000);
                let fields = c.service_fields();
                (c.problems.is_empty()).then(|| Record::Service(ServiceRecord { file: file.to_owned(), line, source, id: id.clone(), structure_id, fields }))
            }
        };
        let record = (!id.is_empty()).then(|| id.clone());
        let located = |(field, code, args): (Option<String>, &'static str, Vec<(String, String)>)| Problem {
            file: file.to_owned(),
            line,
            kind: Some(kind),
            record: record.clone(),
            field,
            code,
            args,
        };
        into.warnings.extend(c.warnings.drain(..).map(located));
        match outcome {
            Some(Record::Structure(s)) => into.structures.push(s),
            Some(Record::Service(s)) => into.services.push(s),
            None => {
                match kind {
                    Kind::Structure => into.refused.0 += 1,
                    Kind::Service => into.refused.1 += 1,
                }
                into.problems.extend(c.problems.drain(..).map(located));
            }
        }
    }
}

// One a record, moved at once into its list: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
enum Record {
    Structure(StructureRecord),
    Service(ServiceRecord),
}

type FileError = (usize, &'static str, Vec<(String, String)>);

/// The records of a JSON file with the line each starts on.
fn json_records(text: &str) -> Result<Vec<(usize, Value)>, FileError> {
    use serde_json::value::RawValue;
    #[derive(serde::Deserialize)]
    struct Bundle<'a> {
        #[serde(borrow, default)]
        structures: Vec<&'a RawValue>,
        #[serde(borrow, default)]
        services: Vec<&'a RawValue>,
        #[serde(borrow, default)]
        items: Vec<&'a RawValue>,
    }
    let syntax = |e: serde_json::Error| (e.line(), "json_syntax", vec![("detail".to_owned(), e.to_string())]);
    let raws: Vec<&RawValue> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(syntax)?
    } else {
        let b: Bundle = serde_json::from_str(text).map_err(syntax)?;
        b.structures.into_iter().chain(b.services).chain(b.items).collect()
    };
    let base = text.as_ptr() as usize;
    // Records come in file order (or in two runs, structures then services):
    // count newlines from the previous record, not from the start each time.
    let (mut at, mut line) = (0usize, 1usize);
    raws.into_iter()
        .map(|raw| {
            let offset = (raw.get().as_ptr() as usize).saturating_sub(base).min(text.len());
            if offset < at {
                (at, line) = (0, 1);
            }
            line += text.as_bytes()[at..offset].iter().filter(|b| **b == b'\n').count();
            at = offset;
            let value: Value = serde_json::from_str(raw.get()).map_err(syntax)?;
            Ok((line, value))
        })
        .collect()
}

const LIST_FIELDS: &[&str] = &["reseaux_porteurs", "thematiques", "publics", "modes_accueil", "modes_mobilisation", "mobilisable_par", "zone_eligibilite"];
const NUMBER_FIELDS: &[&str] = &["latitude", "longitude", "volume_horaire_hebdomadaire", "nombre_semaines"];

/// A CSV cell as the JSON value the same record would hold: empty is absent,
/// list fields become arrays, numbers written with a decimal comma are read.
fn cell_value(field: &str, cell: &str) -> Option<Value> {
    let cell = cell.trim();
    if cell.is_empty() {
        return None;
    }
    if LIST_FIELDS.contains(&field) {
        if cell.starts_with('[') {
            if let Ok(v @ Value::Array(_)) = serde_json::from_str::<Value>(cell) {
                return Some(v);
            }
        }
        return Some(Value::Array(cell.split([',', ';', '|']).map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect()));
    }
    if NUMBER_FIELDS.contains(&field) {
        let dotted = cell.replace(',', ".");
        if let Ok(n) = dotted.parse::<f64>() {
            if let Some(num) = serde_json::Number::from_f64(n) {
                return Some(Value::Number(if n.fract() == 0.0 && n.abs() < 1e15 { serde_json::Number::from(n as i64) } else { num }));
            }
        }
    }
    Some(Value::String(cell.to_owned()))
}

/// The records of a CSV file (header line first) with their line numbers.
fn csv_records(text: &str) -> Result<Vec<(usize, Value)>, FileError> {
    let header = text.lines().next().unwrap_or("");
    let delimiter = if header.matches(';').count() > header.matches(',').count() { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(text.as_bytes());
    let headers: Vec<String> =
        reader.headers().map_err(|e| (1, "csv_syntax", vec![("detail".to_owned(), e.to_string())]))?.iter().map(|h| h.trim().to_owned()).collect();
    if !headers.iter().any(|h| h == "id") || !headers.iter().any(|h| h == "source") {
        return Err((1, "csv_header", vec![]));
    }
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            (line, "csv_syntax", vec![("detail".to_owned(), e.to_string())])
        })?;
        let line = row.position().map_or(0, |p| p.line() as usize);
        let mut obj = Map::new();
        for (h, cell) in headers.iter().zip(row.iter()) {
            if let Some(v) = cell_value(h, cell) {
                obj.insert(h.clone(), v);
            }
        }
        out.push((line, Value::Object(obj)));
    }
    Ok(out)
}

type Found = (Option<String>, &'static str, Vec<(String, String)>);

/// The fields structures and services share.
struct Place {
    address: String,
    address_extra: String,
    postal_code: String,
    city: String,
    insee_code: String,
    lon: Option<f64>,
    lat: Option<f64>,
    phone: String,
    email: String,
    opening_hours: String,
    source_link: String,
}

/// Checks one record's fields, collecting problems (refusals) and warnings.
struct Check<'a> {
    obj: &'a Map<String, Value>,
    today: NaiveDate,
    problems: Vec<Found>,
    warnings: Vec<Found>,
}

fn arg(k: &str, v: impl ToString) -> (String, String) {
    (k.to_owned(), v.to_string())
}

/// `\w` of the reference models' patterns: a Unicode letter, digit or `_`.
fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Exactly `n` ASCII digits.
pub(crate) fn digits(s: &str, n: usize) -> bool {
    s.chars().count() == n && s.chars().all(|c| c.is_ascii_digit())
}

/// An e-mail address as the reference models accept it: one `@`, a local
/// part, a domain of at least two labels, not a special-use domain.
pub fn email_ok(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    if local.is_empty() || local.len() > 64 || local.starts_with('.') || local.ends_with('.') || local.contains("..") || domain.contains('@') {
        return false;
    }
    if local.chars().any(|c| c.is_whitespace() || c.is_control() || "()<>[]:;,\\\"".contains(c)) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let special = ["arpa", "invalid", "local", "localhost", "onion", "test"];
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()) && !special.contains(&tld.to_lowercase().as_str()))
}

/// An http(s) URL with a host, at most 2083 characters.
pub fn url_ok(s: &str) -> bool {
    s.chars().count() <= 2083 && url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
}

/// A code of `zone_eligibilite`: commune, département, EPCI, country, or `france`.
fn zone_code_ok(s: &str) -> bool {
    let n = s.chars().count();
    s == "france" || (s.chars().all(word) && (n == 5 || n == 2 || n == 3)) || digits(s, 9)
}

impl<'a> Check<'a> {
    fn new(obj: &'a Map<String, Value>, today: NaiveDate) -> Self {
        Self { obj, today, problems: Vec::new(), warnings: Vec::new() }
    }

    fn refuse(&mut self, field: &str, code: &'static str, args: Vec<(String, String)>) {
        self.problems.push((Some(field.to_owned()), code, args));
    }

    /// The value, if present and not null.
    fn get(&self, field: &str) -> Option<&'a Value> {
        self.obj.get(field).filter(|v| !v.is_null())
    }

    fn text(&mut self, field: &str, min: usize, max: usize, required: bool) -> String {
        match self.get(field) {
            None if required => {
                self.refuse(field, "required", vec![]);
                String::new()
            }
            None => String::new(),
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if n < min {
                    self.refuse(field, "too_short", vec![arg("min", min)]);
                } else if n > max {
                    self.refuse(field, "too_long", vec![arg("max", max)]);
                }
                s.clone()
            }
            Some(_) => {
                self.refuse(field, "not_text", vec![]);
                String::new()
            }
        }
    }

    fn required_str(&mut self, field: &str, min: usize, max: usize) -> String {
        self.text(field, min, max, true)
    }

    fn opt_str(&mut self, field: &str) -> String {
        self.text(field, 0, usize::MAX, false)
    }

    fn code(&mut self, field: &str, ok: fn(&str) -> bool, what: &'static str) -> String {
        let s = self.opt_str(field);
        if matches!(self.get(field), Some(Value::String(_))) && !ok(&s) {
            self.refuse(field, what, vec![arg("value", &s)]);
        }
        s
    }

    fn date(&mut self, field: &str) -> String {
        let s = self.required_str(field, 0, usize::MAX);
        if self.get(field).is_none() || !matches!(self.get(field), Some(Value::String(_))) {
            return s;
        }
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) if s.len() == 10 => {
                let first = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
                if d < first {
                    self.refuse(field, "date_too_old", vec![]);
                } else if d > self.today {
                    self.refuse(field, "date_in_future", vec![arg("value", &s)]);
                }
            }
            _ => self.refuse(field, "not_a_date", vec![arg("value", &s)]),
        }
        s
    }

    /// A number; numeric text is read as the reference models read it.
    fn number(&mut self, field: &str) -> Option<f64> {
        match self.get(field)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Some(n),
                _ => {
                    self.refuse(field, "not_a_number", vec![arg("value", s)]);
                    None
                }
            },
            _ => {
                self.refuse(field, "not_a_number", vec![arg("value", "")]);
                None
            }
        }
    }

    fn one_of(&mut self, field: &str, allowed: &[String]) -> String {
        let s = self.opt_str(field);
        if self.get(field).is_some() && !allowed.contains(&s) {
            self.refuse(field, "unknown_code", vec![arg("value", &s)]);
        }
        s
    }

    /// A list of codes (duplicates are dropped, as the reference models do).
    fn list(&mut self, field: &str, ok: &dyn Fn(&str) -> bool, min_items: usize) -> Vec<String> {
        let Some(v) = self.get(field) else { return Vec::new() };
        let Value::Array(items) = v else {
            self.refuse(field, "not_a_list", vec![]);
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for item in items {
            match item {
                Value::String(s) if ok(s) => {
                    if !out.contains(s) {
                        out.push(s.clone());
                    }
                }
                Value::String(s) => self.refuse(field, "unknown_code", vec![arg("value", s)]),
                _ => self.refuse(field, "not_text", vec![]),
            }
        }
        if items.len() < min_items {
            self.refuse(field, "too_few", vec![arg("min", min_items)]);
        }
        out
    }

    fn codes(&mut self, field: &str, allowed: &[String], min_items: usize) -> Vec<String> {
        self.list(field, &|s| allowed.iter().any(|a| a == s), min_items)
    }

    /// Longitude and latitude; a point out of range is left out (warning).
    fn point(&mut self) -> (Option<f64>, Option<f64>) {
        let lon = self.number("longitude");
        let lat = self.number("latitude");
        match (lon, lat) {
            (Some(x), Some(y)) if (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y) => (Some(x), Some(y)),
            (None, None) => (None, None),
            _ => {
                self.warnings.push((Some("latitude".into()), "point_left_out", vec![]));
                (None, None)
            }
        }
    }

    fn hours(&mut self) -> String {
        let s = self.opt_str("horaires_accueil");
        if !super::hours::understood(&s) {
            self.warnings.push((Some("horaires_accueil".into()), "hours_not_understood", vec![arg("value", &s)]));
        }
        s
    }

    /// Where and how to reach a structure or a service: the fields both have.
    fn place(&mut self) -> Place {
        let (lon, lat) = self.point();
        Place {
            address: self.opt_str("adresse"),
            address_extra: self.opt_str("complement_adresse"),
            postal_code: self.code("code_postal", |s| digits(s, 5), "postal_code"),
            city: self.opt_str("commune"),
            insee_code: self.code("code_insee", |s| s.chars().count() == 5 && s.chars().all(word), "insee_code"),
            lon,
            lat,
            phone: self.opt_str("telephone"),
            email: self.code("courriel", email_ok, "email"),
            opening_hours: self.hours(),
            source_link: self.code("lien_source", url_ok, "url"),
        }
    }

    fn structure_fields(&mut self) -> StructureFields {
        let v = vocabulary();
        let name = self.required_str("nom", 3, 150);
        let source_updated = self.date("date_maj");
        let description = self.text("description", 5, 10_000, false);
        let p = self.place();
        StructureFields {
            name,
            siret: self.code("siret", |s| digits(s, 14), "siret"),
            description,
            address: p.address,
            address_extra: p.address_extra,
            postal_code: p.postal_code,
            city: p.city,
            insee_code: p.insee_code,
            lon: p.lon,
            lat: p.lat,
            phone: p.phone,
            email: p.email,
            website: self.code("site_web", url_ok, "url"),
            source_link: p.source_link,
            accessibility_link: self.code("accessibilite_lieu", url_ok, "url"),
            opening_hours: p.opening_hours,
            networks: self.codes("reseaux_porteurs", &v.networks, 0),
            source_updated,
        }
    }

    fn service_fields(&mut self) -> ServiceFields {
        let v = vocabulary();
        let name = self.required_str("nom", 3, 150);
        let description = self.required_str("description", 5, 10_000);
        let source_updated = self.date("date_maj");
        let publics = self.codes("publics", &v.publics, 1);
        if publics.len() > 1 && publics.iter().any(|p| p == "tous-publics") {
            self.refuse("publics", "all_publics_alone", vec![]);
        }
        if let Some(n) = self.number("volume_horaire_hebdomadaire") {
            if n < 0.0 {
                self.refuse("volume_horaire_hebdomadaire", "too_small", vec![arg("min", 0)]);
            }
        }
        if let Some(n) = self.number("nombre_semaines") {
            if n.fract() != 0.0 {
                self.refuse("nombre_semaines", "not_an_integer", vec![]);
            } else if n < 1.0 {
                self.refuse("nombre_semaines", "too_small", vec![arg("min", 1)]);
            }
        }
        self.opt_str("contact_nom_prenom"); // checked, never kept: a person's name
        let p = self.place();
        ServiceFields {
            name,
            description,
            kind: self.one_of("type", &v.kinds),
            themes: self.codes("thematiques", &v.themes, 0),
            publics,
            publics_details: self.opt_str("publics_precisions"),
            access_conditions: self.opt_str("conditions_acces"),
            fees: self.one_of("frais", &v.fees),
            fees_details: self.opt_str("frais_precisions"),
            reception_modes: self.codes("modes_accueil", &v.reception_modes, 0),
            mobilisation_modes: self.codes("modes_mobilisation", &v.mobilisation_modes, 1),
            mobilisable_by: self.codes("mobilisable_par", &v.mobilisable_by, 1),
            mobilisation_link: self.code("lien_mobilisation", url_ok, "url"),
            mobilisation_details: self.opt_str("mobilisation_precisions"),
            eligibility_zone: self.list("zone_eligibilite", &zone_code_ok, 1),
            address: p.address,
            address_extra: p.address_extra,
            postal_code: p.postal_code,
            city: p.city,
            insee_code: p.insee_code,
            lon: p.lon,
            lat: p.lat,
            phone: p.phone,
            email: p.email,
            opening_hours: p.opening_hours,
            source_link: p.source_link,
            source_updated,
        }
    }
}

/// The codes found in problems, for tests and summaries.
pub fn codes(problems: &[Problem]) -> BTreeSet<&'static str> {
    problems.iter().map(|p| p.code).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    fn read_one(name: &str, text: &str) -> Content {
        let mut c = Content::default();
        read(name, text.as_bytes(), today(), &mut c);
        c
    }

    #[test]
    fn the_vocabularies_come_from_the_schema() {
        let v = vocabulary();
        assert!(v.themes.iter().any(|t| t == "sante--addictions"));
        assert!(v.categories.iter().any(|c| c == "logement-hebergement"));
        assert_eq!(v.publics.len(), 14);
        assert!(v.networks.iter().any(|n| n == "caarud"));
        assert_eq!(v.fees, vec!["gratuit".to_string(), "payant".to_string()]);
    }

    #[test]
    fn json_records_carry_the_line_they_start_on() {
        let text = "[\n  {\"source\": \"s\", \"id\": \"a\", \"nom\": \"Abri du Canal\", \"date_maj\": \"2026-01-02\"},\n  {\"source\": \"s\", \"id\": \"b\",\n   \"nom\": \"X\", \"date_maj\": \"2026-01-02\"}\n]";
        let c = read_one("structures.json", text);
        assert_eq!(c.structures.len(), 1);
        assert_eq!(c.structures[0].line, 2);
        assert_eq!(c.problems.len(), 1);
        assert_eq!((c.problems[0].line, c.problems[0].code, c.problems[0].field.as_deref()), (3, "too_short", Some("nom")));
        assert_eq!(c.problems[0].record.as_deref(), Some("b"));
        let msg = c.problems[0].message(Lang::Fr);
        assert!(msg.contains("ligne 3") && msg.contains("« b »") && msg.contains("nom"), "{msg}");
    }

    #[test]
    fn lines_are_right_whatever_the_order_of_the_arrays() {
        let text = "{\"services\": [\n{\"source\": \"s\", \"id\": \"v\", \"structure_id\": \"a\", \"nom\": \"X\", \"description\": \"Description.\", \"date_maj\": \"2026-01-02\"}\n],\n\"structures\": [\n{\"source\": \"s\", \"id\": \"a\", \"nom\": \"Y\", \"date_maj\": \"2026-01-02\"}\n]}";
        let c = read_one("mixed.json", text);
        let lines: Vec<(usize, Option<&str>)> = c.problems.iter().map(|p| (p.line, p.record.as_deref())).collect();
        assert_eq!(lines, vec![(5, Some("a")), (2, Some("v"))]);
    }

    #[test]
    fn the_mistakes_real_exports_have_are_refused() {
        let text = r#"{"structures": [
{"source": "s", "id": "no-date", "nom": "Sans date"},
{"source": "s", "id": "siret13", "nom": "Siret court", "date_maj": "2026-01-02", "siret": "1234567890123"}
], "services": [
{"source": "s", "id": "svc", "structure_id": "x", "nom": "Service", "description": "Une description.", "date_maj": "2026-01-02", "thematiques": ["sante--inconnue"]}
]}"#;
        let c = read_one("export.json", text);
        assert!(c.structures.is_empty() && c.services.is_empty());
        assert_eq!(c.refused, (2, 1));
        let found: Vec<(usize, &str, Option<&str>)> = c.problems.iter().map(|p| (p.line, p.code, p.field.as_deref())).collect();
        assert_eq!(found, vec![(2, "required", Some("date_maj")), (3, "siret", Some("siret")), (5, "unknown_code", Some("thematiques"))]);
    }

    #[test]
    fn csv_with_semicolons_lists_and_decimal_commas() {
        let text = "source;id;structure_id;nom;description;date_maj;thematiques;publics;latitude;longitude\n\
                    s;svc-1;st-1;Accueil de jour;Petit-déjeuner et douches.;2026-03-01;equipement-et-alimentation--alimentation,sante--acces-aux-soins;tous-publics;48,85;2,35\n\
                    s;svc-2;st-1;Douches;Douches.;2026-13-01;;;;\n";
        let c = read_one("services.csv", text);
        assert_eq!(c.services.len(), 1);
        let s = &c.services[0];
        assert_eq!((s.line, s.structure_id.as_str()), (2, "st-1"));
        assert_eq!(s.fields.themes.len(), 2);
        assert_eq!((s.fields.lat, s.fields.lon), (Some(48.85), Some(2.35)));
        assert_eq!(c.problems.len(), 1);
        assert_eq!((c.problems[0].line, c.problems[0].code), (3, "not_a_date"));
    }

    #[test]
    fn broken_files_are_refused_as_a_whole_with_a_line() {
        let c = read_one("bad.json", "[\n{\"source\": \"s\",\n \"id\": }\n]");
        assert_eq!(c.problems.len(), 1);
        assert_eq!((c.problems[0].code, c.problems[0].line), ("json_syntax", 3));
        let c = read_one("bad.csv", "nom,commune\nA,B\n");
        assert_eq!(c.problems[0].code, "csv_header");
        let c = read_one("empty.json", "[]");
        assert_eq!(c.problems[0].code, "empty_file");
        let c = read_one("bin.json", "");
        assert_eq!(c.problems[0].code, "empty_file");
    }

    #[test]
    fn checks_follow_the_reference_models() {
        assert!(email_ok("accueil@asso-exemple.fr"));
        for bad in ["sans-arobase", "a@b", "a@@b.fr", "a b@c.fr", "a@b.test", "a@-b.fr"] {
            assert!(!email_ok(bad), "{bad}");
        }
        assert!(url_ok("https://asso-exemple.fr/accueil"));
        for bad in ["ftp://x.fr", "asso.fr", "https://", ""] {
            assert!(!url_ok(bad), "{bad}");
        }
        for ok in ["75056", "2A", "974", "200093201", "99100", "france"] {
            assert!(zone_code_ok(ok), "{ok}");
        }
        // Five letters pass: the schema's commune pattern is `^\w{5}$`.
        assert!(zone_code_ok("Paris"));
        for bad in ["7505", "1234567", "Île-de-France"] {
            assert!(!zone_code_ok(bad), "{bad}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Whatever a file holds, reading it never panics, and every record is
        /// either kept or refused with at least one problem.
        #[test]
        fn any_file_is_read_without_panicking(text in "(\\PC|[\\[\\]{}\",:;\\n])*") {
            let mut c = Content::default();
            read("x", text.as_bytes(), today(), &mut c);
            let refused = c.refused.0 + c.refused.1;
            proptest::prop_assert!(refused == 0 || !c.problems.is_empty());
        }

        /// Records built from the schema's field names with random values: no panic either.
        #[test]
        fn random_records_are_judged_without_panicking(
            values in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(serde_json::Value::Null),
                proptest::num::f64::ANY.prop_map(|f| serde_json::json!(f)),
                "\\PC{0,40}".prop_map(serde_json::Value::String),
                proptest::collection::vec("\\PC{0,20}", 0..4).prop_map(|v| serde_json::json!(v)),
            ], 12),
            service in proptest::bool::ANY,
        ) {
            let names = ["nom", "date_maj", "siret", "code_postal", "latitude", "longitude", "thematiques", "publics", "courriel", "site_web", "horaires_accueil", "zone_eligibilite"];
            let mut obj = serde_json::Map::new();
            obj.insert("source".into(), "s".into());
            obj.insert("id".into(), "i".into());
            if service {
                obj.insert("structure_id".into(), "x".into());
            }
            for (k, v) in names.iter().zip(values) {
                obj.insert((*k).into(), v);
            }
            let mut c = Content::default();
            read("x.json", serde_json::Value::Array(vec![serde_json::Value::Object(obj)]).to_string().as_bytes(), today(), &mut c);
            proptest::prop_assert_eq!(c.structures.len() + c.services.len() + c.refused.0 + c.refused.1, 1);
        }
    }

    #[test]
    fn tous_publics_stands_alone_and_points_out_of_range_are_left_out() {
        let text = r#"[{"source": "s", "id": "a", "structure_id": "x", "nom": "Service", "description": "Description.", "date_maj": "2026-01-02", "publics": ["tous-publics", "femmes"]},
{"source": "s", "id": "b", "structure_id": "x", "nom": "Service", "description": "Description.", "date_maj": "2026-01-02", "latitude": 148.0, "longitude": 2.0, "horaires_accueil": "le matin"}]"#;
        let c = read_one("s.json", text);
        assert_eq!(c.problems.iter().map(|p| p.code).collect::<Vec<_>>(), vec!["all_publics_alone"]);
        assert_eq!(c.services.len(), 1);
        assert_eq!((c.services[0].fields.lat, c.services[0].fields.lon), (None, None));
        assert_eq!(codes(&c.warnings), ["hours_not_understood", "point_left_out"].into_iter().collect());
    }
}
