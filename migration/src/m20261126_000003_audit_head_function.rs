//! PostgreSQL only: `circles_audit_head()` takes the audit-append lock and then reads the
//! chain's head, in one round trip. The lock is held until commit, so this shortens the
//! stretch that every audited write waits for. (Inside a VOLATILE plpgsql function each
//! statement takes a fresh snapshot, so the head is read after the lock is granted.)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Must equal `AUDIT_LOCK_KEY` in `api/src/repo/audit.rs`.
const AUDIT_LOCK_KEY: i64 = 0x0C1C_1E5A_0D17;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let sql = format!(
            "CREATE OR REPLACE FUNCTION circles_audit_head(OUT seq BIGINT, OUT hash TEXT) \
             LANGUAGE plpgsql VOLATILE AS $$ \
             BEGIN \
               PERFORM pg_advisory_xact_lock({AUDIT_LOCK_KEY}); \
               SELECT a.seq, a.hash INTO seq, hash FROM audit_events a ORDER BY a.seq DESC LIMIT 1; \
             END $$"
        );
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared("DROP FUNCTION IF EXISTS circles_audit_head()").await?;
        }
        Ok(())
    }
}
