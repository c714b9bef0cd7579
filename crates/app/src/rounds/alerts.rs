//! The overdue alert: a round still out past its expected return time raises
//! an alert, once, to the accounts of the team's organisation on call (its
//! on-call list) or, failing that, its coordinators and administrators
//! ([`crate::on_call::alert_recipients`]): an e-mail through the outbox (no personal data: the
//! team's name, the expected time and a link) and the banner on their pages.
//! A background task ([`spawn_worker`], started by `crate::tasks::spawn`)
//! calls [`raise_overdue`] with the application's clock, so tests drive it
//! with the manual clock.

use std::time::Duration;

use veille_domain::Role;
use veille_storage::{audit, outbox, rounds, teams, Scope};

use crate::error::Result;
use crate::{App, Caller, Lang};

/// How often the task looks for overdue rounds.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// Whether an account's role sees the overdue banner of its organisation (so do the accounts on call).
pub fn alerted_role(role: Role) -> bool {
    matches!(role, Role::Coordinator | Role::OrgAdmin)
}

/// Raises the alert of every round out past its expected return and not
/// alerted yet; returns how many rounds were alerted.
pub async fn raise_overdue(app: &App) -> Result<usize> {
    let now = app.clock.now();
    let mut raised = 0;
    for round in rounds::overdue_unalerted(&app.db, &Scope::instance("overdue round alerts"), now).await? {
        let team = teams::get(&app.db, round.team).await?;
        let recipients = crate::on_call::alert_recipients(app, round.organisation).await?;
        let mut tx = app.db.begin().await?;
        if !rounds::mark_alerted(&mut tx, round.id, now).await? {
            continue;
        }
        let expected = round.expected_return_at.map(|t| t.to_paris_display()).unwrap_or_default();
        let link = format!("{}/rounds/{}", app.config.base_url.trim_end_matches('/'), round.id);
        for a in &recipients {
            let lang = Lang::from_code(&a.lang);
            let subject = lang.tf("round.alert.subject", &[("team", &team.name)]);
            let body = lang.tf("round.alert.body", &[("team", &team.name), ("expected", &expected), ("link", &link)]);
            outbox::enqueue(&mut tx, &a.email, &subject, &body, now).await?;
        }
        audit::append(
            &mut tx,
            audit::NewEntry::about(now, None, "alert", "round", Some(round.id.to_string()), Some(round.organisation))
                .with_detail(serde_json::json!({"kind": "overdue", "recipients": recipients.len()})),
        )
        .await?;
        tx.commit().await?;
        raised += 1;
    }
    Ok(raised)
}

/// Checks for overdue rounds every [`INTERVAL`] until aborted.
pub fn spawn_worker(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = raise_overdue(&app).await {
                tracing::warn!("overdue alerts: {e}");
            }
        }
    })
}

/// How many rounds of the account's organisation it reads are out past their
/// expected return, for the banner of the coordinators, administrators and
/// accounts on call (0 for the others).
pub async fn overdue_banner(app: &App, who: &Caller) -> Result<usize> {
    if !alerted_role(who.account.role) && !crate::on_call::is_on_call(app, who).await? {
        return Ok(0);
    }
    let n = rounds::count_overdue_of(&app.db, &who.scope(), who.account.organisation, app.clock.now()).await?;
    Ok(usize::try_from(n).unwrap_or(0))
}
