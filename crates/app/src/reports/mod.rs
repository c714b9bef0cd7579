//! Signalements, end to end: intake from every channel (public form, partner
//! intake, JSON API, Open311) with triage, routing and duplicates nearby; the
//! staff's commands and queries; the reporter's follow-up; Open311's public
//! reads; the routing table; figures; and the mails to reporters who asked
//! for them — the same whichever screen or channel a change comes from.

mod commit;
pub mod demo;
pub mod intake;
pub mod open311;
pub mod photos;
pub mod public;
pub mod routing;
pub mod staff;
pub mod stats;

use std::sync::LazyLock;

use rand::Rng;
use veille_domain::records::RecordKind;
use veille_domain::reports::Status;
use veille_domain::triage::{Observation, RuleSet};
use veille_domain::{OrganisationId, ReportId, Resource, ResourceKind, TeamId, Timestamp};
use veille_geo::LonLat;
use veille_storage::reports::{self, NewReport};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{audit, organisations, outbox, teams, Scope, Tx};

use crate::error::Result;
use crate::Lang;
use crate::{App, Caller};

pub use commit::Committer;
pub use intake::{Intake, IntakeInput, Mode};
pub use veille_domain::reports::{Channel, Deadlines, Outcome, Source, FLAGS, SITUATIONS, STAFF_CHANNELS};
pub use veille_storage::reports::{Followed, Margins, Note, Photo, PublicReport, Report};

/// The triage rules text shipped with veille.
pub const RULES_TOML: &str = include_str!("../../triage_rules.toml");

static RULES: LazyLock<RuleSet> = LazyLock::new(|| {
    let set: RuleSet = toml::from_str(RULES_TOML).unwrap_or_else(|e| panic!("the triage rules file does not parse: {e}"));
    set.validate().unwrap_or_else(|e| panic!("the triage rules file is not valid: {e}"));
    set
});

/// The triage rules in force.
pub fn rules() -> &'static RuleSet {
    &RULES
}

/// Public submissions allowed per client address in [`RATE_WINDOW_SECONDS`].
pub const RATE_LIMIT: i64 = 5;
/// The rate-limit window.
pub const RATE_WINDOW_SECONDS: i64 = 600;

/// The access-control description of a report: a personal record owned by the
/// organisation in charge, placed in its territory, shared with the
/// coordinating organisation that received it.
pub fn resource(r: &Report) -> Resource {
    let mut res = Resource::new(ResourceKind::Record).in_territory(r.territory);
    if let Some(org) = r.organisation {
        res = res.owned_by(org);
    }
    if let Some(coord) = r.triage_organisation.filter(|c| Some(*c) != r.organisation) {
        res = res.shared_with(coord);
    }
    res
}

/// Where the report landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// In a territory of the instance (its name).
    Territory(String),
    /// A point outside every territory.
    Outside,
    /// No point given.
    NotPlaced,
}

impl Placement {
    /// The stable code (`territory`, `outside`, `not_placed`).
    pub fn code(&self) -> &'static str {
        match self {
            Placement::Territory(_) => "territory",
            Placement::Outside => "outside",
            Placement::NotPlaced => "not_placed",
        }
    }
}

/// A received report, with its follow-up token (shown once, never stored).
#[derive(Clone, Debug)]
pub struct Received {
    /// Id.
    pub id: ReportId,
    /// Reference.
    pub reference: String,
    /// Follow-up token.
    pub token: String,
    /// Follow-up link (the token in a URL of this instance).
    pub follow_url: String,
    /// Where it landed.
    pub placement: Placement,
    /// Level (1 ordinary, 2 complex).
    pub level: i64,
    /// Its first status (assigned when a routing rule named a team).
    pub status: Status,
    /// Team in charge, if a routing rule matched.
    pub team: Option<TeamId>,
    /// Organisation in charge.
    pub organisation: Option<OrganisationId>,
    /// The city or technical services the report's dysfunctions were sent to.
    pub services: Vec<String>,
}

const REFERENCE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

fn new_confirm_code() -> String {
    let mut rng = rand::thread_rng();
    let mut pick = |n: usize| -> String { (0..n).map(|_| REFERENCE_ALPHABET[rng.gen_range(0..REFERENCE_ALPHABET.len())] as char).collect() };
    format!("{}-{}", pick(4), pick(4))
}

