//! The kernel step of a write: computes the derived fields of the rows an append writes.
//!
//! Bars after the end of their series (the usual append) continue the series' persisted
//! [`SeriesState`], computing only the new rows. Anything else — bars inserted before the
//! end, a corrected bar, a series whose state is unknown — recomputes the whole series from
//! its first bar; every later bar whose derived values changed is rewritten at revision + 1
//! (the corrections log keeps describing only the source change).

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, RecordBatch, UInt32Array};
use arrow::compute::kernels::cmp::distinct;
use arrow::compute::{concat_batches, filter_record_batch, or, take_record_batch};
use arrow::datatypes::{Int32Type, TimestampMicrosecondType};
use rayon::prelude::*;

use super::Store;
use crate::error::Result;
use crate::kernel::{
    Bars, Computed, Out, SeriesConfig, SeriesState, compute_series, computed_columns, fill_derived,
};
use crate::schema::{col, row_schema};
use crate::write::audit::{dict_constant, ts_array};
use crate::write::{Applied, WriteContext};

/// (symbol, datetime, supersedes a segment row) of each row written.
type Keys = Vec<(Arc<str>, i64, bool)>;

/// States to install with the rows of an append.
pub(crate) type NewStates = Vec<(Arc<str>, Box<SeriesState>)>;

