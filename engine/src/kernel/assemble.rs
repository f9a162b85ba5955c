//! From the kernel's f64 columns to the Arrow columns of F1: nulls from NaN, booleans,
//! direction, regime labels, `validation_notes` and `data_completeness`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, Float64Array, Int8Array, Int32Array,
    RecordBatch, StringArray,
};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::{Float64Type, Int8Type, Int32Type};

use super::frame::{Out, f};
use crate::error::Result;
use crate::schema::{FIELD_COUNT, FieldKind, col, field_defs, row_schema};

const VOLATILITY_LABELS: [&str; 3] = ["low", "normal", "high"];
const TREND_LABELS: [&str; 3] = ["down", "sideways", "up"];
const CHECK_CODES: [&str; 3] = ["ohlc_invalid", "price_gap", "volume_anomaly"];

/// Per row, the families that failed there (`compute_failed:<family>` notes); an empty slice
/// when nothing failed (the usual case).
pub(crate) type RowFailures = [Vec<String>];

/// The F3.16 bar-local check, used only when the audit family itself failed.
fn ohlc_invalid(o: f64, h: f64, l: f64, c: f64, v: f64) -> bool {
    !(o > 0.0
        && h > 0.0
        && l > 0.0
        && c > 0.0
        && v >= 0.0
        && l <= h
        && h >= o.max(c)
        && l <= o.min(c))
}

fn float_column(values: &[f64]) -> ArrayRef {
    let valid = BooleanBuffer::collect_bool(values.len(), |i| values[i].is_finite());
    let nulls = (valid.count_set_bits() < values.len()).then(|| NullBuffer::new(valid));
    let data: Vec<f64> = values.iter().map(|&v| if v.is_finite() { v } else { 0.0 }).collect();
    Arc::new(Float64Array::new(data.into(), nulls))
}

/// Replaces the kernel-owned columns of `rows` (row schema; the extras pass through) with the values of
/// `out` (row-aligned with `rows`) and recomputes `data_completeness`.
pub(crate) fn fill_derived(
    rows: &RecordBatch,
    out: &Out,
    failures: &RowFailures,
) -> Result<RecordBatch> {
    let n = rows.num_rows();
    debug_assert_eq!(out.len(), n);
    let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
    let defs = field_defs();
    for &c in super::computed_columns() {
        if c == col::DATA_COMPLETENESS || c == col::VALIDATION_NOTES {
            continue;
        }
        let raw = out.col(c);
        columns[c] = match defs[c].kind {
            FieldKind::Float64 => float_column(raw),
            FieldKind::Boolean => {
                let values = BooleanBuffer::collect_bool(n, |i| raw[i] != 0.0);
                let valid = BooleanBuffer::collect_bool(n, |i| raw[i].is_finite());
                let nulls = (valid.count_set_bits() < n).then(|| NullBuffer::new(valid));
                Arc::new(BooleanArray::new(values, nulls))
            }
            FieldKind::Int8 => Arc::new(
                raw.iter().map(|&v| v.is_finite().then_some(v as i8)).collect::<Int8Array>(),
            ),
            FieldKind::Dict8 => {
                let labels = if c == f::REGIME_TREND { TREND_LABELS } else { VOLATILITY_LABELS };
                let keys: arrow::array::PrimitiveArray<Int8Type> = raw
                    .iter()
                    .map(|&v| (v.is_finite() && (0.0..=2.0).contains(&v)).then_some(v as i8))
                    .collect();
                Arc::new(DictionaryArray::<Int8Type>::new(
                    keys,
                    Arc::new(StringArray::from(labels.to_vec())),
                ))
            }
            // Not produced by the kernel (lineage, text and timestamps stay as written).
            FieldKind::Dict32 | FieldKind::Timestamp | FieldKind::Int32 => columns[c].clone(),
        };
    }
    audit_columns(rows, out, failures, &mut columns);
    columns[col::DATA_COMPLETENESS] = completeness(&columns, n);
    Ok(RecordBatch::try_new(row_schema(), columns)?)
}

