//! Referrals (orientations): written for a person — to a service of the
//! partner directory (`service_id`; the directory's picker fills the field),
//! a partner organisation of the instance or a partner named in words — with
//! the person's consent confirmed or an urgent reason (audited); proposed →
//! sent → accepted / declined → done / not honoured.
//!
//! A partner organisation with accounts answers from its queue in veille
//! (its users are told by e-mail that "a referral awaits", never who). A
//! partner without accounts answers through an unguessable link that expires,
//! opened with a code the sender gives orally, and that shows only what the
//! referral needs. Unanswered referrals expire back to their sender (the
//! expiry task started by `serve`, on the application clock).

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use rand::Rng;
use serde::Deserialize;
use veille_domain::people::{ReferralParty, ReferralStatus};
use veille_domain::{Action, OrganisationId, PersonId, ReferralId, Resource, Timestamp};
use veille_storage::people::{self, Person, PersonFields, ShareBasis};
use veille_storage::timeline::Event;
use veille_storage::referrals::{self, NewLink, NewReferral, Referral, Via};
use veille_storage::{accounts, audit, organisations, outbox, Tx};

use crate::access_panel::{who_can_read, PanelEntry};
use crate::auth::Authenticated;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::forms::{FieldErrors, Form};
use crate::i18n::Lang;
use crate::page::{render, render_status, see_other, PageCtx};
use crate::AppState;

use super::input::{validate_answer, validate_referral, AnswerBody, ReferralForm};
use super::pages::age_label;
use super::{entry, gate, gate_records, load_person, referral_resource};

/// Wrong codes allowed on a partner link before it is revoked.
pub const LINK_FAILURES_ALLOWED: i64 = 5;

/// The partner organisations a referral can go to: every organisation but the sender's.
pub async fn partners(state: &AppState, who: &Authenticated) -> AppResult<Vec<(OrganisationId, String)>> {
    Ok(organisations::list(&state.db).await?.into_iter().filter(|o| o.id != who.account.organisation).map(|o| (o.id, o.name)).collect())
}

/// A referral the account may read (404 otherwise), with its person, its
/// resource and the side the account is on.
pub async fn load(state: &AppState, who: &Authenticated, id: &str) -> AppResult<(Referral, Person, Resource, ReferralParty)> {
    gate_records(who)?;
    let id: ReferralId = id.parse().map_err(|_| AppError::not_found())?;
    let r = referrals::get(&state.db, id).await?;
    let person = people::get(&state.db, r.person).await?;
    let res = referral_resource(&r, person.fields.territory);
    if !who.can(Action::Read, &res).allowed {
        return Err(AppError::not_found());
    }
    let party = if r.organisation == who.account.organisation { ReferralParty::Sender } else { ReferralParty::Partner };
    Ok((r, person, res, party))
}

// ---------------------------------------------------------------------------
// The list and the queue

#[derive(Template)]
#[template(path = "people/referrals.html")]
struct ListPage {
    ctx: PageCtx,
    sent: Vec<(Referral, String)>,
    queue: Vec<(Referral, String)>,
    shows_sent: bool,
}

/// GET /referrals: what the organisation sent, and its queue of referrals received.
pub async fn list(State(state): State<AppState>, ctx: PageCtx, who: Authenticated) -> AppResult<Response> {
    gate_records(&who)?;
    let shows_sent = gate(&who).is_ok();
    let (sent, queue) = visible(&state, &who, shows_sent).await?;
    let pseudonyms = |list: Vec<Referral>, people: &[Person]| -> Vec<(Referral, String)> {
        list.into_iter().map(|r| {
            let name = people.iter().find(|p| p.id == r.person).map(|p| p.fields.pseudonym.clone()).unwrap_or_default();
            (r, name)
        }).collect()
    };
    let ids: Vec<PersonId> = sent.iter().chain(&queue).map(|r| r.person).collect();
    let people = people::get_many(&state.db, &ids).await?;
    Ok(render(&ListPage { ctx, sent: pseudonyms(sent, &people), queue: pseudonyms(queue, &people), shows_sent }))
}

