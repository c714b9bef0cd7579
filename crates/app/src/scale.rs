//! A synthetic instance at scale (`veille demo --scale N`, issue 16's
//! benchmark; decision 87): N encounters and, in proportion, reports (N/5),
//! person files (N/10, some linked to each other so that unique people differ
//! from files), sites (N/100) and their observations, rounds with their
//! distributions, referrals, cases, shelter stays, mediations and meetings,
//! spread over the 24 months before `now` (more recent months busier), so
//! every figure of the dashboard has something to count and the period
//! before and the trends mean something.
//!
//! Seeded and deterministic: the same seed, size and instant give the same
//! rows (ids are UUID v7 of the record's instant with seeded random bits).
//! Rows go in through `veille_storage::bulk` (multi-row inserts, large
//! transactions), which seals the health values as every write does. Most
//! records belong to the first coordinating organisation; some to another
//! one, part of them shared with it (reports triaged by it, referrals to it,
//! stays it operates, meetings its staff attended), so the figures' scope is
//! exercised. Only into a demo instance.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use veille_domain::cases::{CaseOutcome, MeetingKind};
use veille_domain::neighbourhood::{MediationOutcome, MediationSubject};
use veille_domain::people::{AgeBand, Gender, Need, ReferralStatus};
use veille_domain::reports::{Channel, Source, SITUATIONS};
use veille_domain::{OrganisationId, Timestamp};
use veille_storage::bulk::{self, Cell};
use veille_storage::sql::Value;
use veille_storage::{accounts, organisations, rounds as store_rounds, teams, territories, Db, Scope};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Encounters (the rest in proportion).
    pub encounters: u64,
    /// The seed.
    pub seed: u64,
}

/// What was generated.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The organisation most records belong to (the one to look at figures of).
    pub organisation: OrganisationId,
    /// The other organisation, if the instance has one with an account.
    pub other: Option<OrganisationId>,
    /// Rows written, by table, in order.
    pub rows: Vec<(&'static str, u64)>,
    /// Seconds taken.
    pub seconds: f64,
}

