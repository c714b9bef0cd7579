//! The changes to sites: record, correct the place, observe, confirm
//! unchanged, heatwave watch, logbook, close and reopen. Each checks its
//! input and its permission, then writes the change, its timeline event and
//! its audit entry in one transaction.

use veille_domain::records::RecordKind;
use veille_domain::{Action, ObservationId, Resource, ResourceKind};
use veille_storage::sites::{self, Site};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{audit, Tx};

use super::input::{validate_closure, validate_log, validate_observation, validate_site, ClosureInput, ObservationInput, SiteInput};
use super::{entry, resource_of};
use crate::error::Result;
use crate::{App, Caller, FieldErrors, Lang};

/// An event of `kind` on a site, by the caller.
fn event<'a>(who: &Caller, site: &Site, at: veille_domain::Timestamp, kind: &'a str) -> NewEvent<'a> {
    NewEvent::new(RecordKind::Site, site.id, at, Some(who.author()), kind)
}

/// Appends an event in the change's transaction.
async fn append(tx: &mut Tx, e: NewEvent<'_>) -> Result<()> {
    Ok(timeline::append(tx, &e).await?)
}

/// Records a new site where its point lies, audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create_site(app: &App, who: &Caller, lang: Lang, input: &SiteInput) -> Result<Result<Site, FieldErrors>> {
    super::gate(who)?;
    let new = match validate_site(app, lang, input, who.account.organisation).await? {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    // The new site is placed where it will lie: the account must be allowed
    // to create a site there (its territories).
    may_create_at(who, &new)?;
    let mut tx = app.db.begin().await?;
    let id = write_site(&mut tx, app, who, &new).await?;
    tx.commit().await?;
    Ok(Ok(sites::get(&app.db, &who.scope(), id).await?))
}

/// Whether the account may create a site where the new one lies (its territories).
pub(crate) fn may_create_at(who: &Caller, new: &sites::NewSite) -> Result<()> {
    who.require(Action::Create, &Resource::new(ResourceKind::Site).owned_by(who.account.organisation).in_territory(new.territory))
}

/// Writes a checked new site, its timeline event and audit entry, in the caller's transaction.
pub(crate) async fn write_site(tx: &mut Tx, app: &App, who: &Caller, new: &sites::NewSite) -> Result<veille_domain::SiteId> {
    let now = app.clock.now();
    let id = sites::create(tx, new, who.account.id, now).await?;
    timeline::append(tx, &NewEvent::new(RecordKind::Site, id, now, Some(who.author()), "created").change(None, Some("active"))).await?;
    audit::append(
        tx,
        who.audit_entry(now, "create", "site", id, who.account.organisation)
            .with_detail(serde_json::json!({"kind": new.kind, "territory": new.territory.map(|t| t.to_string())})),
    )
    .await?;
    Ok(id)
}

/// Corrects the place of a site (its coordinators: the close permission);
/// moved elsewhere, it must still be a place the account may correct.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn edit_place(app: &App, who: &Caller, lang: Lang, site: &Site, input: &SiteInput, version: i64) -> Result<Result<(), FieldErrors>> {
    let place = match check_place(app, who, lang, site, input).await? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = app.db.begin().await?;
    write_place(&mut tx, app, who, site, &place, version).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Checks a corrected place of a site and the caller's right to correct it
/// (where it is, and where it goes).
pub(crate) async fn check_place(app: &App, who: &Caller, lang: Lang, site: &Site, input: &SiteInput) -> Result<Result<sites::NewSite, FieldErrors>> {
    who.require(Action::Delete, &resource_of(app, site).await?)?;
    let input = SiteInput { outline: site.outline.clone(), ..input.clone() };
    let place = match validate_site(app, lang, &input, site.organisation).await? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    who.require(Action::Delete, &resource_of(app, &Site { territory: place.territory, ..site.clone() }).await?)?;
    Ok(Ok(place))
}

/// Writes a checked place of a site (from `version`), its event and audit entry, in the caller's transaction.
pub(crate) async fn write_place(tx: &mut Tx, app: &App, who: &Caller, site: &Site, place: &sites::NewSite, version: i64) -> Result<()> {
    let now = app.clock.now();
    sites::update_place(tx, site, place, version, now).await?;
    append(tx, event(who, site, now, "edited")).await?;
    audit::append(tx, entry(who, now, "update", site, serde_json::json!({"field": "place", "territory": place.territory.map(|t| t.to_string())}))).await?;
    Ok(())
}

/// The site as the place form shows it (to change one field of it).
pub(crate) fn place_input(site: &Site) -> SiteInput {
    SiteInput {
        name: site.name.clone(),
        kind: site.kind.clone(),
        lon: Some(site.lon),
        lat: Some(site.lat),
        outline: site.outline.clone(),
        address: site.address.clone(),
        land_owner: site.land_owner.clone(),
    }
}

