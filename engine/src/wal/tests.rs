//! Format, replay, repair and inspection tests, against both storages where it matters.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;

use super::format::{self, HEADER_LEN};
use super::*;
use crate::storage::{FsStorage, MemStorage, Storage};

pub(super) const DIR: &str = "wal";

pub(super) fn dir() -> PathBuf {
    PathBuf::from(DIR)
}

pub(super) type Frames = Vec<(Lsn, Vec<u8>)>;

/// Replays everything from `from`, collecting the frames.
pub(super) fn collect(
    storage: &dyn Storage,
    from: Lsn,
) -> Result<(Frames, ReplayOutcome), WalError> {
    let mut frames = Vec::new();
    let outcome = replay(storage, &dir(), from, |lsn, payload| {
        frames.push((lsn, payload.to_vec()));
        Ok::<(), Infallible>(())
    })
    .map_err(|e| match e {
        ReplayError::Wal(e) => e,
        ReplayError::Apply { source, .. } => match source {},
    })?;
    Ok((frames, outcome))
}

pub(super) fn payload(i: u64) -> Vec<u8> {
    let len = (i * 7 % 53) as usize;
    (0..len).map(|j| (i as usize * 31 + j) as u8).collect()
}

/// Runs `f` against a fresh `MemStorage` and a fresh `FsStorage`.
fn each_storage(mut f: impl FnMut(Arc<dyn Storage>)) {
    f(Arc::new(MemStorage::new()));
    let tmp = tempfile::tempdir().expect("tempdir");
    f(Arc::new(FsStorage::new(tmp.path()).expect("fs storage")));
}

fn write_log(storage: &Arc<dyn Storage>, n: u64, roll_bytes: u64) -> WalWriter {
    let w = WalWriter::open(Arc::clone(storage), dir(), Lsn::FIRST, roll_bytes).expect("open");
    for i in 1..=n {
        assert_eq!(w.append(&payload(i)).expect("append"), Lsn(i));
    }
    if n > 0 {
        w.sync(Lsn(n)).expect("sync");
    }
    w
}

fn wal_files(storage: &dyn Storage) -> Vec<PathBuf> {
    let names = storage.list(&dir()).expect("list");
    names.into_iter().map(|n| dir().join(n)).collect()
}

fn flip_bit(storage: &dyn Storage, path: &Path, offset: u64) {
    let mut bytes = storage.read(path).expect("read").to_vec();
    bytes[offset as usize] ^= 0x01;
    storage.write_atomic(path, &bytes).expect("write");
}

/// Offsets of the frames of a file, from inspection.
fn frame_offsets(storage: &dyn Storage, name: &str) -> Vec<u64> {
    let files = inspect(storage, &dir()).expect("inspect");
    let file = files.iter().find(|f| f.name == name).expect("file listed");
    file.frames.iter().map(|f| f.offset).collect()
}

fn expect_frames(frames: &[(Lsn, Vec<u8>)], lsns: std::ops::RangeInclusive<u64>) {
    let want: Vec<(Lsn, Vec<u8>)> = lsns.map(|i| (Lsn(i), payload(i))).collect();
    assert_eq!(frames, want.as_slice());
}

#[test]
fn roundtrip_and_partial_replay() {
    each_storage(|s| {
        let w = write_log(&s, 100, 1 << 20);
        assert_eq!(w.next_lsn(), Lsn(101));
        drop(w);
        let (frames, outcome) = collect(s.as_ref(), Lsn::FIRST).expect("replay");
        expect_frames(&frames, 1..=100);
        assert_eq!(
            (outcome.frames_applied, outcome.next_lsn, outcome.torn_tail),
            (100, Lsn(101), None)
        );
        let (frames, outcome) = collect(s.as_ref(), Lsn(60)).expect("replay from 60");
        expect_frames(&frames, 60..=100);
        assert_eq!(outcome.next_lsn, Lsn(101));
    });
}

