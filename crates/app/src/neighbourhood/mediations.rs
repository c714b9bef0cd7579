//! Mediations: when, where (a point, a site or an address), the parties by
//! role — and by contact when one is on file in the contact book —, the
//! subject, what was done, the outcome and a follow-up date. Recorded fast
//! on a phone as one of a round's stop actions (like an encounter), or
//! afterwards. The follow-ups still to do make the coordinators' list.
//!
//! A mediation is a record of the organisation that recorded it, in its
//! territory: its organisation's members read it; a party's contact shows
//! its name only to who reads the contact book (the relays field group),
//! and that read is audited.

use veille_domain::neighbourhood::{MediationOutcome, MediationSubject, PartyRole};
use veille_domain::records::RecordKind;
use veille_domain::shelter::Night;
use veille_domain::{Action, ContactId, MediationId, PersonId, ReportId, Resource, ResourceKind, RoundId, SiteId, Timestamp};
use veille_storage::neighbourhood::{self as store, Contact, Mediation, MediationFilter, NewMediation, Party};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{audit, Scope};

use crate::error::{Error, Result};
use crate::shelter::input::{code, id, version, words};
use crate::{App, Caller, FieldErrors, Lang};

/// A party as the API sends it.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct PartyInput {
    /// `resident`, `shopkeeper`, `caretaker`, `landlord`, `person_met`, `institution`, `elected`, `association`, `other`
    /// (empty with a contact: the contact's role).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub role: String,
    /// A contact of the contact book (id).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub contact_id: String,
    /// A person's file, for a person met who has one (id).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub person_id: String,
    /// How many (default 1).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub count: String,
}

/// A mediation as typed (the form sends `contact` and `party_role`
/// repeated; the API sends `parties`).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct MediationInput {
    /// The round it is recorded on (id), if any.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub round_id: String,
    /// The site it happened at (id), if any.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub site_id: String,
    /// The report it answers (id), if any.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub report_id: String,
    /// When, Paris time (`2026-12-10T14:00`; empty: now).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub at: String,
    /// Address or place in words.
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
    /// `noise`, `gatherings`, `used_material`, `neighbour_conflict`, `building_access`, `drug_use`, `waste`, `incivility`, `new_facility`, `other`.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub subject: String,
    /// What was done.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub actions: String,
    /// `agreement`, `calmed`, `partial`, `no_agreement`, `referred`, `to_follow`.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub outcome: String,
    /// The outcome in words.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub outcome_note: String,
    /// Follow-up date (`2026-12-20`), if one is planned.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub follow_up_on: String,
    /// Contacts of the contact book taking part (ids; the form's `contact`).
    #[serde(default)]
    pub contact: Vec<String>,
    /// Parties by role (the form's `party_role`, each counted once).
    #[serde(default)]
    pub party_role: Vec<String>,
    /// Parties (the API).
    #[serde(default)]
    pub parties: Vec<PartyInput>,
}

impl MediationInput {
    /// Whether the form ticked a role.
    pub fn has_role(&self, role: &str) -> bool {
        self.party_role.iter().any(|r| r == role)
    }
    /// Whether the form chose a contact.
    pub fn has_contact(&self, id: &ContactId) -> bool {
        let id = id.to_string();
        self.contact.contains(&id)
    }
}

/// The access-control description of a mediation.
pub fn resource(m: &Mediation) -> Resource {
    Resource::new(ResourceKind::Record).owned_by(m.organisation).in_territory(m.territory)
}

/// Whether the account works with mediations (its organisation's records).
pub fn gate(who: &Caller) -> Result<()> {
    who.require(Action::Read, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))
}

/// Whether the account records mediations.
pub fn can_record(who: &Caller) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation)).allowed
}

