//! Golden fixtures pinning format version 1 byte for byte (see `testdata/index/README.md`).

use super::open;
use crate::index::{IndexBuilder, IndexError, SegmentId, SymbolId, SymbolRange};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/index/golden-v1.idx");
const CORRUPT_CRC: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/index/corrupt-crc-v1.idx");

/// 2024-01-02T14:30:00Z and 2024-02-01T14:30:00Z in microseconds.
const JAN: i64 = 1_704_205_800_000_000;
const FEB: i64 = 1_706_797_800_000_000;
const MIN: i64 = 60_000_000;

/// The fixed content of `golden-v1.idx`: 3 symbols, 2 monthly segments.
fn golden_bytes() -> Vec<u8> {
    let r = |symbol, row_start, row_count, min_ts, max_ts| SymbolRange {
        symbol,
        row_start,
        row_count,
        min_ts,
        max_ts,
    };
    let mut b = IndexBuilder::new();
    b.symbol("AAPL", Some("Technology"), Some("NASDAQ"));
    b.symbol("MSFT", Some("Technology"), Some("NASDAQ"));
    b.symbol("XOM", Some("Energy"), None);
    b.add_segment(
        SegmentId(202_401),
        &[r("AAPL", 0, 390, JAN, JAN + 389 * MIN), r("MSFT", 390, 390, JAN, JAN + 389 * MIN)],
    )
    .unwrap();
    b.add_segment(
        SegmentId(202_402),
        &[
            r("AAPL", 0, 390, FEB, FEB + 389 * MIN),
            r("MSFT", 390, 200, FEB, FEB + 199 * MIN),
            r("XOM", 590, 390, FEB, FEB + 389 * MIN),
        ],
    )
    .unwrap();
    b.finish()
}

/// The golden file with one bit of the string heap flipped ("AAPL" -> "AAPM").
fn corrupt_crc_bytes() -> Vec<u8> {
    let mut b = golden_bytes();
    let strings = 48 + crate::index::format::SEC_STRINGS * 16;
    let heap = u64::from_le_bytes(b[strings..strings + 8].try_into().unwrap()) as usize;
    b[heap + 3] ^= 0x01;
    b
}

/// Writes the fixtures. Run once per format version, review the diff, check them in:
/// `cargo test -- --ignored write_index_fixtures`.
#[test]
#[ignore = "writes testdata; run deliberately"]
fn write_index_fixtures() {
    std::fs::write(GOLDEN, golden_bytes()).unwrap();
    std::fs::write(CORRUPT_CRC, corrupt_crc_bytes()).unwrap();
}

#[test]
fn golden_v1_is_byte_identical() {
    let fixture = std::fs::read(GOLDEN).expect("testdata/index/golden-v1.idx");
    assert_eq!(golden_bytes(), fixture, "encoding changed: bump the format version");
    let idx = open(&fixture).unwrap();
    assert_eq!(idx.symbol_count(), 3);
    assert_eq!(idx.symbol_id("XOM"), Some(SymbolId(2)));
    let xom = idx.symbol(SymbolId(2)).unwrap();
    assert_eq!((xom.sector, xom.exchange), (Some("Energy"), None));
    let msft: Vec<_> = idx
        .ranges_for_symbol(SymbolId(1))
        .map(|r| (r.segment.0, r.row_start, r.row_count))
        .collect();
    assert_eq!(msft, [(202_401, 390, 390), (202_402, 390, 200)]);
    let feb = idx.segment(SegmentId(202_402)).unwrap();
    assert_eq!((feb.rows, feb.symbols, feb.min_ts), (980, 3, FEB));
    assert_eq!(idx.segment_symbols(SegmentId(202_401)).unwrap().iter().collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn corrupt_crc_fixture_fails_with_checksum_mismatch() {
    let fixture = std::fs::read(CORRUPT_CRC).expect("testdata/index/corrupt-crc-v1.idx");
    assert_eq!(fixture, corrupt_crc_bytes());
    assert!(matches!(open(&fixture), Err(IndexError::ChecksumMismatch { .. })));
}
