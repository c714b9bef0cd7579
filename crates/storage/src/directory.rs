//! The partner directory: structures (CAARUD, CSAPA, PASS, day centres,
//! shelters, legal aid…) and their services, with the search used when
//! orienting someone. Entries come from the national data·inclusion format
//! (keyed by source and id, refreshed by re-import) or are kept by an
//! organisation in veille (source [`OWN_SOURCE`]).
//!
//! A service takes its structure's place, phone and opening hours when it has
//! none of its own ([`ServiceEntry`] answers with the effective values).

use sqlx::Row;
use veille_domain::directory::Capacity;
use veille_domain::{OrganisationId, ServiceId, StructureId, TerritoryId, Timestamp};

use crate::db::{real_text, Db, Tx};
use crate::error::{Result, ResultExt, StorageError};
use crate::sql::Params;

/// The source of entries an organisation keeps in veille itself.
pub const OWN_SOURCE: &str = "veille";

/// What describes a structure, as data·inclusion carries it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StructureFields {
    /// `nom`.
    pub name: String,
    /// `siret` (14 digits) or empty.
    pub siret: String,
    /// `description`.
    pub description: String,
    /// `adresse`.
    pub address: String,
    /// `complement_adresse`.
    pub address_extra: String,
    /// `code_postal`.
    pub postal_code: String,
    /// `commune`.
    pub city: String,
    /// `code_insee`.
    pub insee_code: String,
    /// `longitude`.
    pub lon: Option<f64>,
    /// `latitude`.
    pub lat: Option<f64>,
    /// `telephone`.
    pub phone: String,
    /// `courriel`.
    pub email: String,
    /// `site_web`.
    pub website: String,
    /// `lien_source`.
    pub source_link: String,
    /// `accessibilite_lieu`.
    pub accessibility_link: String,
    /// `horaires_accueil` (OSM opening_hours).
    pub opening_hours: String,
    /// `reseaux_porteurs`.
    pub networks: Vec<String>,
    /// `date_maj` (YYYY-MM-DD).
    pub source_updated: String,
}

/// A stored structure.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Structure {
    /// Id.
    pub id: StructureId,
    /// data·inclusion source, or [`OWN_SOURCE`].
    pub source: String,
    /// Id within the source.
    pub source_id: String,
    /// The organisation keeping it (none: imported, the instance's).
    pub organisation: Option<OrganisationId>,
    /// What describes it.
    pub fields: StructureFields,
    /// The territory containing its point.
    pub territory: Option<TerritoryId>,
    /// Hash of the imported record (empty for own entries).
    #[serde(skip)]
    pub import_hash: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Version for optimistic concurrency.
    pub version: i64,
}

impl Structure {
    /// Whether it came from an import (then only the instance changes it).
    pub fn imported(&self) -> bool {
        self.organisation.is_none()
    }
}

/// What describes a service, as data·inclusion carries it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServiceFields {
    /// `nom`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// `type`.
    pub kind: String,
    /// `thematiques`.
    pub themes: Vec<String>,
    /// `publics`.
    pub publics: Vec<String>,
    /// `publics_precisions`.
    pub publics_details: String,
    /// `conditions_acces`.
    pub access_conditions: String,
    /// `frais`.
    pub fees: String,
    /// `frais_precisions`.
    pub fees_details: String,
    /// `modes_accueil`.
    pub reception_modes: Vec<String>,
    /// `modes_mobilisation`.
    pub mobilisation_modes: Vec<String>,
    /// `mobilisable_par`.
    pub mobilisable_by: Vec<String>,
    /// `lien_mobilisation`.
    pub mobilisation_link: String,
    /// `mobilisation_precisions`.
    pub mobilisation_details: String,
    /// `zone_eligibilite`.
    pub eligibility_zone: Vec<String>,
    /// `adresse`.
    pub address: String,
    /// `complement_adresse`.
    pub address_extra: String,
    /// `code_postal`.
    pub postal_code: String,
    /// `commune`.
    pub city: String,
    /// `code_insee`.
    pub insee_code: String,
    /// `longitude`.
    pub lon: Option<f64>,
    /// `latitude`.
    pub lat: Option<f64>,
    /// `telephone`.
    pub phone: String,
    /// `courriel`.
    pub email: String,
    /// `horaires_accueil`.
    pub opening_hours: String,
    /// `lien_source`.
    pub source_link: String,
    /// `date_maj`.
    pub source_updated: String,
}

