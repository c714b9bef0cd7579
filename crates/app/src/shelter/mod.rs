//! Shelter: facilities and their places night by night, the capacity board,
//! bookings and stays (entry, exit with destination, extension,
//! cancellation), hotel nights and their cost, the waiting list; operations
//! on sites with their prior social diagnosis ([`operations`]); Housing First
//! dwellings, landlords, tenancies, dwelling checks and follow-up actions
//! ([`housing`]).
//!
//! Access: a facility is [`ResourceKind::Facility`] — every account reads
//! the board (places, never people), its operator organisation keeps it. A
//! stay is a personal record of the organisation that booked it, in the
//! facility's territory, shared with the operator (which records entries
//! and exits). A booking never takes a place that is not free: its check
//! and its insert share one transaction that first takes the facility
//! ([`veille_storage::shelter::lock_facility`]); the loser of a race for the
//! last place is told the next night that fits.

pub mod demo;
pub mod housing;
pub mod input;
pub mod operations;

use veille_domain::records::RecordKind;
use veille_domain::shelter::{next_fit, FacilityKind, Night, Public, StayDestination, StayStatus, Unit};
use veille_domain::{Action, FacilityId, OrganisationId, PersonId, Resource, ResourceKind, ShelterRequestId, StayId, TerritoryId, Timestamp};
use veille_storage::shelter::{self as store, FacilityFields, NewRequest, NewStay, StayChange, StayFilter};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{audit, Tx};

pub use input::*;
pub use veille_storage::actions::FollowUp;
pub use veille_storage::shelter::{
    BoardLine, DiagnosisLine, Dwelling, DwellingCheck, Facility, FacilityFilter, Landlord, Operation, ShelterRequest, Stay, Tenancy,
};

use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

/// Most places one booking holds (a large family).
pub const MAX_PLACES: i64 = 30;
/// Longest booking, in nights.
pub const MAX_NIGHTS: i64 = 366;
/// How far ahead the next free night is looked for.
pub const HORIZON: i64 = 366;
/// A hotel stay longer than this many nights is listed for follow-up.
pub const LONG_STAY_NIGHTS: i64 = 30;

/// Tonight, on the application clock.
pub fn tonight(app: &App) -> Night {
    Night::at(app.clock.now())
}

/// The access-control description of a facility.
pub fn facility_resource(f: &Facility) -> Resource {
    Resource::new(ResourceKind::Facility).owned_by(f.organisation).in_territory(f.territory)
}

/// The access-control description of a stay: the booking organisation's,
/// in the facility's territory, shared with the operator.
pub fn stay_resource(organisation: OrganisationId, operator: OrganisationId, territory: Option<TerritoryId>) -> Resource {
    let r = Resource::new(ResourceKind::Record).owned_by(organisation).in_territory(territory);
    if operator == organisation {
        r
    } else {
        r.shared_with(operator)
    }
}

/// Whether the account books places (its organisation's records).
pub fn can_book(who: &Caller) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation)).allowed
}

/// Refuses the accounts that do not book places (partners, readers, instance administrators).
pub fn gate_booking(who: &Caller) -> Result<()> {
    if can_book(who) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// Whether the account works with stays at all: its organisation's, or
/// those in the facilities its organisation operates (shared with it).
pub fn gate_stays(who: &Caller) -> Result<()> {
    let own = Resource::new(ResourceKind::Record).owned_by(who.account.organisation);
    let shared = Resource::new(ResourceKind::Record).owned_by(OrganisationId::from_uuid(uuid::Uuid::nil())).shared_with(who.account.organisation);
    if who.can(Action::Read, &own).allowed || who.can(Action::Read, &shared).allowed {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// Whether the account opens facilities for its organisation.
pub fn can_open_facility(who: &Caller) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Facility).owned_by(who.account.organisation)).allowed
}

