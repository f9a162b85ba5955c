//! A real `kill -9` of `candlestore backfill` midway: the child fetches from a slow local
//! vendor one symbol at a time, is SIGKILLed while a request is in flight, and a re-run
//! fetches only what had not landed; the store ends with exactly the calendar's bars.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use candlestore::Store;
use candlestore_ingest::{Calendar, stored_timestamps};
use chrono::NaiveDate;

#[path = "../../ingest/tests/backfill/mock.rs"]
#[allow(dead_code)]
mod mock;

const START: &str = "2023-01-03";
const END: &str = "2023-06-30";

fn backfill(base_url: &str, store: &Path, config: &Path, symbols: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_candlestore"));
    cmd.args(["backfill", "--store"]).arg(store).args([
        "--table",
        "stocks_daily",
        "--symbols",
        symbols,
        "--start",
        START,
        "--end",
        END,
        "--source",
        "polygon",
        "--concurrency",
        "1",
        "--config",
    ]);
    cmd.arg(config);
    cmd.env("CANDLESTORE_POLYGON_BASE_URL", base_url).env("CANDLESTORE_POLYGON_API_KEY", "k");
    cmd
}

#[test]
fn a_killed_backfill_resumes_without_refetching_what_landed() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let vendor = rt.block_on(mock::Vendor::start());
    vendor.set_delay(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bars");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[providers.polygon]\nrequests_per_minute = 60000\n").unwrap();
    let names: Vec<String> = (1..=10).map(|i| format!("S{i:02}")).collect();
    let symbols = names.join(",");

    let mut child = backfill(vendor.base_url(), &store, &config, &symbols)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while vendor.requests() < 5 {
        assert!(Instant::now() < deadline, "the backfill did not get going");
        assert!(child.try_wait().unwrap().is_none(), "the backfill ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    // A third of the way into the fifth symbol's answer: four symbols landed, one in flight.
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let first = vendor.seen();
    assert!((5..10).contains(&first.len()), "{first:?}");
    let landed: Vec<&str> = first[..first.len() - 1].iter().map(|s| s.0.as_str()).collect();

    let rerun = backfill(vendor.base_url(), &store, &config, &symbols).output().unwrap();
    let out = String::from_utf8_lossy(&rerun.stdout);
    assert!(rerun.status.success(), "{out}{}", String::from_utf8_lossy(&rerun.stderr));
    assert!(out.contains(&format!("{} skipped", landed.len())), "{out}");
    assert!(out.contains(", 0 failed,"), "{out}");
    // The re-run asked the vendor for exactly what had not landed: the symbol in flight at
    // the kill and those never started, each once, over the whole window.
    let second = &vendor.seen()[first.len()..];
    let mut refetched: Vec<&str> = second.iter().map(|s| s.0.as_str()).collect();
    refetched.sort_unstable();
    let want: Vec<&str> =
        names.iter().map(String::as_str).filter(|n| !landed.contains(n)).collect();
    assert_eq!(refetched, want);
    assert!(second.iter().all(|s| (s.1.as_str(), s.2.as_str()) == (START, END)), "{second:?}");

    let store = Store::open(&store).unwrap();
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let sessions: Vec<i64> = Calendar::Nyse
        .sessions(d(START), d(END))
        .unwrap()
        .iter()
        .map(|s| s.date.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros())
        .collect();
    let stored = stored_timestamps(&store, "stocks_daily", None).unwrap();
    assert_eq!(stored.len(), names.len());
    for (symbol, ts) in &stored {
        assert_eq!(ts, &sessions, "{symbol}: exactly the calendar's bars, none twice");
    }
    let rows = store.scan("stocks_daily").columns(["symbol"]).to_batch().unwrap().num_rows();
    assert_eq!(rows, names.len() * sessions.len(), "no duplicate rows");
    drop(rt);
}
