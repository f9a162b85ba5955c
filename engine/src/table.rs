//! Table names, timeframes and the time-partitioning rule.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// What a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssetClass {
    /// US (or other) listed stocks and ETFs.
    Stocks,
    /// Crypto pairs.
    Crypto,
}

impl AssetClass {
    /// The name used in table names (`stocks`, `crypto`).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetClass::Stocks => "stocks",
            AssetClass::Crypto => "crypto",
        }
    }
}

/// Bar length of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timeframe {
    /// 1 minute.
    Min1,
    /// 5 minutes.
    Min5,
    /// 15 minutes.
    Min15,
    /// 30 minutes.
    Min30,
    /// 1 hour.
    Hour1,
    /// 4 hours.
    Hour4,
    /// 1 day.
    Day1,
    /// 1 week.
    Week1,
}

impl Timeframe {
    /// All timeframes, shortest first.
    pub const ALL: [Timeframe; 8] = [
        Timeframe::Min1,
        Timeframe::Min5,
        Timeframe::Min15,
        Timeframe::Min30,
        Timeframe::Hour1,
        Timeframe::Hour4,
        Timeframe::Day1,
        Timeframe::Week1,
    ];

    /// Bar length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Timeframe::Min1 => 60,
            Timeframe::Min5 => 300,
            Timeframe::Min15 => 900,
            Timeframe::Min30 => 1800,
            Timeframe::Hour1 => 3600,
            Timeframe::Hour4 => 14_400,
            Timeframe::Day1 => 86_400,
            Timeframe::Week1 => 604_800,
        }
    }

    /// The suffix used in table names (`daily`, `hourly`, `1min`, ...).
    pub fn table_suffix(self) -> &'static str {
        match self {
            Timeframe::Min1 => "1min",
            Timeframe::Min5 => "5min",
            Timeframe::Min15 => "15min",
            Timeframe::Min30 => "30min",
            Timeframe::Hour1 => "hourly",
            Timeframe::Hour4 => "4hour",
            Timeframe::Day1 => "daily",
            Timeframe::Week1 => "weekly",
        }
    }

    /// The short code (`1m`, `1h`, `1d`, ...).
    pub fn code(self) -> &'static str {
        match self {
            Timeframe::Min1 => "1m",
            Timeframe::Min5 => "5m",
            Timeframe::Min15 => "15m",
            Timeframe::Min30 => "30m",
            Timeframe::Hour1 => "1h",
            Timeframe::Hour4 => "4h",
            Timeframe::Day1 => "1d",
            Timeframe::Week1 => "1w",
        }
    }

    /// Month partitions for daily-or-longer bars, day partitions for intraday bars.
    pub fn partitioning(self) -> Partitioning {
        if self.seconds() >= 86_400 { Partitioning::Month } else { Partitioning::Day }
    }
}

impl FromStr for Timeframe {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Timeframe::ALL
            .into_iter()
            .find(|t| t.code() == s || t.table_suffix() == s)
            .ok_or_else(|| Error::UnknownTimeframe { timeframe: s.to_owned() })
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How a table's segments are split in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// `month=YYYY-MM` directories.
    Month,
    /// `day=YYYY-MM-DD` directories.
    Day,
}

/// A validated table name: `[a-z][a-z0-9_]{0,62}`, so it is always a safe path component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName(String);

impl TableName {
    /// Validates a table name.
    pub fn new(name: &str) -> Result<Self> {
        let ok = !name.is_empty()
            && name.len() <= 63
            && name.as_bytes()[0].is_ascii_lowercase()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(Error::InvalidTableName { name: name.to_owned() })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A table's definition: its name, asset class and timeframe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's name.
    pub name: TableName,
    /// What it holds.
    pub asset_class: AssetClass,
    /// Its bar length.
    pub timeframe: Timeframe,
}

impl TableSpec {
    /// A spec named `<asset>_<timeframe suffix>` (for example `crypto_4hour`).
    pub fn new(asset_class: AssetClass, timeframe: Timeframe) -> Self {
        let name = format!("{}_{}", asset_class.as_str(), timeframe.table_suffix());
        Self { name: TableName(name), asset_class, timeframe }
    }

    /// Recognises the conventional names (`stocks_daily`, `crypto_1min`, `stocks_5min`, ...),
    /// which are created on demand. Other names must be declared.
    pub fn from_conventional_name(name: &str) -> Option<Self> {
        let (asset, suffix) = name.split_once('_')?;
        let asset_class = match asset {
            "stocks" => AssetClass::Stocks,
            "crypto" => AssetClass::Crypto,
            _ => return None,
        };
        let timeframe = Timeframe::ALL.into_iter().find(|t| t.table_suffix() == suffix)?;
        Some(Self::new(asset_class, timeframe))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventional_names() {
        let t = TableSpec::from_conventional_name("stocks_daily").expect("known");
        assert_eq!(t.timeframe, Timeframe::Day1);
        assert_eq!(t.timeframe.partitioning(), Partitioning::Month);
        let t = TableSpec::from_conventional_name("crypto_1min").expect("known");
        assert_eq!(t.timeframe.partitioning(), Partitioning::Day);
        assert_eq!(
            TableSpec::new(AssetClass::Crypto, Timeframe::Hour4).name.as_str(),
            "crypto_4hour"
        );
        assert!(TableSpec::from_conventional_name("bonds_daily").is_none());
        assert!(TableSpec::from_conventional_name("stocks_2min").is_none());
    }

    #[test]
    fn table_names_are_safe_path_components() {
        for bad in ["", "../x", "a/b", "A", "1abc", "a b", "a.b", &"x".repeat(64)] {
            assert!(TableName::new(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(TableName::new("stocks_daily").is_ok());
    }

    #[test]
    fn timeframe_parse() {
        assert_eq!("1d".parse::<Timeframe>().expect("1d"), Timeframe::Day1);
        assert_eq!("hourly".parse::<Timeframe>().expect("hourly"), Timeframe::Hour1);
        assert!("2d".parse::<Timeframe>().is_err());
    }
}
