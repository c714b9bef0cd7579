//! The on-call list (astreinte) of an organisation, and who receives the
//! alerts the system raises. An entry names an account of the organisation
//! and when it is on call (a day or every day, a time range or the whole day,
//! Paris time; a night range runs into the next morning); the list is kept
//! by the organisation's coordinators and administrators, as its teams are,
//! and read by its members.
//!
//! [`alert_recipients`] is the one rule for every alert the instance raises
//! (an overdue round, an overdue action without an active case lead, an
//! escalation going up a level): the accounts on call now; failing that, the
//! organisation's coordinators and administrators; failing that, the
//! coordinating organisation's — never nobody while anyone can be reached.

use veille_domain::on_call::OnCallSlot;
use veille_domain::{Action, OnCallId, OrganisationId, Resource, ResourceKind, Role, Timestamp, UserId};
use veille_storage::accounts::{self, Account};
use veille_storage::audit;
use veille_storage::on_call::{self as store, OnCall};
use veille_storage::organisations::Organisation;

use crate::error::{Error, Result};
use crate::shelter::input::id;
use crate::{App, Caller, FieldErrors, Lang};

/// The access-control description of an organisation's on-call list: as its
/// teams (its coordinators and administrators keep it, its members read it).
pub fn resource(org: OrganisationId) -> Resource {
    Resource::new(ResourceKind::Team).owned_by(org)
}

/// Whether an account can be on call: an active account that works on records.
fn can_be_on_call(a: &Account) -> bool {
    !a.disabled && !matches!(a.role, Role::InstanceAdmin | Role::Reader)
}

/// What the organisation page shows of the list.
#[derive(Clone, Debug)]
pub struct OnCallView {
    /// The entries, in order.
    pub entries: Vec<OnCall>,
    /// The accounts on call now.
    pub now: Vec<UserId>,
    /// Who would receive an alert now, and whether they come from the list.
    pub recipients_now: Vec<String>,
    /// Whether the list has someone on call now (otherwise the fallback applies).
    pub from_list: bool,
    /// The accounts that can be put on call (id, name).
    pub candidates: Vec<(UserId, String)>,
    /// The caller keeps the list.
    pub can_manage: bool,
}

/// The list of an organisation, if the caller may read it.
pub async fn view(app: &App, who: &Caller, org: OrganisationId) -> Result<Option<OnCallView>> {
    if !who.can(Action::Read, &resource(org)).allowed {
        return Ok(None);
    }
    let now = app.clock.now();
    let entries = store::of(&app.db, org).await?;
    let on_now = on_call_at(app, org, now).await?;
    let (recipients, from_list) = recipients_at(app, org, now).await?;
    let can_manage = who.can(Action::Update, &resource(org)).allowed;
    let candidates = if can_manage {
        accounts::list(&app.db, Some(org)).await?.into_iter().filter(can_be_on_call).map(|a| (a.id, a.display_name)).collect()
    } else {
        Vec::new()
    };
    Ok(Some(OnCallView {
        entries,
        now: on_now.iter().map(|a| a.id).collect(),
        recipients_now: recipients.into_iter().map(|a| a.display_name).collect(),
        from_list,
        candidates,
        can_manage,
    }))
}

/// An entry, as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct OnCallInput {
    /// The account on call (an account of the organisation).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub user_id: String,
    /// The day it starts: `0` (Monday) … `6` (Sunday); empty: every day.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub weekday: String,
    /// From (`19:00`); empty with `ends`: the whole day.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub starts: String,
    /// To (`08:00`: before `starts`, the next morning).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub ends: String,
}

/// Checks an entry as typed.
async fn validate(app: &App, org: OrganisationId, lang: Lang, input: &OnCallInput) -> Result<std::result::Result<(Account, OnCallSlot), FieldErrors>> {
    let mut e = FieldErrors::new();
    let user = id::<UserId>(&input.user_id, "user_id", lang, &mut e);
    let mut account = None;
    if let Some(u) = user {
        match accounts::get(&app.db, u).await {
            Ok(a) if a.organisation == org && can_be_on_call(&a) => account = Some(a),
            _ => e.add("user_id", lang.t("on_call.error.account")),
        }
    } else if !e.has("user_id") {
        e.add("user_id", lang.t("on_call.error.account"));
    }
    let weekday = match input.weekday.trim() {
        "" => None,
        d => match d.parse::<u8>() {
            Ok(d) if d < 7 => Some(d),
            _ => {
                e.add("weekday", lang.t("shelter.error.choose"));
                None
            }
        },
    };
    let clock = |text: &str, field: &str, e: &mut FieldErrors| -> Option<u16> {
        if text.trim().is_empty() {
            return None;
        }
        let v = OnCallSlot::parse_clock(text);
        if v.is_none() {
            e.add(field, lang.t("on_call.error.time"));
        }
        v
    };
    let starts = clock(&input.starts, "starts", &mut e);
    let ends = clock(&input.ends, "ends", &mut e);
    let range = match (starts, ends) {
        (Some(a), Some(b)) if a == b => {
            e.add("ends", lang.t("on_call.error.same"));
            None
        }
        (Some(a), Some(b)) => Some((a, b)),
        (None, None) => None,
        (Some(_), None) if !e.has("ends") => {
            e.add("ends", lang.t("on_call.error.both"));
            None
        }
        (None, Some(_)) if !e.has("starts") => {
            e.add("starts", lang.t("on_call.error.both"));
            None
        }
        _ => None,
    };
    Ok(match account.filter(|_| e.is_empty()) {
        Some(a) => Ok((a, OnCallSlot { weekday, range })),
        None => Err(e),
    })
}

