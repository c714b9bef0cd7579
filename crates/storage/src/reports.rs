//! Signalements: the report itself, internal notes, photos, the routing table,
//! duplicates, and the submission counter used to rate-limit the public form.
//! Every query that returns or counts reports takes the caller's [`Scope`];
//! the report's timeline is in [`crate::timeline`], written by the commands.

use sqlx::Row;
use veille_domain::reports::{Channel, Deadlines, Outcome, RoutingRule, Source, Status};
use veille_domain::{OrganisationId, ReportId, RoutingRuleId, SiteId, TeamId, TerritoryId, Timestamp, UserId};

use crate::db::{b, claim, real_text, Backend, Db, Tx, Versioned};
use crate::error::{Result, ResultExt, StorageError};
use crate::sql::{Params, RecordColumns, Shared};
use crate::Scope;

pub use veille_domain::reports::{FLAGS, SITUATIONS};

/// A stored report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Id.
    pub id: ReportId,
    /// Short human code (`S-7KQ2-M4XD`).
    pub reference: String,
    /// When received.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Who reported.
    pub source: Source,
    /// How it came in.
    pub channel: Channel,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Address or place as typed.
    pub address: String,
    /// Territory containing the point.
    pub territory: Option<TerritoryId>,
    /// Situation types reported (codes of [`SITUATIONS`]).
    pub situations: Vec<String>,
    /// Aggravating flags ticked (codes of [`FLAGS`]).
    pub seen: Vec<String>,
    /// Adults seen.
    pub adults: i64,
    /// Children seen.
    pub children: i64,
    /// Tents seen.
    pub tents: i64,
    /// Free text.
    pub description: String,
    /// Reporter's identity as typed by staff at partner intake: name, function,
    /// structure (restricted, like the contact fields).
    pub reporter_name: Option<String>,
    /// Reporter's e-mail (restricted).
    pub contact_email: Option<String>,
    /// Reporter's phone (restricted).
    pub contact_phone: Option<String>,
    /// Whether the reporter agreed to be contacted and to receive updates.
    pub contact_consent: bool,
    /// Whether the e-mail address was confirmed (the code mailed to it was typed back).
    pub email_confirmed: bool,
    /// Hash of the confirmation code mailed to the reporter, until confirmed.
    #[serde(skip)]
    pub email_confirm_hash: Option<String>,
    /// Level computed by the triage rules (1 ordinary, local team; 2 complex, social emergency mission).
    pub level: i64,
    /// Reason codes of the triage.
    pub reasons: Vec<String>,
    /// Level set by a person, overriding the computed one.
    pub level_override: Option<i64>,
    /// Why the level was overridden.
    pub override_reason: Option<String>,
    /// Where it is.
    pub status: Status,
    /// What came of it, once closed.
    pub outcome: Option<Outcome>,
    /// Organisation in charge.
    pub organisation: Option<OrganisationId>,
    /// Coordinating organisation at the time of receipt (keeps oversight).
    pub triage_organisation: Option<OrganisationId>,
    /// Team in charge.
    pub team: Option<TeamId>,
    /// Answer the reporter sees.
    pub public_answer: String,
    /// When the answer was last written.
    pub public_answer_at: Option<Timestamp>,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// The main report this one was attached to as a duplicate.
    pub duplicate_of: Option<ReportId>,
    /// A known site this report is about.
    pub site_id: Option<SiteId>,
    /// When a person first acted on it (staff intake, note, status, level,
    /// answer, duplicate decision).
    pub acknowledged_at: Option<Timestamp>,
    /// When it was first answered (public answer published, or status
    /// answered or closed).
    pub answered_at: Option<Timestamp>,
}

impl Report {
    /// The level in force: the override if any, else the computed one.
    pub fn effective_level(&self) -> i64 {
        self.level_override.unwrap_or(self.level)
    }
    /// When it must be acknowledged by.
    pub fn acknowledge_due(&self, d: &Deadlines) -> Timestamp {
        self.created_at.plus_seconds(d.acknowledge(self.effective_level()))
    }
    /// When it must be answered by.
    pub fn answer_due(&self, d: &Deadlines) -> Timestamp {
        self.created_at.plus_seconds(d.answer(self.effective_level()))
    }
    /// Whether it is still open and past a deadline it has not met.
    pub fn is_overdue(&self, d: &Deadlines, now: Timestamp) -> bool {
        self.status.is_open() && ((self.acknowledged_at.is_none() && now > self.acknowledge_due(d)) || (self.answered_at.is_none() && now > self.answer_due(d)))
    }
}

/// What is written when a report is received.
#[derive(Clone, Debug)]
pub struct NewReport {
    /// Reference.
    pub reference: String,
    /// Hash of the follow-up token.
    pub token_hash: String,
    /// Source.
    pub source: Source,
    /// Channel.
    pub channel: Channel,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Address.
    pub address: String,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Situation types.
    pub situations: Vec<String>,
    /// Aggravating flags.
    pub seen: Vec<String>,
    /// Adults.
    pub adults: i64,
    /// Children.
    pub children: i64,
    /// Tents.
    pub tents: i64,
    /// Description.
    pub description: String,
    /// Reporter's identity (partner intake).
    pub reporter_name: Option<String>,
    /// E-mail.
    pub contact_email: Option<String>,
    /// Phone.
    pub contact_phone: Option<String>,
    /// Consent.
    pub contact_consent: bool,
    /// Hash of the e-mail confirmation code.
    pub email_confirm_hash: Option<String>,
    /// The e-mail needs no confirmation (typed by staff from what the reporter said).
    pub email_confirmed: bool,
    /// A person took it in at once (partner intake by staff).
    pub acknowledged: bool,
    /// A known site.
    pub site_id: Option<SiteId>,
    /// Level.
    pub level: i64,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Status.
    pub status: Status,
    /// Organisation in charge.
    pub organisation: Option<OrganisationId>,
    /// Coordinating organisation.
    pub triage_organisation: Option<OrganisationId>,
    /// Team.
    pub team: Option<TeamId>,
}

const COLUMNS: &str = "id, reference, created_at, updated_at, source, channel, lon, lat, address, territory_id, situations, seen, \
    adults, children, tents, description, reporter_name, contact_email, contact_phone, contact_consent, email_confirmed, email_confirm_hash, \
    level, reasons, level_override, override_reason, status, outcome, organisation_id, triage_organisation_id, team_id, public_answer, \
    public_answer_at, version, duplicate_of, site_id, acknowledged_at, answered_at";

/// Where reports keep what the read rules look at: the owning organisation,
/// the territory, and the coordinating organisation they are shared with.
pub const ACCESS_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "organisation_id", territory: Some("territory_id"), case: None, shared_with: Some(Shared::Column("triage_organisation_id")) };

