//! Signed webhooks (docs/webhooks.md): the endpoints admins register per agency, the outbox
//! of messages written in the same transaction as the referral change they announce, and the
//! log of every delivery attempt.
//!
//! The outbox is also the work queue: a worker claims due messages (`claimed_by`,
//! `claim_expires_at`; on PostgreSQL with `FOR UPDATE SKIP LOCKED`), posts them and records
//! the attempt. A claim that is not released (a process killed mid-delivery) expires, and
//! another worker delivers the message again under the same `msg_id`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agencies {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    AgencyId,
    Url,
    Description,
    EventTypes,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    Enabled,
    DisabledAt,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookMessages {
    Table,
    Id,
    MsgId,
    EndpointId,
    ReferralId,
    EventType,
    Payload,
    CreatedAt,
    State,
    Attempts,
    NextAttemptAt,
    ClaimedBy,
    ClaimExpiresAt,
    LastStatusCode,
    LastError,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    MessageId,
    Attempt,
    At,
    StatusCode,
    Error,
    DurationMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(big_pk_auto(WebhookEndpoints::Id))
                    .col(big_integer(WebhookEndpoints::AgencyId))
                    .col(text(WebhookEndpoints::Url))
                    .col(text_null(WebhookEndpoints::Description))
                    .col(text(WebhookEndpoints::EventTypes))
                    .col(text(WebhookEndpoints::Secret))
                    .col(text_null(WebhookEndpoints::PreviousSecret))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretExpiresAt))
                    .col(boolean(WebhookEndpoints::Enabled).default(true))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::DisabledAt))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::FailingSince))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create().from(WebhookEndpoints::Table, WebhookEndpoints::AgencyId).to(Agencies::Table, Agencies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(crate::index(WebhookEndpoints::Table, "idx_webhook_endpoints_agency", &["agency_id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookMessages::Table)
                    .col(big_pk_auto(WebhookMessages::Id))
                    .col(string(WebhookMessages::MsgId).unique_key())
                    .col(big_integer(WebhookMessages::EndpointId))
                    .col(big_integer(WebhookMessages::ReferralId))
                    .col(string(WebhookMessages::EventType))
                    .col(text(WebhookMessages::Payload))
                    .col(timestamp_with_time_zone(WebhookMessages::CreatedAt))
                    .col(string(WebhookMessages::State))
                    .col(integer(WebhookMessages::Attempts).default(0))
                    .col(timestamp_with_time_zone(WebhookMessages::NextAttemptAt))
                    .col(string_null(WebhookMessages::ClaimedBy))
                    .col(timestamp_with_time_zone_null(WebhookMessages::ClaimExpiresAt))
                    .col(integer_null(WebhookMessages::LastStatusCode))
                    .col(text_null(WebhookMessages::LastError))
                    .col(timestamp_with_time_zone_null(WebhookMessages::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookMessages::Table, WebhookMessages::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The worker's scan (due pending messages) and the per-referral order check.
        manager.create_index(crate::index(WebhookMessages::Table, "idx_webhook_messages_due", &["state", "next_attempt_at"])).await?;
        manager
            .create_index(crate::index(WebhookMessages::Table, "idx_webhook_messages_order", &["endpoint_id", "referral_id", "state"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(big_pk_auto(WebhookAttempts::Id))
                    .col(big_integer(WebhookAttempts::MessageId))
                    .col(integer(WebhookAttempts::Attempt))
                    .col(timestamp_with_time_zone(WebhookAttempts::At))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(text_null(WebhookAttempts::Error))
                    .col(integer(WebhookAttempts::DurationMs))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::MessageId)
                            .to(WebhookMessages::Table, WebhookMessages::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(crate::index(WebhookAttempts::Table, "idx_webhook_attempts_message", &["message_id"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookAttempts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookMessages::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await?;
        Ok(())
    }
}
