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
            let text = create_or_read(path, &[&AuditKey::from_bytes(rand::random()).to_hex()])
                .map_err(|e| anyhow::anyhow!("audit key file {}: {e}", path.display()))?;
            let key = AuditKey::from_hex(&text).ok_or_else(|| anyhow::anyhow!("audit key file {}: not 64 hexadecimal digits", path.display()))?;
            tracing::info!(file = %path.display(), "audit chain key in place (keep it outside the database and its backups)");
            Ok(Sealer::new(key, window))
        }
        Err(e) => Err(anyhow::anyhow!("audit key file {}: {e}", path.display())),
    }
}

/// Loads the keys sealing the sensitive field groups and gives them to `db`:
/// from `field_keys`, else from `field_keys_file`. A missing file is created
/// with a new random key only while the database holds no sealed value;
/// afterwards a missing file is an error naming the key id needed. Then
/// refuses a ring that cannot open the database (a missing key, named by its
/// id; a wrong key), and seals the values written before encryption at rest
/// (decision 78).
pub async fn field_keys(db: &veille_storage::Db, config: &Config) -> anyhow::Result<()> {
    use veille_storage::field_keys::{self as keys, KeyRing, Reseal};
    let ring = if !config.field_keys.trim().is_empty() {
        KeyRing::parse(&config.field_keys).map_err(|e| anyhow::anyhow!("field_keys: {e}"))?
    } else {
        let path = std::path::Path::new(&config.field_keys_file);
        match std::fs::read_to_string(path) {
            Ok(text) => KeyRing::parse(&text).map_err(|e| anyhow::anyhow!("field key file {}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(id) = keys::any_sealed(db).await? {
                    anyhow::bail!(
                        "field key file {} is missing but the database holds values sealed with field key {id}: restore the file (or set VEILLE_FIELD_KEYS)",
                        path.display()
                    );
                }
                let line = KeyRing::new_key_line(None, chrono::Utc::now().timestamp());
                let text = create_or_read(path, &[FIELD_KEYS_HEADER, &line]).map_err(|e| anyhow::anyhow!("field key file {}: {e}", path.display()))?;
                tracing::info!(file = %path.display(), "field key in place (keep it outside the database and apart from its backups)");
                KeyRing::parse(&text).map_err(|e| anyhow::anyhow!("field key file {}: {e}", path.display()))?
            }
            Err(e) => anyhow::bail!("field key file {}: {e}", path.display()),
        }
    };
    keys::check(db, &ring).await?;
    db.set_field_keys(ring);
    let sealed = keys::reseal(db, Reseal::Plaintext, 300, |_, _| {}).await?;
    if sealed > 0 {
        tracing::info!(values = sealed, "values of sensitive field groups written before encryption at rest are now sealed");
    }
    Ok(())
}

/// `veille keys rotate`: appends a new key to the field key file (unless
/// `resume`, which finishes a rotation stopped before its end with the newest
/// key of the file), then seals every value again with it in batches, each
/// batch its own transaction, telling `progress` (place, values done there).
/// Returns the number of values sealed again. Older keys may leave the file
/// only once this has finished.
pub async fn rotate_field_keys(db: &veille_storage::Db, config: &Config, resume: bool, progress: impl FnMut(&str, u64)) -> anyhow::Result<u64> {
    use veille_storage::field_keys::{self as keys, KeyRing, Reseal};
    anyhow::ensure!(
        config.field_keys.trim().is_empty(),
        "the field keys come from VEILLE_FIELD_KEYS: rotation appends to the field key file; set the keys in field_keys_file instead"
    );
    let path = std::path::Path::new(&config.field_keys_file);
    let read = || -> anyhow::Result<KeyRing> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("field key file {}: {e}", path.display()))?;
        KeyRing::parse(&text).map_err(|e| anyhow::anyhow!("field key file {}: {e}", path.display()))
    };
    let mut ring = read()?;
    keys::check(db, &ring).await?;
    if !resume {
        let line = KeyRing::new_key_line(Some(&ring), chrono::Utc::now().timestamp());
        append_line(path, &line).map_err(|e| anyhow::anyhow!("field key file {}: {e}", path.display()))?;
        ring = read()?;
        tracing::info!(key = ring.newest(), "field key added");
    }
    db.set_field_keys(ring);
    let mut progress = progress;
    Ok(keys::reseal(db, Reseal::NotNewest, 300, |place, n| progress(&format!("{}.{}", place.table, place.column), n)).await?)
}

/// Appends a line to a key file, durably.
fn append_line(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    writeln!(file, "{line}")?;
    file.sync_all()
}

/// The first line of a new field key file.
const FIELD_KEYS_HEADER: &str = "# veille field keys: id:base64key, the last one seals. Keep apart from the database and its backups.";

/// Creates a key file (audit or field keys) with `lines`, readable by its
/// owner only, and returns what it holds. Never over an existing file: when
/// several instances start together on a new database, the first file made
/// wins and the others read it (the file appears whole: written beside it,
/// then hard-linked to its name, which fails if the name exists).
fn create_or_read(path: &std::path::Path, lines: &[&str]) -> std::io::Result<String> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
    let draft = dir.join(format!(".{name}.{}.new", uuid::Uuid::now_v7()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let made = (|| {
        let mut file = options.open(&draft)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::hard_link(&draft, path)
    })();
    let _ = std::fs::remove_file(&draft);
    match made {
        Ok(()) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path),
        Err(e) => Err(e),
    }
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
