//! Requests to city and technical services: cleaning (DPE), regulation of
//! uses (DPSP, police), lighting, damaged equipment, dumped waste, and the
//! technical requests to landlords (GUSP). A request names the service, the
//! place, photos (re-encoded without metadata, as reports' photos are), the
//! urgency and the report or mediation it comes from; it goes sent →
//! acknowledged → done / refused with the service's answer.
//!
//! A service with accounts (its own organisation on the instance) answers
//! from its queue — its accounts are told by e-mail that a request awaits,
//! never what. A service without accounts answers through an expiring,
//! unguessable link opened with a code given orally, exactly as partners
//! answer referrals and follow-up actions: the token and code stored hashed,
//! every attempt reserving one of [`LINK_ATTEMPTS`] before the code is
//! checked, the link dead once expired or answered.
//!
//! Public reports of dysfunctions (a broken street light, dumped waste…)
//! are recognised at intake and routed to the competent service's queue
//! ([`route_report`]); when the service answers, its answer becomes the
//! report's public answer, which the reporter reads on the follow-up page.
//! The monthly export per service (CSV, XLSX) carries what was asked and
//! answered — a place, a need, dates, never a relay of the contact book nor
//! a person.

use rand::Rng;
use veille_domain::neighbourhood::{RequestStatus, ServiceCategory, Urgency};
use veille_domain::records::{RecordKind, Via};
use veille_domain::reports::Status;
use veille_domain::{Action, CityServiceId, EmailAddress, OrganisationId, ReportId, Resource, ResourceKind, ServiceRequestId, TerritoryId, Timestamp};
use veille_storage::reports::{self as report_store, Photo, Report};
use veille_storage::services::{self as store, CityService, NewCityService, NewRequest, RequestFilter, ServiceRequest};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{accounts, audit, organisations, outbox, Scope, Tx};

use crate::error::{Error, Result};
use crate::shelter::input::{code, id, version, words};
use crate::{App, Caller, FieldErrors, Lang};

/// How long a service's link works, in days.
pub const LINK_DAYS: i64 = 30;
/// Code attempts allowed on a link.
pub const LINK_ATTEMPTS: i64 = 5;
/// Photos a request carries at most.
pub const MAX_PHOTOS: usize = 3;

/// A service, as a resource: entries of a directory of services, read by
/// every account, kept by the coordinators of its organisation.
pub fn service_resource(s: &CityService) -> Resource {
    Resource::new(ResourceKind::Directory).owned_by(s.organisation)
}

/// A request, as a resource: a record of the organisation that sent it, in
/// its territory, shared with the service's own organisation when it has one.
pub fn resource(r: &ServiceRequest, s: &CityService) -> Resource {
    resource_of(r.organisation, r.territory, s)
}

fn resource_of(organisation: OrganisationId, territory: Option<TerritoryId>, s: &CityService) -> Resource {
    let mut res = Resource::new(ResourceKind::Record).owned_by(organisation).in_territory(territory);
    if let Some(org) = s.member_organisation.filter(|o| *o != organisation) {
        res = res.shared_with(org);
    }
    res
}

/// Whether the account works with requests to services: its organisation's
/// records, or a service's own organisation (partners answering from their queue).
pub fn gate(who: &Caller) -> Result<()> {
    match who.account.role {
        veille_domain::Role::InstanceAdmin | veille_domain::Role::Reader => Err(Error::forbidden()),
        _ => Ok(()),
    }
}

/// Whether the account sends requests.
pub fn can_send(who: &Caller) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation)).allowed
}

// ---------------------------------------------------------------------------
// Services

/// A service as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ServiceInput {
    /// Name ("Éclairage public — section Nord").
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub name: String,
    /// `cleaning`, `regulation`, `lighting`, `equipment`, `waste`, `landlord_technical`.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub category: String,
    /// Territory it covers (id; empty: every territory).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub territory_id: String,
    /// Where its link is mailed (the service's address).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub email: String,
    /// Its own organisation on the instance (id), when it has accounts.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub member_organisation_id: String,
}

/// Every service (names and addresses of services, no personal data).
pub async fn services(app: &App, who: &Caller) -> Result<Vec<CityService>> {
    gate(who)?;
    Ok(store::services(&app.db).await?)
}

/// A service the caller may read, by id text.
pub async fn load_service(app: &App, who: &Caller, id: &str, action: Action) -> Result<CityService> {
    gate(who)?;
    let id: CityServiceId = id.parse().map_err(|_| Error::not_found())?;
    let s = store::service(&app.db, id).await?;
    who.require(action, &service_resource(&s))?;
    Ok(s)
}

