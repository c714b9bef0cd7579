//! Exports of lists (decision 91): one route per list, each handing its
//! list's filters (the query string of the list on screen), the chosen
//! columns (`col`, repeated) and the format (`format=csv|xlsx`) to
//! `veille_app::exports::export`, and the "Exporter" form every list page
//! includes (`templates/exports/form.html`).
//!
//! A CSV is sent as it is written, `PAGE_ROWS` lines a chunk, announcing its
//! number of lines in `X-Export-Rows`: the form's script reads the answer as
//! it arrives and shows a progress bar and "n / total" lines (bytes of the
//! announced length for an XLSX, which is written whole before it is sent).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::get;
use futures_util::stream::{self, StreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use veille_app::exports::{self as app, Filters, Format, List, Offer, PAGE_ROWS};
use veille_app::reports::staff::QueueQuery;

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult};
use crate::page::PageCtx;
use crate::routes::Registry;
use crate::AppState;

/// The header that announces how many lines an export holds.
pub const ROWS_HEADER: &str = "x-export-rows";

/// The export routes of every list.
pub fn routes(reg: Registry) -> Registry {
    use crate::routes::Access::*;
    reg.get("/reports/export", Signed, "The report queue with its filters as CSV or XLSX, chosen columns (no free text nor contact details)", get(reports))
        .get("/people/export", Signed, "People as CSV or XLSX, chosen columns (pseudonymised; health only for those who read it)", get(people))
        .get("/encounters/export", Signed, "Encounters as CSV or XLSX, chosen columns (care only for those who read health)", get(encounters))
        .get("/referrals/export", Signed, "Referrals sent and received as CSV or XLSX, chosen columns", get(referrals))
        .get("/sites/export", Signed, "Sites with the list's filters as CSV or XLSX, chosen columns", get(sites))
        .get("/cases/export", Signed, "Cases (open, or all) as CSV or XLSX, chosen columns (no title: free text)", get(cases))
        .get("/rounds/export", Signed, "The rounds board (overdue, out, planned, recent) as CSV or XLSX, chosen columns (no free text)", get(rounds))
        .get("/shelter/stays/export", Signed, "Shelter stays (current, or all) as CSV or XLSX, chosen columns (no label, reference nor note)", get(stays))
}

/// What an export asks beside the list's filters.
#[derive(Deserialize, Default)]
struct Choice {
    #[serde(default)]
    format: String,
    #[serde(default)]
    col: Vec<String>,
}

fn parse<T: DeserializeOwned>(q: &Option<String>) -> AppResult<T> {
    serde_html_form::from_str(q.as_deref().unwrap_or("")).map_err(|_| AppError::bad_request())
}

/// The people list's filter.
#[derive(Deserialize, Default)]
struct PeopleQuery {
    #[serde(default)]
    left: String,
}

async fn reports(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, RawQuery(q): RawQuery) -> AppResult<Response> {
    let filters = Filters::Reports(parse::<QueueQuery>(&q)?);
    send(&state, &ctx, &who, filters, &q).await
}

async fn people(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, RawQuery(q): RawQuery) -> AppResult<Response> {
    let filters = Filters::People { active: parse::<PeopleQuery>(&q)?.left != "1" };
    send(&state, &ctx, &who, filters, &q).await
}

async fn encounters(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, RawQuery(q): RawQuery) -> AppResult<Response> {
    send(&state, &ctx, &who, Filters::Encounters, &q).await
}

async fn referrals(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, RawQuery(q): RawQuery) -> AppResult<Response> {
    send(&state, &ctx, &who, Filters::Referrals, &q).await
}

async fn sites(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, RawQuery(q): RawQuery) -> AppResult<Response> {
    let filters = Filters::Sites(crate::sites::pages::list_filter(&parse(&q)?));
    send(&state, &ctx, &who, filters, &q).await
}

/// The cases and stays lists' filter.
#[derive(Deserialize, Default)]
struct CasesQuery {
    #[serde(default)]
    all: String,
}

async fn cases(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, RawQuery(q): RawQuery) -> AppResult<Response> {
    let filters = Filters::Cases { all: !parse::<CasesQuery>(&q)?.all.is_empty() };
    send(&state, &ctx, &who, filters, &q).await
}

async fn stays(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, RawQuery(q): RawQuery) -> AppResult<Response> {
    let filters = Filters::Stays { all: !parse::<CasesQuery>(&q)?.all.is_empty() };
    send(&state, &ctx, &who, filters, &q).await
}

async fn rounds(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, RawQuery(q): RawQuery) -> AppResult<Response> {
    send(&state, &ctx, &who, Filters::Rounds, &q).await
}

async fn send(state: &AppState, ctx: &PageCtx, who: &Authenticated, filters: Filters, q: &Option<String>) -> AppResult<Response> {
    let choice: Choice = parse(q)?;
    let format = Format::from_code(&choice.format);
    let export = app::export(state, who, ctx.lang, &filters, &choice.col, format).await?;
    respond(export).await
}

/// The download of an export: a CSV streamed by pages of lines, an XLSX
/// written off the async threads; both announce their lines.
pub async fn respond(export: app::Export) -> AppResult<Response> {
    let rows = export.rows.len();
    let name = export.file_name();
    let content_type = export.format.content_type();
    let mut response = match export.format {
        Format::Csv => {
            let export = Arc::new(export);
            let pages = rows.div_ceil(PAGE_ROWS);
            let header = export.csv_header();
            let lines = stream::iter(0..pages).map(move |i| Ok::<_, Infallible>(export.csv_rows(i * PAGE_ROWS, (i + 1) * PAGE_ROWS)));
            let body = stream::once(async move { Ok::<_, Infallible>(header) }).chain(lines);
            crate::page::download_body(content_type, &name, Body::from_stream(body))
        }
        Format::Xlsx => {
            let bytes = tokio::task::spawn_blocking(move || export.to_xlsx()).await.map_err(|e| AppError::from(anyhow::anyhow!("xlsx task: {e}")))??;
            crate::page::download(content_type, &name, bytes)
        }
    };
    response.headers_mut().insert(ROWS_HEADER, HeaderValue::from(rows));
    Ok(response)
}

/// The non-empty pairs of a query string (a list's filters as hidden fields).
pub fn hidden_of(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The "Exporter" form of a list page: where it goes, the columns offered
/// to the reader, and the list's filters as hidden fields (the export holds
/// the lines on screen).
pub struct ExportForm {
    /// The export route.
    pub action: &'static str,
    /// The columns offered.
    pub offers: Vec<Offer>,
    /// The list's filters.
    pub hidden: Vec<(String, String)>,
}

impl ExportForm {
    /// The form of `list` for the reader, with the filters on screen.
    pub fn new(who: &Authenticated, ctx: &PageCtx, list: List, hidden: Vec<(String, String)>) -> ExportForm {
        let action = match list {
            List::Reports => "/reports/export",
            List::People => "/people/export",
            List::Encounters => "/encounters/export",
            List::Referrals => "/referrals/export",
            List::Sites => "/sites/export",
            List::Cases => "/cases/export",
            List::Stays => "/shelter/stays/export",
            List::Rounds => "/rounds/export",
        };
        ExportForm { action, offers: app::form(who, ctx.lang, list), hidden }
    }
}
