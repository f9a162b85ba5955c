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

/// `Σ x` and `Σ (x − m)²` over a 20-value window, each in 4 interleaved partial sums
/// (`x_0 + x_4 + ...`, `x_1 + x_5 + ...`, ...; then `(p_0 + p_1) + (p_2 + p_3)`), so that the
/// additions are not one 20-long dependency chain. The order differs from the literal
/// oldest → newest sum only by rounding (F2.3: running or reordered sums are within F5.2); a
/// window of non-negative values still sums to exactly 0 if and only if all are 0.
#[inline]
fn sum4(x: &[f64; 20]) -> f64 {
    let mut p = [0.0f64; 4];
    for c in x.chunks_exact(4) {
        for j in 0..4 {
            p[j] += c[j];
        }
    }
    (p[0] + p[1]) + (p[2] + p[3])
}

/// `Σ (x − m)²` over a 20-value window, in the interleaved order of [`sum4`].
#[inline]
fn sq_dev4(x: &[f64; 20], m: f64) -> f64 {
    let mut p = [0.0f64; 4];
    for c in x.chunks_exact(4) {
        for j in 0..4 {
            let d = c[j] - m;
            p[j] += d * d;
        }
    }
    (p[0] + p[1]) + (p[2] + p[3])
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

/// Chunks of at least this many bars rank with a [`RankSorted`] copy of the window (built once
/// per chunk, once the window is full); shorter chunks count over the window directly.
const RANK_SORT_MIN: usize = 64;

/// The last 252 values of a series for the F3.15 percentile rank, in ring order (nulls as
/// `+∞`). This ring is the whole state. A rank is an exact integer count, so it does not depend
/// on how it is computed: a short chunk (the incremental case) counts over the 2 KB ring, one
/// contiguous branch-free pass; a long chunk sorts a copy of the ring once, keeps it sorted and
/// decides the regime from four order statistics, counting only in the rare ambiguous case.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RankWindow {
    /// The window (`+∞` = null); `head` is the oldest once full.
    ring: Vec<f64>,
    head: usize,
    /// Number of values held (at most 252).
    len: usize,
    /// Number of nulls in the window.
    nulls: u32,
}

impl Default for RankWindow {
    fn default() -> Self {
        Self { ring: vec![0.0; RANK_N], head: 0, len: 0, nulls: 0 }
    }
}

/// Regime code of F3.15 for `q = 2·below + equal`: 0 = low, 1 = normal, 2 = high.
#[inline]
fn regime_code(q: u64) -> f64 {
    if q < 126 {
        0.0
    } else if q > 378 {
        2.0
    } else {
        1.0
    }
}

/// Sorted indices (0-based) of the order statistics that decide the F3.15 regime.
const K_LO: usize = 62;
const K_HI: usize = 188;

/// A full window's values sorted ascending (by `<`; `-0.0` and `0.0`, which every F3.15
/// comparison treats alike, in either order), kept sorted bar by bar: a bar moves the values
/// between the evicted value's place and the new value's place by one (two binary searches and
/// one short move). The regime then reads the four order statistics it needs (see
/// [`RankSorted::regime`]).
///
/// Scratch for one chunk (built from the [`RankWindow`] ring), not state: the regime it gives
/// is the exact F3.15 label, so the outputs do not depend on when it was built.
struct RankSorted {
    s: Vec<f64>,
}

/// `(#{y ∈ s : y < a}, #{y ∈ s : y < b})` for an ascending, non-empty `s`: two branch-free
/// binary searches run in one loop, so that their loads overlap (each step of one search waits
/// on its previous load; the two searches do not wait on each other).
#[inline]
fn count_below2(s: &[f64], a: f64, b: f64) -> (usize, usize) {
    let (mut ia, mut ib) = (0usize, 0usize);
    let mut size = s.len();
    while size > 1 {
        let half = size / 2;
        ia = std::hint::select_unpredictable(s[ia + half] < a, ia + half, ia);
        ib = std::hint::select_unpredictable(s[ib + half] < b, ib + half, ib);
        size -= half;
    }
    (ia + usize::from(s[ia] < a), ib + usize::from(s[ib] < b))
}

impl RankSorted {
    /// The sorted copy of a full ring (any values, `+∞` for nulls; no NaN).
    fn build(ring: &[f64]) -> Self {
        let mut s = ring.to_vec();
        s.sort_unstable_by(f64::total_cmp);
        Self { s }
    }

    /// Replaces one copy of `old` (a value of the window) by `key`.
    #[inline]
    fn replace(&mut self, old: f64, key: f64) {
        let s = &mut self.s;
        // `i`: the first value not below `old` is a copy of it (`old` is in the window);
        // `j`: where `key` goes among the values with `old` still in.
        let (i, j) = count_below2(s, old, key);
        if j <= i {
            s.copy_within(j..i, j + 1);
            s[j] = key;
        } else {
            s.copy_within(i + 1..j, i);
            s[j - 1] = key;
        }
    }

