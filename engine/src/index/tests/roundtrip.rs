//! Build -> open -> query agrees with the model; generations; determinism; builder input checks.

use std::time::Instant;

use super::{Model, as_symbol_ranges, open};
use crate::index::{IndexBuilder, IndexError, SegmentId, SymbolId, SymbolRange};

#[test]
fn realistic_roundtrip_matches_model() {
    let model = Model::random(7, 50, 300, 0.6);
    let bytes = model.build();
    let idx = open(&bytes).unwrap();
    assert_eq!(idx.len_bytes(), bytes.len());
    model.check(&idx);
    let text = idx.describe();
    assert!(text.contains("300 symbols, 50 segments"), "{text}");
}

#[test]
fn many_seeds_small_tables() {
    for seed in 0..40 {
        let model = Model::random(seed, 1 + seed as usize % 7, 1 + seed as usize % 13, 0.5);
        let idx = open(&model.build()).unwrap();
        model.check(&idx);
    }
}

#[test]
fn empty_index_roundtrip() {
    let idx = open(&IndexBuilder::new().finish()).unwrap();
    assert_eq!((idx.symbol_count(), idx.segment_count(), idx.posting_count()), (0, 0, 0));
    assert_eq!(idx.symbols().count(), 0);
    assert_eq!(idx.segments().count(), 0);
    assert_eq!(idx.symbol_id("AAPL"), None);
    assert_eq!(idx.ranges_for_symbol(SymbolId(0)).count(), 0);
    assert!(!idx.describe().is_empty());
}

#[test]
fn output_is_deterministic_and_order_independent() {
    let model = Model::random(11, 20, 80, 0.5);
    let a = model.build();
    assert_eq!(a, model.build());
    // Same content, inserted in reverse order, with ranges listed in reverse.
    let mut b = IndexBuilder::new();
    for (id, ranges) in model.segments.iter().rev() {
        let mut r = as_symbol_ranges(ranges);
        r.reverse();
        b.add_segment(*id, &r).unwrap();
    }
    for (name, (sector, exchange)) in model.symbols.iter().rev() {
        b.symbol(name, sector.as_deref(), exchange.as_deref());
    }
    assert_eq!(b.finish(), a);
}

#[test]
fn next_generation_equals_scratch_build() {
    let model = Model::random(3, 40, 200, 0.4);
    let gen1 = open(&model.build()).unwrap();
    // Round trip through from_index alone is the identity.
    assert_eq!(IndexBuilder::from_index(&gen1).finish(), model.build());

    let removed: Vec<SegmentId> = model.segments.keys().copied().step_by(3).collect();
    let extra = Model::random(99, 5, 30, 0.7);
    let mut next = IndexBuilder::from_index(&gen1);
    for id in &removed {
        assert!(next.remove_segment(*id));
    }
    assert!(!next.remove_segment(removed[0]));
    let mut scratch = model.clone();
    for id in &removed {
        scratch.segments.remove(id);
    }
    for (id, ranges) in &extra.segments {
        let id = SegmentId(id.0 + 10_000_000);
        next.add_segment(id, &as_symbol_ranges(ranges)).unwrap();
        scratch.segments.insert(id, ranges.clone());
        for r in ranges {
            // Symbols new in this generation carry no metadata unless registered.
            scratch.symbols.entry(r.0.clone()).or_insert((None, None));
        }
    }
    next.symbol("NEWCO", Some("Technology"), None);
    scratch.symbols.insert("NEWCO".into(), (Some("Technology".into()), None));
    let gen2 = next.finish();
    assert_eq!(gen2, scratch.build());
    scratch.check(&open(&gen2).unwrap());
}

#[test]
fn symbol_metadata_updates() {
    let mut b = IndexBuilder::new();
    b.symbol("AAPL", Some("Tech"), None);
    b.symbol("AAPL", None, Some("NASDAQ"));
    b.symbol("AAPL", Some("Technology"), None);
    b.symbol("ZZ", None, None);
    let idx = open(&b.finish()).unwrap();
    let info = idx.symbol(SymbolId(0)).unwrap();
    assert_eq!(
        (info.name, info.sector, info.exchange),
        ("AAPL", Some("Technology"), Some("NASDAQ"))
    );
    let zz = idx.symbol(SymbolId(1)).unwrap();
    assert_eq!((zz.sector, zz.exchange), (None, None));
    assert_eq!(idx.ranges_for_symbol(SymbolId(1)).count(), 0);
}

