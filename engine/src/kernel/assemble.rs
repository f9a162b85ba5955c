//! From the kernel's f64 columns to the Arrow columns of F1: nulls from NaN, booleans,
//! direction, regime labels, `validation_notes` and `data_completeness`.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, Float64Array, Int8Array, RecordBatch,
    StringArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{Float64Type, Int8Type, Int32Type};

use super::Computed;
use super::frame::f;
use crate::error::Result;
use crate::schema::{FIELD_COUNT, FieldKind, bar_schema, col, field_defs};

const VOLATILITY_LABELS: [&str; 3] = ["low", "normal", "high"];
const TREND_LABELS: [&str; 3] = ["down", "sideways", "up"];
const CHECK_CODES: [&str; 3] = ["ohlc_invalid", "price_gap", "volume_anomaly"];

fn null_buffer(values: impl Iterator<Item = bool>, len: usize) -> Option<NullBuffer> {
    let valid: Vec<bool> = values.collect();
    debug_assert_eq!(valid.len(), len);
    if valid.iter().all(|&v| v) { None } else { Some(NullBuffer::from(valid)) }
}

/// The F3.16 bar-local check, used when the audit family itself failed.
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

/// Replaces the kernel-owned columns of `rows` (97-column bar schema, one series) with the
/// values `computed` holds for them: row `i` of `rows` takes chunk position `positions[i]`
/// (or `i` when `positions` is `None`). Recomputes `data_completeness`.
pub(crate) fn fill_derived(
    rows: &RecordBatch,
    computed: &Computed,
    positions: Option<&[usize]>,
) -> Result<RecordBatch> {
    let n = rows.num_rows();
    let pos = |i: usize| positions.map_or(i, |p| p[i]);
    let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
    let defs = field_defs();
    for &c in super::computed_columns() {
        if c == col::DATA_COMPLETENESS || c == col::VALIDATION_NOTES {
            continue;
        }
        let raw = computed.out.col(c);
        let get = |i: usize| raw[pos(i)];
        columns[c] = match defs[c].kind {
            FieldKind::Float64 => {
                let values: Vec<f64> = (0..n)
                    .map(|i| {
                        let v = get(i);
                        if v.is_finite() { v } else { 0.0 }
                    })
                    .collect();
                let nulls = null_buffer((0..n).map(|i| get(i).is_finite()), n);
                Arc::new(Float64Array::new(values.into(), nulls))
            }
            FieldKind::Boolean => Arc::new((0..n).map(|i| flag(get(i))).collect::<BooleanArray>()),
            FieldKind::Int8 => Arc::new(
                (0..n).map(|i| get(i).is_finite().then(|| get(i) as i8)).collect::<Int8Array>(),
            ),
            FieldKind::Dict8 => {
                let labels = if c == f::REGIME_TREND { TREND_LABELS } else { VOLATILITY_LABELS };
                let keys: arrow::array::PrimitiveArray<Int8Type> = (0..n)
                    .map(|i| {
                        let v = get(i);
                        (v.is_finite() && (0.0..=2.0).contains(&v)).then_some(v as i8)
                    })
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
    audit_columns(rows, computed, &pos, &mut columns);
    columns[col::DATA_COMPLETENESS] = completeness(&columns, n);
    Ok(RecordBatch::try_new(bar_schema(), columns)?)
}

/// Non-null booleans for the audit flags; null only where the kernel left NaN.
fn flag(v: f64) -> Option<bool> {
    v.is_finite().then_some(v != 0.0)
}

/// The never-null audit columns. If the audit family failed (NaN), falls back to the
/// bar-local check so the row still carries a defined quality.
fn audit_columns(
    rows: &RecordBatch,
    computed: &Computed,
    pos: &dyn Fn(usize) -> usize,
    columns: &mut [ArrayRef],
) {
    let n = rows.num_rows();
    let price = |c: usize| rows.column(c).as_primitive::<Float64Type>();
    let (o, h, l, c, v) = (
        price(col::OPEN),
        price(col::HIGH),
        price(col::LOW),
        price(col::CLOSE),
        price(col::VOLUME),
    );
    let raw = |field: usize, i: usize| computed.out.col(field)[pos(i)];
    let mut gap = Vec::with_capacity(n);
    let mut anomaly = Vec::with_capacity(n);
    let mut quality = Vec::with_capacity(n);
    let mut validated = Vec::with_capacity(n);
    let mut notes: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let mask = raw(f::VALIDATION_NOTES, i);
        let (mask, g, a, q) = if mask.is_finite() {
            let g = raw(f::GAP_DETECTED, i) == 1.0;
            let a = raw(f::VOLUME_ANOMALY, i) == 1.0;
            (mask as u32, g, a, raw(f::QUALITY_SCORE, i))
        } else {
            let bad = ohlc_invalid(o.value(i), h.value(i), l.value(i), c.value(i), v.value(i));
            (u32::from(bad), false, false, if bad { 0.5 } else { 1.0 })
        };
        gap.push(g);
        anomaly.push(a);
        quality.push(q);
        validated.push(q >= 0.85);
        let mut text: Vec<&str> = CHECK_CODES
            .iter()
            .enumerate()
            .filter(|(bit, _)| mask & (1 << bit) != 0)
            .map(|(_, code)| *code)
            .collect();
        let failed: Vec<String> =
            computed.failed_at(pos(i)).map(|family| format!("compute_failed:{family}")).collect();
        text.extend(failed.iter().map(String::as_str));
        notes.push(if text.is_empty() { "ok".to_owned() } else { text.join(";") });
    }
    columns[col::GAP_DETECTED] = Arc::new(BooleanArray::from(gap));
    columns[col::VOLUME_ANOMALY] = Arc::new(BooleanArray::from(anomaly));
    columns[col::QUALITY_SCORE] = Arc::new(Float64Array::from(quality));
    columns[col::IS_VALIDATED] = Arc::new(BooleanArray::from(validated));
    columns[col::VALIDATION_NOTES] =
        Arc::new(notes.iter().map(String::as_str).collect::<DictionaryArray<Int32Type>>());
}

/// `data_completeness` (F3.16): non-null fields among the 97, this one included, / 97.
pub(crate) fn completeness(columns: &[ArrayRef], rows: usize) -> ArrayRef {
    let mut non_null = vec![1u32; rows];
    for (c, array) in columns.iter().enumerate() {
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
