//! Shelter and housing: facilities and their places night by night, stays
//! (bookings, entries, exits), the waiting list, operations on sites with
//! their prior social diagnosis, Housing First dwellings, landlords,
//! tenancies and dwelling checks, and follow-up actions.
//!
//! Facilities and the capacity board hold no personal data: they are read
//! without a scope (counts of places, never who holds them). Every function
//! that returns stays, requests, operations, dwellings or actions takes the
//! caller's [`Scope`] and applies it in SQL with the record's columns: a stay
//! belongs to the organisation that booked it, lies in its facility's
//! territory and is shared with the facility's operator organisation.
//!
//! The booking that must never double-book starts its transaction with
//! [`lock_facility`]: an `UPDATE` of the facility row, which on PostgreSQL
//! holds the row lock until commit (a second booking of the same facility
//! waits, then reads the first one's stay), and on SQLite runs inside the
//! one write transaction of `BEGIN IMMEDIATE`.

use std::collections::BTreeMap;

use sqlx::Row;
use veille_domain::shelter::{
    CheckRating, DiagnosisVulnerability, FacilityKind, LandlordKind, Night, NightPlaces, Occupancy, OperationKind, OperationOutcome, Public, StayDestination,
    StayStatus, SupportIntensity, Unit,
};
use veille_domain::{
    DiagnosisId, DwellingCheckId, DwellingId, FacilityId, HouseholdId, LandlordId, OperationId, OrganisationId, PersonId, ServiceId, ShelterRequestId, SiteId,
    StayId, TenancyId, TerritoryId, Timestamp, UserId,
};

use crate::db::{b, claim, real_text, Db, Tx, Versioned};
use crate::error::{Result, StorageError};
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns, Shared};

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_micros)
}

fn night(v: Option<i64>) -> Option<Night> {
    v.map(Night::from_days)
}

fn codes_of<T: std::str::FromStr>(text: &str) -> Vec<T> {
    text.split(',').filter_map(|c| c.trim().parse().ok()).collect()
}

fn join_codes<T: std::fmt::Display>(list: &[T]) -> String {
    list.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

async fn exec(tx: &mut Tx, sql: &str, p: &Params) -> Result<u64> {
    Ok(p.bind(sqlx::query(sql)).execute(&mut **tx).await?.rows_affected())
}

// ---------------------------------------------------------------- facilities

/// A facility: where people are sheltered (no personal data).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Facility {
    /// Id.
    pub id: FacilityId,
    /// The operator organisation (keeps its places).
    pub organisation: OrganisationId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: FacilityKind,
    /// Address.
    pub address: String,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Whom it takes in.
    pub publics: Vec<Public>,
    /// What it counts.
    pub unit: Unit,
    /// Its usual places each night.
    pub places: i64,
    /// Accessible to people with reduced mobility.
    pub accessible: bool,
    /// Its service in the partner directory.
    pub service: Option<ServiceId>,
    /// Cost of a night, in cents (hotels).
    pub night_cost_cents: Option<i64>,
    /// Open (not closed for good).
    pub active: bool,
    /// Version.
    pub version: i64,
}

/// What a facility is made of, as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FacilityFields {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: Option<FacilityKind>,
    /// Address.
    pub address: String,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Publics.
    pub publics: Vec<Public>,
    /// Unit.
    pub unit: Option<Unit>,
    /// Usual places.
    pub places: i64,
    /// Accessible.
    pub accessible: bool,
    /// Directory service.
    pub service: Option<ServiceId>,
    /// Night cost in cents.
    pub night_cost_cents: Option<i64>,
}

const FACILITY_COLUMNS: &str = "f.id, f.organisation_id, f.name, f.kind, f.address, f.territory_id, f.lon, f.lat, \
    f.publics, f.unit, f.places, f.accessible, f.service_id, f.night_cost_cents, f.active, f.version";

fn facility_row(r: &sqlx::any::AnyRow) -> Result<Facility> {
    Ok(Facility {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        address: r.try_get("address")?,
        territory: r.try_get("territory_id")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        publics: codes_of(&r.try_get::<String, _>("publics")?),
        unit: r.try_get("unit")?,
        places: r.try_get("places")?,
        accessible: r.try_get::<i64, _>("accessible")? != 0,
        service: r.try_get("service_id")?,
        night_cost_cents: r.try_get("night_cost_cents")?,
        active: r.try_get::<i64, _>("active")? != 0,
        version: r.try_get("version")?,
    })
}

/// Writes a facility kept by `organisation`.
pub async fn create_facility(tx: &mut Tx, organisation: OrganisationId, f: &FacilityFields, now: Timestamp) -> Result<FacilityId> {
    let id = FacilityId::new();
    let mut p = Params::new();
    let v = [
        p.push_id(id),
        p.push_id(organisation),
        p.push(f.name.as_str()),
        p.push(f.kind.unwrap_or(FacilityKind::ShelterSite).code()),
        p.push(f.address.as_str()),
    ];
    let territory = push_opt(&mut p, f.territory.map(|t| t.to_string()));
    let lon = push_opt(&mut p, real_text(f.lon));
    let lat = push_opt(&mut p, real_text(f.lat));
    let rest = [p.push(join_codes(&f.publics)), p.push(f.unit.unwrap_or(Unit::Place).code()), p.push(f.places), p.push(b(f.accessible))];
    let service = push_opt(&mut p, f.service.map(|s| s.to_string()));
    let cost = push_opt_int(&mut p, f.night_cost_cents);
    let at = p.push(now.as_micros());
    let sql = format!(
        "INSERT INTO facilities (id, organisation_id, name, kind, address, territory_id, lon, lat, publics, unit, places, accessible, service_id, night_cost_cents, created_at, updated_at) \
         VALUES ({}, {territory}, CAST({lon} AS DOUBLE PRECISION), CAST({lat} AS DOUBLE PRECISION), {}, {service}, {cost}, {at}, {at})",
        v.join(", "),
        rest.join(", ")
    );
    exec(tx, &sql, &p).await?;
    Ok(id)
}

fn push_opt(p: &mut Params, v: Option<String>) -> String {
    match v {
        Some(v) => p.push(v),
        None => "NULL".into(),
    }
}

fn push_opt_int(p: &mut Params, v: Option<i64>) -> String {
    match v {
        Some(v) => p.push(v),
        None => "NULL".into(),
    }
}

