//! Errors of the symbol master.

use std::path::PathBuf;

/// Errors of the symbol master: its file, its records and provider tickers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SymbolsError {
    /// The file does not start with the symbols magic.
    #[error("{path}: not a candlestore symbol master (bad magic)")]
    BadMagic {
        /// The file.
        path: PathBuf,
    },
    /// Written by a newer (or unknown) format version.
    #[error(
        "{path}: symbol master format version {found} is not supported (this build reads {min}..={max})"
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
    #[error("{path}: symbol master checksum mismatch (expected {expected:#010x}, got {got:#010x})")]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Stored checksum.
        expected: u32,
        /// Computed checksum.
        got: u32,
    },
    /// The file's structure or body is invalid.
    #[error("{path}: symbol master is malformed at offset {offset}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where decoding failed.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// A record has a value outside its field's domain.
    #[error("symbol {symbol:?}: invalid {field}: {reason}")]
    InvalidRecord {
        /// The record's symbol.
        symbol: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Not one of the F3.1 instrument types.
    #[error("unknown instrument type {value:?} (expected one of {expected})")]
    UnknownType {
        /// The text given.
        value: String,
        /// The accepted spellings.
        expected: &'static str,
    },
    /// Not a known provider name.
    #[error("unknown provider {value:?} (expected one of polygon, binance, yahoo, twelvedata)")]
    UnknownProvider {
        /// The text given.
        value: String,
    },
    /// The provider does not carry this kind of instrument, or the symbol cannot be expressed
    /// in its ticker scheme.
    #[error("{provider}: no ticker for {symbol:?} ({kind}): {reason}")]
    NoProviderTicker {
        /// The provider.
        provider: &'static str,
        /// The engine symbol.
        symbol: String,
        /// Its instrument type.
        kind: &'static str,
        /// Why.
        reason: &'static str,
    },
}
