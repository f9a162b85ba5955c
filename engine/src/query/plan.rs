//! Turning a scan request into chunks against one snapshot.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::compute::kernels::cmp::{gt_eq, lt};
use arrow::compute::{and, filter_record_batch};
use arrow::datatypes::{Int32Type, Schema, SchemaRef, TimestampMicrosecondType};

use super::blocks::{Part, Windows, concat_symbol};
use super::scan::SymbolSelection;
use crate::compaction::merge_runs_by;
use crate::error::{Error, Result};
use crate::memtable::{Memtable, RowRef, gather_columns};
use crate::schema::{FIELD_COUNT, bar_schema, col, row_schema};
use crate::segment::{Partition, SegmentMeta};
use crate::store::{Store, TableVersion, Version};

/// What a scan pins: the committed version it reads (keeping its files alive).
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) _version: Arc<Version>,
    pub(crate) table: Option<Arc<TableVersion>>,
}

/// One symbol's rows `[row_start, row_start + row_count)` of a segment, trimmed to `[lo, hi)`.
#[derive(Debug)]
pub(crate) struct Slice {
    seg: Arc<SegmentMeta>,
    row_start: u32,
    row_count: u32,
    lo: i64,
    hi: i64,
}

/// A unit of scan output.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// One symbol's rows `[row_start, row_start + row_count)` of a segment, trimmed to
    /// `[lo, hi)`.
    Slice(Slice),
    /// A whole segment filtered to `[lo, hi)` and, optionally, a symbol set.
    Filter { seg: Arc<SegmentMeta>, lo: i64, hi: i64, symbols: Option<Arc<HashSet<String>>> },
    /// Rows already gathered (unflushed rows).
    Ready(RecordBatch),
    /// Parts to merge by key, later ones winning (memtable rows last).
    Merge(Vec<Chunk>),
    /// One symbol's parts, disjoint and in time order, returned as one batch (bulk scans).
    Concat(Vec<Chunk>),
}

pub(crate) struct Plan {
    pub(crate) snapshot: Snapshot,
    pub(crate) chunks: Vec<Chunk>,
}

/// The schema of the `work` columns (ascending, distinct schema positions).
fn work_schema(work: &[usize]) -> SchemaRef {
    let full = row_schema();
    // Every column of a table: a shared schema, not a copy of its fields per chunk (`work` is
    // ascending and distinct, so its length says whether it is a prefix).
    if work.len() == full.fields().len() {
        return full;
    }
    if work.len() == FIELD_COUNT {
        return bar_schema();
    }
    Arc::new(Schema::new(work.iter().map(|&c| full.field(c).clone()).collect::<Vec<_>>()))
}

fn ts_scalar(t: i64) -> arrow::array::Scalar<TimestampMicrosecondArray> {
    arrow::array::Scalar::new(TimestampMicrosecondArray::from(vec![t]).with_timezone("UTC"))
}

fn pos(work: &[usize], c: usize) -> usize {
    work.binary_search(&c).unwrap_or(0)
}

/// Unflushed rows of one symbol in `[lo, hi)`, newest version of each key (active memtable
/// over the frozen one).
fn memtable_rows(
    active: &Memtable,
    frozen: Option<&Memtable>,
    symbol: &str,
    lo: i64,
    hi: i64,
    out: &mut BTreeMap<i64, (bool, RowRef)>,
) {
    out.clear();
    if let Some(f) = frozen {
        for (t, r) in f.refs(symbol, lo, hi) {
            out.insert(t, (true, r));
        }
    }
    for (t, r) in active.refs(symbol, lo, hi) {
        out.insert(t, (false, r));
    }
}

fn gather(
    active: &Memtable,
    frozen: Option<&Memtable>,
    rows: impl Iterator<Item = (bool, RowRef)>,
    work: &[usize],
) -> Result<RecordBatch> {
    let offset = active.batches().len();
    let positions: Vec<(usize, usize)> = rows
        .map(|(is_frozen, r)| {
            (r.batch as usize + if is_frozen { offset } else { 0 }, r.row as usize)
        })
        .collect();
    let mut batches: Vec<RecordBatch> = active.batches().to_vec();
    if let Some(f) = frozen {
        batches.extend(f.batches().iter().cloned());
    }
    let columns = gather_columns(&batches, &positions, work.iter().copied())?;
    Ok(RecordBatch::try_new(work_schema(work), columns)?)
}

