//! Organisations, accounts, teams, one's own account (API tokens) and the
//! audit log: who works where, with which role, territories and field
//! groups. Every read of another account is audited; every change is, in the
//! transaction that makes it.

use serde::Deserialize;
use veille_domain::{Action, ApiTokenId, EmailAddress, FieldGroup, OrganisationId, Resource, ResourceKind, Role, TeamId, TerritoryId, TerritoryScope, UserId};
use veille_storage::accounts::{self, Account};
use veille_storage::audit::{self, Entry};
use veille_storage::organisations::{self, Organisation};
use veille_storage::teams::{self, Team};
use veille_storage::territories::{self, Territory};
use veille_storage::tokens::{self, ApiToken};
use veille_storage::{sessions, StorageError};

use crate::access_panel::{who_can_read, PanelEntry};
use crate::error::{Error, Result};
use crate::{App, Caller, FieldErrors, Lang};

// ------------------------------------------------------------ organisations

/// The access-control description of an organisation.
pub fn organisation_resource(org: &Organisation) -> Resource {
    Resource::new(ResourceKind::Organisation).owned_by(org.id)
}

/// The organisations the caller may read.
pub async fn organisations(app: &App, who: &Caller) -> Result<Vec<Organisation>> {
    Ok(organisations::list(&app.db).await?.into_iter().filter(|o| who.can(Action::Read, &organisation_resource(o)).allowed).collect())
}

/// Whether the caller may create organisations (instance administrators).
pub fn may_create_organisation(who: &Caller) -> bool {
    who.can(Action::Create, &Resource::new(ResourceKind::Organisation)).allowed
}

/// A new organisation as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct OrganisationInput {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Kind code.
    #[serde(default)]
    pub kind: String,
    /// Ticked: the coordinating organisation of the instance.
    #[serde(default)]
    pub coordinating: Option<String>,
}

/// Creates an organisation.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create_organisation(app: &App, who: &Caller, lang: Lang, input: &OrganisationInput) -> Result<std::result::Result<OrganisationId, FieldErrors>> {
    who.require(Action::Create, &Resource::new(ResourceKind::Organisation))?;
    let mut errors = FieldErrors::new();
    let name = input.name.trim();
    if name.chars().count() < 2 || name.chars().count() > 120 {
        errors.add("name", lang.t("organisation.name_invalid"));
    }
    if !organisations::KINDS.contains(&input.kind.as_str()) {
        errors.add("kind", lang.t("form.choose_one"));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    match organisations::create(&mut tx, name, &input.kind, input.coordinating.is_some(), now).await {
        Ok(org) => {
            audit::append(&mut tx, who.audit_entry(now, "create", "organisation", org.id, org.id)).await?;
            tx.commit().await?;
            crate::reports::lookups_changed(app).await?;
            Ok(Ok(org.id))
        }
        Err(e) if e.is_conflict_on("name") => {
            errors.add("name", lang.t("organisation.name_taken"));
            Ok(Err(errors))
        }
        Err(e) => Err(e.into()),
    }
}

/// An organisation the caller may do `action` on.
pub async fn organisation(app: &App, who: &Caller, id: &str, action: Action) -> Result<Organisation> {
    let id: OrganisationId = id.parse().map_err(|_| Error::not_found())?;
    let org = organisations::get(&app.db, id).await?;
    who.require(action, &organisation_resource(&org))?;
    Ok(org)
}

/// What an organisation's page shows to the caller.
#[derive(Clone, Debug)]
pub struct OrganisationView {
    /// The organisation.
    pub org: Organisation,
    /// Its accounts (for those who may read them).
    pub members: Vec<Account>,
    /// Its teams (for those who may read them).
    pub teams: Vec<Team>,
    /// The caller may invite people.
    pub can_invite: bool,
    /// The caller may create teams.
    pub can_create_team: bool,
    /// The roles the caller may give.
    pub roles: Vec<Role>,
    /// Who can see it.
    pub panel: Vec<PanelEntry>,
    /// Its child-protection guidance (empty: the default text applies).
    pub child_protection: String,
    /// Its team safety rules (empty: the default text), shown at round check-in.
    pub safety_rules: String,
    /// The caller may write that guidance.
    pub can_set_child_protection: bool,
}

