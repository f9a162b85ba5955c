//! Appending frames, rolling files and group commit.
//!
//! Two locks, always taken in this order and never the other way round: `active` (the file
//! being appended to) and then `commit` (group-commit bookkeeping). The fsync itself runs
//! under neither, through a [`SyncHandle`], so appenders are never blocked by a sync in flight.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex};

#[cfg(test)]
use super::Durability;
use super::format::{self, HEADER_LEN, MAX_PAYLOAD_LEN};
use super::reader::{self, io_error};
use super::{Lsn, WalError};
use crate::storage::{AppendFile, Storage, SyncHandle, display_path};

/// Appends frames to the log in a directory. Thread-safe: share it by reference or `Arc`.
///
/// Durability is explicit: [`WalWriter::append`] hands the frame to the OS
/// ([`Durability::Buffered`]); [`WalWriter::sync`] (or [`WalWriter::append_with`] with
/// [`Durability::Durable`]) waits until it is fsync'd. After any I/O failure the writer is
/// poisoned and every later call fails with [`WalError::Poisoned`]: a failed fsync leaves the
/// file in an unknown state, so the only way on is to reopen and replay.
#[derive(Debug)]
pub(crate) struct WalWriter {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    roll_bytes: u64,
    active: Mutex<Active>,
    commit: Mutex<Commit>,
    commit_done: Condvar,
    poison: OnceLock<PathBuf>,
}

/// The file being appended to.
#[derive(Debug)]
struct Active {
    file: Box<dyn AppendFile>,
    path: PathBuf,
    first_lsn: Lsn,
    /// The LSN the next frame gets; every smaller LSN has been written to the OS.
    next_lsn: Lsn,
    /// Bytes written to `file` (header included).
    len: u64,
    sync_handle: Arc<dyn SyncHandle>,
    /// Older files still on disk, oldest first, with their first LSNs.
    older: Vec<(Lsn, PathBuf)>,
    /// Reused frame buffer.
    buf: Vec<u8>,
}

/// Group-commit state.
#[derive(Debug)]
struct Commit {
    /// Every LSN below this is durable.
    durable_below: Lsn,
    /// A leader is fsyncing right now; others wait on `commit_done`.
    leader_active: bool,
}

impl WalWriter {
    /// Opens a writer that starts a new file `wal-{next_lsn}.log` in `dir`; it never appends
    /// to an existing file. `next_lsn` must be [`ReplayOutcome::next_lsn`] of a replay of the
    /// same directory. A new file is started when the current one holds at least
    /// `roll_bytes` bytes.
    ///
    /// Existing files without a frame (a crash right after creating a file) are removed. The
    /// newest remaining file is fsync'd first: after a process crash its tail may still sit in
    /// the OS cache only, and frames of the new file must never become durable before it.
    ///
    /// [`ReplayOutcome::next_lsn`]: super::ReplayOutcome::next_lsn
    pub(crate) fn open(
        storage: Arc<dyn Storage>,
        dir: PathBuf,
        next_lsn: Lsn,
        roll_bytes: u64,
    ) -> Result<Self, WalError> {
        if next_lsn.0 == 0 {
            return Err(WalError::ZeroLsn);
        }
        let s = storage.as_ref();
        s.create_dir_all(&dir).map_err(|source| io_error(s, &dir, source))?;
        let mut older = Vec::new();
        for file in reader::list_files(s, &dir)? {
            let size = s.size(&file.path).map_err(|source| io_error(s, &file.path, source))?;
            if size <= HEADER_LEN as u64 {
                s.remove(&file.path).map_err(|source| io_error(s, &file.path, source))?;
            } else if file.name_lsn >= next_lsn {
                return Err(WalError::LsnReuse {
                    path: display_path(s, &file.path),
                    existing: file.name_lsn,
                    next: next_lsn,
                });
            } else {
                older.push((file.name_lsn, file.path));
            }
        }
        if let Some((_, newest)) = older.last() {
            let last = last_valid_lsn(&reader::read_file(s, newest)?);
            if let Some(last) = last.filter(|&last| last >= next_lsn) {
                return Err(WalError::LsnReuse {
                    path: display_path(s, newest),
                    existing: last,
                    next: next_lsn,
                });
            }
            let err = |source| io_error(s, newest, source);
            s.open_append(newest).map_err(err)?.sync().map_err(err)?;
        }
        let (file, path, sync_handle) = create_file(s, &dir, next_lsn)?;
        let active = Active {
            file,
            path,
            first_lsn: next_lsn,
            next_lsn,
            len: HEADER_LEN as u64,
            sync_handle,
            older,
            buf: Vec::new(),
        };
        Ok(Self {
            storage,
            dir,
            roll_bytes,
            active: Mutex::new(active),
            commit: Mutex::new(Commit { durable_below: next_lsn, leader_active: false }),
            commit_done: Condvar::new(),
            poison: OnceLock::new(),
        })
    }

