//! Opening hours in the OpenStreetMap `opening_hours` syntax that
//! data·inclusion carries (`horaires_accueil`, e.g. `Mo-Fr 09:00-12:30; PH off`),
//! parsed and evaluated by the `opening-hours` crate in Europe/Paris with the
//! French public holidays, at the instant the app clock gives.

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Europe::Paris;
use chrono_tz::Tz;
use opening_hours::localization::{Country, TzLocation};
use opening_hours::{Context, OpeningHours, RuleKind};
use veille_domain::Timestamp;

/// Parsed opening hours, evaluated in Europe/Paris.
#[derive(Clone, Debug)]
pub struct Hours(OpeningHours<TzLocation<Tz>>);

/// Whether a place is open at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Open; closes at that instant (none: no end in the coming two weeks).
    Open(Option<Timestamp>),
    /// Closed; opens next at that instant (none: not in the coming two weeks).
    Closed(Option<Timestamp>),
    /// The hours say it is unknown (`unknown`, or a comment like "sur rendez-vous").
    Unknown,
}

/// How far ahead "next opening" looks.
const HORIZON_DAYS: i64 = 14;

fn paris(t: Timestamp) -> chrono::DateTime<Tz> {
    t.to_datetime().with_timezone(&Paris)
}

fn stamp(dt: &chrono::DateTime<Tz>) -> Timestamp {
    Timestamp::from_datetime(dt.with_timezone(&chrono::Utc))
}

impl Hours {
    /// Parses OSM opening hours; `None` when empty or not understood.
    pub fn parse(text: &str) -> Option<Hours> {
        let text = text.trim();
        if text.is_empty() || text.len() > 2000 {
            return None;
        }
        let oh: OpeningHours = text.parse().ok()?;
        let ctx = Context::default().with_holidays(Country::FR.holidays()).with_locale(TzLocation::new(Paris));
        Some(Hours(oh.with_context(ctx)))
    }

    /// The state at `at`, with when it changes.
    pub fn state(&self, at: Timestamp) -> State {
        let now = paris(at);
        let horizon = now + Duration::days(HORIZON_DAYS);
        let mut ranges = self.0.iter_range(now, horizon);
        let Some(first) = ranges.next() else { return State::Unknown };
        match first.kind {
            RuleKind::Open => {
                let end = (first.range.end < horizon).then(|| stamp(&first.range.end));
                State::Open(end)
            }
            RuleKind::Closed => State::Closed(ranges.find(|r| r.kind == RuleKind::Open).map(|r| stamp(&r.range.start))),
            RuleKind::Unknown => State::Unknown,
        }
    }

    /// Whether it is open at `at`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        matches!(self.state(at), State::Open(_))
    }

    /// The open intervals of each of the `days` days from the day of `from`
    /// (Paris dates), for a weekly table.
    pub fn days(&self, from: Timestamp, days: u32) -> Vec<(NaiveDate, Vec<(NaiveTime, NaiveTime)>)> {
        let first = paris(from).date_naive();
        (0..days)
            .filter_map(|i| first.checked_add_days(chrono::Days::new(u64::from(i))))
            .map(|date| {
                let start = Paris.from_local_datetime(&date.and_time(NaiveTime::MIN)).earliest();
                let end = date.succ_opt().and_then(|d| Paris.from_local_datetime(&d.and_time(NaiveTime::MIN)).earliest());
                let slots = match (start, end) {
                    (Some(s), Some(e)) => {
                        self.0.iter_range(s, e).filter(|r| r.kind == RuleKind::Open).map(|r| (r.range.start.time(), r.range.end.time())).collect()
                    }
                    _ => Vec::new(),
                };
                (date, slots)
            })
            .collect()
    }
}

