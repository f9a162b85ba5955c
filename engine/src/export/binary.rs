//! Binary outputs: the Arrow IPC stream format and Parquet (zstd, the F1 column types).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::ipc::writer::StreamWriter;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::export::error::{ExportError, Result};

/// Rows per Parquet row group. The writer buffers one row group's encoded pages (and its
/// float columns' values uncompressed) before writing it out, so this bounds its memory: at
/// 64 Ki rows x 97 columns that was ~90 MB of a 500-symbol export's peak (heaptrack); 16 Ki
/// rows cost 2.4% more output bytes and keep row groups large enough for readers to skip by
/// statistics.
const PARQUET_ROW_GROUP_ROWS: usize = 16 * 1024;

/// Writes the Arrow IPC stream format: the schema message, then one message per batch.
pub struct ArrowStreamWriter<W: Write> {
    inner: StreamWriter<W>,
    rows: u64,
}

impl<W: Write> std::fmt::Debug for ArrowStreamWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowStreamWriter").field("rows", &self.rows).finish()
    }
}

impl<W: Write> ArrowStreamWriter<W> {
    /// Writes the schema message.
    pub fn try_new(out: W, schema: &SchemaRef) -> Result<Self> {
        Ok(Self { inner: StreamWriter::try_new(out, schema).map_err(arrow_err)?, rows: 0 })
    }

    /// Writes one batch message.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.inner.write(batch).map_err(arrow_err)?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the end-of-stream marker, flushes and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.inner.finish().map_err(arrow_err)?;
        let mut out = self.inner.into_inner().map_err(arrow_err)?;
        out.flush().map_err(|source| ExportError::Io { format: "Arrow IPC", source })?;
        Ok(out)
    }
}

fn arrow_err(source: arrow::error::ArrowError) -> ExportError {
    match source {
        arrow::error::ArrowError::IoError(_, source) => {
            ExportError::Io { format: "Arrow IPC", source }
        }
        source => ExportError::Arrow { format: "Arrow IPC", source },
    }
}

/// Writes Parquet (zstd) row group by row group; the footer on [`ParquetStreamWriter::finish`].
pub struct ParquetStreamWriter<W: Write + Send> {
    inner: ArrowWriter<Tap<W>>,
    failure: Failure,
    rows: u64,
}

/// The last I/O error of the output. The Parquet writer reports some of them (a failed
/// final flush) only as text; this keeps their kind, so a reader that went away is told
/// apart from a bad batch.
type Failure = Arc<Mutex<Option<(io::ErrorKind, String)>>>;

/// The output, recording its failures in a [`Failure`].
struct Tap<W> {
    inner: W,
    failure: Failure,
}

impl<W: Write> Tap<W> {
    fn record<T>(&self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r
            && let Ok(mut f) = self.failure.lock()
        {
            *f = Some((e.kind(), e.to_string()));
        }
        r
    }
}

impl<W: Write> Write for Tap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.record(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.record(r)
    }
}

impl<W: Write + Send> std::fmt::Debug for ParquetStreamWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetStreamWriter").field("rows", &self.rows).finish()
    }
}

impl<W: Write + Send> ParquetStreamWriter<W> {
    /// Writes the Parquet magic.
    pub fn try_new(out: W, schema: SchemaRef) -> Result<Self> {
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(PARQUET_ROW_GROUP_ROWS));
        // Floats as in the segments: byte-stream split, no dictionary. Price and indicator
        // series rarely repeat a value, so a dictionary attempt hashes every value of a page
        // only to fall back to plain; split streams also compress better under zstd.
        for field in schema.fields() {
            if field.data_type() == &DataType::Float64 {
                let path = ColumnPath::from(field.name().as_str());
                props = props
                    .set_column_dictionary_enabled(path.clone(), false)
                    .set_column_encoding(path, Encoding::BYTE_STREAM_SPLIT);
            }
        }
        let props = props.build();
        let failure = Failure::default();
        let tap = Tap { inner: out, failure: failure.clone() };
        let inner =
            ArrowWriter::try_new(tap, schema, Some(props)).map_err(|e| parquet_err(e, &failure))?;
        Ok(Self { inner, failure, rows: 0 })
    }

    /// Adds a batch (written out whenever a row group fills).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.inner.write(batch).map_err(|e| parquet_err(e, &self.failure))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the last row group and the footer, and returns the output.
    pub fn finish(self) -> Result<W> {
        let failure = self.failure;
        let mut out = self.inner.into_inner().map_err(|e| parquet_err(e, &failure))?;
        out.flush().map_err(|source| ExportError::Io { format: "Parquet", source })?;
        Ok(out.inner)
    }
}

fn parquet_err(source: ParquetError, failure: &Failure) -> ExportError {
    if let Some((kind, message)) = failure.lock().ok().and_then(|f| f.clone()) {
        return ExportError::Io { format: "Parquet", source: io::Error::new(kind, message) };
    }
    match source {
        ParquetError::External(e) => match e.downcast::<std::io::Error>() {
            Ok(io) => ExportError::Io { format: "Parquet", source: *io },
            Err(e) => ExportError::Parquet { source: ParquetError::External(e) },
        },
        source => ExportError::Parquet { source },
    }
}
