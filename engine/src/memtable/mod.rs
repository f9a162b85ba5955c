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
use crate::query::blocks::{Part, gather};
use crate::schema::row_schema;
use crate::segment::PartitionCursor;
use crate::table::Partitioning;

/// A row's (symbol, datetime, supersedes a segment row), as the write path hands it over.
pub(crate) type RowKey = (Arc<str>, i64, bool);

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
/// few long runs are copied run by run (`query::blocks::gather`: one copy of values and
/// validity per run, dictionaries rebuilt with the values used) instead of row by row.
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
    // A run of rows as a part of the gather the bulk scans use: values copied run by run
    // straight from the source buffers, dictionaries rebuilt with the values used.
    let parts: Vec<Part> = if use_slices {
        runs.iter()
            .map(|&(b, offset, len)| Part { columns: batches[b].columns().to_vec(), offset, len })
            .collect()
    } else {
        Vec::new()
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
        if use_slices && let Some(dt) = data_type {
            out.push(gather(&dt, c, &parts, positions.len())?);
        } else {
            let sources: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            out.push(interleave(&sources, positions)?);
        }
    }
    Ok(out)
}

/// Reorders a batch about to enter the memtable so that each time partition's rows are
/// contiguous (stable: (symbol, datetime) order is kept within a partition), with `keys`
/// permuted alike. A bulk import arrives symbol-major (each symbol's whole history, then the
/// next), so without this a flush gathers every partition as hundreds of short runs scattered
/// across the batch, each a cache and TLB miss; after it, one run per batch and partition.
/// A batch already in partition order (a daily append, a single partition) is returned as is.
pub(crate) fn partition_major(
    batch: RecordBatch,
    keys: Vec<RowKey>,
    partitioning: Partitioning,
) -> Result<(RecordBatch, Vec<RowKey>)> {
    let mut starts = Vec::with_capacity(keys.len());
    let mut cursor = PartitionCursor::new(partitioning);
    let mut sorted = true;
    for &(_, ts, _) in &keys {
        let start = cursor.start_of(ts);
        sorted &= starts.last().is_none_or(|&last| last <= start);
        starts.push(start);
    }
    if sorted {
        return Ok((batch, keys));
    }
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_by_key(|&i| starts[i as usize]);
    let indices = arrow::array::UInt32Array::from(order);
    let batch = arrow::compute::take_record_batch(&batch, &indices)?;
    let keys = indices.values().iter().map(|&i| keys[i as usize].clone()).collect();
    Ok((batch, keys))
}

impl Memtable {
    /// The batches rows point into.
    pub(crate) fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Array, BooleanArray, DictionaryArray, Float64Array, Int32Array, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::{DataType, Field, Int32Type, Schema, TimeUnit};

    const DAY: i64 = 86_400_000_000;

    /// A batch of `n` rows with nulls in every nullable column at rows divisible by 3.
    fn sample(n: usize, seed: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
            Field::new("i", DataType::Int32, true),
            Field::new(
                "d",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
        ]));
        let f: Float64Array =
            (0..n).map(|i| (i % 3 != 0).then_some(seed as f64 + i as f64 * 0.5)).collect();
        let b: BooleanArray = (0..n).map(|i| (i % 3 != 0).then_some(i % 2 == 0)).collect();
        let t =
            TimestampMicrosecondArray::from((0..n).map(|i| seed + i as i64).collect::<Vec<_>>())
                .with_timezone("UTC");
        let i32s: Int32Array = (0..n).map(|i| (i % 3 != 0).then_some(i as i32)).collect();
        let d: DictionaryArray<Int32Type> =
            (0..n).map(|i| (i % 3 != 0).then_some(if i % 2 == 0 { "x" } else { "y" })).collect();
        RecordBatch::try_new(
            schema,
            vec![Arc::new(f), Arc::new(b), Arc::new(t), Arc::new(i32s), Arc::new(d)],
        )
        .unwrap()
    }

    #[test]
    fn run_copies_equal_a_row_by_row_interleave() {
        let batches = vec![sample(40, 0), sample(40, 1_000)];
        // Long runs (so gather_columns takes the run path), across both batches, out of order.
        let positions: Vec<(usize, usize)> = (10..30)
            .map(|r| (1, r))
            .chain((0..40).map(|r| (0, r)))
            .chain((30..40).map(|r| (1, r)))
            .collect();
        let got = gather_columns(&batches, &positions, 0..5).unwrap();
        for (c, array) in got.iter().enumerate() {
            let sources: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            let want = interleave(&sources, &positions).unwrap();
            if let DataType::Dictionary(..) = array.data_type() {
                // Rebuilt with the values used: equal as strings, not as buffers.
                let as_text = |a: &dyn Array| arrow::compute::cast(a, &DataType::Utf8).unwrap();
                assert_eq!(as_text(array.as_ref()).to_data(), as_text(want.as_ref()).to_data());
            } else {
                assert_eq!(array.to_data(), want.to_data(), "column {c}");
            }
        }
        // The timestamp keeps its time zone; nulls survive the copy.
        assert_eq!(got[2].data_type(), batches[0].column(2).data_type());
        assert_eq!(got[0].null_count(), batches[0].column(0).null_count() + 10);
    }

    fn keys_for(symbols: &[&str], days: &[i64]) -> Vec<(Arc<str>, i64, bool)> {
        symbols
            .iter()
            .flat_map(|s| {
                let s: Arc<str> = Arc::from(*s);
                days.iter().map(move |d| (s.clone(), d * DAY, false))
            })
            .collect()
    }

    #[test]
    fn partition_major_groups_partitions_keeping_symbol_order_within() {
        // Two symbols, each with days in January and February 1970 (symbol-major input).
        let days = [0, 10, 40, 50];
        let keys = keys_for(&["A", "B"], &days);
        let ids = Int32Array::from((0..8).collect::<Vec<i32>>());
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(ids)]).unwrap();
        let (batch, keys) = partition_major(batch, keys, Partitioning::Month).unwrap();
        let order: Vec<i32> =
            batch.column(0).as_any().downcast_ref::<Int32Array>().unwrap().values().to_vec();
        // January: A's two rows then B's two; then February likewise.
        assert_eq!(order, vec![0, 1, 4, 5, 2, 3, 6, 7]);
        let got: Vec<(String, i64)> =
            keys.iter().map(|(s, t, _)| (s.to_string(), t / DAY)).collect();
        let want: Vec<(String, i64)> =
            [("A", 0), ("A", 10), ("B", 0), ("B", 10), ("A", 40), ("A", 50), ("B", 40), ("B", 50)]
                .iter()
                .map(|(s, d)| (s.to_string(), *d))
                .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn partition_major_returns_an_ordered_batch_untouched() {
        let keys = keys_for(&["A", "B"], &[0, 10]);
        let values = StringArray::from(vec!["a0", "a10", "b0", "b10"]);
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(values)]).unwrap();
        let (out, out_keys) =
            partition_major(batch.clone(), keys.clone(), Partitioning::Month).unwrap();
        // Same buffers, not a copy.
        assert!(out.column(0).to_data().ptr_eq(&batch.column(0).to_data()));
        assert_eq!(out_keys, keys);
    }
}
