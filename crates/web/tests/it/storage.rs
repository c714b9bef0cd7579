//! Storage behaviour on the engine under test: durability settings, backup
//! and restore, optimistic concurrency.

use veille_domain::Role;
use veille_storage::{backup, organisations, Backend, Db, StorageError};

use crate::helpers::*;

#[tokio::test]
async fn durability_settings_are_the_promised_ones() {
    let tdb = TestDb::new().await;
    let found = tdb.db.check_durability().await.unwrap();
    match tdb.db.backend() {
        Backend::Sqlite => {
            assert!(found.contains(&("journal_mode".into(), "wal".into())), "{found:?}");
            assert!(found.contains(&("synchronous".into(), "2".into())), "{found:?}");
        }
        Backend::Postgres => {
            assert!(found.contains(&("fsync".into(), "on".into())));
            assert!(found.contains(&("synchronous_commit".into(), "on".into())));
        }
    }
}

/// The operator is told at start when PostgreSQL keeps no planner
/// statistics (autovacuum or its counts off), and only then.
#[tokio::test]
async fn a_server_without_autovacuum_is_named_at_start() {
    let tdb = TestDb::new().await;
    let warning = tdb.db.statistics_warning().await.unwrap();
    match tdb.db.backend() {
        Backend::Sqlite => assert_eq!(warning, None),
        Backend::Postgres => {
            let off: i64 =
                veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM pg_settings WHERE name IN ('autovacuum', 'track_counts') AND setting <> 'on'")
                    .fetch_one(tdb.db.pool())
                    .await
                    .unwrap();
            assert_eq!(warning.is_some(), off > 0, "{warning:?}");
            if let Some(w) = warning {
                assert!(w.contains("autovacuum") && w.contains("VACUUM (ANALYZE)"), "{w}");
            }
        }
    }
}

#[tokio::test]
async fn every_table_is_either_backed_up_or_deliberately_left_out() {
    let tdb = TestDb::new().await;
    let mut names = backup::table_names(&tdb.db).await.unwrap();
    names.sort();
    let mut listed: Vec<String> = backup::TABLES.iter().chain(backup::NOT_BACKED_UP).map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(names, listed, "a new table must be added to backup::TABLES or NOT_BACKED_UP");
}

/// Every table says where its personal data is (or that it has none), and
/// every column it names exists: the declaration retention, erasure, access
/// requests and backups rely on cannot drift from the schema.
#[tokio::test]
async fn every_table_declares_its_personal_data_and_the_columns_exist() {
    use veille_storage::personal::{PERSONAL, WITHOUT_PERSONAL_DATA};
    let tdb = TestDb::new().await;
    let mut names = backup::table_names(&tdb.db).await.unwrap();
    names.sort();
    let mut declared: Vec<String> = PERSONAL.iter().map(|t| t.name.to_owned()).chain(WITHOUT_PERSONAL_DATA.iter().map(|s| s.to_string())).collect();
    declared.sort();
    assert_eq!(names, declared, "a new table must be declared in veille_storage::personal");
    for t in PERSONAL {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.name).chain(t.person).collect();
        for col in cols {
            let sql = format!("SELECT {col} FROM {} WHERE 1 = 0", t.name);
            veille_storage::sqlx::query(&sql).fetch_all(tdb.db.pool()).await.unwrap_or_else(|e| panic!("{}.{col}: {e}", t.name));
        }
    }
}

#[tokio::test]
async fn backup_then_restore_gives_identical_tables() {
    let app = TestApp::new().await;
    let org = app.org("Ville", true).await;
    let admin = app.user(org, Role::OrgAdmin, "admin@exemple.fr", None, None).await;
    let mut c = app.session_for(admin, false).await;
    c.post(&format!("/organisations/{org}/teams"), &[("name", "Maraude du soir"), ("kind", "social")]).await;
    c.get(&format!("/users/{admin}")).await;
    let mut dump = Vec::new();
    let counts = backup::dump(app.db(), &app.state.audit, &mut dump).await.unwrap();
    let target = TestDb::new().await;
    let restored = backup::restore(&target.db, std::io::Cursor::new(&dump)).await.unwrap();
    assert_eq!(restored, counts.iter().map(|(_, n)| n).sum::<usize>(), "every row restored");
    assert_eq!(backup::checksums(app.db()).await.unwrap(), backup::checksums(&target.db).await.unwrap());
    assert!(
        matches!(veille_storage::audit::verify(&target.db, &app.state.audit).await.unwrap(), veille_storage::audit::Verification::Intact { entries } if entries >= 2)
    );
    // Restoring twice is refused: the target is no longer empty.
    assert!(backup::restore(&target.db, std::io::Cursor::new(&dump)).await.is_err());
}

