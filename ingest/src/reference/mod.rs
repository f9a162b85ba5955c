//! Reference-file importers for the symbol master: S&P 500 constituents (GICS sectors),
//! Nasdaq Trader / NYSE listings (exchange codes → MIC), the Nasdaq screener JSON of
//! `us-stock-symbols`, and the F3.1 metadata CSV. Each file becomes a list of
//! [`SymbolRecord`]s for [`Store::upsert_symbols`](candlestore::Store::upsert_symbols).
//!
//! Engine symbols follow the ACT/CQS dotted convention for share classes and units (`BRK.B`,
//! `AAC.U`); preferred series are written with `-` (`ABR$D`, `ABR^D` → `ABR-D`, as Nasdaq
//! writes them).

mod codes;
mod csv_layouts;
mod error;
mod json;

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::Path;

use candlestore::{SymbolRecord, is_valid_symbol};

pub use error::ReferenceError;

use crate::source::open_text;

/// A recognised reference layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReferenceLayout {
    /// `Symbol,Security,GICS Sector,GICS Sub-Industry,Headquarters Location,Date added,CIK,Founded`.
    Sp500Constituents,
    /// The 2018 S&P 500 list: `Symbol,Name,Sector`.
    Sp500Legacy,
    /// Nasdaq Trader `nasdaqlisted`: `Symbol,Company Name,Security Name,Market Category,Test Issue,...,ETF,...`.
    NasdaqListedSymbols,
    /// `Symbol,Security Name` (Nasdaq-listed).
    NasdaqListed,
    /// `ACT Symbol,Company Name` (NYSE-listed).
    NyseListed,
    /// Nasdaq Trader `otherlisted`: `ACT Symbol,Company Name,Security Name,Exchange,CQS Symbol,ETF,Round Lot Size,Test Issue,NASDAQ Symbol`.
    OtherListed,
    /// The F3.1 metadata CSV: `symbol` plus any of `name,sector,industry,market_cap,exchange,mic_code,currency,country,type`.
    Metadata,
    /// Nasdaq screener JSON array (`symbol,name,marketCap,country,industry,sector,...`); the
    /// exchange comes from the file name (`nasdaq_`, `nyse_`, `amex_`).
    ScreenerJson,
}

impl ReferenceLayout {
    /// Every layout.
    pub const ALL: [ReferenceLayout; 8] = [
        ReferenceLayout::Sp500Constituents,
        ReferenceLayout::Sp500Legacy,
        ReferenceLayout::NasdaqListedSymbols,
        ReferenceLayout::NasdaqListed,
        ReferenceLayout::NyseListed,
        ReferenceLayout::OtherListed,
        ReferenceLayout::Metadata,
        ReferenceLayout::ScreenerJson,
    ];

    /// Short name (`sp500`, `sp500-legacy`, `nasdaq-listed-symbols`, `nasdaq-listed`,
    /// `nyse-listed`, `other-listed`, `metadata`, `screener-json`).
    pub fn name(self) -> &'static str {
        match self {
            ReferenceLayout::Sp500Constituents => "sp500",
            ReferenceLayout::Sp500Legacy => "sp500-legacy",
            ReferenceLayout::NasdaqListedSymbols => "nasdaq-listed-symbols",
            ReferenceLayout::NasdaqListed => "nasdaq-listed",
            ReferenceLayout::NyseListed => "nyse-listed",
            ReferenceLayout::OtherListed => "other-listed",
            ReferenceLayout::Metadata => "metadata",
            ReferenceLayout::ScreenerJson => "screener-json",
        }
    }

    /// The layout of a [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// A row of a reference file that was read but imported nothing, and why (test issues, the
/// Nasdaq trailer line, blank rows, repeated symbols).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// 1-based physical line (JSON: 1-based item number).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// What one reference file holds.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReferenceFile {
    /// The layout read.
    pub layout: ReferenceLayout,
    /// One record per symbol, in file order.
    pub records: Vec<SymbolRecord>,
    /// Data rows read (header excluded).
    pub rows_read: u64,
    /// Rows that imported nothing.
    pub skipped: Vec<SkippedRow>,
}

/// Reads a reference file (plain or gzip'd), detecting its layout from the header unless
/// `layout` is given. Streams the file; a malformed row stops it with an error naming the
/// file, line and column.
pub fn read_reference(
    path: &Path,
    layout: Option<ReferenceLayout>,
) -> Result<ReferenceFile, ReferenceError> {
    let io = |source| ReferenceError::Io { path: path.to_path_buf(), source };
    let mut input = open_text(path).map_err(|e| ReferenceError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let first_byte =
        input.reader.fill_buf().map_err(io)?.iter().copied().find(|b| !b.is_ascii_whitespace());
    let reader: Box<dyn Read> = Box::new(input.reader);
    let is_json = first_byte == Some(b'[');
    match (layout, is_json) {
        (Some(ReferenceLayout::ScreenerJson) | None, true) => json::read(path, reader),
        (Some(ReferenceLayout::ScreenerJson), false) => Err(ReferenceError::UnknownLayout {
            path: path.to_path_buf(),
            header: "(not a JSON array)".to_owned(),
        }),
        (forced, _) => csv_layouts::read(path, reader, forced),
    }
}

/// Collects records, skipping repeated symbols (the first row of a symbol wins).
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) records: Vec<SymbolRecord>,
    pub(crate) rows_read: u64,
    pub(crate) skipped: Vec<SkippedRow>,
    seen: HashMap<String, u64>,
}

impl Collected {
    pub(crate) fn skip(&mut self, line: u64, reason: impl Into<String>) {
        self.skipped.push(SkippedRow { line, reason: reason.into() });
    }

    pub(crate) fn push(&mut self, line: u64, record: SymbolRecord) {
        if let Some(first) = self.seen.get(&record.symbol) {
            let reason = format!("{} repeats line {first}; the first row is kept", record.symbol);
            self.skip(line, reason);
            return;
        }
        self.seen.insert(record.symbol.clone(), line);
        self.records.push(record);
    }

    pub(crate) fn finish(self, layout: ReferenceLayout) -> ReferenceFile {
        ReferenceFile {
            layout,
            records: self.records,
            rows_read: self.rows_read,
            skipped: self.skipped,
        }
    }
}

/// The engine symbol of a reference ticker (see the module docs), or why it has none.
pub(crate) fn engine_symbol(raw: &str) -> Result<String, String> {
    let s: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            '$' | '^' => '-',
            '/' => '.',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    if s.is_empty() {
        return Err("empty symbol".to_owned());
    }
    if !is_valid_symbol(&s) {
        return Err(format!("{raw:?} is not a valid ticker"));
    }
    Ok(s)
}

/// A text field, `None` when empty.
pub(crate) fn text(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests;
