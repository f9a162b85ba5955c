//! Layout detection: which known file layout a CSV is, from its first lines, and which source
//! column feeds each bar field.

use std::path::Path;

use crate::csv_reader::split_line;
use crate::error::ImportError;
use crate::options::ColumnMapping;
use crate::timestamp::looks_like_time;

/// A recognised input layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layout {
    /// Kaggle S&P 500 five-year file: `date,open,high,low,close,volume,Name`; symbol from
    /// `Name`, daily bars.
    Sp500FiveYear,
    /// Yahoo-style daily (backtrader's `orcl-1995-2014.txt`):
    /// `Date,Open,High,Low,Close,Adj Close,Volume`. `Adj Close` is not used.
    YahooDaily,
    /// The old Yahoo Finance export (PyAlgoTrade's `*-yahoofinance.csv`):
    /// `Date,Open,High,Low,Close,Volume,Adj Close`, usually newest row first. `Adj Close` is
    /// not used.
    YahooExport,
    /// backtrader daily/weekly/monthly: `Date,Open,High,Low,Close,Volume,OpenInterest`.
    BacktraderDaily,
    /// backtrader intraday: date and time in two fields. Either the header says
    /// `Date,Time,Open,...,OpenInterest`, or it is the daily header while the rows carry an
    /// extra time field (`2006-01-02,09:01:00,3602.00,...`: 8 fields under 7 names).
    BacktraderIntraday,
    /// Binance kline CSV, 12 fields, open time in ms (µs when 16 digits).
    BinanceKline {
        /// Whether the first line is a header (`open_time,open,high,...`).
        header: bool,
    },
    /// QuantConnect LEAN daily equity file: no header, `YYYYMMDD 00:00,open,high,low,close,volume`
    /// with prices in deci-cents (divided by 10,000 here); symbol from the file name.
    LeanDaily,
    /// CryptoDataDownload: an optional banner line (`https://www.CryptoDataDownload.com`),
    /// then `unix,date,symbol,open,high,low,close,Volume <base>,Volume <quote>,tradecount`,
    /// newest row first; `unix` in milliseconds or float seconds; the symbol `BTC/USDT` is
    /// stored as `BTCUSDT`.
    CryptoDataDownload {
        /// Whether a banner line precedes the header.
        banner: bool,
    },
    /// Any CSV whose header names the fields (`symbol,datetime,open,high,low,close,volume`,
    /// any order, case-insensitive, extra columns ignored, symbol optional).
    Generic,
    /// A CSV read through an explicit [`ColumnMapping`].
    Mapped,
    /// A Parquet file (columns matched like [`Layout::Generic`] or by the mapping).
    Parquet,
}

impl Layout {
    /// Whether the file has a header line.
    pub fn has_header(self) -> bool {
        !matches!(self, Layout::BinanceKline { header: false } | Layout::LeanDaily)
    }

    /// How many lines precede the data (banner and header).
    pub fn preamble_lines(self) -> u64 {
        match self {
            Layout::CryptoDataDownload { banner: true } => 2,
            l if l.has_header() => 1,
            _ => 0,
        }
    }

    /// Divisor of the four prices (LEAN writes deci-cents).
    pub(crate) fn price_divisor(self) -> f64 {
        match self {
            Layout::LeanDaily => 10_000.0,
            _ => 1.0,
        }
    }
}

/// Whether `line` is the banner CryptoDataDownload puts above the header.
pub(crate) fn is_cdd_banner(line: &str) -> bool {
    let l = clean(line).trim().to_ascii_lowercase();
    l.contains("cryptodatadownload") && !l.contains(',')
}

/// `YYYYMMDD HH:MM` (LEAN).
pub(crate) fn is_lean_time(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() == 14
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b' '
        && b[9..11].iter().all(u8::is_ascii_digit)
        && b[11] == b':'
        && b[12..].iter().all(u8::is_ascii_digit)
}

