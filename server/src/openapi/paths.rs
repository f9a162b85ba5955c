//! `paths`: every operation the router serves, with its parameters, body, responses and
//! who may call it. The route-table test in `openapi/mod.rs` keeps this list and the router
//! the same set.

use serde_json::{Map, Value, json};

use super::schemas::schema_ref;
use crate::auth::Scope;
use crate::routes::Access;

/// How an operation is described.
struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    description: &'static str,
    access: Access,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Vec<(u16, Value)>,
}

fn param(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn response(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

fn json_ok(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema_ref(schema) } },
    })
}

fn html(description: &str) -> Value {
    json!({ "description": description, "content": { "text/html": { "schema": { "type": "string" } } } })
}

/// The four formats of a range read or screen: JSON envelope, F4 CSV, Arrow IPC stream,
/// Parquet file; the head says how old the newest bar is and where the next page starts.
fn table_ok(description: &str, schema: &str, range_headers: bool) -> Value {
    let binary = json!({ "schema": { "type": "string", "format": "binary" } });
    let mut r = json!({
        "description": description,
        "content": {
            "application/json": { "schema": schema_ref(schema) },
            "text/csv": { "schema": { "type": "string" } },
            "application/vnd.apache.arrow.stream": binary.clone(),
            "application/vnd.apache.parquet": binary,
        },
    });
    if range_headers {
        let h = |d: &str, s: Value| json!({ "description": d, "schema": s });
        r["headers"] = json!({
            "X-Data-Age-Seconds": h("Seconds since the newest bar (absent when there is none).", json!({ "type": "integer" })),
            "X-Is-Stale": h("Whether the newest bar is older than the table's staleness threshold.", json!({ "type": "string", "enum": ["true", "false"] })),
            "X-Newest-Bar": h("The newest bar's datetime.", json!({ "type": "string", "format": "date-time" })),
            "X-Next-Cursor": h("Present when `limit` left rows for another page: pass it as `cursor`.", json!({ "type": "string" })),
            "Content-Disposition": h("`attachment; filename=...` for CSV, Arrow and Parquet.", json!({ "type": "string" })),
        });
    }
    r
}

/// Error responses every operation with this access can give.
fn access_errors(access: Access) -> Vec<(u16, Value)> {
    match access {
        Access::Public => vec![],
        Access::Scoped(_) => vec![
            (401, response("Unauthorized")),
            (403, response("Forbidden")),
            (429, response("TooManyRequests")),
        ],
    }
}

fn range_params() -> Vec<Value> {
    [
        "start",
        "end",
        "fields",
        "format",
        "validated_only",
        "min_quality",
        "as_of",
        "limit",
        "cursor",
    ]
    .into_iter()
    .map(param)
    .collect()
}