/// Whether opening hours are understood (empty counts as understood: none given).
pub fn understood(text: &str) -> bool {
    text.trim().is_empty() || Hours::parse(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> Timestamp {
        Timestamp::from_datetime(Paris.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&chrono::Utc))
    }

    #[test]
    fn weekday_hours_in_paris_time_winter_and_summer() {
        let h = Hours::parse("Mo-Fr 09:00-12:30,14:00-17:00; PH off").unwrap();
        // Wednesday 14 January 2026, 10:00 in Paris (09:00 UTC).
        assert_eq!(h.state(at(2026, 1, 14, 10, 0)), State::Open(Some(at(2026, 1, 14, 12, 30))));
        assert_eq!(h.state(at(2026, 1, 14, 13, 0)), State::Closed(Some(at(2026, 1, 14, 14, 0))));
        // Saturday: next opening Monday 09:00.
        assert_eq!(h.state(at(2026, 1, 17, 10, 0)), State::Closed(Some(at(2026, 1, 19, 9, 0))));
        // Summer time: 09:30 in Paris is 07:30 UTC and open.
        assert!(h.is_open(at(2026, 7, 15, 9, 30)));
        assert!(!h.is_open(at(2026, 7, 15, 8, 30)));
    }

    #[test]
    fn french_public_holidays_are_closed() {
        let h = Hours::parse("Mo-Fr 09:00-17:00; PH off").unwrap();
        // Tuesday 14 July 2026 (national day) is a holiday; Wednesday 15 is not.
        assert!(!h.is_open(at(2026, 7, 14, 10, 0)));
        assert!(h.is_open(at(2026, 7, 15, 10, 0)));
    }

    #[test]
    fn night_shelter_hours_cross_midnight() {
        let h = Hours::parse("Mo-Su 19:00-08:00").unwrap();
        assert!(h.is_open(at(2026, 3, 10, 23, 30)));
        assert!(h.is_open(at(2026, 3, 11, 2, 0)));
        assert!(!h.is_open(at(2026, 3, 11, 12, 0)));
        assert!(Hours::parse("24/7").unwrap().is_open(at(2026, 3, 11, 12, 0)));
    }

    #[test]
    fn junk_is_not_understood_and_unknown_is_unknown() {
        assert!(Hours::parse("ouvert le matin").is_none());
        assert!(Hours::parse("").is_none());
        assert!(understood(""));
        assert!(!understood("n'importe quoi"));
        let h = Hours::parse("Mo-Fr unknown \"sur rendez-vous\"").unwrap();
        assert_eq!(h.state(at(2026, 1, 14, 10, 0)), State::Unknown);
    }

    #[test]
    fn a_week_table_lists_open_slots_per_day() {
        let h = Hours::parse("Mo-Fr 09:00-12:30; Sa 10:00-12:00").unwrap();
        let week = h.days(at(2026, 1, 12, 8, 0), 7);
        assert_eq!(week.len(), 7);
        assert_eq!(week[0].0, NaiveDate::from_ymd_opt(2026, 1, 12).unwrap());
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(week[0].1, vec![(t(9, 0), t(12, 30))]);
        assert_eq!(week[5].1, vec![(t(10, 0), t(12, 0))]);
        assert!(week[6].1.is_empty());
    }
}

/// The common forms of OSM opening hours in words, for people who do not read
/// `Mo-Fr 08:30-16:30; PH off`: "du lundi au vendredi de 8 h 30 à 16 h 30 ;
/// fermé les jours fériés". Rules of weekdays (ranges and lists), `PH`, time
/// ranges, `off`/`closed` and `24/7` are understood; anything else (months,
/// weeks, comments…) gives `None` and the page shows the hours as written.
pub fn describe(text: &str, lang: crate::Lang) -> Option<String> {
    let fr = lang == crate::Lang::Fr;
    let mut parts = Vec::new();
    for rule in text.split(';').map(str::trim).filter(|r| !r.is_empty()) {
        parts.push(describe_rule(rule, fr)?);
    }
    if parts.is_empty() {
        return None;
    }
    let mut out = parts.join(" ; ");
    if !fr {
        out = parts.join("; ");
    }
    let mut chars = out.chars();
    Some(chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default())
}

const DAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
const DAYS_FR: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
const DAYS_EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn describe_rule(rule: &str, fr: bool) -> Option<String> {
    if rule == "24/7" {
        return Some(if fr { "tous les jours, 24 h sur 24".into() } else { "every day, 24 hours a day".into() });
    }
    let (days, rest) = match rule.split_once(' ') {
        Some((d, r)) if looks_like_days(d) => (Some(d), r.trim()),
        _ if looks_like_days(rule) => (Some(rule), ""),
        _ => (None, rule),
    };
    let days_text = match days {
        Some(d) => days_words(d, fr)?,
        None => (if fr { "tous les jours" } else { "every day" }).to_owned(),
    };
    let closed = matches!(rest, "off" | "closed");
    if closed {
        return Some(if fr { format!("fermé {days_text}") } else { format!("closed {days_text}") });
    }
    if rest.is_empty() {
        return Some(if fr { format!("{days_text}, toute la journée") } else { format!("{days_text}, all day") });
    }
    let mut ranges = Vec::new();
    for range in rest.split(',').map(str::trim) {
        let (a, b) = range.split_once('-')?;
        let (a, b) = (time_words(a, fr)?, time_words(b, fr)?);
        ranges.push(if fr { format!("de {a} à {b}") } else { format!("{a}–{b}") });
    }
    let times = if fr { join(&ranges, " et ") } else { join(&ranges, " and ") };
    Some(format!("{days_text} {times}"))
}

