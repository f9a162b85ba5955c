//! The symbol master: per-instrument metadata (F3.1) and per-provider ticker overrides,
//! persisted store-wide in `_meta/SYMBOLS` (format-spec/symbols.md).
//!
//! The write path copies a record's metadata into appended rows that do not carry it
//! ([`fill`]); scans by sector or exchange fall back to the master for symbols whose stored
//! rows predate their record (`query/plan.rs`). Provider tickers are derived by
//! [`provider_symbol`] unless the record overrides them.

mod error;
pub(crate) mod file;
pub(crate) mod fill;
mod provider;
mod record;

use std::collections::{BTreeMap, BTreeSet};

pub use error::SymbolsError;
pub use file::{SYMBOLS_MAGIC, SYMBOLS_MIN_VERSION, SYMBOLS_VERSION};
pub use provider::{Provider, provider_symbol};
pub use record::{InstrumentType, SymbolFilter, SymbolRecord};

/// What [`Store::upsert_symbols`](crate::Store::upsert_symbols) did, counted per distinct
/// symbol against the master as it was before the call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct SymbolUpsertReport {
    /// Symbols that had no record.
    pub added: usize,
    /// Symbols whose record changed.
    pub changed: usize,
    /// Symbols whose record was already exactly what the input says.
    pub unchanged: usize,
}

/// The in-memory master: records by symbol. Immutable once shared; an upsert builds a new
/// one (copy-on-write behind an `Arc` in the store).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SymbolMaster {
    records: BTreeMap<String, SymbolRecord>,
}

impl SymbolMaster {
    pub(crate) fn from_records(records: BTreeMap<String, SymbolRecord>) -> Self {
        Self { records }
    }

    pub(crate) fn get(&self, symbol: &str) -> Option<&SymbolRecord> {
        self.records.get(symbol)
    }

    pub(crate) fn records(&self) -> impl Iterator<Item = &SymbolRecord> {
        self.records.values()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Merges `input` into a copy of this master: fields present in an input record replace
    /// the stored ones, absent fields keep them (so a listing file that knows only the
    /// exchange does not erase the sector an S&P file gave). Every record is validated first;
    /// on error nothing changes.
    pub(crate) fn merged(
        &self,
        input: impl IntoIterator<Item = SymbolRecord>,
    ) -> Result<(SymbolMaster, SymbolUpsertReport), SymbolsError> {
        let mut next = self.clone();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for record in input {
            record.validate()?;
            touched.insert(record.symbol.clone());
            match next.records.get_mut(&record.symbol) {
                Some(existing) => existing.merge(record),
                None => {
                    next.records.insert(record.symbol.clone(), record);
                }
            }
        }
        let mut report = SymbolUpsertReport::default();
        for symbol in &touched {
            match (self.records.get(symbol), next.records.get(symbol)) {
                (None, _) => report.added += 1,
                (Some(old), Some(new)) if old == new => report.unchanged += 1,
                _ => report.changed += 1,
            }
        }
        Ok((next, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(symbol: &str) -> SymbolRecord {
        SymbolRecord::new(symbol)
    }

    #[test]
    fn merge_keeps_fields_the_input_does_not_carry() {
        let mut a = rec("AAPL");
        a.sector = Some("Information Technology".into());
        let (m, r) = SymbolMaster::default().merged([a]).unwrap();
        assert_eq!(r, SymbolUpsertReport { added: 1, changed: 0, unchanged: 0 });
        let mut b = rec("AAPL");
        b.exchange = Some("NASDAQ".into());
        b.mic_code = Some("XNAS".into());
        let (m2, r) = m.merged([b.clone()]).unwrap();
        assert_eq!(r, SymbolUpsertReport { added: 0, changed: 1, unchanged: 0 });
        let got = m2.get("AAPL").unwrap();
        assert_eq!(got.sector.as_deref(), Some("Information Technology"));
        assert_eq!(got.mic_code.as_deref(), Some("XNAS"));
        let (_, r) = m2.merged([b]).unwrap();
        assert_eq!(r, SymbolUpsertReport { added: 0, changed: 0, unchanged: 1 });
    }

    #[test]
    fn a_symbol_twice_in_one_call_counts_once() {
        let mut a = rec("MSFT");
        a.sector = Some("X".into());
        let mut b = rec("MSFT");
        b.industry = Some("Y".into());
        let (m, r) = SymbolMaster::default().merged([a, b]).unwrap();
        assert_eq!(r.added, 1);
        assert_eq!(m.get("MSFT").unwrap().industry.as_deref(), Some("Y"));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn an_invalid_record_changes_nothing() {
        let mut bad = rec("IBM");
        bad.currency = Some("dollars".into());
        let err = SymbolMaster::default().merged([rec("A"), bad]).unwrap_err();
        assert!(
            matches!(&err, SymbolsError::InvalidRecord { symbol, field: "currency", .. } if symbol == "IBM"),
            "{err}"
        );
    }
}
