//! Territories: GeoJSON import (page and command line), list and map, the
//! point → territory lookup used for routing.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use veille_app::territories::{Area as Territory, Counts as ImportCounts};
use veille_domain::{Action, Resource, ResourceKind};
use veille_geo::LonLat;

use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{csrf_ok, same_origin, FieldErrors};
use crate::page::{render, render_status, PageCtx};
use crate::AppState;

pub use veille_app::territories::{import, index_of, locate, names, reload_index};

/// Largest GeoJSON file accepted (bytes).
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;

#[derive(Template)]
#[template(path = "territories.html")]
struct ListPage {
    ctx: PageCtx,
    territories: Vec<Territory>,
    can_import: bool,
    errors: FieldErrors,
    imported: Option<ImportCounts>,
}

/// GET /territories
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    who.require(Action::Read, &Resource::new(ResourceKind::Territory))?;
    let can_import = who.can(Action::Create, &Resource::new(ResourceKind::Territory)).allowed;
    Ok(render(&ListPage { ctx, territories: veille_app::territories::list(&state).await?, can_import, errors: FieldErrors::new(), imported: None }))
}

/// GET /territories.geojson: every territory for the maps.
pub async fn geojson(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    who.require(Action::Read, &Resource::new(ResourceKind::Territory))?;
    Ok(([(CONTENT_TYPE, "application/geo+json")], veille_app::territories::outlines(&state).await?).into_response())
}

/// GET /signaler/territoires.geojson: the same public geography (Licence Ouverte
/// outlines, no record) for the public report form's map, which must show
/// territory outlines even without a tile server.
pub async fn public_geojson(State(state): State<AppState>) -> AppResult<Response> {
    Ok((
        [(CONTENT_TYPE, "application/geo+json"), (axum::http::header::CACHE_CONTROL, "public, max-age=3600")],
        veille_app::territories::outlines(&state).await?,
    )
        .into_response())
}

/// POST /territories/import (multipart: csrf, file, code_property, name_property)
pub async fn import_upload(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, req: axum::extract::Request) -> AppResult<Response> {
    who.require(Action::Create, &Resource::new(ResourceKind::Territory))?;
    let (parts, body) = req.into_parts();
    if !same_origin(&parts) {
        return Err(AppError::new(ErrorKind::CsrfRejected));
    }
    let secure = state.config.cookies_secure();
    let req = axum::extract::Request::from_parts(parts.clone(), body);
    let mut multipart = <Multipart as axum::extract::FromRequest<()>>::from_request(req, &()).await.map_err(|_| AppError::bad_request())?;
    let (mut csrf, mut text, mut code_prop, mut name_prop) = (None, None, "code".to_owned(), "nom".to_owned());
    while let Some(field) = multipart.next_field().await.map_err(|_| AppError::new(ErrorKind::TooLarge))? {
        let name = field.name().unwrap_or("").to_owned();
        let bytes = field.bytes().await.map_err(|_| AppError::new(ErrorKind::TooLarge))?;
        match name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => text = Some(bytes),
            "code_property" if !bytes.is_empty() => code_prop = String::from_utf8_lossy(&bytes).trim().to_owned(),
            "name_property" if !bytes.is_empty() => name_prop = String::from_utf8_lossy(&bytes).trim().to_owned(),
            _ => {}
        }
    }
    if !csrf_ok(&parts, csrf.as_deref(), secure) {
        return Err(AppError::new(ErrorKind::CsrfRejected));
    }
    let mut errors = FieldErrors::new();
    let mut imported = None;
    match text {
        None => errors.add("file", ctx.t("territory.file_missing")),
        Some(bytes) if bytes.is_empty() => errors.add("file", ctx.t("territory.file_missing")),
        Some(bytes) if bytes.len() > MAX_IMPORT_BYTES => errors.add("file", ctx.tf("territory.file_too_large", &[("max", "20")])),
        Some(bytes) => match std::str::from_utf8(&bytes) {
            Err(_) => errors.add("file", ctx.t("territory.not_utf8")),
            Ok(text) => match veille_app::territories::import_as(&state, &who, text, &code_prop, &name_prop).await? {
                Ok(counts) => imported = Some(counts),
                Err(veille_app::territories::Refusal::Invalid(geo)) => errors.add("file", ctx.tf("territory.invalid", &[("detail", &geo.to_string())])),
            },
        },
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ListPage { ctx, territories: veille_app::territories::list(&state).await?, can_import: true, errors, imported };
    Ok(render_status(status, &page))
}

#[derive(Template)]
#[template(path = "territory.html")]
struct ShowPage {
    ctx: PageCtx,
    territory: Territory,
    panel: Vec<PanelEntry>,
}

/// GET /territories/{id}
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let territory = veille_app::territories::get(&state, &who, &id).await?;
    Ok(render(&ShowPage { ctx, territory, panel: who_can_read(&state.db, &who.actor, &Resource::new(ResourceKind::Territory)).await? }))
}

/// Query of the lookup.
#[derive(Deserialize)]
pub struct LookupQuery {
    lon: Option<f64>,
    lat: Option<f64>,
}

/// GET /api/v1/territories/lookup?lon=&lat=
pub async fn lookup(State(state): State<AppState>, who: Authenticated, Query(q): Query<LookupQuery>) -> AppResult<Response> {
    who.require(Action::Read, &Resource::new(ResourceKind::Territory))?;
    let (Some(lon), Some(lat)) = (q.lon, q.lat) else { return Err(AppError::bad_request()) };
    let point = LonLat::new(lon, lat).map_err(|_| AppError::bad_request())?;
    let found = locate(&state, point).await?;
    Ok(axum::Json(serde_json::json!({
        "territory": found.map(|t| serde_json::json!({"id": t.id, "code": t.code, "name": t.name}))
    }))
    .into_response())
}
