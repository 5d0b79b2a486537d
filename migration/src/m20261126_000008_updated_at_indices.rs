//! Indices for incremental sync: `groups(filter: { updatedSince })`, `programs(updatedSince:)`
//! and `referrals(filter: { updatedSince })` select by `updated_at`, and with
//! `orderBy: UPDATED_AT` page by (`updated_at`, `id`). Without them a sync that asks for the
//! few rows changed since its last run reads the whole table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Groups {
    Table,
}

#[derive(DeriveIden)]
enum Programs {
    Table,
}

#[derive(DeriveIden)]
enum Referrals {
    Table,
}

const GROUPS_INDEX: &str = "idx_groups_updated_at";
const PROGRAMS_INDEX: &str = "idx_programs_updated_at";
const REFERRALS_INDEX: &str = "idx_referrals_updated_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(crate::index(Groups::Table, GROUPS_INDEX, &["updated_at", "id"])).await?;
        manager.create_index(crate::index(Programs::Table, PROGRAMS_INDEX, &["updated_at"])).await?;
        manager.create_index(crate::index(Referrals::Table, REFERRALS_INDEX, &["updated_at", "id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(REFERRALS_INDEX).table(Referrals::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name(PROGRAMS_INDEX).table(Programs::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name(GROUPS_INDEX).table(Groups::Table).to_owned()).await
    }
}
