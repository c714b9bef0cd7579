//! Demo data of sites and maraudes: invented places in the north-east of
//! Paris with a few weeks of observations, distribution catalogues, circuits,
//! a shared weekly schedule across the demo organisations, and a round of the
//! evening team planned today. Synthetic only: every name says "(démo)".

use veille_domain::records::RecordKind;
use veille_domain::{EmailAddress, OrganisationId, Timestamp, UserId};
use veille_storage::accounts;
use veille_storage::rounds::{self, NewRound, NewSlot, NewStop};
use veille_storage::sites::{self, Figures, NewObservation, NewSite};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{organisations, teams, territories, Db};

/// (name, kind, territory code, lon, lat, land owner, observations: (days ago, people, women, minors, tents)).
type DemoSite = (&'static str, &'static str, &'static str, f64, f64, &'static str, &'static [(i64, i64, i64, i64, i64)]);

const SITES: &[DemoSite] = &[
    (
        "Campement du quai fictif (démo)",
        "camp",
        "75119",
        2.3745,
        48.8872,
        "municipal",
        &[(40, 12, 3, 2, 8), (26, 15, 4, 3, 10), (12, 19, 5, 4, 13), (3, 22, 6, 4, 15)],
    ),
    (
        "Scène de consommation de la rotonde (démo)",
        "drug_scene",
        "75119",
        2.3700,
        48.8840,
        "municipal",
        &[(20, 35, 6, 0, 0), (9, 42, 8, 0, 0), (1, 30, 5, 0, 0)],
    ),
    ("Squat de la rue Imaginaire (démo)", "squat", "75118", 2.3600, 48.8930, "private", &[(45, 18, 7, 6, 0), (35, 20, 8, 7, 0)]),
    ("Regroupement porte nord (démo)", "gathering_place", "75118", 2.3590, 48.8990, "state", &[(10, 9, 1, 0, 3)]),
    ("Bidonville du talus inventé (démo)", "slum", "75119", 2.3950, 48.8960, "state", &[]),
];

/// Loads the demo sites and maraudes; the demo organisations, accounts and
/// teams are there already.
pub async fn load(db: &Db, now: Timestamp) -> anyhow::Result<()> {
    let orgs = organisations::list(db).await?;
    let org = |prefix: &str| orgs.iter().find(|o| o.name.starts_with(prefix)).map(|o| o.id).ok_or_else(|| anyhow::anyhow!("demo organisation {prefix}"));
    let all_teams = teams::list(db, None).await?;
    let team = |prefix: &str| all_teams.iter().find(|t| t.name.starts_with(prefix)).cloned().ok_or_else(|| anyhow::anyhow!("demo team {prefix}"));
    let terrain = accounts::by_email(db, &EmailAddress::parse("terrain@demo.veille.invalid").map_err(|e| anyhow::anyhow!("{e}"))?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo field worker"))?;
    let coordination: UserId = accounts::by_email(db, &EmailAddress::parse("coordination@demo.veille.invalid").map_err(|e| anyhow::anyhow!("{e}"))?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo coordinator"))?
        .id;
    let mus = org("Mission")?;
    let evening = team("Maraude du soir")?;
    let rdr = team("Maraude RdR")?;
    let mediation = team("Médiation")?;
    let health = team("Équipe mobile")?;

    let mut tx = db.begin().await?;
    // Catalogues.
    let mut orgs_with_items: Vec<OrganisationId> = vec![evening.organisation, rdr.organisation, mediation.organisation, health.organisation, mus];
    orgs_with_items.dedup();
    for o in orgs_with_items {
        for (name, category, unit) in rounds::DEFAULT_ITEMS {
            rounds::create_item(&mut tx, o, name, category, unit, now).await?;
        }
    }
    // Sites and their observations.
    let mut site_ids = Vec::new();
    for (name, kind, code, lon, lat, owner, observations) in SITES {
        let territory = territories::id_by_code(db, code).await?;
        let created = now.plus_seconds(-50 * 86_400);
        let id = sites::create(
            &mut tx,
            &NewSite {
                organisation: evening.organisation,
                name: (*name).into(),
                kind: (*kind).into(),
                lon: *lon,
                lat: *lat,
                outline: None,
                address: String::new(),
                territory,
                land_owner: (*owner).into(),
            },
            terrain.id,
            created,
        )
        .await?;
        timeline::append(
            &mut tx,
            &NewEvent::new(RecordKind::Site, id, created, Some((terrain.id, evening.organisation)), "created").change(None, Some("active")),
        )
        .await?;
        for (days, people, women, minors, tents) in observations.iter() {
            let by_rdr = *kind == "drug_scene";
            let figures = Figures {
                people: *people,
                women: *women,
                men: people - women - minors,
                minors_6_12: *minors / 2,
                minors_12_16: minors - minors / 2,
                tents: *tents,
                material_collected: if by_rdr { people * 2 } else { 0 },
                material_found: if by_rdr { people / 3 } else { 0 },
                ..Default::default()
            };
            let o = NewObservation {
                site: id,
                observed_at: now.plus_seconds(-days * 86_400),
                organisation: if by_rdr { rdr.organisation } else { evening.organisation },
                team: Some(if by_rdr { rdr.id } else { evening.id }),
                round: None,
                author: terrain.id,
                figures,
                conditions: [
                    "poor".into(),
                    "bad".into(),
                    "unknown".into(),
                    "poor".into(),
                    if *tents > 10 { "bad".into() } else { "poor".into() },
                    "unknown".into(),
                ],
                atmosphere: if by_rdr { "tense".into() } else { "calm".into() },
                police_presence: by_rdr && *days < 10,
                comment: String::new(),
            };
            let at = now.plus_seconds(-days * 86_400);
            sites::add_observation(&mut tx, &o, at).await?;
            timeline::append(&mut tx, &NewEvent::new(RecordKind::Site, id, at, Some((o.author, o.organisation)), "observed")).await?;
        }
        site_ids.push(id);
    }
    // Circuits and the shared weekly schedule of four organisations.
    let evening_circuit = rounds::create_circuit(&mut tx, evening.organisation, evening.id, "Canal et portes (démo)", now).await?;
    for s in [site_ids[0], site_ids[1], site_ids[3]] {
        rounds::add_circuit_stop(&mut tx, evening_circuit, Some(s), "", None, now).await?;
    }
    rounds::add_circuit_stop(&mut tx, evening_circuit, None, "Sortie du métro fictif (démo)", Some((2.3660, 48.8850)), now).await?;
    let rdr_circuit = rounds::create_circuit(&mut tx, rdr.organisation, rdr.id, "Scènes du nord-est (démo)", now).await?;
    for s in [site_ids[1], site_ids[2]] {
        rounds::add_circuit_stop(&mut tx, rdr_circuit, Some(s), "", None, now).await?;
    }
    // The mediation team's circuit: the north gate, the scene of the rotonde and a crossroads with shops.
    let mediation_circuit = rounds::create_circuit(&mut tx, mediation.organisation, mediation.id, "Chapelle – Éole (démo)", now).await?;
    rounds::add_circuit_stop(&mut tx, mediation_circuit, Some(site_ids[3]), "", None, now).await?;
    rounds::add_circuit_stop(&mut tx, mediation_circuit, None, "Carrefour des commerces fictif (démo)", Some((2.3612, 48.8902)), now).await?;
    rounds::add_circuit_stop(&mut tx, mediation_circuit, Some(site_ids[1]), "", None, now).await?;
    let t19 = territories::id_by_code(db, "75119").await?;
    let t18 = territories::id_by_code(db, "75118").await?;
    let slot = |team: &teams::Team, weekday: i64, start: i64, end: i64, territory, circuit, note: &str| NewSlot {
        organisation: team.organisation,
        team: team.id,
        weekday,
        start_minute: start,
        end_minute: end,
        territory,
        circuit,
        note: note.into(),
    };
    let today = i64::from(chrono::Datelike::weekday(&now.paris_date()).number_from_monday());
    let mut evening_today = None;
    for weekday in 1..=7 {
        let id = rounds::create_slot(&mut tx, &slot(&evening, weekday, 20 * 60, 60, t19, Some(evening_circuit), "Départ du local (démo)"), now).await?;
        if weekday == today {
            evening_today = Some(id);
        }
    }
    let (mut mediation_today, mut health_today, mut rdr_today) = (None, None, None);
    for weekday in [1, 3, 5] {
        let r = rounds::create_slot(&mut tx, &slot(&rdr, weekday, 21 * 60, 23 * 60 + 30, t19, Some(rdr_circuit), "Matériel de RdR, naloxone"), now).await?;
        let m = rounds::create_slot(&mut tx, &slot(&mediation, weekday, 9 * 60, 12 * 60, t18, None, "Médiation riverains"), now).await?;
        if weekday == today {
            (rdr_today, mediation_today) = (Some(r), Some(m));
        }
    }
    for weekday in [2, 4] {
        let h = rounds::create_slot(&mut tx, &slot(&health, weekday, 14 * 60, 17 * 60, t18, None, "Soins de premier recours"), now).await?;
        if weekday == today {
            health_today = Some(h);
        }
    }
    tx.commit().await?;
    // Today's round of every team (from its slot when it has one today, else
    // an extra outing at the slot's usual hours), so that each team has
    // something to check in to on the first day of the demo.
    let date = now.plus_seconds(-4 * 3600).paris_date();
    // (team, today's slot, circuit, territory, start and end in minutes of the day)
    let outings = [
        (&evening, evening_today, Some(evening_circuit), t19, 20 * 60, 60),
        (&mediation, mediation_today, Some(mediation_circuit), t18, 9 * 60, 12 * 60),
        (&health, health_today, None, t18, 14 * 60, 17 * 60),
        (&rdr, rdr_today, Some(rdr_circuit), t19, 21 * 60, 23 * 60 + 30),
    ];
    for (team, slot, circuit, territory, start_minute, end_minute) in outings {
        let start = Timestamp::at_paris(date, start_minute).unwrap_or(now);
        let end_date = if end_minute < start_minute { date + chrono::Duration::days(1) } else { date };
        let end = Timestamp::at_paris(end_date, end_minute).unwrap_or(now);
        let mut stops = Vec::new();
        if let Some(c) = circuit {
            stops = rounds::circuit_stops(db, c)
                .await?
                .into_iter()
                .map(|c| NewStop { site: c.site, report: None, label: c.label, point: c.lon.zip(c.lat) })
                .collect();
        }
        let round = NewRound { organisation: team.organisation, team: team.id, circuit, slot, territory, planned_start: start, planned_end: end };
        let mut tx = db.begin().await?;
        rounds::create_round(&mut tx, &round, &stops, coordination, now).await?;
        tx.commit().await?;
    }
    // Yesterday's evening round, back with its handover for tonight's team.
    let binome = accounts::by_email(db, &EmailAddress::parse("binome@demo.veille.invalid").map_err(|e| anyhow::anyhow!("{e}"))?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo second member"))?;
    let yesterday = date - chrono::Duration::days(1);
    let start = Timestamp::at_paris(yesterday, 20 * 60).unwrap_or(now);
    let back = Timestamp::at_paris(date, 40).unwrap_or(now);
    let round = NewRound {
        organisation: evening.organisation,
        team: evening.id,
        circuit: Some(evening_circuit),
        slot: None,
        territory: t19,
        planned_start: start,
        planned_end: start.plus_seconds(5 * 3600),
    };
    let instance = veille_storage::Scope::instance("demo data");
    let mut tx = db.begin().await?;
    let id = rounds::create_round(&mut tx, &round, &[], coordination, start.plus_seconds(-3600)).await?;
    tx.commit().await?;
    let r = rounds::get_round(db, &instance, id).await?;
    let mut tx = db.begin().await?;
    rounds::check_in(&mut tx, &r, &[terrain.id, binome.id], back, terrain.id, r.version, start).await?;
    tx.commit().await?;
    let r = rounds::get_round(db, &instance, id).await?;
    let mut tx = db.begin().await?;
    rounds::check_out(&mut tx, &r, terrain.id, r.version, back).await?;
    tx.commit().await?;
    let r = rounds::get_round(db, &instance, id).await?;
    let handover = "Point d'eau du quai fermé (démo) : prévoir des bouteilles. Deux tentes de plus au campement du quai ; repasser en début de maraude.";
    let mut tx = db.begin().await?;
    rounds::set_report(&mut tx, &r, (14, 2, 12), 1, "", handover, r.version, back).await?;
    tx.commit().await?;
    Ok(())
}