/// Symbols of a table whose metadata satisfies `keep`, in name order.
/// The table's symbols whose sector (or exchange) is `want`: the value their rows carry, or,
/// for symbols whose rows carry none (written before the symbol master knew them), the
/// master's.
fn symbols_where(
    table: &crate::store::TableState,
    master: &crate::symbols::SymbolMaster,
    stored: impl Fn(&crate::store::SymbolMeta) -> Option<&str>,
    mastered: impl Fn(&crate::symbols::SymbolRecord) -> Option<&str>,
    want: &str,
) -> Vec<String> {
    table
        .symbols
        .iter()
        .filter(|(name, meta)| match stored(meta) {
            Some(v) => v == want,
            None => master.get(name).and_then(&mastered) == Some(want),
        })
        .map(|(k, _)| k.clone())
        .collect()
}

fn close_group(group: &mut Vec<Chunk>) -> Chunk {
    if group.len() == 1 {
        group.pop().unwrap_or(Chunk::Merge(Vec::new()))
    } else {
        Chunk::Merge(std::mem::take(group))
    }
}

impl Plan {
    pub(crate) fn build(
        store: &Store,
        table: &str,
        selection: &SymbolSelection,
        lo: i64,
        hi: i64,
        work: &[usize],
        bulk: bool,
    ) -> Result<Plan> {
        let state = store.inner.state.read();
        let Some(table_state) = state.tables.get(table) else {
            // Conventional tables exist implicitly (created on first write): empty, not unknown.
            if crate::table::TableSpec::from_conventional_name(table).is_some() {
                return Ok(Plan {
                    snapshot: Snapshot { _version: state.version.clone(), table: None },
                    chunks: Vec::new(),
                });
            }
            return Err(Error::UnknownTable { table: table.to_owned() });
        };
        let tv = state.version.tables.get(table).cloned();
        let snapshot = Snapshot { _version: state.version.clone(), table: tv.clone() };
        let active = &table_state.active;
        let frozen = table_state.frozen.as_deref();
        let partitioning = table_state.spec.timeframe.partitioning();

        let symbol_list: Option<Vec<String>> = match selection {
            SymbolSelection::All => None,
            SymbolSelection::List(list) => {
                let mut v = list.clone();
                v.sort();
                v.dedup();
                Some(v)
            }
            SymbolSelection::Sector(s) => Some(symbols_where(
                table_state,
                &store.inner.symbols.read(),
                |m| m.sector.as_deref(),
                |r| r.sector.as_deref(),
                s,
            )),
            SymbolSelection::Exchange(e) => Some(symbols_where(
                table_state,
                &store.inner.symbols.read(),
                |m| m.exchange.as_deref(),
                |r| r.exchange.as_deref(),
                e,
            )),
        };
        // Few symbols: read each symbol's row ranges; many: read whole segments once. A bulk
        // read of a list goes symbol by symbol however long the list (its row ranges come
        // from per-segment windows, `Windows`, not whole cached segments).
        let symbol_major = symbol_list.as_ref().is_some_and(|l| bulk || l.len() <= 32);
        let mut chunks = Vec::new();
        let mut scratch = BTreeMap::new();
        if symbol_major {
            for symbol in symbol_list.iter().flatten() {
                let mut parts: Vec<Chunk> = Vec::new();
                if let Some(tv) = &tv
                    && let Some(index) = &tv.index
                    && let Some(id) = index.symbol_id(symbol)
                {
                    let mut ranges: Vec<_> = index
                        .ranges_for_symbol(id)
                        .filter(|r| r.min_ts < hi && r.max_ts >= lo)
                        .collect();
                    ranges.sort_by_key(|r| (r.min_ts, r.segment.0));
                    // Ranges whose time spans overlap (a backfill flushed after later data)
                    // are merged; disjoint ones are concatenated as they are.
                    let mut group: Vec<Chunk> = Vec::new();
                    let mut group_max = i64::MIN;
                    for r in ranges {
                        let Some(seg) = tv.segments.get(&r.segment.0) else {
                            return Err(Error::Corrupt {
                                reason: format!(
                                    "index of {table} names segment {} that is not live",
                                    r.segment
                                ),
                            });
                        };
                        if !group.is_empty() && r.min_ts > group_max {
                            parts.push(close_group(&mut group));
                        }
                        group_max =
                            if group.is_empty() { r.max_ts } else { group_max.max(r.max_ts) };
                        group.push(Chunk::Slice(Slice {
                            seg: seg.clone(),
                            row_start: r.row_start,
                            row_count: r.row_count,
                            lo,
                            hi,
                        }));
                    }
                    if !group.is_empty() {
                        parts.push(close_group(&mut group));
                    }
                }
                memtable_rows(active, frozen, symbol, lo, hi, &mut scratch);
                if scratch.is_empty() {
                    if bulk && parts.len() > 1 {
                        chunks.push(Chunk::Concat(parts));
                    } else {
                        chunks.extend(parts);
                    }
                } else {
                    let mem =
                        Chunk::Ready(gather(active, frozen, scratch.values().copied(), work)?);
                    if parts.is_empty() {
                        chunks.push(mem);
                    } else {
                        parts.push(mem);
                        chunks.push(Chunk::Merge(parts));
                    }
                }
            }
        } else {
            let set: Option<Arc<HashSet<String>>> =
                symbol_list.map(|l| Arc::new(l.into_iter().collect()));
            // Unflushed rows grouped by partition.
            let mut mem_by_partition: BTreeMap<i64, (String, Vec<(bool, RowRef)>)> =
                BTreeMap::new();
            let memtable_symbols: Vec<Arc<str>> = {
                let mut s: Vec<Arc<str>> = active.symbols().cloned().collect();
                if let Some(f) = frozen {
                    s.extend(f.symbols().cloned());
                }
                s.sort();
                s.dedup();
                s
            };
            for symbol in memtable_symbols {
                if set.as_ref().is_some_and(|set| !set.contains(symbol.as_ref())) {
                    continue;
                }
                memtable_rows(active, frozen, &symbol, lo, hi, &mut scratch);
                for (&t, &r) in &scratch {
                    let p = Partition::of(partitioning, t);
                    mem_by_partition
                        .entry(p.start)
                        .or_insert_with(|| (p.label.clone(), Vec::new()))
                        .1
                        .push(r);
                }
            }
            let mut seg_by_partition: BTreeMap<i64, Vec<Arc<SegmentMeta>>> = BTreeMap::new();
            if let Some(tv) = &tv {
                for seg in tv.segments.values().filter(|s| s.min_ts < hi && s.max_ts >= lo) {
                    let start = Partition::of(partitioning, seg.min_ts).start;
                    seg_by_partition.entry(start).or_default().push(seg.clone());
                }
            }
            let mut starts: Vec<i64> =
                seg_by_partition.keys().chain(mem_by_partition.keys()).copied().collect();
            starts.sort_unstable();
            starts.dedup();
            for start in starts {
                let segs = seg_by_partition.remove(&start).unwrap_or_default();
                let mem = match mem_by_partition.remove(&start) {
                    Some((_, rows)) => Some(gather(active, frozen, rows.into_iter(), work)?),
                    None => None,
                };
                let mut parts: Vec<Chunk> = segs
                    .into_iter()
                    .map(|seg| Chunk::Filter { seg, lo, hi, symbols: set.clone() })
                    .collect();
                match (parts.len(), mem) {
                    (1, None) => chunks.extend(parts),
                    (0, Some(m)) => chunks.push(Chunk::Ready(m)),
                    (0, None) => {}
                    (_, m) => {
                        parts.extend(m.map(Chunk::Ready));
                        chunks.push(Chunk::Merge(parts));
                    }
                }
            }
        }
        Ok(Plan { snapshot, chunks })
    }
}

