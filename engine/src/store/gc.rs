//! Deferred deletion: files a new version no longer references are deleted only once no
//! reader still holds any older version, which may reference them.

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::Version;
use crate::segment::{ColumnCache, SegmentReader};
use crate::storage::Storage;

#[derive(Debug)]
struct Grave {
    /// Generation of the version that stopped referencing the files; every version before
    /// it may still reference them.
    dead_at: u64,
    files: Vec<PathBuf>,
    segments: Vec<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    graves: Vec<Grave>,
    /// Superseded versions (generation, weak handle) some reader may still hold.
    superseded: Vec<(u64, Weak<Version>)>,
}

/// Files waiting for their last reader.
#[derive(Debug, Default)]
pub(crate) struct Graveyard {
    inner: Mutex<Inner>,
}

impl Graveyard {
    /// Records that `old` was replaced by a version of generation `new_generation` that no
    /// longer references `files` (and `segments`).
    pub(crate) fn bury(
        &self,
        old: &Arc<Version>,
        new_generation: u64,
        files: Vec<PathBuf>,
        segments: Vec<u64>,
    ) {
        let mut inner = self.inner.lock();
        inner.superseded.push((old.manifest.generation, Arc::downgrade(old)));
        if !files.is_empty() || !segments.is_empty() {
            inner.graves.push(Grave { dead_at: new_generation, files, segments });
        }
    }

    /// Deletes what no live version references; returns the number of files removed. A
    /// deletion error is returned and its grave kept for the next attempt.
    pub(crate) fn collect(
        &self,
        storage: &dyn Storage,
        cache: &ColumnCache,
        readers: &Mutex<std::collections::HashMap<u64, Arc<SegmentReader>>>,
    ) -> std::io::Result<usize> {
        let ready: Vec<Grave> = {
            let mut inner = self.inner.lock();
            inner.superseded.retain(|(_, v)| v.strong_count() > 0);
            let oldest_alive = inner.superseded.iter().map(|(g, _)| *g).min();
            let (ready, waiting): (Vec<Grave>, Vec<Grave>) = inner
                .graves
                .drain(..)
                .partition(|g| oldest_alive.is_none_or(|oldest| oldest >= g.dead_at));
            inner.graves = waiting;
            ready
        };
        let mut removed = 0;
        let mut result = Ok(());
        let mut retry = Vec::new();
        for grave in ready {
            for &id in &grave.segments {
                cache.forget_segment(id);
                readers.lock().remove(&id);
            }
            let mut failed = false;
            for file in &grave.files {
                match storage.remove(file) {
                    Ok(()) => removed += 1,
                    Err(e) => {
                        failed = true;
                        result = Err(e);
                    }
                }
            }
            if failed {
                retry.push(grave);
            }
        }
        self.inner.lock().graves.extend(retry);
        result.map(|()| removed)
    }
}
