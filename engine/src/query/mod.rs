//! Range scans: planning against a snapshot, reading segment columns through the cache,
//! overlaying unflushed rows, time travel and quality filters.

mod asof;
pub(crate) mod blocks;
mod plan;
mod scan;

pub(crate) use asof::table_corrections;
pub(crate) use plan::Snapshot;
pub use scan::{Scan, ScanBuilder, SymbolSelection};
