//! Demo people, encounters and referrals: invented people named after
//! characters of Les Misérables (never real people), met by the demo street
//! team in the 18th arrondissement; one probable duplicate to link, one file
//! shared with the health team, one referral waiting in the partner's queue.

use veille_domain::people::{
    ConsentTerms, EncounterAction, Gender, HealthFlag, HouseholdKind, Language, Nationality, Need, ReferralStatus, Situation, Vulnerability,
};
use veille_domain::records::RecordKind;
use veille_domain::{EmailAddress, OrganisationId, Timestamp, UserId};
use veille_storage::encounters::{self, EncounterFields};
use veille_storage::people::{self, NewConsent, PersonFields, ShareBasis};
use veille_storage::referrals::{self, NewReferral};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{accounts, organisations, territories, Db, Scope};

async fn account(db: &Db, email: &str) -> anyhow::Result<(UserId, OrganisationId)> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let a = accounts::by_email(db, &email).await?.ok_or_else(|| anyhow::anyhow!("demo account {email:?} missing"))?;
    Ok((a.id, a.organisation))
}

fn informed(identifying: bool, sharing: bool, at: Timestamp) -> NewConsent {
    NewConsent {
        terms: ConsentTerms { told_purpose: true, told_access: true, told_rights: true, agrees_identifying: identifying, agrees_sharing: sharing },
        language: Language::Fr,
        interpreter: false,
        given_at: at,
    }
}

