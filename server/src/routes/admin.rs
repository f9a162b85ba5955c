//! Administrative endpoints (scope `admin`): flush memtables, compact segments.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use candlestore::CompactionPolicy;
use serde_json::{Value, json};

use super::blocking;
use crate::error::ApiError;
use crate::state::AppState;

/// Writes every memtable to segments and commits.
pub(super) async fn flush(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let st = state.clone();
    blocking(move || {
        let report = st.store.flush().map_err(|e| ApiError::internal("the flush failed", &e))?;
        Ok(Json(json!({
            "rows": report.rows,
            "segments_written": report.segments_written,
            "segments_replaced": report.segments_replaced,
            "corrections": report.corrections,
        })))
    })
    .await
}

/// Merges the small segments of each partition (the default policy).
pub(super) async fn compact(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let st = state.clone();
    blocking(move || {
        let r = st
            .store
            .compact(&CompactionPolicy::default())
            .map_err(|e| ApiError::internal("the compaction failed", &e))?;
        Ok(Json(json!({
            "tasks": r.tasks,
            "segments_in": r.segments_in,
            "segments_out": r.segments_out,
            "rows": r.rows,
            "commits": r.commits,
        })))
    })
    .await
}
