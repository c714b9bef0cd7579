//! Neighbourhood work: the contact book of local relays and mediations with
//! their parties.
//!
//! A contact belongs to its organisation and lies in its territory
//! ([`CONTACT_COLUMNS`]); its identity is the relays field group, which the
//! application checks before calling here (the scope says which contacts,
//! the field group whether any at all). A mediation belongs to the
//! organisation that recorded it ([`MEDIATION_COLUMNS`]); a party names a
//! contact by id only, so a reader of the mediation without the field group
//! sees the party's role and never the contact's name.

use sqlx::Row;
use veille_domain::neighbourhood::{ContactRole, MediationOutcome, MediationSubject, PartyRole};
use veille_domain::shelter::Night;
use veille_domain::{ContactId, MediationId, OrganisationId, PersonId, ReportId, RoundId, SiteId, TeamId, TerritoryId, Timestamp, UserId};

use crate::db::{real_text, Db, Tx};
use crate::error::{Result, StorageError};
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns};

/// Where contacts keep what the read rules look at.
pub const CONTACT_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "c.organisation_id", territory: Some("c.territory_id"), case: None, shared_with: None };

/// Where mediations keep what the read rules look at.
pub const MEDIATION_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "m.organisation_id", territory: Some("m.territory_id"), case: None, shared_with: None };

/// A local relay of the contact book.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Role.
    pub role: ContactRole,
    /// Name (as the person wishes to be named).
    pub name: String,
    /// Shop, building, school… ("Tabac du marché").
    pub structure: String,
    /// Address or place.
    pub place: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// How and when to reach them.
    pub reach: String,
    /// When they agreed to be kept in the contact book.
    pub consent_at: Timestamp,
    /// Version.
    pub version: i64,
}

/// A contact to write.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NewContact {
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Role.
    pub role: Option<ContactRole>,
    /// Name.
    pub name: String,
    /// Structure.
    pub structure: String,
    /// Place.
    pub place: String,
    /// Point (lon, lat).
    pub point: Option<(f64, f64)>,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// How to reach them.
    pub reach: String,
}

const CONTACT_SELECT: &str = "SELECT c.id, c.organisation_id, c.territory_id, c.role, c.name, c.structure, c.place, c.lon, c.lat, c.phone, c.email, \
    c.reach, c.consent_at, c.version FROM contacts c";

fn contact_row(r: &sqlx::any::AnyRow) -> Result<Contact> {
    Ok(Contact {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        role: r.try_get("role")?,
        name: r.try_get("name")?,
        structure: r.try_get("structure")?,
        place: r.try_get("place")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
        reach: r.try_get("reach")?,
        consent_at: Timestamp::from_micros(r.try_get("consent_at")?),
        version: r.try_get("version")?,
    })
}

