//! Cell-key perturbation of published counts (docs/statistics.md), the method of the ABS
//! TableBuilder and the ONS: it protects researchers' statistics against differencing.
//!
//! Every referral holds a secret random *record key* (0–255). A cell's *cell key* is the sum
//! of its records' keys mod 256, so the same records always have the same cell key, in any
//! query shape. The *perturbation table* maps (true count, cell key) to the published count.
//! For each true count it is a distribution over the 256 keys (cell keys are uniform when the
//! record keys are), built here by `PTable::distribution` so that:
//! - it is unbiased: the mean published count over the 256 keys is the true count;
//! - a true 0 stays 0;
//! - nothing is published in 1..k−1: a small count goes to 0 or to k (or k+1, …);
//! - a count n ≥ k moves by at most ±D and never below k, with variance at least 1 — except
//!   n = k itself, which is published as k: a count that may not go below k and must average
//!   k cannot move. (A published k is still ambiguous: small counts are published as k too.)

use rand::Rng;

/// How many distinct record and cell keys there are.
pub const KEY_SPACE: u64 = 256;

/// A new record key from the thread's CSPRNG.
pub fn record_key() -> i16 {
    i16::from(rand::rng().random::<u8>())
}

/// The cell key of a cell whose record keys add up to `key_sum`.
pub fn cell_key(key_sum: i64) -> u8 {
    key_sum.rem_euclid(KEY_SPACE as i64) as u8
}

/// The perturbation table for threshold `k` and noise bound `d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PTable {
    k: u64,
    d: u64,
}

impl PTable {
    /// The smallest and largest k and D the table is built for (`Settings` refuses others).
    pub const K_RANGE: std::ops::RangeInclusive<u64> = 2..=100;
    pub const D_RANGE: std::ops::RangeInclusive<u64> = 1..=10;

    pub fn new(k: u64, d: u64) -> Self {
        Self { k: k.clamp(*Self::K_RANGE.start(), *Self::K_RANGE.end()), d: d.clamp(*Self::D_RANGE.start(), *Self::D_RANGE.end()) }
    }

    /// The published count of a cell with true count `n` and cell key `key`: keys in
    /// ascending order take the published values of `distribution(n)` in ascending order.
    pub fn publish(&self, n: u64, key: u8) -> u64 {
        let mut seen = 0;
        for (value, keys) in self.distribution(n) {
            seen += keys;
            if u64::from(key) < seen {
                return value;
            }
        }
        n
    }

    /// For true count `n`: each published value with the number of the 256 cell keys that
    /// give it, in ascending order of value. The counts add up to 256 and the values, weighted
    /// by them, to 256 × n (the table is unbiased).
    pub fn distribution(&self, n: u64) -> Vec<(u64, u64)> {
        let (k, d) = (self.k, self.d);
        let spread = |parts: &[(u64, u64)]| parts.iter().copied().filter(|(_, keys)| *keys > 0).collect();
        if n == 0 {
            return vec![(0, KEY_SPACE)];
        }
        if n < k {
            // `a` keys publish k (or a little more, to make the mean exact), the rest 0.
            let total = KEY_SPACE * n;
            let a = total / k;
            let extra = total - a * k;
            let (each, more) = (extra / a, extra % a);
            return spread(&[(0, KEY_SPACE - a), (k + each, a - more), (k + each + 1, more)]);
        }
        let low = k.max(n.saturating_sub(d));
        let below = n - low;
        if below == 0 {
            return vec![(n, KEY_SPACE)];
        }
        if below < d {
            // Near k: the mass below n is pushed towards k, balanced by the top value n + d.
            let m = KEY_SPACE / (below + d);
            return spread(&[(low, d * m), (n, KEY_SPACE - (below + d) * m), (n + d, below * m)]);
        }
        if d == 1 {
            return vec![(n - 1, KEY_SPACE / 2), (n + 1, KEY_SPACE / 2)];
        }
        // Interior: close to uniform over n−d ..= n+d, symmetric, the remainder at n.
        let each = KEY_SPACE / (2 * d + 1);
        (n - d..=n + d).map(|v| (v, if v == n { KEY_SPACE - 2 * d * each } else { each })).collect()
    }
}

