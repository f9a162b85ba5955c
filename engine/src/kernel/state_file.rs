//! The persisted kernel states of one table (format-spec/kernel-state.md): every series'
//! [`SeriesState`] as of the rows in the table's committed segments, written by each flush
//! and named by the manifest.
//!
//! Layout: a 32-byte header (magic `CSKSTATE`, format version u32, kernel version u32,
//! series count u32, body length u64, crc32c u32 of the body) then the body: a zstd frame
//! holding bincode of `Vec<(String, SeriesState)>` sorted by symbol.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bincode::Options;

use super::{KERNEL_VERSION, SeriesState};
use crate::error::{Error, Result};

/// Magic bytes of a kernel state file.
pub(crate) const MAGIC: [u8; 8] = *b"CSKSTATE";
/// Format version this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 32;

/// bincode 1 with fixed-width integers, little endian, and a read limit of the body size (a
/// corrupt length can never make the decoder allocate more than the file holds).
fn codec(limit: u64) -> impl Options {
    bincode::DefaultOptions::new().with_fixint_encoding().with_little_endian().with_limit(limit)
}

/// States of a table's series by symbol.
/// Boxed: a state is several KB, and maps, appends and flush snapshots move them around.
pub(crate) type States = HashMap<Arc<str>, Box<SeriesState>>;

/// Store-relative path of a table's state file written by commit `generation`.
pub(crate) fn state_path(table: &str, generation: u64) -> PathBuf {
    PathBuf::from("_meta").join("kernel").join(format!("{table}-{generation:010}.state"))
}

/// Encodes the states (sorted by symbol, so equal states give equal bytes).
pub(crate) fn encode(states: &States) -> Result<Vec<u8>> {
    let mut entries: Vec<(&str, &SeriesState)> =
        states.iter().map(|(s, st)| (s.as_ref(), st.as_ref())).collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let raw = codec(u64::MAX)
        .serialize(&entries)
        .map_err(|e| Error::Corrupt { reason: format!("encoding kernel state: {e}") })?;
    // The windows compress well (about 3x): the file is rewritten by every flush.
    let body = zstd::bulk::compress(&raw, 3)
        .map_err(|e| Error::Corrupt { reason: format!("compressing kernel state: {e}") })?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&KERNEL_VERSION.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decompresses a body, refusing frames that claim more than 1 GiB (a corrupt size field).
fn decompress(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(body)?.take(1 << 30).read_to_end(&mut out)?;
    Ok(out)
}

/// Decodes a state file. A file of another kernel version decodes to no states (the series
/// are recomputed from history on their next append); a damaged file is an error naming it.
pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<States> {
    let corrupt = |reason: String| Error::Corrupt {
        reason: format!("kernel state {}: {reason}", path.display()),
    };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!("{} bytes, shorter than the header", bytes.len())));
    }
    if bytes[..8] != MAGIC {
        return Err(corrupt("bad magic".into()));
    }
    let u32_at =
        |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let format = u32_at(8);
    if format != FORMAT_VERSION {
        return Err(corrupt(format!("format version {format}, this build reads {FORMAT_VERSION}")));
    }
    let kernel = u32_at(12);
    let count = u32_at(16) as usize;
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[20..28]);
    let len = u64::from_le_bytes(len);
    let crc = u32_at(28);
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != len {
        return Err(corrupt(format!("body is {} bytes, header says {len}", body.len())));
    }
    if crc32c::crc32c(body) != crc {
        return Err(corrupt("crc32c mismatch".into()));
    }
    if kernel != KERNEL_VERSION {
        return Ok(States::new());
    }
    let raw = decompress(body).map_err(|e| corrupt(format!("undecodable body: {e}")))?;
    let entries: Vec<(String, SeriesState)> = codec(raw.len() as u64)
        .deserialize(&raw)
        .map_err(|e| corrupt(format!("undecodable body: {e}")))?;
    if entries.len() != count {
        return Err(corrupt(format!("{} series, header says {count}", entries.len())));
    }
    Ok(entries.into_iter().map(|(s, st)| (Arc::from(s.as_str()), Box::new(st))).collect())
}
