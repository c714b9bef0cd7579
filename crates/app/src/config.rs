//! One typed configuration: defaults → optional TOML file → `VEILLE_*`
//! environment variables (and `DATABASE_URL`). Validated at start.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

/// The configuration of a running instance.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Public base URL, used in e-mailed links and follow-up pages. Empty
    /// (the default): derived from `bind` (`http://127.0.0.1:8080` for the
    /// default address; see [`Config::set_bind`]).
    pub base_url: String,
    /// Minutes without activity before a session ends.
    pub session_idle_minutes: i64,
    /// Hours after which a session ends whatever happens.
    pub session_absolute_hours: i64,
    /// Whether cookies carry `Secure` and the `__Host-` prefix. Unset: yes when
    /// `base_url` is https (a plain-http local instance could not log in otherwise).
    pub secure_cookies: Option<bool>,
    /// SMTP relay host; empty disables sending (mails stay in the outbox).
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// Sender address.
    pub smtp_from: String,
    /// Map tile URL template (e.g. an instance's own tile server); empty shows outlines only.
    pub tile_url: String,
    /// Failed logins per account or per address in 15 minutes before throttling.
    pub login_failures_allowed: i64,
    /// Accept weaker durability settings than WAL + synchronous=FULL / fsync on.
    pub allow_unsafe_durability: bool,
    /// Hours to acknowledge a level 1 signalement (a person acts on it).
    pub report_acknowledge_hours_level_1: i64,
    /// Hours to acknowledge a level 2 signalement.
    pub report_acknowledge_hours_level_2: i64,
    /// Days to answer a level 1 signalement (public answer, or answered/closed).
    pub report_answer_days_level_1: i64,
    /// Days to answer a level 2 signalement.
    pub report_answer_days_level_2: i64,
    /// The Open311 `jurisdiction_id` of this instance (requests naming another are refused with 404).
    pub open311_jurisdiction_id: String,
    /// Open311 requests (POST) a client address, and an account's API tokens,
    /// may send in 10 minutes (every attempt counts); 0: no limit.
    pub open311_posts_allowed: i64,
    /// Days a partner has to answer a referral before it expires back to its sender.
    pub referral_expiry_days: i64,
    /// Days a partner link works (it also ends when the referral is answered, closed or expired).
    pub referral_link_days: i64,
    /// The reverse proxies whose forwarding headers give the client's address
    /// (addresses or networks; none by default: the TCP peer is the client).
    pub trusted_proxies: crate::proxy::TrustedProxies,
    /// The bearer token Prometheus sends to read `/metrics`; empty: only
    /// requests from this machine (loopback) read it.
    pub metrics_token: String,
    /// The audit chain's MAC key as 64 hexadecimal digits (`VEILLE_AUDIT_KEY`);
    /// empty: read from `audit_key_file`. Never printed.
    pub audit_key: String,
    /// The file holding the audit chain's MAC key (64 hexadecimal digits),
    /// outside the database and out of its backups. Created with a new key
    /// when absent and the chain has no keyed entry yet (a new instance, or
    /// the first start after the upgrade); once the chain is keyed a missing
    /// key stops the start.
    pub audit_key_file: String,
    /// The keys sealing the sensitive field groups (health, justice) at rest,
    /// one `id:base64(32 bytes)` per line or separated by commas, the last
    /// one sealing (`VEILLE_FIELD_KEYS`); empty: read from `field_keys_file`.
    /// Never printed.
    pub field_keys: String,
    /// The file holding the field keys (same format), outside the database and
    /// kept apart from its backups. Created with a new key when absent and
    /// the database holds no sealed value; afterwards a missing file stops
    /// the start. `veille keys rotate` appends to it.
    pub field_keys_file: String,
    /// Minutes an audit entry may be dated before the last chained one and
    /// still be sealed; older unsealed entries are refused as back-dated.
    pub audit_seal_window_minutes: i64,
    /// Days without a login or a use of an API token after which an account
    /// is disabled by the instance (its sessions end, its tokens are revoked;
    /// an administrator enables it again). 0: never. Instance administrators
    /// are left alone.
    pub account_inactive_days: i64,
    /// The smallest count shown in aggregated figures that leave an
    /// organisation (readers, other organisations, API, exports, activity
    /// report); smaller non-zero counts show as `< N` (decision 84).
    pub figures_min_cell: i64,
    /// Days a person file stays active after the last contact (then archived).
    pub retention_active_days: i64,
    /// Days an archived person file stays in the restricted archive (then anonymised).
    pub retention_archive_days: i64,
    /// The erasure journal file (ids only), kept outside the database and its
    /// backups: `veille restore` erases again the files it names.
    pub erasure_journal_file: String,
    /// Whether `base_url` was derived from `bind` (not set by the operator).
    #[serde(skip)]
    pub base_url_from_bind: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/veille.db".into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: "http://127.0.0.1:8080".into(),
            base_url_from_bind: true,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            secure_cookies: None,
            smtp_host: String::new(),
            smtp_port: 25,
            smtp_from: "veille@localhost".into(),
            tile_url: String::new(),
            trusted_proxies: crate::proxy::TrustedProxies::default(),
            metrics_token: String::new(),
            audit_key: String::new(),
            audit_key_file: "data/audit.key".into(),
            field_keys: String::new(),
            field_keys_file: "data/fields.key".into(),
            audit_seal_window_minutes: 60,
            account_inactive_days: 180,
            login_failures_allowed: 10,
            allow_unsafe_durability: false,
            report_acknowledge_hours_level_1: 72,
            report_acknowledge_hours_level_2: 24,
            report_answer_days_level_1: 10,
            report_answer_days_level_2: 5,
            open311_jurisdiction_id: "veille".into(),
            open311_posts_allowed: 300,
            referral_expiry_days: 7,
            referral_link_days: 30,
            figures_min_cell: 11,
            retention_active_days: 730,
            retention_archive_days: 1095,
            erasure_journal_file: "data/erasures.jsonl".into(),
        }
    }
}

