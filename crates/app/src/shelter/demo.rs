//! Demo shelter and housing: the facilities of an operator organisation (a
//! hotel whose rooms the coordination books, a *sas*, a shelter site), their
//! stays — a family in the hotel for six weeks (a long stay to follow up),
//! bookings for tonight —, a waiting list, an operation planned on a demo
//! site in five days without its diagnosis (flagged), and a Housing First
//! dwelling whose check is overdue. Invented names only.

use veille_domain::shelter::{FacilityKind, LandlordKind, Night, OperationKind, Public, Unit};
use veille_domain::{EmailAddress, OrganisationId, Timestamp, UserId};
use veille_storage::shelter::{self as store, FacilityFields, NewDwelling, NewOperation, NewRequest, NewStay};
use veille_storage::{accounts, sites, territories, Db, Scope};

async fn account(db: &Db, email: &str) -> anyhow::Result<(UserId, OrganisationId)> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let a = accounts::by_email(db, &email).await?.ok_or_else(|| anyhow::anyhow!("demo account {email:?} missing"))?;
    Ok((a.id, a.organisation))
}

/// Loads the demo shelter data (after the accounts, territories and sites).
pub async fn load(db: &Db, now: Timestamp) -> anyhow::Result<()> {
    let (coord, mission) = account(db, "coordination@demo.veille.invalid").await?;
    let (_, operator) = account(db, "hebergement@demo.veille.invalid").await?;
    let (_, nord) = account(db, "coordination-nord@demo.veille.invalid").await?;
    let t19 = territories::id_by_code(db, "75119").await?;
    let t10 = territories::id_by_code(db, "75110").await?;
    let tonight = Night::at(now);
    let facility = |name: &str, kind, territory, places, publics: Vec<Public>, unit, cost, lon, lat| FacilityFields {
        name: name.into(),
        kind: Some(kind),
        address: String::new(),
        territory,
        lon: Some(lon),
        lat: Some(lat),
        publics,
        unit: Some(unit),
        places,
        accessible: true,
        service: None,
        night_cost_cents: cost,
    };
    let mut tx = db.begin().await?;
    let hotel = facility("Hôtel Les Lilas (démo)", FacilityKind::Hotel, t19, 12, vec![Public::Families], Unit::Room, Some(4500), 2.3791, 48.8827);
    let hotel_id = store::create_facility(&mut tx, operator, &hotel, now).await?;
    let sas = facility("Sas de mise à l'abri Pajol (démo)", FacilityKind::Sas, t19, 30, vec![Public::SingleMen], Unit::Bed, None, 2.3622, 48.8868);
    let sas_id = store::create_facility(&mut tx, operator, &sas, now).await?;
    let centre = facility("Centre Saint-Martin (démo)", FacilityKind::ShelterSite, t10, 50, vec![Public::Everyone], Unit::Place, None, 2.3646, 48.8712);
    let centre_id = store::create_facility(&mut tx, operator, &centre, now).await?;
    // Tonight the shelter has 40 places open, not 50: one dormitory closed for works.
    store::set_night(&mut tx, centre_id, tonight, 40, "Dortoir B en travaux", coord, now).await?;
    let stay = |facility, territory, label: &str, places, from: i64, nights: i64, present: bool, cost: Option<i64>| NewStay {
        facility,
        organisation: mission,
        operator,
        territory,
        person: None,
        household: None,
        label: label.into(),
        places,
        from: tonight.plus(from),
        to: tonight.plus(from + nights),
        booking_ref: if cost.is_some() { format!("SAMU-{}", 4400 + places) } else { String::new() },
        night_cost_cents: cost,
        operation: None,
        present_at: present.then(|| now.plus_seconds(from * 86_400)),
        note: String::new(),
    };
    for s in [
        stay(hotel_id, t19, "Famille Thénardier (démo)", 4, -42, 60, true, Some(4500)),
        stay(hotel_id, t19, "Famille Fauchelevent (démo)", 3, -5, 14, true, Some(4500)),
        stay(hotel_id, t19, "Famille Mabeuf (démo)", 2, 0, 7, false, Some(4500)),
        stay(sas_id, t19, "Monsieur Bahorel (démo)", 1, -2, 10, true, None),
        stay(sas_id, t19, "Monsieur Courfeyrac (démo)", 1, 0, 10, false, None),
        stay(centre_id, t10, "Madame Magloire (démo)", 1, -20, 90, true, None),
    ] {
        store::create_stay(&mut tx, &s, coord, now).await?;
    }
    for (label, public, priority) in [("Famille Gillenormand (démo)", Public::Families, 5), ("Monsieur Feuilly (démo)", Public::SingleMen, 2)] {
        let r = NewRequest { territory: t19, person: None, label: label.into(), places: 1, public, priority, wanted_from: tonight, note: String::new() };
        store::create_request(&mut tx, mission, &r, coord, now).await?;
    }
    let site = sites::list(db, &Scope::instance("demo data"), &sites::Filter::default()).await?.into_iter().find(|s| s.status == "active");
    if let Some(site) = site {
        let op = NewOperation {
            site: site.id,
            territory: site.territory,
            kind: OperationKind::Sheltering,
            planned_on: tonight.plus(5),
            partners: "Maraude Solidarité Nord, Santé dans la rue".into(),
            city_services: "Propreté (DPE)".into(),
            legal_frame: "none".into(),
            legal_reference: String::new(),
        };
        store::create_operation(&mut tx, mission, &op, coord, now).await?;
    }
    let landlord = store::create_landlord(
        &mut tx,
        nord,
        "Paris Habitat (démo)",
        LandlordKind::Social,
        "gestion-locative@bailleur.invalid",
        "Convention Logement d'abord 2026",
        now,
    )
    .await?;
    let dwelling = NewDwelling {
        territory: t19,
        landlord: Some(landlord),
        address: "8 rue de Tanger (démo)".into(),
        rooms: 2,
        state: "good".into(),
        rent_cents: Some(41_000),
        check_every_days: 30,
    };
    let dwelling = store::create_dwelling(&mut tx, nord, &dwelling, now).await?;
    store::create_tenancy(&mut tx, dwelling, None, "Monsieur Combeferre (démo)", tonight.plus(-90), veille_domain::shelter::SupportIntensity::Regular, now)
        .await?;
    store::schedule_check(&mut tx, dwelling, tonight.plus(-3), now).await?;
    tx.commit().await?;
    Ok(())
}