#[test]
fn empty_log_and_missing_directory() {
    let s = MemStorage::new();
    let (frames, outcome) = collect(&s, Lsn(7)).expect("replay");
    assert!(frames.is_empty());
    assert_eq!((outcome.next_lsn, outcome.torn_tail), (Lsn(7), None));
    let w = WalWriter::open(Arc::new(s.clone()), dir(), Lsn(7), 1024).expect("open");
    drop(w);
    let (_, outcome) = collect(&s, Lsn(7)).expect("replay of a header-only file");
    assert_eq!(outcome.next_lsn, Lsn(7));
}

#[test]
fn lsns_stay_contiguous_across_rolls_and_reopens() {
    each_storage(|s| {
        let w = write_log(&s, 40, 200);
        w.roll().expect("roll");
        w.roll().expect("second roll of an empty file is a no-op");
        drop(w);
        let files = wal_files(s.as_ref());
        assert!(files.len() > 3, "{files:?}");
        let (frames, outcome) = collect(s.as_ref(), Lsn::FIRST).expect("replay");
        expect_frames(&frames, 1..=40);

        let w = WalWriter::open(Arc::clone(&s), dir(), outcome.next_lsn, 200).expect("reopen");
        for i in 41..=60 {
            assert_eq!(w.append(&payload(i)).expect("append"), Lsn(i));
        }
        w.sync(Lsn(60)).expect("sync");
        drop(w);
        let (frames, _) = collect(s.as_ref(), Lsn::FIRST).expect("replay");
        expect_frames(&frames, 1..=60);

        let infos = inspect(s.as_ref(), &dir()).expect("inspect");
        let mut expected = Lsn::FIRST;
        for info in &infos {
            assert!(info.defects.is_empty(), "{info:?}");
            assert_eq!(info.header.map(|h| h.first_lsn), Some(expected));
            for f in &info.frames {
                assert_eq!(f.lsn, expected);
                expected = expected.next();
            }
        }
        assert_eq!(expected, Lsn(61));
    });
}

#[test]
fn torn_tail_at_every_cut_of_the_last_frame_is_truncated() {
    let frame_len = (format::FRAME_HEADER_LEN + payload(3).len()) as u64;
    for cut in 1..frame_len {
        each_storage(|s| {
            drop(write_log(&s, 3, 1 << 20));
            let path = dir().join(format::file_name(Lsn::FIRST));
            let size = s.size(&path).expect("size");
            s.truncate(&path, size - cut).expect("tear");
            let (frames, outcome) = collect(s.as_ref(), Lsn::FIRST).expect("replay");
            expect_frames(&frames, 1..=2);
            let torn = outcome.torn_tail.expect("torn tail reported");
            assert_eq!(torn.offset, size - frame_len);
            assert_eq!(torn.dropped_bytes, frame_len - cut);
            assert!(torn.path.ends_with(&path));
            assert_eq!(s.size(&path).expect("size"), size - frame_len);
            assert_eq!(outcome.next_lsn, Lsn(3));

            // Replay is now clean, and the log continues where it was cut.
            let (_, again) = collect(s.as_ref(), Lsn::FIRST).expect("replay again");
            assert_eq!(again.torn_tail, None);
            let w = WalWriter::open(Arc::clone(&s), dir(), again.next_lsn, 1 << 20).expect("open");
            assert_eq!(w.append(&payload(3)).expect("append"), Lsn(3));
            w.sync(Lsn(3)).expect("sync");
            drop(w);
            let (frames, _) = collect(s.as_ref(), Lsn::FIRST).expect("replay resumed log");
            expect_frames(&frames, 1..=3);
        });
    }
}

#[test]
fn torn_header_of_the_last_file_removes_it() {
    for keep in 0..HEADER_LEN as u64 {
        let s: Arc<dyn Storage> = Arc::new(MemStorage::new());
        let w = write_log(&s, 5, 1 << 20);
        w.roll().expect("roll");
        drop(w);
        let last = dir().join(format::file_name(Lsn(6)));
        s.truncate(&last, keep).expect("tear header");
        let (frames, outcome) = collect(s.as_ref(), Lsn::FIRST).expect("replay");
        expect_frames(&frames, 1..=5);
        let torn = outcome.torn_tail.expect("torn");
        assert!(torn.file_removed);
        assert!(!s.exists(&last));
        assert_eq!(outcome.next_lsn, Lsn(6));
    }
}

