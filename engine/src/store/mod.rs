//! The store: opening and recovery, the shared state, and the handles readers snapshot.

mod append;
mod derive;
mod flush;
mod gc;
mod lookup;
mod options;
mod recovery;
mod stats;
mod symbols;
mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::clock::Clock;
use crate::corrections::Correction;
use crate::error::{Error, Result};
use crate::index::TableIndex;
use crate::manifest::{Manifest, TableManifest};
use crate::memtable::Memtable;
use crate::segment::{ColumnCache, SegmentMeta, SegmentReader};
use crate::storage::{Storage, display_path};
use crate::table::{TableName, TableSpec};
use crate::wal::WalWriter;

pub use append::{AppendOptions, AppendReport, FlaggedRow, MAX_FLAGGED_KEPT};
pub use flush::FlushReport;
pub(crate) use flush::{NewSegment, TableChange, encode_segment};
pub use options::{StoreBuilder, StoreOptions};
pub use stats::{StoreStats, SymbolSummary, TableStats};
pub use verify::VerifyReport;

/// Store-relative directory of the write-ahead log.
pub(crate) fn wal_dir() -> PathBuf {
    PathBuf::from("_meta").join("wal")
}

/// The committed, immutable state of one table: its live segments and index.
#[derive(Debug)]
pub(crate) struct TableVersion {
    pub(crate) spec: TableSpec,
    pub(crate) manifest: TableManifest,
    pub(crate) segments: BTreeMap<u64, Arc<SegmentMeta>>,
    pub(crate) index: Option<TableIndex>,
}

impl TableVersion {
    /// Live segments of a partition, in id order.
    pub(crate) fn partition_segments(&self, label: &str) -> Vec<Arc<SegmentMeta>> {
        self.segments.values().filter(|s| s.partition == label).cloned().collect()
    }
}

/// A committed version of the whole store. Readers hold an `Arc` to it for the duration of a
/// scan; files it references are deleted only once no reader holds it.
#[derive(Debug)]
pub(crate) struct Version {
    pub(crate) manifest: Manifest,
    pub(crate) tables: BTreeMap<String, Arc<TableVersion>>,
}

/// Sector and exchange of a symbol (from the last rows written that carried them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SymbolMeta {
    pub(crate) sector: Option<String>,
    pub(crate) exchange: Option<String>,
}

/// The mutable state of a table: memtables and pending corrections.
#[derive(Debug)]
pub(crate) struct TableState {
    pub(crate) spec: TableSpec,
    pub(crate) active: Memtable,
    pub(crate) frozen: Option<Arc<Memtable>>,
    pub(crate) pending_corrections: Vec<Correction>,
    pub(crate) frozen_corrections: Arc<Vec<Correction>>,
    pub(crate) symbols: BTreeMap<String, SymbolMeta>,
    /// Kernel state of every series, as of the last row in segments and memtables. Shared
    /// copy-on-write with the snapshot a flush persists.
    pub(crate) kernels: Arc<crate::kernel::state_file::States>,
}

impl TableState {
    fn new(spec: TableSpec) -> Self {
        Self {
            spec,
            active: Memtable::default(),
            frozen: None,
            pending_corrections: Vec::new(),
            frozen_corrections: Arc::new(Vec::new()),
            symbols: BTreeMap::new(),
            kernels: Arc::default(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) version: Arc<Version>,
    pub(crate) tables: BTreeMap<String, TableState>,
}

/// Everything a store handle shares.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) options: StoreOptions,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) state: RwLock<State>,
    /// Serializes writers (apply + WAL append + memtable insert).
    pub(crate) write_lock: Mutex<()>,
    /// Serializes manifest changes (flush, compaction, table declarations).
    pub(crate) commit_lock: Mutex<()>,
    pub(crate) wal: std::sync::OnceLock<WalWriter>,
    pub(crate) readers: Mutex<std::collections::HashMap<u64, Arc<SegmentReader>>>,
    pub(crate) cache: ColumnCache,
    pub(crate) gc: gc::Graveyard,
    /// Frozen memtables of a flush that failed, with its checkpoint, to commit first.
    pub(crate) failed_flush: Mutex<Option<(Vec<flush::Frozen>, crate::wal::Lsn)>>,
    /// Threads that encode a flush's segments: its own pool, so that a background flush and
    /// the appends' kernel work (on the global pool) share the cores through the OS
    /// scheduler instead of the appends' tasks queueing behind every segment encode.
    pub(crate) flush_pool: std::sync::OnceLock<Option<rayon::ThreadPool>>,
    /// The flush an append started in the background, if any (see `maybe_flush`).
    pub(crate) background_flush: Mutex<Option<std::thread::JoinHandle<Result<flush::FlushReport>>>>,
    pub(crate) recovery: RecoveryReport,
    /// The symbol master as last persisted (`_meta/SYMBOLS`); replaced whole by an upsert.
    pub(crate) symbols: RwLock<Arc<crate::symbols::SymbolMaster>>,
    /// Serializes symbol-master upserts (read, merge, write file, swap).
    pub(crate) symbols_lock: Mutex<()>,
    _lock: Option<std::fs::File>,
}

/// What opening the store found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// WAL frames replayed into the memtables.
    pub frames_replayed: u64,
    /// A torn WAL tail that was cut off: (file, offset, bytes dropped).
    pub torn_tail: Option<(PathBuf, u64, u64)>,
    /// Files no manifest referenced (left by an interrupted flush) that were removed.
    pub orphans_removed: usize,
}

