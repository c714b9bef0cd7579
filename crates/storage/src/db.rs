//! Connection, engine selection, migrations, transactions.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Result, StorageError};
use crate::field_keys::KeyRing;

/// The database engine behind a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (one file, WAL, synchronous=FULL).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Chooses the engine from the URL scheme; unknown schemes are refused.
    pub fn from_url(url: &str) -> Result<Self> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(StorageError::UnsupportedScheme(other.to_owned())),
        }
    }
    /// The engine of a connection (of the pool, or a transaction's).
    pub fn of(c: &AnyConnection) -> Self {
        if c.backend_name().eq_ignore_ascii_case("postgresql") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
    /// The engine name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A pool of connections to the one database of the instance.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time: write transactions of this process
    /// queue here, in order, instead of spinning in SQLite's busy handler
    /// (which sleeps up to 100 ms between tries and let a later writer
    /// overtake an earlier one). `None` on PostgreSQL, whose row locks
    /// serialise only what conflicts.
    writer: Option<Arc<Semaphore>>,
    /// The keys sealing the sensitive field groups (shared by the clones of
    /// this `Db`; set once the keys are read, see `crate::field_keys`).
    keys: crate::field_keys::Shared,
}

/// The pool options of PostgreSQL: at most `connections` connections, each
/// without JIT compilation of queries (the figures' reads at a million
/// encounters are estimated costly enough to be compiled, and compiling
/// took longer than running them: 700 ms of one 1.7 s read; decision 98).
fn postgres_pool(connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(connections).after_connect(|conn, _| {
        Box::pin(async move {
            conn.execute("SET jit = off").await?;
            Ok(())
        })
    })
}

/// How long a write transaction waits for its turn before giving up with
/// [`StorageError::Busy`] (as SQLite's own `busy_timeout`).
const WRITER_WAIT: Duration = Duration::from_secs(10);

/// A write transaction (on SQLite it holds the process's writer turn until
/// committed, rolled back or dropped). Storage functions reach the
/// connection with `&mut **tx`.
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<OwnedSemaphorePermit>,
    keys: Option<Arc<KeyRing>>,
}

impl Tx {
    /// The field keys of the `Db` this transaction began on.
    pub(crate) fn ring(&self) -> Result<Arc<KeyRing>> {
        self.keys.clone().ok_or(StorageError::NoFieldKeys)
    }

    /// Commits; the writer turn is released after the commit.
    pub async fn commit(self) -> Result<()> {
        Ok(self.inner.commit().await?)
    }

