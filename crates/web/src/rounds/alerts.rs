//! The overdue alert: a round still out past its expected return time raises
//! an alert to the coordinators and administrators of the team's
//! organisation, once: an e-mail through the outbox (no personal data: the
//! team's name, the expected time and a link) and the banner on their pages.
//! A periodic task started with the server calls [`raise_overdue`] with the
//! application's clock, so tests drive it with the manual clock.

use std::time::Duration;

use veille_storage::{accounts, audit, outbox, rounds, teams};

use crate::i18n::Lang;
use crate::AppState;

/// Raises the alert of every round out past its expected return and not
/// alerted yet; returns how many rounds were alerted.
pub async fn raise_overdue(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let mut raised = 0;
    for round in rounds::overdue_unalerted(&state.db, now).await? {
        let team = teams::get(&state.db, round.team).await?;
        let recipients: Vec<_> = accounts::list(&state.db, Some(round.organisation))
            .await?
            .into_iter()
            .filter(|a| !a.disabled && super::pages::alerted_role(a.role))
            .collect();
        let mut tx = state.db.begin().await?;
        if !rounds::mark_alerted(&mut tx, round.id, now).await? {
            continue;
        }
        let expected = round.expected_return_at.map(|t| t.to_paris_display()).unwrap_or_default();
        let link = format!("{}/rounds/{}", state.config.base_url.trim_end_matches('/'), round.id);
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

/// Checks for overdue rounds every 30 seconds until aborted.
pub fn spawn_worker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            if let Err(e) = raise_overdue(&state).await {
                tracing::warn!("overdue alerts: {e:#}");
            }
        }
    })
}
