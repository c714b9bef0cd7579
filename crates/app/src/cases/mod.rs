//! Complex cases (situations complexes): opened from a level-2 signalement,
//! a site, a person or directly; a team of accounts from several
//! organisations (membership is a scope of the permission function: a
//! partner on the case reads it and its plan, and nothing else); dated
//! evaluations by domain (health ones in the health field group); an action
//! plan whose actions are owned by an organisation of the instance or by a
//! partner without accounts, who answers through an expiring link with a
//! code given orally; one timeline; closure with an outcome, and reopening.

use rand::Rng;
pub mod demo;

use veille_domain::cases::{CaseOrigin, CaseOutcome, EvaluationDomain};
use veille_domain::records::RecordKind;
use veille_domain::shelter::{ActionStatus, Night};
use veille_domain::{Action, ActionId, CaseId, EmailAddress, FieldGroup, OrganisationId, Resource, ResourceKind, Role, TerritoryId};
use veille_storage::actions::{self, FollowUp, NewFollowUp};
use veille_storage::cases::{self as store, Case, Evaluation, NewCase};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{accounts, audit, organisations, outbox, Scope};

use crate::error::{Error, Result};
use crate::shelter::input::{code, id, night, version, words};
use crate::{App, Caller, FieldErrors, Lang};

/// How long a partner's action link works.
pub const LINK_DAYS: i64 = 30;
/// Wrong codes allowed on an action link.
pub const LINK_ATTEMPTS: i64 = 5;

/// The access-control description of a case.
pub fn resource(c: &Case) -> Resource {
    Resource::new(ResourceKind::Record).owned_by(c.organisation).in_territory(c.territory).in_case(Some(c.id))
}

/// Whether the account works with cases at all: its organisation's records,
/// or a case team it is on.
pub fn gate(who: &Caller) -> Result<()> {
    let own = Resource::new(ResourceKind::Record).owned_by(who.account.organisation);
    if who.can(Action::Read, &own).allowed || (!who.actor.cases.is_empty() && !matches!(who.account.role, Role::InstanceAdmin | Role::Reader)) {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// Whether the account opens cases (its organisation's records).
pub fn can_open(who: &Caller) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation)).allowed
}

/// A case, as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct CaseInput {
    /// Title, without civil names ("Famille R., campement du canal").
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub title: String,
    /// `report`, `site`, `person` or `direct`.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub origin: String,
    /// The report, site or person id.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub origin_id: String,
    /// Territory id (empty: the origin's).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub territory_id: String,
    /// Next review (`2026-12-15`).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub review_on: String,
}

/// Opens a case led by the caller, from what it comes from.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn open(app: &App, who: &Caller, lang: Lang, input: &CaseInput) -> Result<std::result::Result<Case, FieldErrors>> {
    if !can_open(who) {
        return Err(Error::forbidden());
    }
    let mut e = FieldErrors::new();
    let mut title = words(&input.title, "title", 200, false, lang, &mut e);
    let origin = if input.origin.trim().is_empty() { Some(CaseOrigin::Direct) } else { code::<CaseOrigin>(&input.origin, "origin", lang, &mut e) };
    let mut territory = id::<TerritoryId>(&input.territory_id, "territory_id", lang, &mut e);
    let review_on = if input.review_on.trim().is_empty() { None } else { Some(night(&input.review_on, "review_on", None, lang, &mut e)) };
    let mut person = None;
    let origin_id = input.origin_id.trim();
    match origin {
        Some(CaseOrigin::Report) => match crate::found(crate::reports::staff::load_str(app, who, origin_id, Action::Read).await)? {
            Some(r) => {
                territory = territory.or(r.territory);
                if title.is_empty() {
                    title = format!("{} {}", lang.t("case.from_report"), r.reference);
                }
            }
            None => e.add("origin_id", lang.t("case.error.origin")),
        },
        Some(CaseOrigin::Site) => match crate::found(crate::sites::load_site(app, who, origin_id, Action::Read).await)? {
            Some((s, _)) => {
                territory = territory.or(s.territory);
                if title.is_empty() {
                    title = s.name.clone();
                }
            }
            None => e.add("origin_id", lang.t("case.error.origin")),
        },
        Some(CaseOrigin::Person) => match crate::found(crate::people::load_person(app, who, origin_id, Action::Read).await)? {
            Some((p, _)) => {
                territory = territory.or(p.fields.territory);
                if title.is_empty() {
                    title = p.fields.pseudonym.clone();
                }
                person = Some(p.id);
            }
            None => e.add("origin_id", lang.t("case.error.origin")),
        },
        _ => {}
    }
    if title.is_empty() && !e.has("title") {
        e.add("title", lang.t("shelter.error.required"));
    }
    let Some(origin) = origin.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation).in_territory(territory))?;
    let new = NewCase { territory, title, origin, origin_id: (origin != CaseOrigin::Direct).then(|| origin_id.to_owned()), review_on };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create(&mut tx, who.account.organisation, &new, who.account.id, now).await?;
    if let Some(p) = person {
        store::add_person(&mut tx, id, p).await?;
    }
    let mut events = vec![NewEvent::new(RecordKind::Case, id, now, Some(who.author()), "created").change(None, Some("open"))];
    let case_text = id.to_string();
    match origin {
        CaseOrigin::Report => events.push(NewEvent::new(RecordKind::Report, origin_id, now, Some(who.author()), "case").change(None, Some(&case_text))),
        CaseOrigin::Site => events.push(NewEvent::new(RecordKind::Site, origin_id, now, Some(who.author()), "case").change(None, Some(&case_text))),
        _ => {}
    }
    timeline::append_all(&mut tx, &events).await?;
    audit::append(&mut tx, who.audit_entry(now, "create", "case", id, who.account.organisation).with_detail(serde_json::json!({"origin": origin.code()})))
        .await?;
    tx.commit().await?;
    // The caller's grants now hold the case (it leads it).
    let mut lead = who.clone();
    lead.actor.cases.insert(id);
    Ok(Ok(store::get(&app.db, &lead.scope(), id).await?))
}

