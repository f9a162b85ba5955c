//! One instrument of the symbol master, and how records are validated, merged and filtered.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::SymbolsError;
use super::provider::Provider;
use crate::write::is_valid_symbol;

/// The instrument type of F3.1 (`type` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum InstrumentType {
    /// Common or preferred stock, ADR, unit, warrant, right.
    Stock,
    /// Exchange-traded fund or note.
    Etf,
    /// An index (not tradable itself).
    Index,
    /// A futures contract.
    Future,
    /// A crypto-asset (its engine symbol is the base asset, e.g. `BTC`).
    Crypto,
    /// A currency pair.
    Forex,
    /// A mutual or closed-end fund.
    Fund,
}

impl InstrumentType {
    /// Every type, in F3.1 order.
    pub const ALL: [InstrumentType; 7] = [
        InstrumentType::Stock,
        InstrumentType::Etf,
        InstrumentType::Index,
        InstrumentType::Future,
        InstrumentType::Crypto,
        InstrumentType::Forex,
        InstrumentType::Fund,
    ];

    /// The F3.1 spelling (`stock`, `etf`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            InstrumentType::Stock => "stock",
            InstrumentType::Etf => "etf",
            InstrumentType::Index => "index",
            InstrumentType::Future => "future",
            InstrumentType::Crypto => "crypto",
            InstrumentType::Forex => "forex",
            InstrumentType::Fund => "fund",
        }
    }
}

impl fmt::Display for InstrumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstrumentType {
    type Err = SymbolsError;

    /// Parses the F3.1 spelling, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        InstrumentType::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(t)).ok_or_else(
            || SymbolsError::UnknownType {
                value: s.to_owned(),
                expected: "stock, etf, index, future, crypto, forex, fund",
            },
        )
    }
}

/// Metadata of one instrument. `None` means unknown; an upsert never erases a known value
/// with an unknown one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolRecord {
    /// The engine ticker (upper case; `BRK.B`, `BTC`).
    pub symbol: String,
    /// Company or instrument name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Sector (GICS for S&P 500 members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// Industry (GICS sub-industry for S&P 500 members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// Market capitalisation in units of `currency` (not millions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_cap: Option<f64>,
    /// Listing exchange as commonly named (`NASDAQ`, `NYSE`, `NYSE Arca`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// ISO 10383 market identifier code of the listing (`XNAS`, `XNYS`, `ARCX`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mic_code: Option<String>,
    /// ISO 4217 currency code (`USD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// ISO 3166-1 alpha-2 country code (`US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Instrument type (F3.1 `type`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub instrument_type: Option<InstrumentType>,
    /// Tickers that replace the derived provider ticker ([`provider_symbol`](super::provider_symbol)).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provider_symbols: BTreeMap<Provider, String>,
}

impl SymbolRecord {
    /// A record that knows only its symbol.
    pub fn new(symbol: impl Into<String>) -> Self {
        Self {
            symbol: symbol.into(),
            name: None,
            sector: None,
            industry: None,
            market_cap: None,
            exchange: None,
            mic_code: None,
            currency: None,
            country: None,
            instrument_type: None,
            provider_symbols: BTreeMap::new(),
        }
    }

    /// Checks every field against its F3.1 domain.
    pub fn validate(&self) -> Result<(), SymbolsError> {
        let bad = |field: &'static str, reason: String| SymbolsError::InvalidRecord {
            symbol: self.symbol.clone(),
            field,
            reason,
        };
        if !is_valid_symbol(&self.symbol) {
            return Err(bad(
                "symbol",
                "not a valid ticker (1-64 ASCII letters, digits or . - _ = / ^ :)".into(),
            ));
        }
        let texts = [
            ("name", &self.name),
            ("sector", &self.sector),
            ("industry", &self.industry),
            ("exchange", &self.exchange),
        ];
        for (field, value) in texts {
            if let Some(v) = value
                && (v.trim().is_empty() || v.trim() != v || v.len() > 256)
            {
                return Err(bad(field, format!("{v:?} must be 1-256 bytes without outer spaces")));
            }
        }
        let code = |field: &'static str, value: &Option<String>, len: usize, what: &str| match value
        {
            Some(v)
                if v.len() != len
                    || !v
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || (len == 4 && b.is_ascii_digit())) =>
            {
                Err(bad(field, format!("{v:?} is not {what}")))
            }
            _ => Ok(()),
        };
        code("mic_code", &self.mic_code, 4, "an ISO 10383 MIC (4 upper-case letters or digits)")?;
        code("currency", &self.currency, 3, "an ISO 4217 code (3 upper-case letters)")?;
        code("country", &self.country, 2, "an ISO 3166-1 alpha-2 code (2 upper-case letters)")?;
        if let Some(cap) = self.market_cap
            && !(cap.is_finite() && cap >= 0.0)
        {
            return Err(bad("market_cap", format!("{cap} is not a finite, non-negative amount")));
        }
        for (provider, ticker) in &self.provider_symbols {
            if ticker.is_empty() || ticker.len() > 64 || ticker.chars().any(char::is_whitespace) {
                return Err(bad(
                    "provider_symbols",
                    format!("{provider} ticker {ticker:?} must be 1-64 characters without spaces"),
                ));
            }
        }
        Ok(())
    }

    /// Takes every field `other` knows; keeps the others.
    pub(crate) fn merge(&mut self, other: SymbolRecord) {
        fn take<T>(slot: &mut Option<T>, new: Option<T>) {
            if new.is_some() {
                *slot = new;
            }
        }
        take(&mut self.name, other.name);
        take(&mut self.sector, other.sector);
        take(&mut self.industry, other.industry);
        take(&mut self.market_cap, other.market_cap);
        take(&mut self.exchange, other.exchange);
        take(&mut self.mic_code, other.mic_code);
        take(&mut self.currency, other.currency);
        take(&mut self.country, other.country);
        take(&mut self.instrument_type, other.instrument_type);
        self.provider_symbols.extend(other.provider_symbols);
    }
}

