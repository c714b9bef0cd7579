//! The service picker that other forms embed (a referral's `service_id`).
//!
//! Contract, for a host form:
//! - Put `{{ picker|safe }}` inside the host `<form>`, where `picker` is
//!   [`fieldset`]`(state, who, lang, &query, back, error)`: a `<fieldset>` with
//!   the filters (named `dir_need`, `dir_territory`, `dir_public`,
//!   `dir_language`, `dir_open_now`, `dir_q`, so they never collide with the
//!   host's fields) and the results as radio inputs named `service_id`.
//! - With JavaScript, its search button asks `GET /directory/picker` (htmx,
//!   the filters of the fieldset) and swaps in the new results.
//! - Without JavaScript, the same button submits the host form with GET to
//!   `back` (the host page): the host reads a [`SearchQuery`] from its query
//!   string (the `dir_*` names, and `service_id` as the one already chosen)
//!   and renders [`fieldset`] again.
//! - The chosen `service_id` is a [`veille_domain::ServiceId`]; the host loads
//!   it with `veille_storage::directory::service(db, id)` (service with its
//!   structure's name, address, phone and hours).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use veille_domain::{Action, ServiceId};
use veille_storage::directory as store;

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::page::{render, PageCtx};
use crate::AppState;

use super::pages::{gate, Filters, Labels, Line};
use super::{resource, Found, SearchQuery};

/// At most this many services offered at once.
const PICKER_LIMIT: usize = 30;

#[derive(Template)]
#[template(path = "directory/picker.html")]
struct Results {
    lang: Lang,
    lines: Vec<Line>,
    selected: String,
    searched: bool,
    error: String,
}

impl Labels for Results {
    fn lang(&self) -> Lang {
        self.lang
    }
}

#[derive(Template)]
#[template(path = "directory/picker_fieldset.html")]
struct Fieldset {
    lang: Lang,
    q: SearchQuery,
    filters: Filters,
    back: String,
    results: String,
}

impl Labels for Fieldset {
    fn lang(&self) -> Lang {
        self.lang
    }
}

#[derive(Template)]
#[template(path = "directory/picker_page.html")]
struct Page {
    ctx: PageCtx,
    results: String,
}

/// The services a picker offers: those matching the filters (none before a
/// filter is set), the chosen one first.
async fn results(state: &AppState, who: &Authenticated, lang: Lang, q: &SearchQuery, error: &str) -> AppResult<String> {
    let now = state.clock.now();
    let territories = veille_storage::territories::list(&state.db).await?;
    let mut q = q.clone();
    if q.limit.is_empty() {
        q.limit = PICKER_LIMIT.to_string();
    }
    let mut found: Vec<Found> = if q.is_empty() { Vec::new() } else { super::search(state, &q).await? };
    if let Ok(id) = q.selected.parse::<ServiceId>() {
        match found.iter().position(|f| f.entry.service.id == id) {
            Some(i) => {
                let chosen = found.remove(i);
                found.insert(0, chosen);
            }
            None => {
                if let Some(entry) = store::service(&state.db, id).await? {
                    found.insert(0, Found { now: super::state_of(&entry, now), entry, distance_m: None });
                }
            }
        }
    }
    let lines = found.iter().filter(|f| who.can(Action::Read, &resource(&f.entry.structure)).allowed).map(|f| Line::of(f, lang, now, &territories)).collect();
    let r = Results { lang, lines, selected: q.selected.clone(), searched: !q.is_empty(), error: error.to_owned() };
    Ok(r.render().map_err(anyhow::Error::from)?)
}

/// The picker to embed in a host form: filters and results (see the module
/// documentation). `back` is the host page the no-JavaScript search goes to;
/// `error` is the host's message for `service_id` (empty: none).
pub async fn fieldset(state: &AppState, who: &Authenticated, lang: Lang, q: &SearchQuery, back: &str, error: &str) -> AppResult<String> {
    gate(who)?;
    let results = results(state, who, lang, q, error).await?;
    let f = Fieldset { lang, q: q.clone(), filters: Filters::load(state).await?, back: back.to_owned(), results };
    Ok(f.render().map_err(anyhow::Error::from)?)
}

/// GET /directory/picker?need=&territory=&public=&language=&open_now=1&q=&lat=&lon=&selected=
/// (or the `dir_*` names): the results fragment for htmx; a page of its own
/// otherwise.
pub async fn fragment(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, headers: HeaderMap, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    gate(&who)?;
    let html = results(&state, &who, ctx.lang, &q, "").await?;
    if headers.contains_key("hx-request") {
        return Ok(Html(html).into_response());
    }
    Ok(render(&Page { ctx, results: html }))
}