/// Detects the layout of a CSV file from its first lines (the header and, when present, the
/// first data line). `path` is only used in errors.
pub fn detect(path: &Path, first_lines: &[&str]) -> Result<Layout, ImportError> {
    let first = match first_lines.first() {
        Some(l) if !clean(l).trim().is_empty() => clean(l),
        _ => return Err(ImportError::EmptyFile { path: path.to_path_buf() }),
    };
    if is_cdd_banner(first) {
        return match first_lines.get(1).map(|l| detect(path, &[*l])) {
            Some(Ok(Layout::CryptoDataDownload { .. })) => {
                Ok(Layout::CryptoDataDownload { banner: true })
            }
            _ => Err(ImportError::UnknownLayout {
                path: path.to_path_buf(),
                header: first.to_owned(),
            }),
        };
    }
    if let Ok(fields) = split_line(first)
        && fields.len() == 6
        && is_lean_time(&fields[0])
    {
        return Ok(Layout::LeanDaily);
    }
    let unknown =
        || ImportError::UnknownLayout { path: path.to_path_buf(), header: first.to_owned() };
    let header: Vec<String> =
        split_line(first).map_err(|_| unknown())?.iter().map(|f| normalize(f)).collect();
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let second: Option<Vec<String>> = first_lines
        .get(1)
        .and_then(|l| split_line(clean(l)).ok())
        .map(|f| f.iter().map(|s| s.trim().to_owned()).collect());

    const OHLC: [&str; 4] = ["open", "high", "low", "close"];
    let layout = match names.as_slice() {
        ["date", o @ .., "volume", "name"] if *o == OHLC => Layout::Sp500FiveYear,
        ["date", o @ .., "adjclose", "volume"] if *o == OHLC => Layout::YahooDaily,
        ["date", o @ .., "volume", "adjclose"] if *o == OHLC => Layout::YahooExport,
        ["unix", "date", "symbol", o @ .., v1, v2, "tradecount"]
            if *o == OHLC && v1.starts_with("volume") && v2.starts_with("volume") =>
        {
            Layout::CryptoDataDownload { banner: false }
        }
        ["date", "time", o @ .., "volume", "openinterest"] if *o == OHLC => {
            Layout::BacktraderIntraday
        }
        ["date", o @ .., "volume", "openinterest"] if *o == OHLC => match &second {
            Some(f) if f.len() == 8 && looks_like_time(&f[1]) => Layout::BacktraderIntraday,
            _ => Layout::BacktraderDaily,
        },
        [t, o @ .., "volume", _, _, _, _, _, _] if *t == "opentime" && *o == OHLC => {
            Layout::BinanceKline { header: true }
        }
        [t, ..] if names.len() == 12 && is_epoch(t) => Layout::BinanceKline { header: false },
        _ if resolve_by_names(path, &names, None).is_ok() => Layout::Generic,
        _ => return Err(unknown()),
    };
    Ok(layout)
}

/// Strips a UTF-8 byte-order mark and the line terminator.
pub(crate) fn clean(line: &str) -> &str {
    line.strip_prefix('\u{feff}').unwrap_or(line).trim_end_matches(['\r', '\n'])
}

fn is_epoch(s: &str) -> bool {
    matches!(s.len(), 10..=16) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Lower-cases a column name and drops everything but letters and digits
/// (`Adj Close` → `adjclose`, `open_time` → `opentime`).
pub(crate) fn normalize(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Where the timestamp comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeCols {
    /// One column with a full timestamp (or a date, or an epoch number).
    Datetime(usize),
    /// A date column and a time-of-day column (read as naive, in the configured zone).
    DateTime {
        /// Date column index.
        date: usize,
        /// Time column index.
        time: usize,
    },
    /// LEAN's `YYYYMMDD HH:MM` (`00:00` on daily bars: a date).
    Lean(usize),
}

/// Column indices of each bar field in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Columns {
    /// Symbol column, if the file has one.
    pub(crate) symbol: Option<usize>,
    pub(crate) time: TimeCols,
    /// open, high, low, close, volume.
    pub(crate) values: [usize; 5],
    /// Exact number of fields a data row must have (`None`: at least enough for the columns).
    pub(crate) fields: Option<usize>,
    /// Name of each field, for reject messages.
    pub(crate) labels: Vec<String>,
}

const BINANCE_NAMES: [&str; 12] = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
];

impl Columns {
    /// Columns of a fixed layout, or of a generic/mapped header.
    pub(crate) fn for_csv(
        path: &Path,
        layout: Layout,
        header: &[String],
        mapping: Option<&ColumnMapping>,
    ) -> Result<Self, ImportError> {
        let fixed = |symbol, time, values, n: usize, labels: Vec<String>| Columns {
            symbol,
            time,
            values,
            fields: Some(n),
            labels,
        };
        let header = header.to_vec();
        Ok(match layout {
            Layout::Sp500FiveYear => {
                fixed(Some(6), TimeCols::Datetime(0), [1, 2, 3, 4, 5], 7, header)
            }
            Layout::YahooDaily => fixed(None, TimeCols::Datetime(0), [1, 2, 3, 4, 6], 7, header),
            Layout::YahooExport => fixed(None, TimeCols::Datetime(0), [1, 2, 3, 4, 5], 7, header),
            Layout::LeanDaily => {
                let labels = ["datetime", "open", "high", "low", "close", "volume"];
                let labels = labels.iter().map(|s| (*s).to_owned()).collect();
                fixed(None, TimeCols::Lean(0), [1, 2, 3, 4, 5], 6, labels)
            }
            Layout::CryptoDataDownload { .. } => {
                fixed(Some(2), TimeCols::Datetime(0), [3, 4, 5, 6, 7], 10, header)
            }
            Layout::BacktraderDaily => {
                fixed(None, TimeCols::Datetime(0), [1, 2, 3, 4, 5], 7, header)
            }
            Layout::BacktraderIntraday => {
                let mut labels = header;
                if labels.len() == 7 {
                    labels.insert(1, "Time".to_owned());
                }
                fixed(None, TimeCols::DateTime { date: 0, time: 1 }, [2, 3, 4, 5, 6], 8, labels)
            }
            Layout::BinanceKline { header: has_header } => {
                let labels = if has_header {
                    header
                } else {
                    BINANCE_NAMES.iter().map(|s| (*s).to_owned()).collect()
                };
                fixed(None, TimeCols::Datetime(0), [1, 2, 3, 4, 5], 12, labels)
            }
            Layout::Generic | Layout::Mapped | Layout::Parquet => {
                let names: Vec<String> = header.iter().map(|h| normalize(h)).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let mut cols = resolve_by_names(path, &names, mapping)?;
                cols.fields = Some(header.len());
                cols.labels = header;
                cols
            }
        })
    }
}

