//! City and technical services and the requests sent to them.
//!
//! A service (cleaning, regulation, lighting…) is kept by an organisation of
//! the instance; it has accounts of its own (`member_organisation`) or
//! answers through an expiring link with a code given orally, stored hashed
//! as referrals and follow-up actions do. A request belongs to the
//! organisation that sent it, lies in its territory, and is shared with the
//! service's organisation when it has one ([`REQUEST_COLUMNS`]).

use sqlx::Row;
use veille_domain::neighbourhood::{RequestStatus, ServiceCategory, Urgency};
use veille_domain::{CityServiceId, OrganisationId, ServiceRequestId, TerritoryId, Timestamp, UserId};

use crate::db::{b, real_text, Db, Tx};
use crate::error::{Result, StorageError};
use crate::reports::Photo;
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns, Shared};

/// Where requests keep what the read rules look at: shared with the service's own organisation.
pub const REQUEST_COLUMNS: RecordColumns<'static> = RecordColumns {
    organisation: "r.organisation_id",
    territory: Some("r.territory_id"),
    case: None,
    shared_with: Some(Shared::Exists("EXISTS (SELECT 1 FROM city_services rs WHERE rs.id = r.service_id AND rs.member_organisation_id = {org})")),
};

/// A city or technical service.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CityService {
    /// Id.
    pub id: CityServiceId,
    /// The organisation that keeps it.
    pub organisation: OrganisationId,
    /// Name ("Éclairage public — section Nord").
    pub name: String,
    /// What it does.
    pub category: ServiceCategory,
    /// The territory it covers (none: every territory).
    pub territory: Option<TerritoryId>,
    /// Where its link is mailed (a service's address).
    pub email: String,
    /// Its accounts' organisation, when it has accounts.
    pub member_organisation: Option<OrganisationId>,
    /// Whether requests go to it.
    pub active: bool,
}

/// A service to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCityService {
    /// Name.
    pub name: String,
    /// Category.
    pub category: ServiceCategory,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// E-mail.
    pub email: String,
    /// Its accounts' organisation.
    pub member_organisation: Option<OrganisationId>,
}

const SERVICE_SELECT: &str =
    "SELECT s.id, s.organisation_id, s.name, s.category, s.territory_id, s.email, s.member_organisation_id, s.active FROM city_services s";

fn service_row(r: &sqlx::any::AnyRow) -> Result<CityService> {
    Ok(CityService {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        name: r.try_get("name")?,
        category: r.try_get("category")?,
        territory: r.try_get("territory_id")?,
        email: r.try_get("email")?,
        member_organisation: r.try_get("member_organisation_id")?,
        active: r.try_get::<i64, _>("active")? != 0,
    })
}

