//! F4 exchange CSV (`*.fields.csv`): header = field names; null = empty field; timestamps
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ`; booleans `true`/`false`; integers in decimal; floats as
//! Python `repr`; dictionary strings as their values. Text is quoted (RFC 4180) only when it
//! holds a comma, quote or line break, or is empty (so it differs from null).

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use arrow::util::display::FormatOptions;

use crate::export::cell::{Cell, columns};
use crate::export::error::{ExportError, Result};
use crate::export::repr::push_python_repr;
use crate::export::time::push_micros;

/// Writes F4 CSV: the header on creation, then the rows of each batch.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    out: W,
    width: usize,
    line: String,
    rows: u64,
}

impl<W: Write> CsvWriter<W> {
    /// Writes the header line for `schema`.
    pub fn try_new(mut out: W, schema: &Schema) -> Result<Self> {
        let mut line = String::new();
        for (i, field) in schema.fields().iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            push_text(&mut line, field.name());
        }
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(io)?;
        Ok(Self { out, width: schema.fields().len(), line, rows: 0 })
    }

    /// Writes the rows of `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_columns() != self.width {
            return Err(ExportError::SchemaMismatch {
                expected: self.width,
                got: batch.num_columns(),
            });
        }
        let options = FormatOptions::default();
        let columns = columns(batch, &options, "CSV")?;
        for row in 0..batch.num_rows() {
            self.line.clear();
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    self.line.push(',');
                }
                push_cell(&mut self.line, column.cell(row));
            }
            self.line.push('\n');
            self.out.write_all(self.line.as_bytes()).map_err(io)?;
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.out.flush().map_err(io)?;
        Ok(self.out)
    }
}

fn io(source: std::io::Error) -> ExportError {
    ExportError::Io { format: "CSV", source }
}

fn push_cell(line: &mut String, cell: Cell<'_>) {
    match cell {
        Cell::Null => {}
        Cell::Text(t) => push_text(line, &t),
        Cell::Float(x) => push_python_repr(line, x),
        Cell::Int(i) => line.push_str(itoa::Buffer::new().format(i)),
        Cell::Time(t) => push_micros(line, t),
        Cell::Bool(b) => line.push_str(if b { "true" } else { "false" }),
    }
}

fn push_text(line: &mut String, text: &str) {
    if text.is_empty() || text.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow::datatypes::{DataType, Field, Int32Type, Schema, TimeUnit};

    use super::*;

    #[test]
    fn writes_f4_text() {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "datetime",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new(
                "symbol",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                false,
            ),
            Field::new("close", DataType::Float64, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("n", DataType::Int32, true),
            Field::new("note", DataType::Utf8, true),
        ]));
        let symbol: DictionaryArray<Int32Type> = vec!["ORCL", "A,B"].into_iter().collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(
                TimestampMicrosecondArray::from(vec![789_091_200_000_000, 0]).with_timezone("UTC"),
            ),
            Arc::new(symbol),
            Arc::new(Float64Array::from(vec![Some(36301200.0), None])),
            Arc::new(BooleanArray::from(vec![Some(true), None])),
            Arc::new(Int32Array::from(vec![Some(-3), None])),
            Arc::new(StringArray::from(vec![Some("say \"hi\""), Some("")])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let mut w = CsvWriter::try_new(Vec::new(), &schema).unwrap();
        w.write(&batch).unwrap();
        assert_eq!(w.rows(), 2);
        let out = w.finish().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "datetime,symbol,close,flag,n,note\n\
             1995-01-03T00:00:00.000000Z,ORCL,36301200.0,true,-3,\"say \"\"hi\"\"\"\n\
             1970-01-01T00:00:00.000000Z,\"A,B\",,,,\"\"\n"
        );
    }
}