pub(crate) fn codes(text: &str) -> Vec<String> {
    text.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Report> {
    let seen: String = r.try_get("seen")?;
    let situations: String = r.try_get("situations")?;
    let reasons: String = r.try_get("reasons")?;
    Ok(Report {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        updated_at: Timestamp::from_micros(r.try_get("updated_at")?),
        source: r.try_get("source")?,
        channel: r.try_get("channel")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        address: r.try_get("address")?,
        territory: r.try_get("territory_id")?,
        situations: codes(&situations),
        seen: codes(&seen),
        adults: r.try_get("adults")?,
        children: r.try_get("children")?,
        tents: r.try_get("tents")?,
        description: r.try_get("description")?,
        reporter_name: r.try_get("reporter_name")?,
        contact_email: r.try_get("contact_email")?,
        contact_phone: r.try_get("contact_phone")?,
        contact_consent: r.try_get::<i64, _>("contact_consent")? != 0,
        email_confirmed: r.try_get::<i64, _>("email_confirmed")? != 0,
        email_confirm_hash: r.try_get("email_confirm_hash")?,
        level: r.try_get("level")?,
        reasons: serde_json::from_str(&reasons).map_err(|_| StorageError::Corrupt("reports.reasons"))?,
        level_override: r.try_get("level_override")?,
        override_reason: r.try_get("override_reason")?,
        status: r.try_get("status")?,
        outcome: r.try_get("outcome")?,
        organisation: r.try_get("organisation_id")?,
        triage_organisation: r.try_get("triage_organisation_id")?,
        team: r.try_get("team_id")?,
        public_answer: r.try_get("public_answer")?,
        public_answer_at: r.try_get::<Option<i64>, _>("public_answer_at")?.map(Timestamp::from_micros),
        version: r.try_get("version")?,
        duplicate_of: r.try_get("duplicate_of")?,
        site_id: r.try_get("site_id")?,
        acknowledged_at: r.try_get::<Option<i64>, _>("acknowledged_at")?.map(Timestamp::from_micros),
        answered_at: r.try_get::<Option<i64>, _>("answered_at")?.map(Timestamp::from_micros),
    })
}

/// Writes a new report.
pub async fn create(tx: &mut Tx, new: &NewReport, now: Timestamp) -> Result<ReportId> {
    let ids = create_all(tx, &[(new, now)]).await?;
    Ok(ids[0])
}

/// The columns [`create_all`] writes, in the order of its placeholders.
const CREATE_COLUMNS: &str = "id, reference, token_hash, created_at, updated_at, source, channel, lon, lat, address, \
     territory_id, seen, adults, children, tents, description, contact_email, contact_phone, contact_consent, \
     level, reasons, status, organisation_id, triage_organisation_id, team_id, email_confirm_hash, \
     situations, reporter_name, email_confirmed, site_id, acknowledged_at";
/// Values bound per report by [`create_all`].
const CREATE_BINDS: usize = 30;

/// Writes new reports, each received at its own time, in one statement (the
/// intake's group commit writes the reports received at the same moment
/// together). The statement's text depends only on how many reports it
/// writes, so the prepared statements stay few.
pub async fn create_all(tx: &mut Tx, new: &[(&NewReport, Timestamp)]) -> Result<Vec<ReportId>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let rows = crate::sql::values_rows(new.len(), CREATE_BINDS, |cells| {
        cells[6] = format!("CAST({} AS DOUBLE PRECISION)", cells[6]);
        cells[7] = format!("CAST({} AS DOUBLE PRECISION)", cells[7]);
        // `updated_at` is `created_at`.
        cells.insert(4, cells[3].clone());
    });
    let sql = format!("INSERT INTO reports ({CREATE_COLUMNS}) VALUES {rows}");
    let ids: Vec<ReportId> = new.iter().map(|_| ReportId::new()).collect();
    let mut q = sqlx::query(&sql);
    for ((new, now), id) in new.iter().zip(&ids) {
        q = q
            .bind(*id)
            .bind(new.reference.clone())
            .bind(new.token_hash.clone())
            .bind(now.as_micros())
            .bind(new.source)
            .bind(new.channel)
            .bind(real_text(new.lon))
            .bind(real_text(new.lat))
            .bind(new.address.clone())
            .bind(new.territory)
            .bind(new.seen.join(","))
            .bind(new.adults)
            .bind(new.children)
            .bind(new.tents)
            .bind(new.description.clone())
            .bind(new.contact_email.clone())
            .bind(new.contact_phone.clone())
            .bind(b(new.contact_consent))
            .bind(new.level)
            .bind(serde_json::to_string(&new.reasons).unwrap_or_else(|_| "[]".into()))
            .bind(new.status)
            .bind(new.organisation)
            .bind(new.triage_organisation)
            .bind(new.team)
            .bind(new.email_confirm_hash.clone())
            .bind(new.situations.join(","))
            .bind(new.reporter_name.clone())
            .bind(b(new.email_confirmed))
            .bind(new.site_id)
            .bind(new.acknowledged.then(|| now.as_micros()));
    }
    q.execute(&mut **tx).await.classify()?;
    Ok(ids)
}

/// One report within the scope (`NotFound` outside it: its existence is not told).
pub async fn get(db: &Db, scope: &Scope, id: ReportId) -> Result<Report> {
    let mut p = Params::new();
    let me = p.push_id(id);
    let allowed = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT {COLUMNS} FROM reports WHERE id = {me} AND {allowed}");
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// What the reporter, holding the follow-up token, may see and confirm.
#[derive(Clone, Debug)]
pub struct Followed {
    /// Id.
    pub id: ReportId,
    /// Reference.
    pub reference: String,
    /// When received.
    pub created_at: Timestamp,
    /// Status.
    pub status: Status,
    /// Public answer.
    pub public_answer: String,
    /// When the answer was written.
    pub public_answer_at: Option<Timestamp>,
    /// The main report it was attached to.
    pub duplicate_of: Option<ReportId>,
    /// The organisation in charge (for the audit entry of a confirmation).
    pub organisation: Option<OrganisationId>,
    /// An e-mail was given with consent and not yet confirmed.
    pub email_unconfirmed: bool,
    /// Hash of the confirmation code.
    pub email_confirm_hash: Option<String>,
}

/// The report a follow-up token opens (the token is its reporter's key).
pub async fn by_token_hash(db: &Db, token_hash: &str) -> Result<Option<Followed>> {
    let row = sqlx::query(
        "SELECT id, reference, created_at, status, public_answer, public_answer_at, duplicate_of, organisation_id, \
         contact_email IS NOT NULL AND contact_consent = 1 AND email_confirmed = 0 AS unconfirmed, email_confirm_hash \
         FROM reports WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        Ok(Followed {
            id: r.try_get("id")?,
            reference: r.try_get("reference")?,
            created_at: Timestamp::from_micros(r.try_get("created_at")?),
            status: r.try_get("status")?,
            public_answer: r.try_get("public_answer")?,
            public_answer_at: r.try_get::<Option<i64>, _>("public_answer_at")?.map(Timestamp::from_micros),
            duplicate_of: r.try_get("duplicate_of")?,
            organisation: r.try_get("organisation_id")?,
            email_unconfirmed: r.try_get::<bool, _>("unconfirmed").or_else(|_| r.try_get::<i64, _>("unconfirmed").map(|v| v != 0))?,
            email_confirm_hash: r.try_get("email_confirm_hash")?,
        })
    })
    .transpose()
}

