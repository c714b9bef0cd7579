//! Tests on the real territory files in `shared/data/geo/`.

use std::collections::HashSet;
use std::sync::OnceLock;

use geo::{ChamberlainDuquetteArea, Intersects, MultiPolygon, Point};
use proptest::prelude::*;
use veille_geo::{bbox, geometry_from_geojson, geometry_to_geojson, parse_territories, LonLat, TerritoryCode, TerritoryFeature, TerritoryIndex};

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/geo/");

const FILES: [(&str, usize); 4] = [
    ("paris-arrondissements.geojson", 20),
    ("communes-92-hauts-de-seine.geojson", 36),
    ("communes-93-seine-saint-denis.geojson", 40),
    ("communes-94-val-de-marne.geojson", 47),
];

fn read(file: &str) -> String {
    let path = format!("{DATA_DIR}{file}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// All territories of the four files, parsed once.
fn all() -> &'static [TerritoryFeature] {
    static ALL: OnceLock<Vec<TerritoryFeature>> = OnceLock::new();
    ALL.get_or_init(|| FILES.iter().flat_map(|(file, _)| parse_territories(&read(file), "code", "nom").unwrap_or_else(|e| panic!("{file}: {e}"))).collect())
}

fn index() -> &'static TerritoryIndex<TerritoryCode> {
    static INDEX: OnceLock<TerritoryIndex<TerritoryCode>> = OnceLock::new();
    INDEX.get_or_init(|| TerritoryIndex::new(all().iter().map(|t| (t.code.clone(), t.geometry.clone()))))
}

fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).unwrap()
}

#[test]
fn all_four_files_parse_with_unique_codes() {
    for (file, expected) in FILES {
        let territories = parse_territories(&read(file), "code", "nom").unwrap();
        assert_eq!(territories.len(), expected, "{file}");
    }
    let all = all();
    assert_eq!(all.len(), 143);
    let codes: HashSet<&str> = all.iter().map(|t| t.code.as_str()).collect();
    assert_eq!(codes.len(), 143, "codes are unique across the four files");
    for t in all {
        assert_eq!(t.code.as_str().len(), 5, "{}", t.code);
        assert!(!t.name.contains("  "), "{:?}", t.name);
        assert_eq!(t.name.trim(), t.name);
        assert!(!t.geometry.0.is_empty());
        let [min_lon, min_lat, max_lon, max_lat] = bbox(&t.geometry).unwrap();
        assert!(2.0 < min_lon && max_lon < 2.7, "{}: {min_lon}..{max_lon}", t.code);
        assert!(48.6 < min_lat && max_lat < 49.1, "{}: {min_lat}..{max_lat}", t.code);
    }
}

#[test]
fn names_are_whitespace_collapsed() {
    let t18 = all().iter().find(|t| t.code.as_str() == "75118").unwrap();
    assert_eq!(t18.name, "Paris 18e Arrondissement");
    let st_denis = all().iter().find(|t| t.code.as_str() == "93066").unwrap();
    assert_eq!(st_denis.name, "Saint-Denis");
    let creteil = all().iter().find(|t| t.code.as_str() == "94028").unwrap();
    assert_eq!(creteil.name, "Créteil");
}

#[test]
fn known_points_locate_to_their_territory() {
    // Points checked against the polygons of the files (at least ~70 m from
    // any border of these simplified shapes).
    let cases = [
        ("Rue Marx Dormoy, 18e", 2.3600, 48.8880, "75118"),
        ("Louvre, 1er", 2.3376, 48.8606, "75101"),
        ("Notre-Dame, 4e", 2.3499, 48.8530, "75104"),
        ("Bois de Boulogne, 16e", 2.2500, 48.8620, "75116"),
        ("Bois de Vincennes, 12e", 2.4330, 48.8330, "75112"),
        ("Saint-Denis", 2.3580, 48.9362, "93066"),
        ("Bobigny", 2.4400, 48.9080, "93008"),
        ("Montreuil", 2.4430, 48.8620, "93048"),
        ("Nanterre", 2.2070, 48.8920, "92050"),
        ("Créteil", 2.4550, 48.7900, "94028"),
        ("Vitry-sur-Seine", 2.3920, 48.7870, "94081"),
    ];
    for (label, lon, lat, expected) in cases {
        let found = index().locate(ll(lon, lat)).map(TerritoryCode::as_str);
        assert_eq!(found, Some(expected), "{label}");
        let all: Vec<&str> = index().locate_all(ll(lon, lat)).into_iter().map(TerritoryCode::as_str).collect();
        assert_eq!(all, vec![expected], "{label}");
    }
}

