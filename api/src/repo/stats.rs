//! The counting queries behind `referralStats` and `groupStats`: one GROUP BY statement each,
//! run in the database. They return *buckets*: the counts of one combination of the requested
//! dimensions and one value of the measure whose median is wanted (days to first attendance,
//! or a closed group's lifespan). The service folds the buckets of a cell into its counts and
//! its median histogram; no referral row ever leaves the database.
//!
//! For researchers the statement also sums the secret record keys of each count (the cell
//! keys of `domain::perturbation`); the sums never leave the server.
//!
//! Speed (1,000,000 referrals, see README): PostgreSQL runs the statement with parallel
//! workers (sequential scan, hash join, partial hash aggregates). SQLite, which has no
//! parallel query, reads the covering index `idx_referrals_stats` instead of the table, and
//! the service runs the statement twice over disjoint ranges of group ids on two
//! connections (`GroupRange`) and adds up their buckets.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryResult, Statement, Value};

use entities::enums::{GroupStatus, ReferralStatus};
use sea_orm::ActiveEnum;

use crate::errors::ApiResult;

/// A dimension a statistic can be broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    Channel,
    Program,
    Category,
    Leadership,
    Affiliated,
    Format,
    Region,
    CohortMonth,
}

impl Dim {
    /// The name of the dimension in the API (`CHANNEL`, `COHORT_MONTH`, …).
    pub fn name(self) -> &'static str {
        match self {
            Dim::Channel => "CHANNEL",
            Dim::Program => "PROGRAM",
            Dim::Category => "CATEGORY",
            Dim::Leadership => "LEADERSHIP",
            Dim::Affiliated => "AFFILIATED",
            Dim::Format => "FORMAT",
            Dim::Region => "REGION",
            Dim::CohortMonth => "COHORT_MONTH",
        }
    }

    /// The expression grouped by.
    fn group_expr(self) -> &'static str {
        match self {
            Dim::Channel => "r.channel",
            Dim::Program => "g.program_id",
            Dim::Category => "COALESCE(g.category, p.category)",
            Dim::Leadership => "g.leadership",
            Dim::Affiliated => "(g.program_id IS NOT NULL)",
            Dim::Format => "g.format",
            Dim::Region => "g.region",
            Dim::CohortMonth => "r.cohort_month",
        }
    }

    /// The same value as text (or NULL), as selected.
    fn select_expr(self) -> &'static str {
        match self {
            Dim::Program => "CAST(g.program_id AS TEXT)",
            Dim::Affiliated => "CASE WHEN (g.program_id IS NOT NULL) THEN 'true' ELSE 'false' END",
            Dim::CohortMonth => "CAST(r.cohort_month AS TEXT)",
            other => other.group_expr(),
        }
    }

    /// Whether the dimension is a referral's (groups have no channel or cohort month).
    pub fn of_referral(self) -> bool {
        matches!(self, Dim::Channel | Dim::CohortMonth)
    }
}

/// Whose referrals count.
#[derive(Clone, Debug)]
pub enum Reach {
    All,
    Agency(i64),
    Groups(Vec<i64>),
}

/// A `referralStats` request, after validation and scoping.
#[derive(Clone, Debug)]
pub struct ReferralCount {
    pub dims: Vec<Dim>,
    pub reach: Reach,
    pub referred_from: Option<NaiveDate>,
    pub referred_to: Option<NaiveDate>,
    pub program_id: Option<i64>,
    /// Normalised like `groups.region_key`.
    pub region_key: Option<String>,
    /// Attended on or before this day: the retention window has passed.
    pub eligible_by: NaiveDate,
    /// Also sum the record keys of each count (for cell-key perturbation).
    pub cell_keys: bool,
}

/// A slice of the groups (by id, inclusive) that one statement counts.
#[derive(Clone, Copy, Debug)]
pub struct GroupRange(pub i64, pub i64);

/// The counts of one cell for one value of `days`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferralBucket {
    pub key: Vec<Option<String>>,
    /// Days from referral to first attendance; `None` for those who have not attended.
    pub days: Option<i64>,
    pub referred: i64,
    pub retained: i64,
    pub eligible: i64,
    /// The sums of the record keys of `referred`, `retained` and `eligible` (0 unless
    /// `ReferralCount::cell_keys`).
    pub keys: [i64; 3],
}

/// Bound values with the placeholders of the backend (`?` or `$n`).
struct Params {
    backend: DatabaseBackend,
    values: Vec<Value>,
}

impl Params {
    fn push(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        match self.backend {
            DatabaseBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        }
    }
}

fn keys(row: &QueryResult, n: usize) -> ApiResult<Vec<Option<String>>> {
    (0..n).map(|i| Ok(row.try_get_by_index::<Option<String>>(i)?)).collect()
}

/// The largest group id (to split the groups into ranges).
pub async fn max_group_id(db: &impl ConnectionTrait) -> ApiResult<i64> {
    let sql = "SELECT CAST(MAX(id) AS BIGINT) AS m FROM groups";
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    Ok(row.map(|r| r.try_get::<Option<i64>>("", "m")).transpose()?.flatten().unwrap_or(0))
}

