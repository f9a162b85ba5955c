//! Backfills against a local generator vendor: exactly the calendar's holes are fetched, a
//! re-run fetches nothing, a run stopped midway resumes, failing symbols are recorded while
//! the others land; the job-state and fetch-log files (golden and corrupt).

mod files;
mod mock;
mod schedule;

use std::path::Path;

use arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use candlestore::Store;
use candlestore_ingest::{
    Backfill, BackfillSpec, Calendar, JobState, JobStatus, Outcome, ProviderKind, bar_schema,
    read_fetch_log, stored_timestamps,
};
use chrono::NaiveDate;

use crate::mock::Vendor;

pub(crate) fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn micros(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros()
}

fn spec(symbols: &[&str], start: &str, end: &str, concurrency: usize) -> BackfillSpec {
    BackfillSpec {
        table: "stocks_daily".into(),
        symbols: symbols.iter().map(|s| (*s).to_owned()).collect(),
        start: date(start),
        end: date(end),
        source: Some(ProviderKind::Polygon),
        concurrency,
    }
}

/// Stores one bar of `symbol` on each of `dates`.
fn seed(store: &Store, symbol: &str, dates: &[&str]) {
    let n = dates.len();
    let t: Vec<i64> = dates.iter().map(|d| micros(date(d))).collect();
    let px = Float64Array::from(vec![10.0; n]);
    let batch = RecordBatch::try_new(
        bar_schema(),
        vec![
            std::sync::Arc::new(StringArray::from(vec![symbol; n])),
            std::sync::Arc::new(TimestampMicrosecondArray::from(t).with_timezone("UTC")),
            std::sync::Arc::new(px.clone()),
            std::sync::Arc::new(Float64Array::from(vec![11.0; n])),
            std::sync::Arc::new(Float64Array::from(vec![9.0; n])),
            std::sync::Arc::new(px),
            std::sync::Arc::new(Float64Array::from(vec![100.0; n])),
        ],
    )
    .unwrap();
    assert_eq!(store.append("stocks_daily", &batch).unwrap().inserted, n);
}

fn sessions(start: &str, end: &str) -> Vec<i64> {
    Calendar::Nyse
        .sessions(date(start), date(end))
        .unwrap()
        .iter()
        .map(|s| micros(s.date))
        .collect()
}

fn stored(store: &Store, symbol: &str) -> Vec<i64> {
    stored_timestamps(store, "stocks_daily", Some(&[symbol.to_owned()]))
        .unwrap()
        .remove(symbol)
        .unwrap_or_default()
}

