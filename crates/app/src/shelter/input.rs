//! What the forms and the JSON API of shelter and housing send, and the one
//! validation of each. Numbers and dates arrive as text from forms and as
//! text or numbers from the API ([`text`]); each is checked with its message
//! next to its field, in the caller's language.

use serde::{Deserialize, Deserializer};
use veille_domain::shelter::Night;

use crate::{FieldErrors, Lang};

/// Reads a JSON string, number or boolean as the text a form would send.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum T {
        S(String),
        I(i64),
        F(f64),
        B(bool),
    }
    Ok(match Option::<T>::deserialize(d)? {
        None => String::new(),
        Some(T::S(s)) => s,
        Some(T::I(i)) => i.to_string(),
        Some(T::F(f)) => f.to_string(),
        Some(T::B(b)) => if b { "on" } else { "" }.to_owned(),
    })
}

/// A value a form sends as text and the API as text, a number or a boolean
/// (its schema, for the fields read by [`text`]).
pub struct Scalar;

impl schemars::JsonSchema for Scalar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": ["string", "number", "boolean", "null"], "description": "Text, or a number or boolean read as the text a form would send."})
    }
}

/// Declares an input struct whose every field is text read by [`text`].
macro_rules! input {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
        #[serde(default)]
        pub struct $name {
            $($(#[$fdoc])* #[serde(deserialize_with = "text")] #[schemars(with = "Scalar")] pub $field: String,)+
        }
    };
}

input!(
    /// A facility, as typed.
    FacilityInput {
        /// Name.
        name,
        /// `hotel`, `sas`, `shelter_site`, `village`, `scattered_flats`.
        kind,
        /// Address.
        address,
        /// Territory id (empty: found from the point, or none).
        territory_id,
        /// Latitude.
        lat,
        /// Longitude.
        lon,
        /// Publics, comma-separated codes (`families,single_women`).
        publics,
        /// `place`, `bed`, `room`.
        unit,
        /// Usual places each night.
        places,
        /// `on` when accessible to people with reduced mobility.
        accessible,
        /// Cost of a night in euros (hotels), `45` or `45,50`.
        night_cost,
        /// Its service in the partner directory (id).
        service_id,
    }
);

input!(
    /// The places open on a night, as typed by the operator.
    NightInput {
        /// The night (`2026-12-03`; empty: tonight).
        night,
        /// Places open.
        places,
        /// Why they differ (closure, works, outbreak…).
        note,
    }
);

input!(
    /// A booking, as typed.
    BookingInput {
        /// The facility's id.
        facility_id,
        /// The person's id, when on file.
        person_id,
        /// Who, in words, when not on file (a pseudonym, "famille R.").
        label,
        /// Places.
        places,
        /// First night (`2026-12-03`; empty: tonight).
        from,
        /// Nights.
        nights,
        /// The booking body's reference (hotels).
        booking_ref,
        /// Note.
        note,
        /// The waiting-list request it places, if any.
        request_id,
    }
);

input!(
    /// Leaving a facility.
    LeaveInput {
        /// Where to (`housing`, `other_shelter`, `street`…).
        destination,
        /// The version of the stay the form was filled from.
        version,
    }
);

input!(
    /// Extending a stay.
    ExtendInput {
        /// The new planned exit: the morning after the last night (`2026-12-10`).
        to,
        /// Version.
        version,
    }
);

input!(
    /// A request on the waiting list.
    RequestInput {
        /// Person id, when on file.
        person_id,
        /// Who, in words.
        label,
        /// Places needed.
        places,
        /// Public (`families`, `single_men`…).
        public,
        /// Priority, 1 (low) to 5 (urgent).
        priority,
        /// Wanted from (`2026-12-03`).
        wanted_from,
        /// Note.
        note,
    }
);

input!(
    /// An operation to plan.
    OperationInput {
        /// The site's id.
        site_id,
        /// `sheltering`, `evacuation`, `cleaning`.
        kind,
        /// Date (`2026-12-10`).
        planned_on,
        /// Organisations taking part.
        partners,
        /// City services requested (cleaning, regulation…).
        city_services,
        /// `none`, `court_order`, `prefectoral_order`, `municipal_order` (justice field group).
        legal_frame,
        /// The order's reference (justice field group).
        legal_reference,
    }
);

input!(
    /// A line of a prior social diagnosis.
    DiagnosisInput {
        /// Person id, when on file.
        person_id,
        /// Who, in words.
        label,
        /// How many people.
        people,
        /// Vulnerabilities, comma-separated codes.
        vulnerabilities,
        /// Needs.
        needs,
        /// Solution proposed.
        proposal,
    }
);

input!(
    /// The outcome of a diagnosis line on the day.
    OutcomeInput {
        /// The line's id.
        line_id,
        /// `sheltered`, `refused`, `absent`, `left`.
        outcome,
        /// When sheltered: the facility's id.
        facility_id,
        /// When sheltered: nights booked (default 7).
        nights,
    }
);

input!(
    /// A landlord.
    LandlordInput {
        /// Name.
        name,
        /// `social`, `private`, `intermediary`.
        kind,
        /// How to reach them.
        contact,
        /// The agreement.
        agreement,
    }
);

input!(
    /// A dwelling.
    DwellingInput {
        /// Address.
        address,
        /// Territory id.
        territory_id,
        /// Landlord id.
        landlord_id,
        /// Rooms.
        rooms,
        /// Rent in euros.
        rent,
        /// Days between checks (default 30).
        check_every_days,
    }
);

input!(
    /// A tenancy.
    TenancyInput {
        /// Person id, when on file.
        person_id,
        /// Tenant in words.
        label,
        /// Lease start.
        lease_start,
        /// `high`, `regular`, `light`.
        support,
    }
);

input!(
    /// A dwelling check done: one rating per checklist point (`ok`, `watch`, `problem`).
    CheckInput {
        /// State of the dwelling.
        state,
        /// Safety.
        safety,
        /// Hygiene.
        hygiene,
        /// Neighbourhood.
        neighbourhood,
        /// Rent paid.
        rent,
        /// The tenant's wishes.
        wishes,
        /// Notes.
        notes,
        /// Done on (empty: today).
        done_on,
    }
);

input!(
    /// An action's new status.
    ActionInput {
        /// `todo`, `in_progress`, `done`, `blocked`, `abandoned`.
        status,
        /// Result.
        result,
        /// Version.
        version,
    }
);

/// A whole number typed in `field`, within `min..=max` (empty: `default`).
pub fn number(text: &str, field: &str, min: i64, max: i64, default: Option<i64>, lang: Lang, errors: &mut FieldErrors) -> i64 {
    let t = text.trim();
    if t.is_empty() {
        if let Some(d) = default {
            return d;
        }
        errors.add(field, lang.t("shelter.error.required"));
        return min;
    }
    match t.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => n,
        _ => {
            errors.add(field, lang.tf("shelter.error.number", &[("min", &min.to_string()), ("max", &max.to_string())]));
            min
        }
    }
}

