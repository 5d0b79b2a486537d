//! `webhook_endpoints` table: where an agency's referral events are posted (docs/webhooks.md).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agency_id: i64,
    pub url: String,
    pub description: Option<String>,
    /// The event types sent here, comma-separated (`referral.created,referral.status_changed`).
    pub event_types: String,
    /// `whsec_` + base64 of the signing key. Shown once, never logged or returned again.
    pub secret: String,
    /// The secret before the last rotation: messages carry its signature too until
    /// `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub enabled: bool,
    pub disabled_at: Option<DateTimeUtc>,
    /// Why the endpoint was disabled (by an admin, or after failing for a day).
    pub disabled_reason: Option<String>,
    /// The first failed attempt since the last success.
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
