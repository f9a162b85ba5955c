//! How a store is opened: storage, clock, durability and thresholds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::storage::{FsStorage, Storage};
use crate::store::Store;
use crate::wal::Durability;

/// Options of a store; build with [`Store::builder`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub(crate) durability: Durability,
    pub(crate) flush_rows: usize,
    pub(crate) flush_bytes: usize,
    pub(crate) flush_age: Option<Duration>,
    pub(crate) background_flush: bool,
    pub(crate) cache_bytes: usize,
    pub(crate) wal_roll_bytes: u64,
    pub(crate) read_only: bool,
    pub(crate) stock_session_tz: chrono_tz::Tz,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Durable,
            flush_rows: 1_000_000,
            flush_bytes: 128 << 20,
            flush_age: Some(Duration::from_secs(300)),
            background_flush: true,
            cache_bytes: 1 << 30,
            wal_roll_bytes: 64 << 20,
            read_only: false,
            stock_session_tz: chrono_tz::America::New_York,
        }
    }
}

/// Builder for [`Store`].
#[derive(Debug)]
pub struct StoreBuilder {
    target: Target,
    options: StoreOptions,
    clock: Arc<dyn Clock>,
}

#[derive(Debug)]
enum Target {
    Dir(PathBuf),
    Storage(Arc<dyn Storage>),
}

impl StoreBuilder {
    pub(crate) fn for_dir(dir: PathBuf) -> Self {
        Self {
            target: Target::Dir(dir),
            options: StoreOptions::default(),
            clock: Arc::new(SystemClock::default()),
        }
    }

    pub(crate) fn for_storage(storage: Arc<dyn Storage>) -> Self {
        Self {
            target: Target::Storage(storage),
            options: StoreOptions::default(),
            clock: Arc::new(SystemClock::default()),
        }
    }

    /// The default persist mode of appends (default: [`Durability::Durable`]).
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.options.durability = durability;
        self
    }

    /// Flush the memtables once they hold this many rows (default 1,000,000).
    pub fn with_flush_rows(mut self, rows: usize) -> Self {
        self.options.flush_rows = rows.max(1);
        self
    }

    /// Flush the memtables once they hold this many bytes (default 128 MiB).
    pub fn with_flush_bytes(mut self, bytes: usize) -> Self {
        self.options.flush_bytes = bytes.max(1);
        self
    }

    /// Flush on the next write once the oldest unflushed row is this old (default 5 minutes;
    /// `None` disables the age trigger).
    pub fn with_flush_age(mut self, age: Option<Duration>) -> Self {
        self.options.flush_age = age;
        self
    }

    /// Whether a flush triggered by an append (a threshold reached) runs on a background
    /// thread while appends continue (default `true`). An append that reaches the next
    /// threshold while that flush still runs waits for it, so memory stays bounded by one
    /// frozen and one active memtable.
    /// With `false` the triggering append flushes before it returns. [`Store::flush`] always
    /// waits for a background flush first and then flushes in the caller's thread.
    pub fn with_background_flush(mut self, background: bool) -> Self {
        self.options.background_flush = background;
        self
    }

    /// Budget of the decoded-column cache (default 1 GiB).
    pub fn with_cache_bytes(mut self, bytes: usize) -> Self {
        self.options.cache_bytes = bytes;
        self
    }

    /// Start a new WAL file past this size (default 64 MiB).
    pub fn with_wal_roll_bytes(mut self, bytes: u64) -> Self {
        self.options.wal_roll_bytes = bytes.max(4096);
        self
    }

    /// The clock for lineage timestamps (tests inject a [`ManualClock`](crate::ManualClock)).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Open without taking the writer lock, replaying nothing to disk: for inspecting a store
    /// another process writes to. Writes are refused.
    pub fn read_only(mut self) -> Self {
        self.options.read_only = true;
        self
    }

    /// The session time zone of intraday stock tables (F2.2; default `America/New_York`,
    /// right for US listings). Crypto tables always use UTC; daily bars are their own session.
    pub fn with_stock_session_tz(mut self, tz: chrono_tz::Tz) -> Self {
        self.options.stock_session_tz = tz;
        self
    }

    /// Opens (or creates) the store.
    pub fn open(self) -> Result<Store> {
        let (storage, lock) = match self.target {
            Target::Dir(dir) => {
                let fs = FsStorage::new(&dir).map_err(|e| Error::io("create", &dir, e))?;
                let lock = if self.options.read_only { None } else { Some(lock_dir(&dir)?) };
                (Arc::new(fs) as Arc<dyn Storage>, lock)
            }
            Target::Storage(s) => (s, None),
        };
        Store::open_inner(storage, self.options, self.clock, lock)
    }
}

fn lock_dir(dir: &std::path::Path) -> Result<std::fs::File> {
    let meta = dir.join("_meta");
    std::fs::create_dir_all(&meta).map_err(|e| Error::io("create", &meta, e))?;
    let path = meta.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(Error::Locked { path: dir.to_path_buf(), lock: path })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}
