//! Many readers with one writer: every scan sees a consistent snapshot while appends,
//! flushes and compactions run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use candlestore::{CompactionPolicy, MemStorage};

use crate::support::*;

#[test]
fn readers_see_consistent_snapshots_while_the_writer_flushes_and_compacts() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let done = Arc::new(AtomicBool::new(false));
    // Each append adds one day for all 4 symbols at once, so a consistent snapshot always
    // holds the same number of rows for every symbol.
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut scans = 0;
                let mut last = 0usize;
                while !done.load(Ordering::Relaxed) {
                    let rows = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
                    let mut per_symbol = std::collections::BTreeMap::new();
                    for (s, _, _) in &rows {
                        *per_symbol.entry(s.clone()).or_insert(0usize) += 1;
                    }
                    let counts: Vec<usize> = per_symbol.values().copied().collect();
                    assert!(
                        counts.windows(2).all(|w| w[0] == w[1]),
                        "torn snapshot: {per_symbol:?}"
                    );
                    assert!(
                        rows.len() >= last,
                        "a later scan saw fewer rows ({} < {last})",
                        rows.len()
                    );
                    let mut keys: Vec<_> = rows.iter().map(|r| (r.0.clone(), r.1)).collect();
                    keys.sort();
                    keys.dedup();
                    assert_eq!(keys.len(), rows.len(), "a key appeared twice");
                    last = rows.len();
                    scans += 1;
                }
                scans
            })
        })
        .collect();
    for d in 0..120 {
        let rows: Vec<(&str, i64, f64)> = ["AAA", "BBB", "CCC", "DDD"]
            .iter()
            .map(|s| (*s, JAN1_2024 + d * DAY, d as f64 + 1.0))
            .collect();
        let _ = store.append("stocks_daily", &bars(&rows)).expect("append");
        if d % 10 == 9 {
            store.flush().expect("flush");
        }
        if d % 30 == 29 {
            let _ = store.compact(&CompactionPolicy::default()).expect("compact");
        }
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader thread") > 0);
    }
    assert!(store.verify().expect("verify").is_ok());
}
