//! Referral and group statistics: scope the request to the viewer, count in the database
//! (`repo::stats`) and fold the buckets into cells, with member tenure (Kaplan–Meier over
//! the attended referrals, `domain::tenure`) when asked for. Referral counts are exact for callers who
//! may read the referral rows of their scope and perturbed by cell keys for researchers
//! (`domain::perturbation`), who also keep to a month grid and a daily budget, and whose
//! requests are logged. Group counts (`services::group_stats`, re-exported here) describe
//! the public directory and keep small-cell suppression (`domain::suppression`) for every
//! role but admin. The GraphQL fields and the CSV route both call these two functions, so
//! they always agree.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::auth::Viewer;
use crate::config::Settings;
use crate::domain::perturbation::{PTable, cell_key, clamped_rate};
use crate::domain::suppression::{Table, Withheld, median, rate};
use crate::domain::survival::{KaplanMeier, Observation};
use crate::domain::tenure::Stay;
use crate::domain::text;
use crate::errors::{ApiError, ApiResult};
use crate::policy::{self, Operation, Scope};
use crate::repo::Db;
use crate::repo::stats::{self, Dim, GroupRange, Reach, ReferralBucket, ReferralCount, TenureBucket};
pub use crate::services::group_stats::{GroupReport, GroupRow, group_stats};
use crate::services::stats_access as access;
pub use crate::services::stats_access::Route;

/// The longer tenure window of `stillAttending12Months`, in days (the shorter one is the
/// retention window, `settings.retention_days`).
pub const STILL_ATTENDING_LONG_DAYS: u32 = 365;

/// What a caller asks of `referralStats`.
#[derive(Clone, Debug, Default)]
pub struct ReferralStatsRequest {
    pub dims: Vec<Dim>,
    pub referred_from: Option<NaiveDate>,
    pub referred_to: Option<NaiveDate>,
    pub program_id: Option<i64>,
    pub region: Option<String>,
    /// Also estimate member tenure (a second statement; GraphQL asks for it only when a
    /// tenure field is selected, the CSV file always has it).
    pub tenure: bool,
}

/// One row of `referralStats`: a cell of the breakdown, or the total.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferralRow {
    /// The value of each requested dimension, in request order (`None`: not set, e.g. unaffiliated).
    pub key: Vec<Option<String>>,
    pub referred: u64,
    pub attended: u64,
    pub retained: u64,
    pub retention_eligible: u64,
    pub uptake_rate: Option<f64>,
    pub retention_rate: Option<f64>,
    pub median_days_to_attend: Option<f64>,
    /// Kaplan–Meier median tenure in days (dropping out is the event; see `domain::tenure`).
    pub median_tenure_days: Option<f64>,
    /// S(t) at `settings.retention_days` ("4 months") and at 365 days: the estimated share
    /// of attendees still attending that long after their first meeting.
    pub still_attending: [Option<f64>; 2],
    /// Attended referrals in the tenure estimate (0 when tenure was not asked for).
    pub tenure_at_risk: u64,
}

impl ReferralRow {
    fn is_zero(&self) -> bool {
        [self.referred, self.attended, self.retained, self.retention_eligible] == [0; 4]
    }
}

/// A whole `referralStats` answer.
#[derive(Clone, Debug)]
pub struct ReferralReport {
    pub dims: Vec<Dim>,
    pub rows: Vec<ReferralRow>,
    pub total: ReferralRow,
    /// Whether the counts are perturbed (researchers) rather than exact.
    pub perturbed: bool,
    pub min_cell_size: u32,
    pub max_noise: u32,
}

#[derive(Default)]
struct ReferralCell {
    referred: u64,
    attended: u64,
    retained: u64,
    eligible: u64,
    /// Record-key sums of referred, attended, retained, eligible.
    keys: [i64; 4],
    days: BTreeMap<i64, u64>,
}

/// The tenure observations of a cell, and the record-key sum of the referrals behind them.
#[derive(Default)]
struct TenureCell {
    stays: BTreeMap<Observation, u64>,
    keys: i64,
}

impl TenureCell {
    fn add(&mut self, b: &TenureBucket, today: NaiveDate) {
        let stay = match (b.open_since, b.ended_after) {
            (_, Some(days)) => Stay::Ended { days, reason: b.end_reason },
            (Some(since), None) => Stay::Open { since },
            (None, None) => return,
        };
        *self.stays.entry(stay.observation(today)).or_default() += b.referrals.max(0) as u64;
        self.keys += b.keys;
    }

