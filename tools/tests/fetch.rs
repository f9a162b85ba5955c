//! `candlestore fetch` against a local mock of the vendors, pointed at by the
//! `CANDLESTORE_<NAME>_BASE_URL` environment variables, replaying real vendor answers.

mod vendor;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use axum::Router;
use axum::extract::{Path as UrlPath, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use vendor::sample;

/// Serves Yahoo's AAPL 2020-01-02 daily answer and Binance's BTCUSDT 1m answer; anything
/// else gets the vendor's real "unknown symbol" answer.
fn start_mock() -> SocketAddr {
    let app = Router::new()
        .route(
            "/v8/finance/chart/{symbol}",
            get(|UrlPath(symbol): UrlPath<String>| async move {
                if symbol == "AAPL" {
                    (StatusCode::OK, sample("yahoo/chart-AAPL-2020-01-01-to-2020-01-03.json"))
                } else {
                    (StatusCode::NOT_FOUND, br#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#.to_vec())
                }
            }),
        )
        .route(
            "/api/v3/klines",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let body = sample("binance/http_spot_market_klines.json");
                let ok = q.get("symbol").map(String::as_str) == Some("BTCUSDT");
                let mut r = if ok { (StatusCode::OK, body).into_response() } else {
                    (StatusCode::BAD_REQUEST, br#"{"code":-1121,"msg":"Invalid symbol."}"#.to_vec()).into_response()
                };
                r.headers_mut().insert("x-mbx-used-weight-1m", "3".parse().unwrap());
                r
            }),
        )
        // The Binance docs' funding rate example, moved to 08:00 and 16:00 of the kline
        // sample's day (2021-10-22).
        .route(
            "/fapi/v1/fundingRate",
            get(|| async {
                let shift = 1_634_889_600_000_i64 - 1_570_608_000_000;
                let mut items: Vec<serde_json::Value> =
                    serde_json::from_slice(&sample("binance/futures_funding_rate.json")).unwrap();
                for item in &mut items {
                    let t = item["fundingTime"].as_i64().unwrap() + shift;
                    item["fundingTime"] = t.into();
                }
                serde_json::to_vec(&items).unwrap()
            }),
        );
    vendor::serve(app)
}

fn run(addr: SocketAddr, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candlestore"))
        .args(args)
        .env("CANDLESTORE_YAHOO_BASE_URL", format!("http://{addr}"))
        .env("CANDLESTORE_BINANCE_BASE_URL", format!("http://{addr}"))
        .env("CANDLESTORE_BINANCE_FUTURES_BASE_URL", format!("http://{addr}"))
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(addr: SocketAddr, args: &[&str]) -> String {
    let o = run(addr, args);
    assert!(
        o.status.success(),
        "{args:?}\nstdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

#[test]
fn fetch_writes_csv_with_the_vendor_extras() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("aapl.csv");
    let out_s = out.display().to_string();
    let stdout = ok(
        addr,
        &[
            "fetch",
            "--provider",
            "yahoo",
            "--symbol",
            "AAPL",
            "--timeframe",
            "1d",
            "--start",
            "2020-01-01",
            "--end",
            "2020-01-03",
            "--output",
            &out_s,
        ],
    );
    assert!(
        stdout.contains("fetched: yahoo AAPL (as AAPL) 1d: 1 row, 1 page, 1 request, 0 retries"),
        "{stdout}"
    );
    assert!(stdout.contains("quota n/a"), "{stdout}");
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "symbol,datetime,open,high,low,close,volume,trade_count,vwap,quote_volume,taker_buy_base_volume,taker_buy_quote_volume,adj_close"
    );
    assert_eq!(
        lines.next().unwrap(),
        "AAPL,2020-01-02T00:00:00.000000Z,74.05999755859375,75.1500015258789,73.79750061035156,75.0875015258789,135480400.0,,,,,,72.71607208251953"
    );
    assert_eq!(lines.next(), None);
}

#[test]
fn fetch_appends_to_a_store_with_the_provider_as_source() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let stdout = ok(
        addr,
        &[
            "fetch",
            "--provider",
            "binance",
            "--symbol",
            "BTC",
            "--provider-symbol",
            "BTCUSDT",
            "--timeframe",
            "1m",
            "--start",
            "2021-10-22",
            "--store",
            &store,
            "--table",
            "crypto_1min",
        ],
    );
    assert!(stdout.contains("binance BTCUSDT (as BTC) 1m: 10 rows"), "{stdout}");
    assert!(stdout.contains("quota 3 used (x-mbx-used-weight-1m)"), "{stdout}");
    assert!(stdout.contains("stored in crypto_1min: 10 inserted"), "{stdout}");
    let csv = ok(
        addr,
        &[
            "query",
            "--store",
            &store,
            "--table",
            "crypto_1min",
            "--symbol",
            "BTC",
            "--fields",
            "symbol,datetime,close,source",
        ],
    );
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 10, "{csv}");
    assert_eq!(rows[0], "BTC,2021-10-22T23:03:00.000000Z,60719.27,binance");

    // Fetching again changes nothing.
    let again = ok(
        addr,
        &[
            "fetch",
            "--provider",
            "binance",
            "--symbol",
            "BTC",
            "--provider-symbol",
            "BTCUSDT",
            "--timeframe",
            "1m",
            "--start",
            "2021-10-22",
            "--store",
            &store,
            "--table",
            "crypto_1min",
        ],
    );
    assert!(again.contains("0 inserted, 0 revised, 10 unchanged"), "{again}");
}

