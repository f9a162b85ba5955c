//! Computing the 97 fields of whole series without a store: what `candlestore compute` and
//! in-process users run to check our numbers against their own tools.

use arrow::array::{AsArray, RecordBatch, UInt32Array};
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use arrow::datatypes::DataType;
use rayon::prelude::*;

use super::{Bars, SeriesConfig, compute_series, fill_derived};
use crate::error::{Error, Result};
use crate::schema::{FIELD_COUNT, bar_schema, col};
use crate::write::audit::{Lineage, fill};
use crate::write::conform;
use crate::write::normalize::{cast_slots, validate_keys};

/// Lineage of rows computed outside a store.
#[derive(Debug, Clone)]
pub struct ComputeOptions {
    /// Session rule and other per-series configuration.
    pub config: SeriesConfig,
    /// `source` of rows whose input has no `source` column.
    pub source: String,
    /// `batch_id` of every row.
    pub batch_id: String,
    /// `created_at`, `updated_at`, `fetched_at` (unless provided) and `computed_at`, µs UTC.
    pub now: i64,
}

/// A family that failed on one series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesFault {
    /// The series' symbol.
    pub symbol: String,
    /// Position (F2.1) of the first bar the family's fields are null at.
    pub first_bar: u64,
    /// The failed family.
    pub family: String,
}

/// Series computed in parallel between two calls of the sink (bounds memory).
const SERIES_PER_ROUND: usize = 64;

/// Computes every derived field of the bars in `input` (any subset of the 97 columns that
/// includes datetime, symbol and OHLCV; several symbols allowed, in any order). Each symbol
/// is one series (F2.1). Returns the 97-column rows sorted by (symbol, datetime) and the
/// families that failed, if any. Invalid rows (missing or non-finite OHLCV, duplicate keys)
/// are an [`Error::InvalidRows`] naming each.
pub fn compute_batch(
    input: &RecordBatch,
    options: &ComputeOptions,
) -> Result<(RecordBatch, Vec<SeriesFault>)> {
    let mut parts = Vec::new();
    let mut faults = Vec::new();
    compute_each(input, options, |batch, f| {
        parts.push(batch);
        faults.extend_from_slice(f);
        Ok(())
    })?;
    Ok((concat_batches(&bar_schema(), &parts)?, faults))
}

/// As [`compute_batch`], but hands each series' 97-column rows to `sink` in symbol order as
/// soon as they are computed, so only a bounded number of series is held at once.
pub fn compute_each(
    input: &RecordBatch,
    options: &ComputeOptions,
    mut sink: impl FnMut(RecordBatch, &[SeriesFault]) -> Result<()>,
) -> Result<()> {
    // Validate and order on the key and OHLCV columns only.
    let schema = input.schema();
    let mut key_columns = Vec::new();
    for name in ["datetime", "symbol", "open", "high", "low", "close", "volume"] {
        if let Ok(i) = schema.index_of(name) {
            key_columns.push(i);
        }
    }
    let rows = input.num_rows();
    let (keys, _) = cast_slots(&input.project(&key_columns)?)?;
    let errors = validate_keys(&keys, rows)?;
    if !errors.is_empty() {
        return Err(Error::InvalidRows { rows: errors });
    }
    let key = |c: usize| {
        keys[c].clone().ok_or(Error::MissingColumn { column: crate::schema::field_defs()[c].name })
    };
    if rows == 0 {
        return Ok(());
    }
    let symbols = arrow::compute::cast(&key(col::SYMBOL)?, &DataType::Utf8)?;
    let order = lexsort_to_indices(
        &[
            SortColumn { values: symbols.clone(), options: None },
            SortColumn { values: key(col::DATETIME)?, options: None },
        ],
        None,
    )?;
    let symbols = symbols.as_string::<i32>();
    let order = order.values();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=rows {
        if i == rows || symbols.value(order[i] as usize) != symbols.value(order[start] as usize) {
            runs.push((start, i));
            start = i;
        }
    }
    for round in runs.chunks(SERIES_PER_ROUND) {
        let results: Vec<Result<(RecordBatch, Vec<SeriesFault>)>> = round
            .par_iter()
            .map(|&(a, b)| {
                let idx = UInt32Array::from(order[a..b].to_vec());
                let part = take_record_batch(input, &idx)?;
                series(&part, options, symbols.value(order[a] as usize))
            })
            .collect();
        for r in results {
            let (batch, faults) = r?;
            sink(batch, &faults)?;
        }
    }
    Ok(())
}

/// One series (rows of one symbol in time order, as the caller provided them).
fn series(
    part: &RecordBatch,
    options: &ComputeOptions,
    symbol: &str,
) -> Result<(RecordBatch, Vec<SeriesFault>)> {
    let mut normalized = conform(part)?;
    for &c in super::computed_columns() {
        normalized.provided[c] = false;
    }
    let n = part.num_rows();
    let lineage = Lineage {
        now: options.now,
        batch_id: &options.batch_id,
        source: &options.source,
        created_at: vec![None; n],
        prior_revision: vec![None; n],
    };
    let batch = fill(normalized.batch, &normalized.provided, &lineage)?;
    let bars = Bars::of(&batch);
    let (computed, _) = compute_series(&options.config, &bars)?;
    let faults = computed
        .faults()
        .iter()
        .map(|(first_bar, family)| SeriesFault {
            symbol: symbol.to_owned(),
            first_bar: *first_bar,
            family: family.clone(),
        })
        .collect();
    let rows = fill_derived(&batch, &computed.out, &computed.row_failures())?;
    // Outside a store there is no table, so no extra columns: the 97 of F1.
    let rows = RecordBatch::try_new(bar_schema(), rows.columns()[..FIELD_COUNT].to_vec())?;
    Ok((rows, faults))
}
