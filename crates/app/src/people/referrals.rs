//! Referrals (orientations): written for a person — to a service of the
//! partner directory, a partner organisation of the instance or a partner
//! named in words — with the person's consent confirmed or an urgent reason
//! (audited); proposed → sent → accepted / declined → done / not honoured.
//!
//! A partner organisation with accounts answers from its queue (its users
//! are told by e-mail that "a referral awaits", never who). A partner
//! without accounts answers through an unguessable link that expires,
//! opened with a code the sender gives orally, and that shows only what the
//! referral needs. Unanswered referrals expire back to their sender (the
//! expiry task, [`spawn_expiry`], on the application clock). Every change is
//! a timeline event appended by the command that makes it.

use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;
use veille_domain::people::{ReferralParty, ReferralStatus};
use veille_domain::records::{RecordKind, Via};
use veille_domain::{Action, OrganisationId, PersonId, ReferralId, Resource, ServiceId, Timestamp, UserId};
pub use veille_storage::directory::ServiceEntry;
use veille_storage::people::{self, ShareBasis};
use veille_storage::referrals::{self, NewLink, Side};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{accounts, audit, organisations, outbox, Scope, StorageError, Tx};

use super::input::{validate_answer, validate_referral, AnswerBody, CancelInput, ReferralForm};
use super::{entry, gate, gate_records, load_person_by_id, referral_resource, Event, NewReferral, Person, PersonFields, Referral};
use crate::error::{Error, ErrorKind, Result};
use crate::paging::{Paged, PER_PAGE};
use crate::{App, Caller, FieldErrors, Lang};

/// Wrong codes allowed on a partner link before it is revoked.
pub const LINK_FAILURES_ALLOWED: i64 = 5;

/// The person a readable referral is about: read for what the referral
/// needs (the partner does not read the file itself).
fn referral_person_scope() -> Scope {
    Scope::instance("the person of a referral the caller reads: what the referral needs")
}

/// The partner link's holder has no account: the token and the code given
/// orally are the credential.
fn partner_link_scope() -> Scope {
    Scope::instance("partner link: its token and the code given orally")
}

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
    /// From the file.
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

fn base(state: &App) -> String {
    state.config.base_url.trim_end_matches('/').to_owned()
}

/// The timeline event of a status change.
fn status_event<'a>(r: &'a Referral, to: ReferralStatus, at: Timestamp, actor: Option<(UserId, OrganisationId)>, detail: &'a str) -> NewEvent<'a> {
    NewEvent::new(RecordKind::Referral, r.id, at, actor, "status").change(Some(r.status.code()), Some(to.code())).detail(detail)
}

/// The partner organisations a referral can go to: every organisation but the sender's.
pub async fn partners(state: &App, who: &Caller) -> Result<Vec<(OrganisationId, String)>> {
    Ok(organisations::list(&state.db).await?.into_iter().filter(|o| o.id != who.account.organisation).map(|o| (o.id, o.name)).collect())
}

/// A referral the account may read (404 otherwise), with its person, its
/// resource and the side the account is on.
pub async fn load(state: &App, who: &Caller, id: &str) -> Result<(Referral, Person, Resource, ReferralParty)> {
    gate_records(who)?;
    let id: ReferralId = id.parse().map_err(|_| Error::not_found())?;
    let r = referrals::get(&state.db, &who.scope(), id).await?;
    let person = people::get(&state.db, &referral_person_scope(), r.person).await?;
    let res = referral_resource(&r, person.fields.territory);
    if !who.can(Action::Read, &res).allowed {
        return Err(Error::not_found());
    }
    let party = if r.organisation == who.account.organisation { ReferralParty::Sender } else { ReferralParty::Partner };
    Ok((r, person, res, party))
}

/// A referral the account may read — an audited read.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn read(state: &App, who: &Caller, id: &str, via: &str) -> Result<(Referral, Person, Resource, ReferralParty)> {
    let loaded = load(state, who, id).await?;
    let (r, _, _, party) = &loaded;
    let detail = serde_json::json!({"via": via, "as": if *party == ReferralParty::Sender { "sender" } else { "partner" }});
    audit::append_now(&state.db, entry(who, state, "read", "referral", r.id, r.organisation, detail)).await?;
    Ok(loaded)
}