/// A facility (every account reads it), and whether the caller may do `action` on it.
pub async fn load_facility(app: &App, who: &Caller, id: &str, action: Action) -> Result<Facility> {
    let id: FacilityId = id.parse().map_err(|_| Error::not_found())?;
    let f = store::get_facility(&app.db, id).await?;
    who.require(action, &facility_resource(&f))?;
    Ok(f)
}

/// The capacity board: facilities (of a territory, when given) with their
/// places on `nights` nights from `from`.
pub async fn board(app: &App, who: &Caller, territory: Option<TerritoryId>, from: Night, nights: i64) -> Result<Vec<BoardLine>> {
    who.require(Action::Read, &Resource::new(ResourceKind::Facility))?;
    let filter = FacilityFilter { territory, ..Default::default() };
    Ok(store::board(&app.db, &filter, from, nights.clamp(1, 62)).await?)
}

/// The facilities the caller's organisation operates.
pub async fn operated(app: &App, who: &Caller) -> Result<Vec<Facility>> {
    Ok(store::list_facilities(&app.db, &FacilityFilter { operator: Some(who.account.organisation), with_closed: true, ..Default::default() }).await?)
}

/// Every open facility, by name (to choose one in a form).
pub async fn facilities(app: &App) -> Result<Vec<Facility>> {
    Ok(store::list_facilities(&app.db, &FacilityFilter::default()).await?)
}

async fn validate_facility(app: &App, lang: Lang, input: &FacilityInput) -> Result<std::result::Result<FacilityFields, FieldErrors>> {
    let mut e = FieldErrors::new();
    let name = words(&input.name, "name", 200, true, lang, &mut e);
    let kind = code::<FacilityKind>(&input.kind, "kind", lang, &mut e);
    let address = words(&input.address, "address", 300, false, lang, &mut e);
    let unit = if input.unit.trim().is_empty() { Some(Unit::Place) } else { code::<Unit>(&input.unit, "unit", lang, &mut e) };
    let places = number(&input.places, "places", 0, 5_000, None, lang, &mut e);
    let publics = code_list::<Public>(&input.publics, "publics", lang, &mut e);
    let night_cost_cents = euros(&input.night_cost, "night_cost", lang, &mut e);
    let coordinate = |t: &str| t.trim().replace(',', ".").parse::<f64>().ok();
    let (lat, lon) = (coordinate(&input.lat), coordinate(&input.lon));
    if lat.is_some_and(|v| !(-90.0..=90.0).contains(&v)) || lon.is_some_and(|v| !(-180.0..=180.0).contains(&v)) {
        e.add("lat", lang.t("shelter.error.point"));
    }
    let mut territory = id::<TerritoryId>(&input.territory_id, "territory_id", lang, &mut e);
    if territory.is_none() {
        if let Some(point) = lon.zip(lat).and_then(|(lon, lat)| veille_geo::LonLat::new(lon, lat).ok()) {
            territory = app.territories.read().await.locate(point).copied();
        }
    }
    let service = id(&input.service_id, "service_id", lang, &mut e);
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let accessible = matches!(input.accessible.trim(), "on" | "true" | "1" | "yes");
    Ok(Ok(FacilityFields { name, kind, address, territory, lon, lat, publics, unit, places, accessible, service, night_cost_cents }))
}

/// Opens a facility operated by the caller's organisation.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create_facility(app: &App, who: &Caller, lang: Lang, input: &FacilityInput) -> Result<std::result::Result<Facility, FieldErrors>> {
    if !can_open_facility(who) {
        return Err(Error::forbidden());
    }
    let fields = match validate_facility(app, lang, input).await? {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    who.require(Action::Create, &Resource::new(ResourceKind::Facility).owned_by(who.account.organisation).in_territory(fields.territory))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create_facility(&mut tx, who.account.organisation, &fields, now).await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Facility, id, now, Some(who.author()), "created")).await?;
    let detail = serde_json::json!({"kind": fields.kind.map(|k| k.code()), "places": fields.places});
    audit::append(&mut tx, who.audit_entry(now, "create", "facility", id, who.account.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(store::get_facility(&app.db, id).await?))
}

