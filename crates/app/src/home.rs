//! The home page: the work of the day of the account's role, each part read
//! through the query that owns it (scoped like everywhere else) and offered
//! only when the permission function lets the account read it. A field
//! worker sees the rounds of its teams today, "record an encounter" and the
//! handover notes of the last rounds; a coordinator the reports waiting,
//! those past a deadline and the rounds out past their return; a partner the
//! referrals addressed to its organisation; a reader the figures.

use veille_domain::{Action, Resource, ResourceKind, Role, Timestamp};
use veille_storage::organisations::Organisation;
use veille_storage::referrals::Referral;
use veille_storage::{rounds as store_rounds, teams};

use crate::error::Result;
use crate::reports::staff::{self, QueueQuery};
use crate::rounds::Line;
use crate::{App, Caller};

/// Most lines each part of the home page lists (its page lists them all).
pub const SHOWN: usize = 5;

/// What the account's work of the day is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Going out: rounds, encounters, handover.
    Field,
    /// Coordinating: the queue, what is late, the alerts.
    Coordination,
    /// Answering referrals addressed to the organisation.
    Partner,
    /// Reading the figures.
    Figures,
    /// Administering the instance: organisations, territories, the audit log.
    Administration,
}

impl Focus {
    /// The work of the day of a role.
    pub fn of(role: Role) -> Focus {
        match role {
            Role::FieldWorker | Role::HealthProfessional => Focus::Field,
            Role::Coordinator | Role::OrgAdmin => Focus::Coordination,
            Role::Partner => Focus::Partner,
            Role::Reader => Focus::Figures,
            Role::InstanceAdmin => Focus::Administration,
        }
    }
    /// Its code (the page's `data-focus`).
    pub fn code(self) -> &'static str {
        match self {
            Focus::Field => "field",
            Focus::Coordination => "coordination",
            Focus::Partner => "partner",
            Focus::Figures => "figures",
            Focus::Administration => "administration",
        }
    }
}

/// A report waiting in the queue, as the home page lists it.
#[derive(Clone, Debug)]
pub struct Waiting {
    /// Its id.
    pub id: veille_domain::ReportId,
    /// Its reference.
    pub reference: String,
    /// Its territory's name.
    pub territory: String,
    /// Received at.
    pub received_at: Timestamp,
    /// Level 2 (urgent).
    pub urgent: bool,
    /// Past a deadline.
    pub overdue: bool,
}

/// The home page.
#[derive(Clone, Debug)]
pub struct Today {
    /// The account's organisation.
    pub organisation: Organisation,
    /// The work of the day.
    pub focus: Focus,
    /// Rounds of today (the account's teams for a field worker, the
    /// organisation's for a coordinator), not ended.
    pub rounds: Vec<Line>,
    /// Rounds out past their expected return (the alerts).
    pub overdue_rounds: Vec<Line>,
    /// The handover notes of the last rounds (7 days), newest first.
    pub handovers: Vec<(Line, String)>,
    /// The account records encounters.
    pub can_record_encounter: bool,
    /// New reports waiting to be acknowledged, newest first (at most [`SHOWN`]).
    pub waiting: Vec<Waiting>,
    /// How many new reports wait.
    pub waiting_count: i64,
    /// Open reports past a deadline.
    pub overdue_reports: i64,
    /// Referrals addressed to the organisation that wait for its answer, with the person's pseudonym.
    pub referrals: Vec<(Referral, String)>,
    /// How many referrals wait for its answer (the first [`SHOWN`] are listed).
    pub referrals_waiting: i64,
    /// Reports counted in the organisation's figures (the reader's page).
    pub figures_total: Option<i64>,
    /// When that count is suppressed (small, decision 84): the threshold it is below.
    pub figures_below: Option<i64>,
    /// The account reads the figures.
    pub can_read_figures: bool,
    /// The account reads the audit log of its organisation.
    pub can_audit: bool,
}

/// The start of the day of work that contains `now` (a round at 1 a.m. is
/// still the evening's): Paris midnight of the date four hours earlier.
fn day_of_work(now: Timestamp) -> Timestamp {
    let date = now.plus_seconds(-4 * 3600).paris_date();
    Timestamp::at_paris(date, 0).unwrap_or(now)
}

