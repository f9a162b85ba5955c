//! The kernel's shared frame: inputs, outputs, configuration, fault isolation and the
//! recursive primitives every indicator family builds on.
//!
//! Contract for an indicator family (a struct in `group_a.rs` / `group_b.rs`):
//! * it owns all the state it needs to continue a series (ring buffers, EMA/Wilder
//!   accumulators, counters) and derives `Clone, Debug, Default?, Serialize, Deserialize`;
//! * `run(&mut self, inp: &Input, cfg: &Config, out: &mut Out)` computes its fields for every
//!   bar of `inp` (the *new* bars; bar `i` of the chunk is global bar `inp.t0 + i` of the
//!   series) and writes them at chunk position `i` of its output columns;
//! * running one chunk of N bars must give bit-for-bit the same outputs and end state as
//!   running any split of it into consecutive chunks (batch == incremental);
//! * no output may depend on a later bar;
//! * null is `f64::NAN` in the output columns. Any non-finite result is null (F2.5).

use serde::{Deserialize, Serialize};

/// Column positions (0-based, F1 order) of the fields the kernel computes.
pub mod f {
    #![allow(missing_docs)]
    pub const RSI: usize = 16;
    pub const MACD: usize = 17;
    pub const MACD_SIGNAL: usize = 18;
    pub const MACD_HIST: usize = 19;
    pub const ROC: usize = 20;
    pub const MOMENTUM: usize = 21;
    pub const STOCH_K: usize = 22;
    pub const STOCH_D: usize = 23;
    pub const WILLIAMS_R: usize = 24;
    pub const SMA_20: usize = 25;
    pub const SMA_50: usize = 26;
    pub const SMA_200: usize = 27;
    pub const EMA_12: usize = 28;
    pub const EMA_26: usize = 29;
    pub const EMA_50: usize = 30;
    pub const EMA_200: usize = 31;
    pub const KAMA: usize = 32;
    pub const TEMA: usize = 33;
    pub const TRIX: usize = 34;
    pub const BB_UPPER: usize = 35;
    pub const BB_MIDDLE: usize = 36;
    pub const BB_LOWER: usize = 37;
    pub const BB_BANDWIDTH: usize = 38;
    pub const ADX: usize = 39;
    pub const PLUS_DI: usize = 40;
    pub const MINUS_DI: usize = 41;
    pub const ATR: usize = 42;
    pub const SUPERTREND: usize = 43;
    /// +1.0 / -1.0, NaN = null.
    pub const SUPERTREND_DIRECTION: usize = 44;
    pub const OBV: usize = 45;
    pub const PVO: usize = 46;
    pub const PVO_SIGNAL: usize = 47;
    pub const CCI: usize = 48;
    pub const PPO: usize = 49;
    pub const MFI: usize = 50;
    pub const CMF: usize = 51;
    pub const ICHIMOKU_TENKAN: usize = 52;
    pub const ICHIMOKU_KIJUN: usize = 53;
    pub const ICHIMOKU_SENKOU_A: usize = 54;
    pub const ICHIMOKU_SENKOU_B: usize = 55;
    pub const ICHIMOKU_CHIKOU: usize = 56;
    pub const VWAP_DAILY: usize = 57;
    pub const VWAP_WEEKLY: usize = 58;
    pub const VOLUME_PROFILE_POC: usize = 59;
    pub const VOLUME_PROFILE_VAH: usize = 60;
    pub const VOLUME_PROFILE_VAL: usize = 61;
    pub const RETURN_1D: usize = 62;
    pub const RETURN_5D: usize = 63;
    pub const RETURN_20D: usize = 64;
    pub const PRICE_TO_SMA20: usize = 65;
    pub const PRICE_TO_SMA50: usize = 66;
    pub const PRICE_TO_SMA200: usize = 67;
    pub const RSI_DELTA: usize = 68;
    pub const MACD_DELTA: usize = 69;
    pub const VOLUME_RATIO_20D: usize = 70;
    pub const VOLATILITY_20D: usize = 71;
    pub const PRICE_MOMENTUM_5D: usize = 72;
    pub const OBV_SLOPE_5D: usize = 73;
    pub const BB_PERCENT: usize = 74;
    pub const ATR_PERCENT: usize = 75;
    pub const VOLUME_SPIKE: usize = 76;
    pub const PRICE_RANGE: usize = 77;
    pub const HIGH_LOW_SPREAD: usize = 78;
    /// 1.0 = true, 0.0 = false, NaN = null.
    pub const HIGHER_HIGH: usize = 79;
    /// 1.0 = true, 0.0 = false, NaN = null.
    pub const LOWER_LOW: usize = 80;
    pub const TREND_STRENGTH: usize = 81;
    /// Code: 0.0 = low, 1.0 = normal, 2.0 = high, NaN = null.
    pub const REGIME_VOLATILITY: usize = 82;
    /// Code: 0.0 = down, 1.0 = sideways, 2.0 = up, NaN = null.
    pub const REGIME_TREND: usize = 83;
    /// Code: 0.0 = low, 1.0 = normal, 2.0 = high, NaN = null.
    pub const REGIME_VOLUME: usize = 84;
    /// 1.0 = true, 0.0 = false (never null).
    pub const IS_VALIDATED: usize = 88;
    pub const QUALITY_SCORE: usize = 89;
    /// Bit mask of failed checks as f64: 1 = ohlc_invalid, 2 = price_gap, 4 = volume_anomaly;
    /// 0.0 = ok (never null).
    pub const VALIDATION_NOTES: usize = 90;
    /// 1.0 = true, 0.0 = false (never null).
    pub const GAP_DETECTED: usize = 91;
    /// 1.0 = true, 0.0 = false (never null).
    pub const VOLUME_ANOMALY: usize = 92;