/// veille's own fields of a service: not in data·inclusion, kept across
/// re-imports.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LocalFields {
    /// Languages spoken (ISO 639 codes).
    pub languages: Vec<String>,
    /// How much room it has.
    pub capacity: Capacity,
    /// A word on capacity ("2 places ce soir").
    pub capacity_note: String,
}

impl Default for LocalFields {
    fn default() -> Self {
        Self { languages: Vec::new(), capacity: Capacity::Unknown, capacity_note: String::new() }
    }
}

/// A stored service.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Service {
    /// Id.
    pub id: ServiceId,
    /// Its structure.
    pub structure: StructureId,
    /// data·inclusion source, or [`OWN_SOURCE`].
    pub source: String,
    /// Id within the source.
    pub source_id: String,
    /// What describes it.
    pub fields: ServiceFields,
    /// veille's own fields.
    pub local: LocalFields,
    /// When the capacity was last set.
    pub capacity_updated_at: Option<Timestamp>,
    /// The territory of its own point (none when it has no point).
    pub territory: Option<TerritoryId>,
    /// Hash of the imported record.
    #[serde(skip)]
    pub import_hash: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Version.
    pub version: i64,
}

/// A service with its structure: what a search answers and what a referral shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ServiceEntry {
    /// The service.
    pub service: Service,
    /// Its structure.
    pub structure: Structure,
}

fn or<'a>(own: &'a str, inherited: &'a str) -> &'a str {
    if own.trim().is_empty() {
        inherited
    } else {
        own
    }
}

