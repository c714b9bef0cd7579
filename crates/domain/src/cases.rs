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
