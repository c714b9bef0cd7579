//! The demo directory: invented structures in Paris (CAARUD, CSAPA, PASS, day
//! centres, shelters, legal aid…) imported through the data·inclusion
//! importer from the file shipped with veille, then veille's own fields
//! (languages, capacity) which data·inclusion does not carry.

use veille_domain::directory::Capacity;
use veille_domain::Timestamp;
use veille_storage::directory::{self as store, LocalFields};
use veille_storage::Db;

use super::import::{self, Counts};

/// The demo directory, in data·inclusion v1 (synthetic, visibly invented).
pub const DEMO_DIRECTORY: &str = include_str!("../../demo/annuaire-demo.json");

/// The source the demo entries carry.
const SOURCE: &str = "demo-veille";

/// (service id in the source, languages, capacity, a word on it)
const LOCAL: &[(&str, &[&str], Capacity, &str)] = &[
    ("demo--caarud-canal--accueil", &["fr", "ar", "ru", "ka"], Capacity::Unknown, ""),
    ("demo--csapa-lumiere--consultation", &["fr", "en"], Capacity::Unknown, ""),
    ("demo--pass-hopital-nord--soins", &["fr", "en", "ar", "ps", "fa"], Capacity::Unknown, ""),
    ("demo--chu-etoile--mise-abri", &["fr", "en"], Capacity::Limited, "2 places ce soir (démo)"),
    ("demo--halte-femmes--nuit", &["fr", "en", "ti", "ar"], Capacity::Available, ""),
    ("demo--acces-droit--permanence", &["fr", "en", "ar", "ro", "fsl"], Capacity::Unknown, ""),
];

/// Loads the demo directory (after the territories of the demo, so entries
/// get theirs).
pub async fn load(db: &Db, now: Timestamp) -> anyhow::Result<Counts> {
    let files = [("demo-annuaire.json".to_owned(), DEMO_DIRECTORY.as_bytes().to_vec())];
    let outcome = import::run_as_instance(db, &files, import::Options::default(), now).await?;
    anyhow::ensure!(outcome.written && outcome.problems.is_empty(), "the demo directory did not import: {:?}", outcome.problems);
    let known = store::known_services(db, &[SOURCE.to_owned()]).await?;
    let mut tx = db.begin().await?;
    for (id, languages, capacity, note) in LOCAL {
        let Some(k) = known.get(&(SOURCE.to_owned(), (*id).to_owned())) else { continue };
        let Some(entry) = store::service(db, k.id).await? else { continue };
        let fields = LocalFields { languages: languages.iter().map(|l| (*l).to_owned()).collect(), capacity: *capacity, capacity_note: (*note).to_owned() };
        store::update_local(&mut tx, &entry.service, &fields, entry.service.version, now).await?;
    }
    tx.commit().await?;
    Ok(outcome.counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped demo file reads without a problem (nothing touches a database).
    #[test]
    fn the_demo_file_is_valid_data_inclusion() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default();
        let mut c = super::super::datainclusion::Content::default();
        super::super::datainclusion::read("demo-annuaire.json", DEMO_DIRECTORY.as_bytes(), today, &mut c);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.structures.len() >= 6 && c.services.len() >= LOCAL.len());
        for (id, ..) in LOCAL {
            assert!(c.services.iter().any(|s| s.id == *id && s.source == SOURCE), "{id}");
        }
    }
}