/// The referrals sent by the account's organisation and those addressed to
/// it, that it may read.
pub async fn visible(state: &AppState, who: &Authenticated, with_sent: bool) -> AppResult<(Vec<Referral>, Vec<Referral>)> {
    let mut sent = Vec::new();
    let mut queue = Vec::new();
    let lists = [
        (with_sent, referrals::sent_by(&state.db, who.account.organisation, 500).await?, true),
        (true, referrals::addressed_to(&state.db, who.account.organisation, 500).await?, false),
    ];
    for (wanted, list, is_sent) in lists {
        if !wanted {
            continue;
        }
        for r in list {
            let person = people::get(&state.db, r.person).await?;
            if who.can(Action::Read, &referral_resource(&r, person.fields.territory)).allowed {
                if is_sent {
                    sent.push(r);
                } else if r.organisation != who.account.organisation {
                    queue.push(r);
                }
            }
        }
    }
    Ok((sent, queue))
}

// ---------------------------------------------------------------------------
// Writing and sending

/// Query of the new-referral form.
#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    person: String,
}

#[derive(Template)]
#[template(path = "people/referral_form.html")]
struct FormPage {
    ctx: PageCtx,
    form: ReferralForm,
    errors: FieldErrors,
    person: Person,
    partners: Vec<(OrganisationId, String)>,
    /// The directory's service picker (its filters and results), rendered.
    picker: String,
}

impl FormPage {
    /// The form again, what was typed kept, with the picker showing the
    /// search it was sent with and the service chosen.
    async fn of(state: &AppState, ctx: PageCtx, who: &Authenticated, person: Person, form: ReferralForm, errors: FieldErrors) -> AppResult<Self> {
        let query = form.picker.query(&form.service_id);
        let picker = crate::directory::picker::fieldset(state, who, ctx.lang, &query, &errors.get("service_id")).await?;
        Ok(FormPage { partners: partners(state, who).await?, ctx, form, errors, person, picker })
    }
}

/// GET /referrals/new?person={id}
pub async fn new_form(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Query(q): Query<NewQuery>) -> AppResult<Response> {
    gate(&who)?;
    let (person, _) = load_person(&state, &who, &q.person, Action::Update).await?;
    let form = ReferralForm { person: person.id.to_string(), ..Default::default() };
    Ok(render(&FormPage::of(&state, ctx, &who, person, form, FieldErrors::new()).await?))
}

/// The directory service a referral names, if the caller may read it.
async fn chosen_service(state: &AppState, who: &Authenticated, id: &str) -> AppResult<Option<veille_storage::directory::ServiceEntry>> {
    crate::error::found(crate::directory::pages::load_service(state, who, id, Action::Read).await)
}

/// A partner link and its code, shown once to the sender (only their hashes are kept).
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct LinkOnce {
    /// The link to give the partner.
    pub url: String,
    /// The code to give the partner orally (by phone), never with the link.
    pub code: String,
    /// Until when it works.
    pub expires_at: String,
}

fn new_code() -> String {
    let n: u32 = rand::thread_rng().gen_range(0..1_000_000);
    format!("{n:06}")
}

fn code_hash(r: ReferralId, code: &str) -> String {
    crate::security::token_hash(&format!("{r}:{}", code.trim()))
}

fn base(state: &AppState) -> String {
    state.config.base_url.trim_end_matches('/').to_owned()
}

/// The accounts of a partner organisation that may answer a referral.
async fn answerers(state: &AppState, org: OrganisationId, res: &Resource) -> AppResult<Vec<accounts::Account>> {
    let mut out = Vec::new();
    for a in accounts::list(&state.db, Some(org)).await?.into_iter().filter(|a| !a.disabled) {
        let actor = accounts::actor_of(&state.db, &a).await?;
        if veille_domain::authorize(&actor, Action::Update, res).allowed {
            out.push(a);
        }
    }
    Ok(out)
}

