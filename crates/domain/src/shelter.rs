//! Shelter and housing: nights, the vocabularies of facilities, stays,
//! operations and Housing First, and the pure rules of capacity — free places
//! per night computed from the places open and the stays, the next night a
//! booking fits, and the order in which a prior social diagnosis lists the
//! people present (most vulnerable first).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::Timestamp;

/// A night, named by the date of its evening in Europe/Paris; stored as the
/// number of days since 1970-01-01. Tonight runs from noon to noon, so at
/// 02:00 "tonight" is still the night that began the evening before.
/// In JSON it is the evening's date, `"2026-12-03"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Night(i64);

impl serde::Serialize for Night {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.iso())
    }
}

impl<'de> serde::Deserialize<'de> for Night {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Night::parse(&text).ok_or_else(|| serde::de::Error::custom("not a date (2026-12-03)"))
    }
}

impl schemars::JsonSchema for Night {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Night".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "date", "description": "The night, named by the date of its evening (Europe/Paris)."})
    }
}

impl Night {
    /// From a day number (days since 1970-01-01).
    pub fn from_days(days: i64) -> Self {
        Night(days)
    }
    /// The day number.
    pub fn days(self) -> i64 {
        self.0
    }
    /// The night of a date's evening.
    pub fn of_date(d: NaiveDate) -> Self {
        Night(i64::from(d.num_days_from_ce()) - EPOCH_CE)
    }
    /// The night an instant belongs to (noon to noon in Paris).
    pub fn at(t: Timestamp) -> Self {
        Self::of_date(t.reporting_day())
    }
    /// The evening's date.
    pub fn date(self) -> NaiveDate {
        NaiveDate::from_num_days_from_ce_opt(i32::try_from(self.0 + EPOCH_CE).unwrap_or(1)).unwrap_or_default()
    }
    /// `n` nights later (earlier when negative).
    pub fn plus(self, n: i64) -> Self {
        Night(self.0 + n)
    }
    /// Nights from `self` to `later`.
    pub fn until(self, later: Night) -> i64 {
        later.0 - self.0
    }
    /// Reads `2026-12-03` (an `<input type="date">`) or `03/12/2026`.
    pub fn parse(text: &str) -> Option<Night> {
        let t = text.trim();
        ["%Y-%m-%d", "%d/%m/%Y"].iter().find_map(|f| NaiveDate::parse_from_str(t, f).ok()).map(Self::of_date)
    }
    /// `2026-12-03`, for forms and the API.
    pub fn iso(self) -> String {
        self.date().format("%Y-%m-%d").to_string()
    }
    /// `03/12/2026`, as people in France read it.
    pub fn display(self) -> String {
        self.date().format("%d/%m/%Y").to_string()
    }
}

impl std::fmt::Display for Night {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.iso())
    }
}

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const EPOCH_CE: i64 = 719_163;

crate::codes!(
    /// A kind of facility.
    FacilityKind {
        /// A hotel whose rooms are booked night by night (nuitées).
        Hotel = "hotel",
        /// A *sas de mise à l'abri*: a short stay before an orientation.
        Sas = "sas",
        /// A shelter site (centre d'hébergement).
        ShelterSite = "shelter_site",
        /// An insertion village.
        Village = "village",
        /// Scattered flats (diffus).
        ScatteredFlats = "scattered_flats",
    }
);

crate::codes!(
    /// Whom a facility takes in.
    Public {
        /// Families with children.
        Families = "families",
        /// Single men.
        SingleMen = "single_men",
        /// Single women.
        SingleWomen = "single_women",
        /// Young people (18–25).
        YoungPeople = "young_people",
        /// Couples.
        Couples = "couples",
        /// Everyone.
        Everyone = "everyone",
    }
);

crate::codes!(
    /// What a facility counts.
    Unit {
        /// Places.
        Place = "place",
        /// Beds.
        Bed = "bed",
        /// Rooms.
        Room = "room",
    }
);

crate::codes!(
    /// Where a stay stands.
    StayStatus {
        /// Booked, not arrived yet.
        Booked = "booked",
        /// In the facility.
        Present = "present",
        /// Left (with a destination).
        Left = "left",
        /// Booking cancelled before arrival.
        Cancelled = "cancelled",
        /// Did not come.
        NoShow = "no_show",
    }
);

impl StayStatus {
    /// Whether the stay holds its places on its nights.
    pub fn holds_places(self) -> bool {
        matches!(self, StayStatus::Booked | StayStatus::Present)
    }
}

crate::codes!(
    /// Where someone went on leaving a facility.
    StayDestination {
        /// Another shelter.
        OtherShelter = "other_shelter",
        /// Housing (social or private).
        Housing = "housing",
        /// Housing First dwelling.
        HousingFirst = "housing_first",
        /// Family or friends.
        Family = "family",
        /// Hospital or care.
        Care = "care",
        /// Back to the street.
        Street = "street",
        /// Left without saying.
        Unknown = "unknown",
        /// Excluded by the facility.
        Excluded = "excluded",
    }
);