/// Corrects a facility (its operator's coordinators); `active` false closes it for good.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn update_facility(
    app: &App,
    who: &Caller,
    lang: Lang,
    f: &Facility,
    input: &FacilityInput,
    active: bool,
    version: i64,
) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Delete, &facility_resource(f))?;
    let fields = match validate_facility(app, lang, input).await? {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::update_facility(&mut tx, f.id, &fields, active, version, now).await?;
    let places = (f.places.to_string(), fields.places.to_string());
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Facility, f.id, now, Some(who.author()), "edited").change(Some(&places.0), Some(&places.1))).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "update", "facility", f.id, f.organisation).with_detail(serde_json::json!({"places": fields.places, "active": active})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The operator sets the places open on a night (tonight by default).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn set_night(app: &App, who: &Caller, lang: Lang, f: &Facility, input: &NightInput) -> Result<std::result::Result<(Night, i64), FieldErrors>> {
    who.require(Action::Update, &facility_resource(f))?;
    let mut e = FieldErrors::new();
    let today = tonight(app);
    let n = night(&input.night, "night", Some(today), lang, &mut e);
    if e.is_empty() && (n < today.plus(-1) || n > today.plus(HORIZON)) {
        e.add("night", lang.t("shelter.error.night_range"));
    }
    let places = number(&input.places, "places", 0, 5_000, None, lang, &mut e);
    let note = words(&input.note, "note", 300, false, lang, &mut e);
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::set_night(&mut tx, f.id, n, places, &note, who.account.id, now).await?;
    sync_directory(&mut tx, app, lang, f).await?;
    let iso = n.iso();
    let to = places.to_string();
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Facility, f.id, now, Some(who.author()), "night").change(Some(&iso), Some(&to)).detail(&note)).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "facility", f.id, f.organisation).with_detail(serde_json::json!({"night": iso, "places": places})))
        .await?;
    tx.commit().await?;
    Ok(Ok((n, places)))
}

/// A facility's page: its nights from tonight, and the stays of it the caller reads.
pub async fn facility_page(
    app: &App,
    who: &Caller,
    f: &Facility,
    nights: i64,
) -> Result<(Vec<veille_domain::shelter::NightPlaces>, Vec<(Night, i64, String)>, Vec<Stay>)> {
    let from = tonight(app);
    let filter = FacilityFilter { operator: Some(f.organisation), with_closed: true, ..Default::default() };
    let line = store::board(&app.db, &filter, from, nights).await?.into_iter().find(|l| l.facility.id == f.id).map(|l| l.nights).unwrap_or_default();
    let notes = store::night_notes(&app.db, f.id, from, from.plus(nights)).await?;
    let stays = if who.can(Action::Read, &stay_resource(who.account.organisation, f.organisation, f.territory)).allowed
        || who.can(Action::Read, &stay_resource(f.organisation, f.organisation, f.territory)).allowed
    {
        store::list_stays(&app.db, &who.scope(), &StayFilter { facility: Some(f.id), current: true, ..Default::default() }).await?
    } else {
        Vec::new()
    };
    Ok((line, notes, stays))
}

/// Keeps the capacity of the facility's directory service (when it has one)
/// equal to tonight's free places on the board, in the transaction that changed them.
async fn sync_directory(tx: &mut Tx, app: &App, lang: Lang, f: &Facility) -> Result<()> {
    use veille_domain::directory::Capacity;
    let Some(service) = f.service else { return Ok(()) };
    let free = store::places_in(tx, f, tonight(app), 1).await?.first().map_or(0, |n| n.free);
    let capacity = match free {
        0 => Capacity::Full,
        1..=2 => Capacity::Limited,
        _ => Capacity::Available,
    };
    let note = format!("{} · {}", lang.tn("shelter.free_count", free, &[]), lang.t("shelter.tonight"));
    Ok(store::set_service_capacity(tx, service, capacity, &note, app.clock.now()).await?)
}

