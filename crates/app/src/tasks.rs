//! The instance's own work, run in the background by `veille serve`: the
//! outbox, the audit sealer, overdue-round alerts, referral expiry and the
//! disabling of inactive accounts, retention of person files (daily), the
//! query planner's statistics (hourly), the duplicate index (built at start).

use veille_storage::Db;

use crate::App;

/// Runs `work` now, then every `interval` (a pass that overruns delays the
/// next instead of bunching them), a failure logged under `what` and the
/// next pass run as usual.
fn every<T, E, F, Fut>(interval: std::time::Duration, what: &'static str, mut work: F) -> tokio::task::JoinHandle<()>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, E>> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = work().await {
                tracing::warn!("{what}: {e:#}");
            }
        }
    })
}

/// How often the audit sealer chains the entries committed since its last pass.
pub const AUDIT_SEAL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Chains committed audit entries a few times a second (see `veille_storage::audit`).
pub fn spawn_audit_sealer(db: Db, sealer: std::sync::Arc<veille_storage::audit::Sealer>) -> tokio::task::JoinHandle<()> {
    every(AUDIT_SEAL_INTERVAL, "audit sealer", move || {
        let (db, sealer) = (db.clone(), sealer.clone());
        async move { veille_storage::audit::seal(&db, &sealer).await }
    })
}

/// How often accounts are checked for inactivity.
pub const INACTIVITY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Disables inactive accounts every hour (see `accounts::disable_inactive`).
pub fn spawn_inactivity(app: App) -> tokio::task::JoinHandle<()> {
    every(INACTIVITY_INTERVAL, "inactive accounts", move || {
        let app = app.clone();
        async move { crate::accounts::disable_inactive(&app).await }
    })
}

/// How often the query planner's statistics are checked for staleness.
pub const STATISTICS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Refreshes the query planner's statistics at start, then every hour
/// (see `Db::refresh_statistics`; a no-op on PostgreSQL).
pub fn spawn_statistics(db: Db) -> tokio::task::JoinHandle<()> {
    every(STATISTICS_INTERVAL, "planner statistics", move || {
        let db = db.clone();
        async move { db.refresh_statistics().await }
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
/// overdue-round alerts, the planner's statistics and the duplicate index's
/// first build.
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
        crate::people::duplicates::spawn_warm_up(app.clone()),
    ])
}
