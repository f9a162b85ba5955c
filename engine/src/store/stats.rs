//! Cheap summaries of what the store holds, for status pages and symbol listings: read from
//! the kernel states, the index and the manifest, never by scanning segments.

use std::collections::BTreeMap;

use super::{Store, SymbolMeta, TableState, TableVersion, wal_dir};
use crate::error::{Error, Result};
use crate::table::TableSpec;

/// One symbol of a table: its metadata, how many bars it has and its newest bar.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SymbolSummary {
    /// Symbol name.
    pub symbol: String,
    /// Sector from the last rows that carried one.
    pub sector: Option<String>,
    /// Exchange from the last rows that carried one.
    pub exchange: Option<String>,
    /// Number of bars.
    pub bars: u64,
    /// `datetime` of the oldest bar in segments (µs, UTC); `None` if it has none there yet.
    pub first_bar: Option<i64>,
    /// `datetime` of the newest bar (µs, UTC).
    pub last_bar: Option<i64>,
}

/// Storage figures of one table.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TableStats {
    /// The table's definition.
    pub spec: TableSpec,
    /// Distinct symbols.
    pub symbols: usize,
    /// Bars over all symbols.
    pub bars: u64,
    /// The newest bar of any symbol (µs, UTC).
    pub newest_bar: Option<i64>,
    /// Live segments.
    pub segments: usize,
    /// Bytes of the live segments.
    pub segment_bytes: u64,
    /// Distinct partitions with live segments.
    pub partitions: usize,
    /// Segments written by a flush and not compacted yet (level 0).
    pub level0_segments: usize,
    /// Rows in memtables, not yet flushed to segments.
    pub unflushed_rows: usize,
    /// Corrections not yet flushed to the corrections log.
    pub unflushed_corrections: usize,
}

/// Store-wide figures: commit generation, write-ahead log and cache.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Manifest generation (incremented by every commit).
    pub generation: u64,
    /// WAL frames below this LSN are in segments.
    pub checkpoint_lsn: u64,
    /// LSN the next WAL frame gets (`None` for a read-only store, which has no WAL writer).
    pub next_lsn: Option<u64>,
    /// WAL files on disk.
    pub wal_files: usize,
    /// Bytes of the WAL files.
    pub wal_bytes: u64,
    /// Bytes held by the decoded-column cache.
    pub cache_bytes: usize,
    /// Whether the store was opened read-only.
    pub read_only: bool,
}

impl Store {
    /// Every symbol of `table` in name order, with its bar count and newest bar. Counts
    /// include unflushed rows when the store is writable (they come from the kernel states);
    /// a read-only store sees what the segments hold.
    pub fn table_symbols(&self, table: &str) -> Result<Vec<SymbolSummary>> {
        let state = self.inner.state.read();
        let tstate = state
            .tables
            .get(table)
            .ok_or_else(|| Error::UnknownTable { table: table.to_owned() })?;
        let version = state.version.tables.get(table).map(|v| v.as_ref());
        Ok(tstate
            .symbols
            .iter()
            .map(|(name, meta)| summarize(tstate, version, name, meta))
            .collect())
    }

    /// One symbol of `table` (`None` if the table has no bar of it).
    pub fn table_symbol(&self, table: &str, symbol: &str) -> Result<Option<SymbolSummary>> {
        let state = self.inner.state.read();
        let tstate = state
            .tables
            .get(table)
            .ok_or_else(|| Error::UnknownTable { table: table.to_owned() })?;
        let version = state.version.tables.get(table).map(|v| v.as_ref());
        Ok(tstate.symbols.get(symbol).map(|meta| summarize(tstate, version, symbol, meta)))
    }

    /// Storage figures of `table`.
    pub fn table_stats(&self, table: &str) -> Result<TableStats> {
        let symbols = self.table_symbols(table)?;
        let state = self.inner.state.read();
        let tstate = state
            .tables
            .get(table)
            .ok_or_else(|| Error::UnknownTable { table: table.to_owned() })?;
        let (mut segments, mut segment_bytes, mut level0) = (0, 0, 0);
        let mut partitions = BTreeMap::new();
        if let Some(v) = state.version.tables.get(table) {
            for s in v.segments.values() {
                segments += 1;
                segment_bytes += s.bytes;
                level0 += usize::from(s.level == 0);
                partitions.insert(s.partition.as_str(), ());
            }
        }
        let unflushed_rows =
            tstate.active.live_rows() + tstate.frozen.as_ref().map_or(0, |f| f.live_rows());
        Ok(TableStats {
            spec: tstate.spec.clone(),
            symbols: symbols.len(),
            bars: symbols.iter().map(|s| s.bars).sum(),
            newest_bar: symbols.iter().filter_map(|s| s.last_bar).max(),
            segments,
            segment_bytes,
            partitions: partitions.len(),
            level0_segments: level0,
            unflushed_rows,
            unflushed_corrections: tstate.pending_corrections.len()
                + tstate.frozen_corrections.len(),
        })
    }

    /// Store-wide figures. Lists the WAL directory (no frame is read).
    pub fn stats(&self) -> Result<StoreStats> {
        let (generation, checkpoint_lsn) = {
            let state = self.inner.state.read();
            (state.version.manifest.generation, state.version.manifest.checkpoint_lsn)
        };
        let storage = self.inner.storage.as_ref();
        let dir = wal_dir();
        let names = match storage.list(&dir) {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(Error::io("list", crate::storage::display_path(storage, &dir), e));
            }
        };
        let mut wal_files = 0;
        let mut wal_bytes = 0;
        for name in names.iter().filter(|n| n.starts_with("wal-") && n.ends_with(".log")) {
            wal_files += 1;
            // A file removed by a concurrent checkpoint between list and size is just gone.
            wal_bytes += storage.size(&dir.join(name)).unwrap_or(0);
        }
        Ok(StoreStats {
            generation,
            checkpoint_lsn,
            next_lsn: self.inner.wal.get().map(|w| w.next_lsn().0),
            wal_files,
            wal_bytes,
            cache_bytes: self.cache_bytes(),
            read_only: self.inner.options.read_only,
        })
    }
}

fn summarize(
    tstate: &TableState,
    version: Option<&TableVersion>,
    name: &str,
    meta: &SymbolMeta,
) -> SymbolSummary {
    let index = version.and_then(|v| v.index.as_ref());
    let mut bars = 0u64;
    let mut first = None::<i64>;
    let mut last = None::<i64>;
    if let Some(index) = index
        && let Some(id) = index.symbol_id(name)
    {
        for r in index.ranges_for_symbol(id) {
            bars += u64::from(r.row_count);
            first = Some(first.map_or(r.min_ts, |f| f.min(r.min_ts)));
            last = Some(last.map_or(r.max_ts, |l| l.max(r.max_ts)));
        }
    }
    // The kernel state has consumed every bar, flushed or not: it wins when present.
    if let Some(k) = tstate.kernels.get(name) {
        bars = k.bars();
        last = k.last_ts().or(last);
    }
    SymbolSummary {
        symbol: name.to_owned(),
        sector: meta.sector.clone(),
        exchange: meta.exchange.clone(),
        bars,
        first_bar: first,
        last_bar: last,
    }
}