// ---------------------------------------------------------------- bookings and stays

/// Who a stay, a request, a diagnosis line or a tenancy is for: the person
/// of a file the caller reads (an error next to `person_id` otherwise), or,
/// without one, a label (an error next to `label` when both are missing).
pub async fn person_or_label(
    app: &App,
    who: &Caller,
    lang: Lang,
    person_id: Option<PersonId>,
    label: &str,
    e: &mut FieldErrors,
) -> Result<Option<crate::people::Person>> {
    let person = match person_id {
        Some(pid) => crate::found(crate::people::load_person_by_id(app, who, pid, Action::Read).await)?.map(|(p, _)| p),
        None => None,
    };
    if person_id.is_some() && person.is_none() {
        e.add("person_id", lang.t("shelter.error.person"));
    }
    if person.is_none() && label.is_empty() && !e.has("person_id") {
        e.add("label", lang.t("shelter.error.who"));
    }
    Ok(person)
}

/// A booking checked, ready to write.
struct Checked {
    facility: Facility,
    new: NewStay,
    request: Option<ShelterRequest>,
}

async fn validate_booking(app: &App, who: &Caller, lang: Lang, input: &BookingInput) -> Result<std::result::Result<Checked, FieldErrors>> {
    let mut e = FieldErrors::new();
    let today = tonight(app);
    let facility_id = id::<FacilityId>(&input.facility_id, "facility_id", lang, &mut e);
    let person_id = id::<PersonId>(&input.person_id, "person_id", lang, &mut e);
    let label = words(&input.label, "label", 120, false, lang, &mut e);
    let places = number(&input.places, "places", 1, MAX_PLACES, Some(1), lang, &mut e);
    let from = night(&input.from, "from", Some(today), lang, &mut e);
    let nights = number(&input.nights, "nights", 1, MAX_NIGHTS, Some(1), lang, &mut e);
    let booking_ref = words(&input.booking_ref, "booking_ref", 80, false, lang, &mut e);
    let note = words(&input.note, "note", 1000, false, lang, &mut e);
    let request_id = id::<ShelterRequestId>(&input.request_id, "request_id", lang, &mut e);
    if !e.has("from") && (from < today || from > today.plus(HORIZON)) {
        e.add("from", lang.t("shelter.error.night_range"));
    }
    let facility = match facility_id {
        Some(fid) => crate::found(store::get_facility(&app.db, fid).await.map_err(Error::from))?.filter(|f| f.active),
        None => None,
    };
    if facility.is_none() && !e.has("facility_id") {
        e.add("facility_id", lang.t("shelter.error.facility"));
    }
    let person = person_or_label(app, who, lang, person_id, &label, &mut e).await?;
    let request = match request_id {
        Some(rid) => match crate::found(store::get_request(&app.db, &who.scope(), rid).await.map_err(Error::from))? {
            Some(r) if r.status == "waiting" => Some(r),
            _ => {
                e.add("request_id", lang.t("shelter.error.request"));
                None
            }
        },
        None => None,
    };
    let Some(facility) = facility.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let new = NewStay {
        facility: facility.id,
        organisation: who.account.organisation,
        operator: facility.organisation,
        territory: facility.territory,
        person: person.as_ref().map(|p| p.id),
        household: person.as_ref().and_then(|p| p.household),
        label: if label.is_empty() { person.as_ref().map(|p| p.fields.pseudonym.clone()).unwrap_or_default() } else { label },
        places,
        from,
        to: from.plus(nights),
        booking_ref,
        night_cost_cents: facility.night_cost_cents,
        operation: None,
        present_at: None,
        note,
    };
    Ok(Ok(Checked { facility, new, request }))
}

