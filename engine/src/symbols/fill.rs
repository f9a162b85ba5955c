//! Copies symbol-master metadata into the F3.1 columns of appended rows that do not carry
//! them, before the rows are logged (so WAL replay sees exactly what was written).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray,
};
use arrow::datatypes::{Field, Int32Type};

use super::SymbolMaster;
use super::record::SymbolRecord;
use crate::error::Result;
use crate::schema::col;
use crate::write::{Normalized, ORIGIN_KEY, ORIGIN_MASTER};

/// F1 positions of the metadata columns (`sector` .. `type`).
const SECTOR: usize = col::SECTOR;
const INDUSTRY: usize = 8;
const MARKET_CAP: usize = 9;
const EXCHANGE: usize = col::EXCHANGE;
const MIC_CODE: usize = 11;
const CURRENCY: usize = 12;
const COUNTRY: usize = 13;
const TYPE: usize = 14;

/// The dictionary-encoded metadata columns and how to read each from a record.
/// Reads one text field of a record.
type Getter = fn(&SymbolRecord) -> Option<&str>;

const TEXT_COLUMNS: [(usize, Getter); 7] = [
    (SECTOR, |r| r.sector.as_deref()),
    (INDUSTRY, |r| r.industry.as_deref()),
    (EXCHANGE, |r| r.exchange.as_deref()),
    (MIC_CODE, |r| r.mic_code.as_deref()),
    (CURRENCY, |r| r.currency.as_deref()),
    (COUNTRY, |r| r.country.as_deref()),
    (TYPE, |r| r.instrument_type.map(|t| t.as_str())),
];

/// Fills every metadata column the caller did not provide from `master`, for the rows whose
/// symbol has a record with that field. A filled column becomes provided and is marked
/// `from_master`. Columns the caller provided are left exactly as given (nulls included).
pub(crate) fn fill_from_master(input: &mut Normalized, master: &SymbolMaster) -> Result<()> {
    if master.is_empty() {
        return Ok(());
    }
    let batch = &input.batch;
    let symbols = batch.column(col::SYMBOL).as_dictionary::<Int32Type>();
    let names = symbols.values().as_string::<i32>();
    // One lookup per distinct symbol of the batch, not per row.
    let records: Vec<Option<&SymbolRecord>> = (0..names.len())
        .map(|k| if names.is_null(k) { None } else { master.get(names.value(k)) })
        .collect();
    if records.iter().all(Option::is_none) {
        return Ok(());
    }
    let mut replaced: Vec<(usize, ArrayRef)> = Vec::new();
    for (c, get) in TEXT_COLUMNS {
        if input.provided[c] {
            continue;
        }
        let values: StringArray = records.iter().map(|r| r.and_then(get)).collect();
        if values.null_count() == values.len() {
            continue;
        }
        let keys: Int32Array =
            symbols.keys().iter().map(|k| k.filter(|&k| values.is_valid(k as usize))).collect();
        let array = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values))?;
        replaced.push((c, Arc::new(array)));
    }
    if !input.provided[MARKET_CAP]
        && records.iter().any(|r| r.is_some_and(|r| r.market_cap.is_some()))
    {
        let caps: Float64Array = symbols
            .keys()
            .iter()
            .map(|k| k.and_then(|k| records[k as usize]).and_then(|r| r.market_cap))
            .collect();
        replaced.push((MARKET_CAP, Arc::new(caps)));
    }
    if replaced.is_empty() {
        return Ok(());
    }
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (c, array) in replaced {
        columns[c] = array;
        input.provided[c] = true;
        input.from_master[c] = true;
    }
    input.batch = RecordBatch::try_new(batch.schema(), columns)?;
    Ok(())
}

/// Marks the master-filled columns of a WAL batch's schema (see [`ORIGIN_KEY`]).
pub(crate) fn mark_origin(field: Field, from_master: bool) -> Field {
    if !from_master {
        return field;
    }
    let mut metadata = field.metadata().clone();
    metadata.insert(ORIGIN_KEY.to_owned(), ORIGIN_MASTER.to_owned());
    field.with_metadata(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::field_defs;

    #[test]
    fn metadata_positions_match_the_schema() {
        let names: Vec<&str> =
            [SECTOR, INDUSTRY, MARKET_CAP, EXCHANGE, MIC_CODE, CURRENCY, COUNTRY, TYPE]
                .iter()
                .map(|&c| field_defs()[c].name)
                .collect();
        assert_eq!(
            names,
            [
                "sector",
                "industry",
                "market_cap",
                "exchange",
                "mic_code",
                "currency",
                "country",
                "type"
            ]
        );
    }
}
