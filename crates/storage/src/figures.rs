//! Aggregates of the figures dashboard and the activity report, computed by
//! the database (`COUNT`, `SUM`, window functions for percentiles, a
//! recursive query for linked files): no row is loaded to be counted in
//! memory. Every function takes the [`Scope`] of what it counts (the
//! application passes `Scope::figures_of` the organisation shown) and a
//! [`Slice`]: a period `[from, to)` and optional team and territory.
//!
//! The team filter applies where a record names a team (reports, rounds and
//! what they carry — encounters of a round, distributions —, mediations);
//! the other groups say so (`Slice::team` is ignored there and the
//! application tells the reader).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryScalar};
use sqlx::{Any, AnyConnection, Row};
use veille_domain::people::{AgeBand, Gender};
use veille_domain::{OrganisationId, PersonId, TeamId, TerritoryId, Timestamp};

use crate::db::{Backend, Db, Tx};
use crate::error::Result;
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns};

/// What is counted: a period and the optional filters.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// First instant (included).
    pub from: Timestamp,
    /// Last instant (excluded).
    pub to: Timestamp,
    /// Only this team's records (where records name a team).
    pub team: Option<TeamId>,
    /// Only records placed in this territory.
    pub territory: Option<TerritoryId>,
}

/// One category and its count.
pub type Counts = Vec<(String, i64)>;

fn period(s: &Slice, column: &str, p: &mut Params) -> String {
    let (a, b) = (p.push(s.from.as_micros()), p.push(s.to.as_micros()));
    format!("{column} >= {a} AND {column} < {b}")
}

fn territory(s: &Slice, column: &str, p: &mut Params) -> String {
    match s.territory {
        Some(t) => format!(" AND {column} = {}", p.push_id(t)),
        None => String::new(),
    }
}

fn team(s: &Slice, column: &str, p: &mut Params) -> String {
    match s.team {
        Some(t) => format!(" AND {column} = {}", p.push_id(t)),
        None => String::new(),
    }
}

/// A read of the figures, planned for its values each time it runs:
/// PostgreSQL switches a statement prepared on a connection to one generic
/// plan after five runs, and the generic plans of these reads, which go
/// through tens of thousands of rows a month, guessed a few thousand (the
/// people met: nested loops, 300 → 600 ms at a million encounters). Their
/// planning is small beside their running.
fn read(sql: &str) -> Query<'_, Any, AnyArguments<'_>> {
    sqlx::query(sql).persistent(false)
}

/// A count of the figures, planned as [`read`].
fn read_count(sql: &str) -> QueryScalar<'_, Any, i64, AnyArguments<'_>> {
    sqlx::query_scalar(sql).persistent(false)
}

async fn grouped(db: &Db, sql: &str, p: &Params) -> Result<Counts> {
    grouped_on(&mut *db.pool().acquire().await?, sql, p).await
}

async fn grouped_on(c: &mut AnyConnection, sql: &str, p: &Params) -> Result<Counts> {
    let rows = p.bind(read(sql)).fetch_all(&mut *c).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let k: Option<String> = r.try_get("k")?;
        out.push((k.unwrap_or_default(), r.try_get::<i64, _>("n")?));
    }
    Ok(out)
}

async fn scalar(db: &Db, sql: &str, p: &Params) -> Result<i64> {
    Ok(p.bind_scalar(read_count(sql)).fetch_one(db.pool()).await?)
}

/// A sum of `CASE` tests, one per code, as one row: how many rows hold each
/// code in a comma-separated list column.
async fn per_code_on(c: &mut AnyConnection, list: &str, from_where: &str, codes: &[&str], mut p: Params) -> Result<Counts> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let sums: Vec<String> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!("CAST(COALESCE(SUM(CASE WHEN (',' || {list} || ',') LIKE {} THEN 1 ELSE 0 END), 0) AS BIGINT) AS c{i}", p.push(format!("%,{c},%")))
        })
        .collect();
    let row = p.bind(read(&format!("SELECT {} {from_where}", sums.join(", ")))).fetch_one(&mut *c).await?;
    codes.iter().enumerate().map(|(i, c)| Ok(((*c).to_owned(), row.try_get::<i64, _>(format!("c{i}").as_str())?))).collect()
}

// ---------------------------------------------------------------- what may have changed

/// Microseconds in a day: the figures' epochs count changes by UTC day.
const DAY_MICROS: i64 = 86_400_000_000;
/// The last day the epochs count (migration 0028): later days share it.
const LAST_EPOCH_DAY: i64 = 84_000;
/// How long after its end a period's figures may be kept: rows about the
/// last hour do not move the epochs (migration 0028), an hour more is the
/// margin for a write begun before it and committed after.
const KEEP_AFTER_MICROS: i64 = 2 * 3_600_000_000;

/// The epoch of the figures of every day before `to`: a number that changes
/// whenever a row those figures count changes (a trigger of migration 0028
/// moves the count of the days a changed row is about, or of every day), so
/// figures computed when it had a value hold while it keeps it (decision
/// 103). `None` while `to` is less than two hours ago by the database's
/// clock (rows about the last hour leave the epochs as they are). Read it
/// before computing the figures it stands for: a write committed in between
/// shows in the figures and changes the epoch read next.
pub async fn epoch(db: &Db, to: Timestamp) -> Result<Option<i64>> {
    let now = match db.backend() {
        Backend::Sqlite => "CAST(strftime('%s', 'now') AS INTEGER) * 1000000",
        Backend::Postgres => "CAST(extract(epoch FROM clock_timestamp()) AS BIGINT) * 1000000",
    };
    let last = (to.as_micros() - 1).div_euclid(DAY_MICROS).clamp(0, LAST_EPOCH_DAY);
    let row = sqlx::query(&format!(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n, CAST({now} AS BIGINT) AS now FROM figure_epochs WHERE k = -1 OR (k >= 0 AND k <= $1)"
    ))
    .bind(last)
    .fetch_one(db.pool())
    .await?;
    let now: i64 = row.try_get("now")?;
    Ok((to.as_micros() <= now - KEEP_AFTER_MICROS).then(|| row.try_get("n")).transpose()?)
}

// ---------------------------------------------------------------- reports

/// A dimension of reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportDim {
    /// Who sent it (`source`).
    Source,
    /// The level in force (1 or 2).
    Level,
    /// How it came in.
    Channel,
    /// Its status now.
    Status,
    /// The territory it was placed in (its id; empty: none).
    Territory,
}

fn reports_where(scope: &Scope, s: &Slice, p: &mut Params) -> String {
    let w = period(s, "created_at", p);
    let terr = territory(s, "territory_id", p);
    let tm = team(s, "team_id", p);
    let allowed = scope.records(&crate::reports::ACCESS_COLUMNS, p);
    format!("FROM reports WHERE {w}{terr}{tm} AND {allowed}")
}

/// What the figures count of the reports received in a slice, from one
/// statement: the slice's reports read once into a materialized table, then
/// counted by each dimension, by their list of situation types, and the
/// response times with their percentiles, as some two hundred rows (a month of
/// a city's reports is fifteen thousand: returned row by row, they took SQLite
/// 280 ms to hand over, for 50 ms of reading).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportFacts {
    /// By source, level, channel, status and territory, in `ReportDim` order.
    by: [BTreeMap<String, i64>; 5],
    /// Reports by their list of situation types (comma-separated codes).
    situations: Vec<(String, i64)>,
    /// Response times.
    times: ResponseTimes,
}

impl ReportFacts {
    fn slot(dim: ReportDim) -> usize {
        match dim {
            ReportDim::Source => 0,
            ReportDim::Level => 1,
            ReportDim::Channel => 2,
            ReportDim::Status => 3,
            ReportDim::Territory => 4,
        }
    }

    /// Reports received in the slice, by a dimension.
    pub fn by(&self, dim: ReportDim) -> Counts {
        self.by[Self::slot(dim)].iter().map(|(k, n)| (k.clone(), *n)).collect()
    }

    /// Reports received in the slice holding each situation type (a report
    /// with several types counts in each).
    pub fn by_situation(&self, codes: &[&str]) -> Counts {
        codes.iter().map(|c| ((*c).to_owned(), self.situations.iter().filter(|(list, _)| list.split(',').any(|x| x == *c)).map(|(_, n)| n).sum())).collect()
    }

    /// Response times (against the deadlines [`report_facts`] was given).
    pub fn response_times(&self) -> ResponseTimes {
        self.times.clone()
    }
}

