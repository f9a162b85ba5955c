//! Group A of the indicator kernel: momentum (F3.2), moving averages (F3.3), Bollinger bands
//! (F3.4), CCI and PPO (F3.8), Ichimoku (F3.10), returns and dynamics (F3.13) and bar structure
//! (F3.14).
//!
//! Every family is a small struct that owns all the state it needs to continue its series and
//! is chunk-invariant: it keeps its own bar counter `t` (the global F2.1 index of the next bar)
//! and only uses fixed-order arithmetic on values held in its state, so a batch run and any
//! split into consecutive chunks give bit-identical outputs and end states.

use serde::{Deserialize, Serialize};

use super::frame::{Config, Ema, Fault, Input, Out, Slot, Wilder, f, finite_or_null};

const NULL: f64 = f64::NAN;

// ------------------------------------------------------------------------------------------
// Helpers

/// The last `n` values of a series with a contiguous view: every value is written twice (at
/// `p` and `p + n`), so the window is always the slice `buf[pos + n − len .. pos + n]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Win {
    n: usize,
    buf: Vec<f64>,
    pos: usize,
    len: usize,
}

impl Win {
    fn new(n: usize) -> Self {
        Self { n, buf: vec![0.0; 2 * n], pos: 0, len: 0 }
    }

    #[inline]
    fn push(&mut self, x: f64) {
        let p = self.pos;
        self.buf[p] = x;
        self.buf[p + self.n] = x;
        self.pos = if p + 1 == self.n { 0 } else { p + 1 };
        if self.len < self.n {
            self.len += 1;
        }
    }

    #[inline]
    fn is_full(&self) -> bool {
        self.len == self.n
    }

    /// The held values, oldest first.
    #[inline]
    fn values(&self) -> &[f64] {
        let end = self.pos + self.n;
        &self.buf[end - self.len..end]
    }

    /// The full window as a fixed-size array (lets the compiler unroll the passes over it).
    #[inline]
    fn arr<const N: usize>(&self) -> &[f64; N] {
        self.values().try_into().expect("full window of N values")
    }

    /// The value `k` bars before the newest (`k = 0` is the newest); needs `k < len`.
    #[inline]
    fn back(&self, k: usize) -> f64 {
        debug_assert!(k < self.len);
        self.buf[self.pos + self.n - 1 - k]
    }
}

/// Sum in a fixed order with four partial sums (shorter dependency chains than a plain fold;
/// the order only depends on the slice, so results are reproducible).
#[inline]
fn sum(s: &[f64]) -> f64 {
    let mut a = [0.0f64; 4];
    let chunks = s.chunks_exact(4);
    let rem = chunks.remainder();
    for c in chunks {
        a[0] += c[0];
        a[1] += c[1];
        a[2] += c[2];
        a[3] += c[3];
    }
    let mut r = (a[0] + a[1]) + (a[2] + a[3]);
    for &x in rem {
        r += x;
    }
    r
}

/// `Σ abs(x − m)` in the order of [`sum`].
#[inline]
fn sum_abs_dev(s: &[f64], m: f64) -> f64 {
    let mut a = [0.0f64; 4];
    let chunks = s.chunks_exact(4);
    let rem = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            a[k] += (c[k] - m).abs();
        }
    }
    let mut r = (a[0] + a[1]) + (a[2] + a[3]);
    for &x in rem {
        r += (x - m).abs();
    }
    r
}

/// `max(a, b)` for finite inputs (a single `maxsd`, no NaN fix-up).
#[inline]
fn max(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

/// Rolling maximum of the last `n` values (F2.3 MAX; MIN is the maximum of the negated series,
/// negation being exact). Block algorithm (van Herk / Gil-Werman): the series is cut into
/// blocks of `n` bars; the window ending at a bar is a suffix of the previous block plus a
/// prefix of the current one, so its maximum is `max(suffix_max[pos + 1], prefix_max)`. The
/// suffix maxima are computed once per completed block: O(1) per bar and branch-free. Exact.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RollMax {
    /// Position of the next value in the current block (0..n).
    pos: usize,
    /// Maximum of the current block so far.
    prefix: f64,
    /// Values of the current block.
    block: Vec<f64>,
    /// `suffix[k]` = max of the previous block's values `k..n` (−∞ before the first block and
    /// at `k = n`).
    suffix: Vec<f64>,
}

