//! What the API does, between the transports and the database: the referral workflows,
//! which span the domain rules, the repositories and the audit log in one transaction, and
//! the statistics reports, which the GraphQL fields and the CSV route share.

pub mod referrals;
pub mod stats;
