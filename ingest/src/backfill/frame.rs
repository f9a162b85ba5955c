//! The framing shared by the files backfill and schedule keep under `<store>/_ingest/`: a
//! 24-byte header (magic, version, flags, body length, crc32c) and a JSON body, replaced
//! atomically. Byte layout: `format-spec/backfill-state.md`.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Header length in bytes.
pub(crate) const HEADER_LEN: usize = 24;

/// Errors reading or writing one of the framed state files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateFileError {
    /// An I/O error on the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the expected magic.
    #[error("{path}: not a {what} file (bad magic at offset 0)")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// What the file should have been.
        what: &'static str,
    },
    /// The file was written by a newer (or unknown) format version.
    #[error(
        "{path}: {what} format version {version} is not supported (this build reads {min}..={max})"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// What the file is.
        what: &'static str,
        /// The version found.
        version: u32,
        /// Oldest version read.
        min: u32,
        /// Newest version read.
        max: u32,
    },
    /// The stored checksum does not match the bytes.
    #[error(
        "{path}: checksum mismatch at offset 20 (stored {expected:#010x}, computed {got:#010x})"
    )]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// The crc32c in the header.
        expected: u32,
        /// The crc32c of the bytes.
        got: u32,
    },
    /// The file is truncated, has trailing bytes, bad flags or a body that does not parse.
    #[error("{path}: malformed at offset {offset}: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Byte offset of the problem.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
}

/// What a framed file is: its magic and the versions this build reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameKind {
    pub(crate) magic: [u8; 8],
    pub(crate) version: u32,
    pub(crate) what: &'static str,
}

/// Encodes `value` as header + compact JSON body.
pub(crate) fn encode<T: Serialize>(kind: FrameKind, value: &T) -> Vec<u8> {
    // Serializing plain structs of strings, numbers and maps with string keys cannot fail.
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&kind.magic);
    out.extend_from_slice(&kind.version.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), &body);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Decodes and validates a framed file's bytes (checks in the order of the format spec).
pub(crate) fn decode<T: DeserializeOwned>(
    kind: FrameKind,
    path: &Path,
    bytes: &[u8],
) -> Result<T, StateFileError> {
    let malformed = |offset: u64, detail: String| StateFileError::Malformed {
        path: path.to_owned(),
        offset,
        detail,
    };
    if bytes.len() < HEADER_LEN {
        return Err(malformed(0, format!("{} bytes, shorter than the header", bytes.len())));
    }
    if bytes[..8] != kind.magic {
        return Err(StateFileError::BadMagic { path: path.to_owned(), what: kind.what });
    }
    let version = u32_at(bytes, 8);
    if version != kind.version {
        return Err(StateFileError::UnsupportedVersion {
            path: path.to_owned(),
            what: kind.what,
            version,
            min: kind.version,
            max: kind.version,
        });
    }
    let flags = u32_at(bytes, 12);
    if flags != 0 {
        return Err(malformed(12, format!("flags {flags:#x}, expected 0")));
    }
    let body_len = u32_at(bytes, 16) as usize;
    if HEADER_LEN + body_len != bytes.len() {
        return Err(malformed(
            HEADER_LEN as u64,
            format!("body length {body_len} declared, {} present", bytes.len() - HEADER_LEN),
        ));
    }
    let expected = u32_at(bytes, 20);
    let got = crc32c::crc32c_append(crc32c::crc32c(&bytes[..20]), &bytes[HEADER_LEN..]);
    if expected != got {
        return Err(StateFileError::ChecksumMismatch { path: path.to_owned(), expected, got });
    }
    serde_json::from_slice(&bytes[HEADER_LEN..]).map_err(|e| {
        malformed(HEADER_LEN as u64 + e.column().saturating_sub(1) as u64, e.to_string())
    })
}

/// Reads a framed file; `None` when it does not exist.
pub(crate) fn load<T: DeserializeOwned>(
    kind: FrameKind,
    path: &Path,
) -> Result<Option<T>, StateFileError> {
    match fs::read(path) {
        Ok(bytes) => decode(kind, path, &bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateFileError::Io { path: path.to_owned(), source }),
    }
}

/// Replaces `path` atomically: temp file in the same directory, fsync, rename, fsync dir. A
/// crash leaves either the old or the new file, never a torn one.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StateFileError> {
    let io = |source| StateFileError::Io { path: path.to_owned(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ignored_cleanup = fs::remove_file(&tmp);
    }
    result.map_err(io)
}
