//! `groupStats`: groups active, paused and closed, and how long groups last, by the
//! dimensions asked for. Lifespans are right-censored: a closed group's lifespan ends at its
//! closing date (the event), a group still active or paused is censored at today; the
//! survival figures are Kaplan–Meier estimates (`domain::survival`) over the groups whose
//! founding date is known. Counts keep small-cell suppression (`domain::suppression`) for
//! every role but admin, and survival figures are withheld from them where fewer than 2k
//! groups are in the estimate (docs/statistics.md, "Group survival").

use std::collections::BTreeMap;

use chrono::NaiveDate;
use entities::enums::GroupStatus;

use crate::auth::Viewer;
use crate::config::Settings;
use crate::domain::survival::{KaplanMeier, Observation};
use crate::errors::{ApiError, ApiResult};
use crate::policy::{self, Operation};
use crate::repo::Db;
use crate::repo::stats::{self, Dim, GroupBucket};
use crate::services::stats::{check_dims, withhold};

/// The times at which `survival1Year`, `survival2Years` and `survival5Years` read the curve.
pub const SURVIVAL_DAYS: [u32; 3] = [365, 730, 1826];

/// One row of `groupStats`.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRow {
    pub key: Vec<Option<String>>,
    pub active: Option<u64>,
    pub paused: Option<u64>,
    pub closed: Option<u64>,
    /// Kaplan–Meier median lifespan in days (closed groups are events, the others censored).
    pub median_lifespan_days: Option<f64>,
    /// S(t) at `SURVIVAL_DAYS`: the estimated share of groups still running after 1, 2 and 5 years.
    pub survival: [Option<f64>; 3],
    /// Groups in the estimate (founding date known).
    pub lifespan_at_risk: Option<u64>,
    /// Groups left out of the estimate for want of a founding date.
    pub without_founding_date: Option<u64>,
    /// Median over the groups that reported a typical attendance of its midpoint
    /// `(min + max) / 2`, in people.
    pub median_typical_attendance: Option<f64>,
    /// Groups that reported a typical attendance.
    pub attendance_reported: Option<u64>,
    pub suppressed: bool,
}

/// A whole `groupStats` answer.
#[derive(Clone, Debug)]
pub struct GroupReport {
    pub dims: Vec<Dim>,
    pub rows: Vec<GroupRow>,
    pub total: GroupRow,
    pub suppression: bool,
    pub min_cell_size: u32,
}

#[derive(Default)]
struct GroupCell {
    /// Active, paused, closed.
    counts: [u64; 3],
    without_founding_date: u64,
    lifespans: BTreeMap<Observation, u64>,
    /// Groups by `min + max` of their typical attendance (those that reported one).
    attendance: BTreeMap<i64, u64>,
}

impl GroupCell {
    fn add(&mut self, b: &GroupBucket, today: NaiveDate) {
        let n = b.groups.max(0) as u64;
        let column = match b.status {
            GroupStatus::Active => 0,
            GroupStatus::Paused => 1,
            GroupStatus::Closed => 2,
        };
        self.counts[column] += n;
        match lifespan(b.status, b.founded_on, b.closed_on, today) {
            Some(o) => *self.lifespans.entry(o).or_default() += n,
            None if b.founded_on.is_none() => self.without_founding_date += n,
            None => {}
        }
        if let Some(sum) = b.attendance_sum {
            *self.attendance.entry(sum).or_default() += n;
        }
    }

    /// The row; `hide` says which of active, paused, closed, at risk, without founding date
    /// and attendance reported are withheld, `min_in_estimate` how many groups the survival
    /// figures need, `min_reported` how many reports the median attendance needs.
    fn row(&self, key: Vec<Option<String>>, hide: [bool; 6], min_in_estimate: u64, min_reported: u64) -> GroupRow {
        let km = KaplanMeier::fit_counted(self.lifespans.iter().map(|(o, n)| (*o, *n)));
        let in_estimate = [km.n(), self.without_founding_date];
        // The two add up to the groups of the row: withhold both or neither.
        let hide_estimate_counts = hide[3] || hide[4];
        let show_survival = !hide[2] && km.n() >= min_in_estimate;
        let show = |c: usize| (!hide[c]).then_some(self.counts[c]);
        let reported: u64 = self.attendance.values().sum();
        GroupRow {
            key,
            active: show(0),
            paused: show(1),
            closed: show(2),
            median_lifespan_days: km.median().map(f64::from).filter(|_| show_survival),
            survival: SURVIVAL_DAYS.map(|t| km.estimate_at(t).filter(|_| show_survival)),
            lifespan_at_risk: (!hide_estimate_counts).then_some(in_estimate[0]),
            without_founding_date: (!hide_estimate_counts).then_some(in_estimate[1]),
            median_typical_attendance: median_midpoint(&self.attendance).filter(|_| !hide[5] && reported >= min_reported),
            attendance_reported: (!hide[5]).then_some(reported),
            suppressed: hide.iter().any(|h| *h),
        }
    }
}

