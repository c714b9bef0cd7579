//! Territory geometry for veille.
//!
//! This crate is pure: it never touches the file system, a database or the
//! network. It parses GeoJSON text that the caller hands it, keeps territories
//! (Paris arrondissements, communes…) as [`geo::MultiPolygon`]s in WGS84
//! longitude/latitude, and answers "which territory is this point in?" through
//! an R-tree on bounding boxes followed by an exact point-in-polygon test.
//!
//! Main entry points:
//! - [`parse_territories`]: a GeoJSON `FeatureCollection` → [`TerritoryFeature`]s;
//! - [`geometry_to_geojson`] / [`geometry_from_geojson`]: store a geometry as text;
//! - [`TerritoryIndex`]: locate a [`LonLat`] among many territories;
//! - [`distance_m`], [`bbox`], [`feature_collection`]: small helpers for the web app.
//!
//! ```
//! use veille_geo::{parse_territories, LonLat, TerritoryIndex};
//!
//! let text = r#"{"type": "FeatureCollection", "features": [{
//!     "type": "Feature",
//!     "properties": {"code": "75118", "nom": "Paris 18e  Arrondissement"},
//!     "geometry": {"type": "Polygon", "coordinates": [[
//!         [2.33, 48.88], [2.37, 48.88], [2.37, 48.90], [2.33, 48.90], [2.33, 48.88]
//!     ]]}
//! }]}"#;
//! let territories = parse_territories(text, "code", "nom")?;
//! assert_eq!(territories[0].name, "Paris 18e Arrondissement");
//!
//! let index = TerritoryIndex::new(territories.into_iter().map(|t| (t.code, t.geometry)));
//! let found = index.locate(LonLat::new(2.3600, 48.8880)?);
//! assert_eq!(found.map(|code| code.as_str()), Some("75118"));
//! assert_eq!(index.locate(LonLat::new(-20.0, 45.0)?), None);
//! # Ok::<(), veille_geo::GeoError>(())
//! ```

mod code;
mod error;
mod geojson_io;
mod index;
mod lonlat;

pub use code::TerritoryCode;
pub use error::{GeoError, GeometryError};
pub use geojson_io::{feature_collection, geometry_from_geojson, geometry_to_geojson, parse_territories, TerritoryFeature};
pub use index::TerritoryIndex;
pub use lonlat::{bbox, distance_m, LonLat};

/// The `geo` crate this API is written against, re-exported so that callers
/// can name `veille_geo::geo::MultiPolygon<f64>` without pinning a version of
/// their own.
pub use geo;