/// What is public about a report (Open311, the reporter's page): reference,
/// status, public answer and dates, never the place, the text or the people.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicReport {
    /// Reference.
    pub reference: String,
    /// Status.
    pub status: Status,
    /// Public answer.
    pub public_answer: String,
    /// When the answer was written.
    pub public_answer_at: Option<Timestamp>,
    /// When received.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

const PUBLIC_COLUMNS: &str = "reference, status, public_answer, public_answer_at, created_at, updated_at";

fn public_from_row(r: &sqlx::any::AnyRow) -> Result<PublicReport> {
    Ok(PublicReport {
        reference: r.try_get("reference")?,
        status: r.try_get("status")?,
        public_answer: r.try_get("public_answer")?,
        public_answer_at: r.try_get::<Option<i64>, _>("public_answer_at")?.map(Timestamp::from_micros),
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        updated_at: Timestamp::from_micros(r.try_get("updated_at")?),
    })
}

/// The public part of a report by its reference.
pub async fn public_by_reference(db: &Db, reference: &str) -> Result<Option<PublicReport>> {
    let row = sqlx::query(&format!("SELECT {PUBLIC_COLUMNS} FROM reports WHERE reference = $1")).bind(reference).fetch_optional(db.pool()).await?;
    row.as_ref().map(public_from_row).transpose()
}

/// The public part of a report by id (the main report a duplicate follows).
pub async fn public_of(db: &Db, id: ReportId) -> Result<PublicReport> {
    let row = sqlx::query(&format!("SELECT {PUBLIC_COLUMNS} FROM reports WHERE id = $1")).bind(id).fetch_optional(db.pool()).await?;
    row.as_ref().map(public_from_row).transpose()?.ok_or(StorageError::NotFound)
}

/// The public part of the reports received in `[since, until)`, open or
/// closed as asked, newest first, at most `limit`.
pub async fn public_list(db: &Db, since: Timestamp, until: Option<Timestamp>, open: Option<bool>, limit: i64) -> Result<Vec<PublicReport>> {
    let f = Filter { since: Some(since), until, open, ..Default::default() };
    let mut p = Params::new();
    let w = where_clause(&f, &mut p);
    let lim = p.push(limit);
    let sql = format!("SELECT {PUBLIC_COLUMNS} FROM reports WHERE {w} ORDER BY created_at DESC, id DESC LIMIT {lim}");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(public_from_row).collect()
}

/// Filters of the queue (and of the CSV export, the map, the API and the figures).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this status.
    pub status: Option<Status>,
    /// Only this effective level.
    pub level: Option<i64>,
    /// Only this territory.
    pub territory: Option<TerritoryId>,
    /// Received at or after.
    pub since: Option<Timestamp>,
    /// Only open (not closed) or only closed.
    pub open: Option<bool>,
    /// Only reports with this situation type.
    pub situation: Option<String>,
    /// Only this source.
    pub source: Option<Source>,
    /// Received before.
    pub until: Option<Timestamp>,
    /// Only open reports past a deadline they have not met, at this instant.
    pub overdue: Option<(Deadlines, Timestamp)>,
    /// Only reports handled by this team.
    pub team: Option<TeamId>,
    /// Only reports with a point.
    pub placed: bool,
}

fn where_clause(f: &Filter, p: &mut Params) -> String {
    let mut w = vec!["1 = 1".to_owned()];
    if let Some(s) = f.status {
        w.push(format!("status = {}", p.push(s.code())));
    }
    if let Some(l) = f.level {
        w.push(format!("COALESCE(level_override, level) = {}", p.push(l)));
    }
    if let Some(t) = f.territory {
        w.push(format!("territory_id = {}", p.push_id(t)));
    }
    if let Some(s) = f.since {
        w.push(format!("created_at >= {}", p.push(s.as_micros())));
    }
    if let Some(u) = f.until {
        w.push(format!("created_at < {}", p.push(u.as_micros())));
    }
    match f.open {
        Some(true) => w.push("status <> 'closed'".into()),
        Some(false) => w.push("status = 'closed'".into()),
        None => {}
    }
    if let Some(s) = &f.situation {
        w.push(format!("(',' || situations || ',') LIKE {}", p.push(format!("%,{s},%"))));
    }
    if let Some(s) = f.source {
        w.push(format!("source = {}", p.push(s.code())));
    }
    if let Some(t) = f.team {
        w.push(format!("team_id = {}", p.push_id(t)));
    }
    if f.placed {
        w.push("lon IS NOT NULL AND lat IS NOT NULL".into());
    }
    if let Some((d, now)) = &f.overdue {
        let now = p.push(now.as_micros());
        let micros = |secs: i64| secs * 1_000_000;
        let (a1, a2) = (p.push(micros(d.acknowledge(1))), p.push(micros(d.acknowledge(2))));
        let (w1, w2) = (p.push(micros(d.answer(1))), p.push(micros(d.answer(2))));
        w.push(format!(
            "status <> 'closed' AND ((acknowledged_at IS NULL AND created_at < {now} - CASE WHEN COALESCE(level_override, level) = 2 THEN {a2} ELSE {a1} END) \
             OR (answered_at IS NULL AND created_at < {now} - CASE WHEN COALESCE(level_override, level) = 2 THEN {w2} ELSE {w1} END))"
        ));
    }
    w.join(" AND ")
}

