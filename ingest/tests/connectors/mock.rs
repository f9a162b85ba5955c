//! A local mock of the four vendors' HTTP APIs, serving the real response bodies in
//! `testdata/api-samples/`, routed by the vendor's URL path and query, with injectable faults.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use candlestore_ingest::{ProviderConfig, ProviderKind, RetryPolicy};

/// The API key the mock accepts for Polygon and Twelve Data.
pub(crate) const KEY: &str = "test-key";

/// What the mock does to the next request (faults are consumed in order, one per request).
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Answer with this status and a plain body, optionally with `Retry-After`.
    Status(u16, Option<String>),
    /// Wait this long before answering normally.
    Slow(Duration),
    /// Answer normally but send only the first half of the body.
    Truncate,
}

/// One request as the mock saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) path: String,
    pub(crate) query: HashMap<String, String>,
    pub(crate) authorization: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct MockState {
    /// Added to the futures samples' times (ms): funding, open interest. The samples are the
    /// Binance docs' examples (2019 and 2020); a test moves them next to the kline sample.
    futures_shift: Mutex<(i64, i64)>,
    /// The futures endpoints answer "Invalid symbol." for every symbol (a spot-only pair).
    no_perpetual: Mutex<bool>,
    faults: Mutex<VecDeque<Fault>>,
    seen: Mutex<Vec<Seen>>,
    addr: Mutex<Option<SocketAddr>>,
}

/// A running mock server.
#[derive(Debug, Clone)]
pub(crate) struct Mock {
    pub(crate) addr: SocketAddr,
    state: Arc<MockState>,
}

impl Mock {
    /// Starts the mock on an ephemeral port of 127.0.0.1 in the current runtime.
    pub(crate) async fn start() -> Mock {
        let state = Arc::new(MockState::default());
        let app = Router::new()
            .route("/v2/aggs/ticker/{ticker}/range/{mult}/{span}/{from}/{to}", get(polygon))
            .route("/api/v3/klines", get(binance))
            .route("/fapi/v1/fundingRate", get(binance_funding))
            .route("/futures/data/openInterestHist", get(binance_open_interest))
            .route("/v8/finance/chart/{symbol}", get(yahoo))
            .route("/time_series", get(twelvedata))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        *state.addr.lock().unwrap() = Some(addr);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Mock { addr, state }
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues faults for the next requests.
    pub(crate) fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.faults.lock().unwrap().extend(faults);
    }

    /// Moves the futures samples' times by these many ms (funding events, open interest
    /// observations).
    pub(crate) fn shift_futures(&self, funding_ms: i64, open_interest_ms: i64) {
        *self.state.futures_shift.lock().unwrap() = (funding_ms, open_interest_ms);
    }

    /// Makes BTCUSDT a spot-only pair: the futures endpoints refuse it as Binance refuses a
    /// symbol without a USD-M contract.
    pub(crate) fn without_perpetual(&self) {
        *self.state.no_perpetual.lock().unwrap() = true;
    }

    /// Every request seen so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// A config for `kind` pointing at the mock, with the mock's key, a fast rate limit, short
    /// timeouts and short backoff.
    pub(crate) fn config(&self, kind: ProviderKind) -> ProviderConfig {
        let mut c = ProviderConfig::defaults(kind);
        c.base_url = self.base_url().parse().unwrap();
        c.api_key = Some(KEY.to_owned());
        c.requests_per_minute = 60_000;
        c.timeout = Duration::from_millis(300);
        c.retry_base = Duration::from_millis(5);
        if c.futures_base_url.is_some() {
            c.futures_base_url = Some(self.base_url().parse().unwrap());
        }
        c
    }
}

/// A retry policy with millisecond waits for tests against the mock.
pub(crate) fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    }
}