fn operations() -> Vec<Op> {
    let read = Access::Scoped(Scope::Read);
    let admin = Access::Scoped(Scope::Admin);
    let bad = || (400, response("BadRequest"));
    let missing = || (404, response("NotFound"));
    let internal = || (500, response("Internal"));
    vec![
        Op {
            method: "get",
            path: "/health",
            id: "health",
            tag: "meta",
            summary: "Liveness",
            description: "Answers as long as the server runs; never needs a key.",
            access: Access::Public,
            params: vec![],
            body: None,
            responses: vec![(200, json_ok("The server is up.", "Health"))],
        },
        Op {
            method: "get",
            path: "/openapi.json",
            id: "openapi",
            tag: "meta",
            summary: "This document",
            description: "The OpenAPI 3.0 description of every route.",
            access: Access::Public,
            params: vec![],
            body: None,
            responses: vec![(
                200,
                json!({ "description": "The document.", "content": { "application/json": { "schema": { "type": "object" } } } }),
            )],
        },
        Op {
            method: "get",
            path: "/docs",
            id: "docs",
            tag: "pages",
            summary: "API documentation page",
            description: "Swagger UI rendering /openapi.json, its assets served by this server.",
            access: Access::Public,
            params: vec![],
            body: None,
            responses: vec![(200, html("The page."))],
        },
        Op {
            method: "get",
            path: "/assets/{file}",
            id: "asset",
            tag: "pages",
            summary: "A bundled page asset",
            description: "Scripts and styles of /docs and /chart, embedded in the binary \
                          (no CDN); cached for a day.",
            access: Access::Public,
            params: vec![param("asset")],
            body: None,
            responses: vec![
                (
                    200,
                    json!({ "description": "The file.", "content": {
                        "text/javascript": { "schema": { "type": "string" } },
                        "text/css": { "schema": { "type": "string" } },
                    } }),
                ),
                (404, response("NotFound")),
            ],
        },
        Op {
            method: "get",
            path: "/chart/{table}/{symbol}",
            id: "chart",
            tag: "pages",
            summary: "Candlestick chart page",
            description: "An interactive chart of one symbol: candles, volume, SMA/EMA/Bollinger \
                          overlays, RSI and MACD panes, range selection. It reads \
                          /api/v1/bars. Same access rule as the read endpoints; a browser may \
                          bring its key as `?key=` (the page keeps it in sessionStorage and \
                          sends it as `X-API-Key`). Errors are HTML pages with the same status.",
            access: read,
            params: vec![param("table"), param("symbol"), param("key")],
            body: None,
            responses: vec![
                (200, html("The page.")),
                (400, html("A malformed table or symbol name, or an unknown query parameter.")),
                (401, html("A key is needed, or the key is not valid (the page asks for one).")),
                (403, html("The key has no `read` scope.")),
                (404, html("No such table, or the table has no such symbol.")),
                (429, html("Over the key's rate limit.")),
                (500, html("The store failed.")),
            ],
        },
        Op {
            method: "get",
            path: "/api/v1/status",
            id: "status",
            tag: "meta",
            summary: "Store status",
            description: "Per table: symbols, bars, newest bar, freshness (`is_stale`), \
                          validation rate, flagged gaps and anomalies, segment and compaction \
                          figures; the WAL; the scheduler and the latest backfill when the \
                          server runs them (absent otherwise).",
            access: read,
            params: vec![],
            body: None,
            responses: vec![(200, json_ok("The status.", "Status")), bad(), internal()],
        },
        Op {
            method: "get",
            path: "/api/v1/tables",
            id: "tables",
            tag: "meta",
            summary: "Tables",
            description: "Every table with its figures and freshness (no column is read).",
            access: read,
            params: vec![],
            body: None,
            responses: vec![(200, json_ok("The tables.", "Tables")), bad(), internal()],
        },
        Op {
            method: "get",
            path: "/api/v1/symbols",
            id: "symbols",
            tag: "meta",
            summary: "Symbol master",
            description: "Symbols of one or all tables, filtered by sector and exchange (exact, \
                          case-insensitive) and `q` (part of the symbol, case-insensitive).",
            access: read,
            params: vec![param("tableQuery"), param("sector"), param("exchange"), param("q")],
            body: None,
            responses: vec![
                (200, json_ok("The symbols.", "Symbols")),
                bad(),
                missing(),
                internal(),
            ],
        },
        Op {
            method: "get",
            path: "/api/v1/bars/{table}/{symbol}",
            id: "bars",
            tag: "bars",
            summary: "One symbol's bars over a range",
            description: "The range scan, streamed. Without `limit` the whole range is one \
                          response; with it, `next_cursor` / `X-Next-Cursor` fetches the next \
                          page. A read that fails mid-stream aborts the body (never a silently \
                          truncated one).",
            access: read,
            params: [param("table"), param("symbol")].into_iter().chain(range_params()).collect(),
            body: None,
            responses: vec![
                (200, table_ok("The bars, oldest first.", "Bars", true)),
                bad(),
                missing(),
                internal(),
            ],
        },
        Op {
            method: "post",
            path: "/api/v1/query",
            id: "query",
            tag: "bars",
            summary: "Several symbols' bars",
            description: "A list of symbols, a sector or an exchange; the options of the range \
                          read. Rows are ordered by symbol, then time; every row has `symbol`.",
            access: read,
            params: vec![],
            body: Some(json!({
                "required": true,
                "content": { "application/json": { "schema": schema_ref("QueryRequest") } },
            })),
            responses: vec![
                (200, table_ok("The bars.", "QueryResult", true)),
                bad(),
                missing(),
                (413, response("PayloadTooLarge")),
                (415, response("UnsupportedMediaType")),
                internal(),
            ],
        },
        Op {
            method: "get",
            path: "/api/v1/corrections/{table}/{symbol}",
            id: "corrections",
            tag: "bars",
            summary: "Corrections log of one symbol",
            description: "Every recorded change of the symbol's bars (of bars in \
                          `start..=end` if given), oldest correction first.",
            access: read,
            params: vec![param("table"), param("symbol"), param("start"), param("end")],
            body: None,
            responses: vec![
                (200, json_ok("The corrections.", "Corrections")),
                bad(),
                missing(),
                internal(),
            ],
        },
        Op {
            method: "get",
            path: "/api/v1/quality/{table}/{symbol}",
            id: "quality",
            tag: "bars",
            summary: "Data quality of one symbol",
            description: "Validation rate, quality scores, completeness, the bars flagged with a \
                          gap or a volume anomaly, and how often each validation note occurs.",
            access: read,
            params: vec![param("table"), param("symbol"), param("start"), param("end")],
            body: None,
            responses: vec![
                (200, json_ok("The summary.", "Quality")),
                bad(),
                missing(),
                internal(),
            ],
        },
        Op {
            method: "get",
            path: "/api/v1/screen/{table}",
            id: "screen",
            tag: "bars",
            summary: "Cross-sectional screen over one session",
            description: "Each symbol's last bar of the session, kept when every condition of \
                          `where` holds.",
            access: read,
            params: vec![
                param("table"),
                param("date"),
                param("where"),
                param("fields"),
                param("format"),
            ],
            body: None,
            responses: vec![
                (200, table_ok("The symbols that pass, by symbol.", "Screen", false)),
                bad(),
                missing(),
                internal(),
            ],
        },
        Op {
            method: "get",
            path: "/metrics",
            id: "metrics",
            tag: "meta",
            summary: "Prometheus metrics",
            description: "Requests, latencies, rows served, aborted streams, rate-limited \
                          requests; the store's and each table's gauges.",
            access: read,
            params: vec![],
            body: None,
            responses: vec![
                (
                    200,
                    json!({ "description": "Prometheus text format 0.0.4.", "content": { "text/plain": { "schema": { "type": "string" } } } }),
                ),
                internal(),
            ],
        },
        Op {
            method: "post",
            path: "/api/v1/admin/flush",
            id: "flush",
            tag: "admin",
            summary: "Flush memtables",
            description: "Writes every memtable to segments and commits.",
            access: admin,
            params: vec![],
            body: None,
            responses: vec![(200, json_ok("What the flush wrote.", "FlushReport")), internal()],
        },
        Op {
            method: "post",
            path: "/api/v1/admin/compact",
            id: "compact",
            tag: "admin",
            summary: "Compact segments",
            description: "Merges the small segments of each partition (the default policy).",
            access: admin,
            params: vec![],
            body: None,
            responses: vec![
                (200, json_ok("What the compaction did.", "CompactReport")),
                internal(),
            ],
        },
        Op {
            method: "post",
            path: "/api/v1/backfill",
            id: "startBackfill",
            tag: "admin",
            summary: "Start a backfill",
            description: "Fetches the missing bars of the given symbols (or of every symbol of a \
                          sector) over `start..=end` from the vendors and appends them. Answers \
                          at once with the queued job; follow it with /api/v1/backfill/status.",
            access: admin,
            params: vec![],
            body: Some(json!({
                "required": true,
                "content": { "application/json": { "schema": schema_ref("BackfillRequest") } },
            })),
            responses: vec![
                (202, json_ok("The job, queued.", "BackfillAccepted")),
                bad(),
                (404, response("NotFound")),
                (409, response("Conflict")),
                (413, response("PayloadTooLarge")),
                (415, response("UnsupportedMediaType")),
                (503, response("BackfillUnavailable")),
                internal(),
            ],
        },
        Op {
            method: "get",
            path: "/api/v1/backfill/status",
            id: "backfillStatus",
            tag: "admin",
            summary: "Backfill jobs and per-table backfill state",
            description: "The jobs of this server run (most recent first, at most 100 kept) and, \
                          per table with a backfill state file, its per-symbol progress.",
            access: read,
            params: vec![param("job_id")],
            body: None,
            responses: vec![
                (200, json_ok("Jobs and table states.", "BackfillStatus")),
                bad(),
                missing(),
                internal(),
            ],
        },
    ]
}