    /// The F3.15 regime code of `x` (a value of the full, null-free window), or `None` when
    /// only the exact count can tell.
    ///
    /// Let `s` be the window ascending, `tol = 1e-9·|x|`, `thr = x − tol` (both rounded, as in
    /// F3.15), `B = {y : y < thr}`, `E = {y : |y − x| <= tol}` (computed), `U = B ∪ E`, so
    /// `q = 2·|B| + |E|`, and `x ∈ E`.
    ///
    /// *Lemma: `B` and `E` are disjoint.* `thr <= x` (rounding is monotone and `x` is a float),
    /// so `B` holds only `y < x`. For `x > 0` and `y < x`: if `y < x/2`, `x − y > x/2 > tol`,
    /// so `fl(x − y) >= fl(x/2) > tol` (tol ≈ 1e-9·x); otherwise `x − y` is exact (Sterbenz),
    /// and `E(y)` is `y >= x − tol` exactly. `thr` is `x − tol` rounded to the nearest float:
    /// if it rounds down (or is exact), `y < thr` implies `y < x − tol`; if it rounds up, no
    /// float lies in `[x − tol, thr)`, so `y < thr` again implies `y < x − tol`. Either way
    /// `B(y)` excludes `E(y)`. For `x < 0` the same holds with `2x` for `x/2`; for `x = 0`,
    /// `tol = 0`, `B = {y < 0}` and `E = {y = ±0}`. Hence `q = 2·|U| − |E| <= 2·|U| − 1` and
    /// `q >= 2·|B| + 1`.
    ///
    /// *Monotonicity.* `B` is a prefix of `s` (`y < thr` is monotone). For `y >= z > x`,
    /// `fl(y − x) >= fl(z − x)` (rounding is monotone), so if `z` fails `E` so does every
    /// larger value; and no `y > x` is in `B`.
    ///
    /// * `s[62] < thr`: `s[0..=62]` are in `B`, `|B| >= 63`, `q >= 127`: not low. Then
    ///   * `s[188] < thr`: `|B| >= 189`, `q >= 379`: high;
    ///   * `s[189] > x` and not `E(s[189])`: no `y >= s[189]` is in `U`, `|U| <= 189`,
    ///     `q <= 377`: normal;
    ///   * else undecided.
    /// * else `s[63] > x` and not `E(s[63])`: `|U| <= 63`, `q <= 125`: low;
    /// * else undecided (`x` is within the tolerance of `[s[62], s[63]]`: rare).
    #[inline]
    fn regime(&self, x: f64) -> Option<f64> {
        let s = &self.s;
        let tol = 1e-9 * x.abs();
        let thr = x - tol;
        let outside = |y: f64| y > x && (y - x).abs() > tol;
        if s[K_LO] < thr {
            if s[K_HI] < thr {
                Some(2.0)
            } else if outside(s[K_HI + 1]) {
                Some(1.0)
            } else {
                None
            }
        } else if outside(s[K_LO + 1]) {
            Some(0.0)
        } else {
            None
        }
    }
}

impl RankWindow {
    /// Appends `key` (`+∞` = null); returns the evicted value when the window was full.
    #[inline]
    fn push(&mut self, key: f64) -> Option<f64> {
        if key == f64::INFINITY {
            self.nulls += 1;
        }
        if self.len == RANK_N {
            let old = std::mem::replace(&mut self.ring[self.head], key);
            self.head = if self.head + 1 == RANK_N { 0 } else { self.head + 1 };
            if old == f64::INFINITY {
                self.nulls -= 1;
            }
            Some(old)
        } else {
            self.ring[self.len] = key;
            self.len += 1;
            None
        }
    }

    /// Appends `x` (NaN = null) and returns the regime code of `x` within the window
    /// (0 = low, 1 = normal, 2 = high), NaN unless the window holds 252 non-null values.
    /// `sorted`, if given, is the long-chunk sorted copy of the window (built here once the
    /// window is full) and is updated.
    #[inline]
    fn push_rank(&mut self, x: f64, sorted: Option<&mut Option<RankSorted>>) -> f64 {
        let key = if x.is_nan() { f64::INFINITY } else { x };
        let old = self.push(key);
        let ready = self.len == RANK_N && self.nulls == 0;
        let ring: &[f64; RANK_N] = self.ring[..].try_into().expect("window of 252 values");
        match sorted {
            Some(b) if self.len == RANK_N => {
                match (b.as_mut(), old) {
                    (Some(rs), Some(old)) => rs.replace(old, key),
                    _ => *b = Some(RankSorted::build(ring)),
                }
                match b.as_ref() {
                    Some(rs) if ready => {
                        rs.regime(x).unwrap_or_else(|| regime_code(rank_q(ring, x)))
                    }
                    _ => NAN,
                }
            }
            _ if ready => regime_code(rank_q(ring, x)),
            _ => NAN,
        }
    }
}

