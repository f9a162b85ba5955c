//! What a fetch asks for: the provider, the bar timeframe, the asset class and the date range.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::provider::error::{FetchError, ProviderConfigError};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// One of the four market-data vendors candlestore can fetch bars from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ProviderKind {
    /// Polygon.io aggregates v2 (US stocks, `X:` crypto and `C:` forex tickers).
    Polygon,
    /// Binance spot klines (crypto pairs such as `BTCUSDT`).
    Binance,
    /// Yahoo Finance chart v8 (stocks, `BTC-USD`, `EURUSD=X`, ...).
    Yahoo,
    /// Twelve Data `time_series` (stocks, crypto, forex).
    TwelveData,
}

impl ProviderKind {
    /// Every provider, in declaration order.
    pub const ALL: [ProviderKind; 4] = [
        ProviderKind::Polygon,
        ProviderKind::Binance,
        ProviderKind::Yahoo,
        ProviderKind::TwelveData,
    ];

    /// The lower-case name used in config sections (`[providers.polygon]`), the CLI and the
    /// `source` column of stored bars.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Polygon => "polygon",
            ProviderKind::Binance => "binance",
            ProviderKind::Yahoo => "yahoo",
            ProviderKind::TwelveData => "twelvedata",
        }
    }

    /// The `NAME` in the `CANDLESTORE_<NAME>_BASE_URL` / `_API_KEY` environment variables.
    pub fn env_name(self) -> &'static str {
        match self {
            ProviderKind::Polygon => "POLYGON",
            ProviderKind::Binance => "BINANCE",
            ProviderKind::Yahoo => "YAHOO",
            ProviderKind::TwelveData => "TWELVEDATA",
        }
    }

    /// The vendor's public API endpoint.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::Polygon => "https://api.polygon.io",
            ProviderKind::Binance => "https://api.binance.com",
            ProviderKind::Yahoo => "https://query1.finance.yahoo.com",
            ProviderKind::TwelveData => "https://api.twelvedata.com",
        }
    }

    /// The vendor's public futures API endpoint, if it has one (Binance USD-M).
    pub fn default_futures_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::Binance => Some("https://fapi.binance.com"),
            ProviderKind::Polygon | ProviderKind::Yahoo | ProviderKind::TwelveData => None,
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProviderKind {
    type Err = ProviderConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProviderKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ProviderConfigError::UnknownProvider { name: s.to_owned() })
    }
}

/// The bar length of a fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timeframe {
    /// Daily bars, stamped 00:00 UTC of the session date (field spec F2.2).
    Day1,
    /// Hourly bars, stamped at the bar start in UTC.
    Hour1,
    /// One-minute bars, stamped at the bar start in UTC.
    Minute1,
}

impl Timeframe {
    /// `1d`, `1h` or `1m`.
    pub fn name(self) -> &'static str {
        match self {
            Timeframe::Day1 => "1d",
            Timeframe::Hour1 => "1h",
            Timeframe::Minute1 => "1m",
        }
    }

    /// The bar length in microseconds.
    pub fn micros(self) -> i64 {
        match self {
            Timeframe::Day1 => MICROS_PER_DAY,
            Timeframe::Hour1 => 3_600_000_000,
            Timeframe::Minute1 => 60_000_000,
        }
    }

    /// Whether bars are stamped with a session date rather than a bar-start instant.
    pub fn is_daily(self) -> bool {
        self == Timeframe::Day1
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Timeframe {
    type Err = ProviderConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "1d" => Ok(Timeframe::Day1),
            "1h" => Ok(Timeframe::Hour1),
            "1m" => Ok(Timeframe::Minute1),
            other => Err(ProviderConfigError::UnknownTimeframe { name: other.to_owned() }),
        }
    }
}

/// The kind of instrument, which decides the fallback chain of providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AssetClass {
    /// Stocks, ETFs and funds.
    Equity,
    /// Crypto pairs.
    Crypto,
    /// Currency pairs.
    Fx,
}

impl AssetClass {
    /// `equity`, `crypto` or `fx`, as written in the config file.
    pub fn name(self) -> &'static str {
        match self {
            AssetClass::Equity => "equity",
            AssetClass::Crypto => "crypto",
            AssetClass::Fx => "fx",
        }
    }
}

impl fmt::Display for AssetClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AssetClass {
    type Err = ProviderConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "equity" => Ok(AssetClass::Equity),
            "crypto" => Ok(AssetClass::Crypto),
            "fx" => Ok(AssetClass::Fx),
            other => Err(ProviderConfigError::UnknownAssetClass { name: other.to_owned() }),
        }
    }
}

