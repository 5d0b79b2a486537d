//! SQLite: the directory's region index also holds `search_text`, so that a `text` search
//! within a region (query A of `bench/load.sh`) matches its words with `LIKE` over the
//! region's index entries, and its count reads that index alone.
//!
//! Before, such a search filtered the region index through the FTS5 trigram table of
//! migration 000013: the phrase query of a common word collects every group holding it, in
//! any region (`support`, a third of 10,000 demo groups: 1.4 ms before the region is
//! consulted), and that ran twice per page, for the count and for the rows. Over the region's
//! index entries (1,821 of them in Ontario, about 170 bytes of text each) the count takes
//! 0.6 ms instead of 2.6 ms and the page 0.04 ms instead of 1.7 ms (Python's `sqlite3`,
//! medians of 50 runs). Searches without a region, city or postal code still read the FTS5
//! table (`repo::group_search::text_condition`).
//!
//! PostgreSQL: nothing. Its GIN index of migration 000015 already narrows a region's text
//! search, and a B-tree entry is limited to about 2.7 kB, which a long description would
//! exceed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Groups {
    Table,
}

/// The region index of migration 000014.
const BEFORE: &str = "idx_groups_status_region_program";
const AFTER: &str = "idx_groups_status_region_text";
const BEFORE_COLUMNS: &[&str] = &["status", "region_key", "name", "id", "program_id"];
const AFTER_COLUMNS: &[&str] = &["status", "region_key", "name", "id", "program_id", "search_text"];

/// Replaces `old` by `new` on SQLite; nothing on PostgreSQL.
async fn replace(manager: &SchemaManager<'_>, old: &str, new: &str, cols: &[&'static str]) -> Result<(), DbErr> {
    match manager.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => crate::replace_index(manager, Groups::Table, old, new, cols).await,
        _ => Ok(()),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, BEFORE, AFTER, AFTER_COLUMNS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, AFTER, BEFORE, BEFORE_COLUMNS).await
    }
}