impl Store {
    /// Computes the kernel-owned columns of `applied` (caller holds the write lock) and adds
    /// the rewrites of later bars that a history change causes.
    pub(crate) fn derive(
        &self,
        table: &str,
        applied: Applied,
        ctx: &WriteContext<'_>,
    ) -> Result<(Applied, NewStates)> {
        if applied.batch.num_rows() == 0 {
            return Ok((applied, Vec::new()));
        }
        // Rows per symbol, in time order: the row numbers ordered by (symbol, datetime) and
        // cut into one run per symbol. An append is usually in that order already (checked in
        // one pass), so there is no map and no allocation per symbol.
        let keys = &applied.keys;
        let key_order = |i: usize, j: usize| {
            let (a, b) = (&keys[i], &keys[j]);
            if Arc::ptr_eq(&a.0, &b.0) { a.1.cmp(&b.1) } else { a.0.cmp(&b.0).then(a.1.cmp(&b.1)) }
        };
        let mut order: Vec<usize> = (0..keys.len()).collect();
        if !order.is_sorted_by(|&i, &j| key_order(i, j).is_le()) {
            order.sort_by(|&i, &j| key_order(i, j));
        }
        let mut groups: Vec<(Arc<str>, Range<usize>)> = Vec::new();
        let mut start = 0;
        for k in 1..=order.len() {
            let (first, _, _) = &keys[order[start]];
            if k == order.len() || *keys[order[k]].0 != **first {
                groups.push((first.clone(), start..k));
                start = k;
            }
        }
        // The states of continuing series are taken out of the table (not copied: a state is
        // ~20 KB) and put back by `install_applied`. If the append fails before that, those
        // series simply have no state: their next append recomputes them from history.
        let (config, continuing, recomputing) = {
            let mut guard = self.inner.state.write();
            let state = &mut *guard;
            let version = state.version.tables.get(table).cloned();
            let t = state
                .tables
                .get_mut(table)
                .ok_or_else(|| crate::Error::UnknownTable { table: table.to_owned() })?;
            let config = SeriesConfig::for_table(&t.spec, self.inner.options.stock_session_tz);
            let mut continuing: Vec<(Arc<str>, Range<usize>, Box<SeriesState>)> =
                Vec::with_capacity(groups.len());
            let mut recomputing: Vec<(Arc<str>, Vec<usize>)> = Vec::new();
            let kernels = Arc::make_mut(&mut t.kernels);
            for (symbol, range) in groups {
                let first = keys[order[range.start]].1;
                match kernels.remove(&symbol) {
                    Some(s) if s.last_ts().is_none_or(|last| first > last) => {
                        continuing.push((symbol, range, s));
                    }
                    Some(s) => {
                        kernels.insert(symbol.clone(), s);
                        recomputing.push((symbol, order[range].to_vec()));
                    }
                    None => {
                        let stored = t.active.symbol_rows(&symbol).is_some()
                            || t.frozen.as_ref().is_some_and(|f| f.symbol_rows(&symbol).is_some())
                            || version
                                .as_ref()
                                .and_then(|v| v.index.as_ref())
                                .is_some_and(|i| i.symbol_id(&symbol).is_some());
                        if stored {
                            recomputing.push((symbol, order[range].to_vec()));
                        } else {
                            continuing.push((symbol, range, Box::default()));
                        }
                    }
                }
            }
            (config, continuing, recomputing)
        };

        // Continuing series: computed per symbol (in parallel), scattered into one set of
        // output columns row-aligned with the append, and assembled into Arrow once.
        let n = applied.batch.num_rows();
        let all = Bars::of(&applied.batch);
        type Continued = (Range<usize>, Computed, Arc<str>, Box<SeriesState>);
        let n_series = continuing.len() + recomputing.len();
        let continued: Vec<Result<Continued>> = continuing
            .into_par_iter()
            .map(|(symbol, range, mut state)| {
                let rows = &order[range.clone()];
                // A series' rows are usually consecutive rows of the append: use them in
                // place; otherwise gather them.
                let first = rows[0];
                let computed = if rows.iter().enumerate().all(|(k, &i)| i == first + k) {
                    state.advance(&config, &all.range(first, first + rows.len()))?
                } else {
                    let pick =
                        |values: &[f64]| -> Vec<f64> { rows.iter().map(|&i| values[i]).collect() };
                    let ts: Vec<i64> = rows.iter().map(|&i| all.ts[i]).collect();
                    let (o, h, l, c, v) = (
                        pick(all.open),
                        pick(all.high),
                        pick(all.low),
                        pick(all.close),
                        pick(all.volume),
                    );
                    let bars = Bars { ts: &ts, open: &o, high: &h, low: &l, close: &c, volume: &v };
                    state.advance(&config, &bars)?
                };
                Ok((range, computed, symbol, state))
            })
            .collect();
        let mut merged = Out::new(n, computed_columns());
        let mut failures: Vec<Vec<String>> = Vec::new();
        let mut states: NewStates = Vec::with_capacity(n_series);
        let mut continued_rows: Vec<u32> = Vec::with_capacity(n);
        for r in continued {
            let (range, computed, symbol, state) = r?;
            let rows = &order[range];
            merged.scatter(&computed.out, rows);
            let row_failures = computed.row_failures();
            if !row_failures.is_empty() {
                failures.resize(n, Vec::new());
                for (&row, f) in rows.iter().zip(row_failures) {
                    failures[row] = f;
                }
            }
            continued_rows.extend(rows.iter().map(|&i| i as u32));
            states.push((symbol, state));
        }
        if continued_rows.len() == n {
            let filled = fill_derived(&applied.batch, &merged, &failures)?;
            return Ok((Applied { batch: filled, ..applied }, states));
        }
        // Series whose history changed: recomputed whole, one at a time (rare).
        continued_rows.sort_unstable();
        let positions: Vec<usize> = continued_rows.iter().map(|&i| i as usize).collect();
        let sub = take_record_batch(&applied.batch, &UInt32Array::from(continued_rows.clone()))?;
        let sub_failures: Vec<Vec<String>> = if failures.is_empty() {
            Vec::new()
        } else {
            positions.iter().map(|&p| failures[p].clone()).collect()
        };
        let mut parts = vec![fill_derived(&sub, &merged.gather(&positions), &sub_failures)?];
        let mut keys: Keys =
            continued_rows.iter().map(|&i| applied.keys[i as usize].clone()).collect();
        let mut recomputed = 0;
        for (symbol, rows) in &recomputing {
            let idx = UInt32Array::from_iter_values(rows.iter().map(|&i| i as u32));
            let part = take_record_batch(&applied.batch, &idx)?;
            let part_keys: Keys = rows.iter().map(|&i| applied.keys[i].clone()).collect();
            let new_rows = part.num_rows();
            let (batch, k, state) = self.recompute(table, &config, symbol, part, part_keys, ctx)?;
            recomputed += batch.num_rows() - new_rows;
            parts.push(batch);
            keys.extend(k);
            states.push((symbol.clone(), Box::new(state)));
        }
        let batch = concat_batches(&row_schema(), &parts)?;
        Ok((Applied { batch, keys, recomputed, ..applied }, states))
    }