/// `q = 2·below + equal` of F3.15 for `x` over the window `w`, counted literally in one
/// branch-free pass (4 lanes of integer counters, so it vectorizes).
#[inline]
fn rank_q(w: &[f64; RANK_N], x: f64) -> u64 {
    let tol = 1e-9 * x.abs();
    let thr = x - tol;
    let mut below = [0u64; 4];
    let mut equal = [0u64; 4];
    for c in w.chunks_exact(4) {
        for j in 0..4 {
            below[j] += u64::from(c[j] < thr);
            equal[j] += u64::from((c[j] - x).abs() <= tol);
        }
    }
    2 * below.iter().sum::<u64>() + equal.iter().sum::<u64>()
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
            // Selects, not branches: which of +DM / −DM wins is unpredictable.
            let minus = (dn > 0.0) & (up < dn);
            let plus = !minus & (up > 0.0) & (up > dn);
            let pdm = std::hint::select_unpredictable(plus, up, 0.0);
            let mdm = std::hint::select_unpredictable(minus, dn, 0.0);
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
            } else {
                // Selects, not branches (the direction of a close is unpredictable); the
                // result is exactly the branch's.
                let (up, down) = (self.obv + v, self.obv - v);
                let other = std::hint::select_unpredictable(c < self.prev_c, down, self.obv);
                self.obv = std::hint::select_unpredictable(c > self.prev_c, up, other);
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
                // A select, not a branch: the sign of `dtp` is unpredictable.
                let rising = dtp >= 0.0;
                let p = std::hint::select_unpredictable(rising, flow, 0.0);
                let q = std::hint::select_unpredictable(rising, 0.0, flow);
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cmf {
    mfv: Win<20>,
    vol: Win<20>,
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
/// `1.5·2^52`: for `|x| < 2^51`, `(x + VP_ROUND) − VP_ROUND` is `x` rounded to the nearest
/// integer, and the low bits of `(x + VP_ROUND).to_bits()` hold that integer.
const VP_ROUND: f64 = 6_755_399_441_055_744.0;

/// Rolling 20-bar volume profile with 24 bins and a 70% value area (F3.12): POC, VAH, VAL.
///
/// The state is the window (structure of arrays, ring slot `j` = bar `t` with `t mod 20 = j`)
/// plus each slot's placement on the current grid, which is a pure function of the bar and
/// `(lo, hi)`: it is recomputed for all 20 slots when `lo` or `hi` changes and only for the new
/// bar otherwise, and reusing it gives the same bits as recomputing it. The bins are then
/// summed from scratch every bar (no running sums), so the same operations happen in the same
/// order whatever the chunking. Placement and binning are free of data-dependent branches:
///
/// * Each bar's first and last bin (`k_a` = last `k` with `e_k <= a`, `k_b` = last `k` with
///   `e_k < b`, `k <= 23`) are found by rounding `(x − lo)/w` to the nearest integer `r` and
///   comparing `x` exactly with `e_r = lo + r·w` (the only edge that can be within rounding of
///   `x`), so a bar touching an edge is placed as the literal `ov > 0` rule places it.
/// * The bar adds its partial end bins to `P` (`(e_{k_a+1} − a)·d` and `(b − e_{k_b})·d`, or
///   all of `v` if `k_a = k_b` or the bar is flat: F3.12 step 3), and its density `d = v/(b − a)`
///   over the fully covered bins `k_a+1 .. k_b−1` to a difference array; bin `k` then gets
///   `P_k + (e_{k+1} − e_k)·Σd` (the literal `v·ov/(b − a)` with `ov` = the bin width).
///   A count of the bars with `v ≠ 0` fully covering each bin makes a bin without one take no
///   density term at all, so a bin that no bar overlaps (or only zero-volume bars do) is
///   exactly `0.0`, as in the literal sum (the value-area tie rule relies on it).
///
/// The sums differ from the literal oldest → newest summation only by rounding, which F5.2 and
/// F6.14 allow (every decision has a 1e-9 tolerance). A grid whose bins are within rounding of
/// the prices (`w <= 1e-13·(|lo| + |hi|)`) uses the literal per-bin sum instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeProfile {
    /// Bar ranges `[a, b] = [min(l, h), max(l, h)]`, volumes, and densities `v/(b − a)` (0
    /// for a flat bar), by ring slot.
    a: [f64; VP_N],
    b: [f64; VP_N],
    v: [f64; VP_N],
    d: [f64; VP_N],
    /// Next slot written (= the oldest bar once full).
    pos: usize,
    /// Bars held (at most 20).
    len: usize,
    /// Each slot's placement on the grid of `key` (see [`VpPlace`]); a pure function of the
    /// bar and `(lo, hi)`, so reusing it gives the same bits as recomputing it.
    place: VpPlace,
    /// `(lo, hi)` bit patterns `place` holds; `None` = not computed.
    key: Option<(u64, u64)>,
}

/// Per-slot placement of the window's bars on one grid (F3.12 steps 2–3): first and last bin
/// `k1 <= k2` (as indices), the volume added to each (`p1`, `p2`), and the
/// density `dm` (and `cm = 1` if `v ≠ 0`) over the fully covered bins `k1+1 .. k2−1`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct VpPlace {
    k1: [u32; VP_N],
    k2: [u32; VP_N],
    p1: [f64; VP_N],
    p2: [f64; VP_N],
    dm: [f64; VP_N],
    cm: [f64; VP_N],
}

impl Default for VolumeProfile {
    fn default() -> Self {
        Self::new()
    }
}