fn new_reference() -> String {
    let mut rng = rand::thread_rng();
    let mut pick = |n: usize| -> String { (0..n).map(|_| REFERENCE_ALPHABET[rng.gen_range(0..REFERENCE_ALPHABET.len())] as char).collect() };
    format!("S-{}-{}", pick(4), pick(4))
}

/// The coordinating organisation of the instance (the first by name, if several).
pub async fn coordinating_organisation(app: &App) -> Result<Option<OrganisationId>> {
    Ok(organisations::list(&app.db).await?.into_iter().find(|o| o.coordinating).map(|o| o.id))
}

/// What every intake reads and rarely changes: the routing table, the
/// organisation of each team it names, the coordinating organisation, the
/// territory names and the active city services. Kept in memory. A change
/// (routing rule added or removed, organisation or team created, city service
/// created or turned on or off, territories imported) moves the `intake`
/// version in the database ([`lookups_changed`]); every instance reads the
/// versions at most once per [`Cache::CHECK`] and reloads what changed — the
/// territory index too —, and reloads everything at least every
/// [`Cache::TTL`].
#[derive(Default)]
pub struct Cache {
    cached: std::sync::RwLock<Option<Cached>>,
    /// The `territories` version the territory index was built from.
    territories_version: std::sync::atomic::AtomicI64,
}

struct Cached {
    loaded_at: std::time::Instant,
    checked_at: std::time::Instant,
    version: i64,
    lookup: std::sync::Arc<Lookup>,
}

/// The cached lookups of intake.
pub struct Lookup {
    rules: Vec<veille_domain::reports::RoutingRule>,
    team_organisation: std::collections::HashMap<TeamId, OrganisationId>,
    coordinating: Option<OrganisationId>,
    territory_names: std::collections::HashMap<veille_domain::TerritoryId, String>,
    /// The active city services, in competence order.
    services: Vec<veille_storage::services::CityService>,
}

impl Cache {
    /// Longest life of the cached lookups.
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(60);
    /// How often an instance reads the versions of what it caches.
    pub const CHECK: std::time::Duration = std::time::Duration::from_secs(1);