    fn merge(&mut self, other: &TenureCell) {
        for (o, n) in &other.stays {
            *self.stays.entry(*o).or_default() += n;
        }
        self.keys += other.keys;
    }
}

/// The tenure figures of a row: at risk, median, S at the two windows.
struct Tenure {
    at_risk: u64,
    median: Option<f64>,
    still_attending: [Option<f64>; 2],
}

impl Tenure {
    /// Exact figures (`protect` None), or for researchers the at-risk count perturbed by its
    /// cell key and the survival figures only where the published count is at least 2k + D
    /// (so at least 2k people are truly in the estimate, and whether they are shown depends
    /// on the published count alone), the shares rounded to two decimals.
    fn of(cell: Option<&TenureCell>, windows: [u32; 2], protect: Option<(&PTable, u64, u64)>) -> Self {
        let empty = TenureCell::default();
        let cell = cell.unwrap_or(&empty);
        let km = KaplanMeier::fit_counted(cell.stays.iter().map(|(o, n)| (*o, *n)));
        let median = km.median().map(f64::from);
        let still_attending = windows.map(|t| km.estimate_at(t));
        match protect {
            None => Tenure { at_risk: km.n(), median, still_attending },
            Some((table, k, max_noise)) => {
                let at_risk = table.publish(km.n(), cell_key(cell.keys));
                let show = at_risk >= 2 * k + max_noise;
                let round = |s: f64| (s * 100.0).round() / 100.0;
                Tenure { at_risk, median: median.filter(|_| show), still_attending: still_attending.map(|s| s.filter(|_| show).map(round)) }
            }
        }
    }
}

impl ReferralCell {
    fn add(&mut self, b: &ReferralBucket) {
        let n = b.referred.max(0) as u64;
        self.referred += n;
        self.retained += b.retained.max(0) as u64;
        self.eligible += b.eligible.max(0) as u64;
        let [referred, retained, eligible] = b.keys;
        self.keys[0] += referred;
        self.keys[2] += retained;
        self.keys[3] += eligible;
        if let Some(d) = b.days {
            self.attended += n;
            self.keys[1] += referred;
            *self.days.entry(d).or_default() += n;
        }
    }

    fn merge(&mut self, other: &ReferralCell) {
        self.referred += other.referred;
        self.attended += other.attended;
        self.retained += other.retained;
        self.eligible += other.eligible;
        for (mine, theirs) in self.keys.iter_mut().zip(other.keys) {
            *mine += theirs;
        }
        for (d, n) in &other.days {
            *self.days.entry(*d).or_default() += n;
        }
    }

    fn median(&self) -> Option<f64> {
        median(&self.days.iter().map(|(d, n)| (*d, *n)).collect::<Vec<_>>())
    }

    /// The exact row.
    fn exact(&self, key: Vec<Option<String>>, tenure: Tenure) -> ReferralRow {
        ReferralRow {
            key,
            referred: self.referred,
            attended: self.attended,
            retained: self.retained,
            retention_eligible: self.eligible,
            uptake_rate: rate(Some(self.attended), Some(self.referred)),
            retention_rate: rate(Some(self.retained), Some(self.eligible)),
            median_days_to_attend: self.median(),
            median_tenure_days: tenure.median,
            still_attending: tenure.still_attending,
            tenure_at_risk: tenure.at_risk,
        }
    }

    /// The protected row: each count perturbed by its own cell key, rates from the published
    /// counts, and the median (in whole days) only where at least 2k attended are published.
    fn perturbed(&self, key: Vec<Option<String>>, table: &PTable, k: u64, tenure: Tenure) -> ReferralRow {
        let true_counts = [self.referred, self.attended, self.retained, self.eligible];
        let [referred, attended, retained, eligible] = std::array::from_fn(|c| table.publish(true_counts[c], cell_key(self.keys[c])));
        ReferralRow {
            key,
            referred,
            attended,
            retained,
            retention_eligible: eligible,
            uptake_rate: clamped_rate(attended, referred),
            retention_rate: clamped_rate(retained, eligible),
            median_days_to_attend: (attended >= 2 * k).then(|| self.median()).flatten().map(f64::round),
            median_tenure_days: tenure.median,
            still_attending: tenure.still_attending,
            tenure_at_risk: tenure.at_risk,
        }
    }
}

