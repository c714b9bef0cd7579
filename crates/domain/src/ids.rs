//! Typed, time-ordered identifiers (UUID v7), one type per entity.

/// Declares a typed identifier backed by a time-ordered UUID.
macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new identifier, ordered by creation time.
            pub fn new() -> Self { Self(uuid::Uuid::now_v7()) }
            /// The underlying UUID.
            pub fn as_uuid(&self) -> uuid::Uuid { self.0 }
            /// Wraps an existing UUID (read from storage).
            pub fn from_uuid(id: uuid::Uuid) -> Self { Self(id) }
        }

        impl Default for $name {
            fn default() -> Self { Self::new() }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }

        impl std::str::FromStr for $name {
            type Err = crate::ids::InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self).map_err(|_| crate::ids::InvalidId)
            }
        }

        crate::bind_as_text!($name);
    )+};
}

/// A text that is not a valid identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid identifier")]
pub struct InvalidId;

typed_id!(
    /// An organisation (city service, association, health team, partner service).
    OrganisationId,
    /// A staff account.
    UserId,
    /// A team inside an organisation.
    TeamId,
    /// A territory polygon (arrondissement, commune, sector).
    TerritoryId,
    /// A complex case (used by later work for case membership).
    CaseId,
    /// A server-side session.
    SessionId,
    /// A personal API token.
    ApiTokenId,
    /// An invitation to join an organisation.
    InvitationId,
    /// An e-mail waiting in the outbox.
    OutboxId,
    /// A signalement.
    ReportId,
    /// A rule of the routing table of signalements.
    RoutingRuleId,
    /// A living place (camp, squat, scene…).
    SiteId,
    /// A dated observation of a site.
    ObservationId,
    /// A slot of the shared weekly schedule of maraudes.
    ScheduleSlotId,
    /// A circuit: ordered stops of a maraude.
    CircuitId,
    /// A round (tournée) of a team.
    RoundId,
    /// An item of an organisation's distribution catalogue.
    ItemId,
    /// A person followed (pseudonym first).
    PersonId,
    /// A household.
    HouseholdId,
    /// An encounter in the field.
    EncounterId,
    /// A referral (orientation) to a partner service.
    ReferralId,
    /// A structure of the partner directory.
    StructureId,
    /// A service of a structure of the partner directory.
    ServiceId,
    /// A shelter facility (hotel, sas, shelter site, village, flats).
    FacilityId,
    /// A booking and stay in a facility.
    StayId,
    /// A request for shelter on the waiting list.
    ShelterRequestId,
    /// An operation on a site (sheltering, evacuation, cleaning).
    OperationId,
    /// A line of an operation's prior social diagnosis.
    DiagnosisId,
    /// A landlord of Housing First dwellings.
    LandlordId,
    /// A Housing First dwelling.
    DwellingId,
    /// A tenancy of a dwelling.
    TenancyId,
    /// A scheduled dwelling check.
    DwellingCheckId,
    /// A follow-up action.
    ActionId,
    /// A meeting or collective session.
    MeetingId,
    /// An item of a meeting's agenda.
    MeetingItemId,
    /// A critical situation raised to named people.
    EscalationId,
    /// A local relay of the contact book (resident, shopkeeper, caretaker…).
    ContactId,
    /// A mediation with residents, shopkeepers, caretakers or people met.
    MediationId,
    /// A city or technical service requests are sent to.
    CityServiceId,
    /// A request to a city or technical service.
    ServiceRequestId,
    /// An entry of a logbook (team, site, case or facility).
    LogEntryId,
    /// An entry of an organisation's on-call list (astreinte).
    OnCallId,
    /// A phone or browser registered for offline work (made on the device).
    DeviceId,
    /// An operation recorded offline (made on the device; its idempotency key).
    OpId,
    /// A conflict between two values of one field, waiting for a person.
    SyncConflictId,
);
