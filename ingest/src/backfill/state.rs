//! Per-symbol job state of a table's backfill, kept in `<store>/_ingest/backfill/<table>.state`
//! so a killed backfill resumes where it stopped. Format: `format-spec/backfill-state.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::backfill::frame::{self, FrameKind, StateFileError};

/// The job-state file's framing.
pub(crate) const JOB_STATE: FrameKind =
    FrameKind { magic: *b"CSBFILL\n", version: 1, what: "backfill job-state" };

/// Where a symbol's backfill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobStatus {
    /// Planned, nothing fetched yet.
    Pending,
    /// Some ranges landed, others not yet (the run stopped or is still going).
    Running,
    /// Every missing range of the window was fetched and stored.
    Done,
    /// A fetch or write failed; `last_error` says why.
    Failed,
}

impl JobStatus {
    /// `pending`, `running`, `done` or `failed`.
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
}

/// One symbol's backfill state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolJob {
    /// Where it stands.
    pub status: JobStatus,
    /// First session date of the window the last run worked on.
    pub window_start: NaiveDate,
    /// Last session date of that window (inclusive).
    pub window_end: NaiveDate,
    /// The last session date up to which every missing bar of the window has landed.
    pub last_good: Option<NaiveDate>,
    /// Failed runs in a row (reset by a successful one).
    pub failures: u32,
    /// HTTP retries spent on this symbol, over all runs.
    pub retries: u64,
    /// The last error, when the last run failed.
    pub last_error: Option<String>,
    /// When the state last changed, µs since the epoch, UTC.
    pub updated: i64,
}

impl SymbolJob {
    /// Whether a previous run already completed a window covering `start..=end`.
    pub fn covers(&self, start: NaiveDate, end: NaiveDate) -> bool {
        self.status == JobStatus::Done && self.window_start <= start && end <= self.window_end
    }
}

/// The job state of one table: every symbol a backfill of it has touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    /// The table.
    pub table: String,
    /// Per symbol, by name.
    pub symbols: BTreeMap<String, SymbolJob>,
}

impl JobState {
    /// `<store>/_ingest/backfill/<table>.state`.
    pub fn path(store_root: &Path, table: &str) -> PathBuf {
        store_root.join("_ingest").join("backfill").join(format!("{table}.state"))
    }

    /// Reads the state of `table`; an empty state when the file does not exist yet.
    pub fn load(store_root: &Path, table: &str) -> Result<Self, StateFileError> {
        let path = Self::path(store_root, table);
        let state: Option<JobState> = frame::load(JOB_STATE, &path)?;
        match state {
            Some(s) if s.table != table => Err(StateFileError::Malformed {
                path,
                offset: frame::HEADER_LEN as u64,
                detail: format!("holds the state of table {:?}, not {table:?}", s.table),
            }),
            Some(s) => Ok(s),
            None => Ok(JobState { table: table.to_owned(), symbols: BTreeMap::new() }),
        }
    }

    /// The file's bytes (header + JSON body).
    pub fn encode(&self) -> Vec<u8> {
        frame::encode(JOB_STATE, self)
    }

    /// Decodes a job-state file's bytes; `path` names it in errors.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Self, StateFileError> {
        frame::decode(JOB_STATE, path, bytes)
    }

    /// Replaces the file atomically.
    pub fn save(&self, store_root: &Path) -> Result<(), StateFileError> {
        frame::write_atomic(&Self::path(store_root, &self.table), &self.encode())
    }
}
