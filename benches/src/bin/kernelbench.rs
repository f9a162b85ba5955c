//! The indicator kernel's speed and memory, for the side-by-side table of
//! `benches/peers/kernel_compare.sh`:
//!
//! * batch: all 97 fields of every series of a data set (the 2.5M-bar daily set), on
//!   `--threads` cores — the kernel alone (f64 columns) and through `compute_each` (Arrow in,
//!   one 97-column Arrow batch per series out);
//! * incremental: one new bar for each of 5,000 series from persisted-style states, kernel
//!   alone and through a store append (upsert, WAL, kernel, memtable);
//! * peak RSS of the process.
//!
//! `kernelbench --data bench-data/daily_ohlcv.parquet --threads 1 [--json out.json]`
//! (`--kernel-only`: the kernel pass alone; `--digest`: also print a digest of every output bit
//! and check chunked runs against the batch, for changes that must not alter any value;
//! `--store-only [--days N]`: only the store append, the median of N days, default 5;
//! `--chunk N`: the kernel pass advances each series N bars at a time instead of in one call)

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{AsArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit, TimestampMicrosecondType};
use candlestore::kernel::{
    Bars, ComputeOptions, SeriesConfig, SeriesState, Session, compute_each, compute_series,
};
use candlestore::{AppendOptions, Durability, Store};
use candlestore_benches::{peak_rss_bytes, stream_dataset};
use rayon::prelude::*;
use serde_json::json;

const DAY: i64 = 86_400_000_000;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// One series' columns.
struct Series {
    ts: Vec<i64>,
    o: Vec<f64>,
    h: Vec<f64>,
    l: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
}

impl Series {
    fn bars(&self, a: usize, b: usize) -> Bars<'_> {
        Bars {
            ts: &self.ts[a..b],
            open: &self.o[a..b],
            high: &self.h[a..b],
            low: &self.l[a..b],
            close: &self.c[a..b],
            volume: &self.v[a..b],
        }
    }
}

fn load(path: &std::path::Path) -> (RecordBatch, Vec<Series>) {
    let batches: Vec<RecordBatch> = stream_dataset(path, 262_144)
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|b| {
            let keep: Vec<usize> = ["datetime", "symbol", "open", "high", "low", "close", "volume"]
                .iter()
                .map(|n| b.schema().index_of(n).expect("column"))
                .collect();
            b.project(&keep).expect("project")
        })
        .collect();
    let all = concat_batches(&batches[0].schema(), &batches).expect("concat");
    let symbols = arrow::compute::cast(all.column(1), &DataType::Utf8).expect("symbols");
    let symbols = symbols.as_string::<i32>();
    let ts = all.column(0).as_primitive::<TimestampMicrosecondType>();
    let f = |i: usize| all.column(i).as_primitive::<Float64Type>();
    let (o, h, l, c, v) = (f(2), f(3), f(4), f(5), f(6));
    let mut series = Vec::new();
    let mut start = 0;
    for i in 1..=all.num_rows() {
        if i == all.num_rows() || symbols.value(i) != symbols.value(start) {
            series.push(Series {
                ts: ts.values()[start..i].to_vec(),
                o: o.values()[start..i].to_vec(),
                h: h.values()[start..i].to_vec(),
                l: l.values()[start..i].to_vec(),
                c: c.values()[start..i].to_vec(),
                v: v.values()[start..i].to_vec(),
            });
            start = i;
        }
    }
    (all, series)
}

fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    (best, last.expect("reps > 0"))
}

