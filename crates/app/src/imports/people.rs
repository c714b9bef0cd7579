//! A line of a people import → the person form → the form's one validation.

use veille_domain::people::{AgeBand, Gender, Language, Nationality, Need, Situation, Vulnerability};

use super::mapping::{code_of, yes};
use super::{Context, Line, Plan};
use crate::error::Result;
use crate::people::input::{validate_person, ConsentForm, PersonContext, PersonForm};
use crate::{App, Caller, FieldErrors, Lang};

/// A coded cell as its code; a cell no code or label matches is kept as
/// typed, for the validation to refuse it by name.
pub(crate) fn coded(cell: &str, codes: &[&'static str], prefix: &str) -> String {
    if cell.is_empty() {
        return String::new();
    }
    code_of(cell, codes, prefix).map(str::to_owned).unwrap_or_else(|| cell.to_owned())
}

/// A list cell (`fr, ar` or `Français; Arabe`) as codes.
pub(crate) fn coded_list(cell: &str, codes: &[&'static str], prefix: &str) -> Vec<String> {
    cell.split([',', ';', '/', '|', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(|s| coded(s, codes, prefix)).collect()
}

/// A gender as spreadsheets write it (`H`, `F`, `M`, or a label).
fn gender(cell: &str) -> String {
    match super::mapping::normalise(cell).as_str() {
        "h" | "m" | "homme" | "male" => "man".into(),
        "f" | "femme" | "female" => "woman".into(),
        _ => coded(cell, &Gender::codes(), "people.gender"),
    }
}

/// A birth year, from a year or a date of birth (`1981`, `1981-03-02`, `02/03/1981`).
fn birth_year(cell: &str) -> String {
    let c = cell.trim();
    if let Some(y) = c.get(..4).filter(|y| y.chars().all(|ch| ch.is_ascii_digit()) && (c.len() == 4 || c[4..].starts_with('-'))) {
        return y.to_owned();
    }
    match c.rsplit(['/', '.']).next() {
        Some(y) if c.contains(['/', '.']) && y.len() == 4 && y.chars().all(|ch| ch.is_ascii_digit()) => y.to_owned(),
        _ => c.to_owned(),
    }
}

/// An age as typed (`45`, `45 ans`).
fn age(cell: &str) -> String {
    let digits: String = cell.trim().chars().take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() && cell.trim()[digits.len()..].trim().chars().all(char::is_alphabetic) {
        digits
    } else {
        cell.trim().to_owned()
    }
}

/// A phone as a spreadsheet may have kept it: a number without its leading 0.
fn phone(cell: &str) -> String {
    let c = cell.trim();
    if c.len() == 9 && c.chars().all(|ch| ch.is_ascii_digit()) && !c.starts_with('0') {
        format!("0{c}")
    } else {
        c.to_owned()
    }
}

/// A territory by its code or name (its id for the form).
fn territory(cell: &str, cx: &Context) -> String {
    let wanted = super::mapping::normalise(cell);
    cx.territories
        .iter()
        .find(|t| super::mapping::normalise(&t.code) == wanted || super::mapping::normalise(&t.name) == wanted)
        .map(|t| t.id.to_string())
        .unwrap_or_else(|| cell.to_owned())
}

/// The person form a line fills.
pub(crate) fn form_of(line: &Line<'_>, cx: &Context) -> PersonForm {
    // "Consent: yes" in the tool it comes from: the person was told the
    // purpose, who sees the file and their rights, and agreed to identifying
    // data, in French unless a language is given.
    let consent = if yes(line.get("consent")) {
        ConsentForm {
            consent_purpose: Some("1".into()),
            consent_access: Some("1".into()),
            consent_rights: Some("1".into()),
            consent_identifying: Some("1".into()),
            consent_language: "fr".into(),
            ..Default::default()
        }
    } else {
        ConsentForm::default()
    };
    PersonForm {
        pseudonym: line.get("pseudonym").to_owned(),
        aliases: line.get("aliases").replace(';', ","),
        birth_year: birth_year(line.get("birth_year")),
        age: age(line.get("age")),
        age_band: coded(line.get("age_band"), &AgeBand::codes(), "people.age_band"),
        gender: gender(line.get("gender")),
        languages: coded_list(line.get("languages"), &Language::codes(), "people.language"),
        nationality: coded(line.get("nationality"), &Nationality::codes(), "people.nationality"),
        situation: coded(line.get("situation"), &Situation::codes(), "people.situation"),
        needs: coded_list(line.get("needs"), &Need::codes(), "people.need"),
        vulnerabilities: coded_list(line.get("vulnerabilities"), &Vulnerability::codes(), "people.vulnerability"),
        territory: match line.get("territory") {
            "" => String::new(),
            t => territory(t, cx),
        },
        phone: phone(line.get("phone")),
        civil_given_name: line.get("civil_given_name").to_owned(),
        civil_family_name: line.get("civil_family_name").to_owned(),
        consent,
        ..Default::default()
    }
}

/// Checks a line as the person form would be checked.
pub(crate) async fn check(app: &App, _who: &Caller, lang: Lang, line: &Line<'_>, cx: &Context) -> Result<Result<Plan, FieldErrors>> {
    let form = form_of(line, cx);
    let pcx = PersonContext { now: app.clock.now(), territories: &cx.writable, consent_allows_identifying: false };
    Ok(validate_person(lang, &form, &pcx).map(|v| Plan::Person(Box::new(v))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_read_as_spreadsheets_write_them() {
        assert_eq!(birth_year("1981"), "1981");
        assert_eq!(birth_year("1981-03-02"), "1981");
        assert_eq!(birth_year("02/03/1981"), "1981");
        assert_eq!(birth_year("vers 80"), "vers 80");
        assert_eq!(age("45 ans"), "45");
        assert_eq!(age("quarante"), "quarante");
        assert_eq!(gender("H"), "man");
        assert_eq!(gender("Femme"), "woman");
        assert_eq!(phone("612345678"), "0612345678");
        assert_eq!(coded_list("Français; arabe", &Language::codes(), "people.language"), vec!["fr", "ar"]);
    }
}