/// `referralStats` for `viewer`: exact for those who may read the referral rows of their
/// scope, perturbed (and budgeted and logged) for researchers.
pub async fn referral_stats(
    db: &Db,
    settings: &Settings,
    viewer: &Viewer,
    req: ReferralStatsRequest,
    route: Route,
) -> ApiResult<ReferralReport> {
    let scope = policy::authorize(viewer, Operation::ReadReferralStats)?;
    check_dims(&req.dims)?;
    if let (Some(from), Some(to)) = (req.referred_from, req.referred_to)
        && from > to
    {
        return Err(ApiError::bad_input("filter.referredTo", "referredTo is before referredFrom"));
    }
    let perturbed = policy::perturbs_referral_stats(viewer.role);
    let now = chrono::Utc::now();
    if perturbed {
        access::check_month_grid(&req)?;
        access::take_budget(db, settings, viewer, now).await?;
    }
    let reach = match scope {
        Scope::All => Reach::All,
        Scope::OwnAgency => Reach::Agency(viewer.agency_id.ok_or_else(ApiError::forbidden)?),
        Scope::OwnGroups => {
            let mut ids: Vec<i64> = viewer.assigned_groups(db.conn()).await?.iter().copied().collect();
            ids.sort_unstable();
            Reach::Groups(ids)
        }
    };
    let today = now.date_naive();
    let query = ReferralCount {
        dims: req.dims.clone(),
        reach: reach.clone(),
        referred_from: req.referred_from,
        referred_to: req.referred_to,
        program_id: req.program_id,
        region_key: req.region.as_deref().map(text::place_key).filter(|r| !r.is_empty()),
        eligible_by: today - chrono::Days::new(u64::from(settings.retention_days)),
        cell_keys: perturbed,
    };
    let (buckets, tenure_buckets) = match reach {
        Reach::Groups(ids) if ids.is_empty() => (Vec::new(), Vec::new()),
        _ if req.tenure => tokio::try_join!(count_referrals(db, &query), stats::tenure_buckets(db.conn(), &query))?,
        _ => (count_referrals(db, &query).await?, Vec::new()),
    };

    let mut cells: BTreeMap<Vec<Option<String>>, ReferralCell> = BTreeMap::new();
    for b in &buckets {
        cells.entry(shown_key(&req.dims, &b.key)).or_default().add(b);
    }
    let mut total = ReferralCell::default();
    cells.values().for_each(|c| total.merge(c));
    let mut stays: BTreeMap<Vec<Option<String>>, TenureCell> = BTreeMap::new();
    for b in &tenure_buckets {
        stays.entry(shown_key(&req.dims, &b.key)).or_default().add(b, today);
    }
    let mut total_stays = TenureCell::default();
    stays.values().for_each(|c| total_stays.merge(c));
    let k = u64::from(settings.min_cell_size);
    let max_noise = u64::from(settings.max_noise);
    let table = PTable::new(k, max_noise);
    let windows = [settings.retention_days, STILL_ATTENDING_LONG_DAYS];
    let publish = |cell: &ReferralCell, stays: Option<&TenureCell>, key: Vec<Option<String>>| match perturbed {
        true => cell.perturbed(key, &table, k, Tenure::of(stays, windows, Some((&table, k, max_noise)))),
        false => cell.exact(key, Tenure::of(stays, windows, None)),
    };
    // Without dimensions the one cell is the total: no rows. A perturbed row whose counts are
    // all published as zero is left out, as a cell without referrals is: listing it would
    // tell that its true count is not zero.
    let rows: Vec<ReferralRow> = match req.dims.is_empty() {
        true => Vec::new(),
        false => {
            cells.iter().map(|(key, cell)| publish(cell, stays.get(key), key.clone())).filter(|r| !perturbed || !r.is_zero()).collect()
        }
    };
    let total = publish(&total, Some(&total_stays), vec![None; req.dims.len()]);
    if perturbed {
        access::log(db, viewer, &req, route, rows.len() + 1, now).await?;
    }
    Ok(ReferralReport { dims: req.dims, rows, total, perturbed, min_cell_size: settings.min_cell_size, max_noise: settings.max_noise })
}

/// The key as callers see it: the cohort month (`yyyymm` in the database) as `YYYY-MM`.
fn shown_key(dims: &[Dim], key: &[Option<String>]) -> Vec<Option<String>> {
    dims.iter()
        .zip(key)
        .map(|(d, v)| match (d, v) {
            (Dim::CohortMonth, Some(m)) if m.len() == 6 => Some(format!("{}-{}", &m[..4], &m[4..])),
            _ => v.clone(),
        })
        .collect()
}

