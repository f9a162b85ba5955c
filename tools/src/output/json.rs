//! JSON output: one array of objects, keys in column order, numbers as JSON numbers (NaN and
//! infinities, which JSON cannot express, as null), timestamps as F4 text.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::util::display::FormatOptions;

use super::{Cell, Column};

pub(super) fn write<W, I>(schema: &SchemaRef, batches: I, out: W) -> anyhow::Result<u64>
where
    W: Write,
    I: Iterator<Item = anyhow::Result<RecordBatch>>,
{
    let mut out = std::io::BufWriter::new(out);
    let keys: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| serde_json::to_string(f.name()))
        .collect::<Result<_, _>>()?;
    let options = FormatOptions::default();
    let mut rows = 0u64;
    let mut line = String::new();
    out.write_all(b"[")?;
    for batch in batches {
        let batch = batch?;
        let columns = batch
            .columns()
            .iter()
            .map(|a| Column::new(a, &options))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for row in 0..batch.num_rows() {
            line.clear();
            line.push_str(if rows == 0 { "\n{" } else { ",\n{" });
            for (i, (key, column)) in keys.iter().zip(&columns).enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(key);
                line.push(':');
                push_value(&mut line, column.cell(row))?;
            }
            line.push('}');
            out.write_all(line.as_bytes())?;
            rows += 1;
        }
    }
    out.write_all(if rows == 0 { b"]\n" } else { b"\n]\n" })?;
    out.flush()?;
    Ok(rows)
}

fn push_value(line: &mut String, cell: Cell<'_>) -> anyhow::Result<()> {
    match cell {
        Cell::Null => line.push_str("null"),
        Cell::Text(t) => line.push_str(&serde_json::to_string(t.as_ref())?),
        // Python-repr text (`1e-07`, `36301200.0`) is valid JSON number syntax; nan/inf is not.
        Cell::Number(n) if n.ends_with("nan") || n.ends_with("inf") => line.push_str("null"),
        Cell::Number(n) => line.push_str(&n),
        Cell::Bool(b) => line.push_str(if b { "true" } else { "false" }),
    }
    Ok(())
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
            Arc::new(StringArray::from(vec!["ORCL", "X\"Y", "Z"])),
            Arc::new(Float64Array::from(vec![Some(1e-7), None, Some(f64::NAN)])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let mut out = Vec::new();
        assert_eq!(write(&schema, std::iter::once(Ok(batch)), &mut out).unwrap(), 3);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[0]["close"], serde_json::json!(1e-7));
        assert_eq!(v[1]["symbol"], "X\"Y");
        assert!(v[1]["close"].is_null() && v[2]["close"].is_null());
        let mut empty = Vec::new();
        write(&schema, std::iter::empty(), &mut empty).unwrap();
        assert_eq!(String::from_utf8(empty).unwrap(), "[]\n");
    }
}
