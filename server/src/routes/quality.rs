//! `GET /api/v1/quality/{table}/{symbol}?start=&end=`: the audit fields of one symbol's bars
//! summed up: validation rate, quality scores, completeness, the bars flagged with a gap or
//! a volume anomaly, and how often each validation note occurs.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int32Type, TimestampMicrosecondType};
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use candlestore::export::format_micros;
use serde_json::{Value, json};

use super::{blocking, path_error, query_params, require_symbol, require_table};
use crate::error::ApiError;
use crate::params;
use crate::state::AppState;

const COLUMNS: [&str; 7] = [
    "datetime",
    "is_validated",
    "quality_score",
    "validation_notes",
    "gap_detected",
    "volume_anomaly",
    "data_completeness",
];

#[derive(Debug, Default)]
struct Summary {
    bars: u64,
    validated: u64,
    score_sum: f64,
    score_min: Option<f64>,
    completeness_sum: f64,
    completeness_n: u64,
    gaps: Vec<String>,
    anomalies: Vec<String>,
    notes: BTreeMap<String, u64>,
}

pub(super) async fn quality(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path((table, symbol)) = path.map_err(path_error)?;
    let p = query_params(query, &["start", "end"])?;
    let table = require_table(&state, "table", &table)?;
    let summary = require_symbol(&state, &table, "symbol", &symbol)?;
    let range = params::range(p.get("start"), p.get("end"))?;
    let spec = state.store.table_spec(&table).map_err(|e| ApiError::internal("table", &e))?;
    let fresh = state.freshness(&spec, summary.last_bar);
    let st = state.clone();
    let (t, sym) = (table.clone(), summary.symbol.clone());
    let s = blocking(move || {
        let mut scan = st.store.scan(&t).symbol(sym).columns(COLUMNS);
        if let Some(s) = range.start {
            scan = scan.start(s);
        }
        if let Some(e) = range.end {
            scan = scan.end(e);
        }
        summarize(scan).map_err(|e| ApiError::internal("reading the audit fields failed", &e))
    })
    .await?;
    let mean = |sum: f64, n: u64| (n > 0).then(|| sum / n as f64);
    Ok(Json(json!({
        "table": table,
        "symbol": summary.symbol,
        "bars": s.bars,
        "validated_bars": s.validated,
        "validation_rate": mean(s.validated as f64, s.bars),
        "quality_score": { "mean": mean(s.score_sum, s.bars), "min": s.score_min },
        "completeness": { "mean": mean(s.completeness_sum, s.completeness_n) },
        "gaps": { "count": s.gaps.len(), "bars": s.gaps },
        "volume_anomalies": { "count": s.anomalies.len(), "bars": s.anomalies },
        "validation_notes": s.notes,
        "newest_bar": summary.last_bar.map(format_micros),
        "data_age_seconds": fresh.data_age_seconds,
        "is_stale": fresh.is_stale,
    })))
}

fn summarize(scan: candlestore::ScanBuilder) -> candlestore::Result<Summary> {
    let mut s = Summary::default();
    for batch in scan.build()? {
        let batch = batch?;
        let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
        let validated = batch.column(1).as_boolean();
        let score = batch.column(2).as_primitive::<Float64Type>();
        let notes = batch.column(3).as_dictionary::<Int32Type>();
        let note_values = notes.values().as_string::<i32>();
        let gap = batch.column(4).as_boolean();
        let anomaly = batch.column(5).as_boolean();
        let completeness = batch.column(6).as_primitive::<Float64Type>();
        for i in 0..batch.num_rows() {
            s.bars += 1;
            s.validated += u64::from(validated.is_valid(i) && validated.value(i));
            if score.is_valid(i) {
                let v = score.value(i);
                s.score_sum += v;
                s.score_min = Some(s.score_min.map_or(v, |m| m.min(v)));
            }
            if completeness.is_valid(i) {
                s.completeness_sum += completeness.value(i);
                s.completeness_n += 1;
            }
            if gap.is_valid(i) && gap.value(i) {
                s.gaps.push(format_micros(ts.value(i)));
            }
            if anomaly.is_valid(i) && anomaly.value(i) {
                s.anomalies.push(format_micros(ts.value(i)));
            }
            if notes.is_valid(i) {
                let k = notes.keys().value(i);
                if let Ok(k) = usize::try_from(k)
                    && k < note_values.len()
                    && !note_values.value(k).is_empty()
                {
                    *s.notes.entry(note_values.value(k).to_owned()).or_default() += 1;
                }
            }
        }
    }
    Ok(s)
}
