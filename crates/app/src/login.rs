//! Logging in and staying logged in: the password, then a TOTP or recovery
//! code (enrolled at first login), server-side sessions that end when idle,
//! at their absolute end, at logout or when the account is disabled; the
//! password reset by e-mail; accepting an invitation; the language of the
//! account. Every check of a secret takes a turn from the throttle first
//! (`accounts::reserve_attempt`), so at most the allowed number of secrets
//! are checked in a window however many requests arrive at once.

use veille_domain::{EmailAddress, Role, UserId};
use veille_storage::accounts::{self, Account, Invitation, NewAccount};
use veille_storage::sessions::{self, Session};
use veille_storage::{audit, organisations, outbox, tokens};

use crate::error::{Error, ErrorKind, Result};
use crate::security::{self, totp};
use crate::{App, Caller, FieldErrors, Lang};

/// Minutes a password-only (pending) session lives.
pub const PENDING_MINUTES: i64 = 10;
/// Throttling window.
pub const WINDOW_SECONDS: i64 = 15 * 60;
/// An address may make this many times more failed attempts than an account
/// (several people behind one address).
pub const IP_FACTOR: i64 = 5;
/// Reset mails an address or an account may ask for in the window.
pub const RESETS_ALLOWED: i64 = 3;

fn account_key(email: &str) -> String {
    security::token_hash(&format!("login:{}", email.trim().to_lowercase()))
}

/// A turn to check a secret of `key` from `ip`, or none when throttled.
async fn reserve(app: &App, key: &str, ip: &str) -> Result<Option<String>> {
    let now = app.clock.now();
    let limit = app.config.login_failures_allowed;
    Ok(accounts::reserve_attempt(&app.db, key, ip, now.plus_seconds(-WINDOW_SECONDS), limit, limit * IP_FACTOR, now).await?)
}

/// Settles a turn: a success no longer counts as a failure; audited.
async fn settle(app: &App, attempt: &str, ok: bool, action: &str, user: Option<&Account>, detail: serde_json::Value) -> Result<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    accounts::settle_attempt(&mut tx, attempt, ok).await?;
    let who = user.map(|u| (u.id, u.organisation));
    audit::append(
        &mut tx,
        audit::NewEntry::about(now, who, action, "account", user.map(|u| u.id.to_string()), user.map(|u| u.organisation)).with_detail(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A new session of an account; gives the token for its cookie (stored only
/// as a hash). A pending session (second factor still due) lives minutes.
pub async fn open_session(app: &App, user: UserId, second_factor_done: bool) -> Result<String> {
    let now = app.clock.now();
    let token = security::random_token();
    let lifetime = if second_factor_done { app.config.session_absolute_hours * 3600 } else { PENDING_MINUTES * 60 };
    let mut tx = app.db.begin().await?;
    sessions::create(&mut tx, &security::token_hash(&token), user, second_factor_done, &security::random_token(), now, now.plus_seconds(lifetime)).await?;
    tx.commit().await?;
    if second_factor_done {
        accounts::mark_active(&app.db, user, None, now).await?;
    }
    Ok(token)
}

/// Where a login goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Logged in (a demo account on a demo instance skips the second factor).
    Home,
    /// The second factor is due.
    SecondFactor,
    /// The second factor must be enrolled first.
    Enrol,
}

/// What a password login gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordLogin {
    /// Too many failures for this account or address lately.
    Throttled,
    /// Unknown address, wrong password or disabled account (not told apart).
    Invalid,
    /// A session was opened (its token) and where to go next.
    Opened {
        /// The session token, for the cookie.
        token: String,
        /// Where to go next.
        next: Next,
    },
}

/// Checks an e-mail and password typed on the login form, from `ip`.
#[tracing::instrument(skip_all)]
pub async fn with_password(app: &App, ip: &str, email: &str, password: &str) -> Result<PasswordLogin> {
    let key = account_key(email);
    let Some(attempt) = reserve(app, &key, ip).await? else { return Ok(PasswordLogin::Throttled) };
    let account = match EmailAddress::parse(email) {
        Ok(email) => accounts::by_email(&app.db, &email).await?,
        Err(_) => None,
    };
    let phc = account.as_ref().and_then(|a| a.password_hash.clone());
    let password_ok = security::verify_password_off_thread(password.to_owned(), phc).await?;
    let account = match account {
        Some(a) if password_ok && !a.disabled => a,
        other => {
            settle(app, &attempt, false, "login_failed", other.as_ref(), serde_json::json!({})).await?;
            return Ok(PasswordLogin::Invalid);
        }
    };
    settle(app, &attempt, true, "login_password", Some(&account), serde_json::json!({})).await?;
    let demo = organisations::settings(&app.db).await?.is_some_and(|s| s.demo);
    let skip_second_factor = demo && account.demo_account;
    let token = open_session(app, account.id, skip_second_factor).await?;
    let next = if skip_second_factor {
        Next::Home
    } else if account.totp_enabled {
        Next::SecondFactor
    } else {
        Next::Enrol
    };
    Ok(PasswordLogin::Opened { token, next })
}

/// The state of a session, from its cookie's token.
pub enum SessionState {
    /// No such session (or it ended: idle, past its end, account disabled).
    None,
    /// Password given, second factor still due.
    Pending(Account, Session),
    /// Fully logged in.
    Full(Account, Session),
}

/// The session a token opens, ending it when idle or past its lifetime.
pub async fn session(app: &App, token: &str) -> Result<SessionState> {
    let Some(session) = sessions::by_token(&app.db, &security::token_hash(token)).await? else {
        return Ok(SessionState::None);
    };
    let now = app.clock.now();
    let idle_limit = session.last_seen_at.plus_seconds(app.config.session_idle_minutes * 60);
    if now >= session.expires_at || now >= idle_limit {
        let mut tx = app.db.begin().await?;
        sessions::delete(&mut tx, session.id).await?;
        tx.commit().await?;
        return Ok(SessionState::None);
    }
    let account = match accounts::get(&app.db, session.user).await {
        Ok(a) if !a.disabled => a,
        Ok(_) | Err(veille_storage::StorageError::NotFound) => return Ok(SessionState::None),
        Err(e) => return Err(e.into()),
    };
    sessions::touch(&app.db, session.id, now).await?;
    Ok(if session.second_factor_done { SessionState::Full(account, session) } else { SessionState::Pending(account, session) })
}

/// Replaces a pending session by a full one (a new token at login).
async fn complete_login(app: &App, account: &Account, pending: &Session, how: &str) -> Result<String> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    sessions::delete(&mut tx, pending.id).await?;
    let e = audit::NewEntry::about(now, Some((account.id, account.organisation)), "login", "account", Some(account.id.to_string()), Some(account.organisation))
        .with_detail(serde_json::json!({ "second_factor": how }));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    open_session(app, account.id, true).await
}

