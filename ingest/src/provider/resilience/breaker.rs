//! A circuit breaker per provider: closed, open, half-open, on tokio's clock.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The state a [`CircuitBreaker`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// Requests flow; consecutive failures are counted.
    Closed {
        /// Consecutive failures so far.
        failures: u32,
    },
    /// Requests are refused until the cool-down ends.
    Open {
        /// Time left until a trial request is allowed.
        retry_in: Duration,
    },
    /// The cool-down is over: one trial request decides between closed and open.
    HalfOpen {
        /// Whether the trial request is in flight.
        trial_in_flight: bool,
    },
}

/// Opens after `threshold` consecutive failures, refuses requests for `cooldown`, then lets a
/// single trial through: its success closes the breaker, its failure opens it again.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<Inner>,
}

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
}

impl CircuitBreaker {
    /// A closed breaker opening after `threshold` (at least 1) consecutive failures.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state is a plain value that is always written whole; a poisoned lock holds a
        // consistent one.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current state (an open breaker whose cool-down is over reports half-open).
    pub fn state(&self) -> BreakerState {
        let now = Instant::now();
        match *self.lock() {
            Inner::Closed { failures } => BreakerState::Closed { failures },
            Inner::Open { until } if until > now => BreakerState::Open { retry_in: until - now },
            Inner::Open { .. } => BreakerState::HalfOpen { trial_in_flight: false },
            Inner::HalfOpen { trial_in_flight } => BreakerState::HalfOpen { trial_in_flight },
        }
    }

    /// Asks to send a request: `Err(time until a trial)` when it must not be sent.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut s = self.lock();
        match *s {
            Inner::Closed { .. } => Ok(()),
            Inner::Open { until } if until > now => Err(until - now),
            Inner::Open { .. } | Inner::HalfOpen { trial_in_flight: false } => {
                *s = Inner::HalfOpen { trial_in_flight: true };
                Ok(())
            }
            // Other callers wait for the trial's outcome; a short wait is the honest answer.
            Inner::HalfOpen { trial_in_flight: true } => Err(Duration::ZERO),
        }
    }

    /// The provider answered (success, or a final answer such as 404): close the breaker.
    pub fn record_success(&self) {
        *self.lock() = Inner::Closed { failures: 0 };
    }

    /// A transient failure (429, 5xx, timeout, connection error).
    pub fn record_failure(&self) {
        let now = Instant::now();
        let mut s = self.lock();
        *s = match *s {
            Inner::Closed { failures } if failures + 1 < self.threshold => {
                Inner::Closed { failures: failures + 1 }
            }
            Inner::Closed { .. } | Inner::HalfOpen { .. } => {
                Inner::Open { until: now + self.cooldown }
            }
            // A request admitted before the breaker opened failed late: keep the cool-down.
            open @ Inner::Open { .. } => open,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn closed_open_half_open_closed() {
        let b = CircuitBreaker::new(3, Duration::from_secs(30));
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        b.record_failure();
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Closed { failures: 2 });
        assert!(b.try_acquire().is_ok());
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open { retry_in: Duration::from_secs(30) });
        assert_eq!(b.try_acquire(), Err(Duration::from_secs(30)));
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(b.try_acquire(), Err(Duration::from_secs(20)));
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(b.state(), BreakerState::HalfOpen { trial_in_flight: false });
        assert!(b.try_acquire().is_ok(), "the trial goes through");
        assert_eq!(b.try_acquire(), Err(Duration::ZERO), "only one trial at a time");
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_reopens_and_success_resets_the_count() {
        let b = CircuitBreaker::new(2, Duration::from_secs(5));
        b.record_failure();
        b.record_success();
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Closed { failures: 1 }, "success reset the count");
        b.record_failure();
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(b.try_acquire().is_ok());
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open { retry_in: Duration::from_secs(5) });
        // A late failure while open does not extend the cool-down.
        tokio::time::sleep(Duration::from_secs(2)).await;
        b.record_failure();
        assert_eq!(b.state(), BreakerState::Open { retry_in: Duration::from_secs(3) });
    }
}