/// The `security` of an operation: none for public routes; a key in either header for
/// scoped ones, and also none for read routes when the server has public reads.
fn security(access: Access, public_read: bool) -> Value {
    match access {
        Access::Public => json!([]),
        Access::Scoped(scope) => {
            let mut s = vec![json!({ "ApiKeyHeader": [] }), json!({ "BearerAuth": [] })];
            if scope == Scope::Read && public_read {
                s.insert(0, json!({}));
            }
            Value::Array(s)
        }
    }
}

fn scope_name(access: Access) -> &'static str {
    match access {
        Access::Public => "none",
        Access::Scoped(Scope::Read) => "read",
        Access::Scoped(Scope::Admin) => "admin",
    }
}

/// The `paths` object.
pub(super) fn paths(public_read: bool) -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let mut responses = Map::new();
        for (status, r) in op.responses.into_iter().chain(access_errors(op.access)) {
            responses.entry(status.to_string()).or_insert(r);
        }
        let mut o = json!({
            "operationId": op.id,
            "tags": [op.tag],
            "summary": op.summary,
            "description": op.description,
            "security": security(op.access, public_read),
            "x-required-scope": scope_name(op.access),
            "responses": responses,
        });
        if !op.params.is_empty() {
            o["parameters"] = Value::Array(op.params);
        }
        if let Some(body) = op.body {
            o["requestBody"] = body;
        }
        let item = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        item[op.method] = o;
    }
    Value::Object(paths)
}
