//! Sites (lieux de vie): the place, its dated observations and, once closed,
//! where its people went. Their history (status changes, confirmations,
//! logbook entries) is in the one timeline, appended by the commands of
//! `veille_app::sites`. Every query that returns sites or observations takes
//! the caller's [`Scope`], compiled to SQL on the site's territory.

use sqlx::Row;
use veille_domain::{ObservationId, OrganisationId, RoundId, SiteId, TeamId, TerritoryId, Timestamp, UserId};

use crate::db::{b, claim, instant as ts, Db, Tx, Versioned};
use crate::error::{Result, ResultExt, StorageError};
use crate::scope::Scope;
use crate::sql::{Params, Window};

/// Kinds of site.
pub const KINDS: [&str; 6] = ["camp", "squat", "slum", "drug_scene", "gathering_place", "other"];
/// Who owns the land.
pub const LAND_OWNERS: [&str; 4] = ["municipal", "state", "private", "unknown"];
/// Statuses.
pub const STATUSES: [&str; 2] = ["active", "ended"];
/// Ratings of one living condition.
pub const CONDITION_RATINGS: [&str; 4] = ["good", "poor", "bad", "unknown"];
/// The living conditions observed.
pub const CONDITIONS: [&str; 6] = ["water", "toilets", "electricity", "waste", "fire_risk", "rodents"];
/// Atmosphere on the site.
pub const ATMOSPHERES: [&str; 4] = ["calm", "tense", "very_tense", "unknown"];
/// Why a site closed.
pub const CLOSURE_REASONS: [&str; 6] = ["evacuation", "sheltering", "voluntary_departure", "fire", "moved_elsewhere", "other"];
/// Where people went when a site closed.
pub const DESTINATIONS: [&str; 6] = ["shelter", "hotel", "housing", "other_site", "street", "unknown"];

/// The overall state of living conditions: the worst rating known, `unknown`
/// when none is known.
pub fn overall_state(ratings: &[&str]) -> &'static str {
    let rank = |r: &str| match r {
        "bad" => 3,
        "poor" => 2,
        "good" => 1,
        _ => 0,
    };
    match ratings.iter().map(|r| rank(r)).max().unwrap_or(0) {
        3 => "bad",
        2 => "poor",
        1 => "good",
        _ => "unknown",
    }
}

/// A site.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Site {
    /// Id.
    pub id: SiteId,
    /// The organisation that recorded it.
    pub organisation: OrganisationId,
    /// Name (a place name, never a person's).
    pub name: String,
    /// Kind code.
    pub kind: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Optional outline (GeoJSON geometry).
    pub outline: Option<String>,
    /// Address or description of the place.
    pub address: String,
    /// Territory (computed from the point).
    pub territory: Option<TerritoryId>,
    /// Land owner kind.
    pub land_owner: String,
    /// Status code.
    pub status: String,
    /// Heatwave / great cold watch on the site.
    pub heatwave: bool,
    /// Closed at.
    pub closed_at: Option<Timestamp>,
    /// Closure reason code.
    pub closure_reason: Option<String>,
    /// Last "confirmed unchanged".
    pub last_checked_at: Option<Timestamp>,
    /// Created at.
    pub created_at: Timestamp,
    /// Version.
    pub version: i64,
}

/// What a new site says.
#[derive(Clone, Debug)]
pub struct NewSite {
    /// Organisation.
    pub organisation: OrganisationId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Outline.
    pub outline: Option<String>,
    /// Address.
    pub address: String,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Land owner.
    pub land_owner: String,
}

/// The columns of a site, prefixed by the table alias `s`.
const COLUMNS: &str =
    "s.id, s.organisation_id, s.name, s.kind, s.lon, s.lat, s.outline, s.address, s.territory_id, s.land_owner, s.status, s.heatwave, s.closed_at, \
    s.closure_reason, s.last_checked_at, s.created_at, s.version";

/// The column of a site's territory, which the read rules look at (see
/// `veille_domain::access::site_read_filter`), for [`Scope::sites`].
pub const TERRITORY_COLUMN: &str = "s.territory_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Site> {
    Ok(Site {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        outline: r.try_get("outline")?,
        address: r.try_get("address")?,
        territory: r.try_get("territory_id")?,
        land_owner: r.try_get("land_owner")?,
        status: r.try_get("status")?,
        heatwave: r.try_get::<i64, _>("heatwave")? != 0,
        closed_at: ts(r.try_get("closed_at")?),
        closure_reason: r.try_get("closure_reason")?,
        last_checked_at: ts(r.try_get("last_checked_at")?),
        created_at: Timestamp::from_micros(r.try_get("created_at")?),
        version: r.try_get("version")?,
    })
}

