//! In-memory storage with crash simulation and fault injection, for tests.
//!
//! Model: `write_atomic`, directory creation and `truncate` are durable when they return `Ok`;
//! appended bytes are durable only up to the last `sync`. [`MemStorage::crash`] throws away
//! everything that was not durable, optionally keeping a torn prefix of the unsynced tail, as
//! a power loss would. [`MemStorage::fail_at_sync_point`] makes the n-th durability operation
//! fail (and every operation after it), which is how crash tests "crash" at each sync point.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use super::{AppendFile, Storage, SyncHandle};

#[derive(Debug, Default, Clone)]
struct MemFile {
    data: Vec<u8>,
    synced_len: usize,
}

#[derive(Debug, Default)]
struct Inner {
    files: BTreeMap<PathBuf, MemFile>,
    sync_points: u64,
    fail_at: Option<u64>,
    /// The injected failure hits one operation only (a transient error).
    transient: bool,
    failed: bool,
}

impl Inner {
    /// Counts a durability operation; errors if it is (or is after) the injected failure.
    fn sync_point(&mut self) -> io::Result<()> {
        if self.failed {
            return Err(crashed());
        }
        self.sync_points += 1;
        if self.fail_at == Some(self.sync_points) {
            self.failed = !self.transient;
            return Err(crashed());
        }
        Ok(())
    }

    fn check(&self) -> io::Result<()> {
        if self.failed { Err(crashed()) } else { Ok(()) }
    }
}

fn crashed() -> io::Error {
    io::Error::other("simulated crash: storage is down")
}

/// A sync point reached so far: how many durability operations ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SyncPoint(pub u64);

/// In-memory storage; clones share the same files.
#[derive(Clone, Default)]
pub struct MemStorage {
    inner: Arc<Mutex<Inner>>,
}

impl fmt::Debug for MemStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.lock();
        f.debug_struct("MemStorage").field("files", &inner.files.len()).finish()
    }
}

impl MemStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many durability operations (syncs, atomic writes, truncations) ran so far.
    pub fn sync_points(&self) -> SyncPoint {
        SyncPoint(self.inner.lock().sync_points)
    }

    /// Makes the `n`-th durability operation from now fail, and every operation after it,
    /// until [`MemStorage::crash`].
    pub fn fail_at_sync_point(&self, n: u64) {
        let mut inner = self.inner.lock();
        inner.fail_at = Some(inner.sync_points + n);
        inner.transient = false;
    }

    /// Makes only the `n`-th durability operation from now fail (a transient I/O error);
    /// everything before and after it works.
    pub fn fail_once_at_sync_point(&self, n: u64) {
        let mut inner = self.inner.lock();
        inner.fail_at = Some(inner.sync_points + n);
        inner.transient = true;
    }

    /// Simulates a power loss: unsynced appended bytes are lost, except `torn_keep(len)`
    /// bytes of each unsynced tail (a torn write); then the storage works again.
    pub fn crash_with(&self, mut torn_keep: impl FnMut(usize) -> usize) {
        let mut inner = self.inner.lock();
        for file in inner.files.values_mut() {
            let unsynced = file.data.len() - file.synced_len;
            let keep = torn_keep(unsynced).min(unsynced);
            file.data.truncate(file.synced_len + keep);
            file.synced_len = file.data.len();
        }
        inner.failed = false;
        inner.fail_at = None;
        inner.transient = false;
    }

    /// Simulates a power loss that loses every unsynced byte.
    pub fn crash(&self) {
        self.crash_with(|_| 0);
    }

    /// Flips one bit of a stored file (corruption tests).
    pub fn corrupt(&self, path: &Path, offset: usize) -> io::Result<()> {
        let mut inner = self.inner.lock();
        let file = inner.files.get_mut(path).ok_or_else(|| not_found(path))?;
        let byte = file.data.get_mut(offset).ok_or_else(|| io::Error::other("offset past end"))?;
        *byte ^= 0x40;
        Ok(())
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{} not found", path.display()))
}

#[derive(Debug)]
struct MemAppendFile {
    storage: MemStorage,
    path: PathBuf,
}

