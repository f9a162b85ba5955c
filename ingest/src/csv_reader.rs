//! Streaming CSV reader: physical lines in, validated Arrow batches out.
//!
//! Lines are read one at a time (never the whole file), so every reject carries the exact
//! physical line number and the raw line. Quoted fields are supported within one line;
//! multi-line quoted fields are not (OHLCV files have none) and such a line is rejected.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;

use crate::collector::{Bar, BarCollector, parse_value};
use crate::error::ImportError;
use crate::layout::{self, Columns, Layout, TimeCols};
use crate::options::ImportOptions;
use crate::source::{ByteCounter, open_text};
use crate::timestamp::{RawTime, Stamper, parse_date, parse_datetime, parse_lean, parse_time};

/// Splits one CSV line into fields (RFC 4180 quoting, `""` escapes). The error is the
/// reject reason.
pub(crate) fn split_line(line: &str) -> Result<Vec<Cow<'_, str>>, String> {
    let bytes = line.as_bytes();
    if !bytes.contains(&b'"') {
        // One pass over the bytes (`,` is ASCII, so every cut is a char boundary): cheaper
        // than `str::split`'s char searcher on lines of a few dozen bytes.
        let mut fields = Vec::with_capacity(12);
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b',' {
                fields.push(Cow::Borrowed(&line[start..i]));
                start = i + 1;
            }
        }
        fields.push(Cow::Borrowed(&line[start..]));
        return Ok(fields);
    }
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("unterminated quoted field".to_owned()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(Cow::Owned(field));
                    return Ok(fields);
                }
                Some(',') => fields.push(Cow::Owned(field)),
                Some(c) => return Err(format!("unexpected {c:?} after a quoted field")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(Cow::Owned(field));
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(Cow::Owned(field));
        }
    }
}

/// Where the symbol of each row comes from.
#[derive(Debug, Clone)]
pub(crate) enum SymbolSource {
    /// A column of the row (upper-cased).
    Column(usize),
    /// The same symbol for the whole file (options or file name).
    Fixed(String),
}

impl SymbolSource {
    /// Symbol column if any, else `opts.symbol` (upper-cased), else from the file name.
    pub(crate) fn choose(
        path: &Path,
        layout: Layout,
        column: Option<usize>,
        opts: &ImportOptions,
    ) -> Result<Self, ImportError> {
        if let Some(i) = column {
            return Ok(SymbolSource::Column(i));
        }
        if let Some(s) = opts.symbol.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            return Ok(SymbolSource::Fixed(s.to_uppercase()));
        }
        layout::symbol_from_file_name(path, layout).map(SymbolSource::Fixed).ok_or_else(|| {
            ImportError::MissingColumn {
                path: path.to_path_buf(),
                column: "symbol".to_owned(),
                available: "(none; pass a symbol)".to_owned(),
            }
        })
    }
}

/// Turns the fields of one row into a [`Bar`], or says which column is wrong and why.
#[derive(Debug)]
struct RowParser {
    columns: Columns,
    symbol: SymbolSource,
    /// Prices are divided by this (LEAN deci-cents: 10,000).
    price_divisor: f64,
    /// Drop `/` from symbols (`BTC/USDT` → `BTCUSDT`, CryptoDataDownload).
    join_pair: bool,
    stamper: Stamper,
    symbol_buf: String,
}

type RowError<'a> = (Option<&'a str>, String);

impl RowParser {
    fn label(&self, i: usize) -> Option<&str> {
        Some(self.columns.labels.get(i).map_or("?", String::as_str))
    }

