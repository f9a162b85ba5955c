//! `POST /api/v1/query`: lists, sectors and exchanges, formats, pages, and bad bodies.

use arrow::array::{AsArray, RecordBatch};
use candlestore_server::ServerConfig;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

use crate::fixture::{DAILY_2014_ROWS, ORCL_ROWS, expect_error, shared, start, start_shared};

async fn post(s: &crate::fixture::Running, body: serde_json::Value) -> reqwest::Response {
    s.client.post(s.url("/api/v1/query")).json(&body).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_a_sector_and_an_exchange() {
    let s = start_shared().await;
    let r = post(&s, json!({"table": "stocks_daily", "symbols": ["YHOO", "NVDA"], "fields": ["datetime", "close"], "start": "2014-06-01"})).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["symbols"], json!(["NVDA", "YHOO"]));
    assert_eq!(v["fields"], json!(["symbol", "datetime", "close"]));
    let data = v["data"].as_array().unwrap();
    let want = shared()
        .store
        .scan("stocks_daily")
        .symbols(["NVDA", "YHOO"])
        .start(1_401_580_800_000_000)
        .columns(["symbol"])
        .to_batch()
        .unwrap();
    assert_eq!(data.len(), want.num_rows());
    // Symbol by symbol in name order, each in time order.
    assert_eq!(data[0]["symbol"], "NVDA");
    assert_eq!(data.last().unwrap()["symbol"], "YHOO");
    let keys: Vec<(String, String)> = data
        .iter()
        .map(|r| {
            (r["symbol"].as_str().unwrap().to_owned(), r["datetime"].as_str().unwrap().to_owned())
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let r = post(&s, json!({"table": "stocks_daily", "sector": "Technology", "fields": "datetime,close", "format": "parquet"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/vnd.apache.parquet");
    let batches: Vec<RecordBatch> =
        ParquetRecordBatchReaderBuilder::try_new(r.bytes().await.unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect();
    assert_eq!(
        batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        ORCL_ROWS + 2 * DAILY_2014_ROWS
    );
    let r = post(
        &s,
        json!({"table": "stocks_daily", "exchange": "nyse", "fields": ["close"], "format": "csv"}),
    )
    .await;
    let text = r.text().await.unwrap();
    assert_eq!(text.lines().next().unwrap(), "symbol,close");
    assert_eq!(text.lines().count(), ORCL_ROWS + 1);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_cross_symbol_boundaries() {
    let s = start_shared().await;
    let mut cursor: Option<String> = None;
    let mut rows: Vec<(String, i64)> = Vec::new();
    let mut pages = 0;
    loop {
        let mut body = json!({"table": "stocks_daily", "symbols": ["NVDA", "YHOO", "ORCL"], "fields": ["datetime"], "limit": 2000, "format": "arrow", "end": "2014-12-31"});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let r = post(&s, body).await;
        assert_eq!(r.status(), 200);
        cursor = r.headers().get("x-next-cursor").map(|c| c.to_str().unwrap().to_owned());
        let bytes = r.bytes().await.unwrap();
        let mut page = 0;
        for b in arrow::ipc::reader::StreamReader::try_new(&bytes[..], None).unwrap() {
            let b = b.unwrap();
            let sym = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
            let ts = b.column(1).as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                rows.push((sym.as_string::<i32>().value(i).to_owned(), ts.value(i)));
            }
            page += b.num_rows();
        }
        assert!(page <= 2000);
        pages += 1;
        if cursor.is_none() {
            break;
        }
    }
    let total = ORCL_ROWS + 2 * DAILY_2014_ROWS;
    assert_eq!(pages, total.div_ceil(2000));
    assert_eq!(rows.len(), total);
    let mut sorted = rows.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(rows, sorted, "every row once, in key order");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_named_4xx() {
    let s = start(
        shared().store.clone(),
        ServerConfig::default().with_public_read(true).with_max_query_symbols(2),
    )
    .await;
    let cases = [
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA", "MSFT"]}),
            404,
            "unknown_symbol",
            Some("symbols"),
        ),
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA"], "sector": "Technology"}),
            400,
            "invalid_selection",
            Some("symbols"),
        ),
        (json!({"table": "stocks_daily"}), 400, "invalid_selection", Some("symbols")),
        (
            json!({"table": "stocks_daily", "symbols": []}),
            400,
            "invalid_selection",
            Some("symbols"),
        ),
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA", "YHOO", "ORCL"]}),
            413,
            "too_many_symbols",
            Some("symbols"),
        ),
        (
            json!({"table": "stocks_daily", "sector": "Technology"}),
            413,
            "too_many_symbols",
            Some("symbols"),
        ),
        (
            json!({"table": "stocks_daily", "sector": "Energy"}),
            404,
            "unknown_sector",
            Some("sector"),
        ),
        (
            json!({"table": "stocks_daily", "exchange": "LSE"}),
            404,
            "unknown_exchange",
            Some("exchange"),
        ),
        (json!({"table": "nope", "symbols": ["NVDA"]}), 404, "unknown_table", Some("table")),
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA"], "fields": ["close", "bogus"]}),
            400,
            "unknown_field",
            Some("fields"),
        ),
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA"], "start": "2015-01-01", "end": "2014-01-01"}),
            400,
            "invalid_range",
            Some("start"),
        ),
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA"], "format": "xlsx"}),
            400,
            "invalid_format",
            Some("format"),
        ),
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA"], "min_quality": -1}),
            400,
            "invalid_quality",
            Some("min_quality"),
        ),
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA"], "limit": 0}),
            400,
            "invalid_limit",
            Some("limit"),
        ),
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA"], "cursor": "00"}),
            400,
            "invalid_cursor",
            Some("cursor"),
        ),
        (
            json!({"table": "stocks_daily", "symbols": ["NVDA"], "colour": "red"}),
            400,
            "invalid_body",
            None,
        ),
        (json!({"table": "stocks_daily", "symbols": "NVDA"}), 400, "invalid_body", None),
    ];
    for (body, status, code, param) in cases {
        expect_error(post(&s, body.clone()).await, status, code, param).await;
    }
    let r = s
        .client
        .post(s.url("/api/v1/query"))
        .header("content-type", "application/json")
        .body("{\"table\": ")
        .send()
        .await
        .unwrap();
    let m = expect_error(r, 400, "invalid_body", None).await;
    assert!(m.contains("line 1"), "{m}");
    let r = s.client.post(s.url("/api/v1/query")).body("table=stocks_daily").send().await.unwrap();
    expect_error(r, 415, "unsupported_media_type", None).await;
    let huge = json!({"table": "stocks_daily", "symbols": vec!["NVDA"; 20_000]});
    expect_error(post(&s, huge).await, 413, "body_too_large", None).await;
    s.stop().await.unwrap();
}