/// `numerator / denominator` of two published counts, clamped to 0..1 (perturbation can
/// publish more attended than referred); none when the denominator is 0.
pub fn clamped_rate(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| (numerator as f64 / denominator as f64).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLES: [(u64, u64); 8] = [(2, 1), (3, 2), (5, 2), (11, 1), (11, 2), (11, 3), (20, 2), (100, 10)];

    fn true_counts(k: u64, d: u64) -> impl Iterator<Item = u64> {
        (0..=k + 3 * d + 5).chain([1_000, 123_456])
    }

    /// Every published value, key by key.
    fn published(t: &PTable, n: u64) -> Vec<u64> {
        (0..=255u8).map(|key| t.publish(n, key)).collect()
    }

    #[test]
    fn unbiased_over_all_keys() {
        for (k, d) in TABLES {
            let t = PTable::new(k, d);
            for n in true_counts(k, d) {
                let values = published(&t, n);
                assert_eq!(values.iter().sum::<u64>(), KEY_SPACE * n, "k={k} d={d} n={n}: the mean must be n");
            }
        }
    }

    #[test]
    fn zero_stays_zero_and_nothing_lands_in_one_to_k_minus_one() {
        for (k, d) in TABLES {
            let t = PTable::new(k, d);
            assert!(published(&t, 0).iter().all(|v| *v == 0), "k={k} d={d}");
            for n in true_counts(k, d) {
                for v in published(&t, n) {
                    assert!(v == 0 || v >= k, "k={k} d={d} n={n}: published {v}");
                }
            }
        }
    }

    #[test]
    fn counts_of_k_and_more_move_at_most_d_never_below_k_with_variance_at_least_one() {
        for (k, d) in TABLES {
            let t = PTable::new(k, d);
            for n in true_counts(k, d).filter(|n| *n >= k) {
                let values = published(&t, n);
                for v in &values {
                    assert!(*v >= k && v.abs_diff(n) <= d, "k={k} d={d} n={n}: published {v}");
                }
                let spread: u64 = values.iter().map(|v| v.abs_diff(n).pow(2)).sum();
                if n > k {
                    assert!(spread >= KEY_SPACE, "k={k} d={d} n={n}: variance {} < 1", spread as f64 / 256.0);
                } else {
                    assert_eq!(spread, 0, "n = k is published as k");
                }
            }
        }
    }

    #[test]
    fn the_distribution_covers_the_256_keys_in_ascending_order() {
        for (k, d) in TABLES {
            let t = PTable::new(k, d);
            for n in true_counts(k, d) {
                let dist = t.distribution(n);
                assert_eq!(dist.iter().map(|(_, c)| c).sum::<u64>(), KEY_SPACE, "k={k} d={d} n={n}");
                assert!(dist.windows(2).all(|w| w[0].0 < w[1].0), "k={k} d={d} n={n}: {dist:?}");
                let values = published(&t, n);
                for (value, keys) in dist {
                    assert_eq!(values.iter().filter(|v| **v == value).count() as u64, keys, "k={k} d={d} n={n} value {value}");
                }
            }
        }
    }

    #[test]
    fn the_default_table_for_small_and_interior_counts() {
        let t = PTable::new(11, 2);
        // One person: 23 of 256 keys publish 11 or 12 (mean exactly 1), the rest 0.
        assert_eq!(t.distribution(1), vec![(0, 233), (11, 20), (12, 3)]);
        assert_eq!(t.distribution(11), vec![(11, 256)]);
        assert_eq!(t.distribution(12), vec![(11, 170), (12, 1), (14, 85)]);
        assert_eq!(t.distribution(50), vec![(48, 51), (49, 51), (50, 52), (51, 51), (52, 51)]);
    }

    #[test]
    fn cell_keys_are_sums_mod_256_and_deterministic() {
        assert_eq!(cell_key(0), 0);
        assert_eq!(cell_key(255), 255);
        assert_eq!(cell_key(256), 0);
        assert_eq!(cell_key(255 + 255 + 3), 1);
        // The same records in any order (or split over two statements) give the same key.
        let keys = [17i64, 200, 3, 255, 99];
        let whole = cell_key(keys.iter().sum());
        let halves = cell_key(keys[..2].iter().sum::<i64>() + keys[2..].iter().sum::<i64>());
        assert_eq!(whole, halves);
        let t = PTable::new(11, 2);
        assert_eq!(t.publish(40, whole), t.publish(40, halves));
        for _ in 0..1000 {
            assert!((0..256).contains(&record_key()));
        }
    }

    #[test]
    fn rates_are_clamped() {
        assert_eq!(clamped_rate(13, 12), Some(1.0));
        assert_eq!(clamped_rate(0, 12), Some(0.0));
        assert_eq!(clamped_rate(6, 12), Some(0.5));
        assert_eq!(clamped_rate(5, 0), None);
    }
}
