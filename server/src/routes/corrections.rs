//! `GET /api/v1/corrections/{table}/{symbol}`: the corrections log of one symbol.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use candlestore::export::format_micros;
use serde::Serialize;
use serde_json::{Value, json};

use super::{blocking, path_error, query_params, require_symbol, require_table};
use crate::error::ApiError;
use crate::params;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct Entry {
    datetime: String,
    field: String,
    old_value: Option<String>,
    new_value: Option<String>,
    old_revision: i32,
    new_revision: i32,
    corrected_at: String,
    batch_id: String,
}

/// Every recorded change of the symbol's bars (optionally of bars in `start..=end`), oldest
/// correction first.
pub(super) async fn corrections(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path((table, symbol)) = path.map_err(path_error)?;
    let p = query_params(query, &["start", "end"])?;
    let table = require_table(&state, "table", &table)?;
    let symbol = require_symbol(&state, &table, "symbol", &symbol)?.symbol;
    let range = params::range(p.get("start"), p.get("end"))?;
    let st = state.clone();
    let (t, s) = (table.clone(), symbol.clone());
    let mut list = blocking(move || {
        st.store
            .corrections(&t)
            .map_err(|e| ApiError::internal("reading the corrections log failed", &e))
    })
    .await?;
    list.retain(|c| {
        c.symbol == s
            && range.start.is_none_or(|t| c.datetime >= t)
            && range.end.is_none_or(|t| c.datetime < t)
    });
    list.sort_by_key(|c| (c.corrected_at, c.datetime));
    let entries: Vec<Entry> = list
        .into_iter()
        .map(|c| Entry {
            datetime: format_micros(c.datetime),
            field: c.field,
            old_value: c.old_value,
            new_value: c.new_value,
            old_revision: c.old_revision,
            new_revision: c.new_revision,
            corrected_at: format_micros(c.corrected_at),
            batch_id: c.batch_id,
        })
        .collect();
    Ok(Json(json!({
        "table": table,
        "symbol": symbol,
        "count": entries.len(),
        "corrections": entries,
    })))
}
