//! Time travel: a scan `as_of` T hides rows created after T and undoes every correction made
//! after T, using the corrections log (which records each changed field's old value).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BooleanArray, Int32Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, Int32Type, TimestampMicrosecondType};

use super::plan::Snapshot;
use crate::corrections::{Correction, decode_parquet};
use crate::error::{Error, Result, SegmentError};
use crate::schema::{col, column_index, row_schema};
use crate::storage::display_path;
use crate::store::Store;

/// Corrections of one table, by row key, oldest first.
pub(crate) struct AsOf {
    at: i64,
    by_key: HashMap<(String, i64), Vec<Correction>>,
}

/// Every correction of a table visible in the snapshot (committed files, then the ones
/// still in memory), oldest first.
pub(crate) fn table_corrections(
    store: &Store,
    table: &str,
    snapshot: &Snapshot,
) -> Result<Vec<Correction>> {
    let storage = store.inner.storage.as_ref();
    let mut all = Vec::new();
    if let Some(tv) = &snapshot.table {
        for file in &tv.manifest.corrections {
            let path = PathBuf::from(&file.path);
            let bytes = storage
                .read(&path)
                .map_err(|e| Error::io("read", display_path(storage, &path), e))?;
            if crc32c::crc32c(&bytes) != file.crc32c {
                return Err(SegmentError::ChecksumMismatch {
                    path: display_path(storage, &path),
                    expected: file.crc32c,
                    got: crc32c::crc32c(&bytes),
                }
                .into());
            }
            all.extend(decode_parquet(bytes).map_err(|source| SegmentError::Parquet {
                path: display_path(storage, &path),
                source,
            })?);
        }
    }
    let state = store.inner.state.read();
    if let Some(t) = state.tables.get(table) {
        all.extend(t.frozen_corrections.iter().cloned());
        all.extend(t.pending_corrections.iter().cloned());
    }
    all.sort_by_key(|c| c.corrected_at);
    Ok(all)
}

impl AsOf {
    pub(crate) fn load(store: &Store, table: &str, at: i64, snapshot: &Snapshot) -> Result<AsOf> {
        let mut by_key: HashMap<(String, i64), Vec<Correction>> = HashMap::new();
        for c in table_corrections(store, table, snapshot)? {
            by_key.entry((c.symbol.clone(), c.datetime)).or_default().push(c);
        }
        Ok(AsOf { at, by_key })
    }

    /// Rewrites a batch of work columns to its state at `self.at`.
    pub(crate) fn apply(&self, batch: RecordBatch, work: &[usize]) -> Result<RecordBatch> {
        let pos = |c: usize| work.binary_search(&c).ok();
        let (Some(p_created), Some(p_updated), Some(p_rev), Some(p_sym), Some(p_dt)) = (
            pos(col::CREATED_AT),
            pos(col::UPDATED_AT),
            pos(col::REVISION),
            pos(col::SYMBOL),
            pos(col::DATETIME),
        ) else {
            return Err(Error::Corrupt { reason: "as_of scan without lineage columns".into() });
        };
        let created = batch.column(p_created).as_primitive::<TimestampMicrosecondType>();
        let visible: BooleanArray =
            created.iter().map(|c| Some(c.is_some_and(|c| c <= self.at))).collect();
        let batch = filter_record_batch(&batch, &visible)?;
        let n = batch.num_rows();
        let created = batch.column(p_created).as_primitive::<TimestampMicrosecondType>();
        let updated = batch.column(p_updated).as_primitive::<TimestampMicrosecondType>();
        let symbols = batch.column(p_sym).as_dictionary::<Int32Type>();
        let symbol_values = symbols.values().as_string::<i32>();
        let times = batch.column(p_dt).as_primitive::<TimestampMicrosecondType>();

        // column position -> (row, old text)
        let mut overrides: HashMap<usize, Vec<(usize, Option<String>)>> = HashMap::new();
        let mut revisions: Vec<Option<i32>> =
            batch.column(p_rev).as_primitive::<Int32Type>().iter().collect();
        let mut updated_at: Vec<Option<i64>> = updated.iter().collect();
        for row in 0..n {
            if updated.value(row) <= self.at {
                continue;
            }
            let key = (
                symbol_values.value(symbols.keys().value(row) as usize).to_owned(),
                times.value(row),
            );
            let Some(history) = self.by_key.get(&key) else { continue };
            let mut seen_fields: Vec<&str> = Vec::new();
            let mut first_after: Option<&Correction> = None;
            let mut last_before: Option<i64> = None;
            for c in history {
                if c.corrected_at <= self.at {
                    last_before = Some(c.corrected_at);
                    continue;
                }
                first_after.get_or_insert(c);
                if seen_fields.contains(&c.field.as_str()) {
                    continue;
                }
                seen_fields.push(&c.field);
                if let Some(p) = column_index(&c.field).and_then(pos) {
                    overrides.entry(p).or_default().push((row, c.old_value.clone()));
                }
            }
            if let Some(c) = first_after {
                revisions[row] = Some(c.old_revision);
                updated_at[row] = Some(last_before.unwrap_or(created.value(row)));
            }
        }
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns[p_rev] = Arc::new(Int32Array::from(revisions));
        columns[p_updated] =
            Arc::new(TimestampMicrosecondArray::from(updated_at).with_timezone("UTC"));
        for (p, rows) in overrides {
            let mut texts: Vec<Option<String>> = vec![None; n];
            let mut mask = vec![false; n];
            for (row, text) in rows {
                texts[row] = text;
                mask[row] = true;
            }
            let target = row_schema().field(work[p]).data_type().clone();
            let strings: ArrayRef = Arc::new(StringArray::from(texts));
            let mask = BooleanArray::from(mask);
            let column = if matches!(target, DataType::Dictionary(..)) {
                let original = cast(&columns[p], &DataType::Utf8)?;
                cast(&zip(&mask, &strings, &original)?, &target)?
            } else {
                zip(&mask, &cast(&strings, &target)?, &columns[p])?
            };
            columns[p] = column;
        }
        Ok(RecordBatch::try_new(batch.schema(), columns)?)
    }
}