/// What a second-factor code gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeLogin {
    /// Too many failures lately.
    Throttled,
    /// A wrong code, or one already used.
    Invalid,
    /// The account has no second factor yet.
    NotEnrolled,
    /// Logged in: the new session's token.
    Opened(String),
}

/// Checks a TOTP or recovery code for a pending session, from `ip`.
#[tracing::instrument(skip_all, fields(user = %account.id))]
pub async fn with_code(app: &App, ip: &str, account: &Account, pending: &Session, code: &str) -> Result<CodeLogin> {
    let Some(secret) = account.totp_secret.as_deref().filter(|_| account.totp_enabled) else { return Ok(CodeLogin::NotEnrolled) };
    let Some(attempt) = reserve(app, &account_key(&account.email), ip).await? else { return Ok(CodeLogin::Throttled) };
    let now = app.clock.now();
    let unix = now.as_micros() / 1_000_000;
    let mut how = None;
    let mut tx = app.db.begin().await?;
    if let Some(step) = totp::matching_step(secret, code, unix) {
        if accounts::consume_totp_step(&mut tx, account.id, step).await? {
            how = Some("totp");
        }
    } else {
        let hash = security::token_hash(&security::normalise_recovery_code(code));
        if accounts::consume_recovery_code(&mut tx, account.id, &hash, now).await? {
            how = Some("recovery_code");
        }
    }
    tx.commit().await?;
    let Some(how) = how else {
        settle(app, &attempt, false, "login_failed", Some(account), serde_json::json!({"second_factor": true})).await?;
        return Ok(CodeLogin::Invalid);
    };
    let mut tx = app.db.begin().await?;
    accounts::settle_attempt(&mut tx, &attempt, true).await?;
    tx.commit().await?;
    Ok(CodeLogin::Opened(complete_login(app, account, pending, how).await?))
}

/// The secret of the second factor being enrolled (made at the first visit).
pub async fn enrolment_secret(app: &App, account: &Account) -> Result<String> {
    match account.totp_secret.clone() {
        Some(s) => Ok(s),
        None => {
            let s = totp::new_secret();
            let mut tx = app.db.begin().await?;
            accounts::set_pending_totp(&mut tx, account.id, &s).await?;
            tx.commit().await?;
            Ok(s)
        }
    }
}

