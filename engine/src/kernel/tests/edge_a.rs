//! Edge cases of group A: warm-ups (F1 i0), flat series (F2.6, F3), price scale, volume,
//! and panic isolation (Slot).

use super::common;

use crate::kernel::frame::{Config, Fault, Input, Out, Session, Slot, f};
use crate::kernel::group_a::*;

const CFG: Config = Config { session: Session::PerBar };

/// F1 first non-null index of every group-A field.
const I0: &[(usize, usize)] = &[
    (f::RSI, 14),
    (f::MACD, 33),
    (f::MACD_SIGNAL, 33),
    (f::MACD_HIST, 33),
    (f::ROC, 10),
    (f::MOMENTUM, 10),
    (f::STOCH_K, 17),
    (f::STOCH_D, 17),
    (f::WILLIAMS_R, 13),
    (f::SMA_20, 19),
    (f::SMA_50, 49),
    (f::SMA_200, 199),
    (f::EMA_12, 11),
    (f::EMA_26, 25),
    (f::EMA_50, 49),
    (f::EMA_200, 199),
    (f::KAMA, 10),
    (f::TEMA, 87),
    (f::TRIX, 88),
    (f::BB_UPPER, 19),
    (f::BB_MIDDLE, 19),
    (f::BB_LOWER, 19),
    (f::BB_BANDWIDTH, 19),
    (f::CCI, 19),
    (f::PPO, 25),
    (f::ICHIMOKU_TENKAN, 8),
    (f::ICHIMOKU_KIJUN, 25),
    (f::ICHIMOKU_SENKOU_A, 25),
    (f::ICHIMOKU_SENKOU_B, 51),
    (f::ICHIMOKU_CHIKOU, 26),
    (f::RETURN_1D, 1),
    (f::RETURN_5D, 5),
    (f::RETURN_20D, 20),
    (f::PRICE_TO_SMA20, 19),
    (f::PRICE_TO_SMA50, 49),
    (f::PRICE_TO_SMA200, 199),
    (f::RSI_DELTA, 15),
    (f::MACD_DELTA, 34),
    (f::PRICE_MOMENTUM_5D, 5),
    (f::BB_PERCENT, 19),
    (f::PRICE_RANGE, 0),
    (f::HIGH_LOW_SPREAD, 0),
    (f::HIGHER_HIGH, 1),
    (f::LOWER_LOW, 1),
    (f::TREND_STRENGTH, 19),
];

/// Owned OHLCV series.
#[derive(Clone)]
struct Bars {
    ts: Vec<i64>,
    o: Vec<f64>,
    h: Vec<f64>,
    l: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
}

impl Bars {
    fn from_ref(r: &common::RefFile) -> Self {
        Self {
            ts: r.ts.clone(),
            o: r.open.clone(),
            h: r.high.clone(),
            l: r.low.clone(),
            c: r.close.clone(),
            v: r.volume.clone(),
        }
    }

    fn flat(n: usize, price: f64) -> Self {
        Self {
            ts: (0..n as i64).collect(),
            o: vec![price; n],
            h: vec![price; n],
            l: vec![price; n],
            c: vec![price; n],
            v: vec![1000.0; n],
        }
    }

    fn truncate(mut self, n: usize) -> Self {
        for x in [&mut self.o, &mut self.h, &mut self.l, &mut self.c, &mut self.v] {
            x.truncate(n);
        }
        self.ts.truncate(n);
        self
    }

    fn scaled(&self, s: f64) -> Self {
        let m = |x: &Vec<f64>| x.iter().map(|p| p * s).collect();
        Self { o: m(&self.o), h: m(&self.h), l: m(&self.l), c: m(&self.c), ..self.clone() }
    }

    /// Appends `n` bars with o = h = l = c = the last close.
    fn then_flat(mut self, n: usize) -> Self {
        let p = *self.c.last().unwrap();
        let t = *self.ts.last().unwrap();
        for k in 0..n {
            self.ts.push(t + 1 + k as i64);
            for x in [&mut self.o, &mut self.h, &mut self.l, &mut self.c] {
                x.push(p);
            }
            self.v.push(0.0);
        }
        self
    }

    fn input(&self) -> Input<'_> {
        Input {
            t0: 0,
            ts: &self.ts,
            open: &self.o,
            high: &self.h,
            low: &self.l,
            close: &self.c,
            volume: &self.v,
        }
    }

    fn run(&self) -> Out {
        let inp = self.input();
        let mut out = Out::new(inp.len(), GroupA::FIELDS);
        let mut faults = Vec::new();
        GroupA::new().run(&inp, &CFG, &mut out, &mut faults);
        assert!(faults.is_empty(), "{faults:?}");
        out
    }
}

