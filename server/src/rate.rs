//! Per-client token buckets: a key (or, for public reads, a client address) may make
//! `burst` requests at once and `per_second` on average; beyond that it gets 429 with the
//! seconds to wait.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::RateLimit;

/// Buckets kept for anonymous addresses before idle (full) ones are dropped.
const MAX_ANONYMOUS_BUCKETS: usize = 10_000;

/// Whose bucket a request draws from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Client {
    /// A configured key (index into the key list).
    Key(usize),
    /// An anonymous caller by address (`None` when the transport gives none).
    Address(Option<IpAddr>),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every client.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<Client, Bucket>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `client`, or says how long until one is available.
    pub(crate) fn check(&self, client: &Client) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: &Client, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst);
        let mut buckets = self.buckets.lock();
        if buckets.len() >= MAX_ANONYMOUS_BUCKETS && !buckets.contains_key(client) {
            let rate = self.limit.per_second;
            buckets.retain(|c, b| {
                matches!(c, Client::Key(_))
                    || b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(client.clone()).or_insert(Bucket { tokens: burst, at: now });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limit.per_second).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.limit.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let l = Limiter::new(RateLimit { per_second: 2.0, burst: 3 });
        let t0 = Instant::now();
        let k = Client::Key(0);
        for _ in 0..3 {
            assert_eq!(l.check_at(&k, t0), Ok(()));
        }
        let wait = l.check_at(&k, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        // Another client has its own bucket.
        assert_eq!(l.check_at(&Client::Key(1), t0), Ok(()));
        assert_eq!(l.check_at(&k, t0 + Duration::from_millis(500)), Ok(()));
        assert!(l.check_at(&k, t0 + Duration::from_millis(500)).is_err());
    }
}
