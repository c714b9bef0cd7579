//! The one permission function.
//!
//! Every access in veille — a page, an API call, a list query, the "who can see
//! this" panel — is decided by [`authorize`]. List queries use [`read_filter`],
//! which is the same rules compiled to a filter; a property test proves the two
//! agree on random worlds.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{CaseId, FieldGroup, OrganisationId, Role, TerritoryId, UserId};

/// Which territories a user works on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerritoryScope {
    /// Every territory of the instance.
    All,
    /// Only these territories.
    Only(BTreeSet<TerritoryId>),
}

impl TerritoryScope {
    /// Whether a record placed in `territory` (or nowhere) is in this scope.
    /// A record with no territory is in every scope of its organisation.
    pub fn covers(&self, territory: Option<TerritoryId>) -> bool {
        match (self, territory) {
            (TerritoryScope::All, _) | (_, None) => true,
            (TerritoryScope::Only(set), Some(t)) => set.contains(&t),
        }
    }
}

/// Who is asking: an authenticated, active account with its grants, read fresh
/// from storage on every request (so a revoked grant applies at once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The account.
    pub user: UserId,
    /// Its organisation.
    pub organisation: OrganisationId,
    /// Its role.
    pub role: Role,
    /// Its territories.
    pub territories: TerritoryScope,
    /// Field groups granted to it (only those its role allows count).
    pub field_groups: BTreeSet<FieldGroup>,
    /// Cases it is a member of.
    pub cases: BTreeSet<CaseId>,
}

impl Actor {
    /// Whether the account holds a field group its role may hold.
    pub fn holds(&self, group: FieldGroup) -> bool {
        self.field_groups.contains(&group) && self.role.grantable_field_groups().contains(&group)
    }
}

/// What is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See it.
    Read,
    /// Make a new one.
    Create,
    /// Change it.
    Update,
    /// Remove or disable it.
    Delete,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 4] = [Action::Read, Action::Create, Action::Update, Action::Delete];
}

/// The kinds of things access is decided on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// Instance settings: organisations list, territory import, routing tables.
    Instance,
    /// An organisation.
    Organisation,
    /// A staff account (staff personal data).
    Account,
    /// A team of an organisation.
    Team,
    /// A territory polygon.
    Territory,
    /// The audit log of an organisation.
    AuditLog,
    /// A personal API token.
    ApiToken,
    /// Aggregated figures of an organisation.
    Statistics,
    /// A record holding personal data of people followed (person, encounter,
    /// report, site…), owned by an organisation.
    Record,
    /// A slot of the shared weekly schedule of maraudes (which team goes
    /// where, when): seen by every participating organisation so coordinators
    /// align hours and circuits; no personal data.
    Schedule,
    /// An entry of the partner directory (structure or service): public
    /// information every account reads when orienting someone.
    Directory,
    /// A living place (camp, squat, open drug-use scene…) with its dated,
    /// anonymous observations. Several organisations go to the same places:
    /// every organisation that goes out reads and observes the sites of its
    /// accounts' territories; the creating organisation's coordinators (and
    /// those of the coordinating organisation it is shared with) close and edit it.
    Site,
    /// A shelter facility and its capacity by night (no personal data): every
    /// account reads the capacity board; the operator organisation keeps it.
    Facility,
}

impl ResourceKind {
    /// Every kind.
    pub const ALL: [ResourceKind; 13] = [
        ResourceKind::Instance,
        ResourceKind::Organisation,
        ResourceKind::Account,
        ResourceKind::Team,
        ResourceKind::Territory,
        ResourceKind::AuditLog,
        ResourceKind::ApiToken,
        ResourceKind::Statistics,
        ResourceKind::Record,
        ResourceKind::Schedule,
        ResourceKind::Directory,
        ResourceKind::Site,
        ResourceKind::Facility,
    ];
}

/// The thing access is asked on, described by what the rules need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Its kind.
    pub kind: ResourceKind,
    /// The organisation that owns it (none for instance-wide things).
    pub organisation: Option<OrganisationId>,
    /// The territory it lies in, if any.
    pub territory: Option<TerritoryId>,
    /// The case it belongs to: then only the case team and coordinators read it.
    pub case: Option<CaseId>,
    /// Organisations it was shared with (by consent or through a referral).
    pub shared_with: BTreeSet<OrganisationId>,
    /// The account it is about or belongs to (an account, a token).
    pub user: Option<UserId>,
    /// The field group the access is about, if it concerns one.
    pub field_group: Option<FieldGroup>,
}

