//! The schedule loop's step (shared by `candlestore schedule` and `serve --schedule`) with a
//! pinned clock and a real backfill against the generator vendor: a due slot runs once and is
//! recorded before and after, a second step waits, a slot missed beyond the grace is skipped,
//! and a failing run is an outcome, not an error.

use std::path::Path;
use std::sync::Arc;

use candlestore_ingest::{Backfill, FixedClock, ScheduleConfig, ScheduleState, Scheduler, Tick};
use chrono::{DateTime, Utc};

use crate::mock::Vendor;
use crate::{date, open, sessions, stored};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn config(table: &str) -> ScheduleConfig {
    let text = format!(
        "[schedule]\ntime = \"18:30\"\ntimezone = \"America/New_York\"\ntable = \"{table}\"\n\
         universe = [\"AAPL\"]\nlookback_days = 5\ngrace = \"2h\"\n"
    );
    ScheduleConfig::from_toml(&text, Path::new("c.toml")).unwrap()
}

fn at(config: ScheduleConfig, root: &Path, now: &str) -> Scheduler {
    Scheduler::new(config, root, 2).with_clock(Arc::new(FixedClock(utc(now))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_slot_runs_once_and_a_late_one_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let vendor = Vendor::start().await;
    let backfill = Backfill::new(store.clone(), vendor.connectors());
    let run = |spec: candlestore_ingest::BackfillSpec| {
        let b = backfill.clone();
        async move { b.run(&spec, |_| {}).await.map_err(|e| e.to_string()) }
    };
    // Monday 2024-03-11 18:30 New York (EDT) is 22:30 UTC.
    let slot = utc("2024-03-11T22:30:00Z");
    let s = at(config("stocks_daily"), dir.path(), "2024-03-11T22:30:00Z");
    let tick = s.step(run).await.unwrap();
    let Tick::Ran { slot: ran, misfire, window, outcome } = tick else { panic!("{tick:?}") };
    assert_eq!((ran, misfire, window), (slot, false, (date("2024-03-07"), date("2024-03-11"))));
    assert!(outcome.starts_with("1 ok, 0 failed, 0 skipped; 3 bars written"), "{outcome}");
    assert_eq!(stored(&store, "AAPL"), sessions("2024-03-07", "2024-03-11"));
    let state = ScheduleState::load(dir.path()).unwrap();
    assert_eq!(state.last_slot, Some(slot.timestamp_micros()));
    assert_eq!(state.last_outcome.as_deref(), Some(outcome.as_str()));
    assert_eq!(state.next_slot, Some(utc("2024-03-12T22:30:00Z").timestamp_micros()));
    assert!(state.last_finished.is_some());

    // Five minutes later: already ran, nothing is fetched.
    let before = vendor.requests();
    let s = at(config("stocks_daily"), dir.path(), "2024-03-11T22:35:00Z");
    let tick = s.step(run).await.unwrap();
    assert_eq!(tick, Tick::Wait { until: utc("2024-03-12T22:30:00Z"), skipped: None });
    assert_eq!(vendor.requests(), before);

    // Back 3 h after Tuesday's slot: beyond the 2 h grace, skipped.
    let s = at(config("stocks_daily"), dir.path(), "2024-03-13T01:30:00Z");
    let tick = s.step(run).await.unwrap();
    assert_eq!(
        tick,
        Tick::Wait {
            until: utc("2024-03-13T22:30:00Z"),
            skipped: Some(utc("2024-03-12T22:30:00Z"))
        }
    );
    assert_eq!(vendor.requests(), before);
    assert_eq!(ScheduleState::load(dir.path()).unwrap().last_slot, Some(slot.timestamp_micros()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_recorded_as_its_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let vendor = Vendor::start().await;
    let backfill = Backfill::new(store, vendor.connectors());
    // A table no backfill can fill (4-hour bars): the run fails as a whole.
    let s = at(config("crypto_4hour"), dir.path(), "2024-03-11T22:31:00Z");
    let tick = s
        .step(|spec| {
            let b = backfill.clone();
            async move { b.run(&spec, |_| {}).await.map_err(|e| e.to_string()) }
        })
        .await
        .unwrap();
    let Tick::Ran { outcome, .. } = tick else { panic!("{tick:?}") };
    assert!(outcome.starts_with("error: ") && outcome.contains("crypto_4hour"), "{outcome}");
    let state = ScheduleState::load(dir.path()).unwrap();
    assert_eq!(state.last_outcome.as_deref(), Some(outcome.as_str()));
    assert_eq!(vendor.requests(), 0);
    // A corrupt state file is an error naming it, not a silent fresh start.
    std::fs::write(ScheduleState::path(dir.path()), b"garbage").unwrap();
    let err = s.step(|_| async { Err::<candlestore_ingest::BackfillSummary, _>(String::new()) });
    let err = err.await.unwrap_err().to_string();
    assert!(err.contains("schedule.state"), "{err}");
}
