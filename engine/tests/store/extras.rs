//! The crypto tables' extra columns (`funding_rate`, `open_interest`): null unless provided,
//! revised like any provided column (a provided null keeps the stored value), selectable by
//! name, in the default read of a crypto table only; stock tables unchanged; segments
//! written before them read them as null.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Schema};
use candlestore::{Error, MemStorage, Store, col};

use crate::support::*;

const BTC: [(&str, i64, f64); 3] = [
    ("BTC", JAN1_2024, 100.0),
    ("BTC", JAN1_2024 + DAY, 101.0),
    ("BTC", JAN1_2024 + 2 * DAY, 99.0),
];

/// The bars of [`BTC`] with `funding_rate` and `open_interest` columns.
fn with_extras(funding: [Option<f64>; 3], oi: [Option<f64>; 3]) -> RecordBatch {
    let base = bars(&BTC);
    let mut fields: Vec<Field> =
        base.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("funding_rate", DataType::Float64, true));
    fields.push(Field::new("open_interest", DataType::Float64, true));
    let mut columns = base.columns().to_vec();
    columns.push(Arc::new(Float64Array::from(funding.to_vec())));
    columns.push(Arc::new(Float64Array::from(oi.to_vec())));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch")
}

fn floats(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    batch.column_by_name(name).expect(name).as_primitive::<Float64Type>().iter().collect()
}

fn revisions(batch: &RecordBatch) -> Vec<i32> {
    batch.column_by_name("revision").unwrap().as_primitive::<Int32Type>().values().to_vec()
}

#[test]
fn extras_are_null_unless_provided_and_revise_like_any_column() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    assert_eq!(store.append("crypto_daily", &bars(&BTC)).unwrap().inserted, 3);
    let all = store.scan("crypto_daily").to_batch().unwrap();
    assert_eq!(all.num_columns(), 99);
    assert_eq!(all.schema(), candlestore::row_schema());
    assert_eq!(floats(&all, "funding_rate"), [None; 3]);
    assert_eq!(floats(&all, "open_interest"), [None; 3]);
    let completeness_before = all.column(col::DATA_COMPLETENESS).clone();
    let rsi_before = all.column_by_name("rsi").unwrap().clone();

    // Providing values revises the rows whose values are new; a null is "not observed".
    let r = store
        .append(
            "crypto_daily",
            &with_extras([Some(1e-4), None, Some(3e-4)], [None, None, Some(5.0)]),
        )
        .unwrap();
    assert_eq!((r.inserted, r.revised, r.unchanged), (0, 2, 1));
    let now = store.scan("crypto_daily").to_batch().unwrap();
    assert_eq!(floats(&now, "funding_rate"), [Some(1e-4), None, Some(3e-4)]);
    assert_eq!(floats(&now, "open_interest"), [None, None, Some(5.0)]);
    assert_eq!(revisions(&now), [2, 1, 2]);
    // The kernel ignores them: completeness counts the 97, indicators are untouched.
    assert_eq!(now.column(col::DATA_COMPLETENESS), &completeness_before);
    assert_eq!(now.column_by_name("rsi").unwrap(), &rsi_before);
    let corrections = store.corrections("crypto_daily").unwrap();
    let mut fields: Vec<&str> = corrections.iter().map(|c| c.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["funding_rate", "funding_rate", "open_interest"]);
    let first = corrections.iter().find(|c| c.datetime == JAN1_2024).unwrap();
    assert_eq!((first.old_value.as_deref(), first.new_value.as_deref()), (None, Some("0.0001")));

    // A later null keeps the value; a different value revises it again.
    let r = store.append("crypto_daily", &with_extras([None; 3], [None; 3])).unwrap();
    assert_eq!((r.revised, r.unchanged), (0, 3));
    let r = store
        .append("crypto_daily", &with_extras([Some(2e-4), None, Some(3e-4)], [None; 3]))
        .unwrap();
    assert_eq!((r.revised, r.unchanged), (1, 2));
    let expected = [Some(2e-4), None, Some(3e-4)];

    // Selected by name, from the WAL after a crash, and from segments after a flush.
    let picked =
        store.scan("crypto_daily").columns(["datetime", "funding_rate"]).to_batch().unwrap();
    assert_eq!(picked.num_columns(), 2);
    assert_eq!(floats(&picked, "funding_rate"), expected);
    drop(store);
    storage.crash();
    let store = mem_store(&storage);
    assert_eq!(floats(&store.scan("crypto_daily").to_batch().unwrap(), "funding_rate"), expected);
    store.flush().unwrap();
    drop(store);
    let store = mem_store(&storage);
    let read = store.scan("crypto_daily").symbol("BTC").to_batch().unwrap();
    assert_eq!(floats(&read, "funding_rate"), expected);
    assert_eq!(floats(&read, "open_interest"), [None, None, Some(5.0)]);
    assert_eq!(revisions(&read), [3, 1, 2]);

    // Time travel undoes the later values.
    let first_write = store.corrections("crypto_daily").unwrap()[0].corrected_at;
    let before = store.scan("crypto_daily").as_of(first_write - 1).to_batch().unwrap();
    assert_eq!(floats(&before, "funding_rate"), [None; 3]);
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn stock_tables_have_no_extras() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let err = store.append("stocks_daily", &with_extras([Some(1.0); 3], [None; 3])).unwrap_err();
    assert!(
        matches!(&err, Error::NotInTable { column, table } if column == "funding_rate" && table == "stocks_daily"),
        "{err}"
    );
    assert!(store.scan("stocks_daily").to_batch().unwrap().num_rows() == 0, "nothing written");
    let _ = store.append("stocks_daily", &bars(&BTC)).unwrap();
    let all = store.scan("stocks_daily").to_batch().unwrap();
    assert_eq!(all.schema(), candlestore::bar_schema());
    let err = store.scan("stocks_daily").columns(["close", "open_interest"]).build().unwrap_err();
    assert!(matches!(err, Error::NotInTable { .. }), "{err}");
    assert!(err.to_string().contains("only in crypto tables"), "{err}");
    let err = store.scan("crypto_daily").columns(["nope"]).build().unwrap_err();
    assert!(matches!(err, Error::UnknownColumn { .. }), "{err}");
}

