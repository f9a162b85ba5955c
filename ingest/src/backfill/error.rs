//! Errors of a backfill as a whole (a symbol's own failure is in its outcome, not here).

use crate::backfill::frame::StateFileError;
use crate::calendar::CalendarError;
use crate::coverage::CoverageError;

/// Why a backfill could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackfillError {
    /// The table or the stored timestamps could not be read.
    #[error(transparent)]
    Coverage(#[from] CoverageError),
    /// The window is outside the calendar or reversed.
    #[error("table {table}: {source}")]
    Calendar {
        /// The table.
        table: String,
        /// The calendar's error.
        #[source]
        source: CalendarError,
    },
    /// No vendor serves bars of the table's timeframe.
    #[error(
        "table {table}: no vendor serves {timeframe} bars (backfill supports 1d, 1h, 1m tables)"
    )]
    UnsupportedTimeframe {
        /// The table.
        table: String,
        /// The table's timeframe.
        timeframe: String,
    },
    /// The store is in memory: job state and fetch log need a directory.
    #[error("the store has no directory to keep the backfill's job state and fetch log in")]
    NoStoreDirectory,
    /// No symbols were given.
    #[error("no symbols to backfill")]
    NoSymbols,
    /// The job-state or fetch-log file could not be read or written.
    #[error(transparent)]
    State(#[from] StateFileError),
    /// Declaring the table or flushing the written bars failed.
    #[error("table {table}: {source}")]
    Flush {
        /// The table.
        table: String,
        /// The engine's error.
        #[source]
        source: candlestore::Error,
    },
    /// A symbol's task panicked or was cancelled.
    #[error("backfill task for {symbol} did not finish: {detail}")]
    Task {
        /// The symbol.
        symbol: String,
        /// The runtime's message.
        detail: String,
    },
}
