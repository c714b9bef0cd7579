//! Maraudes: the shared weekly schedule, circuits with ordered stops, the
//! distribution catalogue of each organisation, and rounds (tournées) with
//! their check-in, stops, distributions, safety incidents and daily report.
//! Rounds are operational records of the team's organisation: every query
//! that returns or counts rounds or what was recorded on them (members,
//! stops, distributions, incidents) takes the caller's [`Scope`], compiled
//! to SQL with [`ACCESS_COLUMNS`].

use sqlx::Row;
use veille_domain::{CircuitId, ItemId, OrganisationId, ReportId, RoundId, ScheduleSlotId, SiteId, TeamId, TerritoryId, Timestamp, UserId};

use crate::db::{claim, instant as ts, Db, Tx, Versioned};
use crate::error::{Result, ResultExt, StorageError};
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns};

/// Round statuses, in the order of the work.
pub const ROUND_STATUSES: [&str; 4] = ["planned", "started", "ended", "cancelled"];
/// Kinds of safety incident.
pub const INCIDENT_KINDS: [&str; 6] = ["aggression", "threat", "needle_stick", "accident", "medical_emergency", "other"];
/// Categories of the distribution catalogue.
pub const ITEM_CATEGORIES: [&str; 5] = ["food", "hygiene", "warmth", "harm_reduction", "other"];
/// The starting catalogue offered to an organisation: (name, category, unit).
pub const DEFAULT_ITEMS: [(&str, &str, &str); 12] = [
    ("Repas", "food", "repas"),
    ("Eau", "food", "bouteilles"),
    ("Boissons chaudes", "food", "gobelets"),
    ("Kits d'hygiène", "hygiene", "kits"),
    ("Protections périodiques", "hygiene", "paquets"),
    ("Couvertures", "warmth", "couvertures"),
    ("Duvets", "warmth", "duvets"),
    ("Kits d'injection", "harm_reduction", "kits"),
    ("Kits d'inhalation", "harm_reduction", "kits"),
    ("Naloxone", "harm_reduction", "kits"),
    ("Préservatifs", "harm_reduction", "unités"),
    ("Récupérateurs de seringues", "harm_reduction", "unités"),
];

// ---------------------------------------------------------------- schedule

/// A slot of the shared weekly schedule.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Slot {
    /// Id.
    pub id: ScheduleSlotId,
    /// The team's organisation.
    pub organisation: OrganisationId,
    /// Team.
    pub team: TeamId,
    /// 1 (Monday) to 7 (Sunday).
    pub weekday: i64,
    /// Start, minutes after midnight (Europe/Paris).
    pub start_minute: i64,
    /// End, minutes after midnight; before the start when the slot runs past midnight.
    pub end_minute: i64,
    /// Territory covered.
    pub territory: Option<TerritoryId>,
    /// Circuit followed.
    pub circuit: Option<CircuitId>,
    /// Note (meeting point, what the team offers).
    pub note: String,
    /// Version.
    pub version: i64,
}

const SLOT_COLUMNS: &str = "id, organisation_id, team_id, weekday, start_minute, end_minute, territory_id, circuit_id, note, version";

fn slot_from_row(r: &sqlx::any::AnyRow) -> Result<Slot> {
    Ok(Slot {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        team: r.try_get("team_id")?,
        weekday: r.try_get("weekday")?,
        start_minute: r.try_get("start_minute")?,
        end_minute: r.try_get("end_minute")?,
        territory: r.try_get("territory_id")?,
        circuit: r.try_get("circuit_id")?,
        note: r.try_get("note")?,
        version: r.try_get("version")?,
    })
}

/// A new slot.
#[derive(Clone, Debug)]
pub struct NewSlot {
    /// The team's organisation.
    pub organisation: OrganisationId,
    /// Team.
    pub team: TeamId,
    /// Weekday 1–7.
    pub weekday: i64,
    /// Start minute.
    pub start_minute: i64,
    /// End minute.
    pub end_minute: i64,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Circuit.
    pub circuit: Option<CircuitId>,
    /// Note.
    pub note: String,
}

