//! The daily backfill schedule inside the server (`candlestore serve --schedule`): the
//! [`candlestore_ingest::Scheduler`] loop of `candlestore schedule`, its runs going through
//! the server's [`BackfillRunner`] so they show as jobs and never overlap a manual job of the
//! same table. Its state is the same file (`<store>/_ingest/schedule.state`).

use std::sync::Arc;

use candlestore_ingest::{Scheduler, StateFileError, Tick};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::backfill::BackfillRunner;

/// The schedule and what stopped its loop, if anything did.
#[derive(Debug)]
pub(crate) struct ServerScheduler {
    scheduler: Scheduler,
    stopped: Mutex<Option<String>>,
}

fn rfc3339(micros: Option<i64>) -> Value {
    micros.map_or(Value::Null, |t| Value::from(candlestore::export::format_micros(t)))
}

impl ServerScheduler {
    pub(crate) fn new(scheduler: Scheduler) -> Self {
        Self { scheduler, stopped: Mutex::new(None) }
    }

    /// Steps until the task is dropped; a state-file error stops the loop and is reported
    /// as the last outcome from then on.
    pub(crate) async fn run(self: Arc<Self>, runner: Arc<BackfillRunner>) {
        let result = self
            .scheduler
            .run_forever(
                |spec| {
                    let runner = runner.clone();
                    async move { runner.run_and_wait(spec).await }
                },
                |tick| {
                    if let Tick::Ran { slot, outcome, .. } = tick {
                        eprintln!("schedule: the {slot} run: {outcome}");
                    }
                },
            )
            .await;
        if let Err(e) = result {
            *self.stopped.lock() = Some(format!("the scheduler stopped: {e}"));
        }
    }

    /// The status page's `scheduler` member, from the state file.
    pub(crate) fn status(&self, now: DateTime<Utc>) -> Result<Value, StateFileError> {
        let config = self.scheduler.config();
        let state = self.scheduler.state()?;
        let stopped = self.stopped.lock().clone();
        // Before the loop's first step wrote it, the next slot is computed the same way; a
        // stopped loop has no next run.
        let next = state.next_slot.unwrap_or_else(|| config.slot_after(now).timestamp_micros());
        let next = stopped.is_none().then_some(next);
        Ok(json!({
            "enabled": stopped.is_none(),
            "at": config.time.format("%H:%M").to_string(),
            "tz": config.timezone.name(),
            "last_run": rfc3339(state.last_started),
            "last_outcome": stopped.or(state.last_outcome),
            "next_run": rfc3339(next),
        }))
    }
}
