//! Open311 GeoReport v2, JSON: the service list and definition, reading
//! requests, and creating one with an API token of write scope as `api_key`.
//!
//! What is published about a request is what its reporter sees on the
//! follow-up page — reference, status, public answer and dates — never the
//! place, the description or anything about the people.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use veille_domain::Timestamp;
use veille_geo::LonLat;
use veille_storage::reports::{self, Filter, Report, FLAGS, SITUATIONS, SOURCES};
use veille_storage::{accounts, tokens};

use crate::error::AppResult;
use crate::i18n::Lang;
use crate::AppState;

use super::Intake;

/// The one service: people living in the street who may need help.
pub const SERVICE_CODE: &str = "veille_sociale";

/// Days `requests.json` covers when no dates are given.
pub const DEFAULT_DAYS: i64 = 90;
/// Most rows `requests.json` returns.
pub const MAX_ROWS: i64 = 1000;

fn error(status: StatusCode, description: &str) -> Response {
    (status, axum::Json(json!([{ "code": status.as_u16(), "description": description }]))).into_response()
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

/// `jurisdiction_id`, when given, must be this instance's (404 otherwise).
#[derive(Deserialize, Default)]
pub struct Jurisdiction {
    jurisdiction_id: Option<String>,
}

fn foreign(state: &AppState, given: Option<&str>) -> Option<Response> {
    match given.map(str::trim).filter(|j| !j.is_empty()) {
        Some(j) if j != state.config.open311_jurisdiction_id => Some(error(StatusCode::NOT_FOUND, "unknown jurisdiction_id")),
        _ => None,
    }
}

fn strip_json(segment: &str) -> Option<&str> {
    segment.strip_suffix(".json").filter(|s| !s.is_empty())
}

fn service(lang: Lang) -> Value {
    json!({
        "service_code": SERVICE_CODE,
        "service_name": lang.t("report.open311.service_name"),
        "description": lang.t("report.open311.service_description"),
        "metadata": true,
        "type": "batch",
        "keywords": "maraude,veille sociale,sans-abri",
        "group": "veille sociale",
    })
}

/// GET /open311/v2/services.json
pub async fn services(State(state): State<AppState>, Query(j): Query<Jurisdiction>) -> Response {
    if let Some(refused) = foreign(&state, j.jurisdiction_id.as_deref()) {
        return refused;
    }
    ok(json!([service(Lang::Fr)]))
}

/// GET /open311/v2/services/{code}.json
pub async fn service_definition(State(state): State<AppState>, Path(segment): Path<String>, Query(j): Query<Jurisdiction>) -> Response {
    if let Some(refused) = foreign(&state, j.jurisdiction_id.as_deref()) {
        return refused;
    }
    if strip_json(&segment) != Some(SERVICE_CODE) {
        return error(StatusCode::NOT_FOUND, "unknown service_code");
    }
    let lang = Lang::Fr;
    let list = |family: &str, codes: &[&str]| -> Vec<Value> {
        codes.iter().map(|c| json!({"key": c, "name": lang.t(&format!("report.{family}.{c}"))})).collect()
    };
    let number = |code: &str, order: i64, key: &str| {
        json!({"variable": true, "code": code, "datatype": "number", "required": false, "order": order,
               "datatype_description": "0-999", "description": lang.t(key)})
    };
    ok(json!({
        "service_code": SERVICE_CODE,
        "attributes": [
            {"variable": true, "code": "situation", "datatype": "multivaluelist", "required": true, "order": 1,
             "description": lang.t("report.form.seen"), "values": list("situation", &SITUATIONS)},
            {"variable": true, "code": "flag", "datatype": "multivaluelist", "required": false, "order": 2,
             "description": lang.t("report.form.flags"), "values": list("seen", &FLAGS)},
            number("adults", 3, "report.form.adults"),
            number("children", 4, "report.form.children"),
            number("tents", 5, "report.form.tents"),
            {"variable": true, "code": "source", "datatype": "singlevaluelist", "required": false, "order": 6,
             "description": lang.t("report.form.source"), "values": list("source", &SOURCES)},
        ],
    }))
}

fn open_or_closed(status: &str) -> &'static str {
    if status == "closed" {
        "closed"
    } else {
        "open"
    }
}