#[test]
fn config_file_sections_and_environment_precedence() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("candlestore.toml");
    // The file points Yahoo at a closed port; the environment variable wins.
    std::fs::write(
        &config,
        "[server]\nlisten = \"127.0.0.1:1\"\n\n[providers.yahoo]\nbase_url = \"http://127.0.0.1:9\"\ntimeout_ms = 2000\nmax_retries = 0\n",
    )
    .unwrap();
    let out = dir.path().join("a.csv").display().to_string();
    let cfg = config.display().to_string();
    ok(
        addr,
        &[
            "fetch",
            "--provider",
            "yahoo",
            "--symbol",
            "AAPL",
            "--start",
            "2020-01-01",
            "--end",
            "2020-01-03",
            "--config",
            &cfg,
            "--output",
            &out,
        ],
    );

    std::fs::write(&config, "[providers.yahoo]\nretries = 2\n").unwrap();
    let o = run(
        addr,
        &[
            "fetch",
            "--provider",
            "yahoo",
            "--symbol",
            "AAPL",
            "--start",
            "2020-01-01",
            "--config",
            &cfg,
            "--output",
            &out,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("unknown field `retries`"), "{}", text(&o.stderr));
}

#[test]
fn fetch_errors_name_the_provider_and_symbol() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv").display().to_string();
    let o = run(
        addr,
        &[
            "fetch",
            "--provider",
            "yahoo",
            "--symbol",
            "NOPE",
            "--start",
            "2020-01-01",
            "--output",
            &out,
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.starts_with("error: yahoo does not know the symbol \"NOPE\""), "{err}");
    assert!(!Path::new(&out).exists(), "nothing is written on failure");

    let o = run(
        addr,
        &["fetch", "--provider", "iex", "--symbol", "A", "--start", "2020-01-01", "--output", &out],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unknown provider \"iex\""), "{}", text(&o.stderr));
    let o = run(
        addr,
        &[
            "fetch",
            "--provider",
            "yahoo",
            "--symbol",
            "A",
            "--start",
            "2020-02-30",
            "--output",
            &out,
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = run(addr, &["fetch", "--provider", "yahoo", "--symbol", "A", "--start", "2020-01-01"]);
    assert_eq!(o.status.code(), Some(2), "a destination is required");
    let o = run(
        addr,
        &[
            "fetch",
            "--provider",
            "polygon",
            "--symbol",
            "A",
            "--start",
            "2020-01-01",
            "--output",
            &out,
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("CANDLESTORE_POLYGON_API_KEY"), "{}", text(&o.stderr));
}

#[test]
fn fetch_maps_the_symbol_to_the_vendor_ticker_by_default() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    // No --provider-symbol: BTC on a crypto table is BTCUSDT on Binance.
    let stdout = ok(
        addr,
        &[
            "fetch",
            "--provider",
            "binance",
            "--symbol",
            "BTC",
            "--timeframe",
            "1m",
            "--start",
            "2021-10-22",
            "--store",
            &store,
            "--table",
            "crypto_1min",
        ],
    );
    assert!(stdout.contains("binance BTCUSDT (as BTC) 1m: 10 rows"), "{stdout}");
    // Binance has no ticker for a stock.
    let o = run(
        addr,
        &[
            "fetch",
            "--provider",
            "binance",
            "--symbol",
            "AAPL",
            "--start",
            "2021-10-22",
            "--store",
            &store,
            "--table",
            "stocks_daily",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--provider-symbol"), "{}", text(&o.stderr));
}

#[test]
fn fetch_futures_stores_the_funding_rate_in_a_crypto_table() {
    let addr = start_mock();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let args = |table: &'static str| {
        vec![
            "fetch".to_owned(),
            "--provider".into(),
            "binance".into(),
            "--symbol".into(),
            "BTC".into(),
            "--timeframe".into(),
            "1m".into(),
            "--start".into(),
            "2021-10-22".into(),
            "--futures".into(),
            "--store".into(),
            store.clone(),
            "--table".into(),
            table.into(),
        ]
    };
    let crypto = args("crypto_1min");
    let crypto: Vec<&str> = crypto.iter().map(String::as_str).collect();
    let stdout = ok(addr, &crypto);
    assert!(stdout.contains("stored in crypto_1min: 10 inserted"), "{stdout}");
    // 2021 is far more than 30 days ago: open interest is not served any more.
    assert!(
        stdout.contains("warning: binance futures keeps open interest for the last 30 days"),
        "{stdout}"
    );
    let csv = ok(
        addr,
        &[
            "query",
            "--store",
            &store,
            "--table",
            "crypto_1min",
            "--symbol",
            "BTC",
            "--fields",
            "datetime,funding_rate,open_interest",
        ],
    );
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "datetime,funding_rate,open_interest");
    assert_eq!(rows.len(), 11, "{csv}");
    assert!(rows[1..].iter().all(|r| r.ends_with(",0.0001,")), "{csv}");

    // A stock table has no futures columns: a usage error before any request.
    let stocks = args("stocks_1min");
    let stocks: Vec<&str> = stocks.iter().map(String::as_str).collect();
    let o = run(addr, &stocks);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("only crypto tables"), "{}", text(&o.stderr));
}
