//! Connecting to SQLite or PostgreSQL, running migrations, and write transactions.
//!
//! SQLite has one writer: write transactions take a process-wide lock first, so that two
//! writers of this process never race for the file lock, and begin IMMEDIATE, so that a
//! writer of another process (a second server, `seed-demo`, a backup) is waited for within
//! the busy timeout instead of failing with "database is locked" when a transaction that
//! began by reading tries to write. PostgreSQL needs no such lock: its transactions and row
//! locks do the work; every connection gets a statement and a lock timeout, so that a held
//! lock or a runaway statement ends in SERVICE_UNAVAILABLE, not in a stalled request.
//!
//! Migrations run under a lock (a PostgreSQL advisory lock; on SQLite, an exclusive lock on
//! a file beside the database), so that two processes starting at once both come up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::errors::{ApiError, ApiResult};
use crate::repo::feed::{Feed, ReferralNotice};
use crate::repo::group_commit::{GroupCommit, Job};

/// The shared database handle of the server.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// SQLite only: the one connection write transactions use.
    write_conn: Option<DatabaseConnection>,
    url: String,
    writer: Arc<Mutex<()>>,
    statements: Arc<AtomicU64>,
    /// Committed referral changes (`feed`), for subscriptions and the webhook worker.
    feed: Feed,
    /// The writer task of batched writes (`group_commit`), started on first use.
    group_commit: Arc<std::sync::Mutex<Option<GroupCommit>>>,
    /// Batches committed by the group commit, and the jobs in them (for `/metrics`).
    batches: Arc<[AtomicU64; 2]>,
    /// Funding-restriction ids by code, as read from committed data (`flags::ids_by_code_remembered`).
    pub(crate) flag_ids: Arc<std::sync::RwLock<std::collections::HashMap<String, i64>>>,
}

/// Reader connections of a SQLite database (it has one more, for writes). Each has a page
/// cache of its own (`.cargo/config.toml`); with 8 the server's peak RSS went from about 90
/// to 112-121 MiB for the same throughput on 2 cores (README, "SQLite plans each statement
/// once").
const SQLITE_READERS: u32 = 4;

impl Db {
    /// Connects, with WAL and a busy timeout on SQLite and statement and lock timeouts of
    /// `statement_timeout` on PostgreSQL, and counts every statement run. SQLite gets a pool
    /// of readers and one connection of its own for writes, so that a writer never waits for
    /// a connection behind a crowd of readers.
    pub async fn connect(url: &str, statement_timeout: Duration) -> anyhow::Result<Self> {
        let sqlite = url.starts_with("sqlite");
        let statements = Arc::new(AtomicU64::new(0));
        let conn = pool(url, statement_timeout, if sqlite { SQLITE_READERS } else { 16 }, &statements).await?;
        let write_conn = match sqlite {
            true => Some(pool(url, statement_timeout, 1, &statements).await?),
            false => None,
        };
        make_sqlite_files_private(url)?;
        Ok(Self {
            conn,
            write_conn,
            url: url.to_owned(),
            writer: Arc::new(Mutex::new(())),
            statements,
            feed: Feed::default(),
            group_commit: Arc::default(),
            batches: Arc::default(),
            flag_ids: Arc::default(),
        })
    }