    /// Rolls back explicitly (dropping a `Tx` rolls back too).
    pub async fn rollback(self) -> Result<()> {
        Ok(self.inner.rollback().await?)
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}

/// The migrations of both engines, embedded by `build.rs`: (file name, SQL).
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// Embedded migration files, resolved as `sqlx::migrate!` resolves a directory:
/// `<version>_<description>.sql`, the description with spaces for `_`, and
/// `-- no-transaction` at the top opting out of the transaction.
#[derive(Debug)]
struct Embedded(Vec<(&'static str, &'static str)>);

impl<'s> sqlx::migrate::MigrationSource<'s> for Embedded {
    #[allow(clippy::type_complexity)]
    fn resolve(
        self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>> + Send + 's>> {
        Box::pin(async move { resolve(&self.0) })
    }
}

fn resolve(files: &[(&'static str, &'static str)]) -> std::result::Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError> {
    use sqlx::migrate::{Migration, MigrationType};
    let mut out = Vec::new();
    for (name, sql) in files {
        let Some((version, rest)) = name.split_once('_') else { continue };
        let version: i64 = version.parse().map_err(|_| format!("migration {name}: no version"))?;
        let kind = MigrationType::from_filename(rest);
        let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
        out.push(Migration::new(version, description.into(), kind, (*sql).into(), sql.starts_with("-- no-transaction")));
    }
    out.sort_by_key(|m| m.version);
    Ok(out)
}

/// SQLite keeps no planner statistics of a table under this many rows.
/// Statistics taken of a small table stay until the next refresh however
/// fast it grows, and SQLite then plans it as small: a table analysed at 8
/// rows was scanned whole at 100,000 instead of searched through its index.
/// Without statistics SQLite supposes a table large and uses its indexes,
/// right for a small table too (a scan of it costs little either way).
pub const STATISTICS_MIN_ROWS: i64 = 10_000;

impl Db {
    /// Connects to `url` (`sqlite://PATH` creates the file if missing).
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    // Reads through a memory map of the file (pages shared
                    // with the kernel's cache) instead of copying each page
                    // into SQLite's own 2 MiB cache: the figures' random
                    // reads at a million encounters took a third less time
                    // (decision 98). Up to SQLite's largest map, 2 GiB: with
                    // 1 GiB, a generated instance of 1.4 GB read the pages
                    // past the map one call each, and its activity report
                    // took 1.5× as long (decision 104). Writes still go
                    // through the WAL; an acknowledged write is durable as
                    // before.
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                 PRAGMA mmap_size = 2147418112;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => postgres_pool(16).connect_with(options).await?,
        };
        let writer = (backend == Backend::Sqlite).then(|| Arc::new(Semaphore::new(1)));
        Ok(Self { pool, backend, writer, keys: Default::default() })
    }

    /// Gives this `Db` and its clones the keys sealing the sensitive field
    /// groups (replacing any ring set before).
    pub fn set_field_keys(&self, ring: KeyRing) {
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(ring));
    }

    /// A `Db` of the same database and field keys with a pool of its own, of
    /// at most `connections` connections made when first used — so on the
    /// runtime that uses them, whose own I/O driver then serves their sockets
    /// (decision 120). SQLite's `Db` is shared as it is: its connections
    /// run on threads of their own, and its writers take turns through the
    /// one writer's turn of the process.
    pub fn apart(&self, connections: u32) -> Db {
        match self.backend {
            Backend::Sqlite => self.clone(),
            Backend::Postgres => Db {
                pool: postgres_pool(connections).connect_lazy_with((*self.pool.connect_options()).clone()),
                backend: self.backend,
                writer: None,
                keys: self.keys.clone(),
            },
        }
    }

    /// The field keys, if set.
    pub fn field_keys(&self) -> Option<Arc<KeyRing>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The field keys, required to seal or open a sensitive value.
    pub(crate) fn ring(&self) -> Result<Arc<KeyRing>> {
        self.field_keys().ok_or(StorageError::NoFieldKeys)
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for read queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies pending migrations of this engine.
    pub async fn migrate(&self) -> Result<()> {
        let files = match self.backend {
            Backend::Sqlite => embedded::SQLITE,
            Backend::Postgres => embedded::POSTGRES,
        };
        sqlx::migrate::Migrator::new(Embedded(files.to_vec())).await?.run(&self.pool).await?;
        Ok(())
    }

    /// Applies the migrations up to `version` included, and no further: the
    /// tests of a data migration fill a database as it was before it.
    pub async fn migrate_until(&self, version: i64) -> Result<()> {
        let files = match self.backend {
            Backend::Sqlite => embedded::SQLITE,
            Backend::Postgres => embedded::POSTGRES,
        };
        let upto: Vec<(&'static str, &'static str)> =
            files.iter().copied().filter(|(name, _)| name.split('_').next().and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v <= version)).collect();
        sqlx::migrate::Migrator::new(Embedded(upto)).await?.run(&self.pool).await?;
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write never fails with SQLITE_BUSY.
    /// Write transactions of this process take their turn first (see
    /// `Db::writer`), fairly, in arrival order.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.writer {
            Some(writer) => {
                let turn =
                    tokio::time::timeout(WRITER_WAIT, writer.clone().acquire_owned()).await.map_err(|_| StorageError::Busy)?.map_err(|_| StorageError::Busy)?;
                Tx { inner: self.pool.begin_with("BEGIN IMMEDIATE").await?, _turn: Some(turn), keys: self.field_keys() }
            }
            None => Tx { inner: self.pool.begin().await?, _turn: None, keys: self.field_keys() },
        })
    }

    /// Starts a read transaction for a read that runs beside others of the
    /// same request, each on a connection of its own (`tokio::try_join!`):
    /// on PostgreSQL without parallel workers (`SET LOCAL
    /// max_parallel_workers_per_gather = 0`), since the reads already share
    /// the cores and one read's workers took them from the others
    /// (`/reports/stats` at 200,000 reports on two cores: p50 170 → 145 ms;
    /// decision 106). Not for every read: the list pages, one read each, took
    /// up to twice as long without workers (`/reports` 78 → 159 ms).
    pub async fn begin_beside(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0").execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// Runs one write statement alone, in its own transaction and, on
    /// SQLite, in the writer's turn like every other write. A statement
    /// sent straight to the pool would wait on SQLite's busy handler
    /// instead, which turn-taking writers committing back to back (a worker
    /// expiring thousands of referrals one by one) can starve past its
    /// timeout: the page whose session is touched then fails with
    /// "database is locked". Returns the rows it changed.
    pub async fn execute_alone<'q>(&self, q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let done = q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Refreshes the query planner's statistics where they are missing or
    /// stale. SQLite plans from `sqlite_stat1` and `sqlite_stat4`: without
    /// them it took an organisation's reports for a few of the table and
    /// went through an index, row by row, for 184,000 of 200,000 reports
    /// (the queue 844 → 77 ms at that size with statistics, decision 99).
    /// `PRAGMA optimize=0x10002` analyses the tables never analysed or much
    /// changed since, reading a bounded sample of each (SQLite's advice for
    /// long-lived connections: at start, then every few hours); the small
    /// tables' statistics are then dropped ([`STATISTICS_MIN_ROWS`]). On
    /// PostgreSQL this is autovacuum's work: nothing.
    pub async fn refresh_statistics(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => self.sqlite_statistics("PRAGMA optimize=0x10002").await,
            Backend::Postgres => Ok(()),
        }
    }

    /// Gathers the planner's statistics of every table, after a bulk load:
    /// `ANALYZE` on SQLite (the small tables' then dropped, as
    /// [`Db::refresh_statistics`] does); `VACUUM (ANALYZE)` on PostgreSQL,
    /// what autovacuum does after such a load when it is on and has come
    /// round: with the statistics, the visibility map, without which no scan
    /// reads an index alone (a month's files met at a million encounters
    /// read every encounter, 420 → 310 ms). It neither locks out reads nor
    /// writes, and runs outside any transaction.
    pub async fn gather_statistics(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => self.sqlite_statistics("ANALYZE").await,
            Backend::Postgres => sqlx::query("VACUUM (ANALYZE)").persistent(false).execute(&self.pool).await.map(drop).map_err(Into::into),
        }
    }

    /// Runs `analysis` (which writes SQLite's statistics tables) and drops
    /// the statistics of the tables under [`STATISTICS_MIN_ROWS`], in one
    /// transaction in the writer's turn; then this connection reads the
    /// statistics again (the others when they next load the schema).
    async fn sqlite_statistics(&self, analysis: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(analysis).execute(&mut *tx).await?;
        let stat1: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetch_one(&mut *tx).await?;
        if stat1 > 0 {
            // A table's rows: the largest count of its entries (a partial
            // index counts only the rows it holds; a table without index has
            // one entry of its own).
            let small = format!("SELECT tbl FROM sqlite_stat1 GROUP BY tbl HAVING MAX(CAST(stat AS INTEGER)) < {STATISTICS_MIN_ROWS}");
            let stat4: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat4'").fetch_one(&mut *tx).await?;
            if stat4 > 0 {
                sqlx::query(&format!("DELETE FROM sqlite_stat4 WHERE tbl IN ({small})")).execute(&mut *tx).await?;
            }
            sqlx::query(&format!("DELETE FROM sqlite_stat1 WHERE tbl IN ({small})")).execute(&mut *tx).await?;
            sqlx::query("ANALYZE sqlite_schema").execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reads back the durability settings and refuses weaker ones than
    /// promised: WAL and synchronous=FULL on SQLite; fsync and
    /// synchronous_commit on PostgreSQL.
    pub async fn check_durability(&self) -> Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        match self.backend {
            Backend::Sqlite => {
                let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&self.pool).await?;
                let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&self.pool).await?;
                let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&self.pool).await?;
                found.push(("journal_mode".into(), mode.clone()));
                found.push(("synchronous".into(), sync.to_string()));
                found.push(("foreign_keys".into(), fk.to_string()));
                if !mode.eq_ignore_ascii_case("wal") || sync < 2 || fk != 1 {
                    return Err(StorageError::UnsafeDurability(format!("journal_mode={mode}, synchronous={sync}, foreign_keys={fk}")));
                }
            }
            Backend::Postgres => {
                for setting in ["fsync", "synchronous_commit"] {
                    let value: String = sqlx::query_scalar(&format!("SHOW {setting}")).fetch_one(&self.pool).await?;
                    found.push((setting.into(), value.clone()));
                    if value != "on" {
                        return Err(StorageError::UnsafeDurability(format!("{setting}={value}")));
                    }
                }
            }
        }
        Ok(found)
    }

    /// What to tell the operator when PostgreSQL keeps no planner statistics
    /// of its own: veille leaves them to autovacuum, and without it the plans
    /// made while a table was small stay in use as it grows (a report's
    /// reports-nearby read scanning every report: docs/benchmarks.md). None on
    /// SQLite, whose instance refreshes its own ([`Db::refresh_statistics`]).
    pub async fn statistics_warning(&self) -> Result<Option<String>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        for setting in ["autovacuum", "track_counts"] {
            let value: String = sqlx::query_scalar(&format!("SHOW {setting}")).fetch_one(&self.pool).await?;
            if value != "on" {
                return Ok(Some(format!(
                    "PostgreSQL runs with {setting}={value}: its planner statistics are not kept as tables grow; turn autovacuum on, or run VACUUM (ANALYZE) regularly"
                )));
            }
        }
        Ok(None)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Reads back an optional instant.
