//! What `/api/v1/status` and `/api/v1/tables` report: per table the store's figures, the
//! audit fields summed over every bar, and freshness.

use arrow::array::{Array, AsArray};
use candlestore::{Store, TableStats};
use serde::Serialize;

use candlestore_ingest::FreshnessConfig;

use crate::freshness::{Freshness, freshness, stale_after_seconds};

/// Counts of the audit fields (F1 `is_validated`, `gap_detected`, `volume_anomaly`) over every
/// bar of a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct AuditCounts {
    pub(crate) bars: u64,
    pub(crate) validated: u64,
    pub(crate) gaps_flagged: u64,
    pub(crate) volume_anomalies: u64,
}

/// Scans the three audit columns of `table` (a few bytes per bar).
pub(crate) fn audit_counts(store: &Store, table: &str) -> candlestore::Result<AuditCounts> {
    let mut c = AuditCounts::default();
    let scan = store.scan(table).columns(["is_validated", "gap_detected", "volume_anomaly"]);
    for batch in scan.build()? {
        let batch = batch?;
        let trues = |i: usize| {
            let a = batch.column(i).as_boolean();
            // A null flag (none is nullable in F1) would not count as raised.
            a.true_count() as u64 - if a.null_count() > 0 { nulls_true(a) } else { 0 }
        };
        c.bars += batch.num_rows() as u64;
        c.validated += trues(0);
        c.gaps_flagged += trues(1);
        c.volume_anomalies += trues(2);
    }
    Ok(c)
}

/// Values that are `true` under a null slot (`true_count` counts them).
fn nulls_true(a: &arrow::array::BooleanArray) -> u64 {
    (0..a.len()).filter(|&i| a.is_null(i) && a.values().value(i)).count() as u64
}

/// One table in `/api/v1/tables` and `/api/v1/status`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TableStatus {
    pub(crate) table: String,
    pub(crate) asset_class: &'static str,
    pub(crate) timeframe: &'static str,
    pub(crate) symbols: usize,
    pub(crate) bars: u64,
    pub(crate) newest_bar: Option<String>,
    #[serde(flatten)]
    pub(crate) freshness: Freshness,
    pub(crate) stale_after_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) audit: Option<AuditStatus>,
    pub(crate) storage: StorageStatus,
}

/// Validation rate and flag counts.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AuditStatus {
    pub(crate) validated_bars: u64,
    /// `validated_bars / bars` (null for an empty table).
    pub(crate) validation_rate: Option<f64>,
    pub(crate) gaps_flagged: u64,
    pub(crate) volume_anomalies: u64,
}

/// Segment, compaction and memtable figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StorageStatus {
    pub(crate) segments: usize,
    pub(crate) segment_bytes: u64,
    pub(crate) partitions: usize,
    pub(crate) level0_segments: usize,
    pub(crate) pending_compactions: usize,
    pub(crate) unflushed_rows: usize,
    pub(crate) unflushed_corrections: usize,
}

impl TableStatus {
    pub(crate) fn new(
        stats: &TableStats,
        audit: Option<AuditCounts>,
        pending_compactions: usize,
        thresholds: &FreshnessConfig,
        now: i64,
    ) -> Self {
        let spec = &stats.spec;
        Self {
            table: spec.name.as_str().to_owned(),
            asset_class: spec.asset_class.as_str(),
            timeframe: spec.timeframe.code(),
            symbols: stats.symbols,
            bars: stats.bars,
            newest_bar: stats.newest_bar.map(candlestore::export::format_micros),
            freshness: freshness(thresholds, spec, stats.newest_bar, now),
            stale_after_seconds: stale_after_seconds(thresholds, spec),
            audit: audit.map(|a| AuditStatus {
                validated_bars: a.validated,
                validation_rate: (a.bars > 0).then(|| a.validated as f64 / a.bars as f64),
                gaps_flagged: a.gaps_flagged,
                volume_anomalies: a.volume_anomalies,
            }),
            storage: StorageStatus {
                segments: stats.segments,
                segment_bytes: stats.segment_bytes,
                partitions: stats.partitions,
                level0_segments: stats.level0_segments,
                pending_compactions,
                unflushed_rows: stats.unflushed_rows,
                unflushed_corrections: stats.unflushed_corrections,
            },
        }
    }
}
