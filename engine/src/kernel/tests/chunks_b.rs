//! Chunk invariance: one call over N bars == any split into consecutive calls (bitwise
//! outputs and identical end state).

use super::common;

use crate::kernel::frame::{Config, Input, Out, Session};
use crate::kernel::group_b::GroupB;

fn run_split(inp: &Input<'_>, cfg: &Config, cuts: &[usize]) -> (Vec<Vec<u64>>, String) {
    let n = inp.len();
    let mut g = GroupB::new();
    let mut cols: Vec<Vec<u64>> = vec![Vec::with_capacity(n); GroupB::FIELDS.len()];
    let mut faults = Vec::new();
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < n));
    bounds.push(n);
    for w in bounds.windows(2) {
        let (a, b) = (w[0], w[1]);
        let part = Input {
            t0: inp.t0 + a as u64,
            ts: &inp.ts[a..b],
            open: &inp.open[a..b],
            high: &inp.high[a..b],
            low: &inp.low[a..b],
            close: &inp.close[a..b],
            volume: &inp.volume[a..b],
        };
        let mut out = Out::new(b - a, GroupB::FIELDS);
        g.run(&part, cfg, &mut out, &mut faults);
        for (c, &field) in cols.iter_mut().zip(GroupB::FIELDS) {
            // NaN == NaN: canonicalize nulls.
            c.extend(
                out.col(field).iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }),
            );
        }
    }
    assert!(faults.is_empty());
    (cols, format!("{g:?}"))
}

/// Deterministic split points: random chunk sizes in 1..=max.
fn random_cuts(seed: u64, n: usize, max: usize) -> Vec<usize> {
    let mut x = seed | 1;
    let mut cuts = Vec::new();
    let mut pos = 0;
    while pos < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pos += 1 + (x % max as u64) as usize;
        cuts.push(pos);
    }
    cuts
}

fn check(inp: &Input<'_>, cfg: &Config, rounds: u64) {
    let (whole, state) = run_split(inp, cfg, &[]);
    let n = inp.len();
    let mut cases: Vec<Vec<usize>> = vec![(1..n).collect()]; // every chunk of size 1
    for seed in 0..rounds {
        cases.push(random_cuts(seed * 7919 + 1, n, [3, 17, 300, 2000][seed as usize % 4]));
    }
    for cuts in cases {
        let (parts, st) = run_split(inp, cfg, &cuts);
        for (k, (a, b)) in whole.iter().zip(&parts).enumerate() {
            if let Some(t) = a.iter().zip(b).position(|(x, y)| x != y) {
                panic!(
                    "{} differs at bar {t} (cuts {:?}...)",
                    crate::kernel::frame::f::NAMES[GroupB::FIELDS[k]],
                    &cuts[..cuts.len().min(5)]
                );
            }
        }
        assert_eq!(state, st, "end state differs");
    }
}

#[test]
fn minute_prefix_is_chunk_invariant() {
    let r = common::load(common::MINUTE);
    let inp = r.slice(0, 5000);
    check(&inp, &Config { session: Session::Tz(chrono_tz::UTC) }, 12);
    check(&inp, &Config { session: Session::Tz(chrono_tz::America::New_York) }, 4);
}

#[test]
fn orcl_is_chunk_invariant() {
    let r = common::load(common::ORCL);
    check(&r.input(), &Config { session: Session::PerBar }, 8);
}

#[test]
fn chunk_starting_mid_series_continues() {
    // A chunk that starts at t0 > 0 continues the same state.
    let r = common::load(common::MINUTE);
    let cfg = Config { session: Session::Tz(chrono_tz::UTC) };
    let (whole, _) = run_split(&r.slice(0, 3000), &cfg, &[]);
    let (parts, _) =
        run_split(&r.slice(0, 3000), &cfg, &[1, 2, 19, 20, 21, 251, 252, 270, 271, 272, 1000]);
    assert_eq!(whole, parts);
}