/// Records a new site (its history entry is the caller's).
pub async fn create(tx: &mut Tx, new: &NewSite, by: UserId, now: Timestamp) -> Result<SiteId> {
    let id = SiteId::new();
    sqlx::query(
        "INSERT INTO sites (id, organisation_id, name, kind, lon, lat, outline, address, territory_id, land_owner, status, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, $12, $12)",
    )
    .bind(id)
    .bind(new.organisation)
    .bind(&new.name)
    .bind(&new.kind)
    .bind(new.lon)
    .bind(new.lat)
    .bind(new.outline.clone())
    .bind(&new.address)
    .bind(new.territory)
    .bind(&new.land_owner)
    .bind(by)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await
    .classify()?;
    Ok(id)
}

/// One site, if `scope` reads it (`NotFound` otherwise: its existence is not told).
pub async fn get(db: &Db, scope: &Scope, id: SiteId) -> Result<Site> {
    let mut p = Params::new();
    let me = p.push_id(id);
    let readable = scope.sites(TERRITORY_COLUMN, &mut p);
    let sql = format!("SELECT {COLUMNS} FROM sites s WHERE s.id = {me} AND {readable}");
    let row = p.bind(sqlx::query(&sql)).fetch_optional(db.pool()).await?.ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// What a list of sites keeps (every filter optional).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this territory.
    pub territory: Option<TerritoryId>,
    /// Only the sites no team has seen after this instant (or never): no
    /// observation, "confirmed unchanged" or visited round stop after it.
    pub not_seen_since: Option<Timestamp>,
    /// One window of the list (a page); `None`: every one.
    pub window: Option<Window>,
}

/// The condition of a list of sites.
fn filter_sql(scope: &Scope, filter: &Filter, p: &mut Params) -> String {
    let mut w = vec![scope.sites(TERRITORY_COLUMN, p)];
    if let Some(k) = &filter.kind {
        w.push(format!("s.kind = {}", p.push(k.clone())));
    }
    if let Some(st) = &filter.status {
        w.push(format!("s.status = {}", p.push(st.clone())));
    }
    if let Some(t) = filter.territory {
        w.push(format!("s.territory_id = {}", p.push_id(t)));
    }
    if let Some(since) = filter.not_seen_since {
        let since = p.push(since.as_micros());
        w.push(format!(
            "(s.last_checked_at IS NULL OR s.last_checked_at <= {since}) \
             AND NOT EXISTS (SELECT 1 FROM site_observations o WHERE o.site_id = s.id AND o.observed_at > {since}) \
             AND NOT EXISTS (SELECT 1 FROM round_stops rs WHERE rs.site_id = s.id AND rs.visited_at > {since})"
        ));
    }
    w.join(" AND ")
}

