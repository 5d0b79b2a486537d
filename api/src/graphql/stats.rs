//! `referralStats`, `groupStats` and `statsAccessLog`: parse the request, call
//! `services::stats`, map the report. Researchers' referral counts are perturbed
//! (`perturbed: true`); group counts withheld by small-cell suppression are null, with
//! `suppressed: true`.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::NaiveDate;

use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::directory_types::Program;
use crate::graphql::enums::{Category, Channel, Format, Leadership, parse_stored};
use crate::graphql::loaders::{ProgramById, RequestLoader};
use crate::repo::stats::Dim;
use crate::services::stats::{self as service, GroupReport, GroupRow, ReferralReport, ReferralRow, ReferralStatsRequest, Route};

/// What `referralStats` can break referrals down by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReferralStatsDimension {
    Channel,
    Program,
    Category,
    Leadership,
    /// Whether the group belongs to a program.
    Affiliated,
    Format,
    Region,
    /// The month of the referral (`YYYY-MM`).
    CohortMonth,
}

impl From<ReferralStatsDimension> for Dim {
    fn from(d: ReferralStatsDimension) -> Dim {
        match d {
            ReferralStatsDimension::Channel => Dim::Channel,
            ReferralStatsDimension::Program => Dim::Program,
            ReferralStatsDimension::Category => Dim::Category,
            ReferralStatsDimension::Leadership => Dim::Leadership,
            ReferralStatsDimension::Affiliated => Dim::Affiliated,
            ReferralStatsDimension::Format => Dim::Format,
            ReferralStatsDimension::Region => Dim::Region,
            ReferralStatsDimension::CohortMonth => Dim::CohortMonth,
        }
    }
}

/// What `groupStats` can break groups down by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum GroupStatsDimension {
    Affiliated,
    Leadership,
    Category,
    Program,
    Region,
}

impl From<GroupStatsDimension> for Dim {
    fn from(d: GroupStatsDimension) -> Dim {
        match d {
            GroupStatsDimension::Affiliated => Dim::Affiliated,
            GroupStatsDimension::Leadership => Dim::Leadership,
            GroupStatsDimension::Category => Dim::Category,
            GroupStatsDimension::Program => Dim::Program,
            GroupStatsDimension::Region => Dim::Region,
        }
    }
}

#[derive(InputObject, Default)]
pub struct ReferralStatsFilter {
    /// Referrals made on or after this day.
    pub referred_from: Option<NaiveDate>,
    /// Referrals made on or before this day.
    pub referred_to: Option<NaiveDate>,
    /// Referrals to groups of this program.
    pub program_id: Option<ID>,
    /// Referrals to groups in this region (case-insensitive).
    pub region: Option<String>,
}

impl ReferralStatsFilter {
    pub fn into_request(self, group_by: &[ReferralStatsDimension]) -> Result<ReferralStatsRequest> {
        Ok(ReferralStatsRequest {
            dims: group_by.iter().map(|d| Dim::from(*d)).collect(),
            referred_from: self.referred_from,
            referred_to: self.referred_to,
            program_id: self.program_id.as_ref().map(|id| parse_id("filter.programId", id)).transpose()?,
            region: self.region,
            tenure: false,
        })
    }
}

#[derive(Default)]
pub struct StatsQueries;