    fn parse<'a, 'f>(&'a mut self, fields: &[Cow<'f, str>]) -> Result<Bar<'a>, RowError<'a>> {
        let n = fields.len();
        let wanted = self.columns.fields;
        let needed = self.max_index() + 1;
        if wanted.is_some_and(|w| w != n) || n < needed {
            let w = wanted.unwrap_or(needed);
            return Err((None, format!("wrong number of fields: expected {w}, found {n}")));
        }
        let datetime = match self.parse_time(fields) {
            Ok(t) => t,
            Err((i, reason)) => return Err((self.label(i), reason)),
        };
        let mut ohlcv = [0.0; 5];
        for (k, &i) in self.columns.values.iter().enumerate() {
            match parse_value(&fields[i]) {
                Ok(v) if k < 4 => ohlcv[k] = v / self.price_divisor,
                Ok(v) => ohlcv[k] = v,
                Err(reason) => return Err((self.label(i), reason)),
            }
        }
        let symbol = match &self.symbol {
            SymbolSource::Fixed(s) => s.as_str(),
            SymbolSource::Column(i) => {
                let raw = fields[*i].trim();
                if raw.is_empty() {
                    return Err((self.label(*i), "empty field".to_owned()));
                }
                self.symbol_buf.clear();
                if raw.is_ascii() {
                    self.symbol_buf.push_str(raw);
                    self.symbol_buf.make_ascii_uppercase();
                } else {
                    self.symbol_buf.push_str(&raw.to_uppercase());
                }
                if self.join_pair {
                    self.symbol_buf.retain(|c| c != '/');
                }
                self.symbol_buf.as_str()
            }
        };
        Ok(Bar { symbol, datetime, ohlcv })
    }

    fn max_index(&self) -> usize {
        let c = &self.columns;
        let t = match c.time {
            TimeCols::Datetime(i) | TimeCols::Lean(i) => i,
            TimeCols::DateTime { date, time } => date.max(time),
        };
        let s = match self.symbol {
            SymbolSource::Column(i) => i,
            SymbolSource::Fixed(_) => 0,
        };
        c.values.iter().copied().max().unwrap_or(0).max(t).max(s)
    }

    fn parse_time(&self, fields: &[Cow<'_, str>]) -> Result<i64, (usize, String)> {
        let raw = match self.columns.time {
            TimeCols::Datetime(i) => parse_datetime(&fields[i]).map_err(|r| (i, r))?,
            TimeCols::Lean(i) => parse_lean(&fields[i]).map_err(|r| (i, r))?,
            TimeCols::DateTime { date, time } => {
                let (d, t) = (fields[date].trim(), fields[time].trim());
                let d = match parse_date(d) {
                    Some(d) => d,
                    None if d.is_empty() => return Err((date, "empty field".to_owned())),
                    None => return Err((date, format!("unparseable date {d:?}"))),
                };
                let t = match parse_time(t) {
                    Some(t) => t,
                    None if t.is_empty() => return Err((time, "empty field".to_owned())),
                    None => return Err((time, format!("unparseable time {t:?}"))),
                };
                RawTime::Naive(d.and_time(t))
            }
        };
        let col = match self.columns.time {
            TimeCols::Datetime(i) | TimeCols::Lean(i) => i,
            TimeCols::DateTime { date, .. } => date,
        };
        self.stamper.stamp(raw).map_err(|r| (col, r))
    }
}

/// Reads a CSV (plain or gzip'd) in one of the text [`Layout`]s.
pub(crate) struct CsvBarReader {
    path: PathBuf,
    layout: Layout,
    input: Box<dyn BufRead + Send>,
    counter: ByteCounter,
    total_bytes: Option<u64>,
    parser: RowParser,
    collector: BarCollector,
    line_no: u64,
    buf: Vec<u8>,
    eof: bool,
    done: bool,
}

impl std::fmt::Debug for CsvBarReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvBarReader")
            .field("path", &self.path)
            .field("layout", &self.layout)
            .field("line_no", &self.line_no)
            .finish_non_exhaustive()
    }
}

