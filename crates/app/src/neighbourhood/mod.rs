//! Neighbourhood work (capability 10): the contact book of local relays
//! ([`contacts`], a restricted field group), mediations recorded on a round
//! or afterwards with their follow-ups and the places of recurring tension
//! ([`mediations`], [`tension`]), requests to city and technical services
//! answered from their queue or through an expiring link, public reports of
//! dysfunctions routed to them, and their monthly export ([`services`]), and
//! the logbooks of teams, sites, cases and facilities with their handover
//! ([`logbooks`]).

pub mod contacts;
pub mod demo;
pub mod logbooks;
pub mod mediations;
pub mod services;
pub mod tension;

use veille_domain::TerritoryId;
use veille_geo::LonLat;

use crate::{App, FieldErrors, Lang};

/// A point typed as two coordinates (both empty: none), and the territory it lies in.
pub async fn point(app: &App, lon: &str, lat: &str, lang: Lang, errors: &mut FieldErrors) -> Option<(LonLat, Option<TerritoryId>)> {
    let (lon, lat) = (lon.trim().replace(',', "."), lat.trim().replace(',', "."));
    if lon.is_empty() && lat.is_empty() {
        return None;
    }
    let parsed = lon.parse::<f64>().ok().zip(lat.parse::<f64>().ok()).and_then(|(x, y)| LonLat::new(x, y).ok());
    match parsed {
        Some(p) => {
            let territory = app.territories.read().await.locate(p).copied();
            Some((p, territory))
        }
        None => {
            errors.add("lat", lang.t("neighbourhood.error.point"));
            None
        }
    }
}
