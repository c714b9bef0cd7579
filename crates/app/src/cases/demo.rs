//! A demo case: the level-2 family of the demo signalements followed by the
//! coordination with the day centre (a partner account on the team), two
//! evaluations, an action for the day centre, one for a hospital's PASS
//! without accounts (answering through a link), one overdue; a cellule and a
//! health session; the maraude association's on-call list. Invented names only.

use veille_domain::cases::{CaseOrigin, EvaluationDomain, MeetingKind};
use veille_domain::on_call::OnCallSlot;
use veille_domain::shelter::Night;
use veille_domain::{EmailAddress, Timestamp};
use veille_storage::actions::{self, NewFollowUp};
use veille_storage::cases::{self as store, NewCase};
use veille_storage::meetings::{self, Attendee, NewMeeting};
use veille_storage::{accounts, reports, Db, Scope};

/// Loads the demo case (after the accounts and the signalements).
pub async fn load(db: &Db, now: Timestamp) -> anyhow::Result<()> {
    let by_mail = |email: &'static str| async move {
        let e = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
        accounts::by_email(db, &e).await?.ok_or_else(|| anyhow::anyhow!("demo account {email} missing"))
    };
    let coord = by_mail("coordination@demo.veille.invalid").await?;
    let partner = by_mail("partenaire@demo.veille.invalid").await?;
    let field = by_mail("terrain@demo.veille.invalid").await?;
    let report = reports::list(db, &Scope::instance("demo data"), &reports::Filter::default(), 500).await?.into_iter().find(|r| r.level == 2);
    let tonight = Night::at(now);
    let new = NewCase {
        territory: report.as_ref().and_then(|r| r.territory),
        title: "Famille R. (démo), campement du canal".into(),
        origin: if report.is_some() { CaseOrigin::Report } else { CaseOrigin::Direct },
        origin_id: report.as_ref().map(|r| r.id.to_string()),
        review_on: Some(tonight.plus(4)),
    };
    let mut tx = db.begin().await?;
    let case = store::create(&mut tx, coord.organisation, &new, coord.id, now).await?;
    store::add_member(&mut tx, case, partner.id).await?;
    store::add_member(&mut tx, case, field.id).await?;
    store::add_evaluation(
        &mut tx,
        case,
        EvaluationDomain::Housing,
        "Deux adultes, deux enfants de 3 et 6 ans, sous tente depuis trois semaines. Demande au 115 faite, sans réponse.",
        coord.id,
        now,
    )
    .await?;
    store::add_evaluation(
        &mut tx,
        case,
        EvaluationDomain::Rights,
        "Pas de domiciliation ; la mère a un titre de séjour, le père en demande d'asile.",
        field.id,
        now,
    )
    .await?;
    for (title, owner, owner_name, due) in [
        ("Domiciliation à l'accueil de jour", Some(partner.organisation), "", 3),
        ("Ouvrir l'AME pour les enfants", None, "PASS de l'hôpital (démo)", 10),
        ("Appeler le 115 pour une mise à l'abri famille", Some(coord.organisation), "", -1),
    ] {
        let a = NewFollowUp {
            territory: new.territory,
            record_kind: "case".into(),
            record_id: case.to_string(),
            case: Some(case),
            owner,
            owner_name: owner_name.into(),
            title: title.into(),
            due_on: Some(tonight.plus(due)),
        };
        actions::create_action(&mut tx, coord.organisation, &a, coord.id, now).await?;
    }
    // A cellule de veille in two days with the case on its agenda, and a health-promotion session next week.
    let health = by_mail("coordination-sante@demo.veille.invalid").await?;
    let at = |days: i64, minutes: i64| Timestamp::at_paris(now.paris_date() + chrono::Duration::days(days), minutes).unwrap_or(now);
    let cellule = NewMeeting {
        territory: new.territory,
        kind: MeetingKind::Cellule,
        title: "Cellule de veille du 18e (démo)".into(),
        place: "Mairie du 18e, salle 2".into(),
        starts_at: at(2, 14 * 60),
        ends_at: at(2, 16 * 60),
        theme: String::new(),
    };
    let m = meetings::create(&mut tx, coord.organisation, &cellule, coord.id, now).await?;
    for a in [&coord, &partner] {
        meetings::add_attendee(
            &mut tx,
            m,
            &Attendee { user: Some(a.id), organisation: Some(a.organisation), name: String::new(), email: None, public: None, count: 1 },
        )
        .await?;
    }
    meetings::add_item(&mut tx, m, Some(case), "").await?;
    let session = NewMeeting {
        territory: None,
        kind: MeetingKind::HealthSession,
        title: "Réduction des risques liés au crack (démo)".into(),
        place: "Local de l'association".into(),
        starts_at: at(6, 10 * 60),
        ends_at: at(6, 12 * 60),
        theme: "Pipes, matériel, prévention des brûlures".into(),
    };
    let s = meetings::create(&mut tx, health.organisation, &session, health.id, now).await?;
    meetings::add_attendee(
        &mut tx,
        s,
        &Attendee { user: Some(health.id), organisation: Some(health.organisation), name: String::new(), email: None, public: None, count: 1 },
    )
    .await?;
    // The maraude association's on-call list: its coordinator every night, a field worker at weekends by day.
    let nina = by_mail("coordination-nord@demo.veille.invalid").await?;
    let bao = by_mail("binome@demo.veille.invalid").await?;
    veille_storage::on_call::add(&mut tx, nina.organisation, nina.id, OnCallSlot { weekday: None, range: Some((19 * 60, 8 * 60)) }, nina.id, now).await?;
    for day in [5, 6] {
        veille_storage::on_call::add(&mut tx, bao.organisation, bao.id, OnCallSlot { weekday: Some(day), range: Some((8 * 60, 19 * 60)) }, nina.id, now)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