impl RollMax {
    fn new(n: usize) -> Self {
        Self {
            pos: 0,
            prefix: f64::NEG_INFINITY,
            block: vec![f64::NEG_INFINITY; n],
            suffix: vec![f64::NEG_INFINITY; n + 1],
        }
    }

    /// Adds `x`; returns the maximum of the last `n` values (of all values while warming up).
    #[inline]
    fn push(&mut self, x: f64) -> f64 {
        let n = self.block.len();
        let p = self.pos;
        self.block[p] = x;
        self.prefix = if p == 0 { x } else { max(self.prefix, x) };
        let m = max(self.suffix[p + 1], self.prefix);
        if p + 1 == n {
            let mut acc = f64::NEG_INFINITY;
            for k in (0..n).rev() {
                acc = max(self.block[k], acc);
                self.suffix[k] = acc;
            }
            self.pos = 0;
        } else {
            self.pos = p + 1;
        }
        m
    }
}

/// A window sum kept by a running sum (`+ x − old`) that is recomputed exactly from the window
/// every `n` bars, which bounds the rounding drift (F2.3 last paragraph).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RollSum {
    win: Win,
    sum: f64,
}

impl RollSum {
    fn new(n: usize) -> Self {
        Self { win: Win::new(n), sum: 0.0 }
    }

    /// Adds `x`; returns the sum of the last `n` values, or `None` while warming up.
    #[inline]
    fn push(&mut self, x: f64) -> Option<f64> {
        let old = if self.win.is_full() { self.win.back(self.win.n - 1) } else { 0.0 };
        self.win.push(x);
        if self.win.pos == 0 {
            self.sum = sum(self.win.values());
        } else {
            self.sum = (self.sum + x) - old;
        }
        self.win.is_full().then_some(self.sum)
    }
}

/// `a/b − 1`, null if `b = 0` (F3.13).
#[inline]
fn rel(a: f64, b: f64) -> f64 {
    if b == 0.0 { NULL } else { finite_or_null(a / b - 1.0) }
}

/// A family continues its series only from the bar after its last one (F2.1): a chunk that
/// starts elsewhere is a caller error, reported as a panic (isolated by [`Slot::run`]).
#[inline]
fn check_start(t: u64, inp: &Input<'_>) {
    assert_eq!(t, inp.t0, "family state is at bar {t} but the chunk starts at bar {}", inp.t0);
}

macro_rules! default_from_new {
    ($($t:ty),* $(,)?) => {
        $(impl Default for $t {
            fn default() -> Self {
                Self::new()
            }
        })*
    };
}

// ------------------------------------------------------------------------------------------
// Families

/// F3.2 `rsi` (Wilder 14, 0 if `ZERO(G+L)`) and F3.13 `rsi_delta`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rsi {
    t: u64,
    prev_c: f64,
    gain: Wilder,
    loss: Wilder,
    prev_rsi: f64,
}

impl Rsi {
    /// Columns written.
    pub const FIELDS: [usize; 2] = [f::RSI, f::RSI_DELTA];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, prev_c: NULL, gain: Wilder::new(14), loss: Wilder::new(14), prev_rsi: NULL }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        let [o_rsi, o_delta] = out.cols_mut(Self::FIELDS);
        for (i, &c) in inp.close.iter().enumerate() {
            let t = self.t;
            self.t += 1;
            let d = c - self.prev_c;
            self.prev_c = c;
            if t == 0 {
                continue;
            }
            let g = self.gain.push(if d > 0.0 { d } else { 0.0 });
            let l = self.loss.push(if d < 0.0 { -d } else { 0.0 });
            if t < 14 {
                continue;
            }
            let s = g + l;
            let rsi = finite_or_null(if s == 0.0 { 0.0 } else { 100.0 * (g / s) });
            o_rsi[i] = rsi;
            if t >= 15 {
                o_delta[i] = finite_or_null(rsi - self.prev_rsi);
            }
            self.prev_rsi = rsi;
        }
    }
}

