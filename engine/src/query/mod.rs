//! Range scans: planning against a snapshot, reading segment columns through the cache,
//! overlaying unflushed rows, time travel and quality filters.

mod asof;
mod plan;
mod scan;

pub use scan::{Scan, ScanBuilder, SymbolSelection};
