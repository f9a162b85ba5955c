//! Reference conformance of every group-A field (F5.2 rule) on both reference files.

use super::common;

use crate::kernel::frame::{Config, Out, Session};
use crate::kernel::group_a::GroupA;

fn run(reference: &common::RefFile, cfg: &Config) -> Out {
    let inp = reference.input();
    let mut out = Out::new(inp.len(), GroupA::FIELDS);
    let mut faults = Vec::new();
    GroupA::new().run(&inp, cfg, &mut out, &mut faults);
    assert!(faults.is_empty(), "{faults:?}");
    out
}

#[test]
fn orcl_daily_matches_reference() {
    let reference = common::load(common::ORCL);
    assert_eq!(reference.rows, 5036);
    let out = run(&reference, &Config { session: Session::PerBar });
    common::assert_fields(&reference, &out, GroupA::FIELDS);
}

#[test]
fn minute_matches_reference() {
    let reference = common::load(common::MINUTE);
    assert_eq!(reference.rows, 6000);
    let out = run(&reference, &Config { session: Session::Tz(chrono_tz::UTC) });
    common::assert_fields(&reference, &out, GroupA::FIELDS);
}
