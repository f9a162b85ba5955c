//! The scan builder and the iterator it returns.

use std::sync::Arc;

use arrow::array::Float64Array;
use arrow::array::{AsArray, BooleanArray, RecordBatch};
use arrow::compute::kernels::cmp::gt_eq;
use arrow::compute::{and, filter_record_batch};
use arrow::datatypes::{Schema, SchemaRef};

use super::asof::AsOf;
use super::blocks::Windows;
use super::plan::{Chunk, Plan};
use crate::error::{Error, Result};
use crate::schema::{FIELD_COUNT, bar_schema, col, column_index, row_schema, table_column_count};
use crate::store::Store;
use crate::table::TableSpec;
use crate::write::is_valid_symbol;

/// The shared schema of a table's first `width` columns (97 or all).
fn table_schema_of_width(width: usize) -> SchemaRef {
    if width == FIELD_COUNT { bar_schema() } else { row_schema() }
}

/// Which symbols a scan reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SymbolSelection {
    /// Every symbol of the table.
    #[default]
    All,
    /// These symbols.
    List(Vec<String>),
    /// Every symbol whose metadata names this sector.
    Sector(String),
    /// Every symbol listed on this exchange.
    Exchange(String),
}

/// Builds a scan of one table. Nothing is read until [`ScanBuilder::build`].
#[derive(Debug, Clone)]
pub struct ScanBuilder {
    store: Store,
    table: String,
    symbols: SymbolSelection,
    start: Option<i64>,
    end: Option<i64>,
    columns: Option<Vec<String>>,
    as_of: Option<i64>,
    min_quality: Option<f64>,
    validated_only: bool,
    bulk: bool,
}

impl Store {
    /// Starts a scan of `table`.
    pub fn scan(&self, table: &str) -> ScanBuilder {
        ScanBuilder {
            store: self.clone(),
            table: table.to_owned(),
            symbols: SymbolSelection::All,
            start: None,
            end: None,
            columns: None,
            as_of: None,
            min_quality: None,
            validated_only: false,
            bulk: false,
        }
    }
}

impl ScanBuilder {
    /// Reads only these symbols.
    pub fn symbols<I, S>(mut self, symbols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.symbols = SymbolSelection::List(symbols.into_iter().map(Into::into).collect());
        self
    }

    /// Reads one symbol.
    pub fn symbol(self, symbol: impl Into<String>) -> Self {
        self.symbols([symbol.into()])
    }

    /// Reads the symbols of a selection.
    pub fn selection(mut self, selection: SymbolSelection) -> Self {
        self.symbols = selection;
        self
    }

    /// Reads every symbol of a sector.
    pub fn sector(self, sector: impl Into<String>) -> Self {
        self.selection(SymbolSelection::Sector(sector.into()))
    }

    /// Reads every symbol of an exchange.
    pub fn exchange(self, exchange: impl Into<String>) -> Self {
        self.selection(SymbolSelection::Exchange(exchange.into()))
    }

    /// Rows with `start <= datetime` (µs since the epoch, UTC).
    pub fn start(mut self, start: i64) -> Self {
        self.start = Some(start);
        self
    }

    /// Rows with `datetime < end` (exclusive).
    pub fn end(mut self, end: i64) -> Self {
        self.end = Some(end);
        self
    }

    /// Rows with `start <= datetime < end`.
    pub fn time_range(self, start: i64, end: i64) -> Self {
        self.start(start).end(end)
    }

    /// Returns only these columns, in this order (default: all of the table's: the 97, and for a
    /// crypto table `funding_rate` and `open_interest` after them).
    pub fn columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Reads the data as it was at `as_of` (µs, engine clock): rows inserted later are
    /// hidden and later corrections are undone.
    pub fn as_of(mut self, as_of: i64) -> Self {
        self.as_of = Some(as_of);
        self
    }

    /// Only rows with `quality_score >= q`.
    pub fn min_quality(mut self, q: f64) -> Self {
        self.min_quality = Some(q);
        self
    }

    /// Only rows with `is_validated = true`.
    pub fn validated_only(mut self, yes: bool) -> Self {
        self.validated_only = yes;
        self
    }

    /// Marks the scan as a one-off read of much data, such as an export: each symbol of a
    /// list is still returned in turn (name order) however long the list, but segment rows
    /// are decoded into windows owned by this scan (bounded, see `BULK_WINDOW_BYTES` in
    /// `query/blocks.rs`) instead of whole segments through the store's shared column
    /// cache, which this scan neither fills nor evicts. Results are identical either way.
    pub fn bulk(mut self, yes: bool) -> Self {
        self.bulk = yes;
        self
    }

