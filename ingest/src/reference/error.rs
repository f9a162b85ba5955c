//! Errors of the reference-file (symbol master) importers.

use std::path::PathBuf;

/// An error that stops the import of one reference file. Every variant names the file; row
/// errors name the 1-based physical line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// Opening or reading the file failed.
    #[error("cannot read {path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The header matches no known reference layout.
    #[error(
        "cannot recognise the reference layout of {path} (first line: {header:?}); known: S&P 500 \
         constituents, Nasdaq/NYSE/other listings, us-stock-symbols JSON and the F3.1 metadata \
         CSV `symbol,sector,industry,market_cap,exchange,mic_code,currency,country,type`",
        path = path.display()
    )]
    UnknownLayout {
        /// The file.
        path: PathBuf,
        /// Its first line.
        header: String,
    },
    /// The layout was forced but the header does not have its columns.
    #[error("{path}: header {header:?} is not the {layout} layout (missing column {column:?})", path = path.display())]
    HeaderMismatch {
        /// The file.
        path: PathBuf,
        /// The forced layout.
        layout: &'static str,
        /// The header found.
        header: String,
        /// The first missing column.
        column: &'static str,
    },
    /// A row is malformed.
    #[error("{path}, line {line}{}: {reason}", column.as_ref().map(|c| format!(", column {c:?}")).unwrap_or_default(), path = path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based physical line.
        line: u64,
        /// The column at fault, if one.
        column: Option<String>,
        /// What is wrong.
        reason: String,
    },
}
