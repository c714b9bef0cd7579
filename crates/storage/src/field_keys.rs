//! Encryption at rest of the sensitive field groups (health, justice), with
//! keys kept outside the database.
//!
//! Which values are sealed is read from the declaration of personal data
//! ([`crate::personal`]): every column whose field group is in
//! [`SEALED_GROUPS`], and the rows of a [`personal::GroupedByRow`] column whose
//! group is. A value is stored as `enc1:<key id>:<base64(nonce ‖ ciphertext)>`:
//! XChaCha20-Poly1305, a random 24-byte nonce, and the table and column as
//! associated data, so a value moved to another column does not open. The
//! [`Db`] carries the [`KeyRing`]; the storage functions of those columns seal
//! on write and open on read, so nothing above storage sees a sealed value.
//!
//! The ring holds several keys: the newest seals, every one opens.
//! [`check`] refuses a ring that lacks a key a value was sealed with, or whose
//! key of that id does not open it; [`reseal`] moves values to the newest key
//! (rotation) or seals values written before encryption at rest, in batches,
//! each batch its own transaction, so it resumes where it stopped.

use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sqlx::Row;
use veille_domain::FieldGroup;

use crate::db::Db;
use crate::error::{Result, StorageError};
use crate::personal;

/// The field groups whose values are sealed at rest.
pub const SEALED_GROUPS: [FieldGroup; 2] = [FieldGroup::Health, FieldGroup::Justice];

/// The prefix of a sealed value (format version 1).
pub const PREFIX: &str = "enc1:";

/// The column identifying a row of each table that holds sealed values (a
/// test checks every such table is listed).
const ROW_KEYS: &[(&str, &str)] =
    &[("person_health", "person_id"), ("encounter_care", "encounter_id"), ("operations", "id"), ("person_notes", "id"), ("sync_ops", "op_id")];

/// Whether the values of a field group are sealed at rest.
pub fn group_sealed(group: Option<FieldGroup>) -> bool {
    group.is_some_and(|g| SEALED_GROUPS.contains(&g))
}

/// Whether a column is sealed in every row (its declared group is sealed).
pub fn column_sealed(table: &str, column: &str) -> bool {
    personal::table(table).is_some_and(|t| t.columns.iter().any(|c| c.name == column && group_sealed(c.group)))
}

/// A place holding sealed values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// The column identifying a row.
    pub key: &'static str,
    /// For a column sealed row by row: the column holding the row's group.
    pub group_column: Option<&'static str>,
}

impl Place {
    /// The SQL condition choosing the rows whose value is sealed.
    fn rows(&self) -> String {
        match self.group_column {
            None => format!("{} IS NOT NULL", self.column),
            Some(g) => {
                let codes: Vec<String> = SEALED_GROUPS.iter().map(|s| format!("'{}'", s.code())).collect();
                format!("{} IS NOT NULL AND {g} IN ({})", self.column, codes.join(", "))
            }
        }
    }
}

/// Every place holding sealed values, from the declaration of personal data.
pub fn places() -> Vec<Place> {
    let key = |table: &str| ROW_KEYS.iter().find(|(t, _)| *t == table).map(|(_, k)| *k).unwrap_or("id");
    let mut out = Vec::new();
    for t in personal::PERSONAL {
        for c in t.columns.iter().filter(|c| group_sealed(c.group)) {
            out.push(Place { table: t.name, column: c.name, key: key(t.name), group_column: None });
        }
    }
    for g in personal::GROUPED_BY_ROW {
        out.push(Place { table: g.table, column: g.column, key: key(g.table), group_column: Some(g.group_column) });
    }
    out
}

/// The keys that seal and open the sensitive field groups: the last one
/// seals, every one opens. Its `Debug` shows the key ids only.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<(String, XChaCha20Poly1305)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("ids", &self.ids()).finish()
    }
}