/// Reports within the scope matching the filter, newest first, at most `limit`.
pub async fn list(db: &Db, scope: &Scope, f: &Filter, limit: i64) -> Result<Vec<Report>> {
    let mut p = Params::new();
    let w = where_clause(f, &mut p);
    let allowed = scope.records(&ACCESS_COLUMNS, &mut p);
    let lim = p.push(limit);
    let sql = format!("SELECT {COLUMNS} FROM reports WHERE {w} AND {allowed} ORDER BY created_at DESC, id DESC LIMIT {lim}");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// How many reports within the scope match the filter.
pub async fn count(db: &Db, scope: &Scope, f: &Filter) -> Result<i64> {
    let mut p = Params::new();
    let w = where_clause(f, &mut p);
    let allowed = scope.records(&ACCESS_COLUMNS, &mut p);
    Ok(p.bind_scalar(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM reports WHERE {w} AND {allowed}"))).fetch_one(db.pool()).await?)
}

/// The reports within the scope matching the filter, counted along each
/// breakdown the figures show (no free text, no contact, no place).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Margins {
    /// Reports.
    pub total: i64,
    /// By source, every source of the vocabulary in its order.
    pub by_source: Vec<(Source, i64)>,
    /// By channel, likewise.
    pub by_channel: Vec<(Channel, i64)>,
    /// By status, likewise.
    pub by_status: Vec<(Status, i64)>,
    /// Of level 2 in force (the others are of level 1).
    pub level_2: i64,
    /// Of which acknowledged ([`Step::Acknowledged`]).
    pub acknowledged: i64,
    /// Of which answered ([`Step::Answered`]).
    pub answered: i64,
}

/// The reports within the scope matching the filter counted along each
/// breakdown (see [`Margins`]) and by their set of situation types, with the
/// times from receipt to each step at the given quantiles in thousandths
/// (500: the median), by nearest rank — the ⌈q·n⌉-th shortest, in whole
/// seconds: (quantile, seconds), none when no report reached the step.
///
/// Two reads of the same reports, each on a connection of its own at once
/// ([`Db::begin_beside`]): at 200,000 reports the page waits for the longer,
/// not for their sum. Both engines count the combinations of codes with the
/// reports that reached each step in the order of an index holding every
/// column read (`reports_tallied`: no sort, no table row; migrations 0033 and
/// 0036), so that the partitions (source, channel, status, level), the steps
/// reached and their total come from one read and add up whatever is written
/// meanwhile. Where the times and the situation sets are read differs by
/// engine (decisions 110 and 115):
/// - SQLite reads each order statistic after the counts, in the same read
///   transaction, from the nearer end of the step's index of delays
///   (`ORDER BY … LIMIT 1 OFFSET`, a few milliseconds), ranked from the
///   counts so that counts and ranks see the same reports; beside it, the
///   situation sets from their index (12 ms, against 112 ms sorting them).
/// - PostgreSQL reads the situation sets after the counts, and beside them
///   the times of each step as order statistics of one aggregate
///   (`percentile_disc`) over the step's index of delays, in its order. Its
///   planner is told that a page read at random costs little more than one
///   read in order (`random_page_cost` 1.1, the value for data in memory or
///   on SSD, in these two transactions only): at 4, the default, it reads
///   the 41-column table and groups by hashing (two reads of 116 and 145 ms
///   at 184,000 reports) where the indexes alone answer in 70–100 ms.
///
/// A stored code outside the vocabulary is an error, as it is when a report
/// is read.
pub async fn tallies(db: &Db, scope: &Scope, f: &Filter, per_mille: &[i64]) -> Result<Tallies> {
    let mut p = Params::new();
    let w = where_clause(f, &mut p);
    let allowed = scope.records(&ACCESS_COLUMNS, &mut p);
    let from = format!("FROM reports WHERE {w} AND {allowed}");
    let ((margins, situations), [acknowledged, answered]) = match db.backend() {
        Backend::Postgres => tokio::try_join!(combinations_then_situations(db, &from, &p), percentiles(db, &from, &p, per_mille))?,
        Backend::Sqlite => {
            let ((margins, delays), situations) = tokio::try_join!(combinations_then_ranks(db, &from, &p, per_mille), situations_alone(db, &from, &p))?;
            ((margins, situations), delays)
        }
    };
    Ok(Tallies { margins, situations, acknowledged, answered })
}

/// What [`tallies`] counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tallies {
    /// The counts along each breakdown.
    pub margins: Margins,
    /// The reports with at least one situation type, by their set of types
    /// (a report may have several).
    pub situations: Vec<(Vec<String>, i64)>,
    /// Receipt to acknowledgement: (quantile in thousandths, seconds).
    pub acknowledged: Vec<(i64, i64)>,
    /// Receipt to answer, likewise.
    pub answered: Vec<(i64, i64)>,
}

/// The times to each step at the quantiles: (quantile, seconds) per step, in
/// the order of [`Step::ALL`].
type Delays = [Vec<(i64, i64)>; 2];

/// The situation sets of [`tallies`].
type SituationSets = Vec<(Vec<String>, i64)>;

/// A read transaction of [`tallies`] beside the other; on PostgreSQL its
/// planner told that the indexes are as cheap to read as the table (see
/// [`tallies`]).
async fn beside(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
    let mut tx = db.begin_beside().await?;
    if db.backend() == Backend::Postgres {
        sqlx::query("SET LOCAL random_page_cost = 1.1").execute(&mut *tx).await?;
    }
    Ok(tx)
}

/// The partitions of [`tallies`] and how many reports reached each step,
/// counted by combination of codes in the order of `reports_tallied`.
async fn combinations(tx: &mut sqlx::AnyConnection, from: &str, p: &Params) -> Result<Margins> {
    let reached: Vec<String> = Step::ALL.iter().enumerate().map(|(s, step)| format!("COUNT(*) FILTER (WHERE {}) AS r{s}", step.condition())).collect();
    let sql = format!("SELECT {COMBINATION}, COUNT(*) AS n, {} {from} GROUP BY {COMBINATION}", reached.join(", "));
    let rows = p.bind(sqlx::query(&sql)).fetch_all(&mut *tx).await?;
    let mut margins = Margins::none();
    for r in &rows {
        margins.add(r)?;
        margins.acknowledged += r.try_get::<i64, _>("r0")?;
        margins.answered += r.try_get::<i64, _>("r1")?;
    }
    Ok(margins)
}

/// The reports with at least one situation type counted by their set of
/// situation types, in the order of `reports_situation_sets` (the reports
/// with none, which count under no type, are not in it).
async fn situation_sets(tx: &mut sqlx::AnyConnection, from: &str, p: &Params) -> Result<SituationSets> {
    let sql = format!("SELECT situations, COUNT(*) AS n {from} AND situations <> '' GROUP BY situations");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(&mut *tx).await?;
    rows.iter()
        .map(|r| {
            let situations: String = r.try_get("situations")?;
            Ok((codes(&situations), r.try_get("n")?))
        })
        .collect()
}

/// PostgreSQL: [`combinations`], then [`situation_sets`], in one read.
async fn combinations_then_situations(db: &Db, from: &str, p: &Params) -> Result<(Margins, SituationSets)> {
    let mut tx = beside(db).await?;
    let margins = combinations(&mut tx, from, p).await?;
    let situations = situation_sets(&mut tx, from, p).await?;
    tx.commit().await?;
    Ok((margins, situations))
}

/// PostgreSQL: the times to each step at the quantiles, one statement per
/// step so that each reads its index of delays (`percentile_disc` is the
/// same nearest rank: PostgreSQL takes the ⌈q·n⌉-th in floating point, equal
/// to the integer rank for every n up to 2,000,000 at 0.5 and 0.9, checked;
/// the aggregates of one step share one sort, of rows already in order).
async fn percentiles(db: &Db, from: &str, p: &Params, per_mille: &[i64]) -> Result<Delays> {
    let mut tx = beside(db).await?;
    let mut delays = Delays::default();
    for (step, out) in Step::ALL.into_iter().zip(&mut delays) {
        let mut p = p.clone();
        let columns: Vec<String> = per_mille
            .iter()
            .enumerate()
            .map(|(i, q)| {
                format!("percentile_disc(CAST({} AS DOUBLE PRECISION) / 1000) WITHIN GROUP (ORDER BY ({}) / 1000000) AS q{i}", p.push(*q), step.span())
            })
            .collect();
        let sql = format!("SELECT {} {from} AND {}", columns.join(", "), step.condition());
        let row = p.bind(sqlx::query(&sql)).fetch_one(&mut *tx).await?;
        for (i, q) in per_mille.iter().enumerate() {
            if let Some(secs) = row.try_get::<Option<i64>, _>(format!("q{i}").as_str())? {
                out.push((*q, secs));
            }
        }
    }
    tx.commit().await?;
    Ok(delays)
}

/// The columns whose combinations [`tallies`] counts.
const COMBINATION: &str = "source, channel, status, level, level_override";

impl Margins {
    /// No report counted, every code of each breakdown listed.
    fn none() -> Margins {
        fn zeros<T: Copy>(all: &[T]) -> Vec<(T, i64)> {
            all.iter().map(|v| (*v, 0)).collect()
        }
        Margins { by_source: zeros(Source::ALL), by_channel: zeros(Channel::ALL), by_status: zeros(Status::ALL), ..Margins::default() }
    }

    /// Adds a row counting the reports (`n`) of one combination of codes
    /// ([`COMBINATION`]) to the partitions.
    fn add(&mut self, r: &sqlx::any::AnyRow) -> Result<()> {
        let n: i64 = r.try_get("n")?;
        self.total += n;
        add(&mut self.by_source, r.try_get("source")?, n, "reports.source")?;
        add(&mut self.by_channel, r.try_get("channel")?, n, "reports.channel")?;
        add(&mut self.by_status, r.try_get("status")?, n, "reports.status")?;
        let level = match r.try_get::<Option<i64>, _>("level_override")? {
            Some(level) => level,
            None => r.try_get("level")?,
        };
        if level == 2 {
            self.level_2 += n;
        }
        Ok(())
    }
}

/// Adds `n` to the count of `value` in a breakdown listing every value of
/// its vocabulary.
fn add<T: PartialEq>(counts: &mut [(T, i64)], value: T, n: i64, column: &'static str) -> Result<()> {
    let (_, count) = counts.iter_mut().find(|(v, _)| *v == value).ok_or(StorageError::Corrupt(column))?;
    *count += n;
    Ok(())
}

/// SQLite: [`combinations`], then the order statistics read from the steps'
/// indexes of delays, ranked from those counts in the same read.
async fn combinations_then_ranks(db: &Db, from: &str, p: &Params, per_mille: &[i64]) -> Result<(Margins, Delays)> {
    let mut tx = beside(db).await?;
    let margins = combinations(&mut tx, from, p).await?;
    let mut delays = Delays::default();
    for (step, out) in Step::ALL.into_iter().zip(&mut delays) {
        let reached = match step {
            Step::Acknowledged => margins.acknowledged,
            Step::Answered => margins.answered,
        };
        for q in per_mille {
            // The 1-based rank of the quantile; 0 when no report reached the step.
            let rank = (reached * q + 999) / 1000;
            if rank < 1 {
                continue;
            }
            let (order, skip) = if rank <= reached - rank { ("", rank - 1) } else { (" DESC", reached - rank) };
            let mut p = p.clone();
            let skip = p.push(skip);
            let (c, span) = (step.condition(), step.span());
            let sql = format!("SELECT ({span}) / 1000000 {from} AND {c} ORDER BY {span}{order} LIMIT 1 OFFSET {skip}");
            if let Some(secs) = p.bind_scalar(sqlx::query_scalar::<_, i64>(&sql)).fetch_optional(&mut *tx).await? {
                out.push((*q, secs));
            }
        }
    }
    tx.commit().await?;
    Ok((margins, delays))
}

/// The counts of one breakdown with its categories; an error when they do
/// not add up to the total (a stored code the vocabulary does not have).
pub(crate) fn along<T: Copy>(all: &[T], counts: &[i64], total: i64, column: &'static str) -> Result<Vec<(T, i64)>> {
    if counts.iter().sum::<i64>() != total {
        return Err(StorageError::Corrupt(column));
    }
    Ok(all.iter().copied().zip(counts.iter().copied()).collect())
}

/// SQLite: [`situation_sets`] in a read of its own.
async fn situations_alone(db: &Db, from: &str, p: &Params) -> Result<SituationSets> {
    let mut tx = beside(db).await?;
    let situations = situation_sets(&mut tx, from, p).await?;
    tx.commit().await?;
    Ok(situations)
}

/// A step of a report's handling timed from its receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// First acknowledged.
    Acknowledged,
    /// First answered (duplicates attached to another report left out: the
    /// answer went to the report they joined).
    Answered,
}

