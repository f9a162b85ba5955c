//! Chunk invariance: one batch run equals any split into consecutive chunks, bit for bit,
//! outputs and end state.

use super::common;

use std::sync::OnceLock;

use crate::kernel::frame::{Config, Out, Session};
use crate::kernel::group_a::GroupA;
use proptest::prelude::*;

const CFG: Config = Config { session: Session::PerBar };

fn orcl() -> &'static common::RefFile {
    static R: OnceLock<common::RefFile> = OnceLock::new();
    R.get_or_init(|| common::load(common::ORCL))
}

/// Runs `reference` bars `0..n` in chunks of the given sizes (the last chunk takes the rest).
/// Returns every group-A column over the `n` bars and the end state as text.
fn run_chunked(reference: &common::RefFile, n: usize, sizes: &[usize]) -> (Vec<Vec<f64>>, String) {
    let mut group = GroupA::new();
    let mut cols = vec![Vec::with_capacity(n); GroupA::FIELDS.len()];
    let mut faults = Vec::new();
    let mut a = 0;
    let mut sizes = sizes.iter().copied();
    while a < n {
        let b = (a + sizes.next().unwrap_or(n).max(1)).min(n);
        let inp = reference.slice(a, b);
        let mut out = Out::new(inp.len(), GroupA::FIELDS);
        group.run(&inp, &CFG, &mut out, &mut faults);
        for (col, &field) in cols.iter_mut().zip(GroupA::FIELDS) {
            col.extend_from_slice(out.col(field));
        }
        a = b;
    }
    assert!(faults.is_empty(), "{faults:?}");
    (cols, format!("{group:?}"))
}

fn assert_same(batch: &(Vec<Vec<f64>>, String), chunked: &(Vec<Vec<f64>>, String), what: &str) {
    for (k, (x, y)) in batch.0.iter().zip(&chunked.0).enumerate() {
        for (t, (a, b)) in x.iter().zip(y).enumerate() {
            let same = a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            assert!(
                same,
                "{what}: {}[{t}] batch {a:?} chunked {b:?}",
                crate::kernel::frame::f::NAMES[GroupA::FIELDS[k]]
            );
        }
    }
    assert!(batch.1 == chunked.1, "{what}: end states differ");
}

fn batch() -> &'static (Vec<Vec<f64>>, String) {
    static B: OnceLock<(Vec<Vec<f64>>, String)> = OnceLock::new();
    B.get_or_init(|| run_chunked(orcl(), orcl().rows, &[]))
}

#[test]
fn chunks_of_one_bar_equal_batch() {
    let ones = vec![1; orcl().rows];
    assert_same(batch(), &run_chunked(orcl(), orcl().rows, &ones), "size-1 chunks");
}

#[test]
fn chunk_edges_at_every_warm_up_boundary() {
    // Splits right before/at/after every i0 of the group (F1).
    for edge in [1usize, 5, 8, 10, 11, 13, 14, 15, 17, 19, 20, 25, 26, 33, 34, 49, 51, 87, 88, 199]
    {
        for a in edge.saturating_sub(1)..=edge + 1 {
            let sizes = [a, 1, 7];
            assert_same(batch(), &run_chunked(orcl(), orcl().rows, &sizes), &format!("{sizes:?}"));
        }
    }
}

#[test]
fn minute_file_size_one_chunks_prefix() {
    // The minute file has flat stretches (zero-width windows): check those branches too.
    let minute = common::load(common::MINUTE);
    let n = 6000;
    let whole = run_chunked(&minute, n, &[]);
    let mut sizes = Vec::new();
    let mut s = 12345u64;
    while sizes.iter().sum::<usize>() < n {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        sizes.push(if s.is_multiple_of(3) { 1 } else { (s % 97) as usize + 1 });
    }
    assert_same(&whole, &run_chunked(&minute, n, &sizes), "minute random chunks");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_splits_equal_batch(
        sizes in prop::collection::vec(prop_oneof![1usize..4, 1usize..300, 200usize..2000], 1..40)
    ) {
        let chunked = run_chunked(orcl(), orcl().rows, &sizes);
        assert_same(batch(), &chunked, &format!("{sizes:?}"));
    }
}

#[test]
fn cloned_state_mid_series_continues_bitwise() {
    // Clone the state at several points (inside and after every warm-up, at block edges of the
    // window families) and continue the clone with chunks of various sizes: it must give the
    // batch outputs and end state bit for bit.
    let r = orcl();
    let n = r.rows;
    for split in [1usize, 7, 18, 19, 20, 27, 100, 275, 276, 2000] {
        for rest_chunk in [1usize, 3, 8, 9, 300, n] {
            let mut group = GroupA::new();
            let mut faults = Vec::new();
            let head = r.slice(0, split);
            let mut out = Out::new(head.len(), GroupA::FIELDS);
            group.run(&head, &CFG, &mut out, &mut faults);
            let mut cols: Vec<Vec<f64>> =
                GroupA::FIELDS.iter().map(|&c| out.col(c).to_vec()).collect();
            let mut clone = group.clone();
            drop(group);
            let mut a = split;
            while a < n {
                let b = (a + rest_chunk).min(n);
                let inp = r.slice(a, b);
                let mut out = Out::new(inp.len(), GroupA::FIELDS);
                clone.run(&inp, &CFG, &mut out, &mut faults);
                for (col, &field) in cols.iter_mut().zip(GroupA::FIELDS) {
                    col.extend_from_slice(out.col(field));
                }
                a = b;
            }
            assert!(faults.is_empty(), "{faults:?}");
            assert_same(
                batch(),
                &(cols, format!("{clone:?}")),
                &format!("clone at {split}, chunks of {rest_chunk}"),
            );
        }
    }
}