/// One fetch: the bars of `provider_symbol` at one provider, returned under `symbol`.
///
/// `start` and `end` are inclusive UTC dates; intraday fetches cover `start` 00:00 UTC up to
/// (excluding) the day after `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// The engine symbol written into the `symbol` column (e.g. `BTC`).
    pub symbol: String,
    /// The provider's own ticker (e.g. `BTCUSDT`, `BTC-USD`, `X:BTCUSD`).
    pub provider_symbol: String,
    /// Bar length.
    pub timeframe: Timeframe,
    /// First date (inclusive).
    pub start: NaiveDate,
    /// Last date (inclusive).
    pub end: NaiveDate,
    /// Ask for split-adjusted prices where the vendor has the choice (Polygon `adjusted=`).
    pub adjusted: bool,
    /// Also fetch the USD-M futures funding rate and open interest of the symbol and return
    /// them as the `funding_rate` and `open_interest` columns of the bars (Binance only; other
    /// providers ignore it). Also switched on for every Binance fetch by
    /// [`ProviderConfig::futures`](crate::ProviderConfig::futures).
    pub futures: bool,
}

impl FetchRequest {
    /// A request for adjusted bars of `provider_symbol` stored as `symbol`.
    pub fn new(
        symbol: impl Into<String>,
        provider_symbol: impl Into<String>,
        timeframe: Timeframe,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Self {
        Self {
            symbol: symbol.into(),
            provider_symbol: provider_symbol.into(),
            timeframe,
            start,
            end,
            adjusted: true,
            futures: false,
        }
    }

    /// Sets whether the futures funding rate and open interest are attached (Binance).
    pub fn with_futures(mut self, futures: bool) -> Self {
        self.futures = futures;
        self
    }

    /// Sets whether adjusted prices are asked for.
    pub fn with_adjusted(mut self, adjusted: bool) -> Self {
        self.adjusted = adjusted;
        self
    }

    /// 00:00 UTC of `start`, in µs since the epoch.
    pub fn start_micros(&self) -> i64 {
        date_micros(self.start)
    }

    /// 00:00 UTC of the day after `end`, in µs since the epoch.
    pub fn end_exclusive_micros(&self) -> i64 {
        date_micros(self.end) + MICROS_PER_DAY
    }

    /// Checks the request before anything is sent.
    pub(crate) fn validate(&self, provider: ProviderKind) -> Result<(), FetchError> {
        let problem = if self.symbol.trim().is_empty() {
            "the symbol is empty"
        } else if self.provider_symbol.trim().is_empty() {
            "the provider symbol is empty"
        } else if self.end < self.start {
            "the end date is before the start date"
        } else {
            return Ok(());
        };
        Err(FetchError::InvalidRequest {
            provider,
            symbol: self.provider_symbol.clone(),
            detail: format!("{problem} (start {}, end {})", self.start, self.end),
        })
    }
}

/// 00:00 UTC of `date` in µs since the epoch.
pub(crate) fn date_micros(date: NaiveDate) -> i64 {
    date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in ProviderKind::ALL {
            assert_eq!(k.name().parse::<ProviderKind>().unwrap(), k);
            assert!(k.default_base_url().starts_with("https://"));
        }
        assert!("TwelveData".parse::<ProviderKind>().is_ok());
        assert!(matches!(
            "iex".parse::<ProviderKind>(),
            Err(ProviderConfigError::UnknownProvider { name }) if name == "iex"
        ));
        for t in [Timeframe::Day1, Timeframe::Hour1, Timeframe::Minute1] {
            assert_eq!(t.name().parse::<Timeframe>().unwrap(), t);
        }
        assert!("5m".parse::<Timeframe>().is_err());
        assert_eq!("crypto".parse::<AssetClass>().unwrap(), AssetClass::Crypto);
        assert!("bonds".parse::<AssetClass>().is_err());
    }

    #[test]
    fn ranges_cover_whole_days_and_are_validated() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let r =
            FetchRequest::new("AAPL", "AAPL", Timeframe::Day1, d("2020-01-02"), d("2020-01-02"));
        assert_eq!(r.end_exclusive_micros() - r.start_micros(), MICROS_PER_DAY);
        assert_eq!(r.start_micros(), 1_577_923_200_000_000);
        assert!(r.validate(ProviderKind::Polygon).is_ok());
        let bad = FetchRequest { end: d("2020-01-01"), ..r.clone() };
        let err = bad.validate(ProviderKind::Yahoo).unwrap_err().to_string();
        assert!(err.contains("yahoo") && err.contains("AAPL") && err.contains("before"), "{err}");
        let empty = FetchRequest { provider_symbol: " ".into(), ..r };
        assert!(empty.validate(ProviderKind::Yahoo).is_err());
    }
}
