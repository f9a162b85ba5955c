//! Backfill speed against a rate-limited vendor (issue 4): `--symbols` symbols × `--years`
//! years of daily bars from a local Polygon-shaped vendor that answers after `--latency-ms`
//! and enforces `--rate` requests per second itself (a token bucket of 5; beyond it 429 with
//! `Retry-After: 1`), while the client's rate limiter is configured to the same rate. Reports
//! the achieved request rate against the allowed one (the target is ≥ 90 %), the 429s, and
//! the peak RSS of the process (vendor included: it runs in-process on the same runtime).
//!
//! `backfillbench [--symbols 500] [--years 5] [--latency-ms 2] [--rate 50]
//!  [--concurrency 16] [--work DIR] [--json out.json]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use candlestore::Store;
use candlestore_benches::peak_rss_bytes;
use candlestore_ingest::{
    Backfill, BackfillSpec, Calendar, Connectors, ProviderKind, ProvidersConfig,
};
use chrono::NaiveDate;
use chrono_tz::America::New_York;
use serde_json::json;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn num<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    arg(args, name)
        .map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} {v:?} is not a number")))
}

/// The vendor's own limit: a token bucket refilled at `rate` per second.
struct Vendor {
    latency: Duration,
    rate: f64,
    bucket: parking_lot::Mutex<(f64, Instant)>,
    served: AtomicU64,
    refused: AtomicU64,
    first: parking_lot::Mutex<Option<Instant>>,
    last: parking_lot::Mutex<Option<Instant>>,
}

const BUCKET: f64 = 5.0;

impl Vendor {
    fn admit(&self) -> bool {
        let mut b = self.bucket.lock();
        let now = Instant::now();
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * self.rate).min(BUCKET);
        b.1 = now;
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn aggs(
    State(v): State<Arc<Vendor>>,
    Path((ticker, _mult, _span, from, to)): Path<(String, String, String, String, String)>,
) -> Response {
    tokio::time::sleep(v.latency).await;
    if !v.admit() {
        v.refused.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "rate limit")
            .into_response();
    }
    let now = Instant::now();
    v.first.lock().get_or_insert(now);
    *v.last.lock() = Some(now);
    v.served.fetch_add(1, Ordering::Relaxed);
    let (Ok(from), Ok(to)) = (from.parse::<NaiveDate>(), to.parse::<NaiveDate>()) else {
        return (StatusCode::BAD_REQUEST, "bad dates").into_response();
    };
    let seed = f64::from(ticker.bytes().map(u32::from).sum::<u32>() % 50);
    let sessions = Calendar::Nyse.sessions(from, to).unwrap_or_default();
    let results: Vec<serde_json::Value> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let t = s
                .date
                .and_hms_opt(0, 0, 0)
                .and_then(|d| d.and_local_timezone(New_York).single())
                .map_or(0, |d| d.timestamp_millis());
            let c = 50.0 + seed + (i as f64 * 0.37).sin() * 5.0;
            json!({"v": 1000.0 + i as f64, "vw": c, "o": c - 0.5, "c": c, "h": c + 1.0,
                   "l": c - 1.0, "t": t, "n": 10})
        })
        .collect();
    let body = json!({"ticker": ticker, "queryCount": results.len(),
        "resultsCount": results.len(), "adjusted": true, "results": results, "status": "OK",
        "request_id": "bench"});
    (StatusCode::OK, [("content-type", "application/json")], body.to_string()).into_response()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let symbols: usize = num(&args, "--symbols", 500);
    let years: i32 = num(&args, "--years", 5);
    let latency = Duration::from_millis(num(&args, "--latency-ms", 2));
    let rate: f64 = num(&args, "--rate", 50.0);
    let concurrency: usize = num(&args, "--concurrency", 16);
    let work = arg(&args, "--work").unwrap_or_else(|| "/tmp/candlestore-backfillbench".into());
    let work = std::path::PathBuf::from(work);
    let _ = std::fs::remove_dir_all(&work);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let vendor = Arc::new(Vendor {
        latency,
        rate,
        bucket: parking_lot::Mutex::new((BUCKET, Instant::now())),
        served: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        first: parking_lot::Mutex::new(None),
        last: parking_lot::Mutex::new(None),
    });
    let addr = runtime.block_on(async {
        let app = Router::new()
            .route("/v2/aggs/ticker/{ticker}/range/{mult}/{span}/{from}/{to}", get(aggs))
            .with_state(vendor.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    let mut config = ProvidersConfig::default();
    let polygon = config.get_mut(ProviderKind::Polygon);
    polygon.base_url = format!("http://{addr}").parse().expect("url");
    polygon.api_key = Some("bench".into());
    polygon.requests_per_minute = (rate * 60.0).round() as u32;
    let store = Store::open(&work).expect("store");
    let backfill = Backfill::new(store.clone(), Connectors::new(&config).expect("connectors"));
    let end = NaiveDate::from_ymd_opt(2023, 12, 29).expect("date");
    let start = NaiveDate::from_ymd_opt(2023 - years + 1, 1, 2).expect("date");
    let spec = BackfillSpec {
        table: "stocks_daily".into(),
        symbols: (0..symbols).map(|i| format!("S{i:04}")).collect(),
        start,
        end,
        source: Some(ProviderKind::Polygon),
        concurrency,
    };
    let t0 = Instant::now();
    let summary = runtime.block_on(backfill.run(&spec, |_| {})).expect("backfill");
    let wall = t0.elapsed().as_secs_f64();
    let served = vendor.served.load(Ordering::Relaxed);
    let refused = vendor.refused.load(Ordering::Relaxed);
    let window = match (*vendor.first.lock(), *vendor.last.lock()) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    // n requests spaced at 1/rate take (n - 1)/rate: the achieved rate over that window.
    let achieved = if window > 0.0 { (served.saturating_sub(1)) as f64 / window } else { 0.0 };
    let achieved_wall = served as f64 / wall;
    let rss = peak_rss_bytes().map_or(0.0, |b| b as f64 / (1 << 20) as f64);
    let report = json!({
        "symbols": symbols, "years": years, "latency_ms": latency.as_millis() as u64,
        "allowed_rate": rate, "concurrency": concurrency,
        "ok": summary.ok(), "failed": summary.failed(), "bars_written": summary.bars_written(),
        "requests_served": served, "requests_429": refused, "client_retries": summary.retries(),
        "wall_seconds": wall, "request_window_seconds": window,
        "achieved_rate": achieved, "achieved_rate_of_allowed": achieved / rate,
        "achieved_rate_wall": achieved_wall, "achieved_rate_wall_of_allowed": achieved_wall / rate,
        "peak_rss_mib": rss,
    });
    println!(
        "backfill {symbols} symbols x {years} y daily: {} ok, {} failed, {} bars in {wall:.2} s; \
         {served} requests ({refused} answered 429), {achieved:.2} req/s over the request \
         window = {:.1}% of {rate}/s ({:.1}% over the whole run incl. planning and the final \
         flush); peak RSS {rss:.0} MiB",
        summary.ok(),
        summary.failed(),
        summary.bars_written(),
        100.0 * achieved / rate,
        100.0 * achieved_wall / rate
    );
    if let Some(path) = arg(&args, "--json") {
        std::fs::write(&path, report.to_string()).expect("write --json");
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&work);
}
