//! A range read over one or more symbols, paged and streamed.
//!
//! Rows come symbol by symbol in name order, each symbol's bars in time order, so a row's
//! key (symbol, datetime) increases through the whole result and a cursor holding the last
//! key of a page says exactly where the next page starts. A page with a `limit` is planned
//! first by a pass over the `datetime` column alone (with the same filters), which finds the
//! key of its last row and whether more rows follow; the write pass then reads just that
//! range. So the next cursor is known before the first byte is sent and can go in a header
//! for the binary formats.

use std::io::Write;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::{Schema, SchemaRef, TimestampMicrosecondType};
use candlestore::export::{BatchWriter, ExportError};
use candlestore::{
    ScanBuilder, Store, TableSpec, bar_schema, column_index, row_schema, table_schema,
};

use crate::cursor::Cursor;
use crate::params::Range;

/// Symbols above which one range is read by a bulk scan (see `RangeRequest::write`).
const BULK_MIN_SYMBOLS: usize = 32;

/// What to read.
#[derive(Debug, Clone)]
pub(crate) struct RangeRequest {
    pub(crate) table: String,
    /// Existing symbols of the table, sorted by name, without repeats.
    pub(crate) symbols: Vec<String>,
    /// Known field names (validated), or every field.
    pub(crate) fields: Option<Vec<String>>,
    pub(crate) range: Range,
    pub(crate) validated_only: bool,
    pub(crate) min_quality: Option<f64>,
    pub(crate) as_of: Option<i64>,
    pub(crate) limit: Option<u64>,
    pub(crate) cursor: Option<Cursor>,
}

/// One symbol's slice of a page: `start <= datetime < end`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    symbol: String,
    start: Option<i64>,
    end: Option<i64>,
}

/// The slices a page reads and the cursor of the page after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    parts: Vec<Part>,
    pub(crate) next: Option<Cursor>,
}

