//! Schema migrations of the Circles database. The same migrations run on SQLite (the
//! embedded default) and PostgreSQL (production); they are written with sea-query builders
//! only, so both dialects get the same tables and indices.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_directory;
mod m20261126_000002_create_referrals_audit;
mod m20261126_000003_audit_head_function;
mod m20261126_000004_add_referral_stats_columns;
mod m20261126_000005_add_stats_protection;
mod m20261126_000006_channel_self_referral;
mod m20261126_000007_referral_acknowledgement;
mod m20261126_000008_updated_at_indices;
mod m20261126_000009_webhooks;
mod m20261126_000010_listing_locations;
mod m20261126_000011_typical_attendance;
mod m20261126_000012_tenure_index;
mod m20261126_000013_search_text_index;
mod m20261127_000014_region_index_covers_program;
mod m20261127_000015_region_text_index;
mod m20261127_000016_sqlite_region_text;

/// A plain (non-unique) index over `cols` of `table`.
pub(crate) fn index(table: impl IntoTableRef, name: &str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt.to_owned()
}

/// Replaces the index `old` of `table` by `new` over `cols`: creates `new` before dropping
/// `old`, under another name. On SQLite, migrations that run over a pool (the tests' down and
/// up) can send the `CREATE` to a connection that has not yet seen the `DROP`, and one name
/// would then exist twice.
pub(crate) async fn replace_index(
    manager: &SchemaManager<'_>,
    table: impl IntoTableRef,
    old: &str,
    new: &str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let table = table.into_table_ref();
    manager.create_index(index(table.clone(), new, cols)).await?;
    manager.drop_index(Index::drop().name(old).table(table).to_owned()).await
}

/// The ordered list of migrations; `circles migrate` and `serve` apply the pending ones.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_directory::Migration),
            Box::new(m20261126_000002_create_referrals_audit::Migration),
            Box::new(m20261126_000003_audit_head_function::Migration),
            Box::new(m20261126_000004_add_referral_stats_columns::Migration),
            Box::new(m20261126_000005_add_stats_protection::Migration),
            Box::new(m20261126_000006_channel_self_referral::Migration),
            Box::new(m20261126_000007_referral_acknowledgement::Migration),
            Box::new(m20261126_000008_updated_at_indices::Migration),
            Box::new(m20261126_000009_webhooks::Migration),
            Box::new(m20261126_000010_listing_locations::Migration),
            Box::new(m20261126_000011_typical_attendance::Migration),
            Box::new(m20261126_000012_tenure_index::Migration),
            Box::new(m20261126_000013_search_text_index::Migration),
            Box::new(m20261127_000014_region_index_covers_program::Migration),
            Box::new(m20261127_000015_region_text_index::Migration),
            Box::new(m20261127_000016_sqlite_region_text::Migration),
        ]
    }
}
