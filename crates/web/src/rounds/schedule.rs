//! The shared weekly schedule page and its iCalendar export.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use veille_app::rounds::schedule::{self as app, Line, SlotInput};
use veille_app::rounds::{hhmm, own_circuits, own_teams, schedule_gate, schedule_resource, Circuit, Team};
use veille_app::sites::Territory;
use veille_domain::Action;

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

/// One day of the week with its slots, grouped by territory.
pub struct Day {
    weekday: i64,
    groups: Vec<(String, Vec<Line>)>,
}

#[derive(Template)]
#[template(path = "rounds/schedule.html")]
struct SchedulePage {
    ctx: PageCtx,
    days: Vec<Day>,
    can_add: bool,
    teams: Vec<Team>,
    territories: Vec<Territory>,
    circuits: Vec<Circuit>,
    form: SlotInput,
    errors: FieldErrors,
}

impl SchedulePage {
    fn time(&self, m: &i64) -> String {
        hhmm(*m)
    }
    fn day(&self, d: &i64) -> String {
        self.ctx.label("round.weekday", d)
    }
}

async fn schedule_page(state: &AppState, ctx: PageCtx, who: &Authenticated, form: SlotInput, errors: FieldErrors) -> AppResult<SchedulePage> {
    let mut days: Vec<Day> = (1..=7).map(|weekday| Day { weekday, groups: Vec::new() }).collect();
    for line in app::schedule(state, who).await? {
        let day = &mut days[(line.slot.weekday.clamp(1, 7) - 1) as usize];
        match day.groups.iter_mut().find(|(t, _)| *t == line.territory) {
            Some((_, lines)) => lines.push(line),
            None => day.groups.push((line.territory.clone(), vec![line])),
        }
    }
    for d in &mut days {
        d.groups.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let org_teams = own_teams(state, who).await?;
    Ok(SchedulePage {
        can_add: who.can(Action::Create, &schedule_resource(who.account.organisation)).allowed && !org_teams.is_empty(),
        teams: org_teams,
        territories: veille_app::sites::territories(state).await?,
        circuits: own_circuits(state, who).await?,
        days,
        form,
        errors,
        ctx,
    })
}

/// GET /schedule
pub async fn page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    schedule_gate(&who)?;
    let form = SlotInput { weekday: Some(1), start: "20:00".into(), end: "23:00".into(), ..Default::default() };
    Ok(render(&schedule_page(&state, ctx, &who, form, FieldErrors::new()).await?))
}

/// POST /schedule
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(input): Form<SlotInput>) -> AppResult<Response> {
    match app::add_slot(&state, &who, ctx.lang, &input).await? {
        Ok(_) => Ok(see_other("/schedule")),
        Err(errors) => Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &schedule_page(&state, ctx, &who, input, errors).await?)),
    }
}

/// POST /schedule/{id}/delete
pub async fn delete(State(state): State<AppState>, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    app::delete_slot(&state, &who, &id).await?;
    Ok(see_other("/schedule"))
}

/// GET /schedule.ics
pub async fn ics(State(state): State<AppState>, who: Authenticated) -> AppResult<Response> {
    let body = app::ics(&state, &who).await?;
    Ok(([(CONTENT_TYPE, "text/calendar; charset=utf-8"), (CONTENT_DISPOSITION, "attachment; filename=\"maraudes.ics\"")], body).into_response())
}