/// Corrects a facility, if still at `version`.
pub async fn update_facility(tx: &mut Tx, id: FacilityId, f: &FacilityFields, active: bool, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Facilities, id, version, now).await?;
    let mut p = Params::new();
    let name = p.push(f.name.as_str());
    let kind = p.push(f.kind.unwrap_or(FacilityKind::ShelterSite).code());
    let address = p.push(f.address.as_str());
    let territory = push_opt(&mut p, f.territory.map(|t| t.to_string()));
    let lon = push_opt(&mut p, real_text(f.lon));
    let lat = push_opt(&mut p, real_text(f.lat));
    let publics = p.push(join_codes(&f.publics));
    let unit = p.push(f.unit.unwrap_or(Unit::Place).code());
    let places = p.push(f.places);
    let accessible = p.push(b(f.accessible));
    let service = push_opt(&mut p, f.service.map(|s| s.to_string()));
    let cost = push_opt_int(&mut p, f.night_cost_cents);
    let active = p.push(b(active));
    let id = p.push_id(id);
    let sql = format!(
        "UPDATE facilities SET name = {name}, kind = {kind}, address = {address}, territory_id = {territory}, lon = CAST({lon} AS DOUBLE PRECISION), \
         lat = CAST({lat} AS DOUBLE PRECISION), publics = {publics}, unit = {unit}, places = {places}, accessible = {accessible}, service_id = {service}, \
         night_cost_cents = {cost}, active = {active} WHERE id = {id}"
    );
    exec(tx, &sql, &p).await?;
    Ok(())
}