impl ServiceEntry {
    /// Its point: its own, else its structure's.
    pub fn point(&self) -> Option<(f64, f64)> {
        let s = &self.service.fields;
        match (s.lon, s.lat) {
            (Some(lon), Some(lat)) => Some((lon, lat)),
            _ => self.structure.fields.lon.zip(self.structure.fields.lat),
        }
    }
    /// Its territory: that of the point it is shown at.
    pub fn territory(&self) -> Option<TerritoryId> {
        let s = &self.service.fields;
        if s.lon.is_some() && s.lat.is_some() {
            self.service.territory
        } else {
            self.structure.territory
        }
    }
    /// Its address on one line (its own, else its structure's).
    pub fn address(&self) -> String {
        let (s, st) = (&self.service.fields, &self.structure.fields);
        let (street, extra, postal, city) = if s.address.trim().is_empty() && s.city.trim().is_empty() {
            (&st.address, &st.address_extra, &st.postal_code, &st.city)
        } else {
            (&s.address, &s.address_extra, &s.postal_code, &s.city)
        };
        let town = [postal.trim(), city.trim()].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ");
        [street.trim(), extra.trim(), town.as_str()].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(", ")
    }
    /// Its phone (its own, else its structure's).
    pub fn phone(&self) -> &str {
        or(&self.service.fields.phone, &self.structure.fields.phone)
    }
    /// Its e-mail (its own, else its structure's).
    pub fn email(&self) -> &str {
        or(&self.service.fields.email, &self.structure.fields.email)
    }
    /// Its opening hours, OSM syntax (its own, else its structure's).
    pub fn opening_hours(&self) -> &str {
        or(&self.service.fields.opening_hours, &self.structure.fields.opening_hours)
    }
    /// The organisation keeping it (its structure's; none when imported).
    pub fn organisation(&self) -> Option<OrganisationId> {
        self.structure.organisation
    }
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn parse_list(text: &str, what: &'static str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|_| StorageError::Corrupt(what))
}

const STRUCTURE_COLUMNS: &[&str] = &[
    "id",
    "source",
    "source_id",
    "organisation_id",
    "name",
    "siret",
    "description",
    "address",
    "address_extra",
    "postal_code",
    "city",
    "insee_code",
    "lon",
    "lat",
    "territory_id",
    "phone",
    "email",
    "website",
    "source_link",
    "accessibility_link",
    "opening_hours",
    "networks",
    "source_updated",
    "import_hash",
    "created_at",
    "updated_at",
    "version",
];

const SERVICE_COLUMNS: &[&str] = &[
    "id",
    "structure_id",
    "source",
    "source_id",
    "name",
    "description",
    "kind",
    "themes",
    "publics",
    "publics_details",
    "access_conditions",
    "fees",
    "fees_details",
    "reception_modes",
    "mobilisation_modes",
    "mobilisable_by",
    "mobilisation_link",
    "mobilisation_details",
    "eligibility_zone",
    "address",
    "address_extra",
    "postal_code",
    "city",
    "insee_code",
    "lon",
    "lat",
    "territory_id",
    "phone",
    "email",
    "opening_hours",
    "source_link",
    "source_updated",
    "import_hash",
    "languages",
    "capacity",
    "capacity_note",
    "capacity_updated_at",
    "created_at",
    "updated_at",
    "version",
];

/// `st.id AS st_id, st.source AS st_source, …`
fn select(alias: &str, columns: &[&str]) -> String {
    columns.iter().map(|c| format!("{alias}.{c} AS {alias}_{c}")).collect::<Vec<_>>().join(", ")
}

fn structure_from_row(r: &sqlx::any::AnyRow, p: &str) -> Result<Structure> {
    let col = |c: &str| format!("{p}_{c}");
    let networks: String = r.try_get(col("networks").as_str())?;
    Ok(Structure {
        id: r.try_get(col("id").as_str())?,
        source: r.try_get(col("source").as_str())?,
        source_id: r.try_get(col("source_id").as_str())?,
        organisation: r.try_get(col("organisation_id").as_str())?,
        fields: StructureFields {
            name: r.try_get(col("name").as_str())?,
            siret: r.try_get(col("siret").as_str())?,
            description: r.try_get(col("description").as_str())?,
            address: r.try_get(col("address").as_str())?,
            address_extra: r.try_get(col("address_extra").as_str())?,
            postal_code: r.try_get(col("postal_code").as_str())?,
            city: r.try_get(col("city").as_str())?,
            insee_code: r.try_get(col("insee_code").as_str())?,
            lon: r.try_get(col("lon").as_str())?,
            lat: r.try_get(col("lat").as_str())?,
            phone: r.try_get(col("phone").as_str())?,
            email: r.try_get(col("email").as_str())?,
            website: r.try_get(col("website").as_str())?,
            source_link: r.try_get(col("source_link").as_str())?,
            accessibility_link: r.try_get(col("accessibility_link").as_str())?,
            opening_hours: r.try_get(col("opening_hours").as_str())?,
            networks: parse_list(&networks, "directory_structures.networks")?,
            source_updated: r.try_get(col("source_updated").as_str())?,
        },
        territory: r.try_get(col("territory_id").as_str())?,
        import_hash: r.try_get(col("import_hash").as_str())?,
        created_at: Timestamp::from_micros(r.try_get(col("created_at").as_str())?),
        updated_at: Timestamp::from_micros(r.try_get(col("updated_at").as_str())?),
        version: r.try_get(col("version").as_str())?,
    })
}

fn service_from_row(r: &sqlx::any::AnyRow, p: &str) -> Result<Service> {
    let col = |c: &str| format!("{p}_{c}");
    let text = |c: &str| -> Result<String> { Ok(r.try_get(col(c).as_str())?) };
    let list = |c: &str, what: &'static str| -> Result<Vec<String>> { parse_list(&text(c)?, what) };
    Ok(Service {
        id: r.try_get(col("id").as_str())?,
        structure: r.try_get(col("structure_id").as_str())?,
        source: text("source")?,
        source_id: text("source_id")?,
        fields: ServiceFields {
            name: text("name")?,
            description: text("description")?,
            kind: text("kind")?,
            themes: list("themes", "directory_services.themes")?,
            publics: list("publics", "directory_services.publics")?,
            publics_details: text("publics_details")?,
            access_conditions: text("access_conditions")?,
            fees: text("fees")?,
            fees_details: text("fees_details")?,
            reception_modes: list("reception_modes", "directory_services.reception_modes")?,
            mobilisation_modes: list("mobilisation_modes", "directory_services.mobilisation_modes")?,
            mobilisable_by: list("mobilisable_by", "directory_services.mobilisable_by")?,
            mobilisation_link: text("mobilisation_link")?,
            mobilisation_details: text("mobilisation_details")?,
            eligibility_zone: list("eligibility_zone", "directory_services.eligibility_zone")?,
            address: text("address")?,
            address_extra: text("address_extra")?,
            postal_code: text("postal_code")?,
            city: text("city")?,
            insee_code: text("insee_code")?,
            lon: r.try_get(col("lon").as_str())?,
            lat: r.try_get(col("lat").as_str())?,
            phone: text("phone")?,
            email: text("email")?,
            opening_hours: text("opening_hours")?,
            source_link: text("source_link")?,
            source_updated: text("source_updated")?,
        },
        local: LocalFields {
            languages: list("languages", "directory_services.languages")?,
            capacity: r.try_get(col("capacity").as_str())?,
            capacity_note: text("capacity_note")?,
        },
        capacity_updated_at: r.try_get::<Option<i64>, _>(col("capacity_updated_at").as_str())?.map(Timestamp::from_micros),
        territory: r.try_get(col("territory_id").as_str())?,
        import_hash: text("import_hash")?,
        created_at: Timestamp::from_micros(r.try_get(col("created_at").as_str())?),
        updated_at: Timestamp::from_micros(r.try_get(col("updated_at").as_str())?),
        version: r.try_get(col("version").as_str())?,
    })
}

/// What a new structure is.
#[derive(Clone, Debug)]
pub struct NewStructure<'a> {
    /// Source.
    pub source: &'a str,
    /// Id within the source (own entries: their veille id).
    pub source_id: &'a str,
    /// The organisation keeping it (none: imported).
    pub organisation: Option<OrganisationId>,
    /// Its fields.
    pub fields: &'a StructureFields,
    /// Its territory.
    pub territory: Option<TerritoryId>,
    /// Hash of the imported record.
    pub import_hash: &'a str,
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The data·inclusion columns of a structure, in the order [`bind_structure`] binds them.
const STRUCTURE_FIELDS: &[&str] = &[
    "name",
    "siret",
    "description",
    "address",
    "address_extra",
    "postal_code",
    "city",
    "insee_code",
    "lon",
    "lat",
    "phone",
    "email",
    "website",
    "source_link",
    "accessibility_link",
    "opening_hours",
    "networks",
    "source_updated",
];

/// The data·inclusion columns of a service, in the order [`bind_service`] binds them.
const SERVICE_FIELDS: &[&str] = &[
    "name",
    "description",
    "kind",
    "themes",
    "publics",
    "publics_details",
    "access_conditions",
    "fees",
    "fees_details",
    "reception_modes",
    "mobilisation_modes",
    "mobilisable_by",
    "mobilisation_link",
    "mobilisation_details",
    "eligibility_zone",
    "address",
    "address_extra",
    "postal_code",
    "city",
    "insee_code",
    "lon",
    "lat",
    "phone",
    "email",
    "opening_hours",
    "source_link",
    "source_updated",
];

/// The placeholder of a column: floats come as text (see [`real_text`]).
fn placeholder(column: &str, n: usize) -> String {
    if matches!(column, "lon" | "lat") {
        format!("CAST(${n} AS DOUBLE PRECISION)")
    } else {
        format!("${n}")
    }
}

/// `INSERT INTO table (leading…, fields…, trailing…, created_at, updated_at)`
/// with numbered placeholders (`created_at` and `updated_at` share the last).
fn insert_sql(table: &str, leading: &[&str], fields: &[&str], trailing: &[&str]) -> String {
    let columns: Vec<&str> = leading.iter().chain(fields).chain(trailing).copied().collect();
    let values: Vec<String> = columns.iter().enumerate().map(|(i, c)| placeholder(c, i + 1)).collect();
    let now = columns.len() + 1;
    format!("INSERT INTO {table} ({}, created_at, updated_at) VALUES ({}, ${now}, ${now})", columns.join(", "), values.join(", "))
}

/// `UPDATE table SET fields… = …, trailing… = …, updated_at, version + 1
/// WHERE id = … AND version = …`.
fn update_sql(table: &str, fields: &[&str], trailing: &[&str]) -> String {
    let columns: Vec<&str> = fields.iter().chain(trailing).copied().collect();
    let sets: Vec<String> = columns.iter().enumerate().map(|(i, c)| format!("{c} = {}", placeholder(c, i + 1))).collect();
    let n = columns.len();
    format!("UPDATE {table} SET {}, updated_at = ${}, version = version + 1 WHERE id = ${} AND version = ${}", sets.join(", "), n + 1, n + 2, n + 3)
}

fn bind_structure<'q>(q: AnyQuery<'q>, f: &StructureFields) -> AnyQuery<'q> {
    q.bind(f.name.clone())
        .bind(f.siret.clone())
        .bind(f.description.clone())
        .bind(f.address.clone())
        .bind(f.address_extra.clone())
        .bind(f.postal_code.clone())
        .bind(f.city.clone())
        .bind(f.insee_code.clone())
        .bind(real_text(f.lon))
        .bind(real_text(f.lat))
        .bind(f.phone.clone())
        .bind(f.email.clone())
        .bind(f.website.clone())
        .bind(f.source_link.clone())
        .bind(f.accessibility_link.clone())
        .bind(f.opening_hours.clone())
        .bind(json_list(&f.networks))
        .bind(f.source_updated.clone())
}

