//! People, encounters and referrals: the coded values of a person file
//! (pseudonym first, minimal by design), the consent that identifying data
//! needs, and the life of a referral.
//!
//! By design there is no field for ethnicity, religion, political opinion or
//! precise nationality: nationality is only France / EU / outside the EU /
//! unknown.

use serde::{Deserialize, Serialize};

crate::codes!(
    /// Nationality, never more precise than this (CNIL référentiel).
    Nationality {
        /// French.
        France = "france",
        /// A citizen of another country of the European Union.
        Eu = "eu",
        /// From outside the European Union.
        OutsideEu = "outside_eu",
        /// Not known or not said.
        Unknown = "unknown",
    }
);

crate::codes!(
    /// Gender as the person gives it.
    Gender {
        /// Woman.
        Woman = "woman",
        /// Man.
        Man = "man",
        /// Another gender.
        Other = "other",
        /// Not known or not said.
        Unknown = "unknown",
    }
);

crate::codes!(
    /// An age band, when the birth year is not known.
    AgeBand {
        /// Under 18.
        Minor = "under_18",
        /// 18 to 24.
        From18To24 = "18_24",
        /// 25 to 34.
        From25To34 = "25_34",
        /// 35 to 49.
        From35To49 = "35_49",
        /// 50 to 64.
        From50To64 = "50_64",
        /// 65 and over.
        From65 = "65_plus",
    }
);

impl AgeBand {
    /// The age in the middle of the band (for an approximate birth year).
    pub fn middle_age(self) -> i32 {
        match self {
            AgeBand::Minor => 15,
            AgeBand::From18To24 => 21,
            AgeBand::From25To34 => 30,
            AgeBand::From35To49 => 42,
            AgeBand::From50To64 => 57,
            AgeBand::From65 => 70,
        }
    }
    /// The band of an age.
    pub fn of_age(age: i32) -> AgeBand {
        match age {
            ..=17 => AgeBand::Minor,
            18..=24 => AgeBand::From18To24,
            25..=34 => AgeBand::From25To34,
            35..=49 => AgeBand::From35To49,
            50..=64 => AgeBand::From50To64,
            _ => AgeBand::From65,
        }
    }
}

crate::codes!(
    /// Where the person lives now.
    Situation {
        /// In the street.
        Street = "street",
        /// In a camp (tents).
        Camp = "camp",
        /// In a squat.
        Squat = "squat",
        /// In a slum (bidonville).
        Slum = "slum",
        /// In a vehicle.
        Vehicle = "vehicle",
        /// In a hotel room paid by a service.
        Hotel = "hotel",
        /// In a shelter.
        Shelter = "shelter",
        /// Housed.
        Housed = "housed",
        /// Not known.
        Unknown = "unknown",
    }
);

crate::codes!(
    /// Needs identified with the person.
    Need {
        /// Food.
        Food = "food",
        /// Hygiene (showers, kits).
        Hygiene = "hygiene",
        /// Clothing.
        Clothing = "clothing",
        /// A place to sleep tonight.
        Shelter = "shelter",
        /// Housing.
        Housing = "housing",
        /// Access to care.
        HealthCare = "health_care",
        /// Harm-reduction material and support.
        HarmReduction = "harm_reduction",
        /// Papers, rights, benefits.
        Administrative = "administrative",
        /// Legal aid.
        Legal = "legal",
        /// Work, training.
        Employment = "employment",
        /// Someone to talk to, a link.
        SocialContact = "social_contact",
        /// An interpreter.
        Interpreting = "interpreting",
    }
);

crate::codes!(
    /// Vulnerabilities that change what is done (outside the health field group).
    Vulnerability {
        /// A minor.
        Minor = "minor",
        /// With children.
        WithChildren = "with_children",
        /// Elderly.
        Elderly = "elderly",
        /// Disability or reduced mobility.
        Disability = "disability",
        /// Victim of violence.
        Violence = "violence",
        /// Isolated, no link with anyone.
        Isolation = "isolation",
        /// Long time in the street, out of every service.
        GreatMarginality = "great_marginality",
        /// Newly arrived.
        NewlyArrived = "newly_arrived",
    }
);

crate::codes!(
    /// Health information, in the health field group: seen by health professionals only.
    HealthFlag {
        /// Pregnancy.
        Pregnancy = "pregnancy",
        /// A chronic illness.
        ChronicIllness = "chronic_illness",
        /// Mental health.
        MentalHealth = "mental_health",
        /// Addiction.
        Addiction = "addiction",
        /// A wound or injury.
        Injury = "injury",
        /// A treatment interrupted.
        TreatmentInterrupted = "treatment_interrupted",
    }
);