/// Adds an entry at the end of the organisation's list.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add(app: &App, who: &Caller, lang: Lang, org: &Organisation, input: &OnCallInput) -> Result<std::result::Result<OnCallId, FieldErrors>> {
    who.require(Action::Update, &resource(org.id))?;
    let (account, slot) = match validate(app, org.id, lang, input).await? {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::add(&mut tx, org.id, account.id, slot, who.account.id, now).await?;
    let detail = serde_json::json!({"field": "on_call", "added": account.id.to_string(), "weekday": slot.weekday, "range": slot.range});
    audit::append(&mut tx, who.audit_entry(now, "update", "organisation", org.id, org.id).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Takes an entry off the organisation's list.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn remove(app: &App, who: &Caller, org: &Organisation, entry: &str) -> Result<()> {
    who.require(Action::Update, &resource(org.id))?;
    let entry: OnCallId = entry.trim().parse().map_err(|_| Error::bad_request())?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if !store::remove(&mut tx, org.id, entry).await? {
        return Err(Error::not_found());
    }
    let detail = serde_json::json!({"field": "on_call", "removed": entry.to_string()});
    audit::append(&mut tx, who.audit_entry(now, "update", "organisation", org.id, org.id).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(())
}

/// The active accounts of the organisation's list on call at `at`, in the list's order, each once.
pub async fn on_call_at(app: &App, org: OrganisationId, at: Timestamp) -> Result<Vec<Account>> {
    let (weekday, minute) = at.paris_weekday_minute();
    let mut out: Vec<Account> = Vec::new();
    for e in store::of(&app.db, org).await?.into_iter().filter(|e| e.slot.covers(weekday, minute)) {
        if out.iter().any(|a| a.id == e.user) {
            continue;
        }
        if let Ok(a) = accounts::get(&app.db, e.user).await {
            if a.organisation == org && can_be_on_call(&a) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// The organisation's active coordinators and administrators.
pub async fn coordinators(app: &App, org: OrganisationId) -> Result<Vec<Account>> {
    Ok(accounts::list(&app.db, Some(org)).await?.into_iter().filter(|a| !a.disabled && matches!(a.role, Role::Coordinator | Role::OrgAdmin)).collect())
}

/// Who receives an alert of the organisation raised at `at`, and whether
/// they are its on-call list (false: the fallback).
async fn recipients_at(app: &App, org: OrganisationId, at: Timestamp) -> Result<(Vec<Account>, bool)> {
    let listed = on_call_at(app, org, at).await?;
    if !listed.is_empty() {
        return Ok((listed, true));
    }
    let own = coordinators(app, org).await?;
    if !own.is_empty() {
        return Ok((own, false));
    }
    let coordinating = match crate::reports::coordinating_organisation(app).await? {
        Some(c) if c != org => coordinators(app, c).await?,
        _ => Vec::new(),
    };
    Ok((coordinating, false))
}

/// Who receives an alert the instance raises for the organisation now: the
/// accounts on call; failing that, its coordinators and administrators;
/// failing that, the coordinating organisation's.
pub async fn alert_recipients(app: &App, org: OrganisationId) -> Result<Vec<Account>> {
    Ok(recipients_at(app, org, app.clock.now()).await?.0)
}

/// Whether the account is on call now for its organisation (it sees the alerts' banners).
pub async fn is_on_call(app: &App, who: &Caller) -> Result<bool> {
    let (weekday, minute) = app.clock.now().paris_weekday_minute();
    Ok(store::of(&app.db, who.account.organisation).await?.iter().any(|e| e.user == who.account.id && e.slot.covers(weekday, minute)))
}

/// The label of an entry's time (`lundi, 19:00–08:00`), in the reader's language.
pub fn when_label(lang: Lang, slot: &OnCallSlot) -> String {
    let day = match slot.weekday {
        Some(d) => lang.t(&format!("on_call.day.d{d}")),
        None => lang.t("on_call.every_day"),
    };
    match slot.range {
        Some((a, b)) => {
            format!("{day}, {}–{}{}", OnCallSlot::clock(a), OnCallSlot::clock(b), if b < a { lang.t("on_call.next_morning") } else { String::new() })
        }
        None => format!("{day}, {}", lang.t("on_call.all_day")),
    }
}
