//! Who is calling, from what they hold: an account's grants read fresh from
//! storage, or a personal API token. Every entry point that authenticates
//! (the web's bearer tokens, Open311's `api_key`) comes here.
//!
//! One exception to "read fresh" (decision 118): Open311's writes — a
//! partner's system sending report after report with one token — take the
//! token as this instance read it in the last [`KEEP_SECONDS`], and the
//! write checks it again in its own transaction
//! ([`tokens::still_holding`]): a revoked or expired token, a disabled
//! account or a changed role or organisation stops the write at once, on
//! every instance.

use std::collections::HashMap;
use std::sync::Mutex;

use veille_domain::Timestamp;
use veille_storage::accounts::{self, Account};
use veille_storage::tokens::{self, ApiToken, Holding};

use crate::error::Result;
use crate::{App, Caller};

/// The caller an active account is, with its grants read now.
pub async fn caller_of(app: &App, account: Account) -> Result<Caller> {
    let actor = accounts::actor_of(&app.db, &account).await?;
    Ok(Caller { account, actor })
}

/// Why an API token does not let its holder in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    /// No live token with this secret, or its account is disabled.
    Unknown,
    /// A live token, but it cannot write and the request writes.
    ReadOnly,
}

/// The caller a personal API token stands for, if it is live, belongs to an
/// active account and has the write scope when `writes`.
pub async fn by_api_token(app: &App, secret: &str, writes: bool, now: Timestamp) -> Result<std::result::Result<(Caller, ApiToken), TokenRefusal>> {
    by_token_hash(app, &crate::security::token_hash(secret.trim()), writes, now).await
}

async fn by_token_hash(app: &App, hash: &str, writes: bool, now: Timestamp) -> Result<std::result::Result<(Caller, ApiToken), TokenRefusal>> {
    let Some((token, account, actor)) = tokens::live_with_actor(&app.db, hash, now).await? else {
        return Ok(Err(TokenRefusal::Unknown));
    };
    if writes && !token.scopes.iter().any(|s| s == "write") {
        return Ok(Err(TokenRefusal::ReadOnly));
    }
    if account.disabled {
        return Ok(Err(TokenRefusal::Unknown));
    }
    accounts::mark_active(&app.db, account.id, account.last_active_at, now).await?;
    Ok(Ok((Caller { account, actor }, token)))
}

/// How long an instance keeps a token it read for Open311's writes before it
/// reads it again (and marks it used: "last used" stays to the minute).
pub const KEEP_SECONDS: i64 = 30;
/// Most tokens kept at once (past it, the oldest reading is dropped).
const MOST_KEPT: usize = 1_000;

/// What a write made on the strength of a kept token checks again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// What the token stood for when it was read.
    pub holding: Holding,
    /// Its hash, to forget it by.
    hash: String,
}

/// The tokens this instance read for Open311's writes, by hash.
#[derive(Default)]
pub struct KeptTokens {
    kept: Mutex<HashMap<String, (Caller, Held, Timestamp)>>,
}

impl KeptTokens {
    fn get(&self, hash: &str, now: Timestamp) -> Option<(Caller, Held)> {
        let kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (caller, held, read_at) = kept.get(hash)?;
        (read_at.seconds_until(now) < KEEP_SECONDS && *read_at <= now).then(|| (caller.clone(), held.clone()))
    }
    fn keep(&self, caller: &Caller, held: &Held, now: Timestamp) {
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() >= MOST_KEPT && !kept.contains_key(&held.hash) {
            kept.retain(|_, (_, _, at)| at.seconds_until(now) < KEEP_SECONDS);
            if kept.len() >= MOST_KEPT {
                if let Some(oldest) = kept.iter().min_by_key(|(_, (_, _, at))| *at).map(|(h, _)| h.clone()) {
                    kept.remove(&oldest);
                }
            }
        }
        kept.insert(held.hash.clone(), (caller.clone(), held.clone(), now));
    }
    /// Forgets a token that no longer holds: it is read again at its next use.
    pub fn forget(&self, held: &Held) {
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&held.hash);
    }
}

/// The caller an API token with the write scope stands for, for an Open311
/// write: as this instance read it in the last [`KEEP_SECONDS`], or read now
/// (refusals, and accounts that may not take reports in, are never kept).
/// The write checks the [`Held`] again.
pub async fn writer_by_api_token(app: &App, secret: &str, now: Timestamp) -> Result<std::result::Result<(Caller, Held), TokenRefusal>> {
    let hash = crate::security::token_hash(secret.trim());
    if let Some(kept) = app.kept_tokens.get(&hash, now) {
        return Ok(Ok(kept));
    }
    read_writer(app, hash, now).await
}

/// The token read now (a kept one that no longer held, or one not kept).
pub(crate) async fn read_writer(app: &App, hash: String, now: Timestamp) -> Result<std::result::Result<(Caller, Held), TokenRefusal>> {
    let (caller, token) = match by_token_hash(app, &hash, true, now).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let holding = Holding { token: token.id, user: caller.account.id, role: caller.account.role, organisation: caller.account.organisation };
    let held = Held { holding, hash };
    // Only an account that may take reports in is kept: a refusal is read
    // again at each attempt, so it ends as soon as the account may.
    if crate::reports::intake::gate(&caller).is_ok() {
        app.kept_tokens.keep(&caller, &held, now);
    }
    Ok(Ok((caller, held)))
}

impl Held {
    /// The token's hash, to read it again.
    pub(crate) fn hash(&self) -> &str {
        &self.hash
    }
}
