//! The store's symbol-master API: upsert (persisted atomically), list, look up, filter, and
//! provider tickers.

use std::sync::Arc;

use super::Store;
use crate::error::Result;
use crate::symbols::{
    InstrumentType, Provider, SymbolFilter, SymbolRecord, SymbolUpsertReport, SymbolsError, file,
    provider_symbol,
};

impl Store {
    /// Merges `records` into the symbol master and persists it (`_meta/SYMBOLS`, replaced
    /// atomically and durably) before returning. Fields a record leaves `None` keep their
    /// stored value. Every record is validated first; on any error nothing changes.
    ///
    /// Rows appended afterwards take their F3.1 metadata columns from the master when they
    /// do not carry them; rows already stored keep theirs.
    pub fn upsert_symbols(
        &self,
        records: impl IntoIterator<Item = SymbolRecord>,
    ) -> Result<SymbolUpsertReport> {
        self.check_writable()?;
        let _serial = self.inner.symbols_lock.lock();
        let current = self.inner.symbols.read().clone();
        let (next, report) = current.merged(records)?;
        if report.added + report.changed > 0 {
            file::store(self.inner.storage.as_ref(), &next)?;
            *self.inner.symbols.write() = Arc::new(next);
        }
        Ok(report)
    }

    /// Every record of the symbol master, in symbol order.
    pub fn symbols(&self) -> Vec<SymbolRecord> {
        self.inner.symbols.read().records().cloned().collect()
    }

    /// The record of one symbol.
    pub fn symbol(&self, symbol: &str) -> Option<SymbolRecord> {
        self.inner.symbols.read().get(symbol).cloned()
    }

    /// The records that pass `filter`, in symbol order.
    pub fn find_symbols(&self, filter: &SymbolFilter) -> Vec<SymbolRecord> {
        self.inner.symbols.read().records().filter(|r| filter.matches(r)).cloned().collect()
    }

    /// The ticker `provider` uses for `symbol`: the record's override if it has one, else
    /// [`provider_symbol`] with the record's type. `kind` is used when the master has no
    /// type for the symbol; with neither, the symbol is an error naming what is missing.
    pub fn provider_symbol(
        &self,
        symbol: &str,
        provider: Provider,
        kind: Option<InstrumentType>,
    ) -> Result<String> {
        let record = self.symbol(symbol);
        if let Some(ticker) = record.as_ref().and_then(|r| r.provider_symbols.get(&provider)) {
            return Ok(ticker.clone());
        }
        let kind = record.and_then(|r| r.instrument_type).or(kind).ok_or_else(|| {
            SymbolsError::InvalidRecord {
                symbol: symbol.to_owned(),
                field: "type",
                reason: "unknown: the symbol master has no type for it and none was given"
                    .to_owned(),
            }
        })?;
        Ok(provider_symbol(symbol, kind, provider)?)
    }
}
