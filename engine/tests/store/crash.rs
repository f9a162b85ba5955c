//! Crash consistency at every sync point: the storage fails at the k-th durability operation
//! (a WAL fsync, a segment/index/manifest write, a truncation), the "machine" loses everything
//! not yet durable, and the reopened store must hold every acknowledged write exactly once and
//! no half-applied batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use candlestore::{CompactionPolicy, MemStorage, Store};

use crate::support::*;

type Model = BTreeMap<(String, i64), f64>;

/// Batch k: 3 symbols × 4 days; every third batch rewrites the previous batch's keys.
fn batch_rows(k: i64) -> Vec<(String, i64, f64)> {
    let base = if k % 3 == 2 { k - 1 } else { k };
    let mut rows = Vec::new();
    for s in ["AAA", "BBB", "CCC"] {
        for d in 0..4 {
            rows.push((
                s.to_owned(),
                JAN1_2024 + (base * 4 + d) * DAY,
                (k * 100 + d) as f64 + 0.25,
            ));
        }
    }
    rows
}

fn open(storage: &MemStorage) -> candlestore::Result<Store> {
    Store::builder_with_storage(Arc::new(storage.clone())).with_flush_rows(20).open()
}

/// Runs the workload until the storage fails; returns the model of acknowledged writes and
/// the rows of the batch in flight when it failed.
fn workload(store: &Store, model: &mut Model) -> Option<Vec<(String, i64, f64)>> {
    for k in 0..12 {
        let rows = batch_rows(k);
        match store.append("stocks_daily", &bars(&rows)) {
            Ok(_) => {
                for (s, t, c) in &rows {
                    model.insert((s.clone(), *t), *c);
                }
            }
            Err(_) => return Some(rows),
        }
        if k % 4 == 3 && store.flush().is_err() {
            return None;
        }
        if k % 6 == 5 && store.compact(&CompactionPolicy::default()).is_err() {
            return None;
        }
    }
    if store.flush().is_err() {
        return None;
    }
    None
}

fn check(store: &Store, model: &Model, in_flight: Option<&Vec<(String, i64, f64)>>, label: &str) {
    let got: Vec<(String, i64, f64)> =
        rows_of(&store.scan("stocks_daily").collect().expect("scan"));
    let mut seen: Model = BTreeMap::new();
    for (s, t, c) in &got {
        assert!(seen.insert((s.clone(), *t), *c).is_none(), "{label}: key {s} {t} returned twice");
    }
    let mut expected = model.clone();
    if let Some(rows) = in_flight {
        let present = rows.iter().filter(|(s, t, c)| seen.get(&(s.clone(), *t)) == Some(c)).count();
        assert!(
            present == 0 || present == rows.len(),
            "{label}: in-flight batch half present ({present}/{})",
            rows.len()
        );
        if present == rows.len() {
            for (s, t, c) in rows {
                expected.insert((s.clone(), *t), *c);
            }
        }
    }
    assert_eq!(seen, expected, "{label}: scan differs from acknowledged writes");
    let report = store.verify().expect("verify");
    assert!(report.is_ok(), "{label}: verify: {:?}", report.problems);
}

#[test]
fn crash_at_every_sync_point_loses_nothing_acknowledged() {
    let mut k = 1;
    loop {
        for torn in [false, true] {
            let storage = MemStorage::new();
            let store = open(&storage).expect("open");
            storage.fail_at_sync_point(k);
            let mut model = Model::new();
            let in_flight = workload(&store, &mut model);
            drop(store);
            if torn {
                let mut n = 0usize;
                storage.crash_with(|len| {
                    n += 1;
                    (len * n / 3) % (len + 1)
                });
            } else {
                storage.crash();
            }
            let label = format!("sync point {k} torn={torn}");
            let store = open(&storage).unwrap_or_else(|e| panic!("{label}: reopen failed: {e}"));
            check(&store, &model, in_flight.as_ref(), &label);
            // The recovered store keeps working.
            let _ = store
                .append("stocks_daily", &bars(&[("ZZZ", JAN1_2024, 1.0)]))
                .expect("append after recovery");
            store.flush().expect("flush after recovery");
        }
        // A full run without failure has fewer sync points than k: every point was covered.
        let probe = MemStorage::new();
        let store = open(&probe).expect("open");
        let start = probe.sync_points().0;
        let mut model = Model::new();
        assert!(workload(&store, &mut model).is_none());
        if probe.sync_points().0 - start < k {
            break;
        }
        k += 1;
    }
    assert!(k > 20, "the workload has sync points to crash at ({k})");
}

#[test]
fn a_failed_flush_is_retried_and_loses_nothing() {
    for k in 1..12 {
        let storage = MemStorage::new();
        let store = open(&storage).expect("open");
        let _ = store.append("stocks_daily", &bars(&[("AAA", JAN1_2024, 1.0)])).expect("append a");
        storage.fail_once_at_sync_point(k);
        let first = store.flush();
        let label =
            format!("transient failure at sync point {k} (first flush ok: {})", first.is_ok());
        // A failed WAL fsync poisons the log (writes refuse until reopen); a failed segment or
        // manifest write leaves the frozen rows to the next flush.
        let appended = store.append("stocks_daily", &bars(&[("BBB", JAN1_2024, 2.0)]));
        // The injected failure may also land in this flush; a third one then retries.
        if store.flush().is_err() {
            let _ = store.flush();
        }
        let got = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
        assert!(got.iter().any(|r| r.0 == "AAA"), "{label}: acknowledged row lost: {got:?}");
        drop(store);
        let store = open(&storage).expect("reopen");
        let got = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
        assert!(got.iter().any(|r| r.0 == "AAA"), "{label}: lost after reopen: {got:?}");
        if appended.is_ok() {
            assert!(got.iter().any(|r| r.0 == "BBB"), "{label}: acknowledged BBB lost: {got:?}");
        }
        assert!(store.verify().expect("verify").is_ok(), "{label}");
    }
}

#[test]
fn a_scan_pinned_several_commits_ago_still_reads_its_files() {
    let storage = MemStorage::new();
    let store = open(&storage).expect("open");
    let _ = store
        .append("stocks_daily", &bars(&[("AAA", JAN1_2024, 1.0), ("AAA", JAN1_2024 + DAY, 2.0)]))
        .expect("a");
    store.flush().expect("flush v1");
    let pinned = store.scan("stocks_daily").symbol("AAA").build().expect("pin v1");
    let _ = store.append("crypto_daily", &bars(&[("BTC", JAN1_2024, 1.0)])).expect("other table");
    store.flush().expect("flush v2");
    let _ = store.append("stocks_daily", &bars(&[("AAA", JAN1_2024, 5.0)])).expect("revise");
    store.flush().expect("flush v3 rewrites the partition");
    let rows: Vec<arrow::array::RecordBatch> =
        pinned.collect::<candlestore::Result<_>>().expect("pinned scan reads its files");
    assert_eq!(
        rows_of(&rows),
        vec![("AAA".to_owned(), JAN1_2024, 1.0), ("AAA".to_owned(), JAN1_2024 + DAY, 2.0)]
    );
    assert!(store.collect_garbage().expect("gc") > 0, "old files go once the scan is dropped");
}