#[test]
fn bit_flip_in_a_middle_frame_is_corruption_and_nothing_changes() {
    each_storage(|s| {
        drop(write_log(&s, 5, 1 << 20));
        let name = format::file_name(Lsn::FIRST);
        let path = dir().join(&name);
        let offsets = frame_offsets(s.as_ref(), &name);
        let target = offsets[2];
        flip_bit(s.as_ref(), &path, target + format::FRAME_HEADER_LEN as u64 + 1);
        let before = s.read(&path).expect("read").to_vec();
        let err = collect(s.as_ref(), Lsn::FIRST).expect_err("corruption");
        match &err {
            WalError::ChecksumMismatch { path: p, offset, .. } => {
                assert!(p.ends_with(&path), "{p:?}");
                assert_eq!(*offset, target);
            }
            other => panic!("unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&name) && msg.contains(&format!("offset {target}")), "{msg}");
        assert_eq!(s.read(&path).expect("read").to_vec(), before, "nothing truncated");
    });
}

#[test]
fn bit_flip_in_the_last_frame_is_a_torn_tail() {
    each_storage(|s| {
        drop(write_log(&s, 5, 1 << 20));
        let name = format::file_name(Lsn::FIRST);
        let path = dir().join(&name);
        let last = *frame_offsets(s.as_ref(), &name).last().expect("frames");
        let size = s.size(&path).expect("size");
        flip_bit(s.as_ref(), &path, size - 1);
        let (frames, outcome) = collect(s.as_ref(), Lsn::FIRST).expect("replay");
        expect_frames(&frames, 1..=4);
        let torn = outcome.torn_tail.expect("torn");
        assert_eq!((torn.offset, torn.dropped_bytes), (last, size - last));
        assert!(matches!(torn.defect, Defect::Checksum { .. }));
    });
}

#[test]
fn zero_filled_tail_is_torn() {
    each_storage(|s| {
        drop(write_log(&s, 4, 1 << 20));
        let path = dir().join(format::file_name(Lsn::FIRST));
        let size = s.size(&path).expect("size");
        let mut f = s.open_append(&path).expect("open");
        f.append(&[0u8; 4096]).expect("append zeros");
        f.sync().expect("sync");
        drop(f);
        let (frames, outcome) = collect(s.as_ref(), Lsn::FIRST).expect("replay");
        expect_frames(&frames, 1..=4);
        let torn = outcome.torn_tail.expect("torn");
        assert_eq!((torn.offset, torn.dropped_bytes, torn.defect), (size, 4096, Defect::ZeroFill));
        assert_eq!(s.size(&path).expect("size"), size);
    });
}

#[test]
fn torn_looking_defects_outside_the_last_file_are_corruption() {
    let s: Arc<dyn Storage> = Arc::new(MemStorage::new());
    let w = write_log(&s, 6, 1 << 20);
    w.roll().expect("roll");
    w.append(b"x").expect("append");
    w.sync(Lsn(7)).expect("sync");
    drop(w);
    let first = dir().join(format::file_name(Lsn::FIRST));
    let size = s.size(&first).expect("size");
    s.truncate(&first, size - 3).expect("cut");
    let err = collect(s.as_ref(), Lsn::FIRST).expect_err("corruption");
    assert!(
        matches!(&err, WalError::Corrupt { defect: Defect::FrameTruncated { .. }, .. }),
        "{err:?}"
    );
    assert_eq!(s.size(&first).expect("size"), size - 3, "nothing truncated");
}

#[test]
fn bad_headers_and_lsn_gaps_are_corruption() {
    let s: Arc<dyn Storage> = Arc::new(MemStorage::new());
    drop(write_log(&s, 3, 1 << 20));
    let path = dir().join(format::file_name(Lsn::FIRST));
    flip_bit(s.as_ref(), &path, 2);
    let err = collect(s.as_ref(), Lsn::FIRST).expect_err("bad magic");
    assert!(matches!(err, WalError::Corrupt { offset: 0, defect: Defect::BadMagic, .. }));

    // Frames 1, 2, 4: a gap inside a file.
    let s = MemStorage::new();
    let mut bytes = format::encode_header(Lsn::FIRST).to_vec();
    let mut frame = Vec::new();
    for lsn in [1, 2, 4] {
        format::encode_frame_into(&mut frame, Lsn(lsn), b"p");
        bytes.extend_from_slice(&frame);
    }
    s.write_atomic(&path, &bytes).expect("write");
    let err = collect(&s, Lsn::FIRST).expect_err("gap");
    let gap = Defect::LsnDiscontinuity { expected: Lsn(3), found: Lsn(4) };
    assert!(
        matches!(err, WalError::Corrupt { offset: 62, defect, .. } if defect == gap),
        "{err:?}"
    );

    // A file whose header does not continue its predecessor.
    let s = MemStorage::new();
    let mut one = format::encode_header(Lsn::FIRST).to_vec();
    format::encode_frame_into(&mut frame, Lsn(1), b"p");
    one.extend_from_slice(&frame);
    s.write_atomic(&path, &one).expect("write");
    let mut three = format::encode_header(Lsn(3)).to_vec();
    format::encode_frame_into(&mut frame, Lsn(3), b"p");
    three.extend_from_slice(&frame);
    s.write_atomic(&dir().join(format::file_name(Lsn(3))), &three).expect("write");
    let err = collect(&s, Lsn::FIRST).expect_err("gap between files");
    assert!(matches!(err, WalError::Corrupt { offset: 16, .. }), "{err:?}");
}

#[test]
fn replay_skips_files_before_the_checkpoint_and_detects_missing_frames() {
    let s: Arc<dyn Storage> = Arc::new(MemStorage::new());
    drop(write_log(&s, 30, 120));
    let files = wal_files(s.as_ref());
    assert!(files.len() > 3);
    // A garbled old file is irrelevant once a checkpoint is past it.
    s.write_atomic(&files[0], b"garbage").expect("write");
    let second_first =
        format::parse_file_name(files[1].file_name().and_then(|n| n.to_str()).expect("name"))
            .expect("wal name");
    let (frames, _) = collect(s.as_ref(), second_first).expect("replay");
    expect_frames(&frames, second_first.0..=30);
    let err = collect(s.as_ref(), Lsn::FIRST).expect_err("garbage in the first file");
    assert!(matches!(err, WalError::Corrupt { offset: 0, .. }));

    for f in &files[..2] {
        s.remove(f).expect("remove");
    }
    let err = collect(s.as_ref(), second_first).expect_err("frames missing");
    assert!(matches!(err, WalError::Corrupt { defect: Defect::LsnDiscontinuity { .. }, .. }));
}

#[test]
fn apply_errors_propagate() {
    let s: Arc<dyn Storage> = Arc::new(MemStorage::new());
    drop(write_log(&s, 5, 1 << 20));
    let err =
        replay(
            s.as_ref(),
            &dir(),
            Lsn::FIRST,
            |lsn, _| {
                if lsn == Lsn(3) { Err("boom") } else { Ok(()) }
            },
        )
        .expect_err("apply failed");
    assert!(matches!(err, ReplayError::Apply { lsn: Lsn(3), source: "boom" }));
}

#[test]
fn writer_open_cleans_frameless_files_and_refuses_lsn_reuse() {
    let s: Arc<dyn Storage> = Arc::new(MemStorage::new());
    drop(write_log(&s, 5, 1 << 20));
    let err = WalWriter::open(Arc::clone(&s), dir(), Lsn(3), 1 << 20).expect_err("reuse");
    assert!(matches!(err, WalError::LsnReuse { existing: Lsn(5), next: Lsn(3), .. }), "{err:?}");
    assert!(matches!(WalWriter::open(Arc::clone(&s), dir(), Lsn(0), 1), Err(WalError::ZeroLsn)));

    let w = WalWriter::open(Arc::clone(&s), dir(), Lsn(6), 1 << 20).expect("open");
    drop(w);
    assert_eq!(wal_files(s.as_ref()).len(), 2);
    // Reopening at the same LSN replaces the header-only file instead of appending to it.
    let w = WalWriter::open(Arc::clone(&s), dir(), Lsn(6), 1 << 20).expect("reopen");
    assert_eq!(w.append(b"six").expect("append"), Lsn(6));
    w.sync(Lsn(6)).expect("sync");
    assert!(matches!(w.sync(Lsn(7)), Err(WalError::NotWritten { .. })));
    w.sync(Lsn(6)).expect("not poisoned by a bad request");
    drop(w);
    let (frames, _) = collect(s.as_ref(), Lsn::FIRST).expect("replay");
    assert_eq!(frames.len(), 6);
}

#[test]
fn remove_obsolete_deletes_only_fully_checkpointed_files() {
    let s: Arc<dyn Storage> = Arc::new(MemStorage::new());
    let w = write_log(&s, 30, 120);
    let firsts: Vec<Lsn> = inspect(s.as_ref(), &dir())
        .expect("inspect")
        .iter()
        .filter_map(|f| f.header.map(|h| h.first_lsn))
        .collect();
    assert!(firsts.len() > 3);
    // A checkpoint just below the third file's first LSN frees only the first file.
    assert_eq!(w.remove_obsolete(Lsn(firsts[2].0 - 1)).expect("remove"), 1);
    assert_eq!(w.remove_obsolete(firsts[2]).expect("remove"), 1);
    let (frames, _) = collect(s.as_ref(), firsts[2]).expect("replay");
    expect_frames(&frames, firsts[2].0..=30);
    assert_eq!(w.remove_obsolete(Lsn(1000)).expect("remove"), firsts.len() - 3);
    assert_eq!(wal_files(s.as_ref()).len(), 1, "the active file stays");
    assert_eq!(w.append(b"more").expect("append"), Lsn(31));
}

#[test]
fn repair_cuts_at_the_first_invalid_frame_and_reports_it() {
    let s: Arc<dyn Storage> = Arc::new(MemStorage::new());
    drop(write_log(&s, 30, 150));
    let infos = inspect(s.as_ref(), &dir()).expect("inspect");
    assert!(infos.len() >= 4, "{}", infos.len());
    let victim = &infos[1];
    let bad = victim.frames[1];
    let path = dir().join(&victim.name);
    flip_bit(s.as_ref(), &path, bad.offset + 10);

    let infos = inspect(s.as_ref(), &dir()).expect("inspect a corrupt log");
    assert!(!infos[1].frames[1].crc_ok);
    assert!(matches!(infos[1].defects[..], [DefectAt { defect: Defect::Checksum { .. }, .. }]));

    let later_frames: usize = infos[2..].iter().map(|f| f.frames.len()).sum();
    let later_bytes: u64 = infos[2..].iter().map(|f| f.size).sum();
    let report = repair(s.as_ref(), &dir()).expect("repair");
    let cut = report.cut.clone().expect("cut");
    assert_eq!(cut.offset, bad.offset);
    assert!(cut.path.ends_with(&path));
    assert_eq!(report.removed_files.len(), infos.len() - 2);
    let kept = infos[0].frames.len() as u64 + 1;
    assert_eq!(report.frames_kept, kept);
    let in_victim = infos[1].frames.len() as u64 - 2;
    assert_eq!(report.intact_frames_dropped, in_victim + later_frames as u64);
    assert_eq!(report.bytes_dropped, infos[1].size - bad.offset + later_bytes);
    assert_eq!(report.next_lsn, Lsn(kept + 1));

    let (frames, outcome) = collect(s.as_ref(), Lsn::FIRST).expect("replay after repair");
    expect_frames(&frames, 1..=kept);
    assert_eq!(outcome.torn_tail, None);
    let clean = repair(s.as_ref(), &dir()).expect("repair a clean log");
    assert_eq!((clean.cut, clean.bytes_dropped, clean.frames_kept), (None, 0, kept));
}

/// The golden log: a header for LSN 1 and two fixed frames.
fn golden_bytes() -> Vec<u8> {
    let mut out = format::encode_header(Lsn::FIRST).to_vec();
    let mut frame = Vec::new();
    format::encode_frame_into(&mut frame, Lsn(1), b"hello");
    out.extend_from_slice(&frame);
    format::encode_frame_into(&mut frame, Lsn(2), b"candlestore bar batch");
    out.extend_from_slice(&frame);
    out
}

fn fixture(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/wal")).join(name)
}

/// Loads a fixture as the first file of a fresh in-memory log.
fn load_fixture(name: &str) -> MemStorage {
    let bytes = std::fs::read(fixture(name)).expect("fixture present");
    let s = MemStorage::new();
    s.write_atomic(&dir().join(format::file_name(Lsn::FIRST)), &bytes).expect("write");
    s
}

#[test]
fn golden_v1_is_stable() {
    let golden = golden_bytes();
    let corrupt = {
        let mut c = golden.clone();
        c[HEADER_LEN + format::FRAME_HEADER_LEN] ^= 0x01; // first payload byte of frame 1
        c
    };
    if std::env::var_os("CANDLESTORE_BLESS").is_some() {
        std::fs::write(fixture("golden-v1.wal"), &golden).expect("bless golden");
        std::fs::write(fixture("corrupt-mid-v1.wal"), &corrupt).expect("bless corrupt");
    }
    assert_eq!(std::fs::read(fixture("golden-v1.wal")).expect("golden fixture"), golden);
    assert_eq!(std::fs::read(fixture("corrupt-mid-v1.wal")).expect("corrupt fixture"), corrupt);

    // The writer produces exactly these bytes.
    let s = MemStorage::new();
    let w = WalWriter::open(Arc::new(s.clone()), dir(), Lsn::FIRST, 1 << 20).expect("open");
    w.append(b"hello").expect("append");
    w.append(b"candlestore bar batch").expect("append");
    drop(w);
    assert_eq!(s.read(&dir().join(format::file_name(Lsn::FIRST))).expect("read").to_vec(), golden);
}

#[test]
fn golden_fixture_replays() {
    let s = load_fixture("golden-v1.wal");
    let (frames, outcome) = collect(&s, Lsn::FIRST).expect("replay");
    let want = vec![(Lsn(1), b"hello".to_vec()), (Lsn(2), b"candlestore bar batch".to_vec())];
    assert_eq!((frames, outcome.next_lsn, outcome.torn_tail), (want, Lsn(3), None));
}

#[test]
fn corrupt_fixture_is_refused() {
    let s = load_fixture("corrupt-mid-v1.wal");
    let err = collect(&s, Lsn::FIRST).expect_err("corrupt");
    assert!(
        matches!(err, WalError::ChecksumMismatch { offset, .. } if offset == HEADER_LEN as u64),
        "{err:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_payloads_roundtrip(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..40),
        roll_bytes in 64u64..2048,
    ) {
        let s = MemStorage::new();
        let w = WalWriter::open(Arc::new(s.clone()), dir(), Lsn::FIRST, roll_bytes).expect("open");
        for p in &payloads {
            w.append(p).expect("append");
        }
        drop(w);
        let (frames, outcome) = collect(&s, Lsn::FIRST).expect("replay");
        let got: Vec<Vec<u8>> = frames.iter().map(|(_, p)| p.clone()).collect();
        prop_assert_eq!(got, payloads.clone());
        prop_assert_eq!(outcome.next_lsn, Lsn(payloads.len() as u64 + 1));
        prop_assert!(frames.iter().enumerate().all(|(i, (lsn, _))| lsn.0 == i as u64 + 1));
    }
}