/// The roles `who` may give: every role but instance administrator, which
/// only an instance administrator gives.
pub fn assignable_roles(who: &Caller) -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| who.account.role == Role::InstanceAdmin || r.assignable_by_org_admin()).collect()
}

/// An organisation's page.
pub async fn organisation_view(app: &App, who: &Caller, org: Organisation) -> Result<OrganisationView> {
    let account_resource = Resource::new(ResourceKind::Account).owned_by(org.id);
    let members = if who.can(Action::Read, &account_resource).allowed { accounts::list(&app.db, Some(org.id)).await? } else { Vec::new() };
    let team_resource = Resource::new(ResourceKind::Team).owned_by(org.id);
    let teams = if who.can(Action::Read, &team_resource).allowed { teams::list(&app.db, Some(org.id)).await? } else { Vec::new() };
    Ok(OrganisationView {
        child_protection: crate::people::protection::guidance_of(app, org.id).await?,
        safety_rules: crate::people::protection::text_of(app, org.id, crate::people::protection::Guidance::SafetyRules).await?,
        can_set_child_protection: who.can(Action::Update, &organisation_resource(&org)).allowed,
        can_invite: who.can(Action::Create, &account_resource).allowed,
        can_create_team: who.can(Action::Create, &team_resource).allowed,
        roles: assignable_roles(who),
        panel: who_can_read(&app.db, &who.actor, &organisation_resource(&org)).await?,
        org,
        members,
        teams,
    })
}

/// An invitation as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct InviteInput {
    /// E-mail.
    #[serde(default)]
    pub email: String,
    /// Name shown.
    #[serde(default)]
    pub display_name: String,
    /// Role code.
    #[serde(default)]
    pub role: String,
}

/// Invites someone to an organisation with a role (a link mailed, valid a week).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn invite(app: &App, who: &Caller, lang: Lang, org: &Organisation, input: &InviteInput) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Create, &Resource::new(ResourceKind::Account).owned_by(org.id))?;
    let mut errors = FieldErrors::new();
    let email = EmailAddress::parse(&input.email);
    if email.is_err() {
        errors.add("email", lang.t("form.email_invalid"));
    }
    let name = input.display_name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        errors.add("display_name", lang.t("form.required"));
    }
    let role = Role::from_code(&input.role).filter(|r| assignable_roles(who).contains(r));
    if role.is_none() {
        errors.add("role", lang.t("form.choose_one"));
    }
    if let Ok(e) = &email {
        if accounts::by_email(&app.db, e).await?.is_some() {
            errors.add("email", lang.t("invitation.email_taken"));
        }
    }
    match (errors.is_empty(), email, role) {
        (true, Ok(email), Some(role)) => {
            crate::login::send_invitation(app, who, org.id, &org.name, &email, &name, role, lang).await?;
            Ok(Ok(()))
        }
        _ => Ok(Err(errors)),
    }
}

/// A new team as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct TeamInput {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Kind code.
    #[serde(default)]
    pub kind: String,
}

