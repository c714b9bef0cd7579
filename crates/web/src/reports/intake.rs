//! The report forms as the browser sends them: `multipart/form-data` with an
//! optional photo (plain url-encoded forms are accepted too), checked for
//! forgery, and the staff's partner intake pages. What a report says and how
//! it is checked and received is the application layer's
//! (`veille_app::reports::intake`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Multipart, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::Response;

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{csrf_ok, same_origin, FieldErrors};
use crate::page::{render, render_status, PageCtx};
use crate::AppState;

pub use veille_app::reports::intake::{gate, Choices, IntakeInput, Mode, Refused};
use veille_app::reports::{photos, Placement, Received};

/// A report form as sent: its fields and the photo file, if one was chosen.
pub struct IntakeForm {
    /// The fields.
    pub input: IntakeInput,
    /// The chosen file (absent or empty when none was chosen).
    pub file: Option<Vec<u8>>,
}

impl<S> FromRequest<S> for IntakeForm
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let (parts, body) = req.into_parts();
        let multipart =
            parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        let req = Request::from_parts(parts.clone(), body);
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut file = None;
        if multipart {
            let mut m = <Multipart as FromRequest<()>>::from_request(req, &()).await.map_err(|_| AppError::bad_request())?;
            while let Some(field) = m.next_field().await.map_err(|_| AppError::new(ErrorKind::TooLarge))? {
                let name = field.name().unwrap_or("").to_owned();
                let is_file = field.file_name().is_some();
                let bytes = field.bytes().await.map_err(|_| AppError::new(ErrorKind::TooLarge))?;
                if name == "photo" && is_file {
                    file = (!bytes.is_empty()).then(|| bytes.to_vec());
                } else {
                    pairs.push((name, String::from_utf8_lossy(&bytes).into_owned()));
                }
            }
        } else {
            let bytes = Bytes::from_request(req, state).await.map_err(|_| AppError::new(ErrorKind::TooLarge))?;
            pairs = serde_html_form::from_bytes(&bytes).map_err(|_| AppError::bad_request())?;
        }
        let submitted = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
        if !same_origin(&parts) || !csrf_ok(&parts, submitted, app.config.cookies_secure()) {
            return Err(AppError::new(ErrorKind::CsrfRejected));
        }
        let pairs = crate::forms::pairs_without_nul(pairs);
        let encoded = serde_urlencoded::to_string(&pairs).map_err(|_| AppError::bad_request())?;
        let input =
            serde_html_form::from_str(&encoded).map_err(|e| AppError { kind: ErrorKind::BadRequest, cause: Some(anyhow::anyhow!("form decoding: {e}")) })?;
        Ok(IntakeForm { input, file })
    }
}

/// The staff intake form.
#[derive(Template)]
#[template(path = "reports/new.html")]
struct NewPage {
    ctx: PageCtx,
    form: IntakeInput,
    errors: FieldErrors,
    photo_token: Option<String>,
    c: Choices,
    /// Active sites the account may read: (id, name · address).
    sites: Vec<(veille_domain::SiteId, String)>,
}

impl NewPage {
    fn photo_hint(&self) -> String {
        self.ctx.tf("report.photo.hint", &[("max", photos::MAX_MEGABYTES)])
    }
}

/// What staff see once the report is in.
#[derive(Template)]
#[template(path = "reports/taken_in.html")]
struct TakenInPage {
    ctx: PageCtx,
    received: Received,
    link: String,
}

impl TakenInPage {
    fn reference_line(&self) -> String {
        self.ctx.tf("report.intake.recorded", &[("reference", &self.received.reference)])
    }
    fn territory_line(&self, name: &str) -> String {
        self.ctx.tf("report.received.in_territory", &[("territory", name)])
    }
}

/// GET /reports/new
pub async fn new_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    gate(&who)?;
    let form = IntakeInput { channel: "phone".into(), ..Default::default() };
    let sites = veille_app::reports::intake::site_choices(&state, &who).await?;
    Ok(render(&NewPage { ctx, form, errors: FieldErrors::new(), photo_token: None, c: Choices::of(Mode::Staff), sites }))
}

/// POST /reports/new
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, form: IntakeForm) -> AppResult<Response> {
    match veille_app::reports::intake::take_in(&state, &who, ctx.lang, form.input, form.file).await? {
        Ok(received) => {
            let link = received.follow_url.clone();
            Ok(render_status(StatusCode::CREATED, &TakenInPage { ctx, received, link }))
        }
        Err(Refused { form, errors, photo_token }) => {
            let sites = veille_app::reports::intake::site_choices(&state, &who).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &NewPage { ctx, form, errors, photo_token, c: Choices::of(Mode::Staff), sites }))
        }
    }
}