impl CsvBarReader {
    pub(crate) fn open(path: &Path, opts: &ImportOptions) -> Result<Self, ImportError> {
        let mut input = open_text(path)?;
        let mut first = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            let n = input.reader.read_line(&mut line).map_err(|source| ImportError::ReadLine {
                path: path.to_path_buf(),
                line: first.len() as u64 + 1,
                source,
            })?;
            if n == 0 {
                break;
            }
            first.push(line);
        }
        let refs: Vec<&str> = first.iter().map(String::as_str).collect();
        let layout = match (&opts.mapping, refs.first()) {
            (Some(_), Some(l)) if !layout::clean(l).trim().is_empty() => Layout::Mapped,
            _ => layout::detect(path, &refs)?,
        };
        let header_line = refs.get(layout.preamble_lines().saturating_sub(1) as usize);
        let header: Vec<String> = match header_line {
            Some(l) if layout.has_header() => split_line(layout::clean(l))
                .map_err(|_| ImportError::UnknownLayout {
                    path: path.to_path_buf(),
                    header: layout::clean(l).to_owned(),
                })?
                .iter()
                .map(|f| f.trim().to_owned())
                .collect(),
            _ => Vec::new(),
        };
        let columns = Columns::for_csv(path, layout, &header, opts.mapping.as_ref())?;
        let symbol = SymbolSource::choose(path, layout, columns.symbol, opts)?;
        let parser = RowParser {
            columns,
            symbol,
            price_divisor: layout.price_divisor(),
            join_pair: matches!(layout, Layout::CryptoDataDownload { .. }),
            stamper: Stamper::new(opts.tz(), opts.daily),
            symbol_buf: String::new(),
        };
        let collector = BarCollector::new(path, opts)?;
        // Start again from the top: the header is skipped in `read_row`.
        let input = open_text(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            layout,
            input: input.reader,
            counter: input.counter,
            total_bytes: input.total_bytes,
            parser,
            collector,
            line_no: 0,
            buf: Vec::with_capacity(256),
            eof: false,
            done: false,
        })
    }

    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    pub(crate) fn collector(&self) -> &BarCollector {
        &self.collector
    }

    pub(crate) fn bytes_read(&self) -> u64 {
        self.counter.get()
    }

    pub(crate) fn total_bytes(&self) -> Option<u64> {
        self.total_bytes
    }

    /// Reads and handles one physical line; sets `eof` at the end of the input.
    fn read_row(&mut self) -> Result<(), ImportError> {
        self.buf.clear();
        let n = self.input.read_until(b'\n', &mut self.buf).map_err(|source| {
            ImportError::ReadLine { path: self.path.clone(), line: self.line_no + 1, source }
        })?;
        if n == 0 {
            self.eof = true;
            return Ok(());
        }
        self.line_no += 1;
        let line = self.line_no;
        if line <= self.layout.preamble_lines() {
            return Ok(());
        }
        let text = match std::str::from_utf8(&self.buf) {
            Ok(t) => layout::clean(t),
            Err(_) => {
                let lossy = String::from_utf8_lossy(&self.buf);
                let raw = layout::clean(&lossy);
                let reason = "line is not valid UTF-8".to_owned();
                return self.collector.reject(line, None, reason, raw);
            }
        };
        if text.trim().is_empty() {
            return Ok(());
        }
        let fields = match split_line(text) {
            Ok(f) => f,
            Err(reason) => return self.collector.reject(line, None, reason, text),
        };
        match self.parser.parse(&fields) {
            Ok(bar) => self.collector.accept(line, bar, text),
            Err((column, reason)) => self.collector.reject(line, column, reason, text),
        }
    }

    fn take(&mut self) -> Option<Result<RecordBatch, ImportError>> {
        match self.collector.take_batch() {
            Ok(batch) => batch.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Iterator for CsvBarReader {
    type Item = Result<RecordBatch, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            if self.collector.is_full() {
                return self.take();
            }
            if self.eof {
                if self.collector.pending() > 0 {
                    return self.take();
                }
                self.done = true;
                return self.collector.finish().err().map(Err);
            }
            if let Err(e) = self.read_row() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_line;

    #[test]
    fn splits_plain_and_quoted_lines() {
        assert_eq!(split_line("a,,b").unwrap(), ["a", "", "b"]);
        assert_eq!(split_line(r#""a,1",b,"c""d""#).unwrap(), ["a,1", "b", "c\"d"]);
        assert_eq!(split_line(r#""a","#).unwrap(), ["a", ""]);
        assert!(split_line(r#""a"#).is_err());
        assert!(split_line(r#""a"x,b"#).is_err());
    }
}
