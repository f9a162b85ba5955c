//! `GET /api/v1/screen/{table}?date=&where=&fields=&format=`: a cross-sectional screen over
//! one session: each symbol's last bar of the day, kept when every condition holds.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch, UInt32Array};
use arrow::datatypes::TimestampMicrosecondType;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use candlestore::export::{BatchWriter, Format};
use chrono::DateTime;
use serde_json::{Value, json};

use super::{blocking, path_error, query_params, require_table};
use crate::error::ApiError;
use crate::params::{self, Instant};
use crate::screen::{self, Condition, Operand};
use crate::state::AppState;

const DAY: i64 = 86_400_000_000;

pub(super) async fn screen(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(table) = path.map_err(path_error)?;
    let p = query_params(query, &["date", "where", "fields", "format"])?;
    let table = require_table(&state, "table", &table)?;
    let conditions = match p.get("where") {
        Some(w) => screen::parse(w)?,
        None => Vec::new(),
    };
    let format = params::format(p.get("format"))?;
    let day = match p.get("date") {
        Some(d) => match params::instant("date", d)? {
            Instant::Date(t) => t,
            Instant::Exact(_) => {
                return Err(ApiError::invalid(
                    "invalid_date",
                    "date",
                    format!("date {d:?} must be a day, YYYY-MM-DD"),
                ));
            }
        },
        // The session of the table's newest bar.
        None => {
            let stats = state
                .store
                .table_stats(&table)
                .map_err(|e| ApiError::internal("reading table figures failed", &e))?;
            stats.newest_bar.map_or(0, |t| t.div_euclid(DAY) * DAY)
        }
    };
    let mut out_fields = match p.get("fields") {
        Some(f) => params::fields("fields", &params::split_list("fields", f)?)?,
        None => {
            let mut f = vec!["datetime".to_owned()];
            for c in &conditions {
                f.extend(c.fields().into_iter().map(str::to_owned));
            }
            f
        }
    };
    if !out_fields.iter().any(|f| f == "symbol") {
        out_fields.insert(0, "symbol".to_owned());
    }
    let condition_fields: Vec<String> =
        conditions.iter().flat_map(Condition::fields).map(str::to_owned).collect();
    params::fields_of_table("where", &condition_fields, &table)?;
    params::fields_of_table("fields", &out_fields, &table)?;
    let mut seen = std::collections::HashSet::new();
    out_fields.retain(|f| seen.insert(f.clone()));
    let st = state.clone();
    let t = table.clone();
    let fields = out_fields.clone();
    let conds = conditions.clone();
    let batch = blocking(move || {
        run(&st, &t, day, &conds, &fields).map_err(|e| ApiError::internal("the screen failed", &e))
    })
    .await?;
    let w = BatchWriter::try_new(format, Vec::new(), &batch.schema())
        .and_then(|mut w| w.write(&batch).map(|()| w))
        .map_err(|e| ApiError::internal("writing the screen failed", &e))?;
    let rows = w.rows();
    let body = w.finish().map_err(|e| ApiError::internal("writing the screen failed", &e))?.0;
    let date = DateTime::from_timestamp_micros(day).map(|d| d.format("%Y-%m-%d").to_string());
    if format == Format::Json {
        let data: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::internal("writing the screen failed", &e))?;
        let envelope = json!({
            "table": table,
            "date": date,
            "where": conditions.iter().map(describe).collect::<Vec<_>>(),
            "fields": out_fields,
            "count": rows,
            "data": data,
        });
        return Ok(axum::Json(envelope).into_response());
    }
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    Ok(response)
}

fn describe(c: &Condition) -> String {
    let op = match c.op {
        screen::Op::Lt => "<",
        screen::Op::Le => "<=",
        screen::Op::Gt => ">",
        screen::Op::Ge => ">=",
        screen::Op::Eq => "=",
        screen::Op::Ne => "!=",
    };
    match &c.rhs {
        Operand::Number(v) => format!("{}{op}{v}", c.field),
        Operand::Field(f) => format!("{}{op}{f}", c.field),
    }
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Store(#[from] candlestore::Error),
    #[error("assembling the result failed")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// Reads the session, keeps each symbol's last bar, applies the conditions.
fn run(
    state: &AppState,
    table: &str,
    day: i64,
    conditions: &[Condition],
    out_fields: &[String],
) -> Result<RecordBatch, RunError> {
    // Columns read: the output, the conditions' fields, and the key.
    let mut columns: Vec<String> = vec!["symbol".into(), "datetime".into()];
    for f in
        out_fields.iter().map(String::as_str).chain(conditions.iter().flat_map(Condition::fields))
    {
        if !columns.iter().any(|c| c == f) {
            columns.push(f.to_owned());
        }
    }
    let scan =
        state.store.scan(table).time_range(day, day.saturating_add(DAY)).columns(columns.clone());
    let session = scan.to_batch()?;
    let symbols = arrow::compute::cast(session.column(0), &arrow::datatypes::DataType::Utf8)?;
    let symbols = symbols.as_string::<i32>();
    let ts = session.column(1).as_primitive::<TimestampMicrosecondType>();
    let mut last: HashMap<&str, (i64, usize)> = HashMap::new();
    for row in 0..session.num_rows() {
        let e = last.entry(symbols.value(row)).or_insert((ts.value(row), row));
        if ts.value(row) >= e.0 {
            *e = (ts.value(row), row);
        }
    }
    let col = |name: &str| columns.iter().position(|c| c == name).map(|i| session.column(i));
    let mut keep: Vec<(&str, usize)> = last
        .into_iter()
        .map(|(s, (_, row))| (s, row))
        .filter(|&(_, row)| {
            conditions.iter().all(|c| {
                let a = col(&c.field).and_then(|a| screen::value(a, row));
                let b = match &c.rhs {
                    Operand::Number(v) => Some(*v),
                    Operand::Field(f) => col(f).and_then(|a| screen::value(a, row)),
                };
                screen::holds(c.op, a, b)
            })
        })
        .collect();
    keep.sort_unstable();
    let indices = UInt32Array::from_iter_values(keep.iter().map(|&(_, row)| row as u32));
    let taken = arrow::compute::take_record_batch(&session, &indices)?;
    let positions: Vec<usize> =
        out_fields.iter().filter_map(|f| columns.iter().position(|c| c == f)).collect();
    Ok(taken.project(&positions)?)
}