crate::codes!(
    /// Why a person left the active list.
    ExitReason {
        /// Housed.
        Housed = "housed",
        /// Sheltered.
        Sheltered = "sheltered",
        /// Left the territory.
        LeftTerritory = "left_territory",
        /// Deceased.
        Deceased = "deceased",
        /// No news for a long time.
        NoNews = "no_news",
    }
);

crate::codes!(
    /// The shape of a household.
    HouseholdKind {
        /// A couple without children.
        Couple = "couple",
        /// A family with children.
        Family = "family",
        /// One parent with children.
        SingleParent = "single_parent",
        /// A group living together.
        Group = "group",
    }
);

crate::codes!(
    /// What was done during an encounter.
    EncounterAction {
        /// Listening.
        Listening = "listening",
        /// Information.
        Information = "information",
        /// Distribution (food, hygiene, harm-reduction material).
        Distribution = "distribution",
        /// Care.
        Care = "care",
        /// Orientation to a partner.
        Orientation = "orientation",
    }
);

crate::codes!(
    /// Languages spoken (ISO 639-1), those most met in the street in France.
    Language {
        /// French.
        Fr = "fr",
        /// English.
        En = "en",
        /// Arabic.
        Ar = "ar",
        /// Romanian.
        Ro = "ro",
        /// Romani.
        Rom = "rom",
        /// Bulgarian.
        Bg = "bg",
        /// Polish.
        Pl = "pl",
        /// Russian.
        Ru = "ru",
        /// Ukrainian.
        Uk = "uk",
        /// Georgian.
        Ka = "ka",
        /// Pashto.
        Ps = "ps",
        /// Persian (Dari, Farsi).
        Fa = "fa",
        /// Tigrinya.
        Ti = "ti",
        /// Amharic.
        Am = "am",
        /// Somali.
        So = "so",
        /// Tamil.
        Ta = "ta",
        /// Bengali.
        Bn = "bn",
        /// Spanish.
        Es = "es",
        /// Portuguese.
        Pt = "pt",
        /// Turkish.
        Tr = "tr",
        /// Kurdish.
        Ku = "ku",
        /// Chinese.
        Zh = "zh",
        /// Wolof.
        Wo = "wo",
        /// Bambara.
        Bm = "bm",
        /// Soninke.
        Snk = "snk",
        /// Lingala.
        Ln = "ln",
    }
);

crate::codes!(
    /// Where a referral stands.
    ReferralStatus {
        /// Written, not sent yet.
        Proposed = "proposed",
        /// Sent to the partner, waiting for an answer.
        Sent = "sent",
        /// The partner will receive the person.
        Accepted = "accepted",
        /// The partner cannot.
        Declined = "declined",
        /// The person was received.
        Done = "done",
        /// The person did not come, or was not received.
        NotHonoured = "not_honoured",
        /// No answer in time: back to the sender.
        Expired = "expired",
        /// Withdrawn by the sender.
        Cancelled = "cancelled",
    }
);

/// Who moves a referral.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferralParty {
    /// The organisation that wrote it.
    Sender,
    /// The partner it was sent to (a partner user, or through the partner link).
    Partner,
    /// The expiry task.
    System,
}

impl ReferralStatus {
    /// Whether `by` may move a referral from this status to `to`:
    /// proposed → sent → accepted / declined → done / not honoured; an
    /// unanswered referral expires back to its sender, who may send it again;
    /// the sender may withdraw it until it is answered.
    pub fn can_become(self, to: ReferralStatus, by: ReferralParty) -> bool {
        use ReferralParty::*;
        use ReferralStatus::*;
        matches!(
            (self, to, by),
            (Proposed, Sent, Sender)
                | (Proposed | Sent | Expired, Cancelled, Sender)
                | (Sent, Accepted | Declined, Partner)
                | (Sent, Expired, System)
                | (Expired, Sent, Sender)
                | (Accepted, Done | NotHonoured, Sender | Partner)
        )
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        ReferralStatus::ALL.iter().all(|to| [ReferralParty::Sender, ReferralParty::Partner, ReferralParty::System].iter().all(|by| !self.can_become(*to, *by)))
    }

    /// Whether it waits for the partner's answer.
    pub fn awaits_partner(self) -> bool {
        self == ReferralStatus::Sent
    }
}

/// A pseudonym or nickname: what a person is called in their file. 1 to 80
/// characters, no control characters, spaces collapsed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pseudonym(String);

/// Why a text is not a valid pseudonym.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PseudonymError {
    /// Empty.
    #[error("a pseudonym is needed")]
    Empty,
    /// Longer than 80 characters.
    #[error("at most 80 characters")]
    TooLong,
}

