//! `POST /api/v1/backfill` (scope `admin`) starts a backfill job; `GET
//! /api/v1/backfill/status` (scope `read`) lists the jobs kept in memory and the per-table
//! states of the on-disk job-state files.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use candlestore::{SymbolFilter, TableSpec};
use candlestore_ingest::{BackfillSpec, ProviderKind};
use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::{blocking, query_params};
use crate::backfill::table_states;
use crate::error::ApiError;
use crate::params;
use crate::state::AppState;

/// Symbols a backfill of one table works on at once.
const CONCURRENCY: usize = 8;

const FIELDS: [&str; 6] = ["table", "symbols", "sector", "start", "end", "source"];

fn bad(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid("bad_request", param, message)
}

/// Starts a backfill: 202 with the queued job.
pub(super) async fn start(
    State(state): State<Arc<AppState>>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Some(runner) = state.backfill.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backfill_unavailable",
            "this server runs without a backfill runner: start it with vendor providers \
             configured ([providers.<name>] in --config, or CANDLESTORE_<NAME>_BASE_URL / \
             _API_KEY)",
        ));
    };
    let Json(body) = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body: {}", e.body_text()),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("the request body: {}", e.body_text()),
        ),
        // serde's message has the line and column of the fault.
        _ => bad("body", format!("the JSON body: {}", e.body_text())),
    })?;
    let st = state.clone();
    let spec = blocking(move || spec_of(&st, &body)).await?;
    let table = spec.table.clone();
    let (job, _) = runner.submit(spec).map_err(|c| {
        ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a backfill of {table} is already queued or running (job {})", c.job_id),
        )
        .with_param("table")
    })?;
    let answer = json!({
        "job_id": job.job_id,
        "status": job.phase,
        "table": job.table,
        "symbols": job.symbols,
        "start": job.start,
        "end": job.end,
    });
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// The job of a request body, every field checked (blocking: a sector reads the master).
fn spec_of(state: &AppState, body: &Value) -> Result<BackfillSpec, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(bad("body", "the body must be a JSON object"));
    };
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(k, format!("unknown field {k:?} (fields: {})", FIELDS.join(", "))));
    }
    let table = match text(obj, "table")? {
        Some(t) => params::table_name("table", t).map_err(|e| bad("table", e.message))?,
        None => return Err(bad("table", "the field \"table\" is required")),
    };
    if !state.store.tables().contains(&table) && TableSpec::from_conventional_name(&table).is_none()
    {
        return Err(ApiError::not_found(
            "unknown_table",
            "table",
            format!(
                "no table {table:?} in the store, and not a conventional name such as \
                 stocks_daily or crypto_hourly that a backfill could create"
            ),
        ));
    }
    let start = match text(obj, "start")? {
        Some(s) => date("start", s)?,
        None => return Err(bad("start", "the field \"start\" is required (YYYY-MM-DD)")),
    };
    let end = match text(obj, "end")? {
        Some(s) => date("end", s)?,
        None => chrono::DateTime::from_timestamp_micros(state.now())
            .map(|t| t.date_naive())
            .ok_or_else(|| bad("end", "the server's clock is out of range"))?,
    };
    if end < start {
        return Err(bad("end", format!("end {end} is before start {start}")));
    }
    let source = match text(obj, "source")? {
        Some(s) => Some(s.parse::<ProviderKind>().map_err(|_| {
            bad("source", format!("{s:?} is not one of polygon, binance, yahoo, twelvedata"))
        })?),
        None => None,
    };
    let symbols = match (obj.get("symbols").filter(|v| !v.is_null()), text(obj, "sector")?) {
        (Some(_), Some(_)) => {
            return Err(bad("symbols", "give exactly one of \"symbols\" and \"sector\", not both"));
        }
        (None, None) => {
            return Err(bad("symbols", "give one of \"symbols\" (an array) or \"sector\""));
        }
        (Some(list), None) => symbol_list(list)?,
        (None, Some(sector)) => {
            let filter = SymbolFilter { sector: Some(sector.to_owned()), ..Default::default() };
            let found: Vec<String> =
                state.store.find_symbols(&filter).into_iter().map(|r| r.symbol).collect();
            if found.is_empty() {
                return Err(ApiError::not_found(
                    "unknown_sector",
                    "sector",
                    format!("no symbol of the store's symbol master has sector {sector:?}"),
                ));
            }
            found
        }
    };
    Ok(BackfillSpec { table, symbols, start, end, source, concurrency: CONCURRENCY })
}

/// A string field; `null` and absence are both `None`.
fn text<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(bad(field, format!("\"{field}\" must be a string, not {other}"))),
    }
}

fn date(field: &str, s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| bad(field, format!("{field} {s:?} is not a date (YYYY-MM-DD)")))
}

fn symbol_list(v: &Value) -> Result<Vec<String>, ApiError> {
    let Some(items) = v.as_array() else {
        return Err(bad("symbols", "\"symbols\" must be an array of strings"));
    };
    if items.is_empty() {
        return Err(bad("symbols", "\"symbols\" is empty"));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(s) = item.as_str() else {
            return Err(bad("symbols", format!("symbols[{i}] is not a string: {item}")));
        };
        let s = s.trim().to_ascii_uppercase();
        let s = params::symbol_name("symbols", &s)
            .map_err(|e| bad("symbols", format!("symbols[{i}]: {}", e.message)))?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// The jobs (most recent first) and the tables' on-disk states.
pub(super) async fn status(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = query_params(query, &["job_id"])?;
    let mut jobs = state.backfill.as_ref().map(|r| r.jobs()).unwrap_or_default();
    if let Some(id) = p.get("job_id") {
        jobs.retain(|j| j.job_id == id);
        if jobs.is_empty() {
            return Err(ApiError::not_found(
                "unknown_job",
                "job_id",
                format!("no backfill job {id:?} (the server keeps the last 100 jobs in memory)"),
            ));
        }
    }
    let root = state.store.root().map(std::path::Path::to_path_buf);
    let tables = blocking(move || match root {
        Some(root) => table_states(&root)
            .map_err(|e| ApiError::internal("reading the backfill state files failed", &e)),
        None => Ok(Vec::new()),
    })
    .await?;
    Ok(Json(json!({ "jobs": jobs, "tables": tables })))
}
