//! Logbooks (journaux de bord) of teams, sites, cases and facilities: dated
//! entries with a category, an author, an optional attachment and the
//! colleagues they mention; handover entries, shown first to the next team.
//!
//! An entry belongs to the organisation of its author, lies in its book's
//! territory and, in a case's book, belongs to the case ([`LOG_COLUMNS`]).
//! Sites are read across organisations within territories: the entries of a
//! site's book are read by whoever reads the site, whatever organisation
//! wrote them. Every function that returns entries takes the caller's scope
//! and admits exactly that.

use sqlx::Row;
use veille_domain::neighbourhood::{BookKind, LogCategory};
use veille_domain::{CaseId, LogEntryId, OrganisationId, TeamId, TerritoryId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::{Result, StorageError};
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns};

/// Where entries keep what the read rules look at.
pub const LOG_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "e.organisation_id", territory: Some("e.territory_id"), case: Some("e.case_id"), shared_with: None };

/// An attachment as stored (a photo re-encoded without metadata, or a PDF).
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    /// File name as given (shown, never used as a path).
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub bytes: Vec<u8>,
}

/// An entry.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Entry {
    /// Id.
    pub id: LogEntryId,
    /// The author's organisation.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Case (a case's book).
    pub case: Option<CaseId>,
    /// The book's kind.
    pub book_kind: BookKind,
    /// The book's record.
    pub book_id: String,
    /// When it happened.
    pub at: Timestamp,
    /// Category.
    pub category: LogCategory,
    /// Text.
    pub body: String,
    /// The team a handover is for (none: the next team).
    pub for_team: Option<TeamId>,
    /// Author.
    pub author: Option<UserId>,
    /// Author's name.
    pub author_name: String,
    /// The attachment's file name, if any.
    pub attachment: Option<String>,
    /// Written at.
    pub created_at: Timestamp,
}

/// An entry to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEntry {
    /// The author's organisation.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Case.
    pub case: Option<CaseId>,
    /// Book kind.
    pub book_kind: BookKind,
    /// Book id.
    pub book_id: String,
    /// When.
    pub at: Timestamp,
    /// Category.
    pub category: LogCategory,
    /// Text.
    pub body: String,
    /// Team a handover is for.
    pub for_team: Option<TeamId>,
    /// Author.
    pub author: UserId,
    /// Attachment.
    pub attachment: Option<Attachment>,
    /// Mentioned colleagues.
    pub mentions: Vec<UserId>,
}

const SELECT: &str = "SELECT e.id, e.organisation_id, e.territory_id, e.case_id, e.book_kind, e.book_id, e.at, e.category, e.body, e.for_team_id, \
    e.author_id, COALESCE(u.display_name, '') AS author_name, e.attachment_name, e.created_at FROM log_entries e LEFT JOIN users u ON u.id = e.author_id";

fn row(r: &sqlx::any::AnyRow) -> Result<Entry> {
    Ok(Entry {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        case: r.try_get::<Option<String>, _>("case_id")?.and_then(|c| c.parse().ok()),
        book_kind: r.try_get("book_kind")?,
        book_id: r.try_get("book_id")?,
        at: Timestamp::from_micros(r.try_get("at")?),
        category: r.try_get("category")?,
        body: r.try_get("body")?,
        for_team: r.try_get("for_team_id")?,
        author: r.try_get("author_id")?,
        author_name: r.try_get("author_name")?,
        attachment: r.try_get("attachment_name")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
    })
}

/// Writes an entry with its mentions.
pub async fn create(tx: &mut Tx, e: &NewEntry, now: Timestamp) -> Result<LogEntryId> {
    use base64::Engine;
    let id = LogEntryId::new();
    let data = e.attachment.as_ref().map(|a| base64::engine::general_purpose::STANDARD.encode(&a.bytes));
    sqlx::query(
        "INSERT INTO log_entries (id, organisation_id, territory_id, case_id, book_kind, book_id, at, category, body, for_team_id, author_id, \
         attachment_name, attachment_type, attachment_data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(id)
    .bind(e.organisation)
    .bind(e.territory)
    .bind(e.case.map(|c| c.to_string()))
    .bind(e.book_kind.code())
    .bind(e.book_id.as_str())
    .bind(e.at.as_micros())
    .bind(e.category.code())
    .bind(e.body.as_str())
    .bind(e.for_team)
    .bind(e.author)
    .bind(e.attachment.as_ref().map(|a| a.name.clone()))
    .bind(e.attachment.as_ref().map(|a| a.content_type.clone()))
    .bind(data)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    for u in &e.mentions {
        sqlx::query("INSERT INTO log_mentions (entry_id, user_id) VALUES ($1, $2)").bind(id).bind(*u).execute(&mut **tx).await?;
    }
    Ok(id)
}

/// Which entries a search shows.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    /// Of this book.
    pub book: Option<(BookKind, String)>,
    /// Of this kind of book.
    pub book_kind: Option<BookKind>,
    /// Of this category.
    pub category: Option<LogCategory>,
    /// Containing this text.
    pub text: String,
    /// By this author.
    pub author: Option<UserId>,
    /// Mentioning this account.
    pub mentioning: Option<UserId>,
    /// From this instant.
    pub from: Option<Timestamp>,
    /// Before this instant.
    pub until: Option<Timestamp>,
}