/// The cases the caller reads (open ones unless `all`).
pub async fn list(app: &App, who: &Caller, all: bool) -> Result<Vec<Case>> {
    gate(who)?;
    Ok(store::list(&app.db, &who.scope(), all).await?)
}

/// A case the caller may read (404 otherwise) and do `action` on (403).
pub async fn load(app: &App, who: &Caller, id: &str, action: Action) -> Result<Case> {
    gate(who)?;
    let id: CaseId = id.parse().map_err(|_| Error::not_found())?;
    let c = store::get(&app.db, &who.scope(), id).await?;
    if !who.can(Action::Read, &resource(&c)).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &resource(&c))?;
    Ok(c)
}

/// Everything a case's page shows.
#[derive(Clone, Debug)]
pub struct CasePage {
    /// The case.
    pub case: Case,
    /// Its team: (account, name, organisation, organisation name).
    pub members: Vec<(veille_domain::UserId, String, OrganisationId, String)>,
    /// Its people: (id, pseudonym) of those the caller may read.
    pub people: Vec<(veille_domain::PersonId, String)>,
    /// Its evaluations the caller may read.
    pub evaluations: Vec<Evaluation>,
    /// Its action plan.
    pub actions: Vec<FollowUp>,
    /// Its timeline.
    pub events: Vec<timeline::Event>,
    /// The caller may change it.
    pub can_update: bool,
    /// The caller manages its team and closes it (the lead organisation's coordinators).
    pub can_manage: bool,
    /// Its resource (for the "who can see this" panel).
    pub resource: Resource,
}

/// Reads a case, audited.
pub async fn read(app: &App, who: &Caller, id: &str, via: &str) -> Result<CasePage> {
    let case = load(app, who, id, Action::Read).await?;
    audit::append_now(&app.db, who.audit_entry(app.clock.now(), "read", "case", case.id, case.organisation).with_detail(serde_json::json!({"via": via})))
        .await?;
    page(app, who, case).await
}

/// The page of a case already read.
pub async fn page(app: &App, who: &Caller, case: Case) -> Result<CasePage> {
    let res = resource(&case);
    let groups: Vec<FieldGroup> = FieldGroup::ALL.into_iter().filter(|g| who.can(Action::Read, &res.clone().field(*g)).allowed).collect();
    let ids = store::people(&app.db, case.id).await?;
    let people = veille_storage::people::get_many(&app.db, &who.scope(), &ids).await?.into_iter().map(|p| (p.id, p.fields.pseudonym)).collect();
    Ok(CasePage {
        members: store::members(&app.db, case.id).await?,
        people,
        evaluations: store::evaluations(&app.db, case.id, &groups).await?,
        actions: actions::of_case(&app.db, &who.scope(), case.id).await?,
        events: timeline::of(&app.db, RecordKind::Case, case.id).await?,
        can_update: who.can(Action::Update, &res).allowed && case.status == "open",
        can_manage: who.can(Action::Delete, &res).allowed,
        resource: res,
        case,
    })
}