impl Resource {
    /// A resource of `kind` with no owner.
    pub fn new(kind: ResourceKind) -> Self {
        Self { kind, organisation: None, territory: None, case: None, shared_with: BTreeSet::new(), user: None, field_group: None }
    }
    /// Owned by an organisation.
    pub fn owned_by(mut self, org: OrganisationId) -> Self {
        self.organisation = Some(org);
        self
    }
    /// Placed in a territory.
    pub fn in_territory(mut self, territory: Option<TerritoryId>) -> Self {
        self.territory = territory;
        self
    }
    /// About an account.
    pub fn about_user(mut self, user: UserId) -> Self {
        self.user = Some(user);
        self
    }
    /// In a case.
    pub fn in_case(mut self, case: Option<CaseId>) -> Self {
        self.case = case;
        self
    }
    /// Shared with an organisation.
    pub fn shared_with(mut self, org: OrganisationId) -> Self {
        self.shared_with.insert(org);
        self
    }
    /// Restricted to a field group.
    pub fn field(mut self, group: FieldGroup) -> Self {
        self.field_group = Some(group);
        self
    }
}

/// Why access was given or refused. Each maps to one message in the catalogue
/// (`access.reason.<code>`), shown in the "who can see this" panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Allowed: instance administrator.
    InstanceAdministrator,
    /// Allowed: the account itself.
    OwnAccount,
    /// Allowed: administrator of the owning organisation.
    OrganisationAdministrator,
    /// Allowed: member of the owning organisation with a role that may do this.
    OrganisationMember,
    /// Allowed: coordinator of the owning organisation.
    OrganisationCoordinator,
    /// Allowed: member of the case team.
    CaseMember,
    /// Allowed: member of an organisation the record was shared with.
    SharedWithOrganisation,
    /// Allowed: every account may read this (territories).
    EveryAccount,
    /// Allowed: aggregated figures of the account's organisation.
    AggregatedFigures,
    /// Allowed: the shared schedule is seen by every participating organisation.
    SharedSchedule,
    /// Allowed: the partner directory is read by every account.
    PartnerDirectory,
    /// Allowed: sites are read and observed by every organisation that goes
    /// out, within the account's territories.
    SharedSiteRegister,
    /// Allowed: the capacity board is read by every account.
    CapacityBoard,
    /// Allowed: a member of the operator organisation keeps its capacity.
    FacilityOperator,
    /// Refused: the role may not do this.
    RoleNotAllowed,
    /// Refused: another organisation's.
    OtherOrganisation,
    /// Refused: outside the account's territories.
    OutsideTerritory,
    /// Refused: the record belongs to a case the account is not a member of.
    NotCaseMember,
    /// Refused: the field group is not granted.
    FieldGroupNotGranted,
    /// Refused: instance administrators do not read people's files.
    NoPersonalFilesForInstanceAdministrators,
    /// Refused: nobody may do this (e.g. change the audit log).
    NeverAllowed,
}

impl Reason {
    /// The stable code, for message keys and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Reason::InstanceAdministrator => "instance_administrator",
            Reason::OwnAccount => "own_account",
            Reason::OrganisationAdministrator => "organisation_administrator",
            Reason::OrganisationMember => "organisation_member",
            Reason::OrganisationCoordinator => "organisation_coordinator",
            Reason::CaseMember => "case_member",
            Reason::SharedWithOrganisation => "shared_with_organisation",
            Reason::EveryAccount => "every_account",
            Reason::AggregatedFigures => "aggregated_figures",
            Reason::SharedSchedule => "shared_schedule",
            Reason::PartnerDirectory => "partner_directory",
            Reason::SharedSiteRegister => "shared_site_register",
            Reason::CapacityBoard => "capacity_board",
            Reason::FacilityOperator => "facility_operator",
            Reason::RoleNotAllowed => "role_not_allowed",
            Reason::OtherOrganisation => "other_organisation",
            Reason::OutsideTerritory => "outside_territory",
            Reason::NotCaseMember => "not_case_member",
            Reason::FieldGroupNotGranted => "field_group_not_granted",
            Reason::NoPersonalFilesForInstanceAdministrators => "no_personal_files_for_instance_administrators",
            Reason::NeverAllowed => "never_allowed",
        }
    }
}

