//! Every bad input is a 4xx with `{ "error": { "code", "message", "param" } }`.

use crate::fixture::{expect_error, start_shared};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bars_requests_are_named_4xx() {
    let s = start_shared().await;
    let cases: &[(&str, u16, &str, Option<&str>, &str)] = &[
        ("/api/v1/bars/stocks_weekly/NVDA", 404, "unknown_table", Some("table"), "stocks_weekly"),
        ("/api/v1/bars/..%2F..%2Fetc/NVDA", 400, "invalid_table", Some("table"), "../../etc"),
        ("/api/v1/bars/stocks_daily/..%2F_meta", 404, "unknown_symbol", Some("symbol"), "../_meta"),
        ("/api/v1/bars/stocks_daily/A%20B", 400, "invalid_symbol", Some("symbol"), "A B"),
        ("/api/v1/bars/stocks_daily/MSFT", 404, "unknown_symbol", Some("symbol"), "MSFT"),
        (
            "/api/v1/bars/stocks_daily/NVDA?start=2014-13-01",
            400,
            "invalid_date",
            Some("start"),
            "2014-13-01",
        ),
        (
            "/api/v1/bars/stocks_daily/NVDA?end=yesterday",
            400,
            "invalid_date",
            Some("end"),
            "yesterday",
        ),
        (
            "/api/v1/bars/stocks_daily/NVDA?start=2014-03-01&end=2014-02-01",
            400,
            "invalid_range",
            Some("start"),
            "after",
        ),
        (
            "/api/v1/bars/stocks_daily/NVDA?fields=close,nope",
            400,
            "unknown_field",
            Some("fields"),
            "nope",
        ),
        (
            "/api/v1/bars/stocks_daily/NVDA?fields=close,,open",
            400,
            "invalid_list",
            Some("fields"),
            "empty item",
        ),
        (
            "/api/v1/bars/stocks_daily/NVDA?fields=close,close",
            400,
            "invalid_fields",
            Some("fields"),
            "twice",
        ),
        ("/api/v1/bars/stocks_daily/NVDA?format=xml", 400, "invalid_format", Some("format"), "xml"),
        ("/api/v1/bars/stocks_daily/NVDA?limit=0", 400, "invalid_limit", Some("limit"), "0"),
        ("/api/v1/bars/stocks_daily/NVDA?limit=abc", 400, "invalid_limit", Some("limit"), "abc"),
        (
            "/api/v1/bars/stocks_daily/NVDA?limit=1000001",
            400,
            "limit_exceeded",
            Some("limit"),
            "1000000",
        ),
        (
            "/api/v1/bars/stocks_daily/NVDA?min_quality=2",
            400,
            "invalid_quality",
            Some("min_quality"),
            "2",
        ),
        (
            "/api/v1/bars/stocks_daily/NVDA?validated_only=maybe",
            400,
            "invalid_boolean",
            Some("validated_only"),
            "maybe",
        ),
        ("/api/v1/bars/stocks_daily/NVDA?as_of=soon", 400, "invalid_date", Some("as_of"), "soon"),
        ("/api/v1/bars/stocks_daily/NVDA?cursor=zz", 400, "invalid_cursor", Some("cursor"), "zz"),
        (
            "/api/v1/bars/stocks_daily/NVDA?strat=2014-01-01",
            400,
            "unknown_parameter",
            Some("strat"),
            "strat",
        ),
        (
            "/api/v1/bars/stocks_daily/NVDA?start=2014-01-01&start=2014-02-01",
            400,
            "repeated_parameter",
            Some("start"),
            "twice",
        ),
        ("/api/v1/corrections/stocks_daily/MSFT", 404, "unknown_symbol", Some("symbol"), "MSFT"),
        ("/api/v1/symbols?table=nope", 404, "unknown_table", Some("table"), "nope"),
        ("/api/v1/symbols?sector=x&color=red", 400, "unknown_parameter", Some("color"), "color"),
        ("/api/v1/nothing", 404, "not_found", None, "/api/v1/nothing"),
    ];
    for &(path, status, code, param, names) in cases {
        let message = expect_error(s.get(path).await, status, code, param).await;
        assert!(message.contains(names), "{path}: {message}");
    }
    let r = s.client.delete(s.url("/api/v1/tables")).send().await.unwrap();
    expect_error(r, 405, "method_not_allowed", None).await;
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_of_another_symbol_or_table_is_refused() {
    let s = start_shared().await;
    let r = s.get("/api/v1/bars/stocks_daily/NVDA?fields=datetime&limit=10&format=csv").await;
    let c = r.headers()["x-next-cursor"].to_str().unwrap().to_owned();
    let m = expect_error(
        s.get(&format!("/api/v1/bars/stocks_daily/YHOO?cursor={c}")).await,
        400,
        "invalid_cursor",
        Some("cursor"),
    )
    .await;
    assert!(m.contains("NVDA"), "{m}");
    let m = expect_error(
        s.get(&format!("/api/v1/bars/crypto_hourly/BTCUSDT?cursor={c}")).await,
        400,
        "invalid_cursor",
        Some("cursor"),
    )
    .await;
    assert!(m.contains("stocks_daily"), "{m}");
    s.stop().await.unwrap();
}
