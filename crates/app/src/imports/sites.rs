//! A line of a sites import → a site (found by its external id or its name
//! among the sites the account reads, else new: the site form's validation
//! and the right to create one where it lies) and, when the line has a date
//! or a count, an observation of it (the observation form's validation).

use std::collections::HashMap;

use veille_domain::{Action, SiteId};
use veille_storage::sites::{Figures, NewObservation, NewSite, Site, ATMOSPHERES, KINDS, LAND_OWNERS};
use veille_storage::{imports, Tx};

use super::encounters::instant;
use super::mapping::normalise;
use super::people::coded;
use super::{Context, Line, Plan};
use crate::error::Result;
use crate::sites::{coordinate, validate_observation, validate_site, ObservationInput, SiteInput, COUNT_FIELDS, MAX_COUNT};
use crate::{App, Caller, FieldErrors, Lang};

/// The site of a line.
pub(crate) enum Target {
    /// A site already recorded.
    Existing(Box<Site>),
    /// A new site.
    New(Box<NewSite>),
    /// A new site of an earlier line of the file.
    Planned,
}

/// What a line writes.
pub(crate) struct SitePlan {
    key: String,
    target: Target,
    observation: Option<NewObservation>,
}

/// A site as it will be, for the observation's checks.
fn stub(new: &NewSite, now: veille_domain::Timestamp) -> Site {
    Site {
        id: SiteId::new(),
        organisation: new.organisation,
        name: new.name.clone(),
        kind: new.kind.clone(),
        lon: new.lon,
        lat: new.lat,
        outline: new.outline.clone(),
        address: new.address.clone(),
        territory: new.territory,
        land_owner: new.land_owner.clone(),
        status: "active".into(),
        heatwave: false,
        closed_at: None,
        closure_reason: None,
        last_checked_at: None,
        created_at: now,
        version: 0,
    }
}

fn figures(line: &Line<'_>, unreadable: &mut Vec<String>) -> Figures {
    let mut n = |k: &str| match line.get(k) {
        "" => 0,
        t => match t.parse::<i64>() {
            Ok(n) if (0..=MAX_COUNT).contains(&n) => n,
            _ => {
                unreadable.push(k.to_owned());
                0
            }
        },
    };
    Figures {
        people: n("people"),
        men: n("men"),
        women: n("women"),
        minors_0_3: n("minors_0_3"),
        minors_3_6: n("minors_3_6"),
        minors_6_12: n("minors_6_12"),
        minors_12_16: n("minors_12_16"),
        minors_16_18: n("minors_16_18"),
        tents: n("tents"),
        huts: n("huts"),
        vehicles: n("vehicles"),
        material_collected: 0,
        material_found: 0,
    }
}

