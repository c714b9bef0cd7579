//! Logbooks (journaux de bord) of teams, sites, cases and facilities: dated
//! entries with a category, an author, an optional attachment (a photo
//! re-encoded without metadata, or a PDF) and mentions of colleagues, who
//! are told by e-mail (a link, never the text). Handover entries are shown
//! first: in a book, and to the next team at its round's check-in (those of
//! its own book, those addressed to it, those of the organisation's other
//! teams for the next team, and those of the sites of its stops, written
//! since the team's last check-in). The site logbook that existed is the
//! logbook of sites.
//!
//! A book is read by whoever reads its record (the team: its organisation's
//! members; a site: every organisation that goes out within its
//! territories; a case: its team and coordinators; a facility: its operator
//! organisation) and written by whoever may work on it.

use veille_domain::neighbourhood::{BookKind, LogCategory};
use veille_domain::{Action, LogEntryId, OrganisationId, Resource, ResourceKind, TeamId, TerritoryId, Timestamp, UserId};
use veille_storage::logbooks::{self as store, Attachment, Entry, LogFilter, NewEntry};
use veille_storage::rounds::Round;
use veille_storage::{accounts, audit, outbox, teams};

use crate::error::{Error, ErrorKind, Result};
use crate::shelter::input::{code, id, words};
use crate::{App, Caller, FieldErrors, Lang};

/// The longest entry.
pub const MAX_BODY: usize = 4000;
/// The largest attachment, in bytes.
pub const MAX_ATTACHMENT: usize = 8 * 1024 * 1024;
/// How far back handovers are shown at a check-in when the team never checked in before, in hours.
pub const HANDOVER_HOURS: i64 = 72;

/// A book: the record it belongs to, as access needs it.
#[derive(Clone, Debug)]
pub struct Book {
    /// Its kind.
    pub kind: BookKind,
    /// Its record's id.
    pub id: String,
    /// Its record's name (team, site, case title, facility).
    pub name: String,
    /// The organisation of its record.
    pub organisation: OrganisationId,
    /// Its territory.
    pub territory: Option<TerritoryId>,
    /// Its case.
    pub case: Option<veille_domain::CaseId>,
    /// Read and write rules: the record's resource.
    pub resource: Resource,
    /// The action that writes in it (sites: observing; others: working on the record).
    pub write: Action,
    /// The page of its record.
    pub record_path: String,
}

impl Book {
    /// The book's own page.
    pub fn path(&self) -> String {
        format!("/logbooks/{}/{}", self.kind.code(), self.id)
    }
}

fn missing(e: Error) -> Result<Book> {
    if e.kind == ErrorKind::Forbidden {
        Err(Error::not_found())
    } else {
        Err(e)
    }
}

/// Refuses the roles that never read logbooks (instance administrators and
/// readers of figures: they read no records).
pub fn gate(who: &Caller) -> Result<()> {
    if matches!(who.account.role, veille_domain::Role::InstanceAdmin | veille_domain::Role::Reader) {
        return Err(Error::forbidden());
    }
    Ok(())
}

/// A book the caller reads (404 otherwise).
pub async fn open(app: &App, who: &Caller, kind: &str, id: &str) -> Result<Book> {
    gate(who)?;
    let kind: BookKind = kind.parse().map_err(|_| Error::not_found())?;
    let book = match kind {
        BookKind::Team => {
            let tid: TeamId = id.parse().map_err(|_| Error::not_found())?;
            let t = teams::get(&app.db, tid).await?;
            let resource = Resource::new(ResourceKind::Record).owned_by(t.organisation);
            Book {
                kind,
                id: t.id.to_string(),
                name: t.name.clone(),
                organisation: t.organisation,
                territory: None,
                case: None,
                resource,
                write: Action::Create,
                record_path: format!("/teams/{}", t.id),
            }
        }
        BookKind::Site => {
            let (s, resource) = match crate::sites::load_site(app, who, id, Action::Read).await {
                Ok(v) => v,
                Err(e) => return missing(e),
            };
            Book {
                kind,
                id: s.id.to_string(),
                name: s.name.clone(),
                organisation: s.organisation,
                territory: s.territory,
                case: None,
                resource,
                write: Action::Update,
                record_path: format!("/sites/{}", s.id),
            }
        }
        BookKind::Case => {
            let c = match crate::cases::load(app, who, id, Action::Read).await {
                Ok(c) => c,
                Err(e) => return missing(e),
            };
            Book {
                kind,
                id: c.id.to_string(),
                name: c.title.clone(),
                organisation: c.organisation,
                territory: c.territory,
                case: Some(c.id),
                resource: crate::cases::resource(&c),
                write: Action::Update,
                record_path: format!("/cases/{}", c.id),
            }
        }
        BookKind::Facility => {
            let f = crate::shelter::load_facility(app, who, id, Action::Read).await?;
            Book {
                kind,
                id: f.id.to_string(),
                name: f.name.clone(),
                organisation: f.organisation,
                territory: f.territory,
                case: None,
                resource: Resource::new(ResourceKind::Record).owned_by(f.organisation).in_territory(f.territory),
                write: Action::Update,
                record_path: format!("/facilities/{}", f.id),
            }
        }
    };
    if !who.can(Action::Read, &book.resource).allowed {
        return Err(Error::not_found());
    }
    Ok(book)
}

