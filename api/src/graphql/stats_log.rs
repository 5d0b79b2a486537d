//! `statsAccessLog` for admins: every statistics request a researcher made.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::stats_access_log;

use crate::graphql::context::ContextExt;
use crate::graphql::pagination;
use crate::policy::Operation;
use crate::repo;

/// One answered statistics request of a researcher.
#[derive(SimpleObject)]
pub struct StatsAccess {
    pub at: DateTime<Utc>,
    pub subject: String,
    pub role: String,
    /// The statistic asked for (`referralStats`).
    pub statistic: String,
    /// `graphql` or `csv`.
    pub route: String,
    /// The dimensions grouped by.
    pub dimensions: Vec<String>,
    /// The filter, as given.
    pub filter: Json<serde_json::Value>,
    /// Cells answered: the rows and the total.
    pub cells: i32,
}

impl From<stats_access_log::Model> for StatsAccess {
    fn from(m: stats_access_log::Model) -> Self {
        Self {
            at: m.at,
            subject: m.subject,
            role: m.role,
            statistic: m.statistic,
            route: m.route,
            dimensions: m.dimensions.split(',').filter(|d| !d.is_empty()).map(str::to_owned).collect(),
            filter: Json(serde_json::from_str(&m.filter).unwrap_or(serde_json::Value::String(m.filter))),
            cells: m.cells,
        }
    }
}

#[derive(SimpleObject)]
pub struct StatsAccessConnectionFields {
    pub total_count: u64,
}

#[derive(Default)]
pub struct StatsLogQueries;

#[Object]
impl StatsLogQueries {
    /// Researchers' statistics requests, newest first (admins).
    #[graphql(complexity = "crate::graphql::pagination::list_complexity(first, child_complexity)")]
    async fn stats_access_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, StatsAccess, StatsAccessConnectionFields, EmptyFields>> {
        ctx.authorize(Operation::ReadStatsAccessLog)?;
        let first = pagination::page_size(first)?;
        let before = pagination::decode_id(after.as_deref())?;
        let with_total = ctx.look_ahead().field("totalCount").exists();
        let (rows, has_next, total) = repo::stats_log::page(ctx.db().conn(), before, first, with_total).await?;
        let mut conn = Connection::with_additional_fields(before.is_some(), has_next, StatsAccessConnectionFields { total_count: total });
        conn.edges.extend(rows.into_iter().map(|m| Edge::new(pagination::encode_id(m.id), StatsAccess::from(m))));
        Ok(conn)
    }
}
