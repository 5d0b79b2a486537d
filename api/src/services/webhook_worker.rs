//! The webhook delivery worker (docs/webhooks.md): one per server process (unless
//! `CIRCLES_WEBHOOK_WORKER=0`). It wakes when this process commits a change with messages,
//! when another process's change arrives through the feed, and every poll interval (retries,
//! and work another process left behind); then it claims due messages, posts each, signed,
//! to its endpoint, and records the attempt:
//!
//! - 2xx: DELIVERED; the endpoint's failure streak ends.
//! - anything else (a status, a timeout, a refused address): the next attempt after the
//!   retry schedule's delay (or the receiver's `Retry-After`), FAILED when the schedule is
//!   used up; an endpoint whose failures have lasted `disable_after`, or that answers
//!   410 Gone, is disabled with the reason.
//!
//! A process killed between claiming and recording leaves its claims to expire; another
//! worker then delivers those messages again under the same `webhook-id` (at least once).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use entities::enums::WebhookState;
use entities::webhook_endpoint;
use futures_util::future::join_all;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use sea_orm::Set;

use crate::config::WebhookSettings;
use crate::domain::{webhook_signature, webhook_url};
use crate::errors::ApiResult;
use crate::repo::webhooks::{AttemptRecord, Claimed};
use crate::repo::{self, Db, WriteTxn};

/// Messages claimed per round.
const BATCH: u32 = 256;
/// Requests a worker has open at once (receivers are not flooded with connections).
const CONCURRENCY: usize = 16;
/// How long a woken worker waits for more changes before it claims, so that a burst of
/// changes is claimed and recorded in a few transactions rather than one each.
const GATHER: Duration = Duration::from_millis(20);

/// Resolves endpoint hosts and refuses non-public addresses (DNS rebinding: the check at
/// registration is repeated for every connection).
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let ips: Vec<_> = addrs.iter().map(|a| a.ip()).collect();
            webhook_url::check_addresses(&ips, allow_private)
                .map_err(|reason| -> Box<dyn std::error::Error + Send + Sync> { reason.into() })?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client of deliveries: the timeout, no redirects (a 3xx is a failure, per the
/// spec), no proxy from the environment, and the guarded resolver.
pub fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow_private: settings.allow_private }))
        .build()
}

/// Starts the worker on this runtime; it ends when `db` is closed.
pub fn spawn(db: Db, settings: WebhookSettings) -> anyhow::Result<()> {
    let client = client(&settings)?;
    let worker_id = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
    tokio::spawn(async move {
        let feed = db.feed().clone();
        tokio::select! {
            () = run(&db, &client, &settings, &worker_id) => {}
            () = feed.closed() => {}
        }
    });
    Ok(())
}

async fn run(db: &Db, client: &reqwest::Client, settings: &WebhookSettings, worker_id: &str) {
    let wakeups = db.feed().wakeups();
    // Attempts made but not yet recorded: kept across a failed round, so that the next one
    // records them rather than letting their claims expire into a second delivery.
    let mut posted: Option<Posted> = None;
    loop {
        loop {
            match round(db, client, settings, worker_id, &mut posted).await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "webhook delivery round failed; trying again later");
                    break;
                }
            }
        }
        tokio::select! {
            () = wakeups.notified() => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(settings.poll_interval) => {}
        }
    }
}

/// The messages a round posted and what each attempt came to, recorded by the next round.
type Posted = (Vec<Claimed>, Vec<Attempt>);