/// The bytes of a sample under `testdata/api-samples/`.
pub(crate) fn sample(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/api-samples").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Records the request and applies the next fault; `Err` is the faulty answer to send.
async fn intake(
    state: &MockState,
    path: String,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<bool, Response> {
    state.seen.lock().unwrap().push(Seen {
        path,
        query: query.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    let fault = state.faults.lock().unwrap().pop_front();
    match fault {
        None => Ok(false),
        Some(Fault::Truncate) => Ok(true),
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            Ok(false)
        }
        Some(Fault::Status(code, retry_after)) => {
            let mut r =
                (StatusCode::from_u16(code).unwrap(), format!("mock fault {code}")).into_response();
            if let Some(v) = retry_after {
                r.headers_mut().insert("retry-after", HeaderValue::from_str(&v).unwrap());
            }
            Err(r)
        }
    }
}

fn json(
    status: StatusCode,
    body: Vec<u8>,
    truncate: bool,
    extra: &[(&'static str, &str)],
) -> Response {
    let body = if truncate { body[..body.len() / 2].to_vec() } else { body };
    let mut r = (status, body).into_response();
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    for (k, v) in extra {
        r.headers_mut().insert(*k, HeaderValue::from_str(v).unwrap());
    }
    r
}

fn bearer_ok(headers: &HeaderMap, scheme: &str) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("{scheme} {KEY}"))
}

async fn polygon(
    State(state): State<Arc<MockState>>,
    Path((ticker, _mult, span, from, to)): Path<(String, String, String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/v2/aggs/ticker/{ticker}/range/1/{span}/{from}/{to}");
    let truncate = match intake(&state, path, &q, &headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !bearer_ok(&headers, "Bearer") {
        // Polygon's real answer to a bad key.
        let body = br#"{"status":"ERROR","request_id":"a8c6b8e4a5d2","error":"Unknown API Key"}"#;
        return json(StatusCode::UNAUTHORIZED, body.to_vec(), false, &[]);
    }
    let body = match (ticker.as_str(), span.as_str(), from.as_str(), q.get("cursor")) {
        ("AAPL", "day", "2005-04-01", None) if to == "2005-04-04" => sample("polygon/2005-04-04.json"),
        ("AAPL", "day", "2024-12-30", None) => {
            sample("polygon/aggs_AAPL_1day_2024-12-30_2025-01-07_exponent_volume.json")
        }
        ("AAPL", "hour", _, None) => sample("polygon/aggs_AAPL_1hour_2024-04-29_delayed.json"),
        // Pagination: the docs example's first page, its next_url pointed back at the mock,
        // then the 2005 answer (no next_url) as the last page.
        ("AAPL", "day", "2005-04-01", None) => {
            let addr = state.addr.lock().unwrap().unwrap();
            String::from_utf8(sample("polygon/aggs_AAPL_1day_2020-01-02_paginated_next_url.json"))
                .unwrap()
                .replace("https://api.polygon.io", &format!("http://{addr}"))
                .into_bytes()
        }
        ("AAPL", "day", "1578114000000", Some(c)) if c == "bGltaXQ9MiZzb3J0PWFzYw" => {
            sample("polygon/2005-04-04.json")
        }
        // A loop: the cursor page points at itself.
        ("LOOP", "day", _, _) => {
            let addr = state.addr.lock().unwrap().unwrap();
            format!(
                r#"{{"ticker":"LOOP","queryCount":0,"resultsCount":0,"adjusted":true,"status":"OK","request_id":"x","next_url":"http://{addr}/v2/aggs/ticker/LOOP/range/1/day/1/2?cursor=same"}}"#
            )
            .into_bytes()
        }
        // Polygon answers an unknown ticker or an empty range with no results.
        (t, _, _, _) => format!(
            r#"{{"ticker":"{t}","queryCount":0,"resultsCount":0,"adjusted":true,"status":"OK","request_id":"6a7e466379af0a71039d60cc78e72282"}}"#
        )
        .into_bytes(),
    };
    json(StatusCode::OK, body, truncate, &[])
}

async fn binance(
    State(state): State<Arc<MockState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let truncate = match intake(&state, "/api/v3/klines".into(), &q, &headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let weight = [("x-mbx-used-weight-1m", "12")];
    match (q.get("symbol").map(String::as_str), q.get("interval").map(String::as_str)) {
        (Some("BTCUSDT"), Some("1m")) => {
            json(StatusCode::OK, sample("binance/http_spot_market_klines.json"), truncate, &weight)
        }
        (Some("BTCUSDT"), Some("1d")) => {
            json(StatusCode::OK, sample("binance/klines_response.json"), truncate, &weight)
        }
        _ => json(
            StatusCode::BAD_REQUEST,
            br#"{"code":-1121,"msg":"Invalid symbol."}"#.to_vec(),
            false,
            &weight,
        ),
    }
}

async fn yahoo(
    State(state): State<Arc<MockState>>,
    Path(symbol): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let truncate = match intake(&state, format!("/v8/finance/chart/{symbol}"), &q, &headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let interval = q.get("interval").map(String::as_str);
    let body = match (symbol.as_str(), interval) {
        ("AAPL", Some("1m")) => sample(
            "yahoo/chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json",
        ),
        ("AAPL", Some("1d")) => sample("yahoo/chart-AAPL-2020-01-01-to-2020-01-03.json"),
        ("BTC-USD", Some("1d")) => sample("yahoo/chart-BTC-USD-2020-01-01-to-2020-01-03.json"),
        ("EURUSD=X", Some("1d")) => sample("yahoo/chart-EURUSD=X-2020-01-01-to-2020-01-03.json"),
        _ => {
            // Yahoo's real answer for an unknown symbol.
            let body = br#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#;
            return json(StatusCode::NOT_FOUND, body.to_vec(), false, &[]);
        }
    };
    json(StatusCode::OK, body, truncate, &[])
}

async fn twelvedata(
    State(state): State<Arc<MockState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let truncate = match intake(&state, "/time_series".into(), &q, &headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let credits = [("api-credits-left", "7"), ("api-credits-used", "1")];
    if !bearer_ok(&headers, "apikey") {
        let body = br#"{"code":401,"message":"**apikey** parameter is incorrect or not specified. You can get your free API key instantly following this link: https://twelvedata.com/pricing.","status":"error"}"#;
        return json(StatusCode::UNAUTHORIZED, body.to_vec(), false, &[]);
    }
    let batch: serde_json::Value =
        serde_json::from_slice(&sample("twelvedata/batch_error.json")).unwrap();
    let body = match (q.get("symbol").map(String::as_str), q.get("interval").map(String::as_str)) {
        (Some("AAPL"), Some("1min")) => sample("twelvedata/time_series_AAPL_1min_2023-08-24.json"),
        (Some("AAPL"), Some("1day")) => serde_json::to_vec(&batch["AAPL"]).unwrap(),
        (Some("CREDITS"), _) => br#"{"code":429,"message":"You have run out of API credits for the current minute. 9 API credits were used, with the current limit being 8.","status":"error"}"#.to_vec(),
        // Twelve Data reports an unknown symbol inside an HTTP 200 answer.
        _ => serde_json::to_vec(&batch["INVALID"]).unwrap(),
    };
    json(StatusCode::OK, body, truncate, &credits)
}

/// The items of a futures sample whose time (`key`, shifted by `shift`) lies in the query's
/// `[startTime, endTime]`, at most `limit` of them, ascending: what Binance answers.
fn futures_items(
    rel: &str,
    key: &str,
    shift: i64,
    q: &HashMap<String, String>,
) -> Vec<serde_json::Value> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(&sample(rel)).unwrap();
    let bound = |k: &str, default: i64| q.get(k).map_or(default, |v| v.parse().unwrap());
    let (lo, hi) = (bound("startTime", i64::MIN), bound("endTime", i64::MAX));
    let limit = q.get("limit").map_or(usize::MAX, |v| v.parse().unwrap());
    items
        .into_iter()
        .filter_map(|mut item| {
            // The docs write the open interest `timestamp` as a string: keep its type.
            let t = match &item[key] {
                serde_json::Value::String(s) => s.parse::<i64>().unwrap() + shift,
                v => v.as_i64().unwrap() + shift,
            };
            item[key] = match &item[key] {
                serde_json::Value::String(_) => serde_json::Value::String(t.to_string()),
                _ => serde_json::Value::from(t),
            };
            (lo..=hi).contains(&t).then_some(item)
        })
        .take(limit)
        .collect()
}

async fn binance_futures(
    state: &MockState,
    path: &str,
    q: HashMap<String, String>,
    headers: HeaderMap,
    rel: &str,
    key: &str,
    shift: i64,
) -> Response {
    let truncate = match intake(state, path.into(), &q, &headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let weight = [("x-mbx-used-weight-1m", "3")];
    let perpetual = !*state.no_perpetual.lock().unwrap();
    if !perpetual || q.get("symbol").map(String::as_str) != Some("BTCUSDT") {
        // Binance's answer for a symbol without a USD-M contract.
        let body = br#"{"code":-1121,"msg":"Invalid symbol."}"#.to_vec();
        return json(StatusCode::BAD_REQUEST, body, false, &weight);
    }
    let items = futures_items(rel, key, shift, &q);
    json(StatusCode::OK, serde_json::to_vec(&items).unwrap(), truncate, &weight)
}

async fn binance_funding(
    State(state): State<Arc<MockState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let shift = state.futures_shift.lock().unwrap().0;
    let (rel, key) = ("binance/futures_funding_rate.json", "fundingTime");
    binance_futures(&state, "/fapi/v1/fundingRate", q, headers, rel, key, shift).await
}

async fn binance_open_interest(
    State(state): State<Arc<MockState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let shift = state.futures_shift.lock().unwrap().1;
    let (rel, key) = ("binance/futures_open_interest_hist.json", "timestamp");
    binance_futures(&state, "/futures/data/openInterestHist", q, headers, rel, key, shift).await
}