/// (format version, column count) of every segment file under `dir/table`.
fn segment_versions(dir: &Path, table: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join(table)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                let file = std::fs::File::open(&path).unwrap();
                let reader =
                    parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap();
                let meta = parquet::file::reader::FileReader::metadata(&reader).file_metadata();
                let version = meta
                    .key_value_metadata()
                    .unwrap()
                    .iter()
                    .find(|k| k.key == "candlestore.format_version")
                    .and_then(|k| k.value.clone())
                    .unwrap();
                out.push((version, meta.schema_descr().num_columns()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn stock_segments_stay_version_1_and_crypto_segments_are_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let _ = store.append("stocks_daily", &bars(&BTC)).unwrap();
    let _ = store.append("crypto_daily", &with_extras([Some(1e-4); 3], [Some(7.0); 3])).unwrap();
    store.flush().unwrap();
    assert_eq!(segment_versions(dir.path(), "stocks_daily"), [("1".to_owned(), 97)]);
    assert_eq!(segment_versions(dir.path(), "crypto_daily"), [("2".to_owned(), 99)]);
    assert!(store.verify().unwrap().is_ok());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_store_written_before_the_extras_reads_them_as_null() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/stores/crypto-v1");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    assert_eq!(
        segment_versions(dir.path(), "crypto_daily"),
        [("1".to_owned(), 97), ("1".to_owned(), 97)]
    );
    let store = Store::open(dir.path()).unwrap();
    let all = store.scan("crypto_daily").symbol("BTCUSDT").to_batch().unwrap();
    assert_eq!((all.num_rows(), all.num_columns()), (10, 99));
    assert_eq!(floats(&all, "funding_rate"), [None; 10]);
    assert_eq!(floats(&all, "open_interest"), [None; 10]);
    assert_eq!(all.column(col::CLOSE).as_primitive::<Float64Type>().value(9), 36680.03);
    let only = store.scan("crypto_daily").columns(["open_interest"]).to_batch().unwrap();
    assert_eq!(only.column(0).null_count(), 10);
    assert!(store.verify().unwrap().is_ok());

    // Providing a value for a bar of June 2021 rewrites that partition as version 2.
    let ts = all.column(col::DATETIME).clone();
    let last = all.num_rows() - 1;
    let one = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            all.schema().field(col::DATETIME).clone(),
            Field::new("symbol", DataType::Utf8, false),
            Field::new("open", DataType::Float64, false),
            Field::new("high", DataType::Float64, false),
            Field::new("low", DataType::Float64, false),
            Field::new("close", DataType::Float64, false),
            Field::new("volume", DataType::Float64, false),
            Field::new("funding_rate", DataType::Float64, true),
        ])),
        vec![
            ts.slice(last, 1),
            Arc::new(arrow::array::StringArray::from(vec!["BTCUSDT"])),
            all.column(col::OPEN).slice(last, 1),
            all.column(col::HIGH).slice(last, 1),
            all.column(col::LOW).slice(last, 1),
            all.column(col::CLOSE).slice(last, 1),
            all.column(col::VOLUME).slice(last, 1),
            Arc::new(Float64Array::from(vec![Some(1e-4)])),
        ],
    )
    .unwrap();
    let r = store.append("crypto_daily", &one).unwrap();
    assert_eq!(r.revised, 1);
    store.flush().unwrap();
    store.collect_garbage().unwrap();
    assert_eq!(
        segment_versions(dir.path(), "crypto_daily"),
        [("1".to_owned(), 97), ("2".to_owned(), 99)]
    );
    let read = store.scan("crypto_daily").to_batch().unwrap();
    let funding = floats(&read, "funding_rate");
    assert_eq!(funding.iter().filter(|v| v.is_some()).count(), 1);
    assert_eq!(funding[9], Some(1e-4));
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn compaction_merges_a_version_1_and_a_version_2_segment_into_version_2() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/stores/crypto-v1");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    let store = Store::open(dir.path()).unwrap();
    // A new bar after the newest (2021-06-11): the June partition gets a second, v2 segment.
    let june12 = 1_623_456_000_000_000;
    let mut rows = bars(&[("BTCUSDT", june12, 36_000.0)]);
    let mut fields: Vec<Field> =
        rows.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("open_interest", DataType::Float64, true));
    let mut columns = rows.columns().to_vec();
    columns.push(Arc::new(Float64Array::from(vec![Some(42.5)])));
    rows = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    assert_eq!(store.append("crypto_daily", &rows).unwrap().inserted, 1);
    store.flush().unwrap();
    let mut versions = segment_versions(dir.path(), "crypto_daily");
    versions.dedup();
    assert_eq!(versions, [("1".to_owned(), 97), ("2".to_owned(), 99)]);
    let before = store.scan("crypto_daily").to_batch().unwrap();

    let report = store.compact(&candlestore::CompactionPolicy::default()).unwrap();
    assert_eq!((report.segments_in, report.segments_out), (2, 1), "{report:?}");
    store.collect_garbage().unwrap();
    let after = store.scan("crypto_daily").to_batch().unwrap();
    assert_eq!(after, before);
    assert_eq!(floats(&after, "open_interest")[10], Some(42.5));
    assert_eq!(floats(&after, "open_interest")[..10], [None; 10]);
    // 2017-08 (untouched, one segment) stays v1; June is one v2 segment.
    assert_eq!(
        segment_versions(dir.path(), "crypto_daily"),
        [("1".to_owned(), 97), ("2".to_owned(), 99)]
    );
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn a_version_2_store_reads_back_its_extras() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/stores/crypto-v2");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    let mut versions = segment_versions(dir.path(), "crypto_daily");
    versions.dedup();
    assert_eq!(versions, [("2".to_owned(), 99)]);
    let store = Store::open(dir.path()).unwrap();
    let all = store.scan("crypto_daily").symbol("BTCUSDT").to_batch().unwrap();
    assert_eq!((all.num_rows(), all.num_columns()), (11, 99));
    let funding = floats(&all, "funding_rate");
    assert_eq!(funding[0], Some(1e-4));
    assert!(funding[1..].iter().all(Option::is_none));
    assert_eq!(floats(&all, "open_interest"), [None; 11]);
    assert!(store.verify().unwrap().is_ok());
}