    /// Recomputes one series with `new_rows` (its rows of this append, in time order)
    /// overlaid on the stored rows. Returns the new rows with derived fields, followed by
    /// the stored rows whose derived fields changed (rewritten at revision + 1).
    fn recompute(
        &self,
        table: &str,
        config: &SeriesConfig,
        symbol: &Arc<str>,
        new_rows: RecordBatch,
        mut keys: Keys,
        ctx: &WriteContext<'_>,
    ) -> Result<(RecordBatch, Keys, SeriesState)> {
        let stored = self.scan(table).symbol(symbol.to_string()).to_batch()?;
        let stored = crate::schema::widen(&stored)?;
        let new_cols = Bars::of(&new_rows);
        let old_cols = Bars::of(&stored);
        // Merge by time: stored rows not replaced, and the new rows.
        let mut merged: Vec<(i64, bool, usize)> =
            Vec::with_capacity(stored.num_rows() + keys.len());
        let (mut i, mut j) = (0, 0);
        while i < old_cols.ts.len() || j < new_cols.ts.len() {
            let take_new = j < new_cols.ts.len()
                && (i >= old_cols.ts.len() || new_cols.ts[j] <= old_cols.ts[i]);
            if take_new {
                if i < old_cols.ts.len() && old_cols.ts[i] == new_cols.ts[j] {
                    i += 1;
                }
                merged.push((new_cols.ts[j], true, j));
                j += 1;
            } else {
                merged.push((old_cols.ts[i], false, i));
                i += 1;
            }
        }
        let pick = |new_values: &[f64], old_values: &[f64]| -> Vec<f64> {
            merged
                .iter()
                .map(|&(_, new, k)| if new { new_values[k] } else { old_values[k] })
                .collect()
        };
        let ts: Vec<i64> = merged.iter().map(|m| m.0).collect();
        let (o, h, l, c, v) = (
            pick(new_cols.open, old_cols.open),
            pick(new_cols.high, old_cols.high),
            pick(new_cols.low, old_cols.low),
            pick(new_cols.close, old_cols.close),
            pick(new_cols.volume, old_cols.volume),
        );
        let bars = Bars { ts: &ts, open: &o, high: &h, low: &l, close: &c, volume: &v };
        let (computed, state) = compute_series(config, &bars)?;

        let mut new_pos = vec![0; new_rows.num_rows()];
        let mut old_rows: Vec<u32> = Vec::new();
        let mut old_pos: Vec<usize> = Vec::new();
        for (p, &(_, new, k)) in merged.iter().enumerate() {
            if new {
                new_pos[k] = p;
            } else {
                old_rows.push(k as u32);
                old_pos.push(p);
            }
        }
        let failures = computed.row_failures();
        let pick_failures = |positions: &[usize]| -> Vec<Vec<String>> {
            if failures.is_empty() {
                Vec::new()
            } else {
                positions.iter().map(|&p| failures[p].clone()).collect()
            }
        };
        let mut parts = vec![fill_derived(
            &new_rows,
            &computed.out.gather(&new_pos),
            &pick_failures(&new_pos),
        )?];
        if !old_rows.is_empty() {
            let others = take_record_batch(&stored, &UInt32Array::from(old_rows))?;
            let recomputed =
                fill_derived(&others, &computed.out.gather(&old_pos), &pick_failures(&old_pos))?;
            let mut changed = BooleanArray::from(vec![false; others.num_rows()]);
            for &c in computed_columns() {
                changed = or(&changed, &distinct(recomputed.column(c), others.column(c))?)?;
            }
            if changed.true_count() > 0 {
                let rewritten = filter_record_batch(&recomputed, &changed)?;
                let rewritten = restamp(rewritten, ctx)?;
                let state = self.inner.state.read();
                let t = state.tables.get(table);
                let ts = rewritten.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>();
                for &t_us in ts.values().iter() {
                    // Whether the current version is (or supersedes) a segment row.
                    let in_segment = match t
                        .and_then(|t| t.active.symbol_rows(symbol))
                        .and_then(|m| m.get(&t_us))
                    {
                        Some(r) => r.replaces_segment_row,
                        None => true,
                    };
                    keys.push((symbol.clone(), t_us, in_segment));
                }
                parts.push(rewritten);
            }
        }
        Ok((concat_batches(&row_schema(), &parts)?, keys, state))
    }
}