fn orcl() -> Bars {
    Bars::from_ref(&common::load(common::ORCL))
}

fn name(field: usize) -> &'static str {
    f::NAMES[field]
}

#[test]
fn fields_are_the_families_fields() {
    let mut all: Vec<usize> = [
        &Rsi::FIELDS[..],
        &Macd::FIELDS,
        &Returns::FIELDS,
        &Stoch::FIELDS,
        &Sma::FIELDS,
        &Emas::FIELDS,
        &Kama::FIELDS,
        &Tema::FIELDS,
        &Bollinger::FIELDS,
        &Cci::FIELDS,
        &Ichimoku::FIELDS,
        &BarShape::FIELDS,
    ]
    .concat();
    all.sort_unstable();
    let mut listed = GroupA::FIELDS.to_vec();
    listed.sort_unstable();
    assert_eq!(all, listed);
    all.dedup();
    assert_eq!(all.len(), 45);
    assert_eq!(I0.len(), 45);
}

#[test]
fn first_non_null_index_matches_f1() {
    let out = orcl().run();
    for &(field, i0) in I0 {
        let col = out.col(field);
        assert!(col[..i0].iter().all(|x| x.is_nan()), "{} non-null before {i0}", name(field));
        assert!(col[i0..].iter().all(|x| !x.is_nan()), "{} null after {i0}", name(field));
    }
}

#[test]
fn single_bar() {
    let out = orcl().truncate(1).run();
    for &(field, i0) in I0 {
        assert_eq!(out.col(field).len(), 1);
        assert_eq!(out.col(field)[0].is_nan(), i0 > 0, "{}", name(field));
    }
    // ORCL bar 0: h = 2.191358, l = 2.117284, c = 2.117284.
    assert_eq!(out.col(f::PRICE_RANGE)[0], 2.191358 - 2.117284);
    assert_eq!(out.col(f::HIGH_LOW_SPREAD)[0], (2.191358 - 2.117284) / 2.117284);
}

#[test]
fn five_bars_only_short_warm_ups() {
    let bars = orcl().truncate(5);
    let out = bars.run();
    for &(field, i0) in I0 {
        for t in 0..5 {
            assert_eq!(out.col(field)[t].is_nan(), t < i0, "{}[{t}]", name(field));
        }
    }
    assert_eq!(out.col(f::RETURN_1D)[4], bars.c[4] / bars.c[3] - 1.0);
    assert_eq!(out.col(f::HIGHER_HIGH)[1], f64::from(u8::from(bars.h[1] > bars.h[0])));
    assert_eq!(out.col(f::LOWER_LOW)[1], f64::from(u8::from(bars.l[1] < bars.l[0])));
}

#[test]
fn flat_series_degenerate_rules() {
    let p = 25.0; // sums of up to 200 copies are exact
    let out = Bars::flat(300, p).run();
    let from = |field: usize, i0: usize, want: f64| {
        for (t, &x) in out.col(field).iter().enumerate().skip(i0) {
            assert_eq!(x, want, "{}[{t}]", name(field));
        }
    };
    from(f::RSI, 14, 0.0); // 0 if ZERO(G+L) (F3.2)
    from(f::RSI_DELTA, 15, 0.0);
    from(f::STOCH_K, 17, 0.0); // fastK 0 on a flat window
    from(f::STOCH_D, 17, 0.0);
    from(f::WILLIAMS_R, 13, 0.0);
    from(f::CCI, 19, 0.0); // ZERO_SCALED (F3.8)
    from(f::TREND_STRENGTH, 19, 0.0); // SD_ZERO (F3.14)
    from(f::BB_UPPER, 19, p);
    from(f::BB_LOWER, 19, p);
    from(f::BB_BANDWIDTH, 19, 0.0);
    from(f::KAMA, 10, p);
    from(f::TEMA, 87, p);
    from(f::TRIX, 88, 0.0);
    from(f::MACD, 33, 0.0);
    from(f::PPO, 25, 0.0);
    from(f::ROC, 10, 0.0);
    from(f::RETURN_20D, 20, 0.0);
    from(f::PRICE_TO_SMA200, 199, 0.0);
    from(f::ICHIMOKU_SENKOU_B, 51, p);
    from(f::PRICE_RANGE, 0, 0.0);
    from(f::HIGHER_HIGH, 1, 0.0);
    from(f::LOWER_LOW, 1, 0.0);
    // %B is null on a zero-width band (F3.4 SD_ZERO).
    assert!(out.col(f::BB_PERCENT).iter().all(|x| x.is_nan()));
}

