//! Neighbourhood work: mediations with residents, shopkeepers, caretakers and
//! people met; the contact book of local relays; requests to city and
//! technical services (cleaning, regulation, lighting, equipment, waste,
//! landlords' technical teams) and the dysfunctions the public reports to
//! them; logbooks of teams, sites, cases and facilities with their handover.

crate::codes!(
    /// Who a local relay of the contact book is.
    ContactRole {
        /// A resident.
        Resident = "resident",
        /// A shopkeeper.
        Shopkeeper = "shopkeeper",
        /// A building caretaker.
        Caretaker = "caretaker",
        /// A landlord (social or private).
        Landlord = "landlord",
        /// An elected official.
        Elected = "elected",
        /// Staff of a school.
        SchoolStaff = "school_staff",
        /// Staff of a social landlord.
        SocialHousingStaff = "social_housing_staff",
        /// An association of the neighbourhood.
        Association = "association",
        /// Anyone else.
        Other = "other",
    }
);

crate::codes!(
    /// Who takes part in a mediation, by role.
    PartyRole {
        /// A resident.
        Resident = "resident",
        /// A shopkeeper.
        Shopkeeper = "shopkeeper",
        /// A building caretaker.
        Caretaker = "caretaker",
        /// A landlord.
        Landlord = "landlord",
        /// A person met in the street (a drug user, a person living outside).
        PersonMet = "person_met",
        /// An institution (town hall, police, school, social landlord…).
        Institution = "institution",
        /// An elected official.
        Elected = "elected",
        /// An association.
        Association = "association",
        /// Anyone else.
        Other = "other",
    }
);

impl ContactRole {
    /// The role a contact of this kind takes in a mediation.
    pub fn party_role(self) -> PartyRole {
        match self {
            ContactRole::Resident => PartyRole::Resident,
            ContactRole::Shopkeeper => PartyRole::Shopkeeper,
            ContactRole::Caretaker => PartyRole::Caretaker,
            ContactRole::Landlord => PartyRole::Landlord,
            ContactRole::Elected => PartyRole::Elected,
            ContactRole::SchoolStaff | ContactRole::SocialHousingStaff => PartyRole::Institution,
            ContactRole::Association => PartyRole::Association,
            ContactRole::Other => PartyRole::Other,
        }
    }
}

crate::codes!(
    /// What a mediation is about.
    MediationSubject {
        /// Noise.
        Noise = "noise",
        /// Gatherings in front of a building or a shop.
        Gatherings = "gatherings",
        /// Used drug-use material left in public space.
        UsedMaterial = "used_material",
        /// Conflict between neighbours.
        NeighbourConflict = "neighbour_conflict",
        /// Access to a building (hall, stairs, car park).
        BuildingAccess = "building_access",
        /// Drug use in public space.
        DrugUse = "drug_use",
        /// Waste and cleanliness.
        Waste = "waste",
        /// Incivilities, tensions.
        Incivility = "incivility",
        /// The opening of a new care or shelter facility.
        NewFacility = "new_facility",
        /// Anything else.
        Other = "other",
    }
);

crate::codes!(
    /// What came of a mediation.
    MediationOutcome {
        /// An agreement was found.
        Agreement = "agreement",
        /// The tension calmed down.
        Calmed = "calmed",
        /// Partly settled.
        Partial = "partial",
        /// No agreement.
        NoAgreement = "no_agreement",
        /// Referred to a partner or a service.
        Referred = "referred",
        /// To be followed up.
        ToFollow = "to_follow",
    }
);

crate::codes!(
    /// The kind of work a city or technical service does.
    ServiceCategory {
        /// Cleaning of public space (DPE).
        Cleaning = "cleaning",
        /// Regulation of uses of public space (DPSP, municipal police, police).
        Regulation = "regulation",
        /// Street lighting.
        Lighting = "lighting",
        /// Damaged street furniture or equipment.
        Equipment = "equipment",
        /// Dumped waste and bulky items.
        Waste = "waste",
        /// Technical requests to a landlord (social housing, GUSP).
        LandlordTechnical = "landlord_technical",
    }
);