/// Checks a mediation as typed, against what the caller may read.
async fn validate(app: &App, who: &Caller, lang: Lang, input: &MediationInput) -> Result<std::result::Result<NewMediation, FieldErrors>> {
    let mut e = FieldErrors::new();
    let now = app.clock.now();
    let subject = code::<MediationSubject>(&input.subject, "subject", lang, &mut e);
    let outcome = code::<MediationOutcome>(&input.outcome, "outcome", lang, &mut e);
    let actions = words(&input.actions, "actions", 4000, false, lang, &mut e);
    let outcome_note = words(&input.outcome_note, "outcome_note", 2000, false, lang, &mut e);
    let mut place = words(&input.place, "place", 300, false, lang, &mut e);
    let at = match input.at.trim() {
        "" => now,
        t => match Timestamp::parse_paris(t).filter(|t| *t <= now.plus_seconds(3600) && *t >= now.plus_seconds(-366 * 86_400)) {
            Some(t) => t,
            None => {
                e.add("at", lang.t("neighbourhood.error.when"));
                now
            }
        },
    };
    let today = Night::of_date(now.paris_date());
    let follow_up_on = match input.follow_up_on.trim() {
        "" => None,
        t => match Night::parse(t).filter(|n| *n >= today && *n <= today.plus(366)) {
            Some(n) => Some(n),
            None => {
                e.add("follow_up_on", lang.t("neighbourhood.error.follow_up"));
                None
            }
        },
    };
    let mut point = super::point(app, &input.lon, &input.lat, lang, &mut e).await.map(|(p, t)| ((p.lon, p.lat), t));
    // The round: one of the caller's organisation it may work on, out or back.
    let mut round = None;
    let round_id = id::<RoundId>(&input.round_id, "round_id", lang, &mut e);
    if let Some(r) = round_id {
        match crate::rounds::load_round(app, who, &r.to_string(), Action::Update).await {
            Ok(r) if r.organisation == who.account.organisation && (r.status == "started" || r.status == "ended") => round = Some(r),
            Ok(_) => e.add("round_id", lang.t("neighbourhood.error.round")),
            Err(err) if err.kind == crate::ErrorKind::NotFound || err.kind == crate::ErrorKind::Forbidden => {
                e.add("round_id", lang.t("neighbourhood.error.round"))
            }
            Err(err) => return Err(err),
        }
    }
    let mut site = None;
    if let Some(s) = id::<SiteId>(&input.site_id, "site_id", lang, &mut e) {
        match crate::sites::load_site(app, who, &s.to_string(), Action::Read).await {
            Ok((s, _)) => site = Some(s),
            Err(err) if err.kind == crate::ErrorKind::NotFound || err.kind == crate::ErrorKind::Forbidden => e.add("site_id", lang.t("shelter.error.choose")),
            Err(err) => return Err(err),
        }
    }
    let mut report = None;
    if let Some(r) = id::<ReportId>(&input.report_id, "report_id", lang, &mut e) {
        match crate::reports::staff::load(app, who, r, Action::Read).await {
            Ok(r) => report = Some(r),
            Err(err) if err.kind == crate::ErrorKind::NotFound || err.kind == crate::ErrorKind::Forbidden => e.add("report_id", lang.t("shelter.error.choose")),
            Err(err) => return Err(err),
        }
    }
    if let (None, Some(s)) = (&point, &site) {
        point = Some(((s.lon, s.lat), s.territory));
        if place.is_empty() {
            place = s.name.clone();
        }
    }
    // The parties: contacts of the contact book (their role) and roles.
    let mut parties: Vec<Party> = Vec::new();
    let mut contact_ids: Vec<String> = input.contact.iter().filter(|c| !c.trim().is_empty()).cloned().collect();
    let mut typed_parties: Vec<(String, String, String)> =
        input.party_role.iter().filter(|r| !r.trim().is_empty()).map(|r| (r.clone(), String::new(), "1".into())).collect();
    for p in &input.parties {
        if !p.contact_id.trim().is_empty() && p.role.trim().is_empty() {
            contact_ids.push(p.contact_id.clone());
        } else {
            typed_parties.push((p.role.clone(), p.person_id.clone(), p.count.clone()));
        }
    }
    let mut contacts: Vec<Contact> = Vec::new();
    if !contact_ids.is_empty() {
        if !super::contacts::may_read(who) {
            e.add("contact", lang.t("neighbourhood.error.contact"));
        } else {
            for c in &contact_ids {
                match super::contacts::load(app, who, c, Action::Read).await {
                    Ok(c) => {
                        if !contacts.iter().any(|k| k.id == c.id) {
                            contacts.push(c);
                        }
                    }
                    Err(err) if err.kind == crate::ErrorKind::NotFound || err.kind == crate::ErrorKind::Forbidden => {
                        e.add("contact", lang.t("neighbourhood.error.contact"))
                    }
                    Err(err) => return Err(err),
                }
            }
        }
    }
    for c in &contacts {
        parties.push(Party { role: c.role.party_role(), contact: Some(c.id), person: None, count: 1 });
    }
    for (role, person, count) in typed_parties {
        let Some(role) = code::<PartyRole>(&role, "party_role", lang, &mut e) else { continue };
        let count = match count.trim() {
            "" => 1,
            t => match t.parse::<i64>() {
                Ok(n) if (1..=500).contains(&n) => n,
                _ => {
                    e.add("party_role", lang.t("neighbourhood.error.count"));
                    1
                }
            },
        };
        let person = match id::<PersonId>(&person, "party_role", lang, &mut e) {
            Some(p) => match crate::people::load_person_by_id(app, who, p, Action::Read).await {
                Ok(_) => Some(p),
                Err(err) if err.kind == crate::ErrorKind::NotFound || err.kind == crate::ErrorKind::Forbidden => {
                    e.add("party_role", lang.t("shelter.error.choose"));
                    None
                }
                Err(err) => return Err(err),
            },
            None => None,
        };
        parties.push(Party { role, contact: None, person, count });
    }
    if parties.is_empty() && !e.has("contact") && !e.has("party_role") {
        e.add("party_role", lang.t("neighbourhood.error.parties"));
    }
    if parties.len() > 30 {
        e.add("party_role", lang.t("neighbourhood.error.parties"));
    }
    let (Some(subject), Some(outcome)) = (subject, outcome) else { return Ok(Err(e)) };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let territory = point.and_then(|p| p.1).or(site.as_ref().and_then(|s| s.territory)).or(round.as_ref().and_then(|r| r.territory));
    Ok(Ok(NewMediation {
        territory,
        team: round.as_ref().map(|r| r.team),
        round: round.as_ref().map(|r| r.id),
        site: site.map(|s| s.id),
        report: report.map(|r| r.id),
        at,
        place,
        point: point.map(|p| p.0),
        subject,
        actions,
        outcome,
        outcome_note,
        follow_up_on,
        parties,
    }))
}

