//! When a failed webhook message is tried again (docs/webhooks.md): after each failed attempt
//! the next delay of the schedule (by default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, as the
//! Standard Webhooks spec suggests), with ±20 % random jitter, or the receiver's
//! `Retry-After` when that is longer (capped at the schedule's longest delay). When the
//! schedule is used up the message has FAILED; an admin may redeliver it.

use std::time::Duration;

/// The default schedule, `CIRCLES_WEBHOOK_RETRY_SCHEDULE` in humantime notation.
pub const DEFAULT: &str = "5s,5m,30m,2h,5h,10h";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl RetrySchedule {
    /// Parses a comma-separated list of durations (`5s,5m,30m`); at least one, each at most a day.
    pub fn parse(text: &str) -> Result<Self, String> {
        let delays = text
            .split(',')
            .map(|part| humantime::parse_duration(part.trim()).map_err(|e| format!("{part:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() || delays.len() > 20 {
            return Err("give between 1 and 20 delays".into());
        }
        if let Some(d) = delays.iter().find(|d| **d > Duration::from_secs(86_400) || d.is_zero()) {
            return Err(format!("{d:?}: each delay must be more than zero and at most a day"));
        }
        Ok(Self(delays))
    }

    /// Attempts in all: the first and one per delay.
    pub fn max_attempts(&self) -> u32 {
        self.0.len() as u32 + 1
    }

    /// The wait after the `attempts`-th failed attempt (1 = the first), with `jitter` in
    /// [-1, 1] scaling ±20 %, at least `retry_after` (capped at the longest delay); `None`
    /// when no attempt is left.
    pub fn delay_after(&self, attempts: u32, jitter: f64, retry_after: Option<Duration>) -> Option<Duration> {
        let base = *self.0.get(attempts.checked_sub(1)? as usize)?;
        let jittered = base.mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0));
        let longest = self.0.iter().max().copied().unwrap_or(base);
        Some(match retry_after {
            Some(wait) => jittered.max(wait.min(longest)),
            None => jittered,
        })
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::parse(DEFAULT).unwrap_or_else(|_| Self(vec![Duration::from_secs(5)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule() {
        let s = RetrySchedule::default();
        assert_eq!(s.max_attempts(), 7);
        let secs = |n: u32| s.delay_after(n, 0.0, None).map(|d| d.as_secs());
        assert_eq!([secs(1), secs(2), secs(3), secs(4), secs(5), secs(6)], [5, 300, 1800, 7200, 18000, 36000].map(Some));
        assert_eq!(secs(0), None);
        assert_eq!(secs(7), None, "after the last delay the message has failed");
    }

    #[test]
    fn jitter_and_retry_after() {
        let s = RetrySchedule::parse("10s,1m").unwrap_or_default();
        assert_eq!(s.delay_after(1, 1.0, None), Some(Duration::from_secs(12)));
        assert_eq!(s.delay_after(1, -1.0, None), Some(Duration::from_secs(8)));
        assert_eq!(s.delay_after(1, 5.0, None), Some(Duration::from_secs(12)), "jitter is clamped");
        assert_eq!(s.delay_after(1, 0.0, Some(Duration::from_secs(30))), Some(Duration::from_secs(30)));
        assert_eq!(s.delay_after(1, 0.0, Some(Duration::from_secs(3600))), Some(Duration::from_secs(60)), "capped");
    }

    #[test]
    fn bad_schedules_are_refused() {
        for bad in ["", "5x", "0s", "2d", "5s,,5s"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad:?}");
        }
        assert!(RetrySchedule::parse("1s, 2s").is_ok());
    }
}
