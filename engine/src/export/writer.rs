//! One writer over every format.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use crate::export::binary::{ArrowStreamWriter, ParquetStreamWriter};
use crate::export::csv::CsvWriter;
use crate::export::error::Result;
use crate::export::format::Format;
use crate::export::json::JsonWriter;

/// A writer for any [`Format`], fed one batch at a time.
#[derive(Debug)]
pub enum BatchWriter<W: Write + Send> {
    /// F4 CSV.
    Csv(CsvWriter<W>),
    /// A JSON array of objects.
    Json(JsonWriter<W>),
    /// Arrow IPC stream.
    Arrow(ArrowStreamWriter<W>),
    /// Parquet.
    Parquet(ParquetStreamWriter<W>),
}

impl<W: Write + Send> BatchWriter<W> {
    /// Starts writing `format` for batches of `schema` (writes the header, `[`, the schema
    /// message or the Parquet magic).
    pub fn try_new(format: Format, out: W, schema: &SchemaRef) -> Result<Self> {
        Ok(match format {
            Format::Csv => BatchWriter::Csv(CsvWriter::try_new(out, schema)?),
            Format::Json => BatchWriter::Json(JsonWriter::try_new(out, schema)?),
            Format::Arrow => BatchWriter::Arrow(ArrowStreamWriter::try_new(out, schema)?),
            Format::Parquet => {
                BatchWriter::Parquet(ParquetStreamWriter::try_new(out, schema.clone())?)
            }
        })
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            BatchWriter::Csv(w) => w.write(batch),
            BatchWriter::Json(w) => w.write(batch),
            BatchWriter::Arrow(w) => w.write(batch),
            BatchWriter::Parquet(w) => w.write(batch),
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        match self {
            BatchWriter::Csv(w) => w.rows(),
            BatchWriter::Json(w) => w.rows(),
            BatchWriter::Arrow(w) => w.rows(),
            BatchWriter::Parquet(w) => w.rows(),
        }
    }

    /// Completes the output (JSON's `]`, the Arrow end marker, the Parquet footer) and returns
    /// it with the number of rows written.
    pub fn finish(self) -> Result<(W, u64)> {
        let rows = self.rows();
        let out = match self {
            BatchWriter::Csv(w) => w.finish()?,
            BatchWriter::Json(w) => w.finish()?,
            BatchWriter::Arrow(w) => w.finish()?,
            BatchWriter::Parquet(w) => w.finish()?,
        };
        Ok((out, rows))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn batches() -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("x", DataType::Float64, true),
        ]));
        let b = |lo: i64| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter_values(lo..lo + 3)),
                    Arc::new(Float64Array::from(vec![Some(0.5), None, Some(-2.0)])),
                ],
            )
            .unwrap()
        };
        (schema.clone(), vec![b(0), b(3)])
    }

    #[test]
    fn binary_formats_read_back() {
        let (schema, input) = batches();
        for format in [Format::Arrow, Format::Parquet] {
            let mut w = BatchWriter::try_new(format, Vec::new(), &schema).unwrap();
            for b in &input {
                w.write(b).unwrap();
            }
            let (bytes, rows) = w.finish().unwrap();
            assert_eq!(rows, 6);
            let back: Vec<RecordBatch> = match format {
                Format::Arrow => arrow::ipc::reader::StreamReader::try_new(&bytes[..], None)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap(),
                _ => ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
                    .unwrap()
                    .build()
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap(),
            };
            let all = arrow::compute::concat_batches(&schema, &back).unwrap();
            let want = arrow::compute::concat_batches(&schema, &input).unwrap();
            assert_eq!(all, want, "{format}");
        }
    }

    #[test]
    fn a_batch_of_another_width_is_refused() {
        let (schema, input) = batches();
        let narrow = input[0].project(&[0]).unwrap();
        for format in [Format::Csv, Format::Json] {
            let mut w = BatchWriter::try_new(format, Vec::new(), &schema).unwrap();
            let err = w.write(&narrow).unwrap_err().to_string();
            assert!(err.contains("1 columns where the output has 2"), "{err}");
        }
    }

    #[test]
    fn a_failing_output_is_an_io_error() {
        #[derive(Debug)]
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (schema, input) = batches();
        for format in Format::ALL {
            // Writers may buffer; the failure surfaces by `finish` at the latest.
            let err = BatchWriter::try_new(format, Broken, &schema)
                .and_then(|mut w| w.write(&input[0]).map(|()| w))
                .and_then(|w| w.finish())
                .unwrap_err();
            assert!(err.is_io(), "{format}: {err:?}");
        }
    }
}
