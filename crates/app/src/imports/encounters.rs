//! A line of an encounters import → the encounter form → the encounter's
//! checks (the one validation, the people met the account may update, the
//! point within its territories). The people met are files already
//! recorded: named by pseudonym (or another name of the file), by veille id,
//! or by the external id a people import kept.

use veille_domain::people::EncounterAction;
use veille_domain::PersonId;

use super::mapping::{normalise, yes};
use super::people::coded_list;
use super::{Context, Line, Plan};
use crate::error::Result;
use crate::people::files::Rejected;
use crate::people::input::{EncounterForm, EncounterInput};
use crate::{App, Caller, FieldErrors, Lang};

/// A time as typed (`21:30`, `21h30`, `21h`).
fn time_of(cell: &str) -> Option<String> {
    let c = cell.trim().to_lowercase().replace('h', ":");
    let mut parts = c.split(':');
    let h: u32 = parts.next()?.trim().parse().ok()?;
    let m: u32 = match parts.next().map(str::trim) {
        None | Some("") => 0,
        Some(m) => m.get(..2.min(m.len()))?.parse().ok()?,
    };
    (h < 24 && m < 60).then(|| format!("{h:02}:{m:02}"))
}

/// A date (and time) as spreadsheets write them, as the form's
/// `YYYY-MM-DDTHH:MM` (noon when the line gives no time); kept as typed
/// when unreadable, for the validation to refuse it.
pub(crate) fn instant(date: &str, time: &str) -> String {
    let d = date.trim();
    let (day, clock) = match d.split_once(['T', ' ']) {
        Some((day, clock)) => (day.trim(), Some(clock.trim())),
        None => (d, None),
    };
    let day = if let [dd, mm, yyyy] = day.split(['/', '.']).collect::<Vec<_>>()[..] {
        match (dd.parse::<u32>(), mm.parse::<u32>(), yyyy.parse::<i32>()) {
            (Ok(dd), Ok(mm), Ok(y)) if yyyy.len() == 4 => format!("{y:04}-{mm:02}-{dd:02}"),
            _ => return d.to_owned(),
        }
    } else {
        day.to_owned()
    };
    let clock = clock.and_then(time_of).or_else(|| time_of(time)).unwrap_or_else(|| "12:00".into());
    format!("{day}T{clock}")
}

/// The people a line names, or why not.
fn people_of(line: &Line<'_>, cx: &Context, org: veille_domain::OrganisationId, lang: Lang, errors: &mut FieldErrors) -> Vec<String> {
    let mut out = Vec::new();
    for name in line.get("person").split([',', ';']).map(str::trim).filter(|s| !s.is_empty()) {
        let wanted = normalise(name);
        let found: Vec<PersonId> = cx
            .people
            .iter()
            .filter(|p| normalise(&p.fields.pseudonym) == wanted || p.fields.aliases.iter().any(|a| normalise(a) == wanted))
            .map(|p| p.id)
            .collect();
        match found[..] {
            [id] => out.push(id.to_string()),
            [] => errors.add("person", lang.tf("imports.error.no_person", &[("name", name)])),
            _ => errors.add("person", lang.tf("imports.error.several_people", &[("name", name)])),
        }
    }
    for id in line.get("person_id").split([',', ';']).map(str::trim).filter(|s| !s.is_empty()) {
        if id.parse::<PersonId>().is_ok() {
            out.push(id.to_owned());
        } else if let Some(p) = cx.people_keys.get(&Context::person_key(org, id)) {
            out.push(p.clone());
        } else {
            errors.add("person_id", lang.tf("imports.error.no_person", &[("name", id)]));
        }
    }
    out
}

/// Checks a line as the encounter form would be checked.
pub(crate) async fn check(app: &App, who: &Caller, lang: Lang, line: &Line<'_>, cx: &Context) -> Result<Result<Plan, FieldErrors>> {
    let mut errors = FieldErrors::new();
    if line.get("at").is_empty() {
        errors.add("at", lang.t("imports.error.date_required"));
    }
    let people = people_of(line, cx, who.account.organisation, lang, &mut errors);
    let unidentified = line.get("unidentified").to_owned();
    if people.is_empty() && errors.is_empty() && unidentified.trim().trim_start_matches('0').is_empty() {
        errors.add("person", lang.t("imports.error.nobody"));
    }
    let form = EncounterForm {
        at: instant(line.get("at"), line.get("time")),
        lat: line.get("lat").to_owned(),
        lon: line.get("lon").to_owned(),
        place: line.get("place").to_owned(),
        people,
        unidentified,
        actions: coded_list(line.get("actions"), &EncounterAction::codes(), "people.action"),
        follow_up: yes(line.get("follow_up")).then(|| "1".into()),
        follow_up_note: line.get("follow_up_note").to_owned(),
        notes: line.get("notes").to_owned(),
        ..Default::default()
    };
    let input = EncounterInput { form, new_person: None };
    match crate::people::encounters::check(app, lang, who, &input).await? {
        Ok(checked) if errors.is_empty() => Ok(Ok(Plan::Encounter(Box::new(checked)))),
        Ok(_) => Ok(Err(errors)),
        Err(Rejected::Invalid(more)) => {
            for (field, message) in more.all() {
                if !errors.has(&field) {
                    errors.add(&field, message);
                }
            }
            Ok(Err(errors))
        }
        Err(Rejected::Duplicates(_)) => Ok(Err(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_as_spreadsheets_write_them() {
        assert_eq!(instant("2026-11-03", ""), "2026-11-03T12:00");
        assert_eq!(instant("2026-11-03", "21h30"), "2026-11-03T21:30");
        assert_eq!(instant("03/11/2026 22:15", ""), "2026-11-03T22:15");
        assert_eq!(instant("2026-11-03T08:05", ""), "2026-11-03T08:05");
        assert_eq!(instant("hier", ""), "hierT12:00");
    }
}
