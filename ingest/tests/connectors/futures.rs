//! Binance USD-M futures: funding rate and open interest attached to the klines, against the
//! mock's two futures endpoints (the Binance docs' examples, moved next to the kline sample's
//! day), with faults; and the columns' round trip through a store.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Float64Type;
use candlestore::Store;
use candlestore_ingest::{
    Connector, FetchError, FetchRequest, Fetched, FixedClock, ProviderKind, Timeframe,
    without_futures,
};

use crate::date;
use crate::mock::{Fault, Mock, fast_retries};

/// 2021-10-22 08:00 UTC minus the docs' first funding time: the two events land at 08:00 and
/// 16:00 of the kline sample's day.
const FUNDING_SHIFT: i64 = 1_634_889_600_000 - 1_570_608_000_000;
/// 2021-10-22 23:05 UTC minus the docs' first open interest time: observations at 23:05 and
/// 23:10, among the kline sample's minutes (23:03 to 23:12).
const OI_SHIFT: i64 = 1_634_943_900_000 - 1_583_127_900_000;

fn at(rfc3339: &str) -> Arc<FixedClock> {
    Arc::new(FixedClock(chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()))
}

/// A Binance connector on the mock, "now" shortly after the sample's last kline closed.
fn binance(mock: &Mock) -> Connector {
    Connector::new(ProviderKind::Binance, &mock.config(ProviderKind::Binance))
        .unwrap()
        .with_clock(at("2021-10-22T23:30:00Z"))
        .with_retry_policy(fast_retries(3))
        .with_jitter_seed(5)
}

fn btc_minutes() -> FetchRequest {
    FetchRequest::new("BTC", "BTCUSDT", Timeframe::Minute1, date("2021-10-22"), date("2021-10-22"))
        .with_futures(true)
}

fn column(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    batch.column_by_name(name).unwrap().as_primitive::<Float64Type>().iter().collect()
}

/// The expected columns for the ten sample klines (23:03 ... 23:12).
fn expected() -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let funding = vec![Some(0.0001); 10];
    // Bar 23:03 closes 23:04, before the first observation; 23:04..23:08 close at 23:05..23:09
    // (the 23:05 observation); 23:09..23:12 close at 23:10..23:13 (the 23:10 one).
    let mut oi = vec![None];
    oi.extend([Some(20403.637); 5]);
    oi.extend([Some(20401.367); 4]);
    (funding, oi)
}

fn check(f: &Fetched) {
    let (funding, oi) = expected();
    assert_eq!(f.batch.num_rows(), 10);
    assert_eq!(column(&f.batch, "funding_rate"), funding);
    assert_eq!(column(&f.batch, "open_interest"), oi);
}

#[tokio::test]
async fn funding_rate_and_open_interest_are_attached_when_asked_for() {
    let mock = Mock::start().await;
    mock.shift_futures(FUNDING_SHIFT, OI_SHIFT);
    let c = binance(&mock);
    let f = c.fetch(&btc_minutes()).await.unwrap();
    check(&f);
    assert_eq!(f.meta.requests, 3, "klines, fundingRate, openInterestHist");
    let seen = mock.seen();
    assert_eq!(seen[1].path, "/fapi/v1/fundingRate");
    // From a day before the range (the event in force at its first bar), to its last ms.
    assert_eq!(seen[1].query["startTime"], "1634774400000");
    assert_eq!(seen[1].query["endTime"], "1634947199999");
    assert_eq!(seen[1].query["limit"], "1000");
    assert_eq!(seen[2].path, "/futures/data/openInterestHist");
    assert_eq!(seen[2].query["period"], "5m");
    assert_eq!(seen[2].query["limit"], "500");
    // One period before the range; windows of at most 500 periods (a day is 288).
    assert_eq!(seen[2].query["startTime"], "1634860500000");
    assert_eq!(seen[2].query["endTime"], "1634947259999");

    // Not asked for: the spot columns only, and no futures request.
    let plain = btc_minutes().with_futures(false);
    let f = c.fetch(&plain).await.unwrap();
    assert!(f.batch.column_by_name("funding_rate").is_none());
    assert_eq!(mock.seen().len(), 4);

    // `[providers.binance] futures = true` asks for every fetch.
    let mut config = mock.config(ProviderKind::Binance);
    config.futures = true;
    let c = Connector::new(ProviderKind::Binance, &config)
        .unwrap()
        .with_clock(at("2021-10-22T23:30:00Z"));
    check(&c.fetch(&plain).await.unwrap());
}

#[tokio::test]
async fn a_spot_pair_without_a_perpetual_keeps_the_columns_null() {
    let mock = Mock::start().await;
    mock.without_perpetual();
    let f = binance(&mock).fetch(&btc_minutes()).await.unwrap();
    assert_eq!(f.batch.num_rows(), 10);
    assert_eq!(column(&f.batch, "funding_rate"), vec![None; 10]);
    assert_eq!(column(&f.batch, "open_interest"), vec![None; 10]);
    assert!(
        f.meta.warnings.iter().any(|w| w.contains("no USD-M perpetual BTCUSDT")),
        "{:?}",
        f.meta.warnings
    );
    // The 400 is final: no retry, and open interest is not asked for after it.
    assert_eq!(f.meta.requests, 2);
}