/// Whether `places` are free on every night of `from .. to` at the facility,
/// read after taking it in `tx`; otherwise the message naming the next night
/// that fits (or that none does within the horizon).
async fn check_places(
    tx: &mut Tx,
    lang: Lang,
    f: &Facility,
    places: i64,
    from: Night,
    to: Night,
    ignore: Option<&Stay>,
) -> Result<std::result::Result<(), String>> {
    store::lock_facility(tx, f.id).await?;
    let length = from.until(to);
    let mut nights = store::places_in(tx, f, from, HORIZON + length).await?;
    // A stay being extended does not compete with itself.
    if let Some(s) = ignore.filter(|s| s.status.holds_places()) {
        for n in nights.iter_mut().filter(|n| s.from <= n.night && n.night < s.to) {
            n.occupied -= s.places;
            n.free = (n.open - n.occupied).max(0);
        }
    }
    let wanted = usize::try_from(length).unwrap_or(0);
    if nights.iter().take(wanted).all(|n| n.free >= places) {
        return Ok(Ok(()));
    }
    Ok(Err(match next_fit(&nights, places, length) {
        Some(n) => lang.tf("shelter.error.full_next", &[("night", &n.display())]),
        None => lang.t("shelter.error.full_none"),
    }))
}

/// Books places in a facility for a person or household, for nights in a
/// row — never more than are free: the check and the insert share one
/// transaction that first takes the facility.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn book(app: &App, who: &Caller, lang: Lang, input: &BookingInput) -> Result<std::result::Result<Stay, FieldErrors>> {
    gate_booking(who)?;
    let Checked { facility, new, request } = match validate_booking(app, who, lang, input).await? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    who.require(Action::Create, &stay_resource(new.organisation, new.operator, new.territory))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if let Err(message) = check_places(&mut tx, lang, &facility, new.places, new.from, new.to, None).await? {
        tx.rollback().await?;
        let mut e = FieldErrors::new();
        e.add("from", message);
        return Ok(Err(e));
    }
    let id = write_stay(&mut tx, who, &new, now).await?;
    sync_directory(&mut tx, app, lang, &facility).await?;
    if let Some(r) = &request {
        store::close_request(&mut tx, r.id, "placed", Some(id), r.version, now).await?;
    }
    tx.commit().await?;
    Ok(Ok(store::get_stay(&app.db, &who.scope(), id).await?))
}

/// Writes a stay with its timeline event and audit entry (places checked).
async fn write_stay(tx: &mut Tx, who: &Caller, new: &NewStay, now: Timestamp) -> Result<StayId> {
    let id = store::create_stay(tx, new, who.account.id, now).await?;
    let status = if new.present_at.is_some() { StayStatus::Present } else { StayStatus::Booked };
    timeline::append(tx, &NewEvent::new(RecordKind::Stay, id, now, Some(who.author()), "created").change(None, Some(status.code()))).await?;
    let detail = serde_json::json!({"facility": new.facility.to_string(), "places": new.places, "from": new.from.iso(), "nights": new.from.until(new.to)});
    audit::append(tx, who.audit_entry(now, "create", "stay", id, new.organisation).with_detail(detail)).await?;
    Ok(id)
}

/// A stay the caller may read (404 otherwise) and may do `action` on (403).
pub async fn load_stay(app: &App, who: &Caller, id: &str, action: Action) -> Result<Stay> {
    gate_stays(who)?;
    let id: StayId = id.parse().map_err(|_| Error::not_found())?;
    let s = store::get_stay(&app.db, &who.scope(), id).await?;
    let res = stay_resource(s.organisation, s.operator, s.territory);
    if !who.can(Action::Read, &res).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &res)?;
    Ok(s)
}

/// Reads a stay, audited.
pub async fn read_stay(app: &App, who: &Caller, id: &str, via: &str) -> Result<(Stay, Vec<timeline::Event>)> {
    let s = load_stay(app, who, id, Action::Read).await?;
    audit::append_now(&app.db, who.audit_entry(app.clock.now(), "read", "stay", s.id, s.organisation).with_detail(serde_json::json!({"via": via}))).await?;
    let events = timeline::of(&app.db, RecordKind::Stay, s.id).await?;
    Ok((s, events))
}

