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

use super::frame::{Config, Fault, Input, Out, Ring, Session, Slot, Wilder, f, finite_or_null};

const NAN: f64 = f64::NAN;

/// `TR[t]` of F2.3 (`t ≥ 1`).
#[inline]
fn true_range(h: f64, l: f64, prev_c: f64) -> f64 {
    (h - l).max((h - prev_c).abs()).max((l - prev_c).abs())
}

/// Sum of a ring's values, oldest → newest (exact window sum, F2.3).
#[inline]
fn ring_sum(r: &Ring) -> f64 {
    let (a, b) = r.as_slices();
    let mut s = 0.0;
    for &x in a.iter().chain(b) {
        s += x;
    }
    s
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

/// The last 252 values of a series kept contiguous (a sliding window in a buffer of twice the
/// length, compacted when the end is reached), for the F3.15 percentile rank.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RankWindow {
    buf: Vec<f64>,
    start: usize,
    /// Number of nulls (non-finite values) in the window.
    nulls: u32,
}

impl Default for RankWindow {
    fn default() -> Self {
        Self { buf: Vec::with_capacity(2 * RANK_N), start: 0, nulls: 0 }
    }
}

impl RankWindow {
    /// Appends `x` (NaN = null) and returns the regime code of `x` within the window
    /// (0 = low, 1 = normal, 2 = high), NaN unless the window holds 252 non-null values.
    fn push_rank(&mut self, x: f64) -> f64 {
        if self.buf.len() - self.start == RANK_N {
            if !self.buf[self.start].is_finite() {
                self.nulls -= 1;
            }
            self.start += 1;
        }
        if self.buf.len() == 2 * RANK_N {
            self.buf.copy_within(self.start.., 0);
            self.buf.truncate(RANK_N - 1);
            self.start = 0;
        }
        self.buf.push(x);
        if !x.is_finite() {
            self.nulls += 1;
        }
        let w = &self.buf[self.start..];
        if w.len() < RANK_N || self.nulls > 0 {
            return NAN;
        }
        let q = rank_q(w, x);
        if q < 126 {
            0.0
        } else if q > 378 {
            2.0
        } else {
            1.0
        }
    }
}

/// `q = 2·below + equal` of F3.15 for `x` over the window `w`, counted exactly as written.
#[inline]
fn rank_q(w: &[f64], x: f64) -> u64 {
    let tol = 1e-9 * x.abs();
    let thr = x - tol;
    // Two independent counters per lane keep the loop branch-free and vectorizable.
    let mut below = 0u64;
    let mut equal = 0u64;
    for &y in w {
        below += u64::from(y < thr);
        equal += u64::from((y - x).abs() <= tol);
    }
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
    last5: Ring,
}

