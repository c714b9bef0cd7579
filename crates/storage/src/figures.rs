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

use sqlx::Row;
use veille_domain::{OrganisationId, TeamId, TerritoryId, Timestamp};

use crate::db::Db;
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

async fn grouped(db: &Db, sql: &str, p: &Params) -> Result<Counts> {
    let rows = p.bind(sqlx::query(sql)).fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let k: Option<String> = r.try_get("k")?;
        out.push((k.unwrap_or_default(), r.try_get::<i64, _>("n")?));
    }
    Ok(out)
}

async fn scalar(db: &Db, sql: &str, p: &Params) -> Result<i64> {
    Ok(p.bind_scalar(sqlx::query_scalar::<_, i64>(sql)).fetch_one(db.pool()).await?)
}

/// A sum of `CASE` tests, one per code, as one row: how many rows hold each
/// code in a comma-separated list column.
async fn per_code(db: &Db, list: &str, from_where: &str, codes: &[&str], mut p: Params) -> Result<Counts> {
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
    let row = p.bind(sqlx::query(&format!("SELECT {} {from_where}", sums.join(", ")))).fetch_one(db.pool()).await?;
    codes.iter().enumerate().map(|(i, c)| Ok(((*c).to_owned(), row.try_get::<i64, _>(format!("c{i}").as_str())?))).collect()
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

/// Reports received in the slice, by a dimension.
pub async fn reports_by(db: &Db, scope: &Scope, s: &Slice, dim: ReportDim) -> Result<Counts> {
    let expr = match dim {
        ReportDim::Source => "source",
        ReportDim::Level => "CAST(COALESCE(level_override, level) AS TEXT)",
        ReportDim::Channel => "channel",
        ReportDim::Status => "status",
        ReportDim::Territory => "COALESCE(territory_id, '')",
    };
    let mut p = Params::new();
    let fw = reports_where(scope, s, &mut p);
    grouped(db, &format!("SELECT {expr} AS k, COUNT(*) AS n {fw} GROUP BY {expr}"), &p).await
}

/// Reports received in the slice holding each situation type (a report with
/// several types counts in each).
pub async fn reports_by_situation(db: &Db, scope: &Scope, s: &Slice, codes: &[&str]) -> Result<Counts> {
    let mut p = Params::new();
    let fw = reports_where(scope, s, &mut p);
    per_code(db, "situations", &fw, codes, p).await
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

/// Response times; `answer_secs` are the deadlines of levels 1 and 2.
pub async fn response_times(db: &Db, scope: &Scope, s: &Slice, answer_secs: [i64; 2]) -> Result<ResponseTimes> {
    let mut p = Params::new();
    let fw = reports_where(scope, s, &mut p);
    let (d1, d2) = (p.push(answer_secs[0] * 1_000_000), p.push(answer_secs[1] * 1_000_000));
    let row = p
        .bind(sqlx::query(&format!(
            "SELECT COUNT(*) AS received, \
             CAST(COALESCE(SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS answered, \
             CAST(COALESCE(SUM(CASE WHEN answered_at IS NOT NULL AND answered_at - created_at <= \
               (CASE WHEN COALESCE(level_override, level) = 2 THEN {d2} ELSE {d1} END) THEN 1 ELSE 0 END), 0) AS BIGINT) AS within \
             {fw} AND duplicate_of IS NULL"
        )))
        .fetch_one(db.pool())
        .await?;
    let mut out =
        ResponseTimes { received: row.try_get("received")?, answered: row.try_get("answered")?, within_deadline: row.try_get("within")?, ..Default::default() };
    // Nearest-rank percentiles: the value of rank ceil(n × q).
    let mut p = Params::new();
    let fw = reports_where(scope, s, &mut p);
    let rows = p
        .bind(sqlx::query(&format!(
            "SELECT d, rn, n FROM (SELECT answered_at - created_at AS d, ROW_NUMBER() OVER (ORDER BY answered_at - created_at) AS rn, \
             COUNT(*) OVER () AS n {fw} AND duplicate_of IS NULL AND answered_at IS NOT NULL) x \
             WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 90 + 99) / 100"
        )))
        .fetch_all(db.pool())
        .await?;
    for r in rows {
        let (d, rn, n): (i64, i64, i64) = (r.try_get("d")?, r.try_get("rn")?, r.try_get("n")?);
        if rn == (n * 50 + 99) / 100 {
            out.median_secs = Some(d / 1_000_000);
        }
        if rn == (n * 90 + 99) / 100 {
            out.p90_secs = Some(d / 1_000_000);
        }
    }
    Ok(out)
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

/// Totals of the encounters in the slice.
pub async fn encounter_totals(db: &Db, scope: &Scope, s: &Slice) -> Result<EncounterTotals> {
    let mut p = Params::new();
    let w = encounters_where(scope, s, &mut p);
    let row = p
        .bind(sqlx::query(&format!("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(e.unidentified_count), 0) AS BIGINT) AS u FROM encounters e WHERE {w}")))
        .fetch_one(db.pool())
        .await?;
    let mut p2 = Params::new();
    let w2 = encounters_where(scope, s, &mut p2);
    let files =
        scalar(db, &format!("SELECT COUNT(DISTINCT ep.person_id) FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id WHERE {w2}"), &p2)
            .await?;
    Ok(EncounterTotals { encounters: row.try_get("n")?, unidentified: row.try_get("u")?, files })
}

/// Encounters in the slice by the territory they were placed in (its id;
/// empty: no point, or a point outside every territory).
pub async fn encounters_by_territory(db: &Db, scope: &Scope, s: &Slice) -> Result<Counts> {
    let mut p = Params::new();
    let w = encounters_where(scope, s, &mut p);
    grouped(db, &format!("SELECT COALESCE(e.territory_id, '') AS k, COUNT(*) AS n FROM encounters e WHERE {w} GROUP BY COALESCE(e.territory_id, '')"), &p).await
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

/// The unique people met in the slice by a dimension: files linked to each
/// other (active links, followed transitively) count as one person, described
/// by the file met with the smallest id.
pub async fn people_by(db: &Db, scope: &Scope, s: &Slice, dim: PersonDim) -> Result<Counts> {
    let mut p = Params::new();
    let w = encounters_where(scope, s, &mut p);
    let prefix = format!(
        "WITH RECURSIVE met(pid) AS (SELECT DISTINCT ep.person_id FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id WHERE {w}), \
         links(a, b) AS (SELECT person_a, person_b FROM person_links WHERE unlinked_at IS NULL \
                         UNION SELECT person_b, person_a FROM person_links WHERE unlinked_at IS NULL), \
         reach(pid, other) AS (SELECT pid, pid FROM met UNION SELECT r.pid, l.b FROM reach r JOIN links l ON l.a = r.other), \
         root(pid, rep) AS (SELECT pid, MIN(other) FROM reach GROUP BY pid), \
         canon(rep, pid) AS (SELECT rep, MIN(pid) FROM root GROUP BY rep)"
    );
    let sql = match dim {
        PersonDim::Gender => format!("{prefix} SELECT pp.gender AS k, COUNT(*) AS n FROM canon c JOIN people pp ON pp.id = c.pid GROUP BY pp.gender"),
        PersonDim::AgeBand { year } => {
            let y = p.push(i64::from(year));
            let band = format!(
                "CASE WHEN pp.birth_year IS NULL THEN COALESCE(pp.age_band, 'unknown') \
                 WHEN {y} - pp.birth_year < 18 THEN 'under_18' WHEN {y} - pp.birth_year < 25 THEN '18_24' \
                 WHEN {y} - pp.birth_year < 35 THEN '25_34' WHEN {y} - pp.birth_year < 50 THEN '35_49' \
                 WHEN {y} - pp.birth_year < 65 THEN '50_64' ELSE '65_plus' END"
            );
            format!("{prefix}, banded(k) AS (SELECT {band} FROM canon c JOIN people pp ON pp.id = c.pid) SELECT k, COUNT(*) AS n FROM banded GROUP BY k")
        }
        PersonDim::Novelty => {
            let before = p.push(s.from.as_micros());
            let earlier = scope.records(&EARLIER, &mut p);
            format!(
                "{prefix}, known(rep) AS (SELECT DISTINCT root.rep FROM root JOIN reach ON reach.pid = root.pid \
                   JOIN encounter_people ep2 ON ep2.person_id = reach.other JOIN encounters e2 ON e2.id = ep2.encounter_id \
                   WHERE e2.at < {before} AND {earlier}) \
                 SELECT CASE WHEN k.rep IS NULL THEN 'new' ELSE 'known' END AS k, COUNT(*) AS n \
                 FROM canon c LEFT JOIN known k ON k.rep = c.rep GROUP BY CASE WHEN k.rep IS NULL THEN 'new' ELSE 'known' END"
            )
        }
    };
    grouped(db, &sql, &p).await
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

fn referrals_where(scope: &Scope, s: &Slice, p: &mut Params) -> String {
    let w = period(s, "r.created_at", p);
    let terr = territory(s, "rp.territory_id", p);
    let allowed = scope.records(&crate::referrals::ACCESS_COLUMNS, p);
    format!("FROM referrals r JOIN people rp ON rp.id = r.person_id LEFT JOIN directory_services ds ON ds.id = r.service_id WHERE {w}{terr} AND {allowed}")
}

/// Referrals made in the slice by a dimension (not by team: a referral names none).
pub async fn referrals_by(db: &Db, scope: &Scope, s: &Slice, dim: ReferralDim) -> Result<Counts> {
    let expr = match dim {
        ReferralDim::Service => "COALESCE(ds.name, '')",
        ReferralDim::Outcome => "r.status",
    };
    let mut p = Params::new();
    let fw = referrals_where(scope, s, &mut p);
    grouped(db, &format!("SELECT {expr} AS k, COUNT(*) AS n {fw} GROUP BY {expr}"), &p).await
}

/// Referrals made in the slice by the needs recorded on the person's file (a
/// referral counts under each need of its person).
pub async fn referrals_by_need(db: &Db, scope: &Scope, s: &Slice, codes: &[&str]) -> Result<Counts> {
    let mut p = Params::new();
    let fw = referrals_where(scope, s, &mut p);
    per_code(db, "rp.needs", &fw, codes, p).await
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
        .bind(sqlx::query(&format!(
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
        .bind(sqlx::query(&format!(
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
    let mut case = String::from("CASE");
    for (i, b) in bounds[1..].iter().enumerate() {
        case.push_str(&format!(" WHEN o.observed_at < {} THEN {i}", p.push(b.as_micros())));
    }
    case.push_str(" END");
    let (lo, hi) = (p.push(bounds[0].as_micros()), p.push(bounds[n].as_micros()));
    let terr = territory(s, "s.territory_id", &mut p);
    let allowed = scope.records(&SITE_COLUMNS, &mut p);
    let rows = p
        .bind(sqlx::query(&format!(
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
/// in one query (the slice's period is ignored; its team and territory apply).
pub async fn trend(db: &Db, scope: &Scope, s: &Slice, kind: Trend, bounds: &[Timestamp]) -> Result<Vec<i64>> {
    let n = bounds.len().saturating_sub(1);
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut p = Params::new();
    let (table, at, cols, terr_col, team_col) = match kind {
        Trend::Reports => ("reports", "created_at", crate::reports::ACCESS_COLUMNS, "territory_id", Some("team_id")),
        Trend::Encounters => ("encounters e", "e.at", crate::encounters::ACCESS_COLUMNS, "e.territory_id", None),
        Trend::Referrals => ("referrals r JOIN people rp ON rp.id = r.person_id", "r.created_at", crate::referrals::ACCESS_COLUMNS, "rp.territory_id", None),
        Trend::Mediations => ("mediations m", "m.at", crate::neighbourhood::MEDIATION_COLUMNS, "m.territory_id", Some("m.team_id")),
    };
    let mut case = String::from("CASE");
    for (i, b) in bounds[1..].iter().enumerate() {
        case.push_str(&format!(" WHEN {at} < {} THEN {i}", p.push(b.as_micros())));
    }
    case.push_str(" END");
    let (lo, hi) = (p.push(bounds[0].as_micros()), p.push(bounds[n].as_micros()));
    let terr = territory(s, terr_col, &mut p);
    let tm = match (kind, team_col, s.team) {
        (Trend::Encounters, _, Some(t)) => format!(" AND e.round_id IN (SELECT tr.id FROM rounds tr WHERE tr.team_id = {})", p.push_id(t)),
        (_, Some(c), Some(t)) => format!(" AND {c} = {}", p.push_id(t)),
        _ => String::new(),
    };
    let allowed = scope.records(&cols, &mut p);
    let rows = p
        .bind(sqlx::query(&format!(
            "SELECT CAST({case} AS BIGINT) AS b, COUNT(*) AS n FROM {table} WHERE {at} >= {lo} AND {at} < {hi}{terr}{tm} AND {allowed} GROUP BY 1"
        )))
        .fetch_all(db.pool())
        .await?;
    let mut out = vec![0; n];
    for r in rows {
        let b: i64 = r.try_get("b")?;
        if let Some(slot) = usize::try_from(b).ok().and_then(|i| out.get_mut(i)) {
            *slot = r.try_get("n")?;
        }
    }
    Ok(out)
}
