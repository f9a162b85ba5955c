//! Spot checks: the same bars from two sources (two vendors, or a vendor and the store's own
//! bars), aligned by bar start, every OHLCV value compared within a relative tolerance.
//!
//! [`compare`] is the pure part; [`SpotSources`] loads one symbol's bars from a
//! [`SpotSource`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, TimestampMicrosecondType};
use candlestore::{Micros, Store, TableSpec};
use chrono::NaiveDate;

use crate::backfill::tickers::{TickerMap, default_tickers, master_tickers};
use crate::gaps::date_window_micros;
use crate::provider::error::FetchError;
use crate::provider::fallback::Connectors;
use crate::provider::request::{AssetClass, FetchRequest, ProviderKind, Timeframe};

/// One bar's start and OHLCV values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpotBar {
    /// Bar start, µs UTC.
    pub datetime: Micros,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Volume.
    pub volume: f64,
}

/// Which of the two sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The first (`--a`).
    A,
    /// The second (`--b`).
    B,
}

/// One finding of a spot check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Difference {
    /// Both sources have the bar but a value differs beyond the tolerance.
    Value {
        /// The engine symbol.
        symbol: String,
        /// Bar start, µs UTC.
        datetime: Micros,
        /// `open`, `high`, `low`, `close` or `volume`.
        field: &'static str,
        /// Source A's value.
        a: f64,
        /// Source B's value.
        b: f64,
        /// `|a - b| / max(|a|, |b|)`.
        relative: f64,
    },
    /// Only one source has the bar.
    Missing {
        /// The engine symbol.
        symbol: String,
        /// Bar start, µs UTC.
        datetime: Micros,
        /// The source that has it.
        only_in: Side,
    },
}

/// `|a - b|` relative to the larger magnitude (0 when both are 0; NaN compares unequal).
pub fn relative_difference(a: f64, b: f64) -> f64 {
    if a == b {
        return 0.0;
    }
    let scale = a.abs().max(b.abs());
    if scale == 0.0 || !scale.is_finite() { f64::INFINITY } else { (a - b).abs() / scale }
}

/// Every difference between `a` and `b` (one symbol's bars, any order) beyond the relative
/// `tolerance` (0.005 = 0.5 %), in bar order; within a bar in OHLCV order.
pub fn compare(symbol: &str, a: &[SpotBar], b: &[SpotBar], tolerance: f64) -> Vec<Difference> {
    let mut by_time: BTreeMap<Micros, (Option<&SpotBar>, Option<&SpotBar>)> = BTreeMap::new();
    for bar in a {
        by_time.entry(bar.datetime).or_default().0 = Some(bar);
    }
    for bar in b {
        by_time.entry(bar.datetime).or_default().1 = Some(bar);
    }
    let mut out = Vec::new();
    for (datetime, pair) in by_time {
        let missing =
            |only_in| Difference::Missing { symbol: symbol.to_owned(), datetime, only_in };
        match pair {
            (Some(x), Some(y)) => {
                for (field, va, vb) in [
                    ("open", x.open, y.open),
                    ("high", x.high, y.high),
                    ("low", x.low, y.low),
                    ("close", x.close, y.close),
                    ("volume", x.volume, y.volume),
                ] {
                    let relative = relative_difference(va, vb);
                    // A NaN difference (a NaN value) is reported too.
                    if relative.is_nan() || relative > tolerance {
                        out.push(Difference::Value {
                            symbol: symbol.to_owned(),
                            datetime,
                            field,
                            a: va,
                            b: vb,
                            relative,
                        });
                    }
                }
            }
            (Some(_), None) => out.push(missing(Side::A)),
            (None, Some(_)) => out.push(missing(Side::B)),
            (None, None) => {}
        }
    }
    out
}

/// Where a spot check reads bars from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpotSource {
    /// The store's own bars.
    Store,
    /// A vendor, through its connector only (no fallback).
    Provider(ProviderKind),
}

impl fmt::Display for SpotSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpotSource::Store => f.write_str("store"),
            SpotSource::Provider(p) => f.write_str(p.name()),
        }
    }
}

impl FromStr for SpotSource {
    type Err = SpotCheckError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("store") {
            return Ok(SpotSource::Store);
        }
        s.parse::<ProviderKind>()
            .map(SpotSource::Provider)
            .map_err(|_| SpotCheckError::UnknownSource { name: s.to_owned() })
    }
}

