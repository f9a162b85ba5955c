//! Gap and freshness reports over a store's tables: reads each symbol's timestamps, picks the
//! calendar from the table's asset class and runs [`GapFinder`] / [`assess`] on them.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, TimestampMicrosecondType};
use candlestore::{Clock, Micros, Store, Timeframe};
use chrono::NaiveDate;

use crate::calendar::session::utc_date;
use crate::calendar::{BarAlignment, Calendar, CalendarError};
use crate::config::FreshnessConfig;
use crate::freshness::{Freshness, assess, last_expected_bar};
use crate::gaps::{GapFinder, SymbolGaps, date_window_micros};

/// Errors of the store-level reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoverageError {
    /// The table does not exist in the store.
    #[error("table {table:?} does not exist in the store (tables: {available})")]
    UnknownTable {
        /// The table asked for.
        table: String,
        /// The store's tables, comma-separated (`none` if empty).
        available: String,
    },
    /// A symbol has no bars in the table, and no window says what it should have.
    #[error(
        "symbol {symbol:?} has no bars in table {table}; give a date window to list what it \
         is missing"
    )]
    UnknownSymbol {
        /// The table.
        table: String,
        /// The symbol.
        symbol: String,
    },
    /// Reading the table failed.
    #[error("cannot read table {table}: {source}")]
    Store {
        /// The table.
        table: String,
        /// The engine's error.
        #[source]
        source: candlestore::Error,
    },
    /// A calendar question failed (date outside the calendar, start after end, ...).
    #[error("table {table}: {source}")]
    Calendar {
        /// The table.
        table: String,
        /// The calendar's error.
        #[source]
        source: CalendarError,
    },
}

/// The calendar and timeframe of a table of `store` (NYSE for stock tables, 24/7 for crypto).
pub fn table_calendar(store: &Store, table: &str) -> Result<(Calendar, Timeframe), CoverageError> {
    let tables = store.tables();
    if !tables.iter().any(|t| t == table) {
        let available = if tables.is_empty() { "none".to_owned() } else { tables.join(", ") };
        return Err(CoverageError::UnknownTable { table: table.to_owned(), available });
    }
    let spec = store
        .table_spec(table)
        .map_err(|source| CoverageError::Store { table: table.to_owned(), source })?;
    Ok((Calendar::for_asset_class(spec.asset_class), spec.timeframe))
}

/// Every stored bar time of `table`, per symbol, ascending (all symbols when `symbols` is
/// `None`). Symbols asked for that have no bars are absent from the map.
pub fn stored_timestamps(
    store: &Store,
    table: &str,
    symbols: Option<&[String]>,
) -> Result<BTreeMap<String, Vec<Micros>>, CoverageError> {
    let store_err = |source| CoverageError::Store { table: table.to_owned(), source };
    let mut scan = store.scan(table).columns(["symbol", "datetime"]);
    if let Some(symbols) = symbols {
        scan = scan.symbols(symbols.iter().cloned());
    }
    let mut out: BTreeMap<String, Vec<Micros>> = BTreeMap::new();
    for batch in scan.build().map_err(store_err)? {
        let batch = batch.map_err(store_err)?;
        let symbol = arrow::compute::cast(batch.column(0), &DataType::Utf8)
            .map_err(|e| store_err(candlestore::Error::from(e)))?;
        let symbol = symbol.as_string::<i32>();
        let datetime = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        for i in 0..batch.num_rows() {
            if symbol.is_null(i) || datetime.is_null(i) {
                continue;
            }
            let name = symbol.value(i);
            match out.get_mut(name) {
                Some(v) => v.push(datetime.value(i)),
                None => {
                    out.insert(name.to_owned(), vec![datetime.value(i)]);
                }
            }
        }
    }
    // Scans are ordered within a partition, not across them; keys are unique in a table.
    for v in out.values_mut() {
        v.sort_unstable();
    }
    Ok(out)
}

/// The gaps of every (or the selected) symbols of a table.
#[derive(Debug, Clone)]
pub struct TableGaps {
    /// The table.
    pub table: String,
    /// Its calendar.
    pub calendar: Calendar,
    /// Its timeframe.
    pub timeframe: Timeframe,
    /// Per symbol, in name order: the window looked at (first and last session date) and what
    /// is missing in it.
    pub symbols: Vec<(String, (NaiveDate, NaiveDate), SymbolGaps)>,
}

impl TableGaps {
    /// Symbols with at least one missing bar.
    pub fn symbols_with_gaps(&self) -> usize {
        self.symbols.iter().filter(|(_, _, g)| !g.is_complete()).count()
    }
}

