//! Group B of the indicator kernel: trend strength (ADX/DI), volatility (ATR, Supertrend,
//! volatility_20d), volume indicators (OBV, PVO, MFI, CMF, VWAP, volume profile, volume
//! ratio/spike), the three regimes and the audit checks (spec `fields.md`, F3.5–F3.7, F3.9,
//! F3.11–F3.13, F3.15, F3.16).
//!
//! Every family is a small struct that owns the whole state it needs to continue a series and
//! is chunk-invariant: one call over N bars gives bit-for-bit the same outputs and end state as
//! any split of those bars into consecutive calls.

// Bar loops index several parallel input slices and output columns by the same `i`.
#![allow(clippy::needless_range_loop)]

use chrono::{DateTime, Days, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};

use super::frame::{Config, Fault, Input, Out, Session, Slot, Wilder, f, finite_or_null};

const NAN: f64 = f64::NAN;

/// `TR[t]` of F2.3 (`t ≥ 1`).
#[inline]
fn true_range(h: f64, l: f64, prev_c: f64) -> f64 {
    (h - l).max((h - prev_c).abs()).max((l - prev_c).abs())
}

/// Sum of `x` in slice order (oldest → newest: the exact window sum of F2.3).
#[inline]
fn seq_sum(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for &u in x {
        s += u;
    }
    s
}

/// The last `N` values of a series, kept contiguous: each value is written twice (at `p` and
/// `p + N`), so that the full window, oldest → newest, is the one slice `buf[pos..pos + N]`
/// (no modulo in the bar loop, no copy).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Win<const N: usize> {
    /// `2·N` values; slot `p` and `p + N` hold the same value.
    buf: Vec<f64>,
    /// Next write slot in `0..N` (= the oldest value once full).
    pos: usize,
    /// Number of values held (at most `N`).
    len: usize,
}

impl<const N: usize> Default for Win<N> {
    fn default() -> Self {
        Self { buf: vec![0.0; 2 * N], pos: 0, len: 0 }
    }
}

impl<const N: usize> Win<N> {
    /// Appends `x`; returns the evicted oldest value when the window was full.
    #[inline]
    fn push(&mut self, x: f64) -> Option<f64> {
        let p = self.pos;
        let old = if self.len == N {
            Some(self.buf[p])
        } else {
            self.len += 1;
            None
        };
        self.buf[p] = x;
        self.buf[p + N] = x;
        self.pos = if p + 1 == N { 0 } else { p + 1 };
        old
    }

    /// Whether the window holds `N` values.
    #[inline]
    fn is_full(&self) -> bool {
        self.len == N
    }

    /// The full window, oldest → newest (call only when [`Win::is_full`]).
    #[inline]
    fn full(&self) -> &[f64; N] {
        self.buf[self.pos..self.pos + N].try_into().expect("window of N values")
    }
}

/// Bool as the kernel's f64 code.
#[inline]
fn code(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

// ------------------------------------------------------------------------------------------
// Percentile rank over 252 bars (F3.15)
// ------------------------------------------------------------------------------------------

/// Length of the percentile-rank window (F3.15).
const RANK_N: usize = 252;

/// The last 252 values of a series for the F3.15 percentile rank: in time order (a ring, for
/// eviction) and sorted ascending (nulls as `+∞`), so that a rank costs two branch-free binary
/// searches, one short `memmove` and a walk over the few values within the tie tolerance,
/// instead of a scan of the window.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RankWindow {
    /// The window in time order (`+∞` = null); `head` is the oldest once full.
    ring: Vec<f64>,
    head: usize,
    /// The same values sorted ascending; the first `len` entries are used.
    sorted: Vec<f64>,
    len: usize,
    /// Number of nulls in the window.
    nulls: u32,
}

impl Default for RankWindow {
    fn default() -> Self {
        Self { ring: vec![0.0; RANK_N], head: 0, sorted: vec![0.0; RANK_N], len: 0, nulls: 0 }
    }
}

/// First index `i` of the ascending slice `s` with `s[i] >= key` (`s.len()` if none);
/// branch-free halving (compiles to conditional moves).
#[inline]
fn lower_bound(s: &[f64], key: f64) -> usize {
    if s.is_empty() {
        return 0;
    }
    let mut base = 0usize;
    let mut size = s.len();
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        base = if s[mid] < key { mid } else { base };
        size -= half;
    }
    base + usize::from(s[base] < key)
}

impl RankWindow {
    /// Appends `x` (NaN = null) and returns the regime code of `x` within the window
    /// (0 = low, 1 = normal, 2 = high), NaN unless the window holds 252 non-null values.
    fn push_rank(&mut self, x: f64) -> f64 {
        let key = if x.is_nan() { f64::INFINITY } else { x };
        if x.is_nan() {
            self.nulls += 1;
        }
        // Position of `key` in the sorted window after the update (its lower bound).
        let at = if self.len == RANK_N {
            let old = std::mem::replace(&mut self.ring[self.head], key);
            self.head = if self.head + 1 == RANK_N { 0 } else { self.head + 1 };
            if old == f64::INFINITY {
                self.nulls -= 1;
            }
            let s = &mut self.sorted[..];
            let io = lower_bound(s, old); // s[io] == old
            let ii = lower_bound(s, key);
            if ii <= io {
                s.copy_within(ii..io, ii + 1);
                s[ii] = key;
                ii
            } else {
                s.copy_within(io + 1..ii, io);
                s[ii - 1] = key;
                ii - 1
            }
        } else {
            self.ring[self.len] = key;
            let n = self.len;
            let ii = lower_bound(&self.sorted[..n], key);
            self.sorted.copy_within(ii..n, ii + 1);
            self.sorted[ii] = key;
            self.len += 1;
            ii
        };
        if self.len < RANK_N || self.nulls > 0 {
            return NAN;
        }
        let q = rank_q_sorted(&self.sorted, at, x);
        if q < 126 {
            0.0
        } else if q > 378 {
            2.0
        } else {
            1.0
        }
    }
}