/// The answer of [`authorize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
}

const fn allow(reason: Reason) -> Decision {
    Decision { allowed: true, reason }
}

const fn deny(reason: Reason) -> Decision {
    Decision { allowed: false, reason }
}

/// Decides whether `actor` may do `action` on `resource`. The only permission
/// function of veille.
pub fn authorize(actor: &Actor, action: Action, resource: &Resource) -> Decision {
    let base = authorize_base(actor, action, resource);
    match resource.field_group {
        Some(group) if base.allowed && !actor.holds(group) => deny(Reason::FieldGroupNotGranted),
        _ => base,
    }
}

fn same_org(actor: &Actor, resource: &Resource) -> bool {
    resource.organisation == Some(actor.organisation)
}

fn authorize_base(actor: &Actor, action: Action, r: &Resource) -> Decision {
    use Action::*;
    use ResourceKind as K;
    use Role::*;
    let admin = actor.role == InstanceAdmin;
    match r.kind {
        K::Instance => match (admin, action) {
            (true, Read | Update) => allow(Reason::InstanceAdministrator),
            (true, _) => deny(Reason::NeverAllowed),
            (false, _) => deny(Reason::RoleNotAllowed),
        },
        K::Organisation => {
            if admin {
                return allow(Reason::InstanceAdministrator);
            }
            if !same_org(actor, r) {
                return deny(Reason::OtherOrganisation);
            }
            match (actor.role, action) {
                (_, Read) => allow(Reason::OrganisationMember),
                (OrgAdmin, Update) => allow(Reason::OrganisationAdministrator),
                _ => deny(Reason::RoleNotAllowed),
            }
        }
        K::Account => {
            if r.user == Some(actor.user) && matches!(action, Read | Update) {
                return allow(Reason::OwnAccount);
            }
            if admin {
                return allow(Reason::InstanceAdministrator);
            }
            if !same_org(actor, r) {
                return deny(Reason::OtherOrganisation);
            }
            match (actor.role, action) {
                (OrgAdmin, _) => allow(Reason::OrganisationAdministrator),
                (Coordinator, Read) => allow(Reason::OrganisationCoordinator),
                _ => deny(Reason::RoleNotAllowed),
            }
        }
        K::Team => {
            if admin {
                return allow(Reason::InstanceAdministrator);
            }
            if !same_org(actor, r) {
                return deny(Reason::OtherOrganisation);
            }
            match (actor.role, action) {
                (OrgAdmin, _) => allow(Reason::OrganisationAdministrator),
                (Coordinator, _) => allow(Reason::OrganisationCoordinator),
                (FieldWorker | HealthProfessional, Read) => allow(Reason::OrganisationMember),
                _ => deny(Reason::RoleNotAllowed),
            }
        }
        K::Territory => match (admin, action) {
            (true, _) => allow(Reason::InstanceAdministrator),
            (false, Read) => allow(Reason::EveryAccount),
            (false, _) => deny(Reason::RoleNotAllowed),
        },
        K::AuditLog => match action {
            Read if admin => allow(Reason::InstanceAdministrator),
            Read if !same_org(actor, r) => deny(Reason::OtherOrganisation),
            Read if actor.role == OrgAdmin => allow(Reason::OrganisationAdministrator),
            Read => deny(Reason::RoleNotAllowed),
            _ => deny(Reason::NeverAllowed),
        },
        K::ApiToken => {
            if r.user == Some(actor.user) {
                return allow(Reason::OwnAccount);
            }
            if action == Delete && admin {
                return allow(Reason::InstanceAdministrator);
            }
            if action == Delete && actor.role == OrgAdmin && same_org(actor, r) {
                return allow(Reason::OrganisationAdministrator);
            }
            deny(Reason::RoleNotAllowed)
        }
        K::Statistics => {
            if action != Read {
                return deny(Reason::NeverAllowed);
            }
            if admin {
                return allow(Reason::InstanceAdministrator);
            }
            if !same_org(actor, r) {
                return deny(Reason::OtherOrganisation);
            }
            match actor.role {
                Partner => deny(Reason::RoleNotAllowed),
                _ => allow(Reason::AggregatedFigures),
            }
        }
        K::Record => authorize_record(actor, action, r),
        K::Facility => {
            // The capacity board is public to every account (places, no
            // people); its operator organisation keeps its places night by
            // night (any member but a reader: the night staff of a shelter
            // update tonight's places), its coordinators open and close it.
            if action == Read {
                return allow(Reason::CapacityBoard);
            }
            if admin {
                return deny(Reason::RoleNotAllowed);
            }
            if !same_org(actor, r) {
                return deny(Reason::OtherOrganisation);
            }
            match (actor.role, action) {
                (OrgAdmin, _) => allow(Reason::OrganisationAdministrator),
                (Coordinator, _) => allow(Reason::OrganisationCoordinator),
                (FieldWorker | HealthProfessional | Partner, Update) => allow(Reason::FacilityOperator),
                _ => deny(Reason::RoleNotAllowed),
            }
        }
        K::Site => authorize_site(actor, action, r),
        K::Schedule => {
            // Read by every organisation that goes out (not partners, not
            // readers); written by the coordinators of the team's organisation.
            if action == Read {
                return match actor.role {
                    Partner | Reader => deny(Reason::RoleNotAllowed),
                    _ => allow(Reason::SharedSchedule),
                };
            }
            if admin {
                return deny(Reason::RoleNotAllowed);
            }
            if !same_org(actor, r) {
                return deny(Reason::OtherOrganisation);
            }
            match actor.role {
                OrgAdmin => allow(Reason::OrganisationAdministrator),
                Coordinator => allow(Reason::OrganisationCoordinator),
                _ => deny(Reason::RoleNotAllowed),
            }
        }
        K::Directory => {
            // Public information: every account reads it. Imported entries
            // (no owner) are the instance's, refreshed by import; an
            // organisation keeps its own entries.
            if action == Read {
                return allow(Reason::PartnerDirectory);
            }
            if admin {
                return allow(Reason::InstanceAdministrator);
            }
            if !same_org(actor, r) {
                return deny(Reason::OtherOrganisation);
            }
            match actor.role {
                OrgAdmin => allow(Reason::OrganisationAdministrator),
                Coordinator => allow(Reason::OrganisationCoordinator),
                _ => deny(Reason::RoleNotAllowed),
            }
        }
    }
}

