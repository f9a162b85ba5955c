//! The upsert rule: a key that does not exist is inserted at revision 1; a key whose stored
//! values equal the provided ones is left alone; otherwise the row is rewritten at revision
//! + 1 and every changed field is recorded in the corrections log.
//!
//! The extra columns (`funding_rate`, `open_interest`) are observations a later fetch may not
//! have (Binance serves open interest for 30 days only): a null provided there means "not
//! observed" and keeps the stored value; a provided value revises it like any column.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, UInt32Array};
use arrow::compute::kernels::cmp::distinct;
use arrow::compute::kernels::zip::zip;
use arrow::compute::{
    and, concat_batches, filter_record_batch, is_not_null, or, take_record_batch,
};
use arrow::datatypes::{Int32Type, TimestampMicrosecondType};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::audit::{self, Lineage};
use super::normalize::Normalized;
use crate::corrections::Correction;
use crate::error::Result;
use crate::memtable::gather_rows;
use crate::schema::{COLUMN_COUNT, col, column_def, is_extra, is_lineage, row_schema};

/// Where the current version of a key was found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    /// Index into [`ExistingRows::sources`].
    pub(crate) source: usize,
    pub(crate) row: usize,
    /// The current version is (or supersedes) a row stored in a segment.
    pub(crate) in_segment: bool,
}

/// Finds the current version of keys (memtables first, then segments).
pub(crate) trait ExistingRows {
    fn find(&mut self, symbol: &str, ts: i64) -> Result<Option<Found>>;
    /// The 97-column batches `find` results point into.
    fn sources(&self) -> &[RecordBatch];
}

/// What an append changed.
#[derive(Debug)]
pub(crate) struct Applied {
    /// Rows to put in the memtable (strict bar schema).
    pub(crate) batch: RecordBatch,
    /// (symbol, datetime, supersedes a segment row) per row of `batch`.
    pub(crate) keys: Vec<(Arc<str>, i64, bool)>,
    pub(crate) inserted: usize,
    pub(crate) revised: usize,
    pub(crate) unchanged: usize,
    /// Stored rows rewritten because a history change altered their derived fields.
    pub(crate) recomputed: usize,
    pub(crate) corrections: Vec<Correction>,
}

/// Context of one append.
#[derive(Debug)]
pub(crate) struct WriteContext<'a> {
    pub(crate) table: &'a str,
    pub(crate) now: i64,
    pub(crate) batch_id: &'a str,
    pub(crate) source: &'a str,
}

fn text(array: &dyn Array, row: usize) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    let options = FormatOptions::default();
    ArrayFormatter::try_new(array, &options).ok().map(|f| f.value(row).to_string())
}

fn keys_of(batch: &RecordBatch, in_segment: &[bool]) -> Vec<(Arc<str>, i64, bool)> {
    let symbols = batch.column(col::SYMBOL).as_dictionary::<Int32Type>();
    let values = symbols.values().as_string::<i32>();
    let interned: Vec<Arc<str>> = (0..values.len()).map(|k| Arc::from(values.value(k))).collect();
    let ts = batch.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>();
    (0..batch.num_rows())
        .map(|i| (interned[symbols.keys().value(i) as usize].clone(), ts.value(i), in_segment[i]))
        .collect()
}

