//! Territories: the polygons that route work, imported from GeoJSON, and the
//! point → territory index every intake and placement reads.

use veille_domain::{OrganisationId, TerritoryId, Timestamp, UserId};
use veille_geo::{LonLat, TerritoryIndex};
use veille_storage::territories::{self, ImportCounts, Territory};
use veille_storage::{audit, Db};

use crate::error::Result;
use crate::App;

/// Rebuilds the in-memory index from the database (and forgets the
/// intake's lookups, which hold territory names).
pub async fn reload_index(state: &App) -> anyhow::Result<()> {
    // The version first: a change committed while the index is built is seen at the next check.
    let (_, version) = veille_storage::reports::lookup_versions(&state.db).await?;
    *state.territories.write().await = index_of(&state.db).await?;
    state.reports_cache.territories_built_from(version);
    state.reports_cache.invalidate();
    Ok(())
}

/// The point → territory index of the territories stored in `db` (the
/// command line builds its own; the server keeps one in its state).
pub async fn index_of(db: &Db) -> anyhow::Result<TerritoryIndex<TerritoryId>> {
    let mut items = Vec::new();
    for t in territories::list(db).await? {
        items.push((t.id, veille_geo::geometry_from_geojson(&t.geometry)?));
    }
    Ok(TerritoryIndex::new(items))
}

/// The name of every territory, by id (no geometry).
pub async fn names(db: &Db) -> Result<std::collections::HashMap<TerritoryId, String>> {
    Ok(territories::names(db).await?)
}

/// Parses and stores territories from GeoJSON text, in one transaction, audited.
pub async fn import(
    db: &Db,
    text: &str,
    code_property: &str,
    name_property: &str,
    actor: Option<(UserId, OrganisationId)>,
    now: Timestamp,
) -> anyhow::Result<ImportCounts> {
    let features = veille_geo::parse_territories(text, code_property, name_property)?;
    let items: Vec<(String, String, String, [f64; 4])> = features
        .iter()
        .map(|f| {
            let bbox = veille_geo::bbox(&f.geometry).unwrap_or([0.0; 4]);
            (f.code.to_string(), f.name.clone(), veille_geo::geometry_to_geojson(&f.geometry), bbox)
        })
        .collect();
    let mut tx = db.begin().await?;
    let counts = territories::upsert(&mut tx, &items, now).await?;
    audit::append(
        &mut tx,
        audit::NewEntry {
            at: now,
            actor_user: actor.map(|a| a.0),
            actor_organisation: actor.map(|a| a.1),
            action: "import",
            record_kind: "territory",
            record_id: None,
            record_organisation: None,
            detail: serde_json::json!({ "created": counts.created, "updated": counts.updated }),
        },
    )
    .await?;
    tx.commit().await?;
    // Every instance (this one, the others, a running server after the command line's import) rebuilds its index.
    veille_storage::reports::bump_lookup_version(db, "territories").await?;
    veille_storage::reports::bump_lookup_version(db, "intake").await?;
    Ok(counts)
}

/// Which territory contains a point.
pub async fn locate(state: &App, point: LonLat) -> Result<Option<Territory>> {
    let id = state.territories.read().await.locate(point).copied();
    match id {
        Some(id) => Ok(Some(territories::get(&state.db, id).await?)),
        None => Ok(None),
    }
}

pub use veille_storage::territories::{ImportCounts as Counts, Territory as Area};

/// Every territory (public geography: outlines of Licence Ouverte data).
pub async fn list(app: &App) -> Result<Vec<Territory>> {
    Ok(territories::list(&app.db).await?)
}

/// A territory the caller may read.
pub async fn get(app: &App, who: &crate::Caller, id: &str) -> Result<Territory> {
    who.require(veille_domain::Action::Read, &veille_domain::Resource::new(veille_domain::ResourceKind::Territory))?;
    let id: TerritoryId = id.parse().map_err(|_| crate::Error::not_found())?;
    Ok(territories::get(&app.db, id).await?)
}

/// Every territory as a GeoJSON FeatureCollection (code, name, outline).
pub async fn outlines(app: &App) -> Result<String> {
    let list = territories::list(&app.db).await?;
    let geoms: Vec<(String, String, veille_geo::geo::MultiPolygon<f64>)> =
        list.iter().filter_map(|t| veille_geo::geometry_from_geojson(&t.geometry).ok().map(|g| (t.code.clone(), t.name.clone(), g))).collect();
    let refs: Vec<(String, String, &veille_geo::geo::MultiPolygon<f64>)> = geoms.iter().map(|(c, n, g)| (c.clone(), n.clone(), g)).collect();
    Ok(veille_geo::feature_collection(&refs))
}

/// Why an uploaded territories file is refused.
#[derive(Debug)]
pub enum Refusal {
    /// Not valid GeoJSON territories (the parser's words, naming the feature).
    Invalid(veille_geo::GeoError),
}

/// Imports territories from GeoJSON text as the caller (instance
/// administrators), audited, then rebuilds this instance's point index.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn import_as(
    app: &App,
    who: &crate::Caller,
    text: &str,
    code_property: &str,
    name_property: &str,
) -> Result<std::result::Result<ImportCounts, Refusal>> {
    who.require(veille_domain::Action::Create, &veille_domain::Resource::new(veille_domain::ResourceKind::Territory))?;
    match import(&app.db, text, code_property, name_property, Some(who.author()), app.clock.now()).await {
        Ok(counts) => {
            reload_index(app).await?;
            Ok(Ok(counts))
        }
        Err(e) => match e.downcast::<veille_geo::GeoError>() {
            Ok(geo) => Ok(Err(Refusal::Invalid(geo))),
            Err(e) => Err(e.into()),
        },
    }
}
