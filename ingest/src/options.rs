//! Import options and the explicit column mapping.

use std::path::PathBuf;

/// Default number of rows per emitted [`RecordBatch`](arrow::record_batch::RecordBatch).
pub const DEFAULT_BATCH_ROWS: usize = 65_536;

/// How to read one input file. `ImportOptions::default()` auto-detects everything.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Symbol for files that carry none (backtrader, Binance, generic without a symbol column).
    /// Upper-cased. Ignored when the file has a symbol column.
    pub symbol: Option<String>,
    /// Time zone of naive (offset-less) timestamps. `None` = UTC.
    pub timezone: Option<chrono_tz::Tz>,
    /// Date stamping: `None` = automatic (date-only values are daily bars stamped 00:00:00 UTC
    /// of their date), `Some(true)` = every bar is stamped 00:00:00 UTC of its date (its local
    /// date for naive or offset timestamps, the date in `timezone` for epoch values),
    /// `Some(false)` = a date-only value means local midnight in `timezone`.
    pub daily: Option<bool>,
    /// Maximum rows per batch (default [`DEFAULT_BATCH_ROWS`]).
    pub batch_rows: usize,
    /// Explicit source column names; when set it is used instead of layout detection.
    pub mapping: Option<ColumnMapping>,
    /// If set, every rejected line is written there as CSV `line,column,reason,raw`.
    pub reject_file: Option<PathBuf>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            symbol: None,
            timezone: None,
            daily: None,
            batch_rows: DEFAULT_BATCH_ROWS,
            mapping: None,
            reject_file: None,
        }
    }
}

impl ImportOptions {
    /// Sets the symbol used when the file has no symbol column.
    pub fn with_symbol(mut self, symbol: impl Into<String>) -> Self {
        self.symbol = Some(symbol.into());
        self
    }

    /// Sets the time zone of naive timestamps.
    pub fn with_timezone(mut self, tz: chrono_tz::Tz) -> Self {
        self.timezone = Some(tz);
        self
    }

    /// Forces (`true`) or disables (`false`) date stamping; see [`ImportOptions::daily`].
    pub fn with_daily(mut self, daily: bool) -> Self {
        self.daily = Some(daily);
        self
    }

    /// Sets the maximum number of rows per batch.
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows;
        self
    }

    /// Sets an explicit column mapping.
    pub fn with_mapping(mut self, mapping: ColumnMapping) -> Self {
        self.mapping = Some(mapping);
        self
    }

    /// Writes every rejected line to `path`.
    pub fn with_reject_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.reject_file = Some(path.into());
        self
    }

    pub(crate) fn tz(&self) -> chrono_tz::Tz {
        self.timezone.unwrap_or(chrono_tz::UTC)
    }
}

/// Source column names for each bar field (matched case-insensitively, ignoring spaces,
/// `_` and `-`). Fields left `None` fall back to the usual names (`symbol`/`ticker`,
/// `datetime`/`timestamp`/`open_time`, `date`, `time`, `open`, ...).
///
/// The timestamp comes from `datetime`, or from `date` plus an optional `time`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMapping {
    /// Symbol column.
    pub symbol: Option<String>,
    /// Full timestamp column (RFC 3339, naive date-time, date or integer epoch).
    pub datetime: Option<String>,
    /// Date column (used when there is no `datetime`).
    pub date: Option<String>,
    /// Time-of-day column combined with `date`.
    pub time: Option<String>,
    /// Open price column.
    pub open: Option<String>,
    /// High price column.
    pub high: Option<String>,
    /// Low price column.
    pub low: Option<String>,
    /// Close price column.
    pub close: Option<String>,
    /// Volume column.
    pub volume: Option<String>,
}
