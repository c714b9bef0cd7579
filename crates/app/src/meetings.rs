//! Meetings of every kind in one module — cellules de veille and the
//! commission cas complexes (an agenda of cases to review), partner, public
//! and residents' meetings, health-promotion sessions, working groups,
//! trainings (anonymous attendance by public and an evaluation) — with
//! minutes mailed to attendees: a case's title, notes and decision only to
//! who may read the case.

use veille_domain::cases::{MeetingKind, SessionPublic};
use veille_domain::records::RecordKind;
use veille_domain::{authorize, Action, CaseId, EmailAddress, MeetingId, MeetingItemId, Resource, ResourceKind, Role, TerritoryId, Timestamp, UserId};
use veille_storage::cases as case_store;
use veille_storage::meetings::{self as store, Attendee, Item, Meeting, NewMeeting};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{accounts, audit, outbox, Scope};

use veille_documents::Document;

use crate::cases::{ActionLink, ActionPlanInput};
use crate::error::{Error, Result};
use crate::shelter::input::{code, id, number, version, words};
use crate::{App, Caller, FieldErrors, Lang};

/// The access-control description of a meeting: its organisation's, shared
/// with the organisations of its account attendees.
pub fn resource(m: &Meeting, attendees: &[Attendee]) -> Resource {
    let mut r = Resource::new(ResourceKind::Record).owned_by(m.organisation).in_territory(m.territory);
    for o in attendees.iter().filter_map(|a| a.organisation).filter(|o| *o != m.organisation) {
        r = r.shared_with(o);
    }
    r
}

/// Whether the account works with meetings (its organisation's records, or shared ones).
pub fn gate(who: &Caller) -> Result<()> {
    crate::shelter::gate_stays(who)
}

/// A meeting, as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct MeetingInput {
    /// Kind (`cellule`, `commission`, `partners`, `public`, `residents`, `health_session`, `working_group`, `training`).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub kind: String,
    /// Title.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub title: String,
    /// Place.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub place: String,
    /// Start, Paris time (`2026-12-10T14:00`).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub starts_at: String,
    /// Duration in minutes (default 90).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub minutes: String,
    /// Theme.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub theme: String,
    /// Territory id.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub territory_id: String,
}

/// Plans a meeting of the caller's organisation (the caller attends).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn plan(app: &App, who: &Caller, lang: Lang, input: &MeetingInput) -> Result<std::result::Result<MeetingId, FieldErrors>> {
    if !crate::cases::can_open(who) {
        return Err(Error::forbidden());
    }
    let mut e = FieldErrors::new();
    let kind = code::<MeetingKind>(&input.kind, "kind", lang, &mut e);
    let title = words(&input.title, "title", 200, true, lang, &mut e);
    let place = words(&input.place, "place", 200, false, lang, &mut e);
    let theme = words(&input.theme, "theme", 500, false, lang, &mut e);
    let starts_at = Timestamp::parse_paris(&input.starts_at);
    if starts_at.is_none() {
        e.add("starts_at", lang.t("meeting.error.when"));
    }
    let minutes = number(&input.minutes, "minutes", 15, 24 * 60, Some(90), lang, &mut e);
    let territory = id::<TerritoryId>(&input.territory_id, "territory_id", lang, &mut e);
    let (Some(kind), Some(starts_at)) = (kind, starts_at) else { return Ok(Err(e)) };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation).in_territory(territory))?;
    let new = NewMeeting { territory, kind, title, place, starts_at, ends_at: starts_at.plus_seconds(minutes * 60), theme };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create(&mut tx, who.account.organisation, &new, who.account.id, now).await?;
    let me = Attendee { user: Some(who.account.id), organisation: Some(who.account.organisation), name: String::new(), email: None, public: None, count: 1 };
    store::add_attendee(&mut tx, id, &me).await?;
    audit::append(&mut tx, who.audit_entry(now, "create", "meeting", id, who.account.organisation).with_detail(serde_json::json!({"kind": kind.code()})))
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// The meetings the caller reads from today on (all when `past`).
pub async fn list(app: &App, who: &Caller, past: bool) -> Result<Vec<Meeting>> {
    gate(who)?;
    let from = (!past).then(|| app.clock.now().plus_seconds(-12 * 3600));
    Ok(store::list(&app.db, &who.scope(), from).await?)
}

