//! The JSON API under `/api/v1` (session cookie or `Authorization: Bearer`).
//! Every answer goes through the same permission function as the pages.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;
use veille_domain::{Action, Resource, ResourceKind};
use veille_storage::accounts;

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::AppState;

/// A JSON request body of the API. It must come as `application/json` (a
/// cross-site form cannot send that without the browser asking first, which
/// is what protects cookie-authenticated writes from forgery); malformed JSON
/// or a body of the wrong shape is a 400 in the caller's language.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let lang = crate::page::request_lang(&parts, None);
        let json = parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.type_() == mime::APPLICATION && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON)));
        if !json {
            return Err(bad_body(lang, "expected a JSON body (Content-Type: application/json)".into()));
        }
        let req = axum::extract::Request::from_parts(parts, body);
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|_| AppError::new(ErrorKind::TooLarge).into_response())?;
        // The decoder's message says what is wrong and where (it is sent back
        // to the caller only, never logged: it may quote what was sent).
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad_body(lang, e.to_string()))?;
        // serde would read a struct from an array of its fields in order
        // (`[null, null]`); every body of this API is an object.
        if !value.is_object() {
            return Err(bad_body(lang, "expected a JSON object".into()));
        }
        integral_floats_as_integers(&mut value);
        crate::forms::json_without_nul(&mut value);
        serde_json::from_value(value).map(JsonBody).map_err(|e| bad_body(lang, e.to_string()))
    }
}

/// JSON Schema counts `3.0` as an integer, and clients (JavaScript's numbers,
/// spreadsheets) send it so; serde would refuse it for an integer field. A
/// number with no fractional part that fits an i64 is read as that integer —
/// a float field still takes it.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64) {
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

pub(crate) fn bad_body(lang: crate::i18n::Lang, detail: String) -> Response {
    let body = json!({"error": {"code": ErrorKind::BadRequest.code(), "message": lang.t(ErrorKind::BadRequest.message_key()), "detail": detail}});
    (axum::http::StatusCode::BAD_REQUEST, [("x-veille-error", ErrorKind::BadRequest.code())], Json(body)).into_response()
}

/// The answer to an API write whose fields did not validate: 422 with one
/// message per field in the caller's language, the same messages the form
/// shows next to its fields.
pub fn invalid(lang: crate::i18n::Lang, errors: &crate::forms::FieldErrors) -> Response {
    let fields: serde_json::Map<String, serde_json::Value> = errors.all().into_iter().map(|(k, v)| (k, v.into())).collect();
    let body = json!({"error": {"code": "invalid", "message": lang.t("form.fix_these"), "fields": fields}});
    (axum::http::StatusCode::UNPROCESSABLE_ENTITY, [("x-veille-error", "invalid")], Json(body)).into_response()
}

/// An account as the API shows it.
#[derive(Serialize)]
pub struct AccountView {
    id: String,
    organisation_id: String,
    display_name: String,
    email: String,
    role: veille_domain::Role,
    disabled: bool,
    second_factor_enrolled: bool,
}

impl From<&accounts::Account> for AccountView {
    fn from(a: &accounts::Account) -> Self {
        Self {
            id: a.id.to_string(),
            organisation_id: a.organisation.to_string(),
            display_name: a.display_name.clone(),
            email: a.email.clone(),
            role: a.role,
            disabled: a.disabled,
            second_factor_enrolled: a.totp_enabled,
        }
    }
}

/// GET /api/v1/me
pub async fn me(who: Authenticated) -> Response {
    Json(json!({
        "account": AccountView::from(&who.account),
        "field_groups": who.actor.field_groups,
        "territories": match &who.actor.territories {
            veille_domain::TerritoryScope::All => json!("all"),
            veille_domain::TerritoryScope::Only(s) => json!(s),
        },
    }))
    .into_response()
}

/// GET /api/v1/organisations
pub async fn organisations(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    Ok(Json(veille_app::accounts::organisations(&state, &who).await?).into_response())
}

/// GET /api/v1/organisations/{id}
pub async fn organisation(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    Ok(Json(veille_app::accounts::organisation(&state, &who, &id, Action::Read).await?).into_response())
}

/// GET /api/v1/users/{id} (audited read)
pub async fn user(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let account = veille_app::accounts::read_account(&state, &who, &id).await?;
    Ok(Json(AccountView::from(&account)).into_response())
}

/// GET /api/v1/teams/{id}
pub async fn team(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let team = veille_app::accounts::team(&state, &who, &id, Action::Read).await?;
    let view = veille_app::accounts::team_view(&state, &who, team).await?;
    let members: Vec<veille_domain::UserId> = view.members.iter().map(|a| a.id).collect();
    Ok(Json(json!({ "team": view.team, "members": members })).into_response())
}

/// GET /api/v1/territories (without geometries; GeoJSON at /territories.geojson)
pub async fn territories(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    who.require(Action::Read, &Resource::new(ResourceKind::Territory))?;
    let list: Vec<_> =
        veille_app::territories::list(&state).await?.into_iter().map(|t| json!({ "id": t.id, "code": t.code, "name": t.name, "bbox": t.bbox })).collect();
    Ok(Json(list).into_response())
}

/// GET /api/v1/access/{kind}/{id}: the "who can see this" panel as JSON.
pub async fn access(State(state): State<AppState>, who: Authenticated, Path((kind, id)): Path<(String, String)>) -> AppResult<Response> {
    Ok(Json(veille_app::access_panel::of_record(&state, &who, &kind, &id).await?).into_response())
}
