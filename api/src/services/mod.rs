//! What the API does, between the transports and the database. Every write goes through
//! here, as one transaction with its audit event (`audited`): the directory's reference data
//! (`directory`), groups (`groups`) and the referral workflows (`referrals`). Also
//! the statistics reports (`stats`, `group_stats`), which the GraphQL fields and the CSV route share, with the
//! researchers' month grid, budget and access log (`stats_access`).

pub mod audited;
pub mod directory;
pub mod group_stats;
pub mod groups;
pub mod import;
pub mod referrals;
pub mod stats;
pub mod stats_access;
pub mod webhook_worker;
pub mod webhooks;
