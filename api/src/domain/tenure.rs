//! Member tenure (docs/statistics.md, "Member tenure"): how long a person referred to a group
//! stays, from their first meeting. The observation of an attended referral is right-censored
//! unless they left:
//!
//! - ended as **DROPPED_OUT**: the **event**, at `endedOn` − `attendedOn` days;
//! - **not ended** (ATTENDED or RETAINED): still attending as far as Circles knows, so
//!   **censored at today**. RETAINED only says the person was still there after the retention
//!   window; a referral that stays RETAINED has had no drop-out recorded since, and the state
//!   machine lets a drop-out be recorded later with its real (past) date. Censoring at
//!   `retainedOn` instead would throw away every retained member's time after the window and
//!   leave the 12-month figure to the few never marked retained;
//! - **ended for another reason** after attending: censored at `endedOn` (the person was known
//!   to be attending until then, and did not leave by dropping out). The state machine allows
//!   only RETAINED and DROPPED_OUT after ATTENDED, so only data loaded from outside can have
//!   this; WITHDRAWN referrals are left out of every statistic anyway.
//!
//! A negative length (an end before the first meeting, impossible through the API) counts as
//! 0 days.

use chrono::NaiveDate;
use entities::enums::EndReason;

use crate::domain::survival::Observation;

/// What decides an attended referral's tenure, as the database returns it per bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stay {
    /// Not ended: attending since this day.
    Open { since: NaiveDate },
    /// Ended this many days after the first meeting, for this reason.
    Ended { days: i64, reason: Option<EndReason> },
}

impl Stay {
    /// The stay of a referral from its milestone dates (what the tenure statement computes).
    pub fn of(attended_on: NaiveDate, ended_on: Option<NaiveDate>, end_reason: Option<EndReason>) -> Self {
        match ended_on {
            None => Stay::Open { since: attended_on },
            Some(end) => Stay::Ended { days: (end - attended_on).num_days(), reason: end_reason },
        }
    }

    /// The observation: the event for a drop-out, censored otherwise (at today while open).
    pub fn observation(self, today: NaiveDate) -> Observation {
        let (days, event) = match self {
            Stay::Open { since } => ((today - since).num_days(), false),
            Stay::Ended { days, reason } => (days, reason == Some(EndReason::DroppedOut)),
        };
        Observation { days: u32::try_from(days.max(0)).unwrap_or(u32::MAX), event }
    }
}

#[cfg(test)]
mod tests {
    use entities::enums::ReferralStatus;

    use super::*;
    use crate::domain::referral::Milestones;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn censoring_rules() {
        let today = day(2026, 6, 1);
        let (e, c) = (Observation::event, Observation::censored);
        // (attended, retained, ended, reason) → status, observation
        let cases = [
            // Still attending, never marked retained: censored at today.
            (day(2026, 5, 1), None, None, None, ReferralStatus::Attended, c(31)),
            // Retained and nothing later: still attending, censored at today (not at retainedOn).
            (day(2025, 6, 1), Some(day(2025, 10, 1)), None, None, ReferralStatus::Retained, c(365)),
            // Dropped out before the retention window: the event.
            (day(2026, 1, 1), None, Some(day(2026, 2, 15)), Some(EndReason::DroppedOut), ReferralStatus::DroppedOut, e(45)),
            // Dropped out after being retained: the event, at the drop-out.
            (
                day(2025, 1, 1),
                Some(day(2025, 5, 1)),
                Some(day(2026, 1, 1)),
                Some(EndReason::DroppedOut),
                ReferralStatus::DroppedOut,
                e(365),
            ),
            // Dropped out at the first meeting: an event at day 0.
            (day(2026, 3, 3), None, Some(day(2026, 3, 3)), Some(EndReason::DroppedOut), ReferralStatus::DroppedOut, e(0)),
            // Ended for another reason after attending (not possible through the API): censored at the end.
            (day(2026, 1, 1), None, Some(day(2026, 1, 31)), Some(EndReason::Withdrawn), ReferralStatus::Withdrawn, c(30)),
            (day(2026, 1, 1), None, Some(day(2026, 1, 11)), Some(EndReason::NoShow), ReferralStatus::NoShow, c(10)),
            // A first meeting recorded after today, or an end before it: 0 days.
            (day(2026, 7, 1), None, None, None, ReferralStatus::Attended, c(0)),
            (day(2026, 1, 10), None, Some(day(2026, 1, 1)), Some(EndReason::DroppedOut), ReferralStatus::DroppedOut, e(0)),
        ];
        for (attended, retained, ended, reason, status, want) in cases {
            let m = Milestones {
                attended_on: Some(attended),
                retained_on: retained,
                ended_on: ended,
                end_reason: reason,
                ..Milestones::new(day(2024, 1, 1))
            };
            assert_eq!(m.status(), status, "{m:?}");
            assert_eq!(Stay::of(attended, ended, reason).observation(today), want, "{status:?} {attended} {ended:?}");
        }
    }
}