#[test]
fn flat_stretch_after_real_history() {
    let (n, flat) = (1000, 300);
    let bars = orcl().truncate(n).then_flat(flat);
    let out = bars.run();
    let p = bars.c[n - 1];
    let col = |field: usize| out.col(field);
    // F2.6: the Wilder sums decay but are not zero; RSI keeps its last ratio.
    let r0 = col(f::RSI)[n];
    assert!(r0 > 0.0 && r0 < 100.0);
    for t in n..n + flat {
        assert!((col(f::RSI)[t] - r0).abs() <= 1e-9 * r0, "rsi[{t}]");
    }
    for t in n + 19..n + flat {
        // 20 identical closes / typical prices: the degenerate branches.
        assert!(col(f::BB_PERCENT)[t].is_nan(), "bb_percent[{t}]");
        assert_eq!(col(f::TREND_STRENGTH)[t], 0.0, "trend_strength[{t}]");
        assert_eq!(col(f::CCI)[t], 0.0, "cci[{t}]");
        assert_eq!(col(f::STOCH_D)[t], 0.0, "stoch_d[{t}]");
        assert_eq!(col(f::WILLIAMS_R)[t], 0.0, "williams_r[{t}]");
        assert!((col(f::BB_UPPER)[t] - col(f::BB_LOWER)[t]).abs() <= 1e-12 * p);
    }
    // The bar before the window is flat: still a real band and %B.
    assert!(!col(f::BB_PERCENT)[n + 17].is_nan());
    // KAMA: ER = 1 on a flat window (ZERO(vol)), so it converges to the price.
    assert!((col(f::KAMA)[n + flat - 1] - p).abs() <= 1e-12 * p);
    assert_eq!(col(f::PRICE_MOMENTUM_5D)[n + 10], 0.0);
}

/// `|a − b| <= tol·max(|a|, |b|, median |b|)` with matching nulls.
fn assert_close(field: usize, a: &[f64], b: &[f64], tol: f64, what: &str) {
    let mut mags: Vec<f64> =
        b.iter().filter(|x| !x.is_nan() && **x != 0.0).map(|x| x.abs()).collect();
    mags.sort_by(f64::total_cmp);
    let scale = mags.get(mags.len() / 2).copied().unwrap_or(0.0);
    for (t, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.is_nan(), y.is_nan(), "{what}: {}[{t}] null pattern {x} vs {y}", name(field));
        if !x.is_nan() {
            let ok = (x - y).abs() <= tol * x.abs().max(y.abs()).max(scale);
            assert!(ok, "{what}: {}[{t}] {x} vs {y}", name(field));
        }
    }
}

#[test]
fn price_scale() {
    let bars = orcl();
    let base = bars.run();
    let invariant = [
        f::RSI,
        f::RSI_DELTA,
        f::STOCH_K,
        f::STOCH_D,
        f::WILLIAMS_R,
        f::ROC,
        f::RETURN_1D,
        f::RETURN_5D,
        f::RETURN_20D,
        f::PRICE_TO_SMA20,
        f::PRICE_TO_SMA50,
        f::PRICE_TO_SMA200,
        f::BB_BANDWIDTH,
        f::BB_PERCENT,
        f::TREND_STRENGTH,
        f::CCI,
        f::PPO,
        f::TRIX,
        f::HIGH_LOW_SPREAD,
    ];
    for s in [1e-6, 1e4] {
        let out = bars.scaled(s).run();
        let what = format!("x{s:e}");
        for field in invariant {
            assert_close(field, out.col(field), base.col(field), 1e-9, &what);
        }
        for &(field, _) in I0 {
            if invariant.contains(&field) || matches!(field, f::HIGHER_HIGH | f::LOWER_LOW) {
                continue;
            }
            // Price-unit fields scale linearly.
            let want: Vec<f64> = base.col(field).iter().map(|x| x * s).collect();
            assert_close(field, out.col(field), &want, 1e-9, &what);
        }
        for field in [f::HIGHER_HIGH, f::LOWER_LOW] {
            let (a, b) = (out.col(field), base.col(field));
            assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "{}", name(field));
        }
        // No absolute floor (F2.6): bands and trend_strength stay alive at 1e-6.
        for t in 19..bars.c.len() {
            assert!(out.col(f::BB_UPPER)[t] > out.col(f::BB_LOWER)[t], "{what} band [{t}]");
            assert_eq!(out.col(f::TREND_STRENGTH)[t] == 0.0, base.col(f::TREND_STRENGTH)[t] == 0.0);
        }
        assert!(out.col(f::BB_PERCENT)[19..].iter().all(|x| !x.is_nan()));
    }
}

