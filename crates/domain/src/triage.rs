//! Triage of signalements: rules as data. Each rule names a condition on what
//! was seen and a reason. Level 1 is the ordinary case, handled by the local
//! team; level 2 is the complex case handled by the social emergency mission
//! (minors, pregnant women, families with children, a camp of more than 3
//! tents, people on municipal land, great vulnerability, repeated reports at
//! the same place). A report is level 1 unless a matching rule gives level 2
//! (the highest level among the matching rules wins). The rules are read from
//! a TOML text by the web crate (`triage_rules.toml`, versioned) and handed
//! here; this module only evaluates them.

use serde::{Deserialize, Serialize};

/// What is seen, as a fixed list of situation types (one or several per
/// report). The order is the routing priority when a report has several.
/// The last five are dysfunctions of public space or buildings, which go to
/// the competent city or technical service
/// ([`crate::neighbourhood::DYSFUNCTIONS`]).
pub const SITUATIONS: [&str; 12] = [
    "minors",
    "family_with_children",
    "person_in_distress",
    "camp",
    "squat",
    "drug_use",
    "nuisance",
    "street_lighting",
    "dumped_waste",
    "dirty_public_space",
    "damaged_equipment",
    "building_technical",
];

/// Aggravating flags that may come with any situation.
pub const FLAGS: [&str; 3] = ["pregnant_woman", "great_vulnerability", "municipal_land"];

/// What the report says was seen, as the rules need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Situation types (codes of [`SITUATIONS`]).
    pub situations: Vec<String>,
    /// Aggravating flags ticked (codes of [`FLAGS`]).
    pub flags: Vec<String>,
    /// Adults seen.
    pub adults: u32,
    /// Children seen.
    pub children: u32,
    /// Tents seen.
    pub tents: u32,
    /// Earlier reports at the same place within the repeat window (this one excluded).
    pub earlier_reports_nearby: u32,
}

/// A condition of a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// A situation type was reported.
    Situation {
        /// Its code.
        situation: String,
    },
    /// An aggravating flag was ticked.
    Flag {
        /// Its code.
        flag: String,
    },
    /// Children were counted (any number above zero).
    ChildrenCounted,
    /// More than `more_than` tents.
    Tents {
        /// Threshold (exclusive).
        more_than: u32,
    },
    /// At least `at_least` reports at the same place (this one included) within the window.
    Repeated {
        /// Threshold (inclusive).
        at_least: u32,
    },
}

impl Condition {
    fn holds(&self, o: &Observation) -> bool {
        match self {
            Condition::Situation { situation } => o.situations.iter().any(|s| s == situation),
            Condition::Flag { flag } => o.flags.iter().any(|f| f == flag),
            Condition::ChildrenCounted => o.children > 0,
            Condition::Tents { more_than } => o.tents > *more_than,
            Condition::Repeated { at_least } => o.earlier_reports_nearby + 1 >= *at_least,
        }
    }
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Stable code, recorded with the report as its reason.
    pub id: String,
    /// When it applies.
    pub condition: Condition,
    /// Level it gives (1 ordinary, 2 complex).
    pub level: u8,
    /// Message key of the reason shown to staff.
    pub reason: String,
}

/// Where "the same place" and "recently" are, for repeated reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepeatWindow {
    /// Distance in metres.
    pub radius_m: f64,
    /// Days back.
    pub days: i64,
}

/// A versioned set of rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Version, recorded in the audit entry of each triage.
    pub version: u32,
    /// Repeat window.
    pub repeat: RepeatWindow,
    /// The rules, in order.
    pub rules: Vec<Rule>,
}

/// The result of triage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Triage {
    /// 1 ordinary (local team), 2 complex (social emergency mission).
    pub level: u8,
    /// Codes of the rules that matched, in rule order.
    pub reasons: Vec<String>,
}

/// A problem with a rule set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A level other than 1 or 2.
    #[error("rule {0}: level must be 1 or 2")]
    Level(String),
    /// Two rules share an id.
    #[error("rule {0}: id used twice")]
    Duplicate(String),
    /// A condition names a situation or flag that does not exist.
    #[error("rule {0}: unknown situation or flag")]
    Unknown(String),
}

impl RuleSet {
    /// Checks levels and ids.
    pub fn validate(&self) -> Result<(), RuleError> {
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.rules {
            if !(1..=2).contains(&r.level) {
                return Err(RuleError::Level(r.id.clone()));
            }
            if !seen.insert(r.id.as_str()) {
                return Err(RuleError::Duplicate(r.id.clone()));
            }
            let known = match &r.condition {
                Condition::Situation { situation } => SITUATIONS.contains(&situation.as_str()),
                Condition::Flag { flag } => FLAGS.contains(&flag.as_str()),
                _ => true,
            };
            if !known {
                return Err(RuleError::Unknown(r.id.clone()));
            }
        }
        Ok(())
    }