/// Writes a contact of `organisation` who agreed to be kept at `consent_at`.
pub async fn create_contact(tx: &mut Tx, organisation: OrganisationId, c: &NewContact, consent_at: Timestamp, by: UserId, now: Timestamp) -> Result<ContactId> {
    let id = ContactId::new();
    sqlx::query(
        "INSERT INTO contacts (id, organisation_id, territory_id, role, name, structure, place, lon, lat, phone, email, reach, consent_at, created_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, CAST($8 AS DOUBLE PRECISION), CAST($9 AS DOUBLE PRECISION), $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(id)
    .bind(organisation)
    .bind(c.territory)
    .bind(c.role.unwrap_or(ContactRole::Other).code())
    .bind(c.name.as_str())
    .bind(c.structure.as_str())
    .bind(c.place.as_str())
    .bind(real_text(c.point.map(|p| p.0)))
    .bind(real_text(c.point.map(|p| p.1)))
    .bind(c.phone.as_str())
    .bind(c.email.as_str())
    .bind(c.reach.as_str())
    .bind(consent_at.as_micros())
    .bind(by)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Changes a contact, if still at `version`.
pub async fn update_contact(tx: &mut Tx, id: ContactId, c: &NewContact, version: i64, now: Timestamp) -> Result<()> {
    let done = sqlx::query(
        "UPDATE contacts SET territory_id = $1, role = $2, name = $3, structure = $4, place = $5, lon = CAST($6 AS DOUBLE PRECISION), \
         lat = CAST($7 AS DOUBLE PRECISION), phone = $8, email = $9, reach = $10, version = version + 1, updated_at = $11 WHERE id = $12 AND version = $13",
    )
    .bind(c.territory)
    .bind(c.role.unwrap_or(ContactRole::Other).code())
    .bind(c.name.as_str())
    .bind(c.structure.as_str())
    .bind(c.place.as_str())
    .bind(real_text(c.point.map(|p| p.0)))
    .bind(real_text(c.point.map(|p| p.1)))
    .bind(c.phone.as_str())
    .bind(c.email.as_str())
    .bind(c.reach.as_str())
    .bind(now.as_micros())
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    Ok(())
}

/// Removes a contact on request: the row goes, and the mediations that
/// named it keep the party's role only.
pub async fn remove_contact(tx: &mut Tx, id: ContactId) -> Result<()> {
    sqlx::query("UPDATE mediation_parties SET contact_id = NULL WHERE contact_id = $1").bind(id).execute(&mut **tx).await?;
    sqlx::query("DELETE FROM contacts WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// One contact in the scope.
pub async fn get_contact(db: &Db, scope: &Scope, id: ContactId) -> Result<Contact> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&CONTACT_COLUMNS, &mut p);
    let sql = format!("{CONTACT_SELECT} WHERE c.id = {id} AND {readable}");
    contact_row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// The contacts in the scope, of a role and matching a text (name,
/// structure, place) when given, by name.
pub async fn contacts(db: &Db, scope: &Scope, role: Option<ContactRole>, text: &str) -> Result<Vec<Contact>> {
    let mut p = Params::new();
    let readable = scope.records(&CONTACT_COLUMNS, &mut p);
    let mut sql = format!("{CONTACT_SELECT} WHERE {readable}");
    if let Some(r) = role {
        sql.push_str(&format!(" AND c.role = {}", p.push(r.code())));
    }
    let text = text.trim().to_lowercase();
    if !text.is_empty() {
        let like = p.push(format!("%{}%", text.replace(['\\', '%', '_'], "")));
        sql.push_str(&format!(" AND (LOWER(c.name) LIKE {like} OR LOWER(c.structure) LIKE {like} OR LOWER(c.place) LIKE {like})"));
    }
    sql.push_str(" ORDER BY c.name, c.id LIMIT 1000");
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(contact_row).collect()
}

/// A party to a mediation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Party {
    /// Role.
    pub role: PartyRole,
    /// The contact of the contact book, when one is on file.
    pub contact: Option<ContactId>,
    /// The person's file, for a person met who has one.
    pub person: Option<PersonId>,
    /// How many (several residents, a group of people met).
    pub count: i64,
}

/// A mediation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Mediation {
    /// Id.
    pub id: MediationId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Team.
    pub team: Option<TeamId>,
    /// The round it was recorded on.
    pub round: Option<RoundId>,
    /// The site it happened at.
    pub site: Option<SiteId>,
    /// The report it answers.
    pub report: Option<ReportId>,
    /// When.
    pub at: Timestamp,
    /// Address or place in words.
    pub place: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Subject.
    pub subject: MediationSubject,
    /// What was done.
    pub actions: String,
    /// Outcome.
    pub outcome: MediationOutcome,
    /// The outcome in words.
    pub outcome_note: String,
    /// The follow-up date.
    pub follow_up_on: Option<Night>,
    /// When the follow-up was done.
    pub follow_up_done_at: Option<Timestamp>,
    /// Who recorded it.
    pub created_by: Option<UserId>,
    /// Version.
    pub version: i64,
}

/// A mediation to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMediation {
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Team.
    pub team: Option<TeamId>,
    /// Round.
    pub round: Option<RoundId>,
    /// Site.
    pub site: Option<SiteId>,
    /// Report.
    pub report: Option<ReportId>,
    /// When.
    pub at: Timestamp,
    /// Place.
    pub place: String,
    /// Point (lon, lat).
    pub point: Option<(f64, f64)>,
    /// Subject.
    pub subject: MediationSubject,
    /// What was done.
    pub actions: String,
    /// Outcome.
    pub outcome: MediationOutcome,
    /// Outcome in words.
    pub outcome_note: String,
    /// Follow-up date.
    pub follow_up_on: Option<Night>,
    /// Parties.
    pub parties: Vec<Party>,
}

const MEDIATION_SELECT: &str = "SELECT m.id, m.organisation_id, m.territory_id, m.team_id, m.round_id, m.site_id, m.report_id, m.at, m.place, m.lon, \
    m.lat, m.subject, m.actions, m.outcome, m.outcome_note, m.follow_up_on, m.follow_up_done_at, m.created_by, m.version FROM mediations m";

/// An id kept as text without a foreign key (a round, site or report).
fn parsed<T: std::str::FromStr>(v: Option<String>) -> Option<T> {
    v.and_then(|s| s.parse().ok())
}

fn mediation_row(r: &sqlx::any::AnyRow) -> Result<Mediation> {
    Ok(Mediation {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        territory: r.try_get("territory_id")?,
        team: r.try_get("team_id")?,
        round: parsed(r.try_get("round_id")?),
        site: parsed(r.try_get("site_id")?),
        report: parsed(r.try_get("report_id")?),
        at: Timestamp::from_micros(r.try_get("at")?),
        place: r.try_get("place")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        subject: r.try_get("subject")?,
        actions: r.try_get("actions")?,
        outcome: r.try_get("outcome")?,
        outcome_note: r.try_get("outcome_note")?,
        follow_up_on: r.try_get::<Option<i64>, _>("follow_up_on")?.map(Night::from_days),
        follow_up_done_at: r.try_get::<Option<i64>, _>("follow_up_done_at")?.map(Timestamp::from_micros),
        created_by: r.try_get("created_by")?,
        version: r.try_get("version")?,
    })
}