/// An embedded bar store. Cheap to clone; all clones share one state. Many threads may scan
/// while one appends.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
    /// Shared by the handles users hold (`None` in a background flush's own handle): when the
    /// last of them drops, a background flush still running is waited for, so dropping a
    /// store closes it (its files written, its directory lock released) as it always did.
    _handles: Option<Arc<Closer>>,
}

impl Store {
    /// The first user handle of an opened store.
    pub(crate) fn for_users(inner: Arc<Inner>) -> Store {
        Store { _handles: Some(Arc::new(Closer(inner.clone()))), inner }
    }

    /// A handle for the engine's own background work: it does not keep the store open.
    pub(crate) fn background_handle(&self) -> Store {
        Store { inner: self.inner.clone(), _handles: None }
    }
}

/// Waits for a running background flush when the last user handle of a store drops.
#[derive(Debug)]
pub(crate) struct Closer(Arc<Inner>);

impl Drop for Closer {
    fn drop(&mut self) {
        let running = self.0.background_flush.lock().take();
        if let Some(handle) = running {
            // Its outcome is in the store: a failure left its memtables to the WAL replay.
            let _ = handle.join();
        }
    }
}

impl Store {
    /// Opens (or creates) a store in directory `dir` with default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        Self::builder(dir).open()
    }

    /// A builder for a store in directory `dir`.
    pub fn builder(dir: impl AsRef<Path>) -> StoreBuilder {
        StoreBuilder::for_dir(dir.as_ref().to_path_buf())
    }

    /// A builder for a store on any [`Storage`] (tests use [`MemStorage`](crate::MemStorage)).
    pub fn builder_with_storage(storage: Arc<dyn Storage>) -> StoreBuilder {
        StoreBuilder::for_storage(storage)
    }

    /// What opening the store recovered.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// The storage root directory (`None` for in-memory stores).
    pub fn root(&self) -> Option<&Path> {
        self.inner.storage.root()
    }

    /// Names of the tables that exist (committed or holding unflushed rows).
    pub fn tables(&self) -> Vec<String> {
        self.inner.state.read().tables.keys().cloned().collect()
    }

    /// The definition of a table.
    pub fn table_spec(&self, table: &str) -> Result<TableSpec> {
        let state = self.inner.state.read();
        state
            .tables
            .get(table)
            .map(|t| t.spec.clone())
            .or_else(|| TableSpec::from_conventional_name(table))
            .ok_or_else(|| Error::UnknownTable { table: table.to_owned() })
    }

    /// Declares a table with a non-conventional name or timeframe (for example
    /// `TableSpec { name: "stocks_15m", asset_class: Stocks, timeframe: Min15 }`). Declaring
    /// an existing table with the same definition is a no-op.
    pub fn declare_table(&self, spec: TableSpec) -> Result<()> {
        self.check_writable()?;
        let _commit = self.inner.commit_lock.lock();
        let _write = self.inner.write_lock.lock();
        let mut state = self.inner.state.write();
        if let Some(existing) = state.tables.get(spec.name.as_str()) {
            return if existing.spec == spec {
                Ok(())
            } else {
                Err(Error::TableConflict { table: spec.name.to_string() })
            };
        }
        let mut manifest = state.version.manifest.clone();
        manifest.generation += 1;
        manifest.tables.insert(spec.name.to_string(), TableManifest::new(&spec));
        manifest.store(self.inner.storage.as_ref())?;
        let mut tables = state.version.tables.clone();
        tables.insert(
            spec.name.to_string(),
            Arc::new(TableVersion {
                spec: spec.clone(),
                manifest: TableManifest::new(&spec),
                segments: BTreeMap::new(),
                index: None,
            }),
        );
        state.version = Arc::new(Version { manifest, tables });
        state.tables.insert(spec.name.to_string(), TableState::new(spec));
        Ok(())
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.inner.options.read_only {
            return Err(Error::ReadOnly);
        }
        Ok(())
    }

    /// Resolves a table for writing: existing, or created on demand for conventional names.
    pub(crate) fn resolve_table<'a>(
        state: &'a mut State,
        table: &str,
    ) -> Result<&'a mut TableState> {
        if !state.tables.contains_key(table) {
            TableName::new(table)?;
            let spec = TableSpec::from_conventional_name(table)
                .ok_or_else(|| Error::UnknownTable { table: table.to_owned() })?;
            state.tables.insert(table.to_owned(), TableState::new(spec));
        }
        state.tables.get_mut(table).ok_or_else(|| Error::UnknownTable { table: table.to_owned() })
    }

    /// An open reader for a live segment (verified and footer-parsed once, then shared).
    pub(crate) fn segment_reader(&self, meta: &Arc<SegmentMeta>) -> Result<Arc<SegmentReader>> {
        if let Some(r) = self.inner.readers.lock().get(&meta.id) {
            return Ok(r.clone());
        }
        let path = PathBuf::from(&meta.path);
        let storage = self.inner.storage.as_ref();
        let file = storage
            .read_file(&path)
            .map_err(|e| Error::io("read", display_path(storage, &path), e))?;
        let reader =
            Arc::new(SegmentReader::open(meta.clone(), display_path(storage, &path), file)?);
        self.inner.readers.lock().insert(meta.id, reader.clone());
        Ok(reader)
    }

    /// Bytes held by the decoded-column cache.
    pub fn cache_bytes(&self) -> usize {
        self.inner.cache.bytes()
    }
}