#[tokio::test]
async fn a_stale_edit_is_refused_not_silently_applied() {
    let tdb = TestDb::new().await;
    let now = veille_domain::Timestamp::from_micros(0);
    let mut tx = tdb.db.begin().await.unwrap();
    let org = organisations::create(&mut tx, "Ville", "city_service", true, now).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = tdb.db.begin().await.unwrap();
    organisations::update(&mut tx, org.id, "Ville de Paris", "city_service", org.version, now).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = tdb.db.begin().await.unwrap();
    let second = organisations::update(&mut tx, org.id, "Autre nom", "city_service", org.version, now).await;
    assert!(matches!(second, Err(StorageError::StaleVersion)));
    // Unique names are a named conflict the form can show next to the field.
    let dup = organisations::create(&mut tx, "Ville de Paris", "city_service", false, now).await;
    assert!(matches!(&dup, Err(e) if e.is_conflict_on("name")), "{dup:?}");
}

#[tokio::test]
async fn unknown_database_schemes_are_refused() {
    assert!(matches!(Db::connect("mysql://localhost/x").await, Err(StorageError::UnsupportedScheme(_))));
}

/// sqlx's `Any` driver declares a null float as FLOAT4 on PostgreSQL; a
/// statement first run with no point must still take one afterwards on the
/// same connection (a signalement without a point, then one with a point).
#[tokio::test]
async fn a_point_after_no_point_on_the_same_connection() {
    let app = TestApp::new().await;
    let now = app.state.clock.now();
    let report = |lon: Option<f64>, reference: &str| veille_storage::reports::NewReport {
        reference: reference.into(),
        token_hash: format!("hash-{reference}"),
        source: veille_domain::reports::Source::Public,
        channel: veille_domain::reports::Channel::Web,
        lon,
        lat: lon.map(|_| 48.85),
        address: "Sous le pont".into(),
        territory: None,
        situations: vec!["person_in_distress".into()],
        seen: vec![],
        adults: 0,
        children: 0,
        tents: 0,
        description: "Deux personnes.".into(),
        reporter_name: None,
        email_confirmed: false,
        acknowledged: false,
        site_id: None,
        contact_email: None,
        contact_phone: None,
        contact_consent: false,
        email_confirm_hash: None,
        level: 2,
        reasons: vec![],
        status: veille_domain::reports::Status::Received,
        organisation: None,
        triage_organisation: None,
        team: None,
    };
    let mut tx = app.db().begin().await.unwrap();
    let a = veille_storage::reports::create(&mut tx, &report(None, "S-AAAA-AAAA"), now).await.unwrap();
    let b = veille_storage::reports::create(&mut tx, &report(Some(2.35), "S-BBBB-BBBB"), now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(veille_storage::reports::get(app.db(), &everything(), a).await.unwrap().lon, None);
    assert_eq!(veille_storage::reports::get(app.db(), &everything(), b).await.unwrap().lon, Some(2.35));
}

#[tokio::test]
async fn an_encounter_without_a_point_then_one_with_a_point_on_the_same_connection() {
    // PostgreSQL prepares a statement once per connection, with the types of
    // its first parameters: a NULL point first must not make the next point
    // unreadable ("incorrect binary data format"), found by schemathesis.
    let app = TestApp::new().await;
    let org = app.org("Maraude de test", false).await;
    let by = app.user(org, Role::FieldWorker, "terrain@test.exemple.fr", None, None).await;
    let now = app.state.clock.now();
    let fields = |point: Option<(f64, f64)>| veille_storage::encounters::EncounterFields {
        at: now,
        lon: point.map(|p| p.0),
        lat: point.map(|p| p.1),
        territory: None,
        place: String::new(),
        site_id: None,
        round_id: None,
        unidentified_count: 1,
        actions: Vec::new(),
        follow_up: false,
        follow_up_note: String::new(),
        notes: String::new(),
    };
    let mut tx = app.db().begin().await.unwrap();
    let a = veille_storage::encounters::create(&mut tx, org, &fields(None), &[], None, by, now).await.unwrap();
    let b = veille_storage::encounters::create(&mut tx, org, &fields(Some((2.3522, 48.8566))), &[], None, by, now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(veille_storage::encounters::get(app.db(), &veille_storage::Scope::instance("test"), a).await.unwrap().fields.lon, None);
    let b = veille_storage::encounters::get(app.db(), &veille_storage::Scope::instance("test"), b).await.unwrap();
    assert_eq!((b.fields.lon, b.fields.lat), (Some(2.3522), Some(48.8566)));
}

/// Each file's first encounter with each organisation (migration 0026, read
/// by the figures' "new or known") and each file met with its encounter's
/// organisation, instant and territory (migration 0029, read by the figures'
/// people met), and the encounters counted by organisation and hour
/// (migration 0030, read by the trend of encounters) are what the encounters
/// say after every kind of change: a file met, met again earlier (an
/// encounter recorded late), an encounter moved in time, to another
/// organisation and territory, removed, a file erased, and the whole
/// restored from a backup (which does not carry the tables: the restore's
/// inserts rebuild them).
#[tokio::test]
async fn each_files_first_encounters_follow_the_encounters() {
    use veille_domain::{OrganisationId, PersonId, Timestamp};
    use veille_storage::encounters;
    use veille_storage::people::{self, PersonFields};
    use veille_storage::sqlx::{self, Row};

    async fn firsts(db: &Db) -> Vec<(String, String, i64)> {
        let kept = sqlx::query("SELECT person_id, organisation_id, first_at FROM person_first_encounters ORDER BY person_id, organisation_id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        let kept: Vec<(String, String, i64)> = kept.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        let counted = sqlx::query(
            "SELECT ep.person_id, e.organisation_id, MIN(e.at) FROM encounter_people ep JOIN encounters e ON e.id = ep.encounter_id \
             GROUP BY ep.person_id, e.organisation_id ORDER BY ep.person_id, e.organisation_id",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        let counted: Vec<(String, String, i64)> = counted.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        assert_eq!(kept, counted, "the first encounters kept are those the encounters give");
        let met = |sql: &'static str| async move {
            let rows = sqlx::query(sql).fetch_all(db.pool()).await.unwrap();
            rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect::<Vec<(String, String, String, i64, Option<String>)>>()
        };
        let copied = met("SELECT encounter_id, person_id, organisation_id, at, territory_id FROM people_met ORDER BY encounter_id, person_id").await;
        let joined = met("SELECT ep.encounter_id, ep.person_id, e.organisation_id, e.at, e.territory_id FROM encounter_people ep \
             JOIN encounters e ON e.id = ep.encounter_id ORDER BY ep.encounter_id, ep.person_id")
        .await;
        assert_eq!(copied, joined, "the files met kept are those the encounters give");
        let hours = |sql: &'static str| async move {
            let rows = sqlx::query(sql).fetch_all(db.pool()).await.unwrap();
            rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect::<Vec<(String, i64, i64)>>()
        };
        let kept_hours = hours("SELECT organisation_id, hour, n FROM encounter_hours WHERE n <> 0 ORDER BY organisation_id, hour").await;
        let counted_hours =
            hours("SELECT organisation_id, at / 3600000000 AS h, COUNT(*) FROM encounters GROUP BY organisation_id, h ORDER BY organisation_id, h").await;
        assert_eq!(kept_hours, counted_hours, "the encounters counted by hour are those recorded");
        assert!(!kept_hours.is_empty());
        kept
    }
    let first_of = |rows: &[(String, String, i64)], p: PersonId, o: OrganisationId| {
        rows.iter().find(|(pid, org, _)| *pid == p.to_string() && *org == o.to_string()).map(|r| r.2)
    };
    let app = TestApp::new().await;
    let (a, b) = (app.org("Maraude A", true).await, app.org("Accueil B", false).await);
    let (by_a, by_b) =
        (app.user(a, Role::FieldWorker, "terrain@a.exemple.fr", None, None).await, app.user(b, Role::FieldWorker, "terrain@b.exemple.fr", None, None).await);
    let day = |d: i64| Timestamp::from_micros(1_800_000_000_000_000 + d * 86_400_000_000);
    let at = crate::people::fields_at;
    let db = app.db();
    let mut tx = db.begin().await.unwrap();
    let file = |name: &str| PersonFields { pseudonym: name.into(), ..Default::default() };
    let p1 = people::create(&mut tx, a, &file("Premier"), by_a, day(0)).await.unwrap();
    let p2 = people::create(&mut tx, a, &file("Second"), by_a, day(0)).await.unwrap();
    // Met together on day 10; p1 again on day 3, recorded late; p2 by B on day 15.
    encounters::create(&mut tx, a, &at(day(10)), &[p1, p2], None, by_a, day(10)).await.unwrap();
    let late = encounters::create(&mut tx, a, &at(day(3)), &[p1], None, by_a, day(11)).await.unwrap();
    let at_b = encounters::create(&mut tx, b, &at(day(15)), &[p2], None, by_b, day(15)).await.unwrap();
    tx.commit().await.unwrap();
    let rows = firsts(db).await;
    assert_eq!(
        (first_of(&rows, p1, a), first_of(&rows, p2, a), first_of(&rows, p2, b)),
        (Some(day(3).as_micros()), Some(day(10).as_micros()), Some(day(15).as_micros()))
    );
    assert_eq!(rows.len(), 3);
    // B's encounter moved to day 1, then handed to A: p2's first with A is day 1, none with B.
    sqlx::query("UPDATE encounters SET at = $1 WHERE id = $2").bind(day(1).as_micros()).bind(at_b).execute(db.pool()).await.unwrap();
    assert_eq!(first_of(&firsts(db).await, p2, b), Some(day(1).as_micros()));
    sqlx::query("UPDATE encounters SET organisation_id = $1 WHERE id = $2").bind(a).bind(at_b).execute(db.pool()).await.unwrap();
    let rows = firsts(db).await;
    assert_eq!((first_of(&rows, p2, a), first_of(&rows, p2, b)), (Some(day(1).as_micros()), None));
    // Placed in a territory, then in none again.
    veille_web::territories::import(db, include_str!("../../../../../shared/data/geo/paris-arrondissements.geojson"), "code", "nom", None, day(0))
        .await
        .unwrap();
    let territory: String = sqlx::query_scalar("SELECT id FROM territories ORDER BY id LIMIT 1").fetch_one(db.pool()).await.unwrap();
    for place in [Some(territory), None] {
        sqlx::query("UPDATE encounters SET territory_id = $1 WHERE id = $2").bind(place).bind(at_b).execute(db.pool()).await.unwrap();
        firsts(db).await;
    }
    // The late encounter removed: p1's first with A is day 10 again.
    sqlx::query("DELETE FROM encounters WHERE id = $1").bind(late).execute(db.pool()).await.unwrap();
    assert_eq!(first_of(&firsts(db).await, p1, a), Some(day(10).as_micros()));
    // A backup restored elsewhere has the same first encounters.
    let mut dump = Vec::new();
    backup::dump(db, &app.state.audit, &mut dump).await.unwrap();
    let target = TestDb::new().await;
    backup::restore(&target.db, std::io::Cursor::new(&dump)).await.unwrap();
    assert_eq!(firsts(&target.db).await, firsts(db).await);
    // p2's file erased: its first encounters go with its encounters.
    sqlx::query("DELETE FROM people WHERE id = $1").bind(p2).execute(db.pool()).await.unwrap();
    let rows = firsts(db).await;
    assert_eq!(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), vec![p1.to_string()]);
}