/// The referrals sent by the account's organisation (when `with_sent`) and
/// those addressed to it by others (its queue), that it may read: every one
/// (exports and the API; pages read [`pages`]).
pub async fn visible(state: &App, who: &Caller, with_sent: bool) -> Result<(Vec<Referral>, Vec<Referral>)> {
    gate_records(who)?;
    let scope = who.scope();
    let org = who.account.organisation;
    let sent = if with_sent { referrals::listed(&state.db, &scope, Side::SentBy(org), &[], None).await? } else { Vec::new() };
    let queue = referrals::listed(&state.db, &scope, Side::AddressedTo(org), &[], None).await?;
    Ok((sent, queue))
}

/// Each referral with the pseudonym of its person.
async fn with_pseudonyms(state: &App, list: Vec<Referral>) -> Result<Vec<(Referral, String)>> {
    let ids: Vec<PersonId> = list.iter().map(|r| r.person).collect();
    let names: HashMap<PersonId, String> =
        people::get_many(&state.db, &referral_person_scope(), &ids).await?.into_iter().map(|p| (p.id, p.fields.pseudonym)).collect();
    Ok(list
        .into_iter()
        .map(|r| {
            let name = names.get(&r.person).cloned().unwrap_or_default();
            (r, name)
        })
        .collect())
}

/// The referrals sent and the queue, each with the pseudonym of its person,
/// and whether the account sends referrals at all (else only its queue).
pub async fn lists(state: &App, who: &Caller) -> Result<(Vec<(Referral, String)>, Vec<(Referral, String)>, bool)> {
    gate_records(who)?;
    let shows_sent = gate(who).is_ok();
    let (sent, queue) = visible(state, who, shows_sent).await?;
    Ok((with_pseudonyms(state, sent).await?, with_pseudonyms(state, queue).await?, shows_sent))
}

/// One page of a list of referrals the account may read, with the pseudonym
/// of each person.
async fn page_of(state: &App, who: &Caller, side: Side, statuses: &[ReferralStatus], page: i64, per_page: i64) -> Result<Paged<(Referral, String)>> {
    let scope = who.scope();
    let total = referrals::count_listed(&state.db, &scope, side, statuses).await?;
    Paged::read(page, per_page, total, |w| async move { with_pseudonyms(state, referrals::listed(&state.db, &scope, side, statuses, Some(w)).await?).await })
        .await
}

/// The referrals page: one page of the queue (those addressed to the
/// organisation) and, for the accounts that send referrals, one page of
/// those it sent.
#[derive(Clone, Debug)]
pub struct ReferralPages {
    /// The queue's page.
    pub queue: Paged<(Referral, String)>,
    /// The page of those sent, for the accounts that send referrals.
    pub sent: Option<Paged<(Referral, String)>>,
}

/// Page `queue_page` of the queue and `sent_page` of the referrals sent.
pub async fn pages(state: &App, who: &Caller, queue_page: i64, sent_page: i64) -> Result<ReferralPages> {
    gate_records(who)?;
    let org = who.account.organisation;
    let queue = page_of(state, who, Side::AddressedTo(org), &[], queue_page, PER_PAGE).await?;
    let sent = if gate(who).is_ok() { Some(page_of(state, who, Side::SentBy(org), &[], sent_page, PER_PAGE).await?) } else { None };
    Ok(ReferralPages { queue, sent })
}

/// The referrals addressed to the organisation that wait on it (sent, not
/// answered yet, or accepted and not concluded): the `n` most recently sent,
/// and how many there are.
pub async fn waiting(state: &App, who: &Caller, n: i64) -> Result<Paged<(Referral, String)>> {
    gate_records(who)?;
    page_of(state, who, Side::AddressedTo(who.account.organisation), &[ReferralStatus::Sent, ReferralStatus::Accepted], 1, n).await
}