/// One facility.
pub async fn get_facility(db: &Db, id: FacilityId) -> Result<Facility> {
    let sql = format!("SELECT {FACILITY_COLUMNS} FROM facilities f WHERE f.id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    facility_row(&row)
}

/// Which facilities a list or the board shows.
#[derive(Clone, Debug, Default)]
pub struct FacilityFilter {
    /// Only in this territory.
    pub territory: Option<TerritoryId>,
    /// Only kept by this organisation.
    pub operator: Option<OrganisationId>,
    /// Only of this kind.
    pub kind: Option<FacilityKind>,
    /// Closed ones too.
    pub with_closed: bool,
}

fn facility_where(f: &FacilityFilter, p: &mut Params) -> String {
    let mut w = vec!["1 = 1".to_owned()];
    if let Some(t) = f.territory {
        w.push(format!("f.territory_id = {}", p.push_id(t)));
    }
    if let Some(o) = f.operator {
        w.push(format!("f.organisation_id = {}", p.push_id(o)));
    }
    if let Some(k) = f.kind {
        w.push(format!("f.kind = {}", p.push(k.code())));
    }
    if !f.with_closed {
        w.push("f.active = 1".into());
    }
    w.join(" AND ")
}

/// Facilities, by name.
pub async fn list_facilities(db: &Db, filter: &FacilityFilter) -> Result<Vec<Facility>> {
    let mut p = Params::new();
    let w = facility_where(filter, &mut p);
    let sql = format!("SELECT {FACILITY_COLUMNS} FROM facilities f WHERE {w} ORDER BY f.name, f.id");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(facility_row).collect()
}

/// Sets the places open on a night (0 with a note: a temporary closure).
pub async fn set_night(tx: &mut Tx, facility: FacilityId, n: Night, places: i64, note: &str, by: UserId, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO facility_nights (facility_id, night, places, note, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (facility_id, night) DO UPDATE SET places = excluded.places, note = excluded.note, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
    )
    .bind(facility.to_string())
    .bind(n.days())
    .bind(places)
    .bind(note)
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The nights of a facility whose places differ from the usual, with their notes.
pub async fn night_notes(db: &Db, facility: FacilityId, from: Night, to: Night) -> Result<Vec<(Night, i64, String)>> {
    let rows = sqlx::query("SELECT night, places, note FROM facility_nights WHERE facility_id = $1 AND night >= $2 AND night < $3 ORDER BY night")
        .bind(facility.to_string())
        .bind(from.days())
        .bind(to.days())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok((Night::from_days(r.try_get("night")?), r.try_get("places")?, r.try_get("note")?))).collect()
}

/// Takes the facility for this transaction: a booking of it waits for
/// another one's commit (PostgreSQL's row lock; SQLite writes one at a time).
pub async fn lock_facility(tx: &mut Tx, id: FacilityId) -> Result<()> {
    let done = sqlx::query("UPDATE facilities SET updated_at = updated_at WHERE id = $1").bind(id.to_string()).execute(&mut **tx).await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// A facility with its places night by night.
#[derive(Clone, Debug)]
pub struct BoardLine {
    /// The facility.
    pub facility: Facility,
    /// Its nights.
    pub nights: Vec<NightPlaces>,
}

const HOLDING: &str = "s.status IN ('booked', 'present')";

/// The nights and places a stay row holds (`from_night`, `to_night`, `places`).
fn occupancy_row(r: &sqlx::any::AnyRow) -> Result<Occupancy> {
    Ok(Occupancy { from: Night::from_days(r.try_get("from_night")?), to: Night::from_days(r.try_get("to_night")?), places: r.try_get("places")? })
}

/// The capacity board: the facilities passing `filter` with their places on
/// `nights` nights from `from` (counts only, never who holds them).
pub async fn board(db: &Db, filter: &FacilityFilter, from: Night, nights: i64) -> Result<Vec<BoardLine>> {
    let facilities = list_facilities(db, filter).await?;
    let to = from.plus(nights);
    let mut p = Params::new();
    let w = facility_where(filter, &mut p);
    let (a, z) = (p.push(from.days()), p.push(to.days()));
    let sql = format!(
        "SELECT s.facility_id, s.from_night, s.to_night, s.places FROM stays s JOIN facilities f ON f.id = s.facility_id \
         WHERE {w} AND {HOLDING} AND s.to_night > {a} AND s.from_night < {z}"
    );
    let mut stays: BTreeMap<String, Vec<Occupancy>> = BTreeMap::new();
    for r in p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await? {
        let occ = occupancy_row(&r)?;
        stays.entry(r.try_get("facility_id")?).or_default().push(occ);
    }
    let mut p = Params::new();
    let w = facility_where(filter, &mut p);
    let (a, z) = (p.push(from.days()), p.push(to.days()));
    let sql = format!("SELECT n.facility_id, n.night, n.places FROM facility_nights n JOIN facilities f ON f.id = n.facility_id WHERE {w} AND n.night >= {a} AND n.night < {z}");
    let mut overrides: BTreeMap<String, BTreeMap<Night, i64>> = BTreeMap::new();
    for r in p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await? {
        overrides.entry(r.try_get("facility_id")?).or_default().insert(Night::from_days(r.try_get("night")?), r.try_get("places")?);
    }
    Ok(facilities
        .into_iter()
        .map(|f| {
            let key = f.id.to_string();
            let nights = veille_domain::shelter::night_places(
                f.places,
                overrides.get(&key).unwrap_or(&BTreeMap::new()),
                stays.get(&key).map(Vec::as_slice).unwrap_or(&[]),
                from,
                nights,
            );
            BoardLine { facility: f, nights }
        })
        .collect())
}

/// The places of one facility night by night, read inside a booking's
/// transaction (after [`lock_facility`]: it sees every committed booking).
pub async fn places_in(tx: &mut Tx, facility: &Facility, from: Night, nights: i64) -> Result<Vec<NightPlaces>> {
    let to = from.plus(nights);
    let rows = sqlx::query(&format!(
        "SELECT s.from_night, s.to_night, s.places FROM stays s WHERE s.facility_id = $1 AND {HOLDING} AND s.to_night > $2 AND s.from_night < $3"
    ))
    .bind(facility.id.to_string())
    .bind(from.days())
    .bind(to.days())
    .fetch_all(&mut **tx)
    .await?;
    let stays: Vec<Occupancy> = rows.iter().map(occupancy_row).collect::<Result<_>>()?;
    let rows = sqlx::query("SELECT night, places FROM facility_nights WHERE facility_id = $1 AND night >= $2 AND night < $3")
        .bind(facility.id.to_string())
        .bind(from.days())
        .bind(to.days())
        .fetch_all(&mut **tx)
        .await?;
    let overrides: BTreeMap<Night, i64> = rows.iter().map(|r| Ok((Night::from_days(r.try_get("night")?), r.try_get("places")?))).collect::<Result<_>>()?;
    Ok(veille_domain::shelter::night_places(facility.places, &overrides, &stays, from, nights))
}

/// Sets the capacity a directory service shows, computed from its facility's
/// board (the service's own "capacity" fields, which its keepers may also set).
pub async fn set_service_capacity(tx: &mut Tx, service: ServiceId, capacity: veille_domain::directory::Capacity, note: &str, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE directory_services SET capacity = $1, capacity_note = $2, capacity_updated_at = $3, updated_at = $3, version = version + 1 WHERE id = $4",
    )
    .bind(capacity.code())
    .bind(note)
    .bind(now.as_micros())
    .bind(service.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- stays

/// Where stays keep what the read rules look at: the booking organisation,
/// the facility's territory, and the operator organisation it is shared with.
pub const STAY_COLUMNS: RecordColumns<'static> = RecordColumns {
    organisation: "s.organisation_id",
    territory: Some("s.territory_id"),
    case: None,
    shared_with: Some(Shared::Column("s.operator_organisation_id")),
};

/// A booking and stay.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Stay {
    /// Id.
    pub id: StayId,
    /// The facility.
    pub facility: FacilityId,
    /// Its name.
    pub facility_name: String,
    /// The organisation that booked it (owner).
    pub organisation: OrganisationId,
    /// The facility's operator (it is shared with it).
    pub operator: OrganisationId,
    /// The facility's territory.
    pub territory: Option<TerritoryId>,
    /// The person sheltered, when on file.
    pub person: Option<PersonId>,
    /// The household sheltered, when on file.
    pub household: Option<HouseholdId>,
    /// Who, in words, when not on file (a pseudonym or "famille R., 4 pers.").
    pub label: String,
    /// Places held.
    pub places: i64,
    /// Where it stands.
    pub status: StayStatus,
    /// First night.
    pub from: Night,
    /// The night after the last one (planned exit).
    pub to: Night,
    /// Arrived at.
    pub entered_at: Option<Timestamp>,
    /// Left at.
    pub left_at: Option<Timestamp>,
    /// Where to, on leaving.
    pub destination: Option<StayDestination>,
    /// The booking body's reference (hotels).
    pub booking_ref: String,
    /// Cost of a night, in cents.
    pub night_cost_cents: Option<i64>,
    /// The operation it came from.
    pub operation: Option<OperationId>,
    /// Note.
    pub note: String,
    /// When booked.
    pub created_at: Timestamp,
    /// Version.
    pub version: i64,
}

impl Stay {
    /// Nights booked.
    pub fn nights(&self) -> i64 {
        self.from.until(self.to)
    }
    /// Total cost of the nights booked, in cents.
    pub fn cost_cents(&self) -> Option<i64> {
        self.night_cost_cents.map(|c| c * self.nights())
    }
}

/// A stay to book.
#[derive(Clone, Debug, PartialEq)]
pub struct NewStay {
    /// Facility.
    pub facility: FacilityId,
    /// Booking organisation.
    pub organisation: OrganisationId,
    /// Operator organisation.
    pub operator: OrganisationId,
    /// Territory (the facility's).
    pub territory: Option<TerritoryId>,
    /// Person.
    pub person: Option<PersonId>,
    /// Household.
    pub household: Option<HouseholdId>,
    /// Label.
    pub label: String,
    /// Places.
    pub places: i64,
    /// First night.
    pub from: Night,
    /// The night after the last one.
    pub to: Night,
    /// Booking reference.
    pub booking_ref: String,
    /// Night cost.
    pub night_cost_cents: Option<i64>,
    /// From an operation.
    pub operation: Option<OperationId>,
    /// Already arrived (an entry on the day of an operation).
    pub present_at: Option<Timestamp>,
    /// Note.
    pub note: String,
}

const STAY_SELECT: &str = "SELECT s.id, s.facility_id, f.name AS facility_name, s.organisation_id, s.operator_organisation_id, s.territory_id, s.person_id, \
    s.household_id, s.label, s.places, s.status, s.from_night, s.to_night, s.entered_at, s.left_at, s.destination, s.booking_ref, s.night_cost_cents, \
    s.operation_id, s.note, s.created_at, s.version FROM stays s JOIN facilities f ON f.id = s.facility_id";

fn stay_row(r: &sqlx::any::AnyRow) -> Result<Stay> {
    Ok(Stay {
        id: r.try_get("id")?,
        facility: r.try_get("facility_id")?,
        facility_name: r.try_get("facility_name")?,
        organisation: r.try_get("organisation_id")?,
        operator: r.try_get("operator_organisation_id")?,
        territory: r.try_get("territory_id")?,
        person: r.try_get("person_id")?,
        household: r.try_get("household_id")?,
        label: r.try_get("label")?,
        places: r.try_get("places")?,
        status: r.try_get("status")?,
        from: Night::from_days(r.try_get("from_night")?),
        to: Night::from_days(r.try_get("to_night")?),
        entered_at: ts(r.try_get("entered_at")?),
        left_at: ts(r.try_get("left_at")?),
        destination: r.try_get("destination")?,
        booking_ref: r.try_get("booking_ref")?,
        night_cost_cents: r.try_get("night_cost_cents")?,
        operation: r.try_get("operation_id")?,
        note: r.try_get("note")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        version: r.try_get("version")?,
    })
}

/// Writes a booking (the caller locked the facility and checked its places).
pub async fn create_stay(tx: &mut Tx, s: &NewStay, by: UserId, now: Timestamp) -> Result<StayId> {
    let id = StayId::new();
    let status = if s.present_at.is_some() { StayStatus::Present } else { StayStatus::Booked };
    sqlx::query(
        "INSERT INTO stays (id, facility_id, organisation_id, operator_organisation_id, territory_id, person_id, household_id, label, places, status, \
         from_night, to_night, entered_at, booking_ref, night_cost_cents, operation_id, note, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)",
    )
    .bind(id.to_string())
    .bind(s.facility.to_string())
    .bind(s.organisation.to_string())
    .bind(s.operator.to_string())
    .bind(s.territory.map(|t| t.to_string()))
    .bind(s.person.map(|t| t.to_string()))
    .bind(s.household.map(|t| t.to_string()))
    .bind(s.label.as_str())
    .bind(s.places)
    .bind(status.code())
    .bind(s.from.days())
    .bind(s.to.days())
    .bind(s.present_at.map(Timestamp::as_micros))
    .bind(s.booking_ref.as_str())
    .bind(s.night_cost_cents)
    .bind(s.operation.map(|o| o.to_string()))
    .bind(s.note.as_str())
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// One stay in the scope.
pub async fn get_stay(db: &Db, scope: &Scope, id: StayId) -> Result<Stay> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&STAY_COLUMNS, &mut p);
    let sql = format!("{STAY_SELECT} WHERE s.id = {id} AND {readable}");
    stay_row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// Which stays a list shows.
#[derive(Clone, Debug, Default)]
pub struct StayFilter {
    /// Only of this facility.
    pub facility: Option<FacilityId>,
    /// Only of this person.
    pub person: Option<PersonId>,
    /// Only booked or present.
    pub current: bool,
    /// Only of this operation.
    pub operation: Option<OperationId>,
    /// At most this many (newest first when set).
    pub limit: Option<i64>,
}

/// Stays in the scope passing `filter`, by first night.
pub async fn list_stays(db: &Db, scope: &Scope, filter: &StayFilter) -> Result<Vec<Stay>> {
    let mut p = Params::new();
    let readable = scope.records(&STAY_COLUMNS, &mut p);
    let mut w = vec![readable];
    if let Some(f) = filter.facility {
        w.push(format!("s.facility_id = {}", p.push_id(f)));
    }
    if let Some(f) = filter.person {
        w.push(format!("s.person_id = {}", p.push_id(f)));
    }
    if let Some(o) = filter.operation {
        w.push(format!("s.operation_id = {}", p.push_id(o)));
    }
    if filter.current {
        w.push(HOLDING.into());
    }
    let limit = filter.limit.map(|l| format!(" LIMIT {}", l.clamp(1, 10_000))).unwrap_or_default();
    let order = if filter.limit.is_some() { "s.from_night DESC, s.id DESC" } else { "s.from_night, s.id" };
    let sql = format!("{STAY_SELECT} WHERE {} ORDER BY {order}{limit}", w.join(" AND "));
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(stay_row).collect()
}

/// A change of a stay's status.
#[derive(Clone, Debug, PartialEq)]
pub enum StayChange {
    /// Arrived.
    Enter(Timestamp),
    /// Left, to a destination; the stay's last night becomes the night before `night`.
    Leave { at: Timestamp, night: Night, destination: StayDestination },
    /// Cancelled before arrival, or did not come.
    Cancel(StayStatus),
    /// The planned exit moves (the caller checked the places).
    Extend(Night),
}

impl StayChange {
    /// The status a stay at `current` has after this change.
    pub fn status_after(&self, current: StayStatus) -> StayStatus {
        match self {
            StayChange::Enter(_) => StayStatus::Present,
            StayChange::Leave { .. } => StayStatus::Left,
            StayChange::Cancel(status) => *status,
            StayChange::Extend(_) => current,
        }
    }
}

/// Applies a change to a stay still at `version`.
pub async fn change_stay(tx: &mut Tx, stay: &Stay, change: &StayChange, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Stays, stay.id, version, now).await?;
    let q = match change {
        StayChange::Enter(at) => sqlx::query("UPDATE stays SET status = 'present', entered_at = $1 WHERE id = $2").bind(at.as_micros()),
        StayChange::Leave { at, night, destination } => sqlx::query(
            "UPDATE stays SET status = 'left', left_at = $1, to_night = CASE WHEN $2 < to_night THEN $2 ELSE to_night END, destination = $3 WHERE id = $4",
        )
        .bind(at.as_micros())
        .bind(night.days().max(stay.from.days() + 1))
        .bind(destination.code()),
        StayChange::Cancel(status) => sqlx::query("UPDATE stays SET status = $1 WHERE id = $2").bind(status.code()),
        StayChange::Extend(to) => sqlx::query("UPDATE stays SET to_night = $1 WHERE id = $2").bind(to.days()),
    };
    q.bind(stay.id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Stays in the scope present (or booked and due) for longer than `nights`
/// nights by `tonight` (long hotel stays to follow up).
pub async fn long_stays(db: &Db, scope: &Scope, tonight: Night, nights: i64) -> Result<Vec<Stay>> {
    let mut p = Params::new();
    let readable = scope.records(&STAY_COLUMNS, &mut p);
    let since = p.push(tonight.plus(-nights).days());
    let sql = format!("{STAY_SELECT} WHERE {readable} AND s.status = 'present' AND s.from_night <= {since} ORDER BY s.from_night");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(stay_row).collect()
}

// ---------------------------------------------------------------- the waiting list

/// Where shelter requests keep what the read rules look at.
pub const REQUEST_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "q.organisation_id", territory: Some("q.territory_id"), case: None, shared_with: None };

/// A request on the waiting list.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ShelterRequest {
    /// Id.
    pub id: ShelterRequestId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Person on file.
    pub person: Option<PersonId>,
    /// Label.
    pub label: String,
    /// Places needed.
    pub places: i64,
    /// Public.
    pub public: Public,
    /// Priority (higher first).
    pub priority: i64,
    /// Wanted from.
    pub wanted_from: Night,
    /// Note.
    pub note: String,
    /// `waiting`, `placed`, `withdrawn`.
    pub status: String,
    /// Stay it led to.
    pub stay: Option<StayId>,
    /// When.
    pub created_at: Timestamp,
    /// Version.
    pub version: i64,
}

