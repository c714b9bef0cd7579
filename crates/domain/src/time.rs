//! Instants are stored in UTC (microseconds since the Unix epoch) and shown in Europe/Paris.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

/// An instant in UTC, with microsecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From microseconds since the Unix epoch.
    pub fn from_micros(micros: i64) -> Self {
        Self(micros)
    }
    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> i64 {
        self.0
    }
    /// From a chrono UTC instant.
    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self(dt.timestamp_micros())
    }
    /// As a chrono UTC instant.
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.0).single().unwrap_or_default()
    }
    /// This instant plus a number of seconds (negative to go back).
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }
    /// Whole seconds from `self` to `later`.
    pub fn seconds_until(self, later: Timestamp) -> i64 {
        (later.0 - self.0) / 1_000_000
    }
    /// ISO 8601 / RFC 3339 text in UTC with its zone, for APIs.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
    /// ISO 8601 text in Europe/Paris with its offset.
    pub fn to_paris_rfc3339(self) -> String {
        self.to_datetime().with_timezone(&Paris).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    }
    /// Day and time as people in Paris read it: `23/11/2026 14:05`.
    pub fn to_paris_display(self) -> String {
        self.to_datetime().with_timezone(&Paris).format("%d/%m/%Y %H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_paris_time_in_winter_and_summer() {
        // 2026-01-15 12:00 UTC is 13:00 in Paris (CET), 2026-07-15 12:00 UTC is 14:00 (CEST).
        let winter = Timestamp::from_datetime(Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap());
        let summer = Timestamp::from_datetime(Utc.with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap());
        assert_eq!(winter.to_paris_display(), "15/01/2026 13:00");
        assert_eq!(summer.to_paris_display(), "15/07/2026 14:00");
        assert_eq!(summer.to_rfc3339(), "2026-07-15T12:00:00Z");
        assert_eq!(summer.to_paris_rfc3339(), "2026-07-15T14:00:00+02:00");
    }

    #[test]
    fn arithmetic_in_seconds() {
        let t = Timestamp::from_micros(1_000_000);
        assert_eq!(t.plus_seconds(60).as_micros(), 61_000_000);
        assert_eq!(t.seconds_until(t.plus_seconds(90)), 90);
    }
}
