//! Webhook endpoints and the outbox (docs/webhooks.md). Admins register an endpoint per
//! agency (`register`), rotate its secret, disable and re-enable it, and redeliver a message;
//! each is one audited transaction. Every referral change calls `stage` inside its own
//! transaction: it announces the change to subscribers and writes one outbox message per
//! enabled endpoint of the referral's agency that takes the event, so a committed change
//! always has its messages and a rolled-back one never does. `services::webhook_worker`
//! delivers them.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use entities::{referral, webhook_endpoint, webhook_message};
use sea_orm::Set;
use serde_json::json;

use crate::config::WebhookSettings;
use crate::domain::referral::ReferralStatus;
use crate::domain::webhook_event::{self, EventType};
use crate::domain::{validate, webhook_signature, webhook_url};
use crate::errors::{ApiError, ApiResult};
use crate::repo::audit::Actor;
use crate::repo::feed::ReferralNotice;
use crate::repo::{self, Db, WriteTxn};
use crate::services::audited::{self, Change};

/// How long the secret before a rotation still signs messages.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// The body of an event: the Standard Webhooks envelope (`type`, `timestamp`, `data`) with
/// ids, code, status and milestone dates; never a client reference or a note.
pub fn payload(event: EventType, r: &referral::Model, previous: Option<ReferralStatus>, at: DateTime<Utc>) -> String {
    json!({
        "type": event.as_str(),
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "data": {
            "referralId": r.id.to_string(),
            "code": r.code,
            "agencyId": r.agency_id.to_string(),
            "groupId": r.group_id.to_string(),
            "status": r.status,
            "previousStatus": previous,
            "referredOn": r.referred_on,
            "acknowledgedOn": r.acknowledged_on,
            "contactedOn": r.contacted_on,
            "attendedOn": r.attended_on,
            "retainedOn": r.retained_on,
            "endedOn": r.ended_on,
            "endReason": r.end_reason,
            "refusalReason": r.refusal_reason,
            "updatedAt": r.updated_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    })
    .to_string()
}

/// Announces a change of referral `r` (from `previous`; `None` when it was created) in `txn`:
/// to subscribers at commit, and to the agency's webhook endpoints through the outbox.
pub async fn stage(txn: &WriteTxn, r: &referral::Model, previous: Option<ReferralStatus>) -> ApiResult<()> {
    let event = EventType::of_change(previous, r.status);
    let notice = ReferralNotice::of(r);
    let now = Utc::now();
    let change = repo::webhooks::OutboxChange {
        agency_id: r.agency_id,
        referral_id: r.id,
        event_type: event.as_str(),
        payload: payload(event, r, previous, now),
        at: now,
        notice: serde_json::to_string(&notice).map_err(|e| ApiError::Internal(e.into()))?,
    };
    repo::webhooks::enqueue_change(&**txn, &change).await?;
    txn.announce(notice);
    Ok(())
}

/// A new endpoint as an admin asks for it.
pub struct NewEndpoint {
    pub agency_id: i64,
    pub url: String,
    pub event_types: BTreeSet<EventType>,
    pub description: Option<String>,
}

/// Checks the URL against the SSRF guard (BAD_USER_INPUT on `field`).
async fn checked_url(field: &str, url: &str, settings: &WebhookSettings) -> ApiResult<String> {
    let url = validate::required_text(field, url, 2000)?;
    let parsed = webhook_url::check(&url, settings.allow_private).await.map_err(|reason| ApiError::bad_input(field, reason))?;
    Ok(parsed.to_string())
}

/// Registers an endpoint; returns it with its secret (shown this once).
pub async fn register(
    db: &Db,
    actor: &Actor,
    new: NewEndpoint,
    settings: &WebhookSettings,
) -> ApiResult<(webhook_endpoint::Model, String)> {
    if new.event_types.is_empty() {
        return Err(ApiError::bad_input("eventTypes", "name at least one event type"));
    }
    let url = checked_url("url", &new.url, settings).await?;
    let description = validate::optional_text("description", new.description.as_deref(), 500)?;
    let txn = db.begin_write().await?;
    if !repo::agencies::exists(&*txn, new.agency_id).await? {
        return Err(ApiError::not_found("agency"));
    }
    let secret = webhook_signature::new_secret();
    let now = Utc::now();
    let model = webhook_endpoint::ActiveModel {
        agency_id: Set(new.agency_id),
        url: Set(url.clone()),
        description: Set(description),
        event_types: Set(webhook_event::store(&new.event_types)),
        secret: Set(secret.clone()),
        enabled: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let endpoint = repo::webhooks::insert_endpoint(&*txn, model).await?;
    let payload = json!({ "agencyId": endpoint.agency_id, "url": url, "eventTypes": endpoint.event_types });
    audited::commit(txn, actor, Change::new("webhook_endpoint.create", "webhook_endpoint", endpoint.id, payload)).await?;
    Ok((endpoint, secret))
}

/// A new secret for an endpoint; the old one keeps signing for `ROTATION_OVERLAP`.
pub async fn rotate_secret(db: &Db, actor: &Actor, id: i64) -> ApiResult<(webhook_endpoint::Model, String)> {
    let txn = db.begin_write().await?;
    let current = repo::webhooks::endpoint(&*txn, id).await?;
    let secret = webhook_signature::new_secret();
    let now = Utc::now();
    let model = webhook_endpoint::ActiveModel {
        id: Set(id),
        secret: Set(secret.clone()),
        previous_secret: Set(Some(current.secret)),
        previous_secret_expires_at: Set(Some(now + ROTATION_OVERLAP)),
        updated_at: Set(now),
        ..Default::default()
    };
    let endpoint = repo::webhooks::update_endpoint(&*txn, model).await?;
    let payload = json!({ "previousSecretValidUntil": now + ROTATION_OVERLAP });
    audited::commit(txn, actor, Change::new("webhook_endpoint.rotate_secret", "webhook_endpoint", id, payload)).await?;
    Ok((endpoint, secret))
}

/// Enables or disables an endpoint (an admin's decision; re-enabling forgets past failures).
pub async fn set_enabled(db: &Db, actor: &Actor, id: i64, enabled: bool, reason: Option<String>) -> ApiResult<webhook_endpoint::Model> {
    let reason = validate::optional_text("reason", reason.as_deref(), 500)?;
    let txn = db.begin_write().await?;
    repo::webhooks::endpoint(&*txn, id).await?;
    let now = Utc::now();
    let model = webhook_endpoint::ActiveModel {
        id: Set(id),
        enabled: Set(enabled),
        disabled_at: Set((!enabled).then_some(now)),
        disabled_reason: Set(if enabled { None } else { Some(reason.clone().unwrap_or_else(|| format!("disabled by {}", actor.subject))) }),
        failing_since: Set(None),
        updated_at: Set(now),
        ..Default::default()
    };
    let endpoint = repo::webhooks::update_endpoint(&*txn, model).await?;
    let action = if enabled { "webhook_endpoint.enable" } else { "webhook_endpoint.disable" };
    audited::commit(txn, actor, Change::new(action, "webhook_endpoint", id, json!({ "reason": reason }))).await?;
    db.feed().wake_worker();
    Ok(endpoint)
}

/// Puts a message back in the queue, due now, under its same `webhook-id`.
pub async fn redeliver(db: &Db, actor: &Actor, message_id: i64) -> ApiResult<webhook_message::Model> {
    let txn = db.begin_write().await?;
    let message = repo::webhooks::message(&*txn, message_id).await?;
    if message.claim_expires_at.is_some_and(|until| until > Utc::now()) {
        return Err(ApiError::Conflict("the message is being delivered right now; look again in a moment".into()));
    }
    repo::webhooks::requeue(&*txn, message_id, Utc::now()).await?;
    let payload = json!({ "endpointId": message.endpoint_id, "msgId": message.msg_id });
    audited::commit(txn, actor, Change::new("webhook_message.redeliver", "webhook_message", message_id, payload)).await?;
    db.feed().wake_worker();
    repo::webhooks::message(db.conn(), message_id).await
}