/// The stays the caller reads: its organisation's and those in the
/// facilities its organisation operates (current ones unless `all`).
pub async fn stays(app: &App, who: &Caller, all: bool) -> Result<Vec<Stay>> {
    gate_stays(who)?;
    let filter = StayFilter { current: !all, limit: all.then_some(500), ..Default::default() };
    Ok(store::list_stays(&app.db, &who.scope(), &filter).await?)
}

/// The stays of a person the caller reads.
pub async fn stays_of_person(app: &App, who: &Caller, person: PersonId) -> Result<Vec<Stay>> {
    Ok(store::list_stays(&app.db, &who.scope(), &StayFilter { person: Some(person), ..Default::default() }).await?)
}

/// Hotel stays present for more than [`LONG_STAY_NIGHTS`] (to follow up with an action plan).
pub async fn long_stays(app: &App, who: &Caller) -> Result<Vec<Stay>> {
    Ok(store::long_stays(&app.db, &who.scope(), tonight(app), LONG_STAY_NIGHTS).await?)
}

async fn change(app: &App, who: &Caller, lang: Lang, s: &Stay, c: StayChange, version: i64, detail: &str) -> Result<()> {
    let to = c.status_after(s.status);
    let f = store::get_facility(&app.db, s.facility).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::change_stay(&mut tx, s, &c, version, now).await?;
    sync_directory(&mut tx, app, lang, &f).await?;
    timeline::append(
        &mut tx,
        &NewEvent::new(RecordKind::Stay, s.id, now, Some(who.author()), "status").change(Some(s.status.code()), Some(to.code())).detail(detail),
    )
    .await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "update", "stay", s.id, s.organisation).with_detail(serde_json::json!({"status": to.code(), "detail": detail})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records an arrival (a booked stay becomes present).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn enter(app: &App, who: &Caller, lang: Lang, s: &Stay, version: i64) -> Result<std::result::Result<(), FieldErrors>> {
    if s.status != StayStatus::Booked {
        let mut e = FieldErrors::new();
        e.add("status", lang.t("shelter.error.not_booked"));
        return Ok(Err(e));
    }
    change(app, who, lang, s, StayChange::Enter(app.clock.now()), version, "").await?;
    Ok(Ok(()))
}

/// Records an exit with its destination; the nights after tonight are freed.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn leave(app: &App, who: &Caller, lang: Lang, s: &Stay, input: &LeaveInput) -> Result<std::result::Result<(), FieldErrors>> {
    let mut e = FieldErrors::new();
    let destination = code::<StayDestination>(&input.destination, "destination", lang, &mut e);
    if s.status != StayStatus::Present {
        e.add("status", lang.t("shelter.error.not_present"));
    }
    let Some(destination) = destination.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let now = app.clock.now();
    // Leaving in the morning frees tonight; leaving in the evening keeps tonight's place.
    let night = Night::at(now).plus(1).min(s.to).max(s.from.plus(1));
    change(app, who, lang, s, StayChange::Leave { at: now, night, destination }, version(&input.version), destination.code()).await?;
    Ok(Ok(()))
}

/// Cancels a booking before arrival, or records that the person did not come.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn cancel(app: &App, who: &Caller, lang: Lang, s: &Stay, no_show: bool, version: i64) -> Result<std::result::Result<(), FieldErrors>> {
    if s.status != StayStatus::Booked {
        let mut e = FieldErrors::new();
        e.add("status", lang.t("shelter.error.not_booked"));
        return Ok(Err(e));
    }
    let to = if no_show { StayStatus::NoShow } else { StayStatus::Cancelled };
    change(app, who, lang, s, StayChange::Cancel(to), version, "").await?;
    Ok(Ok(()))
}