/// One write transaction records the previous round's attempts (`posted`) and claims the
/// messages due now (one transaction per round, not two: on SQLite every one waits for the
/// single writer); then the claimed messages are posted, `CONCURRENCY` at a time, and left
/// in `posted` for the next round. Returns whether anything was claimed.
async fn round(
    db: &Db,
    client: &reqwest::Client,
    settings: &WebhookSettings,
    worker_id: &str,
    posted: &mut Option<Posted>,
) -> ApiResult<bool> {
    let now = Utc::now();
    if posted.is_none() && !repo::webhooks::any_due(db.conn(), now).await? {
        return Ok(false);
    }
    let until = now + chrono::Duration::from_std(settings.claim_ttl).unwrap_or(chrono::Duration::seconds(60));
    let txn = db.begin_write().await?;
    if let Some((claimed, attempts)) = posted.as_ref() {
        record(&txn, claimed, attempts, settings).await?;
    }
    let claimed = repo::webhooks::claim(&*txn, worker_id, now, until, BATCH).await?;
    txn.commit().await?;
    *posted = None;
    if claimed.is_empty() {
        return Ok(false);
    }
    let permits = tokio::sync::Semaphore::new(CONCURRENCY);
    let attempts = join_all(claimed.iter().map(|c| async {
        let _permit = permits.acquire().await.ok();
        post(client, c, settings.allow_private).await
    }))
    .await;
    *posted = Some((claimed, attempts));
    Ok(true)
}

/// What posting a message came to.
struct Attempt {
    status: Option<u16>,
    error: Option<String>,
    retry_after: Option<Duration>,
    elapsed: Duration,
}

impl Attempt {
    fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Signs and posts one message.
async fn post(client: &reqwest::Client, c: &Claimed, allow_private: bool) -> Attempt {
    let started = Instant::now();
    let failed = |error: String| Attempt { status: None, error: Some(error), retry_after: None, elapsed: started.elapsed() };
    // Address literals are not resolved, so the resolver cannot check them: check here.
    if let Err(reason) = webhook_url::check_form(&c.endpoint.url, allow_private) {
        return failed(format!("refused: {reason}"));
    }
    let timestamp = Utc::now().timestamp();
    let mut secrets = vec![c.endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) = (&c.endpoint.previous_secret, c.endpoint.previous_secret_expires_at)
        && until > Utc::now()
    {
        secrets.push(previous.as_str());
    }
    let signature = webhook_signature::header(&secrets, &c.message.msg_id, timestamp, &c.message.payload);
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, HeaderValue::from_static(concat!("Circles-Webhooks/", env!("CARGO_PKG_VERSION"))));
    for (name, value) in
        [("webhook-id", c.message.msg_id.clone()), ("webhook-timestamp", timestamp.to_string()), ("webhook-signature", signature)]
    {
        match HeaderValue::from_str(&value) {
            Ok(v) => {
                headers.insert(name, v);
            }
            Err(_) => return failed(format!("{name} is not a valid header value")),
        }
    }
    match client.post(&c.endpoint.url).headers(headers).body(c.message.payload.clone()).send().await {
        Ok(res) => {
            let status = res.status();
            let retry_after =
                res.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok()).map(Duration::from_secs);
            Attempt {
                status: Some(status.as_u16()),
                error: (!status.is_success()).then(|| format!("the receiver answered {status}")),
                retry_after,
                elapsed: started.elapsed(),
            }
        }
        Err(err) if err.is_timeout() => failed(format!("no answer within {:?}", started.elapsed())),
        Err(err) => failed(describe(&err)),
    }
}

/// The error and its causes, without the URL (which may carry a token in its path).
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_connect() { "could not connect".to_owned() } else { "the request failed".to_owned() };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What an attempt means for its message: delivered, tried again later, or failed for good.
fn record_of(c: &Claimed, a: &Attempt, now: chrono::DateTime<Utc>, settings: &WebhookSettings) -> AttemptRecord {
    let attempt = c.message.attempts + 1;
    let delivered = a.delivered();
    let next = (!delivered).then(|| settings.retry.delay_after(attempt as u32, rand::random_range(-1.0..=1.0), a.retry_after)).flatten();
    let state = match (delivered, next) {
        (true, _) => WebhookState::Delivered,
        (false, Some(_)) => WebhookState::Pending,
        (false, None) => WebhookState::Failed,
    };
    match (delivered, &a.error) {
        (true, _) => tracing::debug!(msg_id = %c.message.msg_id, endpoint = c.endpoint.id, attempt, "webhook delivered"),
        (false, error) => {
            tracing::info!(msg_id = %c.message.msg_id, endpoint = c.endpoint.id, attempt, error = ?error, next = ?next, "webhook attempt failed")
        }
    }
    AttemptRecord {
        message_id: c.message.id,
        attempt,
        at: now,
        status_code: a.status.map(i32::from),
        error: a.error.clone(),
        duration_ms: i32::try_from(a.elapsed.as_millis()).unwrap_or(i32::MAX),
        state,
        next_attempt_at: next.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| now + d).unwrap_or(now),
    }
}

