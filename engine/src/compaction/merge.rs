//! Merging sorted runs of bar rows into one run sorted by (symbol, datetime), keeping for
//! each key the row of the newest input.

use arrow::array::{Array, AsArray, RecordBatch, UInt8Array, UInt32Array};
use arrow::compute::{
    SortColumn, SortOptions, cast, concat_batches, lexsort_to_indices, take_record_batch,
};
use arrow::datatypes::{DataType, TimestampMicrosecondType};

use crate::error::Result;
use crate::schema::{col, row_schema};

/// Merges `parts` (each of the bar schema; later parts win on equal keys) into one batch
/// sorted by (symbol, datetime) with unique keys.
pub(crate) fn merge_runs(parts: &[RecordBatch]) -> Result<RecordBatch> {
    merge_runs_by(&row_schema(), parts, col::SYMBOL, col::DATETIME)
}

/// [`merge_runs`] over batches of any schema whose symbol and datetime columns are at
/// `sym` and `dt`.
pub(crate) fn merge_runs_by(
    schema: &arrow::datatypes::SchemaRef,
    parts: &[RecordBatch],
    sym: usize,
    dt: usize,
) -> Result<RecordBatch> {
    let all = concat_batches(schema, parts)?;
    if all.num_rows() == 0 {
        return Ok(all);
    }
    let priority: UInt8Array = parts
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            std::iter::repeat_n(u8::try_from(i.min(255)).unwrap_or(u8::MAX), p.num_rows())
        })
        .collect();
    let symbols = cast(all.column(sym), &DataType::Utf8)?;
    let columns = [
        SortColumn { values: symbols.clone(), options: None },
        SortColumn { values: all.column(dt).clone(), options: None },
        SortColumn {
            values: std::sync::Arc::new(priority),
            options: Some(SortOptions { descending: true, nulls_first: false }),
        },
    ];
    let order = lexsort_to_indices(&columns, None)?;
    let names = symbols.as_string::<i32>();
    let ts = all.column(dt).as_primitive::<TimestampMicrosecondType>();
    let mut keep: Vec<u32> = Vec::with_capacity(order.len());
    let mut prev: Option<u32> = None;
    for &i in order.values() {
        let dup = prev.is_some_and(|p| {
            ts.value(p as usize) == ts.value(i as usize)
                && names.value(p as usize) == names.value(i as usize)
        });
        if !dup {
            keep.push(i);
        }
        prev = Some(i);
    }
    Ok(take_record_batch(&all, &UInt32Array::from(keep))?)
}

/// Whether a batch is sorted by (symbol, datetime) with unique keys.
pub(crate) fn is_sorted_unique(batch: &RecordBatch) -> Result<bool> {
    let symbols = cast(batch.column(col::SYMBOL), &DataType::Utf8)?;
    let names = symbols.as_string::<i32>();
    let ts = batch.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>();
    Ok((1..batch.num_rows())
        .all(|i| (names.value(i - 1), ts.value(i - 1)) < (names.value(i), ts.value(i)))
        && names.null_count() == 0)
}
