//! Criterion benchmarks of the indicator kernel, for regression tracking: all 97 fields of one
//! 5,000-bar daily series (batch), and one new bar on each of 1,000 warmed-up series
//! (incremental). The side-by-side comparison with TA-Lib and pandas-ta on the 2.5M-bar set is
//! `kernelbench` + `benches/peers/kernel_compare.sh` (see BENCHMARKS.md).

use std::hint::black_box;

use candlestore::kernel::{Bars, SeriesConfig, SeriesState, Session, compute_series};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const DAY: i64 = 86_400_000_000;

struct Series {
    ts: Vec<i64>,
    cols: [Vec<f64>; 5],
}

/// A deterministic random walk of `n` daily bars.
fn series(n: usize, seed: u64) -> Series {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut s = Series { ts: Vec::with_capacity(n), cols: Default::default() };
    let mut price = 50.0;
    for i in 0..n {
        let open = price;
        price *= 1.0 + (rnd() - 0.5) * 0.04;
        s.ts.push(i as i64 * DAY);
        s.cols[0].push(open);
        s.cols[1].push(open.max(price) * (1.0 + rnd() * 0.01));
        s.cols[2].push(open.min(price) * (1.0 - rnd() * 0.01));
        s.cols[3].push(price);
        s.cols[4].push((1e5 + rnd() * 1e6).round());
    }
    s
}

fn bars(s: &Series, a: usize, b: usize) -> Bars<'_> {
    Bars {
        ts: &s.ts[a..b],
        open: &s.cols[0][a..b],
        high: &s.cols[1][a..b],
        low: &s.cols[2][a..b],
        close: &s.cols[3][a..b],
        volume: &s.cols[4][a..b],
    }
}

fn kernel(c: &mut Criterion) {
    let config = SeriesConfig { session: Session::PerBar };
    let s = series(5_000, 7);
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(5_000));
    group.bench_function("batch_97_fields_5000_bars", |b| {
        b.iter(|| black_box(compute_series(&config, &bars(&s, 0, 5_000)).expect("compute")))
    });
    group.finish();

    let many: Vec<Series> = (0..1_000).map(|i| series(301, i)).collect();
    let warmed: Vec<SeriesState> =
        many.iter().map(|s| compute_series(&config, &bars(s, 0, 300)).expect("warm").1).collect();
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("incremental_1_bar_x_1000_series", |b| {
        b.iter_batched(
            || warmed.clone(),
            |mut states| {
                for (state, s) in states.iter_mut().zip(&many) {
                    black_box(state.advance(&config, &bars(s, 300, 301)).expect("advance"));
                }
                states
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, kernel);
criterion_main!(benches);