/// Everything the referral page shows.
#[derive(Clone, Debug)]
pub struct ReferralPage {
    /// The referral.
    pub referral: Referral,
    /// Its person (the sender sees the file; the partner what the referral needs).
    pub person: Person,
    /// What the partner sees of the person.
    pub partner_person: PartnerPerson,
    /// The side the account is on.
    pub party: ReferralParty,
    /// Its access-control description (for the "who can see this" panel).
    pub resource: Resource,
    /// The account may change it.
    pub can_update: bool,
    /// The sending organisation's name.
    pub sender: String,
    /// Who wrote it.
    pub sender_name: String,
    /// The partner organisation's name.
    pub partner_org: String,
    /// The directory service named, when it still exists and may be read.
    pub service: Option<ServiceEntry>,
    /// Its timeline, oldest first.
    pub events: Vec<Event>,
}

/// The referral page of a referral the account may read (not audited: call
/// [`read`] first, or show it again after a refused change).
pub async fn page(state: &App, who: &Caller, id: &str) -> Result<ReferralPage> {
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
    Ok(ReferralPage {
        service,
        partner_person: PartnerPerson::of(&person.fields, state.clock.now()),
        events: timeline::of(&state.db, RecordKind::Referral, referral.id).await?,
        can_update: who.can(Action::Update, &res).allowed,
        resource: res,
        referral,
        person,
        party,
        sender,
        sender_name,
        partner_org,
    })
}

/// The directory service a referral names, if the caller may read it.
async fn chosen_service(state: &App, who: &Caller, id: &str) -> Result<Option<ServiceEntry>> {
    let Ok(id) = id.parse::<ServiceId>() else { return Ok(None) };
    crate::found(crate::directory::load_service_id(state, who, id, Action::Read).await)
}

// ---------------------------------------------------------------------------
// Writing and sending

/// The accounts of a partner organisation that may answer a referral.
async fn answerers(state: &App, org: OrganisationId, res: &Resource) -> Result<Vec<accounts::Account>> {
    let mut out = Vec::new();
    for a in accounts::list(&state.db, Some(org)).await?.into_iter().filter(|a| !a.disabled) {
        let actor = accounts::actor_of(&state.db, &a).await?;
        if veille_domain::authorize(&actor, Action::Update, res).allowed {
            out.push(a);
        }
    }
    Ok(out)
}

async fn org_name(state: &App, who: &Caller) -> Result<String> {
    Ok(organisations::get(&state.db, who.account.organisation).await?.name)
}

