//! The engine clock, injected so tests control time.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

/// A source of "now" for lineage timestamps (`created_at`, `updated_at`, corrections).
pub trait Clock: Send + Sync + Debug {
    /// The current time in microseconds since the epoch, UTC.
    fn now_micros(&self) -> Micros;
}

/// The system clock, made strictly increasing so two writes never share a timestamp (which
/// keeps `as_of` reads unambiguous).
#[derive(Debug, Default)]
pub struct SystemClock {
    last: AtomicI64,
}

impl Clock for SystemClock {
    fn now_micros(&self) -> Micros {
        let wall = chrono::Utc::now().timestamp_micros();
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let next = wall.max(prev + 1);
            match self.last.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(p) => prev = p,
            }
        }
    }
}

/// A clock that tests set by hand; each reading advances it by one microsecond.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock starting at `micros`.
    pub fn new(micros: Micros) -> Self {
        Self { now: AtomicI64::new(micros) }
    }

    /// Moves the clock to `micros`.
    pub fn set(&self, micros: Micros) {
        self.now.store(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> Micros {
        self.now.fetch_add(1, Ordering::SeqCst)
    }
}