/// Whether a key id is well formed: 1 to 32 of `a-z`, `0-9`, `-` (so it is
/// safe in a SQL literal and compares alike on both engines).
pub fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl KeyRing {
    /// Reads keys, one `id:base64(32 bytes)` per line (or separated by
    /// commas); blank lines and lines starting with `#` are skipped; the last
    /// key seals. The error names the entry's rank, never its content.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut keys: Vec<(String, XChaCha20Poly1305)> = Vec::new();
        let entries = text.lines().map(str::trim).filter(|l| !l.starts_with('#')).flat_map(|l| l.split(',')).map(str::trim).filter(|e| !e.is_empty());
        for (n, entry) in entries.enumerate() {
            let line = n + 1;
            let Some((id, key)) = entry.split_once(':') else { return Err(format!("entry {line}: not `id:base64key`")) };
            let id = id.trim();
            if !valid_id(id) {
                return Err(format!("entry {line}: a key id is 1 to 32 of a-z, 0-9 and -"));
            }
            let bytes = base64::engine::general_purpose::STANDARD.decode(key.trim()).map_err(|_| format!("entry {line}: the key is not base64"))?;
            if bytes.len() != 32 {
                return Err(format!("entry {line}: a key is 32 bytes"));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(format!("entry {line}: key id {id} given twice"));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| format!("entry {line}: a key is 32 bytes"))?;
            keys.push((id.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err("no key".into());
        }
        Ok(Self { keys })
    }

    /// A new key line `id:base64key`, its id not in `existing` (`k` and the
    /// Unix time in seconds).
    pub fn new_key_line(existing: Option<&KeyRing>, unix_seconds: i64) -> String {
        let base = format!("k{unix_seconds}");
        let mut id = base.clone();
        let mut n = 1;
        while existing.is_some_and(|r| r.ids().contains(&id.as_str())) {
            n += 1;
            id = format!("{base}-{n}");
        }
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        format!("{id}:{}", base64::engine::general_purpose::STANDARD.encode(key))
    }

    /// The key ids, oldest first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// The id of the key that seals.
    pub fn newest(&self) -> &str {
        &self.keys.last().expect("a ring has a key").0
    }

    /// Seals a value of `table.column` with the newest key.
    pub fn seal(&self, table: &str, column: &str, plain: &str) -> Result<String> {
        let (id, cipher) = self.keys.last().expect("a ring has a key");
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = aad(table, column);
        let sealed = cipher
            .encrypt(&nonce, Payload { msg: plain.as_bytes(), aad: aad.as_bytes() })
            .map_err(|_| StorageError::FieldKeyRejected { key: id.clone(), place: format!("{table}.{column}") })?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{id}:{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
    }

    /// Opens a value of `table.column`. A value without the prefix was
    /// written before encryption at rest and is returned as it is (it is
    /// sealed at the next start, see [`reseal`]).
    pub fn open(&self, table: &str, column: &str, stored: &str) -> Result<String> {
        let Some(rest) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_owned()) };
        let place = || format!("{table}.{column}");
        let (id, data) = rest.split_once(':').ok_or_else(|| StorageError::CorruptSealed(place()))?;
        let (_, cipher) = self.keys.iter().find(|(k, _)| k == id).ok_or_else(|| StorageError::MissingFieldKey(id.to_owned()))?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| StorageError::CorruptSealed(place()))?;
        if bytes.len() < 24 {
            return Err(StorageError::CorruptSealed(place()));
        }
        let (nonce, sealed) = bytes.split_at(24);
        let aad = aad(table, column);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| StorageError::FieldKeyRejected { key: id.to_owned(), place: place() })?;
        String::from_utf8(plain).map_err(|_| StorageError::CorruptSealed(place()))
    }
}

fn aad(table: &str, column: &str) -> String {
    format!("veille:{table}.{column}")
}

/// The key id of a sealed value.
fn key_id(stored: &str) -> Option<&str> {
    stored.strip_prefix(PREFIX)?.split_once(':').map(|(id, _)| id)
}

