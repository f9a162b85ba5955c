//! The fetch log, `<store>/_ingest/fetch.log`: one line per vendor fetch a backfill made
//! (provider, symbol, range, rows, latency, status, quota left), appended as it happens.
//! Format: `format-spec/fetch-log.md`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::backfill::frame::StateFileError;

/// The first line of every fetch log.
pub(crate) const FETCH_LOG_HEADER: &str = "candlestore-fetch-log 1";

/// One fetch, as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRecord {
    /// When the fetch ended, µs since the epoch, UTC.
    pub at: i64,
    /// The table the bars were for.
    pub table: String,
    /// The provider that answered (the last one tried when every provider failed; `none` when
    /// none could be asked).
    pub provider: String,
    /// The engine symbol.
    pub symbol: String,
    /// First date asked for.
    pub start: NaiveDate,
    /// Last date asked for (inclusive).
    pub end: NaiveDate,
    /// Bars the vendor returned.
    pub rows: u64,
    /// Bars that filled a gap and were stored.
    pub stored: u64,
    /// HTTP requests sent (retries included).
    pub requests: u32,
    /// Retries among them.
    pub retries: u32,
    /// Wall time of the fetch in milliseconds, waits included.
    pub latency_ms: u64,
    /// `ok` or `failed`.
    pub status: String,
    /// The error of a failed fetch.
    pub error: Option<String>,
    /// The vendor's remaining quota when it reports one.
    pub quota_left: Option<u64>,
}

/// `<store>/_ingest/fetch.log`.
pub fn fetch_log_path(store_root: &Path) -> PathBuf {
    store_root.join("_ingest").join("fetch.log")
}

/// The line of a record: crc32c of the JSON as 8 lower-case hex digits, a space, the JSON.
pub(crate) fn encode_line(record: &FetchRecord) -> String {
    let json = serde_json::to_string(record).unwrap_or_default();
    format!("{:08x} {json}\n", crc32c::crc32c(json.as_bytes()))
}

/// An open fetch log, appending.
#[derive(Debug)]
pub(crate) struct FetchLog {
    path: PathBuf,
    file: File,
}

impl FetchLog {
    /// Opens (creating with its header line) the fetch log of the store at `store_root`.
    pub(crate) fn open(store_root: &Path) -> Result<Self, StateFileError> {
        let path = fetch_log_path(store_root);
        let io = |source| StateFileError::Io { path: path.clone(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        if file.metadata().map_err(io)?.len() == 0 {
            file.write_all(format!("{FETCH_LOG_HEADER}\n").as_bytes()).map_err(io)?;
        }
        Ok(Self { path, file })
    }

    /// Appends one record (one `write`: survives the process being killed).
    pub(crate) fn append(&mut self, record: &FetchRecord) -> Result<(), StateFileError> {
        self.file
            .write_all(encode_line(record).as_bytes())
            .map_err(|source| StateFileError::Io { path: self.path.clone(), source })
    }

    /// Fsyncs what was appended.
    pub(crate) fn sync(&self) -> Result<(), StateFileError> {
        self.file
            .sync_data()
            .map_err(|source| StateFileError::Io { path: self.path.clone(), source })
    }
}

/// Reads the fetch log of the store at `store_root` (empty when there is none), keeping the
/// records for `symbol` (if given) that ended on or after `since` (if given), oldest first.
///
/// A last line without its newline is a write torn by a crash and is ignored; a bad line
/// anywhere else is an error naming its line number.
pub fn read_fetch_log(
    store_root: &Path,
    symbol: Option<&str>,
    since: Option<i64>,
) -> Result<Vec<FetchRecord>, StateFileError> {
    let path = fetch_log_path(store_root);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(StateFileError::Io { path, source }),
    };
    let mut out = Vec::new();
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut number = 0u64;
    let mut offset = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|source| StateFileError::Io { path: path.clone(), source })?;
        if n == 0 {
            break;
        }
        number += 1;
        let start = offset;
        offset += n as u64;
        if !line.ends_with('\n') {
            break; // torn tail
        }
        let text = &line[..line.len() - 1];
        let malformed = |detail: String| StateFileError::Malformed {
            path: path.clone(),
            offset: start,
            detail: format!("line {number}: {detail}"),
        };
        if number == 1 {
            if text != FETCH_LOG_HEADER {
                return Err(StateFileError::BadMagic { path: path.clone(), what: "fetch log" });
            }
            continue;
        }
        let (crc, json) = text
            .split_once(' ')
            .ok_or_else(|| malformed("expected `<crc32c> <json>`".to_owned()))?;
        let expected = u32::from_str_radix(crc, 16)
            .map_err(|_| malformed(format!("checksum {crc:?} is not 8 hex digits")))?;
        let got = crc32c::crc32c(json.as_bytes());
        if expected != got {
            return Err(malformed(format!(
                "checksum mismatch (stored {expected:08x}, computed {got:08x})"
            )));
        }
        let record: FetchRecord =
            serde_json::from_str(json).map_err(|e| malformed(e.to_string()))?;
        if symbol.is_some_and(|s| s != record.symbol) || since.is_some_and(|t| record.at < t) {
            continue;
        }
        out.push(record);
    }
    Ok(out)
}
