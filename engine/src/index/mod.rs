//! The mmap'd per-table index: symbol dictionary, segment table with per-segment symbol
//! bitmaps, and per-(symbol, segment) postings. Byte layout: `format-spec/index.md`.
//!
//! One index file describes one *generation* of a table (one set of live segments). It is
//! written with [`IndexBuilder::finish`] and read zero-copy with [`TableIndex::open`], which
//! validates the whole file once and then answers queries straight from the mapped bytes.
//!
//! [`SymbolId`]s are positions in the generation's sorted dictionary, so they are only
//! meaningful within one generation: callers key symbols by name across generations.

mod builder;
mod format;
mod reader;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

pub use builder::{IndexBuilder, SymbolRange};
pub(crate) use format::format_micros;
pub use reader::{RowRange, SegmentEntry, SymbolInfo, TableIndex};

/// Dense id of a symbol within one index generation: its position in the bytewise-sorted
/// dictionary. Ids can change between generations; key by name across generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SymbolId(pub u32);

impl fmt::Display for SymbolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Id of a segment, chosen by the caller (stable across generations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub u64);

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Errors of the index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The file does not start with the index magic.
    #[error("index {path}: bad magic")]
    BadMagic {
        /// The index file.
        path: PathBuf,
    },
    /// Written by a newer (or unknown) format version.
    #[error(
        "index {path}: format version {found} is not supported (this build reads {min}..={max})"
    )]
    UnsupportedVersion {
        /// The index file.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Oldest readable version.
        min: u32,
        /// Newest readable version.
        max: u32,
    },
    /// The file is shorter or longer than its header says (or too short for a header).
    #[error("index {path}: file is {actual} bytes, expected {expected}")]
    LengthMismatch {
        /// The index file.
        path: PathBuf,
        /// Length the header records (or the header length, if even that is missing).
        expected: u64,
        /// Length of the bytes given.
        actual: u64,
    },
    /// The checksum does not match the bytes.
    #[error(
        "index {path}: checksum mismatch at offset {offset} (expected {expected:#010x}, got {got:#010x})"
    )]
    ChecksumMismatch {
        /// The index file.
        path: PathBuf,
        /// Offset of the stored checksum.
        offset: u64,
        /// Stored checksum.
        expected: u32,
        /// Computed checksum.
        got: u32,
    },
    /// An offset or length points outside the region it must lie in.
    #[error("index {path}: out-of-bounds reference at offset {offset}: {reason}")]
    OutOfBounds {
        /// The index file.
        path: PathBuf,
        /// Offset of the offending field or record.
        offset: u64,
        /// Which reference was wrong.
        reason: &'static str,
    },
    /// The bytes are in bounds but violate an invariant of the format.
    #[error("index {path}: malformed at offset {offset}: {reason}")]
    Malformed {
        /// The index file.
        path: PathBuf,
        /// Offset of the offending field or record.
        offset: u64,
        /// What was wrong.
        reason: &'static str,
    },
    /// A segment's symbol bitmap could not be decoded or disagrees with the segment table.
    #[error(
        "index {path}: symbol bitmap of segment {segment} at offset {offset} is invalid: {reason}"
    )]
    BadBitmap {
        /// The index file.
        path: PathBuf,
        /// The segment whose bitmap is bad.
        segment: SegmentId,
        /// Offset of the bitmap in the file.
        offset: u64,
        /// What was wrong.
        reason: &'static str,
        /// The decoder's error, if decoding failed.
        #[source]
        source: Option<std::io::Error>,
    },
    /// The segment is not part of this index.
    #[error("index {path}: no segment {segment}")]
    UnknownSegment {
        /// The index file.
        path: PathBuf,
        /// The segment asked for.
        segment: SegmentId,
    },
    /// [`IndexBuilder::add_segment`] was given a segment that cannot be indexed.
    #[error("segment {segment} cannot be indexed: {reason}")]
    InvalidSegment {
        /// The segment being added.
        segment: SegmentId,
        /// What was wrong.
        reason: &'static str,
    },
    /// [`IndexBuilder::add_segment`] was given an invalid row range for a symbol.
    #[error("segment {segment}, symbol {symbol:?}: invalid row range: {reason}")]
    InvalidRange {
        /// The segment being added.
        segment: SegmentId,
        /// The symbol of the range.
        symbol: String,
        /// What was wrong.
        reason: &'static str,
    },
}
