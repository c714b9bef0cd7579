//! Sites (lieux de vie): the place, its dated observations, its history
//! (status changes, confirmations, logbook entries) and, once closed, where
//! its people went.

use sqlx::Row;
use veille_domain::{ObservationId, OrganisationId, RoundId, SiteId, TeamId, TerritoryId, Timestamp, UserId};

use crate::db::{b, claim, Versioned, instant as ts, parse_opt as parse, parse_req as req, Db, Tx};
use crate::error::{Result, ResultExt, StorageError};

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

const COLUMNS: &str = "id, organisation_id, name, kind, lon, lat, outline, address, territory_id, land_owner, status, heatwave, closed_at, closure_reason, last_checked_at, created_at, version";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Site> {
    Ok(Site {
        id: req(r.try_get("id")?, "sites.id")?,
        organisation: req(r.try_get("organisation_id")?, "sites.organisation_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        outline: r.try_get("outline")?,
        address: r.try_get("address")?,
        territory: parse(r.try_get("territory_id")?, "sites.territory_id")?,
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

/// Records a new site and its first history entry.
pub async fn create(tx: &mut Tx, new: &NewSite, by: UserId, now: Timestamp) -> Result<SiteId> {
    let id = SiteId::new();
    sqlx::query(
        "INSERT INTO sites (id, organisation_id, name, kind, lon, lat, outline, address, territory_id, land_owner, status, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, $12, $12)",
    )
    .bind(id.to_string())
    .bind(new.organisation.to_string())
    .bind(&new.name)
    .bind(&new.kind)
    .bind(new.lon)
    .bind(new.lat)
    .bind(new.outline.clone())
    .bind(&new.address)
    .bind(new.territory.map(|t| t.to_string()))
    .bind(&new.land_owner)
    .bind(by.to_string())
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await
    .classify()?;
    add_event(tx, id, now, Some(by), Some(new.organisation), "created", None, Some("active"), "").await?;
    Ok(id)
}

/// One site.
pub async fn get(db: &Db, id: SiteId) -> Result<Site> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sites WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// Every site (callers keep those the actor may read), by name.
pub async fn list(db: &Db) -> Result<Vec<Site>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM sites ORDER BY name, id")).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}


/// Corrects the place itself: name, kind, point (and so territory), address, land owner.
pub async fn update_place(tx: &mut Tx, site: &Site, place: &NewSite, by: UserId, org: OrganisationId, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET name = $1, kind = $2, lon = $3, lat = $4, territory_id = $5, address = $6, land_owner = $7 WHERE id = $8")
        .bind(&place.name)
        .bind(&place.kind)
        .bind(place.lon)
        .bind(place.lat)
        .bind(place.territory.map(|t| t.to_string()))
        .bind(&place.address)
        .bind(&place.land_owner)
        .bind(site.id.to_string())
        .execute(&mut **tx)
        .await?;
    add_event(tx, site.id, now, Some(by), Some(org), "edited", None, None, "").await
}

/// Raises or lowers the heatwave / great-cold watch of a site.
pub async fn set_heatwave(tx: &mut Tx, site: &Site, on: bool, by: UserId, org: OrganisationId, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET heatwave = $1 WHERE id = $2").bind(b(on)).bind(site.id.to_string()).execute(&mut **tx).await?;
    let state = |v: bool| if v { "on" } else { "off" };
    add_event(tx, site.id, now, Some(by), Some(org), "heatwave", Some(state(site.heatwave)), Some(state(on)), "").await
}

/// "Confirmed unchanged": dates the last check without a new observation.
pub async fn confirm_unchanged(tx: &mut Tx, site: &Site, by: UserId, org: OrganisationId, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET last_checked_at = $1 WHERE id = $2").bind(now.as_micros()).bind(site.id.to_string()).execute(&mut **tx).await?;
    add_event(tx, site.id, now, Some(by), Some(org), "confirmed", None, None, "").await
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
#[allow(clippy::too_many_arguments)]
pub async fn close(tx: &mut Tx, site: &Site, reason: &str, destinations: &[(String, i64, Option<SiteId>)], by: UserId, org: OrganisationId, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET status = 'ended', closed_at = $1, closure_reason = $2 WHERE id = $3")
        .bind(now.as_micros())
        .bind(reason)
        .bind(site.id.to_string())
        .execute(&mut **tx)
        .await?;
    for (destination, people, to_site) in destinations {
        sqlx::query("INSERT INTO site_destinations (id, site_id, destination, people, to_site_id, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(site.id.to_string())
            .bind(destination)
            .bind(*people)
            .bind(to_site.map(|s| s.to_string()))
            .bind(now.as_micros())
            .execute(&mut **tx)
            .await?;
    }
    add_event(tx, site.id, now, Some(by), Some(org), "status", Some(&site.status), Some("ended"), reason).await
}

/// Reopens a closed site (people came back).
pub async fn reopen(tx: &mut Tx, site: &Site, by: UserId, org: OrganisationId, version: i64, now: Timestamp) -> Result<()> {
    claim(tx, Versioned::Sites, site.id, version, now).await?;
    sqlx::query("UPDATE sites SET status = 'active', closed_at = NULL, closure_reason = NULL WHERE id = $1").bind(site.id.to_string()).execute(&mut **tx).await?;
    add_event(tx, site.id, now, Some(by), Some(org), "status", Some(&site.status), Some("active"), "").await
}

/// Where the people of `site` went, and the closures of other sites whose
/// people came to it: `(left, arrived)`.
pub async fn moves(db: &Db, site: SiteId) -> Result<(Vec<Destination>, Vec<Destination>)> {
    let q = |col: &str| format!("SELECT site_id, destination, people, to_site_id, at FROM site_destinations WHERE {col} = $1 ORDER BY at, id");
    let map = |r: &sqlx::any::AnyRow| -> Result<Destination> {
        Ok(Destination {
            site: req(r.try_get("site_id")?, "site_destinations.site_id")?,
            destination: r.try_get("destination")?,
            people: r.try_get("people")?,
            to_site: parse(r.try_get("to_site_id")?, "site_destinations.to_site_id")?,
            at: Timestamp::from_micros(r.try_get("at")?),
        })
    };
    let left = sqlx::query(&q("site_id")).bind(site.to_string()).fetch_all(db.pool()).await?.iter().map(map).collect::<Result<_>>()?;
    let arrived = sqlx::query(&q("to_site_id")).bind(site.to_string()).fetch_all(db.pool()).await?.iter().map(map).collect::<Result<_>>()?;
    Ok((left, arrived))
}

/// Adds a history entry.
#[allow(clippy::too_many_arguments)]
pub async fn add_event(tx: &mut Tx, site: SiteId, at: Timestamp, by: Option<UserId>, org: Option<OrganisationId>, kind: &str, from: Option<&str>, to: Option<&str>, body: &str) -> Result<()> {
    let actor = match (by, org) {
        (Some(u), Some(o)) => Some((u, o)),
        (Some(u), None) => Some((u, crate::accounts::organisation_of(tx, u).await?)),
        _ => None,
    };
    crate::timeline::append(tx, &crate::timeline::NewEvent::new(veille_domain::records::RecordKind::Site, site, at, actor, kind).change(from, to).detail(body)).await
}

/// The history of a site, oldest first.
pub async fn events(db: &Db, site: SiteId) -> Result<Vec<crate::timeline::Event>> {
    crate::timeline::of(db, veille_domain::records::RecordKind::Site, site).await
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

const OBS_COLUMNS: &str = "id, site_id, observed_at, organisation_id, team_id, round_id, author_id, people, men, women, minors_0_3, minors_3_6, minors_6_12, minors_12_16, minors_16_18, \
    tents, huts, vehicles, material_collected, material_found, water, toilets, electricity, waste, fire_risk, rodents, overall, atmosphere, police_presence, comment";

fn obs_from_row(r: &sqlx::any::AnyRow) -> Result<Observation> {
    let g = |c: &str| -> Result<i64> { Ok(r.try_get(c)?) };
    Ok(Observation {
        id: req(r.try_get("id")?, "site_observations.id")?,
        site: req(r.try_get("site_id")?, "site_observations.site_id")?,
        observed_at: Timestamp::from_micros(r.try_get("observed_at")?),
        organisation: req(r.try_get("organisation_id")?, "site_observations.organisation_id")?,
        team: parse(r.try_get("team_id")?, "site_observations.team_id")?,
        round: parse(r.try_get("round_id")?, "site_observations.round_id")?,
        author: parse(r.try_get("author_id")?, "site_observations.author_id")?,
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

/// Records an observation (and its history line on the site).
pub async fn add_observation(tx: &mut Tx, o: &NewObservation, now: Timestamp) -> Result<ObservationId> {
    let id = ObservationId::new();
    let f = &o.figures;
    let ratings: Vec<&str> = o.conditions.iter().map(String::as_str).collect();
    sqlx::query(&format!(
        "INSERT INTO site_observations ({OBS_COLUMNS}, recorded_at) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)"
    ))
    .bind(id.to_string())
    .bind(o.site.to_string())
    .bind(o.observed_at.as_micros())
    .bind(o.organisation.to_string())
    .bind(o.team.map(|t| t.to_string()))
    .bind(o.round.map(|r| r.to_string()))
    .bind(o.author.to_string())
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
    sqlx::query("UPDATE sites SET updated_at = $1 WHERE id = $2").bind(now.as_micros()).bind(o.site.to_string()).execute(&mut **tx).await?;
    add_event(tx, o.site, now, Some(o.author), Some(o.organisation), "observed", None, None, "").await?;
    Ok(id)
}

/// Observations of a site, oldest first.
pub async fn observations(db: &Db, site: SiteId) -> Result<Vec<Observation>> {
    let rows = sqlx::query(&format!("SELECT {OBS_COLUMNS} FROM site_observations WHERE site_id = $1 ORDER BY observed_at, id"))
        .bind(site.to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(obs_from_row).collect()
}

/// Observations made on a round, oldest first.
pub async fn observations_of_round(db: &Db, round: RoundId) -> Result<Vec<Observation>> {
    let rows = sqlx::query(&format!("SELECT {OBS_COLUMNS} FROM site_observations WHERE round_id = $1 ORDER BY observed_at, id"))
        .bind(round.to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(obs_from_row).collect()
}

/// The last instant each site was seen by a team: its last observation, its
/// last "confirmed unchanged", or a visited round stop — whichever is latest.
pub async fn last_seen(db: &Db) -> Result<std::collections::HashMap<SiteId, Timestamp>> {
    let rows = sqlx::query(
        "SELECT site_id, MAX(at) AS at FROM (\
           SELECT site_id, observed_at AS at FROM site_observations \
           UNION ALL SELECT id AS site_id, last_checked_at AS at FROM sites WHERE last_checked_at IS NOT NULL \
           UNION ALL SELECT site_id, visited_at AS at FROM round_stops WHERE site_id IS NOT NULL AND visited_at IS NOT NULL\
         ) seen GROUP BY site_id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out = std::collections::HashMap::new();
    for r in rows {
        let id: String = r.try_get("site_id")?;
        let at: Option<i64> = r.try_get("at")?;
        if let (Ok(id), Some(at)) = (id.parse(), at) {
            out.insert(id, Timestamp::from_micros(at));
        }
    }
    Ok(out)
}

/// The latest observation of a site.
pub async fn last_observation(db: &Db, site: SiteId) -> Result<Option<Observation>> {
    let row = sqlx::query(&format!("SELECT {OBS_COLUMNS} FROM site_observations WHERE site_id = $1 ORDER BY observed_at DESC, id DESC LIMIT 1"))
        .bind(site.to_string())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(obs_from_row).transpose()
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
