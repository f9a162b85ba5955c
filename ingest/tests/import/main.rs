//! Integration tests of the importers: real files from `testdata/` and small crafted inputs.

mod crafted;
mod layouts;
mod parquet;
mod real_files;

use std::path::{Path, PathBuf};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use candlestore_ingest::{BarReader, bar_schema};

pub(crate) fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(rel)
}

pub(crate) fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
}

/// All rows of a reader, column-wise.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) symbol: Vec<String>,
    pub(crate) datetime: Vec<i64>,
    pub(crate) ohlcv: Vec<[f64; 5]>,
}

impl Rows {
    pub(crate) fn len(&self) -> usize {
        self.datetime.len()
    }

    pub(crate) fn push(&mut self, b: &RecordBatch) {
        assert_eq!(b.schema(), bar_schema());
        let sym = b.column(0).as_string::<i32>();
        let dt = b.column(1).as_primitive::<TimestampMicrosecondType>();
        let v: Vec<_> = (2..7).map(|c| b.column(c).as_primitive::<Float64Type>()).collect();
        for i in 0..b.num_rows() {
            self.symbol.push(sym.value(i).to_owned());
            self.datetime.push(dt.value(i));
            let row = [v[0].value(i), v[1].value(i), v[2].value(i), v[3].value(i), v[4].value(i)];
            assert!(row.iter().all(|x| x.is_finite()));
            self.ohlcv.push(row);
        }
        for c in b.columns() {
            assert_eq!(c.null_count(), 0);
        }
    }
}

/// Drains the reader, checking every batch has at most `max_rows` rows.
pub(crate) fn read_all(reader: &mut BarReader, max_rows: usize) -> Rows {
    let mut rows = Rows::default();
    for batch in reader.by_ref() {
        let batch = batch.unwrap();
        assert!(batch.num_rows() > 0 && batch.num_rows() <= max_rows);
        rows.push(&batch);
    }
    let s = reader.stats();
    assert_eq!(s.rows_read, s.rows_accepted + s.rows_rejected + s.duplicates_in_file);
    assert_eq!(rows.len() as u64, s.rows_accepted);
    rows
}
