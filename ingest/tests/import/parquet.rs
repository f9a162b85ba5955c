//! Parquet input, written here with the `parquet` crate's Arrow writer.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, DictionaryArray, Float32Array, Float64Array, Int64Array, StringArray,
    TimestampNanosecondArray,
};
use arrow::datatypes::Int32Type;
use arrow::record_batch::RecordBatch;
use candlestore_ingest::{ColumnMapping, ImportOptions, Layout, open};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::{read_all, utc};

fn write_parquet(path: &Path, batch: &RecordBatch, row_group_rows: usize) {
    let file = std::fs::File::create(path).unwrap();
    let props =
        WriterProperties::builder().set_max_row_group_row_count(Some(row_group_rows)).build();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

#[test]
fn dictionary_symbols_zoned_timestamps_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bars.parquet");
    let symbol: DictionaryArray<Int32Type> =
        vec!["msft", "msft", "msft", "aapl", "aapl"].into_iter().collect();
    let ns = |s: &str| utc(s) * 1000;
    let ts = TimestampNanosecondArray::from(vec![
        ns("2020-01-02T14:30:00Z"),
        ns("2020-01-02T14:31:00Z"),
        ns("2020-01-02T14:31:00Z"),
        ns("2020-01-02T14:30:00Z"),
        ns("2020-01-02T14:31:00Z"),
    ])
    .with_timezone("America/New_York");
    let open_: ArrayRef =
        Arc::new(Float64Array::from(vec![Some(1.0), Some(2.0), Some(3.0), None, Some(f64::NAN)]));
    let f = |v: f32| -> ArrayRef { Arc::new(Float32Array::from(vec![v; 5])) };
    let volume: ArrayRef = Arc::new(Int64Array::from(vec![10, 20, 30, 40, 50]));
    let batch = RecordBatch::try_from_iter([
        ("Ticker", Arc::new(symbol) as ArrayRef),
        ("Timestamp", Arc::new(ts) as ArrayRef),
        ("Open", open_),
        ("High", f(2.5)),
        ("Low", f(0.5)),
        ("Close", f(1.5)),
        ("Volume", volume),
        ("Ignored", Arc::new(StringArray::from(vec!["x"; 5])) as ArrayRef),
    ])
    .unwrap();
    write_parquet(&path, &batch, 2);

    let opts = ImportOptions::default().with_batch_rows(1);
    let mut reader = open(&path, &opts).unwrap();
    assert_eq!(reader.layout(), Layout::Parquet);
    let rows = read_all(&mut reader, 1);
    assert_eq!(rows.symbol, ["MSFT", "MSFT"]);
    assert_eq!(rows.datetime, [utc("2020-01-02T14:30:00Z"), utc("2020-01-02T14:31:00Z")]);
    assert_eq!(rows.ohlcv[0], [1.0, 2.5, 0.5, 1.5, 10.0]);
    let s = reader.stats();
    assert_eq!((s.rows_read, s.rows_rejected, s.duplicates_in_file), (5, 2, 1));
    let got: Vec<(u64, Option<&str>, &str)> =
        s.rejects.iter().map(|r| (r.line, r.column.as_deref(), r.reason.as_str())).collect();
    assert_eq!(got[0].0, 3);
    assert!(got[0].2.contains("first seen on line 2"));
    assert_eq!(got[1], (4, Some("Open"), "empty field (null)"));
    assert_eq!(got[2], (5, Some("Open"), "not a finite number: NaN"));
    assert_eq!(Some(reader.bytes_read()), reader.total_bytes());
}

#[test]
fn date32_and_epoch_columns_with_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orcl.parquet");
    let days = Date32Array::from(vec![18263, 18264]); // 2020-01-02, 2020-01-03
    let epoch = Int64Array::from(vec![1_577_923_200_000, 1_578_009_600_000]);
    let v = |x: f64| -> ArrayRef { Arc::new(Float64Array::from(vec![x, x])) };
    let batch = RecordBatch::try_from_iter([
        ("d", Arc::new(days) as ArrayRef),
        ("t_ms", Arc::new(epoch) as ArrayRef),
        ("o", v(1.0)),
        ("h", v(2.0)),
        ("l", v(0.5)),
        ("c", v(1.5)),
        ("volume", v(7.0)),
    ])
    .unwrap();
    write_parquet(&path, &batch, 1024);
    let base = ColumnMapping {
        open: Some("o".into()),
        high: Some("h".into()),
        low: Some("l".into()),
        close: Some("c".into()),
        ..Default::default()
    };
    for (mapping, name) in [
        (ColumnMapping { date: Some("d".into()), ..base.clone() }, "date32"),
        (ColumnMapping { datetime: Some("t_ms".into()), ..base.clone() }, "epoch ms"),
    ] {
        let opts = ImportOptions::default().with_mapping(mapping);
        let mut reader = open(&path, &opts).unwrap();
        let rows = read_all(&mut reader, 65_536);
        assert_eq!(
            rows.datetime,
            [utc("2020-01-02T00:00:00Z"), utc("2020-01-03T00:00:00Z")],
            "{name}"
        );
        // No symbol column and no option: the file stem.
        assert_eq!(rows.symbol, ["orcl", "orcl"]);
    }
}