/// Applies a validated, conformed batch against the existing rows.
pub(crate) fn apply(
    input: &Normalized,
    existing: &mut dyn ExistingRows,
    ctx: &WriteContext<'_>,
) -> Result<Applied> {
    let n = &input.batch;
    let symbols = n.column(col::SYMBOL).as_dictionary::<Int32Type>();
    let symbol_values = symbols.values().as_string::<i32>();
    let ts = n.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>();

    let mut matched_rows: Vec<u32> = Vec::new();
    let mut matched: Vec<Found> = Vec::new();
    let mut fresh_rows: Vec<u32> = Vec::new();
    for row in 0..n.num_rows() {
        let symbol = symbol_values.value(symbols.keys().value(row) as usize);
        match existing.find(symbol, ts.value(row))? {
            Some(found) => {
                matched_rows.push(row as u32);
                matched.push(found);
            }
            None => fresh_rows.push(row as u32),
        }
    }

    let mut parts: Vec<RecordBatch> = Vec::new();
    let mut in_segment: Vec<bool> = Vec::new();
    let inserted = fresh_rows.len();
    if !fresh_rows.is_empty() {
        let fresh = if fresh_rows.len() == n.num_rows() {
            n.clone()
        } else {
            take_record_batch(n, &UInt32Array::from(fresh_rows))?
        };
        let lineage = Lineage {
            now: ctx.now,
            batch_id: ctx.batch_id,
            source: ctx.source,
            created_at: vec![None; fresh.num_rows()],
            prior_revision: vec![None; fresh.num_rows()],
        };
        in_segment.extend(std::iter::repeat_n(false, fresh.num_rows()));
        parts.push(audit::fill(fresh, &input.provided, &lineage)?);
    }

    let mut revised = 0;
    let mut unchanged = 0;
    let mut corrections = Vec::new();
    if !matched.is_empty() {
        let old = gather_rows(existing.sources(), matched.iter().map(|f| (f.source, f.row)))?;
        let new = take_record_batch(n, &UInt32Array::from(matched_rows))?;
        // Master-filled columns do not touch stored rows: those keep the metadata they were
        // written with.
        let provided: [bool; COLUMN_COUNT] =
            std::array::from_fn(|c| input.provided[c] && !input.from_master[c]);
        let compared: Vec<usize> =
            (0..COLUMN_COUNT).filter(|&c| provided[c] && !is_lineage(c)).collect();
        let mut diffs: Vec<(usize, BooleanArray)> = Vec::with_capacity(compared.len());
        for &c in &compared {
            let mut d = distinct(new.column(c), old.column(c))?;
            if is_extra(c) {
                d = and(&d, &is_not_null(new.column(c))?)?;
            }
            diffs.push((c, d));
        }
        let mut changed = BooleanArray::from(vec![false; new.num_rows()]);
        for (_, d) in &diffs {
            changed = or(&changed, d)?;
        }
        revised = changed.true_count();
        unchanged = new.num_rows() - revised;
        if revised > 0 {
            let old_rev = old.column(col::REVISION).as_primitive::<Int32Type>();
            let new_syms = new.column(col::SYMBOL).as_dictionary::<Int32Type>();
            let new_sym_values = new_syms.values().as_string::<i32>();
            let new_ts = new.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>();
            for row in (0..new.num_rows()).filter(|&r| changed.value(r)) {
                let old_revision = old_rev.value(row);
                for (c, d) in &diffs {
                    if d.value(row) {
                        corrections.push(Correction {
                            table: ctx.table.to_owned(),
                            symbol: new_sym_values
                                .value(new_syms.keys().value(row) as usize)
                                .to_owned(),
                            datetime: new_ts.value(row),
                            field: column_def(*c).name.to_owned(),
                            old_value: text(old.column(*c).as_ref(), row),
                            new_value: text(new.column(*c).as_ref(), row),
                            old_revision,
                            new_revision: old_revision.saturating_add(1),
                            corrected_at: ctx.now,
                            batch_id: ctx.batch_id.to_owned(),
                        });
                    }
                }
            }
            // The rewritten row: provided columns from the input, the rest carried over.
            let merged: Vec<ArrayRef> = (0..COLUMN_COUNT)
                .map(|c| -> Result<ArrayRef> {
                    Ok(match (provided[c], is_extra(c)) {
                        (false, _) => old.column(c).clone(),
                        (true, false) => new.column(c).clone(),
                        (true, true) => {
                            let known = is_not_null(new.column(c))?;
                            zip(&known, new.column(c), old.column(c))?
                        }
                    })
                })
                .collect::<Result<_>>()?;
            let merged = RecordBatch::try_new(n.schema(), merged)?;
            let merged = filter_record_batch(&merged, &changed)?;
            let kept_old = filter_record_batch(&old, &changed)?;
            let kept_found: Vec<bool> = matched
                .iter()
                .zip(changed.iter())
                .filter(|(_, c)| c.unwrap_or(false))
                .map(|(f, _)| f.in_segment)
                .collect();
            let lineage = Lineage {
                now: ctx.now,
                batch_id: ctx.batch_id,
                source: ctx.source,
                created_at: kept_old
                    .column(col::CREATED_AT)
                    .as_primitive::<TimestampMicrosecondType>()
                    .iter()
                    .collect(),
                prior_revision: kept_old
                    .column(col::REVISION)
                    .as_primitive::<Int32Type>()
                    .iter()
                    .collect(),
            };
            in_segment.extend(kept_found);
            parts.push(audit::fill(merged, &provided, &lineage)?);
        }
    }

    let batch = match parts.len() {
        0 => RecordBatch::new_empty(row_schema()),
        1 => parts.pop().unwrap_or_else(|| RecordBatch::new_empty(row_schema())),
        _ => concat_batches(&row_schema(), &parts)?,
    };
    let keys = keys_of(&batch, &in_segment);
    Ok(Applied { batch, keys, inserted, revised, unchanged, recomputed: 0, corrections })
}
