//! People, encounters and referrals: who may read and change a person file,
//! a household, an encounter or a referral, and every use case on them —
//! files with their consent, notes, health section, households, sharing and
//! links ([`files`]), encounters ([`encounters`]), referrals with their
//! partner link and expiry ([`referrals`]), the probable duplicates of a
//! person ([`duplicates`]), the one validation of each form and body
//! ([`input`]) and the demo data ([`demo`]).
//!
//! Access: a file is a personal record owned by the organisation that
//! created it, readable by the organisations it was shared with by consent;
//! a referral is shared with its partner organisation, which sees only what
//! the referral needs. Health fields are resources with
//! `.field(FieldGroup::Health)`. Every read of a file is audited. Every
//! storage read of these records takes the caller's scope, compiled to SQL
//! with the columns the `*_resource` functions below describe.

pub mod demo;
pub mod duplicates;
pub mod encounters;
pub mod files;
pub mod input;
pub mod protection;
pub mod referrals;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use veille_domain::{Action, FieldGroup, OrganisationId, PersonId, Resource, ResourceKind, TerritoryId};
use veille_storage::{audit, Db, Scope};

pub use veille_storage::encounters::{Encounter, EncounterFields};
pub use veille_storage::people::{Consent, Health, Household, NewConsent, Note, Person, PersonFields, Share, ShareBasis};
pub use veille_storage::referrals::{NewReferral, Referral};
pub use veille_storage::timeline::Event;

use veille_storage::people;

use crate::error::{Error, Result};
use crate::{App, Caller};

/// The access-control description of a person file, given the
/// organisations it is shared with by consent.
pub fn person_resource_with(p: &Person, shared_with: &BTreeSet<OrganisationId>) -> Resource {
    let mut r = Resource::new(ResourceKind::Record).owned_by(p.organisation).in_territory(p.fields.territory);
    r.shared_with = shared_with.clone();
    r
}

/// The access-control description of a person file read within `scope`
/// (its consent shares are read with it).
pub async fn person_resource(db: &Db, scope: &Scope, p: &Person) -> Result<Resource> {
    Ok(person_resource_with(p, &people::consent_shares(db, scope, p.id).await?))
}

/// The health section of a file: the same record, in the health field group.
pub fn health_of(file: &Resource) -> Resource {
    file.clone().field(FieldGroup::Health)
}

/// The access-control description of a household: a record of its
/// organisation placed nowhere (its members' files have their
/// territories), shared with the organisations a member's file is shared
/// with by consent.
pub fn household_resource(h: &Household, shared_with: &BTreeSet<OrganisationId>) -> Resource {
    let mut r = Resource::new(ResourceKind::Record).owned_by(h.organisation);
    r.shared_with = shared_with.clone();
    r
}

/// The access-control description of an encounter: a record of the
/// organisation that met the people, in the territory of the point.
pub fn encounter_resource(e: &Encounter) -> Resource {
    Resource::new(ResourceKind::Record).owned_by(e.organisation).in_territory(e.fields.territory)
}

/// The access-control description of a referral: a record of the sending
/// organisation in the person's territory, shared with the partner organisation.
pub fn referral_resource(r: &Referral, territory: Option<TerritoryId>) -> Resource {
    let mut res = Resource::new(ResourceKind::Record).owned_by(r.organisation).in_territory(territory);
    if let Some(p) = r.partner_organisation.filter(|p| *p != r.organisation) {
        res = res.shared_with(p);
    }
    res
}

/// Whether the account works on its organisation's people at all (not
/// instance administrators, readers or partners).
pub fn gate(who: &Caller) -> Result<()> {
    who.require(Action::Read, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))
}

/// Whether the account reads personal records at all: its organisation's,
/// or those other organisations shared with it (partners). Instance
/// administrators and readers never do.
pub fn gate_records(who: &Caller) -> Result<()> {
    let elsewhere = OrganisationId::from_uuid(uuid::Uuid::nil());
    let shared = Resource::new(ResourceKind::Record).owned_by(elsewhere).shared_with(who.account.organisation);
    if gate(who).is_ok() || who.can(Action::Read, &shared).allowed {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// Whether the account may write files (and encounters) of its organisation.
pub fn may_create(who: &Caller) -> Result<()> {
    who.require(Action::Create, &Resource::new(ResourceKind::Record).owned_by(who.account.organisation))
}

/// A person the account may read (404 otherwise: its existence is not
/// told), and may do `action` on (403 otherwise), with its resource.
pub async fn load_person(state: &App, who: &Caller, id: &str, action: Action) -> Result<(Person, Resource)> {
    let id: PersonId = id.parse().map_err(|_| Error::not_found())?;
    load_person_by_id(state, who, id, action).await
}

/// [`load_person`] with a typed id.
pub async fn load_person_by_id(state: &App, who: &Caller, id: PersonId, action: Action) -> Result<(Person, Resource)> {
    let scope = who.scope();
    let person = people::get(&state.db, &scope, id).await?;
    let res = person_resource(&state.db, &scope, &person).await?;
    if !who.can(Action::Read, &res).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &res)?;
    Ok((person, res))
}

/// An audit entry by the account about a record of this domain.
pub fn entry<'a>(
    who: &Caller,
    state: &App,
    action: &'a str,
    kind: &'a str,
    id: impl ToString,
    org: OrganisationId,
    detail: serde_json::Value,
) -> audit::NewEntry<'a> {
    who.audit_entry(state.clock.now(), action, kind, id, org).with_detail(detail)
}

/// The territories an account may place a person in.
pub async fn writable_territories(state: &App, who: &Caller) -> Result<Vec<veille_storage::territories::Territory>> {
    Ok(veille_storage::territories::list(&state.db).await?.into_iter().filter(|t| who.actor.territories.covers(Some(t.id))).collect())
}

/// The people of these ids the account may read, in id order.
pub async fn readable_people(state: &App, who: &Caller, ids: &[PersonId]) -> Result<Vec<Person>> {
    Ok(people::get_many(&state.db, &who.scope(), ids).await?)
}