/// The reports received in the slice, counted in one statement (see
/// [`ReportFacts`]); `answer_secs` are the deadlines of levels 1 and 2.
pub async fn report_facts(db: &Db, scope: &Scope, s: &Slice, answer_secs: [i64; 2]) -> Result<ReportFacts> {
    let mut p = Params::new();
    let fw = reports_where(scope, s, &mut p);
    let (one, two) = (p.push(answer_secs[0] * 1_000_000), p.push(answer_secs[1] * 1_000_000));
    // Nearest-rank percentiles (row `dim`): the value of rank ceil(n × q / 100).
    let rank = |dim: i64, q: i64| format!("SELECT {dim}, '', MIN(d) FROM a WHERE rn = (m * {q} + 99) / 100");
    let sql = format!(
        "WITH f AS MATERIALIZED (SELECT source, CAST(COALESCE(level_override, level) AS BIGINT) AS lv, channel, status, \
                COALESCE(territory_id, '') AS t, situations, CAST(CASE WHEN duplicate_of IS NULL THEN 0 ELSE 1 END AS BIGINT) AS dup, \
                answered_at - created_at AS d {fw}), \
              a AS (SELECT lv, d, ROW_NUMBER() OVER (ORDER BY d) AS rn, COUNT(*) OVER () AS m FROM f WHERE dup = 0 AND d IS NOT NULL) \
         SELECT CAST(0 AS BIGINT) AS dim, source AS k, COUNT(*) AS n FROM f GROUP BY source \
         UNION ALL SELECT 1, CAST(lv AS TEXT), COUNT(*) FROM f GROUP BY lv \
         UNION ALL SELECT 2, channel, COUNT(*) FROM f GROUP BY channel \
         UNION ALL SELECT 3, status, COUNT(*) FROM f GROUP BY status \
         UNION ALL SELECT 4, t, COUNT(*) FROM f GROUP BY t \
         UNION ALL SELECT 5, situations, COUNT(*) FROM f GROUP BY situations \
         UNION ALL SELECT 6, '', COUNT(*) FROM f WHERE dup = 0 \
         UNION ALL SELECT 7, '', COUNT(*) FROM a \
         UNION ALL {} UNION ALL {} \
         UNION ALL SELECT 10, '', COUNT(*) FROM a WHERE d <= CASE WHEN lv = 2 THEN {two} ELSE {one} END",
        rank(8, 50),
        rank(9, 90)
    );
    let mut f = ReportFacts::default();
    for r in p.bind(read(&sql)).fetch_all(db.pool()).await? {
        let (dim, k, n): (i64, Option<String>, Option<i64>) = (r.try_get("dim")?, r.try_get("k")?, r.try_get("n")?);
        let k = k.unwrap_or_default();
        match (dim, n) {
            (0..=4, Some(n)) => *f.by[dim as usize].entry(k).or_default() += n,
            (5, Some(n)) => f.situations.push((k, n)),
            (6, Some(n)) => f.times.received = n,
            (7, Some(n)) => f.times.answered = n,
            (8, d) => f.times.median_secs = d.map(|d| d / 1_000_000),
            (9, d) => f.times.p90_secs = d.map(|d| d / 1_000_000),
            (10, Some(n)) => f.times.within_deadline = n,
            _ => {}
        }
    }
    Ok(f)
}

/// Response times of the reports received in the slice (duplicates attached
/// to another report left out): from receipt to the answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResponseTimes {
    /// Reports received (duplicates left out).
    pub received: i64,
    /// Of those, answered.
    pub answered: i64,
    /// Median time to the answer, seconds (nearest rank).
    pub median_secs: Option<i64>,
    /// 90th percentile, seconds (nearest rank).
    pub p90_secs: Option<i64>,
    /// Answered within the deadline of their level.
    pub within_deadline: i64,
}

// ---------------------------------------------------------------- encounters and people

const EARLIER: RecordColumns<'static> = RecordColumns { organisation: "e2.organisation_id", territory: Some("e2.territory_id"), case: None, shared_with: None };

fn encounters_where(scope: &Scope, s: &Slice, p: &mut Params) -> String {
    let w = period(s, "e.at", p);
    let terr = territory(s, "e.territory_id", p);
    let tm = match s.team {
        Some(t) => format!(" AND e.round_id IN (SELECT tr.id FROM rounds tr WHERE tr.team_id = {})", p.push_id(t)),
        None => String::new(),
    };
    let allowed = scope.records(&crate::encounters::ACCESS_COLUMNS, p);
    format!("{w}{terr}{tm} AND {allowed}")
}

/// Encounters in the slice: how many, the unidentified people counted, the
/// distinct files met.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncounterTotals {
    /// Encounters.
    pub encounters: i64,
    /// Unidentified people counted, summed.
    pub unidentified: i64,
    /// Distinct files met (before linked files are merged).
    pub files: i64,
}

/// Totals of the encounters in the slice (the files met include those of
/// people since erased, from the tallies: see [`tally_out`]).
pub async fn encounter_totals(db: &Db, scope: &Scope, s: &Slice) -> Result<EncounterTotals> {
    let (encounters, unidentified) = place_totals(&encounters_by_territory(db, scope, s).await?);
    let mut c = db.pool().acquire().await?;
    let files = files_on(&mut c, scope, s, &[]).await?;
    let files = get(&with_tallies(&mut c, scope, s, Measure::Files, vec![(String::new(), files)]).await?, "");
    Ok(EncounterTotals { encounters, unidentified, files })
}

/// The encounters and the unidentified people of [`encounters_by_territory`], summed.
pub fn place_totals(places: &[(String, i64, i64)]) -> (i64, i64) {
    places.iter().fold((0, 0), |(n, u), (_, a, b)| (n + a, u + b))
}

/// The distinct files met in the slice, leaving out `without`.
async fn files_on(c: &mut AnyConnection, scope: &Scope, s: &Slice, without: &[PersonId]) -> Result<i64> {
    let mut p = Params::new();
    let met = met_in(scope, s, without, &mut p);
    let sql = format!("SELECT COUNT(DISTINCT ep.person_id) {met}");
    Ok(p.bind_scalar(read_count(&sql)).fetch_one(&mut *c).await?)
}

/// Where a file met is placed for the scope: the columns of an encounter
/// ([`crate::encounters::ACCESS_COLUMNS`]) on its copy in `people_met`.
const MET: RecordColumns<'static> = RecordColumns { organisation: "ep.organisation_id", territory: Some("ep.territory_id"), case: None, shared_with: None };
// An encounter's scope reads its organisation and territory only, which
// `people_met` copies: anything more would need the join again.
const _: () = assert!(crate::encounters::ACCESS_COLUMNS.case.is_none() && crate::encounters::ACCESS_COLUMNS.shared_with.is_none());

/// The files met in the slice, leaving out `without`, as `FROM … WHERE …`
/// whose rows name a file each in `ep.person_id` (a file met several times
/// comes as many times). From `people_met`, each file met with its
/// encounter's organisation, instant and territory (one range of its index,
/// decision 104), unless the slice is a team's: the team is the encounter's
/// round's, read through the encounters.
fn met_in(scope: &Scope, s: &Slice, without: &[PersonId], p: &mut Params) -> String {
    let out = leave_out("ep.person_id", without, p);
    if s.team.is_some() {
        let w = encounters_where(scope, s, p);
        return format!("FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id WHERE {w}{out}");
    }
    let w = period(s, "ep.at", p);
    let terr = territory(s, "ep.territory_id", p);
    let allowed = scope.records(&MET, p);
    format!("FROM people_met ep WHERE {w}{terr} AND {allowed}{out}")
}

/// Encounters in the slice by the territory they were placed in (its id;
/// empty: no point, or a point outside every territory), with the
/// unidentified people counted in them: (territory, encounters, unidentified).
/// The encounters' totals are its sums (the files met come with the people:
/// [`PeopleCounts::files`]).
pub async fn encounters_by_territory(db: &Db, scope: &Scope, s: &Slice) -> Result<Vec<(String, i64, i64)>> {
    let mut p = Params::new();
    let w = encounters_where(scope, s, &mut p);
    let rows = p
        .bind(read(&format!(
            "SELECT COALESCE(e.territory_id, '') AS k, COUNT(*) AS n, CAST(COALESCE(SUM(e.unidentified_count), 0) AS BIGINT) AS u \
             FROM encounters e WHERE {w} GROUP BY COALESCE(e.territory_id, '')"
        )))
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(|r| Ok((r.try_get::<Option<String>, _>("k")?.unwrap_or_default(), r.try_get("n")?, r.try_get("u")?))).collect()
}

/// A dimension of the unique people met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonDim {
    /// Gender of the file.
    Gender,
    /// Age band: from the birth year at `year`, else the recorded band, else `unknown`.
    AgeBand {
        /// The year ages are taken at.
        year: i32,
    },
    /// `new` (no encounter of any of their linked files in the scope before
    /// the slice) or `known`.
    Novelty,
}

/// The unique people met in a slice, by gender, age band and novelty: files
/// linked to each other (active links, followed transitively) count as one
/// person, described by the file met with the smallest id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeopleCounts {
    /// By gender (`""`: not recorded).
    pub gender: Counts,
    /// By age band at the year asked for (from the birth year, else the recorded band, else `unknown`).
    pub age: Counts,
    /// `new` or `known`.
    pub novelty: Counts,
    /// The distinct files met (before linked files are merged), as
    /// [`EncounterTotals::files`].
    pub files: i64,
}

impl PeopleCounts {
    /// The counts of one dimension.
    pub fn by(&self, dim: PersonDim) -> &Counts {
        match dim {
            PersonDim::Gender => &self.gender,
            PersonDim::AgeBand { .. } => &self.age,
            PersonDim::Novelty => &self.novelty,
        }
    }
    fn by_mut(&mut self, dim: PersonDim) -> &mut Counts {
        match dim {
            PersonDim::Gender => &mut self.gender,
            PersonDim::AgeBand { .. } => &mut self.age,
            PersonDim::Novelty => &mut self.novelty,
        }
    }
    /// The three dimensions, ages taken at `year`.
    fn dims(year: i32) -> [PersonDim; 3] {
        [PersonDim::Gender, PersonDim::AgeBand { year }, PersonDim::Novelty]
    }
}

/// The unique people met in the slice by gender, age band (at `year`) and
/// novelty, from one pass over the slice's files met and the links, with
/// the organisation's tallies of files gone (decision 81).
pub async fn people_counts(db: &Db, scope: &Scope, s: &Slice, year: i32) -> Result<PeopleCounts> {
    let [counts] = people_counts_in(db, scope, [(s, year)]).await?;
    Ok(counts)
}

