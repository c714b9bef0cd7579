//! What a new report says, whichever way it comes — the public form, the
//! staff's partner intake form, the JSON API, Open311 — checked by one
//! validation function (French or English messages by field) and received
//! by one command per sender, which all end in [`super::receive`]: triage,
//! routing, duplicates nearby, timeline, audit and mail in one transaction.
//! A photo accepted on a form that must be shown again for other errors is
//! kept server-side under a random token for an hour, so it need not be
//! chosen again.

use serde::Deserialize;
use veille_domain::people::Phone;
use veille_domain::reports::{Channel, Source, FLAGS, SITUATIONS, STAFF_CHANNELS};
use veille_domain::{Action, EmailAddress, Resource, ResourceKind, SiteId};
use veille_geo::LonLat;
use veille_storage::reports::{self, Photo};

use crate::error::{Error, ErrorKind, Result};
use crate::identity::Held;
use crate::{App, Caller, FieldErrors, Lang};

use super::photos;
use super::Received;

/// What a new report says once checked, from whichever channel.
#[derive(Clone, Debug)]
pub struct Intake {
    /// Who reported.
    pub source: Source,
    /// How it came in.
    pub channel: Channel,
    /// The point, if placed.
    pub point: Option<LonLat>,
    /// Address or place description.
    pub address: String,
    /// Situation types seen.
    pub situations: Vec<String>,
    /// Aggravating flags.
    pub seen: Vec<String>,
    /// Adults.
    pub adults: u32,
    /// Children.
    pub children: u32,
    /// Tents.
    pub tents: u32,
    /// Description.
    pub description: String,
    /// E-mail of the reporter.
    pub email: Option<String>,
    /// Phone of the reporter.
    pub phone: Option<String>,
    /// Consent to be contacted and to receive updates.
    pub consent: bool,
    /// Who reported (partner intake; restricted).
    pub reporter_name: Option<String>,
    /// A known site.
    pub site_id: Option<SiteId>,
    /// The e-mail needs no confirmation (typed by staff).
    pub email_confirmed: bool,
    /// Taken in by a person (partner intake): acknowledged at once.
    pub acknowledged: bool,
    /// A photo already checked and re-encoded, with the hash of the token it
    /// was kept under (to forget it once used).
    pub photo: Option<(Photo, Option<String>)>,
}

