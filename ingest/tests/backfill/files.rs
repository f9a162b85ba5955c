//! The job-state file (golden bytes, corrupt variants) and the fetch log (torn tail, corrupt
//! line).

use std::collections::BTreeMap;
use std::path::PathBuf;

use candlestore_ingest::{
    FetchRecord, JobState, JobStatus, StateFileError, SymbolJob, fetch_log_path, read_fetch_log,
};

use crate::date;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/backfill").join(name)
}

fn golden_state() -> JobState {
    let job = |status, last_good: Option<&str>, failures, error: Option<&str>| SymbolJob {
        status,
        window_start: date("2024-01-02"),
        window_end: date("2024-01-31"),
        last_good: last_good.map(date),
        failures,
        retries: u64::from(failures) * 2,
        last_error: error.map(str::to_owned),
        updated: 1_706_745_600_000_000,
    };
    let mut symbols = BTreeMap::new();
    symbols.insert("AAPL".into(), job(JobStatus::Done, Some("2024-01-31"), 0, None));
    symbols.insert("MSFT".into(), job(JobStatus::Running, Some("2024-01-12"), 0, None));
    symbols.insert(
        "XYZ".into(),
        job(JobStatus::Failed, None, 2, Some("polygon XYZ: HTTP 500 after 2 attempts")),
    );
    JobState { table: "stocks_daily".into(), symbols }
}

#[test]
fn job_state_golden_v1() {
    let path = fixture("golden-v1.state");
    let bytes = golden_state().encode();
    if std::env::var_os("CANDLESTORE_BLESS").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap();
    assert_eq!(bytes, golden, "the encoding changed: bump the version and keep the old fixture");
    assert_eq!(&golden[..8], b"CSBFILL\n");
    assert_eq!(JobState::decode(&path, &golden).unwrap(), golden_state());

    // Save + load through a store directory round-trips and replaces atomically.
    let dir = tempfile::tempdir().unwrap();
    golden_state().save(dir.path()).unwrap();
    assert_eq!(JobState::load(dir.path(), "stocks_daily").unwrap(), golden_state());
    let err = JobState::load(dir.path(), "crypto_daily").unwrap();
    assert!(err.symbols.is_empty(), "another table has no state yet");
}

#[test]
fn corrupt_job_state_files_are_refused_with_the_reason() {
    let path = fixture("golden-v1.state");
    let good = std::fs::read(&path).unwrap();
    let decode = |b: &[u8]| JobState::decode(&path, b).unwrap_err();

    let mut flipped = good.clone();
    let last = flipped.len() - 2;
    flipped[last] ^= 0x01;
    assert!(matches!(decode(&flipped), StateFileError::ChecksumMismatch { .. }));
    let mut magic = good.clone();
    magic[0] = b'X';
    assert!(matches!(decode(&magic), StateFileError::BadMagic { .. }));
    let mut version = good.clone();
    version[8] = 2;
    let e = decode(&version);
    assert!(matches!(e, StateFileError::UnsupportedVersion { version: 2, .. }), "{e}");
    let e = decode(&good[..good.len() - 5]);
    assert!(matches!(e, StateFileError::Malformed { offset: 24, .. }), "{e}");
    assert!(e.to_string().contains("golden-v1.state"), "{e}");
    assert!(matches!(decode(&good[..10]), StateFileError::Malformed { offset: 0, .. }));
    let mut flags = good.clone();
    flags[12] = 1;
    assert!(matches!(decode(&flags), StateFileError::Malformed { offset: 12, .. }));

    // The deliberately corrupt fixture: one body byte changed after the checksum was taken.
    let corrupt = std::fs::read(fixture("corrupt-crc-v1.state")).unwrap();
    assert!(matches!(decode(&corrupt), StateFileError::ChecksumMismatch { .. }));

    // Loading from a store: a wrong table inside is refused.
    let dir = tempfile::tempdir().unwrap();
    let mut other = golden_state();
    other.table = "stocks_hourly".into();
    let target = JobState::path(dir.path(), "stocks_daily");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, other.encode()).unwrap();
    let e = JobState::load(dir.path(), "stocks_daily").unwrap_err().to_string();
    assert!(e.contains("stocks_hourly"), "{e}");
}

