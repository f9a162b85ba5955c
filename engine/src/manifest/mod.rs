//! The manifest: the one file whose atomic replacement commits a new version of the store
//! (tables, live segments, index files, corrections files and the WAL checkpoint).
//!
//! Layout (format-spec/manifest.md): a 24-byte binary header (magic, version, flags, body
//! length, crc32c) followed by a JSON body. JSON keeps the file inspectable with standard
//! tools; the header makes it self-identifying and checksummed like every file we own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ManifestError, Result};
use crate::segment::SegmentMeta;
use crate::storage::{Storage, display_path};
use crate::table::{AssetClass, TableSpec, Timeframe};

/// Magic bytes at offset 0 of a manifest.
pub const MANIFEST_MAGIC: [u8; 8] = *b"CSMANIF\n";
/// The manifest format version this build writes.
pub const MANIFEST_VERSION: u32 = 1;
/// The oldest manifest format version this build reads.
pub const MANIFEST_MIN_VERSION: u32 = 1;
const HEADER_LEN: usize = 24;

/// Store-relative path of the manifest.
pub(crate) fn manifest_path() -> PathBuf {
    PathBuf::from("_meta").join("MANIFEST")
}

/// A Parquet file of the corrections log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionsFile {
    /// Store-relative path.
    pub path: String,
    /// Number of corrections.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// crc32c of the file.
    pub crc32c: u32,
}

/// The persisted kernel states of a table (format-spec/kernel-state.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelStateFile {
    /// Store-relative path.
    pub path: String,
    /// Number of series.
    pub series: u64,
    /// File size.
    pub bytes: u64,
    /// crc32c of the file.
    pub crc32c: u32,
}

/// One table as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableManifest {
    /// `stocks` or `crypto`.
    pub asset_class: String,
    /// Timeframe code (`1d`, `1m`, ...).
    pub timeframe: String,
    /// Live segments, in id order.
    pub segments: Vec<SegmentMeta>,
    /// Store-relative path of the current index file (absent while the table is empty).
    pub index: Option<String>,
    /// crc32c of the index file.
    pub index_crc32c: u32,
    /// Corrections log files, oldest first.
    pub corrections: Vec<CorrectionsFile>,
    /// Kernel states as of the segments (absent until the first flush computed fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_state: Option<KernelStateFile>,
}

impl TableManifest {
    pub(crate) fn new(spec: &TableSpec) -> Self {
        Self {
            asset_class: spec.asset_class.as_str().to_owned(),
            timeframe: spec.timeframe.code().to_owned(),
            segments: Vec::new(),
            index: None,
            index_crc32c: 0,
            corrections: Vec::new(),
            kernel_state: None,
        }
    }

    pub(crate) fn spec(&self, name: &str) -> Result<TableSpec> {
        let asset_class = match self.asset_class.as_str() {
            "stocks" => AssetClass::Stocks,
            "crypto" => AssetClass::Crypto,
            _ => {
                return Err(Error::Corrupt {
                    reason: format!("table {name}: unknown asset class {:?}", self.asset_class),
                });
            }
        };
        let timeframe: Timeframe = self.timeframe.parse()?;
        Ok(TableSpec { name: crate::table::TableName::new(name)?, asset_class, timeframe })
    }
}

/// The committed state of a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Manifest {
    /// Incremented by every commit.
    pub generation: u64,
    /// Next segment / file id to hand out.
    pub next_file_id: u64,
    /// WAL frames with an LSN below this are reflected in the segments.
    pub checkpoint_lsn: u64,
    /// Tables by name.
    pub tables: BTreeMap<String, TableManifest>,
}

