//! Edge cases of group B with asserted values.

use crate::kernel::frame::{Config, Fault, Input, Out, Session, Slot, f};
use crate::kernel::group_b::{GroupB, Obv};
use chrono::TimeZone;
use chrono_tz::America::New_York;

/// Owned bars.
#[derive(Clone, Default)]
struct Bars {
    ts: Vec<i64>,
    o: Vec<f64>,
    h: Vec<f64>,
    l: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
}

impl Bars {
    fn push(&mut self, ts: i64, o: f64, h: f64, l: f64, c: f64, v: f64) {
        self.ts.push(ts);
        self.o.push(o);
        self.h.push(h);
        self.l.push(l);
        self.c.push(c);
        self.v.push(v);
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
    fn run(&self, session: Session) -> Out {
        let inp = self.input();
        let mut out = Out::new(inp.len(), GroupB::FIELDS);
        let mut faults = Vec::new();
        GroupB::new().run(&inp, &Config { session }, &mut out, &mut faults);
        assert!(faults.is_empty());
        out
    }
    /// Random-walk daily bars.
    fn walk(n: usize, seed: u64, scale: f64) -> Self {
        let mut x = seed | 1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut b = Bars::default();
        let mut p = 100.0;
        for i in 0..n {
            let o = p * (1.0 + 0.01 * (rnd() - 0.5));
            p *= 1.0 + 0.04 * (rnd() - 0.5);
            let h = o.max(p) * (1.0 + 0.02 * rnd());
            let l = o.min(p) * (1.0 - 0.02 * rnd());
            let v = (1e5 * rnd()).round();
            b.push(i as i64 * 86_400_000_000, o * scale, h * scale, l * scale, p * scale, v);
        }
        b
    }
}

fn first_non_null(col: &[f64]) -> Option<usize> {
    col.iter().position(|x| !x.is_nan())
}

const DAY: i64 = 86_400_000_000;

#[test]
fn warm_up_indices_match_f1() {
    let out = Bars::walk(400, 7, 1.0).run(Session::PerBar);
    let want = [
        (f::ADX, 27),
        (f::PLUS_DI, 14),
        (f::MINUS_DI, 14),
        (f::ATR, 14),
        (f::ATR_PERCENT, 14),
        (f::SUPERTREND, 10),
        (f::SUPERTREND_DIRECTION, 10),
        (f::OBV, 0),
        (f::OBV_SLOPE_5D, 4),
        (f::PVO, 25),
        (f::PVO_SIGNAL, 33),
        (f::MFI, 14),
        (f::CMF, 19),
        (f::VWAP_DAILY, 0),
        (f::VWAP_WEEKLY, 4),
        (f::VOLUME_PROFILE_POC, 19),
        (f::VOLUME_PROFILE_VAH, 19),
        (f::VOLUME_PROFILE_VAL, 19),
        (f::VOLUME_RATIO_20D, 19),
        (f::VOLUME_SPIKE, 19),
        (f::VOLATILITY_20D, 20),
        (f::REGIME_VOLATILITY, 271),
        (f::REGIME_TREND, 27),
        (f::REGIME_VOLUME, 270),
        (f::GAP_DETECTED, 0),
        (f::VOLUME_ANOMALY, 0),
        (f::QUALITY_SCORE, 0),
        (f::IS_VALIDATED, 0),
        (f::VALIDATION_NOTES, 0),
    ];
    for (field, i0) in want {
        let col = out.col(field);
        assert_eq!(first_non_null(col), Some(i0), "{}", f::NAMES[field]);
        assert!(col[i0..].iter().all(|x| !x.is_nan()), "{} has a null after i0", f::NAMES[field]);
    }
}

#[test]
fn single_bar() {
    let mut b = Bars::default();
    b.push(0, 10.0, 11.0, 9.0, 10.5, 1000.0);
    let out = b.run(Session::PerBar);
    assert_eq!(out.col(f::OBV)[0], 1000.0);
    assert!((out.col(f::VWAP_DAILY)[0] - 30.5 / 3.0).abs() < 1e-12);
    assert!(out.col(f::VWAP_WEEKLY)[0].is_nan());
    assert_eq!(out.col(f::GAP_DETECTED)[0], 0.0);
    assert_eq!(out.col(f::VOLUME_ANOMALY)[0], 0.0);
    assert_eq!(out.col(f::QUALITY_SCORE)[0], 1.0);
    assert_eq!(out.col(f::IS_VALIDATED)[0], 1.0);
    assert_eq!(out.col(f::VALIDATION_NOTES)[0], 0.0);
    for &field in GroupB::FIELDS {
        if ![
            f::OBV,
            f::VWAP_DAILY,
            f::GAP_DETECTED,
            f::VOLUME_ANOMALY,
            f::QUALITY_SCORE,
            f::IS_VALIDATED,
            f::VALIDATION_NOTES,
        ]
        .contains(&field)
        {
            assert!(out.col(field)[0].is_nan(), "{}", f::NAMES[field]);
        }
    }
}

#[test]
fn shorter_than_every_warm_up() {
    let b = Bars::walk(4, 3, 1.0);
    let out = b.run(Session::PerBar);
    for &field in GroupB::FIELDS {
        let nonnull = out.col(field).iter().filter(|x| !x.is_nan()).count();
        let always = [
            f::OBV,
            f::VWAP_DAILY,
            f::GAP_DETECTED,
            f::VOLUME_ANOMALY,
            f::QUALITY_SCORE,
            f::IS_VALIDATED,
            f::VALIDATION_NOTES,
        ];
        assert_eq!(nonnull, if always.contains(&field) { 4 } else { 0 }, "{}", f::NAMES[field]);
    }
}

#[test]
fn flat_stretch() {
    let mut b = Bars::default();
    for i in 0..300 {
        b.push(i * DAY, 10.0, 10.0, 10.0, 10.0, 100.0);
    }
    let out = b.run(Session::PerBar);
    let t = 299;
    for field in [f::VOLUME_PROFILE_POC, f::VOLUME_PROFILE_VAH, f::VOLUME_PROFILE_VAL] {
        assert_eq!(out.col(field)[19], 10.0); // hi = lo rule
        assert_eq!(out.col(field)[t], 10.0);
    }
    assert_eq!(out.col(f::PLUS_DI)[14], 0.0); // ZERO(S_TR)
    assert_eq!(out.col(f::MINUS_DI)[t], 0.0);
    assert_eq!(out.col(f::ADX)[27], 0.0); // undefined DX counts as 0 in the seed
    assert_eq!(out.col(f::ADX)[t], 0.0); // then adx stays
    assert_eq!(out.col(f::REGIME_TREND)[t], 1.0); // sideways
    assert_eq!(out.col(f::ATR)[t], 0.0);
    assert_eq!(out.col(f::ATR_PERCENT)[t], 0.0);
    assert_eq!(out.col(f::CMF)[t], 0.0); // h − l = 0 → mfm 0
    assert_eq!(out.col(f::MFI)[t], 0.0); // no flow → P + N = 0
    assert_eq!(out.col(f::VOLUME_RATIO_20D)[t], 1.0);
    assert!(out.col(f::VOLUME_SPIKE)[t].is_nan()); // SD_ZERO
    assert_eq!(out.col(f::VOLATILITY_20D)[t], 0.0);
    assert!(out.col(f::REGIME_VOLATILITY)[270].is_nan());
    assert_eq!(out.col(f::REGIME_VOLATILITY)[271], 1.0); // all equal: q = 252 → normal
    assert_eq!(out.col(f::REGIME_VOLUME)[t], 1.0);
    assert_eq!(out.col(f::PVO)[t], 0.0);
    assert_eq!(out.col(f::OBV)[t], 100.0); // unchanged closes
    assert_eq!(out.col(f::OBV_SLOPE_5D)[t], 0.0);
    assert_eq!(out.col(f::SUPERTREND)[t], 10.0);
    assert_eq!(out.col(f::SUPERTREND_DIRECTION)[t], -1.0);
    assert_eq!(out.col(f::VWAP_WEEKLY)[t], 10.0);
}

#[test]
fn zero_volume_windows() {
    let mut b = Bars::walk(300, 11, 1.0);
    b.v.iter_mut().for_each(|v| *v = 0.0);
    let out = b.run(Session::PerBar);
    for t in [0, 19, 100, 299] {
        assert!(out.col(f::VWAP_DAILY)[t].is_nan());
        assert!(out.col(f::VWAP_WEEKLY)[t].is_nan());
    }
    for t in [19, 100, 299] {
        assert!(out.col(f::CMF)[t].is_nan());
        assert!(out.col(f::VOLUME_RATIO_20D)[t].is_nan());
        assert!(out.col(f::VOLUME_SPIKE)[t].is_nan());
        assert!(out.col(f::VOLUME_PROFILE_POC)[t].is_nan());
        assert!(out.col(f::VOLUME_PROFILE_VAH)[t].is_nan());
        assert!(out.col(f::VOLUME_PROFILE_VAL)[t].is_nan());
        assert_eq!(out.col(f::MFI)[t], 0.0);
    }
    assert!(out.col(f::REGIME_VOLUME).iter().all(|x| x.is_nan()));
    assert_eq!(out.col(f::PVO)[299], 0.0); // ZERO(EMA(v,26))
    assert_eq!(out.col(f::VOLUME_ANOMALY)[299], 0.0); // med = 0
    // A window that becomes all-zero after volume: the exact window sum takes the null branch.
    let mut b = Bars::walk(80, 12, 1.0);
    for v in &mut b.v[30..] {
        *v = 0.0;
    }
    b.v[29] = 123_456.789;
    let out = b.run(Session::PerBar);
    assert!(!out.col(f::CMF)[48].is_nan());
    assert!(out.col(f::CMF)[49].is_nan());
    assert!(out.col(f::VOLUME_PROFILE_POC)[49].is_nan());
    assert!(out.col(f::VOLUME_RATIO_20D)[49].is_nan());
    assert_eq!(out.col(f::MFI)[29 + 14], 0.0);
}

#[test]
fn price_scale_invariance() {
    let base = Bars::walk(600, 5, 1.0).run(Session::PerBar);
    for scale in [1e-6, 1e4] {
        let out = Bars::walk(600, 5, scale).run(Session::PerBar);
        for &field in GroupB::FIELDS {
            let (a, b) = (base.col(field), out.col(field));
            for t in 0..600 {
                assert_eq!(
                    a[t].is_nan(),
                    b[t].is_nan(),
                    "{} null pattern at {t}, scale {scale}",
                    f::NAMES[field]
                );
            }
        }
        let price = [
            f::ATR,
            f::SUPERTREND,
            f::VWAP_DAILY,
            f::VWAP_WEEKLY,
            f::VOLUME_PROFILE_POC,
            f::VOLUME_PROFILE_VAH,
            f::VOLUME_PROFILE_VAL,
        ];
        for &field in GroupB::FIELDS {
            let k = if price.contains(&field) { scale } else { 1.0 };
            let (a, b) = (base.col(field), out.col(field));
            for t in 0..600 {
                if a[t].is_nan() {
                    continue;
                }
                let want = a[t] * k;
                let tol = 1e-7 * want.abs().max(k * 1e-3);
                assert!(
                    (b[t] - want).abs() <= tol,
                    "{}[{t}] scale {scale}: {} vs {}",
                    f::NAMES[field],
                    b[t],
                    want
                );
            }
        }
    }
}

#[test]
fn gaps_in_time_do_not_matter_for_per_bar_fields() {
    let a = Bars::walk(300, 9, 1.0);
    let mut b = a.clone();
    let mut t = 0;
    for (i, ts) in b.ts.iter_mut().enumerate() {
        t += if i % 7 == 0 { 5 * DAY } else { DAY };
        *ts = t;
    }
    let (x, y) = (a.run(Session::PerBar), b.run(Session::PerBar));
    for &field in GroupB::FIELDS {
        let same = x.col(field).iter().zip(y.col(field)).all(|(p, q)| p.to_bits() == q.to_bits());
        assert!(same, "{}", f::NAMES[field]);
    }
}

fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    New_York.with_ymd_and_hms(y, m, d, h, min, 0).earliest().unwrap().timestamp_micros()
}

