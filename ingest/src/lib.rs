//! Ingest for candlestore: file importers for CSV (plain or gzip'd) and Parquet files of OHLCV
//! bars, streamed as Arrow [`RecordBatch`](arrow::record_batch::RecordBatch)es of validated
//! bars; trading calendars, gap detection and freshness; and async vendor connectors
//! ([`Connector`], [`Connectors`]) fetching bars from Polygon, Binance, Yahoo Finance and
//! Twelve Data.
//!
//! ```no_run
//! use candlestore_ingest::{ImportOptions, open};
//!
//! let mut reader = open("orcl-1995-2014.txt".as_ref(), &ImportOptions::default())?;
//! for batch in &mut reader {
//!     let batch = batch?;
//!     // symbol, datetime (µs, UTC), open, high, low, close, volume
//!     assert_eq!(batch.num_columns(), 7);
//! }
//! println!("{:?} {} rejected", reader.layout(), reader.stats().rows_rejected);
//! # Ok::<(), candlestore_ingest::ImportError>(())
//! ```
//!
//! * Layouts are recognised from the header / first line ([`detect`], [`Layout`]); anything
//!   else is read through a [`ColumnMapping`].
//! * Timestamps become UTC microseconds (field spec F2.2): naive values are read in
//!   [`ImportOptions::timezone`]; date-only values (daily bars) are stamped 00:00:00 UTC of
//!   their date. Years outside 1900..=2200 are rejected.
//! * A row with a missing or non-numeric OHLCV value, NaN/inf, an unparseable date/time or a
//!   wrong number of fields is rejected (F2.4) and reported in [`ImportStats`] with its line,
//!   column and reason, and optionally written to a reject file. OHLC inconsistencies
//!   (high < low, ...) and negative volume are *not* rejected here: they are stored and
//!   flagged later.
//! * A repeated (symbol, datetime) inside one file keeps the first row and reports the others
//!   as duplicates; nothing is merged.
//! * Reference files for the symbol master (S&P 500 constituents, Nasdaq/NYSE listings,
//!   screener JSON, the F3.1 metadata CSV) are read by [`read_reference`] into
//!   [`SymbolRecord`](candlestore::SymbolRecord)s.
//! * Symbols come from the file's symbol column (upper-cased), else from
//!   [`ImportOptions::symbol`], else from the file name ([`symbol_from_file_name`]).
//!
//! ## Calendars, gaps and freshness
//!
//! * [`Calendar`]: the NYSE calendar (holidays with their observed-day rules, special
//!   closures, early closes, DST-correct sessions; 1990..=2099) for `stocks_*` tables and a
//!   24/7 UTC calendar for `crypto_*` tables ([`Calendar::for_asset_class`]).
//! * [`GapFinder`] / [`find_gaps`]: which expected bars a symbol's stored timestamps lack, in
//!   [`GapRange`]s; weekends and holidays are never gaps. [`gap_report`] runs it over a table.
//! * [`assess`] / [`freshness_report`]: how far each symbol's newest bar is behind the
//!   calendar's last complete bar, against a per-asset-class threshold
//!   ([`FreshnessConfig`], the `[freshness]` section of the configuration file).
//!
//! ```
//! use candlestore::Timeframe;
//! use candlestore_ingest::{Calendar, GapWindow, find_gaps};
//! use chrono::NaiveDate;
//!
//! let d = |s: &str| s.parse::<NaiveDate>().unwrap();
//! let stamp = |s: &str| d(s).and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros();
//! // Friday, then Tuesday: Monday 2024-01-15 is Martin Luther King Jr. Day, not a gap.
//! let stored = [stamp("2024-01-12"), stamp("2024-01-16"), stamp("2024-01-18")];
//! let gaps = find_gaps(Calendar::Nyse, Timeframe::Day1, &stored, GapWindow::StoredSpan)?;
//! assert_eq!(gaps.missing, 1);
//! assert_eq!(gaps.ranges[0].first_session, d("2024-01-17"));
//! # Ok::<(), candlestore_ingest::CalendarError>(())
//! ```

