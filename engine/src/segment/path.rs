//! The typed path of a segment: `<table>/<partition>/seg-<id>.parquet`, with Hive-style
//! partition directories (`month=2024-01`, `day=2024-01-15`).

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Datelike, NaiveDate};

use crate::table::{Partitioning, TableName};

/// A time partition of a table: the Hive directory name and the half-open range of
/// microsecond timestamps it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    /// First microsecond of the partition (UTC).
    pub start: i64,
    /// First microsecond after the partition.
    pub end: i64,
    /// Directory name, e.g. `month=2024-01`.
    pub label: String,
}

fn micros_of(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0).map_or(0, |d| d.and_utc().timestamp_micros())
}

/// The date of `ts` and the half-open range `[start, end)` of its partition.
fn bounds(partitioning: Partitioning, ts: i64) -> (NaiveDate, i64, i64) {
    let date = DateTime::from_timestamp_micros(ts).map_or(NaiveDate::MIN, |d| d.date_naive());
    let (first, next) = match partitioning {
        Partitioning::Month => {
            let first = NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date);
            let next = if date.month() == 12 {
                NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
            }
            .unwrap_or(first);
            (first, next)
        }
        Partitioning::Day => (date, date.succ_opt().unwrap_or(date)),
    };
    (date, micros_of(first), micros_of(next))
}

impl Partition {
    /// The partition holding timestamp `ts` (µs since epoch, UTC). `ts` must be inside the
    /// supported range (years 1900..2200), which the write path validates.
    pub fn of(partitioning: Partitioning, ts: i64) -> Partition {
        let (date, start, end) = bounds(partitioning, ts);
        let label = match partitioning {
            Partitioning::Month => format!("month={:04}-{:02}", date.year(), date.month()),
            Partitioning::Day => format!("day={}", date.format("%Y-%m-%d")),
        };
        Partition { start, end, label }
    }

    /// Parses a label back (used when verifying a store's directory tree).
    pub fn from_label(partitioning: Partitioning, label: &str) -> Option<Partition> {
        let date = match partitioning {
            Partitioning::Month => {
                let rest = label.strip_prefix("month=")?;
                NaiveDate::parse_from_str(&format!("{rest}-01"), "%Y-%m-%d").ok()?
            }
            Partitioning::Day => {
                NaiveDate::parse_from_str(label.strip_prefix("day=")?, "%Y-%m-%d").ok()?
            }
        };
        let p = Partition::of(partitioning, micros_of(date));
        (p.label == label).then_some(p)
    }

    /// Whether `[lo, hi]` (inclusive) intersects this partition.
    pub fn overlaps(&self, lo: i64, hi: i64) -> bool {
        lo < self.end && hi >= self.start
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// Finds the partitions of a run of timestamps, remembering the last one: consecutive rows of
/// a batch or a memtable mostly share a partition, so most rows cost two comparisons and no
/// calendar arithmetic or label.
#[derive(Debug)]
pub(crate) struct PartitionCursor {
    partitioning: Partitioning,
    current: Option<(i64, i64)>,
}

impl PartitionCursor {
    pub(crate) fn new(partitioning: Partitioning) -> Self {
        Self { partitioning, current: None }
    }

    /// The first microsecond of the partition holding `ts` (which identifies it).
    pub(crate) fn start_of(&mut self, ts: i64) -> i64 {
        match self.current {
            Some((start, end)) if ts >= start && ts < end => start,
            _ => {
                let (_, start, end) = bounds(self.partitioning, ts);
                self.current = Some((start, end));
                start
            }
        }
    }
}

/// Store-relative path of a segment file.
pub(crate) fn segment_path(table: &TableName, partition_label: &str, id: u64) -> PathBuf {
    PathBuf::from(table.as_str()).join(partition_label).join(segment_file_name(id))
}

/// File name of a segment.
pub(crate) fn segment_file_name(id: u64) -> String {
    format!("seg-{id:010}.parquet")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).expect("ts").timestamp_micros()
    }

    #[test]
    fn month_and_day_partitions() {
        let p = Partition::of(Partitioning::Month, ts("2024-01-31T23:59:59Z"));
        assert_eq!(p.label, "month=2024-01");
        assert_eq!(p.start, ts("2024-01-01T00:00:00Z"));
        assert_eq!(p.end, ts("2024-02-01T00:00:00Z"));
        let p = Partition::of(Partitioning::Month, ts("2023-12-05T00:00:00Z"));
        assert_eq!(p.end, ts("2024-01-01T00:00:00Z"));
        let d = Partition::of(Partitioning::Day, ts("2024-01-15T14:30:00Z"));
        assert_eq!(d.label, "day=2024-01-15");
        assert_eq!(d.end - d.start, 86_400_000_000);
        let before_epoch = Partition::of(Partitioning::Day, ts("1969-12-31T23:00:00Z"));
        assert_eq!(before_epoch.label, "day=1969-12-31");
        assert_eq!(Partition::from_label(Partitioning::Day, "day=2024-01-15"), Some(d));
        assert_eq!(Partition::from_label(Partitioning::Month, "month=2024-1"), None);
        assert_eq!(Partition::from_label(Partitioning::Month, "day=2024-01-01"), None);
    }

    #[test]
    fn a_cursor_finds_the_partitions_partition_of_finds() {
        for partitioning in [Partitioning::Month, Partitioning::Day] {
            let mut cursor = PartitionCursor::new(partitioning);
            // Forward, across boundaries, then back to an earlier partition.
            let times = [
                "2023-12-31T23:59:59Z",
                "2024-01-01T00:00:00Z",
                "2024-01-01T15:00:00Z",
                "2024-02-29T12:00:00Z",
                "2023-12-31T00:00:00Z",
            ];
            for t in times {
                assert_eq!(cursor.start_of(ts(t)), Partition::of(partitioning, ts(t)).start, "{t}");
            }
        }
    }
}