fn bind_service<'q>(q: AnyQuery<'q>, f: &ServiceFields) -> AnyQuery<'q> {
    q.bind(f.name.clone())
        .bind(f.description.clone())
        .bind(f.kind.clone())
        .bind(json_list(&f.themes))
        .bind(json_list(&f.publics))
        .bind(f.publics_details.clone())
        .bind(f.access_conditions.clone())
        .bind(f.fees.clone())
        .bind(f.fees_details.clone())
        .bind(json_list(&f.reception_modes))
        .bind(json_list(&f.mobilisation_modes))
        .bind(json_list(&f.mobilisable_by))
        .bind(f.mobilisation_link.clone())
        .bind(f.mobilisation_details.clone())
        .bind(json_list(&f.eligibility_zone))
        .bind(f.address.clone())
        .bind(f.address_extra.clone())
        .bind(f.postal_code.clone())
        .bind(f.city.clone())
        .bind(f.insee_code.clone())
        .bind(real_text(f.lon))
        .bind(real_text(f.lat))
        .bind(f.phone.clone())
        .bind(f.email.clone())
        .bind(f.opening_hours.clone())
        .bind(f.source_link.clone())
        .bind(f.source_updated.clone())
}

fn changed_one(done: sqlx::any::AnyQueryResult) -> Result<()> {
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    Ok(())
}