/// A meeting the caller may read (404 otherwise) and do `action` on (403), with its attendees.
pub async fn load(app: &App, who: &Caller, id: &str, action: Action) -> Result<(Meeting, Vec<Attendee>)> {
    gate(who)?;
    let id: MeetingId = id.parse().map_err(|_| Error::not_found())?;
    let m = store::get(&app.db, &who.scope(), id).await?;
    let attendees = store::attendees(&app.db, m.id).await?;
    let res = resource(&m, &attendees);
    if !who.can(Action::Read, &res).allowed {
        return Err(Error::not_found());
    }
    // Changing a meeting is for its organisation (attendees of others read it).
    if action != Action::Read {
        who.require(action, &Resource::new(ResourceKind::Record).owned_by(m.organisation).in_territory(m.territory))?;
    }
    Ok((m, attendees))
}

/// An agenda item as a reader sees it: a case's title only when it may read the case.
#[derive(Clone, Debug)]
pub struct ItemView {
    /// The item.
    pub item: Item,
    /// The case's title, when the reader may read it.
    pub case_title: Option<String>,
    /// Whether the item is a case the reader may not read (its notes and decision are withheld).
    pub withheld: bool,
}

/// The agenda as `actor` may read it.
async fn agenda_for(app: &App, actor: &veille_domain::Actor, items: Vec<Item>) -> Result<Vec<ItemView>> {
    let mut out = Vec::new();
    for item in items {
        let (case_title, withheld) = match item.case {
            Some(c) => match case_store::get(&app.db, &Scope::instance("agenda: a case is shown only to who may read it"), c).await {
                Ok(case) if authorize(actor, Action::Read, &crate::cases::resource(&case)).allowed => (Some(case.title), false),
                _ => (None, true),
            },
            None => (None, false),
        };
        out.push(ItemView { item, case_title, withheld });
    }
    Ok(out)
}

/// Everything a meeting's page shows.
#[derive(Clone, Debug)]
pub struct MeetingPage {
    /// The meeting.
    pub meeting: Meeting,
    /// Its attendees.
    pub attendees: Vec<Attendee>,
    /// Its agenda as the caller may read it.
    pub agenda: Vec<ItemView>,
    /// Open cases the caller reads that the agenda could review (due for review, overdue or blocked actions), with why.
    pub candidates: Vec<(CaseId, String, &'static str)>,
    /// The caller may change it.
    pub can_update: bool,
}

/// Reads a meeting, audited.
pub async fn read(app: &App, who: &Caller, id: &str) -> Result<MeetingPage> {
    let (meeting, attendees) = load(app, who, id, Action::Read).await?;
    audit::append_now(&app.db, who.audit_entry(app.clock.now(), "read", "meeting", meeting.id, meeting.organisation)).await?;
    page(app, who, meeting, attendees).await
}

/// The page of a meeting already read.
pub async fn page(app: &App, who: &Caller, meeting: Meeting, attendees: Vec<Attendee>) -> Result<MeetingPage> {
    let items = store::items(&app.db, meeting.id).await?;
    let on_agenda: Vec<CaseId> = items.iter().filter_map(|i| i.case).collect();
    let can_update = who.can(Action::Update, &Resource::new(ResourceKind::Record).owned_by(meeting.organisation).in_territory(meeting.territory)).allowed;
    let mut candidates = Vec::new();
    if meeting.kind.reviews_cases() && can_update {
        let day = veille_domain::shelter::Night::at(meeting.starts_at);
        for c in case_store::list(&app.db, &who.scope(), false).await?.into_iter().filter(|c| !on_agenda.contains(&c.id)) {
            let plan = veille_storage::actions::of_case(&app.db, &who.scope(), c.id).await?;
            let why = if plan.iter().any(|a| a.status == veille_domain::shelter::ActionStatus::Blocked) {
                "blocked"
            } else if plan.iter().any(|a| a.status.open() && a.due_on.is_some_and(|d| d < day)) {
                "overdue"
            } else if c.review_on.is_some_and(|r| r <= day) {
                "review"
            } else if plan.is_empty() {
                "no_plan"
            } else {
                continue;
            };
            candidates.push((c.id, c.title, why));
        }
    }
    Ok(MeetingPage { agenda: agenda_for(app, &who.actor, items).await?, candidates, can_update, meeting, attendees })
}

/// The "who can see this" panel of a meeting: who reads the meeting, and,
/// for each case on its agenda that the viewer reads, who reads that case's
/// title, notes and decision (the case's own panel: its organisation's
/// roles that read it and its team). The same permission function decides.
#[derive(Clone, Debug)]
pub struct MeetingPanel {
    /// Who reads the meeting.
    pub meeting: Vec<crate::access_panel::PanelEntry>,
    /// For each case item the viewer reads: its title and who reads its details.
    pub cases: Vec<(String, Vec<crate::access_panel::PanelEntry>)>,
}

/// The panel of a meeting already read.
pub async fn panel(app: &App, who: &Caller, page: &MeetingPage) -> Result<MeetingPanel> {
    let meeting = crate::access_panel::who_can_read(&app.db, &who.actor, &resource(&page.meeting, &page.attendees)).await?;
    let mut cases = Vec::new();
    for v in page.agenda.iter().filter(|v| !v.withheld) {
        let (Some(case), Some(title)) = (v.item.case, &v.case_title) else { continue };
        let c = case_store::get(&app.db, &who.scope(), case).await?;
        cases.push((title.clone(), crate::access_panel::who_can_read(&app.db, &who.actor, &crate::cases::resource(&c)).await?));
    }
    Ok(MeetingPanel { meeting, cases })
}

/// An attendee, as typed: an account's e-mail, a person named with an
/// address, or a count of a public.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct AttendeeInput {
    /// An e-mail (an account's, or a partner's without an account).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub email: String,
    /// A name (a partner without an account).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub name: String,
    /// A public counted (`drug_users`, `residents`…).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub public: String,
    /// How many of that public.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub count: String,
}

