//! `data_age_seconds` / `is_stale` against the NYSE calendar with a pinned clock: a Friday
//! daily bar is not stale over the weekend (nor on a Monday holiday), and becomes stale once
//! the next session's bar is overdue past the `[freshness]` threshold.

use std::sync::Arc;

use arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use candlestore::{ManualClock, Store};
use candlestore_ingest::{FreshnessConfig, bar_schema};
use candlestore_server::{Server, ServerConfig};

use crate::fixture::start_with;

fn at(s: &str) -> i64 {
    s.parse::<chrono::DateTime<chrono::Utc>>().unwrap().timestamp_micros()
}

/// A store with one AAPL bar on Friday 2024-01-12.
fn friday_store(dir: &std::path::Path) -> Store {
    let store = Store::open(dir.join("store")).unwrap();
    let px = Arc::new(Float64Array::from(vec![10.0]));
    let batch = RecordBatch::try_new(
        bar_schema(),
        vec![
            Arc::new(StringArray::from(vec!["AAPL"])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![at("2024-01-12T00:00:00Z")])
                    .with_timezone("UTC"),
            ),
            px.clone(),
            Arc::new(Float64Array::from(vec![11.0])),
            Arc::new(Float64Array::from(vec![9.0])),
            px,
            Arc::new(Float64Array::from(vec![100.0])),
        ],
    )
    .unwrap();
    assert_eq!(store.append("stocks_daily", &batch).unwrap().inserted, 1);
    store
}

async fn stale_at(store: &Store, now: &str, thresholds: FreshnessConfig) -> (bool, bool, i64) {
    let builder = Server::builder(store.clone(), ServerConfig::default().with_public_read(true))
        .with_clock(Arc::new(ManualClock::new(at(now))))
        .with_freshness(thresholds);
    let s = start_with(builder).await;
    let (_, bars) = s.json("/api/v1/bars/stocks_daily/AAPL?fields=close").await;
    let (_, status) = s.json("/api/v1/status").await;
    s.stop().await.unwrap();
    let table = &status["tables"][0];
    assert_eq!(table["data_age_seconds"], bars["data_age_seconds"]);
    (
        bars["is_stale"].as_bool().unwrap(),
        table["is_stale"].as_bool().unwrap(),
        table["stale_after_seconds"].as_i64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_follows_the_calendar_and_the_configured_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let store = friday_store(dir.path());
    let default = FreshnessConfig::default();
    // Saturday, Sunday, and Tuesday morning after Martin Luther King Jr. Day: nothing due.
    for now in ["2024-01-13T12:00:00Z", "2024-01-14T23:00:00Z", "2024-01-16T12:00:00Z"] {
        assert_eq!(stale_at(&store, now, default).await, (false, false, 86_400), "{now}");
    }
    // Tuesday's bar (session closed 21:00 UTC) overdue by more than a day.
    assert_eq!(stale_at(&store, "2024-01-17T21:30:00Z", default).await, (true, true, 86_400));
    // A one-hour threshold from the config's [freshness] section.
    let text = "[server]\n[freshness]\nstocks = \"1h\"\n";
    let tight = FreshnessConfig::from_toml(text, std::path::Path::new("c.toml")).unwrap();
    assert_eq!(stale_at(&store, "2024-01-16T22:30:00Z", tight).await, (true, true, 3600));
}