/// VWAP sessions over `America/New_York` calendar dates, checked against a per-bar
/// reference that converts every timestamp.
#[test]
fn new_york_sessions_across_dst_and_half_day() {
    let mut b = Bars::default();
    let mut push = |ts: i64, p: f64, v: f64| b.push(ts, p, p + 1.0, p - 1.0, p, v);
    // 2024-03-09 evening (EST) → 2024-03-10 (spring forward at 02:00) → 2024-03-11.
    push(ny(2024, 3, 9, 16, 0), 10.0, 100.0);
    push(ny(2024, 3, 9, 23, 59), 11.0, 200.0);
    push(ny(2024, 3, 10, 0, 0), 12.0, 300.0); // new session at NY midnight (05:00 UTC)
    push(ny(2024, 3, 10, 1, 59), 13.0, 100.0);
    push(ny(2024, 3, 10, 3, 0), 14.0, 100.0); // one minute later in UTC, same session
    push(ny(2024, 3, 10, 23, 30), 15.0, 100.0); // 2024-03-11 03:30 UTC: still 03-10 in NY
    push(ny(2024, 3, 11, 0, 0), 16.0, 100.0); // new session
    // 2024-11-03 (fall back at 02:00 EDT → 01:00 EST).
    let fall = New_York.with_ymd_and_hms(2024, 11, 3, 1, 30, 0);
    let (edt, est) = match fall {
        chrono::LocalResult::Ambiguous(a, b) => (a.timestamp_micros(), b.timestamp_micros()),
        _ => unreachable!(),
    };
    push(ny(2024, 11, 2, 23, 0), 20.0, 100.0);
    push(ny(2024, 11, 3, 0, 30), 21.0, 100.0); // new session
    push(edt, 22.0, 100.0);
    push(est, 23.0, 100.0); // same session, an hour later
    push(ny(2024, 11, 3, 23, 59), 24.0, 100.0); // 2024-11-04 04:59 UTC: still 11-03
    push(ny(2024, 11, 4, 0, 0), 25.0, 100.0); // new session (05:00 UTC)
    // Half day 2024-11-29 (closes 13:00 ET), then Monday 2024-12-02.
    push(ny(2024, 11, 29, 9, 30), 30.0, 100.0);
    push(ny(2024, 11, 29, 13, 0), 31.0, 300.0);
    push(ny(2024, 12, 2, 9, 30), 32.0, 100.0);
    push(ny(2024, 12, 2, 9, 31), 33.0, 100.0);
    let out = b.run(Session::Tz(New_York));

    let sessions = [0, 0, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 5, 6, 6, 7, 7];
    // Per-bar reference: group by NY calendar date.
    let dates: Vec<_> =
        b.ts.iter()
            .map(|&t| {
                chrono::DateTime::from_timestamp_micros(t)
                    .unwrap()
                    .with_timezone(&New_York)
                    .date_naive()
            })
            .collect();
    let mut s = 0;
    for t in 0..b.ts.len() {
        if t > 0 && dates[t] != dates[t - 1] {
            s += 1;
        }
        assert_eq!(s, sessions[t], "bar {t}");
    }
    let tp: Vec<f64> = (0..b.ts.len()).map(|t| (b.h[t] + b.l[t] + b.c[t]) / 3.0).collect();
    for t in 0..b.ts.len() {
        let in_session = |k: usize, lo: usize| sessions[k] >= lo && sessions[k] <= sessions[t];
        let vw = |lo: usize| {
            let (mut pv, mut v) = (0.0, 0.0);
            for k in 0..=t {
                if in_session(k, lo) {
                    pv += tp[k] * b.v[k];
                    v += b.v[k];
                }
            }
            pv / v
        };
        let daily = vw(sessions[t]);
        assert!((out.col(f::VWAP_DAILY)[t] - daily).abs() <= 1e-12 * daily, "daily {t}");
        let weekly = out.col(f::VWAP_WEEKLY)[t];
        if sessions[t] < 4 {
            assert!(weekly.is_nan(), "weekly {t}");
        } else {
            let want = vw(sessions[t] - 4);
            assert!((weekly - want).abs() <= 1e-12 * want, "weekly {t}");
        }
    }
    // Spot values: the first bar of 2024-03-10 NY is its own VWAP (= tp = 12).
    assert_eq!(out.col(f::VWAP_DAILY)[2], 12.0);
    assert_eq!(out.col(f::VWAP_DAILY)[15], 32.0);

    // Same bars in UTC sessions group differently (bar 5 is 2024-03-11 in UTC).
    let utc = b.run(Session::Tz(chrono_tz::UTC));
    assert_eq!(utc.col(f::VWAP_DAILY)[5], 15.0);
    assert_ne!(out.col(f::VWAP_DAILY)[5], 15.0);
}

