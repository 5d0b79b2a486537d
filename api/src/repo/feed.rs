//! The feed of committed referral changes, for GraphQL subscriptions and to wake the webhook
//! worker (docs/webhooks.md; several processes: docs/configuration.md).
//!
//! A write transaction collects a `ReferralNotice` per referral it changes
//! (`WriteTxn::announce`); the notices go out only when it commits. On SQLite (one process)
//! they are published to this process's feed after the commit. On PostgreSQL they are sent
//! with `pg_notify` inside the transaction, which PostgreSQL delivers at commit to every
//! process listening (`listen`), this one included; so a subscriber connected to any
//! replica hears of a change made through any other. A notice carries ids and the state the
//! change left the referral in: subscribers read the referral under their own access rules
//! and see it as of that change.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entities::referral;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast, watch};

use crate::domain::referral::Milestones;
use crate::repo::referrals;

/// The PostgreSQL channel of referral notices.
pub const CHANNEL: &str = "circles_referrals";

/// Which referral changed, and the state the change left it in (never a client reference
/// or a note).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralNotice {
    pub referral_id: i64,
    pub agency_id: i64,
    pub group_id: i64,
    pub state: ReferralState,
}

/// What changes of a referral after it is created: its milestones (its status follows from
/// them) and `updated_at`. A subscriber reads the referral and lays this state over it, so
/// that it sees each change as it was made even when a later one has committed meanwhile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralState {
    pub milestones: Milestones,
    pub updated_at: DateTime<Utc>,
}

impl ReferralNotice {
    pub fn of(r: &referral::Model) -> Self {
        let state = ReferralState { milestones: referrals::milestones(r), updated_at: r.updated_at };
        Self { referral_id: r.id, agency_id: r.agency_id, group_id: r.group_id, state }
    }
}

impl ReferralState {
    /// `r` (read now) as this change left it.
    pub fn lay_over(&self, r: referral::Model) -> referral::Model {
        let mut r = referrals::with_milestones(r, &self.milestones);
        r.updated_at = self.updated_at;
        r
    }
}

/// This process's end of the feed.
#[derive(Clone)]
pub struct Feed {
    changes: broadcast::Sender<ReferralNotice>,
    /// Wakes the webhook worker when messages may be waiting.
    wake: Arc<Notify>,
    /// Set when the database handle closes: background tasks end.
    closed: watch::Sender<bool>,
}

impl Default for Feed {
    fn default() -> Self {
        Self { changes: broadcast::channel(1024).0, wake: Arc::new(Notify::new()), closed: watch::channel(false).0 }
    }
}

impl Feed {
    /// Notices from now on. A subscriber that falls more than 1024 notices behind skips
    /// the oldest (and is told so by `RecvError::Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<ReferralNotice> {
        self.changes.subscribe()
    }

    /// Hands a committed change to this process's subscribers and wakes the worker.
    pub fn publish(&self, notice: ReferralNotice) {
        let _ = self.changes.send(notice);
        self.wake.notify_one();
    }

    pub fn wake_worker(&self) {
        self.wake.notify_one();
    }

    /// What the webhook worker waits on.
    pub fn wakeups(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub fn close(&self) {
        let _ = self.closed.send(true);
    }

    /// Resolves when the database handle is closed.
    pub async fn closed(&self) {
        let mut rx = self.closed.subscribe();
        let _ = rx.wait_for(|closed| *closed).await;
    }
}

/// PostgreSQL: listens on `CHANNEL` and publishes what arrives, reconnecting after a lost
/// connection, until the feed is closed.
pub async fn listen(url: String, feed: Feed) {
    use sea_orm::sqlx::postgres::PgListener;
    let run = async {
        loop {
            let mut listener = match PgListener::connect(&url).await {
                Ok(l) => l,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for referral changes; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(err) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %err, "LISTEN failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            // Changes missed while reconnecting reach webhooks anyway (the outbox); wake the
            // worker in case.
            feed.wake_worker();
            loop {
                match listener.recv().await {
                    Ok(n) => match serde_json::from_str::<ReferralNotice>(n.payload()) {
                        Ok(notice) => feed.publish(notice),
                        Err(err) => tracing::warn!(error = %err, "unreadable referral notice"),
                    },
                    Err(err) => {
                        tracing::warn!(error = %err, "lost the LISTEN connection; reconnecting");
                        break;
                    }
                }
            }
        }
    };
    tokio::select! {
        () = run => {}
        () = feed.closed() => {}
    }
}
