//! Small-cell suppression for published statistics (docs/statistics.md).
//!
//! A count from 1 to k−1 is withheld (primary suppression). A withheld count must not be
//! recoverable by subtraction either: whenever a *line* of the table — a set of cells whose
//! sum is published — holds exactly one withheld cell, a second cell of that line is
//! withheld too (complementary suppression), the smallest positive one, and so on until no
//! line holds a single withheld cell.
//!
//! The lines are the whole table (its sum is the total row) and, for a breakdown by two or
//! more dimensions, every slice along one dimension with the others fixed: its sum is a cell
//! of the breakdown by one dimension fewer, which a caller can ask for in another query.
//! Zeros are published as they are; a line with a lone withheld cell and no other positive
//! cell sums to that cell, so its sum is below k and withheld wherever it is published.

use std::collections::HashMap;

/// Which counts of one column to withhold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withheld {
    /// One flag per cell, in the order of the input.
    pub cells: Vec<bool>,
    pub total: bool,
}

/// Whether a single count is below the threshold (and not zero).
pub fn is_small(count: u64, k: u64) -> bool {
    count >= 1 && count < k
}

/// A table's shape: its lines, found once and shared by all its count columns.
pub struct Table {
    lines: Vec<Vec<usize>>,
}

impl Table {
    /// `coords[i]` places cell `i` in the table (one value index per dimension).
    pub fn new(coords: &[Vec<u32>]) -> Self {
        Self { lines: lines(coords) }
    }