/// Which records [`Store::find_symbols`](crate::Store::find_symbols) returns. Every set
/// criterion must hold; comparisons ignore ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolFilter {
    /// Exact sector.
    pub sector: Option<String>,
    /// Exact exchange name or MIC (`NASDAQ` or `XNAS`).
    pub exchange: Option<String>,
    /// Text contained in the symbol or the name.
    pub text: Option<String>,
}

impl SymbolFilter {
    /// Whether `r` passes.
    pub fn matches(&self, r: &SymbolRecord) -> bool {
        let eq =
            |a: &Option<String>, b: &str| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(b));
        if let Some(s) = &self.sector
            && !eq(&r.sector, s)
        {
            return false;
        }
        if let Some(e) = &self.exchange
            && !(eq(&r.exchange, e) || eq(&r.mic_code, e))
        {
            return false;
        }
        if let Some(t) = &self.text {
            let t = t.to_lowercase();
            let hit = r.symbol.to_lowercase().contains(&t)
                || r.name.as_deref().is_some_and(|n| n.to_lowercase().contains(&t));
            if !hit {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_case_insensitively_and_refuse_others() {
        assert_eq!("ETF".parse::<InstrumentType>().unwrap(), InstrumentType::Etf);
        for t in InstrumentType::ALL {
            assert_eq!(t.as_str().parse::<InstrumentType>().unwrap(), t);
        }
        let err = "equity".parse::<InstrumentType>().unwrap_err();
        assert!(err.to_string().contains("equity"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        let mut r = SymbolRecord::new("BRK.B");
        r.mic_code = Some("XNYS".into());
        r.country = Some("US".into());
        r.market_cap = Some(1.0e12);
        r.validate().unwrap();
        let field_of = |r: &SymbolRecord| match r.validate().unwrap_err() {
            SymbolsError::InvalidRecord { field, .. } => field,
            e => panic!("{e}"),
        };
        assert_eq!(field_of(&SymbolRecord::new("BAD SYMBOL")), "symbol");
        let mut c = r.clone();
        c.country = Some("USA".into());
        assert_eq!(field_of(&c), "country");
        let mut c = r.clone();
        c.mic_code = Some("xnys".into());
        assert_eq!(field_of(&c), "mic_code");
        let mut c = r.clone();
        c.market_cap = Some(f64::NAN);
        assert_eq!(field_of(&c), "market_cap");
        let mut c = r.clone();
        c.sector = Some(" Energy".into());
        assert_eq!(field_of(&c), "sector");
        let mut c = r;
        c.provider_symbols.insert(Provider::Yahoo, "BRK B".into());
        assert_eq!(field_of(&c), "provider_symbols");
    }

    #[test]
    fn filters() {
        let mut r = SymbolRecord::new("AAPL");
        r.name = Some("Apple Inc.".into());
        r.sector = Some("Information Technology".into());
        r.exchange = Some("NASDAQ".into());
        r.mic_code = Some("XNAS".into());
        let f = |sector: Option<&str>, exchange: Option<&str>, text: Option<&str>| SymbolFilter {
            sector: sector.map(Into::into),
            exchange: exchange.map(Into::into),
            text: text.map(Into::into),
        };
        assert!(f(None, None, None).matches(&r));
        assert!(f(Some("information technology"), Some("xnas"), Some("apple")).matches(&r));
        assert!(f(None, Some("NASDAQ"), Some("aap")).matches(&r));
        assert!(!f(Some("Energy"), None, None).matches(&r));
        assert!(!f(None, Some("XNYS"), None).matches(&r));
        assert!(!f(None, None, Some("micro")).matches(&r));
    }
}
