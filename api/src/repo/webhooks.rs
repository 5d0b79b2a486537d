//! Webhook endpoints, the outbox of messages and the delivery log (docs/webhooks.md).
//!
//! `claim` is the work queue: it marks up to `limit` due messages as this worker's until
//! `claim_expires_at`, never two of one referral to one endpoint at once (so each referral's
//! events arrive in order), and on PostgreSQL skips rows another process is claiming
//! (`FOR UPDATE SKIP LOCKED`), so several processes share the work without waiting.

use chrono::{DateTime, Utc};
use entities::enums::WebhookState;
use entities::{webhook_attempt, webhook_endpoint, webhook_message};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Set, Statement,
};

use crate::errors::{ApiError, ApiResult};

pub async fn insert_endpoint(db: &impl ConnectionTrait, model: webhook_endpoint::ActiveModel) -> ApiResult<webhook_endpoint::Model> {
    Ok(model.insert(db).await?)
}

pub async fn endpoint(db: &impl ConnectionTrait, id: i64) -> ApiResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("webhook endpoint"))
}

/// The endpoints of one agency, or of all, oldest first.
pub async fn endpoints(db: &impl ConnectionTrait, agency_id: Option<i64>) -> ApiResult<Vec<webhook_endpoint::Model>> {
    let mut q = webhook_endpoint::Entity::find().order_by_asc(webhook_endpoint::Column::Id);
    if let Some(id) = agency_id {
        q = q.filter(webhook_endpoint::Column::AgencyId.eq(id));
    }
    Ok(q.all(db).await?)
}

pub async fn update_endpoint(db: &impl ConnectionTrait, model: webhook_endpoint::ActiveModel) -> ApiResult<webhook_endpoint::Model> {
    Ok(model.update(db).await?)
}

/// A referral change, for the outbox and the feed.
pub struct OutboxChange {
    pub agency_id: i64,
    pub referral_id: i64,
    /// `referral.created`, …
    pub event_type: &'static str,
    /// The body to post.
    pub payload: String,
    pub at: DateTime<Utc>,
    /// The `ReferralNotice` as JSON (PostgreSQL: the `NOTIFY` payload).
    pub notice: String,
}

/// One message per enabled endpoint of the agency that takes the event, with a fresh
/// `msg_` + 32 hex digits id each; `$1` referral, `$2` event type, `$3` payload, `$4` time,
/// `$5` agency, `$6` the event type as a `LIKE` pattern over the comma-separated list.
const ENQUEUE_SQL: &str = "INSERT INTO webhook_messages (msg_id, endpoint_id, referral_id, event_type, payload, created_at, state, attempts, next_attempt_at) SELECT {msg_id}, e.id, $1, $2, $3, $4, 'PENDING', 0, $4 FROM webhook_endpoints e WHERE e.agency_id = $5 AND e.enabled AND (',' || e.event_types || ',') LIKE $6";