/// 40 synthetic symbols x 120 days, flushed in two parts (two segments per month).
fn many_symbols_store(dir: &std::path::Path) -> candlestore::Store {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    let store = candlestore::Store::open(dir).unwrap();
    let day = 86_400_000_000i64;
    let jan1 = 1_704_067_200_000_000i64;
    for days in [0..70i64, 70..120] {
        let (mut sym, mut ts, mut px) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..40 {
            for d in days.clone() {
                sym.push(format!("Q{s:03}"));
                ts.push(jan1 + d * day);
                px.push(50.0 + s as f64 + (d as f64 * 0.37).sin());
            }
        }
        let tz = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let mut fields = vec![Field::new("symbol", DataType::Utf8, false)];
        fields.push(Field::new("datetime", tz, false));
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(sym)),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        ];
        for (name, k) in [("open", 0.0), ("high", 1.0), ("low", -1.0), ("close", 0.5)] {
            fields.push(Field::new(name, DataType::Float64, false));
            columns
                .push(Arc::new(Float64Array::from(px.iter().map(|p| p + k).collect::<Vec<_>>())));
        }
        fields.push(Field::new("volume", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from(vec![1000.0; px.len()])));
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let _ = store.append("stocks_daily", &batch).unwrap();
        store.flush().unwrap();
    }
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_symbols_read_in_bulk_match_symbol_scans() {
    let dir = tempfile::tempdir().unwrap();
    let store = many_symbols_store(dir.path());
    let symbols: Vec<String> = (0..40).rev().map(|s| format!("Q{s:03}")).collect();
    let s = start(store.clone(), ServerConfig::default().with_public_read(true)).await;
    let r = post(
        &s,
        json!({"table": "stocks_daily", "symbols": symbols, "start": "2024-02-10", "end": "2024-04-20", "format": "arrow"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    let reader =
        arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(body), None).unwrap();
    let schema = reader.schema();
    let got: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let got = arrow::compute::concat_batches(&schema, &got).unwrap();
    // The same rows as one scan per symbol, in name order.
    let mut sorted = symbols.clone();
    sorted.sort();
    let mut want = Vec::new();
    for symbol in &sorted {
        want.extend(
            store
                .scan("stocks_daily")
                .symbol(symbol.clone())
                // A date `end` is inclusive: through 2024-04-20, i.e. before 2024-04-21.
                .time_range(1_707_523_200_000_000, 1_713_657_600_000_000)
                .collect()
                .unwrap(),
        );
    }
    let want = arrow::compute::concat_batches(&schema, &want).unwrap();
    assert_eq!(got.num_rows(), 40 * 71);
    assert_eq!(got.num_columns(), 97);
    for (c, field) in schema.fields().iter().enumerate() {
        assert_eq!(got.column(c).as_ref(), want.column(c).as_ref(), "column {}", field.name());
    }
    let symbol = got.column(schema.index_of("symbol").unwrap());
    let symbol = arrow::compute::cast(symbol, &arrow::datatypes::DataType::Utf8).unwrap();
    let symbol = symbol.as_string::<i32>();
    assert_eq!((symbol.value(0), symbol.value(40 * 71 - 1)), ("Q000", "Q039"));
    s.stop().await.unwrap();
}
