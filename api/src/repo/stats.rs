//! The counting queries behind `referralStats` and `groupStats`: one GROUP BY statement each
//! (plus one for member tenure when `referralStats` is asked for it), run in the database. They return *buckets*: the counts of one combination of the requested
//! dimensions and one value of the measure whose median is wanted (days to first attendance;
//! for groups, the founding and closing dates behind a lifespan). The service folds the
//! buckets of a cell into its counts, its median histogram and its survival curve; no
//! referral row ever leaves the database.
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
use entities::enums::{EndReason, GroupStatus, ReferralStatus};
use entities::{group, program, referral};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryResult, Statement};

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
    fn group_expr(self) -> Expr {
        match self {
            Dim::Channel => r(referral::Column::Channel),
            Dim::Program => g(group::Column::ProgramId),
            Dim::Category => Func::coalesce([g(group::Column::Category), p(program::Column::Category)]).into(),
            Dim::Leadership => g(group::Column::Leadership),
            Dim::Affiliated => g(group::Column::ProgramId).is_not_null(),
            Dim::Format => g(group::Column::Format),
            Dim::Region => g(group::Column::Region),
            Dim::CohortMonth => r(referral::Column::CohortMonth),
        }
    }

    /// The same value as text (or NULL), as selected.
    fn select_expr(self) -> Expr {
        match self {
            Dim::Program | Dim::CohortMonth => self.group_expr().cast_as(Alias::new("TEXT")),
            Dim::Affiliated => Expr::case(self.group_expr(), "true").finally("false").into(),
            other => other.group_expr(),
        }
    }

    /// Whether the dimension is a referral's (groups have no channel or cohort month).
    pub fn of_referral(self) -> bool {
        matches!(self, Dim::Channel | Dim::CohortMonth)
    }
}

fn r(col: referral::Column) -> Expr {
    Expr::col((Alias::new("r"), col))
}
fn g(col: group::Column) -> Expr {
    Expr::col((Alias::new("g"), col))
}
fn p(col: program::Column) -> Expr {
    Expr::col((Alias::new("p"), col))
}
fn bigint(e: Expr) -> Expr {
    e.cast_as(Alias::new("BIGINT"))
}
/// `SUM(CASE WHEN cond THEN then ELSE 0 END)` as BIGINT.
fn sum_if(cond: Expr, then: Expr) -> Expr {
    bigint(Expr::expr(Expr::case(cond, then).finally(0)).sum())
}

