//! The daily-schedule loop shared by `candlestore schedule` and `candlestore serve
//! --schedule`: ask [`decide`] what is due, record the slot in the state file *before* the
//! run (a crash mid-run must not run it twice; the backfill itself resumes by gaps), run the
//! backfill through the caller's function, record its outcome, sleep until the next slot.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::backfill::frame::StateFileError;
use crate::backfill::job::{BackfillSpec, BackfillSummary};
use crate::provider::clock::{Clock, SystemClock};
use crate::schedule::{Decision, ScheduleConfig, ScheduleState, decide};

/// What one [`Scheduler::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tick {
    /// The backfill of a slot ran.
    Ran {
        /// The slot.
        slot: DateTime<Utc>,
        /// Whether it was a late run of a missed slot (within the grace period).
        misfire: bool,
        /// The session dates it covered.
        window: (NaiveDate, NaiveDate),
        /// Its one-line summary, or `error: ...`.
        outcome: String,
    },
    /// Nothing was due.
    Wait {
        /// The next slot.
        until: DateTime<Utc>,
        /// A missed slot beyond the grace period, skipped.
        skipped: Option<DateTime<Utc>>,
    },
}

/// Runs a [`ScheduleConfig`] against a store's schedule-state file.
#[derive(Debug, Clone)]
pub struct Scheduler {
    config: ScheduleConfig,
    root: PathBuf,
    concurrency: usize,
    clock: Arc<dyn Clock>,
}

impl Scheduler {
    /// A scheduler for the store at `store_root`, its runs fetching `concurrency` symbols at
    /// once, on the system clock.
    pub fn new(config: ScheduleConfig, store_root: impl Into<PathBuf>, concurrency: usize) -> Self {
        Self {
            config,
            root: store_root.into(),
            concurrency: concurrency.max(1),
            clock: Arc::new(SystemClock),
        }
    }

    /// Decides with `clock` (tests pin it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The schedule.
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    /// The persisted state (last run, outcome, next slot).
    pub fn state(&self) -> Result<ScheduleState, StateFileError> {
        ScheduleState::load(&self.root)
    }

    /// The backfill a run of `slot` does: the universe over the slot's lookback window,
    /// through the asset class's provider chain.
    pub fn spec(&self, slot: DateTime<Utc>) -> BackfillSpec {
        let (start, end) = self.config.window(slot);
        BackfillSpec {
            table: self.config.table.clone(),
            symbols: self.config.universe.clone(),
            start,
            end,
            source: None,
            concurrency: self.concurrency,
        }
    }

    /// One decision at the clock's now; runs the slot's backfill with `run` when one is due.
    /// A failed run is an outcome (`error: ...`), not an error: only the state file's I/O is.
    pub async fn step<F, Fut>(&self, run: F) -> Result<Tick, StateFileError>
    where
        F: FnOnce(BackfillSpec) -> Fut,
        Fut: Future<Output = Result<BackfillSummary, String>>,
    {
        let mut state = ScheduleState::load(&self.root)?;
        let last = state.last_slot.and_then(DateTime::<Utc>::from_timestamp_micros);
        match decide(&self.config, last, self.clock.now()) {
            Decision::Run { slot, misfire } => {
                state.last_slot = Some(slot.timestamp_micros());
                state.last_started = Some(self.clock.now().timestamp_micros());
                state.last_finished = None;
                state.next_slot = Some(self.config.slot_after(slot).timestamp_micros());
                state.save(&self.root)?;
                let spec = self.spec(slot);
                let window = (spec.start, spec.end);
                let outcome = match run(spec).await {
                    Ok(s) => summary_line(&s),
                    Err(e) => format!("error: {e}"),
                };
                state.last_outcome = Some(outcome.clone());
                state.last_finished = Some(self.clock.now().timestamp_micros());
                state.save(&self.root)?;
                Ok(Tick::Ran { slot, misfire, window, outcome })
            }
            Decision::Wait { until, skipped } => {
                state.next_slot = Some(until.timestamp_micros());
                state.save(&self.root)?;
                Ok(Tick::Wait { until, skipped })
            }
        }
    }

    /// Steps forever: each due slot runs once through `run`; between slots it sleeps (on
    /// tokio's timer) until the next one. `on_tick` sees every step. Returns only on a state
    /// file error.
    pub async fn run_forever<F, Fut>(
        &self,
        mut run: F,
        mut on_tick: impl FnMut(&Tick),
    ) -> Result<(), StateFileError>
    where
        F: FnMut(BackfillSpec) -> Fut,
        Fut: Future<Output = Result<BackfillSummary, String>>,
    {
        loop {
            let tick = self.step(&mut run).await?;
            on_tick(&tick);
            if let Tick::Wait { until, .. } = tick {
                // A clock that does not move (a test's) would spin: wait at least a second.
                let wait = (until - self.clock.now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait.max(std::time::Duration::from_secs(1))).await;
            }
        }
    }
}

/// `N ok, N failed, N skipped; N bars written, N requests` (the schedule's outcome line).
pub fn summary_line(s: &BackfillSummary) -> String {
    format!(
        "{} ok, {} failed, {} skipped; {} bars written, {} requests",
        s.ok(),
        s.failed(),
        s.skipped(),
        s.bars_written(),
        s.requests()
    )
}
