//! The scope rules of people, households, encounters and referrals, on the
//! engine under test (`VEILLE_TEST_DATABASE`: `sqlite`, the default, or
//! `postgres` with `VEILLE_TEST_PG_URL`): what the storage queries return
//! for a caller's scope is what the permission function lets it read,
//! record by record — a worker limited to one territory, a file shared by
//! consent until the consent is withdrawn, a partner and the referrals
//! addressed to it.
// Creating and dropping the test's own PostgreSQL database is not a query of
// the application: it has no place in storage.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;

use veille_domain::people::{ConsentTerms, Language, ReferralStatus};
use veille_domain::{Action, EmailAddress, EncounterId, HouseholdId, OrganisationId, PersonId, ReferralId, Role, TerritoryId, Timestamp, UserId};
use veille_storage::accounts::{self, NewAccount};
use veille_storage::encounters::{self, EncounterFields};
use veille_storage::people::{self, NewConsent, PersonFields, ShareBasis};
use veille_storage::referrals::{self, NewReferral};
use veille_storage::{organisations, Db, Scope};

mod duplicates_learning;

use super::{encounter_resource, files, household_resource, person_resource_with, referral_resource};
use crate::{App, Caller, Clock, Config, ErrorKind};

/// A fresh, migrated database on the engine under test; a PostgreSQL one is
/// dropped at the end.
struct TestDb {
    db: Db,
    pg: Option<(String, String)>,
    _dir: Option<std::path::PathBuf>,
}

