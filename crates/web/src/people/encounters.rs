//! Encounter pages: one short form for a phone during a round — when (now by
//! default), where (a tap on the map, "my position", or words), the known
//! people met (the most recently met first), how many unidentified people,
//! what was done, a follow-up, and optionally a new person with the consent
//! captured there, whose probable duplicates are shown before the file is
//! created. The `site` and `round` query parameters fill the seams the sites
//! and maraudes work connects. The use cases are in
//! `veille_app::people::encounters`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_app::people::duplicates::Suggestion;
use veille_app::people::encounters::{self, FormData, RECENT_PAGE};
use veille_app::people::files::Rejected;
use veille_app::people::input::{EncounterForm, EncounterInput};
use veille_app::people::{readable_people, Encounter, Person};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

use super::view::{since, Codes};
use super::WithConsent;

#[derive(Template)]
#[template(path = "people/encounters.html")]
struct ListPage {
    ctx: PageCtx,
    lines: Vec<(Encounter, Vec<Person>)>,
    /// The "Exporter" form.
    export: crate::exports::ExportForm,
}

/// GET /encounters
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    let mut lines = Vec::new();
    for e in encounters::recent(&state, &who, RECENT_PAGE).await? {
        let met = readable_people(&state, &who, &e.people).await?;
        lines.push((e, met));
    }
    let export = crate::exports::ExportForm::new(&who, &ctx, veille_app::exports::List::Encounters, Vec::new());
    Ok(render(&ListPage { ctx, lines, export }))
}

/// Query of the new-encounter form: a person met, the site and round.
#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    round: String,
}

#[derive(Template)]
#[template(path = "people/encounter_form.html")]
struct FormPage {
    ctx: PageCtx,
    form: EncounterForm,
    errors: FieldErrors,
    known: Vec<(Person, String)>,
    suggestions: Vec<Suggestion>,
    may_write_care: bool,
    codes: Codes,
    actions: Vec<&'static str>,
}

impl FormPage {
    fn of(state: &AppState, ctx: PageCtx, form: EncounterForm, errors: FieldErrors, suggestions: Vec<Suggestion>, data: FormData) -> Self {
        let now = state.clock.now();
        let known = data
            .known
            .into_iter()
            .map(|p| {
                let s = since(&ctx, now, p.last_contact_at);
                (p, s)
            })
            .collect();
        FormPage {
            may_write_care: data.may_write_care,
            ctx,
            form,
            errors,
            known,
            suggestions,
            codes: Codes,
            actions: veille_domain::people::EncounterAction::codes(),
        }
    }
}

/// GET /encounters/new
pub async fn new_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let (form, data) = encounters::new_form(&state, &who, &q.person, &q.site, &q.round).await?;
    Ok(render(&FormPage::of(&state, ctx, form, FieldErrors::new(), Vec::new(), data)))
}

/// POST /encounters
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    WithConsent(form, consent): WithConsent<EncounterForm>,
) -> AppResult<Response> {
    let form = EncounterForm { consent, ..form };
    let input = EncounterInput::from(form.clone());
    match encounters::record(&state, &who, ctx.lang, &input, "form").await? {
        Ok(done) => Ok(see_other(&format!("/encounters/{}", done.encounter.id))),
        Err(Rejected::Duplicates(suggestions)) => {
            let data = encounters::form_data(&state, &who, &form).await?;
            Ok(render(&FormPage::of(&state, ctx, form, FieldErrors::new(), suggestions, data)))
        }
        Err(Rejected::Invalid(errors)) => {
            let data = encounters::form_data(&state, &who, &form).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &FormPage::of(&state, ctx, form, errors, Vec::new(), data)))
        }
    }
}

#[derive(Template)]
#[template(path = "people/encounter.html")]
struct ShowPage {
    ctx: PageCtx,
    encounter: Encounter,
    people: Vec<Person>,
    care: Option<String>,
    territory: String,
    child_protection: Option<String>,
}

/// GET /encounters/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let read = encounters::read(&state, &who, &id, "page").await?;
    let territory = read.territory.map(|t| format!("{} · {}", t.code, t.name)).unwrap_or_default();
    Ok(render(&ShowPage { ctx, encounter: read.encounter, people: read.people, care: read.care, territory, child_protection: read.child_protection }))
}
