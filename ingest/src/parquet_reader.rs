//! Streaming Parquet reader: decodes only the needed columns, row group by row group, in
//! chunks of `batch_rows`, and validates each row exactly like the CSV reader.
//!
//! Accepted column types: symbol = any string or dictionary-of-string type; datetime = any
//! Timestamp unit (with a time zone = an instant; without = wall-clock time in
//! `ImportOptions::timezone`), Date32/Date64 (daily), integer epoch (unit by magnitude) or
//! text; OHLCV = any integer, float or decimal type, or text. `Reject::line` is the 1-based row
//! number in the file.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::TimestampMicrosecondType;
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, NaiveDate};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::collector::{Bar, BarCollector, parse_value};
use crate::csv_reader::SymbolSource;
use crate::error::ImportError;
use crate::layout::{Layout, TimeCols, normalize, resolve_by_names};
use crate::options::ImportOptions;
use crate::timestamp::{RawTime, Stamper, epoch_to_micros, parse_datetime};

/// How the datetime column is decoded, decided once from the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeKind {
    /// Timestamp with a time zone: UTC instants.
    Instant,
    /// Timestamp without a time zone: wall-clock time.
    Naive,
    /// Date32 / Date64.
    Date,
    /// Integer epoch, unit by magnitude.
    Epoch,
    /// Text, parsed like CSV.
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Number,
    Text,
}

#[derive(Debug)]
struct Plan {
    /// Batch column of the symbol, if the file has one.
    symbol_col: Option<usize>,
    time_col: usize,
    time_kind: TimeKind,
    value_cols: [usize; 5],
    value_kinds: [ValueKind; 5],
    names: Vec<String>,
}

/// Reads bars from a Parquet file.
pub(crate) struct ParquetBarReader {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    plan: Plan,
    symbol: SymbolSource,
    stamper: Stamper,
    collector: BarCollector,
    /// Rows of the file consumed so far.
    row: u64,
    total_rows: u64,
    file_len: u64,
    /// The decoded input batch, its converted columns and the next row in it.
    current: Option<(RecordBatch, Converted, usize)>,
    eof: bool,
    done: bool,
}

impl std::fmt::Debug for ParquetBarReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetBarReader")
            .field("path", &self.path)
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

fn unsupported(path: &Path, name: &str, dt: &DataType, expected: &'static str) -> ImportError {
    ImportError::UnsupportedColumnType {
        path: path.to_path_buf(),
        column: name.to_owned(),
        data_type: dt.to_string(),
        expected,
    }
}

fn is_text(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_text(v),
        _ => false,
    }
}

impl ParquetBarReader {
    pub(crate) fn open(path: &Path, opts: &ImportOptions) -> Result<Self, ImportError> {
        let pq = |source| ImportError::Parquet { path: path.to_path_buf(), source };
        let file = File::open(path)
            .map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
        let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
        let schema = builder.schema().clone();
        let total_rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);

        let names: Vec<String> = schema.fields().iter().map(|f| normalize(f.name())).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let cols = resolve_by_names(path, &refs, opts.mapping.as_ref())?;
        let time_src = match cols.time {
            // resolve_by_names never yields Lean (a fixed CSV layout); read it as one column.
            TimeCols::Datetime(i) | TimeCols::Lean(i) => i,
            TimeCols::DateTime { date, .. } => {
                // Separate date and time columns are a CSV habit; Parquet files carry one.
                let f = schema.field(date);
                return Err(unsupported(path, f.name(), f.data_type(), "a full timestamp"));
            }
        };
        let mut wanted: Vec<usize> = cols.values.to_vec();
        wanted.push(time_src);
        wanted.extend(cols.symbol);
        wanted.sort_unstable();
        wanted.dedup();
        // Position of a source column in the projected batch (projection keeps file order).
        let pos = |i: usize| wanted.binary_search(&i).unwrap_or(0);

