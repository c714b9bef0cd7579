//! Error messages for malformed input, round trips and map output.

use geo::{polygon, MultiPolygon};
use serde_json::{json, Value};
use veille_geo::{feature_collection, geometry_from_geojson, geometry_to_geojson, parse_territories, GeoError, GeometryError};

/// A small valid square around (lon, lat) as a GeoJSON Polygon geometry.
fn square(lon: f64, lat: f64) -> Value {
    let d = 0.01;
    json!({"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]
    ]]})
}

fn feature(code: Value, name: Value, geometry: Value) -> Value {
    json!({"type": "Feature", "properties": {"code": code, "nom": name}, "geometry": geometry})
}

fn good(i: usize) -> Value {
    feature(json!(format!("7510{i}")), json!(format!("Paris {i}e")), square(2.3 + i as f64 * 0.02, 48.85))
}

/// A FeatureCollection of three good features followed by `bad` (feature 3).
fn with_fourth(bad: Value) -> String {
    json!({"type": "FeatureCollection", "features": [good(1), good(2), good(3), bad]}).to_string()
}

fn polygon_geometry(rings: Value) -> Value {
    json!({"type": "Polygon", "coordinates": rings})
}

#[test]
fn malformed_inputs_give_clear_errors() {
    let closed = json!([[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]);
    let cases: Vec<(&str, String, &str)> = vec![
        ("not JSON", "{\"type\": ".into(), "invalid JSON"),
        ("empty text", "".into(), "invalid JSON"),
        ("array at top level", "[]".into(), "expected a GeoJSON FeatureCollection, found an array"),
        ("a single Feature", good(1).to_string(), "expected a GeoJSON FeatureCollection, found a Feature"),
        ("a bare geometry", square(2.3, 48.8).to_string(), "expected a GeoJSON FeatureCollection, found a Polygon"),
        ("object without type", r#"{"features": []}"#.into(), "expected a GeoJSON FeatureCollection, found an object without a \"type\""),
        ("no features array", r#"{"type": "FeatureCollection"}"#.into(), "the FeatureCollection has no \"features\" array"),
        ("features is not an array", r#"{"type": "FeatureCollection", "features": {}}"#.into(), "the FeatureCollection has no \"features\" array"),
        ("feature is a number", with_fourth(json!(3)), "feature 3 is not a GeoJSON Feature (found a number)"),
        ("feature is a geometry", with_fourth(square(2.3, 48.8)), "feature 3 is not a GeoJSON Feature (found a Polygon)"),
        (
            "missing code",
            with_fourth(json!({"type": "Feature", "properties": {"nom": "X"}, "geometry": square(2.3, 48.8)})),
            "feature 3 has no \"code\" property",
        ),
        ("null properties", with_fourth(json!({"type": "Feature", "properties": null, "geometry": square(2.3, 48.8)})), "feature 3 has no \"code\" property"),
        ("no properties at all", with_fourth(json!({"type": "Feature", "geometry": square(2.3, 48.8)})), "feature 3 has no \"code\" property"),
        (
            "missing name",
            with_fourth(json!({"type": "Feature", "properties": {"code": "75199"}, "geometry": square(2.3, 48.8)})),
            "feature 3 has no \"nom\" property",
        ),
        ("numeric code", with_fourth(feature(json!(75118), json!("X"), square(2.3, 48.8))), "feature 3: property \"code\" must be a string, found a number"),
        (
            "name is an array",
            with_fourth(feature(json!("75199"), json!(["X"]), square(2.3, 48.8))),
            "feature 3: property \"nom\" must be a string, found an array",
        ),
        ("blank name", with_fourth(feature(json!("75199"), json!("  \t "), square(2.3, 48.8))), "feature 3: property \"nom\" is empty"),
        (
            "code with a space",
            with_fourth(feature(json!("75 118"), json!("X"), square(2.3, 48.8))),
            "feature 3: invalid territory code \"75 118\": a code may only contain",
        ),
        ("empty code", with_fourth(feature(json!(""), json!("X"), square(2.3, 48.8))), "feature 3: invalid territory code \"\": a code must not be empty"),
        ("code too long", with_fourth(feature(json!("x".repeat(33)), json!("X"), square(2.3, 48.8))), "a code must be at most 32 characters long"),
        ("null geometry", with_fourth(feature(json!("75199"), json!("X"), Value::Null)), "feature 3: no geometry (missing or null)"),
        (
            "Point geometry",
            with_fourth(feature(json!("75199"), json!("X"), json!({"type": "Point", "coordinates": [2.3, 48.8]}))),
            "feature 3: geometry is a Point, not a Polygon or MultiPolygon",
        ),
        (
            "LineString geometry",
            with_fourth(feature(json!("75199"), json!("X"), json!({"type": "LineString", "coordinates": [[2.3, 48.8], [2.4, 48.9]]}))),
            "feature 3: geometry is a LineString, not a Polygon or MultiPolygon",
        ),
        (
            "unknown geometry type",
            with_fourth(feature(json!("75199"), json!("X"), json!({"type": "Circle", "coordinates": [2.3, 48.8]}))),
            "feature 3: malformed GeoJSON geometry",
        ),
        (
            "coordinates are not numbers",
            with_fourth(feature(json!("75199"), json!("X"), json!({"type": "Polygon", "coordinates": [[["a", "b"]]]}))),
            "feature 3: malformed GeoJSON geometry",
        ),
        (
            "ring not closed",
            with_fourth(feature(json!("75199"), json!("X"), polygon_geometry(json!([[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.9]]])))),
            "feature 3: polygon 0, ring 0 is not closed",
        ),
        (
            "hole not closed",
            with_fourth(feature(json!("75199"), json!("X"), polygon_geometry(json!([closed, [[2.31, 48.81], [2.32, 48.81], [2.32, 48.82], [2.31, 48.82]]])))),
            "feature 3: polygon 0, ring 1 is not closed",
        ),
        (
            "ring too short",
            with_fourth(feature(json!("75199"), json!("X"), polygon_geometry(json!([[[2.3, 48.8], [2.4, 48.8], [2.3, 48.8]]])))),
            "feature 3: polygon 0, ring 0 has 3 positions; a ring needs at least 4",
        ),
        (
            "polygon without ring",
            with_fourth(feature(json!("75199"), json!("X"), json!({"type": "MultiPolygon", "coordinates": [[closed], []]}))),
            "feature 3: polygon 1 has no ring",
        ),
        (
            "empty MultiPolygon",
            with_fourth(feature(json!("75199"), json!("X"), json!({"type": "MultiPolygon", "coordinates": []}))),
            "feature 3: geometry is empty",
        ),
        ("empty Polygon", with_fourth(feature(json!("75199"), json!("X"), json!({"type": "Polygon", "coordinates": []}))), "feature 3: polygon 0 has no ring"),
        (
            "second polygon of a MultiPolygon not closed",
            with_fourth(feature(
                json!("75199"),
                json!("X"),
                json!({"type": "MultiPolygon", "coordinates": [[closed], [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.9]]]]}),
            )),
            "feature 3: polygon 1, ring 0 is not closed",
        ),
        (
            "Lambert-93 coordinates",
            with_fourth(feature(
                json!("75199"),
                json!("X"),
                polygon_geometry(json!([[[652000, 6862000], [653000, 6862000], [653000, 6863000], [652000, 6862000]]])),
            )),
            "feature 3: polygon 0, ring 0, position 0: invalid coordinates [652000, 6862000] out of WGS84 range",
        ),
        (
            "latitude out of range",
            with_fourth(feature(json!("75199"), json!("X"), polygon_geometry(json!([[[2.3, 48.8], [2.4, 95.0], [2.4, 48.9], [2.3, 48.8]]])))),
            "feature 3: polygon 0, ring 0, position 1: invalid coordinates [2.4, 95] out of WGS84 range",
        ),
        (
            "duplicate code",
            with_fourth(feature(json!("75102"), json!("Encore le 2e"), square(2.3, 48.8))),
            "duplicate code \"75102\": features 1 and 3 both use it",
        ),
    ];
    for (label, input, expected) in cases {
        let err = parse_territories(&input, "code", "nom").expect_err(label).to_string();
        assert!(err.contains(expected), "{label}: got {err:?}, expected {expected:?}");
    }
}

#[test]
fn error_values_are_structured() {
    let err = parse_territories(&with_fourth(json!({"type": "Feature", "properties": {}, "geometry": null})), "code", "nom").unwrap_err();
    assert_eq!(err, GeoError::MissingProperty { index: 3, property: "code".into() });
    let err =
        parse_territories(&with_fourth(feature(json!("75199"), json!("X"), json!({"type": "Point", "coordinates": [2.3, 48.8]}))), "code", "nom").unwrap_err();
    assert_eq!(err, GeoError::FeatureGeometry { index: 3, source: GeometryError::NotAPolygon { found: "Point".into() } });
}

#[test]
fn valid_inputs_are_normalised() {
    let text = json!({"type": "FeatureCollection", "features": [
        feature(json!(" 2A004 "), json!("  Ajaccio \n (Corse-du-Sud)  "), square(8.7, 41.9)),
        feature(json!("75118"), json!("Paris 18e  Arrondissement"), json!({
            "type": "MultiPolygon",
            "coordinates": [
                square(2.34, 48.88)["coordinates"],
                // A second part with a hole, and an altitude on each position.
                [
                    [[2.0, 48.0, 35.0], [2.1, 48.0, 35.0], [2.1, 48.1, 35.0], [2.0, 48.1, 35.0], [2.0, 48.0, 35.0]],
                    [[2.02, 48.02], [2.08, 48.02], [2.08, 48.08], [2.02, 48.02]]
                ]
            ]
        })),
    ], "name": "extra members are ignored"})
    .to_string();
    let territories = parse_territories(&text, "code", "nom").unwrap();
    assert_eq!(territories.len(), 2);
    assert_eq!(territories[0].code.as_str(), "2A004");
    assert_eq!(territories[0].name, "Ajaccio (Corse-du-Sud)");
    assert_eq!(territories[0].geometry.0.len(), 1);
    assert_eq!(territories[1].name, "Paris 18e Arrondissement");
    assert_eq!(territories[1].geometry.0.len(), 2);
    assert_eq!(territories[1].geometry.0[1].interiors().len(), 1);

    // Other property names work too.
    let text = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"insee": "93066", "libelle": "Saint-Denis"}, "geometry": square(2.35, 48.93)}
    ]})
    .to_string();
    let territories = parse_territories(&text, "insee", "libelle").unwrap();
    assert_eq!(territories[0].code.to_string(), "93066");
    assert_eq!(parse_territories(&text, "code", "libelle").unwrap_err().to_string(), "feature 0 has no \"code\" property");

    // An empty collection is valid.
    let empty = parse_territories(r#"{"type":"FeatureCollection","features":[]}"#, "code", "nom");
    assert_eq!(empty.unwrap(), vec![]);
}

