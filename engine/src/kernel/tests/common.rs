//! Reference-file loading and the F5.2 match rule, shared by the kernel tests.

use std::collections::HashMap;
use std::io::Read;

use crate::kernel::frame::{Input, f};

pub const ORCL: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/reference/orcl-1995-2014.fields.csv.gz");
pub const MINUTE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/reference/2006-01-02-volume-min-001.head6000.fields.csv.gz"
);

/// A reference file: column name → the raw text of each row.
pub struct RefFile {
    pub cols: HashMap<String, Vec<String>>,
    pub rows: usize,
    pub ts: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
}

pub fn load(path: &str) -> RefFile {
    let mut text = String::new();
    let file = std::fs::File::open(path).expect("reference file");
    if path.ends_with(".gz") {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text).unwrap();
    }
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_owned).collect();
    let mut cols: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    let mut rows = 0;
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len(), "row {rows}: {line}");
        for (c, v) in cols.iter_mut().zip(fields) {
            c.push(v.to_owned());
        }
        rows += 1;
    }
    let cols: HashMap<String, Vec<String>> = header.into_iter().zip(cols).collect();
    let num = |name: &str| -> Vec<f64> { cols[name].iter().map(|s| s.parse().unwrap()).collect() };
    let ts = cols["datetime"]
        .iter()
        .map(|s| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.fZ")
                .unwrap()
                .and_utc()
                .timestamp_micros()
        })
        .collect();
    RefFile {
        ts,
        open: num("open"),
        high: num("high"),
        low: num("low"),
        close: num("close"),
        volume: num("volume"),
        cols,
        rows,
    }
}

impl RefFile {
    /// The whole file as one chunk starting at bar 0.
    pub fn input(&self) -> Input<'_> {
        self.slice(0, self.rows)
    }

    /// Bars `a..b` as a chunk.
    pub fn slice(&self, a: usize, b: usize) -> Input<'_> {
        Input {
            t0: a as u64,
            ts: &self.ts[a..b],
            open: &self.open[a..b],
            high: &self.high[a..b],
            low: &self.low[a..b],
            close: &self.close[a..b],
            volume: &self.volume[a..b],
        }
    }
}

/// How a reference column's text maps to the kernel's f64 encoding.
fn encode(field: usize, s: &str) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    match (field, s) {
        (_, "true") => 1.0,
        (_, "false") => 0.0,
        (f::REGIME_VOLATILITY | f::REGIME_VOLUME, "low") => 0.0,
        (f::REGIME_VOLATILITY | f::REGIME_VOLUME, "normal") => 1.0,
        (f::REGIME_VOLATILITY | f::REGIME_VOLUME, "high") => 2.0,
        (f::REGIME_TREND, "down") => 0.0,
        (f::REGIME_TREND, "sideways") => 1.0,
        (f::REGIME_TREND, "up") => 2.0,
        (f::VALIDATION_NOTES, notes) => {
            if notes == "ok" {
                0.0
            } else {
                notes
                    .split(';')
                    .map(|code| match code {
                        "ohlc_invalid" => 1.0,
                        "price_gap" => 2.0,
                        "volume_anomaly" => 4.0,
                        other => panic!("unknown note {other}"),
                    })
                    .sum()
            }
        }
        _ => s.parse().unwrap_or_else(|_| panic!("{}: {s}", f::NAMES[field])),
    }
}

/// Fields compared exactly (codes, booleans, direction).
pub fn is_exact(field: usize) -> bool {
    matches!(
        field,
        f::SUPERTREND_DIRECTION
            | f::HIGHER_HIGH
            | f::LOWER_LOW
            | f::REGIME_VOLATILITY
            | f::REGIME_TREND
            | f::REGIME_VOLUME
            | f::IS_VALIDATED
            | f::VALIDATION_NOTES
            | f::GAP_DETECTED
            | f::VOLUME_ANOMALY
    )
}

/// Checks one computed column against the reference with the F5.2 rule. Returns the list of
/// mismatches (at most 10 shown) as text, empty when it matches.
pub fn compare(reference: &RefFile, field: usize, got: &[f64]) -> Vec<String> {
    let name = f::NAMES[field];
    let want: Vec<f64> = reference.cols[name].iter().map(|s| encode(field, s)).collect();
    assert_eq!(want.len(), got.len(), "{name}: length");
    let mut abs_nonzero: Vec<f64> =
        want.iter().filter(|v| !v.is_nan() && **v != 0.0).map(|v| v.abs()).collect();
    abs_nonzero.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let scale = if abs_nonzero.is_empty() {
        0.0
    } else {
        let n = abs_nonzero.len();
        if n % 2 == 1 {
            abs_nonzero[n / 2]
        } else {
            (abs_nonzero[n / 2 - 1] + abs_nonzero[n / 2]) / 2.0
        }
    };
    let mut errors = Vec::new();
    for (t, (&w, &g)) in want.iter().zip(got).enumerate() {
        let ok = match (w.is_nan(), g.is_nan()) {
            (true, true) => true,
            (false, false) => {
                if is_exact(field) {
                    w == g
                } else {
                    (w - g).abs() <= 1e-6 * w.abs().max(g.abs()).max(scale)
                }
            }
            _ => false,
        };
        if !ok {
            errors.push(format!("{name}[{t}]: want {w}, got {g}"));
        }
    }
    errors
}

/// Asserts that every listed field matches, printing all mismatch counts first.
pub fn assert_fields(reference: &RefFile, out: &crate::kernel::frame::Out, fields: &[usize]) {
    let mut failed = Vec::new();
    for &field in fields {
        let errs = compare(reference, field, out.col(field));
        if !errs.is_empty() {
            eprintln!("{} mismatches in {}:", errs.len(), f::NAMES[field]);
            for e in errs.iter().take(10) {
                eprintln!("  {e}");
            }
            failed.push(f::NAMES[field]);
        }
    }
    assert!(failed.is_empty(), "fields not matching the reference: {failed:?}");
}
