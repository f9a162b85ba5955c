//! Crash simulation, fault injection, group commit and poisoning, against `MemStorage`.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::tests::{collect, dir, payload};
use super::*;
use crate::storage::{AppendFile, MemStorage, Storage, SyncHandle};

/// Checks that a replay after a crash returns a contiguous prefix 1..=k of what was written,
/// with k covering every acknowledged LSN; returns k.
fn check_prefix(s: &MemStorage, acked: Lsn, written: Lsn) -> u64 {
    let (frames, outcome) = collect(s, Lsn::FIRST).expect("replay after crash");
    for (i, (lsn, p)) in frames.iter().enumerate() {
        assert_eq!(lsn.0, i as u64 + 1, "contiguous prefix");
        assert_eq!(p, &payload(lsn.0), "payload of {lsn}");
    }
    let k = frames.len() as u64;
    assert!(k >= acked.0, "acknowledged LSN {acked} lost (replayed {k})");
    assert!(k <= written.0, "replayed {k} frames, only {written} written");
    assert_eq!(outcome.next_lsn, Lsn(k + 1));
    k
}

#[test]
fn random_crashes_keep_every_synced_frame() {
    let mut rng = StdRng::seed_from_u64(0x05ee_d0a1);
    for round in 0..150 {
        let s = MemStorage::new();
        let roll_bytes = rng.random_range(60..600);
        let mut next = Lsn::FIRST;
        let mut acked = Lsn(0);
        // Several lives: crash, recover, continue writing on top of the recovered log.
        for _life in 0..3 {
            let w = WalWriter::open(Arc::new(s.clone()), dir(), next, roll_bytes).expect("open");
            for _ in 0..rng.random_range(0..40) {
                let lsn = w.append(&payload(w.next_lsn().0)).expect("append");
                if rng.random_bool(0.2) {
                    w.sync(lsn).expect("sync");
                    acked = lsn;
                }
            }
            let written = Lsn(w.next_lsn().0 - 1);
            drop(w);
            if rng.random_bool(0.5) {
                s.crash();
            } else {
                let seed: u64 = rng.random();
                s.crash_with(move |n| if n == 0 { 0 } else { (seed % (n as u64 + 1)) as usize });
            }
            let k = check_prefix(&s, acked, written);
            assert!(k >= acked.0, "round {round}");
            acked = Lsn(k); // recovered frames were truncated/synced into the durable log
            next = Lsn(k + 1);
        }
    }
}

/// Appends 30 frames, syncing every third, until the storage fails; returns (acked, written).
fn workload_until_failure(w: &WalWriter) -> (Lsn, Lsn, bool) {
    let mut acked = Lsn(0);
    for i in 1..=30u64 {
        let Ok(lsn) = w.append(&payload(i)) else {
            return (acked, Lsn(i - 1), true);
        };
        if i % 3 == 0 {
            if w.sync(lsn).is_err() {
                return (acked, lsn, true);
            }
            acked = lsn;
        }
    }
    (acked, Lsn(30), false)
}

#[test]
fn failure_at_every_sync_point_loses_nothing_acknowledged() {
    let clean = MemStorage::new();
    let w = WalWriter::open(Arc::new(clean.clone()), dir(), Lsn::FIRST, 200).expect("open");
    let start = clean.sync_points();
    let (_, _, failed) = workload_until_failure(&w);
    assert!(!failed);
    let total = clean.sync_points().0 - start.0;
    assert!(total > 10, "{total} sync points");

    for k in 1..=total + 1 {
        let s = MemStorage::new();
        let w = WalWriter::open(Arc::new(s.clone()), dir(), Lsn::FIRST, 200).expect("open");
        s.fail_at_sync_point(k);
        let (acked, written, failed) = workload_until_failure(&w);
        assert_eq!(failed, k <= total, "k = {k}");
        if failed {
            assert!(matches!(w.append(b"after"), Err(WalError::Poisoned { .. })), "k = {k}");
            assert!(matches!(w.sync(Lsn(1)), Err(WalError::Poisoned { .. })), "k = {k}");
            assert!(matches!(w.roll(), Err(WalError::Poisoned { .. })), "k = {k}");
        }
        drop(w);
        s.crash();
        check_prefix(&s, acked, written);
    }
}

#[test]
fn failed_append_poisons_the_writer() {
    let s = MemStorage::new();
    let w = WalWriter::open(Arc::new(s.clone()), dir(), Lsn::FIRST, 1 << 20).expect("open");
    w.append_with(b"one", Durability::Durable).expect("durable append");
    s.fail_at_sync_point(1);
    assert!(s.write_atomic(Path::new("other"), b"x").is_err(), "storage is now down");
    assert!(matches!(w.append(b"two"), Err(WalError::Io { .. })));
    assert!(matches!(w.append(b"three"), Err(WalError::Poisoned { .. })));
    drop(w);
    s.crash();
    let (frames, _) = collect(&s, Lsn::FIRST).expect("replay");
    assert_eq!(frames, vec![(Lsn(1), b"one".to_vec())]);
}