    /// Applies the pending migrations, on one connection of their own: sea-orm-migration runs
    /// SQLite migrations statement by statement (no transaction), and spread over a pool, a
    /// statement can run on a connection whose view of the schema lags behind the previous
    /// statement's (seen as "index already exists" after a DROP).
    ///
    /// Under a lock: on PostgreSQL a session advisory lock held by that one connection, on
    /// SQLite an exclusive lock on `<database file>.migrate.lock`. A process that waits for
    /// the lock then finds the migrations applied and has nothing to do.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        // One connection, without a request's statement timeout (a backfill may take minutes).
        let conn = pool(&self.url, Duration::from_secs(3600), 1, &self.statements).await?;
        let result = match self.backend() {
            DatabaseBackend::Postgres => {
                let lock = |f: &str| Statement::from_string(DatabaseBackend::Postgres, format!("SELECT {f}({MIGRATION_LOCK_KEY})"));
                conn.execute_raw(lock("pg_advisory_lock")).await?;
                let result = Migrator::up(&conn, None).await;
                conn.execute_raw(lock("pg_advisory_unlock")).await.ok();
                result
            }
            _ => {
                let _lock = sqlite_migration_lock(&self.url).await?;
                let result = Migrator::up(&conn, None).await;
                make_sqlite_files_private(&self.url)?;
                result
            }
        };
        conn.close().await.ok();
        result?;
        Ok(())
    }

    /// Closes the pools (of every clone of this handle). Tests close before their runtime
    /// ends: a pool's maintenance task would otherwise spin while the runtime shuts down.
    pub async fn close(&self) {
        self.feed.close();
        if let Ok(mut group_commit) = self.group_commit.lock() {
            group_commit.take();
        }
        let _ = self.conn.clone().close().await;
        if let Some(write) = &self.write_conn {
            let _ = write.clone().close().await;
        }
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The feed of committed referral changes.
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// PostgreSQL: starts listening for other processes' changes (`feed::listen`).
    pub fn listen_for_changes(&self) {
        if self.backend() == DatabaseBackend::Postgres {
            tokio::spawn(crate::repo::feed::listen(self.url.clone(), self.feed.clone()));
        }
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// How many SQL statements this handle has run (for `/metrics` and the N+1 tests).
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Begins a write transaction (serialised in this process and IMMEDIATE on SQLite).
    pub async fn begin_write(&self) -> ApiResult<WriteTxn> {
        let (guard, txn) = match self.backend() {
            DatabaseBackend::Sqlite => {
                let guard = self.writer.clone().lock_owned().await;
                let options = TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
                (Some(guard), self.write_conn.as_ref().unwrap_or(&self.conn).begin_with_options(options).await?)
            }
            _ => (None, self.conn.begin().await?),
        };
        Ok(WriteTxn {
            txn,
            _guard: guard,
            notices: std::sync::Mutex::new(Vec::new()),
            feed: self.feed.clone(),
            audit_head: std::sync::Mutex::new(None),
        })
    }

    /// How many write transactions the group commit has run, and how many jobs they held.
    pub fn write_batches(&self) -> (u64, u64) {
        (self.batches[0].load(Ordering::Relaxed), self.batches[1].load(Ordering::Relaxed))
    }

    /// Counts one transaction of the group commit with `jobs` jobs.
    pub(crate) fn count_batch(&self, jobs: usize) {
        self.batches[0].fetch_add(1, Ordering::Relaxed);
        self.batches[1].fetch_add(jobs as u64, Ordering::Relaxed);
    }

    /// Runs `job` in a transaction shared with the other batched writes waiting at the same
    /// time (`repo::group_commit`), and returns its result once that transaction commits.
    pub async fn batched<T: Send + 'static>(&self, job: impl Job) -> ApiResult<T> {
        let queue = {
            let mut slot = self.group_commit.lock().map_err(|_| ApiError::Internal(anyhow::anyhow!("group commit lock poisoned")))?;
            slot.get_or_insert_with(|| GroupCommit::start(Self { group_commit: Arc::default(), ..self.clone() })).clone()
        };
        queue.submit(job).await
    }

    pub async fn ping(&self) -> bool {
        self.conn.ping().await.is_ok()
    }
}

/// A pool of at most `max` connections, counting its statements into `statements` and logging
/// the slow ones (SQL text only: bound values, which may be personal data, are not logged).
async fn pool(url: &str, statement_timeout: Duration, max: u32, statements: &Arc<AtomicU64>) -> anyhow::Result<DatabaseConnection> {
    if url.starts_with("sqlite") {
        crate::repo::sqlite_setup::install();
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    let ms = statement_timeout.as_millis().to_string();
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .max_connections(max)
        .min_connections(u32::from(max > 1))
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        })
        // Generic plans: sqlx prepares every statement once per connection, and PostgreSQL's
        // default then plans each execution again for its parameter values when it judges a
        // custom plan cheaper, as it did for the directory's page statements, whose planning
        // cost more than running them (EXPLAIN ANALYZE of query B's page: 0.6 ms planning,
        // 0.3 ms execution); docs/architecture.md has the measurements.
        .map_sqlx_postgres_opts(move |o| {
            o.options([("statement_timeout", ms.as_str()), ("lock_timeout", ms.as_str()), ("plan_cache_mode", "force_generic_plan")])
        });
    let mut conn = connect_retrying(opts).await?;
    let counter = statements.clone();
    let slow = Duration::from_millis(std::env::var("CIRCLES_SLOW_SQL_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(250));
    conn.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        if info.elapsed >= slow {
            tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, sql = %info.statement.sql, "slow SQL statement");
        }
    });
    Ok(conn)
}