/// Whether the caller writes in a book.
pub fn can_write(who: &Caller, book: &Book) -> bool {
    who.can(book.write, &book.resource).allowed
}

/// An entry as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct EntryInput {
    /// `information`, `handover`, `incident`, `visit`, `logistics`, `partners`, `neighbourhood`, `other`.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub category: String,
    /// The entry (no names of people followed beyond what their file holds).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub body: String,
    /// When it happened, Paris time (`2026-12-10T22:30`; empty: now).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub at: String,
    /// A handover's team (id; empty: the next team of the organisation).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub for_team_id: String,
    /// Colleagues to tell (account ids; the form's `mention`, repeated).
    #[serde(default)]
    pub mention: Vec<String>,
}

/// Checks an attachment: a photo (re-encoded without its metadata) or a PDF.
async fn attachment_of(file: Option<(String, Vec<u8>)>, lang: Lang, e: &mut FieldErrors) -> Result<Option<Attachment>> {
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else { return Ok(None) };
    let name: String = name.chars().filter(|c| !c.is_control() && !"/\\\"".contains(*c)).take(120).collect();
    if bytes.len() > MAX_ATTACHMENT {
        e.add("attachment", lang.tf("report.photo.too_large", &[("max", crate::reports::photos::MAX_MEGABYTES)]));
        return Ok(None);
    }
    match accept_file(bytes).await? {
        Some((content_type, bytes)) if content_type == PDF => {
            Ok(Some(Attachment { name: if name.is_empty() { "document.pdf".into() } else { name }, content_type, bytes }))
        }
        Some((content_type, bytes)) => {
            let stem = name.rsplit_once('.').map(|(s, _)| s.to_owned()).unwrap_or(name);
            Ok(Some(Attachment { name: format!("{}.jpg", if stem.is_empty() { "photo" } else { &stem }), content_type, bytes }))
        }
        None => {
            e.add("attachment", lang.t("neighbourhood.error.attachment"));
            Ok(None)
        }
    }
}

const PDF: &str = "application/pdf";

/// A file taken as an attachment (its type, its bytes): a PDF as it is, or a
/// photo re-encoded without its metadata; `None` when it is neither. The
/// caller checks the size first ([`MAX_ATTACHMENT`]).
pub async fn accept_file(bytes: Vec<u8>) -> Result<Option<(String, Vec<u8>)>> {
    if bytes.starts_with(b"%PDF-") {
        return Ok(Some((PDF.to_owned(), bytes)));
    }
    Ok(crate::reports::photos::accept_off_thread(bytes).await?.ok().map(|p| (p.content_type, p.bytes)))
}

/// Accounts of the caller's organisation who read the book (who may be mentioned).
pub async fn colleagues(app: &App, who: &Caller, book: &Book) -> Result<Vec<(UserId, String)>> {
    let mut out = Vec::new();
    for a in accounts::list(&app.db, Some(who.account.organisation)).await?.into_iter().filter(|a| !a.disabled && a.id != who.account.id) {
        let actor = accounts::actor_of(&app.db, &a).await?;
        if veille_domain::authorize(&actor, Action::Read, &book.resource).allowed {
            out.push((a.id, a.display_name));
        }
    }
    Ok(out)
}