async fn event(
    app: &App,
    who: &Caller,
    c: &Case,
    kind: &str,
    to: Option<&str>,
    detail: serde_json::Value,
    f: impl AsyncFnOnce(&mut veille_storage::Tx) -> Result<()>,
) -> Result<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    f(&mut tx).await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Case, c.id, now, Some(who.author()), kind).change(None, to)).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "case", c.id, c.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds an account (of any organisation, by its e-mail) to the case's team.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_member(app: &App, who: &Caller, lang: Lang, c: &Case, email: &str) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Delete, &resource(c))?;
    let mut e = FieldErrors::new();
    let account = match EmailAddress::parse(email.trim()) {
        Ok(addr) => accounts::by_email(&app.db, &addr).await?.filter(|a| !a.disabled && !matches!(a.role, Role::InstanceAdmin | Role::Reader)),
        Err(_) => None,
    };
    let Some(account) = account else {
        e.add("email", lang.t("case.error.member"));
        return Ok(Err(e));
    };
    let detail = serde_json::json!({"field": "team", "added": account.id.to_string()});
    event(app, who, c, "member", Some(&account.display_name), detail, async |tx| Ok(store::add_member(tx, c.id, account.id).await?)).await?;
    Ok(Ok(()))
}

/// Takes an account off the case's team (never its last member).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn remove_member(app: &App, who: &Caller, c: &Case, user: &str) -> Result<()> {
    who.require(Action::Delete, &resource(c))?;
    let user: veille_domain::UserId = user.parse().map_err(|_| Error::bad_request())?;
    if store::members(&app.db, c.id).await?.len() <= 1 {
        return Err(Error::conflict());
    }
    let detail = serde_json::json!({"field": "team", "removed": user.to_string()});
    event(app, who, c, "member_removed", None, detail, async |tx| Ok(store::remove_member(tx, c.id, user).await?)).await
}

/// Adds a dated evaluation in a domain (health: the health field group).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_evaluation(app: &App, who: &Caller, lang: Lang, c: &Case, domain: &str, body: &str) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(c))?;
    let mut e = FieldErrors::new();
    let domain = code::<EvaluationDomain>(domain, "domain", lang, &mut e);
    let body = words(body, "body", 5000, true, lang, &mut e);
    if let Some(g) = domain.and_then(EvaluationDomain::field_group) {
        if !who.can(Action::Update, &resource(c).field(g)).allowed {
            e.add("domain", lang.t("case.error.health"));
        }
    }
    let Some(domain) = domain.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let detail = serde_json::json!({"field": "evaluation"});
    // One kind for every domain: the timeline never tells that a health evaluation exists.
    event(app, who, c, "evaluation", None, detail, async |tx| Ok(store::add_evaluation(tx, c.id, domain, &body, who.account.id, app.clock.now()).await?))
        .await?;
    Ok(Ok(()))
}

/// An action of the plan, as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ActionPlanInput {
    /// What to do.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub title: String,
    /// The owner organisation of the instance (id), or empty.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub owner_organisation_id: String,
    /// Otherwise, the partner in words (it answers through a link).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub owner_name: String,
    /// Where the partner's link is mailed (a service's address, never a person's).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub owner_email: String,
    /// Deadline (`2026-12-20`).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub due_on: String,
}

/// A partner link and its code, shown once (only their hashes are kept).
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ActionLink {
    /// The link to give the partner.
    pub url: String,
    /// The code to give orally, never with the link.
    pub code: String,
    /// Until when it works.
    pub expires_at: String,
}

