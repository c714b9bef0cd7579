//! Every route of veille, each declared with its access rule. A route cannot
//! be added without one: the registry is the only way into the router, and
//! the authorization matrix test walks [`registry`] and fails on any route
//! missing from its expectation table.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use serde::Serialize;

use crate::auth::Authenticated;
use crate::error::{AppError, ErrorKind};
use crate::AppState;
use crate::{account, api, assets, audit_pages, directory, health, login, middleware, openapi, organisations, people, reports, teams, territories, users};

/// Who may reach a route at all. Object-level rules (which organisation,
/// territory, case) are then decided in the handler by the permission function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone, without an account.
    Public,
    /// An account whose password was checked and whose second factor is due.
    PendingSecondFactor,
    /// A fully authenticated account (session with second factor, or API token).
    Signed,
}

/// A declared route.
#[derive(Clone, Debug, Serialize)]
pub struct RouteSpec {
    /// HTTP method.
    #[serde(serialize_with = "ser_method")]
    pub method: Method,
    /// Path template, axum syntax (`/users/{id}`).
    pub path: &'static str,
    /// Access rule.
    pub access: Access,
    /// One line for the OpenAPI document and the docs.
    pub summary: &'static str,
    /// How an API route's body, answer and query parameters are described in
    /// the OpenAPI document (empty for pages).
    #[serde(skip)]
    pub doc: ApiDoc,
}

/// Builds the JSON Schema of a type into the OpenAPI document's components.
pub type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

/// The schema of `T` (a `$ref` into `#/components/schemas`), for [`ApiDoc`].
pub fn schema<T: schemars::JsonSchema>(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<T>()
}

/// A query parameter of an API route.
#[derive(Clone, Copy, Debug)]
pub struct QueryParam {
    /// Its name.
    pub name: &'static str,
    /// Its JSON Schema, as JSON text (`{"type": "number", "minimum": -90, "maximum": 90}`),
    /// with the bounds the handler enforces, so generated clients and fuzzers
    /// know what is valid. Parsed when the OpenAPI document is built (a test
    /// builds it).
    pub schema: &'static str,
    /// Whether it must be given.
    pub required: bool,
}

/// The OpenAPI description of an API route beyond its path and access.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiDoc {
    /// The JSON body it takes.
    pub request: Option<SchemaFn>,
    /// The JSON answer on success.
    pub response: Option<SchemaFn>,
    /// Query parameters.
    pub query: &'static [QueryParam],
    /// The success status (200 when 0).
    pub status: u16,
}

impl ApiDoc {
    /// Takes a JSON body of this schema (`schema::<T>`).
    pub fn request(mut self, f: SchemaFn) -> Self {
        self.request = Some(f);
        self
    }
    /// Answers with this schema.
    pub fn response(mut self, f: SchemaFn) -> Self {
        self.response = Some(f);
        self
    }
    /// Takes these query parameters.
    pub fn query(mut self, q: &'static [QueryParam]) -> Self {
        self.query = q;
        self
    }
    /// Answers this status on success (201 for a creation).
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

fn ser_method<S: serde::Serializer>(m: &Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

impl RouteSpec {
    /// `GET /users/{id}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
    /// Whether this route belongs to the JSON API.
    pub fn is_api(&self) -> bool {
        self.path.starts_with("/api/v1/")
    }
}

/// The routes and their handlers.
#[derive(Default)]
pub struct Registry {
    entries: Vec<(RouteSpec, MethodRouter<AppState>)>,
}

impl Registry {
    pub(crate) fn add(mut self, method: Method, path: &'static str, access: Access, summary: &'static str, handler: MethodRouter<AppState>) -> Self {
        self.entries.push((RouteSpec { method, path, access, summary, doc: ApiDoc::default() }, handler));
        self
    }
    /// Describes the route added last for the OpenAPI document.
    pub(crate) fn doc(mut self, doc: ApiDoc) -> Self {
        if let Some((spec, _)) = self.entries.last_mut() {
            spec.doc = doc;
        }
        self
    }
    pub(crate) fn get(self, path: &'static str, access: Access, summary: &'static str, handler: MethodRouter<AppState>) -> Self {
        self.add(Method::GET, path, access, summary, handler)
    }
    pub(crate) fn post(self, path: &'static str, access: Access, summary: &'static str, handler: MethodRouter<AppState>) -> Self {
        self.add(Method::POST, path, access, summary, handler)
    }
    pub(crate) fn put(self, path: &'static str, access: Access, summary: &'static str, handler: MethodRouter<AppState>) -> Self {
        self.add(Method::PUT, path, access, summary, handler)
    }

    /// Adds the routes a domain module declares (`reports::routes`…): each
    /// module owns its routes, and this registry stays the only way in.
    pub(crate) fn with(self, routes: fn(Registry) -> Registry) -> Self {
        routes(self)
    }

    /// Adds a route from outside (used by the test that proves an undeclared
    /// route fails the matrix).
    pub fn with_route(self, spec: RouteSpec, handler: MethodRouter<AppState>) -> Self {
        let doc = spec.doc;
        self.add(spec.method, spec.path, spec.access, spec.summary, handler).doc(doc)
    }

    /// The declared routes.
    pub fn specs(&self) -> Vec<RouteSpec> {
        self.entries.iter().map(|(s, _)| s.clone()).collect()
    }

    /// Builds the router with its layers.
    pub fn into_router(self, state: AppState) -> Router {
        let mut router: Router<AppState> = Router::new();
        for (spec, handler) in self.entries {
            // The query check runs inside the access check: a caller who may
            // not use the route learns nothing from it.
            let handler = if spec.is_api() && !spec.doc.query.is_empty() {
                let params = std::sync::Arc::new(crate::api_contract::prepare(spec.doc.query));
                handler.route_layer(from_fn(move |req: Request, next: Next| crate::api_contract::enforce(params.clone(), req, next)))
            } else {
                handler
            };
            let guarded = match spec.access {
                Access::Signed => handler.route_layer(from_fn_with_state(state.clone(), require_signed)),
                Access::Public | Access::PendingSecondFactor => handler,
            };
            router = router.route(spec.path, guarded);
        }
        router
            .fallback(|| async { AppError::not_found().into_response() })
            // A handler that panics answers 500 like any other internal error
            // (the connection is not dropped); render_errors then words it.
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| AppError::new(ErrorKind::Internal).into_response()))
            .layer(from_fn(middleware::query_without_nul))
            .layer(from_fn_with_state(state.clone(), middleware::render_errors))
            .layer(from_fn_with_state(state.clone(), middleware::csrf_cookie))
            .layer(from_fn_with_state(state.clone(), middleware::security_headers))
            .layer(axum::extract::DefaultBodyLimit::max(crate::territories::MAX_IMPORT_BYTES + 64 * 1024))
            .layer(from_fn(middleware::observe))
            .layer(from_fn(middleware::run_to_completion))
            .with_state(state)
    }
}