fn record(symbol: &str, at: i64) -> FetchRecord {
    FetchRecord {
        at,
        table: "stocks_daily".into(),
        provider: "polygon".into(),
        symbol: symbol.into(),
        start: date("2024-01-02"),
        end: date("2024-01-31"),
        rows: 21,
        stored: 21,
        requests: 1,
        retries: 0,
        latency_ms: 3,
        status: "ok".into(),
        error: None,
        quota_left: Some(99),
    }
}

#[test]
fn fetch_log_filters_ignores_a_torn_tail_and_refuses_a_corrupt_line() {
    let dir = tempfile::tempdir().unwrap();
    assert!(read_fetch_log(dir.path(), None, None).unwrap().is_empty());
    let path = fetch_log_path(dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let line = |r: &FetchRecord| {
        let json = serde_json::to_string(r).unwrap();
        format!("{:08x} {json}\n", crc32c::crc32c(json.as_bytes()))
    };
    let mut text = String::from("candlestore-fetch-log 1\n");
    text += &line(&record("AAPL", 10));
    text += &line(&record("MSFT", 20));
    text += &line(&record("AAPL", 30));
    std::fs::write(&path, format!("{text}0000abcd {{\"at\":")).unwrap();
    let all = read_fetch_log(dir.path(), None, None).unwrap();
    assert_eq!(all.len(), 3, "the torn last line is ignored");
    assert_eq!(all[1], record("MSFT", 20));
    let aapl = read_fetch_log(dir.path(), Some("AAPL"), Some(20)).unwrap();
    assert_eq!(aapl, vec![record("AAPL", 30)]);

    let bad = text.replacen("\"MSFT\"", "\"MSFX\"", 1);
    std::fs::write(&path, bad).unwrap();
    let e = read_fetch_log(dir.path(), None, None).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("checksum mismatch"), "{e}");
    std::fs::write(&path, "not a log\n").unwrap();
    assert!(matches!(
        read_fetch_log(dir.path(), None, None).unwrap_err(),
        StateFileError::BadMagic { .. }
    ));
}

/// The schedule state after a finished run (as `schedule` and `serve --schedule` write it).
fn golden_schedule() -> candlestore_ingest::ScheduleState {
    candlestore_ingest::ScheduleState {
        last_slot: Some(1_710_196_200_000_000),
        last_started: Some(1_710_196_200_500_000),
        last_finished: Some(1_710_196_212_000_000),
        last_outcome: Some("1 ok, 0 failed, 0 skipped; 3 bars written, 1 requests".into()),
        next_slot: Some(1_710_282_600_000_000),
    }
}

#[test]
fn schedule_state_golden_v1() {
    use candlestore_ingest::ScheduleState;
    let path = fixture("golden-v1.schedule.state");
    let dir = tempfile::tempdir().unwrap();
    golden_schedule().save(dir.path()).unwrap();
    let bytes = std::fs::read(ScheduleState::path(dir.path())).unwrap();
    if std::env::var_os("CANDLESTORE_BLESS").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap();
    assert_eq!(bytes, golden, "the encoding changed: bump the version and keep the old fixture");
    assert_eq!(&golden[..8], b"CSSCHED\n");
    // The fixture placed in a store reads back; flipping a body byte is a checksum error.
    let store = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ScheduleState::path(store.path()).parent().unwrap()).unwrap();
    std::fs::write(ScheduleState::path(store.path()), &golden).unwrap();
    assert_eq!(ScheduleState::load(store.path()).unwrap(), golden_schedule());
    let mut bad = golden.clone();
    let last = bad.len() - 2;
    bad[last] ^= 0x01;
    std::fs::write(ScheduleState::path(store.path()), &bad).unwrap();
    let err = ScheduleState::load(store.path()).unwrap_err().to_string();
    assert!(err.contains("schedule.state"), "{err}");
}