/// Counts referrals (withdrawn ones apart) by `q.dims` and days to first attendance.
pub async fn referral_buckets(db: &impl ConnectionTrait, q: &ReferralCount, range: Option<GroupRange>) -> ApiResult<Vec<ReferralBucket>> {
    let backend = db.get_database_backend();
    let mut p = Params { backend, values: Vec::new() };
    let eligible = p.push(q.eligible_by);
    let mut select: Vec<String> = q.dims.iter().enumerate().map(|(i, d)| format!("{} AS k{i}", d.select_expr())).collect();
    select.push("CAST(r.days_to_attend AS BIGINT) AS days".into());
    select.push("COUNT(*) AS referred".into());
    select.push("COUNT(r.retained_on) AS retained".into());
    select.push(format!("CAST(SUM(CASE WHEN r.attended_on <= {eligible} THEN 1 ELSE 0 END) AS BIGINT) AS eligible"));
    if q.cell_keys {
        select.push("CAST(SUM(r.record_key) AS BIGINT) AS referred_keys".into());
        select.push("CAST(SUM(CASE WHEN r.retained_on IS NOT NULL THEN r.record_key ELSE 0 END) AS BIGINT) AS retained_keys".into());
        // A placeholder of its own: SQLite's `?` cannot be reused as PostgreSQL's `$1` can.
        let eligible = p.push(q.eligible_by);
        select.push(format!("CAST(SUM(CASE WHEN r.attended_on <= {eligible} THEN r.record_key ELSE 0 END) AS BIGINT) AS eligible_keys"));
    }

    let needs_groups = q.dims.iter().any(|d| !d.of_referral()) || q.program_id.is_some() || q.region_key.is_some();
    let mut from = "referrals r".to_owned();
    if needs_groups {
        from.push_str(" JOIN groups g ON g.id = r.group_id");
    }
    if q.dims.contains(&Dim::Category) {
        from.push_str(" LEFT JOIN programs p ON p.id = g.program_id");
    }

    let mut filter = vec![format!("r.status <> {}", p.push(ReferralStatus::Withdrawn))];
    if let Some(GroupRange(lo, hi)) = range {
        filter.push(format!("r.group_id BETWEEN {} AND {}", p.push(lo), p.push(hi)));
    }
    match &q.reach {
        Reach::All => {}
        Reach::Agency(id) => filter.push(format!("r.agency_id = {}", p.push(*id))),
        Reach::Groups(ids) => {
            let list: Vec<String> = ids.iter().map(|id| p.push(*id)).collect();
            filter.push(format!("r.group_id IN ({})", list.join(", ")));
        }
    }
    if let Some(day) = q.referred_from {
        filter.push(format!("r.referred_on >= {}", p.push(day)));
    }
    if let Some(day) = q.referred_to {
        filter.push(format!("r.referred_on <= {}", p.push(day)));
    }
    if let Some(id) = q.program_id {
        filter.push(format!("g.program_id = {}", p.push(id)));
    }
    if let Some(region) = &q.region_key {
        filter.push(format!("g.region_key = {}", p.push(region.clone())));
    }
    let mut group_by: Vec<&str> = q.dims.iter().map(|d| d.group_expr()).collect();
    group_by.push("r.days_to_attend");
    let sql = format!("SELECT {} FROM {from} WHERE {} GROUP BY {}", select.join(", "), filter.join(" AND "), group_by.join(", "));

    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, p.values)).await?;
    rows.iter()
        .map(|row| {
            Ok(ReferralBucket {
                key: keys(row, q.dims.len())?,
                days: row.try_get("", "days")?,
                referred: row.try_get("", "referred")?,
                retained: row.try_get("", "retained")?,
                eligible: row.try_get::<Option<i64>>("", "eligible")?.unwrap_or(0),
                keys: match q.cell_keys {
                    true => [
                        row.try_get::<Option<i64>>("", "referred_keys")?.unwrap_or(0),
                        row.try_get::<Option<i64>>("", "retained_keys")?.unwrap_or(0),
                        row.try_get::<Option<i64>>("", "eligible_keys")?.unwrap_or(0),
                    ],
                    false => [0; 3],
                },
            })
        })
        .collect()
}

/// The groups of one cell with one status and one lifespan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupBucket {
    pub key: Vec<Option<String>>,
    pub status: GroupStatus,
    /// Days from founding to closing, for closed groups whose dates are known.
    pub lifespan_days: Option<i64>,
    pub groups: i64,
}

/// Counts groups by `dims`, status and lifespan.
pub async fn group_buckets(db: &impl ConnectionTrait, dims: &[Dim]) -> ApiResult<Vec<GroupBucket>> {
    debug_assert!(!dims.iter().any(|d| d.of_referral()), "the service refuses referral dimensions for groups");
    let backend = db.get_database_backend();
    let lifespan = match backend {
        DatabaseBackend::Postgres => "g.closed_on - g.founded_on",
        _ => "CAST(julianday(g.closed_on) - julianday(g.founded_on) AS INTEGER)",
    };
    // A literal, not a parameter: the expression must be the same in SELECT and GROUP BY.
    let lifespan = format!("CASE WHEN g.status = '{}' THEN {lifespan} END", GroupStatus::Closed.to_value());
    let mut select: Vec<String> = dims.iter().enumerate().map(|(i, d)| format!("{} AS k{i}", d.select_expr())).collect();
    select.push("g.status AS status".into());
    select.push(format!("CAST({lifespan} AS BIGINT) AS lifespan"));
    select.push("COUNT(*) AS n".into());
    let mut from = "groups g".to_owned();
    if dims.contains(&Dim::Category) {
        from.push_str(" LEFT JOIN programs p ON p.id = g.program_id");
    }
    let mut group_by: Vec<String> = dims.iter().map(|d| d.group_expr().to_owned()).collect();
    group_by.push("g.status".into());
    group_by.push(lifespan);
    let sql = format!("SELECT {} FROM {from} GROUP BY {}", select.join(", "), group_by.join(", "));
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
    rows.iter()
        .map(|row| {
            Ok(GroupBucket {
                key: keys(row, dims.len())?,
                status: row.try_get("", "status")?,
                lifespan_days: row.try_get("", "lifespan")?,
                groups: row.try_get("", "n")?,
            })
        })
        .collect()
}
