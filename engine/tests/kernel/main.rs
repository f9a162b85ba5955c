//! The indicator kernel end to end: conformance with the reference outputs (F5.3) through the
//! public batch API, and through a store: incremental appends, flush and reopen (persisted
//! states), corrections and back-filled history recompute later bars.

mod support;

use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type};
use candlestore::kernel::{ComputeOptions, SeriesConfig, Session, compute_batch, computed_columns};
use candlestore::{Durability, ManualClock, Store, col};
use support::{RefFile, load, mismatches};

const ORCL: &str = "reference/orcl-1995-2014.fields.csv.gz";
const MINUTE: &str = "reference/2006-01-02-volume-min-001.head6000.fields.csv.gz";

fn options(session: Session) -> ComputeOptions {
    ComputeOptions {
        config: SeriesConfig { session },
        source: "csv:backtrader".into(),
        batch_id: "reference".into(),
        now: 946_684_800_000_000,
    }
}

fn assert_conformant(reference: &RefFile, session: Session) {
    let input = reference.input(0, reference.rows);
    let (out, faults) = compute_batch(&input, &options(session)).expect("compute");
    assert!(faults.is_empty(), "{faults:?}");
    assert_eq!(out.num_rows(), reference.rows);
    let report = mismatches(reference, &out, 0);
    assert!(report.is_empty(), "columns differing from the reference:\n{}", report.join("\n"));
}

#[test]
fn daily_reference_matches_every_field() {
    assert_conformant(&load(ORCL), Session::PerBar);
}

#[test]
fn minute_reference_matches_every_field() {
    assert_conformant(&load(MINUTE), Session::Tz(chrono_tz::UTC));
}

fn store(dir: &std::path::Path) -> Store {
    Store::builder(dir)
        .with_durability(Durability::Buffered)
        .with_clock(Arc::new(ManualClock::new(1_700_000_000_000_000)))
        .open()
        .expect("open")
}

fn append(store: &Store, batch: &RecordBatch) -> candlestore::Result<candlestore::AppendReport> {
    store.append_with(
        "stocks_daily",
        batch,
        &candlestore::AppendOptions::default().with_source("csv:backtrader"),
    )
}

fn scan_all(store: &Store, table: &str) -> RecordBatch {
    store.scan(table).to_batch().expect("scan")
}

/// Every kernel column of `a` and `b` is identical (bit for bit, nulls included).
fn assert_same_derived(a: &RecordBatch, b: &RecordBatch) {
    assert_eq!(a.num_rows(), b.num_rows());
    for &c in computed_columns() {
        let (x, y) = (a.column(c), b.column(c));
        if let (Some(x), Some(y)) =
            (x.as_any().downcast_ref::<Float64Array>(), y.as_any().downcast_ref::<Float64Array>())
        {
            for i in 0..x.len() {
                assert_eq!(
                    x.is_null(i),
                    y.is_null(i),
                    "{} row {i} null",
                    candlestore::field_defs()[c].name
                );
                if x.is_valid(i) {
                    assert_eq!(
                        x.value(i).to_bits(),
                        y.value(i).to_bits(),
                        "{} row {i}",
                        candlestore::field_defs()[c].name
                    );
                }
            }
        } else {
            let distinct = arrow::compute::kernels::cmp::distinct(x, y).expect("distinct");
            assert_eq!(distinct.true_count(), 0, "{} differs", candlestore::field_defs()[c].name);
        }
    }
}

