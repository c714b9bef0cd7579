//! Places of recurring tension: where mediations and signalements come back
//! to the same spot. The points the caller reads (mediations of its
//! organisation, reports in its scope) of the last days are grouped by
//! distance — each point joins the first group whose centre lies within
//! [`RADIUS_M`] — and a group with at least [`MIN_EVENTS`] events is a place
//! of recurring tension, shown on a map with its history.

use veille_geo::LonLat;
use veille_storage::reports;

use crate::error::Result;
use crate::{App, Caller};

/// How close two events must be to be at the same place, in metres.
pub const RADIUS_M: f64 = 150.0;
/// How many events make a place of recurring tension.
pub const MIN_EVENTS: usize = 3;
/// How far back the map looks by default, in days.
pub const DEFAULT_DAYS: i64 = 90;

/// An event at a place: a mediation or a signalement.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TensionEvent {
    /// `mediation` or `report`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// When (RFC 3339).
    pub at: String,
    /// The mediation's subject, or the report's situation types (codes).
    pub codes: Vec<String>,
    /// The mediation's outcome, or the report's reference.
    pub detail: String,
    #[serde(skip)]
    #[schemars(skip)]
    micros: i64,
}

/// A place of recurring tension.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct TensionPlace {
    /// Longitude of its centre.
    pub lon: f64,
    /// Latitude of its centre.
    pub lat: f64,
    /// Mediations there.
    pub mediations: usize,
    /// Signalements there.
    pub reports: usize,
    /// Its history, newest first.
    pub events: Vec<TensionEvent>,
}

struct Group {
    centre: LonLat,
    events: Vec<(LonLat, TensionEvent)>,
}

/// The places of recurring tension the caller reads, over the last `days`,
/// busiest first.
pub async fn places(app: &App, who: &Caller, days: i64) -> Result<Vec<TensionPlace>> {
    super::mediations::gate(who)?;
    let days = days.clamp(7, 730);
    let since = app.clock.now().plus_seconds(-days * 86_400);
    let scope = who.scope();
    let mut points: Vec<(LonLat, TensionEvent)> = Vec::new();
    for m in super::mediations::placed_since(app, &scope, since).await? {
        let Some(p) = m.lon.zip(m.lat).and_then(|(x, y)| LonLat::new(x, y).ok()) else { continue };
        let e = TensionEvent {
            kind: "mediation".into(),
            id: m.id.to_string(),
            at: m.at.to_rfc3339(),
            codes: vec![m.subject.code().into()],
            detail: m.outcome.code().into(),
            micros: m.at.as_micros(),
        };
        points.push((p, e));
    }
    let filter = reports::Filter { since: Some(since), placed: true, ..Default::default() };
    for r in reports::list(&app.db, &scope, &filter, 5000).await? {
        let Some(p) = r.lon.zip(r.lat).and_then(|(x, y)| LonLat::new(x, y).ok()) else { continue };
        let e = TensionEvent {
            kind: "report".into(),
            id: r.id.to_string(),
            at: r.created_at.to_rfc3339(),
            codes: r.situations.clone(),
            detail: r.reference.clone(),
            micros: r.created_at.as_micros(),
        };
        points.push((p, e));
    }
    // Oldest first, so a place's centre is where its history began.
    points.sort_by_key(|(_, e)| e.micros);
    let mut groups: Vec<Group> = Vec::new();
    for (p, e) in points {
        match groups.iter_mut().find(|g| veille_geo::distance_m(g.centre, p) <= RADIUS_M) {
            Some(g) => g.events.push((p, e)),
            None => groups.push(Group { centre: p, events: vec![(p, e)] }),
        }
    }
    let mut out: Vec<TensionPlace> = groups
        .into_iter()
        .filter(|g| g.events.len() >= MIN_EVENTS)
        .map(|g| {
            let n = g.events.len() as f64;
            let lon = g.events.iter().map(|(p, _)| p.lon).sum::<f64>() / n;
            let lat = g.events.iter().map(|(p, _)| p.lat).sum::<f64>() / n;
            let mut events: Vec<TensionEvent> = g.events.into_iter().map(|(_, e)| e).collect();
            events.sort_by_key(|e| std::cmp::Reverse(e.micros));
            TensionPlace {
                lon,
                lat,
                mediations: events.iter().filter(|e| e.kind == "mediation").count(),
                reports: events.iter().filter(|e| e.kind == "report").count(),
                events,
            }
        })
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.events.len()));
    Ok(out)
}

/// The places as GeoJSON for the map (counts and codes only).
pub fn geojson(places: &[TensionPlace]) -> serde_json::Value {
    let features: Vec<serde_json::Value> = places
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                "properties": {"place": i + 1, "mediations": p.mediations, "reports": p.reports, "events": p.events.len()},
            })
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features})
}
