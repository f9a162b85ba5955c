//! Request metrics in Prometheus text format: requests by route and status, latency
//! histograms by route, rows and bytes served by format, aborted streams and rate-limited
//! requests; `/metrics` adds the store's gauges.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;

use std::sync::Arc;

use crate::state::AppState;

/// Upper bounds (seconds) of the latency buckets.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (bound, c) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if secs <= *bound {
                *c += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// Counters shared by every request.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    rows: Mutex<BTreeMap<&'static str, u64>>,
    aborted_streams: AtomicU64,
    rate_limited: AtomicU64,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        *self.requests.lock().entry((route.to_owned(), method.to_owned(), status)).or_default() +=
            1;
        self.latency.lock().entry(route.to_owned()).or_default().observe(elapsed.as_secs_f64());
    }

    /// Counts rows written in `format` (called as a stream ends, whole or not).
    pub(crate) fn rows_served(&self, format: &'static str, rows: u64) {
        *self.rows.lock().entry(format).or_default() += rows;
    }

    /// Counts a response body aborted by an error mid-stream.
    pub(crate) fn stream_aborted(&self) {
        self.aborted_streams.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request answered 429.
    pub(crate) fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// The request metrics as Prometheus text.
    pub(crate) fn render(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP candlestore_http_requests_total HTTP requests by route, method and status."
        )?;
        writeln!(out, "# TYPE candlestore_http_requests_total counter")?;
        for ((route, method, status), n) in self.requests.lock().iter() {
            writeln!(
                out,
                "candlestore_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(route)
            )?;
        }
        writeln!(
            out,
            "# HELP candlestore_http_request_duration_seconds Time to the response head (streamed bodies continue after it)."
        )?;
        writeln!(out, "# TYPE candlestore_http_request_duration_seconds histogram")?;
        for (route, h) in self.latency.lock().iter() {
            let route = escape(route);
            for (bound, c) in BUCKETS.iter().zip(h.counts.iter()) {
                writeln!(
                    out,
                    "candlestore_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {c}"
                )?;
            }
            writeln!(
                out,
                "candlestore_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            )?;
            writeln!(
                out,
                "candlestore_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            )?;
            writeln!(
                out,
                "candlestore_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            )?;
        }
        writeln!(
            out,
            "# HELP candlestore_rows_served_total Bar rows written to responses, by format."
        )?;
        writeln!(out, "# TYPE candlestore_rows_served_total counter")?;
        for (format, n) in self.rows.lock().iter() {
            writeln!(out, "candlestore_rows_served_total{{format=\"{format}\"}} {n}")?;
        }
        writeln!(
            out,
            "# HELP candlestore_stream_aborts_total Response bodies cut by an error mid-stream."
        )?;
        writeln!(out, "# TYPE candlestore_stream_aborts_total counter")?;
        writeln!(
            out,
            "candlestore_stream_aborts_total {}",
            self.aborted_streams.load(Ordering::Relaxed)
        )?;
        writeln!(out, "# HELP candlestore_rate_limited_total Requests answered 429.")?;
        writeln!(out, "# TYPE candlestore_rate_limited_total counter")?;
        writeln!(
            out,
            "candlestore_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        )?;
        Ok(())
    }
}

/// A label value with `\`, `"` and newlines escaped.
pub(crate) fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Records every request: the matched route pattern (never the raw path, so labels stay
/// few), the method, the status and the time to the response head.
pub(crate) async fn track(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    state.metrics.record(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("GET", "/api/v1/bars/{table}/{symbol}", 200, Duration::from_micros(1500));
        m.record("GET", "/api/v1/bars/{table}/{symbol}", 200, Duration::from_millis(30));
        m.record("GET", "/api/v1/bars/{table}/{symbol}", 404, Duration::from_micros(100));
        m.rows_served("json", 10);
        m.rows_served("json", 5);
        m.stream_aborted();
        let mut out = String::new();
        m.render(&mut out).unwrap();
        let has = |line: &str| out.lines().any(|l| l == line);
        assert!(
            has(
                "candlestore_http_requests_total{route=\"/api/v1/bars/{table}/{symbol}\",method=\"GET\",status=\"200\"} 2"
            ),
            "{out}"
        );
        assert!(
            has(
                "candlestore_http_request_duration_seconds_bucket{route=\"/api/v1/bars/{table}/{symbol}\",le=\"0.002\"} 2"
            ),
            "{out}"
        );
        assert!(
            has(
                "candlestore_http_request_duration_seconds_bucket{route=\"/api/v1/bars/{table}/{symbol}\",le=\"+Inf\"} 3"
            ),
            "{out}"
        );
        assert!(has("candlestore_rows_served_total{format=\"json\"} 15"), "{out}");
        assert!(has("candlestore_stream_aborts_total 1"), "{out}");
        assert_eq!(escape("a\"b\\"), "a\\\"b\\\\");
    }
}