/// The home page of the caller.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn today(app: &App, who: &Caller) -> Result<Today> {
    let organisation = crate::accounts::own_organisation(app, who).await?;
    let own = organisation.id;
    let focus = Focus::of(who.account.role);
    let may = |action: Action, r: Resource| who.can(action, &r).allowed;
    let records = may(Action::Read, Resource::new(ResourceKind::Record).owned_by(own));
    let mut t = Today {
        focus,
        can_record_encounter: focus == Focus::Field && may(Action::Create, Resource::new(ResourceKind::Record).owned_by(own)),
        can_read_figures: may(Action::Read, Resource::new(ResourceKind::Statistics).owned_by(own)),
        can_audit: may(Action::Read, Resource::new(ResourceKind::AuditLog).owned_by(own)),
        organisation,
        rounds: Vec::new(),
        overdue_rounds: Vec::new(),
        handovers: Vec::new(),
        waiting: Vec::new(),
        waiting_count: 0,
        overdue_reports: 0,
        referrals: Vec::new(),
        referrals_waiting: 0,
        figures_total: None,
        figures_below: None,
    };
    let now = app.clock.now();
    if records && matches!(focus, Focus::Field | Focus::Coordination) {
        // The teams whose rounds are the account's: its own for a field worker, the organisation's for a coordinator.
        let mut mine = Vec::new();
        for team in teams::list(&app.db, Some(own)).await? {
            if focus == Focus::Coordination || teams::members(&app.db, team.id).await?.contains(&who.account.id) {
                mine.push(team);
            }
        }
        let name = |id| mine.iter().find(|t| t.id == id).map(|t| t.name.clone());
        let scope = who.scope();
        let start = day_of_work(now);
        for r in store_rounds::rounds_out(&app.db, &scope).await? {
            let Some(team) = name(r.team) else { continue };
            if r.expected_return_at.is_some_and(|e| e < now) && focus == Focus::Coordination {
                t.overdue_rounds.push(Line { round: r, team });
            } else {
                t.rounds.push(Line { round: r, team });
            }
        }
        for r in store_rounds::rounds_between(&app.db, &scope, start, start.plus_seconds(30 * 3600)).await? {
            if r.status == "planned" {
                if let Some(team) = name(r.team) {
                    t.rounds.push(Line { round: r, team });
                }
            }
        }
        let mut ended: Vec<(Line, String)> = store_rounds::rounds_between(&app.db, &scope, now.plus_seconds(-7 * 86_400), now)
            .await?
            .into_iter()
            .filter(|r| r.status == "ended" && !r.handover.trim().is_empty())
            .filter_map(|r| name(r.team).map(|team| (r.handover.clone(), Line { round: r, team })))
            .map(|(h, l)| (l, h))
            .collect();
        ended.sort_by_key(|(l, _)| std::cmp::Reverse(l.round.ended_at.unwrap_or(l.round.planned_start)));
        ended.truncate(SHOWN);
        t.handovers = ended;
    }
    if records && focus == Focus::Coordination {
        let queue = staff::queue_head(app, who, &QueueQuery { status: "received".into(), ..Default::default() }, SHOWN as i64).await?;
        t.waiting_count = queue.total;
        t.overdue_reports = queue.overdue_count;
        t.waiting = queue
            .lines
            .into_iter()
            .take(SHOWN)
            .map(|l| Waiting {
                id: l.report.id,
                reference: l.report.reference.clone(),
                territory: l.territory,
                received_at: l.report.created_at,
                urgent: l.report.effective_level() == 2,
                overdue: l.overdue,
            })
            .collect();
    }
    if focus == Focus::Partner || (focus == Focus::Coordination && records) {
        if let Ok(waiting) = crate::people::referrals::waiting(app, who, SHOWN as i64).await {
            t.referrals_waiting = waiting.total;
            t.referrals = waiting.items;
        }
    }
    if focus == Focus::Figures && t.can_read_figures {
        // Suppressed when small, as every figure a reader sees.
        (t.figures_total, t.figures_below) = crate::reports::stats::total(app, who).await?;
    }
    Ok(t)
}
