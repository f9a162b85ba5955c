//! `verify`: re-reads everything the manifest references and checks every invariant the
//! reader relies on.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::TimestampMicrosecondType;

use super::{Store, wal_dir};
use crate::compaction::is_sorted_unique;
use crate::error::Result;
use crate::index::SymbolId;
use crate::schema::{COLUMN_COUNT, col, row_schema};
use crate::segment::{Partition, symbol_runs};
use crate::storage::display_path;

/// What `verify` checked and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Tables checked.
    pub tables: usize,
    /// Segments checked.
    pub segments: usize,
    /// Rows in segments.
    pub rows: u64,
    /// WAL frames found.
    pub wal_frames: u64,
    /// Every problem found, one sentence each. Empty means the store is consistent.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Store {
    /// Checks every file the current version references: checksums and sizes, Parquet
    /// decodability, row order and key uniqueness, partition bounds, index postings against
    /// the segments' actual symbol runs, the corrections files, and the WAL framing.
    /// Problems are collected, not returned as errors, so one run reports all of them.
    pub fn verify(&self) -> Result<VerifyReport> {
        let version = self.inner.state.read().version.clone();
        let storage = self.inner.storage.as_ref();
        let mut report = VerifyReport { tables: version.tables.len(), ..Default::default() };
        for (name, table) in &version.tables {
            let partitioning = table.spec.timeframe.partitioning();
            let mut runs_by_segment = BTreeMap::new();
            let mut partition_keys: std::collections::HashMap<
                String,
                std::collections::HashSet<(String, i64)>,
            > = std::collections::HashMap::new();
            for seg in table.segments.values() {
                report.segments += 1;
                report.rows += seg.rows;
                let path = display_path(storage, &PathBuf::from(&seg.path));
                let reader = match self.segment_reader(seg) {
                    Ok(r) => r,
                    Err(e) => {
                        report.problems.push(format!("table {name}: {e}"));
                        continue;
                    }
                };
                let all: Vec<usize> = (0..COLUMN_COUNT).collect();
                let batch = match reader
                    .columns(&all, &self.inner.cache)
                    .and_then(|c| Ok(RecordBatch::try_new(row_schema(), c)?))
                {
                    Ok(b) => b,
                    Err(e) => {
                        report
                            .problems
                            .push(format!("segment {}: cannot decode: {e}", path.display()));
                        continue;
                    }
                };
                if !is_sorted_unique(&batch)? {
                    report.problems.push(format!(
                        "segment {}: rows are not sorted by (symbol, datetime) with unique keys",
                        path.display()
                    ));
                }
                let ts = batch.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>();
                let (lo, hi) = ts
                    .values()
                    .iter()
                    .fold((i64::MAX, i64::MIN), |(a, b), &t| (a.min(t), b.max(t)));
                if batch.num_rows() > 0 && (lo != seg.min_ts || hi != seg.max_ts) {
                    report.problems.push(format!(
                        "segment {}: datetime range {lo}..{hi} differs from the manifest's {}..{}",
                        path.display(),
                        seg.min_ts,
                        seg.max_ts
                    ));
                }
                match Partition::from_label(partitioning, &seg.partition) {
                    Some(p) if p.start <= lo && hi < p.end => {}
                    _ => report.problems.push(format!(
                        "segment {}: rows fall outside partition {}",
                        path.display(),
                        seg.partition
                    )),
                }
                // Keys must be unique across the segments of a partition, not only within one.
                let mut keys = partition_keys.remove(&seg.partition).unwrap_or_default();
                let symbols = arrow::compute::cast(
                    batch.column(col::SYMBOL),
                    &arrow::datatypes::DataType::Utf8,
                )?;
                let symbols = symbols.as_string::<i32>();
                for i in 0..batch.num_rows() {
                    if !keys.insert((symbols.value(i).to_owned(), ts.value(i))) {
                        report.problems.push(format!(
                            "table {name}: key ({}, {}) is stored in more than one segment of partition {}",
                            symbols.value(i),
                            ts.value(i),
                            seg.partition
                        ));
                        break;
                    }
                }
                partition_keys.insert(seg.partition.clone(), keys);
                runs_by_segment.insert(seg.id, symbol_runs(&batch));
            }
            // The index must describe exactly the segments' symbol runs.
            match &table.index {
                None if !table.segments.is_empty() => {
                    report.problems.push(format!("table {name}: has segments but no index"));
                }
                None => {}
                Some(index) => {
                    let mut indexed = 0usize;
                    for sym in 0..index.symbol_count() {
                        let Some(info) = index.symbol(SymbolId(sym)) else { continue };
                        for r in index.ranges_for_symbol(SymbolId(sym)) {
                            indexed += 1;
                            let ok = runs_by_segment.get(&r.segment.0).is_some_and(|runs| {
                                runs.iter().any(|run| {
                                    run.symbol == info.name
                                        && run.row_start == r.row_start
                                        && run.row_count == r.row_count
                                        && run.min_ts == r.min_ts
                                        && run.max_ts == r.max_ts
                                })
                            });
                            if !ok {
                                report.problems.push(format!(
                                    "table {name}: index posting {} in segment {} rows {}+{} does not match the segment",
                                    info.name, r.segment, r.row_start, r.row_count
                                ));
                            }
                        }
                    }
                    let actual: usize = runs_by_segment.values().map(Vec::len).sum();
                    if indexed != actual {
                        report.problems.push(format!(
                            "table {name}: index has {indexed} postings, segments have {actual} symbol runs"
                        ));
                    }
                }
            }
            for file in &table.manifest.corrections {
                let path = PathBuf::from(&file.path);
                match storage.read(&path) {
                    Ok(bytes) if crc32c::crc32c(&bytes) == file.crc32c => {}
                    Ok(_) => report.problems.push(format!(
                        "corrections file {}: checksum mismatch",
                        display_path(storage, &path).display()
                    )),
                    Err(e) => report.problems.push(format!(
                        "corrections file {}: {e}",
                        display_path(storage, &path).display()
                    )),
                }
            }
        }
        match crate::wal::inspect(storage, &wal_dir()) {
            Ok(files) => {
                for f in files {
                    report.wal_frames += f.frames.len() as u64;
                    for d in f.defects {
                        report.problems.push(format!(
                            "wal {}: {} at offset {}",
                            f.path.display(),
                            d.defect,
                            d.offset
                        ));
                    }
                }
            }
            Err(e) => report.problems.push(e.to_string()),
        }
        Ok(report)
    }
}

