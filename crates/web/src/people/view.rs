//! What the person, encounter and referral pages share to show things: the
//! lists of codes of the forms, "3 days ago", the age of a file, the name of
//! a share's basis (presentation only; the use cases are in
//! `veille_app::people`).

use veille_app::people::{PersonFields, Share};
use veille_domain::people::{ExitReason, HealthFlag, HouseholdKind, Language};
use veille_domain::Timestamp;

use crate::forms::FieldErrors;
use crate::page::PageCtx;

/// Labels and lists every person template needs.
pub struct Codes;

impl Codes {
    /// Gender codes.
    pub fn genders(&self) -> Vec<&'static str> {
        veille_domain::people::Gender::codes()
    }
    /// Age band codes.
    pub fn age_bands(&self) -> Vec<&'static str> {
        veille_domain::people::AgeBand::codes()
    }
    /// Nationality codes.
    pub fn nationalities(&self) -> Vec<&'static str> {
        veille_domain::people::Nationality::codes()
    }
    /// Situation codes.
    pub fn situations(&self) -> Vec<&'static str> {
        veille_domain::people::Situation::codes()
    }
    /// Need codes.
    pub fn needs(&self) -> Vec<&'static str> {
        veille_domain::people::Need::codes()
    }
    /// Vulnerability codes.
    pub fn vulnerabilities(&self) -> Vec<&'static str> {
        veille_domain::people::Vulnerability::codes()
    }
    /// Language codes.
    pub fn languages(&self) -> Vec<&'static str> {
        Language::codes()
    }
    /// Health flag codes.
    pub fn health_flags(&self) -> Vec<&'static str> {
        HealthFlag::codes()
    }
    /// Exit reason codes.
    pub fn exit_reasons(&self) -> Vec<&'static str> {
        ExitReason::codes()
    }
    /// Household kind codes.
    pub fn household_kinds(&self) -> Vec<&'static str> {
        HouseholdKind::codes()
    }
}

/// "Today", "3 days ago": how long since the last contact.
pub fn since(ctx: &PageCtx, now: Timestamp, then: Option<Timestamp>) -> String {
    match then {
        None => ctx.t("people.list.never_met"),
        Some(t) => match t.seconds_until(now) / 86_400 {
            d if d <= 0 => ctx.t("people.list.today"),
            1 => ctx.t("people.list.yesterday"),
            d => ctx.tn("people.list.days_ago", d),
        },
    }
}

/// The age shown for a file: "≈ 45" from a birth year, or the age band.
pub fn age_label(ctx: &PageCtx, now: Timestamp, f: &PersonFields) -> String {
    use chrono::Datelike;
    match (f.birth_year, f.age_band) {
        (Some(y), _) => ctx.tnf("people.age.years", i64::from(now.to_datetime().year() - y), &[("year", &y.to_string())]),
        (None, Some(b)) => ctx.label("people.age_band", b.code()),
        (None, None) => ctx.t("people.unknown"),
    }
}

/// The name of a share basis, for the template.
pub fn basis_code(s: &Share) -> &'static str {
    s.basis.code()
}

/// The errors of an input shown where the page shows them: the field `from`
/// of the input is shown at `to` (a form on the file page).
pub fn shown_at(errors: FieldErrors, from: &str, to: &str) -> FieldErrors {
    let mut out = FieldErrors::new();
    for (field, message) in errors.all() {
        out.add(if field == from { to } else { &field }, message);
    }
    out
}