const SYMBOL: &[&str] = &["symbol", "ticker", "sym"];
const DATETIME: &[&str] =
    &["datetime", "timestamp", "opentime", "datetimeutc", "timestamputc", "ts", "unix"];
const DATE: &[&str] = &["date", "day", "tradedate"];
const TIME: &[&str] = &["time", "timeofday"];

/// Resolves the bar fields against normalized column `names` (see [`normalize`]).
/// Mapped names must exist; unmapped fields fall back to the usual names.
pub(crate) fn resolve_by_names(
    path: &Path,
    names: &[&str],
    mapping: Option<&ColumnMapping>,
) -> Result<Columns, ImportError> {
    let missing = |column: &str| ImportError::MissingColumn {
        path: path.to_path_buf(),
        column: column.to_owned(),
        available: names.join(","),
    };
    let find_alias =
        |aliases: &[&str]| aliases.iter().find_map(|a| names.iter().position(|n| n == a));
    let find_mapped = |m: Option<&String>| -> Result<Option<usize>, ImportError> {
        match m {
            None => Ok(None),
            Some(name) => {
                let want = normalize(name);
                names.iter().position(|n| *n == want).map(Some).ok_or_else(|| missing(name))
            }
        }
    };
    let m = mapping.cloned().unwrap_or_default();
    let pick = |mapped: Option<&String>, aliases: &[&str]| -> Result<Option<usize>, ImportError> {
        Ok(find_mapped(mapped)?
            .or_else(|| if mapped.is_none() { find_alias(aliases) } else { None }))
    };

    let symbol = pick(m.symbol.as_ref(), SYMBOL)?;
    let time = if let Some(i) = find_mapped(m.datetime.as_ref())? {
        TimeCols::Datetime(i)
    } else if let Some(date) = find_mapped(m.date.as_ref())? {
        match pick(m.time.as_ref(), TIME)? {
            Some(time) => TimeCols::DateTime { date, time },
            None => TimeCols::Datetime(date),
        }
    } else if let Some(i) = find_alias(DATETIME) {
        TimeCols::Datetime(i)
    } else if let Some(date) = find_alias(DATE) {
        match pick(m.time.as_ref(), TIME)? {
            Some(time) => TimeCols::DateTime { date, time },
            None => TimeCols::Datetime(date),
        }
    } else if let Some(i) = find_alias(TIME) {
        // A lone `time` column holds full timestamps.
        TimeCols::Datetime(i)
    } else {
        return Err(missing("datetime"));
    };
    let value = |mapped: Option<&String>, role: &'static str| -> Result<usize, ImportError> {
        pick(mapped, &[role])?.ok_or_else(|| missing(role))
    };
    let values = [
        value(m.open.as_ref(), "open")?,
        value(m.high.as_ref(), "high")?,
        value(m.low.as_ref(), "low")?,
        value(m.close.as_ref(), "close")?,
        value(m.volume.as_ref(), "volume")?,
    ];
    Ok(Columns {
        symbol,
        time,
        values,
        fields: None,
        labels: names.iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// The symbol of a file without a symbol column (F5.3): for Yahoo-style and Binance files the
/// file-name prefix before the first `-`, upper-cased (`orcl-1995-2014.txt` → `ORCL`,
/// `BTCUSDT-1h-2022-01.csv` → `BTCUSDT`); otherwise the file stem itself, unchanged
/// (`2006-01-02-volume-min-001.txt` → `2006-01-02-volume-min-001`). `.gz` is stripped first.
pub fn symbol_from_file_name(path: &Path, layout: Layout) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let stem = match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    };
    let symbol = match layout {
        Layout::YahooDaily | Layout::YahooExport | Layout::BinanceKline { .. } => {
            stem.split('-').next().unwrap_or(stem).to_uppercase()
        }
        Layout::LeanDaily => stem.to_uppercase(),
        _ => stem.to_owned(),
    };
    (!symbol.is_empty()).then_some(symbol)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::path::PathBuf;

    use super::*;

    fn testdata(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(rel)
    }

    /// The first two lines of a real file (gzip'd or not).
    fn detect_file(rel: &str) -> Layout {
        let path = testdata(rel);
        let file = std::fs::File::open(&path).unwrap();
        let read: Box<dyn std::io::Read> = if rel.ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let lines: Vec<String> = BufReader::new(read).lines().take(2).map(Result::unwrap).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        detect(&path, &refs).unwrap()
    }

    #[test]
    fn detects_the_real_files() {
        assert_eq!(detect_file("sp500/all_stocks_5yr_sample.csv.gz"), Layout::Sp500FiveYear);
        assert_eq!(detect_file("backtrader/orcl-1995-2014.txt"), Layout::YahooDaily);
        assert_eq!(detect_file("backtrader/nvda-2014.txt"), Layout::YahooDaily);
        assert_eq!(detect_file("backtrader/yhoo-2014.txt"), Layout::YahooDaily);
        assert_eq!(
            detect_file("backtrader/2006-01-02-volume-min-001.txt.gz"),
            Layout::BacktraderIntraday
        );
        assert_eq!(
            detect_file("crypto/BTCUSDT-1h-2022-01.csv"),
            Layout::BinanceKline { header: true }
        );
        assert_eq!(
            detect_file("crypto/AVAXUSDT-1m-2024-02-01.csv.gz"),
            Layout::BinanceKline { header: true }
        );
        assert_eq!(detect_file("crypto/BTCUSDC_1m_20230301.csv.gz"), Layout::Generic);
    }

    #[test]
    fn detects_other_backtrader_and_binance_shapes() {
        let p = Path::new("x.txt");
        let daily = "Date,Open,High,Low,Close,Volume,OpenInterest";
        assert_eq!(
            detect(p, &[daily, "2006-01-02,3578.73,3605.95,3578.73,3604.33,0,0"]).unwrap(),
            Layout::BacktraderDaily
        );
        assert_eq!(detect(p, &[daily]).unwrap(), Layout::BacktraderDaily);
        let five = "Date,Time,Open,High,Low,Close,Volume,OpenInterest";
        assert_eq!(detect(p, &[five]).unwrap(), Layout::BacktraderIntraday);
        let kline = "1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.2,\
                     1637971259999,1.03547608,79,19523.0,0.55694227,0";
        assert_eq!(detect(p, &[kline]).unwrap(), Layout::BinanceKline { header: false });
        assert_eq!(
            detect(p, &["Symbol,DateTime,Open,High,Low,Close,Volume"]).unwrap(),
            Layout::Generic
        );
    }

    #[test]
    fn unknown_header_is_an_error_that_says_what_to_pass() {
        let err = detect(Path::new("f.csv"), &["a,b,c"]).unwrap_err();
        assert!(matches!(err, ImportError::UnknownLayout { .. }));
        assert!(err.to_string().contains("column mapping"), "{err}");
        assert!(matches!(
            detect(Path::new("f.csv"), &[]).unwrap_err(),
            ImportError::EmptyFile { .. }
        ));
    }

    #[test]
    fn mapping_names_must_exist() {
        let m = ColumnMapping { close: Some("Last".into()), ..Default::default() };
        let names = ["date", "open", "high", "low", "last", "vol"];
        let err = resolve_by_names(Path::new("f"), &names, Some(&m)).unwrap_err();
        assert!(matches!(&err, ImportError::MissingColumn { column, .. } if column == "volume"));
        let m = ColumnMapping { volume: Some("Vol".into()), ..m };
        let cols = resolve_by_names(Path::new("f"), &names, Some(&m)).unwrap();
        assert_eq!(cols.values, [1, 2, 3, 4, 5]);
        assert_eq!(cols.time, TimeCols::Datetime(0));
    }

    #[test]
    fn symbols_from_file_names() {
        let s = |p: &str, l| symbol_from_file_name(Path::new(p), l);
        assert_eq!(s("a/orcl-1995-2014.txt", Layout::YahooDaily).as_deref(), Some("ORCL"));
        assert_eq!(
            s("2006-01-02-volume-min-001.txt.gz", Layout::BacktraderIntraday).as_deref(),
            Some("2006-01-02-volume-min-001")
        );
        assert_eq!(
            s("BTCUSDT-1h-2022-01.csv", Layout::BinanceKline { header: true }).as_deref(),
            Some("BTCUSDT")
        );
    }
}
