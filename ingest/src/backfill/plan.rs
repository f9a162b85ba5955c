//! From a symbol's gaps to the fetches that fill them: nearby gaps share one request, long
//! ones are cut into requests of bounded size (bounded memory per fetch).

use candlestore::Micros;
use chrono::{Days, NaiveDate};

use crate::gaps::GapRange;
use crate::provider::request::Timeframe;

/// Gaps at most this many days apart are fetched with one request (the bars between them are
/// fetched too and dropped: they are already stored). Saves requests on scattered holes.
const COALESCE_DAYS: u64 = 10;

/// One request of a backfill: a date range and the missing bars it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchChunk {
    /// First date asked for.
    pub start: NaiveDate,
    /// Last date asked for (inclusive).
    pub end: NaiveDate,
    /// The missing bars in it, as (first, last) bar start µs, inclusive; only fetched bars
    /// inside one of these are stored.
    pub missing: Vec<(Micros, Micros)>,
    /// Missing bars in the chunk.
    pub bars: u64,
}

impl FetchChunk {
    /// Whether the bar starting at `t` fills a gap of this chunk.
    pub fn wants(&self, t: Micros) -> bool {
        // `missing` is sorted and disjoint: binary search on the range starts.
        let i = self.missing.partition_point(|(first, _)| *first <= t);
        i > 0 && t <= self.missing[i - 1].1
    }
}

/// The most days one request covers, by timeframe (1-minute bars: a week, ~10k bars).
pub fn max_days_per_request(timeframe: Timeframe) -> u64 {
    match timeframe {
        Timeframe::Minute1 => 7,
        Timeframe::Hour1 => 365,
        _ => 3660,
    }
}

/// The requests that fill `ranges` (in time order), at most `max_days` days each.
pub fn plan_chunks(ranges: &[GapRange], max_days: u64) -> Vec<FetchChunk> {
    let max_days = max_days.max(1);
    let mut spans: Vec<(NaiveDate, NaiveDate, Vec<&GapRange>)> = Vec::new();
    for r in ranges {
        if let Some((start, end, members)) = spans.last_mut() {
            let close = r.first_session <= *end + Days::new(COALESCE_DAYS);
            let fits = r.last_session < *start + Days::new(max_days);
            if close && fits {
                *end = (*end).max(r.last_session);
                members.push(r);
                continue;
            }
        }
        spans.push((r.first_session, r.last_session, vec![r]));
    }
    let mut out = Vec::new();
    for (start, end, members) in spans {
        let mut from = start;
        while from <= end {
            let to = (from + Days::new(max_days - 1)).min(end);
            let missing: Vec<(Micros, Micros)> = members
                .iter()
                .filter(|r| r.first_session <= to && r.last_session >= from)
                .map(|r| (r.first, r.last))
                .collect();
            let bars = members
                .iter()
                .filter(|r| r.first_session >= from && r.last_session <= to)
                .map(|r| r.bars)
                .sum();
            out.push(FetchChunk { start: from, end: to, missing, bars });
            from = to + Days::new(1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn range(first: &str, last: &str, bars: u64) -> GapRange {
        let us = |s: &str| d(s).and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros();
        GapRange {
            first: us(first),
            last: us(last),
            first_session: d(first),
            last_session: d(last),
            bars,
            sessions: bars as u32,
        }
    }

    #[test]
    fn nearby_gaps_share_a_request_far_ones_do_not() {
        let ranges = [
            range("2024-01-02", "2024-01-03", 2),
            range("2024-01-10", "2024-01-10", 1),
            range("2024-03-01", "2024-03-01", 1),
        ];
        let chunks = plan_chunks(&ranges, 3660);
        assert_eq!(chunks.len(), 2);
        assert_eq!(
            (chunks[0].start, chunks[0].end, chunks[0].bars),
            (d("2024-01-02"), d("2024-01-10"), 3)
        );
        assert_eq!(chunks[1].start, d("2024-03-01"));
        let us = |s: &str| d(s).and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros();
        assert!(chunks[0].wants(us("2024-01-03")));
        assert!(!chunks[0].wants(us("2024-01-05")), "a stored bar between two gaps");
        assert!(chunks[0].wants(us("2024-01-10")));
        assert!(!chunks[0].wants(us("2024-01-11")));
    }

    #[test]
    fn long_gaps_are_cut_to_the_request_size() {
        let chunks = plan_chunks(&[range("2024-01-01", "2024-01-20", 20)], 7);
        let spans: Vec<_> = chunks.iter().map(|c| (c.start, c.end)).collect();
        assert_eq!(
            spans,
            vec![
                (d("2024-01-01"), d("2024-01-07")),
                (d("2024-01-08"), d("2024-01-14")),
                (d("2024-01-15"), d("2024-01-20"))
            ]
        );
        assert!(chunks.iter().all(|c| c.missing.len() == 1));
        assert!(plan_chunks(&[], 7).is_empty());
    }
}
