//! State persistence: a group-B state cloned, or serialized and deserialized (bincode), in the
//! middle of a series continues bit for bit like the uninterrupted run (outputs and end state).

use super::common;

use crate::kernel::frame::{Config, Input, Out, Session};
use crate::kernel::group_b::GroupB;

/// Runs `inp` on `g`; returns the outputs as bit patterns (nulls canonicalized).
fn run(g: &mut GroupB, inp: &Input<'_>, cfg: &Config) -> Vec<Vec<u64>> {
    let mut out = Out::new(inp.len(), GroupB::FIELDS);
    let mut faults = Vec::new();
    g.run(inp, cfg, &mut out, &mut faults);
    assert!(faults.is_empty(), "{faults:?}");
    GroupB::FIELDS
        .iter()
        .map(|&c| {
            out.col(c).iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }).collect()
        })
        .collect()
}

fn check(r: &common::RefFile, n: usize, cfg: &Config) {
    for cut in [1, 19, 20, 251, 252, 271, n / 2] {
        let mut whole = GroupB::new();
        run(&mut whole, &r.slice(0, cut), cfg);
        let mut cloned = whole.clone();
        let bytes = bincode::serialize(&whole).expect("serialize");
        let mut restored: GroupB = bincode::deserialize(&bytes).expect("deserialize");
        let rest = r.slice(cut, n);
        let want = run(&mut whole, &rest, cfg);
        assert_eq!(run(&mut cloned, &rest, cfg), want, "clone, cut {cut}");
        assert_eq!(run(&mut restored, &rest, cfg), want, "bincode, cut {cut}");
        let end = format!("{whole:?}");
        assert_eq!(format!("{cloned:?}"), end, "clone end state, cut {cut}");
        assert_eq!(format!("{restored:?}"), end, "bincode end state, cut {cut}");
    }
}

#[test]
fn orcl_state_round_trip_continues_identically() {
    let r = common::load(common::ORCL);
    check(&r, r.rows, &Config { session: Session::PerBar });
}

#[test]
fn minute_state_round_trip_continues_identically() {
    let r = common::load(common::MINUTE);
    check(&r, 4000, &Config { session: Session::Tz(chrono_tz::America::New_York) });
}