crate::codes!(
    /// A kind of operation on a site.
    OperationKind {
        /// Mise à l'abri: sheltering the people present.
        Sheltering = "sheltering",
        /// Évacuation (usually under a court or prefectoral order).
        Evacuation = "evacuation",
        /// Cleaning of the place.
        Cleaning = "cleaning",
    }
);

crate::codes!(
    /// The legal frame of an operation (justice field group).
    LegalFrame {
        /// None known.
        None = "none",
        /// A court order.
        CourtOrder = "court_order",
        /// A prefectoral order.
        PrefectoralOrder = "prefectoral_order",
        /// A municipal order.
        MunicipalOrder = "municipal_order",
    }
);

crate::codes!(
    /// What happened to a person or household on the day of an operation.
    OperationOutcome {
        /// Sheltered (a stay in a facility).
        Sheltered = "sheltered",
        /// Refused the solution proposed.
        Refused = "refused",
        /// Not there on the day.
        Absent = "absent",
        /// Left the place before.
        Left = "left",
    }
);

crate::codes!(
    /// A vulnerability noted in a prior social diagnosis (weights order the list).
    DiagnosisVulnerability {
        /// A child under 3, or a pregnancy.
        InfantOrPregnancy = "infant_or_pregnancy",
        /// A minor alone.
        UnaccompaniedMinor = "unaccompanied_minor",
        /// A serious illness or disability.
        SeriousIllness = "serious_illness",
        /// Aged 65 or more.
        Elderly = "elderly",
        /// Children in the household.
        Children = "children",
        /// Violence suffered.
        Violence = "violence",
        /// Addiction.
        Addiction = "addiction",
        /// No resources.
        NoResources = "no_resources",
    }
);

impl DiagnosisVulnerability {
    /// How much it weighs in the order of the list.
    pub fn weight(self) -> i64 {
        match self {
            DiagnosisVulnerability::InfantOrPregnancy | DiagnosisVulnerability::UnaccompaniedMinor => 10,
            DiagnosisVulnerability::SeriousIllness => 8,
            DiagnosisVulnerability::Elderly | DiagnosisVulnerability::Violence => 6,
            DiagnosisVulnerability::Children => 5,
            DiagnosisVulnerability::Addiction => 3,
            DiagnosisVulnerability::NoResources => 1,
        }
    }
}

/// The vulnerability score of a line of a diagnosis: the sum of its weights.
pub fn vulnerability_score(v: &[DiagnosisVulnerability]) -> i64 {
    v.iter().map(|x| x.weight()).sum()
}

crate::codes!(
    /// How often a tenant is supported.
    SupportIntensity {
        /// Several times a week.
        High = "high",
        /// Weekly.
        Regular = "regular",
        /// Monthly.
        Light = "light",
    }
);

crate::codes!(
    /// A kind of landlord.
    LandlordKind {
        /// A social landlord (bailleur social).
        Social = "social",
        /// A private landlord.
        Private = "private",
        /// An intermediary (agency, association).
        Intermediary = "intermediary",
    }
);

crate::codes!(
    /// The state of a dwelling.
    DwellingState {
        /// Good.
        Good = "good",
        /// Needs work.
        NeedsWork = "needs_work",
        /// Unfit to live in.
        Unfit = "unfit",
    }
);

crate::codes!(
    /// A point of a dwelling check's checklist.
    CheckPoint {
        /// State of the dwelling.
        State = "state",
        /// Safety (smoke detector, electricity, gas).
        Safety = "safety",
        /// Hygiene.
        Hygiene = "hygiene",
        /// Neighbourhood relations.
        Neighbourhood = "neighbourhood",
        /// Rent and charges paid.
        Rent = "rent",
        /// The tenant's wishes.
        Wishes = "wishes",
    }
);

crate::codes!(
    /// The answer to a point of a checklist.
    CheckRating {
        /// Fine.
        Ok = "ok",
        /// To watch.
        Watch = "watch",
        /// A problem to act on (creates an action).
        Problem = "problem",
    }
);

crate::codes!(
    /// Where a follow-up action stands.
    ActionStatus {
        /// To do.
        Todo = "todo",
        /// In progress.
        InProgress = "in_progress",
        /// Done.
        Done = "done",
        /// Blocked.
        Blocked = "blocked",
        /// Abandoned.
        Abandoned = "abandoned",
    }
);

impl ActionStatus {
    /// Whether the action is still expected.
    pub fn open(self) -> bool {
        matches!(self, ActionStatus::Todo | ActionStatus::InProgress | ActionStatus::Blocked)
    }
}

/// A stay as capacity sees it: its places on nights `from .. to` (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occupancy {
    /// First night.
    pub from: Night,
    /// The night after the last one.
    pub to: Night,
    /// Places held.
    pub places: i64,
}

