//! The store-level reports: a store filled from the real ORCL file with a hole cut into it.

use std::time::Duration;

use candlestore::{AppendOptions, Durability, ManualClock, Store};
use candlestore_ingest::{
    BarAlignment, Calendar, CoverageError, FreshnessConfig, ImportOptions, freshness_report,
    gap_report, open, stored_timestamps, table_calendar,
};

use crate::{d, testdata, utc};

/// ORCL 1995..2014 daily bars without rows 100..103 (1995-05-25, 26 and 30: Memorial Day
/// 1995-05-29 lies inside the hole and is not counted).
fn orcl_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path()).with_durability(Durability::Buffered).open().unwrap();
    let mut reader =
        open(&testdata("backtrader/orcl-1995-2014.txt"), &ImportOptions::default()).unwrap();
    let batch = reader.next().unwrap().unwrap();
    assert!(reader.next().is_none());
    let opts = AppendOptions::default().with_source("test");
    let first = store.append_with("stocks_daily", &batch.slice(0, 100), &opts).unwrap();
    let rest = store
        .append_with("stocks_daily", &batch.slice(103, batch.num_rows() - 103), &opts)
        .unwrap();
    assert_eq!((first.inserted, rest.inserted), (100, 4_933));
    (dir, store)
}

#[test]
fn gap_report_finds_the_cut_and_nothing_else() {
    let (_dir, store) = orcl_store();
    assert_eq!(
        table_calendar(&store, "stocks_daily").unwrap(),
        (Calendar::Nyse, candlestore::Timeframe::Day1)
    );
    let stored = stored_timestamps(&store, "stocks_daily", None).unwrap();
    assert_eq!(stored["ORCL"].len(), 5_033);
    let report =
        gap_report(&store, "stocks_daily", None, None, None, BarAlignment::SessionOpen).unwrap();
    assert_eq!(report.symbols.len(), 1);
    let (symbol, window, gaps) = &report.symbols[0];
    assert_eq!((symbol.as_str(), *window), ("ORCL", (d("1995-01-03"), d("2014-12-31"))));
    assert_eq!((gaps.expected, gaps.missing, gaps.ranges.len()), (5_036, 3, 1));
    let r = gaps.ranges[0];
    assert_eq!(
        (r.first_session, r.last_session, r.sessions),
        (d("1995-05-25"), d("1995-05-30"), 3)
    );
    assert_eq!(report.symbols_with_gaps(), 1);

    // A window around the hole, and a symbol that has nothing in it.
    let symbols = ["ORCL".to_owned(), "MSFT".to_owned()];
    let report = gap_report(
        &store,
        "stocks_daily",
        Some(&symbols),
        Some(d("1995-05-22")),
        Some(d("1995-06-02")),
        BarAlignment::SessionOpen,
    )
    .unwrap();
    let missing: Vec<(&str, u64)> =
        report.symbols.iter().map(|(s, _, g)| (s.as_str(), g.missing)).collect();
    assert_eq!(missing, [("ORCL", 3), ("MSFT", 9)]);
}

#[test]
fn gap_report_refuses_bad_input_precisely() {
    let (_dir, store) = orcl_store();
    let err = gap_report(&store, "stocks_hourly", None, None, None, BarAlignment::SessionOpen)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "table \"stocks_hourly\" does not exist in the store (tables: stocks_daily)"
    );
    let symbols = ["MSFT".to_owned()];
    let err =
        gap_report(&store, "stocks_daily", Some(&symbols), None, None, BarAlignment::SessionOpen)
            .unwrap_err();
    assert!(matches!(err, CoverageError::UnknownSymbol { .. }), "{err}");
    assert!(err.to_string().starts_with("symbol \"MSFT\" has no bars in table stocks_daily"));
    let err = gap_report(
        &store,
        "stocks_daily",
        None,
        Some(d("2014-02-01")),
        Some(d("2014-01-01")),
        BarAlignment::SessionOpen,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "table stocks_daily: --start/--end: start 2014-02-01 is after end 2014-01-01"
    );
    let err = gap_report(
        &store,
        "stocks_daily",
        None,
        Some(d("2015-06-01")),
        None,
        BarAlignment::SessionOpen,
    )
    .unwrap_err();
    assert!(err.to_string().contains("start 2015-06-01 is after end 2014-12-31"), "{err}");
    let err = gap_report(
        &store,
        "stocks_daily",
        None,
        Some(d("1980-01-01")),
        None,
        BarAlignment::SessionOpen,
    )
    .unwrap_err();
    assert!(err.to_string().contains("outside its supported range"), "{err}");
}

#[test]
fn freshness_follows_the_calendar_and_the_threshold() {
    let (_dir, store) = orcl_store();
    let config = FreshnessConfig::default();
    // Friday 2015-01-02 12:00 UTC: Jan 1 is a holiday and Friday's session has not closed.
    let clock = ManualClock::new(utc("2015-01-02T12:00:00Z"));
    let report = freshness_report(
        &store,
        &config,
        &clock,
        Some("stocks_daily"),
        None,
        BarAlignment::SessionOpen,
    )
    .unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].last_expected, Some(utc("2014-12-31T00:00:00Z")));
    let (symbol, f) = &report[0].symbols[0];
    assert_eq!((symbol.as_str(), f.is_stale, f.missing_bars), ("ORCL", false, 0));
    assert_eq!(f.age_seconds, 60 * 3_600);
    // Tuesday 2015-01-06 12:00 UTC: Friday (closed 21:00 UTC) and Monday are missing.
    let clock = ManualClock::new(utc("2015-01-06T12:00:00Z"));
    let report =
        freshness_report(&store, &config, &clock, None, None, BarAlignment::SessionOpen).unwrap();
    let f = report[0].symbols[0].1;
    assert_eq!((f.missing_bars, f.overdue_seconds, f.is_stale), (2, 3 * 86_400 + 15 * 3_600, true));
    let lenient = FreshnessConfig { stocks: Duration::from_secs(5 * 86_400), ..config };
    let report =
        freshness_report(&store, &lenient, &clock, None, None, BarAlignment::SessionOpen).unwrap();
    assert!(!report[0].symbols[0].1.is_stale);
    // Unknown symbol or table.
    let err = freshness_report(
        &store,
        &config,
        &clock,
        None,
        Some(&["MSFT".to_owned()]),
        BarAlignment::SessionOpen,
    )
    .unwrap_err();
    assert!(matches!(err, CoverageError::UnknownSymbol { .. }), "{err}");
    let err = freshness_report(
        &store,
        &config,
        &clock,
        Some("crypto_hourly"),
        None,
        BarAlignment::SessionOpen,
    )
    .unwrap_err();
    assert!(matches!(err, CoverageError::UnknownTable { .. }), "{err}");
}
