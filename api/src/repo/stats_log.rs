//! The researchers' statistics budget (requests per subject per UTC day) and access log.
//!
//! The budget is one row per (subject, day), taken with a single upsert that only counts up
//! while the limit is not reached: atomic on both databases, so concurrent requests can never
//! go past the limit together.

use chrono::{DateTime, NaiveDate, Utc};
use entities::stats_access_log;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};

use crate::errors::ApiResult;

/// Takes one request from `subject`'s budget for `day`; `false` when `limit` requests were
/// already made that day (nothing is counted then).
pub async fn take_budget(db: &impl ConnectionTrait, subject: &str, day: NaiveDate, limit: u32) -> ApiResult<bool> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "INSERT INTO stats_budget (subject, day, used) VALUES ($1, $2, 1) ON CONFLICT (subject, day) \
             DO UPDATE SET used = stats_budget.used + 1 WHERE stats_budget.used < $3 RETURNING used"
        }
        _ => {
            "INSERT INTO stats_budget (subject, day, used) VALUES (?, ?, 1) ON CONFLICT (subject, day) \
             DO UPDATE SET used = stats_budget.used + 1 WHERE stats_budget.used < ? RETURNING used"
        }
    };
    let values: Vec<sea_orm::Value> = vec![subject.into(), day.into(), i64::from(limit).into()];
    let row = db.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(row.is_some())
}

/// One answered statistics request.
pub struct NewAccess {
    pub at: DateTime<Utc>,
    pub subject: String,
    pub role: String,
    pub statistic: &'static str,
    pub route: &'static str,
    pub dimensions: String,
    pub filter: String,
    pub cells: usize,
}

pub async fn record(db: &impl ConnectionTrait, a: NewAccess) -> ApiResult<()> {
    stats_access_log::ActiveModel {
        at: Set(a.at),
        subject: Set(a.subject),
        role: Set(a.role),
        statistic: Set(a.statistic.to_owned()),
        route: Set(a.route.to_owned()),
        dimensions: Set(a.dimensions),
        filter: Set(a.filter),
        cells: Set(i32::try_from(a.cells).unwrap_or(i32::MAX)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A page of the log, newest first: entries with an id below `before`, `first` of them, and
/// whether more follow; the total when asked for.
pub async fn page(
    db: &impl ConnectionTrait,
    before: Option<i64>,
    first: u64,
    with_total: bool,
) -> ApiResult<(Vec<stats_access_log::Model>, bool, u64)> {
    let mut q = stats_access_log::Entity::find();
    if let Some(before) = before {
        q = q.filter(stats_access_log::Column::Id.lt(before));
    }
    let mut rows = q.order_by_desc(stats_access_log::Column::Id).limit(first + 1).all(db).await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let total = match with_total {
        true => stats_access_log::Entity::find().count(db).await?,
        false => 0,
    };
    Ok((rows, has_next, total))
}