/// Creates a team in an organisation.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create_team(app: &App, who: &Caller, lang: Lang, org: &Organisation, input: &TeamInput) -> Result<std::result::Result<TeamId, FieldErrors>> {
    who.require(Action::Create, &Resource::new(ResourceKind::Team).owned_by(org.id))?;
    let mut errors = FieldErrors::new();
    let name = input.name.trim().to_owned();
    if name.chars().count() < 2 || name.chars().count() > 80 {
        errors.add("team_name", lang.t("team.name_invalid"));
    }
    if !teams::KINDS.contains(&input.kind.as_str()) {
        errors.add("team_kind", lang.t("form.choose_one"));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    match teams::create(&mut tx, org.id, &name, &input.kind, now).await {
        Ok(team) => {
            audit::append(&mut tx, who.audit_entry(now, "create", "team", team, org.id)).await?;
            tx.commit().await?;
            crate::reports::lookups_changed(app).await?;
            Ok(Ok(team))
        }
        Err(e) if e.is_conflict_on("name") => {
            errors.add("team_name", lang.t("team.name_taken"));
            Ok(Err(errors))
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------ accounts

/// The access-control description of an account.
pub fn account_resource(a: &Account) -> Resource {
    Resource::new(ResourceKind::Account).owned_by(a.organisation).about_user(a.id)
}

/// An account the caller may do `action` on.
pub async fn account(app: &App, who: &Caller, id: &str, action: Action) -> Result<Account> {
    let id: UserId = id.parse().map_err(|_| Error::not_found())?;
    let account = accounts::get(&app.db, id).await?;
    who.require(action, &account_resource(&account))?;
    Ok(account)
}

/// Reads an account (an audited read).
pub async fn read_account(app: &App, who: &Caller, id: &str) -> Result<Account> {
    let a = account(app, who, id, Action::Read).await?;
    audit::append_now(&app.db, who.audit_entry(app.clock.now(), "read", "account", a.id, a.organisation)).await?;
    Ok(a)
}

/// What an account's page shows.
#[derive(Clone, Debug)]
pub struct AccountView {
    /// The account.
    pub user: Account,
    /// Its organisation's name.
    pub organisation: String,
    /// Every territory.
    pub territories: Vec<Territory>,
    /// Its territories (empty: all).
    pub user_territories: Vec<TerritoryId>,
    /// Its field groups.
    pub field_groups: Vec<FieldGroup>,
    /// The roles the caller may give.
    pub roles: Vec<Role>,
    /// The caller may change its grants, disable it, reset its second factor.
    pub can_manage: bool,
    /// Who can see it.
    pub panel: Vec<PanelEntry>,
}

/// Whether `who` may manage `user`: not itself, and an instance
/// administrator only by another.
fn may_manage(who: &Caller, user: &Account, action: Action) -> bool {
    user.id != who.account.id
        && who.can(action, &account_resource(user)).allowed
        && (user.role != Role::InstanceAdmin || who.account.role == Role::InstanceAdmin)
}

/// An account's page.
pub async fn account_view(app: &App, who: &Caller, user: Account) -> Result<AccountView> {
    let actor = accounts::actor_of(&app.db, &user).await?;
    let user_territories = match &actor.territories {
        TerritoryScope::All => Vec::new(),
        TerritoryScope::Only(set) => set.iter().copied().collect(),
    };
    Ok(AccountView {
        organisation: organisations::get(&app.db, user.organisation).await?.name,
        territories: territories::list(&app.db).await?,
        user_territories,
        field_groups: actor.field_groups.into_iter().collect(),
        roles: assignable_roles(who),
        can_manage: may_manage(who, &user, Action::Update),
        panel: who_can_read(&app.db, &who.actor, &account_resource(&user)).await?,
        user,
    })
}

/// Disables or enables an account (a disabled account's sessions and API
/// tokens stop working at its next request).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn set_disabled(app: &App, who: &Caller, id: &str, disabled: bool) -> Result<UserId> {
    let user = account(app, who, id, Action::Delete).await?;
    if !may_manage(who, &user, Action::Delete) {
        return Err(Error::forbidden());
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    accounts::set_disabled(&mut tx, user.id, disabled, now).await?;
    audit::append(&mut tx, who.audit_entry(now, if disabled { "disable" } else { "enable" }, "account", user.id, user.organisation)).await?;
    tx.commit().await?;
    Ok(user.id)
}

/// Disables every account inactive for `account_inactive_days` (no login,
/// no use of an API token): its sessions end, its tokens are revoked, an
/// audit entry says why. Safe with several instances running it at once:
/// each account is disabled by one of them (compare-and-set). Returns how
/// many this call disabled.
#[tracing::instrument(skip_all)]
pub async fn disable_inactive(app: &App) -> Result<usize> {
    let days = app.config.account_inactive_days;
    if days == 0 {
        return Ok(0);
    }
    let now = app.clock.now();
    let before = now.plus_seconds(-days * 86_400);
    let mut n = 0;
    for (id, organisation) in accounts::inactive_since(&app.db, before).await? {
        let mut tx = app.db.begin().await?;
        if !accounts::disable_if_inactive(&mut tx, id, before, now).await? {
            continue;
        }
        let e = audit::NewEntry::about(now, None, "disable", "account", Some(id.to_string()), Some(organisation))
            .with_detail(serde_json::json!({"reason": "inactive", "days": days}));
        audit::append(&mut tx, e).await?;
        tx.commit().await?;
        n += 1;
    }
    if n > 0 {
        tracing::info!(accounts = n, "inactive accounts disabled");
    }
    Ok(n)
}

/// Resets an account's second factor (it enrols again at its next login); its sessions end.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn reset_second_factor(app: &App, who: &Caller, id: &str) -> Result<UserId> {
    let user = account(app, who, id, Action::Update).await?;
    if !may_manage(who, &user, Action::Update) {
        return Err(Error::forbidden());
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    accounts::reset_totp(&mut tx, user.id).await?;
    sessions::delete_all_for(&mut tx, user.id).await?;
    audit::append(&mut tx, who.audit_entry(now, "reset_second_factor", "account", user.id, user.organisation)).await?;
    tx.commit().await?;
    Ok(user.id)
}

/// Grants as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct GrantsInput {
    /// Role code.
    #[serde(default)]
    pub role: String,
    /// Territory ids (none: every territory).
    #[serde(default)]
    pub territories: Vec<String>,
    /// Field group codes.
    #[serde(default)]
    pub field_groups: Vec<String>,
    /// The version the form was shown at.
    #[serde(default)]
    pub version: i64,
}

/// Changes an account's role, territories and field groups.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn set_grants(app: &App, who: &Caller, lang: Lang, user: &Account, input: &GrantsInput) -> Result<std::result::Result<(), FieldErrors>> {
    if !may_manage(who, user, Action::Update) {
        return Err(Error::forbidden());
    }
    let mut errors = FieldErrors::new();
    let role = Role::from_code(&input.role).filter(|r| assignable_roles(who).contains(r));
    if role.is_none() {
        errors.add("role", lang.t("form.choose_one"));
    }
    let mut territory_ids = Vec::new();
    for t in &input.territories {
        match t.parse::<TerritoryId>() {
            Ok(id) => territory_ids.push(id),
            Err(_) => errors.add("territories", lang.t("form.choose_one")),
        }
    }
    let groups: Vec<FieldGroup> = input.field_groups.iter().filter_map(|g| FieldGroup::from_code(g)).collect();
    if let Some(role) = role {
        if groups.iter().any(|g| !role.grantable_field_groups().contains(g)) {
            errors.add("field_groups", lang.t("user.field_group_not_for_role"));
        }
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    let scope = if territory_ids.is_empty() { None } else { Some(territory_ids.as_slice()) };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    match accounts::set_grants(&mut tx, user.id, role, scope, &groups, input.version, now).await {
        Ok(()) => {
            let detail = serde_json::json!({ "role": role.code(), "territories": territory_ids.len(), "field_groups": groups });
            audit::append(&mut tx, who.audit_entry(now, "update_grants", "account", user.id, user.organisation).with_detail(detail)).await?;
            tx.commit().await?;
            Ok(Ok(()))
        }
        Err(StorageError::StaleVersion) => {
            errors.add("role", lang.t("error.conflict"));
            Ok(Err(errors))
        }
        Err(e) => Err(e.into()),
    }
}

// --------------------------------------------------------------------- teams

/// The access-control description of a team.
pub fn team_resource(t: &Team) -> Resource {
    Resource::new(ResourceKind::Team).owned_by(t.organisation)
}

/// A team the caller may do `action` on.
pub async fn team(app: &App, who: &Caller, id: &str, action: Action) -> Result<Team> {
    let id: TeamId = id.parse().map_err(|_| Error::not_found())?;
    let team = teams::get(&app.db, id).await?;
    who.require(action, &team_resource(&team))?;
    Ok(team)
}

/// What a team's page shows.
#[derive(Clone, Debug)]
pub struct TeamView {
    /// The team.
    pub team: Team,
    /// Its members.
    pub members: Vec<Account>,
    /// Active accounts of its organisation that are not members.
    pub candidates: Vec<Account>,
    /// The caller may add and remove members.
    pub can_manage: bool,
    /// Who can see it.
    pub panel: Vec<PanelEntry>,
}

/// A team's page.
pub async fn team_view(app: &App, who: &Caller, team: Team) -> Result<TeamView> {
    let member_ids = teams::members(&app.db, team.id).await?;
    let all = accounts::list(&app.db, Some(team.organisation)).await?;
    let (members, candidates): (Vec<_>, Vec<_>) = all.into_iter().filter(|a| !a.disabled).partition(|a| member_ids.contains(&a.id));
    Ok(TeamView {
        can_manage: who.can(Action::Update, &team_resource(&team)).allowed,
        panel: who_can_read(&app.db, &who.actor, &team_resource(&team)).await?,
        team,
        members,
        candidates,
    })
}

/// Adds an account of the team's organisation to the team, or removes it.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn change_member(app: &App, who: &Caller, id: &str, user: &str, add: bool) -> Result<TeamId> {
    let team = team(app, who, id, Action::Update).await?;
    let user: UserId = user.parse().map_err(|_| Error::bad_request())?;
    let account = accounts::get(&app.db, user).await.map_err(|_| Error::bad_request())?;
    if account.organisation != team.organisation {
        return Err(Error::bad_request());
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if add {
        teams::add_member(&mut tx, team.id, user).await?;
    } else {
        teams::remove_member(&mut tx, team.id, user).await?;
    }
    let action = if add { "add_member" } else { "remove_member" };
    audit::append(&mut tx, who.audit_entry(now, action, "team", team.id, team.organisation).with_detail(serde_json::json!({ "user": user }))).await?;
    tx.commit().await?;
    Ok(team.id)
}

/// A team of any organisation (its name and organisation are not personal data).
pub async fn team_by_id(app: &App, id: TeamId) -> Result<Team> {
    Ok(teams::get(&app.db, id).await?)
}

/// Every team, or an organisation's.
pub async fn teams_of(app: &App, organisation: Option<OrganisationId>) -> Result<Vec<Team>> {
    Ok(teams::list(&app.db, organisation).await?)
}

/// The accounts of an organisation the caller may read.
pub async fn members_of(app: &App, who: &Caller, organisation: OrganisationId) -> Result<Vec<Account>> {
    who.require(Action::Read, &Resource::new(ResourceKind::Account).owned_by(organisation))?;
    Ok(accounts::list(&app.db, Some(organisation)).await?)
}

// -------------------------------------------------------------- own account

/// What the caller's own account page shows.
#[derive(Clone, Debug)]
pub struct OwnAccount {
    /// Its e-mail.
    pub email: String,
    /// Its open sessions.
    pub sessions: i64,
    /// Recovery codes left.
    pub recovery_left: i64,
    /// Its API tokens.
    pub tokens: Vec<ApiToken>,
}

/// The caller's own account.
pub async fn own_account(app: &App, who: &Caller) -> Result<OwnAccount> {
    Ok(OwnAccount {
        email: who.account.email.clone(),
        sessions: sessions::count_for(&app.db, who.account.id).await?,
        recovery_left: accounts::recovery_codes_left(&app.db, who.account.id).await?,
        tokens: tokens::list_for(&app.db, who.account.id).await?,
    })
}

/// A new API token as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct TokenInput {
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// `read` or `write`.
    #[serde(default)]
    pub scope: String,
    /// Days it lives (1–365).
    #[serde(default)]
    pub days: String,
}

/// Creates an API token of the caller's; gives its secret (shown once).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create_token(app: &App, who: &Caller, lang: Lang, input: &TokenInput) -> Result<std::result::Result<String, FieldErrors>> {
    who.require(Action::Create, &Resource::new(ResourceKind::ApiToken).owned_by(who.account.organisation).about_user(who.account.id))?;
    let mut errors = FieldErrors::new();
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        errors.add("name", lang.t("form.required"));
    }
    let scopes: &[&str] = match input.scope.as_str() {
        "read" => &["read"],
        "write" => &["read", "write"],
        _ => {
            errors.add("scope", lang.t("form.choose_one"));
            &[]
        }
    };
    let days = input.days.trim().parse::<i64>().ok().filter(|d| (1..=365).contains(d));
    if days.is_none() {
        errors.add("days", lang.tf("account.token_days_invalid", &[("max", "365")]));
    }
    let Some(days) = days.filter(|_| errors.is_empty()) else { return Ok(Err(errors)) };
    let secret = format!("vt_{}", crate::security::random_token());
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = tokens::create(&mut tx, who.account.id, &name, &crate::security::token_hash(&secret), scopes, now, now.plus_seconds(days * 86400)).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "create", "api_token", id, who.account.organisation).with_detail(serde_json::json!({ "scopes": scopes, "days": days })),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(secret))
}

