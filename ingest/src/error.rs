//! The error type of the importers.
//!
//! Bad *rows* are not errors: they are [`Reject`](crate::Reject)s counted in
//! [`ImportStats`](crate::ImportStats). An [`ImportError`] stops the import of a file.

use std::path::PathBuf;

/// An error that stops the import of one file.
///
/// Every variant names the file; variants raised while reading name the 1-based physical
/// line (CSV) or row (Parquet) where it happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Opening, reading or decompressing the input failed.
    #[error("cannot read {path}: {source}", path = path.display())]
    Io {
        /// The input file.
        path: PathBuf,
        /// The underlying error (gzip corruption shows up here too).
        #[source]
        source: std::io::Error,
    },

    /// Reading stopped at a line that could not be read (I/O or decompression failure).
    #[error("cannot read {path} at line {line}: {source}", path = path.display())]
    ReadLine {
        /// The input file.
        path: PathBuf,
        /// 1-based physical line that was being read.
        line: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file has no header / first line at all.
    #[error("{path} is empty: there is no header or data line", path = path.display())]
    EmptyFile {
        /// The input file.
        path: PathBuf,
    },

    /// The header (or first line) matches no known layout and no column mapping was given.
    #[error(
        "cannot recognise the columns of {path} (first line: {header:?}); known layouts are \
         S&P 500 five-year, backtrader/Yahoo, Binance klines and \
         `symbol,datetime,open,high,low,close,volume`. Pass a column mapping naming the source \
         columns (datetime or date [+ time], open, high, low, close, volume, and symbol or a \
         fixed symbol)",
        path = path.display()
    )]
    UnknownLayout {
        /// The input file.
        path: PathBuf,
        /// The first line of the file, as read.
        header: String,
    },

    /// A column required by the layout or named by the mapping is not in the header / schema.
    #[error("{path} has no column {column:?} (columns: {available})", path = path.display())]
    MissingColumn {
        /// The input file.
        path: PathBuf,
        /// The role that could not be resolved (`"open"`, `"datetime"`, ...) or the mapped name.
        column: String,
        /// The columns that are present, comma-separated.
        available: String,
    },

    /// A Parquet column has a type the importer cannot convert.
    #[error(
        "{path}: column {column:?} has type {data_type}, which cannot be read as {expected}",
        path = path.display()
    )]
    UnsupportedColumnType {
        /// The input file.
        path: PathBuf,
        /// The source column name.
        column: String,
        /// The Arrow type found.
        data_type: String,
        /// What the column is used for.
        expected: &'static str,
    },

    /// `batch_rows` must be at least 1.
    #[error("batch_rows must be at least 1 (got {batch_rows})")]
    InvalidBatchRows {
        /// The value given.
        batch_rows: usize,
    },

    /// The Parquet decoder failed.
    #[error("cannot decode Parquet file {path}: {source}", path = path.display())]
    Parquet {
        /// The input file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// An Arrow kernel (cast, batch assembly) failed.
    #[error("{path}: Arrow error near row/line {line}: {source}", path = path.display())]
    Arrow {
        /// The input file.
        path: PathBuf,
        /// 1-based line (CSV) or row (Parquet) being processed.
        line: u64,
        /// The underlying error.
        #[source]
        source: arrow::error::ArrowError,
    },

    /// Writing the reject file failed.
    #[error("cannot write reject file {path}: {source}", path = path.display())]
    RejectFile {
        /// The reject file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
