//! Writing query results: F4 CSV, JSON, Parquet and Arrow IPC, through the writers of
//! `candlestore::export` (shared with the HTTP server).

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use candlestore::export::BatchWriter;
use clap::ValueEnum;

/// Output format of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// F4 exchange CSV: header = field names, null = empty, timestamps
    /// YYYY-MM-DDTHH:MM:SS.ffffffZ, floats as Python repr.
    Csv,
    /// A JSON array of objects, one per bar (null as null, timestamps as F4 text).
    Json,
    /// Parquet (zstd) with the F1 column types; needs --output or a redirected stdout.
    Parquet,
    /// Arrow IPC stream; needs --output or a redirected stdout.
    Arrow,
}

impl Format {
    /// Whether the format is binary (never written to a terminal).
    pub(crate) fn is_binary(self) -> bool {
        candlestore::export::Format::from(self).is_binary()
    }
}

impl From<Format> for candlestore::export::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Csv => candlestore::export::Format::Csv,
            Format::Json => candlestore::export::Format::Json,
            Format::Parquet => candlestore::export::Format::Parquet,
            Format::Arrow => candlestore::export::Format::Arrow,
        }
    }
}

/// Streams batches to `out` in `format`; returns the number of rows written.
pub(crate) fn write_all<W, I>(
    format: Format,
    schema: SchemaRef,
    batches: I,
    out: W,
) -> anyhow::Result<u64>
where
    W: Write + Send,
    I: Iterator<Item = anyhow::Result<RecordBatch>>,
{
    let out = std::io::BufWriter::new(out);
    let mut writer = BatchWriter::try_new(format.into(), out, &schema)?;
    for batch in batches {
        writer.write(&batch?)?;
    }
    let (mut out, rows) = writer.finish()?;
    if format == Format::Json {
        // The array, then a newline for terminals and line-oriented tools.
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(rows)
}