/// Records a mediation of the caller's organisation, audited, on its
/// timeline.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn record(app: &App, who: &Caller, lang: Lang, input: &MediationInput) -> Result<std::result::Result<MediationId, FieldErrors>> {
    gate(who)?;
    let new = match validate(app, who, lang, input).await? {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation).in_territory(new.territory))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create_mediation(&mut tx, who.account.organisation, &new, who.account.id, now).await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Mediation, id, now, Some(who.author()), "created").change(None, Some(new.outcome.code()))).await?;
    let detail = serde_json::json!({
        "subject": new.subject.code(), "outcome": new.outcome.code(), "round": new.round.map(|r| r.to_string()),
        "site": new.site.map(|s| s.to_string()), "report": new.report.map(|r| r.to_string()),
        "parties": new.parties.len(), "contacts": new.parties.iter().filter_map(|p| p.contact.map(|c| c.to_string())).collect::<Vec<_>>(),
        "follow_up_on": new.follow_up_on.map(|n| n.iso()),
    });
    audit::append(&mut tx, who.audit_entry(now, "create", "mediation", id, who.account.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// A mediation the caller may read (404 otherwise) and do `action` on (403).
pub async fn load(app: &App, who: &Caller, id: &str, action: Action) -> Result<Mediation> {
    gate(who)?;
    let id: MediationId = id.parse().map_err(|_| Error::not_found())?;
    let m = store::get_mediation(&app.db, &who.scope(), id).await?;
    if !who.can(Action::Read, &resource(&m)).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &resource(&m))?;
    Ok(m)
}

/// A party as a reader sees it.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct PartyView {
    /// Role code.
    pub role: String,
    /// How many.
    pub count: i64,
    /// Whether a contact of the contact book is named (its identity is shown only to who reads the contact book).
    pub from_contact_book: bool,
    /// The contact's id, to who reads the contact book.
    pub contact_id: Option<String>,
    /// The contact's name, to who reads the contact book.
    pub contact_name: Option<String>,
    /// The contact's shop, building or school, to who reads the contact book.
    pub contact_structure: Option<String>,
    /// A person's file (id).
    pub person_id: Option<String>,
}

