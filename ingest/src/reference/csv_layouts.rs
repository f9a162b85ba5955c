//! The CSV reference layouts: header detection and one record per row.

use std::io::Read;
use std::path::Path;

use candlestore::{InstrumentType, SymbolRecord};

use super::codes::{NASDAQ, NYSE, Venue, country_code, venue_of_code, venue_of_name};
use super::error::ReferenceError;
use super::{Collected, ReferenceFile, ReferenceLayout, engine_symbol, text};
use crate::layout::normalize;

/// Column positions of one layout, by normalized header name.
struct Header {
    names: Vec<String>,
}

impl Header {
    fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// The columns each fixed layout must have (normalized names), in order of detection.
fn required(layout: ReferenceLayout) -> &'static [&'static str] {
    match layout {
        ReferenceLayout::Sp500Constituents => {
            &["symbol", "security", "gicssector", "gicssubindustry"]
        }
        ReferenceLayout::Sp500Legacy => &["symbol", "name", "sector"],
        ReferenceLayout::NasdaqListedSymbols => {
            &["symbol", "companyname", "securityname", "marketcategory", "testissue", "etf"]
        }
        ReferenceLayout::NasdaqListed => &["symbol", "securityname"],
        ReferenceLayout::NyseListed => &["actsymbol", "companyname"],
        ReferenceLayout::OtherListed => {
            &["actsymbol", "companyname", "securityname", "exchange", "etf", "testissue"]
        }
        ReferenceLayout::Metadata => &["symbol"],
        ReferenceLayout::ScreenerJson => &[],
    }
}

const METADATA_COLUMNS: [&str; 10] = [
    "symbol",
    "name",
    "sector",
    "industry",
    "marketcap",
    "exchange",
    "miccode",
    "currency",
    "country",
    "type",
];

fn detect(names: &[String]) -> Option<ReferenceLayout> {
    let is = |want: &[&str]| {
        names.len() == want.len() && names.iter().zip(want).all(|(a, b)| a.as_str() == *b)
    };
    let starts = |want: &[&str]| {
        names.len() >= want.len() && names.iter().zip(want).all(|(a, b)| a.as_str() == *b)
    };
    Some(if starts(required(ReferenceLayout::Sp500Constituents)) {
        ReferenceLayout::Sp500Constituents
    } else if is(required(ReferenceLayout::Sp500Legacy)) {
        ReferenceLayout::Sp500Legacy
    } else if starts(&["symbol", "companyname", "securityname", "marketcategory", "testissue"]) {
        ReferenceLayout::NasdaqListedSymbols
    } else if is(required(ReferenceLayout::NasdaqListed)) {
        ReferenceLayout::NasdaqListed
    } else if is(required(ReferenceLayout::NyseListed)) {
        ReferenceLayout::NyseListed
    } else if starts(&["actsymbol", "companyname", "securityname", "exchange"]) {
        ReferenceLayout::OtherListed
    } else if names.first().is_some_and(|n| n == "symbol")
        && names.len() > 1
        && names.iter().all(|n| METADATA_COLUMNS.contains(&n.as_str()))
    {
        ReferenceLayout::Metadata
    } else {
        return None;
    })
}