/// An amount in euros typed in `field` (`45`, `45,50`), in cents.
pub fn euros(text: &str, field: &str, lang: Lang, errors: &mut FieldErrors) -> Option<i64> {
    let t = text.trim().replace(',', ".").replace('€', "");
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    match t.parse::<f64>() {
        Ok(v) if (0.0..=100_000.0).contains(&v) => Some((v * 100.0).round() as i64),
        _ => {
            errors.add(field, lang.t("shelter.error.amount"));
            None
        }
    }
}

/// A night typed in `field` (empty: `default`).
pub fn night(text: &str, field: &str, default: Option<Night>, lang: Lang, errors: &mut FieldErrors) -> Night {
    match (text.trim().is_empty(), default) {
        (true, Some(d)) => d,
        _ => Night::parse(text).unwrap_or_else(|| {
            errors.add(field, lang.t("shelter.error.date"));
            default.unwrap_or(Night::from_days(0))
        }),
    }
}

/// A code of a closed list typed in `field`.
pub fn code<T: std::str::FromStr>(text: &str, field: &str, lang: Lang, errors: &mut FieldErrors) -> Option<T> {
    match text.trim().parse() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.add(field, lang.t("shelter.error.choose"));
            None
        }
    }
}

/// An id typed in `field` (empty: none).
pub fn id<T: std::str::FromStr>(text: &str, field: &str, lang: Lang, errors: &mut FieldErrors) -> Option<T> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    match t.parse() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.add(field, lang.t("shelter.error.choose"));
            None
        }
    }
}

/// A short text (at most `max` characters; required when `required`).
pub fn words(text: &str, field: &str, max: usize, required: bool, lang: Lang, errors: &mut FieldErrors) -> String {
    let t = text.trim();
    if required && t.is_empty() {
        errors.add(field, lang.t("shelter.error.required"));
    } else if t.chars().count() > max {
        errors.add(field, lang.tf("shelter.error.too_long", &[("max", &max.to_string())]));
    } else if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        errors.add(field, lang.t("shelter.error.control"));
    }
    t.to_owned()
}

/// A version typed in a form (-1 when unreadable: refused as stale).
pub fn version(text: &str) -> i64 {
    text.trim().parse().unwrap_or(-1)
}

/// Codes typed as a comma-separated list; unknown ones are an error.
pub fn code_list<T: std::str::FromStr>(text: &str, field: &str, lang: Lang, errors: &mut FieldErrors) -> Vec<T> {
    let mut out = Vec::new();
    for c in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        match c.parse() {
            Ok(v) => out.push(v),
            Err(_) => errors.add(field, lang.t("shelter.error.choose")),
        }
    }
    out
}
