//! Per-family fault isolation through the whole engine: a family that fails leaves the other
//! fields computed, nulls its own, and says so in `validation_notes` and the compute log.

use std::sync::Arc;

use arrow::array::{
    Array, AsArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Schema, TimeUnit};

use super::common;
use crate::kernel::{Bars, SeriesConfig, SeriesState, Session, fill_derived};
use crate::schema::{bar_schema, col, column_index};
use crate::storage::MemStorage;
use crate::{Durability, Store};

fn batch(r: &common::RefFile, a: usize, b: usize) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "datetime",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("symbol", DataType::Utf8, false),
        Field::new("open", DataType::Float64, false),
        Field::new("high", DataType::Float64, false),
        Field::new("low", DataType::Float64, false),
        Field::new("close", DataType::Float64, false),
        Field::new("volume", DataType::Float64, false),
    ]));
    let f = |v: &[f64]| -> Arc<dyn Array> { Arc::new(Float64Array::from(v[a..b].to_vec())) };
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(TimestampMicrosecondArray::from(r.ts[a..b].to_vec()).with_timezone("UTC")),
            Arc::new(StringArray::from(vec!["ORCL"; b - a])),
            f(&r.open),
            f(&r.high),
            f(&r.low),
            f(&r.close),
            f(&r.volume),
        ],
    )
    .expect("batch")
}

/// Puts the state of `rsi`'s family out of step with the series, which its start-bar check
/// turns into a failure (a stand-in for a bug in one family).
fn break_one_family(state: &mut SeriesState) {
    state.a.rsi.inner = crate::kernel::group_a::Rsi::new();
}

#[test]
fn a_failed_family_is_null_and_named_and_the_others_are_computed() {
    let r = common::load(common::ORCL);
    let config = SeriesConfig { session: Session::PerBar };
    let bars = |a: usize, b: usize| Bars {
        ts: &r.ts[a..b],
        open: &r.open[a..b],
        high: &r.high[a..b],
        low: &r.low[a..b],
        close: &r.close[a..b],
        volume: &r.volume[a..b],
    };
    let mut state = SeriesState::new();
    let _ = state.advance(&config, &bars(0, 100)).expect("history");
    break_one_family(&mut state);
    let computed = state.advance(&config, &bars(100, 150)).expect("advance");
    assert_eq!(computed.faults(), &[(100, "rsi".to_owned())]);
    let rsi = column_index("rsi").expect("rsi");
    let atr = column_index("atr").expect("atr");
    assert!(computed.raw(rsi).expect("rsi").iter().all(|v| v.is_nan()));
    assert!(computed.raw(atr).expect("atr").iter().all(|v| v.is_finite()));
    // It stays failed for later chunks, and says so on every bar.
    let later = state.advance(&config, &bars(150, 160)).expect("later");
    assert!(later.raw(rsi).expect("rsi").iter().all(|v| v.is_nan()));
    assert_eq!(later.row_failures()[0], vec!["rsi".to_owned()]);
}

