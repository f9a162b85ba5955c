//! The backfill runner the server owns: jobs submitted over HTTP (or by the scheduler) run
//! on the tokio runtime with [`candlestore_ingest::Backfill`]; at most one job runs per
//! table; the last [`MAX_JOBS`] jobs are kept in memory; table states come from the on-disk
//! job-state files.

mod job;
mod tables;

pub(crate) use job::{Job, JobPhase};
pub(crate) use tables::table_states;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use candlestore::Clock;
use candlestore_ingest::{Backfill, BackfillSpec, BackfillSummary, Outcome};
use parking_lot::Mutex;

/// Jobs kept in memory (finished ones are dropped oldest first beyond this).
pub(crate) const MAX_JOBS: usize = 100;

/// A job already runs on the table.
#[derive(Debug, Clone)]
pub(crate) struct Conflict {
    pub(crate) job_id: String,
}

/// Runs backfill jobs and remembers them.
pub(crate) struct BackfillRunner {
    backfill: Backfill,
    clock: Arc<dyn Clock>,
    jobs: Mutex<VecDeque<Arc<Mutex<Job>>>>,
    next: AtomicU64,
}

impl std::fmt::Debug for BackfillRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackfillRunner").field("backfill", &self.backfill).finish_non_exhaustive()
    }
}

impl BackfillRunner {
    /// A runner doing its jobs with `backfill`, stamping them with `clock`.
    pub(crate) fn new(backfill: Backfill, clock: Arc<dyn Clock>) -> Self {
        Self { backfill, clock, jobs: Mutex::default(), next: AtomicU64::new(1) }
    }

    /// Queues `spec` and starts it on the current tokio runtime. Returns the queued job and
    /// a handle completing with the finished job; a [`Conflict`] when a job of the table is
    /// queued or running.
    pub(crate) fn submit(
        self: &Arc<Self>,
        spec: BackfillSpec,
    ) -> Result<(Job, tokio::task::JoinHandle<Job>), Conflict> {
        let now = self.clock.now_micros();
        let job = {
            let mut jobs = self.jobs.lock();
            if let Some(busy) = jobs.iter().find(|j| {
                let j = j.lock();
                j.table == spec.table && !j.phase.is_finished()
            }) {
                return Err(Conflict { job_id: busy.lock().job_id.clone() });
            }
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            // Unique across restarts of the server (the registry itself is not persisted).
            let id = format!("bf-{now}-{n}");
            let job = Arc::new(Mutex::new(Job::queued(id, &spec, now)));
            jobs.push_front(job.clone());
            while jobs.len() > MAX_JOBS {
                // The oldest finished job goes; running ones (one per table) stay.
                match jobs.iter().rposition(|j| j.lock().phase.is_finished()) {
                    Some(i) => {
                        jobs.remove(i);
                    }
                    None => break,
                }
            }
            job
        };
        let snapshot = job.lock().clone();
        let this = self.clone();
        let handle = tokio::spawn(async move { this.run(job, spec).await });
        Ok((snapshot, handle))
    }

    async fn run(&self, job: Arc<Mutex<Job>>, spec: BackfillSpec) -> Job {
        {
            let mut j = job.lock();
            j.phase = JobPhase::Running;
            j.started_at = Some(self.clock.now_micros());
        }
        let live = job.clone();
        let result = self
            .backfill
            .run(&spec, move |o| {
                // Counts move as symbols end, so a poll sees progress.
                let mut j = live.lock();
                match o.outcome {
                    Outcome::Ok => j.symbols_ok += 1,
                    Outcome::Skipped => j.symbols_skipped += 1,
                    _ => j.symbols_failed += 1,
                }
                j.bars_written += o.bars_written;
                j.requests += o.requests;
                j.retries += o.retries;
            })
            .await;
        let mut j = job.lock();
        j.finished_at = Some(self.clock.now_micros());
        match result {
            Ok(summary) => j.finish(&summary),
            Err(e) => {
                j.phase = JobPhase::Failed;
                j.error = Some(error_chain(&e));
            }
        }
        j.clone()
    }

    /// Runs `spec` through the registry and waits for it: the scheduler's way in.
    pub(crate) async fn run_and_wait(
        self: &Arc<Self>,
        spec: BackfillSpec,
    ) -> Result<BackfillSummary, String> {
        let table = spec.table.clone();
        let (_, handle) = self.submit(spec).map_err(|c| {
            format!("a backfill of {table} is already running (job {}); this run skipped", c.job_id)
        })?;
        let job = handle.await.map_err(|e| format!("the backfill task failed: {e}"))?;
        match (&job.phase, &job.error) {
            (JobPhase::Failed, Some(e)) if job.summary.is_none() => Err(e.clone()),
            _ => Ok(job.summary.clone().unwrap_or_default()),
        }
    }

    /// Every job kept, most recent first.
    pub(crate) fn jobs(&self) -> Vec<Job> {
        self.jobs.lock().iter().map(|j| j.lock().clone()).collect()
    }

    /// Jobs queued or running.
    pub(crate) fn running(&self) -> usize {
        self.jobs.lock().iter().filter(|j| !j.lock().phase.is_finished()).count()
    }
}

/// The error and its causes, joined by ": ".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        s.push_str(&format!(": {c}"));
        source = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use candlestore::{ManualClock, Store};
    use candlestore_ingest::{Connectors, ProvidersConfig};
    use chrono::NaiveDate;

    use super::*;

    // One thread: a submitted job cannot start before this test yields.
    #[tokio::test(flavor = "current_thread")]
    async fn keeps_the_last_jobs_and_refuses_a_second_one_per_table() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let connectors = Connectors::new(&ProvidersConfig::default()).unwrap();
        let runner = Arc::new(BackfillRunner::new(
            Backfill::new(store, connectors),
            Arc::new(ManualClock::new(7)),
        ));
        // 4-hour bars: every run fails before any request (no vendor serves them).
        let spec = BackfillSpec {
            table: "crypto_4hour".into(),
            symbols: vec!["BTC".into()],
            start: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
            source: None,
            concurrency: 1,
        };
        let mut first = None;
        for _ in 0..=MAX_JOBS {
            let (job, handle) = runner.submit(spec.clone()).unwrap();
            assert_eq!(job.phase, JobPhase::Queued);
            first.get_or_insert(job.job_id);
            let done = handle.await.unwrap();
            assert_eq!(done.phase, JobPhase::Failed);
            assert!(done.error.as_deref().unwrap().contains("crypto_4hour"), "{:?}", done.error);
            assert_eq!(runner.running(), 0);
        }
        let jobs = runner.jobs();
        assert_eq!(jobs.len(), MAX_JOBS);
        assert!(jobs.iter().all(|j| Some(&j.job_id) != first.as_ref()), "the oldest went");
        let err = runner.run_and_wait(spec.clone()).await.unwrap_err();
        assert!(err.contains("crypto_4hour"), "{err}");
        // While one is queued or running, a second of the same table is a conflict.
        let (job, handle) = runner.submit(spec.clone()).unwrap();
        let conflict = runner.submit(spec.clone()).unwrap_err();
        assert_eq!(conflict.job_id, job.job_id);
        assert_eq!(runner.running(), 1);
        assert_eq!(handle.await.unwrap().phase, JobPhase::Failed);
        assert!(runner.submit(spec).is_ok(), "a finished job frees the table");
    }
}
