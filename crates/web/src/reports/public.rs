//! The public side: the report form `/signaler` (no account, phone first) and
//! the follow-up page `/suivi/{token}` (status and public answer only).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{EmailAddress, Timestamp};
use veille_geo::LonLat;
use veille_storage::reports::{self, Report, SEEN, SOURCES};

use crate::auth::ClientIp;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{FieldErrors, Form};
use crate::page::{render, render_status, PageCtx};
use crate::AppState;

use super::{Intake, Placement, Received};

/// The public form, as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct ReportInput {
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    seen: Vec<String>,
    #[serde(default)]
    adults: String,
    #[serde(default)]
    children: String,
    #[serde(default)]
    tents: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    consent: Option<String>,
    #[serde(default)]
    source: String,
    /// Honeypot: hidden from people, filled by robots.
    #[serde(default)]
    website: String,
}

impl ReportInput {
    /// Whether a flag was ticked (for re-rendering).
    pub fn has_seen(&self, flag: &str) -> bool {
        self.seen.iter().any(|s| s == flag)
    }
    /// Whether consent was ticked.
    pub fn consented(&self) -> bool {
        self.consent.is_some()
    }
}

#[derive(Template)]
#[template(path = "reports/form.html")]
struct FormPage {
    ctx: PageCtx,
    form: ReportInput,
    errors: FieldErrors,
    seen_flags: Vec<&'static str>,
    sources: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "reports/received.html")]
struct ReceivedPage {
    ctx: PageCtx,
    reference: String,
    link: String,
    placement: Placement,
}

impl ReceivedPage {
    fn reference_line(&self) -> String {
        self.ctx.tf("report.received.reference", &[("reference", &self.reference)])
    }
    fn territory_line(&self, name: &str) -> String {
        self.ctx.tf("report.received.in_territory", &[("territory", name)])
    }
}

fn form_page(ctx: PageCtx, form: ReportInput, errors: FieldErrors) -> FormPage {
    FormPage { ctx, form, errors, seen_flags: SEEN.to_vec(), sources: SOURCES.to_vec() }
}

/// GET /signaler
pub async fn form(ctx: PageCtx) -> AppResult<Response> {
    Ok(render(&form_page(ctx, ReportInput { source: "public".into(), ..Default::default() }, FieldErrors::new())))
}

fn count(text: &str) -> Result<u32, ()> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    t.parse::<u32>().ok().filter(|n| *n <= 999).ok_or(())
}

fn coordinate(text: &str) -> Option<f64> {
    text.trim().replace(',', ".").parse::<f64>().ok()
}

/// Checks the public form; French (or English) messages by field.
pub fn validate(ctx: &PageCtx, input: &ReportInput) -> Result<Intake, FieldErrors> {
    let mut errors = FieldErrors::new();
    let (lon_t, lat_t) = (input.lon.trim(), input.lat.trim());
    let address = input.address.trim().to_owned();
    let point = if lon_t.is_empty() && lat_t.is_empty() {
        if address.chars().count() < 3 {
            errors.add("lat", ctx.t("report.form.place_required"));
        }
        None
    } else {
        match (coordinate(lat_t), coordinate(lon_t)) {
            (Some(lat), Some(lon)) => match LonLat::new(lon, lat) {
                Ok(p) => Some(p),
                Err(_) => {
                    errors.add("lat", ctx.t("report.form.coordinates_invalid"));
                    None
                }
            },
            _ => {
                errors.add("lat", ctx.t("report.form.coordinates_invalid"));
                None
            }
        }
    };
    if address.chars().count() > 300 {
        errors.add("address", ctx.t("report.form.too_long"));
    }
    let seen: Vec<String> = input.seen.iter().filter(|s| SEEN.contains(&s.as_str())).cloned().collect();
    if seen.len() != input.seen.len() {
        errors.add("seen", ctx.t("form.choose_one"));
    }
    let mut counts = [0u32; 3];
    for (i, field) in ["adults", "children", "tents"].into_iter().enumerate() {
        let text = match field {
            "adults" => &input.adults,
            "children" => &input.children,
            _ => &input.tents,
        };
        match count(text) {
            Ok(n) => counts[i] = n,
            Err(()) => errors.add(field, ctx.t("report.form.count_invalid")),
        }
    }
    let description = input.description.trim().to_owned();
    let len = description.chars().count();
    if len < 10 {
        errors.add("description", ctx.t("report.form.description_short"));
    } else if len > 4000 {
        errors.add("description", ctx.t("report.form.too_long"));
    }
    let email = input.email.trim();
    let email = if email.is_empty() {
        None
    } else {
        match EmailAddress::parse(email) {
            Ok(e) => Some(e.as_str().to_owned()),
            Err(_) => {
                errors.add("email", ctx.t("form.email_invalid"));
                None
            }
        }
    };
    let phone = input.phone.trim();
    let phone = if phone.is_empty() {
        None
    } else if phone.chars().all(|c| c.is_ascii_digit() || " +.-()".contains(c)) && (6..=20).contains(&phone.chars().filter(char::is_ascii_digit).count()) {
        Some(phone.to_owned())
    } else {
        errors.add("phone", ctx.t("report.form.phone_invalid"));
        None
    };
    let consent = input.consent.is_some();
    if (!input.email.trim().is_empty() || !input.phone.trim().is_empty()) && !consent {
        errors.add("consent", ctx.t("report.form.consent_required"));
    }
    let source = if input.source.is_empty() { "public".to_owned() } else { input.source.clone() };
    if !SOURCES.contains(&source.as_str()) {
        errors.add("source", ctx.t("form.choose_one"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Intake {
        source,
        channel: "web".into(),
        point,
        address,
        seen,
        adults: counts[0],
        children: counts[1],
        tents: counts[2],
        description,
        email: if consent { email } else { None },
        phone: if consent { phone } else { None },
        consent,
    })
}

/// POST /signaler
pub async fn submit(State(state): State<AppState>, ctx: PageCtx, ClientIp(ip): ClientIp, Form(input): Form<ReportInput>) -> AppResult<Response> {
    if !input.website.is_empty() {
        return Err(AppError::bad_request());
    }
    let intake = match validate(&ctx, &input) {
        Ok(i) => i,
        Err(errors) => return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &form_page(ctx, input, errors))),
    };
    let client = crate::security::token_hash(&format!("report-submission:{ip}"));
    let Some(Received { reference, token, placement, .. }) = super::receive(&state, &intake, None, Some(&client)).await? else {
        return Err(AppError::new(ErrorKind::Throttled));
    };
    let link = format!("{}/suivi/{token}", state.config.base_url.trim_end_matches('/'));
    Ok(render_status(StatusCode::CREATED, &ReceivedPage { ctx, reference, link, placement }))
}