impl AppendFile for MemAppendFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        let mut inner = self.storage.inner.lock();
        inner.check()?;
        let file = inner.files.get_mut(&self.path).ok_or_else(|| not_found(&self.path))?;
        file.data.extend_from_slice(data);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut inner = self.storage.inner.lock();
        inner.sync_point()?;
        let file = inner.files.get_mut(&self.path).ok_or_else(|| not_found(&self.path))?;
        file.synced_len = file.data.len();
        Ok(())
    }

    fn len(&self) -> u64 {
        let inner = self.storage.inner.lock();
        inner.files.get(&self.path).map_or(0, |f| f.data.len() as u64)
    }

    fn sync_handle(&self) -> io::Result<Box<dyn SyncHandle>> {
        Ok(Box::new(MemSyncHandle { storage: self.storage.clone(), path: self.path.clone() }))
    }
}

/// Counts a sync point and marks the file durable up to its length at that moment, exactly
/// like [`AppendFile::sync`].
#[derive(Debug)]
struct MemSyncHandle {
    storage: MemStorage,
    path: PathBuf,
}

impl SyncHandle for MemSyncHandle {
    fn sync(&self) -> io::Result<()> {
        let mut inner = self.storage.inner.lock();
        inner.sync_point()?;
        let file = inner.files.get_mut(&self.path).ok_or_else(|| not_found(&self.path))?;
        file.synced_len = file.data.len();
        Ok(())
    }
}

impl Storage for MemStorage {
    fn read(&self, path: &Path) -> io::Result<Bytes> {
        let inner = self.inner.lock();
        inner.check()?;
        let file = inner.files.get(path).ok_or_else(|| not_found(path))?;
        Ok(Bytes::copy_from_slice(&file.data))
    }

    fn write_atomic(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut inner = self.inner.lock();
        inner.sync_point()?;
        inner
            .files
            .insert(path.to_path_buf(), MemFile { data: data.to_vec(), synced_len: data.len() });
        Ok(())
    }

    fn write_new_files(&self, files: &[(&Path, &[u8])]) -> io::Result<()> {
        // One sync point for the set, like the real filesystem's single syncfs.
        let mut inner = self.inner.lock();
        inner.sync_point()?;
        for (path, data) in files {
            inner.files.insert(
                path.to_path_buf(),
                MemFile { data: data.to_vec(), synced_len: data.len() },
            );
        }
        Ok(())
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let mut inner = self.inner.lock();
        if !inner.files.contains_key(path) {
            inner.sync_point()?;
            inner.files.insert(path.to_path_buf(), MemFile::default());
        } else {
            inner.check()?;
        }
        Ok(Box::new(MemAppendFile { storage: self.clone(), path: path.to_path_buf() }))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut inner = self.inner.lock();
        inner.sync_point()?;
        let file = inner.files.get_mut(path).ok_or_else(|| not_found(path))?;
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(file.data.len());
        file.data.truncate(len);
        file.synced_len = file.synced_len.min(len);
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let inner = self.inner.lock();
        inner.check()?;
        let mut names: Vec<String> = inner
            .files
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    fn list_dirs(&self, dir: &Path) -> io::Result<Vec<String>> {
        let inner = self.inner.lock();
        inner.check()?;
        let mut names: Vec<String> = inner
            .files
            .keys()
            .filter_map(|p| p.strip_prefix(dir).ok())
            .filter(|rest| rest.components().count() > 1)
            .filter_map(|rest| rest.components().next())
            .filter_map(|c| c.as_os_str().to_str().map(str::to_owned))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut inner = self.inner.lock();
        inner.check()?;
        inner.files.remove(path);
        Ok(())
    }

    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        self.inner.lock().check()
    }

    fn exists(&self, path: &Path) -> bool {
        self.inner.lock().files.contains_key(path)
    }

    fn size(&self, path: &Path) -> io::Result<u64> {
        let inner = self.inner.lock();
        inner.files.get(path).map(|f| f.data.len() as u64).ok_or_else(|| not_found(path))
    }

    fn root(&self) -> Option<&Path> {
        None
    }
}