/// Adds a service kept by the caller's organisation (its coordinators).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create_service(app: &App, who: &Caller, lang: Lang, input: &ServiceInput) -> Result<std::result::Result<CityServiceId, FieldErrors>> {
    gate(who)?;
    who.require(Action::Create, &Resource::new(ResourceKind::Directory).owned_by(who.account.organisation))?;
    let mut e = FieldErrors::new();
    let name = words(&input.name, "name", 200, true, lang, &mut e);
    let category = code::<ServiceCategory>(&input.category, "category", lang, &mut e);
    let territory = id::<TerritoryId>(&input.territory_id, "territory_id", lang, &mut e);
    if let Some(t) = territory {
        if veille_storage::territories::get(&app.db, t).await.is_err() {
            e.add("territory_id", lang.t("shelter.error.choose"));
        }
    }
    let member = id::<OrganisationId>(&input.member_organisation_id, "member_organisation_id", lang, &mut e);
    if let Some(o) = member {
        if organisations::get(&app.db, o).await.is_err() {
            e.add("member_organisation_id", lang.t("shelter.error.choose"));
        }
    }
    let email = match input.email.trim() {
        "" => String::new(),
        t => match EmailAddress::parse(t) {
            Ok(a) => a.as_str().to_owned(),
            Err(_) => {
                e.add("email", lang.t("neighbourhood.error.email"));
                String::new()
            }
        },
    };
    let Some(category) = category.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let now = app.clock.now();
    let new = NewCityService { name, category, territory, email, member_organisation: member };
    let mut tx = app.db.begin().await?;
    let id = store::create_service(&mut tx, who.account.organisation, &new, now).await?;
    let detail = serde_json::json!({"category": category.code(), "territory": territory.map(|t| t.to_string()), "has_accounts": member.is_some()});
    audit::append(&mut tx, who.audit_entry(now, "create", "city_service", id, who.account.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    crate::reports::lookups_changed(app).await?;
    Ok(Ok(id))
}

/// Turns a service on or off (its organisation's coordinators).
pub async fn set_active(app: &App, who: &Caller, s: &CityService, active: bool) -> Result<()> {
    who.require(Action::Update, &service_resource(s))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::set_service_active(&mut tx, s.id, active, now).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "city_service", s.id, s.organisation).with_detail(serde_json::json!({"active": active}))).await?;
    tx.commit().await?;
    crate::reports::lookups_changed(app).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Requests

/// A link and its code, shown once to the sender (only their hashes are kept).
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct LinkOnce {
    /// The link to give the service.
    pub url: String,
    /// The code to give the service orally (by phone), never with the link.
    pub code: String,
    /// Until when it works.
    pub expires_at: String,
}

fn code_hash(r: ServiceRequestId, code: &str) -> String {
    crate::security::token_hash(&format!("{r}:{}", code.trim()))
}

fn base(app: &App) -> String {
    app.config.base_url.trim_end_matches('/').to_owned()
}

/// A request as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct RequestInput {
    /// The service (id; empty: the competent service for the category at the place).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub service_id: String,
    /// `cleaning`, `regulation`, `lighting`, `equipment`, `waste`, `landlord_technical` (empty: the service's).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub category: String,
    /// Address or place.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub place: String,
    /// Longitude.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub lon: String,
    /// Latitude.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub lat: String,
    /// What is asked (no names).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub description: String,
    /// `normal`, `urgent`, `immediate` (empty: normal).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub urgency: String,
    /// `report` or `mediation` (empty: none).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub origin_kind: String,
    /// The report's or mediation's id.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub origin_id: String,
}

/// Accounts of `org` that may answer the request `res` from their queue.
async fn answerers(app: &App, org: OrganisationId, res: &Resource) -> Result<Vec<accounts::Account>> {
    let mut out = Vec::new();
    for a in accounts::list(&app.db, Some(org)).await?.into_iter().filter(|a| !a.disabled) {
        let actor = accounts::actor_of(&app.db, &a).await?;
        if veille_domain::authorize(&actor, Action::Update, res).allowed {
            out.push(a);
        }
    }
    Ok(out)
}

/// Who is told of a new request, read before its transaction begins (on
/// SQLite a write transaction holds the one writer turn: no read inside it
/// that can be done before): the service's accounts that may answer it from
/// their queue (address, language), a link mailed to the service's address
/// when it has none, or nobody.
pub(crate) enum Told {
    /// These accounts, by mail (no detail).
    Accounts(Vec<(String, Lang)>),
    /// A link, made in the transaction, mailed to the service's address.
    Link,
    /// Nobody: the service's keepers send the link from their queue.
    Nobody,
}

/// The accounts of the service's own organisation that may answer `res`, or
/// a link when there are none (or it has no accounts here).
async fn told(app: &App, res: &Resource, s: &CityService) -> Result<Told> {
    let users = match s.member_organisation {
        Some(org) => answerers(app, org, res).await?,
        None => Vec::new(),
    };
    Ok(if users.is_empty() { Told::Link } else { Told::Accounts(users.into_iter().map(|u| (u.email.to_string(), Lang::from_code(&u.lang))).collect()) })
}

/// Sends a request in the caller's transaction as `told` says: the
/// service's accounts are told (no detail), or a link is made, mailed to the
/// service's address, with its code to give orally (returned once).
async fn tell(tx: &mut Tx, base: &str, r: ServiceRequestId, s: &CityService, told: &Told, now: Timestamp) -> veille_storage::error::Result<Option<LinkOnce>> {
    match told {
        Told::Nobody => Ok(None),
        Told::Link => Ok(Some(make_link(tx, base, r, s, now).await?)),
        Told::Accounts(users) => {
            let url = format!("{base}/service-requests/{r}");
            for (email, l) in users {
                outbox::enqueue(tx, email, &l.t("neighbourhood.mail.request_subject"), &l.tf("neighbourhood.mail.request_queue_body", &[("link", &url)]), now)
                    .await?;
            }
            Ok(None)
        }
    }
}

