//! The wall clock a connector reads, injectable so tests decide what "now" is.
//!
//! Waiting (rate limits, backoff, breaker cool-downs) uses tokio's clock instead, which tests
//! pause and advance; this clock only answers "which bars have closed yet" and resolves
//! `Retry-After` dates.

use std::fmt::Debug;

use chrono::{DateTime, Utc};

/// A source of the current UTC time.
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}