/// A request to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRequest {
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Person.
    pub person: Option<PersonId>,
    /// Label.
    pub label: String,
    /// Places.
    pub places: i64,
    /// Public.
    pub public: Public,
    /// Priority.
    pub priority: i64,
    /// Wanted from.
    pub wanted_from: Night,
    /// Note.
    pub note: String,
}

const REQUEST_SELECT: &str = "SELECT q.id, q.organisation_id, q.territory_id, q.person_id, q.label, q.places, q.public, q.priority, q.wanted_from, q.note, \
    q.status, q.stay_id, q.created_at, q.version FROM shelter_requests q";

fn request_row(r: &sqlx::any::AnyRow) -> Result<ShelterRequest> {
    Ok(ShelterRequest {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        person: r.try_get("person_id")?,
        label: r.try_get("label")?,
        places: r.try_get("places")?,
        public: r.try_get("public")?,
        priority: r.try_get("priority")?,
        wanted_from: Night::from_days(r.try_get("wanted_from")?),
        note: r.try_get("note")?,
        status: r.try_get("status")?,
        stay: r.try_get("stay_id")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        version: r.try_get("version")?,
    })
}

/// Writes a request on the waiting list of `organisation`.
pub async fn create_request(tx: &mut Tx, organisation: OrganisationId, q: &NewRequest, by: UserId, now: Timestamp) -> Result<ShelterRequestId> {
    let id = ShelterRequestId::new();
    sqlx::query(
        "INSERT INTO shelter_requests (id, organisation_id, territory_id, person_id, label, places, public, priority, wanted_from, note, created_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(q.territory.map(|t| t.to_string()))
    .bind(q.person.map(|t| t.to_string()))
    .bind(q.label.as_str())
    .bind(q.places)
    .bind(q.public.code())
    .bind(q.priority)
    .bind(q.wanted_from.days())
    .bind(q.note.as_str())
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The waiting requests in the scope: highest priority first, then oldest.
pub async fn waiting_list(db: &Db, scope: &Scope) -> Result<Vec<ShelterRequest>> {
    let mut p = Params::new();
    let readable = scope.records(&REQUEST_COLUMNS, &mut p);
    let sql = format!("{REQUEST_SELECT} WHERE {readable} AND q.status = 'waiting' ORDER BY q.priority DESC, q.created_at, q.id");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(request_row).collect()
}

/// One request in the scope.
pub async fn get_request(db: &Db, scope: &Scope, id: ShelterRequestId) -> Result<ShelterRequest> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&REQUEST_COLUMNS, &mut p);
    let sql = format!("{REQUEST_SELECT} WHERE q.id = {id} AND {readable}");
    request_row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// Closes a request (placed in a stay, or withdrawn), if still at `version`.
pub async fn close_request(tx: &mut Tx, id: ShelterRequestId, status: &str, stay: Option<StayId>, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::ShelterRequests, id, version, now).await?;
    sqlx::query("UPDATE shelter_requests SET status = $1, stay_id = $2 WHERE id = $3")
        .bind(status)
        .bind(stay.map(|s| s.to_string()))
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- operations

/// Where operations keep what the read rules look at.
pub const OPERATION_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "o.organisation_id", territory: Some("o.territory_id"), case: None, shared_with: None };

