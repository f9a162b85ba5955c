//! Computing the 97 fields of whole series without a store: what `candlestore compute` and
//! in-process users run to check our numbers against their own tools.

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::{SortColumn, concat_batches, lexsort_to_indices, take_record_batch};
use arrow::datatypes::{Float64Type, Int32Type, TimestampMicrosecondType};
use rayon::prelude::*;

use super::{Bars, SeriesConfig, compute_series, fill_derived};
use crate::error::{Error, Result};
use crate::schema::{bar_schema, col};
use crate::write::audit::{Lineage, fill};
use crate::write::{conform, validate};

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

/// Computes every derived field of the bars in `input` (any subset of the 97 columns that
/// includes datetime, symbol and OHLCV; several symbols allowed, in any order). Each symbol
/// is one series (F2.1). Returns the 97-column rows sorted by (symbol, datetime) and the
/// families that failed, if any. Invalid rows (missing or non-finite OHLCV, duplicate keys)
/// are an [`Error::InvalidRows`] naming each.
pub fn compute_batch(
    input: &RecordBatch,
    options: &ComputeOptions,
) -> Result<(RecordBatch, Vec<SeriesFault>)> {
    let mut normalized = conform(input)?;
    let errors = validate(&normalized.batch);
    if !errors.is_empty() {
        return Err(Error::InvalidRows { rows: errors });
    }
    for &c in super::computed_columns() {
        normalized.provided[c] = false;
    }
    let rows = normalized.batch.num_rows();
    let lineage = Lineage {
        now: options.now,
        batch_id: &options.batch_id,
        source: &options.source,
        created_at: vec![None; rows],
        prior_revision: vec![None; rows],
    };
    let batch = fill(normalized.batch, &normalized.provided, &lineage)?;
    if rows == 0 {
        return Ok((batch, Vec::new()));
    }
    // Sort by (symbol text, datetime).
    let symbols =
        arrow::compute::cast(batch.column(col::SYMBOL), &arrow::datatypes::DataType::Utf8)?;
    let order = lexsort_to_indices(
        &[
            SortColumn { values: symbols.clone(), options: None },
            SortColumn { values: batch.column(col::DATETIME).clone(), options: None },
        ],
        None,
    )?;
    let batch = take_record_batch(&batch, &order)?;
    let symbols = symbols.as_string::<i32>();
    let symbols: Vec<&str> = order.values().iter().map(|&i| symbols.value(i as usize)).collect();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=rows {
        if i == rows || symbols[i] != symbols[start] {
            runs.push((start, i));
            start = i;
        }
    }
    let results: Vec<Result<(RecordBatch, Vec<SeriesFault>)>> = runs
        .par_iter()
        .map(|&(a, b)| {
            let part = batch.slice(a, b - a);
            let f = |c: usize| part.column(c).as_primitive::<Float64Type>().values().as_ref();
            let ts = part.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>();
            let bars = Bars {
                ts: ts.values(),
                open: f(col::OPEN),
                high: f(col::HIGH),
                low: f(col::LOW),
                close: f(col::CLOSE),
                volume: f(col::VOLUME),
            };
            let (computed, _) = compute_series(&options.config, &bars)?;
            let faults = computed
                .faults()
                .iter()
                .map(|(first_bar, family)| SeriesFault {
                    symbol: symbols[a].to_owned(),
                    first_bar: *first_bar,
                    family: family.clone(),
                })
                .collect();
            Ok((fill_derived(&part, &computed, None)?, faults))
        })
        .collect();
    let mut parts = Vec::with_capacity(results.len());
    let mut faults = Vec::new();
    for r in results {
        let (p, f) = r?;
        parts.push(p);
        faults.extend(f);
    }
    let out = concat_batches(&bar_schema(), &parts)?;
    // Dictionary keys of the symbol column stay valid after take/concat; check once.
    debug_assert_eq!(out.column(col::SYMBOL).as_dictionary::<Int32Type>().len(), rows);
    Ok((out, faults))
}
