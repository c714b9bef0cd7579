//! Encounters in the field: when, where (a map point, a place, and the
//! `site_id` / `round_id` seams the sites and maraudes work connects), with
//! which known people or how many unidentified ones, what was done, whether
//! a follow-up is needed. Care given is in `encounter_care`, read only
//! through [`care`] once the health field group was allowed.
//!
//! Every function that returns an encounter (or its care notes) takes the
//! caller's [`Scope`] and applies it in SQL with [`ACCESS_COLUMNS`] (the
//! columns `veille_app::people::encounter_resource` describes one with).

use sqlx::Row;
use veille_domain::people::EncounterAction;
use veille_domain::{EncounterId, OrganisationId, PersonId, TerritoryId, Timestamp, UserId};

use crate::db::{b, real_text, Db, Tx};
use crate::error::{Result, StorageError};
use crate::people::{codes, join_codes, push_ids, record_contact};
use crate::scope::Scope;
use crate::sql::{Params, RecordColumns};

/// Where encounters keep what the read rules look at: the organisation that
/// met the people and the territory of the point; never shared. Rows are
/// read as `encounters e`.
pub const ACCESS_COLUMNS: RecordColumns<'static> =
    RecordColumns { organisation: "e.organisation_id", territory: Some("e.territory_id"), case: None, shared_with: None };

/// What an encounter says.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EncounterFields {
    /// When.
    pub at: Timestamp,
    /// Longitude of the map point.
    pub lon: Option<f64>,
    /// Latitude of the map point.
    pub lat: Option<f64>,
    /// Territory containing the point.
    pub territory: Option<TerritoryId>,
    /// The place in words.
    pub place: String,
    /// The site (camp, squat, scene) — a seam: sites are built elsewhere.
    pub site_id: Option<String>,
    /// The round (tournée) — a seam: maraudes are built elsewhere.
    pub round_id: Option<String>,
    /// How many people were met without being identified.
    pub unidentified_count: i64,
    /// What was done.
    pub actions: Vec<EncounterAction>,
    /// Whether a follow-up is needed.
    pub follow_up: bool,
    /// What follow-up.
    pub follow_up_note: String,
    /// Notes (the people may one day read them).
    pub notes: String,
}

/// A stored encounter.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Encounter {
    /// Id.
    pub id: EncounterId,
    /// Organisation that met the people.
    pub organisation: OrganisationId,
    /// What it says.
    pub fields: EncounterFields,
    /// The known people met.
    pub people: Vec<PersonId>,
    /// Whether care notes were written (their content is health data).
    pub has_care: bool,
    /// Who recorded it.
    pub created_by: Option<UserId>,
    /// Name of who recorded it.
    pub created_by_name: Option<String>,
    /// When it was recorded.
    pub created_at: Timestamp,
    /// Version.
    pub version: i64,
}

const COLUMNS: &str = "e.id, e.organisation_id, e.territory_id, e.at, e.lon, e.lat, e.place, e.site_id, e.round_id, e.unidentified_count, \
    e.actions, e.follow_up, e.follow_up_note, e.notes, e.created_by, u.display_name, e.created_at, e.version, \
    (SELECT COUNT(*) FROM encounter_care c WHERE c.encounter_id = e.id) AS care_count";

const FROM: &str = "FROM encounters e LEFT JOIN users u ON u.id = e.created_by";

