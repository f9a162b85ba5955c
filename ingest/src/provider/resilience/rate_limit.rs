//! A token-bucket rate limiter on tokio's clock (so tests can run it with paused time).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Allows `rate` requests per minute on average with bursts of up to `burst`.
///
/// Each caller takes one token; when the bucket is empty the token is borrowed and the caller
/// sleeps until it would have been refilled. Borrowing under the lock and sleeping outside it
/// serves concurrent callers in arrival order without holding the lock across an await.
#[derive(Debug)]
pub struct RateLimiter {
    /// Time to refill one token.
    per_token: Duration,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: tokens lent to callers that are still waiting.
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `per_minute` requests per minute (at least 1), bursts of `burst` (at least 1); the
    /// bucket starts full.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        let per_minute = per_minute.max(1);
        let burst = f64::from(burst.max(1));
        Self {
            per_token: Duration::from_secs(60) / per_minute,
            burst,
            state: Mutex::new(Bucket { tokens: burst, last: Instant::now() }),
        }
    }

    /// Waits for a token; returns how long it waited.
    pub async fn acquire(&self) -> Duration {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }

    /// Takes a token at `now` and returns how long the caller must wait for it.
    fn reserve(&self, now: Instant) -> Duration {
        // A poisoned lock only means another caller panicked mid-update of two plain numbers;
        // the bucket is still usable.
        let mut b = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed / self.per_token.as_secs_f64()).min(self.burst);
        b.last = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 { Duration::ZERO } else { self.per_token.mul_f64(-b.tokens) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_after_the_burst() {
        let limiter = RateLimiter::per_minute(60, 2);
        let t0 = Instant::now();
        assert_eq!(limiter.acquire().await, Duration::ZERO);
        assert_eq!(limiter.acquire().await, Duration::ZERO);
        assert_eq!(limiter.acquire().await, Duration::from_secs(1));
        assert_eq!(limiter.acquire().await, Duration::from_secs(1));
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
        // Idle time refills up to the burst, not beyond.
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(limiter.acquire().await, Duration::ZERO);
        assert_eq!(limiter.acquire().await, Duration::ZERO);
        assert_eq!(limiter.acquire().await, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_queue_up() {
        let limiter = std::sync::Arc::new(RateLimiter::per_minute(120, 1));
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move { l.acquire().await })
            })
            .collect();
        let mut waits = Vec::new();
        for t in tasks {
            waits.push(t.await.unwrap());
        }
        waits.sort();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![0, 500, 1000, 1500, 2000]);
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
    }
}