    /// Plans the scan against a consistent snapshot of the store.
    pub fn build(self) -> Result<Scan> {
        // The table's columns: the 97, plus the extras for crypto tables.
        let width = TableSpec::from_conventional_name(&self.table)
            .map_or(FIELD_COUNT, |s| table_column_count(s.asset_class));
        let out_cols: Vec<usize> = match &self.columns {
            None => (0..width).collect(),
            Some(names) => {
                if names.is_empty() {
                    return Err(Error::InvalidScan { reason: "the column list is empty".into() });
                }
                names
                    .iter()
                    .map(|n| match column_index(n) {
                        None => Err(Error::UnknownColumn { column: n.clone() }),
                        Some(c) if c >= width => {
                            Err(Error::NotInTable { column: n.clone(), table: self.table.clone() })
                        }
                        Some(c) => Ok(c),
                    })
                    .collect::<Result<_>>()?
            }
        };
        if let (Some(s), Some(e)) = (self.start, self.end)
            && s > e
        {
            return Err(Error::InvalidScan { reason: format!("start {s} is after end {e}") });
        }
        if let Some(q) = self.min_quality
            && !(0.0..=1.0).contains(&q)
        {
            return Err(Error::InvalidScan { reason: format!("min_quality {q} is outside 0..=1") });
        }
        if let SymbolSelection::List(list) = &self.symbols {
            for s in list {
                if !is_valid_symbol(s) {
                    return Err(Error::InvalidScan {
                        reason: format!("{s:?} is not a valid symbol"),
                    });
                }
            }
        }
        // Columns the scan works on: the output plus what merging and filtering need.
        let mut work: Vec<usize> = out_cols.clone();
        work.extend([col::SYMBOL, col::DATETIME]);
        if self.min_quality.is_some() {
            work.push(col::QUALITY_SCORE);
        }
        if self.validated_only {
            work.push(col::IS_VALIDATED);
        }
        if self.as_of.is_some() {
            work.extend([col::CREATED_AT, col::UPDATED_AT, col::REVISION]);
        }
        work.sort_unstable();
        work.dedup();
        let start = self.start.unwrap_or(i64::MIN);
        let end = self.end.unwrap_or(i64::MAX);
        let plan =
            Plan::build(&self.store, &self.table, &self.symbols, start, end, &work, self.bulk)?;
        let as_of = match self.as_of {
            Some(t) => Some(AsOf::load(&self.store, &self.table, t, &plan.snapshot)?),
            None => None,
        };
        let full = row_schema();
        let out_schema: SchemaRef = if self.columns.is_none() {
            table_schema_of_width(width)
        } else {
            Arc::new(Schema::new(
                out_cols.iter().map(|&c| full.field(c).clone()).collect::<Vec<_>>(),
            ))
        };
        let position = |c: usize| work.binary_search(&c).unwrap_or(0);
        let out_positions = out_cols.iter().map(|&c| position(c)).collect();
        let min_quality = self.min_quality.map(|q| (position(col::QUALITY_SCORE), q));
        let validated_only = self.validated_only.then(|| position(col::IS_VALIDATED));
        let windows = self.bulk.then(|| Windows::new(Chunk::segments(&plan.chunks), work.len()));
        Ok(Scan {
            store: self.store,
            chunks: plan.chunks.into_iter(),
            _snapshot: plan.snapshot,
            work,
            out_positions,
            out_schema,
            as_of,
            min_quality,
            validated_only,
            windows,
        })
    }

    /// Builds the scan and collects every batch.
    pub fn collect(self) -> Result<Vec<RecordBatch>> {
        self.build()?.collect()
    }

    /// Builds the scan and concatenates the result into one batch.
    pub fn to_batch(self) -> Result<RecordBatch> {
        let scan = self.build()?;
        let schema = scan.schema();
        let batches: Vec<RecordBatch> = scan.collect::<Result<_>>()?;
        Ok(arrow::compute::concat_batches(&schema, &batches)?)
    }
}

/// A planned scan: an iterator of record batches. Scans of up to 32 listed symbols, and bulk
/// scans of any list, return each symbol in turn (name order), sorted by datetime; other
/// scans return partitions in time order, each sorted by (symbol, datetime). Empty batches
/// are never returned.
pub struct Scan {
    store: Store,
    chunks: std::vec::IntoIter<Chunk>,
    /// Pins the version (and so the files) the plan reads.
    _snapshot: super::plan::Snapshot,
    work: Vec<usize>,
    out_positions: Vec<usize>,
    out_schema: SchemaRef,
    as_of: Option<AsOf>,
    min_quality: Option<(usize, f64)>,
    validated_only: Option<usize>,
    /// A bulk scan's per-segment row windows.
    windows: Option<Windows>,
}

impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scan").field("chunks_left", &self.chunks.len()).finish()
    }
}

impl Scan {
    /// Schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.out_schema.clone()
    }

    fn finish(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let mut batch = batch;
        if let Some(as_of) = &self.as_of {
            batch = as_of.apply(batch, &self.work)?;
        }
        let mut mask: Option<BooleanArray> = None;
        if let Some((pos, q)) = self.min_quality {
            let scores = batch.column(pos);
            let m = gt_eq(scores, &Float64Array::new_scalar(q))?;
            mask = Some(m);
        }
        if let Some(pos) = self.validated_only {
            let v = batch.column(pos).as_boolean().clone();
            mask = Some(match mask {
                Some(m) => and(&m, &v)?,
                None => v,
            });
        }
        if let Some(m) = mask {
            batch = filter_record_batch(&batch, &m)?;
        }
        let columns = self.out_positions.iter().map(|&p| batch.column(p).clone()).collect();
        Ok(RecordBatch::try_new(self.out_schema.clone(), columns)?)
    }
}

impl Iterator for Scan {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let chunk = self.chunks.next()?;
            let batch = match chunk.materialize(&self.store, &self.work, self.windows.as_mut()) {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            if batch.num_rows() == 0 {
                continue;
            }
            match self.finish(batch) {
                Ok(b) if b.num_rows() == 0 => continue,
                other => return Some(other),
            }
        }
    }
}
