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
    /// Rows merged between two commits (default 250,000). A run executes its merges in
    /// groups of at most this many rows (a larger merge forms a group of its own) and commits
    /// and releases each group before starting the next, so its memory is bounded by the
    /// group, not by the whole backlog.
    pub group_rows: u64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self { min_segments: 2, target_rows: 4_000_000, group_rows: 250_000 }
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

/// Splits `tasks` into commit groups, in order: consecutive tasks whose rows sum to at most
/// `policy.group_rows`; a task larger than that is a group of its own. Pure, like [`plan`].
pub(crate) fn commit_groups(
    tasks: Vec<CompactionTask>,
    policy: &CompactionPolicy,
) -> Vec<Vec<CompactionTask>> {
    let mut groups: Vec<Vec<CompactionTask>> = Vec::new();
    let mut rows = 0u64;
    for task in tasks {
        match groups.last_mut() {
            Some(group) if rows + task.rows <= policy.group_rows => {
                rows += task.rows;
                group.push(task);
            }
            _ => {
                rows = task.rows;
                groups.push(vec![task]);
            }
        }
    }
    groups
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
        let policy = CompactionPolicy { min_segments: 2, target_rows: 130, ..Default::default() };
        let tasks = plan("t", &segs, &policy);
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].inputs, vec![1, 2]);
        assert!(plan("t", &[seg(1, "p", 1)], &CompactionPolicy::default()).is_empty());
    }

    fn task(partition: &str, rows: u64) -> CompactionTask {
        CompactionTask { table: "t".into(), partition: partition.into(), inputs: vec![1, 2], rows }
    }

    #[test]
    fn commit_groups_are_bounded_by_rows_and_keep_order() {
        let policy = CompactionPolicy { group_rows: 100, ..Default::default() };
        let tasks = vec![task("a", 60), task("b", 40), task("c", 30), task("d", 250), task("e", 1)];
        let groups = commit_groups(tasks, &policy);
        let names: Vec<Vec<&str>> =
            groups.iter().map(|g| g.iter().map(|t| t.partition.as_str()).collect()).collect();
        assert_eq!(names, vec![vec!["a", "b"], vec!["c"], vec!["d"], vec!["e"]]);
        assert!(commit_groups(Vec::new(), &policy).is_empty());
    }
}