#[Object]
impl StatsQueries {
    /// Referral uptake and retention, by the dimensions asked for, plus a total row.
    /// Clinicians count their agency's referrals, liaisons those to their groups, researchers
    /// and admins all. Counts are exact, except for researchers: theirs are perturbed by
    /// cell keys (unbiased, never 1..k−1, at most ±D from the truth for counts of k and more,
    /// the same for the same referrals in any query), their date filters run from the first
    /// to the last day of months, and each request counts against a daily budget and is
    /// logged (see `statsAccessLog`).
    #[graphql(complexity = "crate::graphql::STATS_COMPLEXITY + child_complexity")]
    async fn referral_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] group_by: Vec<ReferralStatsDimension>,
        filter: Option<ReferralStatsFilter>,
    ) -> Result<ReferralStats> {
        let viewer = ctx.viewer()?;
        let mut request = filter.unwrap_or_default().into_request(&group_by)?;
        let selection = ctx.look_ahead();
        request.tenure = ["rows", "total"].iter().any(|row| TENURE_FIELDS.iter().any(|f| selection.field(row).field(f).exists()));
        let report = service::referral_stats(ctx.db(), ctx.settings(), viewer, request, Route::Graphql).await?;
        Ok(ReferralStats(report))
    }

    /// Groups active, paused and closed, and how long groups last (Kaplan–Meier median and
    /// survival at 1, 2 and 5 years, groups still running censored at today), by the
    /// dimensions asked for, with small-cell suppression for every role but admin.
    #[graphql(complexity = "crate::graphql::STATS_COMPLEXITY / 5 + child_complexity")]
    async fn group_stats(&self, ctx: &Context<'_>, #[graphql(default)] group_by: Vec<GroupStatsDimension>) -> Result<GroupStats> {
        let viewer = ctx.viewer()?;
        let report = service::group_stats(ctx.db(), ctx.settings(), viewer, group_by.iter().map(|d| Dim::from(*d)).collect()).await?;
        Ok(GroupStats(report))
    }
}

/// The row fields that need the tenure statement.
const TENURE_FIELDS: [&str; 4] = ["medianTenureDays", "stillAttending4Months", "stillAttending12Months", "tenureAtRisk"];

pub struct ReferralStats(ReferralReport);

/// A `referralStats` answer: one row per combination of the dimensions that has referrals,
/// and the total. When `perturbed`, every count (rows and total alike) is published on its
/// own, so the rows need not add up to the total.
#[Object]
impl ReferralStats {
    /// True when the counts are perturbed (researchers): unbiased, never from 1 to
    /// `minCellSize` − 1, and within ±`maxNoise` of the true count when that is at least
    /// `minCellSize`. False: exact counts.
    async fn perturbed(&self) -> bool {
        self.0.perturbed
    }
    /// k: no perturbed count from 1 to k−1 is published.
    async fn min_cell_size(&self) -> u32 {
        self.0.min_cell_size
    }
    /// D: a perturbed count of k or more is within ±D of the true count.
    async fn max_noise(&self) -> u32 {
        self.0.max_noise
    }
    /// One row per combination of the dimensions that has referrals, in order of the keys.
    async fn rows(&self) -> Vec<ReferralStatsRow<'_>> {
        self.0.rows.iter().map(|row| ReferralStatsRow { dims: &self.0.dims, row }).collect()
    }
    /// All referrals of the request: a cell of its own (when perturbed, not the sum of the rows).
    async fn total(&self) -> ReferralStatsRow<'_> {
        ReferralStatsRow { dims: &self.0.dims, row: &self.0.total }
    }
}

/// The value of dimension `d` in a row's key (`None` if not grouped by it or not set).
fn value<'a>(dims: &[Dim], key: &'a [Option<String>], d: Dim) -> Option<&'a str> {
    dims.iter().position(|x| *x == d).and_then(|i| key.get(i)).and_then(|v| v.as_deref())
}

async fn program_of(ctx: &Context<'_>, id: Option<&str>) -> Result<Option<Program>> {
    let Some(id) = id.and_then(|v| v.parse::<i64>().ok()) else { return Ok(None) };
    Ok(ctx.data_unchecked::<RequestLoader>().load_one(ProgramById(id)).await?.map(Program))
}

/// A row of `referralStats`: the dimension fields not grouped by are null.
pub struct ReferralStatsRow<'a> {
    dims: &'a [Dim],
    row: &'a ReferralRow,
}