impl Outcome {
    /// Every row written.
    pub fn total(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
    /// A summary to print: rows by table, rows per second.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (t, n) in &self.rows {
            out.push_str(&format!("  {t:<22} {n:>10}\n"));
        }
        out.push_str(&format!(
            "  {:<22} {:>10} rows in {:.1} s ({:.0} rows/s)\n",
            "total",
            self.total(),
            self.seconds,
            self.total() as f64 / self.seconds.max(1e-9)
        ));
        out
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;
const SPAN_DAYS: i64 = 730;
/// Rows kept in memory before they are written (and transactions committed).
const BATCH: usize = 50_000;

fn t(v: &str) -> Cell {
    Some(Value::Text(v.to_owned()))
}
fn s(v: String) -> Cell {
    Some(Value::Text(v))
}
fn i(v: i64) -> Cell {
    Some(Value::Int(v))
}
fn f(v: f64) -> Cell {
    Some(Value::Real(v))
}

struct Gen {
    rng: StdRng,
    now: i64,
    start: i64,
}

impl Gen {
    /// A UUID v7 of an instant (micros), with seeded random bits.
    fn id(&mut self, at: i64) -> String {
        let mut b = [0u8; 10];
        self.rng.fill(&mut b);
        uuid::Builder::from_unix_timestamp_millis(u64::try_from(at / 1000).unwrap_or(0), &b).into_uuid().to_string()
    }
    /// An instant of the 24 months, more often recent (activity grows).
    fn when(&mut self) -> i64 {
        let u: f64 = self.rng.gen();
        self.start + ((self.now - self.start) as f64 * u.sqrt()) as i64
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.rng.gen_range(0..v.len())]
    }
    /// One code of a list.
    fn one(&mut self, v: &[&'static str]) -> &'static str {
        v[self.rng.gen_range(0..v.len())]
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }
    fn territory(&mut self, ts: &[String]) -> Cell {
        if ts.is_empty() || self.chance(0.05) {
            None
        } else {
            s(self.pick(ts).clone())
        }
    }
    /// Some distinct codes of a list, joined by commas.
    fn codes(&mut self, list: &[&str], max: usize) -> String {
        let n = self.rng.gen_range(0..=max);
        let mut chosen: Vec<&str> = Vec::new();
        for _ in 0..n {
            let c = *self.pick(list);
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        chosen.join(",")
    }
}

/// Writes rows table by table, committing every [`BATCH`] rows.
struct Writer<'a> {
    db: &'a Db,
    rows: Vec<(&'static str, u64)>,
}

impl Writer<'_> {
    async fn put(&mut self, table: &'static str, columns: &[&str], rows: &mut Vec<Vec<Cell>>) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        let n = bulk::insert(&mut tx, table, columns, rows).await?;
        tx.commit().await?;
        rows.clear();
        match self.rows.iter_mut().find(|(t, _)| *t == table) {
            Some((_, c)) => *c += n,
            None => self.rows.push((table, n)),
        }
        Ok(())
    }
    async fn maybe(&mut self, table: &'static str, columns: &[&str], rows: &mut Vec<Vec<Cell>>) -> anyhow::Result<()> {
        if rows.len() >= BATCH {
            self.put(table, columns, rows).await?;
        }
        Ok(())
    }
}

const ENCOUNTER_COLS: &[&str] = &["id", "organisation_id", "territory_id", "at", "round_id", "unidentified_count", "actions", "created_at", "updated_at"];
const EP_COLS: &[&str] = &["encounter_id", "person_id"];
const CARE_COLS: &[&str] = &["encounter_id", "notes"];

/// Generates a synthetic instance at scale into a demo instance that holds
/// at least one coordinating organisation with an account.
pub async fn generate(db: &Db, opts: &Options, now: Timestamp) -> anyhow::Result<Outcome> {
    let began = Instant::now();
    anyhow::ensure!(
        organisations::settings(db).await?.is_some_and(|s| s.demo),
        "synthetic data goes into a demo instance only (load the demo data set first: veille demo)"
    );
    let orgs = organisations::list(db).await?;
    let main = orgs.iter().find(|o| o.coordinating).ok_or_else(|| anyhow::anyhow!("no coordinating organisation"))?.id;
    let main_users = accounts::list(db, Some(main)).await?;
    let user = main_users.first().ok_or_else(|| anyhow::anyhow!("the coordinating organisation has no account"))?.id.to_string();
    let mut other = None;
    for o in orgs.iter().filter(|o| o.id != main) {
        if !accounts::list(db, Some(o.id)).await?.is_empty() {
            other = Some(o.id);
            break;
        }
    }
    let nowm = now.as_micros();
    let mut g = Gen { rng: StdRng::seed_from_u64(opts.seed), now: nowm, start: nowm - SPAN_DAYS * MICROS_PER_DAY };
    let ts: Vec<String> = territories::list(db).await?.into_iter().map(|x| x.id.to_string()).collect();
    let n = opts.encounters.max(100) as usize;

    // Teams and distribution items of both organisations (made when missing).
    let org_list: Vec<OrganisationId> = std::iter::once(main).chain(other).collect();
    let mut org_teams: Vec<Vec<String>> = Vec::new();
    let mut org_items: Vec<Vec<String>> = Vec::new();
    for o in &org_list {
        let mut tx = db.begin().await?;
        let mut tm: Vec<String> = teams::list(db, Some(*o)).await?.into_iter().map(|x| x.id.to_string()).collect();
        if tm.is_empty() {
            for name in ["Maraude de jour (synthétique)", "Maraude de nuit (synthétique)"] {
                tm.push(teams::create(&mut tx, *o, name, "social", now).await?.to_string());
            }
        }
        let mut items: Vec<String> = store_rounds::items(db, *o).await?.into_iter().map(|x| x.id.to_string()).collect();
        if items.is_empty() {
            for (name, cat, unit) in store_rounds::DEFAULT_ITEMS {
                items.push(store_rounds::create_item(&mut tx, *o, name, cat, unit, now).await?.to_string());
            }
        }
        tx.commit().await?;
        org_teams.push(tm);
        org_items.push(items);
    }
    // The organisation of a record: the other one for about one in six.
    let org_of = |g: &mut Gen| -> usize { usize::from(org_list.len() > 1 && g.chance(0.16)) };
    let mut w = Writer { db, rows: Vec::new() };

    // Directory services (referrals name them).
    let structure = g.id(g.start);
    let mut rows = vec![vec![s(structure.clone()), t("synthetic"), t("scale"), t("Structures synthétiques"), i(g.start), i(g.start)]];
    w.put("directory_structures", &["id", "source", "source_id", "name", "created_at", "updated_at"], &mut rows).await?;
    let mut services = Vec::new();
    for (k, name) in [
        "Accueil de jour (synthétique)",
        "Bains-douches (synthétique)",
        "Permanence d'accès aux soins (synthétique)",
        "Domiciliation (synthétique)",
        "Halte de nuit (synthétique)",
        "Bagagerie (synthétique)",
    ]
    .iter()
    .enumerate()
    {
        let id = g.id(g.start);
        rows.push(vec![s(id.clone()), s(structure.clone()), t("synthetic"), s(format!("scale-{k}")), t(name), i(g.start), i(g.start)]);
        services.push(id);
    }
    w.put("directory_services", &["id", "structure_id", "source", "source_id", "name", "created_at", "updated_at"], &mut rows).await?;

    // Sites and their observations.
    let n_sites = (n / 100).max(5);
    let site_cols = ["id", "organisation_id", "name", "kind", "lon", "lat", "territory_id", "created_at", "updated_at"];
    let obs_cols = ["id", "site_id", "observed_at", "recorded_at", "organisation_id", "team_id", "people", "men", "women", "tents"];
    let mut obs = Vec::new();
    for k in 0..n_sites {
        let at = g.when();
        let id = g.id(at);
        let (lon, lat) = (2.25 + g.rng.gen::<f64>() * 0.17, 48.81 + g.rng.gen::<f64>() * 0.09);
        let kind = *g.pick(&veille_storage::sites::KINDS);
        let terr = g.territory(&ts);
        rows.push(vec![s(id.clone()), s(main.to_string()), s(format!("Lieu de vie synthétique {k}")), t(kind), f(lon), f(lat), terr, i(at), i(at)]);
        for _ in 0..5 {
            let o_at = at + ((nowm - at) as f64 * g.rng.gen::<f64>()) as i64;
            let (men, women) = (g.rng.gen_range(0..15), g.rng.gen_range(0..10));
            let team = g.pick(&org_teams[0]).clone();
            let oid = g.id(o_at);
            obs.push(vec![s(oid), s(id.clone()), i(o_at), i(o_at), s(main.to_string()), s(team), i(men + women), i(men), i(women), i(g.rng.gen_range(0..8))]);
        }
        if obs.len() >= BATCH {
            w.put("sites", &site_cols, &mut rows).await?;
            w.put("site_observations", &obs_cols, &mut obs).await?;
        }
    }
    w.put("sites", &site_cols, &mut rows).await?;
    w.put("site_observations", &obs_cols, &mut obs).await?;

    // Person files, their health flags (sealed) and the links between files.
    let n_people = (n / 10).max(20);
    let mut people: Vec<Vec<String>> = vec![Vec::new(); org_list.len()];
    let genders = Gender::codes();
    let bands = AgeBand::codes();
    let needs = Need::codes();
    let person_cols = ["id", "organisation_id", "territory_id", "pseudonym", "birth_year", "age_band", "gender", "needs", "created_at", "updated_at"];
    let health_cols = ["person_id", "flags", "notes", "updated_at"];
    let mut health = Vec::new();
    let mut all_people: Vec<(usize, String)> = Vec::with_capacity(n_people);
    for k in 0..n_people {
        let at = g.start - g.rng.gen_range(0..365) * MICROS_PER_DAY;
        let id = g.id(at);
        let o = org_of(&mut g);
        let (birth, band) = if g.chance(0.7) {
            (i(g.rng.gen_range(1945..2010)), None)
        } else if g.chance(0.6) {
            (None, t(g.one(&bands)))
        } else {
            (None, None)
        };
        let gender = *g.pick(&genders);
        let nd = g.codes(&needs, 3);
        let terr = g.territory(&ts);
        rows.push(vec![s(id.clone()), s(org_list[o].to_string()), terr, s(format!("Synth-{k:06}")), birth, band, t(gender), s(nd), i(at), i(at)]);
        if g.chance(0.05) {
            health.push(vec![s(id.clone()), t("diabetes"), t("Suivi infirmier (synthétique)"), i(at)]);
        }
        people[o].push(id.clone());
        all_people.push((o, id));
        if rows.len() >= BATCH {
            w.put("people", &person_cols, &mut rows).await?;
            w.put("person_health", &health_cols, &mut health).await?;
        }
    }
    w.put("people", &person_cols, &mut rows).await?;
    w.put("person_health", &health_cols, &mut health).await?;
    // About one file in eight is linked to another (of the same organisation
    // mostly, some across); chains of three happen; a few links were undone.
    let link_cols = ["id", "person_a", "person_b", "agreements", "linked_by", "linked_at", "unlinked_by", "unlinked_at"];
    let mut seen = std::collections::HashSet::new();
    for _ in 0..(n_people / 8) {
        let (oa, a) = g.pick(&all_people).clone();
        let b = if g.chance(0.9) && !people[oa].is_empty() { g.pick(&people[oa]).clone() } else { g.pick(&all_people).1.clone() };
        if a == b || !seen.insert((a.clone(), b.clone())) || seen.contains(&(b.clone(), a.clone())) {
            continue;
        }
        let at = g.when();
        let id = g.id(at);
        let undone = g.chance(0.05);
        let (ub, ua) = if undone { (s(user.clone()), i(at + MICROS_PER_DAY)) } else { (None, None) };
        rows.push(vec![s(id), s(a), s(b), t("[]"), s(user.clone()), i(at), ub, ua]);
        w.maybe("person_links", &link_cols, &mut rows).await?;
    }
    w.put("person_links", &link_cols, &mut rows).await?;

    // Rounds (about 20 encounters each), their distributions, and the encounters.
    let n_rounds = (n / 20).max(10);
    let round_cols =
        ["id", "organisation_id", "team_id", "territory_id", "planned_start", "planned_end", "status", "started_at", "ended_at", "created_at", "updated_at"];
    let dist_cols = ["round_id", "item_id", "quantity"];
    let mut dists = Vec::new();
    let mut encs = Vec::new();
    let mut eps = Vec::new();
    let mut care = Vec::new();
    let mut made = 0usize;
    let actions = ["listening", "information", "orientation"];
    for k in 0..n_rounds {
        let o = org_of(&mut g);
        let planned = g.when();
        let id = g.id(planned);
        let team = g.pick(&org_teams[o]).clone();
        let terr = g.territory(&ts);
        let started = g.chance(0.95);
        let (status, st, en) = if started {
            let st = planned + g.rng.gen_range(-1800..1800) * 1_000_000;
            ("ended", i(st), i(st + 3 * 3600 * 1_000_000))
        } else {
            ("planned", None, None)
        };
        rows.push(vec![
            s(id.clone()),
            s(org_list[o].to_string()),
            s(team),
            terr.clone(),
            i(planned),
            i(planned + 3 * 3600 * 1_000_000),
            t(status),
            st,
            en,
            i(planned),
            i(planned),
        ]);
        let mut chosen: Vec<&String> = Vec::new();
        for _ in 0..g.rng.gen_range(1..=4) {
            let it = g.pick(&org_items[o]);
            if !chosen.contains(&it) {
                chosen.push(it);
                dists.push(vec![s(id.clone()), s(it.clone()), i(g.rng.gen_range(1..=40))]);
            }
        }
        // This round's share of the encounters (the last round takes what is left).
        let share = if k + 1 == n_rounds { n.saturating_sub(made) } else { (n * (k + 1) / n_rounds).saturating_sub(made) };
        for _ in 0..share {
            // One encounter in ten outside any round, at its own instant.
            let (eo, at, round, eterr) = if started && g.chance(0.9) {
                (o, planned + g.rng.gen_range(0..3 * 3600) * 1_000_000, s(id.clone()), terr.clone())
            } else {
                let eo = org_of(&mut g);
                let at = g.when();
                (eo, at, None, g.territory(&ts))
            };
            let eid = g.id(at);
            let unident = if g.chance(0.2) { g.rng.gen_range(1..=3) } else { 0 };
            let how_many = if g.chance(0.1) {
                0
            } else if g.chance(0.12) {
                2
            } else {
                1
            };
            let pool = if people[eo].is_empty() { &people[0] } else { &people[eo] };
            let mut met: Vec<String> = Vec::new();
            for _ in 0..how_many {
                // Some people are met far more often than others.
                let u: f64 = g.rng.gen();
                let p = pool[((u * u) * pool.len() as f64) as usize % pool.len()].clone();
                if !met.contains(&p) {
                    met.push(p);
                }
            }
            for p in met {
                eps.push(vec![s(eid.clone()), s(p)]);
            }
            if g.chance(0.02) {
                care.push(vec![s(eid.clone()), t("Pansement refait (synthétique)")]);
            }
            let act = g.codes(&actions, 2);
            encs.push(vec![s(eid), s(org_list[eo].to_string()), eterr, i(at), round, i(unident), s(act), i(at), i(at)]);
            made += 1;
            if encs.len() >= BATCH {
                w.put("rounds", &round_cols, &mut rows).await?;
                w.put("round_distributions", &dist_cols, &mut dists).await?;
                w.put("encounters", ENCOUNTER_COLS, &mut encs).await?;
                w.put("encounter_people", EP_COLS, &mut eps).await?;
                w.put("encounter_care", CARE_COLS, &mut care).await?;
            }
        }
        if dists.len() >= BATCH {
            w.put("rounds", &round_cols, &mut rows).await?;
            w.put("round_distributions", &dist_cols, &mut dists).await?;
        }
    }
    w.put("rounds", &round_cols, &mut rows).await?;
    w.put("round_distributions", &dist_cols, &mut dists).await?;
    w.put("encounters", ENCOUNTER_COLS, &mut encs).await?;
    w.put("encounter_people", EP_COLS, &mut eps).await?;
    w.put("encounter_care", CARE_COLS, &mut care).await?;

    // Reports.
    let n_reports = (n / 5).max(20);
    let report_cols = [
        "id",
        "reference",
        "token_hash",
        "created_at",
        "updated_at",
        "source",
        "channel",
        "territory_id",
        "description",
        "level",
        "level_override",
        "status",
        "organisation_id",
        "triage_organisation_id",
        "team_id",
        "situations",
        "acknowledged_at",
        "answered_at",
        "duplicate_of",
    ];
    let sources = Source::codes();
    let channels = Channel::codes();
    let mut earlier: Vec<String> = Vec::new();
    for k in 0..n_reports {
        let at = g.when();
        let id = g.id(at);
        let o = org_of(&mut g);
        let triage = if o == 1 && g.chance(0.5) { s(main.to_string()) } else { None };
        let team = if g.chance(0.6) { s(g.pick(&org_teams[o]).clone()) } else { None };
        let level = if g.chance(0.3) { 2 } else { 1 };
        let over = if g.chance(0.05) { i(3 - level) } else { None };
        // Time to the answer: minutes to weeks (log-uniform), unanswered for some.
        let delay = (300.0 * 8f64.powf(g.rng.gen::<f64>() * 4.3)) as i64 * 1_000_000;
        let answered = g.chance(0.75) && at + delay <= nowm;
        let status = if answered {
            if g.chance(0.5) {
                "answered"
            } else {
                "closed"
            }
        } else {
            *g.pick(&["received", "qualified", "assigned", "in_progress"])
        };
        // The first action of a person acknowledges a report (any change of
        // it): two minutes to two days after receipt (log-uniform), never
        // after its answer; a report still "received" has had none.
        let ack_delay = (120.0 * 6f64.powf(g.rng.gen::<f64>() * 4.0)) as i64 * 1_000_000;
        let acknowledged = match (status, answered) {
            ("received", _) => None,
            (_, true) => i(at + ack_delay.min(delay)),
            _ => i((at + ack_delay).min(nowm)),
        };
        let dup = if !earlier.is_empty() && g.chance(0.03) { s(g.pick(&earlier).clone()) } else { None };
        let sit = g.codes(&SITUATIONS, 2);
        let (src, ch) = (*g.pick(&sources), *g.pick(&channels));
        let terr = g.territory(&ts);
        rows.push(vec![
            s(id.clone()),
            s(format!("SYN-{k:07}")),
            s(format!("synthetic-{}-{k}", opts.seed)),
            i(at),
            i(at),
            t(src),
            t(ch),
            terr,
            t("Signalement synthétique"),
            i(level),
            over,
            t(status),
            s(org_list[o].to_string()),
            triage,
            team,
            s(sit),
            acknowledged,
            if answered { i(at + delay) } else { None },
            dup,
        ]);
        if earlier.len() < 1000 {
            earlier.push(id);
        }
        w.maybe("reports", &report_cols, &mut rows).await?;
    }
    w.put("reports", &report_cols, &mut rows).await?;

    // Referrals (by directory service or to a partner outside it; some to the other organisation).
    let n_refs = (n / 20).max(20);
    let ref_cols =
        ["id", "organisation_id", "person_id", "service_id", "partner_name", "partner_organisation_id", "reason", "status", "created_at", "updated_at"];
    let statuses = ReferralStatus::codes();
    for _ in 0..n_refs {
        let at = g.when();
        let id = g.id(at);
        let o = org_of(&mut g);
        let person = g.pick(if people[o].is_empty() { &people[0] } else { &people[o] }).clone();
        let (service, partner) = if g.chance(0.8) { (s(g.pick(&services).clone()), "") } else { (None, "Partenaire hors annuaire (synthétique)") };
        let to_main = if o == 1 && g.chance(0.3) { s(main.to_string()) } else { None };
        let st = *g.pick(&statuses);
        rows.push(vec![s(id), s(org_list[o].to_string()), s(person), service, t(partner), to_main, t("Orientation (synthétique)"), t(st), i(at), i(at)]);
        w.maybe("referrals", &ref_cols, &mut rows).await?;
    }
    w.put("referrals", &ref_cols, &mut rows).await?;

    // Cases, opened and some closed with an outcome.
    let case_cols = ["id", "organisation_id", "territory_id", "title", "status", "outcome", "closed_at", "created_at", "updated_at"];
    let outcomes = CaseOutcome::codes();
    for k in 0..(n / 200).max(10) {
        let at = g.when();
        let id = g.id(at);
        let o = org_of(&mut g);
        let closed = at + g.rng.gen_range(1..200) * MICROS_PER_DAY;
        let (st, out, ca) = if closed < nowm && g.chance(0.6) { ("closed", t(g.one(&outcomes)), i(closed)) } else { ("open", None, None) };
        let terr = g.territory(&ts);
        rows.push(vec![s(id), s(org_list[o].to_string()), terr, s(format!("Situation complexe synthétique {k}")), t(st), out, ca, i(at), i(at)]);
    }
    w.put("cases", &case_cols, &mut rows).await?;

    // Shelter: facilities of the main organisation, nights that differ, stays.
    let fac_cols = ["id", "organisation_id", "name", "kind", "territory_id", "places", "active", "created_at", "updated_at"];
    let mut facilities = Vec::new();
    for k in 0..(n / 20_000).max(3) {
        let id = g.id(g.start);
        let terr = g.territory(&ts);
        let active = i64::from(k % 7 != 6);
        rows.push(vec![
            s(id.clone()),
            s(main.to_string()),
            s(format!("Centre synthétique {k}")),
            t("shelter_site"),
            terr,
            i(g.rng.gen_range(10..80)),
            i(active),
            i(g.start),
            i(g.start),
        ]);
        facilities.push(id);
    }
    w.put("facilities", &fac_cols, &mut rows).await?;
    let first_night = g.start / MICROS_PER_DAY;
    let last_night = nowm / MICROS_PER_DAY;
    let night_cols = ["facility_id", "night", "places", "note", "updated_at"];
    for fid in &facilities {
        let mut nights = std::collections::BTreeSet::new();
        for _ in 0..30 {
            nights.insert(g.rng.gen_range(first_night..last_night));
        }
        for night in nights {
            let places = if g.chance(0.5) { 0 } else { g.rng.gen_range(5..40) };
            rows.push(vec![s(fid.clone()), i(night), i(places), t("synthétique"), i(g.start)]);
        }
    }
    w.put("facility_nights", &night_cols, &mut rows).await?;
    let stay_cols = [
        "id",
        "facility_id",
        "organisation_id",
        "operator_organisation_id",
        "territory_id",
        "person_id",
        "places",
        "status",
        "from_night",
        "to_night",
        "created_at",
        "updated_at",
    ];
    for _ in 0..(n / 100).max(20) {
        let at = g.when();
        let id = g.id(at);
        let o = org_of(&mut g);
        let from = at / MICROS_PER_DAY;
        let to = from + g.rng.gen_range(1..60);
        let st = *g.pick(&["present", "left", "left", "booked", "cancelled", "no_show"]);
        let fid = g.pick(&facilities).clone();
        let person = g.pick(if people[o].is_empty() { &people[0] } else { &people[o] }).clone();
        let terr = g.territory(&ts);
        rows.push(vec![
            s(id),
            s(fid),
            s(org_list[o].to_string()),
            s(main.to_string()),
            terr,
            s(person),
            i(g.rng.gen_range(1..=3)),
            t(st),
            i(from),
            i(to),
            i(at),
            i(at),
        ]);
        w.maybe("stays", &stay_cols, &mut rows).await?;
    }
    w.put("stays", &stay_cols, &mut rows).await?;

    // Mediations.
    let med_cols = ["id", "organisation_id", "territory_id", "team_id", "at", "subject", "outcome", "created_at", "updated_at"];
    let (med_out, med_subjects) = (MediationOutcome::codes(), MediationSubject::codes());
    for _ in 0..(n / 50).max(20) {
        let at = g.when();
        let id = g.id(at);
        let o = org_of(&mut g);
        let team = if g.chance(0.8) { s(g.pick(&org_teams[o]).clone()) } else { None };
        let terr = g.territory(&ts);
        rows.push(vec![s(id), s(org_list[o].to_string()), terr, team, i(at), t(g.one(&med_subjects)), t(g.one(&med_out)), i(at), i(at)]);
        w.maybe("mediations", &med_cols, &mut rows).await?;
    }
    w.put("mediations", &med_cols, &mut rows).await?;

    // Meetings and their attendance sheets (the main organisation's staff at some of the other's).
    let meet_cols = ["id", "organisation_id", "territory_id", "kind", "title", "starts_at", "ends_at", "status", "created_at", "updated_at"];
    let att_cols = ["id", "meeting_id", "user_id", "name", "count"];
    let kinds = MeetingKind::codes();
    let mut att = Vec::new();
    for _ in 0..(n / 1000).max(20) {
        let at = g.when();
        let id = g.id(at);
        let o = org_of(&mut g);
        let st = *g.pick(&["held", "held", "held", "planned", "cancelled"]);
        let terr = g.territory(&ts);
        rows.push(vec![
            s(id.clone()),
            s(org_list[o].to_string()),
            terr,
            t(g.one(&kinds)),
            t("Réunion synthétique"),
            i(at),
            i(at + 7_200_000_000),
            t(st),
            i(at),
            i(at),
        ]);
        for k in 0..g.rng.gen_range(0..5) {
            let who = if k == 0 && g.chance(0.5) { s(user.clone()) } else { None };
            let aid = g.id(at);
            att.push(vec![s(aid), s(id.clone()), who, t("Participant (synthétique)"), i(g.rng.gen_range(1..=4))]);
        }
    }
    w.put("meetings", &meet_cols, &mut rows).await?;
    w.put("meeting_attendees", &att_cols, &mut att).await?;
    // The planner must know the tables are no longer small.
    bulk::analyze(db).await?;

    Ok(Outcome { organisation: main, other, rows: w.rows, seconds: began.elapsed().as_secs_f64() })
}

/// Writes the tables the figures count as CSV files into `dir` (one
/// `<table>.csv` each), for DuckDB to count the same data. A demo instance
/// only: the files hold every row. Returns rows by table.
pub async fn export(db: &Db, dir: &std::path::Path) -> anyhow::Result<Vec<(&'static str, u64)>> {
    anyhow::ensure!(organisations::settings(db).await?.is_some_and(|s| s.demo), "the export of every row is for a demo instance only");
    std::fs::create_dir_all(dir)?;
    let scope = Scope::instance("the synthetic instance's export for DuckDB");
    let mut out = Vec::new();
    for spec in bulk::FIGURES_TABLES {
        let path = dir.join(format!("{}.csv", spec.table));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let n = bulk::export_csv(db, &scope, spec, &mut file).await?;
        std::io::Write::flush(&mut file)?;
        out.push((spec.table, n));
    }
    Ok(out)
}

/// The figures of a dashboard as flat cells, keyed as the DuckDB script
/// (`bench/figures/duckdb_figures.py`) keys its own: `<table>/<code>` →
/// `[period, period before]`, `measure/<code>` → the same, `<trend>/<month>`
/// → a count. Exact counts only (a dashboard for the organisation's staff).
pub fn cells(d: &crate::figures::Dashboard) -> std::collections::BTreeMap<String, serde_json::Value> {
    use serde_json::json;
    let mut out = std::collections::BTreeMap::new();
    for g in &d.groups {
        for m in &g.measures {
            out.insert(format!("measure/{}", m.code), json!([m.current, m.previous]));
        }
        for t in &g.tables {
            for r in &t.rows {
                out.insert(format!("{}/{}", t.id, r.code), json!([r.current.value, r.previous.value]));
            }
        }
    }
    for s in &d.trends {
        for (month, c) in &s.points {
            out.insert(format!("{}/{month}", s.id), json!(c.value));
        }
    }
    out
}

/// The part of veille's figures another engine computes: those of the
/// tables it names (`reports-source`, `trend-reports`, `measure/p90_hours`…),
/// and the names of veille's tables it leaves out (not compared).
pub fn computed_by(
    veille: &std::collections::BTreeMap<String, serde_json::Value>,
    tables: &[String],
) -> (std::collections::BTreeMap<String, serde_json::Value>, std::collections::BTreeSet<String>) {
    let table_of = |k: &str| if k.starts_with("measure/") { k.to_owned() } else { k.split('/').next().unwrap_or_default().to_owned() };
    let (mut kept, mut left) = (std::collections::BTreeMap::new(), std::collections::BTreeSet::new());
    for (k, v) in veille {
        let t = table_of(k);
        if tables.contains(&t) {
            kept.insert(k.clone(), v.clone());
        } else {
            left.insert(t);
        }
    }
    (kept, left)
}

/// The cells that differ between veille's figures and another engine's
/// (a count the other engine does not name is 0 there; a cell only the
/// other engine names is a difference), one line each.
pub fn differences(veille: &std::collections::BTreeMap<String, serde_json::Value>, other: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let zero = |v: &serde_json::Value| match v {
        serde_json::Value::Array(_) => serde_json::json!([0, 0]),
        _ => serde_json::json!(0),
    };
    let same = |a: &serde_json::Value, b: &serde_json::Value| match (a, b) {
        (serde_json::Value::Array(x), serde_json::Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p == q || (p.as_f64().is_some() && p.as_f64() == q.as_f64()))
        }
        _ => a == b || (a.as_f64().is_some() && a.as_f64() == b.as_f64()),
    };
    let mut out = Vec::new();
    for (k, v) in veille {
        let o = other.get(k).cloned().unwrap_or_else(|| if k.starts_with("measure/") { serde_json::json!([null, null]) } else { zero(v) });
        if !same(v, &o) {
            out.push(format!("{k}: veille {v}, other {o}"));
        }
    }
    for (k, o) in other {
        if !veille.contains_key(k) {
            out.push(format!("{k}: veille has no such figure, other {o}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn every_figure_that_differs_is_named() {
        let ours: std::collections::BTreeMap<String, serde_json::Value> = [
            ("reports-source/public".to_owned(), json!([3, 0])),
            ("reports-source/police".to_owned(), json!([0, 0])),
            ("measure/median_hours".to_owned(), json!([1.5, null])),
            ("trend-reports/2026-11".to_owned(), json!(3)),
        ]
        .into_iter()
        .collect();
        let same = json!({"reports-source/public": [3, 0], "measure/median_hours": [1.5, null], "trend-reports/2026-11": 3});
        assert!(super::differences(&ours, same.as_object().unwrap()).is_empty(), "a count not named is 0");
        let other = json!({"reports-source/public": [3, 1], "measure/median_hours": [1.6, null], "trend-reports/2026-11": 3, "reports-source/web": [1, 0]});
        let d = super::differences(&ours, other.as_object().unwrap());
        assert_eq!(d.len(), 3, "{d:?}");
    }

    #[test]
    fn only_the_tables_the_other_engine_computes_are_compared() {
        let ours: std::collections::BTreeMap<String, serde_json::Value> = [
            ("reports-source/public".to_owned(), json!([3, 0])),
            ("sites-kind/camp".to_owned(), json!([5, 4])),
            ("measure/median_hours".to_owned(), json!([1.5, null])),
            ("measure/sites_percent".to_owned(), json!([10, 20])),
        ]
        .into_iter()
        .collect();
        let (kept, left) = super::computed_by(&ours, &["reports-source".to_owned(), "measure/median_hours".to_owned()]);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["measure/median_hours", "reports-source/public"]);
        assert_eq!(left.into_iter().collect::<Vec<_>>(), ["measure/sites_percent", "sites-kind"]);
    }
}
