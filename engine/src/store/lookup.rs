//! Finds the current version of a key for the upsert rule: active memtable, then the
//! memtable being flushed, then the segments (through the index).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::TimestampMicrosecondType;

use super::{Store, TableState, TableVersion};
use crate::error::Result;
use crate::index::RowRange;
use crate::memtable::Memtable;
use crate::schema::{COLUMN_COUNT, col, row_schema};
use crate::write::{ExistingRows, Found};

/// Segment rows are the full 97 columns of the segment, so a found row can be copied whole.
pub(crate) struct Lookup<'a> {
    store: &'a Store,
    table: &'a TableState,
    version: Option<&'a TableVersion>,
    sources: Vec<RecordBatch>,
    memtable_sources: HashMap<(bool, u32), usize>,
    segment_sources: HashMap<u64, usize>,
    ranges: HashMap<Box<str>, Vec<RowRange>>,
    /// Whether every symbol looked up so far came after the one before.
    ascending: bool,
    last_symbol: Option<String>,
    last_ranges: Vec<RowRange>,
    mem_symbol: Option<String>,
    mem_active: Option<&'a std::collections::BTreeMap<i64, crate::memtable::RowRef>>,
    mem_frozen: Option<&'a std::collections::BTreeMap<i64, crate::memtable::RowRef>>,
}

impl<'a> Lookup<'a> {
    pub(crate) fn new(
        store: &'a Store,
        table: &'a TableState,
        version: Option<&'a TableVersion>,
    ) -> Self {
        Self {
            store,
            table,
            version,
            sources: Vec::new(),
            memtable_sources: HashMap::new(),
            segment_sources: HashMap::new(),
            ranges: HashMap::new(),
            ascending: true,
            last_symbol: None,
            last_ranges: Vec::new(),
            mem_symbol: None,
            mem_active: None,
            mem_frozen: None,
        }
    }

    fn memtable_source(&mut self, frozen: bool, memtable: &Memtable, batch: u32) -> usize {
        *self.memtable_sources.entry((frozen, batch)).or_insert_with(|| {
            self.sources.push(memtable.batch(batch).clone());
            self.sources.len() - 1
        })
    }

    fn segment_source(&mut self, segment: u64) -> Result<Option<usize>> {
        if let Some(&idx) = self.segment_sources.get(&segment) {
            return Ok(Some(idx));
        }
        let Some(meta) = self.version.and_then(|v| v.segments.get(&segment)) else {
            return Ok(None);
        };
        let reader = self.store.segment_reader(meta)?;
        let all: Vec<usize> = (0..COLUMN_COUNT).collect();
        let columns = reader.columns(&all, &self.store.inner.cache)?;
        self.sources.push(RecordBatch::try_new(row_schema(), columns)?);
        let idx = self.sources.len() - 1;
        self.segment_sources.insert(segment, idx);
        Ok(Some(idx))
    }

    /// The index's row ranges of `symbol` in `last_ranges` (kept while consecutive rows
    /// name the same symbol). Once the rows' symbols are out of order, a symbol's ranges are
    /// also kept in `ranges`, so a batch interleaving symbols decodes each symbol's postings
    /// about once; while they ascend, no symbol can come back and nothing is kept.
    fn symbol_ranges(&mut self, symbol: &str) {
        if self.last_symbol.as_deref() == Some(symbol) {
            return;
        }
        if self.last_symbol.as_deref().is_some_and(|last| symbol < last) {
            self.ascending = false;
        }
        self.last_ranges.clear();
        if let Some(ranges) = self.ranges.get(symbol) {
            self.last_ranges.extend_from_slice(ranges);
        } else {
            if let Some(index) = self.version.and_then(|v| v.index.as_ref())
                && let Some(id) = index.symbol_id(symbol)
            {
                self.last_ranges.extend(index.ranges_for_symbol(id));
            }
            if !self.ascending {
                self.ranges.insert(symbol.into(), self.last_ranges.clone());
            }
        }
        let last = self.last_symbol.get_or_insert_with(String::new);
        last.clear();
        last.push_str(symbol);
    }
}

impl ExistingRows for Lookup<'_> {
    fn find(&mut self, symbol: &str, ts: i64) -> Result<Option<Found>> {
        let table = self.table;
        if self.mem_symbol.as_deref() != Some(symbol) {
            let last = self.mem_symbol.get_or_insert_with(String::new);
            last.clear();
            last.push_str(symbol);
            self.mem_active = table.active.symbol_rows(symbol);
            self.mem_frozen = table.frozen.as_deref().and_then(|f| f.symbol_rows(symbol));
        }
        if let Some(r) = self.mem_active.and_then(|m| m.get(&ts)).copied() {
            let source = self.memtable_source(false, &table.active, r.batch);
            return Ok(Some(Found {
                source,
                row: r.row as usize,
                in_segment: r.replaces_segment_row,
            }));
        }
        // The frozen memtable is on its way into segments (a failed flush is retried before
        // the next one), so a row superseding it supersedes a segment row.
        if let Some(r) = self.mem_frozen.and_then(|m| m.get(&ts)).copied()
            && let Some(frozen) = table.frozen.as_ref().map(Arc::clone)
        {
            let source = self.memtable_source(true, &frozen, r.batch);
            return Ok(Some(Found { source, row: r.row as usize, in_segment: true }));
        }
        self.symbol_ranges(symbol);
        for k in 0..self.last_ranges.len() {
            let range = self.last_ranges[k];
            if !(range.min_ts <= ts && ts <= range.max_ts) {
                continue;
            }
            let Some(source) = self.segment_source(range.segment.0)? else { continue };
            let times = self.sources[source]
                .column(col::DATETIME)
                .as_primitive::<TimestampMicrosecondType>();
            let start = range.row_start as usize;
            let end = start + range.row_count as usize;
            let Some(slice) = times.values().get(start..end) else { continue };
            if let Ok(pos) = slice.binary_search(&ts) {
                return Ok(Some(Found { source, row: start + pos, in_segment: true }));
            }
        }
        Ok(None)
    }

    fn sources(&self) -> &[RecordBatch] {
        &self.sources
    }
}
