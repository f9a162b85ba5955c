//! Errors of the writers.

/// What went wrong while writing a result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Writing to the output failed (a closed pipe or connection, a full disk).
    #[error("writing the {format} output failed")]
    Io {
        /// The format being written.
        format: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Arrow could not format or encode a batch.
    #[error("encoding a batch as {format} failed")]
    Arrow {
        /// The format being written.
        format: &'static str,
        /// Arrow's error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// The Parquet encoder failed.
    #[error("encoding a batch as Parquet failed")]
    Parquet {
        /// Parquet's error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A batch's schema differs from the schema the writer was created with.
    #[error("a batch has {got} columns where the output has {expected}")]
    SchemaMismatch {
        /// Columns of the output.
        expected: usize,
        /// Columns of the batch.
        got: usize,
    },
    /// An unknown format name.
    #[error("unknown format {name:?}: use csv, json, arrow or parquet")]
    UnknownFormat {
        /// The name given.
        name: String,
    },
}

impl ExportError {
    /// Whether the error is an I/O failure of the output (for example, a reader that went
    /// away) rather than a problem with the data.
    pub fn is_io(&self) -> bool {
        matches!(self, ExportError::Io { .. })
    }
}

/// Result of the writers.
pub type Result<T, E = ExportError> = std::result::Result<T, E>;