#[test]
fn the_store_keeps_writing_and_records_the_failure() {
    let r = common::load(common::ORCL);
    let store = Store::builder_with_storage(Arc::new(MemStorage::new()))
        .with_durability(Durability::Buffered)
        .open()
        .expect("open");
    let _ = store.append("stocks_daily", &batch(&r, 0, 100)).expect("history");
    {
        let mut state = store.inner.state.write();
        let t = state.tables.get_mut("stocks_daily").expect("table");
        let kernels = Arc::make_mut(&mut t.kernels);
        break_one_family(kernels.get_mut("ORCL").expect("ORCL"));
    }
    let report = store.append("stocks_daily", &batch(&r, 100, 130)).expect("append");
    assert_eq!(report.inserted, 30);
    let rows = store.scan("stocks_daily").to_batch().expect("scan");
    let rows = RecordBatch::try_new(bar_schema(), rows.columns().to_vec()).expect("schema");
    let notes =
        arrow::compute::cast(rows.column(col::VALIDATION_NOTES), &DataType::Utf8).expect("cast");
    let notes = notes.as_string::<i32>();
    let rsi = rows.column(column_index("rsi").expect("rsi")).as_primitive::<Float64Type>();
    let macd = rows.column(column_index("macd").expect("macd")).as_primitive::<Float64Type>();
    for i in 0..100 {
        assert!(!notes.value(i).contains("compute_failed"), "row {i}: {}", notes.value(i));
    }
    for i in 100..130 {
        assert!(notes.value(i).ends_with("compute_failed:rsi"), "row {i}: {}", notes.value(i));
        assert!(rsi.is_null(i));
        assert!(macd.is_valid(i), "other families still computed");
    }
    let faults = store.compute_faults("stocks_daily").expect("log");
    assert_eq!(faults.len(), 1);
    assert_eq!(
        (faults[0].symbol.as_str(), faults[0].first_bar, faults[0].family.as_str()),
        ("ORCL", 100, "rsi")
    );
    // A recomputation from the stored bars no longer agrees with the stored values there.
    let problems = store.verify_fields("stocks_daily").expect("verify");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("ORCL") && problems[0].contains("from bar 100"), "{problems:?}");
    assert!(problems[0].contains("rsi"), "{problems:?}");
    // data_completeness counts the nulled fields.
    let completeness = rows.column(col::DATA_COMPLETENESS).as_primitive::<Float64Type>();
    assert!(completeness.value(120) < completeness.value(99));
    let _ = rows.column(col::REVISION).as_primitive::<Int32Type>();
}

#[test]
fn notes_list_checks_then_failed_families() {
    let r = common::load(common::ORCL);
    let config = SeriesConfig { session: Session::PerBar };
    let b = batch(&r, 0, 30);
    let mut normalized = crate::write::conform(&b).expect("conform");
    for &c in crate::kernel::computed_columns() {
        normalized.provided[c] = false;
    }
    let lineage = crate::write::audit::Lineage {
        now: 0,
        batch_id: "t",
        source: "t",
        created_at: vec![None; 30],
        prior_revision: vec![None; 30],
    };
    let rows =
        crate::write::audit::fill(normalized.batch, &normalized.provided, &lineage).expect("fill");
    let bars = Bars {
        ts: &r.ts[..30],
        open: &r.open[..30],
        high: &r.high[..30],
        low: &r.low[..30],
        close: &r.close[..30],
        volume: &r.volume[..30],
    };
    let (computed, _) = crate::kernel::compute_series(&config, &bars).expect("compute");
    let mut failures = vec![Vec::new(); 30];
    failures[3] = vec!["rsi".to_owned(), "volume_profile".to_owned()];
    let mut out = computed.out.clone();
    out.col_mut(crate::kernel::frame::f::VALIDATION_NOTES)[3] = 2.0; // price_gap
    let filled = fill_derived(&rows, &out, &failures).expect("fill");
    let notes =
        arrow::compute::cast(filled.column(col::VALIDATION_NOTES), &DataType::Utf8).expect("cast");
    let notes = notes.as_string::<i32>();
    assert_eq!(notes.value(3), "price_gap;compute_failed:rsi;compute_failed:volume_profile");
    assert_eq!(notes.value(4), "ok");
}

#[test]
fn a_lost_state_is_rebuilt_from_history_without_changing_anything() {
    // States are taken out of the table while an append computes; if the append fails they
    // are gone, and the next append recomputes the series from its stored bars.
    let r = common::load(common::ORCL);
    let store = Store::builder_with_storage(Arc::new(MemStorage::new()))
        .with_durability(Durability::Buffered)
        .open()
        .expect("open");
    let _ = store.append("stocks_daily", &batch(&r, 0, 300)).expect("history");
    let _ = store.flush().expect("flush");
    {
        let mut state = store.inner.state.write();
        let t = state.tables.get_mut("stocks_daily").expect("table");
        Arc::make_mut(&mut t.kernels).clear();
    }
    let report = store.append("stocks_daily", &batch(&r, 300, 320)).expect("append");
    assert_eq!((report.inserted, report.recomputed), (20, 0), "stored bars unchanged");
    assert!(store.verify_fields("stocks_daily").expect("verify").is_empty());
    let state = store.inner.state.read();
    assert_eq!(state.tables["stocks_daily"].kernels["ORCL"].bars(), 320);
}
