//! One writer over every format.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use crate::export::binary::{ArrowStreamWriter, ParquetStreamWriter};
use crate::export::csv::CsvWriter;
use crate::export::error::{ExportError, Result};
use crate::export::format::Format;
use crate::export::json::JsonWriter;

/// Batches shorter than this are gathered into one before they are encoded. A scan yields one
/// batch per segment slice (a month of one symbol is ~21 daily bars), and every encoded batch
/// has a fixed cost (an Arrow IPC message with its dictionary checks, a Parquet page per
/// column, the text writers' column setup) that would otherwise dominate short ranges.
const COALESCE_ROWS: usize = 8192;

/// A writer for any [`Format`], fed one batch at a time (short batches are coalesced, up to
/// 8,192 rows, so memory stays bounded).
#[derive(Debug)]
pub struct BatchWriter<W: Write + Send> {
    inner: Inner<W>,
    /// Columns of the output schema.
    width: usize,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

#[derive(Debug)]
enum Inner<W: Write + Send> {
    Csv(CsvWriter<W>),
    Json(JsonWriter<W>),
    Arrow(ArrowStreamWriter<W>),
    Parquet(ParquetStreamWriter<W>),
}

impl<W: Write + Send> BatchWriter<W> {
    /// Starts writing `format` for batches of `schema` (writes the header, `[`, the schema
    /// message or the Parquet magic).
    pub fn try_new(format: Format, out: W, schema: &SchemaRef) -> Result<Self> {
        let inner = match format {
            Format::Csv => Inner::Csv(CsvWriter::try_new(out, schema)?),
            Format::Json => Inner::Json(JsonWriter::try_new(out, schema)?),
            Format::Arrow => Inner::Arrow(ArrowStreamWriter::try_new(out, schema)?),
            Format::Parquet => Inner::Parquet(ParquetStreamWriter::try_new(out, schema.clone())?),
        };
        Ok(Self { inner, width: schema.fields().len(), pending: Vec::new(), pending_rows: 0 })
    }

    /// Writes one batch (a short one may wait for the next, see [`BatchWriter::finish`]).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_columns() != self.width {
            return Err(ExportError::SchemaMismatch {
                expected: self.width,
                got: batch.num_columns(),
            });
        }
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.pending.is_empty() && batch.num_rows() >= COALESCE_ROWS {
            return self.inner.write(batch);
        }
        self.pending.push(batch.clone());
        self.pending_rows += batch.num_rows();
        if self.pending_rows >= COALESCE_ROWS {
            self.drain()?;
        }
        Ok(())
    }

    /// Encodes the gathered batches as one.
    fn drain(&mut self) -> Result<()> {
        let batch = match self.pending.len() {
            0 => return Ok(()),
            1 => self.pending.pop().expect("one pending batch"),
            _ => {
                let schema = self.pending[0].schema();
                arrow::compute::concat_batches(&schema, &self.pending)
                    .map_err(|source| ExportError::Arrow { format: self.inner.name(), source })?
            }
        };
        self.pending.clear();
        self.pending_rows = 0;
        self.inner.write(&batch)
    }

    /// Rows accepted so far (written or waiting to be coalesced).
    pub fn rows(&self) -> u64 {
        self.inner.rows() + self.pending_rows as u64
    }

    /// Writes what is pending, completes the output (JSON's `]`, the Arrow end marker, the
    /// Parquet footer) and returns it with the number of rows written.
    pub fn finish(mut self) -> Result<(W, u64)> {
        self.drain()?;
        let rows = self.inner.rows();
        let out = match self.inner {
            Inner::Csv(w) => w.finish()?,
            Inner::Json(w) => w.finish()?,
            Inner::Arrow(w) => w.finish()?,
            Inner::Parquet(w) => w.finish()?,
        };
        Ok((out, rows))
    }
}

impl<W: Write + Send> Inner<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            Inner::Csv(w) => w.write(batch),
            Inner::Json(w) => w.write(batch),
            Inner::Arrow(w) => w.write(batch),
            Inner::Parquet(w) => w.write(batch),
        }
    }

    fn rows(&self) -> u64 {
        match self {
            Inner::Csv(w) => w.rows(),
            Inner::Json(w) => w.rows(),
            Inner::Arrow(w) => w.rows(),
            Inner::Parquet(w) => w.rows(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Inner::Csv(_) => "CSV",
            Inner::Json(_) => "JSON",
            Inner::Arrow(_) => "Arrow IPC",
            Inner::Parquet(_) => "Parquet",
        }
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

    /// Many short batches come out as one Arrow record batch, in order; a long batch after
    /// them is written on its own.
    #[test]
    fn short_batches_are_coalesced() {
        let (schema, input) = batches();
        let mut w = BatchWriter::try_new(Format::Arrow, Vec::new(), &schema).unwrap();
        for _ in 0..100 {
            w.write(&input[0]).unwrap();
            w.write(&input[1]).unwrap();
        }
        assert_eq!(w.rows(), 600);
        let (bytes, rows) = w.finish().unwrap();
        assert_eq!(rows, 600);
        let back: Vec<RecordBatch> = arrow::ipc::reader::StreamReader::try_new(&bytes[..], None)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back.len(), 1);
        let n = back[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(n.values()[..6], [0, 1, 2, 3, 4, 5]);
        assert_eq!(n.values()[594..], [0, 1, 2, 3, 4, 5]);

        let long = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..COALESCE_ROWS as i64)),
                Arc::new(Float64Array::from(vec![1.0; COALESCE_ROWS])),
            ],
        )
        .unwrap();
        let mut w = BatchWriter::try_new(Format::Arrow, Vec::new(), &schema).unwrap();
        w.write(&input[0]).unwrap();
        w.write(&long).unwrap(); // pending reaches the threshold: one batch of 3 + 8192
        w.write(&long).unwrap(); // nothing pending: written as it is
        let (bytes, rows) = w.finish().unwrap();
        assert_eq!(rows, 3 + 2 * COALESCE_ROWS as u64);
        let sizes: Vec<usize> = arrow::ipc::reader::StreamReader::try_new(&bytes[..], None)
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .collect();
        assert_eq!(sizes, [3 + COALESCE_ROWS, COALESCE_ROWS]);
    }

    #[test]
    fn a_batch_of_another_width_is_refused() {
        let (schema, input) = batches();
        let narrow = input[0].project(&[0]).unwrap();
        for format in Format::ALL {
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
