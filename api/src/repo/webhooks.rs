//! Webhook endpoints, the outbox of messages and the delivery log (docs/webhooks.md).
//!
//! `claim` is the work queue: it marks up to `limit` due messages as this worker's until
//! `claim_expires_at`, never two of one referral to one endpoint at once (so each referral's
//! events arrive in order), and on PostgreSQL skips rows another process is claiming
//! (`FOR UPDATE SKIP LOCKED`), so several processes share the work without waiting.

use chrono::{DateTime, Utc};
use entities::enums::WebhookState;
use entities::{webhook_attempt, webhook_endpoint, webhook_message};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
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

/// The enabled endpoints of an agency (what a referral change is announced to).
pub async fn enabled_endpoints(db: &impl ConnectionTrait, agency_id: i64) -> ApiResult<Vec<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::AgencyId.eq(agency_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(db)
        .await?)
}

pub async fn update_endpoint(db: &impl ConnectionTrait, model: webhook_endpoint::ActiveModel) -> ApiResult<webhook_endpoint::Model> {
    Ok(model.update(db).await?)
}

/// Writes messages to the outbox (in the transaction of the change they announce).
pub async fn enqueue(db: &impl ConnectionTrait, messages: Vec<webhook_message::ActiveModel>) -> ApiResult<()> {
    if !messages.is_empty() {
        webhook_message::Entity::insert_many(messages).exec_without_returning(db).await?;
    }
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
 ORDER BY m.id LIMIT $4{lock}) RETURNING id";

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
    let ids = rows.iter().map(|r| r.try_get::<i64>("", "id")).collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let messages = webhook_message::Entity::find()
        .filter(webhook_message::Column::Id.is_in(ids))
        .order_by_asc(webhook_message::Column::Id)
        .all(db)
        .await?;
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
    for r in records {
        update_message(db, r).await?;
    }
    Ok(())
}

/// Updates a message after an attempt, releasing its claim.
async fn update_message(db: &impl ConnectionTrait, r: &AttemptRecord) -> ApiResult<()> {
    let delivered = (r.state == WebhookState::Delivered).then_some(r.at);
    webhook_message::Entity::update_many()
        .col_expr(webhook_message::Column::State, Expr::value(r.state))
        .col_expr(webhook_message::Column::Attempts, Expr::value(r.attempt))
        .col_expr(webhook_message::Column::NextAttemptAt, Expr::value(r.next_attempt_at))
        .col_expr(webhook_message::Column::LastStatusCode, Expr::value(r.status_code))
        .col_expr(webhook_message::Column::LastError, Expr::value(r.error.clone()))
        .col_expr(webhook_message::Column::DeliveredAt, Expr::value(delivered))
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
