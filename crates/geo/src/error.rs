//! Errors. Every message is plain English and, when the problem lies in one
//! feature of a collection, names that feature's index (0-based, in file order).

use thiserror::Error;

/// What can go wrong when parsing territories, geometries, codes or points.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The text is not JSON at all.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),

    /// The JSON is valid but its top level is not a `FeatureCollection`.
    #[error("expected a GeoJSON FeatureCollection, found {found}")]
    NotAFeatureCollection {
        /// What was found instead (e.g. `a Feature`, `an array`).
        found: String,
    },

    /// `{"type": "FeatureCollection"}` without a `features` array.
    #[error("the FeatureCollection has no \"features\" array")]
    MissingFeatures,

    /// An element of `features` is not a `Feature` object.
    #[error("feature {index} is not a GeoJSON Feature (found {found})")]
    NotAFeature {
        /// Index of the feature in the collection.
        index: usize,
        /// What was found instead.
        found: String,
    },

    /// The feature lacks the property holding the code or the name.
    #[error("feature {index} has no \"{property}\" property")]
    MissingProperty {
        /// Index of the feature in the collection.
        index: usize,
        /// Name of the missing property.
        property: String,
    },

    /// The property exists but is not a string.
    #[error("feature {index}: property \"{property}\" must be a string, found {found}")]
    PropertyNotString {
        /// Index of the feature in the collection.
        index: usize,
        /// Name of the property.
        property: String,
        /// JSON type found instead.
        found: String,
    },

    /// The name property is empty or only whitespace.
    #[error("feature {index}: property \"{property}\" is empty")]
    EmptyName {
        /// Index of the feature in the collection.
        index: usize,
        /// Name of the property.
        property: String,
    },

    /// The code property of a feature is not a valid [`crate::TerritoryCode`].
    #[error("feature {index}: invalid territory code {value:?}: {reason}")]
    InvalidFeatureCode {
        /// Index of the feature in the collection.
        index: usize,
        /// The offending value.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },

    /// The geometry of a feature is missing or unusable.
    #[error("feature {index}: {source}")]
    FeatureGeometry {
        /// Index of the feature in the collection.
        index: usize,
        /// What is wrong with the geometry.
        source: GeometryError,
    },

    /// Two features carry the same code.
    #[error("duplicate code \"{code}\": features {first} and {second} both use it")]
    DuplicateCode {
        /// The repeated code.
        code: String,
        /// Index of the first feature using it.
        first: usize,
        /// Index of the second feature using it.
        second: usize,
    },

    /// A stand-alone geometry (see [`crate::geometry_from_geojson`]) is unusable.
    #[error("invalid geometry: {0}")]
    Geometry(GeometryError),

    /// A string is not a valid [`crate::TerritoryCode`].
    #[error("invalid territory code {value:?}: {reason}")]
    InvalidCode {
        /// The offending value.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },

    /// A longitude/latitude pair is not finite or out of WGS84 range.
    #[error("invalid coordinates (lon {lon}, lat {lat}): {reason}")]
    InvalidLonLat {
        /// Longitude given.
        lon: f64,
        /// Latitude given.
        lat: f64,
        /// Why it is rejected.
        reason: &'static str,
    },
}

/// What is wrong with one geometry. Positions are located by polygon, ring and
/// position index (all 0-based); ring 0 is the exterior ring, the others holes.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum GeometryError {
    /// No geometry (absent or `null`).
    #[error("no geometry (missing or null)")]
    Missing,

    /// The geometry object itself cannot be read as GeoJSON.
    #[error("malformed GeoJSON geometry: {0}")]
    Malformed(String),

    /// A valid geometry of a kind that cannot be a territory.
    #[error("geometry is a {found}, not a Polygon or MultiPolygon")]
    NotAPolygon {
        /// The GeoJSON type found, e.g. `Point`.
        found: String,
    },

    /// A `MultiPolygon` with no polygon.
    #[error("geometry is empty (no polygon)")]
    Empty,

    /// A polygon with no ring at all.
    #[error("polygon {polygon} has no ring")]
    NoRing {
        /// Polygon index.
        polygon: usize,
    },

    /// A ring with fewer than the four positions GeoJSON requires.
    #[error("polygon {polygon}, ring {ring} has {count} positions; a ring needs at least 4")]
    TooFewPositions {
        /// Polygon index.
        polygon: usize,
        /// Ring index.
        ring: usize,
        /// Number of positions found.
        count: usize,
    },

    /// A ring whose last position differs from its first.
    #[error("polygon {polygon}, ring {ring} is not closed (its last position differs from its first)")]
    RingNotClosed {
        /// Polygon index.
        polygon: usize,
        /// Ring index.
        ring: usize,
    },

    /// A position with fewer than two numbers.
    #[error(
        "polygon {polygon}, ring {ring}, position {position} has {count} number(s); expected \
         [longitude, latitude]"
    )]
    PositionTooShort {
        /// Polygon index.
        polygon: usize,
        /// Ring index.
        ring: usize,
        /// Position index.
        position: usize,
        /// Number of numbers found.
        count: usize,
    },

    /// A position outside WGS84 longitude/latitude bounds (or not finite).
    #[error(
        "polygon {polygon}, ring {ring}, position {position}: invalid coordinates [{lon}, {lat}] \
         out of WGS84 range (longitude -180..180, latitude -90..90; projected coordinates such as \
         Lambert-93 are not accepted)"
    )]
    OutOfRange {
        /// Polygon index.
        polygon: usize,
        /// Ring index.
        ring: usize,
        /// Position index.
        position: usize,
        /// Longitude found.
        lon: f64,
        /// Latitude found.
        lat: f64,
    },
}