    /// The LSN the next appended frame will get.
    pub(crate) fn next_lsn(&self) -> Lsn {
        self.active.lock().next_lsn
    }

    /// Appends one frame and returns its LSN. The whole frame reaches the OS in one write
    /// before this returns ([`Durability::Buffered`]); call [`WalWriter::sync`] to make it
    /// durable.
    pub(crate) fn append(&self, payload: &[u8]) -> Result<Lsn, WalError> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(WalError::PayloadTooLarge { len: payload.len(), max: MAX_PAYLOAD_LEN });
        }
        let mut active = self.active.lock();
        self.check_poison()?;
        if active.len >= self.roll_bytes && active.next_lsn > active.first_lsn {
            self.roll_locked(&mut active)?;
        }
        let active = &mut *active;
        let lsn = active.next_lsn;
        format::encode_frame_into(&mut active.buf, lsn, payload);
        if let Err(source) = active.file.append(&active.buf) {
            return Err(self.poisoned_by(&active.path, source));
        }
        active.len += active.buf.len() as u64;
        active.next_lsn = lsn.next();
        if active.buf.capacity() > BUF_KEEP {
            active.buf = Vec::new();
        }
        Ok(lsn)
    }

    /// Appends one frame and returns once it is as durable as `durability` asks.
    #[cfg(test)]
    pub(crate) fn append_with(
        &self,
        payload: &[u8],
        durability: Durability,
    ) -> Result<Lsn, WalError> {
        let lsn = self.append(payload)?;
        if durability == Durability::Durable {
            self.sync(lsn)?;
        }
        Ok(lsn)
    }

    /// Returns once every frame with LSN <= `upto` is durable. Group commit: one caller (the
    /// leader) fsyncs everything written so far while concurrent callers wait for it, so
    /// many commits share one fsync; appends continue meanwhile.
    pub(crate) fn sync(&self, upto: Lsn) -> Result<(), WalError> {
        let mut commit = self.commit.lock();
        loop {
            self.check_poison()?;
            if upto < commit.durable_below {
                return Ok(());
            }
            if !commit.leader_active {
                break;
            }
            self.commit_done.wait(&mut commit);
        }
        commit.leader_active = true;
        drop(commit);

        let (target, handle, path) = {
            let active = self.active.lock();
            (active.next_lsn, Arc::clone(&active.sync_handle), active.path.clone())
        };
        let result = if upto >= target {
            Err(WalError::NotWritten { requested: upto, next: target })
        } else {
            handle.sync().map_err(|source| self.poisoned_by(&path, source))
        };

        let mut commit = self.commit.lock();
        commit.leader_active = false;
        if result.is_ok() {
            // Frames of older files were synced when their file was rolled.
            commit.durable_below = commit.durable_below.max(target);
        }
        drop(commit);
        self.commit_done.notify_all();
        result
    }

    /// Makes everything written durable and starts a new file (no-op on an empty file).
    pub(crate) fn roll(&self) -> Result<(), WalError> {
        let mut active = self.active.lock();
        self.check_poison()?;
        if active.next_lsn == active.first_lsn {
            return Ok(());
        }
        self.roll_locked(&mut active)
    }

    /// Deletes every file all of whose frames have LSN < `checkpoint` (never the active file),
    /// oldest first, and returns how many were deleted.
    pub(crate) fn remove_obsolete(&self, checkpoint: Lsn) -> Result<usize, WalError> {
        let doomed: Vec<PathBuf> = {
            let active = self.active.lock();
            let mut doomed = Vec::new();
            for (i, (_, path)) in active.older.iter().enumerate() {
                let next_first =
                    active.older.get(i + 1).map_or(active.first_lsn, |(first, _)| *first);
                if next_first > checkpoint {
                    break;
                }
                doomed.push(path.clone());
            }
            doomed
        };
        let s = self.storage.as_ref();
        let mut removed = 0;
        let result = doomed.iter().try_for_each(|path| {
            s.remove(path).map_err(|source| io_error(s, path, source))?;
            removed += 1;
            Ok(())
        });
        let gone = doomed.get(..removed).unwrap_or_default();
        self.active.lock().older.retain(|(_, path)| !gone.contains(path));
        result.map(|()| removed)
    }

    /// Syncs the active file, then switches to a new one starting at the next LSN.
    fn roll_locked(&self, active: &mut Active) -> Result<(), WalError> {
        if let Err(source) = active.file.sync() {
            return Err(self.poisoned_by(&active.path, source));
        }
        {
            let mut commit = self.commit.lock();
            commit.durable_below = commit.durable_below.max(active.next_lsn);
        }
        self.commit_done.notify_all();
        let s = self.storage.as_ref();
        let (file, path, handle) = match create_file(s, &self.dir, active.next_lsn) {
            Ok(created) => created,
            Err(e) => {
                // Without an active file the writer cannot go on.
                let new_path = self.dir.join(format::file_name(active.next_lsn));
                let _first = self.poison.set(display_path(s, &new_path));
                self.commit_done.notify_all();
                return Err(e);
            }
        };
        let old_path = std::mem::replace(&mut active.path, path);
        active.older.push((active.first_lsn, old_path));
        active.file = file;
        active.sync_handle = handle;
        active.first_lsn = active.next_lsn;
        active.len = HEADER_LEN as u64;
        Ok(())
    }

    fn check_poison(&self) -> Result<(), WalError> {
        match self.poison.get() {
            Some(path) => Err(WalError::Poisoned { path: path.clone() }),
            None => Ok(()),
        }
    }

    /// Poisons the writer (first failure wins) and returns the error to report.
    fn poisoned_by(&self, path: &Path, source: std::io::Error) -> WalError {
        let shown = display_path(self.storage.as_ref(), path);
        let _first = self.poison.set(shown.clone());
        self.commit_done.notify_all();
        WalError::Io { path: shown, source }
    }
}