    /// Forgets the cached lookups on this instance (the next intake reloads them).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.cached.write() {
            *guard = None;
        }
    }

    /// Records the `territories` version the territory index was built from.
    pub(crate) fn territories_built_from(&self, version: i64) {
        self.territories_version.store(version, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Says to every instance that the intake's lookups changed (after the
/// change is committed): the version moves in the database, and this
/// instance forgets its copy at once.
pub async fn lookups_changed(app: &App) -> Result<()> {
    reports::bump_lookup_version(&app.db, "intake").await?;
    app.reports_cache.invalidate();
    Ok(())
}

async fn lookup(app: &App) -> Result<std::sync::Arc<Lookup>> {
    let cache = &app.reports_cache;
    let (kept, checked_recently) = match cache.cached.read().ok().as_deref().and_then(Option::as_ref) {
        Some(c) if c.loaded_at.elapsed() < Cache::TTL => (Some((c.version, c.lookup.clone())), c.checked_at.elapsed() < Cache::CHECK),
        _ => (None, false),
    };
    if let (Some((_, lookup)), true) = (&kept, checked_recently) {
        return Ok(lookup.clone());
    }
    let (version, territories) = reports::lookup_versions(&app.db).await?;
    if territories != cache.territories_version.load(std::sync::atomic::Ordering::SeqCst) {
        // Territories were imported through another instance.
        crate::territories::reload_index(app).await.map_err(crate::Error::from)?;
    }
    if let Some((seen, lookup)) = kept {
        if seen == version {
            if let Ok(mut guard) = cache.cached.write() {
                if let Some(c) = guard.as_mut() {
                    c.checked_at = std::time::Instant::now();
                }
            }
            return Ok(lookup);
        }
    }
    let rules = reports::routing_rules(&app.db).await?;
    let team_organisation = teams::list(&app.db, None).await?.into_iter().map(|t| (t.id, t.organisation)).collect();
    let coordinating = coordinating_organisation(app).await?;
    let territory_names = crate::territories::names(&app.db).await?;
    let services = veille_storage::services::competent_services(&app.db).await?;
    let lookup = std::sync::Arc::new(Lookup { rules, team_organisation, coordinating, territory_names, services });
    if let Ok(mut guard) = cache.cached.write() {
        let now = std::time::Instant::now();
        *guard = Some(Cached { loaded_at: now, checked_at: now, version, lookup: lookup.clone() });
    }
    Ok(lookup)
}

/// The box around a point that holds the triage's repeat radius (callers
/// refine by distance).
pub(crate) fn repeat_box(point: LonLat) -> reports::Around {
    let dlat = rules().repeat.radius_m / 111_000.0 * 1.1;
    reports::Around { lon: point.lon, lat: point.lat, dlon: dlat / point.lat.to_radians().cos().max(0.01), dlat }
}

/// Earlier reports within the repeat window around a point, counted as far
/// as the triage tells counts apart
/// ([`RuleSet::earlier_reports_that_matter`]): a place with hundreds of
/// reports costs the intake no more than one with three.
async fn earlier_nearby(app: &App, point: LonLat, now: Timestamp) -> Result<u32> {
    let rules = rules();
    let matter = rules.earlier_reports_that_matter();
    if matter == 0 {
        return Ok(0);
    }
    let w = &rules.repeat;
    let since = now.plus_seconds(-w.days * 86_400);
    let within = |found: Vec<(f64, f64)>| {
        found.into_iter().filter_map(|(lon, lat)| LonLat::new(lon, lat).ok()).filter(|p| veille_geo::distance_m(*p, point) <= w.radius_m).count() as u32
    };
    let found = reports::points_near(&app.db, repeat_box(point), w.radius_m, since, Some(matter)).await?;
    let read = found.len() as u32;
    let counted = within(found);
    if read < matter || counted >= matter {
        return Ok(counted);
    }
    // Some of the points read were in the read's margin, just past the
    // radius: the count is short of what matters only if the others are too.
    Ok(within(reports::points_near(&app.db, repeat_box(point), w.radius_m, since, None).await?))
}

/// Triages, routes and stores a checked report, with its timeline, audit
/// entry and mail, in one transaction: the one way in for every channel
/// (`who` is the account that took it in; none for the public form). The
/// channels of [`intake`] check who sends and what is sent before they come
/// here; the instance's own loaders (benchmarks, tests) call it directly.
pub async fn receive(app: &App, intake: &Intake, who: Option<&Caller>) -> Result<Received> {
    receive_held(app, intake, who, None).await
}

/// [`receive`] for a caller who sent a kept API token: the write checks it
/// again (decision 118); if it no longer holds, the error
/// [`crate::Error::is_token_withdrawn`].
pub(crate) async fn receive_held(app: &App, intake: &Intake, who: Option<&Caller>, held: Option<&crate::identity::Held>) -> Result<Received> {
    let now = app.clock.now();
    let cached = lookup(app).await?;
    let territory = match intake.point {
        Some(p) => app.territories.read().await.locate(p).copied(),
        None => None,
    };
    let earlier = match intake.point {
        Some(p) => earlier_nearby(app, p, now).await?,
        None => 0,
    };
    let observation = Observation {
        situations: intake.situations.clone(),
        flags: intake.seen.clone(),
        adults: intake.adults,
        children: intake.children,
        tents: intake.tents,
        earlier_reports_nearby: earlier,
    };
    let triage = rules().triage(&observation);
    let level = i64::from(triage.level);
    let coordinating = cached.coordinating;
    // Dysfunctions of public space (a broken street light, dumped waste…)
    // go to the competent city or technical service; a report of nothing
    // else goes to no social maraude.
    let social = veille_domain::neighbourhood::needs_social_team(&intake.situations);
    let services = crate::neighbourhood::services::competent_for(&cached.services, &intake.situations, territory);
    let team = if social { territory.and_then(|t| veille_domain::reports::route(&cached.rules, Some(t), &intake.situations, level)) } else { None };
    let team_org = match team {
        Some(t) => match cached.team_organisation.get(&t) {
            Some(o) => Some(*o),
            None => Some(teams::get(&app.db, t).await?.organisation),
        },
        None => None,
    };
    let to_service = !social && !services.is_empty();
    let organisation = team_org.or(if to_service { services.first().map(|s| s.organisation) } else { None }).or(coordinating);
    let status = if team.is_some() || to_service { Status::Assigned } else { Status::Received };
    let token = crate::security::random_token();
    // A code mailed to the reporter, typed back on the follow-up page, proves
    // the address is theirs before any update is mailed to it.
    let confirm_code = (intake.email.is_some() && intake.consent && !intake.email_confirmed).then(new_confirm_code);
    let new = NewReport {
        reference: new_reference(),
        token_hash: crate::security::token_hash(&token),
        source: intake.source,
        channel: intake.channel,
        lon: intake.point.map(|p| p.lon),
        lat: intake.point.map(|p| p.lat),
        address: intake.address.clone(),
        territory,
        situations: intake.situations.clone(),
        seen: intake.seen.clone(),
        adults: i64::from(intake.adults),
        children: i64::from(intake.children),
        tents: i64::from(intake.tents),
        description: intake.description.clone(),
        reporter_name: intake.reporter_name.clone(),
        contact_email: intake.email.clone(),
        contact_phone: intake.phone.clone(),
        contact_consent: intake.consent,
        email_confirm_hash: confirm_code.as_deref().map(|c| crate::security::token_hash(&c.replace('-', ""))),
        email_confirmed: intake.email_confirmed && intake.email.is_some(),
        acknowledged: intake.acknowledged,
        site_id: intake.site_id,
        level,
        reasons: triage.reasons.clone(),
        status,
        organisation,
        triage_organisation: coordinating,
        team,
    };
    let link = follow_url(app, &token);
    let mail = match (&intake.email, confirm_code) {
        (Some(email), Some(code)) => Some(commit::Mail { to: email.clone(), link: link.clone(), code: Some(code) }),
        // Typed by staff with the reporter's consent: no code to type back.
        (Some(email), None) if intake.consent && intake.email_confirmed => Some(commit::Mail { to: email.clone(), link: link.clone(), code: None }),
        _ => None,
    };
    let detail = serde_json::json!({
        "channel": intake.channel, "source": intake.source, "level": level, "reasons": triage.reasons,
        "situations": intake.situations, "rules_version": rules().version, "team": team.map(|t| t.to_string()),
        "status": status, "photo": intake.photo.is_some(),
        "services": services.iter().map(|s| s.id.to_string()).collect::<Vec<_>>(),
    });
    let requests =
        if services.is_empty() { None } else { Some(crate::neighbourhood::services::prepare_report_requests(app, territory, services.clone()).await?) };
    let pending = commit::Pending {
        new,
        at: now,
        author: who.map(Caller::author),
        team,
        status,
        organisation,
        detail,
        photo: intake.photo.clone(),
        mail,
        requests,
        held: held.cloned(),
    };
    let (id, reference) = app.committer.write(pending).await?;
    let placement = match (territory, intake.point) {
        (Some(t), _) => Placement::Territory(cached.territory_names.get(&t).cloned().unwrap_or_default()),
        (None, Some(_)) => Placement::Outside,
        (None, None) => Placement::NotPlaced,
    };
    let services = services.into_iter().map(|s| s.name).collect();
    Ok(Received { id, reference, follow_url: link, token, placement, level, status, team, organisation, services })
}

/// The follow-up link of a token.
pub fn follow_url(app: &App, token: &str) -> String {
    format!("{}/suivi/{token}", app.config.base_url.trim_end_matches('/'))
}

/// Queues the e-mail telling the reporter about a public change, if they gave
/// an e-mail, agreed and confirmed it: status and public answer only, never
/// internal notes.
pub async fn notify_reporter(tx: &mut Tx, app: &App, report: &Report, status: Status, answer: &str) -> Result<()> {
    let (Some(email), true, true) = (&report.contact_email, report.contact_consent, report.email_confirmed) else { return Ok(()) };
    let lang = Lang::Fr;
    let status_label = lang.t(&format!("report.status.{status}"));
    let answer_text = if answer.is_empty() { lang.t("report.follow.no_answer") } else { answer.to_owned() };
    let body = lang.tf(
        "report.mail.update_body",
        &[("reference", &report.reference), ("status", &status_label), ("answer", &answer_text), ("base", app.config.base_url.trim_end_matches('/'))],
    );
    outbox::enqueue(tx, email, &lang.tf("report.mail.subject", &[("reference", &report.reference)]), &body, app.clock.now()).await?;
    Ok(())
}

/// Every report attached to `report` as a duplicate, whoever handles it: their
/// reporters hear of the main report's changes.
async fn attached(app: &App, report: &Report) -> Result<Vec<Report>> {
    Ok(reports::duplicates_of(&app.db, &Scope::instance("reporters of attached duplicates hear back"), report.id).await?)
}

/// An audit entry by `who` about a report.
pub fn entry<'a>(who: &Caller, at: Timestamp, action: &'a str, r: &Report, detail: serde_json::Value) -> audit::NewEntry<'a> {
    audit::NewEntry::about(at, Some(who.author()), action, "report", Some(r.id.to_string()), r.organisation).with_detail(detail)
}