        if let Some(i) = cols.symbol {
            let f = schema.field(i);
            if !is_text(f.data_type()) {
                return Err(unsupported(path, f.name(), f.data_type(), "a symbol (string)"));
            }
        }
        let tf = schema.field(time_src);
        let time_kind = match tf.data_type() {
            DataType::Timestamp(_, Some(_)) => TimeKind::Instant,
            DataType::Timestamp(_, None) => TimeKind::Naive,
            DataType::Date32 | DataType::Date64 => TimeKind::Date,
            dt if dt.is_integer() => TimeKind::Epoch,
            dt if is_text(dt) => TimeKind::Text,
            dt => return Err(unsupported(path, tf.name(), dt, "a datetime")),
        };
        let mut value_kinds = [ValueKind::Number; 5];
        for (k, &i) in cols.values.iter().enumerate() {
            let f = schema.field(i);
            value_kinds[k] = match f.data_type() {
                dt if dt.is_numeric() => ValueKind::Number,
                dt if is_text(dt) => ValueKind::Text,
                dt => return Err(unsupported(path, f.name(), dt, "a number")),
            };
        }
        let plan = Plan {
            symbol_col: cols.symbol.map(pos),
            time_col: pos(time_src),
            time_kind,
            value_cols: cols.values.map(pos),
            value_kinds,
            names: wanted.iter().map(|&i| schema.field(i).name().clone()).collect(),
        };
        let symbol = SymbolSource::choose(path, Layout::Parquet, cols.symbol, opts)?;
        let collector = BarCollector::new(path, opts)?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
        let reader =
            builder.with_projection(mask).with_batch_size(opts.batch_rows).build().map_err(pq)?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            plan,
            symbol,
            stamper: Stamper::new(opts.tz(), opts.daily),
            collector,
            row: 0,
            total_rows,
            file_len,
            current: None,
            eof: false,
            done: false,
        })
    }

    pub(crate) fn collector(&self) -> &BarCollector {
        &self.collector
    }

    /// Estimated from the fraction of rows decoded (Parquet is not read front to back).
    pub(crate) fn bytes_read(&self) -> u64 {
        if self.total_rows == 0 {
            return 0;
        }
        let frac = self.row as f64 / self.total_rows as f64;
        (self.file_len as f64 * frac.min(1.0)) as u64
    }

    pub(crate) fn total_bytes(&self) -> Option<u64> {
        Some(self.file_len)
    }

    fn arrow_err(&self, source: arrow::error::ArrowError) -> ImportError {
        ImportError::Arrow { path: self.path.clone(), line: self.row + 1, source }
    }

    /// Validates rows of the current input batch until it is used up or the output is full.
    fn drain_current(&mut self) -> Result<(), ImportError> {
        let Some((batch, conv, start)) = self.current.take() else { return Ok(()) };
        let mut i = start;
        while i < batch.num_rows() && !self.collector.is_full() {
            self.row += 1;
            let line = self.row;
            match row_bar(&self.plan, &self.symbol, &self.stamper, &conv, i) {
                Ok(bar) => {
                    let raw = raw_row(&batch, i);
                    self.collector.accept(line, bar, &raw)?;
                }
                Err((col, reason)) => {
                    let raw = raw_row(&batch, i);
                    let name = self.plan.names[col].clone();
                    self.collector.reject(line, Some(&name), reason, &raw)?;
                }
            }
            i += 1;
        }
        if i < batch.num_rows() {
            self.current = Some((batch, conv, i));
        }
        Ok(())
    }
}

/// Validates row `i`; the error is (batch column, reason).
fn row_bar<'a>(
    p: &Plan,
    symbol: &'a SymbolSource,
    stamper: &Stamper,
    conv: &'a Converted,
    i: usize,
) -> Result<Bar<'a>, (usize, String)> {
    let empty = |c: usize| (c, "empty field (null)".to_owned());
    let tc = p.time_col;
    let raw = match &conv.time {
        _ if conv.time_array().is_null(i) => return Err(empty(tc)),
        TimeArray::Micros(a) => {
            let us = a.value(i);
            match p.time_kind {
                TimeKind::Naive => match DateTime::from_timestamp_micros(us) {
                    Some(dt) => RawTime::Naive(dt.naive_utc()),
                    None => return Err((tc, format!("timestamp {us} µs is out of range"))),
                },
                _ => RawTime::Epoch(us),
            }
        }
        TimeArray::Days(a) => {
            let days = a.value(i);
            match NaiveDate::from_epoch_days(days) {
                Some(d) => RawTime::Date(d),
                None => return Err((tc, format!("date {days} days is out of range"))),
            }
        }
        TimeArray::Epoch(a) => RawTime::Epoch(epoch_to_micros(a.value(i))),
        TimeArray::Text(a) => parse_datetime(a.as_string::<i32>().value(i)).map_err(|r| (tc, r))?,
    };
    let datetime = stamper.stamp(raw).map_err(|r| (tc, r))?;
    let mut ohlcv = [0.0; 5];
    for (k, v) in conv.values.iter().enumerate() {
        let c = p.value_cols[k];
        if v.is_null(i) {
            return Err(empty(c));
        }
        ohlcv[k] = match p.value_kinds[k] {
            ValueKind::Number => {
                let x = v.as_primitive::<Float64Type>().value(i);
                if !x.is_finite() {
                    return Err((c, format!("not a finite number: {x}")));
                }
                x
            }
            ValueKind::Text => parse_value(v.as_string::<i32>().value(i)).map_err(|r| (c, r))?,
        };
    }
    let symbol = match (symbol, &conv.symbol) {
        (SymbolSource::Column(_), Some(s)) => {
            let col = p.symbol_col.unwrap_or(0);
            if s.is_null(i) || s.value(i).trim().is_empty() {
                return Err(empty(col));
            }
            s.value(i)
        }
        (SymbolSource::Fixed(s), _) => s.as_str(),
        (SymbolSource::Column(c), None) => return Err(empty(*c)),
    };
    Ok(Bar { symbol, datetime, ohlcv })
}

