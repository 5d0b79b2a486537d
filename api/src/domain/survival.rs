//! The Kaplan–Meier estimator of a survival curve from right-censored durations: how long
//! groups last (`groupStats`), and later how long members stay. An observation is a duration
//! in whole days and whether the event (a group closing, a member leaving) happened at its
//! end (`event: true`) or the observation stopped before it did (`event: false`, censored:
//! the group still runs today).
//!
//! S(t) = ∏ over event times tᵢ ≤ t of (1 − dᵢ / nᵢ), where dᵢ is the number of events at tᵢ
//! and nᵢ the number at risk at tᵢ: those whose duration is at least tᵢ.
//!
//! **Ties**: at a time with both events and censorings, the events come first — those
//! censored at t are still at risk at t, and leave the risk set just after it (the standard
//! convention, as in R's `survival` package and in Kaplan and Meier 1958). S is a
//! right-continuous step function: S(t) already includes the drop at t.
//!
//! **Median**: the smallest t with S(t) ≤ 0.5; none if the curve never gets there. Where S is
//! exactly 0.5 on a flat stretch this is its left end (R's `survfit` would give the midpoint
//! to the next event time). "Exactly" allows for rounding: S within 1e-12 of 0.5 counts.

/// One observed duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Observation {
    /// Days from the start (founding, first meeting) to the event or to censoring.
    pub days: u32,
    /// True when the event happened at `days`; false when censored at `days`.
    pub event: bool,
}

impl Observation {
    pub fn event(days: u32) -> Self {
        Self { days, event: true }
    }
    pub fn censored(days: u32) -> Self {
        Self { days, event: false }
    }
}

/// The curve at one distinct observed time.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub days: u32,
    /// Observations with a duration of at least `days`.
    pub at_risk: u64,
    pub events: u64,
    pub censored: u64,
    /// S(days), the drop of the events at `days` included.
    pub survival: f64,
}

/// A fitted Kaplan–Meier curve.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KaplanMeier {
    steps: Vec<Step>,
    n: u64,
    events: u64,
    censored: u64,
}

/// Slack for deciding that S has reached 0.5 (a product of fractions is rarely exactly 0.5).
const HALF_TOLERANCE: f64 = 1e-12;

impl KaplanMeier {
    /// Fits the curve to single observations.
    pub fn fit(observations: &[Observation]) -> Self {
        Self::fit_counted(observations.iter().map(|o| (*o, 1)))
    }

    /// Fits the curve to observations given with how many times each occurs (the buckets a
    /// GROUP BY returns). Zero counts are ignored.
    pub fn fit_counted(observations: impl IntoIterator<Item = (Observation, u64)>) -> Self {
        let mut by_time: std::collections::BTreeMap<u32, (u64, u64)> = std::collections::BTreeMap::new();
        for (o, count) in observations.into_iter().filter(|(_, c)| *c > 0) {
            let entry = by_time.entry(o.days).or_default();
            match o.event {
                true => entry.0 += count,
                false => entry.1 += count,
            }
        }
        let n: u64 = by_time.values().map(|(d, c)| d + c).sum();
        let mut at_risk = n;
        let mut survival = 1.0;
        let mut steps = Vec::with_capacity(by_time.len());
        for (days, (events, censored)) in by_time {
            if events > 0 {
                survival *= 1.0 - events as f64 / at_risk as f64;
            }
            steps.push(Step { days, at_risk, events, censored, survival });
            at_risk -= events + censored;
        }
        let events = steps.iter().map(|s| s.events).sum();
        Self { steps, n, events, censored: n - events }
    }

    /// The curve, one step per distinct observed time (with events, censorings or both).
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Number of observations.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Observations that ended in the event.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Observations censored.
    pub fn censored(&self) -> u64 {
        self.censored
    }

    /// S(t): the estimated share still without the event after `t` days (1 before the first
    /// event; beyond the last observation it stays at its last value).
    pub fn survival_at(&self, t: u32) -> f64 {
        self.steps.iter().take_while(|s| s.days <= t).last().map_or(1.0, |s| s.survival)
    }

    /// S(t) where the data say something about it: while someone is still at risk at `t`, or
    /// once the curve has reached 0 (every remaining observation ended in the event). `None`
    /// beyond the last observation when that was censored, and for an empty fit.
    pub fn estimate_at(&self, t: u32) -> Option<f64> {
        let s = self.survival_at(t);
        (self.at_risk(t) > 0 || (self.n > 0 && s == 0.0)).then_some(s)
    }

    /// The number at risk at `t`: observations whose duration is at least `t` (those with the
    /// event or censored at `t` included).
    pub fn at_risk(&self, t: u32) -> u64 {
        self.steps.iter().find(|s| s.days >= t).map_or(0, |s| s.at_risk)
    }

