//! Deferred deletion: files a new version no longer references are deleted only once no
//! reader still holds a version that does.

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::Version;
use crate::segment::{ColumnCache, SegmentReader};
use crate::storage::Storage;

#[derive(Debug)]
struct Grave {
    version: Weak<Version>,
    files: Vec<PathBuf>,
    segments: Vec<u64>,
}

/// Files waiting for their last reader.
#[derive(Debug, Default)]
pub(crate) struct Graveyard {
    graves: Mutex<Vec<Grave>>,
}

impl Graveyard {
    /// Schedules `files` (and the cached state of `segments`) for deletion once `version`
    /// (the last version referencing them) is dropped by every reader.
    pub(crate) fn bury(&self, version: &Arc<Version>, files: Vec<PathBuf>, segments: Vec<u64>) {
        if files.is_empty() && segments.is_empty() {
            return;
        }
        self.graves.lock().push(Grave { version: Arc::downgrade(version), files, segments });
    }

    /// Deletes what is no longer visible; returns the number of files removed. Deletion
    /// errors are returned, and the grave is kept for the next attempt.
    pub(crate) fn collect(
        &self,
        storage: &dyn Storage,
        cache: &ColumnCache,
        readers: &Mutex<std::collections::HashMap<u64, Arc<SegmentReader>>>,
    ) -> std::io::Result<usize> {
        let ready: Vec<Grave> = {
            let mut graves = self.graves.lock();
            let (dead, alive): (Vec<Grave>, Vec<Grave>) =
                graves.drain(..).partition(|g| g.version.strong_count() == 0);
            *graves = alive;
            dead
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
        self.graves.lock().extend(retry);
        result.map(|()| removed)
    }
}
