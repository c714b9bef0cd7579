//! Open311 GeoReport v2, in JSON and in XML (the format by the path's
//! extension, as the specification says; XML is its required format): the
//! service list and definition, reading requests, and creating one with an
//! API token of write scope as `api_key` — an adapter of `veille_app::reports`
//! (the same intake as every channel). Every answer is built once as JSON and
//! written in XML from it, so the two formats cannot disagree.
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
use veille_app::identity::{writer_by_api_token, TokenRefusal};
use veille_app::reports::intake::{open311_within_limit, IntakeInput, Open311Client};
use veille_app::reports::PublicReport;
use veille_domain::reports::{Source, Status, FLAGS, SITUATIONS};
use veille_domain::Timestamp;

use crate::auth::ClientIp;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::AppState;

pub use veille_app::reports::open311::{DEFAULT_DAYS, MAX_ROWS, SERVICE_CODE};

/// The format of an answer, from the path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.json`.
    Json,
    /// `.xml`.
    Xml,
}

impl Format {
    /// A path segment without its extension, and the format it names.
    pub fn of(segment: &str) -> Option<(&str, Format)> {
        if let Some(s) = segment.strip_suffix(".json") {
            return Some((s, Format::Json)).filter(|(s, _)| !s.is_empty());
        }
        segment.strip_suffix(".xml").filter(|s| !s.is_empty()).map(|s| (s, Format::Xml))
    }
}

/// The root element of a list of items of `item` in Open311's XML.
fn root_of(item: &str) -> &'static str {
    match item {
        "service" => "services",
        "request" => "service_requests",
        _ => "errors",
    }
}

