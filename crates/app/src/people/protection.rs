//! Child protection: a minor met without an adult prompts the guidance of the
//! organisation (what to do, whom to call: the 119, the CRIP of the
//! department, the team's referent…), a text each organisation writes for
//! itself, with a default in the catalogues. Shown on the encounter recorded
//! and on a minor's file.

use chrono::Datelike;
use veille_domain::people::AgeBand;
use veille_domain::{Action, OrganisationId, Timestamp};
use veille_storage::audit;
pub use veille_storage::organisations::Guidance;
use veille_storage::organisations::{self, Organisation};

use super::{Person, PersonFields};
use crate::accounts::organisation_resource;
use crate::error::Result;
use crate::{App, Caller, FieldErrors, Lang};

/// The age of majority.
pub const ADULT_AGE: i32 = 18;
/// Longest guidance text.
pub const MAX_CHARS: usize = 4000;

/// Whether a file says a minor (`Some(true)`), an adult (`Some(false)`), or
/// does not say (no birth year, no age band) at `at`.
pub fn minor(p: &PersonFields, at: Timestamp) -> Option<bool> {
    match (p.birth_year, p.age_band) {
        (Some(y), _) => Some(at.to_datetime().year() - y < ADULT_AGE),
        (None, Some(band)) => Some(band == AgeBand::Minor),
        (None, None) => None,
    }
}

/// Whether the person is a minor at `at`.
pub fn is_minor(p: &Person, at: Timestamp) -> bool {
    minor(&p.fields, at) == Some(true)
}

/// A minor met with no adult among the people recorded (people of unknown age
/// are not counted as adults: nobody is sure one was there).
pub fn minor_met_alone<'a>(people: impl IntoIterator<Item = &'a PersonFields>, at: Timestamp) -> bool {
    let ages: Vec<Option<bool>> = people.into_iter().map(|p| minor(p, at)).collect();
    ages.contains(&Some(true)) && !ages.contains(&Some(false))
}

/// The guidance an organisation wrote; empty: the default of the catalogues
/// (`people.protection.default`, in the reader's language) applies.
pub async fn guidance_of(app: &App, org: OrganisationId) -> Result<String> {
    text_of(app, org, Guidance::ChildProtection).await
}

/// An organisation's guidance of a kind (child protection, team safety rules), trimmed.
pub async fn text_of(app: &App, org: OrganisationId, kind: Guidance) -> Result<String> {
    Ok(organisations::guidance(&app.db, org, kind).await?.trim().to_owned())
}

/// Writes a guidance of an organisation (its administrators); empty puts the default back.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn set_guidance(app: &App, who: &Caller, lang: Lang, org: &Organisation, kind: Guidance, text: &str) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &organisation_resource(org))?;
    let field = match kind {
        Guidance::ChildProtection => "child_protection",
        Guidance::SafetyRules => "safety_rules",
    };
    let text = text.trim();
    if text.chars().count() > MAX_CHARS {
        let mut errors = FieldErrors::new();
        errors.add(field, lang.tn("people.form.too_long", MAX_CHARS as i64, &[("max", &MAX_CHARS.to_string())]));
        return Ok(Err(errors));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    organisations::set_guidance(&mut tx, org.id, kind, text, now).await?;
    let detail = serde_json::json!({"field": field, "default": text.is_empty()});
    audit::append(&mut tx, who.audit_entry(now, "update", "organisation", org.id, org.id).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn born(year: Option<i32>, band: Option<AgeBand>) -> PersonFields {
        PersonFields { birth_year: year, age_band: band, ..Default::default() }
    }

    #[test]
    fn a_minor_alone_prompts_the_guidance_and_an_adult_with_them_does_not() {
        let at = Timestamp::parse_paris("2026-12-03T10:00").unwrap();
        let (teen, adult, unknown) = (born(Some(2011), None), born(Some(1990), None), born(None, None));
        assert!(minor_met_alone([&teen], at), "15 years old, alone");
        assert!(minor_met_alone([&teen, &unknown], at), "with someone of unknown age: not known to be an adult");
        assert!(minor_met_alone([&born(None, Some(AgeBand::Minor))], at), "the age band says minor");
        assert!(!minor_met_alone([&teen, &adult], at), "with an adult");
        assert!(!minor_met_alone([&adult], at));
        assert!(!minor_met_alone([&unknown], at), "nobody known to be a minor");
        assert!(!minor_met_alone([&born(Some(2008), None)], at), "18 this year");
        assert!(minor_met_alone([&born(Some(2009), None)], at), "17 this year");
        assert!(!minor_met_alone([&born(None, Some(AgeBand::From18To24))], at));
    }
}
