//! Engine symbol → provider ticker. The rules below are each provider's documented ticker
//! scheme; a record's `provider_symbols` override wins over them
//! ([`Store::provider_symbol`](crate::Store::provider_symbol)).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::SymbolsError;
use super::record::InstrumentType;

/// A market-data vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// Polygon.io aggregates (`AAPL`, `X:BTCUSD`, `C:EURUSD`, `I:SPX`).
    Polygon,
    /// Binance spot (`BTCUSDT`); crypto only.
    Binance,
    /// Yahoo Finance chart API (`BRK-B`, `BTC-USD`, `EURUSD=X`, `^GSPC`, `ES=F`).
    Yahoo,
    /// Twelve Data (`AAPL`, `BTC/USD`, `EUR/USD`).
    #[serde(rename = "twelvedata")]
    TwelveData,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Provider; 4] =
        [Provider::Polygon, Provider::Binance, Provider::Yahoo, Provider::TwelveData];

    /// Lower-case name (`polygon`, `binance`, `yahoo`, `twelvedata`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Polygon => "polygon",
            Provider::Binance => "binance",
            Provider::Yahoo => "yahoo",
            Provider::TwelveData => "twelvedata",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = SymbolsError;

    /// Parses a provider name, case-insensitively (`twelve_data` and `twelve-data` too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String =
            s.trim().chars().filter(|c| !matches!(c, '_' | '-')).collect::<String>().to_lowercase();
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == norm)
            .ok_or_else(|| SymbolsError::UnknownProvider { value: s.to_owned() })
    }
}

/// Quote assets recognised at the end of a pair written without a separator (`BTCUSDT`).
/// Longest first, so `USDT` wins over `USD`.
const QUOTES: [&str; 8] = ["FDUSD", "USDT", "USDC", "BUSD", "USD", "EUR", "GBP", "JPY"];

/// Splits a crypto or forex engine symbol into (base, quote): `BTC` → (BTC, USD),
/// `BTC-USD`/`BTC/USD` → (BTC, USD), `BTCUSDT` → (BTC, USDT), `EURUSD` → (EUR, USD).
fn pair(symbol: &str) -> Option<(&str, &str)> {
    if let Some((b, q)) = symbol.split_once(['/', '-']) {
        return (!b.is_empty() && !q.is_empty()).then_some((b, q));
    }
    for q in QUOTES {
        if let Some(b) = symbol.strip_suffix(q)
            && !b.is_empty()
        {
            return Some((b, q));
        }
    }
    Some((symbol, "USD"))
}