/// F3.2 `macd`, `macd_signal`, `macd_hist` (TA-Lib MACD 12/26/9 with the fast EMA seeded on
/// `c[14..25]`, output from 33) and F3.13 `macd_delta` (from 34).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Macd {
    t: u64,
    fast: Ema,
    slow: Ema,
    signal: Ema,
    prev_line: f64,
}

impl Macd {
    /// Columns written.
    pub const FIELDS: [usize; 4] = [f::MACD, f::MACD_SIGNAL, f::MACD_HIST, f::MACD_DELTA];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, fast: Ema::new(12), slow: Ema::new(26), signal: Ema::new(9), prev_line: NULL }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        let [o_line, o_sig, o_hist, o_delta] = out.cols_mut(Self::FIELDS);
        for (i, &c) in inp.close.iter().enumerate() {
            let t = self.t;
            self.t += 1;
            let slow = self.slow.push(c);
            // The fast EMA starts at bar 14 so that its seed is the mean of c[14..25].
            let fast = if t >= 14 { self.fast.push(c) } else { NULL };
            if t < 25 {
                continue;
            }
            let line = fast - slow;
            let sig = self.signal.push(line);
            if t >= 33 {
                o_line[i] = finite_or_null(line);
                o_sig[i] = finite_or_null(sig);
                o_hist[i] = finite_or_null(line - sig);
            }
            if t >= 34 {
                o_delta[i] = finite_or_null(line - self.prev_line);
            }
            self.prev_line = line;
        }
    }
}

/// F3.2 `roc`, `momentum` (10) and F3.13 `return_1d`, `return_5d`, `return_20d`,
/// `price_momentum_5d`: lags of the close.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Returns {
    t: u64,
    closes: Win,
}

impl Returns {
    /// Columns written.
    pub const FIELDS: [usize; 6] =
        [f::ROC, f::MOMENTUM, f::RETURN_1D, f::RETURN_5D, f::RETURN_20D, f::PRICE_MOMENTUM_5D];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, closes: Win::new(21) }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        let [o_roc, o_mom, o_r1, o_r5, o_r20, o_pm5] = out.cols_mut(Self::FIELDS);
        for (i, &c) in inp.close.iter().enumerate() {
            let t = self.t;
            self.t += 1;
            self.closes.push(c);
            if t >= 1 {
                o_r1[i] = rel(c, self.closes.back(1));
            }
            if t >= 5 {
                let b = self.closes.back(5);
                o_r5[i] = rel(c, b);
                o_pm5[i] = finite_or_null(c - b);
            }
            if t >= 10 {
                let b = self.closes.back(10);
                o_roc[i] = if b == 0.0 { 0.0 } else { finite_or_null((c / b - 1.0) * 100.0) };
                o_mom[i] = finite_or_null(c - b);
            }
            if t >= 20 {
                o_r20[i] = rel(c, self.closes.back(20));
            }
        }
    }
}

/// F3.2 `stoch_k`, `stoch_d` (slow stochastic 14/3/3, output from 17) and `williams_r` (14).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stoch {
    t: u64,
    hh: RollMax,
    neg_ll: RollMax,
    /// The last three fast %K values, oldest first.
    fast_k: [f64; 3],
    /// The last three slow %K values, oldest first.
    slow_k: [f64; 3],
}

