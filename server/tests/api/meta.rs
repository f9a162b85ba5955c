//! `/health`, `/api/v1/status`, `/api/v1/tables`, `/api/v1/symbols`, corrections, metrics.

use crate::fixture::{DAILY_2014_ROWS, ORCL_ROWS, REVISED_AT, shared, start_shared};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_status_and_tables() {
    let s = start_shared().await;
    assert_eq!(s.json("/health").await, (200, serde_json::json!({"status": "ok"})));
    let (status, v) = s.json("/api/v1/status").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["now"], "2015-01-02T00:00:00.000000Z");
    assert!(v["store"]["generation"].as_u64().unwrap() >= 2);
    assert_eq!(v["store"]["read_only"], false);
    assert!(v["store"]["wal_files"].is_u64() && v["store"]["next_lsn"].is_u64());
    // Nothing runs a scheduler or backfills here: the fields are absent, not made up.
    assert!(v.get("scheduler").is_none() && v.get("backfill").is_none());
    let tables = v["tables"].as_array().unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t["table"].as_str().unwrap()).collect();
    assert_eq!(names, ["crypto_hourly", "stocks_daily"]);
    let daily = &tables[1];
    assert_eq!(daily["symbols"], 3);
    assert_eq!(daily["bars"], (ORCL_ROWS + 2 * DAILY_2014_ROWS) as u64);
    assert_eq!(daily["timeframe"], "1d");
    assert_eq!(daily["newest_bar"], "2014-12-31T00:00:00.000000Z");
    assert_eq!(daily["data_age_seconds"], 172_800);
    // Wednesday's bar read at Friday 00:00 UTC: Thursday was New Year's Day, Friday's
    // session has not closed. Nothing is due.
    assert_eq!(daily["is_stale"], false);
    // The audit counts are those of a scan of the audit columns.
    let audit = shared()
        .store
        .scan("stocks_daily")
        .columns(["is_validated", "gap_detected"])
        .to_batch()
        .unwrap();
    let validated = arrow::array::AsArray::as_boolean(audit.column(0)).true_count() as u64;
    let gaps = arrow::array::AsArray::as_boolean(audit.column(1)).true_count() as u64;
    assert_eq!(daily["audit"]["validated_bars"], validated);
    assert_eq!(daily["audit"]["gaps_flagged"], gaps);
    let rate = daily["audit"]["validation_rate"].as_f64().unwrap();
    assert!((rate - validated as f64 / audit.num_rows() as f64).abs() < 1e-12);
    assert!(daily["storage"]["segments"].as_u64().unwrap() > 0);
    assert!(daily["storage"]["segment_bytes"].as_u64().unwrap() > 0);
    assert_eq!(daily["storage"]["unflushed_rows"], 0);
    assert_eq!(tables[0]["newest_bar"], "2022-01-31T23:00:00.000000Z");
    assert_eq!(tables[0]["timeframe"], "1h");
    // The `[freshness]` default for crypto (2 h).
    assert_eq!(tables[0]["stale_after_seconds"], 2 * 3600);
    assert_eq!(daily["stale_after_seconds"], 86_400);
    let (_, t) = s.json("/api/v1/tables").await;
    assert_eq!(t["tables"][1]["bars"], daily["bars"]);
    assert!(t["tables"][1].get("audit").is_none());
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_symbol_master_filters() {
    let s = start_shared().await;
    let symbols = |v: &serde_json::Value| -> Vec<String> {
        v["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["symbol"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = s.json("/api/v1/symbols").await;
    assert_eq!(symbols(&all), ["BTCUSDT", "NVDA", "ORCL", "YHOO"]);
    assert_eq!(all["count"], 4);
    let (_, v) =
        s.json("/api/v1/symbols?table=stocks_daily&sector=technology&exchange=NASDAQ").await;
    assert_eq!(symbols(&v), ["NVDA", "YHOO"]);
    let nvda = &v["symbols"][0];
    assert_eq!(nvda["sector"], "Technology");
    assert_eq!(nvda["bars"], DAILY_2014_ROWS);
    assert_eq!(nvda["first_bar"], "2014-01-02T00:00:00.000000Z");
    assert_eq!(nvda["last_bar"], "2014-12-31T00:00:00.000000Z");
    let (_, v) = s.json("/api/v1/symbols?q=hoo").await;
    assert_eq!(symbols(&v), ["YHOO"]);
    let (_, v) = s.json("/api/v1/symbols?exchange=NYSE").await;
    assert_eq!(symbols(&v), ["ORCL"]);
    let (_, v) = s.json("/api/v1/symbols?table=crypto_hourly").await;
    assert_eq!(symbols(&v), ["BTCUSDT"]);
    assert!(v["symbols"][0]["sector"].is_null());
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_of_a_symbol() {
    let s = start_shared().await;
    let (status, v) = s.json("/api/v1/corrections/stocks_daily/NVDA").await;
    assert_eq!(status, 200, "{v}");
    let list = v["corrections"].as_array().unwrap();
    assert_eq!(v["count"], list.len());
    let close = list.iter().find(|c| c["field"] == "close").expect("the close correction");
    assert_eq!(close["datetime"], candlestore::export::format_micros(REVISED_AT));
    assert_eq!(close["new_value"], "20.5");
    assert_ne!(close["old_value"], "20.5");
    assert_eq!(close["old_revision"], 1);
    assert_eq!(close["new_revision"], 2);
    assert_eq!(close["batch_id"], "revision-1");
    let (_, none) = s.json("/api/v1/corrections/stocks_daily/YHOO").await;
    assert_eq!(none["count"], 0);
    let (_, before) = s.json("/api/v1/corrections/stocks_daily/NVDA?end=2014-03-02").await;
    assert_eq!(before["count"], 0);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_rows_and_store_figures() {
    let s = start_shared().await;
    for _ in 0..2 {
        assert_eq!(
            s.get("/api/v1/bars/stocks_daily/YHOO?fields=close&format=csv")
                .await
                .text()
                .await
                .unwrap()
                .lines()
                .count(),
            DAILY_2014_ROWS + 1
        );
    }
    assert_eq!(s.get("/api/v1/bars/stocks_daily/NOPE").await.status(), 404);
    let r = s.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    let has = |line: &str| text.lines().any(|l| l == line);
    assert!(
        has(
            "candlestore_http_requests_total{route=\"/api/v1/bars/{table}/{symbol}\",method=\"GET\",status=\"200\"} 2"
        ),
        "{text}"
    );
    assert!(
        has(
            "candlestore_http_requests_total{route=\"/api/v1/bars/{table}/{symbol}\",method=\"GET\",status=\"404\"} 1"
        ),
        "{text}"
    );
    assert!(
        has(&format!("candlestore_rows_served_total{{format=\"csv\"}} {}", 2 * DAILY_2014_ROWS)),
        "{text}"
    );
    assert!(
        has(
            "candlestore_http_request_duration_seconds_count{route=\"/api/v1/bars/{table}/{symbol}\"} 3"
        ),
        "{text}"
    );
    assert!(
        has(&format!(
            "candlestore_table_bars{{table=\"stocks_daily\"}} {}",
            ORCL_ROWS + 2 * DAILY_2014_ROWS
        )),
        "{text}"
    );
    assert!(text.contains("candlestore_wal_bytes "), "{text}");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_summarizes_the_audit_fields() {
    use arrow::array::{Array, AsArray};
    let s = start_shared().await;
    let (status, v) = s.json("/api/v1/quality/stocks_daily/ORCL?start=1995-01-01").await;
    assert_eq!(status, 200, "{v}");
    let b = shared()
        .store
        .scan("stocks_daily")
        .symbol("ORCL")
        .columns([
            "is_validated",
            "quality_score",
            "gap_detected",
            "volume_anomaly",
            "data_completeness",
        ])
        .to_batch()
        .unwrap();
    let n = b.num_rows() as u64;
    assert_eq!(v["bars"], n);
    let validated = b.column(0).as_boolean().true_count() as u64;
    assert_eq!(v["validated_bars"], validated);
    let scores = b.column(1).as_primitive::<arrow::datatypes::Float64Type>();
    let mean = scores.values().iter().sum::<f64>() / n as f64;
    assert!((v["quality_score"]["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert_eq!(v["gaps"]["count"], b.column(2).as_boolean().true_count());
    assert_eq!(v["gaps"]["bars"].as_array().unwrap().len(), b.column(2).as_boolean().true_count());
    assert_eq!(v["volume_anomalies"]["count"], b.column(3).as_boolean().true_count());
    assert!(v["completeness"]["mean"].as_f64().unwrap() > 0.0);
    assert_eq!(v["is_stale"], false);
    assert!(b.column(1).null_count() == 0);
    let (_, one) =
        s.json("/api/v1/quality/stocks_daily/NVDA?start=2014-03-03&end=2014-03-03").await;
    assert_eq!(one["bars"], 1);
    let r = s.get("/api/v1/quality/stocks_daily/NOPE").await;
    crate::fixture::expect_error(r, 404, "unknown_symbol", Some("symbol")).await;
    let r = s.get("/api/v1/quality/stocks_daily/ORCL?end=never").await;
    crate::fixture::expect_error(r, 400, "invalid_date", Some("end")).await;
    s.stop().await.unwrap();
}
