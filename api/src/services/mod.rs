//! Workflows that span the domain rules, the repositories and the audit log in one
//! transaction. The GraphQL resolvers and `seed-demo` both go through here.

pub mod referrals;
pub mod stats;
