//! The engine's error type: one enum per subsystem, folded into [`Error`].

use std::path::PathBuf;

pub use crate::index::IndexError;
use crate::symbols::SymbolsError;
pub use crate::wal::WalError;

/// Errors of the manifest (the set of live segments).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The file does not start with the manifest magic.
    #[error("{path}: not a candlestore manifest (bad magic)")]
    BadMagic {
        /// The file.
        path: PathBuf,
    },
    /// Written by a newer (or unknown) format version.
    #[error(
        "{path}: manifest format version {found} is not supported (this build reads {min}..={max})"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Oldest readable version.
        min: u32,
        /// Newest readable version.
        max: u32,
    },
    /// The checksum does not match the bytes.
    #[error(
        "{path}: manifest checksum mismatch at offset {offset} (expected {expected:#010x}, got {got:#010x})"
    )]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Offset of the checksummed region.
        offset: u64,
        /// Stored checksum.
        expected: u32,
        /// Computed checksum.
        got: u32,
    },
    /// The body could not be decoded.
    #[error("{path}: manifest is malformed at offset {offset}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where decoding failed.
        offset: u64,
        /// What was wrong.
        reason: &'static str,
    },
}

/// Errors of Parquet segments.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// The file's bytes do not match the checksum the manifest recorded.
    #[error(
        "segment {path}: checksum mismatch (manifest says {expected:#010x}, file has {got:#010x})"
    )]
    ChecksumMismatch {
        /// The segment file.
        path: PathBuf,
        /// Recorded checksum.
        expected: u32,
        /// Computed checksum.
        got: u32,
    },
    /// The file's size differs from the manifest's record.
    #[error("segment {path}: size is {got} bytes, manifest says {expected}")]
    SizeMismatch {
        /// The segment file.
        path: PathBuf,
        /// Recorded size.
        expected: u64,
        /// Actual size.
        got: u64,
    },
    /// The Parquet file could not be read or written.
    #[error("segment {path}: {source}")]
    Parquet {
        /// The segment file.
        path: PathBuf,
        /// The Parquet error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// The file's schema is not the bar schema.
    #[error("segment {path}: schema mismatch: {reason}")]
    Schema {
        /// The segment file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
}

/// Why a row of an appended batch was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowProblem {
    /// A required value is null.
    Missing,
    /// A float is NaN or infinite.
    NotFinite,
    /// The symbol is not a valid ticker.
    InvalidSymbol,
    /// The timestamp is outside the supported range.
    TimestampOutOfRange,
    /// The same (symbol, datetime) appears twice in one batch.
    DuplicateKey,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RowProblem::Missing => "is missing",
            RowProblem::NotFinite => "is not a finite number",
            RowProblem::InvalidSymbol => {
                "is not a valid symbol (1-64 ASCII letters, digits or . - _ = / ^ :)"
            }
            RowProblem::TimestampOutOfRange => "is outside years 1900..2200",
            RowProblem::DuplicateKey => "repeats a (symbol, datetime) already in this batch",
        })
    }
}

/// A rejected input row: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 0-based row index in the appended batch.
    pub row: usize,
    /// The offending column.
    pub column: &'static str,
    /// What is wrong with it.
    pub problem: RowProblem,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}: {} {}", self.row, self.column, self.problem)
    }
}

/// Every error the engine returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filesystem operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Write-ahead log error.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// Index error.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Manifest error.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Segment error.
    #[error(transparent)]
    Segment(#[from] SegmentError),
    /// Symbol master error.
    #[error(transparent)]
    Symbols(#[from] SymbolsError),
    /// The store directory is used by another process.
    #[error("store {path} is locked by another process (lock file {lock})")]
    Locked {
        /// The store directory.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// Not a valid table name.
    #[error(
        "invalid table name {name:?}: use 1-63 characters of a-z, 0-9 and _, starting with a letter"
    )]
    InvalidTableName {
        /// The rejected name.
        name: String,
    },
    /// The table does not exist and its name is not a conventional one.
    #[error(
        "unknown table {table:?}: declare it first, or use a conventional name such as stocks_daily or crypto_1min"
    )]
    UnknownTable {
        /// The table asked for.
        table: String,
    },
    /// A table was declared twice with different definitions.
    #[error("table {table} already exists with a different definition")]
    TableConflict {
        /// The table.
        table: String,
    },
    /// Not a known timeframe.
    #[error("unknown timeframe {timeframe:?} (use 1m, 5m, 15m, 30m, 1h, 4h, 1d or 1w)")]
    UnknownTimeframe {
        /// The rejected text.
        timeframe: String,
    },
    /// An appended batch lacks a required column.
    #[error("appended batch has no {column:?} column")]
    MissingColumn {
        /// The column.
        column: &'static str,
    },
    /// A column of an appended batch (or a projection) is not one of the 97 fields nor an
    /// extra column.
    #[error("unknown column {column:?}: not one of the 97 bar fields nor an extra column")]
    UnknownColumn {
        /// The column.
        column: String,
    },
    /// An extra column (`funding_rate`, `open_interest`) named for a table whose asset class
    /// does not have it (appended or projected).
    #[error("column {column:?} exists only in crypto tables, not in {table:?}")]
    NotInTable {
        /// The column.
        column: String,
        /// The table.
        table: String,
    },
    /// A column has a type that cannot be converted to the field's type.
    #[error("column {column:?} has type {found}, expected {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// The field's type.
        expected: String,
        /// The batch's type.
        found: String,
    },
    /// Rows of an appended batch are invalid; nothing of the batch was written.
    #[error("{} invalid row(s), nothing written; first: {}", .rows.len(), .rows.first().map(ToString::to_string).unwrap_or_default())]
    InvalidRows {
        /// Every rejected row.
        rows: Vec<RowError>,
    },
    /// A scan was asked for something impossible.
    #[error("invalid scan: {reason}")]
    InvalidScan {
        /// What was wrong.
        reason: String,
    },
    /// The store found an inconsistency while verifying.
    #[error("store is inconsistent: {reason}")]
    Corrupt {
        /// What is wrong.
        reason: String,
    },
    /// An option of a call is out of range.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The store was opened read-only.
    #[error("the store is open read-only; writes are refused")]
    ReadOnly,
    /// An Arrow kernel failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { op, path: path.into(), source }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