async fn make_link(tx: &mut Tx, base: &str, r: ServiceRequestId, s: &CityService, now: Timestamp) -> veille_storage::error::Result<LinkOnce> {
    let token = crate::security::random_token();
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let expires = now.plus_seconds(LINK_DAYS * 86_400);
    store::set_link(tx, r, &crate::security::token_hash(&token), &code_hash(r, &code), expires).await?;
    let url = format!("{base}/service-link/{token}");
    if !s.email.is_empty() {
        let l = Lang::Fr;
        outbox::enqueue(tx, &s.email, &l.t("neighbourhood.mail.request_subject"), &l.tf("neighbourhood.mail.request_link_body", &[("link", &url)]), now)
            .await?;
    }
    Ok(LinkOnce { url, code, expires_at: expires.to_paris_display() })
}

/// Sends a request to a service (with its photos), audited, on the
/// timelines of the request and of the report it comes from; answers the
/// link once when the service has no accounts.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn send(
    app: &App,
    who: &Caller,
    lang: Lang,
    input: &RequestInput,
    files: Vec<Vec<u8>>,
) -> Result<std::result::Result<(ServiceRequestId, Option<LinkOnce>), FieldErrors>> {
    gate(who)?;
    if !can_send(who) {
        return Err(Error::forbidden());
    }
    let mut e = FieldErrors::new();
    let mut place = words(&input.place, "place", 300, false, lang, &mut e);
    let description = words(&input.description, "description", 4000, true, lang, &mut e);
    let urgency = if input.urgency.trim().is_empty() { Some(Urgency::Normal) } else { code::<Urgency>(&input.urgency, "urgency", lang, &mut e) };
    let mut category = if input.category.trim().is_empty() { None } else { code::<ServiceCategory>(&input.category, "category", lang, &mut e) };
    let mut point = super::point(app, &input.lon, &input.lat, lang, &mut e).await.map(|(p, t)| ((p.lon, p.lat), t));
    let mut territory = point.and_then(|p| p.1);
    // Where it comes from.
    let (mut origin_kind, mut origin_id, mut origin_report): (&'static str, Option<String>, Option<Report>) = ("direct", None, None);
    match input.origin_kind.trim() {
        "" => {}
        "report" => match crate::reports::staff::load_str(app, who, &input.origin_id, Action::Read).await {
            Ok(r) => {
                origin_kind = "report";
                origin_id = Some(r.id.to_string());
                if point.is_none() {
                    point = r.lon.zip(r.lat).map(|p| (p, r.territory));
                    territory = territory.or(r.territory);
                }
                if place.is_empty() {
                    place = r.address.clone();
                }
                origin_report = Some(r);
            }
            Err(err) if matches!(err.kind, crate::ErrorKind::NotFound | crate::ErrorKind::Forbidden) => e.add("origin_id", lang.t("shelter.error.choose")),
            Err(err) => return Err(err),
        },
        "mediation" => match super::mediations::load(app, who, &input.origin_id, Action::Read).await {
            Ok(m) => {
                origin_kind = "mediation";
                origin_id = Some(m.id.to_string());
                if point.is_none() {
                    point = m.lon.zip(m.lat).map(|p| (p, m.territory));
                    territory = territory.or(m.territory);
                }
                if place.is_empty() {
                    place = m.place.clone();
                }
            }
            Err(err) if matches!(err.kind, crate::ErrorKind::NotFound | crate::ErrorKind::Forbidden) => e.add("origin_id", lang.t("shelter.error.choose")),
            Err(err) => return Err(err),
        },
        _ => e.add("origin_kind", lang.t("shelter.error.choose")),
    }
    // The service: the one chosen, or the competent one for the category here.
    let service = match input.service_id.trim() {
        "" => match category {
            Some(c) => competent_of(&store::competent_services(&app.db).await?, c, territory).cloned(),
            None => None,
        },
        t => match t.parse::<CityServiceId>() {
            Ok(id) => store::service(&app.db, id).await.ok().filter(|s| s.active),
            Err(_) => None,
        },
    };
    let Some(service) = service else {
        e.add("service_id", lang.t("neighbourhood.error.service"));
        return Ok(Err(e));
    };
    category = category.or(Some(service.category));
    if place.is_empty() && point.is_none() {
        e.add("place", lang.t("neighbourhood.error.place"));
    }
    if files.len() > MAX_PHOTOS {
        e.add("photo", lang.tf("neighbourhood.error.photos", &[("max", &MAX_PHOTOS.to_string())]));
    }
    let mut photos: Vec<Photo> = Vec::new();
    for f in files.into_iter().take(MAX_PHOTOS) {
        match crate::reports::photos::accept_off_thread(f).await? {
            Ok(p) => photos.push(p),
            Err(refusal) => e.add("photo", lang.tf(refusal.key(), &[("max", crate::reports::photos::MAX_MEGABYTES)])),
        }
    }
    let (Some(category), Some(urgency)) = (category, urgency) else { return Ok(Err(e)) };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    // A report's photo goes with it (already re-encoded without metadata).
    if let Some(r) = &origin_report {
        if photos.is_empty() {
            if let Some(p) = report_store::photo(&app.db, r.id).await? {
                photos.push(p);
            }
        }
    }
    let new = NewRequest { territory, service: service.id, category, place, point: point.map(|p| p.0), description, urgency, origin_kind, origin_id };
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation).in_territory(territory))?;
    let told = told(app, &resource_of(who.account.organisation, territory, &service), &service).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create_request(&mut tx, who.account.organisation, &new, Some(who.account.id), now).await?;
    for p in &photos {
        store::add_photo(&mut tx, id, p, now).await?;
    }
    timeline::append(&mut tx, &NewEvent::new(RecordKind::ServiceRequest, id, now, Some(who.author()), "created").change(None, Some("sent"))).await?;
    if let Some(r) = &origin_report {
        timeline::append(&mut tx, &NewEvent::new(RecordKind::Report, r.id, now, Some(who.author()), "service_request").change(None, Some(&service.name)))
            .await?;
    }
    let link = tell(&mut tx, &base(app), id, &service, &told, now).await?;
    let detail = serde_json::json!({
        "service": service.id.to_string(), "category": category.code(), "urgency": urgency.code(), "origin": new.origin_kind,
        "origin_id": new.origin_id, "photos": photos.len(), "link": link.is_some(),
    });
    audit::append(&mut tx, who.audit_entry(now, "create", "service_request", id, who.account.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok((id, link)))
}

