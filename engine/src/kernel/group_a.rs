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
            o_w[i] = if diff == 0.0 {
                0.0
            } else {
                // TA-Lib 0.8 clamps to the documented range (F3.2 "range −100..0"); it matters
                // only on OHLC-invalid bars whose close lies outside the window's range.
                finite_or_null((-100.0 * (hh - c) / diff).clamp(-100.0, 0.0))
            };
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

/// Bars per block of the window families ([`Bollinger`], [`Cci`]): the chunk is processed in
/// blocks whose windows are read from one contiguous stack buffer (the 19 values before the
/// block, from the state, then the block's own values).
const BLOCK: usize = 256;

/// Block size for short chunks (incremental updates): small stack buffers to initialize.
const SMALL: usize = 8;

/// Fills `buf[..19]` with `prev` and `buf[19..19 + src.len()]` with `src`; after the block,
/// [`shift_out`] keeps the last 19 values as the new `prev`.
#[inline]
fn fill_block(buf: &mut [f64], prev: &[f64; 19], src: &[f64]) {
    buf[..19].copy_from_slice(prev);
    buf[19..19 + src.len()].copy_from_slice(src);
}

/// The last 19 values of a block of `len` bars filled by [`fill_block`].
#[inline]
fn shift_out(buf: &[f64], len: usize) -> [f64; 19] {
    buf[len..len + 19].try_into().expect("19 values")
}

/// Number of leading bars of a block starting at global bar `t` that are still in the 19-bar
/// warm-up of a 20-bar window.
#[inline]
fn warm_up_19(t: u64, len: usize) -> usize {
    (19u64.saturating_sub(t) as usize).min(len)
}

/// F3.4 Bollinger bands (20, 2, population SD, two-pass) with F3.3 `sma_20` (= `bb_middle`),
/// F3.13 `price_to_sma20` and F3.14 `trend_strength` (the signed R² of the 20-bar
/// least-squares line of the close), which share the window, its mean `m` and
/// `Syy = Σ (c − m)²`; both degenerate rules are `SD_ZERO(sqrt(Syy/20), m)` (F2.6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bollinger {
    t: u64,
    /// The 19 closes before the next bar, oldest first (0.0 for bars before bar 0).
    prev: [f64; 19],
    /// Their sum: running, recomputed exactly from the window every 19 bars (bounded drift).
    prev_sum: f64,
    /// Bars pushed since the last exact recomputation of `prev_sum` (0..19).
    since_exact: u32,
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
        Self { t: 0, prev: [0.0; 19], prev_sum: 0.0, since_exact: 0 }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        if inp.len() <= SMALL {
            self.run_blocks::<{ 19 + SMALL }>(inp, out);
        } else {
            self.run_blocks::<{ 19 + BLOCK }>(inp, out);
        }
    }

    /// [`Bollinger::run`] in blocks of `N − 19` bars.
    fn run_blocks<const N: usize>(&mut self, inp: &Input<'_>, out: &mut Out) {
        let block = N - 19;
        let [o_sma, o_pts, o_up, o_mid, o_lo, o_bw, o_pct, o_ts] = out.cols_mut(Self::FIELDS);
        let mut buf = [0.0f64; N];
        let (mut ms, mut syys, mut sxys) = ([0.0f64; N], [0.0f64; N], [0.0f64; N]);
        for (k, closes) in inp.close.chunks(block).enumerate() {
            let len = closes.len();
            let base = k * block;
            fill_block(&mut buf, &self.prev, closes);
            // Pass 1 (sequential): the window means from the running sum of the 19 previous
            // closes. `buf[i]` is the close leaving the 19-bar window (0.0 before bar 0).
            for i in 0..len {
                let c = buf[19 + i];
                ms[i] = (self.prev_sum + c) / 20.0;
                self.since_exact += 1;
                self.prev_sum = if self.since_exact == 19 {
                    self.since_exact = 0;
                    sum(&buf[i + 1..i + 20])
                } else {
                    (self.prev_sum + c) - buf[i]
                };
            }
            let first = warm_up_19(self.t, len);
            self.t += len as u64;
            self.prev = shift_out(&buf, len);
            // Pass 2 (independent bars, vectorized across bars): the exact second pass over
            // the window `buf[i..i + 20]` and the outputs.
            let o = base..base + len;
            let (o_sma, o_pts, o_up, o_mid) = (
                &mut o_sma[o.clone()],
                &mut o_pts[o.clone()],
                &mut o_up[o.clone()],
                &mut o_mid[o.clone()],
            );
            let (o_lo, o_bw, o_pct, o_ts) =
                (&mut o_lo[o.clone()], &mut o_bw[o.clone()], &mut o_pct[o.clone()], &mut o_ts[o]);
            // Pass 2: the sums (no long-latency operations, so consecutive bars overlap).
            let mut i = first;
            while i + LANES <= len {
                second_pass::<LANES>(&buf, &ms, i, &mut syys, &mut sxys);
                i += LANES;
            }
            while i < len {
                second_pass::<1>(&buf, &ms, i, &mut syys, &mut sxys);
                i += 1;
            }
            // Pass 3: the outputs (divisions and square roots of independent bars pipeline).
            let mut i = first;
            while i + LANES <= len {
                let o = [&mut *o_sma, o_pts, o_up, o_mid, o_lo, o_bw, o_pct, o_ts];
                bollinger_out::<LANES>(&buf, &ms, &syys, &sxys, i, o);
                i += LANES;
            }
            while i < len {
                let o = [&mut *o_sma, o_pts, o_up, o_mid, o_lo, o_bw, o_pct, o_ts];
                bollinger_out::<1>(&buf, &ms, &syys, &sxys, i, o);
                i += 1;
            }
        }
    }
}

