//! One suite, run against both storage implementations.

use std::path::Path;

use super::{FsStorage, MemStorage, Storage};

fn suite(storage: &dyn Storage) {
    let dir = Path::new("a/b");
    storage.create_dir_all(dir).expect("mkdir");
    assert!(storage.list(dir).expect("list").is_empty());
    assert!(storage.list(Path::new("missing")).expect("list missing").is_empty());

    let p = dir.join("one.bin");
    storage.write_atomic(&p, b"hello").expect("write");
    assert_eq!(&storage.read(&p).expect("read")[..], b"hello");
    storage.write_atomic(&p, b"replaced").expect("rewrite");
    assert_eq!(&storage.read(&p).expect("read")[..], b"replaced");
    assert_eq!(storage.size(&p).expect("size"), 8);
    let file = storage.read_file(&p).expect("read file");
    assert_eq!(&file.bytes()[..], b"replaced");
    file.release_resident().expect("release");
    assert_eq!(&file.bytes()[..], b"replaced", "releasing keeps the bytes");
    assert!(storage.read_file(&dir.join("missing.bin")).is_err());

    let w = dir.join("log.wal");
    let mut f = storage.open_append(&w).expect("open append");
    assert!(f.is_empty());
    f.append(b"abc").expect("append");
    f.append(b"def").expect("append");
    f.sync().expect("sync");
    assert_eq!(f.len(), 6);
    let handle = f.sync_handle().expect("sync handle");
    f.append(b"!").expect("append");
    handle.sync().expect("sync via handle");
    drop(f);
    handle.sync().expect("the handle outlives the file");
    let mut f = storage.open_append(&w).expect("reopen append");
    assert_eq!(f.len(), 7);
    f.append(b"g").expect("append");
    drop(f);
    assert_eq!(&storage.read(&w).expect("read")[..], b"abcdef!g");
    storage.truncate(&w, 4).expect("truncate");
    assert_eq!(&storage.read(&w).expect("read")[..], b"abcd");

    assert_eq!(storage.list(dir).expect("list"), vec!["log.wal".to_owned(), "one.bin".to_owned()]);
    assert_eq!(storage.list_dirs(Path::new("a")).expect("list dirs"), vec!["b".to_owned()]);
    assert!(storage.list_dirs(Path::new("nope")).expect("list missing dirs").is_empty());
    let (n1, n2) = (dir.join("new1.bin"), Path::new("c/d/new2.bin").to_path_buf());
    storage.write_new_files(&[(&n1, b"one"), (&n2, b"two")]).expect("write new files");
    assert_eq!(&storage.read(&n1).expect("read")[..], b"one");
    assert_eq!(&storage.read(&n2).expect("read")[..], b"two");
    storage.remove(&n1).expect("remove");
    storage.remove(&n2).expect("remove");
    assert!(storage.exists(&p));
    storage.remove(&p).expect("remove");
    storage.remove(&p).expect("remove twice is fine");
    assert!(!storage.exists(&p));
    assert!(storage.read(&p).is_err());
}

#[test]
fn fs_storage_conforms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = FsStorage::new(dir.path()).expect("fs storage");
    suite(&storage);
    storage.write_atomic(Path::new("m.bin"), b"mapped").expect("write");
    assert!(storage.read_file(Path::new("m.bin")).expect("read file").is_mapped());
}

#[test]
fn mem_storage_conforms() {
    let storage = MemStorage::new();
    suite(&storage);
    storage.write_atomic(Path::new("m.bin"), b"owned").expect("write");
    assert!(!storage.read_file(Path::new("m.bin")).expect("read file").is_mapped());
}

#[test]
fn mem_crash_keeps_only_synced_bytes() {
    let s = MemStorage::new();
    let p = Path::new("w");
    let mut f = s.open_append(p).expect("open");
    f.append(b"durable").expect("append");
    f.sync().expect("sync");
    f.append(b"-lost").expect("append");
    drop(f);
    s.crash();
    assert_eq!(&s.read(p).expect("read")[..], b"durable");
}

#[test]
fn mem_sync_handle_is_a_sync_point() {
    let s = MemStorage::new();
    let p = Path::new("w");
    let mut f = s.open_append(p).expect("open");
    let handle = f.sync_handle().expect("sync handle");
    f.append(b"durable").expect("append");
    let before = s.sync_points();
    handle.sync().expect("sync via handle");
    assert_eq!(s.sync_points().0, before.0 + 1);
    f.append(b"-lost").expect("append");
    s.fail_at_sync_point(1);
    assert!(handle.sync().is_err(), "an injected failure hits handle syncs too");
    drop(f);
    s.crash();
    assert_eq!(&s.read(p).expect("read")[..], b"durable");
}

#[test]
fn mem_crash_can_tear_the_tail() {
    let s = MemStorage::new();
    let p = Path::new("w");
    let mut f = s.open_append(p).expect("open");
    f.append(b"ok").expect("append");
    f.sync().expect("sync");
    f.append(b"torn").expect("append");
    drop(f);
    s.crash_with(|n| n / 2);
    assert_eq!(&s.read(p).expect("read")[..], b"okto");
}

#[test]
fn injected_failure_stops_everything_until_crash() {
    let s = MemStorage::new();
    s.fail_at_sync_point(2);
    s.write_atomic(Path::new("x"), b"1").expect("first sync point passes");
    assert!(s.write_atomic(Path::new("y"), b"2").is_err());
    assert!(s.read(Path::new("x")).is_err());
    s.crash();
    assert_eq!(&s.read(Path::new("x")).expect("read")[..], b"1");
    assert!(!s.exists(Path::new("y")));
}