/// [`people_counts`] of several slices (a period and the one before), the
/// links between files read once for all of them while the files met of
/// each are read side by side, each on a connection of its own.
pub async fn people_counts_in<const N: usize>(db: &Db, scope: &Scope, slices: [(&Slice, i32); N]) -> Result<[PeopleCounts; N]> {
    let links = async { links_on(&mut *db.pool().acquire().await?, scope, &[]).await };
    let met = slices.map(|(s, year)| async move {
        let mut c = db.pool().acquire().await?;
        let met = files_met_on(&mut c, scope, s, year, &[]).await?;
        Ok::<_, crate::error::StorageError>((c, met))
    });
    let (links, met) = tokio::try_join!(links, futures_util::future::try_join_all(met))?;
    let counts = met.into_iter().zip(slices).map(|((mut c, met), (s, year))| {
        let links = &links;
        async move {
            let mut counts = met.counted(&mut c, scope, s, &[], links).await?;
            for dim in PeopleCounts::dims(year) {
                let live = std::mem::take(counts.by_mut(dim));
                *counts.by_mut(dim) = with_tallies(&mut c, scope, s, Measure::People(dim), live).await?;
            }
            counts.files = get(&with_tallies(&mut c, scope, s, Measure::Files, vec![(String::new(), counts.files)]).await?, "");
            Ok::<_, crate::error::StorageError>(counts)
        }
    });
    let counts = futures_util::future::try_join_all(counts).await?;
    counts.try_into().map_err(|_| crate::error::StorageError::Corrupt("people_counts_in"))
}

/// The unique people met in the slice by one dimension (see [`people_counts`]).
pub async fn people_by(db: &Db, scope: &Scope, s: &Slice, dim: PersonDim) -> Result<Counts> {
    let year = match dim {
        PersonDim::AgeBand { year } => year,
        _ => s.from.paris_date().year(),
    };
    Ok(people_counts(db, scope, s, year).await?.by(dim).clone())
}

/// [`people_counts`] over the live records, leaving out the files `without`
/// (their encounters, and their links to others). One read gives the files
/// met, counted by what describes them and whether they were met before the
/// slice in the scope: grouped in the database for the files linked to no
/// one (each is a person of their own, most of the files met), one row each
/// for the files with an active link. Then the links, and whether the files
/// linked to someone met, not met themselves, were met before (see
/// [`met_before`]; files linked to no one met are not looked up). Linked
/// files are grouped into people by union-find (instead of a recursive
/// closure in SQL over every file met, which was most of the activity
/// report's time at a million encounters); a person is described by their
/// smallest file met and is `known` when any of their files was met before.
/// Returning one row per file met (40,000 a month at a million encounters)
/// cost more than the reads themselves on SQLite.
async fn people_on(c: &mut AnyConnection, scope: &Scope, s: &Slice, year: i32, without: &[PersonId]) -> Result<PeopleCounts> {
    let met = files_met_on(c, scope, s, year, without).await?;
    let links = if met.linked.is_empty() { Links::default() } else { links_on(c, scope, without).await? };
    met.counted(c, scope, s, without, &links).await
}

/// What the first read of [`people_on`] gives: the files linked to no one,
/// counted, and the linked files met, one by one.
struct FilesMet {
    /// The people who are a file linked to no one, by gender, age band and novelty.
    sums: [BTreeMap<String, i64>; 3],
    /// The distinct files met.
    files: i64,
    /// The linked files met: (file, gender, band, met before).
    linked: Vec<(PersonId, String, String, bool)>,
}

impl FilesMet {
    /// The people met: the linked files joined into people by `links` (see [`count_linked`]).
    async fn counted(self, c: &mut AnyConnection, scope: &Scope, s: &Slice, without: &[PersonId], links: &Links) -> Result<PeopleCounts> {
        let FilesMet { mut sums, files, linked } = self;
        if !linked.is_empty() {
            count_linked(c, scope, s, without, linked, links, &mut sums).await?;
        }
        let [gender, age, novelty] = sums.map(|m| m.into_iter().collect());
        Ok(PeopleCounts { gender, age, novelty, files })
    }
}

/// The first read of [`people_on`]: the files met in the slice, leaving out
/// `without`, in one row: how many, by gender, age band and novelty (one
/// filtered count per code, over every file met), and the linked files met
/// one by one in a list ([`described`]). The files linked to no one are the
/// counts less the linked files (a `GROUP BY` of the files' descriptions
/// sorted the 40,000 files of a month: SQLite 125 → 89 ms at a million
/// encounters, decision 107).
async fn files_met_on(c: &mut AnyConnection, scope: &Scope, s: &Slice, year: i32, without: &[PersonId]) -> Result<FilesMet> {
    let mut p = Params::new();
    let met = met_in(scope, s, without, &mut p);
    let links = active_links(without, &mut p);
    let linked = |file: &str| format!("{file} IN (SELECT person_a FROM person_links WHERE {links} UNION SELECT person_b FROM person_links WHERE {links})");
    let sql = match scope.figures_organisation() {
        // An organisation's figures: each file met, found from what
        // describes it (`people … WHERE id IN (files met)`: the files met
        // become one sorted list, probed in order, instead of a distinct
        // pass, then a lookup per file — SQLite 300 → 170–200 ms a month
        // at a million encounters, PostgreSQL 500–660 → 330–380 ms), with
        // its first encounter with the organisation beside it (decisions
        // 100 and 101).
        Some(org) => {
            let (before, org) = (p.push(s.from.as_micros()), p.push_id(org));
            let columns = described(&linked("pp.id"), &format!("fe.first_at < {before}"), year, &mut p);
            format!(
                "SELECT {columns} FROM people pp \
                 LEFT JOIN person_first_encounters fe ON fe.person_id = pp.id AND fe.organisation_id = {org} \
                 WHERE pp.id IN (SELECT ep.person_id {met})"
            )
        }
        // Another scope: which files met were met before the slice, in a
        // query of its own, `k`, joined back to the files met (an `EXISTS`
        // among the columns ran row by row on PostgreSQL with a plan that
        // took minutes at a million encounters).
        None => {
            let before = met_before(c, scope, s, without, "m", "m.pid", &mut p);
            let columns = described(&linked("pp.id"), "k.pid IS NOT NULL", year, &mut p);
            format!(
                "WITH m AS (SELECT DISTINCT ep.person_id AS pid {met}), \
                      k AS ({before}) \
                 SELECT {columns} FROM m JOIN people pp ON pp.id = m.pid LEFT JOIN k ON k.pid = m.pid"
            )
        }
    };
    let row = p.bind(read(&sql)).fetch_one(&mut *c).await?;
    let files: i64 = row.try_get("files")?;
    let gender = coded_counts(&row, "g", &Gender::codes(), files, "people.gender")?;
    let mut bands: Vec<&str> = age_bands().into_iter().map(|b| b.0).collect();
    bands.push("unknown");
    let age = coded_counts(&row, "b", &bands, files, "people.age_band")?;
    let known: i64 = row.try_get("kn")?;
    let novelty = BTreeMap::from([("known".to_owned(), known), ("new".to_owned(), files - known)]);
    let mut sums = [gender, age, novelty];
    // The linked files met, one by one; the files linked to no one are the
    // counts less them.
    let mut linked = Vec::new();
    for file in row.try_get::<Option<String>, _>("linked")?.as_deref().unwrap_or_default().split(',').filter(|f| !f.is_empty()) {
        let mut parts = file.split(' ');
        let corrupt = || crate::error::StorageError::Corrupt("people met: linked file");
        let (Some(pid), Some(g), Some(b), Some(kn), None) = (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(corrupt());
        };
        let (pid, known): (PersonId, bool) = (pid.parse().map_err(|_| corrupt())?, kn == "1");
        for (sum, k) in sums.iter_mut().zip([g, b, if known { "known" } else { "new" }]) {
            let n = sum.get_mut(k).filter(|n| **n > 0).ok_or_else(corrupt)?;
            *n -= 1;
        }
        linked.push((pid, g.to_owned(), b.to_owned(), known));
    }
    for sum in &mut sums {
        sum.retain(|_, n| *n > 0);
    }
    Ok(FilesMet { sums, files, linked })
}

/// The ages at which the figures' age bands ([`AgeBand::codes`], youngest
/// first) change: under 18, 18 to 24… 65 and over.
const AGE_LIMITS: [i32; 5] = [18, 25, 35, 50, 65];

/// The age bands of the figures: code, and the ages from and before which a
/// birth year falls in it (at the year asked for).
fn age_bands() -> Vec<(&'static str, Option<i32>, Option<i32>)> {
    let codes = AgeBand::codes();
    debug_assert_eq!(codes.len(), AGE_LIMITS.len() + 1);
    codes.into_iter().enumerate().map(|(i, code)| (code, i.checked_sub(1).map(|j| AGE_LIMITS[j]), AGE_LIMITS.get(i).copied())).collect()
}

