//! Points, distances and bounding boxes.

use geo::{BoundingRect, Distance, Haversine, MultiPolygon, Point};
use serde::{Deserialize, Serialize};

use crate::GeoError;

/// A WGS84 position, longitude first (as in GeoJSON).
///
/// Build it with [`LonLat::new`], which checks that both numbers are finite
/// and in range; deserialising performs the same checks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawLonLat")]
pub struct LonLat {
    /// Longitude in degrees, -180..=180.
    pub lon: f64,
    /// Latitude in degrees, -90..=90.
    pub lat: f64,
}

/// Unchecked mirror of [`LonLat`] used for deserialisation.
#[derive(Deserialize)]
struct RawLonLat {
    lon: f64,
    lat: f64,
}

impl TryFrom<RawLonLat> for LonLat {
    type Error = GeoError;

    fn try_from(raw: RawLonLat) -> Result<Self, GeoError> {
        LonLat::new(raw.lon, raw.lat)
    }
}

impl LonLat {
    /// Checks that `lon` is in -180..=180 and `lat` in -90..=90, both finite.
    pub fn new(lon: f64, lat: f64) -> Result<LonLat, GeoError> {
        let reason = if !lon.is_finite() || !lat.is_finite() {
            Some("longitude and latitude must be finite numbers")
        } else if !(-180.0..=180.0).contains(&lon) {
            Some("longitude must be between -180 and 180")
        } else if !(-90.0..=90.0).contains(&lat) {
            Some("latitude must be between -90 and 90")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(GeoError::InvalidLonLat { lon, lat, reason }),
            None => Ok(LonLat { lon, lat }),
        }
    }

    pub(crate) fn point(self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }
}

/// Great-circle (haversine) distance between two points, in metres, on a
/// sphere of the Earth's mean radius (6 371 008.8 m).
pub fn distance_m(a: LonLat, b: LonLat) -> f64 {
    Haversine.distance(a.point(), b.point())
}

/// The bounding box `[min_lon, min_lat, max_lon, max_lat]` of a geometry, or
/// `None` when it is empty.
pub fn bbox(g: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    g.bounding_rect().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat).unwrap()
    }

    #[test]
    fn new_checks_ranges_and_finiteness() {
        assert!(LonLat::new(2.35, 48.85).is_ok());
        assert!(LonLat::new(-180.0, -90.0).is_ok());
        assert!(LonLat::new(180.0, 90.0).is_ok());
        let cases = [
            (f64::NAN, 48.0, "finite"),
            (2.0, f64::INFINITY, "finite"),
            (180.5, 48.0, "longitude must be between -180 and 180"),
            (-181.0, 48.0, "longitude must be between -180 and 180"),
            (2.0, 90.1, "latitude must be between -90 and 90"),
            // Lambert-93 metres given by mistake.
            (652_000.0, 6_862_000.0, "longitude must be between"),
        ];
        for (lon, lat, expected) in cases {
            let msg = LonLat::new(lon, lat).unwrap_err().to_string();
            assert!(msg.starts_with("invalid coordinates"), "{msg}");
            assert!(msg.contains(expected), "({lon}, {lat}): {msg}");
        }
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let p = ll(2.3376, 48.8606);
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"lon":2.3376,"lat":48.8606}"#);
        assert_eq!(serde_json::from_str::<LonLat>(&text).unwrap(), p);
        let err = serde_json::from_str::<LonLat>(r#"{"lon":2.0,"lat":100.0}"#).unwrap_err();
        assert!(err.to_string().contains("latitude"), "{err}");
    }

    #[test]
    fn one_degree_of_latitude_is_about_111_2_km() {
        let d = distance_m(ll(2.35, 48.0), ll(2.35, 49.0));
        assert!((d - 111_195.0).abs() < 10.0, "{d}");
        let d = distance_m(ll(0.0, 0.0), ll(1.0, 0.0));
        assert!((d - 111_195.0).abs() < 10.0, "{d}");
    }

    #[test]
    fn known_distances() {
        assert_eq!(distance_m(ll(2.35, 48.85), ll(2.35, 48.85)), 0.0);
        // Louvre → Gare du Nord: about 2.4 km.
        let d = distance_m(ll(2.3376, 48.8606), ll(2.3553, 48.8809));
        assert!((2_400.0..2_800.0).contains(&d), "{d}");
        // Paris → Marseille: about 660 km.
        let d = distance_m(ll(2.3522, 48.8566), ll(5.3698, 43.2965));
        assert!((655_000.0..665_000.0).contains(&d), "{d}");
        // Symmetric.
        let a = ll(2.1, 48.7);
        let b = ll(2.6, 49.0);
        assert!((distance_m(a, b) - distance_m(b, a)).abs() < 1e-6);
    }

    #[test]
    fn bbox_of_empty_and_square() {
        assert_eq!(bbox(&MultiPolygon::new(vec![])), None);
        use geo::polygon;
        let square = polygon![
            (x: 2.0, y: 48.0), (x: 3.0, y: 48.0), (x: 3.0, y: 49.5), (x: 2.0, y: 49.5)
        ];
        assert_eq!(bbox(&MultiPolygon::new(vec![square])), Some([2.0, 48.0, 3.0, 49.5]));
    }
}
