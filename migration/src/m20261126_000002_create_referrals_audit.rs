//! Referrals, their append-only event log, and the hash-chained audit log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Referrals {
    Table,
    Id,
    Code,
    GroupId,
    AgencyId,
    ClinicianSubject,
    Channel,
    ConsentRecorded,
    ClientRefHash,
    Note,
    IdempotencyKey,
    RequestHash,
    Status,
    ReferredOn,
    ContactedOn,
    AttendedOn,
    RetainedOn,
    EndedOn,
    EndReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReferralEvents {
    Table,
    Id,
    ReferralId,
    At,
    ActorSubject,
    ActorRole,
    FromStatus,
    ToStatus,
    OccurredOn,
    Source,
    Note,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Seq,
    At,
    ActorSubject,
    ActorRole,
    Action,
    EntityType,
    EntityId,
    Payload,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Agencies {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Referrals::Table)
                    .col(big_pk_auto(Referrals::Id))
                    .col(string_len_uniq(Referrals::Code, 8))
                    .col(big_integer(Referrals::GroupId))
                    .col(big_integer(Referrals::AgencyId))
                    .col(string_len(Referrals::ClinicianSubject, 200))
                    .col(string_len(Referrals::Channel, 32))
                    .col(boolean(Referrals::ConsentRecorded))
                    .col(string_len(Referrals::ClientRefHash, 64))
                    .col(text_null(Referrals::Note))
                    .col(string_len_null(Referrals::IdempotencyKey, 200))
                    .col(string_len_null(Referrals::RequestHash, 64))
                    .col(string_len(Referrals::Status, 16))
                    .col(date(Referrals::ReferredOn))
                    .col(date_null(Referrals::ContactedOn))
                    .col(date_null(Referrals::AttendedOn))
                    .col(date_null(Referrals::RetainedOn))
                    .col(date_null(Referrals::EndedOn))
                    .col(string_len_null(Referrals::EndReason, 16))
                    .col(timestamp_with_time_zone(Referrals::CreatedAt))
                    .col(timestamp_with_time_zone(Referrals::UpdatedAt))
                    .foreign_key(ForeignKey::create().from(Referrals::Table, Referrals::GroupId).to(Groups::Table, Groups::Id))
                    .foreign_key(ForeignKey::create().from(Referrals::Table, Referrals::AgencyId).to(Agencies::Table, Agencies::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReferralEvents::Table)
                    .col(big_pk_auto(ReferralEvents::Id))
                    .col(big_integer(ReferralEvents::ReferralId))
                    .col(timestamp_with_time_zone(ReferralEvents::At))
                    .col(string_len(ReferralEvents::ActorSubject, 200))
                    .col(string_len(ReferralEvents::ActorRole, 16))
                    .col(string_len_null(ReferralEvents::FromStatus, 16))
                    .col(string_len(ReferralEvents::ToStatus, 16))
                    .col(date(ReferralEvents::OccurredOn))
                    .col(string_len_null(ReferralEvents::Source, 32))
                    .col(text_null(ReferralEvents::Note))
                    .foreign_key(
                        ForeignKey::create().from(ReferralEvents::Table, ReferralEvents::ReferralId).to(Referrals::Table, Referrals::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_integer(AuditEvents::Seq).primary_key())
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    .col(string_len(AuditEvents::ActorSubject, 200))
                    .col(string_len(AuditEvents::ActorRole, 16))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len(AuditEvents::EntityType, 32))
                    .col(string_len(AuditEvents::EntityId, 64))
                    .col(text(AuditEvents::Payload))
                    .col(string_len(AuditEvents::PrevHash, 64))
                    .col(string_len(AuditEvents::Hash, 64))
                    .to_owned(),
            )
            .await?;
        // One referral per (agency, idempotency key); NULL keys never collide.
        manager
            .create_index(
                Index::create()
                    .name("uq_referrals_agency_idempotency")
                    .table(Referrals::Table)
                    .col(Referrals::AgencyId)
                    .col(Referrals::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(Referrals::Table, "idx_referrals_agency_created", &["agency_id", "id"]),
            index(Referrals::Table, "idx_referrals_group", &["group_id", "id"]),
            index(Referrals::Table, "idx_referrals_client", &["agency_id", "client_ref_hash"]),
            index(Referrals::Table, "idx_referrals_referred_on", &["referred_on"]),
            index(ReferralEvents::Table, "idx_referral_events_referral", &["referral_id", "id"]),
            index(AuditEvents::Table, "idx_audit_events_entity", &["entity_type", "entity_id"]),
            index(AuditEvents::Table, "idx_audit_events_actor", &["actor_subject"]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [AuditEvents::Table.into_iden(), ReferralEvents::Table.into_iden(), Referrals::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
