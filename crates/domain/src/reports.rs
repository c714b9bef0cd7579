//! Signalements: their vocabularies (sources, channels, statuses, outcomes),
//! the deadlines each level must meet, and the routing table's rule — the
//! most specific rule wins — that names the team in charge.

use crate::{TeamId, TerritoryId};

pub use crate::triage::{FLAGS, SITUATIONS};

crate::codes!(
    /// Who reported (`public` is the public form; the others are typed by staff
    /// at partner intake or given through Open311).
    Source {
        /// Anyone, through the public form.
        Public = "public",
        /// A resident.
        Riverain = "riverain",
        /// A shopkeeper.
        Commercant = "commercant",
        /// A caretaker or a social landlord.
        GardienBailleur = "gardien_bailleur",
        /// A town hall of an arrondissement.
        MairieArrondissement = "mairie_arrondissement",
        /// An elected official's office.
        Cabinet = "cabinet",
        /// The 115 (Samu social).
        SamuSocial115 = "samu_social_115",
        /// An association.
        Association = "association",
        /// The police.
        Police = "police",
        /// An elected official.
        Elu = "elu",
        /// Anyone else.
        Autre = "autre",
    }
);

crate::codes!(
    /// How a report came in.
    Channel {
        /// The public web form.
        Web = "web",
        /// By phone.
        Phone = "phone",
        /// By e-mail.
        Email = "email",
        /// By letter.
        Letter = "letter",
        /// At a meeting.
        Meeting = "meeting",
        /// Through the Open311 API.
        Open311 = "open311",
    }
);

/// Channels staff choose from at partner intake.
pub const STAFF_CHANNELS: [Channel; 4] = [Channel::Phone, Channel::Email, Channel::Letter, Channel::Meeting];

crate::codes!(
    /// Where a report is, in the order of the work.
    Status {
        /// Received, not yet looked at.
        Received = "received",
        /// Qualified by a coordinator.
        Qualified = "qualified",
        /// Assigned to a team.
        Assigned = "assigned",
        /// A team is on it.
        InProgress = "in_progress",
        /// The reporter was answered.
        Answered = "answered",
        /// Closed, with an outcome.
        Closed = "closed",
    }
);

impl Status {
    /// Whether the report is still open.
    pub fn is_open(self) -> bool {
        self != Status::Closed
    }
    /// Whether reaching this status answers the report.
    pub fn answers(self) -> bool {
        matches!(self, Status::Answered | Status::Closed)
    }
}

crate::codes!(
    /// What came of a closed report.
    Outcome {
        /// People were met.
        MetPeople = "met_people",
        /// Nobody was found.
        NobodyFound = "nobody_found",
        /// People were oriented to partners.
        Oriented = "oriented",
        /// Help was refused.
        RefusedHelp = "refused_help",
        /// The same situation as another report.
        Duplicate = "duplicate",
        /// Not for veille sociale.
        OutOfScope = "out_of_scope",
    }
);

/// Deadlines per level: a report must be acknowledged (a person acted on it)
/// and answered (a public answer, or the status answered or closed) within
/// these durations of its receipt. Index 0 is level 1, index 1 level 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// Acknowledgement, seconds after receipt, by level.
    pub acknowledge_secs: [i64; 2],
    /// Answer, seconds after receipt, by level.
    pub answer_secs: [i64; 2],
}

impl Default for Deadlines {
    fn default() -> Self {
        Self { acknowledge_secs: [72 * 3600, 24 * 3600], answer_secs: [10 * 86_400, 5 * 86_400] }
    }
}

impl Deadlines {
    fn index(level: i64) -> usize {
        usize::from(level == 2)
    }
    /// Seconds to acknowledge a report of this level.
    pub fn acknowledge(&self, level: i64) -> i64 {
        self.acknowledge_secs[Self::index(level)]
    }
    /// Seconds to answer a report of this level.
    pub fn answer(&self, level: i64) -> i64 {
        self.answer_secs[Self::index(level)]
    }
}

/// A routing rule: reports in `territory` (any if none) with the situation
/// type `situation` (any if none) of `level` (any if none) go to `team`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RoutingRule {
    /// Id.
    pub id: crate::RoutingRuleId,
    /// Territory (none: any).
    pub territory: Option<TerritoryId>,
    /// Situation type (none: any).
    pub situation: Option<String>,
    /// Level (none: any).
    pub level: Option<i64>,
    /// Team.
    pub team: TeamId,
}

/// Chooses the team for a report: the most specific rule wins — territory
/// first, then situation type, then level (a rule naming the territory beats
/// one for any territory, and so on). Among equally specific rules for two of
/// the report's situations, the situation first in [`SITUATIONS`] wins, then
/// the older rule. `None`: no rule matches.
pub fn route(rules: &[RoutingRule], territory: Option<TerritoryId>, situations: &[String], level: i64) -> Option<TeamId> {
    let rank = |s: &Option<String>| s.as_deref().and_then(|s| SITUATIONS.iter().position(|x| *x == s)).unwrap_or(usize::MAX);
    rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.territory.is_none() || (territory.is_some() && r.territory == territory))
        .filter(|(_, r)| r.situation.as_ref().is_none_or(|s| situations.contains(s)))
        .filter(|(_, r)| r.level.is_none() || r.level == Some(level))
        .min_by_key(|(i, r)| (r.territory.is_none(), r.situation.is_none(), r.level.is_none(), rank(&r.situation), *i))
        .map(|(_, r)| r.team)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_routing_rule_wins() {
        let (t1, t2) = (TerritoryId::new(), TerritoryId::new());
        let (any, by_level, by_territory, exact, camp_t1, minors_any) =
            (TeamId::new(), TeamId::new(), TeamId::new(), TeamId::new(), TeamId::new(), TeamId::new());
        let rule = |territory, situation: Option<&str>, level, team| RoutingRule {
            id: crate::RoutingRuleId::new(),
            territory,
            situation: situation.map(Into::into),
            level,
            team,
        };
        let rules = vec![
            rule(None, None, None, any),
            rule(None, None, Some(2), by_level),
            rule(Some(t1), None, None, by_territory),
            rule(Some(t1), None, Some(2), exact),
            rule(Some(t1), Some("camp"), None, camp_t1),
            rule(None, Some("minors"), None, minors_any),
        ];
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases = [
            (Some(t1), s(&[]), 2, Some(exact)),
            (Some(t1), s(&[]), 1, Some(by_territory)),
            (Some(t2), s(&[]), 2, Some(by_level)),
            (Some(t2), s(&[]), 1, Some(any)),
            (None, s(&[]), 2, Some(by_level)),
            // The territory comes before the type, the type before the level.
            (Some(t1), s(&["camp"]), 2, Some(camp_t1)),
            (Some(t1), s(&["minors"]), 2, Some(exact)),
            (Some(t2), s(&["minors", "camp"]), 1, Some(minors_any)),
            (Some(t2), s(&["camp"]), 1, Some(any)),
        ];
        for (territory, situations, level, want) in cases {
            assert_eq!(route(&rules, territory, &situations, level), want, "{territory:?} {situations:?} {level}");
        }
        assert_eq!(route(&rules[2..3], Some(t2), &[], 1), None);
        assert_eq!(route(&[], Some(t1), &[], 1), None);
        // Two type rules of the same territory: the type first in the list wins.
        let both = vec![rule(Some(t1), Some("drug_use"), None, any), rule(Some(t1), Some("family_with_children"), None, exact)];
        assert_eq!(route(&both, Some(t1), &s(&["drug_use", "family_with_children"]), 1), Some(exact));
    }
}