fn authorize_record(actor: &Actor, action: Action, r: &Resource) -> Decision {
    use Action::*;
    use Role::*;
    match actor.role {
        InstanceAdmin => return deny(Reason::NoPersonalFilesForInstanceAdministrators),
        Reader => return deny(Reason::RoleNotAllowed),
        _ => {}
    }
    if same_org(actor, r) {
        if actor.role == Partner {
            return deny(Reason::RoleNotAllowed);
        }
        if !actor.territories.covers(r.territory) {
            return deny(Reason::OutsideTerritory);
        }
        let coordinating = matches!(actor.role, Coordinator | OrgAdmin);
        if let Some(case) = r.case {
            if !coordinating && !actor.cases.contains(&case) {
                return deny(Reason::NotCaseMember);
            }
        }
        let reason = match (actor.role, r.case) {
            (OrgAdmin, _) => Reason::OrganisationAdministrator,
            (Coordinator, _) => Reason::OrganisationCoordinator,
            (_, Some(_)) => Reason::CaseMember,
            _ => Reason::OrganisationMember,
        };
        return match (actor.role, action) {
            (_, Read | Create | Update) => allow(reason),
            (OrgAdmin | Coordinator, Delete) => allow(reason),
            _ => deny(Reason::RoleNotAllowed),
        };
    }
    // A member of a case team from another organisation (a partner on the
    // case) works on the case's records, within its territories (decision 59).
    if r.case.is_some_and(|c| actor.cases.contains(&c)) {
        if !actor.territories.covers(r.territory) {
            return deny(Reason::OutsideTerritory);
        }
        return match action {
            Read | Create | Update => allow(Reason::CaseMember),
            Delete => deny(Reason::RoleNotAllowed),
        };
    }
    if r.shared_with.contains(&actor.organisation) {
        // An account's territories hold for what is shared with its
        // organisation as for what it owns (decision 52).
        if !actor.territories.covers(r.territory) {
            return deny(Reason::OutsideTerritory);
        }
        return match (actor.role, action) {
            (_, Read) | (Partner | Coordinator | FieldWorker | HealthProfessional, Update) => allow(Reason::SharedWithOrganisation),
            _ => deny(Reason::RoleNotAllowed),
        };
    }
    deny(Reason::OtherOrganisation)
}