/// Sends (or sends again) a referral in the caller's transaction: the answer
/// is due after the configured time; the partner organisation's users are
/// told by e-mail, or — when it has none — a partner link is made (mailed
/// to the partner's address if given, with its code given orally).
pub async fn send_in(tx: &mut Tx, state: &AppState, who: &Authenticated, r: &Referral, person: &Person, version: i64, via: &str) -> AppResult<Option<LinkOnce>> {
    let now = state.clock.now();
    let due = now.plus_seconds(state.config.referral_expiry_days * 86_400);
    let res = referral_resource(r, person.fields.territory);
    let users = match r.partner_organisation {
        Some(org) => answerers(state, org, &res).await?,
        None => Vec::new(),
    };
    let lang = Lang::Fr;
    let mut once = None;
    if users.is_empty() {
        let token = crate::security::random_token();
        let code = new_code();
        let expires = now.plus_seconds(state.config.referral_link_days * 86_400);
        let link = NewLink { token_hash: crate::security::token_hash(&token), code_hash: code_hash(r.id, &code), expires_at: expires };
        referrals::send(tx, r, due, Some(&link), who.account.id, version, now).await?;
        let url = format!("{}/orientation/{token}", base(state));
        if let Some(to) = &r.partner_email {
            let body = lang.tf("people.mail.waiting_link_body", &[("link", &url), ("organisation", &who_org_name(state, who).await?)]);
            outbox::enqueue(tx, to, &lang.t("people.mail.waiting_subject"), &body, now).await?;
        }
        once = Some(LinkOnce { url, code, expires_at: expires.to_paris_display() });
    } else {
        referrals::send(tx, r, due, None, who.account.id, version, now).await?;
        let url = format!("{}/referrals/{}", base(state), r.id);
        for u in &users {
            let ul = Lang::from_code(&u.lang);
            let body = ul.tf("people.mail.waiting_queue_body", &[("link", &url), ("organisation", &who_org_name(state, who).await?)]);
            outbox::enqueue(tx, &u.email, &ul.t("people.mail.waiting_subject"), &body, now).await?;
        }
    }
    // The partner organisation sees the referral (not the file): recorded once as a share.
    if let Some(org) = r.partner_organisation {
        if !people::shares(&state.db, person.id).await?.iter().any(|s| s.basis == ShareBasis::Referral && s.referral == Some(r.id)) {
            people::share(tx, person.id, org, ShareBasis::Referral, None, Some(r.id), who.account.id, now).await?;
        }
    }
    let detail = serde_json::json!({
        "field": "status", "from": r.status.code(), "to": "sent", "via": via, "partner_link": once.is_some(),
        "partner_users_told": users.len(), "answer_due_at": due.to_rfc3339(),
    });
    audit::append(tx, entry(who, state, "update", "referral", r.id, r.organisation, detail)).await?;
    Ok(once)
}

async fn who_org_name(state: &AppState, who: &Authenticated) -> AppResult<String> {
    Ok(organisations::get(&state.db, who.account.organisation).await?.name)
}

/// Writes a referral (and sends it if asked), audited; the consent override
/// is recorded with its reason.
pub async fn write(state: &AppState, who: &Authenticated, new: &NewReferral, person: &Person, send_now: bool, via: &str) -> AppResult<(ReferralId, Option<LinkOnce>)> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = referrals::create(&mut tx, who.account.organisation, new, who.account.id, now).await?;
    let detail = serde_json::json!({
        "via": via, "person": person.id.to_string(), "service_id": new.service_id, "partner_organisation": new.partner_organisation.map(|o| o.to_string()),
        "consent_confirmed": new.consent_confirmed, "urgent_override": new.urgent_override_reason.is_some(),
    });
    audit::append(&mut tx, entry(who, state, "create", "referral", id, who.account.organisation, detail)).await?;
    let once = if send_now {
        let r = referrals::get_in(&mut tx, id).await?;
        send_in(&mut tx, state, who, &r, person, r.version, via).await?
    } else {
        None
    };
    tx.commit().await?;
    Ok((id, once))
}

/// Checks a referral from the form or the API against the person it is for.
pub async fn check(state: &AppState, lang: Lang, who: &Authenticated, form: &ReferralForm) -> AppResult<Result<(NewReferral, Person), FieldErrors>> {
    let mut new = match validate_referral(lang, form, &partners(state, who).await?) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    // A service of the directory: it must exist and be readable; it names the
    // partner, and its e-mail receives the partner link unless one was given.
    if let Some(service) = &new.service_id {
        let Some(entry) = chosen_service(state, who, service).await? else {
            let mut errors = FieldErrors::new();
            errors.add("service_id", lang.t("people.referral.error.service"));
            return Ok(Err(errors));
        };
        if new.partner_name.is_empty() {
            new.partner_name = format!("{} — {}", entry.structure.fields.name, entry.service.fields.name);
        }
        if new.partner_email.is_none() {
            new.partner_email = veille_domain::EmailAddress::parse(entry.email()).ok().map(|e| e.as_str().to_owned());
        }
    }
    let (person, _) = load_person(state, who, &new.person.to_string(), Action::Update).await?;
    let res = referral_resource(&Referral::draft(who.account.organisation, &new), person.fields.territory);
    who.require(Action::Create, &res)?;
    Ok(Ok((new, person)))
}

