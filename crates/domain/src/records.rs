//! The kinds of records veille keeps, as the timeline and the audit log name
//! them, and how a change came in.

crate::codes!(
    /// A kind of record with a timeline.
    RecordKind {
        /// A signalement.
        Report = "report",
        /// A referral (orientation) to a partner.
        Referral = "referral",
        /// A living place.
        Site = "site",
        /// A person file.
        Person = "person",
        /// A round of a team.
        Round = "round",
        /// A booking and stay in a facility.
        Stay = "stay",
        /// A shelter facility (its capacity changes).
        Facility = "facility",
        /// An operation on a site.
        Operation = "operation",
        /// A Housing First dwelling (its journal).
        Dwelling = "dwelling",
        /// A complex case.
        Case = "case",
        /// A follow-up action (of a case's plan, or of a dwelling).
        Action = "action",
        /// A mediation.
        Mediation = "mediation",
        /// A request to a city or technical service.
        ServiceRequest = "service_request",
    }
);

crate::codes!(
    /// How a change came in.
    Via {
        /// A staff account (a page, the API, the command line).
        Staff = "staff",
        /// A partner without an account, through an expiring link.
        Link = "link",
        /// The public (a reporter on the follow-up page).
        Public = "public",
        /// The instance itself (routing at intake, expiry, alerts).
        System = "system",
    }
);