/// The requests a report received at intake makes to the competent
/// services of its dysfunctions (one per kind of service), prepared before
/// the intake's shared transaction: who is told of each is read here.
pub(crate) struct ReportRequests {
    base: String,
    each: Vec<(CityService, Told)>,
}

/// Prepares the requests of a report placed in `territory` to `services`:
/// a service answering from its own accounts is told at once; otherwise no
/// link is made here (the code of a link is given orally by a person, so the
/// service's keepers send it from the queue, [`issue_link`]).
pub(crate) async fn prepare_report_requests(app: &App, territory: Option<TerritoryId>, services: Vec<CityService>) -> Result<ReportRequests> {
    let mut each = Vec::with_capacity(services.len());
    for s in services {
        let t = if s.member_organisation.is_some() { told(app, &resource_of(s.organisation, territory, &s), &s).await? } else { Told::Nobody };
        each.push((s, t));
    }
    Ok(ReportRequests { base: base(app), each })
}

/// A report of the intake's group and the requests prepared for it: its
/// id, its row, its photo, its requests, when it was received.
pub(crate) type ReportOfGroup<'a> = (ReportId, &'a veille_storage::reports::NewReport, Option<&'a Photo>, &'a ReportRequests, Timestamp);

/// Writes the prepared requests of a group of reports in the intake's
/// transaction — one statement for every request of the group —, owned by
/// the organisation that keeps each service (its queue), with the report's
/// photo; their events on both timelines and their audit entries are added
/// to the group's (`events`, `entries`), which the caller appends.
pub(crate) async fn write_report_requests<'a>(
    tx: &mut Tx,
    group: &[ReportOfGroup<'a>],
    events: &mut Vec<NewEvent<'a>>,
    entries: &mut Vec<audit::NewEntry<'a>>,
) -> veille_storage::error::Result<()> {
    /// A request of the group, before and after its row is written.
    struct Made<'a> {
        id: ServiceRequestId,
        row: NewRequest,
        service: &'a CityService,
        told: &'a Told,
        report: ReportId,
        photo: Option<&'a Photo>,
        base: &'a str,
        at: Timestamp,
    }
    let mut made = Vec::new();
    for (report, new, photo, requests, at) in group {
        for (service, told) in &requests.each {
            let row = NewRequest {
                territory: new.territory,
                service: service.id,
                category: service.category,
                place: new.address.clone(),
                point: new.lon.zip(new.lat),
                description: new.description.clone(),
                urgency: Urgency::Normal,
                origin_kind: "report",
                origin_id: Some(report.to_string()),
            };
            made.push(Made { id: ServiceRequestId::new(), row, service, told, report: *report, photo: *photo, base: &requests.base, at: *at });
        }
    }
    let rows: Vec<_> = made.iter().map(|m| (m.id, m.service.organisation, &m.row, m.at)).collect();
    store::create_requests(tx, &rows, None).await?;
    for Made { id, service: s, told, report, photo, base, at, .. } in made {
        if let Some(p) = photo {
            store::add_photo(tx, id, p, at).await?;
        }
        events.push(NewEvent::new(RecordKind::ServiceRequest, id, at, None, "created").change(None, Some("sent")));
        events.push(NewEvent::new(RecordKind::Report, report, at, None, "service_request").change(None, Some(&s.name)));
        tell(tx, base, id, s, told, at).await?;
        let detail = serde_json::json!({"service": s.id.to_string(), "category": s.category.code(), "origin": "report", "origin_id": report.to_string(), "via": "intake"});
        entries.push(audit::NewEntry::about(at, None, "create", "service_request", Some(id.to_string()), Some(s.organisation)).with_detail(detail));
    }
    Ok(())
}

