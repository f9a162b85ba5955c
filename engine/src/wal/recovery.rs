//! Replaying the log after a restart, and the explicit repair path.
//!
//! Torn-tail rule (see `format-spec/wal.md`): only the last file may end in a torn write, and
//! only a defect that a torn write can produce counts as one: a zero-filled remainder, a frame
//! (or header) that runs past the end of the file, or a checksum mismatch in a frame followed by
//! nothing but zeros. Everything else is corruption and nothing is modified.

use std::path::{Path, PathBuf};

use super::format::{Defect, FrameWalker, HEADER_LEN, Step};
use super::reader::{self, DefectAt, FIRST_LSN_OFFSET, LogFile};
use super::{Lsn, WalError};
use crate::storage::{Storage, display_path};

/// What [`replay`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayOutcome {
    /// Frames passed to `apply` (those at or after `from`).
    pub frames_applied: u64,
    /// The LSN the writer must be opened at: one past the last valid frame, and never below
    /// `from`.
    pub next_lsn: Lsn,
    /// The torn tail that was cut off the last file, if any.
    pub torn_tail: Option<TornTail>,
}

/// A torn write at the end of the log, removed by [`replay`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// The file (for display).
    pub path: PathBuf,
    /// The file's new length: the end of its last valid frame.
    pub offset: u64,
    /// Bytes dropped from `offset` to the old end of the file.
    pub dropped_bytes: u64,
    /// What the torn bytes looked like.
    pub defect: Defect,
    /// Whether the whole file was removed (its header itself was torn; it held no frame).
    pub file_removed: bool,
}

/// Why [`replay`] failed: the log, or the caller's `apply`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ReplayError<E> {
    /// Reading or validating the log failed.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// `apply` returned an error for a frame.
    #[error("applying wal frame {lsn}: {source}")]
    Apply {
        /// The frame being applied.
        lsn: Lsn,
        /// The caller's error.
        #[source]
        source: E,
    },
}

impl<E: From<WalError>> ReplayError<E> {
    /// Folds both cases into the caller's error type.
    pub(crate) fn into_inner(self) -> E {
        match self {
            ReplayError::Wal(e) => e.into(),
            ReplayError::Apply { source, .. } => source,
        }
    }
}

/// How a file's first LSN is checked.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// No constraint (the first file of a repair).
    Any,
    /// The first file read by replay must start at or before `from`, or frames are missing.
    AtMost(Lsn),
    /// Continuity with the previous file.
    Exactly(Lsn),
}

/// A file walked up to its first problem.
#[derive(Debug)]
struct FileScan {
    /// End of the last valid frame (0 if the header is invalid).
    valid_end: u64,
    /// The LSN after the last valid frame.
    next_lsn: Lsn,
    /// Valid frames.
    frames: u64,
    /// The first problem, and whether a torn write could have produced it.
    problem: Option<(DefectAt, bool)>,
}

/// Validates `bytes` frame by frame, calling `on_frame` for each valid one, up to the first
/// problem.
fn scan_file<E>(
    bytes: &[u8],
    file: &LogFile,
    expect: Expect,
    mut on_frame: impl FnMut(Lsn, &[u8]) -> Result<(), E>,
) -> Result<FileScan, E> {
    let mut scan = FileScan { valid_end: 0, next_lsn: file.name_lsn, frames: 0, problem: None };
    let header = match reader::check_header(bytes, file.name_lsn) {
        Ok(header) => header,
        Err(at) => {
            let torn = matches!(at.defect, Defect::ZeroFill | Defect::HeaderTruncated { .. });
            scan.problem = Some((at, torn));
            return Ok(scan);
        }
    };
    let first = header.first_lsn;
    let gap = match expect {
        Expect::Any => None,
        Expect::AtMost(from) => (first > from).then_some(from),
        Expect::Exactly(lsn) => (first != lsn).then_some(lsn),
    };
    if let Some(expected) = gap {
        let defect = Defect::LsnDiscontinuity { expected, found: first };
        scan.problem = Some((DefectAt { offset: FIRST_LSN_OFFSET, defect }, false));
        return Ok(scan);
    }
    scan.valid_end = HEADER_LEN as u64;
    scan.next_lsn = first;
    let mut walker = FrameWalker::new(bytes, HEADER_LEN);
    while let Some(step) = walker.step() {
        match step {
            Step::Frame(f) if !f.crc_ok() => {
                let defect = Defect::Checksum { expected: f.stored_crc, got: f.computed_crc };
                let torn = super::format::zero_from(bytes, f.end());
                scan.problem = Some((DefectAt { offset: f.offset, defect }, torn));
                break;
            }
            Step::Frame(f) if f.lsn != scan.next_lsn => {
                let defect = Defect::LsnDiscontinuity { expected: scan.next_lsn, found: f.lsn };
                scan.problem = Some((DefectAt { offset: f.offset, defect }, false));
                break;
            }
            Step::Frame(f) => {
                on_frame(f.lsn, f.payload)?;
                scan.valid_end = f.end();
                scan.next_lsn = f.lsn.next();
                scan.frames += 1;
            }
            Step::End => {}
            Step::Broken { offset, defect } => {
                let torn = matches!(defect, Defect::ZeroFill | Defect::FrameTruncated { .. });
                scan.problem = Some((DefectAt { offset, defect }, torn));
            }
        }
    }
    Ok(scan)
}

