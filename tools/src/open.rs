//! Opening a store with error messages that say what to do next.

use std::fmt;
use std::path::Path;

use anyhow::Context as _;
use candlestore::{Error, Store, WalError};

use crate::error::usage;

/// What a command does with the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Writes (import, compact): takes the writer lock; creates the store if `create`.
    Write {
        /// Whether a missing directory becomes a new, empty store.
        create: bool,
    },
    /// Reads (query, verify); `read_only` skips the writer lock and WAL replay.
    Read {
        /// `--read-only` was given.
        read_only: bool,
    },
}

/// An engine error with advice appended (`<error>; <hint>`).
#[derive(Debug)]
struct Hinted {
    error: Error,
    hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.error, self.hint)
    }
}

impl std::error::Error for Hinted {}

/// Refuses a directory that is not (yet) a store, so a typo does not create an empty one.
pub(crate) fn require_store_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return usage(format!("store directory {} does not exist", dir.display()));
    }
    if !dir.join("_meta").is_dir() {
        return usage(format!(
            "{} is not a candlestore store (it has no _meta directory)",
            dir.display()
        ));
    }
    Ok(())
}

/// Opens the store in `dir` for `access`.
pub(crate) fn open_store(dir: &Path, access: Access) -> anyhow::Result<Store> {
    let mut builder = Store::builder(dir);
    match access {
        Access::Write { create: false } | Access::Read { .. } => require_store_dir(dir)?,
        Access::Write { create: true } => {}
    }
    if let Access::Read { read_only: true } = access {
        builder = builder.read_only();
    }
    builder
        .open()
        .map_err(|error| with_hint(error, dir, access))
        .with_context(|| format!("cannot open store {}", dir.display()))
}

fn with_hint(error: Error, dir: &Path, access: Access) -> anyhow::Error {
    let hint = match (&error, access) {
        (Error::Locked { .. }, Access::Read { .. }) => {
            "pass --read-only to read it while the other process holds the lock".to_owned()
        }
        (Error::Locked { .. }, Access::Write { .. }) => {
            "wait for the other process to finish and try again".to_owned()
        }
        (Error::Wal(WalError::ChecksumMismatch { .. } | WalError::Corrupt { .. }), _) => format!(
            "the write-ahead log is damaged before its end, so the store will not open; run \
             `candlestore repair --store {} --wal` to see what a repair would drop",
            dir.display()
        ),
        _ => return error.into(),
    };
    Hinted { error, hint }.into()
}