/// Writes a new structure.
pub async fn create_structure(tx: &mut Tx, id: StructureId, new: &NewStructure<'_>, now: Timestamp) -> Result<()> {
    let sql = insert_sql("directory_structures", &["id", "source", "source_id", "organisation_id"], STRUCTURE_FIELDS, &["territory_id", "import_hash"]);
    let q = sqlx::query(&sql).bind(id).bind(new.source.to_owned()).bind(new.source_id.to_owned()).bind(new.organisation);
    bind_structure(q, new.fields).bind(new.territory).bind(new.import_hash.to_owned()).bind(now.as_micros()).execute(&mut **tx).await.classify()?;
    Ok(())
}

/// Replaces a structure's fields (and import hash) if it still is at
/// `version`; `StaleVersion` otherwise.
pub async fn update_structure(
    tx: &mut Tx,
    id: StructureId,
    fields: &StructureFields,
    territory: Option<TerritoryId>,
    import_hash: &str,
    version: i64,
    now: Timestamp,
) -> Result<()> {
    let sql = update_sql("directory_structures", STRUCTURE_FIELDS, &["territory_id", "import_hash"]);
    let done = bind_structure(sqlx::query(&sql), fields)
        .bind(territory)
        .bind(import_hash.to_owned())
        .bind(now.as_micros())
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    changed_one(done)
}