async fn from_row(db: &Db, r: &sqlx::any::AnyRow) -> Result<Encounter> {
    let id: EncounterId = r.try_get("id")?;
    let people: Vec<PersonId> =
        sqlx::query_scalar("SELECT person_id FROM encounter_people WHERE encounter_id = $1 ORDER BY person_id").bind(id).fetch_all(db.pool()).await?;
    Ok(Encounter {
        id,
        organisation: r.try_get("organisation_id")?,
        fields: EncounterFields {
            at: Timestamp::from_micros(r.try_get("at")?),
            lon: r.try_get("lon")?,
            lat: r.try_get("lat")?,
            territory: r.try_get("territory_id")?,
            place: r.try_get("place")?,
            site_id: r.try_get("site_id")?,
            round_id: r.try_get("round_id")?,
            unidentified_count: r.try_get("unidentified_count")?,
            actions: codes(&r.try_get::<String, _>("actions")?, EncounterAction::from_code, "encounters.actions")?,
            follow_up: r.try_get::<i64, _>("follow_up")? != 0,
            follow_up_note: r.try_get("follow_up_note")?,
            notes: r.try_get("notes")?,
        },
        people,
        has_care: r.try_get::<i64, _>("care_count")? > 0,
        created_by: r.try_get("created_by")?,
        created_by_name: r.try_get("display_name")?,
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        version: r.try_get("version")?,
    })
}

/// Records an encounter with the known people met (their last contact moves
/// to it) and, if given, the care notes.
pub async fn create(
    tx: &mut Tx,
    organisation: OrganisationId,
    f: &EncounterFields,
    people: &[PersonId],
    care: Option<&str>,
    by: UserId,
    now: Timestamp,
) -> Result<EncounterId> {
    let id = EncounterId::new();
    sqlx::query(
        "INSERT INTO encounters (id, organisation_id, territory_id, at, lon, lat, place, site_id, round_id, unidentified_count, actions, \
         follow_up, follow_up_note, notes, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, CAST($5 AS DOUBLE PRECISION), CAST($6 AS DOUBLE PRECISION), $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
    )
    .bind(id)
    .bind(organisation)
    .bind(f.territory)
    .bind(f.at.as_micros())
    // As text (see `real_text`): a NULL point must not fix the prepared
    // statement's parameter type for the next encounter that has one.
    .bind(real_text(f.lon))
    .bind(real_text(f.lat))
    .bind(&f.place)
    .bind(f.site_id.clone())
    .bind(f.round_id.clone())
    .bind(f.unidentified_count)
    .bind(join_codes(&f.actions))
    .bind(b(f.follow_up))
    .bind(&f.follow_up_note)
    .bind(&f.notes)
    .bind(by)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    for p in people {
        sqlx::query("INSERT INTO encounter_people (encounter_id, person_id) VALUES ($1, $2)").bind(id).bind(*p).execute(&mut **tx).await?;
        record_contact(tx, *p, f.at, now).await?;
    }
    if let Some(text) = care.filter(|t| !t.is_empty()) {
        let sealed = tx.ring()?.seal("encounter_care", "notes", text)?;
        sqlx::query("INSERT INTO encounter_care (encounter_id, notes) VALUES ($1, $2)").bind(id).bind(sealed).execute(&mut **tx).await?;
    }
    Ok(id)
}

/// One encounter, if in the scope ([`StorageError::NotFound`] otherwise).
pub async fn get(db: &Db, scope: &Scope, id: EncounterId) -> Result<Encounter> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE e.id = {id} AND {readable}");
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    from_row(db, &row).await
}

/// The `limit` most recent encounters in the scope, newest first (the
/// "recent encounters" lists: older ones are reached from the files).
pub async fn recent(db: &Db, scope: &Scope, limit: i64) -> Result<Vec<Encounter>> {
    let mut p = Params::new();
    let readable = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE {readable} ORDER BY e.at DESC, e.id DESC LIMIT {}", p.push(limit));
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(from_row(db, r).await?);
    }
    Ok(out)
}

/// The encounters in the scope where any of these people were met, newest first.
pub async fn of_people(db: &Db, scope: &Scope, people: &[PersonId]) -> Result<Vec<Encounter>> {
    let mut out: Vec<Encounter> = Vec::new();
    for chunk in people.chunks(200) {
        let mut p = Params::new();
        let list = push_ids(&mut p, chunk);
        let readable = scope.records(&ACCESS_COLUMNS, &mut p);
        let sql = format!("SELECT {COLUMNS} {FROM} WHERE e.id IN (SELECT encounter_id FROM encounter_people WHERE person_id IN ({list})) AND {readable}");
        for r in &p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await? {
            let e = from_row(db, r).await?;
            if !out.iter().any(|o| o.id == e.id) {
                out.push(e);
            }
        }
    }
    out.sort_by(|a, b| b.fields.at.cmp(&a.fields.at).then(b.id.cmp(&a.id)));
    Ok(out)
}