    /// The median: the smallest time with S(t) ≤ 0.5; `None` if the curve never reaches 0.5.
    pub fn median(&self) -> Option<u32> {
        self.steps.iter().find(|s| s.events > 0 && s.survival <= 0.5 + HALF_TOLERANCE).map(|s| s.days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Nine durations with ties of events and a censoring at day 6:
    /// 6, 6, 6+, 7, 10+, 13, 16, 22+, 23 (`+`: censored). By hand, events before censorings:
    ///
    /// | t  | at risk | events | censored | S(t)                         |
    /// |----|---------|--------|----------|------------------------------|
    /// | 6  | 9       | 2      | 1        | 7/9            = 0.7778      |
    /// | 7  | 6       | 1      | 0        | 7/9 · 5/6      = 35/54       |
    /// | 10 | 5       | 0      | 1        | 35/54                        |
    /// | 13 | 4       | 1      | 0        | 35/54 · 3/4    = 35/72 ≈ .486|
    /// | 16 | 3       | 1      | 0        | 35/72 · 2/3    = 35/108      |
    /// | 22 | 2       | 0      | 1        | 35/108                       |
    /// | 23 | 1       | 1      | 0        | 0                            |
    ///
    /// Median 13 (the first S ≤ 0.5). Had the censoring at 6 gone first, S(6) would be 6/8.
    fn textbook() -> KaplanMeier {
        let (e, c) = (Observation::event, Observation::censored);
        KaplanMeier::fit(&[e(6), e(6), c(6), e(7), c(10), e(13), e(16), c(22), e(23)])
    }

    #[test]
    fn a_textbook_example_with_ties() {
        let km = textbook();
        assert_eq!((km.n(), km.events(), km.censored()), (9, 6, 3));
        let want = [
            (6, 9, 7.0 / 9.0),
            (7, 6, 35.0 / 54.0),
            (10, 5, 35.0 / 54.0),
            (13, 4, 35.0 / 72.0),
            (16, 3, 35.0 / 108.0),
            (22, 2, 35.0 / 108.0),
            (23, 1, 0.0),
        ];
        assert_eq!(km.steps().len(), want.len());
        for (step, (days, at_risk, s)) in km.steps().iter().zip(want) {
            assert_eq!((step.days, step.at_risk), (days, at_risk), "{step:?}");
            assert!(close(step.survival, s), "{step:?} want {s}");
        }
        assert_eq!(km.median(), Some(13));
        let at = [(0, 1.0), (5, 1.0), (6, 7.0 / 9.0), (12, 35.0 / 54.0), (13, 35.0 / 72.0), (22, 35.0 / 108.0), (23, 0.0), (99, 0.0)];
        for (t, s) in at {
            assert!(close(km.survival_at(t), s), "S({t}) = {} want {s}", km.survival_at(t));
        }
        let risk = [(0, 9), (6, 9), (7, 6), (8, 5), (13, 4), (14, 3), (23, 1), (24, 0)];
        for (t, n) in risk {
            assert_eq!(km.at_risk(t), n, "at risk at {t}");
        }
        // The curve reached 0 at 23, so S is known beyond the last observation.
        assert_eq!(km.estimate_at(30), Some(0.0));
    }

    #[test]
    fn all_censored_stays_at_one() {
        let km = KaplanMeier::fit(&[Observation::censored(3), Observation::censored(3), Observation::censored(40)]);
        assert_eq!((km.n(), km.events(), km.censored()), (3, 0, 3));
        assert_eq!(km.median(), None);
        assert!([0, 3, 39, 40, 1000].iter().all(|t| km.survival_at(*t) == 1.0));
        assert_eq!(km.estimate_at(40), Some(1.0));
        assert_eq!(km.estimate_at(41), None, "nobody at risk after the last censoring");
    }

    #[test]
    fn none_censored_is_the_empirical_survival() {
        let days = [3, 5, 5, 8, 8, 8, 12];
        let km = KaplanMeier::fit(&days.map(Observation::event));
        for t in 0..15 {
            let empirical = days.iter().filter(|d| **d > t).count() as f64 / days.len() as f64;
            assert!(close(km.survival_at(t), empirical), "S({t})");
        }
        // 6/7 after 3, 4/7 after 5, 1/7 after 8: the first at or below a half is 8.
        assert_eq!(km.median(), Some(8));
    }

    #[test]
    fn a_median_exactly_at_a_half_is_that_step() {
        let (e, c) = (Observation::event, Observation::censored);
        // 1, 2, 3, 4 all events: S(1) = 3/4, S(2) = 1/2 exactly: the median is 2, not 2.5.
        assert_eq!(KaplanMeier::fit(&[1, 2, 3, 4].map(e)).median(), Some(2));
        // 7, 7, 7, 8+, 9, 9+: S(7) = 1 − 3/6 = 1/2, with a censoring after it.
        assert_eq!(KaplanMeier::fit(&[e(7), e(7), e(7), c(8), e(9), c(9)]).median(), Some(7));
        // 1, 2, 2, 3+, 4+, 5+: S(1) = 5/6, S(2) = 5/6 · 3/5 = 1/2, which floating point
        // computes a hair off 0.5: still the median.
        let km = KaplanMeier::fit(&[e(1), e(2), e(2), c(3), c(4), c(5)]);
        assert!(close(km.survival_at(2), 0.5));
        assert_eq!(km.median(), Some(2));
        // 10, 11+, 12, 12+, 12+, 13+, 14+: S(12) = 6/7 · (1 − 1/5) = 24/35 > 1/2: no median.
        assert_eq!(KaplanMeier::fit(&[e(10), c(11), e(12), c(12), c(12), c(13), c(14)]).median(), None);
    }

    #[test]
    fn empty_and_counted_input() {
        let km = KaplanMeier::fit(&[]);
        assert_eq!((km.n(), km.events(), km.censored(), km.median()), (0, 0, 0, None));
        assert_eq!((km.survival_at(10), km.at_risk(0), km.estimate_at(0)), (1.0, 0, None));
        let counted = KaplanMeier::fit_counted([(Observation::event(6), 2), (Observation::censored(6), 1), (Observation::event(9), 0)]);
        let (e, c) = (Observation::event, Observation::censored);
        assert_eq!(counted, KaplanMeier::fit(&[e(6), c(6), e(6)]));
    }
}
