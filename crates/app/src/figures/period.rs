//! The periods figures are counted over, in Europe/Paris (decision 83): a
//! calendar month, quarter or year, or chosen days; each with the period
//! before it (the month, quarter or year before; as many days before).

use chrono::{Datelike, Months, NaiveDate};
use schemars::JsonSchema;
use serde::Serialize;
use veille_domain::Timestamp;

/// A kind of period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A calendar month.
    Month,
    /// A calendar quarter.
    Quarter,
    /// A calendar year.
    Year,
    /// Chosen days.
    Custom,
}

impl Kind {
    /// Parses the code (`month`, `quarter`, `year`, `custom`).
    pub fn from_code(code: &str) -> Option<Kind> {
        match code {
            "month" => Some(Kind::Month),
            "quarter" => Some(Kind::Quarter),
            "year" => Some(Kind::Year),
            "custom" => Some(Kind::Custom),
            _ => None,
        }
    }
    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Month => "month",
            Kind::Quarter => "quarter",
            Kind::Year => "year",
            Kind::Custom => "custom",
        }
    }
}

/// Days of Europe/Paris, `first` to `last` included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Period {
    /// Its kind.
    pub kind: Kind,
    /// First day.
    #[schemars(with = "String")]
    pub first: NaiveDate,
    /// Last day (included).
    #[schemars(with = "String")]
    pub last: NaiveDate,
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn quarter_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).unwrap_or(d)
}

impl Period {
    fn months(kind: Kind, first: NaiveDate, n: u32) -> Period {
        let last = first.checked_add_months(Months::new(n)).and_then(|d| d.pred_opt()).unwrap_or(first);
        Period { kind, first, last }
    }