/// `q = 2·below + equal` of F3.15 for `x = s[at]` over the ascending, finite window `s`, where
/// `at` is the lower bound of `x` (every `s[i]` with `i < at` is `< x`).
///
/// Both predicates are evaluated exactly as written (`s[i] < x − tol`, `abs(s[i] − x) <= tol`);
/// they are monotone in `s[i]` (rounding is monotone), so `below` is a prefix of `s` and
/// `equal` a contiguous run around `at`, found by walking outwards from `at`.
#[inline]
fn rank_q_sorted(s: &[f64], at: usize, x: f64) -> u64 {
    let tol = 1e-9 * x.abs();
    let thr = x - tol;
    let mut below = at;
    while below > 0 && s[below - 1] >= thr {
        below -= 1;
    }
    let mut e0 = at;
    while e0 > 0 && (s[e0 - 1] - x).abs() <= tol {
        e0 -= 1;
    }
    let mut e1 = at;
    while e1 < s.len() && (s[e1] - x).abs() <= tol {
        e1 += 1;
    }
    2 * below as u64 + (e1 - e0) as u64
}

/// `q = 2·below + equal` of F3.15 for `x` over the window `w`, counted literally (tests).
#[cfg(test)]
fn rank_q(w: &[f64], x: f64) -> u64 {
    let tol = 1e-9 * x.abs();
    let below = w.iter().filter(|&&y| y < x - tol).count() as u64;
    let equal = w.iter().filter(|&&y| (y - x).abs() <= tol).count() as u64;
    2 * below + equal
}

// ------------------------------------------------------------------------------------------
// F3.5 ADX, +DI, −DI and F3.15 regime_trend
// ------------------------------------------------------------------------------------------

/// ADX, +DI, −DI (F3.5, TA-Lib seeding: 13-value sums at t = 13, ADX seeded at t = 27) and
/// `regime_trend` (F3.15), which depends only on them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dmi {
    n: u64,
    prev_h: f64,
    prev_l: f64,
    prev_c: f64,
    s_pdm: f64,
    s_mdm: f64,
    s_tr: f64,
    dx_sum: f64,
    adx: f64,
}