/// The element of an item of a nested list (`attributes` → `attribute`).
fn item_of(list: &str) -> &str {
    match list {
        "attributes" => "attribute",
        "values" => "value",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

/// Writes `value` as the content of element `name`.
fn write_xml(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => {
            out.push_str(&format!("<{name}/>"));
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            for item in items {
                write_xml(out, item_of(name), item);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(fields) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in fields {
                write_xml(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(text) => out.push_str(&format!("<{name}>{}</{name}>", quick_xml::escape::escape(text.as_str()))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// An Open311 document in XML: a list of `item`s, or one object as `root`.
pub fn to_xml(value: &Value, item: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    match value {
        Value::Array(items) => {
            let root = root_of(item);
            out.push_str(&format!("<{root}>"));
            for v in items {
                write_xml(&mut out, item, v);
            }
            out.push_str(&format!("</{root}>"));
        }
        one => write_xml(&mut out, item, one),
    }
    out
}

/// An answer in the format asked: a list of `item`s (or one object named `item`).
fn answer(format: Format, status: StatusCode, item: &str, value: Value) -> Response {
    match format {
        Format::Json => (status, axum::Json(value)).into_response(),
        Format::Xml => (status, [(axum::http::header::CONTENT_TYPE, "text/xml; charset=utf-8")], to_xml(&value, item)).into_response(),
    }
}

fn error_in(format: Format, status: StatusCode, description: &str) -> Response {
    answer(format, status, "error", json!([{ "code": status.as_u16(), "description": description }]))
}

/// `jurisdiction_id`, when given, must be this instance's (404 otherwise).
#[derive(Deserialize, Default)]
pub struct Jurisdiction {
    jurisdiction_id: Option<String>,
}

/// The report an Open311 POST describes, from its form pairs (NUL characters
/// already dropped): `None` without a situation. Validated afterwards as any
/// report is (`intake::validate`); the fuzz tests drive it with arbitrary bodies.
pub fn request_input(pairs: &[(String, String)]) -> Option<IntakeInput> {
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let (mut situations, mut flags) = (Vec::new(), Vec::new());
    for (k, v) in pairs {
        let list = |name: &str| k == &format!("attribute[{name}][]") || k == &format!("attribute[{name}]");
        let v = v.trim().to_owned();
        if list("situation") {
            situations.push(v);
        } else if list("flag") {
            flags.push(v);
        } else if list("seen") {
            // The attribute of the first version: situations and flags together.
            if FLAGS.contains(&v.as_str()) {
                flags.push(v);
            } else {
                situations.push(v);
            }
        }
    }
    if situations.is_empty() {
        return None;
    }
    Some(IntakeInput {
        lat: get("lat").unwrap_or("").to_owned(),
        lon: get("long").unwrap_or("").to_owned(),
        address: get("address_string").unwrap_or("").to_owned(),
        situation: situations,
        flag: flags,
        adults: get("attribute[adults]").unwrap_or("").to_owned(),
        children: get("attribute[children]").unwrap_or("").to_owned(),
        tents: get("attribute[tents]").unwrap_or("").to_owned(),
        description: get("description").unwrap_or("").to_owned(),
        source: get("attribute[source]").unwrap_or("").to_owned(),
        ..Default::default()
    })
}

fn foreign(state: &AppState, given: Option<&str>, format: Format) -> Option<Response> {
    match given.map(str::trim).filter(|j| !j.is_empty()) {
        Some(j) if j != state.config.open311_jurisdiction_id => Some(error_in(format, StatusCode::NOT_FOUND, "unknown jurisdiction_id")),
        _ => None,
    }
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
    services_in(&state, &j, Format::Json)
}

/// GET /open311/v2/services.xml
pub async fn services_xml(State(state): State<AppState>, Query(j): Query<Jurisdiction>) -> Response {
    services_in(&state, &j, Format::Xml)
}

fn services_in(state: &AppState, j: &Jurisdiction, format: Format) -> Response {
    if let Some(refused) = foreign(state, j.jurisdiction_id.as_deref(), format) {
        return refused;
    }
    answer(format, StatusCode::OK, "service", json!([service(Lang::Fr)]))
}

/// GET /open311/v2/services/{code}.json
pub async fn service_definition(State(state): State<AppState>, Path(segment): Path<String>, Query(j): Query<Jurisdiction>) -> Response {
    let format = Format::of(&segment).map_or(Format::Json, |(_, f)| f);
    if let Some(refused) = foreign(&state, j.jurisdiction_id.as_deref(), format) {
        return refused;
    }
    if Format::of(&segment).map(|(code, _)| code) != Some(SERVICE_CODE) {
        return error_in(format, StatusCode::NOT_FOUND, "unknown service_code");
    }
    let lang = Lang::Fr;
    let list =
        |family: &str, codes: &[&str]| -> Vec<Value> { codes.iter().map(|c| json!({"key": c, "name": lang.t(&format!("report.{family}.{c}"))})).collect() };
    let number = |code: &str, order: i64, key: &str| {
        json!({"variable": true, "code": code, "datatype": "number", "required": false, "order": order,
               "datatype_description": "0-999", "description": lang.t(key)})
    };
    answer(
        format,
        StatusCode::OK,
        "service_definition",
        json!({
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
                 "description": lang.t("report.form.source"), "values": list("source", &Source::codes())},
            ],
        }),
    )
}

fn open_or_closed(status: Status) -> &'static str {
    if status.is_open() {
        "open"
    } else {
        "closed"
    }
}

fn request_json(r: &PublicReport, lang: Lang) -> Value {
    json!({
        "service_request_id": r.reference,
        "status": open_or_closed(r.status),
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
    requests_in(&state, &q, Format::Json).await
}

/// GET /open311/v2/requests.xml
pub async fn requests_xml(State(state): State<AppState>, Query(q): Query<RequestsQuery>) -> AppResult<Response> {
    requests_in(&state, &q, Format::Xml).await
}

async fn requests_in(state: &AppState, q: &RequestsQuery, format: Format) -> AppResult<Response> {
    let error = |status, text: &str| error_in(format, status, text);
    let ok = |v: Value| answer(format, StatusCode::OK, "request", v);
    if let Some(refused) = foreign(state, q.jurisdiction_id.as_deref(), format) {
        return Ok(refused);
    }
    let lang = Lang::Fr;
    if let Some(ids) = q.service_request_id.as_deref().filter(|s| !s.trim().is_empty()) {
        let refs: Vec<&str> = ids.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let found = veille_app::reports::open311::by_references(state, &refs).await?;
        return Ok(ok(Value::Array(found.iter().map(|r| request_json(r, lang)).collect())));
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
    let found = veille_app::reports::open311::list(state, start, end, open).await?;
    Ok(ok(Value::Array(found.iter().map(|r| request_json(r, lang)).collect())))
}

/// GET /open311/v2/requests/{id}.json
pub async fn request(State(state): State<AppState>, Path(segment): Path<String>, Query(j): Query<Jurisdiction>) -> AppResult<Response> {
    let format = Format::of(&segment).map_or(Format::Json, |(_, f)| f);
    if let Some(refused) = foreign(&state, j.jurisdiction_id.as_deref(), format) {
        return Ok(refused);
    }
    let Some((id, _)) = Format::of(&segment) else { return Ok(error_in(format, StatusCode::NOT_FOUND, "unknown service_request_id")) };
    match veille_app::reports::open311::by_reference(&state, id).await? {
        Some(r) => Ok(answer(format, StatusCode::OK, "request", json!([request_json(&r, Lang::Fr)]))),
        None => Ok(error_in(format, StatusCode::NOT_FOUND, "unknown service_request_id")),
    }
}

/// The first problem of a refused request, worded for a client's developer
/// (Open311 answers in English).
fn refusal(errors: &crate::forms::FieldErrors) -> String {
    let field = |name: &str| match name {
        "lat" => "lat and long, or address_string",
        "address" => "address_string",
        "situation" => "attribute[situation]",
        "flag" => "attribute[flag]",
        "adults" => "attribute[adults]",
        "children" => "attribute[children]",
        "tents" => "attribute[tents]",
        "source" => "attribute[source]",
        "description" => "description",
        _ => "the request",
    };
    errors.all().first().map(|(f, m)| format!("{}: {m}", field(f))).unwrap_or_else(|| "the request is not valid".into())
}

/// POST /open311/v2/requests.json (form-urlencoded): a partner's system
/// sends a report with the API token of one of its accounts as `api_key`;
/// the account must be one that takes reports in, as for `POST /api/v1/reports`.
pub async fn create(State(state): State<AppState>, ClientIp(ip): ClientIp, body: Bytes) -> AppResult<Response> {
    create_in(&state, &ip, &body, Format::Json).await
}

/// POST /open311/v2/requests.xml: the same, answered in XML.
pub async fn create_xml(State(state): State<AppState>, ClientIp(ip): ClientIp, body: Bytes) -> AppResult<Response> {
    create_in(&state, &ip, &body, Format::Xml).await
}

async fn create_in(state: &AppState, ip: &str, body: &[u8], format: Format) -> AppResult<Response> {
    let error = |status, text: &str| error_in(format, status, text);
    // Every attempt counts, before anything else is read (a bad api_key too).
    if !open311_within_limit(state, Open311Client::Address(ip)).await? {
        return Ok(error(StatusCode::TOO_MANY_REQUESTS, "too many requests from this address: try again in a few minutes"));
    }
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) else {
        return Ok(error(StatusCode::BAD_REQUEST, "the body must be application/x-www-form-urlencoded"));
    };
    let pairs = crate::forms::pairs_without_nul(pairs);
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    if let Some(refused) = foreign(state, get("jurisdiction_id"), format) {
        return Ok(refused);
    }
    let Some(key) = get("api_key") else { return Ok(error(StatusCode::FORBIDDEN, "api_key is missing")) };
    let (who, held) = match writer_by_api_token(state, key, state.clock.now()).await? {
        Ok(found) => found,
        Err(TokenRefusal::Unknown | TokenRefusal::ReadOnly) => return Ok(error(StatusCode::FORBIDDEN, "api_key is not a live API token with write scope")),
    };
    if veille_app::reports::intake::gate(&who).is_err() {
        return Ok(error(StatusCode::FORBIDDEN, "the api_key's account may not take reports in"));
    }
    if !open311_within_limit(state, Open311Client::Account(&who)).await? {
        return Ok(error(StatusCode::TOO_MANY_REQUESTS, "too many requests for this api_key's account: try again in a few minutes"));
    }
    match get("service_code") {
        None => return Ok(error(StatusCode::BAD_REQUEST, "service_code is missing")),
        Some(c) if c != SERVICE_CODE => return Ok(error(StatusCode::NOT_FOUND, "unknown service_code")),
        Some(_) => {}
    }
    if get("lat").is_some() != get("long").is_some() {
        return Ok(error(StatusCode::BAD_REQUEST, "give both lat and long"));
    }
    let Some(input) = request_input(&pairs) else {
        return Ok(error(StatusCode::BAD_REQUEST, "attribute[situation] is required (one or several values)"));
    };
    let received = match veille_app::reports::intake::take_in_open311(state, &who, &held, input).await {
        Ok(Ok(r)) => r,
        Ok(Err(errors)) => return Ok(error(StatusCode::BAD_REQUEST, &refusal(&errors))),
        // The token was revoked or its account changed while it was kept.
        Err(e) if e.kind == veille_app::ErrorKind::Forbidden => return Ok(error(StatusCode::FORBIDDEN, "api_key is not a live API token with write scope")),
        Err(e) => return Err(e.into()),
    };
    let lang = Lang::Fr;
    let notice = match received.placement {
        veille_app::reports::Placement::Outside => lang.t("report.received.outside"),
        _ => lang.t(&format!("report.status.{}", received.status)),
    };
    Ok(answer(
        format,
        StatusCode::CREATED,
        "request",
        json!([{ "service_request_id": received.reference, "service_notice": notice, "account_id": Value::Null }]),
    ))
}