/// Adds a slot.
pub async fn create_slot(tx: &mut Tx, s: &NewSlot, now: Timestamp) -> Result<ScheduleSlotId> {
    let id = ScheduleSlotId::new();
    sqlx::query(
        "INSERT INTO schedule_slots (id, organisation_id, team_id, weekday, start_minute, end_minute, territory_id, circuit_id, note, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(id)
    .bind(s.organisation)
    .bind(s.team)
    .bind(s.weekday)
    .bind(s.start_minute)
    .bind(s.end_minute)
    .bind(s.territory)
    .bind(s.circuit)
    .bind(&s.note)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// One slot.
pub async fn get_slot(db: &Db, id: ScheduleSlotId) -> Result<Slot> {
    let row = sqlx::query(&format!("SELECT {SLOT_COLUMNS} FROM schedule_slots WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    slot_from_row(&row)
}

/// The whole weekly schedule, by day and hour.
pub async fn slots(db: &Db) -> Result<Vec<Slot>> {
    let rows = sqlx::query(&format!("SELECT {SLOT_COLUMNS} FROM schedule_slots ORDER BY weekday, start_minute, id")).fetch_all(db.pool()).await?;
    rows.iter().map(slot_from_row).collect()
}

/// Removes a slot (rounds planned from it keep their times).
pub async fn delete_slot(tx: &mut Tx, id: ScheduleSlotId) -> Result<()> {
    sqlx::query("DELETE FROM schedule_slots WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(())
}

// ---------------------------------------------------------------- circuits

/// A circuit: the ordered stops of a team's maraude.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Circuit {
    /// Id.
    pub id: CircuitId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Team.
    pub team: TeamId,
    /// Name.
    pub name: String,
    /// Version.
    pub version: i64,
}

/// A stop of a circuit: a site, or a named point.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CircuitStop {
    /// Id.
    pub id: String,
    /// Order (1, 2, …).
    pub position: i64,
    /// The site, if the stop is one.
    pub site: Option<SiteId>,
    /// Label of a point stop.
    pub label: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
}

fn circuit_from_row(r: &sqlx::any::AnyRow) -> Result<Circuit> {
    Ok(Circuit {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        team: r.try_get("team_id")?,
        name: r.try_get("name")?,
        version: r.try_get("version")?,
    })
}

/// Creates a circuit. A name already used by the team is `Conflict`.
pub async fn create_circuit(tx: &mut Tx, org: OrganisationId, team: TeamId, name: &str, now: Timestamp) -> Result<CircuitId> {
    let id = CircuitId::new();
    sqlx::query("INSERT INTO circuits (id, organisation_id, team_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
        .bind(id)
        .bind(org)
        .bind(team)
        .bind(name)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    Ok(id)
}

/// One circuit.
pub async fn get_circuit(db: &Db, id: CircuitId) -> Result<Circuit> {
    let row = sqlx::query("SELECT id, organisation_id, team_id, name, version FROM circuits WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    circuit_from_row(&row)
}

/// Every circuit, by name.
pub async fn circuits(db: &Db) -> Result<Vec<Circuit>> {
    let rows = sqlx::query("SELECT id, organisation_id, team_id, name, version FROM circuits ORDER BY name, id").fetch_all(db.pool()).await?;
    rows.iter().map(circuit_from_row).collect()
}

/// The stops of a circuit, in order.
pub async fn circuit_stops(db: &Db, circuit: CircuitId) -> Result<Vec<CircuitStop>> {
    let rows = sqlx::query("SELECT id, position, site_id, label, lon, lat FROM circuit_stops WHERE circuit_id = $1 ORDER BY position, id")
        .bind(circuit)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(CircuitStop {
                id: r.try_get("id")?,
                position: r.try_get("position")?,
                site: r.try_get("site_id")?,
                label: r.try_get("label")?,
                lon: r.try_get("lon")?,
                lat: r.try_get("lat")?,
            })
        })
        .collect()
}

/// Adds a stop at the end of a circuit.
pub async fn add_circuit_stop(tx: &mut Tx, circuit: CircuitId, site: Option<SiteId>, label: &str, point: Option<(f64, f64)>, now: Timestamp) -> Result<()> {
    let next: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM circuit_stops WHERE circuit_id = $1").bind(circuit).fetch_one(&mut **tx).await?;
    // A missing point is written as a literal NULL: sqlx's `Any` driver would
    // type a bound `None` float so that PostgreSQL refuses the cached statement later.
    let (lon, lat) = point.unzip();
    let sql = if point.is_some() {
        "INSERT INTO circuit_stops (id, circuit_id, position, site_id, label, lon, lat) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    } else {
        "INSERT INTO circuit_stops (id, circuit_id, position, site_id, label, lon, lat) VALUES ($1, $2, $3, $4, $5, NULL, NULL)"
    };
    let mut q = sqlx::query(sql).bind(uuid::Uuid::now_v7().to_string()).bind(circuit).bind(next).bind(site).bind(label);
    if let (Some(lon), Some(lat)) = (lon, lat) {
        q = q.bind(lon).bind(lat);
    }
    q.execute(&mut **tx).await?;
    touch_circuit(tx, circuit, now).await
}

/// Removes a stop; the stops after it move up.
pub async fn remove_circuit_stop(tx: &mut Tx, circuit: CircuitId, stop: &str, now: Timestamp) -> Result<bool> {
    let pos: Option<i64> =
        sqlx::query_scalar("SELECT position FROM circuit_stops WHERE id = $1 AND circuit_id = $2").bind(stop).bind(circuit).fetch_optional(&mut **tx).await?;
    let Some(pos) = pos else { return Ok(false) };
    sqlx::query("DELETE FROM circuit_stops WHERE id = $1").bind(stop).execute(&mut **tx).await?;
    sqlx::query("UPDATE circuit_stops SET position = position - 1 WHERE circuit_id = $1 AND position > $2").bind(circuit).bind(pos).execute(&mut **tx).await?;
    touch_circuit(tx, circuit, now).await?;
    Ok(true)
}

async fn touch_circuit(tx: &mut Tx, circuit: CircuitId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE circuits SET updated_at = $1, version = version + 1 WHERE id = $2").bind(now.as_micros()).bind(circuit).execute(&mut **tx).await?;
    Ok(())
}

// ---------------------------------------------------------------- catalogue

/// An item of an organisation's distribution catalogue.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Item {
    /// Id.
    pub id: ItemId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Name.
    pub name: String,
    /// Category code.
    pub category: String,
    /// Unit counted.
    pub unit: String,
    /// Still offered.
    pub active: bool,
}

/// Adds an item. A name already in the catalogue is `Conflict`.
pub async fn create_item(tx: &mut Tx, org: OrganisationId, name: &str, category: &str, unit: &str, now: Timestamp) -> Result<ItemId> {
    let id = ItemId::new();
    let next: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM distribution_items WHERE organisation_id = $1").bind(org).fetch_one(&mut **tx).await?;
    sqlx::query("INSERT INTO distribution_items (id, organisation_id, name, category, unit, position, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(id)
        .bind(org)
        .bind(name)
        .bind(category)
        .bind(unit)
        .bind(next)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    Ok(id)
}

/// The catalogue of an organisation, in its order.
pub async fn items(db: &Db, org: OrganisationId) -> Result<Vec<Item>> {
    let rows =
        sqlx::query("SELECT id, organisation_id, name, category, unit, active FROM distribution_items WHERE organisation_id = $1 ORDER BY position, name")
            .bind(org)
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|r| {
            Ok(Item {
                id: r.try_get("id")?,
                organisation: r.try_get("organisation_id")?,
                name: r.try_get("name")?,
                category: r.try_get("category")?,
                unit: r.try_get("unit")?,
                active: r.try_get::<i64, _>("active")? != 0,
            })
        })
        .collect()
}

/// Withdraws an item from (or puts it back into) the catalogue; past rounds keep their quantities.
pub async fn set_item_active(tx: &mut Tx, org: OrganisationId, item: ItemId, active: bool) -> Result<bool> {
    let done = sqlx::query("UPDATE distribution_items SET active = $1 WHERE id = $2 AND organisation_id = $3")
        .bind(i64::from(active))
        .bind(item)
        .bind(org)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------- rounds

/// A round (tournée) of a team.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Round {
    /// Id.
    pub id: RoundId,
    /// The team's organisation.
    pub organisation: OrganisationId,
    /// Team.
    pub team: TeamId,
    /// Circuit followed.
    pub circuit: Option<CircuitId>,
    /// The schedule slot it was planned from.
    pub slot: Option<ScheduleSlotId>,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Planned start.
    pub planned_start: Timestamp,
    /// Planned end.
    pub planned_end: Timestamp,
    /// Status code.
    pub status: String,
    /// Checked in at.
    pub started_at: Option<Timestamp>,
    /// Expected back by.
    pub expected_return_at: Option<Timestamp>,
    /// Checked out at.
    pub ended_at: Option<Timestamp>,
    /// When the overdue alert was raised.
    pub overdue_alerted_at: Option<Timestamp>,
    /// People met (anonymous count).
    pub people_total: i64,
    /// Of whom met for the first time.
    pub people_new: i64,
    /// Of whom already known.
    pub people_known: i64,
    /// Mediations (residents, shopkeepers, users of the public space).
    pub mediations: i64,
    /// What the mediations were about (no names).
    pub mediation_notes: String,
    /// Handover notes for the next team.
    pub handover: String,
    /// Version.
    pub version: i64,
}

/// Where rounds keep what the read rules look at: the team's organisation
/// and the territory of the slot (see `veille_app::rounds::round_resource`).
pub const ACCESS_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "organisation_id", territory: Some("territory_id"), case: None, shared_with: None };

/// The same columns under the alias `r`, for the parts of a round.
pub(crate) const ACCESS_COLUMNS_R: RecordColumns<'static> =
    RecordColumns { organisation: "r.organisation_id", territory: Some("r.territory_id"), case: None, shared_with: None };

/// The condition admitting the parts (members, stops…) of the round whose id
/// is the placeholder `round`, when `scope` reads that round.
fn round_readable(scope: &Scope, round: &str, p: &mut Params) -> String {
    format!("EXISTS (SELECT 1 FROM rounds r WHERE r.id = {round} AND {})", scope.records(&ACCESS_COLUMNS_R, p))
}

const ROUND_COLUMNS: &str =
    "id, organisation_id, team_id, circuit_id, slot_id, territory_id, planned_start, planned_end, status, started_at, expected_return_at, ended_at, \
    overdue_alerted_at, people_total, people_new, people_known, mediations, mediation_notes, handover, version";

fn round_from_row(r: &sqlx::any::AnyRow) -> Result<Round> {
    Ok(Round {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        team: r.try_get("team_id")?,
        circuit: r.try_get("circuit_id")?,
        slot: r.try_get("slot_id")?,
        territory: r.try_get("territory_id")?,
        planned_start: Timestamp::from_micros(r.try_get("planned_start")?),
        planned_end: Timestamp::from_micros(r.try_get("planned_end")?),
        status: r.try_get("status")?,
        started_at: ts(r.try_get("started_at")?),
        expected_return_at: ts(r.try_get("expected_return_at")?),
        ended_at: ts(r.try_get("ended_at")?),
        overdue_alerted_at: ts(r.try_get("overdue_alerted_at")?),
        people_total: r.try_get("people_total")?,
        people_new: r.try_get("people_new")?,
        people_known: r.try_get("people_known")?,
        mediations: r.try_get("mediations")?,
        mediation_notes: r.try_get("mediation_notes")?,
        handover: r.try_get("handover")?,
        version: r.try_get("version")?,
    })
}

/// A new round.
#[derive(Clone, Debug)]
pub struct NewRound {
    /// The team's organisation.
    pub organisation: OrganisationId,
    /// Team.
    pub team: TeamId,
    /// Circuit.
    pub circuit: Option<CircuitId>,
    /// Slot.
    pub slot: Option<ScheduleSlotId>,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Planned start.
    pub planned_start: Timestamp,
    /// Planned end.
    pub planned_end: Timestamp,
}

/// A stop to add to a round.
#[derive(Clone, Debug, Default)]
pub struct NewStop {
    /// A site.
    pub site: Option<SiteId>,
    /// A report (signalement) assigned to the team.
    pub report: Option<ReportId>,
    /// Label.
    pub label: String,
    /// Point.
    pub point: Option<(f64, f64)>,
}

/// Plans a round with its first stops.
pub async fn create_round(tx: &mut Tx, r: &NewRound, stops: &[NewStop], by: UserId, now: Timestamp) -> Result<RoundId> {
    let id = RoundId::new();
    sqlx::query(
        "INSERT INTO rounds (id, organisation_id, team_id, circuit_id, slot_id, territory_id, planned_start, planned_end, status, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'planned', $9, $10, $10)",
    )
    .bind(id)
    .bind(r.organisation)
    .bind(r.team)
    .bind(r.circuit)
    .bind(r.slot)
    .bind(r.territory)
    .bind(r.planned_start.as_micros())
    .bind(r.planned_end.as_micros())
    .bind(by)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    for s in stops {
        add_stop(tx, id, s).await?;
    }
    Ok(id)
}

/// Rounds `scope` reads that meet `condition` (written with placeholders
/// pushed on `p` before the scope's), in `order`.
async fn rounds_where(db: &Db, scope: &Scope, mut p: Params, condition: &str, order: &str) -> Result<Vec<Round>> {
    let readable = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE {condition} AND {readable} ORDER BY {order}");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(round_from_row).collect()
}

/// One round, if `scope` reads it (`NotFound` otherwise: its existence is not told).
pub async fn get_round(db: &Db, scope: &Scope, id: RoundId) -> Result<Round> {
    let mut p = Params::new();
    let me = p.push_id(id);
    rounds_where(db, scope, p, &format!("id = {me}"), "id").await?.pop().ok_or(StorageError::NotFound)
}

/// Rounds `scope` reads planned to start in [`from`, `to`), by start.
pub async fn rounds_between(db: &Db, scope: &Scope, from: Timestamp, to: Timestamp) -> Result<Vec<Round>> {
    let mut p = Params::new();
    let (f, t) = (p.push(from.as_micros()), p.push(to.as_micros()));
    rounds_where(db, scope, p, &format!("planned_start >= {f} AND planned_start < {t}"), "planned_start, id").await
}

/// The last check-in of a team's rounds that `scope` reads, other than `except`.
pub async fn last_check_in(db: &Db, scope: &Scope, team: TeamId, except: RoundId) -> Result<Option<Timestamp>> {
    let mut p = Params::new();
    let (t, x) = (p.push_id(team), p.push_id(except));
    let rounds = rounds_where(db, scope, p, &format!("team_id = {t} AND id <> {x} AND started_at IS NOT NULL"), "started_at DESC, id DESC").await?;
    Ok(rounds.into_iter().filter_map(|r| r.started_at).max())
}

/// Rounds `scope` reads still out (checked in, not checked out), by start.
pub async fn rounds_out(db: &Db, scope: &Scope) -> Result<Vec<Round>> {
    rounds_where(db, scope, Params::new(), "status = 'started'", "started_at, id").await
}

/// The members checked in on a round `scope` reads, with the instant.
pub async fn members(db: &Db, scope: &Scope, round: RoundId) -> Result<Vec<(UserId, Timestamp)>> {
    let mut p = Params::new();
    let me = p.push_id(round);
    let readable = round_readable(scope, &me, &mut p);
    let sql = format!("SELECT m.user_id, m.checked_in_at FROM round_members m WHERE m.round_id = {me} AND {readable} ORDER BY m.checked_in_at, m.user_id");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("user_id")?, Timestamp::from_micros(r.try_get("checked_in_at")?)))).collect()
}

