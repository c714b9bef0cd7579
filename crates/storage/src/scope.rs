//! What a caller may read, as a required argument of every query that returns
//! or counts personal records. A [`Scope`] is made from an account's grants
//! ([`Scope::of`]) and compiled to SQL by the query with the columns of its
//! record kind, so that a list returns exactly what `authorize` lets the
//! account read; or, for the instance's own work (overdue alerts, referral
//! expiry, backups, retention), named as such ([`Scope::instance`]), so each
//! place that reads everything says why. There is no other constructor: a
//! query cannot be called unscoped by leaving an argument out.

use veille_domain::access::{read_filter, site_read_filter, ReadFilter, SiteReadFilter};
use veille_domain::{Actor, OrganisationId, TerritoryScope};

use crate::sql::{Params, RecordColumns, Shared};

/// What a caller may read.
#[derive(Clone, Debug)]
pub struct Scope(Inner);

#[derive(Clone, Debug)]
enum Inner {
    Account { records: ReadFilter, sites: SiteReadFilter },
    Figures(OrganisationId),
    Instance(&'static str),
}

impl Scope {
    /// What this account may read, from its grants.
    pub fn of(actor: &Actor) -> Self {
        Scope(Inner::Account { records: read_filter(actor), sites: site_read_filter(actor) })
    }

    /// Every record, for work the instance does itself; `purpose` names it
    /// (it is kept for logs and review: `"overdue round alerts"`).
    pub fn instance(purpose: &'static str) -> Self {
        Scope(Inner::Instance(purpose))
    }

    /// The records an organisation's aggregated figures count: those it owns
    /// and those shared with it as their coordinating organisation. Only for
    /// counting (the caller checked `ResourceKind::Statistics` of the
    /// organisation); no row of it is shown.
    pub fn figures_of(organisation: OrganisationId) -> Self {
        Scope(Inner::Figures(organisation))
    }

    /// The organisation whose aggregated figures this scope counts, when it does.
    pub fn figures_organisation(&self) -> Option<OrganisationId> {
        match self.0 {
            Inner::Figures(o) => Some(o),
            _ => None,
        }
    }

    /// Why this scope reads everything, when it does.
    pub fn instance_purpose(&self) -> Option<&'static str> {
        match self.0 {
            Inner::Instance(p) => Some(p),
            _ => None,
        }
    }

    /// The SQL condition admitting the personal records (reports, people,
    /// encounters, referrals, rounds…) this scope may read.
    pub fn records(&self, cols: &RecordColumns<'_>, p: &mut Params) -> String {
        match &self.0 {
            Inner::Instance(_) => "1 = 1".into(),
            Inner::Account { records, .. } => crate::sql::read_filter_sql(records, cols, p),
            Inner::Figures(org) => {
                let me = p.push(org.to_string());
                match cols.shared_with {
                    Some(Shared::Column(c)) => format!("({} = {me} OR {c} = {me})", cols.organisation),
                    Some(Shared::Exists(template)) => format!("({} = {me} OR {})", cols.organisation, template.replace("{org}", &me)),
                    None => format!("{} = {me}", cols.organisation),
                }
            }
        }
    }

    /// The SQL condition admitting the sites this scope may read, given the
    /// column of a site's territory.
    pub fn sites(&self, territory: &str, p: &mut Params) -> String {
        match &self.0 {
            Inner::Instance(_) => "1 = 1".into(),
            Inner::Figures(_) | Inner::Account { sites: SiteReadFilter::Nothing, .. } => "1 = 0".into(),
            Inner::Account { sites: SiteReadFilter::Within(TerritoryScope::All), .. } => "1 = 1".into(),
            Inner::Account { sites: SiteReadFilter::Within(TerritoryScope::Only(set)), .. } => {
                if set.is_empty() {
                    return format!("{territory} IS NULL");
                }
                let list: Vec<String> = set.iter().map(|t| p.push(t.to_string())).collect();
                format!("({territory} IS NULL OR {territory} IN ({}))", list.join(", "))
            }
        }
    }
}