#[Object]
impl ReferralStatsRow<'_> {
    async fn channel(&self) -> Result<Option<Channel>> {
        Ok(value(self.dims, &self.row.key, Dim::Channel).map(parse_stored::<entities::enums::Channel>).transpose()?.map(Channel::from))
    }
    /// The program (null for unaffiliated groups, or when not grouped by PROGRAM).
    async fn program(&self, ctx: &Context<'_>) -> Result<Option<Program>> {
        program_of(ctx, value(self.dims, &self.row.key, Dim::Program)).await
    }
    async fn category(&self) -> Result<Option<Category>> {
        Ok(value(self.dims, &self.row.key, Dim::Category).map(parse_stored::<entities::enums::Category>).transpose()?.map(Category::from))
    }
    async fn leadership(&self) -> Result<Option<Leadership>> {
        Ok(value(self.dims, &self.row.key, Dim::Leadership)
            .map(parse_stored::<entities::enums::Leadership>)
            .transpose()?
            .map(Leadership::from))
    }
    async fn affiliated(&self) -> Option<bool> {
        value(self.dims, &self.row.key, Dim::Affiliated).map(|v| v == "true")
    }
    async fn format(&self) -> Result<Option<Format>> {
        Ok(value(self.dims, &self.row.key, Dim::Format).map(parse_stored::<entities::enums::Format>).transpose()?.map(Format::from))
    }
    async fn region(&self) -> Option<&str> {
        value(self.dims, &self.row.key, Dim::Region)
    }
    /// The referral month, `YYYY-MM`.
    async fn cohort_month(&self) -> Option<&str> {
        value(self.dims, &self.row.key, Dim::CohortMonth)
    }
    /// Referrals, withdrawn ones apart.
    async fn referred(&self) -> u64 {
        self.row.referred
    }
    /// Referrals whose person went to a first meeting (uptake).
    async fn attended(&self) -> u64 {
        self.row.attended
    }
    /// Referrals whose person stayed at least the retention window.
    async fn retained(&self) -> u64 {
        self.row.retained
    }
    /// Attended referrals whose retention window has passed.
    async fn retention_eligible(&self) -> u64 {
        self.row.retention_eligible
    }
    /// attended / referred, from the published counts (clamped to 0..1 when perturbed);
    /// null when referred is 0.
    async fn uptake_rate(&self) -> Option<f64> {
        self.row.uptake_rate
    }
    /// retained / retentionEligible, likewise.
    async fn retention_rate(&self) -> Option<f64> {
        self.row.retention_rate
    }
    /// Median days from referral to first attendance; when perturbed, in whole days and only
    /// where at least 2k attended are published.
    async fn median_days_to_attend(&self) -> Option<f64> {
        self.row.median_days_to_attend
    }
    /// Kaplan–Meier median tenure in days, from the first meeting: attended referrals ended
    /// as DROPPED_OUT leave at `endedOn`; those still attending (ATTENDED, RETAINED) are
    /// censored at today. Null when the curve does not reach one half; when perturbed, also
    /// unless `tenureAtRisk` is at least 2 × `minCellSize` + `maxNoise`.
    async fn median_tenure_days(&self) -> Option<f64> {
        self.row.median_tenure_days
    }
    /// Estimated share of attendees still attending at the end of the retention window
    /// (`CIRCLES_RETENTION_DAYS`, 120 days by default) after their first meeting. Null where
    /// nobody in the estimate was followed that long (unless all had left); withheld like
    /// `medianTenureDays`, and rounded to two decimals when perturbed.
    async fn still_attending_4_months(&self) -> Option<f64> {
        self.row.still_attending[0]
    }
    /// Likewise at 365 days.
    async fn still_attending_12_months(&self) -> Option<f64> {
        self.row.still_attending[1]
    }
    /// Attended referrals in the tenure estimate (the same referrals as `attended`);
    /// perturbed like the other counts.
    async fn tenure_at_risk(&self) -> u64 {
        self.row.tenure_at_risk
    }
}

pub struct GroupStats(GroupReport);