/// Bars processed side by side by the window families (lane `l` is bar `i + l`; the same
/// operations per lane as the one-bar path, so results do not depend on the grouping).
const LANES: usize = 4;

/// The second pass of Bollinger bars `i..i + L` of a block (see [`Bollinger::run`]): window
/// `buf[i + l..i + l + 20]`, mean `ms[i + l]`; `Syy`, `Sxy` into `syys[i + l]`, `sxys[i + l]`.
#[inline(always)]
fn second_pass<const L: usize>(
    buf: &[f64],
    ms: &[f64],
    i: usize,
    syys: &mut [f64],
    sxys: &mut [f64],
) {
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
    let m: [f64; L] = ms[i..i + L].try_into().expect("L means");
    let w: &[f64] = &buf[i..i + L + 19];
    // Second pass (F2.3 SDP): Syy = Σ (w_j − m)², Sxy = Σ (j − 9.5)(w_j − m), four partial
    // sums each (j ≡ k mod 4), added as (s0 + s1) + (s2 + s3).
    let mut syy = [[0.0f64; L]; 4];
    let mut sxy = [[0.0f64; L]; 4];
    for q in 0..5 {
        for k in 0..4 {
            let j = 4 * q + k;
            for l in 0..L {
                let d = w[j + l] - m[l];
                syy[k][l] += d * d;
                sxy[k][l] += X[j] * d;
            }
        }
    }
    for l in 0..L {
        syys[i + l] = (syy[0][l] + syy[1][l]) + (syy[2][l] + syy[3][l]);
        sxys[i + l] = (sxy[0][l] + sxy[1][l]) + (sxy[2][l] + sxy[3][l]);
    }
}

/// The Bollinger outputs of bars `i..i + L` of a block from [`second_pass`]; `o` in the order
/// of [`Bollinger::FIELDS`]. Lane-wise: the same select-based operations per lane.
#[inline(always)]
fn bollinger_out<const L: usize>(
    buf: &[f64],
    ms: &[f64],
    syys: &[f64],
    sxys: &[f64],
    i: usize,
    o: [&mut [f64]; 8],
) {
    let [o_sma, o_pts, o_up, o_mid, o_lo, o_bw, o_pct, o_ts] = o;
    let m: [f64; L] = ms[i..i + L].try_into().expect("L means");
    let syy: [f64; L] = syys[i..i + L].try_into().expect("L sums");
    let sxy: [f64; L] = sxys[i..i + L].try_into().expect("L sums");
    let c: [f64; L] = buf[i + 19..i + 19 + L].try_into().expect("L closes");
    let sd: [f64; L] = std::array::from_fn(|l| (syy[l] / 20.0).sqrt());
    let up: [f64; L] = std::array::from_fn(|l| m[l] + 2.0 * sd[l]);
    let lo: [f64; L] = std::array::from_fn(|l| m[l] - 2.0 * sd[l]);
    let flat: [bool; L] = std::array::from_fn(|l| sd[l] <= 1e-12 * m[l].abs());
    for l in 0..L {
        o_sma[i + l] = fin(m[l]);
    }
    for l in 0..L {
        o_mid[i + l] = fin(m[l]);
    }
    for l in 0..L {
        o_up[i + l] = fin(up[l]);
    }
    for l in 0..L {
        o_lo[i + l] = fin(lo[l]);
    }
    for l in 0..L {
        let r = c[l] / m[l] - 1.0;
        o_pts[i + l] = if m[l] == 0.0 { NULL } else { fin(r) };
    }
    for l in 0..L {
        let r = 100.0 * (up[l] - lo[l]) / m[l];
        o_bw[i + l] = if m[l] == 0.0 { NULL } else { fin(r) };
    }
    for l in 0..L {
        let r = (c[l] - lo[l]) / (up[l] - lo[l]);
        o_pct[i + l] = if flat[l] { NULL } else { fin(r) };
    }
    for l in 0..L {
        // r·|r| with r = Sxy/sqrt(Sxx·Syy), without the square root.
        let r = sxy[l] * sxy[l].abs() / (665.0 * syy[l]);
        o_ts[i + l] = if flat[l] { 0.0 } else { fin(r) };
    }
}