/// A failure while writing a page.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    #[error("reading the store failed")]
    Store(#[from] candlestore::Error),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("writing the response failed")]
    Io(#[from] std::io::Error),
}

impl WriteError {
    /// The client went away (nothing to report to it).
    pub(crate) fn is_disconnect(&self) -> bool {
        matches!(self, WriteError::Export(e) if e.is_io()) || matches!(self, WriteError::Io(_))
    }
}

impl RangeRequest {
    /// The schema of the rows.
    pub(crate) fn schema(&self) -> SchemaRef {
        let full = row_schema();
        match &self.fields {
            // Every column of the table: the 97, and the extras of a crypto table.
            None => TableSpec::from_conventional_name(&self.table)
                .map_or_else(bar_schema, |s| table_schema(s.asset_class)),
            Some(names) => Arc::new(Schema::new(
                names
                    .iter()
                    .filter_map(|n| column_index(n))
                    .map(|i| full.field(i).clone())
                    .collect::<Vec<_>>(),
            )),
        }
    }

    fn scan(&self, store: &Store, part: &Part) -> ScanBuilder {
        self.scan_of(store, std::slice::from_ref(part))
    }

    /// One scan of `parts`, which share one time range.
    fn scan_of(&self, store: &Store, parts: &[Part]) -> ScanBuilder {
        let symbols = parts.iter().map(|p| p.symbol.clone());
        let mut b = store.scan(&self.table).symbols(symbols).validated_only(self.validated_only);
        if let Some(s) = parts.first().and_then(|p| p.start) {
            b = b.start(s);
        }
        if let Some(e) = parts.first().and_then(|p| p.end) {
            b = b.end(e);
        }
        if let Some(q) = self.min_quality {
            b = b.min_quality(q);
        }
        if let Some(t) = self.as_of {
            b = b.as_of(t);
        }
        b
    }

    /// The slices after the cursor, before the limit is applied.
    fn parts(&self) -> Vec<Part> {
        let first = match &self.cursor {
            Some(c) => self.symbols.partition_point(|s| s.as_str() < c.symbol.as_str()),
            None => 0,
        };
        self.symbols[first..]
            .iter()
            .map(|s| {
                let mut start = self.range.start;
                if let Some(c) = &self.cursor
                    && c.symbol == *s
                {
                    let after = c.datetime.saturating_add(1);
                    start = Some(start.map_or(after, |t| t.max(after)));
                }
                Part { symbol: s.clone(), start, end: self.range.end }
            })
            .collect()
    }

    /// Plans the page (reads the `datetime` column when there is a limit).
    pub(crate) fn plan(&self, store: &Store) -> candlestore::Result<Page> {
        let mut parts = self.parts();
        let Some(limit) = self.limit else { return Ok(Page { parts, next: None }) };
        let mut seen = 0u64;
        let mut last: Option<(usize, i64)> = None;
        'parts: for (i, part) in parts.iter().enumerate() {
            // An empty slice (a cursor past `end`) has nothing to count.
            if let (Some(s), Some(e)) = (part.start, part.end)
                && s >= e
            {
                continue;
            }
            for batch in self.scan(store, part).columns(["datetime"]).build()? {
                let batch = batch?;
                let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
                let n = batch.num_rows() as u64;
                if seen + n <= limit {
                    seen += n;
                    if n > 0 {
                        last = Some((i, ts.value(ts.len() - 1)));
                    }
                    continue;
                }
                // This batch holds the page's last row (unless the page ended with the
                // previous batch) and at least one row after it: there is a next page.
                let take = (limit - seen) as usize;
                if take > 0 {
                    last = Some((i, ts.value(take - 1)));
                }
                let Some((at, datetime)) = last else { break 'parts };
                parts.truncate(at + 1);
                parts[at].end = Some(datetime.saturating_add(1));
                let next = Cursor {
                    table: self.table.clone(),
                    symbol: parts[at].symbol.clone(),
                    datetime,
                };
                return Ok(Page { parts, next: Some(next) });
            }
        }
        Ok(Page { parts, next: None })
    }

    /// Writes the rows of `page` through `writer`.
    pub(crate) fn write<W: Write + Send>(
        &self,
        store: &Store,
        page: &Page,
        writer: &mut BatchWriter<W>,
    ) -> Result<(), WriteError> {
        // Consecutive slices with one time range (all but a cursor's first and a limit's
        // last) are read together: as bulk scans when there are many, which decode each
        // segment's rows about once for the lot (symbol order is kept), instead of once
        // per symbol through the shared cache.
        for group in page.parts.chunk_by(|a, b| (a.start, a.end) == (b.start, b.end)) {
            if let (Some(s), Some(e)) = (group[0].start, group[0].end)
                && s >= e
            {
                continue;
            }
            let bulk = group.len() > BULK_MIN_SYMBOLS;
            let scans: Vec<ScanBuilder> = if bulk {
                vec![self.scan_of(store, group).bulk(true)]
            } else {
                group.iter().map(|part| self.scan(store, part)).collect()
            };
            for mut scan in scans {
                if let Some(f) = &self.fields {
                    scan = scan.columns(f.iter().cloned());
                }
                if bulk {
                    read_ahead(scan.build()?, writer)?;
                } else {
                    for batch in scan.build()? {
                        writer.write(&batch?)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Batches a bulk scan may read ahead of the writer.
const READ_AHEAD_BATCHES: usize = 4;

/// Writes a bulk scan's batches while the next ones are read on a thread of their own, so
/// reading (decompressing, slicing) and encoding each get a core. A failed write drops the
/// receiver, which stops the reader at its next batch; a failed read is written as the error.
fn read_ahead<W: Write + Send>(
    scan: candlestore::Scan,
    writer: &mut BatchWriter<W>,
) -> Result<(), WriteError> {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(READ_AHEAD_BATCHES);
        s.spawn(move || {
            for batch in scan {
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    break;
                }
            }
        });
        for batch in rx {
            writer.write(&batch?)?;
        }
        Ok(())
    })
}