/// Lineage of a row rewritten because its derived fields changed: revision + 1, written and
/// computed now, by this batch.
fn restamp(batch: RecordBatch, ctx: &WriteContext<'_>) -> Result<RecordBatch> {
    let n = batch.num_rows();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let revision = batch.column(col::REVISION).as_primitive::<Int32Type>();
    columns[col::REVISION] = Arc::new(Int32Array::from_iter_values(
        revision.values().iter().map(|r| r.saturating_add(1)),
    ));
    columns[col::UPDATED_AT] = ts_array(vec![ctx.now; n]);
    columns[col::COMPUTED_AT] = ts_array(vec![ctx.now; n]);
    columns[col::BATCH_ID] = dict_constant(ctx.batch_id, n);
    debug_assert!(columns.iter().all(|c| c.len() == n));
    Ok(RecordBatch::try_new(row_schema(), columns)?)
}

impl Store {
    /// Recomputes every series of `table` from its stored bars and compares each derived
    /// column with what the store holds. Returns one line per series that differs (the
    /// first differing bar and the columns that differ there); empty when every stored value
    /// is what the kernel computes. Reads the whole table.
    pub fn verify_fields(&self, table: &str) -> Result<Vec<String>> {
        let (symbols, config) = {
            let state = self.inner.state.read();
            let t = state
                .tables
                .get(table)
                .ok_or_else(|| crate::Error::UnknownTable { table: table.to_owned() })?;
            let mut symbols: Vec<String> = t.symbols.keys().cloned().collect();
            symbols.extend(t.active.symbols().map(|s| s.to_string()));
            if let Some(f) = &t.frozen {
                symbols.extend(f.symbols().map(|s| s.to_string()));
            }
            symbols.sort_unstable();
            symbols.dedup();
            (symbols, SeriesConfig::for_table(&t.spec, self.inner.options.stock_session_tz))
        };
        let problems: Vec<Result<Option<String>>> = symbols
            .par_iter()
            .map(|symbol| {
                let stored = self.scan(table).symbol(symbol.clone()).to_batch()?;
                if stored.num_rows() == 0 {
                    return Ok(None);
                }
                let stored = crate::schema::widen(&stored)?;
                let bars = Bars::of(&stored);
                let (computed, _) = compute_series(&config, &bars)?;
                let expected = fill_derived(&stored, &computed.out, &computed.row_failures())?;
                let mut first: Option<(usize, Vec<&'static str>)> = None;
                for &col in computed_columns() {
                    let diff = distinct(expected.column(col), stored.column(col))?;
                    if let Some(row) = (0..diff.len()).find(|&i| diff.value(i)) {
                        let name = crate::schema::column_def(col).name;
                        match &mut first {
                            Some((r, names)) if *r == row => names.push(name),
                            Some((r, _)) if *r < row => {}
                            _ => first = Some((row, vec![name])),
                        }
                    }
                }
                Ok(first.map(|(row, names)| {
                    format!(
                        "{table} {symbol}: derived fields differ from a recomputation from bar \
                         {row} ({}) on: {}",
                        crate::index::format_micros(bars.ts[row]),
                        names.join(", ")
                    )
                }))
            })
            .collect();
        let mut out = Vec::new();
        for p in problems {
            if let Some(line) = p? {
                out.push(line);
            }
        }
        Ok(out)
    }
}