impl Slice {
    /// The slice's rows: columns holding them (the segment's, or a bulk scan's window of
    /// it) and which rows of those columns are the slice's, trimmed to its time range.
    fn span(&self, store: &Store, work: &[usize], windows: Option<&mut Windows>) -> Result<Part> {
        let Slice { seg, row_start, row_count, lo, hi } = self;
        let (start, count) = (*row_start as usize, *row_count as usize);
        let (columns, start) = match windows {
            Some(w) => {
                let (columns, at) = w.window(store, seg, start, count, work)?;
                (columns.to_vec(), at)
            }
            None => (store.segment_reader(seg)?.columns(work, &store.inner.cache)?, start),
        };
        let times = columns[pos(work, col::DATETIME)].as_primitive::<TimestampMicrosecondType>();
        let end = (start + count).min(times.len());
        let values = times.values().get(start..end).unwrap_or(&[]);
        let a = start + values.partition_point(|&t| t < *lo);
        let b = start + values.partition_point(|&t| t < *hi);
        Ok(Part { columns, offset: a, len: b.saturating_sub(a) })
    }

    /// The slice's columns: its rows of the segment, trimmed to its time range.
    fn columns(
        &self,
        store: &Store,
        work: &[usize],
        windows: Option<&mut Windows>,
    ) -> Result<Vec<ArrayRef>> {
        let part = self.span(store, work, windows)?;
        Ok(part.columns.iter().map(|c| c.slice(part.offset, part.len)).collect())
    }
}

