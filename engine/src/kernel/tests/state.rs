//! The persisted state file (format-spec/kernel-state.md): round trip, golden bytes, and
//! every way a damaged file is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::common;
use crate::kernel::state_file::{States, decode, encode};
use crate::kernel::{Bars, KERNEL_VERSION, SeriesConfig, SeriesState, Session};

fn bars(r: &common::RefFile, a: usize, b: usize) -> Bars<'_> {
    Bars {
        ts: &r.ts[a..b],
        open: &r.open[a..b],
        high: &r.high[a..b],
        low: &r.low[a..b],
        close: &r.close[a..b],
        volume: &r.volume[a..b],
    }
}

fn orcl_states(bars_in: usize) -> (common::RefFile, States) {
    let r = common::load(common::ORCL);
    let config = SeriesConfig { session: Session::PerBar };
    let mut state = SeriesState::new();
    let _ = state.advance(&config, &bars(&r, 0, bars_in)).expect("advance");
    let mut states = States::new();
    states.insert(Arc::from("ORCL"), Box::new(state));
    (r, states)
}

fn golden_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/kernel/golden-v1.state")
}

#[test]
fn a_decoded_state_continues_bit_for_bit() {
    let (r, states) = orcl_states(300);
    let bytes = encode(&states).expect("encode");
    let decoded = decode(&bytes, Path::new("x.state")).expect("decode");
    let config = SeriesConfig { session: Session::PerBar };
    let mut a = states["ORCL"].clone();
    let mut b = decoded["ORCL"].clone();
    let ca = a.advance(&config, &bars(&r, 300, 900)).expect("a");
    let cb = b.advance(&config, &bars(&r, 300, 900)).expect("b");
    for &c in crate::kernel::computed_columns() {
        let (x, y) = (ca.out.col(c), cb.out.col(c));
        assert_eq!(x.len(), y.len());
        for (i, (p, q)) in x.iter().zip(y).enumerate() {
            assert_eq!(p.to_bits(), q.to_bits(), "column {c} bar {}", 300 + i);
        }
    }
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

#[test]
fn golden_state_file() {
    let (_, states) = orcl_states(300);
    let bytes = encode(&states).expect("encode");
    let path = golden_path();
    if std::env::var_os("CANDLESTORE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &bytes).expect("bless");
    }
    let golden = std::fs::read(&path).expect("golden file (CANDLESTORE_BLESS=1 writes it)");
    if bytes != golden {
        let at = bytes.iter().zip(&golden).position(|(a, b)| a != b).unwrap_or(bytes.len());
        panic!(
            "the state layout changed ({} bytes vs golden {}, first difference at offset {at}): \
             bump KERNEL_VERSION and re-bless with CANDLESTORE_BLESS=1 \
             (format-spec/kernel-state.md)",
            bytes.len(),
            golden.len()
        );
    }
    assert_eq!(&golden[..8], b"CSKSTATE");
    assert_eq!(u32::from_le_bytes(golden[12..16].try_into().expect("4")), KERNEL_VERSION);
    let decoded = decode(&golden, &path).expect("decode golden");
    assert_eq!(decoded["ORCL"].bars(), 300);
}

fn corrupt_reason(bytes: &[u8]) -> String {
    match decode(bytes, Path::new("_meta/kernel/t-0000000001.state")) {
        Err(crate::Error::Corrupt { reason }) => reason,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn damaged_files_are_refused_naming_the_file() {
    let (_, states) = orcl_states(50);
    let good = encode(&states).expect("encode");

    let reason = corrupt_reason(&good[..20]);
    assert!(reason.contains("t-0000000001.state") && reason.contains("shorter than the header"));

    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(corrupt_reason(&bad).contains("bad magic"));

    let mut bad = good.clone();
    bad[8] = 9;
    assert!(corrupt_reason(&bad).contains("format version 9"));

    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x40;
    assert!(corrupt_reason(&bad).contains("crc32c"));

    let reason = corrupt_reason(&good[..good.len() - 3]);
    assert!(reason.contains("header says"), "{reason}");

    // A body that passes its crc but cannot be decoded (e.g. written by a buggy build).
    let mut bad = good[..32].to_vec();
    let body = vec![0xFFu8; 64];
    bad[20..28].copy_from_slice(&(body.len() as u64).to_le_bytes());
    bad[28..32].copy_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    bad.extend_from_slice(&body);
    assert!(corrupt_reason(&bad).contains("undecodable"));
}

#[test]
fn another_kernel_version_decodes_to_no_states() {
    let (_, states) = orcl_states(50);
    let mut bytes = encode(&states).expect("encode");
    bytes[12..16].copy_from_slice(&(KERNEL_VERSION + 1).to_le_bytes());
    let decoded = decode(&bytes, Path::new("x.state")).expect("decode");
    assert!(decoded.is_empty());
}