/// The never-null audit columns. If the audit family failed (NaN), falls back to the
/// bar-local check so the row still carries a defined quality.
fn audit_columns(rows: &RecordBatch, out: &Out, failures: &RowFailures, columns: &mut [ArrayRef]) {
    let n = rows.num_rows();
    let mask = out.col(f::VALIDATION_NOTES);
    let (gap, anomaly, quality) =
        (out.col(f::GAP_DETECTED), out.col(f::VOLUME_ANOMALY), out.col(f::QUALITY_SCORE));
    let audit_failed = mask.iter().any(|m| !m.is_finite());
    let mut flags: Vec<(u32, bool, bool, f64)> = Vec::new();
    if audit_failed {
        let price = |c: usize| rows.column(c).as_primitive::<Float64Type>();
        let (o, h, l, c, v) = (
            price(col::OPEN),
            price(col::HIGH),
            price(col::LOW),
            price(col::CLOSE),
            price(col::VOLUME),
        );
        flags = (0..n)
            .map(|i| {
                if mask[i].is_finite() {
                    (mask[i] as u32, gap[i] == 1.0, anomaly[i] == 1.0, quality[i])
                } else {
                    let bad =
                        ohlc_invalid(o.value(i), h.value(i), l.value(i), c.value(i), v.value(i));
                    (u32::from(bad), false, false, if bad { 0.5 } else { 1.0 })
                }
            })
            .collect();
    }
    let row = |i: usize| -> (u32, bool, bool, f64) {
        if audit_failed {
            flags[i]
        } else {
            (mask[i] as u32, gap[i] == 1.0, anomaly[i] == 1.0, quality[i])
        }
    };
    // Dictionary: the 8 check combinations first (key = mask), then any note with failures.
    let mut values: Vec<String> = (0..8u32).map(|m| note_text(m, &[])).collect();
    let mut extra: HashMap<String, i32> = HashMap::new();
    let mut keys = Vec::with_capacity(n);
    let (mut g, mut a, mut q) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let (m, gi, ai, qi) = row(i);
        g.push(gi);
        a.push(ai);
        q.push(qi);
        let failed = failures.get(i).map_or(&[][..], Vec::as_slice);
        if failed.is_empty() {
            keys.push((m & 7) as i32);
        } else {
            let text = note_text(m, failed);
            let key = *extra.entry(text.clone()).or_insert_with(|| {
                values.push(text);
                (values.len() - 1) as i32
            });
            keys.push(key);
        }
    }
    columns[col::IS_VALIDATED] =
        Arc::new(q.iter().map(|&q| Some(q >= 0.85)).collect::<BooleanArray>());
    columns[col::GAP_DETECTED] = Arc::new(BooleanArray::from(g));
    columns[col::VOLUME_ANOMALY] = Arc::new(BooleanArray::from(a));
    columns[col::QUALITY_SCORE] = Arc::new(Float64Array::from(q));
    columns[col::VALIDATION_NOTES] = Arc::new(DictionaryArray::<Int32Type>::new(
        Int32Array::from(keys),
        Arc::new(StringArray::from(values)),
    ));
}

/// `validation_notes` text: the failed checks in F3.16 order, then failed families.
fn note_text(mask: u32, failed: &[String]) -> String {
    let mut parts: Vec<String> = CHECK_CODES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, code)| (*code).to_owned())
        .collect();
    parts.extend(failed.iter().map(|family| format!("compute_failed:{family}")));
    if parts.is_empty() { "ok".to_owned() } else { parts.join(";") }
}

/// `data_completeness` (F3.16): non-null fields among the 97, this one included, / 97.
pub(crate) fn completeness(columns: &[ArrayRef], rows: usize) -> ArrayRef {
    let mut non_null = vec![1u32; rows];
    // The F1 fields only: the extras are not part of a bar's completeness.
    for (c, array) in columns.iter().enumerate().take(FIELD_COUNT) {
        if c == col::DATA_COMPLETENESS {
            continue;
        }
        match array.logical_nulls() {
            None => non_null.iter_mut().for_each(|n| *n += 1),
            Some(nulls) => {
                for (n, valid) in non_null.iter_mut().zip(nulls.iter()) {
                    *n += u32::from(valid);
                }
            }
        }
    }
    Arc::new(Float64Array::from_iter_values(
        non_null.into_iter().map(|n| f64::from(n) / FIELD_COUNT as f64),
    ))
}