impl Stoch {
    /// Columns written.
    pub const FIELDS: [usize; 3] = [f::STOCH_K, f::STOCH_D, f::WILLIAMS_R];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self {
            t: 0,
            hh: RollMax::new(14),
            neg_ll: RollMax::new(14),
            fast_k: [NULL; 3],
            slow_k: [NULL; 3],
        }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        let [o_k, o_d, o_w] = out.cols_mut(Self::FIELDS);
        for i in 0..inp.len() {
            let (h, l, c) = (inp.high[i], inp.low[i], inp.close[i]);
            let t = self.t;
            self.t += 1;
            let hh = self.hh.push(h);
            let ll = -self.neg_ll.push(-l);
            if t < 13 {
                continue;
            }
            let diff = hh - ll;
            o_w[i] = if diff == 0.0 { 0.0 } else { finite_or_null(-100.0 * (hh - c) / diff) };
            let fk = if diff.abs() <= 1e-14 * (hh.abs() + ll.abs()) {
                0.0
            } else {
                (c - ll) / diff * 100.0
            };
            let [_, a, b] = self.fast_k;
            self.fast_k = [a, b, fk];
            if t < 15 {
                continue;
            }
            let k = (a + b + fk) / 3.0;
            let [_, a, b] = self.slow_k;
            self.slow_k = [a, b, k];
            if t >= 17 {
                o_k[i] = finite_or_null(k);
                o_d[i] = finite_or_null((a + b + k) / 3.0);
            }
        }
    }
}

/// F3.3 `sma_50`, `sma_200` and F3.13 `price_to_sma50`, `price_to_sma200`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sma {
    t: u64,
    s50: RollSum,
    s200: RollSum,
}

impl Sma {
    /// Columns written.
    pub const FIELDS: [usize; 4] = [f::SMA_50, f::SMA_200, f::PRICE_TO_SMA50, f::PRICE_TO_SMA200];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, s50: RollSum::new(50), s200: RollSum::new(200) }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        self.t += inp.len() as u64;
        let [o50, o200, p50, p200] = out.cols_mut(Self::FIELDS);
        for (i, &c) in inp.close.iter().enumerate() {
            if let Some(s) = self.s50.push(c) {
                let m = s / 50.0;
                o50[i] = finite_or_null(m);
                p50[i] = rel(c, m);
            }
            if let Some(s) = self.s200.push(c) {
                let m = s / 200.0;
                o200[i] = finite_or_null(m);
                p200[i] = rel(c, m);
            }
        }
    }
}

/// F3.3 `ema_12`, `ema_26`, `ema_50`, `ema_200` and F3.8 `ppo` (standard EMA seeds).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Emas {
    t: u64,
    e12: Ema,
    e26: Ema,
    e50: Ema,
    e200: Ema,
}

impl Emas {
    /// Columns written.
    pub const FIELDS: [usize; 5] = [f::EMA_12, f::EMA_26, f::EMA_50, f::EMA_200, f::PPO];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, e12: Ema::new(12), e26: Ema::new(26), e50: Ema::new(50), e200: Ema::new(200) }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        self.t += inp.len() as u64;
        let [o12, o26, o50, o200, o_ppo] = out.cols_mut(Self::FIELDS);
        for (i, &c) in inp.close.iter().enumerate() {
            let (a, b) = (self.e12.push(c), self.e26.push(c));
            o12[i] = finite_or_null(a);
            o26[i] = finite_or_null(b);
            o50[i] = finite_or_null(self.e50.push(c));
            o200[i] = finite_or_null(self.e200.push(c));
            // NaN during the warm-up of ema_26 (t < 25) stays null.
            o_ppo[i] = if b == 0.0 { 0.0 } else { finite_or_null((a - b) / b * 100.0) };
        }
    }
}

/// F3.3 `kama` (TA-Lib KAMA: ER period 10, fast 2, slow 30), from bar 10.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kama {
    t: u64,
    closes: Win,
    abs_diffs: Win,
    kama: f64,
}

