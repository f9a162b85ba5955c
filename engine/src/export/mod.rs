//! Export formats: writes query results, batch by batch, in the formats the `candlestore` tool and the HTTP
//! server share: the F4 exchange CSV (`*.fields.csv`), a JSON array of objects, the Arrow IPC
//! stream format and Parquet (zstd). Every writer takes one [`RecordBatch`] at a time and
//! never holds more than one batch (Parquet: one bounded row group), so a large range streams
//! with bounded memory.
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Float64Array, RecordBatch};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use candlestore::export::{BatchWriter, Format};
//!
//! let schema = Arc::new(Schema::new(vec![Field::new("close", DataType::Float64, true)]));
//! let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Float64Array::from(vec![0.1]))])?;
//! let mut w = BatchWriter::try_new(Format::Csv, Vec::new(), &schema)?;
//! w.write(&batch)?;
//! let (out, rows) = w.finish()?;
//! assert_eq!((String::from_utf8(out).unwrap(), rows), ("close\n0.1\n".to_owned(), 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`RecordBatch`]: arrow::array::RecordBatch

mod binary;
mod cell;
mod csv;
mod error;
mod format;
mod json;
mod repr;
mod time;
mod writer;

pub use binary::{ArrowStreamWriter, ParquetStreamWriter};
pub use csv::CsvWriter;
pub use error::{ExportError, Result};
pub use format::Format;
pub use json::JsonWriter;
pub use repr::python_repr;
pub use time::format_micros;
pub use writer::BatchWriter;
