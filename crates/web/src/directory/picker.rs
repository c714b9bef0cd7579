//! The service picker that other forms embed (a referral's `service_id`).
//!
//! Contract, for a host form (e.g. a referral form and its `service_id`):
//! - Put `{{ picker|safe }}` inside the host `<form method="post">`, where
//!   `picker` is [`fieldset`]`(state, who, lang, &query, error)`: a
//!   `<fieldset>` with the filters (named `dir_need`, `dir_territory`,
//!   `dir_public`, `dir_language`, `dir_open_now`, `dir_q`, so they never
//!   collide with the host's fields) and the results as radio inputs named
//!   `service_id`; `error` is the host's message for `service_id` (empty: none).
//! - With JavaScript, its search button asks `GET /directory/picker` (htmx,
//!   with the fieldset's fields) and swaps in the new results.
//! - Without JavaScript, the same button submits the host form as usual
//!   (POST, anti-forgery token included, nothing in the URL) with
//!   `dir_search=1`. The host's input struct holds
//!   `#[serde(flatten)] picker: PickerForm`; when `picker.searching()`, the
//!   host saves nothing and renders its form again, what was typed kept, with
//!   `fieldset(…, &picker.query(&service_id), "")`.
//! - The chosen `service_id` is a [`veille_domain::ServiceId`]; the host loads
//!   it with `veille_app::directory::load_service(app, who, id, Action::Read)`
//!   (service with its structure's name, address, phone and hours; 404 when
//!   it does not exist).
//!
//! Presentation only: what is offered is `veille_app::directory::offer`'s.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use veille_app::directory::{self as app, Filters, SearchQuery};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::page::{render, PageCtx};
use crate::AppState;

use super::pages::{Labels, Line};

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
    fieldset: String,
}

/// The services a picker offers (see [`app::offer`]) as radio inputs.
async fn results(state: &AppState, who: &Authenticated, lang: Lang, q: &SearchQuery, error: &str) -> AppResult<String> {
    let now = state.clock.now();
    let found = app::offer(state, who, q).await?;
    let names = app::territory_names(state).await?;
    let lines = found.iter().map(|f| Line::of(f, lang, now, &names)).collect();
    let r = Results { lang, lines, selected: q.selected.clone(), searched: !q.is_empty(), error: error.to_owned() };
    Ok(r.render().map_err(anyhow::Error::from)?)
}

/// The picker's fields as a host form receives them without JavaScript (see
/// the module documentation): `#[serde(flatten)] picker: PickerForm`.
#[derive(serde::Deserialize, Default, Clone, Debug)]
pub struct PickerForm {
    /// Present when the picker's search button sent the form.
    #[serde(default)]
    pub dir_search: Option<String>,
    /// Need.
    #[serde(default)]
    pub dir_need: String,
    /// Territory.
    #[serde(default)]
    pub dir_territory: String,
    /// Public.
    #[serde(default)]
    pub dir_public: String,
    /// Language.
    #[serde(default)]
    pub dir_language: String,
    /// Open now.
    #[serde(default)]
    pub dir_open_now: String,
    /// Words.
    #[serde(default)]
    pub dir_q: String,
}

impl PickerForm {
    /// Whether the form was sent to search services, not to be saved.
    pub fn searching(&self) -> bool {
        self.dir_search.is_some()
    }
    /// The search it asks, `selected` being the `service_id` already chosen.
    pub fn query(&self, selected: &str) -> SearchQuery {
        SearchQuery {
            need: self.dir_need.clone(),
            territory: self.dir_territory.clone(),
            public: self.dir_public.clone(),
            language: self.dir_language.clone(),
            open_now: self.dir_open_now.clone(),
            q: self.dir_q.clone(),
            selected: selected.to_owned(),
            ..Default::default()
        }
    }
}

/// The picker to embed in a host form: filters and results (see the module
/// documentation). `error` is the host's message for `service_id` (empty: none).
pub async fn fieldset(state: &AppState, who: &Authenticated, lang: Lang, q: &SearchQuery, error: &str) -> AppResult<String> {
    app::gate(who)?;
    let results = results(state, who, lang, q, error).await?;
    let f = Fieldset { lang, q: q.clone(), filters: app::filters(state).await?, results };
    Ok(f.render().map_err(anyhow::Error::from)?)
}

/// GET /directory/picker?need=&territory=&public=&language=&open_now=1&q=&lat=&lon=&selected=
/// (or the `dir_*` names): the results fragment for htmx; otherwise a page
/// with the whole picker in a search form of its own.
pub async fn fragment(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    app::gate(&who)?;
    if headers.contains_key("hx-request") {
        return Ok(Html(results(&state, &who, ctx.lang, &q, "").await?).into_response());
    }
    // Opened as a page: the same picker in a search form of its own.
    let fieldset = fieldset(&state, &who, ctx.lang, &q, "").await?;
    Ok(render(&Page { ctx, fieldset }))
}
