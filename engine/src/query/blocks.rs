//! Bulk reads: a scan-local window of decoded rows per segment, in place of the shared
//! decoded-column cache.
//!
//! A symbol-ordered read of many symbols (an export) visits every segment of its range once
//! per symbol, a few rows each time. Through the shared cache that means either holding every
//! segment's decoded columns at once or decoding whole segments again and again once they no
//! longer fit. Segments are sorted by symbol and the scan asks for symbols in name order, so
//! the rows it asks of one segment move forward through the file: here each segment keeps one
//! decoded window of rows starting at the first row asked, sized so that the windows of all
//! segments of the scan fit [`BULK_WINDOW_BYTES`], and a request past the window decodes the
//! next one. Every row is decoded about once, memory is bounded, and the shared cache (what
//! interactive reads rely on) is left alone.
//!
//! The windows of one segment slide at about the same symbols as those of the others, so a
//! symbol usually finds many of its windows used up at once: [`Windows::prefetch`] decodes
//! them together, one rayon task per segment. A symbol's rows are then gathered by column
//! type straight from the windows' buffers ([`concat_symbol`]).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, DictionaryArray, PrimitiveArray,
    PrimitiveBuilder, RecordBatch, RecordBatchOptions, StringArray,
};
use arrow::buffer::NullBuffer;
use arrow::compute::concat;
use arrow::datatypes::{
    ArrowDictionaryKeyType, ArrowNativeType, ArrowPrimitiveType, DataType, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::segment::SegmentMeta;
use crate::store::Store;

/// Decoded bytes the windows of one bulk scan may hold together (an estimate: 8 bytes per
/// value of each work column).
pub(crate) const BULK_WINDOW_BYTES: usize = 128 << 20;

/// Rows below which a window is not worth a decode of its own. Each decode creates a zstd
/// context per column and decompresses every page it touches (segments have 2,048-row
/// pages), so short windows repeat that work. On the 500-symbol, 241-segment Parquet export
/// (BENCHMARKS.md), 1,024-row windows cost 29.5 s of server CPU at a peak RSS of 449 MiB and
/// 2,048-row ones 21.3 s at 618 MiB (64 Ki-row output row groups); 1,536-row ones 23.8 s at
/// 460 MiB (16 Ki-row row groups), which fits the 512 MiB target.
const MIN_WINDOW_ROWS: usize = 1_536;

/// One segment's decoded rows `[start, start + len)`.
struct Window {
    start: usize,
    len: usize,
    columns: Vec<ArrayRef>,
}

/// The windows of one bulk scan.
pub(crate) struct Windows {
    rows_per_segment: usize,
    held: HashMap<u64, Window>,
}

impl std::fmt::Debug for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Windows")
            .field("rows_per_segment", &self.rows_per_segment)
            .field("segments_held", &self.held.len())
            .finish()
    }
}

impl Windows {
    /// Windows for a scan of `work_columns` columns over `segments` distinct segments: they
    /// hold about `max(BULK_WINDOW_BYTES, segments x MIN_WINDOW_ROWS x 8 x work_columns)`.
    pub(crate) fn new(segments: usize, work_columns: usize) -> Self {
        let per_row = 8 * work_columns.max(1);
        let rows_per_segment = (BULK_WINDOW_BYTES / per_row / segments.max(1)).max(MIN_WINDOW_ROWS);
        Self { rows_per_segment, held: HashMap::new() }
    }

    /// The window of `seg`'s `work` columns that holds rows `[start, start + count)`, and
    /// where row `start` is in it; decodes the next window when the rows are not in the
    /// current one.
    pub(crate) fn window(
        &mut self,
        store: &Store,
        seg: &Arc<SegmentMeta>,
        start: usize,
        count: usize,
        work: &[usize],
    ) -> Result<(&[ArrayRef], usize)> {
        self.prefetch(store, &[(seg, start, count)], work)?;
        let start = start.min(usize::try_from(seg.rows).unwrap_or(usize::MAX));
        let window = self.held.get(&seg.id).ok_or_else(|| Error::Corrupt {
            reason: format!("segment {}: no window after decoding one", seg.id),
        })?;
        Ok((&window.columns, start - window.start))
    }

