//! Immutable Parquet segments: one file holds the rows of one time partition of one table,
//! sorted by (symbol, datetime).

mod cache;
mod path;
mod reader;
mod writer;

use serde::{Deserialize, Serialize};

pub(crate) use cache::ColumnCache;
pub use path::Partition;
pub(crate) use path::{PartitionCursor, segment_path};
pub(crate) use reader::SegmentReader;
pub(crate) use writer::{SymbolRun, symbol_runs, write_segment};

/// Newest format version recorded in a segment's key-value metadata
/// (`candlestore.format_version`): 2 = the 97 F1 columns then the extras (crypto tables).
/// A segment of exactly the 97 columns (every stock segment) is still written as version 1,
/// byte for byte as before (format-spec/segments.md).
pub const SEGMENT_FORMAT_VERSION: u32 = 2;

/// Version of a segment holding only the 97 F1 columns.
pub(crate) const SEGMENT_V1: u32 = 1;

/// The format version of a segment with `columns` columns (97 or 99).
pub(crate) fn version_for(columns: usize) -> u32 {
    if columns > crate::schema::FIELD_COUNT { SEGMENT_FORMAT_VERSION } else { SEGMENT_V1 }
}

/// The columns a segment of `version` holds.
pub(crate) fn columns_of(version: u32) -> usize {
    if version >= 2 { crate::schema::COLUMN_COUNT } else { crate::schema::FIELD_COUNT }
}

/// What the manifest records about a live segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMeta {
    /// Store-wide unique id (never reused).
    pub id: u64,
    /// Partition directory name (`month=2024-01`).
    pub partition: String,
    /// Store-relative path of the Parquet file.
    pub path: String,
    /// Number of rows.
    pub rows: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// crc32c of the whole file.
    pub crc32c: u32,
    /// Smallest `datetime` (µs, UTC).
    pub min_ts: i64,
    /// Largest `datetime` (µs, UTC).
    pub max_ts: i64,
    /// Number of distinct symbols.
    pub symbols: u32,
    /// Compaction level: 0 for flush output, +1 per compaction.
    pub level: u32,
}
