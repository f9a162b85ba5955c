//! Runs compaction tasks: merge, write, commit, and retire the inputs once unreferenced.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use rayon::prelude::*;

use super::{CompactionPolicy, CompactionTask, commit_groups, merge_runs, plan};
use crate::error::{Error, Result};
use crate::schema::{COLUMN_COUNT, row_schema};
use crate::store::{NewSegment, Store, TableChange, Version, encode_segment};

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Merges executed.
    pub tasks: usize,
    /// Segments merged away.
    pub segments_in: usize,
    /// Segments written.
    pub segments_out: usize,
    /// Rows rewritten.
    pub rows: u64,
    /// Commits made (one per group of merges, see `CompactionPolicy::group_rows`).
    pub commits: usize,
}

/// The merges `policy` plans for every table of `version`.
fn plan_version(version: &Version, policy: &CompactionPolicy) -> Vec<CompactionTask> {
    version.tables.iter().flat_map(|(name, t)| plan(name, &t.manifest.segments, policy)).collect()
}

impl Store {
    /// The merges `policy` would run now, per table.
    pub fn compaction_plan(&self, policy: &CompactionPolicy) -> Vec<CompactionTask> {
        plan_version(&self.inner.state.read().version, policy)
    }

    /// Merges small segments per `policy` and commits the result, one group of merges at a
    /// time (`CompactionPolicy::group_rows`): a group's merges run in parallel, are committed
    /// together and their inputs retired before the next group starts, so a large backlog
    /// never holds more than one group in memory, and an interrupted run keeps every group it
    /// committed.
    pub fn compact(&self, policy: &CompactionPolicy) -> Result<CompactionReport> {
        self.check_writable()?;
        let mut report = CompactionReport::default();
        // Planned afresh under the commit lock before each group: a flush between two groups
        // may have replaced segments the previous plan named.
        while let Some(done) = self.compact_group(policy)? {
            report.tasks += done.tasks;
            report.segments_in += done.segments_in;
            report.segments_out += done.segments_out;
            report.rows += done.rows;
            report.commits += 1;
        }
        Ok(report)
    }

    /// Plans, runs and commits the first group of merges, then collects the replaced files;
    /// `None` when nothing is left to merge.
    fn compact_group(&self, policy: &CompactionPolicy) -> Result<Option<CompactionReport>> {
        let _commit = self.inner.commit_lock.lock();
        let version = self.inner.state.read().version.clone();
        let Some(tasks) = commit_groups(plan_version(&version, policy), policy).into_iter().next()
        else {
            return Ok(None);
        };
        let first_id = version.manifest.next_file_id.max(1);
        let storage = self.inner.storage.as_ref();
        let outputs: Vec<Result<(String, NewSegment, Vec<u64>)>> = tasks
            .par_iter()
            .enumerate()
            .map(|(i, task)| {
                let table = version
                    .tables
                    .get(&task.table)
                    .ok_or_else(|| Error::UnknownTable { table: task.table.clone() })?;
                let mut parts: Vec<RecordBatch> = Vec::with_capacity(task.inputs.len());
                let mut level = 0;
                for id in &task.inputs {
                    let meta = table.segments.get(id).ok_or_else(|| Error::Corrupt {
                        reason: format!("compaction input segment {id} is not live"),
                    })?;
                    level = level.max(meta.level + 1);
                    let reader = self.segment_reader(meta)?;
                    let all: Vec<usize> = (0..COLUMN_COUNT).collect();
                    parts.push(RecordBatch::try_new(row_schema(), reader.columns_uncached(&all)?)?);
                }
                let merged = merge_runs(&parts)?;
                drop(parts);
                let seg = encode_segment(
                    storage,
                    &task.table,
                    &task.partition,
                    first_id + i as u64,
                    level,
                    &merged,
                )?;
                Ok((task.table.clone(), seg, task.inputs.clone()))
            })
            .collect();
        let mut changes: BTreeMap<String, TableChange> = BTreeMap::new();
        let mut report = CompactionReport { tasks: tasks.len(), ..Default::default() };
        for out in outputs {
            let (table, seg, inputs) = out?;
            report.segments_in += inputs.len();
            report.segments_out += 1;
            report.rows += seg.meta.rows;
            let change = changes.entry(table).or_default();
            change.added.push(seg);
            change.removed.extend(inputs);
        }
        self.commit(changes, first_id + tasks.len() as u64, None, false)?;
        drop(version);
        drop(_commit);
        self.collect_garbage()?;
        Ok(Some(report))
    }
}
