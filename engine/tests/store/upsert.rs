//! Upserts, revisions, corrections and time travel.

use std::sync::Arc;

use arrow::array::{AsArray, Float64Array, RecordBatch};
use arrow::datatypes::{Int32Type, TimestampMicrosecondType};
use candlestore::{AppendOptions, Error, InvalidRows, ManualClock, MemStorage, RowProblem, Store};

use crate::support::*;

fn clocked(storage: &MemStorage, clock: &Arc<ManualClock>) -> Store {
    Store::builder_with_storage(Arc::new(storage.clone()))
        .with_clock(clock.clone())
        .open()
        .expect("open")
}

fn revisions(store: &Store, symbol: &str) -> Vec<(i64, i32, f64)> {
    let b = store
        .scan("stocks_daily")
        .symbol(symbol)
        .columns(["datetime", "revision", "close"])
        .to_batch()
        .expect("scan");
    let ts = b.column(0).as_primitive::<TimestampMicrosecondType>();
    let rev = b.column(1).as_primitive::<Int32Type>();
    let close = b.column(2).as_primitive::<arrow::datatypes::Float64Type>();
    (0..b.num_rows()).map(|i| (ts.value(i), rev.value(i), close.value(i))).collect()
}

#[test]
fn reimport_is_a_noop_and_changes_make_revisions() {
    for flush_between in [false, true] {
        let storage = MemStorage::new();
        let clock = Arc::new(ManualClock::new(1_000));
        let store = clocked(&storage, &clock);
        let rows = [("AAPL", JAN1_2024, 10.0), ("AAPL", JAN1_2024 + DAY, 11.0)];
        let first = store.append("stocks_daily", &bars(&rows)).expect("first");
        assert_eq!((first.inserted, first.revised, first.unchanged), (2, 0, 0));
        if flush_between {
            store.flush().expect("flush");
        }
        let again = store.append("stocks_daily", &bars(&rows)).expect("again");
        assert_eq!((again.inserted, again.revised, again.unchanged), (0, 0, 2), "idempotent");
        assert_eq!(again.lsn, None, "nothing written");

        clock.set(5_000);
        let fixed =
            store.append("stocks_daily", &bars(&[("AAPL", JAN1_2024 + DAY, 11.5)])).expect("fix");
        assert_eq!((fixed.inserted, fixed.revised), (0, 1));
        if flush_between {
            store.flush().expect("flush");
        }
        assert_eq!(
            revisions(&store, "AAPL"),
            vec![(JAN1_2024, 1, 10.0), (JAN1_2024 + DAY, 2, 11.5)]
        );

        let corrections = store.corrections("stocks_daily").expect("corrections");
        let fields: Vec<&str> = corrections.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["open", "high", "low", "close", "volume"],
            "flush_between={flush_between}"
        );
        let close = corrections.iter().find(|c| c.field == "close").expect("close correction");
        assert_eq!(close.old_value.as_deref(), Some("11.0"));
        assert_eq!(close.new_value.as_deref(), Some("11.5"));
        assert_eq!((close.old_revision, close.new_revision), (1, 2));
        assert_eq!(close.batch_id, fixed.batch_id);
        assert_eq!(close.symbol, "AAPL");

        // Time travel: before the fix, the old value and revision.
        let past = store
            .scan("stocks_daily")
            .symbol("AAPL")
            .columns(["datetime", "close", "revision"])
            .as_of(4_000)
            .to_batch()
            .expect("as of");
        let close_col = past.column(1).as_primitive::<arrow::datatypes::Float64Type>();
        assert_eq!(close_col.values().to_vec(), vec![10.0, 11.0]);
        assert_eq!(past.column(2).as_primitive::<Int32Type>().values().to_vec(), vec![1, 1]);
        // Before anything was written: nothing.
        let empty = store.scan("stocks_daily").as_of(500).collect().expect("as of early");
        assert!(empty.is_empty());

        // Reopen (replay or segments) keeps revisions and corrections.
        drop(store);
        storage.crash();
        let store = clocked(&storage, &clock);
        assert_eq!(revisions(&store, "AAPL")[1], (JAN1_2024 + DAY, 2, 11.5));
        assert_eq!(store.corrections("stocks_daily").expect("corrections").len(), 5);
        // After a partition rewrite the segments still hold one version per key.
        store.flush().expect("flush");
        assert!(store.verify().expect("verify").is_ok());
    }
}

