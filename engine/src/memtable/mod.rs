//! The memtable: bars written to the WAL but not yet flushed to segments.
//!
//! Rows live in the (already stamped, 97-column) batches they were appended in; an ordered
//! map (symbol, datetime) -> row locates the newest version of each key, so a flush walks the
//! map and gets rows already sorted by the segment clustering order.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::interleave;

use crate::error::Result;
use crate::schema::row_schema;

/// Where the newest version of a key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowRef {
    pub(crate) batch: u32,
    pub(crate) row: u32,
    /// The key also exists in a segment, whose copy this row supersedes.
    pub(crate) replaces_segment_row: bool,
}

/// Rows of one table not yet in segments.
#[derive(Debug, Default)]
pub(crate) struct Memtable {
    batches: Vec<RecordBatch>,
    rows: BTreeMap<Arc<str>, BTreeMap<i64, RowRef>>,
    live_rows: usize,
    bytes: usize,
    /// Smallest engine-clock time of a write held here (for the age-based flush trigger).
    oldest_write: Option<i64>,
}

impl Memtable {
    pub(crate) fn is_empty(&self) -> bool {
        self.live_rows == 0
    }

    pub(crate) fn live_rows(&self) -> usize {
        self.live_rows
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn oldest_write(&self) -> Option<i64> {
        self.oldest_write
    }

    pub(crate) fn batch(&self, idx: u32) -> &RecordBatch {
        &self.batches[idx as usize]
    }

    /// Every row of one symbol, by datetime.
    pub(crate) fn symbol_rows(&self, symbol: &str) -> Option<&BTreeMap<i64, RowRef>> {
        self.rows.get(symbol)
    }

    /// Adds a stamped batch; `keys[i]` is row i's (symbol, datetime, replaces_segment_row).
    pub(crate) fn insert(&mut self, batch: RecordBatch, keys: &[(Arc<str>, i64, bool)], now: i64) {
        let idx = self.batches.len() as u32;
        // All-null columns are zero-filled allocations never touched, so they cost no
        // resident memory: count only columns holding values.
        self.bytes += batch
            .columns()
            .iter()
            .filter(|a| a.null_count() < a.len())
            .map(|a| a.get_array_memory_size())
            .sum::<usize>();
        // Plus the ordered map's entry per key (key, row reference, node overhead).
        self.bytes += keys.len() * 64;
        self.batches.push(batch);
        let mut row = 0;
        while row < keys.len() {
            let symbol = &keys[row].0;
            let per_symbol = match self.rows.get_mut(symbol.as_ref()) {
                Some(m) => m,
                None => self.rows.entry(symbol.clone()).or_default(),
            };
            while row < keys.len() && Arc::ptr_eq(&keys[row].0, symbol) {
                let (_, ts, replaces) = &keys[row];
                let new = RowRef { batch: idx, row: row as u32, replaces_segment_row: *replaces };
                if per_symbol.insert(*ts, new).is_none() {
                    self.live_rows += 1;
                }
                row += 1;
            }
        }
        self.oldest_write = Some(self.oldest_write.map_or(now, |o| o.min(now)));
    }

    /// Symbols held, sorted.
    pub(crate) fn symbols(&self) -> impl Iterator<Item = &Arc<str>> {
        self.rows.keys()
    }

    /// The rows of `symbol` with `lo <= datetime < hi`, sorted by datetime.
    pub(crate) fn refs(&self, symbol: &str, lo: i64, hi: i64) -> Vec<(i64, RowRef)> {
        match self.rows.get(symbol) {
            Some(m) if lo < hi => m.range(lo..hi).map(|(t, r)| (*t, *r)).collect(),
            _ => Vec::new(),
        }
    }

    /// Every live row in (symbol, datetime) order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Arc<str>, i64, RowRef)> {
        self.rows.iter().flat_map(|(s, m)| m.iter().map(move |(t, r)| (s, *t, *r)))
    }

    /// Gathers rows into one row-schema batch, in the order given.
    pub(crate) fn gather(&self, refs: &[RowRef]) -> Result<RecordBatch> {
        gather_rows(&self.batches, refs.iter().map(|r| (r.batch as usize, r.row as usize)))
    }
}

/// Builds a batch from `(batch, row)` positions into `batches` (all of the row schema).
pub(crate) fn gather_rows(
    batches: &[RecordBatch],
    positions: impl Iterator<Item = (usize, usize)>,
) -> Result<RecordBatch> {
    let positions: Vec<(usize, usize)> = positions.collect();
    let schema = row_schema();
    if positions.is_empty() {
        return Ok(RecordBatch::new_empty(schema));
    }
    let columns = gather_columns(batches, &positions, 0..schema.fields().len())?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Gathers `columns` of rows at `positions` from `batches` (which share a schema). Columns
/// null in every source row are created null without reading them; positions that form a
/// few long runs are copied as slices instead of row by row.
pub(crate) fn gather_columns(
    batches: &[RecordBatch],
    positions: &[(usize, usize)],
    columns: impl Iterator<Item = usize>,
) -> Result<Vec<ArrayRef>> {
    use arrow::array::Array;
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for &(b, r) in positions {
        match runs.last_mut() {
            Some((rb, start, len)) if *rb == b && *start + *len == r => *len += 1,
            _ => runs.push((b, r, 1)),
        }
    }
    let use_slices = runs.len() * 16 <= positions.len();
    let used: Vec<usize> = {
        let mut u: Vec<usize> = runs.iter().map(|r| r.0).collect();
        u.sort_unstable();
        u.dedup();
        u
    };
    let mut out = Vec::new();
    for c in columns {
        let all_null = used.iter().all(|&b| {
            let a = batches[b].column(c);
            a.null_count() == a.len()
        });
        let data_type = batches.first().map(|b| b.column(c).data_type().clone());
        if all_null && let Some(dt) = data_type {
            out.push(arrow::array::new_null_array(&dt, positions.len()));
            continue;
        }
        if use_slices {
            let parts: Vec<ArrayRef> = runs
                .iter()
                .map(|&(b, start, len)| batches[b].column(c).slice(start, len))
                .collect();
            let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
            out.push(if refs.len() == 1 {
                parts[0].clone()
            } else {
                arrow::compute::concat(&refs)?
            });
        } else {
            let sources: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            out.push(interleave(&sources, positions)?);
        }
    }
    Ok(out)
}

impl Memtable {
    /// The batches rows point into.
    pub(crate) fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }
}
