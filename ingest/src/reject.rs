//! Rejected rows: what is kept in memory ([`ImportStats`]) and the optional reject file
//! ([`RejectSink`]).

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::error::ImportError;

/// How many [`Reject`]s [`ImportStats::rejects`] keeps; the counters keep counting.
pub const MAX_REJECTS_KEPT: usize = 100;

/// One row that was not imported (invalid value, wrong field count, or duplicate timestamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based physical line in the file (for Parquet: 1-based row number).
    pub line: u64,
    /// The source column at fault, if the problem is in one column.
    pub column: Option<String>,
    /// Why the row was rejected, e.g. `empty field` or `non-numeric value "abc"`.
    pub reason: String,
    /// The raw line (for Parquet: the row's values joined with `,`).
    pub raw: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c:?}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// Counters of one import. `rows_read = rows_accepted + rows_rejected + duplicates_in_file`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportStats {
    /// Data rows read (header and blank lines excluded).
    pub rows_read: u64,
    /// Rows emitted in batches.
    pub rows_accepted: u64,
    /// Rows rejected for an invalid value or a wrong number of fields.
    pub rows_rejected: u64,
    /// The first [`MAX_REJECTS_KEPT`] rejects and duplicates, in file order.
    pub rejects: Vec<Reject>,
    /// Rows dropped because an earlier row of the same file had the same (symbol, datetime).
    pub duplicates_in_file: u64,
}

impl ImportStats {
    pub(crate) fn keep(&mut self, reject: Reject) {
        if self.rejects.len() < MAX_REJECTS_KEPT {
            self.rejects.push(reject);
        }
    }
}

/// Writes every rejected row to a CSV file with header `line,column,reason,raw`.
///
/// The file is flushed when the reader reaches the end of the input ([`RejectSink::finish`]);
/// nothing is written from `Drop`.
#[derive(Debug)]
pub struct RejectSink {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
}

impl RejectSink {
    /// Creates (truncates) the reject file and writes its header.
    pub fn create(path: &Path) -> Result<Self, ImportError> {
        let file = File::create(path)
            .map_err(|source| ImportError::RejectFile { path: path.to_path_buf(), source })?;
        let mut sink = Self {
            path: path.to_path_buf(),
            writer: csv::Writer::from_writer(BufWriter::new(file)),
        };
        sink.write_fields(["line", "column", "reason", "raw"])?;
        Ok(sink)
    }

    /// Appends one reject.
    pub fn write(&mut self, r: &Reject) -> Result<(), ImportError> {
        let line = r.line.to_string();
        self.write_fields([line.as_str(), r.column.as_deref().unwrap_or(""), &r.reason, &r.raw])
    }

    /// Flushes the file to the OS.
    pub fn finish(&mut self) -> Result<(), ImportError> {
        self.writer
            .flush()
            .map_err(|source| ImportError::RejectFile { path: self.path.clone(), source })
    }

    fn write_fields(&mut self, fields: [&str; 4]) -> Result<(), ImportError> {
        self.writer.write_record(fields).map_err(|e| ImportError::RejectFile {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })
    }
}
