//! Columns the store fills itself when the caller did not provide them: the bar-local audit
//! fields of F3.16, `price_range` (F3.13, non-null in F1), `source`, `fetched_at`, the lineage
//! stamps and `data_completeness`. Every other derived field is left to the indicator kernel.
//!
//! The history-dependent checks (`gap_detected`, `volume_anomaly`) need the previous bars of
//! the series; they are computed by the indicator kernel. Until it runs they are `false`.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, Float64Array, Int32Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{Float64Type, Int32Type};

use crate::error::Result;
use crate::schema::{FIELD_COUNT, bar_schema, col};

/// Lineage values of the rows being written.
#[derive(Debug)]
pub(crate) struct Lineage<'a> {
    pub(crate) now: i64,
    pub(crate) batch_id: &'a str,
    pub(crate) source: &'a str,
    /// Per row: `created_at` of the version being replaced, if any.
    pub(crate) created_at: Vec<Option<i64>>,
    /// Per row: revision of the version being replaced, if any.
    pub(crate) prior_revision: Vec<Option<i32>>,
}

pub(crate) fn ts_array(values: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

pub(crate) fn dict_constant(value: &str, rows: usize) -> ArrayRef {
    let keys = Int32Array::from(vec![0; rows]);
    let values = Arc::new(StringArray::from(vec![value]));
    Arc::new(DictionaryArray::<Int32Type>::new(keys, values))
}

fn dict_from(values: Vec<&'static str>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<DictionaryArray<Int32Type>>())
}

/// Fills the store-owned columns of `batch` (bar schema, rows to be written) and returns a
/// batch with the strict bar schema.
pub(crate) fn fill(
    batch: RecordBatch,
    provided: &[bool; FIELD_COUNT],
    lineage: &Lineage<'_>,
) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let f = |c: usize| batch.column(c).as_primitive::<Float64Type>();
    let (o, h, l, c, v) = (f(col::OPEN), f(col::HIGH), f(col::LOW), f(col::CLOSE), f(col::VOLUME));

    if !provided[col::PRICE_RANGE] {
        columns[col::PRICE_RANGE] =
            Arc::new(Float64Array::from_iter_values((0..rows).map(|i| h.value(i) - l.value(i))));
    }
    let audit_provided = provided[col::QUALITY_SCORE]
        || provided[col::IS_VALIDATED]
        || provided[col::VALIDATION_NOTES];
    if !audit_provided {
        let invalid: Vec<bool> = (0..rows)
            .map(|i| {
                let (o, h, l, c, v) = (o.value(i), h.value(i), l.value(i), c.value(i), v.value(i));
                let ok = o > 0.0
                    && h > 0.0
                    && l > 0.0
                    && c > 0.0
                    && v >= 0.0
                    && l <= h
                    && h >= o.max(c)
                    && l <= o.min(c);
                !ok
            })
            .collect();
        let gap = batch.column(col::GAP_DETECTED).as_boolean();
        let anomaly = batch.column(col::VOLUME_ANOMALY).as_boolean();
        let flag = |a: &BooleanArray, i: usize| a.is_valid(i) && a.value(i);
        let mut scores = Vec::with_capacity(rows);
        let mut notes = Vec::with_capacity(rows);
        for (i, &bad) in invalid.iter().enumerate() {
            let (g, a) = (flag(gap, i), flag(anomaly, i));
            let points = 100 - 50 * i32::from(bad) - 20 * i32::from(g) - 10 * i32::from(a);
            scores.push(f64::from(points.max(0)) / 100.0);
            notes.push(match (bad, g, a) {
                (false, false, false) => "ok",
                (true, false, false) => "ohlc_invalid",
                (false, true, false) => "price_gap",
                (false, false, true) => "volume_anomaly",
                (true, true, false) => "ohlc_invalid;price_gap",
                (true, false, true) => "ohlc_invalid;volume_anomaly",
                (false, true, true) => "price_gap;volume_anomaly",
                (true, true, true) => "ohlc_invalid;price_gap;volume_anomaly",
            });
        }
        columns[col::IS_VALIDATED] =
            Arc::new(scores.iter().map(|&s| Some(s >= 0.85)).collect::<BooleanArray>());
        columns[col::QUALITY_SCORE] = Arc::new(Float64Array::from(scores));
        columns[col::VALIDATION_NOTES] = dict_from(notes);
    }
    for flag_col in [col::GAP_DETECTED, col::VOLUME_ANOMALY] {
        if !provided[flag_col] {
            columns[flag_col] = Arc::new(BooleanArray::from(vec![false; rows]));
        }
    }
    if !provided[col::SOURCE] {
        columns[col::SOURCE] = dict_constant(lineage.source, rows);
    }
    if !provided[col::FETCHED_AT] {
        columns[col::FETCHED_AT] = ts_array(vec![lineage.now; rows]);
    }
    columns[col::CREATED_AT] =
        ts_array(lineage.created_at.iter().map(|c| c.unwrap_or(lineage.now)).collect());
    columns[col::UPDATED_AT] = ts_array(vec![lineage.now; rows]);
    columns[col::COMPUTED_AT] = ts_array(vec![lineage.now; rows]);
    columns[col::REVISION] = Arc::new(Int32Array::from_iter_values(
        lineage.prior_revision.iter().map(|r| r.map_or(1, |r| r.saturating_add(1))),
    ));
    columns[col::BATCH_ID] = dict_constant(lineage.batch_id, rows);
    // data_completeness counts itself (always non-null) among the 97.
    let mut non_null = vec![1u32; rows];
    for (c, array) in columns.iter().enumerate() {
        if c == col::DATA_COMPLETENESS {
            continue;
        }
        if array.null_count() == 0 {
            non_null.iter_mut().for_each(|n| *n += 1);
        } else if array.null_count() < rows {
            for (i, n) in non_null.iter_mut().enumerate() {
                *n += u32::from(array.is_valid(i));
            }
        }
    }
    columns[col::DATA_COMPLETENESS] = Arc::new(Float64Array::from_iter_values(
        non_null.into_iter().map(|n| f64::from(n) / FIELD_COUNT as f64),
    ));
    Ok(RecordBatch::try_new(bar_schema(), columns)?)
}