/// Sites: places where people live or gather, with anonymous counts, yet
/// where vulnerable people sleep. Every organisation that goes out (its
/// administrators, coordinators, field workers and health professionals)
/// reads them, creates them and records observations (`Update`) within its
/// accounts' territories, so that coordination across organisations works;
/// never partners, readers or instance administrators. Closing, reopening and
/// editing the place itself (`Delete` stands for these) is for the
/// coordinators and administrators of the organisation that created it, or of
/// an organisation it is shared with (the coordinating organisation).
fn authorize_site(actor: &Actor, action: Action, r: &Resource) -> Decision {
    use Role::*;
    match actor.role {
        InstanceAdmin => return deny(Reason::NoPersonalFilesForInstanceAdministrators),
        Reader | Partner => return deny(Reason::RoleNotAllowed),
        _ => {}
    }
    if !actor.territories.covers(r.territory) {
        return deny(Reason::OutsideTerritory);
    }
    let coordinating = matches!(actor.role, Coordinator | OrgAdmin);
    match action {
        Action::Read | Action::Create | Action::Update => {
            if same_org(actor, r) {
                allow(if coordinating { Reason::OrganisationCoordinator } else { Reason::OrganisationMember })
            } else if r.shared_with.contains(&actor.organisation) {
                allow(Reason::SharedWithOrganisation)
            } else {
                allow(Reason::SharedSiteRegister)
            }
        }
        Action::Delete => match (coordinating, same_org(actor, r), r.shared_with.contains(&actor.organisation)) {
            (false, _, _) => deny(Reason::RoleNotAllowed),
            (true, true, _) => allow(if actor.role == OrgAdmin { Reason::OrganisationAdministrator } else { Reason::OrganisationCoordinator }),
            (true, false, true) => allow(Reason::SharedWithOrganisation),
            (true, false, false) => deny(Reason::OtherOrganisation),
        },
    }
}

/// The read rules for personal records compiled to a filter that list queries
/// turn into SQL. `admits` must equal `authorize(actor, Read, r).allowed` for
/// every record (checked by a property test).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadFilter {
    /// No record.
    Nothing,
    /// Records owned by `organisation` within `territories` (case records only
    /// for the listed cases unless `all_cases`), plus records shared with
    /// `shared_with` within `territories`.
    Scoped {
        /// Own organisation's records, if the role reads them.
        own: Option<OwnRecords>,
        /// Records shared with this organisation.
        shared_with: OrganisationId,
        /// The account's territories (for shared records too).
        territories: TerritoryScope,
        /// The cases the account is a member of: their records are readable
        /// whatever organisation owns them (within `territories`).
        member_of: BTreeSet<CaseId>,
    },
}

/// The own-organisation part of a [`ReadFilter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnRecords {
    /// The organisation.
    pub organisation: OrganisationId,
    /// Territories.
    pub territories: TerritoryScope,
    /// Whether every case record is readable (coordinators).
    pub all_cases: bool,
    /// Otherwise, the cases the actor is a member of.
    pub cases: BTreeSet<CaseId>,
}

/// Compiles the read rules of [`ResourceKind::Record`] for `actor`.
pub fn read_filter(actor: &Actor) -> ReadFilter {
    match actor.role {
        Role::InstanceAdmin | Role::Reader => ReadFilter::Nothing,
        Role::Partner => {
            ReadFilter::Scoped { own: None, shared_with: actor.organisation, territories: actor.territories.clone(), member_of: actor.cases.clone() }
        }
        role => ReadFilter::Scoped {
            own: Some(OwnRecords {
                organisation: actor.organisation,
                territories: actor.territories.clone(),
                all_cases: matches!(role, Role::Coordinator | Role::OrgAdmin),
                cases: actor.cases.clone(),
            }),
            shared_with: actor.organisation,
            territories: actor.territories.clone(),
            member_of: actor.cases.clone(),
        },
    }
}

