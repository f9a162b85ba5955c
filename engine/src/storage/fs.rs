//! The real filesystem.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::{AppendFile, FileBytes, Storage, SyncHandle, mmap};

/// Files below a root directory, with mmap for reads and fsync'd atomic replacement.
#[derive(Debug)]
pub struct FsStorage {
    root: PathBuf,
    tmp_counter: AtomicU64,
}

impl FsStorage {
    /// A storage rooted at `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(Self { root, tmp_counter: AtomicU64::new(0) })
    }

    fn abs(&self, path: &Path) -> PathBuf {
        self.root.join(path)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[derive(Debug)]
struct FsAppendFile {
    file: File,
    len: u64,
}

impl AppendFile for FsAppendFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)?;
        self.len += data.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn sync_handle(&self) -> io::Result<Box<dyn SyncHandle>> {
        Ok(Box::new(FsSyncHandle { file: self.file.try_clone()? }))
    }
}

/// A duplicated descriptor of an append file; `fdatasync` on it covers the shared inode.
#[derive(Debug)]
struct FsSyncHandle {
    file: File,
}

impl SyncHandle for FsSyncHandle {
    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

impl Storage for FsStorage {
    fn read(&self, path: &Path) -> io::Result<Bytes> {
        let file = File::open(self.abs(path))?;
        mmap::map_file(&file)
    }

    fn read_file(&self, path: &Path) -> io::Result<FileBytes> {
        let file = File::open(self.abs(path))?;
        mmap::map_file_bytes(&file)
    }

    fn write_atomic(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let target = self.abs(path);
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir)?;
        let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let result = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(data)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp, &target)?;
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ignored_cleanup = fs::remove_file(&tmp);
        }
        result
    }

    fn write_new_files(&self, files: &[(&Path, &[u8])]) -> io::Result<()> {
        // One filesystem-wide sync for the whole set instead of two fsyncs per file: a flush
        // writes one segment per partition, and per-file fsyncs dominated its cost.
        for (path, data) in files {
            let target = self.abs(path);
            if let Some(dir) = target.parent() {
                fs::create_dir_all(dir)?;
            }
            // Truncate rather than refuse: a leftover of an attempt that failed before its commit
            // may hold the name.
            let mut file =
                OpenOptions::new().write(true).create(true).truncate(true).open(&target)?;
            file.write_all(data)?;
        }
        if !files.is_empty() {
            rustix::fs::syncfs(File::open(&self.root)?)?;
        }
        Ok(())
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let target = self.abs(path);
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        let existed = target.exists();
        let file = OpenOptions::new().create(true).append(true).open(&target)?;
        if !existed {
            file.sync_all()?;
            sync_dir(&dir)?;
        }
        let len = file.metadata()?.len();
        Ok(Box::new(FsAppendFile { file, len }))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(self.abs(path))?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let abs = self.abs(dir);
        let entries = match fs::read_dir(&abs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_file()
                && let Some(name) = entry.file_name().to_str()
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn list_dirs(&self, dir: &Path) -> io::Result<Vec<String>> {
        let entries = match fs::read_dir(self.abs(dir)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir()
                && let Some(name) = entry.file_name().to_str()
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(self.abs(path)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let abs = self.abs(dir);
        if abs.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(&abs)?;
        // Make the new entries durable up to the root.
        let mut cur = abs.as_path();
        while let Some(parent) = cur.parent() {
            sync_dir(parent)?;
            if parent == self.root {
                break;
            }
            cur = parent;
        }
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        self.abs(path).exists()
    }

    fn size(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(self.abs(path))?.len())
    }

    fn root(&self) -> Option<&Path> {
        Some(&self.root)
    }
}
