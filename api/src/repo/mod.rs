//! All database access. Functions take a connection or a transaction and return entity
//! models or plain structs; nothing here knows about GraphQL.

pub mod agencies;
pub mod audit;
pub mod db;
pub mod feed;
pub mod flags;
pub mod group_commit;
pub mod group_parts;
pub mod group_search;
pub mod groups;
pub mod import_keys;
pub mod liaisons;
pub mod listings;
pub mod page_parts;
pub mod programs;
pub mod referrals;
pub mod sqlite_setup;
pub mod stats;
pub mod stats_log;
pub mod webhooks;

pub use db::{Db, WriteTxn};

/// The time a write records (`updated_at`, `last_verified_at`, `created_at`): now, to the
/// microsecond, as PostgreSQL keeps it. So the value a mutation answers is the value stored
/// on both databases, and an `updatedSince` taken from it matches the row again.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    crate::domain::audit::micros(chrono::Utc::now())
}