#[test]
fn group_commit_shares_fsyncs() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 50;
    let mem = MemStorage::new();
    let slow: Arc<dyn Storage> =
        Arc::new(GatedStorage { inner: mem.clone(), gate: Gate::Delay(Duration::from_millis(2)) });
    let w = Arc::new(WalWriter::open(slow, dir(), Lsn::FIRST, 4096).expect("open"));
    let before = mem.sync_points();
    let barrier = Arc::new(Barrier::new(THREADS as usize));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let w = Arc::clone(&w);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                for i in 0..PER_THREAD {
                    let body = format!("t{t}-{i}").into_bytes();
                    let lsn = w.append_with(&body, Durability::Durable).expect("durable append");
                    mine.push((lsn, body));
                }
                mine
            })
        })
        .collect();
    let mut expected: Vec<(Lsn, Vec<u8>)> =
        handles.into_iter().flat_map(|h| h.join().expect("thread")).collect();
    expected.sort();
    let syncs = mem.sync_points().0 - before.0;
    let frames = THREADS * PER_THREAD;
    assert!(syncs < frames, "{syncs} fsyncs for {frames} frames");

    drop(w);
    mem.crash();
    let (got, _) = collect(&mem, Lsn::FIRST).expect("replay");
    assert_eq!(got, expected, "every acknowledged frame survives, in LSN order");
}

#[test]
fn appends_proceed_while_a_sync_is_in_flight() {
    let mem = MemStorage::new();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let entered = Arc::new(AtomicBool::new(false));
    let gate = Gate::Block {
        entered: Arc::clone(&entered),
        release: Arc::new(parking_lot::Mutex::new(release_rx)),
    };
    let storage: Arc<dyn Storage> = Arc::new(GatedStorage { inner: mem.clone(), gate });
    let w = Arc::new(WalWriter::open(storage, dir(), Lsn::FIRST, 1 << 20).expect("open"));
    let first = w.append(b"first").expect("append");
    let syncer = {
        let w = Arc::clone(&w);
        thread::spawn(move || w.sync(first))
    };
    while !entered.load(Ordering::SeqCst) {
        thread::yield_now();
    }
    // The leader is inside fsync; appending must not wait for it.
    let second = w.append(b"second").expect("append during sync");
    assert_eq!(second, Lsn(2));
    release_tx.send(()).expect("release");
    syncer.join().expect("thread").expect("sync");
    release_tx.send(()).expect("release");
    w.sync(second).expect("sync second");
}

/// How [`GatedStorage`] delays sync-handle fsyncs.
#[derive(Debug, Clone)]
enum Gate {
    /// Sleep before each sync (makes fsync slow, as on a real disk).
    Delay(Duration),
    /// Signal entry, then wait for a message per sync.
    Block { entered: Arc<AtomicBool>, release: Arc<parking_lot::Mutex<mpsc::Receiver<()>>> },
}

impl Gate {
    fn pass(&self) {
        match self {
            Gate::Delay(d) => thread::sleep(*d),
            Gate::Block { entered, release } => {
                entered.store(true, Ordering::SeqCst);
                let _released = release.lock().recv();
            }
        }
    }
}

/// `MemStorage` whose group-commit syncs pass through a [`Gate`].
#[derive(Debug)]
struct GatedStorage {
    inner: MemStorage,
    gate: Gate,
}

#[derive(Debug)]
struct GatedFile {
    inner: Box<dyn AppendFile>,
    gate: Gate,
}

#[derive(Debug)]
struct GatedHandle {
    inner: Box<dyn SyncHandle>,
    gate: Gate,
}

impl SyncHandle for GatedHandle {
    fn sync(&self) -> io::Result<()> {
        self.gate.pass();
        self.inner.sync()
    }
}

impl AppendFile for GatedFile {
    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.inner.append(data)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn sync_handle(&self) -> io::Result<Box<dyn SyncHandle>> {
        Ok(Box::new(GatedHandle { inner: self.inner.sync_handle()?, gate: self.gate.clone() }))
    }
}

impl Storage for GatedStorage {
    fn read(&self, path: &Path) -> io::Result<Bytes> {
        self.inner.read(path)
    }
    fn write_atomic(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.inner.write_atomic(path, data)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        Ok(Box::new(GatedFile { inner: self.inner.open_append(path)?, gate: self.gate.clone() }))
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.inner.truncate(path, len)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn list_dirs(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list_dirs(dir)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn size(&self, path: &Path) -> io::Result<u64> {
        self.inner.size(path)
    }
    fn root(&self) -> Option<&Path> {
        None
    }
}
