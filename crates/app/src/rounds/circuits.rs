//! Circuits: the ordered stops (sites or named points) of a team's maraude.
//! Part of the shared schedule: read by every organisation that goes out,
//! changed by the coordinators of the team's organisation.

use veille_domain::{Action, CircuitId, SiteId};
use veille_storage::rounds::{self, Circuit, CircuitStop};
use veille_storage::sites::Site;
use veille_storage::{audit, organisations, teams};

use super::{schedule_gate, schedule_resource};
use crate::error::{found, Result};
use crate::{App, Caller, FieldErrors, Lang};

/// A new circuit, as the form sends it.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CircuitInput {
    /// Team (of the caller's organisation).
    pub team_id: String,
    /// Name.
    pub name: String,
}

/// Checks and creates a circuit, audited; a name the team already uses is a field error.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create_circuit(app: &App, who: &Caller, lang: Lang, input: &CircuitInput) -> Result<Result<CircuitId, FieldErrors>> {
    schedule_gate(who)?;
    who.require(Action::Create, &schedule_resource(who.account.organisation))?;
    let mut errors = FieldErrors::new();
    let team = super::own_team(app, who, &input.team_id).await?;
    if team.is_none() {
        errors.add("team_id", lang.t("form.choose_one"));
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        errors.add("name", lang.t("round.error.circuit_name"));
    }
    let Some(team) = team.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = match rounds::create_circuit(&mut tx, team.organisation, team.id, name, now).await {
        Ok(id) => id,
        Err(e) if e.is_conflict_on("circuits") || e.is_conflict_on("name") => {
            errors.add("name", lang.t("round.error.circuit_taken"));
            return Ok(Err(errors));
        }
        Err(e) => return Err(e.into()),
    };
    audit::append(&mut tx, who.audit_entry(now, "create", "circuit", id, team.organisation).with_detail(serde_json::json!({"team": team.id.to_string()})))
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// A stop to add to a circuit, as the form sends it: a site, or a named point.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct StopInput {
    /// A site the account reads.
    pub site_id: String,
    /// The label of a point stop.
    pub label: String,
    /// Latitude of a point stop.
    pub lat: String,
    /// Longitude of a point stop.
    pub lon: String,
}

