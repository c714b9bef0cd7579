//! The veille web server: server-rendered pages (askama + htmx), the JSON API
//! under `/api/v1`, authentication, and the e-mail outbox worker.

rust_i18n::i18n!("locales", fallback = "fr");

pub mod access_panel;
pub mod api;
pub mod api_contract;
pub mod assets;
pub mod audit_pages;
pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod directory;
pub mod error;
pub mod forms;
pub mod health;
pub mod i18n;
pub mod login;
pub mod mail;
pub mod middleware;
pub mod openapi;
pub mod organisations;
pub mod page;
pub mod people;
pub mod reports;
pub mod rounds;
pub mod routes;
pub mod security;
pub mod sites;
pub mod teams;
pub mod territories;
pub mod users;
pub mod account;

use std::sync::Arc;

use tokio::sync::RwLock;
use veille_domain::TerritoryId;
use veille_geo::TerritoryIndex;
use veille_storage::Db;

pub use clock::Clock;
pub use config::Config;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
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
}

impl AppState {
    /// Builds the state and loads the territory index.
    pub async fn new(db: Db, config: Config, clock: Clock) -> anyhow::Result<Self> {
        let state = Self {
            db,
            config: Arc::new(config),
            clock,
            territories: Arc::new(RwLock::new(TerritoryIndex::new(Vec::new()))),
            reports_cache: Arc::new(reports::Cache::default()),
            duplicates: Arc::default(),
        };
        territories::reload_index(&state).await?;
        Ok(state)
    }
}

/// The whole application as a router (tests call it in process).
pub fn app(state: AppState) -> axum::Router {
    routes::registry().into_router(state)
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let worker = mail::spawn_worker(state.clone());
    let alerts = rounds::alerts::spawn_worker(state.clone());
    let sealer = spawn_audit_sealer(state.db.clone());
    let expiry = people::referrals::spawn_expiry(state.clone());
    let router = app(state.clone());
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    worker.abort();
    alerts.abort();
    sealer.abort();
    expiry.abort();
    // What was written by the last requests is chained before leaving.
    if let Err(e) = veille_storage::audit::seal(&state.db).await {
        tracing::warn!("audit sealer: {e:#}");
    }
    Ok(())
}

/// How often the audit sealer chains the entries committed since its last pass.
pub const AUDIT_SEAL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Chains committed audit entries a few times a second (see `veille_storage::audit`).
pub fn spawn_audit_sealer(db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(AUDIT_SEAL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = veille_storage::audit::seal(&db).await {
                tracing::warn!("audit sealer: {e:#}");
            }
        }
    })
}
