//! JSON output: one array of objects, keys in column order, numbers as JSON numbers (NaN and
//! infinities, which JSON cannot express, as null), timestamps as F4 text.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use arrow::util::display::FormatOptions;

use crate::export::cell::{Cell, columns};
use crate::export::error::{ExportError, Result};
use crate::export::repr::push_python_repr;
use crate::export::time::push_micros;

/// Writes one JSON array: `[` on creation, an object per row, `]` on [`JsonWriter::finish`]
/// (no trailing newline, so the array can sit inside an envelope).
#[derive(Debug)]
pub struct JsonWriter<W: Write> {
    out: W,
    keys: Vec<String>,
    line: String,
    rows: u64,
}

impl<W: Write> JsonWriter<W> {
    /// Opens the array.
    pub fn try_new(mut out: W, schema: &Schema) -> Result<Self> {
        let keys = schema.fields().iter().map(|f| json_string(f.name())).collect();
        out.write_all(b"[").map_err(io)?;
        Ok(Self { out, keys, line: String::new(), rows: 0 })
    }

    /// Writes the rows of `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_columns() != self.keys.len() {
            return Err(ExportError::SchemaMismatch {
                expected: self.keys.len(),
                got: batch.num_columns(),
            });
        }
        let options = FormatOptions::default();
        let columns = columns(batch, &options, "JSON")?;
        for row in 0..batch.num_rows() {
            self.line.clear();
            self.line.push_str(if self.rows == 0 { "\n{" } else { ",\n{" });
            for (i, (key, column)) in self.keys.iter().zip(&columns).enumerate() {
                if i > 0 {
                    self.line.push(',');
                }
                self.line.push_str(key);
                self.line.push(':');
                push_value(&mut self.line, column.cell(row));
            }
            self.line.push('}');
            self.out.write_all(self.line.as_bytes()).map_err(io)?;
            self.rows += 1;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the array, flushes and returns the output.
    pub fn finish(mut self) -> Result<W> {
        let close: &[u8] = if self.rows == 0 { b"]" } else { b"\n]" };
        self.out.write_all(close).map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.out)
    }
}

fn io(source: std::io::Error) -> ExportError {
    ExportError::Io { format: "JSON", source }
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    // Serializing a `str` cannot fail; the fallback keeps this total without a panic path.
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

fn push_value(line: &mut String, cell: Cell<'_>) {
    match cell {
        Cell::Null => line.push_str("null"),
        Cell::Text(t) => push_json_string(line, &t),
        // Python-repr text (`1e-07`, `36301200.0`) is valid JSON number syntax; nan/inf is not.
        Cell::Float(x) if !x.is_finite() => line.push_str("null"),
        Cell::Float(x) => push_python_repr(line, x),
        Cell::Int(i) => line.push_str(itoa::Buffer::new().format(i)),
        Cell::Time(t) => {
            line.push('"');
            push_micros(line, t);
            line.push('"');
        }
        Cell::Bool(b) => line.push_str(if b { "true" } else { "false" }),
    }
}

/// Appends `text` as a JSON string literal; text without a quote, backslash or control
/// character (symbols, sectors, notes) is copied as is.
fn push_json_string(line: &mut String, text: &str) {
    if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        line.push_str(&json_string(text));
    } else {
        line.push('"');
        line.push_str(text);
        line.push('"');
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn writes_an_array_of_objects() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("symbol", DataType::Utf8, false),
            Field::new("close", DataType::Float64, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["ORCL", "X\"Y", "Z\n\\"])),
            Arc::new(Float64Array::from(vec![Some(1e-7), None, Some(f64::NAN)])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let mut w = JsonWriter::try_new(Vec::new(), &schema).unwrap();
        w.write(&batch).unwrap();
        assert_eq!(w.rows(), 3);
        let out = w.finish().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(String::from_utf8(out.clone()).unwrap().contains(r#""close":1e-07"#));
        assert_eq!(v[0]["close"], serde_json::json!(1e-7));
        assert_eq!(v[1]["symbol"], "X\"Y");
        assert_eq!(v[2]["symbol"], "Z\n\\");
        assert!(v[1]["close"].is_null() && v[2]["close"].is_null());
        let empty = JsonWriter::try_new(Vec::new(), &schema).unwrap().finish().unwrap();
        assert_eq!(String::from_utf8(empty).unwrap(), "[]");
    }
}
