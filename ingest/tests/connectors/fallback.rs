//! Fallback along the priority chain of an asset class.

use std::collections::BTreeMap;

use candlestore_ingest::{
    AssetClass, Connector, Connectors, FallbackRequest, FetchError, ProviderKind, ProvidersConfig,
    Timeframe,
};

use crate::mock::{Fault, Mock, fast_retries};
use crate::{date, datetimes};

fn connectors(mock: &Mock) -> Connectors {
    let mut config = ProvidersConfig::default();
    for kind in ProviderKind::ALL {
        *config.get_mut(kind) = mock.config(kind);
    }
    let mut all = Connectors::new(&config).unwrap();
    for kind in ProviderKind::ALL {
        all = all.with_connector(
            Connector::new(kind, &mock.config(kind)).unwrap().with_retry_policy(fast_retries(1)),
        );
    }
    all
}

fn aapl(symbols: &[(ProviderKind, &str)]) -> FallbackRequest {
    FallbackRequest {
        symbol: "AAPL".into(),
        provider_symbols: symbols
            .iter()
            .map(|(k, s)| (*k, (*s).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        timeframe: Timeframe::Day1,
        start: date("2020-01-01"),
        end: date("2020-01-03"),
    }
}

#[tokio::test]
async fn the_next_provider_serves_when_the_first_fails() {
    let mock = Mock::start().await;
    let all = connectors(&mock);
    // Equity chain by default priority: polygon (2), twelvedata (3), yahoo (4).
    // Polygon fails twice with 500 (retries used up), Twelve Data does not know the ticker,
    // Yahoo serves.
    mock.inject([Fault::Status(500, None), Fault::Status(500, None)]);
    let req = aapl(&[
        (ProviderKind::Polygon, "AAPL"),
        (ProviderKind::TwelveData, "NOPE"),
        (ProviderKind::Yahoo, "AAPL"),
    ]);
    let f = all.fetch(AssetClass::Equity, &req).await.unwrap();
    assert_eq!(f.meta.provider, ProviderKind::Yahoo);
    assert_eq!(datetimes(&f.batch), vec!["2020-01-02T00:00:00Z"]);
    let failed: Vec<ProviderKind> = f.meta.fallback_failures.iter().map(|p| p.provider).collect();
    assert_eq!(failed, vec![ProviderKind::Polygon, ProviderKind::TwelveData]);
    assert!(matches!(f.meta.fallback_failures[0].error, FetchError::RetriesExhausted { .. }));
    assert!(matches!(f.meta.fallback_failures[1].error, FetchError::UnknownSymbol { .. }));
    assert!(f.meta.to_string().contains("after polygon, twelvedata failed"), "{}", f.meta);
}

#[tokio::test]
async fn an_empty_answer_ends_the_chain_and_unmapped_providers_are_skipped() {
    let mock = Mock::start().await;
    let all = connectors(&mock);
    // Polygon's empty answer is a success: Yahoo is not asked.
    let req = aapl(&[(ProviderKind::Polygon, "ZZZZ"), (ProviderKind::Yahoo, "AAPL")]);
    let f = all.fetch(AssetClass::Equity, &req).await.unwrap();
    assert_eq!((f.meta.provider, f.meta.rows), (ProviderKind::Polygon, 0));
    assert_eq!(mock.seen().len(), 1);

    let err =
        all.fetch(AssetClass::Equity, &aapl(&[(ProviderKind::Binance, "AAPL")])).await.unwrap_err();
    assert!(matches!(err, FetchError::NoProvider { .. }), "{err}");
}

#[tokio::test]
async fn every_failure_is_reported_when_all_fail() {
    let mock = Mock::start().await;
    let all = connectors(&mock);
    let req = FallbackRequest {
        symbol: "DOGE".into(),
        provider_symbols: [(ProviderKind::Binance, "DOGEXXX"), (ProviderKind::Yahoo, "DOGE-XXX")]
            .into_iter()
            .map(|(k, s)| (k, s.to_owned()))
            .collect(),
        timeframe: Timeframe::Day1,
        start: date("2020-01-01"),
        end: date("2020-01-03"),
    };
    let err = all.fetch(AssetClass::Crypto, &req).await.unwrap_err();
    let FetchError::AllProvidersFailed { failures, .. } = &err else { panic!("{err}") };
    assert_eq!(
        failures.iter().map(|f| f.provider).collect::<Vec<_>>(),
        vec![ProviderKind::Binance, ProviderKind::Yahoo]
    );
    let msg = err.to_string();
    assert!(msg.contains("DOGEXXX") && msg.contains("DOGE-XXX"), "{msg}");
}