#[test]
fn invalid_rows_are_named_and_nothing_is_written() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let mut batch = bars(&[
        ("AAPL", JAN1_2024, 10.0),
        ("AAPL", JAN1_2024 + DAY, 11.0),
        ("MSFT", JAN1_2024, 5.0),
    ]);
    // Make row 1's close NaN and row 2's high null.
    let mut close: Vec<Option<f64>> =
        batch.column(5).as_primitive::<arrow::datatypes::Float64Type>().iter().collect();
    close[1] = Some(f64::NAN);
    let mut high: Vec<Option<f64>> =
        batch.column(3).as_primitive::<arrow::datatypes::Float64Type>().iter().collect();
    high[2] = None;
    let mut columns = batch.columns().to_vec();
    columns[5] = Arc::new(Float64Array::from(close));
    columns[3] = Arc::new(Float64Array::from(high));
    batch = RecordBatch::try_new(batch.schema(), columns).expect("batch");

    let err = store.append("stocks_daily", &batch).expect_err("rejected");
    match &err {
        Error::InvalidRows { rows } => {
            assert_eq!(rows.len(), 2);
            assert_eq!(
                (rows[0].row, rows[0].column, rows[0].problem.clone()),
                (1, "close", RowProblem::NotFinite)
            );
            assert_eq!(
                (rows[1].row, rows[1].column, rows[1].problem.clone()),
                (2, "high", RowProblem::Missing)
            );
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("row 1: close is not a finite number"), "{err}");
    assert!(
        store.scan("stocks_daily").build().is_err()
            || store.scan("stocks_daily").collect().expect("scan").is_empty()
    );

    let report = store
        .append_with(
            "stocks_daily",
            &batch,
            &AppendOptions::default().with_invalid_rows(InvalidRows::Skip),
        )
        .expect("skip");
    assert_eq!(report.inserted, 1);
    assert_eq!(report.rejected.len(), 2);
    assert_eq!(
        rows_of(&store.scan("stocks_daily").collect().expect("scan")),
        vec![("AAPL".into(), JAN1_2024, 10.0)]
    );
}

#[test]
fn bad_symbols_duplicates_and_columns_are_rejected() {
    let store = mem_store(&MemStorage::new());
    let err = store.append("stocks_daily", &bars(&[("AA PL", JAN1_2024, 1.0)])).expect_err("space");
    assert!(err.to_string().contains("symbol"), "{err}");
    let err = store
        .append("stocks_daily", &bars(&[("AAPL", JAN1_2024, 1.0), ("AAPL", JAN1_2024, 2.0)]))
        .expect_err("duplicate");
    assert!(err.to_string().contains("row 1"), "{err}");
    let err = store.append("../etc", &bars(&[("AAPL", JAN1_2024, 1.0)])).expect_err("bad table");
    assert!(err.to_string().contains("invalid table name"), "{err}");
    let err =
        store.append("bonds_daily", &bars(&[("AAPL", JAN1_2024, 1.0)])).expect_err("unknown table");
    assert!(err.to_string().contains("unknown table"), "{err}");
    let b = bars(&[("AAPL", JAN1_2024, 1.0)]);
    let no_volume = b.project(&[0, 1, 2, 3, 4, 5]).expect("project");
    let err = store.append("stocks_daily", &no_volume).expect_err("missing column");
    assert!(err.to_string().contains("volume"), "{err}");
}

#[test]
fn late_and_out_of_order_data_is_accepted() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let _ =
        store.append("stocks_daily", &bars(&[("AAPL", JAN1_2024 + 40 * DAY, 5.0)])).expect("new");
    store.flush().expect("flush");
    let _ = store
        .append(
            "stocks_daily",
            &bars(&[("AAPL", JAN1_2024 + 2 * DAY, 3.0), ("AAPL", JAN1_2024, 1.0)]),
        )
        .expect("backfill");
    store.flush().expect("flush");
    let got: Vec<i64> =
        rows_of(&store.scan("stocks_daily").symbol("AAPL").collect().expect("scan"))
            .iter()
            .map(|r| r.1)
            .collect();
    assert_eq!(got, vec![JAN1_2024, JAN1_2024 + 2 * DAY, JAN1_2024 + 40 * DAY]);
}