impl Default for Intake {
    fn default() -> Self {
        Self {
            source: Source::Public,
            channel: Channel::Web,
            point: None,
            address: String::new(),
            situations: Vec::new(),
            seen: Vec::new(),
            adults: 0,
            children: 0,
            tents: 0,
            description: String::new(),
            email: None,
            phone: None,
            consent: false,
            reporter_name: None,
            site_id: None,
            email_confirmed: false,
            acknowledged: false,
            photo: None,
        }
    }
}

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
    /// A partner's system through Open311 (an API token of the partner's
    /// account): no contact details are kept (Open311 carries no consent).
    Open311,
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
    } else {
        match Phone::parse(phone) {
            Ok(p) => Some(p.as_str().to_owned()),
            Err(_) => {
                errors.add("phone", lang.t("report.form.phone_invalid"));
                None
            }
        }
    };
    let consent = input.consent.is_some();
    let (source, channel, reporter_name) = match mode {
        Mode::Public => {
            if (!input.email.trim().is_empty() || !input.phone.trim().is_empty()) && !consent {
                errors.add("consent", lang.t("report.form.consent_required"));
            }
            let source = match input.source.trim() {
                "" => Some(Source::Public),
                s => Source::from_code(s),
            };
            if source.is_none() {
                errors.add("source", lang.t("form.choose_one"));
            }
            (source.unwrap_or(Source::Public), Channel::Web, None)
        }
        Mode::Staff => {
            let source = Source::from_code(input.source.trim()).filter(|s| *s != Source::Public);
            if source.is_none() {
                errors.add("source", lang.t("report.intake.source_required"));
            }
            let channel = Channel::from_code(input.channel.trim()).filter(|c| STAFF_CHANNELS.contains(c));
            if channel.is_none() {
                errors.add("channel", lang.t("report.intake.channel_required"));
            }
            let name = input.reporter_name.trim();
            if name.chars().count() > 200 {
                errors.add("reporter_name", lang.t("report.form.too_long"));
            }
            if consent && email.is_none() {
                errors.add("consent", lang.t("report.intake.consent_needs_email"));
            }
            (source.unwrap_or(Source::Autre), channel.unwrap_or(Channel::Phone), (!name.is_empty()).then(|| name.to_owned()))
        }
        Mode::Open311 => {
            let source = match input.source.trim() {
                "" => Some(Source::Association),
                s => Source::from_code(s),
            };
            if source.is_none() {
                errors.add("source", lang.t("form.choose_one"));
            }
            (source.unwrap_or(Source::Association), Channel::Open311, None)
        }
    };
    // Only staff link a report to a known site (the public form has no such field).
    let site_id = match input.site_id.trim() {
        _ if mode != Mode::Staff => None,
        "" => None,
        s => match s.parse::<SiteId>() {
            Ok(id) => Some(id),
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
    // is about being sent the follow-up by e-mail; Open311 carries no
    // consent, so none are kept.
    let keep_contact = mode != Mode::Open311 && (consent || staff);
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

/// A photo file sent with a form (absent or empty when none was chosen).
pub type PhotoFile = Option<Vec<u8>>;

/// A form refused: what the page needs to show it again.
#[derive(Debug)]
pub struct Refused {
    /// What was typed (with the token of a photo kept for it).
    pub form: IntakeInput,
    /// Errors by field.
    pub errors: FieldErrors,
    /// The token of a photo kept for this form.
    pub photo_token: Option<String>,
}

/// The photo of a form being sent: a new file, the one kept from an earlier
/// try, or none. Adds the refusal to `errors`.
async fn chosen_photo(app: &App, lang: Lang, input: &IntakeInput, file: PhotoFile, errors: &mut FieldErrors) -> Result<Option<(Photo, Option<String>)>> {
    let token = input.photo_token.trim();
    if let Some(bytes) = file.filter(|b| !b.is_empty()) {
        return Ok(match photos::accept_off_thread(bytes).await? {
            Ok(p) => Some((p, None)),
            Err(refusal) => {
                errors.add("photo", lang.tf(refusal.key(), &[("max", photos::MAX_MEGABYTES)]));
                None
            }
        });
    }
    if token.is_empty() || input.remove_photo.is_some() || token.len() > 100 {
        return Ok(None);
    }
    match reports::kept_upload(&app.db, &crate::security::token_hash(token), app.clock.now()).await? {
        Some(p) => Ok(Some((p, Some(token.to_owned())))),
        None => {
            errors.add("photo", lang.t("report.photo.expired"));
            Ok(None)
        }
    }
}

/// Validates a form with its photo (`errors`: what the caller already found,
/// e.g. an unknown site). On errors, keeps an accepted photo under a token and
/// gives back what the page needs to show the form again.
async fn check(
    app: &App,
    lang: Lang,
    input: IntakeInput,
    file: PhotoFile,
    mode: Mode,
    mut errors: FieldErrors,
) -> Result<std::result::Result<Intake, Refused>> {
    let photo = chosen_photo(app, lang, &input, file, &mut errors).await?;
    let intake = validate(lang, &input, mode);
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
                    let now = app.clock.now();
                    let mut tx = app.db.begin().await?;
                    reports::keep_upload(&mut tx, &crate::security::token_hash(&token), &p, now, now.plus_seconds(photos::KEEP_SECONDS)).await?;
                    tx.commit().await?;
                    Some(token)
                }
                None => None,
            };
            let mut form = input;
            form.photo_token = photo_token.clone().unwrap_or_default();
            Ok(Err(Refused { form, errors, photo_token }))
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
            Mode::Public => Source::codes(),
            Mode::Staff | Mode::Open311 => Source::ALL.iter().filter(|s| **s != Source::Public).map(|s| s.code()).collect(),
        };
        Self { situations: SITUATIONS.to_vec(), flags: FLAGS.to_vec(), sources, channels: STAFF_CHANNELS.iter().map(|c| c.code()).collect() }
    }
}

/// Whether the account may take reports in: it creates records of its
/// organisation (not instance administrators, readers or partners).
pub fn gate(who: &Caller) -> Result<()> {
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))
}

/// The active sites the account may read, to link a report to, by name.
pub async fn site_choices(app: &App, who: &Caller) -> Result<Vec<(SiteId, String)>> {
    let sites = super::staff::readable_sites(app, who).await?;
    Ok(sites
        .into_iter()
        .filter(|s| s.status == "active")
        .map(|s| (s.id, if s.address.is_empty() { s.name } else { format!("{} · {}", s.name, s.address) }))
        .collect())
}

/// A site named by staff intake must be one the account may read; an id that
/// does not parse is the validation's to word.
async fn check_site(app: &App, who: &Caller, lang: Lang, site_id: &str, errors: &mut FieldErrors) -> Result<()> {
    let Ok(id) = site_id.trim().parse::<SiteId>() else { return Ok(()) };
    if super::staff::readable_site(app, who, id).await?.is_none() {
        errors.add("site_id", lang.t("report.intake.site_invalid"));
    }
    Ok(())
}