#[tokio::test]
async fn ranges_without_events_and_before_the_30_days_stay_null() {
    let mock = Mock::start().await;
    // No shift: the docs' events are in 2019/2020, so the answers for 2021 are empty arrays.
    let f = binance(&mock).fetch(&btc_minutes()).await.unwrap();
    assert_eq!(column(&f.batch, "funding_rate"), vec![None; 10]);
    assert_eq!(column(&f.batch, "open_interest"), vec![None; 10]);

    // Two months later, open interest of that day is no longer served: not even asked for.
    mock.shift_futures(FUNDING_SHIFT, OI_SHIFT);
    let before = mock.seen().len();
    let c = Connector::new(ProviderKind::Binance, &mock.config(ProviderKind::Binance))
        .unwrap()
        .with_clock(at("2021-12-22T00:00:00Z"));
    let f = c.fetch(&btc_minutes()).await.unwrap();
    assert_eq!(column(&f.batch, "funding_rate"), expected().0);
    assert_eq!(column(&f.batch, "open_interest"), vec![None; 10]);
    let paths: Vec<String> = mock.seen()[before..].iter().map(|s| s.path.clone()).collect();
    assert_eq!(paths, ["/api/v3/klines", "/fapi/v1/fundingRate"]);
    assert!(f.meta.warnings.iter().any(|w| w.contains("last 30 days")), "{:?}", f.meta.warnings);
}

#[tokio::test]
async fn futures_requests_are_retried_like_the_klines() {
    let mock = Mock::start().await;
    mock.shift_futures(FUNDING_SHIFT, OI_SHIFT);
    let pass = Fault::Slow(std::time::Duration::ZERO);
    // klines pass; fundingRate: 429 with Retry-After, then 500; openInterestHist: 503.
    mock.inject([
        pass,
        Fault::Status(429, Some("0".into())),
        Fault::Status(500, None),
        Fault::Slow(std::time::Duration::ZERO),
        Fault::Status(503, None),
    ]);
    let f = binance(&mock).fetch(&btc_minutes()).await.unwrap();
    check(&f);
    assert_eq!((f.meta.requests, f.meta.retries), (6, 3));
}

#[tokio::test]
async fn a_broken_futures_answer_fails_the_whole_fetch() {
    let mock = Mock::start().await;
    mock.shift_futures(FUNDING_SHIFT, OI_SHIFT);
    let pass = || Fault::Slow(std::time::Duration::ZERO);
    // Truncated funding JSON.
    mock.inject([pass(), Fault::Truncate]);
    let err = binance(&mock).fetch(&btc_minutes()).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::Malformed { .. }), "{msg}");
    assert!(msg.contains("binance BTCUSDT") && msg.contains("fundingRate"), "{msg}");
    // Truncated open interest JSON.
    mock.inject([pass(), pass(), Fault::Truncate]);
    let err = binance(&mock).fetch(&btc_minutes()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("binance BTCUSDT") && msg.contains("openInterestHist"), "{msg}");
    // Server errors past the retries.
    mock.inject([pass(), pass(), Fault::Status(500, None), Fault::Status(500, None)]);
    let c = binance(&mock).with_retry_policy(fast_retries(1));
    let err = c.fetch(&btc_minutes()).await.unwrap_err();
    assert!(matches!(err, FetchError::RetriesExhausted { .. }), "{err}");
}

#[tokio::test]
async fn fetched_futures_columns_round_trip_through_a_crypto_table() {
    let mock = Mock::start().await;
    mock.shift_futures(FUNDING_SHIFT, OI_SHIFT);
    let f = binance(&mock).fetch(&btc_minutes()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let report = store.append("crypto_1min", &f.batch).unwrap();
    assert_eq!(report.inserted, 10);
    store.flush().unwrap();
    let (funding, oi) = expected();
    let read = store
        .scan("crypto_1min")
        .symbol("BTC")
        .columns(["funding_rate", "open_interest"])
        .to_batch()
        .unwrap();
    assert_eq!(column(&read, "funding_rate"), funding);
    assert_eq!(column(&read, "open_interest"), oi);
    // The default read of a crypto table has them too, after the 97.
    let all = store.scan("crypto_1min").to_batch().unwrap();
    assert_eq!(all.num_columns(), 99);
    assert_eq!(all.schema().field(97).name(), "funding_rate");

    // A refetch a month later has no open interest for that day: the stored values stay.
    let c = Connector::new(ProviderKind::Binance, &mock.config(ProviderKind::Binance))
        .unwrap()
        .with_clock(at("2021-12-22T00:00:00Z"));
    let later = c.fetch(&btc_minutes()).await.unwrap();
    let report = store.append("crypto_1min", &later.batch).unwrap();
    assert_eq!((report.inserted, report.revised, report.unchanged), (0, 0, 10));
    let read = store.scan("crypto_1min").columns(["open_interest"]).to_batch().unwrap();
    assert_eq!(column(&read, "open_interest"), oi);

    // A stock table has no such columns: the bars go in without them.
    let err = store.append("stocks_1min", &f.batch).unwrap_err();
    assert!(err.to_string().contains("funding_rate"), "{err}");
    let stripped = without_futures(&f.batch);
    assert_eq!(store.append("stocks_1min", &stripped).unwrap().inserted, 10);
    let stocks = store.scan("stocks_1min").to_batch().unwrap();
    assert_eq!(stocks.schema(), candlestore::bar_schema());
    assert_eq!(stocks.column(0).len(), 10);
}