#[test]
fn an_append_interleaving_symbols_out_of_time_order_derives_each_series_as_a_batch_would() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let history: Vec<(&str, i64, f64)> = (0..30)
        .flat_map(|d| {
            [
                ("AAPL", JAN1_2024 + d * DAY, 100.0 + d as f64),
                ("MSFT", JAN1_2024 + d * DAY, 50.0 + (d % 7) as f64),
            ]
        })
        .collect();
    let _ = store.append("stocks_daily", &bars(&history)).expect("history");
    // Each continuing series' rows are neither adjacent nor in time order, and a new symbol
    // sits between them.
    let next = bars(&[
        ("MSFT", JAN1_2024 + 32 * DAY, 55.0),
        ("AAPL", JAN1_2024 + 31 * DAY, 131.0),
        ("NVDA", JAN1_2024 + 31 * DAY, 10.0),
        ("MSFT", JAN1_2024 + 30 * DAY, 54.0),
        ("AAPL", JAN1_2024 + 30 * DAY, 130.0),
    ]);
    let report = store.append("stocks_daily", &next).expect("append");
    assert_eq!((report.inserted, report.recomputed), (5, 0));
    assert_eq!(store.verify_fields("stocks_daily").expect("verify"), Vec::<String>::new());
    store.flush().expect("flush");
    assert_eq!(store.verify_fields("stocks_daily").expect("verify"), Vec::<String>::new());
    let aapl: Vec<i64> =
        rows_of(&store.scan("stocks_daily").symbol("AAPL").collect().expect("scan"))
            .iter()
            .map(|r| r.1)
            .collect();
    assert_eq!(aapl.len(), 32);
    assert!(aapl.is_sorted());
    // Stored (segment) keys found through the index with the symbols out of order: a
    // symbol's ranges are still found when it comes back.
    let again = bars(&[
        ("MSFT", JAN1_2024 + 5 * DAY, 99.0),
        ("AAPL", JAN1_2024 + 5 * DAY, 105.0),
        ("MSFT", JAN1_2024 + 6 * DAY, 98.0),
        ("AAPL", JAN1_2024 + 7 * DAY, 107.0),
    ]);
    let report = store.append("stocks_daily", &again).expect("revise");
    assert_eq!((report.inserted, report.revised, report.unchanged), (0, 2, 2));
    assert_eq!(store.verify_fields("stocks_daily").expect("verify"), Vec::<String>::new());
}

#[test]
fn compaction_merges_small_segments_and_scans_are_unchanged() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    for d in 0..10 {
        let _ = store
            .append(
                "stocks_daily",
                &bars(&[
                    ("AAPL", JAN1_2024 + d * DAY, d as f64 + 1.0),
                    ("MSFT", JAN1_2024 + d * DAY, d as f64 + 2.0),
                ]),
            )
            .expect("append");
        store.flush().expect("flush");
    }
    let before = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
    let plan = store.compaction_plan(&candlestore::CompactionPolicy::default());
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].inputs.len(), 10);
    let report = store.compact(&candlestore::CompactionPolicy::default()).expect("compact");
    assert_eq!((report.segments_in, report.segments_out, report.rows), (10, 1, 20));
    let after = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
    assert_eq!(before.len(), after.len());
    let mut b = before.clone();
    b.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
    assert_eq!(after, b, "compacted partition is (symbol, datetime) sorted");
    assert!(store.verify().expect("verify").is_ok());
    drop(store);
    let store = mem_store(&storage);
    assert_eq!(rows_of(&store.scan("stocks_daily").collect().expect("scan")), after);
    assert_eq!(
        store.recovery_report().orphans_removed,
        0,
        "old segments were deleted, not orphaned"
    );
}

#[test]
fn compaction_commits_in_bounded_groups() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    // Three month partitions, three flushed segments of two rows each: every flush brings a
    // new symbol (a series of its own, so no earlier partition is rewritten).
    for (k, symbol) in ["AAPL", "IBM", "MSFT"].into_iter().enumerate() {
        let rows: Vec<(&str, i64, f64)> = (0..3)
            .flat_map(|m| {
                let t = JAN1_2024 + m * 31 * DAY;
                [(symbol, t, k as f64 + 1.0), (symbol, t + DAY, k as f64 + 2.0)]
            })
            .collect();
        let _ = store.append("stocks_daily", &bars(&rows)).expect("append");
        store.flush().expect("flush");
    }
    let before = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
    // Each partition's merge is 6 rows; 10 rows per group means one merge per commit.
    let policy = candlestore::CompactionPolicy { group_rows: 10, ..Default::default() };
    let report = store.compact(&policy).expect("compact");
    assert_eq!(
        (report.tasks, report.commits, report.segments_in, report.segments_out, report.rows),
        (3, 3, 9, 3, 18)
    );
    assert!(store.compaction_plan(&policy).is_empty(), "nothing left to merge");
    assert_eq!(store.compact(&policy).expect("again"), candlestore::CompactionReport::default());
    assert_eq!(before.len(), 18);
    assert_eq!(rows_of(&store.scan("stocks_daily").collect().expect("scan")), before);
    assert!(store.verify().expect("verify").is_ok());
}

