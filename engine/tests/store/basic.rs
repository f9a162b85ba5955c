//! Append, scan, flush, reopen.

use candlestore::{MemStorage, Store, col};

use crate::support::*;

fn sample() -> Vec<(&'static str, i64, f64)> {
    let mut rows = Vec::new();
    for d in 0..70 {
        rows.push(("AAPL", JAN1_2024 + d * DAY, 100.0 + d as f64));
        rows.push(("MSFT", JAN1_2024 + d * DAY, 300.0 + d as f64));
    }
    rows
}

#[test]
fn append_scan_from_memtable_and_segments_agree() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let report = store.append("stocks_daily", &bars(&sample())).expect("append");
    assert_eq!(report.inserted, 140);
    let before = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
    assert_eq!(before.len(), 140);
    let flush = store.flush().expect("flush");
    assert_eq!(flush.rows, 140);
    assert_eq!(flush.segments_written, 3, "Jan, Feb, Mar partitions");
    let after = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
    let mut sorted_before = before.clone();
    sorted_before.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut sorted_after = after.clone();
    sorted_after.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    assert_eq!(sorted_before, sorted_after);

    let one = rows_of(&store.scan("stocks_daily").symbol("MSFT").collect().expect("scan msft"));
    assert_eq!(one.len(), 70);
    assert!(one.windows(2).all(|w| w[0].1 < w[1].1), "sorted by datetime");
    assert!(one.iter().all(|r| r.0 == "MSFT"));

    let ranged = rows_of(
        &store
            .scan("stocks_daily")
            .symbol("AAPL")
            .time_range(JAN1_2024 + 10 * DAY, JAN1_2024 + 40 * DAY)
            .collect()
            .expect("ranged"),
    );
    assert_eq!(ranged.len(), 30);
    assert_eq!(ranged[0].1, JAN1_2024 + 10 * DAY);

    // Reopen: the data comes back from segments + index only.
    drop(store);
    let store = mem_store(&storage);
    assert_eq!(store.recovery_report().frames_replayed, 0);
    let again = rows_of(&store.scan("stocks_daily").symbol("MSFT").collect().expect("scan"));
    assert_eq!(again, one);
}

#[test]
fn unflushed_rows_survive_reopen_via_wal() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let _ = store.append("stocks_daily", &bars(&sample())).expect("append");
    drop(store);
    storage.crash();
    let store = mem_store(&storage);
    assert_eq!(store.recovery_report().frames_replayed, 1);
    assert_eq!(rows_of(&store.scan("stocks_daily").collect().expect("scan")).len(), 140);
}

#[test]
fn projection_and_full_schema() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let _ = store.append("stocks_daily", &bars(&sample())).expect("append");
    store.flush().expect("flush");
    let batch = store.scan("stocks_daily").symbol("AAPL").to_batch().expect("all columns");
    assert_eq!(batch.num_columns(), 97);
    assert_eq!(batch.schema(), candlestore::bar_schema());
    let revision = batch
        .column(col::REVISION)
        .as_any()
        .downcast_ref::<arrow::array::Int32Array>()
        .expect("i32");
    assert!(revision.values().iter().all(|&r| r == 1));
    let projected = store
        .scan("stocks_daily")
        .symbol("AAPL")
        .columns(["close", "datetime"])
        .to_batch()
        .expect("projected");
    assert_eq!(projected.schema().field(0).name(), "close");
    assert_eq!(projected.num_columns(), 2);
    let err = store.scan("stocks_daily").columns(["nope"]).build().expect_err("unknown column");
    assert!(err.to_string().contains("nope"), "{err}");
    let err = store.scan("bonds_daily").build().expect_err("unknown table");
    assert!(err.to_string().contains("bonds_daily"), "{err}");
}

#[test]
fn fs_store_roundtrip_and_lock() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(dir.path()).expect("open");
    let _ = store
        .append(
            "crypto_1min",
            &bars(&[("BTCUSDT", JAN1_2024, 42000.0), ("BTCUSDT", JAN1_2024 + 60_000_000, 42001.0)]),
        )
        .expect("append");
    store.flush().expect("flush");
    assert!(dir.path().join("crypto_1min/day=2024-01-01").is_dir());
    let err = Store::open(dir.path()).expect_err("second writer is refused");
    assert!(err.to_string().contains("locked"), "{err}");
    drop(store);
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(rows_of(&store.scan("crypto_1min").collect().expect("scan")).len(), 2);
}