    /// The month containing `d`.
    pub fn month_of(d: NaiveDate) -> Period {
        Self::months(Kind::Month, month_start(d), 1)
    }
    /// The quarter containing `d`.
    pub fn quarter_of(d: NaiveDate) -> Period {
        Self::months(Kind::Quarter, quarter_start(d), 3)
    }
    /// The year containing `d`.
    pub fn year_of(d: NaiveDate) -> Period {
        Self::months(Kind::Year, NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d), 12)
    }

    /// The default: the month before the one of `today`.
    pub fn last_month(today: NaiveDate) -> Period {
        Self::month_of(month_start(today).pred_opt().unwrap_or(today))
    }

    /// The period of a kind before the one holding `today`.
    pub fn last_of(kind: Kind, today: NaiveDate) -> Period {
        match kind {
            Kind::Month | Kind::Custom => Self::last_month(today),
            Kind::Quarter => Self::quarter_of(quarter_start(today).pred_opt().unwrap_or(today)),
            Kind::Year => Self::year_of(NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).unwrap_or(today)),
        }
    }

    /// Parses the `at` of a kind: `2026-11`, `2026-T4` / `2026-Q4`, `2026`.
    pub fn parse(kind: Kind, at: &str) -> Option<Period> {
        let at = at.trim();
        match kind {
            Kind::Month => NaiveDate::parse_from_str(&format!("{at}-01"), "%Y-%m-%d").ok().map(Self::month_of),
            Kind::Quarter => {
                let (y, q) = at.split_once(['-', ' '])?;
                let q: u32 = q.trim_start_matches(['Q', 'T', 'q', 't']).parse().ok()?;
                let y: i32 = y.parse().ok()?;
                (1..=4).contains(&q).then(|| NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1)).flatten().map(Self::quarter_of)
            }
            Kind::Year => at.parse::<i32>().ok().and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1)).map(Self::year_of),
            Kind::Custom => None,
        }
    }

    /// Chosen days (`first` ≤ `last`).
    pub fn custom(first: NaiveDate, last: NaiveDate) -> Period {
        Period { kind: Kind::Custom, first, last }
    }

    /// Days in the period.
    pub fn days(&self) -> i64 {
        (self.last - self.first).num_days() + 1
    }

    /// The period before: the month, quarter or year before; as many days before.
    pub fn previous(&self) -> Period {
        match self.kind {
            Kind::Month => Self::month_of(self.first.pred_opt().unwrap_or(self.first)),
            Kind::Quarter => Self::quarter_of(self.first.pred_opt().unwrap_or(self.first)),
            Kind::Year => Self::year_of(self.first.pred_opt().unwrap_or(self.first)),
            Kind::Custom => {
                let last = self.first.pred_opt().unwrap_or(self.first);
                let first = last - chrono::Duration::days(self.days() - 1);
                Period::custom(first, last)
            }
        }
    }

    /// The `at` value naming it (empty for chosen days).
    pub fn at(&self) -> String {
        match self.kind {
            Kind::Month => self.first.format("%Y-%m").to_string(),
            Kind::Quarter => format!("{}-T{}", self.first.year(), self.first.month0() / 3 + 1),
            Kind::Year => self.first.year().to_string(),
            Kind::Custom => String::new(),
        }
    }

    /// Its name for people: `2026-11`, `2026-T4`, `2026`, `2026-11-03 – 2026-11-20`.
    pub fn label(&self) -> String {
        match self.kind {
            Kind::Custom => format!("{} – {}", self.first, self.last),
            _ => self.at(),
        }
    }

    /// The first instant (midnight in Paris of the first day).
    pub fn start(&self) -> Timestamp {
        Timestamp::at_paris(self.first, 0).unwrap_or_else(|| Timestamp::from_micros(0))
    }
    /// The instant after (midnight in Paris after the last day).
    pub fn end(&self) -> Timestamp {
        Timestamp::at_paris(self.last.succ_opt().unwrap_or(self.last), 0).unwrap_or_else(|| Timestamp::from_micros(0))
    }

    /// The twelve months ending with the period's last month: their first
    /// days and the day after the last (13 bounds).
    pub fn trend_months(&self) -> Vec<NaiveDate> {
        let end = month_start(self.last).checked_add_months(Months::new(1)).unwrap_or(self.last);
        (0..=12).rev().filter_map(|i| end.checked_sub_months(Months::new(i))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn periods_and_the_ones_before() {
        let m = Period::last_month(d(2026, 1, 15));
        assert_eq!((m.first, m.last), (d(2025, 12, 1), d(2025, 12, 31)));
        assert_eq!(m.previous().first, d(2025, 11, 1));
        let q = Period::parse(Kind::Quarter, "2026-T1").unwrap();
        assert_eq!((q.first, q.last), (d(2026, 1, 1), d(2026, 3, 31)));
        assert_eq!((q.previous().first, q.previous().last), (d(2025, 10, 1), d(2025, 12, 31)));
        assert_eq!(Period::parse(Kind::Quarter, "2026-Q4").unwrap().at(), "2026-T4");
        let y = Period::parse(Kind::Year, "2025").unwrap();
        assert_eq!((y.previous().first, y.previous().last), (d(2024, 1, 1), d(2024, 12, 31)));
        let c = Period::custom(d(2026, 3, 10), d(2026, 3, 19));
        assert_eq!((c.previous().first, c.previous().last), (d(2026, 2, 28), d(2026, 3, 9)));
        assert_eq!(Period::last_of(Kind::Quarter, d(2026, 5, 2)).at(), "2026-T1");
        assert!(Period::parse(Kind::Month, "2026-13").is_none());
        // Paris midnight: 23:00 UTC in winter.
        assert_eq!(Period::month_of(d(2026, 1, 1)).start().to_rfc3339(), "2025-12-31T23:00:00Z");
        let months = Period::month_of(d(2026, 11, 5)).trend_months();
        assert_eq!((months.len(), months[0], months[12]), (13, d(2025, 12, 1), d(2026, 12, 1)));
    }
}