/// What a new service is.
#[derive(Clone, Debug)]
pub struct NewService<'a> {
    /// Its structure.
    pub structure: StructureId,
    /// Source.
    pub source: &'a str,
    /// Id within the source.
    pub source_id: &'a str,
    /// Its fields.
    pub fields: &'a ServiceFields,
    /// veille's own fields.
    pub local: &'a LocalFields,
    /// The territory of its own point.
    pub territory: Option<TerritoryId>,
    /// Hash of the imported record.
    pub import_hash: &'a str,
}

/// Writes a new service.
pub async fn create_service(tx: &mut Tx, id: ServiceId, new: &NewService<'_>, now: Timestamp) -> Result<()> {
    let sql = insert_sql(
        "directory_services",
        &["id", "structure_id", "source", "source_id"],
        SERVICE_FIELDS,
        &["territory_id", "import_hash", "languages", "capacity", "capacity_note"],
    );
    let q = sqlx::query(&sql).bind(id).bind(new.structure).bind(new.source.to_owned()).bind(new.source_id.to_owned());
    bind_service(q, new.fields)
        .bind(new.territory)
        .bind(new.import_hash.to_owned())
        .bind(json_list(&new.local.languages))
        .bind(new.local.capacity)
        .bind(new.local.capacity_note.clone())
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    Ok(())
}

/// Replaces a service's data·inclusion fields (its structure, fields and
/// import hash; veille's own fields are kept) if it still is at `version`.
#[allow(clippy::too_many_arguments)]
pub async fn update_service(
    tx: &mut Tx,
    id: ServiceId,
    structure: StructureId,
    fields: &ServiceFields,
    territory: Option<TerritoryId>,
    import_hash: &str,
    version: i64,
    now: Timestamp,
) -> Result<()> {
    let sql = update_sql("directory_services", SERVICE_FIELDS, &["structure_id", "territory_id", "import_hash"]);
    let done = bind_service(sqlx::query(&sql), fields)
        .bind(structure)
        .bind(territory)
        .bind(import_hash.to_owned())
        .bind(now.as_micros())
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    changed_one(done)
}

/// Sets veille's own fields of a service (languages, capacity) if it still is
/// at `version`; the capacity date moves only when the capacity or its note changed.
pub async fn update_local(tx: &mut Tx, service: &Service, local: &LocalFields, version: i64, now: Timestamp) -> Result<()> {
    let capacity_changed = local.capacity != service.local.capacity || local.capacity_note != service.local.capacity_note;
    let capacity_at = if capacity_changed { Some(now.as_micros()) } else { service.capacity_updated_at.map(Timestamp::as_micros) };
    let done = sqlx::query(
        "UPDATE directory_services SET languages = $1, capacity = $2, capacity_note = $3, capacity_updated_at = $4, updated_at = $5, \
         version = version + 1 WHERE id = $6 AND version = $7",
    )
    .bind(json_list(&local.languages))
    .bind(local.capacity)
    .bind(&local.capacity_note)
    .bind(capacity_at)
    .bind(now.as_micros())
    .bind(service.id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    changed_one(done)
}

/// One structure.
pub async fn structure(db: &Db, id: StructureId) -> Result<Option<Structure>> {
    let row = sqlx::query(&format!("SELECT {} FROM directory_structures st WHERE st.id = $1", select("st", STRUCTURE_COLUMNS)))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| structure_from_row(&r, "st")).transpose()
}

/// One service with its structure (name, address, phone, hours): what a
/// referral to it shows.
pub async fn service(db: &Db, id: ServiceId) -> Result<Option<ServiceEntry>> {
    let sql = format!(
        "SELECT {}, {} FROM directory_services s JOIN directory_structures st ON st.id = s.structure_id WHERE s.id = $1",
        select("s", SERVICE_COLUMNS),
        select("st", STRUCTURE_COLUMNS)
    );
    let row = sqlx::query(&sql).bind(id).fetch_optional(db.pool()).await?;
    row.map(|r| Ok(ServiceEntry { service: service_from_row(&r, "s")?, structure: structure_from_row(&r, "st")? })).transpose()
}