    /// Evaluates the rules on an observation.
    pub fn triage(&self, o: &Observation) -> Triage {
        let matched: Vec<&Rule> = self.rules.iter().filter(|r| r.condition.holds(o)).collect();
        Triage { level: matched.iter().map(|r| r.level).max().unwrap_or(1), reasons: matched.iter().map(|r| r.id.clone()).collect() }
    }

    /// How many earlier reports nearby the rules tell apart: past this
    /// count every observation gets the same triage, so a count of them may
    /// stop there (0 when no rule looks at repeats: nothing to count).
    pub fn earlier_reports_that_matter(&self) -> u32 {
        self.rules
            .iter()
            .filter_map(|r| match r.condition {
                Condition::Repeated { at_least } => Some(at_least.saturating_sub(1)),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// The message key of a reason code.
    pub fn reason_key(&self, code: &str) -> Option<&str> {
        self.rules.iter().find(|r| r.id == code).map(|r| r.reason.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, condition: Condition, level: u8) -> Rule {
        Rule { id: id.into(), condition, level, reason: format!("report.reason.{id}") }
    }

    #[test]
    fn earlier_reports_are_counted_up_to_the_highest_repeat_threshold() {
        let mut rules = set();
        assert_eq!(rules.earlier_reports_that_matter(), 2);
        // Past that count the triage no longer changes.
        let at = |n| rules_at(&set(), n);
        assert_eq!(at(2), at(3));
        assert_eq!(at(2), at(40));
        assert_ne!(at(1), at(2));
        rules.rules.push(rule("crowded", Condition::Repeated { at_least: 6 }, 2));
        assert_eq!(rules.earlier_reports_that_matter(), 5);
        rules.rules.retain(|r| !matches!(r.condition, Condition::Repeated { .. }));
        assert_eq!(rules.earlier_reports_that_matter(), 0);
    }

    fn rules_at(rules: &RuleSet, earlier: u32) -> Triage {
        rules.triage(&Observation { earlier_reports_nearby: earlier, ..Default::default() })
    }

    fn set() -> RuleSet {
        RuleSet {
            version: 1,
            repeat: RepeatWindow { radius_m: 150.0, days: 30 },
            rules: vec![
                rule("minors", Condition::Situation { situation: "minors".into() }, 2),
                rule("children", Condition::ChildrenCounted, 2),
                rule("tents", Condition::Tents { more_than: 3 }, 2),
                rule("repeated", Condition::Repeated { at_least: 3 }, 2),
                rule("nuisance", Condition::Situation { situation: "nuisance".into() }, 1),
                rule("pregnant_woman", Condition::Flag { flag: "pregnant_woman".into() }, 2),
            ],
        }
    }

    #[test]
    fn each_condition_and_the_default() {
        let s = set();
        let cases: Vec<(Observation, u8, Vec<&str>)> = vec![
            (Observation::default(), 1, vec![]),
            (Observation { situations: vec!["minors".into()], ..Default::default() }, 2, vec!["minors"]),
            (Observation { flags: vec!["minors".into()], ..Default::default() }, 1, vec![]),
            (Observation { flags: vec!["pregnant_woman".into()], ..Default::default() }, 2, vec!["pregnant_woman"]),
            (Observation { children: 1, ..Default::default() }, 2, vec!["children"]),
            (Observation { tents: 3, ..Default::default() }, 1, vec![]),
            (Observation { tents: 4, ..Default::default() }, 2, vec!["tents"]),
            (Observation { earlier_reports_nearby: 1, ..Default::default() }, 1, vec![]),
            (Observation { earlier_reports_nearby: 2, ..Default::default() }, 2, vec!["repeated"]),
            (Observation { situations: vec!["nuisance".into()], ..Default::default() }, 1, vec!["nuisance"]),
            (Observation { situations: vec!["nuisance".into(), "minors".into()], tents: 9, ..Default::default() }, 2, vec!["minors", "tents", "nuisance"]),
        ];
        for (o, level, reasons) in cases {
            let t = s.triage(&o);
            assert_eq!((t.level, t.reasons.iter().map(String::as_str).collect::<Vec<_>>()), (level, reasons), "{o:?}");
        }
    }

    #[test]
    fn validation_refuses_bad_levels_and_duplicate_ids() {
        let mut s = set();
        assert_eq!(s.validate(), Ok(()));
        s.rules.push(rule("minors", Condition::ChildrenCounted, 1));
        assert_eq!(s.validate(), Err(RuleError::Duplicate("minors".into())));
        s.rules.pop();
        s.rules.push(rule("x", Condition::ChildrenCounted, 3));
        assert_eq!(s.validate(), Err(RuleError::Level("x".into())));
        s.rules.pop();
        s.rules.push(rule("y", Condition::Situation { situation: "pregnant_woman".into() }, 2));
        assert_eq!(s.validate(), Err(RuleError::Unknown("y".into())));
    }
}