/// Records a round's attempts in `txn`, schedules what follows, and updates each endpoint's
/// failure streak (a round with a success for an endpoint ends its streak).
async fn record(txn: &WriteTxn, claimed: &[Claimed], attempts: &[Attempt], settings: &WebhookSettings) -> ApiResult<()> {
    let now = Utc::now();
    let records: Vec<AttemptRecord> = claimed.iter().zip(attempts).map(|(c, a)| record_of(c, a, now, settings)).collect();
    repo::webhooks::record_attempts(&**txn, &records).await?;
    let mut endpoint_ids: Vec<i64> = claimed.iter().map(|c| c.endpoint.id).collect();
    endpoint_ids.sort_unstable();
    endpoint_ids.dedup();
    for id in endpoint_ids {
        let outcomes: Vec<&Attempt> = claimed.iter().zip(attempts).filter(|(c, _)| c.endpoint.id == id).map(|(_, a)| a).collect();
        let delivered = outcomes.iter().any(|a| a.delivered());
        let last_failure = outcomes.iter().rev().find(|a| !a.delivered());
        let status = if outcomes.iter().any(|a| a.status == Some(410)) { Some(410) } else { last_failure.and_then(|a| a.status) };
        let endpoint = repo::webhooks::endpoint(&**txn, id).await?;
        if let Some(update) = endpoint_after(&endpoint, delivered, status, last_failure.and_then(|a| a.error.as_deref()), now, settings) {
            repo::webhooks::update_endpoint(&**txn, update).await?;
        }
    }
    Ok(())
}

/// The endpoint's change after an attempt, if any: a success ends a failure streak; a
/// failure starts one, and disables the endpoint when it has lasted `disable_after` (or at
/// once on 410 Gone).
fn endpoint_after(
    e: &webhook_endpoint::Model,
    delivered: bool,
    status: Option<u16>,
    error: Option<&str>,
    now: chrono::DateTime<Utc>,
    settings: &WebhookSettings,
) -> Option<webhook_endpoint::ActiveModel> {
    let mut update = webhook_endpoint::ActiveModel { id: Set(e.id), updated_at: Set(now), ..Default::default() };
    if delivered {
        e.failing_since?;
        update.failing_since = Set(None);
        return Some(update);
    }
    let since = e.failing_since.unwrap_or(now);
    let lasted = (now - since).to_std().unwrap_or_default();
    let reason = if status == Some(410) {
        Some("the receiver answered 410 Gone".to_owned())
    } else if lasted >= settings.disable_after {
        Some(format!(
            "every delivery failed since {} (last: {})",
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            error.unwrap_or("unknown error")
        ))
    } else {
        None
    };
    match reason {
        Some(reason) if e.enabled => {
            tracing::warn!(endpoint = e.id, %reason, "webhook endpoint disabled");
            update.enabled = Set(false);
            update.disabled_at = Set(Some(now));
            update.disabled_reason = Set(Some(reason));
            update.failing_since = Set(Some(since));
            Some(update)
        }
        _ if e.failing_since.is_none() => {
            update.failing_since = Set(Some(now));
            Some(update)
        }
        _ => None,
    }
}
