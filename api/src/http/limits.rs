//! Per-caller rate limits (token buckets from `governor`): every request counts against
//! `CIRCLES_RATE_LIMIT_PER_MINUTE` of its subject (or, without a valid token, of its IP
//! address); referral-code lookups (`referralByCode`, `recordReferralOutcome(code:)`,
//! `acknowledgeReferral(code:)`, `refuseReferral(code:)`, each alias counted) also against
//! the lower `CIRCLES_CODE_LOOKUPS_PER_MINUTE`, so that codes
//! cannot be guessed at speed. Over a limit: RATE_LIMITED with the seconds to wait (HTTP 429
//! and `Retry-After`). Lookups that find nothing are counted in `/metrics` and logged with
//! the subject, never the code tried.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use prometheus_client::metrics::counter::Counter;

use crate::errors::{ApiError, ApiResult};

/// Forget idle callers' buckets after this many checks (keeps memory bounded).
const SWEEP_EVERY: u64 = 10_000;

pub struct Limits {
    requests: DefaultKeyedRateLimiter<String>,
    code_lookups: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
    /// Code lookups that found no referral the caller may see.
    pub failed_code_lookups: Counter,
}

impl Limits {
    pub fn new(requests_per_minute: u32, code_lookups_per_minute: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            requests: RateLimiter::keyed(quota(requests_per_minute)),
            code_lookups: RateLimiter::keyed(quota(code_lookups_per_minute)),
            checks: AtomicU64::new(0),
            failed_code_lookups: Counter::default(),
        }
    }

    /// One request of `caller` (a subject, or `ip:<address>` without a valid token).
    pub fn request(&self, caller: &str) -> ApiResult<()> {
        self.sweep();
        take(&self.requests, caller, "requests")
    }

    /// One referral-code lookup of `subject`.
    pub fn code_lookup(&self, subject: &str) -> ApiResult<()> {
        take(&self.code_lookups, subject, "referral-code lookups")
    }

    /// Counts and logs a lookup that found nothing (the code itself is not logged).
    pub fn failed_code_lookup(&self, subject: &str) {
        self.failed_code_lookups.inc();
        tracing::warn!(subject, "referral code lookup found nothing");
    }

    fn sweep(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.requests.retain_recent();
            self.code_lookups.retain_recent();
        }
    }
}

fn take(limiter: &DefaultKeyedRateLimiter<String>, key: &str, what: &str) -> ApiResult<()> {
    match limiter.check_key(&key.to_owned()) {
        Ok(()) => Ok(()),
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Err(ApiError::RateLimited {
                message: format!("too many {what}: retry in {retry_after_secs} s"),
                retry_after_secs: retry_after_secs.max(1),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_per_caller_and_refuse_with_a_wait() {
        let limits = Limits::new(3, 2);
        for _ in 0..3 {
            assert!(limits.request("alice").is_ok());
        }
        match limits.request("alice") {
            Err(ApiError::RateLimited { retry_after_secs, .. }) => assert!((1..=60).contains(&retry_after_secs)),
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        assert!(limits.request("bob").is_ok(), "another caller has a bucket of their own");
        assert!(limits.code_lookup("alice").is_ok() && limits.code_lookup("alice").is_ok());
        assert!(matches!(limits.code_lookup("alice"), Err(ApiError::RateLimited { .. })));
    }
}