fn open(dir: &Path) -> Store {
    Store::open(dir).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_exactly_the_calendar_holes_and_a_rerun_fetches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // January 2024: stored 2, 3, 4 and 16..=19; missing 5, 8..=12 and 22..=31 (15th: MLK day).
    seed(&store, "AAPL", &["2024-01-02", "2024-01-03", "2024-01-04"]);
    seed(&store, "AAPL", &["2024-01-16", "2024-01-17", "2024-01-18", "2024-01-19"]);
    let vendor = Vendor::start().await;
    let backfill = Backfill::new(store.clone(), vendor.connectors());
    let s = spec(&["AAPL", "MSFT"], "2024-01-02", "2024-01-31", 2);

    let plan = backfill.plan(&s).unwrap();
    assert_eq!(plan[0].missing, 21 - 7);
    assert_eq!(plan[1].missing, 21);
    let summary = backfill.run(&s, |_| {}).await.unwrap();
    assert_eq!((summary.ok(), summary.failed(), summary.skipped()), (2, 0, 0));
    assert_eq!(summary.bars_written(), 14 + 21);
    assert_eq!(stored(&store, "AAPL"), sessions("2024-01-02", "2024-01-31"));
    assert_eq!(stored(&store, "MSFT"), sessions("2024-01-02", "2024-01-31"));
    // AAPL's two holes are 10 days apart: one request covers both; the stored bars between
    // them come back too and are dropped (14 written = exactly the holes, none revised).
    let mut seen = vendor.seen();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("AAPL".into(), "2024-01-05".into(), "2024-01-31".into()),
            ("MSFT".into(), "2024-01-02".into(), "2024-01-31".into()),
        ]
    );
    let state = JobState::load(dir.path(), "stocks_daily").unwrap();
    assert_eq!(state.symbols["AAPL"].status, JobStatus::Done);
    assert_eq!(state.symbols["AAPL"].last_good, Some(date("2024-01-31")));

    let before = vendor.requests();
    let again = backfill.run(&s, |_| {}).await.unwrap();
    assert_eq!(vendor.requests(), before, "a re-run sends no request");
    assert_eq!((again.skipped(), again.bars_written()), (2, 0));

    // A new window only fetches the new sessions.
    let wider = spec(&["AAPL"], "2024-01-02", "2024-02-02", 1);
    let summary = backfill.run(&wider, |_| {}).await.unwrap();
    assert_eq!(summary.bars_written(), 2);
    assert_eq!(vendor.seen().last().unwrap().1, "2024-02-01");

    let log = read_fetch_log(dir.path(), Some("AAPL"), None).unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| r.status == "ok" && r.provider == "polygon"));
    assert_eq!(log.iter().map(|r| r.stored).sum::<u64>(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_midway_resumes_without_refetching_what_landed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let vendor = Vendor::start().await;
    let backfill = Backfill::new(store.clone(), vendor.connectors());
    let symbols = ["A", "B", "C", "D", "E"];
    let s = spec(&symbols, "2023-01-03", "2023-03-31", 1);
    // The vendor goes down after three symbols (one request each).
    vendor.fail_after(3);
    let first = backfill.run(&s, |_| {}).await.unwrap();
    assert_eq!((first.ok(), first.failed()), (3, 2));
    let failed: Vec<_> = first.symbols.iter().filter(|o| o.outcome == Outcome::Failed).collect();
    assert!(failed[0].error.as_deref().unwrap().contains("500"), "{:?}", failed[0].error);
    let state = JobState::load(dir.path(), "stocks_daily").unwrap();
    assert_eq!(state.symbols["D"].status, JobStatus::Failed);
    assert_eq!(state.symbols["D"].failures, 1);
    assert!(state.symbols["D"].last_error.as_deref().unwrap().contains("polygon"));
    assert_eq!(state.symbols["D"].last_good, None);

    vendor.heal();
    let before = vendor.requests();
    let second = backfill.run(&s, |_| {}).await.unwrap();
    assert_eq!(vendor.requests() - before, 2, "only the two failed symbols are fetched");
    assert_eq!((second.ok(), second.skipped()), (2, 3));
    for sym in symbols {
        assert_eq!(stored(&store, sym), sessions("2023-01-03", "2023-03-31"), "{sym}");
    }
    let state = JobState::load(dir.path(), "stocks_daily").unwrap();
    assert!(state.symbols.values().all(|j| j.status == JobStatus::Done && j.failures == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_symbol_is_recorded_while_the_others_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let vendor = Vendor::start().await;
    vendor.fail_ticker("BAD");
    let backfill = Backfill::new(store.clone(), vendor.connectors());
    let s = spec(&["GOOD", "BAD", "FINE"], "2022-06-01", "2022-06-30", 3);
    let summary = backfill.run(&s, |_| {}).await.unwrap();
    assert_eq!((summary.ok(), summary.failed()), (2, 1));
    let bad = summary.symbols.iter().find(|o| o.symbol == "BAD").unwrap();
    assert_eq!(bad.outcome, Outcome::Failed);
    assert_eq!(bad.retries, 1, "one retry before giving up");
    assert!(stored(&store, "BAD").is_empty());
    assert_eq!(stored(&store, "GOOD").len(), sessions("2022-06-01", "2022-06-30").len());
    let log = read_fetch_log(dir.path(), Some("BAD"), None).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status.as_str(), log[0].requests), ("failed", 2));
    assert!(log[0].error.as_deref().unwrap().contains("BAD"));
}

#[tokio::test]
async fn bad_input_is_refused_with_a_precise_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let vendor = Vendor::start().await;
    let backfill = Backfill::new(store, vendor.connectors());
    let err = backfill.plan(&spec(&[], "2024-01-02", "2024-01-31", 1)).unwrap_err();
    assert_eq!(err.to_string(), "no symbols to backfill");
    let mut s = spec(&["A"], "2024-01-31", "2024-01-02", 1);
    let err = backfill.run(&s, |_| {}).await.unwrap_err().to_string();
    assert!(err.contains("stocks_daily") && err.contains("2024-01-31"), "{err}");
    s.table = "crypto_4hour".into();
    s.start = date("2024-01-01");
    let err = backfill.run(&s, |_| {}).await.unwrap_err().to_string();
    assert!(err.contains("crypto_4hour") && err.contains("no vendor serves"), "{err}");
    assert_eq!(vendor.requests(), 0);
}