/// The situation types of signalements that are dysfunctions of public
/// space or buildings, and the kind of service each goes to: recognised at
/// intake, such a report goes to the competent service's queue, not to a
/// social maraude.
pub const DYSFUNCTIONS: [(&str, ServiceCategory); 5] = [
    ("street_lighting", ServiceCategory::Lighting),
    ("dumped_waste", ServiceCategory::Waste),
    ("dirty_public_space", ServiceCategory::Cleaning),
    ("damaged_equipment", ServiceCategory::Equipment),
    ("building_technical", ServiceCategory::LandlordTechnical),
];

/// The service category a situation type calls for, if it is a dysfunction.
pub fn category_of_situation(situation: &str) -> Option<ServiceCategory> {
    DYSFUNCTIONS.iter().find(|(s, _)| *s == situation).map(|(_, c)| *c)
}

/// Whether a report with these situation types calls for a social team: it
/// names at least one situation that is not a dysfunction, or none at all.
pub fn needs_social_team(situations: &[String]) -> bool {
    situations.is_empty() || situations.iter().any(|s| category_of_situation(s).is_none())
}

crate::codes!(
    /// How urgent a request to a service is.
    Urgency {
        /// When the service can.
        Normal = "normal",
        /// Within days.
        Urgent = "urgent",
        /// A danger: today.
        Immediate = "immediate",
    }
);

crate::codes!(
    /// Where a request to a service stands.
    RequestStatus {
        /// Sent, not yet acknowledged.
        Sent = "sent",
        /// The service acknowledged it.
        Acknowledged = "acknowledged",
        /// Done.
        Done = "done",
        /// Refused by the service (with its reason).
        Refused = "refused",
    }
);

impl RequestStatus {
    /// Whether the service has still to answer.
    pub fn open(self) -> bool {
        matches!(self, RequestStatus::Sent | RequestStatus::Acknowledged)
    }
    /// Whether a request may move from this status to `to`.
    pub fn may_become(self, to: RequestStatus) -> bool {
        match self {
            RequestStatus::Sent => to != RequestStatus::Sent,
            RequestStatus::Acknowledged => matches!(to, RequestStatus::Done | RequestStatus::Refused),
            RequestStatus::Done | RequestStatus::Refused => false,
        }
    }
}

crate::codes!(
    /// The kind of record a logbook belongs to.
    BookKind {
        /// A team (its transmissions from one round to the next).
        Team = "team",
        /// A living place.
        Site = "site",
        /// A complex case.
        Case = "case",
        /// A shelter facility.
        Facility = "facility",
    }
);

crate::codes!(
    /// The category of a logbook entry.
    LogCategory {
        /// Information.
        Information = "information",
        /// Handover to the next team: shown first at its check-in.
        Handover = "handover",
        /// An incident.
        Incident = "incident",
        /// A visit or a passage.
        Visit = "visit",
        /// Logistics and technical matters.
        Logistics = "logistics",
        /// Partners.
        Partners = "partners",
        /// The neighbourhood (residents, complaints).
        Neighbourhood = "neighbourhood",
        /// Anything else.
        Other = "other",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_moves_forward_only() {
        use RequestStatus::*;
        assert!(Sent.may_become(Acknowledged));
        assert!(Sent.may_become(Done));
        assert!(Sent.may_become(Refused));
        assert!(Acknowledged.may_become(Done));
        assert!(!Acknowledged.may_become(Sent));
        for to in RequestStatus::ALL {
            assert!(!Done.may_become(*to));
            assert!(!Refused.may_become(*to));
        }
    }

    #[test]
    fn dysfunctions_alone_need_no_social_team() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(!needs_social_team(&s(&["street_lighting"])));
        assert!(!needs_social_team(&s(&["street_lighting", "dumped_waste"])));
        assert!(needs_social_team(&s(&["street_lighting", "camp"])));
        assert!(needs_social_team(&s(&[])));
        for (situation, _) in DYSFUNCTIONS {
            assert!(crate::triage::SITUATIONS.contains(&situation), "{situation} is a situation type of the form");
        }
    }
}