impl Step {
    /// Every step, in the order the figures show them.
    pub const ALL: [Step; 2] = [Step::Acknowledged, Step::Answered];

    fn condition(self) -> &'static str {
        match self {
            Step::Acknowledged => "acknowledged_at IS NOT NULL",
            Step::Answered => "answered_at IS NOT NULL AND duplicate_of IS NULL",
        }
    }

    /// The time from receipt to the step, in microseconds: the expression
    /// of the step's index of delays (migration 0025), which SQLite reads in
    /// its order.
    fn span(self) -> &'static str {
        match self {
            Step::Acknowledged => "acknowledged_at - created_at",
            Step::Answered => "answered_at - created_at",
        }
    }
}

/// A box around a point, of half-sides `dlon` and `dlat` degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Around {
    /// Longitude of the centre.
    pub lon: f64,
    /// Latitude of the centre.
    pub lat: f64,
    /// Half-width in degrees of longitude.
    pub dlon: f64,
    /// Half-height in degrees of latitude.
    pub dlat: f64,
}

/// Cells per degree of the grid reports are found by place (migration 0024).
const CELLS_PER_DEGREE: f64 = 200.0;

/// Most cells a box is looked up by; a larger box is found by its receipt
/// and point alone (no index of the point serves it: migration 0024).
const MOST_CELLS: i64 = 16;