/// A mediation with its parties as the caller may read them.
#[derive(Clone, Debug)]
pub struct MediationView {
    /// The mediation.
    pub mediation: Mediation,
    /// Its parties.
    pub parties: Vec<PartyView>,
    /// Whether the caller may mark its follow-up done.
    pub can_update: bool,
    /// Who recorded it.
    pub author: String,
}

/// The parties of a mediation as `who` may read them; contacts' identities
/// only with the field group (their read audited when any is shown).
async fn parties_for(app: &App, who: &Caller, m: &Mediation, identities: bool) -> Result<Vec<PartyView>> {
    let parties = store::parties(&app.db, m.id).await?;
    let reads_book = identities && super::contacts::may_read(who);
    let mut shown = Vec::new();
    let mut out = Vec::new();
    for p in parties {
        let mut view = PartyView {
            role: p.role.code().into(),
            count: p.count,
            from_contact_book: p.contact.is_some(),
            contact_id: None,
            contact_name: None,
            contact_structure: None,
            person_id: p.person.map(|x| x.to_string()),
        };
        if let (Some(c), true) = (p.contact, reads_book) {
            if let Ok(contact) = store::get_contact(&app.db, &who.scope(), c).await {
                if who.can(Action::Read, &super::contacts::resource(&contact)).allowed {
                    view.contact_id = Some(contact.id.to_string());
                    view.contact_name = Some(contact.name.clone());
                    view.contact_structure = Some(contact.structure.clone());
                    shown.push(contact.id.to_string());
                }
            }
        }
        out.push(view);
    }
    if !shown.is_empty() {
        let e = audit::NewEntry::about(app.clock.now(), Some(who.author()), "read", "contact", None, Some(who.account.organisation))
            .with_detail(serde_json::json!({"via": "mediation", "mediation": m.id.to_string(), "field_group": "relays", "contacts": shown}));
        audit::append_now(&app.db, e).await?;
    }
    Ok(out)
}

/// Reads a mediation, audited, with its parties as the caller may read them.
pub async fn read(app: &App, who: &Caller, id: &str, via: &str) -> Result<MediationView> {
    let m = load(app, who, id, Action::Read).await?;
    audit::append_now(&app.db, who.audit_entry(app.clock.now(), "read", "mediation", m.id, m.organisation).with_detail(serde_json::json!({"via": via})))
        .await?;
    let parties = parties_for(app, who, &m, true).await?;
    let can_update = who.can(Action::Update, &resource(&m)).allowed;
    let author = match m.created_by {
        Some(u) => veille_storage::accounts::get(&app.db, u).await.map(|a| a.display_name).unwrap_or_default(),
        None => String::new(),
    };
    Ok(MediationView { mediation: m, parties, can_update, author })
}

/// A line of a list: a mediation and its parties by role (no identity).
#[derive(Clone, Debug)]
pub struct Line {
    /// The mediation.
    pub mediation: Mediation,
    /// Its parties (roles and counts only).
    pub parties: Vec<PartyView>,
}

/// The coordinators' and the team's lists: follow-ups still to do (soonest
/// first) and the recent mediations, parties by role only.
#[derive(Clone, Debug)]
pub struct Lists {
    /// Follow-ups still to do.
    pub follow_ups: Vec<Line>,
    /// Recent mediations (30 days).
    pub recent: Vec<Line>,
    /// Today (for overdue follow-ups).
    pub today: Night,
}

async fn lines(app: &App, who: &Caller, ms: Vec<Mediation>) -> Result<Vec<Line>> {
    let mut out = Vec::new();
    for m in ms {
        let parties = parties_for(app, who, &m, false).await?;
        out.push(Line { mediation: m, parties });
    }
    Ok(out)
}