    /// Makes sure the windows hold each of `wants` (segment, first row, rows), decoding the
    /// missing windows in parallel (one task per segment). A segment named twice gets the
    /// window of its first request. Old windows are dropped before the new ones are decoded,
    /// so the windows never hold more than their budget.
    pub(crate) fn prefetch(
        &mut self,
        store: &Store,
        wants: &[(&Arc<SegmentMeta>, usize, usize)],
        work: &[usize],
    ) -> Result<()> {
        let mut misses: Vec<(&Arc<SegmentMeta>, usize, usize)> = Vec::new();
        for &(seg, start, count) in wants {
            let rows = usize::try_from(seg.rows).unwrap_or(usize::MAX);
            let start = start.min(rows);
            let count = count.min(rows - start);
            let hit = self
                .held
                .get(&seg.id)
                .is_some_and(|w| w.start <= start && start + count <= w.start + w.len);
            if hit || misses.iter().any(|(s, _, _)| s.id == seg.id) {
                continue;
            }
            // Drop the old window first: its memory is what the budget gives the new one.
            self.held.remove(&seg.id);
            let len = count.max(self.rows_per_segment).min(rows - start);
            misses.push((seg, start, len));
        }
        let decoded: Vec<(u64, Window)> = misses
            .par_iter()
            .map(|&(seg, start, len)| {
                let columns = store.segment_reader(seg)?.decode_rows(work, start, len)?;
                Ok((seg.id, Window { start, len, columns }))
            })
            .collect::<Result<_>>()?;
        self.held.extend(decoded);
        Ok(())
    }
}

/// A run of rows of one part of a symbol: rows `[offset, offset + len)` of `columns` (a
/// segment window's columns, or a batch's).
pub(crate) struct Part {
    pub(crate) columns: Vec<ArrayRef>,
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

/// Concatenates one symbol's parts (runs of rows of many segments' windows) into one batch.
///
/// The columns are gathered by type straight from the windows' buffers, without an
/// intermediate sliced array per part and column (a symbol has a part per segment, and a
/// sliced array costs allocations and a `DataType` clone each). Dictionary columns are
/// rebuilt with a dictionary of just the values the rows use: each window still carries its
/// whole segment's dictionary (every symbol of the partition), and `concat` would merge
/// those hundreds of dictionaries value by value for every column.
pub(crate) fn concat_symbol(schema: &SchemaRef, parts: &[Part]) -> Result<RecordBatch> {
    let len: usize = parts.iter().map(|p| p.len).sum();
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, field)| gather(field.data_type(), c, parts, len))
        .collect::<Result<Vec<ArrayRef>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(len));
    Ok(RecordBatch::try_new_with_options(schema.clone(), columns, &options)?)
}

/// Column `c` of `parts` (`len` rows in all), as one array of type `data_type`. Also what
/// a flush uses to gather a partition's runs of memtable rows (`memtable::gather_columns`).
pub(crate) fn gather(
    data_type: &DataType,
    c: usize,
    parts: &[Part],
    len: usize,
) -> Result<ArrayRef> {
    match data_type {
        DataType::Float64 => primitive::<Float64Type>(data_type, c, parts, len),
        DataType::Int8 => primitive::<Int8Type>(data_type, c, parts, len),
        DataType::Int32 => primitive::<Int32Type>(data_type, c, parts, len),
        DataType::Int64 => primitive::<Int64Type>(data_type, c, parts, len),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive::<TimestampMicrosecondType>(data_type, c, parts, len)
        }
        DataType::Boolean => boolean(c, parts, len),
        DataType::Dictionary(k, v) if v.as_ref() == &DataType::Utf8 => match k.as_ref() {
            DataType::Int8 => rekey::<Int8Type>(c, parts, len),
            DataType::Int16 => rekey::<Int16Type>(c, parts, len),
            DataType::Int32 => rekey::<Int32Type>(c, parts, len),
            _ => sliced(c, parts),
        },
        _ => sliced(c, parts),
    }
}