/// Refuses requests that are not fully authenticated; hands the identity on.
async fn require_signed(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    match crate::auth::authenticate(&parts, &state).await {
        Ok(Some(who)) => {
            tracing::Span::current().record("user", who.account.id.to_string());
            parts.extensions.insert::<Authenticated>(who);
            next.run(Request::from_parts(parts, body)).await
        }
        Ok(None) => AppError::new(ErrorKind::Unauthenticated).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Every route of veille.
pub fn registry() -> Registry {
    use Access::*;
    Registry::default()
        // Operations
        .get("/healthz", Public, "Liveness", get(health::healthz))
        .get("/readyz", Public, "Readiness (database answers)", get(health::readyz))
        .get("/metrics", Public, "Prometheus metrics", get(health::metrics))
        .get("/static/{file}", Public, "Embedded CSS, scripts and libraries", get(assets::file))
        .get("/favicon.ico", Public, "The icon", get(assets::favicon))
        .get("/manifest.webmanifest", Public, "The web app manifest: install veille on a phone's home screen", get(assets::manifest))
        .get("/sw.js", Public, "The service worker: pages opened and static files kept for offline work", get(assets::service_worker))
        // Login and account set-up
        .get("/login", Public, "Login form", get(login::login_form))
        .post("/login", Public, "Check e-mail and password", post(login::login))
        .get("/login/second-factor", PendingSecondFactor, "Second factor form", get(login::second_factor_form))
        .post("/login/second-factor", PendingSecondFactor, "Check a TOTP or recovery code", post(login::second_factor))
        .get("/enrol", PendingSecondFactor, "Enrol a TOTP second factor", get(login::enrol_form))
        .post("/enrol", PendingSecondFactor, "Confirm the second factor", post(login::enrol))
        .get("/password/forgot", Public, "Forgotten password form", get(login::forgot_form))
        .post("/password/forgot", Public, "Send a reset link", post(login::forgot))
        .get("/password/reset/{token}", Public, "New password form", get(login::reset_form))
        .post("/password/reset/{token}", Public, "Set a new password", post(login::reset))
        .get("/invitation/{token}", Public, "Accept an invitation", get(login::invitation_form))
        .post("/invitation/{token}", Public, "Create the invited account", post(login::accept_invitation))
        .post("/lang", Public, "Switch language", post(login::switch_lang))
        .get("/vie-privee", Public, "The notice for the people recorded: their data and rights", get(crate::privacy::default))
        .get("/vie-privee/{language}", Public, "The notice in one of the languages met (fr, en, ar, ro, prs)", get(crate::privacy::in_language))
        .post("/logout", Signed, "Log out", post(login::logout))
        .post("/logout/everywhere", Signed, "End every session of the account", post(login::logout_everywhere))
        // Pages
        .get("/", Signed, "Home", get(account::home))
        .get("/account", Signed, "Own account, sessions and API tokens", get(account::show))
        .post("/account/tokens", Signed, "Create an API token", post(account::create_token))
        .post("/account/password", Signed, "Change one's password (current password first)", post(account::change_password))
        .post("/account/email", Signed, "Change one's login e-mail (current password first)", post(account::change_email))
        .post("/account/second-factor", Signed, "Renew one's second factor (current password first)", post(account::renew_second_factor))
        .post("/account/tokens/{id}/revoke", Signed, "Revoke an API token", post(account::revoke_token))
        .get("/organisations", Signed, "Organisations", get(organisations::list))
        .post("/organisations", Signed, "Create an organisation", post(organisations::create))
        .get("/organisations/{id}", Signed, "An organisation", get(organisations::show))
        .post("/organisations/{id}/invitations", Signed, "Invite a user", post(organisations::invite))
        .post("/organisations/{id}/teams", Signed, "Create a team", post(organisations::create_team))
        .post("/organisations/{id}/child-protection", Signed, "Set the organisation's child-protection guidance", post(organisations::set_child_protection))
        .post(
            "/organisations/{id}/safety-rules",
            Signed,
            "Set the organisation's team safety rules, shown at round check-in",
            post(organisations::set_safety_rules),
        )
        .post(
            "/organisations/{id}/on-call",
            Signed,
            "Put an account of the organisation on its on-call list (who receives the alerts)",
            post(organisations::add_on_call),
        )
        .post("/organisations/{id}/on-call/remove", Signed, "Take an entry off the organisation's on-call list", post(organisations::remove_on_call))
        .get("/users/{id}", Signed, "An account (audited read)", get(users::show))
        .post("/users/{id}/disable", Signed, "Disable an account", post(users::disable))
        .post("/users/{id}/enable", Signed, "Enable an account", post(users::enable))
        .post("/users/{id}/reset-second-factor", Signed, "Reset an account's second factor", post(users::reset_second_factor))
        .post("/users/{id}/grants", Signed, "Change role, territories, field groups", post(users::grants))
        .get("/teams/{id}", Signed, "A team", get(teams::show))
        .post("/teams/{id}/members", Signed, "Add a team member", post(teams::add_member))
        .post("/teams/{id}/members/remove", Signed, "Remove a team member", post(teams::remove_member))
        .get("/territories", Signed, "Territories and map", get(territories::list))
        .get("/territories.geojson", Signed, "Territories as GeoJSON", get(territories::geojson))
        .post("/territories/import", Signed, "Import territories from GeoJSON", post(territories::import_upload))
        .get("/territories/{id}", Signed, "A territory", get(territories::show))
        .get("/audit", Signed, "Audit log", get(audit_pages::page))
        // JSON API
        .get("/api/v1/openapi.json", Public, "This OpenAPI document", get(openapi::document))
        .get("/api/v1/me", Signed, "The calling account", get(api::me))
        .get("/api/v1/organisations", Signed, "Organisations the caller may read", get(api::organisations))
        .get("/api/v1/organisations/{id}", Signed, "An organisation", get(api::organisation))
        .get("/api/v1/users/{id}", Signed, "An account (audited read)", get(api::user))
        .get("/api/v1/teams/{id}", Signed, "A team and its members", get(api::team))
        .get("/api/v1/territories", Signed, "Territories", get(api::territories))
        .get("/api/v1/territories/lookup", Signed, "The territory containing a point", get(territories::lookup))
        .doc(ApiDoc::default().query(&[
            QueryParam { name: "lon", schema: r#"{"type": "number", "minimum": -180, "maximum": 180}"#, required: true },
            QueryParam { name: "lat", schema: r#"{"type": "number", "minimum": -90, "maximum": 90}"#, required: true },
        ]))
        .get("/api/v1/audit", Signed, "Audit log entries", get(audit_pages::api))
        .get("/api/v1/access/{kind}/{id}", Signed, "Who can see a record, and why", get(api::access))
        // Domains, each declaring its own routes
        .with(reports::routes)
        .with(crate::sites::routes)
        .with(crate::rounds::routes)
        .with(directory::routes)
        .with(people::routes)
        .with(crate::shelter::routes)
        .with(crate::cases::routes)
        .with(crate::meetings::routes)
        .with(crate::neighbourhood::routes)
        .with(crate::figures::routes)
        .with(crate::rights::routes)
        .with(crate::imports::routes)
        .with(crate::sync::routes)
        .with(crate::exports::routes)
}