/// The condition admitting the entries the scope reads: its records, and
/// the entries of the books of the sites it reads.
fn readable(scope: &Scope, p: &mut Params) -> String {
    let records = scope.records(&LOG_COLUMNS, p);
    let sites = scope.sites("e.territory_id", p);
    format!("({records} OR (e.book_kind = 'site' AND {sites}))")
}

/// The entries in the scope, newest first.
pub async fn entries(db: &Db, scope: &Scope, f: &LogFilter, limit: i64) -> Result<Vec<Entry>> {
    let mut p = Params::new();
    let mut sql = format!("{SELECT} WHERE {}", readable(scope, &mut p));
    if let Some((kind, id)) = &f.book {
        sql.push_str(&format!(" AND e.book_kind = {} AND e.book_id = {}", p.push(kind.code()), p.push(id.as_str())));
    }
    if let Some(kind) = f.book_kind {
        sql.push_str(&format!(" AND e.book_kind = {}", p.push(kind.code())));
    }
    if let Some(c) = f.category {
        sql.push_str(&format!(" AND e.category = {}", p.push(c.code())));
    }
    let text = f.text.trim().to_lowercase().replace(['%', '_', '\\'], "");
    if !text.is_empty() {
        sql.push_str(&format!(" AND LOWER(e.body) LIKE {}", p.push(format!("%{text}%"))));
    }
    if let Some(a) = f.author {
        sql.push_str(&format!(" AND e.author_id = {}", p.push_id(a)));
    }
    if let Some(u) = f.mentioning {
        sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM log_mentions lm WHERE lm.entry_id = e.id AND lm.user_id = {})", p.push_id(u)));
    }
    if let Some(t) = f.from {
        sql.push_str(&format!(" AND e.at >= {}", p.push(t.as_micros())));
    }
    if let Some(t) = f.until {
        sql.push_str(&format!(" AND e.at < {}", p.push(t.as_micros())));
    }
    sql.push_str(&format!(" ORDER BY e.at DESC, e.id DESC LIMIT {}", limit.clamp(1, 2000)));
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(row).collect()
}

/// The handover entries in the scope written since `since` that are for
/// `team` of `organisation`: those of its own book, those addressed to it,
/// those of the organisation's other teams addressed to no team in
/// particular (the next team), and those of the books of `sites` (the
/// round's stops); newest first.
pub async fn handovers_for(db: &Db, scope: &Scope, organisation: OrganisationId, team: TeamId, sites: &[String], since: Timestamp) -> Result<Vec<Entry>> {
    let mut p = Params::new();
    let readable = readable(scope, &mut p);
    let (org, team, since) = (p.push_id(organisation), p.push_id(team), p.push(since.as_micros()));
    let mut alternatives = vec![
        format!("(e.book_kind = 'team' AND e.book_id = {team})"),
        format!("e.for_team_id = {team}"),
        format!("(e.book_kind = 'team' AND e.for_team_id IS NULL AND e.organisation_id = {org})"),
    ];
    if !sites.is_empty() {
        let list: Vec<String> = sites.iter().map(|s| p.push(s.as_str())).collect();
        alternatives.push(format!("(e.book_kind = 'site' AND e.book_id IN ({}))", list.join(", ")));
    }
    let sql = format!(
        "{SELECT} WHERE {readable} AND e.category = 'handover' AND e.created_at >= {since} AND ({}) ORDER BY e.at DESC, e.id DESC LIMIT 100",
        alternatives.join(" OR ")
    );
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(row).collect()
}

/// One entry in the scope.
pub async fn get(db: &Db, scope: &Scope, id: LogEntryId) -> Result<Entry> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let sql = format!("{SELECT} WHERE e.id = {id} AND {}", readable(scope, &mut p));
    row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// The attachment of an entry the caller read.
pub async fn attachment(db: &Db, id: LogEntryId) -> Result<Option<Attachment>> {
    use base64::Engine;
    let r = sqlx::query("SELECT attachment_name, attachment_type, attachment_data FROM log_entries WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    let Some(r) = r else { return Ok(None) };
    let (name, kind, data): (Option<String>, Option<String>, Option<String>) =
        (r.try_get("attachment_name")?, r.try_get("attachment_type")?, r.try_get("attachment_data")?);
    match (name, kind, data) {
        (Some(name), Some(content_type), Some(data)) => Ok(Some(Attachment {
            name,
            content_type,
            bytes: base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| StorageError::Corrupt("attachment data"))?,
        })),
        _ => Ok(None),
    }
}

/// The accounts an entry mentions, with their names.
pub async fn mentions(db: &Db, entry: LogEntryId) -> Result<Vec<(UserId, String)>> {
    let rows =
        sqlx::query("SELECT m.user_id, u.display_name FROM log_mentions m JOIN users u ON u.id = m.user_id WHERE m.entry_id = $1 ORDER BY u.display_name")
            .bind(entry)
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(|r| Ok((r.try_get("user_id")?, r.try_get("display_name")?))).collect()
}
