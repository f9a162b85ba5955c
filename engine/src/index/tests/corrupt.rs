//! `open` rejects damaged or hostile files cleanly and never panics.

use proptest::prelude::*;

use super::{Model, exercise, fix_crc, open};
use crate::index::format::{
    HEADER_LEN, POSTING_RECORD_LEN, SEC_BITMAPS, SEC_POSTING_OFFSETS, SEC_POSTINGS, SEC_SEGMENTS,
    SEC_STRINGS, SEC_SYMBOLS, SEGMENT_RECORD_LEN, SYMBOL_RECORD_LEN,
};
use crate::index::{IndexError, SegmentId};

fn small() -> Vec<u8> {
    Model::random(1, 4, 6, 0.7).build()
}

/// Byte offset of section `s`, read back from the header.
fn section(bytes: &[u8], s: usize) -> usize {
    let at = 48 + s * 16;
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize
}

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_u8_in(bytes: &mut [u8], sec: usize, rel: usize, v: u8) {
    let at = section(bytes, sec) + rel;
    bytes[at] = v;
}

fn put_u32_in(bytes: &mut [u8], sec: usize, rel: usize, v: u32) {
    let at = section(bytes, sec) + rel;
    put_u32(bytes, at, v);
}

fn put_u64_in(bytes: &mut [u8], sec: usize, rel: usize, v: u64) {
    let at = section(bytes, sec) + rel;
    put_u64(bytes, at, v);
}

#[test]
fn bad_magic() {
    let mut b = small();
    b[0] ^= 1;
    assert!(matches!(open(&b), Err(IndexError::BadMagic { .. })));
    assert!(matches!(open(b"PAR1 not an index at all"), Err(IndexError::BadMagic { .. })));
}

