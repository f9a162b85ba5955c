//! [`open`] and [`BarReader`]: the one entry point over the CSV and Parquet readers.

use std::path::Path;

use arrow::record_batch::RecordBatch;

use crate::csv_reader::CsvBarReader;
use crate::error::ImportError;
use crate::layout::Layout;
use crate::options::ImportOptions;
use crate::parquet_reader::ParquetBarReader;
use crate::reject::ImportStats;
use crate::source::is_parquet;

/// Opens `path` (CSV, gzip'd CSV or Parquet), detects its layout and returns a streaming
/// reader of validated bars.
///
/// Parquet is recognised by its `PAR1` magic, gzip by its magic bytes; everything else is read
/// as CSV text. With `opts.mapping` set, a CSV is read through the mapping ([`Layout::Mapped`]).
pub fn open(path: &Path, opts: &ImportOptions) -> Result<BarReader, ImportError> {
    let inner = if is_parquet(path)? {
        Inner::Parquet(Box::new(ParquetBarReader::open(path, opts)?))
    } else {
        Inner::Csv(Box::new(CsvBarReader::open(path, opts)?))
    };
    Ok(BarReader { inner })
}

/// Streams `RecordBatch`es with the schema of [`bar_schema`](crate::bar_schema), at most
/// `batch_rows` rows each. Rejected rows never appear in a batch; see [`BarReader::stats`].
///
/// After an `Err` item the iterator ends. The reject file is flushed when the iterator
/// returns `None` for the first time.
#[derive(Debug)]
pub struct BarReader {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Csv(Box<CsvBarReader>),
    Parquet(Box<ParquetBarReader>),
}

impl BarReader {
    /// The detected (or mapped) layout.
    pub fn layout(&self) -> Layout {
        match &self.inner {
            Inner::Csv(r) => r.layout(),
            Inner::Parquet(_) => Layout::Parquet,
        }
    }

    /// Counters and the first rejects so far (final once the iterator has ended).
    pub fn stats(&self) -> &ImportStats {
        match &self.inner {
            Inner::Csv(r) => r.collector().stats(),
            Inner::Parquet(r) => r.collector().stats(),
        }
    }

    /// Bytes of the file consumed so far (compressed bytes for `.gz`; for Parquet an estimate
    /// from the fraction of rows decoded). Compare with [`BarReader::total_bytes`].
    pub fn bytes_read(&self) -> u64 {
        match &self.inner {
            Inner::Csv(r) => r.bytes_read(),
            Inner::Parquet(r) => r.bytes_read(),
        }
    }

    /// Size of the file on disk, if known.
    pub fn total_bytes(&self) -> Option<u64> {
        match &self.inner {
            Inner::Csv(r) => r.total_bytes(),
            Inner::Parquet(r) => r.total_bytes(),
        }
    }
}

impl Iterator for BarReader {
    type Item = Result<RecordBatch, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Csv(r) => r.next(),
            Inner::Parquet(r) => r.next(),
        }
    }
}