#[test]
fn appends_in_chunks_equal_one_batch_across_flush_and_reopen() {
    let reference = load(ORCL);
    let (batch, _) = compute_batch(&reference.input(0, reference.rows), &options(Session::PerBar))
        .expect("batch");
    let dir = tempfile::tempdir().expect("tmp");
    let mut start = 0;
    let mut chunk = 1;
    let mut step = 0;
    while start < reference.rows {
        let end = (start + chunk).min(reference.rows);
        let s = store(dir.path());
        let _ = append(&s, &reference.input(start, end)).expect("append");
        // Flush some chunks, leave others in the WAL only, and reopen every time.
        if step % 3 == 0 {
            s.flush().expect("flush");
        }
        drop(s);
        start = end;
        chunk = (chunk * 7 + 3) % 613 + 1;
        step += 1;
    }
    let s = store(dir.path());
    let scanned = scan_all(&s, "stocks_daily");
    assert_same_derived(&scanned, &batch);
    let report = mismatches(&reference, &scanned, 0);
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn a_correction_recomputes_later_bars_and_bumps_their_revision() {
    let reference = load(ORCL);
    let dir = tempfile::tempdir().expect("tmp");
    let s = store(dir.path());
    let _ = append(&s, &reference.input(0, 600)).expect("append");
    s.flush().expect("flush");
    // Correct the close of bar 400.
    let bar = reference.input(400, 401);
    let mut columns = bar.columns().to_vec();
    let close_idx = bar.schema().index_of("close").expect("close");
    let close = bar.column(close_idx).as_primitive::<Float64Type>().value(0);
    columns[close_idx] = Arc::new(Float64Array::from(vec![close * 1.01]));
    let corrected = RecordBatch::try_new(bar.schema(), columns).expect("batch");
    let report = append(&s, &corrected).expect("correct");
    assert_eq!(report.revised, 1);

    let scanned = scan_all(&s, "stocks_daily");
    let revision = scanned.column(col::REVISION).as_primitive::<Int32Type>();
    assert!((0..400).all(|i| revision.value(i) == 1), "earlier bars untouched");
    assert!((400..600).all(|i| revision.value(i) == 2), "bar 400 and every later bar revised");
    // The stored values equal a batch computation over the corrected series.
    let mut input = arrow::compute::concat_batches(
        &reference.input(0, 1).schema(),
        &[reference.input(0, 400), corrected, reference.input(401, 600)],
    )
    .expect("concat");
    input = input.slice(0, 600);
    let (expected, _) = compute_batch(&input, &options(Session::PerBar)).expect("batch");
    assert_same_derived(&scanned, &expected);
    // The corrections log describes the source change only.
    let log = s.corrections("stocks_daily").expect("log");
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].field, "close");
    // Reopening keeps it all.
    drop(s);
    let s = store(dir.path());
    assert_same_derived(&scan_all(&s, "stocks_daily"), &expected);
}

#[test]
fn backfilled_history_recomputes_the_series() {
    let reference = load(ORCL);
    let dir = tempfile::tempdir().expect("tmp");
    let s = store(dir.path());
    let _ = append(&s, &reference.input(300, 700)).expect("recent bars");
    s.flush().expect("flush");
    let _ = append(&s, &reference.input(0, 300)).expect("older bars");
    let _ = append(&s, &reference.input(700, 800)).expect("newer bars");
    let scanned = scan_all(&s, "stocks_daily");
    let (expected, _) =
        compute_batch(&reference.input(0, 800), &options(Session::PerBar)).expect("batch");
    assert_same_derived(&scanned, &expected);
    // Everything but the revision of the recomputed bars is as in the reference.
    let report: Vec<String> = mismatches(&reference, &scanned, 0)
        .into_iter()
        .filter(|line| !line.starts_with("revision:"))
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
    let revision = scanned.column(col::REVISION).as_primitive::<Int32Type>();
    assert_eq!(revision.value(0), 1);
    assert_eq!(revision.value(300), 2, "the first recent bar was recomputed");
}

#[test]
fn identical_rewrite_changes_nothing() {
    let reference = load(ORCL);
    let dir = tempfile::tempdir().expect("tmp");
    let s = store(dir.path());
    let _ = append(&s, &reference.input(0, 300)).expect("append");
    let report = append(&s, &reference.input(100, 200)).expect("again");
    assert_eq!((report.inserted, report.revised, report.unchanged), (0, 0, 100));
    let scanned = scan_all(&s, "stocks_daily");
    let revision = scanned.column(col::REVISION).as_primitive::<Int32Type>();
    assert!(revision.values().iter().all(|&r| r == 1));
}

#[test]
fn provided_derived_values_are_replaced_by_computed_ones() {
    let reference = load(ORCL);
    let input = reference.input(0, 50);
    let mut fields: Vec<_> = input.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(arrow::datatypes::Field::new("rsi", arrow::datatypes::DataType::Float64, true));
    let mut columns = input.columns().to_vec();
    columns.push(Arc::new(Float64Array::from(vec![42.0; 50])));
    let with_rsi =
        RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns).expect("b");
    let dir = tempfile::tempdir().expect("tmp");
    let s = store(dir.path());
    let _ = append(&s, &with_rsi).expect("append");
    let scanned = scan_all(&s, "stocks_daily");
    let rsi = scanned
        .column(candlestore::column_index("rsi").expect("rsi"))
        .as_primitive::<Float64Type>();
    assert!(rsi.is_null(13), "warm-up is null, not the provided 42");
    assert_ne!(rsi.value(20), 42.0);
    let report = mismatches(&reference, &scanned, 0);
    assert!(report.is_empty(), "{}", report.join("\n"));
}
