//! Columns the store fills itself: the lineage stamps (F3.16), and `source` and `fetched_at`
//! when the caller did not provide them. Every derived field, audit fields included, is the
//! indicator kernel's (`kernel::fill_derived`).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::Int32Type;

use crate::error::Result;
use crate::schema::{COLUMN_COUNT, col, row_schema};

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

/// Fills the store-owned lineage columns of `batch` (row schema, rows to be written) and
/// returns a batch with the strict row schema. The never-null columns the indicator kernel owns
/// (`price_range` and the audit fields) get placeholders here: the kernel's
/// `fill_derived` replaces every one of them before the rows are stored or returned.
pub(crate) fn fill(
    batch: RecordBatch,
    provided: &[bool; COLUMN_COUNT],
    lineage: &Lineage<'_>,
) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for c in [col::PRICE_RANGE, col::QUALITY_SCORE, col::DATA_COMPLETENESS] {
        columns[c] = Arc::new(Float64Array::from(vec![0.0; rows]));
    }
    for c in [col::IS_VALIDATED, col::GAP_DETECTED, col::VOLUME_ANOMALY] {
        columns[c] = Arc::new(BooleanArray::from(vec![false; rows]));
    }
    columns[col::VALIDATION_NOTES] = dict_constant("ok", rows);
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
    Ok(RecordBatch::try_new(row_schema(), columns)?)
}
