//! The seam between engine symbols and vendor tickers. Until the symbol master is wired in,
//! tickers follow each vendor's convention for the engine symbol.

use std::sync::Arc;

use crate::provider::request::{AssetClass, ProviderKind};

/// Maps (engine symbol, asset class, provider) to the provider's ticker; `None` when the
/// provider has no ticker for the instrument (it is then skipped in the fallback chain).
pub type TickerMap = Arc<dyn Fn(&str, AssetClass, ProviderKind) -> Option<String> + Send + Sync>;

/// Each vendor's usual ticker for an engine symbol: the symbol itself for equities (Yahoo
/// writes share classes with `-`: `BRK.B` -> `BRK-B`); for a crypto base asset quoted in US
/// dollars, `BTC` -> Polygon `X:BTCUSD`, Binance `BTCUSDT`, Yahoo `BTC-USD`, Twelve Data
/// `BTC/USD`. Binance lists no equities.
pub fn default_provider_ticker(
    symbol: &str,
    class: AssetClass,
    provider: ProviderKind,
) -> Option<String> {
    let s = symbol.trim().to_ascii_uppercase();
    if s.is_empty() {
        return None;
    }
    match (class, provider) {
        (AssetClass::Crypto, ProviderKind::Polygon) => Some(format!("X:{s}USD")),
        (AssetClass::Crypto, ProviderKind::Binance) => Some(format!("{s}USDT")),
        (AssetClass::Crypto, ProviderKind::Yahoo) => Some(format!("{s}-USD")),
        (AssetClass::Crypto, ProviderKind::TwelveData) => Some(format!("{s}/USD")),
        (_, ProviderKind::Binance) => None,
        (_, ProviderKind::Yahoo) => Some(s.replace('.', "-")),
        _ => Some(s),
    }
}

/// [`default_provider_ticker`] as a [`TickerMap`].
pub fn default_tickers() -> TickerMap {
    Arc::new(default_provider_ticker)
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
}