/// The columns of the first read of [`people_on`] (`pp`: the file met;
/// `linked`: whether it has an active link; `known`: whether it was met
/// before the slice): `files`, the files met; `g0`… and `b0`…, how many of
/// each gender ([`Gender::codes`]) and age band at `year` ([`age_bands`],
/// then `unknown`: from the birth year, else the recorded band); `kn`, how
/// many were met before; `linked`, the linked files met, each as `file
/// gender band 0|1`, separated by commas (ids and codes hold neither).
fn described(linked: &str, known: &str, year: i32, p: &mut Params) -> String {
    let mut columns = vec!["COUNT(*) AS files".to_owned()];
    for (i, g) in Gender::codes().into_iter().enumerate() {
        columns.push(format!("COUNT(*) FILTER (WHERE pp.gender = {}) AS g{i}", p.push(g)));
    }
    // Born after `year - to` and no later than `year - from`.
    let mut case = "CASE WHEN pp.birth_year IS NULL THEN COALESCE(pp.age_band, 'unknown')".to_owned();
    let bands = age_bands();
    let unknown = bands.len();
    for (i, (code, from, to)) in bands.into_iter().enumerate() {
        let after = to.map(|to| format!("pp.birth_year > {}", p.push(i64::from(year - to))));
        let by = from.map(|from| format!("pp.birth_year <= {}", p.push(i64::from(year - from))));
        let code = p.push(code);
        let born = [after.clone(), by].into_iter().flatten().collect::<Vec<_>>().join(" AND ");
        columns.push(format!("COUNT(*) FILTER (WHERE {born} OR pp.birth_year IS NULL AND pp.age_band = {code}) AS b{i}"));
        case += &match after {
            Some(after) => format!(" WHEN {after} THEN {code}"),
            None => format!(" ELSE {code}"),
        };
    }
    case += " END";
    columns.push(format!("COUNT(*) FILTER (WHERE pp.birth_year IS NULL AND (pp.age_band IS NULL OR pp.age_band = 'unknown')) AS b{unknown}"));
    columns.push(format!("COUNT(*) FILTER (WHERE {known}) AS kn"));
    columns.push(format!(
        "string_agg(CASE WHEN {linked} THEN pp.id || ' ' || pp.gender || ' ' || {case} || ' ' || CASE WHEN {known} THEN '1' ELSE '0' END END, ',') AS linked"
    ));
    columns.join(", ")
}

/// The counts `{prefix}0`… of a row, one per code, which must add up to
/// `total` (a value outside the codes is a corrupt record: [`crate::reports::along`]).
fn coded_counts(row: &sqlx::any::AnyRow, prefix: &str, codes: &[&str], total: i64, what: &'static str) -> Result<BTreeMap<String, i64>> {
    let counts = (0..codes.len()).map(|i| row.try_get::<i64, _>(format!("{prefix}{i}").as_str())).collect::<Result<Vec<i64>, _>>()?;
    Ok(crate::reports::along(codes, &counts, total, what)?.into_iter().map(|(code, n)| (code.to_owned(), n)).collect())
}

/// The links that join files into people: active, and none with a file left out.
fn active_links(without: &[PersonId], p: &mut Params) -> String {
    let (out_a, out_b) = (leave_out("person_a", without, p), leave_out("person_b", without, p));
    format!("unlinked_at IS NULL{out_a}{out_b}")
}

/// The active links between files (none with a file left out), read once
/// for the slices counted together: (file, file, and for an organisation's
/// figures each file's first encounter with it).
#[derive(Default)]
struct Links(Vec<(PersonId, PersonId, Option<i64>, Option<i64>)>);

async fn links_on(c: &mut AnyConnection, scope: &Scope, without: &[PersonId]) -> Result<Links> {
    let mut p = Params::new();
    let active = active_links(without, &mut p);
    let mut out = Vec::new();
    match scope.figures_organisation() {
        // An organisation's figures read, with each link, when each of its
        // files was first met by the organisation (one read, instead of a
        // lookup per list of 500 files: 7.9 ms each on PostgreSQL).
        Some(org) => {
            let org = p.push_id(org);
            let sql = format!(
                "SELECT l.person_a, l.person_b, fa.first_at AS a_first, fb.first_at AS b_first FROM person_links l \
                 LEFT JOIN person_first_encounters fa ON fa.person_id = l.person_a AND fa.organisation_id = {org} \
                 LEFT JOIN person_first_encounters fb ON fb.person_id = l.person_b AND fb.organisation_id = {org} WHERE {active}"
            );
            for r in p.bind(read(&sql)).fetch_all(&mut *c).await? {
                out.push((r.try_get("person_a")?, r.try_get("person_b")?, r.try_get("a_first")?, r.try_get("b_first")?));
            }
        }
        None => {
            for r in p.bind(read(&format!("SELECT person_a, person_b FROM person_links WHERE {active}"))).fetch_all(&mut *c).await? {
                out.push((r.try_get("person_a")?, r.try_get("person_b")?, None, None));
            }
        }
    }
    Ok(Links(out))
}

/// Adds to the sums the people the linked files `met` (file, gender, band,
/// met before) are files of, joined by union-find over the active `links`;
/// the files linked to someone met, not met themselves, are asked whether
/// they were met before (an organisation's figures read it with the links).
async fn count_linked(
    c: &mut AnyConnection,
    scope: &Scope,
    s: &Slice,
    without: &[PersonId],
    met: Vec<(PersonId, String, String, bool)>,
    links: &Links,
    sums: &mut [BTreeMap<String, i64>; 3],
) -> Result<()> {
    let figures = scope.figures_organisation();
    let from = s.from.as_micros();
    let mut people = Components::default();
    // An organisation's figures: the linked files met before the slice;
    // another scope: every linked file, to be asked about.
    let (mut before, mut linked_files) = (HashSet::new(), HashSet::new());
    for &(a, b, first_a, first_b) in &links.0 {
        people.join(a, b);
        if figures.is_some() {
            for (file, first) in [(a, first_a), (b, first_b)] {
                if first.is_some_and(|t| t < from) {
                    before.insert(file);
                }
            }
        } else {
            linked_files.extend([a, b]);
        }
    }
    let mut known: HashSet<PersonId> = met.iter().filter(|f| f.3).map(|f| people.find(f.0)).collect();
    if figures.is_some() {
        // Any linked file met before makes its person known (only the
        // people met are counted: the others' roots are never asked about).
        for f in before {
            known.insert(people.find(f));
        }
    } else {
        // The files linked to someone met without being met themselves:
        // met before? Asked as a list of values, not as `people.id IN (…)`:
        // PostgreSQL scanned every file for the list (23 ms a lookup, 7.9 ms now).
        let met_ids: HashSet<PersonId> = met.iter().map(|f| f.0).collect();
        let roots: HashSet<PersonId> = met_ids.iter().map(|pid| people.find(*pid)).collect();
        let linked: Vec<PersonId> = linked_files.into_iter().filter(|f| !met_ids.contains(f) && roots.contains(&people.find(*f))).collect();
        for chunk in linked.chunks(500) {
            let mut p = Params::new();
            let list: Vec<String> = chunk.iter().map(|f| format!("({})", p.push_id(f))).collect();
            let sql = met_before(c, scope, s, without, &format!("(VALUES {}) f", list.join(", ")), "f.column1", &mut p);
            for r in p.bind(read(&sql)).fetch_all(&mut *c).await? {
                known.insert(people.find(r.try_get("pid")?));
            }
        }
    }
    // Each person met: their smallest file met, which describes them.
    let mut described: HashMap<PersonId, (PersonId, String, String)> = HashMap::new();
    for (pid, g, b, _) in met {
        let slot = described.entry(people.find(pid)).or_insert((pid, String::new(), String::new()));
        if pid <= slot.0 {
            *slot = (pid, g, b);
        }
    }
    for (person, (_, g, b)) in described {
        count(sums, g, b, known.contains(&person), 1);
    }
    Ok(())
}

/// Adds `n` people of gender `g`, age band `b`, known or new, to the sums.
fn count(sums: &mut [BTreeMap<String, i64>; 3], g: String, b: String, known: bool, n: i64) {
    for (sum, k) in sums.iter_mut().zip([g, b, if known { "known" } else { "new" }.to_owned()]) {
        *sum.entry(k).or_default() += n;
    }
}

/// The files of `from` (a `FROM` item naming each file in the column
/// `file`) that were met before the slice in the scope, as a query of one
/// column, `pid`, for a scope other than an organisation's figures (an
/// account's, which may stop at some territories; an organisation's figures
/// read each file's first encounter with it instead, kept in
/// `person_first_encounters` by the triggers of migration 0026: decision
/// 100). For each file, a lookup that goes from the file to its encounters
/// and stops at the first earlier one (`CROSS JOIN` keeps SQLite going that
/// way); PostgreSQL is asked for it row by row (`LATERAL … LIMIT 1`): as a
/// semi-join it hashed every earlier encounter of the organisation.
fn met_before(c: &AnyConnection, scope: &Scope, s: &Slice, without: &[PersonId], from: &str, file: &str, p: &mut Params) -> String {
    let before = p.push(s.from.as_micros());
    let earlier = scope.records(&EARLIER, p);
    let out = leave_out("ep2.person_id", without, p);
    let lookup = format!(
        "SELECT 1 AS hit FROM encounter_people ep2 CROSS JOIN encounters e2 \
         WHERE e2.id = ep2.encounter_id AND ep2.person_id = {file} AND e2.at < {before} AND {earlier}{out}"
    );
    if Backend::of(c) == Backend::Postgres {
        format!("SELECT {file} AS pid FROM {from} CROSS JOIN LATERAL ({lookup} LIMIT 1) x")
    } else {
        format!("SELECT {file} AS pid FROM {from} WHERE EXISTS ({lookup})")
    }
}

/// Files joined into people by their active links (union-find, paths halved).
#[derive(Default)]
struct Components {
    parent: HashMap<PersonId, PersonId>,
}

