//! Who is calling, from what they hold: an account's grants read fresh from
//! storage, or a personal API token. Every entry point that authenticates
//! (the web's bearer tokens, Open311's `api_key`) comes here.

use veille_domain::Timestamp;
use veille_storage::accounts::{self, Account};
use veille_storage::tokens::{self, ApiToken};

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
    let Some((token, account, actor)) = tokens::live_with_actor(&app.db, &crate::security::token_hash(secret.trim()), now).await? else {
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
