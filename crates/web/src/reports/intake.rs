//! What a new report says, whichever way it comes: the public form, the
//! staff's partner intake form (`/reports/new`) and the JSON API share one
//! input, one validation function (French or English messages by field) and
//! one way to the database ([`super::receive`]: triage, routing, duplicates
//! nearby, audit). The forms may carry a photo: they are sent as
//! `multipart/form-data` (plain url-encoded forms are accepted too), and a
//! photo accepted on a form that must be shown again for other errors is kept
//! server-side under a random token for an hour, so it need not be chosen again.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Multipart, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use veille_domain::{Action, EmailAddress, Resource, ResourceKind};
use veille_geo::LonLat;
use veille_storage::reports::{self, Photo, FLAGS, SITUATIONS, SOURCES, STAFF_CHANNELS};

use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{csrf_ok, same_origin, FieldErrors};
use crate::i18n::Lang;
use crate::page::{render, render_status, PageCtx};
use crate::AppState;

use super::photos;
use super::{Intake, Placement, Received};


/// A report as typed (public form, staff form; the API converts into it).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct IntakeInput {
    #[serde(default)]
    pub lon: String,
    #[serde(default)]
    pub lat: String,
    #[serde(default)]
    pub address: String,
    /// Situation types ticked.
    #[serde(default)]
    pub situation: Vec<String>,
    /// Aggravating flags ticked.
    #[serde(default)]
    pub flag: Vec<String>,
    #[serde(default)]
    pub adults: String,
    #[serde(default)]
    pub children: String,
    #[serde(default)]
    pub tents: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub source: String,
    /// Staff intake: how it came in.
    #[serde(default)]
    pub channel: String,
    /// Staff intake: who reported (name, function, structure).
    #[serde(default)]
    pub reporter_name: String,
    /// A known site (optional; the picker comes with the sites module).
    #[serde(default)]
    pub site_id: String,
    /// Honeypot: hidden from people, filled by robots.
    #[serde(default)]
    pub website: String,
    /// A photo kept from an earlier try of this form.
    #[serde(default)]
    pub photo_token: String,
    /// The person chose to drop the kept photo.
    #[serde(default)]
    pub remove_photo: Option<String>,
}

impl IntakeInput {
    /// Whether a situation type was ticked (for re-rendering).
    pub fn has_situation(&self, code: &str) -> bool {
        self.situation.iter().any(|s| s == code)
    }
    /// Whether a flag was ticked (for re-rendering).
    pub fn has_flag(&self, code: &str) -> bool {
        self.flag.iter().any(|s| s == code)
    }
    /// Whether consent was ticked.
    pub fn consented(&self) -> bool {
        self.consent.is_some()
    }
}

/// Who is filling the form in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Anyone, on `/signaler`.
    Public,
    /// Staff typing what a partner reported (phone, e-mail, letter, meeting), or the API.
    Staff,
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