/// [`finite_or_null`] written as a plain select (packs across lanes).
#[inline(always)]
fn fin(x: f64) -> f64 {
    if x.abs() < f64::INFINITY { x } else { NULL }
}

/// F3.8 `cci` (20, 0.015; 0 if `ZERO_SCALED(tp − m, |m|)` or `ZERO_SCALED(md, |m|)`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cci {
    t: u64,
    /// The 19 typical prices before the next bar, oldest first (0.0 for bars before bar 0).
    prev: [f64; 19],
}

impl Cci {
    /// Columns written.
    pub const FIELDS: [usize; 1] = [f::CCI];

    /// Empty state (before bar 0).
    pub fn new() -> Self {
        Self { t: 0, prev: [0.0; 19] }
    }

    /// Computes the chunk.
    pub fn run(&mut self, inp: &Input<'_>, out: &mut Out) {
        check_start(self.t, inp);
        if inp.len() <= SMALL {
            self.run_blocks::<{ 19 + SMALL }>(inp, out);
        } else {
            self.run_blocks::<{ 19 + BLOCK }>(inp, out);
        }
    }

    /// [`Cci::run`] in blocks of `N − 19` bars.
    fn run_blocks<const N: usize>(&mut self, inp: &Input<'_>, out: &mut Out) {
        let block = N - 19;
        let [o] = out.cols_mut(Self::FIELDS);
        let mut buf = [0.0f64; N];
        let (mut ms, mut mds) = ([0.0f64; N], [0.0f64; N]);
        let bars = inp.high.chunks(block).zip(inp.low.chunks(block)).zip(inp.close.chunks(block));
        for (((h, l), c), o) in bars.zip(o.chunks_mut(block)) {
            let len = o.len();
            buf[..19].copy_from_slice(&self.prev);
            for (((tp, &h), &l), &c) in buf[19..19 + len].iter_mut().zip(h).zip(l).zip(c) {
                *tp = (h + l + c) / 3.0;
            }
            let first = warm_up_19(self.t, len);
            self.t += len as u64;
            self.prev = shift_out(&buf, len);
            // Independent bars, `LANES` at a time: window `buf[i..i + 20]`. Pass 1: means.
            let mut i = first;
            while i + LANES <= len {
                cci_means::<LANES>(&buf, i, &mut ms);
                i += LANES;
            }
            while i < len {
                cci_means::<1>(&buf, i, &mut ms);
                i += 1;
            }
            // Pass 2: mean deviations.
            let mut i = first;
            while i + LANES <= len {
                cci_mean_devs::<LANES>(&buf, &ms, i, &mut mds);
                i += LANES;
            }
            while i < len {
                cci_mean_devs::<1>(&buf, &ms, i, &mut mds);
                i += 1;
            }
            // Pass 3: outputs.
            for (i, o) in o.iter_mut().enumerate().skip(first) {
                let (tp, m, md) = (buf[i + 19], ms[i], mds[i]);
                let dev = tp - m;
                let eps = 1e-14 * m.abs();
                *o =
                    if dev.abs() <= eps || md.abs() <= eps { 0.0 } else { fin(dev / (0.015 * md)) };
            }
        }
    }
}

/// CCI means of bars `i..i + L` of a block: `m = (sum(w[..19]) + w[19]) / 20` with window
/// `w = buf[i + l..i + l + 20]` and [`sum`]'s order, lane by lane.
#[inline(always)]
fn cci_means<const L: usize>(buf: &[f64], i: usize, ms: &mut [f64]) {
    let w: &[f64] = &buf[i..i + L + 19];
    let mut a = [[0.0f64; L]; 4];
    for q in 0..4 {
        for k in 0..4 {
            for l in 0..L {
                a[k][l] += w[4 * q + k + l];
            }
        }
    }
    for l in 0..L {
        let mut r = (a[0][l] + a[1][l]) + (a[2][l] + a[3][l]);
        for j in 16..19 {
            r += w[j + l];
        }
        ms[i + l] = (r + w[19 + l]) / 20.0;
    }
}

/// CCI mean deviations of bars `i..i + L` of a block: `md = (Σ|w[..19] − m| + |w[19] − m|)/20`
/// in [`sum`]'s order (four partial sums, then the remainder), lane by lane.
#[inline(always)]
fn cci_mean_devs<const L: usize>(buf: &[f64], ms: &[f64], i: usize, mds: &mut [f64]) {
    let w: &[f64] = &buf[i..i + L + 19];
    let m: [f64; L] = ms[i..i + L].try_into().expect("L means");
    let mut a = [[0.0f64; L]; 4];
    for q in 0..4 {
        for k in 0..4 {
            for l in 0..L {
                a[k][l] += (w[4 * q + k + l] - m[l]).abs();
            }
        }
    }
    for l in 0..L {
        let mut r = (a[0][l] + a[1][l]) + (a[2][l] + a[3][l]);
        for j in 16..19 {
            r += (w[j + l] - m[l]).abs();
        }
        mds[i + l] = (r + (w[19 + l] - m[l]).abs()) / 20.0;
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