/// What confirming an enrolment gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enrolment {
    /// Nothing to enrol (already enrolled, or no secret made yet).
    NotPending,
    /// The code does not match the secret.
    Invalid,
    /// Enrolled: the recovery codes (shown once) and the new session's token.
    Done {
        /// Recovery codes.
        codes: Vec<String>,
        /// Session token.
        token: String,
    },
}

/// Confirms the second factor with a first code.
#[tracing::instrument(skip_all, fields(user = %account.id))]
pub async fn enrol(app: &App, account: &Account, pending: &Session, code: &str) -> Result<Enrolment> {
    let Some(secret) = account.totp_secret.clone().filter(|_| !account.totp_enabled) else { return Ok(Enrolment::NotPending) };
    let unix = app.clock.now().as_micros() / 1_000_000;
    let Some(step) = totp::matching_step(&secret, code, unix) else { return Ok(Enrolment::Invalid) };
    let codes = security::recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| security::token_hash(c)).collect();
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    accounts::enable_totp(&mut tx, account.id, step, &hashes).await?;
    let e = audit::NewEntry::about(
        now,
        Some((account.id, account.organisation)),
        "second_factor_enrolled",
        "account",
        Some(account.id.to_string()),
        Some(account.organisation),
    );
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    let token = complete_login(app, account, pending, "totp_enrolment").await?;
    Ok(Enrolment::Done { codes, token })
}

