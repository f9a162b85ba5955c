//! Shared pieces of the candlestore benchmarks: loading the generated data sets
//! (`benches/data/gen.py`) and timing warm queries the way the peer harness does.

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Streams a generated Parquet data set in batches of `batch_rows`.
pub fn stream_dataset(
    path: &Path,
    batch_rows: usize,
) -> Result<impl Iterator<Item = RecordBatch> + use<>, String> {
    let file = File::open(path)
        .map_err(|e| format!("{}: {e} (run benches/data/gen.py first)", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .with_batch_size(batch_rows)
        .build()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let path = path.display().to_string();
    Ok(reader.map(move |b| b.unwrap_or_else(|e| panic!("{path}: {e}"))))
}

/// p50 and p99 of a sample of durations in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Runs `f` `warmup` times, then `reps` timed times; returns the percentiles in µs.
pub fn time_us(warmup: usize, reps: usize, mut f: impl FnMut() -> usize) -> (Percentiles, usize) {
    let mut rows = 0;
    for _ in 0..warmup {
        rows = f();
    }
    let mut samples: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            rows = std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (Percentiles { p50: at(0.50), p99: at(0.99) }, rows)
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Microseconds since the epoch of a `YYYY-MM-DD` date at 00:00 UTC.
pub fn date_micros(date: &str) -> i64 {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |d| d.and_utc().timestamp_micros())
}