/// Writes a service kept by `organisation`.
pub async fn create_service(tx: &mut Tx, organisation: OrganisationId, s: &NewCityService, now: Timestamp) -> Result<CityServiceId> {
    let id = CityServiceId::new();
    sqlx::query(
        "INSERT INTO city_services (id, organisation_id, name, category, territory_id, email, member_organisation_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id)
    .bind(organisation)
    .bind(s.name.as_str())
    .bind(s.category.code())
    .bind(s.territory)
    .bind(s.email.as_str())
    .bind(s.member_organisation)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Turns a service on or off.
pub async fn set_service_active(tx: &mut Tx, id: CityServiceId, active: bool, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE city_services SET active = $1, updated_at = $2 WHERE id = $3")
        .bind(b(active))
        .bind(now.as_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Every service (names and addresses of services: no personal data), by category and name.
pub async fn services(db: &Db) -> Result<Vec<CityService>> {
    let sql = format!("{SERVICE_SELECT} ORDER BY s.category, s.name, s.id");
    sqlx::query(&sql).fetch_all(db.pool()).await?.iter().map(service_row).collect()
}

/// One service.
pub async fn service(db: &Db, id: CityServiceId) -> Result<CityService> {
    let sql = format!("{SERVICE_SELECT} WHERE s.id = $1");
    service_row(&sqlx::query(&sql).bind(id).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// The active services in the order competence is decided: by category, a
/// service of the territory before one of everywhere, then the oldest (the
/// intake keeps them in memory and takes, for a category and a place, the
/// first that serves it).
pub async fn competent_services(db: &Db) -> Result<Vec<CityService>> {
    let sql = format!("{SERVICE_SELECT} WHERE s.active = 1 ORDER BY s.category, CASE WHEN s.territory_id IS NULL THEN 1 ELSE 0 END, s.created_at, s.id");
    sqlx::query(&sql).fetch_all(db.pool()).await?.iter().map(service_row).collect()
}

/// A request to a service.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ServiceRequest {
    /// Id.
    pub id: ServiceRequestId,
    /// The organisation that sent it.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// The service.
    pub service: CityServiceId,
    /// Category.
    pub category: ServiceCategory,
    /// Address or place.
    pub place: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// What is asked.
    pub description: String,
    /// Urgency.
    pub urgency: Urgency,
    /// `report`, `mediation` or `direct`.
    pub origin_kind: String,
    /// The report or mediation it comes from.
    pub origin_id: Option<String>,
    /// Status.
    pub status: RequestStatus,
    /// The service's answer.
    pub answer: String,
    /// When the service acknowledged it.
    pub acknowledged_at: Option<Timestamp>,
    /// When it answered done or refused.
    pub answered_at: Option<Timestamp>,
    /// Whether a link exists.
    pub has_link: bool,
    /// Until when the link works.
    pub link_expires_at: Option<Timestamp>,
    /// Hash of the oral code.
    #[serde(skip)]
    pub link_code_hash: Option<String>,
    /// Wrong codes so far.
    #[serde(skip)]
    pub link_failures: i64,
    /// Sent at.
    pub created_at: Timestamp,
    /// Version.
    pub version: i64,
}

/// A request to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRequest {
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Service.
    pub service: CityServiceId,
    /// Category.
    pub category: ServiceCategory,
    /// Place.
    pub place: String,
    /// Point (lon, lat).
    pub point: Option<(f64, f64)>,
    /// Description.
    pub description: String,
    /// Urgency.
    pub urgency: Urgency,
    /// Origin kind.
    pub origin_kind: &'static str,
    /// Origin id.
    pub origin_id: Option<String>,
}

const REQUEST_SELECT: &str = "SELECT r.id, r.organisation_id, r.territory_id, r.service_id, r.category, r.place, r.lon, r.lat, r.description, r.urgency, \
    r.origin_kind, r.origin_id, r.status, r.answer, r.acknowledged_at, r.answered_at, r.link_token_hash, r.link_expires_at, r.link_code_hash, \
    r.link_failures, r.created_at, r.version FROM service_requests r";

fn request_row(r: &sqlx::any::AnyRow) -> Result<ServiceRequest> {
    let ts = |v: Option<i64>| v.map(Timestamp::from_micros);
    Ok(ServiceRequest {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        service: r.try_get("service_id")?,
        category: r.try_get("category")?,
        place: r.try_get("place")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        description: r.try_get("description")?,
        urgency: r.try_get("urgency")?,
        origin_kind: r.try_get("origin_kind")?,
        origin_id: r.try_get("origin_id")?,
        status: r.try_get("status")?,
        answer: r.try_get("answer")?,
        acknowledged_at: ts(r.try_get("acknowledged_at")?),
        answered_at: ts(r.try_get("answered_at")?),
        has_link: r.try_get::<Option<String>, _>("link_token_hash")?.is_some(),
        link_expires_at: ts(r.try_get("link_expires_at")?),
        link_code_hash: r.try_get("link_code_hash")?,
        link_failures: r.try_get("link_failures")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        version: r.try_get("version")?,
    })
}

/// Writes a request of `organisation` (status `sent`).
pub async fn create_request(tx: &mut Tx, organisation: OrganisationId, n: &NewRequest, by: Option<UserId>, now: Timestamp) -> Result<ServiceRequestId> {
    let id = ServiceRequestId::new();
    create_requests(tx, &[(id, organisation, n, now)], by).await?;
    Ok(id)
}

/// Writes requests (status `sent`), each of its organisation and made at its
/// instant, in one statement (its text depends only on how many).
pub async fn create_requests(tx: &mut Tx, all: &[(ServiceRequestId, OrganisationId, &NewRequest, Timestamp)], by: Option<UserId>) -> Result<()> {
    if all.is_empty() {
        return Ok(());
    }
    const BINDS: usize = 14;
    let rows = crate::sql::values_rows(all.len(), BINDS, |k| {
        for point in &mut k[6..8] {
            *point = format!("CAST({point} AS DOUBLE PRECISION)");
        }
        // Created and updated at the same instant.
        k.push(k[BINDS - 1].clone());
    });
    let sql = format!(
        "INSERT INTO service_requests (id, organisation_id, territory_id, service_id, category, place, lon, lat, description, urgency, origin_kind, \
         origin_id, created_by, created_at, updated_at) VALUES {rows}"
    );
    let mut q = sqlx::query(&sql);
    for (id, organisation, n, at) in all {
        q = q
            .bind(*id)
            .bind(*organisation)
            .bind(n.territory)
            .bind(n.service)
            .bind(n.category.code())
            .bind(n.place.as_str())
            .bind(real_text(n.point.map(|p| p.0)))
            .bind(real_text(n.point.map(|p| p.1)))
            .bind(n.description.as_str())
            .bind(n.urgency.code())
            .bind(n.origin_kind)
            .bind(n.origin_id.clone())
            .bind(by)
            .bind(at.as_micros());
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Gives a request its link (token and oral code stored hashed).
pub async fn set_link(tx: &mut Tx, id: ServiceRequestId, token_hash: &str, code_hash: &str, expires: Timestamp) -> Result<()> {
    sqlx::query("UPDATE service_requests SET link_token_hash = $1, link_code_hash = $2, link_expires_at = $3, link_failures = 0 WHERE id = $4")
        .bind(token_hash)
        .bind(code_hash)
        .bind(expires.as_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The request of a link, by the hash of its token, if in the scope.
pub async fn by_link(db: &Db, scope: &Scope, token_hash: &str) -> Result<Option<ServiceRequest>> {
    let mut p = Params::new();
    let hash = p.push(token_hash);
    let readable = scope.records(&REQUEST_COLUMNS, &mut p);
    let sql = format!("{REQUEST_SELECT} WHERE r.link_token_hash = {hash} AND {readable}");
    p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.as_ref().map(request_row).transpose()
}

/// Reserves one code attempt on a link before the code is checked: false
/// once `allowed` attempts were made.
pub async fn reserve_link_attempt(tx: &mut Tx, id: ServiceRequestId, allowed: i64) -> Result<bool> {
    let n = sqlx::query("UPDATE service_requests SET link_failures = link_failures + 1 WHERE id = $1 AND link_failures < $2")
        .bind(id)
        .bind(allowed)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// A right code: the attempt reserved is given back.
pub async fn link_success(tx: &mut Tx, id: ServiceRequestId) -> Result<()> {
    sqlx::query("UPDATE service_requests SET link_failures = CASE WHEN link_failures > 0 THEN link_failures - 1 ELSE 0 END WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One request in the scope.
pub async fn get_request(db: &Db, scope: &Scope, id: ServiceRequestId) -> Result<ServiceRequest> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&REQUEST_COLUMNS, &mut p);
    let sql = format!("{REQUEST_SELECT} WHERE r.id = {id} AND {readable}");
    request_row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// Which requests a list shows.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    /// To this service.
    pub service: Option<CityServiceId>,
    /// In this status.
    pub status: Option<RequestStatus>,
    /// Still waiting for the service.
    pub open: bool,
    /// Coming from this record (`report`, id).
    pub origin: Option<(String, String)>,
    /// Sent from this instant.
    pub from: Option<Timestamp>,
    /// Sent before this instant.
    pub until: Option<Timestamp>,
}

/// The requests in the scope, newest first.
pub async fn requests(db: &Db, scope: &Scope, f: &RequestFilter, limit: i64) -> Result<Vec<ServiceRequest>> {
    let mut p = Params::new();
    let readable = scope.records(&REQUEST_COLUMNS, &mut p);
    let mut sql = format!("{REQUEST_SELECT} WHERE {readable}");
    if let Some(s) = f.service {
        sql.push_str(&format!(" AND r.service_id = {}", p.push_id(s)));
    }
    if let Some(s) = f.status {
        sql.push_str(&format!(" AND r.status = {}", p.push(s.code())));
    }
    if f.open {
        sql.push_str(" AND r.status IN ('sent', 'acknowledged')");
    }
    if let Some((kind, id)) = &f.origin {
        sql.push_str(&format!(" AND r.origin_kind = {} AND r.origin_id = {}", p.push(kind.as_str()), p.push(id.as_str())));
    }
    if let Some(t) = f.from {
        sql.push_str(&format!(" AND r.created_at >= {}", p.push(t.as_micros())));
    }
    if let Some(t) = f.until {
        sql.push_str(&format!(" AND r.created_at < {}", p.push(t.as_micros())));
    }
    sql.push_str(&format!(" ORDER BY r.created_at DESC, r.id DESC LIMIT {}", limit.clamp(1, 10_000)));
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(request_row).collect()
}

/// Moves a request to a status with the service's answer, if still at `version`.
pub async fn set_status(tx: &mut Tx, r: &ServiceRequest, to: RequestStatus, answer: &str, version: i64, now: Timestamp) -> Result<()> {
    let (ack, answered) = match to {
        RequestStatus::Acknowledged => (Some(now.as_micros()), None),
        RequestStatus::Done | RequestStatus::Refused => (r.acknowledged_at.map(Timestamp::as_micros).or(Some(now.as_micros())), Some(now.as_micros())),
        RequestStatus::Sent => (None, None),
    };
    let done = sqlx::query(
        "UPDATE service_requests SET status = $1, answer = $2, acknowledged_at = COALESCE(acknowledged_at, $3), answered_at = $4, version = version + 1, \
         updated_at = $5 WHERE id = $6 AND version = $7",
    )
    .bind(to.code())
    .bind(answer)
    .bind(ack)
    .bind(answered)
    .bind(now.as_micros())
    .bind(r.id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    Ok(())
}

fn photo_text(p: &Photo) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(&p.bytes)
}

/// Adds a photo (already re-encoded without metadata) to a request.
pub async fn add_photo(tx: &mut Tx, request: ServiceRequestId, photo: &Photo, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO service_request_photos (id, request_id, created_at, content_type, width, height, data) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(request)
        .bind(now.as_micros())
        .bind(&photo.content_type)
        .bind(photo.width)
        .bind(photo.height)
        .bind(photo_text(photo))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The photos of a request the caller read, oldest first.
pub async fn photos(db: &Db, request: ServiceRequestId) -> Result<Vec<Photo>> {
    use base64::Engine;
    let rows = sqlx::query("SELECT content_type, width, height, data FROM service_request_photos WHERE request_id = $1 ORDER BY created_at, id")
        .bind(request)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let data: String = r.try_get("data")?;
            Ok(Photo {
                content_type: r.try_get("content_type")?,
                width: r.try_get("width")?,
                height: r.try_get("height")?,
                bytes: base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| StorageError::Corrupt("photo data"))?,
            })
        })
        .collect()
}

/// How many photos a request has.
pub async fn photo_count(db: &Db, request: ServiceRequestId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM service_request_photos WHERE request_id = $1").bind(request).fetch_one(db.pool()).await?)
}

/// The account that sent a request, if one did (none: routed at intake).
pub async fn author_of(db: &Db, id: ServiceRequestId) -> Result<Option<UserId>> {
    let row = sqlx::query("SELECT created_by FROM service_requests WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    Ok(match row {
        Some(r) => r.try_get("created_by")?,
        None => None,
    })
}