/// 5,000 synthetic daily series of `days` bars (a deterministic random walk), as one batch.
fn synthetic(symbols: usize, days: usize, first_day: i64) -> RecordBatch {
    let n = symbols * days;
    let mut sym = Vec::with_capacity(n);
    let mut ts = Vec::with_capacity(n);
    let (mut o, mut h, mut l, mut c, mut v) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::new(), Vec::new(), Vec::new());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    for s in 0..symbols {
        let mut price = 20.0 + (s % 400) as f64;
        for d in 0..days {
            let open = price;
            price *= 1.0 + (rnd() - 0.5) * 0.04;
            sym.push(format!("S{s:05}"));
            ts.push((first_day + d as i64) * DAY);
            o.push(open);
            c.push(price);
            h.push(open.max(price) * (1.0 + rnd() * 0.01));
            l.push(open.min(price) * (1.0 - rnd() * 0.01));
            v.push((1e5 + rnd() * 1e6).round());
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new(
            "datetime",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("open", DataType::Float64, false),
        Field::new("high", DataType::Float64, false),
        Field::new("low", DataType::Float64, false),
        Field::new("close", DataType::Float64, false),
        Field::new("volume", DataType::Float64, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(sym)),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
            Arc::new(Float64Array::from(o)),
            Arc::new(Float64Array::from(h)),
            Arc::new(Float64Array::from(l)),
            Arc::new(Float64Array::from(c)),
            Arc::new(Float64Array::from(v)),
        ],
    )
    .expect("synthetic batch")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = arg(&args, "--data").unwrap_or_else(|| "bench-data/daily_ohlcv.parquet".into());
    let threads: usize = arg(&args, "--threads").and_then(|t| t.parse().ok()).unwrap_or(1);
    let reps: usize = arg(&args, "--reps").and_then(|t| t.parse().ok()).unwrap_or(3);
    let chunk: usize = arg(&args, "--chunk").and_then(|t| t.parse().ok()).unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    let config = SeriesConfig { session: Session::PerBar };

    if args.iter().any(|a| a == "--store-only") {
        let ms = store_append(&args);
        println!("{}", json!({ "store_append_5000_ms": ms }));
        return;
    }
    let (all, series) = load(std::path::Path::new(&data));
    let bars: usize = series.iter().map(|s| s.ts.len()).sum();
    eprintln!("{data}: {} series, {bars} bars; {threads} thread(s)", series.len());

    // Batch, kernel alone: every series from its first bar.
    let (kernel_s, checksum) = best_of(reps, || {
        pool.install(|| {
            series
                .par_iter()
                .map(|s| {
                    let ema = candlestore::column_index("ema_200").expect("col");
                    if chunk == 0 {
                        let (computed, _) =
                            compute_series(&config, &s.bars(0, s.ts.len())).expect("compute");
                        return computed
                            .raw(ema)
                            .map_or(0.0, |c| c.iter().copied().filter(|x| x.is_finite()).sum());
                    }
                    let mut state = SeriesState::new();
                    let mut sum = 0.0;
                    for a in (0..s.ts.len()).step_by(chunk) {
                        let b = (a + chunk).min(s.ts.len());
                        let computed = state.advance(&config, &s.bars(a, b)).expect("compute");
                        sum += computed
                            .raw(ema)
                            .map_or(0.0, |c| c.iter().copied().filter(|x| x.is_finite()).sum());
                    }
                    sum
                })
                .sum::<f64>()
        })
    });
    let kernel_ns = kernel_s * 1e9 / bars as f64;
    eprintln!("batch, kernel: {kernel_ns:.1} ns/bar ({kernel_s:.3} s; checksum {checksum:.3e})");

    if args.iter().any(|a| a == "--digest") {
        println!("{}", digest(&config, &series));
    }

    let kernel_rss = peak_rss_bytes().map_or(0.0, |b| b as f64 / (1 << 20) as f64);
    eprintln!("peak RSS after the kernel pass: {kernel_rss:.0} MiB");
    if args.iter().any(|a| a == "--kernel-only") {
        return;
    }

    // Batch through the public Arrow API (conform, sort, compute, 97 Arrow columns).
    let options =
        ComputeOptions { config, source: "bench".into(), batch_id: "bench".into(), now: 0 };
    let (arrow_s, rows) = best_of(reps, || {
        pool.install(|| {
            let mut rows = 0;
            compute_each(&all, &options, |batch, _| {
                rows += batch.num_rows();
                Ok(())
            })
            .expect("compute_each");
            rows
        })
    });
    assert_eq!(rows, bars);
    let arrow_ns = arrow_s * 1e9 / bars as f64;
    eprintln!("batch, Arrow in/out: {arrow_ns:.1} ns/bar ({arrow_s:.3} s)");
    let arrow_rss = peak_rss_bytes().map_or(0.0, |b| b as f64 / (1 << 20) as f64);
    eprintln!("peak RSS after the Arrow pass: {arrow_rss:.0} MiB");

    // Incremental, kernel alone: one new bar for each of 5,000 series.
    let mut states: Vec<(usize, SeriesState)> = Vec::with_capacity(5_000);
    for k in 0..5_000 {
        let s = &series[k % series.len()];
        let n = s.ts.len();
        let (_, state) = compute_series(&config, &s.bars(0, n - 1)).expect("history");
        states.push((k % series.len(), state));
    }
    let mut incr_s = f64::INFINITY;
    for _ in 0..5 {
        let mut work = states.clone();
        let t = Instant::now();
        pool.install(|| {
            work.par_iter_mut().for_each(|(i, state)| {
                let s = &series[*i];
                let n = s.ts.len();
                let _ = state.advance(&config, &s.bars(n - 1, n)).expect("advance");
            })
        });
        incr_s = incr_s.min(t.elapsed().as_secs_f64());
    }
    eprintln!("incremental, kernel: 5,000 series x 1 bar in {:.2} ms", incr_s * 1e3);

    let store_ms = store_append(&args);

    let rss = peak_rss_bytes().map_or(0.0, |b| b as f64 / (1 << 20) as f64);
    eprintln!("peak RSS {rss:.0} MiB");
    let out = json!({
        "peer": "candlestore",
        "fields": 97,
        "bars": bars,
        "threads": threads,
        "ns_per_bar": kernel_ns,
        "ns_per_bar_arrow": arrow_ns,
        "incremental_5000_ms": incr_s * 1e3,
        "store_append_5000_ms": store_ms,
        "peak_rss_mib": rss,
        "peak_rss_kernel_mib": kernel_rss,
        "peak_rss_arrow_mib": arrow_rss,
    });
    if let Some(path) = arg(&args, "--json") {
        std::fs::write(&path, serde_json::to_string_pretty(&out).expect("json")).expect("write");
    }
    println!("{out}");
}

