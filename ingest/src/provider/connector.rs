//! One provider's client: the HTTP request with its resilience, and the fetch that turns the
//! vendor's pages into a [`Fetched`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use tokio::time::Instant;

use crate::provider::bars::Collected;
use crate::provider::clock::{Clock, SystemClock};
use crate::provider::config::ProviderConfig;
use crate::provider::error::FetchError;
use crate::provider::fetched::{FetchMeta, Fetched, Quota, QuotaKind};
use crate::provider::request::{FetchRequest, ProviderKind};
use crate::provider::resilience::{
    AttemptError, BreakerState, CircuitBreaker, Counters, RateLimiter, Resilience, RetryPolicy,
    parse_retry_after,
};
use crate::provider::{binance, binance_futures, polygon, twelvedata, yahoo};

/// Longest excerpt of an unparseable error body quoted in an error message.
const BODY_EXCERPT: usize = 200;

/// An async client for one vendor, with its own rate limiter, retry policy and circuit breaker.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use candlestore_ingest::{Connector, FetchRequest, ProviderConfig, ProviderKind, Timeframe};
///
/// let config = ProviderConfig::defaults(ProviderKind::Binance);
/// let binance = Connector::new(ProviderKind::Binance, &config)?;
/// let day = "2024-01-02".parse()?;
/// let fetched = binance
///     .fetch(&FetchRequest::new("BTC", "BTCUSDT", Timeframe::Minute1, day, day))
///     .await?;
/// println!("{}", fetched.meta);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Connector {
    kind: ProviderKind,
    config: ProviderConfig,
    client: reqwest::Client,
    resilience: Resilience,
    clock: Arc<dyn Clock>,
}

/// One HTTP answer that passed the status checks.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) body: Bytes,
}

/// The state of one fetch across its pages.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) counters: Counters,
    pub(crate) pages: u32,
    pub(crate) quota: Option<Quota>,
    pub(crate) vendor_status: Option<String>,
    pub(crate) warnings: Vec<String>,
    pub(crate) collected: Collected,
}

impl Run {
    /// Adds a warning once.
    pub(crate) fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }
}

impl Connector {
    /// A connector for `kind` with `config`, on the system clock.
    pub fn new(kind: ProviderKind, config: &ProviderConfig) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("candlestore/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| FetchError::Client { provider: kind, source })?;
        let policy = RetryPolicy {
            max_retries: config.max_retries,
            base_delay: config.retry_base,
            ..RetryPolicy::default()
        };
        let resilience = Resilience::new(
            kind,
            RateLimiter::per_minute(config.requests_per_minute, 1),
            CircuitBreaker::new(config.breaker_failures, config.breaker_cooldown),
            policy,
        );
        Ok(Self { kind, config: config.clone(), client, resilience, clock: Arc::new(SystemClock) })
    }