/// Adds an action to the case's plan; a partner without accounts gets a
/// link (mailed when an address is given) and a code to give orally.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_action(
    app: &App,
    who: &Caller,
    lang: Lang,
    c: &Case,
    input: &ActionPlanInput,
) -> Result<std::result::Result<(ActionId, Option<ActionLink>), FieldErrors>> {
    who.require(Action::Update, &resource(c))?;
    let mut e = FieldErrors::new();
    let title = words(&input.title, "title", 300, true, lang, &mut e);
    let owner = id::<OrganisationId>(&input.owner_organisation_id, "owner_organisation_id", lang, &mut e);
    let owner_name = words(&input.owner_name, "owner_name", 200, false, lang, &mut e);
    let due_on = if input.due_on.trim().is_empty() { None } else { Some(night(&input.due_on, "due_on", None, lang, &mut e)) };
    let email = input.owner_email.trim();
    let email = if email.is_empty() {
        None
    } else {
        match EmailAddress::parse(email) {
            Ok(a) => Some(a),
            Err(_) => {
                e.add("owner_email", lang.t("case.error.email"));
                None
            }
        }
    };
    if let Some(o) = owner {
        if organisations::get(&app.db, o).await.is_err() {
            e.add("owner_organisation_id", lang.t("shelter.error.choose"));
        }
    }
    if owner.is_none() && owner_name.is_empty() && !e.has("owner_organisation_id") {
        e.add("owner_name", lang.t("case.error.owner"));
    }
    if c.status != "open" {
        e.add("title", lang.t("case.error.closed"));
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let new =
        NewFollowUp { territory: c.territory, record_kind: "case".into(), record_id: c.id.to_string(), case: Some(c.id), owner, owner_name, title, due_on };
    let mut tx = app.db.begin().await?;
    let aid = actions::create_action(&mut tx, c.organisation, &new, who.account.id, now).await?;
    let mut link = None;
    if owner.is_none() {
        let token = crate::security::random_token();
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let expires = now.plus_seconds(LINK_DAYS * 86_400);
        actions::set_link(&mut tx, aid, &crate::security::token_hash(&token), &code_hash(aid, &code), expires).await?;
        let url = format!("{}/action-link/{token}", app.config.base_url.trim_end_matches('/'));
        if let Some(to) = &email {
            let body = lang.tf("case.mail.action_body", &[("link", &url)]);
            outbox::enqueue(&mut tx, to.as_str(), &lang.t("case.mail.action_subject"), &body, now).await?;
        }
        link = Some(ActionLink { url, code, expires_at: expires.to_paris_display() });
    }
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Case, c.id, now, Some(who.author()), "action").change(None, Some(&new.title))).await?;
    let detail = serde_json::json!({"action": aid.to_string(), "owner": owner.map(|o| o.to_string()), "link": link.is_some()});
    audit::append(&mut tx, who.audit_entry(now, "update", "case", c.id, c.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok((aid, link)))
}

fn code_hash(a: ActionId, code: &str) -> String {
    crate::security::token_hash(&format!("{a}:{}", code.trim()))
}

/// The partner link's holder has no account: the token and the code are the credential.
fn link_scope() -> Scope {
    Scope::instance("action link: its token and the code given orally")
}

async fn live_link(app: &App, token: &str) -> Result<Option<FollowUp>> {
    let a = actions::by_link(&app.db, &link_scope(), &crate::security::token_hash(token)).await?;
    let now = app.clock.now();
    Ok(a.filter(|a| a.link_expires_at.is_some_and(|e| now < e) && a.status.open()))
}

/// Whether an action link works.
pub async fn link_live(app: &App, token: &str) -> Result<bool> {
    Ok(live_link(app, token).await?.is_some())
}

/// What a partner visiting its link sees.
#[derive(Clone, Debug)]
pub enum LinkVisit {
    /// Unknown, expired, done or revoked.
    Gone,
    /// The code was wrong (or too many were).
    WrongCode,
    /// Opened: the action (title, deadline, status — nothing about people), done if just answered.
    Opened {
        /// The action.
        action: Box<FollowUp>,
        /// The lead organisation's name.
        organisation: String,
        /// Just answered.
        done: bool,
        /// Problems with the answer.
        errors: FieldErrors,
    },
}

