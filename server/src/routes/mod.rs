//! The router: which path needs which scope, and the helpers handlers share. New endpoints
//! go into the `read` or `admin` group (the scope check is the group's layer).

mod admin;
mod backfill;
mod bars;
mod corrections;
mod meta;
mod quality;
mod query;
mod scrape;
mod screen;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::auth::{self, Scope};
use crate::error::ApiError;
use crate::params::{self, QueryParams};
use crate::state::AppState;

/// Every route of the server.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let read = Router::new()
        .route("/api/v1/status", get(meta::status))
        .route("/api/v1/tables", get(meta::tables))
        .route("/api/v1/symbols", get(meta::symbols))
        .route("/api/v1/bars/{table}/{symbol}", get(bars::bars))
        .route("/api/v1/query", post(query::query))
        .route("/api/v1/corrections/{table}/{symbol}", get(corrections::corrections))
        .route("/api/v1/quality/{table}/{symbol}", get(quality::quality))
        .route("/api/v1/screen/{table}", get(screen::screen))
        .route("/api/v1/backfill/status", get(backfill::status))
        .route("/metrics", get(scrape::metrics))
        .route_layer(from_fn_with_state((state.clone(), Scope::Read), auth::require));
    let admin = Router::new()
        .route("/api/v1/admin/flush", post(admin::flush))
        .route("/api/v1/admin/compact", post(admin::compact))
        .route("/api/v1/backfill", post(backfill::start))
        .route_layer(from_fn_with_state((state.clone(), Scope::Admin), auth::require));
    Router::new()
        .route("/health", get(meta::health))
        .merge(read)
        .merge(admin)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), crate::metrics::track))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no endpoint at {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// The query string, with parse failures as 400s and unknown names refused.
pub(crate) fn query_params(
    query: Result<axum::extract::Query<Vec<(String, String)>>, QueryRejection>,
    allowed: &[&str],
) -> Result<QueryParams, ApiError> {
    let axum::extract::Query(pairs) = query.map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", format!("the query string: {e}"))
    })?;
    QueryParams::parse(pairs, allowed)
}

/// A table that exists (the name is checked before anything is looked up).
pub(crate) fn require_table(state: &AppState, param: &str, name: &str) -> Result<String, ApiError> {
    let table = params::table_name(param, name)?;
    if state.store.tables().contains(&table) {
        Ok(table)
    } else {
        Err(ApiError::not_found(
            "unknown_table",
            param,
            format!(
                "no table {table:?} in the store (its tables: {})",
                state.store.tables().join(", ")
            ),
        ))
    }
}

/// A symbol the table has, with its summary.
pub(crate) fn require_symbol(
    state: &AppState,
    table: &str,
    param: &str,
    name: &str,
) -> Result<candlestore::SymbolSummary, ApiError> {
    let symbol = params::symbol_name(param, name)?;
    match state.store.table_symbol(table, &symbol) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(ApiError::not_found(
            "unknown_symbol",
            param,
            format!("table {table:?} has no symbol {symbol:?}"),
        )),
        Err(e) => Err(ApiError::internal("reading the symbol list failed", &e)),
    }
}

/// Runs blocking store work off the async threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(ApiError::internal("a worker thread failed", &e)),
    }
}

/// A path that did not parse: 400 `invalid_path` (shared by every route with path segments).
pub(super) fn path_error(e: axum::extract::rejection::PathRejection) -> ApiError {
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_path", format!("the path: {e}"))
}
