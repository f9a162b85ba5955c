//! The OpenAPI 3.0 document served at `/openapi.json`: built once per server from the
//! operation list (`paths.rs`) and the body schemas (`schemas.rs`). The security of the read
//! routes follows the config (with `public_read`, a key is optional there).

mod paths;
mod schemas;

use serde_json::{Value, json};

use crate::config::ServerConfig;

/// The document for a server with `config`.
pub(crate) fn document(config: &ServerConfig) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "candlestore HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Market-data bars of a candlestore: range scans of one or several \
                symbols as JSON, CSV, Arrow IPC or Parquet, cross-sectional screens, status, \
                data quality, corrections, backfills. Every error is \
                `{\"error\": {\"code\", \"message\", \"param\"}}` with a 4xx status for a bad \
                request. Timestamps are RFC 3339 in UTC; `start`, `end` and `as_of` take \
                YYYY-MM-DD (a whole UTC day) or RFC 3339.",
            "license": { "name": env!("CARGO_PKG_LICENSE") },
        },
        "servers": [{ "url": "/" }],
        "tags": [
            { "name": "bars", "description": "Range reads, queries, screens, quality, corrections." },
            { "name": "meta", "description": "Health, status, tables, symbols, metrics, this document." },
            { "name": "admin", "description": "Flush, compaction, backfills." },
            { "name": "pages", "description": "HTML pages for people and their assets." },
        ],
        "paths": paths::paths(config.public_read),
        "components": {
            "securitySchemes": {
                "ApiKeyHeader": {
                    "type": "apiKey", "in": "header", "name": "X-API-Key",
                    "description": "A configured key (the server keeps its SHA-256). Scopes: \
                        `read`, `admin` (includes read); each operation's `x-required-scope` \
                        says which it needs.",
                },
                "BearerAuth": {
                    "type": "http", "scheme": "bearer",
                    "description": "The same key as `Authorization: Bearer <key>`.",
                },
            },
            "parameters": parameters(),
            "responses": responses(),
            "schemas": schemas::schemas(),
        },
    })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn parameters() -> Value {
    let text = || json!({ "type": "string" });
    json!({
        "table": {
            "name": "table", "in": "path", "required": true,
            "description": "A table of the store, e.g. `stocks_daily`.",
            "schema": { "type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$", "example": "stocks_daily" },
        },
        "symbol": {
            "name": "symbol", "in": "path", "required": true,
            "description": "A symbol of the table, e.g. `AAPL` (`/` percent-encoded).",
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9.\\-_=/^:]{1,64}$", "example": "AAPL" },
        },
        "asset": {
            "name": "file", "in": "path", "required": true,
            "description": "The asset's file name.",
            "schema": { "type": "string", "enum": crate::routes::asset_names() },
        },
        "key": query("key", "For a browser: the API key (only the chart page takes it here; \
            the page moves it into sessionStorage).", text()),
        "tableQuery": query("table", "Only this table.", text()),
        "sector": query("sector", "Only symbols of this sector (case-insensitive).", text()),
        "exchange": query("exchange", "Only symbols of this exchange (case-insensitive).", text()),
        "q": query("q", "Only symbols containing this text (case-insensitive).", text()),
        "start": query("start", "First bar: YYYY-MM-DD (from the start of that UTC day) or \
            RFC 3339.", json!({ "type": "string", "example": "2014-01-02" })),
        "end": query("end", "Last bar: YYYY-MM-DD (through the end of that UTC day) or \
            RFC 3339. Not before `start`.", json!({ "type": "string", "example": "2014-12-31" })),
        "fields": query("fields", "Comma-separated field names of the 97, plus \
            `funding_rate` and `open_interest` in crypto tables (default: all of the table's).",
            json!({ "type": "string", "example": "datetime,open,high,low,close,volume,rsi" })),
        "format": query("format", "Response format (default json).",
            json!({ "type": "string", "enum": ["json", "csv", "arrow", "parquet"] })),
        "validated_only": query("validated_only", "Only bars that passed validation.",
            json!({ "type": "boolean" })),
        "min_quality": query("min_quality", "Only bars with `quality_score` at least this.",
            json!({ "type": "number", "minimum": 0, "maximum": 1 })),
        "as_of": query("as_of", "Time travel: the bars as they were at this time (corrections \
            after it undone).", text()),
        "limit": query("limit", "Rows per page (at most the server's `max_page_rows`, 400 \
            `limit_exceeded` beyond).", json!({ "type": "integer", "minimum": 1 })),
        "cursor": query("cursor", "`next_cursor` of the previous page, unchanged.", text()),
        "date": query("date", "The session, YYYY-MM-DD (default: the table's newest bar's).",
            json!({ "type": "string", "format": "date" })),
        "where": query("where", "Comma-separated conditions `field op number|field|true|false` \
            with op one of < <= > >= = !=, e.g. `rsi<30,close>sma_200`.",
            json!({ "type": "string", "example": "rsi<30,close>sma_200" })),
        "job_id": query("job_id", "Only this job.", text()),
    })
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
    })
}

