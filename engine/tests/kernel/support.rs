//! Reference files (F4 CSV) and the F5.2 match rule.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use candlestore::{FieldKind, bar_schema, field_defs};

pub(crate) fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name)
}

/// A reference file: its 97 columns as text.
pub(crate) struct RefFile {
    pub(crate) cols: HashMap<String, Vec<String>>,
    pub(crate) rows: usize,
}

pub(crate) fn load(name: &str) -> RefFile {
    let file = std::fs::File::open(testdata(name)).expect("reference file");
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).expect("gzip");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("header").split(',').map(str::to_owned).collect();
    assert_eq!(header.len(), 97);
    let mut cols: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    let mut rows = 0;
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 97, "row {rows}");
        for (c, v) in cols.iter_mut().zip(fields) {
            c.push(v.to_owned());
        }
        rows += 1;
    }
    RefFile { cols: header.into_iter().zip(cols).collect(), rows }
}

pub(crate) fn parse_ts(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.fZ")
        .expect("timestamp")
        .and_utc()
        .timestamp_micros()
}

impl RefFile {
    fn floats(&self, name: &str) -> Vec<f64> {
        self.cols[name].iter().map(|s| s.parse().expect("float")).collect()
    }

    fn texts(&self, name: &str) -> ArrayRef {
        Arc::new(
            self.cols[name]
                .iter()
                .map(|s| (!s.is_empty()).then_some(s.as_str()))
                .collect::<StringArray>(),
        )
    }

    /// The input a user would give: key, OHLCV and the metadata columns, rows `a..b`.
    pub(crate) fn input(&self, a: usize, b: usize) -> RecordBatch {
        let ts: Vec<i64> = self.cols["datetime"].iter().map(|s| parse_ts(s)).collect();
        let mut fields = vec![
            Field::new(
                "datetime",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("symbol", DataType::Utf8, false),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
            self.texts("symbol"),
        ];
        for name in ["open", "high", "low", "close", "volume"] {
            fields.push(Field::new(name, DataType::Float64, false));
            columns.push(Arc::new(Float64Array::from(self.floats(name))));
        }
        for name in ["sector", "industry", "exchange", "mic_code", "currency", "country", "type"] {
            fields.push(Field::new(name, DataType::Utf8, true));
            columns.push(self.texts(name));
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
        batch.slice(a, b - a)
    }
}

/// Columns the comparison skips (F3.16: engine-clock stamps and the batch id).
pub(crate) const SKIPPED: [&str; 5] =
    ["created_at", "updated_at", "fetched_at", "computed_at", "batch_id"];

fn median_abs(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().filter(|x| **x != 0.0).map(|x| x.abs()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Compares every column of `got` (rows `offset..` of the reference) with the F5.2 rule.
/// Returns one line per mismatching column.
pub(crate) fn mismatches(reference: &RefFile, got: &RecordBatch, offset: usize) -> Vec<String> {
    assert_eq!(got.schema(), bar_schema());
    let n = got.num_rows();
    let mut report = Vec::new();
    for (c, def) in field_defs().iter().enumerate() {
        if SKIPPED.contains(&def.name) {
            continue;
        }
        let want = &reference.cols[def.name][offset..offset + n];
        let column = got.column(c);
        let mut bad: Vec<String> = Vec::new();
        match def.kind {
            FieldKind::Float64 => {
                let column = column.as_any().downcast_ref::<Float64Array>().expect("f64");
                let all: Vec<f64> = reference.cols[def.name]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().expect("float"))
                    .collect();
                let scale = median_abs(&all);
                for (i, w) in want.iter().enumerate() {
                    let ok = match (w.is_empty(), column.is_null(i)) {
                        (true, true) => true,
                        (false, false) => {
                            let (a, b) = (w.parse::<f64>().expect("float"), column.value(i));
                            (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(scale)
                        }
                        _ => false,
                    };
                    if !ok {
                        let g = if column.is_null(i) {
                            "null".into()
                        } else {
                            column.value(i).to_string()
                        };
                        bad.push(format!("row {}: want {w:?}, got {g}", offset + i));
                    }
                }
            }
            FieldKind::Timestamp => {
                let column =
                    column.as_any().downcast_ref::<TimestampMicrosecondArray>().expect("timestamp");
                for (i, w) in want.iter().enumerate() {
                    if parse_ts(w) != column.value(i) {
                        bad.push(format!("row {}: want {w}, got {}", offset + i, column.value(i)));
                    }
                }
            }
            _ => {
                let options = FormatOptions::default().with_null("");
                let formatter = ArrayFormatter::try_new(column.as_ref(), &options).expect("fmt");
                for (i, w) in want.iter().enumerate() {
                    let g = formatter.value(i).to_string();
                    if &g != w {
                        bad.push(format!("row {}: want {w:?}, got {g:?}", offset + i));
                    }
                }
            }
        }
        if !bad.is_empty() {
            report.push(format!(
                "{}: {} of {n} rows differ, first: {}",
                def.name,
                bad.len(),
                bad.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            ));
        }
    }
    report
}
