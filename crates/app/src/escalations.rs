//! Escalations: a critical situation (a person in danger, an incident on a
//! round, a threat to a team) raised to named people with an acknowledgement
//! deadline; acknowledged and resolved; not acknowledged in time, it goes up
//! a level (the organisation's on-call accounts, its coordinators and
//! administrators, then the coordinating organisation's) — never to nobody. Mails carry the kind of
//! situation and a link, never what was typed.

use veille_domain::cases::EscalationKind;
use veille_domain::{Action, EmailAddress, EscalationId, OrganisationId, Resource, ResourceKind, Role, Timestamp, UserId};
use veille_storage::meetings::{self as store, Escalation};
use veille_storage::{accounts, audit, outbox, Scope};

use crate::error::{Error, Result};
use crate::shelter::input::{code, number, words};
use crate::{App, Caller, FieldErrors, Lang};

/// Minutes given to acknowledge, by default.
pub const ACK_MINUTES: i64 = 30;

/// Who an escalation of `org` goes to next: the first of its on-call
/// accounts now, its coordinators and administrators, then the coordinating
/// organisation's, that holds someone not alerted yet (`already`).
async fn next_tier(app: &App, org: OrganisationId, already: &[UserId]) -> Result<Vec<veille_storage::accounts::Account>> {
    let coordinating = crate::reports::coordinating_organisation(app).await?.filter(|c| *c != org);
    for tier in 0..3 {
        let people = match tier {
            0 => crate::on_call::on_call_at(app, org, app.clock.now()).await?,
            1 => crate::on_call::coordinators(app, org).await?,
            _ => match coordinating {
                Some(c) => crate::on_call::coordinators(app, c).await?,
                None => Vec::new(),
            },
        };
        let new: Vec<_> = people.into_iter().filter(|a| !already.contains(&a.id)).collect();
        if !new.is_empty() {
            return Ok(new);
        }
    }
    Ok(Vec::new())
}

/// A critical situation, as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct EscalationInput {
    /// `person_in_danger`, `round_incident`, `team_threat`, `other`.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub kind: String,
    /// What is happening (no civil name).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub summary: String,
    /// Who to alert: accounts' e-mails, comma-separated (empty: the organisation's coordinators and administrators).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub recipients: String,
    /// Minutes to acknowledge (default 30).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub ack_minutes: String,
}

