//! The coverage page: the sites no team has seen for N days and the
//! territories of the account where no round is planned or made this week
//! (`veille_app::rounds::coverage`).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use veille_app::rounds::coverage::{self as app, Coverage, DEFAULT_DAYS};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::page::{render, PageCtx};
use crate::AppState;

/// Coverage query.
#[derive(Deserialize, Default)]
pub struct CoverageQuery {
    #[serde(default)]
    days: Option<String>,
}

impl CoverageQuery {
    /// For the API: the threshold asked (1 to 365 days), the default when
    /// absent, `None` for anything else (an empty value included) — a client
    /// is told, not guessed for.
    pub fn days_given(&self) -> Option<i64> {
        match &self.days {
            None => Some(DEFAULT_DAYS),
            Some(d) => d.trim().parse::<i64>().ok().filter(|d| (1..=365).contains(d)),
        }
    }
    /// For the page: the threshold asked, or the default.
    pub fn days(&self) -> i64 {
        self.days_given().unwrap_or(DEFAULT_DAYS)
    }
}

#[derive(Template)]
#[template(path = "rounds/coverage.html")]
struct CoveragePage {
    ctx: PageCtx,
    c: Coverage,
}

/// GET /coverage
pub async fn page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<CoverageQuery>) -> AppResult<Response> {
    Ok(render(&CoveragePage { ctx, c: app::coverage(&state, &who, q.days()).await? }))
}