impl Kama {
    /// Columns written.
    pub const FIELDS: [usize; 1] = [f::KAMA];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, closes: Win::new(11), abs_diffs: Win::new(10), kama: NULL }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        const SSC: f64 = 2.0 / 31.0;
        const DSC: f64 = 2.0 / 3.0 - SSC;
        let [o] = out.cols_mut(Self::FIELDS);
        for (i, &c) in inp.close.iter().enumerate() {
            let t = self.t;
            self.t += 1;
            if t >= 1 {
                self.abs_diffs.push((c - self.closes.back(0)).abs());
            }
            self.closes.push(c);
            if t < 10 {
                continue;
            }
            let change = c - self.closes.back(10);
            // Exact window sum: zero only on a flat window (F2.3, F2.6 ZERO).
            let vol = sum(self.abs_diffs.values());
            let er = if vol <= change || vol == 0.0 { 1.0 } else { (change / vol).abs() };
            let sc = er * DSC + SSC;
            let sc = sc * sc;
            let k = if t == 10 { self.closes.back(1) } else { self.kama };
            self.kama = (c - k) * sc + k;
            o[i] = finite_or_null(self.kama);
        }
    }
}

/// F3.3 `tema` (30, from 87) and `trix` (30, from 88), sharing the triple EMA.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tema {
    t: u64,
    e1: Ema,
    e2: Ema,
    e3: Ema,
    prev_e3: f64,
}

impl Tema {
    /// Columns written.
    pub const FIELDS: [usize; 2] = [f::TEMA, f::TRIX];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, e1: Ema::new(30), e2: Ema::new(30), e3: Ema::new(30), prev_e3: NULL }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        let [o_tema, o_trix] = out.cols_mut(Self::FIELDS);
        for (i, &c) in inp.close.iter().enumerate() {
            let t = self.t;
            self.t += 1;
            let a = self.e1.push(c);
            if t < 29 {
                continue;
            }
            let b = self.e2.push(a);
            if t < 58 {
                continue;
            }
            let d = self.e3.push(b);
            if t < 87 {
                continue;
            }
            o_tema[i] = finite_or_null(3.0 * a - 3.0 * b + d);
            if t >= 88 {
                let p = self.prev_e3;
                o_trix[i] = if p == 0.0 { 0.0 } else { finite_or_null((d / p - 1.0) * 100.0) };
            }
            self.prev_e3 = d;
        }
    }
}

/// F3.4 Bollinger bands (20, 2, population SD, two-pass) with F3.3 `sma_20` (= `bb_middle`),
/// F3.13 `price_to_sma20` and F3.14 `trend_strength` (the signed R² of the 20-bar
/// least-squares line of the close), which share the window, its mean `m` and
/// `Syy = Σ (c − m)²`; both degenerate rules are `SD_ZERO(sqrt(Syy/20), m)` (F2.6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bollinger {
    t: u64,
    /// The 19 closes before the current bar.
    prev: Win,
    /// Their sum: running, recomputed exactly from `prev` every 19 bars (bounded drift).
    prev_sum: f64,
}

