//! Who is asking: an authenticated, active account and its grants, read fresh
//! from storage for every request (Open311's writes keep the token for 30 s
//! and check it again as they write: decision 118). Every command and query that touches
//! personal data takes one; its [`Scope`](veille_storage::Scope) is derived
//! from it and only from it.

use veille_domain::{authorize, Action, Actor, Decision, OrganisationId, Resource, Timestamp};
use veille_storage::accounts::Account;
use veille_storage::audit::NewEntry;
use veille_storage::Scope;

use crate::error::{Error, Result};

/// An authenticated account and its grants.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The account.
    pub account: Account,
    /// Its grants.
    pub actor: Actor,
}

impl Caller {
    /// Asks the permission function.
    pub fn can(&self, action: Action, resource: &Resource) -> Decision {
        authorize(&self.actor, action, resource)
    }
    /// Refuses with [`crate::ErrorKind::Forbidden`] unless allowed.
    pub fn require(&self, action: Action, resource: &Resource) -> Result<()> {
        if self.can(action, resource).allowed {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }
    /// What the caller may read, for the storage queries that return or count
    /// personal records (they all take one).
    pub fn scope(&self) -> Scope {
        Scope::of(&self.actor)
    }
    /// The (account, organisation) pair audit entries and timeline events name.
    pub fn author(&self) -> (veille_domain::UserId, OrganisationId) {
        (self.account.id, self.account.organisation)
    }
    /// An audit entry by this account about a record.
    pub fn audit_entry<'a>(
        &self,
        at: Timestamp,
        action: &'a str,
        record_kind: &'a str,
        record_id: impl ToString,
        record_organisation: OrganisationId,
    ) -> NewEntry<'a> {
        NewEntry::about(at, Some(self.author()), action, record_kind, Some(record_id.to_string()), Some(record_organisation))
    }
}