/// The competent services of a report's dysfunctions at its place (one per
/// category), among the active services in competence order
/// ([`store::competent_services`], cached by the intake).
pub fn competent_for(services: &[CityService], situations: &[String], territory: Option<TerritoryId>) -> Vec<CityService> {
    let mut out: Vec<CityService> = Vec::new();
    for s in situations {
        let Some(category) = veille_domain::neighbourhood::category_of_situation(s) else { continue };
        if out.iter().any(|x| x.category == category) {
            continue;
        }
        if let Some(service) = competent_of(services, category, territory) {
            out.push(service.clone());
        }
    }
    out
}

/// The competent service for a category at a place, among the active
/// services in competence order: the first of the place's territory, else
/// the first of every territory.
fn competent_of(services: &[CityService], category: ServiceCategory, territory: Option<TerritoryId>) -> Option<&CityService> {
    services.iter().find(|x| x.category == category && (x.territory.is_none() || x.territory == territory))
}

/// A request the caller may read (404 otherwise) and do `action` on (403), with its service.
pub async fn load(app: &App, who: &Caller, id: &str, action: Action) -> Result<(ServiceRequest, CityService)> {
    gate(who)?;
    let id: ServiceRequestId = id.parse().map_err(|_| Error::not_found())?;
    let r = store::get_request(&app.db, &who.scope(), id).await?;
    let s = store::service(&app.db, r.service).await?;
    let res = resource(&r, &s);
    if !who.can(Action::Read, &res).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &res)?;
    Ok((r, s))
}

/// What a request's page shows.
#[derive(Clone, Debug)]
pub struct RequestPage {
    /// The request.
    pub request: ServiceRequest,
    /// Its service.
    pub service: CityService,
    /// The sending organisation's name.
    pub sender: String,
    /// The reference of the report it comes from, when the caller reads it.
    pub report_reference: Option<String>,
    /// Its photos.
    pub photos: Vec<Photo>,
    /// Its history.
    pub events: Vec<veille_storage::timeline::Event>,
    /// Whether the caller may record the service's answer.
    pub can_answer: bool,
    /// Whether the caller may (re)send the service's link.
    pub can_link: bool,
}

/// Reads a request, audited.
pub async fn read(app: &App, who: &Caller, id: &str, via: &str) -> Result<RequestPage> {
    let (request, service) = load(app, who, id, Action::Read).await?;
    let e = who.audit_entry(app.clock.now(), "read", "service_request", request.id, request.organisation).with_detail(serde_json::json!({"via": via}));
    audit::append_now(&app.db, e).await?;
    page(app, who, request, service).await
}

/// The page of a request already read.
pub async fn page(app: &App, who: &Caller, request: ServiceRequest, service: CityService) -> Result<RequestPage> {
    let res = resource(&request, &service);
    let can_answer = who.can(Action::Update, &res).allowed && request.status.open();
    let can_link = can_answer && service.member_organisation.is_none() && who.account.organisation == request.organisation;
    let report_reference = match (request.origin_kind.as_str(), request.origin_id.as_deref().and_then(|i| i.parse::<ReportId>().ok())) {
        ("report", Some(rid)) => report_store::get(&app.db, &who.scope(), rid).await.ok().map(|r| r.reference),
        _ => None,
    };
    Ok(RequestPage {
        sender: organisations::get(&app.db, request.organisation).await?.name,
        report_reference,
        photos: store::photos(&app.db, request.id).await?,
        events: timeline::of(&app.db, RecordKind::ServiceRequest, request.id).await?,
        request,
        service,
        can_answer,
        can_link,
    })
}

/// A service's queue (or every request the caller reads), newest first.
pub async fn queue(app: &App, who: &Caller, service: Option<&CityService>, open_only: bool) -> Result<Vec<(ServiceRequest, String)>> {
    gate(who)?;
    let f = RequestFilter { service: service.map(|s| s.id), open: open_only, ..Default::default() };
    let all = store::services(&app.db).await?;
    let name = |id: CityServiceId| all.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_default();
    Ok(store::requests(&app.db, &who.scope(), &f, 500).await?.into_iter().map(|r| (name(r.service), r)).map(|(n, r)| (r, n)).collect())
}

/// The requests the caller reads that come from a record (a report's or mediation's page).
pub async fn of_origin(app: &App, who: &Caller, kind: &str, id: &str) -> Result<Vec<(ServiceRequest, String)>> {
    if gate(who).is_err() {
        return Ok(Vec::new());
    }
    let f = RequestFilter { origin: Some((kind.to_owned(), id.to_owned())), ..Default::default() };
    let all = store::services(&app.db).await?;
    let name = |id: CityServiceId| all.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_default();
    Ok(store::requests(&app.db, &who.scope(), &f, 100).await?.into_iter().map(|r| (name(r.service), r)).map(|(n, r)| (r, n)).collect())
}

/// (Re)sends the service's link (a service without accounts): a new token
/// and code, the old ones dead; mailed to the service's address, the code
/// shown once to give orally.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn issue_link(app: &App, who: &Caller, r: &ServiceRequest, s: &CityService) -> Result<LinkOnce> {
    who.require(Action::Update, &resource(r, s))?;
    if !r.status.open() || s.member_organisation.is_some() || who.account.organisation != r.organisation {
        return Err(Error::conflict());
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let link = make_link(&mut tx, &base(app), r.id, s, now).await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::ServiceRequest, r.id, now, Some(who.author()), "link")).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "service_request", r.id, r.organisation).with_detail(serde_json::json!({"field": "link"}))).await?;
    tx.commit().await?;
    Ok(link)
}