impl Components {
    /// The file standing for the person `file` belongs to.
    fn find(&mut self, file: PersonId) -> PersonId {
        let mut x = file;
        while let Some(&up) = self.parent.get(&x) {
            if up == x {
                break;
            }
            let grand = self.parent.get(&up).copied().unwrap_or(up);
            self.parent.insert(x, grand);
            x = grand;
        }
        x
    }

    /// Records that `a` and `b` are files of one person.
    fn join(&mut self, a: PersonId, b: PersonId) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent.insert(ra.max(rb), ra.min(rb));
        }
    }
}

// ---------------------------------------------------------------- distributions

/// Quantities handed out on the rounds of the slice (by the round's start,
/// planned if it did not start), by item name.
pub async fn distributions_by_item(db: &Db, scope: &Scope, s: &Slice) -> Result<Counts> {
    let mut p = Params::new();
    let w = period(s, "COALESCE(r.started_at, r.planned_start)", &mut p);
    let terr = territory(s, "r.territory_id", &mut p);
    let tm = team(s, "r.team_id", &mut p);
    let allowed = scope.records(&crate::rounds::ACCESS_COLUMNS_R, &mut p);
    grouped(
        db,
        &format!(
            "SELECT i.name AS k, CAST(SUM(d.quantity) AS BIGINT) AS n FROM round_distributions d JOIN rounds r ON r.id = d.round_id \
             JOIN distribution_items i ON i.id = d.item_id WHERE {w}{terr}{tm} AND {allowed} GROUP BY i.name"
        ),
        &p,
    )
    .await
}

// ---------------------------------------------------------------- referrals

/// A dimension of referrals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferralDim {
    /// The directory service (its name; empty: a partner outside the directory).
    Service,
    /// Where it stands now (its status: the outcome once answered).
    Outcome,
}

fn referrals_where(scope: &Scope, s: &Slice, person: bool, p: &mut Params) -> String {
    let w = period(s, "r.created_at", p);
    let terr = territory(s, "rp.territory_id", p);
    let allowed = scope.records(&crate::referrals::ACCESS_COLUMNS, p);
    let from = referrals_from(scope, s, person);
    format!("FROM {from} LEFT JOIN directory_services ds ON ds.id = r.service_id WHERE {w}{terr} AND {allowed}")
}

/// The referrals, `r`, with their person's file, `rp`, when the count reads
/// it (`person`: the needs) or the slice or scope stops at territories
/// (a referral's territory is its person's). An organisation's figures of
/// all its territories leave the file out: every referral names a file
/// (a foreign key), so the join drops none, and it was half of each count's
/// time at a million encounters (PostgreSQL 20 → 10 ms a month, SQLite 13
/// → 11 ms; decision 108).
fn referrals_from(scope: &Scope, s: &Slice, person: bool) -> &'static str {
    if person || s.territory.is_some() || scope.figures_organisation().is_none() {
        "referrals r JOIN people rp ON rp.id = r.person_id"
    } else {
        "referrals r"
    }
}

/// Referrals made in the slice by a dimension (not by team: a referral names
/// none), with those of people since erased (the tallies).
pub async fn referrals_by(db: &Db, scope: &Scope, s: &Slice, dim: ReferralDim) -> Result<Counts> {
    let mut c = db.pool().acquire().await?;
    let live = referrals_on(&mut c, scope, s, dim, &[]).await?;
    with_tallies(&mut c, scope, s, Measure::Referrals(dim), live).await
}

async fn referrals_on(c: &mut AnyConnection, scope: &Scope, s: &Slice, dim: ReferralDim, without: &[PersonId]) -> Result<Counts> {
    let expr = match dim {
        ReferralDim::Service => "COALESCE(ds.name, '')",
        ReferralDim::Outcome => "r.status",
    };
    let mut p = Params::new();
    let fw = referrals_where(scope, s, false, &mut p);
    let out = leave_out("r.person_id", without, &mut p);
    grouped_on(c, &format!("SELECT {expr} AS k, COUNT(*) AS n {fw}{out} GROUP BY {expr}"), &p).await
}

/// Referrals made in the slice by the needs recorded on the person's file (a
/// referral counts under each need of its person).
pub async fn referrals_by_need(db: &Db, scope: &Scope, s: &Slice, codes: &[&str]) -> Result<Counts> {
    let mut c = db.pool().acquire().await?;
    let live = referrals_by_need_on(&mut c, scope, s, codes, &[]).await?;
    let mut with = with_tallies(&mut c, scope, s, Measure::Needs, live).await?;
    with.retain(|(k, _)| codes.contains(&k.as_str()));
    Ok(with)
}

async fn referrals_by_need_on(c: &mut AnyConnection, scope: &Scope, s: &Slice, codes: &[&str], without: &[PersonId]) -> Result<Counts> {
    let mut p = Params::new();
    let fw = referrals_where(scope, s, true, &mut p);
    let out = leave_out("r.person_id", without, &mut p);
    per_code_on(c, "rp.needs", &format!("{fw}{out}"), codes, p).await
}

// ---------------------------------------------------------------- cases

/// Cases opened in the slice (not by team).
pub async fn cases_opened(db: &Db, scope: &Scope, s: &Slice) -> Result<i64> {
    let mut p = Params::new();
    let w = period(s, "c.created_at", &mut p);
    let terr = territory(s, "c.territory_id", &mut p);
    let allowed = scope.records(&crate::cases::CASE_COLUMNS, &mut p);
    scalar(db, &format!("SELECT COUNT(*) FROM cases c WHERE {w}{terr} AND {allowed}"), &p).await
}

/// Cases closed in the slice, by outcome.
pub async fn cases_closed_by_outcome(db: &Db, scope: &Scope, s: &Slice) -> Result<Counts> {
    let mut p = Params::new();
    let w = period(s, "c.closed_at", &mut p);
    let terr = territory(s, "c.territory_id", &mut p);
    let allowed = scope.records(&crate::cases::CASE_COLUMNS, &mut p);
    grouped(db, &format!("SELECT COALESCE(c.outcome, '') AS k, COUNT(*) AS n FROM cases c WHERE {w}{terr} AND {allowed} GROUP BY COALESCE(c.outcome, '')"), &p)
        .await
}

// ---------------------------------------------------------------- shelter

/// Shelter occupancy over the nights of the slice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Occupancy {
    /// Places × nights offered by the organisation's active facilities
    /// (a night's own number of places where one was set).
    pub offered: i64,
    /// Places × nights taken by stays (present or left) within the scope.
    pub taken: i64,
    /// Stays that overlap the nights.
    pub stays: i64,
}

/// Occupancy of the nights `[first, last)` (days since the epoch of
/// `veille_domain::shelter::Night`) of the facilities of `organisation` (not
/// by team). Facilities are not personal records; the stays are, scoped.
pub async fn occupancy(db: &Db, scope: &Scope, organisation: OrganisationId, s: &Slice, first: i64, last: i64) -> Result<Occupancy> {
    let nights = (last - first).max(0);
    let mut p = Params::new();
    let (a, b, n, org) = (p.push(first), p.push(last), p.push(nights), p.push_id(organisation));
    let terr = territory(s, "f.territory_id", &mut p);
    let offered = scalar(
        db,
        &format!(
            "SELECT CAST(COALESCE(SUM(f.places * ({n} - COALESCE(o.cn, 0)) + COALESCE(o.sp, 0)), 0) AS BIGINT) FROM facilities f \
             LEFT JOIN (SELECT facility_id, SUM(places) AS sp, COUNT(*) AS cn FROM facility_nights WHERE night >= {a} AND night < {b} GROUP BY facility_id) o \
               ON o.facility_id = f.id \
             WHERE f.organisation_id = {org} AND f.active = 1{terr}"
        ),
        &p,
    )
    .await?;
    let mut p = Params::new();
    let (a, b) = (p.push(first), p.push(last));
    let terr = territory(s, "s.territory_id", &mut p);
    let allowed = scope.records(&crate::shelter::STAY_COLUMNS, &mut p);
    let lo = format!("(CASE WHEN s.from_night > {a} THEN s.from_night ELSE {a} END)");
    let hi = format!("(CASE WHEN s.to_night < {b} THEN s.to_night ELSE {b} END)");
    let row = p
        .bind(read(&format!(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(s.places * ({hi} - {lo})), 0) AS BIGINT) AS taken FROM stays s \
             WHERE s.status IN ('present', 'left') AND s.from_night < {b} AND s.to_night > {a}{terr} AND {allowed}"
        )))
        .fetch_one(db.pool())
        .await?;
    Ok(Occupancy { offered, taken: row.try_get("taken")?, stays: row.try_get("n")? })
}

// ---------------------------------------------------------------- mediations and sessions

/// Mediations held in the slice, by outcome.
pub async fn mediations_by_outcome(db: &Db, scope: &Scope, s: &Slice) -> Result<Counts> {
    let mut p = Params::new();
    let w = period(s, "m.at", &mut p);
    let terr = territory(s, "m.territory_id", &mut p);
    let tm = team(s, "m.team_id", &mut p);
    let allowed = scope.records(&crate::neighbourhood::MEDIATION_COLUMNS, &mut p);
    grouped(db, &format!("SELECT m.outcome AS k, COUNT(*) AS n FROM mediations m WHERE {w}{terr}{tm} AND {allowed} GROUP BY m.outcome"), &p).await
}

