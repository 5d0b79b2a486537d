//! Connecting to SQLite or PostgreSQL, running migrations, and write transactions.
//!
//! SQLite has one writer: write transactions take a process-wide lock first, so that two
//! writers never race for the file lock (and never fail with "database is locked").
//! PostgreSQL needs no such lock: its transactions and row locks do the work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::errors::ApiResult;

/// The shared database handle of the server.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    url: String,
    writer: Arc<Mutex<()>>,
    statements: Arc<AtomicU64>,
}

impl Db {
    /// Connects, with WAL and a busy timeout on SQLite, and counts every statement run.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(if url.starts_with("sqlite") { 8 } else { 16 })
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        let mut conn = Database::connect(opts).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        let slow = Duration::from_millis(std::env::var("CIRCLES_SLOW_SQL_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(250));
        conn.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            if info.elapsed >= slow {
                // The SQL text only: bound values (which may be personal data) are not logged.
                tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, sql = %info.statement.sql, "slow SQL statement");
            }
        });
        Ok(Self { conn, url: url.to_owned(), writer: Arc::new(Mutex::new(())), statements })
    }

    /// Applies the pending migrations. On SQLite they run on one connection of their own:
    /// sea-orm-migration runs SQLite migrations statement by statement (no transaction), and
    /// spread over a pool, a statement can run on a connection whose view of the schema
    /// lags behind the previous statement's (seen as "index already exists" after a DROP).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if self.backend() != DatabaseBackend::Sqlite {
            Migrator::up(&self.conn, None).await?;
            return Ok(());
        }
        let mut opts = ConnectOptions::new(self.url.clone());
        opts.sqlx_logging(false)
            .max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| o.journal_mode(SqliteJournalMode::Wal).busy_timeout(Duration::from_secs(10)).foreign_keys(true));
        let conn = Database::connect(opts).await?;
        let result = Migrator::up(&conn, None).await;
        conn.close().await.ok();
        result?;
        Ok(())
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// How many SQL statements this handle has run (for `/metrics` and the N+1 tests).
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Begins a write transaction (serialised on SQLite).
    pub async fn begin_write(&self) -> ApiResult<WriteTxn> {
        let guard = match self.backend() {
            DatabaseBackend::Sqlite => Some(self.writer.clone().lock_owned().await),
            _ => None,
        };
        let txn = self.conn.begin().await?;
        Ok(WriteTxn { txn, _guard: guard })
    }

    pub async fn ping(&self) -> bool {
        self.conn.ping().await.is_ok()
    }
}

/// A write transaction; dropped without `commit`, it rolls back.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub async fn commit(self) -> ApiResult<()> {
        self.txn.commit().await?;
        Ok(())
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