async fn alert(
    tx: &mut veille_storage::Tx,
    app: &App,
    e: EscalationId,
    kind: EscalationKind,
    to: &[veille_storage::accounts::Account],
    now: Timestamp,
) -> Result<()> {
    let link = format!("{}/escalations/{e}", app.config.base_url.trim_end_matches('/'));
    for a in to {
        let lang = Lang::from_code(&a.lang);
        let kind = lang.t(&format!("escalation.kind.{}", kind.code()));
        outbox::enqueue(
            tx,
            &a.email,
            &lang.tf("escalation.mail.subject", &[("what", &kind)]),
            &lang.tf("escalation.mail.body", &[("what", &kind), ("link", &link)]),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Raises a critical situation to named accounts (or, when none is named, to
/// the organisation's on-call accounts, else its coordinators and
/// administrators, else the coordinating organisation's: never to nobody).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn raise(app: &App, who: &Caller, lang: Lang, input: &EscalationInput) -> Result<std::result::Result<EscalationId, FieldErrors>> {
    if !crate::cases::can_open(who) {
        return Err(Error::forbidden());
    }
    let mut e = FieldErrors::new();
    let kind = code::<EscalationKind>(&input.kind, "kind", lang, &mut e);
    let summary = words(&input.summary, "summary", 1000, true, lang, &mut e);
    let minutes = number(&input.ack_minutes, "ack_minutes", 5, 24 * 60, Some(ACK_MINUTES), lang, &mut e);
    let mut to = Vec::new();
    for email in input.recipients.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        match EmailAddress::parse(email) {
            Ok(addr) => match accounts::by_email(&app.db, &addr).await?.filter(|a| !a.disabled && !matches!(a.role, Role::InstanceAdmin | Role::Reader)) {
                Some(a) => to.push(a),
                None => e.add("recipients", lang.t("case.error.member")),
            },
            Err(_) => e.add("recipients", lang.t("case.error.email")),
        }
    }
    let Some(kind) = kind.filter(|_| e.is_empty()) else { return Ok(Err(e)) };
    let now = app.clock.now();
    if to.is_empty() {
        to = next_tier(app, who.account.organisation, &[who.account.id]).await?;
    }
    if to.is_empty() {
        e.add("recipients", lang.t("escalation.error.nobody"));
        return Ok(Err(e));
    }
    let ids: Vec<UserId> = to.iter().map(|a| a.id).collect();
    let mut tx = app.db.begin().await?;
    let id = store::raise(&mut tx, who.account.organisation, None, kind, &summary, who.account.id, now.plus_seconds(minutes * 60), &ids, now).await?;
    alert(&mut tx, app, id, kind, &to, now).await?;
    audit::append(
        &mut tx,
        who.audit_entry(now, "create", "escalation", id, who.account.organisation)
            .with_detail(serde_json::json!({"kind": kind.code(), "recipients": ids.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// An escalation the caller reads (its organisation's, or one it was alerted to).
pub async fn load(app: &App, who: &Caller, id: &str) -> Result<Escalation> {
    let id: EscalationId = id.parse().map_err(|_| Error::not_found())?;
    let scope = Scope::instance("an escalation is read by its organisation and by the people it was raised to");
    let e = store::escalation(&app.db, &scope, id).await?;
    let own = who.can(Action::Read, &Resource::new(ResourceKind::Record).owned_by(e.organisation).in_territory(e.territory)).allowed;
    if !own && !store::is_recipient(&app.db, e.id, who.account.id).await? {
        return Err(Error::not_found());
    }
    Ok(e)
}

/// The open escalations the caller reads or was alerted to, with the recipients' names.
pub async fn open(app: &App, who: &Caller) -> Result<Vec<Escalation>> {
    Ok(store::open_escalations(&app.db, &who.scope(), who.account.id).await?)
}

/// Unacknowledged escalations the caller was alerted to (the banner).
pub async fn banner(app: &App, who: &Caller) -> Result<usize> {
    Ok(open(app, who).await?.iter().filter(|e| e.acknowledged_at.is_none()).count())
}

/// The recipients of an escalation, with their names and levels.
pub async fn recipients(app: &App, e: &Escalation) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for (u, level) in store::recipients(&app.db, e.id).await? {
        out.push((accounts::get(&app.db, u).await.map(|a| a.display_name).unwrap_or_default(), level));
    }
    Ok(out)
}

/// A resolution, as typed (the API's body).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ResolveInput {
    /// What was done.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub resolution: String,
}

/// Acknowledges an escalation (its recipients and organisation).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn acknowledge(app: &App, who: &Caller, e: &Escalation) -> Result<()> {
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if store::acknowledge(&mut tx, e.id, who.account.id, now).await? {
        audit::append(&mut tx, who.audit_entry(now, "update", "escalation", e.id, e.organisation).with_detail(serde_json::json!({"status": "acknowledged"})))
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Resolves an escalation with what was done.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn resolve(app: &App, who: &Caller, lang: Lang, e: &Escalation, resolution: &str) -> Result<std::result::Result<(), FieldErrors>> {
    let mut errors = FieldErrors::new();
    let resolution = words(resolution, "resolution", 2000, true, lang, &mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    if store::resolve(&mut tx, e.id, &resolution, who.account.id, now).await? {
        audit::append(&mut tx, who.audit_entry(now, "update", "escalation", e.id, e.organisation).with_detail(serde_json::json!({"status": "resolved"})))
            .await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Moves every escalation not acknowledged by its deadline up a level, to
/// the next people of the hierarchy (mailed), with a new deadline; claimed
/// by version so that several instances move each once. Returns how many.
pub async fn escalate_overdue(app: &App) -> Result<usize> {
    let now = app.clock.now();
    let mut n = 0;
    for e in store::overdue(&app.db, &Scope::instance("escalation of unacknowledged alerts"), now).await? {
        let level = e.level + 1;
        let mut already: Vec<UserId> = store::recipients(&app.db, e.id).await?.into_iter().map(|(u, _)| u).collect();
        already.extend(e.raised_by);
        let to = next_tier(app, e.organisation, &already).await?;
        let mut tx = app.db.begin().await?;
        if !store::level_up(&mut tx, &e, now.plus_seconds(ACK_MINUTES * 60)).await? {
            continue;
        }
        store::add_recipients(&mut tx, e.id, &to.iter().map(|a| a.id).collect::<Vec<_>>(), level).await?;
        alert(&mut tx, app, e.id, e.kind, &to, now).await?;
        let entry = audit::NewEntry::about(now, None, "alert", "escalation", Some(e.id.to_string()), Some(e.organisation))
            .with_detail(serde_json::json!({"level": level, "recipients": to.len()}));
        audit::append(&mut tx, entry).await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Alerts once for every action of a case plan past its deadline: to the
/// case's lead, or (none active) to whom the lead organisation's alerts go
/// ([`crate::on_call::alert_recipients`]) — never to nobody. Returns how many actions were alerted.
pub async fn alert_overdue_actions(app: &App) -> Result<usize> {
    let now = app.clock.now();
    let today = veille_domain::shelter::Night::at(now);
    let mut n = 0;
    for (a, lead) in veille_storage::actions::overdue_unalerted(&app.db, &Scope::instance("overdue action alerts"), today).await? {
        let lead = match lead {
            Some(u) => accounts::get(&app.db, u).await.ok().filter(|x| !x.disabled),
            None => None,
        };
        let to: Vec<_> = match lead {
            Some(l) => vec![l],
            None => crate::on_call::alert_recipients(app, a.organisation).await?,
        };
        let mut tx = app.db.begin().await?;
        if !veille_storage::actions::mark_alerted(&mut tx, a.id, now).await? {
            continue;
        }
        let link = format!("{}/cases/{}#plan", app.config.base_url.trim_end_matches('/'), a.record_id);
        for r in &to {
            let lang = Lang::from_code(&r.lang);
            outbox::enqueue(&mut tx, &r.email, &lang.t("escalation.mail.action_subject"), &lang.tf("escalation.mail.action_body", &[("link", &link)]), now)
                .await?;
        }
        let entry = audit::NewEntry::about(now, None, "alert", "action", Some(a.id.to_string()), Some(a.organisation))
            .with_detail(serde_json::json!({"kind": "overdue", "recipients": to.len()}));
        audit::append(&mut tx, entry).await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Runs [`escalate_overdue`] and [`alert_overdue_actions`] every minute until aborted.
pub fn spawn_worker(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = escalate_overdue(&app).await {
                tracing::warn!(kind = ?e.kind, "escalations failed");
            }
            if let Err(e) = alert_overdue_actions(&app).await {
                tracing::warn!(kind = ?e.kind, "overdue action alerts failed");
            }
        }
    })
}