impl Dmi {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::ADX, f::PLUS_DI, f::MINUS_DI, f::REGIME_TREND];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [adx_o, pdi_o, mdi_o, reg_o] =
            out.cols_mut([f::ADX, f::PLUS_DI, f::MINUS_DI, f::REGIME_TREND]);
        for i in 0..inp.len() {
            let (h, l, c) = (inp.high[i], inp.low[i], inp.close[i]);
            let t = self.n;
            self.n += 1;
            if t == 0 {
                (self.prev_h, self.prev_l, self.prev_c) = (h, l, c);
                continue;
            }
            let up = h - self.prev_h;
            let dn = self.prev_l - l;
            let (pdm, mdm) = if dn > 0.0 && up < dn {
                (0.0, dn)
            } else if up > 0.0 && up > dn {
                (up, 0.0)
            } else {
                (0.0, 0.0)
            };
            let tr = true_range(h, l, self.prev_c);
            (self.prev_h, self.prev_l, self.prev_c) = (h, l, c);
            if t <= 13 {
                self.s_pdm += pdm;
                self.s_mdm += mdm;
                self.s_tr += tr;
                continue;
            }
            self.s_pdm = self.s_pdm - self.s_pdm / 14.0 + pdm;
            self.s_mdm = self.s_mdm - self.s_mdm / 14.0 + mdm;
            self.s_tr = self.s_tr - self.s_tr / 14.0 + tr;
            let (pdi, mdi) = if self.s_tr == 0.0 {
                (0.0, 0.0)
            } else {
                (100.0 * self.s_pdm / self.s_tr, 100.0 * self.s_mdm / self.s_tr)
            };
            let dx = if self.s_tr == 0.0 || pdi + mdi == 0.0 {
                None
            } else {
                Some(100.0 * (pdi - mdi).abs() / (pdi + mdi))
            };
            if t <= 27 {
                self.dx_sum += dx.unwrap_or(0.0);
                if t == 27 {
                    self.adx = self.dx_sum / 14.0;
                }
            } else if let Some(dx) = dx {
                self.adx = (self.adx * 13.0 + dx) / 14.0;
            }
            let (pdi, mdi) = (finite_or_null(pdi), finite_or_null(mdi));
            pdi_o[i] = pdi;
            mdi_o[i] = mdi;
            if t >= 27 {
                let adx = finite_or_null(self.adx);
                adx_o[i] = adx;
                reg_o[i] = if adx.is_nan() {
                    NAN
                } else if adx >= 25.0 && pdi > mdi {
                    2.0
                } else if adx >= 25.0 && mdi > pdi {
                    0.0
                } else {
                    1.0
                };
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.6 ATR and F3.13 atr_percent
// ------------------------------------------------------------------------------------------

/// ATR (F3.6: `WILDER(TR,14)`, first at 14) and `atr_percent` (F3.13, TA-Lib NATR).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Atr {
    n: u64,
    prev_c: f64,
    w: Wilder,
}

impl Default for Atr {
    fn default() -> Self {
        Self { n: 0, prev_c: NAN, w: Wilder::new(14) }
    }
}

impl Atr {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::ATR, f::ATR_PERCENT];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [atr_o, pct_o] = out.cols_mut([f::ATR, f::ATR_PERCENT]);
        for i in 0..inp.len() {
            let (h, l, c) = (inp.high[i], inp.low[i], inp.close[i]);
            if self.n > 0 {
                let atr = self.w.push(true_range(h, l, self.prev_c));
                if !atr.is_nan() {
                    atr_o[i] = finite_or_null(atr);
                    pct_o[i] = if c == 0.0 { 0.0 } else { finite_or_null(100.0 * atr / c) };
                }
            }
            self.n += 1;
            self.prev_c = c;
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.6 Supertrend
// ------------------------------------------------------------------------------------------

/// Supertrend (10, 3) with TradingView's band and flip rules on TA-Lib's ATR seed (F3.6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Supertrend {
    n: u64,
    prev_c: f64,
    w: Wilder,
    started: bool,
    fu: f64,
    fl: f64,
    dir: i8,
}

impl Default for Supertrend {
    fn default() -> Self {
        Self { n: 0, prev_c: NAN, w: Wilder::new(10), started: false, fu: NAN, fl: NAN, dir: -1 }
    }
}

impl Supertrend {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::SUPERTREND, f::SUPERTREND_DIRECTION];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [st_o, dir_o] = out.cols_mut([f::SUPERTREND, f::SUPERTREND_DIRECTION]);
        for i in 0..inp.len() {
            let (h, l, c) = (inp.high[i], inp.low[i], inp.close[i]);
            if self.n > 0 {
                let a = self.w.push(true_range(h, l, self.prev_c));
                if !a.is_nan() {
                    let mid = (h + l) / 2.0;
                    let bu = mid + 3.0 * a;
                    let bl = mid - 3.0 * a;
                    if self.started {
                        let (fu, fl, pc) = (self.fu, self.fl, self.prev_c);
                        self.fu = if bu < fu || pc > fu { bu } else { fu };
                        self.fl = if bl > fl || pc < fl { bl } else { fl };
                        self.dir = if self.dir == -1 {
                            if c > self.fu { 1 } else { -1 }
                        } else if c < self.fl {
                            -1
                        } else {
                            1
                        };
                    } else {
                        self.started = true;
                        self.fu = bu;
                        self.fl = bl;
                        self.dir = -1;
                    }
                    let st = finite_or_null(if self.dir == 1 { self.fl } else { self.fu });
                    st_o[i] = st;
                    dir_o[i] = if st.is_nan() { NAN } else { f64::from(self.dir) };
                }
            }
            self.n += 1;
            self.prev_c = c;
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.7 OBV and F3.13 obv_slope_5d
// ------------------------------------------------------------------------------------------

/// OBV (F3.7, TA-Lib: starts at `v[0]`) and `obv_slope_5d = SLOPE(obv,5)` (F3.13, F2.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Obv {
    n: u64,
    prev_c: f64,
    obv: f64,
    last5: Win<5>,
}

impl Default for Obv {
    fn default() -> Self {
        Self { n: 0, prev_c: NAN, obv: 0.0, last5: Win::default() }
    }
}

impl Obv {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::OBV, f::OBV_SLOPE_5D];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [obv_o, slope_o] = out.cols_mut([f::OBV, f::OBV_SLOPE_5D]);
        for i in 0..inp.len() {
            let (c, v) = (inp.close[i], inp.volume[i]);
            if self.n == 0 {
                self.obv = v;
            } else if c > self.prev_c {
                self.obv += v;
            } else if c < self.prev_c {
                self.obv -= v;
            }
            self.n += 1;
            self.prev_c = c;
            self.last5.push(self.obv);
            obv_o[i] = finite_or_null(self.obv);
            if self.last5.is_full() {
                // Σ (j − 2)·x_j / Σ (j − 2)², Σ (j − 2)² = 10.
                let mut s = 0.0;
                for (j, &x) in self.last5.full().iter().enumerate() {
                    s += (j as f64 - 2.0) * x;
                }
                slope_o[i] = finite_or_null(s / 10.0);
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.7 PVO
// ------------------------------------------------------------------------------------------

/// PVO (F3.7: `PPO(v,12,26)` with standard EMA seeds, first at 25) and its 9-bar EMA signal
/// (first at 33).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pvo {
    fast: super::frame::Ema,
    slow: super::frame::Ema,
    signal: super::frame::Ema,
}

impl Default for Pvo {
    fn default() -> Self {
        use super::frame::Ema;
        Self { fast: Ema::new(12), slow: Ema::new(26), signal: Ema::new(9) }
    }
}

impl Pvo {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::PVO, f::PVO_SIGNAL];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [pvo_o, sig_o] = out.cols_mut([f::PVO, f::PVO_SIGNAL]);
        for i in 0..inp.len() {
            let v = inp.volume[i];
            let fast = self.fast.push(v);
            let slow = self.slow.push(v);
            if slow.is_nan() {
                continue;
            }
            let pvo = if slow == 0.0 { 0.0 } else { 100.0 * (fast - slow) / slow };
            pvo_o[i] = finite_or_null(pvo);
            sig_o[i] = finite_or_null(self.signal.push(pvo));
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.9 MFI
// ------------------------------------------------------------------------------------------

/// Money flow index (F3.9, 14 bars, exact window sums so that `P + N <= 0` is exact).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mfi {
    n: u64,
    prev_tp: f64,
    pos: Win<14>,
    neg: Win<14>,
}

impl Default for Mfi {
    fn default() -> Self {
        Self { n: 0, prev_tp: NAN, pos: Win::default(), neg: Win::default() }
    }
}

impl Mfi {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::MFI];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let o = out.col_mut(f::MFI);
        for i in 0..inp.len() {
            let tp = (inp.high[i] + inp.low[i] + inp.close[i]) / 3.0;
            if self.n > 0 {
                let dtp = tp - self.prev_tp;
                let flow = if dtp.abs() <= 1e-14 * (tp.abs() + self.prev_tp.abs()) {
                    0.0
                } else {
                    tp * inp.volume[i]
                };
                let (p, q) = if dtp >= 0.0 { (flow, 0.0) } else { (0.0, flow) };
                self.pos.push(p);
                self.neg.push(q);
                if self.pos.is_full() {
                    let p = seq_sum(self.pos.full());
                    let q = seq_sum(self.neg.full());
                    o[i] = if p + q <= 0.0 { 0.0 } else { finite_or_null(100.0 * p / (p + q)) };
                }
            }
            self.n += 1;
            self.prev_tp = tp;
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.9 CMF
// ------------------------------------------------------------------------------------------

/// Chaikin money flow (F3.9, 20 bars, exact window sums; null if `SUM(v,20) <= 0`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cmf {
    mfv: Win<20>,
    vol: Win<20>,
}

impl Default for Cmf {
    fn default() -> Self {
        Self { mfv: Win::default(), vol: Win::default() }
    }
}

impl Cmf {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::CMF];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let o = out.col_mut(f::CMF);
        for i in 0..inp.len() {
            let (h, l, c, v) = (inp.high[i], inp.low[i], inp.close[i], inp.volume[i]);
            let range = h - l;
            let mfm = if range <= 0.0 { 0.0 } else { ((c - l) - (h - c)) / range };
            self.mfv.push(mfm * v);
            self.vol.push(v);
            if self.vol.is_full() {
                let sv = seq_sum(self.vol.full());
                if sv > 0.0 {
                    o[i] = finite_or_null(seq_sum(self.mfv.full()) / sv);
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.11 VWAP with F2.2 sessions
// ------------------------------------------------------------------------------------------

/// Session-anchored VWAPs (F3.11) over the sessions of F2.2: `vwap_daily` over the current
/// session, `vwap_weekly` over the 4 previous sessions plus the current one.
///
/// For `Session::Tz` the UTC bounds `[start, end)` of the current session's calendar date are
/// cached, so the time zone is consulted only when a bar leaves them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vwap {
    /// Session ordinal of the current session, −1 before the first bar.
    ordinal: i64,
    /// Calendar date (days from CE) of the current session (`Session::Tz` only).
    day: i64,
    /// Cached UTC bounds (µs) of the current session's date.
    start: i64,
    end: i64,
    /// Σ tp·v and Σ v of the current session so far.
    cur_pv: f64,
    cur_v: f64,
    /// Σ tp·v and Σ v of the 4 previous sessions, oldest first.
    prev: [(f64, f64); 4],
}

impl Default for Vwap {
    fn default() -> Self {
        Self {
            ordinal: -1,
            day: i64::MIN,
            start: 0,
            end: 0,
            cur_pv: 0.0,
            cur_v: 0.0,
            prev: [(0.0, 0.0); 4],
        }
    }
}

/// UTC instant (µs) of the first moment of local date `d` in `tz` (DST-correct: an ambiguous
/// midnight takes the earlier instant; a midnight inside a gap is found by bisection).
fn day_start<Z: TimeZone>(tz: &Z, d: chrono::NaiveDate) -> Option<i64> {
    let midnight = d.and_time(NaiveTime::MIN);
    if let Some(x) = tz.from_local_datetime(&midnight).earliest() {
        return Some(x.timestamp_micros());
    }
    // Midnight does not exist: bisect for the first UTC instant whose local date is ≥ d
    // (UTC offsets lie within ±26 h).
    let m = midnight.and_utc().timestamp_micros();
    let hour = 3_600_000_000i64;
    let (mut lo, mut hi) = (m - 26 * hour, m + 26 * hour);
    let date_at =
        |us: i64| DateTime::from_timestamp_micros(us).map(|u| u.with_timezone(tz).date_naive());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if date_at(mid)? >= d {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Session key (local date, days from CE) and cached UTC bounds of the date containing `ts`.
fn session_of<Z: TimeZone>(tz: &Z, ts: i64) -> (i64, i64, i64) {
    use chrono::Datelike;
    let fallback = || {
        let day_us = 86_400_000_000i64;
        let d = ts.div_euclid(day_us);
        (d, ts, ts)
    };
    let Some(utc) = DateTime::from_timestamp_micros(ts) else {
        return fallback();
    };
    let d = utc.with_timezone(tz).date_naive();
    let key = i64::from(d.num_days_from_ce());
    let start = day_start(tz, d);
    let end = d.checked_add_days(Days::new(1)).and_then(|n| day_start(tz, n));
    match (start, end) {
        (Some(s), Some(e)) if s <= ts && ts < e => (key, s, e),
        // Non-monotone local dates (pathological zones): no cache, the key still decides.
        _ => (key, ts, ts),
    }
}

impl Vwap {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::VWAP_DAILY, f::VWAP_WEEKLY];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, cfg: &Config, out: &mut Out) {
        let [d_o, w_o] = out.cols_mut([f::VWAP_DAILY, f::VWAP_WEEKLY]);
        for i in 0..inp.len() {
            let ts = inp.ts[i];
            let new_session = match cfg.session {
                Session::PerBar => true,
                Session::Tz(tz) => {
                    if self.ordinal >= 0 && ts >= self.start && ts < self.end {
                        false
                    } else {
                        let (key, s, e) = session_of(&tz, ts);
                        self.start = s;
                        self.end = e;
                        let new = self.ordinal < 0 || key != self.day;
                        self.day = key;
                        new
                    }
                }
            };
            if new_session {
                if self.ordinal >= 0 {
                    self.prev =
                        [self.prev[1], self.prev[2], self.prev[3], (self.cur_pv, self.cur_v)];
                }
                self.cur_pv = 0.0;
                self.cur_v = 0.0;
                self.ordinal += 1;
            }
            let v = inp.volume[i];
            let tp = (inp.high[i] + inp.low[i] + inp.close[i]) / 3.0;
            self.cur_pv += tp * v;
            self.cur_v += v;
            if self.cur_v != 0.0 {
                d_o[i] = finite_or_null(self.cur_pv / self.cur_v);
            }
            if self.ordinal >= 4 {
                let mut pv = 0.0;
                let mut sv = 0.0;
                for &(a, b) in &self.prev {
                    pv += a;
                    sv += b;
                }
                pv += self.cur_pv;
                sv += self.cur_v;
                if sv != 0.0 {
                    w_o[i] = finite_or_null(pv / sv);
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.12 Volume profile
// ------------------------------------------------------------------------------------------

/// Window of the volume profile (F3.12).
const VP_N: usize = 20;
/// Number of bins (F3.12).
const VP_BINS: usize = 24;

/// Updates since the last exact rebuild after which the running bin sums are rebuilt anyway
/// (bounds the drift of the running sums, see [`VolumeProfile`]).
const VP_REBUILD: u32 = 20;

/// The bins of one window (F3.12 step 2): `w = (hi − lo)/24`, edges `e_k = lo + k·w`,
/// `e_24 = hi`, and the widths `e_{k+1} − e_k`. The edges are non-decreasing in `k`: `k·w` and
/// `lo + ·` are monotone under rounding, and `e_23 <= hi` because its exact value is below
/// `hi`.
struct Grid {
    lo: f64,
    w: f64,
    /// `1/w`, only for first estimates of a bin index (always corrected with exact compares).
    inv_w: f64,
    e: [f64; VP_BINS + 1],
    ew: [f64; VP_BINS],
}

impl Grid {
    #[inline]
    fn new(lo: f64, hi: f64) -> Self {
        let w = (hi - lo) / VP_BINS as f64;
        let mut e = [0.0f64; VP_BINS + 1];
        for (k, ek) in e.iter_mut().enumerate() {
            *ek = lo + k as f64 * w;
        }
        e[VP_BINS] = hi;
        let mut ew = [0.0f64; VP_BINS];
        for k in 0..VP_BINS {
            ew[k] = e[k + 1] - e[k];
        }
        Self { lo, w, inv_w: 1.0 / w, e, ew }
    }
}

/// One bar of the volume-profile window: range `[a, b]`, volume `v` and density
/// `d = v/(b − a)` (0 for a flat bar), so that no division is needed per bin.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct VpBar {
    a: f64,
    b: f64,
    v: f64,
    d: f64,
}

/// Running per-bin volumes `V_k` of F3.12 step 3 for one set of edges, with the number of bars
/// that contribute a non-zero amount to each bin (a bin without one is exactly `0.0`, as in the
/// literal sum).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Bins {
    sum: [f64; VP_BINS],
    cnt: [u32; VP_BINS],
}

impl Bins {
    /// Adds (`SUB = false`) or removes (`SUB = true`) one bar's contribution to every bin
    /// (F3.12 step 3: `v·ov/(b − a)` evaluated as `ov·d`, counted only if `ov > 0`; a flat bar
    /// puts all of `v` in bin `min(23, floor((a − lo)/w))`).
    ///
    /// Only the bins the bar's range overlaps are visited: `ov > 0` needs `e_k < b` and
    /// `e_{k+1} > a`, and the edges are non-decreasing, so the bins skipped (found with exact
    /// comparisons, starting from an estimate) are exactly bins where the literal rule adds
    /// nothing.
    #[inline]
    fn apply<const SUB: bool>(&mut self, bar: &VpBar, g: &Grid) {
        let (a, b) = (bar.a, bar.b);
        let e = &g.e;
        if b > a {
            let d = bar.d;
            if d == 0.0 {
                return; // every contribution is +0.0
            }
            // First bin with e_{k+1} > a (estimate, then exact).
            let mut kf = (((a - g.lo) * g.inv_w) as usize).min(VP_BINS - 1);
            while kf > 0 && e[kf] > a {
                kf -= 1;
            }
            while kf + 1 < VP_BINS && e[kf + 1] <= a {
                kf += 1;
            }
            // Last bin with e_k < b.
            let mut kl = (((b - g.lo) * g.inv_w) as usize).min(VP_BINS - 1);
            while kl > 0 && e[kl] >= b {
                kl -= 1;
            }
            while kl + 1 < VP_BINS && e[kl + 1] < b {
                kl += 1;
            }
            if kf == kl {
                let top = if b < e[kf + 1] { b } else { e[kf + 1] };
                let bottom = if a > e[kf] { a } else { e[kf] };
                let ov = top - bottom;
                if ov > 0.0 {
                    self.add::<SUB>(kf, ov * d);
                }
            } else {
                // e_kf <= a < e_{kf+1} <= ... <= e_kl < b <= e_{kl+1}: the literal `ov` is
                // e_{kf+1} − a, then e_{k+1} − e_k (the bin width), then b − e_kl.
                self.add::<SUB>(kf, (e[kf + 1] - a) * d);
                for k in kf + 1..kl {
                    self.add::<SUB>(k, g.ew[k] * d);
                }
                self.add::<SUB>(kl, (b - e[kl]) * d);
            }
        } else {
            // `as usize` truncates, which is floor for the ratio ≥ 0 (NaN → 0).
            let k = (((a - g.lo) / g.w) as usize).min(VP_BINS - 1);
            self.add::<SUB>(k, bar.v);
        }
    }

    /// Adds or removes a contribution `c` to bin `k`. A zero contribution is skipped (adding
    /// `+0.0` leaves a sum unchanged); the last contribution removed leaves exactly `0.0`.
    #[inline]
    fn add<const SUB: bool>(&mut self, k: usize, c: f64) {
        if c == 0.0 {
            return;
        }
        if SUB {
            self.cnt[k] -= 1;
            self.sum[k] = if self.cnt[k] == 0 { 0.0 } else { self.sum[k] - c };
        } else {
            self.cnt[k] += 1;
            self.sum[k] += c;
        }
    }
}

/// Rolling 20-bar volume profile with 24 bins and a 70% value area (F3.12): POC, VAH, VAL.
///
/// The bin volumes are running sums: while the window's `lo` and `hi` (hence every edge) stay
/// the same, a bar updates them by removing the evicted bar's contribution and adding the new
/// bar's (both recomputed from the bar and the edges, so bit-identical to what was added). When
/// `lo` or `hi` changes, and at least every [`VP_REBUILD`] updates, the sums are rebuilt
/// exactly in the literal order (bars oldest → newest). The sums, counts and rebuild age are
/// part of the state, so the same operations happen whatever the chunking.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeProfile {
    /// The last 20 bars (ring, `head` = oldest once full).
    bars: [VpBar; VP_N],
    head: usize,
    len: usize,
    /// Running bin volumes for the edges of `key`.
    bins: Bins,
    /// `(lo, hi)` bit patterns `bins` was built for; `None` = must rebuild.
    key: Option<(u64, u64)>,
    /// Running updates since the last exact rebuild.
    age: u32,
}

impl Default for VolumeProfile {
    fn default() -> Self {
        Self {
            bars: [VpBar::default(); VP_N],
            head: 0,
            len: 0,
            bins: Bins::default(),
            key: None,
            age: 0,
        }
    }
}

impl VolumeProfile {
    /// Columns written.
    pub const FIELDS: &'static [usize] =
        &[f::VOLUME_PROFILE_POC, f::VOLUME_PROFILE_VAH, f::VOLUME_PROFILE_VAL];

    /// Appends a bar; returns the evicted bar when the window was full.
    #[inline]
    fn push(&mut self, bar: VpBar) -> Option<VpBar> {
        if self.len < VP_N {
            self.bars[self.len] = bar;
            self.len += 1;
            None
        } else {
            let old = std::mem::replace(&mut self.bars[self.head], bar);
            self.head = if self.head + 1 == VP_N { 0 } else { self.head + 1 };
            Some(old)
        }
    }

    /// (poc, vah, val) over the current full window, or None (null). `evicted` is the bar that
    /// left the window with the bar just added.
    fn profile(&mut self, new: &VpBar, evicted: Option<&VpBar>) -> Option<(f64, f64, f64)> {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for bar in &self.bars {
            lo = if bar.a < lo { bar.a } else { lo };
            hi = if bar.b > hi { bar.b } else { hi };
        }
        // T in the literal order (oldest → newest): its sign decides the null case.
        let (newer, older) = self.bars.split_at(self.head);
        let mut total = 0.0;
        for bar in older.iter().chain(newer) {
            total += bar.v;
        }
        if total <= 0.0 || total.is_nan() {
            self.key = None;
            return None;
        }
        if hi == lo {
            self.key = None;
            return Some((lo, lo, lo));
        }
        let g = Grid::new(lo, hi);
        let key = Some((lo.to_bits(), hi.to_bits()));
        match evicted {
            Some(old) if self.key == key && self.age < VP_REBUILD => {
                self.bins.apply::<true>(old, &g);
                self.bins.apply::<false>(new, &g);
                self.age += 1;
            }
            _ => {
                self.bins = Bins::default();
                for bar in older.iter().chain(newer) {
                    self.bins.apply::<false>(bar, &g);
                }
                self.key = key;
                self.age = 0;
            }
        }
        let (kp, lo_k, hi_k) = value_area(&self.bins.sum, total);
        let poc = lo + (kp as f64 + 0.5) * g.w;
        Some((poc, g.e[hi_k + 1], g.e[lo_k]))
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [poc_o, vah_o, val_o] =
            out.cols_mut([f::VOLUME_PROFILE_POC, f::VOLUME_PROFILE_VAH, f::VOLUME_PROFILE_VAL]);
        for i in 0..inp.len() {
            let (h, l, v) = (inp.high[i], inp.low[i], inp.volume[i]);
            let (a, b) = (l.min(h), l.max(h));
            let d = if b > a { v / (b - a) } else { 0.0 };
            let bar = VpBar { a, b, v, d };
            let evicted = self.push(bar);
            if self.len < VP_N {
                continue;
            }
            if let Some((poc, vah, val)) = self.profile(&bar, evicted.as_ref()) {
                let (poc, vah, val) =
                    (finite_or_null(poc), finite_or_null(vah), finite_or_null(val));
                if !(poc.is_nan() || vah.is_nan() || val.is_nan()) {
                    poc_o[i] = poc;
                    vah_o[i] = vah;
                    val_o[i] = val;
                }
            }
        }
    }
}

/// Steps 4–5 of F3.12: the POC bin and the value-area bin range `[A, B]`.
///
/// The expansion is written without data-dependent branches (the larger/tie choice is a
/// select), since which side wins is unpredictable; adding `+0.0` for the side not taken leaves
/// `S` unchanged, so `S` takes exactly the literal sequence of additions.
#[inline]
fn value_area(vol: &[f64; VP_BINS], total: f64) -> (usize, usize, usize) {
    // max V_k (4 independent lanes; the bins are finite, so the order does not matter).
    let mut m4 = [f64::NEG_INFINITY; 4];
    for c in vol.chunks_exact(4) {
        for j in 0..4 {
            m4[j] = if c[j] > m4[j] { c[j] } else { m4[j] };
        }
    }
    let m01 = if m4[1] > m4[0] { m4[1] } else { m4[0] };
    let m23 = if m4[3] > m4[2] { m4[3] } else { m4[2] };
    let m = if m23 > m01 { m23 } else { m01 };
    let thr = m * (1.0 - 1e-9);
    let kp = vol.iter().position(|&x| x >= thr).unwrap_or(0);
    let (mut lo_k, mut hi_k) = (kp, kp);
    let mut s = vol[kp];
    let target = 0.70 * total * (1.0 - 1e-9);
    // `x[k + 1] = V_k`, with `−∞` beyond both ends: a missing side never wins and is never a
    // tie, so "take the only one" needs no case of its own.
    let mut x = [f64::NEG_INFINITY; VP_BINS + 2];
    x[1..=VP_BINS].copy_from_slice(vol);
    while s < target {
        let u = x[hi_k + 2];
        let d = x[lo_k];
        if u == f64::NEG_INFINITY && d == f64::NEG_INFINITY {
            break;
        }
        let tie = (u - d).abs() <= 1e-9 * if u > d { u } else { d };
        let up = u > d;
        let take_up = tie | up;
        let take_dn = tie | !up;
        s += if take_up { u } else { 0.0 };
        s += if take_dn { d } else { 0.0 };
        hi_k += usize::from(take_up);
        lo_k -= usize::from(take_dn);
    }
    (kp, lo_k, hi_k)
}

// ------------------------------------------------------------------------------------------
// F3.13 volume_ratio_20d, volume_spike and F3.15 regime_volume
// ------------------------------------------------------------------------------------------

/// 20-bar volume statistics: `volume_ratio_20d`, `volume_spike` (F3.13) and `regime_volume`
/// (F3.15, percentile rank of `SUM(v,20)` over 252 bars).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeStats {
    vol: Win<20>,
    rank: RankWindow,
}

impl Default for VolumeStats {
    fn default() -> Self {
        Self { vol: Win::default(), rank: RankWindow::default() }
    }
}

impl VolumeStats {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::VOLUME_RATIO_20D, f::VOLUME_SPIKE, f::REGIME_VOLUME];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [ratio_o, spike_o, reg_o] =
            out.cols_mut([f::VOLUME_RATIO_20D, f::VOLUME_SPIKE, f::REGIME_VOLUME]);
        for i in 0..inp.len() {
            let v = inp.volume[i];
            self.vol.push(v);
            if !self.vol.is_full() {
                continue;
            }
            let win = self.vol.full();
            let sum = seq_sum(win);
            let sma = sum / 20.0;
            if sma > 0.0 {
                ratio_o[i] = finite_or_null(v / sma);
            }
            let mut ss = 0.0;
            for &u in win {
                let d = u - sma;
                ss += d * d;
            }
            let sd = (ss / 20.0).sqrt();
            let sd_zero = sd <= 1e-12 * sma.abs(); // SD_ZERO (F2.6)
            if !sd_zero {
                spike_o[i] = finite_or_null((v - sma) / sd);
            }
            let regime = self.rank.push_rank(finite_or_null(sum));
            if sum > 0.0 {
                reg_o[i] = regime;
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.13 volatility_20d and F3.15 regime_volatility
// ------------------------------------------------------------------------------------------

/// `volatility_20d = SDS(return_1, 20)` (F3.13, two-pass) and `regime_volatility` (F3.15,
/// its percentile rank over 252 bars).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volatility {
    n: u64,
    prev_c: f64,
    rets: Win<20>,
    rank: RankWindow,
}

impl Default for Volatility {
    fn default() -> Self {
        Self { n: 0, prev_c: NAN, rets: Win::default(), rank: RankWindow::default() }
    }
}

impl Volatility {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::VOLATILITY_20D, f::REGIME_VOLATILITY];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [vol_o, reg_o] = out.cols_mut([f::VOLATILITY_20D, f::REGIME_VOLATILITY]);
        for i in 0..inp.len() {
            let c = inp.close[i];
            let n = self.n;
            self.n += 1;
            let prev = std::mem::replace(&mut self.prev_c, c);
            if n == 0 {
                continue;
            }
            // return_1d is null if c[t−1] = 0 (and any non-finite result is null).
            let r = if prev == 0.0 { NAN } else { finite_or_null(c / prev - 1.0) };
            self.rets.push(r);
            if !self.rets.is_full() {
                continue;
            }
            let win = self.rets.full();
            let m = seq_sum(win) / 20.0;
            let mut ss = 0.0;
            for &u in win {
                let d = u - m;
                ss += d * d;
            }
            let vol = finite_or_null((ss / 19.0).sqrt());
            vol_o[i] = vol;
            reg_o[i] = self.rank.push_rank(vol);
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.16 audit checks
// ------------------------------------------------------------------------------------------

/// The audit checks and fields of F3.16: `gap_detected`, `volume_anomaly` (median of the 20
/// previous volumes, kept in a small sorted array), `quality_score`, `is_validated`,
/// `validation_notes` (bit mask). Never null.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Audit {
    n: u64,
    prev_c: f64,
    /// The 20 previous volumes in time order.
    last: Win<20>,
    /// The same values sorted ascending (first `last.len()` entries used).
    sorted: [f64; 20],
}

impl Default for Audit {
    fn default() -> Self {
        Self { n: 0, prev_c: NAN, last: Win::default(), sorted: [0.0; 20] }
    }
}

impl Audit {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[
        f::GAP_DETECTED,
        f::VOLUME_ANOMALY,
        f::QUALITY_SCORE,
        f::IS_VALIDATED,
        f::VALIDATION_NOTES,
    ];

    /// Replaces `old` (if any) by `new` in the sorted array (one linear pass).
    fn update_sorted(&mut self, old: Option<f64>, new: f64) {
        let s = &mut self.sorted;
        let len = self.last.len; // entries after this update
        let mut i = match old {
            // Remove `old`: find it, leaving a hole at `i`.
            Some(old) => s[..len].iter().position(|&y| y == old).unwrap_or(len - 1),
            None => len - 1,
        };
        // Move the hole to `new`'s place.
        while i > 0 && s[i - 1] > new {
            s[i] = s[i - 1];
            i -= 1;
        }
        while i + 1 < len && s[i + 1] < new {
            s[i] = s[i + 1];
            i += 1;
        }
        s[i] = new;
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [gap_o, anom_o, q_o, valid_o, notes_o] = out.cols_mut([
            f::GAP_DETECTED,
            f::VOLUME_ANOMALY,
            f::QUALITY_SCORE,
            f::IS_VALIDATED,
            f::VALIDATION_NOTES,
        ]);
        for i in 0..inp.len() {
            let (o, h, l, c, v) =
                (inp.open[i], inp.high[i], inp.low[i], inp.close[i], inp.volume[i]);
            let valid_ohlc = o > 0.0
                && h > 0.0
                && l > 0.0
                && c > 0.0
                && v >= 0.0
                && l <= h
                && h >= o.max(c)
                && l <= o.min(c);
            let ohlc_invalid = !valid_ohlc;
            let gap = self.n >= 1 && (o - self.prev_c).abs() > 0.10 * self.prev_c;
            let anomaly = self.n >= 20 && {
                let med = (self.sorted[9] + self.sorted[10]) / 2.0;
                med > 0.0 && (v > 10.0 * med || v < 0.1 * med)
            };
            let points =
                100 - 50 * i32::from(ohlc_invalid) - 20 * i32::from(gap) - 10 * i32::from(anomaly);
            let quality = f64::from(points.max(0)) / 100.0;
            gap_o[i] = code(gap);
            anom_o[i] = code(anomaly);
            q_o[i] = quality;
            valid_o[i] = code(quality >= 0.85);
            notes_o[i] =
                f64::from(u8::from(ohlc_invalid) | (u8::from(gap) << 1) | (u8::from(anomaly) << 2));
            let old = self.last.push(v);
            self.update_sorted(old, v);
            self.n += 1;
            self.prev_c = c;
        }
    }
}

// ------------------------------------------------------------------------------------------
// The group
// ------------------------------------------------------------------------------------------

/// Group B of the kernel: one [`Slot`] per indicator family, so that a panic in one family
/// nulls only that family's fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupB {
    dmi: Slot<Dmi>,
    atr: Slot<Atr>,
    supertrend: Slot<Supertrend>,
    obv: Slot<Obv>,
    pvo: Slot<Pvo>,
    mfi: Slot<Mfi>,
    cmf: Slot<Cmf>,
    vwap: Slot<Vwap>,
    profile: Slot<VolumeProfile>,
    volume: Slot<VolumeStats>,
    volatility: Slot<Volatility>,
    audit: Slot<Audit>,
}

impl GroupB {
    /// Every column this group writes.
    pub const FIELDS: &'static [usize] = &[
        f::ADX,
        f::PLUS_DI,
        f::MINUS_DI,
        f::REGIME_TREND,
        f::ATR,
        f::ATR_PERCENT,
        f::SUPERTREND,
        f::SUPERTREND_DIRECTION,
        f::OBV,
        f::OBV_SLOPE_5D,
        f::PVO,
        f::PVO_SIGNAL,
        f::MFI,
        f::CMF,
        f::VWAP_DAILY,
        f::VWAP_WEEKLY,
        f::VOLUME_PROFILE_POC,
        f::VOLUME_PROFILE_VAH,
        f::VOLUME_PROFILE_VAL,
        f::VOLUME_RATIO_20D,
        f::VOLUME_SPIKE,
        f::REGIME_VOLUME,
        f::VOLATILITY_20D,
        f::REGIME_VOLATILITY,
        f::GAP_DETECTED,
        f::VOLUME_ANOMALY,
        f::QUALITY_SCORE,
        f::IS_VALIDATED,
        f::VALIDATION_NOTES,
    ];

    /// A group at the start of a series.
    pub fn new() -> Self {
        Self::default()
    }

    /// Computes every field of the group for the chunk `inp` (continuing the series).
    pub fn run(&mut self, inp: &Input<'_>, cfg: &Config, out: &mut Out, faults: &mut Vec<Fault>) {
        self.dmi.run("adx", Dmi::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
        self.atr.run("atr", Atr::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
        self.supertrend
            .run("supertrend", Supertrend::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
        self.obv.run("obv", Obv::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
        self.pvo.run("pvo", Pvo::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
        self.mfi.run("mfi", Mfi::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
        self.cmf.run("cmf", Cmf::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
        self.vwap.run("vwap", Vwap::FIELDS, inp, out, faults, |s, out| s.run(inp, cfg, out));
        self.profile.run("volume_profile", VolumeProfile::FIELDS, inp, out, faults, |s, out| {
            s.run(inp, out)
        });
        self.volume
            .run("volume_stats", VolumeStats::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
        self.volatility
            .run("volatility", Volatility::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
        self.audit.run("audit", Audit::FIELDS, inp, out, faults, |s, out| s.run(inp, out));
    }
}
