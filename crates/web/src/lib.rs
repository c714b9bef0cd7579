//! The veille web server: server-rendered pages (askama + htmx), the JSON API
//! under `/api/v1`, authentication, and the e-mail outbox worker.

pub mod access_panel;
pub mod account;
pub mod api;
pub mod api_contract;
pub mod assets;
pub mod audit_pages;
pub mod auth;
pub mod cases;
pub mod directory;
pub mod error;
pub mod exports;
pub mod figures;
pub mod forms;
pub mod health;
pub mod i18n;
pub mod imports;
pub mod login;
pub mod meetings;
pub mod middleware;
pub mod neighbourhood;
pub mod openapi;
pub mod organisations;
pub mod page;
pub mod pager;
pub mod people;
pub mod privacy;
pub mod reports;
pub mod rights;
pub mod rounds;
pub mod routes;
pub mod shelter;
pub mod sites;
pub mod sync;
pub mod teams;
pub mod territories;
pub mod users;

pub use veille_app::{App as AppState, Clock, Config};

/// The whole application as a router (tests call it in process).
pub fn app(state: AppState) -> axum::Router {
    // The recorder is installed before the first request, so the first
    // scrape already counts what came before it.
    health::metrics_handle();
    routes::registry().into_router(state)
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let tasks = veille_app::tasks::spawn(&state);
    let router = app(state.clone());
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await?;
    drop(tasks);
    // What was written by the last requests is chained before leaving.
    if let Err(e) = veille_app::instance::seal_audit(&state).await {
        tracing::warn!("audit sealer: {e:#}");
    }
    Ok(())
}

pub use veille_app::tasks::{spawn_audit_sealer, AUDIT_SEAL_INTERVAL};
pub use veille_app::{demo, mail, security};