    /// F1 names by position, for messages and tests.
    pub const NAMES: [&str; 97] = [
        "datetime",
        "symbol",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "sector",
        "industry",
        "market_cap",
        "exchange",
        "mic_code",
        "currency",
        "country",
        "type",
        "created_at",
        "rsi",
        "macd",
        "macd_signal",
        "macd_hist",
        "roc",
        "momentum",
        "stoch_k",
        "stoch_d",
        "williams_r",
        "sma_20",
        "sma_50",
        "sma_200",
        "ema_12",
        "ema_26",
        "ema_50",
        "ema_200",
        "kama",
        "tema",
        "trix",
        "bb_upper",
        "bb_middle",
        "bb_lower",
        "bb_bandwidth",
        "adx",
        "plus_di",
        "minus_di",
        "atr",
        "supertrend",
        "supertrend_direction",
        "obv",
        "pvo",
        "pvo_signal",
        "cci",
        "ppo",
        "mfi",
        "cmf",
        "ichimoku_tenkan",
        "ichimoku_kijun",
        "ichimoku_senkou_a",
        "ichimoku_senkou_b",
        "ichimoku_chikou",
        "vwap_daily",
        "vwap_weekly",
        "volume_profile_poc",
        "volume_profile_vah",
        "volume_profile_val",
        "return_1d",
        "return_5d",
        "return_20d",
        "price_to_sma20",
        "price_to_sma50",
        "price_to_sma200",
        "rsi_delta",
        "macd_delta",
        "volume_ratio_20d",
        "volatility_20d",
        "price_momentum_5d",
        "obv_slope_5d",
        "bb_percent",
        "atr_percent",
        "volume_spike",
        "price_range",
        "high_low_spread",
        "higher_high",
        "lower_low",
        "trend_strength",
        "regime_volatility",
        "regime_trend",
        "regime_volume",
        "updated_at",
        "source",
        "revision",
        "is_validated",
        "quality_score",
        "validation_notes",
        "gap_detected",
        "volume_anomaly",
        "data_completeness",
        "fetched_at",
        "computed_at",
        "batch_id",
    ];
}

/// The new bars of one series (one symbol of one table), in time order.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Global position (F2.1 `t`) of the chunk's first bar in its series.
    pub t0: u64,
    /// Bar timestamps, microseconds since the Unix epoch, UTC.
    pub ts: &'a [i64],
    /// Open prices.
    pub open: &'a [f64],
    /// High prices.
    pub high: &'a [f64],
    /// Low prices.
    pub low: &'a [f64],
    /// Close prices.
    pub close: &'a [f64],
    /// Volumes.
    pub volume: &'a [f64],
}

