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
    /// The value of an `<input type="datetime-local">` in Europe/Paris: `2026-11-23T14:05`.
    pub fn to_paris_input(self) -> String {
        self.to_datetime().with_timezone(&Paris).format("%Y-%m-%dT%H:%M").to_string()
    }
    /// Reads a Paris wall-clock time (`2026-11-23T14:05`, seconds optional) or
    /// an RFC 3339 instant with its offset. A wall-clock time that does not
    /// exist (spring forward) is refused; one that happens twice (fall back)
    /// is the earlier.
    pub fn parse_paris(text: &str) -> Option<Timestamp> {
        let text = text.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
            return Some(Self::from_datetime(dt.with_timezone(&Utc)));
        }
        let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"].iter().find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())?;
        Paris.from_local_datetime(&local).earliest().map(|dt| Self::from_datetime(dt.with_timezone(&Utc)))
    }
    /// The calendar day in Europe/Paris.
    pub fn paris_date(self) -> chrono::NaiveDate {
        self.to_datetime().with_timezone(&Paris).date_naive()
    }
    /// The reporting day of night teams: it runs from noon to noon in Paris,
    /// so a round from 20:00 to 02:00 counts for the day it started.
    pub fn reporting_day(self) -> chrono::NaiveDate {
        self.plus_seconds(-12 * 3600).paris_date()
    }
    /// The instant a Paris wall-clock time of `date` happens (`minutes` after midnight).
    pub fn at_paris(date: chrono::NaiveDate, minutes: i64) -> Option<Timestamp> {
        let midnight = date.and_hms_opt(0, 0, 0)?;
        let local = midnight.checked_add_signed(chrono::Duration::minutes(minutes))?;
        Paris.from_local_datetime(&local).earliest().map(|dt| Self::from_datetime(dt.with_timezone(&Utc)))
    }
    /// The Paris day of the week (0 = Monday … 6 = Sunday) and minute of the day of this instant.
    pub fn paris_weekday_minute(self) -> (u8, u16) {
        use chrono::{Datelike, Timelike};
        let local = self.to_datetime().with_timezone(&Paris);
        let weekday = u8::try_from(local.weekday().num_days_from_monday()).unwrap_or(0);
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        (weekday, minute)
    }
    /// Monday of the Paris week of this instant.
    pub fn paris_monday(self) -> chrono::NaiveDate {
        use chrono::Datelike;
        let d = self.paris_date();
        d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()))
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
    fn paris_wall_clock_times_and_the_noon_to_noon_reporting_day() {
        let t = Timestamp::parse_paris("2026-01-15T13:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-15T12:00:00Z");
        assert_eq!(t.to_paris_input(), "2026-01-15T13:00");
        assert_eq!(Timestamp::parse_paris("2026-07-15T14:00:00+02:00").unwrap().to_rfc3339(), "2026-07-15T12:00:00Z");
        // 29 March 2026, 02:30 does not exist in Paris.
        assert_eq!(Timestamp::parse_paris("2026-03-29T02:30"), None);
        assert_eq!(Timestamp::parse_paris("demain"), None);
        // A night round that starts at 23:00 and one at 01:00 the next night belong to the same reporting day.
        let evening = Timestamp::parse_paris("2026-01-15T23:00").unwrap();
        let night = Timestamp::parse_paris("2026-01-16T01:00").unwrap();
        let noon = Timestamp::parse_paris("2026-01-16T12:30").unwrap();
        assert_eq!(evening.reporting_day(), night.reporting_day());
        assert_eq!(evening.reporting_day().to_string(), "2026-01-15");
        assert_eq!(noon.reporting_day().to_string(), "2026-01-16");
        assert_eq!(night.paris_monday().to_string(), "2026-01-12");
        let d = chrono::NaiveDate::from_ymd_opt(2026, 7, 15).unwrap();
        assert_eq!(Timestamp::at_paris(d, 14 * 60).unwrap().to_rfc3339(), "2026-07-15T12:00:00Z");
    }

    #[test]
    fn arithmetic_in_seconds() {
        let t = Timestamp::from_micros(1_000_000);
        assert_eq!(t.plus_seconds(60).as_micros(), 61_000_000);
        assert_eq!(t.seconds_until(t.plus_seconds(90)), 90);
    }
}
