//! Where parsed rows go: the Arrow batch being built, duplicate detection, counters and the
//! reject file. Shared by the CSV and the Parquet reader so both validate the same way.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayBuilder, ArrayRef, Float64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::dedup::DuplicateTracker;
use crate::error::ImportError;
use crate::options::ImportOptions;
use crate::reject::{ImportStats, Reject, RejectSink};

/// The schema of every batch the readers emit: `symbol` Utf8, `datetime`
/// Timestamp(µs, "UTC"), `open`, `high`, `low`, `close`, `volume` Float64; all non-null.
pub fn bar_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let f64_field = |name: &str| Field::new(name, DataType::Float64, false);
            Arc::new(Schema::new(vec![
                Field::new("symbol", DataType::Utf8, false),
                Field::new(
                    "datetime",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    false,
                ),
                f64_field("open"),
                f64_field("high"),
                f64_field("low"),
                f64_field("close"),
                f64_field("volume"),
            ]))
        })
        .clone()
}

/// One validated bar.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bar<'a> {
    pub(crate) symbol: &'a str,
    pub(crate) datetime: i64,
    pub(crate) ohlcv: [f64; 5],
}

/// Builds batches of accepted bars and accounts for every row read.
#[derive(Debug)]
pub(crate) struct BarCollector {
    path: PathBuf,
    batch_rows: usize,
    symbol: StringBuilder,
    datetime: TimestampMicrosecondBuilder,
    ohlcv: [Float64Builder; 5],
    stats: ImportStats,
    sink: Option<RejectSink>,
    dups: DuplicateTracker,
    last_line: u64,
    /// Source line of each pending row.
    lines: Vec<u64>,
    /// Source lines of the rows of the batch last taken.
    last_lines: Vec<u64>,
}

impl BarCollector {
    pub(crate) fn new(path: &Path, opts: &ImportOptions) -> Result<Self, ImportError> {
        if opts.batch_rows == 0 {
            return Err(ImportError::InvalidBatchRows { batch_rows: opts.batch_rows });
        }
        let sink = opts.reject_file.as_deref().map(RejectSink::create).transpose()?;
        // Preallocate modestly: small files should not reserve a full 64k-row batch.
        let cap = opts.batch_rows.min(8192);
        Ok(Self {
            path: path.to_path_buf(),
            batch_rows: opts.batch_rows,
            symbol: StringBuilder::with_capacity(cap, cap * 4),
            datetime: TimestampMicrosecondBuilder::with_capacity(cap).with_timezone("UTC"),
            ohlcv: std::array::from_fn(|_| Float64Builder::with_capacity(cap)),
            stats: ImportStats::default(),
            sink,
            dups: DuplicateTracker::default(),
            last_line: 0,
            lines: Vec::with_capacity(cap),
            last_lines: Vec::new(),
        })
    }

    pub(crate) fn stats(&self) -> &ImportStats {
        &self.stats
    }

    /// Counts a rejected row and records why.
    pub(crate) fn reject(
        &mut self,
        line: u64,
        column: Option<&str>,
        reason: String,
        raw: &str,
    ) -> Result<(), ImportError> {
        self.stats.rows_read += 1;
        self.stats.rows_rejected += 1;
        self.record(Reject { line, column: column.map(str::to_owned), reason, raw: raw.to_owned() })
    }

    /// Adds a valid bar unless an earlier row had the same (symbol, datetime).
    pub(crate) fn accept(&mut self, line: u64, bar: Bar<'_>, raw: &str) -> Result<(), ImportError> {
        self.stats.rows_read += 1;
        self.last_line = line;
        if let Some(first) = self.dups.check(bar.symbol, bar.datetime, line) {
            self.stats.duplicates_in_file += 1;
            let reason = format!(
                "duplicate timestamp {} for {} (first seen on line {first})",
                format_micros(bar.datetime),
                bar.symbol
            );
            return self.record(Reject {
                line,
                column: Some("datetime".to_owned()),
                reason,
                raw: raw.to_owned(),
            });
        }
        self.stats.rows_accepted += 1;
        self.lines.push(line);
        self.symbol.append_value(bar.symbol);
        self.datetime.append_value(bar.datetime);
        for (b, v) in self.ohlcv.iter_mut().zip(bar.ohlcv) {
            b.append_value(v);
        }
        Ok(())
    }

    fn record(&mut self, reject: Reject) -> Result<(), ImportError> {
        if let Some(sink) = &mut self.sink {
            sink.write(&reject)?;
        }
        self.stats.keep(reject);
        Ok(())
    }

    /// The source line (Parquet: row number) of each row of the batch last taken.
    pub(crate) fn last_lines(&self) -> &[u64] {
        &self.last_lines
    }

    /// Rows waiting in the current batch.
    pub(crate) fn pending(&self) -> usize {
        self.datetime.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.pending() >= self.batch_rows
    }

    /// Finishes the current batch; `None` when it is empty.
    pub(crate) fn take_batch(&mut self) -> Result<Option<RecordBatch>, ImportError> {
        if self.pending() == 0 {
            return Ok(None);
        }
        self.last_lines = std::mem::take(&mut self.lines);
        let mut columns: Vec<ArrayRef> =
            vec![Arc::new(self.symbol.finish()), Arc::new(self.datetime.finish())];
        columns.extend(self.ohlcv.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        RecordBatch::try_new(bar_schema(), columns).map(Some).map_err(|source| ImportError::Arrow {
            path: self.path.clone(),
            line: self.last_line,
            source,
        })
    }

    /// Flushes the reject file (call once, at the end of the input).
    pub(crate) fn finish(&mut self) -> Result<(), ImportError> {
        match &mut self.sink {
            Some(sink) => sink.finish(),
            None => Ok(()),
        }
    }
}

fn format_micros(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
        None => us.to_string(),
    }
}

/// Parses one OHLCV value; the error is the reject reason.
pub(crate) fn parse_value(s: &str) -> Result<f64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty field".to_owned());
    }
    if t.eq_ignore_ascii_case("null") {
        // Yahoo download CSVs write a whole row of `null` for a day without data.
        return Err("null value (no data for this bar)".to_owned());
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("not a finite number: {t:?}")),
        Err(_) => Err(format!("non-numeric value {t:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_value;

    #[test]
    fn values() {
        assert_eq!(parse_value(" 1.5 "), Ok(1.5));
        assert_eq!(parse_value("-3"), Ok(-3.0));
        assert_eq!(parse_value("1e3"), Ok(1000.0));
        assert_eq!(parse_value(""), Err("empty field".to_owned()));
        assert!(parse_value("null").unwrap_err().starts_with("null value"));
        assert!(parse_value("NaN").unwrap_err().contains("finite"));
        assert!(parse_value("inf").unwrap_err().contains("finite"));
        assert!(parse_value("1,5").unwrap_err().contains("non-numeric"));
    }
}