/// Checks and adds a stop at the end of a circuit, audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_stop(app: &App, who: &Caller, lang: Lang, circuit: &Circuit, input: &StopInput) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Update, &schedule_resource(circuit.organisation))?;
    let mut errors = FieldErrors::new();
    let (site, label, point) = if !input.site_id.is_empty() {
        match found(crate::sites::load_site(app, who, &input.site_id, Action::Read).await)? {
            Some((s, _)) => (Some(s.id), String::new(), None),
            None => {
                errors.add("site_id", lang.t("form.choose_one"));
                (None, String::new(), None)
            }
        }
    } else {
        let label = input.label.trim().to_owned();
        if label.is_empty() || label.chars().count() > 120 {
            errors.add("label", lang.t("round.error.stop_label"));
        }
        let p = match (crate::sites::coordinate(&input.lon), crate::sites::coordinate(&input.lat)) {
            (Some(lon), Some(lat)) => veille_geo::LonLat::new(lon, lat).ok().map(|p| (p.lon, p.lat)),
            _ => None,
        };
        if p.is_none() {
            errors.add("lat", lang.t("site.error.point"));
        }
        (None, label, p)
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    rounds::add_circuit_stop(&mut tx, circuit.id, site, &label, point, now).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "update", "circuit", circuit.id, circuit.organisation)
            .with_detail(serde_json::json!({"field": "stop_added", "site": site.map(|s| s.to_string())})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Removes a stop of a circuit (the stops after it move up), audited; an
/// unknown stop changes nothing.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn remove_stop(app: &App, who: &Caller, circuit: &Circuit, stop: &str) -> Result<()> {
    who.require(Action::Update, &schedule_resource(circuit.organisation))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if rounds::remove_circuit_stop(&mut tx, circuit.id, stop, now).await? {
        audit::append(
            &mut tx,
            who.audit_entry(now, "update", "circuit", circuit.id, circuit.organisation).with_detail(serde_json::json!({"field": "stop_removed"})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A circuit as the list shows it.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The circuit.
    pub circuit: Circuit,
    /// Its team's name.
    pub team: String,
    /// Its organisation's name.
    pub organisation: String,
    /// How many stops.
    pub stops: usize,
}

/// The circuits the account reads, by name.
pub async fn list(app: &App, who: &Caller) -> Result<Vec<Listed>> {
    schedule_gate(who)?;
    let all_teams = teams::list(&app.db, None).await?;
    let orgs = organisations::list(&app.db).await?;
    let mut out = Vec::new();
    for c in rounds::circuits(&app.db).await? {
        if !who.can(Action::Read, &schedule_resource(c.organisation)).allowed {
            continue;
        }
        out.push(Listed {
            team: all_teams.iter().find(|t| t.id == c.team).map(|t| t.name.clone()).unwrap_or_default(),
            organisation: orgs.iter().find(|o| o.id == c.organisation).map(|o| o.name.clone()).unwrap_or_default(),
            stops: rounds::circuit_stops(&app.db, c.id).await?.len(),
            circuit: c,
        });
    }
    Ok(out)
}

/// The circuits the account reads with their ordered stops (the JSON API).
pub async fn with_stops(app: &App, who: &Caller) -> Result<Vec<(Circuit, Vec<CircuitStop>)>> {
    schedule_gate(who)?;
    let mut out = Vec::new();
    for c in rounds::circuits(&app.db).await? {
        if !who.can(Action::Read, &schedule_resource(c.organisation)).allowed {
            continue;
        }
        let stops = rounds::circuit_stops(&app.db, c.id).await?;
        out.push((c, stops));
    }
    Ok(out)
}

/// A stop as the circuit page shows it.
#[derive(Clone, Debug)]
pub struct StopLine {
    /// The stop.
    pub stop: CircuitStop,
    /// The site's name, or the point's label.
    pub name: String,
    /// The site, when the account reads it.
    pub site: Option<SiteId>,
    /// Latitude (of the site, or the point).
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

/// The stops of a circuit with the names and places of their sites (sites
/// the account may not read show as a point without a name).
pub fn stop_lines(stops: Vec<CircuitStop>, readable: &[Site]) -> Vec<StopLine> {
    stops
        .into_iter()
        .map(|s| {
            let site = s.site.and_then(|id| readable.iter().find(|x| x.id == id));
            StopLine {
                name: site.map(|x| x.name.clone()).unwrap_or_else(|| s.label.clone()),
                site: site.map(|x| x.id),
                lat: site.map(|x| x.lat).or(s.lat),
                lon: site.map(|x| x.lon).or(s.lon),
                stop: s,
            }
        })
        .collect()
}

/// What a circuit page shows.
#[derive(Clone, Debug)]
pub struct Detail {
    /// Its team's name.
    pub team: String,
    /// Its stops, in order.
    pub stops: Vec<StopLine>,
    /// The active sites the account reads (to add as stops).
    pub sites: Vec<Site>,
    /// Whether the account may change it.
    pub can_edit: bool,
}

/// What the page of a circuit the account reads shows.
pub async fn detail(app: &App, who: &Caller, circuit: &Circuit) -> Result<Detail> {
    let readable = crate::sites::readable_sites(app, who).await?;
    let stops = stop_lines(rounds::circuit_stops(&app.db, circuit.id).await?, &readable);
    Ok(Detail {
        team: teams::get(&app.db, circuit.team).await?.name,
        stops,
        sites: readable.into_iter().filter(|s| s.status == "active").collect(),
        can_edit: who.can(Action::Update, &schedule_resource(circuit.organisation)).allowed,
    })
}

/// Whether the account may create circuits (a coordinator of an organisation with teams).
pub async fn can_create(app: &App, who: &Caller) -> Result<bool> {
    Ok(who.can(Action::Create, &schedule_resource(who.account.organisation)).allowed && !super::own_teams(app, who).await?.is_empty())
}