/// The SQL condition "the value starts with `prefix`" (exact and case
/// sensitive on both engines, unlike `LIKE` on SQLite).
fn starts(column: &str, prefix: &str) -> String {
    format!("substr({column}, 1, {}) = '{prefix}'", prefix.len())
}

/// One sealed value of the database, if any (whose key id says which key the
/// database needs).
pub async fn any_sealed(db: &Db) -> Result<Option<String>> {
    for place in places() {
        let sql = format!(
            "SELECT {c} AS v FROM {t} WHERE {rows} AND {s} LIMIT 1",
            c = place.column,
            t = place.table,
            rows = place.rows(),
            s = starts(place.column, PREFIX)
        );
        if let Some(row) = sqlx::query(&sql).fetch_optional(db.pool()).await? {
            let v: String = row.try_get("v")?;
            return Ok(key_id(&v).map(str::to_owned));
        }
    }
    Ok(None)
}

/// Refuses a ring that cannot open the database: a value sealed with a key
/// id the ring lacks ([`StorageError::MissingFieldKey`], naming the id), or a
/// key of the ring that does not open a value sealed under its id
/// ([`StorageError::FieldKeyRejected`]: a wrong key). Never shows a value.
pub async fn check(db: &Db, ring: &KeyRing) -> Result<()> {
    for place in places() {
        let (c, t, rows) = (place.column, place.table, place.rows());
        let known: Vec<String> = ring.ids().iter().map(|id| format!(" AND NOT {}", starts(c, &format!("{PREFIX}{id}:")))).collect();
        let sql = format!("SELECT {c} AS v FROM {t} WHERE {rows} AND {}{} LIMIT 1", starts(c, PREFIX), known.concat());
        if let Some(row) = sqlx::query(&sql).fetch_optional(db.pool()).await? {
            let v: String = row.try_get("v")?;
            return Err(match key_id(&v) {
                Some(id) => StorageError::MissingFieldKey(id.to_owned()),
                None => StorageError::CorruptSealed(format!("{t}.{c}")),
            });
        }
        for id in ring.ids() {
            let sql = format!("SELECT {c} AS v FROM {t} WHERE {rows} AND {} LIMIT 1", starts(c, &format!("{PREFIX}{id}:")));
            if let Some(row) = sqlx::query(&sql).fetch_optional(db.pool()).await? {
                let v: String = row.try_get("v")?;
                ring.open(t, c, &v)?;
            }
        }
    }
    Ok(())
}

/// Which values [`reseal`] seals again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reseal {
    /// Values written before encryption at rest (no prefix).
    Plaintext,
    /// Every value not sealed with the newest key (rotation).
    NotNewest,
}