impl Pseudonym {
    /// The longest pseudonym.
    pub const MAX_CHARS: usize = 80;

    /// Parses a typed pseudonym.
    pub fn parse(text: &str) -> Result<Self, PseudonymError> {
        let clean: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().filter(|c| !c.is_control()).collect();
        if clean.is_empty() {
            return Err(PseudonymError::Empty);
        }
        if clean.chars().count() > Self::MAX_CHARS {
            return Err(PseudonymError::TooLong);
        }
        Ok(Self(clean))
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Pseudonym {
    type Error = PseudonymError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Pseudonym> for String {
    fn from(p: Pseudonym) -> String {
        p.0
    }
}

/// A phone number: digits with an optional leading `+`, 6 to 15 digits;
/// spaces, dots, dashes and brackets typed are dropped. Identifying data: it
/// is only stored with a consent record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

/// A text that is not a phone number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a phone number")]
pub struct PhoneError;

impl Phone {
    /// Parses a typed number.
    pub fn parse(text: &str) -> Result<Self, PhoneError> {
        let t = text.trim();
        let (plus, rest) = match t.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, t),
        };
        if !rest.chars().all(|c| c.is_ascii_digit() || " .-()".contains(c)) {
            return Err(PhoneError);
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        if !(6..=15).contains(&digits.len()) {
            return Err(PhoneError);
        }
        Ok(Self(if plus { format!("+{digits}") } else { digits }))
    }
    /// The number, digits only (with `+` if typed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The number as people read it: a French ten-digit number in pairs
    /// (`06 12 34 56 78`), any other as stored.
    pub fn readable(&self) -> String {
        let d = &self.0;
        if d.len() == 10 && d.starts_with('0') && d.chars().all(|c| c.is_ascii_digit()) {
            (0..5).map(|i| &d[2 * i..2 * i + 2]).collect::<Vec<_>>().join(" ")
        } else {
            d.clone()
        }
    }
    /// The number in a form that compares across ways of typing it:
    /// French numbers with +33 or 0 give the same key.
    pub fn match_key(&self) -> String {
        match self.0.strip_prefix("+33") {
            Some(rest) => format!("0{rest}"),
            None => self.0.trim_start_matches('+').to_owned(),
        }
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

/// What a consent record says: what the person was told, and what they
/// agreed to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentTerms {
    /// Told why the file exists (the purpose).
    pub told_purpose: bool,
    /// Told who sees their file.
    pub told_access: bool,
    /// Told their rights (access, rectification, erasure, objection).
    pub told_rights: bool,
    /// Agreed that identifying data (phone, civil name) is recorded.
    pub agrees_identifying: bool,
    /// Agreed that the file is shared with partner organisations.
    pub agrees_sharing: bool,
}

impl ConsentTerms {
    /// Whether the person was told all three things a consent needs.
    pub fn informed(&self) -> bool {
        self.told_purpose && self.told_access && self.told_rights
    }
    /// Whether identifying data may be recorded under it.
    pub fn allows_identifying(&self) -> bool {
        self.informed() && self.agrees_identifying
    }
    /// Whether the file may be shared with another organisation under it.
    pub fn allows_sharing(&self) -> bool {
        self.informed() && self.agrees_sharing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(all: &[T], code: impl Fn(T) -> &'static str, parse: impl Fn(&str) -> Option<T>) {
            let mut seen = std::collections::BTreeSet::new();
            for v in all {
                assert_eq!(parse(code(*v)), Some(*v));
                assert!(seen.insert(code(*v)), "{} twice", code(*v));
            }
            assert_eq!(parse("no-such-code"), None);
        }
        check(Nationality::ALL, Nationality::code, Nationality::from_code);
        check(Gender::ALL, Gender::code, Gender::from_code);
        check(AgeBand::ALL, AgeBand::code, AgeBand::from_code);
        check(Situation::ALL, Situation::code, Situation::from_code);
        check(Need::ALL, Need::code, Need::from_code);
        check(Vulnerability::ALL, Vulnerability::code, Vulnerability::from_code);
        check(HealthFlag::ALL, HealthFlag::code, HealthFlag::from_code);
        check(ExitReason::ALL, ExitReason::code, ExitReason::from_code);
        check(HouseholdKind::ALL, HouseholdKind::code, HouseholdKind::from_code);
        check(EncounterAction::ALL, EncounterAction::code, EncounterAction::from_code);
        check(Language::ALL, Language::code, Language::from_code);
        check(ReferralStatus::ALL, ReferralStatus::code, ReferralStatus::from_code);
    }

    #[test]
    fn nationality_is_never_more_precise_than_four_values() {
        assert_eq!(Nationality::codes(), vec!["france", "eu", "outside_eu", "unknown"]);
    }

    #[test]
    fn age_bands_cover_every_age_and_their_middle_is_inside() {
        for age in 0..120 {
            let band = AgeBand::of_age(age);
            assert_eq!(AgeBand::of_age(band.middle_age()), band, "{age}");
        }
    }

    #[test]
    fn the_life_of_a_referral() {
        use ReferralParty::*;
        use ReferralStatus::*;
        // The happy path, each step by the party that takes it.
        for (from, to, by) in [(Proposed, Sent, Sender), (Sent, Accepted, Partner), (Accepted, Done, Partner), (Accepted, NotHonoured, Sender)] {
            assert!(from.can_become(to, by), "{from} → {to}");
        }
        // Unanswered: back to the sender, who sends it again or withdraws it.
        assert!(Sent.can_become(Expired, System));
        assert!(Expired.can_become(Sent, Sender) && Expired.can_become(Cancelled, Sender));
        // Never: the sender answering for the partner, the partner sending,
        // a person expiring a referral, skipping the answer, reopening a final one.
        assert!(!Sent.can_become(Accepted, Sender));
        assert!(!Proposed.can_become(Sent, Partner));
        assert!(!Sent.can_become(Expired, Sender) && !Sent.can_become(Expired, Partner));
        assert!(!Sent.can_become(Done, Partner));
        assert!(!Accepted.can_become(Expired, System));
        for s in [Declined, Done, NotHonoured, Cancelled] {
            assert!(s.is_final(), "{s}");
        }
        for s in [Proposed, Sent, Accepted, Expired] {
            assert!(!s.is_final(), "{s}");
        }
        assert!(Sent.awaits_partner() && !Accepted.awaits_partner());
    }

    #[test]
    fn pseudonyms_are_trimmed_and_bounded() {
        assert_eq!(Pseudonym::parse("  Momo   le  Grand ").unwrap().as_str(), "Momo le Grand");
        assert_eq!(Pseudonym::parse("   "), Err(PseudonymError::Empty));
        assert_eq!(Pseudonym::parse(&"a".repeat(81)), Err(PseudonymError::TooLong));
        assert!(Pseudonym::parse(&"é".repeat(80)).is_ok());
        assert_eq!(Pseudonym::parse("Ana\u{7}").unwrap().as_str(), "Ana");
    }

    #[test]
    fn phones_keep_digits_and_compare_across_ways_of_typing() {
        let a = Phone::parse("06 12 34 56 78").unwrap();
        let b = Phone::parse("+33 6 12.34.56.78").unwrap();
        assert_eq!(a.as_str(), "0612345678");
        assert_eq!(b.as_str(), "+33612345678");
        assert_eq!(a.match_key(), b.match_key());
        assert!(Phone::parse("(+40) 721 000 111").is_err(), "a + only in front");
        assert!(Phone::parse("+40 721 000 111").is_ok());
        for bad in ["12345", "06 12 ab 56 78", "", "+", "0612345678901234"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifying_data_needs_an_informed_consent_that_agrees() {
        let told = ConsentTerms { told_purpose: true, told_access: true, told_rights: true, ..Default::default() };
        assert!(told.informed() && !told.allows_identifying() && !told.allows_sharing());
        assert!(ConsentTerms { agrees_identifying: true, ..told }.allows_identifying());
        assert!(!ConsentTerms { agrees_identifying: true, told_rights: false, ..told }.allows_identifying());
        assert!(ConsentTerms { agrees_sharing: true, ..told }.allows_sharing());
    }

    #[test]
    fn a_french_number_reads_in_pairs() {
        assert_eq!(Phone::parse("06.12.34.56.78").unwrap().readable(), "06 12 34 56 78");
        assert_eq!(Phone::parse("+33 6 12 34 56 78").unwrap().readable(), "+33612345678");
    }

    #[test]
    fn codes_are_the_serde_names() {
        assert_eq!(serde_json::to_string(&AgeBand::From18To24).unwrap(), "\"18_24\"");
        assert_eq!(serde_json::from_str::<Nationality>("\"outside_eu\"").unwrap(), Nationality::OutsideEu);
    }

    #[test]
    fn pseudonyms_and_phones_parse_through_serde() {
        let p: Pseudonym = serde_json::from_str("\"  Zora \"").unwrap();
        assert_eq!(p.as_str(), "Zora");
        assert!(serde_json::from_str::<Pseudonym>("\"\"").is_err());
        assert!(serde_json::from_str::<Phone>("\"abc\"").is_err());
    }
}