/// Writes a mediation of `organisation` with its parties.
pub async fn create_mediation(tx: &mut Tx, organisation: OrganisationId, m: &NewMediation, by: UserId, now: Timestamp) -> Result<MediationId> {
    let id = MediationId::new();
    sqlx::query(
        "INSERT INTO mediations (id, organisation_id, territory_id, team_id, round_id, site_id, report_id, at, place, lon, lat, subject, actions, outcome, \
         outcome_note, follow_up_on, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CAST($10 AS DOUBLE PRECISION), \
         CAST($11 AS DOUBLE PRECISION), $12, $13, $14, $15, $16, $17, $18, $18)",
    )
    .bind(id)
    .bind(organisation)
    .bind(m.territory)
    .bind(m.team)
    .bind(m.round.map(|r| r.to_string()))
    .bind(m.site.map(|s| s.to_string()))
    .bind(m.report.map(|r| r.to_string()))
    .bind(m.at.as_micros())
    .bind(m.place.as_str())
    .bind(real_text(m.point.map(|p| p.0)))
    .bind(real_text(m.point.map(|p| p.1)))
    .bind(m.subject.code())
    .bind(m.actions.as_str())
    .bind(m.outcome.code())
    .bind(m.outcome_note.as_str())
    .bind(m.follow_up_on.map(Night::days))
    .bind(by)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    for (i, party) in m.parties.iter().enumerate() {
        sqlx::query("INSERT INTO mediation_parties (id, mediation_id, position, role, contact_id, person_id, count) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(id)
            .bind(i as i64)
            .bind(party.role.code())
            .bind(party.contact.map(|c| c.to_string()))
            .bind(party.person.map(|p| p.to_string()))
            .bind(party.count)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

/// One mediation in the scope.
pub async fn get_mediation(db: &Db, scope: &Scope, id: MediationId) -> Result<Mediation> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&MEDIATION_COLUMNS, &mut p);
    let sql = format!("{MEDIATION_SELECT} WHERE m.id = {id} AND {readable}");
    mediation_row(&p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?)
}

/// The parties of a mediation the caller read, in the order written.
pub async fn parties(db: &Db, mediation: MediationId) -> Result<Vec<Party>> {
    let rows = sqlx::query("SELECT role, contact_id, person_id, count FROM mediation_parties WHERE mediation_id = $1 ORDER BY position")
        .bind(mediation)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Party {
                role: r.try_get("role")?,
                contact: parsed(r.try_get("contact_id")?),
                person: parsed(r.try_get("person_id")?),
                count: r.try_get("count")?,
            })
        })
        .collect()
}

/// Which mediations a list shows.
#[derive(Clone, Debug, Default)]
pub struct MediationFilter {
    /// From this instant.
    pub from: Option<Timestamp>,
    /// Before this instant.
    pub until: Option<Timestamp>,
    /// Of this subject.
    pub subject: Option<MediationSubject>,
    /// Recorded on this round.
    pub round: Option<RoundId>,
    /// Naming this contact.
    pub contact: Option<ContactId>,
    /// Only those with a follow-up still to do.
    pub follow_up_open: bool,
    /// Only those with a point.
    pub placed: bool,
}

/// The mediations in the scope, newest first (follow-ups: soonest first).
pub async fn mediations(db: &Db, scope: &Scope, f: &MediationFilter, limit: i64) -> Result<Vec<Mediation>> {
    let mut p = Params::new();
    let readable = scope.records(&MEDIATION_COLUMNS, &mut p);
    let mut sql = format!("{MEDIATION_SELECT} WHERE {readable}");
    if let Some(t) = f.from {
        sql.push_str(&format!(" AND m.at >= {}", p.push(t.as_micros())));
    }
    if let Some(t) = f.until {
        sql.push_str(&format!(" AND m.at < {}", p.push(t.as_micros())));
    }
    if let Some(s) = f.subject {
        sql.push_str(&format!(" AND m.subject = {}", p.push(s.code())));
    }
    if let Some(r) = f.round {
        sql.push_str(&format!(" AND m.round_id = {}", p.push_id(r)));
    }
    if let Some(c) = f.contact {
        sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM mediation_parties mp WHERE mp.mediation_id = m.id AND mp.contact_id = {})", p.push_id(c)));
    }
    if f.placed {
        sql.push_str(" AND m.lon IS NOT NULL AND m.lat IS NOT NULL");
    }
    if f.follow_up_open {
        sql.push_str(" AND m.follow_up_on IS NOT NULL AND m.follow_up_done_at IS NULL ORDER BY m.follow_up_on, m.at, m.id");
    } else {
        sql.push_str(" ORDER BY m.at DESC, m.id DESC");
    }
    sql.push_str(&format!(" LIMIT {}", limit.clamp(1, 5000)));
    p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(mediation_row).collect()
}

/// Marks a mediation's follow-up done, if still at `version`.
pub async fn follow_up_done(tx: &mut Tx, id: MediationId, version: i64, now: Timestamp) -> Result<()> {
    let done = sqlx::query(
        "UPDATE mediations SET follow_up_done_at = $1, version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3 AND follow_up_done_at IS NULL",
    )
    .bind(now.as_micros())
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    Ok(())
}