impl Input<'_> {
    /// Number of bars in the chunk.
    pub fn len(&self) -> usize {
        self.ts.len()
    }
}

/// How bars group into VWAP sessions (F2.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Session {
    /// Timeframe of one day or longer: every bar is its own session.
    PerBar,
    /// Intraday: a session is a calendar date in this time zone (`chrono_tz::UTC` for crypto
    /// and the reference files, `America/New_York` for US stocks).
    Tz(chrono_tz::Tz),
}

/// Per-series configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Session rule for the VWAP fields.
    pub session: Session,
}

/// The output columns of one chunk: 97 slots in F1 order; the kernel's computed fields hold
/// `len` values each (NaN = null), all others are empty.
#[derive(Debug, Clone)]
pub struct Out {
    len: usize,
    /// The allocated columns, ascending by field, back to back: the column of field `c` is
    /// `data[slot[c]·len .. (slot[c] + 1)·len]` (one allocation, only for the fields the
    /// kernel computes: the NaN preset is not spent on the other ~20 columns).
    data: Vec<f64>,
    /// Position of each field's column in `data`; [`NO_SLOT`] for a column not allocated.
    slot: [u8; 97],
}

/// [`Out::slot`] of a column that is not allocated.
const NO_SLOT: u8 = u8::MAX;

impl Out {
    /// Output buffers for `len` bars, every computed field preset to null (NaN).
    pub fn new(len: usize, computed: &[usize]) -> Self {
        let mut allocated = [false; 97];
        for &c in computed {
            allocated[c] = true;
        }
        Self::with_columns(len, &allocated)
    }

    /// Buffers for `len` bars of the columns flagged in `allocated`, preset to null.
    fn with_columns(len: usize, allocated: &[bool; 97]) -> Self {
        let mut slot = [NO_SLOT; 97];
        let mut n = 0u8;
        for (s, _) in slot.iter_mut().zip(allocated).filter(|(_, a)| **a) {
            *s = n;
            n += 1;
        }
        Self { len, data: vec![f64::NAN; usize::from(n) * len], slot }
    }

    /// Which columns are allocated.
    fn allocated(&self) -> [bool; 97] {
        self.slot.map(|s| s != NO_SLOT)
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bars.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Start of a column in `data`. Panics if the column was not allocated.
    #[inline]
    fn start(&self, field: usize) -> usize {
        let s = self.slot[field];
        assert!(s != NO_SLOT, "column {} not allocated", f::NAMES[field]);
        usize::from(s) * self.len
    }

    /// A computed column, mutable. Panics if the column was not allocated.
    pub fn col_mut(&mut self, field: usize) -> &mut [f64] {
        let a = self.start(field);
        &mut self.data[a..a + self.len]
    }

    /// A computed column (empty for a column that was not allocated).
    pub fn col(&self, field: usize) -> &[f64] {
        if self.slot[field] == NO_SLOT {
            &[]
        } else {
            let a = self.start(field);
            &self.data[a..a + self.len]
        }
    }

    /// The rows at `positions` of every allocated column, as a new `Out`.
    pub fn gather(&self, positions: &[usize]) -> Out {
        let mut out = Out::with_columns(positions.len(), &self.allocated());
        for c in (0..97).filter(|&c| self.slot[c] != NO_SLOT) {
            let src = self.col(c);
            for (dst, &p) in out.col_mut(c).iter_mut().zip(positions) {
                *dst = src[p];
            }
        }
        out
    }

    /// Writes row `k` of `other` at row `rows[k]` of every column both have allocated.
    pub fn scatter(&mut self, other: &Out, rows: &[usize]) {
        debug_assert_eq!(other.len, rows.len());
        if other.len == 0 {
            return;
        }
        if self.slot == other.slot {
            // The same columns (the store's case: one small `Out` per series merged into the
            // append's): column `s` of both is the `s`-th run of `len` values.
            for (src, dst) in
                other.data.chunks_exact(other.len).zip(self.data.chunks_exact_mut(self.len))
            {
                for (&v, &r) in src.iter().zip(rows) {
                    dst[r] = v;
                }
            }
            return;
        }
        for c in (0..97).filter(|&c| self.slot[c] != NO_SLOT && other.slot[c] != NO_SLOT) {
            let (a, b) = (other.start(c), self.start(c));
            let src = &other.data[a..a + other.len];
            let dst = &mut self.data[b..b + self.len];
            for (&v, &r) in src.iter().zip(rows) {
                dst[r] = v;
            }
        }
    }

    /// Several computed columns at once, mutable, in the order given (all distinct).
    pub fn cols_mut<const N: usize>(&mut self, fields: [usize; N]) -> [&mut [f64]; N] {
        let len = self.len;
        let starts: [usize; N] = fields.map(|field| self.start(field));
        // Slots ascend with the field, so field order is `data` order.
        let mut order: [usize; N] = std::array::from_fn(|k| k);
        order.sort_unstable_by_key(|&k| fields[k]);
        let mut out: [Option<&mut [f64]>; N] = std::array::from_fn(|_| None);
        let mut rest: &mut [f64] = &mut self.data;
        let (mut next_field, mut next) = (0, 0);
        for &k in &order {
            assert!(fields[k] >= next_field, "output columns must be distinct");
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(starts[k] - next);
            let (column, tail) = tail.split_at_mut(len);
            out[k] = Some(column);
            rest = tail;
            (next_field, next) = (fields[k] + 1, starts[k] + len);
        }
        out.map(|c| c.unwrap_or_default())
    }
}

/// Null for any non-finite value (F2.5).
#[inline]
pub fn finite_or_null(x: f64) -> f64 {
    if x.is_finite() { x } else { f64::NAN }
}

/// A field family that failed for a series: its outputs are null from `first_bar` on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Family name (e.g. `rsi`).
    pub family: String,
    /// Global index of the first bar whose outputs were nulled.
    pub first_bar: u64,
    /// The panic message or reason.
    pub reason: String,
}

