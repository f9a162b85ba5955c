//! `GET /api/v1/bars`: every format against an in-process scan, pagination, streaming.

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::TimestampMicrosecondType;
use candlestore::export::{BatchWriter, Format};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::fixture::{
    DAILY_2014_ROWS, LAST_2014, NOW, ORCL_ROWS, expect_error, shared, start_shared,
};

const JAN_2014: i64 = 1_388_534_400_000_000; // 2014-01-01T00:00:00Z
const FEB_2014: i64 = 1_391_212_800_000_000; // 2014-02-01T00:00:00Z

fn in_process(symbol: &str, start: i64, end: i64, fields: Option<&[&str]>) -> RecordBatch {
    let mut scan = shared().store.scan("stocks_daily").symbol(symbol).time_range(start, end);
    if let Some(f) = fields {
        scan = scan.columns(f.iter().copied());
    }
    scan.to_batch().unwrap()
}

fn assert_same(got: &[RecordBatch], want: &RecordBatch) {
    let got = arrow::compute::concat_batches(&want.schema(), got).unwrap();
    assert_eq!(got.num_rows(), want.num_rows());
    assert_eq!(got.schema().fields(), want.schema().fields());
    for i in 0..want.num_columns() {
        assert_eq!(
            got.column(i).as_ref(),
            want.column(i).as_ref(),
            "column {}",
            want.schema().field(i).name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_envelope_and_values_match_a_scan() {
    let s = start_shared().await;
    let (status, v) = s
        .json("/api/v1/bars/stocks_daily/NVDA?start=2014-01-01&end=2014-01-31&fields=datetime,close,rsi,sma_50,symbol")
        .await;
    assert_eq!(status, 200, "{v}");
    let want = in_process(
        "NVDA",
        JAN_2014,
        FEB_2014,
        Some(&["datetime", "close", "rsi", "sma_50", "symbol"]),
    );
    assert_eq!(v["table"], "stocks_daily");
    assert_eq!(v["symbol"], "NVDA");
    assert_eq!(v["fields"], serde_json::json!(["datetime", "close", "rsi", "sma_50", "symbol"]));
    assert_eq!(v["rows"], want.num_rows());
    assert_eq!(v["next_cursor"], serde_json::Value::Null);
    assert_eq!(v["newest_bar"], "2014-12-31T00:00:00.000000Z");
    assert_eq!(v["data_age_seconds"], (NOW - LAST_2014) / 1_000_000);
    assert_eq!(v["is_stale"], false);
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), want.num_rows());
    let ts = want.column(0).as_primitive::<TimestampMicrosecondType>();
    let close = want.column(1).as_primitive::<arrow::datatypes::Float64Type>();
    for (i, row) in data.iter().enumerate() {
        assert_eq!(row["datetime"], candlestore::export::format_micros(ts.value(i)));
        assert_eq!(row["close"].as_f64().unwrap(), close.value(i));
        assert_eq!(row["symbol"], "NVDA");
    }
    // rsi has a 14-bar warm-up: null at first, numbers later.
    assert!(data[0]["rsi"].is_null());
    assert!(data.last().unwrap()["rsi"].is_f64());
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_is_the_f4_exchange_format() {
    let s = start_shared().await;
    let r =
        s.get("/api/v1/bars/stocks_daily/YHOO?start=2014-01-01&end=2014-01-31&format=csv").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(r.headers()["x-is-stale"], "false");
    assert_eq!(r.headers()["x-data-age-seconds"], "172800");
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("stocks_daily-YHOO.csv"));
    let text = r.text().await.unwrap();
    let want = in_process("YHOO", JAN_2014, FEB_2014, None);
    let mut w = BatchWriter::try_new(Format::Csv, Vec::new(), &want.schema()).unwrap();
    w.write(&want).unwrap();
    assert_eq!(text, String::from_utf8(w.finish().unwrap().0).unwrap());
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert_eq!(header.split(',').count(), candlestore::FIELD_COUNT);
    assert!(header.starts_with("datetime,symbol,open,"), "{header}");
    assert!(lines.next().unwrap().starts_with("2014-01-02T00:00:00.000000Z,YHOO,"));
    assert_eq!(text.lines().count(), want.num_rows() + 1);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrow_and_parquet_decode_to_the_scan() {
    let s = start_shared().await;
    let want = in_process("ORCL", i64::MIN, i64::MAX, None);
    assert_eq!(want.num_rows(), ORCL_ROWS);
    for format in ["arrow", "parquet"] {
        let r = s.get(&format!("/api/v1/bars/stocks_daily/ORCL?format={format}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-newest-bar"], "2014-12-31T00:00:00.000000Z");
        assert!(r.headers().get("x-next-cursor").is_none());
        let body = r.bytes().await.unwrap();
        let got: Vec<RecordBatch> = if format == "arrow" {
            arrow::ipc::reader::StreamReader::try_new(&body[..], None)
                .unwrap()
                .map(Result::unwrap)
                .collect()
        } else {
            ParquetRecordBatchReaderBuilder::try_new(body)
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_same(&got, &want);
    }
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_time_travel() {
    let s = start_shared().await;
    let (_, v) = s.json("/api/v1/bars/stocks_daily/NVDA?fields=datetime,quality_score&min_quality=0.99&validated_only=true").await;
    let want = shared()
        .store
        .scan("stocks_daily")
        .symbol("NVDA")
        .columns(["datetime"])
        .min_quality(0.99)
        .validated_only(true)
        .to_batch()
        .unwrap();
    assert_eq!(v["rows"], want.num_rows());
    assert!(
        v["data"].as_array().unwrap().iter().all(|r| r["quality_score"].as_f64().unwrap() >= 0.99)
    );
    // as_of before the revision: the original close comes back.
    let as_of = candlestore::export::format_micros(
        shared().store.corrections("stocks_daily").unwrap()[0].corrected_at - 1,
    );
    let path = format!(
        "/api/v1/bars/stocks_daily/NVDA?start=2014-03-03&end=2014-03-03&fields=close&as_of={}",
        as_of.replace('+', "%2B")
    );
    let (status, then) = s.json(&path).await;
    assert_eq!(status, 200, "{then}");
    let (_, now) =
        s.json("/api/v1/bars/stocks_daily/NVDA?start=2014-03-03&end=2014-03-03&fields=close").await;
    assert_eq!(now["data"][0]["close"], 20.5);
    assert_ne!(then["data"][0]["close"], 20.5);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_the_cursor_to_the_end() {
    let s = start_shared().await;
    let want = in_process("ORCL", i64::MIN, i64::MAX, Some(&["datetime"]));
    let want: Vec<i64> =
        want.column(0).as_primitive::<TimestampMicrosecondType>().values().to_vec();
    // JSON, cursor in the envelope.
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/api/v1/bars/stocks_daily/ORCL?fields=datetime&limit=700".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, v) = s.json(&path).await;
        assert_eq!(status, 200, "{v}");
        let rows = v["data"].as_array().unwrap();
        assert!(rows.len() <= 700 && !rows.is_empty());
        seen.extend(rows.iter().map(|r| r["datetime"].as_str().unwrap().to_owned()));
        pages += 1;
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, ORCL_ROWS.div_ceil(700));
    let want_text: Vec<String> =
        want.iter().map(|&t| candlestore::export::format_micros(t)).collect();
    assert_eq!(seen, want_text);
    // Arrow, cursor in a header; a limit equal to the rows left gives no next page.
    let r = s
        .get(&format!(
            "/api/v1/bars/stocks_daily/ORCL?fields=datetime&format=arrow&limit={}",
            ORCL_ROWS - 1
        ))
        .await;
    let c = r.headers()["x-next-cursor"].to_str().unwrap().to_owned();
    let r = s
        .get(&format!(
            "/api/v1/bars/stocks_daily/ORCL?fields=datetime&format=arrow&limit=5&cursor={c}"
        ))
        .await;
    assert!(r.headers().get("x-next-cursor").is_none());
    let body = r.bytes().await.unwrap();
    let last: Vec<RecordBatch> = arrow::ipc::reader::StreamReader::try_new(&body[..], None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let last = arrow::compute::concat_batches(&last[0].schema(), &last).unwrap();
    assert_eq!(last.num_rows(), 1);
    assert_eq!(
        last.column(0).as_primitive::<TimestampMicrosecondType>().value(0),
        *want.last().unwrap()
    );
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_range_streams_in_chunks() {
    let s = start_shared().await;
    let r = s.get("/api/v1/bars/stocks_daily/ORCL?format=json").await;
    assert_eq!(r.status(), 200);
    assert!(r.content_length().is_none(), "a streamed body has no length up front");
    let mut chunks = 0;
    let mut body = Vec::new();
    let mut r = r;
    while let Some(chunk) = r.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(body.len() > 5_000_000, "{} bytes", body.len());
    assert!(chunks > 10, "{chunks} chunks");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["rows"], ORCL_ROWS);
    assert_eq!(v["data"].as_array().unwrap().len(), ORCL_ROWS);
    let (_, y) = s.json("/api/v1/bars/stocks_daily/YHOO?fields=close").await;
    assert_eq!(y["rows"], DAILY_2014_ROWS);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypto_tables_serve_the_extra_columns_and_stock_tables_refuse_them() {
    let s = start_shared().await;
    // Default fields of a crypto table: the 97, then funding_rate and open_interest.
    let r = s.get("/api/v1/bars/crypto_hourly/BTCUSDT?end=2022-01-01&format=csv").await;
    assert_eq!(r.status().as_u16(), 200);
    let csv = r.text().await.unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header.len(), 99);
    assert_eq!(header[97..], ["funding_rate", "open_interest"]);
    let (status, v) = s
        .json("/api/v1/bars/crypto_hourly/BTCUSDT?end=2022-01-01&fields=datetime,funding_rate,open_interest")
        .await;
    assert_eq!(status, 200, "{v}");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 24);
    assert!(data.iter().all(|row| row["funding_rate"].is_null() && row["open_interest"].is_null()));
    // Stock tables have the 97 only.
    let r = s.get("/api/v1/bars/stocks_daily/NVDA?fields=datetime,funding_rate").await;
    let m = expect_error(r, 400, "unknown_field", Some("fields")).await;
    assert!(m.contains("only in crypto tables"), "{m}");
    let r = s.get("/api/v1/bars/stocks_daily/NVDA?end=2014-01-03&format=csv").await;
    let csv = r.text().await.unwrap();
    assert_eq!(csv.lines().next().unwrap().split(',').count(), candlestore::FIELD_COUNT);
    s.stop().await.unwrap();
}