#[test]
fn points_outside_every_territory_locate_to_none() {
    for (label, lon, lat) in
        [("Atlantic", -20.0, 45.0), ("Lyon", 4.8357, 45.7640), ("Versailles", 2.1301, 48.8049), ("antimeridian", 180.0, 0.0), ("south pole", 0.0, -90.0)]
    {
        assert_eq!(index().locate(ll(lon, lat)), None, "{label}");
        assert!(index().locate_all(ll(lon, lat)).is_empty(), "{label}");
    }
    assert_eq!(index().len(), 143);
    assert!(!index().is_empty());
}

#[test]
fn real_geometries_round_trip_through_text() {
    for t in all() {
        let text = geometry_to_geojson(&t.geometry);
        assert!(text.starts_with(r#"{"type":"MultiPolygon","coordinates":[[[["#), "{text}");
        let back = geometry_from_geojson(&text).unwrap();
        assert_eq!(back, t.geometry, "{}", t.code);
    }
}

/// The brute-force answer: every territory containing the point (boundary
/// included), smallest area first, then file order.
fn brute_force(point: Point<f64>) -> Vec<&'static str> {
    let mut hits: Vec<(f64, usize, &'static str)> = all()
        .iter()
        .enumerate()
        .filter(|(_, t)| t.geometry.intersects(&point))
        .map(|(i, t)| (t.geometry.chamberlain_duquette_unsigned_area(), i, t.code.as_str()))
        .collect();
    hits.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    hits.into_iter().map(|(_, _, code)| code).collect()
}

fn paris_bbox() -> [f64; 4] {
    let paris: Vec<_> = all().iter().filter(|t| t.code.as_str().starts_with("75")).flat_map(|t| t.geometry.0.iter().cloned()).collect();
    bbox(&MultiPolygon::new(paris)).unwrap()
}

#[test]
fn brute_force_sanity() {
    assert_eq!(brute_force(Point::new(2.3600, 48.8880)), vec!["75118"]);
    assert!(brute_force(Point::new(-20.0, 45.0)).is_empty());
    let [min_lon, min_lat, max_lon, max_lat] = paris_bbox();
    assert!(2.22 < min_lon && min_lon < 2.23 && 2.46 < max_lon && max_lon < 2.48);
    assert!(48.81 < min_lat && min_lat < 48.82 && 48.90 < max_lat && max_lat < 48.91);
}

proptest! {
    #[test]
    fn locate_agrees_with_brute_force_in_paris_bbox(fx in 0.0f64..=1.0, fy in 0.0f64..=1.0) {
        let [min_lon, min_lat, max_lon, max_lat] = paris_bbox();
        let lon = min_lon + fx * (max_lon - min_lon);
        let lat = min_lat + fy * (max_lat - min_lat);
        let expected = brute_force(Point::new(lon, lat));
        let point = ll(lon, lat);
        let all: Vec<&str> = index().locate_all(point).into_iter().map(TerritoryCode::as_str).collect();
        prop_assert_eq!(&all, &expected);
        prop_assert_eq!(index().locate(point).map(TerritoryCode::as_str), expected.first().copied());
    }

    #[test]
    fn locate_agrees_with_brute_force_on_vertices(i in 0usize..143, j in any::<prop::sample::Index>()) {
        // Vertices lie on borders, the hard case for point-in-polygon.
        let t = &all()[i];
        let ring = t.geometry.0[0].exterior();
        let c = ring.0[j.index(ring.0.len())];
        let expected = brute_force(Point::from(c));
        prop_assert!(expected.contains(&t.code.as_str()));
        let point = ll(c.x, c.y);
        let all: Vec<&str> = index().locate_all(point).into_iter().map(TerritoryCode::as_str).collect();
        prop_assert_eq!(&all, &expected);
        prop_assert_eq!(index().locate(point).map(TerritoryCode::as_str), expected.first().copied());
    }
}