/// The places of one facility on each night of `from .. from + nights`:
/// open places (the usual number, or that of the night when set), occupied
/// places (stays holding places that night) and free places (never below 0:
/// an overbooking made before a closure shows 0 free, and its excess as
/// `over`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct NightPlaces {
    /// The night.
    pub night: Night,
    /// Places open.
    pub open: i64,
    /// Places held by stays.
    pub occupied: i64,
    /// Places free.
    pub free: i64,
    /// Places held beyond those open (after a closure).
    pub over: i64,
}

/// Free places of a facility, night by night, from its usual places, the
/// nights that differ and its stays.
pub fn night_places(usual: i64, overrides: &BTreeMap<Night, i64>, stays: &[Occupancy], from: Night, nights: i64) -> Vec<NightPlaces> {
    let n = usize::try_from(nights.max(0)).unwrap_or(0);
    let mut occupied = vec![0i64; n];
    for s in stays {
        let a = from.until(s.from).max(0);
        let b = from.until(s.to).min(nights);
        for i in a..b {
            occupied[usize::try_from(i).unwrap_or(0)] += s.places;
        }
    }
    (0..n)
        .map(|i| {
            let night = from.plus(i64::try_from(i).unwrap_or(0));
            let open = overrides.get(&night).copied().unwrap_or(usual);
            let occ = occupied[i];
            NightPlaces { night, open, occupied: occ, free: (open - occ).max(0), over: (occ - open).max(0) }
        })
        .collect()
}

/// The first night from which `places` fit on `length` nights in a row,
/// looking `horizon` nights ahead from `from` (none if nothing fits).
pub fn next_fit(board: &[NightPlaces], places: i64, length: i64) -> Option<Night> {
    let length = usize::try_from(length.max(1)).unwrap_or(1);
    (0..board.len()).find(|&i| board.len() - i >= length && board[i..i + length].iter().all(|n| n.free >= places)).map(|i| board[i].night)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nights_round_trip_and_tonight_runs_noon_to_noon() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let n = Night::of_date(d);
        assert_eq!(n.date(), d);
        assert_eq!(Night::parse("2026-12-03"), Some(n));
        assert_eq!(Night::parse("03/12/2026"), Some(n));
        assert_eq!(Night::from_days(0).iso(), "1970-01-01");
        // 02:00 on the 4th (Paris) still belongs to the night of the 3rd.
        let t = Timestamp::at_paris(NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(), 120).unwrap();
        assert_eq!(Night::at(t), n);
        let t = Timestamp::at_paris(d, 20 * 60).unwrap();
        assert_eq!(Night::at(t), n);
    }

    #[test]
    fn a_closure_shows_no_free_place_and_the_excess() {
        let from = Night::from_days(100);
        let overrides = BTreeMap::from([(from.plus(1), 0)]);
        let stays = [Occupancy { from, to: from.plus(3), places: 2 }];
        let b = night_places(3, &overrides, &stays, from, 3);
        assert_eq!(b.iter().map(|n| n.free).collect::<Vec<_>>(), vec![1, 0, 1]);
        assert_eq!(b[1].over, 2);
        assert_eq!(next_fit(&b, 1, 1), Some(from));
        assert_eq!(next_fit(&b, 1, 2), None);
        assert_eq!(next_fit(&b, 2, 1), None);
    }

    #[test]
    fn the_most_vulnerable_weigh_most() {
        use DiagnosisVulnerability as V;
        assert!(vulnerability_score(&[V::InfantOrPregnancy]) > vulnerability_score(&[V::Addiction, V::NoResources]));
        assert_eq!(vulnerability_score(&[]), 0);
    }

    proptest! {
        /// The board agrees, night by night, with counting the stays one by one.
        #[test]
        fn night_places_agree_with_counting_stays(
            usual in 0i64..20,
            raw in proptest::collection::vec((0i64..40, 1i64..15, 1i64..4), 0..30),
            closures in proptest::collection::vec((0i64..40, 0i64..5), 0..5),
            start in 0i64..40,
            nights in 1i64..30,
        ) {
            let base = Night::from_days(20_000);
            let stays: Vec<Occupancy> = raw.iter().map(|(a, len, p)| Occupancy { from: base.plus(*a), to: base.plus(a + len), places: *p }).collect();
            let overrides: BTreeMap<Night, i64> = closures.iter().map(|(n, p)| (base.plus(*n), *p)).collect();
            let from = base.plus(start);
            let board = night_places(usual, &overrides, &stays, from, nights);
            prop_assert_eq!(board.len() as i64, nights);
            for n in &board {
                let occupied: i64 = stays.iter().filter(|s| s.from <= n.night && n.night < s.to).map(|s| s.places).sum();
                let open = overrides.get(&n.night).copied().unwrap_or(usual);
                prop_assert_eq!(n.occupied, occupied);
                prop_assert_eq!(n.open, open);
                prop_assert_eq!(n.free, (open - occupied).max(0));
                prop_assert_eq!(n.free + n.occupied - n.over, open);
            }
        }
    }
}