/// Any type: slices concatenated by arrow.
fn sliced(c: usize, parts: &[Part]) -> Result<ArrayRef> {
    let slices: Vec<ArrayRef> = parts.iter().map(|p| p.columns[c].slice(p.offset, p.len)).collect();
    let refs: Vec<&dyn Array> = slices.iter().map(|a| a.as_ref()).collect();
    Ok(concat(&refs)?)
}

fn mismatch(c: usize, array: &dyn Array, want: &str) -> Error {
    Error::Corrupt {
        reason: format!(
            "column {c}: a window holds {} where {want} was expected",
            array.data_type()
        ),
    }
}

/// Checks that a part's rows lie inside its column.
fn check_bounds(c: usize, part: &Part) -> Result<()> {
    let have = part.columns[c].len();
    if part.offset.checked_add(part.len).is_none_or(|end| end > have) {
        return Err(Error::Corrupt {
            reason: format!(
                "column {c}: rows {}..{} asked of a window of {have}",
                part.offset,
                part.offset.saturating_add(part.len)
            ),
        });
    }
    Ok(())
}

/// The validity of column `c` over `parts`, `None` when no part has a null.
fn validity(c: usize, parts: &[Part], len: usize) -> Option<NullBuffer> {
    let any = parts
        .iter()
        .any(|p| p.columns[c].nulls().is_some_and(|n| n.slice(p.offset, p.len).null_count() > 0));
    if !any {
        return None;
    }
    let mut bits = BooleanBufferBuilder::new(len);
    for p in parts {
        match p.columns[c].nulls() {
            Some(n) => bits.append_buffer(&n.inner().slice(p.offset, p.len)),
            None => bits.append_n(p.len, true),
        }
    }
    Some(NullBuffer::new(bits.finish()))
}

fn primitive<T: ArrowPrimitiveType>(
    data_type: &DataType,
    c: usize,
    parts: &[Part],
    len: usize,
) -> Result<ArrayRef> {
    let mut values: Vec<T::Native> = Vec::with_capacity(len);
    for p in parts {
        check_bounds(c, p)?;
        let array = p.columns[c].as_ref();
        let typed =
            array.as_primitive_opt::<T>().ok_or_else(|| mismatch(c, array, "a primitive"))?;
        values.extend_from_slice(&typed.values()[p.offset..p.offset + p.len]);
    }
    let array = PrimitiveArray::<T>::try_new(values.into(), validity(c, parts, len))?
        .with_data_type(data_type.clone());
    Ok(Arc::new(array))
}

fn boolean(c: usize, parts: &[Part], len: usize) -> Result<ArrayRef> {
    let mut bits = BooleanBufferBuilder::new(len);
    for p in parts {
        check_bounds(c, p)?;
        let array = p.columns[c].as_ref();
        let typed = array.as_boolean_opt().ok_or_else(|| mismatch(c, array, "a boolean"))?;
        bits.append_buffer(&typed.values().slice(p.offset, p.len));
    }
    Ok(Arc::new(BooleanArray::new(bits.finish(), validity(c, parts, len))))
}