/// The services of a structure, by name.
pub async fn services_of(db: &Db, structure: StructureId) -> Result<Vec<Service>> {
    let rows = sqlx::query(&format!("SELECT {} FROM directory_services s WHERE s.structure_id = $1 ORDER BY s.name, s.id", select("s", SERVICE_COLUMNS)))
        .bind(structure)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| service_from_row(r, "s")).collect()
}

/// What a search asks. Every filter is optional; `need` is a data·inclusion
/// thématique (`sante--addictions`) or its category (`sante`).
#[derive(Clone, Debug, Default)]
pub struct Search {
    /// A thématique or a category of thématiques.
    pub need: Option<String>,
    /// The territory the service is in.
    pub territory: Option<TerritoryId>,
    /// A public (`personnes-exilees`…); services for `tous-publics` match too.
    pub public: Option<String>,
    /// A language spoken.
    pub language: Option<String>,
    /// Words in the service's or structure's name or description (SQL `LIKE`:
    /// on SQLite only ASCII letters are case-folded; `veille_app::directory::search`
    /// leaves this empty and folds accents and case itself).
    pub text: Option<String>,
    /// Only the services of this structure.
    pub structure: Option<StructureId>,
    /// At most this many (0: 500).
    pub limit: i64,
}

/// A `LIKE` pattern matching `value` as a whole item of a JSON list column
/// (items are codes without quotes; `%` and `_` are escaped).
fn list_item_pattern(value: &str, prefix: bool) -> String {
    let escaped = value.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_").replace('"', "");
    if prefix {
        format!("%\"{escaped}--%")
    } else {
        format!("%\"{escaped}\"%")
    }
}

/// Services matching the search, by name.
pub async fn search(db: &Db, q: &Search) -> Result<Vec<ServiceEntry>> {
    let mut sql = format!(
        "SELECT {}, {} FROM directory_services s JOIN directory_structures st ON st.id = s.structure_id WHERE 1 = 1",
        select("s", SERVICE_COLUMNS),
        select("st", STRUCTURE_COLUMNS)
    );
    let mut p = Params::new();
    if let Some(need) = q.need.as_deref().filter(|n| !n.is_empty()) {
        let exact = p.push(list_item_pattern(need, false));
        let category = p.push(list_item_pattern(need, true));
        sql.push_str(&format!(" AND (s.themes LIKE {exact} ESCAPE '\\' OR s.themes LIKE {category} ESCAPE '\\')"));
    }
    if let Some(t) = q.territory {
        let t = p.push_id(t);
        sql.push_str(&format!(" AND (CASE WHEN s.lon IS NOT NULL AND s.lat IS NOT NULL THEN s.territory_id ELSE st.territory_id END) = {t}"));
    }
    if let Some(public) = q.public.as_deref().filter(|p| !p.is_empty()) {
        let public = p.push(list_item_pattern(public, false));
        let all = p.push(list_item_pattern("tous-publics", false));
        sql.push_str(&format!(" AND (s.publics LIKE {public} ESCAPE '\\' OR s.publics LIKE {all} ESCAPE '\\' OR s.publics = '[]')"));
    }
    if let Some(language) = q.language.as_deref().filter(|l| !l.is_empty()) {
        let language = p.push(list_item_pattern(language, false));
        sql.push_str(&format!(" AND s.languages LIKE {language} ESCAPE '\\'"));
    }
    if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        for word in text.split_whitespace().take(5) {
            let escaped = word.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let w = p.push(format!("%{escaped}%"));
            sql.push_str(&format!(
                " AND (LOWER(s.name) LIKE {w} ESCAPE '\\' OR LOWER(st.name) LIKE {w} ESCAPE '\\' OR LOWER(s.description) LIKE {w} ESCAPE '\\')"
            ));
        }
    }
    if let Some(st) = q.structure {
        let st = p.push_id(st);
        sql.push_str(&format!(" AND s.structure_id = {st}"));
    }
    let limit = if q.limit <= 0 { 500 } else { q.limit };
    sql.push_str(&format!(" ORDER BY s.name, st.name, s.id LIMIT {limit}"));
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok(ServiceEntry { service: service_from_row(r, "s")?, structure: structure_from_row(r, "st")? })).collect()
}

