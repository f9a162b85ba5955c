//! `GET /api/v1/bars/{table}/{symbol}`, and the streamed response every range read shares.

use std::io::Write;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use candlestore::export::{BatchWriter, Format};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::{path_error, query_params, require_symbol, require_table};
use crate::body::{self, ChunkSender};
use crate::cursor::Cursor;
use crate::error::ApiError;
use crate::freshness::Freshness;
use crate::params::{self, QueryParams};
use crate::range::{Page, RangeRequest, WriteError};
use crate::state::AppState;

const PARAMS: [&str; 9] = [
    "start",
    "end",
    "fields",
    "format",
    "validated_only",
    "min_quality",
    "as_of",
    "limit",
    "cursor",
];

/// One symbol's bars over a range.
pub(super) async fn bars(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path((table, symbol)) = path.map_err(path_error)?;
    let p = query_params(query, &PARAMS)?;
    let table = require_table(&state, "table", &table)?;
    let summary = require_symbol(&state, &table, "symbol", &symbol)?;
    let format = params::format(p.get("format"))?;
    let fields = match p.get("fields") {
        Some(f) => Some(params::fields("fields", &params::split_list("fields", f)?)?),
        None => None,
    };
    let req = read_request(&state, &p, table, vec![summary.symbol.clone()], fields)?;
    if let Some(c) = &req.cursor
        && c.symbol != summary.symbol
    {
        return Err(ApiError::invalid(
            "invalid_cursor",
            "cursor",
            format!("the cursor belongs to symbol {:?}, not {:?}", c.symbol, summary.symbol),
        ));
    }
    let spec = state.store.table_spec(&req.table).map_err(|e| ApiError::internal("table", &e))?;
    let fresh = state.freshness(&spec, summary.last_bar);
    let mut head = Map::new();
    head.insert("table".into(), Value::from(req.table.clone()));
    head.insert("symbol".into(), Value::from(summary.symbol.clone()));
    let name = format!("{}-{}", req.table, summary.symbol);
    stream(state, req, format, head, summary.last_bar, fresh, name).await
}

/// The options every range read takes (from a query string or a JSON body).
pub(super) fn read_request(
    state: &AppState,
    p: &QueryParams,
    table: String,
    symbols: Vec<String>,
    fields: Option<Vec<String>>,
) -> Result<RangeRequest, ApiError> {
    let range = params::range(p.get("start"), p.get("end"))?;
    let as_of = p.get("as_of").map(|t| params::instant("as_of", t)).transpose()?;
    let cursor = p.get("cursor").map(|c| Cursor::decode(c, &table)).transpose()?;
    if let Some(f) = &fields {
        params::fields_of_table("fields", f, &table)?;
    }
    Ok(RangeRequest {
        symbols,
        fields,
        range,
        validated_only: params::boolean("validated_only", p.get("validated_only"))?,
        min_quality: params::quality(p.get("min_quality"))?,
        as_of: as_of.map(params::Instant::first),
        limit: params::limit(p.get("limit"), state.config.max_page_rows)?,
        cursor,
        table,
    })
}

/// Plans the page, answers with its head, and streams the rows from a blocking thread.
/// `head` holds the JSON envelope's identifying fields; `newest` is the newest bar (µs).
pub(super) async fn stream(
    state: Arc<AppState>,
    req: RangeRequest,
    format: Format,
    mut head: Map<String, Value>,
    newest: Option<i64>,
    fresh: Freshness,
    file_stem: String,
) -> Result<Response, ApiError> {
    head.insert(
        "fields".into(),
        Value::from(req.schema().fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>()),
    );
    head.insert("newest_bar".into(), newest.map(candlestore::export::format_micros).into());
    head.insert("data_age_seconds".into(), fresh.data_age_seconds.into());
    head.insert("is_stale".into(), fresh.is_stale.into());
    let (tx, rx) = oneshot::channel::<Result<(Option<Cursor>, axum::body::Body), ApiError>>();
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let page = match req.plan(&st.store) {
            Ok(p) => p,
            Err(e) => {
                let _ = tx.send(Err(ApiError::internal("planning the read failed", &e)));
                return;
            }
        };
        let next = page.next.clone();
        let sender = body::sender(Box::new(move |body| {
            let response = body.map(|b| (next, b)).map_err(|message| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            });
            tx.send(response).is_ok()
        }));
        let prefix = (format == Format::Json).then(|| {
            head.insert("next_cursor".into(), page.next.as_ref().map(Cursor::encode).into());
            // The envelope without its closing brace; `data` and `rows` follow the rows.
            let mut text = Value::Object(head).to_string();
            text.pop();
            text + ",\"data\":"
        });
        produce(&st, &req, &page, format, prefix, sender);
    });
    let (next, body) =
        rx.await.map_err(|e| ApiError::internal("the read stopped before it started", &e))??;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Some(age) = fresh.data_age_seconds {
        headers.insert(HeaderName::from_static("x-data-age-seconds"), HeaderValue::from(age));
    }
    headers.insert(
        HeaderName::from_static("x-is-stale"),
        HeaderValue::from_static(if fresh.is_stale { "true" } else { "false" }),
    );
    if let Some(t) = newest
        && let Ok(v) = HeaderValue::from_str(&candlestore::export::format_micros(t))
    {
        headers.insert(HeaderName::from_static("x-newest-bar"), v);
    }
    if let Some(c) = next
        && let Ok(v) = HeaderValue::from_str(&c.encode())
    {
        headers.insert(HeaderName::from_static("x-next-cursor"), v);
    }
    if format != Format::Json {
        let stem: String = file_stem
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        if let Ok(v) =
            HeaderValue::from_str(&format!("attachment; filename=\"{stem}.{}\"", format.name()))
        {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok((headers, body).into_response())
}

/// Writes the page (inside the JSON envelope for JSON) and ends the body: normally, or with
/// an error that aborts it.
fn produce(
    state: &AppState,
    req: &RangeRequest,
    page: &Page,
    format: Format,
    prefix: Option<String>,
    mut sender: ChunkSender,
) {
    let outcome = (|| -> Result<u64, WriteError> {
        if let Some(prefix) = &prefix {
            sender.write_all(prefix.as_bytes())?;
        }
        let mut writer = BatchWriter::try_new(format, &mut sender, &req.schema())?;
        req.write(&state.store, page, &mut writer)?;
        let (_, rows) = writer.finish()?;
        if prefix.is_some() {
            sender.write_all(format!(",\"rows\":{rows}}}\n").as_bytes())?;
        }
        Ok(rows)
    })();
    match outcome {
        Ok(rows) => {
            state.metrics.rows_served(format.name(), rows);
            let _ = sender.finish();
        }
        // The client went away: there is nobody to tell.
        Err(e) if e.is_disconnect() => {}
        Err(e) => {
            state.metrics.stream_aborted();
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            sender.fail(message);
        }
    }
}