/// An operation on a site.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Operation {
    /// Id.
    pub id: OperationId,
    /// Organisation leading it.
    pub organisation: OrganisationId,
    /// The site.
    pub site: SiteId,
    /// Its name.
    pub site_name: String,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Kind.
    pub kind: OperationKind,
    /// Planned for.
    pub planned_on: Night,
    /// `planned`, `done`, `cancelled`.
    pub status: String,
    /// Organisations taking part, in words.
    pub partners: String,
    /// City services requested.
    pub city_services: String,
    /// Legal frame (justice field group).
    pub legal_frame: String,
    /// The order's reference (justice field group).
    pub legal_reference: String,
    /// The report written after the day.
    pub report: String,
    /// When it was done.
    pub done_at: Option<Timestamp>,
    /// Version.
    pub version: i64,
}

/// An operation to plan.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOperation {
    /// Site.
    pub site: SiteId,
    /// Territory (the site's).
    pub territory: Option<TerritoryId>,
    /// Kind.
    pub kind: OperationKind,
    /// Date.
    pub planned_on: Night,
    /// Partners in words.
    pub partners: String,
    /// City services.
    pub city_services: String,
    /// Legal frame code.
    pub legal_frame: String,
    /// The order's reference.
    pub legal_reference: String,
}

const OPERATION_SELECT: &str = "SELECT o.id, o.organisation_id, o.site_id, si.name AS site_name, o.territory_id, o.kind, o.planned_on, o.status, o.partners, \
    o.city_services, o.legal_frame, o.legal_reference, o.report, o.done_at, o.version FROM operations o JOIN sites si ON si.id = o.site_id";