//!
//! ## Backfills, the schedule and spot checks
//!
//! * [`Backfill`]: per symbol, fetch what the calendar says is missing and append it, with a
//!   resumable job-state file ([`JobState`]) and a fetch log.
//! * [`Scheduler`]: the daily schedule's loop ([`decide`] + the state file + a run), shared by
//!   `candlestore schedule` and `candlestore serve --schedule`.
//! * [`compare`] / [`SpotSources`]: the same bars from two sources (vendors or the store)
//!   compared bar by bar within a relative tolerance.

mod backfill;
mod calendar;
mod collector;
mod config;
mod coverage;
mod csv_reader;
mod dedup;
mod error;
mod freshness;
mod gaps;
mod layout;
mod options;
mod order;
mod parquet_reader;
mod provider;
mod reader;
mod reference;
mod reject;
mod schedule;
mod scheduler;
mod source;
mod spot_check;
mod timestamp;

pub use backfill::error::BackfillError;
pub use backfill::frame::StateFileError;
pub use backfill::job::{
    Backfill, BackfillSpec, BackfillSummary, Outcome, SymbolOutcome, SymbolPlan,
};
pub use backfill::log::{FetchRecord, fetch_log_path, read_fetch_log};
pub use backfill::plan::{FetchChunk, max_days_per_request, plan_chunks};
pub use backfill::state::{JobState, JobStatus, SymbolJob};
pub use backfill::tickers::{TickerMap, default_provider_ticker, default_tickers, master_tickers};
pub use calendar::{
    BarAlignment, BarStarts, Calendar, CalendarError, Closure, Day, Holiday, Session, SessionHours,
};
pub use collector::bar_schema;
pub use config::{ConfigError as FreshnessConfigError, FreshnessConfig, parse_duration};
pub use coverage::{
    CoverageError, TableFreshness, TableGaps, freshness_report, gap_report, stored_timestamps,
    table_calendar,
};
pub use error::ImportError;
pub use freshness::{
    ExpectedBar, Freshness, assess, is_stale, last_expected_bar, next_expected_bar,
};
pub use gaps::{
    GapFinder, GapRange, GapWindow, MAX_UNEXPECTED_SAMPLES, SymbolGaps, date_window_micros,
    find_gaps,
};
pub use layout::{Layout, detect, symbol_from_file_name};
pub use options::{ColumnMapping, DEFAULT_BATCH_ROWS, ImportOptions};
pub use provider::binance_futures::{
    FUNDING_RATE_COLUMN, OPEN_INTEREST_COLUMN, has_futures_values, without_futures,
};
pub use provider::clock::{Clock, FixedClock, SystemClock};
pub use provider::config::{ProviderConfig, ProvidersConfig};
pub use provider::connector::Connector;
pub use provider::error::{FetchError, ProviderConfigError, ProviderFailure};
pub use provider::fallback::{Connectors, FallbackRequest};
pub use provider::fetched::{
    BarReject, FetchMeta, Fetched, IncompleteBar, Quota, QuotaKind, extras_schema,
};
pub use provider::request::{AssetClass, FetchRequest, ProviderKind, Timeframe};
pub use provider::resilience::{
    BreakerState, CircuitBreaker, RateLimiter, RetryPolicy, parse_retry_after,
};
pub use reader::{BarReader, open};
pub use reference::{ReferenceError, ReferenceFile, ReferenceLayout, SkippedRow, read_reference};
pub use reject::{ImportStats, MAX_REJECTS_KEPT, Reject, RejectSink};
pub use schedule::{Decision, ScheduleConfig, ScheduleError, ScheduleState, decide};
pub use scheduler::{Scheduler, Tick, summary_line};
pub use spot_check::{
    Difference, Side, SpotBar, SpotCheckError, SpotSource, SpotSources, compare,
    relative_difference, spot_bars,
};
