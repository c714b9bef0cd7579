//! The demo data set: a synthetic Paris instance with several organisations,
//! teams, the territories of Paris and the inner ring, and one account for
//! every role. No real person's data: every name is invented and marked.

use veille_domain::{EmailAddress, FieldGroup, Role};
use veille_storage::accounts::{self, NewAccount};
use veille_storage::organisations::{self, InstanceSettings};
use veille_storage::{teams, territories as store_territories, Db};

use crate::Clock;

/// Territory files embedded from the shared geographic data (Licence Ouverte).
const GEO: &[&str] = &[
    include_str!("../../../../shared/data/geo/paris-arrondissements.geojson"),
    include_str!("../../../../shared/data/geo/communes-92-hauts-de-seine.geojson"),
    include_str!("../../../../shared/data/geo/communes-93-seine-saint-denis.geojson"),
    include_str!("../../../../shared/data/geo/communes-94-val-de-marne.geojson"),
];

/// The password of every demo account (only usable on a demo instance's demo accounts).
pub const DEMO_PASSWORD: &str = "démo veille paris 2026";

/// The demo accounts: e-mail, name, role, organisation index, territory codes (empty: all).
pub const ACCOUNTS: &[(&str, &str, Role, usize, &[&str])] = &[
    ("admin@demo.veille.invalid", "Alix Admin (démo)", Role::InstanceAdmin, 0, &[]),
    ("orga@demo.veille.invalid", "Oriane Orga (démo)", Role::OrgAdmin, 0, &[]),
    ("coordination@demo.veille.invalid", "Côme Coordination (démo)", Role::Coordinator, 0, &[]),
    ("terrain@demo.veille.invalid", "Théo Terrain (démo)", Role::FieldWorker, 2, &["75118", "75119"]),
    ("sante@demo.veille.invalid", "Sacha Santé (démo)", Role::HealthProfessional, 3, &[]),
    ("partenaire@demo.veille.invalid", "Paz Partenaire (démo)", Role::Partner, 5, &[]),
    ("lecture@demo.veille.invalid", "Lou Lecture (démo)", Role::Reader, 0, &[]),
    ("mediation@demo.veille.invalid", "Maé Médiation (démo)", Role::Coordinator, 1, &["75118", "75119", "75110"]),
    ("mediateur@demo.veille.invalid", "Milo Médiateur (démo)", Role::FieldWorker, 1, &["75118", "75119", "75110"]),
    ("binome@demo.veille.invalid", "Bao Binôme (démo)", Role::FieldWorker, 2, &["75118", "75119"]),
    ("coordination-nord@demo.veille.invalid", "Nina Coordination Nord (démo)", Role::Coordinator, 2, &["75118", "75119"]),
    ("infirmiere@demo.veille.invalid", "Inès Infirmière (démo)", Role::HealthProfessional, 3, &[]),
    ("coordination-sante@demo.veille.invalid", "Cyrille Coordination santé (démo)", Role::Coordinator, 3, &[]),
    ("rdr@demo.veille.invalid", "Rémi Réduction des risques (démo)", Role::FieldWorker, 4, &["75118", "75119"]),
    ("coordination-caarud@demo.veille.invalid", "Carla Coordination CAARUD (démo)", Role::Coordinator, 4, &[]),
    ("hebergement@demo.veille.invalid", "Hana Hébergement (démo)", Role::Coordinator, 6, &[]),
    ("veilleur@demo.veille.invalid", "Victor Veilleur de nuit (démo)", Role::Partner, 6, &[]),
];

const ORGS: &[(&str, &str, bool)] = &[
    ("Mission d'urgences sociales (démo)", "city_service", true),
    ("Équipe de médiation Nord-Est (démo)", "mediation", false),
    ("Maraude Solidarité Nord (démo)", "association", false),
    ("Santé dans la rue (démo)", "health_ngo", false),
    ("CAARUD La Chapelle (démo)", "caarud", false),
    ("Accueil de jour Belleville (démo)", "partner_service", false),
    ("Hébergement Saint-Martin (démo)", "association", false),
];

const TEAMS: &[(usize, &str, &str)] = &[
    (0, "Coordination niveau 2", "social"),
    (1, "Médiation Chapelle – Éole", "mediation"),
    (2, "Maraude du soir 18e-19e", "social"),
    (3, "Équipe mobile santé", "health"),
    (4, "Maraude RdR Stalingrad", "health"),
];

/// Loads the demo data into an empty database and returns the text to print.
pub async fn load(db: &Db) -> anyhow::Result<String> {
    load_at(db, Clock::System.now()).await
}

/// Loads the demo data as of `now` (tests pass their manual clock's instant).
pub async fn load_at(db: &Db, now: veille_domain::Timestamp) -> anyhow::Result<String> {
    anyhow::ensure!(accounts::count(db).await? == 0, "the database already has accounts: the demo loads only into an empty instance");
    for text in GEO {
        crate::territories::import(db, text, "code", "nom", None, now).await?;
    }
    crate::directory::demo::load(db, now).await?;
    let hash = crate::security::hash_password(DEMO_PASSWORD)?;
    let mut tx = db.begin().await?;
    organisations::set_settings(&mut tx, &InstanceSettings { name: "veille — démonstration Paris".into(), demo: true }, now).await?;
    let mut org_ids = Vec::new();
    for (name, kind, coordinating) in ORGS {
        org_ids.push(organisations::create(&mut tx, name, kind, *coordinating, now).await?.id);
    }
    tx.commit().await?;
    let mut user_ids = Vec::new();
    let mut tx = db.begin().await?;
    for (email, name, role, org, codes) in ACCOUNTS {
        let mut scope = Vec::new();
        for code in *codes {
            scope.push(store_territories::id_by_code(db, code).await?.ok_or_else(|| anyhow::anyhow!("territory {code}"))?);
        }
        let mut groups: Vec<FieldGroup> = role.default_field_groups().to_vec();
        // The mediator reads the contact book of local relays of its organisation.
        if *email == "mediateur@demo.veille.invalid" {
            groups.push(FieldGroup::Relays);
        }
        let id = accounts::create(
            &mut tx,
            &NewAccount {
                organisation: org_ids[*org],
                email: EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?,
                display_name: (*name).into(),
                role: *role,
                password_hash: Some(hash.clone()),
                territories: (!scope.is_empty()).then_some(scope),
                field_groups: groups,
                demo_account: true,
            },
            now,
        )
        .await?;
        user_ids.push((id, *org));
    }
    for (org, name, kind) in TEAMS {
        let team = teams::create(&mut tx, org_ids[*org], name, kind, now).await?;
        for (id, user_org) in &user_ids {
            if user_org == org {
                teams::add_member(&mut tx, team, *id).await?;
            }
        }
    }
    tx.commit().await?;
    crate::rounds::demo::load(db, now).await?;
    crate::reports::demo::load(db, now).await?;
    crate::people::demo::load(db, now).await?;
    crate::shelter::demo::load(db, now).await?;
    crate::cases::demo::load(db, now).await?;
    crate::neighbourhood::demo::load(db, now).await?;
    let mut out = String::from("Demo data loaded (synthetic Paris instance). Demo accounts — password for all: ");
    out.push_str(DEMO_PASSWORD);
    out.push('\n');
    for (email, name, role, org, _) in ACCOUNTS {
        out.push_str(&format!("  {:<40} {:<20} {} — {}\n", email, role.code(), name, ORGS[*org].0));
    }
    out.push_str("On this demo instance only, demo accounts log in without a second factor.\n");
    Ok(out)
}
