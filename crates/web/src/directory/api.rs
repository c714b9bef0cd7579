//! The directory in the JSON API: `/api/v1/services` (with the search filters)
//! and `/api/v1/structures`. Field names follow data·inclusion where they
//! exist; `open_now`, `next_change`, `territory_id`, `languages` and
//! `capacity` are veille's.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use veille_app::directory::{self as app, Found, SearchQuery, Service, ServiceEntry, State as Now, Structure, StructuresQuery};
use veille_domain::{Action, Timestamp};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::AppState;

/// A structure as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub struct StructureView {
    /// veille id.
    pub id: String,
    /// data·inclusion source (`veille` for an organisation's own entries).
    pub source: String,
    /// Id within the source.
    pub source_id: String,
    /// The organisation keeping it (none: imported).
    pub organisation_id: Option<String>,
    /// `nom`.
    pub nom: String,
    /// `siret`.
    pub siret: String,
    /// `description`.
    pub description: String,
    /// `adresse`.
    pub adresse: String,
    /// `complement_adresse`.
    pub complement_adresse: String,
    /// `code_postal`.
    pub code_postal: String,
    /// `commune`.
    pub commune: String,
    /// `code_insee`.
    pub code_insee: String,
    /// `longitude`.
    pub longitude: Option<f64>,
    /// `latitude`.
    pub latitude: Option<f64>,
    /// The territory containing the point.
    pub territory_id: Option<String>,
    /// `telephone`.
    pub telephone: String,
    /// `courriel`.
    pub courriel: String,
    /// `site_web`.
    pub site_web: String,
    /// `horaires_accueil` (OSM opening_hours).
    pub horaires_accueil: String,
    /// `reseaux_porteurs`.
    pub reseaux_porteurs: Vec<String>,
    /// `date_maj`.
    pub date_maj: String,
    /// Its services (only in `/structures/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<ServiceView>>,
}

impl StructureView {
    fn of(s: &Structure) -> Self {
        let f = &s.fields;
        Self {
            id: s.id.to_string(),
            source: s.source.clone(),
            source_id: s.source_id.clone(),
            organisation_id: s.organisation.map(|o| o.to_string()),
            nom: f.name.clone(),
            siret: f.siret.clone(),
            description: f.description.clone(),
            adresse: f.address.clone(),
            complement_adresse: f.address_extra.clone(),
            code_postal: f.postal_code.clone(),
            commune: f.city.clone(),
            code_insee: f.insee_code.clone(),
            longitude: f.lon,
            latitude: f.lat,
            territory_id: s.territory.map(|t| t.to_string()),
            telephone: f.phone.clone(),
            courriel: f.email.clone(),
            site_web: f.website.clone(),
            horaires_accueil: f.opening_hours.clone(),
            reseaux_porteurs: f.networks.clone(),
            date_maj: f.source_updated.clone(),
            services: None,
        }
    }
}

/// A service as the API shows it: its own fields, and where, when and how to
/// reach it (its structure's when it has none of its own).
#[derive(Serialize, schemars::JsonSchema)]
pub struct ServiceView {
    /// veille id (what a referral's `service_id` names).
    pub id: String,
    /// data·inclusion source.
    pub source: String,
    /// Id within the source.
    pub source_id: String,
    /// Its structure's veille id.
    pub structure_id: String,
    /// Its structure's name.
    pub structure_nom: String,
    /// `nom`.
    pub nom: String,
    /// `description`.
    pub description: String,
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `thematiques`.
    pub thematiques: Vec<String>,
    /// `publics`.
    pub publics: Vec<String>,
    /// `publics_precisions`.
    pub publics_precisions: String,
    /// `conditions_acces`.
    pub conditions_acces: String,
    /// `frais`.
    pub frais: String,
    /// `modes_accueil`.
    pub modes_accueil: Vec<String>,
    /// `modes_mobilisation`.
    pub modes_mobilisation: Vec<String>,
    /// The address on one line.
    pub adresse: String,
    /// `longitude` (effective).
    pub longitude: Option<f64>,
    /// `latitude` (effective).
    pub latitude: Option<f64>,
    /// The territory of the point.
    pub territory_id: Option<String>,
    /// `telephone` (effective).
    pub telephone: String,
    /// `courriel` (effective).
    pub courriel: String,
    /// `horaires_accueil` (effective, OSM opening_hours).
    pub horaires_accueil: String,
    /// Open at the instant of the answer (none: no hours or not understood).
    pub open_now: Option<bool>,
    /// When it next opens or closes (RFC 3339), if within two weeks.
    pub next_change: Option<String>,
    /// Languages spoken (ISO 639).
    pub languages: Vec<String>,
    /// `unknown`, `available`, `limited` or `full`.
    pub capacity: String,
    /// A word on capacity.
    pub capacity_note: String,
    /// When capacity was last set (RFC 3339).
    pub capacity_updated_at: Option<String>,
    /// Distance from the point asked, metres.
    pub distance_m: Option<f64>,
    /// `date_maj`.
    pub date_maj: String,
}