    /// Uses `clock` for "now" (which bars have closed; `Retry-After` dates).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the retry policy built from the config.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.resilience.policy = policy;
        self
    }

    /// Seeds the backoff jitter (tests, reproducible runs).
    pub fn with_jitter_seed(self, seed: u64) -> Self {
        self.resilience.seed(seed);
        self
    }

    /// The provider.
    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// The settings in use.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.resilience.policy
    }

    /// The state of this provider's circuit breaker.
    pub fn breaker_state(&self) -> BreakerState {
        self.resilience.breaker.state()
    }

    /// Fetches every bar of `request`: all pages, or an error and nothing.
    pub async fn fetch(&self, request: &FetchRequest) -> Result<Fetched, FetchError> {
        request.validate(self.kind)?;
        let started = Instant::now();
        let now = self.clock.now().timestamp_micros();
        let mut run = Run {
            counters: Counters::default(),
            pages: 0,
            quota: None,
            vendor_status: None,
            warnings: Vec::new(),
            collected: Collected::new(request, now),
        };
        match self.kind {
            ProviderKind::Polygon => polygon::fetch(self, request, &mut run).await?,
            ProviderKind::Binance => binance::fetch(self, request, &mut run).await?,
            ProviderKind::Yahoo => yahoo::fetch(self, request, &mut run).await?,
            ProviderKind::TwelveData => twelvedata::fetch(self, request, &mut run).await?,
        }
        let outside_range = run.collected.outside_range;
        let (batch, extras, rejects, incomplete) =
            // Taken out of `run`, which the futures requests below still count into.
            std::mem::replace(&mut run.collected, Collected::new(request, now))
                .finish(&request.symbol)
                .map_err(|source| FetchError::Arrow {
                provider: self.kind,
                symbol: request.provider_symbol.clone(),
                source,
            })?;
        // Binance USD-M futures columns, asked for by the request or the config.
        let batch =
            if self.kind == ProviderKind::Binance && (request.futures || self.config.futures) {
                let now_ms = now.div_euclid(1000);
                binance_futures::attach_futures(self, request, batch, now_ms, &mut run).await?
            } else {
                batch
            };
        let meta = FetchMeta {
            provider: self.kind,
            symbol: request.symbol.clone(),
            provider_symbol: request.provider_symbol.clone(),
            timeframe: request.timeframe,
            rows: batch.num_rows(),
            pages: run.pages,
            requests: run.counters.requests,
            retries: run.counters.retries,
            latency: started.elapsed(),
            quota: run.quota,
            vendor_status: run.vendor_status,
            outside_range,
            warnings: run.warnings,
            fallback_failures: Vec::new(),
        };
        Ok(Fetched { batch, extras, incomplete, rejects, meta })
    }

    /// The API key, or the error saying how to configure one.
    pub(crate) fn api_key(&self) -> Result<&str, FetchError> {
        self.config.api_key.as_deref().ok_or(FetchError::MissingApiKey { provider: self.kind })
    }

    /// `base_url` with `segments` appended (each percent-encoded: `EURUSD=X`, `X:BTCUSD`).
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.config.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `futures_base_url` with `segments` appended (Binance USD-M futures).
    pub(crate) fn futures_endpoint(&self, segments: &[&str]) -> Result<Url, FetchError> {
        let mut url =
            self.config.futures_base_url.clone().ok_or_else(|| FetchError::InvalidRequest {
                provider: self.kind,
                symbol: String::new(),
                detail: "no futures_base_url configured".into(),
            })?;
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        Ok(url)
    }

    /// A vendor's pagination link with its origin and path prefix replaced by `base_url`, so a
    /// proxy or test server configured as the base also serves the following pages.
    pub(crate) fn rebase(&self, link: &str, symbol: &str, page: u32) -> Result<Url, FetchError> {
        let parsed =
            Url::parse(link).or_else(|_| self.config.base_url.join(link)).map_err(|e| {
                FetchError::Malformed {
                    provider: self.kind,
                    symbol: symbol.to_owned(),
                    page,
                    detail: format!("next_url {link:?} is not a URL: {e}"),
                }
            })?;
        let mut url = self.config.base_url.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{}", parsed.path()));
        url.set_query(parsed.query());
        Ok(url)
    }

    /// GETs `url` under the rate limiter, retry policy and breaker; counts into `run`.
    pub(crate) async fn get(
        &self,
        url: &Url,
        symbol: &str,
        run: &mut Run,
    ) -> Result<Response, FetchError> {
        let mut headers_seen = None;
        let result =
            self.resilience.run(symbol, &mut run.counters, || self.attempt(url, symbol)).await.map(
                |(response, headers)| {
                    headers_seen = Some(headers);
                    response
                },
            );
        if let Some(h) = headers_seen {
            run.quota = quota(self.kind, &h).or(run.quota);
        }
        result
    }

    async fn attempt(
        &self,
        url: &Url,
        symbol: &str,
    ) -> Result<(Response, HeaderMap), AttemptError> {
        let mut request = self.client.get(url.clone());
        // Keys travel in headers, never in the URL, so URLs can be quoted in errors and logs.
        match (self.kind, self.config.api_key.as_deref()) {
            (ProviderKind::Polygon, Some(key)) => request = request.bearer_auth(key),
            (ProviderKind::TwelveData, Some(key)) => {
                request = request.header("Authorization", format!("apikey {key}"));
            }
            (ProviderKind::Binance, Some(key)) => request = request.header("X-MBX-APIKEY", key),
            _ => {}
        }
        let where_ = url.path();
        let response =
            request.send().await.map_err(|e| transport(&e, where_, self.config.timeout))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body =
            response.bytes().await.map_err(|e| transport(&e, where_, self.config.timeout))?;
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        if matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::IM_A_TEAPOT)
            || status.is_server_error()
        {
            return Err(AttemptError::Transient {
                reason: format!("HTTP {} from {where_}: {}", status.as_u16(), excerpt(&body)),
                retry_after,
            });
        }
        if !status.is_success() {
            return Err(AttemptError::Fatal(self.vendor_error(status.as_u16(), &body, symbol)));
        }
        // Twelve Data reports running out of credits inside a 200 answer.
        if self.kind == ProviderKind::TwelveData
            && let Some(reason) = twelvedata::body_rate_limited(&body)
        {
            return Err(AttemptError::Transient { reason, retry_after });
        }
        Ok((Response { body }, headers))
    }

    /// The error for a non-retryable, non-2xx answer, read from the vendor's error shape.
    fn vendor_error(&self, status: u16, body: &[u8], symbol: &str) -> FetchError {
        let parsed = match self.kind {
            ProviderKind::Polygon => polygon::error_for(status, body, symbol),
            ProviderKind::Binance => binance::error_for(status, body, symbol),
            ProviderKind::Yahoo => yahoo::error_for(status, body, symbol),
            ProviderKind::TwelveData => twelvedata::error_for(status, body, symbol),
        };
        parsed.unwrap_or_else(|| FetchError::Vendor {
            provider: self.kind,
            symbol: symbol.to_owned(),
            status,
            code: None,
            message: excerpt(body),
        })
    }
}