fn operation_row(ring: &crate::field_keys::KeyRing, r: &sqlx::any::AnyRow) -> Result<Operation> {
    Ok(Operation {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        site: r.try_get("site_id")?,
        site_name: r.try_get("site_name")?,
        territory: r.try_get("territory_id")?,
        kind: r.try_get("kind")?,
        planned_on: Night::from_days(r.try_get("planned_on")?),
        status: r.try_get("status")?,
        partners: r.try_get("partners")?,
        city_services: r.try_get("city_services")?,
        legal_frame: ring.open("operations", "legal_frame", &r.try_get::<String, _>("legal_frame")?)?,
        legal_reference: ring.open("operations", "legal_reference", &r.try_get::<String, _>("legal_reference")?)?,
        report: r.try_get("report")?,
        done_at: ts(r.try_get("done_at")?),
        version: r.try_get("version")?,
    })
}

/// Plans an operation led by `organisation`.
pub async fn create_operation(tx: &mut Tx, organisation: OrganisationId, o: &NewOperation, by: UserId, now: Timestamp) -> Result<OperationId> {
    let id = OperationId::new();
    let ring = tx.ring()?;
    let (frame, reference) = (ring.seal("operations", "legal_frame", &o.legal_frame)?, ring.seal("operations", "legal_reference", &o.legal_reference)?);
    sqlx::query(
        "INSERT INTO operations (id, organisation_id, site_id, territory_id, kind, planned_on, partners, city_services, legal_frame, legal_reference, \
         created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(o.site.to_string())
    .bind(o.territory.map(|t| t.to_string()))
    .bind(o.kind.code())
    .bind(o.planned_on.days())
    .bind(o.partners.as_str())
    .bind(o.city_services.as_str())
    .bind(frame)
    .bind(reference)
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// One operation in the scope.
pub async fn get_operation(db: &Db, scope: &Scope, id: OperationId) -> Result<Operation> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&OPERATION_COLUMNS, &mut p);
    let sql = format!("{OPERATION_SELECT} WHERE o.id = {id} AND {readable}");
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    let ring = db.ring()?;
    operation_row(&ring, &row)
}

/// Operations in the scope (of one site when given), by date.
pub async fn list_operations(db: &Db, scope: &Scope, site: Option<SiteId>) -> Result<Vec<Operation>> {
    let ring = db.ring()?;
    let mut p = Params::new();
    let readable = scope.records(&OPERATION_COLUMNS, &mut p);
    let on_site = site.map(|s| format!(" AND o.site_id = {}", p.push_id(s))).unwrap_or_default();
    let sql = format!("{OPERATION_SELECT} WHERE {readable}{on_site} ORDER BY o.planned_on DESC, o.id");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(|r| operation_row(&ring, r)).collect()
}

/// Marks an operation done (with its report) or cancelled, if still at `version`.
pub async fn finish_operation(tx: &mut Tx, id: OperationId, status: &str, report: &str, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Operations, id, version, now).await?;
    sqlx::query("UPDATE operations SET status = $1, report = $2, done_at = $3 WHERE id = $4")
        .bind(status)
        .bind(report)
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A line of a prior social diagnosis: a person or household present.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DiagnosisLine {
    /// Id.
    pub id: DiagnosisId,
    /// Operation.
    pub operation: OperationId,
    /// Person on file.
    pub person: Option<PersonId>,
    /// Who, in words (pseudonym, "famille R.").
    pub label: String,
    /// How many people.
    pub people: i64,
    /// Vulnerabilities.
    pub vulnerabilities: Vec<DiagnosisVulnerability>,
    /// Needs, in words.
    pub needs: String,
    /// Solution proposed.
    pub proposal: String,
    /// Outcome on the day.
    pub outcome: Option<OperationOutcome>,
    /// Facility, when sheltered.
    pub facility: Option<FacilityId>,
    /// The stay made.
    pub stay: Option<StayId>,
}

impl DiagnosisLine {
    /// Its vulnerability score (orders the list).
    pub fn score(&self) -> i64 {
        veille_domain::shelter::vulnerability_score(&self.vulnerabilities)
    }
}

/// A diagnosis line to add.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewDiagnosis {
    /// Person.
    pub person: Option<PersonId>,
    /// Label.
    pub label: String,
    /// People.
    pub people: i64,
    /// Vulnerabilities.
    pub vulnerabilities: Vec<DiagnosisVulnerability>,
    /// Needs.
    pub needs: String,
    /// Proposal.
    pub proposal: String,
}