    /// Suppression of one count column: `counts[i]` is the count of cell `i`; the total is
    /// their sum.
    pub fn suppress(&self, counts: &[u64], k: u64) -> Withheld {
        let total: u64 = counts.iter().sum();
        let mut cells: Vec<bool> = counts.iter().map(|&c| is_small(c, k)).collect();
        loop {
            let mut changed = false;
            for line in &self.lines {
                if line.iter().filter(|&&i| cells[i]).count() != 1 {
                    continue;
                }
                let partner = line.iter().copied().filter(|&i| !cells[i] && counts[i] > 0).min_by_key(|&i| (counts[i], i));
                if let Some(i) = partner {
                    cells[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Withheld { cells, total: is_small(total, k) }
    }
}

/// The sets of cells whose sums a caller can learn: for two or more dimensions each slice
/// along one dimension, then the whole table. Slices come first so that their complements
/// (a rectangle of four cells, typically) also protect the whole table.
fn lines(coords: &[Vec<u32>]) -> Vec<Vec<usize>> {
    let whole: Vec<usize> = (0..coords.len()).collect();
    let dims = coords.first().map_or(0, Vec::len);
    if dims < 2 {
        return vec![whole];
    }
    let mut lines = Vec::new();
    for free in 0..dims {
        let mut slices: HashMap<Vec<u32>, Vec<usize>> = HashMap::new();
        for (i, c) in coords.iter().enumerate() {
            let fixed: Vec<u32> = c.iter().enumerate().filter(|(d, _)| *d != free).map(|(_, v)| *v).collect();
            slices.entry(fixed).or_default().push(i);
        }
        let mut slices: Vec<Vec<usize>> = slices.into_values().collect();
        slices.sort();
        lines.extend(slices);
    }
    lines.push(whole);
    lines
}

/// The median of a histogram of `(value, how many)`; `None` when it is empty. With an even
/// number of values it is the mean of the two middle ones.
pub fn median(histogram: &[(i64, u64)]) -> Option<f64> {
    let mut sorted: Vec<(i64, u64)> = histogram.iter().copied().filter(|(_, n)| *n > 0).collect();
    sorted.sort_unstable();
    let n: u64 = sorted.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    // The values at 0-based ranks (n-1)/2 and n/2.
    let nth = |rank: u64| {
        let mut seen = 0;
        sorted.iter().find(|(_, c)| {
            seen += c;
            seen > rank
        })
    };
    let (lo, hi) = (nth((n - 1) / 2)?.0, nth(n / 2)?.0);
    Some((lo as f64 + hi as f64) / 2.0)
}

/// `numerator / denominator` unless either is withheld or the denominator is zero.
pub fn rate(numerator: Option<u64>, denominator: Option<u64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0 => Some(n as f64 / d as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 11;

    fn suppress(coords: &[Vec<u32>], counts: &[u64], k: u64) -> Withheld {
        Table::new(coords).suppress(counts, k)
    }

    fn one_dim(counts: &[u64]) -> Withheld {
        let coords: Vec<Vec<u32>> = (0..counts.len() as u32).map(|i| vec![i]).collect();
        suppress(&coords, counts, K)
    }

    /// Withheld cells as a string: `x` withheld, `.` published.
    fn marks(w: &Withheld) -> String {
        w.cells.iter().map(|&s| if s { 'x' } else { '.' }).collect()
    }

    #[test]
    fn one_dimension_table() {
        // (counts, withheld cells, total withheld, why)
        let cases: &[(&[u64], &str, bool, &str)] = &[
            (&[50, 40, 30], "...", false, "nothing small"),
            (&[50, 40, 3], ".xx", false, "one small cell: the next smallest is withheld too"),
            (&[40, 50, 3], "x.x", false, "the complement is the smallest positive cell"),
            (&[50, 3, 4], ".xx", false, "two small cells protect each other"),
            (&[3, 4, 5], "xxx", false, "all small, total 12 published"),
            (&[3, 4, 2], "xxx", true, "all small, total 9 below k and withheld"),
            (&[3], "x", true, "a single small cell equals its total, which is withheld"),
            (&[50, 0, 3], "x.x", false, "a zero is published and never chosen as complement"),
            (&[0, 0, 3], "..x", true, "only zeros beside it: the total equals the cell and is withheld"),
            (&[0, 0, 0], "...", false, "zero counts are published"),
            (&[11, 10], "xx", false, "k itself is published, k−1 is not; the 11 goes as complement"),
            (&[11, 12, 13], "...", false, "all at or above k"),
            (&[], "", false, "an empty table"),
            (&[1, 30, 30, 30], "xx..", false, "ties broken by position"),
        ];
        for (counts, cells, total, why) in cases {
            let w = one_dim(counts);
            assert_eq!((marks(&w).as_str(), w.total), (*cells, *total), "{counts:?}: {why}");
        }
    }

    /// No withheld count of a line can be recovered from the line's sum and its published cells.
    fn assert_safe(coords: &[Vec<u32>], counts: &[u64], w: &Withheld) {
        for line in lines(coords) {
            let withheld: Vec<usize> = line.iter().copied().filter(|&i| w.cells[i]).collect();
            if withheld.len() == 1 {
                let others: u64 = line.iter().filter(|&&i| i != withheld[0]).map(|&i| counts[i]).sum();
                assert_eq!(others, 0, "cell {} recoverable in line {line:?}", withheld[0]);
            }
        }
    }

    #[test]
    fn two_dimensions_protect_rows_and_columns() {
        // A 3 × 3 table, one small cell in the middle.
        let coords: Vec<Vec<u32>> = (0..3).flat_map(|r| (0..3).map(move |c| vec![r, c])).collect();
        let cases: &[(&[u64], &str)] = &[
            (&[40, 40, 40, 40, 5, 40, 40, 40, 40], "xx.xx...."),
            (&[40, 40, 40, 40, 40, 40, 40, 40, 40], "........."),
            (&[2, 40, 40, 40, 3, 40, 40, 40, 4], "xxxxx.x.x"),
            (&[12, 13, 14, 15, 16, 17, 18, 19, 1], "x.x...x.x"),
        ];
        for (counts, expected) in cases {
            let w = suppress(&coords, counts, K);
            assert_eq!(marks(&w), *expected, "{counts:?}");
            assert_safe(&coords, counts, &w);
        }
    }

    #[test]
    fn every_line_is_safe_on_many_random_tables() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let (rows, cols, layers) = (rng.random_range(1..6), rng.random_range(1..6), rng.random_range(1..3));
            let mut coords = Vec::new();
            let mut counts = Vec::new();
            for r in 0..rows {
                for c in 0..cols {
                    for l in 0..layers {
                        // Tables from GROUP BY have holes: some combinations are absent.
                        if rng.random_ratio(1, 5) {
                            continue;
                        }
                        coords.push(vec![r, c, l]);
                        counts.push(*[0, 1, 2, 5, 10, 11, 12, 40, 300].get(rng.random_range(0..9)).unwrap_or(&0));
                    }
                }
            }
            let w = suppress(&coords, &counts, K);
            assert_safe(&coords, &counts, &w);
            for (i, &c) in counts.iter().enumerate() {
                if is_small(c, K) {
                    assert!(w.cells[i], "small cell {i} ({c}) published");
                }
                if c == 0 {
                    assert!(!w.cells[i], "zero cell {i} withheld");
                }
            }
        }
    }

    #[test]
    fn medians() {
        type Histogram = &'static [(i64, u64)];
        let cases: &[(Histogram, Option<f64>)] = &[
            (&[], None),
            (&[(5, 0)], None),
            (&[(7, 1)], Some(7.0)),
            (&[(3, 1), (9, 1)], Some(6.0)),
            (&[(9, 2), (1, 1)], Some(9.0)),
            (&[(1, 2), (2, 2)], Some(1.5)),
            (&[(4, 3), (10, 1), (2, 1)], Some(4.0)),
            (&[(0, 5), (100, 5)], Some(50.0)),
        ];
        for (hist, want) in cases {
            assert_eq!(median(hist), *want, "{hist:?}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(rate(Some(1), Some(4)), Some(0.25));
        assert_eq!(rate(None, Some(4)), None);
        assert_eq!(rate(Some(1), None), None);
        assert_eq!(rate(Some(0), Some(0)), None);
    }
}