/// Writes a change's messages to the outbox, in the transaction of the change, in one
/// statement (one round trip per change, whatever the number of endpoints, none if there is
/// no endpoint). On PostgreSQL the same statement sends the change's `NOTIFY` (`$7` channel,
/// `$8` notice), which PostgreSQL delivers to every listening process at commit.
pub async fn enqueue_change(db: &impl ConnectionTrait, c: &OutboxChange) -> ApiResult<()> {
    let backend = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = vec![
        c.referral_id.into(),
        c.event_type.into(),
        c.payload.clone().into(),
        c.at.into(),
        c.agency_id.into(),
        format!("%,{},%", c.event_type).into(),
    ];
    let sql = match backend {
        DatabaseBackend::Postgres => {
            values.extend([crate::repo::feed::CHANNEL.into(), c.notice.clone().into()]);
            let insert = ENQUEUE_SQL.replace("{msg_id}", "'msg_' || replace(gen_random_uuid()::text, '-', '')");
            format!("WITH queued AS ({insert} RETURNING 1) SELECT pg_notify($7, $8)")
        }
        _ => ENQUEUE_SQL.replace("{msg_id}", "'msg_' || lower(hex(randomblob(16)))").replace('$', "?"),
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}

/// A claimed message with what its delivery needs.
pub struct Claimed {
    pub message: webhook_message::Model,
    pub endpoint: webhook_endpoint::Model,
}

/// The claim statement: `$1` worker, `$2` claim expiry, `$3` now, `$4` limit.
const CLAIM_SQL: &str = "UPDATE webhook_messages SET claimed_by = $1, claim_expires_at = $2 \
WHERE id IN (\
 SELECT m.id FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id \
 WHERE m.state = 'PENDING' AND m.next_attempt_at <= $3 AND e.enabled \
 AND (m.claim_expires_at IS NULL OR m.claim_expires_at < $3) \
 AND NOT EXISTS (SELECT 1 FROM webhook_messages p WHERE p.endpoint_id = m.endpoint_id \
 AND p.referral_id = m.referral_id AND p.state = 'PENDING' AND p.id < m.id) \
 ORDER BY m.id LIMIT $4{lock}) RETURNING *";

/// Whether any message is due (a read, so that an idle worker never takes the write lock).
pub async fn any_due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> ApiResult<bool> {
    Ok(webhook_message::Entity::find()
        .select_only()
        .column(webhook_message::Column::Id)
        .filter(webhook_message::Column::State.eq(WebhookState::Pending))
        .filter(webhook_message::Column::NextAttemptAt.lte(now))
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}

/// Claims up to `limit` due messages for `worker` until `until`.
pub async fn claim(
    db: &impl ConnectionTrait,
    worker: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u32,
) -> ApiResult<Vec<Claimed>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => CLAIM_SQL.replace("{lock}", " FOR UPDATE OF m SKIP LOCKED"),
        // SQLite: `?N` parameters; one writer at a time, so no row locks are needed.
        _ => CLAIM_SQL.replace("{lock}", "").replace('$', "?"),
    };
    let values: Vec<sea_orm::Value> = vec![worker.into(), until.into(), now.into(), i64::from(limit).into()];
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut messages = rows.iter().map(|row| webhook_message::Model::from_query_result(row, "")).collect::<Result<Vec<_>, _>>()?;
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    messages.sort_by_key(|m| m.id);
    let endpoint_ids: Vec<i64> = messages.iter().map(|m| m.endpoint_id).collect();
    let endpoints: std::collections::HashMap<i64, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(endpoint_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    Ok(messages
        .into_iter()
        .filter_map(|m| endpoints.get(&m.endpoint_id).cloned().map(|endpoint| Claimed { message: m, endpoint }))
        .collect())
}

/// What one attempt came to, and what follows for the message and its endpoint.
pub struct AttemptRecord {
    pub message_id: i64,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    /// The message's new state and, when PENDING, its next attempt.
    pub state: WebhookState,
    pub next_attempt_at: DateTime<Utc>,
}

/// Logs attempts and updates their messages (releasing the claims).
pub async fn record_attempts(db: &impl ConnectionTrait, records: &[AttemptRecord]) -> ApiResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let log = records.iter().map(|r| webhook_attempt::ActiveModel {
        message_id: Set(r.message_id),
        attempt: Set(r.attempt),
        at: Set(r.at),
        status_code: Set(r.status_code),
        error: Set(r.error.clone()),
        duration_ms: Set(r.duration_ms),
        ..Default::default()
    });
    webhook_attempt::Entity::insert_many(log).exec_without_returning(db).await?;
    // Delivered messages: one statement per status code (usually one per round).
    let mut delivered: std::collections::BTreeMap<Option<i32>, Vec<i64>> = std::collections::BTreeMap::new();
    for r in records.iter().filter(|r| r.state == WebhookState::Delivered) {
        delivered.entry(r.status_code).or_default().push(r.message_id);
    }
    if let Some(at) = records.first().map(|r| r.at) {
        for (status, ids) in delivered {
            webhook_message::Entity::update_many()
                .col_expr(webhook_message::Column::State, Expr::value(WebhookState::Delivered))
                .col_expr(webhook_message::Column::Attempts, Expr::col(webhook_message::Column::Attempts).add(1))
                .col_expr(webhook_message::Column::LastStatusCode, Expr::value(status))
                .col_expr(webhook_message::Column::LastError, Expr::value(Option::<String>::None))
                .col_expr(webhook_message::Column::DeliveredAt, Expr::value(Some(at)))
                .col_expr(webhook_message::Column::ClaimedBy, Expr::value(Option::<String>::None))
                .col_expr(webhook_message::Column::ClaimExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(webhook_message::Column::Id.is_in(ids))
                .exec(db)
                .await?;
        }
    }
    for r in records.iter().filter(|r| r.state != WebhookState::Delivered) {
        update_failed(db, r).await?;
    }
    Ok(())
}

/// Updates a message after a failed attempt (PENDING with its next attempt, or FAILED),
/// releasing its claim.
async fn update_failed(db: &impl ConnectionTrait, r: &AttemptRecord) -> ApiResult<()> {
    webhook_message::Entity::update_many()
        .col_expr(webhook_message::Column::State, Expr::value(r.state))
        .col_expr(webhook_message::Column::Attempts, Expr::col(webhook_message::Column::Attempts).add(1))
        .col_expr(webhook_message::Column::NextAttemptAt, Expr::value(r.next_attempt_at))
        .col_expr(webhook_message::Column::LastStatusCode, Expr::value(r.status_code))
        .col_expr(webhook_message::Column::LastError, Expr::value(r.error.clone()))
        .col_expr(webhook_message::Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(webhook_message::Column::ClaimExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(webhook_message::Column::Id.eq(r.message_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A page of an endpoint's messages, newest first, before the id `before`.
pub async fn messages(
    db: &impl ConnectionTrait,
    endpoint_id: i64,
    state: Option<WebhookState>,
    before: Option<i64>,
    first: u64,
) -> ApiResult<(Vec<webhook_message::Model>, bool)> {
    let mut q = webhook_message::Entity::find().filter(webhook_message::Column::EndpointId.eq(endpoint_id));
    if let Some(state) = state {
        q = q.filter(webhook_message::Column::State.eq(state));
    }
    if let Some(id) = before {
        q = q.filter(webhook_message::Column::Id.lt(id));
    }
    let mut rows = q.order_by_desc(webhook_message::Column::Id).limit(first + 1).all(db).await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok((rows, has_next))
}

pub async fn message(db: &impl ConnectionTrait, id: i64) -> ApiResult<webhook_message::Model> {
    webhook_message::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("webhook delivery"))
}

/// The attempts of messages, oldest first.
pub async fn attempts(db: &impl ConnectionTrait, message_ids: &[i64]) -> ApiResult<Vec<webhook_attempt::Model>> {
    Ok(webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::MessageId.is_in(message_ids.iter().copied()))
        .order_by_asc(webhook_attempt::Column::Id)
        .all(db)
        .await?)
}

/// Puts a message back in the queue, due now (an admin's redelivery).
pub async fn requeue(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> ApiResult<()> {
    webhook_message::Entity::update_many()
        .col_expr(webhook_message::Column::State, Expr::value(WebhookState::Pending))
        .col_expr(webhook_message::Column::NextAttemptAt, Expr::value(now))
        .col_expr(webhook_message::Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(webhook_message::Column::ClaimExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(webhook_message::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