/// The median of the midpoints `sum / 2` of a histogram of `min + max` sums (sum → groups):
/// the middle midpoint, or the mean of the two middle ones for an even number of groups.
/// `None` without groups.
pub fn median_midpoint(sums: &BTreeMap<i64, u64>) -> Option<f64> {
    let n: u64 = sums.values().sum();
    if n == 0 {
        return None;
    }
    // The 0-based positions of the middle (one or two) in the sorted list.
    let (lo, hi) = ((n - 1) / 2, n / 2);
    let at = |pos: u64| {
        let mut seen = 0;
        for (sum, count) in sums {
            seen += count;
            if pos < seen {
                return *sum;
            }
        }
        0
    };
    Some((at(lo) + at(hi)) as f64 / 4.0)
}

/// A group's observed lifespan: to its closing date if closed (the event), to `today` if
/// still active or paused (censored). `None` without a founding date, and for a closed group
/// without a closing date (none can be closed so through the API). A founding date after
/// the end counts as a lifespan of 0 days.
pub fn lifespan(status: GroupStatus, founded_on: Option<NaiveDate>, closed_on: Option<NaiveDate>, today: NaiveDate) -> Option<Observation> {
    let founded = founded_on?;
    let (end, event) = match status {
        GroupStatus::Closed => (closed_on?, true),
        GroupStatus::Active | GroupStatus::Paused => (today, false),
    };
    let days = u32::try_from((end - founded).num_days().max(0)).unwrap_or(u32::MAX);
    Some(Observation { days, event })
}