/// The cell of a point as migration 0024's expression computes it: the row of
/// `floor(lat × 200 + 18000)`, the column of `floor(lon × 200 + 36000)`.
fn cell_of(lon: f64, lat: f64) -> (i64, i64) {
    ((lat * CELLS_PER_DEGREE + 18_000.0).floor() as i64, (lon * CELLS_PER_DEGREE + 36_000.0).floor() as i64)
}

/// The cell expression of migration 0024 on each engine, as the index holds
/// it (an expression index serves only a query that writes it the same way;
/// scripts/gen-migrations.sh writes the same text).
fn cell_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "CAST(lat * 200 + 18000 AS INTEGER) * 100000 + CAST(lon * 200 + 36000 AS INTEGER)",
        Backend::Postgres => "CAST(floor(lat * 200 + 18000) AS BIGINT) * 100000 + CAST(floor(lon * 200 + 36000) AS BIGINT)",
    }
}

impl Around {
    /// The conditions of a point in the box: the grid cells it touches (an
    /// index range each, by receipt; see migration 0024), then the box.
    fn sql(&self, backend: Backend, p: &mut Params) -> String {
        // A hair wider than the box, so that a point on its edge is in one
        // of the cells whatever the rounding of either side.
        let pad = 1e-9;
        let (r0, c0) = cell_of(self.lon - self.dlon - pad, self.lat - self.dlat - pad);
        let (r1, c1) = cell_of(self.lon + self.dlon + pad, self.lat + self.dlat + pad);
        let cells = if (r1 - r0 + 1) * (c1 - c0 + 1) <= MOST_CELLS {
            let list: Vec<String> = (r0..=r1).flat_map(|r| (c0..=c1).map(move |c| r * 100_000 + c)).map(|k| p.push(k)).collect();
            format!("({}) IN ({}) AND ", cell_sql(backend), list.join(", "))
        } else {
            String::new()
        };
        let (x0, x1, y0, y1) = (p.push(self.lon - self.dlon), p.push(self.lon + self.dlon), p.push(self.lat - self.dlat), p.push(self.lat + self.dlat));
        format!("{cells}lon BETWEEN {x0} AND {x1} AND lat BETWEEN {y0} AND {y1}")
    }

    /// The condition of a point within `radius_m` metres of the centre, as
    /// the two engines can both compute it (arithmetic only: SQLite has no
    /// trigonometry): a flat-earth distance at the centre's latitude, on
    /// the mean sphere the great-circle distances are measured on, with a
    /// margin of 1 ‰. At a few hundred metres the flat distance differs from
    /// the great-circle one by some 10⁻⁵ of it, so every point the
    /// great-circle distance puts within the radius passes, and a few
    /// centimetres more: callers refine by distance.
    fn within_sql(&self, radius_m: f64, p: &mut Params) -> String {
        // Metres per degree of a great circle on the mean sphere (radius
        // 6,371,008.8 m, as `veille_geo::distance_m`).
        const METRES_PER_DEGREE: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;
        let kx = (METRES_PER_DEGREE * self.lat.to_radians().cos()).powi(2);
        let ky = METRES_PER_DEGREE * METRES_PER_DEGREE;
        let r2 = (radius_m * 1.001).powi(2);
        let (x0, x1, y0, y1) = (p.push(self.lon), p.push(self.lon), p.push(self.lat), p.push(self.lat));
        format!("(lon - {x0}) * (lon - {x1}) * {} + (lat - {y0}) * (lat - {y1}) * {} <= {}", p.push(kx), p.push(ky), p.push(r2))
    }
}

/// Reports within the scope received since `since` whose point lies in the
/// box (callers refine by distance).
pub async fn near(db: &Db, scope: &Scope, around: Around, since: Timestamp) -> Result<Vec<Report>> {
    let mut p = Params::new();
    let place = around.sql(db.backend(), &mut p);
    let t = p.push(since.as_micros());
    let allowed = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT {COLUMNS} FROM reports WHERE {place} AND created_at >= {t} AND {allowed}");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// The points of reports received since `since` in the box and within
/// about `radius_m` metres of its centre ([`Around::within_sql`]: a hair
/// more, callers refine by distance), for the triage's repeat rule (how
/// many reports came from around here lately), whoever handles them. At
/// most `most` (every one when none): a caller that needs to know only
/// whether there are that many stops the read there, however many reports
/// a busy place has had.
pub async fn points_near(db: &Db, around: Around, radius_m: f64, since: Timestamp, most: Option<u32>) -> Result<Vec<(f64, f64)>> {
    let mut p = Params::new();
    let place = around.sql(db.backend(), &mut p);
    let t = p.push(since.as_micros());
    let within = around.within_sql(radius_m, &mut p);
    let limit = most.map(|n| format!(" LIMIT {}", p.push(i64::from(n)))).unwrap_or_default();
    let rows =
        p.bind(sqlx::query(&format!("SELECT lon, lat FROM reports WHERE {place} AND created_at >= {t} AND {within}{limit}"))).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("lon")?, r.try_get("lat")?))).collect()
}

/// An internal note.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Note {
    /// When.
    pub at: Timestamp,
    /// Author name.
    pub author: String,
    /// Text.
    pub body: String,
}

/// Adds an internal note.
pub async fn add_note(tx: &mut Tx, report: ReportId, author: UserId, body: &str, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO report_notes (id, report_id, author_id, at, body) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(report)
        .bind(author)
        .bind(now.as_micros())
        .bind(body)
        .execute(&mut **tx)
        .await?;
    touch(tx, report, now).await
}

/// Internal notes of a report the caller already read, oldest first.
pub async fn notes(db: &Db, report: &Report) -> Result<Vec<Note>> {
    let rows = sqlx::query(
        "SELECT n.at, u.display_name, n.body FROM report_notes n JOIN users u ON u.id = n.author_id \
         WHERE n.report_id = $1 ORDER BY n.at, n.id",
    )
    .bind(report.id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok(Note { at: Timestamp::from_micros(r.try_get("at")?), author: r.try_get("display_name")?, body: r.try_get("body")? })).collect()
}