/// A family's state plus whether it has failed (then it stays null for the series).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Slot<T> {
    /// The family's state.
    pub inner: T,
    /// Set once the family failed; its outputs stay null until the series is recomputed.
    pub failed: bool,
}

impl<T> Slot<T> {
    /// A working slot.
    pub fn new(inner: T) -> Self {
        Self { inner, failed: false }
    }

    /// Runs one family over a chunk, isolating a panic: on panic (or if the family failed
    /// before), its `fields` are null for the whole chunk and the failure is recorded.
    pub fn run(
        &mut self,
        family: &'static str,
        fields: &[usize],
        inp: &Input<'_>,
        out: &mut Out,
        faults: &mut Vec<Fault>,
        f: impl FnOnce(&mut T, &mut Out),
    ) {
        if self.failed {
            return;
        }
        let inner = &mut self.inner;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(inner, &mut *out)));
        if let Err(payload) = result {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            self.failed = true;
            for &c in fields {
                out.col_mut(c).fill(f64::NAN);
            }
            faults.push(Fault { family: family.to_owned(), first_bar: inp.t0, reason });
        }
    }
}

/// TA-Lib EMA (F2.3): seeded with the SMA of the first `n` inputs, then
/// `e = (x − e)·k + e`. Push the derived input from its first non-null value on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ema {
    n: u32,
    k: f64,
    count: u32,
    sum: f64,
    value: f64,
}

impl Ema {
    /// Period `n`, `k = 2/(n+1)`.
    pub fn new(n: u32) -> Self {
        Self::with_k(n, 2.0 / (f64::from(n) + 1.0))
    }

    /// Period `n` (seed length) with an explicit smoothing factor.
    pub fn with_k(n: u32, k: f64) -> Self {
        Self { n, k, count: 0, sum: 0.0, value: f64::NAN }
    }

    /// Feeds one value; returns the EMA, NaN during warm-up.
    #[inline]
    pub fn push(&mut self, x: f64) -> f64 {
        if self.count < self.n {
            self.count += 1;
            self.sum += x;
            if self.count == self.n {
                self.value = self.sum / f64::from(self.n);
            }
        } else {
            self.value = (x - self.value) * self.k + self.value;
        }
        self.value
    }
}

/// Wilder smoothing (F2.3): seeded with the SMA of the first `n` inputs, then
/// `w = (w·(n−1) + x)/n`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Wilder {
    n: u32,
    count: u32,
    sum: f64,
    value: f64,
}