/// The service's answer, as typed (its queue, the API or its link).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct AnswerInput {
    /// `acknowledged`, `done` or `refused`.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub status: String,
    /// The answer (required when done or refused; the reporter reads it).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub answer: String,
    /// The version the form was filled from.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub version: String,
}

fn check_answer(lang: Lang, r: &ServiceRequest, input: &AnswerInput) -> std::result::Result<(RequestStatus, String), FieldErrors> {
    let mut e = FieldErrors::new();
    let to = code::<RequestStatus>(&input.status, "status", lang, &mut e);
    let answer = words(&input.answer, "answer", 2000, false, lang, &mut e);
    if let Some(to) = to {
        if !r.status.may_become(to) {
            e.add("status", lang.t("neighbourhood.error.status"));
        } else if matches!(to, RequestStatus::Done | RequestStatus::Refused) && answer.is_empty() {
            e.add("answer", lang.t("neighbourhood.error.answer"));
        }
    }
    match to.filter(|_| e.is_empty()) {
        Some(to) => Ok((to, answer)),
        None => Err(e),
    }
}

/// Records a status and answer in one transaction: the request, its
/// timeline, the audit entry; the report it comes from moves on (in
/// progress once acknowledged; answered with the service's words once done
/// or refused, which the reporter reads on the follow-up page and is mailed
/// when they asked); the sender is told by e-mail (a link, no detail).
#[allow(clippy::too_many_arguments)]
async fn apply(app: &App, who: Option<&Caller>, r: &ServiceRequest, s: &CityService, to: RequestStatus, answer: &str, version: i64, via: &str) -> Result<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::set_status(&mut tx, r, to, answer, version, now).await?;
    let actor = who.map(Caller::author);
    let event = NewEvent::new(RecordKind::ServiceRequest, r.id, now, actor, "status").change(Some(r.status.code()), Some(to.code())).detail(answer);
    timeline::append(&mut tx, &if who.is_some() { event } else { event.via(Via::Link) }).await?;
    let detail = serde_json::json!({"field": "status", "from": r.status.code(), "to": to.code(), "via": via});
    let entry = match who {
        Some(w) => w.audit_entry(now, "update", "service_request", r.id, r.organisation).with_detail(detail),
        None => audit::NewEntry::about(now, None, "update", "service_request", Some(r.id.to_string()), Some(r.organisation)).with_detail(detail),
    };
    audit::append(&mut tx, entry).await?;
    if let ("report", Some(rid)) = (r.origin_kind.as_str(), r.origin_id.as_deref().and_then(|i| i.parse::<ReportId>().ok())) {
        report_moves_on(&mut tx, app, actor, rid, s, to, answer, now).await?;
    }
    // The sender hears back (a link only).
    if let Some(author) = store::author_of(&app.db, r.id).await? {
        if let Ok(a) = accounts::get(&app.db, author).await {
            if !a.disabled && who.is_none_or(|w| w.account.id != a.id) {
                let l = Lang::from_code(&a.lang);
                let url = format!("{}/service-requests/{}", base(app), r.id);
                outbox::enqueue(
                    &mut tx,
                    &a.email,
                    &l.t("neighbourhood.mail.answered_subject"),
                    &l.tf("neighbourhood.mail.answered_body", &[("link", &url)]),
                    now,
                )
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The report a request comes from moves on with the service's answer.
#[allow(clippy::too_many_arguments)]
async fn report_moves_on(
    tx: &mut Tx,
    app: &App,
    actor: Option<(veille_domain::UserId, OrganisationId)>,
    rid: ReportId,
    s: &CityService,
    to: RequestStatus,
    answer: &str,
    now: Timestamp,
) -> Result<()> {
    let scope = Scope::instance("the report a service request comes from moves on with the service's answer");
    let Ok(report) = report_store::get(&app.db, &scope, rid).await else { return Ok(()) };
    if report.status == Status::Closed {
        return Ok(());
    }
    let via = if actor.is_some() { Via::Staff } else { Via::Link };
    match to {
        RequestStatus::Acknowledged => {
            if matches!(report.status, Status::Received | Status::Qualified | Status::Assigned) {
                report_store::set_status(tx, report.id, Status::InProgress, None, report.version, now).await?;
                let ev = NewEvent::new(RecordKind::Report, report.id, now, actor, "status").change(Some(report.status.code()), Some("in_progress")).via(via);
                timeline::append(tx, &ev).await?;
                crate::reports::notify_reporter(tx, app, &report, Status::InProgress, &report.public_answer).await?;
            }
        }
        RequestStatus::Done | RequestStatus::Refused => {
            let lang = Lang::Fr;
            let key = if to == RequestStatus::Done { "neighbourhood.public.done" } else { "neighbourhood.public.refused" };
            let public = lang.tf(key, &[("service", &s.name), ("answer", answer)]);
            report_store::set_answer(tx, &report, &public, report.version, now).await?;
            timeline::append(tx, &NewEvent::new(RecordKind::Report, report.id, now, actor, "answer").via(via)).await?;
            let status = if report.status.answers() { report.status } else { Status::Answered };
            if status != report.status {
                report_store::set_status(tx, report.id, status, None, report.version + 1, now).await?;
                let ev = NewEvent::new(RecordKind::Report, report.id, now, actor, "status").change(Some(report.status.code()), Some(status.code())).via(via);
                timeline::append(tx, &ev).await?;
            }
            crate::reports::notify_reporter(tx, app, &report, status, &public).await?;
        }
        RequestStatus::Sent => {}
    }
    let detail = serde_json::json!({"field": "service_answer", "status": to.code(), "via": if actor.is_some() { "staff" } else { "service_link" }});
    let e = audit::NewEntry::about(now, actor, "update", "report", Some(report.id.to_string()), report.organisation).with_detail(detail);
    audit::append(tx, e).await?;
    Ok(())
}

/// Records the service's answer from its queue (its accounts), or as the
/// sender heard it by phone.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn answer(
    app: &App,
    who: &Caller,
    lang: Lang,
    r: &ServiceRequest,
    s: &CityService,
    input: &AnswerInput,
) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(r, s))?;
    let (to, text) = match check_answer(lang, r, input) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    apply(app, Some(who), r, s, to, &text, version(&input.version), "queue").await?;
    Ok(Ok(()))
}

