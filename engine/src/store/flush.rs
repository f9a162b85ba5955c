//! Flushing memtables into segments, and the commit that makes new segments live.
//!
//! A flush freezes the memtables (new writes go to fresh ones and a new WAL file), writes
//! one segment per touched partition, and commits a new manifest naming them. A partition
//! where the memtable rewrites keys already in segments is rewritten whole (copy-on-write),
//! so segments never hold two versions of a key and external Parquet readers always see
//! exactly the latest revision.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use rayon::prelude::*;

use super::{Store, TableVersion, Version};
use crate::compaction::merge_runs;
use crate::corrections::{self, Correction};
use crate::error::{Error, Result, SegmentError};
use crate::index::{IndexBuilder, SegmentId, SymbolRange, TableIndex};
use crate::manifest::{CorrectionsFile, KernelStateFile, Manifest, TableManifest};
use crate::memtable::{Memtable, RowRef};
use crate::schema::COLUMN_COUNT;
use crate::segment::{
    Partition, PartitionCursor, SegmentMeta, SymbolRun, segment_path, write_segment,
};
use crate::storage::{Storage, display_path};

/// What a flush wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Rows moved from memtables to segments.
    pub rows: usize,
    /// Segments written.
    pub segments_written: usize,
    /// Segments replaced by rewritten partitions.
    pub segments_replaced: usize,
    /// Corrections persisted.
    pub corrections: usize,
}

impl FlushReport {
    /// Counts `other`'s work in this report too (several flushes reported as one).
    fn add(&mut self, other: &FlushReport) {
        self.rows += other.rows;
        self.segments_written += other.segments_written;
        self.segments_replaced += other.segments_replaced;
        self.corrections += other.corrections;
    }
}

/// A table's memtable, corrections and kernel states taken out of service by a flush.
pub(crate) type Frozen = (
    String,
    crate::table::TableSpec,
    Arc<Memtable>,
    Arc<Vec<Correction>>,
    Arc<crate::kernel::state_file::States>,
);

/// A segment produced by a flush or compaction, not yet committed.
#[derive(Debug)]
pub(crate) struct NewSegment {
    pub(crate) meta: SegmentMeta,
    pub(crate) runs: Vec<SymbolRun>,
    /// The encoded file, written by the commit together with the index.
    pub(crate) bytes: Vec<u8>,
}

/// Changes to one table committed together.
#[derive(Debug, Default)]
pub(crate) struct TableChange {
    pub(crate) added: Vec<NewSegment>,
    pub(crate) removed: Vec<u64>,
    pub(crate) corrections: Option<(CorrectionsFile, Vec<u8>)>,
    /// The table's kernel states as of the committed rows, replacing the previous file.
    pub(crate) kernel_state: Option<(KernelStateFile, Vec<u8>)>,
}

pub(crate) fn index_path(table: &str, generation: u64) -> PathBuf {
    PathBuf::from("_meta").join("index").join(format!("{table}-{generation:010}.idx"))
}

pub(crate) fn corrections_path(table: &str, id: u64) -> PathBuf {
    PathBuf::from("_meta").join("corrections").join(table).join(format!("corr-{id:010}.parquet"))
}

/// Encodes one segment; the commit writes it.
pub(crate) fn encode_segment(
    storage: &dyn Storage,
    table: &str,
    partition: &str,
    id: u64,
    level: u32,
    batch: &RecordBatch,
) -> Result<NewSegment> {
    let table_name = crate::table::TableName::new(table)?;
    let path = segment_path(&table_name, partition, id);
    // Stock tables have no extra columns: their segments stay the 97 of version 1.
    let columns = crate::table::TableSpec::from_conventional_name(table)
        .map_or(crate::schema::FIELD_COUNT, |s| crate::schema::table_column_count(s.asset_class));
    let written = write_segment(batch, columns, table, partition, id, level)
        .map_err(|source| SegmentError::Parquet { path: display_path(storage, &path), source })?;
    let meta = SegmentMeta {
        id,
        partition: partition.to_owned(),
        path: path.to_string_lossy().into_owned(),
        rows: batch.num_rows() as u64,
        bytes: written.bytes.len() as u64,
        crc32c: crc32c::crc32c(&written.bytes),
        min_ts: written.min_ts,
        max_ts: written.max_ts,
        symbols: written.runs.len() as u32,
        level,
    };
    Ok(NewSegment { meta, runs: written.runs, bytes: written.bytes })
}