impl Bollinger {
    /// Columns written.
    pub const FIELDS: [usize; 8] = [
        f::SMA_20,
        f::PRICE_TO_SMA20,
        f::BB_UPPER,
        f::BB_MIDDLE,
        f::BB_LOWER,
        f::BB_BANDWIDTH,
        f::BB_PERCENT,
        f::TREND_STRENGTH,
    ];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, prev: Win::new(19), prev_sum: 0.0 }
    }

    /// Pushes `c` into the 19-close window and keeps its sum.
    #[inline]
    fn push(&mut self, c: f64) {
        let old = if self.prev.is_full() { self.prev.back(18) } else { 0.0 };
        self.prev.push(c);
        self.prev_sum =
            if self.prev.pos == 0 { sum(self.prev.values()) } else { (self.prev_sum + c) - old };
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        // x_j − 9.5 for j = 0..19 (F3.14); Sxx = Σ (x_j − 9.5)² = 665.
        const X: [f64; 20] = {
            let mut x = [0.0; 20];
            let mut j = 0;
            while j < 20 {
                x[j] = j as f64 - 9.5;
                j += 1;
            }
            x
        };
        let [o_sma, o_pts, o_up, o_mid, o_lo, o_bw, o_pct, o_ts] = out.cols_mut(Self::FIELDS);
        for (i, &c) in inp.close.iter().enumerate() {
            let t = self.t;
            self.t += 1;
            if t < 19 {
                self.push(c);
                continue;
            }
            // Window = the 19 previous closes (state) + c, which stays in a register.
            let w: &[f64; 19] = self.prev.arr();
            let m = (self.prev_sum + c) / 20.0;
            // Second pass (F2.3 SDP): Σ (c − m)² and Σ (x − 9.5)(c − m), four partial sums.
            let mut d = [c - m; 20];
            for (dj, &x) in d.iter_mut().zip(w) {
                *dj = x - m;
            }
            let (mut syy, mut sxy) = ([0.0f64; 4], [0.0f64; 4]);
            for (ds, xs) in d.chunks_exact(4).zip(X.chunks_exact(4)) {
                for k in 0..4 {
                    syy[k] += ds[k] * ds[k];
                    sxy[k] += xs[k] * ds[k];
                }
            }
            let syy = (syy[0] + syy[1]) + (syy[2] + syy[3]);
            let sxy = (sxy[0] + sxy[1]) + (sxy[2] + sxy[3]);
            self.push(c);
            // Phase 1 keeps only the window passes; the divisions and square root are done
            // in phase 2, whose iterations are independent (shorter dependency chains).
            o_sma[i] = m;
            o_up[i] = syy;
            o_ts[i] = sxy;
        }
        let first = (19u64.saturating_sub(inp.t0) as usize).min(inp.len());
        for i in first..inp.len() {
            let (c, m, syy, sxy) = (inp.close[i], o_sma[i], o_up[i], o_ts[i]);
            let sd = (syy / 20.0).sqrt();
            let (up, lo) = (m + 2.0 * sd, m - 2.0 * sd);
            let flat = sd <= 1e-12 * m.abs();
            let m_ok = finite_or_null(m);
            o_sma[i] = m_ok;
            o_mid[i] = m_ok;
            o_up[i] = finite_or_null(up);
            o_lo[i] = finite_or_null(lo);
            o_pts[i] = rel(c, m);
            o_bw[i] = if m == 0.0 { NULL } else { finite_or_null(100.0 * (up - lo) / m) };
            o_pct[i] = if flat { NULL } else { finite_or_null((c - lo) / (up - lo)) };
            o_ts[i] = if flat {
                0.0
            } else {
                // r·|r| with r = Sxy/sqrt(Sxx·Syy), without the square root.
                finite_or_null(sxy * sxy.abs() / (665.0 * syy))
            };
        }
    }
}

/// F3.8 `cci` (20, 0.015; 0 if `ZERO_SCALED(tp − m, |m|)` or `ZERO_SCALED(md, |m|)`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cci {
    t: u64,
    /// The 19 typical prices before the current bar.
    prev: Win,
}

impl Cci {
    /// Columns written.
    pub const FIELDS: [usize; 1] = [f::CCI];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, prev: Win::new(19) }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        let [o] = out.cols_mut(Self::FIELDS);
        let bars = inp.high.iter().zip(inp.low).zip(inp.close);
        for (o, ((&h, &l), &c)) in o.iter_mut().zip(bars) {
            let tp = (h + l + c) / 3.0;
            let t = self.t;
            self.t += 1;
            if t < 19 {
                self.prev.push(tp);
                continue;
            }
            // Window = the 19 previous tp (state) + tp, which stays in a register.
            let w: &[f64; 19] = self.prev.arr();
            let m = (sum(w) + tp) / 20.0;
            let md = (sum_abs_dev(w, m) + (tp - m).abs()) / 20.0;
            self.prev.push(tp);
            let dev = tp - m;
            let eps = 1e-14 * m.abs();
            *o = if dev.abs() <= eps || md.abs() <= eps {
                0.0
            } else {
                finite_or_null(dev / (0.015 * md))
            };
        }
    }
}

/// F3.10 Ichimoku (9, 26, 52), unshifted spans; `chikou[t] = c[t − 26]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ichimoku {
    t: u64,
    closes: Win,
    h9: RollMax,
    h26: RollMax,
    h52: RollMax,
    nl9: RollMax,
    nl26: RollMax,
    nl52: RollMax,
}