/// Revokes an API token (its owner's, or as an administrator of its organisation).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn revoke_token(app: &App, who: &Caller, id: &str) -> Result<()> {
    let id: ApiTokenId = id.parse().map_err(|_| Error::not_found())?;
    let token = tokens::get(&app.db, id).await?;
    let owner = accounts::get(&app.db, token.user).await?;
    who.require(Action::Delete, &Resource::new(ResourceKind::ApiToken).owned_by(owner.organisation).about_user(owner.id))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    tokens::revoke(&mut tx, id, now).await?;
    audit::append(&mut tx, who.audit_entry(now, "revoke", "api_token", id, owner.organisation)).await?;
    tx.commit().await?;
    Ok(())
}

// ----------------------------------------------------------------- audit log

/// Filters of the audit log.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct AuditQuery {
    /// An account id.
    #[serde(default)]
    pub user: String,
    /// A record id.
    #[serde(default)]
    pub record: String,
    /// Entries before this position (the next page).
    pub before: Option<i64>,
}

/// Entries of the audit log the caller may read (its organisation's; every
/// entry for an instance administrator), newest first, 100 at most.
pub async fn audit_log(app: &App, who: &Caller, q: &AuditQuery) -> Result<Vec<Entry>> {
    who.require(Action::Read, &Resource::new(ResourceKind::AuditLog).owned_by(who.account.organisation))?;
    let organisation = (who.account.role != Role::InstanceAdmin).then_some(who.account.organisation);
    let filter = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.parse::<uuid::Uuid>().is_ok()).then(|| s.to_owned())
    };
    let query = audit::Query { organisation, actor_user: filter(&q.user), record_id: filter(&q.record), before_seq: q.before, limit: 100 };
    let mut entries = audit::list(&app.db, &app.audit, &query).await?;
    if !who.actor.holds(veille_domain::FieldGroup::Health) {
        for e in &mut entries {
            e.detail = without_health(&e.detail);
        }
    }
    Ok(entries)
}

/// An entry's detail as shown to someone who does not read the health field
/// group: health markers are written under `"health"` and left out here
/// (with the forms written before that convention: a top-level `"care"`, a
/// boolean `"health"`, `"field": "health"` and `"field": "health_note"`).
/// The chain's hash covers the detail as written; `veille audit verify` reads that.
pub fn without_health(detail: &str) -> String {
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str::<serde_json::Value>(detail) else { return detail.to_owned() };
    map.remove("health");
    map.remove("care");
    match map.get("field").and_then(|f| f.as_str()) {
        Some("health") => {
            map.remove("field");
        }
        Some("health_note") => {
            map.insert("field".into(), "note".into());
        }
        _ => {}
    }
    serde_json::Value::Object(map).to_string()
}

/// The caller's own organisation.
pub async fn own_organisation(app: &App, who: &Caller) -> Result<Organisation> {
    Ok(organisations::get(&app.db, who.account.organisation).await?)
}