#[test]
fn newer_version() {
    let mut b = small();
    put_u32(&mut b, 8, 2);
    fix_crc(&mut b);
    match open(&b) {
        Err(IndexError::UnsupportedVersion { found: 2, min: 1, max: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let good = small();
    open(&good).unwrap();
    for byte in 0..good.len() {
        for bit in 0..8 {
            let mut b = good.clone();
            b[byte] ^= 1 << bit;
            let err = open(&b).expect_err("flipped bit accepted");
            let ok = match byte {
                0..8 => matches!(err, IndexError::BadMagic { .. }),
                8..12 => matches!(err, IndexError::UnsupportedVersion { .. }),
                24..32 => matches!(err, IndexError::LengthMismatch { .. }),
                _ => matches!(err, IndexError::ChecksumMismatch { .. }),
            };
            assert!(ok, "byte {byte} bit {bit}: {err}");
        }
    }
}

#[test]
fn every_truncation_and_extension_is_rejected() {
    let good = small();
    for len in 0..good.len() {
        let err = open(&good[..len]).expect_err("truncated file accepted");
        assert!(
            matches!(err, IndexError::LengthMismatch { .. } | IndexError::BadMagic { .. }),
            "len {len}: {err}"
        );
    }
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 8]);
    assert!(matches!(open(&longer), Err(IndexError::LengthMismatch { .. })));
}

/// Applies `edit` to a valid file, fixes the checksum and expects `open` to fail with a
/// variant accepted by `want`.
fn reject(edit: impl Fn(&mut Vec<u8>), want: impl Fn(&IndexError) -> bool) {
    let mut b = small();
    edit(&mut b);
    fix_crc(&mut b);
    match open(&b) {
        Ok(_) => panic!("hostile file accepted"),
        Err(e) => assert!(want(&e), "unexpected error {e}"),
    }
}

fn oob(e: &IndexError) -> bool {
    matches!(e, IndexError::OutOfBounds { .. })
}

fn malformed(e: &IndexError) -> bool {
    matches!(e, IndexError::Malformed { .. })
}

#[test]
fn hand_crafted_out_of_bounds_references() {
    // Section table: moved, resized, or pointing past the end.
    reject(|b| put_u64(b, 48 + SEC_POSTINGS * 16, 1 << 40), oob);
    reject(|b| put_u64(b, 48 + SEC_STRINGS * 16 + 8, 1 << 20), oob);
    reject(|b| put_u64(b, 48 + SEC_SYMBOLS * 16, 8), oob);
    // Counts that do not match the section sizes.
    reject(|b| put_u32(b, 32, u32::MAX), oob);
    reject(|b| put_u32(b, 36, 3), oob);
    reject(|b| put_u64(b, 40, u64::MAX / 2), |e| oob(e) || malformed(e));
    // Symbol name beyond the string heap; huge length; None sentinel with a length.
    reject(|b| put_u32_in(b, SEC_SYMBOLS, 0, 1 << 30), oob);
    reject(|b| put_u32_in(b, SEC_SYMBOLS, 4, u32::MAX), oob);
    reject(|b| put_u32_in(b, SEC_SYMBOLS, 0, u32::MAX), malformed);
    // Posting offsets beyond the posting count / decreasing.
    reject(|b| put_u64_in(b, SEC_POSTING_OFFSETS, 8, u64::MAX), oob);
    reject(|b| put_u64_in(b, SEC_POSTING_OFFSETS, 0, 1), malformed);
    // Posting refers to a segment beyond the table; rows beyond the segment.
    reject(|b| put_u32_in(b, SEC_POSTINGS, 0, 1000), oob);
    reject(|b| put_u32_in(b, SEC_POSTINGS, 4, u32::MAX - 1), oob);
    // Segment bitmap beyond the bitmap heap.
    reject(|b| put_u64_in(b, SEC_SEGMENTS, 40, 1 << 33), oob);
    reject(|b| put_u32_in(b, SEC_SEGMENTS, 36, u32::MAX), oob);
}

#[test]
fn hand_crafted_invariant_violations() {
    // Invalid UTF-8 in the first name.
    reject(|b| put_u8_in(b, SEC_STRINGS, 0, 0xff), malformed);
    // Two symbols swapped: names no longer increasing.
    reject(
        |b| {
            let s = section(b, SEC_SYMBOLS);
            let first: Vec<u8> = b[s..s + SYMBOL_RECORD_LEN].to_vec();
            b.copy_within(s + SYMBOL_RECORD_LEN..s + 2 * SYMBOL_RECORD_LEN, s);
            b[s + SYMBOL_RECORD_LEN..s + 2 * SYMBOL_RECORD_LEN].copy_from_slice(&first);
        },
        malformed,
    );
    // Segment with min_ts > max_ts; unknown flags; non-zero reserved posting field.
    reject(|b| put_u64_in(b, SEC_SEGMENTS, 8, i64::MAX as u64), malformed);
    reject(|b| put_u32(b, 16, 1), malformed);
    reject(|b| put_u32_in(b, SEC_POSTINGS, 12, 7), malformed);
    // Empty posting.
    reject(|b| put_u32_in(b, SEC_POSTINGS, 8, 0), malformed);
    // Duplicate posting segment within one symbol.
    reject(
        |b| {
            let p = section(b, SEC_POSTINGS);
            let seg = b[p..p + 4].to_vec();
            b[p + POSTING_RECORD_LEN..p + POSTING_RECORD_LEN + 4].copy_from_slice(&seg);
        },
        |e| malformed(e) || oob(e),
    );
    // Segment table out of (min_ts, id) order.
    reject(
        |b| {
            let s = section(b, SEC_SEGMENTS);
            let first = b[s..s + SEGMENT_RECORD_LEN].to_vec();
            b.copy_within(s + SEGMENT_RECORD_LEN..s + 2 * SEGMENT_RECORD_LEN, s);
            b[s + SEGMENT_RECORD_LEN..s + 2 * SEGMENT_RECORD_LEN].copy_from_slice(&first);
        },
        |e| malformed(e) || oob(e),
    );
}

#[test]
fn corrupt_bitmap_is_reported_by_segment_symbols() {
    let mut b = small();
    let heap = section(&b, SEC_BITMAPS);
    b[heap..heap + 4].copy_from_slice(b"XXXX"); // unknown roaring cookie
    fix_crc(&mut b);
    let idx = open(&b).unwrap();
    let first = idx.segments().next().unwrap().id;
    assert!(matches!(idx.segment_symbols(first), Err(IndexError::BadBitmap { .. })));
    assert!(matches!(
        idx.segment_symbols(SegmentId(u64::MAX)),
        Err(IndexError::UnknownSegment { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random overwrites of a valid file, checksum fixed up: open never panics, and whatever
    /// opens answers every query without panicking.
    #[test]
    fn mutated_files_never_panic(
        seed in 0u64..8,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        keep_header in any::<bool>(),
    ) {
        let mut b = Model::random(seed, 3, 5, 0.6).build();
        for (at, v) in edits {
            let lo = if keep_header { HEADER_LEN } else { 0 };
            let i = lo + at.index(b.len() - lo);
            b[i] = v;
        }
        fix_crc(&mut b);
        if let Ok(idx) = open(&b) {
            exercise(&idx);
        }
    }

    /// Arbitrary bodies behind a plausible header (right magic, version, length, checksum).
    #[test]
    fn random_bytes_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..600),
        counts in (0u32..6, 0u32..4, 0u64..8, 0u64..64, 0u64..64),
    ) {
        let (symbols, segments, postings, strings, bitmaps) = counts;
        let layout = crate::index::format::Layout::new(symbols, segments, postings, strings, bitmaps)
            .unwrap();
        let header = crate::index::format::Header {
            version: 1,
            crc: 0,
            flags: 0,
            reserved: 0,
            file_len: layout.file_len,
            symbol_count: symbols,
            segment_count: segments,
            posting_count: postings,
            sections: layout.sections,
        };
        let mut b = header.encode().to_vec();
        b.extend(body.iter().copied().cycle().take(layout.file_len as usize - HEADER_LEN));
        b.resize(layout.file_len as usize, 0);
        fix_crc(&mut b);
        if let Ok(idx) = open(&b) {
            exercise(&idx);
        }
    }
}