/// Meetings and sessions held in the slice, by kind, with their attendance
/// (the people counted on the attendance sheet).
pub async fn sessions_by_kind(db: &Db, scope: &Scope, s: &Slice) -> Result<Vec<(String, i64, i64)>> {
    let mut p = Params::new();
    let w = period(s, "m.starts_at", &mut p);
    let terr = territory(s, "m.territory_id", &mut p);
    let allowed = scope.records(&crate::meetings::MEETING_COLUMNS, &mut p);
    let rows = p
        .bind(read(&format!(
            "SELECT m.kind AS k, COUNT(*) AS n, CAST(COALESCE(SUM(COALESCE(a.c, 0)), 0) AS BIGINT) AS att FROM meetings m \
             LEFT JOIN (SELECT meeting_id, SUM(count) AS c FROM meeting_attendees GROUP BY meeting_id) a ON a.meeting_id = m.id \
             WHERE m.status = 'held' AND {w}{terr} AND {allowed} GROUP BY m.kind"
        )))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok((r.try_get("k")?, r.try_get("n")?, r.try_get("att")?))).collect()
}

// ---------------------------------------------------------------- sites

/// The sites an organisation's figures count: those it recorded and those
/// it observed (sites are a shared register, decision 88).
const SITE_COLUMNS: RecordColumns<'static> = RecordColumns {
    organisation: "s.organisation_id",
    territory: Some("s.territory_id"),
    case: None,
    shared_with: Some(crate::sql::Shared::Exists("EXISTS (SELECT 1 FROM site_observations so WHERE so.site_id = s.id AND so.organisation_id = {org})")),
};

/// A dimension of sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteDim {
    /// Its kind (`camp`, `squat`…).
    Kind,
    /// Its territory (id; empty: none).
    Territory,
}

impl SiteDim {
    fn expr(self) -> &'static str {
        match self {
            SiteDim::Kind => "s.kind",
            SiteDim::Territory => "COALESCE(s.territory_id, '')",
        }
    }
}

/// Sites active at some time in the slice (recorded before its end, not
/// closed before its start), by a dimension (not by team: a site names none).
pub async fn sites_active_by(db: &Db, scope: &Scope, s: &Slice, dim: SiteDim) -> Result<Counts> {
    let mut p = Params::new();
    let (a, b) = (p.push(s.from.as_micros()), p.push(s.to.as_micros()));
    let terr = territory(s, "s.territory_id", &mut p);
    let allowed = scope.records(&SITE_COLUMNS, &mut p);
    let expr = dim.expr();
    grouped(
        db,
        &format!(
            "SELECT {expr} AS k, COUNT(*) AS n FROM sites s WHERE s.created_at < {b} AND (s.closed_at IS NULL OR s.closed_at >= {a}){terr} AND {allowed} \
             GROUP BY {expr}"
        ),
        &p,
    )
    .await
}

/// The estimated population on sites in each interval `[bounds[i],
/// bounds[i+1])`, by site kind: for each site, the people counted by its
/// latest observation in the interval, summed (a site not observed in an
/// interval counts nothing there). One query; the slice's period is ignored,
/// its territory applies. Returns (interval, kind, people).
pub async fn site_population(db: &Db, scope: &Scope, s: &Slice, bounds: &[Timestamp]) -> Result<Vec<(usize, String, i64)>> {
    let n = bounds.len().saturating_sub(1);
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut p = Params::new();
    let case = interval_case("o.observed_at", bounds[1..].iter().map(|b| b.as_micros()), &mut p);
    let (lo, hi) = (p.push(bounds[0].as_micros()), p.push(bounds[n].as_micros()));
    let terr = territory(s, "s.territory_id", &mut p);
    let allowed = scope.records(&SITE_COLUMNS, &mut p);
    let rows = p
        .bind(read(&format!(
            "SELECT b, k, CAST(SUM(people) AS BIGINT) AS n FROM (\
               SELECT b, k, people, ROW_NUMBER() OVER (PARTITION BY site_id, b ORDER BY observed_at DESC, id DESC) AS rn FROM (\
                 SELECT CAST({case} AS BIGINT) AS b, s.kind AS k, o.site_id, o.observed_at, o.id, o.people \
                 FROM site_observations o JOIN sites s ON s.id = o.site_id \
                 WHERE o.observed_at >= {lo} AND o.observed_at < {hi}{terr} AND {allowed}) x) y \
             WHERE rn = 1 GROUP BY b, k"
        )))
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let b: i64 = r.try_get("b")?;
        if let Ok(i) = usize::try_from(b) {
            out.push((i, r.try_get("k")?, r.try_get("n")?));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- trends

/// A kind of record counted over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trend {
    /// Reports received.
    Reports,
    /// Encounters.
    Encounters,
    /// Referrals made.
    Referrals,
    /// Mediations.
    Mediations,
}

/// How many records of a kind fall in each interval `[bounds[i], bounds[i+1])`,
/// in one query (the slice's period is ignored; its team and territory
/// apply). Encounters: a count of each interval, side by side in one row,
/// each a range of the organisation's index of encounters by instant, read
/// alone; numbering each of a year's encounters with its interval (a `CASE`
/// comparing it with each bound in turn) and grouping took SQLite 3.4× as
/// long at a million encounters, PostgreSQL 2.3× once vacuumed (before, its
/// counts visited the table's pages: decisions 100 and 101). The others,
/// which no index of the organisation's records by instant serves (reports
/// are also counted for the organisation that triaged them), in one pass
/// that numbers each record's interval. For an organisation's figures with
/// no team or territory chosen, its encounters are summed from their counts
/// by hour ([`encounter_hours`]) and its reports counted as index ranges
/// ([`reports_by_interval`]).
pub async fn trend(db: &Db, scope: &Scope, s: &Slice, kind: Trend, bounds: &[Timestamp]) -> Result<Vec<i64>> {
    let n = bounds.len().saturating_sub(1);
    if n == 0 {
        return Ok(Vec::new());
    }
    match (kind, scope.figures_organisation(), s.team, s.territory) {
        (Trend::Encounters, Some(org), None, None) => {
            if let Some(counts) = encounter_hours(db, org, bounds).await? {
                return Ok(counts);
            }
        }
        (Trend::Reports, Some(org), None, None) => {
            if let Some(counts) = reports_by_interval(db, org, bounds).await? {
                return Ok(counts);
            }
        }
        _ => {}
    }
    let mut p = Params::new();
    let (table, at, cols, terr_col, team_col) = match kind {
        Trend::Reports => ("reports", "created_at", crate::reports::ACCESS_COLUMNS, "territory_id", Some("team_id")),
        Trend::Encounters => ("encounters e", "e.at", crate::encounters::ACCESS_COLUMNS, "e.territory_id", None),
        Trend::Referrals => (referrals_from(scope, s, false), "r.created_at", crate::referrals::ACCESS_COLUMNS, "rp.territory_id", None),
        Trend::Mediations => ("mediations m", "m.at", crate::neighbourhood::MEDIATION_COLUMNS, "m.territory_id", Some("m.team_id")),
    };
    let terr = territory(s, terr_col, &mut p);
    let tm = match (kind, team_col, s.team) {
        (Trend::Encounters, _, Some(t)) => format!(" AND e.round_id IN (SELECT tr.id FROM rounds tr WHERE tr.team_id = {})", p.push_id(t)),
        (_, Some(c), Some(t)) => format!(" AND {c} = {}", p.push_id(t)),
        _ => String::new(),
    };
    let allowed = scope.records(&cols, &mut p);
    let micros: Vec<i64> = bounds.iter().map(|b| b.as_micros()).collect();
    let mut out = if kind == Trend::Encounters {
        side_by_side(db, p, &micros, |lo, hi| format!("SELECT COUNT(*) FROM {table} WHERE {at} >= {lo} AND {at} < {hi}{terr}{tm} AND {allowed}")).await?
    } else {
        let case = interval_case(at, micros[1..].iter().copied(), &mut p);
        let (lo, hi) = (p.push(micros[0]), p.push(micros[n]));
        let rows = p
            .bind(read(&format!(
                "SELECT CAST({case} AS BIGINT) AS b, COUNT(*) AS n FROM {table} WHERE {at} >= {lo} AND {at} < {hi}{terr}{tm} AND {allowed} GROUP BY 1"
            )))
            .fetch_all(db.pool())
            .await?;
        by_interval(&rows, n)?
    };
    if let (Trend::Referrals, Some(org)) = (kind, tallied_organisation(scope, s)) {
        // The referrals of people since erased, month by month, in one query.
        let months: Vec<Option<String>> = bounds
            .windows(2)
            .map(|w| months_of(&Slice { from: w[0], to: w[1], ..s.clone() }).filter(|m| m.len() == 1).and_then(|m| m.into_iter().next()))
            .collect();
        let keys = months.iter().flatten().cloned().collect();
        let by_month = tallies(&mut *db.pool().acquire().await?, org, Measure::Referrals(ReferralDim::Outcome), keys, "period").await?;
        for (slot, month) in out.iter_mut().zip(&months) {
            if let Some(m) = month {
                *slot += get(&by_month, m);
            }
        }
    }
    Ok(out)
}

/// The reports of `org`'s figures (those it handles and those it triaged,
/// `reports::ACCESS_COLUMNS` for `Scope::figures_of`) in each interval
/// `[bounds[i], bounds[i+1])`: per interval, the count of the reports it
/// handles plus that of the reports it triaged for another (or for no one),
/// each a range of an index read alone (migration 0031, decision 105) —
/// SQLite 77 → 12 ms for twelve months at 200,000 reports. `None` if the
/// reports' access columns ever name more than an organisation and the
/// organisation they are shared with (the count numbering each report's
/// interval then applies the scope as it is).
async fn reports_by_interval(db: &Db, org: OrganisationId, bounds: &[Timestamp]) -> Result<Option<Vec<i64>>> {
    let cols = crate::reports::ACCESS_COLUMNS;
    let (Some(crate::sql::Shared::Column(triage)), None) = (cols.shared_with, cols.case) else {
        return Ok(None);
    };
    let own = cols.organisation;
    let mut p = Params::new();
    let o = p.push_id(org);
    let micros: Vec<i64> = bounds.iter().map(|b| b.as_micros()).collect();
    let counts = side_by_side(db, p, &micros, |lo, hi| {
        format!(
            "SELECT (SELECT COUNT(*) FROM reports WHERE {own} = {o} AND created_at >= {lo} AND created_at < {hi}) + \
             (SELECT COUNT(*) FROM reports WHERE {triage} = {o} AND created_at >= {lo} AND created_at < {hi} \
              AND ({own} IS NULL OR {own} <> {o}))"
        )
    })
    .await?;
    Ok(Some(counts))
}

/// One count per interval `[bounds[i], bounds[i+1])`, side by side in one
/// row: `count` writes the query counting an interval from the placeholders
/// of its two bounds (each pushed on `p` after what it already holds).
async fn side_by_side(db: &Db, mut p: Params, bounds: &[i64], mut count: impl FnMut(&str, &str) -> String) -> Result<Vec<i64>> {
    let counts: Vec<String> = bounds
        .windows(2)
        .map(|w| {
            let (lo, hi) = (p.push(w[0]), p.push(w[1]));
            format!("CAST(({}) AS BIGINT)", count(&lo, &hi))
        })
        .collect();
    let row = p.bind(read(&format!("SELECT {}", counts.join(", ")))).fetch_one(db.pool()).await?;
    Ok((0..counts.len()).map(|i| row.try_get::<i64, _>(i)).collect::<std::result::Result<_, _>>()?)
}

/// `CASE WHEN column < u THEN 0 WHEN column < u' THEN 1 … END`: the number of
/// the interval a value falls in, given each interval's upper bound in turn
/// (the `b` of [`by_interval`]'s rows).
fn interval_case(column: &str, uppers: impl IntoIterator<Item = i64>, p: &mut Params) -> String {
    let mut case = String::from("CASE");
    for (i, b) in uppers.into_iter().enumerate() {
        case.push_str(&format!(" WHEN {column} < {} THEN {i}", p.push(b)));
    }
    case.push_str(" END");
    case
}

/// The counts of `n` intervals from rows `(b, n)`: an interval's number (see
/// [`interval_case`]) and its count; an interval with no row counts 0.
fn by_interval(rows: &[sqlx::any::AnyRow], n: usize) -> Result<Vec<i64>> {
    let mut out = vec![0; n];
    for r in rows {
        if let Some(slot) = usize::try_from(r.try_get::<i64, _>("b")?).ok().and_then(|i| out.get_mut(i)) {
            *slot = r.try_get("n")?;
        }
    }
    Ok(out)
}

/// An hour in microseconds: the unit of `encounter_hours` (migration 0030).
const HOUR: i64 = 3_600_000_000;

/// The encounters of `org` in each interval `[bounds[i], bounds[i+1])`,
/// summed from their counts by hour kept by the triggers of migration 0030
/// (decision 105): the scope of an organisation's figures is its own
/// encounters (`encounters::ACCESS_COLUMNS` name no sharing). `None` when a
/// bound is not a whole hour (a month in Paris time always starts on one).
async fn encounter_hours(db: &Db, org: OrganisationId, bounds: &[Timestamp]) -> Result<Option<Vec<i64>>> {
    let hours: Vec<i64> = bounds.iter().map(|b| b.as_micros()).collect();
    if hours.iter().any(|b| b.rem_euclid(HOUR) != 0) {
        return Ok(None);
    }
    let mut p = Params::new();
    let case = interval_case("hour", hours[1..].iter().map(|b| b / HOUR), &mut p);
    let (o, lo, hi) = (p.push_id(org), p.push(hours[0] / HOUR), p.push(hours[hours.len() - 1] / HOUR));
    let sql = format!(
        "SELECT CAST({case} AS BIGINT) AS b, CAST(SUM(n) AS BIGINT) AS n FROM encounter_hours \
         WHERE organisation_id = {o} AND hour >= {lo} AND hour < {hi} GROUP BY 1"
    );
    let rows = p.bind(read(&sql)).fetch_all(db.pool()).await?;
    Ok(Some(by_interval(&rows, hours.len() - 1)?))
}

// ---------------------------------------------------------------- what erased people counted

/// A figure that depends on people's files: what a person erased or
/// anonymised counted in it is kept in `figure_tallies` (decision 81).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Measure {
    /// The distinct files met.
    Files,
    /// The unique people met, by a dimension.
    People(PersonDim),
    /// Referrals by a dimension.
    Referrals(ReferralDim),
    /// Referrals by the needs of their person.
    Needs,
}

