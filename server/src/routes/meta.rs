//! `/health`, `/api/v1/status`, `/api/v1/tables`, `/api/v1/symbols`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use candlestore::CompactionPolicy;
use serde::Serialize;
use serde_json::{Value, json};

use super::{blocking, query_params, require_table};
use crate::error::ApiError;
use crate::state::AppState;
use crate::status::{AuditCounts, TableStatus, audit_counts};

/// Liveness: answers as long as the server runs.
pub(super) async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Every table with the store's figures, audit counts and freshness, plus the WAL and the
/// ingest scheduler and backfills when those run.
pub(super) async fn status(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    query_params(query, &[])?;
    let st = state.clone();
    blocking(move || {
        let store = &st.store;
        let stats =
            store.stats().map_err(|e| ApiError::internal("reading store figures failed", &e))?;
        let mut pending: BTreeMap<String, usize> = BTreeMap::new();
        for task in store.compaction_plan(&CompactionPolicy::default()) {
            *pending.entry(task.table).or_default() += 1;
        }
        let now = st.now();
        let mut tables = Vec::new();
        for table in store.tables() {
            let t = store
                .table_stats(&table)
                .map_err(|e| ApiError::internal("reading table figures failed", &e))?;
            let audit = cached_audit(&st, &table, (stats.generation, stats.next_lsn))?;
            tables.push(TableStatus::new(
                &t,
                Some(audit),
                pending.get(&table).copied().unwrap_or(0),
                &st.thresholds,
                now,
            ));
        }
        let mut body = json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "now": candlestore::export::format_micros(now),
            "store": {
                "root": store.root().map(|p| p.display().to_string()),
                "read_only": stats.read_only,
                "generation": stats.generation,
                "checkpoint_lsn": stats.checkpoint_lsn,
                "next_lsn": stats.next_lsn,
                "wal_files": stats.wal_files,
                "wal_bytes": stats.wal_bytes,
                "cache_bytes": stats.cache_bytes,
            },
            "tables": tables,
        });
        if let Some(s) = &st.scheduler {
            let now = chrono::DateTime::from_timestamp_micros(now).unwrap_or_default();
            body["scheduler"] = s
                .status(now)
                .map_err(|e| ApiError::internal("reading the schedule state failed", &e))?;
        }
        if let Some(runner) = &st.backfill {
            let jobs = runner.jobs();
            body["backfill"] = json!({
                "running": runner.running(),
                "last_job": jobs.first(),
            });
        }
        Ok(Json(body))
    })
    .await
}

fn cached_audit(
    state: &AppState,
    table: &str,
    version: (u64, Option<u64>),
) -> Result<AuditCounts, ApiError> {
    if let Some((v, counts)) = state.audit_cache.lock().get(table)
        && *v == version
    {
        return Ok(*counts);
    }
    let counts = audit_counts(&state.store, table)
        .map_err(|e| ApiError::internal("counting the audit flags failed", &e))?;
    state.audit_cache.lock().insert(table.to_owned(), (version, counts));
    Ok(counts)
}

/// The tables, with their figures and freshness (no column is read).
pub(super) async fn tables(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    query_params(query, &[])?;
    let now = state.now();
    let pending = state.store.compaction_plan(&CompactionPolicy::default());
    let mut out = Vec::new();
    for table in state.store.tables() {
        let t = state
            .store
            .table_stats(&table)
            .map_err(|e| ApiError::internal("reading table figures failed", &e))?;
        let n = pending.iter().filter(|p| p.table == table).count();
        out.push(TableStatus::new(&t, None, n, &state.thresholds, now));
    }
    Ok(Json(json!({ "tables": out })))
}

#[derive(Debug, Serialize)]
struct SymbolEntry {
    table: String,
    symbol: String,
    sector: Option<String>,
    exchange: Option<String>,
    bars: u64,
    first_bar: Option<String>,
    last_bar: Option<String>,
}

/// The symbol master: every symbol of one or all tables, filtered by sector and exchange
/// (exact, case-insensitive) and `q` (a case-insensitive part of the symbol).
pub(super) async fn symbols(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = query_params(query, &["table", "sector", "exchange", "q"])?;
    let tables = match p.get("table") {
        Some(t) => vec![require_table(&state, "table", t)?],
        None => state.store.tables(),
    };
    let sector = p.get("sector").map(str::to_lowercase);
    let exchange = p.get("exchange").map(str::to_lowercase);
    let q = p.get("q").map(str::to_lowercase);
    let same = |want: &Option<String>, have: &Option<String>| match want {
        None => true,
        Some(w) => have.as_ref().is_some_and(|h| h.to_lowercase() == *w),
    };
    let mut out = Vec::new();
    for table in tables {
        let symbols = state
            .store
            .table_symbols(&table)
            .map_err(|e| ApiError::internal("reading the symbol list failed", &e))?;
        for s in symbols {
            if !same(&sector, &s.sector) || !same(&exchange, &s.exchange) {
                continue;
            }
            if q.as_ref().is_some_and(|q| !s.symbol.to_lowercase().contains(q.as_str())) {
                continue;
            }
            out.push(SymbolEntry {
                table: table.clone(),
                symbol: s.symbol,
                sector: s.sector,
                exchange: s.exchange,
                bars: s.bars,
                first_bar: s.first_bar.map(candlestore::export::format_micros),
                last_bar: s.last_bar.map(candlestore::export::format_micros),
            });
        }
    }
    Ok(Json(json!({ "count": out.len(), "symbols": out })))
}
