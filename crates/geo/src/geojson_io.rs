//! GeoJSON in and out: territory collections, stored geometries, map layers.

use std::collections::HashMap;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject, Position};
use serde_json::Value;

use crate::{GeoError, GeometryError, TerritoryCode};

/// One territory read from a GeoJSON `FeatureCollection`.
#[derive(Debug, Clone, PartialEq)]
pub struct TerritoryFeature {
    /// Its code (e.g. INSEE `75118`).
    pub code: TerritoryCode,
    /// Its display name, trimmed, with runs of whitespace collapsed to one space.
    pub name: String,
    /// Its shape, in WGS84 longitude/latitude. A `Polygon` becomes a
    /// one-polygon `MultiPolygon`.
    pub geometry: MultiPolygon<f64>,
}

/// Parses a GeoJSON `FeatureCollection` of territories.
///
/// Each feature must have a string property `code_property` (a valid
/// [`TerritoryCode`]; surrounding whitespace is ignored), a non-blank string
/// property `name_property` (whitespace is collapsed: `"Paris 18e  Arrondissement"`
/// becomes `"Paris 18e Arrondissement"`) and a `Polygon` or `MultiPolygon`
/// geometry with closed rings of WGS84 coordinates. Codes must be unique.
///
/// Errors name the 0-based index of the offending feature.
pub fn parse_territories(geojson_text: &str, code_property: &str, name_property: &str) -> Result<Vec<TerritoryFeature>, GeoError> {
    let root: Value = serde_json::from_str(geojson_text).map_err(|e| GeoError::InvalidJson(e.to_string()))?;
    let Value::Object(mut root) = root else {
        return Err(GeoError::NotAFeatureCollection { found: describe(&root) });
    };
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(GeoError::NotAFeatureCollection { found: describe_object(&root) });
    }
    let Some(Value::Array(features)) = root.remove("features") else {
        return Err(GeoError::MissingFeatures);
    };

    let mut seen: HashMap<TerritoryCode, usize> = HashMap::with_capacity(features.len());
    let mut out = Vec::with_capacity(features.len());
    for (index, feature) in features.into_iter().enumerate() {
        let territory = parse_feature(index, feature, code_property, name_property)?;
        if let Some(&first) = seen.get(&territory.code) {
            return Err(GeoError::DuplicateCode { code: territory.code.to_string(), first, second: index });
        }
        seen.insert(territory.code.clone(), index);
        out.push(territory);
    }
    Ok(out)
}

fn parse_feature(index: usize, feature: Value, code_property: &str, name_property: &str) -> Result<TerritoryFeature, GeoError> {
    let Value::Object(mut feature) = feature else {
        return Err(GeoError::NotAFeature { index, found: describe(&feature) });
    };
    if feature.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(GeoError::NotAFeature { index, found: describe_object(&feature) });
    }
    let properties = match feature.get("properties") {
        Some(Value::Object(properties)) => Some(properties),
        _ => None,
    };
    let text_property = |property: &str| -> Result<&str, GeoError> {
        match properties.and_then(|p| p.get(property)) {
            None | Some(Value::Null) => Err(GeoError::MissingProperty { index, property: property.to_owned() }),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(GeoError::PropertyNotString { index, property: property.to_owned(), found: describe(other) }),
        }
    };

    let raw_code = text_property(code_property)?.trim();
    let code = TerritoryCode::parse_reason(raw_code).map_err(|reason| GeoError::InvalidFeatureCode { index, value: raw_code.to_owned(), reason })?;
    let name = collapse_whitespace(text_property(name_property)?);
    if name.is_empty() {
        return Err(GeoError::EmptyName { index, property: name_property.to_owned() });
    }
    let geometry = match feature.remove("geometry") {
        None | Some(Value::Null) => Err(GeometryError::Missing),
        Some(geometry) => multipolygon_from_value(geometry),
    }
    .map_err(|source| GeoError::FeatureGeometry { index, source })?;

    Ok(TerritoryFeature { code, name, geometry })
}

/// Serialises a geometry as a GeoJSON `MultiPolygon` geometry object, e.g. for
/// storage in a TEXT column. [`geometry_from_geojson`] reads it back exactly.
pub fn geometry_to_geojson(g: &MultiPolygon<f64>) -> String {
    // Serialising plain structs of numbers to a string cannot fail.
    serde_json::to_string(&to_geojson_geometry(g)).expect("serialising a GeoJSON geometry to a string cannot fail")
}