impl ReadFilter {
    /// Whether a record passes the filter.
    pub fn admits(&self, r: &Resource) -> bool {
        match self {
            ReadFilter::Nothing => false,
            ReadFilter::Scoped { own, shared_with, territories, member_of } => {
                let own_ok = own.as_ref().is_some_and(|o| {
                    r.organisation == Some(o.organisation) && o.territories.covers(r.territory) && r.case.is_none_or(|c| o.all_cases || o.cases.contains(&c))
                });
                let owned_by_self = own.as_ref().is_some_and(|o| r.organisation == Some(o.organisation));
                let elsewhere = !owned_by_self && r.organisation != Some(*shared_with) && territories.covers(r.territory);
                own_ok || (elsewhere && (r.case.is_some_and(|c| member_of.contains(&c)) || r.shared_with.contains(shared_with)))
            }
        }
    }
}

/// The read rules for sites compiled to a filter: every organisation that goes
/// out reads every site within its accounts' territories, whoever created it.
/// `admits` must equal `authorize(actor, Read, site).allowed` (property test).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteReadFilter {
    /// No site.
    Nothing,
    /// Sites placed in these territories, or placed nowhere.
    Within(TerritoryScope),
}

/// Compiles the read rules of [`ResourceKind::Site`] for `actor`.
pub fn site_read_filter(actor: &Actor) -> SiteReadFilter {
    match actor.role {
        Role::InstanceAdmin | Role::Reader | Role::Partner => SiteReadFilter::Nothing,
        _ => SiteReadFilter::Within(actor.territories.clone()),
    }
}

