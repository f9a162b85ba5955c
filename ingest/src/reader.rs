//! [`open`] and [`BarReader`]: the one entry point over the CSV and Parquet readers.

use std::path::Path;

use arrow::record_batch::RecordBatch;

use crate::csv_reader::CsvBarReader;
use crate::error::ImportError;
use crate::layout::Layout;
use crate::options::ImportOptions;
use crate::order::Reorder;
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
    Ok(BarReader { inner, order: Reorder::new(path), lines: Vec::new(), ended: false })
}

/// Streams `RecordBatch`es with the schema of [`bar_schema`](crate::bar_schema), at most
/// `batch_rows` rows each. Rejected rows never appear in a batch; see [`BarReader::stats`].
///
/// A file whose rows run newest first is emitted oldest first (see
/// [`BarReader::newest_first`]): its batches are held to the end of the file (spilling to a
/// temp file beyond a million rows) and handed out reversed.
///
/// After an `Err` item the iterator ends. The reject file is flushed when the iterator
/// returns `None` for the first time.
#[derive(Debug)]
pub struct BarReader {
    inner: Inner,
    order: Reorder,
    lines: Vec<u64>,
    ended: bool,
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

    /// Whether the file's rows run newest first (decided from its first batch); its bars are
    /// then emitted oldest first.
    pub fn newest_first(&self) -> bool {
        self.order.newest_first()
    }

    /// The source line (Parquet: 1-based row number) of each row of the batch last returned.
    pub fn batch_lines(&self) -> &[u64] {
        &self.lines
    }

    fn last_lines(&self) -> Vec<u64> {
        match &self.inner {
            Inner::Csv(r) => r.collector().last_lines().to_vec(),
            Inner::Parquet(r) => r.collector().last_lines().to_vec(),
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
        loop {
            match self.order.pop() {
                Ok(Some((batch, lines))) => {
                    self.lines = lines;
                    return Some(Ok(batch));
                }
                Ok(None) if self.ended => return None,
                Ok(None) => {}
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
            }
            let item = match &mut self.inner {
                Inner::Csv(r) => r.next(),
                Inner::Parquet(r) => r.next(),
            };
            match item {
                Some(Ok(batch)) => {
                    let lines = self.last_lines();
                    match self.order.push(batch, lines) {
                        Ok(Some((batch, lines))) => {
                            self.lines = lines;
                            return Some(Ok(batch));
                        }
                        Ok(None) => {}
                        Err(e) => {
                            self.ended = true;
                            return Some(Err(e));
                        }
                    }
                }
                Some(Err(e)) => {
                    // The rows held so far are not emitted: the file could only be read in
                    // part, and a partial newest-first file would be its newest rows only.
                    self.ended = true;
                    return Some(Err(e));
                }
                None => {
                    self.ended = true;
                    if let Err(e) = self.order.finish() {
                        return Some(Err(e));
                    }
                }
            }
        }
    }
}