/// FNV-1a of the bits of every computed column of every series (batch run), then of each
/// series computed in chunks of 1, 7 and 250 bars and compared with the batch: a change that
/// must not alter any output keeps this digest (`--digest`).
fn digest(config: &SeriesConfig, series: &[Series]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut columns = 0;
    for s in series {
        let n = s.ts.len();
        let (batch, _) = compute_series(config, &s.bars(0, n)).expect("compute");
        for c in 0..97 {
            let Some(col) = batch.raw(c) else { continue };
            columns += 1;
            for x in col {
                for b in x.to_bits().to_le_bytes() {
                    h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                }
            }
        }
    }
    // Chunked runs must give the batch's bits (checked on a few series to keep it quick).
    for s in series.iter().take(3) {
        let n = s.ts.len();
        let (batch, _) = compute_series(config, &s.bars(0, n)).expect("compute");
        for step in [1usize, 7, 250] {
            let mut state = SeriesState::new();
            let mut a = 0;
            while a < n {
                let b = (a + step).min(n);
                let part = state.advance(config, &s.bars(a, b)).expect("advance");
                for c in 0..97 {
                    let (Some(x), Some(y)) = (batch.raw(c), part.raw(c)) else { continue };
                    for (i, (p, q)) in x[a..b].iter().zip(y).enumerate() {
                        assert_eq!(
                            p.to_bits(),
                            q.to_bits(),
                            "column {c}, bar {}, step {step}",
                            a + i
                        );
                    }
                }
                a = b;
            }
        }
    }
    format!("digest {h:016x} over {columns} series-columns")
}

/// CPU time of the whole process (all threads) so far, in seconds: what an append costs
/// when other processes share the cores and wall time is inflated.
fn process_cpu_s() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// One new bar for each of 5,000 symbols through a store that holds 300 days of each: the
/// median of `--days` appends (default 5; more for a profile of the append path), in ms.
fn store_append(args: &[String]) -> f64 {
    let days: i64 = arg(args, "--days").and_then(|d| d.parse().ok()).unwrap_or(5).max(1);
    let dir = std::env::temp_dir().join(format!("kernelbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::builder(&dir).with_durability(Durability::Buffered).open().expect("store");
    let history = synthetic(5_000, 300, 10_000);
    let opts = AppendOptions::default().with_source("bench");
    let t = Instant::now();
    for a in (0..history.num_rows()).step_by(300 * 250) {
        let len = (300 * 250).min(history.num_rows() - a);
        let _ = store.append_with("stocks_daily", &history.slice(a, len), &opts).expect("append");
    }
    let _ = store.flush().expect("flush");
    let history_s = t.elapsed().as_secs_f64();
    eprintln!("history of 1.5M bars ingested in {history_s:.1} s; appending {days} days");
    let (mut store_ms, mut cpu_ms) = (Vec::new(), Vec::new());
    for day in 0..days {
        let next = synthetic(5_000, 1, 10_300 + day);
        let (t, cpu) = (Instant::now(), process_cpu_s());
        let report = store.append_with("stocks_daily", &next, &opts).expect("append day");
        store_ms.push(t.elapsed().as_secs_f64() * 1e3);
        cpu_ms.push((process_cpu_s() - cpu) * 1e3);
        assert_eq!(report.inserted, 5_000);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (store_ms, cpu_ms) = (median(store_ms), median(cpu_ms));
    eprintln!(
        "incremental, store append (buffered): 5,000 symbols x 1 bar in {store_ms:.2} ms \
         (median of {days}; CPU time of all threads {cpu_ms:.2} ms)"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);

    store_ms
}