/// The start of a body, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(BODY_EXCERPT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None if text.is_empty() => "(empty body)".to_owned(),
        None => text.to_owned(),
    }
}

/// Transport failures (timeouts, refused or dropped connections, bodies cut off) are transient.
fn transport(e: &reqwest::Error, where_: &str, timeout: Duration) -> AttemptError {
    let what = if e.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_body() || e.is_decode() {
        "the response body was cut off".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    AttemptError::Transient { reason: format!("{what} ({where_}): {detail}"), retry_after: None }
}

/// The quota header each vendor sends.
fn quota(kind: ProviderKind, headers: &HeaderMap) -> Option<Quota> {
    let (header, kind) = match kind {
        ProviderKind::Binance => ("x-mbx-used-weight-1m", QuotaKind::Used),
        ProviderKind::TwelveData => ("api-credits-left", QuotaKind::Remaining),
        ProviderKind::Polygon | ProviderKind::Yahoo => return None,
    };
    let value = headers.get(header)?.to_str().ok()?.trim().parse().ok()?;
    Some(Quota { header, kind, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(base: &str) -> Connector {
        let mut config = ProviderConfig::defaults(ProviderKind::Polygon);
        config.base_url = Url::parse(base).unwrap();
        Connector::new(ProviderKind::Polygon, &config).unwrap()
    }

    #[test]
    fn endpoints_encode_symbols_and_keep_a_path_prefix() {
        let c = connector("http://127.0.0.1:9/proxy/polygon/");
        let url = c.endpoint(&["v2", "aggs", "ticker", "X:BTC USD", "range"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/proxy/polygon/v2/aggs/ticker/X:BTC%20USD/range"
        );
        let c = connector("https://api.polygon.io");
        assert_eq!(c.endpoint(&["v8", "EURUSD=X"]).as_str(), "https://api.polygon.io/v8/EURUSD=X");
    }

    #[test]
    fn next_urls_are_rebased_onto_the_configured_base() {
        let c = connector("http://127.0.0.1:9/p");
        let next = "https://api.polygon.io/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10?cursor=bGltaXQ9MiZzb3J0PWFzYw";
        assert_eq!(
            c.rebase(next, "AAPL", 1).unwrap().as_str(),
            "http://127.0.0.1:9/p/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10?cursor=bGltaXQ9MiZzb3J0PWFzYw"
        );
        assert_eq!(
            c.rebase("/v2/x?a=1", "AAPL", 1).unwrap().as_str(),
            "http://127.0.0.1:9/p/v2/x?a=1"
        );
    }

    #[test]
    fn fetch_futures_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        fn assert_sync<T: Send + Sync>() {}
        assert_sync::<Connector>();
        assert_sync::<crate::Connectors>();
        let c = connector("http://127.0.0.1:9");
        let day = chrono::NaiveDate::from_ymd_opt(2020, 1, 2).unwrap();
        let req = FetchRequest::new("A", "A", crate::Timeframe::Day1, day, day);
        // Never polled: only its type matters (a backfill spawns fetches on a multi-thread
        // runtime).
        assert_send(&c.fetch(&req));
    }

    #[test]
    fn quota_headers_and_excerpts() {
        let mut h = HeaderMap::new();
        h.insert("x-mbx-used-weight-1m", "41".parse().unwrap());
        h.insert("api-credits-left", "7".parse().unwrap());
        assert_eq!(
            quota(ProviderKind::Binance, &h).unwrap().to_string(),
            "41 used (x-mbx-used-weight-1m)"
        );
        assert_eq!(quota(ProviderKind::TwelveData, &h).unwrap().value, 7);
        assert_eq!(quota(ProviderKind::Yahoo, &h), None);
        assert_eq!(excerpt(b"  "), "(empty body)");
        assert!(excerpt("x".repeat(500).as_bytes()).ends_with("..."));
    }
}
