//! A local Polygon-shaped vendor that generates daily bars for any ticker and range (one bar
//! per NYSE session, New York midnight stamps as Polygon sends them), counts requests, and
//! fails on demand: every request after the first N, or always for given tickers; answers
//! after a delay when asked to (the CLI's kill -9 test includes this file).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use candlestore_ingest::{
    Calendar, Connector, Connectors, ProviderKind, ProvidersConfig, RetryPolicy,
};
use chrono::NaiveDate;
use chrono_tz::America::New_York;

#[derive(Debug, Default)]
pub(crate) struct VendorState {
    requests: AtomicUsize,
    fail_after: Mutex<Option<usize>>,
    failing: Mutex<HashSet<String>>,
    seen: Mutex<Vec<(String, String, String)>>,
    delay: Mutex<Duration>,
}

/// A running generator vendor.
#[derive(Debug, Clone)]
pub(crate) struct Vendor {
    base_url: String,
    state: Arc<VendorState>,
}

impl Vendor {
    pub(crate) async fn start() -> Vendor {
        let state = Arc::new(VendorState::default());
        let app = Router::new()
            .route("/v2/aggs/ticker/{ticker}/range/{mult}/{span}/{from}/{to}", get(aggs))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Vendor { base_url: format!("http://{addr}"), state }
    }

    /// The base URL to point a connector at.
    #[allow(dead_code)] // Used by tools/tests/backfill_kill9.rs, which includes this file.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every answer waits `delay` first.
    #[allow(dead_code)] // Used by tools/tests/backfill_kill9.rs.
    pub(crate) fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    /// Requests with index >= `n` (0-based, counted from now on) answer 500.
    pub(crate) fn fail_after(&self, n: usize) {
        *self.state.fail_after.lock().unwrap() = Some(self.requests() + n);
    }

    pub(crate) fn heal(&self) {
        *self.state.fail_after.lock().unwrap() = None;
        self.state.failing.lock().unwrap().clear();
    }

    /// `ticker` always answers 500.
    pub(crate) fn fail_ticker(&self, ticker: &str) {
        self.state.failing.lock().unwrap().insert(ticker.to_owned());
    }

    pub(crate) fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// (ticker, from, to) of every request.
    pub(crate) fn seen(&self) -> Vec<(String, String, String)> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Connectors with every provider pointed at this vendor (nothing reaches the internet)
    /// and millisecond retries.
    pub(crate) fn connectors(&self) -> Connectors {
        let mut config = ProvidersConfig::default();
        for kind in ProviderKind::ALL {
            let c = config.get_mut(kind);
            c.base_url = self.base_url.parse().unwrap();
            c.api_key = Some("test-key".to_owned());
            c.requests_per_minute = 600_000;
            c.timeout = Duration::from_secs(5);
        }
        let policy = RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(1),
        };
        let mut all = Connectors::new(&config).unwrap();
        for kind in ProviderKind::ALL {
            all = all.with_connector(
                Connector::new(kind, config.get(kind)).unwrap().with_retry_policy(policy),
            );
        }
        all
    }
}

/// The generated close of `ticker` on `date` (deterministic, so re-runs compare equal).
pub(crate) fn close(ticker: &str, date: NaiveDate) -> f64 {
    let seed: u32 = ticker.bytes().map(u32::from).sum();
    100.0
        + f64::from(seed % 50)
        + f64::from(date.format("%j").to_string().parse::<u32>().unwrap()) / 10.0
}

async fn aggs(
    State(state): State<Arc<VendorState>>,
    Path((ticker, _mult, _span, from, to)): Path<(String, String, String, String, String)>,
) -> Response {
    let n = state.requests.fetch_add(1, Ordering::SeqCst);
    state.seen.lock().unwrap().push((ticker.clone(), from.clone(), to.clone()));
    let delay = *state.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let limit = *state.fail_after.lock().unwrap();
    if limit.is_some_and(|l| n >= l) || state.failing.lock().unwrap().contains(&ticker) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "mock vendor down").into_response();
    }
    let (Ok(from), Ok(to)) = (from.parse::<NaiveDate>(), to.parse::<NaiveDate>()) else {
        return (StatusCode::BAD_REQUEST, "bad dates").into_response();
    };
    let results: Vec<serde_json::Value> = Calendar::Nyse
        .sessions(from, to)
        .unwrap()
        .iter()
        .map(|s| {
            let t = s
                .date
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_local_timezone(New_York)
                .unwrap()
                .timestamp_millis();
            let c = close(&ticker, s.date);
            serde_json::json!({"v": 1000.0, "vw": c, "o": c - 1.0, "c": c, "h": c + 2.0,
                               "l": c - 2.0, "t": t, "n": 10})
        })
        .collect();
    let body = serde_json::json!({"ticker": ticker, "queryCount": results.len(),
        "resultsCount": results.len(), "adjusted": true, "results": results,
        "status": "OK", "request_id": format!("r{n}")});
    (StatusCode::OK, [("content-type", "application/json")], body.to_string()).into_response()
}
