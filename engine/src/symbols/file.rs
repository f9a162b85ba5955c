//! `_meta/SYMBOLS`: the persisted symbol master (format-spec/symbols.md).
//!
//! Same shape as the manifest: a 24-byte header (magic, version, flags, body length,
//! crc32c) and a JSON body, replaced only with `write_atomic`. It is independent of the
//! manifest: the master is not versioned with the segments, so changing it is not a commit
//! of the store's data and needs no manifest generation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SymbolMaster;
use super::error::SymbolsError;
use super::record::SymbolRecord;
use crate::error::{Error, Result};
use crate::storage::{Storage, display_path};

/// Magic bytes at offset 0 of the symbol master file.
pub const SYMBOLS_MAGIC: [u8; 8] = *b"CSSYMBL\n";
/// The symbol master format version this build writes.
pub const SYMBOLS_VERSION: u32 = 1;
/// The oldest symbol master format version this build reads.
pub const SYMBOLS_MIN_VERSION: u32 = 1;
const HEADER_LEN: usize = 24;

/// Store-relative path of the symbol master.
pub(crate) fn symbols_path() -> PathBuf {
    PathBuf::from("_meta").join("SYMBOLS")
}

#[derive(Serialize)]
struct BodyRef<'a> {
    symbols: Vec<&'a SymbolRecord>,
}

#[derive(Deserialize)]
struct Body {
    symbols: Vec<SymbolRecord>,
}

/// Encodes header + JSON body (records in symbol order).
pub(crate) fn encode(master: &SymbolMaster) -> Vec<u8> {
    let body = BodyRef { symbols: master.records().collect() };
    // Serializing plain structs of strings and finite floats cannot fail.
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&SYMBOLS_MAGIC);
    out.extend_from_slice(&SYMBOLS_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), &body);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decodes and verifies a symbol master file (`path` is for messages).
pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<SymbolMaster, SymbolsError> {
    let path = path.to_path_buf();
    let malformed = |offset: usize, reason: String| SymbolsError::Malformed {
        path: path.clone(),
        offset: offset as u64,
        reason,
    };
    let header =
        bytes.get(..HEADER_LEN).ok_or_else(|| malformed(0, "shorter than the header".into()))?;
    if header[..8] != SYMBOLS_MAGIC {
        return Err(SymbolsError::BadMagic { path });
    }
    let u32_at =
        |o: usize| u32::from_le_bytes([header[o], header[o + 1], header[o + 2], header[o + 3]]);
    let version = u32_at(8);
    if !(SYMBOLS_MIN_VERSION..=SYMBOLS_VERSION).contains(&version) {
        return Err(SymbolsError::UnsupportedVersion {
            path,
            found: version,
            min: SYMBOLS_MIN_VERSION,
            max: SYMBOLS_VERSION,
        });
    }
    if u32_at(12) != 0 {
        return Err(malformed(12, "unknown flags (written by a newer build?)".into()));
    }
    let body_len = u32_at(16) as usize;
    let body = bytes
        .get(HEADER_LEN..HEADER_LEN + body_len)
        .ok_or_else(|| malformed(HEADER_LEN, "body shorter than its declared length".into()))?;
    if bytes.len() != HEADER_LEN + body_len {
        return Err(malformed(HEADER_LEN + body_len, "trailing bytes after the body".into()));
    }
    let expected = u32_at(20);
    let got = crc32c::crc32c_append(crc32c::crc32c(&header[..20]), body);
    if got != expected {
        return Err(SymbolsError::ChecksumMismatch { path, expected, got });
    }
    let body: Body = serde_json::from_slice(body)
        .map_err(|e| malformed(HEADER_LEN, format!("body is not a symbol master document: {e}")))?;
    let mut records = BTreeMap::new();
    let mut previous: Option<String> = None;
    for record in body.symbols {
        if previous.as_deref().is_some_and(|p| p >= record.symbol.as_str()) {
            return Err(malformed(
                HEADER_LEN,
                format!("records not in strictly increasing symbol order at {:?}", record.symbol),
            ));
        }
        record.validate().map_err(|e| malformed(HEADER_LEN, e.to_string()))?;
        previous = Some(record.symbol.clone());
        records.insert(record.symbol.clone(), record);
    }
    Ok(SymbolMaster::from_records(records))
}

/// Reads the symbol master of a store; empty when the store has none yet.
pub(crate) fn load(storage: &dyn Storage) -> Result<SymbolMaster> {
    let path = symbols_path();
    if !storage.exists(&path) {
        return Ok(SymbolMaster::default());
    }
    let bytes =
        storage.read(&path).map_err(|e| Error::io("read", display_path(storage, &path), e))?;
    Ok(decode(&bytes, &display_path(storage, &path))?)
}