/// What the reporter sees of a report (and staff see as the preview).
#[derive(Clone, Debug)]
pub struct PublicView {
    /// Reference.
    pub reference: String,
    /// Received at.
    pub created_at: Timestamp,
    /// Status code.
    pub status: String,
    /// The public answer (may be empty).
    pub answer: String,
    /// When answered.
    pub answer_at: Option<Timestamp>,
}

impl PublicView {
    /// From a stored report, with the answer as published.
    pub fn of(r: &Report) -> Self {
        Self { reference: r.reference.clone(), created_at: r.created_at, status: r.status.clone(), answer: r.public_answer.clone(), answer_at: r.public_answer_at }
    }
}

#[derive(Template)]
#[template(path = "reports/follow.html")]
struct FollowPage {
    ctx: PageCtx,
    view: PublicView,
    /// The reporter left an e-mail and has not typed the mailed code back yet.
    confirm_needed: bool,
    /// Just confirmed.
    confirmed: bool,
    code: String,
    errors: FieldErrors,
}

async fn by_token(state: &AppState, token: &str) -> AppResult<Report> {
    if token.len() < 20 || token.len() > 100 {
        return Err(AppError::not_found());
    }
    reports::by_token_hash(&state.db, &crate::security::token_hash(token)).await?.ok_or_else(AppError::not_found)
}

/// What the reporter sees: their report, or, once it is attached to a main
/// report as a duplicate, the main report's status and public answer under
/// their own reference.
async fn public_view(state: &AppState, report: &Report) -> AppResult<PublicView> {
    let Some(main) = report.duplicate_of else { return Ok(PublicView::of(report)) };
    let main = reports::get(&state.db, main).await?;
    Ok(PublicView { reference: report.reference.clone(), created_at: report.created_at, ..PublicView::of(&main) })
}

fn follow_page(ctx: PageCtx, report: &Report, view: PublicView, confirmed: bool, code: String, errors: FieldErrors) -> FollowPage {
    let confirm_needed = report.contact_email.is_some() && report.contact_consent && !report.email_confirmed && !confirmed;
    FollowPage { ctx, view, confirm_needed, confirmed, code, errors }
}

/// GET /suivi/{token}
pub async fn follow(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    let report = by_token(&state, &token).await?;
    let view = public_view(&state, &report).await?;
    Ok(render(&follow_page(ctx, &report, view, false, String::new(), FieldErrors::new())))
}

/// The e-mail confirmation form.
#[derive(Deserialize, Default)]
pub struct ConfirmInput {
    #[serde(default)]
    code: String,
}

/// POST /suivi/{token}: the reporter types back the code mailed to them.
pub async fn confirm(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>, Form(input): Form<ConfirmInput>) -> AppResult<Response> {
    let report = by_token(&state, &token).await?;
    let typed: String = input.code.trim().to_ascii_uppercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let matches = report.email_confirm_hash.as_deref().is_some_and(|h| crate::security::same(h, &crate::security::token_hash(&typed)));
    if !matches {
        let mut errors = FieldErrors::new();
        errors.add("code", ctx.t("report.follow.code_invalid"));
        let view = public_view(&state, &report).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &follow_page(ctx, &report, view, false, input.code, errors)));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    reports::confirm_email(&mut tx, report.id, now).await?;
    veille_storage::audit::append(
        &mut tx,
        veille_storage::audit::NewEntry {
            at: now,
            actor_user: None,
            actor_organisation: None,
            action: "update",
            record_kind: "report",
            record_id: Some(report.id.to_string()),
            record_organisation: report.organisation,
            detail: serde_json::json!({"field": "email_confirmed"}),
        },
    )
    .await?;
    tx.commit().await?;
    let view = public_view(&state, &report).await?;
    Ok(render(&follow_page(ctx, &report, view, true, String::new(), FieldErrors::new())))
}