/// Loads the demo people (after the demo accounts and territories).
pub async fn load(db: &Db, now: Timestamp) -> anyhow::Result<()> {
    let (worker, street) = account(db, "terrain@demo.veille.invalid").await?;
    let (nurse, health) = account(db, "sante@demo.veille.invalid").await?;
    let (_, day_centre) = account(db, "partenaire@demo.veille.invalid").await?;
    let t18 = territories::id_by_code(db, "75118").await?;
    let day = |d: i64| now.plus_seconds(-d * 86_400);
    let person = |pseudonym: &str, aliases: &[&str], year: i32, gender: Gender| PersonFields {
        territory: t18,
        pseudonym: pseudonym.into(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        birth_year: Some(year),
        gender: Some(gender),
        languages: vec![Language::Fr],
        nationality: Some(Nationality::France),
        ..Default::default()
    };
    let mut tx = db.begin().await?;
    let gavroche = people::create(
        &mut tx,
        street,
        &PersonFields {
            situation: Some(Situation::Street),
            needs: vec![Need::Food, Need::Hygiene],
            vulnerabilities: vec![Vulnerability::Isolation],
            ..person("Gavroche", &["Le Gamin"], 1990, Gender::Man)
        },
        worker,
        day(30),
    )
    .await?;
    people::add_consent(&mut tx, gavroche, street, &informed(false, true, day(30)), worker, day(30)).await?;
    // Recorded again by the same team a week later, under a spelling variant: a probable duplicate.
    let gavroch = people::create(
        &mut tx,
        street,
        &PersonFields { situation: Some(Situation::Street), ..person("Gavroch", &["Petit"], 1991, Gender::Man) },
        worker,
        day(7),
    )
    .await?;
    let cosette = people::create(
        &mut tx,
        street,
        &PersonFields {
            situation: Some(Situation::Hotel),
            needs: vec![Need::Housing, Need::Administrative],
            vulnerabilities: vec![Vulnerability::WithChildren],
            ..person("Cosette", &[], 1996, Gender::Woman)
        },
        worker,
        day(20),
    )
    .await?;
    people::add_consent(&mut tx, cosette, street, &informed(true, false, day(20)), worker, day(20)).await?;
    let household = people::create_household(&mut tx, street, HouseholdKind::SingleParent, &[2023, 2020], day(20)).await?;
    people::set_household(&mut tx, cosette, Some(household), day(20)).await?;
    let fantine = people::create(
        &mut tx,
        street,
        &PersonFields { situation: Some(Situation::Shelter), needs: vec![Need::HealthCare], ..person("Fantine", &[], 1975, Gender::Woman) },
        worker,
        day(15),
    )
    .await?;
    let consent = people::add_consent(&mut tx, fantine, street, &informed(false, true, day(15)), worker, day(15)).await?;
    people::share(&mut tx, fantine, health, ShareBasis::Consent, Some(&consent), None, worker, day(15)).await?;
    people::set_health(&mut tx, fantine, &[HealthFlag::ChronicIllness], "Suivi infirmier proposé (exemple fictif).", nurse, 0, day(14)).await?;
    let valjean = people::create(
        &mut tx,
        street,
        &PersonFields { situation: Some(Situation::Squat), languages: vec![Language::Fr, Language::Ro], ..person("Jean V.", &["Valjean"], 1969, Gender::Man) },
        worker,
        day(40),
    )
    .await?;
    let marius =
        people::create(&mut tx, health, &PersonFields { situation: Some(Situation::Street), ..person("Marius", &[], 1988, Gender::Man) }, nurse, day(5))
            .await?;
    people::set_health(&mut tx, marius, &[HealthFlag::Addiction], "Matériel de réduction des risques remis (exemple fictif).", nurse, 0, day(5)).await?;

    let chapelle = |d: i64, place: &str, actions: Vec<EncounterAction>| EncounterFields {
        at: day(d),
        lon: Some(2.3596),
        lat: Some(48.8986),
        territory: t18,
        place: place.into(),
        site_id: None,
        round_id: None,
        unidentified_count: 3,
        actions,
        follow_up: false,
        follow_up_note: String::new(),
        notes: "Échange calme, café partagé (exemple fictif).".into(),
    };
    encounters::create(
        &mut tx,
        street,
        &chapelle(2, "Porte de la Chapelle, sous le pont (exemple)", vec![EncounterAction::Listening, EncounterAction::Distribution]),
        &[gavroche, valjean],
        None,
        worker,
        day(2),
    )
    .await?;
    encounters::create(&mut tx, street, &chapelle(7, "Rue fictive de la Goutte-d'Or", vec![EncounterAction::Information]), &[gavroch], None, worker, day(7))
        .await?;
    encounters::create(
        &mut tx,
        street,
        &EncounterFields {
            follow_up: true,
            follow_up_note: "Rappeler l'hôtel pour la scolarisation (exemple).".into(),
            ..chapelle(1, "Hôtel social (exemple)", vec![EncounterAction::Orientation])
        },
        &[cosette],
        None,
        worker,
        day(1),
    )
    .await?;
    encounters::create(
        &mut tx,
        health,
        &chapelle(5, "Jardin d'Éole (exemple)", vec![EncounterAction::Care]),
        &[marius],
        Some("Pansement au pied (exemple fictif)."),
        nurse,
        day(5),
    )
    .await?;

    // A referral waiting in the day centre's queue, and one still a proposal.
    let centre = organisations::get(db, day_centre).await?;
    let waiting = referrals::create(
        &mut tx,
        street,
        &NewReferral {
            person: gavroche,
            partner_name: centre.name.clone(),
            partner_organisation: Some(centre.id),
            reason: "Douche et laverie ; souhaite un lieu pour la journée (exemple fictif).".into(),
            consent_confirmed: true,
            ..Default::default()
        },
        worker,
        day(1),
    )
    .await?;
    let created = |id| NewEvent::new(RecordKind::Referral, id, day(1), Some((worker, street)), "created").change(None, Some(ReferralStatus::Proposed.code()));
    timeline::append(&mut tx, &created(waiting)).await?;
    let r = referrals::get_in(&mut tx, &Scope::instance("demo data"), waiting).await?;
    referrals::send(&mut tx, &r, now.plus_seconds(6 * 86_400), None, r.version, day(1)).await?;
    let sent = NewEvent::new(RecordKind::Referral, waiting, day(1), Some((worker, street)), "status")
        .change(Some(ReferralStatus::Proposed.code()), Some(ReferralStatus::Sent.code()));
    timeline::append(&mut tx, &sent).await?;
    people::share(&mut tx, gavroche, centre.id, ShareBasis::Referral, None, Some(waiting), worker, day(1)).await?;
    let proposal = referrals::create(
        &mut tx,
        street,
        &NewReferral {
            person: cosette,
            partner_name: "PASS de l'hôpital (exemple fictif)".into(),
            reason: "Consultation pour la plus jeune enfant (exemple fictif).".into(),
            consent_confirmed: true,
            ..Default::default()
        },
        worker,
        day(1),
    )
    .await?;
    timeline::append(&mut tx, &created(proposal)).await?;
    tx.commit().await?;
    Ok(())
}
