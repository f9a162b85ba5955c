//! Binary outputs: Parquet (zstd, the F1 column types) and the Arrow IPC stream format.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::writer::StreamWriter;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

pub(super) fn write_parquet<W, I>(schema: SchemaRef, batches: I, out: W) -> anyhow::Result<u64>
where
    W: Write + Send,
    I: Iterator<Item = anyhow::Result<RecordBatch>>,
{
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(out, schema, Some(props))?;
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(rows)
}

pub(super) fn write_arrow<W, I>(schema: &SchemaRef, batches: I, out: W) -> anyhow::Result<u64>
where
    W: Write,
    I: Iterator<Item = anyhow::Result<RecordBatch>>,
{
    let mut writer = StreamWriter::try_new(std::io::BufWriter::new(out), schema)?;
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    writer.finish()?;
    writer.into_inner()?.flush()?;
    Ok(rows)
}
