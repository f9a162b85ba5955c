//! Detection of duplicate (symbol, datetime) pairs inside one file.
//!
//! Input files are sorted by time within each symbol in practice, so the common case is one
//! comparison with the symbol's latest timestamp and a push onto a sorted vector. Timestamps that
//! arrive out of order go to a per-symbol hash map. Memory is 16 bytes per accepted row, which is
//! what it takes to never merge a duplicate silently, however far apart the two rows are.

use std::collections::HashMap;

#[derive(Debug, Default)]
struct Series {
    /// (timestamp, line) in strictly increasing timestamp order.
    sorted: Vec<(i64, u64)>,
    /// Timestamps that arrived below the running maximum.
    late: HashMap<i64, u64>,
}

/// Remembers the first line of every (symbol, datetime) seen so far.
#[derive(Debug, Default)]
pub(crate) struct DuplicateTracker {
    series: HashMap<String, Series>,
}

impl DuplicateTracker {
    /// Records `(symbol, ts)` first seen at `line`; returns the earlier line if it is a duplicate.
    pub(crate) fn check(&mut self, symbol: &str, ts: i64, line: u64) -> Option<u64> {
        let series = match self.series.get_mut(symbol) {
            Some(s) => s,
            None => self.series.entry(symbol.to_owned()).or_default(),
        };
        match series.sorted.last() {
            None => {
                series.sorted.push((ts, line));
                return None;
            }
            Some(&(max, _)) if ts > max => {
                series.sorted.push((ts, line));
                return None;
            }
            Some(_) => {}
        }
        if let Ok(i) = series.sorted.binary_search_by_key(&ts, |&(t, _)| t) {
            return Some(series.sorted[i].1);
        }
        match series.late.get(&ts) {
            Some(&first) => Some(first),
            None => {
                series.late.insert(ts, line);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DuplicateTracker;

    #[test]
    fn finds_duplicates_in_and_out_of_order() {
        let mut t = DuplicateTracker::default();
        assert_eq!(t.check("A", 10, 2), None);
        assert_eq!(t.check("A", 20, 3), None);
        assert_eq!(t.check("B", 10, 4), None);
        assert_eq!(t.check("A", 20, 5), Some(3));
        assert_eq!(t.check("A", 10, 6), Some(2));
        assert_eq!(t.check("A", 15, 7), None);
        assert_eq!(t.check("A", 15, 8), Some(7));
        assert_eq!(t.check("A", 30, 9), None);
        assert_eq!(t.check("B", 10, 10), Some(4));
    }
}
