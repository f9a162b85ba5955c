//! # candlestore
//!
//! An embedded, append-only columnar storage engine for market-data bars: a write-ahead log,
//! memtables, immutable time-partitioned Parquet segments clustered by symbol, an mmap'd
//! index, range scans returning Arrow `RecordBatch`es, and upserts with revisions.
//!
//! ```no_run
//! # fn main() -> candlestore::Result<()> {
//! use candlestore::Store;
//! let store = Store::open("/tmp/bars")?;
//! # let batch: arrow::array::RecordBatch = unimplemented_batch();
//! let report = store.append("stocks_daily", &batch)?;
//! println!("{} new bars", report.inserted);
//! for batch in store.scan("stocks_daily").symbol("AAPL").columns(["datetime", "close"]).build()? {
//!     println!("{} rows", batch?.num_rows());
//! }
//! # Ok(()) }
//! # fn unimplemented_batch() -> arrow::array::RecordBatch { arrow::array::RecordBatch::new_empty(candlestore::bar_schema()) }
//! ```

mod clock;
mod compaction;
mod corrections;
mod error;
pub mod export;
mod index;
pub mod kernel;
mod manifest;
mod memtable;
mod query;
mod schema;
mod segment;
mod storage;
mod store;
mod symbols;
mod table;
mod wal;
mod write;

pub use clock::{Clock, ManualClock, Micros, SystemClock};
pub use compaction::{CompactionPolicy, CompactionReport, CompactionTask, plan as compaction_plan};
pub use corrections::{Correction, corrections_schema};
pub use error::{
    Error, IndexError, ManifestError, Result, RowError, RowProblem, SegmentError, WalError,
};
pub use manifest::{
    CorrectionsFile, KernelStateFile, MANIFEST_MAGIC, MANIFEST_MIN_VERSION, MANIFEST_VERSION,
    Manifest, TableManifest,
};
pub use query::{Scan, ScanBuilder, SymbolSelection};
pub use schema::{
    COLUMN_COUNT, EXTRA_COUNT, FIELD_COUNT, FieldDef, FieldKind, LINEAGE_COLUMNS, bar_schema, col,
    column_def, column_index, extra_field_defs, field_defs, is_extra, row_schema,
    table_column_count, table_schema,
};
pub use segment::{Partition, SEGMENT_FORMAT_VERSION, SegmentMeta};
pub use storage::{AppendFile, FileBytes, FsStorage, MemStorage, Storage, SyncPoint};
pub use store::{
    AppendOptions, AppendReport, FlaggedRow, FlushReport, MAX_FLAGGED_KEPT, RecoveryReport, Store,
    StoreBuilder, StoreOptions, StoreStats, SymbolSummary, TableStats, VerifyReport,
};
pub use symbols::{
    InstrumentType, Provider, SYMBOLS_MAGIC, SYMBOLS_MIN_VERSION, SYMBOLS_VERSION, SymbolFilter,
    SymbolRecord, SymbolUpsertReport, SymbolsError, provider_symbol,
};
pub use table::{AssetClass, Partitioning, TableName, TableSpec, Timeframe};
pub use wal::{Durability, Lsn};
pub use write::{InvalidRows, is_valid_symbol};

/// The README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme_example {}

/// Low-level access to the store's own file formats, for the `candlestore` tool's `dump`,
/// `verify` and `repair` commands.
pub mod inspect {
    pub use crate::index::{
        IndexBuilder, RowRange, SegmentEntry, SegmentId, SymbolId, SymbolInfo, SymbolRange,
        TableIndex,
    };
    pub use crate::wal::{
        Defect, DefectAt, FORMAT_VERSION as WAL_FORMAT_VERSION, FileHeader, FrameInfo,
        MAX_PAYLOAD_LEN, RepairCut, RepairReport, ReplayOutcome, TornTail, WalFileInfo,
        inspect as inspect_wal, repair as repair_wal,
    };
}
