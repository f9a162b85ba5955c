//! Vendor connectors: async HTTP clients for Polygon, Binance, Yahoo and Twelve Data that
//! return validated bars as Arrow batches, behind a per-provider rate limiter, retry policy and
//! circuit breaker, with fallback along a priority chain.

pub(crate) mod bars;
pub(crate) mod binance;
pub(crate) mod binance_futures;
pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod connector;
pub(crate) mod error;
pub(crate) mod fallback;
pub(crate) mod fetched;
pub(crate) mod polygon;
pub(crate) mod request;
pub(crate) mod resilience;
pub(crate) mod session;
pub(crate) mod twelvedata;
pub(crate) mod yahoo;

#[cfg(test)]
impl connector::Run {
    /// A fresh run for parser tests, with "now" at `now` µs.
    pub(crate) fn for_test(request: &request::FetchRequest, now: i64) -> Self {
        Self {
            counters: resilience::Counters::default(),
            pages: 0,
            quota: None,
            vendor_status: None,
            warnings: Vec::new(),
            collected: bars::Collected::new(request, now),
        }
    }
}