/// Sends (or sends again) a referral in the caller's transaction: the answer
/// is due after the configured time; the partner organisation's users are
/// told by e-mail, or — when it has none — a partner link is made (mailed
/// to the partner's address if given, with its code given orally).
async fn send_in(tx: &mut Tx, state: &App, who: &Caller, r: &Referral, person: &Person, version: i64, via: &str) -> Result<Option<LinkOnce>> {
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
        referrals::send(tx, r, due, Some(&link), version, now).await?;
        let url = format!("{}/orientation/{token}", base(state));
        if let Some(to) = &r.partner_email {
            let body = lang.tf("people.mail.waiting_link_body", &[("link", &url), ("organisation", &org_name(state, who).await?)]);
            outbox::enqueue(tx, to, &lang.t("people.mail.waiting_subject"), &body, now).await?;
        }
        once = Some(LinkOnce { url, code, expires_at: expires.to_paris_display() });
    } else {
        referrals::send(tx, r, due, None, version, now).await?;
        let url = format!("{}/referrals/{}", base(state), r.id);
        for u in &users {
            let ul = Lang::from_code(&u.lang);
            let body = ul.tf("people.mail.waiting_queue_body", &[("link", &url), ("organisation", &org_name(state, who).await?)]);
            outbox::enqueue(tx, &u.email, &ul.t("people.mail.waiting_subject"), &body, now).await?;
        }
    }
    timeline::append(tx, &status_event(r, ReferralStatus::Sent, now, Some(who.author()), "")).await?;
    // The partner organisation sees the referral (not the file): recorded once as a share.
    if let Some(org) = r.partner_organisation {
        if !people::referral_shared(tx, person.id, r.id).await? {
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

/// Checks a referral from the form or the API against the person it is for
/// (a person the account may not update: not found).
async fn check(state: &App, lang: Lang, who: &Caller, form: &ReferralForm) -> Result<Result<(NewReferral, Person), FieldErrors>> {
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
    let (person, _) = load_person_by_id(state, who, new.person, Action::Update).await?;
    let res = referral_resource(&Referral::draft(who.account.organisation, &new), person.fields.territory);
    who.require(Action::Create, &res)?;
    Ok(Ok((new, person)))
}

/// Writes a referral for a person the account may update (and sends it if
/// asked), audited, the consent override recorded with its reason; answers
/// the partner link once when one was made.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create(state: &App, who: &Caller, lang: Lang, form: &ReferralForm, via: &str) -> Result<Result<(ReferralId, Option<LinkOnce>), FieldErrors>> {
    gate(who)?;
    let (new, person) = match check(state, lang, who, form).await? {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = referrals::create(&mut tx, who.account.organisation, &new, who.account.id, now).await?;
    let created = NewEvent::new(RecordKind::Referral, id, now, Some(who.author()), "created").change(None, Some(ReferralStatus::Proposed.code()));
    timeline::append(&mut tx, &created).await?;
    let detail = serde_json::json!({
        "via": via, "person": person.id.to_string(), "service_id": new.service_id, "partner_organisation": new.partner_organisation.map(|o| o.to_string()),
        "consent_confirmed": new.consent_confirmed, "urgent_override": new.urgent_override_reason.is_some(),
    });
    audit::append(&mut tx, entry(who, state, "create", "referral", id, who.account.organisation, detail)).await?;
    let once = if form.send_now() {
        let r = referrals::get_in(&mut tx, &who.scope(), id).await?;
        send_in(&mut tx, state, who, &r, &person, r.version, via).await?
    } else {
        None
    };
    tx.commit().await?;
    Ok(Ok((id, once)))
}

/// Sends a referral again or for the first time (the sender only), with the
/// version read (none: the current one).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn send(state: &App, who: &Caller, id: &str, version: Option<i64>, via: &str) -> Result<Option<LinkOnce>> {
    let (r, person, res, party) = load(state, who, id).await?;
    who.require(Action::Update, &res)?;
    if party != ReferralParty::Sender {
        return Err(Error::forbidden());
    }
    if !r.status.can_become(ReferralStatus::Sent, ReferralParty::Sender) {
        return Err(Error::new(ErrorKind::Conflict));
    }
    let mut tx = state.db.begin().await?;
    let once = send_in(&mut tx, state, who, &r, &person, version.unwrap_or(r.version), via).await?;
    tx.commit().await?;
    Ok(once)
}

/// Tells the sender (the account that wrote it) that a referral moved, without
/// saying who it is about.
async fn tell_sender(tx: &mut Tx, state: &App, r: &Referral, key: &str) -> Result<()> {
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
/// the partner link when `who` is none), audited and on the timeline, and
/// tells the sender when the partner acted. `false`: not possible now.
#[allow(clippy::too_many_arguments)]
async fn apply(
    state: &App,
    who: Option<&Caller>,
    r: &Referral,
    party: ReferralParty,
    to: ReferralStatus,
    message: &str,
    version: i64,
    via: &str,
) -> Result<bool> {
    if !r.status.can_become(to, party) {
        return Ok(false);
    }
    let now = state.clock.now();
    let channel = match who {
        Some(w) => referrals::Via::Staff(w.account.id),
        None => referrals::Via::Link,
    };
    let mut tx = state.db.begin().await?;
    let detail = match to {
        ReferralStatus::Accepted | ReferralStatus::Declined => {
            referrals::answer(&mut tx, r, to, message, channel, version, now).await?;
            ""
        }
        ReferralStatus::Done | ReferralStatus::NotHonoured => {
            referrals::outcome(&mut tx, r, to, version, now).await?;
            message
        }
        _ => return Ok(false),
    };
    let event = status_event(r, to, now, who.map(Caller::author), detail);
    timeline::append(&mut tx, &if who.is_some() { event } else { event.via(Via::Link) }).await?;
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

/// The partner's answer (accepted or declined), or the outcome (done or not
/// honoured), by an account, with the version read (none: the current one).
/// Errors on `status` (and `message`).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn act(
    state: &App,
    who: &Caller,
    lang: Lang,
    id: &str,
    body: &AnswerBody,
    allowed: &[ReferralStatus],
    via: &str,
) -> Result<Result<ReferralId, FieldErrors>> {
    let (r, _, res, party) = load(state, who, id).await?;
    who.require(Action::Update, &res)?;
    let (to, message) = match validate_answer(lang, body, allowed) {
        Ok(v) => v,
        Err(errors) => return Ok(Err(errors)),
    };
    if !apply(state, Some(who), &r, party, to, &message, body.version.unwrap_or(r.version), via).await? {
        let mut errors = FieldErrors::new();
        errors.add("status", lang.t("people.referral.not_now"));
        return Ok(Err(errors));
    }
    Ok(Ok(r.id))
}

/// The statuses an answer may give.
pub const ANSWERS: [ReferralStatus; 2] = [ReferralStatus::Accepted, ReferralStatus::Declined];
/// The statuses an outcome may give.
pub const OUTCOMES: [ReferralStatus; 2] = [ReferralStatus::Done, ReferralStatus::NotHonoured];

/// Withdraws a referral (the sender), with a reason, on the timeline.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn cancel(state: &App, who: &Caller, lang: Lang, id: &str, input: &CancelInput) -> Result<Result<ReferralId, FieldErrors>> {
    let (r, _, res, party) = load(state, who, id).await?;
    who.require(Action::Update, &res)?;
    if party != ReferralParty::Sender {
        return Err(Error::forbidden());
    }
    if !r.status.can_become(ReferralStatus::Cancelled, ReferralParty::Sender) {
        let mut errors = FieldErrors::new();
        errors.add("status", lang.t("people.referral.not_now"));
        return Ok(Err(errors));
    }
    let reason = input.reason();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    referrals::cancel(&mut tx, &r, input.version.unwrap_or(-1), now).await?;
    timeline::append(&mut tx, &status_event(&r, ReferralStatus::Cancelled, now, Some(who.author()), &reason)).await?;
    audit::append(
        &mut tx,
        entry(who, state, "update", "referral", r.id, r.organisation, serde_json::json!({"field": "status", "from": r.status.code(), "to": "cancelled"})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(r.id))
}

// ---------------------------------------------------------------------------
// The partner link (no account)

/// What the partner link shows once opened with the right code.
#[derive(Clone, Debug)]
pub struct PartnerOpened {
    /// The referral.
    pub referral: Referral,
    /// What the referral needs of the person.
    pub person: PartnerPerson,
    /// The sending organisation's name.
    pub sender: String,
    /// Who wrote it.
    pub sender_name: String,
    /// Until when the answer is due (Paris time).
    pub due: String,
}

/// What became of a visit to the partner link.
#[derive(Clone, Debug)]
pub enum PartnerVisit {
    /// No such link, or expired, or revoked.
    Gone,
    /// A wrong code (counted; the link is revoked after [`LINK_FAILURES_ALLOWED`]).
    WrongCode,
    /// Opened: what it shows, an answer given (`done`), or the answer's errors.
    Opened {
        /// What it shows.
        opened: Box<PartnerOpened>,
        /// The answer was recorded.
        done: bool,
        /// The answer's errors.
        errors: FieldErrors,
    },
}

async fn live_link(state: &App, token: &str) -> Result<Option<Referral>> {
    let r = referrals::by_link(&state.db, &partner_link_scope(), &crate::security::token_hash(token)).await?;
    Ok(r.filter(|r| r.link_live(state.clock.now()) && r.link_failures < LINK_FAILURES_ALLOWED))
}

/// Whether a partner link works (then it asks for the code given orally).
pub async fn partner_link_live(state: &App, token: &str) -> Result<bool> {
    Ok(live_link(state, token).await?.is_some())
}

/// The partner link with a code: with the right one, shows what the
/// referral needs (an audited read) and, when a `status` is given, takes the
/// answer (accepted or declined) or the outcome. Wrong codes are counted;
/// the link is revoked after [`LINK_FAILURES_ALLOWED`].
#[tracing::instrument(skip_all)]
pub async fn partner_visit(state: &App, lang: Lang, token: &str, code: &str, status: &str, message: &str) -> Result<PartnerVisit> {
    let Some(r) = live_link(state, token).await? else { return Ok(PartnerVisit::Gone) };
    let now = state.clock.now();
    // A turn first (counted as a failure until the code proves right), so
    // that codes arriving at once are not all checked.
    let Some(failures) = referrals::take_link_turn(&state.db, r.id, LINK_FAILURES_ALLOWED).await? else { return Ok(PartnerVisit::Gone) };
    let code_ok = r.link_code_hash.as_deref().is_some_and(|h| crate::security::same(h, &code_hash(r.id, code)));
    if !code_ok {
        if failures >= LINK_FAILURES_ALLOWED {
            let mut tx = state.db.begin().await?;
            referrals::revoke_link(&mut tx, r.id, now).await?;
            let e = audit::NewEntry::about(now, None, "update", "referral", Some(r.id.to_string()), Some(r.organisation))
                .with_detail(serde_json::json!({"field": "partner_link", "revoked": "too_many_wrong_codes"}));
            audit::append(&mut tx, e).await?;
            tx.commit().await?;
        }
        return Ok(PartnerVisit::WrongCode);
    }
    referrals::return_link_turn(&state.db, r.id).await?;
    let scope = partner_link_scope();
    let person = people::get(&state.db, &scope, r.person).await?;
    let mut errors = FieldErrors::new();
    let mut done = false;
    if !status.is_empty() {
        let allowed = [ReferralStatus::Accepted, ReferralStatus::Declined, ReferralStatus::Done, ReferralStatus::NotHonoured];
        match validate_answer(lang, &AnswerBody { status: status.to_owned(), message: message.to_owned(), version: None }, &allowed) {
            Ok((to, message)) => {
                if apply(state, None, &r, ReferralParty::Partner, to, &message, r.version, "partner_link").await? {
                    done = true;
                } else {
                    errors.add("status", lang.t("people.referral.not_now"));
                }
            }
            Err(e) => errors = e,
        }
    } else {
        let e = audit::NewEntry::about(now, None, "read", "referral", Some(r.id.to_string()), Some(r.organisation))
            .with_detail(serde_json::json!({"via": "partner_link"}));
        audit::append_now(&state.db, e).await?;
    }
    let r = referrals::get(&state.db, &scope, r.id).await?;
    let sender = organisations::get(&state.db, r.organisation).await?.name;
    let sender_name = match r.created_by {
        Some(u) => accounts::get(&state.db, u).await.map(|a| a.display_name).unwrap_or_default(),
        None => String::new(),
    };
    let opened = PartnerOpened {
        due: r.answer_due_at.map(|t| t.to_paris_display()).unwrap_or_default(),
        person: PartnerPerson::of(&person.fields, now),
        referral: r,
        sender,
        sender_name,
    };
    Ok(PartnerVisit::Opened { opened: Box::new(opened), done, errors })
}

// ---------------------------------------------------------------------------
// Expiry

/// Expires every sent referral whose answer is overdue: back to its sender
/// (who is told by e-mail), the partner link revoked, on the timeline,
/// audited. Returns how many.
#[tracing::instrument(skip_all)]
pub async fn expire_due(state: &App) -> Result<usize> {
    let now = state.clock.now();
    let mut n = 0;
    for r in referrals::due_for_expiry(&state.db, &Scope::instance("referral expiry"), now).await? {
        let mut tx = state.db.begin().await?;
        match referrals::expire(&mut tx, &r, now).await {
            Ok(()) => {}
            // Answered or changed meanwhile: nothing to expire.
            Err(StorageError::StaleVersion) => continue,
            Err(e) => return Err(e.into()),
        }
        timeline::append(&mut tx, &status_event(&r, ReferralStatus::Expired, now, None, "")).await?;
        let e = audit::NewEntry::about(now, None, "update", "referral", Some(r.id.to_string()), Some(r.organisation))
            .with_detail(serde_json::json!({"field": "status", "from": "sent", "to": "expired", "via": "expiry"}));
        audit::append(&mut tx, e).await?;
        tell_sender(&mut tx, state, &r, "expired").await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Runs [`expire_due`] every minute until aborted (started by [`crate::tasks::spawn`]).
pub fn spawn_expiry(state: App) -> tokio::task::JoinHandle<()> {
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