/// Checks a report as typed; one message per field in `lang`.
pub fn validate(lang: Lang, input: &IntakeInput, mode: Mode) -> Result<Intake, FieldErrors> {
    let mut errors = FieldErrors::new();
    let (lon_t, lat_t) = (input.lon.trim(), input.lat.trim());
    let address = input.address.trim().to_owned();
    let point = if lon_t.is_empty() && lat_t.is_empty() {
        if address.chars().count() < 3 {
            errors.add("lat", lang.t("report.form.place_required"));
        }
        None
    } else {
        match (coordinate(lat_t), coordinate(lon_t)) {
            (Some(lat), Some(lon)) => match LonLat::new(lon, lat) {
                Ok(p) => Some(p),
                Err(_) => {
                    errors.add("lat", lang.t("report.form.coordinates_invalid"));
                    None
                }
            },
            _ => {
                errors.add("lat", lang.t("report.form.coordinates_invalid"));
                None
            }
        }
    };
    if address.chars().count() > 300 {
        errors.add("address", lang.t("report.form.too_long"));
    }
    let situations: Vec<String> = SITUATIONS.iter().filter(|s| input.has_situation(s)).map(|s| s.to_string()).collect();
    if input.situation.iter().any(|s| !SITUATIONS.contains(&s.as_str())) {
        errors.add("situation", lang.t("form.choose_one"));
    } else if situations.is_empty() {
        errors.add("situation", lang.t("report.form.situation_required"));
    }
    let flags: Vec<String> = FLAGS.iter().filter(|f| input.has_flag(f)).map(|f| f.to_string()).collect();
    if input.flag.iter().any(|f| !FLAGS.contains(&f.as_str())) {
        errors.add("flag", lang.t("form.choose_one"));
    }
    let mut counts = [0u32; 3];
    for (i, (field, text)) in [("adults", &input.adults), ("children", &input.children), ("tents", &input.tents)].into_iter().enumerate() {
        match count(text) {
            Ok(n) => counts[i] = n,
            Err(()) => errors.add(field, lang.t("report.form.count_invalid")),
        }
    }
    let description = input.description.trim().to_owned();
    let len = description.chars().count();
    if len < 10 {
        errors.add("description", lang.t("report.form.description_short"));
    } else if len > 4000 {
        errors.add("description", lang.t("report.form.too_long"));
    }
    let email = input.email.trim();
    let email = if email.is_empty() {
        None
    } else {
        match EmailAddress::parse(email) {
            Ok(e) => Some(e.as_str().to_owned()),
            Err(_) => {
                errors.add("email", lang.t("form.email_invalid"));
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
        errors.add("phone", lang.t("report.form.phone_invalid"));
        None
    };
    let consent = input.consent.is_some();
    let (source, channel, reporter_name) = match mode {
        Mode::Public => {
            if (!input.email.trim().is_empty() || !input.phone.trim().is_empty()) && !consent {
                errors.add("consent", lang.t("report.form.consent_required"));
            }
            let source = if input.source.is_empty() { "public".to_owned() } else { input.source.clone() };
            if !SOURCES.contains(&source.as_str()) {
                errors.add("source", lang.t("form.choose_one"));
            }
            (source, "web".to_owned(), None)
        }
        Mode::Staff => {
            if !SOURCES.contains(&input.source.as_str()) || input.source == "public" {
                errors.add("source", lang.t("report.intake.source_required"));
            }
            if !STAFF_CHANNELS.contains(&input.channel.as_str()) {
                errors.add("channel", lang.t("report.intake.channel_required"));
            }
            let name = input.reporter_name.trim();
            if name.chars().count() > 200 {
                errors.add("reporter_name", lang.t("report.form.too_long"));
            }
            if consent && email.is_none() {
                errors.add("consent", lang.t("report.intake.consent_needs_email"));
            }
            (input.source.clone(), input.channel.clone(), (!name.is_empty()).then(|| name.to_owned()))
        }
    };
    // Only staff link a report to a known site (the public form has no such field).
    let site_id = match input.site_id.trim() {
        _ if mode == Mode::Public => None,
        "" => None,
        s => match s.parse::<uuid::Uuid>() {
            Ok(id) => Some(id.to_string()),
            Err(_) => {
                errors.add("site_id", lang.t("report.intake.site_invalid"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let staff = mode == Mode::Staff;
    // On the public form contact details are kept only with consent; at
    // partner intake they are the partner's (restricted field) and consent
    // is about being sent the follow-up by e-mail.
    let keep_contact = consent || staff;
    Ok(Intake {
        source,
        channel,
        point,
        address,
        situations,
        seen: flags,
        adults: counts[0],
        children: counts[1],
        tents: counts[2],
        description,
        email: if keep_contact { email } else { None },
        phone: if keep_contact { phone } else { None },
        consent,
        reporter_name,
        site_id,
        email_confirmed: staff,
        acknowledged: staff,
        photo: None,
    })
}

/// A report form as sent: its fields and the photo file, if one was chosen.
pub struct IntakeForm {
    /// The fields.
    pub input: IntakeInput,
    /// The chosen file (absent or empty when none was chosen).
    pub file: Option<Bytes>,
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
        let multipart = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
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
                    file = (!bytes.is_empty()).then_some(bytes);
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
        let input = serde_html_form::from_str(&encoded).map_err(|e| AppError { kind: ErrorKind::BadRequest, cause: Some(anyhow::anyhow!("form decoding: {e}")) })?;
        Ok(IntakeForm { input, file })
    }
}

/// The photo of a form being sent: a new file, the one kept from an earlier
/// try, or none. Adds the refusal to `errors`.
async fn chosen_photo(state: &AppState, lang: Lang, form: &IntakeForm, errors: &mut FieldErrors) -> AppResult<Option<(Photo, Option<String>)>> {
    let token = form.input.photo_token.trim();
    if let Some(bytes) = &form.file {
        return Ok(match photos::accept(bytes) {
            Ok(p) => Some((p, None)),
            Err(refusal) => {
                errors.add("photo", lang.tf(refusal.key(), &[("max", photos::MAX_MEGABYTES)]));
                None
            }
        });
    }
    if token.is_empty() || form.input.remove_photo.is_some() {
        return Ok(None);
    }
    if token.len() > 100 {
        return Ok(None);
    }
    match reports::kept_upload(&state.db, &crate::security::token_hash(token), state.clock.now()).await? {
        Some(p) => Ok(Some((p, Some(token.to_owned())))),
        None => {
            errors.add("photo", lang.t("report.photo.expired"));
            Ok(None)
        }
    }
}

/// What the form pages show.
pub struct FormView {
    /// What was typed.
    pub form: IntakeInput,
    /// Errors by field.
    pub errors: FieldErrors,
    /// The token of a photo kept for this form.
    pub photo_token: Option<String>,
}

/// Validates a form with its photo (`errors`: what the caller already found,
/// e.g. an unknown site). On errors, keeps an accepted photo under a token and
/// gives back what the page needs to show the form again.
pub async fn check(state: &AppState, lang: Lang, form: IntakeForm, mode: Mode, mut errors: FieldErrors) -> AppResult<Result<Intake, FormView>> {
    let photo = chosen_photo(state, lang, &form, &mut errors).await?;
    let intake = validate(lang, &form.input, mode);
    match (intake, errors.is_empty()) {
        (Ok(mut intake), true) => {
            intake.photo = photo.map(|(p, token)| (p, token.map(|t| crate::security::token_hash(&t))));
            Ok(Ok(intake))
        }
        (result, _) => {
            if let Err(e) = result {
                for (field, message) in e.all() {
                    errors.add(&field, message);
                }
            }
            let photo_token = match photo {
                Some((_, Some(token))) => Some(token),
                Some((p, None)) => {
                    let token = crate::security::random_token();
                    let now = state.clock.now();
                    let mut tx = state.db.begin().await?;
                    reports::keep_upload(&mut tx, &crate::security::token_hash(&token), &p, now, now.plus_seconds(photos::KEEP_SECONDS)).await?;
                    tx.commit().await?;
                    Some(token)
                }
                None => None,
            };
            let mut form = form.input;
            form.photo_token = photo_token.clone().unwrap_or_default();
            Ok(Err(FormView { form, errors, photo_token }))
        }
    }
}

/// The lists the form pages offer.
pub struct Choices {
    /// Situation types.
    pub situations: Vec<&'static str>,
    /// Aggravating flags.
    pub flags: Vec<&'static str>,
    /// Sources.
    pub sources: Vec<&'static str>,
    /// Channels (staff).
    pub channels: Vec<&'static str>,
}

impl Choices {
    /// For a mode.
    pub fn of(mode: Mode) -> Self {
        let sources = match mode {
            Mode::Public => SOURCES.to_vec(),
            Mode::Staff => SOURCES.iter().copied().filter(|s| *s != "public").collect(),
        };
        Self { situations: SITUATIONS.to_vec(), flags: FLAGS.to_vec(), sources, channels: STAFF_CHANNELS.to_vec() }
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
    sites: Vec<(String, String)>,
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
        self.ctx.tf("report.received.reference", &[("reference", &self.received.reference)])
    }
    fn territory_line(&self, name: &str) -> String {
        self.ctx.tf("report.received.in_territory", &[("territory", name)])
    }
}

/// Whether the account may take reports in: it creates records of its organisation.
pub fn gate(who: &Authenticated) -> AppResult<()> {
    Ok(who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))?)
}

/// GET /reports/new
pub async fn new_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    gate(&who)?;
    let form = IntakeInput { channel: "phone".into(), ..Default::default() };
    let sites = site_choices(&state, &who).await?;
    Ok(render(&NewPage { ctx, form, errors: FieldErrors::new(), photo_token: None, c: Choices::of(Mode::Staff), sites }))
}

/// The active sites the account may read, to link a report to, by name.
async fn site_choices(state: &AppState, who: &Authenticated) -> AppResult<Vec<(String, String)>> {
    let sites = crate::sites::readable_sites(state, who).await?;
    Ok(sites
        .into_iter()
        .filter(|s| s.status == "active")
        .map(|s| (s.id.to_string(), if s.address.is_empty() { s.name } else { format!("{} · {}", s.name, s.address) }))
        .collect())
}

/// A site named by staff intake (form or API) must be one the account may
/// read; an id that does not parse is the validation's to word.
pub async fn check_site(state: &AppState, who: &Authenticated, lang: Lang, site_id: &str, errors: &mut FieldErrors) -> AppResult<()> {
    let Ok(id) = site_id.trim().parse::<veille_domain::SiteId>() else { return Ok(()) };
    if crate::error::found(crate::sites::load(state, who, &id.to_string(), Action::Read).await)?.is_none() {
        errors.add("site_id", lang.t("report.intake.site_invalid"));
    }
    Ok(())
}

/// POST /reports/new
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, form: IntakeForm) -> AppResult<Response> {
    gate(&who)?;
    let mut site_errors = FieldErrors::new();
    check_site(&state, &who, ctx.lang, &form.input.site_id, &mut site_errors).await?;
    let intake = match check(&state, ctx.lang, form, Mode::Staff, site_errors).await? {
        Ok(i) => i,
        Err(FormView { form, errors, photo_token }) => {
            let sites = site_choices(&state, &who).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &NewPage { ctx, form, errors, photo_token, c: Choices::of(Mode::Staff), sites }));
        }
    };
    let Some(received) = super::receive(&state, &intake, Some((who.account.id, who.account.organisation)), None).await? else {
        return Err(AppError::new(ErrorKind::Throttled));
    };
    let link = super::follow_url(&state, &received.token);
    Ok(render_status(StatusCode::CREATED, &TakenInPage { ctx, received, link }))
}
