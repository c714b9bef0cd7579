//! The spreadsheet import page (`/imports`, decision 86): a coordinator or an
//! organisation administrator chooses what the file holds and the file, sees
//! the columns and the field each fills (and may change them), tries first,
//! then imports. A thin adapter over `veille_app::imports`; the file chosen
//! is carried in the page (up to [`CARRIED`] bytes) so that the choices can
//! be changed and the import confirmed without choosing it again.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use veille_app::imports::{self, Kind, Options, Outcome, Refusal};

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{csrf_ok, same_origin, FieldErrors};
use crate::page::{render, render_status, PageCtx};
use crate::routes::{Access, Registry};
use crate::AppState;

/// The routes of the page.
pub fn routes(reg: Registry) -> Registry {
    use axum::routing::{get, post};
    reg.get("/imports", Access::Signed, "Import people, encounters or sites from a spreadsheet (dry run first)", get(form)).post(
        "/imports",
        Access::Signed,
        "Try or run a spreadsheet import",
        post(upload),
    )
}

/// The largest file the page carries from one try to the next.
pub const CARRIED: usize = 4 * 1024 * 1024;

/// How many refusals the page lists.
const SHOWN: usize = 500;

/// What was chosen (kept on every answer).
#[derive(Default)]
struct Choice {
    kind: String,
    dry_run: bool,
    skip_refused: bool,
    file_name: String,
    /// The file, base64, when it is carried.
    file_data: String,
}

/// A column of the file and the field it fills ("-": left out).
struct Column {
    header: String,
    field: String,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct Page {
    ctx: PageCtx,
    errors: FieldErrors,
    choice: Choice,
    kinds: Vec<(&'static str, String)>,
    /// The fields of the chosen kind (for the mapping's choices).
    fields: Vec<&'static str>,
    columns: Vec<Column>,
    outcome: Option<View>,
}

struct View {
    summary: Vec<String>,
    file_error: Option<String>,
    refusals: Vec<Refusal>,
    more: usize,
    written: bool,
    dry_run: bool,
}

impl Page {
    fn new(ctx: PageCtx, who: &Authenticated, choice: Choice) -> Page {
        let kinds = Kind::ALL.iter().filter(|k| imports::require(who, **k).is_ok()).map(|k| (k.code(), ctx.t(&format!("imports.kind.{}", k.code())))).collect();
        let fields = Kind::from_code(&choice.kind).map(|k| k.fields().iter().map(|f| f.name).collect()).unwrap_or_default();
        Page { ctx, errors: FieldErrors::new(), choice, kinds, fields, columns: Vec::new(), outcome: None }
    }
}

/// GET /imports
pub async fn form(ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    if !imports::can_import(&who) {
        return Err(AppError::new(ErrorKind::Forbidden));
    }
    let choice = Choice { kind: "people".into(), dry_run: true, ..Default::default() };
    Ok(render(&Page::new(ctx, &who, choice)))
}

/// POST /imports (multipart: csrf, kind, file or file_name + file_data, dry_run, skip_refused, col_N + map_N)
pub async fn upload(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, req: axum::extract::Request) -> AppResult<Response> {
    if !imports::can_import(&who) {
        return Err(AppError::new(ErrorKind::Forbidden));
    }
    let (parts, body) = req.into_parts();
    if !same_origin(&parts) {
        return Err(AppError::new(ErrorKind::CsrfRejected));
    }
    let req = axum::extract::Request::from_parts(parts.clone(), body);
    let mut multipart = <Multipart as axum::extract::FromRequest<()>>::from_request(req, &()).await.map_err(|_| AppError::bad_request())?;
    let mut csrf = None;
    let mut choice = Choice::default();
    let mut file: Option<Vec<u8>> = None;
    let mut cols: std::collections::BTreeMap<usize, (String, String)> = Default::default();
    while let Some(field) = multipart.next_field().await.map_err(|_| AppError::new(ErrorKind::TooLarge))? {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(|n| n.chars().take(120).collect::<String>());
        let bytes = field.bytes().await.map_err(|_| AppError::new(ErrorKind::TooLarge))?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
        match name.as_str() {
            "csrf" => csrf = Some(text()),
            "kind" => choice.kind = text(),
            "dry_run" => choice.dry_run = true,
            "skip_refused" => choice.skip_refused = true,
            "file" if !bytes.is_empty() => {
                choice.file_name = file_name.unwrap_or_else(|| "fichier".into());
                file = Some(bytes.to_vec());
            }
            "file_name" if file.is_none() => choice.file_name = text().chars().take(120).collect(),
            "file_data" if file.is_none() && !bytes.is_empty() => {
                file = base64::engine::general_purpose::STANDARD.decode(text()).ok();
            }
            other => {
                if let Some(i) = other.strip_prefix("col_").and_then(|i| i.parse::<usize>().ok()) {
                    cols.entry(i).or_default().0 = text();
                } else if let Some(i) = other.strip_prefix("map_").and_then(|i| i.parse::<usize>().ok()) {
                    cols.entry(i).or_default().1 = text();
                }
            }
        }
    }
    if !csrf_ok(&parts, csrf.as_deref(), state.config.cookies_secure()) {
        return Err(AppError::new(ErrorKind::CsrfRejected));
    }
    let kind = Kind::from_code(&choice.kind);
    let mut errors = FieldErrors::new();
    if kind.is_none_or(|k| imports::require(&who, k).is_err()) {
        errors.add("kind", ctx.t("form.choose_one"));
    }
    if file.is_none() {
        errors.add("file", ctx.t("imports.no_file"));
    }
    let (Some(kind), Some(bytes)) = (kind.filter(|_| errors.is_empty()), file) else {
        choice.file_data.clear();
        let mut page = Page::new(ctx, &who, choice);
        page.errors = errors;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let mapping: Vec<(String, String)> = cols.into_values().filter(|(h, f)| !h.is_empty() && !f.is_empty()).collect();
    let options = Options { dry_run: choice.dry_run, skip_refused: choice.skip_refused, mapping };
    let o: Outcome = imports::import(&state, &who, ctx.lang, kind, &choice.file_name, &bytes, &options).await?;
    if bytes.len() <= CARRIED && !o.written {
        choice.file_data = base64::engine::general_purpose::STANDARD.encode(&bytes);
    }
    let status = if o.refused_any() && !o.written { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let summary = o.summary(kind, ctx.lang);
    let mut page = Page::new(ctx, &who, choice);
    page.columns = o.columns.iter().map(|(h, f)| Column { header: h.clone(), field: f.unwrap_or("-").to_owned() }).collect();
    page.outcome = Some(View {
        summary,
        file_error: o.file_error.clone(),
        more: o.refusals.len().saturating_sub(SHOWN),
        refusals: o.refusals.into_iter().take(SHOWN).collect(),
        written: o.written,
        dry_run: o.dry_run,
    });
    Ok(render_status(status, &page))
}