/// Connects; on a busy SQLite file (another process switching a new database to WAL at the
/// same moment) tries again for up to five seconds.
async fn connect_retrying(opts: ConnectOptions) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut attempt = 0;
    loop {
        match Database::connect(opts.clone()).await {
            Err(err) if attempt < 50 && opts.get_url().starts_with("sqlite") && crate::errors::is_unavailable(&err) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// The advisory lock key of migrations ("circles" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x0063_6972_636c_6573;

/// Holds an exclusive lock on the file beside the SQLite database until dropped (waiting for
/// another process that holds it). In-memory databases need none.
async fn sqlite_migration_lock(url: &str) -> anyhow::Result<Option<std::fs::File>> {
    let Some(path) = sqlite_file(url) else { return Ok(None) };
    let lock_path = format!("{path}.migrate.lock");
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
        file.lock()?;
        Ok(file)
    })
    .await??;
    Ok(Some(file))
}

/// The file of a SQLite URL (`None` for PostgreSQL and in-memory SQLite).
pub fn sqlite_file(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.trim_start_matches("//").split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| path.to_owned())
}

/// `url` without its password, to print or log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Makes the SQLite database and its WAL and shared-memory files private (0600); SQLite
/// creates later WAL and SHM files with the database file's mode.
fn make_sqlite_files_private(url: &str) -> std::io::Result<()> {
    let Some(path) = sqlite_file(url) else { return Ok(()) };
    for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm"), format!("{path}.migrate.lock")] {
        if std::path::Path::new(&file).exists() {
            crate::config::restrict(std::path::Path::new(&file), 0o600)?;
        }
    }
    Ok(())
}

/// A write transaction; dropped without `commit`, it rolls back (and its notices are dropped).
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
    notices: std::sync::Mutex<Vec<ReferralNotice>>,
    feed: Feed,
    /// The audit chain's head as this transaction last appended it (`repo::audit::append`).
    audit_head: std::sync::Mutex<Option<(i64, String)>>,
}

impl WriteTxn {
    pub(crate) fn audit_head(&self) -> Option<(i64, String)> {
        self.audit_head.lock().ok().and_then(|h| h.clone())
    }

    pub(crate) fn set_audit_head(&self, seq: i64, hash: String) {
        if let Ok(mut head) = self.audit_head.lock() {
            *head = Some((seq, hash));
        }
    }

    /// Announces a referral change to this process once the transaction commits
    /// (`repo::feed`): on SQLite its subscribers get the notice, on PostgreSQL the webhook
    /// worker is woken (the notice itself goes to every process by the `NOTIFY` that
    /// `repo::webhooks::enqueue_change` sends in the transaction).
    pub fn announce(&self, notice: ReferralNotice) {
        if let Ok(mut notices) = self.notices.lock() {
            notices.push(notice);
        }
    }

    pub async fn commit(self) -> ApiResult<()> {
        let notices = self.notices.lock().map(|mut n| std::mem::take(&mut *n)).unwrap_or_default();
        // SQLite: the notices go to this process's feed (there is no other process to tell).
        let local = self.txn.get_database_backend() != DatabaseBackend::Postgres;
        self.txn.commit().await?;
        if local {
            for notice in notices {
                self.feed.publish(notice);
            }
        } else if !notices.is_empty() {
            // Every process hears the notices through LISTEN, this one too; wake the worker
            // here anyway, in case the listener is reconnecting.
            self.feed.wake_worker();
        }
        Ok(())
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_printed_without_passwords() {
        assert_eq!(redact_url("postgres://circles:s3cret@db:5432/circles"), "postgres://circles:***@db:5432/circles");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1/postgres"), "postgres://postgres@127.0.0.1/postgres");
        assert_eq!(redact_url("sqlite://./data/circles.db?mode=rwc"), "sqlite://./data/circles.db?mode=rwc");
        assert_eq!(sqlite_file("sqlite://./data/circles.db?mode=rwc").as_deref(), Some("./data/circles.db"));
        assert_eq!(sqlite_file("postgres://x@y/z"), None);
    }
}
