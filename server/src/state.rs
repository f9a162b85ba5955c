//! What every handler shares.

use std::collections::HashMap;
use std::sync::Arc;

use candlestore::{Clock, Store, TableSpec};
use candlestore_ingest::FreshnessConfig;
use parking_lot::Mutex;

use crate::backfill::BackfillRunner;
use crate::config::ServerConfig;
use crate::freshness::{Freshness, freshness};
use crate::metrics::Metrics;
use crate::rate::Limiter;
use crate::scheduler::ServerScheduler;
use crate::status::AuditCounts;

/// What identifies the data a cached figure was computed from: (manifest generation, next
/// WAL LSN).
pub(crate) type DataVersion = (u64, Option<u64>);

/// Shared server state.
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) config: ServerConfig,
    pub(crate) metrics: Metrics,
    pub(crate) limiter: Limiter,
    pub(crate) clock: Arc<dyn Clock>,
    /// Staleness thresholds per asset class (the `[freshness]` section).
    pub(crate) thresholds: FreshnessConfig,
    /// Audit counts per table, with the (generation, next LSN) they were computed at: any
    /// commit or append changes that pair, so a cached count is never stale.
    pub(crate) audit_cache: Mutex<HashMap<String, (DataVersion, AuditCounts)>>,
    /// `/openapi.json`, rendered once for this config.
    pub(crate) openapi: bytes::Bytes,
    /// Present when vendor providers are configured.
    pub(crate) backfill: Option<Arc<BackfillRunner>>,
    /// Present with `serve --schedule`.
    pub(crate) scheduler: Option<Arc<ServerScheduler>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("store", &self.store.root()).finish_non_exhaustive()
    }
}

impl AppState {
    /// The current time, µs since the epoch.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now_micros()
    }

    /// How fresh a `spec` table's newest bar at `newest` is now, against its calendar.
    pub(crate) fn freshness(&self, spec: &TableSpec, newest: Option<i64>) -> Freshness {
        freshness(&self.thresholds, spec, newest, self.now())
    }
}