impl TestDb {
    async fn new() -> Self {
        if std::env::var("VEILLE_TEST_DATABASE").as_deref() == Ok("postgres") {
            let admin_url = std::env::var("VEILLE_TEST_PG_URL").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
            let name = format!("veille_app_{}", uuid::Uuid::now_v7().simple());
            let admin = Db::connect(&admin_url).await.expect("PostgreSQL on VEILLE_TEST_PG_URL");
            veille_storage::sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
            admin.close().await;
            let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
            let db = Db::connect(&url).await.unwrap();
            db.migrate().await.unwrap();
            TestDb { db, pg: Some((admin_url, name)), _dir: None }
        } else {
            let dir = std::env::temp_dir().join(format!("veille-app-test-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            let db = Db::connect(&format!("sqlite://{}/veille.db", dir.display())).await.unwrap();
            db.migrate().await.unwrap();
            TestDb { db, pg: None, _dir: Some(dir) }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = self._dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin_url, name)) = self.pg.take() {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    if let Ok(admin) = Db::connect(&admin_url).await {
                        let _ = veille_storage::sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
                        admin.close().await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

fn now() -> Timestamp {
    Timestamp::from_micros(1_795_000_000_000_000)
}

fn everything() -> Scope {
    Scope::instance("test: the world as written")
}

/// A small world: organisations, two territories, accounts of every kind,
/// and files, households, encounters and referrals spread among them.
struct World {
    app: App,
    _tdb: TestDb,
    /// The street team (owner of most records).
    street: OrganisationId,
    /// Another association (a file is shared with it by consent).
    other: OrganisationId,
    /// A day centre with a partner account (referrals are addressed to it).
    centre: OrganisationId,
    /// Another partner organisation.
    elsewhere: OrganisationId,
    t1: TerritoryId,
    t2: TerritoryId,
    coordinator: Caller,
    /// A field worker of the street team limited to T1.
    worker_t1: Caller,
    other_worker: Caller,
    partner: Caller,
    elsewhere_partner: Caller,
    people: Vec<PersonId>,
    households: Vec<HouseholdId>,
    encounters: Vec<EncounterId>,
    referrals: Vec<ReferralId>,
}

impl World {
    fn callers(&self) -> [&Caller; 5] {
        [&self.coordinator, &self.worker_t1, &self.other_worker, &self.partner, &self.elsewhere_partner]
    }
}

async fn organisation(db: &Db, name: &str) -> OrganisationId {
    let mut tx = db.begin().await.unwrap();
    let o = organisations::create(&mut tx, name, "association", false, now()).await.unwrap();
    tx.commit().await.unwrap();
    o.id
}

async fn caller(db: &Db, org: OrganisationId, role: Role, email: &str, territories: Option<Vec<TerritoryId>>) -> Caller {
    let mut tx = db.begin().await.unwrap();
    let new = NewAccount {
        organisation: org,
        email: EmailAddress::parse(email).unwrap(),
        display_name: format!("Test {}", role.code()),
        role,
        password_hash: None,
        territories,
        field_groups: role.default_field_groups().to_vec(),
        demo_account: false,
    };
    let id = accounts::create(&mut tx, &new, now()).await.unwrap();
    tx.commit().await.unwrap();
    let account = accounts::get(db, id).await.unwrap();
    let actor = accounts::actor_of(db, &account).await.unwrap();
    Caller { account, actor }
}

async fn territories(db: &Db) -> (TerritoryId, TerritoryId) {
    let square = |x: f64| {
        veille_geo::geometry_to_geojson(&veille_geo::geo::MultiPolygon::new(vec![veille_geo::geo::Polygon::new(
            vec![(x, 48.0), (x + 0.1, 48.0), (x + 0.1, 48.1), (x, 48.1), (x, 48.0)].into(),
            vec![],
        )]))
    };
    let mut tx = db.begin().await.unwrap();
    veille_storage::territories::upsert(
        &mut tx,
        &[("T1".into(), "Un".into(), square(2.0), [2.0, 48.0, 2.1, 48.1]), ("T2".into(), "Deux".into(), square(2.2), [2.2, 48.0, 2.3, 48.1])],
        now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = |code| async move { veille_storage::territories::id_by_code(db, code).await.unwrap().unwrap() };
    (id("T1").await, id("T2").await)
}

fn encounter_at(territory: Option<TerritoryId>) -> EncounterFields {
    EncounterFields {
        at: now(),
        lon: None,
        lat: None,
        territory,
        place: "Sous le pont (exemple)".into(),
        site_id: None,
        round_id: None,
        unidentified_count: 0,
        actions: Vec::new(),
        follow_up: false,
        follow_up_note: String::new(),
        notes: String::new(),
    }
}

async fn world() -> World {
    let tdb = TestDb::new().await;
    let db = tdb.db.clone();
    let (t1, t2) = territories(&db).await;
    let app = App::new(
        db.clone(),
        Config {
            audit_key: hex::encode(rand::random::<[u8; 32]>()),
            field_keys: veille_storage::field_keys::KeyRing::new_key_line(None, 1),
            ..Config::default()
        },
        Clock::manual(now()),
    )
    .await
    .unwrap();
    let street = organisation(&db, "Maraude").await;
    let other = organisation(&db, "Autre association").await;
    let centre = organisation(&db, "Accueil de jour").await;
    let elsewhere = organisation(&db, "Bagagerie").await;
    let coordinator = caller(&db, street, Role::Coordinator, "coord@maraude.exemple.fr", None).await;
    let worker_t1 = caller(&db, street, Role::FieldWorker, "terrain@maraude.exemple.fr", Some(vec![t1])).await;
    let other_worker = caller(&db, other, Role::FieldWorker, "terrain@autre.exemple.fr", None).await;
    let partner = caller(&db, centre, Role::Partner, "accueil@jour.exemple.fr", None).await;
    let elsewhere_partner = caller(&db, elsewhere, Role::Partner, "accueil@bagagerie.exemple.fr", None).await;
    let by = coordinator.account.id;

    let mut tx = db.begin().await.unwrap();
    let file = |name: &str, territory| PersonFields { pseudonym: name.into(), territory, ..Default::default() };
    // In T1, in T2, placed nowhere, and one of the other association in T2.
    let in_t1 = people::create(&mut tx, street, &file("Un", Some(t1)), by, now()).await.unwrap();
    let in_t2 = people::create(&mut tx, street, &file("Deux", Some(t2)), by, now()).await.unwrap();
    let nowhere = people::create(&mut tx, street, &file("Nulle part", None), by, now()).await.unwrap();
    let theirs = people::create(&mut tx, other, &file("Autre", Some(t2)), other_worker.account.id, now()).await.unwrap();
    // The file in T2 is shared with the other association by consent.
    let terms = ConsentTerms { told_purpose: true, told_access: true, told_rights: true, agrees_identifying: false, agrees_sharing: true };
    let consent = NewConsent { terms, language: Language::Fr, interpreter: false, given_at: now() };
    let c = people::add_consent(&mut tx, in_t2, street, &consent, by, now()).await.unwrap();
    people::share(&mut tx, in_t2, other, ShareBasis::Consent, Some(&c), None, by, now()).await.unwrap();
    // Households: of the T2 file (shared through it), and of the T1 file.
    let h2 = people::create_household(&mut tx, street, veille_domain::people::HouseholdKind::Couple, &[], now()).await.unwrap();
    people::set_household(&mut tx, in_t2, Some(h2), now()).await.unwrap();
    let h1 = people::create_household(&mut tx, street, veille_domain::people::HouseholdKind::Family, &[2020], now()).await.unwrap();
    people::set_household(&mut tx, in_t1, Some(h1), now()).await.unwrap();
    // Encounters in T1, in T2, nowhere, and one of the other association.
    let e1 = encounters::create(&mut tx, street, &encounter_at(Some(t1)), &[in_t1], None, by, now()).await.unwrap();
    let e2 = encounters::create(&mut tx, street, &encounter_at(Some(t2)), &[in_t2], Some("soin"), by, now()).await.unwrap();
    let e0 = encounters::create(&mut tx, street, &encounter_at(None), &[nowhere], None, by, now()).await.unwrap();
    let eo = encounters::create(&mut tx, other, &encounter_at(Some(t2)), &[theirs], None, other_worker.account.id, now()).await.unwrap();
    // Referrals: to the day centre (sent) for T1 and T2, to the day centre
    // not sent yet, to the other partner, and one in words only.
    let referral = |person, partner: Option<OrganisationId>| NewReferral {
        person,
        partner_name: "Partenaire".into(),
        partner_organisation: partner,
        reason: "Douche et laverie".into(),
        consent_confirmed: true,
        ..Default::default()
    };
    let mut refs = Vec::new();
    for (person, partner, send) in
        [(in_t1, Some(centre), true), (in_t2, Some(centre), true), (nowhere, Some(centre), false), (in_t1, Some(elsewhere), true), (in_t2, None, false)]
    {
        let id = referrals::create(&mut tx, street, &referral(person, partner), by, now()).await.unwrap();
        if send {
            let r = referrals::get_in(&mut tx, &everything(), id).await.unwrap();
            referrals::send(&mut tx, &r, now().plus_seconds(86_400), None, r.version, now()).await.unwrap();
        }
        refs.push(id);
    }
    tx.commit().await.unwrap();
    World {
        app,
        _tdb: tdb,
        street,
        other,
        centre,
        elsewhere,
        t1,
        t2,
        coordinator,
        worker_t1,
        other_worker,
        partner,
        elsewhere_partner,
        people: vec![in_t1, in_t2, nowhere, theirs],
        households: vec![h1, h2],
        encounters: vec![e1, e2, e0, eo],
        referrals: refs,
    }
}

/// For every caller and every record: found by the scoped storage read
/// exactly when the permission function lets the caller read it.
async fn reads_agree_with_authorize(w: &World) {
    let db = &w.app.db;
    let all = everything();
    for who in w.callers() {
        let scope = who.scope();
        let role = who.actor.role;
        for id in &w.people {
            let p = people::get(db, &all, *id).await.unwrap();
            let res = person_resource_with(&p, &people::consent_shares(db, &all, *id).await.unwrap());
            let allowed = who.can(Action::Read, &res).allowed;
            assert_eq!(people::get(db, &scope, *id).await.is_ok(), allowed, "{role:?} person {}", p.fields.pseudonym);
            assert_eq!(people::get_many(db, &scope, &[*id]).await.unwrap().len() == 1, allowed, "{role:?} person {} (many)", p.fields.pseudonym);
        }
        let listed: BTreeSet<PersonId> = people::list(db, &scope, &Default::default()).await.unwrap().into_iter().map(|p| p.id).collect();
        for id in &w.people {
            assert_eq!(listed.contains(id), people::get(db, &scope, *id).await.is_ok(), "{role:?} list");
        }
        for id in &w.households {
            let h = people::household(db, &all, *id).await.unwrap();
            let mut shared = BTreeSet::new();
            for m in people::household_members(db, &all, *id).await.unwrap() {
                shared.extend(people::consent_shares(db, &all, m.id).await.unwrap());
            }
            let allowed = who.can(Action::Read, &household_resource(&h, &shared)).allowed;
            assert_eq!(people::household(db, &scope, *id).await.is_ok(), allowed, "{role:?} household");
        }
        let recent: BTreeSet<EncounterId> = encounters::recent(db, &scope, 100).await.unwrap().into_iter().map(|e| e.id).collect();
        for id in &w.encounters {
            let e = encounters::get(db, &all, *id).await.unwrap();
            let allowed = who.can(Action::Read, &encounter_resource(&e)).allowed;
            assert_eq!(encounters::get(db, &scope, *id).await.is_ok(), allowed, "{role:?} encounter");
            assert_eq!(recent.contains(id), allowed, "{role:?} recent encounters");
        }
        for id in &w.referrals {
            let r = referrals::get(db, &all, *id).await.unwrap();
            let territory = people::get(db, &all, r.person).await.unwrap().fields.territory;
            let allowed = who.can(Action::Read, &referral_resource(&r, territory)).allowed;
            assert_eq!(referrals::get(db, &scope, *id).await.is_ok(), allowed, "{role:?} referral to {:?}", r.partner_organisation);
            let of_person = referrals::of_people(db, &scope, &[r.person]).await.unwrap();
            assert_eq!(of_person.iter().any(|x| x.id == *id), allowed, "{role:?} referrals of a person");
        }
    }
}

#[tokio::test]
async fn scoped_reads_return_exactly_what_authorize_allows() {
    let w = world().await;
    reads_agree_with_authorize(&w).await;
}

#[tokio::test]
async fn a_worker_limited_to_one_territory_reads_only_its_people_and_encounters() {
    let w = world().await;
    let (in_t1, in_t2, nowhere, theirs) = (w.people[0], w.people[1], w.people[2], w.people[3]);
    let listed: Vec<PersonId> = files::list(&w.app, &w.worker_t1, Some(true)).await.unwrap().into_iter().map(|p| p.id).collect();
    assert!(listed.contains(&in_t1) && listed.contains(&nowhere), "its territory, and files placed nowhere");
    assert!(!listed.contains(&in_t2), "not a file of another territory of its own organisation");
    assert!(!listed.contains(&theirs), "not another organisation's");
    let e = super::load_person(&w.app, &w.worker_t1, &in_t2.to_string(), Action::Read).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "its existence is not told");
    // The coordinator works everywhere.
    let all: Vec<PersonId> = files::list(&w.app, &w.coordinator, Some(true)).await.unwrap().into_iter().map(|p| p.id).collect();
    assert!(all.contains(&in_t1) && all.contains(&in_t2) && all.contains(&nowhere) && !all.contains(&theirs));
    // Encounters: the point decides.
    let met: Vec<EncounterId> = super::encounters::recent(&w.app, &w.worker_t1, 100).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(met.len(), 2, "T1 and nowhere: {met:?}");
    assert!(met.contains(&w.encounters[0]) && met.contains(&w.encounters[2]));
    let e = super::encounters::read(&w.app, &w.worker_t1, &w.encounters[1].to_string(), "test").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    // Referrals follow their person's territory.
    let (sent, _, _) = super::referrals::lists(&w.app, &w.worker_t1).await.unwrap();
    assert!(sent.iter().all(|(r, _)| r.person != in_t2), "no referral of a file of T2");
    assert_eq!(sent.len(), 3, "those of the T1 file and of the file placed nowhere");
    // The export holds what the list holds.
    let csv = files::export_csv(&w.app, &w.worker_t1, true).await.unwrap();
    assert!(csv.contains(&in_t1.to_string()) && !csv.contains(&in_t2.to_string()));
    let _ = (w.t1, w.t2, w.street, w.elsewhere);
}

#[tokio::test]
async fn a_file_shared_by_consent_is_read_by_the_other_organisation_until_withdrawn() {
    let w = world().await;
    let shared = w.people[1];
    let listed = |who: &Caller| {
        let app = w.app.clone();
        let who = who.clone();
        async move { files::list(&app, &who, None).await.unwrap().into_iter().map(|p| p.id).collect::<Vec<_>>() }
    };
    assert!(listed(&w.other_worker).await.contains(&shared));
    let (p, _) = super::load_person(&w.app, &w.other_worker, &shared.to_string(), Action::Read).await.unwrap();
    assert_eq!(p.organisation, w.street);
    assert!(people::household(&w.app.db, &w.other_worker.scope(), w.households[1]).await.is_ok(), "its household through it");
    assert!(people::household(&w.app.db, &w.other_worker.scope(), w.households[0]).await.is_err());
    assert!(!people::consents(&w.app.db, &w.other_worker.scope(), shared).await.unwrap().is_empty());
    // Its encounters stay with the street team (an encounter is not shared).
    assert!(encounters::of_people(&w.app.db, &w.other_worker.scope(), &[shared]).await.unwrap().is_empty());
    // The consent is withdrawn: the other association no longer reads it.
    files::withdraw_consent(&w.app, &w.coordinator, &shared.to_string()).await.unwrap();
    assert!(!listed(&w.other_worker).await.contains(&shared));
    let e = super::load_person(&w.app, &w.other_worker, &shared.to_string(), Action::Read).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(people::household(&w.app.db, &w.other_worker.scope(), w.households[1]).await.is_err());
    assert!(people::consents(&w.app.db, &w.other_worker.scope(), shared).await.unwrap().is_empty());
    assert!(listed(&w.coordinator).await.contains(&shared), "still its owner's");
    reads_agree_with_authorize(&w).await;
    let _ = w.other;
}

#[tokio::test]
async fn a_partner_sees_only_the_referrals_addressed_to_it() {
    let w = world().await;
    let (_, queue, shows_sent) = super::referrals::lists(&w.app, &w.partner).await.unwrap();
    assert!(!shows_sent, "a partner sends none");
    let ids: Vec<ReferralId> = queue.iter().map(|(r, _)| r.id).collect();
    assert_eq!(ids, vec![w.referrals[1], w.referrals[0]], "the sent ones addressed to it, newest first");
    assert!(queue.iter().all(|(r, name)| r.partner_organisation == Some(w.centre) && !name.is_empty()), "with what the referral needs");
    // Not the other partner's, nor one in words only.
    for other in [w.referrals[3], w.referrals[4]] {
        let e = super::referrals::load(&w.app, &w.partner, &other.to_string()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
    }
    let (_, theirs, _) = super::referrals::lists(&w.app, &w.elsewhere_partner).await.unwrap();
    assert_eq!(theirs.iter().map(|(r, _)| r.id).collect::<Vec<_>>(), vec![w.referrals[3]]);
    // The partner does not read the files themselves, nor lists people.
    assert!(people::get(&w.app.db, &w.partner.scope(), w.people[0]).await.is_err());
    assert_eq!(files::list(&w.app, &w.partner, None).await.unwrap_err().kind, ErrorKind::Forbidden);
    assert!(encounters::recent(&w.app.db, &w.partner.scope(), 100).await.unwrap().is_empty());
    // Answered: it stays in the partner's queue; the sender sees it moved.
    let body = super::input::AnswerBody { status: "accepted".into(), message: "Venez mardi".into(), version: None };
    let answered =
        super::referrals::act(&w.app, &w.partner, crate::Lang::Fr, &w.referrals[0].to_string(), &body, &super::referrals::ANSWERS, "test").await.unwrap();
    assert!(answered.is_ok());
    let r = referrals::get(&w.app.db, &w.coordinator.scope(), w.referrals[0]).await.unwrap();
    assert_eq!(r.status, ReferralStatus::Accepted);
    let steps: Vec<Option<String>> =
        veille_storage::timeline::of(&w.app.db, veille_domain::records::RecordKind::Referral, r.id).await.unwrap().into_iter().map(|e| e.to).collect();
    assert_eq!(steps, vec![Some("accepted".to_owned())], "the answer is on the timeline (the world was written without events)");
    reads_agree_with_authorize(&w).await;
}

#[tokio::test]
async fn overdue_referrals_expire_with_an_instance_scope_and_an_event() {
    let w = world().await;
    w.app.clock.advance_seconds(2 * 86_400);
    assert_eq!(super::referrals::expire_due(&w.app).await.unwrap(), 3, "every sent one, whoever may read it");
    for id in [w.referrals[0], w.referrals[1], w.referrals[3]] {
        let r = referrals::get(&w.app.db, &everything(), id).await.unwrap();
        assert_eq!(r.status, ReferralStatus::Expired);
        let events = veille_storage::timeline::of(&w.app.db, veille_domain::records::RecordKind::Referral, id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].via, events[0].actor, events[0].to.as_deref()), (veille_domain::records::Via::System, None::<UserId>, Some("expired")));
    }
    assert_eq!(super::referrals::expire_due(&w.app).await.unwrap(), 0, "once");
}
