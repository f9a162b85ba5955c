//! Pages for people: `/openapi.json`, `/docs` (Swagger UI over it), `/chart/{table}/{symbol}`
//! and the embedded `/assets/{file}` they load.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::{path_error, query_params, require_symbol, require_table};
use crate::assets::{self, CHART_HTML, DOCS_HTML, escape_html};
use crate::auth::{self, Scope};
use crate::error::ApiError;
use crate::state::AppState;

/// The OpenAPI document (built when the server was bound).
pub(super) async fn openapi(State(state): State<Arc<AppState>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        state.openapi.clone(),
    )
        .into_response()
}

/// Swagger UI over `/openapi.json`.
pub(super) async fn docs() -> Response {
    ([(header::CACHE_CONTROL, "no-cache")], Html(DOCS_HTML)).into_response()
}

/// An embedded asset, or 404.
pub(super) async fn asset(path: Result<Path<String>, PathRejection>) -> Result<Response, ApiError> {
    let Path(name) = path.map_err(path_error)?;
    let Some(a) = assets::find(&name) else {
        return Err(ApiError::not_found(
            "not_found",
            "file",
            format!("no asset {name:?} (there are: {})", super::asset_names().join(", ")),
        ));
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(a.cache_control)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        a.bytes,
    )
        .into_response())
}

/// The chart page of a symbol the table has. The page's data comes from `/api/v1/bars`, so
/// the page obeys the read endpoints' rule: with keys required, the caller shows one in a
/// header or, as a browser can only do on navigation, in `?key=`. Every failure is an HTML
/// page with the API's status and message.
pub(super) async fn chart(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    extensions: Extensions,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let checked = (|| -> Result<(), ApiError> {
        let Path((table, symbol)) = path.map_err(path_error)?;
        let p = query_params(query, &["key"])?;
        let key = match auth::presented_key(&headers)? {
            Some(k) => Some(k),
            None => p.get("key").map(|k| k.trim().to_owned()),
        };
        auth::authorize(&state, key.as_deref(), Scope::Read, peer)?;
        let table = require_table(&state, "table", &table)?;
        require_symbol(&state, &table, "symbol", &symbol)?;
        Ok(())
    })();
    match checked {
        Ok(()) => ([(header::CACHE_CONTROL, "no-cache")], Html(CHART_HTML)).into_response(),
        Err(e) => error_page(&e),
    }
}

/// An error as a small HTML page (a 401 offers a field for the key).
fn error_page(e: &ApiError) -> Response {
    let key_form = if e.status == StatusCode::UNAUTHORIZED {
        "<form method=\"get\"><label>API key with the read scope: <input name=\"key\" \
         type=\"password\" autocomplete=\"off\" required></label> <button>Open</button></form>"
    } else {
        ""
    };
    let param = e
        .param
        .as_deref()
        .map(|p| format!(" (<code>{}</code>)", escape_html(p)))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status} \
         {code}</title><link rel=\"stylesheet\" href=\"/assets/chart.css\"></head>\n<body \
         class=\"error-page\" data-error-code=\"{code}\"><h1>{status} {code}</h1><p \
         id=\"message\">{message}{param}</p>{key_form}<p><a href=\"/docs\">API \
         documentation</a></p></body></html>\n",
        status = e.status.as_u16(),
        code = escape_html(e.code),
        message = escape_html(&e.message),
    );
    let mut response = (e.status, Html(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(wait) = e.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    response
}