/// Writes an entry in a book, audited; the colleagues mentioned are told.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn write(
    app: &App,
    who: &Caller,
    lang: Lang,
    book: &Book,
    input: &EntryInput,
    file: Option<(String, Vec<u8>)>,
) -> Result<std::result::Result<LogEntryId, FieldErrors>> {
    let checked = match check(app, who, lang, book, input, file).await? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = app.db.begin().await?;
    let id = write_checked(&mut tx, app, who, book, &checked).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// An entry checked, ready to be written.
pub struct Checked {
    new: NewEntry,
}

/// Checks an entry as [`write`] does (the caller writes in the book; the
/// fields; the attachment re-encoded).
pub async fn check(
    app: &App,
    who: &Caller,
    lang: Lang,
    book: &Book,
    input: &EntryInput,
    file: Option<(String, Vec<u8>)>,
) -> Result<std::result::Result<Checked, FieldErrors>> {
    who.require(book.write, &book.resource)?;
    let mut e = FieldErrors::new();
    let now = app.clock.now();
    let category =
        if input.category.trim().is_empty() { Some(LogCategory::Information) } else { code::<LogCategory>(&input.category, "category", lang, &mut e) };
    let body = words(&input.body, "body", MAX_BODY, true, lang, &mut e);
    let at = match input.at.trim() {
        "" => now,
        t => match Timestamp::parse_paris(t).filter(|t| *t <= now.plus_seconds(3600)) {
            Some(t) => t,
            None => {
                e.add("at", lang.t("neighbourhood.error.when"));
                now
            }
        },
    };
    let for_team = match id::<TeamId>(&input.for_team_id, "for_team_id", lang, &mut e) {
        Some(t) => match teams::get(&app.db, t).await {
            Ok(team) if team.organisation == who.account.organisation => Some(team.id),
            _ => {
                e.add("for_team_id", lang.t("shelter.error.choose"));
                None
            }
        },
        None => None,
    };
    let allowed = colleagues(app, who, book).await?;
    let mut mentions: Vec<UserId> = Vec::new();
    for m in input.mention.iter().filter(|m| !m.trim().is_empty()) {
        match m.trim().parse::<UserId>().ok().filter(|u| allowed.iter().any(|(a, _)| a == u)) {
            Some(u) if !mentions.contains(&u) => mentions.push(u),
            Some(_) => {}
            None => e.add("mention", lang.t("neighbourhood.error.mention")),
        }
    }
    let attachment = attachment_of(file, lang, &mut e).await?;
    let Some(category) = category.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let new = NewEntry {
        organisation: who.account.organisation,
        territory: book.territory,
        case: book.case,
        book_kind: book.kind,
        book_id: book.id.clone(),
        at,
        category,
        body,
        for_team: if category == LogCategory::Handover { for_team } else { None },
        author: who.account.id,
        attachment,
        mentions,
    };
    Ok(Ok(Checked { new }))
}

/// Writes a checked entry in the transaction, audited; the colleagues
/// mentioned are told.
pub async fn write_checked(tx: &mut veille_storage::Tx, app: &App, who: &Caller, book: &Book, checked: &Checked) -> Result<LogEntryId> {
    let (new, now) = (&checked.new, app.clock.now());
    let (category, mentions) = (new.category, &new.mentions);
    let id = store::create(tx, new, now).await?;
    let url = format!("{}{}#entry-{id}", app.config.base_url.trim_end_matches('/'), book.path());
    for u in mentions {
        if let Ok(a) = accounts::get(&app.db, *u).await {
            let l = Lang::from_code(&a.lang);
            outbox::enqueue(tx, &a.email, &l.t("neighbourhood.mail.mention_subject"), &l.tf("neighbourhood.mail.mention_body", &[("link", &url)]), now).await?;
        }
    }
    let detail = serde_json::json!({
        "book": book.kind.code(), "book_id": book.id, "category": category.code(), "mentions": mentions.len(),
        "attachment": new.attachment.is_some(), "for_team": new.for_team.map(|t| t.to_string()),
    });
    audit::append(tx, who.audit_entry(now, "create", "log_entry", id, who.account.organisation).with_detail(detail)).await?;
    Ok(id)
}

/// An entry with the colleagues it mentions.
#[derive(Clone, Debug)]
pub struct EntryView {
    /// The entry.
    pub entry: Entry,
    /// Its mentions.
    pub mentions: Vec<(UserId, String)>,
}

async fn views(app: &App, entries: Vec<Entry>) -> Result<Vec<EntryView>> {
    let mut out = Vec::new();
    for entry in entries {
        let mentions = store::mentions(&app.db, entry.id).await?;
        out.push(EntryView { entry, mentions });
    }
    Ok(out)
}

/// A search of a book, or of every book the caller reads.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// Category code.
    pub category: String,
    /// Text.
    pub q: String,
    /// Book kind code (the search of every book).
    pub book: String,
    /// `me`: the entries that mention the caller.
    pub mentions: String,
    /// From (a date, `2026-12-01`).
    pub from: String,
    /// To (a date, included).
    pub to: String,
}

impl SearchQuery {
    fn filter(&self, who: &Caller) -> LogFilter {
        let day = |t: &str, plus: i64| veille_domain::shelter::Night::parse(t).and_then(|n| Timestamp::at_paris(n.date() + chrono::Duration::days(plus), 0));
        LogFilter {
            book: None,
            book_kind: self.book.trim().parse().ok(),
            category: self.category.trim().parse().ok(),
            text: self.q.chars().take(100).collect(),
            author: None,
            mentioning: (self.mentions == "me").then_some(who.account.id),
            from: day(&self.from, 0),
            until: day(&self.to, 1),
        }
    }
    /// Whether any filter is set.
    pub fn is_set(&self) -> bool {
        !(self.category.is_empty() && self.q.is_empty() && self.book.is_empty() && self.mentions.is_empty() && self.from.is_empty() && self.to.is_empty())
    }
}

