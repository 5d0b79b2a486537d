//! An index for the `text` filter of `groups` (one `LIKE '%word%' ESCAPE '\'` per word over
//! `groups.search_text`), which otherwise reads every row the other filters leave.
//!
//! - PostgreSQL: the `pg_trgm` extension and a GIN trigram index on `search_text`; the
//!   planner serves the `LIKE`s (and so `totalCount`) from it. Creating the extension needs a
//!   role that may (pg_trgm is a trusted extension: the database owner may, from PostgreSQL
//!   13 on). `down` drops the index and leaves the extension, which other objects may use.
//! - SQLite: an external-content FTS5 table `groups_fts` over `search_text` with the trigram
//!   tokenizer (case-sensitive: the text is already lower case), kept in step with `groups` by
//!   triggers and filled from the existing rows here. Queries select the rows holding the
//!   words of three or more characters with `id IN (SELECT rowid FROM groups_fts WHERE
//!   groups_fts MATCH '"word" ...')` (SQLite hands a `LIKE ... ESCAPE` to no virtual table);
//!   shorter words stay `LIKE`s.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG_INDEX: &str = "idx_groups_search_text_trgm";

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE groups_fts USING fts5(search_text, content='groups', content_rowid='id', \
     tokenize='trigram case_sensitive 1')",
    r#"CREATE TRIGGER groups_fts_insert AFTER INSERT ON "groups" BEGIN
         INSERT INTO groups_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END"#,
    r#"CREATE TRIGGER groups_fts_delete AFTER DELETE ON "groups" BEGIN
         INSERT INTO groups_fts(groups_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
       END"#,
    r#"CREATE TRIGGER groups_fts_update AFTER UPDATE OF id, search_text ON "groups" BEGIN
         INSERT INTO groups_fts(groups_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
         INSERT INTO groups_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END"#,
    "INSERT INTO groups_fts(groups_fts) VALUES ('rebuild')",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS groups_fts_update",
    "DROP TRIGGER IF EXISTS groups_fts_delete",
    "DROP TRIGGER IF EXISTS groups_fts_insert",
    "DROP TABLE IF EXISTS groups_fts",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => {
                for sql in SQLITE_UP {
                    db.execute_unprepared(sql).await?;
                }
            }
            _ => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
                db.execute_unprepared(&format!("CREATE INDEX IF NOT EXISTS {PG_INDEX} ON groups USING gin (search_text gin_trgm_ops)"))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => {
                for sql in SQLITE_DOWN {
                    db.execute_unprepared(sql).await?;
                }
            }
            _ => {
                db.execute_unprepared(&format!("DROP INDEX IF EXISTS {PG_INDEX}")).await?;
            }
        }
        Ok(())
    }
}