/// Runs `q` on `db`'s backend, with its values bound.
async fn query_all(db: &impl ConnectionTrait, q: &SelectStatement) -> ApiResult<Vec<QueryResult>> {
    let backend = db.get_database_backend();
    let (sql, values) = match backend {
        DatabaseBackend::Postgres => q.build(sea_orm::sea_query::PostgresQueryBuilder),
        _ => q.build(sea_orm::sea_query::SqliteQueryBuilder),
    };
    Ok(db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?)
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

fn keys(row: &QueryResult, n: usize) -> ApiResult<Vec<Option<String>>> {
    (0..n).map(|i| Ok(row.try_get_by_index::<Option<String>>(i)?)).collect()
}

/// The largest group id (to split the groups into ranges).
pub async fn max_group_id(db: &impl ConnectionTrait) -> ApiResult<i64> {
    let sql = "SELECT CAST(MAX(id) AS BIGINT) AS m FROM groups";
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    Ok(row.map(|r| r.try_get::<Option<i64>>("", "m")).transpose()?.flatten().unwrap_or(0))
}

/// The dimension columns are selected as `k0`, `k1`, …; rows are grouped by them (by name:
/// the same expressions in SELECT and GROUP BY).
fn select_dims(sel: &mut SelectStatement, dims: &[Dim]) {
    for (i, d) in dims.iter().enumerate() {
        sel.expr_as(d.select_expr(), Alias::new(format!("k{i}")));
        sel.add_group_by([d.group_expr()]);
    }
}

/// Counts referrals (withdrawn ones apart) by `q.dims` and days to first attendance.
pub async fn referral_buckets(db: &impl ConnectionTrait, q: &ReferralCount, range: Option<GroupRange>) -> ApiResult<Vec<ReferralBucket>> {
    let rows = query_all(db, &referral_select(q, range)).await?;
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

/// The statement of `referral_buckets`.
fn referral_select(q: &ReferralCount, range: Option<GroupRange>) -> SelectStatement {
    let mut sel = Query::select();
    sel.from_as(referral::Entity, Alias::new("r"));
    select_dims(&mut sel, &q.dims);
    let eligible = || r(referral::Column::AttendedOn).lte(q.eligible_by);
    let retained = || r(referral::Column::RetainedOn).is_not_null();
    sel.expr_as(bigint(r(referral::Column::DaysToAttend)), Alias::new("days"))
        .expr_as(Expr::col(Asterisk).count(), Alias::new("referred"))
        .expr_as(r(referral::Column::RetainedOn).count(), Alias::new("retained"))
        .expr_as(sum_if(eligible(), Expr::val(1)), Alias::new("eligible"));
    if q.cell_keys {
        let key = || r(referral::Column::RecordKey);
        sel.expr_as(bigint(key().sum()), Alias::new("referred_keys"))
            .expr_as(sum_if(retained(), key()), Alias::new("retained_keys"))
            .expr_as(sum_if(eligible(), key()), Alias::new("eligible_keys"));
    }

    scope(&mut sel, q, range);
    sel.add_group_by([r(referral::Column::DaysToAttend)]);
    sel
}

/// The joins and conditions shared by the counting and the tenure statements: referrals
/// (withdrawn ones apart) of the caller's reach, under the request's filters.
fn scope(sel: &mut SelectStatement, q: &ReferralCount, range: Option<GroupRange>) {
    let needs_groups = q.dims.iter().any(|d| !d.of_referral()) || q.program_id.is_some() || q.region_key.is_some();
    if needs_groups {
        sel.join_as(
            JoinType::InnerJoin,
            group::Entity,
            Alias::new("g"),
            g(group::Column::Id).equals((Alias::new("r"), referral::Column::GroupId)),
        );
    }
    if q.dims.contains(&Dim::Category) {
        sel.join_as(
            JoinType::LeftJoin,
            program::Entity,
            Alias::new("p"),
            p(program::Column::Id).equals((Alias::new("g"), group::Column::ProgramId)),
        );
    }

    sel.and_where(r(referral::Column::Status).ne(ReferralStatus::Withdrawn));
    if let Some(GroupRange(lo, hi)) = range {
        sel.and_where(r(referral::Column::GroupId).between(lo, hi));
    }
    match &q.reach {
        Reach::All => {}
        Reach::Agency(id) => {
            sel.and_where(r(referral::Column::AgencyId).eq(*id));
        }
        Reach::Groups(ids) => {
            sel.and_where(r(referral::Column::GroupId).is_in(ids.iter().copied()));
        }
    }
    if let Some(day) = q.referred_from {
        sel.and_where(r(referral::Column::ReferredOn).gte(day));
    }
    if let Some(day) = q.referred_to {
        sel.and_where(r(referral::Column::ReferredOn).lte(day));
    }
    if let Some(id) = q.program_id {
        sel.and_where(g(group::Column::ProgramId).eq(id));
    }
    if let Some(region) = &q.region_key {
        sel.and_where(g(group::Column::RegionKey).eq(region.as_str()));
    }
}

/// The attended referrals of one cell that share what decides their tenure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenureBucket {
    pub key: Vec<Option<String>>,
    /// For referrals not ended: the day of the first meeting (their tenure runs to today).
    pub open_since: Option<NaiveDate>,
    /// For ended referrals: days from the first meeting to the end, and why it ended.
    pub ended_after: Option<i64>,
    pub end_reason: Option<EndReason>,
    pub referrals: i64,
    /// The sum of their record keys (0 unless `ReferralCount::cell_keys`).
    pub keys: i64,
}

/// The attended referrals of `q` (withdrawn ones apart) by `q.dims` and by what decides their
/// tenure (`services::tenure`): the day of the first meeting for those not ended (censored at
/// today, which the service knows), the days to the end and the end reason for the others.
/// One statement; the buckets stay bounded (per cell, a few thousand days of first meetings
/// and of lengths) whatever the number of referrals. The day difference is the database's
/// own date arithmetic (as the migration that computed `days_to_attend`).
pub async fn tenure_buckets(db: &impl ConnectionTrait, q: &ReferralCount) -> ApiResult<Vec<TenureBucket>> {
    let rows = query_all(db, &tenure_select(q, db.get_database_backend())).await?;
    rows.iter()
        .map(|row| {
            Ok(TenureBucket {
                key: keys(row, q.dims.len())?,
                open_since: row.try_get("", "open_since")?,
                ended_after: row.try_get("", "ended_after")?,
                end_reason: row.try_get("", "end_reason")?,
                referrals: row.try_get("", "n")?,
                keys: match q.cell_keys {
                    true => row.try_get::<Option<i64>>("", "n_keys")?.unwrap_or(0),
                    false => 0,
                },
            })
        })
        .collect()
}

/// The statement of `tenure_buckets`.
fn tenure_select(q: &ReferralCount, backend: DatabaseBackend) -> SelectStatement {
    let mut sel = Query::select();
    sel.from_as(referral::Entity, Alias::new("r"));
    select_dims(&mut sel, &q.dims);
    let ended_after: Expr = match backend {
        DatabaseBackend::Postgres => Expr::cust(r#""r"."ended_on" - "r"."attended_on""#),
        _ => Expr::cust(r#"julianday("r"."ended_on") - julianday("r"."attended_on")"#),
    };
    let open_since: Expr = Expr::case(r(referral::Column::EndedOn).is_null(), r(referral::Column::AttendedOn)).into();
    let ended_after = bigint(ended_after);
    sel.expr_as(open_since.clone(), Alias::new("open_since"))
        .expr_as(ended_after.clone(), Alias::new("ended_after"))
        .expr_as(r(referral::Column::EndReason), Alias::new("end_reason"))
        .expr_as(Expr::col(Asterisk).count(), Alias::new("n"));
    if q.cell_keys {
        sel.expr_as(bigint(r(referral::Column::RecordKey).sum()), Alias::new("n_keys"));
    }
    scope(&mut sel, q, None);
    sel.and_where(r(referral::Column::AttendedOn).is_not_null());
    sel.add_group_by([open_since, ended_after, r(referral::Column::EndReason)]);
    sel
}

/// The groups of one cell with one status, founding date and closing date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupBucket {
    pub key: Vec<Option<String>>,
    pub status: GroupStatus,
    pub founded_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    /// `attendance_min + attendance_max` (twice the midpoint of the typical attendance);
    /// `None` for groups that reported none.
    pub attendance_sum: Option<i64>,
    pub groups: i64,
}

/// Counts groups by `dims`, status, founding date, closing date and the sum of the typical
/// attendance's bounds: one statement, the same SQL on both databases; the service turns the
/// dates into lifespans (days) and the sums into midpoints in Rust.
pub async fn group_buckets(db: &impl ConnectionTrait, dims: &[Dim]) -> ApiResult<Vec<GroupBucket>> {
    debug_assert!(!dims.iter().any(|d| d.of_referral()), "the service refuses referral dimensions for groups");
    let rows = query_all(db, &group_select(dims)).await?;
    rows.iter()
        .map(|row| {
            Ok(GroupBucket {
                key: keys(row, dims.len())?,
                status: row.try_get("", "status")?,
                founded_on: row.try_get("", "founded_on")?,
                closed_on: row.try_get("", "closed_on")?,
                attendance_sum: row.try_get("", "attendance_sum")?,
                groups: row.try_get("", "n")?,
            })
        })
        .collect()
}

/// The statement of `group_buckets`.
fn group_select(dims: &[Dim]) -> SelectStatement {
    let mut sel = Query::select();
    sel.from_as(group::Entity, Alias::new("g"));
    if dims.contains(&Dim::Category) {
        sel.join_as(
            JoinType::LeftJoin,
            program::Entity,
            Alias::new("p"),
            p(program::Column::Id).equals((Alias::new("g"), group::Column::ProgramId)),
        );
    }
    select_dims(&mut sel, dims);
    let columns = [(group::Column::Status, "status"), (group::Column::FoundedOn, "founded_on"), (group::Column::ClosedOn, "closed_on")];
    for (column, alias) in columns {
        sel.expr_as(g(column), Alias::new(alias)).add_group_by([g(column)]);
    }
    // NULL unless both bounds are set (they are set together).
    let attendance_sum = || bigint(g(group::Column::AttendanceMin).add(g(group::Column::AttendanceMax)));
    sel.expr_as(attendance_sum(), Alias::new("attendance_sum")).add_group_by([attendance_sum()]);
    sel.expr_as(Expr::col(Asterisk).count(), Alias::new("n"));
    sel
}

#[cfg(test)]
mod tests {
    use super::*;

    fn referral_sql(q: &ReferralCount, range: Option<GroupRange>) -> String {
        let (sql, _) = referral_select(q, range).build(sea_orm::sea_query::PostgresQueryBuilder);
        sql
    }

    #[test]
    fn one_statement_with_bound_values_and_the_same_grouping_as_selection() {
        let q = ReferralCount {
            dims: vec![Dim::Category, Dim::CohortMonth],
            reach: Reach::Groups(vec![3, 4]),
            referred_from: NaiveDate::from_ymd_opt(2026, 1, 1),
            referred_to: None,
            program_id: None,
            region_key: Some("ontario".into()),
            eligible_by: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default(),
            cell_keys: true,
        };
        let sql = referral_sql(&q, Some(GroupRange(1, 500)));
        println!("{sql}");
        assert!(sql.contains(r#"COALESCE("g"."category", "p"."category") AS "k0""#), "{sql}");
        assert!(sql.contains(r#"CAST("r"."cohort_month" AS TEXT) AS "k1""#), "{sql}");
        assert!(sql.contains(r#"GROUP BY COALESCE("g"."category", "p"."category"), "r"."cohort_month", "r"."days_to_attend""#), "{sql}");
        assert!(sql.contains(r#""r"."status" <> $"#) && !sql.contains("WITHDRAWN"), "values are bound: {sql}");
        assert!(sql.contains(r#"LEFT JOIN "programs" AS "p""#) && sql.contains(r#"INNER JOIN "groups" AS "g""#), "{sql}");
        assert!(sql.contains("referred_keys") && sql.contains("eligible_keys"), "{sql}");
        let exact = ReferralCount { dims: vec![Dim::Channel], region_key: None, cell_keys: false, reach: Reach::All, ..q };
        let sql = referral_sql(&exact, None);
        assert!(!sql.contains("JOIN") && !sql.contains("record_key"), "a referral dimension alone reads the referrals only: {sql}");
    }

    #[test]
    fn tenure_is_one_statement_over_attended_referrals_with_bounded_buckets() {
        let q = ReferralCount {
            dims: vec![Dim::Category],
            reach: Reach::Agency(7),
            referred_from: NaiveDate::from_ymd_opt(2026, 1, 1),
            referred_to: None,
            program_id: None,
            region_key: None,
            eligible_by: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default(),
            cell_keys: true,
        };
        let (pg, _) = tenure_select(&q, DatabaseBackend::Postgres).build(sea_orm::sea_query::PostgresQueryBuilder);
        let (lite, _) = tenure_select(&q, DatabaseBackend::Sqlite).build(sea_orm::sea_query::SqliteQueryBuilder);
        for sql in [&pg, &lite] {
            assert!(sql.contains(r#""r"."attended_on" IS NOT NULL"#) && sql.contains(r#""r"."agency_id" = "#), "{sql}");
            assert!(
                sql.contains(r#"CASE WHEN ("r"."ended_on" IS NULL) THEN "r"."attended_on" END"#)
                    || sql.contains(r#"CASE WHEN "r"."ended_on" IS NULL THEN "r"."attended_on" END"#),
                "{sql}"
            );
            assert!(sql.contains("n_keys") && sql.contains(r#""r"."status" <> "#), "{sql}");
            // Grouped by the cell, the first meeting of open referrals and the length of ended
            // ones: never by two dates together, so the buckets stay bounded.
            assert!(!sql.contains(r#"GROUP BY COALESCE("g"."category", "p"."category"), "r"."attended_on""#), "{sql}");
        }
        assert!(pg.contains(r#"CAST(("r"."ended_on" - "r"."attended_on") AS BIGINT)"#), "{pg}");
        assert!(lite.contains(r#"julianday("r"."ended_on") - julianday("r"."attended_on")"#), "{lite}");
    }

    #[test]
    fn group_lifespans_are_read_as_dates_in_the_same_sql_on_both_databases() {
        let sel = group_select(&[Dim::Affiliated, Dim::Leadership, Dim::Category]);
        let (pg, _) = sel.build(sea_orm::sea_query::PostgresQueryBuilder);
        let (lite, _) = sel.build(sea_orm::sea_query::SqliteQueryBuilder);
        assert_eq!(pg.replace("$1", "?").replace("$2", "?"), lite, "no dialect-specific date arithmetic");
        assert!(!pg.contains("julianday"), "{pg}");
        assert!(pg.contains(r#""g"."founded_on" AS "founded_on""#) && pg.contains(r#""g"."closed_on" AS "closed_on""#), "{pg}");
        assert!(
            pg.ends_with(
                r#""g"."status", "g"."founded_on", "g"."closed_on", CAST(("g"."attendance_min" + "g"."attendance_max") AS BIGINT)"#
            ),
            "{pg}"
        );
        assert!(pg.contains(r#"CAST(("g"."attendance_min" + "g"."attendance_max") AS BIGINT) AS "attendance_sum""#), "{pg}");
        assert!(pg.contains(r#"GROUP BY "g"."program_id" IS NOT NULL, "#), "affiliation: {pg}");
    }
}