pub(crate) fn instant(v: Option<i64>) -> Option<veille_domain::Timestamp> {
    v.map(veille_domain::Timestamp::from_micros)
}

/// The tables whose rows carry a version for optimistic concurrency: two
/// people editing one record never silently overwrite each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Versioned {
    /// Signalements: the first change by a person also acknowledges it.
    Reports,
    /// Sites.
    Sites,
    /// Rounds.
    Rounds,
    /// Person files.
    People,
    /// Households.
    Households,
    /// Referrals.
    Referrals,
    /// Shelter facilities.
    Facilities,
    /// Stays.
    Stays,
    /// The waiting list.
    ShelterRequests,
    /// Operations on sites.
    Operations,
    /// Housing First dwellings.
    Dwellings,
    /// Follow-up actions.
    Actions,
    /// Complex cases.
    Cases,
    /// Meetings.
    Meetings,
}

impl Versioned {
    fn table(self) -> &'static str {
        match self {
            Versioned::Reports => "reports",
            Versioned::Sites => "sites",
            Versioned::Rounds => "rounds",
            Versioned::People => "people",
            Versioned::Households => "households",
            Versioned::Referrals => "referrals",
            Versioned::Facilities => "facilities",
            Versioned::Stays => "stays",
            Versioned::ShelterRequests => "shelter_requests",
            Versioned::Operations => "operations",
            Versioned::Dwellings => "dwellings",
            Versioned::Actions => "actions",
            Versioned::Cases => "cases",
            Versioned::Meetings => "meetings",
        }
    }
    /// What else a change sets on the row.
    fn also(self) -> &'static str {
        match self {
            Versioned::Reports => ", acknowledged_at = COALESCE(acknowledged_at, $1)",
            _ => "",
        }
    }
}

