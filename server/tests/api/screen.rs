//! `GET /api/v1/screen/{table}`: one session across every symbol, against an in-process scan.

use arrow::array::{Array, AsArray};
use arrow::datatypes::Float64Type;

use crate::fixture::{expect_error, shared, start_shared};

const JUN2_2014: i64 = 1_401_667_200_000_000;
const DAY: i64 = 86_400_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screens_one_session() {
    let s = start_shared().await;
    let (status, all) = s.json("/api/v1/screen/stocks_daily?date=2014-06-02").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["count"], 3);
    assert_eq!(all["date"], "2014-06-02");
    assert_eq!(all["fields"], serde_json::json!(["symbol", "datetime"]));
    // close > sma_50 on that day, computed here from a scan.
    let day = shared()
        .store
        .scan("stocks_daily")
        .time_range(JUN2_2014, JUN2_2014 + DAY)
        .columns(["symbol", "close", "sma_50"])
        .to_batch()
        .unwrap();
    let sym = arrow::compute::cast(day.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
    let close = day.column(1).as_primitive::<Float64Type>();
    let sma = day.column(2).as_primitive::<Float64Type>();
    let mut want: Vec<String> = (0..day.num_rows())
        .filter(|&i| sma.is_valid(i) && close.value(i) > sma.value(i))
        .map(|i| sym.as_string::<i32>().value(i).to_owned())
        .collect();
    want.sort();
    let (_, v) = s.json("/api/v1/screen/stocks_daily?date=2014-06-02&where=close>sma_50").await;
    let got: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["symbol"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, want);
    assert_eq!(v["where"], serde_json::json!(["close>sma_50"]));
    assert_eq!(v["fields"], serde_json::json!(["symbol", "datetime", "close", "sma_50"]));
    for r in v["data"].as_array().unwrap() {
        assert!(r["close"].as_f64().unwrap() > r["sma_50"].as_f64().unwrap());
    }
    // An impossible condition, CSV, and the default session (the newest).
    let text = s
        .get("/api/v1/screen/stocks_daily?date=2014-06-02&where=close<0&format=csv&fields=close")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(text, "symbol,close\n");
    let (_, newest) = s.json("/api/v1/screen/stocks_daily?where=volume>0").await;
    assert_eq!(newest["date"], "2014-12-31");
    assert_eq!(newest["count"], 3);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_screens_are_named_4xx() {
    let s = start_shared().await;
    for (path, status, code, param) in [
        ("/api/v1/screen/stocks_daily?where=rsi<<30", 400, "invalid_condition", Some("where")),
        ("/api/v1/screen/stocks_daily?where=rsx<30", 400, "unknown_field", Some("where")),
        ("/api/v1/screen/stocks_daily?where=symbol=NVDA", 400, "invalid_condition", Some("where")),
        ("/api/v1/screen/stocks_daily?date=2014-06-31", 400, "invalid_date", Some("date")),
        (
            "/api/v1/screen/stocks_daily?date=2014-06-02T10:00:00Z",
            400,
            "invalid_date",
            Some("date"),
        ),
        ("/api/v1/screen/stocks_daily?fields=nope", 400, "unknown_field", Some("fields")),
        // The crypto tables' extra columns are not columns of a stock table.
        ("/api/v1/screen/stocks_daily?where=funding_rate>0", 400, "unknown_field", Some("where")),
        ("/api/v1/screen/stocks_daily?fields=open_interest", 400, "unknown_field", Some("fields")),
        ("/api/v1/screen/stocks_weekly", 404, "unknown_table", Some("table")),
    ] {
        expect_error(s.get(path).await, status, code, param).await;
    }
    s.stop().await.unwrap();
}
