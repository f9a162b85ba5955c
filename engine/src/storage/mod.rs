//! The narrow storage seam every on-disk byte goes through.
//!
//! Two implementations: [`FsStorage`] (the real filesystem, with mmap for immutable files) and
//! [`MemStorage`] (in memory, with crash simulation: everything not synced is lost on
//! [`MemStorage::crash`]). The engine never touches `std::fs` outside this module, so the crash
//! tests exercise exactly the code paths production runs.

mod fs;
mod mem;
mod mmap;

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;

pub use fs::FsStorage;
pub use mem::{MemStorage, SyncPoint};
pub use mmap::FileBytes;
#[cfg(all(test, target_os = "linux"))]
pub(crate) use mmap::resident_kib;

/// A file opened for appending (the WAL). Bytes written are visible to readers of the same
/// storage at once; they survive a crash only after [`AppendFile::sync`].
pub trait AppendFile: Send + Debug {
    /// Appends `data` at the end of the file.
    fn append(&mut self, data: &[u8]) -> io::Result<()>;
    /// Makes every appended byte durable (fdatasync).
    fn sync(&mut self) -> io::Result<()>;
    /// The current length of the file in bytes.
    fn len(&self) -> u64;
    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A handle that makes this file's appended bytes durable without borrowing the file, so a
    /// group-commit leader can fsync while other threads keep appending. A sync through the
    /// handle covers at least every byte appended before it started.
    fn sync_handle(&self) -> io::Result<Box<dyn SyncHandle>>;
}

/// Syncs an append file independently of its writer (see [`AppendFile::sync_handle`]).
pub trait SyncHandle: Send + Sync + Debug {
    /// Makes every byte appended to the file so far durable (fdatasync).
    fn sync(&self) -> io::Result<()>;
}

/// The storage seam: a handful of whole-file and append operations.
///
/// Paths are relative to the storage root and always use `/`-free components chosen by the
/// engine (never user input).
pub trait Storage: Send + Sync + Debug {
    /// Reads a whole immutable file. `FsStorage` maps it (zero copy); callers must only use it
    /// on files that are never modified after they were written.
    fn read(&self, path: &Path) -> io::Result<Bytes>;
    /// Reads a whole immutable file like [`Storage::read`], keeping what is needed to give
    /// its resident pages back after a read ([`FileBytes::release_resident`]). The default
    /// holds the bytes of [`Storage::read`] (nothing to release).
    fn read_file(&self, path: &Path) -> io::Result<FileBytes> {
        Ok(FileBytes::owned(self.read(path)?))
    }
    /// Writes a whole file atomically and durably: temp file in the same directory, fsync,
    /// rename over `path`, fsync the directory. After `Ok`, a crash leaves either the old file
    /// (or none) or the complete new one.
    fn write_atomic(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Creates files that did not exist before (fresh names no version references) and
    /// makes their contents and directory entries durable together, before returning. A
    /// crash before it returns may leave any subset of them, possibly partial: callers only
    /// reference the files (by committing a manifest) after this returned `Ok`.
    fn write_new_files(&self, files: &[(&Path, &[u8])]) -> io::Result<()> {
        for (path, data) in files {
            self.write_atomic(path, data)?;
        }
        Ok(())
    }
    /// Creates a new, empty file for appending (its directory entry is made durable), or opens
    /// an existing one positioned at its end.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>>;
    /// Truncates a file to `len` bytes and syncs it (torn-tail repair).
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Lists the names of the entries of a directory (files only), sorted. A missing directory
    /// lists as empty.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Lists the names of the subdirectories of a directory, sorted. A missing directory lists
    /// as empty.
    fn list_dirs(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Removes a file; a missing file is not an error.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Creates a directory and its parents (durably).
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Whether a file exists.
    fn exists(&self, path: &Path) -> bool;
    /// The size of a file in bytes.
    fn size(&self, path: &Path) -> io::Result<u64>;
    /// Where relative paths are anchored, for messages and external tools (`None` in memory).
    fn root(&self) -> Option<&Path>;
}

/// Joins a storage-relative path for display in errors.
pub(crate) fn display_path(storage: &dyn Storage, path: &Path) -> PathBuf {
    match storage.root() {
        Some(root) => root.join(path),
        None => Path::new("mem:").join(path),
    }
}

#[cfg(test)]
mod conformance;