impl Default for Obv {
    fn default() -> Self {
        Self { n: 0, prev_c: NAN, obv: 0.0, last5: Ring::new(5) }
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
                for (j, x) in self.last5.iter().enumerate() {
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
    pos: Ring,
    neg: Ring,
}

impl Default for Mfi {
    fn default() -> Self {
        Self { n: 0, prev_tp: NAN, pos: Ring::new(14), neg: Ring::new(14) }
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
                    let p = ring_sum(&self.pos);
                    let q = ring_sum(&self.neg);
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
    mfv: Ring,
    vol: Ring,
}

impl Default for Cmf {
    fn default() -> Self {
        Self { mfv: Ring::new(20), vol: Ring::new(20) }
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
                let sv = ring_sum(&self.vol);
                if sv > 0.0 {
                    o[i] = finite_or_null(ring_sum(&self.mfv) / sv);
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

/// `floor(r)` as a bin index for a computed ratio `r = (x − lo)/w ≥ 0` (saturating: NaN → 0,
/// huge → `usize::MAX`). Truncation equals `floor` for `r ≥ 0` and avoids a libm call.
#[inline]
fn bin_of(r: f64) -> usize {
    r as usize
}

/// Bin edges `e_k = lo + k·w`, `e_24 = hi` (F3.12 step 2).
#[inline]
fn bin_edges(lo: f64, hi: f64, w: f64) -> [f64; VP_BINS + 1] {
    let mut e = [0.0f64; VP_BINS + 1];
    for (k, ek) in e.iter_mut().enumerate() {
        *ek = lo + k as f64 * w;
    }
    e[VP_BINS] = hi;
    e
}

/// One bar's contribution to each bin (F3.12 step 3), `+0.0` where it is not counted.
///
/// Adding a row to the bin totals equals the literal rule bit for bit: a bin total is never
/// `−0.0`, so adding `+0.0` leaves it unchanged. Branch-free so that it vectorizes.
#[inline]
fn bar_row(
    a: f64,
    b: f64,
    v: f64,
    lo: f64,
    w: f64,
    e: &[f64; VP_BINS + 1],
    row: &mut [f64; VP_BINS],
) {
    if b > a {
        let density = v / (b - a);
        for ((r, &e0), &e1) in row.iter_mut().zip(&e[..VP_BINS]).zip(&e[1..]) {
            let top = if b < e1 { b } else { e1 };
            let bottom = if a > e0 { a } else { e0 };
            let ov = top - bottom;
            *r = if ov > 0.0 { ov * density } else { 0.0 };
        }
    } else {
        *row = [0.0; VP_BINS];
        row[bin_of((a - lo) / w).min(VP_BINS - 1)] = v;
    }
}

/// `vol += row`, lane by lane (kept out of line so that it compiles to packed adds).
#[inline(never)]
fn add_row(vol: &mut [f64; VP_BINS], row: &[f64; VP_BINS]) {
    for (x, r) in vol.iter_mut().zip(row) {
        *x += r;
    }
}

/// Per-bar bin contributions for the current window's edges: a cache that is rebuilt whenever
/// `lo` or `hi` (hence every edge) changes, so that otherwise only the new bar's row is
/// computed. It is a pure function of the window, so it is not serialized.
#[derive(Debug, Clone, Default)]
struct RowCache {
    /// `(lo, hi)` bit patterns the rows were computed for; `None` = invalid.
    key: Option<(u64, u64)>,
    /// Row `p` belongs to the bar at ring position `p`.
    rows: Vec<[f64; VP_BINS]>,
}

/// Rolling 20-bar volume profile with 24 bins and a 70% value area (F3.12): POC, VAH, VAL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeProfile {
    /// Last 20 bars' `[a, b]` ranges and volumes (ring, `head` = oldest).
    a: [f64; VP_N],
    b: [f64; VP_N],
    v: [f64; VP_N],
    head: usize,
    len: usize,
    #[serde(skip)]
    cache: RowCache,
}

impl Default for VolumeProfile {
    fn default() -> Self {
        Self {
            a: [0.0; VP_N],
            b: [0.0; VP_N],
            v: [0.0; VP_N],
            head: 0,
            len: 0,
            cache: RowCache::default(),
        }
    }
}

impl VolumeProfile {
    /// Columns written.
    pub const FIELDS: &'static [usize] =
        &[f::VOLUME_PROFILE_POC, f::VOLUME_PROFILE_VAH, f::VOLUME_PROFILE_VAL];

    /// Appends a bar; returns its ring position.
    fn push(&mut self, a: f64, b: f64, v: f64) -> usize {
        let p = if self.len < VP_N {
            self.len += 1;
            (self.head + self.len - 1) % VP_N
        } else {
            let p = self.head;
            self.head = (self.head + 1) % VP_N;
            p
        };
        (self.a[p], self.b[p], self.v[p]) = (a, b, v);
        p
    }

    /// (poc, vah, val) over the current full window, or None (null). `newest` is the ring
    /// position of the bar just added.
    fn profile(&mut self, newest: usize) -> Option<(f64, f64, f64)> {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        let mut total = 0.0;
        for j in 0..VP_N {
            let p = (self.head + j) % VP_N;
            lo = lo.min(self.a[p]);
            hi = hi.max(self.b[p]);
            total += self.v[p];
        }
        if total <= 0.0 || total.is_nan() {
            return None;
        }
        if hi == lo {
            return Some((lo, lo, lo));
        }
        let w = (hi - lo) / VP_BINS as f64;
        let e = bin_edges(lo, hi, w);
        let key = Some((lo.to_bits(), hi.to_bits()));
        let cache = &mut self.cache;
        if cache.rows.len() != VP_N {
            cache.rows = vec![[0.0; VP_BINS]; VP_N];
            cache.key = None;
        }
        if cache.key == key {
            bar_row(
                self.a[newest],
                self.b[newest],
                self.v[newest],
                lo,
                w,
                &e,
                &mut cache.rows[newest],
            );
        } else {
            for p in 0..VP_N {
                bar_row(self.a[p], self.b[p], self.v[p], lo, w, &e, &mut cache.rows[p]);
            }
            cache.key = key;
        }
        // Bin totals, bars oldest → newest.
        let mut vol = [0.0f64; VP_BINS];
        let (newer, older) = cache.rows.split_at(self.head);
        for row in older.iter().chain(newer) {
            add_row(&mut vol, row);
        }
        let (kp, lo_k, hi_k) = value_area(&vol, total);
        let poc = lo + (kp as f64 + 0.5) * w;
        Some((poc, e[hi_k + 1], e[lo_k]))
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [poc_o, vah_o, val_o] =
            out.cols_mut([f::VOLUME_PROFILE_POC, f::VOLUME_PROFILE_VAH, f::VOLUME_PROFILE_VAL]);
        for i in 0..inp.len() {
            let (h, l) = (inp.high[i], inp.low[i]);
            let p = self.push(l.min(h), l.max(h), inp.volume[i]);
            if self.len < VP_N {
                continue;
            }
            if let Some((poc, vah, val)) = self.profile(p) {
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
fn value_area(vol: &[f64; VP_BINS], total: f64) -> (usize, usize, usize) {
    let m = vol.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
    let thr = m * (1.0 - 1e-9);
    let kp = vol.iter().position(|&x| x >= thr).unwrap_or(0);
    let (mut lo_k, mut hi_k) = (kp, kp);
    let mut s = vol[kp];
    let target = 0.70 * total * (1.0 - 1e-9);
    while s < target {
        let up = (hi_k + 1 < VP_BINS).then(|| vol[hi_k + 1]);
        let dn = (lo_k > 0).then(|| vol[lo_k - 1]);
        match (up, dn) {
            (Some(u), None) => {
                s += u;
                hi_k += 1;
            }
            (None, Some(d)) => {
                s += d;
                lo_k -= 1;
            }
            (Some(u), Some(d)) => {
                if (u - d).abs() <= 1e-9 * u.max(d) {
                    s += u;
                    s += d;
                    hi_k += 1;
                    lo_k -= 1;
                } else if u > d {
                    s += u;
                    hi_k += 1;
                } else {
                    s += d;
                    lo_k -= 1;
                }
            }
            (None, None) => break,
        }
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
    vol: Ring,
    rank: RankWindow,
}

impl Default for VolumeStats {
    fn default() -> Self {
        Self { vol: Ring::new(20), rank: RankWindow::default() }
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
            let sum = ring_sum(&self.vol);
            let sma = sum / 20.0;
            if sma > 0.0 {
                ratio_o[i] = finite_or_null(v / sma);
            }
            let (x, y) = self.vol.as_slices();
            let mut ss = 0.0;
            for &u in x.iter().chain(y) {
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
    rets: Ring,
    rank: RankWindow,
}

impl Default for Volatility {
    fn default() -> Self {
        Self { n: 0, prev_c: NAN, rets: Ring::new(20), rank: RankWindow::default() }
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
            let (x, y) = self.rets.as_slices();
            let mut s = 0.0;
            for &u in x.iter().chain(y) {
                s += u;
            }
            let m = s / 20.0;
            let mut ss = 0.0;
            for &u in x.iter().chain(y) {
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
    last: Ring,
    /// The same values sorted ascending (first `last.len()` entries used).
    sorted: [f64; 20],
}

impl Default for Audit {
    fn default() -> Self {
        Self { n: 0, prev_c: NAN, last: Ring::new(20), sorted: [0.0; 20] }
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
        let len = self.last.len(); // entries after this update
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