/// Records an observation of a site (from a round, when it names one).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn record_observation(
    app: &App,
    who: &Caller,
    lang: Lang,
    site: &Site,
    input: &ObservationInput,
) -> Result<Result<(ObservationId, sites::NewObservation), FieldErrors>> {
    let o = match check_observation(app, who, lang, site, input).await? {
        Ok(o) => o,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = app.db.begin().await?;
    let id = write_observation(&mut tx, app, who, site, &o).await?;
    tx.commit().await?;
    Ok(Ok((id, o)))
}

/// Checks an observation of `site` and the caller's right to record it.
pub(crate) async fn check_observation(
    app: &App,
    who: &Caller,
    lang: Lang,
    site: &Site,
    input: &ObservationInput,
) -> Result<Result<sites::NewObservation, FieldErrors>> {
    who.require(Action::Update, &resource_of(app, site).await?)?;
    validate_observation(app, who, lang, site, input).await
}

/// Writes a checked observation of `site`, its timeline event and audit entry, in the caller's transaction.
pub(crate) async fn write_observation(tx: &mut Tx, app: &App, who: &Caller, site: &Site, o: &sites::NewObservation) -> Result<ObservationId> {
    let now = app.clock.now();
    let id = sites::add_observation(tx, o, now).await?;
    append(tx, event(who, site, now, "observed")).await?;
    let detail = serde_json::json!({"observation": id.to_string(), "round": o.round.map(|r| r.to_string()), "team": o.team.map(|t| t.to_string())});
    audit::append(tx, entry(who, now, "observe", site, detail)).await?;
    Ok(id)
}

/// "Confirmed unchanged": dates the site's last check without an observation.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn confirm_unchanged(app: &App, who: &Caller, site: &Site, version: i64) -> Result<()> {
    who.require(Action::Update, &resource_of(app, site).await?)?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    sites::confirm_unchanged(&mut tx, site, version, now).await?;
    append(&mut tx, event(who, site, now, "confirmed")).await?;
    audit::append(&mut tx, entry(who, now, "update", site, serde_json::json!({"field": "confirmed_unchanged"}))).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds an entry to a site's logbook (the logbooks of
/// `crate::neighbourhood::logbooks`, where the site logbook moved).
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn add_log_entry(app: &App, who: &Caller, lang: Lang, site: &Site, body: &str) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Update, &resource_of(app, site).await?)?;
    let body = match validate_log(lang, body) {
        Ok(b) => b,
        Err(e) => return Ok(Err(e)),
    };
    let book = crate::neighbourhood::logbooks::open(app, who, "site", &site.id.to_string()).await?;
    let input = crate::neighbourhood::logbooks::EntryInput { category: "information".into(), body, ..Default::default() };
    match crate::neighbourhood::logbooks::write(app, who, lang, &book, &input, None).await? {
        Ok(_) => Ok(Ok(())),
        Err(e) => {
            let mut errors = FieldErrors::new();
            for (_, message) in e.all() {
                errors.add("log", message);
            }
            Ok(Err(errors))
        }
    }
}

/// Raises or lowers the heatwave / great-cold watch of a site.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn set_heatwave(app: &App, who: &Caller, site: &Site, on: bool, version: i64) -> Result<()> {
    who.require(Action::Update, &resource_of(app, site).await?)?;
    let mut tx = app.db.begin().await?;
    write_heatwave(&mut tx, app, who, site, on, version).await?;
    tx.commit().await?;
    Ok(())
}

/// Writes the heatwave watch of a site (the caller checked the update right), in the caller's transaction.
pub(crate) async fn write_heatwave(tx: &mut Tx, app: &App, who: &Caller, site: &Site, on: bool, version: i64) -> Result<()> {
    let now = app.clock.now();
    let state = |v: bool| if v { "on" } else { "off" };
    sites::set_heatwave(tx, site, on, version, now).await?;
    append(tx, event(who, site, now, "heatwave").change(Some(state(site.heatwave)), Some(state(on)))).await?;
    audit::append(tx, entry(who, now, "update", site, serde_json::json!({"field": "heatwave", "to": on}))).await?;
    Ok(())
}

/// Closes a site with its reason and where its people went.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn close_site(app: &App, who: &Caller, lang: Lang, site: &Site, input: &ClosureInput, version: i64) -> Result<Result<(), FieldErrors>> {
    who.require(Action::Delete, &resource_of(app, site).await?)?;
    let c = match validate_closure(app, who, lang, site, input).await? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    sites::close(&mut tx, site, &c.reason, &c.destinations, version, now).await?;
    append(&mut tx, event(who, site, now, "status").change(Some(&site.status), Some("ended")).detail(&c.reason)).await?;
    let moved: Vec<_> =
        c.destinations.iter().map(|(d, n, to)| serde_json::json!({"destination": d, "people": n, "to_site": to.map(|s| s.to_string())})).collect();
    audit::append(&mut tx, entry(who, now, "update", site, serde_json::json!({"field": "status", "to": "ended", "reason": c.reason, "destinations": moved})))
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Reopens a closed site (people came back); an open site is left as it is.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn reopen_site(app: &App, who: &Caller, site: &Site, version: i64) -> Result<()> {
    who.require(Action::Delete, &resource_of(app, site).await?)?;
    if site.status != "ended" {
        return Ok(());
    }
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    sites::reopen(&mut tx, site, version, now).await?;
    append(&mut tx, event(who, site, now, "status").change(Some(&site.status), Some("active"))).await?;
    audit::append(&mut tx, entry(who, now, "update", site, serde_json::json!({"field": "status", "to": "active"}))).await?;
    tx.commit().await?;
    Ok(())
}
