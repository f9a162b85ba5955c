//! The seam between engine symbols and vendor tickers: the symbol master's overrides, else the
//! engine's per-vendor rules ([`candlestore::provider_symbol`]).

use std::sync::Arc;

use candlestore::{InstrumentType, Provider, Store};

use crate::provider::request::{AssetClass, ProviderKind};

/// Maps (engine symbol, asset class, provider) to the provider's ticker; `None` when the
/// provider has no ticker for the instrument (it is then skipped in the fallback chain).
pub type TickerMap = Arc<dyn Fn(&str, AssetClass, ProviderKind) -> Option<String> + Send + Sync>;

/// The engine's name for a connector's provider.
pub(crate) fn engine_provider(provider: ProviderKind) -> Provider {
    match provider {
        ProviderKind::Polygon => Provider::Polygon,
        ProviderKind::Binance => Provider::Binance,
        ProviderKind::Yahoo => Provider::Yahoo,
        ProviderKind::TwelveData => Provider::TwelveData,
    }
}

/// The instrument type assumed for a symbol of an asset class the master does not know.
fn default_type(class: AssetClass) -> InstrumentType {
    match class {
        AssetClass::Equity => InstrumentType::Stock,
        AssetClass::Crypto => InstrumentType::Crypto,
        AssetClass::Fx => InstrumentType::Forex,
    }
}

/// Each vendor's usual ticker for an engine symbol, by the engine's rules: the symbol itself
/// for equities (Yahoo writes share classes with `-`: `BRK.B` -> `BRK-B`); for a crypto base
/// asset quoted in US dollars, `BTC` -> Polygon `X:BTCUSD`, Binance `BTCUSDT`, Yahoo
/// `BTC-USD`, Twelve Data `BTC/USD`. Binance lists no equities.
pub fn default_provider_ticker(
    symbol: &str,
    class: AssetClass,
    provider: ProviderKind,
) -> Option<String> {
    candlestore::provider_symbol(symbol, default_type(class), engine_provider(provider)).ok()
}

/// [`default_provider_ticker`] as a [`TickerMap`].
pub fn default_tickers() -> TickerMap {
    Arc::new(default_provider_ticker)
}

/// The tickers of `store`'s symbol master: a record's per-provider override, else the rules
/// of [`default_provider_ticker`] for the record's instrument type (or the asset class's
/// default type when the master does not know the symbol).
pub fn master_tickers(store: Store) -> TickerMap {
    Arc::new(move |symbol, class, provider| {
        store.provider_symbol(symbol, engine_provider(provider), Some(default_type(class))).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_conventions() {
        let t = default_provider_ticker;
        assert_eq!(t("btc", AssetClass::Crypto, ProviderKind::Binance).as_deref(), Some("BTCUSDT"));
        assert_eq!(
            t("BTC", AssetClass::Crypto, ProviderKind::Polygon).as_deref(),
            Some("X:BTCUSD")
        );
        assert_eq!(t("BTC", AssetClass::Crypto, ProviderKind::Yahoo).as_deref(), Some("BTC-USD"));
        assert_eq!(
            t("BTC", AssetClass::Crypto, ProviderKind::TwelveData).as_deref(),
            Some("BTC/USD")
        );
        assert_eq!(t("BRK.B", AssetClass::Equity, ProviderKind::Yahoo).as_deref(), Some("BRK-B"));
        assert_eq!(t("AAPL", AssetClass::Equity, ProviderKind::Polygon).as_deref(), Some("AAPL"));
        assert_eq!(t("AAPL", AssetClass::Equity, ProviderKind::Binance), None);
        assert_eq!(t(" ", AssetClass::Equity, ProviderKind::Polygon), None);
    }

    #[test]
    fn master_overrides_and_types_win_over_the_asset_class() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open");
        let mut brk = candlestore::SymbolRecord::new("BRK.B");
        brk.provider_symbols.insert(Provider::Polygon, "BRK.B.OVERRIDE".to_owned());
        let mut spy = candlestore::SymbolRecord::new("SPX");
        spy.instrument_type = Some(InstrumentType::Index);
        let report = store.upsert_symbols([brk, spy]).expect("upsert");
        assert_eq!(report.added, 2);
        let t = master_tickers(store);
        // An override of the master wins.
        assert_eq!(
            t("BRK.B", AssetClass::Equity, ProviderKind::Polygon).as_deref(),
            Some("BRK.B.OVERRIDE")
        );
        // Without one, the rules apply.
        assert_eq!(t("BRK.B", AssetClass::Equity, ProviderKind::Yahoo).as_deref(), Some("BRK-B"));
        // The master's type beats the asset class's default type.
        assert_eq!(t("SPX", AssetClass::Equity, ProviderKind::Yahoo).as_deref(), Some("^SPX"));
        assert_eq!(t("SPX", AssetClass::Equity, ProviderKind::Polygon).as_deref(), Some("I:SPX"));
        // A symbol the master does not know takes the asset class's type.
        assert_eq!(t("ETH", AssetClass::Crypto, ProviderKind::Binance).as_deref(), Some("ETHUSDT"));
        assert_eq!(t("AAPL", AssetClass::Equity, ProviderKind::Binance), None);
    }
}
