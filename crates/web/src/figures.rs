//! The figures dashboard (`/figures`), its exports (CSV, XLSX), the activity
//! report (printable page and PDF) and the JSON API of each group — adapters
//! over `veille_app::figures`, which decides what is counted, for whom, and
//! what is suppressed.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use veille_app::figures::{self as app, export, Audience, Dashboard, FiguresQuery, GroupFigures, Kind};
use veille_documents::{Block, Document};

use crate::auth::Authenticated;
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::i18n::Lang;
use crate::page::{render, PageCtx};
use crate::routes::{schema, ApiDoc, QueryParam, Registry};
use crate::sites::chart::{chart, Chart};
use crate::AppState;

/// The query parameters of the API, with the bounds the handler enforces.
pub const PARAMS: &[QueryParam] = &[
    QueryParam { name: "period", schema: r#"{"type": "string", "enum": ["month", "quarter", "year", "custom"]}"#, required: false },
    QueryParam {
        name: "at",
        schema: r#"{"type": "string", "maxLength": 7, "description": "2026-11 (month), 2026-T4 (quarter) or 2026 (year)"}"#,
        required: false,
    },
    QueryParam { name: "from", schema: r#"{"type": "string", "format": "date"}"#, required: false },
    QueryParam { name: "to", schema: r#"{"type": "string", "format": "date"}"#, required: false },
    QueryParam { name: "organisation", schema: r#"{"type": "string", "format": "uuid"}"#, required: false },
    QueryParam { name: "team", schema: r#"{"type": "string", "format": "uuid"}"#, required: false },
    QueryParam { name: "territory", schema: r#"{"type": "string", "format": "uuid"}"#, required: false },
];

/// The routes of the figures.
pub fn routes(reg: Registry) -> Registry {
    use crate::routes::Access::*;
    let doc = ApiDoc::default().query(PARAMS).response(schema::<GroupFigures>);
    reg.get("/figures", Signed, "Figures dashboard: a period, its comparison and trends (aggregated, no person)", get(page))
        .get("/figures/export.csv", Signed, "The figures dashboard as CSV (small counts suppressed)", get(export_csv))
        .get("/figures/export.xlsx", Signed, "The figures dashboard as XLSX, one sheet per group (small counts suppressed)", get(export_xlsx))
        .get("/figures/activity-report", Signed, "The activity report of an organisation for a period, printable (small counts suppressed)", get(report_page))
        .get("/figures/activity-report.pdf", Signed, "The activity report as PDF (small counts suppressed)", get(report_pdf))
        .get(
            "/figures/map.geojson",
            Signed,
            "Figures by territory over the period as GeoJSON outlines with their counts (small counts suppressed)",
            get(map_geojson),
        )
        .get("/api/v1/figures/reports", Signed, "Figures: reports by source, type, level, channel, status and response time", get(api_reports))
        .doc(doc)
        .get("/api/v1/figures/encounters", Signed, "Figures: encounters and unique people, new or known, by gender and age band", get(api_encounters))
        .doc(doc)
        .get("/api/v1/figures/territories", Signed, "Figures: reports, encounters and active sites by territory", get(api_territories))
        .doc(doc)
        .get("/api/v1/figures/sites", Signed, "Figures: active sites by kind and their estimated population", get(api_sites))
        .doc(doc)
        .get("/api/v1/figures/distributions", Signed, "Figures: distributions by item", get(api_distributions))
        .doc(doc)
        .get("/api/v1/figures/referrals", Signed, "Figures: referrals by service, need and outcome", get(api_referrals))
        .doc(doc)
        .get("/api/v1/figures/cases", Signed, "Figures: cases opened and closed by outcome", get(api_cases))
        .doc(doc)
        .get("/api/v1/figures/shelter", Signed, "Figures: shelter occupancy", get(api_shelter))
        .doc(doc)
        .get("/api/v1/figures/mediations", Signed, "Figures: mediations by outcome, sessions and attendance", get(api_mediations))
        .doc(doc)
}

#[derive(Template)]
#[template(path = "figures/dashboard.html")]
struct DashboardPage {
    ctx: PageCtx,
    q: FiguresQuery,
    kind: String,
    errors: FieldErrors,
    options: app::Options,
    d: Option<Dashboard>,
    charts: Vec<(Chart, Vec<(String, String)>)>,
    areas: Vec<app::MapArea>,
}

impl DashboardPage {
    fn kinds(&self) -> Vec<(&'static str, String)> {
        [Kind::Month, Kind::Quarter, Kind::Year, Kind::Custom].iter().map(|k| (k.code(), self.ctx.t(&format!("figures.kind.{}", k.code())))).collect()
    }
    /// The territories the map shows (some count in the period).
    fn shown_areas(&self) -> Vec<&app::MapArea> {
        self.areas.iter().filter(|a| [a.reports, a.encounters, a.sites].iter().any(|c| c.value != Some(0))).collect()
    }
    fn cell(&self, c: &app::Cell) -> String {
        c.text(self.d.as_ref().map(|d| d.min_cell).unwrap_or(11))
    }
    fn measure(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())
    }
    /// The change from the period before, as text (`+3`, `−2`, `=`), when both are shown.
    fn change(&self, r: &app::Row) -> String {
        match (r.current.value, r.previous.value) {
            (Some(a), Some(b)) if a > b => format!("+{}", a - b),
            (Some(a), Some(b)) if a < b => format!("−{}", b - a),
            (Some(_), Some(_)) => "=".into(),
            _ => "—".into(),
        }
    }
    fn compared(&self) -> String {
        self.d.as_ref().map(|d| self.ctx.tf("figures.compared", &[("previous", &d.previous.label())])).unwrap_or_default()
    }
    fn rule(&self, key: &str) -> String {
        self.d.as_ref().map(|d| self.ctx.tf(key, &[("min", &d.min_cell.to_string())])).unwrap_or_default()
    }
    fn export_query(&self) -> String {
        let mut q = self.q.clone();
        if let Some(d) = &self.d {
            q.period = d.period.kind.code().into();
            q.at = d.period.at();
            q.organisation = d.organisation.to_string();
        }
        q.query_string()
    }
}

fn charts_of(d: &Dashboard) -> Vec<(Chart, Vec<(String, String)>)> {
    d.trends
        .iter()
        .map(|s| {
            // Suppressed months are left out of the line (the table says `< 11`).
            let values: Vec<(veille_domain::Timestamp, i64)> = s
                .points
                .iter()
                .filter_map(|(m, c)| {
                    let day = chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok()?;
                    Some((veille_domain::Timestamp::at_paris(day, 12 * 60)?, c.value?))
                })
                .collect();
            let table = s.points.iter().map(|(m, c)| (m.clone(), c.text(d.min_cell))).collect();
            (chart(&s.id, &s.title, &values), table)
        })
        .collect()
}

async fn choose(state: &AppState, who: &Authenticated, lang: Lang, q: &FiguresQuery) -> Result<veille_app::figures::Choice, FieldErrors> {
    app::validate(state, who, lang, q)
}

/// GET /figures
pub async fn page(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    let lang = ctx.lang;
    let (d, errors, org, areas) = match choose(&state, &who, lang, &q).await {
        Ok(choice) => {
            let d = app::dashboard(&state, &who, lang, &choice, Audience::Page).await?;
            let areas = app::map_of(&state, &d).await?;
            (Some(d), FieldErrors::new(), choice.organisation, areas)
        }
        Err(errors) => (None, errors, who.account.organisation, Vec::new()),
    };
    let options = app::options(&state, &who, org).await?;
    let charts = d.as_ref().map(charts_of).unwrap_or_default();
    let kind = d.as_ref().map(|d| d.period.kind.code().to_owned()).unwrap_or_else(|| if q.period.is_empty() { "month".into() } else { q.period.clone() });
    Ok(render(&DashboardPage { ctx, q, kind, errors, options, d, charts, areas }))
}

/// The sections chosen in the query (`section=reports&section=sites`, decision 89).
fn sections_of(raw: &Option<String>) -> Vec<String> {
    let pairs: Vec<(String, String)> = raw.as_deref().and_then(|r| serde_html_form::from_str(r).ok()).unwrap_or_default();
    pairs.into_iter().filter(|(k, _)| k == "section").map(|(_, v)| v).collect()
}

/// The choices and the chosen sections (ids of `GROUPS`) as a query string.
fn with_sections(q: &FiguresQuery, sections: &[String]) -> String {
    sections.iter().fold(q.query_string(), |s, id| format!("{s}&section={id}"))
}

async fn outside(state: &AppState, who: &Authenticated, lang: Lang, q: &FiguresQuery, sections: &[String]) -> AppResult<Result<Dashboard, FieldErrors>> {
    Ok(match choose(state, who, lang, q).await {
        Ok(choice) => Ok(app::dashboard_of(state, who, lang, &choice, Audience::Outside, sections).await?),
        Err(e) => Err(e),
    })
}

/// GET /figures/map.geojson
pub async fn map_geojson(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    Ok(match choose(&state, &who, ctx.lang, &q).await {
        Ok(choice) => {
            let areas = app::map(&state, &who, ctx.lang, &choice).await?;
            let body = app::map_geojson(&state, &areas).await?.to_string();
            ([(CONTENT_TYPE, "application/geo+json"), (CACHE_CONTROL, "no-store")], body).into_response()
        }
        Err(e) => bad_choice(ctx.lang, &e),
    })
}

fn file_name(d: &Dashboard, ext: &str) -> String {
    format!("chiffres-{}.{ext}", d.period.label().replace([' ', '–'], ""))
}

fn bad_choice(lang: Lang, errors: &FieldErrors) -> Response {
    crate::api::invalid(lang, errors)
}

/// GET /figures/export.csv
pub async fn export_csv(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Query(q): Query<FiguresQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    Ok(match outside(&state, &who, ctx.lang, &q, &sections_of(&raw)).await? {
        Ok(d) => crate::page::download("text/csv; charset=utf-8", &file_name(&d, "csv"), export::to_csv(ctx.lang, &d)?),
        Err(e) => bad_choice(ctx.lang, &e),
    })
}

/// GET /figures/export.xlsx
pub async fn export_xlsx(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Query(q): Query<FiguresQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    Ok(match outside(&state, &who, ctx.lang, &q, &sections_of(&raw)).await? {
        Ok(d) => {
            crate::page::download("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &file_name(&d, "xlsx"), export::to_xlsx(ctx.lang, &d)?)
        }
        Err(e) => bad_choice(ctx.lang, &e),
    })
}

#[derive(Template)]
#[template(path = "figures/report.html")]
struct ReportPage {
    ctx: PageCtx,
    pdf: String,
    xlsx: String,
    /// The choices, kept as hidden fields of the sections' form.
    hidden: Vec<(String, String)>,
    /// Every group (id, title) and whether it is chosen.
    sections: Vec<(String, String, bool)>,
    doc: Document,
}

/// GET /figures/activity-report
pub async fn report_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Query(q): Query<FiguresQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let chosen = sections_of(&raw);
    Ok(match outside(&state, &who, ctx.lang, &q, &chosen).await? {
        Ok(d) => {
            let doc = export::activity_report(ctx.lang, &d);
            let picked = app::chosen_sections(&chosen);
            let explicit: Vec<String> = if picked.len() == app::GROUPS.len() { Vec::new() } else { picked.iter().map(|s| (*s).to_owned()).collect() };
            let query = with_sections(&q, &explicit);
            let sections = app::GROUPS.iter().map(|g| ((*g).to_owned(), ctx.t(&format!("figures.group.{g}")), explicit.iter().any(|e| e == g))).collect();
            let (pdf, xlsx) = (format!("/figures/activity-report.pdf?{query}"), format!("/figures/export.xlsx?{query}"));
            let hidden =
                serde_html_form::from_str::<Vec<(String, String)>>(&q.query_string()).unwrap_or_default().into_iter().filter(|(_, v)| !v.is_empty()).collect();
            render(&ReportPage { ctx, pdf, xlsx, hidden, sections, doc })
        }
        Err(e) => bad_choice(ctx.lang, &e),
    })
}

/// GET /figures/activity-report.pdf
pub async fn report_pdf(
    State(state): State<AppState>,
    ctx: PageCtx,
    who: Authenticated,
    Query(q): Query<FiguresQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    Ok(match outside(&state, &who, ctx.lang, &q, &sections_of(&raw)).await? {
        Ok(d) => {
            let name = format!("rapport-activite-{}.pdf", d.period.label().replace([' ', '–'], ""));
            crate::page::download("application/pdf", &name, export::activity_report_pdf(ctx.lang, &d).await?)
        }
        Err(e) => bad_choice(ctx.lang, &e),
    })
}

async fn api(state: AppState, who: Authenticated, q: FiguresQuery, id: &str) -> AppResult<Response> {
    let lang = Lang::from_code(&who.account.lang);
    Ok(match choose(&state, &who, lang, &q).await {
        Ok(choice) => Json(app::group(&state, &who, lang, &choice, id).await?).into_response(),
        Err(e) => bad_choice(lang, &e),
    })
}

/// GET /api/v1/figures/reports
pub async fn api_reports(State(s): State<AppState>, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    api(s, who, q, "reports").await
}
/// GET /api/v1/figures/encounters
pub async fn api_encounters(State(s): State<AppState>, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    api(s, who, q, "encounters").await
}
/// GET /api/v1/figures/territories
pub async fn api_territories(State(s): State<AppState>, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    api(s, who, q, "territories").await
}
/// GET /api/v1/figures/sites
pub async fn api_sites(State(s): State<AppState>, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    api(s, who, q, "sites").await
}
/// GET /api/v1/figures/distributions
pub async fn api_distributions(State(s): State<AppState>, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    api(s, who, q, "distributions").await
}
/// GET /api/v1/figures/referrals
pub async fn api_referrals(State(s): State<AppState>, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    api(s, who, q, "referrals").await
}
/// GET /api/v1/figures/cases
pub async fn api_cases(State(s): State<AppState>, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    api(s, who, q, "cases").await
}
/// GET /api/v1/figures/shelter
pub async fn api_shelter(State(s): State<AppState>, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    api(s, who, q, "shelter").await
}
/// GET /api/v1/figures/mediations
pub async fn api_mediations(State(s): State<AppState>, who: Authenticated, Query(q): Query<FiguresQuery>) -> AppResult<Response> {
    api(s, who, q, "mediations").await
}
