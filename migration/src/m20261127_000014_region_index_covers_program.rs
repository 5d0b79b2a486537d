//! The directory's region index also holds `program_id`, so that counting a region's groups
//! under a funding-restriction filter (`totalCount` of `groups(filter: { region,
//! withoutFundingRestrictions })`, which tests `id` and `program_id`) reads the index alone.
//!
//! Before: PostgreSQL counted query A of `bench/load.sh` (no text) with a sequential scan of
//! the whole `groups` table, 5.2 ms over 10,000 demo groups; SQLite looked every row of the
//! region up in the table, 2.0 ms. With `program_id` at the end of the index: an index-only
//! scan, 0.7 ms and 0.23 ms. The leading columns (`status`, `region_key`, `name`, `id`) are
//! unchanged, so the region's pages still come in name order from the index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Groups {
    Table,
}

const BEFORE: &str = "idx_groups_status_region";
const AFTER: &str = "idx_groups_status_region_program";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::replace_index(manager, Groups::Table, BEFORE, AFTER, &["status", "region_key", "name", "id", "program_id"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::replace_index(manager, Groups::Table, AFTER, BEFORE, &["status", "region_key", "name", "id"]).await
    }
}