#[test]
fn exact_ten_percent_gap_is_not_a_gap() {
    let mut b = Bars::default();
    let opens = [10.0, 11.0, 10.0, 11.01, 10.0, 9.0, 10.0, 8.99];
    for (i, &o) in opens.iter().enumerate() {
        // Every bar closes at 10.00.
        b.push(i as i64 * DAY, o, o.max(10.0), o.min(10.0), 10.0, 100.0);
    }
    let out = b.run(Session::PerBar);
    assert_eq!(out.col(f::GAP_DETECTED), &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    assert_eq!(out.col(f::QUALITY_SCORE)[3], 0.8);
    assert_eq!(out.col(f::IS_VALIDATED)[3], 0.0);
    assert_eq!(out.col(f::VALIDATION_NOTES)[3], 2.0);
    assert_eq!(out.col(f::IS_VALIDATED)[1], 1.0);
}

#[test]
fn volume_anomaly_uses_even_count_median() {
    // 20 previous volumes: ten of 100 and ten of 300 → median (100 + 300)/2 = 200.
    let mut base = Bars::default();
    for i in 0..20 {
        base.push(i * DAY, 10.0, 10.0, 10.0, 10.0, if i % 2 == 0 { 100.0 } else { 300.0 });
    }
    for (v, want) in [(2000.0, 0.0), (2000.5, 1.0), (20.0, 0.0), (19.9, 1.0), (200.0, 0.0)] {
        let mut b = base.clone();
        b.push(20 * DAY, 10.0, 10.0, 10.0, 10.0, v);
        let out = b.run(Session::PerBar);
        assert_eq!(out.col(f::VOLUME_ANOMALY)[20], want, "v = {v}");
        assert_eq!(out.col(f::QUALITY_SCORE)[20], if want == 1.0 { 0.9 } else { 1.0 });
        assert_eq!(out.col(f::IS_VALIDATED)[20], 1.0); // 0.9 ≥ 0.85
        assert_eq!(out.col(f::VALIDATION_NOTES)[20], 4.0 * want);
        assert_eq!(out.col(f::VOLUME_ANOMALY)[19], 0.0); // needs 20 previous bars
    }
}

#[test]
fn invalid_ohlc_is_penalized() {
    let mut b = Bars::default();
    b.push(0, 10.0, 10.0, 10.0, 10.0, 100.0);
    b.push(DAY, 10.0, 9.0, 11.0, 10.0, 100.0); // l > h
    b.push(2 * DAY, 12.0, 12.5, 11.9, 12.0, -1.0); // negative volume and a 20% gap
    let out = b.run(Session::PerBar);
    assert_eq!(out.col(f::QUALITY_SCORE), &[1.0, 0.5, 0.3]);
    assert_eq!(out.col(f::VALIDATION_NOTES), &[0.0, 1.0, 3.0]);
    assert_eq!(out.col(f::IS_VALIDATED), &[1.0, 0.0, 0.0]);
}

/// A literal F3.12 implementation (every bin scanned, `v·ov/(b − a)`), compared with the
/// kernel on windows with flat bars, repeated prices and zero volumes.
#[test]
fn volume_profile_equals_literal_spec() {
    fn literal(bars: &[(f64, f64, f64)]) -> Option<(f64, f64, f64)> {
        let lo = bars.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
        let hi = bars.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = bars.iter().map(|b| b.2).sum();
        if total <= 0.0 {
            return None;
        }
        if hi == lo {
            return Some((lo, lo, lo));
        }
        let w = (hi - lo) / 24.0;
        let e: Vec<f64> = (0..=24).map(|k| if k == 24 { hi } else { lo + k as f64 * w }).collect();
        let mut vol = [0.0; 24];
        for &(a, b, v) in bars {
            if b > a {
                for k in 0..24 {
                    let ov = b.min(e[k + 1]) - a.max(e[k]);
                    if ov > 0.0 {
                        vol[k] += v * ov / (b - a);
                    }
                }
            } else {
                vol[(((a - lo) / w).floor() as usize).min(23)] += v;
            }
        }
        let m = vol.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let kp = (0..24).find(|&k| vol[k] >= m * (1.0 - 1e-9)).unwrap();
        let (mut a, mut b, mut s) = (kp, kp, vol[kp]);
        while s < 0.70 * total * (1.0 - 1e-9) {
            let up = (b < 23).then(|| vol[b + 1]);
            let dn = (a > 0).then(|| vol[a - 1]);
            match (up, dn) {
                (Some(u), Some(d)) if (u - d).abs() <= 1e-9 * u.max(d) => {
                    s += u + d;
                    b += 1;
                    a -= 1;
                }
                (Some(u), Some(d)) if u > d => {
                    s += u;
                    b += 1;
                }
                (Some(u), None) => {
                    s += u;
                    b += 1;
                }
                (_, Some(d)) => {
                    s += d;
                    a -= 1;
                }
                (None, None) => break,
            }
        }
        Some((lo + (kp as f64 + 0.5) * w, e[b + 1], e[a]))
    }
    let mut bars = Bars::walk(3000, 21, 1.0);
    for t in 0..3000 {
        match t % 13 {
            0 => bars.h[t] = bars.l[t],                       // flat bar
            5 => bars.v[t] = 0.0,                             // zero volume
            7 => bars.l[t] = (bars.l[t] * 4.0).round() / 4.0, // repeated tick prices
            _ => {}
        }
        if (1000..1040).contains(&t) {
            bars.v[t] = 0.0; // an all-zero window
        }
    }
    let out = bars.run(Session::PerBar);
    let mut mismatches = 0;
    for t in 19..3000 {
        let win: Vec<(f64, f64, f64)> = (t - 19..=t)
            .map(|j| (bars.l[j].min(bars.h[j]), bars.l[j].max(bars.h[j]), bars.v[j]))
            .collect();
        let got = (
            out.col(f::VOLUME_PROFILE_POC)[t],
            out.col(f::VOLUME_PROFILE_VAH)[t],
            out.col(f::VOLUME_PROFILE_VAL)[t],
        );
        match literal(&win) {
            None => assert!(got.0.is_nan() && got.1.is_nan() && got.2.is_nan(), "bar {t}"),
            Some(w) => {
                if w != got {
                    mismatches += 1;
                    eprintln!("bar {t}: literal {w:?}, kernel {got:?}");
                }
            }
        }
    }
    assert_eq!(mismatches, 0);
}

#[test]
fn a_panicking_family_is_isolated() {
    let b = Bars::walk(50, 4, 1.0);
    let inp = b.input();
    let mut out = Out::new(inp.len(), GroupB::FIELDS);
    let mut faults: Vec<Fault> = Vec::new();
    GroupB::new().run(&inp, &Config { session: Session::PerBar }, &mut out, &mut faults);
    let before_atr = out.col(f::ATR).to_vec();
    assert!(out.col(f::OBV).iter().all(|x| !x.is_nan()));

    let mut slot = Slot::new(Obv::default());
    slot.run("obv", Obv::FIELDS, &inp, &mut out, &mut faults, |state, out| {
        state.run(&inp, out);
        panic!("boom");
    });
    assert!(slot.failed);
    assert_eq!(faults, vec![Fault { family: "obv".into(), first_bar: 0, reason: "boom".into() }]);
    assert!(out.col(f::OBV).iter().all(|x| x.is_nan()));
    assert!(out.col(f::OBV_SLOPE_5D).iter().all(|x| x.is_nan()));
    // Other fields untouched.
    assert_eq!(
        out.col(f::ATR).iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        before_atr.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    assert!(out.col(f::QUALITY_SCORE).iter().all(|x| !x.is_nan()));
    // A failed slot stays failed and silent.
    let mut out2 = Out::new(inp.len(), GroupB::FIELDS);
    slot.run("obv", Obv::FIELDS, &inp, &mut out2, &mut faults, |s, o| s.run(&inp, o));
    assert_eq!(faults.len(), 1);
    assert!(out2.col(f::OBV).iter().all(|x| x.is_nan()));
}
