//! Per-table backfill states, summarised from the on-disk job-state files
//! (`<store>/_ingest/backfill/<table>.state`, [`candlestore_ingest::JobState`]).

use std::path::Path;

use candlestore_ingest::{JobState, JobStatus, StateFileError};
use serde::Serialize;

/// The contract's `TableState`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TableState {
    pub(crate) table: String,
    pub(crate) symbols: usize,
    pub(crate) done: usize,
    pub(crate) failed: usize,
    /// Pending, or stopped midway (`running` in the file).
    pub(crate) pending: usize,
    /// The error of the most recently updated failed symbol.
    pub(crate) last_error: Option<String>,
    pub(crate) updated_at: Option<String>,
}

/// The state of every table with a job-state file, by table name. A file that cannot be
/// read is an error naming it (a fault of the store, not of the request).
pub(crate) fn table_states(store_root: &Path) -> Result<Vec<TableState>, StateFileError> {
    let dir = JobState::path(store_root, "x").parent().map(Path::to_path_buf);
    let Some(dir) = dir else { return Ok(Vec::new()) };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StateFileError::Io { path: dir, source }),
    };
    let mut tables = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| StateFileError::Io { path: dir.clone(), source })?;
        let name = entry.file_name();
        let Some(table) = name.to_str().and_then(|n| n.strip_suffix(".state")) else {
            // Temporary files of an atomic replace, or anything else: not a state file.
            continue;
        };
        tables.push(table.to_owned());
    }
    tables.sort();
    tables.iter().map(|t| JobState::load(store_root, t).map(|s| summarise(&s))).collect()
}

fn summarise(state: &JobState) -> TableState {
    let count =
        |want: &[JobStatus]| state.symbols.values().filter(|j| want.contains(&j.status)).count();
    let last_failed =
        state.symbols.values().filter(|j| j.status == JobStatus::Failed).max_by_key(|j| j.updated);
    TableState {
        table: state.table.clone(),
        symbols: state.symbols.len(),
        done: count(&[JobStatus::Done]),
        failed: count(&[JobStatus::Failed]),
        pending: count(&[JobStatus::Pending, JobStatus::Running]),
        last_error: last_failed.and_then(|j| j.last_error.clone()),
        updated_at: state
            .symbols
            .values()
            .map(|j| j.updated)
            .max()
            .map(candlestore::export::format_micros),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use candlestore_ingest::SymbolJob;

    use super::*;

    fn job(status: JobStatus, updated: i64, error: Option<&str>) -> SymbolJob {
        SymbolJob {
            status,
            window_start: "2024-01-02".parse().unwrap(),
            window_end: "2024-01-31".parse().unwrap(),
            last_good: None,
            failures: u32::from(status == JobStatus::Failed),
            retries: 0,
            last_error: error.map(str::to_owned),
            updated,
        }
    }

    #[test]
    fn summarises_each_state_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(table_states(dir.path()).unwrap().is_empty());
        let mut symbols = BTreeMap::new();
        symbols.insert("AAPL".to_owned(), job(JobStatus::Done, 3_000_000, None));
        symbols.insert("MSFT".to_owned(), job(JobStatus::Failed, 1_000_000, Some("old")));
        symbols.insert("NVDA".to_owned(), job(JobStatus::Failed, 2_000_000, Some("new")));
        symbols.insert("ORCL".to_owned(), job(JobStatus::Running, 0, None));
        JobState { table: "stocks_daily".into(), symbols }.save(dir.path()).unwrap();
        let states = table_states(dir.path()).unwrap();
        assert_eq!(
            states,
            vec![TableState {
                table: "stocks_daily".into(),
                symbols: 4,
                done: 1,
                failed: 2,
                pending: 1,
                last_error: Some("new".into()),
                updated_at: Some("1970-01-01T00:00:03.000000Z".into()),
            }]
        );
        std::fs::write(JobState::path(dir.path(), "crypto_daily"), b"garbage").unwrap();
        let e = table_states(dir.path()).unwrap_err().to_string();
        assert!(e.contains("crypto_daily.state"), "{e}");
    }
}
