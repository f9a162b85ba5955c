//! Which segments to merge: a pure function of segment metadata.

use std::collections::BTreeMap;

use crate::segment::SegmentMeta;

/// Knobs of the compaction policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// Merge a partition once it has at least this many segments (default 2).
    pub min_segments: usize,
    /// Upper bound on the rows of one output segment (default 4,000,000).
    pub target_rows: u64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self { min_segments: 2, target_rows: 4_000_000 }
    }
}

/// One merge: these segments of one partition become one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionTask {
    /// Table name.
    pub table: String,
    /// Partition directory name.
    pub partition: String,
    /// Input segment ids, ascending.
    pub inputs: Vec<u64>,
    /// Rows the output will hold.
    pub rows: u64,
}

/// Plans merges for one table. Segments of a partition hold disjoint keys (the flush rewrites
/// a partition whose keys it supersedes), so any subset can be merged; consecutive ids are
/// packed greedily up to `target_rows`.
pub fn plan(
    table: &str,
    segments: &[SegmentMeta],
    policy: &CompactionPolicy,
) -> Vec<CompactionTask> {
    let mut by_partition: BTreeMap<&str, Vec<&SegmentMeta>> = BTreeMap::new();
    for s in segments {
        by_partition.entry(s.partition.as_str()).or_default().push(s);
    }
    let mut tasks = Vec::new();
    for (partition, mut segs) in by_partition {
        if segs.len() < policy.min_segments.max(2) {
            continue;
        }
        segs.sort_by_key(|s| s.id);
        let mut group: Vec<&SegmentMeta> = Vec::new();
        let mut rows = 0u64;
        let mut flush = |group: &mut Vec<&SegmentMeta>, rows: &mut u64| {
            if group.len() >= 2 {
                tasks.push(CompactionTask {
                    table: table.to_owned(),
                    partition: partition.to_owned(),
                    inputs: group.iter().map(|s| s.id).collect(),
                    rows: *rows,
                });
            }
            group.clear();
            *rows = 0;
        };
        for s in segs {
            if !group.is_empty() && rows + s.rows > policy.target_rows {
                flush(&mut group, &mut rows);
            }
            group.push(s);
            rows += s.rows;
        }
        flush(&mut group, &mut rows);
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(id: u64, partition: &str, rows: u64) -> SegmentMeta {
        SegmentMeta {
            id,
            partition: partition.into(),
            path: format!("t/{partition}/seg-{id}.parquet"),
            rows,
            bytes: rows * 10,
            crc32c: 0,
            min_ts: 0,
            max_ts: 0,
            symbols: 1,
            level: 0,
        }
    }

    #[test]
    fn merges_partitions_with_several_segments() {
        let segs = vec![
            seg(1, "month=2024-01", 500),
            seg(2, "month=2024-01", 500),
            seg(3, "month=2024-02", 500),
            seg(4, "month=2024-01", 500),
        ];
        let tasks = plan("stocks_daily", &segs, &CompactionPolicy::default());
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].partition, "month=2024-01");
        assert_eq!(tasks[0].inputs, vec![1, 2, 4]);
        assert_eq!(tasks[0].rows, 1500);
    }

    #[test]
    fn respects_target_rows_and_leaves_singletons() {
        let segs = vec![seg(1, "p", 60), seg(2, "p", 60), seg(3, "p", 60), seg(4, "p", 200)];
        let policy = CompactionPolicy { min_segments: 2, target_rows: 130 };
        let tasks = plan("t", &segs, &policy);
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].inputs, vec![1, 2]);
        assert!(plan("t", &[seg(1, "p", 1)], &CompactionPolicy::default()).is_empty());
    }
}