impl Wilder {
    /// Period `n`.
    pub fn new(n: u32) -> Self {
        Self { n, count: 0, sum: 0.0, value: f64::NAN }
    }

    /// Feeds one value; returns the smoothed value, NaN during warm-up.
    #[inline]
    pub fn push(&mut self, x: f64) -> f64 {
        if self.count < self.n {
            self.count += 1;
            self.sum += x;
            if self.count == self.n {
                self.value = self.sum / f64::from(self.n);
            }
        } else {
            let n = f64::from(self.n);
            self.value = (self.value * (n - 1.0) + x) / n;
        }
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the requested columns are allocated (NaN-preset), each its own `len` values;
    /// `cols_mut` hands out the right ones in the order asked; gather/scatter move rows.
    #[test]
    fn out_columns() {
        let mut out = Out::new(3, &[f::RSI, f::OBV, f::MACD]);
        assert_eq!(out.data.len(), 9);
        assert!(out.col(f::ATR).is_empty());
        assert!(out.col(f::RSI).iter().all(|x| x.is_nan()));
        {
            let [obv, rsi] = out.cols_mut([f::OBV, f::RSI]);
            obv.copy_from_slice(&[1.0, 2.0, 3.0]);
            rsi.copy_from_slice(&[4.0, 5.0, 6.0]);
        }
        out.col_mut(f::MACD)[1] = 7.0;
        assert_eq!(out.col(f::OBV), &[1.0, 2.0, 3.0]);
        assert_eq!(out.col(f::RSI), &[4.0, 5.0, 6.0]);
        assert_eq!(out.col(f::MACD)[1], 7.0);
        assert!(out.col(f::MACD)[0].is_nan() && out.col(f::MACD)[2].is_nan());

        let g = out.gather(&[2, 0]);
        assert_eq!((g.len(), g.col(f::OBV)), (2, &[3.0, 1.0][..]));
        assert!(g.col(f::ATR).is_empty());
        let mut wide = Out::new(4, &[f::OBV, f::ATR]);
        wide.scatter(&g, &[1, 3]);
        assert_eq!(wide.col(f::OBV)[1], 3.0);
        assert_eq!(wide.col(f::OBV)[3], 1.0);
        assert!(wide.col(f::OBV)[0].is_nan() && wide.col(f::ATR).iter().all(|x| x.is_nan()));

        // Zero bars: every column is empty but still allocated.
        let mut empty = Out::new(0, &[f::RSI, f::OBV]);
        let [a, b] = empty.cols_mut([f::RSI, f::OBV]);
        assert!(a.is_empty() && b.is_empty());
    }

    #[test]
    fn out_scatter_between_outs_of_the_same_columns() {
        let cols = [f::RSI, f::OBV, f::MACD];
        let mut part = Out::new(2, &cols);
        part.col_mut(f::RSI).copy_from_slice(&[1.0, 2.0]);
        part.col_mut(f::OBV).copy_from_slice(&[3.0, 4.0]);
        let mut all = Out::new(5, &cols);
        all.scatter(&part, &[4, 1]);
        assert_eq!(all.col(f::RSI)[4], 1.0);
        assert_eq!(all.col(f::RSI)[1], 2.0);
        assert_eq!(all.col(f::OBV)[4], 3.0);
        assert_eq!(all.col(f::OBV)[1], 4.0);
        for (c, untouched) in [(f::RSI, [0, 2, 3]), (f::OBV, [0, 2, 3])] {
            assert!(untouched.iter().all(|&r| all.col(c)[r].is_nan()));
        }
        assert!(all.col(f::MACD).iter().all(|x| x.is_nan()));
        // Nothing to scatter: nothing changes.
        all.scatter(&Out::new(0, &cols), &[]);
        assert_eq!(all.col(f::RSI)[4], 1.0);
    }

    #[test]
    #[should_panic(expected = "distinct")]
    fn out_cols_mut_rejects_a_repeated_column() {
        let mut out = Out::new(0, &[f::RSI]);
        let _ = out.cols_mut([f::RSI, f::RSI]);
    }

    #[test]
    #[should_panic(expected = "not allocated")]
    fn out_col_mut_rejects_a_column_not_allocated() {
        let mut out = Out::new(2, &[f::RSI]);
        let _ = out.col_mut(f::ATR);
    }
}
