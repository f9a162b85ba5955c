//! File importers for candlestore: CSV (plain or gzip'd) and Parquet files of OHLCV bars,
//! streamed as Arrow [`RecordBatch`](arrow::record_batch::RecordBatch)es of validated bars.
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

mod collector;
mod csv_reader;
mod dedup;
mod error;
mod layout;
mod options;
mod order;
mod parquet_reader;
mod reader;
mod reference;
mod reject;
mod source;
mod timestamp;

pub use collector::bar_schema;
pub use error::ImportError;
pub use layout::{Layout, detect, symbol_from_file_name};
pub use options::{ColumnMapping, DEFAULT_BATCH_ROWS, ImportOptions};
pub use reader::{BarReader, open};
pub use reference::{ReferenceError, ReferenceFile, ReferenceLayout, SkippedRow, read_reference};
pub use reject::{ImportStats, MAX_REJECTS_KEPT, Reject, RejectSink};