/// Errors of a spot check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpotCheckError {
    /// Not `store` nor a provider name.
    #[error("unknown source {name:?}: use store, polygon, binance, yahoo or twelvedata")]
    UnknownSource {
        /// What was given.
        name: String,
    },
    /// The table's timeframe cannot be fetched, or the name is not a table.
    #[error("table {table:?}: {reason}")]
    Table {
        /// The table.
        table: String,
        /// What is wrong.
        reason: String,
    },
    /// `store` was asked for without a store.
    #[error("source `store` needs a store (--store DIR)")]
    NoStore,
    /// The provider has no ticker for the symbol.
    #[error("{provider}: no ticker for symbol {symbol:?}", provider = provider.name())]
    NoTicker {
        /// The provider.
        provider: ProviderKind,
        /// The engine symbol.
        symbol: String,
    },
    /// The vendor fetch failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Reading the store failed.
    #[error("reading {table} from the store: {source}")]
    Store {
        /// The table.
        table: String,
        /// The engine's error.
        #[source]
        source: candlestore::Error,
    },
    /// A batch lacks an OHLCV column or has it with another type.
    #[error("{source_name}: column {column:?} is missing or not {expected}")]
    Column {
        /// The source.
        source_name: String,
        /// The column.
        column: &'static str,
        /// The expected type.
        expected: &'static str,
    },
}

/// Loads one symbol's bars from either kind of source for one table.
#[derive(Clone)]
pub struct SpotSources {
    connectors: std::sync::Arc<Connectors>,
    store: Option<Store>,
    tickers: TickerMap,
    table: String,
    class: AssetClass,
    timeframe: Timeframe,
}

impl fmt::Debug for SpotSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpotSources").field("table", &self.table).finish_non_exhaustive()
    }
}

impl SpotSources {
    /// Sources for `table` (its spec from `store` when it has the table, else from the
    /// conventional name such as `stocks_daily`); tickers from the store's symbol master when
    /// there is a store, else the vendors' conventions.
    pub fn new(
        connectors: Connectors,
        store: Option<Store>,
        table: &str,
    ) -> Result<Self, SpotCheckError> {
        let bad = |reason: &str| SpotCheckError::Table {
            table: table.to_owned(),
            reason: reason.to_owned(),
        };
        let spec = match &store {
            Some(s) if s.tables().iter().any(|t| t == table) => s
                .table_spec(table)
                .map_err(|source| SpotCheckError::Store { table: table.to_owned(), source })?,
            _ => TableSpec::from_conventional_name(table).ok_or_else(|| {
                bad("not a table of the store nor a conventional name such as stocks_daily")
            })?,
        };
        let timeframe = match spec.timeframe {
            candlestore::Timeframe::Day1 => Timeframe::Day1,
            candlestore::Timeframe::Hour1 => Timeframe::Hour1,
            candlestore::Timeframe::Min1 => Timeframe::Minute1,
            _ => return Err(bad("only 1m, 1h and 1d tables can be fetched from vendors")),
        };
        let class = match spec.asset_class {
            candlestore::AssetClass::Crypto => AssetClass::Crypto,
            candlestore::AssetClass::Stocks => AssetClass::Equity,
        };
        let tickers = store.clone().map_or_else(default_tickers, master_tickers);
        Ok(Self {
            connectors: std::sync::Arc::new(connectors),
            store,
            tickers,
            table: table.to_owned(),
            class,
            timeframe,
        })
    }