impl std::fmt::Debug for Config {
    // The database URL may carry a password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database_url.split(':').next().unwrap_or(""))
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_absolute_hours", &self.session_absolute_hours)
            .field("smtp_host", &self.smtp_host)
            .finish_non_exhaustive()
    }
}

/// A configuration problem, naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed.
    #[error("configuration file {path}: {message}")]
    File {
        /// Path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// An environment variable has a bad value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// Variable.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A value is out of range.
    #[error("setting {name}: {message}")]
    Invalid {
        /// Setting.
        name: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Config {
    /// The deadlines of signalements by level.
    pub fn report_deadlines(&self) -> veille_domain::reports::Deadlines {
        veille_domain::reports::Deadlines {
            acknowledge_secs: [self.report_acknowledge_hours_level_1 * 3600, self.report_acknowledge_hours_level_2 * 3600],
            answer_secs: [self.report_answer_days_level_1 * 86_400, self.report_answer_days_level_2 * 86_400],
        }
    }

    /// Whether cookies are `Secure` (and `__Host-` prefixed).
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| self.base_url.starts_with("https://"))
    }

    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>, env: impl Iterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File { path: path.display().to_string(), message: e.to_string() })?;
                let mut c: Config = toml::from_str(&text).map_err(|e| ConfigError::File { path: path.display().to_string(), message: e.to_string() })?;
                c.base_url_from_bind = c.base_url.trim().is_empty() || c.base_url == Config::default().base_url;
                c
            }
            None => Config::default(),
        };
        for (name, value) in env {
            let key = match name.as_str() {
                "DATABASE_URL" => "database_url".to_owned(),
                // Variables of the test harnesses, not settings.
                n if n.starts_with("VEILLE_TEST_") || n == "VEILLE_BIN" => continue,
                n if n.starts_with("VEILLE_") => n["VEILLE_".len()..].to_ascii_lowercase(),
                _ => continue,
            };
            let bad = |message: String| ConfigError::Env { name: name.clone(), message };
            match key.as_str() {
                "database_url" => config.database_url = value,
                "bind" => config.bind = value.parse().map_err(|e| bad(format!("{e}")))?,
                "base_url" => {
                    config.base_url = value;
                    config.base_url_from_bind = false;
                }
                "session_idle_minutes" => config.session_idle_minutes = value.parse().map_err(|e| bad(format!("{e}")))?,
                "session_absolute_hours" => config.session_absolute_hours = value.parse().map_err(|e| bad(format!("{e}")))?,
                "secure_cookies" => config.secure_cookies = Some(value.parse().map_err(|e| bad(format!("{e}")))?),
                "smtp_host" => config.smtp_host = value,
                "smtp_port" => config.smtp_port = value.parse().map_err(|e| bad(format!("{e}")))?,
                "smtp_from" => config.smtp_from = value,
                "tile_url" => config.tile_url = value,
                "metrics_token" => config.metrics_token = value,
                "audit_key" => config.audit_key = value,
                "audit_key_file" => config.audit_key_file = value,
                "field_keys" => config.field_keys = value,
                "field_keys_file" => config.field_keys_file = value,
                "account_inactive_days" => config.account_inactive_days = value.parse().map_err(|e| bad(format!("{e}")))?,
                "audit_seal_window_minutes" => config.audit_seal_window_minutes = value.parse().map_err(|e| bad(format!("{e}")))?,
                "trusted_proxies" => config.trusted_proxies = crate::proxy::TrustedProxies::parse(&value).map_err(bad)?,
                "login_failures_allowed" => config.login_failures_allowed = value.parse().map_err(|e| bad(format!("{e}")))?,
                "allow_unsafe_durability" => config.allow_unsafe_durability = value.parse().map_err(|e| bad(format!("{e}")))?,
                "report_acknowledge_hours_level_1" => config.report_acknowledge_hours_level_1 = value.parse().map_err(|e| bad(format!("{e}")))?,
                "report_acknowledge_hours_level_2" => config.report_acknowledge_hours_level_2 = value.parse().map_err(|e| bad(format!("{e}")))?,
                "report_answer_days_level_1" => config.report_answer_days_level_1 = value.parse().map_err(|e| bad(format!("{e}")))?,
                "report_answer_days_level_2" => config.report_answer_days_level_2 = value.parse().map_err(|e| bad(format!("{e}")))?,
                "open311_jurisdiction_id" => config.open311_jurisdiction_id = value,
                "open311_posts_allowed" => config.open311_posts_allowed = value.parse().map_err(|e| bad(format!("{e}")))?,
                "referral_expiry_days" => config.referral_expiry_days = value.parse().map_err(|e| bad(format!("{e}")))?,
                "referral_link_days" => config.referral_link_days = value.parse().map_err(|e| bad(format!("{e}")))?,
                "figures_min_cell" => config.figures_min_cell = value.parse().map_err(|e| bad(format!("{e}")))?,
                "retention_active_days" => config.retention_active_days = value.parse().map_err(|e| bad(format!("{e}")))?,
                "retention_archive_days" => config.retention_archive_days = value.parse().map_err(|e| bad(format!("{e}")))?,
                "erasure_journal_file" => config.erasure_journal_file = value,
                // Variables read by the binary itself, not settings.
                "config" | "demo" | "log" | "log_format" => {}
                _ => return Err(bad("unknown setting".into())),
            }
        }
        if config.base_url.trim().is_empty() {
            config.base_url_from_bind = true;
        }
        if config.base_url_from_bind {
            config.base_url = Self::url_of(config.bind);
        }
        config.validate()?;
        Ok(config)
    }

    /// The address links point to when none is set: the bound address, or
    /// the loopback for an address that listens everywhere.
    fn url_of(bind: SocketAddr) -> String {
        let host = if bind.ip().is_unspecified() { "127.0.0.1".to_owned() } else { bind.ip().to_string() };
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        format!("http://{host}:{}", bind.port())
    }

    /// Listens on `bind` (the command line's `--bind`); links follow it unless
    /// a base URL was set.
    pub fn set_bind(&mut self, bind: SocketAddr) {
        self.bind = bind;
        if self.base_url_from_bind {
            self.base_url = Self::url_of(bind);
        }
    }

    /// What looks wrong about the links this instance will mail, said at
    /// start: a derived base URL on an address that listens everywhere (the
    /// links would point to this machine only), or a loopback base URL on
    /// another port than the one bound.
    pub fn base_url_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.base_url_from_bind && self.bind.ip().is_unspecified() {
            out.push(format!(
                "links in mails and follow-up pages point to {} (derived from --bind {}): set VEILLE_BASE_URL to the address people use",
                self.base_url, self.bind
            ));
        }
        if let Ok(url) = url::Url::parse(&self.base_url) {
            let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if loopback && url.port_or_known_default() != Some(self.bind.port()) {
                out.push(format!(
                    "base_url {} names another port than the one bound ({}): links in mails will not reach this instance",
                    self.base_url, self.bind
                ));
            }
        }
        out
    }

    fn validate(&self) -> Result<(), ConfigError> {
        veille_storage::Backend::from_url(&self.database_url).map_err(|e| ConfigError::Invalid { name: "database_url", message: e.to_string() })?;
        if !(1..=24 * 60).contains(&self.session_idle_minutes) {
            return Err(ConfigError::Invalid { name: "session_idle_minutes", message: "between 1 and 1440".into() });
        }
        if !(1..=24 * 7).contains(&self.session_absolute_hours) {
            return Err(ConfigError::Invalid { name: "session_absolute_hours", message: "between 1 and 168".into() });
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(ConfigError::Invalid { name: "base_url", message: "must start with http:// or https://".into() });
        }
        for (name, hours) in [
            ("report_acknowledge_hours_level_1", self.report_acknowledge_hours_level_1),
            ("report_acknowledge_hours_level_2", self.report_acknowledge_hours_level_2),
        ] {
            if !(1..=24 * 90).contains(&hours) {
                return Err(ConfigError::Invalid { name, message: "between 1 and 2160 hours".into() });
            }
        }
        for (name, days) in [("report_answer_days_level_1", self.report_answer_days_level_1), ("report_answer_days_level_2", self.report_answer_days_level_2)] {
            if !(1..=365).contains(&days) {
                return Err(ConfigError::Invalid { name, message: "between 1 and 365 days".into() });
            }
        }
        if self.open311_jurisdiction_id.trim().is_empty() {
            return Err(ConfigError::Invalid { name: "open311_jurisdiction_id", message: "must not be empty".into() });
        }
        if !(1..=90).contains(&self.referral_expiry_days) {
            return Err(ConfigError::Invalid { name: "referral_expiry_days", message: "between 1 and 90".into() });
        }
        if !(2..=1000).contains(&self.figures_min_cell) {
            return Err(ConfigError::Invalid { name: "figures_min_cell", message: "between 2 and 1000".into() });
        }
        if !(1..=180).contains(&self.referral_link_days) {
            return Err(ConfigError::Invalid { name: "referral_link_days", message: "between 1 and 180".into() });
        }
        if !self.audit_key.is_empty() && veille_storage::audit::AuditKey::from_hex(&self.audit_key).is_none() {
            return Err(ConfigError::Invalid { name: "audit_key", message: "64 hexadecimal digits (32 bytes)".into() });
        }
        if self.audit_key.is_empty() && self.audit_key_file.trim().is_empty() {
            return Err(ConfigError::Invalid { name: "audit_key_file", message: "must name a file when audit_key is not set".into() });
        }
        if !self.field_keys.trim().is_empty() {
            veille_storage::field_keys::KeyRing::parse(&self.field_keys).map_err(|message| ConfigError::Invalid { name: "field_keys", message })?;
        }
        if self.field_keys.trim().is_empty() && self.field_keys_file.trim().is_empty() {
            return Err(ConfigError::Invalid { name: "field_keys_file", message: "must name a file when field_keys is not set".into() });
        }
        if !(1..=24 * 60).contains(&self.audit_seal_window_minutes) {
            return Err(ConfigError::Invalid { name: "audit_seal_window_minutes", message: "between 1 and 1440".into() });
        }
        if self.open311_posts_allowed < 0 {
            return Err(ConfigError::Invalid { name: "open311_posts_allowed", message: "0 (no limit) or more".into() });
        }
        if !(0..=3650).contains(&self.account_inactive_days) {
            return Err(ConfigError::Invalid { name: "account_inactive_days", message: "between 0 (never) and 3650".into() });
        }
        for (name, days) in [("retention_active_days", self.retention_active_days), ("retention_archive_days", self.retention_archive_days)] {
            if !(30..=3650).contains(&days) {
                return Err(ConfigError::Invalid { name, message: "between 30 and 3650 days".into() });
            }
        }
        if self.login_failures_allowed < 1 {
            return Err(ConfigError::Invalid { name: "login_failures_allowed", message: "at least 1".into() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn environment_overrides_defaults() {
        let c = Config::load(None, env(&[("DATABASE_URL", "postgres://h/db"), ("VEILLE_BIND", "0.0.0.0:9000"), ("PATH", "/bin")])).unwrap();
        assert_eq!(c.database_url, "postgres://h/db");
        assert_eq!(c.bind.port(), 9000);
    }

    #[test]
    fn errors_name_the_variable() {
        let e = Config::load(None, env(&[("VEILLE_SESSION_IDLE_MINUTES", "soon")])).unwrap_err();
        assert!(e.to_string().contains("VEILLE_SESSION_IDLE_MINUTES"), "{e}");
        let e = Config::load(None, env(&[("VEILLE_NO_SUCH_THING", "1")])).unwrap_err();
        assert!(e.to_string().contains("VEILLE_NO_SUCH_THING"), "{e}");
        let e = Config::load(None, env(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(e.to_string().contains("database_url"), "{e}");
    }

    #[test]
    fn referral_time_limits_come_from_the_environment_and_are_bounded() {
        let c = Config::load(None, env(&[("VEILLE_REFERRAL_EXPIRY_DAYS", "3"), ("VEILLE_REFERRAL_LINK_DAYS", "10")])).unwrap();
        assert_eq!((c.referral_expiry_days, c.referral_link_days), (3, 10));
        let d = Config::default();
        assert_eq!((d.referral_expiry_days, d.referral_link_days), (7, 30));
        let e = Config::load(None, env(&[("VEILLE_REFERRAL_EXPIRY_DAYS", "0")])).unwrap_err();
        assert!(e.to_string().contains("referral_expiry_days"), "{e}");
    }

    #[test]
    fn links_follow_the_bound_address_unless_a_base_url_is_set() {
        let mut c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:8080");
        c.set_bind("127.0.0.1:9123".parse().unwrap());
        assert_eq!(c.base_url, "http://127.0.0.1:9123");
        assert!(c.base_url_warnings().is_empty());
        c.set_bind("0.0.0.0:80".parse().unwrap());
        assert_eq!(c.base_url, "http://127.0.0.1:80");
        assert_eq!(c.base_url_warnings().len(), 1, "listening everywhere: say to set the base URL");
        let mut set = Config::load(None, env(&[("VEILLE_BASE_URL", "https://veille.exemple.fr")])).unwrap();
        set.set_bind("127.0.0.1:9123".parse().unwrap());
        assert_eq!(set.base_url, "https://veille.exemple.fr");
        let mut wrong = Config::load(None, env(&[("VEILLE_BASE_URL", "http://127.0.0.1:8080")])).unwrap();
        wrong.set_bind("127.0.0.1:9123".parse().unwrap());
        assert_eq!(wrong.base_url_warnings().len(), 1, "a loopback link on another port");
        let from_bind = Config::load(None, env(&[("VEILLE_BIND", "127.0.0.1:7000")])).unwrap();
        assert_eq!(from_bind.base_url, "http://127.0.0.1:7000");
    }

    #[test]
    fn debug_hides_database_password() {
        let c = Config::load(None, env(&[("DATABASE_URL", "postgres://u:hunter2@h/db")])).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
