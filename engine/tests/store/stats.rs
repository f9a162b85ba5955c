//! `Store::table_symbols`, `Store::table_symbol`, `Store::table_stats`, `Store::stats`: the figures the
//! HTTP server reports, before and after a flush and in a read-only store.

use candlestore::{MemStorage, Store};

use crate::support::{DAY, JAN1_2024, bars, mem_store};

#[test]
fn summaries_count_flushed_and_unflushed_bars() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let batch =
        bars(&[("AAPL", JAN1_2024, 1.0), ("AAPL", JAN1_2024 + DAY, 2.0), ("MSFT", JAN1_2024, 3.0)]);
    let r = store.append("stocks_daily", &batch).expect("append");
    assert_eq!(r.inserted, 3);
    let t = store.table_stats("stocks_daily").expect("stats");
    assert_eq!((t.symbols, t.bars, t.newest_bar), (2, 3, Some(JAN1_2024 + DAY)));
    assert_eq!((t.segments, t.unflushed_rows), (0, 3));
    let aapl = store.table_symbol("stocks_daily", "AAPL").expect("symbol").expect("AAPL");
    assert_eq!((aapl.bars, aapl.first_bar, aapl.last_bar), (2, None, Some(JAN1_2024 + DAY)));
    assert_eq!(store.table_symbol("stocks_daily", "IBM").expect("symbol"), None);
    assert!(store.table_symbols("crypto_1min").is_err(), "an unknown table");

    store.flush().expect("flush");
    let r =
        store.append("stocks_daily", &bars(&[("MSFT", JAN1_2024 + 2 * DAY, 4.0)])).expect("append");
    assert_eq!(r.inserted, 1);
    let t = store.table_stats("stocks_daily").expect("stats");
    assert_eq!((t.bars, t.unflushed_rows, t.newest_bar), (4, 1, Some(JAN1_2024 + 2 * DAY)));
    assert!(t.segments >= 1 && t.segment_bytes > 0 && t.level0_segments == t.segments);
    let names: Vec<_> = store
        .table_symbols("stocks_daily")
        .expect("symbols")
        .into_iter()
        .map(|s| (s.symbol, s.bars, s.first_bar))
        .collect();
    assert_eq!(
        names,
        vec![("AAPL".to_owned(), 2, Some(JAN1_2024)), ("MSFT".to_owned(), 2, Some(JAN1_2024))]
    );
    let s = store.stats().expect("stats");
    assert!(s.generation >= 1 && !s.read_only && s.next_lsn.is_some());
    assert!(s.wal_files >= 1 && s.wal_bytes > 0, "{s:?}");
    store.flush().expect("flush");
    drop(store);

    // Read-only: no kernel states, no WAL writer; the index gives the same figures.
    let ro =
        Store::builder_with_storage(std::sync::Arc::new(storage)).read_only().open().expect("open");
    let t = ro.table_stats("stocks_daily").expect("stats");
    assert_eq!((t.symbols, t.bars, t.newest_bar), (2, 4, Some(JAN1_2024 + 2 * DAY)));
    let s = ro.stats().expect("stats");
    assert!(s.read_only && s.next_lsn.is_none());
}