/// Structures by name, at most `limit` (callers match words themselves,
/// accents folded).
pub async fn structures(db: &Db, limit: i64) -> Result<Vec<Structure>> {
    let sql = format!("SELECT {} FROM directory_structures st ORDER BY st.name, st.id LIMIT {}", select("st", STRUCTURE_COLUMNS), limit.max(1));
    let rows = sqlx::query(&sql).fetch_all(db.pool()).await?;
    rows.iter().map(|r| structure_from_row(r, "st")).collect()
}

/// What an import needs to know of a stored entry.
#[derive(Clone, Debug)]
pub struct Known<Id> {
    /// Its id.
    pub id: Id,
    /// Its import hash.
    pub import_hash: String,
    /// Its version.
    pub version: i64,
    /// Whether an organisation keeps it (then an import never touches it).
    pub owned: bool,
}

/// Every structure of these sources, by (source, source_id).
pub async fn known_structures(db: &Db, sources: &[String]) -> Result<std::collections::HashMap<(String, String), Known<StructureId>>> {
    let mut out = std::collections::HashMap::new();
    for source in sources {
        let rows = sqlx::query("SELECT id, source_id, import_hash, version, organisation_id FROM directory_structures WHERE source = $1")
            .bind(source)
            .fetch_all(db.pool())
            .await?;
        for r in rows {
            let owner: Option<OrganisationId> = r.try_get("organisation_id")?;
            out.insert(
                (source.clone(), r.try_get("source_id")?),
                Known { id: r.try_get("id")?, import_hash: r.try_get("import_hash")?, version: r.try_get("version")?, owned: owner.is_some() },
            );
        }
    }
    Ok(out)
}

/// Every service of these sources, by (source, source_id).
pub async fn known_services(db: &Db, sources: &[String]) -> Result<std::collections::HashMap<(String, String), Known<ServiceId>>> {
    let mut out = std::collections::HashMap::new();
    for source in sources {
        let rows = sqlx::query(
            "SELECT s.id, s.source_id, s.import_hash, s.version, st.organisation_id FROM directory_services s \
             JOIN directory_structures st ON st.id = s.structure_id WHERE s.source = $1",
        )
        .bind(source)
        .fetch_all(db.pool())
        .await?;
        for r in rows {
            let owner: Option<OrganisationId> = r.try_get("organisation_id")?;
            out.insert(
                (source.clone(), r.try_get("source_id")?),
                Known { id: r.try_get("id")?, import_hash: r.try_get("import_hash")?, version: r.try_get("version")?, owned: owner.is_some() },
            );
        }
    }
    Ok(out)
}

/// How many structures and services the directory holds.
pub async fn counts(db: &Db) -> Result<(i64, i64)> {
    let structures: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM directory_structures").fetch_one(db.pool()).await?;
    let services: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM directory_services").fetch_one(db.pool()).await?;
    Ok((structures, services))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_their_placeholders_and_cast_floats() {
        assert_eq!(
            insert_sql("t", &["id"], &["name", "lon"], &["import_hash"]),
            "INSERT INTO t (id, name, lon, import_hash, created_at, updated_at) VALUES ($1, $2, CAST($3 AS DOUBLE PRECISION), $4, $5, $5)"
        );
        assert_eq!(
            update_sql("t", &["name", "lat"], &["import_hash"]),
            "UPDATE t SET name = $1, lat = CAST($2 AS DOUBLE PRECISION), import_hash = $3, updated_at = $4, version = version + 1 WHERE id = $5 AND version = $6"
        );
        assert_eq!(STRUCTURE_FIELDS.len(), 18);
        assert_eq!(SERVICE_FIELDS.len(), 27);
    }

    #[test]
    fn list_patterns_match_whole_codes_or_a_category() {
        assert_eq!(list_item_pattern("sante--addictions", false), "%\"sante--addictions\"%");
        assert_eq!(list_item_pattern("sante", true), "%\"sante--%");
        assert_eq!(list_item_pattern("a_b%\"", false), "%\"a\\_b\\%\"%");
    }
}