fn corruption(storage: &dyn Storage, path: &Path, at: DefectAt) -> WalError {
    let path = display_path(storage, path);
    match at.defect {
        Defect::Checksum { expected, got } => {
            WalError::ChecksumMismatch { path, offset: at.offset, expected, got }
        }
        defect => WalError::Corrupt { path, offset: at.offset, defect },
    }
}

/// Cuts `file` at `valid_end`, or removes it when not even its header is valid.
fn cut_file(storage: &dyn Storage, file: &LogFile, valid_end: u64) -> Result<bool, WalError> {
    let remove = valid_end < HEADER_LEN as u64;
    let result =
        if remove { storage.remove(&file.path) } else { storage.truncate(&file.path, valid_end) };
    result.map_err(|source| reader::io_error(storage, &file.path, source))?;
    Ok(remove)
}

/// Replays the log in `dir`: calls `apply` for every frame with LSN >= `from`, in order.
///
/// Files whose frames all precede `from` (the next file starts at or before it) are not read,
/// so a checkpoint makes old, possibly half-deleted files irrelevant. The first file read must
/// start at or before `from`, and LSNs must then be contiguous.
///
/// A torn tail in the last file is truncated (a file whose header itself is torn is removed)
/// and reported in [`ReplayOutcome::torn_tail`]. Any other defect fails with
/// [`WalError::Corrupt`] or [`WalError::ChecksumMismatch`] naming the file and offset, and
/// nothing is modified. In both error cases, frames before the failure may already have been
/// applied: the caller discards what it built. A missing directory or no file is an empty log.
pub(crate) fn replay<E>(
    storage: &dyn Storage,
    dir: &Path,
    from: Lsn,
    mut apply: impl FnMut(Lsn, &[u8]) -> Result<(), E>,
) -> Result<ReplayOutcome, ReplayError<E>> {
    let files = reader::list_files(storage, dir)?;
    let mut outcome = ReplayOutcome { frames_applied: 0, next_lsn: from, torn_tail: None };
    let start = files.iter().rposition(|f| f.name_lsn <= from).unwrap_or(0);
    let Some(files) = files.get(start..) else { return Ok(outcome) };
    let mut expect = Expect::AtMost(from);
    let mut next_lsn = from;
    for (i, file) in files.iter().enumerate() {
        let is_last = i + 1 == files.len();
        let bytes = reader::read_file(storage, &file.path)?;
        let size = bytes.len() as u64;
        let scan = scan_file(&bytes, file, expect, |lsn, payload| {
            if lsn < from {
                return Ok::<(), ReplayError<E>>(());
            }
            apply(lsn, payload).map_err(|source| ReplayError::Apply { lsn, source })?;
            outcome.frames_applied += 1;
            Ok(())
        })?;
        drop(bytes);
        next_lsn = scan.next_lsn;
        expect = Expect::Exactly(scan.next_lsn);
        match scan.problem {
            None => {}
            Some((at, true)) if is_last => {
                let file_removed = cut_file(storage, file, scan.valid_end)?;
                outcome.torn_tail = Some(TornTail {
                    path: display_path(storage, &file.path),
                    offset: scan.valid_end,
                    dropped_bytes: size - scan.valid_end,
                    defect: at.defect,
                    file_removed,
                });
            }
            Some((at, _)) => return Err(corruption(storage, &file.path, at).into()),
        }
    }
    outcome.next_lsn = next_lsn.max(from);
    Ok(outcome)
}

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairReport {
    /// Where the log was cut, or `None` if every file was valid (nothing changed).
    pub cut: Option<RepairCut>,
    /// Later files deleted entirely (for display).
    pub removed_files: Vec<PathBuf>,
    /// Valid frames kept.
    pub frames_kept: u64,
    /// Frames discarded that had a valid checksum (the defective frame itself is not counted;
    /// frames beyond a structurally broken one cannot be found and are not counted either).
    pub intact_frames_dropped: u64,
    /// Bytes discarded, in the cut file and the removed files.
    pub bytes_dropped: u64,
    /// The LSN the writer must be opened at after the repair.
    pub next_lsn: Lsn,
}

