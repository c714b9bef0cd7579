//! Facts about the running instance that every page and the operations
//! endpoints read: whether it is a demo, how many mails wait, whether the
//! database answers; and the last sealing of the audit chain at shutdown.

use veille_storage::audit::{AuditKey, Sealer};

use crate::error::Result;
use crate::{App, Config};

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
    veille_storage::audit::seal(&app.db, &app.audit).await?;
    Ok(())
}

/// The audit chain's sealer: its MAC key from `audit_key`, else from
/// `audit_key_file`. A missing file is created with a new random key only
/// while the chain has no keyed entry (a new instance, or the first start
/// after the upgrade); afterwards a missing key is an error, not a new key
/// (a new key would silently stop verifying the chain).
pub async fn audit_sealer(db: &veille_storage::Db, config: &Config) -> anyhow::Result<Sealer> {
    let window = config.audit_seal_window_minutes * 60;
    if !config.audit_key.is_empty() {
        let key = AuditKey::from_hex(&config.audit_key).ok_or_else(|| anyhow::anyhow!("audit_key: 64 hexadecimal digits"))?;
        return Ok(Sealer::new(key, window));
    }
    let path = std::path::Path::new(&config.audit_key_file);
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = AuditKey::from_hex(&text).ok_or_else(|| anyhow::anyhow!("audit key file {}: not 64 hexadecimal digits", path.display()))?;
            Ok(Sealer::new(key, window))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            anyhow::ensure!(
                !veille_storage::audit::is_keyed(db).await?,
                "audit key file {} is missing but the audit chain was sealed with a key: restore the file (or set VEILLE_AUDIT_KEY)",
                path.display()
            );
            let key = AuditKey::from_bytes(rand::random());
            write_key_file(path, &key)?;
            tracing::info!(file = %path.display(), "audit chain key created (keep it outside the database and its backups)");
            Ok(Sealer::new(key, window))
        }
        Err(e) => Err(anyhow::anyhow!("audit key file {}: {e}", path.display())),
    }
}

/// Writes a new key file, readable by its owner only, never over an existing one.
fn write_key_file(path: &std::path::Path, key: &AuditKey) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| anyhow::anyhow!("audit key file {}: {e}", path.display()))?;
    writeln!(file, "{}", key.to_hex())?;
    file.sync_all()?;
    Ok(())
}

/// What the notice for the people recorded (`/vie-privee`) says of this
/// instance: who holds data (every organisation) and how long files stay.
#[derive(Clone, Debug)]
pub struct PrivacyNotice {
    /// The instance's name.
    pub instance: String,
    /// The organisations' names, sorted: each holds the data it records.
    pub organisations: Vec<String>,
    /// Years a file stays active after the last contact.
    pub active_years: u32,
    /// Further years in the restricted archive before anonymisation.
    pub archive_years: u32,
}

/// The notice's facts (public information: no personal data).
pub async fn privacy_notice(app: &App) -> Result<PrivacyNotice> {
    let instance = veille_storage::organisations::settings(&app.db).await?.map(|s| s.name).unwrap_or_else(|| "veille".into());
    let mut organisations: Vec<String> = veille_storage::organisations::list(&app.db).await?.into_iter().map(|o| o.name).collect();
    organisations.sort_by_key(|n| n.to_lowercase());
    let (active_years, archive_years) = retention_years(&app.config);
    Ok(PrivacyNotice { instance, organisations, active_years, archive_years })
}

/// The retention periods the notice states, in whole years (rounded to the
/// nearest year: `(days + 182) / 365`, the configured days are what applies).
pub fn retention_years(config: &Config) -> (u32, u32) {
    let years = |days: i64| ((days.max(0) + 182) / 365) as u32;
    (years(config.retention_active_days), years(config.retention_archive_days))
}