#[test]
fn sector_and_exchange_selection() {
    let store = mem_store(&MemStorage::new());
    let mut batch =
        bars(&[("AAPL", JAN1_2024, 1.0), ("XOM", JAN1_2024, 2.0), ("MSFT", JAN1_2024, 3.0)]);
    let sector = arrow::array::StringArray::from(vec![
        Some("Technology"),
        Some("Energy"),
        Some("Technology"),
    ]);
    let exchange =
        arrow::array::StringArray::from(vec![Some("NASDAQ"), Some("NYSE"), Some("NASDAQ")]);
    let mut fields: Vec<_> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(arrow::datatypes::Field::new("sector", arrow::datatypes::DataType::Utf8, true));
    fields.push(arrow::datatypes::Field::new("exchange", arrow::datatypes::DataType::Utf8, true));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(sector));
    columns.push(Arc::new(exchange));
    batch = RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns)
        .expect("batch");
    let _ = store.append("stocks_daily", &batch).expect("append");
    for flushed in [false, true] {
        let tech: Vec<String> =
            rows_of(&store.scan("stocks_daily").sector("Technology").collect().expect("scan"))
                .into_iter()
                .map(|r| r.0)
                .collect();
        assert_eq!(tech, vec!["AAPL", "MSFT"], "flushed={flushed}");
        let nyse = rows_of(&store.scan("stocks_daily").exchange("NYSE").collect().expect("scan"));
        assert_eq!(nyse.len(), 1);
        store.flush().expect("flush");
    }
}

#[test]
fn quality_filters() {
    let store = mem_store(&MemStorage::new());
    // high < low on the second bar: stored, flagged, quality 0.5.
    let mut batch = bars(&[("AAPL", JAN1_2024, 10.0), ("AAPL", JAN1_2024 + DAY, 11.0)]);
    let mut low: Vec<f64> =
        batch.column(4).as_primitive::<arrow::datatypes::Float64Type>().values().to_vec();
    low[1] = 50.0;
    let mut columns = batch.columns().to_vec();
    columns[4] = Arc::new(Float64Array::from(low));
    batch = RecordBatch::try_new(batch.schema(), columns).expect("batch");
    let _ = store.append("stocks_daily", &batch).expect("append");
    store.flush().expect("flush");
    assert_eq!(rows_of(&store.scan("stocks_daily").collect().expect("all")).len(), 2);
    assert_eq!(
        rows_of(&store.scan("stocks_daily").validated_only(true).collect().expect("v")).len(),
        1
    );
    assert_eq!(
        rows_of(&store.scan("stocks_daily").min_quality(0.9).collect().expect("q")).len(),
        1
    );
    let notes = store.scan("stocks_daily").columns(["validation_notes"]).to_batch().expect("notes");
    let notes =
        arrow::compute::cast(notes.column(0), &arrow::datatypes::DataType::Utf8).expect("cast");
    assert_eq!(
        notes.as_string::<i32>().iter().collect::<Vec<_>>(),
        vec![Some("ok"), Some("ohlc_invalid")]
    );
    assert!(store.scan("stocks_daily").min_quality(2.0).build().is_err());
}

#[test]
fn oversized_labels_are_refused_before_logging() {
    let store = mem_store(&MemStorage::new());
    let long = "x".repeat(5000);
    let err = store
        .append_with(
            "stocks_daily",
            &bars(&[("AAPL", JAN1_2024, 1.0)]),
            &AppendOptions::default().with_source(long),
        )
        .expect_err("source too long");
    assert!(err.to_string().contains("invalid source"), "{err}");
    assert!(store.scan("stocks_daily").collect().expect("scan").is_empty());
}