/// Moves the planned exit of a stay later, if the places are free (or earlier).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn extend(app: &App, who: &Caller, lang: Lang, s: &Stay, input: &ExtendInput) -> Result<std::result::Result<(), FieldErrors>> {
    let mut e = FieldErrors::new();
    let to = night(&input.to, "to", None, lang, &mut e);
    if e.is_empty() && (to <= s.from || s.from.until(to) > MAX_NIGHTS) {
        e.add("to", lang.t("shelter.error.night_range"));
    }
    if !s.status.holds_places() {
        e.add("status", lang.t("shelter.error.not_present"));
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let f = store::get_facility(&app.db, s.facility).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if to > s.to {
        if let Err(message) = check_places(&mut tx, lang, &f, s.places, s.to, to, None).await? {
            tx.rollback().await?;
            e.add("to", message);
            return Ok(Err(e));
        }
    }
    store::change_stay(&mut tx, s, &StayChange::Extend(to), version(&input.version), now).await?;
    sync_directory(&mut tx, app, lang, &f).await?;
    let (a, b) = (s.to.iso(), to.iso());
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Stay, s.id, now, Some(who.author()), "extended").change(Some(&a), Some(&b))).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "stay", s.id, s.organisation).with_detail(serde_json::json!({"to": b}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

// ---------------------------------------------------------------- the waiting list

/// Puts a request on the caller's organisation's waiting list.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_request(app: &App, who: &Caller, lang: Lang, input: &RequestInput) -> Result<std::result::Result<ShelterRequestId, FieldErrors>> {
    gate_booking(who)?;
    let mut e = FieldErrors::new();
    let person_id = id::<PersonId>(&input.person_id, "person_id", lang, &mut e);
    let label = words(&input.label, "label", 120, false, lang, &mut e);
    let places = number(&input.places, "places", 1, MAX_PLACES, Some(1), lang, &mut e);
    let public = code::<Public>(&input.public, "public", lang, &mut e);
    let priority = number(&input.priority, "priority", 1, 5, Some(3), lang, &mut e);
    let wanted_from = night(&input.wanted_from, "wanted_from", Some(tonight(app)), lang, &mut e);
    let note = words(&input.note, "note", 1000, false, lang, &mut e);
    let person = person_or_label(app, who, lang, person_id, &label, &mut e).await?;
    let Some(public) = public.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let territory = person.as_ref().and_then(|p| p.fields.territory);
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation).in_territory(territory))?;
    let label = if label.is_empty() { person.as_ref().map(|p| p.fields.pseudonym.clone()).unwrap_or_default() } else { label };
    let new = NewRequest { territory, person: person.map(|p| p.id), label, places, public, priority, wanted_from, note };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create_request(&mut tx, who.account.organisation, &new, who.account.id, now).await?;
    let detail = serde_json::json!({"priority": priority, "public": public.code(), "places": places});
    audit::append(&mut tx, who.audit_entry(now, "create", "shelter_request", id, who.account.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// The caller's waiting list: highest priority first, then oldest.
pub async fn waiting_list(app: &App, who: &Caller) -> Result<Vec<ShelterRequest>> {
    gate_booking(who)?;
    Ok(store::waiting_list(&app.db, &who.scope()).await?)
}

/// A waiting request the caller may change.
pub async fn load_request(app: &App, who: &Caller, id: &str) -> Result<ShelterRequest> {
    gate_booking(who)?;
    let id: ShelterRequestId = id.parse().map_err(|_| Error::not_found())?;
    let r = store::get_request(&app.db, &who.scope(), id).await?;
    who.require(Action::Update, &Resource::new(ResourceKind::Record).owned_by(r.organisation).in_territory(r.territory))?;
    Ok(r)
}

/// Takes a request off the waiting list (no longer needed).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn withdraw_request(app: &App, who: &Caller, r: &ShelterRequest, version: i64) -> Result<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::close_request(&mut tx, r.id, "withdrawn", None, version, now).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "shelter_request", r.id, r.organisation).with_detail(serde_json::json!({"status": "withdrawn"})))
        .await?;
    tx.commit().await?;
    Ok(())
}
