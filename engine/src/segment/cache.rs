//! A byte-budgeted cache of decoded segment columns.
//!
//! Segments are immutable, so a decoded column never goes stale; entries of deleted segments
//! are dropped explicitly. Scans slice cached arrays (zero copy), which is what makes warm
//! point and range reads cost microseconds instead of a Parquet decode.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{Array, ArrayRef};
use parking_lot::Mutex;

#[derive(Debug)]
struct Entry {
    array: ArrayRef,
    bytes: usize,
    last_used: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<(u64, usize), Entry>,
    bytes: usize,
}

/// Decoded columns keyed by (segment id, column), evicted least-recently-used past a budget.
#[derive(Debug)]
pub(crate) struct ColumnCache {
    inner: Mutex<Inner>,
    tick: AtomicU64,
    budget: usize,
}

impl ColumnCache {
    pub(crate) fn new(budget: usize) -> Self {
        Self { inner: Mutex::new(Inner::default()), tick: AtomicU64::new(0), budget }
    }

    pub(crate) fn get(&self, segment: u64, column: usize) -> Option<ArrayRef> {
        let inner = self.inner.lock();
        let entry = inner.map.get(&(segment, column))?;
        entry.last_used.store(self.tick.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Some(entry.array.clone())
    }

    pub(crate) fn insert(&self, segment: u64, column: usize, array: ArrayRef) {
        let bytes = array.get_array_memory_size();
        if bytes > self.budget {
            return;
        }
        let mut inner = self.inner.lock();
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = inner
            .map
            .insert((segment, column), Entry { array, bytes, last_used: AtomicU64::new(tick) })
        {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        if inner.bytes > self.budget {
            // Evict the oldest entries down to 3/4 of the budget in one pass.
            let target = self.budget / 4 * 3;
            let mut ages: Vec<(u64, (u64, usize), usize)> = inner
                .map
                .iter()
                .map(|(k, e)| (e.last_used.load(Ordering::Relaxed), *k, e.bytes))
                .collect();
            ages.sort_unstable();
            for (_, key, size) in ages {
                if inner.bytes <= target {
                    break;
                }
                inner.map.remove(&key);
                inner.bytes -= size;
            }
        }
    }

    /// Drops every cached column of a segment (after it was compacted away).
    pub(crate) fn forget_segment(&self, segment: u64) {
        let mut inner = self.inner.lock();
        let keys: Vec<_> = inner.map.keys().filter(|k| k.0 == segment).copied().collect();
        for k in keys {
            if let Some(e) = inner.map.remove(&k) {
                inner.bytes -= e.bytes;
            }
        }
    }

    /// Bytes currently cached.
    pub(crate) fn bytes(&self) -> usize {
        self.inner.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Float64Array;

    use super::*;

    #[test]
    fn evicts_least_recently_used_past_budget() {
        let one = Arc::new(Float64Array::from(vec![1.0; 1000])) as ArrayRef;
        let size = one.get_array_memory_size();
        let cache = ColumnCache::new(size * 3);
        cache.insert(1, 0, one.clone());
        cache.insert(2, 0, one.clone());
        cache.insert(3, 0, one.clone());
        assert!(cache.get(1, 0).is_some());
        cache.insert(4, 0, one.clone());
        assert!(cache.get(1, 0).is_some(), "recently used survives");
        assert!(cache.get(2, 0).is_none(), "oldest evicted");
        assert!(cache.bytes() <= size * 3);
        cache.forget_segment(1);
        assert!(cache.get(1, 0).is_none());
    }
}
