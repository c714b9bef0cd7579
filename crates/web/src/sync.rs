//! Offline sync (decision 90): the JSON API — a phone registers its device,
//! then sends the operations it recorded offline — and the coordinators'
//! queue of conflicts (`/sync/conflicts`). The rules and the replay of the
//! pages' commands are `veille_app::sync`; these handlers translate.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Json;
use veille_app::sync::{self as app, BlobView, DeviceView, OpInput, OpReply, Resolution};
use veille_domain::sync::FieldValue;

use crate::api::JsonBody;
use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render_status, see_other, PageCtx};
use crate::routes::{schema, Access, ApiDoc, Registry};
use crate::AppState;

/// The routes of offline sync.
pub fn routes(reg: Registry) -> Registry {
    use Access::*;
    reg.post("/api/v1/sync/devices", Signed, "Register the caller's device for offline work", post(register))
        .doc(ApiDoc::default().request(schema::<DeviceBody>).response(schema::<DeviceView>))
        .post("/api/v1/sync/ops", Signed, "Send operations recorded offline: one reply per operation", post(ops))
        .doc(ApiDoc::default().request(schema::<OpsBody>).response(schema::<OpsReply>))
        .put(
            "/api/v1/blobs/{sha256}",
            Signed,
            "Upload an attachment taken offline, by the SHA-256 of its bytes, before the operation that names it",
            put(put_blob),
        )
        .doc(ApiDoc::default().response(schema::<BlobView>))
        .get("/sync/conflicts", Signed, "Conflicts of offline changes waiting for a coordinator", get(conflicts))
        .post("/sync/conflicts/{id}", Signed, "Resolve a conflict: keep the current value, the proposed one or a new one", post(resolve))
        .get("/sync/outbox", Signed, "Mes envois: what this phone still has to send, its refusals and conflicts (drawn from the phone's outbox)", get(outbox))
        .get("/sync/devices", Signed, "Devices working offline: held gaps, refusals, revocation", get(devices))
        .post("/sync/devices/{id}/revoke", Signed, "Revoke a device: nothing more is taken from it and it wipes what it holds", post(revoke))
}

/// A device to register.
#[derive(serde::Deserialize, schemars::JsonSchema, Default)]
#[serde(default)]
pub struct DeviceBody {
    /// Made on the device at login (UUID).
    pub device_id: String,
}

/// A batch of operations of one device.
#[derive(serde::Deserialize, schemars::JsonSchema, Default)]
#[serde(default)]
pub struct OpsBody {
    /// The device (registered by the caller).
    pub device_id: String,
    /// At most 200 operations, in the device's order; each is answered once.
    #[schemars(with = "Vec<OpInput>")]
    pub ops: Vec<serde_json::Value>,
}

/// The replies, in the order of the operations sent.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct OpsReply {
    /// One per operation.
    pub replies: Vec<OpReply>,
}

/// POST /api/v1/sync/devices
pub async fn register(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(body): JsonBody<DeviceBody>) -> AppResult<Response> {
    match app::register(&state, &who, ctx.lang, &body.device_id).await? {
        Ok(v) => Ok(Json(v).into_response()),
        Err(errors) => Ok(crate::api::invalid(ctx.lang, &errors)),
    }
}

/// POST /api/v1/sync/ops
pub async fn ops(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, JsonBody(body): JsonBody<OpsBody>) -> AppResult<Response> {
    match app::apply(&state, &who, ctx.lang, &body.device_id, &body.ops).await? {
        Ok(replies) => Ok(Json(OpsReply { replies }).into_response()),
        Err(errors) => Ok(crate::api::invalid(ctx.lang, &errors)),
    }
}

/// PUT /api/v1/blobs/{sha256}
pub async fn put_blob(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(sha256): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    match app::put_blob(&state, &who, ctx.lang, &sha256, body.to_vec()).await? {
        Ok(v) => Ok((if v.already { StatusCode::OK } else { StatusCode::CREATED }, Json(v)).into_response()),
        Err(errors) => Ok(crate::api::invalid(ctx.lang, &errors)),
    }
}

/// A conflict as the queue shows it.
struct Row {
    id: String,
    entity: String,
    field: String,
    link: String,
    current: String,
    proposed: String,
    author: String,
    device: String,
    written: String,
    received: String,
    /// A new value may be typed (text fields).
    typed: bool,
}