/// POST /referrals
pub async fn create(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Form(form): Form<ReferralForm>) -> AppResult<Response> {
    gate(&who)?;
    if form.picker.searching() {
        // The picker's search button without JavaScript: nothing is saved.
        let (person, _) = load_person(&state, &who, &form.person, Action::Update).await?;
        return Ok(render(&FormPage::of(&state, ctx, &who, person, form, FieldErrors::new()).await?));
    }
    match check(&state, ctx.lang, &who, &form).await? {
        Ok((new, person)) => {
            let (id, once) = write(&state, &who, &new, &person, form.send_now(), "form").await?;
            match once {
                Some(link) => show_page(&state, ctx, &who, &id.to_string(), FieldErrors::new(), Some(link)).await,
                None => Ok(see_other(&format!("/referrals/{id}"))),
            }
        }
        Err(errors) => {
            let (person, _) = load_person(&state, &who, &form.person, Action::Update).await?;
            let p = FormPage::of(&state, ctx, &who, person, form, errors).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
        }
    }
}

/// The version field of a form.
#[derive(Deserialize, Default)]
pub struct VersionForm {
    #[serde(default)]
    version: String,
    /// A reason (cancellation).
    #[serde(default)]
    reason: String,
}

/// Sends a referral again or for the first time (the sender only).
pub async fn send_existing(state: &AppState, who: &Authenticated, r: &Referral, person: &Person, version: i64, via: &str) -> AppResult<Option<LinkOnce>> {
    if !r.status.can_become(ReferralStatus::Sent, ReferralParty::Sender) {
        return Err(AppError::new(ErrorKind::Conflict));
    }
    let mut tx = state.db.begin().await?;
    let once = send_in(&mut tx, state, who, r, person, version, via).await?;
    tx.commit().await?;
    Ok(once)
}

/// POST /referrals/{id}/send
pub async fn send(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<VersionForm>) -> AppResult<Response> {
    let (r, person, res, party) = load(&state, &who, &id).await?;
    who.require(Action::Update, &res)?;
    if party != ReferralParty::Sender {
        return Err(AppError::forbidden());
    }
    let once = send_existing(&state, &who, &r, &person, form.version.parse().unwrap_or(-1), "form").await?;
    match once {
        Some(link) => show_page(&state, ctx, &who, &id, FieldErrors::new(), Some(link)).await,
        None => Ok(see_other(&format!("/referrals/{id}"))),
    }
}

/// Tells the sender (the account that wrote it) that a referral moved, without
/// saying who it is about.
async fn tell_sender(tx: &mut Tx, state: &AppState, r: &Referral, key: &str) -> AppResult<()> {
    let Some(author) = r.created_by else { return Ok(()) };
    let Ok(account) = accounts::get(&state.db, author).await else { return Ok(()) };
    if account.disabled {
        return Ok(());
    }
    let lang = Lang::from_code(&account.lang);
    let body = lang.tf(&format!("people.mail.{key}_body"), &[("link", &format!("{}/referrals/{}", base(state), r.id))]);
    outbox::enqueue(tx, &account.email, &lang.t(&format!("people.mail.{key}_subject")), &body, state.clock.now()).await?;
    Ok(())
}

/// Applies an answer or an outcome by `party` (a partner user, the sender, or
/// the partner link), audited, and tells the sender when the partner acted.
#[allow(clippy::too_many_arguments)]
pub async fn apply(state: &AppState, who: Option<&Authenticated>, r: &Referral, party: ReferralParty, to: ReferralStatus, message: &str, version: i64, via: &str) -> AppResult<bool> {
    if !r.status.can_become(to, party) {
        return Ok(false);
    }
    let now = state.clock.now();
    let channel = match who {
        Some(w) => Via::Staff(w.account.id),
        None => Via::Link,
    };
    let mut tx = state.db.begin().await?;
    match to {
        ReferralStatus::Accepted | ReferralStatus::Declined => referrals::answer(&mut tx, r, to, message, channel, version, now).await?,
        ReferralStatus::Done | ReferralStatus::NotHonoured => referrals::outcome(&mut tx, r, to, message, channel, version, now).await?,
        _ => return Ok(false),
    }
    let detail = serde_json::json!({"field": "status", "from": r.status.code(), "to": to.code(), "via": via});
    let e = match who {
        Some(w) => entry(w, state, "update", "referral", r.id, r.organisation, detail),
        None => audit::NewEntry::about(now, None, "update", "referral", Some(r.id.to_string()), Some(r.organisation)).with_detail(detail),
    };
    audit::append(&mut tx, e).await?;
    if party == ReferralParty::Partner {
        tell_sender(&mut tx, state, r, "answered").await?;
    }
    tx.commit().await?;
    Ok(true)
}

