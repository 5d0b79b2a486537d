//! The GraphQL schema: root objects merged from one file per domain, the query limits, and
//! the mapping of resolver errors to `extensions.code` (`errors`).

pub mod audit;
pub mod context;
pub mod directory;
pub mod directory_types;
pub mod enums;
pub mod errors;
pub mod group_inputs;
pub mod group_mutations;
pub mod group_query;
pub mod group_types;
pub mod loaders;
pub mod pagination;
pub mod referral_types;
pub mod referrals;
pub mod stats;
pub mod stats_log;
pub mod subscriptions;
pub mod webhooks;

use std::sync::Arc;

use async_graphql::{MergedObject, Schema};

use crate::config::Settings;
use crate::http::limits::Limits;
use crate::repo::Db;

/// Deepest selection accepted (GraphiQL's introspection query needs about 13).
pub const MAX_DEPTH: usize = 15;
/// Largest complexity accepted: one point per field, lists of `first` count `first` times,
/// a statistics field `STATS_COMPLEXITY` (each alias again).
pub const MAX_COMPLEXITY: usize = 5000;
/// The weight of one `referralStats` (a counting pass over the referrals): at most nine per
/// request; `groupStats` weighs a fifth of it.
pub const STATS_COMPLEXITY: usize = 500;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    directory::DirectoryQueries,
    group_query::GroupQueries,
    referrals::ReferralQueries,
    stats::StatsQueries,
    stats_log::StatsLogQueries,
    audit::AuditQueries,
    webhooks::WebhookQueries,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    directory::DirectoryMutations,
    group_mutations::GroupMutations,
    referrals::ReferralMutations,
    webhooks::WebhookMutations,
);

pub type CirclesSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

pub use subscriptions::SubscriptionRoot;

/// Builds the schema with its limits; `db` and `settings` are shared by all requests.
pub fn build_schema(db: Db, settings: Settings, limits: Arc<Limits>) -> CirclesSchema {
    // Depth and complexity: `errors::QueryLimits`; nesting and directives: `http::cost`, both
    // as QUERY_TOO_COMPLEX. async-graphql's own nesting guard stays, deeper than ours.
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot)
        .limit_recursive_depth(2 * crate::http::cost::MAX_NESTING)
        .extension(errors::QueryLimits)
        .data(db)
        .data(settings)
        .data(limits)
        .finish()
}

/// The schema in SDL, for clients and the schema snapshot test.
pub fn sdl() -> String {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot).finish().sdl()
}

#[cfg(test)]
mod tests {
    /// The committed `schema.graphql` is what clients are written against: it must be the
    /// schema this code serves.
    #[test]
    fn committed_schema_is_current() {
        let committed = include_str!("../../../schema.graphql");
        assert!(
            committed == super::sdl(),
            "schema.graphql is stale: run `cargo run -q -- schema > schema.graphql` and review the diff (breaking changes break clients)"
        );
    }
}
