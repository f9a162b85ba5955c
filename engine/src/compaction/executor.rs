//! Runs compaction tasks: merge, write, commit, and retire the inputs once unreferenced.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use rayon::prelude::*;

use super::{CompactionPolicy, CompactionTask, merge_runs, plan};
use crate::error::{Error, Result};
use crate::schema::{COLUMN_COUNT, row_schema};
use crate::store::{NewSegment, Store, TableChange, encode_segment};

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
}

impl Store {
    /// The merges `policy` would run now, per table.
    pub fn compaction_plan(&self, policy: &CompactionPolicy) -> Vec<CompactionTask> {
        let version = self.inner.state.read().version.clone();
        version
            .tables
            .iter()
            .flat_map(|(name, t)| plan(name, &t.manifest.segments, policy))
            .collect()
    }

    /// Merges small segments per `policy` and commits the result.
    pub fn compact(&self, policy: &CompactionPolicy) -> Result<CompactionReport> {
        self.check_writable()?;
        let _commit = self.inner.commit_lock.lock();
        let version = self.inner.state.read().version.clone();
        let tasks: Vec<CompactionTask> = version
            .tables
            .iter()
            .flat_map(|(name, t)| plan(name, &t.manifest.segments, policy))
            .collect();
        if tasks.is_empty() {
            return Ok(CompactionReport::default());
        }
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
        Ok(report)
    }
}