/// The first invalid point of the log, where [`repair`] cut it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairCut {
    /// The file (for display).
    pub path: PathBuf,
    /// The file's new length (0 if it was removed).
    pub offset: u64,
    /// What was wrong at that point.
    pub defect: Defect,
    /// Whether the file was removed because not even its header was valid.
    pub file_removed: bool,
}

/// Cuts the log in `dir` at its first invalid header, frame or LSN discontinuity (in whichever
/// file), deleting every later file, and reports exactly what was dropped. Unlike [`replay`]
/// this discards data that may be recoverable by hand: it is for an operator's explicit
/// request, never for automatic recovery.
pub fn repair(storage: &dyn Storage, dir: &Path) -> Result<RepairReport, WalError> {
    let files = reader::list_files(storage, dir)?;
    let mut report = RepairReport {
        cut: None,
        removed_files: Vec::new(),
        frames_kept: 0,
        intact_frames_dropped: 0,
        bytes_dropped: 0,
        next_lsn: Lsn::FIRST,
    };
    let mut expect = Expect::Any;
    for (i, file) in files.iter().enumerate() {
        let bytes = reader::read_file(storage, &file.path)?;
        let scan = scan_file(&bytes, file, expect, |_, _| Ok::<(), WalError>(()))?;
        report.frames_kept += scan.frames;
        report.next_lsn = scan.next_lsn;
        expect = Expect::Exactly(scan.next_lsn);
        let Some((at, _)) = scan.problem else { continue };

        report.bytes_dropped = bytes.len() as u64 - scan.valid_end;
        report.intact_frames_dropped = count_intact_frames(&bytes, at.offset);
        drop(bytes);
        let later = files.get(i + 1..).unwrap_or_default();
        for other in later {
            let bytes = reader::read_file(storage, &other.path)?;
            report.bytes_dropped += bytes.len() as u64;
            report.intact_frames_dropped += count_intact_frames(&bytes, 0);
        }
        // Newest first, so an interrupted repair leaves a prefix that a rerun finishes.
        for other in later.iter().rev() {
            storage
                .remove(&other.path)
                .map_err(|source| reader::io_error(storage, &other.path, source))?;
            report.removed_files.push(display_path(storage, &other.path));
        }
        report.removed_files.reverse();
        let file_removed = cut_file(storage, file, scan.valid_end)?;
        report.cut = Some(RepairCut {
            path: display_path(storage, &file.path),
            offset: if file_removed { 0 } else { scan.valid_end },
            defect: at.defect,
            file_removed,
        });
        break;
    }
    Ok(report)
}

/// Frames with a valid checksum after the defect at `defect_offset` (0: the whole file, if its
/// header is valid).
fn count_intact_frames(bytes: &[u8], defect_offset: u64) -> u64 {
    if super::format::decode_header(bytes).is_err() {
        return 0;
    }
    let mut walker = FrameWalker::new(bytes, HEADER_LEN);
    let mut count = 0;
    while let Some(step) = walker.step() {
        if let Step::Frame(f) = step
            && f.offset > defect_offset
            && f.crc_ok()
        {
            count += 1;
        }
    }
    count
}
