//! Model-based test: random appends, upserts, flushes, compactions, reopens and crashes
//! against a BTreeMap oracle.

use std::collections::BTreeMap;
use std::sync::Arc;

use candlestore::{CompactionPolicy, MemStorage, Store};
use proptest::prelude::*;

use crate::support::*;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<(u8, u16, u16)>),
    Flush,
    Compact,
    Reopen,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((0u8..4, 0u16..90, 0u16..50), 1..12).prop_map(Op::Append),
        2 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
    ]
}

const SYMBOLS: [&str; 4] = ["AAA", "BBB", "CCC", "DDD"];

fn open(storage: &MemStorage) -> Store {
    Store::builder_with_storage(Arc::new(storage.clone())).with_flush_rows(40).open().expect("open")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn store_matches_btreemap_oracle(ops in prop::collection::vec(op(), 1..25)) {
        let storage = MemStorage::new();
        let mut store = open(&storage);
        let mut oracle: BTreeMap<(String, i64), f64> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Append(rows) => {
                    // Deduplicate keys within the batch (the store rejects in-batch duplicates).
                    let mut batch: BTreeMap<(String, i64), f64> = BTreeMap::new();
                    for (s, d, v) in rows {
                        batch.insert((SYMBOLS[s as usize].to_owned(), JAN1_2024 + i64::from(d) * DAY), f64::from(v) + 0.5);
                    }
                    let rows: Vec<(String, i64, f64)> = batch.iter().map(|((s, t), c)| (s.clone(), *t, *c)).collect();
                    let _ = store.append("stocks_daily", &bars(&rows)).expect("append");
                    oracle.extend(batch);
                }
                Op::Flush => { store.flush().expect("flush"); }
                Op::Compact => { store.compact(&CompactionPolicy::default()).expect("compact"); }
                Op::Reopen => { drop(store); store = open(&storage); }
                Op::Crash => { drop(store); storage.crash(); store = open(&storage); }
            }
            let got = rows_of(&store.scan("stocks_daily").collect().expect("scan"));
            let want: Vec<(String, i64, f64)> = oracle.iter().map(|((s, t), c)| (s.clone(), *t, *c)).collect();
            let mut sorted = got.clone();
            sorted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            prop_assert_eq!(&sorted, &want);
            for s in SYMBOLS {
                let one = rows_of(&store.scan("stocks_daily").symbol(s).collect().expect("scan one"));
                let expect: Vec<_> = want.iter().filter(|r| r.0 == s).cloned().collect();
                prop_assert_eq!(one, expect);
            }
        }
        prop_assert!(store.verify().expect("verify").is_ok());
    }
}