/// Optimistic concurrency, the one helper: moves row `id` to its next
/// version if it is still at `version`; `StaleVersion` when someone changed
/// it since it was read.
pub(crate) async fn claim(tx: &mut Tx, what: Versioned, id: impl ToString, version: i64, now: veille_domain::Timestamp) -> Result<()> {
    let sql = format!("UPDATE {} SET version = version + 1, updated_at = $1{} WHERE id = $2 AND version = $3", what.table(), what.also());
    let done = sqlx::query(&sql).bind(now.as_micros()).bind(id.to_string()).bind(version).execute(&mut **tx).await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::StaleVersion);
    }
    Ok(())
}

/// A nullable float as a bind parameter that works on both engines: bound as
/// text and written `CAST($n AS DOUBLE PRECISION)` in the SQL. sqlx 0.8.6's
/// `Any` driver declares a `None::<f64>` as FLOAT4 on PostgreSQL
/// (sqlx-core `any/arguments.rs` swaps `Real` and `Double` for nulls), so a
/// statement first run with a null float refuses a real one afterwards on the
/// same connection ("incorrect binary data format").
pub(crate) fn real_text(v: Option<f64>) -> Option<String> {
    v.filter(|x| x.is_finite()).map(|x| x.to_string())
}

/// Encodes a boolean as the 0/1 integer both engines store.
pub(crate) fn b(v: bool) -> i64 {
    i64::from(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded migrations are exactly what sqlx reads from the
    /// directories (version, description, checksum, transaction), so databases
    /// migrated before the embedding see no change.
    #[tokio::test]
    async fn embedded_migrations_are_the_files_as_sqlx_reads_them() {
        for (engine, files) in [("sqlite", embedded::SQLITE), ("postgres", embedded::POSTGRES)] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(engine);
            let from_dir = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
            let embedded = sqlx::migrate::Migrator::new(Embedded(files.to_vec())).await.unwrap();
            let key = |m: &sqlx::migrate::Migration| (m.version, m.description.to_string(), m.checksum.to_vec(), m.no_tx, m.sql.to_string());
            let (a, b): (Vec<_>, Vec<_>) = (from_dir.iter().map(key).collect(), embedded.iter().map(key).collect());
            assert!(a.len() >= 9, "{engine}: {} migrations", a.len());
            assert_eq!(a, b, "{engine}");
        }
    }

    /// A table filled and never analysed gets SQLite's planner statistics
    /// from the instance's periodic refresh (decision 99), a small one none
    /// (it would be planned as small however fast it grew), and a second
    /// refresh with nothing changed leaves them as they are.
    #[tokio::test]
    async fn refreshing_statistics_analyses_the_large_tables_never_analysed() {
        let path = std::env::temp_dir().join(format!("veille-statistics-{}.db", uuid::Uuid::now_v7()));
        let db = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        for (table, rows) in [("filled", 20_000), ("few", 8)] {
            sqlx::query(&format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY, organisation TEXT NOT NULL)")).execute(db.pool()).await.unwrap();
            sqlx::query(&format!("CREATE INDEX {table}_organisation ON {table} (organisation)")).execute(db.pool()).await.unwrap();
            // A partial index holding a few rows of a large table: the table is not small for it.
            sqlx::query(&format!("CREATE INDEX {table}_first ON {table} (id) WHERE id <= 5")).execute(db.pool()).await.unwrap();
            sqlx::query(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
                 INSERT INTO {table} (organisation) SELECT CASE WHEN i % 10 = 0 THEN 'b' ELSE 'a' END FROM n"
            ))
            .execute(db.pool())
            .await
            .unwrap();
        }
        let stat = |db: Db| async move {
            let found: Vec<(String, String, String)> =
                sqlx::query_as("SELECT tbl, idx, stat FROM sqlite_stat1 ORDER BY tbl, idx").fetch_all(db.pool()).await.unwrap_or_default();
            found
        };
        assert!(stat(db.clone()).await.is_empty(), "nothing analysed yet");
        db.refresh_statistics().await.unwrap();
        let first = stat(db.clone()).await;
        assert!(first.iter().any(|(t, idx, stat)| t == "filled" && idx == "filled_organisation" && stat.starts_with("20000 ")), "{first:?}");
        assert!(first.iter().any(|(t, idx, stat)| t == "filled" && idx == "filled_first" && stat.starts_with("5 ")), "{first:?}");
        assert!(first.iter().all(|(t, _, _)| t != "few"), "{first:?}");
        db.refresh_statistics().await.unwrap();
        assert_eq!(stat(db.clone()).await, first);
        db.gather_statistics().await.unwrap();
        assert_eq!(stat(db.clone()).await, first, "a full analysis keeps the same rule");
        db.pool().close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[test]
    fn chooses_engine_from_scheme() {
        assert_eq!(Backend::from_url("sqlite://veille.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgres://127.0.0.1/test").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("postgresql://x/y").unwrap(), Backend::Postgres);
        assert!(matches!(Backend::from_url("mysql://x"), Err(StorageError::UnsupportedScheme(s)) if s == "mysql"));
    }

    /// The committed per-engine files are exactly what the templates give:
    /// nobody edits a generated file by hand, and no template is left
    /// ungenerated.
    #[test]
    fn migrations_are_generated_from_their_templates() {
        let root = env!("CARGO_MANIFEST_DIR");
        let out = std::env::temp_dir().join(format!("veille-migrations-{}", uuid::Uuid::now_v7()));
        let status = std::process::Command::new("bash")
            .arg(format!("{root}/../../scripts/gen-migrations.sh"))
            .arg(&out)
            .status()
            .expect("bash runs scripts/gen-migrations.sh");
        assert!(status.success());
        for engine in ["sqlite", "postgres"] {
            let committed = std::fs::read_dir(format!("{root}/migrations/{engine}")).unwrap().count();
            let generated = std::fs::read_dir(out.join(engine)).unwrap().count();
            assert_eq!(committed, generated, "{engine}: as many files as templates");
            for entry in std::fs::read_dir(out.join(engine)).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let want = std::fs::read_to_string(&path).unwrap();
                let have = std::fs::read_to_string(format!("{root}/migrations/{engine}/{name}")).unwrap_or_default();
                assert!(want == have, "{engine}/{name} differs from its template: run scripts/gen-migrations.sh");
            }
        }
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn migrations_are_in_step() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("sqlite"), names("postgres"));
    }
}