/// Concatenates string dictionary columns into one whose dictionary holds only the values
/// its keys use, in first-use order.
fn rekey<K: ArrowDictionaryKeyType>(c: usize, parts: &[Part], len: usize) -> Result<ArrayRef> {
    let mut keys = PrimitiveBuilder::<K>::with_capacity(len);
    let mut values: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, K::Native> = HashMap::new();
    for p in parts {
        check_bounds(c, p)?;
        let array = p.columns[c].as_ref();
        let dict =
            array.as_dictionary_opt::<K>().ok_or_else(|| mismatch(c, array, "a dictionary"))?;
        let strings = dict
            .values()
            .as_string_opt::<i32>()
            .ok_or_else(|| mismatch(c, array, "a string dictionary"))?;
        let dict_keys = dict.keys();
        // Rows of one symbol repeat a key for long stretches: remember the last mapping.
        let mut last: Option<(K::Native, K::Native)> = None;
        for row in p.offset..p.offset + p.len {
            if dict_keys.is_null(row) {
                keys.append_null();
                continue;
            }
            let key = dict_keys.value(row);
            let new = match last {
                Some((old, new)) if old == key => new,
                _ => {
                    let at = key.as_usize();
                    if at >= strings.len() {
                        return Err(Error::Corrupt {
                            reason: format!("column {c}: dictionary key {at} out of range"),
                        });
                    }
                    let value = strings.value(at);
                    let new = match index.get(value) {
                        Some(&k) => k,
                        None => {
                            let k = K::Native::from_usize(values.len()).ok_or_else(|| {
                                Error::Corrupt {
                                    reason: format!(
                                        "more than {} distinct values for a dictionary column",
                                        values.len()
                                    ),
                                }
                            })?;
                            values.push(value);
                            index.insert(value, k);
                            k
                        }
                    };
                    last = Some((key, new));
                    new
                }
            };
            keys.append_value(new);
        }
    }
    let values: ArrayRef = Arc::new(StringArray::from(values));
    Ok(Arc::new(DictionaryArray::<K>::try_new(keys.finish(), values)?))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    use super::*;
    use crate::storage::MemStorage;

    /// A flushed store of 12 symbols x 9 days in one month partition (one segment).
    fn store() -> Store {
        let store = Store::builder_with_storage(Arc::new(MemStorage::new())).open().expect("open");
        fill(&store, 1);
        store
    }

    /// Appends and flushes 12 symbols x 9 days, `step` days apart (9 days in one month for a
    /// step of 1; a step of 12 spreads them over four month segments).
    fn fill(store: &Store, step: i64) {
        let (mut sym, mut ts, mut px) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..12 {
            for d in 0..9i64 {
                sym.push(format!("S{s:02}"));
                ts.push(1_704_067_200_000_000 + d * step * 86_400_000_000);
                px.push(100.0 + s as f64 + d as f64 / 10.0);
            }
        }
        let tz = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let mut fields = vec![Field::new("symbol", DataType::Utf8, false)];
        fields.push(Field::new("datetime", tz, false));
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(sym)),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        ];
        for name in ["open", "high", "low", "close", "volume"] {
            fields.push(Field::new(name, DataType::Float64, false));
            columns.push(Arc::new(Float64Array::from(px.clone())));
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
        let _ = store.append("stocks_daily", &batch).expect("append");
        store.flush().expect("flush");
    }

    fn segments(store: &Store) -> Vec<Arc<SegmentMeta>> {
        let state = store.inner.state.read();
        state.version.tables["stocks_daily"].segments.values().cloned().collect()
    }

    #[test]
    fn prefetch_decodes_every_missing_window_once() {
        let store = Store::builder_with_storage(Arc::new(MemStorage::new())).open().expect("open");
        fill(&store, 12);
        let segs = segments(&store);
        assert_eq!(segs.len(), 4, "four month segments");
        let work: Vec<usize> = (0..crate::schema::FIELD_COUNT).collect();
        let mut windows = Windows { rows_per_segment: 10, held: HashMap::new() };
        // Rows 4.. of every segment; the second request for the first segment is ignored.
        let mut wants: Vec<(&Arc<SegmentMeta>, usize, usize)> =
            segs.iter().map(|s| (s, 4, 3)).collect();
        wants.push((&segs[0], 0, 1));
        windows.prefetch(&store, &wants, &work).expect("prefetch");
        assert_eq!(windows.held.len(), 4, "one window per segment");
        for seg in &segs {
            let full =
                store.segment_reader(seg).expect("reader").columns_uncached(&work).expect("all");
            let held = &windows.held[&seg.id];
            let rows = seg.rows as usize;
            assert_eq!((held.start, held.len), (4, 10.min(rows - 4)), "segment {}", seg.id);
            for (g, f) in held.columns.iter().zip(&full) {
                assert_eq!(g.to_data(), f.slice(4, held.len).to_data());
            }
        }
        // Rows inside the windows are served from them, not decoded again.
        let before: Vec<ArrayRef> = windows.held[&segs[1].id].columns.clone();
        let (got, at) = windows.window(&store, &segs[1], 5, 2, &work).expect("hit");
        assert_eq!(at, 1);
        assert!(got.iter().zip(&before).all(|(a, b)| Arc::ptr_eq(a, b)), "a hit decodes nothing");
        // A request past a window replaces it.
        let (_, at) = windows.window(&store, &segs[1], 20, 1, &work).expect("slide");
        assert_eq!((at, windows.held[&segs[1].id].start), (0, 20));
        assert_eq!(store.cache_bytes(), 0, "windows bypass the shared cache");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_bulk_scan_leaves_no_segment_pages_resident() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        fill(&store, 12);
        let symbols: Vec<String> = (0..12).map(|s| format!("S{s:02}")).collect();
        let bulk = store.scan("stocks_daily").symbols(symbols.clone()).bulk(true).collect();
        let rows: usize = bulk.expect("bulk scan").iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 12 * 9);
        let readers: Vec<Arc<crate::segment::SegmentReader>> =
            store.inner.readers.lock().values().cloned().collect();
        assert_eq!(readers.len(), 4, "every segment was opened");
        for reader in readers {
            let resident = reader.resident_kib().expect("the segment is mapped");
            assert_eq!(resident, 0, "segment pages stay resident after a read");
        }
        assert_eq!(store.cache_bytes(), 0);
    }

    #[test]
    fn sliding_windows_return_the_rows_a_full_decode_has() {
        let store = store();
        let seg = {
            let state = store.inner.state.read();
            let table = &state.version.tables["stocks_daily"];
            assert_eq!(table.segments.len(), 1);
            table.segments.values().next().cloned().expect("segment")
        };
        let work: Vec<usize> = (0..crate::schema::FIELD_COUNT).collect();
        let full =
            store.segment_reader(&seg).expect("reader").columns_uncached(&work).expect("all");
        // Windows of 20 rows over runs of 9: some requests hit, some slide, one straddles.
        let mut windows = Windows { rows_per_segment: 20, held: HashMap::new() };
        for (start, count) in [(0, 9), (9, 9), (18, 9), (27, 9), (36, 9), (99, 9), (100, 50)] {
            let (got, at) = windows.window(&store, &seg, start, count, &work).expect("window");
            let count = count.min(108 - start);
            for (g, f) in got.iter().zip(&full) {
                assert_eq!(
                    g.slice(at, count).to_data(),
                    f.slice(start, count).to_data(),
                    "rows {start}+{count}"
                );
            }
        }
        assert_eq!(windows.held.len(), 1, "one window per segment");
        assert_eq!(store.cache_bytes(), 0, "windows bypass the shared cache");
    }

    #[test]
    fn windows_share_the_budget_and_never_shrink_below_the_minimum() {
        let per_row = 8 * 97;
        assert_eq!(Windows::new(1, 97).rows_per_segment, BULK_WINDOW_BYTES / per_row);
        assert_eq!(Windows::new(4, 97).rows_per_segment, BULK_WINDOW_BYTES / per_row / 4);
        assert_eq!(Windows::new(100_000, 97).rows_per_segment, MIN_WINDOW_ROWS);
        assert_eq!(Windows::new(0, 0).rows_per_segment, BULK_WINDOW_BYTES / 8);
    }

    /// Parts of the five column kinds, a null here and there, at offsets.
    fn kinds() -> (SchemaRef, Vec<Part>) {
        let tz = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let schema = Arc::new(Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("t", tz, false),
            Field::new("b", DataType::Boolean, true),
            Field::new("d", dict, true),
            Field::new("i", DataType::Int8, false),
        ]));
        let part = |f: Vec<Option<f64>>,
                    b: Vec<Option<bool>>,
                    d: Vec<Option<&str>>,
                    offset: usize,
                    len: usize| {
            let n = f.len() as i64;
            let columns: Vec<ArrayRef> = vec![
                Arc::new(Float64Array::from(f)),
                Arc::new(
                    TimestampMicrosecondArray::from((0..n).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
                Arc::new(BooleanArray::from(b)),
                Arc::new(d.into_iter().collect::<DictionaryArray<Int32Type>>()),
                Arc::new(arrow::array::Int8Array::from((0..n as i8).collect::<Vec<_>>())),
            ];
            Part { columns, offset, len }
        };
        let parts = vec![
            part(
                vec![Some(1.0), Some(2.0), None, Some(4.0)],
                vec![Some(true), None, Some(false), Some(true)],
                vec![Some("x"), Some("a"), Some("a"), None],
                1,
                3,
            ),
            part(
                vec![Some(5.0), Some(6.0), Some(7.0)],
                vec![Some(false), Some(true), Some(true)],
                vec![Some("b"), Some("zz"), Some("a")],
                0,
                2,
            ),
            part(vec![Some(8.0)], vec![Some(true)], vec![Some("unused")], 1, 0),
        ];
        (schema, parts)
    }

    #[test]
    fn gathered_columns_equal_concatenated_slices() {
        let (schema, parts) = kinds();
        let got = concat_symbol(&schema, &parts).expect("gather");
        assert_eq!(got.num_rows(), 5);
        for c in 0..schema.fields().len() {
            let want = sliced(c, &parts).expect("slices");
            let (g, w) = (got.column(c), &want);
            assert_eq!(g.data_type(), schema.field(c).data_type(), "column {c}");
            if c == 3 {
                // Same strings row by row; the dictionary holds only the values used.
                let cast = |a: &ArrayRef| arrow::compute::cast(a, &DataType::Utf8).expect("cast");
                assert_eq!(cast(g).to_data(), cast(w).to_data());
                let dict = g.as_dictionary::<Int32Type>();
                let values: Vec<&str> = dict.values().as_string::<i32>().iter().flatten().collect();
                assert_eq!(values, ["a", "b", "zz"]);
            } else {
                assert_eq!(g.to_data(), w.to_data(), "column {c}");
            }
        }
        assert_eq!(got.column(0).null_count(), 1);
        assert_eq!(got.column(2).null_count(), 1);
        assert_eq!(got.column(3).null_count(), 1);
    }

    #[test]
    fn gathering_checks_types_and_bounds() {
        let (schema, mut parts) = kinds();
        parts[1].len = 4;
        let err = concat_symbol(&schema, &parts).expect_err("rows past the window");
        assert!(err.to_string().contains("asked of a window of 3"), "{err}");
        let (schema, mut parts) = kinds();
        parts[0].columns.swap(0, 2);
        let err = concat_symbol(&schema, &parts).expect_err("a boolean where floats belong");
        assert!(err.to_string().contains("Boolean where a primitive"), "{err}");
        let (_, parts) = kinds();
        let none: Vec<Part> = Vec::new();
        let empty = concat_symbol(&Arc::new(Schema::empty()), &none).expect("no columns");
        assert_eq!((empty.num_columns(), empty.num_rows()), (0, 0));
        assert_eq!(validity(0, &parts[1..], 2), None, "no nulls, no validity");
    }
}
