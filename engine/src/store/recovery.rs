//! Opening a store: read the manifest, map the indexes, remove what an interrupted flush left
//! behind, replay the WAL into the memtables.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

use super::{
    Inner, RecoveryReport, State, Store, StoreOptions, SymbolMeta, TableState, TableVersion,
    Version, gc, wal_dir,
};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::index::TableIndex;
use crate::manifest::Manifest;
use crate::segment::ColumnCache;
use crate::storage::{Storage, display_path};
use crate::wal::{self, Lsn, WalWriter};

fn load_version(
    storage: &dyn Storage,
    manifest: Manifest,
    load_kernels: bool,
) -> Result<(Version, BTreeMap<String, TableState>)> {
    let mut tables = BTreeMap::new();
    let mut states = BTreeMap::new();
    for (name, tm) in &manifest.tables {
        let spec = tm.spec(name)?;
        let index = match &tm.index {
            Some(p) => {
                let path = PathBuf::from(p);
                let bytes = storage
                    .read(&path)
                    .map_err(|e| Error::io("read", display_path(storage, &path), e))?;
                Some(TableIndex::open(bytes, &display_path(storage, &path))?)
            }
            None => None,
        };
        let mut state = TableState::new(spec.clone());
        if let Some(index) = &index {
            for s in index.symbols() {
                state.symbols.insert(
                    s.name.to_owned(),
                    SymbolMeta {
                        sector: s.sector.map(str::to_owned),
                        exchange: s.exchange.map(str::to_owned),
                    },
                );
            }
        }
        if let (Some(k), true) = (&tm.kernel_state, load_kernels) {
            let path = PathBuf::from(&k.path);
            let bytes = storage
                .read(&path)
                .map_err(|e| Error::io("read", display_path(storage, &path), e))?;
            if crc32c::crc32c(&bytes) != k.crc32c {
                return Err(Error::Corrupt {
                    reason: format!(
                        "kernel state {}: crc32c does not match the manifest",
                        display_path(storage, &path).display()
                    ),
                });
            }
            state.kernels =
                Arc::new(crate::kernel::state_file::decode(&bytes, &display_path(storage, &path))?);
        }
        let segments = tm.segments.iter().map(|s| (s.id, Arc::new(s.clone()))).collect();
        tables.insert(
            name.clone(),
            Arc::new(TableVersion { spec, manifest: tm.clone(), segments, index }),
        );
        states.insert(name.clone(), state);
    }
    Ok((Version { manifest, tables }, states))
}

fn is_ours(name: &str) -> bool {
    (name.starts_with("seg-") && name.ends_with(".parquet"))
        || (name.starts_with("corr-") && name.ends_with(".parquet"))
        || name.ends_with(".idx")
        || name.ends_with(".state")
        || (name.starts_with('.') && name.ends_with(".tmp"))
}

/// Removes files of ours that the manifest does not reference (an interrupted flush or
/// compaction, or deletions pending at a crash).
fn remove_orphans(storage: &dyn Storage, manifest: &Manifest) -> Result<usize> {
    let mut live: HashSet<PathBuf> = HashSet::new();
    for t in manifest.tables.values() {
        live.extend(t.segments.iter().map(|s| PathBuf::from(&s.path)));
        live.extend(t.index.iter().map(PathBuf::from));
        live.extend(t.corrections.iter().map(|c| PathBuf::from(&c.path)));
        live.extend(t.kernel_state.iter().map(|k| PathBuf::from(&k.path)));
    }
    let mut dirs: Vec<PathBuf> =
        vec![PathBuf::from("_meta"), PathBuf::from("_meta/index"), PathBuf::from("_meta/kernel")];
    for table in storage
        .list_dirs(Path::new(""))
        .map_err(|e| Error::io("list", display_path(storage, Path::new("")), e))?
    {
        if table.starts_with('_') || crate::table::TableName::new(&table).is_err() {
            continue;
        }
        let dir = PathBuf::from(&table);
        for part in storage
            .list_dirs(&dir)
            .map_err(|e| Error::io("list", display_path(storage, &dir), e))?
        {
            if part.starts_with("month=") || part.starts_with("day=") {
                dirs.push(dir.join(part));
            }
        }
    }
    for table in storage.list_dirs(Path::new("_meta/corrections")).unwrap_or_default() {
        dirs.push(Path::new("_meta/corrections").join(table));
    }
    let mut removed = 0;
    for dir in dirs {
        let names =
            storage.list(&dir).map_err(|e| Error::io("list", display_path(storage, &dir), e))?;
        for name in names.into_iter().filter(|n| is_ours(n)) {
            let path = dir.join(&name);
            if !live.contains(&path) {
                storage
                    .remove(&path)
                    .map_err(|e| Error::io("remove", display_path(storage, &path), e))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

impl Store {
    pub(crate) fn open_inner(
        storage: Arc<dyn Storage>,
        options: StoreOptions,
        clock: Arc<dyn Clock>,
        lock: Option<std::fs::File>,
    ) -> Result<Store> {
        let read_only = options.read_only;
        if !read_only {
            storage.create_dir_all(Path::new("_meta")).map_err(|e| {
                Error::io("create", display_path(storage.as_ref(), Path::new("_meta")), e)
            })?;
        }
        let manifest = Manifest::load(storage.as_ref())?.unwrap_or_default();
        let mut recovery = RecoveryReport::default();
        if !read_only {
            recovery.orphans_removed = remove_orphans(storage.as_ref(), &manifest)?;
        }
        let symbols = crate::symbols::file::load(storage.as_ref())?;
        let checkpoint = Lsn(manifest.checkpoint_lsn.max(1));
        let (version, tables) = load_version(storage.as_ref(), manifest, !read_only)?;
        let cache_bytes = options.cache_bytes;
        let roll = options.wal_roll_bytes;
        // No user handle yet (`handles: None`): recovery needs the only reference at the end.
        let store = Store {
            _handles: None,
            inner: Arc::new(Inner {
                storage: storage.clone(),
                options,
                clock,
                state: RwLock::new(State { version: Arc::new(version), tables }),
                write_lock: Mutex::new(()),
                commit_lock: Mutex::new(()),
                wal: OnceLock::new(),
                readers: Mutex::new(Default::default()),
                cache: ColumnCache::new(cache_bytes),
                gc: gc::Graveyard::default(),
                failed_flush: Mutex::new(None),
                background_flush: Mutex::new(None),
                flush_pool: std::sync::OnceLock::new(),
                recovery: Default::default(),
                symbols: RwLock::new(Arc::new(symbols)),
                symbols_lock: Mutex::new(()),
                _lock: lock,
            }),
        };
        if read_only {
            return Ok(Store::for_users(store.inner));
        }
        let outcome = wal::replay(storage.as_ref(), &wal_dir(), checkpoint, |lsn, payload| {
            store.replay_record(lsn, payload)
        })
        .map_err(wal::ReplayError::into_inner)?;
        recovery.frames_replayed = outcome.frames_applied;
        recovery.torn_tail = outcome.torn_tail.map(|t| (t.path, t.offset, t.dropped_bytes));
        let next = Lsn(outcome.next_lsn.0.max(checkpoint.0));
        let writer = WalWriter::open(storage.clone(), wal_dir(), next, roll)?;
        let _ = store.inner.wal.set(writer);
        // Recovery facts are fixed once open returns.
        let inner = Arc::into_inner(store.inner).ok_or_else(|| Error::Corrupt {
            reason: "store handle escaped during recovery".into(),
        })?;
        Ok(Store::for_users(Arc::new(Inner { recovery, ..inner })))
    }
}
