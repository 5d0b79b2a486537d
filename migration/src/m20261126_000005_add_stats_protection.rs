//! Statistics protection (docs/statistics.md): a secret record key on every referral for
//! cell-key perturbation, and the researchers' daily query budget and access log.
//!
//! Existing referrals get their record key here from the database's own CSPRNG
//! (`gen_random_uuid()` on PostgreSQL, `random()` — ChaCha20 seeded by the OS — on SQLite);
//! new ones get it from the server's when they are written. On SQLite the covering index of
//! the statistics query is rebuilt with the key, so the cell keys are summed from the index.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Referrals {
    Table,
    RecordKey,
}

#[derive(DeriveIden)]
enum StatsBudget {
    Table,
    Subject,
    Day,
    Used,
}

#[derive(DeriveIden)]
enum StatsAccessLog {
    Table,
    Id,
    At,
    Subject,
    Role,
    Statistic,
    Route,
    Dimensions,
    Filter,
    Cells,
}

const STATS_INDEX: &str = "idx_referrals_stats";
const STATS_COLUMNS: [&str; 9] =
    ["group_id", "cohort_month", "channel", "status", "days_to_attend", "attended_on", "retained_on", "agency_id", "referred_on"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .alter_table(Table::alter().table(Referrals::Table).add_column(small_integer(Referrals::RecordKey).default(0)).to_owned())
            .await?;
        let backfill = match backend {
            sea_orm::DatabaseBackend::Postgres => "UPDATE referrals SET record_key = get_byte(uuid_send(gen_random_uuid()), 0)",
            _ => "UPDATE referrals SET record_key = random() & 255",
        };
        manager.get_connection().execute_unprepared(backfill).await?;
        if backend == sea_orm::DatabaseBackend::Sqlite {
            manager.get_connection().execute_unprepared(&format!("DROP INDEX IF EXISTS {STATS_INDEX}")).await?;
            let mut cols = STATS_COLUMNS.to_vec();
            cols.push("record_key");
            manager.create_index(crate::index(Referrals::Table, STATS_INDEX, &cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(StatsBudget::Table)
                    .col(string_len(StatsBudget::Subject, 200))
                    .col(date(StatsBudget::Day))
                    .col(integer(StatsBudget::Used))
                    .primary_key(Index::create().col(StatsBudget::Subject).col(StatsBudget::Day))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StatsAccessLog::Table)
                    .col(big_pk_auto(StatsAccessLog::Id))
                    .col(timestamp_with_time_zone(StatsAccessLog::At))
                    .col(string_len(StatsAccessLog::Subject, 200))
                    .col(string_len(StatsAccessLog::Role, 16))
                    .col(string_len(StatsAccessLog::Statistic, 32))
                    .col(string_len(StatsAccessLog::Route, 16))
                    .col(text(StatsAccessLog::Dimensions))
                    .col(text(StatsAccessLog::Filter))
                    .col(integer(StatsAccessLog::Cells))
                    .to_owned(),
            )
            .await?;
        manager.create_index(crate::index(StatsAccessLog::Table, "idx_stats_access_log_subject", &["subject", "id"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(StatsAccessLog::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(StatsBudget::Table).to_owned()).await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            manager.get_connection().execute_unprepared(&format!("DROP INDEX IF EXISTS {STATS_INDEX}")).await?;
            manager.create_index(crate::index(Referrals::Table, STATS_INDEX, &STATS_COLUMNS)).await?;
        }
        manager.alter_table(Table::alter().table(Referrals::Table).drop_column(Referrals::RecordKey).to_owned()).await?;
        Ok(())
    }
}