/// Checks a line as the site and observation forms would be checked.
pub(crate) async fn check(app: &App, who: &Caller, lang: Lang, line: &Line<'_>, cx: &mut Context) -> Result<Result<Plan, FieldErrors>> {
    let org = who.account.organisation;
    let now = app.clock.now();
    let key = Context::site_key(org, line);
    let mut errors = FieldErrors::new();
    let known = cx.site_keys.get(&key).cloned();
    let by_name = || cx.sites.iter().find(|s| s.organisation == org && normalise(&s.name) == normalise(line.get("name")) && !line.get("name").is_empty());
    let target = match known.as_deref() {
        Some("planned") => Target::Planned,
        Some(id) => match cx.sites.iter().find(|s| s.id.to_string() == id) {
            Some(s) => Target::Existing(Box::new(s.clone())),
            None => {
                errors.add("name", lang.t("imports.error.site_gone"));
                return Ok(Err(errors));
            }
        },
        None => match by_name() {
            Some(s) => Target::Existing(Box::new(s.clone())),
            None => {
                let input = SiteInput {
                    name: line.get("name").to_owned(),
                    kind: coded(line.get("kind"), &KINDS, "site.kind"),
                    lon: coordinate(line.get("lon")),
                    lat: coordinate(line.get("lat")),
                    outline: None,
                    address: line.get("address").to_owned(),
                    land_owner: coded(line.get("land_owner"), &LAND_OWNERS, "site.land_owner"),
                };
                match validate_site(app, lang, &input, org).await? {
                    Ok(new) if crate::sites::may_create_at(who, &new).is_ok() => Target::New(Box::new(new)),
                    Ok(_) => {
                        errors.add("lat", lang.t("imports.error.outside_territories"));
                        return Ok(Err(errors));
                    }
                    Err(e) => return Ok(Err(e)),
                }
            }
        },
    };
    let observed = !line.get("observed_at").is_empty()
        || COUNT_FIELDS.iter().any(|f| !line.get(f).is_empty())
        || ["atmosphere", "comment", "team"].iter().any(|f| !line.get(f).is_empty());
    let observation = if observed {
        let site = match &target {
            Target::Existing(s) => {
                if !who.can(Action::Update, &crate::sites::resource_of(app, s).await?).allowed {
                    errors.add("name", lang.t("imports.error.site_not_yours"));
                    return Ok(Err(errors));
                }
                (**s).clone()
            }
            Target::New(new) => stub(new, now),
            Target::Planned => stub(&NewSite { organisation: org, ..placeholder() }, now),
        };
        if line.get("observed_at").is_empty() {
            errors.add("observed_at", lang.t("imports.error.date_required"));
            return Ok(Err(errors));
        }
        let mut unreadable = Vec::new();
        let figures = figures(line, &mut unreadable);
        let team = match line.get("team") {
            "" => None,
            name => Some(cx.teams.iter().find(|t| normalise(&t.name) == normalise(name)).map(|t| t.id.to_string()).unwrap_or_else(|| name.to_owned())),
        };
        let input = ObservationInput {
            observed_at: Some(instant(line.get("observed_at"), "")),
            team_id: team,
            figures,
            atmosphere: coded(line.get("atmosphere"), &ATMOSPHERES, "site.atmosphere"),
            comment: line.get("comment").to_owned(),
            unreadable,
            ..Default::default()
        };
        match validate_observation(app, who, lang, &site, &input).await? {
            Ok(o) => Some(o),
            Err(e) => return Ok(Err(e)),
        }
    } else {
        None
    };
    if matches!(target, Target::New(_)) {
        cx.site_keys.insert(key.clone(), "planned".into());
    }
    Ok(Ok(Plan::Site(Box::new(SitePlan { key, target, observation }))))
}

fn placeholder() -> NewSite {
    NewSite {
        organisation: veille_domain::OrganisationId::from_uuid(uuid::Uuid::nil()),
        name: String::new(),
        kind: "other".into(),
        lon: 0.0,
        lat: 0.0,
        outline: None,
        address: String::new(),
        territory: None,
        land_owner: "unknown".into(),
    }
}

/// Writes a line: the new site (its key kept) and the observation; the id
/// written (the observation's, else the site's).
pub(crate) async fn write(tx: &mut Tx, app: &App, who: &Caller, plan: &SitePlan, new_sites: &mut HashMap<String, Site>) -> Result<String> {
    let now = app.clock.now();
    let site = match &plan.target {
        Target::Existing(s) => (**s).clone(),
        Target::New(new) => {
            let id = crate::sites::write_site(tx, app, who, new).await?;
            imports::remember(tx, who.account.organisation, "site", &plan.key, &id.to_string(), who.account.id, now).await?;
            let site = Site { id, ..stub(new, now) };
            new_sites.insert(plan.key.clone(), site.clone());
            site
        }
        Target::Planned => match new_sites.get(&plan.key) {
            Some(s) => s.clone(),
            None => return Err(anyhow::anyhow!("a planned site was not written").into()),
        },
    };
    match &plan.observation {
        Some(o) => {
            let o = NewObservation { site: site.id, ..o.clone() };
            Ok(crate::sites::write_observation(tx, app, who, &site, &o).await?.to_string())
        }
        None => Ok(site.id.to_string()),
    }
}
