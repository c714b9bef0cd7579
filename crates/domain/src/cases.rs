//! Complex cases (situations complexes): where they come from, the domains
//! of their evaluations, and how they end.

crate::codes!(
    /// Where a case was opened from.
    CaseOrigin {
        /// A level-2 signalement.
        Report = "report",
        /// A living place (a case about several people of a site).
        Site = "site",
        /// A person's file.
        Person = "person",
        /// Opened directly.
        Direct = "direct",
    }
);

crate::codes!(
    /// A domain of evaluation.
    EvaluationDomain {
        /// Health (the health field group).
        Health = "health",
        /// Housing and shelter.
        Housing = "housing",
        /// Rights and papers.
        Rights = "rights",
        /// Income.
        Income = "income",
        /// Family.
        Family = "family",
        /// Safety.
        Safety = "safety",
    }
);

impl EvaluationDomain {
    /// The field group an evaluation of this domain belongs to.
    pub fn field_group(self) -> Option<crate::FieldGroup> {
        (self == EvaluationDomain::Health).then_some(crate::FieldGroup::Health)
    }
}

crate::codes!(
    /// How a case ended.
    CaseOutcome {
        /// Sheltered.
        Sheltered = "sheltered",
        /// Housed.
        Housed = "housed",
        /// Returned to family.
        ReturnedToFamily = "returned_to_family",
        /// Hospitalised.
        Hospitalised = "hospitalised",
        /// Left the territory.
        LeftTerritory = "left_territory",
        /// Contact lost.
        LostContact = "lost_contact",
        /// Deceased.
        Deceased = "deceased",
        /// No longer complex: followed as usual.
        Resolved = "resolved",
    }
);

crate::codes!(
    /// A kind of meeting or collective session.
    MeetingKind {
        /// Cellule de veille (district).
        Cellule = "cellule",
        /// Commission cas complexes (central).
        Commission = "commission",
        /// Partner meeting.
        Partners = "partners",
        /// Public meeting.
        Public = "public",
        /// Residents' meeting.
        Residents = "residents",
        /// Health-promotion session.
        HealthSession = "health_session",
        /// Working group.
        WorkingGroup = "working_group",
        /// Training.
        Training = "training",
    }
);

impl MeetingKind {
    /// Whether its agenda reviews cases (only attendees in scope see their details).
    pub fn reviews_cases(self) -> bool {
        matches!(self, MeetingKind::Cellule | MeetingKind::Commission)
    }
    /// Whether it counts its participants by public, anonymously.
    pub fn collective(self) -> bool {
        matches!(self, MeetingKind::Public | MeetingKind::Residents | MeetingKind::HealthSession | MeetingKind::WorkingGroup | MeetingKind::Training)
    }
}

crate::codes!(
    /// Who came to a collective session (counted, never named).
    SessionPublic {
        /// Drug users.
        DrugUsers = "drug_users",
        /// People living on the street.
        StreetPeople = "street_people",
        /// Residents.
        Residents = "residents",
        /// Shopkeepers.
        Shopkeepers = "shopkeepers",
        /// Professionals.
        Professionals = "professionals",
        /// Volunteers.
        Volunteers = "volunteers",
        /// Others.
        Others = "others",
    }
);

crate::codes!(
    /// A kind of critical situation.
    EscalationKind {
        /// A person in danger.
        PersonInDanger = "person_in_danger",
        /// An incident on a round.
        RoundIncident = "round_incident",
        /// A threat to a team.
        TeamThreat = "team_threat",
        /// Another critical situation.
        Other = "other",
    }
);
