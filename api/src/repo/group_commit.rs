//! Group commit: concurrent writes of one kind share a write transaction, so that one
//! transaction, one hold of the audit chain's lock and one commit serve many requests
//! (docs/audit-chain.md). Each write still appends its own audit event to the one chain and
//! lands with it or not at all.
//!
//! A write is a [`Job`]: it runs inside the shared [`WriteTxn`] and gives back its result and
//! the audit events that record it. The batch runs every job's writes first, then appends all
//! their audit events at once (one read of the chain's head, which on PostgreSQL takes the
//! chain's lock, and one multi-row insert) and commits: the lock is held only for that tail.
//! Results reach their callers only after the commit.
//!
//! A job may end in an error the caller caused (BAD_USER_INPUT, CONFLICT, NOT_FOUND,
//! FORBIDDEN, ...) **only before it writes anything**; the others go on. Any other error (the
//! database's) may have left the transaction unusable (PostgreSQL aborts it), so the whole
//! batch is rolled back and every job of it runs again alone, in a transaction of its own, as
//! it would without batching; so does every job of a batch whose commit fails. A job
//! therefore may run twice, but its writes commit at most once.
//!
//! Writer tasks per [`Db`] handle ([`writers`]: several on PostgreSQL, so that one batch's
//! writes overlap another's chain append and commit; one on SQLite, which has one writer)
//! take the jobs in arrival order: a writer waits for one, then takes whatever else is
//! waiting, up to [`MAX_BATCH`]. Under light load a batch holds one job and costs what a
//! transaction of its own would.

use std::any::Any;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use sea_orm::DatabaseBackend;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::errors::{ApiError, ApiResult};
use crate::repo::audit;
use crate::repo::db::{Db, WriteTxn};

/// At most this many jobs share a transaction.
pub const MAX_BATCH: usize = 64;
/// Jobs waiting for a writer at most; more wait to be queued (back-pressure).
const QUEUE: usize = 1024;

/// The writer tasks of a database handle: `CIRCLES_DB_WRITERS` (1–64) on PostgreSQL, default
/// 2 (measured best of 1, 2, 4, 8 and 16 with 16 clients: docs/audit-chain.md); always one on SQLite, which has one writer.
pub fn writers(backend: DatabaseBackend) -> usize {
    match backend {
        DatabaseBackend::Postgres => {
            std::env::var("CIRCLES_DB_WRITERS").ok().and_then(|v| v.parse::<usize>().ok()).map_or(2, |n| n.clamp(1, 64))
        }
        _ => 1,
    }
}

/// The erased result of a job.
pub type Output = Box<dyn Any + Send>;

/// What a job wrote: the result for its caller and the audit events that record the change.
pub struct Written {
    pub output: Output,
    pub audit: Vec<audit::Entry>,
}

/// One write of a batch.
pub trait Job: Send + Sync + 'static {
    /// Writes inside `txn` (whose batch appends the audit events and commits).
    fn write<'a>(&'a self, txn: &'a WriteTxn) -> BoxFuture<'a, ApiResult<Written>>;
}

type Entry = (Arc<dyn Job>, oneshot::Sender<ApiResult<Output>>);

/// The queue of one database handle's batched writes.
#[derive(Clone)]
pub struct GroupCommit {
    tx: mpsc::Sender<Entry>,
}

impl GroupCommit {
    /// Starts the writer tasks over `db` (a handle without a group commit of its own, so that
    /// the tasks end when the last handle with this queue is dropped or closed).
    pub fn start(db: Db) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers(db.backend()) {
            tokio::spawn(run(db.clone(), rx.clone()));
        }
        Self { tx }
    }

    /// Runs `job` in the next batch and returns its result once the batch has committed.
    pub async fn submit<T: Send + 'static>(&self, job: impl Job) -> ApiResult<T> {
        let (reply, answer) = oneshot::channel();
        let lost = || ApiError::Internal(anyhow::anyhow!("the batch writer stopped"));
        self.tx.send((Arc::new(job), reply)).await.map_err(|_| lost())?;
        let output = answer.await.map_err(|_| lost())??;
        output.downcast::<T>().map(|b| *b).map_err(|_| ApiError::Internal(anyhow::anyhow!("a batched write returned another type")))
    }
}

/// The next batch: the first job to come, and whatever else waits.
async fn next_batch(rx: &Mutex<mpsc::Receiver<Entry>>) -> Option<Vec<Entry>> {
    let mut rx = rx.lock().await;
    let first = rx.recv().await?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(entry) => batch.push(entry),
            Err(_) => break,
        }
    }
    Some(batch)
}

async fn run(db: Db, rx: Arc<Mutex<mpsc::Receiver<Entry>>>) {
    while let Some(batch) = next_batch(&rx).await {
        db.count_batch(batch.len());
        // A job's caller may have gone away (a closed connection): its job still runs, as
        // it would have had it started already; only the answer is dropped.
        match batch.len() {
            1 => {
                for (job, reply) in batch {
                    let _ = reply.send(alone(&db, job.as_ref()).await);
                }
            }
            _ => together(&db, batch).await,
        }
    }
}

/// An error the caller caused, which a job returns before writing: the batch goes on.
fn callers_error(err: &ApiError) -> bool {
    !matches!(err, ApiError::Internal(_) | ApiError::Unavailable(_))
}