/// The LSN of the last frame of the valid prefix of a file (`None` if it has none).
fn last_valid_lsn(bytes: &[u8]) -> Option<Lsn> {
    format::decode_header(bytes).ok()?;
    let mut walker = format::FrameWalker::new(bytes, HEADER_LEN);
    let mut last = None;
    while let Some(format::Step::Frame(f)) = walker.step() {
        if !f.crc_ok() {
            break;
        }
        last = Some(f.lsn);
    }
    last
}

/// Frame buffers above this size are not kept between appends.
const BUF_KEEP: usize = 1 << 20;

type NewFile = (Box<dyn AppendFile>, PathBuf, Arc<dyn SyncHandle>);

/// Creates `wal-{first_lsn}.log` with a durable header.
fn create_file(storage: &dyn Storage, dir: &Path, first_lsn: Lsn) -> Result<NewFile, WalError> {
    let path = dir.join(format::file_name(first_lsn));
    let err = |source| io_error(storage, &path, source);
    if storage.exists(&path) {
        let source = std::io::Error::new(std::io::ErrorKind::AlreadyExists, "wal file exists");
        return Err(err(source));
    }
    let mut file = storage.open_append(&path).map_err(err)?;
    file.append(&format::encode_header(first_lsn)).map_err(err)?;
    file.sync().map_err(err)?;
    let handle = file.sync_handle().map_err(err)?;
    Ok((file, path, Arc::from(handle)))
}