/// The care notes of an encounter in the scope (health data). Call only
/// once the health field group was allowed.
pub async fn care(db: &Db, scope: &Scope, id: EncounterId) -> Result<Option<String>> {
    let mut p = Params::new();
    let id = p.push_id(id);
    let readable = scope.records(&ACCESS_COLUMNS, &mut p);
    let sql = format!("SELECT c.notes FROM encounter_care c JOIN encounters e ON e.id = c.encounter_id WHERE c.encounter_id = {id} AND {readable}");
    let stored: Option<String> = p.bind_scalar(sqlx::query_scalar(&sql)).fetch_optional(db.pool()).await?;
    stored.map(|s| db.ring()?.open("encounter_care", "notes", &s)).transpose()
}

/// Anonymous counts of the people met in the encounters recorded during a
/// round (for its daily report): files met and how many of them had been met
/// before the round began, and the unidentified people counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundCounts {
    /// Encounters recorded with the round.
    pub encounters: i64,
    /// Distinct files met.
    pub files: i64,
    /// Of those, files with an encounter of the organisation before `since`
    /// (outside this round).
    pub known_files: i64,
    /// Unidentified people counted, summed over the encounters.
    pub unidentified: i64,
}

/// The counts of a round's encounters within the scope (see [`RoundCounts`];
/// the daily report passes `Scope::figures_of` the round's organisation: the
/// encounters of that organisation, counted, never listed). "Met before"
/// looks at earlier encounters within the same scope.
pub async fn round_counts(db: &Db, scope: &Scope, round: &str, since: Timestamp) -> Result<RoundCounts> {
    let mut p = Params::new();
    let r = p.push(round);
    let allowed = scope.records(&ACCESS_COLUMNS, &mut p);
    let row = p
        .bind(sqlx::query(&format!(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(e.unidentified_count), 0) AS BIGINT) AS u FROM encounters e WHERE e.round_id = {r} AND {allowed}"
        )))
        .fetch_one(db.pool())
        .await?;
    let (encounters, unidentified): (i64, i64) = (row.try_get("n")?, row.try_get("u")?);
    let files: i64 = p
        .bind_scalar(sqlx::query_scalar(&format!(
            "SELECT COUNT(DISTINCT ep.person_id) FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id WHERE e.round_id = {r} AND {allowed}"
        )))
        .fetch_one(db.pool())
        .await?;
    let mut q = Params::new();
    let r = q.push(round);
    let allowed = scope.records(&ACCESS_COLUMNS, &mut q);
    let earlier_cols = RecordColumns { organisation: "e2.organisation_id", territory: Some("e2.territory_id"), case: None, shared_with: None };
    let earlier_allowed = scope.records(&earlier_cols, &mut q);
    let before = q.push(since.as_micros());
    let known_files: i64 = q
        .bind_scalar(sqlx::query_scalar(&format!(
            "SELECT COUNT(DISTINCT ep.person_id) FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id \
             WHERE e.round_id = {r} AND {allowed} AND EXISTS (\
               SELECT 1 FROM encounter_people ep2 JOIN encounters e2 ON e2.id = ep2.encounter_id \
               WHERE ep2.person_id = ep.person_id AND {earlier_allowed} AND e2.at < {before} \
                 AND (e2.round_id IS NULL OR e2.round_id <> {r}))"
        )))
        .fetch_one(db.pool())
        .await?;
    Ok(RoundCounts { encounters, files, known_files, unidentified })
}
