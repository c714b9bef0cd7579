//! The "who can see this" panel: every active account the permission function
//! lets read a record, with the reason. The same [`veille_domain::authorize`]
//! decides the panel and the access itself, so they cannot disagree.

use std::collections::HashMap;

use veille_domain::{authorize, Action, Actor, Reason, Resource, Role};
use veille_storage::{accounts, organisations, Db};

/// One line of the panel.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PanelEntry {
    /// Account id.
    pub user_id: String,
    /// Name, when the viewer may read that account (an account of another
    /// organisation is shown by organisation and role only).
    pub name: Option<String>,
    /// Organisation name.
    pub organisation: String,
    /// Role.
    pub role: Role,
    /// Why.
    pub reason: Reason,
}

/// Everyone who can read `resource`, sorted by organisation then name, as
/// `viewer` may see them: names only of the accounts it may read itself.
pub async fn who_can_read(db: &Db, viewer: &Actor, resource: &Resource) -> anyhow::Result<Vec<PanelEntry>> {
    let orgs: HashMap<_, _> = organisations::list(db).await?.into_iter().map(|o| (o.id, o.name)).collect();
    let mut out = Vec::new();
    for account in accounts::list(db, None).await?.into_iter().filter(|a| !a.disabled) {
        let actor = accounts::actor_of(db, &account).await?;
        let decision = authorize(&actor, Action::Read, resource);
        if decision.allowed {
            out.push(PanelEntry {
                user_id: account.id.to_string(),
                name: authorize(viewer, Action::Read, &crate::accounts::account_resource(&account)).allowed.then(|| account.display_name.clone()),
                organisation: orgs.get(&account.organisation).cloned().unwrap_or_default(),
                role: account.role,
                reason: decision.reason,
            });
        }
    }
    out.sort_by(|a, b| (&a.organisation, &a.name).cmp(&(&b.organisation, &b.name)));
    Ok(out)
}

/// The panel of a record the caller may read, named by kind (`users`,
/// `teams`, `organisations`, `sites`, `people`, `territories`) and id: not
/// found for another kind or a record it may not read.
pub async fn of_record(app: &crate::App, who: &crate::Caller, kind: &str, id: &str) -> crate::Result<Vec<PanelEntry>> {
    let resource = match kind {
        "users" => crate::accounts::account_resource(&crate::accounts::account(app, who, id, Action::Read).await?),
        "teams" => crate::accounts::team_resource(&crate::accounts::team(app, who, id, Action::Read).await?),
        "organisations" => crate::accounts::organisation_resource(&crate::accounts::organisation(app, who, id, Action::Read).await?),
        "sites" => crate::sites::load_site(app, who, id, Action::Read).await?.1,
        "people" => crate::people::load_person(app, who, id, Action::Read).await?.1,
        "territories" => {
            crate::territories::get(app, who, id).await?;
            Resource::new(veille_domain::ResourceKind::Territory)
        }
        _ => return Err(crate::Error::not_found()),
    };
    Ok(who_can_read(&app.db, &who.actor, &resource).await?)
}