impl Manifest {
    /// Encodes header + JSON body.
    pub fn encode(&self) -> Vec<u8> {
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&MANIFEST_MAGIC);
        out.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&out), &body);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes and verifies a manifest (`path` is for messages).
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self, ManifestError> {
        let path = path.to_path_buf();
        let malformed = |offset: u64, reason: &'static str| ManifestError::Malformed {
            path: path.clone(),
            offset,
            reason,
        };
        let header =
            bytes.get(..HEADER_LEN).ok_or_else(|| malformed(0, "shorter than the header"))?;
        if header[..8] != MANIFEST_MAGIC {
            return Err(ManifestError::BadMagic { path });
        }
        let u32_at =
            |o: usize| u32::from_le_bytes([header[o], header[o + 1], header[o + 2], header[o + 3]]);
        let version = u32_at(8);
        if !(MANIFEST_MIN_VERSION..=MANIFEST_VERSION).contains(&version) {
            return Err(ManifestError::UnsupportedVersion {
                path,
                found: version,
                min: MANIFEST_MIN_VERSION,
                max: MANIFEST_VERSION,
            });
        }
        if u32_at(12) != 0 {
            return Err(malformed(12, "unknown flags (written by a newer build?)"));
        }
        let body_len = u32_at(16) as usize;
        let expected = u32_at(20);
        let body = bytes
            .get(HEADER_LEN..HEADER_LEN + body_len)
            .ok_or_else(|| malformed(HEADER_LEN as u64, "body shorter than its declared length"))?;
        if bytes.len() != HEADER_LEN + body_len {
            return Err(malformed((HEADER_LEN + body_len) as u64, "trailing bytes after the body"));
        }
        let got = crc32c::crc32c_append(crc32c::crc32c(&header[..20]), body);
        if got != expected {
            return Err(ManifestError::ChecksumMismatch { path, offset: 0, expected, got });
        }
        serde_json::from_slice(body)
            .map_err(|_| malformed(HEADER_LEN as u64, "body is not a valid manifest document"))
    }

    /// Reads the manifest of a store; `None` for a new store.
    pub(crate) fn load(storage: &dyn Storage) -> Result<Option<Self>> {
        let path = manifest_path();
        if !storage.exists(&path) {
            return Ok(None);
        }
        let bytes =
            storage.read(&path).map_err(|e| Error::io("read", display_path(storage, &path), e))?;
        Ok(Some(Self::decode(&bytes, &display_path(storage, &path))?))
    }

    /// Commits this manifest atomically.
    pub(crate) fn store(&self, storage: &dyn Storage) -> Result<()> {
        let path = manifest_path();
        storage
            .write_atomic(&path, &self.encode())
            .map_err(|e| Error::io("write", display_path(storage, &path), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut m =
            Manifest { generation: 3, next_file_id: 9, checkpoint_lsn: 42, ..Default::default() };
        let spec = TableSpec::from_conventional_name("stocks_daily").expect("spec");
        let mut t = TableManifest::new(&spec);
        t.segments.push(SegmentMeta {
            id: 7,
            partition: "month=2024-01".into(),
            path: "stocks_daily/month=2024-01/seg-0000000007.parquet".into(),
            rows: 10,
            bytes: 1234,
            crc32c: 0xdead_beef,
            min_ts: 1,
            max_ts: 2,
            symbols: 2,
            level: 0,
        });
        m.tables.insert("stocks_daily".into(), t);
        m
    }

    #[test]
    fn roundtrip() {
        let m = sample();
        let bytes = m.encode();
        assert_eq!(&bytes[..8], b"CSMANIF\n");
        assert_eq!(Manifest::decode(&bytes, Path::new("m")).expect("decode"), m);
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                assert!(Manifest::decode(&b, Path::new("m")).is_err(), "flip at {i} undetected");
            }
        }
        for len in 0..bytes.len() {
            assert!(Manifest::decode(&bytes[..len], Path::new("m")).is_err());
        }
    }

    #[test]
    fn golden_v1() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/manifest/golden-v1.manifest");
        let encoded = sample().encode();
        if std::env::var_os("CANDLESTORE_BLESS").is_some() {
            std::fs::create_dir_all(Path::new(path).parent().expect("dir")).expect("mkdir");
            std::fs::write(path, &encoded).expect("bless");
        }
        let golden =
            std::fs::read(path).expect("golden manifest fixture (CANDLESTORE_BLESS=1 writes it)");
        assert_eq!(
            encoded, golden,
            "manifest v1 encoding changed: update format-spec and the fixture"
        );
        assert_eq!(Manifest::decode(&golden, Path::new(path)).expect("decode golden"), sample());
    }
}