// ---------------------------------------------------------------------------
// The service's link (no account)

/// The link's holder has no account: the token and the code given orally are the credential.
fn link_scope() -> Scope {
    Scope::instance("service link: its token and the code given orally")
}

async fn live_link(app: &App, token: &str) -> Result<Option<ServiceRequest>> {
    if token.len() < 20 || token.len() > 100 {
        return Ok(None);
    }
    let r = store::by_link(&app.db, &link_scope(), &crate::security::token_hash(token)).await?;
    let now = app.clock.now();
    Ok(r.filter(|r| r.link_expires_at.is_some_and(|e| now < e) && r.status.open() && r.link_failures < LINK_ATTEMPTS))
}

/// Whether a service's link works (then it asks for the code).
pub async fn link_live(app: &App, token: &str) -> Result<bool> {
    Ok(live_link(app, token).await?.is_some())
}

/// What the service sees once its link is opened: the request (place,
/// need, photos, urgency) and who sent it — nothing about people.
#[derive(Clone, Debug)]
pub struct Opened {
    /// The request.
    pub request: ServiceRequest,
    /// The service.
    pub service: CityService,
    /// The sending organisation's name.
    pub sender: String,
    /// Its photos.
    pub photos: Vec<Photo>,
}

/// What became of a visit to the service's link.
#[derive(Clone, Debug)]
pub enum LinkVisit {
    /// Unknown, expired, answered or revoked.
    Gone,
    /// A wrong code (counted).
    WrongCode,
    /// Opened: what it shows, whether an answer was just recorded, its errors.
    Opened {
        /// What it shows.
        opened: Box<Opened>,
        /// An answer was recorded.
        done: bool,
        /// The answer's errors.
        errors: FieldErrors,
    },
}

/// The service's visit: with the right code, the request (an audited read)
/// and, with a status, its answer. Every attempt reserves one of
/// [`LINK_ATTEMPTS`] before the code is checked (a right code gives it back).
#[tracing::instrument(skip_all)]
pub async fn link_visit(app: &App, lang: Lang, token: &str, oral_code: &str, input: &AnswerInput) -> Result<LinkVisit> {
    let Some(r) = live_link(app, token).await? else { return Ok(LinkVisit::Gone) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if !store::reserve_link_attempt(&mut tx, r.id, LINK_ATTEMPTS).await? {
        tx.commit().await?;
        return Ok(LinkVisit::WrongCode);
    }
    tx.commit().await?;
    let ok = r.link_code_hash.as_deref().is_some_and(|h| crate::security::same(h, &code_hash(r.id, oral_code)));
    if !ok {
        return Ok(LinkVisit::WrongCode);
    }
    let mut tx = app.db.begin().await?;
    store::link_success(&mut tx, r.id).await?;
    tx.commit().await?;
    let s = store::service(&app.db, r.service).await?;
    let mut errors = FieldErrors::new();
    let mut done = false;
    if input.status.trim().is_empty() {
        let e = audit::NewEntry::about(now, None, "read", "service_request", Some(r.id.to_string()), Some(r.organisation))
            .with_detail(serde_json::json!({"via": "service_link"}));
        audit::append_now(&app.db, e).await?;
    } else {
        match check_answer(lang, &r, input) {
            Ok((to, text)) => {
                apply(app, None, &r, &s, to, &text, r.version, "service_link").await?;
                done = true;
            }
            Err(e) => errors = e,
        }
    }
    let request = store::get_request(&app.db, &link_scope(), r.id).await?;
    let opened = Opened {
        sender: organisations::get(&app.db, request.organisation).await?.name,
        photos: store::photos(&app.db, request.id).await?,
        request,
        service: s,
    };
    Ok(LinkVisit::Opened { opened: Box::new(opened), done, errors })
}

// ---------------------------------------------------------------------------
// The monthly export per service

/// A line of the export: what was asked and answered (a place and a need —
/// never a relay of the contact book, never a person).
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ExportLine {
    /// The request's id.
    pub id: String,
    /// Sent at (Paris time).
    pub sent_at: String,
    /// Category code.
    pub category: String,
    /// Urgency code.
    pub urgency: String,
    /// Address or place.
    pub place: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// What was asked.
    pub description: String,
    /// `report`, `mediation` or `direct`.
    pub origin: String,
    /// The sending organisation.
    pub sender: String,
    /// Status code.
    pub status: String,
    /// Acknowledged at (Paris time).
    pub acknowledged_at: String,
    /// Answered at (Paris time).
    pub answered_at: String,
    /// The service's answer.
    pub answer: String,
}

/// The first instant of a month typed `2026-11` (Paris), and of the next.
pub fn month_bounds(text: &str) -> Option<(Timestamp, Timestamp)> {
    let (y, m) = text.trim().split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    let first = chrono::NaiveDate::from_ymd_opt(y, m, 1)?;
    let next = if m == 12 { chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)? } else { chrono::NaiveDate::from_ymd_opt(y, m + 1, 1)? };
    Some((Timestamp::at_paris(first, 0)?, Timestamp::at_paris(next, 0)?))
}