/// Attempts (valid or not) a client may make in [`super::RATE_WINDOW_SECONDS`]:
/// every one counts, before any photo is decoded.
pub const ATTEMPT_LIMIT: i64 = 20;

/// Counts an attempt of `client` under `kind`; true when within `limit`.
async fn within_limit(app: &App, kind: &str, client: &str, limit: i64) -> Result<bool> {
    let now = app.clock.now();
    let key = crate::security::token_hash(&format!("{kind}:{client}"));
    let mut tx = app.db.begin().await?;
    let n = reports::count_submission(&mut tx, &key, now.plus_seconds(-super::RATE_WINDOW_SECONDS), now).await?;
    tx.commit().await?;
    Ok(n <= limit)
}

/// The public form (`/signaler`), sent by anyone from address `client`:
/// every attempt counts toward a limit, and at most [`super::RATE_LIMIT`]
/// reports are received per window. A filled honeypot is refused.
#[tracing::instrument(skip_all)]
pub async fn submit_public(app: &App, lang: Lang, client: &str, input: IntakeInput, file: PhotoFile) -> Result<std::result::Result<Received, Refused>> {
    if !within_limit(app, "report-attempt", client, ATTEMPT_LIMIT).await? {
        return Err(Error::new(ErrorKind::Throttled));
    }
    if !input.website.is_empty() {
        return Err(Error::bad_request());
    }
    let intake = match check(app, lang, input, file, Mode::Public, FieldErrors::new()).await? {
        Ok(i) => i,
        Err(refused) => return Ok(Err(refused)),
    };
    if !within_limit(app, "report-submission", client, super::RATE_LIMIT).await? {
        return Err(Error::new(ErrorKind::Throttled));
    }
    Ok(Ok(super::receive(app, &intake, None).await?))
}

/// A partner's report taken in by staff (the form `/reports/new`, with an
/// optional photo, or `POST /api/v1/reports`).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn take_in(app: &App, who: &Caller, lang: Lang, input: IntakeInput, file: PhotoFile) -> Result<std::result::Result<Received, Refused>> {
    gate(who)?;
    let mut site_errors = FieldErrors::new();
    check_site(app, who, lang, &input.site_id, &mut site_errors).await?;
    let intake = match check(app, lang, input, file, Mode::Staff, site_errors).await? {
        Ok(i) => i,
        Err(refused) => return Ok(Err(refused)),
    };
    Ok(Ok(super::receive(app, &intake, Some(who)).await?))
}

/// Counts an Open311 request (POST) of `client` — a client address, counted
/// for every attempt before its `api_key` is checked, or an account, counted
/// once its token is — toward `open311_posts_allowed` in
/// [`super::RATE_WINDOW_SECONDS`]; false when over. 0 allowed: no limit.
pub async fn open311_within_limit(app: &App, client: Open311Client<'_>) -> Result<bool> {
    let limit = app.config.open311_posts_allowed;
    if limit == 0 {
        return Ok(true);
    }
    match client {
        Open311Client::Address(ip) => within_limit(app, "open311-address", ip, limit).await,
        Open311Client::Account(who) => within_limit(app, "open311-account", &who.account.id.to_string(), limit).await,
    }
}

/// Who an Open311 request is counted against.
#[derive(Clone, Copy)]
pub enum Open311Client<'a> {
    /// The client address (trusted proxies applied).
    Address(&'a str),
    /// The account of the request's API token.
    Account(&'a Caller),
}

/// A report sent by a partner's system through Open311 with the API token of
/// one of its accounts: the account must be one that takes reports in.
/// `held`: the token as [`crate::identity::writer_by_api_token`] gave it; if
/// the write finds it no longer holds, the token is forgotten, read again,
/// and the report written for what it stands for now, or refused.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn take_in_open311(app: &App, who: &Caller, held: &Held, input: IntakeInput) -> Result<std::result::Result<Received, FieldErrors>> {
    gate(who)?;
    let intake = match validate(Lang::En, &input, Mode::Open311) {
        Ok(i) => i,
        Err(errors) => return Ok(Err(errors)),
    };
    match super::receive_held(app, &intake, Some(who), Some(held)).await {
        Err(e) if e.is_token_withdrawn() => {
            app.kept_tokens.forget(held);
            let Ok((now_who, now_held)) = crate::identity::read_writer(app, held.hash().to_owned(), app.clock.now()).await? else {
                return Err(Error::forbidden());
            };
            gate(&now_who)?;
            Ok(Ok(super::receive_held(app, &intake, Some(&now_who), Some(&now_held)).await?))
        }
        received => Ok(Ok(received?)),
    }
}