async fn act(state: AppState, ctx: PageCtx, who: Authenticated, id: String, form: AnswerBody, allowed: &[ReferralStatus]) -> AppResult<Response> {
    let (r, _, res, party) = load(&state, &who, &id).await?;
    who.require(Action::Update, &res)?;
    let (to, message) = match validate_answer(ctx.lang, &form, allowed) {
        Ok(v) => v,
        Err(errors) => return show_page(&state, ctx, &who, &id, errors, None).await.map(|mut p| {
            *p.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            p
        }),
    };
    let version = form.version.unwrap_or(-1);
    if !apply(&state, Some(&who), &r, party, to, &message, version, "staff").await? {
        let mut errors = FieldErrors::new();
        errors.add("status", ctx.t("people.referral.not_now"));
        let mut p = show_page(&state, ctx, &who, &id, errors, None).await?;
        *p.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(p);
    }
    Ok(see_other(&format!("/referrals/{id}")))
}

/// An answer or outcome form (the fields of [`AnswerBody`]).
#[derive(Deserialize, Default)]
pub struct AnswerForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    version: String,
}

impl From<AnswerForm> for AnswerBody {
    fn from(f: AnswerForm) -> Self {
        AnswerBody { status: f.status, message: f.message, version: f.version.parse().ok() }
    }
}

/// POST /referrals/{id}/answer (the partner)
pub async fn answer(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<AnswerForm>) -> AppResult<Response> {
    act(state, ctx, who, id, form.into(), &[ReferralStatus::Accepted, ReferralStatus::Declined]).await
}

/// POST /referrals/{id}/outcome (the sender or the partner)
pub async fn outcome(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<AnswerForm>) -> AppResult<Response> {
    act(state, ctx, who, id, form.into(), &[ReferralStatus::Done, ReferralStatus::NotHonoured]).await
}

/// POST /referrals/{id}/cancel (the sender)
pub async fn cancel(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>, Form(form): Form<VersionForm>) -> AppResult<Response> {
    let (r, _, res, party) = load(&state, &who, &id).await?;
    who.require(Action::Update, &res)?;
    if party != ReferralParty::Sender {
        return Err(AppError::forbidden());
    }
    if !r.status.can_become(ReferralStatus::Cancelled, ReferralParty::Sender) {
        let mut errors = FieldErrors::new();
        errors.add("status", ctx.t("people.referral.not_now"));
        let mut p = show_page(&state, ctx, &who, &id, errors, None).await?;
        *p.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(p);
    }
    let reason: String = form.reason.trim().chars().take(500).collect();
    let mut tx = state.db.begin().await?;
    referrals::cancel(&mut tx, &r, &reason, who.account.id, form.version.parse().unwrap_or(-1), state.clock.now()).await?;
    audit::append(&mut tx, entry(&who, &state, "update", "referral", r.id, r.organisation, serde_json::json!({"field": "status", "from": r.status.code(), "to": "cancelled"}))).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/referrals/{id}")))
}

// ---------------------------------------------------------------------------
// The referral page

/// What a partner sees of the person: only what the referral needs.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct PartnerPerson {
    /// Pseudonym.
    pub pseudonym: String,
    /// Age, approximately (`45`, or an age band code).
    pub age: String,
    /// Gender code.
    pub gender: Option<String>,
    /// Languages spoken (codes).
    pub languages: Vec<String>,
}