enum TimeArray {
    /// Timestamp cast to microseconds (instant or naive, per [`TimeKind`]).
    Micros(arrow::array::PrimitiveArray<TimestampMicrosecondType>),
    Days(arrow::array::PrimitiveArray<Date32Type>),
    Epoch(arrow::array::PrimitiveArray<Int64Type>),
    Text(ArrayRef),
}

/// The columns of one input batch, cast to the few types the row loop handles.
struct Converted {
    /// Upper-cased symbols (Utf8).
    symbol: Option<arrow::array::StringArray>,
    time: TimeArray,
    values: Vec<ArrayRef>,
}

impl Converted {
    fn new(batch: &RecordBatch, p: &Plan) -> Result<Self, arrow::error::ArrowError> {
        let symbol = match p.symbol_col {
            Some(c) => {
                let s = cast(batch.column(c), &DataType::Utf8)?;
                let s = s.as_string::<i32>();
                Some(s.iter().map(|v| v.map(|v| v.trim().to_uppercase())).collect())
            }
            None => None,
        };
        let t = batch.column(p.time_col);
        let time = match p.time_kind {
            TimeKind::Instant | TimeKind::Naive => {
                let to = DataType::Timestamp(TimeUnit::Microsecond, None);
                TimeArray::Micros(cast(t, &to)?.as_primitive().clone())
            }
            TimeKind::Date => TimeArray::Days(cast(t, &DataType::Date32)?.as_primitive().clone()),
            TimeKind::Epoch => TimeArray::Epoch(cast(t, &DataType::Int64)?.as_primitive().clone()),
            TimeKind::Text => TimeArray::Text(cast(t, &DataType::Utf8)?),
        };
        let values = p
            .value_cols
            .iter()
            .zip(p.value_kinds)
            .map(|(&c, kind)| match kind {
                ValueKind::Number => cast(batch.column(c), &DataType::Float64),
                ValueKind::Text => cast(batch.column(c), &DataType::Utf8),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { symbol, time, values })
    }

    fn time_array(&self) -> &dyn Array {
        match &self.time {
            TimeArray::Micros(a) => a,
            TimeArray::Days(a) => a,
            TimeArray::Epoch(a) => a,
            TimeArray::Text(a) => a.as_ref(),
        }
    }
}

/// The row's source values joined with `,` (nulls as empty), for reject reports.
fn raw_row(batch: &RecordBatch, i: usize) -> String {
    let opts = FormatOptions::default();
    let mut out = String::new();
    for (k, col) in batch.columns().iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        if let Ok(f) = ArrayFormatter::try_new(col.as_ref(), &opts) {
            out.push_str(&f.value(i).to_string());
        }
    }
    out
}

impl Iterator for ParquetBarReader {
    type Item = Result<RecordBatch, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            if self.collector.is_full() || (self.eof && self.collector.pending() > 0) {
                return match self.collector.take_batch() {
                    Ok(b) => b.map(Ok),
                    Err(e) => {
                        self.done = true;
                        Some(Err(e))
                    }
                };
            }
            if self.eof {
                self.done = true;
                return self.collector.finish().err().map(Err);
            }
            if self.current.is_none() {
                match self.reader.next() {
                    None => {
                        self.eof = true;
                        continue;
                    }
                    Some(Err(source)) => {
                        self.done = true;
                        return Some(Err(self.arrow_err(source)));
                    }
                    Some(Ok(b)) => match Converted::new(&b, &self.plan) {
                        Ok(conv) => self.current = Some((b, conv, 0)),
                        Err(e) => {
                            self.done = true;
                            return Some(Err(self.arrow_err(e)));
                        }
                    },
                }
            }
            if let Err(e) = self.drain_current() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}