impl Chunk {
    /// The distinct segments the chunks read.
    pub(crate) fn segments(chunks: &[Chunk]) -> usize {
        fn walk(chunk: &Chunk, ids: &mut HashSet<u64>) {
            match chunk {
                Chunk::Slice(Slice { seg, .. }) | Chunk::Filter { seg, .. } => {
                    ids.insert(seg.id);
                }
                Chunk::Ready(_) => {}
                Chunk::Merge(parts) | Chunk::Concat(parts) => {
                    parts.iter().for_each(|p| walk(p, ids));
                }
            }
        }
        let mut ids = HashSet::new();
        chunks.iter().for_each(|c| walk(c, &mut ids));
        ids.len()
    }

    /// Reads the chunk's rows: through the shared column cache, or for a bulk scan
    /// (`windows`) from its per-segment windows and uncached decodes.
    pub(crate) fn materialize(
        &self,
        store: &Store,
        work: &[usize],
        mut windows: Option<&mut Windows>,
    ) -> Result<RecordBatch> {
        let dt = pos(work, col::DATETIME);
        match self {
            Chunk::Ready(b) => Ok(b.clone()),
            Chunk::Slice(slice) => {
                Ok(RecordBatch::try_new(work_schema(work), slice.columns(store, work, windows)?)?)
            }
            Chunk::Filter { seg, lo, hi, symbols } => {
                let reader = store.segment_reader(seg)?;
                let columns = match windows {
                    Some(_) => reader.columns_uncached(work)?,
                    None => reader.columns(work, &store.inner.cache)?,
                };
                let batch = RecordBatch::try_new(work_schema(work), columns)?;
                let whole_time = *lo <= seg.min_ts && seg.max_ts < *hi;
                if whole_time && symbols.is_none() {
                    return Ok(batch);
                }
                let times = batch.column(dt);
                let mut mask = and(&gt_eq(times, &ts_scalar(*lo))?, &lt(times, &ts_scalar(*hi))?)?;
                if let Some(set) = symbols {
                    let sym = batch.column(pos(work, col::SYMBOL)).as_dictionary::<Int32Type>();
                    let values = sym.values().as_string::<i32>();
                    let wanted: Vec<bool> =
                        (0..values.len()).map(|k| set.contains(values.value(k))).collect();
                    let by_row: BooleanArray = sym
                        .keys()
                        .iter()
                        .map(|k| Some(k.is_some_and(|k| wanted[k as usize])))
                        .collect();
                    mask = and(&mask, &by_row)?;
                }
                Ok(filter_record_batch(&batch, &mask)?)
            }
            Chunk::Merge(parts) => {
                let batches: Vec<RecordBatch> = parts
                    .iter()
                    .map(|p| p.materialize(store, work, windows.as_deref_mut()))
                    .collect::<Result<_>>()?;
                merge_runs_by(&work_schema(work), &batches, pos(work, col::SYMBOL), dt)
            }
            Chunk::Concat(parts) => {
                // The windows this symbol needs that are not decoded yet are decoded
                // together, in parallel, before its parts are cut from them.
                if let Some(w) = windows.as_deref_mut() {
                    let wants: Vec<_> = parts
                        .iter()
                        .filter_map(|p| match p {
                            Chunk::Slice(s) => {
                                Some((&s.seg, s.row_start as usize, s.row_count as usize))
                            }
                            _ => None,
                        })
                        .collect();
                    w.prefetch(store, &wants, work)?;
                }
                // Runs of window rows, not sliced batches, per part: a symbol has one part
                // per segment.
                let mut runs: Vec<Part> = Vec::with_capacity(parts.len());
                for p in parts {
                    let run = match p {
                        Chunk::Slice(slice) => slice.span(store, work, windows.as_deref_mut())?,
                        _ => {
                            let batch = p.materialize(store, work, windows.as_deref_mut())?;
                            Part {
                                len: batch.num_rows(),
                                offset: 0,
                                columns: batch.columns().to_vec(),
                            }
                        }
                    };
                    if run.len > 0 {
                        runs.push(run);
                    }
                }
                match runs.len() {
                    0 => Ok(RecordBatch::new_empty(work_schema(work))),
                    _ => concat_symbol(&work_schema(work), &runs),
                }
            }
        }
    }
}
