//! Criterion benchmarks of warm scans on a deterministic synthetic store (200 symbols × 4 years
//! of daily OHLCV bars), for regression tracking. The side-by-side peer comparison on the real
//! and 2.5M-bar data sets is `storebench` + `benches/peers/peers.py` (see BENCHMARKS.md).

use std::hint::black_box;
use std::sync::Arc;

use arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use candlestore::{AppendOptions, CompactionPolicy, Durability, Store};
use criterion::{Criterion, criterion_group, criterion_main};

const DAY: i64 = 86_400_000_000;
const START: i64 = 1_420_070_400_000_000; // 2015-01-01
const SYMBOLS: usize = 200;
const DAYS: i64 = 4 * 365;

fn batch_for(symbol: usize) -> RecordBatch {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("datetime", ts, false),
        Field::new("open", DataType::Float64, false),
        Field::new("high", DataType::Float64, false),
        Field::new("low", DataType::Float64, false),
        Field::new("close", DataType::Float64, false),
        Field::new("volume", DataType::Float64, false),
    ]));
    let days: Vec<i64> = (0..DAYS).filter(|d| (d + 3) % 7 < 5).collect();
    let mut price = 50.0 + symbol as f64;
    let mut close = Vec::with_capacity(days.len());
    let mut state = symbol as u64 * 2_654_435_761 + 1;
    for _ in &days {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        price *= 1.0 + ((state % 2001) as f64 - 1000.0) / 50_000.0;
        close.push((price * 100.0).round() / 100.0);
    }
    let name = format!("S{symbol:04}");
    let col = |f: &dyn Fn(f64) -> f64| {
        Arc::new(Float64Array::from(close.iter().map(|&c| f(c)).collect::<Vec<_>>()))
    };
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec![name.as_str(); days.len()])),
            Arc::new(
                TimestampMicrosecondArray::from(
                    days.iter().map(|d| START + d * DAY).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            col(&|c| c * 0.999),
            col(&|c| c * 1.01),
            col(&|c| c * 0.99),
            col(&|c| c),
            col(&|c| (c * 12_345.0).round()),
        ],
    )
    .expect("batch")
}

fn scans(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Store::builder(dir.path()).with_durability(Durability::Buffered).open().expect("open");
    for s in 0..SYMBOLS {
        let _ = store
            .append_with("stocks_daily", &batch_for(s), &AppendOptions::default())
            .expect("append");
    }
    store.flush().expect("flush");
    let _ = store.compact(&CompactionPolicy::default()).expect("compact");
    let year = (START + 365 * DAY, START + 730 * DAY);
    let ohlcv = ["datetime", "symbol", "open", "high", "low", "close", "volume"];
    let rows = |b: candlestore::Result<Vec<RecordBatch>>| {
        b.expect("scan").iter().map(RecordBatch::num_rows).sum::<usize>()
    };

    c.bench_function("one symbol x 1 year, OHLCV", |b| {
        b.iter(|| {
            rows(
                store
                    .scan("stocks_daily")
                    .symbol("S0042")
                    .time_range(year.0, year.1)
                    .columns(ohlcv)
                    .collect(),
            )
        })
    });
    c.bench_function("one symbol x 1 year, all 97 columns", |b| {
        b.iter(|| {
            rows(store.scan("stocks_daily").symbol("S0042").time_range(year.0, year.1).collect())
        })
    });
    let date = START + 400 * DAY;
    c.bench_function("all symbols on one date, OHLCV", |b| {
        b.iter(|| {
            rows(store.scan("stocks_daily").time_range(date, date + DAY).columns(ohlcv).collect())
        })
    });
    c.bench_function("one symbol full history, OHLCV", |b| {
        b.iter(|| rows(store.scan("stocks_daily").symbol("S0042").columns(ohlcv).collect()))
    });
    c.bench_function("open store", |b| {
        b.iter(|| black_box(Store::builder(dir.path()).read_only().open().expect("open")))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(3));
    targets = scans
}
criterion_main!(benches);