/// Adds a line to an operation's diagnosis.
pub async fn add_diagnosis(tx: &mut Tx, operation: OperationId, d: &NewDiagnosis, now: Timestamp) -> Result<DiagnosisId> {
    let id = DiagnosisId::new();
    sqlx::query(
        "INSERT INTO operation_people (id, operation_id, person_id, label, people_count, vulnerabilities, needs, proposal, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id.to_string())
    .bind(operation.to_string())
    .bind(d.person.map(|p| p.to_string()))
    .bind(d.label.as_str())
    .bind(d.people)
    .bind(join_codes(&d.vulnerabilities))
    .bind(d.needs.as_str())
    .bind(d.proposal.as_str())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The diagnosis of an operation the caller read, most vulnerable first.
pub async fn diagnosis(db: &Db, operation: OperationId) -> Result<Vec<DiagnosisLine>> {
    let rows = sqlx::query(
        "SELECT id, operation_id, person_id, label, people_count, vulnerabilities, needs, proposal, outcome, facility_id, stay_id \
         FROM operation_people WHERE operation_id = $1 ORDER BY created_at, id",
    )
    .bind(operation.to_string())
    .fetch_all(db.pool())
    .await?;
    let mut lines: Vec<DiagnosisLine> = rows
        .iter()
        .map(|r| {
            Ok(DiagnosisLine {
                id: r.try_get("id")?,
                operation: r.try_get("operation_id")?,
                person: r.try_get("person_id")?,
                label: r.try_get("label")?,
                people: r.try_get("people_count")?,
                vulnerabilities: codes_of(&r.try_get::<String, _>("vulnerabilities")?),
                needs: r.try_get("needs")?,
                proposal: r.try_get("proposal")?,
                outcome: r.try_get("outcome")?,
                facility: r.try_get("facility_id")?,
                stay: r.try_get("stay_id")?,
            })
        })
        .collect::<Result<_>>()?;
    lines.sort_by_key(|l| std::cmp::Reverse(l.score()));
    Ok(lines)
}

/// Records the outcome of a diagnosis line on the day.
pub async fn set_outcome(
    tx: &mut Tx,
    line: DiagnosisId,
    outcome: OperationOutcome,
    facility: Option<FacilityId>,
    stay: Option<StayId>,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE operation_people SET outcome = $1, facility_id = $2, stay_id = $3, updated_at = $4 WHERE id = $5")
        .bind(outcome.code())
        .bind(facility.map(|f| f.to_string()))
        .bind(stay.map(|s| s.to_string()))
        .bind(now.as_micros())
        .bind(line.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Planned operations in the scope, on or before `by`, whose diagnosis is empty.
pub async fn undiagnosed(db: &Db, scope: &Scope, by: Night) -> Result<Vec<Operation>> {
    let ring = db.ring()?;
    let mut p = Params::new();
    let readable = scope.records(&OPERATION_COLUMNS, &mut p);
    let by = p.push(by.days());
    let sql = format!(
        "{OPERATION_SELECT} WHERE {readable} AND o.status = 'planned' AND o.planned_on <= {by} \
         AND NOT EXISTS (SELECT 1 FROM operation_people d WHERE d.operation_id = o.id) ORDER BY o.planned_on"
    );
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(|r| operation_row(&ring, r)).collect()
}

// ---------------------------------------------------------------- Housing First

/// Where dwellings (and their tenancies, checks, landlords) keep what the read rules look at.
pub const DWELLING_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "d.organisation_id", territory: Some("d.territory_id"), case: None, shared_with: None };

/// Where landlords keep what the read rules look at (no territory).
pub const LANDLORD_COLUMNS: RecordColumns<'static> = RecordColumns { organisation: "l.organisation_id", territory: None, case: None, shared_with: None };

/// A landlord.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Landlord {
    /// Id.
    pub id: LandlordId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: LandlordKind,
    /// How to reach them.
    pub contact: String,
    /// The agreement with them.
    pub agreement: String,
}

/// Writes a landlord of `organisation`.
pub async fn create_landlord(
    tx: &mut Tx,
    organisation: OrganisationId,
    name: &str,
    kind: LandlordKind,
    contact: &str,
    agreement: &str,
    now: Timestamp,
) -> Result<LandlordId> {
    let id = LandlordId::new();
    sqlx::query("INSERT INTO landlords (id, organisation_id, name, kind, contact, agreement, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
        .bind(id.to_string())
        .bind(organisation.to_string())
        .bind(name)
        .bind(kind.code())
        .bind(contact)
        .bind(agreement)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Landlords in the scope, by name.
pub async fn landlords(db: &Db, scope: &Scope) -> Result<Vec<Landlord>> {
    let mut p = Params::new();
    let readable = scope.records(&LANDLORD_COLUMNS, &mut p);
    let sql = format!("SELECT l.id, l.organisation_id, l.name, l.kind, l.contact, l.agreement FROM landlords l WHERE {readable} ORDER BY l.name, l.id");
    p.bind(sqlx::query(&sql))
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Landlord {
                id: r.try_get("id")?,
                organisation: r.try_get("organisation_id")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
                contact: r.try_get("contact")?,
                agreement: r.try_get("agreement")?,
            })
        })
        .collect()
}

/// A dwelling.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Dwelling {
    /// Id.
    pub id: DwellingId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Landlord.
    pub landlord: Option<LandlordId>,
    /// The landlord's name.
    pub landlord_name: Option<String>,
    /// Address.
    pub address: String,
    /// Rooms.
    pub rooms: i64,
    /// State.
    pub state: String,
    /// Rent in cents.
    pub rent_cents: Option<i64>,
    /// Days between checks.
    pub check_every_days: i64,
    /// Version.
    pub version: i64,
}

/// A dwelling to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDwelling {
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Landlord.
    pub landlord: Option<LandlordId>,
    /// Address.
    pub address: String,
    /// Rooms.
    pub rooms: i64,
    /// State code.
    pub state: String,
    /// Rent in cents.
    pub rent_cents: Option<i64>,
    /// Days between checks.
    pub check_every_days: i64,
}

const DWELLING_SELECT: &str = "SELECT d.id, d.organisation_id, d.territory_id, d.landlord_id, l.name AS landlord_name, d.address, d.rooms, d.state, \
    d.rent_cents, d.check_every_days, d.version FROM dwellings d LEFT JOIN landlords l ON l.id = d.landlord_id";

fn dwelling_row(r: &sqlx::any::AnyRow) -> Result<Dwelling> {
    Ok(Dwelling {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        landlord: r.try_get("landlord_id")?,
        landlord_name: r.try_get("landlord_name")?,
        address: r.try_get("address")?,
        rooms: r.try_get("rooms")?,
        state: r.try_get("state")?,
        rent_cents: r.try_get("rent_cents")?,
        check_every_days: r.try_get("check_every_days")?,
        version: r.try_get("version")?,
    })
}

/// Writes a dwelling of `organisation`.
pub async fn create_dwelling(tx: &mut Tx, organisation: OrganisationId, d: &NewDwelling, now: Timestamp) -> Result<DwellingId> {
    let id = DwellingId::new();
    sqlx::query(
        "INSERT INTO dwellings (id, organisation_id, territory_id, landlord_id, address, rooms, state, rent_cents, check_every_days, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(id.to_string())
    .bind(organisation.to_string())
    .bind(d.territory.map(|t| t.to_string()))
    .bind(d.landlord.map(|t| t.to_string()))
    .bind(d.address.as_str())
    .bind(d.rooms)
    .bind(d.state.as_str())
    .bind(d.rent_cents)
    .bind(d.check_every_days)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// One dwelling in the scope.
pub async fn get_dwelling(db: &Db, scope: &Scope, id: DwellingId) -> Result<Dwelling> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&DWELLING_COLUMNS, &mut p);
    let sql = format!("{DWELLING_SELECT} WHERE d.id = {id} AND {readable}");
    dwelling_row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// Dwellings in the scope, by address.
pub async fn list_dwellings(db: &Db, scope: &Scope) -> Result<Vec<Dwelling>> {
    let mut p = Params::new();
    let readable = scope.records(&DWELLING_COLUMNS, &mut p);
    let sql = format!("{DWELLING_SELECT} WHERE {readable} ORDER BY d.address, d.id");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(dwelling_row).collect()
}

/// Changes a dwelling's state, if still at `version`.
pub async fn set_dwelling_state(tx: &mut Tx, id: DwellingId, state: &str, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Dwellings, id, version, now).await?;
    sqlx::query("UPDATE dwellings SET state = $1 WHERE id = $2").bind(state).bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// A tenancy.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Tenancy {
    /// Id.
    pub id: TenancyId,
    /// Dwelling.
    pub dwelling: DwellingId,
    /// Tenant on file.
    pub person: Option<PersonId>,
    /// Tenant in words.
    pub label: String,
    /// Lease start.
    pub lease_start: Night,
    /// Lease end (left).
    pub lease_end: Option<Night>,
    /// Support intensity.
    pub support: SupportIntensity,
    /// Why it ended.
    pub exit_reason: Option<String>,
}

