//! The indicator kernel end to end: conformance with the reference outputs (F5.3) through the
//! public batch API, and through a store: incremental appends, flush and reopen (persisted
//! states), corrections and back-filled history recompute later bars.

mod stockcharts;
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

mod chunked {
    //! The property of the issue: a series computed in one batch equals any prefix computed
    //! and then the rest appended in arbitrary chunks — here bit for bit, for all fields.
    use candlestore::kernel::{Bars, SeriesConfig, SeriesState, Session, compute_series};
    use candlestore::{column_index, field_defs};
    use proptest::prelude::*;

    use super::support::{RefFile, load, parse_ts};

    struct Series {
        ts: Vec<i64>,
        cols: [Vec<f64>; 5],
    }

    fn series(r: &RefFile) -> Series {
        let f = |n: &str| r.cols[n].iter().map(|s| s.parse().expect("f64")).collect::<Vec<f64>>();
        Series {
            ts: r.cols["datetime"].iter().map(|s| parse_ts(s)).collect(),
            cols: [f("open"), f("high"), f("low"), f("close"), f("volume")],
        }
    }

    fn bars(s: &Series, a: usize, b: usize) -> Bars<'_> {
        Bars {
            ts: &s.ts[a..b],
            open: &s.cols[0][a..b],
            high: &s.cols[1][a..b],
            low: &s.cols[2][a..b],
            close: &s.cols[3][a..b],
            volume: &s.cols[4][a..b],
        }
    }

    fn check(s: &Series, session: Session, cuts: &mut Vec<usize>) {
        let config = SeriesConfig { session };
        let n = s.ts.len();
        let (whole, end) = compute_series(&config, &bars(s, 0, n)).expect("batch");
        cuts.push(0);
        cuts.push(n);
        cuts.sort_unstable();
        cuts.dedup();
        let mut state = SeriesState::new();
        for w in cuts.windows(2) {
            let part = state.advance(&config, &bars(s, w[0], w[1])).expect("chunk");
            for c in 16..93 {
                let (Some(x), Some(y)) = (whole.raw(c), part.raw(c)) else { continue };
                for (i, v) in y.iter().enumerate() {
                    assert_eq!(
                        v.to_bits(),
                        x[w[0] + i].to_bits(),
                        "{} at bar {} (chunk {}..{})",
                        field_defs()[c].name,
                        w[0] + i,
                        w[0],
                        w[1]
                    );
                }
            }
        }
        assert_eq!(format!("{state:?}"), format!("{end:?}"), "end states differ");
        assert!(column_index("rsi").is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        #[test]
        fn daily_any_chunking_equals_the_batch(cuts in proptest::collection::vec(0usize..5036, 0..40)) {
            let s = series(&load(super::ORCL));
            let mut cuts = cuts;
            check(&s, Session::PerBar, &mut cuts);
        }

        #[test]
        fn minute_any_chunking_equals_the_batch(cuts in proptest::collection::vec(0usize..6000, 0..60)) {
            let s = series(&load(super::MINUTE));
            let mut cuts = cuts;
            check(&s, Session::Tz(chrono_tz::America::New_York), &mut cuts);
        }
    }

    #[test]
    fn one_bar_at_a_time_equals_the_batch() {
        let r = load(super::ORCL);
        let s = series(&r);
        let mut cuts: Vec<usize> = (0..1200).collect();
        check(&s, Session::PerBar, &mut cuts);
    }
}

#[test]
fn non_finite_or_missing_input_is_rejected_naming_row_and_column() {
    let reference = load(ORCL);
    let input = reference.input(0, 40);
    let close = input.schema().index_of("close").expect("close");
    let mut values: Vec<f64> = input.column(close).as_primitive::<Float64Type>().values().to_vec();
    values[17] = f64::NAN;
    let mut columns = input.columns().to_vec();
    columns[close] = Arc::new(Float64Array::from(values));
    let bad = RecordBatch::try_new(input.schema(), columns).expect("batch");
    match compute_batch(&bad, &options(Session::PerBar)) {
        Err(candlestore::Error::InvalidRows { rows }) => {
            assert_eq!(rows.len(), 1);
            assert_eq!((rows[0].row, rows[0].column), (17, "close"));
        }
        other => panic!("expected InvalidRows, got {other:?}"),
    }
    let dir = tempfile::tempdir().expect("tmp");
    let s = store(dir.path());
    assert!(matches!(append(&s, &bad), Err(candlestore::Error::InvalidRows { .. })));
    assert!(s.scan("stocks_daily").to_batch().map_or(true, |b| b.num_rows() == 0));
}

#[test]
fn several_symbols_with_one_history_change_in_one_append() {
    let reference = load(ORCL);
    let rename = |batch: RecordBatch, symbol: &str| {
        let sym = batch.schema().index_of("symbol").expect("symbol");
        let mut columns = batch.columns().to_vec();
        columns[sym] = Arc::new(arrow::array::StringArray::from(vec![symbol; batch.num_rows()]));
        RecordBatch::try_new(batch.schema(), columns).expect("batch")
    };
    let dir = tempfile::tempdir().expect("tmp");
    let s = store(dir.path());
    for sym in ["AAA", "BBB", "CCC"] {
        let _ = append(&s, &rename(reference.input(0, 400), sym)).expect("history");
    }
    // One append: AAA and CCC continue, BBB gets bars 400..450 plus older bars 100..110 changed.
    let mut changed = rename(reference.input(100, 110), "BBB");
    let vol = changed.schema().index_of("volume").expect("volume");
    let mut columns = changed.columns().to_vec();
    let v: Vec<f64> = changed
        .column(vol)
        .as_primitive::<Float64Type>()
        .values()
        .iter()
        .map(|v| v * 2.0)
        .collect();
    columns[vol] = Arc::new(Float64Array::from(v));
    changed = RecordBatch::try_new(changed.schema(), columns).expect("batch");
    let parts = [
        rename(reference.input(400, 450), "AAA"),
        rename(reference.input(400, 450), "BBB"),
        changed.clone(),
        rename(reference.input(400, 450), "CCC"),
    ];
    let batch = arrow::compute::concat_batches(&parts[0].schema(), &parts).expect("concat");
    let report = append(&s, &batch).expect("mixed append");
    assert_eq!((report.inserted, report.revised), (150, 10));
    assert_eq!(report.recomputed, 290, "BBB bars 110..400 rewritten");
    for sym in ["AAA", "CCC"] {
        let got = s.scan("stocks_daily").symbol(sym).to_batch().expect("scan");
        let (want, _) =
            compute_batch(&rename(reference.input(0, 450), sym), &options(Session::PerBar))
                .expect("b");
        assert_same_derived(&got, &want);
    }
    let got = s.scan("stocks_daily").symbol("BBB").to_batch().expect("scan");
    let expected_input = arrow::compute::concat_batches(
        &parts[0].schema(),
        &[
            rename(reference.input(0, 100), "BBB"),
            changed,
            rename(reference.input(110, 450), "BBB"),
        ],
    )
    .expect("concat");
    let (want, _) = compute_batch(&expected_input, &options(Session::PerBar)).expect("b");
    assert_same_derived(&got, &want);
}
