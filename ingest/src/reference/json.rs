//! The Nasdaq screener JSON of `us-stock-symbols/*_full_tickers.json`, streamed item by item.

use std::fmt;
use std::io::Read;
use std::path::Path;

use candlestore::{InstrumentType, SymbolRecord};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};

use super::codes::{NASDAQ, NYSE, NYSE_AMERICAN, Venue, country_code};
use super::error::ReferenceError;
use super::{Collected, ReferenceFile, ReferenceLayout, engine_symbol, text};

/// The fields used; the others (`lastsale`, `volume`, ...) are prices of the day, not
/// instrument metadata.
#[derive(Debug, Deserialize)]
struct Item {
    symbol: String,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "marketCap")]
    market_cap: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    industry: String,
    #[serde(default)]
    sector: String,
}

/// The listing exchange named by the file (`nasdaq_full_tickers.json` → NASDAQ).
fn venue_of_file(path: &Path) -> Option<Venue> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.starts_with("nasdaq") {
        Some(NASDAQ)
    } else if name.starts_with("nyse") {
        Some(NYSE)
    } else if name.starts_with("amex") {
        Some(NYSE_AMERICAN)
    } else {
        None
    }
}

fn record(item: Item, venue: Option<Venue>) -> Result<SymbolRecord, String> {
    let mut r = SymbolRecord::new(engine_symbol(&item.symbol)?);
    r.name = text(&item.name);
    r.sector = text(&item.sector);
    r.industry = text(&item.industry);
    if let Some(cap) = text(&item.market_cap) {
        let v: f64 = cap.parse().map_err(|_| format!("marketCap {cap:?} is not a number"))?;
        // The screener writes 0.00 for instruments it has no capitalisation for.
        r.market_cap = (v > 0.0).then_some(v);
    }
    if let Some(c) = text(&item.country) {
        let code =
            country_code(&c).ok_or_else(|| format!("country {c:?} is not a known country name"))?;
        r.country = Some(code.to_owned());
    }
    if let Some(v) = venue {
        r.exchange = Some(v.name.to_owned());
        r.mic_code = Some(v.mic.to_owned());
    }
    r.currency = Some("USD".to_owned());
    r.instrument_type = Some(InstrumentType::Stock);
    r.validate().map_err(|e| e.to_string())?;
    Ok(r)
}

struct Items<'a> {
    out: &'a mut Collected,
    venue: Option<Venue>,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of screener objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0u64;
        while let Some(item) = seq.next_element::<Item>()? {
            n += 1;
            self.out.rows_read += 1;
            let symbol = item.symbol.clone();
            // serde_json appends the line and column of the item's end to this message.
            let r = record(item, self.venue)
                .map_err(|e| de::Error::custom(format!("item {n} ({symbol:?}): {e}")))?;
            self.out.push(n, r);
        }
        Ok(())
    }
}

pub(super) fn read(path: &Path, input: Box<dyn Read>) -> Result<ReferenceFile, ReferenceError> {
    let mut out = Collected::default();
    let venue = venue_of_file(path);
    let mut de = serde_json::Deserializer::from_reader(input);
    let result = Items { out: &mut out, venue }.deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = result {
        if e.is_io() {
            return Err(ReferenceError::Io { path: path.to_path_buf(), source: e.into() });
        }
        return Err(ReferenceError::Row {
            path: path.to_path_buf(),
            line: e.line() as u64,
            column: None,
            reason: e.to_string(),
        });
    }
    Ok(out.finish(ReferenceLayout::ScreenerJson))
}