/// `job` in a transaction of its own.
async fn alone(db: &Db, job: &dyn Job) -> ApiResult<Output> {
    let txn = db.begin_write().await?;
    let written = job.write(&txn).await?;
    audit::append_many(&txn, &written.audit).await?;
    txn.commit().await?;
    Ok(written.output)
}

/// The jobs in one transaction; if a job fails with the database's error or the commit
/// fails, each job again alone.
async fn together(db: &Db, batch: Vec<Entry>) {
    let outputs = async {
        let txn = db.begin_write().await?;
        let mut outputs = Vec::with_capacity(batch.len());
        let mut events = Vec::with_capacity(batch.len());
        for (job, _) in &batch {
            match job.write(&txn).await {
                Ok(written) => {
                    events.extend(written.audit);
                    outputs.push(Ok(written.output));
                }
                Err(err) if !callers_error(&err) => return Err(err),
                Err(err) => outputs.push(Err(err)),
            }
        }
        audit::append_many(&txn, &events).await?;
        txn.commit().await?;
        Ok::<_, ApiError>(outputs)
    }
    .await;
    match outputs {
        Ok(outputs) => {
            for ((_, reply), output) in batch.into_iter().zip(outputs) {
                let _ = reply.send(output);
            }
        }
        Err(err) => {
            tracing::warn!(jobs = batch.len(), error = %err, "a batched write failed: running its jobs one by one");
            for (job, reply) in batch {
                let _ = reply.send(alone(db, job.as_ref()).await);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::Notify;

    use super::*;

    /// Creates an agency named `name`, after `gate` opens; refuses as the caller's error or
    /// fails as the database's when told to.
    struct NewAgency {
        name: String,
        gate: Option<Arc<Notify>>,
        fail: Option<fn() -> ApiError>,
    }

    impl Job for NewAgency {
        fn write<'a>(&'a self, txn: &'a WriteTxn) -> BoxFuture<'a, ApiResult<Written>> {
            Box::pin(async move {
                if let Some(gate) = &self.gate {
                    gate.notified().await;
                }
                if let Some(fail) = self.fail {
                    return Err(fail());
                }
                let agency = crate::repo::agencies::create(&**txn, self.name.clone()).await?;
                let audit = vec![audit::Entry {
                    actor: audit::Actor::system("test"),
                    action: "agency.create".into(),
                    entity_type: "agency".into(),
                    entity_id: agency.id.to_string(),
                    payload: serde_json::json!({ "name": agency.name }),
                }];
                Ok(Written { output: Box::new(agency.id), audit })
            })
        }
    }

    /// How a test job fails, if it does.
    type Failure = Option<fn() -> ApiError>;

    fn job(name: &str, fail: Failure) -> NewAgency {
        NewAgency { name: name.into(), gate: None, fail }
    }

    async fn database() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let db = Db::connect(&url, Duration::from_secs(5)).await.expect("connect");
        db.migrate().await.expect("migrate");
        (db, dir)
    }

    /// Submits a gated job named `gate`, waits until the writer holds it, submits `jobs` (they
    /// queue behind it), opens the gate, and returns the queued jobs' results.
    async fn queued_behind_a_gate(db: &Db, gate: &str, jobs: Vec<(&'static str, Failure)>) -> Vec<ApiResult<i64>> {
        let open = Arc::new(Notify::new());
        let first = {
            let (db, open, name) = (db.clone(), open.clone(), gate.to_owned());
            tokio::spawn(async move { db.batched::<i64>(NewAgency { name, gate: Some(open), fail: None }).await })
        };
        // The writer takes the gated job and waits at its gate; the next ones queue.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let queued: Vec<_> = jobs
            .into_iter()
            .map(|(name, fail)| {
                let db = db.clone();
                tokio::spawn(async move { db.batched::<i64>(job(name, fail)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        open.notify_one();
        assert!(first.await.expect("join").is_ok());
        futures_util::future::join_all(queued).await.into_iter().map(|r| r.expect("join")).collect()
    }

    /// Jobs that queue while a transaction runs share the next one; a caller's error leaves
    /// the others of its batch alone; a database error reruns each job of the batch alone, so
    /// every good write lands exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_jobs_share_a_transaction_and_failures_stay_their_own() {
        let (db, _dir) = database().await;
        let conflict: fn() -> ApiError = || ApiError::Conflict("refused".into());
        let broken: fn() -> ApiError = || ApiError::Internal(anyhow::anyhow!("the database failed"));
        let results = queued_behind_a_gate(&db, "first", vec![("a", None), ("b", Some(conflict)), ("c", None), ("d", None)]).await;
        assert!(results[0].is_ok() && results[2].is_ok() && results[3].is_ok(), "{results:?}");
        assert!(matches!(results[1], Err(ApiError::Conflict(_))), "{results:?}");
        assert_eq!(db.write_batches(), (2, 5), "the first alone, the four queued together");

        // A database error in a batch: the batch is rolled back and each job runs alone.
        let results = queued_behind_a_gate(&db, "blocker", vec![("e", None), ("f", Some(broken)), ("g", None)]).await;
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(matches!(results[1], Err(ApiError::Internal(_))), "{results:?}");
        let names: Vec<String> = crate::repo::agencies::list(db.conn(), None).await.expect("list").into_iter().map(|a| a.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, ["a", "blocker", "c", "d", "e", "first", "g"], "each good write once: {names:?}");
        let chain = audit::verify(db.conn()).await.expect("verify");
        assert_eq!((chain.checked, chain.first_break), (7, None), "one linked audit event per write");
        db.close().await;
    }
}