#[Object]
impl GroupStats {
    async fn suppression_applied(&self) -> bool {
        self.0.suppression
    }
    async fn min_cell_size(&self) -> u32 {
        self.0.min_cell_size
    }
    async fn rows(&self) -> Vec<GroupStatsRow<'_>> {
        self.0.rows.iter().map(|row| GroupStatsRow { dims: &self.0.dims, row }).collect()
    }
    async fn total(&self) -> GroupStatsRow<'_> {
        GroupStatsRow { dims: &self.0.dims, row: &self.0.total }
    }
}

/// A row of `groupStats`.
pub struct GroupStatsRow<'a> {
    dims: &'a [Dim],
    row: &'a GroupRow,
}

#[Object]
impl GroupStatsRow<'_> {
    async fn affiliated(&self) -> Option<bool> {
        value(self.dims, &self.row.key, Dim::Affiliated).map(|v| v == "true")
    }
    async fn leadership(&self) -> Result<Option<Leadership>> {
        Ok(value(self.dims, &self.row.key, Dim::Leadership)
            .map(parse_stored::<entities::enums::Leadership>)
            .transpose()?
            .map(Leadership::from))
    }
    async fn category(&self) -> Result<Option<Category>> {
        Ok(value(self.dims, &self.row.key, Dim::Category).map(parse_stored::<entities::enums::Category>).transpose()?.map(Category::from))
    }
    async fn program(&self, ctx: &Context<'_>) -> Result<Option<Program>> {
        program_of(ctx, value(self.dims, &self.row.key, Dim::Program)).await
    }
    async fn region(&self) -> Option<&str> {
        value(self.dims, &self.row.key, Dim::Region)
    }
    async fn active(&self) -> Option<u64> {
        self.row.active
    }
    async fn paused(&self) -> Option<u64> {
        self.row.paused
    }
    async fn closed(&self) -> Option<u64> {
        self.row.closed
    }
    /// Kaplan–Meier median lifespan in days over the groups with a founding date: closed
    /// groups end at their closing date, active and paused ones are censored at today (until
    /// 2026-11 this was the plain median of closed groups only, biased short). Null when the
    /// curve does not reach one half, when `closed` is withheld, and for every role but admin
    /// when fewer than 2 × `minCellSize` groups are in the estimate.
    async fn median_lifespan_days(&self) -> Option<f64> {
        self.row.median_lifespan_days
    }
    /// Estimated share of groups still running one year (365 days) after founding; null as
    /// `medianLifespanDays`, and when no group of the estimate is at risk at that age (none
    /// observed that long) unless every group had closed by then (0).
    async fn survival_1_year(&self) -> Option<f64> {
        self.row.survival[0]
    }
    /// Likewise at two years (730 days).
    async fn survival_2_years(&self) -> Option<f64> {
        self.row.survival[1]
    }
    /// Likewise at five years (1826 days).
    async fn survival_5_years(&self) -> Option<f64> {
        self.row.survival[2]
    }
    /// Groups in the survival estimate: those with a founding date (a closed group also
    /// needs its closing date).
    async fn lifespan_at_risk(&self) -> Option<u64> {
        self.row.lifespan_at_risk
    }
    /// Groups left out of the survival estimate for want of a founding date.
    async fn without_founding_date(&self) -> Option<u64> {
        self.row.without_founding_date
    }
    /// Median, over the groups of the row that reported a typical attendance, of its midpoint
    /// (min + max) / 2, in people (a multiple of 0.25). Null when no group reported one, when
    /// `attendanceReported` is withheld, and for every role but admin when fewer than
    /// `minCellSize` groups reported.
    async fn median_typical_attendance(&self) -> Option<f64> {
        self.row.median_typical_attendance
    }
    /// Groups of the row that reported a typical attendance (a count like the others).
    async fn attendance_reported(&self) -> Option<u64> {
        self.row.attendance_reported
    }
    async fn suppressed(&self) -> bool {
        self.row.suppressed
    }
}