/// Marks a change by a person: the first one acknowledges the report.
async fn touch(tx: &mut Tx, report: ReportId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE reports SET updated_at = $1, acknowledged_at = COALESCE(acknowledged_at, $1) WHERE id = $2")
        .bind(now.as_micros())
        .bind(report)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Changes the status (and outcome).
pub async fn set_status(tx: &mut Tx, id: ReportId, status: Status, outcome: Option<Outcome>, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Reports, id, version, now).await?;
    sqlx::query(
        "UPDATE reports SET status = $1, outcome = $2, answered_at = CASE WHEN $3 = 1 THEN COALESCE(answered_at, $4) ELSE answered_at END WHERE id = $5",
    )
    .bind(status)
    .bind(outcome)
    .bind(b(status.answers()))
    .bind(now.as_micros())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Hands the report to another team (and its organisation), or to an
/// organisation's triage queue with no team.
pub async fn set_handler(
    tx: &mut Tx,
    r: &Report,
    organisation: OrganisationId,
    team: Option<TeamId>,
    status: Status,
    version: i64,
    now: Timestamp,
) -> Result<()> {
    claim(tx, Versioned::Reports, r.id, version, now).await?;
    sqlx::query("UPDATE reports SET organisation_id = $1, team_id = $2, status = $3 WHERE id = $4")
        .bind(organisation)
        .bind(team)
        .bind(status)
        .bind(r.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks the reporter's e-mail address confirmed.
pub async fn confirm_email(tx: &mut Tx, report: ReportId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE reports SET email_confirmed = 1, email_confirm_hash = NULL, updated_at = $1 WHERE id = $2")
        .bind(now.as_micros())
        .bind(report)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Overrides the level with a reason.
pub async fn set_level(tx: &mut Tx, r: &Report, level: i64, reason: &str, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Reports, r.id, version, now).await?;
    sqlx::query("UPDATE reports SET level_override = $1, override_reason = $2 WHERE id = $3").bind(level).bind(reason).bind(r.id).execute(&mut **tx).await?;
    Ok(())
}

/// Links the report to a known site (or unlinks it).
pub async fn set_site(tx: &mut Tx, r: &Report, site: Option<SiteId>, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Reports, r.id, version, now).await?;
    sqlx::query("UPDATE reports SET site_id = $1 WHERE id = $2").bind(site).bind(r.id).execute(&mut **tx).await?;
    Ok(())
}

/// Writes the public answer.
pub async fn set_answer(tx: &mut Tx, r: &Report, answer: &str, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Reports, r.id, version, now).await?;
    sqlx::query("UPDATE reports SET public_answer = $1, public_answer_at = $2, answered_at = COALESCE(answered_at, $2) WHERE id = $3")
        .bind(answer)
        .bind(now.as_micros())
        .bind(r.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Attaches `dup` to the open report `main` as its duplicate: `dup` is closed
/// with the outcome `duplicate` (what it was is kept for [`detach_duplicate`]).
pub async fn attach_duplicate(tx: &mut Tx, dup: &Report, main: &Report, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Reports, dup.id, version, now).await?;
    sqlx::query(
        "UPDATE reports SET duplicate_of = $1, duplicate_prev_status = status, duplicate_prev_outcome = outcome, \
         status = 'closed', outcome = 'duplicate' WHERE id = $2",
    )
    .bind(main.id)
    .bind(dup.id)
    .execute(&mut **tx)
    .await?;
    touch(tx, main.id, now).await
}

/// Detaches a duplicate from its main report: it gets back the status and
/// outcome it had before.
pub async fn detach_duplicate(tx: &mut Tx, dup: &Report, main: &Report, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Reports, dup.id, version, now).await?;
    sqlx::query(
        "UPDATE reports SET status = COALESCE(duplicate_prev_status, status), outcome = duplicate_prev_outcome, \
         duplicate_of = NULL, duplicate_prev_status = NULL, duplicate_prev_outcome = NULL WHERE id = $1",
    )
    .bind(dup.id)
    .execute(&mut **tx)
    .await?;
    touch(tx, main.id, now).await
}

/// The reports attached to `main` as duplicates, within the scope, oldest first.
pub async fn duplicates_of(db: &Db, scope: &Scope, main: ReportId) -> Result<Vec<Report>> {
    let mut p = Params::new();
    let me = p.push_id(main);
    let allowed = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT {COLUMNS} FROM reports WHERE duplicate_of = {me} AND {allowed} ORDER BY created_at, id");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// How many reports are attached to `main` as duplicates, whoever handles them.
pub async fn duplicate_count(db: &Db, main: ReportId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM reports WHERE duplicate_of = $1").bind(main).fetch_one(db.pool()).await?)
}

fn pair(a: ReportId, b: ReportId) -> (ReportId, ReportId) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Records that two reports are distinct (not suggested as duplicates of each
/// other again). `false`: already recorded.
pub async fn keep_separate(tx: &mut Tx, a: &Report, b: &Report, actor: UserId, now: Timestamp) -> Result<bool> {
    let (x, y) = pair(a.id, b.id);
    let known: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM report_distinct_pairs WHERE report_a = $1 AND report_b = $2").bind(x).bind(y).fetch_one(&mut **tx).await?;
    if known > 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO report_distinct_pairs (id, report_a, report_b, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(x)
        .bind(y)
        .bind(actor)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    touch(tx, a.id, now).await?;
    touch(tx, b.id, now).await?;
    Ok(true)
}

/// The reports judged distinct from `report`.
pub async fn kept_separate_from(db: &Db, report: ReportId) -> Result<Vec<ReportId>> {
    let rows =
        sqlx::query("SELECT report_a, report_b FROM report_distinct_pairs WHERE report_a = $1 OR report_b = $1").bind(report).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let a: ReportId = r.try_get("report_a")?;
            let b: ReportId = r.try_get("report_b")?;
            Ok(if a == report { b } else { a })
        })
        .collect()
}

/// A photo: re-encoded image bytes (metadata already stripped by the caller).
#[derive(Clone, Debug)]
pub struct Photo {
    /// MIME type of `bytes`.
    pub content_type: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// The image.
    pub bytes: Vec<u8>,
}

fn photo_from_row(r: &sqlx::any::AnyRow) -> Result<Photo> {
    use base64::Engine;
    let data: String = r.try_get("data")?;
    Ok(Photo {
        content_type: r.try_get("content_type")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        bytes: base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| StorageError::Corrupt("photo data"))?,
    })
}

fn photo_text(p: &Photo) -> String {
    use base64::Engine;
    // Text (base64) rather than a blob: both engines and the portable
    // JSON-lines backup carry it unchanged.
    base64::engine::general_purpose::STANDARD.encode(&p.bytes)
}

/// Keeps a photo accepted on a form that must be shown again, under the hash
/// of a random token, until `expires_at`; expired ones are removed.
pub async fn keep_upload(tx: &mut Tx, token_hash: &str, photo: &Photo, now: Timestamp, expires_at: Timestamp) -> Result<()> {
    sqlx::query("DELETE FROM photo_uploads WHERE expires_at < $1").bind(now.as_micros()).execute(&mut **tx).await?;
    sqlx::query(
        "INSERT INTO photo_uploads (id, token_hash, created_at, expires_at, content_type, width, height, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(token_hash)
    .bind(now.as_micros())
    .bind(expires_at.as_micros())
    .bind(&photo.content_type)
    .bind(photo.width)
    .bind(photo.height)
    .bind(photo_text(photo))
    .execute(&mut **tx)
    .await
    .classify()?;
    Ok(())
}

/// A kept photo by the hash of its token, if not expired.
pub async fn kept_upload(db: &Db, token_hash: &str, now: Timestamp) -> Result<Option<Photo>> {
    let row = sqlx::query("SELECT content_type, width, height, data FROM photo_uploads WHERE token_hash = $1 AND expires_at >= $2")
        .bind(token_hash)
        .bind(now.as_micros())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(photo_from_row).transpose()
}

/// Forgets a kept photo (used, or removed by the person).
pub async fn drop_upload(tx: &mut Tx, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM photo_uploads WHERE token_hash = $1").bind(token_hash).execute(&mut **tx).await?;
    Ok(())
}

/// Stores the photo of a report (one per report).
pub async fn attach_photo(tx: &mut Tx, report: ReportId, photo: &Photo, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO report_photos (id, report_id, created_at, content_type, width, height, data) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(report)
        .bind(now.as_micros())
        .bind(&photo.content_type)
        .bind(photo.width)
        .bind(photo.height)
        .bind(photo_text(photo))
        .execute(&mut **tx)
        .await
        .classify()?;
    Ok(())
}

/// The photo of a report, if it has one.
pub async fn photo(db: &Db, report: ReportId) -> Result<Option<Photo>> {
    let row = sqlx::query("SELECT content_type, width, height, data FROM report_photos WHERE report_id = $1").bind(report).fetch_optional(db.pool()).await?;
    row.as_ref().map(photo_from_row).transpose()
}

/// Whether a report has a photo (without loading it).
pub async fn has_photo(db: &Db, report: ReportId) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM report_photos WHERE report_id = $1").bind(report).fetch_one(db.pool()).await?;
    Ok(n > 0)
}

/// Counts a submission from a client (a hash of its address) and tells how
/// many it made since `since`, this one included.
pub async fn count_submission(tx: &mut Tx, client_key: &str, since: Timestamp, now: Timestamp) -> Result<i64> {
    sqlx::query("DELETE FROM report_submissions WHERE at < $1").bind(since.as_micros()).execute(&mut **tx).await?;
    sqlx::query("INSERT INTO report_submissions (id, client_key, at) VALUES ($1, $2, $3)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(client_key)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM report_submissions WHERE client_key = $1 AND at >= $2")
        .bind(client_key)
        .bind(since.as_micros())
        .fetch_one(&mut **tx)
        .await?)
}

