//! `components.schemas`: the bodies the handlers write, field for field. The bar object is
//! generated from the engine's row schema (the 97 fields, then the crypto tables' extra
//! columns), so a renamed or added field cannot drift.

use arrow::datatypes::DataType;
use candlestore::{is_extra, row_schema};
use serde_json::{Map, Value, json};

/// A `$ref` to a component schema.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// `schema` or null. OpenAPI 3.0.3: `nullable` does not widen an `enum`, so null joins it.
fn nullable(mut schema: Value) -> Value {
    schema["nullable"] = Value::Bool(true);
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        values.push(Value::Null);
    }
    schema
}

fn int() -> Value {
    json!({ "type": "integer", "minimum": 0 })
}

fn text() -> Value {
    json!({ "type": "string" })
}

/// F4 timestamp text (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, RFC 3339 in UTC).
fn time() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

/// An object whose listed members are all present.
fn object(members: &[(&str, Value)]) -> Value {
    let properties: Map<String, Value> =
        members.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let required: Vec<&str> = members.iter().map(|(k, _)| *k).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// One bar as the JSON writer emits it: any subset of the table's fields (the `fields`
/// projection), numbers as numbers (NaN and infinities as null), timestamps as F4 text.
fn bar() -> Value {
    let mut properties = Map::new();
    for (c, field) in row_schema().fields().iter().enumerate() {
        let schema = match field.data_type() {
            DataType::Timestamp(..) => time(),
            DataType::Float64 => nullable(json!({ "type": "number" })),
            DataType::Int8 | DataType::Int32 | DataType::Int64 => json!({ "type": "integer" }),
            DataType::Boolean => json!({ "type": "boolean" }),
            _ => text(),
        };
        let mut schema = if field.is_nullable() { nullable(schema) } else { schema };
        if is_extra(c) {
            let what = if field.name() == "funding_rate" {
                "Binance USD-M funding rate in force at the bar's open"
            } else {
                "Binance USD-M open interest (contracts, base-asset units) at the bar's close"
            };
            schema["description"] = json!(format!("Crypto tables only: {what}; null if unknown."));
        }
        properties.insert(field.name().clone(), schema);
    }
    json!({
        "type": "object",
        "description": "One bar: the requested fields (all of the table's when `fields` is not \
                        given), in schema order: the 97 of the field specification, then, in \
                        crypto tables, `funding_rate` and `open_interest`.",
        "properties": properties,
        "additionalProperties": false,
    })
}

fn job() -> Value {
    let status = json!({ "type": "string", "enum": ["queued", "running", "succeeded", "failed"] });
    object(&[
        ("job_id", text()),
        ("table", text()),
        ("status", status),
        ("symbols", json!({ "type": "array", "items": text() })),
        ("start", json!({ "type": "string", "format": "date" })),
        ("end", json!({ "type": "string", "format": "date" })),
        ("submitted_at", time()),
        ("started_at", nullable(time())),
        ("finished_at", nullable(time())),
        ("symbols_ok", int()),
        ("symbols_failed", int()),
        ("symbols_skipped", int()),
        ("bars_written", int()),
        ("requests", int()),
        ("retries", int()),
        ("error", nullable(text())),
    ])
}

fn table_status() -> Value {
    let mut t = object(&[
        ("table", text()),
        ("asset_class", json!({ "type": "string", "enum": ["stocks", "crypto"] })),
        (
            "timeframe",
            json!({ "type": "string", "enum": ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"] }),
        ),
        ("symbols", int()),
        ("bars", int()),
        ("newest_bar", nullable(time())),
        ("data_age_seconds", nullable(json!({ "type": "integer" }))),
        ("is_stale", json!({ "type": "boolean" })),
        ("stale_after_seconds", int()),
        ("storage", schema_ref("StorageStatus")),
        (
            "audit",
            object(&[
                ("validated_bars", int()),
                ("validation_rate", nullable(json!({ "type": "number" }))),
                ("gaps_flagged", int()),
                ("volume_anomalies", int()),
            ]),
        ),
    ]);
    // `audit` is only in /api/v1/status (it needs a scan of the audit columns).
    unrequire(&mut t, &["audit"]);
    t["description"] = json!("A table's figures; `audit` only in /api/v1/status.");
    t
}

fn status() -> Value {
    let mut s = object(&[
        ("status", json!({ "type": "string", "enum": ["ok"] })),
        ("version", text()),
        ("now", time()),
        (
            "store",
            object(&[
                ("root", nullable(text())),
                ("read_only", json!({ "type": "boolean" })),
                ("generation", int()),
                ("checkpoint_lsn", int()),
                ("next_lsn", nullable(int())),
                ("wal_files", int()),
                ("wal_bytes", int()),
                ("cache_bytes", int()),
            ]),
        ),
        ("tables", json!({ "type": "array", "items": schema_ref("TableStatus") })),
        (
            "scheduler",
            object(&[
                ("enabled", json!({ "type": "boolean" })),
                ("at", json!({ "type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$" })),
                ("tz", text()),
                ("last_run", nullable(time())),
                ("last_outcome", nullable(text())),
                ("next_run", nullable(time())),
            ]),
        ),
        (
            "backfill",
            object(&[
                ("running", int()),
                ("last_job", json!({ "nullable": true, "allOf": [schema_ref("BackfillJob")] })),
            ]),
        ),
    ]);
    // Present only when the server runs a scheduler / backfill runner: never faked.
    unrequire(&mut s, &["scheduler", "backfill"]);
    s
}

fn range_envelope(who: (&str, Value)) -> Value {
    object(&[
        ("table", text()),
        who,
        ("fields", json!({ "type": "array", "items": text() })),
        ("newest_bar", nullable(time())),
        ("data_age_seconds", nullable(json!({ "type": "integer" }))),
        ("is_stale", json!({ "type": "boolean" })),
        ("next_cursor", nullable(text())),
        ("data", json!({ "type": "array", "items": schema_ref("Bar") })),
        ("rows", int()),
    ])
}

fn quality() -> Value {
    let flagged =
        object(&[("count", int()), ("bars", json!({ "type": "array", "items": time() }))]);
    let number = || nullable(json!({ "type": "number" }));
    object(&[
        ("table", text()),
        ("symbol", text()),
        ("bars", int()),
        ("validated_bars", int()),
        ("validation_rate", number()),
        ("quality_score", object(&[("mean", number()), ("min", number())])),
        ("completeness", object(&[("mean", number())])),
        ("gaps", flagged.clone()),
        ("volume_anomalies", flagged),
        ("validation_notes", json!({ "type": "object", "additionalProperties": int() })),
        ("newest_bar", nullable(time())),
        ("data_age_seconds", nullable(json!({ "type": "integer" }))),
        ("is_stale", json!({ "type": "boolean" })),
    ])
}

/// Takes `names` out of an object schema's `required`.
fn unrequire(schema: &mut Value, names: &[&str]) {
    if let Some(r) = schema.get_mut("required").and_then(Value::as_array_mut) {
        r.retain(|k| !names.iter().any(|n| k == n));
    }
}

/// Keeps only `keep` in an object schema's `required` (a request body's optional members).
fn optional(mut schema: Value, keep: &[&str]) -> Value {
    if let Some(r) = schema.get_mut("required").and_then(Value::as_array_mut) {
        r.retain(|k| keep.iter().any(|w| k == w));
    }
    schema
}

fn query_request() -> Value {
    let list = json!({ "type": "array", "items": text() });
    let fields = json!({
        "description": "Field names as a list or comma-separated; `symbol` is always added.",
        "oneOf": [list, text()],
    });
    let mut q = object(&[
        ("table", text()),
        ("symbols", nullable(json!({ "type": "array", "items": text(), "minItems": 1 }))),
        ("sector", nullable(text())),
        ("exchange", nullable(text())),
        ("fields", nullable(fields)),
        ("start", nullable(text())),
        ("end", nullable(text())),
        (
            "format",
            nullable(json!({ "type": "string", "enum": ["json", "csv", "arrow", "parquet"] })),
        ),
        ("validated_only", nullable(json!({ "type": "boolean" }))),
        ("min_quality", nullable(json!({ "type": "number", "minimum": 0, "maximum": 1 }))),
        ("as_of", nullable(text())),
        ("limit", nullable(json!({ "type": "integer", "minimum": 1 }))),
        ("cursor", nullable(text())),
    ]);
    q["description"] = json!(
        "Exactly one of `symbols`, `sector`, `exchange`. `start`/`end`/`as_of`: YYYY-MM-DD or \
         RFC 3339."
    );
    q["example"] = json!({
        "table": "stocks_daily", "symbols": ["AAPL", "MSFT"], "fields": ["datetime", "close", "rsi"],
        "start": "2018-01-01", "end": "2018-01-31", "format": "json",
    });
    optional(q, &["table"])
}

fn backfill_request() -> Value {
    let source = json!({ "type": "string", "enum": ["polygon", "binance", "yahoo", "twelvedata"] });
    let mut b = object(&[
        ("table", text()),
        ("symbols", nullable(json!({ "type": "array", "items": text(), "minItems": 1 }))),
        ("sector", nullable(text())),
        ("start", json!({ "type": "string", "format": "date" })),
        ("end", nullable(json!({ "type": "string", "format": "date" }))),
        ("source", nullable(source)),
    ]);
    b["description"] = json!(
        "Exactly one of `symbols` (non-empty) or `sector`; `end` defaults to today; `source` \
         picks the vendor (default: the configured order)."
    );
    b["example"] = json!({
        "table": "stocks_daily", "symbols": ["AAPL", "MSFT"], "sector": null,
        "start": "2024-01-01", "end": "2024-12-31", "source": null,
    });
    optional(b, &["table", "start"])
}

/// Every component schema.
pub(super) fn schemas() -> Value {
    let error = object(&[(
        "error",
        object(&[
            ("code", json!({ "type": "string", "description": "Stable machine-readable code." })),
            ("message", json!({ "type": "string", "description": "What was wrong." })),
            (
                "param",
                nullable(json!({ "type": "string", "description": "The parameter at fault." })),
            ),
        ]),
    )]);
    let storage = object(&[
        ("segments", int()),
        ("segment_bytes", int()),
        ("partitions", int()),
        ("level0_segments", int()),
        ("pending_compactions", int()),
        ("unflushed_rows", int()),
        ("unflushed_corrections", int()),
    ]);
    let symbol_entry = object(&[
        ("table", text()),
        ("symbol", text()),
        ("sector", nullable(text())),
        ("exchange", nullable(text())),
        ("bars", int()),
        ("first_bar", nullable(time())),
        ("last_bar", nullable(time())),
    ]);
    let correction = object(&[
        ("datetime", time()),
        ("field", text()),
        ("old_value", nullable(text())),
        ("new_value", nullable(text())),
        ("old_revision", json!({ "type": "integer" })),
        ("new_revision", json!({ "type": "integer" })),
        ("corrected_at", time()),
        ("batch_id", text()),
    ]);
    let table_state = object(&[
        ("table", text()),
        ("symbols", int()),
        ("done", int()),
        ("failed", int()),
        ("pending", int()),
        ("last_error", nullable(text())),
        ("updated_at", nullable(time())),
    ]);
    let accepted = object(&[
        ("job_id", text()),
        ("status", json!({ "type": "string", "enum": ["queued"] })),
        ("table", text()),
        ("symbols", json!({ "type": "array", "items": text() })),
        ("start", json!({ "type": "string", "format": "date" })),
        ("end", json!({ "type": "string", "format": "date" })),
    ]);
    json!({
        "Error": error,
        "Health": object(&[("status", json!({ "type": "string", "enum": ["ok"] }))]),
        "Status": status(),
        "TableStatus": table_status(),
        "StorageStatus": storage,
        "Tables": object(&[("tables", json!({ "type": "array", "items": schema_ref("TableStatus") }))]),
        "Symbols": object(&[
            ("count", int()),
            ("symbols", json!({ "type": "array", "items": symbol_entry })),
        ]),
        "Bar": bar(),
        "Bars": range_envelope(("symbol", text())),
        "QueryRequest": query_request(),
        "QueryResult": range_envelope(("symbols", json!({ "type": "array", "items": text() }))),
        "Corrections": object(&[
            ("table", text()),
            ("symbol", text()),
            ("count", int()),
            ("corrections", json!({ "type": "array", "items": correction })),
        ]),
        "Quality": quality(),
        "Screen": object(&[
            ("table", text()),
            ("date", nullable(json!({ "type": "string", "format": "date" }))),
            ("where", json!({ "type": "array", "items": text() })),
            ("fields", json!({ "type": "array", "items": text() })),
            ("count", int()),
            ("data", json!({ "type": "array", "items": schema_ref("Bar") })),
        ]),
        "FlushReport": object(&[
            ("rows", int()),
            ("segments_written", int()),
            ("segments_replaced", int()),
            ("corrections", int()),
        ]),
        "CompactReport": object(&[
            ("tasks", int()),
            ("segments_in", int()),
            ("segments_out", int()),
            ("rows", int()),
            ("commits", int()),
        ]),
        "BackfillRequest": backfill_request(),
        "BackfillAccepted": accepted,
        "BackfillJob": job(),
        "BackfillTableState": table_state,
        "BackfillStatus": object(&[
            ("jobs", json!({ "type": "array", "items": schema_ref("BackfillJob") })),
            ("tables", json!({ "type": "array", "items": schema_ref("BackfillTableState") })),
        ]),
    })
}