impl ServiceView {
    fn of(found: &Found) -> Self {
        let e: &ServiceEntry = &found.entry;
        let s: &Service = &e.service;
        let (open_now, next_change) = match found.now {
            Some(Now::Open(t)) => (Some(true), t),
            Some(Now::Closed(t)) => (Some(false), t),
            Some(Now::Unknown) | None => (None, None),
        };
        let point = e.point();
        Self {
            id: s.id.to_string(),
            source: s.source.clone(),
            source_id: s.source_id.clone(),
            structure_id: e.structure.id.to_string(),
            structure_nom: e.structure.fields.name.clone(),
            nom: s.fields.name.clone(),
            description: s.fields.description.clone(),
            kind: s.fields.kind.clone(),
            thematiques: s.fields.themes.clone(),
            publics: s.fields.publics.clone(),
            publics_precisions: s.fields.publics_details.clone(),
            conditions_acces: s.fields.access_conditions.clone(),
            frais: s.fields.fees.clone(),
            modes_accueil: s.fields.reception_modes.clone(),
            modes_mobilisation: s.fields.mobilisation_modes.clone(),
            adresse: e.address(),
            longitude: point.map(|p| p.0),
            latitude: point.map(|p| p.1),
            territory_id: e.territory().map(|t| t.to_string()),
            telephone: e.phone().to_owned(),
            courriel: e.email().to_owned(),
            horaires_accueil: e.opening_hours().to_owned(),
            open_now,
            next_change: next_change.map(Timestamp::to_paris_rfc3339),
            languages: s.local.languages.clone(),
            capacity: s.local.capacity.code().to_owned(),
            capacity_note: s.local.capacity_note.clone(),
            capacity_updated_at: s.capacity_updated_at.map(Timestamp::to_paris_rfc3339),
            distance_m: found.distance_m.map(|d| d.round()),
            date_maj: s.fields.source_updated.clone(),
        }
    }
}

/// GET /api/v1/services?need=&territory=&public=&language=&open_now=&q=&lat=&lon=&limit=
pub async fn services(State(state): State<AppState>, who: Authenticated, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    let found = app::search(&state, &who, &q).await?;
    Ok(Json(found.iter().map(ServiceView::of).collect::<Vec<_>>()).into_response())
}

/// GET /api/v1/services/{id}
pub async fn service(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let entry = app::load_service(&state, &who, &id, Action::Read).await?;
    Ok(Json(ServiceView::of(&Found::at(entry, state.clock.now()))).into_response())
}

/// GET /api/v1/structures?q=&limit=
pub async fn structures(State(state): State<AppState>, who: Authenticated, Query(q): Query<StructuresQuery>) -> AppResult<Response> {
    let list = app::structures(&state, &who, &q).await?;
    Ok(Json(list.iter().map(StructureView::of).collect::<Vec<_>>()).into_response())
}

/// GET /api/v1/structures/{id} (with its services)
pub async fn structure(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let s = app::load_structure(&state, &who, &id, Action::Read).await?;
    let services = app::services_of(&state, &s).await?.iter().map(ServiceView::of).collect();
    let mut view = StructureView::of(&s);
    view.services = Some(services);
    Ok(Json(view).into_response())
}