fn request_json(r: &Report, lang: Lang) -> Value {
    json!({
        "service_request_id": r.reference,
        "status": open_or_closed(&r.status),
        "status_notes": if r.public_answer.is_empty() { Value::Null } else { Value::from(r.public_answer.clone()) },
        "service_name": lang.t("report.open311.service_name"),
        "service_code": SERVICE_CODE,
        "service_notice": lang.t(&format!("report.status.{}", r.status)),
        "requested_datetime": r.created_at.to_rfc3339(),
        "updated_datetime": r.updated_at.to_rfc3339(),
    })
}

/// Query of `requests.json`.
#[derive(Deserialize, Default)]
pub struct RequestsQuery {
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
    jurisdiction_id: Option<String>,
}

fn parse_date(text: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(text.trim()).ok().map(|d| Timestamp::from_datetime(d.with_timezone(&chrono::Utc)))
}

/// GET /open311/v2/requests.json
pub async fn requests(State(state): State<AppState>, Query(q): Query<RequestsQuery>) -> AppResult<Response> {
    if let Some(refused) = foreign(&state, q.jurisdiction_id.as_deref()) {
        return Ok(refused);
    }
    let lang = Lang::Fr;
    if let Some(ids) = q.service_request_id.as_deref().filter(|s| !s.trim().is_empty()) {
        let mut out = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()).take(MAX_ROWS as usize) {
            if let Some(r) = reports::by_reference(&state.db, id).await? {
                out.push(request_json(&r, lang));
            }
        }
        return Ok(ok(Value::Array(out)));
    }
    if q.service_code.as_deref().is_some_and(|c| !c.is_empty() && c != SERVICE_CODE) {
        return Ok(error(StatusCode::NOT_FOUND, "unknown service_code"));
    }
    let open = match q.status.as_deref().unwrap_or("") {
        "" => None,
        "open" => Some(true),
        "closed" => Some(false),
        _ => return Ok(error(StatusCode::BAD_REQUEST, "status must be open or closed")),
    };
    let date = |t: &Option<String>| -> Result<Option<Timestamp>, ()> {
        match t.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_date(s).map(Some).ok_or(()),
        }
    };
    let (Ok(start), Ok(end)) = (date(&q.start_date), date(&q.end_date)) else {
        return Ok(error(StatusCode::BAD_REQUEST, "start_date and end_date must be ISO 8601 date-times with a zone"));
    };
    let now = state.clock.now();
    let since = start.unwrap_or_else(|| end.unwrap_or(now).plus_seconds(-DEFAULT_DAYS * 86_400));
    let filter = Filter { since: Some(since), open, ..Default::default() };
    let found = reports::list(&state.db, &filter, MAX_ROWS).await?;
    let out: Vec<Value> = found.iter().filter(|r| end.is_none_or(|e| r.created_at <= e)).map(|r| request_json(r, lang)).collect();
    Ok(ok(Value::Array(out)))
}

/// GET /open311/v2/requests/{id}.json
pub async fn request(State(state): State<AppState>, Path(segment): Path<String>, Query(j): Query<Jurisdiction>) -> AppResult<Response> {
    if let Some(refused) = foreign(&state, j.jurisdiction_id.as_deref()) {
        return Ok(refused);
    }
    let Some(id) = strip_json(&segment) else { return Ok(error(StatusCode::NOT_FOUND, "unknown service_request_id")) };
    match reports::by_reference(&state.db, id).await? {
        Some(r) => Ok(ok(json!([request_json(&r, Lang::Fr)]))),
        None => Ok(error(StatusCode::NOT_FOUND, "unknown service_request_id")),
    }
}