/// `groupStats` for `viewer`.
pub async fn group_stats(db: &Db, settings: &Settings, viewer: &Viewer, dims: Vec<Dim>) -> ApiResult<GroupReport> {
    policy::authorize(viewer, Operation::ReadGroupStats)?;
    check_dims(&dims)?;
    if dims.iter().any(|d| d.of_referral()) {
        return Err(ApiError::bad_input("groupBy", "groups have no channel or cohort month"));
    }
    let buckets = stats::group_buckets(db.conn(), &dims).await?;
    let today = chrono::Utc::now().date_naive();
    let mut cells: BTreeMap<Vec<Option<String>>, GroupCell> = BTreeMap::new();
    let mut total = GroupCell::default();
    for b in &buckets {
        cells.entry(b.key.clone()).or_default().add(b, today);
        total.add(b, today);
    }
    let suppression = policy::suppresses_small_cells(viewer.role);
    let k = u64::from(settings.min_cell_size);
    let min_in_estimate = if suppression { 2 * k } else { 0 };
    let min_reported = if suppression { k } else { 0 };
    let keys: Vec<Vec<Option<String>>> = cells.keys().cloned().collect();
    let columns: [Vec<u64>; 6] = std::array::from_fn(|c| {
        cells
            .values()
            .map(|cell| match c {
                0..=2 => cell.counts[c],
                3 => cell.lifespans.values().sum(),
                4 => cell.without_founding_date,
                _ => cell.attendance.values().sum(),
            })
            .collect()
    });
    let withheld = withhold(&keys, &columns, k, suppression);
    let rows = match dims.is_empty() {
        true => Vec::new(),
        false => cells
            .into_iter()
            .enumerate()
            .map(|(i, (key, cell))| cell.row(key, withheld.each_ref().map(|w| w.cells[i]), min_in_estimate, min_reported))
            .collect(),
    };
    let total = total.row(vec![None; dims.len()], withheld.each_ref().map(|w| w.total), min_in_estimate, min_reported);
    Ok(GroupReport { dims, rows, total, suppression, min_cell_size: settings.min_cell_size })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn censoring_rules() {
        let today = day(2026, 6, 1).unwrap_or_default();
        let cases = [
            (GroupStatus::Closed, day(2020, 1, 1), day(2021, 1, 1), Some(Observation::event(366))),
            (GroupStatus::Active, day(2025, 6, 1), None, Some(Observation::censored(365))),
            (GroupStatus::Paused, day(2025, 6, 1), None, Some(Observation::censored(365))),
            (GroupStatus::Active, None, None, None),
            (GroupStatus::Closed, None, day(2021, 1, 1), None),
            (GroupStatus::Closed, day(2020, 1, 1), None, None),
            (GroupStatus::Active, day(2027, 1, 1), None, Some(Observation::censored(0))),
        ];
        for (status, founded, closed, want) in cases {
            assert_eq!(lifespan(status, founded, closed, today), want, "{status:?} {founded:?} {closed:?}");
        }
    }

    #[test]
    fn survival_is_withheld_below_two_k_and_with_the_closed_count() {
        let mut cell = GroupCell::default();
        cell.lifespans.insert(Observation::event(100), 2);
        cell.lifespans.insert(Observation::censored(800), 2);
        cell.counts = [2, 0, 2];
        let open = cell.row(vec![], [false; 6], 0, 0);
        assert_eq!(open.median_lifespan_days, Some(100.0));
        assert_eq!(open.survival, [Some(0.5), Some(0.5), None]);
        assert_eq!((open.lifespan_at_risk, open.without_founding_date), (Some(4), Some(0)));
        let few = cell.row(vec![], [false; 6], 6, 0);
        assert_eq!((few.median_lifespan_days, few.survival, few.lifespan_at_risk), (None, [None; 3], Some(4)));
        let closed_hidden = cell.row(vec![], [false, false, true, false, false, false], 0, 0);
        assert_eq!((closed_hidden.median_lifespan_days, closed_hidden.suppressed), (None, true));
        let without_hidden = cell.row(vec![], [false, false, false, false, true, false], 0, 0);
        assert_eq!((without_hidden.lifespan_at_risk, without_hidden.without_founding_date), (None, None));
    }

    #[test]
    fn median_of_midpoints() {
        let hist = |pairs: &[(i64, u64)]| pairs.iter().copied().collect::<BTreeMap<i64, u64>>();
        assert_eq!(median_midpoint(&hist(&[])), None);
        // One group of 6–10: midpoint 8.
        assert_eq!(median_midpoint(&hist(&[(16, 1)])), Some(8.0));
        // Midpoints 3.5, 8, 8, 20: the mean of the two middle ones.
        assert_eq!(median_midpoint(&hist(&[(7, 1), (16, 2), (40, 1)])), Some(8.0));
        // Midpoints 3.5, 8, 20: the middle one.
        assert_eq!(median_midpoint(&hist(&[(7, 1), (16, 1), (40, 1)])), Some(8.0));
        // Midpoints 3.5 and 4.5: 4; 3.5 and 4: 3.75.
        assert_eq!(median_midpoint(&hist(&[(7, 1), (9, 1)])), Some(4.0));
        assert_eq!(median_midpoint(&hist(&[(7, 1), (8, 1)])), Some(3.75));
        // Counts weigh: 3 groups at 5, 1 at 50.
        assert_eq!(median_midpoint(&hist(&[(10, 3), (100, 1)])), Some(5.0));
    }

    #[test]
    fn median_attendance_is_withheld_with_its_count_and_below_k_reports() {
        let mut cell = GroupCell::default();
        cell.attendance.insert(16, 2);
        cell.attendance.insert(30, 1);
        cell.counts = [3, 0, 0];
        let open = cell.row(vec![], [false; 6], 0, 0);
        assert_eq!((open.median_typical_attendance, open.attendance_reported, open.suppressed), (Some(8.0), Some(3), false));
        let few = cell.row(vec![], [false; 6], 0, 4);
        assert_eq!((few.median_typical_attendance, few.attendance_reported), (None, Some(3)));
        let hidden = cell.row(vec![], [false, false, false, false, false, true], 0, 0);
        assert_eq!((hidden.median_typical_attendance, hidden.attendance_reported, hidden.suppressed), (None, None, true));
    }
}