/// Seals again, with the ring's newest key, the values `which` chooses, in
/// batches of `batch` rows, each batch its own transaction (a value changed
/// meanwhile is left to the next batch): stopped at any point, it resumes
/// where it was. Calls `progress` after each batch with the place and the
/// values done there so far; returns the number of values sealed.
pub async fn reseal(db: &Db, which: Reseal, batch: usize, mut progress: impl FnMut(&Place, u64)) -> Result<u64> {
    let ring = db.ring()?;
    let mut total = 0;
    for place in places() {
        let (c, t, k) = (place.column, place.table, place.key);
        let pending = match which {
            Reseal::Plaintext => format!("NOT {}", starts(c, PREFIX)),
            Reseal::NotNewest => format!("NOT {}", starts(c, &format!("{PREFIX}{}:", ring.newest()))),
        };
        let sql = format!("SELECT {k} AS k, {c} AS v FROM {t} WHERE {} AND {pending} ORDER BY {k} LIMIT {}", place.rows(), batch.max(1));
        let update = format!("UPDATE {t} SET {c} = $1 WHERE {k} = $2 AND {c} = $3");
        let mut done = 0u64;
        loop {
            let rows = sqlx::query(&sql).fetch_all(db.pool()).await?;
            if rows.is_empty() {
                break;
            }
            let mut tx = db.begin().await?;
            for row in &rows {
                let (key, value): (String, String) = (row.try_get("k")?, row.try_get("v")?);
                let sealed = ring.seal(t, c, &ring.open(t, c, &value)?)?;
                done += sqlx::query(&update).bind(sealed).bind(key).bind(value).execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            progress(&place, done);
        }
        total += done;
    }
    Ok(total)
}

/// The values of a sealed column as stored, for checks and tests that the
/// database holds no clear text.
pub async fn stored_values(db: &Db, table: &str, column: &str) -> Result<Vec<String>> {
    let place = places().into_iter().find(|p| p.table == table && p.column == column).ok_or(StorageError::NotFound)?;
    let sql = format!("SELECT {column} AS v FROM {} WHERE {}", place.table, place.rows());
    sqlx::query(&sql).fetch_all(db.pool()).await?.iter().map(|r| Ok(r.try_get::<String, _>("v")?)).collect()
}

/// The ring, shared by the clones of a [`Db`] (set once the key file is read).
pub(crate) type Shared = Arc<std::sync::RwLock<Option<Arc<KeyRing>>>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(ids: &[&str]) -> KeyRing {
        let lines: Vec<String> =
            ids.iter().map(|id| format!("{id}:{}", base64::engine::general_purpose::STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng)))).collect();
        KeyRing::parse(&lines.join("\n")).unwrap()
    }

    #[test]
    fn seals_and_opens_bound_to_its_column() {
        let r = ring(&["k1"]);
        let s = r.seal("person_health", "notes", "PLANT-secret").unwrap();
        assert!(s.starts_with("enc1:k1:") && !s.contains("PLANT"));
        assert_ne!(s, r.seal("person_health", "notes", "PLANT-secret").unwrap(), "a random nonce each time");
        assert_eq!(r.open("person_health", "notes", &s).unwrap(), "PLANT-secret");
        assert!(matches!(r.open("encounter_care", "notes", &s), Err(StorageError::FieldKeyRejected { .. })));
        assert_eq!(r.open("person_health", "notes", "before").unwrap(), "before");
    }

    #[test]
    fn the_newest_seals_and_every_key_opens() {
        let old = ring(&["k1"]);
        let s = old.seal("operations", "legal_frame", "x").unwrap();
        let line = KeyRing::new_key_line(Some(&old), 5);
        assert!(line.starts_with("k5:"));
        // A ring with a different key under the same id: a wrong key, told as such.
        let other = ring(&["k1", "k2"]);
        assert!(matches!(other.open("operations", "legal_frame", &s), Err(StorageError::FieldKeyRejected { key, .. }) if key == "k1"));
        let missing = ring(&["k2"]);
        assert!(matches!(missing.open("operations", "legal_frame", &s), Err(StorageError::MissingFieldKey(id)) if id == "k1"));
        assert_eq!(other.newest(), "k2");
    }

    #[test]
    fn parse_skips_comments_even_with_commas() {
        let line = KeyRing::new_key_line(None, 7);
        let r = KeyRing::parse(&format!("# a comment: with, commas\n{line}\n")).unwrap();
        assert_eq!(r.ids(), vec!["k7"]);
    }

    #[test]
    fn parse_refuses_bad_entries_without_showing_them() {
        for bad in ["", "k1", "K1:AAAA", "k1:notbase64!", "k1:AAAA"] {
            let e = KeyRing::parse(bad).unwrap_err();
            assert!(!e.contains("AAAA") && !e.contains("notbase64"), "{e}");
        }
    }

    #[test]
    fn every_table_with_sealed_values_names_its_row_key() {
        let places = places();
        for p in &places {
            assert!(ROW_KEYS.iter().any(|(t, _)| *t == p.table), "{} holds sealed values: add its row key to ROW_KEYS", p.table);
        }
        for want in
            [("person_health", "notes"), ("person_health", "flags"), ("encounter_care", "notes"), ("operations", "legal_frame"), ("person_notes", "body")]
        {
            assert!(places.iter().any(|p| (p.table, p.column) == want), "{want:?}");
        }
    }
}