#[test]
fn volume_is_not_used() {
    let bars = orcl();
    let base = bars.run();
    let mut zero = bars.clone();
    zero.v.iter_mut().for_each(|v| *v = 0.0);
    let out = zero.run();
    for &field in GroupA::FIELDS {
        let same =
            out.col(field).iter().zip(base.col(field)).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{} depends on volume", name(field));
    }
}

#[test]
fn slot_isolates_a_panicking_closure() {
    let bars = orcl().truncate(50);
    let inp = bars.input();
    let mut out = Out::new(inp.len(), GroupA::FIELDS);
    let mut faults: Vec<Fault> = Vec::new();
    let mut rsi = Slot::new(Rsi::new());
    rsi.run("rsi", &Rsi::FIELDS, &inp, &mut out, &mut faults, |s, out| {
        s.run(&inp, out);
        panic!("injected");
    });
    assert!(rsi.failed);
    assert_eq!(
        faults,
        vec![Fault { family: "rsi".into(), first_bar: 0, reason: "injected".into() }]
    );
    // Its fields are nulled even though it had written them before panicking.
    assert!(out.col(f::RSI).iter().all(|x| x.is_nan()));
    // A failed slot stays out for the rest of the series.
    rsi.run("rsi", &Rsi::FIELDS, &inp, &mut out, &mut faults, |_, _| unreachable!());
    assert_eq!(faults.len(), 1);
}

#[test]
fn a_failing_family_leaves_the_others_computed() {
    let bars = orcl();
    let batch = bars.run();
    let (a, b) = (300, 600);
    let mut group = GroupA::new();
    let mut faults = Vec::new();
    let chunk = |a: usize, b: usize| Input {
        t0: a as u64,
        ts: &bars.ts[a..b],
        open: &bars.o[a..b],
        high: &bars.h[a..b],
        low: &bars.l[a..b],
        close: &bars.c[a..b],
        volume: &bars.v[a..b],
    };
    let mut out = Out::new(a, GroupA::FIELDS);
    group.run(&chunk(0, a), &CFG, &mut out, &mut faults);
    // Lose the KAMA state: its next chunk does not continue the series and must panic.
    group.kama.inner = Kama::new();
    let mut out = Out::new(b - a, GroupA::FIELDS);
    group.run(&chunk(a, b), &CFG, &mut out, &mut faults);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].family, "kama");
    assert_eq!(faults[0].first_bar, a as u64);
    assert!(faults[0].reason.contains("family state is at bar 0"), "{}", faults[0].reason);
    assert!(out.col(f::KAMA).iter().all(|x| x.is_nan()));
    for &field in GroupA::FIELDS.iter().filter(|&&x| x != f::KAMA) {
        let same = out
            .col(field)
            .iter()
            .zip(&batch.col(field)[a..b])
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{} changed by the kama fault", name(field));
    }
    // Later chunks: kama stays null, no new fault.
    let mut out = Out::new(bars.c.len() - b, GroupA::FIELDS);
    group.run(&chunk(b, bars.c.len()), &CFG, &mut out, &mut faults);
    assert_eq!(faults.len(), 1);
    assert!(out.col(f::KAMA).iter().all(|x| x.is_nan()));
    assert_eq!(out.col(f::RSI), &batch.col(f::RSI)[b..]);
}

#[test]
fn williams_r_is_clamped_to_its_range_on_invalid_bars() {
    // An OHLC-invalid bar whose close lies above every high of the window (AOS 2014-05-19 in
    // the S&P sample) and one whose close lies below every low: TA-Lib 0.8 gives 0 and -100.
    let mut bars = orcl().truncate(40);
    let hh = bars.h[26..40].iter().copied().fold(f64::MIN, f64::max);
    bars.c[39] = hh * 1.05;
    let out = bars.run();
    assert_eq!(out.col(f::WILLIAMS_R)[39], 0.0);
    let ll = bars.l[25..39].iter().copied().fold(f64::MAX, f64::min);
    bars.c[38] = ll * 0.5;
    let out = bars.run();
    assert_eq!(out.col(f::WILLIAMS_R)[38], -100.0);
    // The stochastic is not clamped (TA-Lib does not clamp STOCH either).
    assert!(out.col(f::STOCH_K)[39].is_finite());
}
