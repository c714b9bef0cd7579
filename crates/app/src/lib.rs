//! The application layer of veille: one command or query per use case.
//!
//! Each owns its validation (newtypes from `veille-domain`), its authorization
//! (the one permission function, through [`Caller`]), its transaction, its
//! audit entry, its timeline event and its outbox mail. The adapters — the
//! web pages and JSON API, Open311, the CLI, background tasks — translate
//! input and render output; they hold no SQL and no business rule. Storage
//! queries that return personal records take the caller's
//! [`Scope`](veille_storage::Scope), which only a [`Caller`] or a named
//! instance task can make.

pub mod access_panel;
pub mod accounts;
pub mod caller;
pub mod cases;
pub mod clock;
pub mod config;
pub mod demo;
pub mod directory;
pub mod error;
pub mod escalations;
pub mod exports;
pub mod fields;
pub mod figures;
pub mod home;
pub mod identity;
pub mod imports;
pub mod instance;
pub mod login;
pub mod mail;
pub mod meetings;
pub mod navigation;
pub mod neighbourhood;
pub mod on_call;
pub mod paging;
pub mod people;
pub mod proxy;
pub mod reports;
pub mod rights;
pub mod rounds;
pub mod scale;
pub mod security;
pub mod shelter;
pub mod sites;
pub mod sync;
pub mod tasks;
pub mod territories;

use std::sync::Arc;

use tokio::sync::RwLock;
use veille_domain::TerritoryId;
use veille_geo::TerritoryIndex;
use veille_storage::Db;

pub use caller::Caller;
pub use clock::Clock;
pub use config::Config;
pub use error::{found, Error, ErrorKind, Result};
pub use fields::FieldErrors;
pub use veille_i18n::Lang;

/// What every command and query shares: the database, the configuration, the
/// clock, the territory index and the caches of rarely changing lookups.
#[derive(Clone)]
pub struct App {
    /// The database.
    pub db: Db,
    /// Configuration.
    pub config: Arc<Config>,
    /// The clock.
    pub clock: Clock,
    /// Point → territory lookup, rebuilt after each territory import.
    pub territories: Arc<RwLock<TerritoryIndex<TerritoryId>>>,
    /// What signalement intake reads and rarely changes (routing table…).
    pub reports_cache: Arc<reports::Cache>,
    /// Probable duplicates of people (built at first use, caught up from the database).
    pub duplicates: Arc<people::duplicates::DuplicateIndex>,
    /// The audit chain's sealer (its MAC key, kept outside the database, and window).
    pub audit: Arc<veille_storage::audit::Sealer>,
    /// The intake's group commit (the writer of this instance).
    pub committer: reports::Committer,
    /// The dashboards of past periods kept while what they count is unchanged.
    pub figures: Arc<figures::kept::Kept>,
    /// The API tokens read lately for Open311's writes (decision 118).
    pub kept_tokens: Arc<identity::KeptTokens>,
}

impl App {
    /// Builds the application and loads the territory index.
    pub async fn new(db: Db, config: Config, clock: Clock) -> anyhow::Result<Self> {
        if db.field_keys().is_none() {
            instance::field_keys(&db, &config).await?;
        }
        let audit = Arc::new(instance::audit_sealer(&db, &config).await?);
        let app = Self {
            audit,
            committer: reports::Committer::start(db.clone()).map_err(|e| anyhow::anyhow!("starting the intake's writer: {e}"))?,
            db,
            config: Arc::new(config),
            clock,
            territories: Arc::new(RwLock::new(TerritoryIndex::new(Vec::new()))),
            reports_cache: Arc::new(reports::Cache::default()),
            duplicates: Arc::default(),
            figures: Arc::default(),
            kept_tokens: Arc::default(),
        };
        territories::reload_index(&app).await?;
        Ok(app)
    }
}