/// A timeline event by `who` about a report.
fn event<'a>(who: &Caller, at: Timestamp, r: &Report, kind: &'a str) -> NewEvent<'a> {
    NewEvent::new(RecordKind::Report, r.id, at, Some(who.author()), kind)
}

/// Where a status change was made from (kept in the audit entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFrom {
    /// The report page or the JSON API.
    Report,
    /// A stop of a round that went there.
    RoundStop(veille_domain::RoundId),
}

/// Changes the status of a report, in the caller's transaction: the version
/// check, the timeline event, the audit entry, and the mail to every reporter
/// who asked to hear back (the report's and its attached duplicates') — the
/// same whichever screen or channel the change comes from. The caller checked
/// that `who` may update the report.
#[allow(clippy::too_many_arguments)]
pub async fn change_status_in(
    tx: &mut Tx,
    app: &App,
    who: &Caller,
    report: &Report,
    status: Status,
    outcome: Option<Outcome>,
    version: i64,
    from: StatusFrom,
) -> Result<()> {
    who.require(veille_domain::Action::Update, &resource(report))?;
    let now = app.clock.now();
    let dups = attached(app, report).await?;
    reports::set_status(tx, report.id, status, outcome, version, now).await?;
    let detail = outcome.map(|o| o.code()).unwrap_or("");
    timeline::append(tx, &event(who, now, report, "status").change(Some(report.status.code()), Some(status.code())).detail(detail)).await?;
    let mut audit_detail = serde_json::json!({"field": "status", "from": report.status, "to": status, "outcome": outcome});
    if let StatusFrom::RoundStop(round) = from {
        audit_detail["round"] = serde_json::json!(round.to_string());
    }
    audit::append(tx, entry(who, now, "update", report, audit_detail)).await?;
    if status != report.status {
        notify_reporter(tx, app, report, status, &report.public_answer).await?;
        for d in &dups {
            notify_reporter(tx, app, d, status, &report.public_answer).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule of the shipped rule set: one observation that triggers it
    /// alone (level 2, its reason only), and one just below its threshold
    /// (level 1, no reason). A rule added to the file without a case here
    /// fails the test.
    #[test]
    fn the_shipped_rules_table() {
        let set = rules();
        assert_eq!(set.version, 3);
        let flag = |f: &str| Observation { flags: vec![f.into()], ..Default::default() };
        let situation = |s: &str| Observation { situations: vec![s.into()], ..Default::default() };
        let cases: Vec<(&str, Observation, u8)> = vec![
            ("minors", situation("minors"), 2),
            ("family_with_children", situation("family_with_children"), 2),
            ("children_counted", Observation { children: 2, ..Default::default() }, 2),
            ("pregnant_woman", flag("pregnant_woman"), 2),
            ("great_vulnerability", flag("great_vulnerability"), 2),
            ("many_tents", Observation { tents: 4, ..Default::default() }, 2),
            ("repeated", Observation { earlier_reports_nearby: 2, ..Default::default() }, 2),
            ("municipal_land", flag("municipal_land"), 2),
        ];
        let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
        let covered: Vec<&str> = cases.iter().map(|c| c.0).collect();
        assert_eq!(ids, covered, "every rule of triage_rules.toml has its case, in file order");
        for (id, o, level) in cases {
            let t = set.triage(&o);
            assert_eq!(t.reasons, vec![id.to_string()], "{id}");
            assert_eq!(t.level, level, "{id}");
            assert!(set.reason_key(id).is_some());
        }
        let below = [
            Observation::default(),
            situation("person_in_distress"),
            situation("camp"),
            situation("squat"),
            situation("drug_use"),
            situation("nuisance"),
            Observation { tents: 3, ..Default::default() },
            Observation { earlier_reports_nearby: 1, ..Default::default() },
            Observation { adults: 12, ..Default::default() },
        ];
        for o in below {
            assert_eq!(set.triage(&o), veille_domain::triage::Triage { level: 1, reasons: vec![] }, "{o:?}");
        }
    }

    #[test]
    fn every_reason_key_is_in_both_catalogues() {
        for r in &rules().rules {
            for lang in [Lang::Fr, Lang::En] {
                assert_ne!(lang.t(&r.reason), r.reason, "{} missing in {}", r.reason, lang.code());
            }
        }
    }

    #[test]
    fn references_are_short_and_unambiguous() {
        for _ in 0..100 {
            let r = new_reference();
            assert_eq!(r.len(), 11);
            assert!(!r.contains(['0', 'O', '1', 'I', 'L']));
        }
    }
}
