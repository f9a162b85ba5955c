//! Write-ahead log: every accepted write is framed, checksummed and appended here before it is
//! acknowledged, so it can be replayed after a crash. The byte format is specified in
//! `format-spec/wal.md`.
//!
//! - [`WalWriter`] appends frames (thread-safe), rolls files, group-commits fsyncs and deletes
//!   files a checkpoint made obsolete.
//! - [`replay`] feeds the frames at or after a checkpoint to the caller, truncating a torn tail
//!   and refusing corruption anywhere else.
//! - [`repair`] (explicit, for the CLI) cuts the log at the first invalid frame; [`inspect`]
//!   describes every file and frame without judging.
//!
//! All I/O goes through [`Storage`](crate::storage::Storage), so the crash tests against
//! `MemStorage` exercise exactly the production paths.

mod format;
mod reader;
mod recovery;
mod writer;

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

pub use format::{Defect, FORMAT_VERSION, FileHeader, MAX_PAYLOAD_LEN};
pub use reader::{DefectAt, FrameInfo, WalFileInfo, inspect};
pub use recovery::{RepairCut, RepairReport, ReplayOutcome, TornTail, repair};
pub(crate) use recovery::{ReplayError, replay};
pub(crate) use writer::WalWriter;

/// A log sequence number: the position of a frame in the log. The first frame ever written
/// has LSN 1; each frame's LSN is its predecessor's plus one, across files, and is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// The LSN of the first frame of a new log.
    pub const FIRST: Lsn = Lsn(1);

    /// The LSN after this one.
    #[must_use]
    pub fn next(self) -> Lsn {
        Lsn(self.0.saturating_add(1))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// How durable a write must be before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// The frame is handed to the operating system (one `write`) before the call returns. It
    /// survives the process being killed (`kill -9`, panic, abort) but not a power loss or
    /// kernel crash until a later sync covers it.
    Buffered,
    /// The frame is fsync'd (group commit: concurrent writers share one fsync) before the call
    /// returns. An acknowledged write survives power loss.
    Durable,
}

/// Errors of the write-ahead log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// An I/O error on a WAL file or directory.
    #[error("wal {path}: {source}")]
    Io {
        /// The WAL file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A frame's checksum does not match its bytes, and it is not a torn tail.
    #[error(
        "wal {path}: checksum mismatch in frame at offset {offset} \
         (stored {expected:#010x}, computed {got:#010x})"
    )]
    ChecksumMismatch {
        /// The WAL file.
        path: PathBuf,
        /// Offset of the frame's first byte.
        offset: u64,
        /// Stored checksum.
        expected: u32,
        /// Computed checksum.
        got: u32,
    },
    /// The log is corrupt (bad header, impossible frame, LSN gap or repeat), and it is not a
    /// torn tail. Nothing was truncated; `candlestore` repair can cut the log here.
    #[error("wal {path}: corrupt at offset {offset}: {defect}")]
    Corrupt {
        /// The WAL file.
        path: PathBuf,
        /// Offset of the defective header or frame.
        offset: u64,
        /// What is wrong.
        defect: Defect,
    },
    /// An earlier append or sync failed; the writer refuses all further work because the
    /// state of the file is unknown. Reopen the store (which replays the log).
    #[error("wal writer is unusable after an earlier I/O failure on {path}")]
    Poisoned {
        /// The file whose I/O failed.
        path: PathBuf,
    },
    /// A sync was requested for an LSN that has not been written.
    #[error("cannot sync up to LSN {requested}: the next LSN to be written is {next}")]
    NotWritten {
        /// The LSN asked for.
        requested: Lsn,
        /// The next LSN the writer will assign.
        next: Lsn,
    },
    /// A payload is larger than a frame may be.
    #[error("wal payload of {len} bytes exceeds the {max}-byte frame limit")]
    PayloadTooLarge {
        /// Payload length.
        len: usize,
        /// The limit ([`MAX_PAYLOAD_LEN`]).
        max: usize,
    },
    /// The writer was opened at an LSN that existing files already use.
    #[error(
        "wal {path} holds frames up to LSN {existing} or later, but the writer was opened at {next}"
    )]
    LsnReuse {
        /// The existing file.
        path: PathBuf,
        /// An LSN it already uses (its first, or its last valid one).
        existing: Lsn,
        /// The LSN the writer was asked to start at.
        next: Lsn,
    },
    /// LSN 0 is not a valid LSN.
    #[error("LSN 0 is not valid (LSNs start at 1)")]
    ZeroLsn,
}
