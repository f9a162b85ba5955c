//! The targets. Each runs its input as given and again with its checksums fixed up.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use candlestore::inspect::{SegmentId, SymbolId, TableIndex, inspect_wal, repair_wal};
use candlestore::{Manifest, MemStorage, Storage, Store};

use crate::checksum;

/// Inputs (as run, after any checksum fix-up) whose decoder accepted them, per target: how
/// deep the mutations get.
pub static WAL_ACCEPTED: AtomicU64 = AtomicU64::new(0);
/// See [`WAL_ACCEPTED`].
pub static INDEX_ACCEPTED: AtomicU64 = AtomicU64::new(0);
/// See [`WAL_ACCEPTED`].
pub static MANIFEST_ACCEPTED: AtomicU64 = AtomicU64::new(0);

/// See [`WAL_ACCEPTED`].
pub static KERNEL_STATE_ACCEPTED: AtomicU64 = AtomicU64::new(0);

fn accepted(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn with_fixed(data: &[u8], fix: fn(&mut [u8]), run: fn(&[u8])) {
    run(data);
    let mut fixed = data.to_vec();
    fix(&mut fixed);
    if fixed != data {
        run(&fixed);
    }
}

/// Where the store looks for its first WAL file.
pub const WAL_FILE: &str = "_meta/wal/wal-00000000000000000001.log";

/// The input as the store's only WAL file: inspect it, open a store on it (replaying it) and,
/// if that works, read everything back and verify; then repair the log and open again.
pub fn wal_replay(data: &[u8]) {
    with_fixed(data, checksum::fix_wal, wal_replay_once);
}

fn wal_replay_once(data: &[u8]) {
    let mem = MemStorage::new();
    mem.write_atomic(Path::new(WAL_FILE), data).expect("MemStorage write");
    let wal_dir = Path::new("_meta/wal");
    let _ = inspect_wal(&mem, wal_dir);
    if let Ok(store) = open(&mem) {
        accepted(&WAL_ACCEPTED);
        exercise(&store);
        drop(store);
        // A store that opened reopens, from what the first open left behind.
        let store = open(&mem).expect("a store that opened once must reopen");
        exercise(&store);
        return;
    }
    if repair_wal(&mem, wal_dir).is_ok()
        && let Ok(store) = open(&mem)
    {
        exercise(&store);
    }
}

fn open(mem: &MemStorage) -> candlestore::Result<Store> {
    Store::builder_with_storage(Arc::new(mem.clone())).open()
}

/// Reads every table back and verifies the store; none of it may panic.
fn exercise(store: &Store) {
    for table in store.tables() {
        let _ = store.scan(&table).collect();
    }
    let _ = store.verify();
    let _ = store.flush();
}

/// The input as an index file: open it and, if it validates, call every accessor and check
/// they agree with each other and with the header's counts.
pub fn index_open(data: &[u8]) {
    with_fixed(data, checksum::fix_index, index_open_once);
}

fn index_open_once(data: &[u8]) {
    let Ok(index) = TableIndex::open(Bytes::copy_from_slice(data), Path::new("fuzz")) else {
        return;
    };
    accepted(&INDEX_ACCEPTED);
    let _ = (index.len_bytes(), index.path());
    let symbols: Vec<_> = index.symbols().collect();
    assert_eq!(symbols.len() as u64, u64::from(index.symbol_count()), "symbols() vs symbol_count");
    for s in &symbols {
        assert_eq!(index.symbol(s.id), Some(*s));
        assert_eq!(
            index.symbol_id(s.name),
            Some(s.id),
            "a validated dictionary is sorted and unique"
        );
        if let Some(sector) = s.sector {
            assert!(index.symbols_in_sector(sector).any(|id| id == s.id));
        }
        if let Some(exchange) = s.exchange {
            assert!(index.symbols_on_exchange(exchange).any(|id| id == s.id));
        }
    }
    let segments: Vec<_> = index.segments().collect();
    assert_eq!(
        segments.len() as u64,
        u64::from(index.segment_count()),
        "segments() vs segment_count"
    );
    for seg in &segments {
        assert_eq!(index.segment(seg.id), Some(*seg));
        let _ = index.segment_symbols(seg.id);
    }
    let _ = index.segment(SegmentId(u64::MAX));
    let _ = index.segment_symbols(SegmentId(u64::MAX));
    let mut postings = 0u64;
    for id in 0..index.symbol_count() {
        postings += index.ranges_for_symbol(SymbolId(id)).count() as u64;
    }
    assert_eq!(postings, index.posting_count(), "ranges_for_symbol vs posting_count");
    assert_eq!(index.ranges_for_symbol(SymbolId(index.symbol_count())).count(), 0);
    assert_eq!(index.ranges_for_symbol(SymbolId(u32::MAX)).count(), 0);
    let _ = index.describe();
}

/// The input as a manifest: decode it; if it decodes, it re-encodes to a manifest that decodes
/// to the same value, and a store opens (or refuses to open) on it without panicking.
pub fn manifest_decode(data: &[u8]) {
    with_fixed(data, checksum::fix_manifest, manifest_decode_once);
}

fn manifest_decode_once(data: &[u8]) {
    let Ok(manifest) = Manifest::decode(data, Path::new("fuzz")) else { return };
    accepted(&MANIFEST_ACCEPTED);
    let again = Manifest::decode(&manifest.encode(), Path::new("fuzz"))
        .expect("re-encoded manifest decodes");
    assert_eq!(again, manifest, "manifest round trip");
    let mem = MemStorage::new();
    mem.write_atomic(Path::new("_meta/MANIFEST"), data).expect("MemStorage write");
    if let Ok(store) = open(&mem) {
        for table in store.tables() {
            let _ = store.scan(&table).collect();
        }
        let _ = store.verify();
    }
}

/// Kernel state files: decode; an accepted file must re-encode to an equal value, and every
/// decoded series must take one more bar without the panic escaping (a family that cannot
/// continue from a damaged state is isolated and reported, never a crash).
pub fn kernel_state(data: &[u8]) {
    with_fixed(data, checksum::fix_kernel_state, kernel_state_once);
}

fn kernel_state_once(data: &[u8]) {
    use candlestore::kernel::{Bars, SeriesConfig, Session, decode_states, encode_states};
    let Ok(states) = decode_states(data, Path::new("fuzz.state")) else { return };
    accepted(&KERNEL_STATE_ACCEPTED);
    let bytes = encode_states(&states).expect("decoded states re-encode");
    let again = decode_states(&bytes, Path::new("fuzz.state")).expect("re-encoded states decode");
    assert_eq!(format!("{again:?}"), format!("{states:?}"), "kernel state round trip");
    let config = SeriesConfig { session: Session::PerBar };
    for (_, mut state) in states {
        let ts = state.last_ts().map_or(0, |t| t.saturating_add(86_400_000_000));
        let bars = Bars {
            ts: &[ts],
            open: &[10.0],
            high: &[11.0],
            low: &[9.5],
            close: &[10.5],
            volume: &[1000.0],
        };
        let _ = state.advance(&config, &bars);
    }
}
