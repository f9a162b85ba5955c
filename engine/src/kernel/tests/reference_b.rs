//! F5.2 conformance of every group-B field against both reference files.

use super::common;

use crate::kernel::frame::{Config, Out, Session};
use crate::kernel::group_b::GroupB;

fn run_all(path: &str, session: Session) -> (common::RefFile, Out) {
    let r = common::load(path);
    let inp = r.input();
    let mut out = Out::new(inp.len(), GroupB::FIELDS);
    let mut faults = Vec::new();
    GroupB::new().run(&inp, &Config { session }, &mut out, &mut faults);
    assert!(faults.is_empty(), "{faults:?}");
    (r, out)
}

#[test]
fn orcl_daily_matches_reference() {
    let (r, out) = run_all(common::ORCL, Session::PerBar);
    common::assert_fields(&r, &out, GroupB::FIELDS);
}

#[test]
fn minute_matches_reference() {
    let (r, out) = run_all(common::MINUTE, Session::Tz(chrono_tz::UTC));
    common::assert_fields(&r, &out, GroupB::FIELDS);
}