/// POST /open311/v2/requests.json (form-urlencoded)
pub async fn create(State(state): State<AppState>, body: Bytes) -> AppResult<Response> {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return Ok(error(StatusCode::BAD_REQUEST, "the body must be application/x-www-form-urlencoded"));
    };
    let pairs = crate::forms::pairs_without_nul(pairs);
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    if let Some(refused) = foreign(&state, get("jurisdiction_id")) {
        return Ok(refused);
    }
    let Some(key) = get("api_key") else { return Ok(error(StatusCode::FORBIDDEN, "api_key is missing")) };
    let now = state.clock.now();
    let token = tokens::live_by_hash(&state.db, &crate::security::token_hash(key), now).await?;
    let Some(token) = token.filter(|t| t.scopes.iter().any(|s| s == "write")) else {
        return Ok(error(StatusCode::FORBIDDEN, "api_key is not a live API token with write scope"));
    };
    let account = accounts::get(&state.db, token.user).await?;
    if account.disabled {
        return Ok(error(StatusCode::FORBIDDEN, "api_key is not a live API token with write scope"));
    }
    match get("service_code") {
        None => return Ok(error(StatusCode::BAD_REQUEST, "service_code is missing")),
        Some(c) if c != SERVICE_CODE => return Ok(error(StatusCode::NOT_FOUND, "unknown service_code")),
        Some(_) => {}
    }
    let point = match (get("lat"), get("long")) {
        (Some(lat), Some(lon)) => match (lat.parse::<f64>(), lon.parse::<f64>()) {
            (Ok(lat), Ok(lon)) => match LonLat::new(lon, lat) {
                Ok(p) => Some(p),
                Err(_) => return Ok(error(StatusCode::BAD_REQUEST, "lat and long are out of range")),
            },
            _ => return Ok(error(StatusCode::BAD_REQUEST, "lat and long must be numbers")),
        },
        (None, None) => None,
        _ => return Ok(error(StatusCode::BAD_REQUEST, "give both lat and long")),
    };
    let address = get("address_string").unwrap_or("").to_owned();
    if point.is_none() && address.chars().count() < 3 {
        return Ok(error(StatusCode::BAD_REQUEST, "a location is required: lat and long, or address_string"));
    }
    let description = get("description").unwrap_or("").to_owned();
    if description.chars().count() < 10 || description.chars().count() > 4000 {
        return Ok(error(StatusCode::BAD_REQUEST, "description is required (10 to 4000 characters)"));
    }
    let (mut situations, mut flags) = (Vec::new(), Vec::new());
    for (k, v) in &pairs {
        let list = |name: &str| k == &format!("attribute[{name}][]") || k == &format!("attribute[{name}]");
        let v = v.trim().to_owned();
        if list("situation") {
            if !SITUATIONS.contains(&v.as_str()) {
                return Ok(error(StatusCode::BAD_REQUEST, "attribute[situation] has an unknown value"));
            }
            situations.push(v);
        } else if list("flag") {
            if !FLAGS.contains(&v.as_str()) {
                return Ok(error(StatusCode::BAD_REQUEST, "attribute[flag] has an unknown value"));
            }
            flags.push(v);
        } else if list("seen") {
            // The attribute of the first version: situations and flags together.
            match (SITUATIONS.contains(&v.as_str()), FLAGS.contains(&v.as_str())) {
                (true, _) => situations.push(v),
                (_, true) => flags.push(v),
                _ => return Ok(error(StatusCode::BAD_REQUEST, "attribute[seen] has an unknown value")),
            }
        }
    }
    if situations.is_empty() {
        return Ok(error(StatusCode::BAD_REQUEST, "attribute[situation] is required (one or several values)"));
    }
    situations.sort_by_key(|s| SITUATIONS.iter().position(|x| x == s));
    situations.dedup();
    flags.sort_by_key(|s| FLAGS.iter().position(|x| x == s));
    flags.dedup();
    let mut counts = [0u32; 3];
    for (i, code) in ["adults", "children", "tents"].into_iter().enumerate() {
        if let Some(v) = get(&format!("attribute[{code}]")) {
            match v.parse::<u32>() {
                Ok(n) if n <= 999 => counts[i] = n,
                _ => return Ok(error(StatusCode::BAD_REQUEST, &format!("attribute[{code}] must be a whole number from 0 to 999"))),
            }
        }
    }
    let source = get("attribute[source]").unwrap_or("association").to_owned();
    if !SOURCES.contains(&source.as_str()) {
        return Ok(error(StatusCode::BAD_REQUEST, "attribute[source] has an unknown value"));
    }
    // Open311 carries no consent: contact fields are not kept.
    let intake = Intake {
        source,
        channel: "open311".into(),
        point,
        address,
        situations,
        seen: flags,
        adults: counts[0],
        children: counts[1],
        tents: counts[2],
        description,
        email: None,
        phone: None,
        consent: false,
        ..Default::default()
    };
    let Some(received) = super::receive(&state, &intake, Some((account.id, account.organisation)), None).await? else {
        return Ok(error(StatusCode::TOO_MANY_REQUESTS, "too many requests"));
    };
    let lang = Lang::Fr;
    let notice = match received.placement {
        super::Placement::Outside => lang.t("report.received.outside"),
        _ => lang.t(&format!("report.status.{}", if received.team.is_some() { "assigned" } else { "received" })),
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(json!([{ "service_request_id": received.reference, "service_notice": notice, "account_id": Value::Null }])),
    )
        .into_response())
}