/// The ticker `provider` uses for engine symbol `symbol` of type `kind`, by rule (no
/// overrides; see [`Store::provider_symbol`](crate::Store::provider_symbol) for those).
///
/// * stocks, ETFs and funds: Yahoo writes share classes with `-` (`BRK.B` → `BRK-B`);
///   Polygon and Twelve Data keep the dot; Binance has none.
/// * crypto (engine symbol = base asset, quote USD unless written): Binance `BTCUSDT` (USD is
///   quoted in USDT there), Yahoo `BTC-USD`, Polygon `X:BTCUSD`, Twelve Data `BTC/USD`.
/// * forex: Yahoo `EURUSD=X`, Polygon `C:EURUSD`, Twelve Data `EUR/USD`.
/// * indexes: Yahoo `^GSPC`-style (`^` prefixed), Polygon `I:SPX`, Twelve Data as is.
/// * futures: Yahoo continuous contracts `ES=F`; the others carry none.
pub fn provider_symbol(
    symbol: &str,
    kind: InstrumentType,
    provider: Provider,
) -> Result<String, SymbolsError> {
    let none = |reason: &'static str| SymbolsError::NoProviderTicker {
        provider: provider.as_str(),
        symbol: symbol.to_owned(),
        kind: kind.as_str(),
        reason,
    };
    let symbol_upper = symbol.trim().to_ascii_uppercase();
    let s = symbol_upper.as_str();
    if s.is_empty() {
        return Err(none("empty symbol"));
    }
    Ok(match kind {
        InstrumentType::Stock | InstrumentType::Etf | InstrumentType::Fund => match provider {
            Provider::Yahoo => s.replace(['.', '/'], "-"),
            Provider::Polygon | Provider::TwelveData => s.to_owned(),
            Provider::Binance => return Err(none("Binance lists crypto-assets only")),
        },
        InstrumentType::Crypto => {
            let (base, quote) = pair(s).ok_or_else(|| none("not a BASE or BASE/QUOTE pair"))?;
            match provider {
                Provider::Binance => {
                    let quote = if quote == "USD" { "USDT" } else { quote };
                    format!("{base}{quote}")
                }
                Provider::Yahoo => format!("{base}-{quote}"),
                Provider::Polygon => format!("X:{base}{quote}"),
                Provider::TwelveData => format!("{base}/{quote}"),
            }
        }
        InstrumentType::Forex => {
            let (base, quote) = match s.split_once(['/', '-']) {
                Some(p) => p,
                None if s.len() == 6 && s.is_ascii() => s.split_at(3),
                None => return Err(none("a currency pair is 6 letters or BASE/QUOTE")),
            };
            match provider {
                Provider::Yahoo => format!("{base}{quote}=X"),
                Provider::Polygon => format!("C:{base}{quote}"),
                Provider::TwelveData => format!("{base}/{quote}"),
                Provider::Binance => return Err(none("Binance lists crypto-assets only")),
            }
        }
        InstrumentType::Index => {
            let bare = s.trim_start_matches('^');
            match provider {
                Provider::Yahoo => format!("^{bare}"),
                Provider::Polygon => format!("I:{bare}"),
                Provider::TwelveData => bare.to_owned(),
                Provider::Binance => return Err(none("Binance lists crypto-assets only")),
            }
        }
        InstrumentType::Future => match provider {
            Provider::Yahoo => format!("{}=F", s.trim_end_matches("=F")),
            _ => return Err(none("only Yahoo serves continuous futures contracts")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use InstrumentType::*;
    use Provider::*;

    fn map(s: &str, k: InstrumentType, p: Provider) -> String {
        provider_symbol(s, k, p).unwrap()
    }

    #[test]
    fn crypto_pairs() {
        assert_eq!(map("BTC", Crypto, Binance), "BTCUSDT");
        assert_eq!(map("BTC", Crypto, Yahoo), "BTC-USD");
        assert_eq!(map("BTC", Crypto, Polygon), "X:BTCUSD");
        assert_eq!(map("BTC", Crypto, TwelveData), "BTC/USD");
        assert_eq!(map("ETH/BTC", Crypto, Binance), "ETHBTC");
        assert_eq!(map("BTCUSDT", Crypto, Binance), "BTCUSDT");
        assert_eq!(map("BTCUSDT", Crypto, Yahoo), "BTC-USDT");
        assert_eq!(map("eth-eur", Crypto, Polygon), "X:ETHEUR");
    }

    #[test]
    fn stocks_and_share_classes() {
        assert_eq!(map("BRK.B", Stock, Yahoo), "BRK-B");
        assert_eq!(map("BRK.B", Stock, Polygon), "BRK.B");
        assert_eq!(map("BRK.B", Stock, TwelveData), "BRK.B");
        assert_eq!(map("AAPL", Etf, Yahoo), "AAPL");
        let err = provider_symbol("AAPL", Stock, Binance).unwrap_err();
        assert!(
            matches!(&err, SymbolsError::NoProviderTicker { provider: "binance", symbol, .. } if symbol == "AAPL"),
            "{err}"
        );
    }

    #[test]
    fn forex_indexes_futures() {
        assert_eq!(map("EURUSD", Forex, Yahoo), "EURUSD=X");
        assert_eq!(map("EUR/USD", Forex, Polygon), "C:EURUSD");
        assert_eq!(map("EURUSD", Forex, TwelveData), "EUR/USD");
        assert!(provider_symbol("EURO", Forex, Yahoo).is_err());
        assert_eq!(map("GSPC", Index, Yahoo), "^GSPC");
        assert_eq!(map("^SPX", Index, Polygon), "I:SPX");
        assert_eq!(map("ES", Future, Yahoo), "ES=F");
        assert!(provider_symbol("ES", Future, Polygon).is_err());
        assert!(provider_symbol(" ", Stock, Yahoo).is_err());
    }

    #[test]
    fn provider_names() {
        assert_eq!("TwelveData".parse::<Provider>().unwrap(), TwelveData);
        assert_eq!("twelve_data".parse::<Provider>().unwrap(), TwelveData);
        assert_eq!("YAHOO".parse::<Provider>().unwrap(), Yahoo);
        assert!(matches!(
            "alpaca".parse::<Provider>().unwrap_err(),
            SymbolsError::UnknownProvider { .. }
        ));
    }
}