/// Adds an attendee to a meeting.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_attendee(app: &App, who: &Caller, lang: Lang, m: &Meeting, input: &AttendeeInput) -> Result<std::result::Result<(), FieldErrors>> {
    let mut e = FieldErrors::new();
    let attendee = if !input.public.trim().is_empty() {
        let public = code::<SessionPublic>(&input.public, "public", lang, &mut e);
        let count = number(&input.count, "count", 1, 10_000, None, lang, &mut e);
        public.map(|p| Attendee { user: None, organisation: None, name: String::new(), email: None, public: Some(p), count })
    } else {
        let name = words(&input.name, "name", 200, false, lang, &mut e);
        match EmailAddress::parse(input.email.trim()) {
            Ok(addr) => match accounts::by_email(&app.db, &addr).await?.filter(|a| !a.disabled) {
                Some(a) => {
                    Some(Attendee { user: Some(a.id), organisation: Some(a.organisation), name: a.display_name, email: Some(a.email), public: None, count: 1 })
                }
                None if !name.is_empty() => {
                    Some(Attendee { user: None, organisation: None, name, email: Some(addr.as_str().to_owned()), public: None, count: 1 })
                }
                None => {
                    e.add("name", lang.t("meeting.error.name"));
                    None
                }
            },
            Err(_) => {
                e.add("email", lang.t("case.error.email"));
                None
            }
        }
    };
    let Some(attendee) = attendee.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::add_attendee(&mut tx, m.id, &attendee).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "meeting", m.id, m.organisation).with_detail(serde_json::json!({"field": "attendees"}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// An agenda item, as typed (the API's body): a case the caller reads, or a topic.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct AgendaInput {
    /// A case's id.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub case_id: String,
    /// Or a topic.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub topic: String,
}

/// A meeting held, as typed (the API's body).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct HoldInput {
    /// Its evaluation (collective sessions).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub evaluation: String,
    /// The meeting's version as read.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub version: String,
}

