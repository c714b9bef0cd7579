//! The instance's own work, run in the background by `veille serve`: the
//! outbox, the audit sealer, overdue-round alerts, referral expiry and the
//! disabling of inactive accounts, retention of person files (daily), the
//! query planner's statistics (hourly).

use veille_storage::Db;

use crate::App;

/// How often the audit sealer chains the entries committed since its last pass.
pub const AUDIT_SEAL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Chains committed audit entries a few times a second (see `veille_storage::audit`).
pub fn spawn_audit_sealer(db: Db, sealer: std::sync::Arc<veille_storage::audit::Sealer>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(AUDIT_SEAL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = veille_storage::audit::seal(&db, &sealer).await {
                tracing::warn!("audit sealer: {e:#}");
            }
        }
    })
}

/// How often accounts are checked for inactivity.
pub const INACTIVITY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Disables inactive accounts every hour (see `accounts::disable_inactive`).
pub fn spawn_inactivity(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INACTIVITY_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = crate::accounts::disable_inactive(&app).await {
                tracing::warn!("inactive accounts: {e:#}");
            }
        }
    })
}

/// How often the query planner's statistics are checked for staleness.
pub const STATISTICS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Refreshes the query planner's statistics at start, then every hour
/// (see `Db::refresh_statistics`; a no-op on PostgreSQL).
pub fn spawn_statistics(db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(STATISTICS_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = db.refresh_statistics().await {
                tracing::warn!("planner statistics: {e:#}");
            }
        }
    })
}

/// The background tasks of a running instance; aborted on drop.
pub struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Tasks {
    /// Adds a task.
    pub fn push(&mut self, task: tokio::task::JoinHandle<()>) {
        self.0.push(task);
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Starts the outbox worker, the audit sealer, referral expiry, the
/// overdue-round alerts and the planner's statistics.
pub fn spawn(app: &App) -> Tasks {
    Tasks(vec![
        crate::mail::spawn_worker(app.clone()),
        spawn_audit_sealer(app.db.clone(), app.audit.clone()),
        crate::people::referrals::spawn_expiry(app.clone()),
        crate::rounds::alerts::spawn_worker(app.clone()),
        crate::escalations::spawn_worker(app.clone()),
        spawn_inactivity(app.clone()),
        crate::rights::spawn_worker(app.clone()),
        spawn_statistics(app.db.clone()),
    ])
}
