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