/// What a book's page shows: its handovers first, then the other entries.
#[derive(Clone, Debug)]
pub struct BookPage {
    /// The book.
    pub book: Book,
    /// Handover entries (newest first), shown first.
    pub handovers: Vec<EntryView>,
    /// The other entries matching the search (newest first).
    pub entries: Vec<EntryView>,
    /// Whether the caller writes in it.
    pub can_write: bool,
    /// Teams of the caller's organisation (a handover's team).
    pub teams: Vec<(TeamId, String)>,
    /// Colleagues who may be mentioned.
    pub colleagues: Vec<(UserId, String)>,
}

/// Reads a book (audited): its handovers first, then its entries matching the search.
pub async fn read(app: &App, who: &Caller, book: Book, q: &SearchQuery) -> Result<BookPage> {
    let mut f = q.filter(who);
    f.book = Some((book.kind, book.id.clone()));
    f.book_kind = None;
    let found = store::entries(&app.db, &who.scope(), &f, 500).await?;
    let (handovers, others): (Vec<Entry>, Vec<Entry>) = found.into_iter().partition(|e| e.category == LogCategory::Handover);
    let e = audit::NewEntry::about(app.clock.now(), Some(who.author()), "read", "logbook", Some(book.id.clone()), Some(book.organisation))
        .with_detail(serde_json::json!({"book": book.kind.code()}));
    audit::append_now(&app.db, e).await?;
    let can_write = can_write(who, &book);
    let teams = if can_write { teams::list(&app.db, Some(who.account.organisation)).await?.into_iter().map(|t| (t.id, t.name)).collect() } else { Vec::new() };
    let colleagues = if can_write { colleagues(app, who, &book).await? } else { Vec::new() };
    Ok(BookPage { handovers: views(app, handovers).await?, entries: views(app, others).await?, can_write, teams, colleagues, book })
}

/// The latest entries of a book whose record the caller read (its page),
/// handovers first.
pub async fn of_book(app: &App, scope: &veille_storage::Scope, kind: BookKind, id: &str, limit: i64) -> Result<Vec<EntryView>> {
    let f = LogFilter { book: Some((kind, id.to_owned())), ..Default::default() };
    let mut found = store::entries(&app.db, scope, &f, limit).await?;
    found.sort_by_key(|e| e.category != LogCategory::Handover);
    views(app, found).await
}

/// The entries of every book the caller reads matching a search (audited), newest first.
pub async fn search(app: &App, who: &Caller, q: &SearchQuery) -> Result<Vec<EntryView>> {
    gate(who)?;
    let found = store::entries(&app.db, &who.scope(), &q.filter(who), 300).await?;
    let e = audit::NewEntry::about(app.clock.now(), Some(who.author()), "read", "logbook", None, Some(who.account.organisation))
        .with_detail(serde_json::json!({"search": true, "entries": found.len()}));
    audit::append_now(&app.db, e).await?;
    views(app, found).await
}

/// The attachment of an entry the caller reads (audited).
pub async fn attachment(app: &App, who: &Caller, id: &str) -> Result<Attachment> {
    gate(who)?;
    let id: LogEntryId = id.parse().map_err(|_| Error::not_found())?;
    let entry = store::get(&app.db, &who.scope(), id).await?;
    // The entry's book must be one the caller reads.
    open(app, who, entry.book_kind.code(), &entry.book_id).await?;
    let a = store::attachment(&app.db, entry.id).await?.ok_or_else(Error::not_found)?;
    let e = who.audit_entry(app.clock.now(), "read", "log_entry", entry.id, entry.organisation).with_detail(serde_json::json!({"field": "attachment"}));
    audit::append_now(&app.db, e).await?;
    Ok(a)
}

/// The handovers shown first to a team at its round's check-in: those
/// written since the team's last check-in (a week back at most;
/// [`HANDOVER_HOURS`] back when it never checked in), newest first.
pub async fn handovers_at_check_in(app: &App, who: &Caller, round: &Round, sites: &[String]) -> Result<Vec<EntryView>> {
    let scope = who.scope();
    let now = app.clock.now();
    let last = veille_storage::rounds::last_check_in(&app.db, &scope, round.team, round.id).await?;
    let since = match last {
        Some(l) => l.max(now.plus_seconds(-7 * 86_400)),
        None => now.plus_seconds(-HANDOVER_HOURS * 3600),
    };
    let found = store::handovers_for(&app.db, &scope, round.organisation, round.team, sites, since).await?;
    views(app, found).await
}
