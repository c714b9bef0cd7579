//! The links an account's pages offer: only those its role may follow, by
//! the permission function (a reader sees the figures, not the people; a
//! partner its referrals, not the queue), in the order of the work.

use veille_domain::{authorize, Action, Actor, OrganisationId, Resource, ResourceKind};

/// A link of the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// Where it goes.
    pub href: &'static str,
    /// Its message key.
    pub label: &'static str,
}

/// The header's links for an account, in the order of the work.
pub fn links(actor: &Actor) -> Vec<Link> {
    let own = actor.organisation;
    let may = |action: Action, r: Resource| authorize(actor, action, &r).allowed;
    let records = may(Action::Read, Resource::new(ResourceKind::Record).owned_by(own));
    let shared = may(Action::Read, Resource::new(ResourceKind::Record).owned_by(OrganisationId::from_uuid(uuid::Uuid::nil())).shared_with(own));
    let schedule = may(Action::Read, Resource::new(ResourceKind::Schedule).owned_by(own));
    let candidates = [
        ("/", "nav.home", true),
        ("/reports", "nav.reports", records),
        ("/sites", "nav.sites", may(Action::Read, Resource::new(ResourceKind::Site).owned_by(own))),
        // The rounds are records of the organisation; the shared schedule alone for who reads only it.
        ("/rounds", "nav.rounds", records && schedule),
        ("/schedule", "round.schedule.title", schedule && !records),
        ("/people", "nav.people", records),
        ("/encounters", "nav.encounters", records),
        ("/referrals", "nav.referrals", records || shared),
        ("/cases", "nav.cases", records || (!actor.cases.is_empty() && shared)),
        ("/meetings", "nav.meetings", records),
        ("/mediations", "nav.mediations", records),
        ("/contacts", "nav.contacts", may(Action::Read, Resource::new(ResourceKind::Record).owned_by(own).field(veille_domain::FieldGroup::Relays))),
        ("/service-requests", "nav.service_requests", records || shared),
        ("/logbooks", "nav.logbooks", records),
        ("/escalations", "nav.escalations", records),
        ("/shelter", "nav.shelter", records || shared),
        ("/housing", "nav.housing", records),
        ("/directory", "nav.directory", may(Action::Read, Resource::new(ResourceKind::Directory))),
        ("/figures", "nav.figures", may(Action::Read, Resource::new(ResourceKind::Statistics).owned_by(own))),
        ("/organisations", "nav.organisations", may(Action::Read, Resource::new(ResourceKind::Organisation).owned_by(own))),
        ("/territories", "nav.territories", may(Action::Read, Resource::new(ResourceKind::Territory))),
        ("/audit", "nav.audit", may(Action::Read, Resource::new(ResourceKind::AuditLog).owned_by(own))),
        ("/rights", "nav.rights", may(Action::Read, Resource::new(ResourceKind::AuditLog).owned_by(own))),
        ("/account", "nav.account", true),
    ];
    candidates.into_iter().filter(|(_, _, ok)| *ok).map(|(href, label, _)| Link { href, label }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use veille_domain::{Role, TerritoryScope, UserId};

    fn actor(role: Role) -> Actor {
        Actor {
            user: UserId::new(),
            organisation: OrganisationId::new(),
            role,
            territories: TerritoryScope::All,
            field_groups: role.default_field_groups().iter().copied().collect(),
            cases: Default::default(),
        }
    }

    fn hrefs(role: Role) -> Vec<&'static str> {
        links(&actor(role)).into_iter().map(|l| l.href).collect()
    }

    #[test]
    fn each_role_sees_the_links_it_may_follow() {
        assert_eq!(hrefs(Role::Reader), ["/", "/directory", "/figures", "/organisations", "/territories", "/account"]);
        assert_eq!(hrefs(Role::Partner), ["/", "/referrals", "/service-requests", "/shelter", "/directory", "/organisations", "/territories", "/account"]);
        // The contact book of local relays: coordinators, and field workers granted it.
        assert!(hrefs(Role::Coordinator).contains(&"/contacts") && !hrefs(Role::FieldWorker).contains(&"/contacts"));
        assert!(!hrefs(Role::OrgAdmin).contains(&"/contacts") && !hrefs(Role::HealthProfessional).contains(&"/contacts"));
        assert!(hrefs(Role::FieldWorker).contains(&"/people") && !hrefs(Role::FieldWorker).contains(&"/audit"));
        assert!(hrefs(Role::OrgAdmin).contains(&"/audit"));
        assert!(!hrefs(Role::InstanceAdmin).contains(&"/people") && !hrefs(Role::InstanceAdmin).contains(&"/reports"));
        // The instance administrator reads the shared schedule, not the rounds (records of each organisation).
        assert!(!hrefs(Role::InstanceAdmin).contains(&"/rounds"));
    }
}
