//! The router: which path needs which scope, and the helpers handlers share. New endpoints
//! go into a group of `groups()` (the scope check is the group's layer) and into the OpenAPI
//! document (`openapi/paths.rs`): a test fails while the two differ.

mod admin;
mod backfill;
mod bars;
mod corrections;
mod meta;
mod pages;
mod quality;
mod query;
mod scrape;
mod screen;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::QueryRejection;
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, on};

use crate::auth::{self, Scope};
use crate::error::ApiError;
use crate::params::{self, QueryParams};
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone, without a key.
    Public,
    /// A key with this scope (or, for `read` with `public_read`, anyone).
    Scoped(Scope),
}

/// The methods the server's routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
}

#[cfg(test)]
impl Verb {
    /// The lower-case name, as OpenAPI's path items spell it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
        }
    }
}

/// One registered route: the method, the path as axum matches it, and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteEntry {
    pub(crate) method: Verb,
    pub(crate) path: &'static str,
    pub(crate) access: Access,
}

/// A group of routes with one access rule, recording what it registers so the route table
/// (checked against the OpenAPI document) is the router itself, not a copy of it.
struct Group {
    access: Access,
    /// The handlers check the caller themselves (a page that takes its key from `?key=`).
    checked_in_handler: bool,
    router: Router<Arc<AppState>>,
    entries: Vec<RouteEntry>,
}

impl Group {
    fn new(access: Access) -> Self {
        Self { access, checked_in_handler: false, router: Router::new(), entries: Vec::new() }
    }

    fn checked_in_handler(access: Access) -> Self {
        Self { checked_in_handler: true, ..Self::new(access) }
    }

    fn add<H, T>(mut self, method: Verb, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, Arc<AppState>>,
        T: 'static,
    {
        let filter = match method {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
        };
        self.router = self.router.route(path, on(filter, handler));
        self.entries.push(RouteEntry { method, path, access: self.access });
        self
    }

    /// The group's router, behind the scope check when it has one.
    fn finish(self, state: &Arc<AppState>) -> (Router<Arc<AppState>>, Vec<RouteEntry>) {
        let router = match self.access {
            Access::Public => self.router,
            Access::Scoped(_) if self.checked_in_handler => self.router,
            Access::Scoped(scope) => {
                self.router.route_layer(from_fn_with_state((state.clone(), scope), auth::require))
            }
        };
        (router, self.entries)
    }
}

/// Every route, grouped by who may call it.
fn groups() -> [Group; 4] {
    let public = Group::new(Access::Public)
        .add(Verb::Get, "/health", meta::health)
        .add(Verb::Get, "/openapi.json", pages::openapi)
        .add(Verb::Get, "/docs", pages::docs)
        .add(Verb::Get, "/assets/{file}", pages::asset);
    // The chart page needs what its data needs (`read`) but checks the caller itself: a
    // browser can bring a key only in the URL when it navigates.
    let pages = Group::checked_in_handler(Access::Scoped(Scope::Read)).add(
        Verb::Get,
        "/chart/{table}/{symbol}",
        pages::chart,
    );
    let read = Group::new(Access::Scoped(Scope::Read))
        .add(Verb::Get, "/api/v1/status", meta::status)
        .add(Verb::Get, "/api/v1/tables", meta::tables)
        .add(Verb::Get, "/api/v1/symbols", meta::symbols)
        .add(Verb::Get, "/api/v1/bars/{table}/{symbol}", bars::bars)
        .add(Verb::Post, "/api/v1/query", query::query)
        .add(Verb::Get, "/api/v1/corrections/{table}/{symbol}", corrections::corrections)
        .add(Verb::Get, "/api/v1/quality/{table}/{symbol}", quality::quality)
        .add(Verb::Get, "/api/v1/screen/{table}", screen::screen)
        .add(Verb::Get, "/api/v1/backfill/status", backfill::status)
        .add(Verb::Get, "/metrics", scrape::metrics);
    let admin = Group::new(Access::Scoped(Scope::Admin))
        .add(Verb::Post, "/api/v1/admin/flush", admin::flush)
        .add(Verb::Post, "/api/v1/admin/compact", admin::compact)
        .add(Verb::Post, "/api/v1/backfill", backfill::start);
    [public, pages, read, admin]
}

/// The names `/assets/{file}` serves.
pub(crate) fn asset_names() -> Vec<&'static str> {
    crate::assets::ASSETS.iter().map(|a| a.name).collect()
}

/// The routes the router serves (what the OpenAPI document must describe).
#[cfg(test)]
pub(crate) fn route_table() -> Vec<RouteEntry> {
    groups().into_iter().flat_map(|g| g.entries).collect()
}

/// Every route of the server.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let mut app = Router::new();
    for group in groups() {
        let (router, _) = group.finish(&state);
        app = app.merge(router);
    }
    app.fallback(not_found)
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