/// The lists of mediations the caller reads.
pub async fn lists(app: &App, who: &Caller) -> Result<Lists> {
    gate(who)?;
    let scope = who.scope();
    let now = app.clock.now();
    let follow = store::mediations(&app.db, &scope, &MediationFilter { follow_up_open: true, ..Default::default() }, 200).await?;
    let recent = store::mediations(&app.db, &scope, &MediationFilter { from: Some(now.plus_seconds(-30 * 86_400)), ..Default::default() }, 200).await?;
    Ok(Lists { follow_ups: lines(app, who, follow).await?, recent: lines(app, who, recent).await?, today: Night::of_date(now.paris_date()) })
}

/// The follow-ups still to do (the API).
pub async fn follow_ups(app: &App, who: &Caller) -> Result<Vec<Line>> {
    gate(who)?;
    let found = store::mediations(&app.db, &who.scope(), &MediationFilter { follow_up_open: true, ..Default::default() }, 500).await?;
    lines(app, who, found).await
}

/// The mediations recorded on a round (its page and daily report).
pub async fn of_round(app: &App, who: &Caller, round: RoundId) -> Result<Vec<Line>> {
    if gate(who).is_err() {
        return Ok(Vec::new());
    }
    let found = store::mediations(&app.db, &who.scope(), &MediationFilter { round: Some(round), ..Default::default() }, 200).await?;
    lines(app, who, found).await
}

/// Marks a mediation's follow-up done.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn follow_up_done(app: &App, who: &Caller, m: &Mediation, version_text: &str) -> Result<()> {
    who.require(Action::Update, &resource(m))?;
    if m.follow_up_on.is_none() || m.follow_up_done_at.is_some() {
        return Err(Error::conflict());
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::follow_up_done(&mut tx, m.id, version(version_text), now).await?;
    timeline::append(&mut tx, &NewEvent::new(RecordKind::Mediation, m.id, now, Some(who.author()), "follow_up_done")).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "mediation", m.id, m.organisation).with_detail(serde_json::json!({"field": "follow_up_done"})))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Mediations with a point the caller reads since `since` (the tension map).
pub async fn placed_since(app: &App, scope: &Scope, since: Timestamp) -> Result<Vec<Mediation>> {
    Ok(store::mediations(&app.db, scope, &MediationFilter { from: Some(since), placed: true, ..Default::default() }, 5000).await?)
}

/// The form of a new mediation, filled from where it is recorded: a round's
/// stop (its site or its point and label), a site, a report.
pub async fn draft(app: &App, who: &Caller, round: &str, stop: &str, site: &str, report: &str) -> Result<MediationInput> {
    gate(who)?;
    let mut d = MediationInput { subject: String::new(), outcome: String::new(), ..Default::default() };
    if !round.trim().is_empty() {
        let r = crate::rounds::load_round(app, who, round.trim(), Action::Update).await?;
        d.round_id = r.id.to_string();
        if let Some(s) = veille_storage::rounds::stops(&app.db, &who.scope(), r.id).await?.into_iter().find(|s| s.id == stop.trim()) {
            match s.site {
                Some(site) => d.site_id = site.to_string(),
                None => {
                    d.place = s.label.clone();
                    d.lon = s.lon.map(|v| v.to_string()).unwrap_or_default();
                    d.lat = s.lat.map(|v| v.to_string()).unwrap_or_default();
                }
            }
            if let Some(rep) = s.report {
                d.report_id = rep.to_string();
            }
        }
    }
    if d.site_id.is_empty() && !site.trim().is_empty() {
        if let Ok((s, _)) = crate::sites::load_site(app, who, site.trim(), Action::Read).await {
            d.site_id = s.id.to_string();
        }
    }
    if d.report_id.is_empty() && !report.trim().is_empty() {
        if let Ok(id) = report.trim().parse::<ReportId>() {
            if let Ok(r) = crate::reports::staff::load(app, who, id, Action::Read).await {
                d.report_id = r.id.to_string();
                if d.place.is_empty() {
                    d.place = r.address.clone();
                }
            }
        }
    }
    Ok(d)
}

/// What the mediation form offers: the sites the caller reads and the contacts of the contact book (for who reads it).
pub async fn form_choices(app: &App, who: &Caller) -> Result<(Vec<(SiteId, String)>, Vec<Contact>)> {
    let sites = crate::sites::readable_sites(app, who).await?.into_iter().filter(|s| s.status == "active").map(|s| (s.id, s.name)).collect();
    Ok((sites, super::contacts::choices(app, who).await?))
}