/// Starts a round: the members checked in and the expected return time.
pub async fn check_in(tx: &mut Tx, round: &Round, members: &[UserId], expected_return: Timestamp, by: UserId, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Rounds, round.id, version, now).await?;
    sqlx::query("UPDATE rounds SET status = 'started', started_at = $1, expected_return_at = $2, started_by = $3 WHERE id = $4")
        .bind(now.as_micros())
        .bind(expected_return.as_micros())
        .bind(by)
        .bind(round.id)
        .execute(&mut **tx)
        .await?;
    for m in members {
        sqlx::query("INSERT INTO round_members (round_id, user_id, checked_in_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(round.id)
            .bind(m)
            .bind(now.as_micros())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Cancels a round that has not left.
pub async fn cancel(tx: &mut Tx, round: &Round, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Rounds, round.id, version, now).await?;
    sqlx::query("UPDATE rounds SET status = 'cancelled' WHERE id = $1").bind(round.id).execute(&mut **tx).await?;
    Ok(())
}

/// Ends a round: the team is back.
pub async fn check_out(tx: &mut Tx, round: &Round, by: UserId, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Rounds, round.id, version, now).await?;
    sqlx::query("UPDATE rounds SET status = 'ended', ended_at = $1, ended_by = $2 WHERE id = $3")
        .bind(now.as_micros())
        .bind(by)
        .bind(round.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes the daily report's own fields (counts, mediations, handover).
#[allow(clippy::too_many_arguments)]
pub async fn set_report(
    tx: &mut Tx,
    round: &Round,
    people: (i64, i64, i64),
    mediations: i64,
    mediation_notes: &str,
    handover: &str,
    version: i64,
    now: Timestamp,
) -> Result<()> {
    claim(tx, Versioned::Rounds, round.id, version, now).await?;
    sqlx::query("UPDATE rounds SET people_total = $1, people_new = $2, people_known = $3, mediations = $4, mediation_notes = $5, handover = $6 WHERE id = $7")
        .bind(people.0)
        .bind(people.1)
        .bind(people.2)
        .bind(mediations)
        .bind(mediation_notes)
        .bind(handover)
        .bind(round.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Rounds `scope` reads out past their expected return time whose alert was
/// not raised yet.
pub async fn overdue_unalerted(db: &Db, scope: &Scope, now: Timestamp) -> Result<Vec<Round>> {
    let mut p = Params::new();
    let at = p.push(now.as_micros());
    rounds_where(db, scope, p, &format!("status = 'started' AND expected_return_at < {at} AND overdue_alerted_at IS NULL"), "expected_return_at, id").await
}

/// Marks the overdue alert raised; false when another instance raised it first.
pub async fn mark_alerted(tx: &mut Tx, round: RoundId, now: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE rounds SET overdue_alerted_at = $1 WHERE id = $2 AND overdue_alerted_at IS NULL AND status = 'started'")
        .bind(now.as_micros())
        .bind(round)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many rounds of an organisation `scope` reads are out past their
/// expected return (the banner).
pub async fn count_overdue_of(db: &Db, scope: &Scope, org: OrganisationId, now: Timestamp) -> Result<i64> {
    let mut p = Params::new();
    let (o, at) = (p.push_id(org), p.push(now.as_micros()));
    let readable = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT COUNT(*) FROM rounds WHERE organisation_id = {o} AND status = 'started' AND expected_return_at < {at} AND {readable}");
    Ok(p.bind_scalar(sqlx::query_scalar(&sql)).fetch_one(db.pool()).await?)
}

/// A stop of a round.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Stop {
    /// Id.
    pub id: String,
    /// Order.
    pub position: i64,
    /// The site.
    pub site: Option<SiteId>,
    /// The report it carries.
    pub report: Option<ReportId>,
    /// Label.
    pub label: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Visited at.
    pub visited_at: Option<Timestamp>,
    /// Note.
    pub note: String,
}

/// Adds a stop at the end of a round.
pub async fn add_stop(tx: &mut Tx, round: RoundId, s: &NewStop) -> Result<()> {
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM round_stops WHERE round_id = $1").bind(round).fetch_one(&mut **tx).await?;
    // A missing point is a literal NULL (see `add_circuit_stop`).
    let sql = if s.point.is_some() {
        "INSERT INTO round_stops (id, round_id, position, site_id, report_id, label, lon, lat) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    } else {
        "INSERT INTO round_stops (id, round_id, position, site_id, report_id, label, lon, lat) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)"
    };
    let mut q = sqlx::query(sql).bind(uuid::Uuid::now_v7().to_string()).bind(round).bind(next).bind(s.site).bind(s.report).bind(s.label.clone());
    if let Some((lon, lat)) = s.point {
        q = q.bind(lon).bind(lat);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// The stops of a round `scope` reads, in order.
pub async fn stops(db: &Db, scope: &Scope, round: RoundId) -> Result<Vec<Stop>> {
    let mut p = Params::new();
    let me = p.push_id(round);
    let readable = round_readable(scope, &me, &mut p);
    let sql = format!("SELECT s.id, s.position, s.site_id, s.report_id, s.label, s.lon, s.lat, s.visited_at, s.note FROM round_stops s WHERE s.round_id = {me} AND {readable} ORDER BY s.position, s.id");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Stop {
                id: r.try_get("id")?,
                position: r.try_get("position")?,
                site: r.try_get("site_id")?,
                report: r.try_get("report_id")?,
                label: r.try_get("label")?,
                lon: r.try_get("lon")?,
                lat: r.try_get("lat")?,
                visited_at: ts(r.try_get("visited_at")?),
                note: r.try_get("note")?,
            })
        })
        .collect()
}

/// Marks a stop visited; false when it was already visited (or is not of this round).
pub async fn visit_stop(tx: &mut Tx, round: RoundId, stop: &str, by: UserId, note: &str, now: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE round_stops SET visited_at = $1, visited_by = $2, note = $3 WHERE id = $4 AND round_id = $5 AND visited_at IS NULL")
        .bind(now.as_micros())
        .bind(by)
        .bind(note)
        .bind(stop)
        .bind(round)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the quantities given on a round (a zero removes the line).
pub async fn set_distributions(tx: &mut Tx, round: RoundId, quantities: &[(ItemId, i64)], now: Timestamp) -> Result<()> {
    for (item, qty) in quantities {
        sqlx::query("DELETE FROM round_distributions WHERE round_id = $1 AND item_id = $2").bind(round).bind(item).execute(&mut **tx).await?;
        if *qty > 0 {
            sqlx::query("INSERT INTO round_distributions (round_id, item_id, quantity) VALUES ($1, $2, $3)")
                .bind(round)
                .bind(item)
                .bind(*qty)
                .execute(&mut **tx)
                .await?;
        }
    }
    sqlx::query("UPDATE rounds SET updated_at = $1 WHERE id = $2").bind(now.as_micros()).bind(round).execute(&mut **tx).await?;
    Ok(())
}

/// A line of what a round gave out.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Distribution {
    /// Item.
    pub item: ItemId,
    /// Its name.
    pub name: String,
    /// Its category.
    pub category: String,
    /// Its unit.
    pub unit: String,
    /// Quantity.
    pub quantity: i64,
}

/// What a round `scope` reads gave out, in catalogue order.
pub async fn distributions(db: &Db, scope: &Scope, round: RoundId) -> Result<Vec<Distribution>> {
    let mut p = Params::new();
    let me = p.push_id(round);
    let readable = round_readable(scope, &me, &mut p);
    let sql = format!(
        "SELECT d.item_id, i.name, i.category, i.unit, d.quantity FROM round_distributions d JOIN distribution_items i ON i.id = d.item_id \
         WHERE d.round_id = {me} AND {readable} ORDER BY i.position, i.name"
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Distribution {
                item: r.try_get("item_id")?,
                name: r.try_get("name")?,
                category: r.try_get("category")?,
                unit: r.try_get("unit")?,
                quantity: r.try_get("quantity")?,
            })
        })
        .collect()
}

/// What each round `scope` reads planned to start in [`from`, `to`) gave
/// out, its quantities summed (a round that gave nothing is absent): one
/// read for the rounds of a list, where reading each round's distributions
/// took most of the rounds page (280 reads for a week's rounds).
pub async fn given_between(db: &Db, scope: &Scope, from: Timestamp, to: Timestamp) -> Result<std::collections::HashMap<RoundId, i64>> {
    let mut p = Params::new();
    let (f, t) = (p.push(from.as_micros()), p.push(to.as_micros()));
    let readable = scope.records(&ACCESS_COLUMNS_R, &mut p);
    let sql = format!(
        "SELECT r.id AS round_id, CAST(SUM(d.quantity) AS BIGINT) AS given FROM rounds r JOIN round_distributions d ON d.round_id = r.id \
         WHERE r.planned_start >= {f} AND r.planned_start < {t} AND {readable} GROUP BY r.id"
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("round_id")?, r.try_get("given")?))).collect()
}