impl Ichimoku {
    /// Columns written.
    pub const FIELDS: [usize; 5] = [
        f::ICHIMOKU_TENKAN,
        f::ICHIMOKU_KIJUN,
        f::ICHIMOKU_SENKOU_A,
        f::ICHIMOKU_SENKOU_B,
        f::ICHIMOKU_CHIKOU,
    ];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self {
            t: 0,
            closes: Win::new(27),
            h9: RollMax::new(9),
            h26: RollMax::new(26),
            h52: RollMax::new(52),
            nl9: RollMax::new(9),
            nl26: RollMax::new(26),
            nl52: RollMax::new(52),
        }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        let [o_ten, o_kij, o_sa, o_sb, o_chi] = out.cols_mut(Self::FIELDS);
        for i in 0..inp.len() {
            let (h, nl, c) = (inp.high[i], -inp.low[i], inp.close[i]);
            let t = self.t;
            self.t += 1;
            self.closes.push(c);
            let tenkan = (self.h9.push(h) - self.nl9.push(nl)) / 2.0;
            let kijun = (self.h26.push(h) - self.nl26.push(nl)) / 2.0;
            let span_b = (self.h52.push(h) - self.nl52.push(nl)) / 2.0;
            if t >= 8 {
                o_ten[i] = finite_or_null(tenkan);
            }
            if t >= 25 {
                o_kij[i] = finite_or_null(kijun);
                o_sa[i] = finite_or_null((tenkan + kijun) / 2.0);
            }
            if t >= 51 {
                o_sb[i] = finite_or_null(span_b);
            }
            if t >= 26 {
                o_chi[i] = self.closes.back(26);
            }
        }
    }
}

/// F3.13 `price_range`, `high_low_spread` and F3.14 `higher_high`, `lower_low`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BarShape {
    t: u64,
    prev_h: f64,
    prev_l: f64,
}

impl BarShape {
    /// Columns written.
    pub const FIELDS: [usize; 4] =
        [f::PRICE_RANGE, f::HIGH_LOW_SPREAD, f::HIGHER_HIGH, f::LOWER_LOW];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, prev_h: NULL, prev_l: NULL }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        let [o_range, o_spread, o_hh, o_ll] = out.cols_mut(Self::FIELDS);
        for i in 0..inp.len() {
            let (h, l, c) = (inp.high[i], inp.low[i], inp.close[i]);
            let range = h - l;
            o_range[i] = finite_or_null(range);
            o_spread[i] = if c == 0.0 { NULL } else { finite_or_null(range / c) };
            if self.t >= 1 {
                o_hh[i] = if h > self.prev_h { 1.0 } else { 0.0 };
                o_ll[i] = if l < self.prev_l { 1.0 } else { 0.0 };
            }
            self.t += 1;
            self.prev_h = h;
            self.prev_l = l;
        }
    }
}

default_from_new!(
    Rsi, Macd, Returns, Stoch, Sma, Emas, Kama, Tema, Bollinger, Cci, Ichimoku, BarShape, GroupA
);

// ------------------------------------------------------------------------------------------
// The group

/// The group-A families, each in its own [`Slot`] so that a panic in one family nulls only its
/// own fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupA {
    /// F3.2 rsi, F3.13 rsi_delta.
    pub rsi: Slot<Rsi>,
    /// F3.2 macd, macd_signal, macd_hist; F3.13 macd_delta.
    pub macd: Slot<Macd>,
    /// F3.2 roc, momentum; F3.13 returns and price_momentum_5d.
    pub returns: Slot<Returns>,
    /// F3.2 stoch_k, stoch_d, williams_r.
    pub stoch: Slot<Stoch>,
    /// F3.3 sma_50, sma_200; F3.13 price_to_sma50/200.
    pub sma: Slot<Sma>,
    /// F3.3 ema_12/26/50/200; F3.8 ppo.
    pub ema: Slot<Emas>,
    /// F3.3 kama.
    pub kama: Slot<Kama>,
    /// F3.3 tema, trix.
    pub tema: Slot<Tema>,
    /// F3.4 Bollinger bands, F3.3 sma_20, F3.13 price_to_sma20, F3.14 trend_strength.
    pub bollinger: Slot<Bollinger>,
    /// F3.8 cci.
    pub cci: Slot<Cci>,
    /// F3.10 Ichimoku.
    pub ichimoku: Slot<Ichimoku>,
    /// F3.13 price_range, high_low_spread; F3.14 higher_high, lower_low.
    pub bar: Slot<BarShape>,
}

