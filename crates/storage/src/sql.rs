//! Building SQL with numbered placeholders (`$1`, `$2`…, the same on both
//! engines), and the permission function's read filter compiled to SQL, so
//! that a list query returns exactly the records `authorize` lets the actor
//! read — no fetching more and filtering in memory.

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::Any;
use veille_domain::access::ReadFilter;
use veille_domain::TerritoryScope;

/// A value to bind.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// Integer.
    Int(i64),
    /// Floating point.
    Real(f64),
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}

/// A page of an ordered list: the rows to skip and how many to return at
/// most. Lists that can grow with the instance read one window at a time
/// (with their count beside), never every row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Rows skipped.
    pub offset: i64,
    /// Rows returned at most.
    pub limit: i64,
}

impl Window {
    /// The first `limit` rows.
    pub fn first(limit: i64) -> Window {
        Window { offset: 0, limit }
    }
    /// The SQL closing an ordered query with this window (` LIMIT … OFFSET …`).
    pub fn sql(&self, p: &mut Params) -> String {
        let limit = p.push(self.limit.max(0));
        let offset = p.push(self.offset.max(0));
        format!(" LIMIT {limit} OFFSET {offset}")
    }
}

/// The `VALUES` rows of a multi-row INSERT: `rows` rows of `binds` values
/// each, numbered in bind order (`$1`, `$2`…), joined; `shape` may change a
/// row's placeholders before it is written (a cast, a column given the same
/// value as another). The text depends only on how many rows.
pub(crate) fn values_rows(rows: usize, binds: usize, shape: impl Fn(&mut Vec<String>)) -> String {
    (0..rows)
        .map(|i| {
            let mut cells: Vec<String> = (1..=binds).map(|k| format!("${}", i * binds + k)).collect();
            shape(&mut cells);
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The values of a query being built, in placeholder order.
#[derive(Clone, Debug, Default)]
pub struct Params(Vec<Value>);

impl Params {
    /// No values yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a value; returns its placeholder.
    pub fn push(&mut self, v: impl Into<Value>) -> String {
        self.0.push(v.into());
        format!("${}", self.0.len())
    }
    /// Adds a typed id or coded value (stored as text); returns its placeholder.
    pub fn push_id(&mut self, v: impl std::fmt::Display) -> String {
        self.push(v.to_string())
    }
    /// Binds every value, in order.
    pub fn bind<'q>(&self, mut q: Query<'q, Any, AnyArguments<'q>>) -> Query<'q, Any, AnyArguments<'q>> {
        for v in &self.0 {
            q = match v {
                Value::Text(t) => q.bind(t.clone()),
                Value::Int(i) => q.bind(*i),
                Value::Real(r) => q.bind(*r),
            };
        }
        q
    }
    /// Binds every value of a scalar query, in order.
    pub fn bind_scalar<'q, O>(&self, mut q: QueryScalar<'q, Any, O, AnyArguments<'q>>) -> QueryScalar<'q, Any, O, AnyArguments<'q>> {
        for v in &self.0 {
            q = match v {
                Value::Text(t) => q.bind(t.clone()),
                Value::Int(i) => q.bind(*i),
                Value::Real(r) => q.bind(*r),
            };
        }
        q
    }
    /// Binds every value of a typed query, in order.
    pub fn bind_as<'q, O>(&self, mut q: QueryAs<'q, Any, O, AnyArguments<'q>>) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
        for v in &self.0 {
            q = match v {
                Value::Text(t) => q.bind(t.clone()),
                Value::Int(i) => q.bind(*i),
                Value::Real(r) => q.bind(*r),
            };
        }
        q
    }
}

/// Where a kind of record keeps what the read rules look at.
#[derive(Clone, Copy, Debug)]
pub struct RecordColumns<'a> {
    /// The owning organisation's id.
    pub organisation: &'a str,
    /// The territory's id (NULL: placed nowhere, in every scope).
    pub territory: Option<&'a str>,
    /// The case's id (NULL: not a case record).
    pub case: Option<&'a str>,
    /// How the record is shared with other organisations, if it can be.
    pub shared_with: Option<Shared<'a>>,
}

/// How a kind of record names the organisations it is shared with.
#[derive(Clone, Copy, Debug)]
pub enum Shared<'a> {
    /// One column holding the one organisation it is shared with.
    Column(&'a str),
    /// A condition true when the record is shared with the organisation
    /// written `{org}` in it (an `EXISTS` over a table of shares).
    Exists(&'a str),
}

fn one_of(column: &str, ids: Vec<String>, p: &mut Params) -> String {
    if ids.is_empty() {
        return format!("{column} IS NULL");
    }
    let list: Vec<String> = ids.into_iter().map(|id| p.push(id)).collect();
    format!("({column} IS NULL OR {column} IN ({}))", list.join(", "))
}

/// The SQL condition admitting exactly the rows `filter.admits` admits
/// (see `veille_domain::access::ReadFilter`).
pub fn read_filter_sql(filter: &ReadFilter, cols: &RecordColumns<'_>, p: &mut Params) -> String {
    let ReadFilter::Scoped { own, shared_with, territories, member_of } = filter else { return "1 = 0".into() };
    let mut alternatives = Vec::new();
    if let Some(own) = own {
        let mut parts = vec![format!("{} = {}", cols.organisation, p.push(own.organisation.to_string()))];
        if let (Some(column), TerritoryScope::Only(set)) = (cols.territory, &own.territories) {
            parts.push(one_of(column, set.iter().map(ToString::to_string).collect(), p));
        }
        if let (Some(column), false) = (cols.case, own.all_cases) {
            parts.push(one_of(column, own.cases.iter().map(ToString::to_string).collect(), p));
        }
        alternatives.push(format!("({})", parts.join(" AND ")));
    }
    if let Some(shared) = cols.shared_with {
        let me = p.push(shared_with.to_string());
        let condition = match shared {
            Shared::Column(column) => format!("{column} = {me}"),
            Shared::Exists(template) => template.replace("{org}", &me),
        };
        let mut within = String::new();
        if let (Some(column), TerritoryScope::Only(set)) = (cols.territory, territories) {
            within = format!(" AND {}", one_of(column, set.iter().map(ToString::to_string).collect(), p));
        }
        alternatives.push(format!("(({org} IS NULL OR {org} <> {me}) AND {condition}{within})", org = cols.organisation));
    }
    if let (Some(case), false) = (cols.case, member_of.is_empty()) {
        // A member of a case team from another organisation (decision 59).
        let me = p.push(shared_with.to_string());
        let list: Vec<String> = member_of.iter().map(|c| p.push(c.to_string())).collect();
        let mut within = String::new();
        if let (Some(column), TerritoryScope::Only(set)) = (cols.territory, territories) {
            within = format!(" AND {}", one_of(column, set.iter().map(ToString::to_string).collect(), p));
        }
        alternatives.push(format!("(({org} IS NULL OR {org} <> {me}) AND {case} IN ({}){within})", list.join(", "), org = cols.organisation));
    }
    if alternatives.is_empty() {
        return "1 = 0".into();
    }
    format!("({})", alternatives.join(" OR "))
}