/// Missing sessions/bars per symbol of `table`. Each symbol is checked from `start` (default:
/// its first bar) to `end` (default: its last bar), both session dates, inclusive; intraday
/// bars are expected on the grid of `alignment`.
pub fn gap_report(
    store: &Store,
    table: &str,
    symbols: Option<&[String]>,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    alignment: BarAlignment,
) -> Result<TableGaps, CoverageError> {
    let cal_err = |source| CoverageError::Calendar { table: table.to_owned(), source };
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(cal_err(CalendarError::StartAfterEnd {
            what: "--start/--end",
            start: s.to_string(),
            end: e.to_string(),
        }));
    }
    let (calendar, timeframe) = table_calendar(store, table)?;
    let stored = stored_timestamps(store, table, symbols)?;
    let mut names: Vec<String> = match symbols {
        Some(list) => list.to_vec(),
        None => stored.keys().cloned().collect(),
    };
    names.dedup();
    let empty = Vec::new();
    // One window per symbol; the finder covers their union so sessions are computed once.
    let mut windows = Vec::with_capacity(names.len());
    for name in &names {
        let ts = stored.get(name).unwrap_or(&empty);
        let date = |t: Micros| utc_date(t).ok_or(CalendarError::TimestampOutOfRange { micros: t });
        let lo = match (start, ts.first()) {
            (Some(s), _) => s,
            (None, Some(&t)) => date(t).map_err(cal_err)?,
            (None, None) => {
                return Err(CoverageError::UnknownSymbol {
                    table: table.to_owned(),
                    symbol: name.clone(),
                });
            }
        };
        let hi = match (end, ts.last()) {
            (Some(e), _) => e,
            (None, Some(&t)) => date(t).map_err(cal_err)?,
            (None, None) => {
                return Err(CoverageError::UnknownSymbol {
                    table: table.to_owned(),
                    symbol: name.clone(),
                });
            }
        };
        if lo > hi {
            return Err(cal_err(CalendarError::StartAfterEnd {
                what: "gap window (a --start after the symbol's last bar, or an --end before its first)",
                start: lo.to_string(),
                end: hi.to_string(),
            }));
        }
        windows.push((lo, hi));
    }
    let mut out = TableGaps { table: table.to_owned(), calendar, timeframe, symbols: Vec::new() };
    let (Some(union_lo), Some(union_hi)) =
        (windows.iter().map(|w| w.0).min(), windows.iter().map(|w| w.1).max())
    else {
        return Ok(out);
    };
    let finder = GapFinder::new(calendar, timeframe, union_lo, union_hi)
        .map_err(cal_err)?
        .with_alignment(alignment);
    for (name, (lo, hi)) in names.into_iter().zip(windows) {
        let ts = stored.get(&name).unwrap_or(&empty);
        let (first, last) = date_window_micros(lo, hi);
        // Without an explicit bound the symbol's own first/last bar is the bound, so a
        // partial first or last session is not reported.
        let first = if start.is_none() { ts.first().copied().unwrap_or(first) } else { first };
        let last = if end.is_none() { ts.last().copied().unwrap_or(last) } else { last };
        let gaps = finder.find_between(ts, first, last).map_err(cal_err)?;
        out.symbols.push((name, (lo, hi), gaps));
    }
    Ok(out)
}

/// The freshness of the symbols of one table.
#[derive(Debug, Clone)]
pub struct TableFreshness {
    /// The table.
    pub table: String,
    /// Its calendar.
    pub calendar: Calendar,
    /// Its timeframe.
    pub timeframe: Timeframe,
    /// The instant the report is for (µs, UTC).
    pub now: Micros,
    /// Start of the calendar's last complete bar at `now`.
    pub last_expected: Option<Micros>,
    /// Per symbol, in name order.
    pub symbols: Vec<(String, Freshness)>,
}

/// Freshness of every table (or `table`) and symbol (or `symbols`) of the store at the
/// clock's current time, with the thresholds of `config` and intraday bars on the grid of
/// `alignment`.
pub fn freshness_report(
    store: &Store,
    config: &FreshnessConfig,
    clock: &dyn Clock,
    table: Option<&str>,
    symbols: Option<&[String]>,
    alignment: BarAlignment,
) -> Result<Vec<TableFreshness>, CoverageError> {
    let now = clock.now_micros();
    let tables: Vec<String> = match table {
        Some(t) => vec![t.to_owned()],
        None => store.tables(),
    };
    let mut out = Vec::with_capacity(tables.len());
    for table in tables {
        let cal_err = |source| CoverageError::Calendar { table: table.clone(), source };
        let (calendar, timeframe) = table_calendar(store, &table)?;
        let spec = store
            .table_spec(&table)
            .map_err(|source| CoverageError::Store { table: table.clone(), source })?;
        let threshold = config.threshold(spec.asset_class);
        let stored = stored_timestamps(store, &table, symbols)?;
        if let Some(missing) = symbols.and_then(|l| l.iter().find(|s| !stored.contains_key(*s))) {
            return Err(CoverageError::UnknownSymbol {
                table: table.clone(),
                symbol: missing.clone(),
            });
        }
        let last_expected =
            last_expected_bar(calendar, timeframe, alignment, now).map_err(cal_err)?;
        let mut rows = Vec::with_capacity(stored.len());
        for (symbol, ts) in stored {
            let Some(&newest) = ts.last() else { continue };
            rows.push((
                symbol,
                assess(calendar, timeframe, alignment, newest, now, threshold).map_err(cal_err)?,
            ));
        }
        out.push(TableFreshness {
            table,
            calendar,
            timeframe,
            now,
            last_expected: last_expected.map(|b| b.start),
            symbols: rows,
        });
    }
    Ok(out)
}