#[derive(Template)]
#[template(path = "sync/conflicts.html")]
struct Queue {
    ctx: PageCtx,
    errors: FieldErrors,
    rows: Vec<Row>,
}

fn shown(v: &FieldValue) -> String {
    match v {
        FieldValue::Text(t) => t.clone().unwrap_or_default(),
        FieldValue::Set(s) => s.iter().cloned().collect::<Vec<_>>().join(", "),
    }
}

async fn queue(state: &AppState, ctx: PageCtx, who: &Authenticated, errors: FieldErrors, status: StatusCode) -> AppResult<Response> {
    let rows = app::queue(state, who)
        .await?
        .into_iter()
        .map(|c| Row {
            id: c.id.to_string(),
            link: format!("/{}/{}", if c.entity == "person" { "people" } else { "sites" }, c.record),
            entity: c.entity,
            field: c.field,
            current: shown(&c.current),
            proposed: shown(&c.proposed),
            typed: !c.proposed.is_set(),
            author: c.author_name,
            device: short(&c.device),
            written: ctx.when(&c.written_at),
            received: ctx.when(&c.received_at),
        })
        .collect();
    Ok(render_status(status, &Queue { ctx, errors, rows }))
}

/// GET /sync/conflicts
pub async fn conflicts(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    queue(&state, ctx, &who, FieldErrors::new(), StatusCode::OK).await
}

/// POST /sync/conflicts/{id}
pub async fn resolve(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Path(id): Path<String>,
    Form(input): Form<Resolution>,
) -> AppResult<Response> {
    match app::resolve(&state, &who, ctx.lang, &id, &input).await? {
        Ok(()) => Ok(see_other("/sync/conflicts")),
        Err(errors) => queue(&state, ctx, &who, errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// A device as its page shows it.
struct DeviceRow {
    id: String,
    short: String,
    account: String,
    mine: bool,
    registered: String,
    last_seen: String,
    highest_seq: i64,
    held: usize,
    missing: String,
    rejected: i64,
    revoked: String,
    may_revoke: bool,
}

#[derive(Template)]
#[template(path = "sync/devices.html")]
struct Devices {
    ctx: PageCtx,
    rows: Vec<DeviceRow>,
}

/// The last six characters of a device's id: enough to tell a person's phones apart.
fn short(id: &impl ToString) -> String {
    let id = id.to_string();
    id[id.len().saturating_sub(6)..].to_owned()
}

/// GET /sync/devices
pub async fn devices(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let rows = app::devices(&state, &who)
        .await?
        .into_iter()
        .map(|d| DeviceRow {
            id: d.id.to_string(),
            short: short(&d.id),
            account: d.account_name,
            mine: d.mine,
            registered: ctx.when(&d.registered_at),
            last_seen: d.last_seen_at.map(|t| ctx.when(&t)).unwrap_or_default(),
            highest_seq: d.highest_seq,
            held: d.held,
            missing: d.missing.iter().map(|[a, b]| if a == b { a.to_string() } else { format!("{a}–{b}") }).collect::<Vec<_>>().join(", "),
            rejected: d.rejected,
            revoked: d.revoked_at.map(|t| ctx.when(&t)).unwrap_or_default(),
            may_revoke: d.may_revoke,
        })
        .collect();
    Ok(render_status(StatusCode::OK, &Devices { ctx, rows }))
}

/// POST /sync/devices/{id}/revoke
pub async fn revoke(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    app::revoke(&state, &who, &id).await?;
    Ok(see_other("/sync/devices"))
}

#[derive(Template)]
#[template(path = "sync/outbox.html")]
struct Outbox {
    ctx: PageCtx,
    kinds: &'static [&'static str],
    reasons: &'static [&'static str],
}

/// GET /sync/outbox: "Mes envois". The page is a shell in the reader's
/// language; what it lists is on the phone (IndexedDB), drawn by
/// `assets/outbox.js` — the server knows nothing of what was not sent.
pub async fn outbox(ctx: PageCtx) -> Response {
    let kinds = &["encounter", "observation", "set", "log_entry"];
    let reasons = &["forbidden", "not_found", "invalid", "unknown_field", "probable_duplicates", "sequence_reused", "device_revoked", "attachment", "other"];
    render_status(StatusCode::OK, &Outbox { ctx, kinds, reasons })
}