/// Writes a tenancy of a dwelling.
pub async fn create_tenancy(
    tx: &mut Tx,
    dwelling: DwellingId,
    person: Option<PersonId>,
    label: &str,
    start: Night,
    support: SupportIntensity,
    now: Timestamp,
) -> Result<TenancyId> {
    let id = TenancyId::new();
    sqlx::query(
        "INSERT INTO tenancies (id, dwelling_id, person_id, label, lease_start, support, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(id.to_string())
    .bind(dwelling.to_string())
    .bind(person.map(|p| p.to_string()))
    .bind(label)
    .bind(start.days())
    .bind(support.code())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Ends a tenancy.
pub async fn end_tenancy(tx: &mut Tx, id: TenancyId, end: Night, reason: &str, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE tenancies SET lease_end = $1, exit_reason = $2, updated_at = $3 WHERE id = $4 AND lease_end IS NULL")
        .bind(end.days())
        .bind(reason)
        .bind(now.as_micros())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The tenancies of a dwelling the caller read, newest first.
pub async fn tenancies(db: &Db, dwelling: DwellingId) -> Result<Vec<Tenancy>> {
    let rows = sqlx::query(
        "SELECT id, dwelling_id, person_id, label, lease_start, lease_end, support, exit_reason FROM tenancies WHERE dwelling_id = $1 ORDER BY lease_start DESC, id",
    )
    .bind(dwelling.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Tenancy {
                id: r.try_get("id")?,
                dwelling: r.try_get("dwelling_id")?,
                person: r.try_get("person_id")?,
                label: r.try_get("label")?,
                lease_start: Night::from_days(r.try_get("lease_start")?),
                lease_end: night(r.try_get("lease_end")?),
                support: r.try_get("support")?,
                exit_reason: r.try_get("exit_reason")?,
            })
        })
        .collect()
}

/// A dwelling check.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DwellingCheck {
    /// Id.
    pub id: DwellingCheckId,
    /// Dwelling.
    pub dwelling: DwellingId,
    /// The dwelling's address.
    pub address: String,
    /// Due on.
    pub due_on: Night,
    /// Done on.
    pub done_on: Option<Night>,
    /// Checklist: point → rating.
    pub checklist: Vec<(String, CheckRating)>,
    /// Notes.
    pub notes: String,
}

const CHECK_SELECT: &str =
    "SELECT c.id, c.dwelling_id, d.address, c.due_on, c.done_on, c.checklist, c.notes FROM dwelling_checks c JOIN dwellings d ON d.id = c.dwelling_id";

fn check_row(r: &sqlx::any::AnyRow) -> Result<DwellingCheck> {
    let checklist = r
        .try_get::<String, _>("checklist")?
        .split(',')
        .filter_map(|pair| {
            let (point, rating) = pair.split_once('=')?;
            Some((point.to_owned(), rating.parse().ok()?))
        })
        .collect();
    Ok(DwellingCheck {
        id: r.try_get("id")?,
        dwelling: r.try_get("dwelling_id")?,
        address: r.try_get("address")?,
        due_on: Night::from_days(r.try_get("due_on")?),
        done_on: night(r.try_get("done_on")?),
        checklist,
        notes: r.try_get("notes")?,
    })
}

/// Schedules a check of a dwelling.
pub async fn schedule_check(tx: &mut Tx, dwelling: DwellingId, due: Night, now: Timestamp) -> Result<DwellingCheckId> {
    let id = DwellingCheckId::new();
    sqlx::query("INSERT INTO dwelling_checks (id, dwelling_id, due_on, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id.to_string())
        .bind(dwelling.to_string())
        .bind(due.days())
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Records a check done (once: a check already done is stale).
pub async fn complete_check(tx: &mut Tx, id: DwellingCheckId, done: Night, by: UserId, checklist: &[(String, CheckRating)], notes: &str) -> Result<()> {
    let list = checklist.iter().map(|(p, r)| format!("{p}={}", r.code())).collect::<Vec<_>>().join(",");
    let n = sqlx::query("UPDATE dwelling_checks SET done_on = $1, done_by = $2, checklist = $3, notes = $4 WHERE id = $5 AND done_on IS NULL")
        .bind(done.days())
        .bind(by.to_string())
        .bind(list)
        .bind(notes)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(StorageError::StaleVersion);
    }
    Ok(())
}

/// The checks of a dwelling the caller read, latest due first.
pub async fn checks(db: &Db, dwelling: DwellingId) -> Result<Vec<DwellingCheck>> {
    let sql = format!("{CHECK_SELECT} WHERE c.dwelling_id = $1 ORDER BY c.due_on DESC, c.id");
    sqlx::query(&sql).bind(dwelling.to_string()).fetch_all(db.pool()).await?.iter().map(check_row).collect()
}

/// One check, of a dwelling in the scope.
pub async fn get_check(db: &Db, scope: &Scope, id: DwellingCheckId) -> Result<DwellingCheck> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&DWELLING_COLUMNS, &mut p);
    let sql = format!("{CHECK_SELECT} WHERE c.id = {id} AND {readable}");
    check_row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// Checks not done, due before `today`, of dwellings in the scope (overdue), oldest first.
pub async fn overdue_checks(db: &Db, scope: &Scope, today: Night) -> Result<Vec<DwellingCheck>> {
    let mut p = Params::new();
    let readable = scope.records(&DWELLING_COLUMNS, &mut p);
    let today = p.push(today.days());
    let sql = format!("{CHECK_SELECT} WHERE {readable} AND c.done_on IS NULL AND c.due_on < {today} ORDER BY c.due_on, c.id");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(check_row).collect()
}