/// The partner's visit: with the right code, the action (an audited read)
/// and, with a `status`, its answer. Every attempt reserves one of
/// [`LINK_ATTEMPTS`] before the code is checked (a right code gives it back).
#[tracing::instrument(skip_all)]
pub async fn link_visit(app: &App, lang: Lang, token: &str, oral_code: &str, status: &str, result: &str) -> Result<LinkVisit> {
    let Some(a) = live_link(app, token).await? else { return Ok(LinkVisit::Gone) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if !actions::reserve_link_attempt(&mut tx, a.id, LINK_ATTEMPTS).await? {
        tx.commit().await?;
        return Ok(LinkVisit::WrongCode);
    }
    tx.commit().await?;
    let ok = a.link_code_hash.as_deref().is_some_and(|h| crate::security::same(h, &code_hash(a.id, oral_code)));
    if !ok {
        return Ok(LinkVisit::WrongCode);
    }
    let mut tx = app.db.begin().await?;
    actions::link_success(&mut tx, a.id).await?;
    let mut errors = FieldErrors::new();
    let mut done = false;
    if status.is_empty() {
        let e = audit::NewEntry::about(now, None, "read", "action", Some(a.id.to_string()), Some(a.organisation))
            .with_detail(serde_json::json!({"via": "action_link"}));
        audit::append(&mut tx, e).await?;
    } else {
        let to = code::<ActionStatus>(status, "status", lang, &mut errors);
        let result = words(result, "result", 2000, false, lang, &mut errors);
        if let Some(to) = to.filter(|_| errors.is_empty()) {
            actions::set_action_status(&mut tx, a.id, to, &result, a.version, now).await?;
            if let Some(case) = a.case {
                let ev = NewEvent::new(RecordKind::Case, case, now, None, "action_status")
                    .change(Some(a.status.code()), Some(to.code()))
                    .detail(&a.title)
                    .via(veille_domain::records::Via::Link);
                timeline::append(&mut tx, &ev).await?;
            }
            let e = audit::NewEntry::about(now, None, "update", "action", Some(a.id.to_string()), Some(a.organisation))
                .with_detail(serde_json::json!({"via": "action_link", "status": to.code()}));
            audit::append(&mut tx, e).await?;
            done = true;
        }
    }
    tx.commit().await?;
    let action = actions::get_action(&app.db, &link_scope(), a.id).await?;
    let organisation = organisations::get(&app.db, a.organisation).await?.name;
    Ok(LinkVisit::Opened { action: Box::new(action), organisation, done, errors })
}

/// Closes a case with its outcome (the lead organisation's coordinators).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn close(app: &App, who: &Caller, lang: Lang, c: &Case, outcome: &str, version_text: &str) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Delete, &resource(c))?;
    let mut e = FieldErrors::new();
    let outcome = code::<CaseOutcome>(outcome, "outcome", lang, &mut e);
    if c.status != "open" {
        e.add("outcome", lang.t("case.error.closed"));
    }
    let Some(outcome) = outcome.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let v = version(version_text);
    let detail = serde_json::json!({"status": "closed", "outcome": outcome.code()});
    event(app, who, c, "closed", Some(outcome.code()), detail, async |tx| Ok(store::set_closed(tx, c.id, Some(outcome), v, app.clock.now()).await?)).await?;
    Ok(Ok(()))
}

/// Reopens a closed case.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn reopen(app: &App, who: &Caller, c: &Case, version_text: &str) -> Result<()> {
    who.require(Action::Delete, &resource(c))?;
    if c.status == "open" {
        return Err(Error::conflict());
    }
    let v = version(version_text);
    event(app, who, c, "reopened", Some("open"), serde_json::json!({"status": "open"}), async |tx| {
        Ok(store::set_closed(tx, c.id, None, v, app.clock.now()).await?)
    })
    .await
}

/// Sets the case's next review.
pub async fn set_review(app: &App, who: &Caller, lang: Lang, c: &Case, on: &str, version_text: &str) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(c))?;
    let mut e = FieldErrors::new();
    let on: Option<Night> = if on.trim().is_empty() { None } else { Some(night(on, "review_on", None, lang, &mut e)) };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let v = version(version_text);
    let iso = on.map(|n| n.iso()).unwrap_or_default();
    event(app, who, c, "review", Some(&iso), serde_json::json!({"field": "review_on"}), async |tx| {
        Ok(store::set_review(tx, c.id, on, v, app.clock.now()).await?)
    })
    .await?;
    Ok(Ok(()))
}

/// The open follow-up actions the caller reads (of case plans and dwelling checks), by deadline.
pub async fn open_actions(app: &App, who: &Caller) -> Result<Vec<FollowUp>> {
    crate::shelter::gate_stays(who)?;
    Ok(actions::open_actions(&app.db, &who.scope()).await?)
}

/// A follow-up action the caller reads (404 otherwise).
pub async fn read_action(app: &App, who: &Caller, id: &str) -> Result<FollowUp> {
    crate::shelter::gate_stays(who)?;
    let aid: ActionId = id.parse().map_err(|_| Error::not_found())?;
    let a = actions::get_action(&app.db, &who.scope(), aid).await?;
    if !who.can(Action::Read, &crate::shelter::housing::action_resource(&a)).allowed {
        return Err(Error::not_found());
    }
    Ok(a)
}

/// A case's closure, as typed (the API's body).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct CloseInput {
    /// `sheltered`, `housed`, `returned_to_family`, `hospitalised`, `left_territory`, `lost_contact`, `deceased`, `resolved`.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub outcome: String,
    /// The case's version as read.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub version: String,
}

/// The organisations an action can be owned by: every organisation of the instance.
pub async fn owners(app: &App) -> Result<Vec<(OrganisationId, String)>> {
    Ok(organisations::list(&app.db).await?.into_iter().map(|o| (o.id, o.name)).collect())
}
