//! When an entry of an organisation's on-call list (astreinte) is on call:
//! a day of the week or every day, and a time range in Paris time or the
//! whole day; a range that ends before it starts runs past midnight, so
//! "Friday 19:00–08:00" covers Friday evening and Saturday morning.

/// When an on-call entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OnCallSlot {
    /// Day of the week it starts (0 = Monday … 6 = Sunday); none: every day.
    pub weekday: Option<u8>,
    /// Minutes from midnight it starts and ends; none: the whole day.
    pub range: Option<(u16, u16)>,
}

/// Minutes in a day.
pub const DAY_MINUTES: u16 = 24 * 60;

impl OnCallSlot {
    /// Whether the entry is on call on `weekday` (0 = Monday) at `minute` after midnight, Paris time.
    pub fn covers(&self, weekday: u8, minute: u16) -> bool {
        let day = |d: u8| self.weekday.is_none_or(|w| w == d);
        match self.range {
            None => day(weekday),
            Some((from, to)) if from < to => day(weekday) && from <= minute && minute < to,
            // Past midnight: the evening of its day, and the morning after.
            Some((from, to)) => (day(weekday) && minute >= from) || (day((weekday + 6) % 7) && minute < to),
        }
    }

    /// `HH:MM` of minutes after midnight.
    pub fn clock(minutes: u16) -> String {
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    }

    /// Reads `HH:MM` (or `H:MM`) into minutes after midnight.
    pub fn parse_clock(text: &str) -> Option<u16> {
        let (h, m) = text.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 && m.to_string().len() <= 2).then_some(h * 60 + m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRI: u8 = 4;
    const SAT: u8 = 5;

    #[test]
    fn an_entry_without_day_nor_range_is_always_on_call() {
        let always = OnCallSlot { weekday: None, range: None };
        assert!((0..7).all(|d| always.covers(d, 0) && always.covers(d, DAY_MINUTES - 1)));
    }

    #[test]
    fn a_day_covers_that_day_only() {
        let friday = OnCallSlot { weekday: Some(FRI), range: None };
        assert!(friday.covers(FRI, 0) && friday.covers(FRI, 1439));
        assert!(!friday.covers(SAT, 0) && !friday.covers(3, 1439));
    }

    #[test]
    fn a_range_in_the_day_includes_its_start_and_not_its_end() {
        let office = OnCallSlot { weekday: None, range: Some((9 * 60, 17 * 60)) };
        assert!(office.covers(2, 9 * 60) && office.covers(2, 17 * 60 - 1));
        assert!(!office.covers(2, 17 * 60) && !office.covers(2, 8 * 60 + 59));
    }

    #[test]
    fn a_night_range_runs_into_the_next_morning() {
        let night = OnCallSlot { weekday: Some(FRI), range: Some((19 * 60, 8 * 60)) };
        assert!(night.covers(FRI, 19 * 60) && night.covers(FRI, 23 * 60 + 59));
        assert!(night.covers(SAT, 0) && night.covers(SAT, 7 * 60 + 59));
        assert!(!night.covers(SAT, 8 * 60) && !night.covers(FRI, 7 * 60) && !night.covers(SAT, 20 * 60));
        let sunday_night = OnCallSlot { weekday: Some(6), range: Some((22 * 60, 6 * 60)) };
        assert!(sunday_night.covers(0, 5 * 60), "Sunday night runs into Monday");
        let every_night = OnCallSlot { weekday: None, range: Some((20 * 60, 8 * 60)) };
        assert!((0..7).all(|d| every_night.covers(d, 2 * 60) && every_night.covers(d, 21 * 60) && !every_night.covers(d, 12 * 60)));
    }

    #[test]
    fn clock_times_read_and_show() {
        assert_eq!(OnCallSlot::parse_clock("19:00"), Some(1140));
        assert_eq!(OnCallSlot::parse_clock(" 8:05 "), Some(485));
        assert_eq!(OnCallSlot::parse_clock("24:00"), None);
        assert_eq!(OnCallSlot::parse_clock("12:60"), None);
        assert_eq!(OnCallSlot::parse_clock("midi"), None);
        assert_eq!(OnCallSlot::clock(485), "08:05");
    }
}