/// The sites `scope` reads that pass `filter`, by name (the filter's window of them).
pub async fn list(db: &Db, scope: &Scope, filter: &Filter) -> Result<Vec<Site>> {
    let mut p = Params::new();
    let cond = filter_sql(scope, filter, &mut p);
    let window = filter.window.map(|w| w.sql(&mut p)).unwrap_or_default();
    let sql = format!("SELECT {COLUMNS} FROM sites s WHERE {cond} ORDER BY s.name, s.id{window}");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// How many sites `scope` reads pass `filter` (its window left out).
pub async fn count(db: &Db, scope: &Scope, filter: &Filter) -> Result<i64> {
    let mut p = Params::new();
    let cond = filter_sql(scope, filter, &mut p);
    Ok(p.bind_scalar(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM sites s WHERE {cond}"))).fetch_one(db.pool()).await?)
}

/// Corrects the place itself: name, kind, point (and so territory), address, land owner.
pub async fn update_place(tx: &mut Tx, site: &Site, place: &NewSite, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET name = $1, kind = $2, lon = $3, lat = $4, territory_id = $5, address = $6, land_owner = $7 WHERE id = $8")
        .bind(&place.name)
        .bind(&place.kind)
        .bind(place.lon)
        .bind(place.lat)
        .bind(place.territory)
        .bind(&place.address)
        .bind(&place.land_owner)
        .bind(site.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Raises or lowers the heatwave / great-cold watch of a site.
pub async fn set_heatwave(tx: &mut Tx, site: &Site, on: bool, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET heatwave = $1 WHERE id = $2").bind(b(on)).bind(site.id).execute(&mut **tx).await?;
    Ok(())
}

/// "Confirmed unchanged": dates the last check without a new observation.
pub async fn confirm_unchanged(tx: &mut Tx, site: &Site, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET last_checked_at = $1 WHERE id = $2").bind(now.as_micros()).bind(site.id).execute(&mut **tx).await?;
    Ok(())
}

/// A destination count of a closure.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Destination {
    /// The site the people left (for links shown on the destination site).
    pub site: SiteId,
    /// Destination code.
    pub destination: String,
    /// How many people.
    pub people: i64,
    /// The site they moved to, when `other_site`.
    pub to_site: Option<SiteId>,
    /// When.
    pub at: Timestamp,
}

/// Closes a site with its reason and where its people went.
pub async fn close(tx: &mut Tx, site: &Site, reason: &str, destinations: &[(String, i64, Option<SiteId>)], version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET status = 'ended', closed_at = $1, closure_reason = $2 WHERE id = $3")
        .bind(now.as_micros())
        .bind(reason)
        .bind(site.id)
        .execute(&mut **tx)
        .await?;
    for (destination, people, to_site) in destinations {
        sqlx::query("INSERT INTO site_destinations (id, site_id, destination, people, to_site_id, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(site.id)
            .bind(destination)
            .bind(*people)
            .bind(*to_site)
            .bind(now.as_micros())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Reopens a closed site (people came back).
pub async fn reopen(tx: &mut Tx, site: &Site, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET status = 'active', closed_at = NULL, closure_reason = NULL WHERE id = $1").bind(site.id).execute(&mut **tx).await?;
    Ok(())
}

/// Where the people of `site` went, and the closures of other sites whose
/// people came to it: `(left, arrived)`; nothing when `scope` does not read `site`.
pub async fn moves(db: &Db, scope: &Scope, site: SiteId) -> Result<(Vec<Destination>, Vec<Destination>)> {
    let map = |r: &sqlx::any::AnyRow| -> Result<Destination> {
        Ok(Destination {
            site: r.try_get("site_id")?,
            destination: r.try_get("destination")?,
            people: r.try_get("people")?,
            to_site: r.try_get("to_site_id")?,
            at: Timestamp::from_micros(r.try_get("at")?),
        })
    };
    let mut out = Vec::new();
    for col in ["site_id", "to_site_id"] {
        let mut p = Params::new();
        let me = p.push_id(site);
        let readable = scope.sites(TERRITORY_COLUMN, &mut p);
        let sql = format!(
            "SELECT d.site_id, d.destination, d.people, d.to_site_id, d.at FROM site_destinations d JOIN sites s ON s.id = d.{col} \
             WHERE d.{col} = {me} AND {readable} ORDER BY d.at, d.id"
        );
        out.push(p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?.iter().map(map).collect::<Result<Vec<_>>>()?);
    }
    let arrived = out.pop().unwrap_or_default();
    let left = out.pop().unwrap_or_default();
    Ok((left, arrived))
}

/// The figures of an observation (all counts are estimates).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Figures {
    /// Estimated people.
    pub people: i64,
    /// Men.
    pub men: i64,
    /// Women.
    pub women: i64,
    /// Minors under 3.
    pub minors_0_3: i64,
    /// Minors 3 to 6.
    pub minors_3_6: i64,
    /// Minors 6 to 12.
    pub minors_6_12: i64,
    /// Minors 12 to 16.
    pub minors_12_16: i64,
    /// Minors 16 to 18.
    pub minors_16_18: i64,
    /// Tents.
    pub tents: i64,
    /// Huts (cabanes).
    pub huts: i64,
    /// Vehicles lived in.
    pub vehicles: i64,
    /// Used material collected by the team (syringes, pipes…).
    pub material_collected: i64,
    /// Used material found lying on the site.
    pub material_found: i64,
}

impl Figures {
    /// Every minor.
    pub fn minors(&self) -> i64 {
        // Saturating: the figures come from outside before they are checked.
        [self.minors_3_6, self.minors_6_12, self.minors_12_16, self.minors_16_18].iter().fold(self.minors_0_3, |a, b| a.saturating_add(*b))
    }
}

/// A dated observation of a site.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Observation {
    /// Id.
    pub id: ObservationId,
    /// Site.
    pub site: SiteId,
    /// When it was observed.
    pub observed_at: Timestamp,
    /// The observing organisation.
    pub organisation: OrganisationId,
    /// The observing team.
    pub team: Option<TeamId>,
    /// The round it was made on.
    pub round: Option<RoundId>,
    /// Author.
    pub author: Option<UserId>,
    /// Counts.
    pub figures: Figures,
    /// Living conditions: (condition code, rating code), in [`CONDITIONS`] order.
    pub conditions: Vec<(String, String)>,
    /// Computed overall state.
    pub overall: String,
    /// Atmosphere.
    pub atmosphere: String,
    /// Police present.
    pub police_presence: bool,
    /// Free comment (no names).
    pub comment: String,
}

/// A new observation.
#[derive(Clone, Debug)]
pub struct NewObservation {
    /// Site.
    pub site: SiteId,
    /// When.
    pub observed_at: Timestamp,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Team.
    pub team: Option<TeamId>,
    /// Round.
    pub round: Option<RoundId>,
    /// Author.
    pub author: UserId,
    /// Counts.
    pub figures: Figures,
    /// Ratings in [`CONDITIONS`] order.
    pub conditions: [String; 6],
    /// Atmosphere.
    pub atmosphere: String,
    /// Police present.
    pub police_presence: bool,
    /// Comment.
    pub comment: String,
}

/// The columns of an observation, prefixed by the table alias `o`.
const OBS_COLUMNS: &str = "o.id, o.site_id, o.observed_at, o.organisation_id, o.team_id, o.round_id, o.author_id, o.people, o.men, o.women, o.minors_0_3, o.minors_3_6, \
    o.minors_6_12, o.minors_12_16, o.minors_16_18, o.tents, o.huts, o.vehicles, o.material_collected, o.material_found, o.water, o.toilets, o.electricity, o.waste, \
    o.fire_risk, o.rodents, o.overall, o.atmosphere, o.police_presence, o.comment";

fn obs_from_row(r: &sqlx::any::AnyRow) -> Result<Observation> {
    let g = |c: &str| -> Result<i64> { Ok(r.try_get(c)?) };
    Ok(Observation {
        id: r.try_get("id")?,
        site: r.try_get("site_id")?,
        observed_at: Timestamp::from_micros(r.try_get("observed_at")?),
        organisation: r.try_get("organisation_id")?,
        team: r.try_get("team_id")?,
        round: r.try_get("round_id")?,
        author: r.try_get("author_id")?,
        figures: Figures {
            people: g("people")?,
            men: g("men")?,
            women: g("women")?,
            minors_0_3: g("minors_0_3")?,
            minors_3_6: g("minors_3_6")?,
            minors_6_12: g("minors_6_12")?,
            minors_12_16: g("minors_12_16")?,
            minors_16_18: g("minors_16_18")?,
            tents: g("tents")?,
            huts: g("huts")?,
            vehicles: g("vehicles")?,
            material_collected: g("material_collected")?,
            material_found: g("material_found")?,
        },
        conditions: CONDITIONS.iter().map(|c| Ok((c.to_string(), r.try_get::<String, _>(*c)?))).collect::<Result<_>>()?,
        overall: r.try_get("overall")?,
        atmosphere: r.try_get("atmosphere")?,
        police_presence: r.try_get::<i64, _>("police_presence")? != 0,
        comment: r.try_get("comment")?,
    })
}

/// Records an observation (its history line on the site is the caller's).
pub async fn add_observation(tx: &mut Tx, o: &NewObservation, now: Timestamp) -> Result<ObservationId> {
    let id = ObservationId::new();
    let f = &o.figures;
    let ratings: Vec<&str> = o.conditions.iter().map(String::as_str).collect();
    let columns = OBS_COLUMNS.replace("o.", "");
    sqlx::query(&format!(
        "INSERT INTO site_observations ({columns}, recorded_at) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)"
    ))
    .bind(id)
    .bind(o.site)
    .bind(o.observed_at.as_micros())
    .bind(o.organisation)
    .bind(o.team)
    .bind(o.round)
    .bind(o.author)
    .bind(f.people)
    .bind(f.men)
    .bind(f.women)
    .bind(f.minors_0_3)
    .bind(f.minors_3_6)
    .bind(f.minors_6_12)
    .bind(f.minors_12_16)
    .bind(f.minors_16_18)
    .bind(f.tents)
    .bind(f.huts)
    .bind(f.vehicles)
    .bind(f.material_collected)
    .bind(f.material_found)
    .bind(&o.conditions[0])
    .bind(&o.conditions[1])
    .bind(&o.conditions[2])
    .bind(&o.conditions[3])
    .bind(&o.conditions[4])
    .bind(&o.conditions[5])
    .bind(overall_state(&ratings))
    .bind(&o.atmosphere)
    .bind(b(o.police_presence))
    .bind(&o.comment)
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE sites SET updated_at = $1 WHERE id = $2").bind(now.as_micros()).bind(o.site).execute(&mut **tx).await?;
    Ok(id)
}

async fn observations_where(db: &Db, scope: &Scope, column: &str, value: String) -> Result<Vec<Observation>> {
    let mut p = Params::new();
    let me = p.push(value);
    let readable = scope.sites(TERRITORY_COLUMN, &mut p);
    let sql = format!(
        "SELECT {OBS_COLUMNS} FROM site_observations o JOIN sites s ON s.id = o.site_id WHERE o.{column} = {me} AND {readable} ORDER BY o.observed_at, o.id"
    );
    let rows = p.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    rows.iter().map(obs_from_row).collect()
}

/// Observations of a site `scope` reads, oldest first (none otherwise).
pub async fn observations(db: &Db, scope: &Scope, site: SiteId) -> Result<Vec<Observation>> {
    observations_where(db, scope, "site_id", site.to_string()).await
}

/// Observations made on a round, of the sites `scope` reads, oldest first.
pub async fn observations_of_round(db: &Db, scope: &Scope, round: RoundId) -> Result<Vec<Observation>> {
    observations_where(db, scope, "round_id", round.to_string()).await
}

/// The rows `sql(list, readable)` returns for these sites, 200 at a time:
/// `list` is the placeholders of a chunk's ids, `readable` the scope's
/// condition on `sites s`.
async fn rows_of_sites(db: &Db, scope: &Scope, sites: &[SiteId], sql: impl Fn(&str, &str) -> String) -> Result<Vec<sqlx::any::AnyRow>> {
    let mut out = Vec::new();
    for chunk in sites.chunks(200) {
        let mut p = Params::new();
        let list = crate::people::push_ids(&mut p, chunk);
        let readable = scope.sites(TERRITORY_COLUMN, &mut p);
        out.extend(p.bind(sqlx::query(&sql(&list, &readable))).fetch_all(db.pool()).await?);
    }
    Ok(out)
}

/// The latest observation of each of these sites (those `scope` reads).
pub async fn latest_observations(db: &Db, scope: &Scope, sites: &[SiteId]) -> Result<std::collections::HashMap<SiteId, Observation>> {
    let rows = rows_of_sites(db, scope, sites, |list, readable| {
        format!(
            "SELECT {OBS_COLUMNS} FROM site_observations o JOIN sites s ON s.id = o.site_id WHERE o.site_id IN ({list}) AND {readable} AND NOT EXISTS (\
               SELECT 1 FROM site_observations n WHERE n.site_id = o.site_id AND (n.observed_at > o.observed_at OR (n.observed_at = o.observed_at AND n.id > o.id)))"
        )
    })
    .await?;
    rows.iter().map(|r| obs_from_row(r).map(|o| (o.site, o))).collect()
}

/// The last instant each of these sites (those `scope` reads) was seen by a
/// team: its last observation, its last "confirmed unchanged", or a visited
/// round stop (of any organisation: sites are a shared register) — whichever
/// is latest. Sites never seen are absent.
pub async fn last_seen(db: &Db, scope: &Scope, sites: &[SiteId]) -> Result<std::collections::HashMap<SiteId, Timestamp>> {
    let rows = rows_of_sites(db, scope, sites, |list, readable| {
        format!(
            "SELECT seen.site_id, MAX(seen.at) AS at FROM (\
               SELECT site_id, observed_at AS at FROM site_observations WHERE site_id IN ({list}) \
               UNION ALL SELECT id AS site_id, last_checked_at AS at FROM sites WHERE id IN ({list}) AND last_checked_at IS NOT NULL \
               UNION ALL SELECT site_id, visited_at AS at FROM round_stops WHERE site_id IN ({list}) AND visited_at IS NOT NULL\
             ) seen JOIN sites s ON s.id = seen.site_id WHERE {readable} GROUP BY seen.site_id"
        )
    })
    .await?;
    let mut out = std::collections::HashMap::new();
    for r in rows {
        let id: SiteId = r.try_get("site_id")?;
        if let Some(at) = r.try_get::<Option<i64>, _>("at")? {
            out.insert(id, Timestamp::from_micros(at));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overall_state_is_the_worst_known_rating() {
        assert_eq!(overall_state(&["good", "unknown", "poor"]), "poor");
        assert_eq!(overall_state(&["good", "bad", "poor"]), "bad");
        assert_eq!(overall_state(&["good", "good"]), "good");
        assert_eq!(overall_state(&["unknown", "unknown"]), "unknown");
        assert_eq!(overall_state(&[]), "unknown");
    }
}
