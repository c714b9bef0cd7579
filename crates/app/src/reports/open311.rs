//! Open311 GeoReport v2's reads and writes of signalements. What is
//! published about a request is what its reporter sees on the follow-up
//! page — reference, status, public answer and dates — never the place, the
//! description or anything about the people. A request is created by a
//! partner's system with the API token of one of its accounts, through the
//! same intake as every other channel.

use veille_domain::Timestamp;
use veille_storage::reports::{self, PublicReport};

use crate::error::Result;
use crate::App;

/// The one service: people living in the street who may need help.
pub const SERVICE_CODE: &str = "veille_sociale";
/// Days `requests.json` covers when no dates are given.
pub const DEFAULT_DAYS: i64 = 90;
/// Most rows `requests.json` returns.
pub const MAX_ROWS: i64 = 1000;

/// Public requests by their references (unknown ones are left out), at most [`MAX_ROWS`].
pub async fn by_references(app: &App, references: &[&str]) -> Result<Vec<PublicReport>> {
    let mut out = Vec::new();
    for r in references.iter().take(MAX_ROWS as usize) {
        if let Some(found) = reports::public_by_reference(&app.db, r).await? {
            out.push(found);
        }
    }
    Ok(out)
}

/// One public request by its reference.
pub async fn by_reference(app: &App, reference: &str) -> Result<Option<PublicReport>> {
    Ok(reports::public_by_reference(&app.db, reference).await?)
}

/// Public requests received between `start` and `end` (the last
/// [`DEFAULT_DAYS`] days before `end`, or before now, when `start` is not
/// given), open or closed as asked, newest first, at most [`MAX_ROWS`].
pub async fn list(app: &App, start: Option<Timestamp>, end: Option<Timestamp>, open: Option<bool>) -> Result<Vec<PublicReport>> {
    let now = app.clock.now();
    let since = start.unwrap_or_else(|| end.unwrap_or(now).plus_seconds(-DEFAULT_DAYS * 86_400));
    // `end` is inclusive in Open311: up to its last microsecond.
    Ok(reports::public_list(&app.db, since, end.map(|e| Timestamp::from_micros(e.as_micros() + 1)), open, MAX_ROWS).await?)
}