fn sample_geometry() -> MultiPolygon<f64> {
    MultiPolygon::new(vec![
        polygon!(
            exterior: [(x: 2.30, y: 48.80), (x: 2.40, y: 48.80), (x: 2.40, y: 48.90), (x: 2.30, y: 48.90)],
            interiors: [[(x: 2.32, y: 48.82), (x: 2.34, y: 48.82), (x: 2.34, y: 48.84), (x: 2.32, y: 48.84)]],
        ),
        polygon![
            (x: -1.234_567_890_123, y: 47.1), (x: -1.2, y: 47.1), (x: -1.2, y: 47.123_456_789_012_3)
        ],
    ])
}

#[test]
fn geometry_round_trip() {
    let g = sample_geometry();
    let text = geometry_to_geojson(&g);
    assert!(text.starts_with(r#"{"type":"MultiPolygon","coordinates":"#), "{text}");
    assert_eq!(geometry_from_geojson(&text).unwrap(), g);

    let empty = MultiPolygon::<f64>::new(vec![]);
    assert_eq!(geometry_to_geojson(&empty), r#"{"type":"MultiPolygon","coordinates":[]}"#);
    // An empty geometry cannot be a territory: reading it back is an error.
    assert!(geometry_from_geojson(&geometry_to_geojson(&empty)).is_err());
}

#[test]
fn geometry_from_geojson_accepts_polygons_and_features() {
    let polygon = square(2.3, 48.8).to_string();
    let g = geometry_from_geojson(&polygon).unwrap();
    assert_eq!(g.0.len(), 1);
    let wrapped = json!({"type": "Feature", "properties": {}, "geometry": square(2.3, 48.8)});
    assert_eq!(geometry_from_geojson(&wrapped.to_string()).unwrap(), g);
}

#[test]
fn geometry_from_geojson_errors() {
    let cases = [
        ("nope", "invalid JSON"),
        (r#"{"type":"Point","coordinates":[2.3,48.8]}"#, "invalid geometry: geometry is a Point, not a Polygon or MultiPolygon"),
        (r#"{"type":"Feature","properties":{},"geometry":null}"#, "invalid geometry: no geometry (missing or null)"),
        (r#"{"type":"FeatureCollection","features":[]}"#, "invalid geometry: malformed GeoJSON geometry"),
        ("[]", "invalid geometry: malformed GeoJSON geometry"),
        (r#"{"type":"Polygon","coordinates":[[[2.3,48.8],[2.4,48.8],[2.4,48.9],[2.3,48.9]]]}"#, "invalid geometry: polygon 0, ring 0 is not closed"),
        (
            r#"{"type":"Polygon","coordinates":[[[2.3,48.8],[200,48.8],[2.4,48.9],[2.3,48.8]]]}"#,
            "invalid geometry: polygon 0, ring 0, position 1: invalid coordinates [200, 48.8] out of WGS84 range",
        ),
    ];
    for (input, expected) in cases {
        let err = geometry_from_geojson(input).unwrap_err().to_string();
        assert!(err.contains(expected), "{input}: got {err:?}, expected {expected:?}");
    }
}

#[test]
fn feature_collection_for_maps_reads_back() {
    let g = sample_geometry();
    let h = MultiPolygon::new(vec![polygon![
        (x: 2.5, y: 48.5), (x: 2.6, y: 48.5), (x: 2.6, y: 48.6)
    ]]);
    let text =
        feature_collection(&[("75118".to_owned(), "Paris 18e Arrondissement".to_owned(), &g), ("93066".to_owned(), "Saint-Denis \"ville\"".to_owned(), &h)]);
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["type"], "FeatureCollection");
    assert_eq!(value["features"][0]["type"], "Feature");
    assert_eq!(value["features"][0]["properties"]["code"], "75118");
    assert_eq!(value["features"][1]["properties"]["name"], "Saint-Denis \"ville\"");
    assert_eq!(value["features"][1]["geometry"]["type"], "MultiPolygon");

    let back = parse_territories(&text, "code", "name").unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[0].geometry, g);
    assert_eq!(back[1].geometry, h);
    assert_eq!(back[1].name, "Saint-Denis \"ville\"");

    assert_eq!(feature_collection(&[]), r#"{"type":"FeatureCollection","features":[]}"#);
}