/// Ends a session.
pub async fn logout(app: &App, session: &Session) -> Result<()> {
    let mut tx = app.db.begin().await?;
    sessions::delete(&mut tx, session.id).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of the caller's account.
pub async fn logout_everywhere(app: &App, who: &Caller) -> Result<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let n = sessions::delete_all_for(&mut tx, who.account.id).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "logout_everywhere", "account", who.account.id, who.account.organisation).with_detail(serde_json::json!({ "sessions_ended": n })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a reset link to the address typed, if it is an active account's;
/// the answer is the same either way, and asking is throttled per address
/// typed and per client address whether the account exists or not.
#[tracing::instrument(skip_all)]
pub async fn forgot(app: &App, lang: Lang, ip: &str, email: &str) -> Result<std::result::Result<(), FieldErrors>> {
    let Ok(email) = EmailAddress::parse(email) else {
        let mut errors = FieldErrors::new();
        errors.add("email", lang.t("form.email_invalid"));
        return Ok(Err(errors));
    };
    let now = app.clock.now();
    let key = security::token_hash(&format!("reset:{}", email.as_str().to_lowercase()));
    let Some(_turn) =
        accounts::reserve_attempt(&app.db, &key, &format!("reset:{ip}"), now.plus_seconds(-WINDOW_SECONDS), RESETS_ALLOWED, RESETS_ALLOWED * IP_FACTOR, now)
            .await?
    else {
        // Said the same way as a sent link: the asker learns nothing more.
        return Ok(Ok(()));
    };
    if let Some(account) = accounts::by_email(&app.db, &email).await?.filter(|a| !a.disabled) {
        let token = security::random_token();
        let lang = Lang::from_code(&account.lang);
        let link = format!("{}/password/reset/{token}", app.config.base_url.trim_end_matches('/'));
        let mut tx = app.db.begin().await?;
        accounts::create_reset(&mut tx, account.id, &security::token_hash(&token), now, now.plus_seconds(3600)).await?;
        outbox::enqueue(&mut tx, email.as_str(), &lang.t("mail.reset.subject"), &lang.tf("mail.reset.body", &[("link", &link)]), now).await?;
        let e = audit::NewEntry::about(now, None, "password_reset_requested", "account", Some(account.id.to_string()), Some(account.organisation));
        audit::append(&mut tx, e).await?;
        tx.commit().await?;
    } else {
        // An unknown address costs a committed write too (audited, without the
        // address), so that the answer's timing does not tell which exist.
        let mut tx = app.db.begin().await?;
        audit::append(&mut tx, audit::NewEntry::about(now, None, "password_reset_requested", "account", None, None)).await?;
        tx.commit().await?;
    }
    Ok(Ok(()))
}

/// The account a live reset link is for (not found otherwise).
pub async fn reset_target(app: &App, token: &str) -> Result<Account> {
    let user = accounts::reset_user(&app.db, &security::token_hash(token), app.clock.now()).await?.ok_or_else(Error::not_found)?;
    Ok(accounts::get(&app.db, user).await?)
}

fn password_errors(lang: Lang, password: &str, context: &[&str]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if let Err(p) = security::check_new_password(password, context) {
        errors.add("password", p.message(lang));
    }
    errors
}

/// What changing one's own password, e-mail or second factor asks first:
/// the current password, checked with a turn from the login throttle (a
/// stolen session cannot guess it faster than a login could).
async fn reauthenticate(app: &App, who: &Caller, ip: &str, lang: Lang, field: &str, current: &str) -> Result<std::result::Result<(), FieldErrors>> {
    let mut errors = FieldErrors::new();
    if current.is_empty() {
        errors.add(field, lang.t("account.security.current_missing"));
        return Ok(Err(errors));
    }
    let Some(attempt) = reserve(app, &account_key(&who.account.email), ip).await? else { return Err(Error::new(ErrorKind::Throttled)) };
    let account = accounts::get(&app.db, who.account.id).await?;
    let ok = security::verify_password_off_thread(current.to_owned(), account.password_hash.clone()).await?;
    if !ok {
        settle(app, &attempt, false, "reauth_failed", Some(&account), serde_json::json!({})).await?;
        errors.add(field, lang.t("account.security.current_wrong"));
        return Ok(Err(errors));
    }
    let mut tx = app.db.begin().await?;
    accounts::settle_attempt(&mut tx, &attempt, true).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Changes one's own password after the current one: the account's
/// sessions end (one logs in again with the new password) and its API
/// tokens are revoked, as after a reset; audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn change_password(app: &App, who: &Caller, ip: &str, lang: Lang, current: &str, new: &str) -> Result<std::result::Result<(), FieldErrors>> {
    let mut errors = FieldErrors::new();
    if let Err(p) = security::check_new_password(new, &[&who.account.email, &who.account.display_name]) {
        errors.add("new_password", p.message(lang));
    }
    if let Err(e) = reauthenticate(app, who, ip, lang, "password_current", current).await? {
        for (field, message) in e.all() {
            errors.add(&field, message);
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let phc = security::hash_password_off_thread(new.to_owned()).await?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    accounts::set_password(&mut tx, who.account.id, &phc, now).await?;
    accounts::end_resets(&mut tx, who.account.id, now).await?;
    sessions::delete_all_for(&mut tx, who.account.id).await?;
    tokens::revoke_all_for(&mut tx, who.account.id, now).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "update", "account", who.account.id, who.account.organisation)
            .with_detail(serde_json::json!({"field": "password", "sessions_ended": true, "api_tokens_revoked": true})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Changes one's own login e-mail after the current password; audited
/// (the addresses are personal data: not in the entry).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn change_email(app: &App, who: &Caller, ip: &str, lang: Lang, current: &str, new: &str) -> Result<std::result::Result<(), FieldErrors>> {
    let mut errors = FieldErrors::new();
    let email = EmailAddress::parse(new.trim());
    match &email {
        Err(_) => errors.add("new_email", lang.t("form.email_invalid")),
        Ok(e) if accounts::by_email(&app.db, e).await?.is_some() => errors.add("new_email", lang.t("invitation.email_taken")),
        Ok(_) => {}
    }
    if let Err(e) = reauthenticate(app, who, ip, lang, "email_current", current).await? {
        for (field, message) in e.all() {
            errors.add(&field, message);
        }
    }
    let (true, Ok(email)) = (errors.is_empty(), email) else { return Ok(Err(errors)) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if let Err(e) = accounts::set_email(&mut tx, who.account.id, &email, now).await {
        if e.is_conflict_on("email") {
            errors.add("new_email", lang.t("invitation.email_taken"));
            return Ok(Err(errors));
        }
        return Err(e.into());
    }
    audit::append(
        &mut tx,
        who.audit_entry(now, "update", "account", who.account.id, who.account.organisation).with_detail(serde_json::json!({"field": "email"})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Renews one's own second factor after the current password: the TOTP
/// secret and recovery codes are dropped and every session ends, so the
/// next login enrols a new one; audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn renew_second_factor(app: &App, who: &Caller, ip: &str, lang: Lang, current: &str) -> Result<std::result::Result<(), FieldErrors>> {
    if let Err(e) = reauthenticate(app, who, ip, lang, "factor_current", current).await? {
        return Ok(Err(e));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    accounts::reset_totp(&mut tx, who.account.id).await?;
    sessions::delete_all_for(&mut tx, who.account.id).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "reset_second_factor", "account", who.account.id, who.account.organisation).with_detail(serde_json::json!({"via": "own_account"})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Sets a new password through a reset link: every session and API token of
/// the account ends, every other reset link with them; the second factor is
/// still asked at the next login.
#[tracing::instrument(skip_all)]
pub async fn reset(app: &App, lang: Lang, token: &str, password: &str) -> Result<std::result::Result<(), FieldErrors>> {
    let now = app.clock.now();
    let hash = security::token_hash(token);
    let account = reset_target(app, token).await?;
    let errors = password_errors(lang, password, &[&account.email, &account.display_name]);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let phc = security::hash_password_off_thread(password.to_owned()).await?;
    let mut tx = app.db.begin().await?;
    if !accounts::use_reset(&mut tx, &hash, now).await? {
        return Err(Error::not_found());
    }
    accounts::end_resets(&mut tx, account.id, now).await?;
    accounts::set_password(&mut tx, account.id, &phc, now).await?;
    sessions::delete_all_for(&mut tx, account.id).await?;
    tokens::revoke_all_for(&mut tx, account.id, now).await?;
    let e = audit::NewEntry::about(
        now,
        Some((account.id, account.organisation)),
        "password_reset",
        "account",
        Some(account.id.to_string()),
        Some(account.organisation),
    )
    .with_detail(serde_json::json!({"sessions_ended": true, "api_tokens_revoked": true}));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A live invitation by its token (not found once accepted or expired).
pub async fn invitation(app: &App, token: &str) -> Result<Invitation> {
    let inv = accounts::invitation_by_token(&app.db, &security::token_hash(token)).await?.ok_or_else(Error::not_found)?;
    if inv.accepted_at.is_some() || inv.expires_at <= app.clock.now() {
        return Err(Error::not_found());
    }
    Ok(inv)
}

/// Creates the invited account with its password; gives the token of a
/// pending session (the second factor is enrolled next).
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(app: &App, lang: Lang, token: &str, password: &str) -> Result<std::result::Result<String, (Invitation, FieldErrors)>> {
    let inv = invitation(app, token).await?;
    let errors = password_errors(lang, password, &[&inv.email, &inv.display_name]);
    if !errors.is_empty() {
        return Ok(Err((inv, errors)));
    }
    let now = app.clock.now();
    let email = EmailAddress::parse(&inv.email).map_err(|_| Error::bad_request())?;
    let phc = security::hash_password_off_thread(password.to_owned()).await?;
    let mut tx = app.db.begin().await?;
    if !accounts::accept_invitation(&mut tx, inv.id, now).await? {
        return Err(Error::not_found());
    }
    let new = NewAccount {
        organisation: inv.organisation,
        email,
        display_name: inv.display_name.clone(),
        role: inv.role,
        password_hash: Some(phc),
        territories: None,
        field_groups: inv.role.default_field_groups().to_vec(),
        demo_account: false,
    };
    let id = accounts::create(&mut tx, &new, now).await.map_err(|e| if e.is_conflict_on("email") { Error::new(ErrorKind::Conflict) } else { e.into() })?;
    let e = audit::NewEntry::about(now, Some((id, inv.organisation)), "invitation_accepted", "account", Some(id.to_string()), Some(inv.organisation))
        .with_detail(serde_json::json!({ "role": inv.role.code() }));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(Ok(open_session(app, id, false).await?))
}

/// Remembers the caller's language.
pub async fn set_language(app: &App, who: &Caller, lang: Lang) -> Result<()> {
    let mut tx = app.db.begin().await?;
    accounts::set_lang(&mut tx, who.account.id, lang.code()).await?;
    tx.commit().await?;
    Ok(())
}

/// Invites someone to join an organisation with a role: a link mailed to
/// them, valid a week (the caller checked it may create accounts there).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send_invitation(
    app: &App,
    who: &Caller,
    organisation: veille_domain::OrganisationId,
    organisation_name: &str,
    email: &EmailAddress,
    display_name: &str,
    role: Role,
    lang: Lang,
) -> Result<()> {
    let now = app.clock.now();
    let token = security::random_token();
    let link = format!("{}/invitation/{token}", app.config.base_url.trim_end_matches('/'));
    let mut tx = app.db.begin().await?;
    let id = accounts::create_invitation(
        &mut tx,
        organisation,
        email,
        display_name,
        role,
        &security::token_hash(&token),
        who.account.id,
        now,
        now.plus_seconds(7 * 24 * 3600),
    )
    .await?;
    let subject = lang.tf("mail.invitation.subject", &[("organisation", organisation_name)]);
    outbox::enqueue(&mut tx, email.as_str(), &subject, &lang.tf("mail.invitation.body", &[("organisation", organisation_name), ("link", &link)]), now).await?;
    audit::append(&mut tx, who.audit_entry(now, "invitation_sent", "invitation", id, organisation).with_detail(serde_json::json!({ "role": role.code() })))
        .await?;
    tx.commit().await?;
    Ok(())
}
