//! One backfill job as `/api/v1/backfill/status` reports it.

use candlestore_ingest::{BackfillSpec, BackfillSummary, Outcome};
use serde::{Serialize, Serializer};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JobPhase {
    Queued,
    Running,
    /// Every symbol ended ok or skipped.
    Succeeded,
    /// The run failed, or at least one symbol did (`error` says which and why).
    Failed,
}

impl JobPhase {
    pub(crate) fn is_finished(self) -> bool {
        matches!(self, JobPhase::Succeeded | JobPhase::Failed)
    }
}

fn rfc3339<S: Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&candlestore::export::format_micros(*t)),
        None => s.serialize_none(),
    }
}

fn rfc3339_required<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&candlestore::export::format_micros(*t))
}

/// A job (the contract's `Job` object).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Job {
    pub(crate) job_id: String,
    pub(crate) table: String,
    #[serde(rename = "status")]
    pub(crate) phase: JobPhase,
    pub(crate) symbols: Vec<String>,
    pub(crate) start: String,
    pub(crate) end: String,
    #[serde(serialize_with = "rfc3339_required")]
    pub(crate) submitted_at: i64,
    #[serde(serialize_with = "rfc3339")]
    pub(crate) started_at: Option<i64>,
    #[serde(serialize_with = "rfc3339")]
    pub(crate) finished_at: Option<i64>,
    pub(crate) symbols_ok: u64,
    pub(crate) symbols_failed: u64,
    pub(crate) symbols_skipped: u64,
    pub(crate) bars_written: u64,
    pub(crate) requests: u64,
    pub(crate) retries: u64,
    pub(crate) error: Option<String>,
    #[serde(skip)]
    pub(crate) summary: Option<BackfillSummary>,
}

impl Job {
    pub(crate) fn queued(job_id: String, spec: &BackfillSpec, now: i64) -> Self {
        Self {
            job_id,
            table: spec.table.clone(),
            phase: JobPhase::Queued,
            symbols: spec.symbols.clone(),
            start: spec.start.to_string(),
            end: spec.end.to_string(),
            submitted_at: now,
            started_at: None,
            finished_at: None,
            symbols_ok: 0,
            symbols_failed: 0,
            symbols_skipped: 0,
            bars_written: 0,
            requests: 0,
            retries: 0,
            error: None,
            summary: None,
        }
    }

    /// Sets the final counts from the run's summary (the live counts were the same sums).
    pub(crate) fn finish(&mut self, s: &BackfillSummary) {
        self.symbols_ok = s.ok() as u64;
        self.symbols_failed = s.failed() as u64;
        self.symbols_skipped = s.skipped() as u64;
        self.bars_written = s.bars_written();
        self.requests = s.requests();
        self.retries = s.retries();
        let failed: Vec<_> = s.symbols.iter().filter(|o| o.outcome == Outcome::Failed).collect();
        if let Some(first) = failed.first() {
            self.phase = JobPhase::Failed;
            self.error = Some(format!(
                "{} of {} symbol(s) failed; {}: {}",
                failed.len(),
                s.symbols.len(),
                first.symbol,
                first.error.as_deref().unwrap_or("unknown error")
            ));
        } else {
            self.phase = JobPhase::Succeeded;
        }
        self.summary = Some(s.clone());
    }
}