impl SiteReadFilter {
    /// Whether a site passes the filter.
    pub fn admits(&self, r: &Resource) -> bool {
        match self {
            SiteReadFilter::Nothing => false,
            SiteReadFilter::Within(scope) => scope.covers(r.territory),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn actor(role: Role, org: OrganisationId) -> Actor {
        Actor {
            user: UserId::new(),
            organisation: org,
            role,
            territories: TerritoryScope::All,
            field_groups: role.default_field_groups().iter().copied().collect(),
            cases: BTreeSet::new(),
        }
    }

    #[test]
    fn instance_admin_never_reads_personal_files() {
        let org = OrganisationId::new();
        let a = actor(Role::InstanceAdmin, org);
        let r = Resource::new(ResourceKind::Record).owned_by(org);
        assert_eq!(authorize(&a, Action::Read, &r), deny(Reason::NoPersonalFilesForInstanceAdministrators));
    }

    #[test]
    fn territory_scope_limits_records() {
        let org = OrganisationId::new();
        let (t1, t2) = (TerritoryId::new(), TerritoryId::new());
        let mut a = actor(Role::FieldWorker, org);
        a.territories = TerritoryScope::Only([t1].into());
        let inside = Resource::new(ResourceKind::Record).owned_by(org).in_territory(Some(t1));
        let outside = Resource::new(ResourceKind::Record).owned_by(org).in_territory(Some(t2));
        assert!(authorize(&a, Action::Read, &inside).allowed);
        assert_eq!(authorize(&a, Action::Read, &outside), deny(Reason::OutsideTerritory));
    }

    #[test]
    fn territory_scope_holds_for_records_shared_with_the_organisation() {
        let (owner, coordinating) = (OrganisationId::new(), OrganisationId::new());
        let (t1, t2) = (TerritoryId::new(), TerritoryId::new());
        let mut a = actor(Role::Coordinator, coordinating);
        a.territories = TerritoryScope::Only([t1].into());
        let shared = |t| Resource::new(ResourceKind::Record).owned_by(owner).shared_with(coordinating).in_territory(t);
        assert!(authorize(&a, Action::Read, &shared(Some(t1))).allowed);
        assert!(authorize(&a, Action::Read, &shared(None)).allowed, "placed nowhere: in every scope");
        assert_eq!(authorize(&a, Action::Read, &shared(Some(t2))), deny(Reason::OutsideTerritory));
        assert!(!read_filter(&a).admits(&shared(Some(t2))));
        a.territories = TerritoryScope::All;
        assert!(authorize(&a, Action::Read, &shared(Some(t2))).allowed);
    }

    #[test]
    fn health_field_only_for_health_professionals() {
        let org = OrganisationId::new();
        let r = Resource::new(ResourceKind::Record).owned_by(org).field(FieldGroup::Health);
        assert!(authorize(&actor(Role::HealthProfessional, org), Action::Read, &r).allowed);
        for role in [Role::Coordinator, Role::FieldWorker, Role::OrgAdmin] {
            let mut a = actor(role, org);
            a.field_groups.insert(FieldGroup::Health); // even if wrongly granted
            assert_eq!(authorize(&a, Action::Read, &r), deny(Reason::FieldGroupNotGranted), "{role:?}");
        }
    }

    #[test]
    fn other_organisation_is_refused_unless_shared() {
        let (org, other) = (OrganisationId::new(), OrganisationId::new());
        let r = Resource::new(ResourceKind::Record).owned_by(org);
        let partner = actor(Role::Partner, other);
        assert_eq!(authorize(&partner, Action::Read, &r), deny(Reason::OtherOrganisation));
        let shared = r.clone().shared_with(other);
        assert_eq!(authorize(&partner, Action::Read, &shared), allow(Reason::SharedWithOrganisation));
        assert!(!authorize(&partner, Action::Delete, &shared).allowed);
    }

    #[test]
    fn audit_log_is_never_written() {
        let org = OrganisationId::new();
        for role in Role::ALL {
            for action in [Action::Create, Action::Update, Action::Delete] {
                let r = Resource::new(ResourceKind::AuditLog).owned_by(org);
                assert!(!authorize(&actor(role, org), action, &r).allowed);
            }
        }
    }

    #[test]
    fn reader_sees_only_figures() {
        let org = OrganisationId::new();
        let a = actor(Role::Reader, org);
        for kind in ResourceKind::ALL {
            let r = Resource::new(kind).owned_by(org);
            let allowed = authorize(&a, Action::Read, &r).allowed;
            // The capacity board holds places, never people.
            let expected = matches!(
                kind,
                ResourceKind::Statistics | ResourceKind::Territory | ResourceKind::Organisation | ResourceKind::Directory | ResourceKind::Facility
            );
            assert_eq!(allowed, expected, "{kind:?}");
        }
    }

    #[test]
    fn the_schedule_is_shared_and_written_by_its_coordinators() {
        let (org, other) = (OrganisationId::new(), OrganisationId::new());
        let slot = Resource::new(ResourceKind::Schedule).owned_by(org);
        for role in Role::ALL {
            let reads = !matches!(role, Role::Partner | Role::Reader);
            assert_eq!(authorize(&actor(role, other), Action::Read, &slot).allowed, reads, "{role:?} reads");
            let writes = matches!(role, Role::OrgAdmin | Role::Coordinator);
            for action in [Action::Create, Action::Update, Action::Delete] {
                assert_eq!(authorize(&actor(role, org), action, &slot).allowed, writes, "{role:?} {action:?} own");
                assert!(!authorize(&actor(role, other), action, &slot).allowed, "{role:?} {action:?} other");
            }
        }
    }

    #[test]
    fn the_directory_is_read_by_all_and_imported_entries_belong_to_the_instance() {
        let org = OrganisationId::new();
        let imported = Resource::new(ResourceKind::Directory);
        let own = Resource::new(ResourceKind::Directory).owned_by(org);
        for role in Role::ALL {
            let a = actor(role, org);
            assert!(authorize(&a, Action::Read, &imported).allowed, "{role:?}");
            let admin = role == Role::InstanceAdmin;
            assert_eq!(authorize(&a, Action::Update, &imported).allowed, admin, "{role:?} imported");
            let writes = admin || matches!(role, Role::OrgAdmin | Role::Coordinator);
            assert_eq!(authorize(&a, Action::Update, &own).allowed, writes, "{role:?} own");
            assert_eq!(authorize(&actor(role, OrganisationId::new()), Action::Update, &own).allowed, admin, "{role:?} other");
        }
    }

    #[test]
    fn sites_are_read_and_observed_across_organisations_within_territories() {
        let (org, other, coord) = (OrganisationId::new(), OrganisationId::new(), OrganisationId::new());
        let (t1, t2) = (TerritoryId::new(), TerritoryId::new());
        let site = Resource::new(ResourceKind::Site).owned_by(org).in_territory(Some(t1)).shared_with(coord);
        for role in Role::ALL {
            let goes_out = matches!(role, Role::OrgAdmin | Role::Coordinator | Role::FieldWorker | Role::HealthProfessional);
            for a in [actor(role, org), actor(role, other), actor(role, coord)] {
                for action in [Action::Read, Action::Create, Action::Update] {
                    assert_eq!(authorize(&a, action, &site).allowed, goes_out, "{role:?} {action:?}");
                }
            }
            assert_eq!(authorize(&actor(role, other), Action::Read, &site).reason == Reason::SharedSiteRegister, goes_out, "{role:?}");
            // Closing and editing: coordinators of the owner or of the organisation it is shared with.
            let closes = matches!(role, Role::OrgAdmin | Role::Coordinator);
            assert_eq!(authorize(&actor(role, org), Action::Delete, &site).allowed, closes, "{role:?} owner");
            assert_eq!(authorize(&actor(role, coord), Action::Delete, &site).allowed, closes, "{role:?} coordinating");
            assert!(!authorize(&actor(role, other), Action::Delete, &site).allowed, "{role:?} other");
        }
        // Outside the account's territories: refused, even in its own organisation.
        let mut a = actor(Role::FieldWorker, org);
        a.territories = TerritoryScope::Only([t2].into());
        assert_eq!(authorize(&a, Action::Read, &site), deny(Reason::OutsideTerritory));
        a.territories = TerritoryScope::Only([t1].into());
        assert!(authorize(&a, Action::Read, &site).allowed);
        assert_eq!(authorize(&actor(Role::InstanceAdmin, org), Action::Read, &site), deny(Reason::NoPersonalFilesForInstanceAdministrators));
    }

    fn arb_world() -> impl Strategy<Value = (Actor, Resource)> {
        let orgs: Vec<OrganisationId> = (0..3).map(|_| OrganisationId::new()).collect();
        let terrs: Vec<TerritoryId> = (0..3).map(|_| TerritoryId::new()).collect();
        let cases: Vec<CaseId> = (0..2).map(|_| CaseId::new()).collect();
        let (o2, t2, c2) = (orgs.clone(), terrs.clone(), cases.clone());
        (
            0..Role::ALL.len(),
            0..3usize,
            proptest::option::of(proptest::collection::btree_set(0..3usize, 0..3)),
            proptest::collection::btree_set(0..2usize, 0..2),
            0..3usize,
            proptest::option::of(0..3usize),
            proptest::option::of(0..2usize),
            proptest::collection::btree_set(0..3usize, 0..3),
        )
            .prop_map(move |(role, org, scope, acases, rorg, rterr, rcase, shared)| {
                let role = Role::ALL[role];
                let a = Actor {
                    user: UserId::new(),
                    organisation: orgs[org],
                    role,
                    territories: match scope {
                        None => TerritoryScope::All,
                        Some(s) => TerritoryScope::Only(s.into_iter().map(|i| terrs[i]).collect()),
                    },
                    field_groups: role.default_field_groups().iter().copied().collect(),
                    cases: acases.into_iter().map(|i| cases[i]).collect(),
                };
                let mut r = Resource::new(ResourceKind::Record).owned_by(o2[rorg]).in_territory(rterr.map(|i| t2[i])).in_case(rcase.map(|i| c2[i]));
                r.shared_with = shared.into_iter().map(|i| o2[i]).collect();
                (a, r)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn read_filter_agrees_with_authorize((a, r) in arb_world()) {
            prop_assert_eq!(read_filter(&a).admits(&r), authorize(&a, Action::Read, &r).allowed);
        }

        #[test]
        fn site_read_filter_agrees_with_authorize((a, r) in arb_world()) {
            let mut site = r;
            site.kind = ResourceKind::Site;
            site.case = None;
            prop_assert_eq!(site_read_filter(&a).admits(&site), authorize(&a, Action::Read, &site).allowed);
        }
    }
}
