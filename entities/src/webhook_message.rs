//! `webhook_messages` table: the outbox. One row per event and endpoint, written in the
//! transaction of the change it announces; also the delivery queue (docs/webhooks.md).

use sea_orm::entity::prelude::*;

use crate::enums::WebhookState;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt, for the receiver's de-duplication.
    pub msg_id: String,
    pub endpoint_id: i64,
    /// Messages of one referral to one endpoint are delivered in `id` order.
    pub referral_id: i64,
    pub event_type: String,
    /// The exact body posted (and signed).
    pub payload: String,
    pub created_at: DateTimeUtc,
    pub state: WebhookState,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// The worker holding the message, until `claim_expires_at`.
    pub claimed_by: Option<String>,
    pub claim_expires_at: Option<DateTimeUtc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