impl Measure {
    fn code(self) -> &'static str {
        match self {
            Measure::Files => "files",
            Measure::People(PersonDim::Gender) => "people.gender",
            Measure::People(PersonDim::AgeBand { .. }) => "people.age_band",
            Measure::People(PersonDim::Novelty) => "people.novelty",
            Measure::Referrals(ReferralDim::Service) => "referrals.service",
            Measure::Referrals(ReferralDim::Outcome) => "referrals.outcome",
            Measure::Needs => "referrals.need",
        }
    }

    /// Referrals add up month by month; unique files and people only within
    /// the calendar period they were counted in.
    fn monthly(self) -> bool {
        matches!(self, Measure::Referrals(_) | Measure::Needs)
    }
}

fn get(c: &Counts, code: &str) -> i64 {
    c.iter().filter(|(k, _)| k == code).map(|(_, n)| *n).sum()
}

/// ` AND column NOT IN (…)` leaving the files `ids` out of a count, or nothing.
fn leave_out(column: &str, ids: &[PersonId], p: &mut Params) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let list: Vec<String> = ids.iter().map(|i| p.push_id(i)).collect();
    format!(" AND {column} NOT IN ({})", list.join(", "))
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(n)).unwrap_or(d)
}

/// The calendar periods (Paris time) an instant counts in: its month
/// (`2026-03`), quarter (`2026-T1`) and year (`2026`), with their bounds.
fn calendar_periods(at: Timestamp) -> Vec<(String, NaiveDate, NaiveDate)> {
    let d = at.paris_date();
    let m = month_start(d);
    let q = NaiveDate::from_ymd_opt(d.year(), (d.month() - 1) / 3 * 3 + 1, 1).unwrap_or(m);
    let y = NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(m);
    vec![
        (format!("{:04}-{:02}", d.year(), d.month()), m, add_months(m, 1)),
        (format!("{:04}-T{}", d.year(), (d.month() - 1) / 3 + 1), q, add_months(q, 3)),
        (format!("{:04}", d.year()), y, add_months(y, 12)),
    ]
}

/// The key of the calendar period a slice covers exactly, if it does.
fn calendar_key(s: &Slice) -> Option<String> {
    calendar_periods(s.from)
        .into_iter()
        .find(|(_, a, b)| Timestamp::at_paris(*a, 0) == Some(s.from) && Timestamp::at_paris(*b, 0) == Some(s.to))
        .map(|(k, _, _)| k)
}

/// The months a slice covers exactly, if it starts and ends on a month.
fn months_of(s: &Slice) -> Option<Vec<String>> {
    let (a, b) = (s.from.paris_date(), s.to.paris_date());
    if Timestamp::at_paris(month_start(a), 0) != Some(s.from) || Timestamp::at_paris(month_start(b), 0) != Some(s.to) {
        return None;
    }
    let mut out = Vec::new();
    let mut m = month_start(a);
    while m < b && out.len() < 1200 {
        out.push(format!("{:04}-{:02}", m.year(), m.month()));
        m = add_months(m, 1);
    }
    Some(out)
}

/// Adds to live counts what people since erased counted in them: for an
/// organisation's figures (`Scope::figures_of`) over a calendar period (or
/// whole months for referrals) with no team or territory chosen. Other
/// slices (chosen days, a team, a territory) count the live records only.
async fn with_tallies(c: &mut AnyConnection, scope: &Scope, s: &Slice, m: Measure, mut live: Counts) -> Result<Counts> {
    let Some(org) = tallied_organisation(scope, s) else { return Ok(live) };
    let periods = match (m.monthly(), calendar_key(s)) {
        (true, _) => months_of(s),
        (false, Some(k)) => Some(vec![k]),
        (false, None) => None,
    };
    let Some(periods) = periods else { return Ok(live) };
    for (k, n) in tallies(c, org, m, periods, "category").await? {
        match live.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 += n,
            None => live.push((k, n)),
        }
    }
    Ok(live)
}

/// The organisation whose tallies a count adds: an organisation's figures
/// (`Scope::figures_of`) with no team or territory chosen.
fn tallied_organisation(scope: &Scope, s: &Slice) -> Option<OrganisationId> {
    scope.figures_organisation().filter(|_| s.team.is_none() && s.territory.is_none())
}

