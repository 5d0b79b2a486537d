//! What the API does, between the transports and the database: the referral workflows,
//! which span the domain rules, the repositories and the audit log in one transaction, and
//! the statistics reports, which the GraphQL fields and the CSV route share, with the
//! researchers' month grid, budget and access log (`stats_access`).

pub mod referrals;
pub mod stats;
pub mod stats_access;