/// A safety incident on a round.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Incident {
    /// When.
    pub at: Timestamp,
    /// Kind code.
    pub kind: String,
    /// What happened (no names).
    pub description: String,
}

/// Records a safety incident.
pub async fn add_incident(tx: &mut Tx, round: RoundId, kind: &str, description: &str, by: UserId, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO round_incidents (id, round_id, at, author_id, kind, description) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(round)
        .bind(now.as_micros())
        .bind(by)
        .bind(kind)
        .bind(description)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The incidents of a round `scope` reads.
pub async fn incidents(db: &Db, scope: &Scope, round: RoundId) -> Result<Vec<Incident>> {
    let mut p = Params::new();
    let me = p.push_id(round);
    let readable = round_readable(scope, &me, &mut p);
    let sql = format!("SELECT i.at, i.kind, i.description FROM round_incidents i WHERE i.round_id = {me} AND {readable} ORDER BY i.at, i.id");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| Ok(Incident { at: Timestamp::from_micros(r.try_get("at")?), kind: r.try_get("kind")?, description: r.try_get("description")? }))
        .collect()
}

// ---------------------------------------------------------------- reports on rounds and coverage

/// Stops for the open reports (signalements) assigned to `team` that `scope`
/// reads — not closed, not attached to another as a duplicate, and not
/// already a stop of `round` when given — oldest first. Filtered in SQL,
/// with no row limit.
pub async fn report_stops(db: &Db, scope: &Scope, team: TeamId, round: Option<RoundId>) -> Result<Vec<NewStop>> {
    let mut p = Params::new();
    let mut w = vec![format!("team_id = {}", p.push_id(team)), "status <> 'closed'".to_owned(), "duplicate_of IS NULL".to_owned()];
    if let Some(r) = round {
        w.push(format!("NOT EXISTS (SELECT 1 FROM round_stops s WHERE s.round_id = {} AND s.report_id = reports.id)", p.push_id(r)));
    }
    w.push(scope.records(&crate::reports::ACCESS_COLUMNS, &mut p));
    let sql = format!("SELECT id, address, lon, lat FROM reports WHERE {} ORDER BY created_at, id", w.join(" AND "));
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let (lon, lat): (Option<f64>, Option<f64>) = (r.try_get("lon")?, r.try_get("lat")?);
            Ok(NewStop { site: None, report: Some(r.try_get("id")?), label: r.try_get("address")?, point: lon.zip(lat) })
        })
        .collect()
}

/// The territories where a round (of any organisation: coverage is read
/// across organisations, like the shared schedule) that was not cancelled is
/// planned to start in [`from`, `to`) — the round's own territory or that of
/// a site among its stops — kept to the territories whose sites `scope`
/// reads. Territory ids only: no round is returned.
pub async fn covered_territories(db: &Db, scope: &Scope, from: Timestamp, to: Timestamp) -> Result<std::collections::HashSet<TerritoryId>> {
    let mut p = Params::new();
    let (f, t) = (p.push(from.as_micros()), p.push(to.as_micros()));
    let readable = scope.sites("c.territory_id", &mut p);
    let sql = format!(
        "SELECT DISTINCT c.territory_id FROM (\
           SELECT territory_id FROM rounds WHERE status <> 'cancelled' AND planned_start >= {f} AND planned_start < {t} \
           UNION ALL SELECT x.territory_id FROM rounds r JOIN round_stops s ON s.round_id = r.id JOIN sites x ON x.id = s.site_id \
             WHERE r.status <> 'cancelled' AND r.planned_start >= {f} AND r.planned_start < {t}\
         ) c WHERE c.territory_id IS NOT NULL AND {readable}"
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok(r.try_get::<TerritoryId, _>("territory_id")?)).collect()
}