impl PartnerPerson {
    /// From the file, in the reader's language.
    pub fn of(f: &PersonFields, now: Timestamp) -> Self {
        use chrono::Datelike;
        PartnerPerson {
            pseudonym: f.pseudonym.clone(),
            age: match (f.birth_year, f.age_band) {
                (Some(y), _) => (now.to_datetime().year() - y).to_string(),
                (None, Some(b)) => b.code().to_owned(),
                (None, None) => String::new(),
            },
            gender: f.gender.map(|g| g.code().to_owned()),
            languages: f.languages.iter().map(|l| l.code().to_owned()).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "people/referral.html")]
struct ShowPage {
    ctx: PageCtx,
    referral: Referral,
    person: Person,
    partner_person: PartnerPerson,
    age: String,
    party: ReferralParty,
    sender: String,
    sender_name: String,
    partner_org: String,
    /// The directory service named, when it still exists and may be read.
    service: Option<veille_storage::directory::ServiceEntry>,
    events: Vec<Event>,
    panel: Vec<PanelEntry>,
    can_update: bool,
    errors: FieldErrors,
    link: Option<LinkOnce>,
}

impl ShowPage {
    fn is_sender(&self) -> bool {
        self.party == ReferralParty::Sender
    }
    fn may(&self, to: &str) -> bool {
        ReferralStatus::from_code(to).is_some_and(|t| self.can_update && self.referral.status.can_become(t, self.party))
    }
}

async fn show_page(state: &AppState, ctx: PageCtx, who: &Authenticated, id: &str, errors: FieldErrors, link: Option<LinkOnce>) -> AppResult<Response> {
    let (referral, person, res, party) = load(state, who, id).await?;
    let sender = organisations::get(&state.db, referral.organisation).await?.name;
    let sender_name = match referral.created_by {
        Some(u) => accounts::get(&state.db, u).await.map(|a| a.display_name).unwrap_or_default(),
        None => String::new(),
    };
    let partner_org = match referral.partner_organisation {
        Some(o) => organisations::get(&state.db, o).await.map(|o| o.name).unwrap_or_default(),
        None => String::new(),
    };
    let service = match &referral.service_id {
        Some(s) => chosen_service(state, who, s).await?,
        None => None,
    };
    let now = state.clock.now();
    let page = ShowPage {
        service,
        age: age_label(&ctx, now, &person.fields),
        partner_person: PartnerPerson::of(&person.fields, now),
        events: referrals::events(&state.db, referral.id).await?,
        panel: who_can_read(&state.db, &res).await?,
        can_update: who.can(Action::Update, &res).allowed,
        ctx,
        referral,
        person,
        party,
        sender,
        sender_name,
        partner_org,
        errors,
        link,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(status, &page))
}

/// GET /referrals/{id} (an audited read)
pub async fn show(State(state): State<AppState>, ctx: PageCtx, who: Authenticated, Path(id): Path<String>) -> AppResult<Response> {
    let (r, _, _, party) = load(&state, &who, &id).await?;
    let detail = serde_json::json!({"via": "page", "as": if party == ReferralParty::Sender { "sender" } else { "partner" }});
    audit::append_now(&state.db, entry(&who, &state, "read", "referral", r.id, r.organisation, detail)).await?;
    show_page(&state, ctx, &who, &id, FieldErrors::new(), None).await
}

// ---------------------------------------------------------------------------
// The partner link (no account)

#[derive(Template)]
#[template(path = "people/partner.html")]
struct PartnerPage {
    ctx: PageCtx,
    token: String,
    /// The code, once checked (kept in the answer form, never in the URL).
    code: String,
    opened: Option<PartnerOpened>,
    errors: FieldErrors,
    done: bool,
}

struct PartnerOpened {
    referral: Referral,
    person: PartnerPerson,
    sender: String,
    sender_name: String,
    due: String,
}

impl PartnerPage {
    fn may(&self, to: &str) -> bool {
        match (&self.opened, ReferralStatus::from_code(to)) {
            (Some(o), Some(t)) => o.referral.status.can_become(t, ReferralParty::Partner),
            _ => false,
        }
    }
}

async fn live_link(state: &AppState, token: &str) -> AppResult<Option<Referral>> {
    let r = referrals::by_link(&state.db, &crate::security::token_hash(token)).await?;
    Ok(r.filter(|r| r.link_live(state.clock.now()) && r.link_failures < LINK_FAILURES_ALLOWED))
}

fn gone(ctx: PageCtx) -> Response {
    let mut errors = FieldErrors::new();
    errors.add("code", ctx.t("people.partner.gone"));
    render_status(StatusCode::NOT_FOUND, &PartnerPage { ctx, token: String::new(), code: String::new(), opened: None, errors, done: false })
}

/// GET /orientation/{token}: asks for the code given orally.
pub async fn partner_form(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> AppResult<Response> {
    if live_link(&state, &token).await?.is_none() {
        return Ok(gone(ctx));
    }
    Ok(render(&PartnerPage { ctx, token, code: String::new(), opened: None, errors: FieldErrors::new(), done: false }))
}

/// The partner link form: the code, and once opened, the answer.
#[derive(Deserialize, Default)]
pub struct PartnerForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
}

/// POST /orientation/{token}: with the right code, shows what the referral
/// needs and takes the answer (accepted or declined) or the outcome. Wrong
/// codes are counted; the link is revoked after [`LINK_FAILURES_ALLOWED`].
pub async fn partner_answer(State(state): State<AppState>, ctx: PageCtx, Path(token): Path<String>, Form(form): Form<PartnerForm>) -> AppResult<Response> {
    let Some(r) = live_link(&state, &token).await? else { return Ok(gone(ctx)) };
    let now = state.clock.now();
    let code_ok = r.link_code_hash.as_deref().is_some_and(|h| crate::security::same(h, &code_hash(r.id, &form.code)));
    if !code_ok {
        let mut tx = state.db.begin().await?;
        let failures = referrals::record_link_failure(&mut tx, r.id).await?;
        if failures >= LINK_FAILURES_ALLOWED {
            referrals::revoke_link(&mut tx, r.id, now).await?;
            let e = audit::NewEntry::about(now, None, "update", "referral", Some(r.id.to_string()), Some(r.organisation))
                .with_detail(serde_json::json!({"field": "partner_link", "revoked": "too_many_wrong_codes"}));
            audit::append(&mut tx, e).await?;
        }
        tx.commit().await?;
        let mut errors = FieldErrors::new();
        errors.add("code", ctx.t("people.partner.wrong_code"));
        let page = PartnerPage { ctx, token, code: String::new(), opened: None, errors, done: false };
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let person = people::get(&state.db, r.person).await?;
    let mut errors = FieldErrors::new();
    let mut done = false;
    if !form.status.is_empty() {
        let allowed = [ReferralStatus::Accepted, ReferralStatus::Declined, ReferralStatus::Done, ReferralStatus::NotHonoured];
        match validate_answer(ctx.lang, &AnswerBody { status: form.status.clone(), message: form.message.clone(), version: None }, &allowed) {
            Ok((to, message)) => {
                if apply(&state, None, &r, ReferralParty::Partner, to, &message, r.version, "partner_link").await? {
                    done = true;
                } else {
                    errors.add("status", ctx.t("people.referral.not_now"));
                }
            }
            Err(e) => errors = e,
        }
    } else {
        let e = audit::NewEntry::about(now, None, "read", "referral", Some(r.id.to_string()), Some(r.organisation)).with_detail(serde_json::json!({"via": "partner_link"}));
        audit::append_now(&state.db, e).await?;
    }
    let r = referrals::get(&state.db, r.id).await?;
    let sender = organisations::get(&state.db, r.organisation).await?.name;
    let sender_name = match r.created_by {
        Some(u) => accounts::get(&state.db, u).await.map(|a| a.display_name).unwrap_or_default(),
        None => String::new(),
    };
    let opened = PartnerOpened { due: r.answer_due_at.map(|t| t.to_paris_display()).unwrap_or_default(), person: PartnerPerson::of(&person.fields, now), referral: r, sender, sender_name };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(status, &PartnerPage { ctx, token, code: form.code.trim().to_owned(), opened: Some(opened), errors, done }))
}

// ---------------------------------------------------------------------------
// Expiry

/// Expires every sent referral whose answer is overdue: back to its sender
/// (who is told by e-mail), the partner link revoked, audited. Returns how many.
pub async fn expire_due(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let mut n = 0;
    for r in referrals::due_for_expiry(&state.db, now).await? {
        let mut tx = state.db.begin().await?;
        match referrals::expire(&mut tx, &r, now).await {
            Ok(()) => {}
            // Answered or changed meanwhile: nothing to expire.
            Err(veille_storage::StorageError::StaleVersion) => continue,
            Err(e) => return Err(e.into()),
        }
        let e = audit::NewEntry::about(now, None, "update", "referral", Some(r.id.to_string()), Some(r.organisation))
            .with_detail(serde_json::json!({"field": "status", "from": "sent", "to": "expired", "via": "expiry"}));
        audit::append(&mut tx, e).await?;
        tell_sender(&mut tx, state, &r, "expired").await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Runs [`expire_due`] every minute until aborted (started by `serve`).
pub fn spawn_expiry(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = expire_due(&state).await {
                tracing::warn!(kind = ?e.kind, "referral expiry failed");
            }
        }
    })
}