/// Adds a case (that the caller reads) or a topic to the agenda.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_item(app: &App, who: &Caller, lang: Lang, m: &Meeting, case: &str, topic: &str) -> Result<std::result::Result<(), FieldErrors>> {
    let mut e = FieldErrors::new();
    let topic = words(topic, "topic", 300, false, lang, &mut e);
    let case = if case.trim().is_empty() { None } else { crate::found(crate::cases::load(app, who, case.trim(), Action::Read).await)?.map(|c| c.id) };
    if case.is_none() && topic.is_empty() && !e.has("topic") {
        e.add("topic", lang.t("meeting.error.item"));
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::add_item(&mut tx, m.id, case, &topic).await?;
    if let Some(c) = case {
        timeline::append(&mut tx, &NewEvent::new(RecordKind::Case, c, now, Some(who.author()), "meeting").change(None, Some(&m.title))).await?;
    }
    audit::append(&mut tx, who.audit_entry(now, "update", "meeting", m.id, m.organisation).with_detail(serde_json::json!({"field": "agenda"}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// What is recorded on an item during the meeting; a decision on a case may become an action.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ItemInput {
    /// The item's id.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub item_id: String,
    /// Notes.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub notes: String,
    /// Decision.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub decision: String,
    /// The action it becomes (on a case): who owns it and by when.
    #[serde(flatten)]
    pub action: ActionPlanInput,
}

/// Records an item's notes and decision; on a case, a decision with an
/// action's owner becomes an action of the case's plan (a partner without
/// accounts gets its link and code, shown once).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn record_item(app: &App, who: &Caller, lang: Lang, m: &Meeting, input: &ItemInput) -> Result<std::result::Result<Option<ActionLink>, FieldErrors>> {
    let mut e = FieldErrors::new();
    let notes = words(&input.notes, "notes", 5000, false, lang, &mut e);
    let decision = words(&input.decision, "decision", 2000, false, lang, &mut e);
    let item_id = id::<MeetingItemId>(&input.item_id, "item_id", lang, &mut e);
    let item = store::items(&app.db, m.id).await?.into_iter().find(|i| Some(i.id) == item_id);
    let Some(item) = item.filter(|_| e.is_empty()) else {
        if e.is_empty() {
            e.add("item_id", lang.t("shelter.error.choose"));
        }
        return Ok(Err(e));
    };
    let wants_action = !input.action.owner_organisation_id.trim().is_empty() || !input.action.owner_name.trim().is_empty();
    let mut link = None;
    let mut action = None;
    if let (Some(case), true) = (item.case, wants_action) {
        let c = crate::cases::load(app, who, &case.to_string(), Action::Update).await?;
        let plan =
            ActionPlanInput { title: if input.action.title.trim().is_empty() { decision.clone() } else { input.action.title.clone() }, ..input.action.clone() };
        match crate::cases::add_action(app, who, lang, &c, &plan).await? {
            Ok((a, l)) => {
                action = Some(a);
                link = l;
            }
            Err(errors) => return Ok(Err(errors)),
        }
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::record_item(&mut tx, item.id, &notes, &decision, action).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "update", "meeting", m.id, m.organisation)
            .with_detail(serde_json::json!({"field": "item", "action": action.map(|a| a.to_string())})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(link))
}

/// Marks the meeting held with its evaluation (collective sessions).
pub async fn hold(app: &App, who: &Caller, lang: Lang, m: &Meeting, evaluation: &str, version_text: &str) -> Result<std::result::Result<(), FieldErrors>> {
    let mut e = FieldErrors::new();
    let evaluation = words(evaluation, "evaluation", 5000, false, lang, &mut e);
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::set_held(&mut tx, m.id, &evaluation, version(version_text), now).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "meeting", m.id, m.organisation).with_detail(serde_json::json!({"status": "held"}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The minutes of a meeting as `reader` may read them (none: an attendee
/// without an account, who reads no case): items of cases it may not read
/// say only that a situation was reviewed, without their notes or decision.
/// One document for the mail, the printable page and the PDF.
pub async fn minutes(app: &App, lang: Lang, m: &Meeting, attendees: &[Attendee], reader: Option<&veille_domain::Actor>) -> Result<Document> {
    let items = store::items(&app.db, m.id).await?;
    let nobody = veille_domain::Actor {
        user: UserId::from_uuid(uuid::Uuid::nil()),
        organisation: veille_domain::OrganisationId::from_uuid(uuid::Uuid::nil()),
        role: Role::Reader,
        territories: veille_domain::TerritoryScope::Only(Default::default()),
        field_groups: Default::default(),
        cases: Default::default(),
    };
    let agenda = agenda_for(app, reader.unwrap_or(&nobody), items).await?;
    let mut doc = Document::new(lang.tf("meeting.mail.subject", &[("title", &m.title)]), lang.code());
    let mut facts = vec![
        (lang.t("meeting.field.kind"), lang.t(&format!("meeting.kind.{}", m.kind.code()))),
        (lang.t("meeting.field.starts_at"), m.starts_at.to_paris_display()),
    ];
    if !m.place.is_empty() {
        facts.push((lang.t("meeting.field.place"), m.place.clone()));
    }
    if !m.theme.is_empty() {
        facts.push((lang.t("meeting.theme"), m.theme.clone()));
    }
    let named: Vec<&str> = attendees.iter().filter(|a| a.public.is_none()).map(|a| a.name.as_str()).collect();
    if !named.is_empty() {
        facts.push((lang.t("meeting.attendees"), named.join(", ")));
    }
    let counted: Vec<String> =
        attendees.iter().filter_map(|a| a.public.map(|p| format!("{} {}", a.count, lang.t(&format!("meeting.public.{}", p.code()))))).collect();
    if !counted.is_empty() {
        facts.push((lang.t("meeting.counted"), counted.join(", ")));
    }
    doc.facts(facts);
    if !agenda.is_empty() {
        doc.heading(lang.t("meeting.agenda.title"));
    }
    for (i, v) in agenda.iter().enumerate() {
        let head = match (&v.case_title, v.withheld) {
            (Some(t), _) => t.clone(),
            (None, true) => lang.t("meeting.withheld"),
            (None, false) => v.item.topic.clone(),
        };
        doc.heading(format!("{}. {head}", i + 1));
        if !v.withheld {
            doc.paragraph(v.item.notes.clone());
            if !v.item.decision.is_empty() {
                doc.facts([(lang.t("meeting.decision"), v.item.decision.clone())]);
            }
        }
    }
    if !m.evaluation.is_empty() {
        doc.heading(lang.t("meeting.evaluation")).paragraph(m.evaluation.clone());
    }
    doc.footer(format!("{} · {}", m.title, m.starts_at.to_paris_display()));
    Ok(doc)
}

/// The minutes as plain text (see [`minutes`]).
pub async fn minutes_text(app: &App, lang: Lang, m: &Meeting, attendees: &[Attendee], reader: Option<&veille_domain::Actor>) -> Result<String> {
    Ok(minutes(app, lang, m, attendees, reader).await?.to_text())
}

/// The minutes as the caller may read them, as PDF (an audited read: the
/// case items it may read are in it).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn minutes_pdf(app: &App, who: &Caller, lang: Lang, m: &Meeting, attendees: &[Attendee]) -> Result<Vec<u8>> {
    let doc = minutes(app, lang, m, attendees, Some(&who.actor)).await?;
    audit::append_now(
        &app.db,
        who.audit_entry(app.clock.now(), "read", "meeting", m.id, m.organisation).with_detail(serde_json::json!({"via": "minutes_pdf"})),
    )
    .await?;
    // Drawing a PDF is CPU work: off the async threads.
    let pdf = tokio::task::spawn_blocking(move || doc.to_pdf()).await.map_err(|e| anyhow::anyhow!("minutes pdf: {e}"))?;
    Ok(pdf.map_err(|e| anyhow::anyhow!("minutes pdf: {e}"))?)
}

/// Mails the minutes to every attendee with an address. A mail carries no
/// detail of any case, whoever receives it (no personal data in e-mails):
/// the case items say only that a situation was reviewed, and attendees with
/// an account get the link to the minutes page, where each reads what it may.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn send_minutes(app: &App, who: &Caller, m: &Meeting, attendees: &[Attendee]) -> Result<usize> {
    let now = app.clock.now();
    let link = format!("{}/meetings/{}/minutes", app.config.base_url.trim_end_matches('/'), m.id);
    let mut mails = Vec::new();
    for a in attendees.iter().filter(|a| a.public.is_none()) {
        let Some(to) = &a.email else { continue };
        let lang = match a.user {
            Some(u) => Lang::from_code(&accounts::get(&app.db, u).await?.lang),
            None => Lang::Fr,
        };
        let mut body = minutes_text(app, lang, m, attendees, None).await?;
        if a.user.is_some() {
            body.push_str(&format!("\n{}\n", lang.tf("meeting.mail.full", &[("link", &link)])));
        }
        mails.push((to.clone(), lang.tf("meeting.mail.subject", &[("title", &m.title)]), body));
    }
    let mut tx = app.db.begin().await?;
    for (to, subject, body) in &mails {
        outbox::enqueue(&mut tx, to, subject, body, now).await?;
    }
    store::minutes_sent(&mut tx, m.id, now).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "meeting", m.id, m.organisation).with_detail(serde_json::json!({"minutes_sent": mails.len()})))
        .await?;
    tx.commit().await?;
    Ok(mails.len())
}

/// The meetings the caller reads, as iCalendar text.
pub async fn ics(app: &App, who: &Caller) -> Result<String> {
    use icalendar::{Calendar, Component, EventLike};
    let meetings = list(app, who, true).await?;
    let mut cal = Calendar::new();
    cal.name("veille — réunions");
    for m in &meetings {
        let mut event = icalendar::Event::new();
        event
            .uid(&format!("meeting-{}@veille", m.id))
            .timestamp(app.clock.now().to_datetime())
            .summary(&m.title)
            .starts(m.starts_at.to_datetime())
            .ends(m.ends_at.to_datetime())
            .url(&format!("{}/meetings/{}", app.config.base_url.trim_end_matches('/'), m.id));
        if !m.place.is_empty() {
            event.location(&m.place);
        }
        cal.push(event.done());
    }
    Ok(cal.done().to_string())
}
