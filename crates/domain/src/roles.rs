//! Roles and field groups.

use serde::{Deserialize, Serialize};

/// What a user does in their organisation. One role per account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the instance: organisations, territories, accounts of every organisation.
    InstanceAdmin,
    /// Runs one organisation: its accounts, teams, audit log.
    OrgAdmin,
    /// Qualifies, assigns and follows the work of the organisation.
    Coordinator,
    /// Goes out on rounds, meets people, records encounters.
    FieldWorker,
    /// A field worker who may read and write the health field group.
    HealthProfessional,
    /// An outside service that receives referrals and answers them.
    Partner,
    /// A manager or funder who reads aggregated figures only.
    Reader,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 7] =
        [Role::InstanceAdmin, Role::OrgAdmin, Role::Coordinator, Role::FieldWorker, Role::HealthProfessional, Role::Partner, Role::Reader];

    /// The stable code stored in the database and used in message keys.
    pub fn code(self) -> &'static str {
        match self {
            Role::InstanceAdmin => "instance_admin",
            Role::OrgAdmin => "org_admin",
            Role::Coordinator => "coordinator",
            Role::FieldWorker => "field_worker",
            Role::HealthProfessional => "health_professional",
            Role::Partner => "partner",
            Role::Reader => "reader",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The field groups this role may be granted at all.
    pub fn grantable_field_groups(self) -> &'static [FieldGroup] {
        match self {
            Role::HealthProfessional => &[FieldGroup::Health],
            Role::Coordinator => &[FieldGroup::Justice, FieldGroup::Finance, FieldGroup::Relays],
            Role::OrgAdmin => &[FieldGroup::Justice, FieldGroup::Finance],
            Role::FieldWorker => &[FieldGroup::Relays],
            _ => &[],
        }
    }

    /// The field groups a new account of this role receives.
    pub fn default_field_groups(self) -> &'static [FieldGroup] {
        match self {
            Role::HealthProfessional => &[FieldGroup::Health],
            Role::Coordinator => &[FieldGroup::Justice, FieldGroup::Relays],
            Role::OrgAdmin => &[FieldGroup::Finance],
            _ => &[],
        }
    }

    /// Roles an organisation administrator may give (never instance administrator).
    pub fn assignable_by_org_admin(self) -> bool {
        self != Role::InstanceAdmin
    }
}

/// Sensitive sub-sections of records, each readable only by roles granted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldGroup {
    /// Health and harm-reduction information.
    Health,
    /// Justice and police procedures, evacuations.
    Justice,
    /// Finances (resources, debts, funding).
    Finance,
    /// The contact book of local relays (residents, shopkeepers,
    /// caretakers…): read by the mediation roles (field workers granted it)
    /// and the coordinators of the organisation, never by anyone else.
    Relays,
}

impl FieldGroup {
    /// Every field group.
    pub const ALL: [FieldGroup; 4] = [FieldGroup::Health, FieldGroup::Justice, FieldGroup::Finance, FieldGroup::Relays];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            FieldGroup::Health => "health",
            FieldGroup::Justice => "justice",
            FieldGroup::Finance => "finance",
            FieldGroup::Relays => "relays",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<FieldGroup> {
        FieldGroup::ALL.into_iter().find(|g| g.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        for g in FieldGroup::ALL {
            assert_eq!(FieldGroup::from_code(g.code()), Some(g));
        }
        assert_eq!(Role::from_code("superuser"), None);
    }

    #[test]
    fn health_only_for_health_professionals() {
        for r in Role::ALL {
            assert_eq!(r.grantable_field_groups().contains(&FieldGroup::Health), r == Role::HealthProfessional);
            for g in r.default_field_groups() {
                assert!(r.grantable_field_groups().contains(g));
            }
        }
    }
}
