//! Resilience around each request: rate limiting, retries with backoff, a circuit breaker.

mod breaker;
mod rate_limit;
mod retry;

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;

pub use breaker::{BreakerState, CircuitBreaker};
pub use rate_limit::RateLimiter;
pub use retry::{RetryPolicy, parse_retry_after};

use crate::provider::error::FetchError;
use crate::provider::request::ProviderKind;

/// The outcome of one failed attempt.
#[derive(Debug)]
pub(crate) enum AttemptError {
    /// Worth retrying: 429, 5xx, timeout, connection error.
    Transient {
        /// What happened, for the final error message.
        reason: String,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// Final: retrying cannot help (4xx, unknown symbol, malformed body).
    Fatal(FetchError),
}

/// Requests sent and retries made, accumulated over the pages of one fetch.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    pub(crate) requests: u32,
    pub(crate) retries: u32,
}

/// The rate limiter, retry policy and breaker of one provider.
#[derive(Debug)]
pub(crate) struct Resilience {
    pub(crate) provider: ProviderKind,
    pub(crate) limiter: RateLimiter,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) policy: RetryPolicy,
    rng: Mutex<StdRng>,
}

impl Resilience {
    pub(crate) fn new(
        provider: ProviderKind,
        limiter: RateLimiter,
        breaker: CircuitBreaker,
        policy: RetryPolicy,
    ) -> Self {
        Self { provider, limiter, breaker, policy, rng: Mutex::new(StdRng::from_os_rng()) }
    }

    /// Seeds the jitter, so a test sees the same waits every run.
    pub(crate) fn seed(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = StdRng::seed_from_u64(seed);
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries are used up.
    ///
    /// Each attempt first asks the breaker, then waits for the rate limiter. A transient
    /// failure counts against the breaker; any answer from the provider (even a final error)
    /// counts as the provider being up.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        symbol: &str,
        counters: &mut Counters,
        mut attempt: F,
    ) -> Result<T, FetchError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AttemptError>>,
    {
        let mut retry = 0u32;
        loop {
            if let Err(retry_in) = self.breaker.try_acquire() {
                return Err(FetchError::CircuitOpen { provider: self.provider, retry_in });
            }
            self.limiter.acquire().await;
            counters.requests += 1;
            let (reason, retry_after) = match attempt().await {
                Ok(v) => {
                    self.breaker.record_success();
                    return Ok(v);
                }
                Err(AttemptError::Fatal(e)) => {
                    self.breaker.record_success();
                    return Err(e);
                }
                Err(AttemptError::Transient { reason, retry_after }) => {
                    self.breaker.record_failure();
                    (reason, retry_after)
                }
            };
            if retry >= self.policy.max_retries {
                return Err(FetchError::RetriesExhausted {
                    provider: self.provider,
                    symbol: symbol.to_owned(),
                    attempts: retry + 1,
                    last: reason,
                });
            }
            let wait = match retry_after {
                Some(wait) if wait > self.policy.max_retry_after => {
                    return Err(FetchError::RetryAfterTooLong {
                        provider: self.provider,
                        symbol: symbol.to_owned(),
                        wait,
                        max: self.policy.max_retry_after,
                    });
                }
                Some(wait) => wait,
                None => {
                    let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
                    self.policy.backoff(retry, &mut *rng)
                }
            };
            tokio::time::sleep(wait).await;
            retry += 1;
            counters.retries += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::time::Instant;

    use super::*;

    fn resilience(max_retries: u32, threshold: u32) -> Resilience {
        let r = Resilience::new(
            ProviderKind::Polygon,
            RateLimiter::per_minute(6000, 100),
            CircuitBreaker::new(threshold, Duration::from_secs(60)),
            RetryPolicy {
                max_retries,
                base_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(8),
                max_retry_after: Duration::from_secs(30),
            },
        );
        r.seed(1);
        r
    }

    fn transient(retry_after: Option<u64>) -> AttemptError {
        AttemptError::Transient {
            reason: "HTTP 503".into(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_with_bounded_backoff() {
        let r = resilience(3, 10);
        let calls = AtomicU32::new(0);
        let mut c = Counters::default();
        let t0 = Instant::now();
        let v = r
            .run("AAPL", &mut c, || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0..=2 => Err(transient(None)),
                    _ => Ok(42),
                }
            })
            .await
            .unwrap();
        assert_eq!(v, 42);
        assert_eq!((c.requests, c.retries), (4, 3));
        // Full jitter: at most 1 + 2 + 4 seconds of waiting.
        assert!(t0.elapsed() <= Duration::from_secs(7), "{:?}", t0.elapsed());
        assert_eq!(r.breaker.state(), BreakerState::Closed { failures: 0 });
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_and_refuses_long_ones() {
        let r = resilience(2, 10);
        let calls = AtomicU32::new(0);
        let mut c = Counters::default();
        let t0 = Instant::now();
        r.run("AAPL", &mut c, || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(transient(Some(20)))
            } else {
                Ok(())
            }
        })
        .await
        .unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(20), "waited exactly what was asked");

        let err = r
            .run("AAPL", &mut c, || async { Err::<(), _>(transient(Some(31))) })
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::RetryAfterTooLong { .. }), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_retries_and_never_retries_fatal_errors() {
        let r = resilience(2, 10);
        let mut c = Counters::default();
        let err =
            r.run("AAPL", &mut c, || async { Err::<(), _>(transient(None)) }).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, FetchError::RetriesExhausted { attempts: 3, .. }), "{msg}");
        assert!(msg.contains("polygon AAPL") && msg.contains("HTTP 503"), "{msg}");
        assert_eq!((c.requests, c.retries), (3, 2));

        let calls = AtomicU32::new(0);
        let err = r
            .run("AAPL", &mut c, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(AttemptError::Fatal(FetchError::MissingApiKey {
                    provider: ProviderKind::Polygon,
                }))
            })
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::MissingApiKey { .. }));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_breaker_stops_requests_then_lets_a_trial_through() {
        let r = resilience(5, 3);
        let calls = AtomicU32::new(0);
        let mut c = Counters::default();
        let err = r
            .run("AAPL", &mut c, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(transient(Some(1)))
            })
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::CircuitOpen { .. }), "{err}");
        assert_eq!(calls.load(Ordering::SeqCst), 3, "the third failure opened the breaker");
        let err = r.run("AAPL", &mut c, || async { Ok(()) }).await.unwrap_err();
        assert!(matches!(err, FetchError::CircuitOpen { .. }));
        tokio::time::sleep(Duration::from_secs(60)).await;
        r.run("AAPL", &mut c, || async { Ok(()) }).await.unwrap();
        assert_eq!(r.breaker.state(), BreakerState::Closed { failures: 0 });
    }
}
