//! Each connector on its vendor's real answers: stamping, extras, quota, pagination, edge cases.

use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::{Float64Type, UInt64Type};
use candlestore_ingest::{
    Connector, FetchError, FetchRequest, FixedClock, ProviderKind, QuotaKind, Timeframe, bar_schema,
};

use crate::mock::{KEY, Mock};
use crate::{date, datetimes, f64s};

fn connector(mock: &Mock, kind: ProviderKind) -> Connector {
    Connector::new(kind, &mock.config(kind)).unwrap()
}

fn req(symbol: &str, provider_symbol: &str, tf: Timeframe, start: &str, end: &str) -> FetchRequest {
    FetchRequest::new(symbol, provider_symbol, tf, date(start), date(end))
}

#[tokio::test]
async fn polygon_daily_bars_are_session_dates() {
    let mock = Mock::start().await;
    let c = connector(&mock, ProviderKind::Polygon);
    let f =
        c.fetch(&req("AAPL", "AAPL", Timeframe::Day1, "2005-04-01", "2005-04-04")).await.unwrap();
    assert_eq!(f.batch.schema(), bar_schema());
    // t = New York midnight (05:00 / 04:00 UTC around the DST change) -> 00:00 UTC of the date.
    assert_eq!(datetimes(&f.batch), vec!["2005-04-01T00:00:00Z", "2005-04-04T00:00:00Z"]);
    assert_eq!(f64s(&f.batch, 2), vec![1.5032, 1.4639]);
    assert_eq!(f64s(&f.batch, 6), vec![642_646_396.0, 578_172_308.0]);
    assert_eq!(
        f.extras.column(0).as_primitive::<UInt64Type>().values().to_vec(),
        vec![82132, 65543]
    );
    assert_eq!(
        f.extras.column(1).as_primitive::<Float64Type>().values().to_vec(),
        vec![1.469, 1.4589]
    );
    assert_eq!((f.meta.rows, f.meta.pages, f.meta.requests, f.meta.retries), (2, 1, 1, 0));
    assert_eq!(f.meta.provider, ProviderKind::Polygon);
    assert!(f.meta.quota.is_none(), "Polygon sends no quota header");
    let seen = mock.seen();
    assert_eq!(seen[0].path, "/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04");
    assert_eq!(seen[0].query["adjusted"], "true");
    assert_eq!(seen[0].query["sort"], "asc");
    assert_eq!(seen[0].authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    assert!(!seen[0].query.contains_key("apiKey"), "the key never goes into the URL");

    c.fetch(&req("AAPL", "AAPL", Timeframe::Day1, "2005-04-01", "2005-04-04").with_adjusted(false))
        .await
        .unwrap();
    assert_eq!(mock.seen()[1].query["adjusted"], "false");
}

#[tokio::test]
async fn polygon_follows_next_url_back_to_the_mock() {
    let mock = Mock::start().await;
    let c = connector(&mock, ProviderKind::Polygon);
    let f =
        c.fetch(&req("AAPL", "AAPL", Timeframe::Day1, "2005-04-01", "2020-01-10")).await.unwrap();
    assert_eq!((f.meta.pages, f.meta.requests), (2, 2));
    assert_eq!(
        datetimes(&f.batch),
        vec![
            "2005-04-01T00:00:00Z",
            "2005-04-04T00:00:00Z",
            "2020-01-02T00:00:00Z",
            "2020-01-03T00:00:00Z"
        ]
    );
    let seen = mock.seen();
    assert_eq!(seen[1].path, "/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10");
    assert_eq!(seen[1].query["cursor"], "bGltaXQ9MiZzb3J0PWFzYw");
    assert!(seen[1].authorization.is_some(), "the key is sent on every page");
}

#[tokio::test]
async fn polygon_exponent_volumes_delayed_status_and_empty_results() {
    let mock = Mock::start().await;
    let c = connector(&mock, ProviderKind::Polygon);
    let f =
        c.fetch(&req("AAPL", "AAPL", Timeframe::Day1, "2024-12-30", "2025-01-07")).await.unwrap();
    assert_eq!(f.meta.rows, 6);
    assert_eq!(f64s(&f.batch, 6)[0], 33_166_048.0, "3.3166048e+07");
    assert_eq!(datetimes(&f.batch)[2], "2025-01-02T00:00:00Z");

    let f =
        c.fetch(&req("AAPL", "AAPL", Timeframe::Hour1, "2024-04-29", "2024-04-29")).await.unwrap();
    assert_eq!(f.meta.vendor_status.as_deref(), Some("DELAYED"));
    assert!(f.meta.to_string().contains("vendor status DELAYED"), "{}", f.meta);
    // Intraday bars keep their UTC start: 08:00 UTC is the 04:00 EDT pre-market bar.
    assert_eq!(f.meta.rows, 16);
    assert_eq!(datetimes(&f.batch)[0], "2024-04-29T08:00:00Z");
    let seen = mock.seen();
    assert_eq!(seen[1].path, "/v2/aggs/ticker/AAPL/range/1/hour/1714348800000/1714435199999");

    let f =
        c.fetch(&req("ZZZZ", "ZZZZ", Timeframe::Day1, "2024-12-30", "2025-01-07")).await.unwrap();
    assert_eq!((f.meta.rows, f.batch.num_rows(), f.meta.pages), (0, 0, 1));
}

#[tokio::test]
async fn binance_keeps_extras_reads_the_weight_and_holds_back_the_open_kline() {
    let mock = Mock::start().await;
    // "Now" is 23:12:30 UTC: the last kline (23:12) is still open.
    let now = chrono::DateTime::parse_from_rfc3339("2021-10-22T23:12:30Z").unwrap().to_utc();
    let c = connector(&mock, ProviderKind::Binance).with_clock(Arc::new(FixedClock(now)));
    let f = c
        .fetch(&req("BTC", "BTCUSDT", Timeframe::Minute1, "2021-10-22", "2021-10-22"))
        .await
        .unwrap();
    assert_eq!(f.meta.rows, 9);
    assert_eq!(f.incomplete.len(), 1);
    assert_eq!(datetimes(&f.batch).last().unwrap(), "2021-10-22T23:11:00Z");
    assert_eq!(f.batch.column(0).as_string::<i32>().value(0), "BTC", "the engine symbol");
    assert_eq!(f.extras.column(0).as_primitive::<UInt64Type>().value(0), 617);
    assert_eq!(f64s(&f.extras, 3)[0], 12.28492);
    let q = f.meta.quota.unwrap();
    assert_eq!((q.header, q.kind, q.value), ("x-mbx-used-weight-1m", QuotaKind::Used, 12));
    let seen = &mock.seen()[0];
    assert_eq!(seen.query["symbol"], "BTCUSDT");
    assert_eq!(seen.query["startTime"], "1634860800000");
    assert_eq!(seen.query["endTime"], "1634947199999");
    assert_eq!(seen.query["limit"], "1000");

    let err = c
        .fetch(&req("NOPE", "NOPEUSDT", Timeframe::Minute1, "2021-10-22", "2021-10-22"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::UnknownSymbol { .. }), "{err}");
    assert!(err.to_string().contains("binance") && err.to_string().contains("NOPEUSDT"), "{err}");
}

#[tokio::test]
async fn yahoo_empty_ranges_session_dates_and_unknown_symbols() {
    let mock = Mock::start().await;
    let c = connector(&mock, ProviderKind::Yahoo);
    let f = c
        .fetch(&req("AAPL", "AAPL", Timeframe::Minute1, "2025-02-01", "2025-02-02"))
        .await
        .unwrap();
    assert_eq!((f.meta.rows, f.rejects.len()), (0, 0), "no timestamp key: empty, not an error");

    let f =
        c.fetch(&req("AAPL", "AAPL", Timeframe::Day1, "2020-01-01", "2020-01-03")).await.unwrap();
    assert_eq!(datetimes(&f.batch), vec!["2020-01-02T00:00:00Z"]);
    let seen = &mock.seen()[1];
    assert_eq!(seen.path, "/v8/finance/chart/AAPL");
    assert_eq!(
        (seen.query["period1"].as_str(), seen.query["period2"].as_str()),
        ("1577836800", "1578096000")
    );

    let f = c
        .fetch(&req("EURUSD", "EURUSD=X", Timeframe::Day1, "2020-01-01", "2020-01-03"))
        .await
        .unwrap();
    assert_eq!(f.meta.rows, 3);
    assert_eq!(mock.seen()[2].path, "/v8/finance/chart/EURUSD=X");

    let err = c
        .fetch(&req("NOPE", "NOPE", Timeframe::Day1, "2020-01-01", "2020-01-03"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::UnknownSymbol { .. }), "{err}");
    assert_eq!(
        c.fetch(&req("NOPE", "NOPE", Timeframe::Day1, "2020-01-01", "2020-01-03"))
            .await
            .unwrap_err()
            .provider(),
        Some(ProviderKind::Yahoo)
    );
}

#[tokio::test]
async fn twelvedata_strings_local_times_credits_and_errors() {
    let mock = Mock::start().await;
    let c = connector(&mock, ProviderKind::TwelveData);
    let f = c
        .fetch(&req("AAPL", "AAPL", Timeframe::Minute1, "2023-08-24", "2023-08-24"))
        .await
        .unwrap();
    assert_eq!(f.meta.rows, 30);
    let dt = datetimes(&f.batch);
    // Newest first on the wire, ascending here; 10:40 New York = 14:40 UTC.
    assert_eq!((dt[0].as_str(), dt[29].as_str()), ("2023-08-24T14:40:00Z", "2023-08-24T15:09:00Z"));
    let q = f.meta.quota.unwrap();
    assert_eq!((q.header, q.kind, q.value), ("api-credits-left", QuotaKind::Remaining, 7));
    let seen = &mock.seen()[0];
    assert_eq!(seen.query["interval"], "1min");
    assert_eq!(seen.authorization.as_deref(), Some(format!("apikey {KEY}").as_str()));

    let f =
        c.fetch(&req("AAPL", "AAPL", Timeframe::Day1, "2024-11-22", "2024-11-22")).await.unwrap();
    assert_eq!(datetimes(&f.batch), vec!["2024-11-22T00:00:00Z"]);
    assert_eq!(f64s(&f.batch, 5), vec![229.87]);

    let err = c
        .fetch(&req("INVALID", "INVALID", Timeframe::Day1, "2024-11-22", "2024-11-22"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::UnknownSymbol { .. }), "{err}");
    assert!(err.to_string().contains("**symbol** not found: INVALID"), "{err}");
}

#[tokio::test]
async fn keys_are_required_and_a_wrong_one_is_a_final_error() {
    let mock = Mock::start().await;
    let mut config = mock.config(ProviderKind::Polygon);
    config.api_key = None;
    let c = Connector::new(ProviderKind::Polygon, &config).unwrap();
    let err = c
        .fetch(&req("AAPL", "AAPL", Timeframe::Day1, "2005-04-01", "2005-04-04"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CANDLESTORE_POLYGON_API_KEY"), "{err}");
    assert!(mock.seen().is_empty(), "nothing was sent");

    config.api_key = Some("wrong".into());
    let c = Connector::new(ProviderKind::Polygon, &config).unwrap();
    let err = c
        .fetch(&req("AAPL", "AAPL", Timeframe::Day1, "2005-04-01", "2005-04-04"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Vendor { status: 401, .. }), "{err}");
    assert!(err.to_string().contains("Unknown API Key"), "{err}");
    assert_eq!(mock.seen().len(), 1, "a 401 is not retried");

    let mut config = mock.config(ProviderKind::TwelveData);
    config.api_key = Some("wrong".into());
    let c = Connector::new(ProviderKind::TwelveData, &config).unwrap();
    let err = c
        .fetch(&req("AAPL", "AAPL", Timeframe::Day1, "2024-11-22", "2024-11-22"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("apikey"), "{err}");
}
