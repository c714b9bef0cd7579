//! Facts about the running instance that every page and the operations
//! endpoints read: whether it is a demo, how many mails wait, whether the
//! database answers; and the last sealing of the audit chain at shutdown.

use crate::error::Result;
use crate::App;

/// Whether this instance is a demo (its demo accounts skip the second factor
/// and every page says so).
pub async fn is_demo(app: &App) -> Result<bool> {
    Ok(veille_storage::organisations::settings(&app.db).await?.is_some_and(|s| s.demo))
}

/// Mails waiting in the outbox.
pub async fn outbox_pending(app: &App) -> Result<i64> {
    Ok(veille_storage::outbox::pending_count(&app.db).await?)
}

/// Whether the database answers.
pub async fn ready(app: &App) -> bool {
    app.db.ping().await
}

/// Chains the audit entries written so far (before the process ends).
pub async fn seal_audit(app: &App) -> Result<()> {
    veille_storage::audit::seal(&app.db).await?;
    Ok(())
}
