//! Injected faults: 429 with Retry-After, 5xx, slow answers past the timeout, truncated JSON,
//! pagination loops, the circuit breaker; a failed fetch never yields a partial batch.

use std::time::{Duration, Instant};

use candlestore_ingest::{
    BreakerState, Connector, FetchError, FetchRequest, ProviderKind, Timeframe,
};

use crate::date;
use crate::mock::{Fault, Mock, fast_retries};

fn polygon_2005() -> FetchRequest {
    FetchRequest::new("AAPL", "AAPL", Timeframe::Day1, date("2005-04-01"), date("2005-04-04"))
}

fn polygon(mock: &Mock, retries: u32) -> Connector {
    Connector::new(ProviderKind::Polygon, &mock.config(ProviderKind::Polygon))
        .unwrap()
        .with_retry_policy(fast_retries(retries))
        .with_jitter_seed(3)
}

#[tokio::test]
async fn a_429_waits_for_retry_after_then_succeeds() {
    let mock = Mock::start().await;
    mock.inject([Fault::Status(429, Some("1".into()))]);
    let c = polygon(&mock, 3);
    let t0 = Instant::now();
    let f = c.fetch(&polygon_2005()).await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured ({:?})",
        t0.elapsed()
    );
    assert_eq!((f.meta.rows, f.meta.requests, f.meta.retries), (2, 2, 1));
    assert!(f.meta.latency >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_fails_at_once() {
    let mock = Mock::start().await;
    mock.inject([Fault::Status(429, Some("3600".into()))]);
    let err = polygon(&mock, 3).fetch(&polygon_2005()).await.unwrap_err();
    assert!(matches!(err, FetchError::RetryAfterTooLong { .. }), "{err}");
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_until_the_limit() {
    let mock = Mock::start().await;
    mock.inject([Fault::Status(500, None), Fault::Status(503, None)]);
    let f = polygon(&mock, 2).fetch(&polygon_2005()).await.unwrap();
    assert_eq!((f.meta.requests, f.meta.retries, f.meta.rows), (3, 2, 2));

    mock.inject([Fault::Status(502, None), Fault::Status(502, None), Fault::Status(502, None)]);
    let err = polygon(&mock, 2).fetch(&polygon_2005()).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::RetriesExhausted { attempts: 3, .. }), "{msg}");
    assert!(msg.contains("polygon AAPL") && msg.contains("HTTP 502"), "{msg}");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let mock = Mock::start().await;
    // The mock's config times requests out after 300 ms.
    mock.inject([Fault::Slow(Duration::from_millis(1500))]);
    let f = polygon(&mock, 1).fetch(&polygon_2005()).await.unwrap();
    assert_eq!((f.meta.requests, f.meta.retries, f.meta.rows), (2, 1, 2));

    mock.inject([
        Fault::Slow(Duration::from_millis(1500)),
        Fault::Slow(Duration::from_millis(1500)),
    ]);
    let err = polygon(&mock, 1).fetch(&polygon_2005()).await.unwrap_err().to_string();
    assert!(err.contains("timed out after 300 ms"), "{err}");
}

#[tokio::test]
async fn truncated_json_is_an_error_naming_provider_and_symbol() {
    let mock = Mock::start().await;
    for (kind, req) in [
        (ProviderKind::Polygon, polygon_2005()),
        (
            ProviderKind::Binance,
            FetchRequest::new(
                "BTC",
                "BTCUSDT",
                Timeframe::Minute1,
                date("2021-10-22"),
                date("2021-10-22"),
            ),
        ),
        (
            ProviderKind::Yahoo,
            FetchRequest::new(
                "AAPL",
                "AAPL",
                Timeframe::Day1,
                date("2020-01-01"),
                date("2020-01-03"),
            ),
        ),
        (
            ProviderKind::TwelveData,
            FetchRequest::new(
                "AAPL",
                "AAPL",
                Timeframe::Minute1,
                date("2023-08-24"),
                date("2023-08-24"),
            ),
        ),
    ] {
        mock.inject([Fault::Truncate]);
        let c =
            Connector::new(kind, &mock.config(kind)).unwrap().with_retry_policy(fast_retries(2));
        let before = mock.seen().len();
        let err = c.fetch(&req).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, FetchError::Malformed { .. }), "{msg}");
        assert!(
            msg.contains(kind.name()) && msg.contains(&req.provider_symbol) && msg.contains("EOF"),
            "{msg}"
        );
        assert_eq!(mock.seen().len() - before, 1, "{kind}: a malformed answer is not retried");
    }
}