/// The requests to a service sent in a month that the caller reads, as export lines (audited).
pub async fn export_lines(app: &App, who: &Caller, s: &CityService, month: &str) -> Result<Vec<ExportLine>> {
    gate(who)?;
    let (from, until) = month_bounds(month).ok_or_else(Error::bad_request)?;
    let f = RequestFilter { service: Some(s.id), from: Some(from), until: Some(until), ..Default::default() };
    let found = store::requests(&app.db, &who.scope(), &f, 10_000).await?;
    let orgs = organisations::list(&app.db).await?;
    let when = |t: Option<Timestamp>| t.map(|t| t.to_paris_rfc3339()).unwrap_or_default();
    let mut lines: Vec<ExportLine> = found
        .into_iter()
        .filter(|r| who.can(Action::Read, &resource(r, s)).allowed)
        .map(|r| ExportLine {
            id: r.id.to_string(),
            sent_at: r.created_at.to_paris_rfc3339(),
            category: r.category.code().into(),
            urgency: r.urgency.code().into(),
            place: r.place.clone(),
            lon: r.lon,
            lat: r.lat,
            description: r.description.clone(),
            origin: r.origin_kind.clone(),
            sender: orgs.iter().find(|o| o.id == r.organisation).map(|o| o.name.clone()).unwrap_or_default(),
            status: r.status.code().into(),
            acknowledged_at: when(r.acknowledged_at),
            answered_at: when(r.answered_at),
            answer: r.answer.clone(),
        })
        .collect();
    lines.reverse();
    let e = who
        .audit_entry(app.clock.now(), "export", "city_service", s.id, s.organisation)
        .with_detail(serde_json::json!({"month": month.trim(), "lines": lines.len()}));
    audit::append_now(&app.db, e).await?;
    Ok(lines)
}

fn header(lang: Lang) -> Vec<String> {
    ["id", "sent_at", "category", "urgency", "place", "lon", "lat", "description", "origin", "sender", "status", "acknowledged_at", "answered_at", "answer"]
        .iter()
        .map(|k| lang.t(&format!("neighbourhood.export.{k}")))
        .collect()
}

fn cells(lang: Lang, l: &ExportLine) -> Vec<String> {
    let coord = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    vec![
        l.id.clone(),
        l.sent_at.clone(),
        lang.t(&format!("neighbourhood.category.{}", l.category)),
        lang.t(&format!("neighbourhood.urgency.{}", l.urgency)),
        l.place.clone(),
        coord(l.lon),
        coord(l.lat),
        l.description.clone(),
        lang.t(&format!("neighbourhood.origin.{}", l.origin)),
        l.sender.clone(),
        lang.t(&format!("neighbourhood.request_status.{}", l.status)),
        l.acknowledged_at.clone(),
        l.answered_at.clone(),
        l.answer.clone(),
    ]
}

/// A cell as CSV: quoted, and a formula's first character neutralised
/// (`=`, `+`, `-`, `@` start no formula in a spreadsheet).
fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_owned() };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// The export as CSV (UTF-8 with a byte-order mark, `;`-separated as French spreadsheets expect).
pub fn to_csv(lang: Lang, lines: &[ExportLine]) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(&header(lang).iter().map(|h| csv_cell(h)).collect::<Vec<_>>().join(";"));
    out.push_str("\r\n");
    for l in lines {
        out.push_str(&cells(lang, l).iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    out
}

/// The export as an XLSX workbook (one sheet, a bold header row, text cells).
pub fn to_xlsx(lang: Lang, service: &str, month: &str, lines: &[ExportLine]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let wrap = |e: rust_xlsxwriter::XlsxError| Error::from(anyhow::anyhow!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let name: String = month.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect();
    sheet.set_name(if name.is_empty() { "export" } else { &name }).map_err(wrap)?;
    let bold = Format::new().set_bold();
    sheet.write_string_with_format(0, 0, lang.tf("neighbourhood.export.title", &[("service", service), ("month", month)]), &bold).map_err(wrap)?;
    for (c, h) in header(lang).iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, h, &bold).map_err(wrap)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let row = 3 + i as u32;
        for (c, v) in cells(lang, l).iter().enumerate() {
            sheet.write_string(row, c as u16, v).map_err(wrap)?;
        }
    }
    book.save_to_buffer().map_err(wrap)
}