/// Replaces the symbol master file atomically.
pub(crate) fn store(storage: &dyn Storage, master: &SymbolMaster) -> Result<()> {
    let path = symbols_path();
    storage
        .write_atomic(&path, &encode(master))
        .map_err(|e| Error::io("write", display_path(storage, &path), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbols::{InstrumentType, Provider};

    /// The value pinned by `testdata/symbols/golden-v1.symbols`.
    fn sample() -> SymbolMaster {
        let mut brk = SymbolRecord::new("BRK.B");
        brk.name = Some("Berkshire Hathaway".into());
        brk.sector = Some("Financials".into());
        brk.industry = Some("Multi-Sector Holdings".into());
        brk.exchange = Some("NYSE".into());
        brk.mic_code = Some("XNYS".into());
        brk.currency = Some("USD".into());
        brk.country = Some("US".into());
        brk.instrument_type = Some(InstrumentType::Stock);
        let mut btc = SymbolRecord::new("BTC");
        btc.name = Some("Bitcoin".into());
        btc.instrument_type = Some(InstrumentType::Crypto);
        btc.market_cap = Some(1.5e12);
        btc.provider_symbols.insert(Provider::Binance, "BTCFDUSD".into());
        let records = [brk, btc].into_iter().map(|r| (r.symbol.clone(), r)).collect();
        SymbolMaster::from_records(records)
    }

    #[test]
    fn roundtrip() {
        let m = sample();
        let bytes = encode(&m);
        assert_eq!(&bytes[..8], b"CSSYMBL\n");
        assert_eq!(decode(&bytes, Path::new("s")).unwrap(), m);
        let empty = encode(&SymbolMaster::default());
        assert!(decode(&empty, Path::new("s")).unwrap().is_empty());
    }

    #[test]
    fn golden_v1() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/symbols/golden-v1.symbols");
        let encoded = encode(&sample());
        if std::env::var_os("CANDLESTORE_BLESS").is_some() {
            std::fs::create_dir_all(Path::new(path).parent().expect("dir")).expect("mkdir");
            std::fs::write(path, &encoded).expect("bless");
        }
        let golden =
            std::fs::read(path).expect("golden symbols fixture (CANDLESTORE_BLESS=1 writes it)");
        assert_eq!(encoded, golden, "symbols v1 encoding changed: update format-spec and fixture");
        assert_eq!(decode(&golden, Path::new(path)).unwrap(), sample());
    }

    #[test]
    fn every_bit_flip_and_truncation_is_detected() {
        let bytes = encode(&sample());
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                assert!(decode(&b, Path::new("s")).is_err(), "flip at {i} undetected");
            }
        }
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len], Path::new("s")).is_err(), "truncation at {len}");
        }
    }

    /// Re-frames `body` with a valid header, so only the body checks can fail.
    fn framed(body: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&SYMBOLS_MAGIC);
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&out), body.as_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(body.as_bytes());
        out
    }

    #[test]
    fn corrupt_files_name_the_problem() {
        let p = Path::new("_meta/SYMBOLS");
        let corrupt = |rel: &str| {
            let path = format!("{}/../testdata/symbols/{rel}", env!("CARGO_MANIFEST_DIR"));
            decode(&std::fs::read(&path).expect("fixture"), p).unwrap_err()
        };
        assert!(matches!(corrupt("corrupt-crc.symbols"), SymbolsError::ChecksumMismatch { .. }));
        assert!(matches!(corrupt("truncated.symbols"), SymbolsError::Malformed { offset: 24, .. }));
        assert!(matches!(
            corrupt("future-version.symbols"),
            SymbolsError::UnsupportedVersion { found: 2, .. }
        ));
        assert!(matches!(decode(b"CSMANIF\n", p).unwrap_err(), SymbolsError::Malformed { .. }));
        let mut wrong = encode(&sample());
        wrong[..8].copy_from_slice(b"CSMANIF\n");
        assert!(matches!(decode(&wrong, p).unwrap_err(), SymbolsError::BadMagic { .. }));
        let unsorted = framed(r#"{"symbols":[{"symbol":"B"},{"symbol":"A"}]}"#);
        let err = decode(&unsorted, p).unwrap_err();
        assert!(err.to_string().contains("order"), "{err}");
        let invalid = framed(r#"{"symbols":[{"symbol":"A","country":"usa"}]}"#);
        let err = decode(&invalid, p).unwrap_err();
        assert!(err.to_string().contains("country"), "{err}");
        let bad_type = framed(r#"{"symbols":[{"symbol":"A","type":"equity"}]}"#);
        assert!(matches!(decode(&bad_type, p).unwrap_err(), SymbolsError::Malformed { .. }));
    }

    /// Writes the deliberately corrupt fixtures from the golden one (`CANDLESTORE_BLESS=1`).
    #[test]
    fn corrupt_fixtures_derive_from_the_golden_file() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/symbols");
        let golden = encode(&sample());
        let mut crc = golden.clone();
        let last = crc.len() - 2;
        crc[last] ^= 0x20;
        let truncated = golden[..golden.len() - 10].to_vec();
        let mut future = golden.clone();
        future[8..12].copy_from_slice(&2u32.to_le_bytes());
        let fixtures = [
            ("corrupt-crc.symbols", crc),
            ("truncated.symbols", truncated),
            ("future-version.symbols", future),
        ];
        for (name, bytes) in fixtures {
            let path = Path::new(dir).join(name);
            if std::env::var_os("CANDLESTORE_BLESS").is_some() {
                std::fs::write(&path, &bytes).expect("bless");
            }
            assert_eq!(std::fs::read(&path).expect("fixture"), bytes, "{name} is stale");
        }
    }
}