impl Store {
    /// The compute log of a table: every indicator family that failed on a series (its
    /// fields are null from `first_bar` on, and `validation_notes` says
    /// `compute_failed:<family>`), by symbol. Empty when everything computed.
    pub fn compute_faults(&self, table: &str) -> Result<Vec<crate::kernel::SeriesFault>> {
        let state = self.inner.state.read();
        let t = state
            .tables
            .get(table)
            .ok_or_else(|| crate::Error::UnknownTable { table: table.to_owned() })?;
        let mut faults: Vec<crate::kernel::SeriesFault> = t
            .kernels
            .iter()
            .flat_map(|(symbol, s)| {
                s.failures().iter().map(move |(first_bar, family)| crate::kernel::SeriesFault {
                    symbol: symbol.to_string(),
                    first_bar: *first_bar,
                    family: family.clone(),
                })
            })
            .collect();
        faults.sort_by(|a, b| (&a.symbol, a.first_bar).cmp(&(&b.symbol, b.first_bar)));
        Ok(faults)
    }

    /// The corrections log of a table, oldest first (committed and pending).
    pub fn corrections(&self, table: &str) -> Result<Vec<crate::corrections::Correction>> {
        let snapshot = {
            let state = self.inner.state.read();
            if !state.tables.contains_key(table)
                && crate::table::TableSpec::from_conventional_name(table).is_none()
            {
                return Err(crate::error::Error::UnknownTable { table: table.to_owned() });
            }
            crate::query::Snapshot {
                _version: state.version.clone(),
                table: state.version.tables.get(table).cloned(),
            }
        };
        crate::query::table_corrections(self, table, &snapshot)
    }
}