/// `x` rounded to the nearest integer (`0 <= x < 2^51`).
#[inline(always)]
fn vp_round(x: f64) -> f64 {
    (x + VP_ROUND) - VP_ROUND
}

/// `1.0` if `c`, else `0.0`.
#[inline(always)]
fn vp_bit(c: bool) -> f64 {
    if c { 1.0 } else { 0.0 }
}

/// `a < b ? a : b` (no NaN handling needed: the prices are finite, F2.4).
#[inline(always)]
fn vp_min(a: f64, b: f64) -> f64 {
    if a < b { a } else { b }
}

/// `a > b ? a : b`.
#[inline(always)]
fn vp_max(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

impl VolumeProfile {
    /// Columns written.
    pub const FIELDS: &'static [usize] =
        &[f::VOLUME_PROFILE_POC, f::VOLUME_PROFILE_VAH, f::VOLUME_PROFILE_VAL];

    /// An empty window.
    pub fn new() -> Self {
        Self {
            a: [0.0; VP_N],
            b: [0.0; VP_N],
            v: [0.0; VP_N],
            d: [0.0; VP_N],
            pos: 0,
            len: 0,
            place: VpPlace::default(),
            key: None,
        }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [poc_o, vah_o, val_o] =
            out.cols_mut([f::VOLUME_PROFILE_POC, f::VOLUME_PROFILE_VAH, f::VOLUME_PROFILE_VAL]);
        for i in 0..inp.len() {
            let (h, l, v) = (inp.high[i], inp.low[i], inp.volume[i]);
            let (a, b) = (l.min(h), l.max(h));
            let p = self.pos;
            self.a[p] = a;
            self.b[p] = b;
            self.v[p] = v;
            self.d[p] = if b > a { v / (b - a) } else { 0.0 };
            self.pos = if p + 1 == VP_N { 0 } else { p + 1 };
            if self.len < VP_N {
                self.len += 1;
                if self.len < VP_N {
                    continue;
                }
            }
            if let Some((poc, vah, val)) = self.profile() {
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

    /// (poc, vah, val) of the full window (F3.12), or None (null).
    #[inline]
    fn profile(&mut self) -> Option<(f64, f64, f64)> {
        // lo, hi, T and min v, in 4 interleaved lanes (slot order).
        let (mut lo4, mut hi4) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
        let (mut t4, mut vmin4) = ([0.0f64; 4], [f64::INFINITY; 4]);
        let mut flat4 = [0.0f64; 4];
        for c in 0..VP_N / 4 {
            for l in 0..4 {
                let j = 4 * c + l;
                lo4[l] = vp_min(self.a[j], lo4[l]);
                hi4[l] = vp_max(self.b[j], hi4[l]);
                t4[l] += self.v[j];
                vmin4[l] = vp_min(self.v[j], vmin4[l]);
                flat4[l] = vp_max(vp_bit(self.b[j] <= self.a[j]), flat4[l]);
            }
        }
        let lo = vp_min(vp_min(lo4[0], lo4[1]), vp_min(lo4[2], lo4[3]));
        let hi = vp_max(vp_max(hi4[0], hi4[1]), vp_max(hi4[2], hi4[3]));
        let vmin = vp_min(vp_min(vmin4[0], vmin4[1]), vp_min(vmin4[2], vmin4[3]));
        // Non-negative volumes sum to exactly 0 in any order iff all are 0; with a negative
        // volume the sign of T is taken from the literal oldest → newest sum.
        let total = if vmin >= 0.0 {
            (t4[0] + t4[1]) + (t4[2] + t4[3])
        } else {
            let (newer, older) = self.v.split_at(self.pos);
            older.iter().chain(newer).fold(0.0, |s, &x| s + x)
        };
        if total <= 0.0 || total.is_nan() {
            self.key = None; // this bar is not placed
            return None;
        }
        if hi == lo {
            self.key = None;
            return Some((lo, lo, lo));
        }
        let w = (hi - lo) / VP_BINS as f64;
        // Edges e_0..e_24 (e_24 = hi), padded to 32.
        let mut e = [0.0f64; 32];
        for k in 0..VP_BINS {
            e[k] = lo + k as f64 * w;
        }
        e[VP_BINS] = hi;
        let vol = if w > 1e-13 * (lo.abs() + hi.abs()) {
            let key = Some((lo.to_bits(), hi.to_bits()));
            let inv_w = 1.0 / w;
            if self.key == key {
                // Same grid: only the bar just added (previous slot) is placed anew.
                let j = if self.pos == 0 { VP_N - 1 } else { self.pos - 1 };
                if self.b[j] > self.a[j] {
                    self.place_bar::<false>(j, lo, w, inv_w);
                } else {
                    self.place_bar::<true>(j, lo, w, inv_w);
                }
            } else if (flat4[0] + flat4[1]) + (flat4[2] + flat4[3]) > 0.0 {
                for j in 0..VP_N {
                    self.place_bar::<true>(j, lo, w, inv_w);
                }
            } else {
                for j in 0..VP_N {
                    self.place_bar::<false>(j, lo, w, inv_w);
                }
            }
            self.key = key;
            self.bins(&e)
        } else {
            self.key = None;
            self.bins_literal(lo, w, &e)
        };
        let (kp, lo_k, hi_k) = value_area(&vol, total);
        Some((lo + (kp as f64 + 0.5) * w, e[hi_k + 1], e[lo_k]))
    }

    /// Places slot `j` on the grid `(lo, w)` (see [`VpPlace`]). Without `FLAT` the slot must
    /// hold a bar with `b > a`; both variants give the same bits for such a bar.
    #[inline(always)]
    fn place_bar<const FLAT: bool>(&mut self, j: usize, lo: f64, w: f64, inv_w: f64) {
        let (a, b, v, d) = (self.a[j], self.b[j], self.v[j], self.d[j]);
        // k_a: last k <= 23 with e_k <= a (only e_r can be within rounding of a).
        let ra = vp_round((a - lo) * inv_w);
        let ka = vp_min(ra - vp_bit(a < lo + ra * w), 23.0);
        // k_b: last k <= 23 with e_k < b.
        let rb = vp_round((b - lo) * inv_w);
        let kb = vp_min(rb - vp_bit(b <= lo + rb * w), 23.0);
        // Selects as exact 0/1 products (no branches).
        let (k1, k2) = if FLAT {
            // Flat bar: min(23, floor((a − lo)/w)).
            let q = (a - lo) / w;
            let rq = vp_round(q);
            let kq = vp_min(rq - vp_bit(rq > q), 23.0);
            let flat = vp_bit(b <= a); // finite prices (F2.4): = !(b > a)
            (ka + flat * (kq - ka), kb + flat * (kq - kb))
        } else {
            (ka, kb)
        };
        let same = vp_bit(k1 == k2);
        let diff = 1.0 - same;
        let pl = &mut self.place;
        pl.k1[j] = ((k1 + VP_ROUND).to_bits() & 31) as u32;
        pl.k2[j] = ((k2 + VP_ROUND).to_bits() & 31) as u32;
        pl.p1[j] = same * v + diff * ((lo + (k1 + 1.0) * w - a) * d);
        pl.p2[j] = diff * ((b - (lo + k2 * w)) * d);
        let inner = vp_bit(k2 > k1 + 1.0);
        pl.dm[j] = inner * d;
        pl.cm[j] = inner * vp_bit(v != 0.0);
    }

    /// The bin volumes `V_0..V_23` of F3.12 step 3 (see [`VolumeProfile`]) from the placements,
    /// padded with `−∞` at index 0 and 25: `V_k` is at `k + 1`.
    #[inline]
    fn bins(&self, e: &[f64; 32]) -> [f64; 32] {
        let pl = &self.place;
        let (p1, p2, dm, cm) = (&pl.p1, &pl.p2, &pl.dm, &pl.cm);
        // Scatter in slot order: partials into `part`, (density, count) differences as pairs.
        let mut part = [0.0f64; 32];
        let mut dc = [[0.0f64; 2]; 32];
        for j in 0..VP_N {
            let (k1, k2) = (pl.k1[j] as usize & 31, pl.k2[j] as usize & 31);
            part[k1] += p1[j];
            part[k2] += p2[j];
            let s1 = &mut dc[(k1 + 1) & 31];
            *s1 = [s1[0] + dm[j], s1[1] + cm[j]];
            let s2 = &mut dc[k2];
            *s2 = [s2[0] - dm[j], s2[1] - cm[j]];
        }
        let mut vol = [f64::NEG_INFINITY; 32];
        let (mut ds, mut cs) = (0.0, 0.0);
        for k in 0..VP_BINS {
            ds += dc[k][0];
            cs += dc[k][1];
            let full = if cs > 0.0 { (e[k + 1] - e[k]) * ds } else { 0.0 };
            vol[k + 1] = part[k] + full;
        }
        vol
    }

    /// The bin volumes of F3.12 step 3 summed literally (every bin, bars oldest → newest), in
    /// the padded layout of [`Self::bins`]; for grids too fine for the fast path.
    #[cold]
    fn bins_literal(&self, lo: f64, w: f64, e: &[f64; 32]) -> [f64; 32] {
        let mut vol = [0.0f64; 32];
        for n in 0..VP_N {
            let j = (self.pos + n) % VP_N;
            let (a, b, v) = (self.a[j], self.b[j], self.v[j]);
            if b > a {
                for k in 0..VP_BINS {
                    let ov = b.min(e[k + 1]) - a.max(e[k]);
                    if ov > 0.0 {
                        vol[k + 1] += v * ov / (b - a);
                    }
                }
            } else {
                // `as usize` truncates, which is floor for the ratio ≥ 0 (NaN → 0).
                vol[(((a - lo) / w) as usize).min(VP_BINS - 1) + 1] += v;
            }
        }
        vol[0] = f64::NEG_INFINITY;
        for x in &mut vol[VP_BINS + 1..] {
            *x = f64::NEG_INFINITY;
        }
        vol
    }
}

/// Steps 4–5 of F3.12 on the padded bins of [`VolumeProfile::bins`] (`V_k` at `k + 1`, `−∞`
/// outside): the POC bin and the value-area bin range `[A, B]` (unpadded indices).
///
/// Step 5's choice "`up` if tied or larger, `dn` if tied or not taken" is evaluated as
/// `take_up = up >= dn·(1 − 1e-9)`, `take_dn = !take_up || dn >= up·(1 − 1e-9)`: for bins
/// `>= 0` this is `|up − dn| <= 1e-9·max(up, dn)` rearranged, so it differs from the literal
/// test only within the rounding of that product (F5.2); with negative bins (negative volumes,
/// F2.4/F3.16 invalid bars) "larger" is also read with the 1e-9 tolerance. The `−∞` pads make a
/// missing side lose every comparison. The walk is a plain loop (measured faster than the
/// branch-free select form); the POC is the lowest set bit of a `V_k >= M·(1 − 1e-9)` mask.
#[inline]
fn value_area(vol: &[f64; 32], total: f64) -> (usize, usize, usize) {
    let mut m4 = [f64::NEG_INFINITY; 4];
    for c in 0..VP_BINS / 4 {
        for l in 0..4 {
            m4[l] = vp_max(vol[1 + 4 * c + l], m4[l]);
        }
    }
    let m = vp_max(vp_max(m4[0], m4[1]), vp_max(m4[2], m4[3]));
    let thr = m * (1.0 - 1e-9);
    // Lowest k with V_k >= thr (padded index).
    let mut mask = 1u32 << VP_BINS;
    for k in 1..=VP_BINS {
        mask |= u32::from(vol[k] >= thr) << k;
    }
    let kp = mask.trailing_zeros() as usize;
    let (mut a, mut b) = (kp, kp);
    let mut s = vol[kp];
    let target = 0.70 * total * (1.0 - 1e-9);
    // A plain loop: the choice is well predicted on real profiles (one side usually dominates).
    // `V_k·(1 − 1e-9)` of every bin at once (the products the comparisons below use), so
    // that the walk's dependency chain is a load and a compare per step.
    let mut tv = [f64::NEG_INFINITY; 32];
    for k in 0..32 {
        tv[k] = vol[k] * (1.0 - 1e-9);
    }
    while s < target && b - a < VP_BINS - 1 {
        let (up, dn) = (vol[b + 1], vol[a - 1]);
        if up >= tv[a - 1] {
            s += up;
            b += 1;
            if dn >= tv[b] {
                s += dn;
                a -= 1;
            }
        } else {
            s += dn;
            a -= 1;
        }
    }
    (kp - 1, a - 1, b - 1)
}

// ------------------------------------------------------------------------------------------
// F3.13 volume_ratio_20d, volume_spike and F3.15 regime_volume
// ------------------------------------------------------------------------------------------

/// 20-bar volume statistics: `volume_ratio_20d`, `volume_spike` (F3.13) and `regime_volume`
/// (F3.15, percentile rank of `SUM(v,20)` over 252 bars).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VolumeStats {
    vol: Win<20>,
    rank: RankWindow,
}

impl VolumeStats {
    /// Columns written.
    pub const FIELDS: &'static [usize] = &[f::VOLUME_RATIO_20D, f::VOLUME_SPIKE, f::REGIME_VOLUME];

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        let [ratio_o, spike_o, reg_o] =
            out.cols_mut([f::VOLUME_RATIO_20D, f::VOLUME_SPIKE, f::REGIME_VOLUME]);
        let mut sorted = (inp.len() >= RANK_SORT_MIN).then_some(None);
        for i in 0..inp.len() {
            let v = inp.volume[i];
            self.vol.push(v);
            if !self.vol.is_full() {
                continue;
            }
            let win = self.vol.full();
            let sum = sum4(win);
            let sma = sum / 20.0;
            if sma > 0.0 {
                ratio_o[i] = finite_or_null(v / sma);
            }
            let ss = sq_dev4(win, sma);
            let sd = (ss / 20.0).sqrt();
            let sd_zero = sd <= 1e-12 * sma.abs(); // SD_ZERO (F2.6)
            if !sd_zero {
                spike_o[i] = finite_or_null((v - sma) / sd);
            }
            let regime = self.rank.push_rank(finite_or_null(sum), sorted.as_mut());
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
        let mut sorted = (inp.len() >= RANK_SORT_MIN).then_some(None);
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
            let m = sum4(win) / 20.0;
            let ss = sq_dev4(win, m);
            let vol = finite_or_null((ss / 19.0).sqrt());
            vol_o[i] = vol;
            reg_o[i] = self.rank.push_rank(vol, sorted.as_mut());
        }
    }
}

// ------------------------------------------------------------------------------------------
// F3.16 audit checks
// ------------------------------------------------------------------------------------------

/// `quality_score` (F3.16) by the mask of failed checks (bit 0 `ohlc_invalid`, bit 1
/// `gap_detected`, bit 2 `volume_anomaly`): `max(0, 100 − 50·b0 − 20·b1 − 10·b2) / 100`, the
/// same integer points and the same IEEE division, evaluated at compile time.
const AUDIT_QUALITY: [f64; 8] = {
    let mut t = [0.0; 8];
    let mut m = 0;
    while m < 8 {
        let b = m as i32;
        let points = 100 - 50 * (b & 1) - 20 * ((b >> 1) & 1) - 10 * ((b >> 2) & 1);
        let points = if points < 0 { 0 } else { points };
        t[m] = points as f64 / 100.0;
        m += 1;
    }
    t
};

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

    /// Replaces `old` (if any) by `new` in the sorted array. Once the window is full this is
    /// branch-free: `io = #{y < old}` is the position of (a copy of) `old`, `p = #{y < new}`
    /// minus one if `old < new` is the position of `new` once `old` is removed, and the new
    /// array is read off `s` with those two shifts (same multiset, ascending).
    #[inline]
    fn update_sorted(&mut self, old: Option<f64>, new: f64) {
        if let Some(old) = old {
            let s = &mut self.sorted;
            // Counted in 4 lanes (vectorizes).
            let (mut lo, mut ln) = ([0u64; 4], [0u64; 4]);
            for ch in s.chunks_exact(4) {
                for j in 0..4 {
                    lo[j] += u64::from(ch[j] < old);
                    ln[j] += u64::from(ch[j] < new);
                }
            }
            let io = (lo[0] + lo[1] + lo[2] + lo[3]) as usize;
            let c = (ln[0] + ln[1] + ln[2] + ln[3]) as usize;
            let p = c - usize::from(old < new);
            if p <= io {
                s.copy_within(p..io, p + 1);
            } else {
                s.copy_within(io + 1..p + 1, io);
            }
            s[p] = new;
            return;
        }
        self.fill_sorted(new);
    }

    /// Inserts `new` while the window fills (one linear pass).
    fn fill_sorted(&mut self, new: f64) {
        let old: Option<f64> = None;
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
            let mask =
                usize::from(ohlc_invalid) | (usize::from(gap) << 1) | (usize::from(anomaly) << 2);
            let quality = AUDIT_QUALITY[mask];
            gap_o[i] = code(gap);
            anom_o[i] = code(anomaly);
            q_o[i] = quality;
            valid_o[i] = code(quality >= 0.85);
            notes_o[i] = mask as f64;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64 generator for the tests.
    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// The literal F3.15 regime of the last value of `hist` (NaN if not ready).
    fn literal_regime(hist: &[f64]) -> f64 {
        let n = hist.len();
        let w = &hist[n.saturating_sub(RANK_N)..];
        let v = hist[n - 1];
        if w.len() < RANK_N || w.iter().any(|y| y.is_nan()) {
            return NAN;
        }
        let tol = 1e-9 * v.abs();
        let below = w.iter().filter(|&&y| y < v - tol).count() as u64;
        let equal = w.iter().filter(|&&y| (y - v).abs() <= tol).count() as u64;
        regime_code(2 * below + equal)
    }

    /// The sorted window (long chunks) and the direct count (short chunks) both give the
    /// literal F3.15 label, bar by bar, on series with many exact ties, near-ties just inside and
    /// just outside the 1e-9 tolerance (also at the order statistics that decide the label),
    /// zeros of both signs, negative values, nulls, subnormals and trends; the sorted copy stays
    /// the window sorted.
    #[test]
    fn sorted_rank_equals_literal_count() {
        for kind in 0..8u64 {
            let mut rnd = rng(0x2545_f491_4f6c_dd1d ^ (kind * 0x9e37_79b9));
            let mut rc = RankWindow::default();
            let mut rs = RankWindow::default();
            let mut sorted: Option<RankSorted> = None;
            let mut hist: Vec<f64> = Vec::new();
            let mut level = 0.0f64;
            for t in 0..12_000u64 {
                let r = rnd();
                let u = (r >> 11) as f64 / (1u64 << 53) as f64;
                let v = match kind {
                    // Few distinct values around 1 with near-ties at ±1e-9 relative.
                    0 => match r % 10 {
                        0 => 0.0,
                        1 => 1.0,
                        2 => 1.0 + 1e-10,
                        3 => 1.0 + 2e-9,
                        4 if t % 700 < 3 => NAN,
                        5 => 1.0 - 1e-9,
                        6 => 1.0 + 1e-9,
                        _ => (r >> 20) as f64 / 1e6,
                    },
                    // Negative and positive, with exact repeats of recent values.
                    1 => {
                        if r.is_multiple_of(4) && hist.len() > 10 {
                            hist[hist.len() - 1 - (r as usize >> 8) % 10]
                        } else {
                            (u - 0.5) * 1e3
                        }
                    }
                    // Trends up and down (the order statistics keep moving).
                    2 => {
                        level += if (t / 500) % 2 == 0 { 1.0 } else { -1.3 };
                        level + u
                    }
                    // Tiny integers: huge tie runs.
                    3 => (r % 4) as f64,
                    // A random walk, values relative-close (ties within tolerance).
                    4 => {
                        level += (u - 0.5) * 1e-8;
                        1.0 + level
                    }
                    // Half the values in narrow clusters at the 25th and 75th percentiles
                    // (long runs of near-equal values at the order statistics).
                    6 | 7 => match r % 4 {
                        0 => 0.25 + u * 1e-6 * (kind - 5) as f64,
                        1 => 0.75 + u * 1e-6 * (kind - 5) as f64,
                        _ => u,
                    },
                    // Zeros, subnormals and negatives.
                    _ => match r % 5 {
                        0 => 0.0,
                        1 => -0.0,
                        2 => f64::from_bits(r % 1000) * if r & 1 == 0 { 1.0 } else { -1.0 },
                        3 => -u,
                        _ => u,
                    },
                };
                hist.push(v);
                // Rebuild the scratch index at irregular "chunk" starts.
                if t % 97 == 13 {
                    sorted = None;
                }
                let got_c = rc.push_rank(v, None);
                let got_s = rs.push_rank(v, Some(&mut sorted));
                let want = literal_regime(&hist);
                assert_eq!(got_c.to_bits(), want.to_bits(), "count, kind {kind}, bar {t}");
                assert_eq!(got_s.to_bits(), want.to_bits(), "sorted, kind {kind}, bar {t}");
                if let Some(s) = &sorted {
                    // Equal as F3.15 compares (`-0.0 == 0.0`; nulls are `+∞` in both).
                    let mut want: Vec<f64> = rs.ring.clone();
                    want.sort_unstable_by(f64::total_cmp);
                    assert!(s.s.iter().zip(&want).all(|(a, b)| a == b), "kind {kind}, bar {t}");
                }
            }
            assert_eq!(format!("{rc:?}"), format!("{rs:?}"));
        }
    }

    /// Every decision of [`RankSorted::regime`] agrees with the literal count, on windows built
    /// so that `x` is an order statistic at, or within the tolerance of, ranks 62/63/188/189.
    #[test]
    fn sorted_decisions_at_the_boundaries() {
        let mut rnd = rng(77);
        for case in 0..20_000u64 {
            let base: f64 = [1.0, -1.0, 0.0, 1e-300, 123_456.789][case as usize % 5];
            let mut w: Vec<f64> = (0..RANK_N)
                .map(|_| {
                    let r = rnd();
                    let k = (r % 9) as f64 - 4.0;
                    match r % 3 {
                        0 => base + k * 1e-9 * base.abs().max(1e-300),
                        1 => base + k * 0.5e-9 * base.abs(),
                        _ => base + (r >> 12) as f64 / (1u64 << 52) as f64 - 0.5,
                    }
                })
                .collect();
            let x = w[(rnd() % RANK_N as u64) as usize];
            let last = (rnd() % RANK_N as u64) as usize;
            w[last] = x;
            let b = RankSorted::build(&w);
            let ring: &[f64; RANK_N] = w[..].try_into().unwrap();
            let want = regime_code(rank_q(ring, x));
            if let Some(got) = b.regime(x) {
                assert_eq!(got, want, "case {case}");
            }
        }
    }

    /// [`count_below2`] is `partition_point` twice, for keys below, between, equal to and above
    /// the values (ties, `±0`, `+∞`), on arrays of every length up to 40.
    #[test]
    fn count_below2_is_two_partition_points() {
        let mut rnd = rng(11);
        for len in 1..=40usize {
            for _ in 0..50 {
                let mut s: Vec<f64> = (0..len)
                    .map(|_| match rnd() % 6 {
                        0 => 0.0,
                        1 => -0.0,
                        2 => f64::INFINITY,
                        _ => (rnd() % 9) as f64 - 4.0,
                    })
                    .collect();
                s.sort_unstable_by(f64::total_cmp);
                for a in [-5.0, -4.0, -0.0, 0.0, 0.5, 4.0, 5.0, f64::INFINITY] {
                    let b = (rnd() % 11) as f64 - 5.0;
                    let want = (s.partition_point(|&y| y < a), s.partition_point(|&y| y < b));
                    assert_eq!(count_below2(&s, a, b), want, "{s:?} {a} {b}");
                }
            }
        }
    }

    /// The branch-free sorted-array update of [`Audit`] keeps the 20 previous volumes sorted.
    #[test]
    fn audit_sorted_window() {
        let mut rnd = rng(5);
        let mut a = Audit::default();
        let mut hist = Vec::new();
        for t in 0..5000 {
            let v = match rnd() % 4 {
                0 => 0.0,
                1 => (rnd() % 5) as f64,
                _ => (rnd() % 1000) as f64 / 7.0,
            };
            hist.push(v);
            let old = a.last.push(v);
            a.update_sorted(old, v);
            let n = hist.len().min(20);
            let mut want = hist[hist.len() - n..].to_vec();
            want.sort_by(f64::total_cmp);
            assert_eq!(&a.sorted[..n], &want[..], "bar {t}");
        }
        // The compile-time quality table is the F3.16 formula.
        for m in 0..8usize {
            let b = |k: usize| i32::from(m >> k & 1 == 1);
            let points = 100 - 50 * b(0) - 20 * b(1) - 10 * b(2);
            let want = f64::from(points.max(0)) / 100.0;
            assert_eq!(AUDIT_QUALITY[m].to_bits(), want.to_bits());
        }
    }
}