pub(super) fn read(
    path: &Path,
    input: Box<dyn Read>,
    forced: Option<ReferenceLayout>,
) -> Result<ReferenceFile, ReferenceError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
    let mut rows = reader.records();
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, csv::Position::line);
        match e.into_kind() {
            csv::ErrorKind::Io(source) => ReferenceError::Io { path: path.to_path_buf(), source },
            kind => ReferenceError::Row {
                path: path.to_path_buf(),
                line,
                column: None,
                reason: format!("{kind:?}"),
            },
        }
    };
    let header = match rows.next() {
        Some(h) => h.map_err(csv_error)?,
        None => {
            return Err(ReferenceError::UnknownLayout {
                path: path.to_path_buf(),
                header: String::new(),
            });
        }
    };
    let raw_header: Vec<&str> = header.iter().collect();
    let joined = raw_header.join(",");
    let names: Vec<String> =
        raw_header.iter().map(|h| normalize(h.trim_start_matches('\u{feff}'))).collect();
    let layout = match forced {
        Some(l) => {
            if let Some(missing) = required(l).iter().find(|c| !names.iter().any(|n| n == *c)) {
                return Err(ReferenceError::HeaderMismatch {
                    path: path.to_path_buf(),
                    layout: l.name(),
                    header: joined,
                    column: missing,
                });
            }
            l
        }
        None => detect(&names).ok_or_else(|| ReferenceError::UnknownLayout {
            path: path.to_path_buf(),
            header: joined.clone(),
        })?,
    };
    let header = Header { names };
    let rows_parser = RowParser::new(path, layout, &header, &raw_header);
    let mut out = Collected::default();
    for row in rows {
        let row = row.map_err(csv_error)?;
        let line = row.position().map_or(0, csv::Position::line);
        out.rows_read += 1;
        let fields: Vec<&str> = row.iter().collect();
        if fields.iter().all(|f| f.trim().is_empty()) {
            out.skip(line, "blank row");
            continue;
        }
        if fields[0].starts_with("File Creation Time") {
            out.skip(line, format!("trailer row {:?}", fields[0]));
            continue;
        }
        if fields.len() != header.names.len() {
            return Err(ReferenceError::Row {
                path: path.to_path_buf(),
                line,
                column: None,
                reason: format!(
                    "wrong number of fields: expected {}, found {}",
                    header.names.len(),
                    fields.len()
                ),
            });
        }
        match rows_parser.parse(line, &fields)? {
            Parsed::Record(r) => out.push(line, *r),
            Parsed::Skip(reason) => out.skip(line, reason),
        }
    }
    Ok(out.finish(layout))
}

enum Parsed {
    Record(Box<SymbolRecord>),
    Skip(String),
}

struct RowParser<'a> {
    path: &'a Path,
    layout: ReferenceLayout,
    labels: Vec<String>,
    col: Vec<Option<usize>>,
}

/// Slots of `RowParser::col`, by role.
const ROLES: [&str; 14] = [
    "symbol",
    "name",
    "sector",
    "industry",
    "marketcap",
    "exchange",
    "miccode",
    "currency",
    "country",
    "type",
    "etf",
    "testissue",
    "security",
    "securityname",
];

impl<'a> RowParser<'a> {
    fn new(path: &'a Path, layout: ReferenceLayout, header: &Header, raw: &[&str]) -> Self {
        let alias = |role: &str| -> Option<usize> {
            let names: &[&str] = match (layout, role) {
                (_, "symbol") => &["symbol", "actsymbol"],
                (ReferenceLayout::Sp500Constituents, "sector") => &["gicssector"],
                (ReferenceLayout::Sp500Constituents, "industry") => &["gicssubindustry"],
                (
                    ReferenceLayout::NasdaqListedSymbols
                    | ReferenceLayout::NyseListed
                    | ReferenceLayout::OtherListed,
                    "name",
                ) => &["companyname"],
                (_, r) => return header.find(r),
            };
            names.iter().find_map(|n| header.find(n))
        };
        Self {
            path,
            layout,
            labels: raw.iter().map(|s| s.trim().to_owned()).collect(),
            col: ROLES.iter().map(|r| alias(r)).collect(),
        }
    }