/// Parses a GeoJSON `Polygon` or `MultiPolygon` geometry object (a `Feature`
/// wrapping one is accepted too), with the same checks as
/// [`parse_territories`].
pub fn geometry_from_geojson(text: &str) -> Result<MultiPolygon<f64>, GeoError> {
    let value: Value = serde_json::from_str(text).map_err(|e| GeoError::InvalidJson(e.to_string()))?;
    let value = match value {
        Value::Object(mut object) if object.get("type").and_then(Value::as_str) == Some("Feature") => match object.remove("geometry") {
            None | Some(Value::Null) => {
                return Err(GeoError::Geometry(GeometryError::Missing));
            }
            Some(geometry) => geometry,
        },
        other => other,
    };
    multipolygon_from_value(value).map_err(GeoError::Geometry)
}

/// A GeoJSON `FeatureCollection` (as text) for map layers such as Leaflet's
/// `L.geoJSON`: one `MultiPolygon` feature per item, with properties `code`
/// and `name`.
pub fn feature_collection(items: &[(String, String, &MultiPolygon<f64>)]) -> String {
    let features = items.iter().map(|(code, name, geometry)| {
        let mut properties = JsonObject::new();
        properties.insert("code".to_owned(), Value::String(code.clone()));
        properties.insert("name".to_owned(), Value::String(name.clone()));
        Feature { geometry: Some(to_geojson_geometry(geometry)), properties: Some(properties), ..Feature::default() }
    });
    let collection = FeatureCollection { bbox: None, features: features.collect(), foreign_members: None };
    serde_json::to_string(&collection).expect("serialising a GeoJSON feature collection to a string cannot fail")
}

fn to_geojson_geometry(g: &MultiPolygon<f64>) -> Geometry {
    fn ring(ls: &LineString<f64>) -> Vec<Position> {
        ls.coords().map(|c| Position::from([c.x, c.y])).collect()
    }
    let polygons = g.iter().map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()).map(ring).collect::<Vec<_>>());
    Geometry::new(GeometryValue::new_multi_polygon(polygons))
}

/// Reads a GeoJSON geometry object into a `MultiPolygon`, checking rings and
/// coordinate ranges.
fn multipolygon_from_value(value: Value) -> Result<MultiPolygon<f64>, GeometryError> {
    let geometry: Geometry = serde_json::from_value(value).map_err(|e| GeometryError::Malformed(e.to_string()))?;
    let polygons = match geometry.value {
        GeometryValue::Polygon { coordinates } => vec![coordinates],
        GeometryValue::MultiPolygon { coordinates } => coordinates,
        other => return Err(GeometryError::NotAPolygon { found: other.type_name().to_owned() }),
    };
    if polygons.is_empty() {
        return Err(GeometryError::Empty);
    }
    polygons
        .into_iter()
        .enumerate()
        .map(|(polygon_index, rings)| polygon_from_rings(polygon_index, rings))
        .collect::<Result<Vec<_>, _>>()
        .map(MultiPolygon::new)
}

fn polygon_from_rings(polygon: usize, rings: Vec<Vec<Position>>) -> Result<Polygon<f64>, GeometryError> {
    let mut rings = rings.into_iter().enumerate().map(|(ring, positions)| ring_from_positions(polygon, ring, positions));
    let exterior = rings.next().unwrap_or(Err(GeometryError::NoRing { polygon }))?;
    let interiors = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

fn ring_from_positions(polygon: usize, ring: usize, positions: Vec<Position>) -> Result<LineString<f64>, GeometryError> {
    if positions.len() < 4 {
        return Err(GeometryError::TooFewPositions { polygon, ring, count: positions.len() });
    }
    let coords = positions
        .iter()
        .enumerate()
        .map(|(position, p)| {
            let &[lon, lat, ..] = p.as_slice() else {
                return Err(GeometryError::PositionTooShort { polygon, ring, position, count: p.len() });
            };
            if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                return Err(GeometryError::OutOfRange { polygon, ring, position, lon, lat });
            }
            Ok(Coord { x: lon, y: lat })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if coords.first() != coords.last() {
        return Err(GeometryError::RingNotClosed { polygon, ring });
    }
    Ok(LineString::new(coords))
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A short English description of a JSON value, for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(object) => describe_object(object),
    }
}

fn describe_object(object: &serde_json::Map<String, Value>) -> String {
    match object.get("type") {
        Some(Value::String(t)) if t.starts_with(['A', 'E', 'I', 'O', 'U']) => format!("an {t}"),
        Some(Value::String(t)) => format!("a {t}"),
        _ => "an object without a \"type\"".to_owned(),
    }
}