fn responses() -> Value {
    let mut unauthorized = error(
        "No key where one is needed, a key that is not valid, or a malformed Authorization \
         header (`unauthorized`).",
    );
    unauthorized["headers"] =
        json!({ "WWW-Authenticate": { "schema": { "type": "string", "enum": ["Bearer"] } } });
    let mut limited =
        error("Over the key's (or, for public reads, the address's) rate limit (`rate_limited`).");
    limited["headers"] = json!({ "Retry-After": { "description": "Seconds to wait.", "schema": { "type": "integer", "minimum": 1 } } });
    json!({
        "BadRequest": error("A parameter or body is not valid; `param` names it (`invalid_date`, \
            `invalid_range`, `unknown_field`, `unknown_parameter`, `invalid_condition`, \
            `limit_exceeded`, `invalid_body`, `bad_request`, ...)."),
        "Unauthorized": unauthorized,
        "Forbidden": error("The key does not have the scope the route needs (`forbidden`)."),
        "NotFound": error("No such table, symbol, sector, exchange, job or endpoint \
            (`unknown_table`, `unknown_symbol`, `unknown_sector`, `unknown_exchange`, \
            `unknown_job`, `not_found`)."),
        "Conflict": error("A backfill job is already running on that table (`conflict`)."),
        "PayloadTooLarge": error("The body or the selection is too large (`body_too_large`, \
            `too_many_symbols`)."),
        "UnsupportedMediaType": error("The body is not `application/json` \
            (`unsupported_media_type`)."),
        "TooManyRequests": limited,
        "BackfillUnavailable": error("This server runs no backfill runner (`backfill_unavailable`)."),
        "Internal": error("A fault of the server or the store, never of the request (`internal`)."),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::routes::{Access, route_table};

    /// Paths of the shared backfill contract, served once the `ops` work is merged: they
    /// may be missing from this router, but if routed they must be documented like any
    /// other.
    const CONTRACT_ONLY: [(&str, &str); 2] =
        [("post", "/api/v1/backfill"), ("get", "/api/v1/backfill/status")];

    fn documented(doc: &Value) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert((method.clone(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn every_route_is_documented_and_every_documented_path_is_routed() {
        let doc = document(&ServerConfig::default());
        let docs = documented(&doc);
        let routed: BTreeSet<(String, String)> =
            route_table().iter().map(|r| (r.method.name().to_owned(), r.path.to_owned())).collect();
        let undocumented: Vec<_> = routed.difference(&docs).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from the OpenAPI document: {undocumented:?}"
        );
        let unrouted: Vec<_> = docs
            .difference(&routed)
            .filter(|(m, p)| !CONTRACT_ONLY.contains(&(m.as_str(), p.as_str())))
            .collect();
        assert!(unrouted.is_empty(), "documented but not routed: {unrouted:?}");
        for (m, p) in CONTRACT_ONLY {
            assert!(docs.contains(&(m.to_owned(), p.to_owned())), "{m} {p} is not documented");
        }
    }

    #[test]
    fn each_operation_states_the_access_the_router_enforces() {
        for public_read in [false, true] {
            let doc = document(&ServerConfig::default().with_public_read(public_read));
            for r in route_table() {
                let op = &doc["paths"][r.path][r.method.name()];
                let (scope, anonymous) = match r.access {
                    Access::Public => ("none", true),
                    Access::Scoped(crate::auth::Scope::Read) => ("read", public_read),
                    Access::Scoped(crate::auth::Scope::Admin) => ("admin", false),
                };
                assert_eq!(op["x-required-scope"], scope, "{} {}", r.method.name(), r.path);
                let security = op["security"].as_array().unwrap();
                let open = security.is_empty() || security.iter().any(|s| s == &json!({}));
                assert_eq!(open, anonymous, "{} {}: {security:?}", r.method.name(), r.path);
                if scope != "none" {
                    for code in ["401", "403", "429"] {
                        assert!(op["responses"].get(code).is_some(), "{} lacks {code}", r.path);
                    }
                }
            }
        }
    }

    #[test]
    fn every_reference_resolves_and_path_parameters_are_declared() {
        let doc = document(&ServerConfig::default());
        let text = doc.to_string();
        let mut rest = text.as_str();
        let mut refs = 0;
        while let Some(i) = rest.find("\"$ref\":\"#/") {
            rest = &rest[i + 10..];
            let end = rest.find('"').unwrap();
            let pointer = &rest[..end];
            assert!(doc.pointer(&format!("/{pointer}")).is_some(), "dangling $ref #/{pointer}");
            refs += 1;
        }
        assert!(refs > 50, "{refs}");
        // Structure: every `enum` a non-empty list, every `required` a list of strings.
        fn walk(v: &Value, at: &str) {
            match v {
                Value::Object(m) => {
                    for (k, child) in m {
                        let here = format!("{at}/{k}");
                        if k == "enum" && at.ends_with("/properties") {
                            // A property called "enum" would be a schema, not a list.
                        } else if k == "enum" {
                            assert!(child.as_array().is_some_and(|a| !a.is_empty()), "{here}");
                        } else if k == "required" && child.is_array() {
                            assert!(
                                child.as_array().unwrap().iter().all(Value::is_string),
                                "{here}"
                            );
                        }
                        walk(child, &here);
                    }
                }
                Value::Array(a) => {
                    a.iter().enumerate().for_each(|(i, c)| walk(c, &format!("{at}/{i}")))
                }
                _ => {}
            }
        }
        walk(&doc, "");
        let resolve = |p: &Value| -> Value {
            match p["$ref"].as_str() {
                Some(r) => doc.pointer(&r[1..]).unwrap().clone(),
                None => p.clone(),
            }
        };
        for (path, item) in doc["paths"].as_object().unwrap() {
            let wanted: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            for (method, op) in item.as_object().unwrap() {
                let params: Vec<Value> = op["parameters"]
                    .as_array()
                    .map(|a| a.iter().map(resolve).collect())
                    .unwrap_or_default();
                let declared: BTreeSet<&str> = params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                assert_eq!(declared, wanted, "{method} {path}");
            }
        }
    }

    #[test]
    fn the_bar_schema_has_the_97_fields_and_the_extras_with_their_json_types() {
        let doc = document(&ServerConfig::default());
        let bar = &doc["components"]["schemas"]["Bar"]["properties"];
        assert_eq!(bar.as_object().unwrap().len(), 99);
        assert_eq!(bar["funding_rate"]["type"], "number");
        assert_eq!(bar["open_interest"]["nullable"], true);
        assert!(bar["open_interest"]["description"].as_str().unwrap().contains("Crypto tables"));
        assert_eq!(bar["datetime"]["format"], "date-time");
        assert_eq!(bar["close"]["type"], "number");
        assert_eq!(bar["revision"]["type"], "integer");
        assert_eq!(bar["is_validated"]["type"], "boolean");
        assert_eq!(bar["symbol"]["type"], "string");
        assert_eq!(bar["sector"]["nullable"], true);
        assert!(bar["symbol"].get("nullable").is_none());
        // A nullable enum lists null (OpenAPI 3.0.3), as serde takes `"format": null`.
        let format = &doc["components"]["schemas"]["QueryRequest"]["properties"]["format"];
        assert!(format["enum"].as_array().unwrap().contains(&Value::Null), "{format}");
    }
}