impl GroupA {
    /// Every column this group writes.
    pub const FIELDS: &'static [usize] = &[
        f::RSI,
        f::RSI_DELTA,
        f::MACD,
        f::MACD_SIGNAL,
        f::MACD_HIST,
        f::MACD_DELTA,
        f::ROC,
        f::MOMENTUM,
        f::RETURN_1D,
        f::RETURN_5D,
        f::RETURN_20D,
        f::PRICE_MOMENTUM_5D,
        f::STOCH_K,
        f::STOCH_D,
        f::WILLIAMS_R,
        f::SMA_50,
        f::SMA_200,
        f::PRICE_TO_SMA50,
        f::PRICE_TO_SMA200,
        f::EMA_12,
        f::EMA_26,
        f::EMA_50,
        f::EMA_200,
        f::PPO,
        f::KAMA,
        f::TEMA,
        f::TRIX,
        f::SMA_20,
        f::PRICE_TO_SMA20,
        f::BB_UPPER,
        f::BB_MIDDLE,
        f::BB_LOWER,
        f::BB_BANDWIDTH,
        f::BB_PERCENT,
        f::TREND_STRENGTH,
        f::CCI,
        f::ICHIMOKU_TENKAN,
        f::ICHIMOKU_KIJUN,
        f::ICHIMOKU_SENKOU_A,
        f::ICHIMOKU_SENKOU_B,
        f::ICHIMOKU_CHIKOU,
        f::PRICE_RANGE,
        f::HIGH_LOW_SPREAD,
        f::HIGHER_HIGH,
        f::LOWER_LOW,
    ];

    /// Fresh state for a series that starts at bar 0.
    pub fn new() -> Self {
        Self {
            rsi: Slot::new(Rsi::new()),
            macd: Slot::new(Macd::new()),
            returns: Slot::new(Returns::new()),
            stoch: Slot::new(Stoch::new()),
            sma: Slot::new(Sma::new()),
            ema: Slot::new(Emas::new()),
            kama: Slot::new(Kama::new()),
            tema: Slot::new(Tema::new()),
            bollinger: Slot::new(Bollinger::new()),
            cci: Slot::new(Cci::new()),
            ichimoku: Slot::new(Ichimoku::new()),
            bar: Slot::new(BarShape::new()),
        }
    }

    /// Computes every group-A field for the chunk `inp` into `out` (whose columns
    /// [`GroupA::FIELDS`] must be allocated for `inp.len()` bars). A family that panics is
    /// recorded in `faults` and its fields are null from then on.
    pub fn run(&mut self, inp: &Input<'_>, _cfg: &Config, out: &mut Out, faults: &mut Vec<Fault>) {
        macro_rules! fam {
            ($slot:ident, $name:literal, $ty:ty) => {
                self.$slot.run($name, &<$ty>::FIELDS, inp, out, faults, |s, out| s.run(inp, out))
            };
        }
        fam!(rsi, "rsi", Rsi);
        fam!(macd, "macd", Macd);
        fam!(returns, "returns", Returns);
        fam!(stoch, "stoch", Stoch);
        fam!(sma, "sma", Sma);
        fam!(ema, "ema", Emas);
        fam!(kama, "kama", Kama);
        fam!(tema, "tema", Tema);
        fam!(bollinger, "bollinger", Bollinger);
        fam!(cci, "cci", Cci);
        fam!(ichimoku, "ichimoku", Ichimoku);
        fam!(bar, "bar_shape", BarShape);
    }
}