/// The versions of the lookups every instance caches: (`intake`: routing
/// table, teams, organisations, territory names; `territories`: the
/// territory index). One small read.
pub async fn lookup_versions(db: &Db) -> Result<(i64, i64)> {
    let rows = sqlx::query("SELECT name, version FROM lookup_versions").fetch_all(db.pool()).await?;
    let mut out = (0, 0);
    for r in &rows {
        let (name, version): (String, i64) = (r.try_get("name")?, r.try_get("version")?);
        match name.as_str() {
            "intake" => out.0 = version,
            "territories" => out.1 = version,
            _ => {}
        }
    }
    Ok(out)
}

/// Moves a lookup's version on (after a change), so that every instance
/// refreshes its cache from the database.
pub async fn bump_lookup_version(db: &Db, name: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE lookup_versions SET version = version + 1 WHERE name = $1").bind(name).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Every routing rule, oldest first.
pub async fn routing_rules(db: &Db) -> Result<Vec<RoutingRule>> {
    let rows = sqlx::query("SELECT id, territory_id, situation, level, team_id FROM routing_rules ORDER BY created_at, id").fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(RoutingRule {
                id: r.try_get("id")?,
                territory: r.try_get("territory_id")?,
                situation: r.try_get("situation")?,
                level: r.try_get("level")?,
                team: r.try_get("team_id")?,
            })
        })
        .collect()
}

/// Adds a routing rule.
pub async fn add_routing_rule(
    tx: &mut Tx,
    territory: Option<TerritoryId>,
    situation: Option<&str>,
    level: Option<i64>,
    team: TeamId,
    now: Timestamp,
) -> Result<RoutingRuleId> {
    let id = RoutingRuleId::new();
    sqlx::query("INSERT INTO routing_rules (id, territory_id, situation, level, team_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(territory)
        .bind(situation.map(str::to_owned))
        .bind(level)
        .bind(team)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Removes a routing rule.
pub async fn delete_routing_rule(tx: &mut Tx, id: RoutingRuleId) -> Result<()> {
    let done = sqlx::query("DELETE FROM routing_rules WHERE id = $1").bind(id).execute(&mut **tx).await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The queries write the cell as the migration's index holds it, on
    /// each engine (an expression index serves only the same text), and the
    /// Rust cell of a point is the row and column that text computes.
    #[test]
    fn the_cell_of_the_queries_is_the_expression_of_the_index() {
        for (backend, engine) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
            let path = format!("{}/migrations/{engine}/0024_report_cells.sql", env!("CARGO_MANIFEST_DIR"));
            let migration = std::fs::read_to_string(&path).unwrap();
            assert!(migration.contains(&format!("ON reports (({}), created_at, lon, lat)", cell_sql(backend))), "{engine}: {migration}");
        }
        // Paris (a corner of four cells) and the west (a negative longitude).
        assert_eq!(cell_of(2.345, 48.89), (27_778, 36_469));
        assert_eq!(cell_of(2.3449, 48.8899), (27_777, 36_468));
        assert_eq!(cell_of(-1.5, 47.2), (27_440, 35_700));
        assert_eq!(cell_of(-1.5001, 47.2), (27_440, 35_699));
    }
}