/// An organisation's tallies of a measure over `periods`, summed by
/// `column` (`category` or `period`).
async fn tallies(c: &mut AnyConnection, org: OrganisationId, m: Measure, periods: Vec<String>, column: &str) -> Result<Counts> {
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::new();
    let (o, code) = (p.push_id(org), p.push(m.code()));
    let list: Vec<String> = periods.into_iter().map(|k| p.push(k)).collect();
    let sql = format!(
        "SELECT {column} AS k, CAST(SUM(n) AS BIGINT) AS n FROM figure_tallies WHERE organisation_id = {o} AND measure = {code} AND period IN ({}) GROUP BY {column}",
        list.join(", ")
    );
    grouped_on(c, &sql, &p).await
}

/// Keeps in `figure_tallies` what the files `people` count in the figures of
/// every organisation and calendar period they count in, before their rows
/// go (erasure, anonymisation): per organisation, period and figure, the
/// count with them minus the count without them, so the figures of past
/// periods stay what they were (decision 81). Links and novelty make this
/// more than their own rows: a file that joined two others into one person,
/// or made another one "known", changes how those are counted, so the
/// periods in which any file linked to them was met are counted again too.
/// The tallies hold counts over categories and periods, no id.
pub async fn tally_out(tx: &mut Tx, people: &[PersonId]) -> Result<()> {
    if people.is_empty() {
        return Ok(());
    }
    let c: &mut AnyConnection = tx;
    let mut p = Params::new();
    let seeds: Vec<String> = people.iter().map(|i| format!("SELECT CAST({} AS TEXT)", p.push_id(i))).collect();
    let sql = format!(
        "WITH RECURSIVE links(a, b) AS (SELECT person_a, person_b FROM person_links WHERE unlinked_at IS NULL \
                                        UNION SELECT person_b, person_a FROM person_links WHERE unlinked_at IS NULL), \
         reach(pid) AS ({} UNION SELECT l.b FROM reach r JOIN links l ON l.a = r.pid), \
         counted(o, at) AS (SELECT e.organisation_id, e.at FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id \
                              WHERE ep.person_id IN (SELECT pid FROM reach) \
                            UNION SELECT r.organisation_id, r.created_at FROM referrals r WHERE r.person_id IN (SELECT pid FROM reach)) \
         SELECT DISTINCT o, at FROM counted",
        seeds.join(" UNION ")
    );
    let mut periods: BTreeSet<(String, String, NaiveDate, NaiveDate)> = BTreeSet::new();
    for r in p.bind(read(&sql)).fetch_all(&mut *c).await? {
        let org: String = r.try_get("o")?;
        for (k, a, b) in calendar_periods(Timestamp::from_micros(r.try_get("at")?)) {
            periods.insert((org.clone(), k, a, b));
        }
    }
    let mut tallies: BTreeMap<(String, String, &'static str, String), i64> = BTreeMap::new();
    for (org, key, a, b) in periods {
        let (Some(from), Some(to)) = (Timestamp::at_paris(a, 0), Timestamp::at_paris(b, 0)) else { continue };
        let organisation: OrganisationId = org.parse().map_err(|_| crate::error::StorageError::Corrupt("encounters.organisation_id"))?;
        let scope = Scope::figures_of(organisation);
        let s = Slice { from, to, team: None, territory: None };
        let mut diff = |m: Measure, with: Counts, without: Counts| {
            for (k, n) in &with {
                *tallies.entry((org.clone(), key.clone(), m.code(), k.clone())).or_default() += n;
            }
            for (k, n) in without {
                *tallies.entry((org.clone(), key.clone(), m.code(), k)).or_default() -= n;
            }
        };
        let files = (files_on(c, &scope, &s, &[]).await?, files_on(c, &scope, &s, people).await?);
        diff(Measure::Files, vec![(String::new(), files.0)], vec![(String::new(), files.1)]);
        let (mut with, mut without) = (people_on(c, &scope, &s, a.year(), &[]).await?, people_on(c, &scope, &s, a.year(), people).await?);
        for dim in PeopleCounts::dims(a.year()) {
            diff(Measure::People(dim), std::mem::take(with.by_mut(dim)), std::mem::take(without.by_mut(dim)));
        }
        if key.len() == 7 {
            for dim in [ReferralDim::Service, ReferralDim::Outcome] {
                let (with, without) = (referrals_on(c, &scope, &s, dim, &[]).await?, referrals_on(c, &scope, &s, dim, people).await?);
                diff(Measure::Referrals(dim), with, without);
            }
            let codes = veille_domain::people::Need::codes();
            let (with, without) = (referrals_by_need_on(c, &scope, &s, &codes, &[]).await?, referrals_by_need_on(c, &scope, &s, &codes, people).await?);
            diff(Measure::Needs, with, without);
        }
    }
    for ((org, period, measure, category), n) in tallies.into_iter().filter(|(_, n)| *n != 0) {
        sqlx::query("INSERT INTO figure_tallies (id, organisation_id, period, measure, category, n) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(org)
            .bind(period)
            .bind(measure)
            .bind(category)
            .bind(n)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris(y: i32, m: u32, d: u32) -> Timestamp {
        Timestamp::at_paris(NaiveDate::from_ymd_opt(y, m, d).unwrap(), 0).unwrap()
    }

    fn slice(from: Timestamp, to: Timestamp) -> Slice {
        Slice { from, to, team: None, territory: None }
    }

    /// Every table the figures read (a table of the schema named after
    /// `FROM` or `JOIN` in this file) moves the figures' epochs when a row
    /// changes (migration 0028): a table added to the figures without its
    /// triggers would let a kept dashboard go stale (decision 103).
    #[tokio::test]
    async fn every_table_the_figures_read_moves_their_epochs() {
        let path = std::env::temp_dir().join(format!("veille-epochs-{}.db", uuid::Uuid::now_v7()));
        let db = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        db.migrate().await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'").fetch_all(db.pool()).await.unwrap();
        let triggers: Vec<String> =
            sqlx::query_scalar("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'figures_%'").fetch_all(db.pool()).await.unwrap();
        drop(db);
        let _ = std::fs::remove_file(&path);
        let source = include_str!("figures.rs");
        let mut read = BTreeSet::new();
        for word in ["FROM ", "JOIN "] {
            for (i, _) in source.match_indices(word) {
                let name: String = source[i + word.len()..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if tables.contains(&name) && name != "figure_epochs" {
                    read.insert(name);
                }
            }
        }
        // `people_met` is derived from the encounters and their people by
        // triggers (migration 0029), `encounter_hours` from the encounters
        // (migration 0030): each change of them comes with one of theirs,
        // which moves the same days, so their triggers are asked for.
        assert!(read.remove("people_met"), "{read:?}");
        assert!(read.remove("encounter_hours"), "{read:?}");
        read.extend(["encounters".to_owned(), "encounter_people".to_owned()]);
        assert!(["encounters", "stays", "site_observations", "person_first_encounters"].iter().all(|t| read.contains(*t)), "{read:?}");
        let missing: Vec<&String> = read.iter().filter(|t| !triggers.contains(t)).collect();
        assert!(missing.is_empty(), "tables the figures read without the triggers of their epochs: {missing:?}");
    }

    #[test]
    fn linked_files_are_one_person_whatever_the_order_of_their_links() {
        let f: Vec<PersonId> = (0..6).map(|_| PersonId::new()).collect();
        // A chain 0-1-2 given in an order that meets two roots, a pair 3-4, 5 alone.
        for order in [[(0, 1), (2, 1), (3, 4)], [(2, 1), (3, 4), (1, 0)], [(3, 4), (1, 0), (1, 2)]] {
            let mut c = Components::default();
            for (a, b) in order {
                c.join(f[a], f[b]);
            }
            let roots: Vec<PersonId> = f.iter().map(|x| c.find(*x)).collect();
            assert!(roots[0] == roots[1] && roots[1] == roots[2], "{order:?}");
            assert_eq!(roots[3], roots[4]);
            assert_ne!(roots[0], roots[3]);
            assert_eq!(roots[5], f[5], "a file without links stands for itself");
            assert!(roots[0] != roots[5] && roots[3] != roots[5]);
        }
    }

    #[test]
    fn an_instant_counts_in_its_paris_month_quarter_and_year() {
        // 23:30 UTC on 31 March is already 1 April in Paris (summer time).
        let at = paris(2026, 4, 1).plus_seconds(-1);
        let keys: Vec<String> = calendar_periods(at).into_iter().map(|(k, _, _)| k).collect();
        assert_eq!(keys, ["2026-03", "2026-T1", "2026"]);
        let keys: Vec<String> = calendar_periods(paris(2026, 4, 1)).into_iter().map(|(k, _, _)| k).collect();
        assert_eq!(keys, ["2026-04", "2026-T2", "2026"]);
    }

    #[test]
    fn a_slice_is_a_calendar_period_only_when_it_covers_one_exactly() {
        assert_eq!(calendar_key(&slice(paris(2026, 12, 1), paris(2027, 1, 1))).as_deref(), Some("2026-12"));
        assert_eq!(calendar_key(&slice(paris(2026, 10, 1), paris(2027, 1, 1))).as_deref(), Some("2026-T4"));
        assert_eq!(calendar_key(&slice(paris(2026, 1, 1), paris(2027, 1, 1))).as_deref(), Some("2026"));
        assert_eq!(calendar_key(&slice(paris(2026, 12, 1), paris(2026, 12, 15))), None, "chosen days");
        assert_eq!(calendar_key(&slice(paris(2026, 11, 1), paris(2027, 1, 1))), None, "two months");
        assert_eq!(months_of(&slice(paris(2026, 11, 1), paris(2027, 2, 1))).unwrap(), ["2026-11", "2026-12", "2027-01"]);
        assert_eq!(months_of(&slice(paris(2026, 11, 2), paris(2027, 2, 1))), None);
    }
}
