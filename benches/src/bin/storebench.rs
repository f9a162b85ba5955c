//! candlestore's side of the benchmark table: durable ingest, open time, storage per row,
//! and warm query latencies (p50/p99) for the four query shapes, on the data sets of
//! `benches/data/gen.py`. One data set per process so peak RSS is that import's.
//!
//! `storebench --data bench-data --work /tmp/csbench --set sp500_full [--json out.json]`

use std::path::PathBuf;
use std::time::Instant;

use arrow::array::RecordBatch;
use candlestore::{AppendOptions, CompactionPolicy, Durability, Store};
use candlestore_benches::{date_micros, peak_rss_bytes, stream_dataset, time_us};
use serde_json::{Value, json};

const DAY: i64 = 86_400_000_000;
const TEN: [&str; 10] =
    ["datetime", "symbol", "open", "high", "low", "close", "volume", "rsi", "sma_20", "macd"];
const OHLCV: [&str; 7] = ["datetime", "symbol", "open", "high", "low", "close", "volume"];

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn rows(batches: candlestore::Result<Vec<RecordBatch>>) -> usize {
    batches.expect("scan").iter().map(RecordBatch::num_rows).sum()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(arg(&args, "--data").unwrap_or_else(|| "bench-data".into()));
    let work = PathBuf::from(arg(&args, "--work").unwrap_or_else(|| "/tmp/csbench".into()));
    let set = arg(&args, "--set").unwrap_or_else(|| "sp500_full".into());
    let reps: usize = arg(&args, "--reps").and_then(|r| r.parse().ok()).unwrap_or(200);
    let (table, symbol, year, date) = match set.split('_').next() {
        Some("sp500") => ("stocks_daily", "AAPL", 2016, "2016-06-15"),
        Some("daily") => ("stocks_daily", "S0042", 2015, "2015-06-15"),
        Some("minute") => ("stocks_1min", "M007", 2024, "2024-02-15"),
        _ => panic!("unknown --set {set}"),
    };
    let full = set.ends_with("_full");
    let batches = stream_dataset(&data.join(format!("{set}.parquet")), 65_536)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut total = 0usize;
    let dir = work.join(&set);
    let _ = std::fs::remove_dir_all(&dir);

    // Durable ingest: every append fsync'd through the WAL, then flushed to Parquet.
    let t = Instant::now();
    let store = Store::builder(&dir)
        .with_durability(Durability::Durable)
        .with_flush_rows(
            arg(&args, "--flush-rows").and_then(|r| r.parse().ok()).unwrap_or(4_000_000),
        )
        .open()
        .expect("open");
    let options = AppendOptions::default().with_source("bench");
    for b in batches {
        total += b.num_rows();
        let _ = store.append_with(table, &b, &options).expect("append");
    }
    let appended_s = t.elapsed().as_secs_f64();
    store.flush().expect("flush");
    eprintln!(
        "appends {appended_s:.2} s, final flush {:.2} s",
        t.elapsed().as_secs_f64() - appended_s
    );
    let ingest_s = t.elapsed().as_secs_f64();
    let ingest_rss = peak_rss_bytes();
    let t = Instant::now();
    let compaction = store.compact(&CompactionPolicy::default()).expect("compact");
    let compact_s = t.elapsed().as_secs_f64();
    let rss = peak_rss_bytes();
    drop(store);

    let mut segment_bytes = 0u64;
    for entry in walk(&dir.join(table)) {
        segment_bytes += std::fs::metadata(&entry).map(|m| m.len()).unwrap_or(0);
    }
    let mut opens: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let s = Store::open(&dir).expect("reopen");
            let e = t.elapsed().as_secs_f64() * 1e6;
            drop(s);
            e
        })
        .collect();
    opens.sort_by(f64::total_cmp);
    let store = Store::open(&dir).expect("open");

    let y0 = date_micros(&format!("{year}-01-01"));
    let y1 = date_micros(&format!("{}-01-01", year + 1));
    let d0 = date_micros(date);
    let mut results = serde_json::Map::new();
    let mut q = |name: &str, f: &dyn Fn() -> usize| {
        let (p, n) = time_us(20, reps, f);
        println!("{set:12} {name:40} p50 {:>9.1} µs  p99 {:>9.1} µs  rows {n}", p.p50, p.p99);
        results.insert(name.to_owned(), json!({"p50_us": p.p50, "p99_us": p.p99, "rows": n}));
    };
    if table == "stocks_1min" {
        if full {
            q("Q4 one symbol x one day, all columns", &|| {
                rows(store.scan(table).symbol(symbol).time_range(d0, d0 + DAY).collect())
            });
        }
        q("Q4 one symbol x one day, OHLCV", &|| {
            rows(store.scan(table).symbol(symbol).time_range(d0, d0 + DAY).columns(OHLCV).collect())
        });
    } else {
        q("Q1 one symbol x 1 year, OHLCV", &|| {
            rows(store.scan(table).symbol(symbol).time_range(y0, y1).columns(OHLCV).collect())
        });
        if full {
            q("Q1 one symbol x 1 year, 10 columns", &|| {
                rows(store.scan(table).symbol(symbol).time_range(y0, y1).columns(TEN).collect())
            });
            q("Q1 one symbol x 1 year, all columns", &|| {
                rows(store.scan(table).symbol(symbol).time_range(y0, y1).collect())
            });
            q("Q2 all symbols on one date, 10 columns", &|| {
                rows(store.scan(table).time_range(d0, d0 + DAY).columns(TEN).collect())
            });
            q("Q3 one symbol full history, 10 columns", &|| {
                rows(store.scan(table).symbol(symbol).columns(TEN).collect())
            });
        }
    }
    let summary = json!({
        "set": set,
        "rows": total,
        "ingest_rows_per_s": total as f64 / ingest_s,
        "ingest_s": ingest_s,
        "compaction_s": compact_s,
        "compaction_segments_in": compaction.segments_in,
        "segment_bytes": segment_bytes,
        "bytes_per_row": segment_bytes as f64 / total as f64,
        "open_us_median": opens[2],
        "peak_rss_bytes": rss,
        "ingest_peak_rss_bytes": ingest_rss,
        "queries": Value::Object(results),
    });
    println!(
        "{set:12} ingest {:.0} rows/s ({total} rows, {ingest_s:.2} s), compaction {compact_s:.2} s, {:.1} B/row, open {:.0} µs, peak RSS {} MiB after ingest, {} MiB after compaction",
        total as f64 / ingest_s,
        segment_bytes as f64 / total as f64,
        opens[2],
        ingest_rss.map_or(0, |r| r >> 20),
        rss.map_or(0, |r| r >> 20)
    );
    if let Some(out) = arg(&args, "--json") {
        std::fs::write(&out, serde_json::to_vec_pretty(&summary).expect("json"))
            .expect("write json");
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out
}
