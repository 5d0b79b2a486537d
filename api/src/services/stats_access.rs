//! What protects researchers' statistics besides perturbation (docs/statistics.md): their
//! date filters keep to a month grid, each request takes one from a daily budget per subject,
//! and each answered request is logged for admins (`statsAccessLog`).

use chrono::{DateTime, Datelike, NaiveTime, Utc};

use crate::auth::Viewer;
use crate::config::Settings;
use crate::errors::{ApiError, ApiResult};
use crate::repo::{Db, stats_log};
use crate::services::stats::ReferralStatsRequest;

/// Which door a statistics request came through (for the access log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Graphql,
    Csv,
}

impl Route {
    fn as_str(self) -> &'static str {
        match self {
            Route::Graphql => "graphql",
            Route::Csv => "csv",
        }
    }
}

/// Researchers' date filters run from the first to the last day of months.
pub fn check_month_grid(req: &ReferralStatsRequest) -> ApiResult<()> {
    if let Some(from) = req.referred_from
        && from.day() != 1
    {
        return Err(ApiError::bad_input(
            "filter.referredFrom",
            "referredFrom must be the first day of a month (statistics use a month grid)",
        ));
    }
    if let Some(to) = req.referred_to
        && to.succ_opt().is_some_and(|next| next.day() != 1)
    {
        return Err(ApiError::bad_input("filter.referredTo", "referredTo must be the last day of a month (statistics use a month grid)"));
    }
    Ok(())
}

/// Takes one request from the viewer's daily budget, or refuses with RATE_LIMITED.
pub async fn take_budget(db: &Db, settings: &Settings, viewer: &Viewer, now: DateTime<Utc>) -> ApiResult<()> {
    let today = now.date_naive();
    if stats_log::take_budget(db.conn(), &viewer.subject, today, settings.stats_daily_queries).await? {
        return Ok(());
    }
    let renews = (today + chrono::Days::new(1)).and_time(NaiveTime::MIN).and_utc();
    let retry_after_secs = u64::try_from((renews - now).num_seconds()).unwrap_or(0).max(1);
    Err(ApiError::RateLimited {
        message: format!(
            "the daily budget of {} statistics requests is used up; it renews at {} (UTC midnight)",
            settings.stats_daily_queries,
            renews.format("%Y-%m-%dT%H:%M:%SZ")
        ),
        retry_after_secs,
    })
}

pub async fn log(db: &Db, viewer: &Viewer, req: &ReferralStatsRequest, route: Route, cells: usize, at: DateTime<Utc>) -> ApiResult<()> {
    let mut filter = serde_json::Map::new();
    if let Some(v) = req.referred_from {
        filter.insert("referredFrom".into(), v.to_string().into());
    }
    if let Some(v) = req.referred_to {
        filter.insert("referredTo".into(), v.to_string().into());
    }
    if let Some(v) = req.program_id {
        filter.insert("programId".into(), v.to_string().into());
    }
    if let Some(v) = &req.region {
        filter.insert("region".into(), v.clone().into());
    }
    let access = stats_log::NewAccess {
        at,
        subject: viewer.subject.clone(),
        role: viewer.role.as_claim().to_owned(),
        statistic: "referralStats",
        route: route.as_str(),
        dimensions: req.dims.iter().map(|d| d.name()).collect::<Vec<_>>().join(","),
        filter: serde_json::Value::Object(filter).to_string(),
        cells,
    };
    stats_log::record(db.conn(), access).await
}
