//! Login, second factor, throttling, sessions.

use axum::http::StatusCode;
use veille_domain::Role;
use veille_storage::organisations::{self, InstanceSettings};
use veille_web::Config;

use crate::helpers::*;

const PW: &str = "une phrase de passe assez longue";

async fn app_with_user(role: Role) -> (TestApp, veille_domain::UserId) {
    let app = TestApp::new().await;
    let org = app.org("Org A", true).await;
    let user = app.user(org, role, "agent@exemple.fr", Some(PW), None).await;
    (app, user)
}

#[tokio::test]
async fn password_alone_never_opens_a_session() {
    let (app, user) = app_with_user(Role::Coordinator).await;
    let secret = app.enrol(user).await;
    let mut c = app.client();
    let r = c.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/login/second-factor"));
    // Pages and API refuse the half-logged session.
    assert_eq!(c.get("/").await.location(), Some("/login"));
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    // Wrong code refused, with the message next to the field.
    let r = c.post("/login/second-factor", &[("code", "000000")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("code-error"), "{}", r.body);
    // The right code opens the session.
    let r = c.post("/login/second-factor", &[("code", &app.code(&secret))]).await;
    assert_eq!(r.location(), Some("/"));
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_totp_code_works_once() {
    let (app, user) = app_with_user(Role::FieldWorker).await;
    let secret = app.enrol(user).await;
    let code = app.code(&secret);
    let mut first = app.client();
    first.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await;
    assert_eq!(first.post("/login/second-factor", &[("code", &code)]).await.location(), Some("/"));
    let mut second = app.client();
    second.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await;
    let r = second.post("/login/second-factor", &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "replayed code must be refused");
}

#[tokio::test]
async fn first_login_enrols_totp_and_gives_recovery_codes() {
    let (app, _) = app_with_user(Role::Coordinator).await;
    let mut c = app.client();
    let r = c.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await;
    assert_eq!(r.location(), Some("/enrol"));
    let page = c.get("/enrol").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<svg"), "QR code shown");
    let secret = page.body.split("id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    // A wrong code keeps the same secret and says what to fix.
    let r = c.post("/enrol", &[("code", "123")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(&secret));
    let r = c.post("/enrol", &[("code", &app.code(&secret))]).await;
    assert_eq!(r.status, StatusCode::OK);
    let codes: Vec<String> = r.body.split("<li><code>").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::OK);
    // A recovery code works once as a second factor.
    app.state.clock.advance_seconds(60);
    for (i, expected) in [(0, Some("/")), (1, None)] {
        let mut other = app.client();
        other.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await;
        let r = other.post("/login/second-factor", &[("code", &codes[0].to_uppercase())]).await;
        assert_eq!(r.location(), expected, "attempt {i}");
    }
}

#[tokio::test]
async fn throttles_an_account_after_repeated_failures_without_hurting_others() {
    let (app, user) = app_with_user(Role::Coordinator).await;
    let org = app.org("Org B", false).await;
    app.user(org, Role::Coordinator, "other@exemple.fr", Some(PW), None).await;
    app.enrol(user).await;
    let mut c = app.client();
    for _ in 0..10 {
        let r = c.post("/login", &[("email", "agent@exemple.fr"), ("password", "wrong password here")]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("agent@exemple.fr"), "typed e-mail kept");
    }
    // Even the right password is now refused, with a clear message.
    let r = c.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("15 minutes"), "{}", r.body);
    // Another account from the same address is not affected.
    let r = c.post("/login", &[("email", "other@exemple.fr"), ("password", PW)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // After the window the account may try again.
    app.state.clock.advance_seconds(15 * 60 + 1);
    let r = c.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_absolute_end() {
    let config = Config { session_idle_minutes: 30, session_absolute_hours: 2, ..Config::default() };
    let app = TestApp::with_config(config).await;
    let org = app.org("Org A", true).await;
    let user = app.user(org, Role::Coordinator, "agent@exemple.fr", None, None).await;
    // Idle timeout.
    let mut c = app.session_for(user, false).await;
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    app.state.clock.advance_seconds(29 * 60);
    assert_eq!(c.get("/").await.status, StatusCode::OK, "activity within the idle time keeps it");
    app.state.clock.advance_seconds(31 * 60);
    assert_eq!(c.get("/").await.location(), Some("/login"), "idle session ended");
    assert_eq!(c.get("/").await.location(), Some("/login"));
}

#[tokio::test]
async fn absolute_lifetime_ends_an_active_session() {
    let config = Config { session_absolute_hours: 1, ..Config::default() };
    let app = TestApp::with_config(config).await;
    let org = app.org("Org A", true).await;
    let user = app.user(org, Role::Coordinator, "agent@exemple.fr", Some(PW), None).await;
    let secret = app.enrol(user).await;
    let mut c = app.client();
    c.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await;
    c.post("/login/second-factor", &[("code", &app.code(&secret))]).await;
    for _ in 0..5 {
        app.state.clock.advance_seconds(10 * 60);
        assert_eq!(c.get("/").await.status, StatusCode::OK);
    }
    app.state.clock.advance_seconds(11 * 60);
    assert_eq!(c.get("/").await.location(), Some("/login"));
}

#[tokio::test]
async fn logout_everywhere_and_disabling_end_sessions_and_tokens() {
    let (app, user) = app_with_user(Role::Coordinator).await;
    let mut phone = app.session_for(user, false).await;
    let mut laptop = app.session_for(user, false).await;
    let r = laptop.post("/account/tokens", &[("name", "sync"), ("scope", "read"), ("days", "30")]).await;
    assert_eq!(r.status, StatusCode::OK);
    let token = r.body.split("id=\"new-token\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let mut api = app.client();
    api.bearer = Some(token.clone());
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::OK);
    // A read token cannot write.
    assert_eq!(api.post("/account/tokens", &[("name", "x"), ("scope", "read"), ("days", "1")]).await.status, StatusCode::FORBIDDEN);
    laptop.post("/logout/everywhere", &[]).await;
    assert_eq!(phone.get("/").await.location(), Some("/login"));
    assert_eq!(laptop.get("/").await.location(), Some("/login"));
    // Disabling the account kills its tokens at the next request.
    let mut tx = app.db().begin().await.unwrap();
    veille_storage::accounts::set_disabled(&mut tx, user, true, app.state.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn demo_accounts_skip_the_second_factor_only_on_a_demo_instance() {
    let app = TestApp::new().await;
    let org = app.org("Org A", true).await;
    let mut tx = app.db().begin().await.unwrap();
    veille_storage::accounts::create(
        &mut tx,
        &veille_storage::accounts::NewAccount {
            organisation: org,
            email: veille_domain::EmailAddress::parse("demo@exemple.fr").unwrap(),
            display_name: "Demo".into(),
            role: Role::Coordinator,
            password_hash: Some(veille_web::security::hash_password(PW).unwrap()),
            territories: None,
            field_groups: vec![],
            demo_account: true,
        },
        app.state.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.user(org, Role::Coordinator, "real@exemple.fr", Some(PW), None).await;
    // Not a demo instance: the demo account needs its second factor like everyone.
    let mut c = app.client();
    assert_eq!(c.post("/login", &[("email", "demo@exemple.fr"), ("password", PW)]).await.location(), Some("/enrol"));
    assert_eq!(c.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    // Demo instance: the demo account goes straight in, the ordinary one does not.
    let mut tx = app.db().begin().await.unwrap();
    organisations::set_settings(&mut tx, &InstanceSettings { name: "demo".into(), demo: true }, app.state.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = app.client();
    assert_eq!(c.post("/login", &[("email", "demo@exemple.fr"), ("password", PW)]).await.location(), Some("/"));
    assert!(c.get("/").await.body.contains("demo-banner"));
    let mut c = app.client();
    assert_eq!(c.post("/login", &[("email", "real@exemple.fr"), ("password", PW)]).await.location(), Some("/enrol"));
}

#[tokio::test]
async fn forms_without_the_anti_forgery_token_are_refused() {
    let (app, _) = app_with_user(Role::Coordinator).await;
    let mut c = app.client();
    c.csrf().await;
    let r = c.post_raw("/login", "email=agent%40exemple.fr&password=x").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c.post_raw("/login", "csrf=forged&email=agent%40exemple.fr&password=x").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("expiré"), "French message: {}", r.body);
}

/// A phone whose cookies were cleared loads the login page while its outbox
/// tries the API: only the page hands out an anti-forgery token, so the API's
/// answer cannot replace the token the login form carries.
#[tokio::test]
async fn only_pages_hand_out_an_anti_forgery_token() {
    let (app, _) = app_with_user(Role::Coordinator).await;
    let mut c = app.client();
    let api = c.post_json("/api/v1/sync/devices", &serde_json::json!({})).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.headers.get("set-cookie").is_none(), "an API answer sets no cookie: {:?}", api.headers);
    let ready = c.get("/healthz").await;
    assert!(ready.headers.get("set-cookie").is_none(), "{:?}", ready.headers);
    let page = c.get("/login").await;
    let token = page.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(token.contains("veille_csrf="), "{token}");
    // The API answering after the page leaves the page's token in place.
    c.post_json("/api/v1/sync/devices", &serde_json::json!({})).await;
    let r = c.post("/login", &[("email", "personne@exemple.fr"), ("password", "x")]).await;
    assert_ne!(r.status, StatusCode::FORBIDDEN, "the login form's token still holds: {}", r.body);
}

#[tokio::test]
async fn pages_send_security_headers_and_answer_in_both_languages() {
    let (app, _) = app_with_user(Role::Coordinator).await;
    let mut c = app.client();
    let r = c.get("/login").await;
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.headers["x-frame-options"], "DENY");
    let cookie = r.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite"), "{cookie}");
    assert!(r.body.contains("<html lang=\"fr\">") && r.body.contains("Connexion"));
    let r = c.post("/lang", &[("lang", "en"), ("back", "/login")]).await;
    assert_eq!(r.location(), Some("/login"));
    let r = c.get("/login").await;
    assert!(r.body.contains("<html lang=\"en\">") && r.body.contains("Log in"));
}

/// Behind the reverse proxy that serves HTTPS every request comes from the
/// proxy's address. With the proxy configured as trusted, one client's wrong
/// passwords (enough to throttle an address) do not block another client's
/// login; a client that is not the proxy cannot pretend to be someone else.
#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_block_another() {
    for trusted in [true, false] {
        let config = Config {
            trusted_proxies: if trusted { veille_app::proxy::TrustedProxies::parse("10.1.1.1").unwrap() } else { Default::default() },
            ..Config::default()
        };
        let app = TestApp::with_config(config).await;
        let org = app.org("Org A", true).await;
        app.user(org, Role::Coordinator, "agent@exemple.fr", Some(PW), None).await;
        // Client A (203.0.113.5, through the proxy 10.1.1.1) tries fifty
        // addresses that do not exist: the per-address limit.
        let mut a = app.client();
        a.forwarded_for = Some("203.0.113.5".into());
        for i in 0..50 {
            a.post("/login", &[("email", &format!("inconnu{i}@exemple.fr")), ("password", "wrong password here")]).await;
        }
        assert_eq!(a.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await.status, StatusCode::TOO_MANY_REQUESTS);
        // Client B, through the same proxy.
        let mut b = app.client();
        b.forwarded_for = Some("203.0.113.9".into());
        let r = b.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await;
        if trusted {
            assert_eq!(r.status, StatusCode::SEE_OTHER, "another client logs in");
        } else {
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "without the setting, everyone behind the proxy is one address");
        }
    }
    // A client connecting directly cannot claim another address.
    let config = Config { trusted_proxies: veille_app::proxy::TrustedProxies::parse("10.9.9.9").unwrap(), ..Config::default() };
    let app = TestApp::with_config(config).await;
    let org = app.org("Org A", true).await;
    app.user(org, Role::Coordinator, "agent@exemple.fr", Some(PW), None).await;
    let mut direct = app.client();
    for i in 0..50 {
        direct.forwarded_for = Some(format!("198.51.100.{i}"));
        direct.post("/login", &[("email", &format!("inconnu{i}@exemple.fr")), ("password", "wrong password here")]).await;
    }
    assert_eq!(direct.post("/login", &[("email", "agent@exemple.fr"), ("password", PW)]).await.status, StatusCode::TOO_MANY_REQUESTS);
}

/// `/metrics` is for the monitoring: from this machine when no token is set,
/// else with the token; anyone else is refused. The first scrape
/// already counts the requests served before it.
#[tokio::test]
async fn metrics_are_read_by_the_monitoring_only() {
    let app = TestApp::new().await;
    let mut outside = app.client();
    outside.get("/healthz").await;
    assert_eq!(outside.get("/metrics").await.status, StatusCode::FORBIDDEN);
    let mut local = app.client();
    local.ip = "127.0.0.1:6000".parse().unwrap();
    let r = local.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("veille_http_requests_total"), "the first scrape counts earlier requests: {}", r.body);

    let config = Config { metrics_token: "jeton-de-supervision-assez-long".into(), ..Config::default() };
    let app = TestApp::with_config(config).await;
    let mut local = app.client();
    local.ip = "127.0.0.1:6000".parse().unwrap();
    assert_eq!(local.get("/metrics").await.status, StatusCode::FORBIDDEN, "a token is set: the address is not enough");
    local.bearer = Some("un autre jeton".into());
    assert_eq!(local.get("/metrics").await.status, StatusCode::FORBIDDEN);
    let mut prometheus = app.client();
    prometheus.bearer = Some("jeton-de-supervision-assez-long".into());
    assert_eq!(prometheus.get("/metrics").await.status, StatusCode::OK);
}

/// 100 wrong passwords for one account at the same moment (from as many
/// addresses): exactly the allowed number are checked, the rest throttled
/// without a check; each check is one `login_failed` entry.
#[tokio::test]
async fn concurrent_wrong_passwords_are_evaluated_exactly_up_to_the_limit() {
    let (app, _user) = app_with_user(Role::Coordinator).await;
    let mut tasks = Vec::new();
    for i in 0..100 {
        let state = app.state.clone();
        tasks.push(tokio::spawn(async move {
            veille_app::login::with_password(&state, &format!("192.0.2.{i}"), "agent@exemple.fr", "pas le bon mot de passe").await.unwrap()
        }));
    }
    let mut evaluated = 0;
    for t in tasks {
        match t.await.unwrap() {
            veille_app::login::PasswordLogin::Invalid => evaluated += 1,
            veille_app::login::PasswordLogin::Throttled => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(evaluated, 10);
    assert_eq!(audit_actions(&app, "login_failed").await, 10);
}

/// How many audit entries of an action.
async fn audit_actions(app: &TestApp, action: &str) -> i64 {
    veille_storage::sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1").bind(action).fetch_one(app.db().pool()).await.unwrap()
}

/// The same race on the second factor: 100 wrong codes for one pending
/// session at once, exactly 10 checked; the right code afterwards is throttled.
#[tokio::test]
async fn concurrent_wrong_codes_are_evaluated_exactly_up_to_the_limit() {
    let (app, user) = app_with_user(Role::Coordinator).await;
    let secret = app.enrol(user).await;
    let token = veille_app::login::open_session(&app.state, user, false).await.unwrap();
    let veille_app::login::SessionState::Pending(account, session) = veille_app::login::session(&app.state, &token).await.unwrap() else {
        panic!("a pending session")
    };
    let right = app.code(&secret);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (state, account, session) = (app.state.clone(), account.clone(), session.clone());
        tasks.push(tokio::spawn(async move { veille_app::login::with_code(&state, &format!("192.0.2.{i}"), &account, &session, wrong).await.unwrap() }));
    }
    let mut evaluated = 0;
    for t in tasks {
        match t.await.unwrap() {
            veille_app::login::CodeLogin::Invalid => evaluated += 1,
            veille_app::login::CodeLogin::Throttled => {}
            _ => panic!("a wrong code opened or was not checked"),
        }
    }
    assert_eq!(evaluated, 10);
    assert_eq!(audit_actions(&app, "login_failed").await, 10);
    assert!(matches!(
        veille_app::login::with_code(&app.state, "192.0.2.200", &account, &session, &right).await.unwrap(),
        veille_app::login::CodeLogin::Throttled
    ));
}

/// A personal API token of `user`, valid a year (written directly: creating it is no activity).
async fn token_for(app: &TestApp, user: veille_domain::UserId) -> String {
    let secret = veille_web::security::random_token();
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    veille_storage::tokens::create(&mut tx, user, "intégration", &veille_web::security::token_hash(&secret), &["read"], now, now.plus_seconds(365 * 86_400))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    secret
}

/// Accounts without a login or a use of their API token for
/// `account_inactive_days` are disabled — by one of two instances running the
/// pass at once —, their sessions end, their tokens stop working, one audit
/// entry says why; a login or a token's use counts as activity; an instance
/// administrator is left alone; an account enabled again stays enabled.
#[tokio::test]
async fn inactive_accounts_are_disabled_once_with_their_sessions_and_tokens() {
    let app = TestApp::with_config(Config { account_inactive_days: 90, ..Config::default() }).await;
    let org = app.org("Org A", true).await;
    let idle = app.user(org, Role::FieldWorker, "idle@exemple.fr", Some(PW), None).await;
    let logs_in = app.user(org, Role::FieldWorker, "active@exemple.fr", Some(PW), None).await;
    let integration = app.user(org, Role::Coordinator, "api@exemple.fr", None, None).await;
    let root = app.user(org, Role::InstanceAdmin, "root@exemple.fr", None, None).await;
    let admin = app.user(org, Role::OrgAdmin, "admin@exemple.fr", None, None).await;
    let idle_token = token_for(&app, idle).await;
    let integration_token = token_for(&app, integration).await;
    // Day 60: one logs in, the integration uses its token; nothing is due yet.
    app.state.clock.advance_seconds(60 * 86_400);
    veille_app::login::open_session(&app.state, logs_in, true).await.unwrap();
    let mut api = app.client();
    api.bearer = Some(integration_token.clone());
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(veille_app::accounts::disable_inactive(&app.state).await.unwrap(), 0);
    // Day 91: the idle account and the (idle) organisation administrator are due.
    app.state.clock.advance_seconds(31 * 86_400);
    let mut idle_session = app.session_for(idle, false).await;
    assert_eq!(idle_session.get("/api/v1/me").await.status, StatusCode::OK);
    let other_db = veille_storage::Db::connect(&app.tdb.url).await.unwrap();
    let config = Config { database_url: app.tdb.url.clone(), audit_key: app.state.config.audit_key.clone(), ..(*app.state.config).clone() };
    let other = veille_web::AppState::new(other_db, config, veille_web::Clock::manual(app.state.clock.now())).await.unwrap();
    let (a, b) = tokio::join!(veille_app::accounts::disable_inactive(&app.state), veille_app::accounts::disable_inactive(&other));
    assert_eq!(a.unwrap() + b.unwrap(), 2, "each due account disabled once, by one instance");
    let disabled = |id: veille_domain::UserId| {
        let db = app.db().clone();
        async move { veille_storage::accounts::get(&db, id).await.unwrap().disabled }
    };
    assert!(disabled(idle).await && disabled(admin).await);
    assert!(!disabled(logs_in).await && !disabled(integration).await && !disabled(root).await);
    assert_eq!(idle_session.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "its session ended");
    let mut with_token = app.client();
    with_token.bearer = Some(idle_token);
    assert_eq!(with_token.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "its token revoked");
    let entries: Vec<String> = veille_storage::sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'disable' AND record_id = $1")
        .bind(idle.to_string())
        .fetch_all(app.db().pool())
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].contains("\"reason\":\"inactive\""));
    // Enabled again by the instance administrator: not disabled at the next pass.
    let mut root_session = app.session_for(root, false).await;
    let r = root_session.post(&format!("/users/{idle}/enable"), &[]).await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert_eq!(veille_app::accounts::disable_inactive(&app.state).await.unwrap(), 0);
    assert!(!disabled(idle).await);
}

/// Changing one's password, login e-mail or second factor asks for the
/// current password first (a session left open is not enough); wrong guesses
/// count toward the login throttle; a changed password ends the sessions and
/// revokes the API tokens; a renewed second factor is enrolled again at the
/// next login.
#[tokio::test]
async fn changing_password_email_or_second_factor_asks_for_the_current_password() {
    let (app, user) = app_with_user(Role::FieldWorker).await;
    app.enrol(user).await;
    let account = |app: &TestApp| {
        let db = app.db().clone();
        async move { veille_storage::accounts::get(&db, user).await.unwrap() }
    };
    let new_pw = "une toute autre phrase secrète du terrain";
    // The password: refused without, or with a wrong, current password.
    let mut c = app.session_for(user, false).await;
    let before = account(&app).await.password_hash;
    let r = c.post("/account/password", &[("new_password", new_pw)]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("password_current-error"), "{}", r.body);
    let r = c.post("/account/password", &[("password_current", "pas le bon mot de passe"), ("new_password", new_pw)]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("pas votre mot de passe actuel"), "{}", r.body);
    assert_eq!(account(&app).await.password_hash, before);
    // With it: changed, every session ends, API tokens revoked; the new password logs in.
    let token = token_for(&app, user).await;
    let r = c.post("/account/password", &[("password_current", PW), ("new_password", new_pw)]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, Some("/login")));
    assert_eq!(c.get("/account").await.location(), Some("/login"));
    let mut t = app.client();
    t.bearer = Some(token);
    assert_eq!(t.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    let r = app.client().post("/login", &[("email", "agent@exemple.fr"), ("password", new_pw)]).await;
    assert_eq!(r.location(), Some("/login/second-factor"));
    // The e-mail: the same.
    let mut c = app.session_for(user, false).await;
    let r = c.post("/account/email", &[("email_current", PW), ("new_email", "nouvelle@exemple.fr")]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("email_current-error") && r.body.contains("nouvelle@exemple.fr"));
    assert_eq!(account(&app).await.email.as_str(), "agent@exemple.fr");
    let r = c.post("/account/email", &[("email_current", new_pw), ("new_email", "nouvelle@exemple.fr")]).await;
    assert_eq!(r.location(), Some("/account"), "{}", r.body);
    assert_eq!(account(&app).await.email.as_str(), "nouvelle@exemple.fr");
    // The second factor: renewed with the current password; enrolled again at the next login.
    let r = c.post("/account/second-factor", &[("factor_current", "faux")]).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("factor_current-error"));
    assert!(account(&app).await.totp_enabled);
    let r = c.post("/account/second-factor", &[("factor_current", new_pw)]).await;
    assert_eq!(r.location(), Some("/login"));
    assert!(!account(&app).await.totp_enabled);
    let r = app.client().post("/login", &[("email", "nouvelle@exemple.fr"), ("password", new_pw)]).await;
    assert_eq!(r.location(), Some("/enrol"));
    // Each change audited, without the addresses; each wrong guess too.
    let details: Vec<(String, String)> = veille_storage::sqlx::query_as("SELECT action, detail FROM audit_log WHERE record_id = $1")
        .bind(user.to_string())
        .fetch_all(app.db().pool())
        .await
        .unwrap();
    assert!(details.iter().any(|(a, d)| a == "update" && d.contains("\"field\":\"password\"")));
    assert!(details.iter().any(|(a, d)| a == "update" && d.contains("\"field\":\"email\"")));
    assert!(details.iter().any(|(a, d)| a == "reset_second_factor" && d.contains("own_account")));
    assert_eq!(details.iter().filter(|(a, _)| a == "reauth_failed").count(), 3);
    assert!(details.iter().all(|(_, d)| !d.contains("exemple.fr")));
    // Guessing the current password from an open session is throttled like logins.
    let mut c = app.session_for(user, false).await;
    let mut throttled = false;
    for _ in 0..12 {
        let r = c.post("/account/email", &[("email_current", "encore faux"), ("new_email", "autre@exemple.fr")]).await;
        throttled |= r.status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(throttled);
    let r = c.post("/account/email", &[("email_current", new_pw), ("new_email", "autre@exemple.fr")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits for the window");
}