fn looks_like_days(s: &str) -> bool {
    !s.is_empty() && s.split([',', '-']).all(|d| d == "PH" || DAYS.contains(&d))
}

/// "du lundi au vendredi", "lundi, mercredi et vendredi", "les jours fériés".
fn days_words(selector: &str, fr: bool) -> Option<String> {
    let names = if fr { &DAYS_FR } else { &DAYS_EN };
    let mut items = Vec::new();
    for part in selector.split(',') {
        if part == "PH" {
            items.push((if fr { "les jours fériés" } else { "on public holidays" }).to_owned());
        } else if let Some((a, b)) = part.split_once('-') {
            let (i, j) = (DAYS.iter().position(|d| *d == a)?, DAYS.iter().position(|d| *d == b)?);
            items.push(if fr { format!("du {} au {}", names[i], names[j]) } else { format!("{} to {}", names[i], names[j]) });
        } else {
            let i = DAYS.iter().position(|d| *d == part)?;
            items.push(if fr { format!("le {}", names[i]) } else { names[i].to_owned() });
        }
    }
    Some(if fr { join(&items, " et ") } else { join(&items, " and ") })
}

/// "8 h 30" / "08:30" (24:00 is midnight).
fn time_words(t: &str, fr: bool) -> Option<String> {
    let (h, m) = t.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 24 || m > 59 || h == 24 && m > 0 {
        return None;
    }
    Some(match (fr, m) {
        (true, 0) => format!("{h} h"),
        (true, _) => format!("{h} h {m:02}"),
        (false, _) => format!("{h:02}:{m:02}"),
    })
}

fn join(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{}{last}{tail}", init.join(", ")),
    }
}

#[cfg(test)]
mod describe_tests {
    use super::describe;
    use crate::Lang;

    #[test]
    fn the_common_osm_forms_read_as_sentences_in_french_and_english() {
        let fr = |s| describe(s, Lang::Fr);
        let en = |s| describe(s, Lang::En);
        assert_eq!(fr("Mo-Fr 08:30-16:30; PH off").as_deref(), Some("Du lundi au vendredi de 8 h 30 à 16 h 30 ; fermé les jours fériés"));
        assert_eq!(en("Mo-Fr 08:30-16:30; PH off").as_deref(), Some("Monday to Friday 08:30–16:30; closed on public holidays"));
        assert_eq!(fr("Mo,We,Fr 09:00-12:00,14:00-17:00").as_deref(), Some("Le lundi, le mercredi et le vendredi de 9 h à 12 h et de 14 h à 17 h"));
        assert_eq!(en("Mo,We,Fr 09:00-12:00,14:00-17:00").as_deref(), Some("Monday, Wednesday and Friday 09:00–12:00 and 14:00–17:00"));
        assert_eq!(fr("Mo-Sa 19:00-24:00; Su off").as_deref(), Some("Du lundi au samedi de 19 h à 24 h ; fermé le dimanche"));
        assert_eq!(fr("24/7").as_deref(), Some("Tous les jours, 24 h sur 24"));
        assert_eq!(fr("10:00-18:00").as_deref(), Some("Tous les jours de 10 h à 18 h"));
        assert_eq!(en("Tu-Th,Sa 10:00-12:00").as_deref(), Some("Tuesday to Thursday and Saturday 10:00–12:00"));
    }

    #[test]
    fn forms_it_does_not_know_are_left_as_written() {
        for s in ["", "Jan-Mar Mo 10:00-12:00", "Mo-Fr 8h-12h", "sur rendez-vous", "Mo-Fr 25:00-26:00", "week 1-5 Mo 10:00-11:00", "Xx 10:00-12:00"] {
            assert_eq!(describe(s, Lang::Fr), None, "{s}");
        }
    }
}