/// Runs the counting query: as one statement on PostgreSQL (which parallelises it), as two
/// statements over halves of the group ids on SQLite, each on its own connection and so its
/// own snapshot: a referral written between the two is counted if its group falls in the half
/// read second (each half is consistent in itself; a statistic is never off by more than
/// the writes of those few hundred milliseconds).
async fn count_referrals(db: &Db, query: &ReferralCount) -> ApiResult<Vec<ReferralBucket>> {
    if db.backend() != sea_orm::DatabaseBackend::Sqlite {
        return stats::referral_buckets(db.conn(), query, None).await;
    }
    let max = stats::max_group_id(db.conn()).await?;
    let mid = max / 2;
    let (mut low, high) = tokio::try_join!(
        stats::referral_buckets(db.conn(), query, Some(GroupRange(i64::MIN, mid))),
        stats::referral_buckets(db.conn(), query, Some(GroupRange(mid + 1, i64::MAX))),
    )?;
    low.extend(high);
    Ok(low)
}

/// Which counts to withhold, per column, given the cells' keys.
pub(crate) fn withhold<const N: usize>(keys: &[Vec<Option<String>>], columns: &[Vec<u64>; N], k: u64, on: bool) -> [Withheld; N] {
    if !on {
        return std::array::from_fn(|_| Withheld { cells: vec![false; keys.len()], total: false });
    }
    let table = Table::new(&coordinates(keys));
    std::array::from_fn(|c| table.suppress(&columns[c], k))
}

/// Each key as one index per dimension (its rank among that dimension's values).
fn coordinates(keys: &[Vec<Option<String>>]) -> Vec<Vec<u32>> {
    let dims = keys.first().map_or(0, Vec::len);
    let values: Vec<Vec<&Option<String>>> =
        (0..dims).map(|d| keys.iter().map(|k| &k[d]).collect::<BTreeSet<_>>().into_iter().collect()).collect();
    keys.iter().map(|k| (0..dims).map(|d| values[d].iter().position(|v| *v == &k[d]).unwrap_or(0) as u32).collect()).collect()
}

pub(crate) fn check_dims(dims: &[Dim]) -> ApiResult<()> {
    let distinct: BTreeSet<&Dim> = dims.iter().collect();
    if distinct.len() != dims.len() {
        return Err(ApiError::bad_input("groupBy", "a dimension is listed twice"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(stays: &[(Observation, u64)]) -> TenureCell {
        TenureCell { stays: stays.iter().copied().collect(), keys: 0 }
    }

    #[test]
    fn tenure_figures_are_exact_or_withheld_below_two_k_plus_d() {
        let (e, c) = (Observation::event, Observation::censored);
        // 3 leave at 30 days, 2 at 200, 5 still attending after 400: S(120) = 0.7, S(365) = 0.5.
        let stays = cell(&[(e(30), 3), (e(200), 2), (c(400), 5)]);
        let exact = Tenure::of(Some(&stays), [120, 365], None);
        assert_eq!((exact.at_risk, exact.median, exact.still_attending), (10, Some(200.0), [Some(0.7), Some(0.5)]));
        let none = Tenure::of(None, [120, 365], None);
        assert_eq!((none.at_risk, none.median, none.still_attending), (0, None, [None, None]));
        // k = 4, D = 2: 10 people publish as 8..12 (never below k), figures need 2k + D = 10.
        let table = PTable::new(4, 2);
        let protected = Tenure::of(Some(&stays), [120, 365], Some((&table, 4, 2)));
        assert!((8..=12).contains(&protected.at_risk), "{}", protected.at_risk);
        let shown = protected.at_risk >= 10;
        assert_eq!(protected.median.is_some(), shown);
        assert_eq!(protected.still_attending[0].is_some(), shown);
        // k = 6: 10 people (< 2k; published at most 12 < 2k + D = 14) never show survival figures.
        let table = PTable::new(6, 2);
        for keys in 0..256 {
            let stays = TenureCell { keys, ..cell(&[(e(30), 3), (e(200), 2), (c(400), 5)]) };
            let t = Tenure::of(Some(&stays), [120, 365], Some((&table, 6, 2)));
            assert_eq!((t.median, t.still_attending), (None, [None, None]), "key {keys}");
        }
        // Rounded to two decimals when shown: 1 of 3 leaves → S = 0.6666… → 0.67.
        let many = cell(&[(e(10), 20), (c(500), 40)]);
        let table = PTable::new(2, 2);
        let t = Tenure::of(Some(&many), [120, 365], Some((&table, 2, 2)));
        assert_eq!(t.still_attending, [Some(0.67), Some(0.67)]);
    }
}