impl Store {
    /// Writes every unflushed row to segments and commits them; afterwards the WAL holds
    /// nothing that the segments do not. A no-op when nothing is pending.
    pub fn flush(&self) -> Result<FlushReport> {
        self.check_writable()?;
        // A background flush started by an append finishes first (if it failed, its frozen
        // memtables are retried below, and that outcome is what counts).
        let background = self.inner.background_flush.lock().take();
        let mut report = FlushReport::default();
        if let Some(Ok(Ok(r))) = background.map(|h| h.join()) {
            report = r;
        }
        report.add(&self.flush_in_place()?);
        Ok(report)
    }

    /// The pool flushes encode segments on (`None` if it could not be built: then the
    /// global pool).
    fn flush_pool(&self) -> Option<&rayon::ThreadPool> {
        self.inner
            .flush_pool
            .get_or_init(|| {
                rayon::ThreadPoolBuilder::new()
                    .thread_name(|i| format!("candlestore-flush-{i}"))
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// The flush itself, in the calling thread (see [`Store::flush`]).
    pub(crate) fn flush_in_place(&self) -> Result<FlushReport> {
        let _commit = self.inner.commit_lock.lock();
        let wal = self.inner.wal.get().ok_or(Error::ReadOnly)?;
        // A flush that failed left its frozen memtables (still visible to readers): they
        // are committed first, so nothing acknowledged is ever skipped by the checkpoint.
        let mut report = FlushReport::default();
        let retry = self.inner.failed_flush.lock().take();
        if let Some((frozen, checkpoint)) = retry {
            match self.write_frozen(&frozen, checkpoint.0) {
                Ok(r) => {
                    report = r;
                    wal.remove_obsolete(checkpoint)?;
                }
                Err(e) => {
                    *self.inner.failed_flush.lock() = Some((frozen, checkpoint));
                    return Err(e);
                }
            }
        }
        // Freeze: from here new writes land in fresh memtables and a fresh WAL file.
        let (frozen, checkpoint) = {
            let _write = self.inner.write_lock.lock();
            let mut state = self.inner.state.write();
            if state
                .tables
                .values()
                .all(|t| t.active.is_empty() && t.pending_corrections.is_empty())
            {
                drop(state);
                self.collect_garbage()?;
                return Ok(report);
            }
            wal.roll()?;
            let checkpoint = wal.next_lsn();
            let mut frozen = Vec::new();
            for (name, t) in state.tables.iter_mut() {
                let memtable = Arc::new(std::mem::take(&mut t.active));
                let corrections = Arc::new(std::mem::take(&mut t.pending_corrections));
                t.frozen = Some(memtable.clone());
                t.frozen_corrections = corrections.clone();
                frozen.push((
                    name.clone(),
                    t.spec.clone(),
                    memtable,
                    corrections,
                    t.kernels.clone(),
                ));
            }
            (frozen, checkpoint)
        };
        let result = self.write_frozen(&frozen, checkpoint.0);
        let flushed = match result {
            Ok(r) => r,
            Err(e) => {
                *self.inner.failed_flush.lock() = Some((frozen, checkpoint));
                return Err(e);
            }
        };
        report.add(&flushed);
        wal.remove_obsolete(checkpoint)?;
        self.collect_garbage()?;
        Ok(report)
    }

    fn write_frozen(&self, frozen: &[Frozen], checkpoint: u64) -> Result<FlushReport> {
        let storage = self.inner.storage.as_ref();
        let version = self.inner.state.read().version.clone();
        let mut next_id = version.manifest.next_file_id.max(1);
        let mut report = FlushReport::default();
        let mut changes: BTreeMap<String, TableChange> = BTreeMap::new();
        for (name, spec, memtable, corrections, kernels) in frozen {
            if memtable.is_empty() && corrections.is_empty() {
                continue;
            }
            // Group rows by partition, keeping (symbol, datetime) order within each.
            let partitioning = spec.timeframe.partitioning();
            let mut groups: Vec<(Partition, Vec<RowRef>, bool)> = Vec::new();
            let mut by_start: HashMap<i64, usize> = HashMap::new();
            let mut cursor = PartitionCursor::new(partitioning);
            let mut last: Option<(i64, usize)> = None;
            for (_, ts, r) in memtable.iter() {
                let start = cursor.start_of(ts);
                let idx = match last {
                    Some((s, idx)) if s == start => idx,
                    _ => {
                        let idx = *by_start.entry(start).or_insert_with(|| {
                            groups.push((Partition::of(partitioning, ts), Vec::new(), false));
                            groups.len() - 1
                        });
                        last = Some((start, idx));
                        idx
                    }
                };
                groups[idx].1.push(r);
                groups[idx].2 |= r.replaces_segment_row;
            }
            groups.sort_by_key(|g| g.0.start);
            let table_version = version.tables.get(name).cloned();
            let ids: Vec<u64> = groups
                .iter()
                .map(|_| {
                    next_id += 1;
                    next_id - 1
                })
                .collect();
            let encode = || -> Vec<Result<(NewSegment, Vec<u64>)>> {
                groups
                    .par_iter()
                    .zip(ids.par_iter())
                    .map(|((partition, refs, replaces), &id)| {
                        let rows = memtable.gather(refs)?;
                        let mut replaced = Vec::new();
                        let batch = match (&table_version, replaces) {
                            (Some(tv), true) => {
                                let mut parts = Vec::new();
                                for seg in tv.partition_segments(&partition.label) {
                                    let reader = self.segment_reader(&seg)?;
                                    let all: Vec<usize> = (0..COLUMN_COUNT).collect();
                                    let columns = reader.columns_uncached(&all)?;
                                    parts.push(RecordBatch::try_new(
                                        crate::schema::row_schema(),
                                        columns,
                                    )?);
                                    replaced.push(seg.id);
                                }
                                parts.push(rows);
                                merge_runs(&parts)?
                            }
                            _ => rows,
                        };
                        let level = 0;
                        let seg =
                            encode_segment(storage, name, &partition.label, id, level, &batch)?;
                        Ok((seg, replaced))
                    })
                    .collect()
            };
            let outputs = match self.flush_pool() {
                Some(pool) => pool.install(encode),
                None => encode(),
            };
            let change = changes.entry(name.clone()).or_default();
            for out in outputs {
                let (seg, replaced) = out?;
                report.segments_written += 1;
                report.segments_replaced += replaced.len();
                change.added.push(seg);
                change.removed.extend(replaced);
            }
            report.rows += memtable.live_rows();
            if !memtable.is_empty() {
                let id = next_id;
                next_id += 1;
                let path = crate::kernel::state_file::state_path(name, id);
                let bytes = crate::kernel::state_file::encode(kernels)?;
                change.kernel_state = Some((
                    KernelStateFile {
                        path: path.to_string_lossy().into_owned(),
                        series: kernels.len() as u64,
                        bytes: bytes.len() as u64,
                        crc32c: crc32c::crc32c(&bytes),
                    },
                    bytes,
                ));
            }
            if !corrections.is_empty() {
                let id = next_id;
                next_id += 1;
                let path = corrections_path(name, id);
                let batch = corrections::to_batch(corrections)?;
                let bytes = crate::corrections::encode_parquet(&batch).map_err(|source| {
                    SegmentError::Parquet { path: display_path(storage, &path), source }
                })?;
                change.corrections = Some((
                    CorrectionsFile {
                        path: path.to_string_lossy().into_owned(),
                        rows: corrections.len() as u64,
                        bytes: bytes.len() as u64,
                        crc32c: crc32c::crc32c(&bytes),
                    },
                    bytes,
                ));
                report.corrections += corrections.len();
            }
        }
        self.commit(changes, next_id, Some(checkpoint), true)?;
        Ok(report)
    }

    /// Commits segment changes of several tables in one new manifest and installs the new
    /// version. With `clear_frozen`, the frozen memtables (now in segments) are dropped in
    /// the same step, so readers never see a row twice or not at all.
    pub(crate) fn commit(
        &self,
        changes: BTreeMap<String, TableChange>,
        next_file_id: u64,
        checkpoint: Option<u64>,
        clear_frozen: bool,
    ) -> Result<()> {
        let storage = self.inner.storage.as_ref();
        let old = self.inner.state.read().version.clone();
        let mut manifest: Manifest = old.manifest.clone();
        manifest.generation += 1;
        manifest.next_file_id = manifest.next_file_id.max(next_file_id);
        if let Some(c) = checkpoint {
            manifest.checkpoint_lsn = c;
        }
        let mut tables = old.tables.clone();
        let mut dead_files: Vec<PathBuf> = Vec::new();
        let mut dead_segments: Vec<u64> = Vec::new();
        let mut new_files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        for (name, change) in changes {
            let spec = self.table_spec(&name)?;
            let previous = old.tables.get(&name).cloned();
            let mut table_manifest =
                previous.as_ref().map_or_else(|| TableManifest::new(&spec), |t| t.manifest.clone());
            let mut builder = match previous.as_ref().and_then(|t| t.index.as_ref()) {
                Some(index) => IndexBuilder::from_index(index),
                None => IndexBuilder::new(),
            };
            for id in &change.removed {
                builder.remove_segment(SegmentId(*id));
                if let Some(pos) = table_manifest.segments.iter().position(|s| s.id == *id) {
                    let seg = table_manifest.segments.remove(pos);
                    dead_files.push(PathBuf::from(seg.path));
                    dead_segments.push(*id);
                }
            }
            {
                let state = self.inner.state.read();
                if let Some(t) = state.tables.get(&name) {
                    for (symbol, meta) in &t.symbols {
                        builder.symbol(symbol, meta.sector.as_deref(), meta.exchange.as_deref());
                    }
                }
            }
            for seg in change.added {
                let ranges: Vec<SymbolRange> = seg
                    .runs
                    .iter()
                    .map(|r| SymbolRange {
                        symbol: &r.symbol,
                        row_start: r.row_start,
                        row_count: r.row_count,
                        min_ts: r.min_ts,
                        max_ts: r.max_ts,
                    })
                    .collect();
                builder.add_segment(SegmentId(seg.meta.id), &ranges)?;
                new_files.push((PathBuf::from(&seg.meta.path), seg.bytes));
                table_manifest.segments.push(seg.meta);
            }
            table_manifest.segments.sort_by_key(|s| s.id);
            if let Some((c, bytes)) = change.corrections {
                new_files.push((PathBuf::from(&c.path), bytes));
                table_manifest.corrections.push(c);
            }
            if let Some((k, bytes)) = change.kernel_state {
                new_files.push((PathBuf::from(&k.path), bytes));
                if let Some(old_state) = table_manifest.kernel_state.replace(k) {
                    dead_files.push(PathBuf::from(old_state.path));
                }
            }
            let bytes = builder.finish();
            let path = index_path(&name, manifest.generation);
            if let Some(old_index) =
                table_manifest.index.replace(path.to_string_lossy().into_owned())
            {
                dead_files.push(PathBuf::from(old_index));
            }
            table_manifest.index_crc32c = crc32c::crc32c(&bytes);
            let index =
                TableIndex::open(bytes::Bytes::from(bytes.clone()), &display_path(storage, &path))?;
            new_files.push((path.clone(), bytes));
            let segments =
                table_manifest.segments.iter().map(|s| (s.id, Arc::new(s.clone()))).collect();
            manifest.tables.insert(name.clone(), table_manifest.clone());
            tables.insert(
                name,
                Arc::new(TableVersion {
                    spec,
                    manifest: table_manifest,
                    segments,
                    index: Some(index),
                }),
            );
        }
        // Segments, corrections and indexes are durable before the manifest names them.
        let refs: Vec<(&std::path::Path, &[u8])> =
            new_files.iter().map(|(p, b)| (p.as_path(), b.as_slice())).collect();
        storage.write_new_files(&refs).map_err(|e| {
            Error::io("write", display_path(storage, std::path::Path::new("new segments")), e)
        })?;
        drop(refs);
        drop(new_files);
        manifest.store(storage)?;
        let generation = manifest.generation;
        let new_version = Arc::new(Version { manifest, tables });
        {
            let mut state = self.inner.state.write();
            state.version = new_version;
            if clear_frozen {
                for t in state.tables.values_mut() {
                    t.frozen = None;
                    t.frozen_corrections = Arc::new(Vec::new());
                }
            }
        }
        self.inner.gc.bury(&old, generation, dead_files, dead_segments);
        Ok(())
    }

    /// Deletes files no version visible to a reader references. Runs after every flush and
    /// compaction; call it to reclaim space sooner once long scans finished.
    pub fn collect_garbage(&self) -> Result<usize> {
        self.inner
            .gc
            .collect(self.inner.storage.as_ref(), &self.inner.cache, &self.inner.readers)
            .map_err(|e| Error::io("remove", PathBuf::from("obsolete files"), e))
    }
}
