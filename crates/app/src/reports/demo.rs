//! Demo signalements: a routing table for the demo teams and a few synthetic
//! reports in various states. Every text is visibly invented (« démo »); no
//! real place is described beyond a street-level point in Paris.

use veille_domain::records::RecordKind;
use veille_domain::reports::{Channel, Outcome, Source, Status};
use veille_domain::triage::Observation;
use veille_domain::{TeamId, Timestamp};
use veille_geo::{LonLat, TerritoryIndex};
use veille_storage::reports::{self, NewReport};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{teams, territories, Db};

/// (lat, lon, situations, flags, adults, children, tents, description, status, hours ago)
type DemoReport = (f64, f64, &'static [&'static str], &'static [&'static str], i64, i64, i64, &'static str, Status, i64);
const REPORTS: &[DemoReport] = &[
    (48.8868, 2.3594, &["camp"], &[], 6, 0, 5, "Démo : campement de cinq tentes sous le métro aérien.", Status::Assigned, 2),
    (48.8890, 2.3670, &["drug_use"], &[], 8, 0, 0, "Démo : consommation à ciel ouvert et matériel d'injection usagé près du square.", Status::InProgress, 30),
    (
        48.8830,
        2.3490,
        &["family_with_children"],
        &["pregnant_woman"],
        2,
        2,
        0,
        "Démo : une famille avec deux enfants dort devant une école.",
        Status::Qualified,
        5,
    ),
    (48.8846, 2.3810, &["person_in_distress"], &["great_vulnerability"], 1, 0, 0, "Démo : un homme seul allongé, il ne répond pas bien.", Status::Received, 1),
    (48.8785, 2.3700, &["squat"], &[], 10, 0, 0, "Démo : immeuble vide occupé, entrée par la cour.", Status::Answered, 120),
    (48.8902, 2.3550, &["nuisance"], &[], 3, 0, 0, "Démo : regroupement bruyant la nuit au pied de l'immeuble.", Status::Received, 96),
    (48.8720, 2.3620, &["minors"], &[], 0, 3, 0, "Démo : trois jeunes qui semblent mineurs, seuls, près de la gare.", Status::Assigned, 3),
    (48.8350, 2.4200, &["camp"], &["municipal_land"], 4, 0, 3, "Démo : trois tentes dans le bois, sur un terrain de la ville.", Status::Closed, 300),
];

/// Loads the demo routing table and reports (after the organisations, teams
/// and territories of the demo).
pub async fn load(db: &Db, now: Timestamp) -> anyhow::Result<()> {
    let list = territories::list(db).await?;
    let mut items = Vec::new();
    for t in &list {
        items.push((t.id, veille_geo::geometry_from_geojson(&t.geometry)?));
    }
    let index = TerritoryIndex::new(items);
    let all_teams = teams::list(db, None).await?;
    let team =
        |name: &str| -> anyhow::Result<TeamId> { all_teams.iter().find(|t| t.name == name).map(|t| t.id).ok_or_else(|| anyhow::anyhow!("demo team {name}")) };
    let code = |c: &str| list.iter().find(|t| t.code == c).map(|t| t.id);
    let mut tx = db.begin().await?;
    // Level 2 → the social emergency mission's team; in the 18th and 19th,
    // level 1 → the evening round, drug use → the mediation team.
    reports::add_routing_rule(&mut tx, None, None, Some(2), team("Coordination niveau 2")?, now).await?;
    for c in ["75118", "75119"] {
        reports::add_routing_rule(&mut tx, code(c), None, Some(1), team("Maraude du soir 18e-19e")?, now).await?;
        reports::add_routing_rule(&mut tx, code(c), Some("drug_use"), Some(1), team("Médiation Chapelle – Éole")?, now).await?;
    }
    tx.commit().await?;
    let rules = reports::routing_rules(db).await?;
    let coordinating = veille_storage::organisations::list(db).await?.into_iter().find(|o| o.coordinating).map(|o| o.id);
    for (i, (lat, lon, situations, flags, adults, children, tents, description, status, hours)) in REPORTS.iter().enumerate() {
        let at = now.plus_seconds(-hours * 3600);
        let point = LonLat::new(*lon, *lat).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let territory = index.locate(point).copied();
        let situations: Vec<String> = situations.iter().map(|s| s.to_string()).collect();
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        let t = super::rules().triage(&Observation {
            situations: situations.clone(),
            flags: flags.clone(),
            adults: *adults as u32,
            children: *children as u32,
            tents: *tents as u32,
            earlier_reports_nearby: 0,
        });
        let level = i64::from(t.level);
        let team = territory.and_then(|tid| veille_domain::reports::route(&rules, Some(tid), &situations, level));
        let organisation = match team {
            Some(id) => Some(teams::get(db, id).await?.organisation),
            None => coordinating,
        };
        let new = NewReport {
            reference: format!("S-DEMO-{:04}", i + 1),
            token_hash: crate::security::token_hash(&crate::security::random_token()),
            source: [
                Source::Riverain,
                Source::Commercant,
                Source::MairieArrondissement,
                Source::Public,
                Source::GardienBailleur,
                Source::Association,
                Source::SamuSocial115,
                Source::Elu,
            ][i % 8],
            channel: if i % 2 == 0 { Channel::Web } else { Channel::Phone },
            lon: Some(*lon),
            lat: Some(*lat),
            address: String::new(),
            territory,
            situations,
            seen: flags,
            adults: *adults,
            children: *children,
            tents: *tents,
            description: (*description).into(),
            reporter_name: None,
            contact_email: None,
            contact_phone: None,
            contact_consent: false,
            email_confirm_hash: None,
            email_confirmed: false,
            acknowledged: *status != Status::Received,
            site_id: None,
            level,
            reasons: t.reasons,
            status: if *status == Status::Closed { Status::Answered } else { *status },
            organisation,
            triage_organisation: coordinating,
            team,
        };
        let mut tx = db.begin().await?;
        let id = reports::create(&mut tx, &new, at).await?;
        timeline::append(&mut tx, &NewEvent::new(RecordKind::Report, id, at, None, "created").change(None, Some(new.status.code()))).await?;
        if *status == Status::Closed {
            reports::set_status(&mut tx, id, Status::Closed, Some(Outcome::Oriented), 1, at).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