#[tokio::test]
async fn a_failure_on_a_later_page_yields_nothing() {
    let mock = Mock::start().await;
    // Page 1 is fine, page 2 is cut off: the fetch fails whole, with no partial batch.
    mock.inject([Fault::Slow(Duration::ZERO), Fault::Truncate]);
    let req =
        FetchRequest::new("AAPL", "AAPL", Timeframe::Day1, date("2005-04-01"), date("2020-01-10"));
    let err = polygon(&mock, 2).fetch(&req).await.unwrap_err();
    assert!(matches!(err, FetchError::Malformed { page: 2, .. }), "{err}");
    assert!(err.to_string().contains("(page 2)"), "{err}");

    mock.inject([
        Fault::Slow(Duration::ZERO),
        Fault::Status(500, None),
        Fault::Status(500, None),
        Fault::Status(500, None),
    ]);
    let err = polygon(&mock, 2).fetch(&req).await.unwrap_err();
    assert!(matches!(err, FetchError::RetriesExhausted { .. }), "{err}");
}

#[tokio::test]
async fn a_pagination_loop_is_detected() {
    let mock = Mock::start().await;
    let req =
        FetchRequest::new("LOOP", "LOOP", Timeframe::Day1, date("2020-01-01"), date("2020-01-10"));
    let err = polygon(&mock, 0).fetch(&req).await.unwrap_err();
    assert!(matches!(err, FetchError::Pagination { .. }), "{err}");
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn twelvedata_credit_exhaustion_inside_a_200_is_retried() {
    let mock = Mock::start().await;
    let c = Connector::new(ProviderKind::TwelveData, &mock.config(ProviderKind::TwelveData))
        .unwrap()
        .with_retry_policy(fast_retries(1));
    let req =
        FetchRequest::new("X", "CREDITS", Timeframe::Day1, date("2024-11-22"), date("2024-11-22"));
    let err = c.fetch(&req).await.unwrap_err().to_string();
    assert!(
        err.contains("giving up after 2 attempts") && err.contains("run out of API credits"),
        "{err}"
    );
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_recovers() {
    let mock = Mock::start().await;
    let mut config = mock.config(ProviderKind::Polygon);
    config.breaker_failures = 2;
    config.breaker_cooldown = Duration::from_millis(300);
    let c =
        Connector::new(ProviderKind::Polygon, &config).unwrap().with_retry_policy(fast_retries(5));
    mock.inject([Fault::Status(503, None), Fault::Status(503, None), Fault::Status(503, None)]);
    let err = c.fetch(&polygon_2005()).await.unwrap_err();
    assert!(matches!(err, FetchError::CircuitOpen { .. }), "{err}");
    assert_eq!(mock.seen().len(), 2, "the breaker stopped the retries");
    assert!(matches!(c.breaker_state(), BreakerState::Open { .. }));
    let err = c.fetch(&polygon_2005()).await.unwrap_err();
    assert!(matches!(err, FetchError::CircuitOpen { .. }), "{err}");
    assert_eq!(mock.seen().len(), 2, "an open breaker sends nothing");

    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(c.breaker_state(), BreakerState::HalfOpen { trial_in_flight: false });
    // The trial meets the third 503: open again.
    assert!(matches!(c.fetch(&polygon_2005()).await, Err(FetchError::CircuitOpen { .. })));
    assert_eq!(mock.seen().len(), 3);
    assert!(matches!(c.breaker_state(), BreakerState::Open { .. }));
    tokio::time::sleep(Duration::from_millis(350)).await;
    // This trial succeeds and closes the breaker.
    let f = c.fetch(&polygon_2005()).await.unwrap();
    assert_eq!(f.meta.rows, 2);
    assert_eq!(c.breaker_state(), BreakerState::Closed { failures: 0 });
}