    /// `symbol`'s bars from `source` over the session dates `start..=end`.
    pub async fn bars(
        &self,
        source: SpotSource,
        symbol: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<SpotBar>, SpotCheckError> {
        match source {
            SpotSource::Provider(p) => {
                let ticker = (self.tickers)(symbol, self.class, p).ok_or_else(|| {
                    SpotCheckError::NoTicker { provider: p, symbol: symbol.to_owned() }
                })?;
                let request = FetchRequest::new(symbol, ticker, self.timeframe, start, end);
                let fetched = self.connectors.get(p).fetch(&request).await?;
                spot_bars(&fetched.batch, p.name())
            }
            SpotSource::Store => {
                let store = self.store.clone().ok_or(SpotCheckError::NoStore)?;
                let (table, symbol) = (self.table.clone(), symbol.to_owned());
                let (lo, hi) = date_window_micros(start, end);
                let store_err =
                    |source| SpotCheckError::Store { table: self.table.clone(), source };
                let batch = store
                    .scan(&table)
                    .symbol(symbol)
                    .time_range(lo, hi + 1)
                    .columns(["datetime", "open", "high", "low", "close", "volume"])
                    .to_batch()
                    .map_err(store_err)?;
                spot_bars(&batch, "store")
            }
        }
    }
}

/// The bars of a batch with `datetime` (µs timestamps) and Float64 OHLCV columns.
pub fn spot_bars(batch: &RecordBatch, source_name: &str) -> Result<Vec<SpotBar>, SpotCheckError> {
    let col = |column: &'static str, expected: &'static str, want: fn(&DataType) -> bool| {
        batch
            .schema()
            .index_of(column)
            .ok()
            .map(|i| batch.column(i))
            .filter(|a| want(a.data_type()))
            .cloned()
            .ok_or_else(|| SpotCheckError::Column {
                source_name: source_name.to_owned(),
                column,
                expected,
            })
    };
    let is_f64 = |t: &DataType| *t == DataType::Float64;
    let t = col("datetime", "a timestamp (µs)", |t| {
        matches!(t, DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _))
    })?;
    let t = t.as_primitive::<TimestampMicrosecondType>();
    let values: Vec<_> = ["open", "high", "low", "close", "volume"]
        .into_iter()
        .map(|c| col(c, "Float64", is_f64))
        .collect::<Result<_, _>>()?;
    let v: Vec<_> = values.iter().map(|a| a.as_primitive::<Float64Type>()).collect();
    let get = |k: usize, i: usize| if v[k].is_null(i) { f64::NAN } else { v[k].value(i) };
    Ok((0..batch.num_rows())
        .filter(|&i| t.is_valid(i))
        .map(|i| SpotBar {
            datetime: t.value(i),
            open: get(0, i),
            high: get(1, i),
            low: get(2, i),
            close: get(3, i),
            volume: get(4, i),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(datetime: Micros, close: f64, volume: f64) -> SpotBar {
        SpotBar { datetime, open: close, high: close + 1.0, low: close - 1.0, close, volume }
    }

    #[test]
    fn values_beyond_the_tolerance_and_one_sided_bars_are_reported() {
        let a = [bar(1, 100.0, 1000.0), bar(2, 100.0, 1000.0), bar(3, 50.0, 10.0)];
        // Bar 1 equal, bar 2's close 0.4 % off (within 0.5 %), volume 1 % off, bar 3 only in
        // A, bar 4 only in B; B given out of order.
        let mut b2 = bar(2, 100.4, 1010.0);
        b2.open = 100.0;
        let b = [bar(4, 1.0, 1.0), bar(1, 100.0, 1000.0), b2];
        let d = compare("AAPL", &a, &b, 0.005);
        assert_eq!(d.len(), 3, "{d:?}");
        match &d[0] {
            Difference::Value { field, a, b, relative, datetime, .. } => {
                assert_eq!((*field, *a, *b, *datetime), ("volume", 1000.0, 1010.0, 2));
                assert!((relative - 10.0 / 1010.0).abs() < 1e-12);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            d[1],
            Difference::Missing { symbol: "AAPL".into(), datetime: 3, only_in: Side::A }
        );
        assert_eq!(
            d[2],
            Difference::Missing { symbol: "AAPL".into(), datetime: 4, only_in: Side::B }
        );
        // A tighter tolerance catches the 0.4 % close (and the high/low that moved with it).
        let tight = compare("AAPL", &a, &b, 0.001);
        let fields: Vec<_> = tight
            .iter()
            .filter_map(|d| match d {
                Difference::Value { field, .. } => Some(*field),
                _ => None,
            })
            .collect();
        assert_eq!(fields, ["high", "low", "close", "volume"]);
        assert!(compare("AAPL", &a, &a, 0.0).is_empty());
    }

    #[test]
    fn zero_and_nan_values() {
        assert_eq!(relative_difference(0.0, 0.0), 0.0);
        assert_eq!(relative_difference(0.0, 1.0), 1.0);
        let a = [bar(1, 10.0, 0.0)];
        let mut nan = bar(1, 10.0, 0.0);
        nan.close = f64::NAN;
        let d = compare("X", &a, &[nan], 0.5);
        assert!(matches!(&d[..], [Difference::Value { field: "close", .. }]), "{d:?}");
    }

    #[test]
    fn sources_parse_and_bad_ones_are_named() {
        assert_eq!("store".parse::<SpotSource>().unwrap(), SpotSource::Store);
        assert_eq!(
            "Yahoo".parse::<SpotSource>().unwrap(),
            SpotSource::Provider(ProviderKind::Yahoo)
        );
        let e = "bloomberg".parse::<SpotSource>().unwrap_err().to_string();
        assert!(e.contains("bloomberg") && e.contains("polygon"), "{e}");
        let batch = crate::collector::bar_schema();
        let empty = RecordBatch::new_empty(batch);
        assert!(spot_bars(&empty, "x").unwrap().is_empty());
        let no_volume = empty.project(&[0, 1, 2, 3, 4, 5]).unwrap();
        let e = spot_bars(&no_volume, "polygon").unwrap_err().to_string();
        assert!(e.contains("polygon") && e.contains("volume"), "{e}");
    }
}