    fn get<'f>(&self, fields: &[&'f str], role: &str) -> Option<&'f str> {
        let slot = ROLES.iter().position(|r| *r == role)?;
        self.col[slot].and_then(|i| fields.get(i).copied())
    }

    fn error(&self, line: u64, role: &str, reason: String) -> ReferenceError {
        let column = ROLES
            .iter()
            .position(|r| *r == role)
            .and_then(|slot| self.col[slot])
            .and_then(|i| self.labels.get(i).cloned());
        ReferenceError::Row { path: self.path.to_path_buf(), line, column, reason }
    }

    fn yes_no(&self, line: u64, fields: &[&str], role: &str) -> Result<bool, ReferenceError> {
        match self.get(fields, role).map(str::trim) {
            Some("Y") => Ok(true),
            Some("N") | Some("") | None => Ok(false),
            Some(other) => Err(self.error(line, role, format!("expected Y or N, found {other:?}"))),
        }
    }

    fn parse(&self, line: u64, fields: &[&str]) -> Result<Parsed, ReferenceError> {
        let raw_symbol = self.get(fields, "symbol").unwrap_or("");
        let symbol =
            engine_symbol(raw_symbol).map_err(|reason| self.error(line, "symbol", reason))?;
        let mut r = SymbolRecord::new(symbol);
        r.name = self.get(fields, "name").or_else(|| self.get(fields, "security")).and_then(text);
        use ReferenceLayout as L;
        let listing = |r: &mut SymbolRecord, v: Venue| {
            r.exchange = Some(v.name.to_owned());
            r.mic_code = Some(v.mic.to_owned());
            r.currency = Some("USD".to_owned());
        };
        match self.layout {
            L::Sp500Constituents | L::Sp500Legacy => {
                r.sector = self.get(fields, "sector").and_then(text);
                r.industry = self.get(fields, "industry").and_then(text);
                r.currency = Some("USD".to_owned());
                r.instrument_type = Some(InstrumentType::Stock);
            }
            L::NasdaqListedSymbols | L::OtherListed => {
                if self.yes_no(line, fields, "testissue")? {
                    return Ok(Parsed::Skip(format!("{} is a test issue", r.symbol)));
                }
                let venue = if self.layout == L::OtherListed {
                    let code = self.get(fields, "exchange").unwrap_or("");
                    venue_of_code(code).ok_or_else(|| {
                        self.error(
                            line,
                            "exchange",
                            format!("unknown exchange code {code:?} (known: A, N, P, Z, V, Q)"),
                        )
                    })?
                } else {
                    NASDAQ
                };
                listing(&mut r, venue);
                let etf = self.yes_no(line, fields, "etf")?;
                r.instrument_type =
                    Some(if etf { InstrumentType::Etf } else { InstrumentType::Stock });
            }
            L::NasdaqListed => {
                r.name = self.get(fields, "securityname").and_then(text);
                listing(&mut r, NASDAQ);
            }
            L::NyseListed => listing(&mut r, NYSE),
            L::Metadata => self.metadata(line, fields, &mut r)?,
            L::ScreenerJson => {}
        }
        r.validate().map_err(|e| ReferenceError::Row {
            path: self.path.to_path_buf(),
            line,
            column: None,
            reason: e.to_string(),
        })?;
        Ok(Parsed::Record(Box::new(r)))
    }

    /// The F3.1 metadata CSV: every value as written, codes checked.
    fn metadata(
        &self,
        line: u64,
        fields: &[&str],
        r: &mut SymbolRecord,
    ) -> Result<(), ReferenceError> {
        r.sector = self.get(fields, "sector").and_then(text);
        r.industry = self.get(fields, "industry").and_then(text);
        if let Some(cap) = self.get(fields, "marketcap").and_then(text) {
            let v: f64 = cap
                .parse()
                .map_err(|_| self.error(line, "marketcap", format!("{cap:?} is not a number")))?;
            r.market_cap = Some(v);
        }
        r.exchange = self.get(fields, "exchange").and_then(text);
        r.mic_code = self.get(fields, "miccode").and_then(text);
        if r.mic_code.is_none()
            && let Some(v) = r.exchange.as_deref().and_then(venue_of_name)
        {
            r.mic_code = Some(v.mic.to_owned());
        }
        r.currency = self.get(fields, "currency").and_then(text);
        if let Some(c) = self.get(fields, "country").and_then(text) {
            let code = country_code(&c).ok_or_else(|| {
                self.error(
                    line,
                    "country",
                    format!("{c:?} is not a known country name or ISO 3166-1 alpha-2 code"),
                )
            })?;
            r.country = Some(code.to_owned());
        }
        if let Some(t) = self.get(fields, "type").and_then(text) {
            r.instrument_type =
                Some(t.parse().map_err(|e: candlestore::SymbolsError| {
                    self.error(line, "type", e.to_string())
                })?);
        }
        Ok(())
    }
}
