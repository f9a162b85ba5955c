//! `POST /api/v1/query`: bars of several symbols (a list, a sector or an exchange).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::Response;
use candlestore::SymbolSummary;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::bars::{read_request, stream};
use super::{require_symbol, require_table};
use crate::error::ApiError;
use crate::params::{self, QueryParams};
use crate::state::AppState;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryBody {
    table: String,
    symbols: Option<Vec<String>>,
    sector: Option<String>,
    exchange: Option<String>,
    fields: Option<FieldList>,
    start: Option<String>,
    end: Option<String>,
    format: Option<String>,
    validated_only: Option<bool>,
    min_quality: Option<f64>,
    as_of: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
}

/// `["datetime", "close"]` or `"datetime,close"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FieldList {
    List(Vec<String>),
    Text(String),
}

pub(super) async fn query(
    State(state): State<Arc<AppState>>,
    body: Result<Json<QueryBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        // Wrong types and unknown fields (axum's 422) are bad requests like bad syntax.
        let status = match e.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            s => s,
        };
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "invalid_body",
        };
        // serde's message names the field and the line/column of the fault.
        ApiError::new(status, code, format!("the request body: {}", e.body_text()))
    })?;
    let table = require_table(&state, "table", &body.table)?;
    let summaries = select(&state, &table, &body)?;
    let format = params::format(body.format.as_deref())?;
    // Every row says which symbol it is.
    let fields = match &body.fields {
        None => None,
        Some(list) => {
            let mut names = match list {
                FieldList::List(l) => l.iter().map(|s| s.trim().to_owned()).collect(),
                FieldList::Text(t) => params::split_list("fields", t)?,
            };
            if !names.iter().any(|n| n == "symbol") {
                names.insert(0, "symbol".to_owned());
            }
            Some(params::fields("fields", &names)?)
        }
    };
    if let Some(q) = body.min_quality
        && !(0.0..=1.0).contains(&q)
    {
        return Err(ApiError::invalid(
            "invalid_quality",
            "min_quality",
            format!("min_quality {q} is not between 0 and 1"),
        ));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            pairs.push((k.to_owned(), v));
        }
    };
    put("start", body.start.clone());
    put("end", body.end.clone());
    put("as_of", body.as_of.clone());
    put("cursor", body.cursor.clone());
    put("limit", body.limit.map(|l| l.to_string()));
    put("validated_only", body.validated_only.map(|b| b.to_string()));
    put("min_quality", body.min_quality.map(|q| q.to_string()));
    let p = QueryParams::parse(
        pairs,
        &["start", "end", "as_of", "cursor", "limit", "validated_only", "min_quality"],
    )?;
    let symbols: Vec<String> = summaries.iter().map(|s| s.symbol.clone()).collect();
    let req = read_request(&state, &p, table, symbols.clone(), fields)?;
    let spec = state.store.table_spec(&req.table).map_err(|e| ApiError::internal("table", &e))?;
    // The stalest symbol decides: the age of the oldest of the symbols' newest bars.
    let oldest_newest = summaries.iter().map(|s| s.last_bar).min().flatten();
    let fresh = state.freshness(&spec, oldest_newest);
    let mut head = Map::new();
    head.insert("table".into(), Value::from(req.table.clone()));
    head.insert("symbols".into(), Value::from(symbols));
    let stem = format!("{}-query", req.table);
    stream(state, req, format, head, oldest_newest, fresh, stem).await
}

/// The symbols the body selects, sorted, each known to the table.
fn select(state: &AppState, table: &str, body: &QueryBody) -> Result<Vec<SymbolSummary>, ApiError> {
    let given = [body.symbols.is_some(), body.sector.is_some(), body.exchange.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::invalid(
            "invalid_selection",
            "symbols",
            "give exactly one of symbols (a list), sector or exchange",
        ));
    }
    let max = state.config.max_query_symbols;
    let too_many = |n: usize| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_symbols",
            format!("the query selects {n} symbols; at most {max} are allowed per request"),
        )
        .with_param("symbols")
    };
    if let Some(list) = &body.symbols {
        if list.is_empty() {
            return Err(ApiError::invalid("invalid_selection", "symbols", "symbols is empty"));
        }
        if list.len() > max {
            return Err(too_many(list.len()));
        }
        let unique: BTreeSet<&str> = list.iter().map(|s| s.trim()).collect();
        return unique.into_iter().map(|s| require_symbol(state, table, "symbols", s)).collect();
    }
    let all = state
        .store
        .table_symbols(table)
        .map_err(|e| ApiError::internal("reading the symbol list failed", &e))?;
    let (param, want, by_sector) = match (&body.sector, &body.exchange) {
        (Some(s), _) => ("sector", s, true),
        (_, Some(e)) => ("exchange", e, false),
        (None, None) => {
            return Err(ApiError::invalid("invalid_selection", "symbols", "no selection given"));
        }
    };
    let pick = |s: &SymbolSummary| if by_sector { s.sector.clone() } else { s.exchange.clone() };
    let chosen: Vec<SymbolSummary> = all
        .into_iter()
        .filter(|s| pick(s).is_some_and(|v| v.eq_ignore_ascii_case(want.trim())))
        .collect();
    if chosen.is_empty() {
        return Err(ApiError::not_found(
            if param == "sector" { "unknown_sector" } else { "unknown_exchange" },
            param,
            format!("no symbol of table {table:?} has {param} {want:?}"),
        ));
    }
    if chosen.len() > max {
        return Err(too_many(chosen.len()));
    }
    Ok(chosen)
}
