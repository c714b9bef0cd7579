//! Demo data of neighbourhood work: the mediation team's contact book
//! (a shopkeeper, a caretaker, a social landlord's agent, a resident), the
//! city and technical services kept by the city's mission, mediations near
//! the scene of the rotonde (a place of recurring tension with the reports
//! there) with a follow-up due, requests to services in each status, and
//! logbook entries with last night's handover of the evening team.
//! Synthetic only: every name says "(démo)".

use veille_domain::neighbourhood::{
    BookKind, ContactRole, LogCategory, MediationOutcome, MediationSubject, PartyRole, RequestStatus, ServiceCategory, Urgency,
};
use veille_domain::records::RecordKind;
use veille_domain::shelter::Night;
use veille_domain::{EmailAddress, Timestamp};
use veille_storage::logbooks::{self, NewEntry};
use veille_storage::neighbourhood::{self as store, NewContact, NewMediation, Party};
use veille_storage::services::{self, NewCityService, NewRequest};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{accounts, organisations, sites, teams, territories, Db, Scope};

/// A relay: role, name, structure, place, point, phone, how to reach them.
type DemoContact = (ContactRole, &'static str, &'static str, &'static str, (f64, f64), &'static str, &'static str);
/// A mediation: days ago, subject, outcome, parties, what was done, follow-up.
type DemoMediation = (i64, MediationSubject, MediationOutcome, Vec<Party>, &'static str, Option<Night>);
/// A request: service index, days ago, place, need, the mediation it comes from, status, answer.
type DemoRequest = (usize, i64, &'static str, &'static str, Option<usize>, RequestStatus, &'static str);

/// Loads the demo data of neighbourhood work (after sites, rounds and reports).
pub async fn load(db: &Db, now: Timestamp) -> anyhow::Result<()> {
    let by_mail = |email: &'static str| async move {
        let e = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
        accounts::by_email(db, &e).await?.ok_or_else(|| anyhow::anyhow!("demo account {email} missing"))
    };
    let mediator = by_mail("mediateur@demo.veille.invalid").await?;
    let mediation_coord = by_mail("mediation@demo.veille.invalid").await?;
    let terrain = by_mail("terrain@demo.veille.invalid").await?;
    let orgs = organisations::list(db).await?;
    let mus = orgs.iter().find(|o| o.name.starts_with("Mission")).map(|o| o.id).ok_or_else(|| anyhow::anyhow!("demo mission"))?;
    let all_teams = teams::list(db, None).await?;
    let team = |prefix: &str| all_teams.iter().find(|t| t.name.starts_with(prefix)).cloned().ok_or_else(|| anyhow::anyhow!("demo team {prefix}"));
    let mediation = team("Médiation")?;
    let evening = team("Maraude du soir")?;
    let instance = Scope::instance("demo data");
    let all_sites = sites::list(db, &instance, &Default::default()).await?;
    let site = |prefix: &str| all_sites.iter().find(|s| s.name.starts_with(prefix)).cloned().ok_or_else(|| anyhow::anyhow!("demo site {prefix}"));
    let rotonde = site("Scène de consommation de la rotonde")?;
    let quai = site("Campement du quai")?;
    let t18 = territories::id_by_code(db, "75118").await?;
    let t19 = territories::id_by_code(db, "75119").await?;
    let org = mediation.organisation;

    // The contact book of the mediation team (each agreed to be kept).
    let contacts: [DemoContact; 4] = [
        (
            ContactRole::Shopkeeper,
            "Karim, gérant du tabac (démo)",
            "Tabac du carrefour fictif (démo)",
            "Carrefour des commerces fictif, Paris 18e",
            (2.3612, 48.8902),
            "0600000101",
            "Au comptoir de 7 h à 13 h ; préfère être appelé le matin.",
        ),
        (
            ContactRole::Caretaker,
            "Mme Lemoine, gardienne (démo)",
            "Résidence des Lilas fictive (démo)",
            "Rue fictive des Lilas, Paris 19e",
            (2.3703, 48.8846),
            "0600000102",
            "Loge ouverte de 8 h à 12 h.",
        ),
        (
            ContactRole::SocialHousingStaff,
            "M. Benali, agent du bailleur (démo)",
            "Bailleur social fictif (démo)",
            "Agence de proximité fictive, Paris 19e",
            (2.3690, 48.8850),
            "0600000103",
            "Par courriel, réponse sous deux jours.",
        ),
        (
            ContactRole::Resident,
            "Collectif des riverains de la rotonde (démo)",
            "",
            "Abords de la rotonde, Paris 19e",
            (2.3702, 48.8842),
            "",
            "Réunion mensuelle le premier mardi.",
        ),
    ];
    let mut contact_ids = Vec::new();
    let mut tx = db.begin().await?;
    for (role, name, structure, place, point, phone, reach) in contacts {
        let c = NewContact {
            territory: if point.1 > 48.888 { t18 } else { t19 },
            role: Some(role),
            name: name.into(),
            structure: structure.into(),
            place: place.into(),
            point: Some(point),
            phone: phone.into(),
            email: String::new(),
            reach: reach.into(),
        };
        contact_ids.push(store::create_contact(&mut tx, org, &c, now.plus_seconds(-40 * 86_400), mediation_coord.id, now.plus_seconds(-40 * 86_400)).await?);
    }
    // City and technical services, kept by the city's mission; none has accounts: they answer through a link.
    let city = [
        ("Éclairage public — Paris Nord-Est (démo)", ServiceCategory::Lighting, None, "eclairage@demo.veille.invalid"),
        ("Propreté — division du 18e (démo)", ServiceCategory::Cleaning, t18, "proprete18@demo.veille.invalid"),
        ("Propreté — division du 19e (démo)", ServiceCategory::Cleaning, t19, "proprete19@demo.veille.invalid"),
        ("Encombrants et dépôts sauvages (démo)", ServiceCategory::Waste, None, "encombrants@demo.veille.invalid"),
        ("Mobilier urbain et équipements (démo)", ServiceCategory::Equipment, None, "equipements@demo.veille.invalid"),
        ("Régulation des usages — circonscription 18-19 (démo)", ServiceCategory::Regulation, None, "regulation@demo.veille.invalid"),
        ("Bailleur social fictif — gestion technique (démo)", ServiceCategory::LandlordTechnical, None, "technique@demo.veille.invalid"),
    ];
    let mut service_ids = Vec::new();
    for (name, category, territory, email) in city {
        let s = NewCityService { name: name.into(), category, territory, email: email.into(), member_organisation: None };
        service_ids.push(services::create_service(&mut tx, mus, &s, now.plus_seconds(-60 * 86_400)).await?);
    }
    tx.commit().await?;

    // Mediations near the rotonde (a place of recurring tension), one with a follow-up due tomorrow.
    let today = Night::of_date(now.paris_date());
    let mediations: [DemoMediation; 3] = [
        (
            12,
            MediationSubject::UsedMaterial,
            MediationOutcome::Agreement,
            vec![
                Party { role: PartyRole::Resident, contact: Some(contact_ids[3]), person: None, count: 1 },
                Party { role: PartyRole::PersonMet, contact: None, person: None, count: 3 },
            ],
            "Ramassage du matériel avec les usagers, rappel des horaires du CAARUD voisin.",
            None,
        ),
        (
            5,
            MediationSubject::Gatherings,
            MediationOutcome::Partial,
            vec![
                Party { role: PartyRole::Caretaker, contact: Some(contact_ids[1]), person: None, count: 1 },
                Party { role: PartyRole::PersonMet, contact: None, person: None, count: 2 },
            ],
            "Échange devant le hall : regroupement déplacé vers la placette, la gardienne demande un passage le soir.",
            Some(today.plus(1)),
        ),
        (
            2,
            MediationSubject::Noise,
            MediationOutcome::ToFollow,
            vec![
                Party { role: PartyRole::Shopkeeper, contact: Some(contact_ids[0]), person: None, count: 1 },
                Party { role: PartyRole::PersonMet, contact: None, person: None, count: 1 },
            ],
            "Le gérant se plaint des cris tôt le matin ; discussion avec la personne présente, qui accepte de s'éloigner du rideau.",
            Some(today.plus(4)),
        ),
    ];
    let mut mediation_ids = Vec::new();
    for (days, subject, outcome, parties, actions, follow_up_on) in mediations {
        let at = now.plus_seconds(-days * 86_400);
        let m = NewMediation {
            territory: t19,
            team: Some(mediation.id),
            round: None,
            site: Some(rotonde.id),
            report: None,
            at,
            place: rotonde.name.clone(),
            point: Some((rotonde.lon + 0.0002, rotonde.lat + 0.0001)),
            subject,
            actions: actions.into(),
            outcome,
            outcome_note: String::new(),
            follow_up_on,
            parties,
        };
        let mut tx = db.begin().await?;
        let id = store::create_mediation(&mut tx, org, &m, mediator.id, at).await?;
        timeline::append(&mut tx, &NewEvent::new(RecordKind::Mediation, id, at, Some((mediator.id, org)), "created").change(None, Some(outcome.code())))
            .await?;
        tx.commit().await?;
        mediation_ids.push(id);
    }

    // Requests to services: from the first mediation (done), from the last (acknowledged), a direct one (sent).
    let requests: [DemoRequest; 3] = [
        (
            2,
            11,
            "Abords de la rotonde",
            "Seringues et déchets au pied de l'escalier nord, à ramasser.",
            Some(0),
            RequestStatus::Done,
            "Passage de l'équipe de propreté le lendemain matin.",
        ),
        (
            5,
            2,
            "Carrefour des commerces fictif",
            "Regroupements tôt le matin devant les commerces : présence demandée entre 6 h et 8 h.",
            Some(2),
            RequestStatus::Acknowledged,
            "",
        ),
        (0, 1, "Quai fictif, sous le pont", "Lampadaire éteint depuis une semaine au-dessus du campement.", None, RequestStatus::Sent, ""),
    ];
    for (service, days, place, description, from, status, answer) in requests {
        let at = now.plus_seconds(-days * 86_400);
        let s = services::service(db, service_ids[service]).await?;
        let (point, origin_kind, origin_id) = match from {
            Some(i) => (Some((rotonde.lon, rotonde.lat)), "mediation", Some(mediation_ids[i].to_string())),
            None => (Some((quai.lon, quai.lat)), "direct", None),
        };
        let r = NewRequest {
            territory: t19,
            service: s.id,
            category: s.category,
            place: place.into(),
            point,
            description: description.into(),
            urgency: if from == Some(2) { Urgency::Urgent } else { Urgency::Normal },
            origin_kind,
            origin_id,
        };
        let sender = if from.is_some() { (mediator.id, org) } else { (terrain.id, terrain.organisation) };
        let mut tx = db.begin().await?;
        let id = services::create_request(&mut tx, sender.1, &r, Some(sender.0), at).await?;
        timeline::append(&mut tx, &NewEvent::new(RecordKind::ServiceRequest, id, at, Some(sender), "created").change(None, Some("sent"))).await?;
        tx.commit().await?;
        if status != RequestStatus::Sent {
            let req = services::get_request(db, &instance, id).await?;
            let later = at.plus_seconds(20 * 3600);
            let mut tx = db.begin().await?;
            services::set_status(&mut tx, &req, status, answer, req.version, later).await?;
            let ev = NewEvent::new(RecordKind::ServiceRequest, id, later, None, "status")
                .change(Some("sent"), Some(status.code()))
                .detail(answer)
                .via(veille_domain::records::Via::Link);
            timeline::append(&mut tx, &ev).await?;
            tx.commit().await?;
        }
    }

    // Logbooks: last night's handover of the evening team for the next team, a note in the quay's book, the mediation team's handover.
    let last_night = now.plus_seconds(-10 * 3600);
    let entries = [
        (
            BookKind::Team,
            evening.id.to_string(),
            None,
            terrain.clone(),
            LogCategory::Handover,
            "Transmission (démo) : deux personnes du quai ont demandé un rendez-vous à l'accueil de jour ; repasser avant 21 h avec les couvertures.",
            last_night,
        ),
        (
            BookKind::Site,
            quai.id.to_string(),
            quai.territory,
            terrain.clone(),
            LogCategory::Logistics,
            "Le point d'eau du quai est fermé pour travaux (démo).",
            now.plus_seconds(-30 * 3600),
        ),
        (
            BookKind::Team,
            mediation.id.to_string(),
            None,
            mediator.clone(),
            LogCategory::Handover,
            "Transmission (démo) : le gérant du tabac attend un retour sur la demande de présence du matin.",
            now.plus_seconds(-26 * 3600),
        ),
    ];
    for (kind, book, territory, author, category, body, at) in entries {
        let e = NewEntry {
            organisation: author.organisation,
            territory,
            case: None,
            book_kind: kind,
            book_id: book,
            at,
            category,
            body: body.into(),
            for_team: None,
            author: author.id,
            attachment: None,
            mentions: Vec::new(),
        };
        let mut tx = db.begin().await?;
        logbooks::create(&mut tx, &e, at).await?;
        tx.commit().await?;
    }
    Ok(())
}