#[test]
fn add_segment_rejects_bad_input() {
    let r = |symbol, row_start, row_count, min_ts, max_ts| SymbolRange {
        symbol,
        row_start,
        row_count,
        min_ts,
        max_ts,
    };
    let mut b = IndexBuilder::new();
    let seg = SegmentId(1);
    let cases: Vec<Vec<SymbolRange<'_>>> = vec![
        vec![],
        vec![r("A", 0, 0, 1, 2)],
        vec![r("A", 0, 5, 3, 2)],
        vec![r("A", 1, 5, 1, 2)],
        vec![r("A", 0, 5, 1, 2), r("B", 4, 5, 1, 2)],
        vec![r("A", 0, 5, 1, 2), r("B", 6, 5, 1, 2)],
        vec![r("A", 0, 5, 1, 2), r("A", 5, 5, 1, 2)],
        vec![r("A", 0, u32::MAX, 1, 2), r("B", u32::MAX, 1, 1, 2)],
    ];
    for ranges in cases {
        let err = b.add_segment(seg, &ranges).unwrap_err();
        assert!(
            matches!(err, IndexError::InvalidRange { .. } | IndexError::InvalidSegment { .. }),
            "{ranges:?}: {err}"
        );
    }
    assert_eq!(b, IndexBuilder::new(), "failed adds leave the builder unchanged");
    b.add_segment(seg, &[r("B", 3, 2, 5, 6), r("A", 0, 3, 1, 2)]).unwrap();
    assert!(matches!(
        b.add_segment(seg, &[r("A", 0, 1, 1, 2)]),
        Err(IndexError::InvalidSegment { .. })
    ));
    let idx = open(&b.finish()).unwrap();
    let e = idx.segment(seg).unwrap();
    assert_eq!((e.min_ts, e.max_ts, e.rows, e.symbols), (1, 6, 5, 2));
}

/// Cost of `open` and of the hot query on a 240-segment × 500-symbol index. Run with
/// `cargo test --release -- --ignored --nocapture index_timing`.
#[test]
#[ignore = "timing, run manually"]
fn index_timing() {
    let model = Model::random(5, 240, 500, 1.0);
    let bytes = bytes::Bytes::from(model.build());
    let path = std::path::Path::new("timing.idx");
    // Min and median of many runs: the machine is shared, means are noisy.
    let sample = |f: &mut dyn FnMut()| {
        let mut v: Vec<std::time::Duration> = (0..200)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect();
        v.sort();
        (v[0], v[v.len() / 2])
    };
    let open_each = sample(&mut || {
        std::hint::black_box(crate::index::TableIndex::open(bytes.clone(), path).unwrap());
    });
    let crc_each = sample(&mut || {
        std::hint::black_box(crate::index::format::file_crc(std::hint::black_box(&bytes)));
    });
    let idx = crate::index::TableIndex::open(bytes.clone(), path).unwrap();
    let t = Instant::now();
    let mut rows = 0u64;
    let rounds = 20u32;
    for _ in 0..rounds {
        for s in 0..idx.symbol_count() {
            for r in idx.ranges_for_symbol(SymbolId(s)) {
                rows += u64::from(r.row_count);
            }
        }
    }
    let per_symbol = t.elapsed() / (rounds * idx.symbol_count());
    let names: Vec<String> = idx.symbols().map(|s| s.name.to_owned()).collect();
    let t = Instant::now();
    for name in &names {
        std::hint::black_box(idx.symbol_id(name));
    }
    let lookup = t.elapsed() / names.len() as u32;
    println!(
        "index {} bytes, {} postings: open (min, median) {open_each:?}, of which crc32c {crc_each:?}; ranges_for_symbol (240 ranges, \
         iterated) {per_symbol:?}; symbol_id {lookup:?}; (checksum {rows})",
        bytes.len(),
        idx.posting_count()
    );
}