#[test]
fn bulk_scans_return_what_symbol_scans_return() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let symbols: Vec<String> = (0..40).map(|i| format!("S{i:02}")).collect();
    let day_rows = |days: std::ops::Range<i64>, bump: f64| -> Vec<(String, i64, f64)> {
        symbols
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                days.clone()
                    .map(move |d| (s.clone(), JAN1_2024 + d * DAY, i as f64 + d as f64 + bump))
            })
            .collect()
    };
    // Two flushes into the same months (disjoint days: two segments per partition, whose
    // ranges per symbol interleave in time), a revision of some keys, and unflushed rows.
    let _ = store.append("stocks_daily", &bars(&day_rows(0..45, 0.0))).expect("first");
    store.flush().expect("flush");
    let _ = store.append("stocks_daily", &bars(&day_rows(45..80, 0.0))).expect("second");
    store.flush().expect("flush");
    let _ = store.append("stocks_daily", &bars(&day_rows(30..35, 0.5))).expect("revise");
    let _ = store.append("stocks_daily", &bars(&day_rows(80..83, 0.0))).expect("unflushed");

    let wanted: Vec<String> =
        symbols.iter().step_by(2).chain(symbols.iter().take(3)).cloned().collect();
    for (lo, hi) in [(i64::MIN, i64::MAX), (JAN1_2024 + 20 * DAY, JAN1_2024 + 81 * DAY)] {
        let mut expected = Vec::new();
        let mut sorted = wanted.clone();
        sorted.sort();
        sorted.dedup();
        for s in &sorted {
            let scan = store.scan("stocks_daily").symbol(s.clone()).time_range(lo, hi);
            expected.extend(rows_of(&scan.collect().expect("symbol scan")));
        }
        let bulk = store
            .scan("stocks_daily")
            .symbols(wanted.clone())
            .time_range(lo, hi)
            .columns(["close", "datetime", "symbol"])
            .bulk(true)
            .collect()
            .expect("bulk scan");
        assert_eq!(rows_of(&bulk), expected, "range {lo}..{hi}");
        assert!(expected.iter().any(|r| r.2.fract() == 0.5), "the revision is visible");
    }
    // A bulk scan of every symbol (no list) reads partition by partition, like a normal one.
    let all = rows_of(&store.scan("stocks_daily").collect().expect("all"));
    assert_eq!(rows_of(&store.scan("stocks_daily").bulk(true).collect().expect("bulk all")), all);
    // Bulk reads neither fill nor use the shared column cache.
    store.flush().expect("flush");
    drop(store);
    let store = mem_store(&storage);
    assert_eq!(store.cache_bytes(), 0);
    let again = store.scan("stocks_daily").symbols(wanted.clone()).bulk(true).collect();
    assert!(!again.expect("bulk after reopen").is_empty());
    assert_eq!(store.cache_bytes(), 0, "a bulk scan filled the cache");
    let _ = store.scan("stocks_daily").symbols(wanted).collect().expect("cached scan");
    assert!(store.cache_bytes() > 0, "a normal scan fills the cache");
}

/// Rows of `days` consecutive days for each of `symbols` symbols, symbol-major (as a bulk
/// import file arrives).
fn symbol_major(symbols: usize, days: i64, offset: f64) -> Vec<(String, i64, f64)> {
    let mut rows = Vec::new();
    for s in 0..symbols {
        for d in 0..days {
            rows.push((
                format!("S{s:03}"),
                JAN1_2024 + d * DAY,
                offset + s as f64 + d as f64 / 64.0,
            ));
        }
    }
    rows
}

fn sorted(mut rows: Vec<(String, i64, f64)>) -> Vec<(String, i64, f64)> {
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    rows
}

#[test]
fn a_threshold_flush_in_the_background_loses_and_duplicates_nothing() {
    let storage = MemStorage::new();
    let store = candlestore::Store::builder_with_storage(std::sync::Arc::new(storage.clone()))
        .with_flush_rows(150)
        .open()
        .expect("open");
    // Five appends of 100 rows over three months: thresholds are crossed while earlier
    // background flushes may still run; every scan in between sees each row exactly once.
    let mut written = Vec::new();
    for k in 0..5 {
        let rows: Vec<(String, i64, f64)> = symbol_major(4, 25, k as f64 * 1000.0)
            .into_iter()
            .map(|(s, t, c)| (format!("{s}-{k}"), t + (k as i64 % 3) * 30 * DAY, c))
            .collect();
        let _ = store.append("stocks_daily", &bars(&rows)).expect("append");
        written.extend(rows);
        let seen = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
        assert_eq!(sorted(seen), sorted(written.clone()), "after append {k}");
    }
    // flush() waits for a background flush and then writes the rest.
    store.flush().expect("flush");
    let stats = store.stats().expect("stats");
    assert_eq!(stats.next_lsn, Some(stats.checkpoint_lsn), "the WAL holds nothing unflushed");
    drop(store);
    let store = mem_store(&storage);
    assert_eq!(store.recovery_report().frames_replayed, 0, "everything is in segments");
    let seen = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
    assert_eq!(sorted(seen), sorted(written));
}

#[test]
fn a_failed_background_flush_is_retried_and_its_error_reported() {
    let storage = MemStorage::new();
    let store = candlestore::Store::builder_with_storage(std::sync::Arc::new(storage.clone()))
        .with_flush_rows(50)
        .open()
        .expect("open");
    // 40 rows: below the threshold, nothing flushes yet.
    let first = symbol_major(2, 20, 0.0);
    let _ = store.append("stocks_daily", &bars(&first)).expect("append");
    // From the durability operation after the next append's WAL sync on, everything fails:
    // that append (80 rows in all: past the threshold) succeeds, the background flush it
    // starts fails, and so does the retry.
    storage.fail_at_sync_point(2);
    let second: Vec<(String, i64, f64)> =
        symbol_major(2, 20, 500.0).into_iter().map(|(s, t, c)| (s, t + 60 * DAY, c)).collect();
    let _ = store.append("stocks_daily", &bars(&second)).expect("the append itself is durable");
    assert!(store.flush().is_err(), "the failure reaches flush()");
    // What was acknowledged before the failure is still readable in this process.
    let seen = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
    let mut both = first.clone();
    both.extend(second.iter().cloned());
    assert_eq!(sorted(seen), sorted(both.clone()));
    // Both appends were acknowledged durable: they come back from the WAL after a power loss.
    drop(store);
    storage.crash();
    let store = mem_store(&storage);
    let seen = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
    assert_eq!(sorted(seen), sorted(both));
}
